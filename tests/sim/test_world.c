/* The simulated world: event order, clock, cancellation, streams, the
 * scheduler, traces. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/child.h"
#include "akt/sim.h"
#include "sim/world.h"

typedef struct {
  int order[16];
  int n;
} fired_log;

static fired_log g_log;

static void record_fire(void *arg, uint64_t cookie) {
  (void)arg;
  g_log.order[g_log.n++] = (int)cookie;
}

static akt_sim_world *world_new(uint64_t seed) {
  akt_sim_world *w = NULL;
  akt_sim_options o = {.seed = seed};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  return w;
}

static void events_fire_in_time_then_insertion_order(void **state) {
  (void)state;
  akt_sim_world *w = world_new(1);
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, "n", &b), 0);
  memset(&g_log, 0, sizeof g_log);
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(30), record_fire, NULL, 30, &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(10), record_fire, NULL, 10, &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(20), record_fire, NULL, 20, &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(10), record_fire, NULL, 11, &id), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(g_log.n, 4);
  assert_int_equal(g_log.order[0], 10);
  assert_int_equal(g_log.order[1], 11);
  assert_int_equal(g_log.order[2], 20);
  assert_int_equal(g_log.order[3], 30);
  assert_int_equal(akt_sim_now(w), AKT_MILLIS(30));
  akt_sim_world_free(w);
}

static void canceled_timers_never_fire(void **state) {
  (void)state;
  akt_sim_world *w = world_new(1);
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, "n", &b), 0);
  memset(&g_log, 0, sizeof g_log);
  uint64_t a, c;
  b->ops->timer_start(b, AKT_MILLIS(5), record_fire, NULL, 5, &a);
  b->ops->timer_start(b, AKT_MILLIS(7), record_fire, NULL, 7, &c);
  assert_int_not_equal(a, 0);
  assert_int_not_equal(a, c);
  assert_int_equal(b->ops->timer_cancel(b, a), 0);
  assert_int_equal(b->ops->timer_cancel(b, a), AKT_ENOENT);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(g_log.n, 1);
  assert_int_equal(g_log.order[0], 7);
  assert_int_equal(b->ops->timer_cancel(b, c), AKT_ENOENT);
  akt_sim_world_free(w);
}

static void idle_time_jumps_and_run_for_sets_the_clock(void **state) {
  (void)state;
  akt_sim_world *w = world_new(1);
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, "n", &b), 0);
  assert_int_equal(akt_sim_step(w), 0); /* idle */
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(10)), 0);
  assert_int_equal(akt_sim_now(w), AKT_SECONDS(10));
  assert_int_equal(b->ops->now(b), AKT_SECONDS(10));
  assert_int_equal(b->ops->wall(b), AKT_SIM_EPOCH_NS + (int64_t)AKT_SECONDS(10));
  memset(&g_log, 0, sizeof g_log);
  uint64_t id;
  b->ops->timer_start(b, AKT_SECONDS(3600), record_fire, NULL, 1, &id);
  assert_int_equal(akt_sim_step(w), 1); /* jumps an hour */
  assert_int_equal(akt_sim_now(w), AKT_SECONDS(3610));
  assert_int_equal(g_log.n, 1);
  akt_sim_world_free(w);
}

static void node_streams_do_not_shift_when_nodes_are_added(void **state) {
  (void)state;
  akt_sim_world *w1 = world_new(42), *w2 = world_new(42), *w3 = world_new(43);
  akt_backend *x1, *y2, *x2, *x3;
  assert_int_equal(akt_sim_node_new(w1, "x", &x1), 0);
  assert_int_equal(akt_sim_node_new(w2, "y", &y2), 0);
  assert_int_equal(akt_sim_node_new(w2, "x", &x2), 0);
  assert_int_equal(akt_sim_node_new(w3, "x", &x3), 0);
  int differs = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t a = x1->ops->random_u64(x1), c = x2->ops->random_u64(x2);
    assert_true(a == c);
    if (a != x3->ops->random_u64(x3)) differs++;
  }
  assert_true(differs > 90);
  assert_true(y2->ops->random_u64(y2) != x1->ops->random_u64(x1));
  akt_backend *dup;
  assert_int_equal(akt_sim_node_new(w1, "x", &dup), AKT_EEXIST);
  assert_int_equal(akt_sim_node_new(w1, "bad name", &dup), AKT_ENAME);
  assert_string_equal(akt_sim_node_name(x2), "x");
  assert_ptr_equal(akt_sim_world_of(x2), w2);
  akt_sim_world_free(w1);
  akt_sim_world_free(w2);
  akt_sim_world_free(w3);
}

/* Runs 20 taggers that each get one Ping and reports the delivery order as
 * a string of actor names. */
static void delivery_order(uint64_t seed, int fifo, char *out, size_t size) {
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.use_seed = 1, .seed = seed,
                                                           .fifo = fifo});
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *pids[20];
  for (int i = 0; i < 20; i++) {
    char name[8];
    snprintf(name, sizeof name, "t%d", i);
    pids[i] = akt_testkit_spawn_opts(tk, name, &forwarder_def, &o);
  }
  akt_testkit_run_until_idle(tk);
  for (int i = 0; i < 20; i++) {
    Ping ping = PING__INIT;
    ping.n = i;
    akt_tell(pids[i], &ping.base);
  }
  out[0] = '\0';
  for (int i = 0; i < 20; i++) {
    const Ping *ping = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0);
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%lld,", (long long)ping->n);
  }
  akt_testkit_free(tk);
}

static void the_scheduler_is_seeded_or_fifo(void **state) {
  (void)state;
  char fifo[128], a1[128], a2[128], b[128];
  delivery_order(1, 1, fifo, sizeof fifo);
  assert_string_equal(fifo, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,");
  delivery_order(1, 0, a1, sizeof a1);
  delivery_order(1, 0, a2, sizeof a2);
  delivery_order(2, 0, b, sizeof b);
  assert_string_equal(a1, a2);
  assert_string_not_equal(a1, fifo);
  assert_string_not_equal(a1, b);
}

static void repeat_forever(void *arg, uint64_t cookie) {
  akt_backend *b = arg;
  uint64_t id;
  b->ops->timer_start(b, AKT_MILLIS(1), repeat_forever, b, cookie, &id);
}

static void run_until_idle_is_bounded(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  akt_sim_options o = {.max_steps = 1000};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  akt_backend *b;
  akt_sim_node_new(w, "n", &b);
  uint64_t id;
  b->ops->timer_start(b, AKT_MILLIS(1), repeat_forever, b, 0, &id);
  assert_int_equal(akt_sim_run_until_idle(w), AKT_ELIMIT);
  assert_int_equal(akt_sim_steps(w), 1000);
  akt_sim_world_free(w);
}

typedef struct {
  int calls, status;
  size_t n;
  char host[64];
} resolved;

static void on_resolved(int status, const akt_addr *addrs, size_t n, void *data) {
  resolved *r = data;
  r->calls++;
  r->status = status;
  r->n = n;
  if (n) snprintf(r->host, sizeof r->host, "%s", addrs[0].host);
}

static void names_resolve_to_nodes(void **state) {
  (void)state;
  akt_sim_world *w = world_new(1);
  akt_backend *a, *b;
  akt_sim_node_new(w, "alpha", &a);
  akt_sim_node_new(w, "beta", &b);
  resolved ok = {0}, bad = {0};
  assert_int_equal(a->ops->resolve(a, "beta", on_resolved, &ok), 0);
  assert_int_equal(a->ops->resolve(a, "gamma", on_resolved, &bad), 0);
  assert_int_equal(ok.calls, 0); /* never from inside the call */
  akt_sim_run_until_idle(w);
  assert_int_equal(ok.calls, 1);
  assert_int_equal(ok.status, 0);
  assert_int_equal(ok.n, 1);
  assert_string_equal(ok.host, "beta");
  assert_int_equal(bad.calls, 1);
  assert_int_equal(bad.status, AKT_ENOENT);
  assert_int_equal(bad.n, 0);
  akt_sim_world_free(w);
}

static int asks_inside(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  ProtobufCMessage *reply = NULL;
  int rc = akt_ask(akt_ctx_self(ctx), msg, AKT_SECONDS(1), &reply);
  Note n = NOTE__INIT;
  n.text = (char *)akt_errname(rc);
  return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), &n.base);
}

static void ask_inside_an_actor_is_refused(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_actor_def def = {.kind = "asker", .receive = asks_inside};
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &def, &o);
  Ping ping = PING__INIT;
  akt_probe_tell(p, a, &ping.base);
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  assert_string_equal(n->text, "AKT_ESTATE");
  akt_testkit_free(tk);
}

static void traces_are_written_and_digested(void **state) {
  (void)state;
  char path[] = "/tmp/akt-trace-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  akt_sim_world *w = NULL;
  akt_sim_options o = {.seed = 9, .trace_path = path};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  uint64_t d0 = akt_sim_digest(w);
  akt_backend *b;
  akt_sim_node_new(w, "n", &b);
  akt_sim_note(w, b, "hello", "a b\nc", 7);
  assert_int_equal(akt_sim_records(w), 1);
  assert_true(akt_sim_digest(w) != d0);
  akt_sim_world_free(w);
  FILE *f = fopen(path, "r");
  char line[256] = "";
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  unlink(path);
  assert_string_equal(line,
                      "0.000000000 n user a=0 p=0 c=0 h=0000000000000007 t=hello x=a_b\\x0ac\n");
}

/* The trace's hand-written formatter gives snprintf's bytes for every
 * field's extremes, and cuts a record where snprintf would. */
static void record_heads_are_the_bytes_snprintf_writes(void **state) {
  (void)state;
  static const uint64_t u[] = {0, 1, 9, 10, 999999999, 1000000000, 1000000001, UINT64_MAX,
                               (uint64_t)INT64_MAX + 1, 0x00000000deadbeefull};
  static const int64_t c[] = {0, -1, 1, INT64_MIN, INT64_MAX, -1000000007};
  static const char *const names[] = {"n", "world", "node-12", ""};
  char want[64 + 256], got[64 + 256];
  for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
      akt_event ev = {.actor = u[(i + 1) % 10], .peer = u[(i + 3) % 10], .hash = u[(i + 7) % 10],
                      .code = c[k]};
      const char *node = names[(i + k) % 4];
      int n = snprintf(want, sizeof want,
                       "%" PRIu64 ".%09" PRIu64 " %s %s a=%" PRIu64 " p=%" PRIu64 " c=%" PRId64
                       " h=%016" PRIx64 " t=",
                       u[i] / 1000000000u, u[i] % 1000000000u, node, "deliver", ev.actor, ev.peer,
                       ev.code, ev.hash);
      assert_int_equal(akt__sim_record_head(got, sizeof got, u[i], node, "deliver", &ev), n);
      assert_string_equal(got, want);
      for (size_t cap = 1; cap < (size_t)n + 2; cap += 7) {
        int m = snprintf(want, cap, "%s", got);
        size_t len = akt__sim_record_head(got, cap, u[i], node, "deliver", &ev);
        assert_int_equal(len, (size_t)m < cap ? (size_t)m : cap - 1);
        assert_string_equal(got, want);
        akt__sim_record_head(got, sizeof got, u[i], node, "deliver", &ev);
      }
    }
  }
}

static void noop_fire(void *arg, uint64_t cookie) {
  (void)arg;
  (void)cookie;
}

/* In a child: a world at t=1s is handed an event for t=0.5s. */
static void push_into_the_past(void) {
  akt_sim_options o = {.seed = 0x7e57};
  akt_sim_world *w;
  if (akt_sim_world_new(&o, &w)) _exit(3);
  akt_sim_run_for(w, AKT_SECONDS(1));
  akt__sim_event ev = {.time = AKT_MILLIS(500), .fn = noop_fire};
  akt__sim_push_event(w, &ev);
  _exit(0); /* not reached when the time is checked */
}

/* The event queue does not clamp an event time before now into "now": it
 * is a bug in the caller, and the failure names the seed and the time. */
static void an_event_before_now_is_an_assertion_failure(void **state) {
  (void)state;
  char buf[4096];
  test_expect_abort(push_into_the_past, buf, sizeof buf);
  assert_non_null(strstr(buf, "assertion failed"));
  assert_non_null(strstr(buf, "ev->time >= w->now"));
  assert_non_null(strstr(buf, "seed=0x7e57 t=1.000000000s"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(events_fire_in_time_then_insertion_order),
    cmocka_unit_test(canceled_timers_never_fire),
    cmocka_unit_test(idle_time_jumps_and_run_for_sets_the_clock),
    cmocka_unit_test(node_streams_do_not_shift_when_nodes_are_added),
    cmocka_unit_test(the_scheduler_is_seeded_or_fifo),
    cmocka_unit_test(run_until_idle_is_bounded),
    cmocka_unit_test(names_resolve_to_nodes),
    cmocka_unit_test(ask_inside_an_actor_is_refused),
    cmocka_unit_test(traces_are_written_and_digested),
    cmocka_unit_test(record_heads_are_the_bytes_snprintf_writes),
    cmocka_unit_test(an_event_before_now_is_an_assertion_failure),
};

AKT_TEST_MAIN("sim/world", tests)
