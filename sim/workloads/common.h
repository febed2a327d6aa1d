/* akt — helpers shared by the built-in workloads (internal).
 *
 * Workloads follow the core's rules (DESIGN §2): no clock, no random, no
 * threads — time is akt_ctx_now / akt_scenario_now, randomness is
 * akt_ctx_random, so a run replays from its seed. Their shared state is the
 * oracle (what a test's bookkeeping knows) and, for workloads that model
 * durable storage, each node's "disk": it lives in the runner, so it
 * survives the node's crash.
 */
#ifndef AKT_SIM_WORKLOADS_COMMON_H
#define AKT_SIM_WORKLOADS_COMMON_H

#include <stdio.h>

#include "akt/actor.pb-c.h"
#include "akt/akt.h"
#include "akt/remote.h"
#include "akt/scenario.h"
#include "workloads.pb-c.h"

/* Creates node i's system (akt_scenario_system_new) and registers the
 * workload message types on it. Returns 0 or an akt error. */
int akt__wl_system(akt_scenario *sc, size_t i, akt_system **out);

/* A PID, on `sys`, for the actor at `path` (e.g. "/user/ponger") on node j.
 * Returns as akt_remote_pid. */
int akt__wl_pid(akt_scenario *sc, akt_system *sys, size_t j, const char *path, akt_pid **out);

/* The index of the node an actor runs on (from its system's name). */
size_t akt__wl_node(akt_ctx *ctx);

/* The scenario an actor was spawned for (its spawn arg). */
static inline akt_scenario *akt__wl_sc(akt_ctx *ctx) {
  return (akt_scenario *)(uintptr_t)akt_ctx_arg(ctx);
}

/* A safety oracle's findings: how many violations, and the first one in
 * words. */
typedef struct akt__wl_violations {
  uint64_t count;
  char first[300];
} akt__wl_violations;

/* Counts a violation; the first one's description (printf-style) is kept. */
void akt__wl_violation(akt__wl_violations *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A check's verdict: 0 when there was no violation, else 1 with `why` set
 * to "<count> <what>; first: <first>". */
int akt__wl_violations_why(const akt__wl_violations *v, const char *what, char *why);

/* Seconds, for messages. */
static inline double akt__wl_s(uint64_t ns) { return (double)ns / 1e9; }

/* Cluster topics (topics.c). */
extern const akt_workload akt__wl_topics;

/* The built-in workloads. */
extern const akt_workload akt__wl_pingpong, akt__wl_pingpong_udp, akt__wl_bank,
    akt__wl_remote_watch, akt__wl_supervision, akt__wl_buggy_counter, akt__wl_membership,
    akt__wl_singleton, akt__wl_spawn_storm, akt__wl_named, akt__wl_grains;

#endif
