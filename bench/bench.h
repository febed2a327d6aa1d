/* akt-bench — shared declarations of the benchmark program. */
#ifndef AKT_BENCH_H
#define AKT_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "akt/akt.h"

/* Operation counts (divided by 10 with --quick). */
typedef struct bench_params {
  int64_t tell, pingpong, request, ask, fanin, fanin_producers, spawn, memory_actors,
      threadring_hops, threadring_size, sim_seconds, remote_tell, remote_ask;
  int64_t membership_seeds; /* seeds of membership-detect and -p99 */
  /* The cluster-actor rows: names looked up, lookups of cluster-lookup,
   * grains and messages of grain-tell, actors moved by relocate-10k. */
  int64_t ca_names, ca_lookups, grains, grain_tell, relocate;
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
/* 7 nodes of grains under random faults (scenarios/grains-faults.scn):
 * simulated seconds per real second. Returns 0 or an AKT_E* code. */
int wl_cluster_sim_speed(const bench_params *p, double *value);

/* The membership rows (membership.c), on the simulator: virtual ms until
 * every member of a 10-node cluster declared a crashed member down
 * (median and p99 over 200 seeds), virtual ms for a join to reach all of
 * 1000 members, bytes a member sends per second at 10 and 100 members,
 * and simulated seconds per wall-clock second of a 100-member cluster. */
int wl_membership_detect(const bench_params *p, double *value);
int wl_membership_detect_p99(const bench_params *p, double *value);
int wl_membership_converge(const bench_params *p, double *value);
int wl_membership_bytes_10(const bench_params *p, double *value);
int wl_membership_bytes_100(const bench_params *p, double *value);
int wl_membership_sim_speed(const bench_params *p, double *value);

/* membership-detect-real (membership_real.c) on libuv: ms from a SIGKILL of
 * one member of a 10-member cluster on loopback until the nine others
 * declared it down. */
int wl_membership_detect_real(const bench_params *p, double *value);

/* membership-converge-1000's yardstick: ms for one broadcast to reach all
 * n members under memberlist's LAN gossip settings, by the model stated in
 * membership.c. */
double bench_memberlist_spread_ms(unsigned n);

/* The victim of membership-detect-real: `akt-bench --member COOKIE
 * HOST:PORT` joins the cluster through HOST:PORT, prints a line when it
 * has started, and serves until it is killed or its stdin ends. Returns
 * the process's exit status. */
int bench_member(int argc, char **argv);

/* The cluster-actor rows (cluster_actors.c), runtime akt: three nodes on
 * one libuv backend over loopback. ns per akt_cluster_lookup of a name
 * resolved before, and of a first resolve; akt_cluster_tell's messages per
 * second to p->grains grains; ms from a graceful leave of the node hosting
 * p->relocate named actors until all answer from their new hosts.
 * wl_relocate_sim: the same on the simulator, in virtual ms. */
int wl_cluster_lookup(const bench_params *p, double *value);
int wl_cluster_lookup_cold(const bench_params *p, double *value);
int wl_grain_tell(const bench_params *p, double *value);
int wl_relocate(const bench_params *p, double *value);
int wl_relocate_sim(const bench_params *p, double *value);

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

/* Starts `/proc/self/exe argv...` (argv[0] names it in messages) with
 * pipes as its stdin and stdout (spawned, not forked: this process may run
 * threads). On success writes the child's pid and this process's ends,
 * close-on-exec: *to_child (its stdin; closing it is the child's end of
 * file) and *from_child (its stdout). Returns 0 or AKT_EBACKEND (said on
 * stderr). */
int bench_spawn_self(char *const argv[], pid_t *child, int *to_child, int *from_child);

/* Reads a child's next line into buf (without the newline), waiting at
 * most timeout_ms. Returns 0, or -1 on end of file, error or timeout. */
int bench_read_line(int fd, char *buf, size_t size, int timeout_ms);

/* Wall-clock nanoseconds (monotonic): the benchmark, unlike the core,
 * measures real time. */
uint64_t bench_now(void);

#endif
