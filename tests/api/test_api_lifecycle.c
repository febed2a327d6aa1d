/* akt/actor.h's lifecycle: stop, PoisonPill, kill, restart, respawn — on
 * both backends. */
#include "api.h"

/* A worker that notes every message it handles and its hooks. Told
 * Cmd{op:"during"}, it calls the test's `during` inside that turn: what the
 * test does there happens while the actor handles "the current message",
 * on both backends. Its arg is a `worker_cfg`. */
typedef struct worker_cfg {
  akt_pid *to;
  void (*during)(akt_pid *self, void *arg);
  void *during_arg;
} worker_cfg;

typedef struct {
  int64_t count;
} worker_state;

static akt_pid *worker_to(akt_ctx *ctx) { return ((const worker_cfg *)akt_ctx_arg(ctx))->to; }
static const char *me(akt_ctx *ctx) { return akt_pid_name(akt_ctx_self(ctx)); }

static int worker_pre_start(akt_ctx *ctx) { return api_note(ctx, worker_to(ctx), "%s:pre_start", me(ctx)); }
static void worker_post_stop(akt_ctx *ctx) { api_note(ctx, worker_to(ctx), "%s:post_stop", me(ctx)); }

/* A worker whose post_stop tries to spawn a child. */
static void spawning_post_stop(akt_ctx *ctx) {
  extern const akt_actor_def worker_def;
  akt_spawn_opts o = {.arg = akt_ctx_arg(ctx)};
  akt_pid *kid = NULL;
  int rc = akt_spawn_child(ctx, "late", &worker_def, &o, &kid);
  api_note(ctx, worker_to(ctx), "%s:spawn in post_stop=%s%s", me(ctx), akt_errname(rc),
           kid ? " (a pid)" : "");
}

static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  worker_state *s = akt_ctx_state(ctx);
  const worker_cfg *cfg = akt_ctx_arg(ctx);
  if (api_is_cmd(msg, "during")) {
    cfg->during(akt_ctx_self(ctx), cfg->during_arg);
    return api_note(ctx, cfg->to, "%s:during", me(ctx));
  }
  if (api_is_cmd(msg, "stop-self")) {
    int rc = akt_stop(akt_ctx_self(ctx));
    return api_note(ctx, cfg->to, "%s:stop-self=%s", me(ctx), akt_errname(rc));
  }
  if (api_is_cmd(msg, "spawn")) {
    extern const akt_actor_def worker_def;
    akt_spawn_opts o = {.arg = cfg};
    return akt_spawn_child(ctx, ((const Cmd *)msg)->arg, &worker_def, &o, NULL);
  }
  if (api_is_cmd(msg, "fail")) return (int)((const Cmd *)msg)->n;
  if (akt_msg_is(msg, &add__descriptor)) {
    s->count += ((const Add *)msg)->amount;
    return api_note(ctx, cfg->to, "%s:count=%lld", me(ctx), (long long)s->count);
  }
  if (akt_msg_is(msg, &ping__descriptor))
    return api_note(ctx, cfg->to, "%s:ping %lld", me(ctx), (long long)((const Ping *)msg)->n);
  return AKT_EUNHANDLED;
}

const akt_actor_def worker_def = {.kind = "worker",
                                  .state_size = sizeof(worker_state),
                                  .pre_start = worker_pre_start,
                                  .receive = worker_receive,
                                  .post_stop = worker_post_stop};

/* The same with restart hooks that say their cause. */
static void hooked_pre_restart(akt_ctx *ctx, int cause) {
  api_note(ctx, worker_to(ctx), "%s:pre_restart %s", me(ctx), akt_errname(cause));
}
static int hooked_post_restart(akt_ctx *ctx, int cause) {
  return api_note(ctx, worker_to(ctx), "%s:post_restart %s", me(ctx), akt_errname(cause));
}

static const akt_actor_def hooked_def = {.kind = "hooked",
                                         .state_size = sizeof(worker_state),
                                         .pre_start = worker_pre_start,
                                         .receive = worker_receive,
                                         .post_stop = worker_post_stop,
                                         .pre_restart = hooked_pre_restart,
                                         .post_restart = hooked_post_restart};

static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg);
static const akt_actor_def late_spawner_def = {.kind = "late-spawner",
                                               .state_size = sizeof(worker_state),
                                               .pre_start = worker_pre_start,
                                               .receive = worker_receive,
                                               .post_stop = spawning_post_stop};

#define CFG(p, fn, arg) (&(worker_cfg){.to = akt_probe_pid(p), .during = (fn), .during_arg = (arg)})

static akt_pid *spawn_worker(akt_testkit *tk, const char *name, const akt_actor_def *def,
                             const worker_cfg *cfg, akt_probe *p) {
  akt_spawn_opts o = {.arg = cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, name, def, &o);
  API_EXPECT_NOTEF(p, "%s:pre_start", name);
  return a;
}

static void ping(akt_probe *p, akt_pid *to, int64_t n) {
  Ping m = PING__INIT;
  m.n = n;
  akt_probe_tell(p, to, &m.base);
}

static void add(akt_probe *p, akt_pid *to, int64_t n) {
  Add m = ADD__INIT;
  m.amount = n;
  akt_probe_tell(p, to, &m.base);
}

/* ---- stop ------------------------------------------------------------------- */

/* While the actor handles a message: two pings queued behind it, then
 * `then` (stop or kill) on it. */
typedef struct queue_then {
  akt_pid *from;
  int (*then)(akt_pid *pid);
  int times;
} queue_then;

static void queue_two_pings_then(akt_pid *self, void *arg) {
  queue_then *q = arg;
  for (int64_t i = 1; i <= 2; i++) {
    Ping m = PING__INIT;
    m.n = i;
    assert_int_equal(akt_tell_as(self, &m.base, q->from), 0);
  }
  for (int i = 0; i < q->times; i++) assert_int_equal(q->then(self), 0);
}

static void stop_lets_the_current_message_finish_and_dead_letters_the_queue(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  queue_then q = {.from = akt_probe_pid(p), .then = akt_stop, .times = 1};
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, queue_two_pings_then, &q), p);
  api_cmd(p, w, "during", NULL, 0);
  /* The current message finished; the queued pings were never handled. */
  EXPECT_NOTE(p, "w:during");
  EXPECT_NOTE(p, "w:post_stop");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  for (int i = 1; i <= 2; i++) {
    const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Ping", "terminated");
    assert_string_equal(d->target, "/user/w");
    assert_string_equal(d->sender, akt_pid_path(akt_probe_pid(p)));
    Ping *got = ping__unpack(NULL, d->payload.len, d->payload.data);
    assert_non_null(got);
    assert_int_equal(got->n, i);
    ping__free_unpacked(got, NULL);
  }
  akt_testkit_free(tk);
}

static void a_stopped_actor_refuses_stops_and_tells_with_estopped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  assert_int_equal(akt_stop(w), 0);
  api_wait_terminated(tk, w);
  assert_false(akt_pid_is_running(w));
  assert_int_equal(akt_stop(w), AKT_ESTOPPED);
  assert_int_equal(akt_stop(NULL), AKT_EINVAL);
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(w, &m.base), AKT_ESTOPPED);
  api_expect_dead_letter(dl, "Ping", "terminated");
  akt_testkit_free(tk);
}

static void an_actor_may_stop_itself_and_finishes_the_current_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  api_cmd(p, w, "stop-self", NULL, 0);
  ping(p, w, 1);
  EXPECT_NOTE(p, "w:stop-self=AKT_OK");
  EXPECT_NOTE(p, "w:post_stop");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  api_wait_terminated(tk, w);
  akt_testkit_free(tk);
}

static void children_stop_before_their_parent_and_post_stop_runs_bottom_up(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  worker_cfg *cfg = CFG(p, NULL, NULL);
  akt_pid *top = spawn_worker(tk, "top", &worker_def, cfg, p);
  api_cmd(p, top, "spawn", "mid", 0);
  EXPECT_NOTE(p, "mid:pre_start");
  akt_pid *mid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/top/mid", &mid), 0);
  api_cmd(p, mid, "spawn", "leaf", 0);
  EXPECT_NOTE(p, "leaf:pre_start");
  assert_int_equal(akt_stop(top), 0);
  EXPECT_NOTE(p, "leaf:post_stop");
  EXPECT_NOTE(p, "mid:post_stop");
  EXPECT_NOTE(p, "top:post_stop");
  akt_pid_release(mid);
  akt_testkit_free(tk);
}

static void a_poison_pill_stops_after_the_messages_queued_before_it(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  ping(p, w, 1);
  ping(p, w, 2);
  Akt__PoisonPill pill = AKT__POISON_PILL__INIT;
  akt_probe_tell(p, w, &pill.base);
  ping(p, w, 3);
  EXPECT_NOTE(p, "w:ping 1");
  EXPECT_NOTE(p, "w:ping 2");
  EXPECT_NOTE(p, "w:post_stop");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Ping", "terminated");
  Ping *got = ping__unpack(NULL, d->payload.len, d->payload.data);
  assert_int_equal(got->n, 3);
  ping__free_unpacked(got, NULL);
  akt_testkit_free(tk);
}

static const akt_actor_def late_spawner_def;

static void a_stopping_actor_cannot_spawn_children(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &late_spawner_def, CFG(p, NULL, NULL), p);
  assert_int_equal(akt_stop(w), 0);
  EXPECT_NOTE(p, "w:spawn in post_stop=AKT_ESTOPPED");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20)); /* no child started */
  akt_testkit_free(tk);
}

/* ---- kill ------------------------------------------------------------------- */

static void kill_goes_ahead_of_the_queue_and_the_default_supervisor_stops(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  queue_then q = {.from = akt_probe_pid(p), .then = akt_kill, .times = 1};
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, queue_two_pings_then, &q), p);
  akt_probe *watcher = akt_probe_new(tk, "watcher");
  akt_probe_watch(watcher, w);
  api_cmd(p, w, "during", NULL, 0);
  EXPECT_NOTE(p, "w:during");
  EXPECT_NOTE(p, "w:post_stop");
  akt_probe_expect_terminated(watcher, w, 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  api_expect_dead_letter(dl, "Ping", "terminated");
  api_expect_dead_letter(dl, "Ping", "terminated");
  api_expect_counts(w, 1, 0);
  akt_testkit_free(tk);
}

/* A parent whose supervisor restarts on everything and tells the probe
 * what the decider saw. */
typedef struct decider_log {
  akt_pid *to;
  akt_system *sys;
} decider_log;

static akt_directive restart_and_say(const akt_failure *f, void *arg) {
  decider_log *log = arg;
  Note n = NOTE__INIT;
  char text[128];
  snprintf(text, sizeof text, "decide %s code=%s source=%d", akt_pid_name(f->child),
           akt_errname(f->code), (int)f->source);
  n.text = text;
  akt_tell(log->to, &n.base);
  return AKT_DIRECTIVE_RESTART;
}

static void two_kills_before_the_actor_runs_again_are_one(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *decisions = akt_probe_new(tk, "decisions");
  queue_then q = {.from = akt_probe_pid(p), .then = akt_kill, .times = 2};
  worker_cfg *cfg = CFG(p, queue_two_pings_then, &q);
  decider_log log = {.to = akt_probe_pid(decisions)};
  akt_supervisor sup = {.decider = restart_and_say, .decider_arg = &log};
  akt_spawn_opts po = {.arg = cfg, .supervisor = &sup};
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &worker_def, &po);
  EXPECT_NOTE(p, "parent:pre_start");
  api_cmd(p, parent, "spawn", "kid", 0);
  EXPECT_NOTE(p, "kid:pre_start");
  akt_pid *kid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/parent/kid", &kid), 0);
  api_cmd(p, kid, "during", NULL, 0);
  EXPECT_NOTE(p, "kid:during");
  /* One failure, decided once, one restart (default hooks: post_stop, then
   * pre_start). */
  API_EXPECT_NOTEF(decisions, "decide kid code=AKT_EKILLED source=%d", AKT_FAILED_KILLED);
  EXPECT_NOTE(p, "kid:post_stop");
  EXPECT_NOTE(p, "kid:pre_start");
  /* The mailbox outlives the restart: the queued pings are handled. */
  EXPECT_NOTE(p, "kid:ping 1");
  EXPECT_NOTE(p, "kid:ping 2");
  akt_probe_expect_no_msg(decisions, AKT_MILLIS(50));
  akt_probe_expect_no_msg(p, AKT_MILLIS(1));
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(kid, &m), 0);
  assert_int_equal(m.restarts, 1);
  assert_true(m.running);
  akt_pid_release(kid);
  akt_testkit_free(tk);
}

static void kill_refuses_terminated_actors_guardians_and_null(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  akt_pid *user = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user", &user), 0);
  assert_int_equal(akt_kill(user), AKT_ENOTSUP);
  assert_int_equal(akt_restart(user), AKT_ENOTSUP);
  assert_int_equal(akt_respawn(user, NULL), AKT_ENOTSUP);
  assert_true(akt_pid_is_running(user));
  assert_int_equal(akt_kill(NULL), AKT_EINVAL);
  assert_int_equal(akt_stop(w), 0);
  api_wait_terminated(tk, w);
  assert_int_equal(akt_kill(w), AKT_ESTOPPED);
  akt_pid_release(user);
  akt_testkit_free(tk);
}

/* ---- restart ----------------------------------------------------------------- */

static void restart_keeps_the_pid_and_mailbox_and_zeroes_the_state(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &hooked_def, CFG(p, NULL, NULL), p);
  akt_probe *watcher = akt_probe_new(tk, "watcher");
  akt_probe_watch(watcher, w);
  add(p, w, 5);
  EXPECT_NOTE(p, "w:count=5");
  assert_int_equal(akt_restart(w), 0);
  add(p, w, 1); /* sent after the restart call: handled by the fresh state */
  EXPECT_NOTE(p, "w:pre_restart AKT_OK");
  EXPECT_NOTE(p, "w:post_restart AKT_OK");
  EXPECT_NOTE(p, "w:count=1");
  assert_true(akt_pid_is_running(w));
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/w", &found), 0);
  assert_true(akt_pid_equal(found, w));
  /* Watchers are kept, and a restart is no termination. */
  akt_probe_expect_no_msg(watcher, AKT_MILLIS(20));
  assert_int_equal(akt_stop(w), 0);
  akt_probe_expect_terminated(watcher, w, 0);
  akt_pid_release(found);
  akt_testkit_free(tk);
}

static void restart_without_hooks_runs_post_stop_then_pre_start(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  assert_int_equal(akt_restart(w), 0);
  EXPECT_NOTE(p, "w:post_stop");
  EXPECT_NOTE(p, "w:pre_start");
  akt_testkit_free(tk);
}

static int restarts_reached(void *arg) {
  akt_actor_metrics m;
  akt_actor_get_metrics(arg, &m);
  return m.restarts >= 3;
}

static void each_restart_call_is_one_restart(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &hooked_def, CFG(p, NULL, NULL), p);
  for (int i = 0; i < 3; i++) assert_int_equal(akt_restart(w), 0);
  for (int i = 0; i < 3; i++) {
    EXPECT_NOTE(p, "w:pre_restart AKT_OK");
    EXPECT_NOTE(p, "w:post_restart AKT_OK");
  }
  test_wait_until(tk, restarts_reached, w, "3 restarts counted");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_actor_metrics m;
  akt_actor_get_metrics(w, &m);
  assert_int_equal(m.restarts, 3);
  assert_int_equal(m.failures, 0); /* akt_restart is no failure */
  akt_testkit_free(tk);
}

static void restart_refuses_terminated_actors_and_null(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  assert_int_equal(akt_restart(NULL), AKT_EINVAL);
  assert_int_equal(akt_stop(w), 0);
  api_wait_terminated(tk, w);
  assert_int_equal(akt_restart(w), AKT_ESTOPPED);
  akt_testkit_free(tk);
}

/* ---- respawn ----------------------------------------------------------------- */

static void respawn_refuses_a_running_actor_with_estate(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(w, &again), AKT_ESTATE);
  assert_null(again);
  assert_int_equal(akt_respawn(NULL, &again), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void respawn_brings_a_terminated_actor_back_at_its_path_with_a_new_pid(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = spawn_worker(tk, "w", &worker_def, CFG(p, NULL, NULL), p);
  add(p, w, 7);
  EXPECT_NOTE(p, "w:count=7");
  assert_int_equal(akt_stop(w), 0);
  EXPECT_NOTE(p, "w:post_stop");
  api_wait_terminated(tk, w);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(w, &again), 0);
  /* Same definition and arg (it reports to the same probe), fresh state. */
  EXPECT_NOTE(p, "w:pre_start");
  assert_string_equal(akt_pid_path(again), "/user/w");
  assert_false(akt_pid_equal(again, w));
  assert_true(akt_pid_id(again) > akt_pid_id(w));
  add(p, again, 1);
  EXPECT_NOTE(p, "w:count=1");
  /* The old PID still names the old incarnation. */
  Ping m = PING__INIT;
  assert_int_equal(akt_tell(w, &m.base), AKT_ESTOPPED);
  akt_pid_release(again);
  akt_testkit_free(tk);
}

static void respawn_is_eexist_when_the_path_was_taken_meanwhile(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  worker_cfg *cfg = CFG(p, NULL, NULL);
  akt_pid *w = spawn_worker(tk, "w", &worker_def, cfg, p);
  assert_int_equal(akt_stop(w), 0);
  EXPECT_NOTE(p, "w:post_stop");
  api_wait_terminated(tk, w);
  spawn_worker(tk, "w", &worker_def, cfg, p);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(w, &again), AKT_EEXIST);
  assert_null(again);
  akt_testkit_free(tk);
}

static void respawn_of_a_child_whose_parent_is_gone_is_estopped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *top = spawn_worker(tk, "top", &worker_def, CFG(p, NULL, NULL), p);
  api_cmd(p, top, "spawn", "kid", 0);
  EXPECT_NOTE(p, "kid:pre_start");
  akt_pid *kid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/top/kid", &kid), 0);
  assert_int_equal(akt_stop(top), 0);
  api_wait_terminated(tk, top);
  assert_int_equal(akt_respawn(kid, NULL), AKT_ESTOPPED);
  akt_pid_release(kid);
  akt_testkit_free(tk);
}

static void an_anonymous_actor_respawns_anonymous(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = CFG(p, NULL, NULL)};
  akt_pid *w = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), NULL, &worker_def, &o, &w), 0);
  akt_probe_expect_msg(p, &note__descriptor, 0);
  assert_int_equal(akt_stop(w), 0);
  api_wait_terminated(tk, w);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(w, &again), 0);
  char want[64];
  snprintf(want, sizeof want, "$%llu", (unsigned long long)akt_pid_id(again));
  assert_string_equal(akt_pid_name(again), want);
  akt_pid_release(again);
  akt_pid_release(w);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(stop_lets_the_current_message_finish_and_dead_letters_the_queue),
    cmocka_unit_test(a_stopped_actor_refuses_stops_and_tells_with_estopped),
    cmocka_unit_test(an_actor_may_stop_itself_and_finishes_the_current_message),
    cmocka_unit_test(children_stop_before_their_parent_and_post_stop_runs_bottom_up),
    cmocka_unit_test(a_poison_pill_stops_after_the_messages_queued_before_it),
    cmocka_unit_test(a_stopping_actor_cannot_spawn_children),
    cmocka_unit_test(kill_goes_ahead_of_the_queue_and_the_default_supervisor_stops),
    cmocka_unit_test(two_kills_before_the_actor_runs_again_are_one),
    cmocka_unit_test(kill_refuses_terminated_actors_guardians_and_null),
    cmocka_unit_test(restart_keeps_the_pid_and_mailbox_and_zeroes_the_state),
    cmocka_unit_test(restart_without_hooks_runs_post_stop_then_pre_start),
    cmocka_unit_test(each_restart_call_is_one_restart),
    cmocka_unit_test(restart_refuses_terminated_actors_and_null),
    cmocka_unit_test(respawn_refuses_a_running_actor_with_estate),
    cmocka_unit_test(respawn_brings_a_terminated_actor_back_at_its_path_with_a_new_pid),
    cmocka_unit_test(respawn_is_eexist_when_the_path_was_taken_meanwhile),
    cmocka_unit_test(respawn_of_a_child_whose_parent_is_gone_is_estopped),
    cmocka_unit_test(an_anonymous_actor_respawns_anonymous),
};

AKT_TEST_MAIN_BOTH("api-lifecycle", tests)
