/* Passivation: an idle actor stops itself, and comes back with respawn —
 * on both backends. */
#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"
#include "akt/actor.pb-c.h"
#include "akt/sim.h"
#include "probe_tell.h"

/* Spawns /user/lazy, a reporter to `p` that passivates after `after`, and
 * watches it from p once it started. */
static akt_pid *spawn_lazy(akt_testkit *tk, akt_probe *p, akt_duration after) {
  akt_spawn_opts o = {.arg = akt_probe_pid(p), .passivate_after = after};
  akt_pid *r = akt_testkit_spawn_opts(tk, "lazy", &reporter_def, &o);
  EXPECT_NOTE(p, "lazy:pre_start");
  akt_probe_watch(p, r);
  return r;
}

/* A probe subscribed to `topic`. */
static akt_probe *subscriber(akt_testkit *tk, const char *topic) {
  akt_probe *s = akt_probe_new(tk, topic);
  assert_int_equal(akt_subscribe(akt_probe_pid(s), topic), 0);
  return s;
}

static void an_idle_actor_passivates(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *events = subscriber(tk, AKT_TOPIC_ACTOR_PASSIVATED);
  akt_pid *r = spawn_lazy(tk, p, AKT_MILLIS(100));
  /* Busy every 60 ms: it stays. Only on virtual time: on libuv a loaded
   * machine may hold the test thread past the 40 ms to spare, and the
   * actor then rightly passivates between two messages. */
  int sim = akt_test_backend == AKT_TESTKIT_SIM;
  uint64_t last = 0;
  for (int i = 0; i < (sim ? 3 : 1); i++) {
    if (sim) akt_testkit_advance(tk, AKT_MILLIS(60));
    last = akt_testkit_now(tk);
    ping_n(p, r, i);
    akt_probe_expect_msg(p, &pong__descriptor, 0);
  }
  if (sim) assert_true(akt_pid_is_running(r));
  /* Then idle: it stops no sooner than 100 ms after its last message. */
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  assert_string_equal(n->text, "lazy:post_stop");
  assert_true(akt_probe_last_arrival(p) - last >= AKT_MILLIS(100));
  akt_probe_expect_terminated(p, r, 0);
  const Akt__ActorEvent *e =
      (const Akt__ActorEvent *)akt_probe_expect_msg(events, &akt__actor_event__descriptor, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__PASSIVATED);
  assert_string_equal(e->path, "/user/lazy");
  /* A later message to its name: the old PID's mail is a dead letter, the
   * name resolves to nothing — until it is respawned. */
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(r, &ping.base), AKT_ESTOPPED);
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/lazy", &found), AKT_ENOENT);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(r, &again), 0);
  EXPECT_NOTE(p, "lazy:pre_start");
  assert_string_equal(akt_pid_path(again), "/user/lazy");
  assert_false(akt_pid_equal(again, r));
  ping_n(p, again, 7);
  assert_int_equal(((const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0))->n, 7);
  assert_int_equal(akt_respawn(again, NULL), AKT_ESTATE); /* still running */
  akt_pid_release(again);
  akt_testkit_free(tk);
}

static void mail_to_a_passivated_actor_is_a_dead_letter_marked_passivated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = subscriber(tk, AKT_TOPIC_DEAD_LETTER);
  akt_pid *r = spawn_lazy(tk, p, AKT_MILLIS(50));
  EXPECT_NOTE(p, "lazy:post_stop");
  akt_probe_expect_terminated(p, r, 0);
  Ping ping = PING__INIT;
  ping.n = 3;
  assert_int_equal(akt_tell(r, &ping.base), AKT_ESTOPPED);
  const Akt__DeadLetter *d =
      (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->reason, "passivated");
  assert_string_equal(d->target, "/user/lazy");
  assert_string_equal(d->type, "Ping");
  akt_testkit_free(tk);
}

/* The simulator's skew faults step a node's clock back (a real monotonic
 * clock cannot): a passivation check that then reads a time before the
 * last message counts the idle period from its reading, rather than
 * failing. */
static void a_clock_stepped_back_restarts_the_idle_period(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = spawn_lazy(tk, p, AKT_SECONDS(1)); /* its check is due at 1 s */
  akt_testkit_advance(tk, AKT_MILLIS(900));
  ping_n(p, r, 1);
  akt_probe_expect_msg(p, &pong__descriptor, 0);
  akt_backend *b = akt_system_backend(akt_testkit_system(tk));
  uint64_t last = b->ops->now(b);
  assert_int_equal(akt_sim_set_clock(akt_testkit_world(tk), b, -(int64_t)AKT_MILLIS(500), 0), 0);
  assert_true(b->ops->now(b) < last);
  /* The check fires before the clock is back at the last message: idle for
   * no time by it, the actor stays, and passivates a second of its clock
   * after that check. */
  akt_testkit_advance(tk, AKT_MILLIS(200));
  uint64_t checked = b->ops->now(b);
  assert_true(checked < last);
  assert_true(akt_pid_is_running(r));
  EXPECT_NOTE(p, "lazy:post_stop");
  assert_true(b->ops->now(b) >= checked - AKT_MILLIS(200) + AKT_SECONDS(1));
  akt_probe_expect_terminated(p, r, 0);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_idle_actor_passivates),
    cmocka_unit_test(mail_to_a_passivated_actor_is_a_dead_letter_marked_passivated),
    cmocka_unit_test(a_clock_stepped_back_restarts_the_idle_period),
};

AKT_TEST_MAIN_BOTH("actor/passivate", tests)
