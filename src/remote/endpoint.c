/* akt — the endpoint of one peer: send queue, writer, reconnects, watches.
 *
 * Senders append encoded envelopes to the queue (bounded in bytes: a full
 * queue refuses the send with AKT_EFULL) and schedule the writer, a
 * runnable that takes whatever is queued by then and writes it as one or
 * more Batch frames in one write — so a burst of sends becomes one system
 * call. The queue survives connection loss: the endpoint reconnects with
 * exponential backoff and jitter (from the backend's random stream) while
 * anything waits to be sent. When the connection is lost, or the peer comes
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
  ep->writer.run = writer_run;
  r->endpoints[r->nendpoints++] = ep;
  return ep;
}

/* Schedules the writer if it is not (endpoint lock held). */
static void wake_writer(akt__endpoint *ep) {
  if (ep->writer_scheduled || ep->state != AKT__EP_OPEN || ep->head == ep->queue.len) return;
  ep->writer_scheduled = 1;
  akt_system *sys = ep->r->sys;
  akt__inflight_add(sys);
  sys->backend->ops->schedule(sys->backend, &ep->writer);
}

int akt__endpoint_send(akt__endpoint *ep, const uint8_t *envelope, size_t len) {
  akt__remote *r = ep->r;
  pthread_mutex_lock(&ep->mu);
  int rc = 0;
  if (ep->stopped) {
    rc = AKT_ESTOPPED;
  } else if (ep->queue.len - ep->head + len + 16 > r->opts.send_queue) {
    rc = AKT_EFULL;
    AKT__RSTAT(r, send_queue_full, 1);
  } else {
    uint8_t tag = (1 << 3) | 2; /* Batch.envelopes, length-delimited */
    rc = akt__buf_put(&ep->queue, &tag, 1);
    if (!rc) rc = akt__buf_varint(&ep->queue, len);
    if (!rc) rc = akt__buf_put(&ep->queue, envelope, len);
    if (!rc) {
      ep->queued++;
      AKT__RSTAT(r, envelopes_out, 1);
      if (ep->state == AKT__EP_IDLE) connect_now(ep);
      wake_writer(ep);
    }
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

/* Bytes of queued envelopes taken per write. Writing in chunks lets the
 * stream's own limit (64 MiB by default, like the queue's) refuse a chunk
 * without ever refusing everything: what it takes leaves the queue. */
#define WRITE_CHUNK ((size_t)4 << 20)

/* Writes what is queued, chunk by chunk, until the queue is empty or the
 * stream refuses (AKT_EFULL: retried shortly). Endpoint lock held. */
static void flush_locked(akt__endpoint *ep) {
  akt__remote *r = ep->r;
  akt__buf frames = {0};
  while (ep->state == AKT__EP_OPEN && ep->conn && ep->head < ep->queue.len) {
    /* Cut frames of at most max_batch envelopes and about max_frame/2
     * bytes from the queue's head, up to WRITE_CHUNK bytes (at least one
     * envelope). */
    size_t off = ep->head, start = off, nframes = 0;
    uint32_t n = 0, taken = 0;
    frames.len = 0;
    while (off < ep->queue.len && (taken == 0 || off - ep->head < WRITE_CHUNK)) {
      size_t sz = entry_size(ep->queue.data + off, ep->queue.len - off);
      if (sz == 0) break;
      if (n > 0 && (n >= r->opts.max_batch || off + sz - start > r->opts.max_frame / 2)) {
        akt__frame_batch(ep->queue.data + start, off - start, &frames);
        nframes++;
        start = off;
        n = 0;
      }
      off += sz;
      n++;
      taken++;
    }
    if (off > start) {
      akt__frame_batch(ep->queue.data + start, off - start, &frames);
      nframes++;
    }
    int rc = akt__conn_write(ep->conn, frames.data, frames.len);
    if (rc != 0) {
      /* AKT_EFULL: the peer reads slowly; anything else: the connection
       * is going down and the queue waits for the next one. */
      if (rc == AKT_EFULL) retry_flush(ep);
      break;
    }
    AKT__RSTAT(r, frames_out, nframes);
    ep->head = off;
    ep->queued -= taken;
  }
  if (ep->head == ep->queue.len) {
    ep->head = ep->queue.len = 0;
  } else if (ep->head > ep->queue.len / 2) { /* keep the unsent tail at the front */
    memmove(ep->queue.data, ep->queue.data + ep->head, ep->queue.len - ep->head);
    ep->queue.len -= ep->head;
    ep->head = 0;
  }
  akt__buf_free(&frames);
}

static void writer_run(akt_runnable *run) {
  akt__endpoint *ep = EP_OF(run);
  akt_system *sys = ep->r->sys;
  pthread_mutex_lock(&ep->mu);
  ep->writer_scheduled = 0;
  flush_locked(ep);
  pthread_mutex_unlock(&ep->mu);
  akt__inflight_done(sys);
}

void akt__endpoint_flush(akt__endpoint *ep) {
  pthread_mutex_lock(&ep->mu);
  flush_locked(ep);
  pthread_mutex_unlock(&ep->mu);
}

void akt__endpoint_write_control(akt__endpoint *ep, akt__conn *c, const Akt__Wire__Frame *f) {
  akt__buf out = {0};
  if (akt__frame_encode(f, ep->r->opts.max_frame, &out) == 0) {
    pthread_mutex_lock(&ep->mu);
    if (ep->conn == c) {
      AKT__RSTAT(ep->r, frames_out, 1);
      akt__conn_write(c, out.data, out.len);
    }
    pthread_mutex_unlock(&ep->mu);
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
    if (ep->queue.len > ep->head || ep->nwatches) connect_now(ep);
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
  pthread_mutex_lock(&ep->mu);
  if (ep->conn == c) {
    ep->conn = NULL;
    ep->attempts++;
    terminate_watches(ep, reason);
    ep->state = AKT__EP_IDLE;
    if (ep->queue.len > ep->head) schedule_retry(ep);
  }
  pthread_mutex_unlock(&ep->mu);
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
  pthread_mutex_destroy(&ep->mu);
  free(ep);
}
