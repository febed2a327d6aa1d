/* Passivation (akt_spawn_opts.passivate_after, docs/actors.md): an idle
 * actor stops itself, its old PID's mail is "passivated", its path is free,
 * akt_respawn brings it back — on both backends. */
#include "api.h"

static int session_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &ping__descriptor))
    return api_note(ctx, api_reportee(ctx), "ping %lld", (long long)((const Ping *)msg)->n);
  return AKT_EUNHANDLED;
}

static void session_post_stop(akt_ctx *ctx) { api_note(ctx, api_reportee(ctx), "post_stop"); }

static const akt_actor_def session_def = {
    .kind = "session", .receive = session_receive, .post_stop = session_post_stop};

static akt_pid *spawn_session(akt_testkit *tk, akt_probe *p, akt_duration after) {
  akt_spawn_opts o = {.arg = akt_probe_pid(p), .passivate_after = after};
  return akt_testkit_spawn_opts(tk, "session", &session_def, &o);
}

static void ping(akt_probe *p, akt_pid *to, int64_t n) {
  Ping m = PING__INIT;
  m.n = n;
  akt_probe_tell(p, to, &m.base);
}

static void an_idle_actor_stops_itself_after_passivate_after(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_duration after = API_SIM() ? AKT_SECONDS(300) : AKT_MILLIS(200);
  uint64_t t0 = akt_testkit_now(tk);
  akt_pid *s = spawn_session(tk, p, after);
  akt_probe_watch(w, s);
  if (API_SIM()) akt_probe_expect_no_msg(w, after - AKT_SECONDS(1));
  EXPECT_NOTE(p, "post_stop");
  akt_probe_expect_terminated(w, s, after + AKT_TESTKIT_DEFAULT_TIMEOUT);
  uint64_t idle = akt_probe_last_arrival(w) - t0;
  assert_true(idle >= after);
  if (API_SIM()) assert_true(idle < after + AKT_MILLIS(1));
  akt_testkit_free(tk);
}

static void every_message_starts_the_idle_time_again(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *w = akt_probe_new(tk, "w");
  /* On libuv the gaps are a tenth of the idle time, so that a slow
   * machine does not passivate it between two messages. */
  akt_duration after = API_SIM() ? AKT_SECONDS(300) : AKT_SECONDS(1);
  akt_duration gap = API_SIM() ? after / 2 : after / 10;
  akt_pid *s = spawn_session(tk, p, after);
  akt_probe_watch(w, s);
  uint64_t last = 0;
  for (int i = 0; i < 4; i++) {
    akt_testkit_advance(tk, gap);
    last = akt_testkit_now(tk);
    ping(p, s, i);
    API_EXPECT_NOTEF(p, "ping %d", i);
  }
  akt_probe_expect_terminated(w, s, after + AKT_TESTKIT_DEFAULT_TIMEOUT);
  uint64_t idle = akt_probe_last_arrival(w) - last;
  assert_true(idle >= after);
  if (API_SIM()) assert_true(idle < after + AKT_MILLIS(1));
  akt_testkit_free(tk);
}

static void mail_to_a_passivated_actor_is_a_dead_letter_passivated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *s = spawn_session(tk, p, AKT_MILLIS(100));
  api_wait_terminated(tk, s);
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(s, &m.base), AKT_ESTOPPED);
  const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Ping", "passivated");
  assert_string_equal(d->target, "/user/session");
  akt_testkit_free(tk);
}

static void a_passivated_actors_path_is_free_and_respawn_brings_it_back(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *s = spawn_session(tk, p, AKT_MILLIS(100));
  api_wait_terminated(tk, s);
  EXPECT_NOTE(p, "post_stop");
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/session", &found), AKT_ENOENT);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(s, &again), 0);
  assert_string_equal(akt_pid_path(again), "/user/session");
  assert_false(akt_pid_equal(again, s));
  ping(p, again, 1);
  EXPECT_NOTE(p, "ping 1");
  /* The new incarnation passivates too: the options came with it. */
  api_wait_terminated(tk, again);
  EXPECT_NOTE(p, "post_stop");
  akt_pid_release(again);
  akt_testkit_free(tk);
}

static void subscribers_of_the_passivated_topic_hear_of_it(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *ev = akt_probe_new(tk, "events");
  assert_int_equal(akt_subscribe(akt_probe_pid(ev), AKT_TOPIC_ACTOR_PASSIVATED), 0);
  akt_pid *s = spawn_session(tk, p, AKT_MILLIS(100));
  const Akt__ActorEvent *e =
      (const Akt__ActorEvent *)akt_probe_expect_msg(ev, &akt__actor_event__descriptor, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__PASSIVATED);
  assert_string_equal(e->path, "/user/session");
  assert_int_equal(e->id, akt_pid_id(s));
  assert_string_equal(e->actor_kind, "session");
  assert_true(akt_pid_equal(akt_probe_last_sender(ev), s));
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_idle_actor_stops_itself_after_passivate_after),
    cmocka_unit_test(every_message_starts_the_idle_time_again),
    cmocka_unit_test(mail_to_a_passivated_actor_is_a_dead_letter_passivated),
    cmocka_unit_test(a_passivated_actors_path_is_free_and_respawn_brings_it_back),
    cmocka_unit_test(subscribers_of_the_passivated_topic_hear_of_it),
};

AKT_TEST_MAIN_BOTH("api-passivation", tests)
