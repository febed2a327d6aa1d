/* akt production backend — worker threads and the run queue (internal).
 *
 * Runnables wait in one intrusive FIFO (linked through akt_runnable.next)
 * under a mutex; idle workers sleep on a condvar. A lock-free queue can
 * replace it later without changing this interface.
 */
#ifndef AKT_TRANSPORT_WORKERS_H
#define AKT_TRANSPORT_WORKERS_H

#include <pthread.h>

#include "akt/backend.h"

typedef struct akt__uv_workers {
  unsigned count;     /* threads started */
  pthread_t *threads; /* `count` entries */

  pthread_mutex_t mu; /* guards the fields below */
  pthread_cond_t cv;
  akt_runnable *head, *tail;
  unsigned idle; /* workers sleeping on cv */
  int stop;
} akt__uv_workers;

/* Starts `count` (>= 1) workers. Returns 0, AKT_ENOMEM or AKT_EBACKEND; on
 * failure no thread is left running and nothing is left to free. */
int akt__uv_workers_start(akt__uv_workers *w, unsigned count);

/* Queues `r` to run once on some worker; any thread. Never fails. */
void akt__uv_workers_push(akt__uv_workers *w, akt_runnable *r);

/* Stops and joins every worker. Runnables still queued, or pushed later (a
 * timer firing before the loop stops may schedule one), never run; the core
 * owns their memory. Called once, from a non-backend thread. */
void akt__uv_workers_stop(akt__uv_workers *w);

/* Frees what akt__uv_workers_start allocated, once nothing can push any
 * more (after the loop thread has stopped too). */
void akt__uv_workers_destroy(akt__uv_workers *w);

#endif
