/* The supervision suites' actors (test_api_supervisor.c,
 * test_api_supervisor_restarts.c): a tree of identical nodes that note
 * their hooks and messages on a probe, a decider that decides by failure
 * code and notes each decision, and the trees the tests build (a boss
 * with kids; grand, boss, kid). */
#ifndef AKT_TESTS_API_SUPERVISOR_FIXTURE_H
#define AKT_TESTS_API_SUPERVISOR_FIXTURE_H

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

/* The actor's own name, for its notes. */
static inline const char *me(akt_ctx *ctx) { return akt_pid_name(akt_ctx_self(ctx)); }

/* The node's config: its spawn arg. */
static inline const node_cfg *cfg_of(akt_ctx *ctx) { return akt_ctx_arg(ctx); }

/* Defined below: a node's children are nodes. */
static const akt_actor_def node_def;

/* Notes pre_start, then spawns the node's children. */
static inline int node_pre_start(akt_ctx *ctx) {
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

/* Notes post_stop. */
static inline void node_post_stop(akt_ctx *ctx) {
  api_note(ctx, cfg_of(ctx)->to, "%s:post_stop", me(ctx));
}

static inline int node_receive(akt_ctx *ctx, const ProtobufCMessage *msg);

/* A pushed behaviour: says so for a Ping, as the initial one otherwise. */
static inline int node_sticky(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &ping__descriptor)) return api_note(ctx, cfg_of(ctx)->to, "%s:sticky", me(ctx));
  return node_receive(ctx, msg);
}

/* A pushed behaviour that stashes everything but a Fail. */
static inline int node_stashing(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &fail__descriptor)) return node_receive(ctx, msg);
  return akt_stash(ctx);
}

/* A "request"'s continuation: notes the status, fails with the Cmd's n. */
static inline int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)reply;
  int code = (int)(intptr_t)arg;
  api_note(ctx, cfg_of(ctx)->to, "%s:continuation %s", me(ctx), akt_errname(status));
  return code;
}

/* The initial behaviour: counts Adds, answers Pings, fails on a Fail, and
 * obeys the tests' Cmds (become, timers, stash mode, requests). */
static inline int node_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
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

static const akt_actor_def node_def = {.kind = "node",
                                       .state_size = sizeof(node_state),
                                       .pre_start = node_pre_start,
                                       .receive = node_receive,
                                       .post_stop = node_post_stop};

/* ---- deciders ----------------------------------------------------------------- */

typedef struct decider_cfg {
  akt_pid *to; /* where decisions are noted */
  akt_directive fixed; /* 0: by code */
} decider_cfg;

/* Decides by the failure's code (or `fixed`), noting each decision. */
static inline akt_directive by_code(const akt_failure *f, void *arg) {
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

/* Makes `to` fail with `code` (a Fail from the probe). */
static inline void fail_with(akt_probe *p, akt_pid *to, int code) {
  Fail f = FAIL__INIT;
  f.code = code;
  akt_probe_tell(p, to, &f.base);
}

/* The PID at `path` (which must exist); release it. */
static inline akt_pid *lookup(akt_testkit *tk, const char *path) {
  akt_pid *pid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), path, &pid), 0);
  return pid;
}

/* A boss (supervised by nobody special) with `n` kids c0..; the boss's
 * supervisor is `sup`. Expects every pre_start note. */
static inline akt_pid *boss_with_kids(akt_testkit *tk, akt_probe *p, node_cfg *boss, node_cfg *kid,
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

/* grand (decides the boss's escalations) -> boss (escalates) -> c0. */
static inline akt_pid *three_levels(akt_testkit *tk, akt_probe *p, node_cfg cfg[3],
                                    const akt_supervisor *grand_sup,
                                    const akt_supervisor *boss_sup) {
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

#endif
