/* src/util/assert.h: a failed assertion aborts and says where, and inside a
 * simulated world or a testkit it prints the seed and the replay command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/both.h"
#include "../support/child.h"
#include "akt/sim.h"
#include "akt/testkit.h"
#include "src/util/assert.h"

static volatile int two = 2;

static void fail_plain(void) { AKT_ASSERT(two == 3); }

static void fail_in_world(void) {
  akt_sim_options o = {.seed = 0x5eed42};
  akt_sim_world *w;
  if (akt_sim_world_new(&o, &w)) _exit(3);
  AKT_ASSERT_TRANSITION("lifecycle", two, 1, 1 > two);
}

static void fail_in_testkit(void) {
  akt_testkit_options o = {.use_seed = 1, .seed = 0xabc};
  akt_testkit *tk = akt_testkit_new(&o);
  (void)tk;
  AKT_ASSERT(two == 0);
}

static void passing_assertions_do_nothing(void **state) {
  (void)state;
  AKT_ASSERT(two == 2);
  AKT_ASSERT_TRANSITION("x", 1, 2, 2 > 1);
}

static void a_failed_assertion_aborts_naming_the_expression(void **state) {
  (void)state;
  char buf[4096];
  test_expect_abort(fail_plain, buf, sizeof buf);
  assert_non_null(strstr(buf, "assertion failed"));
  assert_non_null(strstr(buf, "two == 3"));
  assert_non_null(strstr(buf, "test_assert.c"));
  assert_null(strstr(buf, "seed="));
}

static void in_a_world_it_prints_the_seed_and_virtual_time(void **state) {
  (void)state;
  char buf[4096];
  test_expect_abort(fail_in_world, buf, sizeof buf);
  assert_non_null(strstr(buf, "bad lifecycle transition 2 -> 1"));
  assert_non_null(strstr(buf, "seed=0x5eed42"));
  assert_non_null(strstr(buf, "(virtual)"));
}

static void in_a_testkit_it_prints_the_replay_command(void **state) {
  (void)state;
  char buf[4096];
  test_expect_abort(fail_in_testkit, buf, sizeof buf);
  assert_non_null(strstr(buf, "two == 0"));
  assert_non_null(strstr(buf, "replay: AKT_SEED=0xabc"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(passing_assertions_do_nothing),
    cmocka_unit_test(a_failed_assertion_aborts_naming_the_expression),
    cmocka_unit_test(in_a_world_it_prints_the_seed_and_virtual_time),
    cmocka_unit_test(in_a_testkit_it_prints_the_replay_command),
};

AKT_TEST_MAIN("util-assert", tests)
