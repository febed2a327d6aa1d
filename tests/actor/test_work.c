/* Pipe-to: blocking work off the actors, its result sent to an actor — on
 * both backends. */
#include "../support/actors.h"
#include "../support/both.h"
#include "akt/actor.pb-c.h"

static int slow_square(akt_work *w, void *arg) {
  int64_t x = (int64_t)(intptr_t)arg;
  if (x < 0) return AKT_EUSER_BASE - 9;
  Total t = TOTAL__INIT;
  t.value = x * x;
  return akt_work_result(w, &t.base);
}

static int no_result(akt_work *w, void *arg) {
  (void)w;
  (void)arg;
  return 0;
}

static void work_results_are_piped_to_an_actor(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p"), *s = akt_probe_new(tk, "s");
  assert_int_equal(akt_pipe_to(sys, slow_square, (void *)(intptr_t)12, akt_probe_pid(p),
                               akt_probe_pid(s)), 0);
  const Total *t = (const Total *)akt_probe_expect_msg(p, &total__descriptor, 0);
  assert_int_equal(t->value, 144);
  assert_ptr_equal(akt_probe_last_sender(p), akt_probe_pid(s));
  assert_int_equal(akt_pipe_to(sys, slow_square, (void *)(intptr_t)-1, akt_probe_pid(p), NULL), 0);
  const Akt__WorkFailed *f =
      (const Akt__WorkFailed *)akt_probe_expect_msg(p, &akt__work_failed__descriptor, 0);
  assert_int_equal(f->code, AKT_EUSER_BASE - 9);
  assert_int_equal(akt_pipe_to(sys, no_result, NULL, akt_probe_pid(p), NULL), 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  assert_int_equal(akt_pipe_to(sys, NULL, NULL, akt_probe_pid(p), NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(work_results_are_piped_to_an_actor),
};

AKT_TEST_MAIN_BOTH("actor/work", tests)
