/* Supervision: directives, strategies, limits, backoff, restart hooks —
 * on both backends. */
#include <stdio.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"
#include "akt/actor.pb-c.h"

/* Failure codes that name the directive the test decider picks. */
#define CODE_RESUME (AKT_EUSER_BASE - 1)
#define CODE_RESTART (AKT_EUSER_BASE - 2)
#define CODE_STOP (AKT_EUSER_BASE - 3)
#define CODE_ESCALATE (AKT_EUSER_BASE - 4)

static akt_directive by_code(const akt_failure *f, void *arg) {
  (void)arg;
  switch (f->code) {
    case CODE_RESUME: return AKT_DIRECTIVE_RESUME;
    case CODE_STOP: return AKT_DIRECTIVE_STOP;
    case CODE_ESCALATE: return AKT_DIRECTIVE_ESCALATE;
    default: return AKT_DIRECTIVE_RESTART;
  }
}

/* A worker counts Pings (answering Pong{count}), fails on Fail{code}, and
 * reports its lifecycle hooks to the probe in its arg. */
typedef struct {
  int64_t count;
} worker_state;

static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  worker_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    Pong p = PONG__INIT;
    p.n = ++s->count;
    return akt_reply(ctx, &p.base);
  }
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  return AKT_EUNHANDLED;
}

static int worker_pre_start(akt_ctx *ctx) { return note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "pre_start"); }
static void worker_post_stop(akt_ctx *ctx) { note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "post_stop"); }

static const akt_actor_def worker_def = {.kind = "worker",
                                         .state_size = sizeof(worker_state),
                                         .pre_start = worker_pre_start,
                                         .receive = worker_receive,
                                         .post_stop = worker_post_stop};

/* A boss spawns workers w0..w{n-1} in pre_start; it supervises them with
 * the supervisor of its spawn options and fails on Fail{code} itself. */
typedef struct boss_arg {
  akt_pid *probe;
  int workers;
} boss_arg;

static int boss_pre_start(akt_ctx *ctx) {
  const boss_arg *a = akt_ctx_arg(ctx);
  note_to(ctx, a->probe, "pre_start");
  akt_spawn_opts o = {.arg = a->probe};
  for (int i = 0; i < a->workers; i++) {
    char name[8];
    snprintf(name, sizeof name, "w%d", i);
    int rc = akt_spawn_child(ctx, name, &worker_def, &o, NULL);
    if (rc) return rc;
  }
  return 0;
}

static int boss_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  return AKT_EUNHANDLED;
}

static void boss_post_stop(akt_ctx *ctx) {
  note_to(ctx, ((const boss_arg *)akt_ctx_arg(ctx))->probe, "post_stop");
}

static const akt_actor_def boss_def = {.kind = "boss",
                                       .pre_start = boss_pre_start,
                                       .receive = boss_receive,
                                       .post_stop = boss_post_stop};

typedef struct fixture {
  akt_testkit *tk;
  akt_probe *p;
  boss_arg arg;
  akt_pid *boss;
} fixture;

/* Spawns a boss with `sup` over `workers` workers; consumes the start notes. */
static void setup_boss(fixture *f, const akt_supervisor *sup, int workers) {
  f->tk = TK_NEW();
  f->p = akt_probe_new(f->tk, "p");
  f->arg = (boss_arg){.probe = akt_probe_pid(f->p), .workers = workers};
  akt_spawn_opts o = {.arg = &f->arg, .supervisor = sup};
  f->boss = akt_testkit_spawn_opts(f->tk, "boss", &boss_def, &o);
  akt_probe_receive_n(f->p, (size_t)workers + 1, 0, NULL);
}

static akt_pid *worker(fixture *f, int i) {
  char path[64];
  snprintf(path, sizeof path, "/user/boss/w%d", i);
  akt_pid *pid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(f->tk), path, &pid), 0);
  return pid;
}

static int64_t ping(fixture *f, akt_pid *to) {
  Ping p = PING__INIT;
  akt_probe_tell(f->p, to, &p.base);
  return ((const Pong *)akt_probe_expect_msg(f->p, &pong__descriptor, 0))->n;
}

static void send_fail(fixture *f, akt_pid *to, int code) {
  Fail m = FAIL__INIT;
  m.code = code;
  akt_probe_tell(f->p, to, &m.base);
}

static const akt_supervisor one_for_one = {.decider = by_code};
static const akt_supervisor one_for_all = {.strategy = AKT_ONE_FOR_ALL, .decider = by_code};

static void resume_keeps_the_state(void **state) {
  (void)state;
  fixture f;
  setup_boss(&f, &one_for_one, 1);
  akt_pid *w = worker(&f, 0);
  assert_int_equal(ping(&f, w), 1);
  send_fail(&f, w, CODE_RESUME);
  assert_int_equal(ping(&f, w), 2);
  akt_probe_expect_no_msg(f.p, AKT_MILLIS(20)); /* no lifecycle notes */
  akt_pid_release(w);
  akt_testkit_free(f.tk);
}

static void restart_renews_the_state_and_keeps_the_mailbox(void **state) {
  (void)state;
  fixture f;
  setup_boss(&f, &one_for_one, 1);
  akt_pid *w = worker(&f, 0);
  assert_int_equal(ping(&f, w), 1);
  send_fail(&f, w, CODE_RESTART);
  Ping p = PING__INIT;
  akt_probe_tell(f.p, w, &p.base); /* queued while it restarts */
  EXPECT_NOTE(f.p, "w0:post_stop");
  EXPECT_NOTE(f.p, "w0:pre_start");
  const Pong *pong = (const Pong *)akt_probe_expect_msg(f.p, &pong__descriptor, 0);
  assert_int_equal(pong->n, 1); /* fresh state, and the queued Ping survived */
  assert_true(akt_pid_is_running(w));
  akt_actor_metrics m;
  akt_actor_get_metrics(w, &m);
  assert_int_equal(m.restarts, 1);
  assert_int_equal(m.failures, 1);
  akt_pid_release(w);
  akt_testkit_free(f.tk);
}

static void stop_terminates_the_child(void **state) {
  (void)state;
  fixture f;
  setup_boss(&f, &one_for_one, 2);
  akt_pid *w0 = worker(&f, 0), *w1 = worker(&f, 1);
  akt_probe_watch(f.p, w0);
  send_fail(&f, w0, CODE_STOP);
  EXPECT_NOTE(f.p, "w0:post_stop");
  akt_probe_expect_terminated(f.p, w0, 0);
  assert_int_equal(ping(&f, w1), 1); /* one-for-one: the sibling is untouched */
  akt_pid_release(w0);
  akt_pid_release(w1);
  akt_testkit_free(f.tk);
}

static void escalate_fails_the_parent(void **state) {
  (void)state;
  fixture f;
  setup_boss(&f, &one_for_one, 1);
  akt_pid *w = worker(&f, 0);
  akt_probe_watch(f.p, w);
  /* The boss escalates; its supervisor (the /user guardian's default)
   * restarts the boss, which stops its worker and spawns a new one. */
  send_fail(&f, w, CODE_ESCALATE);
  EXPECT_NOTE(f.p, "w0:post_stop");
  akt_probe_expect_terminated(f.p, w, 0);
  EXPECT_NOTE(f.p, "boss:post_stop");
  EXPECT_NOTE(f.p, "boss:pre_start");
  EXPECT_NOTE(f.p, "w0:pre_start");
  akt_actor_metrics m;
  akt_actor_get_metrics(f.boss, &m);
  assert_int_equal(m.restarts, 1);
  assert_int_equal(m.failures, 1);
  akt_pid *again = worker(&f, 0);
  assert_false(akt_pid_equal(again, w));
  assert_int_equal(ping(&f, again), 1);
  akt_pid_release(w);
  akt_pid_release(again);
  akt_testkit_free(f.tk);
}

static void one_for_all_restarts_every_child(void **state) {
  (void)state;
  fixture f;
  setup_boss(&f, &one_for_all, 3);
  akt_pid *w[3] = {worker(&f, 0), worker(&f, 1), worker(&f, 2)};
  for (int i = 0; i < 3; i++) assert_int_equal(ping(&f, w[i]), 1);
  send_fail(&f, w[1], CODE_RESTART);
  akt_probe_receive_n(f.p, 6, 0, NULL); /* post_stop + pre_start of each */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ping(&f, w[i]), 1);
    akt_actor_metrics m;
    akt_actor_get_metrics(w[i], &m);
    assert_int_equal(m.restarts, 1);
    akt_pid_release(w[i]);
  }
  akt_testkit_free(f.tk);
}

static void one_for_all_stop_stops_every_child(void **state) {
  (void)state;
  fixture f;
  setup_boss(&f, &one_for_all, 2);
  akt_pid *w0 = worker(&f, 0), *w1 = worker(&f, 1);
  akt_probe_watch(f.p, w0);
  akt_probe_watch(f.p, w1);
  send_fail(&f, w0, CODE_STOP);
  akt_probe_receive_n(f.p, 4, 0, NULL); /* two post_stop notes, two Terminated */
  assert_false(akt_pid_is_running(w0));
  assert_false(akt_pid_is_running(w1));
  assert_true(akt_pid_is_running(f.boss));
  akt_pid_release(w0);
  akt_pid_release(w1);
  akt_testkit_free(f.tk);
}

typedef struct seen {
  int calls;
  akt_failure last;
  uint64_t child_id;
} seen;

static akt_directive recording(const akt_failure *f, void *arg) {
  seen *s = arg;
  s->calls++;
  s->last = *f;
  s->child_id = akt_pid_id(f->child);
  return AKT_DIRECTIVE_RESUME;
}

static void the_decider_sees_code_source_child_and_count(void **state) {
  (void)state;
  seen s = {0};
  akt_supervisor sup = {.decider = recording, .decider_arg = &s};
  fixture f;
  setup_boss(&f, &sup, 1);
  akt_pid *w = worker(&f, 0);
  send_fail(&f, w, AKT_EUSER_BASE - 77);
  assert_int_equal(ping(&f, w), 1);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.last.code, AKT_EUSER_BASE - 77);
  assert_int_equal(s.last.source, AKT_FAILED_IN_RECEIVE);
  assert_int_equal(s.child_id, akt_pid_id(w));
  assert_int_equal(s.last.restarts, 0);
  akt_pid_release(w);
  akt_testkit_free(f.tk);
}

static void the_default_decider(void **state) {
  (void)state;
  akt_failure f = {.code = -1, .source = AKT_FAILED_IN_RECEIVE};
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_RESTART);
  f.source = AKT_FAILED_IN_PRE_START;
  assert_int_equal(akt_default_decider(&f, NULL), AKT_DIRECTIVE_STOP);
  assert_string_equal(akt_directive_name(AKT_DIRECTIVE_ESCALATE), "escalate");
}

static void too_many_restarts_stop_and_escalate(void **state) {
  (void)state;
  akt_supervisor sup = {.decider = by_code, .max_restarts = 2, .within = AKT_SECONDS(10)};
  fixture f;
  setup_boss(&f, &sup, 1);
  akt_pid *w = worker(&f, 0);
  akt_probe_watch(f.p, w);
  for (int i = 0; i < 2; i++) {
    send_fail(&f, w, CODE_RESTART);
    EXPECT_NOTE(f.p, "w0:post_stop");
    EXPECT_NOTE(f.p, "w0:pre_start");
  }
  send_fail(&f, w, CODE_RESTART); /* the third within the window */
  EXPECT_NOTE(f.p, "w0:post_stop");
  /* w0 terminated, and the boss failed in turn: the /user guardian
   * restarted it. The Terminated comes from the system and the notes from
   * the boss, so on worker threads they interleave in any order; each
   * sender's own messages keep theirs. */
  const ProtobufCMessage *got[4];
  akt_probe_receive_n(f.p, 4, 0, got);
  static const char *const boss_notes[] = {"boss:post_stop", "boss:pre_start", "w0:pre_start"};
  size_t notes = 0, terminated = 0;
  for (size_t k = 0; k < 4; k++) {
    if (akt_msg_is(got[k], &akt__terminated__descriptor)) {
      assert_int_equal(((const Akt__Terminated *)got[k])->id, akt_pid_id(w));
      terminated++;
    } else {
      assert_true(akt_msg_is(got[k], &note__descriptor));
      assert_true(notes < 3);
      assert_string_equal(((const Note *)got[k])->text, boss_notes[notes++]);
    }
  }
  assert_int_equal(terminated, 1);
  akt_pid_release(w);
  akt_testkit_free(f.tk);
}

static void the_restart_window_slides(void **state) {
  (void)state;
  akt_supervisor sup = {.decider = by_code, .max_restarts = 1, .within = AKT_MILLIS(50)};
  fixture f;
  setup_boss(&f, &sup, 1);
  akt_pid *w = worker(&f, 0);
  for (int i = 0; i < 3; i++) {
    send_fail(&f, w, CODE_RESTART);
    EXPECT_NOTE(f.p, "w0:post_stop");
    EXPECT_NOTE(f.p, "w0:pre_start");
    akt_testkit_advance(f.tk, AKT_MILLIS(80)); /* the window closes */
  }
  assert_true(akt_pid_is_running(w));
  akt_pid_release(w);
  akt_testkit_free(f.tk);
}

static void restarts_back_off_exponentially(void **state) {
  (void)state;
  akt_supervisor sup = {.decider = by_code, .backoff_min = AKT_MILLIS(40),
                        .backoff_max = AKT_MILLIS(100)};
  fixture f;
  setup_boss(&f, &sup, 1);
  akt_pid *w = worker(&f, 0);
  const akt_duration expected[] = {AKT_MILLIS(40), AKT_MILLIS(80), AKT_MILLIS(100)};
  for (int i = 0; i < 3; i++) {
    uint64_t t0 = akt_testkit_now(f.tk);
    send_fail(&f, w, CODE_RESTART);
    /* post_stop runs when the delayed restart begins: not before the
     * delay, counted from before the failure was sent. How late it may
     * come is a bound only on virtual time: on libuv a loaded machine may
     * add any delay. */
    const Note *n = (const Note *)akt_probe_expect_msg(f.p, &note__descriptor, 0);
    assert_string_equal(n->text, "w0:post_stop");
    akt_duration took = akt_probe_last_arrival(f.p) - t0;
    assert_true(took >= expected[i]);
    if (akt_test_backend == AKT_TESTKIT_SIM) assert_true(took <= expected[i] + AKT_MILLIS(200));
    EXPECT_NOTE(f.p, "w0:pre_start");
  }
  akt_pid_release(w);
  akt_testkit_free(f.tk);
}

/* The jittered delay of one restart, observed on the simulator. */
static akt_duration jittered_delay(uint64_t seed) {
  akt_supervisor sup = {.decider = by_code, .backoff_min = AKT_MILLIS(100),
                        .jitter_percent = 50};
  fixture f;
  f.tk = akt_testkit_new(&(akt_testkit_options){.use_seed = 1, .seed = seed});
  f.p = akt_probe_new(f.tk, "p");
  f.arg = (boss_arg){.probe = akt_probe_pid(f.p), .workers = 1};
  akt_spawn_opts o = {.arg = &f.arg, .supervisor = &sup};
  akt_testkit_spawn_opts(f.tk, "boss", &boss_def, &o);
  akt_probe_receive_n(f.p, 2, 0, NULL);
  akt_pid *w = worker(&f, 0);
  send_fail(&f, w, CODE_RESTART);
  akt_testkit_run_until_idle(f.tk);
  uint64_t t0 = akt_testkit_now(f.tk);
  akt_probe_expect_msg(f.p, &note__descriptor, AKT_SECONDS(1));
  akt_duration d = akt_testkit_now(f.tk) - t0;
  akt_pid_release(w);
  akt_testkit_free(f.tk);
  return d;
}

static void backoff_jitter_comes_from_the_seed(void **state) {
  (void)state;
  SIM_ONLY();
  akt_duration a = jittered_delay(1), b = jittered_delay(1);
  assert_int_equal(a, b);
  int differs = 0;
  for (uint64_t s = 2; s < 8; s++) {
    akt_duration d = jittered_delay(s);
    assert_true(d >= AKT_MILLIS(50) - AKT_MICROS(10) && d <= AKT_MILLIS(150) + AKT_MICROS(10));
    if (d != a) differs = 1;
  }
  assert_true(differs);
}

/* Restart hooks: pre_restart sees the old state and the cause;
 * post_restart runs on the new state. */
static void hooked_pre_restart(akt_ctx *ctx, int cause) {
  worker_state *s = akt_ctx_state(ctx);
  char text[64];
  snprintf(text, sizeof text, "pre_restart count=%lld cause=%d", (long long)s->count, cause);
  note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), text);
}

static int hooked_post_restart(akt_ctx *ctx, int cause) {
  worker_state *s = akt_ctx_state(ctx);
  char text[64];
  snprintf(text, sizeof text, "post_restart count=%lld cause=%d", (long long)s->count, cause);
  return note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), text);
}

static void restart_hooks_replace_stop_and_start(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_actor_def def = worker_def;
  def.pre_restart = hooked_pre_restart;
  def.post_restart = hooked_post_restart;
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *w = akt_testkit_spawn_opts(tk, "h", &def, &o);
  EXPECT_NOTE(p, "h:pre_start");
  Ping ping = PING__INIT;
  akt_probe_tell(p, w, &ping.base);
  akt_probe_expect_msg(p, &pong__descriptor, 0);
  Fail fl = FAIL__INIT;
  fl.code = -1001;
  akt_probe_tell(p, w, &fl.base);
  EXPECT_NOTE(p, "h:pre_restart count=1 cause=-1001");
  EXPECT_NOTE(p, "h:post_restart count=0 cause=-1001");
  /* akt_restart from outside: cause 0. */
  assert_int_equal(akt_restart(w), 0);
  EXPECT_NOTE(p, "h:pre_restart count=0 cause=0");
  EXPECT_NOTE(p, "h:post_restart count=0 cause=0");
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(resume_keeps_the_state),
    cmocka_unit_test(restart_renews_the_state_and_keeps_the_mailbox),
    cmocka_unit_test(stop_terminates_the_child),
    cmocka_unit_test(escalate_fails_the_parent),
    cmocka_unit_test(one_for_all_restarts_every_child),
    cmocka_unit_test(one_for_all_stop_stops_every_child),
    cmocka_unit_test(the_decider_sees_code_source_child_and_count),
    cmocka_unit_test(the_default_decider),
    cmocka_unit_test(too_many_restarts_stop_and_escalate),
    cmocka_unit_test(the_restart_window_slides),
    cmocka_unit_test(restarts_back_off_exponentially),
    cmocka_unit_test(backoff_jitter_comes_from_the_seed),
    cmocka_unit_test(restart_hooks_replace_stop_and_start),
};

AKT_TEST_MAIN_BOTH("actor/supervision", tests)
