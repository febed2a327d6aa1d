/* akt — cluster actors, internals (see include/akt/cluster_actors.h and
 * docs/cluster.md, "Cluster actors").
 *
 * One akt__ca per system, on top of membership. Its state sits under one
 * mutex, `mu`, and is reached from: /system/cluster's turns (messages from
 * other nodes: membership's extension hook), /system/cluster-actors' turns
 * (requests of actors and of the blocking API, wake-ups), backend timers
 * (lease rounds, the wait of a new configuration, the tick), the threads of
 * senders (name references: route.c), store callbacks, and the turns of
 * activations (their mailbox, pre_start and post_stop). Lock order: ca mu,
 * then the cluster's mu (akt_cluster_members...), then remoting's and the
 * system's locks. Nothing is called with mu held that could come back into
 * the layer and take it: a message to oneself goes through `selfq` and is
 * handled when the outermost holder unlocks (akt__ca_unlock).
 *
 * The only state an activation's turn reads without mu is atomic: the
 * node's lease (lease.c) and the activation's state (activation.c).
 *
 * Files:
 *   actors.c      start, stop, free; /system/cluster-actors; the view of
 *                 membership; timers; messages in and out; events
 *   winning.c     winning sets per downing strategy
 *   config.c      configurations; where a name is placed
 *   directory.c   the replicated state machine: configurations, named
 *                 actors, stopped names; snapshots
 *   log.c         committed slots: applying in order, catch-up, genesis
 *   paxos.c       proposing and accepting slots
 *   lease.c       leases, the wait of a new configuration
 *   activation.c  activations: their records, mailbox, lifecycle, state
 *   handoff.c     moving an activation's state to its new host
 *   route.c       name references, messages by name, lookups
 *   requests.c    spawn, stop and lookup requests, blocking API
 *   store.c       the in-memory store
 */
#ifndef AKT_CLUSTER_ACTORS_INTERNAL_H
#define AKT_CLUSTER_ACTORS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "akt/cluster.h"
#include "akt/cluster_actors.h"
#include "akt/cluster_actors.pb-c.h"
#include "src/actor/envelope.h"
#include "src/cluster/partition.h"
#include "src/cluster/placement.h"
#include "src/system/system.h"
#include "src/util/strtab.h"
#include "src/util/u64set.h"

typedef struct akt__ca akt__ca;
typedef struct akt__ca_act akt__ca_act;

/* ---- limits -------------------------------------------------------------------------- */

#define AKT__CA_MEMBERS_MAX 256          /* members of one configuration */
#define AKT__CA_LOG_KEEP 256             /* committed slots kept for catch-up */
#define AKT__CA_FUTURE_MAX 64            /* commits past a gap kept until it fills */
#define AKT__CA_ENTRIES_PER_MSG 64       /* slots sent in one catch-up answer */
#define AKT__CA_OPS_PER_SLOT 1024        /* directory ops in one slot */
#define AKT__CA_PENDING_OPS_MAX 65536    /* ops waiting at the proposer */
#define AKT__CA_ACC_SLOTS 8              /* slots an acceptor keeps state for */
#define AKT__CA_DIRECTORY_MAX (1u << 20) /* named actors */
#define AKT__CA_TOMBS_MAX 65536          /* stopped names awaiting their host's confirmation */
#define AKT__CA_RECENT_REQS 4096         /* request ids the state machine remembers */
#define AKT__CA_ACTS_MAX (1u << 20)      /* activation records on a node */
#define AKT__CA_REQUESTS_MAX 4096        /* spawn/stop/lookup requests waiting on a node */
#define AKT__CA_REFS_MAX 65536           /* name references */
#define AKT__CA_HOPS_MAX 4               /* forwards of one routed message */
#define AKT__CA_BEHIND_MAX 4096          /* routed messages waiting for this node's log */
#define AKT__CA_STORE_OPS_MAX 65536      /* store operations in flight */
#define AKT__CA_LEASE_ROUNDS 8           /* lease rounds remembered */
#define AKT__CA_SELFQ_MAX 4096           /* messages to oneself waiting for the unlock */
#define AKT__CA_OLD_IDS 4                /* earlier identities an acceptor still votes as */
#define AKT__CA_HISTORY 8                /* configurations kept before `prev` (hand-offs) */
#define AKT__CA_STATE_MAX (16u << 20)    /* bytes of a handed-over or checkpointed state */
#define AKT__CA_KEPT_MAX 65536           /* hand-offs kept for a resend (handoff.c) */
#define AKT__CA_TAKEN_MAX (1u << 20)     /* hand-offs a receiver remembers taking (handoff.c) */
#define AKT__CA_ROLES_MAX AKT_CLUSTER_KIND_ROLES_MAX
#define AKT__CA_BITS (AKT__CA_MEMBERS_MAX / 64)

/* ---- timing (internal) ---------------------------------------------------------------- */

#define AKT__CA_TICK AKT_MILLIS(100)          /* retries, hand-off deadlines, catch-up */
#define AKT__CA_PAXOS_TIMEOUT AKT_MILLIS(1000) /* a phase without a winning set retries */
#define AKT__CA_BACKOFF_MAX AKT_MILLIS(400)   /* random wait before a new ballot */
#define AKT__CA_SUBMIT_EVERY AKT_SECONDS(1)   /* ops not in the log yet are sent again */
#define AKT__CA_CATCHUP_EVERY AKT_MILLIS(300) /* between catch-up requests */
#define AKT__CA_POLL_EVERY AKT_SECONDS(2)     /* a node asks the leader for news */
#define AKT__CA_BEHIND_WAIT AKT_SECONDS(10)   /* a routed message waits this long for the log */
#define AKT__CA_STORE_RETRY AKT_MILLIS(500)   /* after a failed store read */
#define AKT__CA_ASK_EVERY AKT_SECONDS(1)      /* a new host asks the old one for its hand-off */

/* ---- bit sets over a configuration's members ---------------------------------------- */

typedef struct akt__ca_bits {
  uint64_t w[AKT__CA_BITS];
} akt__ca_bits;

static inline void akt__ca_bit_set(akt__ca_bits *b, size_t i) { b->w[i / 64] |= UINT64_C(1) << (i % 64); }
static inline int akt__ca_bit_has(const akt__ca_bits *b, size_t i) {
  return (int)((b->w[i / 64] >> (i % 64)) & 1);
}
size_t akt__ca_bits_count(const akt__ca_bits *b);

/* ---- configurations (config.c) ------------------------------------------------------------ */

typedef struct akt__ca_member {
  char *id, *remoting, *host;
  uint16_t port;
  uint64_t age;
  char **roles;
  size_t nroles;
  akt_pid *peer;   /* its /system/cluster, made on first use (one reference) */
} akt__ca_member;

/* A configuration: the members that host, vote and grant leases, sorted by
 * id, and what placement needs of it. */
typedef struct akt__ca_config {
  uint64_t slot;            /* the slot that set it; 0: none */
  akt__ca_member *m;
  size_t n;
  akt__member *view;        /* placement's view of it (borrows m's strings) */
  const char **role_ptrs;   /* storage behind view[i].roles */
  akt__partition_table *table0; /* the table without a role requirement (NULL: n == 0) */
} akt__ca_config;

/* Builds *out from a Config message (members sorted and checked). Returns 0,
 * AKT_EPROTO (malformed: no member, too many, a duplicate id, bad strings),
 * AKT_ENOMEM. `slot` is recorded. */
int akt__ca_config_from_msg(akt__ca_config *out, const Akt__Ca__Config *msg, uint64_t slot,
                            const akt__partition_config *pcfg);
/* Frees what a configuration owns; it is empty afterwards. */
void akt__ca_config_free(akt__ca_config *c);
/* Moves `from` into `to` (freeing what `to` held); `from` is empty after. */
void akt__ca_config_move(akt__ca_config *to, akt__ca_config *from);
/* Fills a Config message that borrows c's strings; `store` must hold
 * c->n member structs and pointers (free with akt__ca_config_msg_free). */
int akt__ca_config_msg(const akt__ca_config *c, Akt__Ca__Config *msg);
void akt__ca_config_msg_free(Akt__Ca__Config *msg);
/* The index of member `id` in c, or -1. */
long akt__ca_config_find(const akt__ca_config *c, const char *id);
/* 1 if the two hold the same member ids. */
int akt__ca_config_same_ids(const akt__ca_config *a, const Akt__Ca__Config *b);

/* Placements of a directory entry (the Op's `placement`). */
enum { AKT__CA_PLACE_OWNER = 0, AKT__CA_PLACE_OLDEST = 1, AKT__CA_PLACE_FIXED = 2 };

/* Where a name goes in configuration c: the index of its host in c, or -1
 * when no member may host it. `placement`, `fixed` (a member id, for
 * FIXED: used while it is a member with the roles, else the owner) and
 * `need` (roles) come from its directory entry, or the kind of a virtual
 * name. */
long akt__ca_place(akt__ca *ca, const akt__ca_config *c, const char *name, uint32_t placement,
                   const char *fixed, const akt__roles *need);

/* The winning rule of this node's downing strategy: 1 if `voters`
 * (indices into c) win in c. (winning.c) */
int akt__ca_winning(const akt_cluster_options *co, const akt__ca_config *c,
                    const akt__ca_bits *voters);

/* ---- the directory (directory.c) ---------------------------------------------------------- */

typedef struct akt__ca_named {
  void *link;               /* strtab chain */
  char *name, *kind, *node, *requester;
  char **roles;
  size_t nroles;
  uint32_t placement;
  uint64_t req, slot;
  uint32_t idx;             /* position in ca->named */
} akt__ca_named;

typedef struct akt__ca_tomb {
  void *link;
  char *name, *host;
  uint64_t slot;
  uint32_t idx;
} akt__ca_tomb;

/* The roles of an entry as placement takes them. */
static inline akt__roles akt__ca_named_roles(const akt__ca_named *e) {
  return (akt__roles){(const char *const *)e->roles, e->nroles};
}

akt__ca_named *akt__ca_named_find(akt__ca *ca, const char *name);
akt__ca_tomb *akt__ca_tomb_find(akt__ca *ca, const char *name);

/* Applies the value of slot `slot` (the next one): a configuration, or
 * directory ops. Ops this node requested are answered (requests.c).
 * Returns 0 or AKT_EPROTO (a value that does not decode: asserted never to
 * happen for a committed slot, whose bytes passed the same checks). */
int akt__ca_apply(akt__ca *ca, uint64_t slot, const Akt__Ca__Value *v);

/* The replicated state as a Snapshot (free with akt__ca_snapshot_free). */
int akt__ca_snapshot_build(akt__ca *ca, Akt__Ca__Snapshot **out);
void akt__ca_snapshot_free(Akt__Ca__Snapshot *s);
/* Replaces the replicated state with a snapshot's. Returns 0, AKT_EPROTO,
 * AKT_ENOMEM. */
int akt__ca_snapshot_apply(akt__ca *ca, const Akt__Ca__Snapshot *s);
/* Drops the replicated state (a new incarnation starts from nothing). */
void akt__ca_directory_clear(akt__ca *ca);
/* A deep copy of an op (NULL: out of memory); free with
 * akt__ca__op__free_unpacked. */
Akt__Ca__Op *akt__ca_op_copy(const Akt__Ca__Op *op);

/* ---- the log (log.c) --------------------------------------------------------------------------- */

/* A slot was decided, or a Commit arrived: applies it now if it is the
 * next one, keeps it if a gap precedes it (and asks for the gap). */
void akt__ca_log_commit(akt__ca *ca, uint64_t slot, const uint8_t *value, size_t len,
                        const char *from_remoting);
/* Commits from a Commit message / an Entries answer. */
void akt__ca_on_commit(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_entries(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_catch_up(akt__ca *ca, const Akt__Ca__Msg *m);
/* A peer reports having applied `commit` slots: asks it for what this
 * node lacks (rate-limited). */
void akt__ca_log_hint(akt__ca *ca, uint64_t commit, const char *remoting);
/* The packed value of committed slot `slot` if still kept, else NULL. */
const uint8_t *akt__ca_log_get(akt__ca *ca, uint64_t slot, size_t *len);
/* This node founded the cluster: slot 1 is the configuration of itself. */
void akt__ca_genesis(akt__ca *ca);
/* Periodic: catch-up when behind, a poll of the leader. */
void akt__ca_log_tick(akt__ca *ca);
void akt__ca_log_clear(akt__ca *ca);

/* ---- Paxos (paxos.c) ------------------------------------------------------------------------ */

void akt__ca_on_prepare(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_promise(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_accept(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_accepted(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_submit(akt__ca *ca, const Akt__Ca__Msg *m);
/* Queues ops for the log at this node (the proposer); takes ownership. */
int akt__ca_pending_add(akt__ca *ca, Akt__Ca__Op *op);
/* Proposes the next slot when there is something to propose and this node
 * leads; retries a stalled ballot. */
void akt__ca_propose(akt__ca *ca);
/* The slot just applied: the proposer's and the acceptor's bookkeeping
 * moves past it. */
void akt__ca_paxos_applied(akt__ca *ca, uint64_t slot, const Akt__Ca__Value *v);
/* May this node acknowledge leases of epoch `epoch`? (No newer
 * configuration accepted.) */
int akt__ca_paxos_lease_ok(akt__ca *ca, uint64_t epoch);
void akt__ca_paxos_clear(akt__ca *ca);
/* Does this node propose? The proposer chosen in this node's view (`leader`
 * below: the membership leader, or the oldest live member of the
 * configuration when the leader is not one) does, when it is a member of
 * the configuration, or when no member of it is up any more (they were
 * downed: they may still vote as their old selves, see votes_as). */
int akt__ca_proposes(akt__ca *ca);
/* Drops what this node proposes (not what it accepted). */
void akt__ca_paxos_clear_proposer(akt__ca *ca);

/* ---- leases (lease.c) ---------------------------------------------------------------------- */

/* The lease check of an activation's turn (any thread, no lock). */
int akt__ca_lease_ok(akt__ca *ca);
void akt__ca_lease_tick(akt__ca *ca);    /* a new round when due */
void akt__ca_on_lease_req(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_lease_ack(akt__ca *ca, const Akt__Ca__Msg *m);
/* A new configuration is in force: rounds for the old one end; the wait of
 * the new one starts (none for the genesis). */
void akt__ca_lease_epoch(akt__ca *ca, int genesis);
/* Timer callbacks (actors.c dispatches them). */
void akt__ca_lease_round_expired(akt__ca *ca, uint64_t round);
void akt__ca_ready_fired(akt__ca *ca, uint64_t epoch);
void akt__ca_lease_clear(akt__ca *ca);

/* ---- activations (activation.c) ------------------------------------------------------------ */

/* An activation record's states (asserted transitions):
 *   WAITING   placed here, not started: messages are held in the record;
 *             it waits for the configuration's wait, a lease, a hand-off
 *   LOADING   reading its state from the store
 *   ACTIVE    the actor runs; its mailbox admits a message only under a
 *             valid lease
 *   RETIRING  moving away: what was queued before the marker runs
 *   RETIRED   the actor is stopping: its mailbox sends everything on
 *   FAILED    a named actor that stopped on its own (a failure): not
 *             restarted until the next configuration
 *   GONE      the record is out of the table (freed when unreferenced) */
enum {
  AKT__ACT_WAITING = 1,
  AKT__ACT_LOADING,
  AKT__ACT_ACTIVE,
  AKT__ACT_RETIRING,
  AKT__ACT_RETIRED,
  AKT__ACT_FAILED,
  AKT__ACT_GONE
};

typedef struct akt__ca_kind {
  akt_cluster_kind k;       /* the registration (strings point at the copies below) */
  char *name;
  char **roles;
  akt__roles need;
  akt_actor_def def;        /* the user's, with the layer's pre_start and post_stop */
} akt__ca_kind;

/* A probe waiting for an activation to run (a lookup). */
typedef struct akt__ca_probe {
  uint64_t id;
  char *reply_to;           /* remoting address of the asking node */
  struct akt__ca_probe *next;
} akt__ca_probe;

/* A clean hand-off this node sent, kept until handoff_timeout after it
 * was sent: the message can be lost (a connection to the receiver's
 * previous incarnation, at the same address, swallows it), and the
 * receiver asks again while it waits (handoff.c). */
typedef struct akt__ca_kept {
  void *link;               /* strtab chain (ca->kept_tab) */
  uint32_t at;              /* its index in ca->kept */
  char *name;
  char *type;
  uint64_t epoch;           /* the configuration that moved the name away */
  uint8_t *state;
  size_t len;
  int has_state;
  uint64_t until;           /* this node's clock: dropped after */
} akt__ca_kept;

struct akt__ca_act {
  void *link;               /* strtab chain (ca->acts) */
  akt__ca *ca;              /* NULL once the layer is freed (orphaned) */
  _Atomic uint32_t refs;    /* the table's, the mailbox's */
  _Atomic int state;        /* AKT__ACT_* */
  char *name;
  const akt__ca_kind *kind;
  uint32_t idx;             /* position in ca->act_list */
  uint64_t epoch;           /* the configuration it was placed here in */
  int cleared;              /* may start without the configuration's wait */
  int relocated;            /* placed elsewhere in the previous configuration */
  int handoff_expected;     /* the previous host is alive: wait for its hand-off */
  int released;             /* the previous host said it has nothing (this epoch) */
  uint64_t waiting_since;
  uint64_t ask_at;          /* when to ask the previous host for the hand-off again */
  akt_pid *pid;             /* the actor (one reference) while it runs */
  uint64_t fence;
  _Atomic int held;         /* its mailbox refused a message (lease): wake it later */
  akt__env *hold_head, *hold_tail; /* messages held in the record (WAITING, LOADING) */
  uint32_t nheld;
  /* The state the new activation restores (hand-off or store). */
  uint8_t *in_state;
  size_t in_len;
  int in_has, in_from, in_clean;
  /* A hand-off not yet judged: the configuration its sender was in when it
   * let the name go (0: none pending), and the sender. */
  uint64_t in_epoch;
  char *in_sender;
  /* The state the handoff hook gave (activation thread, then read under mu). */
  uint8_t *out_state;
  size_t out_len;
  int out_has, out_rc;
  int in_handoff_hook;
  int retiring_handoff;     /* the retirement hands over (a move, this node up) */
  int retired_by_ca;        /* the layer retired it (moved, stopped, reset) */
  uint64_t retire_epoch;    /* the configuration that moved it away (its hand-off's) */
  uint64_t start_retry_at;  /* a spawn that found the old activation still stopping */
  uint64_t store_op;        /* a read in flight (0: none) */
  uint64_t store_retry_at;
  akt__ca_probe *probes;
};

/* The kind registered under `name`, or NULL (mu held). */
akt__ca_kind *akt__ca_kind_find(akt__ca *ca, const char *name);
/* The virtual kind a name belongs to ("KIND.KEY"), or NULL. */
akt__ca_kind *akt__ca_virtual_kind_of(akt__ca *ca, const char *name);

/* What the directory says of a name: whether it exists, its kind name,
 * placement and roles. */
typedef struct akt__ca_what {
  int exists;
  int virtual_;
  const char *kind;
  uint32_t placement;
  const char *fixed;
  akt__roles need;
} akt__ca_what;
int akt__ca_what_of(akt__ca *ca, const char *name, akt__ca_what *out);

/* Where `name` lives now: -2 (no such name), -1 (no member may host it),
 * or its host's index in the configuration. */
long akt__ca_host_of(akt__ca *ca, const char *name);

akt__ca_act *akt__ca_act_find(akt__ca *ca, const char *name);
/* The record of a name placed here, created WAITING if needed (virtual
 * names on demand). NULL: out of memory or over AKT__CA_ACTS_MAX. */
akt__ca_act *akt__ca_act_get(akt__ca *ca, const char *name, const akt__ca_kind *kind);
/* Brings the name's activation in line with the directory, the
 * configuration, the wait, the lease and hand-offs: starts, retires, or
 * leaves it. */
void akt__ca_reconcile(akt__ca *ca, const char *name);
void akt__ca_reconcile_all(akt__ca *ca);
/* Holds an envelope in a record (WAITING/LOADING); takes ownership. */
void akt__ca_act_hold(akt__ca *ca, akt__ca_act *a, akt__env *env);
/* Wakes activations whose mailbox refused messages (the lease is back). */
void akt__ca_act_wake_held(akt__ca *ca);
/* Periodic: hand-off deadlines, store retries. */
void akt__ca_act_tick(akt__ca *ca);
/* Retires every activation (this node left the configuration or is out). */
void akt__ca_act_retire_all(akt__ca *ca, int handoff);
/* Activations not yet stopped (a leave waits for them). */
size_t akt__ca_act_busy(akt__ca *ca);
void akt__ca_act_release(akt__ca_act *a);
/* Frees every record (orphaning those a mailbox still holds). */
void akt__ca_acts_free(akt__ca *ca);
/* The activation's mailbox passed its retire marker, or found its lease
 * gone while retiring: nothing more runs; the actor is stopped (takes mu). */
void akt__ca_act_drained(akt__ca_act *a);
/* The activation's actor stopped (its post_stop, mu held): hand-off,
 * events, the record goes or stays FAILED. */
void akt__ca_act_stopped(akt__ca *ca, akt__ca_act *a, int passivated);
/* Writes a checkpoint of `a` (packed state) to its kind's store (mu
 * held); the activation gets a CheckpointDone. Returns 0 or a code. */
int akt__ca_checkpoint(akt__ca *ca, akt__ca_act *a, const uint8_t *data, size_t len,
                       uint64_t tag);
/* Cancels the record's store read, if any (back to WAITING). */
void akt__ca_store_read_cancel(akt__ca *ca, akt__ca_act *a);
/* Cancels every store operation in flight (stop, free). */
void akt__ca_store_ops_cancel(akt__ca *ca);
/* The test variant without tombstones: names this node stopped locally. */
int akt__ca_locally_stopped(akt__ca *ca, const char *name);
int akt__ca_local_stop(akt__ca *ca, const char *name);
void akt__ca_local_stops_free(akt__ca *ca);
/* 1 if `s` is a cluster name (an actor name). */
int akt__ca_name_ok(const char *s);
/* The mailbox type of activations. */
extern const akt_mailbox_type akt__ca_mailbox;

/* ---- hand-off (handoff.c) ---------------------------------------------------------------------- */

/* The activation of `a` stopped after retiring (or its record, which a
 * valid hand-off had cleared, retires before it started): sends what it
 * had (state, or nothing) to the name's new host. */
void akt__ca_handoff_send(akt__ca *ca, akt__ca_act *a, int clean);
void akt__ca_on_hand_off(akt__ca *ca, const Akt__Ca__Msg *m);
/* Judges a record's pending hand-off once this node is in the
 * configuration the sender was in: valid only when its sender hosted the
 * name in the configuration before it (nobody else can have run it since
 * the sender stopped it); a valid clean one clears the record. */
void akt__ca_handoff_judge(akt__ca *ca, akt__ca_act *a);
/* Asks the name's previous host for its hand-off (rate-limited). */
void akt__ca_handoff_ask(akt__ca *ca, akt__ca_act *a);
void akt__ca_on_hand_off_ask(akt__ca *ca, const Akt__Ca__Msg *m);
/* Drops kept hand-offs past their time. */
void akt__ca_handoff_tick(akt__ca *ca);
/* Drops every kept hand-off (this node's identity ended, or the layer
 * stops). */
void akt__ca_handoff_clear(akt__ca *ca);

/* ---- routing (route.c) ---------------------------------------------------------------------------- */

/* Routes an envelope (its message, sender, request id) to the cluster
 * actor `name`: to the local activation, to the host's node, or into a
 * hold; takes ownership. Takes mu itself. Returns 0 (routed or held) or a
 * code (the envelope went to dead letters). */
int akt__ca_route_env(akt__ca *ca, const char *name, akt__env *env);
/* The same with mu held. */
int akt__ca_route_locked(akt__ca *ca, const char *name, akt__env *env, uint32_t hops);
void akt__ca_on_route(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_probe(akt__ca *ca, const Akt__Ca__Msg *m);
void akt__ca_on_probe_reply(akt__ca *ca, const Akt__Ca__Msg *m);
/* Sends an envelope to the activation running here. Takes ownership. */
void akt__ca_deliver(akt__ca *ca, akt__ca_act *a, akt__env *env);
/* Answers the probes waiting on a record (it runs now, or not at all:
 * code). */
void akt__ca_probes_answer(akt__ca *ca, akt__ca_act *a, int code);
/* Routed messages that waited for this node's log: tries them again. */
void akt__ca_behind_retry(akt__ca *ca);
void akt__ca_behind_clear(akt__ca *ca);
void akt__ca_refs_free(akt__ca *ca);
/* Drops an envelope to dead letters with a reason, counted. */
void akt__ca_dead(akt__ca *ca, akt__env *env, const char *reason);

/* ---- requests (requests.c) ------------------------------------------------------------------------ */

/* Confirms to the log that this node, the host of a stopped name, stopped
 * it (the tombstone goes). */
void akt__ca_submit_retired(akt__ca *ca, const char *name);
/* An op this node asked for was applied with result `code`. */
void akt__ca_request_applied(akt__ca *ca, uint64_t req, int code);
/* A lookup's answer. */
void akt__ca_request_probed(akt__ca *ca, uint64_t id, int code, const char *address);
/* Periodic: resubmits ops not in the log yet, fails requests past their
 * deadline. */
void akt__ca_requests_tick(akt__ca *ca);
/* Handles Spawn, Stop and Lookup sent to /system/cluster-actors (in its
 * turn). Returns AKT_EUNHANDLED for other messages. */
int akt__ca_request_receive(akt__ca *ca, akt_ctx *ctx, const ProtobufCMessage *msg);
void akt__ca_requests_clear(akt__ca *ca, int code);

/* ---- the layer ---------------------------------------------------------------------------------------- */

/* A store operation in flight. */
typedef struct akt__ca_store_op {
  akt__ca *ca;
  uint64_t id;              /* the store's id */
  akt_cluster_store *store;
  int what;                 /* AKT__CA_SOP_GET, AKT__CA_SOP_PUT */
  char *name;
  uint64_t fence;
  uint64_t tag;             /* put: the checkpoint's tag */
  akt_pid *reply_to;        /* put: the activation (one reference) */
  struct akt__ca_store_op *next;
} akt__ca_store_op;
enum { AKT__CA_SOP_GET = 1, AKT__CA_SOP_PUT };

/* A routed message that waits for this node's log to catch up. */
typedef struct akt__ca_behind {
  uint8_t *msg;             /* a packed Msg (its Route or Probe) */
  size_t len;
  uint64_t until;
  uint64_t need;            /* the slot the sender had applied */
} akt__ca_behind;

/* A spawn, stop or lookup this node waits on. */
typedef struct akt__ca_request {
  uint64_t req;             /* request id (ops) or probe id (lookups) */
  int what;                 /* 1 spawn, 2 stop, 3 lookup */
  int singleton;
  char *name;
  Akt__Ca__Op *op;          /* ops: resubmitted until applied (owned) */
  akt_pid *reply_to;        /* one reference */
  uint64_t corr;            /* the request's correlation id (0: a tell) */
  uint64_t deadline, next_submit;
} akt__ca_request;

/* Timer kinds (cookie bits 56..63); bits 0..55 carry a round or epoch. */
enum { AKT__CA_T_TICK = 1, AKT__CA_T_LEASE, AKT__CA_T_READY, AKT__CA_T_STOP };

typedef struct akt__ca_timer {
  uint64_t id;              /* backend timer id, 0 when not armed */
  uint64_t arg;
} akt__ca_timer;

/* A lease round: asked at `sent_at` of the members of `epoch`. */
typedef struct akt__ca_round {
  uint64_t round, epoch, sent_at;
  akt__ca_bits acked;
  int done, dead;
  akt__ca_timer timer;      /* fires `lease` after sent_at */
} akt__ca_round;

/* The acceptor's state for one slot. */
typedef struct akt__ca_acc {
  uint64_t slot;            /* 0: free */
  uint64_t bn, bnode;       /* ballot of the accepted value */
  uint8_t *value;
  size_t len;
  int config;               /* the value changes the configuration */
} akt__ca_acc;

struct akt__ca {
  akt_system *sys;
  akt_backend *b;
  pthread_mutex_t mu;
  akt_cluster_actors_options o;
  akt_cluster_options co;   /* membership's options (the downing strategy) */
  akt__partition_config pcfg;
  akt__partition_cache pcache;
  akt_duration wait;        /* a new host's wait: lease (1 + rho) / (1 - rho) + margin */
  int stopping;
  int depth;                /* akt__ca_lock nesting (selfq is drained at 0) */
  akt_pid *actor;           /* /system/cluster-actors (one reference) */
  akt_pid *host;            /* /user/akt.cluster (one reference) */

  /* this node (from membership) */
  char self_id[AKT__MEMBER_ID_MAX + 1]; /* "" while not a member */
  /* This process's earlier identities, newest first: its acceptor state
   * is theirs, so it votes as them in a configuration that still holds
   * them (paxos.c). */
  char old_ids[AKT__CA_OLD_IDS][AKT__MEMBER_ID_MAX + 1];
  uint32_t nold;
  char remoting[AKT_CLUSTER_REMOTING_MAX];
  uint64_t self_key;        /* xxh3 of self_id: the ballot's node part */
  uint64_t self_uid;        /* membership incarnation of self_id */
  int member;               /* membership says this node is up (or leaving) */
  int leaving;              /* this node is leaving */
  int formed;               /* membership: this node founded the cluster */
  int leader;               /* this node is the log's proposer (choose_proposer in actors.c) */
  char leader_remoting[AKT_CLUSTER_REMOTING_MAX]; /* the proposer's remoting address */
  _Atomic int view_dirty;   /* membership changed: look again */
  _Atomic int leave_hold;   /* membership must stay LEAVING (hand-offs in progress) */
  uint64_t leave_started;
  akt_member *view;         /* the last snapshot of membership */
  size_t nview, view_cap;

  /* kinds */
  akt__ca_kind *kinds[AKT_CLUSTER_KINDS_MAX];
  size_t nkinds;

  /* the replicated state */
  uint64_t genesis;         /* identity of the log (0: none yet) */
  uint64_t applied;         /* slots applied */
  akt__ca_config cfg, prev; /* the configuration in force and the one before */
  akt__ca_config hist[AKT__CA_HISTORY]; /* older ones, newest first */
  uint32_t nhist;
  int self_idx;             /* this node's index in cfg, or -1 */
  akt__strtab named_tab;
  akt__ca_named **named;
  uint32_t nnamed, cap_named;
  akt__strtab tomb_tab;
  akt__ca_tomb **tombs;
  uint32_t ntombs, cap_tombs;
  uint64_t recent[AKT__CA_RECENT_REQS]; /* ring of op keys */
  uint32_t recent_next;
  akt__u64set recent_set;

  /* the log */
  struct {
    uint64_t slot;
    uint8_t *value;
    size_t len;
  } tail[AKT__CA_LOG_KEEP], future[AKT__CA_FUTURE_MAX];
  uint64_t best_commit;     /* the highest applied count a peer reported */
  char best_from[AKT_CLUSTER_REMOTING_MAX];
  uint64_t catchup_at, poll_at;

  /* Paxos: proposer */
  int phase;                /* 0 idle, 1 prepare, 2 accept */
  uint64_t p_slot, p_bn, max_bn;
  uint8_t *p_value;         /* the value being proposed (packed) */
  size_t p_len;
  int p_own;                /* p_value is this node's (not adopted) */
  size_t p_nops;            /* pending ops it carries (own value) */
  uint64_t p_acc_bn, p_acc_bnode; /* highest accepted ballot among promises */
  akt__ca_bits p_promised, p_accepted;
  uint64_t p_started, p_retry_at;
  Akt__Ca__Op **pending;    /* ops for the log (owned) */
  uint32_t npending, cap_pending;
  /* Paxos: acceptor */
  uint64_t promised_bn, promised_bnode;
  akt__ca_acc acc[AKT__CA_ACC_SLOTS];
  uint64_t cfg_accept_slot; /* highest slot where a configuration change was accepted */

  /* leases */
  akt__ca_round rounds[AKT__CA_LEASE_ROUNDS];
  uint64_t next_round, round_at;
  uint64_t best_round;      /* the completed round the lease rests on */
  _Atomic uint64_t valid_until; /* this node's clock; 0: no lease */
  _Atomic int expired;      /* the best round's timer fired */
  int lease_reported;       /* the last lease event said "gained" */
  uint64_t ready_epoch;     /* the configuration whose wait has passed */
  akt__ca_timer ready_timer;

  /* activations */
  akt__strtab act_tab;
  akt__ca_act **act_list;
  uint32_t nacts, cap_acts;
  uint32_t hold_total;
  uint64_t fence_ctr;
  _Atomic int any_held;     /* some mailbox refused a message for want of a lease */
  char **local_stops;       /* AKT_CLUSTER_TEST_NO_TOMBSTONES only */
  uint32_t nlocal_stops;

  /* routing */
  akt__strtab ref_tab;
  struct akt__ca_ref **refs;
  uint32_t nrefs, cap_refs;
  akt__ca_behind *behind;
  uint32_t nbehind, cap_behind;

  /* requests */
  akt__ca_request *reqs;
  uint32_t nreqs, cap_reqs;
  uint64_t next_req;
  uint64_t rr_cursor;       /* round-robin placement's cursor */
  uint64_t retired_at;      /* when unconfirmed stops are submitted again */

  /* clean hand-offs sent, kept for a resend (handoff.c) */
  akt__ca_kept **kept;      /* in the order kept (expiry walks it) */
  uint32_t nkept, cap_kept;
  akt__strtab kept_tab;     /* the same, by name */
  /* Clean hand-offs this node took (or vouched onward), in the order
   * taken, until a resend of them can no longer come: a copy that comes
   * after the first is ignored, never judged again (handoff.c). */
  struct {
    uint64_t key, until;
  } *taken;
  uint32_t ntaken, cap_taken;
  akt__u64set taken_set;

  /* store */
  akt__ca_store_op *sops;
  uint32_t nsops;

  /* messages to oneself (packed Msgs), handled at the unlock */
  struct {
    uint8_t *data;
    size_t len;
  } selfq[AKT__CA_SELFQ_MAX];
  uint32_t selfq_head, selfq_n;

  akt__ca_timer tick_timer, stop_timer;
  akt_cluster_actors_stats stats;
};

#define AKT__CA_STAT(ca, field) ((ca)->stats.field++)

/* The layer of a system, or NULL (takes the cluster's lock briefly: not
 * with the layer's lock held... which is allowed: ca mu comes first).
 * (actors.c) */
akt__ca *akt__ca_of(akt_system *sys);
/* Frees the layer: membership's extension `free`, which also identifies
 * the layer among the extensions. */
void akt__ca_ext_free(void *arg);

/* Locks; the unlock first handles messages this node sent itself. */
void akt__ca_lock(akt__ca *ca);
void akt__ca_unlock(akt__ca *ca);

uint64_t akt__ca_now(akt__ca *ca);
uint64_t akt__ca_random(akt__ca *ca);

/* Sends `m` (its body set; the header is filled here) to the node at
 * `remoting` (this node's own: queued on selfq). */
void akt__ca_send(akt__ca *ca, const char *remoting, Akt__Ca__Msg *m);
/* To member i of the configuration c. */
void akt__ca_send_member(akt__ca *ca, akt__ca_config *c, size_t i, Akt__Ca__Msg *m);
/* To every member of c (this node included when it is one). */
void akt__ca_send_all(akt__ca *ca, akt__ca_config *c, Akt__Ca__Msg *m);
/* To every member of membership's view that is joining, up or leaving (not
 * this node). */
void akt__ca_broadcast(akt__ca *ca, Akt__Ca__Msg *m);

/* Arms a backend timer of `kind` with `arg` for `delay`. */
int akt__ca_timer_arm(akt__ca *ca, akt__ca_timer *t, int kind, uint64_t arg, akt_duration delay);
void akt__ca_timer_cancel(akt__ca *ca, akt__ca_timer *t);

/* Reports an event: trace record (AKT_EV_NET, type "cluster-<name>"),
 * listener, event stream. */
void akt__ca_event(akt__ca *ca, akt_cluster_actor_event_kind kind, const char *name,
                   const char *kind_name, const char *detail, uint64_t count);
/* A trace record only (type "cluster-<what>"). */
void akt__ca_trace(akt__ca *ca, const char *what, const char *text, uint64_t value);

/* The configuration changed (applied or from a snapshot). */
void akt__ca_epoch_changed(akt__ca *ca, int genesis);

/* The configuration change to propose, if membership's up members differ
 * from the configuration in force: fills v->config (pointing into
 * *storage, which the caller frees) and returns 1; else 0. */
int akt__ca_desired_config(akt__ca *ca, Akt__Ca__Value *v, void **storage);

/* Membership changed: looks at the view again (under mu). */
void akt__ca_view_refresh(akt__ca *ca);

/* This node's identity ended (downed, left, rejoined as a new
 * incarnation): it stops hosting (its activations retire, its lease and
 * requests go) but keeps the log, the directory and its acceptor state —
 * the same process, it still votes as the old identity (paxos.c). */
void akt__ca_identity_ended(akt__ca *ca, const char *why);

/* Goes back to no replicated state: this node's log lost to another. */
void akt__ca_reset(akt__ca *ca, const char *why);

#endif
