/* The linearizability checker (sim/check/lincheck.h): known linearizable
 * and known broken histories on the counter and register models, pending
 * operations, the per-key cap and search budgets, and the shrinker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "sim/check/lincheck.h"

#define P AKT__LIN_PENDING

static akt__lin_op inc(uint64_t key, uint64_t id, int64_t amount, uint64_t call, uint64_t ret) {
  return (akt__lin_op){
      .key = key, .kind = AKT__LIN_INC, .id = id, .arg = amount, .call = call, .ret = ret};
}

/* An increment that reports the counter right after it. */
static akt__lin_op inc_to(uint64_t key, uint64_t id, int64_t amount, int64_t after, uint64_t call,
                          uint64_t ret) {
  akt__lin_op o = inc(key, id, amount, call, ret);
  o.has_value = 1;
  o.value = after;
  return o;
}

static akt__lin_op rd(uint64_t key, int64_t value, uint64_t call, uint64_t ret) {
  return (akt__lin_op){.key = key, .kind = AKT__LIN_READ, .value = value, .call = call, .ret = ret};
}

static akt__lin_op wr(uint64_t key, int64_t value, uint64_t call, uint64_t ret) {
  return (akt__lin_op){.key = key, .kind = AKT__LIN_WRITE, .arg = value, .call = call, .ret = ret};
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static akt__lin_result check(const akt__lin_op *ops, size_t n, akt__lin_report *r) {
  assert_int_equal(akt__lin_check(ops, n, NULL, r), 0);
  return r->result;
}

static akt__lin_result verdict(const akt__lin_op *ops, size_t n) {
  akt__lin_report r;
  akt__lin_result res = check(ops, n, &r);
  akt__lin_report_free(&r);
  return res;
}

/* 1 if ops[i] is in the witness. */
static int in_witness(const akt__lin_report *r, size_t i) {
  for (size_t k = 0; k < r->nwitness; k++)
    if (r->witness[k] == i) return 1;
  return 0;
}

static void an_empty_history_is_linearizable(void **state) {
  (void)state;
  akt__lin_report r;
  assert_int_equal(check(NULL, 0, &r), AKT__LIN_OK);
  assert_int_equal(r.keys, 0);
  akt__lin_report_free(&r);
}

static void sequential_increments_and_reads_are_linearizable(void **state) {
  (void)state;
  akt__lin_op h[] = {inc(1, 1, 1, 0, 10), rd(1, 1, 20, 30),      inc_to(1, 2, 5, 6, 40, 50),
                     rd(1, 6, 60, 70),    inc(1, 3, -2, 80, 90), rd(1, 4, 100, 110)};
  akt__lin_report r;
  assert_int_equal(check(h, COUNT(h), &r), AKT__LIN_OK);
  assert_int_equal(r.keys, 1);
  assert_int_equal(r.keys_ok, 1);
  assert_int_equal(r.nwitness, 0);
  akt__lin_report_free(&r);
}

static void overlapping_operations_may_take_effect_in_either_order(void **state) {
  (void)state;
  /* Two increments overlap each other and two reads; each read may see
   * either, both or none of what overlaps it. */
  akt__lin_op h[] = {inc(1, 1, 1, 0, 10), inc(1, 2, 10, 5, 15), rd(1, 10, 2, 12), rd(1, 11, 3, 14),
                     rd(1, 11, 20, 30)};
  assert_int_equal(verdict(h, COUNT(h)), AKT__LIN_OK);
  /* A read overlapping one increment sees it or not; both are fine. */
  akt__lin_op before[] = {inc(1, 1, 1, 0, 10), rd(1, 0, 5, 6)};
  akt__lin_op after[] = {inc(1, 1, 1, 0, 10), rd(1, 1, 5, 6)};
  assert_int_equal(verdict(before, 2), AKT__LIN_OK);
  assert_int_equal(verdict(after, 2), AKT__LIN_OK);
  /* Touching at one instant counts as overlapping. */
  akt__lin_op touching[] = {inc(1, 1, 1, 0, 10), rd(1, 0, 10, 20)};
  assert_int_equal(verdict(touching, 2), AKT__LIN_OK);
  /* But reads that follow each other cannot see the increments in
   * opposite orders: 10 and then 1 means the 10 was undone. */
  akt__lin_op crossed[] = {inc(1, 1, 1, 0, 30), inc(1, 2, 10, 0, 30), rd(1, 10, 5, 10),
                           rd(1, 1, 15, 20)};
  assert_int_equal(verdict(crossed, COUNT(crossed)), AKT__LIN_VIOLATION);
}

static void a_lost_increment_is_not_linearizable(void **state) {
  (void)state;
  akt__lin_op h[] = {inc(1, 1, 1, 0, 10), inc(1, 2, 1, 20, 30), rd(1, 1, 40, 50)};
  akt__lin_report r;
  assert_int_equal(check(h, COUNT(h), &r), AKT__LIN_VIOLATION);
  assert_int_equal(r.key, 1);
  assert_int_equal(r.key_ops, 3);
  /* Which increment was lost is not knowable: all three are evidence. */
  assert_int_equal(r.nwitness, 3);
  assert_int_equal(r.weakened, 0);
  assert_true(r.minimal);
  akt__lin_report_free(&r);
}

static void a_double_applied_increment_is_not_linearizable(void **state) {
  (void)state;
  akt__lin_op h[] = {inc(1, 1, 1, 0, 10), rd(1, 2, 20, 30)};
  akt__lin_report r;
  assert_int_equal(check(h, COUNT(h), &r), AKT__LIN_VIOLATION);
  /* The read fails on its own: even if the increment took effect, once,
   * the counter never reached 2. */
  assert_int_equal(r.nwitness, 1);
  assert_int_equal(r.witness[0], 1);
  assert_int_equal(r.weakened, 1);
  akt__lin_report_free(&r);
  /* An increment that reports a counter it could not have made is a
   * failure on its own. */
  akt__lin_op told[] = {inc(1, 1, 1, 0, 10), inc_to(1, 2, 1, 3, 20, 30)};
  assert_int_equal(check(told, COUNT(told), &r), AKT__LIN_VIOLATION);
  assert_int_equal(r.nwitness, 1);
  assert_int_equal(r.witness[0], 1);
  assert_int_equal(r.weakened, 1);
  assert_true(r.minimal);
  akt__lin_report_free(&r);
}

static void a_stale_read_is_not_linearizable(void **state) {
  (void)state;
  akt__lin_op h[] = {inc(1, 1, 1, 0, 10), rd(1, 1, 20, 30), rd(1, 0, 40, 50)};
  akt__lin_report r;
  assert_int_equal(check(h, COUNT(h), &r), AKT__LIN_VIOLATION);
  /* The two reads fail whatever the increment did; deleting the increment
   * instead of weakening it would have blamed the first read alone. */
  assert_int_equal(r.nwitness, 2);
  assert_true(in_witness(&r, 1) && in_witness(&r, 2));
  assert_int_equal(r.weakened, 1);
  assert_true(r.minimal);
  akt__lin_report_free(&r);

  /* A register read that misses the last completed write. */
  akt__lin_op reg[] = {wr(2, 1, 0, 10), wr(2, 2, 20, 30), rd(2, 1, 40, 50)};
  assert_int_equal(check(reg, COUNT(reg), &r), AKT__LIN_VIOLATION);
  assert_int_equal(r.nwitness, 3);
  akt__lin_report_free(&r);
  akt__lin_op fresh[] = {wr(2, 1, 0, 10), wr(2, 2, 20, 30), rd(2, 2, 40, 50), wr(2, 7, 45, 60),
                         rd(2, 7, 55, 70)};
  assert_int_equal(verdict(fresh, COUNT(fresh)), AKT__LIN_OK);
}

static void a_retried_increment_counts_once(void **state) {
  (void)state;
  /* Id 7 is sent twice (a retry after a timeout): one increment. */
  akt__lin_op once[] = {inc(1, 7, 1, 0, 10), inc(1, 7, 1, 5, 20), rd(1, 1, 30, 40)};
  assert_int_equal(verdict(once, COUNT(once)), AKT__LIN_OK);
  akt__lin_op twice[] = {inc(1, 7, 1, 0, 10), inc(1, 7, 1, 5, 20), rd(1, 2, 30, 40)};
  akt__lin_report r;
  assert_int_equal(check(twice, COUNT(twice), &r), AKT__LIN_VIOLATION);
  akt__lin_report_free(&r);
  /* The retry may report the counter it finds. */
  akt__lin_op told[] = {inc_to(1, 7, 1, 1, 0, 10), inc(1, 8, 1, 12, 14),
                        inc_to(1, 7, 1, 2, 15, 20)};
  assert_int_equal(verdict(told, COUNT(told)), AKT__LIN_OK);
}

static void pending_operations_may_or_may_not_take_effect(void **state) {
  (void)state;
  akt__lin_op taken[] = {inc(1, 1, 1, 0, P), rd(1, 0, 10, 20), rd(1, 1, 30, 40)};
  assert_int_equal(verdict(taken, COUNT(taken)), AKT__LIN_OK);
  akt__lin_op never[] = {inc(1, 1, 1, 0, P), rd(1, 0, 10, 20), rd(1, 0, 30, 40)};
  assert_int_equal(verdict(never, COUNT(never)), AKT__LIN_OK);
  /* Not before it was called, and not undone. */
  akt__lin_op early[] = {rd(1, 1, 10, 20), inc(1, 1, 1, 50, P)};
  assert_int_equal(verdict(early, COUNT(early)), AKT__LIN_VIOLATION);
  akt__lin_op undone[] = {inc(1, 1, 1, 0, P), rd(1, 1, 10, 20), rd(1, 0, 30, 40)};
  assert_int_equal(verdict(undone, COUNT(undone)), AKT__LIN_VIOLATION);
  /* A read without a response says nothing; a pending increment's value
   * is not a response either. */
  akt__lin_op silent[] = {rd(1, 99, 0, P), inc_to(1, 1, 1, 42, 0, P), rd(1, 1, 10, 20)};
  assert_int_equal(verdict(silent, COUNT(silent)), AKT__LIN_OK);
}

static void keys_are_checked_apart_and_the_smallest_failing_key_is_reported(void **state) {
  (void)state;
  akt__lin_op h[] = {rd(9, 5, 0, 10), inc(3, 1, 1, 0, 10), rd(5, 1, 0, 10), rd(3, 1, 20, 30),
                     inc(9, 1, 1, 0, 10)};
  akt__lin_report r;
  assert_int_equal(check(h, COUNT(h), &r), AKT__LIN_VIOLATION);
  assert_int_equal(r.keys, 3);
  assert_int_equal(r.keys_ok, 1);
  assert_int_equal(r.keys_violation, 2);
  assert_int_equal(r.key, 5);
  assert_int_equal(r.nwitness, 1);
  assert_int_equal(r.witness[0], 2);
  akt__lin_report_free(&r);
  /* Linearizability is per key: the same operations on one key would be
   * fine. */
  akt__lin_op split[] = {inc(1, 1, 1, 0, 10), rd(2, 0, 20, 30)};
  akt__lin_op joined[] = {inc(1, 1, 1, 0, 10), rd(1, 0, 20, 30)};
  assert_int_equal(verdict(split, 2), AKT__LIN_OK);
  assert_int_equal(verdict(joined, 2), AKT__LIN_VIOLATION);
}

static void a_key_over_the_cap_is_too_large_and_not_searched(void **state) {
  (void)state;
  akt__lin_op h[12];
  for (int i = 0; i < 11; i++)
    h[i] = inc(4, (uint64_t)i, 1, (uint64_t)i * 10, (uint64_t)i * 10 + 5);
  h[11] = rd(2, 0, 0, 1);
  akt__lin_options opt = {.max_ops = 10};
  akt__lin_report r;
  assert_int_equal(akt__lin_check(h, COUNT(h), &opt, &r), 0);
  assert_int_equal(r.result, AKT__LIN_TOO_LARGE);
  assert_int_equal(r.key, 4);
  assert_int_equal(r.key_ops, 11);
  assert_int_equal(r.keys_too_large, 1);
  assert_int_equal(r.keys_ok, 1);
  assert_int_equal(r.searches, 1); /* only key 2 was searched */
  akt__lin_report_free(&r);
  /* A violation elsewhere is still the headline. */
  h[11] = rd(2, 1, 0, 1);
  assert_int_equal(akt__lin_check(h, COUNT(h), &opt, &r), 0);
  assert_int_equal(r.result, AKT__LIN_VIOLATION);
  assert_int_equal(r.key, 2);
  assert_int_equal(r.keys_too_large, 1);
  akt__lin_report_free(&r);
  opt.max_ops = AKT__LIN_OPS_MAX + 1;
  assert_int_equal(akt__lin_check(h, COUNT(h), &opt, &r), AKT_EINVAL);
}

/* n concurrent increments by distinct powers of two, then a read of a sum
 * no subset makes: every subset is a distinct state. */
static akt__lin_op *hopeless(size_t n) {
  akt__lin_op *h = calloc(n + 1, sizeof *h);
  assert_non_null(h);
  for (size_t i = 0; i < n; i++) h[i] = inc(1, i, (int64_t)1 << i, 0, 100);
  h[n] = rd(1, -1, 200, 210);
  return h;
}

static void a_search_past_its_budget_gives_up_instead_of_running_on(void **state) {
  (void)state;
  akt__lin_op *h = hopeless(40);
  akt__lin_report r;
  akt__lin_options steps = {.max_steps = 20000};
  assert_int_equal(akt__lin_check(h, 41, &steps, &r), 0);
  assert_int_equal(r.result, AKT__LIN_GAVE_UP);
  assert_int_equal(r.keys_gave_up, 1);
  assert_true(r.steps <= 20001);
  akt__lin_report_free(&r);
  akt__lin_options memory = {.max_memo_bytes = 64 << 10};
  assert_int_equal(akt__lin_check(h, 41, &memory, &r), 0);
  assert_int_equal(r.result, AKT__LIN_GAVE_UP);
  akt__lin_report_free(&r);
  /* Small enough, the same shape is searched to the end. */
  assert_int_equal(akt__lin_check(h + 30, 11, NULL, &r), 0);
  assert_int_equal(r.result, AKT__LIN_VIOLATION);
  akt__lin_report_free(&r);
  free(h);
}

static void memoization_keeps_overlapping_histories_tractable(void **state) {
  (void)state;
  /* 14 overlapping increments have 14! orders but 2^14 sets of applied
   * ones; proving that none reaches 15 visits each set once. */
  akt__lin_op h[15];
  for (int i = 0; i < 14; i++) h[i] = inc(1, (uint64_t)i, 1, (uint64_t)i, 100);
  h[14] = rd(1, 15, 200, 210);
  akt__lin_report r;
  akt__lin_options opt = {.max_steps = 2000000, .shrink_checks = 1};
  assert_int_equal(akt__lin_check(h, COUNT(h), &opt, &r), 0);
  assert_int_equal(r.result, AKT__LIN_VIOLATION);
  akt__lin_report_free(&r);
}

static void interchangeable_optional_increments_cost_linear_states(void **state) {
  (void)state;
  /* 60 increments of 1 without responses: 2^60 subsets, but any k of them
   * are as good as the first k. */
  akt__lin_op h[62];
  for (int i = 0; i < 60; i++) h[i] = inc(1, (uint64_t)i, 1, (uint64_t)i, P);
  h[60] = rd(1, 30, 100, 110);
  h[61] = rd(1, 60, 120, 130);
  akt__lin_report r;
  akt__lin_options opt = {.max_steps = 100000};
  assert_int_equal(akt__lin_check(h, COUNT(h), &opt, &r), 0);
  assert_int_equal(r.result, AKT__LIN_OK);
  akt__lin_report_free(&r);
  h[61] = rd(1, 61, 120, 130);
  assert_int_equal(akt__lin_check(h, COUNT(h), &opt, &r), 0);
  assert_int_equal(r.result, AKT__LIN_VIOLATION);
  akt__lin_report_free(&r);
}

/* A long, mostly concurrent counter history: clients increment with ids
 * and read; every read returns a value some linearization allows. */
static size_t good_history(akt__lin_op *h, size_t rounds) {
  size_t n = 0;
  int64_t total = 0;
  for (size_t k = 0; k < rounds; k++) {
    uint64_t t = k * 100;
    /* Two overlapping increments, a read overlapping them, then a read
     * after both. */
    h[n++] = inc(1, 2 * k, 1, t, t + 40);
    h[n++] = inc(1, 2 * k + 1, 2, t + 10, t + 50);
    h[n++] = rd(1, total + 2, t + 20, t + 30);
    total += 3;
    h[n++] = rd(1, total, t + 60, t + 70);
    h[n - 1].client = 1;
  }
  return n;
}

static void the_shrinker_reduces_a_long_history_to_its_failing_core(void **state) {
  (void)state;
  akt__lin_op h[4 * 50];
  size_t n = good_history(h, 50);
  assert_int_equal(verdict(h, n), AKT__LIN_OK);
  /* One read in the middle returns one less than an earlier read saw. */
  size_t bad = 4 * 30 + 3;
  h[bad].value = h[bad - 4].value - 1;
  akt__lin_report r;
  assert_int_equal(check(h, n, &r), AKT__LIN_VIOLATION);
  assert_int_equal(r.key_ops, n);
  assert_true(r.minimal);
  assert_true(r.nwitness <= 3);
  assert_true(in_witness(&r, bad));
  assert_int_equal(r.nwitness + r.weakened, n);
  /* The witness is by call time. */
  for (size_t k = 1; k < r.nwitness; k++)
    assert_true(h[r.witness[k - 1]].call <= h[r.witness[k]].call);

  /* The report says it in words. */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  akt__lin_report_print(&r, h, f);
  fclose(f);
  assert_non_null(strstr(text, "not linearizable"));
  assert_non_null(strstr(text, "key 1 (200 operations)"));
  char line[64];
  snprintf(line, sizeof line, "read -> %lld", (long long)h[bad].value);
  assert_non_null(strstr(text, line));
  free(text);

  /* The same history gives the same report, whatever the array's order. */
  akt__lin_report again;
  akt__lin_op rev[4 * 50];
  for (size_t i = 0; i < n; i++) rev[i] = h[n - 1 - i];
  assert_int_equal(check(rev, n, &again), AKT__LIN_VIOLATION);
  assert_int_equal(again.nwitness, r.nwitness);
  for (size_t k = 0; k < r.nwitness; k++)
    assert_memory_equal(&rev[again.witness[k]], &h[r.witness[k]], sizeof h[0]);
  assert_int_equal(again.steps, r.steps);
  akt__lin_report_free(&again);
  akt__lin_report_free(&r);
}

static void a_shrink_budget_that_runs_out_says_so(void **state) {
  (void)state;
  akt__lin_op h[4 * 50];
  size_t n = good_history(h, 50);
  h[4 * 30 + 3].value = 0;
  akt__lin_options opt = {.shrink_checks = 3};
  akt__lin_report r;
  assert_int_equal(akt__lin_check(h, n, &opt, &r), 0);
  assert_int_equal(r.result, AKT__LIN_VIOLATION);
  assert_false(r.minimal);
  assert_true(r.nwitness < n); /* three checks still shrink it */
  assert_int_equal(r.searches, 1 + 3);
  akt__lin_report_free(&r);
}

static void malformed_histories_are_rejected(void **state) {
  (void)state;
  akt__lin_report r;
  akt__lin_op backwards[] = {inc(1, 1, 1, 10, 5)};
  assert_int_equal(akt__lin_check(backwards, 1, NULL, &r), AKT_EINVAL);
  akt__lin_op mixed[] = {inc(1, 1, 1, 0, 5), wr(1, 3, 10, 20)};
  assert_int_equal(akt__lin_check(mixed, 2, NULL, &r), AKT_EINVAL);
  akt__lin_op apart[] = {inc(1, 1, 1, 0, 5), wr(2, 3, 10, 20)};
  assert_int_equal(akt__lin_check(apart, 2, NULL, &r), 0);
  akt__lin_report_free(&r);
  akt__lin_op kind[] = {inc(1, 1, 1, 0, 5)};
  kind[0].kind = (akt__lin_kind)9;
  assert_int_equal(akt__lin_check(kind, 1, NULL, &r), AKT_EINVAL);
  akt__lin_op overflow[] = {inc(1, 1, INT64_MAX, 0, 5), inc(1, 2, 1, 0, 5)};
  assert_int_equal(akt__lin_check(overflow, 2, NULL, &r), AKT_EINVAL);
  akt__lin_op minimum[] = {inc(1, 1, INT64_MIN, 0, 5)};
  assert_int_equal(akt__lin_check(minimum, 1, NULL, &r), AKT_EINVAL);
  assert_int_equal(akt__lin_check(NULL, 1, NULL, &r), AKT_EINVAL);
  assert_int_equal(akt__lin_check(apart, 2, NULL, NULL), AKT_EINVAL);
  assert_string_equal(akt__lin_result_name(AKT__LIN_GAVE_UP), "gave up");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_empty_history_is_linearizable),
      cmocka_unit_test(sequential_increments_and_reads_are_linearizable),
      cmocka_unit_test(overlapping_operations_may_take_effect_in_either_order),
      cmocka_unit_test(a_lost_increment_is_not_linearizable),
      cmocka_unit_test(a_double_applied_increment_is_not_linearizable),
      cmocka_unit_test(a_stale_read_is_not_linearizable),
      cmocka_unit_test(a_retried_increment_counts_once),
      cmocka_unit_test(pending_operations_may_or_may_not_take_effect),
      cmocka_unit_test(keys_are_checked_apart_and_the_smallest_failing_key_is_reported),
      cmocka_unit_test(a_key_over_the_cap_is_too_large_and_not_searched),
      cmocka_unit_test(a_search_past_its_budget_gives_up_instead_of_running_on),
      cmocka_unit_test(memoization_keeps_overlapping_histories_tractable),
      cmocka_unit_test(interchangeable_optional_increments_cost_linear_states),
      cmocka_unit_test(the_shrinker_reduces_a_long_history_to_its_failing_core),
      cmocka_unit_test(a_shrink_budget_that_runs_out_says_so),
      cmocka_unit_test(malformed_histories_are_rejected),
  };
  return cmocka_run_group_tests_name("sim/lincheck", tests, NULL, NULL);
}
