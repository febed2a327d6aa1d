/* akt — /system/cluster: full-state sync (push-pull) and joining, over
 * remoting.
 *
 * Every push_pull_interval (scaled up in proportion past 10 members, so
 * that sync bytes per member stay constant), and whenever the gossip side queues one (a join through a member,
 * a merge with a member of a cluster we do not know), the actor sends a
 * Sync holding this node's whole view to the peer's /system/cluster with
 * akt_request; the peer merges it and answers with its own, which this
 * node merges. Both merges use the same rules as gossip (merge.c), so a
 * sync can only move a view forward.
 *
 * Why over remoting rather than a stream of its own (docs/cluster.md,
 * "Security"): remoting's handshake authenticates the peer (cookie, and
 * TLS when configured), so the sync, which carries the whole view and
 * admits new members, is exactly as protected as actor messages are, with
 * no second listener, port or handshake to secure. The actor takes its
 * work from a queue the gossip side fills under the cluster's lock; the
 * SyncTick that wakes it carries nothing, so a SyncTick from elsewhere can
 * at most make it look at that queue and at its push-pull time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/remote.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/util/assert.h"

#define TICK_KEY 1

/* ---- building a Sync ----------------------------------------------------------------------------- */

typedef struct state_buf {
  akt__upd_storage *st;
  Akt__Cluster__Update **ups;
  size_t n;
} state_buf;

/* The whole view (join: only this node) as Sync.state. 0 or AKT_ENOMEM. */
static int state_build(akt__cluster *cl, int only_self, state_buf *b) {
  uint32_t n = only_self ? 1 : cl->nmembers;
  b->n = 0;
  b->st = malloc((n ? n : 1) * sizeof *b->st);
  b->ups = malloc((n ? n : 1) * 2 * sizeof *b->ups);
  if (!b->st || !b->ups) {
    free(b->st);
    free(b->ups);
    return AKT_ENOMEM;
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < cl->nslots && k < n; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || (only_self && !m->self)) continue;
    size_t c = akt__cl_state_of(cl, m, &b->st[k]);
    for (size_t j = 0; j < c; j++) b->ups[b->n++] = &b->st[k].u[j];
    k++;
  }
  return 0;
}

static void state_free(state_buf *b) {
  free(b->st);
  free(b->ups);
}

static void sync_fill(akt__cluster *cl, Akt__Cluster__Sync *s, Akt__Cluster__Node *from,
                      state_buf *b, int join) {
  akt__cl_node_self(cl, from);
  akt__cluster__sync__init(s);
  s->from = from;
  s->join = join;
  s->member = cl->phase == AKT_CLUSTER_MEMBER;
  s->state = b->ups;
  s->n_state = b->n;
}

/* Merges what a peer sent; gossips on what changed our view when we are a
 * member. */
static void merge(akt__cluster *cl, const Akt__Cluster__Sync *s) {
  akt_cluster_phase phase = cl->phase;
  for (size_t i = 0; i < s->n_state && cl->phase == phase; i++) {
    const Akt__Cluster__Update *u = s->state[i];
    int was_member = cl->phase == AKT_CLUSTER_MEMBER;
    if (akt__cl_apply(cl, u) != 1 || !was_member || cl->phase != AKT_CLUSTER_MEMBER) continue;
    const Akt__Cluster__Node *n = u->kind_case == AKT__CLUSTER__UPDATE__KIND_ALIVE ? u->alive->node
                                  : u->kind_case == AKT__CLUSTER__UPDATE__KIND_SUSPECT
                                      ? u->suspect->node
                                  : u->kind_case == AKT__CLUSTER__UPDATE__KIND_UNREACHABLE
                                      ? u->unreachable->node
                                      : u->down->node;
    akt__cl_broadcast(cl, u, akt__cl_key(n->host, (uint16_t)n->port), n->incarnation);
  }
}

/* Charges a sync's bytes to the member it came from or went to (and one
 * that came from it is a first-hand sign of it). */
static void charge(akt__cluster *cl, const Akt__Cluster__Node *n, size_t len, int in) {
  if (!akt__cl_node_valid(n)) return;
  akt__cl_member *m = akt__cl_find(cl, n->host, (uint16_t)n->port);
  if (!m) return;
  if (in) m->bytes_in += len;
  else m->bytes_out += len;
  if (in && m->uid == n->incarnation) m->heard_at = akt__cl_now(cl);
}

/* Answers a sync from an identity that is down or superseded: its only
 * news is that (and the newer incarnation at its address, if any, whose
 * number the next one must exceed). */
static void reply_down(akt_ctx *ctx, akt__cluster *cl, const Akt__Cluster__Node *n) {
  akt__claim c;
  Akt__Cluster__Update *ups[2] = {
      akt__cl_claim(cl, n, AKT__CLUSTER__UPDATE__KIND_DOWN, 0, akt__cl_down_reason(cl, n), &c),
      NULL};
  Akt__Cluster__Sync out = AKT__CLUSTER__SYNC__INIT;
  out.from = &c.from;
  out.member = 1;
  out.state = ups;
  out.n_state = 1;
  akt__upd_storage st;
  akt__cl_member *m = akt__cl_find(cl, n->host, (uint16_t)n->port);
  if (m && m->uid > n->incarnation) {
    akt__cl_state_of(cl, m, &st);
    ups[1] = &st.u[0];
    out.n_state = 2;
  }
  akt_reply(ctx, &out.base);
}

/* ---- the actor ------------------------------------------------------------------------------------- */

static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  akt__cluster *cl = akt__cluster_of(akt_ctx_system(ctx));
  int join = (int)(uintptr_t)arg;
  if (!cl) return 0;
  pthread_mutex_lock(&cl->mu);
  if (cl->stopping) goto out;
  if (status || !reply || !akt_msg_is(reply, &akt__cluster__sync__descriptor)) {
    AKT__CL_STAT(cl, syncs_failed);
    if (join) cl->join_busy_until = 0;
    goto out;
  }
  const Akt__Cluster__Sync *s = (const Akt__Cluster__Sync *)reply;
  charge(cl, s->from, akt__cluster__sync__get_packed_size(s), 1);
  if (join) {
    cl->join_busy_until = 0;
    if (cl->phase != AKT_CLUSTER_JOINING || !s->member) goto out;
    merge(cl, s);
    if (cl->identity_stale) akt__cl_join_begin(cl); /* again, with a higher number */
    else akt__cl_joined(cl);
  } else if (cl->phase == AKT_CLUSTER_MEMBER) {
    if (akt__cl_node_valid(s->from) && akt__cl_is_dead(cl, s->from)) {
      /* It was downed (or removed, or restarted) since we asked, and does
       * not know: its view is stale, as a sync from it would be
       * (actor_receive). Only its news that we are down counts (it holds
       * us dead too: reply_down); else it is told, at its gossip address,
       * instead of merged. */
      if (!akt__cl_apply_own_down(cl, s->state, s->n_state)) {
        akt_addr to = {.port = (uint16_t)s->from->port};
        snprintf(to.host, sizeof to.host, "%s", s->from->host);
        akt__cl_tell_down(cl, &to, s->from);
      }
      goto out;
    }
    merge(cl, s);
  }
out:
  pthread_mutex_unlock(&cl->mu);
  return 0;
}

/* Sends a Sync to the /system/cluster of the node at `remoting` (lock held). */
static void sync_to(akt_ctx *ctx, akt__cluster *cl, const char *remoting, int join) {
  char address[AKT_CLUSTER_REMOTING_MAX + 16];
  snprintf(address, sizeof address, "%s/system/cluster", remoting);
  akt_pid *peer = NULL;
  if (akt_remote_pid(cl->sys, address, &peer) != 0) {
    AKT__CL_STAT(cl, syncs_failed);
    if (join) cl->join_busy_until = 0;
    return;
  }
  state_buf b;
  if (state_build(cl, join, &b) == 0) {
    Akt__Cluster__Sync s;
    Akt__Cluster__Node from;
    sync_fill(cl, &s, &from, &b, join);
    AKT__CL_STAT(cl, syncs);
    int rc = akt_request(ctx, peer, &s.base, cl->o.sync_timeout, on_reply, (void *)(uintptr_t)join);
    if (rc) {
      AKT__CL_STAT(cl, syncs_failed);
      if (join) cl->join_busy_until = 0;
    }
    state_free(&b);
  }
  akt_pid_release(peer);
}

/* The push-pull interval for n members: interval * n / 10 past 10
 * members. A sync carries the whole view, O(n) bytes, so a member's share
 * of sync traffic stays what it is at 10 members only if its syncs grow
 * rarer in proportion (memberlist's log2 scaling lets it grow with n;
 * docs/cluster.md, "Full syncs"). The cluster as a whole still syncs
 * 10 / interval times a second whatever its size. */
static akt_duration push_pull_every(akt__cluster *cl) {
  uint32_t n = akt__cl_live_count(cl);
  if (n <= AKT_CLUSTER_PUSH_PULL_SCALE_FROM) return cl->o.push_pull_interval;
  akt_duration every = cl->o.push_pull_interval;
  if (every > UINT64_MAX / n) return UINT64_MAX; /* configured beyond any run */
  return every * n / AKT_CLUSTER_PUSH_PULL_SCALE_FROM;
}

static int sync_target(const akt__cl_member *m, const void *arg) {
  (void)arg;
  return !m->self && m->status <= AKT_MEMBER_LEAVING && m->reach == AKT_REACH_ALIVE &&
         m->remoting[0];
}

static void tick(akt_ctx *ctx, akt__cluster *cl) {
  for (uint32_t i = 0; i < cl->nsyncq; i++) sync_to(ctx, cl, cl->syncq[i].remoting, cl->syncq[i].join);
  cl->nsyncq = 0;
  uint64_t now = akt__cl_now(cl);
  if (cl->phase != AKT_CLUSTER_MEMBER || now < cl->next_push_pull) return;
  akt_duration every = push_pull_every(cl);
  cl->next_push_pull = every > UINT64_MAX - now ? UINT64_MAX : now + every;
  /* One random member that answers and has a remoting address. */
  uint32_t s;
  if (akt__cl_pick(cl, sync_target, NULL, 1, &s)) sync_to(ctx, cl, cl->slots[s]->remoting, 0);
}

static int actor_start(akt_ctx *ctx) {
  Akt__Cluster__SyncTick t = AKT__CLUSTER__SYNC_TICK__INIT;
  akt__cluster *cl = akt__cluster_of(akt_ctx_system(ctx));
  /* Queued syncs come with a tick of their own; this one checks the
   * push-pull time, a quarter of its interval at a time. */
  akt_duration every = cl->o.push_pull_interval / 4 ? cl->o.push_pull_interval / 4 : 1;
  return akt_timer_start(ctx, TICK_KEY, every, every, &t.base);
}

static int actor_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt__cluster *cl = akt__cluster_of(akt_ctx_system(ctx));
  if (!cl) return 0;
  /* Cluster topics talk to peers through this actor too (topics.c). */
  if (cl->topics && akt__topics_receive(cl->topics, ctx, msg) != AKT_EUNHANDLED) return 0;
  if (akt_msg_is(msg, &akt__cluster__sync_tick__descriptor)) {
    pthread_mutex_lock(&cl->mu);
    if (!cl->stopping) tick(ctx, cl);
    pthread_mutex_unlock(&cl->mu);
    return 0;
  }
  if (akt_msg_is(msg, &akt__cluster__sync__descriptor)) {
    const Akt__Cluster__Sync *in = (const Akt__Cluster__Sync *)msg;
    pthread_mutex_lock(&cl->mu);
    if (!cl->stopping && cl->phase == AKT_CLUSTER_MEMBER && akt__cl_node_valid(in->from) &&
        akt__cl_is_dead(cl, in->from)) {
      reply_down(ctx, cl, in->from);
      pthread_mutex_unlock(&cl->mu);
      return 0;
    }
    if (!cl->stopping && cl->phase == AKT_CLUSTER_MEMBER) {
      charge(cl, in->from, akt__cluster__sync__get_packed_size(in), 1);
      merge(cl, in);
    }
    state_buf b = {0};
    int member = !cl->stopping && cl->phase == AKT_CLUSTER_MEMBER;
    if (!member || state_build(cl, 0, &b) == 0) {
      Akt__Cluster__Sync out;
      Akt__Cluster__Node from;
      sync_fill(cl, &out, &from, &b, 0);
      if (!member) {
        out.member = 0;
        out.n_state = 0;
      }
      charge(cl, in->from, akt__cluster__sync__get_packed_size(&out), 0);
      akt_reply(ctx, &out.base);
      state_free(&b);
    }
    pthread_mutex_unlock(&cl->mu);
    return 0;
  }
  /* The layers built on membership receive their protocol through here. */
  for (unsigned i = 0; i < cl->next; i++) {
    if (!cl->ext[i].receive) continue;
    int rc = cl->ext[i].receive(cl->ext[i].arg, ctx, msg);
    if (rc != AKT_EUNHANDLED) return rc;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def cluster_def = {
    .kind = "cluster", .pre_start = actor_start, .receive = actor_receive};

int akt__cl_actor_start(akt__cluster *cl) {
  cl->next_push_pull = akt__cl_now(cl) + akt__cl_random(cl) % cl->o.push_pull_interval;
  return akt__spawn(cl->sys, cl->sys->system_guardian->cell, "cluster", &cluster_def, NULL, 0,
                    &cl->actor);
}

void akt__cl_sync_with(akt__cluster *cl, const char *remoting, int join) {
  for (uint32_t i = 0; i < cl->nsyncq; i++)
    if (!strcmp(cl->syncq[i].remoting, remoting)) return;
  if (cl->nsyncq >= AKT__CL_MAX_SYNCQ) {
    AKT__CL_STAT(cl, syncs_failed);
    if (join) cl->join_busy_until = 0;
    return;
  }
  snprintf(cl->syncq[cl->nsyncq].remoting, sizeof cl->syncq[0].remoting, "%s", remoting);
  cl->syncq[cl->nsyncq++].join = join;
  Akt__Cluster__SyncTick t = AKT__CLUSTER__SYNC_TICK__INIT;
  akt_tell(cl->actor, &t.base);
}

int akt__cl_register_types(akt_system *sys) {
  static const ProtobufCMessageDescriptor *const types[] = {
      &akt__cluster__sync__descriptor, &akt__cluster__sync_tick__descriptor,
      &akt__cluster__member_event__descriptor};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    int rc = akt_system_register_type(sys, types[i]);
    if (rc) return rc;
  }
  return 0;
}
