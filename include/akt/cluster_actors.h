/* akt — cluster actors: actors addressed by a cluster-wide name, with at
 * most one activation at any time.
 *
 * On top of membership (akt/cluster.h), akt_cluster_actors_start gives a
 * system the cluster-actor layer. A *kind* (an actor definition with a
 * name, registered on every node that may host it) has cluster-named
 * actors:
 *
 *   named      spawned explicitly by name from any node (akt_cluster_spawn),
 *              live until stopped (akt_cluster_actor_stop), relocated when
 *              their host leaves or dies;
 *   singleton  a named actor placed on the oldest member that has the
 *              kind's roles (akt_cluster_singleton_start);
 *   virtual    (grains) exist implicitly: a message to any name of the
 *              kind activates it on the owner of the name's partition, and
 *              an idle one is passivated.
 *
 * The promise (docs/cluster.md, "Cluster actors", argues it and its limits):
 * for every cluster name, at most one activation processes messages at any
 * time — across partitions, crashes, restarts, pauses and clock drift up to
 * max_drift_ppm — and once faults stop, exactly one activation exists for
 * every live name and every name resolves. It rests on three mechanisms:
 *   - a replicated log (Paxos, one slot at a time) that holds the
 *     configuration ("epoch": the members that host cluster actors) and
 *     the directory of named actors; a configuration change commits only
 *     with a winning set of the previous configuration, where "winning" is
 *     the downing strategy's rule, so two disjoint sides never both move on;
 *   - leases: a node processes a message of a cluster actor only while it
 *     holds a lease acknowledged by a winning set of its configuration in
 *     the last `lease` (by its own monotonic clock, counted from when it
 *     asked); a member that voted for a newer configuration stops
 *     acknowledging leases of the older one;
 *   - waiting: a node that becomes the host of a name by a configuration
 *     change starts it only after lease * (1 + rho) / (1 - rho) + margin
 *     on its own clock, unless the old host handed the actor over.
 *
 * Threads: every function may be called from any thread unless it says
 * otherwise. Blocking calls (akt_cluster_spawn, ...) must be called from
 * outside actors; from inside an actor send the requests in
 * akt/cluster_actors.pb-c.h (Spawn, Stop, Lookup) to akt_cluster_actors_pid
 * with akt_request: the answer is an akt.ca.Reply.
 */
#ifndef AKT_CLUSTER_ACTORS_H
#define AKT_CLUSTER_ACTORS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/actor.h"
#include "akt/backend.h"
#include "akt/placement.h"
#include "akt/pid.h"
#include "akt/system.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The event stream topic of cluster-actor events (akt.ca.ActorEvent). */
#define AKT_TOPIC_CLUSTER_ACTORS "akt.cluster.actors"

/* ---- limits and defaults ------------------------------------------------------ */

#define AKT_CLUSTER_KINDS_MAX 256          /* kinds registered on one system */
#define AKT_CLUSTER_KIND_ROLES_MAX 8       /* roles a kind may require */
/* A cluster name: 1..AKT_NAME_MAX bytes of [A-Za-z0-9_.-], not starting
 * with '$' (an actor name: activations are /user/akt.cluster/NAME). */

/* The lease: how long a node may process messages of its cluster actors
 * after it asked a winning set of its configuration, which answered. */
#define AKT_CLUSTER_DEFAULT_LEASE AKT_SECONDS(4)
/* The bound on clock drift the promise assumes: how far a node's monotonic
 * clock may run fast or slow against real time, in millionths. */
#define AKT_CLUSTER_DEFAULT_MAX_DRIFT_PPM 1000
/* The margin added to a new host's wait: at least the longest turn an
 * activation may take (a turn that began just before its lease ran out
 * ends within it). */
#define AKT_CLUSTER_DEFAULT_TURN_MARGIN AKT_MILLIS(200)
/* How long a leaving node keeps membership LEAVING while it hands its
 * activations over, and how long a new host waits for a hand-off from an
 * old host that is still alive. */
#define AKT_CLUSTER_DEFAULT_HANDOFF_TIMEOUT AKT_SECONDS(10)
/* Messages held for one name while it has no running activation (moving,
 * starting), and for all names on a node. */
#define AKT_CLUSTER_DEFAULT_HOLD_PER_NAME 1024
#define AKT_CLUSTER_DEFAULT_HOLD_TOTAL 65536
/* How long a spawn, stop or lookup waits for the log before it fails with
 * AKT_ETIMEDOUT, when the request does not say. */
#define AKT_CLUSTER_DEFAULT_REQUEST_TIMEOUT AKT_SECONDS(10)

/* ---- state stores ------------------------------------------------------------ */

/* A durable store of actor state, addressed by cluster name, with a version
 * per name and fencing. Asynchronous: every operation answers once, later,
 * through `cb` — never from inside the call — on any thread.
 *
 * Fencing: every operation carries a fence (a number that grows with every
 * new activation of a name, across nodes). A store must refuse, with
 * AKT_ESTATE, an operation whose fence is below the highest fence it has
 * seen for that name (a get counts as seen): a write from an old
 * activation that arrives after a newer activation read the state must not
 * overwrite it. */
typedef struct akt_cluster_store akt_cluster_store;

/* The answer to one operation: status 0 (get: `data`/`len` hold the state,
 * valid during the call; put: `version` is the new version), AKT_ENOENT
 * (get, delete: nothing stored), AKT_ESTATE (fenced), or another AKT_E*
 * code (a storage fault). */
typedef void (*akt_cluster_store_fn)(void *arg, int status, const uint8_t *data, size_t len,
                                     uint64_t version);

typedef struct akt_cluster_store_ops {
  const char *name;
  /* Each starts one operation on behalf of a node whose backend is `b`
   * (the store may use it for timers), writes an id (non-zero) to *op and
   * returns 0, or returns an AKT_E* code (cb will not run). */
  int (*get)(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
             akt_cluster_store_fn cb, void *arg, uint64_t *op);
  int (*put)(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
             const uint8_t *data, size_t len, akt_cluster_store_fn cb, void *arg, uint64_t *op);
  int (*del)(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
             akt_cluster_store_fn cb, void *arg, uint64_t *op);
  /* Drops operation `op`: its cb never runs after cancel returns. Called on
   * the backend's I/O context (where its timers fire), or when nothing
   * else runs (a simulated crash). */
  void (*cancel)(akt_cluster_store *s, akt_backend *b, uint64_t op);
  /* Frees the store (no operation may be pending). */
  void (*free)(akt_cluster_store *s);
} akt_cluster_store_ops;

struct akt_cluster_store {
  const akt_cluster_store_ops *ops;
  void *impl;
};

/* Limits of the in-memory store. */
#define AKT_CLUSTER_STORE_VALUE_MAX (16u << 20) /* bytes of one state */
#define AKT_CLUSTER_STORE_NAMES_MAX (1u << 20)  /* names stored */

/* An in-memory store (for tests, and for state that only has to survive
 * the loss of one node when shared by the nodes of one process). Thread
 * safe; each operation takes effect when called and answers through a
 * zero-delay timer of the caller's backend. Writes the store to *out (free
 * with its ops->free once nothing is pending). Returns 0, AKT_EINVAL or
 * AKT_ENOMEM. */
int akt_cluster_store_memory_new(akt_cluster_store **out);

/* Faults the in-memory store can inject (the simulator's workloads use
 * it as the world's durable store: it survives node crashes). Random
 * numbers come from the caller's backend, so a simulated run replays. */
typedef struct akt_cluster_store_faults {
  akt_duration latency_max; /* each answer comes after a uniform delay up to this */
  uint32_t fail_ppm;        /* operations that fail with AKT_EBACKEND (and change
                               nothing), in millionths */
} akt_cluster_store_faults;

/* akt_cluster_store_memory_new with faults (NULL: none). Returns 0,
 * AKT_EINVAL (fail_ppm above 1000000), AKT_ENOMEM. */
int akt_cluster_store_memory_new_with(const akt_cluster_store_faults *faults,
                                      akt_cluster_store **out);

/* Operations of an in-memory store whose answer has not run yet. */
size_t akt_cluster_store_memory_pending(akt_cluster_store *s);

/* ---- kinds ----------------------------------------------------------------------- */

typedef enum akt_cluster_kind_mode {
  AKT_CLUSTER_NAMED = 0,   /* spawned and stopped explicitly (singletons too) */
  AKT_CLUSTER_VIRTUAL = 1  /* grains: activated on first message, passivated when idle */
} akt_cluster_kind_mode;

/* Where an activation's state came from (given to restore). */
typedef enum akt_cluster_state_from {
  AKT_CLUSTER_STATE_HANDOFF = 1, /* its previous host handed it over */
  AKT_CLUSTER_STATE_STORE = 2    /* the last checkpoint in the kind's store */
} akt_cluster_state_from;

/* A kind of cluster actor. Register the same kinds (name, mode, roles,
 * store) on every node that may host them. The pointers must outlive the
 * system. */
typedef struct akt_cluster_kind {
  const char *name;            /* 1..AKT_NAME_MAX bytes */
  const akt_actor_def *def;    /* the actor; its pre_start, receive and post_stop run as usual */
  akt_cluster_kind_mode mode;
  const char *const *roles;    /* roles a host must have (nroles <= AKT_CLUSTER_KIND_ROLES_MAX) */
  size_t nroles;
  akt_spawn_on spawn_on;       /* named: where akt_cluster_spawn places it (default: owner) */
  akt_duration passivate_after; /* virtual: stop an activation idle this long (0: never) */
  /* The type of the state handed over and checkpointed (NULL: none). */
  const ProtobufCMessageDescriptor *state_type;
  /* Runs in the activation, after its last message, when it moves to
   * another node while this one stays up (a leave, a join): call
   * akt_cluster_handoff_state with the state to hand over (or don't: the
   * new activation then starts from the store, or fresh). A non-zero
   * return is reported as lost state. Optional. */
  int (*handoff)(akt_ctx *ctx);
  /* Runs in a new activation right after pre_start and before its first
   * message, with the state handed over or read from the store (valid
   * during the call). Not called when there is none. A non-zero return
   * fails the activation like a failing pre_start. Optional. */
  int (*restore)(akt_ctx *ctx, const ProtobufCMessage *state, akt_cluster_state_from from);
  /* Where checkpoints go, and where a new activation looks for state when
   * nothing was handed over (NULL: nowhere). Borrowed. */
  akt_cluster_store *store;
  const void *arg;             /* akt_cluster_ctx_arg */
} akt_cluster_kind;

/* Registers a kind (copied; the pointed-to objects are borrowed), after
 * akt_cluster_actors_start. A virtual kind's names are "KIND.KEY" (so its
 * name has no '.'); a named kind's names are any other cluster names.
 * Returns 0, AKT_EINVAL (no def, receive, name; a bad name or role; state
 * hooks without state_type), AKT_EEXIST (a kind with that name),
 * AKT_ELIMIT (AKT_CLUSTER_KINDS_MAX), AKT_ESTATE (the layer is not
 * started), AKT_ENOMEM. */
int akt_cluster_register_kind(akt_system *sys, const akt_cluster_kind *kind);

/* ---- events ------------------------------------------------------------------------- */

typedef enum akt_cluster_actor_event_kind {
  AKT_CLUSTER_ACTOR_ACTIVATED = 1,     /* an activation started here (detail: fresh,
                                          hand-off or store) */
  AKT_CLUSTER_ACTOR_PASSIVATED = 2,    /* an idle virtual actor stopped */
  AKT_CLUSTER_ACTOR_RETIRED = 3,       /* an activation stopped here: it moved or was stopped */
  AKT_CLUSTER_ACTOR_HANDED_OFF = 4,    /* its state went to its new host */
  AKT_CLUSTER_ACTOR_STATE_LOST = 5,    /* started without the state it had (detail says why) */
  AKT_CLUSTER_ACTOR_MESSAGES_LOST = 6, /* `count` messages to it were dropped (detail: why) */
  AKT_CLUSTER_ACTOR_EPOCH = 7,         /* a configuration committed (epoch: its slot) */
  AKT_CLUSTER_ACTOR_LEASE_GAINED = 8,  /* this node holds a lease again */
  AKT_CLUSTER_ACTOR_LEASE_LOST = 9     /* this node's lease ran out */
} akt_cluster_actor_event_kind;

/* An event as the listener sees it (strings valid during the call). */
typedef struct akt_cluster_actor_event {
  akt_cluster_actor_event_kind kind;
  const char *name;      /* the cluster name ("" for epoch and lease events) */
  const char *kind_name; /* its kind ("" when not known) */
  uint64_t epoch;        /* the configuration's slot */
  const char *detail;
  uint64_t count;
  uint64_t at;           /* the backend's monotonic time */
} akt_cluster_actor_event;

/* A synchronous observer (tests, simulator oracles), called with the
 * layer's lock held: quick, and no akt_cluster_* call. */
typedef void (*akt_cluster_actor_listener_fn)(akt_system *sys, const akt_cluster_actor_event *ev,
                                              void *arg);

/* The short name of an event kind ("activated", ...). */
const char *akt_cluster_actor_event_name(akt_cluster_actor_event_kind kind);

/* ---- starting ----------------------------------------------------------------------- */

/* Deliberately broken behaviour, for showing that the simulator's oracles
 * catch real bugs. Never set in production. */
#define AKT_CLUSTER_TEST_NO_FENCING 0x1u   /* no lease check, no wait: start at once */
#define AKT_CLUSTER_TEST_NO_HANDOFF 0x2u   /* moves hand nothing over */
#define AKT_CLUSTER_TEST_NO_TOMBSTONES 0x4u /* a stop stops the activation only */
#define AKT_CLUSTER_TEST_LEADER_ONLY 0x8u  /* only the membership leader proposes */

typedef struct akt_cluster_actors_options {
  akt_duration lease;          /* AKT_CLUSTER_DEFAULT_LEASE */
  uint32_t max_drift_ppm;      /* AKT_CLUSTER_DEFAULT_MAX_DRIFT_PPM (at most 100000) */
  akt_duration turn_margin;    /* AKT_CLUSTER_DEFAULT_TURN_MARGIN */
  akt_duration handoff_timeout; /* AKT_CLUSTER_DEFAULT_HANDOFF_TIMEOUT */
  uint32_t partitions;         /* AKT_PARTITIONS_DEFAULT; the same on every node */
  uint32_t load_pct;           /* AKT_PARTITION_LOAD_PCT_DEFAULT */
  uint32_t hold_per_name;      /* AKT_CLUSTER_DEFAULT_HOLD_PER_NAME */
  uint32_t hold_total;         /* AKT_CLUSTER_DEFAULT_HOLD_TOTAL */
  akt_cluster_actor_listener_fn listener;
  void *listener_arg;
  uint32_t test_flags;         /* AKT_CLUSTER_TEST_*: never in production */
} akt_cluster_actors_options;

/* Starts the cluster-actor layer on a system whose membership is started
 * (akt_cluster_start): spawns /system/cluster-actors and the parent of the
 * activations, /user/akt.cluster. Every node of the cluster must run it
 * with the same partitions and downing strategy. Returns 0, AKT_EINVAL (an
 * option out of range, logged), AKT_ESTATE (membership not started, or
 * already started), AKT_EEXIST (/user/akt.cluster is taken), AKT_ENOMEM.
 * It stops with the system. */
int akt_cluster_actors_start(akt_system *sys, const akt_cluster_actors_options *opts);

/* The PID of /system/cluster-actors (borrowed, valid while the system
 * lives): where actors send Spawn, Stop and Lookup. NULL when not
 * started. */
akt_pid *akt_cluster_actors_pid(akt_system *sys);

/* ---- spawning, stopping, finding ------------------------------------------------------ */

typedef struct akt_cluster_spawn_opts {
  akt_spawn_on spawn_on;  /* overrides the kind's choice when `set_spawn_on` */
  int set_spawn_on;
  int singleton;          /* placed on the oldest member with the kind's roles */
} akt_cluster_spawn_opts;

/* Spawns the cluster actor `name` of kind `kind` (registered here) and
 * waits until the cluster's directory holds it. Of concurrent spawns of
 * one name from anywhere, exactly one returns 0; the others return
 * AKT_EEXIST (as does a spawn of a name that exists). Returns 0,
 * AKT_EEXIST, AKT_ENOENT (unknown kind, or no member may host it),
 * AKT_ENAME, AKT_EINVAL, AKT_ETIMEDOUT, AKT_ESTATE (not started, or called
 * from an actor). */
int akt_cluster_spawn(akt_system *sys, const char *name, const char *kind,
                      const akt_cluster_spawn_opts *opts, akt_duration timeout);

/* Starts the singleton `name` of `kind` (akt_cluster_spawn with
 * singleton): 0 also when it runs already. */
int akt_cluster_singleton_start(akt_system *sys, const char *name, const char *kind,
                                akt_duration timeout);

/* Stops the cluster actor `name` for good: it is removed from the
 * directory (no relocation brings it back) and its activation stops.
 * Returns 0, AKT_ENOENT (no such actor), AKT_ETIMEDOUT, AKT_ESTATE,
 * AKT_ENAME. */
int akt_cluster_actor_stop(akt_system *sys, const char *name, akt_duration timeout);

/* Finds the activation of `name` and writes a new reference to its PID
 * (local, or on another node) to *out, activating a virtual actor.
 * Returns 0, AKT_ENOENT (no such actor), AKT_ETIMEDOUT (it did not become
 * active in time), AKT_ESTATE, AKT_ENAME. A PID names one activation: after
 * a move it reaches nobody; akt_cluster_ref follows the name. */
int akt_cluster_lookup(akt_system *sys, const char *name, akt_duration timeout, akt_pid **out);

/* A PID that stands for the name itself (a new reference): tell, request,
 * ask and forward through it reach whichever activation hosts the name,
 * wherever and whenever that is, replies included. Messages sent while the
 * name moves are held (up to the hold limits) and delivered once it runs
 * again, or go to dead letters with the reason. Returns 0, AKT_ENAME,
 * AKT_ESTATE, AKT_ELIMIT (too many references in use), AKT_ENOMEM. */
int akt_cluster_ref(akt_system *sys, const char *name, akt_pid **out);

/* Sends `msg` to the cluster actor `name` with `sender` (may be NULL).
 * Returns 0 when routed (or held), AKT_ENAME, AKT_ESTATE, AKT_ELIMIT,
 * AKT_ENOMEM. */
int akt_cluster_tell(akt_system *sys, const char *name, const ProtobufCMessage *msg,
                     akt_pid *sender);

/* Sends `msg` to `name` and waits for the reply (from outside actors), as
 * akt_ask. Returns its codes and akt_cluster_ref's. */
int akt_cluster_ask(akt_system *sys, const char *name, const ProtobufCMessage *msg,
                    akt_duration timeout, ProtobufCMessage **reply);

/* ---- inside a cluster actor ------------------------------------------------------------------ */

/* The cluster name of the current activation, or NULL when `ctx` is not a
 * cluster actor. */
const char *akt_cluster_ctx_name(akt_ctx *ctx);

/* The kind's `arg`, or NULL. */
const void *akt_cluster_ctx_arg(akt_ctx *ctx);

/* In the kind's handoff hook: the state to hand over (packed at once; the
 * last call wins). Returns 0, AKT_EINVAL (not in a handoff hook, or not of
 * the kind's state_type), AKT_ELIMIT, AKT_ENOMEM. */
int akt_cluster_handoff_state(akt_ctx *ctx, const ProtobufCMessage *state);

/* Writes `state` (of the kind's state_type) to the kind's store, fenced
 * for this activation. When it is done the actor receives an
 * akt.ca.CheckpointDone with `tag`. Returns 0 (it will), AKT_EINVAL (no
 * store, another type, not a cluster actor), AKT_ELIMIT, AKT_ENOMEM. */
int akt_cluster_checkpoint(akt_ctx *ctx, const ProtobufCMessage *state, uint64_t tag);

/* ---- counters --------------------------------------------------------------------------------- */

typedef struct akt_cluster_actors_stats {
  uint64_t epoch;                 /* slot of the configuration in force here */
  uint64_t applied;               /* slots applied */
  uint64_t members;               /* members of the configuration */
  int lease_valid;                /* this node holds a lease now */
  uint64_t epochs;                /* configurations applied */
  uint64_t proposals, ballots_lost, slots_decided;
  uint64_t lease_rounds, leases_gained, leases_lost, lease_acks_refused;
  uint64_t activations, retirements, passivations;
  uint64_t handoffs_sent, handoffs_received, handoffs_late;
  uint64_t handoffs_resent;       /* kept hand-offs sent again when their receiver asked */
  uint64_t handoffs_unkept;       /* hand-offs not kept for a resend (AKT__CA_KEPT_MAX) */
  uint64_t handoffs_dup;          /* copies of a hand-off taken already, ignored */
  uint64_t handoffs_unremembered; /* hand-offs taken but not remembered (AKT__CA_TAKEN_MAX) */
  uint64_t state_lost;
  uint64_t routed, forwarded, delivered_local;
  uint64_t held, hold_dropped;    /* messages held; dropped at a hold limit */
  uint64_t dead;                  /* messages to names that do not exist */
  uint64_t catchups, snapshots_sent, snapshots_applied;
  uint64_t foreign;               /* messages from another cluster's log */
  uint64_t store_gets, store_puts, store_errors;
  uint64_t refs;                  /* name references in the table */
  uint64_t directory;             /* named actors in the directory */
  uint64_t active;                /* activations running here */
} akt_cluster_actors_stats;

/* Fills *out (zeros when not started). */
void akt_cluster_actors_get_stats(akt_system *sys, akt_cluster_actors_stats *out);

#ifdef __cplusplus
}
#endif

#endif
