/* test_behavior.c — become/unbecome, stash, timers, passivation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <akt/testkit.h>

#include "messages.pb-c.h"

/* A door: closed, it stashes knocks; opened, it answers them all, oldest
 * first, then every new one at once. */
static int answer(akt_ctx *ctx, const Knock *k) {
  char text[64];
  snprintf(text, sizeof text, "come in, %s", k->who);
  Knock reply = KNOCK__INIT;
  reply.who = text;
  return akt_reply(ctx, &reply.base);
}

static int door_closed(akt_ctx *ctx, const ProtobufCMessage *msg);

static int door_open(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &knock__descriptor)) return answer(ctx, (const Knock *)msg);
  if (akt_msg_is(msg, &close__descriptor)) return akt_unbecome(ctx); /* back to closed */
  return AKT_EUNHANDLED;
}

static int door_closed(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &knock__descriptor)) return akt_stash(ctx); /* later */
  if (akt_msg_is(msg, &open__descriptor)) {
    int rc = akt_become(ctx, door_open, 0); /* push: unbecome returns here */
    if (rc == 0) rc = akt_unstash_all(ctx) < 0 ? AKT_EFAILED : 0;
    return rc;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def door_def = {.kind = "door", .receive = door_closed};

static void knock(akt_probe *p, akt_pid *door, const char *who) {
  Knock k = KNOCK__INIT;
  k.who = (char *)who;
  akt_probe_tell(p, door, &k.base);
}

static void the_door_stashes_until_it_opens(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *door = akt_testkit_spawn(tk, "door", &door_def);
  knock(p, door, "ann");
  knock(p, door, "bob");
  akt_probe_expect_no_msg(p, AKT_SECONDS(1)); /* closed */
  Open o = OPEN__INIT;
  akt_probe_tell(p, door, &o.base);
  const Knock *k = (const Knock *)akt_probe_expect_msg(p, &knock__descriptor, 0);
  assert_string_equal(k->who, "come in, ann");
  k = (const Knock *)akt_probe_expect_msg(p, &knock__descriptor, 0);
  assert_string_equal(k->who, "come in, bob");
  akt_testkit_free(tk);
}

/* A heartbeat: every second it tells its arg Tick, from a timer it owns. */
static int heart_pre_start(akt_ctx *ctx) {
  Tick t = TICK__INIT;
  return akt_timer_start(ctx, 1, AKT_SECONDS(1), AKT_SECONDS(1), &t.base);
}

static int heart_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &tick__descriptor)) return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), msg);
  return AKT_EUNHANDLED;
}

static const akt_actor_def heart_def = {
    .kind = "heart", .pre_start = heart_pre_start, .receive = heart_receive};

static void a_timer_ticks_every_second(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts opts = {.arg = akt_probe_pid(p)};
  akt_testkit_spawn_opts(tk, "heart", &heart_def, &opts);
  for (int i = 0; i < 3; i++)
    akt_probe_expect_within(p, &tick__descriptor, AKT_MILLIS(999), AKT_MILLIS(1001));
  akt_testkit_free(tk);
}

/* A session actor that stops itself after 5 idle minutes. */
static int session_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

static const akt_actor_def session_def = {.kind = "session", .receive = session_receive};

static void an_idle_session_passivates(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts opts = {.passivate_after = AKT_SECONDS(300)};
  akt_pid *s = akt_testkit_spawn_opts(tk, "session-42", &session_def, &opts);
  akt_probe_watch(p, s);
  akt_probe_expect_no_msg(p, AKT_SECONDS(299));
  akt_probe_expect_terminated(p, s, AKT_SECONDS(2));
  /* Its later mail is a dead letter ("passivated"); akt_respawn brings it back. */
  Tick t = TICK__INIT;
  assert_int_equal(akt_tell(s, &t.base), AKT_ESTOPPED);
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_door_stashes_until_it_opens),
      cmocka_unit_test(a_timer_ticks_every_second),
      cmocka_unit_test(an_idle_session_passivates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
