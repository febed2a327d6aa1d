/* akt — remoting connections: their life, bytes in and out (through TLS
 * when on), frames and heartbeats. How a connection opens is
 * handshake.c's; conn.h has the states.
 *
 * An outbound connection (ours, to a peer) sends envelopes and heartbeats
 * once open and expects HeartbeatAck; an inbound one (a peer's) reads
 * batches and heartbeats and answers with acks. Anything else, or
 * anything over a limit, closes the connection with a reason and a
 * counter; other connections are not affected.
 *
 * Before trust. An accepted stream is counted against the connection caps
 * before a byte of it is read (sources.c: refused at once over a cap),
 * must finish its handshake by an absolute deadline however slowly bytes
 * trickle in, and until then reaches nothing but the handshake's fixed
 * buffers. After it: a frame is at most max_frame bytes (checked from its
 * length prefix before it is kept), a batch is read in place (scan.h) and
 * refused whole at the first envelope over a limit, and protobuf-c decodes
 * other frames within the memory bound (limits.memory_per_byte).
 *
 * A connection belongs to the I/O context: it is made there (an inbound
 * one when accepted; an outbound one by the endpoint's dial), every stream
 * and timer callback runs there, and it is freed there, by on_close. The
 * one access from elsewhere is akt__conn_write by the endpoint's writer
 * (a worker), which the endpoint's write lock makes safe: the writer finds
 * the connection as ep->conn and writes under the write lock, and on_down
 * takes that connection away under the same lock before the stream can be
 * closed and the connection freed. What the writer reads of a connection
 * never changes after it is made (its stream, its remoting, its TLS
 * engine), except its state, which is atomic; the TLS engine it shares
 * with the I/O context under the connection's TLS lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/remote/conn.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

/* Bytes of a reason from the peer we repeat, and room for it with the
 * longest prefix we put before it. */
#define PEER_REASON_MAX 256
#define REASON_MAX (PEER_REASON_MAX + sizeof "closed by peer: ")

void akt__conn_set_state(akt__conn *c, int to) {
  int from = akt__conn_state(c);
  AKT_ASSERT_TRANSITION("connection state", from, to, to > from);
  /* The writer reads it relaxed: it only saves a write to a stream that
   * is closing, which the stream refuses anyway. */
  atomic_store_explicit(&c->state, to, memory_order_relaxed);
}

static void conn_link(akt__conn *c) {
  akt__remote *r = c->r;
  akt__rmutex_lock(&r->mu);
  c->next = r->conns;
  if (r->conns) r->conns->prev = c;
  r->conns = c;
  akt__rmutex_unlock(&r->mu);
}

static void conn_unlink(akt__conn *c) {
  akt__remote *r = c->r;
  akt__rmutex_lock(&r->mu);
  if (c->prev)
    c->prev->next = c->next;
  else if (r->conns == c)
    r->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  akt__rmutex_unlock(&r->mu);
}

/* Frees what the connection owns and the connection (unlinked, no timer
 * armed that could still fire, no longer counted). */
static void conn_free(akt__conn *c) {
  AKT_ASSERT(!c->timer_armed && !c->prev && !c->next && !c->counted);
  akt__hs_end(c);
  akt__tls_free(c->tls);
  akt__buf_free(&c->plain);
  akt__buf_free(&c->backlog);
  akt__rmutex_destroy(&c->tls_mu);
  akt__framer_free(&c->framer);
  akt__rx_cache_free(&c->rx);
  free(c);
}

/* ---- bytes out ------------------------------------------------------------------ */

int akt__conn_write_raw(akt__conn *c, const uint8_t *data, size_t len) {
  int rc;
  if (!c->s) {
    rc = c->capture ? akt__buf_put(c->capture, data, len) : 0;
  } else {
    akt_backend *b = c->r->sys->backend;
    rc = b->ops->stream_write(b, c->s, data, len);
  }
  if (rc == 0) AKT__RSTAT(c->r, bytes_out, len);
  return rc;
}

int akt__conn_backed_up(akt__conn *c) {
  if (!c->s) return 0;
  akt_backend *b = c->r->sys->backend;
  int up = b->ops->stream_pending(b, c->s) >= AKT__CONN_AHEAD_MAX(c->r);
  if (!up) c->hb_room = 1; /* the peer read: our next Heartbeat may follow what is there */
  return up;
}

int akt__conn_control_fits(akt__conn *c, Akt__Wire__Frame__KindCase kind) {
  if (!akt__conn_backed_up(c)) return 1;
  if (kind == AKT__WIRE__FRAME__KIND_HEARTBEAT && c->hb_room) {
    AKT_ASSERT(c->outbound); /* only we send Heartbeats, on our connections */
    c->hb_room = 0;
    return 1;
  }
  /* A Close dropped here costs the peer only the reason: the connection
   * closes anyway, and the peer sees its stream end. */
  AKT__RSTAT(c->r, control_frames_dropped, 1);
  return 0;
}

int akt__conn_write(akt__conn *c, const uint8_t *data, size_t len) {
  if (akt__conn_state(c) == C_CLOSED) return AKT_ECLOSED;
  if (!c->tls) return akt__conn_write_raw(c, data, len);
  akt__rmutex_lock(&c->tls_mu);
  int rc = 0;
  if (c->backlog.len) {
    /* What the stream refused before goes first; while it still does,
     * nothing more is taken (so the backlog stays one write's worth). */
    rc = akt__conn_write_raw(c, c->backlog.data, c->backlog.len);
    if (rc == 0) c->backlog.len = 0;
  }
  if (rc == 0) rc = akt__tls_write(c->tls, data, len);
  akt__rmutex_unlock(&c->tls_mu);
  return rc;
}

/* ---- control frames ------------------------------------------------------------ */

/* A Frame of `kind` around `msg`, the message of that kind. */
static Akt__Wire__Frame frame_of(Akt__Wire__Frame__KindCase kind, void *msg) {
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  f.kind_case = kind;
  switch (kind) {
    case AKT__WIRE__FRAME__KIND_HEARTBEAT: f.heartbeat = msg; break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK: f.heartbeat_ack = msg; break;
    case AKT__WIRE__FRAME__KIND_CLOSE: f.close = msg; break;
    default: AKT_ASSERT(!"a control frame"); /* batches are the writer's */
  }
  return f;
}

/* Encodes and writes one control frame of `kind` around `msg` (open
 * connections only: before, the handshake speaks its own frames); errors
 * only mean the peer will not hear it, and so does a stream the peer has
 * not read enough of (akt__conn_control_fits: dropped, counted). An
 * outbound connection's frames go through its endpoint, in order with the
 * writer's, and are checked there, under its write lock; an inbound one's
 * are written here, on the I/O context, their one writer. */
static void write_control(akt__conn *c, Akt__Wire__Frame__KindCase kind, void *msg) {
  AKT_ASSERT(akt__conn_state(c) == C_OPEN);
  Akt__Wire__Frame f = frame_of(kind, msg);
  if (c->outbound) {
    akt__endpoint_write_control(c->ep, c, &f);
    return;
  }
  if (!akt__conn_control_fits(c, kind)) return;
  akt__buf out = {0};
  if (akt__frame_encode(&f, c->r->opts.max_frame, &out) == 0) {
    AKT__RSTAT(c->r, frames_out, 1);
    akt__conn_write(c, out.data, out.len);
  }
  akt__buf_free(&out);
}

/* ---- closing ------------------------------------------------------------------- */

static void disarm(akt__conn *c) {
  if (!c->timer_armed) return;
  akt_backend *b = c->r->sys->backend;
  if (b->ops->timer_cancel(b, c->timer_id) == 0) akt__inflight_done(c->r->sys);
  c->timer_armed = 0;
}

/* No longer counted against the caps. */
static void uncount(akt__conn *c) {
  if (!c->counted) return;
  akt__sources_release(c->r, c->source, !c->outbound, c->unauth);
  c->counted = c->unauth = 0;
}

void akt__conn_close(akt__conn *c, const char *reason) {
  int state = akt__conn_state(c);
  if (state == C_CLOSED) return;
  AKT__ASSERT_NOT_HELD(AKT__RANK_EP_WRITE); /* on_down takes the endpoint's locks */
  akt__remote *r = c->r;
  const char *who = c->peer[0] ? c->peer : c->source[0] ? c->source : "(unknown peer)";
  /* A stranger decides how many of these there are: throttled. */
  if (c->close_code)
    akt__rlog(r, AKT__LOG_CLOSED, AKT_LOG_WARN, "remoting: closing %s %s: %s",
              c->outbound ? "connection to" : "connection from", who, reason);
  else
    akt__log(r->sys, AKT_LOG_DEBUG, "remoting: closing %s %s: %s",
             c->outbound ? "connection to" : "connection from", who, reason);
  akt__trace(r->sys, AKT_EV_NET, 0, 0, "close", 0, c->close_code, reason);
  if (!c->stream_gone && state == C_OPEN) {
    Akt__Wire__Close cl = AKT__WIRE__CLOSE__INIT;
    cl.reason = (char *)(uintptr_t)reason;
    write_control(c, AKT__WIRE__FRAME__KIND_CLOSE, &cl);
  }
  if (c->tls && !c->stream_gone) {
    akt__rmutex_lock(&c->tls_mu);
    akt__tls_close(c->tls); /* close_notify, when the session is up */
    akt__rmutex_unlock(&c->tls_mu);
  }
  akt__conn_set_state(c, C_CLOSED);
  AKT__RSTAT(r, connections_closed, 1);
  disarm(c);
  uncount(c);
  if (c->ep)
    akt__endpoint_on_down(c->ep, c, c->close_code, reason);
  else if (c->in_ep)
    akt__endpoint_on_inbound_down(c->in_ep, c, reason);
  if (c->s && !c->stream_gone) {
    akt_backend *b = r->sys->backend;
    b->ops->stream_close(b, c->s); /* on_close frees the connection */
  }
}

int akt__conn_fail(akt__conn *c, int code, const char *reason) {
  AKT_ASSERT(code < 0);
  if (akt__conn_state(c) == C_CLOSED) return c->close_code ? c->close_code : code;
  if (c->close_code == 0) c->close_code = code;
  if (code == AKT_ELIMIT)
    AKT__RSTAT(c->r, limit_errors, 1);
  else if (code == AKT_EREFUSED)
    AKT__RSTAT(c->r, handshakes_refused, 1);
  else if (code == AKT_ETIMEDOUT && akt__conn_state(c) == C_OPEN)
    AKT__RSTAT(c->r, heartbeat_timeouts, 1);
  else if (code != AKT_ECLOSED && code != AKT_ETIMEDOUT) /* a deadline: its own counter */
    AKT__RSTAT(c->r, protocol_errors, 1);
  akt__conn_close(c, reason);
  return code;
}

static int fail(akt__conn *c, int code, const char *reason) {
  return akt__conn_fail(c, code, reason);
}

/* ---- frames -------------------------------------------------------------------- */

/* protobuf-c's allocations for one frame, within the memory bound: at
 * most memory_per_byte times its bytes, plus AKT_SECURITY_DECODE_OVERHEAD.
 * A frame full of tiny unknown fields or empty envelopes would otherwise
 * cost ~50 times its size. */
typedef struct bounded {
  size_t budget, taken;
  int over;
} bounded;

static void *bounded_alloc(void *data, size_t size) {
  bounded *b = data;
  if (size > b->budget - b->taken) {
    b->over = 1;
    return NULL;
  }
  b->taken += size;
  return malloc(size);
}

static void bounded_free(void *data, void *p) {
  (void)data;
  free(p);
}

static size_t decode_budget(const akt__remote *r, size_t len) {
  size_t k = r->sec.limits.memory_per_byte;
  return len > (SIZE_MAX - AKT_SECURITY_DECODE_OVERHEAD) / k ? SIZE_MAX
                                                              : k * len + AKT_SECURITY_DECODE_OVERHEAD;
}

/* A view of an envelope protobuf-c unpacked (the slow path). */
static akt__env_view view_of(const Akt__Wire__Envelope *e) {
  return (akt__env_view){.target = (const uint8_t *)e->target,
                         .target_len = strlen(e->target),
                         .target_id = e->target_id,
                         .sender = (const uint8_t *)e->sender,
                         .sender_len = strlen(e->sender),
                         .sender_id = e->sender_id,
                         .type = (const uint8_t *)e->type,
                         .type_len = strlen(e->type),
                         .payload = e->payload.data,
                         .payload_len = e->payload.len,
                         .corr = e->corr,
                         .flags = e->flags};
}

static int str_ok(const akt__conn *c, const char *s) {
  return s && strlen(s) <= c->r->opts.max_name;
}

/* A batch protobuf-c read (the scanner did not: an unusual encoding). */
static int on_batch(akt__conn *c, const Akt__Wire__Batch *b) {
  akt__remote *r = c->r;
  if (b->n_envelopes > r->opts.max_batch) return fail(c, AKT_ELIMIT, "batch too large");
  for (size_t i = 0; i < b->n_envelopes; i++) {
    const Akt__Wire__Envelope *e = b->envelopes[i];
    if (!str_ok(c, e->target) || !str_ok(c, e->sender) || !str_ok(c, e->type))
      return fail(c, AKT_ELIMIT, "name too long");
  }
  for (size_t i = 0; i < b->n_envelopes; i++) {
    AKT__RSTAT(r, envelopes_in, 1);
    akt__env_view v = view_of(b->envelopes[i]);
    akt__remote_deliver(r, &c->rx, c->in_ep, &v);
  }
  return 0;
}

/* The fast path of a Batch frame (scan.h): the body is read in place,
 * twice — once to check every envelope against the limits, then to
 * deliver them — so nothing is delivered from a batch that is refused, and
 * reading it takes no memory per envelope. The first envelope over a limit
 * (a name over max_name bytes, one past max_batch) refuses the whole batch
 * at once: no slower path is tried. Returns 1 when the scanner does not
 * read these bytes (an encoding our writers never produce), for the caller
 * to unpack the frame with protobuf-c; else 0 or the code the connection
 * was closed with. */
static int on_batch_scan(akt__conn *c, const uint8_t *body, size_t len) {
  akt__remote *r = c->r;
  const uint8_t *p = body, *end = body + len;
  size_t max = r->opts.max_name, n = 0;
  akt__env_view v;
  int got;
  while ((got = akt__scan_envelope(&p, end, &v)) == 1) {
    if (v.target_len > max || v.sender_len > max || v.type_len > max)
      return fail(c, AKT_ELIMIT, "name too long");
    if (++n > r->opts.max_batch) return fail(c, AKT_ELIMIT, "batch too large");
  }
  if (got < 0) return 1;
  AKT__RSTAT(r, envelopes_in, n);
  p = body;
  for (size_t i = 0; i < n; i++) {
    got = akt__scan_envelope(&p, end, &v);
    AKT_ASSERT(got == 1); /* the same bytes read the same way */
    akt__remote_deliver(r, &c->rx, c->in_ep, &v);
  }
  return 0;
}

static int on_frame(void *arg, const uint8_t *data, size_t len) {
  akt__conn *c = arg;
  int state = akt__conn_state(c);
  if (state == C_CLOSED) return AKT_ECLOSED;
  AKT_ASSERT(state == C_OPEN);
  akt__remote *r = c->r;
  AKT__RSTAT(r, frames_in, 1);
  const uint8_t *body;
  size_t body_len;
  if (!c->outbound && akt__scan_batch_frame(data, len, &body, &body_len)) {
    int rc = on_batch_scan(c, body, body_len);
    if (rc != 1) return rc;
  }
  bounded mem = {.budget = decode_budget(r, len)};
  ProtobufCAllocator al = {bounded_alloc, bounded_free, &mem};
  Akt__Wire__Frame *f = akt__wire__frame__unpack(&al, len, data);
  if (!f && mem.over) {
    AKT__SSTAT(r, memory_bound_refusals, 1);
    return fail(c, AKT_ELIMIT, "a frame that would take more memory to decode than the memory "
                               "bound allows");
  }
  if (!f) return fail(c, AKT_EPROTO, "malformed frame");
  int rc = 0;
  switch (f->kind_case) {
    case AKT__WIRE__FRAME__KIND_BATCH:
      rc = !c->outbound ? on_batch(c, f->batch) : fail(c, AKT_EPROTO, "unexpected batch");
      break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT:
      if (c->outbound) {
        rc = fail(c, AKT_EPROTO, "unexpected heartbeat");
      } else {
        Akt__Wire__HeartbeatAck ack = AKT__WIRE__HEARTBEAT_ACK__INIT;
        ack.seq = f->heartbeat->seq;
        write_control(c, AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK, &ack);
      }
      break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK:
      if (!c->outbound) rc = fail(c, AKT_EPROTO, "unexpected heartbeat ack");
      break;
    case AKT__WIRE__FRAME__KIND_CLOSE: {
      char reason[REASON_MAX];
      snprintf(reason, sizeof reason, "closed by peer: %.*s", PEER_REASON_MAX,
               f->close->reason ? f->close->reason : "");
      c->close_code = AKT_ECLOSED;
      akt__conn_close(c, reason);
      rc = AKT_ECLOSED;
      break;
    }
    default:
      rc = fail(c, AKT_EPROTO, "frame of no known kind");
      break;
  }
  akt__wire__frame__free_unpacked(f, &al);
  return rc;
}

int akt__conn_frames_in(akt__conn *c, const uint8_t *data, size_t len) {
  AKT_ASSERT(akt__conn_state(c) == C_OPEN);
  int rc = akt__framer_feed(&c->framer, data, len, on_frame, c);
  if (rc == AKT_ELIMIT && akt__conn_state(c) != C_CLOSED) return fail(c, AKT_ELIMIT, "frame too large");
  if (rc == AKT_ENOMEM && akt__conn_state(c) != C_CLOSED) return fail(c, AKT_ENOMEM, "out of memory");
  return akt__conn_state(c) == C_CLOSED ? (c->close_code ? c->close_code : AKT_ECLOSED) : 0;
}

/* ---- bytes in -------------------------------------------------------------------- */

/* Plaintext from the peer (through TLS or not), by state. */
static int plain_in(akt__conn *c, const uint8_t *data, size_t len) {
  switch (akt__conn_state(c)) {
    case C_AUTH: return akt__hs_feed(c, data, len);
    case C_OPEN: return akt__conn_frames_in(c, data, len);
    case C_CLOSED: return c->close_code ? c->close_code : AKT_ECLOSED;
    default: return fail(c, AKT_EPROTO, "data before the TLS handshake completed");
  }
}

/* The TLS engine failed: counted by why (a plaintext peer, a certificate
 * refused, ...), closed with its words. */
/* A fatal TLS alert (unexpected_message): what a TLS node answers a peer
 * that spoke to it without TLS, so that the peer can say why too. */
static const uint8_t plaintext_alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a};

static int tls_failed(akt__conn *c, int rc) {
  const akt__tls_error *e = akt__tls_get_error(c->tls);
  if (e->kind == AKT__TLS_F_PLAINTEXT) {
    AKT__SSTAT(c->r, plaintext_peers, 1);
    if (!c->outbound) akt__conn_write_raw(c, plaintext_alert, sizeof plaintext_alert);
  }
  else if (e->kind != AKT__TLS_F_CLOSED && e->kind != AKT__TLS_F_IO)
    AKT__SSTAT(c->r, tls_failures, 1);
  char why[AKT__TLS_ERROR_MAX + sizeof "TLS: "];
  snprintf(why, sizeof why, "TLS: %s", e->text[0] ? e->text : akt_strerror(rc));
  return fail(c, rc, why);
}

/* Ciphertext in: decrypted AKT__TLS_CHUNK bytes at a time, each piece's
 * plaintext read before the next is fed (so c->plain stays small). The
 * engine is used under the TLS lock; the plaintext is read after it is
 * released, since reading delivers envelopes (other locks). */
static int tls_in(akt__conn *c, const uint8_t *data, size_t len) {
  while (len > 0) {
    if (akt__conn_state(c) == C_CLOSED) return c->close_code ? c->close_code : AKT_ECLOSED;
    size_t n = len < AKT__TLS_CHUNK ? len : AKT__TLS_CHUNK;
    akt__rmutex_lock(&c->tls_mu);
    int rc = akt__tls_feed(c->tls, data, n);
    int done = akt__tls_done(c->tls);
    akt__rmutex_unlock(&c->tls_mu);
    data += n;
    len -= n;
    if (rc) return tls_failed(c, rc);
    if (done && akt__conn_state(c) == C_TLS && (rc = akt__hs_tls_done(c)) != 0) return rc;
    if (c->plain.len) {
      rc = plain_in(c, c->plain.data, c->plain.len);
      c->plain.len = 0;
      if (rc) return rc;
    }
  }
  return 0;
}

int akt__conn_feed(akt__conn *c, const uint8_t *data, size_t len) {
  if (akt__conn_state(c) == C_CLOSED) return c->close_code ? c->close_code : AKT_ECLOSED;
  akt_backend *b = c->r->sys->backend;
  c->last_rx = b->ops->now(b);
  AKT__RSTAT(c->r, bytes_in, len);
  return c->tls ? tls_in(c, data, len) : plain_in(c, data, len);
}

/* ---- the timer: handshake deadline, then heartbeats ------------------------------- */

static void arm(akt__conn *c);

static void on_timer(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__conn *c = arg;
  akt_system *sys = c->r->sys;
  c->timer_armed = 0;
  int state = akt__conn_state(c);
  akt_backend *b = sys->backend;
  uint64_t now = b->ops->now(b);
  if (state == C_CLOSED) {
    /* nothing: closing cancelled what it could */
  } else if (state != C_OPEN) {
    /* However slowly bytes trickle in: no idle timer to reset. */
    if (now >= c->deadline) {
      AKT__SSTAT(c->r, handshake_deadlines, 1);
      fail(c, AKT_ETIMEDOUT, "handshake deadline passed");
    } else {
      arm(c);
    }
  } else if (now - c->last_rx >= c->r->opts.failure) {
    fail(c, AKT_ETIMEDOUT, "heartbeat timeout");
  } else {
    if (c->outbound) {
      Akt__Wire__Heartbeat hb = AKT__WIRE__HEARTBEAT__INIT;
      hb.seq = ++c->hb_seq;
      write_control(c, AKT__WIRE__FRAME__KIND_HEARTBEAT, &hb);
    }
    arm(c);
  }
  akt__inflight_done(sys);
}

static void arm(akt__conn *c) {
  if (c->timer_armed || akt__conn_state(c) == C_CLOSED || !c->s) return;
  akt_backend *b = c->r->sys->backend;
  akt_duration delay = c->r->opts.heartbeat;
  if (akt__conn_state(c) != C_OPEN) {
    uint64_t now = b->ops->now(b);
    delay = c->deadline > now ? c->deadline - now : 0;
  }
  akt__inflight_add(c->r->sys);
  if (b->ops->timer_start(b, delay, on_timer, c, 0, &c->timer_id) != 0) {
    akt__inflight_done(c->r->sys);
    return;
  }
  c->timer_armed = 1;
}

void akt__conn_rearm(akt__conn *c) {
  disarm(c);
  arm(c);
}

/* ---- stream callbacks --------------------------------------------------------- */

static void on_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  (void)s;
  akt__conn_feed(data, buf, len);
}

static void on_close(akt_stream *s, int reason, void *data) {
  (void)s;
  akt__conn *c = data;
  akt_system *sys = c->r->sys;
  c->stream_gone = 1; /* the backend frees it when this returns */
  if (akt__conn_state(c) != C_CLOSED) {
    /* The peer or the network ended it. */
    c->close_code = reason ? reason : AKT_ECLOSED;
    const char *why = reason != AKT_ECLOSED ? akt_strerror(reason)
                      : akt__conn_state(c) == C_OPEN
                          ? "connection closed by peer"
                          : "connection closed by peer during the handshake (another cookie or "
                            "TLS setting there? its log says why)";
    akt__conn_close(c, why);
  }
  disarm(c);
  conn_unlink(c);
  conn_free(c);
  akt__inflight_done(sys);
}

static void on_connect(akt_stream *s, int status, void *data) {
  (void)s;
  akt__conn *c = data;
  if (status != 0) return; /* on_close follows with the reason */
  akt_backend *b = c->r->sys->backend;
  c->last_rx = b->ops->now(b);
}

static const akt_stream_cbs conn_cbs = {
    .on_connect = on_connect, .on_read = on_read, .on_close = on_close};

static akt__conn *conn_new(akt__remote *r, akt_stream *s, akt__endpoint *ep) {
  akt__conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->r = r;
  c->s = s;
  c->ep = ep;
  c->outbound = ep != NULL;
  atomic_init(&c->state, C_TLS);
  akt__rmutex_init(&c->tls_mu, AKT__RANK_CONN_TLS);
  c->framer.max = r->opts.max_frame;
  akt_backend *b = r->sys->backend;
  c->last_rx = b->ops->now(b);
  c->deadline = c->last_rx + r->sec.limits.handshake_deadline;
  return c;
}

/* Every handshake slot is taken — in all (limits.max_unauthenticated,
 * `source` NULL) or of one source address
 * (limits.max_unauthenticated_per_source, `source` that address): the
 * oldest handshake, of that source when given, is cut to make room for a
 * new one. A peer's handshake takes a few round trips, a slow stranger's
 * its whole deadline, so the oldest is a stranger's unless strangers open
 * connections faster than a peer's round trip (a flood, which no cap
 * stops). So strangers behind a peer's own address (a shared NAT, the
 * same host) cannot keep it out either, and one address still holds at
 * most its share of the slots. Returns 1 if one was cut. */
static int cut_oldest_handshake(akt__remote *r, const char *source) {
  akt__conn *oldest = NULL;
  akt__rmutex_lock(&r->mu);
  for (akt__conn *c = r->conns; c; c = c->next)
    if (!c->outbound && c->unauth && akt__conn_state(c) < C_OPEN &&
        (!source || strcmp(c->source, source) == 0) &&
        (!oldest || c->deadline < oldest->deadline))
      oldest = c;
  akt__rmutex_unlock(&r->mu);
  if (!oldest) return 0;
  AKT__SSTAT(r, handshakes_cut, 1);
  fail(oldest, AKT_ELIMIT,
       source ? "handshake cut for a newer one: every handshake slot of its source address was "
                "taken (limits.max_unauthenticated_per_source)"
              : "handshake cut for a newer one: every handshake slot was taken "
                "(limits.max_unauthenticated)");
  return 1;
}

/* Counts an accepted stream against the caps: 0, or the stream is closed
 * at once (counted, logged). */
static int admit(akt__remote *r, akt_stream *s, char *source) {
  akt_backend *b = r->sys->backend;
  akt_addr peer;
  if (b->ops->stream_peer(b, s, &peer) != 0) return AKT_ECLOSED;
  snprintf(source, AKT_HOST_MAX, "%s", peer.host);
  const char *which;
  int rc = akt__sources_admit(r, source, 1, &which);
  if (rc == AKT_ELIMIT && strcmp(which, AKT__CAP_UNAUTHENTICATED) == 0 &&
      cut_oldest_handshake(r, NULL))
    rc = akt__sources_admit(r, source, 1, &which);
  else if (rc == AKT_ELIMIT && strcmp(which, AKT__CAP_UNAUTHENTICATED_PER_SOURCE) == 0 &&
           cut_oldest_handshake(r, source))
    rc = akt__sources_admit(r, source, 1, &which);
  if (rc == AKT_ELIMIT) {
    AKT__SSTAT(r, connections_capped, 1);
    akt__rlog(r, AKT__LOG_CAPPED, AKT_LOG_WARN,
              "remoting: refusing a connection from %s: %s reached", source, which);
  }
  return rc;
}

void akt__conn_accept(akt__remote *r, akt_stream *s) {
  akt_backend *b = r->sys->backend;
  akt__rmutex_lock(&r->mu);
  int state = akt__remote_state(r);
  int park = state == AKT__REMOTE_STARTING && r->nparked < AKT__PARKED_MAX;
  if (park) r->parked[r->nparked++] = s;
  akt__rmutex_unlock(&r->mu);
  if (park) return;
  char source[AKT_HOST_MAX];
  akt__conn *c = NULL;
  if (state == AKT__REMOTE_RUNNING && admit(r, s, source) == 0) {
    if (!(c = conn_new(r, s, NULL))) akt__sources_release(r, source, 1, 1);
  }
  if (!c) {
    if (state == AKT__REMOTE_STARTING) AKT__RSTAT(r, handshakes_refused, 1);
    b->ops->stream_close(b, s);
    return;
  }
  snprintf(c->source, sizeof c->source, "%s", source);
  c->counted = c->unauth = 1;
  if (b->ops->stream_start(b, s, &conn_cbs, c) != 0) {
    /* on_close will not come for a stream that could not start. */
    uncount(c);
    conn_free(c);
    return;
  }
  akt__inflight_add(r->sys);
  conn_link(c);
  AKT__RSTAT(r, connections_accepted, 1);
  int rc = akt__hs_begin(c);
  if (rc) {
    fail(c, rc, "cannot start the handshake");
    return;
  }
  arm(c);
}

/* Takes the parked streams out of r (into out[], returns how many). */
static uint32_t take_parked(akt__remote *r, akt_stream **out) {
  akt__rmutex_lock(&r->mu);
  uint32_t n = r->nparked;
  memcpy(out, r->parked, n * sizeof *out);
  r->nparked = 0;
  akt__rmutex_unlock(&r->mu);
  return n;
}

void akt__conns_serve_parked(akt__remote *r) {
  akt_stream *parked[AKT__PARKED_MAX];
  uint32_t n = take_parked(r, parked);
  for (uint32_t i = 0; i < n; i++) akt__conn_accept(r, parked[i]);
}

void akt__conns_close_parked(akt__remote *r) {
  akt_backend *b = r->sys->backend;
  akt_stream *parked[AKT__PARKED_MAX];
  uint32_t n = take_parked(r, parked);
  for (uint32_t i = 0; i < n; i++) b->ops->stream_close(b, parked[i]);
}

int akt__conn_connect(akt__endpoint *ep) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  AKT_ASSERT(ep->state == AKT__EP_CONNECTING && !ep->conn);
  akt__remote *r = ep->r;
  akt_backend *b = r->sys->backend;
  const char *which;
  int rc = akt__sources_admit(r, ep->host, 0, &which);
  if (rc == AKT_ELIMIT) AKT__SSTAT(r, connections_capped, 1);
  if (rc) return rc;
  akt_addr addr;
  memset(&addr, 0, sizeof addr);
  snprintf(addr.host, sizeof addr.host, "%s", ep->host);
  addr.port = ep->port;
  akt__conn *c = conn_new(r, NULL, ep);
  if (!c) {
    akt__sources_release(r, ep->host, 0, 0);
    return AKT_ENOMEM;
  }
  snprintf(c->source, sizeof c->source, "%s", ep->host);
  c->counted = 1;
  snprintf(c->peer, sizeof c->peer, "%s", ep->node);
  /* On the I/O context, so none of c's callbacks runs before this returns. */
  rc = b->ops->connect(b, &addr, &conn_cbs, c, &c->s);
  if (rc) {
    uncount(c);
    conn_free(c);
    return rc;
  }
  akt__inflight_add(r->sys);
  conn_link(c);
  c->seq = atomic_fetch_add_explicit(&r->conn_seq, 1, memory_order_relaxed) + 1;
  rc = akt__hs_begin(c);
  if (rc) {
    /* Never the endpoint's: closed quietly, and freed by on_close. */
    c->close_code = rc;
    akt__conn_set_state(c, C_CLOSED);
    uncount(c);
    b->ops->stream_close(b, c->s);
    return rc;
  }
  ep->conn = c;
  AKT__RSTAT(r, connections_opened, 1);
  akt__trace(r->sys, AKT_EV_NET, 0, 0, "connect", 0, 0, ep->node);
  arm(c);
  return 0;
}

int akt__conn_is_open(const akt__conn *c) { return akt__conn_state(c) == C_OPEN; }

akt__conn *akt__conn_detached(akt__remote *r, akt__endpoint *ep, akt__buf *capture) {
  akt__conn *c = conn_new(r, NULL, ep);
  if (!c) return NULL;
  c->capture = capture;
  if (ep) c->seq = atomic_fetch_add_explicit(&r->conn_seq, 1, memory_order_relaxed) + 1;
  if (akt__hs_begin(c) != 0) {
    conn_free(c);
    return NULL;
  }
  return c;
}

void akt__conn_detached_free(akt__conn *c) {
  if (!c) return;
  /* Closed first, so that the peer's endpoint forgets it. */
  akt__conn_close(c, "freed");
  conn_free(c);
}

void akt__conns_close_all(akt__remote *r) {
  for (;;) {
    akt__rmutex_lock(&r->mu);
    akt__conn *c = r->conns;
    while (c && akt__conn_state(c) == C_CLOSED) c = c->next;
    akt__rmutex_unlock(&r->mu);
    if (!c) return;
    akt__conn_close(c, "node shutting down");
  }
}

void akt__conns_free_all(akt__remote *r) {
  akt_backend *b = r->sys->backend;
  for (akt__conn *c = r->conns, *next; c; c = next) {
    next = c->next;
    /* The dropped system's timers do not fire: whatever cancel says. */
    if (c->timer_armed) b->ops->timer_cancel(b, c->timer_id);
    c->timer_armed = 0;
    c->prev = c->next = NULL;
    c->counted = 0; /* the table goes with the remoting */
    conn_free(c);
  }
  r->conns = NULL;
}
