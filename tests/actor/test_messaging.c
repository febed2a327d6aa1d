/* Tell, ordering, value semantics, ask, request, reply, forward, dead
 * letters — on both backends. */
#include <stdio.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"

static void messages_from_one_sender_keep_their_order(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *f = akt_testkit_spawn_opts(tk, "f", &forwarder_def, &o);
  enum { N = 1000 };
  for (int i = 0; i < N; i++) {
    Ping ping = PING__INIT;
    ping.n = i;
    akt_probe_tell(p, f, &ping.base);
  }
  for (int i = 0; i < N; i++) {
    const Ping *got = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0);
    assert_int_equal(got->n, i);
    /* Forward keeps the original sender: the probe itself. */
    assert_ptr_equal(akt_probe_last_sender(p), akt_probe_pid(p));
  }
  akt_testkit_free(tk);
}

static void a_sent_message_is_a_copy(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn(tk, "echo", &echo_def);
  Inner deep = INNER__INIT, inner = INNER__INIT;
  deep.a = 3;
  deep.s = "deep";
  inner.a = 2;
  inner.next = &deep;
  int32_t xs[] = {1, 2, 3};
  char *names[] = {"x", "y"};
  uint8_t bytes[] = {0, 1, 2, 255};
  Rich r = RICH__INIT;
  r.s = "hello";
  r.b.data = bytes;
  r.b.len = sizeof bytes;
  r.n_xs = 3;
  r.xs = xs;
  r.n_names = 2;
  r.names = names;
  r.inner = &inner;
  r.choice_case = RICH__CHOICE_LABEL;
  r.label = "chosen";
  r.d = 2.5;
  r.flag = 1;
  r.color = COLOR__BLUE;
  akt_probe_tell(p, e, &r.base);
  /* Scribble over the sender's message: the receiver must not see it. */
  char expected_text[1024];
  akt_msg_format(&r.base, expected_text, sizeof expected_text);
  Rich copy = r;
  xs[0] = 99;
  names[1] = "changed";
  bytes[0] = 42;
  deep.a = 77;
  r.s = "mutated";
  (void)copy;
  const ProtobufCMessage *got = akt_probe_expect_msg(p, &rich__descriptor, 0);
  char got_text[1024];
  akt_msg_format(got, got_text, sizeof got_text);
  assert_string_equal(got_text, expected_text);
  const Rich *gr = (const Rich *)got;
  assert_int_equal(gr->xs[0], 1);
  assert_string_equal(gr->names[1], "y");
  assert_int_equal(gr->inner->next->a, 3);
  assert_string_equal(gr->label, "chosen");
  akt_testkit_free(tk);
}

static void messages_of_every_size_arrive_whole_and_in_order(void **state) {
  /* From one slot of the echo's mailbox to the most one claim takes
   * (1 KiB), and larger ones, queued there by pointer: interleaved, in
   * order, each a copy of what was sent. */
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn(tk, "echo", &echo_def);
  static char text[2048];
  for (size_t len = 0; len <= 2000; len += 97) {
    memset(text, 'a' + (int)(len % 26), len);
    text[len] = '\0';
    Cmd c = CMD__INIT;
    c.op = text;
    c.n = (int64_t)len;
    akt_probe_tell(p, e, &c.base);
  }
  memset(text, '#', sizeof text - 1); /* the copies must not see this */
  for (size_t len = 0; len <= 2000; len += 97) {
    const Cmd *got = (const Cmd *)akt_probe_expect_msg(p, &cmd__descriptor, 0);
    assert_int_equal(got->n, (int64_t)len);
    assert_int_equal(strlen(got->op), len);
    for (size_t i = 0; i < len; i++) assert_int_equal(got->op[i], 'a' + (int)(len % 26));
  }
  akt_testkit_free(tk);
}

static void ask_returns_the_reply(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  a.amount = 40;
  assert_int_equal(akt_tell(c, &a.base), 0);
  a.amount = 2;
  assert_int_equal(akt_tell(c, &a.base), 0);
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(c, &g.base, AKT_SECONDS(3), &reply), 0);
  assert_true(akt_msg_is(reply, &total__descriptor));
  assert_int_equal(((Total *)reply)->value, 42);
  akt_msg_free(reply);
  assert_int_equal(akt_ask(NULL, &g.base, AKT_SECONDS(1), &reply), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void ask_times_out_and_a_late_reply_is_a_dead_letter(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *f = akt_testkit_spawn_opts(tk, "f", &forwarder_def, &o);
  Ping ping = PING__INIT;
  ProtobufCMessage *reply = NULL;
  uint64_t t0 = akt_testkit_now(tk);
  /* The forwarder hands the ask to the probe, which does not answer in time. */
  assert_int_equal(akt_ask(f, &ping.base, AKT_MILLIS(50), &reply), AKT_ETIMEDOUT);
  assert_true(akt_testkit_now(tk) - t0 >= AKT_MILLIS(50));
  assert_null(reply);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  akt_system_stats before, after;
  akt_system_get_stats(akt_testkit_system(tk), &before);
  Pong pong = PONG__INIT;
  akt_probe_reply(p, &pong.base);
  akt_testkit_run_until_idle(tk);
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.dead_letters, before.dead_letters + 1);
  akt_testkit_free(tk);
}

/* A counter that keeps Gets waiting: Add adds; Get is stashed until
 * Cmd{"open"}, then answered Total with `return akt_reply(...)` — the
 * pattern the README teaches. */
typedef struct slow_counter {
  int64_t total;
  int open;
} slow_counter;

static int slow_counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  slow_counter *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &add__descriptor)) {
    s->total += ((const Add *)msg)->amount;
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    if (!s->open) return akt_stash(ctx);
    Total t = TOTAL__INIT;
    t.value = s->total;
    return akt_reply(ctx, &t.base);
  }
  if (akt_msg_is(msg, &cmd__descriptor) && !strcmp(((const Cmd *)msg)->op, "open")) {
    s->open = 1;
    return akt_unstash_all(ctx) >= 0 ? 0 : AKT_EFAILED;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def slow_counter_def = {
    .kind = "slow-counter", .state_size = sizeof(slow_counter), .receive = slow_counter_receive};

static void a_reply_to_a_requester_that_is_gone_is_not_a_failure(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *c = akt_testkit_spawn(tk, "c", &slow_counter_def);
  Add a = ADD__INIT;
  a.amount = 5;
  assert_int_equal(akt_tell(c, &a.base), 0);
  /* An ask that stops waiting, and a requester that terminates. */
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(c, &g.base, AKT_MILLIS(20), &reply), AKT_ETIMEDOUT);
  akt_pid *gone = akt_testkit_spawn(tk, "gone", &counter_def);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe_watch(p, gone);
  assert_int_equal(akt_stop(gone), 0);
  akt_probe_expect_terminated(p, gone, 0);
  assert_int_equal(akt_tell_as(c, &g.base, gone), 0);
  akt_system_stats before, after;
  akt_system_get_stats(sys, &before);
  /* Both replies go to dead letters; the counter neither fails nor loses
   * its total. */
  Cmd open = CMD__INIT;
  open.op = "open";
  assert_int_equal(akt_tell(c, &open.base), 0);
  assert_int_equal(akt_ask(c, &g.base, AKT_SECONDS(5), &reply), 0);
  assert_int_equal(((const Total *)reply)->value, 5);
  akt_msg_free(reply);
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(c, &m), 0);
  assert_int_equal(m.failures, 0);
  assert_int_equal(m.restarts, 0);
  akt_system_get_stats(sys, &after);
  assert_int_equal(after.dead_letters - before.dead_letters, 2);
  assert_int_equal(after.failures, before.failures);
  akt_testkit_free(tk);
}

/* The requester: on Cmd{op:"req", n} it requests Ping{n} from the PID found
 * at path Cmd.arg and reports the outcome to its arg as Note. The request
 * times out after 100 ms for op "req-100ms"; for "req" the timeout only
 * bounds a hang (a reply is expected, on libuv on a loaded machine too). */
static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  char text[64];
  if (status == 0)
    snprintf(text, sizeof text, "reply %lld", (long long)((const Pong *)reply)->n);
  else
    snprintf(text, sizeof text, "status %s", akt_errname(status));
  return note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), text);
}

static int requester_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *c = (const Cmd *)msg;
  akt_pid *target = NULL;
  int rc = akt_lookup(akt_ctx_system(ctx), c->arg, &target);
  if (rc) return rc;
  Ping ping = PING__INIT;
  ping.n = c->n;
  akt_duration timeout =
      !strcmp(c->op, "req-100ms") ? AKT_MILLIS(100) : AKT_TESTKIT_DEFAULT_TIMEOUT;
  rc = akt_request(ctx, target, &ping.base, timeout, on_reply, NULL);
  akt_pid_release(target);
  return rc;
}

static const akt_actor_def requester_def = {.kind = "requester", .receive = requester_receive};

static void request_continuation_gets_the_reply(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_testkit_spawn_opts(tk, "target", &reporter_def, &o);
  EXPECT_NOTE(p, "target:pre_start");
  akt_pid *req = akt_testkit_spawn_opts(tk, "req", &requester_def, &o);
  Cmd c = CMD__INIT;
  c.op = "req";
  c.arg = "/user/target";
  c.n = 5;
  akt_probe_tell(p, req, &c.base);
  EXPECT_NOTE(p, "req:reply 5");
  c.n = 6;
  akt_probe_tell(p, req, &c.base);
  EXPECT_NOTE(p, "req:reply 6");
  akt_testkit_free(tk);
}

static void request_times_out_in_the_requester(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_testkit_spawn(tk, "mute", &silent_def);
  akt_pid *req = akt_testkit_spawn_opts(tk, "req", &requester_def, &o);
  Cmd c = CMD__INIT;
  c.op = "req-100ms";
  c.arg = "/user/mute";
  uint64_t t0 = akt_testkit_now(tk);
  akt_probe_tell(p, req, &c.base);
  /* Not before the 100 ms, counted from before the request was sent. */
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  assert_string_equal(n->text, "req:status AKT_ETIMEDOUT");
  assert_true(akt_probe_last_arrival(p) - t0 >= AKT_MILLIS(100));
  akt_testkit_free(tk);
}

static void reply_to_a_tell_goes_back_to_the_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn(tk, "echo", &echo_def);
  Note n = NOTE__INIT;
  n.text = "hi";
  akt_probe_tell(p, e, &n.base);
  akt_probe_expect_equal(p, &n.base, 0);
  assert_true(akt_pid_equal(akt_probe_last_sender(p), e));
  /* Without a sender the reply has nowhere to go. */
  akt_system_stats before, after;
  akt_system_get_stats(akt_testkit_system(tk), &before);
  assert_int_equal(akt_tell(e, &n.base), 0);
  akt_testkit_run_until_idle(tk);
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.failures, before.failures + 1); /* AKT_ENOSENDER fails echo */
  akt_testkit_free(tk);
}

static void forwarded_request_completes_the_original_ask(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *c = akt_testkit_spawn(tk, "counter", &counter_def);
  akt_spawn_opts o = {.arg = c};
  akt_pid *f = akt_testkit_spawn_opts(tk, "f", &forwarder_def, &o);
  Add a = ADD__INIT;
  a.amount = 9;
  akt_tell(c, &a.base);
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(f, &g.base, AKT_SECONDS(3), &reply), 0);
  assert_int_equal(((Total *)reply)->value, 9);
  akt_msg_free(reply);
  akt_testkit_free(tk);
}

static void probe_forward_keeps_the_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *q = akt_probe_new(tk, "q");
  akt_pid *e = akt_testkit_spawn(tk, "echo", &echo_def);
  Ping ping = PING__INIT;
  ping.n = 3;
  akt_probe_tell(p, akt_probe_pid(q), &ping.base);
  akt_probe_expect_msg(q, &ping__descriptor, 0);
  akt_probe_forward(q, e);
  /* The echo replies to the original sender, p. */
  const Ping *back = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0);
  assert_int_equal(back->n, 3);
  akt_probe_expect_no_msg(q, AKT_MILLIS(20));
  akt_testkit_free(tk);
}

static void tell_to_a_stopped_actor_is_a_dead_letter(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  akt_probe_watch(p, c);
  assert_int_equal(akt_stop(c), 0);
  akt_probe_expect_terminated(p, c, 0);
  akt_system_stats before, after;
  akt_system_get_stats(akt_testkit_system(tk), &before);
  Add a = ADD__INIT;
  assert_int_equal(akt_tell(c, &a.base), AKT_ESTOPPED);
  assert_int_equal(akt_stop(c), AKT_ESTOPPED);
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.dead_letters, before.dead_letters + 1);
  akt_testkit_free(tk);
}

static void unhandled_messages_are_counted_dead_letters(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  akt_system_stats before, after;
  akt_system_get_stats(akt_testkit_system(tk), &before);
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(c, &ping.base), 0);
  assert_int_equal(akt_tell(c, &ping.base), 0);
  akt_testkit_run_until_idle(tk);
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.unhandled, before.unhandled + 2);
  assert_int_equal(after.dead_letters, before.dead_letters + 2);
  assert_int_equal(after.failures, before.failures);
  assert_true(akt_pid_is_running(c));
  akt_testkit_free(tk);
}

static void bad_arguments_are_einval(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(NULL, &ping.base), AKT_EINVAL);
  assert_int_equal(akt_tell(c, NULL), AKT_EINVAL);
  assert_int_equal(akt_reply(NULL, &ping.base), AKT_EINVAL);
  assert_int_equal(akt_forward(NULL, c), AKT_EINVAL);
  assert_int_equal(akt_stop(NULL), AKT_EINVAL);
  assert_int_equal(akt_send(NULL, c, &ping.base), AKT_EINVAL);
  assert_int_equal(akt_request(NULL, c, &ping.base, 1, on_reply, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(messages_from_one_sender_keep_their_order),
    cmocka_unit_test(a_sent_message_is_a_copy),
    cmocka_unit_test(messages_of_every_size_arrive_whole_and_in_order),
    cmocka_unit_test(ask_returns_the_reply),
    cmocka_unit_test(ask_times_out_and_a_late_reply_is_a_dead_letter),
    cmocka_unit_test(a_reply_to_a_requester_that_is_gone_is_not_a_failure),
    cmocka_unit_test(request_continuation_gets_the_reply),
    cmocka_unit_test(request_times_out_in_the_requester),
    cmocka_unit_test(reply_to_a_tell_goes_back_to_the_sender),
    cmocka_unit_test(forwarded_request_completes_the_original_ask),
    cmocka_unit_test(probe_forward_keeps_the_sender),
    cmocka_unit_test(tell_to_a_stopped_actor_is_a_dead_letter),
    cmocka_unit_test(unhandled_messages_are_counted_dead_letters),
    cmocka_unit_test(bad_arguments_are_einval),
};

AKT_TEST_MAIN_BOTH("actor/messaging", tests)
