/* akt/message.h: tell, send, request, ask, reply, forward, value
 * semantics, ordering, limits and the text form — on both backends. */
#include <stdatomic.h>
#include <stdlib.h>

#include "api.h"

/* ---- actors ------------------------------------------------------------------ */

/* Replies to Ping{n} with Pong{n}; notes everything else it gets, with the
 * sender's path. */
static int echo_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &ping__descriptor)) {
    Pong p = PONG__INIT;
    p.n = ((const Ping *)msg)->n;
    return akt_reply(ctx, &p.base);
  }
  akt_pid *s = akt_ctx_sender(ctx);
  char text[256];
  akt_msg_format(msg, text, sizeof text);
  return api_note(ctx, api_reportee(ctx), "%s from %s", text, s ? akt_pid_path(s) : "-");
}

static const akt_actor_def echo_def = {.kind = "echo", .receive = echo_receive};

/* Never answers. */
static int mute_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

static const akt_actor_def mute_def = {.kind = "mute", .receive = mute_receive};

/* A requester: Cmd{op:"request", n: timeout in ms, arg: "fail" to fail in
 * the continuation} sends Ping{n} to its target with akt_request and notes
 * each run of the continuation. */
typedef struct requester_cfg {
  akt_pid *to;     /* reportee */
  akt_pid *target; /* whom to ask */
} requester_cfg;

static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  const requester_cfg *cfg = akt_ctx_arg(ctx);
  char text[128] = "-";
  if (reply) akt_msg_format(reply, text, sizeof text);
  api_note(ctx, cfg->to, "continuation status=%s reply=%s arg=%s", akt_errname(status), text,
           (const char *)arg);
  return 0;
}

static int requester_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const requester_cfg *cfg = akt_ctx_arg(ctx);
  if (api_is_cmd(msg, "request")) {
    const Cmd *c = (const Cmd *)msg;
    Ping p = PING__INIT;
    p.n = c->n;
    int rc = akt_request(ctx, cfg->target, &p.base, AKT_MILLIS(c->n), on_reply, "tag");
    return api_note(ctx, cfg->to, "request=%s", akt_errname(rc));
  }
  if (api_is_cmd(msg, "request-and-stop")) {
    Ping p = PING__INIT;
    int rc = akt_request(ctx, cfg->target, &p.base, AKT_MILLIS(100), on_reply, "tag");
    if (rc == 0) rc = akt_stop(akt_ctx_self(ctx));
    return api_note(ctx, cfg->to, "request-and-stop=%s", akt_errname(rc));
  }
  if (api_is_cmd(msg, "bad-requests")) {
    Ping p = PING__INIT;
    int a = akt_request(ctx, NULL, &p.base, AKT_SECONDS(1), on_reply, NULL);
    int b = akt_request(ctx, cfg->target, NULL, AKT_SECONDS(1), on_reply, NULL);
    int c = akt_request(ctx, cfg->target, &p.base, AKT_SECONDS(1), NULL, NULL);
    return api_note(ctx, cfg->to, "%s %s %s", akt_errname(a), akt_errname(b), akt_errname(c));
  }
  if (api_is_cmd(msg, "many")) {
    Ping p = PING__INIT;
    int rc = 0, n = 0;
    while (n <= AKT_MAX_PENDING_REQUESTS &&
           (rc = akt_request(ctx, cfg->target, &p.base, AKT_SECONDS(3600), on_reply, "m")) == 0)
      n++;
    return api_note(ctx, cfg->to, "pending=%d rc=%s", n, akt_errname(rc));
  }
  if (api_is_cmd(msg, "ask")) {
    Ping p = PING__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = akt_ask(cfg->target, &p.base, AKT_MILLIS(10), &reply);
    return api_note(ctx, cfg->to, "ask=%s reply=%s", akt_errname(rc), reply ? "set" : "null");
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def requester_def = {.kind = "requester", .receive = requester_receive};

static akt_pid *spawn_requester(akt_testkit *tk, const char *name, requester_cfg *cfg) {
  akt_spawn_opts o = {.arg = cfg};
  return akt_testkit_spawn_opts(tk, name, &requester_def, &o);
}

/* ---- tell ---------------------------------------------------------------------- */

static void a_sent_message_is_copied_so_the_sender_may_reuse_its_memory(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn_opts(tk, "e", &echo_def, &API_TO(p));
  char text[32];
  Note n = NOTE__INIT;
  n.text = text;
  snprintf(text, sizeof text, "first");
  assert_int_equal(akt_tell(e, &n.base), 0);
  memset(text, 'X', sizeof text - 1); /* the sender's memory changes at once */
  text[sizeof text - 1] = '\0';
  EXPECT_NOTE(p, "Note { text: \"first\" } from -");
  akt_testkit_free(tk);
}

static void messages_from_one_sender_arrive_in_the_order_sent(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn_opts(tk, "e", &echo_def, &API_TO(p));
  enum { N = 500 };
  for (int i = 0; i < N; i++) {
    Ping m = PING__INIT;
    m.n = i;
    akt_probe_tell(p, e, &m.base);
  }
  for (int i = 0; i < N; i++) {
    const Pong *got = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
    assert_int_equal(got->n, i);
    assert_true(akt_pid_equal(akt_probe_last_sender(p), e));
  }
  akt_testkit_free(tk);
}

/* Several senders, each sending Token{hops: its number, origin: seq}; the
 * receiver checks each sender's sequence and, with an atomic flag, that it
 * never runs on two threads at once. */
typedef struct order_check {
  akt_pid *to;
  atomic_int inside;
  int overlaps, disorders, seen;
  int64_t next[8];
} order_check;

static int ordered_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  order_check *oc = (order_check *)akt_ctx_arg(ctx);
  if (atomic_exchange(&oc->inside, 1)) oc->overlaps++;
  const Token *t = (const Token *)msg;
  if ((int64_t)t->origin != oc->next[t->hops]) oc->disorders++;
  oc->next[t->hops] = (int64_t)t->origin + 1;
  int rc = 0;
  if (++oc->seen == 8 * 200)
    rc = api_note(ctx, oc->to, "overlaps=%d disorders=%d", oc->overlaps, oc->disorders);
  atomic_store(&oc->inside, 0);
  return rc;
}

static const akt_actor_def ordered_def = {.kind = "ordered", .receive = ordered_receive};

static int burst_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const Cmd *c = (const Cmd *)msg;
  akt_pid *target = (akt_pid *)akt_ctx_arg(ctx);
  for (uint64_t i = 0; i < 200; i++) {
    Token t = TOKEN__INIT;
    t.hops = c->n;
    t.origin = i;
    int rc = akt_send(ctx, target, &t.base);
    if (rc) return rc;
  }
  return 0;
}

static const akt_actor_def burst_def = {.kind = "burst", .receive = burst_receive};

static void many_senders_keep_their_own_order_and_the_receiver_runs_one_at_a_time(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  static order_check oc;
  memset(&oc, 0, sizeof oc);
  oc.to = akt_probe_pid(p);
  akt_spawn_opts ro = {.arg = &oc};
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &ordered_def, &ro);
  akt_pid *senders[8];
  for (int i = 0; i < 8; i++) {
    char name[16];
    snprintf(name, sizeof name, "s%d", i);
    akt_spawn_opts so = {.arg = r};
    senders[i] = akt_testkit_spawn_opts(tk, name, &burst_def, &so);
  }
  for (int i = 0; i < 8; i++) api_cmd(p, senders[i], "go", NULL, i);
  EXPECT_NOTE(p, "overlaps=0 disorders=0");
  akt_testkit_free(tk);
}

static void tell_refuses_null_arguments_with_einval(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *e = akt_testkit_spawn(tk, "e", &mute_def);
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(NULL, &m.base), AKT_EINVAL);
  assert_int_equal(akt_tell(e, NULL), AKT_EINVAL);
  assert_int_equal(akt_tell_as(e, NULL, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void tell_to_a_terminated_actor_is_estopped_and_a_dead_letter(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *e = akt_testkit_spawn(tk, "e", &mute_def);
  assert_int_equal(akt_stop(e), 0);
  api_wait_terminated(tk, e);
  akt_system_stats before, after;
  akt_system_get_stats(akt_testkit_system(tk), &before);
  Ping m = PING__INIT;
  m.n = 9;
  assert_int_equal(akt_tell(e, &m.base), AKT_ESTOPPED);
  const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Ping", "terminated");
  assert_string_equal(d->target, "/user/e");
  assert_int_equal(d->target_id, akt_pid_id(e));
  assert_string_equal(d->sender, "");
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.dead_letters, before.dead_letters + 1);
  akt_testkit_free(tk);
}

/* A chain of `depth` nested Inner messages below the top one. */
static Inner *inner_chain(size_t depth) {
  Inner *nodes = calloc(depth + 1, sizeof *nodes);
  for (size_t i = 0; i <= depth; i++) {
    inner__init(&nodes[i]);
    nodes[i].a = (int32_t)i;
    if (i) nodes[i - 1].next = &nodes[i];
  }
  return nodes;
}

static void a_message_nested_deeper_than_the_limit_is_refused_with_elimit(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn_opts(tk, "e", &echo_def, &API_TO(p));
  Inner *ok = inner_chain(AKT_MSG_MAX_DEPTH);
  Inner *deep = inner_chain(AKT_MSG_MAX_DEPTH + 1);
  assert_int_equal(akt_tell(e, &ok[0].base), 0);
  assert_int_equal(akt_tell(e, &deep[0].base), AKT_ELIMIT);
  akt_probe_expect_msg(p, &note__descriptor, 0); /* the accepted one arrives */
  /* A cycle is infinitely deep. */
  Inner loop = INNER__INIT;
  loop.next = &loop;
  assert_int_equal(akt_tell(e, &loop.base), AKT_ELIMIT);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  free(ok);
  free(deep);
  akt_testkit_free(tk);
}

static void a_message_larger_than_the_copy_limit_is_refused_with_elimit(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *e = akt_testkit_spawn(tk, "e", &mute_def);
  Rich r = RICH__INIT;
  r.b.len = AKT_MSG_MAX_COPY + 1;
  r.b.data = calloc(1, r.b.len); /* untouched pages: refused before it is read */
  assert_int_equal(akt_tell(e, &r.base), AKT_ELIMIT);
  free(r.b.data);
  akt_testkit_free(tk);
}

static int sender_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  Ping m = PING__INIT;
  return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), &m.base);
}

static const akt_actor_def sender_def = {.kind = "sender", .receive = sender_receive};

static void send_from_an_actor_carries_the_actor_as_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *s = akt_testkit_spawn_opts(tk, "s", &sender_def, &API_TO(p));
  Note go = NOTE__INIT;
  akt_probe_tell(p, s, &go.base);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  assert_true(akt_pid_equal(akt_probe_last_sender(p), s));
  akt_testkit_free(tk);
}

/* ---- request ---------------------------------------------------------------- */

static void a_request_continues_with_the_reply_exactly_once(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *target = akt_probe_new(tk, "target");
  requester_cfg cfg = {.to = akt_probe_pid(p), .target = akt_probe_pid(target)};
  akt_pid *r = spawn_requester(tk, "r", &cfg);
  api_cmd(p, r, "request", NULL, 5000);
  EXPECT_NOTE(p, "request=AKT_OK");
  const Ping *q = (const Ping *)akt_probe_expect_msg(target, &ping__descriptor, 0);
  assert_int_equal(q->n, 5000);
  assert_true(akt_pid_equal(akt_probe_last_sender(target), r));
  Pong pong = PONG__INIT;
  pong.n = 77;
  akt_probe_reply(target, &pong.base);
  EXPECT_NOTE(p, "continuation status=AKT_OK reply=Pong { n: 77 } arg=tag");
  /* A second reply to the same request is not a second continuation. */
  akt_probe_reply(target, &pong.base);
  if (API_SIM()) akt_testkit_advance(tk, AKT_SECONDS(6)); /* past the timeout too */
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_testkit_free(tk);
}

static void a_request_times_out_once_and_the_late_reply_is_a_dead_letter(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_probe *target = akt_probe_new(tk, "target");
  requester_cfg cfg = {.to = akt_probe_pid(p), .target = akt_probe_pid(target)};
  akt_pid *r = spawn_requester(tk, "r", &cfg);
  uint64_t t0 = akt_testkit_now(tk);
  api_cmd(p, r, "request", NULL, 200);
  EXPECT_NOTE(p, "request=AKT_OK");
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  EXPECT_NOTE(p, "continuation status=AKT_ETIMEDOUT reply=- arg=tag");
  /* Not before the timeout (and, on virtual time, right at it). */
  assert_true(akt_probe_last_arrival(p) - t0 >= AKT_MILLIS(200));
  if (API_SIM()) assert_true(akt_probe_last_arrival(p) - t0 < AKT_MILLIS(201));
  Pong pong = PONG__INIT;
  akt_probe_reply(target, &pong.base);
  api_expect_dead_letter(dl, "Pong", "late reply");
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_testkit_free(tk);
}

static void a_continuation_never_runs_when_the_requester_stopped_first(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *target = akt_probe_new(tk, "target");
  requester_cfg cfg = {.to = akt_probe_pid(p), .target = akt_probe_pid(target)};
  akt_pid *r = spawn_requester(tk, "r", &cfg);
  api_cmd(p, r, "request-and-stop", NULL, 0);
  EXPECT_NOTE(p, "request-and-stop=AKT_OK");
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  api_wait_terminated(tk, r);
  Pong pong = PONG__INIT;
  akt_probe_reply(target, &pong.base);
  /* Neither the reply nor the (100 ms) timeout runs it. */
  akt_probe_expect_no_msg(p, AKT_MILLIS(300));
  akt_testkit_free(tk);
}

static void a_request_that_cannot_be_sent_returns_the_error_and_never_continues(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *gone = akt_testkit_spawn(tk, "gone", &mute_def);
  assert_int_equal(akt_stop(gone), 0);
  api_wait_terminated(tk, gone);
  requester_cfg cfg = {.to = akt_probe_pid(p), .target = gone};
  akt_pid *r = spawn_requester(tk, "r", &cfg);
  api_cmd(p, r, "request", NULL, 100);
  EXPECT_NOTE(p, "request=AKT_ESTOPPED");
  akt_probe_expect_no_msg(p, AKT_MILLIS(300));
  api_cmd(p, r, "bad-requests", NULL, 0);
  EXPECT_NOTE(p, "AKT_EINVAL AKT_EINVAL AKT_EINVAL");
  akt_testkit_free(tk);
}

static void an_actor_has_at_most_the_pending_request_limit(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *m = akt_testkit_spawn(tk, "m", &mute_def);
  requester_cfg cfg = {.to = akt_probe_pid(p), .target = m};
  akt_pid *r = spawn_requester(tk, "r", &cfg);
  api_cmd(p, r, "many", NULL, 0);
  API_EXPECT_NOTEF(p, "pending=%d rc=AKT_ELIMIT", AKT_MAX_PENDING_REQUESTS);
  akt_testkit_free(tk);
}

/* ---- ask ----------------------------------------------------------------------- */

static void ask_returns_the_reply_for_the_caller_to_free(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn_opts(tk, "e", &echo_def, &API_TO(p));
  Ping m = PING__INIT;
  m.n = 41;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(e, &m.base, AKT_SECONDS(5), &reply), 0);
  assert_true(akt_msg_is(reply, &pong__descriptor));
  assert_int_equal(((Pong *)reply)->n, 41);
  akt_msg_free(reply);
  akt_msg_free(NULL); /* a no-op */
  akt_testkit_free(tk);
}

static void ask_times_out_with_etimedout(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *m = akt_testkit_spawn(tk, "m", &mute_def);
  Ping q = PING__INIT;
  ProtobufCMessage *reply = NULL;
  uint64_t t0 = akt_testkit_now(tk);
  assert_int_equal(akt_ask(m, &q.base, AKT_MILLIS(100), &reply), AKT_ETIMEDOUT);
  assert_null(reply);
  assert_true(akt_testkit_now(tk) - t0 >= AKT_MILLIS(100));
  akt_testkit_free(tk);
}

static void ask_of_a_terminated_actor_returns_the_send_error(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *m = akt_testkit_spawn(tk, "m", &mute_def);
  assert_int_equal(akt_stop(m), 0);
  api_wait_terminated(tk, m);
  Ping q = PING__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(m, &q.base, AKT_SECONDS(1), &reply), AKT_ESTOPPED);
  assert_null(reply);
  assert_int_equal(akt_ask(NULL, &q.base, AKT_SECONDS(1), &reply), AKT_EINVAL);
  assert_int_equal(akt_ask(m, NULL, AKT_SECONDS(1), &reply), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void ask_from_inside_an_actor_is_estate(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn_opts(tk, "e", &echo_def, &API_TO(p));
  requester_cfg cfg = {.to = akt_probe_pid(p), .target = e};
  akt_pid *r = spawn_requester(tk, "r", &cfg);
  api_cmd(p, r, "ask", NULL, 0);
  EXPECT_NOTE(p, "ask=AKT_ESTATE reply=null");
  akt_testkit_free(tk);
}

/* ---- reply ----------------------------------------------------------------- */

/* The README's counter: Add adds, Get replies the total, and the return of
 * akt_reply is the return of receive. It notes what akt_reply returned. */
typedef struct {
  int64_t total;
} counter_state;

static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  counter_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &add__descriptor)) {
    s->total += ((const Add *)msg)->amount;
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = s->total;
    int rc = akt_reply(ctx, &t.base);
    if (akt_ctx_arg(ctx)) api_note(ctx, api_reportee(ctx), "reply=%s", akt_errname(rc));
    return rc;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def counter_def = {.kind = "counter", .state_size = sizeof(counter_state),
                                          .receive = counter_receive};

static void a_reply_to_a_requester_that_is_gone_returns_zero_and_is_a_dead_letter(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_probe *asker = akt_probe_new(tk, "asker");
  akt_pid *c = akt_testkit_spawn_opts(tk, "c", &counter_def, &API_TO(p));
  Add a = ADD__INIT;
  a.amount = 3;
  akt_probe_tell(p, c, &a.base);
  /* The asker goes away before the counter answers. */
  assert_int_equal(akt_stop(akt_probe_pid(asker)), 0);
  Get g = GET__INIT;
  assert_int_equal(akt_tell_as(c, &g.base, akt_probe_pid(asker)), 0);
  EXPECT_NOTE(p, "reply=AKT_OK");
  api_expect_dead_letter(dl, "Total", "terminated");
  /* The counter did not fail for it: no restart, its total is kept. */
  api_expect_counts(c, 0, 0);
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(c, &g.base, AKT_SECONDS(5), &reply), 0);
  EXPECT_NOTE(p, "reply=AKT_OK");
  assert_int_equal(((Total *)reply)->value, 3);
  akt_msg_free(reply);
  akt_testkit_free(tk);
}

/* Holds every Get until told Cmd{op:"answer"}, then answers them all: an
 * ask can time out before its answer. */
static int slow_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  /* Keep the request itself (its sender and request id): stash it. */
  if (akt_msg_is(msg, &get__descriptor)) return akt_stash(ctx);
  if (api_is_cmd(msg, "answer")) {
    int rc = akt_become(ctx, counter_receive, 1);
    int n = akt_unstash_all(ctx);
    return n >= 0 ? rc : n;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def slow_def = {.kind = "slow", .state_size = sizeof(counter_state),
                                       .receive = slow_receive};

static void a_reply_after_the_ask_timed_out_does_not_fail_the_replier(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *c = akt_testkit_spawn_opts(tk, "c", &slow_def, &API_TO(p));
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(c, &g.base, AKT_MILLIS(50), &reply), AKT_ETIMEDOUT);
  api_cmd(p, c, "answer", NULL, 0);
  EXPECT_NOTE(p, "reply=AKT_OK");
  const Akt__DeadLetter *d =
      (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->type, "Total");
  api_expect_counts(c, 0, 0);
  akt_testkit_free(tk);
}

static int replier_pre_start(akt_ctx *ctx) {
  Pong m = PONG__INIT;
  int a = akt_reply(ctx, &m.base);
  int b = akt_forward(ctx, api_reportee(ctx));
  return api_note(ctx, api_reportee(ctx), "pre_start reply=%s forward=%s", akt_errname(a),
                  akt_errname(b));
}

static int replier_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  Pong m = PONG__INIT;
  int a = akt_reply(ctx, &m.base);
  int b = akt_reply(ctx, NULL);
  int c = akt_reply(NULL, &m.base);
  return api_note(ctx, api_reportee(ctx), "reply=%s null=%s %s", akt_errname(a), akt_errname(b),
                  akt_errname(c));
}

static const akt_actor_def replier_def = {.kind = "replier", .pre_start = replier_pre_start,
                                          .receive = replier_receive};

static void reply_and_forward_need_a_current_message_with_a_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &replier_def, &API_TO(p));
  EXPECT_NOTE(p, "pre_start reply=AKT_ENOSENDER forward=AKT_ENOSENDER");
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(r, &m.base), 0); /* no sender */
  EXPECT_NOTE(p, "reply=AKT_ENOSENDER null=AKT_EINVAL AKT_EINVAL");
  akt_testkit_free(tk);
}

static void a_reply_to_a_plain_tell_is_a_tell_back(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &replier_def, &API_TO(p));
  EXPECT_NOTE(p, "pre_start reply=AKT_ENOSENDER forward=AKT_ENOSENDER");
  akt_probe *client = akt_probe_new(tk, "client");
  Ping m = PING__INIT;
  akt_probe_tell(client, r, &m.base);
  akt_probe_expect_msg(client, &pong__descriptor, 0);
  assert_true(akt_pid_equal(akt_probe_last_sender(client), r));
  EXPECT_NOTE(p, "reply=AKT_OK null=AKT_EINVAL AKT_EINVAL");
  akt_testkit_free(tk);
}

/* ---- forward ------------------------------------------------------------------ */

static int forwarder_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  return akt_forward(ctx, (akt_pid *)akt_ctx_arg(ctx));
}

static const akt_actor_def forwarder_def = {.kind = "forwarder", .receive = forwarder_receive};

static void forward_keeps_the_sender_and_the_final_reply_completes_the_ask(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *e = akt_testkit_spawn_opts(tk, "e", &echo_def, &API_TO(p));
  akt_spawn_opts o = {.arg = e};
  akt_pid *f1 = akt_testkit_spawn_opts(tk, "f1", &forwarder_def, &o);
  o.arg = f1;
  akt_pid *f2 = akt_testkit_spawn_opts(tk, "f2", &forwarder_def, &o);
  Ping m = PING__INIT;
  m.n = 5;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(f2, &m.base, AKT_SECONDS(5), &reply), 0);
  assert_int_equal(((Pong *)reply)->n, 5);
  akt_msg_free(reply);
  /* A forwarded tell keeps its sender too. */
  Note n = NOTE__INIT;
  n.text = "hi";
  akt_probe_tell(p, f2, &n.base);
  API_EXPECT_NOTEF(p, "Note { text: \"hi\" } from %s", akt_pid_path(akt_probe_pid(p)));
  akt_testkit_free(tk);
}

/* ---- the text form ------------------------------------------------------------ */

static void the_text_form_shows_the_fields_that_are_set(void **state) {
  (void)state;
  char buf[256];
  Ping m = PING__INIT;
  m.n = 3;
  assert_int_equal(akt_msg_format(&m.base, buf, sizeof buf), strlen("Ping { n: 3 }"));
  assert_string_equal(buf, "Ping { n: 3 }");
  Ping zero = PING__INIT;
  akt_msg_format(&zero.base, buf, sizeof buf);
  assert_string_equal(buf, "Ping { }");
  Inner leaf = INNER__INIT;
  leaf.a = 2;
  Inner top = INNER__INIT;
  top.a = 1;
  top.s = "x\"y";
  top.next = &leaf;
  akt_msg_format(&top.base, buf, sizeof buf);
  assert_string_equal(buf, "Inner { a: 1 s: \"x\\\"y\" next { a: 2 } }");
}

static void a_text_form_that_does_not_fit_is_cut_and_ends_in_dots(void **state) {
  (void)state;
  Note n = NOTE__INIT;
  n.text = "a rather long text that cannot fit";
  char buf[16];
  size_t len = akt_msg_format(&n.base, buf, sizeof buf);
  assert_int_equal(len, strlen(buf));
  assert_true(len < sizeof buf);
  assert_string_equal(buf + len - 3, "...");
  assert_int_equal(strncmp(buf, "Note { text", len - 3 < 11 ? len - 3 : 11), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_sent_message_is_copied_so_the_sender_may_reuse_its_memory),
    cmocka_unit_test(messages_from_one_sender_arrive_in_the_order_sent),
    cmocka_unit_test(many_senders_keep_their_own_order_and_the_receiver_runs_one_at_a_time),
    cmocka_unit_test(tell_refuses_null_arguments_with_einval),
    cmocka_unit_test(tell_to_a_terminated_actor_is_estopped_and_a_dead_letter),
    cmocka_unit_test(a_message_nested_deeper_than_the_limit_is_refused_with_elimit),
    cmocka_unit_test(a_message_larger_than_the_copy_limit_is_refused_with_elimit),
    cmocka_unit_test(send_from_an_actor_carries_the_actor_as_sender),
    cmocka_unit_test(a_request_continues_with_the_reply_exactly_once),
    cmocka_unit_test(a_request_times_out_once_and_the_late_reply_is_a_dead_letter),
    cmocka_unit_test(a_continuation_never_runs_when_the_requester_stopped_first),
    cmocka_unit_test(a_request_that_cannot_be_sent_returns_the_error_and_never_continues),
    cmocka_unit_test(an_actor_has_at_most_the_pending_request_limit),
    cmocka_unit_test(ask_returns_the_reply_for_the_caller_to_free),
    cmocka_unit_test(ask_times_out_with_etimedout),
    cmocka_unit_test(ask_of_a_terminated_actor_returns_the_send_error),
    cmocka_unit_test(ask_from_inside_an_actor_is_estate),
    cmocka_unit_test(a_reply_to_a_requester_that_is_gone_returns_zero_and_is_a_dead_letter),
    cmocka_unit_test(a_reply_after_the_ask_timed_out_does_not_fail_the_replier),
    cmocka_unit_test(reply_and_forward_need_a_current_message_with_a_sender),
    cmocka_unit_test(a_reply_to_a_plain_tell_is_a_tell_back),
    cmocka_unit_test(forward_keeps_the_sender_and_the_final_reply_completes_the_ask),
    cmocka_unit_test(the_text_form_shows_the_fields_that_are_set),
    cmocka_unit_test(a_text_form_that_does_not_fit_is_cut_and_ends_in_dots),
};

AKT_TEST_MAIN_BOTH("api-message", tests)
