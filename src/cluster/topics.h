/* akt — cluster topics internals (see include/akt/cluster_topics.h and
 * docs/topics.md).
 *
 * One akt__topics per cluster, created by akt_cluster_start. Its state sits
 * under one mutex, `mu`; entry points are the API (any thread), the
 * cluster's event hook (akt__topics_on_event, with the cluster's lock
 * held), the /system/cluster actor handing over what peers sent, the
 * /system/topics actor (its retransmission tick), and the sink that
 * watches subscribers (their Terminated, on the thread of the actor that
 * terminated). Lock order: the cluster's mu, then this mu, then
 * the system's locks (sends). Nothing here takes the cluster's lock while
 * holding this one.
 *
 * The model (docs/topics.md, "Design"): every node owns its registry — the
 * topics it has local subscribers for, versioned, one change per version —
 * and pushes it to every other member, as a delta from the version the
 * peer holds or in full, until the peer acknowledges it. A publish goes,
 * numbered, to each member whose registry has the topic, one message per
 * member, and stays queued until that member acknowledges it; the member
 * takes entries strictly in sequence, so a retransmitted entry is a
 * duplicate it drops, and fans it out to its local subscribers.
 *
 * Files: topics.c (lifecycle, the cluster hook, the actors' side, queries),
 * topic_local.c (local subscriptions, this node's registry, acks to
 * subscribers), topic_registry.c (the peers and their registries),
 * topic_publish.c (publishing, retransmission, receiving and delivering).
 */
#ifndef AKT_CLUSTER_TOPICS_INTERNAL_H
#define AKT_CLUSTER_TOPICS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "akt/cluster.h"
#include "akt/cluster_topics.h"
#include "akt/topics.pb-c.h"
#include "src/util/strtab.h"

typedef struct akt__topics akt__topics;
struct akt__cluster;

/* ---- limits (internal) -------------------------------------------------------------- */

#define AKT__TP_LOG 256             /* registry changes remembered, for deltas */
#define AKT__TP_DELTA_MAX 64        /* changes in one delta; more go as the full registry */
#define AKT__TP_BATCH_ENTRIES 256   /* entries in one retransmitted Publish */
#define AKT__TP_BATCH_BYTES (256u << 10) /* payload bytes in one retransmitted Publish */
#define AKT__TP_RESEND_WINDOW 1024  /* entries resent per retransmission */
#define AKT__TP_INITIAL 8           /* first room of the growing arrays */
#define AKT__TP_ID_MAX 40           /* bytes of a table key (hex or decimal ids), NUL included */

/* ---- local subscriptions ------------------------------------------------------------ */

typedef struct akt__lsub {
  akt_pid *pid;                 /* one reference */
  akt_pid *ack_to;              /* one reference while an ack is owed, else NULL */
} akt__lsub;

/* A topic with local subscribers. */
typedef struct akt__ltopic {
  void *link;                   /* ltopics chain */
  char *name;
  uint32_t index;               /* in tp->lt */
  uint64_t since;               /* the registry version that added it */
  akt__lsub *subs;
  uint32_t nsubs, cap;
  uint32_t nwaiting;            /* subs that are owed an ack */
} akt__ltopic;

/* A local subscriber (watched while it has subscriptions). */
typedef struct akt__lsubr {
  void *link;                   /* lsubrs chain */
  char id[AKT__TP_ID_MAX];      /* its PID's id, decimal: the key */
  akt_pid *pid;                 /* one reference */
  akt__ltopic **topics;
  uint32_t ntopics, cap;
} akt__lsubr;

/* The change that made registry version v: topic added or removed (which
 * one, the current registry says). */
typedef struct akt__tchange {
  uint64_t version;             /* 0: none */
  char *topic;
} akt__tchange;

/* ---- peers --------------------------------------------------------------------------- */

/* A topic some peers have subscribers for: the index publishes look up. */
typedef struct akt__rtopic {
  void *link;                   /* rtopics chain */
  char *name;
  uint32_t *peers;              /* peer slots, ascending */
  uint32_t npeers, cap;
  uint64_t stamp;               /* marks it during a full registry's replacement */
} akt__rtopic;

/* One publish's payload, shared by its entries for every peer. */
typedef struct akt__tblob {
  uint32_t refs;
  const char *topic, *type, *sender; /* inside data, after the payload */
  size_t len;                   /* payload bytes */
  size_t size;                  /* what it counts against max_pending_bytes */
  uint8_t data[];
} akt__tblob;

typedef struct akt__tentry {
  struct akt__tentry *next;
  uint64_t seq;
  uint64_t sent_at;             /* its last transmission */
  akt__tblob *blob;             /* one reference */
} akt__tentry;

/* Another member (one incarnation). */
typedef struct akt__tpeer {
  void *link;                   /* peer_index chain */
  char id[AKT__TP_ID_MAX];      /* gossip key and incarnation, hex: the key */
  uint32_t slot;
  uint64_t key, uid;
  char name[AKT_SYSTEM_NAME_MAX + 1];
  akt_pid *pid;                 /* its /system/cluster; NULL: no remoting address */

  /* its registry, here */
  uint64_t their_version;
  akt__rtopic **topics;         /* its topics (each lists this peer's slot) */
  uint32_t ntopics, tcap;

  /* our registry, there */
  uint64_t reg_sent;            /* the version last sent */
  uint64_t reg_acked;           /* the version it holds, as it last said */
  uint64_t reg_sent_at;
  akt_duration reg_rto;

  /* our publishes to it */
  uint64_t next_seq;            /* the next to number */
  akt__tentry *head, *tail;     /* awaiting its ack, in order */
  uint32_t npending;
  size_t pending_bytes;
  akt_duration rto;             /* backs off while nothing is acknowledged */

  /* its publishes to us */
  uint64_t rx_next;             /* the next entry taken */
  akt_pid *sender;              /* the last sender seen, and its address */
  char *sender_addr;
} akt__tpeer;

/* ---- the service ------------------------------------------------------------------------ */

struct akt__topics {
  struct akt__cluster *cl;
  akt_system *sys;
  akt_backend *b;
  pthread_mutex_t mu;
  akt_topics_options o;         /* with defaults */

  /* this node */
  char host[AKT_HOST_MAX];
  uint16_t port;
  uint64_t uid;                 /* its incarnation (0: none yet) */
  int member;                   /* it is up or leaving: subscriptions can be acknowledged */
  int was_member;               /* this incarnation has been up */
  akt_pid *actor;               /* /system/topics, spawned on first need (one reference) */
  akt_pid *watcher;             /* the sink that watches subscribers, made on first need */
  int tick_armed;               /* the actor's tick runs, or a Kick is on its way */
  int closed;                   /* the system is going: no new actor */

  /* local subscriptions and this node's registry */
  akt__strtab ltopics;          /* akt__ltopic by name */
  akt__ltopic **lt;             /* dense, for walks in a fixed order */
  uint32_t nlt, ltcap;
  akt__strtab lsubrs;           /* akt__lsubr by id */
  uint64_t nsubs;
  uint32_t nwaiting;            /* subscriptions owed an ack, over all topics */
  uint64_t version;
  akt__tchange log[AKT__TP_LOG];

  /* peers */
  akt__tpeer **peers;           /* by slot; NULL: free */
  uint32_t nslots, slots_cap, npeers;
  akt__strtab peer_index;       /* akt__tpeer by id */
  akt__strtab rtopics;          /* akt__rtopic by name */
  uint64_t stamp;               /* the last full registry's mark */

  akt_topics_stats stats;
};

#define AKT__TP_STAT(tp, field) ((tp)->stats.field++)

/* ---- topics.c ---------------------------------------------------------------------------- */

/* Creates the service of a cluster being started (its actor exists).
 * Returns 0 or AKT_ENOMEM, or a type registration's code. */
int akt__topics_new(struct akt__cluster *cl);

/* Frees it (the system is being freed; no other thread runs). */
void akt__topics_free(struct akt__cluster *cl);

/* The cluster's event hook: called for every event (its kind, and the
 * member's snapshot, NULL when it names none), in order, after the
 * application's listener, with the cluster's lock held. */
void akt__topics_on_event(akt__topics *tp, akt_cluster_event_kind kind, const akt_member *m);

/* Handles a message that arrived at /system/cluster if it is one of ours:
 * returns 0, or AKT_EUNHANDLED for anything else. */
int akt__topics_receive(akt__topics *tp, akt_ctx *ctx, const ProtobufCMessage *msg);

/* The backend's clock. */
uint64_t akt__tp_now(akt__topics *tp);

/* Makes sure the retransmission tick runs (lock held). */
void akt__tp_need_tick(akt__topics *tp);

/* /system/topics, spawned now if need be (lock held). NULL when it cannot
 * be (the system is going). */
akt_pid *akt__tp_actor(akt__topics *tp);

/* /system/cluster: what peers talk to, and the sender of what goes to
 * them (borrowed: it lives as long as the cluster). */
akt_pid *akt__tp_cluster_actor(akt__topics *tp);

/* The sink that watches subscribers, made now if need be (lock held).
 * NULL: no memory. */
akt_pid *akt__tp_watcher(akt__topics *tp);

/* Fills a Node naming this node. */
void akt__tp_node_self(akt__topics *tp, Akt__Cluster__Node *n);

/* Tells threads waiting outside the system (akt_backend.wait: tests,
 * blocking callers) to look again: the registries or the counters moved. */
void akt__tp_wake(akt__topics *tp);

/* Calls the listener, if any, with ev (kind and fields set by the caller). */
void akt__tp_listen(akt__topics *tp, akt_topic_event *ev);

/* Emits a trace record (AKT_EV_NET, type "cluster-topic-<what>"). */
void akt__tp_trace(akt__topics *tp, const char *what, uint64_t hash, int64_t code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- topic_local.c ---------------------------------------------------------------------- */

/* The local topic named `name`, or NULL. */
akt__ltopic *akt__tp_ltopic(akt__topics *tp, const char *name);

/* Ends every local subscription (this node left the member phase): each
 * subscriber is told why. */
void akt__tp_end_all(akt__topics *tp, akt_topic_end_reason reason);

/* A watched subscriber terminated: its subscriptions end. */
void akt__tp_terminated(akt__topics *tp, uint64_t id);

/* Acknowledges the subscriptions every peer now holds (after an ack, a
 * peer gone, this node up). */
void akt__tp_check_acks(akt__topics *tp);

/* Frees the local tables (teardown). */
void akt__tp_local_free(akt__topics *tp);

/* ---- topic_registry.c ---------------------------------------------------------------- */

/* The peer with identity (key, uid), or NULL. */
akt__tpeer *akt__tp_peer(akt__topics *tp, uint64_t key, uint64_t uid);

/* The peer a Node names, or NULL (also for a malformed Node). */
akt__tpeer *akt__tp_peer_of(akt__topics *tp, const Akt__Cluster__Node *n);

/* Adds the member `m` as a peer, unless it is one already. Returns it, or
 * NULL (out of memory: logged; its publishes and registry are missed until
 * it is seen again). */
akt__tpeer *akt__tp_peer_add(akt__topics *tp, const akt_member *m);

/* Removes a peer: its registry, its pending publishes (abandoned) and its
 * state go. */
void akt__tp_peer_remove(akt__topics *tp, akt__tpeer *p);

/* Removes every peer. */
void akt__tp_peers_clear(akt__topics *tp);

/* Sends this node's registry to p: a delta from version `base` when the
 * log covers it (base > 0), else in full. Nothing when p holds the current
 * version already. */
void akt__tp_registry_send(akt__topics *tp, akt__tpeer *p, uint64_t base);

/* This node's registry changed: pushes it to every peer. */
void akt__tp_registry_changed(akt__topics *tp);

/* A Registry or a RegistryAck from a peer. */
void akt__tp_on_registry(akt__topics *tp, const Akt__Topics__Registry *r);
void akt__tp_on_registry_ack(akt__topics *tp, const Akt__Topics__RegistryAck *a);

/* Resends registries not acknowledged in time; 1 if any is still owed. */
int akt__tp_registry_tick(akt__topics *tp, uint64_t now);

/* The topic named `name` in the peers' registries, or NULL. */
akt__rtopic *akt__tp_rtopic(akt__topics *tp, const char *name);

/* ---- topic_publish.c ------------------------------------------------------------------- */

/* A Publish (takes the lock itself: it delivers outside it) or a
 * PublishAck (lock held) from a peer. */
void akt__tp_on_publish(akt__topics *tp, const Akt__Topics__Publish *m);
void akt__tp_on_publish_ack(akt__topics *tp, const Akt__Topics__PublishAck *a);

/* Resends publishes not acknowledged in time; 1 if any is still pending. */
int akt__tp_publish_tick(akt__topics *tp, uint64_t now);

/* Drops p's pending publishes (counted as abandoned). */
void akt__tp_pending_clear(akt__topics *tp, akt__tpeer *p);

#endif
