/* akt/system.h: creating systems, shutdown, lookup, message types, logs —
 * on both backends. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "api.h"

/* ---- a backend of the running group, without the testkit -------------------- */

typedef struct bk {
  akt_sim_world *world;
  akt_backend *b;
} bk;

static bk backend_new(void) {
  bk k = {0};
  if (API_SIM()) {
    assert_int_equal(akt_sim_world_new(&(akt_sim_options){.seed = 1}, &k.world), 0);
    assert_int_equal(akt_sim_node_new(k.world, "n1", &k.b), 0);
  } else {
    assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 2}, &k.b), 0);
  }
  return k;
}

static void backend_free(bk *k) {
  if (k->world)
    akt_sim_world_free(k->world);
  else
    akt_uv_backend_free(k->b);
}

/* ---- creating ------------------------------------------------------------------- */

static void system_new_checks_the_name_and_its_arguments(void **state) {
  (void)state;
  bk k = backend_new();
  akt_system *sys = NULL;
  char longest[AKT_SYSTEM_NAME_MAX + 2];
  memset(longest, 's', sizeof longest - 1);
  longest[AKT_SYSTEM_NAME_MAX + 1] = '\0';
  assert_int_equal(akt_system_new(longest, k.b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new("", k.b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new("a.b", k.b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new("a b", k.b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new("a/b", k.b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new(NULL, k.b, NULL, &sys), AKT_EINVAL);
  assert_int_equal(akt_system_new("x", NULL, NULL, &sys), AKT_EINVAL);
  assert_int_equal(akt_system_new("x", k.b, NULL, NULL), AKT_EINVAL);
  assert_null(sys);
  longest[AKT_SYSTEM_NAME_MAX] = '\0';
  assert_int_equal(akt_system_new(longest, k.b, NULL, &sys), 0);
  akt_system_free(sys);
  assert_int_equal(akt_system_new("Az09_-", k.b, NULL, &sys), 0);
  assert_string_equal(akt_system_name(sys), "Az09_-");
  assert_ptr_equal(akt_system_backend(sys), k.b);
  /* Default host and no port. */
  assert_string_equal(akt_system_address(sys), "akt://Az09_-@localhost:0");
  uint64_t t0 = akt_system_now(sys);
  assert_true(akt_system_now(sys) >= t0);
  akt_system_free(sys);
  akt_system_free(NULL);
  akt_system_drop(NULL);
  backend_free(&k);
}

static void many_systems_share_one_backend_and_one_process(void **state) {
  (void)state;
  bk k = backend_new();
  akt_system *a = NULL, *b = NULL;
  akt_system_options oa = {.host = "10.0.0.1", .port = 1};
  assert_int_equal(akt_system_new("a", k.b, &oa, &a), 0);
  assert_int_equal(akt_system_new("a", k.b, NULL, &b), 0); /* no global registry of names */
  assert_string_equal(akt_system_address(a), "akt://a@10.0.0.1:1");
  akt_system_free(a);
  akt_system_free(b);
  backend_free(&k);
}

/* ---- shutdown ------------------------------------------------------------------ */

typedef struct tree_cfg {
  akt_pid *to;
  const struct tree_cfg *below; /* the child's config; NULL: no child */
  const char *child;
} tree_cfg;

static int tree_pre_start(akt_ctx *ctx) {
  const tree_cfg *cfg = akt_ctx_arg(ctx);
  if (!cfg->below) return 0;
  extern const akt_actor_def tree_def;
  akt_spawn_opts o = {.arg = cfg->below};
  return akt_spawn_child(ctx, cfg->child, &tree_def, &o, NULL);
}

static void tree_post_stop(akt_ctx *ctx) {
  const tree_cfg *cfg = akt_ctx_arg(ctx);
  api_note(ctx, cfg->to, "%s", akt_pid_path(akt_ctx_self(ctx)));
}

static int tree_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (api_is_cmd(msg, "shutdown")) {
    int rc = akt_system_shutdown(akt_ctx_system(ctx), AKT_SECONDS(1));
    const tree_cfg *cfg = akt_ctx_arg(ctx);
    return api_note(ctx, cfg->to, "shutdown from an actor=%s", akt_errname(rc));
  }
  return 0;
}

const akt_actor_def tree_def = {.kind = "tree", .pre_start = tree_pre_start,
                                .receive = tree_receive, .post_stop = tree_post_stop};

static int path_ready(void *arg) {
  akt_pid *pid = NULL;
  int rc = akt_lookup(akt_pid_system(arg), "/user/d3/d2/d1/d0", &pid);
  akt_pid_release(pid);
  return rc == 0;
}

static void shutdown_stops_the_tree_children_first_and_is_idempotent(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  tree_cfg cfg[4];
  cfg[0] = (tree_cfg){.to = akt_probe_pid(p)};
  for (int i = 1; i < 4; i++) cfg[i] = (tree_cfg){.to = akt_probe_pid(p), .below = &cfg[i - 1]};
  cfg[3].child = "d2";
  cfg[2].child = "d1";
  cfg[1].child = "d0";
  akt_spawn_opts o = {.arg = &cfg[3]};
  akt_pid *t = akt_testkit_spawn_opts(tk, "d3", &tree_def, &o);
  akt_spawn_opts side_opts = {.arg = &cfg[0]};
  akt_testkit_spawn_opts(tk, "side", &tree_def, &side_opts);
  test_wait_until(tk, path_ready, t, "the tree built");
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(10)), 0);
  /* Bottom-up along the branch (the side actor anywhere). */
  const char *branch[] = {"/user/d3/d2/d1/d0", "/user/d3/d2/d1", "/user/d3/d2", "/user/d3"};
  int next = 0, side = 0;
  for (int i = 0; i < 5; i++) {
    const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
    if (strcmp(n->text, "/user/side") == 0) {
      side++;
      continue;
    }
    assert_true(next < 4);
    assert_string_equal(n->text, branch[next++]);
  }
  assert_int_equal(side, 1);
  assert_false(akt_pid_is_running(t));
  /* Again: done already. */
  assert_int_equal(akt_system_shutdown(sys, 0), 0);
  akt_testkit_free(tk);
}

static void shutdown_from_inside_an_actor_is_estate(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  tree_cfg top = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &top};
  akt_pid *t = akt_testkit_spawn_opts(tk, "t", &tree_def, &o);
  api_cmd(p, t, "shutdown", NULL, 0);
  EXPECT_NOTE(p, "shutdown from an actor=AKT_ESTATE");
  akt_testkit_free(tk);
}

/* An actor that holds its worker until released (libuv only). */
static atomic_int released;

static int holder_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  api_note(ctx, api_reportee(ctx), "holding");
  while (!atomic_load(&released)) sched_yield();
  return 0;
}

static const akt_actor_def holder_def = {.kind = "holder", .receive = holder_receive};

static void shutdown_gives_up_with_etimedout_when_an_actor_does_not_finish(void **state) {
  (void)state;
  if (API_SIM()) skip(); /* a turn that never ends needs another thread */
  atomic_store(&released, 0);
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *h = akt_testkit_spawn_opts(tk, "h", &holder_def, &API_TO(p));
  Ping m = PING__INIT;
  akt_probe_tell(p, h, &m.base);
  EXPECT_NOTE(p, "holding");
  uint64_t t0 = akt_testkit_now(tk);
  assert_int_equal(akt_system_shutdown(akt_testkit_system(tk), AKT_MILLIS(100)), AKT_ETIMEDOUT);
  assert_true(akt_testkit_now(tk) - t0 >= AKT_MILLIS(100));
  atomic_store(&released, 1);
  assert_int_equal(akt_system_shutdown(akt_testkit_system(tk), AKT_SECONDS(30)), 0);
  akt_testkit_free(tk);
}

/* ---- lookup -------------------------------------------------------------------- */

static void lookup_finds_live_actors_by_path_or_address(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  tree_cfg top = {.to = akt_probe_pid(p)};
  akt_spawn_opts o = {.arg = &top};
  akt_pid *t = akt_testkit_spawn_opts(tk, "t", &tree_def, &o);
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(sys, "/user/t", &found), 0);
  assert_true(akt_pid_equal(found, t));
  akt_pid_release(found);
  char address[AKT_ADDRESS_MAX];
  akt_pid_format(t, address, sizeof address);
  assert_int_equal(akt_lookup(sys, address, &found), 0);
  assert_true(akt_pid_equal(found, t));
  akt_pid_release(found);
  found = NULL;
  assert_int_equal(akt_lookup(sys, "/user/nobody", &found), AKT_ENOENT);
  assert_null(found);
  assert_int_equal(akt_lookup(sys, "", &found), AKT_ENAME);
  assert_int_equal(akt_lookup(sys, "user/t", &found), AKT_ENAME);
  assert_int_equal(akt_lookup(sys, "akt://", &found), AKT_ENAME);
  assert_int_equal(akt_lookup(sys, "akt://nohost/user/t", &found), AKT_ENAME);
  /* Another node's address, well formed: no such live actor here. */
  assert_int_equal(akt_lookup(sys, "akt://other@elsewhere:1/user/t", &found), AKT_ENOENT);
  assert_int_equal(akt_lookup(NULL, "/user/t", &found), AKT_EINVAL);
  assert_int_equal(akt_lookup(sys, NULL, &found), AKT_EINVAL);
  assert_int_equal(akt_lookup(sys, "/user/t", NULL), AKT_EINVAL);
  /* Only live actors. */
  assert_int_equal(akt_stop(t), 0);
  api_wait_terminated(tk, t);
  assert_int_equal(akt_lookup(sys, "/user/t", &found), AKT_ENOENT);
  akt_testkit_free(tk);
}

/* ---- message types --------------------------------------------------------------- */

static void registered_types_are_found_by_their_full_name(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  assert_int_equal(akt_system_register_type(sys, &ping__descriptor), 0);
  assert_int_equal(akt_system_register_type(sys, &ping__descriptor), 0); /* again: a no-op */
  assert_ptr_equal(akt_system_find_type(sys, "Ping"), &ping__descriptor);
  assert_null(akt_system_find_type(sys, "NoSuchType"));
  /* Another descriptor under the same full name. */
  static ProtobufCMessageDescriptor impostor;
  impostor = ping__descriptor;
  assert_int_equal(akt_system_register_type(sys, &impostor), AKT_EEXIST);
  assert_ptr_equal(akt_system_find_type(sys, "Ping"), &ping__descriptor);
  assert_int_equal(akt_system_register_type(NULL, &ping__descriptor), AKT_EINVAL);
  assert_int_equal(akt_system_register_type(sys, NULL), AKT_EINVAL);
  /* akt's own types are known: they name system messages on the wire. */
  assert_ptr_equal(akt_system_find_type(sys, "akt.Terminated"), &akt__terminated__descriptor);
  akt_testkit_free(tk);
}

/* ---- logs ------------------------------------------------------------------------- */

typedef struct log_capture {
  pthread_mutex_t lock;
  char last[AKT_LOG_LINE_MAX * 2];
  akt_log_level level;
  int lines;
} log_capture;

static void capture(akt_log_level level, const char *line, void *data) {
  log_capture *c = data;
  pthread_mutex_lock(&c->lock);
  snprintf(c->last, sizeof c->last, "%s", line);
  c->level = level;
  c->lines++;
  pthread_mutex_unlock(&c->lock);
}

/* A consistent copy of what the sink saw (it may run on any thread). */
typedef struct log_seen {
  char last[AKT_LOG_LINE_MAX * 2];
  akt_log_level level;
  int lines;
} log_seen;

static log_seen seen(log_capture *c) {
  log_seen copy;
  pthread_mutex_lock(&c->lock);
  memcpy(copy.last, c->last, sizeof copy.last);
  copy.level = c->level;
  copy.lines = c->lines;
  pthread_mutex_unlock(&c->lock);
  return copy;
}

static void lines_at_or_above_the_level_reach_the_sink(void **state) {
  (void)state;
  log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  akt_system_options so = {.log_sink = capture, .log_data = &c, .log_level = AKT_LOG_INFO};
  akt_testkit *tk = TK_NEW(.system = &so, .log_level = AKT_LOG_INFO);
  akt_system *sys = akt_testkit_system(tk);
  akt_testkit_run_until_idle(tk);
  int before = seen(&c).lines;
  akt_log(sys, AKT_LOG_DEBUG, "too low %d", 1);
  assert_int_equal(seen(&c).lines, before);
  akt_log(sys, AKT_LOG_INFO, "order %d paid", 42);
  assert_int_equal(seen(&c).lines, before + 1);
  assert_string_equal(seen(&c).last, "order 42 paid");
  assert_int_equal(seen(&c).level, AKT_LOG_INFO);
  akt_log(sys, AKT_LOG_ERROR, "%s", "bad");
  assert_string_equal(seen(&c).last, "bad");
  assert_int_equal(seen(&c).level, AKT_LOG_ERROR);
  akt_testkit_free(tk);
}

static void the_default_level_is_warn_and_off_silences_everything(void **state) {
  (void)state;
  log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  akt_system_options so = {.log_sink = capture, .log_data = &c};
  bk k = backend_new();
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("s", k.b, &so, &sys), 0);
  int before = seen(&c).lines;
  akt_log(sys, AKT_LOG_INFO, "info");
  assert_int_equal(seen(&c).lines, before);
  akt_log(sys, AKT_LOG_WARN, "warn");
  assert_int_equal(seen(&c).lines, before + 1);
  akt_system_free(sys);
  so.log_level = AKT_LOG_OFF;
  assert_int_equal(akt_system_new("s", k.b, &so, &sys), 0);
  before = seen(&c).lines;
  akt_log(sys, AKT_LOG_ERROR, "error");
  assert_int_equal(seen(&c).lines, before);
  akt_system_free(sys);
  backend_free(&k);
}

static void a_long_line_is_truncated_to_the_limit(void **state) {
  (void)state;
  log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  akt_system_options so = {.log_sink = capture, .log_data = &c};
  bk k = backend_new();
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("s", k.b, &so, &sys), 0);
  static char big[AKT_LOG_LINE_MAX * 2];
  memset(big, 'x', sizeof big - 1);
  akt_log(sys, AKT_LOG_ERROR, "%s", big);
  assert_true(strlen(seen(&c).last) <= AKT_LOG_LINE_MAX);
  assert_true(strlen(seen(&c).last) >= AKT_LOG_LINE_MAX - 1);
  akt_system_free(sys);
  backend_free(&k);
}

static void structured_fields_are_key_value_and_quoted_when_needed(void **state) {
  (void)state;
  log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  akt_system_options so = {.log_sink = capture, .log_data = &c};
  bk k = backend_new();
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("s", k.b, &so, &sys), 0);
  akt_log_field f[] = {{"order", "1234"},   {"status", "paid in full"}, {"q", "say \"hi\""},
                       {"eq", "a=b"}};
  akt_log_fields(sys, AKT_LOG_WARN, "order updated", f, 4);
  assert_string_equal(seen(&c).last,
                      "order updated order=1234 status=\"paid in full\" q=\"say \\\"hi\\\"\" eq=\"a=b\"");
  akt_log_fields(sys, AKT_LOG_INFO, "below the level", f, 1);
  assert_string_equal(seen(&c).last,
                      "order updated order=1234 status=\"paid in full\" q=\"say \\\"hi\\\"\" eq=\"a=b\"");
  akt_log_fields(sys, AKT_LOG_WARN, "none", NULL, 0);
  assert_string_equal(seen(&c).last, "none");
  akt_system_free(sys);
  backend_free(&k);
}

static int logging_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  akt_ctx_log(ctx, AKT_LOG_WARN, "hello %d", 7);
  return 0;
}

static const akt_actor_def logging_def = {.kind = "logging", .receive = logging_receive};

static int logged(void *arg) {
  log_capture *c = arg;
  pthread_mutex_lock(&c->lock);
  int done = strstr(c->last, "hello") != NULL;
  pthread_mutex_unlock(&c->lock);
  return done;
}

static void an_actors_log_line_names_the_actor(void **state) {
  (void)state;
  log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
  akt_system_options so = {.log_sink = capture, .log_data = &c};
  akt_testkit *tk = TK_NEW(.system = &so);
  akt_pid *a = akt_testkit_spawn(tk, "a", &logging_def);
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(a, &m.base), 0);
  test_wait_until(tk, logged, &c, "the actor's line");
  assert_string_equal(seen(&c).last, "hello 7 actor=/user/a");
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(system_new_checks_the_name_and_its_arguments),
    cmocka_unit_test(many_systems_share_one_backend_and_one_process),
    cmocka_unit_test(shutdown_stops_the_tree_children_first_and_is_idempotent),
    cmocka_unit_test(shutdown_from_inside_an_actor_is_estate),
    cmocka_unit_test(shutdown_gives_up_with_etimedout_when_an_actor_does_not_finish),
    cmocka_unit_test(lookup_finds_live_actors_by_path_or_address),
    cmocka_unit_test(registered_types_are_found_by_their_full_name),
    cmocka_unit_test(lines_at_or_above_the_level_reach_the_sink),
    cmocka_unit_test(the_default_level_is_warn_and_off_silences_everything),
    cmocka_unit_test(a_long_line_is_truncated_to_the_limit),
    cmocka_unit_test(structured_fields_are_key_value_and_quoted_when_needed),
    cmocka_unit_test(an_actors_log_line_names_the_actor),
};

AKT_TEST_MAIN_BOTH("api-system", tests)
