/* akt/supervisor.h after the decision: what a restart drops and keeps,
 * restart limits within a window, backoff and its jitter, and the
 * supervisors the header refuses — on both backends (the timing of
 * backoff and windows exactly on the simulator). Directives, strategies
 * and the default decider are test_api_supervisor.c's. */
#include "supervisor_fixture.h"

/* ---- what a restart drops and keeps ---------------------------------------------- */

static void a_restart_drops_behaviour_timers_and_pending_requests(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *target = akt_probe_new(tk, "target");
  node_cfg cfg = {.to = akt_probe_pid(p), .target = akt_probe_pid(target)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &node_def, &o);
  EXPECT_NOTE(p, "a:pre_start");
  api_cmd(p, a, "become", NULL, 0);
  api_cmd(p, a, "request", NULL, 0);
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  Ping ping = PING__INIT;
  ping.n = 1;
  akt_probe_tell(p, a, &ping.base);
  EXPECT_NOTE(p, "a:sticky");
  api_cmd(p, a, "timer-then-fail", NULL, 0);
  EXPECT_NOTE(p, "a:post_stop");
  EXPECT_NOTE(p, "a:pre_start");
  /* The become stack is gone: the initial behaviour answers. */
  akt_probe_tell(p, a, &ping.base);
  EXPECT_NOTE(p, "a:ping 1");
  /* The request is forgotten: its reply is not a continuation. */
  Pong pong = PONG__INIT;
  akt_probe_reply(target, &pong.base);
  /* And the timer, due 50 ms after it was started, never ticks. */
  akt_probe_expect_no_msg(p, AKT_MILLIS(300));
  akt_testkit_free(tk);
}

static void a_restart_stops_the_children_first(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg[3];
  akt_pid *g = three_levels(tk, p, cfg, NULL, NULL);
  akt_pid *boss = lookup(tk, "/user/grand/boss0");
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  fail_with(p, boss, ERR_RESTART);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "boss0:post_stop");
  EXPECT_NOTE(p, "boss0:pre_start");
  EXPECT_NOTE(p, "c0:pre_start");
  /* The old child is gone for good; a new one holds its path. */
  assert_false(akt_pid_is_running(c0));
  akt_pid *again = lookup(tk, "/user/grand/boss0/c0");
  assert_false(akt_pid_equal(again, c0));
  assert_true(akt_pid_is_running(g));
  akt_pid_release(again);
  akt_pid_release(c0);
  akt_pid_release(boss);
  akt_testkit_free(tk);
}

static void a_restart_hands_the_stash_back_ahead_of_the_mailbox(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &node_def, &o);
  EXPECT_NOTE(p, "a:pre_start");
  Add one = ADD__INIT, two = ADD__INIT, ten = ADD__INIT;
  one.amount = 1;
  two.amount = 2;
  ten.amount = 10;
  api_cmd(p, a, "stash-mode", NULL, 0);
  akt_probe_tell(p, a, &one.base); /* stashed */
  akt_probe_tell(p, a, &two.base); /* stashed */
  fail_with(p, a, ERR_RESTART);
  akt_probe_tell(p, a, &ten.base); /* in the mailbox */
  EXPECT_NOTE(p, "a:post_stop");
  EXPECT_NOTE(p, "a:pre_start");
  /* The stash comes back first, oldest first, to the initial behaviour. */
  EXPECT_NOTE(p, "a:count=1");
  EXPECT_NOTE(p, "a:count=3");
  EXPECT_NOTE(p, "a:count=13");
  akt_testkit_free(tk);
}

/* ---- limits and backoff --------------------------------------------------------- */

static int decides_boss(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &note__descriptor) && strncmp(((const Note *)m)->text, "decide boss0", 12) == 0;
}

static void more_restarts_than_allowed_within_the_window_stop_the_child_and_escalate(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg boss_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESTART};
  decider_cfg grand_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESUME};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc, .max_restarts = 2,
                             .within = AKT_SECONDS(60)};
  akt_supervisor grand_sup = {.decider = by_code, .decider_arg = &grand_dc};
  node_cfg cfg[3];
  three_levels(tk, p, cfg, &grand_sup, &boss_sup);
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  for (int i = 0; i < 2; i++) {
    fail_with(p, c0, ERR_RESTART);
    API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=%d -> restart", ERR_RESTART,
                     AKT_FAILED_IN_RECEIVE, i);
    EXPECT_NOTE(p, "c0:post_stop");
    EXPECT_NOTE(p, "c0:pre_start");
  }
  fail_with(p, c0, ERR_RESTART);
  /* The third restart is one too many: c0 stops, the boss fails with
   * c0's code (whether c0's decider is asked first is not promised). */
  const Note *n = (const Note *)akt_probe_fish_for(d, decides_boss, NULL, 1, 0);
  char want[160];
  snprintf(want, sizeof want, "decide boss0 code=%d source=%d restarts=0 -> resume", ERR_RESTART,
           AKT_FAILED_ESCALATED);
  assert_string_equal(n->text, want);
  akt_probe_expect_terminated(w, c0, 0);
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void restarts_older_than_the_window_do_not_count(void **state) {
  (void)state;
  SIM_ONLY(); /* spacing failures by 2 s of virtual time */
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESTART};
  akt_supervisor sup = {.decider = by_code, .decider_arg = &dc, .max_restarts = 1,
                        .within = AKT_SECONDS(1)};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  for (int i = 0; i < 4; i++) {
    fail_with(p, c0, ERR_RESTART);
    API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> restart", ERR_RESTART,
                     AKT_FAILED_IN_RECEIVE);
    EXPECT_NOTE(p, "c0:post_stop");
    EXPECT_NOTE(p, "c0:pre_start");
    akt_testkit_advance(tk, AKT_SECONDS(2));
  }
  akt_probe_expect_no_msg(w, AKT_MILLIS(10));
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

/* When each restart of c0 happened, as seen by the probe. */
static uint64_t restart_delay(akt_testkit *tk, akt_probe *p, akt_pid *c0) {
  uint64_t t0 = akt_testkit_now(tk);
  fail_with(p, c0, ERR_RESTART);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  return akt_probe_last_arrival(p) - t0;
}

static void restarts_back_off_exponentially_up_to_the_cap(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.backoff_min = AKT_MILLIS(100), .backoff_max = AKT_MILLIS(400)};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  const akt_duration want[] = {AKT_MILLIS(100), AKT_MILLIS(200), AKT_MILLIS(400), AKT_MILLIS(400)};
  for (size_t i = 0; i < 4; i++) {
    uint64_t d = restart_delay(tk, p, c0);
    assert_true(d >= want[i]);
    /* On virtual time, exactly then (plus the turns it takes). */
    if (API_SIM()) assert_true(d < want[i] + AKT_MILLIS(1));
  }
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

/* One run: the four restart delays with 10% jitter from `seed`. */
static void jittered_delays(uint64_t seed, uint64_t out[4]) {
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.use_seed = 1, .seed = seed});
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.backoff_min = AKT_MILLIS(100), .backoff_max = AKT_MILLIS(100),
                        .jitter_percent = 10};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  for (int i = 0; i < 4; i++) out[i] = restart_delay(tk, p, c0);
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void backoff_jitter_stays_within_its_percent_and_follows_the_seed(void **state) {
  (void)state;
  SIM_ONLY();
  uint64_t a[4], b[4], c[4];
  jittered_delays(1, a);
  jittered_delays(1, b);
  jittered_delays(2, c);
  int varied = 0, differs = 0;
  for (int i = 0; i < 4; i++) {
    assert_true(a[i] >= AKT_MILLIS(90));
    assert_true(a[i] <= AKT_MILLIS(111));
    assert_int_equal(a[i], b[i]);
    varied |= a[i] != a[0];
    differs |= a[i] != c[i];
  }
  assert_true(varied);
  assert_true(differs);
}

static void a_supervisor_the_header_refuses_fails_the_spawn_with_einval(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  const akt_supervisor bad[] = {
      {.jitter_percent = AKT_MAX_JITTER_PERCENT + 1},
      {.backoff_min = AKT_SECONDS(2), .backoff_max = AKT_SECONDS(1)},
      {.strategy = (akt_strategy)7},
  };
  node_cfg cfg = {0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    akt_spawn_opts o = {.arg = &cfg, .supervisor = &bad[i]};
    akt_pid *a = NULL;
    assert_int_equal(akt_spawn(sys, "a", &node_def, &o, &a), AKT_EINVAL);
    assert_null(a);
  }
  akt_supervisor fine = {.jitter_percent = AKT_MAX_JITTER_PERCENT, .backoff_min = AKT_SECONDS(1)};
  akt_spawn_opts o = {.arg = &cfg, .supervisor = &fine};
  assert_int_equal(akt_spawn(sys, "a", &node_def, &o, NULL), AKT_OK);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_restart_drops_behaviour_timers_and_pending_requests),
    cmocka_unit_test(a_restart_stops_the_children_first),
    cmocka_unit_test(a_restart_hands_the_stash_back_ahead_of_the_mailbox),
    cmocka_unit_test(more_restarts_than_allowed_within_the_window_stop_the_child_and_escalate),
    cmocka_unit_test(restarts_older_than_the_window_do_not_count),
    cmocka_unit_test(restarts_back_off_exponentially_up_to_the_cap),
    cmocka_unit_test(backoff_jitter_stays_within_its_percent_and_follows_the_seed),
    cmocka_unit_test(a_supervisor_the_header_refuses_fails_the_spawn_with_einval),
};

AKT_TEST_MAIN_BOTH("api-supervisor-restarts", tests)
