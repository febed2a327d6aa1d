/* A simulated cluster for the membership tests: N nodes on one world, each
 * a system with remoting and membership (gossip port 7946, every node a
 * seed), restarted by the world's hooks after a crash. Every cluster event
 * of every node is recorded with its virtual time, so tests state exact
 * windows: "not suspect at 0.9 s, suspect by 1.0 s". */
#ifndef AKT_TESTS_CLUSTER_SIM_FIXTURE_H
#define AKT_TESTS_CLUSTER_SIM_FIXTURE_H

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
#include "akt/remote.h"
#include "akt/sim.h"
#include "akt/testkit.h"

#define SF_MAX_NODES 16
#define SF_MAX_EVENTS 8192
#define SF_GOSSIP_PORT 7946
#define SF_REMOTING_PORT 2552

typedef struct sf_event {
  unsigned node;              /* the observer */
  akt_cluster_event_kind kind;
  char subject[AKT_SYSTEM_NAME_MAX + 1]; /* the member's name ("" for no leader) */
  uint64_t incarnation;
  akt_member_status status;
  akt_member_reach reach;
  uint32_t version;
  akt_cluster_down_reason reason;
  uint64_t at;                /* world time */
} sf_event;

typedef struct sf sf;
typedef struct sf_node {
  sf *f;
  unsigned i;
  akt_backend *b;
  akt_system *sys;            /* NULL while crashed */
} sf_node;

struct sf {
  akt_sim_world *w;
  unsigned n;
  sf_node node[SF_MAX_NODES];
  akt_cluster_options opts;   /* for every node (seeds filled in by the fixture) */
  akt_addr seeds[SF_MAX_NODES];
  unsigned nseeds;            /* 0: every node is a seed */
  sf_event ev[SF_MAX_EVENTS];
  size_t nev;
  int no_start;               /* do not start the cluster in the start hook */
  /* Adjusts node i's options before its cluster starts (may be NULL). */
  void (*node_opts)(sf *f, unsigned i, akt_cluster_options *o);
  void *arg;                  /* for node_opts */
};

static void sf_listener(akt_system *sys, const akt_cluster_event *ev, void *arg) {
  (void)sys;
  sf_node *nd = arg;
  sf *f = nd->f;
  if (f->nev >= SF_MAX_EVENTS) return;
  sf_event *e = &f->ev[f->nev++];
  memset(e, 0, sizeof *e);
  e->node = nd->i;
  e->kind = ev->kind;
  e->reason = ev->reason;
  e->at = akt_sim_now(f->w);
  if (ev->member) {
    snprintf(e->subject, sizeof e->subject, "%s", ev->member->name);
    e->incarnation = ev->member->incarnation;
    e->status = ev->member->status;
    e->reach = ev->member->reach;
    e->version = ev->member->version;
  }
}

static int sf_cluster_start(sf *f, unsigned i) {
  sf_node *nd = &f->node[i];
  akt_cluster_options o = f->opts;
  o.gossip_port = SF_GOSSIP_PORT;
  o.seeds = f->seeds;
  o.nseeds = f->nseeds ? f->nseeds : f->n;
  o.listener = sf_listener;
  o.listener_arg = nd;
  if (f->node_opts) f->node_opts(f, i, &o);
  return akt_cluster_start(nd->sys, &o);
}

static int sf_hook_start(akt_backend *b, void *arg) {
  sf_node *nd = arg;
  char name[16];
  snprintf(name, sizeof name, "node%u", nd->i);
  akt_system_options so = {.host = name, .port = SF_REMOTING_PORT};
  int rc = akt_system_new(name, b, &so, &nd->sys);
  if (rc) return rc;
  akt_remote_options ro = {.port = SF_REMOTING_PORT, .security.cookie = "sim-fixture-test-cookie"};
  rc = akt_remote_start(nd->sys, &ro);
  if (!rc && !nd->f->no_start) rc = sf_cluster_start(nd->f, nd->i);
  return rc;
}

static void sf_hook_stop(akt_backend *b, void *arg) {
  (void)b;
  sf_node *nd = arg;
  akt_system_drop(nd->sys);
  nd->sys = NULL;
}

/* Creates the world and n nodes (opts: for every cluster, may be NULL). */
static inline void sf_init(sf *f, unsigned n, uint64_t seed, const akt_cluster_options *opts) {
  memset(f, 0, sizeof *f);
  if (opts) f->opts = *opts;
  const char *env = getenv("AKT_SEED");
  if (env) seed = strtoull(env, NULL, 0);
  const char *trace = getenv("AKT_TRACE");
  akt_sim_options so = {.seed = seed, .trace_path = trace};
  assert_int_equal(akt_sim_world_new(&so, &f->w), 0);
  f->n = n;
  for (unsigned i = 0; i < n; i++) {
    sf_node *nd = &f->node[i];
    nd->f = f;
    nd->i = i;
    char name[16];
    snprintf(name, sizeof name, "node%u", i);
    assert_int_equal(akt_sim_node_new(f->w, name, &nd->b), 0);
    akt_sim_node_hooks h = {.start = sf_hook_start, .stop = sf_hook_stop, .arg = nd};
    assert_int_equal(akt_sim_node_set_hooks(nd->b, &h), 0);
    snprintf(f->seeds[i].host, sizeof f->seeds[i].host, "%s", name);
    f->seeds[i].port = SF_GOSSIP_PORT;
  }
}

static inline void sf_start(sf *f, unsigned i) {
  assert_int_equal(sf_hook_start(f->node[i].b, &f->node[i]), 0);
}

static inline void sf_start_all(sf *f) {
  for (unsigned i = 0; i < f->n; i++) sf_start(f, i);
}

static inline void sf_free(sf *f) {
  for (unsigned i = 0; i < f->n; i++) {
    if (f->node[i].sys) akt_system_drop(f->node[i].sys);
    f->node[i].sys = NULL;
  }
  akt_sim_world_free(f->w);
}

static inline uint64_t sf_now(sf *f) { return akt_sim_now(f->w); }

/* Runs the world until `t` (world time, ns). */
static inline void sf_run_to(sf *f, uint64_t t) {
  if (t > sf_now(f)) assert_int_equal(akt_sim_run_for(f->w, t - sf_now(f)), 0);
}

static inline void sf_crash(sf *f, unsigned i) {
  assert_int_equal(akt_sim_crash(f->w, f->node[i].b), 0);
}

static inline void sf_restart(sf *f, unsigned i) {
  assert_int_equal(akt_sim_restart(f->w, f->node[i].b), 0);
}

/* The state node `obs` has for the member named `name`: 1 and *out when it
 * knows it, else 0. */
static inline int sf_view(sf *f, unsigned obs, const char *name, akt_member *out) {
  akt_member ms[SF_MAX_NODES * 2];
  size_t n = 0;
  if (!f->node[obs].sys) return 0;
  int rc = akt_cluster_members(f->node[obs].sys, ms, SF_MAX_NODES * 2, &n);
  if (rc) return 0;
  for (size_t k = 0; k < n; k++)
    if (!strcmp(ms[k].name, name)) {
      if (out) *out = ms[k];
      return 1;
    }
  return 0;
}

/* 1 when every live node sees exactly the live nodes as up and alive. */
static inline int sf_converged(sf *f) {
  for (unsigned i = 0; i < f->n; i++) {
    if (!f->node[i].sys) continue;
    if (akt_cluster_get_phase(f->node[i].sys) != AKT_CLUSTER_MEMBER) return 0;
    for (unsigned j = 0; j < f->n; j++) {
      char name[16];
      snprintf(name, sizeof name, "node%u", j);
      akt_member m;
      int known = sf_view(f, i, name, &m);
      int want = f->node[j].sys != NULL;
      int ok = want ? known && m.status == AKT_MEMBER_UP && m.reach == AKT_REACH_ALIVE
                    : !known || m.status >= AKT_MEMBER_DOWN;
      if (!ok) return 0;
    }
  }
  return 1;
}

static int sf_converged_fn(void *arg) { return sf_converged(arg); }

/* Runs until every live node has the same view (or the deadline). */
static inline int sf_run_until_converged(sf *f, uint64_t deadline) {
  return akt_sim_run_until(f->w, sf_converged_fn, f, deadline);
}

/* The first event of `kind` that node `obs` emitted about `subject` at or
 * after `since`, or NULL. */
static inline const sf_event *sf_find(sf *f, unsigned obs, akt_cluster_event_kind kind,
                                      const char *subject, uint64_t since) {
  for (size_t k = 0; k < f->nev; k++) {
    const sf_event *e = &f->ev[k];
    if (e->node == obs && e->kind == kind && e->at >= since && !strcmp(e->subject, subject))
      return e;
  }
  return NULL;
}

/* The time of that event, or 0. */
static inline uint64_t sf_at(sf *f, unsigned obs, akt_cluster_event_kind kind, const char *subject,
                             uint64_t since) {
  const sf_event *e = sf_find(f, obs, kind, subject, since);
  return e ? e->at : 0;
}

/* How many events of `kind` about `subject` (any observer, NULL: any
 * subject) since `since`. */
static inline size_t sf_count(sf *f, akt_cluster_event_kind kind, const char *subject,
                              uint64_t since) {
  size_t n = 0;
  for (size_t k = 0; k < f->nev; k++)
    n += f->ev[k].kind == kind && f->ev[k].at >= since &&
         (!subject || !strcmp(f->ev[k].subject, subject));
  return n;
}

/* Runs until ready(arg) or the deadline (world time); 0 if ready. */
static inline int sf_run_until(sf *f, int (*ready)(void *), void *arg, uint64_t deadline) {
  return akt_sim_run_until(f->w, ready, arg, deadline);
}

/* The phase of node i's cluster. */
static inline akt_cluster_phase sf_phase(sf *f, unsigned i) {
  return f->node[i].sys ? akt_cluster_get_phase(f->node[i].sys) : AKT_CLUSTER_IDLE;
}

/* Prints the events (for a failing test). */
static inline void sf_dump(sf *f) {
  for (size_t k = 0; k < f->nev; k++) {
    const sf_event *e = &f->ev[k];
    fprintf(stderr, "%10.3fs node%u %-18s %s#%llx %s/%s\n", (double)e->at / 1e9, e->node,
            akt_cluster_event_name(e->kind), e->subject, (unsigned long long)e->incarnation,
            akt_member_status_name(e->status), akt_member_reach_name(e->reach));
  }
}

#endif
