/* akt production backend — the backend object shared by its files (internal).
 *
 * Everything the backend owns hangs off one akt__uv_backend, so several
 * backends can live in one process; the only process-wide state is the
 * thread-local marker that tells a backend thread from a user thread.
 *
 * Lock hierarchy. The backend's locks are innermost: its callers (the
 * core, remoting) may hold their own locks when they call an operation, so
 * the backend never calls out — no user callback, no akt_timer_fn, no
 * ready(), no log sink — while it holds one of its locks, and takes them
 * in this order only:
 *   1. a stream's mu (tcp.h)
 *   2. the loop's mu (loop.h): taken under a stream's mu to post its kick
 * Every other backend lock is a leaf, held alone and never around a call
 * that could take another: the workers' mu (workers.h), the timer table's
 * mu (timers.h), wait_mu, rng_mu and log_mu below. (The mailbox segment
 * depot and the envelope pool's depots, in src/, are leaves too.) The
 * ThreadSanitizer phase of `./dev test` checks the order as it runs: a
 * cycle is a lock-order-inversion report.
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
  akt_addr dns_server; /* SRV lookups' server (resolve_srv.c); host "" = resolv.conf's */
  atomic_int stopping; /* akt_uv_backend_free has begun */

  pthread_mutex_t rng_mu; /* a leaf (lock hierarchy above) */
  akt__rng rng;
  uint64_t seed;

  pthread_mutex_t log_mu; /* keeps default-sink lines whole; a leaf */
  akt_log_sink_fn log_sink;
  void *log_data;

  pthread_mutex_t wait_mu; /* guards wake_gen and waiters; a leaf */
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
