/* akt-bench — shared declarations of the benchmark program. */
#ifndef AKT_BENCH_H
#define AKT_BENCH_H

#include <stdint.h>

#include "akt/akt.h"

/* Operation counts (divided by 10 with --quick). */
typedef struct bench_params {
  int64_t tell, pingpong, request, ask, fanin, fanin_producers, spawn, memory_actors,
      threadring_hops, threadring_size, sim_seconds;
  int reps;
} bench_params;

/* One workload run on one system: fills *value (the metric) and returns 0,
 * or an akt error code. */
typedef int (*bench_fn)(akt_system *sys, const bench_params *p, double *value);

int wl_tell(akt_system *sys, const bench_params *p, double *value);
int wl_pingpong(akt_system *sys, const bench_params *p, double *value);
int wl_request(akt_system *sys, const bench_params *p, double *value);
int wl_ask(akt_system *sys, const bench_params *p, double *value);
int wl_fanin(akt_system *sys, const bench_params *p, double *value);
int wl_spawn(akt_system *sys, const bench_params *p, double *value);
int wl_memory(akt_system *sys, const bench_params *p, double *value);
int wl_threadring(akt_system *sys, const bench_params *p, double *value);

/* Simulator workloads: they build their own world. */
int wl_sim(const bench_params *p, double *value);
int wl_testkit_wait(const bench_params *p, double *value);

/* Wall-clock nanoseconds (monotonic): the benchmark, unlike the core,
 * measures real time. */
uint64_t bench_now(void);

#endif
