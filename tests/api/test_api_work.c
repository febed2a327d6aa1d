/* akt/actor.h's blocking work: akt_pipe_to and akt_work_result — on both
 * backends. */
#include "api.h"

typedef struct job {
  int64_t x;
  int results;   /* how many results to set (the last one wins) */
  int fail_with; /* non-zero: return it */
  int rc[3];     /* what akt_work_result returned */
} job;

static int compute(akt_work *w, void *arg) {
  job *j = arg;
  for (int i = 0; i < j->results; i++) {
    Pong r = PONG__INIT;
    r.n = j->x * j->x + i;
    j->rc[i] = akt_work_result(w, &r.base);
  }
  return j->fail_with;
}

static void the_result_of_the_work_is_sent_to_the_actor_with_the_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *s = akt_probe_new(tk, "s");
  job j = {.x = 7, .results = 1};
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), compute, &j, akt_probe_pid(p),
                               akt_probe_pid(s)),
                   0);
  const Pong *r = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
  assert_int_equal(r->n, 49);
  assert_true(akt_pid_equal(akt_probe_last_sender(p), akt_probe_pid(s)));
  assert_int_equal(j.rc[0], 0);
  /* Without a sender. */
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), compute, &j, akt_probe_pid(p), NULL), 0);
  akt_probe_expect_msg(p, &pong__descriptor, 0);
  assert_null(akt_probe_last_sender(p));
  akt_testkit_free(tk);
}

static void the_last_result_set_wins(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  job j = {.x = 2, .results = 3};
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), compute, &j, akt_probe_pid(p), NULL), 0);
  const Pong *r = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
  assert_int_equal(r->n, 4 + 2);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50)); /* one message, not three */
  akt_testkit_free(tk);
}

static void a_failed_work_sends_work_failed_with_its_code(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  job j = {.x = 3, .results = 1, .fail_with = AKT_EUSER_BASE - 9};
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), compute, &j, akt_probe_pid(p), NULL), 0);
  const Akt__WorkFailed *f =
      (const Akt__WorkFailed *)akt_probe_expect_msg(p, &akt__work_failed__descriptor, 0);
  assert_int_equal(f->code, AKT_EUSER_BASE - 9);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50)); /* and not the result it had set */
  akt_testkit_free(tk);
}

static void a_work_without_a_result_sends_nothing(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  job j = {.x = 1, .results = 0};
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), compute, &j, akt_probe_pid(p), NULL), 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(100));
  akt_testkit_free(tk);
}

static int bad_results(akt_work *w, void *arg) {
  int *rc = arg;
  Inner loop = INNER__INIT;
  loop.next = &loop;
  rc[0] = akt_work_result(w, &loop.base);
  rc[1] = akt_work_result(w, NULL);
  rc[2] = akt_work_result(NULL, &loop.base);
  Ping ok = PING__INIT;
  return akt_work_result(w, &ok.base);
}

static void work_result_checks_its_arguments(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  int rc[3] = {1, 1, 1};
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), bad_results, rc, akt_probe_pid(p), NULL), 0);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  assert_int_equal(rc[0], AKT_ELIMIT);
  assert_int_equal(rc[1], AKT_EINVAL);
  assert_int_equal(rc[2], AKT_EINVAL);
  job j = {0};
  assert_int_equal(akt_pipe_to(NULL, compute, &j, akt_probe_pid(p), NULL), AKT_EINVAL);
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), NULL, &j, akt_probe_pid(p), NULL), AKT_EINVAL);
  assert_int_equal(akt_pipe_to(akt_testkit_system(tk), compute, &j, NULL, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(the_result_of_the_work_is_sent_to_the_actor_with_the_sender),
    cmocka_unit_test(the_last_result_set_wins),
    cmocka_unit_test(a_failed_work_sends_work_failed_with_its_code),
    cmocka_unit_test(a_work_without_a_result_sends_nothing),
    cmocka_unit_test(work_result_checks_its_arguments),
};

AKT_TEST_MAIN_BOTH("api-work", tests)
