/* akt — what the cluster-actor workloads share (singleton, spawn-storm,
 * named, grains): starting a node's system, membership and the cluster-actor
 * layer; the schedules that change the cluster on purpose (scale up, scale
 * down, a graceful rolling restart); the world's durable store; and the
 * activation oracle.
 *
 * The activation oracle sees every activation's start, every turn and its
 * stop (the workloads' actors report them), and every crash. Its safety
 * check is the promise itself: turns of two activations of one name never
 * interleave — once a newer activation of a name ran a turn, an older one
 * never runs another. Its liveness check: after the quiet period, every
 * name that must exist has exactly one live activation, on a node that is
 * a member of the cluster.
 *
 * Each workload's shared state begins with a cw_state (its first member),
 * so the helpers find it with akt_scenario_state.
 */
#ifndef AKT_SIM_WORKLOADS_CLUSTER_COMMON_H
#define AKT_SIM_WORKLOADS_CLUSTER_COMMON_H

#include "akt/cluster.h"
#include "akt/cluster_actors.h"
#include "akt/cluster_actors.pb-c.h"
#include "sim/workloads/common.h"

#define CW_MAX_NODES AKT_SCENARIO_MAX_NODES
#define CW_MAX_NAMES 512       /* names the oracle follows */
#define CW_NAME_MAX 48         /* bytes of a followed name, NUL included */
#define CW_MAX_ACTS 16384      /* activations the oracle follows; more are counted, not checked */
#define CW_GOSSIP_PORT 7946
#define CW_STORE_VALUE_MAX 2048 /* bytes of one state in the world's store */
#define CW_STORE_OPS 1024      /* store operations in flight */

/* The parameters every cluster-actor workload takes (part of its table). */
#define CW_PARAMS                                                                              \
  {"downing", "0 keep-majority, 1 static-quorum, 2 keep-oldest, 3 down-all (default 0)"},      \
      {"quorum", "static-quorum's quorum"},                                                    \
      {"start_spread", "a cold start: each node starts its cluster after a random delay up to "  \
                       "this (default 0)"},                                                    \
      {"start_from", "nodes from this index on start their cluster late (scale up; default: "  \
                     "none)"},                                                                 \
      {"start_at", "when the first late node starts (default 20s)"},                           \
      {"start_every", "between two late starts (default 10s)"},                                \
      {"leave_from", "nodes from this index on leave gracefully and stay out (scale down; "    \
                     "default: none)"},                                                        \
      {"leave_at", "when the first of them leaves (default 20s)"},                             \
      {"leave_every", "between two leaves (default 10s)"},                                     \
      {"roll_at", "a graceful rolling restart: node k leaves at roll_at + k * roll_every, "    \
                  "then restarts (default: none)"},                                            \
      {"roll_every", "between two nodes of the rolling restart (default 15s)"},                \
      {"store", "1: state is checkpointed in the world's store (default 0)"},                  \
      {"store_fail", "the store's operations that fail, in millionths (default 0)"},           \
      {"store_latency", "the store answers within this (default 5ms)"},                        \
      {"fencing", "0: BROKEN, no lease check and no wait (default 1)"},                        \
      {"handoff", "0: BROKEN, moves hand no state over (default 1)"},                          \
      {"tombstones", "0: BROKEN, a stop stops the activation only (default 1)"},               \
      {"proposer_fallback", "0: BROKEN, only the membership leader proposes (default 1)"},     \
      {"lease", "the lease (default 4s)"}

/* An activation as the oracle sees it. */
typedef struct cw_act {
  uint32_t name;
  uint32_t node;
  int live;                /* started, not stopped, its node not crashed */
  int superseded;          /* a newer activation of its name has run */
  uint64_t started, last_turn;
} cw_act;

typedef struct cw_name {
  char name[CW_NAME_MAX];
  uint64_t current;        /* the activation (id + 1) that ran last; 0: none */
  uint32_t activations;
} cw_name;

enum { CW_ROLL_NONE = 0, CW_ROLL_LEAVING, CW_ROLL_DONE };

typedef struct cw_node {
  akt_scenario *sc;
  size_t index;
  akt_backend *b;
  akt_system *sys;         /* NULL while crashed */
  int up;                  /* the process runs */
  int started;             /* its cluster was started */
  int left;                /* it left gracefully and stays out */
  int roll;                /* CW_ROLL_* */
  uint64_t timer;          /* a scheduled start, leave or roll step */
} cw_node;

/* The world's store: fixed memory in the shared state (it survives node
 * crashes and needs no freeing), with the fencing and versions of the
 * store interface, and injected latency and faults. */
typedef struct cw_entry {
  char name[CW_NAME_MAX];
  int present;
  uint64_t fence, version;
  size_t len;
  uint8_t data[CW_STORE_VALUE_MAX];
} cw_entry;

typedef struct cw_store_op {
  uint64_t id;             /* 0: free */
  akt_backend *b;
  uint64_t timer;
  akt_cluster_store_fn cb;
  void *arg;
  int status;
  uint64_t version;
  size_t len;
  uint8_t data[CW_STORE_VALUE_MAX];
} cw_store_op;

typedef struct cw_state cw_state;
struct cw_state {
  akt_scenario *sc;
  cw_node node[CW_MAX_NODES];
  cw_name names[CW_MAX_NAMES];
  uint32_t nnames;
  cw_act acts[CW_MAX_ACTS];
  uint32_t nacts;
  uint64_t acts_unfollowed;
  akt__wl_violations overlap;
  uint64_t state_lost, messages_lost, handed_off, lease_lost, passivated;
  /* the store */
  akt_cluster_store store;
  cw_entry entries[CW_MAX_NAMES];
  cw_store_op ops[CW_STORE_OPS];
  uint64_t next_op;
  uint64_t store_faults;
  /* The workload's own: registers its kinds on a node's system (after
   * the layer started); its driver, spawned on every node once the kinds
   * are registered (argument: the scenario), under its kind's name. */
  int (*kinds)(cw_state *cw, size_t i, akt_system *sys);
  const akt_actor_def *driver;
};

static inline cw_state *cw_of(akt_scenario *sc) { return (cw_state *)akt_scenario_state(sc); }

/* The node's system; its cluster and layer start now or at the node's
 * scheduled time, then the workload's kinds and driver; its leave or roll
 * is scheduled. Returns 0 or a code. */
int cw_node_start(akt_scenario *sc, size_t i, akt_backend *b,
                  int (*kinds)(cw_state *cw, size_t i, akt_system *sys),
                  const akt_actor_def *driver);
/* The node crashed: its activations are dead. */
void cw_node_down(akt_scenario *sc, size_t i);

/* Is node i a member now (its cluster runs and it did not leave)? */
int cw_member(cw_state *cw, size_t i);

/* The index of a name the oracle follows (added if new; -1 when full). */
long cw_name_of(cw_state *cw, const char *name);

/* An activation of `name` started on node `node` (its pre_start): its id
 * for the calls below. */
uint64_t cw_act_start(cw_state *cw, const char *name, size_t node);
/* It runs a turn now (checks the interleaving). */
void cw_turn(cw_state *cw, uint64_t act);
/* It stopped (its post_stop). */
void cw_act_stop(cw_state *cw, uint64_t act);

/* The checks: overlap (safety) and exactly one live activation for each
 * of the names `want` says (liveness: want(cw, name) non-zero). */
int cw_check_overlap(akt_scenario *sc, char *why);
int cw_check_one_each(akt_scenario *sc, char *why, int (*want)(cw_state *cw, uint32_t name));
/* The same with "at most one" (virtual actors: an idle one is passivated,
 * and may have none). */
int cw_check_at_most_one(akt_scenario *sc, char *why, int (*want)(cw_state *cw, uint32_t name));

/* Sends an akt.ca request (Spawn, Stop, Lookup) from an actor to its
 * node's layer, answer to `fn`. Returns akt_request's code. */
int cw_request(akt_ctx *ctx, const ProtobufCMessage *req, akt_duration timeout, akt_reply_fn fn,
               void *arg);

#endif
