/* akt — joining: discovery rounds, the hello exchange, founding a cluster,
 * and rejoining after being downed.
 *
 * A node that is not a member asks its discovery provider for addresses
 * every join_interval and sends each a Hello. A member answers with its
 * remoting address, and the node joins through it: a Sync over remoting
 * (sync.c) carries its Alive (joining) there and brings the member's whole
 * view back; the node is then a member and moves itself up.
 *
 * When nobody answers as a member, one node must found the cluster, and
 * only one. The rule: a node founds a cluster when, for bootstrap_rounds
 * rounds in a row, at least bootstrap_expect nodes (itself included)
 * answered its hellos as non-members, every one of them named it as the
 * lowest address it has heard from, and it has heard of no lower address
 * itself. Two founders would need two such majorities that disagree, and
 * majorities meet in some node that names one lowest address to both. The
 * founder then greets everyone it heard from, so they join it at once. A
 * node that lost a partition and was downed rejoins by the same rule,
 * which is why a minority cannot found a cluster of its own: it cannot
 * gather bootstrap_expect answers (a majority of the seeds by default).
 * Should two clusters exist anyway (seeds that do not overlap, say), every
 * member keeps looking (rediscover_interval) and syncs with members of a
 * cluster it does not know: the views merge into one.
 */
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"
#include "src/util/assert.h"

/* ---- who we heard from ----------------------------------------------------------------------- */

static akt__heard *heard_find(akt__cluster *cl, const akt_addr *a) {
  for (uint32_t i = 0; i < cl->nheard; i++)
    if (cl->heard[i].addr.port == a->port && !strcmp(cl->heard[i].addr.host, a->host))
      return &cl->heard[i];
  return NULL;
}

/* Forgets non-members silent for AKT__CL_HEARD_ROUNDS rounds. */
static void heard_expire(akt__cluster *cl) {
  for (uint32_t i = 0; i < cl->nheard;) {
    if (cl->heard[i].round + AKT__CL_HEARD_ROUNDS < cl->round)
      cl->heard[i] = cl->heard[--cl->nheard];
    else
      i++;
  }
}

static akt__heard *heard_note(akt__cluster *cl, const Akt__Cluster__Node *n) {
  akt_addr a = {.port = (uint16_t)n->port};
  snprintf(a.host, sizeof a.host, "%s", n->host);
  akt__heard *h = heard_find(cl, &a);
  if (!h) {
    if (cl->nheard >= AKT__CL_MAX_HEARD) { /* plenty to decide with */
      AKT__CL_STAT(cl, heard_full);
      return NULL;
    }
    h = &cl->heard[cl->nheard++];
    memset(h, 0, sizeof *h);
    h->addr = a;
  }
  h->uid = n->incarnation;
  h->round = cl->round;
  return h;
}

/* The lowest address among this node and the non-members it heard from. */
static void lowest_known(akt__cluster *cl, akt_addr *out) {
  out->port = cl->port;
  snprintf(out->host, sizeof out->host, "%s", cl->host);
  for (uint32_t i = 0; i < cl->nheard; i++) {
    const akt_addr *a = &cl->heard[i].addr;
    if (akt__cl_addr_cmp(a->host, a->port, out->host, out->port) < 0) *out = *a;
  }
}

/* ---- hellos ---------------------------------------------------------------------------------------- */

static void send_hello_sync(akt__cluster *cl, const akt_addr *to, int reply, int sync_me) {
  Akt__Cluster__Hello h = AKT__CLUSTER__HELLO__INIT;
  h.sync_me = sync_me;
  Akt__Cluster__Node cand;
  akt_addr low;
  h.reply = reply;
  h.member = cl->phase == AKT_CLUSTER_MEMBER;
  h.name = cl->name;
  h.remoting = cl->remoting;
  if (!h.member) {
    lowest_known(cl, &low);
    akt__cluster__node__init(&cand);
    cand.host = low.host;
    cand.port = low.port;
    cand.incarnation = 1; /* unused: a candidate is an address */
    h.candidate = &cand;
  }
  Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
  p.body_case = AKT__CLUSTER__PACKET__BODY_HELLO;
  p.hello = &h;
  akt__cl_send(cl, to, NULL, &p, 0);
}

static void send_hello(akt__cluster *cl, const akt_addr *to, int reply) {
  send_hello_sync(cl, to, reply, 0);
}

void akt__cl_ask_sync(akt__cluster *cl, const akt_addr *to, const Akt__Cluster__Node *n) {
  uint64_t now = akt__cl_now(cl), key = akt__cl_key(n->host, (uint16_t)n->port);
  uint32_t slot = AKT__CL_MAX_ASKED, oldest = 0;
  for (uint32_t i = 0; i < AKT__CL_MAX_ASKED && slot == AKT__CL_MAX_ASKED; i++) {
    if (cl->asked[i].key == key && cl->asked[i].uid == n->incarnation) slot = i;
    else if (cl->asked[i].seen < cl->asked[oldest].seen) oldest = i;
  }
  if (slot == AKT__CL_MAX_ASKED) {
    /* First heard of: gossip usually brings its news within the grace. */
    slot = oldest;
    cl->asked[slot].key = key;
    cl->asked[slot].uid = n->incarnation;
    cl->asked[slot].seen = now ? now : 1;
    cl->asked[slot].at = 0;
    return;
  }
  /* Still unknown after the grace: ask, once every AKT__CL_ASK_AGAIN. */
  if (now < cl->asked[slot].seen + AKT__CL_ASK_GRACE) return;
  if (cl->asked[slot].at && now < cl->asked[slot].at + AKT__CL_ASK_AGAIN) return;
  cl->asked[slot].at = now;
  send_hello_sync(cl, to, 0, 1);
}

static int is_self(akt__cluster *cl, const akt_addr *a) {
  return a->port == cl->port && !strcmp(a->host, cl->host);
}

static void on_discovered(int status, const akt_addr *addrs, size_t n, void *arg) {
  akt__cluster *cl = arg;
  pthread_mutex_lock(&cl->mu);
  cl->disc_busy = 0;
  if (cl->stopping || cl->phase == AKT_CLUSTER_IDLE || cl->phase == AKT_CLUSTER_OUT) goto out;
  if (status) {
    akt__cl_log(cl, AKT_LOG_DEBUG, "cluster %s: discovery (%s) failed: %s", cl->name,
                cl->disc->ops->name, akt_strerror(status));
    goto out;
  }
  if (n > AKT_DISCOVERY_MAX_ADDRS) {
    cl->stats.discovery_truncated += n - AKT_DISCOVERY_MAX_ADDRS;
    n = AKT_DISCOVERY_MAX_ADDRS;
  }
  for (size_t i = 0; i < n; i++) {
    if (is_self(cl, &addrs[i])) continue;
    /* A member greets only addresses it does not know as members. */
    akt__cl_member *m = cl->phase == AKT_CLUSTER_MEMBER
                         ? akt__cl_find(cl, addrs[i].host, addrs[i].port)
                         : NULL;
    if (m && m->status < AKT_MEMBER_DOWN) continue;
    send_hello(cl, &addrs[i], 0);
  }
out:
  pthread_mutex_unlock(&cl->mu);
}

static void discover(akt__cluster *cl) {
  if (cl->disc_busy) return;
  int rc = cl->disc->ops->lookup(cl->disc, cl->b, on_discovered, cl);
  if (rc == 0) cl->disc_busy = 1;
  else
    akt__cl_log(cl, AKT_LOG_WARN, "cluster %s: discovery (%s) could not start: %s", cl->name,
                cl->disc->ops->name, akt_strerror(rc));
}

void akt__cl_on_hello(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p) {
  const Akt__Cluster__Hello *h = p->hello;
  if (!h || cl->phase == AKT_CLUSTER_IDLE) return;
  const char *remoting = h->remoting ? h->remoting : "";
  int joining = cl->phase == AKT_CLUSTER_JOINING;
  akt__heard *e = NULL;
  /* Noted before answering, so the answer counts the asker too. */
  if (!h->member && (joining || cl->phase == AKT_CLUSTER_OUT)) e = heard_note(cl, p->from);
  if (!h->reply) send_hello(cl, from, 1);
  if (h->member) {
    if (!remoting[0] || strlen(remoting) >= AKT_CLUSTER_REMOTING_MAX) return;
    if (cl->phase == AKT_CLUSTER_MEMBER && akt__cl_is_dead(cl, p->from)) {
      /* A member we downed (or removed, or that restarted since) that has
       * not heard of it: a partition kept the news from it, and nobody
       * probes a removed member. It is no other cluster to merge with: its
       * view is the stale one it had when it was cut off (old suspicions,
       * members long gone), and merging it would bring those back here
       * while it goes on deciding for a side it is no longer part of. It
       * only needs to learn that it is down. */
      akt__cl_tell_down(cl, from, p->from);
      return;
    }
    if (h->sync_me && cl->phase == AKT_CLUSTER_MEMBER) {
      akt__cl_sync_with(cl, remoting, 0);
      return;
    }
    if (joining && akt__cl_now(cl) >= cl->join_busy_until) {
      cl->member_answered = 1;
      cl->join_busy_until = akt__cl_now(cl) + cl->o.sync_timeout;
      akt__cl_sync_with(cl, remoting, 1);
    } else if (cl->phase == AKT_CLUSTER_MEMBER) {
      akt__cl_member *m = akt__cl_find(cl, p->from->host, (uint16_t)p->from->port);
      if (!m || m->uid != p->from->incarnation) akt__cl_sync_with(cl, remoting, 0); /* merge */
    }
    return;
  }
  if (e && h->reply) {
    e->answered = cl->round;
    e->candidate.port = 0;
    if (akt__cl_node_valid(h->candidate)) {
      e->candidate.port = (uint16_t)h->candidate->port;
      snprintf(e->candidate.host, sizeof e->candidate.host, "%s", h->candidate->host);
    }
  }
}

/* ---- rounds ------------------------------------------------------------------------------------------- */

/* The local member founds a cluster. */
static void found(akt__cluster *cl) {
  cl->phase = AKT_CLUSTER_MEMBER;
  cl->founded_at = akt__cl_now(cl);
  akt__cl_self_move(cl, AKT_MEMBER_UP);
  akt__cl_emit(cl, AKT_CLUSTER_FORMED, cl->self, AKT_DOWN_UNKNOWN);
  akt__cl_log(cl, AKT_LOG_INFO, "cluster %s: founded a cluster", cl->name);
  akt__cl_swim_start(cl);
  akt__cl_timer(cl, AKT__CT_REDISCOVER, cl->o.rediscover_interval);
  for (uint32_t i = 0; i < cl->nheard; i++) send_hello(cl, &cl->heard[i].addr, 0);
}

/* Does the founding rule hold for the round that just ended? */
static int may_found(akt__cluster *cl) {
  if (cl->member_answered || akt__cl_now(cl) < cl->join_busy_until) return 0;
  unsigned count = 1;
  for (uint32_t i = 0; i < cl->nheard; i++) {
    const akt__heard *h = &cl->heard[i];
    if (akt__cl_addr_cmp(h->addr.host, h->addr.port, cl->host, cl->port) < 0) return 0;
    if (h->answered != cl->round) continue;
    if (!h->candidate.port || !is_self(cl, &h->candidate)) return 0;
    count++;
  }
  return count >= cl->o.bootstrap_expect;
}

void akt__cl_join_round(akt__cluster *cl) {
  if (cl->phase != AKT_CLUSTER_JOINING) return;
  if (cl->o.test_flags & AKT_CLUSTER_TEST_EAGER_FORM) {
    found(cl); /* the broken variant: without asking anyone */
    return;
  }
  if (cl->round) {
    cl->stable_rounds = may_found(cl) ? cl->stable_rounds + 1 : 0;
    if (cl->stable_rounds >= cl->o.bootstrap_rounds) {
      found(cl);
      return;
    }
  }
  cl->round++;
  cl->member_answered = 0;
  heard_expire(cl);
  discover(cl);
  /* A little jitter keeps nodes started together from asking in lockstep. */
  akt_duration j = cl->o.join_interval / 10;
  akt_duration delay = cl->o.join_interval - j + (j ? akt__cl_random(cl) % (2 * j) : 0);
  akt__cl_timer(cl, AKT__CT_JOIN, delay);
}

void akt__cl_rediscover(akt__cluster *cl) {
  if (cl->phase != AKT_CLUSTER_MEMBER) return;
  discover(cl);
  akt__cl_timer(cl, AKT__CT_REDISCOVER, cl->o.rediscover_interval);
}

/* ---- phases ----------------------------------------------------------------------------------------------- */

/* A new incarnation number: the wall clock in milliseconds above 16
 * random bits, so a restarted process outranks its predecessor, and
 * always above the one this process had. */
static uint64_t new_uid(akt__cluster *cl) {
  int64_t wall = cl->b->ops->wall(cl->b);
  uint64_t ms = wall > 0 ? (uint64_t)wall / 1000000u : 0;
  uint64_t uid = (ms << 16) | (akt__cl_random(cl) & 0xffffu);
  uint64_t floor = cl->uid > cl->uid_floor ? cl->uid : cl->uid_floor;
  if (uid <= floor) uid = floor + 1;
  return uid ? uid : 1;
}

void akt__cl_join_begin(akt__cluster *cl) {
  akt__cl_swim_reset(cl);
  akt__cl_clear(cl);
  akt__cl_bq_free(cl);
  cl->uid = new_uid(cl);
  cl->identity_stale = 0;
  cl->nsyncq = 0; /* syncs queued for the previous incarnation */
  cl->nheard = 0;
  cl->round = 0;
  cl->stable_rounds = 0;
  cl->join_busy_until = 0;
  cl->member_answered = 0;
  cl->phase = AKT_CLUSTER_JOINING;
  cl->self = akt__cl_add(cl, cl->host, cl->port, cl->uid, cl->name, 1, AKT_MEMBER_JOINING, 0,
                         cl->meta, cl->meta_len);
  AKT_ASSERT(cl->self && cl->self->self);
  akt__cl_timer(cl, AKT__CT_JOIN, 0);
}

void akt__cl_joined(akt__cluster *cl) {
  if (cl->phase != AKT_CLUSTER_JOINING || !cl->self) return;
  cl->phase = AKT_CLUSTER_MEMBER;
  cl->join_busy_until = 0;
  akt__cl_timer_cancel(cl, AKT__CT_JOIN);
  akt__cl_self_move(cl, AKT_MEMBER_UP);
  akt__cl_swim_start(cl);
  akt__cl_timer(cl, AKT__CT_REDISCOVER, cl->o.rediscover_interval);
}

void akt__cl_out(akt__cluster *cl, akt_cluster_down_reason reason) {
  akt__cl_member *me = cl->self;
  AKT_ASSERT(me && (me->status == AKT_MEMBER_DOWN || me->status == AKT_MEMBER_EXITING));
  int downed = me->status == AKT_MEMBER_DOWN;
  /* Last words: what is queued (our Down or exit among it) goes out. */
  akt__cl_gossip(cl);
  akt__cl_swim_reset(cl);
  akt__cl_timer_cancel(cl, AKT__CT_JOIN);
  akt__cl_timer_cancel(cl, AKT__CT_LEAVE);
  akt__cl_timer_cancel(cl, AKT__CT_REDISCOVER);
  cl->phase = AKT_CLUSTER_OUT;
  akt__cl_set_status(cl, me, AKT_MEMBER_REMOVED, AKT_DOWN_UNKNOWN);
  akt__cl_clear(cl);
  akt__cl_bq_free(cl);
  cl->nheard = 0;
  if (!downed) {
    akt__cl_log(cl, AKT_LOG_INFO, "cluster %s: left the cluster", cl->name);
    return;
  }
  akt__cl_log(cl, AKT_LOG_WARN,
              "cluster %s: this node was downed (reason %d): it hosts no cluster work%s", cl->name,
              (int)reason, cl->o.after_down == AKT_AFTER_DOWN_REJOIN ? " and will rejoin" : "");
  akt__trace(cl->sys, AKT_EV_NET, 0, 0, "self-down", cl->uid, (int64_t)reason, cl->name);
  if (cl->o.after_down == AKT_AFTER_DOWN_REJOIN)
    akt__cl_timer(cl, AKT__CT_REJOIN, cl->o.rejoin_delay);
}

void akt__cl_rejoin(akt__cluster *cl) {
  if (cl->phase != AKT_CLUSTER_OUT) return;
  akt__cl_join_begin(cl);
}
