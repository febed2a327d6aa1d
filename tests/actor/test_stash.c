/* Stash: setting messages aside and handing them back — on both backends. */
#include "../support/actors.h"
#include "../support/both.h"
#include "probe_tell.h"

/* A gate stashes Pings while closed; Cmd{"open"} opens it and unstashes
 * everything, Cmd{"one"} lets exactly one stashed Ping through;
 * Cmd{"count"} replies Total{stash size}. Open, it answers Pong{n}. */
typedef struct gate_state {
  int open, let;
} gate_state;

static int gate_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  gate_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    if (!s->open && s->let == 0) return akt_stash(ctx);
    if (!s->open) s->let--;
    Pong p = PONG__INIT;
    p.n = ((const Ping *)msg)->n;
    return akt_reply(ctx, &p.base);
  }
  if (akt_msg_is(msg, &cmd__descriptor)) {
    const char *op = ((const Cmd *)msg)->op;
    if (!strcmp(op, "open")) {
      s->open = 1;
      return akt_unstash_all(ctx) >= 0 ? 0 : AKT_EFAILED;
    }
    if (!strcmp(op, "one")) {
      s->let++;
      return akt_unstash(ctx);
    }
    if (!strcmp(op, "count")) {
      Total t = TOTAL__INIT;
      t.value = (int64_t)akt_stash_size(ctx);
      return akt_reply(ctx, &t.base);
    }
    if (!strcmp(op, "hold")) {
      if (!s->open) return akt_stash(ctx);
      Cmd held = CMD__INIT;
      held.op = "held";
      held.arg = ((const Cmd *)msg)->arg;
      return akt_reply(ctx, &held.base);
    }
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def gate_def = {.kind = "gate", .state_size = sizeof(gate_state),
                                       .receive = gate_receive};

static void stash_holds_messages_until_unstashed(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *g = akt_testkit_spawn(tk, "gate", &gate_def);
  for (int i = 1; i <= 3; i++) ping_n(p, g, i);
  cmd(p, g, "count");
  assert_int_equal(((const Total *)akt_probe_expect_msg(p, &total__descriptor, 0))->value, 3);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  cmd(p, g, "one"); /* exactly the oldest comes back */
  assert_int_equal(((const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0))->n, 1);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  ping_n(p, g, 4);
  cmd(p, g, "open"); /* unstashed 2, 3, 4 come before 5, queued behind */
  ping_n(p, g, 5);
  for (int i = 2; i <= 5; i++) {
    const Pong *pong = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
    assert_int_equal(pong->n, i);
    assert_ptr_equal(akt_probe_last_sender(p), g);
  }
  akt_testkit_free(tk);
}

/* On any Cmd, requests the Cmd's sender (a Ping with a correlation id)
 * and tells the reply to the PID in its arg. */
static int ask_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  if (status) return status;
  return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), reply);
}

static int asker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  Ping ping = PING__INIT;
  ping.n = 77;
  return akt_request(ctx, akt_ctx_sender(ctx), &ping.base, AKT_SECONDS(5), ask_reply, NULL);
}

static const akt_actor_def asker_def = {.kind = "asker", .receive = asker_receive};

static void stashed_requests_and_long_messages_come_back_whole(void **state) {
  /* A Ping request (a correlation id) and a Cmd of a few cache lines are
   * written into the gate's mailbox slots; stashing copies them out. */
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *g = akt_testkit_spawn(tk, "gate", &gate_def);
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *a = akt_testkit_spawn_opts(tk, "asker", &asker_def, &o);
  char text[300];
  for (size_t i = 0; i < sizeof text - 1; i++) text[i] = (char)('a' + i % 26);
  text[sizeof text - 1] = '\0';
  Cmd hold = CMD__INIT;
  hold.op = "hold";
  hold.arg = text;
  akt_probe_tell(p, g, &hold.base);
  Cmd ask = CMD__INIT;
  ask.op = "ask";
  akt_tell_as(a, &ask.base, g); /* the asker requests the gate */
  /* Until the asker's request is stashed too: on libuv the asker may wait
   * for a CPU while any number of counts go round, so the bound is time
   * (a hang's), not a number of tries. */
  int64_t stashed = 0;
  uint64_t give_up = akt_testkit_now(tk) + AKT_TEST_UV_TIMEOUT;
  for (;;) {
    cmd(p, g, "count");
    stashed = ((const Total *)akt_probe_expect_msg(p, &total__descriptor, 0))->value;
    if (stashed >= 2 || akt_testkit_now(tk) >= give_up) break;
    akt_testkit_advance(tk, AKT_MILLIS(1));
  }
  assert_int_equal(stashed, 2);
  cmd(p, g, "open");
  const Cmd *held = (const Cmd *)akt_probe_expect_msg(p, &cmd__descriptor, 0);
  assert_string_equal(held->op, "held");
  assert_string_equal(held->arg, text);
  /* The reply went to the asker's continuation: the id survived the stash. */
  assert_int_equal(((const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0))->n, 77);
  akt_testkit_free(tk);
}

static void the_stash_is_bounded(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.stash_capacity = 2};
  akt_pid *g = akt_testkit_spawn_opts(tk, "gate", &gate_def, &o);
  for (int i = 1; i <= 3; i++) ping_n(p, g, i);
  cmd(p, g, "count");
  /* The third stash failed (AKT_EFULL): the gate was restarted, stash handed back. */
  akt_probe_expect_msg(p, &total__descriptor, 0);
  akt_actor_metrics m;
  akt_actor_get_metrics(g, &m);
  assert_int_equal(m.failures, 1);
  akt_testkit_free(tk);
}

static void stashed_messages_are_dead_letters_at_termination(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *g = akt_testkit_spawn(tk, "gate", &gate_def);
  ping_n(p, g, 1);
  ping_n(p, g, 2);
  akt_probe_watch(p, g);
  akt_system_stats before, after;
  akt_testkit_run_until_idle(tk);
  akt_system_get_stats(akt_testkit_system(tk), &before);
  akt_stop(g);
  akt_probe_expect_terminated(p, g, 0);
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.dead_letters - before.dead_letters, 2);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(stash_holds_messages_until_unstashed),
    cmocka_unit_test(stashed_requests_and_long_messages_come_back_whole),
    cmocka_unit_test(the_stash_is_bounded),
    cmocka_unit_test(stashed_messages_are_dead_letters_at_termination),
};

AKT_TEST_MAIN_BOTH("actor/stash", tests)
