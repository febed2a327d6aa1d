/* akt — cluster membership internals (see include/akt/cluster.h and
 * docs/cluster.md).
 *
 * One akt__cluster per system. Its whole state sits under one mutex, `mu`:
 * the protocol runs in backend callbacks (datagrams and timers, on the I/O
 * context), in the /system/cluster actor (syncs over remoting, on a
 * worker) and in API calls (user threads), and every entry point takes the
 * lock first. Events are published, traced and given to the listener with
 * the lock held, which is what keeps them in the order of the changes.
 * Lock order: cluster mu, then the system's locks (publish, tell).
 *
 * Files: member.c (the table, identities, every state transition and its
 * event), merge.c (the rules for updates from peers), swim.c (probes,
 * acks, indirect probes, awareness), suspicion.c (Lifeguard's suspicion
 * timeouts), gossip.c (the broadcast queue, piggybacking, the gossip
 * tick), codec.c (datagram framing and encoding), join.c (discovery,
 * join rounds, founding, rejoin), sync.c (the /system/cluster actor:
 * push-pull and join over remoting), downing.c (split-brain strategies,
 * indirect connectivity, isolation), cluster.c (start, leave, stop and the
 * public queries), options.c, env.c, discovery_static.c.
 */
#ifndef AKT_CLUSTER_CLUSTER_H
#define AKT_CLUSTER_CLUSTER_H

#include <pthread.h>
#include <stdint.h>

#include "akt/cluster.h"
#include "akt/cluster.pb-c.h"
#include "src/system/system.h"

typedef struct akt__cluster akt__cluster;
typedef struct akt__cl_member akt__cl_member;
struct akt__topics; /* cluster topics (topics.h), created with the cluster */

/* ---- limits (internal) ------------------------------------------------------------- */

#define AKT__CL_MAX_PENDING 256     /* acks awaited at once (probe, relays, direct checks) */
#define AKT__CL_MAX_RELAYS 64       /* indirect probes this node runs for others at once */
#define AKT__CL_MAX_BROADCASTS 4096 /* updates queued for gossip */
#define AKT__CL_MAX_TOMBSTONES 4096 /* removed identities remembered */
#define AKT__CL_MAX_CONFIRM 16      /* suspicion confirmers remembered per member */
#define AKT__CL_MAX_HEARD 256       /* non-members a joining node remembers */
#define AKT__CL_HEARD_ROUNDS 5      /* join rounds a silent non-member is remembered */
#define AKT__CL_HEADER 4            /* "AKC" + format version */
#define AKT__CL_FORMAT 1            /* datagram format version */
#define AKT__CL_FAREWELL_NODES 3    /* members a stopping node tells it is going */
#define AKT__CL_MAX_GOSSIP_NODES 32 /* largest gossip_nodes accepted */
#define AKT__CL_MAX_INDIRECT 32     /* largest indirect_checks accepted */
#define AKT__CL_MAX_SYNCQ 16        /* syncs queued for /system/cluster */
#define AKT__CL_MAX_ASKED 8         /* unknown senders remembered as asked to sync */
#define AKT__CL_MAX_URGENT 4        /* members queued to be probed next */
#define AKT__CL_CONFIRM_MAX 3       /* unreachable members a decider probes itself first */
#define AKT__CL_TELL_SIDE_MAX 128   /* members known, at most, for a decider to tell downs directly */
#define AKT__CL_ASK_GRACE AKT_SECONDS(3) /* an unknown sender is asked only after this */
#define AKT__CL_ASK_AGAIN AKT_SECONDS(5) /* before the same one is asked again */
#define AKT__CL_ISOLATION_PROBES 3  /* probes with no answer at all before a node may be isolated */
#define AKT__CL_ARENA (64u << 10)   /* bytes for one unpacked packet before malloc */
/* Room a gossip packet needs besides one update: header, the sender's
 * Node at its largest, the field's tag and length. */
#define AKT__CL_UPDATE_ROOM (AKT__CL_HEADER + AKT_HOST_MAX + 24 + 6)

/* ---- timers ---------------------------------------------------------------------- */

/* A timer's cookie: kind in bits 56..63, the slot of its member or relay
 * in bits 32..55, and in bits 0..31 the generation the timer got when it
 * was armed. A firing whose generation is not the timer's current one is
 * stale (its cancel lost a race with it, or it belongs to a member that
 * left the slot) and does nothing. */
enum {
  AKT__CT_PROBE = 1,   /* start the next probe */
  AKT__CT_PROBE_DIRECT, /* the direct ping timed out: ask others */
  AKT__CT_PROBE_END,   /* the probe's time is up */
  AKT__CT_GOSSIP,      /* gossip, then the downing check */
  AKT__CT_JOIN,        /* a join round */
  AKT__CT_LEAVE,       /* the next step of a graceful leave */
  AKT__CT_REJOIN,      /* rejoin after being downed */
  AKT__CT_REDISCOVER,  /* a member looks for clusters it is not part of */
  AKT__CT_GLOBAL_KINDS,
  AKT__CT_SUSPICION = AKT__CT_GLOBAL_KINDS, /* per member */
  AKT__CT_REMOVE,      /* per member */
  AKT__CT_DIRECT,      /* per member: the next direct re-check */
  AKT__CT_RELAY,       /* per relay (slot = relay index) */
  AKT__CT_STOP         /* the stop, run on the I/O context */
};

typedef struct akt__ctimer {
  uint64_t id;  /* backend timer id, 0 when not armed */
  uint32_t gen; /* of the current arming (0: none) */
  uint64_t due; /* when it was meant to fire (lateness shows a pause) */
} akt__ctimer;

/* ---- members ----------------------------------------------------------------------- */

/* Lifeguard suspicion of one member (suspicion.c). */
typedef struct akt__suspicion {
  uint64_t start;          /* when this node began suspecting */
  akt_duration min, max;   /* timeout bounds fixed at the start */
  uint32_t k;              /* confirmations that bring the timeout to min */
  uint32_t n;              /* confirmations so far */
  uint64_t confirmers[AKT__CL_MAX_CONFIRM]; /* node keys (hash) of distinct confirmers */
  uint64_t first;          /* key of who suspected first (not a confirmation) */
} akt__suspicion;

struct akt__cl_member {
  uint32_t slot;           /* index in the table; stable while the member exists */
  uint32_t gen;            /* distinguishes the members a slot has held */
  char host[AKT_HOST_MAX];
  uint16_t port;
  uint64_t uid;            /* the incarnation (identity) */
  uint64_t key;            /* hash of host and port */
  char name[AKT_SYSTEM_NAME_MAX + 1];
  uint32_t version;
  akt_member_status status;
  akt_member_reach reach;
  akt_cluster_down_reason down_reason;
  uint64_t up_number;
  uint8_t meta[AKT_CLUSTER_META_MAX];
  size_t meta_len;
  /* meta, parsed once (meta.c) */
  char remoting[AKT_CLUSTER_REMOTING_MAX];
  uint16_t cluster_port;
  unsigned nroles, nvalues;
  char roles[AKT_CLUSTER_MAX_ROLES][AKT_CLUSTER_ROLE_MAX];
  char keys[AKT_CLUSTER_MAX_VALUES][AKT_CLUSTER_KEY_MAX];
  char values[AKT_CLUSTER_MAX_VALUES][AKT_CLUSTER_VALUE_MAX];
  int self;

  /* local */
  akt__suspicion susp;
  akt__ctimer susp_timer, remove_timer, direct_timer;
  unsigned direct_left;    /* direct re-checks still to send */
  uint32_t direct_seq;     /* the re-check awaiting its ack (0: none) */
  int direct_fail;         /* every re-check failed: indirectly connected */
  uint64_t bytes_in, bytes_out;
  uint64_t heard_at;       /* last first-hand sign of it: a packet from it, an ack for it */
  uint64_t unreach_at;     /* when it last became unreachable here */
  uint64_t probed_at;      /* when a probe of ours last ended on it */
};

/* A removed identity, remembered so late gossip cannot bring it back. */
typedef struct akt__tombstone {
  uint64_t key, uid;
} akt__tombstone;

/* ---- what awaits an ack ------------------------------------------------------------ */

enum { AKT__PEND_PROBE = 1, AKT__PEND_RELAY, AKT__PEND_DIRECT };

typedef struct akt__cl_pending {
  uint32_t seq;            /* 0: free */
  uint8_t kind;
  uint32_t a, b;           /* probe/direct: slot and gen; relay: relay index and gen */
} akt__cl_pending;

/* An indirect probe this node runs for another (SWIM's ping-req). */
typedef struct akt__relay {
  int used;
  uint32_t gen;
  akt_addr requester;
  uint32_t requester_seq;
  uint32_t seq;            /* of our ping to the target */
  akt__ctimer timer;       /* nack time */
} akt__relay;

/* The probe in progress (one at a time, as in SWIM). */
typedef struct akt__probe {
  int active;
  uint32_t slot, gen;
  uint32_t seq;
  uint64_t started;
  int acked, indirect;
  unsigned nacks_expected, nacks;
} akt__probe;

/* ---- gossip ------------------------------------------------------------------------- */

/* One queued update: a packed akt.cluster.Update, at most one per member
 * identity (a newer one replaces it). */
typedef struct akt__bcast {
  uint64_t key, uid;       /* the member it is about */
  uint32_t transmits;
  uint64_t order;          /* when it was queued (newer first among equals) */
  size_t len;
  uint8_t data[];
} akt__bcast;

/* ---- joining --------------------------------------------------------------------------- */

typedef struct akt__heard {
  akt_addr addr;
  uint64_t uid;
  uint32_t round;          /* the last round it said hello or answered */
  uint32_t answered;       /* the last round it answered our hello */
  akt_addr candidate;      /* the lowest address it reported */
} akt__heard;

/* ---- extensions ------------------------------------------------------------------------------ */

/* A layer built on membership (cluster actors, topics) hooks in here. */
#define AKT__CL_MAX_EXT 4
typedef struct akt__cl_ext {
  /* Every event, after the listener, with the cluster's lock held: take
   * note only (no akt_cluster_* call, no lock the layer holds while it
   * calls akt_cluster_*). Optional. */
  void (*on_event)(void *arg, const akt_cluster_event *ev);
  /* A message /system/cluster does not handle itself, in its turn (the
   * cluster's lock not held): the layer's protocol messages come this way,
   * since /system/cluster is the /system actor the network reaches.
   * Returns AKT_EUNHANDLED when it is not the layer's. Optional. */
  int (*receive)(void *arg, akt_ctx *ctx, const ProtobufCMessage *msg);
  /* Non-zero while a leave must stay LEAVING (the layer is handing work
   * over); asked with the cluster's lock held, so it reads only what is
   * safe there. Optional. */
  int (*hold_leave)(void *arg);
  /* Membership stops (akt_cluster_stop, shutdown), from the caller's
   * thread; and the cluster is freed (system free, a simulated crash).
   * Optional. */
  void (*stop)(void *arg);
  void (*free)(void *arg);
  void *arg;
} akt__cl_ext;

/* Adds an extension to the cluster of `sys`. Returns 0, AKT_ESTATE (not
 * started), AKT_ELIMIT (AKT__CL_MAX_EXT). */
int akt__cl_ext_add(akt_system *sys, const akt__cl_ext *ext);

/* ---- the cluster ---------------------------------------------------------------------------- */

struct akt__cluster {
  akt_system *sys;
  akt_backend *b;
  pthread_mutex_t mu;
  akt_cluster_options o;   /* with defaults; pointers cleared (copied below) */
  akt_cluster_phase phase;
  int stopping;            /* akt_cluster_stop or shutdown began */

  /* this node */
  char name[AKT_SYSTEM_NAME_MAX + 1];
  char host[AKT_HOST_MAX];
  uint16_t port;
  uint64_t uid;
  uint64_t uid_floor;      /* the next incarnation must be above this */
  int identity_stale;      /* joining with a number below one the cluster knows */
  uint64_t key;
  char remoting[AKT_CLUSTER_REMOTING_MAX];
  uint8_t meta[AKT_CLUSTER_META_MAX];
  size_t meta_len;
  akt__cl_member *self;       /* NULL while not a member */
  akt_dgram *dgram;
  akt_pid *actor;          /* /system/cluster (one reference) */
  akt_discovery *disc;     /* owned */
  int disc_busy;           /* a lookup is in flight */
  int disc_for_join;       /* its answer feeds a join round (else: rediscovery) */

  /* the table */
  akt__cl_member **slots;     /* by slot; NULL = free */
  uint32_t nslots, nmembers;
  uint32_t nlive;          /* members neither down nor removed */
  /* Members in play (joining, up or leaving) that are suspect, unreachable,
   * or reachable only through others: what the downing check looks at. */
  uint32_t nsuspect, nunreach, nindirect;
  uint32_t *free_slots, nfree;
  uint32_t *index;         /* open addressing on key: slot + 1, 0 = empty */
  uint32_t index_cap;      /* power of two */
  uint32_t next_gen;
  akt__tombstone *tombs;   /* ring */
  uint32_t ntombs, tomb_next;

  /* SWIM */
  uint32_t *probe_order;   /* slots, shuffled */
  uint32_t *probe_gens;
  uint32_t probe_len, probe_pos;
  akt__probe probe;
  /* Members to probe next, first in first out (gen 0: a free entry). */
  struct {
    uint32_t slot, gen;
  } urgent[AKT__CL_MAX_URGENT];
  akt__cl_pending pending[AKT__CL_MAX_PENDING];
  akt__relay relays[AKT__CL_MAX_RELAYS];
  uint32_t next_seq;
  unsigned awareness;
  uint64_t last_heard;     /* when any member's packet last arrived */
  unsigned silent_probes;  /* probes in a row that got no ack and no nack */
  uint64_t probe_due;      /* when the probe timer was meant to fire */

  /* gossip */
  akt__bcast **bq;
  uint32_t nbq;
  uint64_t bq_order;

  /* joining */
  uint32_t round;
  akt__heard heard[AKT__CL_MAX_HEARD];
  uint32_t nheard;
  unsigned stable_rounds;
  uint64_t join_busy_until; /* a join sync is in flight until then */
  int member_answered;      /* a member answered in this round */
  uint64_t founded_at;

  /* downing and the leader */
  uint64_t view_changed_at;
  uint64_t unreach_since;  /* when the current unreachable episode began (0: none) */
  uint64_t stale_until;    /* no decision before: this node was not running */
  int has_leader;
  uint64_t leader_key, leader_uid;

  /* leaving */
  uint64_t leave_deadline;

  /* unknown senders asked to sync (join.c) */
  struct {
    uint64_t key, uid;
    uint64_t seen, at;     /* first heard from; last asked (0: not yet) */
  } asked[AKT__CL_MAX_ASKED];

  /* syncs for /system/cluster (sync.c) */
  struct {
    char remoting[AKT_CLUSTER_REMOTING_MAX];
    int join;
  } syncq[AKT__CL_MAX_SYNCQ];
  uint32_t nsyncq;
  uint64_t next_push_pull;

  akt__ctimer timers[AKT__CT_GLOBAL_KINDS];
  akt__ctimer stop_timer;
  uint32_t tgen;           /* timer generations */
  akt_cluster_stats stats;
  struct akt__topics *topics; /* sees every event (member.c), gets its messages (sync.c) */
  uint8_t *pkt;            /* scratch: one packet (packet_max + seal overhead) */
  void *arena;             /* scratch: decoding one packet (codec.c) */
  akt__cl_ext ext[AKT__CL_MAX_EXT]; /* layers built on membership */
  unsigned next;
};

/* The cluster of a system, or NULL when not started. */
akt__cluster *akt__cluster_of(akt_system *sys);

/* Stops membership on shutdown: announces the exit, closes the datagram
 * endpoint and every timer on the I/O context (system.c). */
void akt__cluster_stop_all(akt_system *sys);

/* Frees what is left (system free, and the simulator's drop). */
void akt__cluster_free(akt_system *sys);

/* ---- options.c ------------------------------------------------------------------------------ */

/* Copies `in` (may be NULL) with defaults filled in and validates it;
 * writes the first problem to why. Returns 0 or AKT_EINVAL. */
int akt__cl_options(const akt_cluster_options *in, akt_cluster_options *out, char *why,
                    size_t size);

/* The number of nodes that must answer before one founds a cluster: the
 * option, or a majority of the seeds and this node (host:port), or 1
 * with a discovery provider or no seeds. */
unsigned akt__cl_bootstrap_expect(const akt_cluster_options *in, const char *host,
                                  uint16_t port);

/* Packs the local metadata (roles, remoting, cluster port, values) into
 * meta[AKT_CLUSTER_META_MAX]. Returns its length, or AKT_ELIMIT. */
int akt__cl_meta_pack(const akt_cluster_options *o, const char *remoting, uint8_t *meta);

/* ---- timers (cluster.c) ------------------------------------------------------------------- */

/* Arms global timer `kind` for `delay` (re-arming cancels the old one).
 * Returns 0 or a backend code (logged: the protocol then stalls on this
 * node until the next start). */
int akt__cl_timer(akt__cluster *cl, int kind, akt_duration delay);
void akt__cl_timer_cancel(akt__cluster *cl, int kind);
/* Arms `t` (a per-member or per-relay timer) of `kind` for `delay`, its
 * cookie naming `slot`; re-arming cancels the old one. */
int akt__cl_ktimer(akt__cluster *cl, akt__ctimer *t, int kind, uint32_t slot, akt_duration delay);
/* The same for a member's timer. */
static inline int akt__cl_mtimer(akt__cluster *cl, akt__cl_member *m, akt__ctimer *t, int kind,
                                 akt_duration delay) {
  return akt__cl_ktimer(cl, t, kind, m->slot, delay);
}
void akt__cl_mtimer_cancel(akt__cluster *cl, akt__ctimer *t);

/* The local member moves to status `to` under a new version and announces
 * it. */
void akt__cl_self_move(akt__cluster *cl, akt_member_status to);
/* The next step of a graceful leave (the LEAVE timer). */
void akt__cl_leave_step(akt__cluster *cl);

/* The backend's clock and random numbers. */
uint64_t akt__cl_now(akt__cluster *cl);
uint64_t akt__cl_random(akt__cluster *cl);

/* ---- member.c ------------------------------------------------------------------------------- */

/* The hash of a gossip address (never 0). */
uint64_t akt__cl_key(const char *host, uint16_t port);

/* The member at host:port, or NULL. */
akt__cl_member *akt__cl_find(akt__cluster *cl, const char *host, uint16_t port);

/* The member in `slot` if it still has generation `gen`, or NULL. */
akt__cl_member *akt__cl_slot(akt__cluster *cl, uint32_t slot, uint32_t gen);

/* Adds a member with the identity, name and state of an Alive (caller
 * checked it). Emits the event of its state. Returns it, or NULL (table
 * full: counted; out of memory). */
akt__cl_member *akt__cl_add(akt__cluster *cl, const char *host, uint16_t port, uint64_t uid,
                         const char *name, uint32_t version, akt_member_status status,
                         uint64_t up_number, const uint8_t *meta, size_t meta_len);

/* Moves m's status forward (asserted), emitting its event; DOWN and
 * EXITING arm the removal timer; REMOVED removes it from the table (m is
 * freed). `reason` is for DOWN. */
void akt__cl_set_status(akt__cluster *cl, akt__cl_member *m, akt_member_status to,
                        akt_cluster_down_reason reason);

/* Moves m's (version, reach) forward (asserted), emitting SUSPECT,
 * UNREACHABLE or REACHABLE. */
void akt__cl_set_reach(akt__cluster *cl, akt__cl_member *m, uint32_t version, akt_member_reach to);

/* Marks m as (not) directly reachable from here (swim.c's direct checks). */
void akt__cl_set_indirect(akt__cluster *cl, akt__cl_member *m, int indirect);

/* Removes every member (a new incarnation starts with an empty view; no
 * events but the local member's). */
void akt__cl_clear(akt__cluster *cl);

/* Remembers (key, uid) as removed; 1 if it is remembered already. */
void akt__cl_tomb_add(akt__cluster *cl, uint64_t key, uint64_t uid);
int akt__cl_tomb_has(akt__cluster *cl, uint64_t key, uint64_t uid);

/* Compares gossip addresses (host bytes, then port): <0, 0, >0. */
int akt__cl_addr_cmp(const char *h1, uint16_t p1, const char *h2, uint16_t p2);

/* m's gossip address, to send to. */
akt_addr akt__cl_addr_of(const akt__cl_member *m);

/* Orders members by age: smaller up_number first, then lower address.
 * Members that are not up yet (up_number 0) come last. */
int akt__cl_older(const akt__cl_member *a, const akt__cl_member *b);
/* The same order on an up number and a gossip address (for snapshots). */
int akt__cl_older_by(uint64_t up_a, const char *host_a, uint16_t port_a, uint64_t up_b,
                     const char *host_b, uint16_t port_b);

/* Fills a public snapshot. */
void akt__cl_snapshot(akt__cluster *cl, const akt__cl_member *m, akt_member *out);

/* Emits an event that is not a member transition (leader changed,
 * formed). m may be NULL. */
void akt__cl_emit(akt__cluster *cl, akt_cluster_event_kind kind, const akt__cl_member *m,
                  akt_cluster_down_reason reason);

/* Recomputes the leader and emits LEADER_CHANGED when it changed. */
void akt__cl_update_leader(akt__cluster *cl);

/* Picks up to k distinct members for which ok(m, arg) holds, uniformly at
 * random (reservoir sampling: one pass over the table, with the backend's
 * random numbers); writes their slots to out[0..k) and returns how many. */
uint32_t akt__cl_pick(akt__cluster *cl, int (*ok)(const akt__cl_member *m, const void *arg),
                      const void *arg, uint32_t k, uint32_t *out);

/* Number of members that are neither down nor removed (for timeouts). */
uint32_t akt__cl_live_count(akt__cluster *cl);

/* Sets m's packed metadata (len <= AKT_CLUSTER_META_MAX, checked by the
 * caller) and what it says: remoting address, cluster port, roles, values.
 * Metadata that does not decode leaves them empty. */
void akt__cl_member_meta(akt__cl_member *m, const uint8_t *meta, size_t len);

/* ---- merge.c --------------------------------------------------------------------------------- */

/* Applies one update from a peer or a sync (`via`: who gave it, may be
 * NULL). Returns 1 when it changed this node's view (the update is then
 * worth gossiping on), 0 when it did not (stale, duplicate, refuted), or
 * AKT_EPROTO when it breaks the rules (counted). */
int akt__cl_apply(akt__cluster *cl, const Akt__Cluster__Update *u);

/* The local member raises its version and announces itself (a status
 * change, or a refutation). */
void akt__cl_announce(akt__cluster *cl);

/* This node's claim about a member: Suspect or Unreachable at a version,
 * or Down with a reason, and the storage it points into. */
typedef struct akt__claim {
  Akt__Cluster__Update u;
  Akt__Cluster__Node node, from;
  Akt__Cluster__Suspect suspect;
  Akt__Cluster__Unreachable unreachable;
  Akt__Cluster__Down down;
} akt__claim;

/* Fills c with the claim `kind` (AKT__CLUSTER__UPDATE__KIND_SUSPECT,
 * _UNREACHABLE or _DOWN) about `node` (copied; its strings are borrowed),
 * from this node. Returns &c->u. */
Akt__Cluster__Update *akt__cl_claim(akt__cluster *cl, const Akt__Cluster__Node *node, int kind,
                                    uint32_t version, akt_cluster_down_reason reason,
                                    akt__claim *c);

/* Fills Updates with the state of m (Alive, then Suspect or Unreachable;
 * or Down) using the storage in `st`; returns how many (1 or 2). */
typedef struct akt__upd_storage {
  Akt__Cluster__Update u[2];
  Akt__Cluster__Alive alive;
  Akt__Cluster__Node node;
  akt__claim claim;
} akt__upd_storage;
size_t akt__cl_state_of(akt__cluster *cl, const akt__cl_member *m, akt__upd_storage *st);

/* A Node naming m (borrowing m's strings). */
void akt__cl_node_of(const akt__cl_member *m, Akt__Cluster__Node *n);
/* A Node naming this node. */
void akt__cl_node_self(akt__cluster *cl, Akt__Cluster__Node *n);

/* Downs m (asserting it is not down yet): status DOWN, and a Down update
 * gossiped. */
void akt__cl_down(akt__cluster *cl, akt__cl_member *m, akt_cluster_down_reason reason);

/* ---- gossip.c --------------------------------------------------------------------------------- */

/* Queues an update about (key, uid) for gossip, replacing the one queued
 * about the same member. */
void akt__cl_broadcast(akt__cluster *cl, const Akt__Cluster__Update *u, uint64_t key,
                       uint64_t uid);

/* Appends queued updates to out[*len..cap) as Packet.updates fields, the
 * least transmitted first, until no more fit; counts a transmission for
 * each and drops those sent often enough. With `about` non-zero, an update
 * about that member key goes first (the buddy system). */
void akt__cl_piggyback(akt__cluster *cl, uint8_t *out, size_t *len, size_t cap, uint64_t about);

/* Times each update is gossiped: retransmit_mult * ceil(log10(n + 1)). */
uint32_t akt__cl_retransmit_limit(akt__cluster *cl);

/* 1 if an update about (key, uid) is still queued. */
int akt__cl_bcast_pending(akt__cluster *cl, uint64_t key, uint64_t uid);

void akt__cl_bq_free(akt__cluster *cl);

/* The gossip tick: pure gossip packets to gossip_nodes random members. */
void akt__cl_gossip(akt__cluster *cl);

/* ---- codec.c -------------------------------------------------------------------------------- */

/* Builds a Packet from this node with `body` set by the caller (the body
 * oneof in p) in cl->pkt, piggybacks updates (about: see piggyback),
 * seals it and sends it to `to`. m (may be NULL) is charged the bytes.
 * Returns 0 or a negative code (counted). */
int akt__cl_send(akt__cluster *cl, const akt_addr *to, akt__cl_member *m, Akt__Cluster__Packet *p,
                 uint64_t about);

/* The datagram callback: opens, decodes and dispatches a packet. */
void akt__cl_on_datagram(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                         void *data);

/* The decoding arena (free with free()). NULL when out of memory. */
void *akt__cl_arena_new(void);

/* Tells the node at `to` that identity `n` (its own) is down, in a packet
 * of its own. */
void akt__cl_tell_down(akt__cluster *cl, const akt_addr *to, const Akt__Cluster__Node *n);

/* Why this node holds identity `n` down (AKT_DOWN_UNKNOWN if it does not
 * know it, or only as a tombstone). */
akt_cluster_down_reason akt__cl_down_reason(akt__cluster *cl, const Akt__Cluster__Node *n);

/* 1 if `n` names an identity known to be down, removed or superseded. */
int akt__cl_is_dead(akt__cluster *cl, const Akt__Cluster__Node *n);

/* Applies, of the updates from a sender this node holds dead (see
 * akt__cl_is_dead), only those that down this node's own identity: Down
 * is final, so that news cannot be stale, and two sides that each downed
 * the other (static-quorum's two clusters, at the heal) must both learn
 * it. Everything else it says is its stale view and is dropped. Returns 1
 * if this node is no longer a member afterwards. */
int akt__cl_apply_own_down(akt__cluster *cl, Akt__Cluster__Update *const *ups, size_t n);

/* Checks a Node from a peer (host NUL-terminated and non-empty, port and
 * incarnation non-zero). */
int akt__cl_node_valid(const Akt__Cluster__Node *n);

/* ---- swim.c ------------------------------------------------------------------------------ */

void akt__cl_probe_tick(akt__cluster *cl);
void akt__cl_probe_direct_timeout(akt__cluster *cl);
void akt__cl_probe_end(akt__cluster *cl);
void akt__cl_on_ping(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p);
void akt__cl_on_ping_req(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p);
void akt__cl_on_ack(akt__cluster *cl, const Akt__Cluster__Packet *p, int nack);
void akt__cl_relay_timeout(akt__cluster *cl, uint32_t idx);
void akt__cl_direct_check(akt__cluster *cl, akt__cl_member *m);
/* Adds a member to the probe order at a random place still ahead. */
void akt__cl_probe_add(akt__cluster *cl, akt__cl_member *m);
/* Queues m to be probed next (AKT__CL_MAX_URGENT at most; more wait for
 * their turn in the round). */
void akt__cl_probe_soon(akt__cluster *cl, akt__cl_member *m);
/* Drops every probe, relay and pending ack (leaving the member phase). */
void akt__cl_swim_reset(akt__cluster *cl);
/* The probe interval and timeout scaled by the local health score. */
akt_duration akt__cl_scaled(akt__cluster *cl, akt_duration d);
/* Changes the local health score by delta, within [0, awareness_max). */
void akt__cl_awareness(akt__cluster *cl, int delta);
/* Starts SWIM on a new member (the probe and gossip timers). */
void akt__cl_swim_start(akt__cluster *cl);

/* ---- suspicion.c ------------------------------------------------------------------------------- */

/* Starts suspecting m (first suspecter `from`). */
void akt__cl_suspect_start(akt__cluster *cl, akt__cl_member *m, uint64_t from);
/* A confirmation from `from`; returns 1 if it was a new one. */
int akt__cl_suspect_confirm(akt__cluster *cl, akt__cl_member *m, uint64_t from);
/* Stops the suspicion timer. */
void akt__cl_suspect_stop(akt__cluster *cl, akt__cl_member *m);
/* The suspicion timer fired. */
void akt__cl_suspect_expired(akt__cluster *cl, akt__cl_member *m);
/* The timeout of a suspicion with bounds min and max, k expected
 * confirmations and n so far, counted from its start. */
akt_duration akt__cl_suspicion_timeout(akt_duration min, akt_duration max, uint32_t k,
                                       uint32_t n);
/* Lifeguard's bounds: suspicion_mult * max(1, log10(n)) * probe_interval,
 * and suspicion_max_mult times that. */
akt_duration akt__cl_suspicion_min(akt__cluster *cl, uint32_t n);

/* ---- join.c ------------------------------------------------------------------------------------ */

/* Enters the joining phase with a fresh incarnation and an empty view. */
void akt__cl_join_begin(akt__cluster *cl);
void akt__cl_join_round(akt__cluster *cl);
void akt__cl_rediscover(akt__cluster *cl);
void akt__cl_on_hello(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p);
/* Asks the sender of a packet, a member whose incarnation this node does
 * not know, to sync with it (a Hello with sync_me) — if it is still
 * unknown AKT__CL_ASK_GRACE after its first packet, and at most once every
 * AKT__CL_ASK_AGAIN. */
void akt__cl_ask_sync(akt__cluster *cl, const akt_addr *to, const Akt__Cluster__Node *n);
/* A join sync through a member succeeded: this node is a member now. */
void akt__cl_joined(akt__cluster *cl);
/* This node is down (its own decision or the cluster's): leave the member
 * phase and, per after_down, rejoin later. */
void akt__cl_out(akt__cluster *cl, akt_cluster_down_reason reason);
void akt__cl_rejoin(akt__cluster *cl);

/* ---- sync.c ------------------------------------------------------------------------------------- */

/* Spawns /system/cluster. Returns 0 or an akt_spawn code. */
int akt__cl_actor_start(akt__cluster *cl);
/* Asks the actor to sync with the member whose remoting address is given;
 * join: this node joins through it. */
void akt__cl_sync_with(akt__cluster *cl, const char *remoting, int join);
/* The message types the sync needs registered. */
int akt__cl_register_types(akt_system *sys);

/* ---- downing.c --------------------------------------------------------------------------------- */

/* Records a change of the view that restarts the stable-after period. */
void akt__cl_view_changed(akt__cluster *cl);
/* Runs the downing strategy if the view is stable (gossip tick). */
void akt__cl_downing_check(akt__cluster *cl);

/* ---- stats ----------------------------------------------------------------------------------- */

#define AKT__CL_STAT(cl, field) ((cl)->stats.field++)

/* Logs a line about the cluster at `level`. */
#define akt__cl_log(cl, level, ...) akt__log((cl)->sys, (level), __VA_ARGS__)

#endif
