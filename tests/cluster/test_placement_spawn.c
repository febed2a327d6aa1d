/* Placement (src/cluster/placement.h): the SpawnOn choices — the key's
 * owner, the local member, round robin, at random, the least loaded — and
 * the oldest member for singletons, among the up members with the roles.
 */
#include "akt/error.h"
#include "placement_fixture.h"
#include "src/cluster/placement.h"

/* ---- SpawnOn ------------------------------------------------------------ */

static uint64_t counting_random(void *arg) {
  akt__rng *r = arg;
  return akt__rng_next(r);
}

static void spawn_on_owner_follows_the_table_of_the_same_view(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  m[0].roles = NEED_WEB;
  m[1].roles = NEED_WEB;
  akt__partition_table *web, *all;
  assert_int_equal(akt__partition_table_build(NULL, m, 5, &NEED_WEB, &web), 0);
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &all), 0);
  char key[16];
  for (int k = 0; k < 50; k++) {
    int len = snprintf(key, sizeof key, "cart-%d", k);
    size_t chosen;
    akt__placement_request req = {.on = AKT_SPAWN_ON_OWNER,
                                  .need = &NEED_WEB,
                                  .key = key,
                                  .key_len = (size_t)len,
                                  .table = web};
    assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
    assert_true(chosen <= 1);
    assert_string_equal(m[chosen].id, akt__partition_table_owner_of(web, key, (size_t)len));
    req = (akt__placement_request){
        .on = AKT_SPAWN_ON_OWNER, .key = key, .key_len = (size_t)len, .table = all};
    assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
    assert_string_equal(m[chosen].id, akt__partition_table_owner_of(all, key, (size_t)len));
  }
  size_t chosen;
  akt__placement_request req = {
      .on = AKT_SPAWN_ON_OWNER, .need = &NEED_WEB, .key = "k", .key_len = 1, .table = all};
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL); /* other roles */
  req.table = NULL;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL);
  req.table = web;
  req.key = NULL;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL);
  req.key = "k";
  m[1].up = 0; /* the view moved on: the table is stale */
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_ESTATE);
  m[0].up = 0;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_ENOENT);
  akt__partition_table_release(web);
  akt__partition_table_release(all);
}

static void spawn_on_local_needs_the_local_member_to_qualify(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  m[2].roles = NEED_DB;
  size_t chosen;
  akt__placement_request req = {.on = AKT_SPAWN_ON_LOCAL, .local_id = FIVE[2]};
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
  assert_int_equal(chosen, 2);
  req.need = &NEED_DB;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
  assert_int_equal(chosen, 2);
  req.local_id = FIVE[3]; /* up, but without the role */
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_ENOENT);
  req.need = NULL;
  m[3].up = 0;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_ENOENT);
  req.local_id = "stranger@1.2.3.4:5#1";
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_ENOENT);
  req.local_id = NULL;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL);
}

static void spawn_round_robin_cycles_through_candidates_in_id_order(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  /* Stored in reverse: the order of the array must not matter. */
  for (int i = 0; i < 5; i++) m[i].id = FIVE[4 - i];
  m[1].up = 0; /* FIVE[3] */
  uint64_t cursor = 0;
  akt__placement_request req = {.on = AKT_SPAWN_ON_ROUND_ROBIN, .cursor = &cursor};
  static const char *const want[] = {"a@10.0.0.1:7946#1", "b@10.0.0.2:7946#1", "c@10.0.0.3:7946#2",
                                     "e@10.0.0.5:7946#9"};
  for (int k = 0; k < 10; k++) {
    size_t chosen;
    assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
    assert_string_equal(m[chosen].id, want[k % 4]);
  }
  assert_int_equal(cursor, 10);
  m[0].roles = NEED_DB; /* e */
  req.need = &NEED_DB;
  size_t chosen;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
  assert_string_equal(m[chosen].id, FIVE[4]);
  assert_int_equal(cursor, 11);
  req.need = &NEED_WEB;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_ENOENT);
  assert_int_equal(cursor, 11); /* a failed choice does not advance */
  req.cursor = NULL;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL);
}

static void spawn_at_random_draws_uniformly_from_the_given_source(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  m[4].up = 0;
  akt__rng a, b;
  akt__rng_seed(&a, 77);
  akt__rng_seed(&b, 77);
  akt__placement_request ra = {
      .on = AKT_SPAWN_ON_RANDOM, .random = counting_random, .random_arg = &a};
  akt__placement_request rb = ra;
  rb.random_arg = &b;
  unsigned count[5] = {0};
  for (int k = 0; k < 4000; k++) {
    size_t x, y;
    assert_int_equal(akt__placement_choose(m, 5, &ra, &x), 0);
    assert_int_equal(akt__placement_choose(m, 5, &rb, &y), 0);
    assert_int_equal(x, y); /* the same source gives the same choices */
    count[x]++;
  }
  assert_int_equal(count[4], 0);
  for (int i = 0; i < 4; i++) assert_true(count[i] > 850 && count[i] < 1150);
  ra.random = NULL;
  size_t x;
  assert_int_equal(akt__placement_choose(m, 5, &ra, &x), AKT_EINVAL);
}

static void spawn_on_the_least_loaded_spreads_ties_by_name(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  uint64_t loads[5] = {7, 3, 9, 3, 3};
  m[4].up = 0; /* the lightest of all, but down */
  akt__placement_request req = {.on = AKT_SPAWN_ON_LEAST_LOADED, .loads = loads};
  size_t chosen;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
  assert_int_equal(chosen, 1); /* no key: the smallest id among equals */
  unsigned picked[5] = {0};
  char key[16];
  for (int k = 0; k < 300; k++) {
    int len = snprintf(key, sizeof key, "job-%d", k);
    req.key = key;
    req.key_len = (size_t)len;
    assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
    size_t again;
    assert_int_equal(akt__placement_choose(m, 5, &req, &again), 0);
    assert_int_equal(chosen, again);
    picked[chosen]++;
  }
  assert_true(picked[1] > 100 && picked[3] > 100);
  assert_int_equal(picked[0] + picked[2] + picked[4], 0);
  req.need = &NEED_WEB;
  m[2].roles = NEED_WEB;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), 0);
  assert_int_equal(chosen, 2); /* the only candidate, however loaded */
  req.loads = NULL;
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL);
  req = (akt__placement_request){.on = (akt_spawn_on)42};
  assert_int_equal(akt__placement_choose(m, 5, &req, &chosen), AKT_EINVAL);
}

static void the_oldest_candidate_hosts_singletons(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  m[0].age = 9;
  m[1].age = 4;
  m[2].age = 4;
  m[3].age = 2;
  m[4].age = 1;
  m[4].up = 0;
  size_t chosen;
  assert_int_equal(akt__placement_oldest(m, 5, NULL, &chosen), 0);
  assert_int_equal(chosen, 3);
  m[3].up = 0;
  assert_int_equal(akt__placement_oldest(m, 5, NULL, &chosen), 0);
  assert_int_equal(chosen, 1); /* equal ages: the smaller id */
  m[0].roles = NEED_DB;
  assert_int_equal(akt__placement_oldest(m, 5, &NEED_DB, &chosen), 0);
  assert_int_equal(chosen, 0);
  assert_int_equal(akt__placement_oldest(m, 5, &NEED_WEB, &chosen), AKT_ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spawn_on_owner_follows_the_table_of_the_same_view),
      cmocka_unit_test(spawn_on_local_needs_the_local_member_to_qualify),
      cmocka_unit_test(spawn_round_robin_cycles_through_candidates_in_id_order),
      cmocka_unit_test(spawn_at_random_draws_uniformly_from_the_given_source),
      cmocka_unit_test(spawn_on_the_least_loaded_spreads_ties_by_name),
      cmocka_unit_test(the_oldest_candidate_hosts_singletons),
  };
  return cmocka_run_group_tests_name("cluster/placement-spawn", tests, NULL, NULL);
}
