/* Winning sets: which sets of a configuration's members decide a slot of
 * the cluster-actor log and grant a lease. Everything the layer promises
 * rests on one property — two winning sets of one configuration share a
 * member — checked here over every pair of subsets of configurations of
 * one to seven members, for every downing strategy; and on the rule
 * following the downing strategy, so the side membership keeps is the
 * side that can move the configuration on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "akt/cluster.h"
#include "src/cluster/actors.h"

#define N_MAX 7

typedef struct cfg_fixture {
  akt__ca_member m[N_MAX];
  char host[N_MAX][16];
  akt__ca_config c;
} cfg_fixture;

/* A configuration of n members; member i has gossip address
 * node<order[i]> (so the lowest address is the one with order 0) and age
 * ages[i] (NULL: i + 1). */
static void make(cfg_fixture *f, size_t n, const unsigned *order, const uint64_t *ages) {
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < n; i++) {
    snprintf(f->host[i], sizeof f->host[i], "10.0.0.%u", order ? order[i] + 1 : (unsigned)i + 1);
    f->m[i].host = f->host[i];
    f->m[i].port = 7946;
    f->m[i].age = ages ? ages[i] : i + 1;
  }
  f->c.m = f->m;
  f->c.n = n;
}

static akt__ca_bits bits_of(unsigned mask) {
  akt__ca_bits b;
  memset(&b, 0, sizeof b);
  for (size_t i = 0; i < N_MAX; i++)
    if (mask & (1u << i)) akt__ca_bit_set(&b, i);
  return b;
}

static int wins(const akt_cluster_options *co, const akt__ca_config *c, unsigned mask) {
  akt__ca_bits b = bits_of(mask);
  return akt__ca_winning(co, c, &b);
}

/* Every two winning sets of every configuration of 1..N_MAX members share
 * a member, and the whole configuration wins. */
static void check_intersection(const akt_cluster_options *co) {
  for (size_t n = 1; n <= N_MAX; n++) {
    cfg_fixture f;
    make(&f, n, NULL, NULL);
    unsigned all = (1u << n) - 1;
    assert_true(wins(co, &f.c, all));
    for (unsigned a = 1; a <= all; a++) {
      if (!wins(co, &f.c, a)) continue;
      for (unsigned b = 1; b <= all; b++)
        if ((a & b) == 0 && wins(co, &f.c, b))
          fail_msg("downing %d, %zu members: disjoint winning sets %#x and %#x", (int)co->downing,
                   n, a, b);
    }
  }
}

static void any_two_winning_sets_share_a_member_under_every_strategy(void **state) {
  (void)state;
  akt_cluster_options co;
  memset(&co, 0, sizeof co);
  co.downing = AKT_DOWNING_KEEP_MAJORITY;
  check_intersection(&co);
  co.downing = AKT_DOWNING_OFF;
  check_intersection(&co);
  co.downing = AKT_DOWNING_DOWN_ALL;
  check_intersection(&co);
  co.downing = AKT_DOWNING_KEEP_OLDEST;
  check_intersection(&co);
  co.keep_oldest_alone = 1;
  check_intersection(&co);
  co.keep_oldest_alone = 0;
  co.downing = AKT_DOWNING_STATIC_QUORUM;
  /* Even a quorum at or below half (which membership warns about) gives
   * intersecting winning sets here: never less than a majority. */
  for (unsigned q = 1; q <= N_MAX + 1; q++) {
    co.quorum = q;
    check_intersection(&co);
  }
}

static void under_keep_majority_the_half_with_the_lowest_address_wins_a_tie(void **state) {
  (void)state;
  akt_cluster_options co;
  memset(&co, 0, sizeof co);
  co.downing = AKT_DOWNING_KEEP_MAJORITY;
  /* Member 2 has the lowest address. */
  const unsigned order[4] = {3, 1, 0, 2};
  cfg_fixture f;
  make(&f, 4, order, NULL);
  assert_true(wins(&co, &f.c, 0x4 | 0x1));  /* {2, 0} holds it */
  assert_false(wins(&co, &f.c, 0x2 | 0x8)); /* {1, 3} does not */
  assert_true(wins(&co, &f.c, 0x7));        /* three of four */
  assert_false(wins(&co, &f.c, 0x4));       /* one of four, even the lowest */
}

static void under_keep_oldest_the_oldest_needs_company_unless_it_may_stay_alone(void **state) {
  (void)state;
  akt_cluster_options co;
  memset(&co, 0, sizeof co);
  co.downing = AKT_DOWNING_KEEP_OLDEST;
  const uint64_t ages[5] = {4, 2, 1, 5, 3}; /* member 2 is the oldest */
  cfg_fixture f;
  make(&f, 5, NULL, ages);
  assert_true(wins(&co, &f.c, 0x4 | 0x10)); /* the oldest and one more */
  assert_false(wins(&co, &f.c, 0x4));       /* the oldest alone */
  assert_true(wins(&co, &f.c, 0x1b));       /* everyone but the oldest */
  assert_false(wins(&co, &f.c, 0x1a));      /* a majority without the oldest */
  co.keep_oldest_alone = 1;
  assert_true(wins(&co, &f.c, 0x4));
  assert_false(wins(&co, &f.c, 0x1b));
}

static void under_static_quorum_a_side_needs_the_quorum_and_a_majority(void **state) {
  (void)state;
  akt_cluster_options co;
  memset(&co, 0, sizeof co);
  co.downing = AKT_DOWNING_STATIC_QUORUM;
  co.quorum = 4;
  cfg_fixture f;
  make(&f, 5, NULL, NULL);
  assert_true(wins(&co, &f.c, 0x0f));
  assert_false(wins(&co, &f.c, 0x07)); /* a majority below the quorum */
  /* A configuration still growing toward the quorum needs all of it. */
  make(&f, 3, NULL, NULL);
  assert_false(wins(&co, &f.c, 0x3));
  assert_true(wins(&co, &f.c, 0x7));
  /* One grown past 2 * quorum - 1 falls back to a majority. */
  make(&f, 7, NULL, NULL);
  assert_false(wins(&co, &f.c, 0x07)); /* 3 of 7 */
  assert_true(wins(&co, &f.c, 0x0f));         /* 4 of 7 */
}

static void under_down_all_every_member_must_take_part(void **state) {
  (void)state;
  akt_cluster_options co;
  memset(&co, 0, sizeof co);
  co.downing = AKT_DOWNING_DOWN_ALL;
  cfg_fixture f;
  make(&f, 4, NULL, NULL);
  assert_false(wins(&co, &f.c, 0x7));
  assert_true(wins(&co, &f.c, 0xf));
}

static void a_configuration_of_one_is_won_by_its_member(void **state) {
  (void)state;
  akt_cluster_options co;
  memset(&co, 0, sizeof co);
  cfg_fixture f;
  make(&f, 1, NULL, NULL);
  for (int d = AKT_DOWNING_KEEP_MAJORITY; d <= AKT_DOWNING_OFF; d++) {
    co.downing = (akt_downing)d;
    assert_true(wins(&co, &f.c, 0x1));
    assert_false(wins(&co, &f.c, 0x0));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(any_two_winning_sets_share_a_member_under_every_strategy),
      cmocka_unit_test(under_keep_majority_the_half_with_the_lowest_address_wins_a_tie),
      cmocka_unit_test(under_keep_oldest_the_oldest_needs_company_unless_it_may_stay_alone),
      cmocka_unit_test(under_static_quorum_a_side_needs_the_quorum_and_a_majority),
      cmocka_unit_test(under_down_all_every_member_must_take_part),
      cmocka_unit_test(a_configuration_of_one_is_won_by_its_member),
  };
  return cmocka_run_group_tests_name("cluster-actors-winning", tests, NULL, NULL);
}
