/* akt — scenarios: workloads run on a simulated cluster under faults.
 *
 * A scenario file (docs/scenarios.md) names a workload and its parameters,
 * the nodes, the duration, the faults (a timeline, a random profile, or
 * both), a quiet period and the checks. A workload is C code registered by
 * name: it starts its actors on each node (again after a node restarts),
 * drives traffic, and implements checks over what happened — typically by
 * keeping an oracle, a model of the expected outcome, in its shared state
 * (the state lives in the runner, outside every node, so it survives
 * crashes, as a test's bookkeeping should).
 *
 * akt-sim (`./dev sim ...`) runs scenarios with the built-in workloads; an
 * application adds its own by calling akt_sim_main from its own program
 * with its workloads, and gets the same command line.
 */
#ifndef AKT_SCENARIO_H
#define AKT_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "akt/akt.h"
#include "akt/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A running scenario, as workloads see it. */
typedef struct akt_scenario akt_scenario;

/* Limits. */
#define AKT_SCENARIO_MAX_NODES 128
#define AKT_SCENARIO_MAX_PARAMS 32
#define AKT_SCENARIO_WHY_MAX 512 /* bytes of a check's failure description */

/* What a check found. */
typedef enum akt_check_kind {
  AKT_CHECK_SAFETY = 0,  /* must hold at the end of the run; failure: exit 1 */
  AKT_CHECK_LIVENESS = 1 /* must hold after the quiet period; failure: exit 3 */
} akt_check_kind;

/* A check: returns 0 when it holds, or non-zero with a description
 * written to `why` (AKT_SCENARIO_WHY_MAX bytes). */
typedef struct akt_workload_check {
  const char *name;
  akt_check_kind kind;
  int (*fn)(akt_scenario *sc, char *why);
} akt_workload_check;

/* A parameter of a workload (`workload bank accounts=12`), as `list`
 * shows it; the scenario runner refuses a file that gives a workload a
 * parameter it does not declare. */
typedef struct akt_workload_param {
  const char *name;
  const char *summary; /* one line: what it is and its default */
} akt_workload_param;

/* A fault as the runner applies it, for oracles that must know what the
 * faults excuse (e.g. "no member declared down while the faults stay
 * within a budget"). Valid during the call. */
typedef struct akt_scenario_fault {
  const char *kind;        /* crash restart pause resume skew drift cut partition heal clog
                              hold release link, or "quiet" when the quiet period begins */
  int node, node2;         /* node indexes; -1 when none (link: -1 = every link) */
  int oneway;              /* cut */
  const uint32_t *groups;  /* partition: each node's side (0 or 1); NULL for a ring */
  akt_duration duration;   /* clog */
  const akt_sim_link_faults *link; /* link: the links' new behaviour */
} akt_scenario_fault;

typedef struct akt_workload {
  const char *name;
  const char *summary;      /* one line, for --help */
  size_t state_size;        /* shared state, zeroed, kept across node restarts */
  /* Starts the workload's systems and actors on node `i` (at the start and
   * after every restart). Create systems with akt_scenario_system_new so
   * the runner can drop them when the node crashes. Returns 0 or an error
   * (the run then fails with exit 2). */
  int (*node_start)(akt_scenario *sc, size_t i, akt_backend *b);
  /* Called after node `i` crashed and its systems were dropped: update the
   * oracle (e.g. mark the node's actors dead). Optional. */
  void (*node_down)(akt_scenario *sc, size_t i);
  /* Called once after every node started: begin the traffic (e.g. spawn
   * a driver actor that sends on timers). Optional. */
  int (*begin)(akt_scenario *sc);
  const akt_workload_check *checks; /* terminated by a {NULL} entry */
  /* The parameters it reads with akt_scenario_param, terminated by a
   * {NULL} entry; NULL: undeclared (any parameter is accepted unchecked). */
  const akt_workload_param *params;

  /* Called after each fault applied (and when the quiet period begins).
   * Optional. */
  void (*fault)(akt_scenario *sc, const akt_scenario_fault *f);
} akt_workload;

/* The workload's shared state (state_size bytes). */
void *akt_scenario_state(akt_scenario *sc);

/* A parameter of the workload line (`workload bank accounts=10`), or
 * `dflt` when absent or not a number. */
int64_t akt_scenario_param(akt_scenario *sc, const char *name, int64_t dflt);

/* The simulated world, the number of nodes, node i's backend, and the
 * system the workload created on node i (NULL while it is down). */
akt_sim_world *akt_scenario_world(akt_scenario *sc);
size_t akt_scenario_nodes(akt_scenario *sc);
akt_backend *akt_scenario_backend(akt_scenario *sc, size_t i);
akt_system *akt_scenario_system(akt_scenario *sc, size_t i);

/* The virtual time (world clock, ns) now, and when the quiet period
 * begins (the scenario's duration): faults stop, links heal, crashed nodes
 * restart, clocks lose their skew and drift, and liveness checks then give
 * the cluster time to recover. */
uint64_t akt_scenario_now(akt_scenario *sc);
uint64_t akt_scenario_quiet_start(akt_scenario *sc);

/* Creates the system of node i (named after the node, remoting started on
 * port 2552 with the scenario's cookie) and records it, so a crash drops
 * it. Writes it to *out. Returns 0 or an akt error. */
int akt_scenario_system_new(akt_scenario *sc, size_t i, akt_system **out);

/* The address of node i's system ("akt://nodeI@nodeI:2552"). */
const char *akt_scenario_node_address(akt_scenario *sc, size_t i);

/* Records an application event in the trace (and digest). */
void akt_scenario_note(akt_scenario *sc, const char *what, const char *detail, uint64_t value);

/* Runs akt-sim's command line (run, sweep, check-determinism, shrink,
 * list) with the given workloads in addition to the built-in ones. Returns
 * the process exit code. */
int akt_sim_main(int argc, char **argv, const akt_workload *const *workloads, size_t n);

/* The built-in workloads (sim/workloads), NULL-terminated. */
extern const akt_workload *const akt_builtin_workloads[];

#ifdef __cplusplus
}
#endif

#endif
