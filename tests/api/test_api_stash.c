/* akt/actor.h's stash: set aside, handed back ahead of the mailbox,
 * bounded, dead letters at the end — on both backends. */
#include "api.h"

/* Stashes every Ping while "closed"; Cmd{op:"one"} unstashes the oldest,
 * Cmd{op:"all"} all of them (and opens); an open actor notes each Ping.
 * Every Cmd is answered with a Note of its result. */
typedef struct {
  int open;
} stasher_state;

static int stasher_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  stasher_state *s = akt_ctx_state(ctx);
  akt_pid *to = api_reportee(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    if (s->open) return api_note(ctx, to, "ping %lld", (long long)((const Ping *)msg)->n);
    int rc = akt_stash(ctx);
    if (rc) return api_note(ctx, to, "stash=%s size=%zu", akt_errname(rc), akt_stash_size(ctx));
    return 0;
  }
  if (api_is_cmd(msg, "one")) {
    int rc = akt_unstash(ctx);
    s->open = ((const Cmd *)msg)->n != 0; /* for what comes back, and after */
    return api_note(ctx, to, "unstash=%s size=%zu", akt_errname(rc), akt_stash_size(ctx));
  }
  if (api_is_cmd(msg, "all")) {
    s->open = 1;
    int n = akt_unstash_all(ctx);
    return api_note(ctx, to, "unstash_all=%d size=%zu", n, akt_stash_size(ctx));
  }
  if (api_is_cmd(msg, "size")) return api_note(ctx, to, "size=%zu", akt_stash_size(ctx));
  if (api_is_cmd(msg, "bad"))
    return api_note(ctx, to, "%s %s %d", akt_errname(akt_stash(NULL)), akt_errname(akt_unstash(NULL)),
                    akt_unstash_all(NULL));
  if (api_is_cmd(msg, "stop")) return akt_stop(akt_ctx_self(ctx));
  return AKT_EUNHANDLED;
}

static int stasher_pre_start(akt_ctx *ctx) {
  /* No message is being handled: nothing to stash. */
  return api_note(ctx, api_reportee(ctx), "pre_start stash=%s unstash=%s unstash_all=%d",
                  akt_errname(akt_stash(ctx)), akt_errname(akt_unstash(ctx)),
                  akt_unstash_all(ctx));
}

static const akt_actor_def stasher_def = {.kind = "stasher",
                                          .state_size = sizeof(stasher_state),
                                          .pre_start = stasher_pre_start,
                                          .receive = stasher_receive};

static akt_pid *spawn_stasher(akt_testkit *tk, akt_probe *p, uint32_t capacity) {
  akt_spawn_opts o = {.arg = akt_probe_pid(p), .stash_capacity = capacity};
  akt_pid *a = akt_testkit_spawn_opts(tk, "s", &stasher_def, &o);
  EXPECT_NOTE(p, "pre_start stash=AKT_ESTATE unstash=AKT_ENOENT unstash_all=0");
  return a;
}

static void ping(akt_probe *p, akt_pid *to, int64_t n) {
  Ping m = PING__INIT;
  m.n = n;
  akt_probe_tell(p, to, &m.base);
}

static void unstash_all_hands_back_every_message_oldest_first_ahead_of_the_mailbox(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *s = spawn_stasher(tk, p, 0);
  for (int i = 1; i <= 3; i++) ping(p, s, i);
  api_cmd(p, s, "size", NULL, 0);
  EXPECT_NOTE(p, "size=3");
  api_cmd(p, s, "all", NULL, 0);
  ping(p, s, 4); /* in the mailbox: after the stashed ones */
  EXPECT_NOTE(p, "unstash_all=3 size=0");
  EXPECT_NOTE(p, "ping 1");
  EXPECT_NOTE(p, "ping 2");
  EXPECT_NOTE(p, "ping 3");
  EXPECT_NOTE(p, "ping 4");
  api_cmd(p, s, "all", NULL, 0);
  EXPECT_NOTE(p, "unstash_all=0 size=0");
  akt_testkit_free(tk);
}

static void unstash_hands_back_the_oldest_ahead_of_the_mailbox(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *s = spawn_stasher(tk, p, 0);
  ping(p, s, 1);
  ping(p, s, 2);
  api_cmd(p, s, "one", NULL, 1); /* unstash the oldest and stay open */
  ping(p, s, 3);
  EXPECT_NOTE(p, "unstash=AKT_OK size=1");
  EXPECT_NOTE(p, "ping 1");
  EXPECT_NOTE(p, "ping 3");
  api_cmd(p, s, "one", NULL, 1);
  EXPECT_NOTE(p, "unstash=AKT_OK size=0");
  EXPECT_NOTE(p, "ping 2");
  api_cmd(p, s, "one", NULL, 1);
  EXPECT_NOTE(p, "unstash=AKT_ENOENT size=0");
  api_cmd(p, s, "bad", NULL, 0);
  EXPECT_NOTE(p, "AKT_EINVAL AKT_EINVAL -1");
  akt_testkit_free(tk);
}

static void the_stash_holds_at_most_its_capacity(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *s = spawn_stasher(tk, p, 2);
  for (int i = 1; i <= 3; i++) ping(p, s, i);
  EXPECT_NOTE(p, "stash=AKT_EFULL size=2");
  akt_testkit_free(tk);
}

static void the_default_stash_capacity_is_the_documented_one(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *s = spawn_stasher(tk, p, 0);
  for (int i = 1; i <= AKT_DEFAULT_STASH_CAPACITY + 1; i++) ping(p, s, i);
  API_EXPECT_NOTEF(p, "stash=AKT_EFULL size=%d", AKT_DEFAULT_STASH_CAPACITY);
  akt_testkit_free(tk);
}

static void what_is_stashed_at_termination_goes_to_dead_letters(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *s = spawn_stasher(tk, p, 0);
  ping(p, s, 1);
  ping(p, s, 2);
  api_cmd(p, s, "stop", NULL, 0);
  api_wait_terminated(tk, s);
  for (int i = 1; i <= 2; i++) {
    const Akt__DeadLetter *d =
        (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
    assert_string_equal(d->type, "Ping");
    assert_string_equal(d->target, "/user/s");
    Ping *got = ping__unpack(NULL, d->payload.len, d->payload.data);
    assert_int_equal(got->n, i);
    ping__free_unpacked(got, NULL);
  }
  akt_testkit_free(tk);
}

/* A requester that stashes the reply to its request: refused. */
static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)reply;
  (void)status;
  (void)arg;
  return api_note(ctx, api_reportee(ctx), "stash in continuation=%s", akt_errname(akt_stash(ctx)));
}

static int asking_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!api_is_cmd(msg, "ask")) return AKT_EUNHANDLED;
  Ping q = PING__INIT;
  return akt_request(ctx, api_reportee(ctx), &q.base, AKT_SECONDS(30), on_reply, NULL);
}

static const akt_actor_def asking_def = {.kind = "asking", .receive = asking_receive};

static void a_reply_to_a_request_cannot_be_stashed(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &asking_def, &API_TO(p));
  api_cmd(p, a, "ask", NULL, 0);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  Pong pong = PONG__INIT;
  akt_probe_reply(p, &pong.base);
  EXPECT_NOTE(p, "stash in continuation=AKT_ESTATE");
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(unstash_all_hands_back_every_message_oldest_first_ahead_of_the_mailbox),
    cmocka_unit_test(unstash_hands_back_the_oldest_ahead_of_the_mailbox),
    cmocka_unit_test(the_stash_holds_at_most_its_capacity),
    cmocka_unit_test(the_default_stash_capacity_is_the_documented_one),
    cmocka_unit_test(what_is_stashed_at_termination_goes_to_dead_letters),
    cmocka_unit_test(a_reply_to_a_request_cannot_be_stashed),
};

AKT_TEST_MAIN_BOTH("api-stash", tests)
