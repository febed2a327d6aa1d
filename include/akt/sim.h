/* akt — the simulator backend.
 *
 * A world holds a virtual clock, one event queue ordered by (time, sequence)
 * and the runnable actors of every node. Each node is a simulated backend on
 * which the user creates an akt_system. Running the world does, step by
 * step: fire the events that are due; otherwise run one actor turn, chosen
 * among the runnable actors of all nodes with the world's seeded generator
 * (or first-in first-out), and advance the clock by the turn cost; otherwise
 * jump the clock to the next event. Everything happens on the calling
 * thread, so one seed gives one history: every visible event is a trace
 * record, the records feed a running xxh3-64 digest, and may be written to a
 * text file that is byte-identical between runs with the same seed.
 *
 * Randomness: the world seed is split with splitmix64/xxh3 into named
 * streams (the scheduler, each node by name), so adding a node or a
 * subsystem never shifts another stream.
 */
#ifndef AKT_SIM_H
#define AKT_SIM_H

#include <stdint.h>

#include "akt/backend.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_sim_world akt_sim_world;

/* Limits and defaults. */
#define AKT_SIM_MAX_NODES 1024
#define AKT_SIM_NODE_NAME_MAX 63
#define AKT_SIM_DEFAULT_TURN_COST AKT_MICROS(1)
#define AKT_SIM_DEFAULT_MAX_STEPS UINT64_C(100000000) /* run_until_idle's step bound */
#define AKT_SIM_EPOCH_NS INT64_C(1767225600000000000) /* wall clock at t=0: 2026-01-01Z */

/* Options for akt_sim_world_new. A zeroed struct (or NULL) means defaults. */
typedef struct akt_sim_options {
  uint64_t seed;            /* the world seed */
  int fifo;                 /* non-zero: run turns first-in first-out, not by seeded choice */
  const char *trace_path;   /* write every trace record to this file; NULL: don't */
  akt_duration turn_cost;   /* virtual time one actor turn takes; 0 = default (1 µs) */
  uint64_t max_steps;       /* bound for akt_sim_run_until_idle; 0 = default */
  int log_stderr;           /* non-zero: also print log lines to stderr */
} akt_sim_options;

/* Creates a world. On success writes it to *out (free with
 * akt_sim_world_free). Returns 0, AKT_ENOMEM, or AKT_EBACKEND (the trace
 * file could not be opened). */
int akt_sim_world_new(const akt_sim_options *opts, akt_sim_world **out);

/* Frees the world, its nodes and every pending event (their callbacks do
 * not run). Free every akt_system on its nodes first. NULL is a no-op. */
void akt_sim_world_free(akt_sim_world *w);

/* Adds a node named `name` (1..AKT_SIM_NODE_NAME_MAX of [A-Za-z0-9_.-],
 * unique in the world). On success writes its backend, owned by the world,
 * to *out. The node's host for addresses is its name. Returns 0, AKT_EINVAL,
 * AKT_ENAME, AKT_EEXIST, AKT_ELIMIT (AKT_SIM_MAX_NODES), or AKT_ENOMEM. */
int akt_sim_node_new(akt_sim_world *w, const char *name, akt_backend **out);

/* The world a simulated backend belongs to, or NULL if `b` is not
 * simulated. */
akt_sim_world *akt_sim_world_of(akt_backend *b);

/* The name of a simulated node's backend ("" if not simulated). */
const char *akt_sim_node_name(akt_backend *b);

/* Does one step: fires one due event, or runs one actor turn, or jumps the
 * clock to the next event and fires it. Returns 1 if something happened, 0
 * if the world is idle (nothing runnable, no events), AKT_ESTATE if called
 * from inside a step (an actor or a callback). */
int akt_sim_step(akt_sim_world *w);

/* Steps until the world is idle. Returns 0, AKT_ELIMIT after max_steps
 * steps (e.g. a repeating timer keeps it busy forever), or AKT_ESTATE. */
int akt_sim_run_until_idle(akt_sim_world *w);

/* Runs every event and turn up to now + d, then sets the clock to now + d.
 * Returns 0 or AKT_ESTATE. */
int akt_sim_run_for(akt_sim_world *w, akt_duration d);

/* Runs until ready(arg) returns non-zero (checked before every step) or the
 * clock reaches `deadline`. Returns 0 if ready, AKT_ETIMEDOUT, or
 * AKT_ESTATE. When nothing is left to run before the deadline, the clock
 * jumps to the deadline. */
int akt_sim_run_until(akt_sim_world *w, int (*ready)(void *arg), void *arg, uint64_t deadline);

/* The virtual clock, in ns since the world began. */
uint64_t akt_sim_now(const akt_sim_world *w);

/* The world seed. */
uint64_t akt_sim_seed(const akt_sim_world *w);

/* The running xxh3-64 digest of every trace record so far. */
uint64_t akt_sim_digest(const akt_sim_world *w);

/* The number of trace records so far. */
uint64_t akt_sim_records(const akt_sim_world *w);

/* The number of steps done so far (events fired plus turns run). */
uint64_t akt_sim_steps(const akt_sim_world *w);

/* Adds an application record (kind "user") to the trace and digest, on
 * behalf of node `b` (NULL: the world). `what` and `detail` may be NULL. */
void akt_sim_note(akt_sim_world *w, akt_backend *b, const char *what, const char *detail,
                  uint64_t value);

#ifdef __cplusplus
}
#endif

#endif
