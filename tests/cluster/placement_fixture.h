/* The views the placement suites build tables from (test_placement.c,
 * test_placement_walks.c, test_placement_spawn.c): member lists the tests
 * own, with ids from a seeded generator, and five members with pinned ids.
 * The table is src/cluster/partition.h's. */
#ifndef AKT_TESTS_CLUSTER_PLACEMENT_FIXTURE_H
#define AKT_TESTS_CLUSTER_PLACEMENT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/cluster/partition.h"
#include "src/util/rng.h"

enum { WALK_MAX = 128, ID_LEN = 64 };

/* A view the tests own: ids and roles live here, and the seeded generator
 * its ids and the tests' other draws come from. */
typedef struct view {
  akt__rng rng;
  char ids[WALK_MAX][ID_LEN];
  akt__member m[WALK_MAX];
  size_t n;
  uint64_t next; /* the next member number: ids are never reused */
} view;

static const char *const ROLE_WEB[] = {"web"};
static const char *const ROLE_DB[] = {"db"};
static const char *const ROLE_WEB_DB[] = {"web", "db"};
static const akt__roles NEED_WEB = {ROLE_WEB, 1};
static const akt__roles NEED_DB = {ROLE_DB, 1};
static const akt__roles NEED_WEB_DB = {ROLE_WEB_DB, 2};

/* Adds an up member with a fresh id; returns its index. */
static inline size_t view_add(view *v) {
  assert_true(v->n < WALK_MAX);
  size_t i = v->n++;
  uint64_t r = akt__rng_next(&v->rng);
  snprintf(v->ids[i], ID_LEN, "node-%llu@10.%u.%u.%u:7946#%u", (unsigned long long)v->next,
           (unsigned)(r & 255), (unsigned)((r >> 8) & 255), (unsigned)((r >> 16) & 255),
           (unsigned)((r >> 24) & 7) + 1);
  v->m[i] = (akt__member){.id = v->ids[i], .up = 1, .age = v->next};
  v->next++;
  return i;
}

/* Removes member i: the last member takes its place. */
static inline void view_remove(view *v, size_t i) {
  assert_true(i < v->n);
  v->n--;
  if (i == v->n) return;
  memcpy(v->ids[i], v->ids[v->n], ID_LEN);
  v->m[i] = v->m[v->n];
  v->m[i].id = v->ids[i];
}

/* Makes the view n members with fresh ids (never the ones it had). */
static inline void view_fill(view *v, size_t n) {
  v->n = 0;
  while (v->n < n) view_add(v);
}

/* An empty view whose generator starts from `seed` (free it). */
static inline view *view_new(uint64_t seed) {
  view *v = calloc(1, sizeof *v);
  assert_non_null(v);
  akt__rng_seed(&v->rng, seed);
  return v;
}

/* The table of v's view (asserting that it builds); release it. */
static inline akt__partition_table *build(const akt__partition_config *cfg, const view *v,
                                          const akt__roles *need) {
  akt__partition_table *t = NULL;
  assert_int_equal(akt__partition_table_build(cfg, v->m, v->n, need, &t), 0);
  assert_non_null(t);
  return t;
}

/* Five members with pinned ids (the pinned table's view). */
static const char *const FIVE[] = {"a@10.0.0.1:7946#1", "b@10.0.0.2:7946#1", "c@10.0.0.3:7946#2",
                                   "d@10.0.0.4:7946#1", "e@10.0.0.5:7946#9"};

/* The five members of FIVE, in order: up, ages 0..4, no roles. */
static inline void five_members(akt__member *m) {
  for (int i = 0; i < 5; i++) m[i] = (akt__member){.id = FIVE[i], .up = 1, .age = (uint64_t)i};
}

#endif
