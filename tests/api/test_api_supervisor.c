/* akt/supervisor.h: directives, strategies, the default decider, restart
 * limits, backoff, what a restart keeps and drops — on both backends
 * (the timing of backoff and windows exactly on the simulator). */
#include "api.h"

/* Failure codes whose directive the test's decider looks up. */
#define ERR_RESUME (AKT_EUSER_BASE - 1)
#define ERR_RESTART (AKT_EUSER_BASE - 2)
#define ERR_STOP (AKT_EUSER_BASE - 3)
#define ERR_ESCALATE (AKT_EUSER_BASE - 4)

/* ---- a tree of identical nodes ----------------------------------------------- */

/* A node spawns `nkids` children named prefix0, prefix1, ... in pre_start
 * (so a restart spawns them again), each with the config `kid`. A node's
 * `sup` is the supervisor given in its own spawn options: the one that
 * decides its children's failures. */
typedef struct node_cfg {
  akt_pid *to;
  const akt_supervisor *sup; /* supervises this node's children */
  int nkids;
  const char *prefix;
  const struct node_cfg *kid;
  akt_pid *target; /* for requests */
} node_cfg;

typedef struct {
  int64_t count;
} node_state;

static const char *me(akt_ctx *ctx) { return akt_pid_name(akt_ctx_self(ctx)); }
static const node_cfg *cfg_of(akt_ctx *ctx) { return akt_ctx_arg(ctx); }

extern const akt_actor_def node_def;

static int node_pre_start(akt_ctx *ctx) {
  const node_cfg *cfg = cfg_of(ctx);
  int rc = api_note(ctx, cfg->to, "%s:pre_start", me(ctx));
  for (int i = 0; rc == 0 && i < cfg->nkids; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s%d", cfg->prefix, i);
    akt_spawn_opts o = {.arg = cfg->kid, .supervisor = cfg->kid->sup};
    rc = akt_spawn_child(ctx, name, &node_def, &o, NULL);
  }
  return rc;
}

static void node_post_stop(akt_ctx *ctx) { api_note(ctx, cfg_of(ctx)->to, "%s:post_stop", me(ctx)); }

int node_receive(akt_ctx *ctx, const ProtobufCMessage *msg);

/* A pushed behaviour: says so for a Ping, as the initial one otherwise. */
static int node_sticky(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &ping__descriptor)) return api_note(ctx, cfg_of(ctx)->to, "%s:sticky", me(ctx));
  return node_receive(ctx, msg);
}

/* A pushed behaviour that stashes everything but a Fail. */
static int node_stashing(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &fail__descriptor)) return node_receive(ctx, msg);
  return akt_stash(ctx);
}

static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)reply;
  int code = (int)(intptr_t)arg;
  api_note(ctx, cfg_of(ctx)->to, "%s:continuation %s", me(ctx), akt_errname(status));
  return code;
}

int node_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  node_state *s = akt_ctx_state(ctx);
  const node_cfg *cfg = cfg_of(ctx);
  if (akt_msg_is(msg, &add__descriptor)) {
    s->count += ((const Add *)msg)->amount;
    return api_note(ctx, cfg->to, "%s:count=%lld", me(ctx), (long long)s->count);
  }
  if (akt_msg_is(msg, &ping__descriptor))
    return api_note(ctx, cfg->to, "%s:ping %lld", me(ctx), (long long)((const Ping *)msg)->n);
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  if (api_is_cmd(msg, "unhandled")) return AKT_EUNHANDLED;
  if (api_is_cmd(msg, "become")) return akt_become(ctx, node_sticky, 0);
  if (api_is_cmd(msg, "timer-then-fail")) {
    /* A timer due soon, and a failure before it fires. */
    Ping t = PING__INIT;
    t.n = -1;
    int rc = akt_timer_start(ctx, 1, AKT_MILLIS(50), AKT_MILLIS(50), &t.base);
    return rc ? rc : ERR_RESTART;
  }
  if (api_is_cmd(msg, "stash-mode")) return akt_become(ctx, node_stashing, 0);
  if (api_is_cmd(msg, "request")) {
    Ping q = PING__INIT;
    return akt_request(ctx, cfg->target, &q.base, AKT_SECONDS(30), on_reply,
                       (void *)(intptr_t)((const Cmd *)msg)->n);
  }
  return AKT_EUNHANDLED;
}

const akt_actor_def node_def = {.kind = "node",
                                .state_size = sizeof(node_state),
                                .pre_start = node_pre_start,
                                .receive = node_receive,
                                .post_stop = node_post_stop};

/* A node whose pre_start fails. */
static int failing_pre_start(akt_ctx *ctx) {
  api_note(ctx, cfg_of(ctx)->to, "%s:pre_start", me(ctx));
  return ERR_RESTART;
}

static const akt_actor_def failing_start_def = {.kind = "failing-start",
                                                .state_size = sizeof(node_state),
                                                .pre_start = failing_pre_start,
                                                .receive = node_receive,
                                                .post_stop = node_post_stop};

static int failing_post_restart(akt_ctx *ctx, int cause) {
  api_note(ctx, cfg_of(ctx)->to, "%s:post_restart %d", me(ctx), cause);
  return ERR_RESTART;
}

static const akt_actor_def failing_restart_def = {.kind = "failing-restart",
                                                  .state_size = sizeof(node_state),
                                                  .receive = node_receive,
                                                  .post_stop = node_post_stop,
                                                  .post_restart = failing_post_restart};

/* ---- deciders ----------------------------------------------------------------- */

typedef struct decider_cfg {
  akt_pid *to; /* where decisions are noted */
  akt_directive fixed; /* 0: by code */
} decider_cfg;

static akt_directive by_code(const akt_failure *f, void *arg) {
  const decider_cfg *d = arg;
  akt_directive dir = d->fixed;
  if (!dir) {
    switch (f->code) {
      case ERR_RESUME: dir = AKT_DIRECTIVE_RESUME; break;
      case ERR_STOP: dir = AKT_DIRECTIVE_STOP; break;
      case ERR_ESCALATE: dir = AKT_DIRECTIVE_ESCALATE; break;
      default: dir = AKT_DIRECTIVE_RESTART; break;
    }
  }
  if (d->to) {
    char text[160];
    snprintf(text, sizeof text, "decide %s code=%d source=%d restarts=%u -> %s",
             akt_pid_name(f->child), f->code, (int)f->source, f->restarts,
             akt_directive_name(dir));
    Note n = NOTE__INIT;
    n.text = text;
    akt_tell(d->to, &n.base);
  }
  return dir;
}

static void fail_with(akt_probe *p, akt_pid *to, int code) {
  Fail f = FAIL__INIT;
  f.code = code;
  akt_probe_tell(p, to, &f.base);
}

static void add(akt_probe *p, akt_pid *to, int64_t n) {
  Add a = ADD__INIT;
  a.amount = n;
  akt_probe_tell(p, to, &a.base);
}

static akt_pid *lookup(akt_testkit *tk, const char *path) {
  akt_pid *pid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), path, &pid), 0);
  return pid;
}

/* A boss (supervised by nobody special) with `n` kids c0..; the boss's
 * supervisor is `sup`. Expects every pre_start note. */
static akt_pid *boss_with_kids(akt_testkit *tk, akt_probe *p, node_cfg *boss, node_cfg *kid,
                               const akt_supervisor *sup, int n) {
  *kid = (node_cfg){.to = akt_probe_pid(p)};
  *boss = (node_cfg){.to = akt_probe_pid(p), .sup = sup, .nkids = n, .prefix = "c", .kid = kid};
  akt_spawn_opts o = {.arg = boss, .supervisor = sup};
  akt_pid *b = akt_testkit_spawn_opts(tk, "boss", &node_def, &o);
  EXPECT_NOTE(p, "boss:pre_start");
  for (int i = 0; i < n; i++) {
    /* Children start concurrently: any order. */
    const Note *got = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
    assert_non_null(strstr(got->text, ":pre_start"));
  }
  return b;
}

/* A boss with one kid, c0, whose failures the boss's decider notes on
 * probe d (and decides by code, or `fixed`). */
typedef struct one_kid {
  akt_testkit *tk;
  akt_probe *p, *d;
  decider_cfg dc;
  akt_supervisor sup;
  node_cfg boss, kid;
  akt_pid *c0;
} one_kid;

static void one_kid_up(one_kid *f, akt_directive fixed) {
  f->tk = TK_NEW();
  f->p = akt_probe_new(f->tk, "p");
  f->d = akt_probe_new(f->tk, "decisions");
  f->dc = (decider_cfg){.to = akt_probe_pid(f->d), .fixed = fixed};
  f->sup = (akt_supervisor){.decider = by_code, .decider_arg = &f->dc};
  boss_with_kids(f->tk, f->p, &f->boss, &f->kid, &f->sup, 1);
  f->c0 = lookup(f->tk, "/user/boss/c0");
}

static void one_kid_down(one_kid *f) {
  akt_pid_release(f->c0);
  akt_testkit_free(f->tk);
}

/* ---- directives ------------------------------------------------------------------ */

static void resume_keeps_the_state_and_goes_on_with_the_next_message(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, 0);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  add(p, c0, 2);
  fail_with(p, c0, ERR_RESUME);
  add(p, c0, 3);
  EXPECT_NOTE(p, "c0:count=2");
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> resume", ERR_RESUME,
                   AKT_FAILED_IN_RECEIVE);
  EXPECT_NOTE(p, "c0:count=5");
  api_expect_counts(c0, 1, 0);
  one_kid_down(&f);
}

static void restart_zeroes_the_state_and_does_not_retry_the_failed_message(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, 0);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  add(p, c0, 2);
  fail_with(p, c0, ERR_RESTART);
  add(p, c0, 3);
  EXPECT_NOTE(p, "c0:count=2");
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> restart", ERR_RESTART,
                   AKT_FAILED_IN_RECEIVE);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  EXPECT_NOTE(p, "c0:count=3");
  akt_probe_expect_no_msg(d, AKT_MILLIS(20)); /* not retried: no second failure */
  api_expect_counts(c0, 1, 1);
  one_kid_down(&f);
}

static void stop_ends_the_failed_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  decider_cfg dc = {0};
  akt_supervisor sup = {.decider = by_code, .decider_arg = &dc};
  node_cfg boss, kid;
  akt_pid *b = boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  fail_with(p, c0, ERR_STOP);
  EXPECT_NOTE(p, "c0:post_stop");
  akt_probe_expect_terminated(w, c0, 0);
  assert_true(akt_pid_is_running(b));
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void an_unhandled_message_is_no_failure(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, 0);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  add(p, c0, 1);
  api_cmd(p, c0, "unhandled", NULL, 0);
  add(p, c0, 1);
  EXPECT_NOTE(p, "c0:count=1");
  EXPECT_NOTE(p, "c0:count=2");
  akt_probe_expect_no_msg(d, AKT_MILLIS(20));
  akt_actor_metrics m;
  akt_actor_get_metrics(c0, &m);
  assert_int_equal(m.failures, 0);
  one_kid_down(&f);
}

/* grand (decides the boss's escalations) -> boss (escalates) -> c0. */
static akt_pid *three_levels(akt_testkit *tk, akt_probe *p, node_cfg cfg[3],
                             const akt_supervisor *grand_sup, const akt_supervisor *boss_sup) {
  cfg[2] = (node_cfg){.to = akt_probe_pid(p)};
  cfg[1] = (node_cfg){.to = akt_probe_pid(p), .sup = boss_sup, .nkids = 1, .prefix = "c",
                      .kid = &cfg[2]};
  cfg[0] = (node_cfg){.to = akt_probe_pid(p), .sup = grand_sup, .nkids = 1, .prefix = "boss",
                      .kid = &cfg[1]};
  akt_spawn_opts o = {.arg = &cfg[0], .supervisor = grand_sup};
  akt_pid *g = akt_testkit_spawn_opts(tk, "grand", &node_def, &o);
  EXPECT_NOTE(p, "grand:pre_start");
  EXPECT_NOTE(p, "boss0:pre_start");
  EXPECT_NOTE(p, "c0:pre_start");
  return g;
}

static void escalate_fails_the_parent_with_the_same_code(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg boss_dc = {.to = akt_probe_pid(d)};
  decider_cfg grand_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESTART};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc};
  akt_supervisor grand_sup = {.decider = by_code, .decider_arg = &grand_dc};
  node_cfg cfg[3];
  three_levels(tk, p, cfg, &grand_sup, &boss_sup);
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  fail_with(p, c0, ERR_ESCALATE);
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> escalate", ERR_ESCALATE,
                   AKT_FAILED_IN_RECEIVE);
  API_EXPECT_NOTEF(d, "decide boss0 code=%d source=%d restarts=0 -> restart", ERR_ESCALATE,
                   AKT_FAILED_ESCALATED);
  /* The boss restarts: its child stops first, then the boss's default
   * hooks run, and its pre_start spawns the child again. */
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "boss0:post_stop");
  EXPECT_NOTE(p, "boss0:pre_start");
  EXPECT_NOTE(p, "c0:pre_start");
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void an_escalated_failure_resumed_above_resumes_the_child_with_its_state(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg boss_dc = {.to = akt_probe_pid(d)};
  decider_cfg grand_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESUME};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc};
  akt_supervisor grand_sup = {.decider = by_code, .decider_arg = &grand_dc};
  node_cfg cfg[3];
  three_levels(tk, p, cfg, &grand_sup, &boss_sup);
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  add(p, c0, 4);
  fail_with(p, c0, ERR_ESCALATE);
  add(p, c0, 1);
  EXPECT_NOTE(p, "c0:count=4");
  akt_probe_expect_msg(d, &note__descriptor, 0);
  API_EXPECT_NOTEF(d, "decide boss0 code=%d source=%d restarts=0 -> resume", ERR_ESCALATE,
                   AKT_FAILED_ESCALATED);
  EXPECT_NOTE(p, "c0:count=5");
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void a_failed_child_handles_no_message_until_it_is_decided(void **state) {
  (void)state;
  /* The restart comes only after a backoff: the failed child waits,
   * suspended, meanwhile. */
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  decider_cfg boss_dc = {0};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc,
                             .backoff_min = AKT_MILLIS(300)};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &boss_sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  uint64_t t0 = akt_testkit_now(tk);
  fail_with(p, c0, ERR_RESTART);
  add(p, c0, 1);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  EXPECT_NOTE(p, "c0:count=1");
  /* The Add was not handled before the (delayed) restart. */
  assert_true(akt_probe_last_arrival(p) - t0 >= AKT_MILLIS(300));
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

/* ---- strategies ---------------------------------------------------------------- */

static void one_for_one_restarts_the_failed_child_alone(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.strategy = AKT_ONE_FOR_ONE};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 2);
  akt_pid *c0 = lookup(tk, "/user/boss/c0"), *c1 = lookup(tk, "/user/boss/c1");
  add(p, c1, 7);
  EXPECT_NOTE(p, "c1:count=7");
  fail_with(p, c0, ERR_RESTART);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  add(p, c1, 1);
  EXPECT_NOTE(p, "c1:count=8");
  akt_pid_release(c0);
  akt_pid_release(c1);
  akt_testkit_free(tk);
}

static void one_for_all_applies_the_directive_to_every_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.strategy = AKT_ONE_FOR_ALL};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 2);
  akt_pid *c0 = lookup(tk, "/user/boss/c0"), *c1 = lookup(tk, "/user/boss/c1");
  add(p, c1, 7);
  EXPECT_NOTE(p, "c1:count=7");
  fail_with(p, c0, ERR_RESTART);
  /* Both restart (in either order): two post_stops, two pre_starts. */
  const ProtobufCMessage *got[4];
  akt_probe_receive_n(p, 4, 0, got);
  int stops = 0, starts = 0;
  for (int i = 0; i < 4; i++) {
    const char *t = ((const Note *)got[i])->text;
    stops += strstr(t, ":post_stop") != NULL;
    starts += strstr(t, ":pre_start") != NULL;
  }
  assert_int_equal(stops, 2);
  assert_int_equal(starts, 2);
  /* c1's state was zeroed too, and it is the same PID. */
  add(p, c1, 1);
  EXPECT_NOTE(p, "c1:count=1");
  akt_actor_metrics m;
  akt_actor_get_metrics(c1, &m);
  assert_int_equal(m.restarts, 1);
  assert_int_equal(m.failures, 0);
  akt_pid_release(c0);
  akt_pid_release(c1);
  akt_testkit_free(tk);
}

static void one_for_all_stop_stops_every_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  decider_cfg dc = {.fixed = AKT_DIRECTIVE_STOP};
  akt_supervisor sup = {.strategy = AKT_ONE_FOR_ALL, .decider = by_code, .decider_arg = &dc};
  node_cfg boss, kid;
  akt_pid *b = boss_with_kids(tk, p, &boss, &kid, &sup, 2);
  akt_pid *c0 = lookup(tk, "/user/boss/c0"), *c1 = lookup(tk, "/user/boss/c1");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  akt_probe_watch(w, c1);
  fail_with(p, c0, ERR_STOP);
  const ProtobufCMessage *got[2];
  akt_probe_receive_n(w, 2, 0, got);
  assert_true(akt_msg_is(got[0], &akt__terminated__descriptor));
  assert_true(akt_msg_is(got[1], &akt__terminated__descriptor));
  assert_true(akt_pid_is_running(b));
  akt_pid_release(c0);
  akt_pid_release(c1);
  akt_testkit_free(tk);
}

/* ---- the default decider ------------------------------------------------------- */

static void the_default_decider_restarts_on_failure_and_stops_on_pre_start_or_kill(void **state) {
  (void)state;
  akt_failure f = {.code = ERR_RESTART, .source = AKT_FAILED_IN_RECEIVE};
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_IN_CONTINUATION;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_ESCALATED;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_IN_PRE_START;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_STOP);
  f = (akt_failure){.code = AKT_EKILLED, .source = AKT_FAILED_KILLED};
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_STOP);
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_RESUME), "resume");
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_RESTART), "restart");
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_STOP), "stop");
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_ESCALATE), "escalate");
}

static void a_failing_pre_start_stops_the_actor_by_default(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &failing_start_def, &o);
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, a);
  EXPECT_NOTE(p, "a:pre_start");
  /* It stops as any actor does (post_stop runs once, as in Akka), and is
   * not started again. */
  EXPECT_NOTE(p, "a:post_stop");
  akt_probe_expect_terminated(w, a, 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_actor_metrics m;
  akt_actor_get_metrics(a, &m);
  assert_int_equal(m.failures, 1);
  akt_testkit_free(tk);
}

static void a_failing_post_restart_is_a_failure_like_a_failing_pre_start(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &failing_restart_def, &o);
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, a);
  fail_with(p, a, ERR_RESTART);
  EXPECT_NOTE(p, "a:post_stop");
  API_EXPECT_NOTEF(p, "a:post_restart %d", ERR_RESTART);
  /* The default decider stops it, as after a failed pre_start. */
  akt_probe_expect_terminated(w, a, 0);
  akt_testkit_free(tk);
}

static void a_failing_continuation_is_a_failure_from_the_continuation(void **state) {
  (void)state;
  one_kid f;
  one_kid_up(&f, AKT_DIRECTIVE_RESUME);
  akt_probe *p = f.p, *d = f.d;
  akt_pid *c0 = f.c0;
  akt_probe *target = akt_probe_new(f.tk, "target");
  f.kid.target = akt_probe_pid(target); /* read when the kid handles "request" */
  api_cmd(p, c0, "request", NULL, ERR_RESUME);
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  Pong pong = PONG__INIT;
  akt_probe_reply(target, &pong.base);
  EXPECT_NOTE(p, "c0:continuation AKT_OK");
  API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> resume", ERR_RESUME,
                   AKT_FAILED_IN_CONTINUATION);
  one_kid_down(&f);
}

/* ---- what a restart drops and keeps ---------------------------------------------- */

static void a_restart_drops_behaviour_timers_and_pending_requests(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *target = akt_probe_new(tk, "target");
  node_cfg cfg = {.to = akt_probe_pid(p), .target = akt_probe_pid(target)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &node_def, &o);
  EXPECT_NOTE(p, "a:pre_start");
  api_cmd(p, a, "become", NULL, 0);
  api_cmd(p, a, "request", NULL, 0);
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  Ping ping = PING__INIT;
  ping.n = 1;
  akt_probe_tell(p, a, &ping.base);
  EXPECT_NOTE(p, "a:sticky");
  api_cmd(p, a, "timer-then-fail", NULL, 0);
  EXPECT_NOTE(p, "a:post_stop");
  EXPECT_NOTE(p, "a:pre_start");
  /* The become stack is gone: the initial behaviour answers. */
  akt_probe_tell(p, a, &ping.base);
  EXPECT_NOTE(p, "a:ping 1");
  /* The request is forgotten: its reply is not a continuation. */
  Pong pong = PONG__INIT;
  akt_probe_reply(target, &pong.base);
  /* And the timer, due 50 ms after it was started, never ticks. */
  akt_probe_expect_no_msg(p, AKT_MILLIS(300));
  akt_testkit_free(tk);
}

static void a_restart_stops_the_children_first(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg[3];
  akt_pid *g = three_levels(tk, p, cfg, NULL, NULL);
  akt_pid *boss = lookup(tk, "/user/grand/boss0");
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  fail_with(p, boss, ERR_RESTART);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "boss0:post_stop");
  EXPECT_NOTE(p, "boss0:pre_start");
  EXPECT_NOTE(p, "c0:pre_start");
  /* The old child is gone for good; a new one holds its path. */
  assert_false(akt_pid_is_running(c0));
  akt_pid *again = lookup(tk, "/user/grand/boss0/c0");
  assert_false(akt_pid_equal(again, c0));
  assert_true(akt_pid_is_running(g));
  akt_pid_release(again);
  akt_pid_release(c0);
  akt_pid_release(boss);
  akt_testkit_free(tk);
}

static void a_restart_hands_the_stash_back_ahead_of_the_mailbox(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  node_cfg cfg = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &node_def, &o);
  EXPECT_NOTE(p, "a:pre_start");
  Add one = ADD__INIT, two = ADD__INIT, ten = ADD__INIT;
  one.amount = 1;
  two.amount = 2;
  ten.amount = 10;
  api_cmd(p, a, "stash-mode", NULL, 0);
  akt_probe_tell(p, a, &one.base); /* stashed */
  akt_probe_tell(p, a, &two.base); /* stashed */
  fail_with(p, a, ERR_RESTART);
  akt_probe_tell(p, a, &ten.base); /* in the mailbox */
  EXPECT_NOTE(p, "a:post_stop");
  EXPECT_NOTE(p, "a:pre_start");
  /* The stash comes back first, oldest first, to the initial behaviour. */
  EXPECT_NOTE(p, "a:count=1");
  EXPECT_NOTE(p, "a:count=3");
  EXPECT_NOTE(p, "a:count=13");
  akt_testkit_free(tk);
}

/* ---- limits and backoff --------------------------------------------------------- */

static int decides_boss(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &note__descriptor) && strncmp(((const Note *)m)->text, "decide boss0", 12) == 0;
}

static void more_restarts_than_allowed_within_the_window_stop_the_child_and_escalate(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg boss_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESTART};
  decider_cfg grand_dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESUME};
  akt_supervisor boss_sup = {.decider = by_code, .decider_arg = &boss_dc, .max_restarts = 2,
                             .within = AKT_SECONDS(60)};
  akt_supervisor grand_sup = {.decider = by_code, .decider_arg = &grand_dc};
  node_cfg cfg[3];
  three_levels(tk, p, cfg, &grand_sup, &boss_sup);
  akt_pid *c0 = lookup(tk, "/user/grand/boss0/c0");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  for (int i = 0; i < 2; i++) {
    fail_with(p, c0, ERR_RESTART);
    API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=%d -> restart", ERR_RESTART,
                     AKT_FAILED_IN_RECEIVE, i);
    EXPECT_NOTE(p, "c0:post_stop");
    EXPECT_NOTE(p, "c0:pre_start");
  }
  fail_with(p, c0, ERR_RESTART);
  /* The third restart is one too many: c0 stops, the boss fails with
   * c0's code (whether c0's decider is asked first is not promised). */
  const Note *n = (const Note *)akt_probe_fish_for(d, decides_boss, NULL, 1, 0);
  char want[160];
  snprintf(want, sizeof want, "decide boss0 code=%d source=%d restarts=0 -> resume", ERR_RESTART,
           AKT_FAILED_ESCALATED);
  assert_string_equal(n->text, want);
  akt_probe_expect_terminated(w, c0, 0);
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void restarts_older_than_the_window_do_not_count(void **state) {
  (void)state;
  SIM_ONLY(); /* spacing failures by 2 s of virtual time */
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *d = akt_probe_new(tk, "decisions");
  decider_cfg dc = {.to = akt_probe_pid(d), .fixed = AKT_DIRECTIVE_RESTART};
  akt_supervisor sup = {.decider = by_code, .decider_arg = &dc, .max_restarts = 1,
                        .within = AKT_SECONDS(1)};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  akt_probe *w = akt_probe_new(tk, "w");
  akt_probe_watch(w, c0);
  for (int i = 0; i < 4; i++) {
    fail_with(p, c0, ERR_RESTART);
    API_EXPECT_NOTEF(d, "decide c0 code=%d source=%d restarts=0 -> restart", ERR_RESTART,
                     AKT_FAILED_IN_RECEIVE);
    EXPECT_NOTE(p, "c0:post_stop");
    EXPECT_NOTE(p, "c0:pre_start");
    akt_testkit_advance(tk, AKT_SECONDS(2));
  }
  akt_probe_expect_no_msg(w, AKT_MILLIS(10));
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

/* When each restart of c0 happened, as seen by the probe. */
static uint64_t restart_delay(akt_testkit *tk, akt_probe *p, akt_pid *c0) {
  uint64_t t0 = akt_testkit_now(tk);
  fail_with(p, c0, ERR_RESTART);
  EXPECT_NOTE(p, "c0:post_stop");
  EXPECT_NOTE(p, "c0:pre_start");
  return akt_probe_last_arrival(p) - t0;
}

static void restarts_back_off_exponentially_up_to_the_cap(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.backoff_min = AKT_MILLIS(100), .backoff_max = AKT_MILLIS(400)};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  const akt_duration want[] = {AKT_MILLIS(100), AKT_MILLIS(200), AKT_MILLIS(400), AKT_MILLIS(400)};
  for (size_t i = 0; i < 4; i++) {
    uint64_t d = restart_delay(tk, p, c0);
    assert_true(d >= want[i]);
    /* On virtual time, exactly then (plus the turns it takes). */
    if (API_SIM()) assert_true(d < want[i] + AKT_MILLIS(1));
  }
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

/* One run: the four restart delays with 10% jitter from `seed`. */
static void jittered_delays(uint64_t seed, uint64_t out[4]) {
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.use_seed = 1, .seed = seed});
  akt_probe *p = akt_probe_new(tk, "p");
  akt_supervisor sup = {.backoff_min = AKT_MILLIS(100), .backoff_max = AKT_MILLIS(100),
                        .jitter_percent = 10};
  node_cfg boss, kid;
  boss_with_kids(tk, p, &boss, &kid, &sup, 1);
  akt_pid *c0 = lookup(tk, "/user/boss/c0");
  for (int i = 0; i < 4; i++) out[i] = restart_delay(tk, p, c0);
  akt_pid_release(c0);
  akt_testkit_free(tk);
}

static void backoff_jitter_stays_within_its_percent_and_follows_the_seed(void **state) {
  (void)state;
  SIM_ONLY();
  uint64_t a[4], b[4], c[4];
  jittered_delays(1, a);
  jittered_delays(1, b);
  jittered_delays(2, c);
  int varied = 0, differs = 0;
  for (int i = 0; i < 4; i++) {
    assert_true(a[i] >= AKT_MILLIS(90));
    assert_true(a[i] <= AKT_MILLIS(111));
    assert_int_equal(a[i], b[i]);
    varied |= a[i] != a[0];
    differs |= a[i] != c[i];
  }
  assert_true(varied);
  assert_true(differs);
}

static void a_supervisor_the_header_refuses_fails_the_spawn_with_einval(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  const akt_supervisor bad[] = {
      {.jitter_percent = AKT_MAX_JITTER_PERCENT + 1},
      {.backoff_min = AKT_SECONDS(2), .backoff_max = AKT_SECONDS(1)},
      {.strategy = (akt_strategy)7},
  };
  node_cfg cfg = {0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    akt_spawn_opts o = {.arg = &cfg, .supervisor = &bad[i]};
    akt_pid *a = NULL;
    assert_int_equal(akt_spawn(sys, "a", &node_def, &o, &a), AKT_EINVAL);
    assert_null(a);
  }
  akt_supervisor fine = {.jitter_percent = AKT_MAX_JITTER_PERCENT, .backoff_min = AKT_SECONDS(1)};
  akt_spawn_opts o = {.arg = &cfg, .supervisor = &fine};
  assert_int_equal(akt_spawn(sys, "a", &node_def, &o, NULL), AKT_OK);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(resume_keeps_the_state_and_goes_on_with_the_next_message),
    cmocka_unit_test(restart_zeroes_the_state_and_does_not_retry_the_failed_message),
    cmocka_unit_test(stop_ends_the_failed_child),
    cmocka_unit_test(an_unhandled_message_is_no_failure),
    cmocka_unit_test(escalate_fails_the_parent_with_the_same_code),
    cmocka_unit_test(an_escalated_failure_resumed_above_resumes_the_child_with_its_state),
    cmocka_unit_test(a_failed_child_handles_no_message_until_it_is_decided),
    cmocka_unit_test(one_for_one_restarts_the_failed_child_alone),
    cmocka_unit_test(one_for_all_applies_the_directive_to_every_child),
    cmocka_unit_test(one_for_all_stop_stops_every_child),
    cmocka_unit_test(the_default_decider_restarts_on_failure_and_stops_on_pre_start_or_kill),
    cmocka_unit_test(a_failing_pre_start_stops_the_actor_by_default),
    cmocka_unit_test(a_failing_post_restart_is_a_failure_like_a_failing_pre_start),
    cmocka_unit_test(a_failing_continuation_is_a_failure_from_the_continuation),
    cmocka_unit_test(a_restart_drops_behaviour_timers_and_pending_requests),
    cmocka_unit_test(a_restart_stops_the_children_first),
    cmocka_unit_test(a_restart_hands_the_stash_back_ahead_of_the_mailbox),
    cmocka_unit_test(more_restarts_than_allowed_within_the_window_stop_the_child_and_escalate),
    cmocka_unit_test(restarts_older_than_the_window_do_not_count),
    cmocka_unit_test(restarts_back_off_exponentially_up_to_the_cap),
    cmocka_unit_test(backoff_jitter_stays_within_its_percent_and_follows_the_seed),
    cmocka_unit_test(a_supervisor_the_header_refuses_fails_the_spawn_with_einval),
};

AKT_TEST_MAIN_BOTH("api-supervisor", tests)
