/* akt — the simulated world (internal). */
#ifndef AKT_SIM_WORLD_H
#define AKT_SIM_WORLD_H

#include <stdint.h>
#include <stdio.h>
#include <xxhash.h>

#include "akt/sim.h"
#include "src/util/assert.h"
#include "src/util/rng.h"
#include "src/util/u64set.h"

typedef struct akt__sim_node akt__sim_node;
typedef struct akt__sim_net akt__sim_net;
typedef struct akt__sim_names akt__sim_names;

/* One scheduled event. Plain data, kept by value in the heap. */
typedef struct akt__sim_event {
  uint64_t time;        /* virtual ns */
  uint64_t seq;         /* tie-breaker: insertion order */
  uint64_t id;          /* timer id (in the live set while pending), or 0 */
  akt__sim_node *node;  /* owner, or NULL for world events */
  akt_timer_fn fn;
  void *arg;
  uint64_t cookie;
} akt__sim_event;

/* A runnable actor turn waiting to be picked. */
typedef struct akt__sim_turn {
  akt__sim_node *node;
  akt_runnable *r;
} akt__sim_turn;

struct akt__sim_node {
  akt_backend backend;   /* ops, impl = this node, flags */
  akt_sim_world *world;
  uint32_t index;
  char name[AKT_SIM_NODE_NAME_MAX + 1];
  akt__rng rng;          /* the node's stream (random_u64) */
  akt__rng io_rng;       /* the node's I/O delays (offloaded work) */
  /* Faults (node_faults.c). */
  akt_sim_node_hooks hooks;
  uint32_t incarnation;  /* 1 at creation, +1 per restart */
  unsigned down : 1;     /* crashed and not restarted */
  unsigned paused : 1;   /* its turns are not picked, its events are deferred */
  /* Clock (node_faults.c): now = t + skew + drift_base
   *                              + floor((t - drift_since) * drift_ppm / 1e6).
   * A drift change folds what the old rate gained into drift_base, so the
   * clock does not jump; a skew change is a step. */
  int64_t skew;
  int32_t drift_ppm;
  int64_t drift_base;    /* what earlier drift rates added, up to drift_since */
  uint64_t drift_since;  /* world time the current rate applies from */
  akt__sim_event *deferred; /* events that came due while paused, in (time, seq) order */
  size_t ndeferred, capdeferred;
};

struct akt_sim_world {
  akt_sim_options opts;  /* defaults filled in; trace_path not kept */
  uint64_t now;
  uint64_t seq;
  akt__rng sched_rng;    /* chooses the next turn */
  akt__rng fault_rng;    /* every fault draw (fault.c): never shifts another stream */
  akt__sim_event *heap;  /* binary min-heap on (time, seq) */
  size_t nheap, capheap;
  akt__u64set live;      /* ids of timers not yet fired or canceled */
  uint64_t next_timer_id;
  akt__sim_turn *turns;  /* runnable turns: [turn_head, nturns) */
  size_t turn_head, nturns, capturns;
  akt__sim_node **nodes;
  size_t nnodes;
  int in_step;
  akt__sim_node *cur_node; /* whose turn or event runs now (NULL: none, or the world's) */
  size_t npaused;        /* nodes paused now: when 0, turns are taken without a scan */
  uint64_t steps;
  akt__sim_net *net;     /* links, streams, datagrams (net.c); NULL until first used */
  akt__sim_names *names; /* the name table and lookups in flight (names.c); NULL until used */
  /* trace */
  XXH3_state_t *digest;
  FILE *trace_file;
  uint64_t records;
  /* The assertion reporter this world replaced on its thread (restored by
   * akt_sim_world_free when this world's is still the current one). */
  akt__assert_reporter prev_reporter;
};

/* Events (events.c). Push returns 0 or AKT_ENOMEM; an event time before
 * now is an assertion failure (it would fire late with no trace of why). */
int akt__sim_push_event(akt_sim_world *w, const akt__sim_event *ev);
void akt__sim_pop_event(akt_sim_world *w, akt__sim_event *out);

/* Adds a turn to the runnable set (never fails: aborts only on OOM, which a
 * simulation cannot replay past). */
void akt__sim_add_turn(akt_sim_world *w, akt__sim_node *node, akt_runnable *r);

/* Removes every queued turn of `node`, keeping the others in order (a
 * crash: the runnables point into memory about to be freed). */
void akt__sim_drop_turns(akt_sim_world *w, const akt__sim_node *node);

/* Puts the events `node` deferred while paused back into the queue, each
 * at max(its time, now), in their original (time, seq) order; they fire
 * from the next step. Aborts on ENOMEM, as every lost event would. */
void akt__sim_undefer(akt_sim_world *w, akt__sim_node *node);

/* The node's clock at world time `t` (see akt__sim_node's clock fields),
 * rounded down and saturated to [0, UINT64_MAX] (node_faults.c). */
uint64_t akt__sim_node_clock(const akt__sim_node *n, uint64_t t);

/* The world time a node-time delay `d` takes on `n`: d * 1e6 / (1e6 +
 * drift_ppm), rounded up so a timer never fires early by the node's own
 * clock; saturated (node_faults.c). */
uint64_t akt__sim_node_delay(const akt__sim_node *n, uint64_t d);

/* The first world time at which the node's clock reads at least `node_t`
 * (node_faults.c); AKT_FOREVER stays AKT_FOREVER. */
uint64_t akt__sim_node_world_time(const akt__sim_node *n, uint64_t node_t);

/* Records a fault record (kind net) on `node` (NULL: the world). */
void akt__sim_fault_trace(akt_sim_world *w, const akt__sim_node *node, const char *type,
                          const char *text, int64_t code, uint64_t hash);

/* Records one trace line for `node` (NULL: the world) and folds it into the
 * digest (trace.c). */
void akt__sim_record(akt_sim_world *w, const akt__sim_node *node, const akt_event *ev);

/* Writes a record's fields before its type ("<s>.<ns9> <node> <kind> a= p=
 * c= h= t=") into line[0..cap), NUL-terminated and cut at cap - 1 as
 * snprintf would cut it; returns its length. `now` is virtual ns. Exposed
 * for the test that compares it with snprintf (trace.c). */
size_t akt__sim_record_head(char *line, size_t cap, uint64_t now, const char *node,
                            const char *kind, const akt_event *ev);

/* Frees the network state: every connection, listener, datagram endpoint
 * and byte in flight, without callbacks (net.c). */
void akt__sim_net_free(akt_sim_world *w);

/* The name table (names.c): ops.resolve and ops.resolve_srv, and freeing
 * the table, answering the lookups not yet answered with AKT_ESTOPPED. */
int akt__sim_resolve(akt_backend *b, const char *name, akt_resolve_fn cb, void *data);
int akt__sim_resolve_srv(akt_backend *b, const char *name, akt_resolve_srv_fn cb, void *data);
void akt__sim_names_free(akt_sim_world *w);

/* The backend operations of simulated nodes (node.c). */
extern const akt_backend_ops akt__sim_ops;

#endif
