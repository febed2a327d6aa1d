/* akt/actor.h's timers and akt/scheduler.h's scheduled messages — on both
 * backends; exact times on the simulator, lower bounds on libuv. */
#include "api.h"

/* ---- an actor with timers ---------------------------------------------------- */

/* Cmd{op:"start", n: key, arg: "once <delay ms>" | "every <delay> <interval>"}
 * starts timer n sending Ping{n}; Cmd{op:"cancel", n: key} cancels it;
 * Cmd{op:"active", n: key} tells whether it is. Every Ping it gets is noted
 * with its sender. */
static int timed_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_pid *to = api_reportee(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    akt_pid *s = akt_ctx_sender(ctx);
    return api_note(ctx, to, "tick %lld sender=%s", (long long)((const Ping *)msg)->n,
                    s ? akt_pid_path(s) : "-");
  }
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *c = (const Cmd *)msg;
  uint64_t key = (uint64_t)c->n;
  if (strcmp(c->op, "start") == 0) {
    unsigned long delay = 0, interval = 0;
    if (sscanf(c->arg, "once %lu", &delay) != 1) sscanf(c->arg, "every %lu %lu", &delay, &interval);
    Ping t = PING__INIT;
    t.n = c->n;
    int rc = akt_timer_start(ctx, key, AKT_MILLIS(delay), AKT_MILLIS(interval), &t.base);
    return api_note(ctx, to, "start=%s", akt_errname(rc));
  }
  if (strcmp(c->op, "cancel") == 0)
    return api_note(ctx, to, "cancel=%s", akt_errname(akt_timer_cancel(ctx, key)));
  if (strcmp(c->op, "active") == 0)
    return api_note(ctx, to, "active=%d", akt_timer_active(ctx, key));
  if (strcmp(c->op, "many") == 0) {
    Ping t = PING__INIT;
    int rc = 0, n = 0;
    while (n <= AKT_MAX_TIMERS && (rc = akt_timer_start(ctx, 1000 + (uint64_t)n, AKT_SECONDS(3600),
                                                        0, &t.base)) == 0)
      n++;
    int null_msg = akt_timer_start(ctx, 1, AKT_SECONDS(1), 0, NULL);
    return api_note(ctx, to, "started=%d rc=%s null=%s", n, akt_errname(rc), akt_errname(null_msg));
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def timed_def = {.kind = "timed", .receive = timed_receive};

static akt_pid *spawn_timed(akt_testkit *tk, akt_probe *p) {
  return akt_testkit_spawn_opts(tk, "t", &timed_def, &API_TO(p));
}

static void start(akt_probe *p, akt_pid *t, int64_t key, const char *how) {
  api_cmd(p, t, "start", how, key);
  EXPECT_NOTE(p, "start=AKT_OK");
}

static void a_timer_sends_its_message_once_after_the_delay_without_a_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *t = spawn_timed(tk, p);
  uint64_t t0 = akt_testkit_now(tk);
  start(p, t, 1, "once 200");
  EXPECT_NOTE(p, "tick 1 sender=-");
  uint64_t took = akt_probe_last_arrival(p) - t0;
  assert_true(took >= AKT_MILLIS(200));
  if (API_SIM()) assert_true(took < AKT_MILLIS(201));
  akt_probe_expect_no_msg(p, AKT_MILLIS(500)); /* once */
  akt_testkit_free(tk);
}

static void a_repeating_timer_sends_after_the_delay_then_every_interval(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *t = spawn_timed(tk, p);
  uint64_t t0 = akt_testkit_now(tk);
  start(p, t, 2, "every 300 100");
  for (int i = 0; i < 4; i++) {
    EXPECT_NOTE(p, "tick 2 sender=-");
    uint64_t at = akt_probe_last_arrival(p) - t0;
    uint64_t due = AKT_MILLIS(300) + (uint64_t)i * AKT_MILLIS(100);
    assert_true(at >= due);
    if (API_SIM()) assert_true(at < due + AKT_MILLIS(1));
  }
  api_cmd(p, t, "cancel", NULL, 2);
  /* Ticks that came meanwhile (a slow machine) are before the answer. */
  const ProtobufCMessage *m;
  char why[AKT_PROBE_FAILURE_MAX];
  while (akt_probe_try_expect_msg(p, &note__descriptor, 0, &m, why) == 0 &&
         strcmp(((const Note *)m)->text, "cancel=AKT_OK") != 0)
    assert_string_equal(((const Note *)m)->text, "tick 2 sender=-");
  assert_string_equal(((const Note *)m)->text, "cancel=AKT_OK");
  akt_probe_expect_no_msg(p, AKT_MILLIS(300));
  akt_testkit_free(tk);
}

static void a_timer_with_the_same_key_replaces_the_old_one(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *t = spawn_timed(tk, p);
  /* Both in one batch of messages, so the first cannot fire in between on
   * the simulator; on libuv a first tick would be a failure too unless it
   * came before the replacement, which the 10 s delay rules out. */
  api_cmd(p, t, "start", "once 10000", 3);
  api_cmd(p, t, "start", "once 100", 3);
  EXPECT_NOTE(p, "start=AKT_OK");
  EXPECT_NOTE(p, "start=AKT_OK");
  EXPECT_NOTE(p, "tick 3 sender=-");
  if (API_SIM()) akt_probe_expect_no_msg(p, AKT_SECONDS(20)); /* the 10 s one never comes */
  api_cmd(p, t, "active", NULL, 3);
  EXPECT_NOTE(p, "active=0");
  akt_testkit_free(tk);
}

static void a_cancelled_timer_sends_nothing_even_a_message_already_queued(void **state) {
  (void)state;
  /* One message per turn: after the turn that starts a 0 ms timer, the
   * simulator fires it (due at once) before the next turn, so its tick is
   * queued behind the cancel. On libuv the tick may come either side of
   * the cancel's turn; it must never be handled after it. */
  akt_system_options so = {.throughput = 1};
  akt_testkit *tk = TK_NEW(.system = &so);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *t = spawn_timed(tk, p);
  api_cmd(p, t, "start", "once 0", 4);
  api_cmd(p, t, "cancel", NULL, 4);
  EXPECT_NOTE(p, "start=AKT_OK");
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  if (strncmp(n->text, "tick", 4) == 0) {
    /* libuv: handled before the cancel, which then finds no timer. */
    assert_false(API_SIM());
    EXPECT_NOTE(p, "cancel=AKT_ENOENT");
  } else {
    assert_string_equal(n->text, "cancel=AKT_OK");
  }
  akt_probe_expect_no_msg(p, AKT_MILLIS(100));
  akt_testkit_free(tk);
}

static void cancel_and_active_know_which_timers_are_running(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *t = spawn_timed(tk, p);
  api_cmd(p, t, "active", NULL, 5);
  EXPECT_NOTE(p, "active=0");
  api_cmd(p, t, "cancel", NULL, 5);
  EXPECT_NOTE(p, "cancel=AKT_ENOENT");
  start(p, t, 5, "once 50");
  api_cmd(p, t, "active", NULL, 5);
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  /* Active until its message is received (libuv may already have done so). */
  if (strcmp(n->text, "active=1") != 0) {
    assert_string_equal(n->text, "tick 5 sender=-");
    EXPECT_NOTE(p, "active=0");
  } else {
    EXPECT_NOTE(p, "tick 5 sender=-");
  }
  /* A one-shot timer whose message was received is gone. */
  api_cmd(p, t, "active", NULL, 5);
  EXPECT_NOTE(p, "active=0");
  api_cmd(p, t, "cancel", NULL, 5);
  EXPECT_NOTE(p, "cancel=AKT_ENOENT");
  /* A repeating one stays active until cancelled. */
  start(p, t, 6, "every 3600000 3600000");
  api_cmd(p, t, "active", NULL, 6);
  EXPECT_NOTE(p, "active=1");
  api_cmd(p, t, "cancel", NULL, 6);
  EXPECT_NOTE(p, "cancel=AKT_OK");
  api_cmd(p, t, "active", NULL, 6);
  EXPECT_NOTE(p, "active=0");
  akt_testkit_free(tk);
}

static void an_actor_has_at_most_the_timer_limit(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *t = spawn_timed(tk, p);
  api_cmd(p, t, "many", NULL, 0);
  API_EXPECT_NOTEF(p, "started=%d rc=AKT_ELIMIT null=AKT_EINVAL", AKT_MAX_TIMERS);
  akt_testkit_free(tk);
}

static void timers_end_with_the_actor(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *t = spawn_timed(tk, p);
  start(p, t, 7, "every 20 20");
  EXPECT_NOTE(p, "tick 7 sender=-");
  assert_int_equal(akt_stop(t), 0);
  api_wait_terminated(tk, t);
  akt_probe_clear(p);
  akt_probe_clear(dl);
  /* No tick reaches it, nor dead letters, once it terminated. */
  akt_probe_expect_no_msg(dl, AKT_MILLIS(200));
  akt_probe_expect_no_msg(p, AKT_MILLIS(1));
  akt_testkit_free(tk);
}

/* ---- the system scheduler ---------------------------------------------------- */

static void a_scheduled_message_is_sent_once_after_the_delay_without_a_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  Ping m = PING__INIT;
  m.n = 1;
  uint64_t id = 0;
  uint64_t t0 = akt_testkit_now(tk);
  assert_int_equal(akt_schedule(akt_testkit_system(tk), AKT_MILLIS(150), 0, akt_probe_pid(p),
                                &m.base, &id),
                   0);
  assert_true(id != 0);
  m.n = 99; /* copied at the call */
  const Ping *got = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0);
  assert_int_equal(got->n, 1);
  assert_null(akt_probe_last_sender(p));
  assert_true(akt_probe_last_arrival(p) - t0 >= AKT_MILLIS(150));
  if (API_SIM()) assert_true(akt_probe_last_arrival(p) - t0 < AKT_MILLIS(151));
  akt_probe_expect_no_msg(p, AKT_MILLIS(300));
  /* A one-shot that was sent can no longer be cancelled. */
  assert_int_equal(akt_schedule_cancel(akt_testkit_system(tk), id), AKT_ENOENT);
  akt_testkit_free(tk);
}

static void a_repeating_schedule_sends_until_cancelled(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping m = PING__INIT;
  uint64_t id = 0;
  uint64_t t0 = akt_testkit_now(tk);
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(100), AKT_MILLIS(50), akt_probe_pid(p), &m.base,
                                &id),
                   0);
  for (int i = 0; i < 3; i++) {
    akt_probe_expect_msg(p, &ping__descriptor, 0);
    uint64_t due = AKT_MILLIS(100) + (uint64_t)i * AKT_MILLIS(50);
    assert_true(akt_probe_last_arrival(p) - t0 >= due);
    if (API_SIM()) assert_true(akt_probe_last_arrival(p) - t0 < due + AKT_MILLIS(1));
  }
  akt_probe_clear(p);
  assert_int_equal(akt_schedule_cancel(sys, id), 0);
  /* A send already under way (libuv) may still land; none starts
   * afterwards: not the five more that 250 ms would bring. */
  akt_testkit_advance(tk, AKT_MILLIS(250));
  assert_true(akt_probe_queued(p) <= (API_SIM() ? 0u : 1u));
  assert_int_equal(akt_schedule_cancel(sys, id), AKT_ENOENT);
  akt_testkit_free(tk);
}

static void schedule_checks_its_arguments_and_ids_are_never_zero(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping m = PING__INIT;
  uint64_t id = 0;
  assert_int_equal(akt_schedule(NULL, 0, 0, akt_probe_pid(p), &m.base, &id), AKT_EINVAL);
  assert_int_equal(akt_schedule(sys, 0, 0, NULL, &m.base, &id), AKT_EINVAL);
  assert_int_equal(akt_schedule(sys, 0, 0, akt_probe_pid(p), NULL, &id), AKT_EINVAL);
  assert_int_equal(akt_schedule_cancel(NULL, 1), AKT_EINVAL);
  assert_int_equal(akt_schedule_cancel(sys, 12345), AKT_ENOENT);
  uint64_t ids[8];
  for (int i = 0; i < 8; i++) {
    assert_int_equal(akt_schedule(sys, AKT_SECONDS(3600), 0, akt_probe_pid(p), &m.base, &ids[i]), 0);
    assert_true(ids[i] != 0);
    for (int k = 0; k < i; k++) assert_true(ids[k] != ids[i]);
  }
  /* id may be NULL. */
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(1), 0, akt_probe_pid(p), &m.base, NULL), 0);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  /* A message too large to copy. */
  Rich big = RICH__INIT;
  big.b.len = AKT_MSG_MAX_COPY + 1;
  big.b.data = calloc(1, big.b.len);
  assert_int_equal(akt_schedule(sys, 0, 0, akt_probe_pid(p), &big.base, &id), AKT_ELIMIT);
  free(big.b.data);
  akt_testkit_free(tk);
}

static void scheduling_after_shutdown_is_estopped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping m = PING__INIT;
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  uint64_t id = 7;
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(1), 0, akt_probe_pid(p), &m.base, &id), AKT_ESTOPPED);
  akt_testkit_free(tk);
}

static void the_scheduler_holds_at_most_its_limit(void **state) {
  (void)state;
  SIM_ONLY(); /* 65536 timers: cheap on virtual time */
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping m = PING__INIT;
  for (unsigned i = 0; i < AKT_MAX_SCHEDULED; i++)
    assert_int_equal(akt_schedule(sys, AKT_SECONDS(3600), 0, akt_probe_pid(p), &m.base, NULL), 0);
  uint64_t id = 0;
  assert_int_equal(akt_schedule(sys, AKT_SECONDS(3600), 0, akt_probe_pid(p), &m.base, &id),
                   AKT_ELIMIT);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_timer_sends_its_message_once_after_the_delay_without_a_sender),
    cmocka_unit_test(a_repeating_timer_sends_after_the_delay_then_every_interval),
    cmocka_unit_test(a_timer_with_the_same_key_replaces_the_old_one),
    cmocka_unit_test(a_cancelled_timer_sends_nothing_even_a_message_already_queued),
    cmocka_unit_test(cancel_and_active_know_which_timers_are_running),
    cmocka_unit_test(an_actor_has_at_most_the_timer_limit),
    cmocka_unit_test(timers_end_with_the_actor),
    cmocka_unit_test(a_scheduled_message_is_sent_once_after_the_delay_without_a_sender),
    cmocka_unit_test(a_repeating_schedule_sends_until_cancelled),
    cmocka_unit_test(schedule_checks_its_arguments_and_ids_are_never_zero),
    cmocka_unit_test(scheduling_after_shutdown_is_estopped),
    cmocka_unit_test(the_scheduler_holds_at_most_its_limit),
};

AKT_TEST_MAIN_BOTH("api-timers", tests)
