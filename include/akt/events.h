/* akt — the event stream: node-local publish/subscribe.
 *
 * Actors subscribe to topics; a message published on a topic is sent (as a
 * copy, like a tell) to every subscriber of that topic on this node. akt
 * itself publishes actor lifecycle events (akt.ActorEvent, sent by the actor
 * concerned) and every dead letter (akt.DeadLetter, sent by the
 * /system/deadletters actor) on the topics below; applications publish on
 * their own topics. A subscriber that has terminated is dropped the first
 * time a publication reaches it.
 */
#ifndef AKT_EVENTS_H
#define AKT_EVENTS_H

#include <protobuf-c/protobuf-c.h>

#include "akt/pid.h"
#include "akt/system.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKT_TOPIC_ACTOR_STARTED "akt.actor.started"
#define AKT_TOPIC_ACTOR_STOPPED "akt.actor.stopped"
#define AKT_TOPIC_ACTOR_RESTARTED "akt.actor.restarted"
#define AKT_TOPIC_ACTOR_PASSIVATED "akt.actor.passivated"
#define AKT_TOPIC_DEAD_LETTER "akt.deadletter"
/* Cluster membership events: akt.cluster.MemberEvent (akt/cluster.h). */
#define AKT_TOPIC_CLUSTER "akt.cluster"

/* Limits. */
#define AKT_TOPIC_NAME_MAX 255       /* bytes in a topic name */
#define AKT_MAX_TOPICS 4096          /* topics with subscribers, per system */
#define AKT_MAX_SUBSCRIBERS 65536    /* subscribers per topic */

/* Subscribes `subscriber` (a local actor or probe) to `topic` on its own
 * system. Subscribing twice is a no-op. Returns 0, AKT_EINVAL, AKT_ENAME
 * (empty or longer than AKT_TOPIC_NAME_MAX), AKT_ELIMIT, AKT_ENOMEM. */
int akt_subscribe(akt_pid *subscriber, const char *topic);

/* Removes the subscription. Returns 0, AKT_EINVAL or AKT_ENOENT. */
int akt_unsubscribe(akt_pid *subscriber, const char *topic);

/* Sends a copy of `msg` to every subscriber of `topic` on `sys`, with
 * `sender` (may be NULL) as its sender. Returns the number of subscribers
 * it was sent to (>= 0), or AKT_EINVAL, AKT_ENOMEM, AKT_ELIMIT (the message
 * cannot be copied). */
int akt_publish(akt_system *sys, const char *topic, const ProtobufCMessage *msg,
                akt_pid *sender);

#ifdef __cplusplus
}
#endif

#endif
