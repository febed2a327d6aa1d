/* akt — the endpoint of one peer: send queue, writer, reconnects, watches.
 *
 * Senders pack envelopes into the queue (bounded in bytes: a full queue
 * refuses the send with AKT_EFULL) and schedule the writer, a runnable
 * that takes whatever is queued by then and writes it as Batch frames to
 * the stream, which sends what accumulates in one system call — so a burst
 * of sends becomes one write. The queue survives connection loss: the
 * endpoint reconnects with exponential backoff and jitter (from the
 * backend's random stream) while anything waits to be sent. When the connection is lost, or the peer comes
 * back as a new incarnation, every watch of an actor there ends with
 * akt.Terminated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

#define EP_OF(r) ((akt__endpoint *)((char *)(r) - offsetof(akt__endpoint, writer)))

static void writer_run(akt_runnable *run);
static void connect_now(akt__endpoint *ep);

akt__endpoint *akt__endpoint_get(akt__remote *r, const char *node) {
  for (uint32_t i = 0; i < r->nendpoints; i++)
    if (strcmp(r->endpoints[i]->node, node) == 0) return r->endpoints[i];
  akt__endpoint *ep = calloc(1, sizeof *ep);
  if (!ep) return NULL;
  const char *path;
  if (akt__parse_address(node, ep->sysname, sizeof ep->sysname, ep->host, sizeof ep->host,
                         &ep->port, &path) != 0 || path) {
    free(ep);
    return NULL;
  }
  if (r->nendpoints == r->cap_endpoints) {
    uint32_t cap = r->cap_endpoints ? r->cap_endpoints * 2 : 4;
    akt__endpoint **n = realloc(r->endpoints, cap * sizeof *n);
    if (!n) {
      free(ep);
      return NULL;
    }
    r->endpoints = n;
    r->cap_endpoints = cap;
  }
  ep->r = r;
  snprintf(ep->node, sizeof ep->node, "%s", node);
  pthread_mutex_init(&ep->mu, NULL);
  pthread_mutex_init(&ep->wmu, NULL);
  ep->writer.run = writer_run;
  r->endpoints[r->nendpoints++] = ep;
  return ep;
}

/* Bytes waiting to be written: queued, and taken by the writer but not
 * written yet (endpoint lock held). */
static size_t pending(const akt__endpoint *ep) {
  return (ep->queue.len ? ep->queue.len - AKT__EP_GAP : 0) + (ep->out.len - ep->out_head);
}

/* Schedules the writer if it is not (endpoint lock held). */
static void wake_writer(akt__endpoint *ep) {
  if (ep->writer_scheduled || ep->state != AKT__EP_OPEN || pending(ep) == 0) return;
  ep->writer_scheduled = 1;
  akt_system *sys = ep->r->sys;
  akt__inflight_add(sys);
  sys->backend->ops->schedule(sys->backend, &ep->writer);
}

int akt__endpoint_send(akt__endpoint *ep, const akt__env_out *e, const ProtobufCMessage *payload,
                       size_t payload_len) {
  akt__remote *r = ep->r;
  size_t elen = akt__env_out_size(e, payload_len);
  if (elen + 64 > r->opts.max_frame) return AKT_ELIMIT;
  size_t len = 1 + akt__varint_size(elen) + elen; /* the Batch.envelopes entry */
  pthread_mutex_lock(&ep->mu);
  int rc = 0;
  if (ep->stopped) {
    rc = AKT_ESTOPPED;
  } else if (pending(ep) + elen + 16 > r->opts.send_queue) {
    rc = AKT_EFULL;
    AKT__RSTAT(r, send_queue_full, 1);
  } else if ((rc = akt__buf_reserve(&ep->queue, len + AKT__EP_GAP)) == 0) {
    if (ep->queue.len == 0) ep->queue.len = AKT__EP_GAP; /* see write_frames */
    /* Packed straight into the queue: the envelope is written once, by
     * hand, where packing it with protobuf-c took a size pass over it and
     * its payload, a packing into a buffer of its own and a copy. */
    uint8_t *p = ep->queue.data + ep->queue.len;
    *p++ = (1 << 3) | 2; /* Batch.envelopes, length-delimited */
    akt__env_out_write(akt__put_varint(p, elen), e, payload, payload_len);
    ep->queue.len += len;
    AKT__RSTAT(r, envelopes_out, 1);
    if (ep->state == AKT__EP_IDLE) connect_now(ep);
    wake_writer(ep);
  }
  pthread_mutex_unlock(&ep->mu);
  return rc;
}

/* Reads one Batch entry's length at p (entry = tag, varint, bytes); returns
 * the entry's total size, or 0 if malformed (cannot happen: we wrote it). */
static size_t entry_size(const uint8_t *p, size_t avail) {
  size_t i = 1, shift = 0;
  uint64_t len = 0;
  while (i < avail && i < 11) {
    len |= (uint64_t)(p[i] & 0x7f) << shift;
    if (!(p[i++] & 0x80)) return i + (size_t)len <= avail ? i + (size_t)len : 0;
    shift += 7;
  }
  return 0;
}

#define FLUSH_RETRY AKT_MILLIS(2) /* how soon a writer the stream refused tries again */

static void flush_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__endpoint *ep = arg;
  akt_system *sys = ep->r->sys;
  pthread_mutex_lock(&ep->mu);
  ep->flush_armed = 0;
  wake_writer(ep);
  pthread_mutex_unlock(&ep->mu);
  akt__inflight_done(sys);
}

/* The stream's write queue is full: the frames stay queued here and the
 * writer tries again shortly (endpoint lock held). */
static void retry_flush(akt__endpoint *ep) {
  akt__remote *r = ep->r;
  if (ep->flush_armed || ep->stopped || r->stopping) return;
  akt_backend *b = r->sys->backend;
  akt__inflight_add(r->sys);
  if (b->ops->timer_start(b, FLUSH_RETRY, flush_fire, ep, 0, &ep->flush_timer) != 0) {
    akt__inflight_done(r->sys);
    return;
  }
  ep->flush_armed = 1;
}

/* Writes the frames of ep->out from *head until its end or an error,
 * advancing *head past what the stream took. Returns 0 or the error of
 * conn_write. The write lock is held, the endpoint lock not: c stays open
 * (only on_down takes it away, under the write lock) and out is the
 * writer's alone.
 *
 * One Batch frame per stream write, written from out itself: its header
 * goes into the AKT__BATCH_HDR_MAX bytes just before its envelopes — the
 * buffer's front gap (AKT__EP_GAP) for the first frame, the tail of the
 * previous frame's envelopes, handed to the stream already, for the next
 * ones. This saves building the frames in a buffer of their own (a copy of
 * every byte sent). One frame per write also lets the stream's own limit
 * refuse a frame without refusing everything: what it takes is done. */
static int write_frames(akt__endpoint *ep, akt__conn *c, size_t *head) {
  akt__remote *r = ep->r;
  akt__buf *out = &ep->out;
  while (*head < out->len) {
    /* Cut a frame of at most max_batch envelopes and about max_frame/2
     * bytes (at least one envelope). */
    size_t start = *head, off = start;
    uint32_t n = 0;
    while (off < out->len) {
      size_t sz = entry_size(out->data + off, out->len - off);
      if (sz == 0) break;
      if (n > 0 && (n >= r->opts.max_batch || off + sz - start > r->opts.max_frame / 2)) break;
      off += sz;
      n++;
    }
    if (n == 0) return AKT_EPROTO; /* cannot happen: we wrote the entries */
    uint8_t hdr[AKT__BATCH_HDR_MAX];
    size_t hlen = akt__frame_batch_header(off - start, hdr);
    uint8_t *frame = out->data + start - hlen; /* start >= AKT__EP_GAP >= hlen */
    memcpy(frame, hdr, hlen);
    int rc = akt__conn_write(c, frame, hlen + off - start);
    if (rc != 0) return rc;
    AKT__RSTAT(r, frames_out, 1);
    *head = off;
  }
  return 0;
}

/* Most rounds (take the queue, write it) of one writer run: under a
 * steady stream of sends the writer gives its worker back now and then. */
#define WRITER_ROUNDS 8

/* Writes what is queued, up to `rounds` times taking everything queued by
 * then, until the queue is empty or the stream refuses (AKT_EFULL: retried
 * shortly; anything else: the connection is going down and what is left
 * waits for the next one). Returns 0 or the stream's error. Write lock
 * held, endpoint lock not. */
static int flush(akt__endpoint *ep, unsigned rounds) {
  int rc = 0;
  pthread_mutex_lock(&ep->mu);
  for (unsigned i = 0; i < rounds && ep->state == AKT__EP_OPEN && ep->conn; i++) {
    if (ep->out_head == ep->out.len) {
      if (ep->queue.len == 0) break;
      /* Take the whole queue; senders go on filling the other buffer. */
      akt__buf t = ep->out;
      ep->out = ep->queue;
      ep->out_head = AKT__EP_GAP;
      ep->queue = t;
      ep->queue.len = 0;
    }
    akt__conn *c = ep->conn;
    size_t head = ep->out_head;
    pthread_mutex_unlock(&ep->mu);
    rc = write_frames(ep, c, &head);
    pthread_mutex_lock(&ep->mu);
    ep->out_head = head;
    if (ep->out_head == ep->out.len) ep->out.len = ep->out_head = 0;
    if (rc != 0) {
      if (rc == AKT_EFULL) retry_flush(ep);
      break;
    }
  }
  pthread_mutex_unlock(&ep->mu);
  return rc;
}

static void writer_run(akt_runnable *run) {
  akt__endpoint *ep = EP_OF(run);
  akt_system *sys = ep->r->sys;
  pthread_mutex_lock(&ep->wmu);
  int rc = flush(ep, WRITER_ROUNDS);
  /* Still scheduled until here, so senders did not schedule it again
   * meanwhile (each schedule may wake a sleeping worker): what they queued
   * since the last round is picked up by scheduling it once more. After an
   * error the retry timer or the next connection does that. */
  pthread_mutex_lock(&ep->mu);
  ep->writer_scheduled = 0;
  if (rc == 0) wake_writer(ep);
  pthread_mutex_unlock(&ep->mu);
  pthread_mutex_unlock(&ep->wmu);
  akt__inflight_done(sys);
}

void akt__endpoint_flush(akt__endpoint *ep) {
  pthread_mutex_lock(&ep->wmu);
  flush(ep, UINT32_MAX);
  pthread_mutex_unlock(&ep->wmu);
}

void akt__endpoint_write_control(akt__endpoint *ep, akt__conn *c, const Akt__Wire__Frame *f) {
  akt__buf out = {0};
  if (akt__frame_encode(f, ep->r->opts.max_frame, &out) == 0) {
    pthread_mutex_lock(&ep->wmu);
    pthread_mutex_lock(&ep->mu);
    if (ep->conn == c) {
      AKT__RSTAT(ep->r, frames_out, 1);
      akt__conn_write(c, out.data, out.len);
    }
    pthread_mutex_unlock(&ep->mu);
    pthread_mutex_unlock(&ep->wmu);
  }
  akt__buf_free(&out);
}

/* ---- connecting and reconnecting ------------------------------------------- */

static void connect_now(akt__endpoint *ep) {
  if (ep->stopped || ep->r->stopping) return;
  ep->state = AKT__EP_CONNECTING;
  int rc = akt__conn_connect(ep);
  if (rc) {
    akt__log(ep->r->sys, AKT_LOG_WARN, "remoting: cannot connect to %s: %s", ep->node,
             akt_strerror(rc));
    ep->state = AKT__EP_IDLE;
  }
}

static void retry_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__endpoint *ep = arg;
  akt_system *sys = ep->r->sys;
  pthread_mutex_lock(&ep->mu);
  ep->retry_armed = 0;
  if (ep->state == AKT__EP_BACKOFF) {
    ep->state = AKT__EP_IDLE;
    if (pending(ep) || ep->nwatches) connect_now(ep);
  }
  pthread_mutex_unlock(&ep->mu);
  akt__inflight_done(sys);
}

/* Arms the reconnect timer: backoff_min doubling up to backoff_max, +/-20%
 * jitter drawn from the backend (endpoint lock held). */
static void schedule_retry(akt__endpoint *ep) {
  akt__remote *r = ep->r;
  if (ep->stopped || r->stopping || ep->retry_armed) return;
  akt_backend *b = r->sys->backend;
  akt_duration d = r->opts.backoff_min;
  for (uint32_t i = 1; i < ep->attempts && d < r->opts.backoff_max; i++) d *= 2;
  if (d > r->opts.backoff_max) d = r->opts.backoff_max;
  uint64_t span = d / 5;
  if (span) d = d - span + b->ops->random_u64(b) % (2 * span + 1);
  ep->state = AKT__EP_BACKOFF;
  akt__inflight_add(r->sys);
  if (b->ops->timer_start(b, d, retry_fire, ep, 0, &ep->retry_timer) != 0) {
    akt__inflight_done(r->sys);
    ep->state = AKT__EP_IDLE;
    return;
  }
  ep->retry_armed = 1;
}

/* Tells every watcher of an actor on this node that it is gone (endpoint
 * lock held; the sends go to local actors only). */
static void terminate_watches(akt__endpoint *ep, const char *why) {
  for (uint32_t i = 0; i < ep->nwatches; i++) {
    akt__rwatch *w = &ep->watches[i];
    char address[AKT_ADDRESS_MAX];
    akt__remote_pid_format(w->target, address, sizeof address);
    Akt__Terminated t = AKT__TERMINATED__INIT;
    t.path = (char *)(uintptr_t)akt_pid_path(w->target);
    t.id = akt_pid_id(w->target);
    t.address = address;
    akt__log(ep->r->sys, AKT_LOG_INFO, "remoting: %s is gone (%s): Terminated to %s", address,
             why, akt_pid_path(w->watcher));
    akt__send(w->watcher, &t.base, w->target, 0, 0);
    akt_pid_release(w->watcher);
    akt_pid_release(w->target);
  }
  ep->nwatches = 0;
}

void akt__endpoint_on_open(akt__endpoint *ep, akt__conn *c, uint64_t incarnation) {
  pthread_mutex_lock(&ep->mu);
  if (ep->conn == c) {
    if (ep->incarnation && incarnation != ep->incarnation)
      terminate_watches(ep, "node restarted");
    ep->incarnation = incarnation;
    ep->state = AKT__EP_OPEN;
    ep->attempts = 0;
    wake_writer(ep);
  }
  pthread_mutex_unlock(&ep->mu);
}

void akt__endpoint_on_down(akt__endpoint *ep, akt__conn *c, const char *reason) {
  /* The write lock first: a writer may be writing to c (see flush). */
  pthread_mutex_lock(&ep->wmu);
  pthread_mutex_lock(&ep->mu);
  if (ep->conn == c) {
    ep->conn = NULL;
    ep->attempts++;
    terminate_watches(ep, reason);
    ep->state = AKT__EP_IDLE;
    if (pending(ep)) schedule_retry(ep);
  }
  pthread_mutex_unlock(&ep->mu);
  pthread_mutex_unlock(&ep->wmu);
}

int akt__endpoint_on_accept(akt__endpoint *ep, akt__conn *c, uint64_t incarnation, uint64_t seq,
                            akt__conn **old) {
  pthread_mutex_lock(&ep->mu);
  *old = NULL;
  if (seq && incarnation == ep->in_incarnation && seq <= ep->in_seq) {
    pthread_mutex_unlock(&ep->mu);
    return 1;
  }
  if (ep->inbound != c) *old = ep->inbound;
  ep->inbound = c;
  ep->in_incarnation = incarnation;
  ep->in_seq = seq;
  pthread_mutex_unlock(&ep->mu);
  return 0;
}

void akt__endpoint_on_inbound_down(akt__endpoint *ep, akt__conn *c, const char *reason) {
  pthread_mutex_lock(&ep->mu);
  if (ep->inbound == c) ep->inbound = NULL;
  terminate_watches(ep, reason);
  pthread_mutex_unlock(&ep->mu);
}

int akt__endpoint_watch(akt__endpoint *ep, akt_pid *watcher, akt_pid *target, int watch) {
  pthread_mutex_lock(&ep->mu);
  int rc = 0;
  if (watch) {
    if (ep->nwatches == ep->cap_watches) {
      uint32_t cap = ep->cap_watches ? ep->cap_watches * 2 : 4;
      akt__rwatch *n = realloc(ep->watches, cap * sizeof *n);
      if (!n) rc = AKT_ENOMEM;
      else {
        ep->watches = n;
        ep->cap_watches = cap;
      }
    }
    if (!rc) {
      ep->watches[ep->nwatches++] =
          (akt__rwatch){.watcher = akt_pid_retain(watcher), .target = akt_pid_retain(target)};
      if (ep->state == AKT__EP_IDLE) connect_now(ep);
    }
  } else {
    for (uint32_t i = 0; i < ep->nwatches; i++) {
      akt__rwatch *w = &ep->watches[i];
      if (!akt_pid_equal(w->watcher, watcher) || !akt_pid_equal(w->target, target)) continue;
      akt_pid_release(w->watcher);
      akt_pid_release(w->target);
      ep->watches[i] = ep->watches[--ep->nwatches];
      break;
    }
  }
  pthread_mutex_unlock(&ep->mu);
  return rc;
}

void akt__endpoint_unwatch_path(akt__endpoint *ep, const char *watcher_path, uint64_t watcher_id,
                                akt_pid *target) {
  pthread_mutex_lock(&ep->mu);
  for (uint32_t i = 0; i < ep->nwatches; i++) {
    akt__rwatch *w = &ep->watches[i];
    if (strcmp(akt_pid_path(w->watcher), watcher_path) != 0 ||
        (watcher_id && akt_pid_id(w->watcher) != watcher_id) || !akt_pid_equal(w->target, target))
      continue;
    akt_pid_release(w->watcher);
    akt_pid_release(w->target);
    ep->watches[i] = ep->watches[--ep->nwatches];
    break;
  }
  pthread_mutex_unlock(&ep->mu);
}

void akt__endpoint_stop(akt__endpoint *ep) {
  pthread_mutex_lock(&ep->mu);
  ep->stopped = 1;
  akt_backend *b = ep->r->sys->backend;
  if (ep->retry_armed) {
    if (b->ops->timer_cancel(b, ep->retry_timer) == 0) akt__inflight_done(ep->r->sys);
    ep->retry_armed = 0;
  }
  if (ep->flush_armed) {
    if (b->ops->timer_cancel(b, ep->flush_timer) == 0) akt__inflight_done(ep->r->sys);
    ep->flush_armed = 0;
  }
  pthread_mutex_unlock(&ep->mu);
}

void akt__endpoint_free(akt__endpoint *ep) {
  for (uint32_t i = 0; i < ep->nwatches; i++) {
    akt_pid_release(ep->watches[i].watcher);
    akt_pid_release(ep->watches[i].target);
  }
  free(ep->watches);
  akt__buf_free(&ep->queue);
  akt__buf_free(&ep->out);
  pthread_mutex_destroy(&ep->mu);
  pthread_mutex_destroy(&ep->wmu);
  free(ep);
}
