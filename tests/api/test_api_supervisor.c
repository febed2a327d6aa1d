/* akt/supervisor.h: directives, strategies, the default decider, failures
 * in hooks and continuations — on both backends. What a restart keeps and
 * drops, restart limits and backoff are test_api_supervisor_restarts.c's;
 * the actors and deciders, supervisor_fixture.h's. */
#include "supervisor_fixture.h"

/* ---- nodes whose hooks fail -------------------------------------------------- */

/* A node whose pre_start fails. */
static int failing_pre_start(akt_ctx *ctx) {
  api_note(ctx, cfg_of(ctx)->to, "%s:pre_start", me(ctx));
  return ERR_RESTART;
}

static const akt_actor_def failing_start_def = {.kind = "failing-start",
                                                .state_size = sizeof(node_state),
                                                .pre_start = failing_pre_start,
                                                .receive = node_receive,
                                                .post_stop = node_post_stop};

static int failing_post_restart(akt_ctx *ctx, int cause) {
  api_note(ctx, cfg_of(ctx)->to, "%s:post_restart %d", me(ctx), cause);
  return ERR_RESTART;
}

static const akt_actor_def failing_restart_def = {.kind = "failing-restart",
                                                  .state_size = sizeof(node_state),
                                                  .receive = node_receive,
                                                  .post_stop = node_post_stop,
                                                  .post_restart = failing_post_restart};

/* ---- a boss with one kid ------------------------------------------------------ */

/* Adds n to `to`'s count (an Add from the probe). */
static void add(akt_probe *p, akt_pid *to, int64_t n) {
  Add a = ADD__INIT;
  a.amount = n;
  akt_probe_tell(p, to, &a.base);
}

/* A boss with one kid, c0, whose failures the boss's decider notes on
 * probe d (and decides by code, or `fixed`). */
typedef struct one_kid {
  akt_testkit *tk;
  akt_probe *p, *d;
  decider_cfg dc;
  akt_supervisor sup;
  node_cfg boss, kid;
  akt_pid *c0;
} one_kid;

static void one_kid_up(one_kid *f, akt_directive fixed) {
  f->tk = TK_NEW();
  f->p = akt_probe_new(f->tk, "p");
  f->d = akt_probe_new(f->tk, "decisions");
  f->dc = (decider_cfg){.to = akt_probe_pid(f->d), .fixed = fixed};
  f->sup = (akt_supervisor){.decider = by_code, .decider_arg = &f->dc};
  boss_with_kids(f->tk, f->p, &f->boss, &f->kid, &f->sup, 1);
  f->c0 = lookup(f->tk, "/user/boss/c0");
}

static void one_kid_down(one_kid *f) {
  akt_pid_release(f->c0);
  akt_testkit_free(f->tk);
}

/* ---- directives ------------------------------------------------------------------ */

static void resume_keeps_the_state_and_goes_on_with_the_next_message(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, 0);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  add(p, c0, 2);
  fail_with(p, c0, ERR_RESUME);
  add(p, c0, 3);
  EXPECT_NOTE(p, "c0:count=2");
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> resume", ERR_RESUME,
                   AKT_FAILED_IN_RECEIVE);
  EXPECT_NOTE(p, "c0:count=5");
  api_expect_counts(c0, 1, 0);
  one_kid_down(&f);
}

static void restart_zeroes_the_state_and_does_not_retry_the_failed_message(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, 0);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  add(p, c0, 2);
  fail_with(p, c0, ERR_RESTART);
  add(p, c0, 3);
  EXPECT_NOTE(p, "c0:count=2");
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> restart", ERR_RESTART,
                   AKT_FAILED_IN_RECEIVE);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  EXPECT_NOTE(p, "c0:count=3");
  akt_probe_expect_no_msg(d, AKT_MILLIS(20)); /* not retried: no second failure */
  api_expect_counts(c0, 1, 1);
  one_kid_down(&f);
}

static void stop_ends_the_failed_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  decider_cfg dc = {0};
  akt_supervisor sup = {.decider = by_code, .decider_arg = &dc};
  node_cfg boss, kid;
  akt_pid *b = boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  fail_with(p, c0, ERR_STOP);
  EXPECT_NOTE(p, "c0:post_stop");
  akt_probe_expect_terminated(w, c0, 0);
  assert_true(akt_pid_is_running(b));
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void an_unhandled_message_is_no_failure(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, 0);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  add(p, c0, 1);
  api_cmd(p, c0, "unhandled", NULL, 0);
  add(p, c0, 1);
  EXPECT_NOTE(p, "c0:count=1");
  EXPECT_NOTE(p, "c0:count=2");
  akt_probe_expect_no_msg(d, AKT_MILLIS(20));
  akt_actor_metrics m;
  akt_actor_get_metrics(c0, &m);
  assert_int_equal(m.failures, 0);
  one_kid_down(&f);
}
static void escalate_fails_the_parent_with_the_same_code(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg boss_dc = {.to = akt_probe_pid(d)};
  decider_cfg grand_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESTART};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc};
  akt_supervisor grand_sup = {.decider = by_code, .decider_arg = &grand_dc};
  node_cfg cfg[3];
  three_levels(tk, p, cfg, &grand_sup, &boss_sup);
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  fail_with(p, c0, ERR_ESCALATE);
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> escalate", ERR_ESCALATE,
                   AKT_FAILED_IN_RECEIVE);
  API_EXPECT_NOTEF(d, "decide boss0 code=%d source=%d restarts=0 -> restart", ERR_ESCALATE,
                   AKT_FAILED_ESCALATED);
  /* The boss restarts: its child stops first, then the boss's default
   * hooks run, and its pre_start spawns the child again. */
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "boss0:post_stop");
  EXPECT_NOTE(p, "boss0:pre_start");
  EXPECT_NOTE(p, "c0:pre_start");
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void an_escalated_failure_resumed_above_resumes_the_child_with_its_state(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg boss_dc = {.to = akt_probe_pid(d)};
  decider_cfg grand_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESUME};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc};
  akt_supervisor grand_sup = {.decider = by_code, .decider_arg = &grand_dc};
  node_cfg cfg[3];
  three_levels(tk, p, cfg, &grand_sup, &boss_sup);
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  add(p, c0, 4);
  fail_with(p, c0, ERR_ESCALATE);
  add(p, c0, 1);
  EXPECT_NOTE(p, "c0:count=4");
  akt_probe_expect_msg(d, &note__descriptor, 0);
  API_EXPECT_NOTEF(d, "decide boss0 code=%d source=%d restarts=0 -> resume", ERR_ESCALATE,
                   AKT_FAILED_ESCALATED);
  EXPECT_NOTE(p, "c0:count=5");
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void a_failed_child_handles_no_message_until_it_is_decided(void **state) {
  (void)state;
  /* The restart comes only after a backoff: the failed child waits,
   * suspended, meanwhile. */
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  decider_cfg boss_dc = {0};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc,
                             .backoff_min = AKT_MILLIS(300)};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &boss_sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  uint64_t t0 = akt_testkit_now(tk);
  fail_with(p, c0, ERR_RESTART);
  add(p, c0, 1);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  EXPECT_NOTE(p, "c0:count=1");
  /* The Add was not handled before the (delayed) restart. */
  assert_true(akt_probe_last_arrival(p) - t0 >= AKT_MILLIS(300));
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

/* ---- strategies ---------------------------------------------------------------- */

static void one_for_one_restarts_the_failed_child_alone(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.strategy = AKT_ONE_FOR_ONE};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 2);
  akt_pid *c0 = lookup(tk, "/user/boss/c0"), *c1 = lookup(tk, "/user/boss/c1");
  add(p, c1, 7);
  EXPECT_NOTE(p, "c1:count=7");
  fail_with(p, c0, ERR_RESTART);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  add(p, c1, 1);
  EXPECT_NOTE(p, "c1:count=8");
  akt_pid_release(c0);
  akt_pid_release(c1);
  akt_testkit_free(tk);
}

static void one_for_all_applies_the_directive_to_every_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.strategy = AKT_ONE_FOR_ALL};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 2);
  akt_pid *c0 = lookup(tk, "/user/boss/c0"), *c1 = lookup(tk, "/user/boss/c1");
  add(p, c1, 7);
  EXPECT_NOTE(p, "c1:count=7");
  fail_with(p, c0, ERR_RESTART);
  /* Both restart (in either order): two post_stops, two pre_starts. */
  const ProtobufCMessage *got[4];
  akt_probe_receive_n(p, 4, 0, got);
  int stops = 0, starts = 0;
  for (int i = 0; i < 4; i++) {
    const char *t = ((const Note *)got[i])->text;
    stops += strstr(t, ":post_stop") != NULL;
    starts += strstr(t, ":pre_start") != NULL;
  }
  assert_int_equal(stops, 2);
  assert_int_equal(starts, 2);
  /* c1's state was zeroed too, and it is the same PID. */
  add(p, c1, 1);
  EXPECT_NOTE(p, "c1:count=1");
  akt_actor_metrics m;
  akt_actor_get_metrics(c1, &m);
  assert_int_equal(m.restarts, 1);
  assert_int_equal(m.failures, 0);
  akt_pid_release(c0);
  akt_pid_release(c1);
  akt_testkit_free(tk);
}

static void one_for_all_stop_stops_every_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  decider_cfg dc = {.fixed = AKT_DIRECTIVE_STOP};
  akt_supervisor sup = {.strategy = AKT_ONE_FOR_ALL, .decider = by_code, .decider_arg = &dc};
  node_cfg boss, kid;
  akt_pid *b = boss_with_kids(tk, p, &boss, &kid, &sup, 2);
  akt_pid *c0 = lookup(tk, "/user/boss/c0"), *c1 = lookup(tk, "/user/boss/c1");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  akt_probe_watch(w, c1);
  fail_with(p, c0, ERR_STOP);
  const ProtobufCMessage *got[2];
  akt_probe_receive_n(w, 2, 0, got);
  assert_true(akt_msg_is(got[0], &akt__terminated__descriptor));
  assert_true(akt_msg_is(got[1], &akt__terminated__descriptor));
  assert_true(akt_pid_is_running(b));
  akt_pid_release(c0);
  akt_pid_release(c1);
  akt_testkit_free(tk);
}

/* ---- the default decider ------------------------------------------------------- */

static void the_default_decider_restarts_on_failure_and_stops_on_pre_start_or_kill(void **state) {
  (void)state;
  akt_failure f = {.code = ERR_RESTART, .source = AKT_FAILED_IN_RECEIVE};
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_IN_CONTINUATION;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_ESCALATED;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_IN_PRE_START;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_STOP);
  f = (akt_failure){.code = AKT_EKILLED, .source = AKT_FAILED_KILLED};
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_STOP);
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_RESUME), "resume");
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_RESTART), "restart");
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_STOP), "stop");
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_ESCALATE), "escalate");
}

static void a_failing_pre_start_stops_the_actor_by_default(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &failing_start_def, &o);
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, a);
  EXPECT_NOTE(p, "a:pre_start");
  /* It stops as any actor does (post_stop runs once, as in Akka), and is
   * not started again. */
  EXPECT_NOTE(p, "a:post_stop");
  akt_probe_expect_terminated(w, a, 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_actor_metrics m;
  akt_actor_get_metrics(a, &m);
  assert_int_equal(m.failures, 1);
  akt_testkit_free(tk);
}

static void a_failing_post_restart_is_a_failure_like_a_failing_pre_start(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &failing_restart_def, &o);
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, a);
  fail_with(p, a, ERR_RESTART);
  EXPECT_NOTE(p, "a:post_stop");
  API_EXPECT_NOTEF(p, "a:post_restart %d", ERR_RESTART);
  /* The default decider stops it, as after a failed pre_start. */
  akt_probe_expect_terminated(w, a, 0);
  akt_testkit_free(tk);
}

static void a_failing_continuation_is_a_failure_from_the_continuation(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, AKT_DIRECTIVE_RESUME);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  akt_probe *target = akt_probe_new(f.tk, "target");
  f.kid.target = akt_probe_pid(target); /* read when the kid handles "request" */
  api_cmd(p, c0, "request", NULL, ERR_RESUME);
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  Pong pong = PONG__INIT;
  akt_probe_reply(target, &pong.base);
  EXPECT_NOTE(p, "c0:continuation AKT_OK");
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> resume", ERR_RESUME,
                   AKT_FAILED_IN_CONTINUATION);
  one_kid_down(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(resume_keeps_the_state_and_goes_on_with_the_next_message),
    cmocka_unit_test(restart_zeroes_the_state_and_does_not_retry_the_failed_message),
    cmocka_unit_test(stop_ends_the_failed_child),
    cmocka_unit_test(an_unhandled_message_is_no_failure),
    cmocka_unit_test(escalate_fails_the_parent_with_the_same_code),
    cmocka_unit_test(an_escalated_failure_resumed_above_resumes_the_child_with_its_state),
    cmocka_unit_test(a_failed_child_handles_no_message_until_it_is_decided),
    cmocka_unit_test(one_for_one_restarts_the_failed_child_alone),
    cmocka_unit_test(one_for_all_applies_the_directive_to_every_child),
    cmocka_unit_test(one_for_all_stop_stops_every_child),
    cmocka_unit_test(the_default_decider_restarts_on_failure_and_stops_on_pre_start_or_kill),
    cmocka_unit_test(a_failing_pre_start_stops_the_actor_by_default),
    cmocka_unit_test(a_failing_post_restart_is_a_failure_like_a_failing_pre_start),
    cmocka_unit_test(a_failing_continuation_is_a_failure_from_the_continuation),
};

AKT_TEST_MAIN_BOTH("api-supervisor", tests)
