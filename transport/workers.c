/* akt production backend — worker threads and the run queue. */
#include "transport/workers.h"

#include <stdlib.h>

#include "akt/error.h"
#include "transport/uv_backend.h"

static void *worker_main(void *arg) {
  akt__uv_workers *w = arg;
  akt__uv_thread_marker = w;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->head == NULL && !w->stop) {
      w->idle++;
      pthread_cond_wait(&w->cv, &w->mu);
      w->idle--;
    }
    if (w->stop) break;
    akt_runnable *r = w->head;
    w->head = r->next;
    if (w->head == NULL) w->tail = NULL;
    r->next = NULL;
    /* The turn runs unlocked: it may schedule more work, including itself. */
    pthread_mutex_unlock(&w->mu);
    r->run(r);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

void akt__uv_workers_push(akt__uv_workers *w, akt_runnable *r) {
  r->next = NULL;
  pthread_mutex_lock(&w->mu);
  if (w->tail != NULL)
    w->tail->next = r;
  else
    w->head = r;
  w->tail = r;
  /* Busy workers come back to the queue on their own; only a sleeper needs
   * a signal, and one runnable needs one worker. */
  if (w->idle > 0) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int akt__uv_workers_start(akt__uv_workers *w, unsigned count) {
  w->threads = calloc(count, sizeof *w->threads);
  if (w->threads == NULL) return AKT_ENOMEM;
  if (pthread_mutex_init(&w->mu, NULL) != 0) goto fail_threads;
  if (pthread_cond_init(&w->cv, NULL) != 0) goto fail_mu;
  w->count = 0;
  for (unsigned i = 0; i < count; i++) {
    if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
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
  w->threads = NULL;
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
  w->threads = NULL;
  w->head = w->tail = NULL;
}
