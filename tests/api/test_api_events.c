/* akt/events.h: publish/subscribe, the lifecycle topics, dead letters on
 * the event stream — on both backends. */
#include "api.h"

static int quiet_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  if (api_is_cmd(msg, "unhandled")) return AKT_EUNHANDLED;
  (void)ctx;
  return 0;
}

static const akt_actor_def quiet_def = {.kind = "quiet", .receive = quiet_receive};

/* ---- publish / subscribe ----------------------------------------------------- */

static void a_publication_reaches_every_subscriber_as_a_copy_with_its_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b"), *c = akt_probe_new(tk, "c");
  assert_int_equal(akt_subscribe(akt_probe_pid(a), "prices"), 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(b), "prices"), 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(c), "other"), 0);
  char text[16] = "EURUSD";
  Note n = NOTE__INIT;
  n.text = text;
  assert_int_equal(akt_publish(sys, "prices", &n.base, akt_probe_pid(c)), 2);
  text[0] = 'X';
  EXPECT_NOTE(a, "EURUSD");
  assert_true(akt_pid_equal(akt_probe_last_sender(a), akt_probe_pid(c)));
  EXPECT_NOTE(b, "EURUSD");
  akt_probe_expect_no_msg(c, AKT_MILLIS(20));
  /* No subscribers: sent to none. */
  assert_int_equal(akt_publish(sys, "nobody", &n.base, NULL), 0);
  assert_int_equal(akt_publish(sys, "other", &n.base, NULL), 1);
  akt_probe_expect_msg(c, &note__descriptor, 0);
  assert_null(akt_probe_last_sender(c));
  akt_testkit_free(tk);
}

static void subscribing_twice_is_one_subscription_and_unsubscribe_ends_it(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *a = akt_probe_new(tk, "a");
  Note n = NOTE__INIT;
  n.text = "x";
  assert_int_equal(akt_subscribe(akt_probe_pid(a), "t"), 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(a), "t"), 0);
  assert_int_equal(akt_publish(sys, "t", &n.base, NULL), 1);
  EXPECT_NOTE(a, "x");
  akt_probe_expect_no_msg(a, AKT_MILLIS(20));
  assert_int_equal(akt_unsubscribe(akt_probe_pid(a), "t"), 0);
  assert_int_equal(akt_unsubscribe(akt_probe_pid(a), "t"), AKT_ENOENT);
  assert_int_equal(akt_unsubscribe(akt_probe_pid(a), "never"), AKT_ENOENT);
  assert_int_equal(akt_publish(sys, "t", &n.base, NULL), 0);
  akt_probe_expect_no_msg(a, AKT_MILLIS(20));
  akt_testkit_free(tk);
}

static void topic_names_and_arguments_are_checked(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *a = akt_probe_new(tk, "a");
  char longest[AKT_TOPIC_NAME_MAX + 2];
  memset(longest, 't', sizeof longest - 1);
  longest[AKT_TOPIC_NAME_MAX + 1] = '\0';
  assert_int_equal(akt_subscribe(akt_probe_pid(a), longest), AKT_ENAME);
  assert_int_equal(akt_subscribe(akt_probe_pid(a), ""), AKT_ENAME);
  longest[AKT_TOPIC_NAME_MAX] = '\0';
  assert_int_equal(akt_subscribe(akt_probe_pid(a), longest), 0);
  assert_int_equal(akt_subscribe(NULL, "t"), AKT_EINVAL);
  assert_int_equal(akt_subscribe(akt_probe_pid(a), NULL), AKT_EINVAL);
  assert_int_equal(akt_unsubscribe(NULL, "t"), AKT_EINVAL);
  Note n = NOTE__INIT;
  assert_int_equal(akt_publish(NULL, "t", &n.base, NULL), AKT_EINVAL);
  assert_int_equal(akt_publish(sys, NULL, &n.base, NULL), AKT_EINVAL);
  assert_int_equal(akt_publish(sys, "t", NULL, NULL), AKT_EINVAL);
  /* A message that cannot be copied. */
  Inner loop = INNER__INIT;
  loop.next = &loop;
  assert_int_equal(akt_publish(sys, longest, &loop.base, NULL), AKT_ELIMIT);
  akt_testkit_free(tk);
}

static void a_terminated_subscriber_is_dropped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *a = akt_probe_new(tk, "a");
  akt_pid *gone = akt_testkit_spawn(tk, "gone", &quiet_def);
  assert_int_equal(akt_subscribe(akt_probe_pid(a), "t"), 0);
  assert_int_equal(akt_subscribe(gone, "t"), 0);
  assert_int_equal(akt_stop(gone), 0);
  api_wait_terminated(tk, gone);
  Note n = NOTE__INIT;
  n.text = "first";
  akt_publish(sys, "t", &n.base, NULL); /* reaches it: it is dropped */
  n.text = "again";
  assert_int_equal(akt_publish(sys, "t", &n.base, NULL), 1);
  assert_int_equal(akt_unsubscribe(gone, "t"), AKT_ENOENT);
  EXPECT_NOTE(a, "first");
  EXPECT_NOTE(a, "again");
  akt_testkit_free(tk);
}

static void the_event_stream_is_node_local(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.nodes = 2);
  akt_probe *a = akt_probe_new_on(tk, 0, "a");
  assert_int_equal(akt_subscribe(akt_probe_pid(a), "t"), 0);
  Note n = NOTE__INIT;
  assert_int_equal(akt_publish(akt_testkit_node(tk, 1), "t", &n.base, NULL), 0);
  akt_probe_expect_no_msg(a, AKT_MILLIS(20));
  akt_testkit_free(tk);
}

/* ---- lifecycle events ---------------------------------------------------------- */

static akt_probe *subscribed(akt_testkit *tk, const char *name, const char *topic) {
  akt_probe *p = akt_probe_new(tk, name);
  assert_int_equal(akt_subscribe(akt_probe_pid(p), topic), 0);
  return p;
}

static int event_of(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  return akt_msg_is(m, &akt__actor_event__descriptor) &&
         ((const Akt__ActorEvent *)m)->id == akt_pid_id(arg);
}

/* The next event about `who` (the guardians, started while the test
 * subscribed, may come first). */
static const Akt__ActorEvent *expect_event(akt_probe *p, Akt__ActorEvent__Kind kind, akt_pid *who,
                                           const char *actor_kind) {
  const Akt__ActorEvent *e = (const Akt__ActorEvent *)akt_probe_fish_for(p, event_of, who, 16, 0);
  assert_int_equal(e->kind, kind);
  assert_string_equal(e->path, akt_pid_path(who));
  assert_int_equal(e->id, akt_pid_id(who));
  assert_string_equal(e->actor_kind, actor_kind);
  assert_true(akt_pid_equal(akt_probe_last_sender(p), who)); /* sent by the actor concerned */
  return e;
}

static void actor_lifecycle_events_are_published_on_their_topics(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *started = subscribed(tk, "started", AKT_TOPIC_ACTOR_STARTED);
  akt_probe *stopped = subscribed(tk, "stopped", AKT_TOPIC_ACTOR_STOPPED);
  akt_probe *restarted = subscribed(tk, "restarted", AKT_TOPIC_ACTOR_RESTARTED);
  akt_pid *q = akt_testkit_spawn(tk, "q", &quiet_def);
  expect_event(started, AKT__ACTOR_EVENT__KIND__STARTED, q, "quiet");
  Fail f = FAIL__INIT;
  f.code = AKT_EUSER_BASE - 5;
  akt_tell(q, &f.base);
  const Akt__ActorEvent *e = expect_event(restarted, AKT__ACTOR_EVENT__KIND__RESTARTED, q, "quiet");
  assert_int_equal(e->code, AKT_EUSER_BASE - 5);
  assert_int_equal(akt_stop(q), 0);
  expect_event(stopped, AKT__ACTOR_EVENT__KIND__STOPPED, q, "quiet");
  akt_testkit_free(tk);
}

/* ---- dead letters ------------------------------------------------------------ */

static void every_dead_letter_is_published_by_the_dead_letters_actor(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *dl = api_dead_letters(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *q = akt_testkit_spawn(tk, "q", &quiet_def);
  /* Unhandled. */
  api_cmd(p, q, "unhandled", "u", 7);
  const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Cmd", "unhandled");
  assert_string_equal(akt_pid_path(akt_probe_last_sender(dl)), "/system/deadletters");
  assert_string_equal(d->target, "/user/q");
  assert_int_equal(d->target_id, akt_pid_id(q));
  assert_string_equal(d->sender, akt_pid_path(akt_probe_pid(p)));
  Cmd *c = cmd__unpack(NULL, d->payload.len, d->payload.data);
  assert_non_null(c);
  assert_string_equal(c->op, "unhandled");
  assert_string_equal(c->arg, "u");
  assert_int_equal(c->n, 7);
  cmd__free_unpacked(c, NULL);
  /* To a terminated actor. */
  assert_int_equal(akt_stop(q), 0);
  api_wait_terminated(tk, q);
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(q, &m.base), AKT_ESTOPPED);
  d = api_expect_dead_letter(dl, "Ping", "terminated");
  assert_string_equal(d->sender, "");
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_publication_reaches_every_subscriber_as_a_copy_with_its_sender),
    cmocka_unit_test(subscribing_twice_is_one_subscription_and_unsubscribe_ends_it),
    cmocka_unit_test(topic_names_and_arguments_are_checked),
    cmocka_unit_test(a_terminated_subscriber_is_dropped),
    cmocka_unit_test(the_event_stream_is_node_local),
    cmocka_unit_test(actor_lifecycle_events_are_published_on_their_topics),
    cmocka_unit_test(every_dead_letter_is_published_by_the_dead_letters_actor),
};

AKT_TEST_MAIN_BOTH("api-events", tests)
