/* akt production backend — one-shot timers.
 *
 * Life of a timer: timer_start (any thread) inserts the entry in the table
 * and posts its `kick` request; the loop arms a uv_timer_t. When it fires the
 * loop removes the entry from the table and, only if that succeeded, calls
 * the user. timer_cancel removes the entry and posts the kick again so the
 * loop disarms and frees it now rather than at the original deadline.
 * Entries are freed on the loop thread only: from the kick when never armed,
 * otherwise from the uv_timer_t's close callback.
 */
#include "transport/timers.h"

#include <stdlib.h>

#include "akt/error.h"
#include "transport/uv_backend.h"

enum { TIMER_PENDING, TIMER_CANCELED, TIMER_FIRED };

struct akt__uv_timer {
  akt__uv_owner owner; /* first: uv.data points here */
  akt__uv_req kick;
  akt__uv_backend *u;
  akt__uv_timer *hnext; /* table chain; under timers.mu */
  uint64_t id;
  uint64_t due; /* monotonic ns */
  akt_timer_fn fn;
  void *arg;
  uint64_t cookie;
  int state;       /* TIMER_*; under timers.mu */
  int kick_posted; /* under timers.mu */
  int armed;       /* uv is initialized; loop thread only */
  uv_timer_t uv;
};

/* ---- the id table (callers hold mu) -------------------------------------- */

static akt__uv_timer **table_slot(akt__uv_timers *t, uint64_t id) {
  return &t->buckets[id & (t->nbuckets - 1)];
}

static void table_grow(akt__uv_timers *t) {
  size_t n = t->nbuckets * 2;
  akt__uv_timer **nb = calloc(n, sizeof *nb);
  if (nb == NULL) return; /* longer chains, still correct */
  for (size_t i = 0; i < t->nbuckets; i++) {
    akt__uv_timer *e = t->buckets[i];
    while (e != NULL) {
      akt__uv_timer *next = e->hnext;
      akt__uv_timer **slot = &nb[e->id & (n - 1)];
      e->hnext = *slot;
      *slot = e;
      e = next;
    }
  }
  free(t->buckets);
  t->buckets = nb;
  t->nbuckets = n;
}

static void table_insert(akt__uv_timers *t, akt__uv_timer *e) {
  if (t->count >= t->nbuckets && t->nbuckets < AKT__UV_TIMER_BUCKETS_MAX) table_grow(t);
  akt__uv_timer **slot = table_slot(t, e->id);
  e->hnext = *slot;
  *slot = e;
  t->count++;
}

static akt__uv_timer *table_remove(akt__uv_timers *t, uint64_t id) {
  for (akt__uv_timer **p = table_slot(t, id); *p != NULL; p = &(*p)->hnext) {
    if ((*p)->id == id) {
      akt__uv_timer *e = *p;
      *p = e->hnext;
      e->hnext = NULL;
      t->count--;
      return e;
    }
  }
  return NULL;
}

int akt__uv_timers_init(akt__uv_timers *t) {
  t->buckets = calloc(AKT__UV_TIMER_BUCKETS_MIN, sizeof *t->buckets);
  if (t->buckets == NULL) return AKT_ENOMEM;
  if (pthread_mutex_init(&t->mu, NULL) != 0) {
    free(t->buckets);
    t->buckets = NULL;
    return AKT_EBACKEND;
  }
  t->nbuckets = AKT__UV_TIMER_BUCKETS_MIN;
  t->count = 0;
  t->last_id = 0;
  return 0;
}

void akt__uv_timers_destroy(akt__uv_timers *t) {
  pthread_mutex_destroy(&t->mu);
  free(t->buckets);
  t->buckets = NULL;
}

/* ---- loop side ----------------------------------------------------------- */

static void timer_close_cb(uv_handle_t *h) {
  akt__uv_timer *e = h->data;
  akt__uv_timers *t = &e->u->timers;
  /* A pending entry closing means shutdown dropped it: take it out of the
   * table so the table never points at freed memory. */
  pthread_mutex_lock(&t->mu);
  if (e->state == TIMER_PENDING) {
    table_remove(t, e->id);
    e->state = TIMER_CANCELED;
  }
  pthread_mutex_unlock(&t->mu);
  free(e);
}

static void timer_fire_cb(uv_timer_t *h) {
  akt__uv_timer *e = h->data;
  akt__uv_timers *t = &e->u->timers;
  pthread_mutex_lock(&t->mu);
  int fire = e->state == TIMER_PENDING;
  if (fire) {
    table_remove(t, e->id);
    e->state = TIMER_FIRED;
  }
  pthread_mutex_unlock(&t->mu);
  /* A canceled entry has a kick on its way that closes it. */
  if (!fire) return;
  e->fn(e->arg, e->cookie);
  akt__uv_close_handle((uv_handle_t *)&e->uv);
}

static void timer_kick(akt__uv_req *req) {
  akt__uv_timer *e = (akt__uv_timer *)((char *)req - offsetof(akt__uv_timer, kick));
  akt__uv_backend *u = e->u;
  akt__uv_timers *t = &u->timers;
  pthread_mutex_lock(&t->mu);
  e->kick_posted = 0;
  if (e->state == TIMER_PENDING && u->loop.closing_all) {
    /* Shutdown drops pending timers without running them. */
    table_remove(t, e->id);
    e->state = TIMER_CANCELED;
  }
  int state = e->state;
  pthread_mutex_unlock(&t->mu);

  if (state == TIMER_CANCELED) {
    if (e->armed)
      akt__uv_close_handle((uv_handle_t *)&e->uv);
    else
      free(e);
    return;
  }
  if (e->armed) return;
  uv_timer_init(&u->loop.uv, &e->uv); /* cannot fail on an initialized loop */
  e->uv.data = e;
  e->armed = 1;
  /* libuv fires a timer once its loop time reaches the timer's timeout;
   * the loop time is CLOCK_MONOTONIC (or its coarse twin, which never runs
   * ahead of it) in whole milliseconds, truncated, and timeout = loop time
   * + ms. So `due` rounded up to a whole millisecond, made relative to the
   * loop time itself, is never early, and timers armed before they are due
   * fire in the order of their deadlines (to the millisecond). A delay
   * counted from a fresh clock read instead fired early by as long as this
   * thread was preempted between that read and libuv's. A timer already
   * due fires on the loop's next turn. */
  uv_update_time(&u->loop.uv);
  uint64_t at_ms = e->due / 1000000u + (e->due % 1000000u != 0);
  uint64_t loop_ms = uv_now(&u->loop.uv);
  uv_timer_start(&e->uv, timer_fire_cb, at_ms > loop_ms ? at_ms - loop_ms : 0, 0);
}

/* ---- ops ------------------------------------------------------------------ */

int akt__uv_timer_start(akt_backend *b, akt_duration delay, akt_timer_fn fn, void *arg,
                        uint64_t cookie, uint64_t *id) {
  akt__uv_backend *u = akt__uv_of(b);
  if (fn == NULL || id == NULL) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  akt__uv_timer *e = calloc(1, sizeof *e);
  if (e == NULL) return AKT_ENOMEM;
  uint64_t now = akt__uv_now_ns();
  e->owner.close_cb = timer_close_cb;
  e->kick.run = timer_kick;
  e->u = u;
  e->due = delay > UINT64_MAX - now ? UINT64_MAX : now + delay;
  e->fn = fn;
  e->arg = arg;
  e->cookie = cookie;
  e->state = TIMER_PENDING;
  e->kick_posted = 1;

  akt__uv_timers *t = &u->timers;
  pthread_mutex_lock(&t->mu);
  e->id = ++t->last_id;
  table_insert(t, e);
  pthread_mutex_unlock(&t->mu);

  /* The id is written before the post: from the post on, the timer may
   * fire on the loop thread, and its callback may read *id or start the
   * next timer into it (remoting's heartbeat re-arms itself so). Written
   * after, it could overwrite the newer id with this spent one, and a
   * cancel would then miss the live timer. The post orders this write
   * before the callback. */
  *id = e->id;
  if (akt__uv_loop_post(&u->loop, &e->kick) != 0) {
    /* The loop is gone: nothing else can reference the entry. */
    pthread_mutex_lock(&t->mu);
    if (e->state == TIMER_PENDING) table_remove(t, e->id);
    pthread_mutex_unlock(&t->mu);
    free(e);
    *id = 0; /* no timer has id 0 */
    return AKT_ESTOPPED;
  }
  return 0;
}

int akt__uv_timer_cancel(akt_backend *b, uint64_t id) {
  akt__uv_backend *u = akt__uv_of(b);
  akt__uv_timers *t = &u->timers;
  pthread_mutex_lock(&t->mu);
  akt__uv_timer *e = id != 0 ? table_remove(t, id) : NULL;
  if (e == NULL) {
    pthread_mutex_unlock(&t->mu);
    return AKT_ENOENT;
  }
  e->state = TIMER_CANCELED;
  int post = !e->kick_posted;
  e->kick_posted = 1;
  pthread_mutex_unlock(&t->mu);
  /* Cannot fail while the entry was in the table: the loop's final drain
   * empties the table before it refuses posts (a cancel racing with
   * akt_uv_backend_free is the caller's bug). */
  if (post) (void)akt__uv_loop_post(&u->loop, &e->kick);
  return 0;
}
