/* akt — the counter cluster actor and its clients, shared by the workloads
 * "named" (named counters, spawned and stopped) and "grains" (virtual
 * counters, activated by their first message and passivated when idle).
 *
 * A counter is a cluster actor of the workload's one kind, named
 * PREFIX + KEY (PREFIX "acct-" for named, "grain." for grains). It applies
 * an increment once per (client, seq) — it keeps each client's last
 * applied seq in its state — and acknowledges it with the counter right
 * after it; a read is acknowledged with the counter. Its state (count and
 * seqs) is handed over when it moves and, with a store, checkpointed: then
 * it acknowledges only what its last successful checkpoint holds (reads
 * too: a read must not show an increment a crash may still lose).
 *
 * Every node's driver is a client (its node's index): one operation at a
 * time, to a random key of the ones the workload offers, by name
 * (akt_cluster_tell), sent again every `op_timeout` until acknowledged —
 * or, with `give_up`, until that long after its call when it was called
 * before the quiet period (then it stays pending in the history: it may
 * take effect later, or never; clients blocked behind a partition go on
 * with other keys, while an operation of the quiet period is sent until
 * answered, so the `answered` check keeps its teeth). The
 * operations are recorded in the shared state (each client's log survives
 * its node's crash) for the linearizability check.
 *
 * The workload's shared state begins with a cc_state (whose first member
 * is the cw_state), so akt_scenario_state finds both.
 */
#ifndef AKT_SIM_WORKLOADS_CLUSTER_COUNTER_H
#define AKT_SIM_WORKLOADS_CLUSTER_COUNTER_H

#include "sim/workloads/cluster_common.h"

#define CC_MAX_OPS 16384   /* operations the oracle records; more are counted, not made */
#define CC_MAX_PENDING 64  /* acknowledgements a counter holds for its checkpoint */
#define CC_TAG_BITS 32      /* checkpoint tags of one activation: below 2^32 */
#define CC_WAIT_MAX AKT_SECONDS(10) /* a member's client may wait this long after the quiet */

/* The counter's key as an operation's object. */
typedef struct cc_op {
  uint32_t key, client;
  uint64_t seq;
  int read;                 /* a read (else an increment) */
  uint64_t call, ret;       /* ret: AKT__LIN_PENDING until acknowledged */
  int64_t value;
  int has_value;
} cc_op;

typedef struct cc_client {  /* a client's durable log (survives its node's crash) */
  uint64_t seq;
  int outstanding;
  uint32_t op;              /* its index in ops */
  uint64_t sent_at;
} cc_client;

typedef struct cc_state cc_state;
struct cc_state {
  cw_state cw; /* first */
  /* Set by the workload before its nodes start: */
  const char *prefix;       /* a counter's name is prefix + key */
  unsigned keys;            /* keys 0 .. keys-1 */
  int store;                /* checkpoint in the world's store, acknowledge what it holds */
  akt_duration give_up;     /* the default of the `give_up` parameter (0: never) */
  /* Called in every new activation's pre_start (NULL: nothing). */
  void (*started)(cc_state *st, akt_ctx *ctx, const char *name, long key);
  /* The clients and what they did: */
  cc_client client[CW_MAX_NODES];
  cc_op ops[CC_MAX_OPS];
  uint32_t nops;
  uint64_t ops_unrecorded, retries, acks, abandoned;
  uint64_t generations;     /* activations started (each one's checkpoint tags are its own) */
  uint64_t foreign_done;    /* CheckpointDones of earlier activations, ignored */
};

/* The counter actor: the kind's def, handoff and restore hooks (the
 * kind's arg must be the cc_state; its state type aktsim.AccState). */
extern const akt_actor_def cc_counter_def;
int cc_counter_handoff(akt_ctx *ctx);
int cc_counter_restore(akt_ctx *ctx, const ProtobufCMessage *state, akt_cluster_state_from from);

/* The key of a counter's name, or -1 when it is not one of st's. */
long cc_key_of(const cc_state *st, const char *name);
/* Writes key's name to buf (of size n). */
void cc_name(const cc_state *st, uint32_t key, char *buf, size_t n);

/* A client's tick, in its driver: sends its outstanding operation again
 * when `op_timeout` passed, or (none outstanding) starts one on a random
 * key of keys[0..nkeys) — a read with probability reads_pct percent, else
 * an increment. Nothing when nkeys is 0. */
void cc_client_tick(cc_state *st, akt_ctx *ctx, uint32_t client, const unsigned *keys,
                    unsigned nkeys, unsigned reads_pct);
/* The driver of `client` received message `msg`: returns 1 when it was an
 * acknowledgement (recorded when it answers the outstanding operation),
 * else 0. */
int cc_client_ack(cc_state *st, uint32_t client, const ProtobufCMessage *msg);

/* The checks: the history of every counter is linearizable (lincheck's
 * counter model, an increment counting once), and no member's client still
 * waits for an acknowledgement CC_WAIT_MAX after its call. Each returns 1
 * with `why` filled when it fails, else 0. */
int cc_check_linearizable(akt_scenario *sc, char *why);
int cc_check_answered(akt_scenario *sc, char *why);

/* A duration parameter (negative or absent: dflt). */
akt_duration cc_dur(akt_scenario *sc, const char *name, akt_duration dflt);

/* The parameters of the clients (part of a workload's table). */
#define CC_PARAMS                                                                              \
  {"pace", "how often each client may start an operation (default 200ms)"},                   \
      {"op_timeout", "a client sends an unacknowledged operation again after this (default 1s)"}, \
      {"give_up", "a client gives up an operation called before the quiet period this long "    \
                  "after its call (0: never; default: named 0, grains 5s)"}

#endif
