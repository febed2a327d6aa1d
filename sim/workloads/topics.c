/* akt — workload "topics": cluster-wide publish/subscribe (src/cluster/
 * topic*.c) under faults, judged by an oracle that sees every publish,
 * every delivery and what each node's topics service reports.
 *
 * Every node runs a member (gossip port 7946, every node a seed) and a
 * driver that spawns `subscribers` subscriber actors, each subscribed to a
 * random set of the `topics` topics, publishes a numbered message on a
 * random topic every `interval`, and churns now and then (about every
 * `churn`): a subscriber stops and a new one replaces it, or one
 * subscription is added or taken back. A subscriber whose subscription the
 * cluster ends (its node was downed) subscribes again. Publishing and churn
 * stop `stop_after` into the quiet period, so the liveness checks judge a
 * settled cluster.
 *
 * The oracle follows, per node, its cluster incarnation (the membership
 * listener) and which version of each peer's registry that incarnation
 * holds (the topics listener's APPLIED); per subscription, when it was
 * acknowledged and at which registry version (ACKED), and when it ended
 * (unsubscribed, its actor stopped, its node crashed or was downed).
 *
 * A publish P made by node A (incarnation a) at time t must reach the
 * subscription S of actor s on node B (incarnation b) when
 *   - B == A and S was active at t (local: delivered at once), or
 *   - S was acknowledged before t and a held B's registry, incarnation b,
 *     at a version that includes S (every member that acknowledged S does:
 *     `ack-truthful` checks that) —
 * unless, by the end of the run, S ended (so s stopped, or unsubscribed,
 * or B crashed or was downed), A or B is no longer a member with the same
 * incarnation, or P was refused for B's full queue (the listener's
 * DROPPED). That is the promise of include/akt/cluster_topics.h, minus
 * nothing: a partition that heals before anyone is downed must lose
 * nothing.
 *
 * Checks:
 *   at-most-once (safety)   no subscriber actor receives a publish twice.
 *   in-order (safety)       a subscriber receives one publisher's messages
 *                           in the order they were published.
 *   subscribed-only (safety) a subscriber receives only topics it
 *                           subscribed to.
 *   ack-truthful (safety)   when a subscription is acknowledged, every
 *                           acknowledging member that is still the same
 *                           incarnation holds a registry that includes it.
 *   delivered (liveness)    every publish reached every subscription it had
 *                           to (above).
 *   acked (liveness)        every subscription still active on a member is
 *                           acknowledged.
 *   registries-converge (liveness) every member's view of who subscribes to
 *                           each topic (akt_topic_nodes) is exactly the
 *                           members with active subscriptions to it, at
 *                           their current incarnations.
 *
 * Parameters: topics=3 (at most 8), subscribers=2 (per node, at most 8),
 * interval=250ms, churn=5s (0: none), stop_after=10s, max_pending (the
 * topics option; default its default). Deliberately broken variants, each
 * caught by a check: dedup=0 (AKT_TOPICS_TEST_NO_DEDUP: at-most-once),
 * down_removal=0 (AKT_TOPICS_TEST_KEEP_DOWN: registries-converge), watch=0
 * (AKT_TOPICS_TEST_NO_WATCH: registries-converge), resend=0
 * (AKT_TOPICS_TEST_NO_RESEND: delivered).
 */
#include <stdlib.h>
#include <string.h>

#include "akt/cluster.h"
#include "akt/cluster_topics.h"
#include "akt/topics.pb-c.h"
#include "sim/workloads/common.h"

#define TW_MAX_NODES 32        /* nodes this workload follows (bit masks) */
#define TW_MAX_TOPICS 8
#define TW_MAX_LOCAL 8         /* subscriber actors per node at once */
#define MAX_ACTORS 4096        /* subscriber actor incarnations in one run */
#define MAX_SUBS 16384         /* subscriptions in one run */
#define MAX_PUBS 32768         /* publishes in one run */
#define MAX_EXPECT 262144      /* (publish, subscription) deliveries owed */
#define DELIV_SLOTS (1u << 19) /* delivered (publish, actor) pairs: a power of two */
#define GOSSIP_PORT 7946
#define TICK_PUBLISH 1
#define TICK_CHURN 2

typedef struct t_actor {
  uint32_t node;
  uint64_t gen;                        /* its node's process generation */
  uint64_t pid_id;
  int alive;
  uint32_t topics_ever;                /* bit t: it was subscribed to topic t */
  uint64_t last_gen[TW_MAX_NODES];     /* per publisher node: the last (gen, seq) taken */
  uint64_t last_seq[TW_MAX_NODES];
} t_actor;

typedef struct t_sub {
  uint32_t actor, node, topic;
  uint64_t at, acked_at, ended_at;     /* 0: not (yet) */
  uint64_t node_uid;                   /* its node's incarnation when acknowledged */
  uint64_t version;                    /* the registry version that holds it */
  uint32_t active_pos;                 /* in t_state.active while not ended */
} t_sub;

typedef struct t_pub {
  uint32_t node, topic;
  uint64_t gen, uid, at;               /* uid: the publisher's incarnation (0: not a member) */
  uint32_t dropped;                    /* bit j: refused for node j (a full queue) */
  uint32_t exp_first, exp_n;           /* its owed deliveries in t_state.expect */
} t_pub;

typedef struct t_node {
  int up;
  akt_system *sys;
  uint64_t gen;                        /* process generations so far */
  uint64_t uid;                        /* its cluster incarnation */
  int member;                          /* up or leaving */
  uint64_t applied_uid[TW_MAX_NODES];  /* the registry of node j this incarnation holds */
  uint64_t applied_ver[TW_MAX_NODES];
  uint64_t seq;                        /* publishes of this generation */
  size_t index;
  akt_scenario *sc;
} t_node;

typedef struct t_state {
  t_node node[TW_MAX_NODES];
  t_actor actors[MAX_ACTORS];
  uint32_t nactors;
  t_sub subs[MAX_SUBS];
  uint32_t nsubs;
  uint32_t active[MAX_SUBS];           /* subscriptions not ended */
  uint32_t nactive;
  t_pub pubs[MAX_PUBS];
  uint32_t npubs;
  uint32_t expect[MAX_EXPECT];         /* subscription indexes */
  uint32_t nexpect;
  uint32_t deliv_key[DELIV_SLOTS];     /* publish * MAX_ACTORS + actor + 1; 0: empty */
  uint16_t deliv_count[DELIV_SLOTS];
  uint32_t ndeliv;
  int full;                            /* a table filled up: the run is not judged fully */
  akt__wl_violations dup, order, wrong, truthful;
} t_state;

_Static_assert(TW_MAX_NODES <= 32 && TW_MAX_TOPICS <= 32, "bit masks");
_Static_assert((uint64_t)MAX_PUBS * MAX_ACTORS < UINT32_MAX, "delivery keys fit");

/* ---- parameters ---------------------------------------------------------------------------- */

static uint32_t ntopics(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "topics", 3);
  return (uint32_t)(v < 1 ? 1 : v > TW_MAX_TOPICS ? TW_MAX_TOPICS : v);
}

static uint32_t nlocal(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "subscribers", 2);
  return (uint32_t)(v < 1 ? 1 : v > TW_MAX_LOCAL ? TW_MAX_LOCAL : v);
}

static akt_duration interval(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "interval", AKT_MILLIS(250));
  return v > 0 ? (akt_duration)v : AKT_MILLIS(250);
}

static uint64_t stop_at(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "stop_after", AKT_SECONDS(10));
  return akt_scenario_quiet_start(sc) + (uint64_t)(v > 0 ? v : 0);
}

static void topic_name(uint32_t t, char *buf, size_t size) { snprintf(buf, size, "t%u", t); }

static size_t node_of_name(const char *name) {
  return name && strncmp(name, "node", 4) == 0 ? (size_t)strtoul(name + 4, NULL, 10)
                                               : TW_MAX_NODES;
}

/* ---- the oracle's tables ---------------------------------------------------------------------- */

static void sub_end(t_state *st, uint32_t s, uint64_t now) {
  t_sub *x = &st->subs[s];
  if (x->ended_at) return;
  x->ended_at = now ? now : 1;
  uint32_t last = st->active[--st->nactive];
  st->active[x->active_pos] = last;
  st->subs[last].active_pos = x->active_pos;
}

/* The active subscription of actor a to topic t, or -1. */
static int64_t sub_find(t_state *st, uint32_t a, uint32_t t) {
  for (uint32_t i = 0; i < st->nactive; i++) {
    t_sub *x = &st->subs[st->active[i]];
    if (x->actor == a && x->topic == t) return st->active[i];
  }
  return -1;
}

/* A new active subscription; -1 when the table is full. */
static int64_t sub_new(t_state *st, uint32_t a, uint32_t t, uint64_t now) {
  if (st->nsubs >= MAX_SUBS) {
    st->full = 1;
    return -1;
  }
  uint32_t s = st->nsubs++;
  st->subs[s] = (t_sub){.actor = a, .node = st->actors[a].node, .topic = t, .at = now,
                        .active_pos = st->nactive};
  st->active[st->nactive++] = s;
  st->actors[a].topics_ever |= 1u << t;
  return s;
}

/* The actor record of the subscriber with that PID id on node i's current
 * generation, or -1. */
static int64_t actor_of(t_state *st, size_t i, uint64_t pid_id) {
  for (uint32_t a = st->nactors; a-- > 0;)
    if (st->actors[a].node == i && st->actors[a].gen == st->node[i].gen &&
        st->actors[a].pid_id == pid_id)
      return a;
  return -1;
}

static uint16_t *delivered(t_state *st, uint32_t pub, uint32_t actor, int add) {
  uint32_t key = pub * MAX_ACTORS + actor + 1;
  uint32_t h = (key * 2654435761u) & (DELIV_SLOTS - 1);
  while (st->deliv_key[h] && st->deliv_key[h] != key) h = (h + 1) & (DELIV_SLOTS - 1);
  if (!st->deliv_key[h]) {
    if (!add || st->ndeliv >= DELIV_SLOTS / 2) return NULL;
    st->deliv_key[h] = key;
    st->ndeliv++;
  }
  return &st->deliv_count[h];
}

/* ---- subscribers ------------------------------------------------------------------------------- */

typedef struct subscriber {
  uint32_t actor; /* its record, or UINT32_MAX when out of records */
} subscriber;

/* Subscribes actor a (pid) to topic t. The record comes first: the
 * acknowledgement can come inside the call (no other member to wait for). */
static int subscribe(akt_scenario *sc, akt_pid *pid, uint32_t a, uint32_t t) {
  t_state *st = akt_scenario_state(sc);
  int64_t s = sub_new(st, a, t, akt_scenario_now(sc));
  if (s < 0) return AKT_ELIMIT;
  char name[16];
  topic_name(t, name, sizeof name);
  int rc = akt_topic_subscribe(pid, name, pid);
  if (rc) sub_end(st, (uint32_t)s, akt_scenario_now(sc)); /* never was: owes nothing */
  return rc;
}

static int subscriber_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  t_state *st = akt_scenario_state(sc);
  subscriber *me = akt_ctx_state(ctx);
  size_t i = akt__wl_node(ctx);
  me->actor = UINT32_MAX;
  if (st->nactors >= MAX_ACTORS) {
    st->full = 1;
    return 0;
  }
  me->actor = st->nactors++;
  st->actors[me->actor] = (t_actor){.node = (uint32_t)i, .gen = st->node[i].gen,
                                    .pid_id = akt_pid_id(akt_ctx_self(ctx)), .alive = 1};
  /* A random non-empty set of the topics. */
  uint32_t n = ntopics(sc), set = 0;
  while (!set) set = (uint32_t)(akt_ctx_random(ctx) & ((1u << n) - 1));
  for (uint32_t t = 0; t < n; t++)
    if (set >> t & 1) subscribe(sc, akt_ctx_self(ctx), me->actor, t);
  return 0;
}

static void subscriber_stop(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  t_state *st = akt_scenario_state(sc);
  subscriber *me = akt_ctx_state(ctx);
  if (me->actor == UINT32_MAX) return;
  st->actors[me->actor].alive = 0;
  uint64_t now = akt_scenario_now(sc);
  for (uint32_t k = st->nactive; k-- > 0;)
    if (st->subs[st->active[k]].actor == me->actor) sub_end(st, st->active[k], now);
}

static void on_message(akt_scenario *sc, t_state *st, uint32_t a, const Aktsim__TopicMsg *m) {
  t_actor *x = &st->actors[a];
  uint64_t now = akt_scenario_now(sc);
  if (m->id >= st->npubs || m->node >= TW_MAX_NODES || m->topic >= TW_MAX_TOPICS) {
    akt__wl_violation(&st->wrong, "node%u's subscriber #%u got a publish the oracle never made "
                      "(id %llu) at t=%.3fs", x->node, a, (unsigned long long)m->id,
                      akt__wl_s(now));
    return;
  }
  uint16_t *count = delivered(st, (uint32_t)m->id, a, 1);
  if (!count) {
    st->full = 1;
  } else if (++*count > 1) {
    akt__wl_violation(&st->dup, "node%u's subscriber #%u got publish #%llu (from node%u, seq "
                      "%llu, topic t%u) %u times, the last at t=%.3fs",
                      x->node, a, (unsigned long long)m->id, m->node, (unsigned long long)m->seq,
                      m->topic, *count, akt__wl_s(now));
  }
  if (!(x->topics_ever >> m->topic & 1))
    akt__wl_violation(&st->wrong, "node%u's subscriber #%u got publish #%llu on topic t%u, which "
                      "it never subscribed to, at t=%.3fs",
                      x->node, a, (unsigned long long)m->id, m->topic, akt__wl_s(now));
  if (m->gen == x->last_gen[m->node] && m->seq <= x->last_seq[m->node])
    akt__wl_violation(&st->order, "node%u's subscriber #%u got node%u's publish seq %llu after "
                      "seq %llu (generation %llu) at t=%.3fs",
                      x->node, a, m->node, (unsigned long long)m->seq,
                      (unsigned long long)x->last_seq[m->node], (unsigned long long)m->gen,
                      akt__wl_s(now));
  if (m->gen > x->last_gen[m->node] ||
      (m->gen == x->last_gen[m->node] && m->seq > x->last_seq[m->node])) {
    x->last_gen[m->node] = m->gen;
    x->last_seq[m->node] = m->seq;
  }
}

static int subscriber_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_scenario *sc = akt__wl_sc(ctx);
  t_state *st = akt_scenario_state(sc);
  subscriber *me = akt_ctx_state(ctx);
  if (me->actor == UINT32_MAX) return 0;
  if (akt_msg_is(msg, &aktsim__topic_msg__descriptor)) {
    on_message(sc, st, me->actor, (const Aktsim__TopicMsg *)msg);
    return 0;
  }
  if (akt_msg_is(msg, &akt__topics__subscription_ended__descriptor)) {
    /* Its node was downed or left: subscribe again (the oracle saw the end
     * through the listener). */
    const Akt__Topics__SubscriptionEnded *e = (const Akt__Topics__SubscriptionEnded *)msg;
    uint32_t t = e->topic && e->topic[0] == 't' ? (uint32_t)strtoul(e->topic + 1, NULL, 10)
                                                 : TW_MAX_TOPICS;
    if (t < ntopics(sc) && sub_find(st, me->actor, t) < 0 &&
        akt_scenario_now(sc) < stop_at(sc))
      subscribe(sc, akt_ctx_self(ctx), me->actor, t);
    return 0;
  }
  return 0; /* SubscribeAck: the oracle heard it from the listener */
}

static const akt_actor_def subscriber_def = {.kind = "subscriber",
                                             .state_size = sizeof(subscriber),
                                             .pre_start = subscriber_start,
                                             .receive = subscriber_receive,
                                             .post_stop = subscriber_stop};

/* ---- the driver --------------------------------------------------------------------------------- */

typedef struct driver {
  akt_pid *subs[TW_MAX_LOCAL]; /* children, one reference each */
  uint32_t spawned;
} driver;

static void spawn_subscriber(akt_ctx *ctx, driver *d, uint32_t slot) {
  char name[32];
  snprintf(name, sizeof name, "s%u-%u", slot, d->spawned++);
  akt_spawn_opts o = {.arg = akt__wl_sc(ctx)};
  akt_pid_release(d->subs[slot]);
  d->subs[slot] = NULL;
  akt_spawn_child(ctx, name, &subscriber_def, &o, &d->subs[slot]);
}

static void publish(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  t_state *st = akt_scenario_state(sc);
  size_t i = akt__wl_node(ctx);
  t_node *nd = &st->node[i];
  if (st->npubs >= MAX_PUBS) {
    st->full = 1;
    return;
  }
  uint64_t now = akt_scenario_now(sc);
  uint32_t id = st->npubs++, t = (uint32_t)(akt_ctx_random(ctx) % ntopics(sc));
  t_pub *p = &st->pubs[id];
  *p = (t_pub){.node = (uint32_t)i, .topic = t, .gen = nd->gen, .uid = nd->member ? nd->uid : 0,
               .at = now};
  Aktsim__TopicMsg m = AKTSIM__TOPIC_MSG__INIT;
  m.id = id;
  m.node = (uint32_t)i;
  m.gen = nd->gen;
  m.seq = ++nd->seq;
  m.topic = t;
  char name[16];
  topic_name(t, name, sizeof name);
  akt_topic_publish(nd->sys, name, &m.base, akt_ctx_self(ctx));
  /* What it owes, judged now that the call (and its DROPPED) is done. */
  p->exp_first = st->nexpect;
  for (uint32_t k = 0; k < st->nactive; k++) {
    uint32_t s = st->active[k];
    const t_sub *x = &st->subs[s];
    if (x->topic != t) continue;
    int owed = x->node == i;
    if (!owed && p->uid && x->acked_at && x->acked_at <= now)
      owed = nd->applied_uid[x->node] == x->node_uid && nd->applied_ver[x->node] >= x->version;
    if (!owed) continue;
    if (st->nexpect >= MAX_EXPECT) {
      st->full = 1;
      break;
    }
    st->expect[st->nexpect++] = s;
  }
  p->exp_n = st->nexpect - p->exp_first;
}

/* A subscriber changes: it stops (and a new one takes its slot), or one
 * of its subscriptions is added or taken back. */
static void churn(akt_ctx *ctx, driver *d) {
  akt_scenario *sc = akt__wl_sc(ctx);
  t_state *st = akt_scenario_state(sc);
  uint32_t slot = (uint32_t)(akt_ctx_random(ctx) % nlocal(sc));
  akt_pid *pid = d->subs[slot];
  if (!pid) return;
  uint64_t r = akt_ctx_random(ctx);
  if (r % 3 == 0) {
    akt_stop(pid);
    spawn_subscriber(ctx, d, slot);
    return;
  }
  int64_t a = actor_of(st, akt__wl_node(ctx), akt_pid_id(pid));
  if (a < 0) return;
  uint32_t t = (uint32_t)((r >> 8) % ntopics(sc)), mine = 0;
  for (uint32_t k = 0; k < st->nactive; k++) mine += st->subs[st->active[k]].actor == a;
  int64_t s = sub_find(st, (uint32_t)a, t);
  if (s < 0) {
    subscribe(sc, pid, (uint32_t)a, t);
  } else if (mine > 1) {
    char name[16];
    topic_name(t, name, sizeof name);
    if (akt_topic_unsubscribe(pid, name) == 0) sub_end(st, (uint32_t)s, akt_scenario_now(sc));
  }
}

static void next_churn(akt_ctx *ctx) {
  akt_duration every = (akt_duration)akt_scenario_param(akt__wl_sc(ctx), "churn", AKT_SECONDS(5));
  if (every <= 0) return;
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  t.what = TICK_CHURN;
  akt_timer_start(ctx, TICK_CHURN, akt_ctx_random(ctx) % (2 * every) + 1, 0, &t.base);
}

static int driver_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  driver *d = akt_ctx_state(ctx);
  for (uint32_t k = 0; k < nlocal(sc); k++) spawn_subscriber(ctx, d, k);
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  t.what = TICK_PUBLISH;
  akt_duration every = interval(sc);
  int rc = akt_timer_start(ctx, TICK_PUBLISH, akt_ctx_random(ctx) % every + 1, every, &t.base);
  next_churn(ctx);
  return rc;
}

static int driver_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_scenario *sc = akt__wl_sc(ctx);
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return 0;
  if (akt_scenario_now(sc) >= stop_at(sc)) {
    akt_timer_cancel(ctx, TICK_PUBLISH);
    return 0;
  }
  if (((const Aktsim__Tick *)msg)->what == TICK_PUBLISH) {
    publish(ctx);
  } else {
    churn(ctx, akt_ctx_state(ctx));
    next_churn(ctx);
  }
  return 0;
}

static void driver_stop(akt_ctx *ctx) {
  driver *d = akt_ctx_state(ctx);
  for (uint32_t k = 0; k < TW_MAX_LOCAL; k++) akt_pid_release(d->subs[k]);
}

static const akt_actor_def driver_def = {.kind = "topics-driver",
                                         .state_size = sizeof(driver),
                                         .pre_start = driver_start,
                                         .receive = driver_receive,
                                         .post_stop = driver_stop};

/* ---- listeners ------------------------------------------------------------------------------------ */

static void forget_applied(t_node *nd) {
  memset(nd->applied_uid, 0, sizeof nd->applied_uid);
  memset(nd->applied_ver, 0, sizeof nd->applied_ver);
}

/* This node's own membership: its incarnation, and whether it is a member. */
static void cluster_listener(akt_system *sys, const akt_cluster_event *ev, void *arg) {
  (void)sys;
  t_node *nd = arg;
  const akt_member *m = ev->member;
  if (!m || !m->self || ev->kind == AKT_CLUSTER_LEADER_CHANGED) return;
  if (m->incarnation != nd->uid) {
    nd->uid = m->incarnation;
    forget_applied(nd);
  }
  int member = m->status == AKT_MEMBER_UP || m->status == AKT_MEMBER_LEAVING;
  if (nd->member && !member) forget_applied(nd); /* its topics forgot every peer */
  nd->member = member;
}

static void on_acked(t_state *st, t_node *nd, const akt_topic_event *ev, uint64_t now) {
  int64_t a = actor_of(st, nd->index, akt_pid_id(ev->pid));
  uint32_t t = ev->topic[0] == 't' ? (uint32_t)strtoul(ev->topic + 1, NULL, 10) : TW_MAX_TOPICS;
  int64_t s = a >= 0 && t < TW_MAX_TOPICS ? sub_find(st, (uint32_t)a, t) : -1;
  if (s < 0 || st->subs[s].acked_at) return;
  t_sub *x = &st->subs[s];
  x->acked_at = now;
  x->version = ev->version;
  x->node_uid = ev->self_incarnation;
  for (size_t k = 0; k < ev->npeers; k++) {
    size_t j = node_of_name(ev->peers[k]);
    if (j >= TW_MAX_NODES) continue;
    const t_node *o = &st->node[j];
    if (!o->up || !o->member || o->uid != ev->peer_incarnations[k]) continue;
    if (o->applied_uid[nd->index] == x->node_uid && o->applied_ver[nd->index] >= x->version)
      continue;
    akt__wl_violation(&st->truthful,
                      "node%zu acknowledged %s's subscription to %s (v%llu) at t=%.3fs for "
                      "node%zu#%llx, which holds v%llu of node%zu#%llx",
                      nd->index, akt_pid_path(ev->pid), ev->topic,
                      (unsigned long long)x->version, akt__wl_s(now), j,
                      (unsigned long long)o->uid, (unsigned long long)o->applied_ver[nd->index],
                      nd->index, (unsigned long long)o->applied_uid[nd->index]);
  }
}

static void topics_listener(akt_system *sys, const akt_topic_event *ev, void *arg) {
  (void)sys;
  t_node *nd = arg;
  t_state *st = akt_scenario_state(nd->sc);
  uint64_t now = akt_scenario_now(nd->sc);
  size_t j = node_of_name(ev->peer);
  switch (ev->kind) {
    case AKT_TOPIC_EV_APPLIED:
      if (j < TW_MAX_NODES && ev->self_incarnation == nd->uid) {
        nd->applied_uid[j] = ev->peer_incarnation;
        nd->applied_ver[j] = ev->version;
      }
      break;
    case AKT_TOPIC_EV_ACKED: on_acked(st, nd, ev, now); break;
    case AKT_TOPIC_EV_DROPPED:
      if (j < TW_MAX_NODES && ev->msg && akt_msg_is(ev->msg, &aktsim__topic_msg__descriptor)) {
        uint64_t id = ((const Aktsim__TopicMsg *)ev->msg)->id;
        if (id < st->npubs) st->pubs[id].dropped |= 1u << j;
      }
      break;
    case AKT_TOPIC_EV_ENDED: {
      int64_t a = actor_of(st, nd->index, akt_pid_id(ev->pid));
      uint32_t t = ev->topic[0] == 't' ? (uint32_t)strtoul(ev->topic + 1, NULL, 10) : 0;
      int64_t s = a >= 0 ? sub_find(st, (uint32_t)a, t) : -1;
      if (s >= 0) sub_end(st, (uint32_t)s, now);
      break;
    }
  }
}

/* ---- nodes ------------------------------------------------------------------------------------------ */

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  t_state *st = akt_scenario_state(sc);
  size_t n = akt_scenario_nodes(sc);
  if (n > TW_MAX_NODES) return AKT_ELIMIT;
  t_node *nd = &st->node[i];
  nd->sc = sc;
  nd->index = i;
  nd->gen++;
  nd->seq = 0;
  nd->uid = 0;
  nd->member = 0;
  forget_applied(nd);
  int rc = akt__wl_system(sc, i, &nd->sys);
  if (rc) return rc;
  nd->up = 1;
  akt_addr seeds[TW_MAX_NODES];
  for (size_t k = 0; k < n; k++) {
    snprintf(seeds[k].host, sizeof seeds[k].host, "node%zu", k);
    seeds[k].port = GOSSIP_PORT;
  }
  akt_cluster_options co = {.gossip_port = GOSSIP_PORT, .seeds = seeds, .nseeds = n,
                            .listener = cluster_listener, .listener_arg = nd};
  if ((rc = akt_cluster_start(nd->sys, &co)) != 0) return rc;
  akt_topics_options to = {.listener = topics_listener, .listener_arg = nd,
                           .max_pending = (unsigned)akt_scenario_param(sc, "max_pending", 0)};
  if (!akt_scenario_param(sc, "dedup", 1)) to.test_flags |= AKT_TOPICS_TEST_NO_DEDUP;
  if (!akt_scenario_param(sc, "down_removal", 1)) to.test_flags |= AKT_TOPICS_TEST_KEEP_DOWN;
  if (!akt_scenario_param(sc, "watch", 1)) to.test_flags |= AKT_TOPICS_TEST_NO_WATCH;
  if (!akt_scenario_param(sc, "resend", 1)) to.test_flags |= AKT_TOPICS_TEST_NO_RESEND;
  if ((rc = akt_topics_configure(nd->sys, &to)) != 0) return rc;
  akt_spawn_opts o = {.arg = sc};
  return akt_spawn(nd->sys, "driver", &driver_def, &o, NULL);
}

static void node_down(akt_scenario *sc, size_t i) {
  t_state *st = akt_scenario_state(sc);
  t_node *nd = &st->node[i];
  uint64_t now = akt_scenario_now(sc);
  for (uint32_t a = 0; a < st->nactors; a++)
    if (st->actors[a].node == i) st->actors[a].alive = 0;
  for (uint32_t k = st->nactive; k-- > 0;)
    if (st->subs[st->active[k]].node == i) sub_end(st, st->active[k], now);
  nd->up = 0;
  nd->sys = NULL;
  nd->uid = 0;
  nd->member = 0;
  forget_applied(nd);
}

/* ---- checks ------------------------------------------------------------------------------------------- */

static int check_dup(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->dup, "duplicate deliveries", why);
}

static int check_order(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->order, "deliveries out of order", why);
}

static int check_wrong(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->wrong, "deliveries to non-subscribers", why);
}

static int check_truthful(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->truthful, "acknowledgements not held", why);
}

/* Is node i, now, the member it was with incarnation uid? */
static int same_member(const t_state *st, uint32_t i, uint64_t uid) {
  const t_node *nd = &st->node[i];
  return uid && nd->up && nd->member && nd->uid == uid;
}

static int check_delivered(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  if (st->full) {
    snprintf(why, AKT_SCENARIO_WHY_MAX, "the oracle's tables filled up (a shorter run, or "
             "larger MAX_* in sim/workloads/topics.c)");
    return 1;
  }
  for (uint32_t id = 0; id < st->npubs; id++) {
    const t_pub *p = &st->pubs[id];
    const t_node *pn = &st->node[p->node];
    if (!pn->up || pn->gen != p->gen) continue; /* the publisher's process is gone */
    for (uint32_t k = p->exp_first; k < p->exp_first + p->exp_n; k++) {
      const t_sub *x = &st->subs[st->expect[k]];
      if (x->ended_at) continue;
      if (x->node != p->node && ((p->dropped >> x->node & 1) || !same_member(st, p->node, p->uid) ||
                                 !same_member(st, x->node, x->node_uid)))
        continue;
      uint16_t *c = delivered(st, id, x->actor, 0);
      if (c && *c) continue;
      snprintf(why, AKT_SCENARIO_WHY_MAX,
               "publish #%u (node%u, topic t%u, t=%.3fs) never reached node%u's subscriber #%u "
               "(subscribed at t=%.3fs, acknowledged at t=%.3fs)",
               id, p->node, p->topic, akt__wl_s(p->at), x->node, x->actor, akt__wl_s(x->at),
               akt__wl_s(x->acked_at));
      return 1;
    }
  }
  return 0;
}

static int check_acked(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  for (uint32_t k = 0; k < st->nactive; k++) {
    const t_sub *x = &st->subs[st->active[k]];
    if (x->acked_at || !st->node[x->node].up || !st->node[x->node].member) continue;
    snprintf(why, AKT_SCENARIO_WHY_MAX,
             "node%u's subscriber #%u subscribed to t%u at t=%.3fs and was never acknowledged",
             x->node, x->actor, x->topic, akt__wl_s(x->at));
    return 1;
  }
  return 0;
}

static int check_converge(akt_scenario *sc, char *why) {
  t_state *st = akt_scenario_state(sc);
  size_t n = akt_scenario_nodes(sc);
  for (size_t i = 0; i < n; i++) {
    const t_node *nd = &st->node[i];
    if (!nd->up || !nd->member) continue;
    for (uint32_t t = 0; t < ntopics(sc); t++) {
      uint32_t want = 0; /* nodes with an active subscription to t */
      for (uint32_t k = 0; k < st->nactive; k++) {
        const t_sub *x = &st->subs[st->active[k]];
        if (x->topic == t && st->node[x->node].up && st->node[x->node].member)
          want |= 1u << x->node;
      }
      char name[16];
      topic_name(t, name, sizeof name);
      akt_topic_node got[TW_MAX_NODES * 2];
      size_t count = 0;
      int rc = akt_topic_nodes(nd->sys, name, got, TW_MAX_NODES * 2, &count);
      uint32_t seen = 0;
      for (size_t k = 0; rc == 0 && k < count; k++) {
        size_t j = node_of_name(got[k].name);
        int ok = j < n && (want >> j & 1) && !(seen >> j & 1) &&
                 (got[k].self ? j == i : got[k].incarnation == st->node[j].uid);
        if (!ok) {
          snprintf(why, AKT_SCENARIO_WHY_MAX,
                   "node%zu sends %s to %s#%llx, which has no subscriber of it (or is not that "
                   "incarnation: node%zu is #%llx)",
                   i, name, got[k].name, (unsigned long long)got[k].incarnation, j,
                   j < n ? (unsigned long long)st->node[j].uid : 0ull);
          return 1;
        }
        seen |= 1u << j;
      }
      if (rc == 0 && seen == want) continue;
      snprintf(why, AKT_SCENARIO_WHY_MAX,
               "node%zu does not send %s to every node that subscribes to it (nodes %#x, it "
               "sends to %#x)",
               i, name, want, seen);
      return 1;
    }
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"at-most-once", AKT_CHECK_SAFETY, check_dup},
    {"in-order", AKT_CHECK_SAFETY, check_order},
    {"subscribed-only", AKT_CHECK_SAFETY, check_wrong},
    {"ack-truthful", AKT_CHECK_SAFETY, check_truthful},
    {"delivered", AKT_CHECK_LIVENESS, check_delivered},
    {"acked", AKT_CHECK_LIVENESS, check_acked},
    {"registries-converge", AKT_CHECK_LIVENESS, check_converge},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"topics", "how many topics (t0, t1, ...; at most 8; default 3)"},
    {"subscribers", "subscriber actors per node (at most 8; default 2)"},
    {"interval", "each node publishes once per interval (default 250ms)"},
    {"churn", "a node's subscribers change about this often (default 5s; 0: never)"},
    {"stop_after", "publishing and churn stop this long into the quiet period (default 10s)"},
    {"max_pending", "the topics' max_pending option (default: its default)"},
    {"dedup", "0: BROKEN, receivers deliver every entry they get, duplicates too (default 1)"},
    {"down_removal", "0: BROKEN, members seen down keep their subscriptions (default 1)"},
    {"watch", "0: BROKEN, terminated subscribers stay subscribed (default 1)"},
    {"resend", "0: BROKEN, unacknowledged publishes are never sent again (default 1)"},
    {NULL, NULL},
};

const akt_workload akt__wl_topics = {
    .name = "topics",
    .summary = "cluster pub/sub under faults: publishes after acknowledgement delivered at most "
               "once, in order, to every live subscriber; registries converge",
    .state_size = sizeof(t_state),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .params = params,
};
