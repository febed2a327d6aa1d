/* A simulated cluster with the cluster-actor layer: N nodes on one world,
 * each a system with remoting, membership (every node a seed) and
 * akt_cluster_actors_start, and a counter kind registered (named "counter",
 * virtual "vcounter"; state: Total, handed over and restored). Restarted
 * nodes come back with everything. Every cluster-actor event is recorded
 * with its node and virtual time, and every counter turn reports to the
 * fixture, so tests can check who ran which name when. */
#ifndef AKT_TESTS_CLUSTER_CA_FIXTURE_H
#define AKT_TESTS_CLUSTER_CA_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/akt.h"
#include "akt/cluster.h"
#include "akt/cluster_actors.h"
#include "akt/cluster_actors.pb-c.h"
#include "akt/remote.h"
#include "akt/sim.h"
#include "test.pb-c.h"

#define CF_MAX_NODES 8
#define CF_MAX_EVENTS 4096
#define CF_MAX_TURNS 8192

typedef struct cf cf;

typedef struct cf_node {
  cf *f;
  unsigned i;
  akt_backend *b;
  akt_system *sys; /* NULL while crashed */
} cf_node;

typedef struct cf_event {
  unsigned node;
  akt_cluster_actor_event_kind kind;
  char name[64];
  char detail[96];
  uint64_t epoch, at;
} cf_event;

/* A turn of a counter activation: which node, which activation (pre_start
 * order), when. */
typedef struct cf_turn {
  unsigned node;
  uint64_t activation;
  char name[64];
  uint64_t at;
} cf_turn;

struct cf {
  akt_sim_world *w;
  unsigned n;
  cf_node node[CF_MAX_NODES];
  akt_addr seeds[CF_MAX_NODES];
  akt_cluster_options copts;
  akt_cluster_actors_options aopts;
  akt_cluster_store *store; /* the counters' store, or NULL */
  cf_event ev[CF_MAX_EVENTS];
  size_t nev;
  cf_turn turns[CF_MAX_TURNS];
  size_t nturns;
  uint64_t activations;     /* counter activations so far */
};

/* ---- the counter kind ------------------------------------------------------------------------ */

typedef struct cf_counter {
  int64_t total;
  uint64_t activation;
  cf_node *nd;
} cf_counter;

static int cf_counter_start(akt_ctx *ctx) {
  cf_counter *s = akt_ctx_state(ctx);
  s->nd = (cf_node *)(uintptr_t)akt_cluster_ctx_arg(ctx);
  s->activation = ++s->nd->f->activations;
  return 0;
}

static int cf_counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  cf_counter *s = akt_ctx_state(ctx);
  cf *f = s->nd->f;
  if (f->nturns < CF_MAX_TURNS) {
    cf_turn *t = &f->turns[f->nturns++];
    t->node = s->nd->i;
    t->activation = s->activation;
    snprintf(t->name, sizeof t->name, "%s", akt_cluster_ctx_name(ctx));
    t->at = akt_sim_now(f->w);
  }
  if (akt_msg_is(msg, &add__descriptor)) {
    s->total += ((const Add *)msg)->amount;
    if (f->store) {
      Total t = TOTAL__INIT;
      t.value = s->total;
      akt_cluster_checkpoint(ctx, &t.base, (uint64_t)s->total);
    }
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = s->total;
    return akt_reply(ctx, &t.base);
  }
  if (akt_msg_is(msg, &akt__ca__checkpoint_done__descriptor)) return 0;
  return AKT_EUNHANDLED;
}

static int cf_counter_handoff(akt_ctx *ctx) {
  cf_counter *s = akt_ctx_state(ctx);
  Total t = TOTAL__INIT;
  t.value = s->total;
  return akt_cluster_handoff_state(ctx, &t.base);
}

static int cf_counter_restore(akt_ctx *ctx, const ProtobufCMessage *state,
                              akt_cluster_state_from from) {
  (void)from;
  cf_counter *s = akt_ctx_state(ctx);
  s->total = ((const Total *)state)->value;
  return 0;
}

static const akt_actor_def cf_counter_def = {.kind = "counter",
                                             .state_size = sizeof(cf_counter),
                                             .pre_start = cf_counter_start,
                                             .receive = cf_counter_receive};

/* ---- nodes ------------------------------------------------------------------------------------ */

static void cf_listener(akt_system *sys, const akt_cluster_actor_event *ev, void *arg) {
  (void)sys;
  cf_node *nd = arg;
  cf *f = nd->f;
  if (f->nev >= CF_MAX_EVENTS) return;
  cf_event *e = &f->ev[f->nev++];
  e->node = nd->i;
  e->kind = ev->kind;
  snprintf(e->name, sizeof e->name, "%s", ev->name);
  snprintf(e->detail, sizeof e->detail, "%s", ev->detail);
  e->epoch = ev->epoch;
  e->at = akt_sim_now(f->w);
}

static int cf_hook_start(akt_backend *b, void *arg) {
  cf_node *nd = arg;
  cf *f = nd->f;
  char name[16];
  snprintf(name, sizeof name, "node%u", nd->i);
  akt_system_options so = {.host = name, .port = 2552};
  int rc = akt_system_new(name, b, &so, &nd->sys);
  if (rc) return rc;
  rc = akt_system_register_type(nd->sys, &add__descriptor);
  if (!rc) rc = akt_system_register_type(nd->sys, &get__descriptor);
  if (!rc) rc = akt_system_register_type(nd->sys, &total__descriptor);
  akt_remote_options ro = {.port = 2552, .security.cookie = "cluster-actors-test-cookie"};
  if (!rc) rc = akt_remote_start(nd->sys, &ro);
  akt_cluster_options co = f->copts;
  co.gossip_port = 7946;
  co.seeds = f->seeds;
  co.nseeds = f->n;
  if (!rc) rc = akt_cluster_start(nd->sys, &co);
  akt_cluster_actors_options ao = f->aopts;
  ao.listener = cf_listener;
  ao.listener_arg = nd;
  if (!rc) rc = akt_cluster_actors_start(nd->sys, &ao);
  akt_cluster_kind k = {.name = "counter",
                        .def = &cf_counter_def,
                        .state_type = &total__descriptor,
                        .handoff = cf_counter_handoff,
                        .restore = cf_counter_restore,
                        .store = f->store,
                        .arg = nd};
  if (!rc) rc = akt_cluster_register_kind(nd->sys, &k);
  k.name = "vcounter";
  k.mode = AKT_CLUSTER_VIRTUAL;
  if (!rc) rc = akt_cluster_register_kind(nd->sys, &k);
  return rc;
}

static void cf_hook_stop(akt_backend *b, void *arg) {
  (void)b;
  cf_node *nd = arg;
  akt_system_drop(nd->sys);
  nd->sys = NULL;
}

/* The world and n nodes, not started. */
static inline void cf_init(cf *f, unsigned n, uint64_t seed) {
  memset(f, 0, sizeof *f);
  const char *env = getenv("AKT_SEED");
  if (env) seed = strtoull(env, NULL, 0);
  akt_sim_options so = {.seed = seed, .trace_path = getenv("AKT_TRACE")};
  assert_int_equal(akt_sim_world_new(&so, &f->w), 0);
  f->n = n;
  for (unsigned i = 0; i < n; i++) {
    cf_node *nd = &f->node[i];
    nd->f = f;
    nd->i = i;
    char name[16];
    snprintf(name, sizeof name, "node%u", i);
    assert_int_equal(akt_sim_node_new(f->w, name, &nd->b), 0);
    akt_sim_node_hooks h = {.start = cf_hook_start, .stop = cf_hook_stop, .arg = nd};
    assert_int_equal(akt_sim_node_set_hooks(nd->b, &h), 0);
    snprintf(f->seeds[i].host, sizeof f->seeds[i].host, "%s", name);
    f->seeds[i].port = 7946;
  }
}

static inline void cf_start_all(cf *f) {
  for (unsigned i = 0; i < f->n; i++) assert_int_equal(cf_hook_start(f->node[i].b, &f->node[i]), 0);
}

static inline void cf_free(cf *f) {
  for (unsigned i = 0; i < f->n; i++) {
    if (f->node[i].sys) akt_system_drop(f->node[i].sys);
    f->node[i].sys = NULL;
  }
  akt_sim_world_free(f->w);
  if (f->store) f->store->ops->free(f->store);
}

static inline uint64_t cf_now(cf *f) { return akt_sim_now(f->w); }

static inline void cf_run_to(cf *f, uint64_t t) {
  if (t > cf_now(f)) assert_int_equal(akt_sim_run_for(f->w, t - cf_now(f)), 0);
}

static inline void cf_stats(cf *f, unsigned i, akt_cluster_actors_stats *st) {
  akt_cluster_actors_get_stats(f->node[i].sys, st);
}

/* 1 when every live node applied a configuration of exactly the live
 * nodes and holds a lease. */
static inline int cf_settled(void *arg) {
  cf *f = arg;
  unsigned live = 0;
  for (unsigned i = 0; i < f->n; i++) live += f->node[i].sys != NULL;
  for (unsigned i = 0; i < f->n; i++) {
    if (!f->node[i].sys) continue;
    akt_cluster_actors_stats st;
    cf_stats(f, i, &st);
    if (st.members != live || !st.lease_valid) return 0;
  }
  return 1;
}

static inline int cf_run_until_settled(cf *f, uint64_t deadline) {
  return akt_sim_run_until(f->w, cf_settled, f, deadline);
}

/* Running counter activations of `name` over all live nodes, and the node
 * of the last one. */
static inline unsigned cf_active(cf *f, unsigned *where) {
  unsigned n = 0;
  for (unsigned i = 0; i < f->n; i++) {
    if (!f->node[i].sys) continue;
    akt_cluster_actors_stats st;
    cf_stats(f, i, &st);
    n += (unsigned)st.active;
    if (st.active && where) *where = i;
  }
  return n;
}

static inline void cf_dump(cf *f) {
  for (size_t k = 0; k < f->nev; k++) {
    const cf_event *e = &f->ev[k];
    fprintf(stderr, "%10.3fs node%u %-14s %s %s e%llu\n", (double)e->at / 1e9, e->node,
            akt_cluster_actor_event_name(e->kind), e->name, e->detail,
            (unsigned long long)e->epoch);
  }
}

/* The first event of `kind` about `name` on any node at or after `since`,
 * or NULL. */
static inline const cf_event *cf_find(cf *f, akt_cluster_actor_event_kind kind, const char *name,
                                      uint64_t since) {
  for (size_t k = 0; k < f->nev; k++)
    if (f->ev[k].kind == kind && f->ev[k].at >= since && (!name || !strcmp(f->ev[k].name, name)))
      return &f->ev[k];
  return NULL;
}

/* No two activations of one name interleave their turns: once a newer
 * activation of a name ran, an older one never runs again. Returns 1 when
 * that holds. */
static inline int cf_no_overlap(cf *f) {
  for (size_t i = 0; i < f->nturns; i++)
    for (size_t j = i + 1; j < f->nturns; j++) {
      const cf_turn *a = &f->turns[i], *b = &f->turns[j];
      if (strcmp(a->name, b->name) || a->activation == b->activation) continue;
      for (size_t k = j + 1; k < f->nturns; k++)
        if (f->turns[k].activation == a->activation) {
          fprintf(stderr, "activation %llu of %s ran at %.3fs after activation %llu at %.3fs\n",
                  (unsigned long long)a->activation, a->name, (double)f->turns[k].at / 1e9,
                  (unsigned long long)b->activation, (double)b->at / 1e9);
          return 0;
        }
    }
  return 1;
}

#endif
