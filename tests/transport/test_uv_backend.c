/* Tests of the production backend's non-network services: scheduling,
 * timers, wait/wake, randomness, clocks, logging, and clean shutdown. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "uv_test_util.h"

/* ---- construction ---------------------------------------------------------- */

static void new_and_free(void **state) {
  (void)state;
  akt_backend *b = NULL;
  assert_int_equal(akt_uv_backend_new(NULL, &b), 0);
  assert_true(akt_uv_backend_workers(b) >= 1);
  assert_true(akt_uv_backend_workers(b) <= AKT_UV_MAX_WORKERS);
  assert_null(b->ops->trace);
  akt_uv_backend_free(b);
  akt_uv_backend_free(NULL);

  akt_uv_options o = {.workers = AKT_UV_MAX_WORKERS + 1};
  b = NULL;
  assert_int_equal(akt_uv_backend_new(&o, &b), AKT_EINVAL);
  assert_null(b);
  assert_int_equal(akt_uv_backend_new(NULL, NULL), AKT_EINVAL);

  o.workers = 3;
  assert_int_equal(akt_uv_backend_new(&o, &b), 0);
  assert_int_equal(akt_uv_backend_workers(b), 3);
  akt_uv_backend_free(b);
}

/* ---- schedule ----------------------------------------------------------------- */

#define SCHED_N 10000

typedef struct sched_item {
  akt_runnable r;
  atomic_int runs;
  int again; /* times left to reschedule itself */
  akt_backend *b;
  test_count *total;
} sched_item;

/* Reads everything it needs from its item before it counts the run: from
 * the moment the count says the item ran, the test owns it again and may
 * free it (schedule_runs_each_once does, before the backend), and once it
 * is scheduled again another worker may be running it. */
static void sched_run(akt_runnable *self) {
  sched_item *it = (sched_item *)self;
  akt_backend *b = it->b;
  test_count *total = it->total;
  atomic_fetch_add(&it->runs, 1);
  if (it->again > 0) {
    it->again--;
    b->ops->schedule(b, &it->r); /* from a worker thread */
  }
  atomic_fetch_add(&total->n, 1);
  b->ops->wake(b);
}

static void schedule_runs_each_once(void **state) {
  (void)state;
  akt_backend *b = test_backend(4, NULL, 0);
  sched_item *items = calloc(SCHED_N, sizeof *items);
  assert_non_null(items);
  test_count total = {0};
  for (int i = 0; i < SCHED_N; i++) {
    items[i].r.run = sched_run;
    items[i].b = b;
    items[i].total = &total;
    b->ops->schedule(b, &items[i].r);
  }
  test_wait_count(b, &total, SCHED_N);
  for (int i = 0; i < SCHED_N; i++) assert_int_equal(atomic_load(&items[i].runs), 1);
  free(items);
  akt_uv_backend_free(b);
}

static void schedule_from_workers(void **state) {
  (void)state;
  enum { N = 64, AGAIN = 100 };
  akt_backend *b = test_backend(3, NULL, 0);
  sched_item items[N];
  memset(items, 0, sizeof items);
  test_count total = {0};
  for (int i = 0; i < N; i++) {
    items[i].r.run = sched_run;
    items[i].b = b;
    items[i].total = &total;
    items[i].again = AGAIN;
    b->ops->schedule(b, &items[i].r);
  }
  test_wait_count(b, &total, (long)N * (AGAIN + 1));
  for (int i = 0; i < N; i++) assert_int_equal(atomic_load(&items[i].runs), AGAIN + 1);
  akt_uv_backend_free(b);
}

/* ---- wait / wake ------------------------------------------------------------ */

static int never(void *arg) {
  (void)arg;
  return 0;
}

static void wait_times_out(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  uint64_t deadline = test_deadline(b, AKT_MILLIS(20));
  assert_int_equal(b->ops->wait(b, never, NULL, deadline), AKT_ETIMEDOUT);
  assert_true(b->ops->now(b) >= deadline);
  /* A deadline already past still evaluates ready() once. */
  atomic_int yes = 1;
  assert_int_equal(b->ops->wait(b, test_flag_set, &yes, 0), 0);
  assert_int_equal(b->ops->wait(b, never, NULL, 0), AKT_ETIMEDOUT);
  akt_uv_backend_free(b);
}

typedef struct flag_task {
  akt_runnable r;
  akt_backend *b;
  atomic_int flag;
  atomic_int result;
} flag_task;

/* The task lives in the waiter's loop body: once the flag is set the waiter
 * may go on to its next task in the same memory, so nothing is read from
 * the task after the store. */
static void set_flag_run(akt_runnable *self) {
  flag_task *t = (flag_task *)self;
  akt_backend *b = t->b;
  usleep(5000); /* let the waiter block first; correctness does not depend on it */
  atomic_store(&t->flag, 1);
  b->ops->wake(b);
}

static void wait_woken_by_worker(void **state) {
  (void)state;
  akt_backend *b = test_backend(2, NULL, 0);
  for (int i = 0; i < 20; i++) {
    flag_task t = {.r.run = set_flag_run, .b = b};
    b->ops->schedule(b, &t.r);
    assert_int_equal(b->ops->wait(b, test_flag_set, &t.flag, AKT_FOREVER), 0);
  }
  akt_uv_backend_free(b);
}

static void wait_in_runnable_run(akt_runnable *self) {
  flag_task *t = (flag_task *)self;
  akt_backend *b = t->b;
  atomic_store(&t->result, b->ops->wait(b, never, NULL, AKT_FOREVER));
  atomic_store(&t->flag, 1);
  b->ops->wake(b);
}

static void wait_in_timer(void *arg, uint64_t cookie) {
  (void)cookie;
  flag_task *t = arg;
  akt_backend *b = t->b;
  atomic_store(&t->result, b->ops->wait(b, never, NULL, AKT_FOREVER));
  atomic_store(&t->flag, 1);
  b->ops->wake(b);
}

static void wait_on_backend_thread_is_refused(void **state) {
  (void)state;
  akt_backend *b = test_backend(2, NULL, 0);
  flag_task t = {.r.run = wait_in_runnable_run, .b = b};
  b->ops->schedule(b, &t.r);
  test_wait_flag(b, &t.flag);
  assert_int_equal(atomic_load(&t.result), AKT_ESTATE);

  flag_task t2 = {.b = b};
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, 0, wait_in_timer, &t2, 0, &id), 0);
  test_wait_flag(b, &t2.flag);
  assert_int_equal(atomic_load(&t2.result), AKT_ESTATE);
  akt_uv_backend_free(b);
}

/* ---- timers ---------------------------------------------------------------- */

typedef struct timer_log {
  akt_backend *b;
  atomic_int n;
  int want; /* timer_log_has: this many have fired (0: 3) */
  uint64_t cookies[16];
  uint64_t fired_at[16];
  pthread_t thread[16];
} timer_log;

static void log_timer(void *arg, uint64_t cookie) {
  timer_log *tl = arg;
  akt_backend *b = tl->b;
  int i = atomic_load(&tl->n);
  tl->cookies[i] = cookie;
  tl->fired_at[i] = b->ops->now(b);
  tl->thread[i] = pthread_self();
  atomic_store(&tl->n, i + 1); /* timers run on the one loop thread */
  b->ops->wake(b);
}

static int timer_log_has(void *arg) {
  timer_log *tl = arg;
  return atomic_load(&tl->n) >= (tl->want ? tl->want : 3);
}

/* libuv counts whole milliseconds, and the backend rounds a deadline up to
 * the next one (transport/timers.c): two deadlines in the same millisecond
 * may fire in either order; deadlines this far apart never share one. */
#define TIMER_ORDER_RESOLUTION AKT_MILLIS(1)

/* A timer's deadline is the clock during timer_start plus its delay; the
 * test knows it lies between these two bounds. */
typedef struct deadline_window {
  uint64_t lo, hi;
} deadline_window;

static uint64_t start_timed(akt_backend *b, akt_duration delay, akt_timer_fn fn, void *arg,
                            uint64_t cookie, deadline_window *w) {
  uint64_t id = 0;
  w->lo = b->ops->now(b) + delay;
  assert_int_equal(b->ops->timer_start(b, delay, fn, arg, cookie, &id), 0);
  w->hi = b->ops->now(b) + delay;
  assert_true(id != 0);
  return id;
}

#define MARKER 3 /* the cookie of the marker timer */

/* Started in the order 30, 10, 20 ms, the timers fire in the order of
 * their deadlines — when the loop thread arms them before they are due.
 * The loop arms a timer when it takes the start's request from its queue,
 * and timers that were already due when armed fire in the order they were
 * armed; on a loaded machine the loop thread may come to the queue late. A marker timer of delay 0, started last, tells: its request is
 * taken after the three others, so if it fired before the earliest of their
 * deadlines, all three were armed in time and their order is checked. Pairs
 * are ordered only when their deadlines are known to be apart (every pair
 * when the starts are close: the test thread too may stop between two). */
static void timers_fire_in_deadline_order(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  timer_log tl = {.b = b, .want = 4};
  static const uint64_t delay_ms[3] = {30, 10, 20};
  uint64_t ids[4];
  deadline_window w[4];
  for (int i = 0; i < 3; i++)
    ids[i] = start_timed(b, AKT_MILLIS(delay_ms[i]), log_timer, &tl, (uint64_t)i, &w[i]);
  ids[MARKER] = start_timed(b, 0, log_timer, &tl, MARKER, &w[MARKER]);
  assert_true(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
  assert_int_equal(b->ops->wait(b, timer_log_has, &tl, test_deadline(b, TEST_PATIENCE)), 0);
  int pos[4] = {-1, -1, -1, -1}; /* pos[timer] = its place in the firing order */
  for (int k = 0; k < 4; k++) {
    assert_true(tl.cookies[k] <= MARKER);
    assert_int_equal(pos[tl.cookies[k]], -1); /* each fires once */
    pos[tl.cookies[k]] = k;
  }
  uint64_t earliest = UINT64_MAX;
  for (int i = 0; i < 4; i++) {
    /* Never early, and on a backend thread (not this one). */
    assert_true(tl.fired_at[pos[i]] >= w[i].lo);
    assert_false(pthread_equal(tl.thread[pos[i]], pthread_self()));
    if (i != MARKER && w[i].lo < earliest) earliest = w[i].lo;
  }
  if (tl.fired_at[pos[MARKER]] < earliest) {
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++)
        if (w[i].hi + TIMER_ORDER_RESOLUTION <= w[j].lo) assert_true(pos[i] < pos[j]);
  } else {
    print_message("the loop thread came late to the timers: their order is not checked\n");
  }
  /* Fired timers cannot be canceled. */
  for (int i = 0; i < 4; i++) assert_int_equal(b->ops->timer_cancel(b, ids[i]), AKT_ENOENT);
  akt_uv_backend_free(b);
}

/* Holds the loop thread in a timer callback until the test releases it. No
 * timer fires while the loop is held, so what the test does meanwhile
 * happens before any firing, however slowly the test thread runs. */
typedef struct loop_hold {
  akt_backend *b;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_int held;
  int released; /* under mu */
} loop_hold;

static void loop_hold_fn(void *arg, uint64_t cookie) {
  (void)cookie;
  loop_hold *h = arg;
  akt_backend *b = h->b;
  pthread_mutex_lock(&h->mu);
  atomic_store(&h->held, 1);
  b->ops->wake(b);
  while (!h->released) pthread_cond_wait(&h->cv, &h->mu);
  pthread_mutex_unlock(&h->mu);
}

static void loop_hold_begin(loop_hold *h, akt_backend *b) {
  h->b = b;
  assert_int_equal(pthread_mutex_init(&h->mu, NULL), 0);
  assert_int_equal(pthread_cond_init(&h->cv, NULL), 0);
  atomic_store(&h->held, 0);
  h->released = 0;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, 0, loop_hold_fn, h, 0, &id), 0);
  test_wait_flag(b, &h->held);
}

static void loop_hold_end(loop_hold *h) {
  pthread_mutex_lock(&h->mu);
  h->released = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

/* Called after the backend is freed (the loop thread has left the hold). */
static void loop_hold_destroy(loop_hold *h) {
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
}

static void count_timer(void *arg, uint64_t cookie) {
  (void)cookie;
  test_count_bump(arg);
}

/* A timer canceled before its deadline never runs. The cancel happens
 * while the loop thread is held, so it is before the deadline whatever the
 * load; a later timer firing then shows the loop went past the canceled
 * timer's deadline. */
static void timer_cancel_before_firing(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  test_count canceled = {.b = b};
  timer_log later = {.b = b};
  loop_hold hold;
  loop_hold_begin(&hold, b);
  deadline_window w, wl;
  uint64_t id = start_timed(b, AKT_MILLIS(20), count_timer, &canceled, 0, &w);
  assert_int_equal(b->ops->timer_cancel(b, id), 0);
  assert_int_equal(b->ops->timer_cancel(b, id), AKT_ENOENT);
  loop_hold_end(&hold);
  for (int i = 0; i < 3; i++) (void)start_timed(b, AKT_MILLIS(40), log_timer, &later, 0, &wl);
  assert_true(wl.lo >= w.hi + TIMER_ORDER_RESOLUTION);
  assert_int_equal(b->ops->wait(b, timer_log_has, &later, test_deadline(b, TEST_PATIENCE)), 0);
  assert_int_equal(atomic_load(&canceled.n), 0);
  assert_int_equal(b->ops->timer_cancel(b, 0), AKT_ENOENT);
  assert_int_equal(b->ops->timer_cancel(b, UINT64_C(987654321)), AKT_ENOENT);
  akt_uv_backend_free(b);
  loop_hold_destroy(&hold);
}

static void timer_cancel_after_firing(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  test_count fired = {.b = b};
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(1), count_timer, &fired, 0, &id), 0);
  test_wait_count(b, &fired, 1);
  assert_int_equal(b->ops->timer_cancel(b, id), AKT_ENOENT);
  assert_int_equal(atomic_load(&fired.n), 1);
  akt_uv_backend_free(b);
}

/* Races cancel against firing: each timer either was canceled (0) and never
 * runs, or was not (AKT_ENOENT) and runs exactly once. */
typedef struct race_timer {
  atomic_int runs;
  test_count *fired;
  akt_backend *b;
} race_timer;

/* Nothing is read from the timer's record after it is counted: the test
 * frees the records once the count is reached, before the backend. */
static void race_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  race_timer *t = arg;
  akt_backend *b = t->b;
  atomic_fetch_add(&t->runs, 1);
  atomic_fetch_add(&t->fired->n, 1);
  b->ops->wake(b);
}

static void timer_cancel_races_are_exactly_once(void **state) {
  (void)state;
  enum { N = 3000 };
  akt_backend *b = test_backend(1, NULL, 0);
  race_timer *ts = calloc(N, sizeof *ts);
  uint64_t *ids = calloc(N, sizeof *ids);
  int *rc = calloc(N, sizeof *rc);
  assert_non_null(ts);
  assert_non_null(ids);
  assert_non_null(rc);
  test_count fired = {0};
  for (int i = 0; i < N; i++) {
    ts[i].fired = &fired;
    ts[i].b = b;
    assert_int_equal(b->ops->timer_start(b, AKT_MICROS(i % 3000), race_fire, &ts[i], 0, &ids[i]), 0);
    if (i % 7 == 0) usleep(50);
  }
  long not_canceled = 0;
  for (int i = 0; i < N; i++) {
    rc[i] = b->ops->timer_cancel(b, ids[i]);
    assert_true(rc[i] == 0 || rc[i] == AKT_ENOENT);
    if (rc[i] == AKT_ENOENT) not_canceled++;
  }
  test_wait_count(b, &fired, not_canceled);
  /* Give a wrongly surviving timer time to fire: wait for a later one. */
  test_count sentinel = {.b = b};
  uint64_t sid;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(10), count_timer, &sentinel, 0, &sid), 0);
  test_wait_count(b, &sentinel, 1);
  for (int i = 0; i < N; i++) assert_int_equal(atomic_load(&ts[i].runs), rc[i] == 0 ? 0 : 1);
  assert_int_equal(atomic_load(&fired.n), not_canceled);
  free(ts);
  free(ids);
  free(rc);
  akt_uv_backend_free(b);
}

/* Timers started and canceled from worker threads. */
typedef struct timer_task {
  akt_runnable r;
  akt_backend *b;
  test_count *fired;
  test_count *done;
  int start_rc[2];
  int cancel_rc;
} timer_task;

/* Runs on a worker: records results (cmocka asserts belong to the test
 * thread). */
static void timer_task_run(akt_runnable *self) {
  timer_task *t = (timer_task *)self;
  uint64_t keep, drop = 0;
  t->start_rc[0] = t->b->ops->timer_start(t->b, AKT_MILLIS(2), count_timer, t->fired, 0, &keep);
  t->start_rc[1] = t->b->ops->timer_start(t->b, AKT_SECONDS(30), count_timer, t->fired, 0, &drop);
  t->cancel_rc = t->b->ops->timer_cancel(t->b, drop);
  akt_backend *b = t->b;
  atomic_fetch_add(&t->done->n, 1);
  b->ops->wake(b);
}

static void timers_from_workers(void **state) {
  (void)state;
  enum { N = 200 };
  akt_backend *b = test_backend(4, NULL, 0);
  timer_task tasks[N];
  test_count fired = {.b = b}, done = {0};
  for (int i = 0; i < N; i++) {
    tasks[i] = (timer_task){.r.run = timer_task_run, .b = b, .fired = &fired, .done = &done};
    b->ops->schedule(b, &tasks[i].r);
  }
  test_wait_count(b, &done, N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(tasks[i].start_rc[0], 0);
    assert_int_equal(tasks[i].start_rc[1], 0);
    assert_int_equal(tasks[i].cancel_rc, 0);
  }
  test_wait_count(b, &fired, N);
  assert_int_equal(atomic_load(&fired.n), N);
  akt_uv_backend_free(b);
}

static void free_drops_pending_timers(void **state) {
  (void)state;
  akt_backend *b = test_backend(2, NULL, 0);
  test_count fired = {0};
  for (int i = 0; i < 100; i++) {
    uint64_t id;
    assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(60), count_timer, &fired, 0, &id), 0);
  }
  akt_uv_backend_free(b); /* valgrind checks that their entries are freed */
  assert_int_equal(atomic_load(&fired.n), 0);
}

/* A timer that starts its successor into the same id variable, as
 * remoting's heartbeat does. timer_start must write the id before the timer
 * can fire: written after, it could land over the successor's id (a cancel
 * would then miss the live timer), and ThreadSanitizer reports the write as
 * unordered with the callback's read whatever the timing. */
enum { CHAIN_LINKS = 3 };

typedef struct chain {
  akt_backend *b;
  uint64_t id;               /* the live timer's id, written by timer_start */
  uint64_t seen[CHAIN_LINKS]; /* `id` as each firing found it */
  int fired;                 /* loop thread, until `done` */
  atomic_int done;
} chain;

static void chain_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  chain *c = arg;
  c->seen[c->fired++] = c->id;
  if (c->fired == CHAIN_LINKS || c->b->ops->timer_start(c->b, 0, chain_fire, c, 0, &c->id) != 0) {
    atomic_store(&c->done, 1);
    c->b->ops->wake(c->b);
  }
}

static void a_timer_id_is_in_place_before_its_callback_runs(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  chain c = {.b = b};
  assert_int_equal(b->ops->timer_start(b, 0, chain_fire, &c, 0, &c.id), 0);
  test_wait_flag(b, &c.done);
  assert_int_equal(c.fired, CHAIN_LINKS);
  for (int i = 0; i < CHAIN_LINKS; i++) {
    assert_int_not_equal(c.seen[i], 0);
    if (i > 0) assert_int_not_equal(c.seen[i], c.seen[i - 1]);
  }
  assert_int_equal(c.id, c.seen[CHAIN_LINKS - 1]); /* the last one started */
  akt_uv_backend_free(b);
}

/* ---- randomness, clocks, logging --------------------------------------------- */

static void random_seeded_is_repeatable(void **state) {
  (void)state;
  test_log l1 = {.mu = PTHREAD_MUTEX_INITIALIZER};
  akt_uv_options o = {.workers = 1, .use_seed = 1, .seed = UINT64_C(0x5eed0042),
                      .log_sink = test_log_sink, .log_data = &l1};
  akt_backend *a, *b, *c;
  assert_int_equal(akt_uv_backend_new(&o, &a), 0);
  assert_int_equal(akt_uv_backend_new(&o, &b), 0);
  o.seed = UINT64_C(0x5eed0043);
  assert_int_equal(akt_uv_backend_new(&o, &c), 0);
  assert_int_equal(akt_uv_backend_seed(a), UINT64_C(0x5eed0042));
  int differs = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t x = a->ops->random_u64(a), y = b->ops->random_u64(b), z = c->ops->random_u64(c);
    assert_int_equal(x, y);
    if (x != z) differs++;
  }
  assert_true(differs > 90);
  assert_true(l1.lines >= 3);
  assert_non_null(strstr(l1.last, "seed=0x000000005eed0043"));
  akt_uv_backend_free(a);
  akt_uv_backend_free(b);
  akt_uv_backend_free(c);
}

static void random_unseeded_differs(void **state) {
  (void)state;
  test_log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
  akt_backend *a = test_backend(1, &l, 0), *b = test_backend(1, &l, 0);
  assert_true(akt_uv_backend_seed(a) != akt_uv_backend_seed(b));
  assert_true(a->ops->random_u64(a) != b->ops->random_u64(b));
  assert_int_equal(l.lines, 0); /* a drawn seed is not logged */
  akt_uv_backend_free(a);
  akt_uv_backend_free(b);
}

static void clocks(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  uint64_t t0 = b->ops->now(b);
  for (int i = 0; i < 1000; i++) {
    uint64_t t1 = b->ops->now(b);
    assert_true(t1 >= t0);
    t0 = t1;
  }
  /* The wall clock is the system's: between time() read before and after
   * (a second either way for time()'s own rounding), however long the
   * test thread is held up between the reads. */
  int64_t before = (int64_t)time(NULL);
  int64_t wall = b->ops->wall(b);
  int64_t after = (int64_t)time(NULL);
  assert_true(wall / INT64_C(1000000000) >= before - 1);
  assert_true(wall / INT64_C(1000000000) <= after + 1);
  akt_uv_backend_free(b);
}

static void default_log_sink_format(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  /* Point stderr at a temporary file for the duration of one line. */
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  fflush(stderr);
  int saved = dup(2);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(tmp), 2) >= 0);
  b->ops->log(b, AKT_LOG_WARN, "hello from the test");
  b->ops->log(b, AKT_LOG_OFF, "never printed");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char line[256] = {0};
  rewind(tmp);
  assert_non_null(fgets(line, sizeof line, tmp));
  int y, mo, d, h, mi, s, ms;
  char level[16], rest[64];
  assert_int_equal(sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %15s %63[^\n]", &y, &mo, &d, &h,
                          &mi, &s, &ms, level, rest),
                   9);
  assert_string_equal(level, "WARN");
  assert_string_equal(rest, "hello from the test");
  assert_null(fgets(line, sizeof line, tmp));
  fclose(tmp);
  akt_uv_backend_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(new_and_free),
      cmocka_unit_test(schedule_runs_each_once),
      cmocka_unit_test(schedule_from_workers),
      cmocka_unit_test(wait_times_out),
      cmocka_unit_test(wait_woken_by_worker),
      cmocka_unit_test(wait_on_backend_thread_is_refused),
      cmocka_unit_test(timers_fire_in_deadline_order),
      cmocka_unit_test(timer_cancel_before_firing),
      cmocka_unit_test(timer_cancel_after_firing),
      cmocka_unit_test(timer_cancel_races_are_exactly_once),
      cmocka_unit_test(timers_from_workers),
      cmocka_unit_test(free_drops_pending_timers),
      cmocka_unit_test(a_timer_id_is_in_place_before_its_callback_runs),
      cmocka_unit_test(random_seeded_is_repeatable),
      cmocka_unit_test(random_unseeded_differs),
      cmocka_unit_test(clocks),
      cmocka_unit_test(default_log_sink_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
