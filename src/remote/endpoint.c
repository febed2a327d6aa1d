/* akt — the endpoint of one peer: send queue, writer, reconnects, watches.
 *
 * Senders pack envelopes into the queue (bounded in bytes: a full queue
 * refuses the send with AKT_EFULL) and schedule the writer, a runnable
 * that takes whatever is queued by then and writes it as Batch frames to
 * the stream, which sends what accumulates in one system call — so a burst
 * of sends becomes one write. The queue survives connection loss: the
 * endpoint reconnects with exponential backoff and jitter (from the
 * backend's random stream) while anything waits to be sent. When the
 * connection is lost, or the peer comes back as a new incarnation, every
 * watch of an actor there ends with akt.Terminated.
 *
 * A sender that finds the endpoint idle does not connect itself: it marks
 * the endpoint CONNECTING and arms a timer of no delay (the dial), whose
 * callback opens the connection on the I/O context. A connection then
 * lives on the I/O context alone (conn.c), and no other thread ever holds
 * one that the I/O context might be closing meanwhile.
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

#define WATCHES_FIRST_CAP 4 /* watches in a new list */

static void writer_run(akt_runnable *run);
static void connect_request(akt__endpoint *ep);

/* ---- state ------------------------------------------------------------------- */

/* The changes of state the design allows (endpoint.h), as bit sets. */
static const unsigned ep_next[] = {
    [AKT__EP_IDLE] = 1u << AKT__EP_CONNECTING | 1u << AKT__EP_BACKOFF,
    [AKT__EP_CONNECTING] = 1u << AKT__EP_OPEN | 1u << AKT__EP_IDLE,
    [AKT__EP_OPEN] = 1u << AKT__EP_IDLE,
    [AKT__EP_BACKOFF] = 1u << AKT__EP_IDLE,
};

static void set_state(akt__endpoint *ep, int to) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  AKT_ASSERT_TRANSITION("endpoint state", ep->state, to, (ep_next[ep->state] >> to) & 1u);
  ep->state = to;
}

/* Whether remoting or this endpoint stopped (endpoint lock held). */
static int stopped(const akt__endpoint *ep) {
  return ep->stopped || akt__remote_state(ep->r) == AKT__REMOTE_STOPPING;
}

/* Tells threads in akt__endpoint_await_open to look again (endpoint lock
 * held: the backend's wake ranks below it). */
static void wake_waiters(akt__endpoint *ep) {
  if (ep->waiters == 0) return;
  akt_backend *b = ep->r->sys->backend;
  b->ops->wake(b);
}

/* ---- timers ------------------------------------------------------------------ */

static void timer_fire(void *arg, uint64_t which);

/* Arms timer `which` (AKT__EP_DIAL ...) to fire after `delay` (endpoint
 * lock held). Returns 0 or the backend's error (nothing armed). */
static int timer_arm(akt__endpoint *ep, unsigned which, akt_duration delay) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  AKT_ASSERT(which < AKT__EP_TIMERS);
  akt__ep_timer *t = &ep->timers[which];
  AKT_ASSERT(!t->armed);
  akt_system *sys = ep->r->sys;
  akt__inflight_add(sys);
  int rc = sys->backend->ops->timer_start(sys->backend, delay, timer_fire, ep, which, &t->id);
  if (rc) {
    akt__inflight_done(sys);
    return rc;
  }
  t->armed = 1;
  return 0;
}

/* Cancels t if armed (endpoint lock held). A timer already firing waits
 * for the lock, then finds the endpoint stopped. */
static void timer_cancel(akt__endpoint *ep, akt__ep_timer *t) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  if (!t->armed) return;
  akt_system *sys = ep->r->sys;
  if (sys->backend->ops->timer_cancel(sys->backend, t->id) == 0) akt__inflight_done(sys);
  t->armed = 0;
}

/* ---- setup and idleness ------------------------------------------------------- */

/* Records use (endpoint lock held): the sweep empties endpoints unused for
 * limits.peer_idle. */
static void touch(akt__endpoint *ep) {
  akt_backend *b = ep->r->sys->backend;
  ep->last_used = b->ops->now(b);
}

akt__endpoint *akt__endpoint_setup(akt__remote *r, akt__endpoint *ep, const char *node,
                                   const char *sysname, const char *host, uint16_t port) {
  AKT__ASSERT_NOT_HELD(AKT__RANK_EP_WRITE);
  if (!ep) {
    if (!(ep = calloc(1, sizeof *ep))) return NULL;
    ep->r = r;
    akt__rmutex_init(&ep->wmu, AKT__RANK_EP_WRITE);
    akt__rmutex_init(&ep->mu, AKT__RANK_EP_STATE);
    ep->writer.run = writer_run;
    atomic_init(&ep->pins, 0);
  }
  /* A reused struct was emptied idle (peers.c): a holder of a stale
   * pointer may be waiting for its lock, and finds the new node. */
  akt__rmutex_lock(&ep->wmu);
  akt__rmutex_lock(&ep->mu);
  AKT_ASSERT(!ep->listed && !ep->conn && !ep->inbound && ep->nwatches == 0 && !ep->waiters);
  AKT_ASSERT(ep->queue.len == 0 && ep->out.len == 0 && !ep->writer_scheduled && !ep->reserved);
  snprintf(ep->node, sizeof ep->node, "%s", node);
  snprintf(ep->sysname, sizeof ep->sysname, "%s", sysname);
  snprintf(ep->host, sizeof ep->host, "%s", host);
  ep->port = port;
  ep->state = AKT__EP_IDLE;
  ep->attempts = 0;
  ep->incarnation = ep->in_incarnation = ep->in_seq = 0;
  ep->dials = ep->failed_dial = 0;
  ep->last_error = 0;
  ep->unreachable_since = 0;
  ep->given_up = 0;
  touch(ep);
  akt__rmutex_unlock(&ep->mu);
  akt__rmutex_unlock(&ep->wmu);
  return ep;
}

int akt__endpoint_idle(const akt__endpoint *ep) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  for (unsigned i = 0; i < AKT__EP_TIMERS; i++)
    if (ep->timers[i].armed) return 0;
  return ep->state == AKT__EP_IDLE && !ep->conn && !ep->inbound && ep->queue.len == 0 &&
         ep->out.len == 0 && ep->reserved == 0 && ep->nwatches == 0 && ep->waiters == 0 &&
         !ep->writer_scheduled;
}

/* ---- watches ----------------------------------------------------------------- */

/* Removes watch i (endpoint lock held): its references are released. */
static void watch_remove(akt__endpoint *ep, uint32_t i) {
  akt__rwatch *w = &ep->watches[i];
  akt_pid_release(w->watcher);
  akt_pid_release(w->target);
  ep->watches[i] = ep->watches[--ep->nwatches];
}

/* The watches of the peer's actors, which a lost connection or a restarted
 * peer ends: moved out of the endpoint (endpoint lock held), for
 * terminate_watches to notify once the locks are released. */
typedef struct ended_watches {
  akt__rwatch *list;
  uint32_t n;
  int give_up; /* the peer was not reached for unreachable_give_up: see give_up */
} ended_watches;

static ended_watches take_watches(akt__endpoint *ep) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  ended_watches w = {.list = ep->watches, .n = ep->nwatches};
  ep->watches = NULL;
  ep->nwatches = ep->cap_watches = 0;
  return w;
}

/* Tells every watcher in `w` that its target is gone and frees the list.
 * No remoting lock held: the sends go to actors. */
static void terminate_watches(akt__endpoint *ep, ended_watches w, const char *why) {
  AKT__ASSERT_NOT_HELD(AKT__RANK_EP_WRITE);
  for (uint32_t i = 0; i < w.n; i++) {
    akt__rwatch *x = &w.list[i];
    char address[AKT_ADDRESS_MAX];
    akt__remote_pid_format(x->target, address, sizeof address);
    Akt__Terminated t = AKT__TERMINATED__INIT;
    t.path = (char *)(uintptr_t)akt_pid_path(x->target);
    t.id = akt_pid_id(x->target);
    t.address = address;
    akt__log(ep->r->sys, AKT_LOG_INFO, "remoting: %s is gone (%s): Terminated to %s", address,
             why, akt_pid_path(x->watcher));
    akt__send(x->watcher, &t.base, x->target, 0, 0);
    akt_pid_release(x->watcher);
    akt_pid_release(x->target);
  }
  free(w.list);
}

int akt__endpoint_watch(akt__endpoint *ep, akt_pid *watcher, akt_pid *target, int watch) {
  int rc = 0;
  akt__rmutex_lock(&ep->mu);
  if (watch) {
    if (ep->nwatches == ep->cap_watches) {
      akt__rwatch *grown = akt__array_grow(ep->watches, &ep->cap_watches, sizeof *grown,
                                           WATCHES_FIRST_CAP, UINT32_MAX);
      if (grown)
        ep->watches = grown;
      else
        rc = AKT_ENOMEM;
    }
    if (!rc) {
      ep->watches[ep->nwatches++] =
          (akt__rwatch){.watcher = akt_pid_retain(watcher), .target = akt_pid_retain(target)};
      touch(ep);
      if (ep->state == AKT__EP_IDLE) connect_request(ep);
    }
  } else {
    for (uint32_t i = 0; i < ep->nwatches; i++) {
      akt__rwatch *w = &ep->watches[i];
      if (akt_pid_equal(w->watcher, watcher) && akt_pid_equal(w->target, target)) {
        watch_remove(ep, i);
        break;
      }
    }
  }
  akt__rmutex_unlock(&ep->mu);
  return rc;
}

int akt__endpoint_end_watch(akt__endpoint *ep, const uint8_t *watcher_path, size_t len,
                            uint64_t watcher_id, akt_pid *target) {
  int found = 0;
  akt__rmutex_lock(&ep->mu);
  for (uint32_t i = 0; i < ep->nwatches && !found; i++) {
    akt__rwatch *w = &ep->watches[i];
    const char *path = akt_pid_path(w->watcher);
    if (strlen(path) == len && memcmp(path, watcher_path, len) == 0 &&
        (!watcher_id || akt_pid_id(w->watcher) == watcher_id) && akt_pid_equal(w->target, target)) {
      watch_remove(ep, i);
      found = 1;
    }
  }
  if (found) touch(ep);
  akt__rmutex_unlock(&ep->mu);
  return found;
}

/* ---- sending ------------------------------------------------------------------- */

/* Bytes waiting to be written: queued, and taken by the writer but not
 * written yet (endpoint lock held). */
static size_t pending(const akt__endpoint *ep) {
  AKT_ASSERT(ep->out_head <= ep->out.len);
  AKT_ASSERT(ep->queue.len == 0 || ep->queue.len >= AKT__EP_GAP);
  return (ep->queue.len ? ep->queue.len - AKT__EP_GAP : 0) + (ep->out.len - ep->out_head);
}

/* Schedules the writer if it is not (endpoint lock held). */
static void wake_writer(akt__endpoint *ep) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  if (ep->writer_scheduled || ep->state != AKT__EP_OPEN || pending(ep) == 0) return;
  ep->writer_scheduled = 1;
  akt_system *sys = ep->r->sys;
  akt__inflight_add(sys);
  sys->backend->ops->schedule(sys->backend, &ep->writer);
}

/* All peers' queues together hold at most limits.max_queued_total bytes.
 * Each endpoint reserves its share of r->queued in chunks of
 * QUEUE_CHUNK, so that senders touch that one counter (shared by every
 * thread) once per chunk instead of once per message: the bytes queued are
 * at most the bytes reserved (ep->reserved >= pending(ep)), and those at
 * most max_queued_total. */
#define QUEUE_CHUNK ((size_t)64 << 10)

/* Reserves room for `need` bytes queued in all (endpoint lock held).
 * Returns 0 or AKT_EFULL (counted). */
static int reserve(akt__endpoint *ep, size_t need) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  if (need <= ep->reserved) return 0;
  akt__remote *r = ep->r;
  size_t max = r->sec.limits.max_queued_total, more = need - ep->reserved;
  /* A chunk when there is room for one, else just what is needed. */
  size_t chunked = (more + QUEUE_CHUNK - 1) / QUEUE_CHUNK * QUEUE_CHUNK;
  const size_t tries[2] = {chunked, more};
  for (int i = 0; i < 2; i++) {
    size_t was = atomic_fetch_add_explicit(&r->queued, tries[i], memory_order_relaxed);
    if (was + tries[i] <= max) {
      ep->reserved += tries[i];
      return 0;
    }
    atomic_fetch_sub_explicit(&r->queued, tries[i], memory_order_relaxed);
  }
  AKT__SSTAT(r, queued_total_full, 1);
  return AKT_EFULL;
}

/* Gives back what the endpoint reserved beyond a chunk above what it has
 * queued (endpoint lock held): all of it once nothing is queued. */
static void unreserve(akt__endpoint *ep) {
  AKT__ASSERT_HELD(AKT__RANK_EP_STATE);
  size_t keep = pending(ep);
  if (keep) keep += QUEUE_CHUNK;
  if (ep->reserved <= keep) return;
  size_t give = ep->reserved - keep;
  size_t was = atomic_fetch_sub_explicit(&ep->r->queued, give, memory_order_relaxed);
  AKT_ASSERT(was >= give);
  ep->reserved = keep;
}

int akt__endpoint_send(akt__endpoint *ep, const char *node, const akt__env_out *e,
                       const ProtobufCMessage *payload, size_t payload_len) {
  akt__remote *r = ep->r;
  size_t elen = akt__env_out_size(e, payload_len);
  if (elen + AKT__ENVELOPE_FRAME_OVERHEAD > r->opts.max_frame) return AKT_ELIMIT;
  size_t len = 1 + akt__varint_size(elen) + elen; /* the Batch.envelopes entry */
  int rc = 0;
  akt__rmutex_lock(&ep->mu);
  if (strcmp(ep->node, node) != 0) {
    rc = 1; /* emptied and reused since the caller found it (peers.c) */
  } else if (ep->stopped) {
    rc = AKT_ESTOPPED;
  } else if (ep->given_up) {
    rc = AKT_EUNREACH;
    AKT__SSTAT(r, unreachable_dropped, 1);
    /* Refused, but the peer may be back: find out. */
    if (ep->state == AKT__EP_IDLE) connect_request(ep);
  } else if (pending(ep) + len > r->opts.send_queue) {
    rc = AKT_EFULL;
    AKT__RSTAT(r, send_queue_full, 1);
  } else if ((rc = reserve(ep, pending(ep) + len)) != 0) {
    /* All peers' queues together are full. */
  } else if ((rc = akt__buf_reserve(&ep->queue, len + AKT__EP_GAP)) != 0) {
    unreserve(ep);
  } else {
    if (ep->queue.len == 0) ep->queue.len = AKT__EP_GAP; /* see write_frames */
    /* Packed straight into the queue: the envelope is written once, by
     * hand, where packing it with protobuf-c took a size pass over it and
     * its payload, a packing into a buffer of its own and a copy. */
    uint8_t *p = ep->queue.data + ep->queue.len;
    *p++ = (1 << 3) | 2; /* Batch.envelopes, length-delimited */
    uint8_t *end = akt__env_out_write(akt__put_varint(p, elen), e, payload, payload_len);
    AKT_ASSERT((size_t)(end - (ep->queue.data + ep->queue.len)) == len);
    ep->queue.len += len;
    AKT__RSTAT(r, envelopes_out, 1);
    if (ep->state == AKT__EP_IDLE) connect_request(ep);
    wake_writer(ep);
  }
  akt__rmutex_unlock(&ep->mu);
  return rc;
}

/* Reads one Batch entry's length at p (entry = tag, varint, bytes); returns
 * the entry's total size, or 0 if malformed (cannot happen: we wrote it). */
static size_t entry_size(const uint8_t *p, size_t avail) {
  uint64_t len;
  size_t n = avail > 1 ? akt__read_varint(p + 1, p + avail, AKT__VARINT_MAX, &len) : 0;
  if (n == 0 || len > avail - 1 - n) return 0;
  return 1 + n + (size_t)len;
}

#define FLUSH_RETRY AKT_MILLIS(2) /* how soon a writer the stream refused tries again */

/* The stream's write queue is full: the frames stay queued here and the
 * writer tries again shortly (endpoint lock held). */
static void retry_flush(akt__endpoint *ep) {
  if (ep->timers[AKT__EP_FLUSH].armed || stopped(ep)) return;
  (void)timer_arm(ep, AKT__EP_FLUSH, FLUSH_RETRY); /* else: the next send wakes it */
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
/* The bytes of envelopes the writer puts in one frame (one envelope may be
 * larger, up to what akt__endpoint_send lets into the queue): half the
 * frame limit, so that a frame of many envelopes stays well inside it and
 * a peer's reader gets work in pieces it can start on. */
#define WRITER_FRAME_MAX(r) ((r)->opts.max_frame / 2)

static int write_frames(akt__endpoint *ep, akt__conn *c, size_t *head) {
  AKT__ASSERT_HELD(AKT__RANK_EP_WRITE);
  akt__remote *r = ep->r;
  akt__buf *out = &ep->out;
  while (*head < out->len) {
    /* Cut a frame of at most max_batch envelopes and at most
     * WRITER_FRAME_MAX bytes of them, or of the one envelope. */
    size_t start = *head, off = start;
    uint32_t n = 0;
    while (off < out->len) {
      size_t sz = entry_size(out->data + off, out->len - off);
      AKT_ASSERT(sz != 0); /* we wrote the entries */
      if (n > 0 && (n >= r->opts.max_batch || off + sz - start > WRITER_FRAME_MAX(r))) break;
      off += sz;
      n++;
    }
    uint8_t hdr[AKT__BATCH_HDR_MAX];
    size_t hlen = akt__frame_batch_header(off - start, hdr);
    AKT_ASSERT(start >= hlen); /* start >= AKT__EP_GAP >= AKT__BATCH_HDR_MAX */
    /* The stream holds enough: the rest stays here, counted (AKT_EFULL:
     * retried shortly, as when the stream itself refuses). */
    if (akt__conn_backed_up(c)) return AKT_EFULL;
    uint8_t *frame = out->data + start - hlen;
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
  AKT__ASSERT_HELD(AKT__RANK_EP_WRITE);
  int rc = 0;
  akt__rmutex_lock(&ep->mu);
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
    akt__rmutex_unlock(&ep->mu);
    rc = write_frames(ep, c, &head);
    akt__rmutex_lock(&ep->mu);
    ep->out_head = head;
    if (ep->out_head == ep->out.len) ep->out.len = ep->out_head = 0;
    unreserve(ep); /* what was written is no longer queued */
    /* Used until now (not touched per send: a clock read each). */
    if (pending(ep) == 0) touch(ep);
    if (rc != 0) {
      if (rc == AKT_EFULL) retry_flush(ep);
      break;
    }
  }
  akt__rmutex_unlock(&ep->mu);
  return rc;
}

static void writer_run(akt_runnable *run) {
  akt__endpoint *ep = EP_OF(run);
  akt_system *sys = ep->r->sys;
  akt__rmutex_lock(&ep->wmu);
  int rc = flush(ep, WRITER_ROUNDS);
  /* Still scheduled until here, so senders did not schedule it again
   * meanwhile (each schedule may wake a sleeping worker): what they queued
   * since the last round is picked up by scheduling it once more. After an
   * error the retry timer or the next connection does that. */
  akt__rmutex_lock(&ep->mu);
  AKT_ASSERT(ep->writer_scheduled);
  ep->writer_scheduled = 0;
  if (rc == 0) wake_writer(ep);
  akt__rmutex_unlock(&ep->mu);
  akt__rmutex_unlock(&ep->wmu);
  akt__inflight_done(sys);
}

void akt__endpoint_flush(akt__endpoint *ep) {
  akt__rmutex_lock(&ep->wmu);
  flush(ep, UINT32_MAX);
  akt__rmutex_unlock(&ep->wmu);
}

void akt__endpoint_write_control(akt__endpoint *ep, akt__conn *c, const Akt__Wire__Frame *f) {
  akt__buf out = {0};
  if (akt__frame_encode(f, ep->r->opts.max_frame, &out) == 0) {
    akt__rmutex_lock(&ep->wmu);
    akt__rmutex_lock(&ep->mu);
    /* Checked here, under the write lock, in turn with the writer's
     * own check and writes. */
    if (ep->conn == c && akt__conn_control_fits(c, f->kind_case)) {
      AKT__RSTAT(ep->r, frames_out, 1);
      akt__conn_write(c, out.data, out.len);
    }
    akt__rmutex_unlock(&ep->mu);
    akt__rmutex_unlock(&ep->wmu);
  }
  akt__buf_free(&out);
}

/* ---- connecting and reconnecting ------------------------------------------- */

/* Each reconnect delay is drawn within this many percent of its nominal
 * value either way, so that peers that lost each other at once do not
 * retry in lockstep. */
#define BACKOFF_JITTER_PCT 20

/* The delay before reconnect attempt `attempts` (>= 1): backoff_min doubling
 * up to backoff_max, with jitter drawn from the backend. */
static akt_duration backoff_delay(akt__remote *r, uint32_t attempts) {
  akt_duration d = r->opts.backoff_min, max = r->opts.backoff_max;
  for (uint32_t i = 1; i < attempts && d <= max / 2; i++) d *= 2;
  if (d > max) d = max;
  uint64_t span = d / 100 * BACKOFF_JITTER_PCT;
  akt_backend *b = r->sys->backend;
  if (span) d = d - span + b->ops->random_u64(b) % (2 * span + 1);
  return d;
}


/* Asks the I/O context to open a connection (endpoint lock held, idle). */
static void connect_request(akt__endpoint *ep) {
  AKT_ASSERT(ep->state == AKT__EP_IDLE && !ep->conn);
  if (stopped(ep)) return;
  if (!ep->unreachable_since) {
    akt_backend *b = ep->r->sys->backend;
    ep->unreachable_since = b->ops->now(b); /* until it is reached */
  }
  set_state(ep, AKT__EP_CONNECTING);
  int rc = timer_arm(ep, AKT__EP_DIAL, 0);
  if (rc) {
    akt__log(ep->r->sys, AKT_LOG_WARN, "remoting: cannot connect to %s: %s", ep->node,
             akt_strerror(rc));
    set_state(ep, AKT__EP_IDLE); /* the next send asks again */
  }
}

/* Arms the reconnect timer (endpoint lock held, idle). */
static void schedule_retry(akt__endpoint *ep) {
  AKT_ASSERT(ep->state == AKT__EP_IDLE);
  if (stopped(ep) || ep->timers[AKT__EP_RETRY].armed) return;
  set_state(ep, AKT__EP_BACKOFF);
  if (timer_arm(ep, AKT__EP_RETRY, backoff_delay(ep->r, ep->attempts)) != 0)
    set_state(ep, AKT__EP_IDLE); /* the next send asks again */
}

/* The connection, or opening it, ended with `code` (endpoint lock held):
 * idle again, reconnecting after a backoff while something waits to be
 * sent or a thread waits for the connection. Returns the watches this ends, for the caller to terminate once
 * it released the locks. */
static ended_watches lost(akt__endpoint *ep, int code) {
  ended_watches gone = take_watches(ep);
  akt_backend *b = ep->r->sys->backend;
  uint64_t now = b->ops->now(b);
  ep->attempts++;
  ep->failed_dial = ep->dials;
  ep->last_error = code ? code : AKT_ECLOSED;
  set_state(ep, AKT__EP_IDLE);
  touch(ep);
  if (pending(ep) || ep->waiters) {
    if (!ep->unreachable_since) ep->unreachable_since = now;
    gone.give_up = pending(ep) && !ep->given_up &&
                   now - ep->unreachable_since >= ep->r->sec.limits.unreachable_give_up;
    schedule_retry(ep);
  } else {
    ep->unreachable_since = 0; /* nothing wants the peer: no clock runs */
  }
  wake_waiters(ep);
  return gone;
}

/* Walks the Batch entries of q from `from`, each a dead letter for
 * `reason` (no lock held: they are published to actors). */
static void dead_letters(akt__endpoint *ep, const akt__buf *q, size_t from, const char *reason) {
  akt__buf scratch = {0};
  const uint8_t *p = q->data + from, *end = q->data + q->len;
  akt__env_view v;
  while (p < end && akt__scan_envelope(&p, end, &v) == 1) {
    AKT__SSTAT(ep->r, unreachable_dropped, 1);
    akt__remote_dead_view(ep->r, &scratch, &v, reason);
  }
  akt__buf_free(&scratch);
}

/* The peer was not reached for limits.unreachable_give_up while messages
 * waited: they become dead letters, and sends fail at once until it is
 * reached (akt__endpoint_send). No lock held. */
static void give_up(akt__endpoint *ep) {
  akt__remote *r = ep->r;
  akt__buf queue = {0}, out = {0};
  size_t out_head = 0, dropped = 0;
  akt__rmutex_lock(&ep->wmu);
  akt__rmutex_lock(&ep->mu);
  if (ep->state != AKT__EP_OPEN && !ep->given_up && pending(ep)) {
    dropped = pending(ep);
    queue = ep->queue;
    out = ep->out;
    out_head = ep->out_head;
    memset(&ep->queue, 0, sizeof ep->queue);
    memset(&ep->out, 0, sizeof ep->out);
    ep->out_head = 0;
    ep->given_up = 1;
    ep->unreachable_since = 0;
    unreserve(ep);
  }
  akt__rmutex_unlock(&ep->mu);
  akt__rmutex_unlock(&ep->wmu);
  if (!dropped) return;
  char reason[AKT__NODE_MAX + 64];
  snprintf(reason, sizeof reason, "unreachable: %s not reached for %llu ms", ep->node,
           (unsigned long long)(r->sec.limits.unreachable_give_up / AKT_MILLIS(1)));
  akt__rlog(r, AKT__LOG_PEERS, AKT_LOG_WARN, "remoting: %s: %zu bytes of messages dropped", reason,
            dropped);
  if (out.len > out_head) dead_letters(ep, &out, out_head, reason);
  if (queue.len > AKT__EP_GAP) dead_letters(ep, &queue, AKT__EP_GAP, reason);
  akt__buf_free(&queue);
  akt__buf_free(&out);
}

/* Opens the connection (I/O context, endpoint lock held, connecting).
 * Returns the watches a failure ends (see lost). */
static ended_watches dial(akt__endpoint *ep) {
  AKT_ASSERT(ep->state == AKT__EP_CONNECTING && !ep->conn);
  ep->dials++;
  int rc = stopped(ep) ? AKT_ESTOPPED : akt__conn_connect(ep);
  if (rc == 0) return (ended_watches){0};
  if (rc != AKT_ESTOPPED)
    akt__log(ep->r->sys, AKT_LOG_WARN, "remoting: cannot connect to %s: %s", ep->node,
             akt_strerror(rc));
  return lost(ep, rc);
}

/* The backoff ended (endpoint lock held): connect again if anything
 * still wants the peer. Returns the watches a failure ends. */
static ended_watches retry(akt__endpoint *ep) {
  if (ep->state != AKT__EP_BACKOFF) return (ended_watches){0};
  set_state(ep, AKT__EP_IDLE);
  if (!pending(ep) && !ep->nwatches && !ep->waiters) return (ended_watches){0};
  set_state(ep, AKT__EP_CONNECTING);
  return dial(ep); /* already on the I/O context */
}

/* The one callback of the endpoint's timers (I/O context). */
static void timer_fire(void *arg, uint64_t which) {
  akt__endpoint *ep = arg;
  akt_system *sys = ep->r->sys;
  ended_watches gone = {0};
  akt__rmutex_lock(&ep->mu);
  AKT_ASSERT(which < AKT__EP_TIMERS);
  ep->timers[which].armed = 0;
  if (which == AKT__EP_DIAL)
    gone = dial(ep);
  else if (which == AKT__EP_RETRY)
    gone = retry(ep);
  else
    wake_writer(ep);
  akt__rmutex_unlock(&ep->mu);
  terminate_watches(ep, gone, "cannot connect");
  if (gone.give_up) give_up(ep);
  akt__inflight_done(sys);
}

void akt__endpoint_on_open(akt__endpoint *ep, akt__conn *c, uint64_t incarnation) {
  ended_watches gone = {0};
  akt__rmutex_lock(&ep->mu);
  if (ep->conn == c) {
    if (ep->incarnation && incarnation != ep->incarnation) gone = take_watches(ep);
    ep->incarnation = incarnation;
    set_state(ep, AKT__EP_OPEN);
    ep->attempts = 0;
    ep->unreachable_since = 0;
    ep->given_up = 0;
    touch(ep);
    wake_writer(ep);
    wake_waiters(ep);
  }
  akt__rmutex_unlock(&ep->mu);
  terminate_watches(ep, gone, "node restarted");
}

void akt__endpoint_on_down(akt__endpoint *ep, akt__conn *c, int code, const char *reason) {
  ended_watches gone = {0};
  /* The write lock first: a writer may be writing to c (see flush). */
  akt__rmutex_lock(&ep->wmu);
  akt__rmutex_lock(&ep->mu);
  if (ep->conn == c) {
    ep->conn = NULL;
    gone = lost(ep, code);
  }
  akt__rmutex_unlock(&ep->mu);
  akt__rmutex_unlock(&ep->wmu);
  terminate_watches(ep, gone, reason);
  if (gone.give_up) give_up(ep);
}

int akt__endpoint_on_accept(akt__endpoint *ep, akt__conn *c, uint64_t incarnation, uint64_t seq,
                            akt__conn **old) {
  int stale = 0;
  *old = NULL;
  akt__rmutex_lock(&ep->mu);
  if (seq && incarnation == ep->in_incarnation && seq <= ep->in_seq) {
    stale = 1;
  } else {
    if (ep->inbound != c) *old = ep->inbound;
    ep->inbound = c;
    ep->in_incarnation = incarnation;
    ep->in_seq = seq;
    touch(ep);
  }
  akt__rmutex_unlock(&ep->mu);
  return stale;
}

void akt__endpoint_on_inbound_down(akt__endpoint *ep, akt__conn *c, const char *reason) {
  akt__rmutex_lock(&ep->mu);
  if (ep->inbound == c) ep->inbound = NULL;
  ended_watches gone = take_watches(ep);
  touch(ep);
  akt__rmutex_unlock(&ep->mu);
  terminate_watches(ep, gone, reason);
}

/* ---- waiting for a connection ------------------------------------------------ */

/* A wait counts only the attempts (dials) made after it began: one made
 * before may fail for a reason gone since (the peer was still starting).
 * When that one fails, the waiter's presence makes the endpoint try again
 * (lost). */
typedef struct await_open {
  akt__endpoint *ep;
  uint64_t first; /* the first dial that counts */
} await_open;

/* Whether the wait is over (endpoint lock held). */
static int await_over(const await_open *a) {
  return a->ep->state == AKT__EP_OPEN || a->ep->failed_dial >= a->first || stopped(a->ep);
}

static int opened_or_failed(void *arg) {
  await_open *a = arg;
  akt__rmutex_lock(&a->ep->mu);
  int over = await_over(a);
  akt__rmutex_unlock(&a->ep->mu);
  return over;
}

int akt__endpoint_await_open(akt__endpoint *ep, uint64_t deadline) {
  akt_backend *b = ep->r->sys->backend;
  akt__rmutex_lock(&ep->mu);
  await_open a = {.ep = ep, .first = ep->dials + 1};
  ep->waiters++;
  if (ep->state == AKT__EP_IDLE) connect_request(ep);
  akt__rmutex_unlock(&ep->mu);
  int rc = b->ops->wait(b, opened_or_failed, &a, deadline);
  akt__rmutex_lock(&ep->mu);
  AKT_ASSERT(ep->waiters > 0);
  ep->waiters--;
  touch(ep);
  if (rc == 0) {
    /* Over: open now, or a counted dial failed (failed_dial only grows),
     * or remoting stopped. */
    AKT_ASSERT(await_over(&a));
    if (ep->state == AKT__EP_OPEN)
      rc = 0;
    else if (ep->failed_dial >= a.first)
      rc = ep->last_error;
    else
      rc = AKT_ESTOPPED;
  }
  akt__rmutex_unlock(&ep->mu);
  return rc;
}

/* ---- stop and free ------------------------------------------------------------ */

void akt__endpoint_stop(akt__endpoint *ep) {
  akt__rmutex_lock(&ep->mu);
  ep->stopped = 1;
  for (unsigned i = 0; i < AKT__EP_TIMERS; i++) timer_cancel(ep, &ep->timers[i]);
  wake_waiters(ep);
  akt__rmutex_unlock(&ep->mu);
}

void akt__endpoint_free(akt__endpoint *ep) {
  for (uint32_t i = 0; i < ep->nwatches; i++) {
    akt_pid_release(ep->watches[i].watcher);
    akt_pid_release(ep->watches[i].target);
  }
  free(ep->watches);
  akt__buf_free(&ep->queue);
  akt__buf_free(&ep->out);
  akt__rmutex_destroy(&ep->mu);
  akt__rmutex_destroy(&ep->wmu);
  free(ep);
}
