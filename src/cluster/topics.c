/* akt — cluster topics: the service's lifetime, the cluster's event hook,
 * what the two system actors hand over, and the queries.
 *
 * Peers talk to each other's /system/cluster (the one actor under /system
 * that remoting lets the network reach for cluster work): sync.c hands
 * every topics message to akt__topics_receive. /system/topics is local: it
 * runs the retransmission tick — a repeating timer armed by a Kick when
 * something first awaits an acknowledgement, and cancelled by the tick
 * that finds nothing left, so an idle service costs no events. Subscribers
 * are watched by a sink (a watching actor would take only the Terminated
 * of its own akt_watch calls, made from its turns): its Terminated comes
 * on the terminating actor's thread, with no lock held.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/message.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/util/assert.h"

#define TICK_KEY 1

/* ---- small services --------------------------------------------------------------------- */

uint64_t akt__tp_now(akt__topics *tp) { return tp->b->ops->now(tp->b); }

akt_pid *akt__tp_cluster_actor(akt__topics *tp) { return tp->cl->actor; }

void akt__tp_node_self(akt__topics *tp, Akt__Cluster__Node *n) {
  akt__cluster__node__init(n);
  n->host = tp->host;
  n->port = tp->port;
  n->incarnation = tp->uid;
}

void akt__tp_wake(akt__topics *tp) { tp->b->ops->wake(tp->b); }

void akt__tp_listen(akt__topics *tp, akt_topic_event *ev) {
  if (!tp->o.listener) return;
  ev->self_incarnation = tp->uid;
  ev->at = akt__tp_now(tp);
  tp->o.listener(tp->sys, ev, tp->o.listener_arg);
}

void akt__tp_trace(akt__topics *tp, const char *what, uint64_t hash, int64_t code,
                   const char *fmt, ...) {
  if (!tp->sys->tracing) return;
  char type[64], text[AKT_TOPIC_NAME_MAX + 160];
  snprintf(type, sizeof type, "cluster-topic-%s", what);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  akt__trace(tp->sys, AKT_EV_NET, 0, 0, type, hash, code, text);
}

static akt__topics *topics_of(akt_system *sys) {
  akt__cluster *cl = akt__cluster_of(sys);
  return cl ? cl->topics : NULL;
}

/* ---- /system/topics ----------------------------------------------------------------------- */

/* One pass of retransmission; the tick stops when nothing is owed. */
static void tick(akt_ctx *ctx, akt__topics *tp) {
  uint64_t now = akt__tp_now(tp);
  int owed = akt__tp_registry_tick(tp, now);
  owed |= akt__tp_publish_tick(tp, now);
  if (!owed) {
    akt_timer_cancel(ctx, TICK_KEY);
    tp->tick_armed = 0;
    return;
  }
  if (akt_timer_active(ctx, TICK_KEY)) return;
  /* Half the first retransmission time: work waits at most that long past
   * its due time. */
  akt_duration every = tp->o.retransmit / 2 ? tp->o.retransmit / 2 : 1;
  Akt__Topics__Kick k = AKT__TOPICS__KICK__INIT;
  if (akt_timer_start(ctx, TICK_KEY, every, every, &k.base) != 0) {
    tp->tick_armed = 0; /* the next work that needs it tries again */
    akt__log(tp->sys, AKT_LOG_ERROR, "topics: the retransmission tick could not start");
  }
}

static int actor_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt__topics *tp = topics_of(akt_ctx_system(ctx));
  if (!tp) return 0;
  if (akt_msg_is(msg, &akt__topics__kick__descriptor)) {
    pthread_mutex_lock(&tp->mu);
    tick(ctx, tp);
    pthread_mutex_unlock(&tp->mu);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def topics_def = {.kind = "topics", .receive = actor_receive};

akt_pid *akt__tp_actor(akt__topics *tp) {
  if (tp->actor || tp->closed) return tp->actor;
  int rc = akt__spawn(tp->sys, tp->sys->system_guardian->cell, "topics", &topics_def, NULL, 0,
                      &tp->actor);
  if (rc) {
    /* Only a system that is going refuses: nothing will need it again. */
    tp->actor = NULL;
    tp->closed = 1;
    akt__log(tp->sys, rc == AKT_ESTOPPED ? AKT_LOG_DEBUG : AKT_LOG_ERROR,
             "topics: /system/topics could not start: %s", akt_strerror(rc));
  }
  return tp->actor;
}

/* The watcher's Terminated (only a watched local subscriber's counts: the
 * sink's path is reachable, and the id must be the sender's). */
static void watch_sink(akt__cell *c, akt__env *env) {
  akt__topics *tp = akt__cell_sink(c)->data;
  const ProtobufCMessage *msg = env->msg;
  akt_pid *from = env->sender;
  if (akt_msg_is(msg, &akt__terminated__descriptor) && from && akt_pid_is_local(from) &&
      akt_pid_id(from) == ((const Akt__Terminated *)msg)->id) {
    pthread_mutex_lock(&tp->mu);
    akt__tp_terminated(tp, akt_pid_id(from));
    pthread_mutex_unlock(&tp->mu);
  }
  akt__env_free(env);
}

akt_pid *akt__tp_watcher(akt__topics *tp) {
  if (!tp->watcher) tp->watcher = akt__spawn_sink(tp->sys, "topics", watch_sink, tp, NULL);
  return tp->watcher;
}

void akt__tp_need_tick(akt__topics *tp) {
  if (tp->tick_armed) return;
  akt_pid *a = akt__tp_actor(tp);
  if (!a) return;
  Akt__Topics__Kick k = AKT__TOPICS__KICK__INIT;
  if (akt_tell(a, &k.base) == 0) tp->tick_armed = 1;
}

/* ---- lifetime ------------------------------------------------------------------------------- */

static int register_types(akt_system *sys) {
  static const ProtobufCMessageDescriptor *const types[] = {
      &akt__topics__registry__descriptor,      &akt__topics__registry_ack__descriptor,
      &akt__topics__publish__descriptor,       &akt__topics__publish_ack__descriptor,
      &akt__topics__subscribe_ack__descriptor, &akt__topics__subscription_ended__descriptor,
      &akt__topics__kick__descriptor};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    int rc = akt_system_register_type(sys, types[i]);
    if (rc) return rc;
  }
  return 0;
}

static const char *ltopic_key(const void *item) { return ((const akt__ltopic *)item)->name; }
static const char *lsubr_key(const void *item) { return ((const akt__lsubr *)item)->id; }
static const char *peer_key(const void *item) { return ((const akt__tpeer *)item)->id; }
static const char *rtopic_key(const void *item) { return ((const akt__rtopic *)item)->name; }

static void defaults(akt_topics_options *o) {
  if (!o->max_topics) o->max_topics = AKT_TOPICS_DEFAULT_MAX_TOPICS;
  if (!o->max_subscribers) o->max_subscribers = AKT_TOPICS_DEFAULT_MAX_SUBSCRIBERS;
  if (!o->max_pending) o->max_pending = AKT_TOPICS_DEFAULT_MAX_PENDING;
  if (!o->max_pending_bytes) o->max_pending_bytes = AKT_TOPICS_DEFAULT_MAX_PENDING_BYTES;
  if (!o->max_payload) o->max_payload = AKT_TOPICS_DEFAULT_MAX_PAYLOAD;
  if (!o->retransmit) o->retransmit = AKT_TOPICS_DEFAULT_RETRANSMIT;
  if (!o->retransmit_max)
    o->retransmit_max = o->retransmit > AKT_TOPICS_DEFAULT_RETRANSMIT_MAX
                            ? o->retransmit
                            : AKT_TOPICS_DEFAULT_RETRANSMIT_MAX;
}

/* The first option out of range, or NULL. */
static const char *invalid(const akt_topics_options *o) {
  if (o->max_topics > AKT_TOPICS_HARD_MAX_TOPICS) return "max_topics";
  if (o->max_subscribers > AKT_TOPICS_HARD_MAX_SUBSCRIBERS) return "max_subscribers";
  if (o->max_pending > AKT_TOPICS_HARD_MAX_PENDING) return "max_pending";
  if (o->max_payload > AKT_MSG_MAX_COPY) return "max_payload";
  if (o->max_pending_bytes < o->max_payload) return "max_pending_bytes (below max_payload)";
  if (o->retransmit < AKT_MILLIS(1)) return "retransmit (below 1 ms)";
  if (o->retransmit_max < o->retransmit) return "retransmit_max (below retransmit)";
  return NULL;
}

int akt__topics_new(akt__cluster *cl) {
  int rc = register_types(cl->sys);
  if (rc) return rc;
  akt__topics *tp = calloc(1, sizeof *tp);
  if (!tp) return AKT_ENOMEM;
  tp->cl = cl;
  tp->sys = cl->sys;
  tp->b = cl->b;
  pthread_mutex_init(&tp->mu, NULL);
  defaults(&tp->o);
  AKT_ASSERT(!invalid(&tp->o));
  snprintf(tp->host, sizeof tp->host, "%s", cl->host);
  tp->port = cl->port;
  akt__strtab_init(&tp->ltopics, AKT__TP_INITIAL, offsetof(akt__ltopic, link), ltopic_key);
  akt__strtab_init(&tp->lsubrs, AKT__TP_INITIAL, offsetof(akt__lsubr, link), lsubr_key);
  akt__strtab_init(&tp->peer_index, AKT__TP_INITIAL, offsetof(akt__tpeer, link), peer_key);
  akt__strtab_init(&tp->rtopics, AKT__TP_INITIAL, offsetof(akt__rtopic, link), rtopic_key);
  cl->topics = tp;
  return 0;
}

void akt__topics_free(akt__cluster *cl) {
  akt__topics *tp = cl->topics;
  if (!tp) return;
  akt__tp_peers_clear(tp);
  akt__tp_local_free(tp);
  for (uint32_t i = 0; i < AKT__TP_LOG; i++) free(tp->log[i].topic);
  free(tp->peers);
  akt__strtab_free(&tp->peer_index, NULL);
  akt__strtab_free(&tp->rtopics, NULL);
  akt_pid_release(tp->actor);
  akt_pid_release(tp->watcher);
  pthread_mutex_destroy(&tp->mu);
  free(tp);
  cl->topics = NULL;
}

int akt_topics_configure(akt_system *sys, const akt_topics_options *opts) {
  akt__topics *tp = topics_of(sys);
  if (!tp) return AKT_ESTATE;
  akt_topics_options o = opts ? *opts : (akt_topics_options){0};
  defaults(&o);
  const char *bad = invalid(&o);
  if (bad) {
    akt__log(sys, AKT_LOG_ERROR, "topics: option %s is out of range", bad);
    return AKT_EINVAL;
  }
  pthread_mutex_lock(&tp->mu);
  int rc = tp->nsubs || tp->version ? AKT_ESTATE : 0;
  if (!rc) {
    tp->o = o;
    /* Peers met already (the cluster runs) start from the new timing. */
    for (uint32_t i = 0; i < tp->nslots; i++)
      if (tp->peers[i]) tp->peers[i]->rto = tp->peers[i]->reg_rto = o.retransmit;
  }
  pthread_mutex_unlock(&tp->mu);
  return rc;
}

/* ---- the cluster's events ------------------------------------------------------------------ */

/* This node's own changes: a new incarnation starts with no peers; the
 * member phase ends every local subscription. */
static void self_event(akt__topics *tp, const akt_member *m) {
  AKT_ASSERT(m->incarnation != 0);
  if (m->incarnation != tp->uid) {
    if (tp->was_member) akt__tp_end_all(tp, AKT_TOPIC_END_NODE_DOWN);
    akt__tp_peers_clear(tp);
    tp->uid = m->incarnation;
    tp->member = tp->was_member = 0;
  }
  if (m->status == AKT_MEMBER_UP || m->status == AKT_MEMBER_LEAVING) {
    if (tp->member) return;
    tp->member = tp->was_member = 1;
    akt__tp_check_acks(tp);
    return;
  }
  if (m->status < AKT_MEMBER_EXITING) return;
  if (tp->was_member)
    akt__tp_end_all(tp, m->status == AKT_MEMBER_EXITING ? AKT_TOPIC_END_NODE_LEFT
                                                        : AKT_TOPIC_END_NODE_DOWN);
  tp->member = tp->was_member = 0;
  akt__tp_peers_clear(tp);
}

void akt__topics_on_event(akt__topics *tp, akt_cluster_event_kind kind, const akt_member *m) {
  if (!m || kind == AKT_CLUSTER_LEADER_CHANGED || kind == AKT_CLUSTER_FORMED) return;
  pthread_mutex_lock(&tp->mu);
  if (m->self) {
    self_event(tp, m);
  } else if (tp->uid) {
    uint64_t key = akt__cl_key(m->addr.host, m->addr.port);
    akt__tpeer *p = akt__tp_peer(tp, key, m->incarnation);
    if (m->status <= AKT_MEMBER_LEAVING) {
      if (!p) akt__tp_peer_add(tp, m);
    } else if (p && !(tp->o.test_flags & AKT_TOPICS_TEST_KEEP_DOWN)) {
      akt__tp_peer_remove(tp, p);
      akt__tp_check_acks(tp);
    }
  }
  pthread_mutex_unlock(&tp->mu);
}

/* ---- what peers send ----------------------------------------------------------------------- */

int akt__topics_receive(akt__topics *tp, akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  if (akt_msg_is(msg, &akt__topics__publish__descriptor)) {
    akt__tp_on_publish(tp, (const Akt__Topics__Publish *)msg); /* locks itself */
    return 0;
  }
  int rc = 0;
  pthread_mutex_lock(&tp->mu);
  if (akt_msg_is(msg, &akt__topics__publish_ack__descriptor))
    akt__tp_on_publish_ack(tp, (const Akt__Topics__PublishAck *)msg);
  else if (akt_msg_is(msg, &akt__topics__registry__descriptor))
    akt__tp_on_registry(tp, (const Akt__Topics__Registry *)msg);
  else if (akt_msg_is(msg, &akt__topics__registry_ack__descriptor))
    akt__tp_on_registry_ack(tp, (const Akt__Topics__RegistryAck *)msg);
  else
    rc = AKT_EUNHANDLED;
  pthread_mutex_unlock(&tp->mu);
  return rc;
}

/* ---- queries -------------------------------------------------------------------------------- */

static int by_name(const void *a, const void *b) {
  const akt_topic_node *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->incarnation > y->incarnation) - (x->incarnation < y->incarnation);
}

int akt_topic_nodes(akt_system *sys, const char *topic, akt_topic_node *out, size_t cap,
                    size_t *n) {
  if (!n || (cap && !out) || !topic) return AKT_EINVAL;
  size_t len = strlen(topic);
  if (!len || len > AKT_TOPIC_NAME_MAX) return AKT_ENAME;
  akt__topics *tp = topics_of(sys);
  if (!tp) return AKT_ESTATE;
  pthread_mutex_lock(&tp->mu);
  akt__rtopic *rt = akt__tp_rtopic(tp, topic);
  int local = akt__tp_ltopic(tp, topic) != NULL;
  size_t total = (size_t)local + (rt ? rt->npeers : 0);
  akt_topic_node *all = total ? calloc(total, sizeof *all) : NULL;
  if (total && !all) {
    pthread_mutex_unlock(&tp->mu);
    return AKT_ENOMEM;
  }
  size_t k = 0;
  if (local) {
    snprintf(all[k].name, sizeof all[k].name, "%s", akt_system_name(sys));
    all[k].incarnation = tp->uid;
    all[k++].self = 1;
  }
  for (uint32_t i = 0; rt && i < rt->npeers; i++) {
    const akt__tpeer *p = tp->peers[rt->peers[i]];
    AKT_ASSERT(p);
    snprintf(all[k].name, sizeof all[k].name, "%s", p->name);
    all[k++].incarnation = p->uid;
  }
  pthread_mutex_unlock(&tp->mu);
  AKT_ASSERT(k == total);
  if (k > 1) qsort(all, k, sizeof *all, by_name); /* all is NULL when k is 0 */
  for (size_t i = 0; i < k && i < cap; i++) out[i] = all[i];
  free(all);
  *n = k;
  return k > cap ? AKT_ELIMIT : 0;
}

void akt_topics_get_stats(akt_system *sys, akt_topics_stats *out) {
  if (!out) return;
  akt__topics *tp = topics_of(sys);
  if (!tp) {
    memset(out, 0, sizeof *out);
    return;
  }
  pthread_mutex_lock(&tp->mu);
  *out = tp->stats;
  out->topics = tp->nlt;
  out->subscriptions = tp->nsubs;
  out->peers = tp->npeers;
  pthread_mutex_unlock(&tp->mu);
}
