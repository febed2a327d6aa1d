/* What the discovery provider tests share: a simulated world, the answer
 * of one lookup, and a backend that holds name lookups back until the
 * test answers them (a slow or silent DNS server). */
#ifndef AKT_TESTS_CLUSTER_DISCOVERY_FIXTURE_H
#define AKT_TESTS_CLUSTER_DISCOVERY_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/discovery.h"
#include "akt/error.h"
#include "akt/sim.h"

#define DF_MAX_ADDRS AKT_DISCOVERY_MAX_ADDRS

/* The answer of one lookup. */
typedef struct df_answer {
  akt_sim_world *w;
  int calls;
  int status;
  size_t n;
  akt_addr addrs[DF_MAX_ADDRS];
  uint64_t at;
  int inside; /* set by the test while it is inside lookup */
} df_answer;

static void df_on_answer(int status, const akt_addr *addrs, size_t n, void *arg) {
  df_answer *a = arg;
  assert_false(a->inside); /* never from inside lookup */
  assert_true(status == 0 ? n >= 1 && n <= DF_MAX_ADDRS && addrs : n == 0);
  a->calls++;
  a->status = status;
  a->n = n;
  a->at = akt_sim_now(a->w);
  for (size_t i = 0; i < n; i++) a->addrs[i] = addrs[i];
}

/* Starts a lookup on b; returns lookup's code. */
static inline int df_lookup(akt_discovery *d, akt_backend *b, akt_sim_world *w, df_answer *a) {
  memset(a, 0, sizeof *a);
  a->w = w;
  a->inside = 1;
  int rc = d->ops->lookup(d, b, df_on_answer, a);
  a->inside = 0;
  return rc;
}

/* 1 if the answer holds host:port. */
static inline int df_has(const df_answer *a, const char *host, uint16_t port) {
  for (size_t i = 0; i < a->n; i++)
    if (a->addrs[i].port == port && !strcmp(a->addrs[i].host, host)) return 1;
  return 0;
}

static inline akt_sim_world *df_world(uint64_t seed) {
  const char *env = getenv("AKT_SEED");
  if (env) seed = strtoull(env, NULL, 0);
  akt_sim_options o = {.seed = seed, .trace_path = getenv("AKT_TRACE")};
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  return w;
}

static inline akt_backend *df_node(akt_sim_world *w, const char *name) {
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, name, &b), 0);
  return b;
}

/* ---- a backend that holds name lookups -------------------------------------------- */

#define DF_HELD_MAX 8

typedef struct df_held {
  akt_backend b;         /* what the provider is given: the node's, but for resolve */
  akt_backend_ops ops;
  akt_backend *real;
  const char *hold;      /* names whose lookups wait for df_held_answer; NULL: none */
  struct {
    akt_resolve_fn cb;
    void *data;
    char name[AKT_HOST_MAX];
  } q[DF_HELD_MAX];
  size_t nq;
} df_held;

static int df_held_resolve(akt_backend *b, const char *name, akt_resolve_fn cb, void *data) {
  df_held *h = (df_held *)b;
  if (h->hold && !strcmp(name, h->hold)) {
    assert_true(h->nq < DF_HELD_MAX);
    h->q[h->nq].cb = cb;
    h->q[h->nq].data = data;
    snprintf(h->q[h->nq].name, AKT_HOST_MAX, "%s", name);
    h->nq++;
    return 0;
  }
  return h->real->ops->resolve(h->real, name, cb, data);
}

/* Wraps node backend `real`; without_srv leaves resolve_srv out. */
static inline void df_held_init(df_held *h, akt_backend *real, const char *hold, int without_srv) {
  memset(h, 0, sizeof *h);
  h->real = real;
  h->ops = *real->ops;
  h->ops.resolve = df_held_resolve;
  if (without_srv) h->ops.resolve_srv = NULL;
  h->b.ops = &h->ops;
  h->b.impl = real->impl; /* the node's own operations find their node through it */
  h->b.flags = real->flags;
  h->hold = hold;
}

/* Answers every held lookup with `host` (NULL: AKT_ENOENT). */
static inline void df_held_answer(df_held *h, const char *host) {
  for (size_t i = 0; i < h->nq; i++) {
    akt_addr a = {.port = 0};
    if (host) snprintf(a.host, sizeof a.host, "%s", host);
    h->q[i].cb(host ? 0 : AKT_ENOENT, host ? &a : NULL, host ? 1 : 0, h->q[i].data);
  }
  h->nq = 0;
}

#endif
