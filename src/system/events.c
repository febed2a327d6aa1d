/* akt — the event stream.
 *
 * Topics live in an array guarded by their own mutex (publishing happens on
 * any thread, never under the system lock). A publication snapshots the
 * subscribers under the lock and sends outside it, so a subscriber's
 * mailbox is never touched while the table is locked. A count of all
 * subscriptions lets the core skip building events nobody wants.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/events.h"
#include "src/actor/send.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* First room for topics, and for one topic's subscribers; both double. */
#define TOPICS_INITIAL_CAPACITY 8
#define SUBSCRIBERS_INITIAL_CAPACITY 4

typedef struct topic {
  char *name;
  akt_pid **subs; /* one reference each */
  uint32_t n, cap;
} topic;

struct akt__events {
  pthread_mutex_t lock;
  topic *topics;
  uint32_t n, cap;
  _Atomic uint64_t subscriptions;
};

int akt__events_new(akt_system *sys) {
  akt__events *ev = calloc(1, sizeof *ev);
  if (!ev) return AKT_ENOMEM;
  pthread_mutex_init(&ev->lock, NULL);
  sys->events = ev;
  return 0;
}

void akt__events_free(akt_system *sys) {
  akt__events *ev = sys->events;
  if (!ev) return;
  for (uint32_t i = 0; i < ev->n; i++) {
    for (uint32_t k = 0; k < ev->topics[i].n; k++) akt_pid_release(ev->topics[i].subs[k]);
    free(ev->topics[i].subs);
    free(ev->topics[i].name);
  }
  free(ev->topics);
  pthread_mutex_destroy(&ev->lock);
  free(ev);
  sys->events = NULL;
}

/* The topic named `name`, or NULL (lock held). */
static topic *find(akt__events *ev, const char *name) {
  for (uint32_t i = 0; i < ev->n; i++)
    if (strcmp(ev->topics[i].name, name) == 0) return &ev->topics[i];
  return NULL;
}

static int topic_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  return n > 0 && n <= AKT_TOPIC_NAME_MAX;
}

int akt_subscribe(akt_pid *subscriber, const char *topic_name) {
  if (!subscriber || !subscriber->cell || !topic_name) return AKT_EINVAL;
  if (!topic_valid(topic_name)) return AKT_ENAME;
  akt__events *ev = subscriber->sys->events;
  int rc = 0;
  pthread_mutex_lock(&ev->lock);
  topic *t = find(ev, topic_name);
  if (!t) {
    rc = akt__grow(&ev->topics, sizeof *ev->topics, ev->n, &ev->cap, TOPICS_INITIAL_CAPACITY,
                   AKT_MAX_TOPICS);
    if (!rc) {
      char *name = strdup(topic_name);
      if (!name) {
        rc = AKT_ENOMEM;
      } else {
        t = &ev->topics[ev->n++];
        *t = (topic){.name = name};
      }
    }
  }
  if (!rc) {
    for (uint32_t i = 0; i < t->n; i++)
      if (t->subs[i] == subscriber) goto done;
    rc = akt__grow(&t->subs, sizeof *t->subs, t->n, &t->cap, SUBSCRIBERS_INITIAL_CAPACITY,
                   AKT_MAX_SUBSCRIBERS);
    if (!rc) {
      t->subs[t->n++] = akt_pid_retain(subscriber);
      atomic_fetch_add(&ev->subscriptions, 1);
      AKT_ASSERT(t->n <= t->cap && t->n <= AKT_MAX_SUBSCRIBERS);
    }
  }
done:
  pthread_mutex_unlock(&ev->lock);
  return rc;
}

/* Removes `sub` from topic `t` (lock held); returns the reference to drop
 * after unlocking, or NULL. */
static akt_pid *remove_sub(akt__events *ev, topic *t, akt_pid *sub) {
  for (uint32_t i = 0; i < t->n; i++) {
    if (t->subs[i] != sub) continue;
    akt_pid *p = t->subs[i];
    for (uint32_t k = i + 1; k < t->n; k++) t->subs[k - 1] = t->subs[k];
    t->n--;
    uint64_t before = atomic_fetch_sub(&ev->subscriptions, 1);
    AKT_ASSERT(before > 0);
    return p;
  }
  return NULL;
}

int akt_unsubscribe(akt_pid *subscriber, const char *topic_name) {
  if (!subscriber || !subscriber->cell || !topic_name) return AKT_EINVAL;
  akt__events *ev = subscriber->sys->events;
  pthread_mutex_lock(&ev->lock);
  topic *t = find(ev, topic_name);
  akt_pid *dropped = t ? remove_sub(ev, t, subscriber) : NULL;
  pthread_mutex_unlock(&ev->lock);
  /* Released outside the lock: the last release of a PID takes the system
   * lock, and nothing may hold both. */
  akt_pid_release(dropped);
  return dropped ? 0 : AKT_ENOENT;
}

int akt__events_wanted(akt_system *sys, const char *topic_name) {
  akt__events *ev = sys->events;
  if (!ev || atomic_load_explicit(&ev->subscriptions, memory_order_relaxed) == 0) return 0;
  pthread_mutex_lock(&ev->lock);
  topic *t = find(ev, topic_name);
  int wanted = t && t->n > 0;
  pthread_mutex_unlock(&ev->lock);
  return wanted;
}

int akt_publish(akt_system *sys, const char *topic_name, const ProtobufCMessage *msg,
                akt_pid *sender) {
  if (!sys || !topic_name || !msg) return AKT_EINVAL;
  akt__events *ev = sys->events;
  pthread_mutex_lock(&ev->lock);
  topic *t = find(ev, topic_name);
  uint32_t n = t ? t->n : 0;
  AKT_ASSERT(n <= AKT_MAX_SUBSCRIBERS);
  akt_pid **snap = n ? malloc(n * sizeof *snap) : NULL;
  if (n && !snap) {
    pthread_mutex_unlock(&ev->lock);
    return AKT_ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) snap[i] = akt_pid_retain(t->subs[i]);
  pthread_mutex_unlock(&ev->lock);

  int sent = 0, err = 0;
  for (uint32_t i = 0; i < n; i++) {
    int rc = akt__send(snap[i], msg, sender, 0, 0);
    if (rc == 0) {
      sent++;
    } else if (rc == AKT_ESTOPPED) {
      akt_unsubscribe(snap[i], topic_name);
    } else if (rc == AKT_ELIMIT || rc == AKT_EINVAL) {
      err = rc; /* the message itself is bad: every send would fail */
    }
    akt_pid_release(snap[i]);
  }
  free(snap);
  return err && !sent ? err : sent;
}

void akt__events_actor(akt_system *sys, akt__event_kind kind, akt__cell *c, int code) {
  AKT_ASSERT(kind >= AKT__EVENT_STARTED && kind <= AKT__EVENT_PASSIVATED);
  static const char *const topics[] = {
      [AKT__EVENT_STARTED] = AKT_TOPIC_ACTOR_STARTED,
      [AKT__EVENT_STOPPED] = AKT_TOPIC_ACTOR_STOPPED,
      [AKT__EVENT_RESTARTED] = AKT_TOPIC_ACTOR_RESTARTED,
      [AKT__EVENT_PASSIVATED] = AKT_TOPIC_ACTOR_PASSIVATED,
  };
  if (!akt__events_wanted(sys, topics[kind])) return;
  Akt__ActorEvent e = AKT__ACTOR_EVENT__INIT;
  e.kind = (Akt__ActorEvent__Kind)kind;
  e.path = (char *)(uintptr_t)akt__self(c)->path;
  e.id = akt__self(c)->id;
  e.actor_kind = (char *)(uintptr_t)(c->def->kind ? c->def->kind : "");
  e.code = code;
  akt_publish(sys, topics[kind], &e.base, akt__self(c));
}
