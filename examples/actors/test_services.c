/* test_services.c — the event stream, dead letters, the scheduler,
 * mailboxes, metrics, blocking work and logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <akt/actor.pb-c.h>
#include <akt/testkit.h>

#include "messages.pb-c.h"

static void prices_are_published_to_subscribers(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *trader = akt_probe_new(tk, "trader");
  akt_subscribe(akt_probe_pid(trader), "prices");

  Price px = PRICE__INIT;
  px.symbol = "EURUSD";
  px.value = 1.08;
  int n = akt_publish(sys, "prices", &px.base, NULL); /* to every subscriber */
  assert_int_equal(n, 1);
  akt_probe_expect_equal(trader, &px.base, 0);
  akt_testkit_free(tk);
}

static int idle_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}
static const akt_actor_def idle_def = {.kind = "idle", .receive = idle_receive};

static void dead_letters_and_lifecycle_events(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *audit = akt_probe_new(tk, "audit");
  akt_subscribe(akt_probe_pid(audit), AKT_TOPIC_ACTOR_STOPPED);
  akt_subscribe(akt_probe_pid(audit), AKT_TOPIC_DEAD_LETTER);

  akt_pid *w = akt_testkit_spawn(tk, "w", &idle_def);
  akt_stop(w);
  const Akt__ActorEvent *e =
      (const Akt__ActorEvent *)akt_probe_expect_msg(audit, &akt__actor_event__descriptor, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__STOPPED);
  assert_string_equal(e->path, "/user/w");

  Tick t = TICK__INIT;
  akt_tell(w, &t.base); /* too late */
  const Akt__DeadLetter *d =
      (const Akt__DeadLetter *)akt_probe_expect_msg(audit, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->type, "Tick");
  assert_string_equal(d->reason, "terminated");
  akt_unsubscribe(akt_probe_pid(audit), AKT_TOPIC_DEAD_LETTER);
  akt_testkit_free(tk);
}

static void a_reminder_through_the_scheduler(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  Tick t = TICK__INIT;
  uint64_t id;
  akt_schedule(akt_testkit_system(tk), AKT_SECONDS(10), 0, akt_probe_pid(p), &t.base, &id);
  akt_probe_expect_within(p, &tick__descriptor, AKT_SECONDS(10), AKT_SECONDS(10));
  /* Repeating, then canceled. */
  akt_schedule(akt_testkit_system(tk), AKT_SECONDS(1), AKT_SECONDS(1), akt_probe_pid(p), &t.base,
               &id);
  akt_probe_expect_msg(p, &tick__descriptor, AKT_SECONDS(2));
  assert_int_equal(akt_schedule_cancel(akt_testkit_system(tk), id), 0);
  akt_probe_expect_no_msg(p, AKT_SECONDS(5));
  akt_testkit_free(tk);
}

/* A consumer behind a bounded mailbox: senders learn when it is full. */
static void a_bounded_mailbox_pushes_back(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_bounded_config cfg = {.capacity = 2};
  akt_spawn_opts opts = {.mailbox = &akt_mailbox_bounded, .mailbox_config = &cfg};
  akt_pid *slow = akt_testkit_spawn_opts(tk, "slow", &idle_def, &opts);
  akt_testkit_run_until_idle(tk);
  Tick t = TICK__INIT;
  assert_int_equal(akt_tell(slow, &t.base), 0);
  assert_int_equal(akt_tell(slow, &t.base), 0);
  assert_int_equal(akt_tell(slow, &t.base), AKT_EFULL); /* not queued; the sender knows */

  akt_actor_metrics m;
  akt_actor_get_metrics(slow, &m);
  assert_int_equal(m.mailbox_size, 2);
  akt_testkit_run_until_idle(tk);
  akt_actor_get_metrics(slow, &m);
  assert_int_equal(m.processed, 2);
  akt_testkit_free(tk);
}

/* Blocking work off the actor; its result comes back as a message. */
static int square(akt_work *w, void *arg) {
  const int64_t *x = arg;
  Square result = SQUARE__INIT;
  result.x = *x * *x; /* imagine a slow computation or a blocking call here */
  return akt_work_result(w, &result.base);
}

static void work_is_piped_back(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  static int64_t x = 12;
  akt_pipe_to(akt_testkit_system(tk), square, &x, akt_probe_pid(p), NULL);
  const Square *s = (const Square *)akt_probe_expect_msg(p, &square__descriptor, 0);
  assert_int_equal(s->x, 144);
  akt_testkit_free(tk);
}

/* Logs with structured fields, to a sink of your own. */
static char last_line[256];

static void my_sink(akt_log_level level, const char *line, void *data) {
  (void)level;
  (void)data;
  snprintf(last_line, sizeof last_line, "%s", line);
}

static void logging_with_fields(void **state) {
  (void)state;
  akt_system_options sys_opts = {.log_sink = my_sink, .log_level = AKT_LOG_INFO};
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.system = &sys_opts});
  akt_log_field fields[] = {{"order", "1234"}, {"status", "paid in full"}};
  akt_log_fields(akt_testkit_system(tk), AKT_LOG_INFO, "order updated", fields, 2);
  assert_string_equal(last_line, "order updated order=1234 status=\"paid in full\"");
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(prices_are_published_to_subscribers),
      cmocka_unit_test(dead_letters_and_lifecycle_events),
      cmocka_unit_test(a_reminder_through_the_scheduler),
      cmocka_unit_test(a_bounded_mailbox_pushes_back),
      cmocka_unit_test(work_is_piped_back),
      cmocka_unit_test(logging_with_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
