/* Partitions (src/cluster/partition.h): keys to partitions, the partition
 * table as a function of the view, successors, the diff and the cache.
 * Movement and load over seeded joins and leaves are
 * test_placement_walks.c's; the SpawnOn choices, test_placement_spawn.c's.
 */
#include <xxhash.h>

#include "akt/error.h"
#include "placement_fixture.h"
#include "src/cluster/placement.h"

/* The owner's id of every partition must be equal. */
static void assert_same_owners(const akt__partition_table *a, const akt__partition_table *b) {
  assert_int_equal(akt__partition_table_partitions(a), akt__partition_table_partitions(b));
  for (uint32_t p = 0; p < akt__partition_table_partitions(a); p++)
    assert_string_equal(akt__partition_table_member_id(a, akt__partition_table_owner(a, p)),
                        akt__partition_table_member_id(b, akt__partition_table_owner(b, p)));
  assert_true(akt__partition_table_digest(a) == akt__partition_table_digest(b));
}

/* ---- keys to partitions ------------------------------------------------ */

/* Nodes built from different versions must agree, so the functions are
 * pinned: a change here is a change of the cluster's wire contract. */
static void keys_map_to_pinned_partitions(void **state) {
  (void)state;
  assert_int_equal(akt__partition_of("user-42", 7, 271), 85);
  assert_int_equal(akt__partition_of("", 0, 271), 47);
  assert_int_equal(akt__partition_of("grain/counter/7", 15, 271), 167);
  assert_int_equal(akt__partition_of("anything", 8, 1), 0);
}

static void keys_spread_evenly_over_the_partitions(void **state) {
  (void)state;
  enum { P = 271, KEYS = 271 * 200 };
  unsigned count[P] = {0};
  char key[32];
  for (int k = 0; k < KEYS; k++) {
    int len = snprintf(key, sizeof key, "actor-%d", k);
    uint32_t p = akt__partition_of(key, (size_t)len, P);
    assert_true(p < P);
    count[p]++;
  }
  /* 200 expected per partition; a binomial sd of about 14. */
  for (int p = 0; p < P; p++) assert_true(count[p] > 130 && count[p] < 270);
}

/* ---- the table as a function of the view ------------------------------- */

static uint64_t owners_hash(const akt__partition_table *t) {
  uint64_t h = 0;
  for (uint32_t p = 0; p < akt__partition_table_partitions(t); p++) {
    const char *o = akt__partition_table_member_id(t, akt__partition_table_owner(t, p));
    h = XXH3_64bits_withSeed(o, strlen(o), h);
  }
  return h;
}

static void a_pinned_view_gives_a_pinned_table(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  akt__partition_table *t;
  /* The table of Hazelcast's and GoAkt's count, then of the default. */
  akt__partition_config p271 = {.partitions = 271};
  assert_int_equal(akt__partition_table_build(&p271, m, 5, NULL, &t), 0);
  assert_int_equal(akt__partition_table_partitions(t), 271);
  assert_int_equal(akt__partition_table_cap(t), 67); /* floor(271 * 1.25 / 5) */
  assert_true(owners_hash(t) == UINT64_C(0x97c4bbc5aca1af0b));
  assert_true(akt__partition_table_digest(t) == UINT64_C(0xedf9e93d3d983a19));
  uint32_t loads[5] = {57, 60, 57, 47, 50};
  for (int i = 0; i < 5; i++) {
    assert_string_equal(akt__partition_table_member_id(t, (size_t)i), FIVE[i]);
    assert_int_equal(akt__partition_table_load(t, (size_t)i), loads[i]);
  }
  akt__partition_table_release(t);

  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), 0);
  assert_int_equal(akt__partition_table_partitions(t), AKT_PARTITIONS_DEFAULT);
  assert_int_equal(AKT_PARTITIONS_DEFAULT, 2053);
  assert_int_equal(akt__partition_table_cap(t), 513); /* floor(2053 * 1.25 / 5) */
  assert_true(owners_hash(t) == UINT64_C(0xb1577bba6ca0eb48));
  assert_true(akt__partition_table_digest(t) == UINT64_C(0x36912c2e4778c426));
  uint32_t default_loads[5] = {402, 428, 418, 393, 412};
  for (int i = 0; i < 5; i++)
    assert_int_equal(akt__partition_table_load(t, (size_t)i), default_loads[i]);
  akt__partition_table_release(t);
}

/* The pairs of the greedy matching, sorted as partition.h defines. */
typedef struct pair {
  uint64_t score;
  uint32_t m, p;
} pair;

static int pair_order(const void *a, const void *b) {
  const pair *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->m != y->m) return x->m < y->m ? -1 : 1;
  return (x->p > y->p) - (x->p < y->p);
}

static int by_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The definition, computed the slow way: sort every pair, take greedily. */
static void reference_owners(const view *v, uint32_t partitions, uint32_t load_pct,
                             const char **owner) {
  size_t n = v->n;
  const char *ids[WALK_MAX];
  for (size_t i = 0; i < n; i++) ids[i] = v->ids[i];
  qsort(ids, n, sizeof ids[0], by_str);
  uint32_t cap = (uint32_t)((uint64_t)partitions * load_pct / (100 * n));
  if ((uint64_t)cap * n < partitions) cap = (uint32_t)((partitions + n - 1) / n);
  pair *pairs = malloc(n * partitions * sizeof *pairs);
  uint32_t *load = calloc(n, sizeof *load);
  assert_non_null(pairs);
  assert_non_null(load);
  for (uint32_t m = 0; m < n; m++) {
    uint64_t h = XXH3_64bits(ids[m], strlen(ids[m]));
    for (uint32_t p = 0; p < partitions; p++)
      pairs[m * partitions + p] = (pair){akt__placement_mix64(h ^ akt__placement_mix64(p)), m, p};
  }
  qsort(pairs, n * partitions, sizeof *pairs, pair_order);
  for (uint32_t p = 0; p < partitions; p++) owner[p] = NULL;
  for (size_t i = 0; i < n * partitions; i++) {
    pair q = pairs[i];
    if (owner[q.p] || load[q.m] >= cap) continue;
    owner[q.p] = ids[q.m];
    load[q.m]++;
  }
  free(pairs);
  free(load);
}

static void the_table_is_the_greedy_matching_of_scored_pairs(void **state) {
  (void)state;
  static const uint32_t shapes[][3] = {
      /* partitions, load_pct, members */
      {271, 125, 1},  {271, 125, 2}, {271, 125, 7},   {271, 125, 64}, {271, 100, 13},
      {271, 100, 64}, {61, 150, 40}, {1021, 110, 33}, {5, 125, 9},    {271, 1000, 3}};
  view *v = view_new(16);
  const char **want = malloc(1021 * sizeof *want);
  assert_non_null(want);
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int round = 0; round < 3; round++) {
      view_fill(v, shapes[s][2]);
      akt__partition_config cfg = {.partitions = shapes[s][0], .load_pct = shapes[s][1]};
      akt__partition_table *t = build(&cfg, v, NULL);
      reference_owners(v, shapes[s][0], shapes[s][1], want);
      for (uint32_t p = 0; p < shapes[s][0]; p++)
        assert_string_equal(akt__partition_table_member_id(t, akt__partition_table_owner(t, p)),
                            want[p]);
      akt__partition_table_release(t);
    }
  }
  free(want);
  free(v);
}

static void every_partition_has_one_owner_within_the_load_bound(void **state) {
  (void)state;
  view *v = view_new(7);
  static const uint32_t pcts[] = {100, 110, 125, 200};
  for (size_t n = 1; n <= 100; n += (n < 10 ? 1 : 9)) {
    for (size_t k = 0; k < 4; k++) {
      view_fill(v, n);
      akt__partition_config cfg = {.partitions = 271, .load_pct = pcts[k]};
      akt__partition_table *t = build(&cfg, v, NULL);
      uint32_t cap = akt__partition_table_cap(t);
      /* The bound, and never below what fits all partitions. */
      assert_true(cap <= (uint64_t)271 * pcts[k] / (100 * n) || cap == (271 + n - 1) / n);
      assert_true((uint64_t)cap * n >= 271);
      uint32_t total = 0;
      for (size_t m = 0; m < n; m++) {
        assert_true(akt__partition_table_load(t, m) <= cap);
        total += akt__partition_table_load(t, m);
      }
      assert_int_equal(total, 271);
      uint32_t *seen = calloc(n, sizeof *seen);
      assert_non_null(seen);
      for (uint32_t p = 0; p < 271; p++) seen[akt__partition_table_owner(t, p)]++;
      for (size_t m = 0; m < n; m++) assert_int_equal(seen[m], akt__partition_table_load(t, m));
      free(seen);
      akt__partition_table_release(t);
    }
  }
  free(v);
}

static void the_table_is_the_same_whatever_the_order_of_the_view(void **state) {
  (void)state;
  view *v = view_new(3);
  view_fill(v, 40);
  v->m[5].up = 0; /* members that are not up may sit anywhere too */
  v->m[17].up = 0;
  akt__partition_table *first = build(NULL, v, NULL);
  assert_int_equal(akt__partition_table_members(first), 38);
  for (int round = 0; round < 20; round++) {
    akt__member shuffled[WALK_MAX];
    memcpy(shuffled, v->m, v->n * sizeof shuffled[0]);
    for (size_t i = v->n - 1; i > 0; i--) {
      size_t j = akt__rng_below(&v->rng, i + 1);
      akt__member tmp = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = tmp;
    }
    akt__partition_table *t;
    assert_int_equal(akt__partition_table_build(NULL, shuffled, v->n, NULL, &t), 0);
    assert_same_owners(first, t);
    akt__partition_table_release(t);
  }
  akt__partition_table_release(first);
  free(v);
}

static void members_down_or_without_the_role_own_nothing(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  m[0].roles = NEED_WEB;
  m[1].roles = NEED_WEB_DB;
  m[2].roles = NEED_DB;
  m[3].roles = NEED_WEB;
  m[3].up = 0;
  akt__partition_table *t;
  assert_int_equal(akt__partition_table_build(NULL, m, 5, &NEED_WEB, &t), 0);
  assert_int_equal(akt__partition_table_members(t), 2); /* a, b */
  assert_string_equal(akt__partition_table_member_id(t, 0), FIVE[0]);
  assert_string_equal(akt__partition_table_member_id(t, 1), FIVE[1]);
  assert_int_equal(akt__partition_table_find(t, FIVE[3]), -1);
  assert_true(akt__partition_table_for_roles(t, &NEED_WEB));
  assert_false(akt__partition_table_for_roles(t, &NEED_DB));
  assert_false(akt__partition_table_for_roles(t, NULL));
  akt__partition_table_release(t);

  /* Every role of a set is required; the set's order does not matter. */
  static const char *const db_web[] = {"db", "web"};
  akt__roles need_db_web = {db_web, 2};
  assert_int_equal(akt__partition_table_build(NULL, m, 5, &need_db_web, &t), 0);
  assert_int_equal(akt__partition_table_members(t), 1);
  assert_string_equal(akt__partition_table_member_id(t, 0), FIVE[1]);
  assert_true(akt__partition_table_for_roles(t, &NEED_WEB_DB));
  assert_int_equal(akt__partition_table_load(t, 0), AKT_PARTITIONS_DEFAULT);
  akt__partition_table_release(t);

  /* No requirement: every up member, roles or not. */
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), 0);
  assert_int_equal(akt__partition_table_members(t), 4);
  assert_true(akt__partition_table_for_roles(t, &(akt__roles){NULL, 0}));
  akt__partition_table_release(t);

  static const char *const none[] = {"gpu"};
  t = NULL;
  assert_int_equal(akt__partition_table_build(NULL, m, 5, &(akt__roles){none, 1}, &t), AKT_ENOENT);
  assert_null(t);
  assert_int_equal(akt__partition_table_build(NULL, m, 0, NULL, &t), AKT_ENOENT);
}

static void a_malformed_view_or_config_is_rejected(void **state) {
  (void)state;
  akt__member m[5];
  akt__partition_table *t = NULL;
  five_members(m);
  m[3].id = FIVE[1]; /* two members with one id, even if one is down */
  m[3].up = 0;
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  five_members(m);
  m[2].id = "";
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  m[2].id = NULL;
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  char long_id[AKT__MEMBER_ID_MAX + 2];
  memset(long_id, 'x', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  m[2].id = long_id;
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  long_id[AKT__MEMBER_ID_MAX] = '\0'; /* exactly the limit is fine */
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), 0);
  akt__partition_table_release(t);
  t = NULL;

  five_members(m);
  static const char *const twice[] = {"web", "web"};
  m[1].roles = (akt__roles){twice, 2};
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  static const char *const empty[] = {""};
  m[1].roles = (akt__roles){empty, 1};
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  m[1].roles = (akt__roles){NULL, 1};
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  m[1].roles = (akt__roles){ROLE_WEB, AKT__ROLES_MAX + 1};
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, &t), AKT_EINVAL);
  m[1].roles = (akt__roles){NULL, 0};
  assert_int_equal(akt__partition_table_build(NULL, m, 5, &(akt__roles){twice, 2}, &t), AKT_EINVAL);

  static const akt__partition_config bad[] = {{.partitions = AKT__PARTITIONS_MAX + 1},
                                              {.load_pct = 99},
                                              {.load_pct = AKT__PARTITION_LOAD_PCT_MAX + 1},
                                              {.successors = AKT__PARTITION_SUCCESSORS_MAX + 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(akt__partition_table_build(&bad[i], m, 5, NULL, &t), AKT_EINVAL);
  assert_int_equal(akt__partition_table_build(NULL, NULL, 5, NULL, &t), AKT_EINVAL);
  assert_int_equal(akt__partition_table_build(NULL, m, 5, NULL, NULL), AKT_EINVAL);
  assert_int_equal(akt__partition_table_build(NULL, m, AKT__PLACEMENT_MEMBERS_MAX + 1, NULL, &t),
                   AKT_ELIMIT);
  assert_null(t);
}

static void member_ids_carry_name_address_and_incarnation(void **state) {
  (void)state;
  char buf[AKT__MEMBER_ID_MAX + 1];
  assert_int_equal(akt__member_id_format(buf, sizeof buf, "node-a", "10.0.0.7:3322", 5), 0);
  assert_string_equal(buf, "node-a@10.0.0.7:3322#5");
  char small[8];
  assert_int_equal(akt__member_id_format(small, sizeof small, "node-a", "10.0.0.7:3322", 5),
                   AKT_ELIMIT);
  assert_int_equal(akt__member_id_format(buf, sizeof buf, "", "10.0.0.7:3322", 5), AKT_EINVAL);
  assert_int_equal(akt__member_id_format(buf, sizeof buf, "n", NULL, 5), AKT_EINVAL);
  char name[AKT__MEMBER_ID_MAX];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  char big[2 * AKT__MEMBER_ID_MAX];
  assert_int_equal(akt__member_id_format(big, sizeof big, name, "h:1", 1), AKT_ELIMIT);
}

/* ---- successors --------------------------------------------------------- */

static void successors_follow_the_owner_in_score_order(void **state) {
  (void)state;
  view *v = view_new(5);
  view_fill(v, 9);
  akt__partition_config cfg = {.successors = 3, .load_pct = 1000};
  akt__partition_table *t = build(&cfg, v, NULL);
  assert_int_equal(akt__partition_table_successors(t), 3);
  for (uint32_t p = 0; p < 271; p++) {
    size_t owner = akt__partition_table_owner(t, p);
    /* With the bound out of the way the owner ranks first, and each
     * successor is where the partition goes when the ones before it leave. */
    akt__member rest[WALK_MAX];
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
      if (strcmp(v->ids[i], akt__partition_table_member_id(t, owner)) != 0) rest[n++] = v->m[i];
    for (uint32_t k = 0; k < 3; k++) {
      size_t succ = akt__partition_table_successor(t, p, k);
      assert_true(succ != owner);
      akt__partition_table *without;
      assert_int_equal(akt__partition_table_build(&cfg, rest, n, NULL, &without), 0);
      assert_string_equal(
          akt__partition_table_member_id(without, akt__partition_table_owner(without, p)),
          akt__partition_table_member_id(t, succ));
      akt__partition_table_release(without);
      /* Remove the successor too, for the next one. */
      for (size_t i = 0; i < n; i++)
        if (strcmp(rest[i].id, akt__partition_table_member_id(t, succ)) == 0) {
          rest[i] = rest[--n];
          break;
        }
    }
    if (p == 20) break; /* enough partitions: each check builds three tables */
  }
  akt__partition_table_release(t);

  /* Never more successors than other members. */
  view_fill(v, 2);
  t = build(&cfg, v, NULL);
  assert_int_equal(akt__partition_table_successors(t), 1);
  assert_true(akt__partition_table_successor(t, 0, 0) != akt__partition_table_owner(t, 0));
  akt__partition_table_release(t);
  view_fill(v, 1);
  t = build(&cfg, v, NULL);
  assert_int_equal(akt__partition_table_successors(t), 0);
  akt__partition_table_release(t);
  free(v);
}

/* ---- diff --------------------------------------------------------------- */

static void a_diff_lists_exactly_the_changed_owners_in_batches(void **state) {
  (void)state;
  view *v = view_new(21);
  view_fill(v, 12);
  akt__partition_table *before = build(NULL, v, NULL);
  view_add(v);
  view_remove(v, 3);
  akt__partition_table *after = build(NULL, v, NULL);

  size_t count;
  assert_int_equal(akt__partition_diff(before, after, NULL, 0, &count), AKT_ELIMIT);
  assert_true(count > 0);
  akt__partition_move *moves = calloc(count, sizeof *moves);
  assert_non_null(moves);
  size_t short_count;
  assert_int_equal(akt__partition_diff(before, after, moves, count - 1, &short_count), AKT_ELIMIT);
  assert_int_equal(short_count, count);
  assert_int_equal(akt__partition_diff(before, after, moves, count, &count), 0);

  char moved[AKT_PARTITIONS_DEFAULT] = {0};
  for (size_t k = 0; k < count; k++) {
    uint32_t p = moves[k].partition;
    assert_false(moved[p]);
    moved[p] = 1;
    assert_string_equal(moves[k].from, akt__partition_table_member_id(
                                           before, akt__partition_table_owner(before, p)));
    assert_string_equal(
        moves[k].to, akt__partition_table_member_id(after, akt__partition_table_owner(after, p)));
    assert_string_not_equal(moves[k].from, moves[k].to);
    if (k > 0) { /* sorted by (from, to, partition): batches are adjacent */
      int c = strcmp(moves[k - 1].from, moves[k].from);
      if (c == 0) c = strcmp(moves[k - 1].to, moves[k].to);
      assert_true(c < 0 || (c == 0 && moves[k - 1].partition < p));
    }
  }
  for (uint32_t p = 0; p < AKT_PARTITIONS_DEFAULT; p++)
    if (!moved[p])
      assert_string_equal(
          akt__partition_table_member_id(before, akt__partition_table_owner(before, p)),
          akt__partition_table_member_id(after, akt__partition_table_owner(after, p)));
  free(moves);

  /* The same table: nothing moves. From nothing: everything, from NULL. */
  assert_int_equal(akt__partition_diff(after, after, NULL, 0, &count), 0);
  assert_int_equal(count, 0);
  akt__partition_move all[AKT_PARTITIONS_DEFAULT];
  assert_int_equal(akt__partition_diff(NULL, after, all, AKT_PARTITIONS_DEFAULT, &count), 0);
  assert_int_equal(count, AKT_PARTITIONS_DEFAULT);
  for (size_t k = 0; k < count; k++) assert_null(all[k].from);

  akt__partition_config other = {.partitions = 61};
  akt__partition_table *small = build(&other, v, NULL);
  assert_int_equal(akt__partition_diff(before, small, all, AKT_PARTITIONS_DEFAULT, &count), AKT_EINVAL);
  assert_int_equal(akt__partition_diff(before, NULL, all, AKT_PARTITIONS_DEFAULT, &count), AKT_EINVAL);
  assert_int_equal(akt__partition_diff(before, after, NULL, 3, &count), AKT_EINVAL);
  akt__partition_table_release(small);
  akt__partition_table_release(before);
  akt__partition_table_release(after);
  free(v);
}

/* ---- the cache ---------------------------------------------------------- */

static void the_cache_shares_a_table_per_view_and_requirement(void **state) {
  (void)state;
  akt__member m[5];
  five_members(m);
  m[0].roles = NEED_WEB;
  m[1].roles = NEED_WEB_DB;
  m[2].roles = NEED_DB;
  akt__partition_cache c;
  assert_int_equal(akt__partition_cache_init(&c, NULL), 0);
  akt__partition_table *a, *b, *web, *web2;
  assert_int_equal(akt__partition_cache_get(&c, m, 5, NULL, &a), 0);
  assert_int_equal(akt__partition_cache_get(&c, m, 5, &(akt__roles){NULL, 0}, &b), 0);
  assert_ptr_equal(a, b); /* no requirement and the empty one are one */
  assert_int_equal(akt__partition_cache_get(&c, m, 5, &NEED_WEB, &web), 0);
  assert_ptr_not_equal(a, web);
  /* A change outside the candidates (a db-only member goes down) keeps the
   * web table; the requirement's order does not matter. */
  m[2].up = 0;
  assert_int_equal(akt__partition_cache_get(&c, m, 5, &NEED_WEB, &web2), 0);
  assert_ptr_equal(web, web2);
  akt__partition_table_release(web2);
  static const char *const db_web[] = {"db", "web"};
  assert_int_equal(akt__partition_cache_get(&c, m, 5, &(akt__roles){db_web, 2}, &web2), 0);
  akt__partition_table *web_db;
  assert_int_equal(akt__partition_cache_get(&c, m, 5, &NEED_WEB_DB, &web_db), 0);
  assert_ptr_equal(web2, web_db);
  akt__partition_table_release(web2);
  akt__partition_table_release(web_db);
  assert_int_equal(c.hits, 3);
  assert_int_equal(c.misses, 2 + 1);
  /* A change among the candidates computes a new table. */
  akt__partition_table *a2;
  assert_int_equal(akt__partition_cache_get(&c, m, 5, NULL, &a2), 0);
  assert_ptr_not_equal(a, a2);
  akt__partition_table_release(a2);
  akt__partition_table_release(b);
  akt__partition_cache_clear(&c);
  /* Tables handed out outlive the cache's references. */
  assert_int_equal(akt__partition_table_members(a), 5);
  assert_int_equal(akt__partition_table_members(web), 2);
  akt__partition_table_release(a);
  akt__partition_table_release(web);
}

static void the_cache_evicts_the_least_recently_used_table(void **state) {
  (void)state;
  view *v = view_new(9);
  akt__partition_cache c;
  akt__partition_config cfg = {.partitions = 61};
  assert_int_equal(akt__partition_cache_init(&c, &cfg), 0);
  akt__partition_table *first, *t;
  view_fill(v, 3);
  assert_int_equal(akt__partition_cache_get(&c, v->m, v->n, NULL, &first), 0);
  assert_int_equal(akt__partition_table_partitions(first), 61);
  /* Fill every other slot with the views of later joins, using the first
   * table again in between so that it stays recent. */
  for (int i = 0; i < AKT__PARTITION_CACHE_TABLES; i++) {
    view_add(v);
    assert_int_equal(akt__partition_cache_get(&c, v->m, v->n, NULL, &t), 0);
    akt__partition_table_release(t);
    view v3 = *v;
    v3.n = 3;
    for (size_t k = 0; k < 3; k++) v3.m[k].id = v3.ids[k];
    assert_int_equal(akt__partition_cache_get(&c, v3.m, 3, NULL, &t), 0);
    assert_ptr_equal(t, first);
    akt__partition_table_release(t);
  }
  assert_int_equal(c.misses, 1 + AKT__PARTITION_CACHE_TABLES);
  assert_int_equal(c.evictions, 1); /* one of the join views, never the first */
  assert_int_equal(c.hits, AKT__PARTITION_CACHE_TABLES);
  akt__partition_cache_clear(&c);
  akt__partition_table_release(first);
  assert_int_equal(akt__partition_cache_init(&c, &(akt__partition_config){.load_pct = 50}),
                   AKT_EINVAL);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keys_map_to_pinned_partitions),
      cmocka_unit_test(keys_spread_evenly_over_the_partitions),
      cmocka_unit_test(a_pinned_view_gives_a_pinned_table),
      cmocka_unit_test(the_table_is_the_greedy_matching_of_scored_pairs),
      cmocka_unit_test(every_partition_has_one_owner_within_the_load_bound),
      cmocka_unit_test(the_table_is_the_same_whatever_the_order_of_the_view),
      cmocka_unit_test(members_down_or_without_the_role_own_nothing),
      cmocka_unit_test(a_malformed_view_or_config_is_rejected),
      cmocka_unit_test(member_ids_carry_name_address_and_incarnation),
      cmocka_unit_test(successors_follow_the_owner_in_score_order),
      cmocka_unit_test(a_diff_lists_exactly_the_changed_owners_in_batches),
      cmocka_unit_test(the_cache_shares_a_table_per_view_and_requirement),
      cmocka_unit_test(the_cache_evicts_the_least_recently_used_table),
  };
  return cmocka_run_group_tests_name("cluster/placement", tests, NULL, NULL);
}
