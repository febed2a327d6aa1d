/* akt-bench — shared declarations of the benchmark program. */
#ifndef AKT_BENCH_H
#define AKT_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "akt/akt.h"

/* Operation counts (divided by 10 with --quick). */
typedef struct bench_params {
  int64_t tell, pingpong, request, ask, fanin, fanin_producers, spawn, memory_actors,
      threadring_hops, threadring_size, sim_seconds, remote_tell, remote_ask;
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

/* The counter of tell, fanin and remote-tell: counts Msg messages and
 * Payload messages of PAYLOAD_BYTES; a Start{n} from a client makes it
 * send Done{n} to that client once n are counted; Get answers Count. */
#define PAYLOAD_BYTES 64
extern const akt_actor_def bench_counter_def;

/* Simulator workloads: they build their own world. */
int wl_sim(const bench_params *p, double *value);
int wl_testkit_wait(const bench_params *p, double *value);

/* sim-cluster (simcluster.c): a 5-node bank scenario under random faults,
 * as akt-sim runs it: simulator events per real second, and simulated
 * seconds per real second. */
int wl_sim_cluster(const bench_params *p, double *value);
int wl_sim_cluster_speed(const bench_params *p, double *value);

/* The remote workloads (remote.c) run between two processes over loopback
 * TCP: this one (node A, its own system on the runtime's backend) and a
 * server node B that akt-bench starts by re-executing itself with
 * `--serve`. Owned by the caller of bench_remote_open; closed (B stopped
 * and reaped) by bench_remote_close. */
typedef struct bench_remote bench_remote;

/* Starts B with `workers` worker threads (0 = default), waits for its
 * address, and makes node A on `backend` (borrowed). Both prove a cookie
 * of the run's; with `tls`, both also use TLS with mutual authentication,
 * on certificates made for the run in a temporary folder (removed by
 * bench_remote_close). Returns 0 or an akt error code (B is then already
 * reaped). */
int bench_remote_open(akt_backend *backend, unsigned workers, int tls, bench_remote **out);

/* Frees node A, then ends B: closes its stdin (its signal to stop), waits
 * for it to exit, and kills it if it has not within a few seconds. Always
 * reaps the child. NULL is a no-op. */
void bench_remote_close(bench_remote *rm);

typedef int (*bench_remote_fn)(bench_remote *rm, const bench_params *p, double *value);

int wl_remote_tell(bench_remote *rm, const bench_params *p, double *value);
int wl_remote_ask(bench_remote *rm, const bench_params *p, double *value);

/* The server node: `akt-bench --serve WORKERS COOKIE [CA CERT KEY]` (the
 * last three: TLS). Prints B's address
 * on stdout, then serves until stdin reaches end of file. Returns the
 * process's exit status. */
int bench_serve(int argc, char **argv);

/* Wall-clock nanoseconds (monotonic): the benchmark, unlike the core,
 * measures real time. */
uint64_t bench_now(void);

#endif
