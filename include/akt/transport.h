/* akt — the production backend: libuv loop thread + worker threads.
 *
 * One loop thread owns a uv_loop_t and runs timers, name resolution and
 * sockets; N worker threads run actor turns from a shared run queue. Other
 * threads hand work to the loop thread through a locked queue and uv_async.
 * Randomness comes from a xoshiro256** generator seeded by getrandom(2), or
 * by the seed in the options (which is then logged, so a run can be
 * repeated as far as thread timing allows).
 */
#ifndef AKT_TRANSPORT_H
#define AKT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. */
#define AKT_UV_MAX_WORKERS 256
#define AKT_UV_DEFAULT_WRITE_LIMIT (64u << 20) /* bytes queued per stream */

/* Options for akt_uv_backend_new. A zeroed struct (or NULL) means defaults. */
typedef struct akt_uv_options {
  unsigned workers;        /* worker threads; 0 = online CPUs (at most AKT_UV_MAX_WORKERS) */
  int use_seed;            /* non-zero: seed the PRNG with `seed` (logged) */
  uint64_t seed;           /* used when use_seed is non-zero */
  akt_log_sink_fn log_sink;/* NULL: lines go to stderr with a wall-clock stamp */
  void *log_data;          /* passed to log_sink */
  size_t write_limit;      /* bytes queued per stream; 0 = AKT_UV_DEFAULT_WRITE_LIMIT */
  akt_addr dns_server;     /* SRV lookups go to this IPv4 server and port instead of the
                              servers of /etc/resolv.conf (tests); host "" = the system's.
                              Address lookups always use the system's resolver. */
} akt_uv_options;

/* Creates the backend and starts its loop thread and workers. On success
 * writes a backend owned by the caller to *out (free it with
 * akt_uv_backend_free after every system using it is freed). Returns 0,
 * AKT_EINVAL (workers > AKT_UV_MAX_WORKERS; a dns_server that is not an
 * IPv4 literal with a port), AKT_ENOMEM, or AKT_EBACKEND (a thread or
 * libuv handle could not be created). */
int akt_uv_backend_new(const akt_uv_options *opts, akt_backend **out);

/* Stops and joins every thread, closes every handle (timers still pending
 * are dropped without running) and frees the backend. NULL is a no-op. */
void akt_uv_backend_free(akt_backend *b);

/* The seed the backend's PRNG started from (drawn or given). */
uint64_t akt_uv_backend_seed(akt_backend *b);

/* The number of worker threads. */
unsigned akt_uv_backend_workers(akt_backend *b);

#ifdef __cplusplus
}
#endif

#endif
