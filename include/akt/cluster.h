/* akt — cluster membership: who is in the cluster, who is up, who died.
 *
 * akt_cluster_start makes a system a member of a cluster. Members find each
 * other through a discovery provider (akt/discovery.h: static seeds by
 * default), detect failures with SWIM over datagrams with the Lifeguard
 * refinements, spread what they learn by piggybacking it on their probes,
 * and sync their whole view now and then over remoting. A downing strategy
 * decides, after a partition or a crash, which side stays up; the losing
 * side downs itself. docs/cluster.md explains the model, the protocol, the
 * defaults and what is and is not guaranteed.
 *
 * Identity. A member is a name (its system's name), a gossip address (host
 * and datagram port) and an incarnation: a number the process picks when it
 * joins. A restarted node is a new incarnation; its old self is dead and
 * never comes back.
 *
 * States. A member's status goes joining -> up -> leaving -> exiting ->
 * removed, or from any of the first four to down and then removed; it never
 * goes backwards. Its reachability (alive, suspect, unreachable) is SWIM's
 * view of it at its current version: it moves forward within a version and
 * the member alone can start a new version (refuting a suspicion). Every
 * node sees the changes of one member in the same order (it may miss some).
 *
 * Threads. Every function may be called from any thread unless it says
 * otherwise; the protocol itself runs on the backend's I/O context and in
 * the /system/cluster actor.
 *
 * Requirements: remoting is started on the system first (akt_remote_start);
 * the sync between members and joining travel over it, and are as secure as
 * remoting is.
 */
#ifndef AKT_CLUSTER_H
#define AKT_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"
#include "akt/discovery.h"
#include "akt/pid.h"
#include "akt/system.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits --------------------------------------------------------------- */

#define AKT_CLUSTER_MAX_ROLES 8          /* roles per member */
#define AKT_CLUSTER_ROLE_MAX 32          /* bytes in a role, NUL included */
#define AKT_CLUSTER_MAX_VALUES 8         /* application key/values per member */
#define AKT_CLUSTER_KEY_MAX 32           /* bytes in a key, NUL included */
#define AKT_CLUSTER_VALUE_MAX 128        /* bytes in a value, NUL included */
#define AKT_CLUSTER_META_MAX 512         /* bytes of a member's packed metadata */
#define AKT_CLUSTER_REMOTING_MAX 320     /* bytes of "akt://NAME@HOST:PORT", NUL included */
#define AKT_CLUSTER_MAX_SEEDS AKT_DISCOVERY_MAX_ADDRS
#define AKT_CLUSTER_HARD_MAX_MEMBERS 65536 /* largest max_members accepted */
#define AKT_CLUSTER_PACKET_MIN 1200      /* smallest packet_max accepted: fits any valid update */
#define AKT_CLUSTER_PACKET_HARD_MAX 65000 /* largest packet_max accepted (UDP) */

/* ---- defaults, and why (docs/cluster.md, "Defaults") -----------------------
 * The failure detector starts from memberlist's LAN defaults, which have run
 * in production for years on data-centre networks, and probes twice as
 * often with a shorter minimum suspicion: a crash is then declared down
 * within 5 s at the median (the split-brain decision comes on top of
 * SWIM's), and a live member still has 1 s and its own refutation. */
#define AKT_CLUSTER_DEFAULT_PROBE_INTERVAL AKT_MILLIS(500)
#define AKT_CLUSTER_DEFAULT_PROBE_TIMEOUT AKT_MILLIS(250)
#define AKT_CLUSTER_DEFAULT_INDIRECT_CHECKS 3
#define AKT_CLUSTER_DEFAULT_GOSSIP_INTERVAL AKT_MILLIS(200)
#define AKT_CLUSTER_DEFAULT_GOSSIP_NODES 3
#define AKT_CLUSTER_DEFAULT_RETRANSMIT_MULT 4
#define AKT_CLUSTER_DEFAULT_SUSPICION_MULT 2
#define AKT_CLUSTER_DEFAULT_SUSPICION_MAX_MULT 6
/* Lifeguard's K: independent confirmations that bring a suspicion's timeout
 * down to the minimum (memberlist ties it to suspicion_mult - 2 = 2). */
#define AKT_CLUSTER_DEFAULT_SUSPICION_CONFIRMATIONS 2
#define AKT_CLUSTER_DEFAULT_AWARENESS_MAX 8
#define AKT_CLUSTER_DEFAULT_PUSH_PULL_INTERVAL AKT_SECONDS(30)
/* Past this many live members a member's push-pull interval grows in
 * proportion to the member count (interval x n / 10): a sync carries the
 * whole view, so this keeps sync bytes per member per second constant. */
#define AKT_CLUSTER_PUSH_PULL_SCALE_FROM 10
/* Removal of down and exiting members: memberlist's gossip-to-the-dead time. */
#define AKT_CLUSTER_DEFAULT_REMOVE_AFTER AKT_SECONDS(30)
/* How long the unreachable set must stay the same before the downing
 * strategy decides (see docs/cluster.md, "Downing"). */
#define AKT_CLUSTER_DEFAULT_STABLE_AFTER AKT_MILLIS(500)
#define AKT_CLUSTER_DEFAULT_JOIN_INTERVAL AKT_SECONDS(1)
#define AKT_CLUSTER_DEFAULT_REDISCOVER_INTERVAL AKT_SECONDS(30)
#define AKT_CLUSTER_DEFAULT_REJOIN_DELAY AKT_SECONDS(5)
#define AKT_CLUSTER_DEFAULT_SYNC_TIMEOUT AKT_SECONDS(5)
#define AKT_CLUSTER_DEFAULT_LEAVE_TIMEOUT AKT_SECONDS(5)
#define AKT_CLUSTER_DEFAULT_DIRECT_CHECKS 20
#define AKT_CLUSTER_DEFAULT_PACKET_MAX 1400   /* fits an Ethernet MTU with IP/UDP headers */
#define AKT_CLUSTER_DEFAULT_MAX_MEMBERS 4096
#define AKT_CLUSTER_DEFAULT_BOOTSTRAP_ROUNDS 2

/* ---- members ---------------------------------------------------------------- */

typedef enum akt_member_status {
  AKT_MEMBER_JOINING = 1,
  AKT_MEMBER_UP = 2,
  AKT_MEMBER_LEAVING = 3,
  AKT_MEMBER_EXITING = 4,
  AKT_MEMBER_DOWN = 5,
  AKT_MEMBER_REMOVED = 6
} akt_member_status;

typedef enum akt_member_reach {
  AKT_REACH_ALIVE = 0,      /* answers probes, directly or through others */
  AKT_REACH_SUSPECT = 1,    /* a probe failed; the suspicion timer runs */
  AKT_REACH_UNREACHABLE = 2 /* the suspicion timed out; the downing strategy decides */
} akt_member_reach;

/* Why a member went down. */
typedef enum akt_cluster_down_reason {
  AKT_DOWN_UNKNOWN = 0,
  AKT_DOWN_STRATEGY = 1,     /* the downing strategy: it was on the losing side or unreachable */
  AKT_DOWN_INDIRECT = 2,     /* it could not reach a member directly (indirectly connected) */
  AKT_DOWN_RESTARTED = 3,    /* a newer incarnation at its address joined */
  AKT_DOWN_SUPERSEDED = 4,   /* this process learned that a newer incarnation of it exists */
  AKT_DOWN_ISOLATED = 5      /* it heard from no member for the isolation time */
} akt_cluster_down_reason;

typedef struct akt_cluster_kv {
  const char *key;   /* 1..AKT_CLUSTER_KEY_MAX-1 bytes */
  const char *value; /* 0..AKT_CLUSTER_VALUE_MAX-1 bytes */
} akt_cluster_kv;

/* A snapshot of one member, plain data owned by the caller. */
typedef struct akt_member {
  char name[AKT_SYSTEM_NAME_MAX + 1];
  akt_addr addr;                 /* gossip address */
  uint64_t incarnation;          /* identity: a restarted node has a new one */
  uint32_t version;              /* SWIM incarnation number (refutations, own changes) */
  akt_member_status status;
  akt_member_reach reach;
  uint64_t up_number;            /* order by age once up (smaller is older); 0 before */
  int self;                      /* 1 for the local member */
  char remoting[AKT_CLUSTER_REMOTING_MAX]; /* its remoting address, "" if unknown */
  uint16_t cluster_port;
  unsigned nroles;
  char roles[AKT_CLUSTER_MAX_ROLES][AKT_CLUSTER_ROLE_MAX];
  unsigned nvalues;
  char keys[AKT_CLUSTER_MAX_VALUES][AKT_CLUSTER_KEY_MAX];
  char values[AKT_CLUSTER_MAX_VALUES][AKT_CLUSTER_VALUE_MAX];
  uint64_t bytes_sent;           /* bytes this node sent to it (datagrams and syncs) */
  uint64_t bytes_received;       /* bytes this node received from it */
} akt_member;

/* ---- events ----------------------------------------------------------------- */

/* Published on the event stream topic AKT_TOPIC_CLUSTER (akt/events.h) as
 * akt.cluster.MemberEvent, and given to the options' listener. */
typedef enum akt_cluster_event_kind {
  AKT_CLUSTER_MEMBER_JOINED = 1,      /* first seen joining */
  AKT_CLUSTER_MEMBER_UP = 2,
  AKT_CLUSTER_MEMBER_SUSPECT = 3,
  AKT_CLUSTER_MEMBER_UNREACHABLE = 4,
  AKT_CLUSTER_MEMBER_REACHABLE = 5,   /* was suspect or unreachable, refuted */
  AKT_CLUSTER_MEMBER_LEFT = 6,        /* leaving */
  AKT_CLUSTER_MEMBER_EXITED = 7,      /* exiting: left, about to be removed */
  AKT_CLUSTER_MEMBER_DOWN = 8,
  AKT_CLUSTER_MEMBER_REMOVED = 9,
  AKT_CLUSTER_LEADER_CHANGED = 10,    /* member: the new leader, or none */
  AKT_CLUSTER_FORMED = 11             /* this node founded a new cluster (member: itself) */
} akt_cluster_event_kind;

/* An event as the listener sees it. `member` is valid during the call
 * (NULL for LEADER_CHANGED to no leader). */
typedef struct akt_cluster_event {
  akt_cluster_event_kind kind;
  const akt_member *member;
  akt_cluster_down_reason reason; /* MEMBER_DOWN */
  uint64_t at;                    /* the backend's monotonic time */
} akt_cluster_event;

/* A synchronous observer of every event, called on the thread that made
 * the change, with the cluster's lock held, in the order of the changes:
 * it must be quick and must not call akt_cluster_* or block. Meant for
 * tests and simulator oracles; applications subscribe to the topic. */
typedef void (*akt_cluster_listener_fn)(akt_system *sys, const akt_cluster_event *ev, void *arg);

/* The short name of an event kind ("member-up", ...), as in traces. */
const char *akt_cluster_event_name(akt_cluster_event_kind kind);

/* The name of a status ("up") and of a reachability ("suspect"). */
const char *akt_member_status_name(akt_member_status s);
const char *akt_member_reach_name(akt_member_reach r);

/* ---- options ------------------------------------------------------------------ */

typedef enum akt_downing {
  AKT_DOWNING_KEEP_MAJORITY = 0, /* default: the side with more up members; a tie goes
                                    to the side with the lowest address */
  AKT_DOWNING_STATIC_QUORUM = 1, /* a side with at least `quorum` up members stays */
  AKT_DOWNING_KEEP_OLDEST = 2,   /* the side with the oldest member stays */
  AKT_DOWNING_DOWN_ALL = 3,      /* everything goes down */
  AKT_DOWNING_OFF = 4            /* nothing is downed (unreachable members stay) */
} akt_downing;

typedef enum akt_cluster_after_down {
  AKT_AFTER_DOWN_REJOIN = 0, /* default: rejoin as a new incarnation after rejoin_delay */
  AKT_AFTER_DOWN_STAY = 1    /* stay out; the application decides (e.g. exits) */
} akt_cluster_after_down;

/* Seals and opens gossip datagrams (a keyed MAC or encryption). `seal`
 * gets the packet in buf[0..len) with room for `cap` bytes and writes the
 * sealed length to *out_len; `open` checks buf[0..len) and writes where the
 * payload starts and its length. Both return 0, or a negative code (the
 * packet is then not sent / dropped and counted). `overhead` is the most
 * bytes seal adds. NULL functions: packets go as they are. */
typedef struct akt_cluster_seal {
  int (*seal)(void *arg, uint8_t *buf, size_t len, size_t cap, size_t *out_len);
  int (*open)(void *arg, const uint8_t *buf, size_t len, size_t *off, size_t *payload_len);
  size_t overhead;
  void *arg;
} akt_cluster_seal;

/* Deliberately broken behaviour, for showing that the simulator's oracles
 * catch real bugs (docs/cluster.md, "Testing"). Never set in production. */
#define AKT_CLUSTER_TEST_NO_REFUTE 0x1u     /* a suspected member does not refute */
#define AKT_CLUSTER_TEST_NO_VERSIONS 0x2u   /* stale updates are applied (no version check) */
#define AKT_CLUSTER_TEST_NO_DOWNING 0x4u    /* the downing strategy never decides */
#define AKT_CLUSTER_TEST_NO_EXPIRY 0x8u     /* suspicions never time out */
#define AKT_CLUSTER_TEST_NO_GOSSIP 0x10u    /* no dissemination but the syncs */
#define AKT_CLUSTER_TEST_EAGER_FORM 0x20u   /* form a cluster without waiting for anyone */

/* Options for akt_cluster_start. Zero fields take the defaults above;
 * pointers are borrowed for the duration of the call (everything is
 * copied) unless said otherwise. */
typedef struct akt_cluster_options {
  const char *host;              /* gossip address to bind and advertise; NULL = the
                                    system's (remoting) host */
  uint16_t gossip_port;          /* datagram port; 0 = any free one */
  uint16_t cluster_port;         /* CLUSTER_PORT, advertised to the cluster-actor layer */
  const akt_addr *seeds;         /* gossip addresses of seed members (static discovery) */
  size_t nseeds;
  akt_discovery *discovery;      /* another provider; the cluster owns it after a
                                    successful start. NULL: the seeds */
  unsigned bootstrap_expect;     /* nodes (this one included) that must answer before one
                                    of them may found a new cluster; 0 = a majority of
                                    seeds plus this node, or 1 without seeds */
  unsigned bootstrap_rounds;     /* join rounds that condition must hold (2) */
  const char *const *roles;      /* nroles <= AKT_CLUSTER_MAX_ROLES */
  size_t nroles;
  const akt_cluster_kv *values;  /* nvalues <= AKT_CLUSTER_MAX_VALUES */
  size_t nvalues;

  akt_downing downing;
  unsigned quorum;               /* static-quorum: up members a side needs */
  int keep_oldest_alone;         /* keep-oldest: non-zero lets an oldest member that is
                                    alone on its side stay (default: it goes down) */
  akt_duration stable_after;
  akt_cluster_after_down after_down;
  akt_duration rejoin_delay;

  akt_duration probe_interval;
  akt_duration probe_timeout;
  unsigned indirect_checks;
  unsigned direct_checks;        /* direct probes that must all fail before a member
                                    reachable only through others counts as indirectly
                                    connected */
  akt_duration gossip_interval;
  unsigned gossip_nodes;
  unsigned retransmit_mult;
  unsigned suspicion_mult;
  unsigned suspicion_max_mult;
  unsigned suspicion_confirmations; /* Lifeguard's K, at most 16 (0: the default, 2) */
  unsigned awareness_max;
  akt_duration push_pull_interval; /* x n / AKT_CLUSTER_PUSH_PULL_SCALE_FROM past that many */
  akt_duration join_interval;
  akt_duration rediscover_interval;
  akt_duration remove_after;
  akt_duration sync_timeout;
  akt_duration leave_timeout;
  size_t packet_max;             /* bytes of one datagram */
  unsigned max_members;          /* members known at once; more are refused (counted) */

  akt_cluster_seal seal;
  akt_cluster_listener_fn listener;
  void *listener_arg;
  uint32_t test_flags;           /* AKT_CLUSTER_TEST_*: never in production */
} akt_cluster_options;

/* Counters. Snapshot semantics. */
typedef struct akt_cluster_stats {
  uint64_t packets_sent, packets_received, bytes_sent, bytes_received;
  uint64_t pings, acks, ping_reqs, nacks;
  uint64_t probes_failed;          /* probes that ended without an ack */
  uint64_t suspicions, refutations, unreachable, downs;
  uint64_t syncs, syncs_failed;
  uint64_t decode_errors;          /* datagrams dropped: bad header, seal, protobuf */
  uint64_t send_errors;            /* datagrams the backend refused */
  uint64_t broadcasts_dropped;     /* gossip queue over its limit */
  uint64_t members_refused;        /* max_members reached */
  uint64_t relays_refused;         /* indirect probes refused: too many in flight */
  uint64_t acks_untracked;         /* pings not sent: too many acks awaited already */
  uint64_t heard_full;             /* joining: non-members not remembered (table full) */
  uint64_t discovery_truncated;    /* addresses past AKT_DISCOVERY_MAX_ADDRS ignored */
  uint64_t stale_updates;          /* updates older than what this node knew */
  uint64_t invalid_updates;        /* updates that broke the protocol's rules */
  uint64_t awareness;              /* the local health score now (0 = healthy) */
} akt_cluster_stats;

/* ---- the cluster on a system ------------------------------------------------------ */

/* Where this node stands. */
typedef enum akt_cluster_phase {
  AKT_CLUSTER_IDLE = 0,     /* not started, or stopped */
  AKT_CLUSTER_JOINING = 1,  /* looking for a cluster to join (or to found) */
  AKT_CLUSTER_MEMBER = 2,   /* a member (its status says joining, up, leaving, ...) */
  AKT_CLUSTER_OUT = 3       /* downed or left; waits to rejoin or stays out */
} akt_cluster_phase;

/* Starts membership on `sys`: binds the gossip port, spawns
 * /system/cluster, and begins joining (through the seeds or the discovery
 * provider). Returns at once; watch the events, or akt_cluster_phase, for
 * the outcome. Returns 0, AKT_EINVAL (an option out of range, with a log
 * line naming it), AKT_ESTATE (remoting not started, or the cluster
 * already started), AKT_EEXIST (the gossip port is taken), AKT_ENOMEM,
 * AKT_EBACKEND. The cluster stops with the system (akt_system_shutdown
 * announces the exit first). */
int akt_cluster_start(akt_system *sys, const akt_cluster_options *opts);

/* Leaves gracefully: the local member becomes leaving, then exiting, and
 * once its exit has been gossiped (or leave_timeout passed) membership
 * stops on this node; the others remove it without suspecting it. With a
 * non-zero `timeout`, waits (blocks in production, runs the world in the
 * simulator) until the node is out or the timeout passes; call it then from
 * outside any actor. Returns 0 (left, or leaving when timeout is 0),
 * AKT_ETIMEDOUT, AKT_ESTATE (not a member). */
int akt_cluster_leave(akt_system *sys, akt_duration timeout);

/* Stops membership at once, without telling anyone but the few members a
 * last gossip packet reaches: for tests and emergencies (the others will
 * detect the node as failed unless that packet arrives). The cluster
 * cannot be started again on this system. No-op when not started. */
void akt_cluster_stop(akt_system *sys);

/* Where the node stands (AKT_CLUSTER_IDLE when not started). */
akt_cluster_phase akt_cluster_get_phase(akt_system *sys);

/* Copies the members this node knows (itself included, removed ones not),
 * sorted by address, into out[0..cap). Writes the count to *n. Returns 0,
 * AKT_ELIMIT (more than cap: the first cap are written, *n is the total),
 * AKT_ESTATE (not started), AKT_EINVAL. */
int akt_cluster_members(akt_system *sys, akt_member *out, size_t cap, size_t *n);

/* Copies the local member. Returns 0, AKT_ESTATE (not started), AKT_EINVAL. */
int akt_cluster_self(akt_system *sys, akt_member *out);

/* Copies the leader: the oldest member (smallest up_number, then lowest
 * address) that is up or leaving and not unreachable, as this node sees
 * it. Returns 0, AKT_ENOENT (no such member), AKT_ESTATE, AKT_EINVAL. */
int akt_cluster_leader(akt_system *sys, akt_member *out);

/* Fills *out (zeros when not started). */
void akt_cluster_get_stats(akt_system *sys, akt_cluster_stats *out);

/* ---- configuration from the environment ------------------------------------------- */

/* Reads an environment variable: returns its value or NULL when unset. */
typedef const char *(*akt_getenv_fn)(const char *name, void *arg);

/* What akt_cluster_options_from_env read, and the storage the options
 * point into: keep it alive as long as the options. */
typedef struct akt_cluster_env {
  char node_name[AKT_SYSTEM_NAME_MAX + 1]; /* NODE_NAME: the system's name */
  char node_ip[AKT_HOST_MAX];              /* NODE_IP: host to bind and advertise */
  uint16_t gossip_port;                    /* GOSSIP_PORT */
  uint16_t cluster_port;                   /* CLUSTER_PORT (optional) */
  uint16_t remoting_port;                  /* REMOTING_PORT */
  akt_addr seeds[AKT_CLUSTER_MAX_SEEDS];   /* AKT_CLUSTER_SEEDS */
  size_t nseeds;
  char role_text[AKT_CLUSTER_MAX_ROLES][AKT_CLUSTER_ROLE_MAX];
  const char *roles[AKT_CLUSTER_MAX_ROLES]; /* AKT_CLUSTER_ROLES */
  size_t nroles;
  akt_discovery_env discovery;             /* DISCOVERY and its settings */
} akt_cluster_env;

/* Fills `opts` (zeroed first) and `env` from the environment, read with
 * `get(name, arg)` (NULL: the process environment, getenv):
 *   NODE_NAME (required)      the system name: [A-Za-z0-9_-], 1..64 bytes
 *   NODE_IP (required)        the host to bind and advertise
 *   GOSSIP_PORT (required)    datagram port, 0..65535 (0: any free one)
 *   REMOTING_PORT (required)  remoting port, 0..65535 (0: any free one)
 *   CLUSTER_PORT              advertised cluster port, 0..65535 (0: none)
 *   AKT_CLUSTER_SEEDS         "host:port,host:port,..." gossip addresses
 *   AKT_CLUSTER_ROLES         "role,role,..."
 *   AKT_CLUSTER_DOWNING       keep-majority | static-quorum:N | keep-oldest | down-all | off
 *   AKT_CLUSTER_STABLE_AFTER  a duration: "20s", "1500ms"
 *   AKT_CLUSTER_BOOTSTRAP_EXPECT  a count
 *   DISCOVERY                 static (default) | dns | mdns | kubernetes, with
 *                             its settings (DNS_NAME, MDNS_SERVICE,
 *                             K8S_LABEL_SELECTOR, ...: docs/discovery.md)
 * Returns 0, or AKT_EINVAL with "NAME: what is wrong" in err (errsize
 * bytes) for the first variable that is missing or malformed. The
 * provider is not built here: akt_discovery_new(&env->discovery.config,
 * &opts->discovery) builds the one DISCOVERY names (for static, the seeds
 * in opts are enough). */
int akt_cluster_options_from_env(akt_cluster_options *opts, akt_cluster_env *env,
                                 akt_getenv_fn get, void *arg, char *err, size_t errsize);

#ifdef __cplusplus
}
#endif

#endif
