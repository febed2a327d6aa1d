/* The event stream: lifecycle events, user topics and dead letters — on
 * both backends. */
#include "../support/actors.h"
#include "../support/both.h"
#include "akt/actor.pb-c.h"

static int is_event_of(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  return akt_msg_is(m, &akt__actor_event__descriptor) &&
         !strcmp(((const Akt__ActorEvent *)m)->path, arg);
}

static void lifecycle_events_are_published(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *ev = akt_probe_new(tk, "events");
  const char *topics[] = {AKT_TOPIC_ACTOR_STARTED, AKT_TOPIC_ACTOR_STOPPED,
                          AKT_TOPIC_ACTOR_RESTARTED};
  for (int i = 0; i < 3; i++) assert_int_equal(akt_subscribe(akt_probe_pid(ev), topics[i]), 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(ev), topics[0]), 0); /* twice: once */
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  const Akt__ActorEvent *e =
      (const Akt__ActorEvent *)akt_probe_fish_for(ev, is_event_of, "/user/c", 5, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__STARTED);
  assert_string_equal(e->actor_kind, "counter");
  assert_true(akt_pid_equal(akt_probe_last_sender(ev), c));
  assert_int_equal(akt_restart(c), 0);
  /* Events of other actors (the system's own, starting on other threads)
   * may come in between: fish for /user/c's. */
  e = (const Akt__ActorEvent *)akt_probe_fish_for(ev, is_event_of, "/user/c", 5, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__RESTARTED);
  akt_stop(c);
  e = (const Akt__ActorEvent *)akt_probe_fish_for(ev, is_event_of, "/user/c", 5, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__STOPPED);
  assert_int_equal(akt_unsubscribe(akt_probe_pid(ev), AKT_TOPIC_ACTOR_STARTED), 0);
  assert_int_equal(akt_unsubscribe(akt_probe_pid(ev), AKT_TOPIC_ACTOR_STARTED), AKT_ENOENT);
  akt_testkit_spawn(tk, "d", &counter_def);
  akt_testkit_run_until_idle(tk);
  akt_probe_clear(ev);
  akt_testkit_spawn(tk, "e", &counter_def);
  akt_probe_expect_no_msg(ev, AKT_MILLIS(20)); /* not subscribed to starts any more */
  akt_testkit_free(tk);
}

static void user_topics_reach_every_subscriber(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  akt_spawn_opts o = {.arg = akt_probe_pid(a)};
  akt_pid *f = akt_testkit_spawn_opts(tk, "fwd", &forwarder_def, &o);
  assert_int_equal(akt_subscribe(akt_probe_pid(b), "prices"), 0);
  assert_int_equal(akt_subscribe(f, "prices"), 0);
  Note n = NOTE__INIT;
  n.text = "EURUSD 1.08";
  assert_int_equal(akt_publish(sys, "prices", &n.base, NULL), 2);
  akt_probe_expect_equal(b, &n.base, 0);
  akt_probe_expect_equal(a, &n.base, 0); /* through the forwarder */
  assert_int_equal(akt_publish(sys, "nobody-listens", &n.base, NULL), 0);
  /* A terminated subscriber is dropped on the next publication. */
  akt_probe_watch(a, f);
  akt_stop(f);
  akt_probe_expect_terminated(a, f, 0);
  assert_int_equal(akt_publish(sys, "prices", &n.base, NULL), 1);
  assert_int_equal(akt_publish(sys, "prices", &n.base, NULL), 1);
  assert_int_equal(akt_subscribe(akt_probe_pid(b), ""), AKT_ENAME);
  assert_int_equal(akt_publish(sys, NULL, &n.base, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void dead_letters_are_published_with_their_reason(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *dl = akt_probe_new(tk, "dl");
  assert_int_equal(akt_subscribe(akt_probe_pid(dl), AKT_TOPIC_DEAD_LETTER), 0);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Ping ping = PING__INIT;
  ping.n = 5;
  akt_tell(c, &ping.base); /* unhandled */
  const Akt__DeadLetter *d =
      (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->reason, "unhandled");
  assert_string_equal(d->target, "/user/c");
  assert_string_equal(d->type, "Ping");
  Ping *orig = ping__unpack(NULL, d->payload.len, d->payload.data);
  assert_non_null(orig);
  assert_int_equal(orig->n, 5);
  ping__free_unpacked(orig, NULL);
  akt_probe_watch(dl, c);
  akt_stop(c);
  akt_probe_expect_terminated(dl, c, 0);
  akt_tell(c, &ping.base);
  d = (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->reason, "terminated");
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lifecycle_events_are_published),
    cmocka_unit_test(user_topics_reach_every_subscriber),
    cmocka_unit_test(dead_letters_are_published_with_their_reason),
};

AKT_TEST_MAIN_BOTH("system/events", tests)
