/* akt production backend — the operations table, construction and
 * destruction, and the services that need no loop: clocks, randomness,
 * logging, wait/wake and scheduling.
 */
#include "transport/uv_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "akt/error.h"
#include "src/util/cpu.h"
#include "transport/net.h"

_Thread_local const void *akt__uv_thread_marker;

/* ---- clocks and randomness ------------------------------------------------ */

uint64_t akt__uv_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static uint64_t uvb_now(akt_backend *b) {
  (void)b;
  return akt__uv_now_ns();
}

static int64_t uvb_wall(akt_backend *b) {
  (void)b;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * INT64_C(1000000000) + (int64_t)ts.tv_nsec;
}

static uint64_t uvb_random_u64(akt_backend *b) {
  akt__uv_backend *u = akt__uv_of(b);
  pthread_mutex_lock(&u->rng_mu);
  uint64_t x = akt__rng_next(&u->rng);
  pthread_mutex_unlock(&u->rng_mu);
  return x;
}

/* Fills buf from the kernel's generator (cryptographically secure, never
 * seeded by the user). Returns 0 or AKT_EBACKEND. */
static int kernel_random(uint8_t *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(buf + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return AKT_EBACKEND;
    }
    got += (size_t)n;
  }
  return 0;
}

/* Secrets and nonces (backend.h): always the kernel's, whatever seed the
 * xoshiro stream of random_u64 was given. */
static int uvb_random_bytes(akt_backend *b, uint8_t *buf, size_t len) {
  (void)b;
  return kernel_random(buf, len);
}

/* Draws a seed from the kernel. Returns 0 or AKT_EBACKEND. */
static int draw_seed(uint64_t *seed) { return kernel_random((uint8_t *)seed, sizeof *seed); }

/* ---- logging --------------------------------------------------------------- */

static const char *level_name(akt_log_level level) {
  switch (level) {
    case AKT_LOG_TRACE: return "TRACE";
    case AKT_LOG_DEBUG: return "DEBUG";
    case AKT_LOG_INFO: return "INFO";
    case AKT_LOG_WARN: return "WARN";
    case AKT_LOG_ERROR: return "ERROR";
    default: return "?";
  }
}

static void uvb_log(akt_backend *b, akt_log_level level, const char *line) {
  akt__uv_backend *u = akt__uv_of(b);
  if (level < AKT_LOG_TRACE || level >= AKT_LOG_OFF || line == NULL) return;
  if (u->log_sink != NULL) {
    u->log_sink(level, line, u->log_data);
    return;
  }
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  /* One fprintf under the lock: lines from different threads never
   * interleave, whatever stderr's buffering. */
  pthread_mutex_lock(&u->log_mu);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
          level_name(level), line);
  pthread_mutex_unlock(&u->log_mu);
}

void akt__uv_logf(akt__uv_backend *u, akt_log_level level, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  uvb_log(&u->base, level, line);
}

/* ---- scheduling, wait and wake ------------------------------------------- */

static void uvb_schedule(akt_backend *b, akt_runnable *r) {
  akt__uv_workers_push(&akt__uv_of(b)->workers, r);
}

static int uvb_linger(akt_backend *b, unsigned round, unsigned found) {
  return akt__uv_workers_linger(&akt__uv_of(b)->workers, round, found);
}

static int uvb_wait(akt_backend *b, int (*ready)(void *arg), void *arg, uint64_t deadline) {
  akt__uv_backend *u = akt__uv_of(b);
  /* Blocking a backend thread would stall the very work being waited for. */
  if (akt__uv_thread_marker != NULL) return AKT_ESTATE;
  if (ready == NULL) return AKT_EINVAL;
  /* Poll first, for at most AKT__UV_WAIT_SPIN_NS: an ask's reply usually
   * comes within a few microseconds, and sleeping on the condition variable
   * costs a futex wait here, a futex wake in the replying worker and two
   * context switches (ask: ~2.1 us sleeping, ~1 us polling). */
  uint64_t spin_until = akt__uv_now_ns() + AKT__UV_WAIT_SPIN_NS;
  if (deadline < spin_until) spin_until = deadline;
  for (unsigned i = 1;; i++) {
    if (ready(arg)) return 0;
    if (i % 16 == 0 && akt__uv_now_ns() >= spin_until) break;
    akt__cpu_relax();
  }
  int rc;
  pthread_mutex_lock(&u->wait_mu);
  u->waiters++;
  for (;;) {
    /* Snapshot the generation before evaluating ready(): a wake() after
     * the evaluation bumps it, so the wait below cannot miss it, and ready()
     * runs unlocked so it may call into the backend. */
    uint64_t gen = u->wake_gen;
    pthread_mutex_unlock(&u->wait_mu);
    int ok = ready(arg);
    pthread_mutex_lock(&u->wait_mu);
    if (ok) {
      rc = 0;
      break;
    }
    if (deadline != AKT_FOREVER && akt__uv_now_ns() >= deadline) {
      rc = AKT_ETIMEDOUT;
      break;
    }
    struct timespec ts = {.tv_sec = (time_t)(deadline / UINT64_C(1000000000)),
                          .tv_nsec = (long)(deadline % UINT64_C(1000000000))};
    while (gen == u->wake_gen) {
      if (deadline == AKT_FOREVER) {
        pthread_cond_wait(&u->wait_cv, &u->wait_mu);
      } else if (pthread_cond_timedwait(&u->wait_cv, &u->wait_mu, &ts) == ETIMEDOUT) {
        break; /* evaluate ready() once more, then report the timeout */
      }
    }
  }
  u->waiters--;
  pthread_mutex_unlock(&u->wait_mu);
  return rc;
}

static void uvb_wake(akt_backend *b) {
  akt__uv_backend *u = akt__uv_of(b);
  pthread_mutex_lock(&u->wait_mu);
  u->wake_gen++;
  if (u->waiters > 0) pthread_cond_broadcast(&u->wait_cv);
  pthread_mutex_unlock(&u->wait_mu);
}

/* ---- the table ------------------------------------------------------------ */

static const akt_backend_ops uv_ops = {
    .now = uvb_now,
    .wall = uvb_wall,
    .random_u64 = uvb_random_u64,
    .random_bytes = uvb_random_bytes,
    .schedule = uvb_schedule,
    .linger = uvb_linger,
    .timer_start = akt__uv_timer_start,
    .timer_cancel = akt__uv_timer_cancel,
    .wait = uvb_wait,
    .wake = uvb_wake,
    .log = uvb_log,
    .trace = NULL, /* production does not trace */
    .resolve = akt__uv_resolve,
    .listen = akt__uv_listen,
    .listener_addr = akt__uv_listener_addr,
    .listener_close = akt__uv_listener_close,
    .connect = akt__uv_connect,
    .stream_start = akt__uv_stream_start,
    .stream_write = akt__uv_stream_write,
    .stream_pending = akt__uv_stream_pending,
    .stream_peer = akt__uv_stream_peer,
    .stream_close = akt__uv_stream_close,
    .dgram_open = akt__uv_dgram_open,
    .dgram_addr = akt__uv_dgram_addr,
    .dgram_send = akt__uv_dgram_send,
    .dgram_close = akt__uv_dgram_close,
    .offload = akt__uv_offload,
    .resolve_srv = akt__uv_resolve_srv,
    .dgram_open_group = akt__uv_dgram_open_group,
};

/* ---- construction ---------------------------------------------------------- */

/* Initializes the mutexes and the monotonic condvar. Returns 0 or
 * AKT_EBACKEND (nothing left initialized). */
static int init_sync(akt__uv_backend *u) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) return AKT_EBACKEND;
  int ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
  if (ok && pthread_cond_init(&u->wait_cv, &ca) != 0) ok = 0;
  pthread_condattr_destroy(&ca);
  if (!ok) return AKT_EBACKEND;
  if (pthread_mutex_init(&u->wait_mu, NULL) != 0) goto fail_cv;
  if (pthread_mutex_init(&u->rng_mu, NULL) != 0) goto fail_wait;
  if (pthread_mutex_init(&u->log_mu, NULL) != 0) goto fail_rng;
  return 0;
fail_rng:
  pthread_mutex_destroy(&u->rng_mu);
fail_wait:
  pthread_mutex_destroy(&u->wait_mu);
fail_cv:
  pthread_cond_destroy(&u->wait_cv);
  return AKT_EBACKEND;
}

static void destroy_sync(akt__uv_backend *u) {
  pthread_mutex_destroy(&u->log_mu);
  pthread_mutex_destroy(&u->rng_mu);
  pthread_mutex_destroy(&u->wait_mu);
  pthread_cond_destroy(&u->wait_cv);
}

int akt_uv_backend_new(const akt_uv_options *opts, akt_backend **out) {
  akt_uv_options o = {0};
  if (opts != NULL) o = *opts;
  if (out == NULL || o.workers > AKT_UV_MAX_WORKERS) return AKT_EINVAL;
  if (o.dns_server.host[0]) {
    struct in_addr ia;
    if (memchr(o.dns_server.host, '\0', AKT_HOST_MAX) == NULL ||
        inet_pton(AF_INET, o.dns_server.host, &ia) != 1 || o.dns_server.port == 0)
      return AKT_EINVAL;
  }
  unsigned nworkers = o.workers;
  if (nworkers == 0) {
    nworkers = uv_available_parallelism();
    if (nworkers == 0) nworkers = 1;
    if (nworkers > AKT_UV_MAX_WORKERS) nworkers = AKT_UV_MAX_WORKERS;
  }

  akt__uv_backend *u = calloc(1, sizeof *u);
  if (u == NULL) return AKT_ENOMEM;
  u->base.ops = &uv_ops;
  u->base.impl = u;
  u->base.flags = 0;
  u->write_limit = o.write_limit != 0 ? o.write_limit : AKT_UV_DEFAULT_WRITE_LIMIT;
  u->dns_server = o.dns_server;
  u->log_sink = o.log_sink;
  u->log_data = o.log_data;
  atomic_init(&u->stopping, 0);

  int rc = init_sync(u);
  if (rc != 0) goto fail_free;
  if (o.use_seed) {
    u->seed = o.seed;
  } else if ((rc = draw_seed(&u->seed)) != 0) {
    goto fail_sync;
  }
  akt__rng_seed(&u->rng, u->seed);
  if (o.use_seed)
    akt__uv_logf(u, AKT_LOG_INFO, "akt-uv: seed=0x%016llx", (unsigned long long)u->seed);

  if ((rc = akt__uv_timers_init(&u->timers)) != 0) goto fail_sync;
  if ((rc = akt__uv_loop_start(&u->loop, u)) != 0) goto fail_timers;
  if ((rc = akt__uv_workers_start(&u->workers, nworkers)) != 0) goto fail_loop;
  *out = &u->base;
  return 0;

fail_loop:
  akt__uv_loop_stop(&u->loop);
fail_timers:
  akt__uv_timers_destroy(&u->timers);
fail_sync:
  destroy_sync(u);
fail_free:
  free(u);
  return rc;
}

void akt_uv_backend_free(akt_backend *b) {
  if (b == NULL) return;
  akt__uv_backend *u = akt__uv_of(b);
  if (akt__uv_thread_marker != NULL) {
    /* Joining our own threads from one of them would deadlock. */
    akt__uv_logf(u, AKT_LOG_ERROR, "akt-uv: backend freed from a backend thread; not freed");
    return;
  }
  atomic_store(&u->stopping, 1);
  /* Workers first: a running turn may still start timers or write to
   * streams, which needs the loop. Their queue stays valid until the loop
   * has stopped, since a timer callback may still schedule. */
  akt__uv_workers_stop(&u->workers);
  akt__uv_loop_stop(&u->loop);
  akt__uv_workers_destroy(&u->workers);
  akt__uv_timers_destroy(&u->timers);
  destroy_sync(u);
  free(u);
}

uint64_t akt_uv_backend_seed(akt_backend *b) { return akt__uv_of(b)->seed; }

unsigned akt_uv_backend_workers(akt_backend *b) { return akt__uv_of(b)->workers.count; }
