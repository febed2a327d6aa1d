/* akt production backend — worker threads and the run queues (internal).
 *
 * Each worker has a one-runnable "next" slot; the workers share one FIFO
 * under a mutex. A runnable scheduled by a worker (an actor sending to
 * another) goes to that worker's slot and runs there next, so a
 * request/reply or ping-pong between actors stays on one core and wakes
 * nobody; the runnable it displaces goes to the shared FIFO. Runnables
 * scheduled from other threads go to the FIFO. A worker out of work spins
 * briefly on the FIFO before sleeping on the condvar, and a push signals
 * only when a worker sleeps. Every AKT__UV_SLOT_TURNS slot runs in a row,
 * a worker serves the FIFO first, so a chain of slot hand-offs cannot
 * starve queued work.
 *
 * A turn that runs out of messages while its worker has nothing else to do
 * (empty slot and FIFO) lingers (akt_backend_ops.linger): it polls its own
 * mailbox, some pauses and a sched_yield apart, for up to AKT__UV_LINGER_NS
 * before its actor goes idle. The interval adapts so that a poll finds
 * about AKT__UV_LINGER_BATCH messages. A stream of tells from another thread then
 * finds the actor still scheduled, instead of paying a FIFO push (lock,
 * perhaps a wake-up) and a hand-off every few messages; anything pushed to
 * the FIFO or the slot ends the linger at the next poll. A turn (or poll)
 * that found a single message does not linger: that is a request/reply
 * partner (an ask from outside), which would then share its core with a
 * poller while the thread it replied to wakes up (an ask took 11-20 us
 * instead of 1.5).
 */
#ifndef AKT_TRANSPORT_WORKERS_H
#define AKT_TRANSPORT_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>

#include "akt/backend.h"

#define AKT__UV_SLOT_TURNS 32    /* slot runs before the FIFO is served */
#define AKT__UV_SPIN_NS 20000    /* how long a worker out of work polls before sleeping */
#define AKT__UV_WAIT_SPIN_NS 20000 /* how long a blocking wait (ask) polls before sleeping */
#define AKT__UV_LINGER_NS 20000  /* how long a runnable out of work may poll its own queue */
#define AKT__UV_LINGER_PAUSES_MIN 4  /* pauses (then a yield) between two such polls: */
#define AKT__UV_LINGER_PAUSES_MAX 64 /* adapted between these bounds (~0.1-1.7 us on x86-64) */
#define AKT__UV_LINGER_BATCH 8       /* ... so that a poll finds about this many messages */
#define AKT__UV_LINGER_MIN_FOUND 2   /* a linger starts only after this many messages */

typedef struct akt__uv_workers akt__uv_workers;

/* One per thread, each on its own cache line(s): a worker writes its slot
 * and linger state on every turn, and two workers' structs in one line
 * would make each turn a miss on the other's core. */
typedef struct akt__uv_worker {
  _Alignas(64) akt__uv_workers *pool;
  akt_runnable *slot; /* this worker's next runnable; touched by it alone */
  unsigned slot_runs; /* slot runs in a row */
  uint64_t linger_until;  /* when the current linger ends (akt__uv_workers_linger) */
  unsigned linger_pauses; /* the current poll interval of a linger, in pauses */
} akt__uv_worker;

struct akt__uv_workers {
  unsigned count;          /* threads started */
  pthread_t *threads;      /* `count` entries */
  akt__uv_worker *workers; /* `count` entries */

  pthread_mutex_t mu; /* guards the fields below; a leaf (uv_backend.h) */
  pthread_cond_t cv;
  akt_runnable *head, *tail;
  unsigned idle; /* workers sleeping on cv */
  /* Workers polling the FIFO before they sleep: a push wakes a sleeper
   * only when none polls (a wake-up costs a system call on the pusher's
   * side and a thread competing for the cores on the other). */
  _Atomic unsigned spinning;
  int stop;
  _Atomic(akt_runnable *) peek; /* head, readable without the lock (spinning) */
};

/* Starts `count` (>= 1) workers. Returns 0, AKT_ENOMEM or AKT_EBACKEND; on
 * failure no thread is left running and nothing is left to free. */
int akt__uv_workers_start(akt__uv_workers *w, unsigned count);

/* Queues `r` to run once on some worker; any thread. Never fails. */
void akt__uv_workers_push(akt__uv_workers *w, akt_runnable *r);

/* The backend's linger operation (see akt_backend_ops.linger): non-zero,
 * after a short pause, while the calling worker has nothing else to run and
 * the linger that began at round 0 is younger than AKT__UV_LINGER_NS; 0 on
 * other threads. */
int akt__uv_workers_linger(akt__uv_workers *w, unsigned round, unsigned found);

/* Stops and joins every worker. Runnables still queued, or pushed later (a
 * timer firing before the loop stops may schedule one), never run; the core
 * owns their memory. Called once, from a non-backend thread. */
void akt__uv_workers_stop(akt__uv_workers *w);

/* Frees what akt__uv_workers_start allocated, once nothing can push any
 * more (after the loop thread has stopped too). */
void akt__uv_workers_destroy(akt__uv_workers *w);

#endif
