/* Movement and load of the partition table (src/cluster/partition.h) over
 * seeded walks of joins and leaves: what a join or leave moves, against
 * what had to move and against the 1/N minimum, and the largest load.
 *
 * `test_cluster_placement_walks --report [PARTITIONS...]` prints the
 * movement and load measured over the seeded walks instead of running the
 * suite (docs/cluster.md, "Placement", quotes it).
 */
#include "akt/error.h"
#include "placement_fixture.h"

/* ---- movement and load over seeded walks ------------------------------ */

typedef struct walk_stats {
  size_t events;
  double move_sum, move_max; /* moved / (P / N), N the larger member count */
  double need_sum, need_max; /* moved / what had to move (leaver's or joiner's load) */
  double load_max;           /* largest load / (P / N) */
  double *moves;             /* every event's moved / (P / N), for percentiles */
} walk_stats;

/* Runs `events` random joins and leaves (even odds, within [lo, hi]
 * members) from a random view, and adds what each moved to *s. */
static void walk(const akt__partition_config *cfg, uint32_t lo, uint32_t hi, size_t events,
                 uint64_t seed, walk_stats *s) {
  uint32_t partitions = cfg->partitions;
  view *v = view_new(seed);
  view_fill(v, lo + akt__rng_below(&v->rng, hi - lo + 1));
  akt__partition_table *before = build(cfg, v, NULL);
  s->moves = realloc(s->moves, (s->events + events) * sizeof *s->moves);
  assert_non_null(s->moves);
  for (size_t e = 0; e < events; e++) {
    int join = v->n < hi && (v->n == lo || akt__rng_below(&v->rng, 2) == 0);
    char left[ID_LEN] = "";
    size_t bigger;
    if (join) {
      view_add(v);
      bigger = v->n;
    } else {
      size_t i = akt__rng_below(&v->rng, v->n);
      memcpy(left, v->ids[i], ID_LEN);
      view_remove(v, i);
      bigger = v->n + 1;
    }
    akt__partition_table *after = build(cfg, v, NULL);
    size_t moved;
    int rc = akt__partition_diff(before, after, NULL, 0, &moved);
    assert_true(rc == 0 || rc == AKT_ELIMIT);
    /* What had to move: the leaver's partitions, or the joiner's. */
    long who = join ? akt__partition_table_find(after, v->ids[v->n - 1])
                    : akt__partition_table_find(before, left);
    assert_true(who >= 0);
    uint32_t need = akt__partition_table_load(join ? after : before, (size_t)who);
    assert_true(moved >= need);
    double ideal = (double)partitions / (double)bigger;
    double r = (double)moved / ideal;
    s->moves[s->events++] = r;
    s->move_sum += r;
    if (r > s->move_max) s->move_max = r;
    double rn = need ? (double)moved / need : 1.0;
    s->need_sum += rn;
    if (rn > s->need_max) s->need_max = rn;
    for (size_t m = 0; m < akt__partition_table_members(after); m++) {
      double l = akt__partition_table_load(after, m) / ((double)partitions / (double)v->n);
      if (l > s->load_max) s->load_max = l;
    }
    akt__partition_table_release(before);
    before = after;
  }
  akt__partition_table_release(before);
  free(v);
}

static int by_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(walk_stats *s, double q) {
  qsort(s->moves, s->events, sizeof *s->moves, by_double);
  size_t i = (size_t)(q * (double)(s->events - 1));
  return s->moves[i];
}

/* The walks the suite and the report run: member-count bands, seeds. */
typedef struct band {
  uint32_t lo, hi;
} band;
static const band BANDS[] = {{2, 8}, {8, 16}, {16, 32}, {32, 64}, {2, 64}, {64, 128}};
enum { NBANDS = sizeof BANDS / sizeof BANDS[0] };

static void measure(const akt__partition_config *cfg, band b, size_t walks, size_t events,
                    walk_stats *s) {
  memset(s, 0, sizeof *s);
  for (size_t w = 0; w < walks; w++)
    walk(cfg, b.lo, b.hi, events, 1000 * cfg->partitions + 100 * b.lo + b.hi + w, s);
}

/* `--report [--load PCT] [PARTITIONS...]`: the table docs/cluster.md
 * ("Placement") quotes. */
static int report(int argc, char **argv) {
  uint32_t load_pct = AKT_PARTITION_LOAD_PCT_DEFAULT;
  if (argc >= 2 && strcmp(argv[0], "--load") == 0) {
    load_pct = (uint32_t)strtoul(argv[1], NULL, 10);
    argc -= 2;
    argv += 2;
  }
  printf("load bound %u%%\n", load_pct);
  printf(
      "partitions  members  events  moved/(P/N): mean    p99    max   "
      "moved/needed: mean    max   max load/avg\n");
  for (int a = 0; a < argc || a == 0; a++) {
    akt__partition_config cfg = {
        .partitions = argc ? (uint32_t)strtoul(argv[a], NULL, 10) : AKT_PARTITIONS_DEFAULT,
        .load_pct = load_pct};
    for (size_t i = 0; i < NBANDS; i++) {
      walk_stats s;
      measure(&cfg, BANDS[i], 10, 400, &s);
      printf("%10u  %3u..%-3u  %6zu  %17.3f %6.3f %6.3f  %18.3f %6.3f  %12.3f\n", cfg.partitions,
             BANDS[i].lo, BANDS[i].hi, s.events, s.move_sum / s.events, percentile(&s, 0.99),
             s.move_max, s.need_sum / s.events, s.need_max, s.load_max);
      free(s.moves);
    }
  }
  return 0;
}

/* ---- the suite's walks --------------------------------------------------- */

/* Without a binding load bound the table is plain rendezvous hashing: a
 * leave moves exactly the leaver's partitions, a join exactly the
 * joiner's. The bound is what costs more. */
static void without_a_binding_bound_only_the_leaver_or_joiner_moves(void **state) {
  (void)state;
  view *v = view_new(11);
  /* 10 * 271 / n >= 271 for n <= 10: the cap never binds. */
  akt__partition_config cfg = {.partitions = 271, .load_pct = 1000};
  view_fill(v, 6);
  akt__partition_table *before = build(&cfg, v, NULL);
  for (int e = 0; e < 200; e++) {
    int join = v->n < 10 && (v->n == 2 || akt__rng_below(&v->rng, 2));
    char who[ID_LEN];
    if (join) {
      memcpy(who, v->ids[view_add(v)], ID_LEN);
    } else {
      size_t i = akt__rng_below(&v->rng, v->n);
      memcpy(who, v->ids[i], ID_LEN);
      view_remove(v, i);
    }
    akt__partition_table *after = build(&cfg, v, NULL);
    akt__partition_move moves[271];
    size_t count;
    assert_int_equal(akt__partition_diff(before, after, moves, 271, &count), 0);
    const akt__partition_table *side = join ? after : before;
    assert_int_equal(count,
                     akt__partition_table_load(side, (size_t)akt__partition_table_find(side, who)));
    for (size_t k = 0; k < count; k++) assert_string_equal(join ? moves[k].to : moves[k].from, who);
    akt__partition_table_release(before);
    before = after;
  }
  akt__partition_table_release(before);
  free(v);
}

/* The targets: movement per join or leave within 1.2x the 1/N
 * minimum, load within 1.25x the average. The load bound holds for every
 * table. The movement target holds on average while members own 32 or more
 * partitions each: with the default (2053) across 2..64 members. With
 * Hazelcast's and GoAkt's 271 it holds up to 16 members; past that a member
 * owns too few partitions for any load-bounded rendezvous table to stay near
 * the minimum (see docs/cluster.md, "Placement"), and the suite pins what it
 * measures there so that it cannot get worse unnoticed. */
static void movement_and_load_stay_within_their_bounds_over_seeded_walks(void **state) {
  (void)state;
  static const struct {
    uint32_t partitions;
    band b;
    size_t walks, events;
    double mean_max, load_max;
  } cases[] = {
      {271, {2, 8}, 4, 150, 1.2, 1.25},   {271, {8, 16}, 4, 150, 1.2, 1.25},
      {271, {16, 32}, 4, 150, 1.5, 1.25}, {271, {32, 64}, 4, 150, 2.0, 1.25},
      {AKT_PARTITIONS_DEFAULT, {2, 64}, 2, 100, 1.2, 1.25},
      {AKT_PARTITIONS_DEFAULT, {32, 64}, 1, 100, 1.2, 1.25},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    walk_stats s;
    akt__partition_config cfg = {.partitions = cases[i].partitions};
    measure(&cfg, cases[i].b, cases[i].walks, cases[i].events, &s);
    double mean = s.move_sum / (double)s.events;
    print_message("P=%u N=%u..%u: %zu events, moved/(P/N) mean %.3f max %.3f, load/avg max %.3f\n",
                  cases[i].partitions, cases[i].b.lo, cases[i].b.hi, s.events, mean, s.move_max,
                  s.load_max);
    assert_true(mean <= cases[i].mean_max);
    assert_true(s.load_max <= cases[i].load_max + 1e-9);
    free(s.moves);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--report") == 0) return report(argc - 2, argv + 2);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(without_a_binding_bound_only_the_leaver_or_joiner_moves),
      cmocka_unit_test(movement_and_load_stay_within_their_bounds_over_seeded_walks),
  };
  return cmocka_run_group_tests_name("cluster/placement-walks", tests, NULL, NULL);
}
