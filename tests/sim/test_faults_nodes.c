/* Node faults in the simulator (crash, restart, pause, clocks), the rest
 * of the fault API, and a trace record for every fault. Every scenario runs
 * twice and must give the same digest. */
#include "faults_fixture.h"
/* ---- crashes ----------------------------------------------------------------------------- */

typedef struct crash_app {
  fx *f;
  int stops, starts, fired[3], ran;
  uint64_t timer[3];
  server *sv;  /* the listener of the incarnation that runs */
  rx *r;       /* its datagram endpoint */
} crash_app;

static void app_timer(void *arg, uint64_t cookie) { ((crash_app *)arg)->fired[cookie]++; }

static void app_turn(akt_runnable *r) {
  (void)r;
  fail_msg("a turn of a crashed node ran");
}

/* The stop hook: cancels timer 0 (as akt_system_drop cancels a system's
 * timers) and forgets everything the network took. */
static void app_stop(akt_backend *b, void *arg) {
  crash_app *app = arg;
  app->stops++;
  assert_int_equal(akt_sim_node_up(b), 0);
  assert_int_equal(b->ops->timer_cancel(b, app->timer[0]), 0);
  free(app->sv); /* its listener and stream went with the crash */
  free(app->r);
  app->sv = NULL;
  app->r = NULL;
}

static int app_start(akt_backend *b, void *arg) {
  crash_app *app = arg;
  app->starts++;
  assert_int_equal(akt_sim_node_up(b), 1);
  app->sv = serve(app->f, 1, 7000);
  app->r = rx_open(app->f, 1, 9000);
  return 0;
}

static uint64_t crash_scenario(void) {
  fx f = fx_new(14, 2);
  akt_backend *a = f.n[0], *b = f.n[1];
  crash_app app = {.f = &f};
  akt_sim_node_hooks hooks = {app_start, app_stop, &app};
  assert_int_equal(akt_sim_node_set_hooks(b, &hooks), 0);
  assert_int_equal(app_start(b, &app), 0);
  rx *ra = rx_open(&f, 0, 9000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  uint8_t x[100] = {7};
  assert_int_equal(a->ops->stream_write(a, c->s, x, 100), 0);
  assert_int_equal(b->ops->stream_write(b, app.sv->conn.s, x, 50), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(app.sv->conn.nrx + c->nrx, 150);
  for (uint64_t i = 0; i < 3; i++)
    assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(1 + i), app_timer, &app, i, &app.timer[i]), 0);
  akt_runnable turn = {.run = app_turn};
  b->ops->schedule(b, &turn);
  assert_int_equal(a->ops->stream_write(a, c->s, x, 30), 0); /* in flight to b */
  send_seq(ra, 1, 1, 8);
  uint64_t t = akt_sim_now(f.w);
  assert_int_equal(akt_sim_crash(f.w, b), 0);
  assert_int_equal(app.stops, 1);
  assert_int_equal(akt_sim_node_up(b), 0);
  assert_int_equal(akt_sim_crash(f.w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_restart(f.w, a), AKT_ESTATE);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(10)), 0);
  assert_int_equal(c->closes, 1); /* the peer sees the connection close */
  assert_int_equal(c->close_reason, AKT_ECLOSED);
  assert_int_equal(c->close_at, t + LAT);
  /* While it is down, b is unreachable and datagrams to it vanish. */
  peer *c2 = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(10)), 0);
  assert_int_equal(c2->connect_status, AKT_EUNREACH);
  assert_int_equal(c2->connect_at, t + AKT_MILLIS(10) + 2 * LAT);
  /* One sent to the old incarnation does not reach the new one. */
  send_seq(ra, 1, 2, 8);
  assert_int_equal(akt_sim_run_for(f.w, LAT / 2), 0);
  assert_int_equal(akt_sim_restart(f.w, b), 0);
  assert_int_equal(app.starts, 2);
  assert_int_equal(akt_sim_node_incarnation(b), 2);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(4)), 0);
  assert_int_equal(app.r->n, 0);
  /* Its other events fired as usual (the hook canceled timer 0). */
  assert_int_equal(app.fired[0], 0);
  assert_int_equal(app.fired[1], 1);
  assert_int_equal(app.fired[2], 1);
  peer *c3 = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c3->connect_status, 0);
  assert_int_equal(app.sv->accepts, 1);
  assert_int_equal(akt_sim_crash(NULL, b), AKT_EINVAL);
  free(app.sv);
  free(app.r);
  free(ra);
  free(c);
  free(c2);
  free(c3);
  return fx_free(&f);
}

SCENARIO_TEST(a_crash_drops_turns_and_connections_and_runs_the_stop_hook, crash_scenario)

/* A node whose "init" is an actor system with a ticking actor. */
typedef struct ticker_node {
  akt_system *sys;
  int ticks;
  uint64_t randoms[3];
} ticker_node;

static int ticker_pre_start(akt_ctx *ctx) {
  Ping p = PING__INIT;
  return akt_timer_start(ctx, 1, AKT_MILLIS(10), AKT_MILLIS(10), &p.base);
}

static int ticker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  ((ticker_node *)akt_ctx_arg(ctx))->ticks++;
  return 0;
}

static const akt_actor_def ticker_def = {
    .kind = "ticker", .pre_start = ticker_pre_start, .receive = ticker_receive};

static int ticker_start(akt_backend *b, void *arg) {
  ticker_node *tn = arg;
  int rc = akt_system_new("app", b, NULL, &tn->sys);
  if (rc) return rc;
  tn->randoms[akt_sim_node_incarnation(b)] = b->ops->random_u64(b);
  akt_spawn_opts o = {.arg = tn};
  return akt_spawn(tn->sys, "ticker", &ticker_def, &o, NULL);
}

static void ticker_stop(akt_backend *b, void *arg) {
  (void)b;
  ticker_node *tn = arg;
  akt_system_drop(tn->sys);
  tn->sys = NULL;
}

static uint64_t restart_scenario(void) {
  fx f = fx_new(15, 2);
  ticker_node tn = {0};
  akt_sim_node_hooks hooks = {ticker_start, ticker_stop, &tn};
  assert_int_equal(akt_sim_node_set_hooks(f.n[1], &hooks), 0);
  assert_int_equal(ticker_start(f.n[1], &tn), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(105)), 0);
  assert_int_equal(tn.ticks, 10);
  assert_int_equal(akt_sim_crash(f.w, f.n[1]), 0);
  assert_null(tn.sys);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(1)), 0);
  assert_int_equal(tn.ticks, 10); /* its timers died with it */
  assert_int_equal(akt_sim_restart(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_node_incarnation(f.n[1]), 2);
  assert_true(tn.randoms[2] != tn.randoms[1]); /* a new stream */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(55)), 0);
  assert_int_equal(tn.ticks, 15);
  assert_int_equal(akt_system_shutdown(tn.sys, AKT_SECONDS(5)), 0);
  akt_system_free(tn.sys);
  return fx_free(&f);
}

SCENARIO_TEST(restart_runs_init_again_with_a_new_incarnation, restart_scenario)

/* ---- pauses and clocks --------------------------------------------------------------------- */

typedef struct pause_log {
  akt_sim_world *w;
  char order[32];
  uint64_t at[32];
  size_t n;
} pause_log;

static pause_log g_pause;

static void pause_note(char ch) {
  g_pause.order[g_pause.n] = ch;
  g_pause.at[g_pause.n++] = akt_sim_now(g_pause.w);
}

static void pause_timer(void *arg, uint64_t cookie) {
  (void)arg;
  pause_note((char)cookie);
}

static void pause_turn(akt_runnable *r) {
  (void)r;
  pause_note('r');
}

static void pause_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                       void *data) {
  (void)d, (void)from, (void)buf, (void)len, (void)data;
  pause_note('d');
}

static uint64_t pause_scenario(void) {
  fx f = fx_new(16, 2);
  akt_backend *a = f.n[0], *b = f.n[1];
  memset(&g_pause, 0, sizeof g_pause);
  g_pause.w = f.w;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(10), pause_timer, NULL, '1', &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(20), pause_timer, NULL, '2', &id), 0);
  uint64_t id3;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(30), pause_timer, NULL, '3', &id3), 0);
  assert_int_equal(a->ops->timer_start(a, AKT_MILLIS(15), pause_timer, NULL, 'a', &id), 0);
  akt_runnable rb = {.run = pause_turn}, ra = {.run = pause_turn};
  b->ops->schedule(b, &rb);
  akt_dgram *da, *db;
  akt_addr at = node_addr(0, 9000), bt = node_addr(1, 9000);
  assert_int_equal(a->ops->dgram_open(a, &at, pause_recv, NULL, &da), 0);
  assert_int_equal(b->ops->dgram_open(b, &bt, pause_recv, NULL, &db), 0);
  uint8_t x = 1;
  assert_int_equal(a->ops->dgram_send(a, da, &bt, &x, 1), 0);
  assert_int_equal(akt_sim_pause(f.w, b), 0);
  assert_int_equal(akt_sim_pause(f.w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_resume(f.w, a), AKT_ESTATE);
  a->ops->schedule(a, &ra); /* other nodes run on */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(50)), 0);
  assert_int_equal(b->ops->timer_cancel(b, id3), 0); /* a deferred timer can be canceled */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(50)), 0);
  assert_int_equal(g_pause.n, 2);
  assert_memory_equal(g_pause.order, "ra", 2);
  assert_int_equal(g_pause.at[1], AKT_MILLIS(15));
  assert_int_equal(akt_sim_resume(f.w, b), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  /* Late, at the resume time, in their original order, events before turns. */
  assert_int_equal(g_pause.n, 6);
  assert_memory_equal(g_pause.order, "rad12r", 6);
  for (size_t i = 2; i < 6; i++) assert_int_equal(g_pause.at[i], AKT_MILLIS(100));
  a->ops->dgram_close(a, da);
  b->ops->dgram_close(b, db);
  /* A crash while paused ends the pause: the deferred events fire. */
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(1), pause_timer, NULL, '4', &id), 0);
  assert_int_equal(akt_sim_pause(f.w, b), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(5)), 0);
  assert_int_equal(akt_sim_crash(f.w, b), 0);
  assert_int_equal(akt_sim_pause(f.w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(g_pause.order[g_pause.n - 1], '4');
  return fx_free(&f);
}

SCENARIO_TEST(pause_defers_timers_turns_and_arrivals_until_resume, pause_scenario)

static void clock_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt_backend *b = arg;
  akt_sim_note(akt_sim_world_of(b), b, "fired", NULL, b->ops->now(b));
}

static int never(void *arg) {
  (void)arg;
  return 0;
}

static uint64_t clock_scenario(void) {
  fx f = fx_new(17, 2);
  akt_backend *a = f.n[0], *b = f.n[1];
  assert_int_equal(akt_sim_set_clock(f.w, b, AKT_SECONDS(5), 0), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(1)), 0);
  assert_int_equal(a->ops->now(a), AKT_SECONDS(1));
  assert_int_equal(b->ops->now(b), AKT_SECONDS(6));
  assert_int_equal(b->ops->wall(b), AKT_SIM_EPOCH_NS + (int64_t)AKT_SECONDS(6));
  assert_int_equal(a->ops->wall(a), AKT_SIM_EPOCH_NS + (int64_t)AKT_SECONDS(1));
  assert_int_equal(akt_sim_set_clock(f.w, b, -(int64_t)AKT_SECONDS(3), 0), 0);
  assert_int_equal(b->ops->now(b), 0); /* saturated */
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(9)), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(7));
  /* 10% fast from now (world t=10 s; the skew step back to 0 reads 10 s):
   * a 1 s timer takes 1/1.1 s of world time. */
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, 100000), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(10));
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(10)), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(21)); /* 10 s + 10 s * 1.1 */
  uint64_t id, t0 = akt_sim_now(f.w), n0 = b->ops->now(b);
  assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(1), clock_fire, b, 0, &id), 0);
  assert_int_equal(akt_sim_step(f.w), 1);
  assert_int_equal(akt_sim_now(f.w) - t0, UINT64_C(909090910)); /* ceil(1e9 / 1.1) */
  assert_true(b->ops->now(b) >= n0 + AKT_SECONDS(1));
  assert_true(b->ops->now(b) <= n0 + AKT_SECONDS(1) + 1);
  /* Half speed: no jump when the rate changes; waiting 1 s of node time
   * runs the world 2 s. */
  n0 = b->ops->now(b);
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, -500000), 0);
  assert_int_equal(b->ops->now(b), n0);
  t0 = akt_sim_now(f.w);
  assert_int_equal(b->ops->wait(b, never, NULL, n0 + AKT_SECONDS(1)), AKT_ETIMEDOUT);
  assert_int_equal(akt_sim_now(f.w) - t0, AKT_SECONDS(2));
  assert_int_equal(b->ops->now(b), n0 + AKT_SECONDS(1));
  /* Back to the world's rate: still no jump; the drift gained stays, and
   * a skew is a step on top of it. */
  n0 = b->ops->now(b);
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, 0), 0);
  assert_int_equal(b->ops->now(b), n0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(1)), 0);
  assert_int_equal(b->ops->now(b), n0 + AKT_SECONDS(1));
  assert_int_equal(akt_sim_set_clock(f.w, b, AKT_MILLIS(250), 0), 0);
  assert_int_equal(b->ops->now(b), n0 + AKT_SECONDS(1) + AKT_MILLIS(250));
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, -1000000), AKT_EINVAL);
  assert_int_equal(akt_sim_set_clock(f.w, NULL, 0, 0), AKT_EINVAL);
  return fx_free(&f);
}

SCENARIO_TEST(skew_and_drift_show_in_the_node_clock, clock_scenario)

/* ---- the rest of the API -------------------------------------------------------------------- */

static uint64_t misc_scenario(void) {
  fx f = fx_new(18, 3);
  assert_int_equal(akt_sim_node_count(f.w), 3);
  assert_ptr_equal(akt_sim_node_at(f.w, 2), f.n[2]);
  assert_null(akt_sim_node_at(f.w, 3));
  assert_int_equal(akt_sim_node_up(f.n[0]), 1);
  assert_int_equal(akt_sim_node_incarnation(f.n[0]), 1);
  assert_int_equal(akt_sim_node_set_hooks(NULL, NULL), AKT_EINVAL);
  akt__sim_link *l01 = link_of(&f, 0, 1);
  akt_sim_link_faults lf = {.latency = AKT_MILLIS(5)};
  assert_int_equal(akt_sim_link_set_all(f.w, &lf), 0);
  assert_int_equal(l01->latency, AKT_MILLIS(5));          /* existing links */
  assert_int_equal(link_of(&f, 2, 1)->latency, AKT_MILLIS(5)); /* and new ones */
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], NULL), 0);
  assert_int_equal(l01->latency, LAT);
  /* Faults never shift another stream: the nodes draw the same numbers. */
  fx g = fx_new(18, 3);
  for (int i = 0; i < 10; i++)
    assert_true(f.n[1]->ops->random_u64(f.n[1]) == g.n[1]->ops->random_u64(g.n[1]));
  fx_free(&g);
  return fx_free(&f);
}

SCENARIO_TEST(node_table_and_link_defaults, misc_scenario)

/* Every fault is a record: the trace file names each kind. */
static void every_fault_is_a_trace_record(void **state) {
  (void)state;
  char path[] = "/tmp/akt-faults-trace-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  fx f = {.count = 2};
  akt_sim_options o = {.seed = 19, .trace_path = path};
  assert_int_equal(akt_sim_world_new(&o, &f.w), 0);
  assert_int_equal(akt_sim_node_new(f.w, "n0", &f.n[0]), 0);
  assert_int_equal(akt_sim_node_new(f.w, "n1", &f.n[1]), 0);
  rx *ra = rx_open(&f, 0, 9000), *rb = rx_open(&f, 1, 9000);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  akt_sim_link_faults lf = {.loss_ppm = 500000, .dup_ppm = 500000, .capacity = 100};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (int i = 0; i < 20; i++)
    assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, (const uint8_t *)"x", 1), 0);
  for (uint32_t i = 0; i < 20; i++) send_seq(ra, 1, i, 8);
  send_seq(ra, 1, 99, 200);
  assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, (const uint8_t *)rb->at, 200), 0);
  static const uint32_t groups[2] = {0, 1};
  assert_int_equal(akt_sim_partition(f.w, groups, 2), 0);
  assert_int_equal(akt_sim_cut(f.w, f.n[0], f.n[1], 0), 0);
  assert_int_equal(akt_sim_heal(f.w, NULL, NULL), 0);
  assert_int_equal(akt_sim_clog(f.w, f.n[1], NULL, AKT_MILLIS(1)), 0);
  assert_int_equal(akt_sim_hold(f.w, f.n[1], f.n[0]), 0);
  assert_int_equal(akt_sim_release(f.w, f.n[1], f.n[0]), 0);
  assert_int_equal(akt_sim_set_clock(f.w, f.n[1], 1, 1), 0);
  assert_int_equal(akt_sim_pause(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_resume(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_crash(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_restart(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  free(ra);
  free(rb);
  free(sv);
  free(c);
  fx_free(&f);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  static char text[1 << 20];
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  unlink(path);
  static const char *const kinds[] = {
      "link",  "loss",    "dup",    "drop-capacity", "retransmit", "reset",  "partition",
      "heal",  "clog",    "hold",   "release",       "clock",      "pause",  "resume",
      "crash", "restart", "cut", "unlisten", "dgram-close", "abort"};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    char want[64];
    snprintf(want, sizeof want, " t=%s x=", kinds[i]);
    if (!strstr(text, want)) fail_msg("no %s record in the trace", kinds[i]);
  }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_crash_drops_turns_and_connections_and_runs_the_stop_hook),
    cmocka_unit_test(restart_runs_init_again_with_a_new_incarnation),
    cmocka_unit_test(pause_defers_timers_turns_and_arrivals_until_resume),
    cmocka_unit_test(skew_and_drift_show_in_the_node_clock),
    cmocka_unit_test(node_table_and_link_defaults),
    cmocka_unit_test(every_fault_is_a_trace_record),
};

AKT_TEST_MAIN("sim-faults-nodes", tests)
