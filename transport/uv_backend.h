/* akt production backend — the backend object shared by its files (internal).
 *
 * Everything the backend owns hangs off one akt__uv_backend, so several
 * backends can live in one process; the only process-wide state is the
 * thread-local marker that tells a backend thread from a user thread.
 */
#ifndef AKT_TRANSPORT_UV_BACKEND_H
#define AKT_TRANSPORT_UV_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"
#include "akt/transport.h"
#include "src/util/rng.h"
#include "transport/loop.h"
#include "transport/timers.h"
#include "transport/workers.h"

struct akt__uv_backend {
  akt_backend base; /* base.impl points back here */
  akt__uv_loop loop;
  akt__uv_workers workers;
  akt__uv_timers timers;
  size_t write_limit; /* bytes queued per stream */
  atomic_int stopping; /* akt_uv_backend_free has begun */

  pthread_mutex_t rng_mu;
  akt__rng rng;
  uint64_t seed;

  pthread_mutex_t log_mu; /* keeps default-sink lines whole */
  akt_log_sink_fn log_sink;
  void *log_data;

  pthread_mutex_t wait_mu; /* guards wake_gen and waiters */
  pthread_cond_t wait_cv;  /* on CLOCK_MONOTONIC */
  uint64_t wake_gen;
  unsigned waiters;
};

/* Set by each loop and worker thread to its loop or worker set (never NULL
 * there); NULL on every other thread. wait() refuses backend threads by it,
 * and the loop recognises its own thread by it. */
extern _Thread_local const void *akt__uv_thread_marker;

/* The backend behind the public handle. */
static inline akt__uv_backend *akt__uv_of(akt_backend *b) { return (akt__uv_backend *)b->impl; }

/* Formats and emits one log line through the backend's sink. */
void akt__uv_logf(akt__uv_backend *u, akt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in nanoseconds (the backend's now()). */
uint64_t akt__uv_now_ns(void);

#endif
