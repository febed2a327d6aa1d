/* akt — cluster topics: local subscriptions, this node's registry, and the
 * acknowledgements owed to subscribers.
 *
 * The registry is the set of topics with local subscribers. It changes
 * only when a topic gets its first subscriber or loses its last one, and
 * each change is one version: the log remembers which topic version v
 * touched, so a peer that holds version b can be sent the topics touched
 * in (b, v] with their state now (a delta) instead of the whole set.
 *
 * A subscription is acknowledged once every peer holds a version at or
 * after the one that added its topic (`since`): a peer that holds it takes
 * every publish of the topic from this node's point of view — it sends
 * them here. A subscriber is watched by /system/topics from its first
 * subscription to its last, so one that terminates is removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

akt__ltopic *akt__tp_ltopic(akt__topics *tp, const char *name) {
  return akt__strtab_find(&tp->ltopics, name);
}

static akt__topics *topics_of(akt_system *sys) {
  akt__cluster *cl = akt__cluster_of(sys);
  return cl ? cl->topics : NULL;
}

static int name_ok(const char *topic) {
  size_t n = strnlen(topic, AKT_TOPIC_NAME_MAX + 1);
  return n > 0 && n <= AKT_TOPIC_NAME_MAX;
}

/* ---- the registry's versions ------------------------------------------------------------- */

/* Topic `name` was added to or removed from the registry: a new version. */
static void changed(akt__topics *tp, const char *name) {
  tp->version++;
  akt__tchange *c = &tp->log[tp->version % AKT__TP_LOG];
  free(c->topic);
  c->topic = strdup(name);
  /* Without the name no delta can cover this version: peers then get the
   * registry in full. */
  c->version = c->topic ? tp->version : 0;
  akt__tp_registry_changed(tp);
  akt__tp_wake(tp);
}

/* ---- tables ----------------------------------------------------------------------------------- */

static akt__lsubr *lsubr_find(akt__topics *tp, uint64_t id) {
  char key[AKT__TP_ID_MAX];
  snprintf(key, sizeof key, "%llu", (unsigned long long)id);
  return akt__strtab_find(&tp->lsubrs, key);
}

/* The subscriber record of pid, created (and the subscriber watched) if
 * need be. NULL: out of memory (*rc says). */
static akt__lsubr *lsubr_get(akt__topics *tp, akt_pid *pid, int *rc) {
  akt__lsubr *r = lsubr_find(tp, akt_pid_id(pid));
  if (r) return r;
  akt_pid *watcher = akt__tp_watcher(tp);
  if (!watcher) {
    *rc = AKT_ENOMEM;
    return NULL;
  }
  r = calloc(1, sizeof *r);
  if (!r) {
    *rc = AKT_ENOMEM;
    return NULL;
  }
  snprintf(r->id, sizeof r->id, "%llu", (unsigned long long)akt_pid_id(pid));
  if (akt__strtab_add(&tp->lsubrs, r) != 0) {
    free(r);
    *rc = AKT_ENOMEM;
    return NULL;
  }
  r->pid = akt_pid_retain(pid);
  if (!(tp->o.test_flags & AKT_TOPICS_TEST_NO_WATCH) && (*rc = akt_watch_as(watcher, pid)) != 0) {
    akt__strtab_remove(&tp->lsubrs, r);
    akt_pid_release(r->pid);
    free(r);
    return NULL;
  }
  return r;
}

/* Frees a subscriber record with no subscriptions left. */
static void lsubr_drop(akt__topics *tp, akt__lsubr *r, int unwatch) {
  AKT_ASSERT(r->ntopics == 0);
  akt__strtab_remove(&tp->lsubrs, r);
  if (unwatch && !(tp->o.test_flags & AKT_TOPICS_TEST_NO_WATCH))
    akt_unwatch_as(tp->watcher, r->pid);
  akt_pid_release(r->pid);
  free(r->topics);
  free(r);
}

static akt__ltopic *ltopic_new(akt__topics *tp, const char *name, int *rc) {
  *rc = akt__grow(&tp->lt, sizeof *tp->lt, tp->nlt, &tp->ltcap, AKT__TP_INITIAL,
                  tp->o.max_topics);
  if (*rc) return NULL;
  akt__ltopic *t = calloc(1, sizeof *t);
  if (!t || !(t->name = strdup(name))) {
    free(t);
    *rc = AKT_ENOMEM;
    return NULL;
  }
  if ((*rc = akt__strtab_add(&tp->ltopics, t)) != 0) {
    free(t->name);
    free(t);
    return NULL;
  }
  t->index = tp->nlt;
  tp->lt[tp->nlt++] = t;
  return t;
}

/* Removes an empty topic from the tables (and from the registry: a new
 * version). */
static void ltopic_drop(akt__topics *tp, akt__ltopic *t) {
  AKT_ASSERT(t->nsubs == 0 && t->nwaiting == 0 && t->index < tp->nlt && tp->lt[t->index] == t);
  akt__strtab_remove(&tp->ltopics, t);
  tp->lt[t->index] = tp->lt[--tp->nlt];
  tp->lt[t->index]->index = t->index;
  changed(tp, t->name);
  free(t->subs);
  free(t->name);
  free(t);
}

static int sub_index(const akt__ltopic *t, const akt_pid *pid) {
  for (uint32_t i = 0; i < t->nsubs; i++)
    if (t->subs[i].pid == pid) return (int)i;
  return -1;
}

/* Removes subscription i of t: from the subscriber's record (freed with
 * its last one) and from t (dropped when empty). `unwatch`: the
 * subscriber is alive, withdraw the watch with the last one. */
static void sub_drop(akt__topics *tp, akt__ltopic *t, uint32_t i, int unwatch) {
  AKT_ASSERT(i < t->nsubs);
  akt__lsub s = t->subs[i];
  memmove(&t->subs[i], &t->subs[i + 1], (t->nsubs - i - 1) * sizeof *t->subs);
  t->nsubs--;
  AKT_ASSERT(tp->nsubs > 0);
  tp->nsubs--;
  if (s.ack_to) {
    AKT_ASSERT(t->nwaiting > 0 && tp->nwaiting > 0);
    t->nwaiting--;
    tp->nwaiting--;
    akt_pid_release(s.ack_to);
  }
  akt__lsubr *r = lsubr_find(tp, akt_pid_id(s.pid));
  AKT_ASSERT(r && r->ntopics > 0);
  for (uint32_t k = 0; k < r->ntopics; k++) {
    if (r->topics[k] != t) continue;
    r->topics[k] = r->topics[--r->ntopics];
    break;
  }
  if (!r->ntopics) lsubr_drop(tp, r, unwatch);
  akt__tp_trace(tp, "unsubscribe", akt_pid_id(s.pid), (int64_t)t->nsubs, "%s %s",
                akt_pid_path(s.pid), t->name);
  akt_pid_release(s.pid);
  if (!t->nsubs) ltopic_drop(tp, t);
}

/* ---- subscribing --------------------------------------------------------------------------- */

/* Subscribes pid to t (a new topic when t is NULL). Lock held. */
static int subscribe(akt__topics *tp, akt__ltopic *t, const char *topic, akt_pid *pid,
                     akt_pid *ack_to) {
  if (!t && tp->nlt >= tp->o.max_topics) {
    AKT__TP_STAT(tp, topics_refused);
    return AKT_ELIMIT;
  }
  if (t && t->nsubs >= tp->o.max_subscribers) {
    AKT__TP_STAT(tp, subscribers_refused);
    return AKT_ELIMIT;
  }
  int rc = 0;
  akt__lsubr *r = lsubr_get(tp, pid, &rc);
  if (!r) return rc;
  rc = akt__grow(&r->topics, sizeof *r->topics, r->ntopics, &r->cap, AKT__TP_INITIAL,
                 tp->o.max_topics);
  int fresh = !t;
  if (!rc && !t) t = ltopic_new(tp, topic, &rc);
  if (!rc)
    rc = akt__grow(&t->subs, sizeof *t->subs, t->nsubs, &t->cap, AKT__TP_INITIAL,
                   tp->o.max_subscribers);
  if (rc) {
    if (fresh && t) { /* not in the registry yet: no version to take back */
      akt__strtab_remove(&tp->ltopics, t);
      tp->nlt--;
      free(t->name);
      free(t);
    }
    if (!r->ntopics) lsubr_drop(tp, r, 1);
    return rc;
  }
  t->subs[t->nsubs++] = (akt__lsub){.pid = akt_pid_retain(pid), .ack_to = akt_pid_retain(ack_to)};
  if (ack_to) {
    t->nwaiting++;
    tp->nwaiting++;
  }
  r->topics[r->ntopics++] = t;
  tp->nsubs++;
  AKT_ASSERT(t->nsubs <= tp->o.max_subscribers && tp->nlt <= tp->o.max_topics);
  akt__tp_trace(tp, "subscribe", akt_pid_id(pid), (int64_t)t->nsubs, "%s %s", akt_pid_path(pid),
                topic);
  if (fresh) {
    t->since = tp->version + 1;
    changed(tp, topic);
  }
  return 0;
}

int akt_topic_subscribe(akt_pid *subscriber, const char *topic, akt_pid *ack_to) {
  if (!subscriber || !topic || !akt_pid_is_local(subscriber)) return AKT_EINVAL;
  if (!name_ok(topic)) return AKT_ENAME;
  akt__topics *tp = topics_of(akt_pid_system(subscriber));
  if (!tp) return AKT_ESTATE;
  if (!akt_pid_is_running(subscriber)) return AKT_ESTOPPED;
  pthread_mutex_lock(&tp->mu);
  akt__ltopic *t = akt__tp_ltopic(tp, topic);
  int i = t ? sub_index(t, subscriber) : -1;
  int rc = 0;
  if (i >= 0) {
    /* Subscribed already: only a new ack_to to remember. */
    akt__lsub *s = &t->subs[i];
    if (ack_to && !s->ack_to) {
      t->nwaiting++;
      tp->nwaiting++;
    }
    if (ack_to) {
      akt_pid_release(s->ack_to);
      s->ack_to = akt_pid_retain(ack_to);
    }
  } else {
    rc = subscribe(tp, t, topic, subscriber, ack_to);
  }
  if (!rc && ack_to) akt__tp_check_acks(tp);
  pthread_mutex_unlock(&tp->mu);
  return rc;
}

int akt_topic_unsubscribe(akt_pid *subscriber, const char *topic) {
  if (!subscriber || !topic || !akt_pid_is_local(subscriber)) return AKT_EINVAL;
  akt__topics *tp = topics_of(akt_pid_system(subscriber));
  if (!tp) return AKT_ESTATE;
  pthread_mutex_lock(&tp->mu);
  akt__ltopic *t = akt__tp_ltopic(tp, topic);
  int i = t ? sub_index(t, subscriber) : -1;
  if (i >= 0) sub_drop(tp, t, (uint32_t)i, 1);
  pthread_mutex_unlock(&tp->mu);
  return i >= 0 ? 0 : AKT_ENOENT;
}

/* ---- subscriptions the cluster ends -------------------------------------------------------- */

static void ended(akt__topics *tp, akt__ltopic *t, akt_pid *pid, akt_topic_end_reason reason) {
  AKT__TP_STAT(tp, ended);
  akt__tp_trace(tp, "ended", akt_pid_id(pid), (int64_t)reason, "%s %s", akt_pid_path(pid),
                t->name);
  akt_topic_event ev = {.kind = AKT_TOPIC_EV_ENDED, .topic = t->name, .pid = pid,
                        .reason = reason};
  akt__tp_listen(tp, &ev);
  akt__tp_wake(tp);
  if (reason == AKT_TOPIC_END_TERMINATED) return;
  Akt__Topics__SubscriptionEnded m = AKT__TOPICS__SUBSCRIPTION_ENDED__INIT;
  m.topic = t->name;
  m.reason = (uint32_t)reason;
  akt_tell(pid, &m.base); /* a subscriber gone meanwhile: a dead letter */
}

void akt__tp_terminated(akt__topics *tp, uint64_t id) {
  akt__lsubr *r;
  while ((r = lsubr_find(tp, id)) != NULL) {
    AKT_ASSERT(r->ntopics > 0);
    akt__ltopic *t = r->topics[r->ntopics - 1];
    int i = sub_index(t, r->pid);
    AKT_ASSERT(i >= 0);
    ended(tp, t, r->pid, AKT_TOPIC_END_TERMINATED);
    sub_drop(tp, t, (uint32_t)i, 0); /* frees r with the last one */
  }
}

void akt__tp_end_all(akt__topics *tp, akt_topic_end_reason reason) {
  while (tp->nlt) {
    akt__ltopic *t = tp->lt[tp->nlt - 1];
    AKT_ASSERT(t->nsubs > 0);
    uint32_t left = t->nsubs;
    ended(tp, t, t->subs[left - 1].pid, reason);
    sub_drop(tp, t, left - 1, 1); /* drops t with its last one */
  }
  AKT_ASSERT(tp->nsubs == 0 && tp->nwaiting == 0);
}

/* ---- acknowledgements ------------------------------------------------------------------------- */

static void acked(akt__topics *tp, akt__ltopic *t, akt__lsub *s) {
  AKT__TP_STAT(tp, acks_sent);
  akt__tp_trace(tp, "acked", akt_pid_id(s->pid), (int64_t)tp->npeers, "%s %s v%llu",
                akt_pid_path(s->pid), t->name, (unsigned long long)t->since);
  if (tp->o.listener) {
    const char **names = calloc(tp->npeers + 1, sizeof *names);
    uint64_t *uids = calloc(tp->npeers + 1, sizeof *uids);
    size_t k = 0;
    for (uint32_t i = 0; names && uids && i < tp->nslots; i++) {
      akt__tpeer *p = tp->peers[i];
      if (!p) continue;
      names[k] = p->name;
      uids[k++] = p->uid;
    }
    if (names && uids) {
      akt_topic_event ev = {.kind = AKT_TOPIC_EV_ACKED, .topic = t->name, .pid = s->pid,
                            .version = t->since, .peers = names, .peer_incarnations = uids,
                            .npeers = k};
      akt__tp_listen(tp, &ev);
    }
    free(names);
    free(uids);
  }
  Akt__Topics__SubscribeAck m = AKT__TOPICS__SUBSCRIBE_ACK__INIT;
  m.topic = t->name;
  m.subscriber = (char *)(uintptr_t)akt_pid_path(s->pid);
  m.members = tp->npeers;
  akt_tell_as(s->ack_to, &m.base, tp->actor);
  akt_pid_release(s->ack_to);
  s->ack_to = NULL;
  t->nwaiting--;
  tp->nwaiting--;
}

void akt__tp_check_acks(akt__topics *tp) {
  if (!tp->nwaiting || !tp->member) return;
  uint64_t held = UINT64_MAX; /* the oldest version a peer holds */
  for (uint32_t i = 0; i < tp->nslots; i++)
    if (tp->peers[i] && tp->peers[i]->reg_acked < held) held = tp->peers[i]->reg_acked;
  for (uint32_t i = 0; i < tp->nlt && tp->nwaiting; i++) {
    akt__ltopic *t = tp->lt[i];
    if (!t->nwaiting || t->since > held) continue;
    for (uint32_t k = 0; k < t->nsubs; k++)
      if (t->subs[k].ack_to) acked(tp, t, &t->subs[k]);
    AKT_ASSERT(t->nwaiting == 0);
  }
}

/* ---- teardown ----------------------------------------------------------------------------------- */

static void lsubr_free(void *item) {
  akt__lsubr *r = item;
  akt_pid_release(r->pid);
  free(r->topics);
  free(r);
}

void akt__tp_local_free(akt__topics *tp) {
  for (uint32_t i = 0; i < tp->nlt; i++) {
    akt__ltopic *t = tp->lt[i];
    for (uint32_t k = 0; k < t->nsubs; k++) {
      akt_pid_release(t->subs[k].pid);
      akt_pid_release(t->subs[k].ack_to);
    }
    free(t->subs);
    free(t->name);
    free(t);
  }
  free(tp->lt);
  tp->lt = NULL;
  tp->nlt = tp->ltcap = 0;
  akt__strtab_free(&tp->ltopics, NULL);
  akt__strtab_free(&tp->lsubrs, lsubr_free);
  tp->nsubs = tp->nwaiting = 0;
}
