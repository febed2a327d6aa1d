/* akt under a wrapping allocator (the binary links with
 * --wrap=malloc,calloc,realloc,posix_memalign, so every allocation akt
 * makes goes through the functions below):
 *   - no malloc per message in steady state: tell and pingpong, counted;
 *   - no system message lost when allocations fail: the allocator fails on
 *     demand, with the envelope pool emptied first (simulator only: there
 *     the test's thread is the only one, so it can empty the pool's caches
 *     and choose the moment memory runs out — from inside an actor's
 *     callback if need be). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>

#include "../support/both.h"
#include "src/util/pool.h"
#include "test.pb-c.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);

static atomic_long allocations;
static atomic_int starving; /* non-zero: every allocation fails */

void *__wrap_malloc(size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return atomic_load(&starving) ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return atomic_load(&starving) ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return atomic_load(&starving) ? NULL : __real_realloc(p, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return atomic_load(&starving) ? ENOMEM : __real_posix_memalign(p, align, n);
}

/* Blocks taken out of the envelope pool while starving, per class, chained
 * through their first word. */
static void *hoard[AKT__POOL_CLASSES];

/* From now on every allocation fails: malloc and friends refuse, and the
 * pool's caches (this thread's magazines and the depot) are emptied. */
static void starve(void) {
  atomic_store(&starving, 1);
  for (unsigned c = 0; c < AKT__POOL_CLASSES; c++) {
    uint8_t cls;
    void *p;
    while ((p = akt__pool_alloc((size_t)64 << c, &cls)) != NULL) {
      assert_int_equal(cls, c);
      *(void **)p = hoard[c];
      hoard[c] = p;
    }
  }
}

/* Allocations succeed again; the pool gets its blocks back. */
static void feed(void) {
  atomic_store(&starving, 0);
  for (unsigned c = 0; c < AKT__POOL_CLASSES; c++) {
    while (hoard[c]) {
      void *p = hoard[c];
      hoard[c] = *(void **)p;
      akt__pool_free(p, (uint8_t)c);
    }
  }
}

/* Counts Pings; answers Get with Total. */
static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  int64_t *n = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = *n;
    return akt_reply(ctx, &t.base);
  }
  (*n)++;
  return 0;
}
static const akt_actor_def tally_def = {
    .kind = "counter", .state_size = sizeof(int64_t), .receive = counter_receive};

/* Bounces Ping{n} with its partner (its arg, or the sender) until n hits
 * zero, then tells the probe in the other slot. */
typedef struct bounce_state {
  akt_pid *report;
} bounce_state;

static int bounce_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const Ping *p = (const Ping *)msg;
  if (p->n == 0) return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), msg);
  Ping next = PING__INIT;
  next.n = p->n - 1;
  return akt_reply(ctx, &next.base);
}
static const akt_actor_def bounce_def = {.kind = "bounce", .receive = bounce_receive};

/* The allowance: none on the simulator (one thread: every envelope freed
 * is reused by the next send). On libuv magazines move between threads
 * through the depot: a thread may allocate a magazine now and then, and a
 * sender that outruns its receiver (a busy machine) may find the blocks it
 * needs still parked in the receiver's two magazines (2 × 64 per worker)
 * and allocate that many once. Either is far below one per message. A
 * burst stays under the depot's bound (AKT__POOL_DEPOT_BYTES per class):
 * the simulator queues a whole burst before the receiver runs. */
#define BURST 10000
static long allowance(long messages) {
  return akt_test_backend == AKT_TESTKIT_SIM ? 0 : messages / 20;
}

static void tell_allocates_nothing_per_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *c = akt_testkit_spawn(tk, "c", &tally_def);
  Ping ping = PING__INIT;
  Get get = GET__INIT;
  ProtobufCMessage *reply;
  for (int round = 0; round < 3; round++) {
    long before = atomic_load(&allocations);
    for (int i = 0; i < BURST; i++) assert_int_equal(akt_tell(c, &ping.base), 0);
    long during = atomic_load(&allocations) - before;
    assert_int_equal(akt_ask(c, &get.base, AKT_SECONDS(10), &reply), 0);
    assert_int_equal(((Total *)reply)->value, (round + 1) * BURST);
    akt_msg_free(reply);
    if (round > 0) {
      print_message("tell round %d: %ld allocations for %d messages\n", round, during, BURST);
      assert_true(during <= allowance(BURST));
    }
  }
  akt_testkit_free(tk);
}

static void pingpong_allocates_nothing_per_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &bounce_def, &o);
  akt_pid *b = akt_testkit_spawn_opts(tk, "b", &bounce_def, &o);
  for (int round = 0; round < 3; round++) {
    Ping start = PING__INIT;
    start.n = BURST;
    long before = atomic_load(&allocations);
    akt_tell_as(a, &start.base, b); /* a replies to b, b to a, ... */
    akt_probe_expect_msg(p, &ping__descriptor, AKT_SECONDS(10));
    long during = atomic_load(&allocations) - before;
    if (round > 0) {
      print_message("pingpong round %d: %ld allocations for %d messages\n", round, during, BURST);
      /* Plus one: the round's last message goes to the probe, which keeps
       * its envelope (a pool block; the bounces themselves travel in the
       * mailboxes' slots and leave no block behind to reuse). */
      assert_true(during <= allowance(BURST) + 1);
    }
  }
  akt_testkit_free(tk);
}

/* ---- system messages when allocations fail ------------------------------ */

/* A worker: Add adds, Get replies Total, Fail{code} fails with code. It
 * allocates nothing to start, restart or stop. */
static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  int64_t *total = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &add__descriptor)) {
    *total += ((const Add *)msg)->amount;
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = *total;
    return akt_reply(ctx, &t.base);
  }
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  return AKT_EUNHANDLED;
}
static const akt_actor_def worker_def = {
    .kind = "worker", .state_size = sizeof(int64_t), .receive = worker_receive};

/* A worker whose post_stop is where memory runs out. */
static void starve_in_post_stop(akt_ctx *ctx) {
  (void)ctx;
  starve();
}
static const akt_actor_def frugal_def = {.kind = "frugal",
                                         .state_size = sizeof(int64_t),
                                         .receive = worker_receive,
                                         .post_stop = starve_in_post_stop};

/* A boss: its pre_start spawns one child "w" of the definition in its arg. */
static int boss_pre_start(akt_ctx *ctx) {
  return akt_spawn_child(ctx, "w", akt_ctx_arg(ctx), NULL, NULL);
}
static int boss_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}
static const akt_actor_def boss_def = {
    .kind = "boss", .pre_start = boss_pre_start, .receive = boss_receive};

/* Spawns /user/boss with supervisor `sup` and a child of `child`, lets it
 * start, and returns the child's PID (a reference the caller releases). */
static akt_pid *spawn_boss(akt_testkit *tk, const akt_actor_def *child, const akt_supervisor *sup) {
  akt_spawn_opts o = {.arg = child, .supervisor = sup};
  akt_testkit_spawn_opts(tk, "boss", &boss_def, &o);
  akt_testkit_run_until_idle(tk);
  akt_pid *w = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/boss/w", &w), 0);
  return w;
}

/* Is an actor at `path` alive? */
static int alive(akt_testkit *tk, const char *path) {
  akt_pid *pid = NULL;
  if (akt_lookup(akt_testkit_system(tk), path, &pid) != 0) return 0;
  akt_pid_release(pid);
  return 1;
}

static void tell_fail(akt_pid *to) {
  Fail f = FAIL__INIT;
  f.code = AKT_EUSER_BASE - 1;
  assert_int_equal(akt_tell(to, &f.base), 0);
}

static void tell_add(akt_pid *to, int64_t n) {
  Add a = ADD__INIT;
  a.amount = n;
  assert_int_equal(akt_tell(to, &a.base), 0);
}

/* The worker's total, asked (memory must be back). */
static int64_t total_of(akt_pid *w) {
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(w, &g.base, AKT_SECONDS(1), &reply), 0);
  int64_t v = ((const Total *)reply)->value;
  akt_msg_free(reply);
  return v;
}

/* When memory runs out while /user/boss (child of `child`) stops:
 * STOP_FIRST, after akt_stop (the stop must reach the child and the child's
 * end the boss); STARVE_FIRST, before akt_stop; IN_THE_CHILD, in the
 * child's post_stop (frugal_def). Checks that the subtree ended anyway. */
enum shortage { STOP_FIRST, STARVE_FIRST, IN_THE_CHILD };

static void boss_stops_through_a_shortage(enum shortage when) {
  akt_testkit *tk = TK_NEW();
  akt_pid *w = spawn_boss(tk, when == IN_THE_CHILD ? &frugal_def : &worker_def, NULL);
  akt_pid *boss = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/boss", &boss), 0);
  if (when == STARVE_FIRST) starve();
  assert_int_equal(akt_stop(boss), 0);
  if (when == STOP_FIRST) starve();
  akt_testkit_run_until_idle(tk);
  feed();
  assert_false(alive(tk, "/user/boss/w"));
  assert_false(alive(tk, "/user/boss"));
  akt_pid_release(boss);
  akt_pid_release(w);
  akt_testkit_free(tk);
}

static void a_stop_reaches_every_child_without_memory(void **state) {
  (void)state;
  SIM_ONLY();
  boss_stops_through_a_shortage(STOP_FIRST);
}

static void stopping_an_actor_needs_no_memory(void **state) {
  (void)state;
  SIM_ONLY();
  boss_stops_through_a_shortage(STARVE_FIRST);
}

static void a_childs_end_reaches_its_parent_without_memory(void **state) {
  (void)state;
  SIM_ONLY();
  boss_stops_through_a_shortage(IN_THE_CHILD);
}

/* Deciders that run out of memory before their decision goes out. */
static akt_directive resume_starving(const akt_failure *f, void *arg) {
  (void)f;
  (void)arg;
  starve();
  return AKT_DIRECTIVE_RESUME;
}
static akt_directive restart_starving(const akt_failure *f, void *arg) {
  (void)f;
  (void)arg;
  starve();
  return AKT_DIRECTIVE_RESTART;
}

static void a_resume_reaches_its_child_without_memory(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  const akt_supervisor sup = {.decider = resume_starving};
  akt_pid *w = spawn_boss(tk, &worker_def, &sup);
  tell_add(w, 5);
  tell_fail(w);
  akt_testkit_run_until_idle(tk);
  feed();
  /* Resumed, not left suspended: it answers, with its state. */
  assert_int_equal(total_of(w), 5);
  akt_pid_release(w);
  akt_testkit_free(tk);
}

static void a_delayed_restart_reaches_its_child_without_memory(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  const akt_supervisor sup = {.decider = restart_starving, .backoff_min = AKT_MILLIS(10)};
  akt_pid *w = spawn_boss(tk, &worker_def, &sup);
  tell_add(w, 5);
  tell_fail(w);
  akt_testkit_run_until_idle(tk);
  akt_testkit_advance(tk, AKT_MILLIS(20)); /* the backoff passes, still starving */
  feed();
  assert_int_equal(total_of(w), 0); /* restarted: fresh state */
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(w, &m), 0);
  assert_int_equal(m.restarts, 1);
  assert_true(m.running);
  akt_pid_release(w);
  akt_testkit_free(tk);
}

static void a_failure_reaches_the_supervisor_without_memory(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  akt_pid *w = spawn_boss(tk, &worker_def, NULL); /* the default decider restarts */
  tell_add(w, 5);
  tell_fail(w);
  starve();
  akt_testkit_run_until_idle(tk);
  feed();
  /* The boss heard of the failure and restarted the same actor. */
  assert_true(akt_pid_is_running(w));
  assert_int_equal(total_of(w), 0);
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(w, &m), 0);
  assert_int_equal(m.restarts, 1);
  assert_int_equal(m.failures, 1);
  akt_pid_release(w);
  akt_testkit_free(tk);
}

/* Counts its Ping ticks, every 10 ms from its start; Get replies Total. */
static int ticker_pre_start(akt_ctx *ctx) {
  Ping tick = PING__INIT;
  return akt_timer_start(ctx, 1, AKT_MILLIS(10), AKT_MILLIS(10), &tick.base);
}
static int ticker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &ping__descriptor)) return worker_receive(ctx, msg);
  (*(int64_t *)akt_ctx_state(ctx))++;
  return 0;
}
static const akt_actor_def ticker_def = {.kind = "ticker",
                                         .state_size = sizeof(int64_t),
                                         .pre_start = ticker_pre_start,
                                         .receive = ticker_receive};

static void a_repeating_timer_keeps_ticking_through_a_shortage(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  akt_pid *t = akt_testkit_spawn(tk, "ticker", &ticker_def);
  akt_testkit_advance(tk, AKT_MILLIS(35));
  int64_t before = total_of(t);
  assert_true(before >= 3);
  starve();
  akt_testkit_advance(tk, AKT_MILLIS(50)); /* its ticks are lost, not the timer */
  feed();
  int64_t during = total_of(t);
  akt_testkit_advance(tk, AKT_MILLIS(50));
  assert_true(total_of(t) >= during + 4);
  akt_testkit_free(tk);
}

/* On Cmd, requests Get from the PID in its arg twice, timing out after 10
 * and 30 ms; counts the timeouts in its total (Get replies it). */
static int count_timeout(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)reply;
  (void)arg;
  if (status == AKT_ETIMEDOUT) (*(int64_t *)akt_ctx_state(ctx))++;
  return 0;
}
static int impatient_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return worker_receive(ctx, msg);
  akt_pid *to = (akt_pid *)akt_ctx_arg(ctx);
  Get g = GET__INIT;
  int rc = akt_request(ctx, to, &g.base, AKT_MILLIS(10), count_timeout, NULL);
  if (!rc) rc = akt_request(ctx, to, &g.base, AKT_MILLIS(30), count_timeout, NULL);
  return rc;
}
static const akt_actor_def impatient_def = {
    .kind = "impatient", .state_size = sizeof(int64_t), .receive = impatient_receive};

static void request_timeouts_keep_coming_through_a_shortage(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  akt_probe *mute = akt_probe_new(tk, "mute"); /* never answers */
  akt_spawn_opts o = {.arg = akt_probe_pid(mute)};
  akt_pid *a = akt_testkit_spawn_opts(tk, "impatient", &impatient_def, &o);
  Cmd go = CMD__INIT;
  go.op = "go";
  assert_int_equal(akt_tell(a, &go.base), 0);
  akt_testkit_run_until_idle(tk);
  starve();
  /* The first times out; the timer is armed again for the second. */
  akt_testkit_advance(tk, AKT_MILLIS(20));
  feed();
  akt_testkit_advance(tk, AKT_MILLIS(20));
  assert_int_equal(total_of(a), 2);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tell_allocates_nothing_per_message),
    cmocka_unit_test(pingpong_allocates_nothing_per_message),
    cmocka_unit_test(a_stop_reaches_every_child_without_memory),
    cmocka_unit_test(stopping_an_actor_needs_no_memory),
    cmocka_unit_test(a_childs_end_reaches_its_parent_without_memory),
    cmocka_unit_test(a_resume_reaches_its_child_without_memory),
    cmocka_unit_test(a_delayed_restart_reaches_its_child_without_memory),
    cmocka_unit_test(a_failure_reaches_the_supervisor_without_memory),
    cmocka_unit_test(a_repeating_timer_keeps_ticking_through_a_shortage),
    cmocka_unit_test(request_timeouts_keep_coming_through_a_shortage),
};

AKT_TEST_MAIN_BOTH("actor/allocs", tests)
