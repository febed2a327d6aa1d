/* akt/actor.h: spawning, names and paths, state, the context of a turn,
 * become/unbecome — on both backends. */
#include <inttypes.h>

#include "api.h"

/* ---- a plain actor that reports what it sees ------------------------------ */

typedef struct {
  uint8_t bytes[256];
  int64_t count;
} plain_state;

static int plain_pre_start(akt_ctx *ctx) {
  plain_state *s = akt_ctx_state(ctx);
  int zero = 1;
  for (size_t i = 0; i < sizeof s->bytes; i++) zero &= s->bytes[i] == 0;
  return api_note(ctx, api_reportee(ctx), "%s:pre_start zeroed=%d", akt_pid_name(akt_ctx_self(ctx)),
                  zero && s->count == 0);
}

static void plain_post_stop(akt_ctx *ctx) {
  api_note(ctx, api_reportee(ctx), "%s:post_stop", akt_pid_name(akt_ctx_self(ctx)));
}

static int plain_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  plain_state *s = akt_ctx_state(ctx);
  if (api_is_cmd(msg, "spawn")) {
    const Cmd *c = (const Cmd *)msg;
    akt_spawn_opts o = {.arg = akt_ctx_arg(ctx)};
    extern const akt_actor_def plain_def;
    int rc = akt_spawn_child(ctx, c->arg[0] ? c->arg : NULL, &plain_def, &o, NULL);
    return api_note(ctx, api_reportee(ctx), "spawn=%s", akt_errname(rc));
  }
  if (akt_msg_is(msg, &add__descriptor)) {
    s->count += ((const Add *)msg)->amount;
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = s->count;
    return akt_reply(ctx, &t.base);
  }
  return AKT_EUNHANDLED;
}

const akt_actor_def plain_def = {.kind = "plain",
                                 .state_size = sizeof(plain_state),
                                 .pre_start = plain_pre_start,
                                 .receive = plain_receive,
                                 .post_stop = plain_post_stop};

static int64_t total_of(akt_probe *p, akt_pid *a) {
  Get g = GET__INIT;
  akt_probe_tell(p, a, &g.base);
  return ((const Total *)akt_probe_expect_msg(p, &total__descriptor, 0))->value;
}

/* ---- spawning ----------------------------------------------------------------- */

static void a_spawned_actor_lives_under_user_with_its_name(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = API_TO(p);
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "alpha", &plain_def, &o, &a), 0);
  assert_non_null(a);
  assert_string_equal(akt_pid_path(a), "/user/alpha");
  assert_string_equal(akt_pid_name(a), "alpha");
  EXPECT_NOTE(p, "alpha:pre_start zeroed=1");
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/alpha", &found), 0);
  assert_true(akt_pid_equal(found, a));
  akt_pid_release(found);
  akt_pid_release(a);
  akt_testkit_free(tk);
}

static void an_anonymous_actor_is_named_after_its_id(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = API_TO(p);
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), NULL, &plain_def, &o, &a), 0);
  char want[64];
  snprintf(want, sizeof want, "$%" PRIu64, akt_pid_id(a));
  assert_string_equal(akt_pid_name(a), want);
  snprintf(want, sizeof want, "/user/$%" PRIu64, akt_pid_id(a));
  assert_string_equal(akt_pid_path(a), want);
  akt_pid_release(a);
  akt_testkit_free(tk);
}

static void spawn_with_no_out_pointer_still_spawns(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = API_TO(p);
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "quiet", &plain_def, &o, NULL), 0);
  EXPECT_NOTE(p, "quiet:pre_start zeroed=1");
  akt_testkit_free(tk);
}

static void spawn_refuses_a_missing_definition_or_receive_with_einval(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *a = NULL;
  static const akt_actor_def no_receive = {.kind = "none"};
  assert_int_equal(akt_spawn(sys, "x", NULL, NULL, &a), AKT_EINVAL);
  assert_int_equal(akt_spawn(sys, "x", &no_receive, NULL, &a), AKT_EINVAL);
  assert_int_equal(akt_spawn(NULL, "x", &plain_def, NULL, &a), AKT_EINVAL);
  assert_null(a);
  static const akt_mailbox_type incomplete = {.name = "incomplete"};
  akt_spawn_opts o = {.mailbox = &incomplete};
  assert_int_equal(akt_spawn(sys, "x", &plain_def, &o, &a), AKT_EINVAL);
  assert_null(a);
  akt_testkit_free(tk);
}

static void spawn_refuses_a_malformed_name_with_ename(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = API_TO(p);
  const char *bad[] = {"", "a/b", "$x", "with space", "caf\xc3\xa9", "a*", "a:b"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    akt_pid *a = NULL;
    assert_int_equal(akt_spawn(sys, bad[i], &plain_def, &o, &a), AKT_ENAME);
    assert_null(a);
  }
  char longest[AKT_NAME_MAX + 2];
  memset(longest, 'n', AKT_NAME_MAX + 1);
  longest[AKT_NAME_MAX + 1] = '\0';
  assert_int_equal(akt_spawn(sys, longest, &plain_def, &o, NULL), AKT_ENAME);
  longest[AKT_NAME_MAX] = '\0'; /* exactly the limit: fine */
  assert_int_equal(akt_spawn(sys, longest, &plain_def, &o, NULL), 0);
  /* Every character the header allows. */
  assert_int_equal(akt_spawn(sys, "Az09_.-x", &plain_def, &o, NULL), 0);
  akt_testkit_free(tk);
}

static void a_live_siblings_name_is_refused_and_free_again_once_it_terminated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = API_TO(p);
  akt_pid *first = NULL, *again = NULL, *second = NULL;
  assert_int_equal(akt_spawn(sys, "once", &plain_def, &o, &first), 0);
  assert_int_equal(akt_spawn(sys, "once", &plain_def, &o, &again), AKT_EEXIST);
  assert_null(again);
  EXPECT_NOTE(p, "once:pre_start zeroed=1");
  assert_int_equal(akt_stop(first), 0);
  EXPECT_NOTE(p, "once:post_stop");
  api_wait_terminated(tk, first);
  assert_int_equal(akt_spawn(sys, "once", &plain_def, &o, &second), 0);
  assert_false(akt_pid_equal(first, second));
  assert_true(akt_pid_id(second) > akt_pid_id(first));
  assert_string_equal(akt_pid_path(second), "/user/once");
  akt_pid_release(first);
  akt_pid_release(second);
  akt_testkit_free(tk);
}

static void a_child_lives_under_its_parents_path(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &plain_def, &API_TO(p));
  EXPECT_NOTE(p, "parent:pre_start zeroed=1");
  api_cmd(p, parent, "spawn", "kid", 0);
  EXPECT_NOTE(p, "spawn=AKT_OK");
  EXPECT_NOTE(p, "kid:pre_start zeroed=1");
  akt_pid *kid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/parent/kid", &kid), 0);
  assert_string_equal(akt_pid_name(kid), "kid");
  /* A second live child with that name is refused. */
  api_cmd(p, parent, "spawn", "kid", 0);
  EXPECT_NOTE(p, "spawn=AKT_EEXIST");
  /* A sibling elsewhere in the tree may share it. */
  akt_pid *top = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "kid", &plain_def, &API_TO(p), &top), 0);
  assert_false(akt_pid_equal(top, kid));
  akt_pid_release(top);
  akt_pid_release(kid);
  akt_testkit_free(tk);
}

/* Each chain link spawns a child with its own (longest legal) name until
 * the path would pass AKT_PATH_MAX, then says where it stopped. */
static int chain_pre_start(akt_ctx *ctx) {
  extern const akt_actor_def chain_def;
  akt_spawn_opts o = {.arg = akt_ctx_arg(ctx)};
  int rc = akt_spawn_child(ctx, akt_pid_name(akt_ctx_self(ctx)), &chain_def, &o, NULL);
  if (rc == 0) return 0;
  return api_note(ctx, api_reportee(ctx), "len=%zu rc=%s", strlen(akt_pid_path(akt_ctx_self(ctx))),
                  akt_errname(rc));
}

static int ignore_all(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

const akt_actor_def chain_def = {.kind = "chain", .pre_start = chain_pre_start,
                                 .receive = ignore_all};

static void a_path_longer_than_the_limit_is_refused_with_elimit(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  char name[AKT_NAME_MAX + 1];
  memset(name, 'd', AKT_NAME_MAX);
  name[AKT_NAME_MAX] = '\0';
  akt_testkit_spawn_opts(tk, name, &chain_def, &API_TO(p));
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  size_t len = 0;
  char rc[32];
  assert_int_equal(sscanf(n->text, "len=%zu rc=%31s", &len, rc), 2);
  assert_string_equal(rc, "AKT_ELIMIT");
  /* It stopped at the last level that fits, not earlier. */
  assert_true(len <= AKT_PATH_MAX);
  assert_true(len + 1 + AKT_NAME_MAX > AKT_PATH_MAX);
  akt_testkit_free(tk);
}

static void max_actors_bounds_the_live_actors_with_elimit(void **state) {
  (void)state;
  akt_system_options so = {.max_actors = 16};
  akt_testkit *tk = TK_NEW(.system = &so);
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *pids[16] = {0};
  size_t n = 0;
  int rc = 0;
  while (n < 16 && (rc = akt_spawn(sys, NULL, &plain_def, &API_TO(p), &pids[n])) == 0) n++;
  assert_int_equal(rc, AKT_ELIMIT);
  assert_true(n > 0);
  akt_system_stats st;
  akt_system_get_stats(sys, &st);
  assert_int_equal(st.live_actors, 16); /* guardians included */
  /* One terminates: one more may be spawned. */
  assert_int_equal(akt_stop(pids[0]), 0);
  api_wait_terminated(tk, pids[0]);
  akt_pid *more = NULL;
  assert_int_equal(akt_spawn(sys, NULL, &plain_def, &API_TO(p), &more), 0);
  akt_pid_release(more);
  for (size_t i = 0; i < n; i++) akt_pid_release(pids[i]);
  akt_testkit_free(tk);
}

static void spawn_after_shutdown_returns_estopped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(sys, "late", &plain_def, NULL, &a), AKT_ESTOPPED);
  assert_null(a);
  akt_testkit_free(tk);
}

/* ---- state and the context -------------------------------------------------- */

static int stateless_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  return api_note(ctx, api_reportee(ctx), "state=%s", akt_ctx_state(ctx) ? "set" : "null");
}

static const akt_actor_def stateless_def = {.kind = "stateless", .receive = stateless_receive};

static void state_is_zeroed_and_kept_between_messages(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &plain_def, &API_TO(p));
  EXPECT_NOTE(p, "a:pre_start zeroed=1");
  Add add = ADD__INIT;
  add.amount = 5;
  akt_probe_tell(p, a, &add.base);
  akt_probe_tell(p, a, &add.base);
  assert_int_equal(total_of(p, a), 10);
  /* No state_size: no state. */
  akt_pid *s = akt_testkit_spawn_opts(tk, "s", &stateless_def, &API_TO(p));
  Ping ping = PING__INIT;
  akt_probe_tell(p, s, &ping.base);
  EXPECT_NOTE(p, "state=null");
  akt_testkit_free(tk);
}

static int order_pre_start(akt_ctx *ctx) { return api_note(ctx, api_reportee(ctx), "pre_start"); }

static int order_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  return api_note(ctx, api_reportee(ctx), "receive %s", msg->descriptor->name);
}

static void order_post_stop(akt_ctx *ctx) { api_note(ctx, api_reportee(ctx), "post_stop"); }

static const akt_actor_def order_def = {.kind = "order", .pre_start = order_pre_start,
                                        .receive = order_receive, .post_stop = order_post_stop};

static void pre_start_runs_before_the_first_message_and_post_stop_once_at_the_end(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  /* The message is sent right after the spawn, before pre_start can have
   * run: it still comes after it. */
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "a", &order_def, &API_TO(p), &a), 0);
  Ping ping = PING__INIT;
  akt_probe_tell(p, a, &ping.base);
  EXPECT_NOTE(p, "pre_start");
  EXPECT_NOTE(p, "receive Ping");
  assert_int_equal(akt_stop(a), 0);
  EXPECT_NOTE(p, "post_stop");
  api_wait_terminated(tk, a);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_pid_release(a);
  akt_testkit_free(tk);
}

/* What the context shows in pre_start and in receive. */
static int ctx_report(akt_ctx *ctx, const char *where) {
  akt_pid *self = akt_ctx_self(ctx), *parent = akt_ctx_parent(ctx), *sender = akt_ctx_sender(ctx);
  return api_note(ctx, api_reportee(ctx), "%s self=%s parent=%s sender=%s sys=%d", where,
                  akt_pid_path(self), parent ? akt_pid_path(parent) : "-",
                  sender ? akt_pid_path(sender) : "-",
                  akt_ctx_system(ctx) == akt_pid_system(self));
}

static int ctx_pre_start(akt_ctx *ctx) { return ctx_report(ctx, "pre_start"); }
static int ctx_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (api_is_cmd(msg, "spawn")) {
    extern const akt_actor_def ctx_def;
    akt_spawn_opts o = {.arg = akt_ctx_arg(ctx)};
    return akt_spawn_child(ctx, "child", &ctx_def, &o, NULL);
  }
  return ctx_report(ctx, "receive");
}

const akt_actor_def ctx_def = {.kind = "ctx", .pre_start = ctx_pre_start, .receive = ctx_receive};

static void the_context_names_self_parent_sender_arg_and_system(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &ctx_def, &API_TO(p));
  EXPECT_NOTE(p, "pre_start self=/user/a parent=/user sender=- sys=1");
  /* From outside the system: no sender. */
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(a, &ping.base), 0);
  EXPECT_NOTE(p, "receive self=/user/a parent=/user sender=- sys=1");
  /* As the probe: the probe. */
  akt_probe_tell(p, a, &ping.base);
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  char want[256];
  snprintf(want, sizeof want, "receive self=/user/a parent=/user sender=%s sys=1",
           akt_pid_path(akt_probe_pid(p)));
  assert_string_equal(n->text, want);
  /* A child's parent is its spawner. */
  api_cmd(p, a, "spawn", NULL, 0);
  EXPECT_NOTE(p, "pre_start self=/user/a/child parent=/user/a sender=- sys=1");
  akt_testkit_free(tk);
}

static void the_sender_of_akt_tell_as_is_the_given_pid(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *other = akt_probe_new(tk, "other");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &ctx_def, &API_TO(p));
  EXPECT_NOTE(p, "pre_start self=/user/a parent=/user sender=- sys=1");
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell_as(a, &ping.base, akt_probe_pid(other)), 0);
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  char want[256];
  snprintf(want, sizeof want, "receive self=/user/a parent=/user sender=%s sys=1",
           akt_pid_path(akt_probe_pid(other)));
  assert_string_equal(n->text, want);
  assert_int_equal(akt_tell_as(a, &ping.base, NULL), 0);
  EXPECT_NOTE(p, "receive self=/user/a parent=/user sender=- sys=1");
  akt_testkit_free(tk);
}

static int arg_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  const char *arg = akt_ctx_arg(ctx);
  Note n = NOTE__INIT;
  n.text = (char *)(arg ? arg : "(null)");
  return akt_reply(ctx, &n.base);
}

static const akt_actor_def arg_def = {.kind = "arg", .receive = arg_receive};

static void the_spawn_arg_is_given_back_and_null_without_one(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  static const char word[] = "the-arg";
  akt_spawn_opts o = {.arg = word};
  akt_pid *with = akt_testkit_spawn_opts(tk, "with", &arg_def, &o);
  akt_pid *without = akt_testkit_spawn(tk, "without", &arg_def);
  Ping ping = PING__INIT;
  akt_probe_tell(p, with, &ping.base);
  EXPECT_NOTE(p, "the-arg");
  akt_probe_tell(p, without, &ping.base);
  EXPECT_NOTE(p, "(null)");
  akt_testkit_free(tk);
}

typedef struct {
  uint64_t last_now;
  uint64_t draws[4];
} clock_state;

static int clock_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  clock_state *s = akt_ctx_state(ctx);
  uint64_t now = akt_ctx_now(ctx);
  int monotonic = now >= s->last_now;
  s->last_now = now;
  int distinct = 1;
  for (int i = 0; i < 4; i++) s->draws[i] = akt_ctx_random(ctx);
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++) distinct &= s->draws[i] != s->draws[j];
  uint64_t sys_now = akt_system_now(akt_ctx_system(ctx));
  return api_note(ctx, api_reportee(ctx), "monotonic=%d distinct=%d sysclock=%d", monotonic,
                  distinct, sys_now >= now);
}

static const akt_actor_def clock_def = {.kind = "clock", .state_size = sizeof(clock_state),
                                        .receive = clock_receive};

static void the_context_clock_never_goes_back_and_random_numbers_vary(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &clock_def, &API_TO(p));
  Ping ping = PING__INIT;
  for (int i = 0; i < 5; i++) {
    akt_probe_tell(p, a, &ping.base);
    akt_testkit_advance(tk, AKT_MILLIS(1));
  }
  for (int i = 0; i < 5; i++) EXPECT_NOTE(p, "monotonic=1 distinct=1 sysclock=1");
  akt_testkit_free(tk);
}

/* ---- become / unbecome ------------------------------------------------------- */

static int says(akt_ctx *ctx, const char *who, const ProtobufCMessage *msg);
static int b_base(akt_ctx *ctx, const ProtobufCMessage *msg) { return says(ctx, "base", msg); }
static int b_one(akt_ctx *ctx, const ProtobufCMessage *msg) { return says(ctx, "one", msg); }
static int b_two(akt_ctx *ctx, const ProtobufCMessage *msg) { return says(ctx, "two", msg); }

/* Every behaviour obeys the same commands, and says which one it is. */
static int says(akt_ctx *ctx, const char *who, const ProtobufCMessage *msg) {
  akt_pid *to = api_reportee(ctx);
  if (api_is_cmd(msg, "push")) {
    const Cmd *c = (const Cmd *)msg;
    akt_receive_fn fn = strcmp(c->arg, "one") == 0 ? b_one : b_two;
    int rc = akt_become(ctx, fn, (int)c->n);
    /* Takes effect from the next message: this one is still `who`'s. */
    return api_note(ctx, to, "%s: become=%s", who, akt_errname(rc));
  }
  if (api_is_cmd(msg, "pop"))
    return api_note(ctx, to, "%s: unbecome=%s", who, akt_errname(akt_unbecome(ctx)));
  if (api_is_cmd(msg, "deep")) {
    int rc = 0, n = 0;
    while (n < 2 * AKT_MAX_BEHAVIORS && (rc = akt_become(ctx, b_one, 0)) == 0) n++;
    int nul = akt_become(ctx, NULL, 0);
    return api_note(ctx, to, "pushed=%d rc=%s null=%s", n, akt_errname(rc), akt_errname(nul));
  }
  return api_note(ctx, to, "%s", who);
}

static const akt_actor_def becoming_def = {.kind = "becoming", .receive = b_base};

static void become_takes_effect_from_the_next_message_and_unbecome_returns(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &becoming_def, &API_TO(p));
  Ping ping = PING__INIT;
  api_cmd(p, a, "push", "one", 0);
  akt_probe_tell(p, a, &ping.base);
  api_cmd(p, a, "push", "two", 0);
  akt_probe_tell(p, a, &ping.base);
  api_cmd(p, a, "pop", NULL, 0);
  akt_probe_tell(p, a, &ping.base);
  api_cmd(p, a, "pop", NULL, 0);
  akt_probe_tell(p, a, &ping.base);
  api_cmd(p, a, "pop", NULL, 0);
  EXPECT_NOTE(p, "base: become=AKT_OK");
  EXPECT_NOTE(p, "one");
  EXPECT_NOTE(p, "one: become=AKT_OK");
  EXPECT_NOTE(p, "two");
  EXPECT_NOTE(p, "two: unbecome=AKT_OK");
  EXPECT_NOTE(p, "one");
  EXPECT_NOTE(p, "one: unbecome=AKT_OK");
  EXPECT_NOTE(p, "base");
  /* Only the initial behaviour left: nothing to pop. */
  EXPECT_NOTE(p, "base: unbecome=AKT_ESTATE");
  akt_testkit_free(tk);
}

static void become_with_discard_old_replaces_the_current_behaviour(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &becoming_def, &API_TO(p));
  Ping ping = PING__INIT;
  api_cmd(p, a, "push", "one", 0);
  api_cmd(p, a, "push", "two", 1); /* replaces one */
  akt_probe_tell(p, a, &ping.base);
  api_cmd(p, a, "pop", NULL, 0);   /* back to base, not to one */
  akt_probe_tell(p, a, &ping.base);
  EXPECT_NOTE(p, "base: become=AKT_OK");
  EXPECT_NOTE(p, "one: become=AKT_OK");
  EXPECT_NOTE(p, "two");
  EXPECT_NOTE(p, "two: unbecome=AKT_OK");
  EXPECT_NOTE(p, "base");
  akt_testkit_free(tk);
}

static void the_become_stack_is_bounded_and_refuses_a_null_behaviour(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &becoming_def, &API_TO(p));
  api_cmd(p, a, "deep", NULL, 0);
  API_EXPECT_NOTEF(p, "pushed=%d rc=AKT_ELIMIT null=AKT_EINVAL", AKT_MAX_BEHAVIORS);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_spawned_actor_lives_under_user_with_its_name),
    cmocka_unit_test(an_anonymous_actor_is_named_after_its_id),
    cmocka_unit_test(spawn_with_no_out_pointer_still_spawns),
    cmocka_unit_test(spawn_refuses_a_missing_definition_or_receive_with_einval),
    cmocka_unit_test(spawn_refuses_a_malformed_name_with_ename),
    cmocka_unit_test(a_live_siblings_name_is_refused_and_free_again_once_it_terminated),
    cmocka_unit_test(a_child_lives_under_its_parents_path),
    cmocka_unit_test(a_path_longer_than_the_limit_is_refused_with_elimit),
    cmocka_unit_test(max_actors_bounds_the_live_actors_with_elimit),
    cmocka_unit_test(spawn_after_shutdown_returns_estopped),
    cmocka_unit_test(state_is_zeroed_and_kept_between_messages),
    cmocka_unit_test(pre_start_runs_before_the_first_message_and_post_stop_once_at_the_end),
    cmocka_unit_test(the_context_names_self_parent_sender_arg_and_system),
    cmocka_unit_test(the_sender_of_akt_tell_as_is_the_given_pid),
    cmocka_unit_test(the_spawn_arg_is_given_back_and_null_without_one),
    cmocka_unit_test(the_context_clock_never_goes_back_and_random_numbers_vary),
    cmocka_unit_test(become_takes_effect_from_the_next_message_and_unbecome_returns),
    cmocka_unit_test(become_with_discard_old_replaces_the_current_behaviour),
    cmocka_unit_test(the_become_stack_is_bounded_and_refuses_a_null_behaviour),
};

AKT_TEST_MAIN_BOTH("api-actor", tests)
