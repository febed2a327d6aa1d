/* akt_actor_get_metrics (akt/actor.h) and akt_system_get_stats
 * (akt/system.h): what each counter counts — on both backends. */
#include "api.h"

/* Cmd{op:"self-mail", n}: sends itself n Pings, then notes its own
 * metrics (they are all waiting: this turn is not over). Fail fails. */
static int counted_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  if (api_is_cmd(msg, "self-mail")) {
    for (int64_t i = 0; i < ((const Cmd *)msg)->n; i++) {
      Ping m = PING__INIT;
      akt_send(ctx, akt_ctx_self(ctx), &m.base);
    }
    akt_actor_metrics m;
    int rc = akt_actor_get_metrics(akt_ctx_self(ctx), &m);
    return api_note(ctx, api_reportee(ctx), "rc=%s mailbox=%llu running=%d", akt_errname(rc),
                    (unsigned long long)m.mailbox_size, m.running);
  }
  if (api_is_cmd(msg, "unhandled")) return AKT_EUNHANDLED;
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    return akt_reply(ctx, &t.base);
  }
  return 0;
}

static const akt_actor_def counted_def = {.kind = "counted", .receive = counted_receive};

static akt_actor_metrics metrics_of(akt_pid *pid) {
  akt_actor_metrics m;
  memset(&m, 0xff, sizeof m);
  assert_int_equal(akt_actor_get_metrics(pid, &m), 0);
  return m;
}

/* A round trip through the actor: everything sent before is handled. */
static void sync_with(akt_probe *p, akt_pid *a) {
  Get g = GET__INIT;
  akt_probe_tell(p, a, &g.base);
  akt_probe_expect_msg(p, &total__descriptor, 0);
}

static void processed_counts_every_user_message_taken_from_the_mailbox(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &counted_def, &API_TO(p));
  akt_actor_metrics m = metrics_of(a);
  assert_int_equal(m.processed, 0);
  assert_true(m.running);
  for (int i = 0; i < 10; i++) {
    Ping ping = PING__INIT;
    akt_probe_tell(p, a, &ping.base);
  }
  api_cmd(p, a, "unhandled", NULL, 0); /* taken too, though unhandled */
  sync_with(p, a);
  m = metrics_of(a);
  assert_int_equal(m.processed, 12);
  assert_int_equal(m.mailbox_size, 0);
  assert_int_equal(m.failures, 0);
  assert_int_equal(m.restarts, 0);
  assert_int_equal(m.rejected, 0);
  akt_testkit_free(tk);
}

static void mailbox_size_counts_the_messages_waiting(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &counted_def, &API_TO(p));
  api_cmd(p, a, "self-mail", NULL, 3);
  EXPECT_NOTE(p, "rc=AKT_OK mailbox=3 running=1");
  sync_with(p, a);
  assert_int_equal(metrics_of(a).mailbox_size, 0);
  akt_testkit_free(tk);
}

static int failures_counted(void *arg) {
  akt_actor_metrics m;
  akt_actor_get_metrics(arg, &m);
  return m.restarts == 2;
}

static void failures_and_restarts_are_counted(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &counted_def, &API_TO(p));
  Fail f = FAIL__INIT;
  f.code = AKT_EFAILED;
  akt_probe_tell(p, a, &f.base);
  akt_probe_tell(p, a, &f.base);
  sync_with(p, a);
  test_wait_until(tk, failures_counted, a, "two restarts");
  akt_actor_metrics m = metrics_of(a);
  assert_int_equal(m.failures, 2);
  assert_int_equal(m.restarts, 2);
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_true(st.failures >= 2);
  akt_testkit_free(tk);
}

static void uptime_grows_while_running_and_is_frozen_at_termination(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &counted_def, &API_TO(p));
  uint64_t u0 = metrics_of(a).uptime_ns;
  akt_testkit_advance(tk, AKT_MILLIS(20));
  uint64_t u1 = metrics_of(a).uptime_ns;
  assert_true(u1 >= u0 + AKT_MILLIS(20));
  assert_int_equal(akt_stop(a), 0);
  api_wait_terminated(tk, a);
  akt_actor_metrics m = metrics_of(a);
  assert_false(m.running);
  akt_testkit_advance(tk, AKT_MILLIS(50));
  akt_actor_metrics later = metrics_of(a);
  assert_int_equal(later.uptime_ns, m.uptime_ns);
  assert_true(m.uptime_ns >= u1);
  akt_testkit_free(tk);
}

static void metrics_refuse_null_arguments(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *a = akt_testkit_spawn(tk, "a", &counted_def);
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(NULL, &m), AKT_EINVAL);
  assert_int_equal(akt_actor_get_metrics(a, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

typedef struct stats_want {
  akt_system *sys;
  akt_system_stats at_least;
} stats_want;

/* The counters are snapshots: a turn adds what it processed as it ends,
 * which may be after its reply reached the test (libuv). */
static int stats_settled(void *arg) {
  stats_want *w = arg;
  akt_system_stats st;
  akt_system_get_stats(w->sys, &st);
  return st.unhandled >= w->at_least.unhandled && st.dead_letters >= w->at_least.dead_letters &&
         st.processed >= w->at_least.processed;
}

static void system_stats_count_spawns_messages_dead_letters_and_unhandled(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_system_stats s0;
  akt_system_get_stats(sys, &s0);
  assert_true(s0.live_actors >= 3); /* root, /user, /system at least */
  assert_true(s0.spawned >= s0.live_actors);
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &counted_def, &API_TO(p));
  akt_pid *b = akt_testkit_spawn_opts(tk, "b", &counted_def, &API_TO(p));
  akt_system_stats s1;
  akt_system_get_stats(sys, &s1);
  assert_int_equal(s1.spawned, s0.spawned + 2);
  assert_int_equal(s1.live_actors, s0.live_actors + 2);
  for (int i = 0; i < 5; i++) {
    Ping m = PING__INIT;
    akt_probe_tell(p, a, &m.base);
  }
  sync_with(p, a);
  api_cmd(p, b, "unhandled", NULL, 0); /* a dead letter, "unhandled" */
  sync_with(p, b);
  assert_int_equal(akt_stop(b), 0);
  api_wait_terminated(tk, b);
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(b, &m.base), AKT_ESTOPPED); /* a dead letter, "terminated" */
  stats_want want = {sys, s1};
  want.at_least.processed += 8; /* 5 pings, 2 Gets, the unhandled Cmd */
  want.at_least.unhandled += 1;
  want.at_least.dead_letters += 2;
  test_wait_until(tk, stats_settled, &want, "the messages counted");
  akt_system_stats s2;
  akt_system_get_stats(sys, &s2);
  assert_int_equal(s2.processed, s1.processed + 8); /* 5 pings, 2 Gets, the unhandled Cmd */
  assert_int_equal(s2.unhandled, s1.unhandled + 1);
  assert_int_equal(s2.dead_letters, s1.dead_letters + 2);
  assert_int_equal(s2.live_actors, s1.live_actors - 1);
  assert_int_equal(s2.spawned, s1.spawned);
  assert_int_equal(s2.failures, s1.failures);
  assert_int_equal(s2.rejected, 0);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(processed_counts_every_user_message_taken_from_the_mailbox),
    cmocka_unit_test(mailbox_size_counts_the_messages_waiting),
    cmocka_unit_test(failures_and_restarts_are_counted),
    cmocka_unit_test(uptime_grows_while_running_and_is_frozen_at_termination),
    cmocka_unit_test(metrics_refuse_null_arguments),
    cmocka_unit_test(system_stats_count_spawns_messages_dead_letters_and_unhandled),
};

AKT_TEST_MAIN_BOTH("api-metrics", tests)
