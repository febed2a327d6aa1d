/* akt — remoting connections: handshake, frames, heartbeats.
 *
 * An outbound connection (ours, to a peer) sends Handshake, then envelopes
 * and heartbeats, and expects HandshakeAck and HeartbeatAck; an inbound one
 * (a peer's) expects Handshake first, then batches and heartbeats, and
 * answers with acks. Anything else, or anything over a limit, closes the
 * connection with a reason and a counter; other connections are not
 * affected.
 *
 * A connection belongs to the I/O context: it is made there (an inbound
 * one when accepted; an outbound one by the endpoint's dial), every stream
 * and timer callback runs there, and it is freed there, by on_close. The
 * one access from elsewhere is akt__conn_write by the endpoint's writer
 * (a worker), which the endpoint's write lock makes safe: the writer finds
 * the connection as ep->conn and writes under the write lock, and on_down
 * takes that connection away under the same lock before the stream can be
 * closed and the connection freed. What the writer reads of a connection
 * never changes after it is made (its stream, its remoting), except its
 * state, which is atomic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

/* A connection's state: forward only. */
enum { C_HANDSHAKE = 0, C_OPEN = 1, C_CLOSED = 2 };

/* Bytes of a reason from the peer we repeat, and room for it with the
 * longest prefix we put before it. */
#define PEER_REASON_MAX 256
#define REASON_MAX (PEER_REASON_MAX + sizeof "refused by peer: ")

/* The batch being read starts with room for this many views. */
#define VIEWS_FIRST_CAP 64

struct akt__conn {
  akt__remote *r;
  akt_stream *s;            /* set before the connection is shared; NULL when detached */
  akt__endpoint *ep;        /* outbound: ours; inbound: NULL */
  akt__endpoint *in_ep;     /* inbound, after the handshake: the peer's endpoint */
  int outbound;
  _Atomic int state;        /* C_*: changed on the I/O context, read by the writer */
  int stream_gone;          /* the backend closed the stream (on_close): do not close it */
  int close_code;           /* why it closed (0 = by us, normally) */
  akt__framer framer;
  uint64_t seq;             /* outbound: our connection number to the peer */
  uint64_t last_rx;         /* backend time of the last bytes received */
  uint64_t hb_seq;
  uint64_t timer_id;
  int timer_armed;
  akt__conn *prev, *next;   /* r->conns (remoting lock) */
  akt__buf *capture;        /* detached: where writes go */
  char peer[AKT__NODE_MAX]; /* the peer's address, once known */
  akt__rx_cache rx;         /* inbound: names remembered between envelopes */
  akt__env_view *views;     /* inbound: the batch being read (at most max_batch) */
  uint32_t views_cap;
};

static int state_of(const akt__conn *c) {
  return atomic_load_explicit(&c->state, memory_order_relaxed);
}

/* Moves the state forward (I/O context). The writer reads it relaxed: it
 * only saves a write to a stream that is closing, which the stream refuses
 * anyway. */
static void set_state(akt__conn *c, int to) {
  int from = state_of(c);
  AKT_ASSERT_TRANSITION("connection state", from, to, to > from);
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
 * armed that could still fire). */
static void conn_free(akt__conn *c) {
  AKT_ASSERT(!c->timer_armed && !c->prev && !c->next);
  akt__framer_free(&c->framer);
  akt__rx_cache_free(&c->rx);
  free(c->views);
  free(c);
}

int akt__conn_write(akt__conn *c, const uint8_t *data, size_t len) {
  if (state_of(c) == C_CLOSED) return AKT_ECLOSED;
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

/* ---- control frames ------------------------------------------------------------ */

/* A Frame of `kind` around `msg`, the message of that kind. */
static Akt__Wire__Frame frame_of(Akt__Wire__Frame__KindCase kind, void *msg) {
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  f.kind_case = kind;
  switch (kind) {
    case AKT__WIRE__FRAME__KIND_HANDSHAKE: f.handshake = msg; break;
    case AKT__WIRE__FRAME__KIND_HANDSHAKE_ACK: f.handshake_ack = msg; break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT: f.heartbeat = msg; break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK: f.heartbeat_ack = msg; break;
    case AKT__WIRE__FRAME__KIND_CLOSE: f.close = msg; break;
    default: AKT_ASSERT(!"a control frame"); /* batches are the writer's */
  }
  return f;
}

/* Encodes and writes one control frame of `kind` around `msg`; errors only
 * mean the peer will not hear it. An outbound connection's frames after
 * the handshake go through its endpoint, in order with the writer's. */
static void write_control(akt__conn *c, Akt__Wire__Frame__KindCase kind, void *msg) {
  Akt__Wire__Frame f = frame_of(kind, msg);
  if (c->outbound && state_of(c) == C_OPEN) {
    akt__endpoint_write_control(c->ep, c, &f);
    return;
  }
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

void akt__conn_close(akt__conn *c, const char *reason) {
  if (state_of(c) == C_CLOSED) return;
  AKT__ASSERT_NOT_HELD(AKT__RANK_EP_WRITE); /* on_down takes the endpoint's locks */
  akt__remote *r = c->r;
  akt__log(r->sys, c->close_code ? AKT_LOG_WARN : AKT_LOG_DEBUG, "remoting: closing %s %s: %s",
           c->outbound ? "connection to" : "connection from",
           c->peer[0] ? c->peer : "(unknown peer)", reason);
  akt__trace(r->sys, AKT_EV_NET, 0, 0, "close", 0, c->close_code, reason);
  if (!c->stream_gone) {
    Akt__Wire__Close cl = AKT__WIRE__CLOSE__INIT;
    cl.reason = (char *)(uintptr_t)reason;
    write_control(c, AKT__WIRE__FRAME__KIND_CLOSE, &cl);
  }
  set_state(c, C_CLOSED);
  AKT__RSTAT(r, connections_closed, 1);
  disarm(c);
  if (c->ep)
    akt__endpoint_on_down(c->ep, c, c->close_code, reason);
  else if (c->in_ep)
    akt__endpoint_on_inbound_down(c->in_ep, c, reason);
  if (c->s && !c->stream_gone) {
    akt_backend *b = r->sys->backend;
    b->ops->stream_close(b, c->s); /* on_close frees the connection */
  }
}

/* Closes for bad input: counts it, remembers the code for feed(). */
static int fail(akt__conn *c, int code, const char *reason) {
  if (c->close_code == 0) c->close_code = code;
  if (code == AKT_ELIMIT)
    AKT__RSTAT(c->r, limit_errors, 1);
  else if (code == AKT_EREFUSED)
    AKT__RSTAT(c->r, handshakes_refused, 1);
  else if (code == AKT_ETIMEDOUT)
    AKT__RSTAT(c->r, heartbeat_timeouts, 1);
  else
    AKT__RSTAT(c->r, protocol_errors, 1);
  akt__conn_close(c, reason);
  return code;
}

/* ---- the handshake -------------------------------------------------------------- */

/* What the connector sends, how the acceptor checks it and answers, and
 * what the answer does are all here; the rest of a connection sees only
 * the outcome (the state C_OPEN, the endpoint told through on_accept or
 * on_open, or a close with a reason and a counter). */

/* The connector's Handshake (outbound, first frame). */
static void send_handshake(akt__conn *c) {
  akt__remote *r = c->r;
  Akt__Wire__Handshake h = AKT__WIRE__HANDSHAKE__INIT;
  h.magic = AKT__WIRE_MAGIC;
  h.version = AKT_REMOTE_PROTOCOL_VERSION;
  h.to_system = c->ep->sysname;
  h.from_address = r->node;
  h.incarnation = r->incarnation;
  h.conn_seq = c->seq;
  h.cookie = (char *)(uintptr_t)r->opts.cookie;
  write_control(c, AKT__WIRE__FRAME__KIND_HANDSHAKE, &h);
}

/* HandshakeAck: accepted with our address and incarnation, or refused with
 * a reason. */
static void write_ack(akt__conn *c, int accepted, const char *reason) {
  Akt__Wire__HandshakeAck ack = AKT__WIRE__HANDSHAKE_ACK__INIT;
  ack.accepted = accepted;
  if (accepted) {
    ack.address = c->r->node;
    ack.incarnation = c->r->incarnation;
  } else {
    ack.reason = (char *)(uintptr_t)reason;
  }
  write_control(c, AKT__WIRE__FRAME__KIND_HANDSHAKE_ACK, &ack);
}

static int refuse(akt__conn *c, const char *reason) {
  write_ack(c, 0, reason);
  return fail(c, AKT_EREFUSED, reason);
}

static int str_ok(const akt__conn *c, const char *s) {
  return s && strlen(s) <= c->r->opts.max_name;
}

static int on_handshake(akt__conn *c, const Akt__Wire__Handshake *h) {
  akt__remote *r = c->r;
  if (h->magic != AKT__WIRE_MAGIC) return fail(c, AKT_EPROTO, "bad magic");
  if (h->version != AKT_REMOTE_PROTOCOL_VERSION) return refuse(c, "unsupported protocol version");
  if (!str_ok(c, h->to_system) || !str_ok(c, h->from_address) || !str_ok(c, h->cookie))
    return fail(c, AKT_ELIMIT, "handshake field too long");
  if (strcmp(h->to_system, akt_system_name(r->sys)) != 0) return refuse(c, "wrong system name");
  if (strcmp(h->cookie, r->opts.cookie) != 0) return refuse(c, "wrong cookie");
  snprintf(c->peer, sizeof c->peer, "%s", h->from_address);
  akt__endpoint *ep;
  int rc = akt__endpoint_get(r, h->from_address, &ep);
  if (rc == AKT_ENOMEM) return fail(c, AKT_ENOMEM, "out of memory");
  if (rc) return fail(c, AKT_EPROTO, "malformed peer address");
  akt__conn *old;
  if (akt__endpoint_on_accept(ep, c, h->incarnation, h->conn_seq, &old))
    return refuse(c, "stale connection: a newer one from this peer was accepted");
  c->in_ep = ep;
  if (old) akt__conn_close(old, "superseded by a newer connection from the peer");
  write_ack(c, 1, NULL);
  set_state(c, C_OPEN);
  akt__trace(r->sys, AKT_EV_NET, 0, 0, "accepted", h->incarnation, 0, c->peer);
  return 0;
}

/* A HandshakeAck on our outbound connection. */
static int on_handshake_ack(akt__conn *c, const Akt__Wire__HandshakeAck *ack) {
  if (!ack->accepted) {
    char reason[REASON_MAX];
    snprintf(reason, sizeof reason, "refused by peer: %.*s", PEER_REASON_MAX,
             ack->reason ? ack->reason : "");
    return fail(c, AKT_EREFUSED, reason);
  }
  set_state(c, C_OPEN);
  akt__endpoint_on_open(c->ep, c, ack->incarnation);
  return 0;
}

/* ---- frames ------------------------------------------------------------------ */

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
    akt__remote_deliver(r, &c->rx, &v);
  }
  return 0;
}

/* The fast path of a Batch frame (scan.h): the body is read in place, in
 * one pass that keeps each envelope's view (c->views, at most max_batch
 * of them) and checks them all before the first is delivered — nothing is
 * delivered from a batch that is refused, as with protobuf-c. Returns 1
 * when the scanner does not read these bytes (or a name is longer than
 * max_name: whether it is too long as a C string is protobuf-c's path to
 * decide), for the caller to unpack the frame with protobuf-c; else 0 or
 * the code the connection was closed with. */
static int on_batch_scan(akt__conn *c, const uint8_t *body, size_t len) {
  akt__remote *r = c->r;
  const uint8_t *p = body, *end = body + len;
  size_t max = r->opts.max_name, n = 0;
  akt__env_view v;
  int got;
  while ((got = akt__scan_envelope(&p, end, &v)) == 1) {
    if (v.target_len > max || v.sender_len > max || v.type_len > max) return 1;
    if (n < r->opts.max_batch) {
      if (n == c->views_cap) {
        /* At most max_batch views, however many the batch claims. */
        akt__env_view *grown = akt__array_grow(c->views, &c->views_cap, sizeof *grown,
                                               VIEWS_FIRST_CAP, r->opts.max_batch);
        if (!grown) return 1; /* out of memory: protobuf-c's path, with its own memory */
        c->views = grown;
      }
      c->views[n] = v;
    }
    n++; /* past max_batch only counted: a malformed rest is protobuf-c's */
  }
  if (got < 0) return 1;
  if (n > r->opts.max_batch) return fail(c, AKT_ELIMIT, "batch too large");
  AKT__RSTAT(r, envelopes_in, n);
  for (size_t i = 0; i < n; i++) akt__remote_deliver(r, &c->rx, &c->views[i]);
  return 0;
}

static int on_frame(void *arg, const uint8_t *data, size_t len) {
  akt__conn *c = arg;
  int state = state_of(c);
  if (state == C_CLOSED) return AKT_ECLOSED;
  akt__remote *r = c->r;
  AKT__RSTAT(r, frames_in, 1);
  const uint8_t *body;
  size_t body_len;
  if (!c->outbound && state == C_OPEN && akt__scan_batch_frame(data, len, &body, &body_len)) {
    int rc = on_batch_scan(c, body, body_len);
    if (rc != 1) return rc;
  }
  Akt__Wire__Frame *f = akt__wire__frame__unpack(NULL, len, data);
  if (!f) return fail(c, AKT_EPROTO, "malformed frame");
  int rc = 0;
  switch (f->kind_case) {
    case AKT__WIRE__FRAME__KIND_HANDSHAKE:
      rc = !c->outbound && state == C_HANDSHAKE ? on_handshake(c, f->handshake)
                                                : fail(c, AKT_EPROTO, "unexpected handshake");
      break;
    case AKT__WIRE__FRAME__KIND_HANDSHAKE_ACK:
      rc = c->outbound && state == C_HANDSHAKE ? on_handshake_ack(c, f->handshake_ack)
                                               : fail(c, AKT_EPROTO, "unexpected handshake ack");
      break;
    case AKT__WIRE__FRAME__KIND_BATCH:
      rc = !c->outbound && state == C_OPEN ? on_batch(c, f->batch)
                                           : fail(c, AKT_EPROTO, "unexpected batch");
      break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT:
      if (c->outbound || state != C_OPEN) {
        rc = fail(c, AKT_EPROTO, "unexpected heartbeat");
      } else {
        Akt__Wire__HeartbeatAck ack = AKT__WIRE__HEARTBEAT_ACK__INIT;
        ack.seq = f->heartbeat->seq;
        write_control(c, AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK, &ack);
      }
      break;
    case AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK:
      if (!c->outbound || state != C_OPEN) rc = fail(c, AKT_EPROTO, "unexpected heartbeat ack");
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
  akt__wire__frame__free_unpacked(f, NULL);
  return rc;
}

int akt__conn_feed(akt__conn *c, const uint8_t *data, size_t len) {
  if (state_of(c) == C_CLOSED) return c->close_code ? c->close_code : AKT_ECLOSED;
  akt_backend *b = c->r->sys->backend;
  c->last_rx = b->ops->now(b);
  AKT__RSTAT(c->r, bytes_in, len);
  int rc = akt__framer_feed(&c->framer, data, len, on_frame, c);
  if (rc == AKT_ELIMIT && state_of(c) != C_CLOSED) return fail(c, AKT_ELIMIT, "frame too large");
  if (rc == AKT_ENOMEM && state_of(c) != C_CLOSED) return fail(c, AKT_ENOMEM, "out of memory");
  return state_of(c) == C_CLOSED ? (c->close_code ? c->close_code : AKT_ECLOSED) : 0;
}

/* ---- heartbeats ------------------------------------------------------------- */

static void arm(akt__conn *c);

static void on_timer(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__conn *c = arg;
  akt_system *sys = c->r->sys;
  c->timer_armed = 0;
  int state = state_of(c);
  if (state != C_CLOSED) {
    akt_backend *b = sys->backend;
    uint64_t now = b->ops->now(b);
    if (now - c->last_rx >= c->r->opts.failure) {
      fail(c, AKT_ETIMEDOUT, state == C_OPEN ? "heartbeat timeout" : "handshake timeout");
    } else {
      if (c->outbound && state == C_OPEN) {
        Akt__Wire__Heartbeat hb = AKT__WIRE__HEARTBEAT__INIT;
        hb.seq = ++c->hb_seq;
        write_control(c, AKT__WIRE__FRAME__KIND_HEARTBEAT, &hb);
      }
      arm(c);
    }
  }
  akt__inflight_done(sys);
}

static void arm(akt__conn *c) {
  if (c->timer_armed || state_of(c) == C_CLOSED || !c->s) return;
  akt_backend *b = c->r->sys->backend;
  akt__inflight_add(c->r->sys);
  if (b->ops->timer_start(b, c->r->opts.heartbeat, on_timer, c, 0, &c->timer_id) != 0) {
    akt__inflight_done(c->r->sys);
    return;
  }
  c->timer_armed = 1;
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
  if (state_of(c) != C_CLOSED) {
    /* The peer or the network ended it. */
    c->close_code = reason ? reason : AKT_ECLOSED;
    akt__conn_close(c, reason == AKT_ECLOSED ? "connection closed by peer" : akt_strerror(reason));
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
  atomic_init(&c->state, C_HANDSHAKE);
  c->framer.max = r->opts.max_frame;
  akt_backend *b = r->sys->backend;
  c->last_rx = b->ops->now(b);
  return c;
}

void akt__conn_accept(akt__remote *r, akt_stream *s) {
  akt_backend *b = r->sys->backend;
  akt__rmutex_lock(&r->mu);
  int state = akt__remote_state(r);
  int park = state == AKT__REMOTE_STARTING && r->nparked < AKT__PARKED_MAX;
  if (park) r->parked[r->nparked++] = s;
  akt__rmutex_unlock(&r->mu);
  if (park) return;
  akt__conn *c = state == AKT__REMOTE_RUNNING ? conn_new(r, s, NULL) : NULL;
  if (!c) {
    if (state == AKT__REMOTE_STARTING) AKT__RSTAT(r, handshakes_refused, 1);
    b->ops->stream_close(b, s);
    return;
  }
  if (b->ops->stream_start(b, s, &conn_cbs, c) != 0) {
    /* on_close will not come for a stream that could not start. */
    conn_free(c);
    return;
  }
  akt__inflight_add(r->sys);
  conn_link(c);
  AKT__RSTAT(r, connections_accepted, 1);
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
  akt_addr addr;
  memset(&addr, 0, sizeof addr);
  snprintf(addr.host, sizeof addr.host, "%s", ep->host);
  addr.port = ep->port;
  akt__conn *c = conn_new(r, NULL, ep);
  if (!c) return AKT_ENOMEM;
  snprintf(c->peer, sizeof c->peer, "%s", ep->node);
  /* On the I/O context, so none of c's callbacks runs before this returns. */
  int rc = b->ops->connect(b, &addr, &conn_cbs, c, &c->s);
  if (rc) {
    conn_free(c);
    return rc;
  }
  akt__inflight_add(r->sys);
  conn_link(c);
  c->seq = ep->dials;
  ep->conn = c;
  AKT__RSTAT(r, connections_opened, 1);
  akt__trace(r->sys, AKT_EV_NET, 0, 0, "connect", 0, 0, ep->node);
  send_handshake(c);
  arm(c);
  return 0;
}

int akt__conn_is_open(const akt__conn *c) { return state_of(c) == C_OPEN; }

akt__conn *akt__conn_detached(akt__remote *r, akt__endpoint *ep, akt__buf *capture) {
  akt__conn *c = conn_new(r, NULL, ep);
  if (c) c->capture = capture;
  return c;
}

void akt__conn_detached_free(akt__conn *c) {
  if (c) conn_free(c);
}

void akt__conns_close_all(akt__remote *r) {
  for (;;) {
    akt__rmutex_lock(&r->mu);
    akt__conn *c = r->conns;
    while (c && state_of(c) == C_CLOSED) c = c->next;
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
    conn_free(c);
  }
  r->conns = NULL;
}
