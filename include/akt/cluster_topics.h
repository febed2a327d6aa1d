/* akt — cluster topics: publish/subscribe across the members of a cluster.
 *
 * An actor on any member subscribes to a named topic; a message published
 * on that topic from any member (by an actor or by code outside actors)
 * reaches every subscriber, wherever it runs. The service starts with the
 * cluster (akt_cluster_start) on every member; akt_topics_configure sets
 * its limits. docs/topics.md explains the design and what is promised.
 *
 * The promise. A subscription is *acknowledged* once every other member
 * this node sees as joining, up or leaving holds it (ack_to receives
 * akt.topics.SubscribeAck then). From then on every publish on its topic
 * made on any of those members — and on any member that has since
 * received this node's registry with it — is delivered to the subscriber
 * at most once (never twice, whatever the network duplicates or
 * retransmission resends), and exactly once as long as the publisher's and
 * the subscriber's nodes keep their incarnations and stay members, the
 * subscriber lives and stays subscribed, and the publish was not refused
 * for a full queue (counted, and told to the listener). Publishes from one
 * node to the subscribers of one other node arrive in the order they were
 * made, so the order of one publisher's messages is kept for each
 * subscriber. A publish on the subscriber's own node is delivered at once
 * to every subscription made before it.
 *
 * Subscriptions end by unsubscribing, when the subscriber terminates (it is
 * watched), and when its node stops being a member (downed, or left): the
 * subscriber then gets akt.topics.SubscriptionEnded and must subscribe
 * again; its node rejoins as a new incarnation. Other members drop a
 * member's subscriptions when they see it down or exiting.
 *
 * Threads. Every function may be called from any thread, inside an actor
 * or outside.
 */
#ifndef AKT_CLUSTER_TOPICS_H
#define AKT_CLUSTER_TOPICS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/events.h"
#include "akt/pid.h"
#include "akt/system.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits and defaults ---------------------------------------------------- */

/* A topic name is 1..AKT_TOPIC_NAME_MAX bytes (akt/events.h), as on the
 * node-local event stream. */
#define AKT_TOPICS_DEFAULT_MAX_TOPICS 1024        /* topics with subscribers on one node */
#define AKT_TOPICS_DEFAULT_MAX_SUBSCRIBERS 4096   /* subscribers of one topic on one node */
#define AKT_TOPICS_DEFAULT_MAX_PENDING 4096       /* publishes awaiting a peer's ack */
#define AKT_TOPICS_DEFAULT_MAX_PENDING_BYTES (16u << 20) /* their payload bytes, per peer */
#define AKT_TOPICS_DEFAULT_MAX_PAYLOAD (1u << 20) /* bytes of one packed message */
#define AKT_TOPICS_DEFAULT_RETRANSMIT AKT_MILLIS(500) /* unacknowledged: sent again after */
#define AKT_TOPICS_DEFAULT_RETRANSMIT_MAX AKT_SECONDS(8) /* the backoff's cap */
#define AKT_TOPICS_HARD_MAX_TOPICS 65536
#define AKT_TOPICS_HARD_MAX_SUBSCRIBERS 65536
#define AKT_TOPICS_HARD_MAX_PENDING 1048576

/* Why the cluster ended a subscription (akt.topics.SubscriptionEnded.reason,
 * and the listener's AKT_TOPIC_EV_ENDED). */
typedef enum akt_topic_end_reason {
  AKT_TOPIC_END_TERMINATED = 1, /* the subscriber terminated */
  AKT_TOPIC_END_NODE_DOWN = 2,  /* this node was downed (it rejoins as a new incarnation) */
  AKT_TOPIC_END_NODE_LEFT = 3   /* this node left the cluster */
} akt_topic_end_reason;

/* ---- the listener (tests and simulator oracles) -------------------------------- */

typedef enum akt_topic_event_kind {
  /* A local subscription is acknowledged by every other member. `pid`,
   * `topic`, `version` (the registry version that holds it), and the
   * members that acknowledged it: `peers`, `peer_incarnations`, `npeers`. */
  AKT_TOPIC_EV_ACKED = 1,
  /* This node holds `peer`'s registry at `version` now. */
  AKT_TOPIC_EV_APPLIED = 2,
  /* A publish on `topic` (`msg`) was not queued for `peer`: its queue of
   * unacknowledged publishes is full (max_pending, max_pending_bytes). */
  AKT_TOPIC_EV_DROPPED = 3,
  /* The cluster ended a local subscription (`pid`, `topic`, `reason`). */
  AKT_TOPIC_EV_ENDED = 4
} akt_topic_event_kind;

typedef struct akt_topic_event {
  akt_topic_event_kind kind;
  uint64_t self_incarnation;     /* this node's cluster incarnation (0: none yet) */
  const char *peer;              /* APPLIED, DROPPED: the member's name */
  uint64_t peer_incarnation;
  const char *topic;             /* ACKED, DROPPED, ENDED */
  akt_pid *pid;                  /* ACKED, ENDED: the subscriber (borrowed) */
  const ProtobufCMessage *msg;   /* DROPPED: the message */
  uint64_t version;              /* ACKED, APPLIED */
  akt_topic_end_reason reason;   /* ENDED */
  const char *const *peers;      /* ACKED */
  const uint64_t *peer_incarnations;
  size_t npeers;
  uint64_t at;                   /* the backend's monotonic time */
} akt_topic_event;

/* A synchronous observer, called with the topics' lock (and at times the
 * cluster's) held: it must be quick and must not call akt_topic_*,
 * akt_topics_* or akt_cluster_*. Pointers are valid during the call. */
typedef void (*akt_topics_listener_fn)(akt_system *sys, const akt_topic_event *ev, void *arg);

/* Deliberately broken behaviour, for showing that the simulator's oracles
 * catch real bugs (docs/topics.md, "Testing"). Never set in production. */
#define AKT_TOPICS_TEST_NO_DEDUP 0x1u  /* every entry received is delivered, duplicates too */
#define AKT_TOPICS_TEST_KEEP_DOWN 0x2u /* members seen down keep their subscriptions here */
#define AKT_TOPICS_TEST_NO_WATCH 0x4u  /* terminated subscribers stay subscribed */
#define AKT_TOPICS_TEST_NO_RESEND 0x8u /* unacknowledged publishes are never sent again */

/* Options for akt_topics_configure. Zero fields take the defaults. */
typedef struct akt_topics_options {
  unsigned max_topics;        /* topics with local subscribers; also the most topics
                                 taken from one peer's registry */
  unsigned max_subscribers;   /* local subscribers of one topic */
  unsigned max_pending;       /* unacknowledged publishes per peer */
  size_t max_pending_bytes;   /* their payload bytes, per peer */
  size_t max_payload;         /* bytes of one packed message */
  akt_duration retransmit;    /* first retransmission of unacknowledged work */
  akt_duration retransmit_max; /* retransmissions back off up to this */
  akt_topics_listener_fn listener;
  void *listener_arg;
  uint32_t test_flags;        /* AKT_TOPICS_TEST_*: never in production */
} akt_topics_options;

/* Counters. Snapshot semantics. */
typedef struct akt_topics_stats {
  uint64_t topics;               /* topics with local subscribers now */
  uint64_t subscriptions;        /* local subscriptions now */
  uint64_t peers;                /* members the service talks to now */
  uint64_t publishes;            /* akt_topic_publish calls that were accepted */
  uint64_t delivered;            /* messages handed to local subscribers */
  uint64_t entries_sent;         /* publishes queued for a peer (one per node) */
  uint64_t entries_received;     /* entries taken from peers, in order, once each */
  uint64_t duplicates;           /* entries received again (a retransmission), dropped */
  uint64_t out_of_order;         /* entries after a gap (a lost message), dropped to resend */
  uint64_t retransmits;          /* messages sent again for want of an ack */
  uint64_t dropped;              /* publishes not queued for a peer: its queue was full */
  uint64_t abandoned;            /* unacknowledged publishes to a member that went down */
  uint64_t registries_sent, registries_applied;
  uint64_t registry_truncated;   /* topics of a peer's registry past max_topics (or not
                                    valid names), ignored */
  uint64_t acks_sent;            /* SubscribeAck messages */
  uint64_t ended;                /* subscriptions the cluster ended (reasons above) */
  uint64_t unknown_senders;      /* messages from identities that are not members here */
  uint64_t unknown_types;        /* entries of a type this node has not registered */
  uint64_t topics_refused;       /* subscribes refused: max_topics */
  uint64_t subscribers_refused;  /* subscribes refused: max_subscribers */
  uint64_t send_errors;          /* sends remoting refused (retried) */
} akt_topics_stats;

/* One node a topic's publishes reach (akt_topic_nodes). */
typedef struct akt_topic_node {
  char name[AKT_SYSTEM_NAME_MAX + 1];
  uint64_t incarnation;
  int self;                      /* 1 for this node (local subscribers) */
} akt_topic_node;

/* ---- the API -------------------------------------------------------------------- */

/* Sets the topics' options on `sys` (whose cluster is started). Allowed
 * until the first subscription on this node. Returns 0, AKT_EINVAL (an
 * option out of range, logged), AKT_ESTATE (no cluster, or subscriptions
 * exist already). */
int akt_topics_configure(akt_system *sys, const akt_topics_options *opts);

/* Subscribes `subscriber` (an actor, or a probe, on this node) to `topic`.
 * Publishes made on this node reach it from now on; those of other members
 * once they hold it, which `ack_to` (borrowed; may be NULL) learns by an
 * akt.topics.SubscribeAck. Subscribing again to the same topic changes
 * nothing but the ack_to, if one is given: it is acknowledged too (at once
 * when the subscription is acknowledged already), and replaces an ack_to
 * still waiting. Returns 0,
 * AKT_EINVAL (NULL, or a remote PID), AKT_ENAME (topic empty or longer
 * than AKT_TOPIC_NAME_MAX), AKT_ESTOPPED (the subscriber has terminated),
 * AKT_ESTATE (the cluster is not started), AKT_ELIMIT (max_topics or
 * max_subscribers, counted), AKT_ENOMEM. */
int akt_topic_subscribe(akt_pid *subscriber, const char *topic, akt_pid *ack_to);

/* Ends the subscription. No publish is delivered to it after the call
 * returns but those already handed to its mailbox. Returns 0, AKT_EINVAL,
 * AKT_ENOENT (not subscribed), AKT_ESTATE. */
int akt_topic_unsubscribe(akt_pid *subscriber, const char *topic);

/* Publishes `msg` (borrowed; copied) on `topic`: to this node's
 * subscribers at once, and to every member that has subscribers of the
 * topic as this node knows them, one message per member. `sender`
 * (borrowed; may be NULL) is the sender the subscribers see. Returns the
 * number of local subscribers plus members it was handed to (>= 0), or
 * AKT_EINVAL, AKT_ENAME, AKT_ESTATE, AKT_ELIMIT (the message packs to
 * more than max_payload bytes, or cannot be copied), AKT_ENOMEM. A member
 * whose queue is full is skipped (counted as dropped, and told to the
 * listener). */
int akt_topic_publish(akt_system *sys, const char *topic, const ProtobufCMessage *msg,
                      akt_pid *sender);

/* Copies the nodes a publish on `topic` from this node would reach — this
 * node when it has subscribers, and each member whose registry here has
 * the topic — into out[0..cap), sorted by name, and writes the count to
 * *n. Returns 0, AKT_ELIMIT (more than cap: the first cap are written, *n
 * is the total), AKT_EINVAL, AKT_ENAME, AKT_ESTATE. */
int akt_topic_nodes(akt_system *sys, const char *topic, akt_topic_node *out, size_t cap,
                    size_t *n);

/* Fills *out (zeros when the cluster is not started). */
void akt_topics_get_stats(akt_system *sys, akt_topics_stats *out);

#ifdef __cplusplus
}
#endif

#endif
