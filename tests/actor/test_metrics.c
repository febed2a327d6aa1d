/* Actor metrics — on both backends. */
#include "../support/actors.h"
#include "../support/both.h"

static void metrics_count_and_time(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  for (int i = 0; i < 5; i++) akt_probe_tell(p, c, &a.base);
  Get g = GET__INIT;
  akt_probe_tell(p, c, &g.base);
  akt_probe_expect_msg(p, &total__descriptor, 0);
  akt_testkit_advance(tk, AKT_MILLIS(30));
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(c, &m), 0);
  assert_int_equal(m.processed, 6);
  assert_int_equal(m.mailbox_size, 0);
  assert_int_equal(m.restarts, 0);
  assert_int_equal(m.failures, 0);
  assert_true(m.uptime_ns >= AKT_MILLIS(30));
  assert_true(m.running);
  /* The system's count moves when the counter's turn ends, which on libuv
   * may be after its reply arrived (however long the advance above). */
  akt_testkit_run_until_idle(tk);
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_true(st.processed >= 6);
  assert_int_equal(akt_actor_get_metrics(NULL, &m), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void uptime_stops_growing_when_the_actor_terminates(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  uint64_t spawned = akt_testkit_now(tk);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  akt_testkit_advance(tk, AKT_MILLIS(30));
  akt_probe_watch(p, c);
  assert_int_equal(akt_stop(c), 0);
  akt_probe_expect_terminated(p, c, 0);
  uint64_t lived = akt_testkit_now(tk) - spawned;
  akt_actor_metrics m1, m2;
  assert_int_equal(akt_actor_get_metrics(c, &m1), 0);
  assert_false(m1.running);
  assert_true(m1.uptime_ns >= AKT_MILLIS(30) && m1.uptime_ns <= lived);
  akt_testkit_advance(tk, AKT_MILLIS(50));
  assert_int_equal(akt_actor_get_metrics(c, &m2), 0);
  assert_int_equal(m2.uptime_ns, m1.uptime_ns); /* frozen at termination */
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(metrics_count_and_time),
    cmocka_unit_test(uptime_stops_growing_when_the_actor_terminates),
};

AKT_TEST_MAIN_BOTH("actor/metrics", tests)
