/* akt production backend — worker threads and the run queues. */
#include "transport/workers.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/util/cpu.h"
#include "transport/uv_backend.h"

/* The worker running on this thread, if any (initial-exec: reached without
 * a __tls_get_addr call on the schedule and linger paths). */
static _Thread_local akt__uv_worker *current __attribute__((tls_model("initial-exec")));

/* Appends r to the shared FIFO (lock held). */
static void fifo_push(akt__uv_workers *w, akt_runnable *r) {
  r->next = NULL;
  if (w->tail != NULL)
    w->tail->next = r;
  else
    w->head = r;
  w->tail = r;
  atomic_store_explicit(&w->peek, w->head, memory_order_release);
}

/* Removes the FIFO's head (lock held), or returns NULL. */
static akt_runnable *fifo_pop(akt__uv_workers *w) {
  akt_runnable *r = w->head;
  if (r == NULL) return NULL;
  w->head = r->next;
  if (w->head == NULL) w->tail = NULL;
  r->next = NULL;
  atomic_store_explicit(&w->peek, w->head, memory_order_release);
  return r;
}

/* Pushes to the FIFO and wakes a sleeper if there is one. */
static void push_shared(akt__uv_workers *w, akt_runnable *r) {
  pthread_mutex_lock(&w->mu);
  fifo_push(w, r);
  /* A spinning worker will take it (and wake a sleeper if more is queued,
   * see next_runnable); busy workers come back to the FIFO on their own.
   * Otherwise one runnable needs one sleeper at most. */
  if (w->idle > 0 && atomic_load_explicit(&w->spinning, memory_order_relaxed) == 0)
    pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* The next runnable for worker `me`, or NULL when stopping. */
static akt_runnable *next_runnable(akt__uv_worker *me) {
  akt__uv_workers *w = me->pool;
  akt_runnable *r = me->slot;
  if (r != NULL && me->slot_runs < AKT__UV_SLOT_TURNS) {
    me->slot = NULL;
    me->slot_runs++;
    return r;
  }
  me->slot_runs = 0;
  uint64_t spin_until = 0; /* non-zero: this worker counts in w->spinning */
  for (int spin = 0;; spin++) {
    /* Poll without the lock for a while: a worker that sleeps must be
     * woken with a system call, which costs more than the poll. */
    if (r == NULL && spin > 0 && atomic_load_explicit(&w->peek, memory_order_acquire) == NULL) {
      if (spin_until == 0) {
        spin_until = akt__uv_now_ns() + AKT__UV_SPIN_NS;
        atomic_fetch_add_explicit(&w->spinning, 1, memory_order_relaxed);
      }
      if ((spin & 15) != 0 || akt__uv_now_ns() < spin_until) {
        akt__cpu_relax();
        continue;
      }
    }
    pthread_mutex_lock(&w->mu);
    akt_runnable *shared = fifo_pop(w);
    if (shared != NULL) {
      /* Serve the FIFO first; a pending slot runnable waits behind it. */
      if (me->slot != NULL) {
        fifo_push(w, me->slot);
        me->slot = NULL;
      }
      if (spin_until != 0 &&
          atomic_fetch_sub_explicit(&w->spinning, 1, memory_order_relaxed) == 1 &&
          w->head != NULL && w->idle > 0) {
        /* Pushers counted on this spinner, which takes one runnable:
         * the rest needs a sleeper. */
        pthread_cond_signal(&w->cv);
      }
      pthread_mutex_unlock(&w->mu);
      return shared;
    }
    if (me->slot != NULL) {
      /* Only this worker fills its slot, so a slot here was there on entry:
       * this worker never polled (spin_until is 0). */
      pthread_mutex_unlock(&w->mu);
      r = me->slot;
      me->slot = NULL;
      return r;
    }
    if (w->stop) {
      if (spin_until != 0) atomic_fetch_sub_explicit(&w->spinning, 1, memory_order_relaxed);
      pthread_mutex_unlock(&w->mu);
      return NULL;
    }
    if (spin_until != 0 && akt__uv_now_ns() >= spin_until) {
      /* No longer spinning (under the lock, so a push either sees this
       * or is seen by the FIFO check above). */
      atomic_fetch_sub_explicit(&w->spinning, 1, memory_order_relaxed);
      w->idle++;
      while (w->head == NULL && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
      w->idle--;
      spin = 0;
      spin_until = 0;
    }
    pthread_mutex_unlock(&w->mu);
  }
}

static void *worker_main(void *arg) {
  akt__uv_worker *me = arg;
  akt__uv_thread_marker = me->pool;
  current = me;
  akt_runnable *r;
  while ((r = next_runnable(me)) != NULL) r->run(r);
  current = NULL;
  return NULL;
}

void akt__uv_workers_push(akt__uv_workers *w, akt_runnable *r) {
  akt__uv_worker *me = current;
  if (me != NULL && me->pool == w) {
    /* From one of our workers: it runs next here; what it displaces goes
     * to the others. */
    akt_runnable *old = me->slot;
    me->slot = r;
    if (old != NULL) push_shared(w, old);
    return;
  }
  push_shared(w, r);
}

int akt__uv_workers_linger(akt__uv_workers *w, unsigned round, unsigned found) {
  akt__uv_worker *me = current;
  if (me == NULL || me->pool != w) return 0;
  /* Anything else to run goes first: the runnable gives the worker up. */
  if (me->slot != NULL || atomic_load_explicit(&w->peek, memory_order_acquire) != NULL)
    return 0;
  /* One message, then nothing: a request/reply partner, not a stream. */
  if (round == 0 && found < AKT__UV_LINGER_MIN_FOUND) return 0;
  uint64_t now = akt__uv_now_ns();
  if (round == 0) {
    me->linger_until = now + AKT__UV_LINGER_NS;
    /* Batching: every poll takes the lines the producer is writing away
     * from it (the newest envelope, the mailbox head), so a consumer that
     * keeps up with its producer and polls after every message or two
     * halves the producer's speed. Poll less often until each poll finds
     * a batch, more often when batches are large. */
    if (me->linger_pauses == 0) me->linger_pauses = AKT__UV_LINGER_PAUSES_MIN;
    if (found < AKT__UV_LINGER_BATCH && me->linger_pauses < AKT__UV_LINGER_PAUSES_MAX)
      me->linger_pauses *= 2;
    else if (found >= 4 * AKT__UV_LINGER_BATCH && me->linger_pauses > AKT__UV_LINGER_PAUSES_MIN)
      me->linger_pauses /= 2;
  } else if (now >= me->linger_until) {
    return 0;
  }
  /* The yield (a no-op when nothing else is runnable here) matters when
   * threads outnumber cores: the producer this worker waits for may itself
   * be waiting for this core. */
  for (unsigned i = 0; i < me->linger_pauses; i++) akt__cpu_relax();
  sched_yield();
  return 1;
}

int akt__uv_workers_start(akt__uv_workers *w, unsigned count) {
  w->threads = calloc(count, sizeof *w->threads);
  w->workers = aligned_alloc(_Alignof(akt__uv_worker), count * sizeof *w->workers);
  if (w->threads == NULL || w->workers == NULL) goto fail_threads;
  memset(w->workers, 0, count * sizeof *w->workers);
  if (pthread_mutex_init(&w->mu, NULL) != 0) goto fail_threads;
  if (pthread_cond_init(&w->cv, NULL) != 0) goto fail_mu;
  atomic_init(&w->peek, NULL);
  atomic_init(&w->spinning, 0);
  w->count = 0;
  for (unsigned i = 0; i < count; i++) {
    w->workers[i].pool = w;
    if (pthread_create(&w->threads[i], NULL, worker_main, &w->workers[i]) != 0) {
      akt__uv_workers_stop(w);
      akt__uv_workers_destroy(w);
      return AKT_EBACKEND;
    }
    w->count++;
  }
  return 0;

fail_mu:
  pthread_mutex_destroy(&w->mu);
fail_threads:
  free(w->threads);
  free(w->workers);
  w->threads = NULL;
  w->workers = NULL;
  return AKT_EBACKEND;
}

void akt__uv_workers_stop(akt__uv_workers *w) {
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  for (unsigned i = 0; i < w->count; i++) pthread_join(w->threads[i], NULL);
}

void akt__uv_workers_destroy(akt__uv_workers *w) {
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w->threads);
  free(w->workers);
  w->threads = NULL;
  w->workers = NULL;
  w->head = w->tail = NULL;
}
