/* test_timers.c — timers on virtual time: an hour passes in microseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <akt/testkit.h>

#include "messages.pb-c.h"

/* Remind{after_ms, text}: after that long, sends Reminder{text} to the
 * sender of Remind. */
typedef struct {
  akt_pid *who;
} reminder_state;

static int reminder_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  reminder_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &remind__descriptor)) {
    const Remind *r = (const Remind *)msg;
    akt_pid_release(s->who);
    s->who = akt_pid_retain(akt_ctx_sender(ctx));
    Reminder note = REMINDER__INIT;
    note.text = r->text;
    /* Key 1: a new Remind replaces the pending one. */
    return akt_timer_start(ctx, 1, AKT_MILLIS(r->after_ms), 0, &note.base);
  }
  if (akt_msg_is(msg, &reminder__descriptor)) return akt_send(ctx, s->who, msg);
  return AKT_EUNHANDLED;
}

static void reminder_post_stop(akt_ctx *ctx) {
  reminder_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->who);
}

static const akt_actor_def reminder_def = {.kind = "reminder",
                                           .state_size = sizeof(reminder_state),
                                           .receive = reminder_receive,
                                           .post_stop = reminder_post_stop};

static void reminds_after_an_hour(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = akt_testkit_spawn(tk, "reminder", &reminder_def);
  Remind req = REMIND__INIT;
  req.after_ms = 3600 * 1000;
  req.text = "stand up";
  akt_probe_tell(p, r, &req.base);

  akt_probe_expect_no_msg(p, AKT_SECONDS(3599)); /* an hour of virtual time... */
  const Reminder *got = (const Reminder *)akt_probe_expect_msg(p, &reminder__descriptor,
                                                              AKT_SECONDS(2));
  assert_string_equal(got->text, "stand up");    /* ...in microseconds of real time */
  akt_testkit_free(tk);
}

static void a_new_reminder_replaces_the_old(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = akt_testkit_spawn(tk, "reminder", &reminder_def);
  Remind first = REMIND__INIT, second = REMIND__INIT;
  first.after_ms = 500;
  first.text = "first";
  second.after_ms = 1000;
  second.text = "second";
  akt_probe_tell(p, r, &first.base);
  akt_testkit_advance(tk, AKT_MILLIS(400)); /* move the clock by hand */
  akt_probe_tell(p, r, &second.base);
  const Reminder *got = (const Reminder *)akt_probe_expect_within(
      p, &reminder__descriptor, AKT_MILLIS(999), AKT_MILLIS(1001));
  assert_string_equal(got->text, "second");
  akt_probe_expect_no_msg(p, AKT_SECONDS(10));
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reminds_after_an_hour),
      cmocka_unit_test(a_new_reminder_replaces_the_old),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
