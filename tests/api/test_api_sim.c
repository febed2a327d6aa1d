/* akt/sim.h: the simulated world — stepping and time, determinism from the
 * seed, the trace, node and link faults. The simulator's alone. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "api.h"

/* ---- a small busy workload ------------------------------------------------------- */

/* Each of N peers, on a Ping, passes it to a peer chosen at random with
 * akt_ctx_random until its hops run out. */
typedef struct peers {
  akt_pid *pid[4];
} peers;

static int peer_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const peers *ps = akt_ctx_arg(ctx);
  if (!akt_msg_is(msg, &token__descriptor)) return AKT_EUNHANDLED;
  const Token *t = (const Token *)msg;
  if (t->hops == 0) return 0;
  Token next = TOKEN__INIT;
  next.hops = t->hops - 1;
  return akt_send(ctx, ps->pid[akt_ctx_random(ctx) % 4], &next.base);
}

static const akt_actor_def peer_def = {.kind = "peer", .receive = peer_receive};

typedef struct run_result {
  uint64_t digest, records, steps, now;
} run_result;

/* Runs the workload on a fresh world from `seed`; writes the trace to
 * `trace` unless NULL. */
static run_result run_workload(uint64_t seed, const char *trace) {
  akt_sim_world *w = NULL;
  akt_sim_options o = {.seed = seed, .trace_path = trace};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, "n0", &b), 0);
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("n0", b, NULL, &sys), 0);
  peers ps;
  for (int i = 0; i < 4; i++) {
    akt_spawn_opts so = {.arg = &ps};
    assert_int_equal(akt_spawn(sys, NULL, &peer_def, &so, &ps.pid[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    Token t = TOKEN__INIT;
    t.hops = 50;
    assert_int_equal(akt_tell(ps.pid[i], &t.base), 0);
  }
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  run_result r = {akt_sim_digest(w), akt_sim_records(w), akt_sim_steps(w), akt_sim_now(w)};
  for (int i = 0; i < 4; i++) akt_pid_release(ps.pid[i]);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  akt_system_free(sys);
  akt_sim_world_free(w);
  return r;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void one_seed_gives_one_history_byte_for_byte(void **state) {
  (void)state;
  char a[] = "/tmp/akt-api-trace-XXXXXX", b[] = "/tmp/akt-api-trace-XXXXXX";
  int fa = mkstemp(a), fb = mkstemp(b);
  assert_true(fa >= 0 && fb >= 0);
  close(fa);
  close(fb);
  run_result r1 = run_workload(42, a), r2 = run_workload(42, b);
  assert_int_equal(r1.digest, r2.digest);
  assert_int_equal(r1.records, r2.records);
  assert_int_equal(r1.steps, r2.steps);
  assert_int_equal(r1.now, r2.now);
  size_t la, lb;
  char *ta = slurp(a, &la), *tb = slurp(b, &lb);
  assert_true(la > 0);
  assert_int_equal(la, lb);
  assert_memory_equal(ta, tb, la);
  free(ta);
  free(tb);
  unlink(a);
  unlink(b);
  /* Another seed, another history. */
  run_result r3 = run_workload(43, NULL);
  assert_true(r3.digest != r1.digest);
}

static void a_trace_file_that_cannot_be_opened_is_ebackend(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  akt_sim_options o = {.trace_path = "/nonexistent-dir/x/trace"};
  assert_int_equal(akt_sim_world_new(&o, &w), AKT_EBACKEND);
  assert_null(w);
  akt_sim_world_free(NULL);
}

/* ---- nodes ------------------------------------------------------------------------ */

static void nodes_have_unique_well_formed_names(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(&(akt_sim_options){.seed = 9}, &w), 0);
  assert_int_equal(akt_sim_seed(w), 9);
  akt_backend *b0 = NULL, *b1 = NULL, *x = NULL;
  assert_int_equal(akt_sim_node_new(w, "n-0.a_b", &b0), 0);
  assert_int_equal(akt_sim_node_new(w, "n1", &b1), 0);
  assert_int_equal(akt_sim_node_new(w, "n1", &x), AKT_EEXIST);
  assert_int_equal(akt_sim_node_new(w, "", &x), AKT_ENAME);
  assert_int_equal(akt_sim_node_new(w, "a b", &x), AKT_ENAME);
  char longest[AKT_SIM_NODE_NAME_MAX + 2];
  memset(longest, 'n', sizeof longest - 1);
  longest[AKT_SIM_NODE_NAME_MAX + 1] = '\0';
  assert_int_equal(akt_sim_node_new(w, longest, &x), AKT_ENAME);
  longest[AKT_SIM_NODE_NAME_MAX] = '\0';
  assert_int_equal(akt_sim_node_new(w, longest, &x), 0);
  assert_int_equal(akt_sim_node_new(NULL, "z", &x), AKT_EINVAL);
  assert_int_equal(akt_sim_node_new(w, "z", NULL), AKT_EINVAL);
  assert_int_equal(akt_sim_node_count(w), 3);
  assert_ptr_equal(akt_sim_node_at(w, 0), b0);
  assert_ptr_equal(akt_sim_node_at(w, 1), b1);
  assert_null(akt_sim_node_at(w, 3));
  assert_ptr_equal(akt_sim_world_of(b1), w);
  assert_string_equal(akt_sim_node_name(b1), "n1");
  assert_true(b1->flags & AKT_BACKEND_SIMULATED);
  assert_int_equal(akt_sim_node_up(b1), 1);
  assert_int_equal(akt_sim_node_incarnation(b1), 1);
  akt_sim_world_free(w);
}

/* A fresh world (default options) with one node "n". */
static akt_sim_world *world_with_node(akt_backend **b) {
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(NULL, &w), 0);
  assert_int_equal(akt_sim_node_new(w, "n", b), 0);
  return w;
}

/* ---- stepping and time ---------------------------------------------------------- */

static int ready_after_3(void *arg) { return ++*(int *)arg > 3; }

static void on_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  (*(int *)arg)++;
}

static void an_empty_world_is_idle_and_time_moves_only_when_told(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(NULL, &w), 0);
  assert_int_equal(akt_sim_now(w), 0);
  assert_int_equal(akt_sim_step(w), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(akt_sim_now(w), 0);
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(5)), 0);
  assert_int_equal(akt_sim_now(w), AKT_SECONDS(5));
  /* Nothing left to run before the deadline: the clock jumps there. */
  int polls = -1000; /* never ready in time */
  assert_int_equal(akt_sim_run_until(w, ready_after_3, &polls, AKT_SECONDS(9)), AKT_ETIMEDOUT);
  assert_int_equal(akt_sim_now(w), AKT_SECONDS(9));
  akt_sim_world_free(w);
}

static void a_timer_event_is_stepped_at_its_time(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  int fired = 0;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(250), on_fire, &fired, 0, &id), 0);
  uint64_t steps = akt_sim_steps(w);
  assert_int_equal(akt_sim_step(w), 1); /* jumps to it and fires it */
  assert_int_equal(fired, 1);
  assert_int_equal(akt_sim_now(w), AKT_MILLIS(250));
  assert_int_equal(akt_sim_steps(w), steps + 1);
  assert_int_equal(akt_sim_step(w), 0);
  akt_sim_world_free(w);
}

static int ready_once_flag(void *arg) { return *(int *)arg; }

static void run_for_runs_every_event_due_by_its_end_those_at_the_end_included(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  int fired = 0, later = 0;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(100), on_fire, &fired, 0, &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(100), on_fire, &fired, 0, &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(101), on_fire, &later, 0, &id), 0);
  assert_int_equal(akt_sim_run_for(w, AKT_MILLIS(100)), 0);
  assert_int_equal(fired, 2);
  assert_int_equal(later, 0);
  assert_int_equal(akt_sim_now(w), AKT_MILLIS(100));
  /* Due now: run_for(0) runs it. */
  int now_due = 0;
  assert_int_equal(b->ops->timer_start(b, 0, on_fire, &now_due, 0, &id), 0);
  assert_int_equal(akt_sim_run_for(w, 0), 0);
  assert_int_equal(now_due, 1);
  assert_int_equal(akt_sim_now(w), AKT_MILLIS(100));
  akt_sim_world_free(w);
}

static void run_until_stops_as_soon_as_the_condition_holds(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  int fired = 0, late = 0;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(100), on_fire, &fired, 0, &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(900), on_fire, &late, 0, &id), 0);
  assert_int_equal(akt_sim_run_until(w, ready_once_flag, &fired, AKT_SECONDS(10)), 0);
  assert_int_equal(akt_sim_now(w), AKT_MILLIS(100));
  assert_int_equal(late, 0);
  akt_sim_world_free(w);
}

static void a_repeating_timer_keeps_run_until_idle_busy_until_max_steps(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(&(akt_sim_options){.max_steps = 500}, &w), 0);
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, "n", &b), 0);
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("n", b, NULL, &sys), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  Ping m = PING__INIT;
  akt_pid *dead = NULL;
  assert_int_equal(akt_lookup(sys, "/user", &dead), 0);
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(1), AKT_MILLIS(1), dead, &m.base, NULL), 0);
  uint64_t before = akt_sim_steps(w);
  assert_int_equal(akt_sim_run_until_idle(w), AKT_ELIMIT);
  assert_true(akt_sim_steps(w) - before <= 500);
  akt_pid_release(dead);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0); /* ends the schedule */
  akt_system_free(sys);
  akt_sim_world_free(w);
}

/* An actor that tries to drive the world from inside a turn. */
static int driver_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  akt_sim_world *w = akt_sim_world_of(akt_system_backend(akt_ctx_system(ctx)));
  akt_backend *self = akt_system_backend(akt_ctx_system(ctx));
  return api_note(ctx, api_reportee(ctx), "step=%s idle=%s for=%s crash=%s",
                  akt_errname(akt_sim_step(w)), akt_errname(akt_sim_run_until_idle(w)),
                  akt_errname(akt_sim_run_for(w, 1)), akt_errname(akt_sim_crash(w, self)));
}

static const akt_actor_def driver_def = {.kind = "driver", .receive = driver_receive};

static void the_world_cannot_be_driven_from_inside_a_step(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *d = akt_testkit_spawn_opts(tk, "d", &driver_def, &API_TO(p));
  Ping m = PING__INIT;
  akt_probe_tell(p, d, &m.base);
  EXPECT_NOTE(p, "step=AKT_ESTATE idle=AKT_ESTATE for=AKT_ESTATE crash=AKT_ESTATE");
  akt_testkit_free(tk);
}

static void a_note_is_a_trace_record_in_the_digest(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(NULL, &w), 0);
  uint64_t r0 = akt_sim_records(w), d0 = akt_sim_digest(w);
  akt_sim_note(w, NULL, "checkpoint", "detail", 7);
  assert_int_equal(akt_sim_records(w), r0 + 1);
  assert_true(akt_sim_digest(w) != d0);
  akt_sim_note(w, NULL, NULL, NULL, 0); /* what and detail may be NULL */
  assert_int_equal(akt_sim_records(w), r0 + 2);
  akt_sim_world_free(w);
}

static void a_turn_costs_the_configured_virtual_time(void **state) {
  (void)state;
  akt_sim_world *w = NULL;
  assert_int_equal(akt_sim_world_new(&(akt_sim_options){.turn_cost = AKT_MILLIS(2)}, &w), 0);
  akt_backend *b = NULL;
  assert_int_equal(akt_sim_node_new(w, "n", &b), 0);
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("n", b, NULL, &sys), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(sys, "a", &peer_def, NULL, &a), 0);
  uint64_t t0 = akt_sim_now(w);
  assert_int_equal(akt_sim_step(w), 1); /* the new actor's first turn */
  assert_int_equal(akt_sim_now(w) - t0, AKT_MILLIS(2));
  akt_pid_release(a);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  akt_system_free(sys);
  akt_sim_world_free(w);
}

/* ---- node faults ----------------------------------------------------------------- */

typedef struct hooks_log {
  int starts, stops;
  akt_system *sys;
} hooks_log;

static int start_hook(akt_backend *b, void *arg) {
  hooks_log *h = arg;
  h->starts++;
  return akt_system_new("n", b, NULL, &h->sys);
}

static void stop_hook(akt_backend *b, void *arg) {
  (void)b;
  hooks_log *h = arg;
  h->stops++;
  akt_system_drop(h->sys);
  h->sys = NULL;
}

static void a_crashed_node_restarts_as_a_new_incarnation(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  hooks_log h = {0};
  akt_sim_node_hooks hooks = {.start = start_hook, .stop = stop_hook, .arg = &h};
  assert_int_equal(akt_sim_node_set_hooks(b, &hooks), 0);
  assert_int_equal(start_hook(b, &h), 0);
  assert_int_equal(akt_sim_restart(w, b), AKT_ESTATE); /* not down */
  assert_int_equal(akt_sim_crash(w, b), 0);
  assert_int_equal(h.stops, 1);
  assert_null(h.sys);
  assert_int_equal(akt_sim_node_up(b), 0);
  assert_int_equal(akt_sim_crash(w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_pause(w, b), AKT_ESTATE); /* down */
  assert_int_equal(akt_sim_restart(w, b), 0);
  assert_int_equal(h.starts, 2);
  assert_non_null(h.sys);
  assert_int_equal(akt_sim_node_up(b), 1);
  assert_int_equal(akt_sim_node_incarnation(b), 2);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  akt_system_free(h.sys);
  akt_sim_world_free(w);
}

static void a_paused_nodes_timers_fire_late_at_the_resume(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  int fired = 0;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(100), on_fire, &fired, 0, &id), 0);
  assert_int_equal(akt_sim_resume(w, b), AKT_ESTATE); /* not paused */
  assert_int_equal(akt_sim_pause(w, b), 0);
  assert_int_equal(akt_sim_pause(w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(1)), 0);
  assert_int_equal(fired, 0);
  assert_int_equal(akt_sim_resume(w, b), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(fired, 1);
  assert_int_equal(akt_sim_now(w), AKT_SECONDS(1)); /* at the resume time */
  akt_sim_world_free(w);
}

static void a_nodes_clock_follows_its_skew_and_drift(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(10)), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(10));
  assert_int_equal(akt_sim_set_clock(w, b, (int64_t)AKT_SECONDS(5), 0), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(15));
  assert_int_equal(b->ops->wall(b), AKT_SIM_EPOCH_NS + (int64_t)AKT_SECONDS(15));
  assert_int_equal(akt_sim_set_clock(w, b, (int64_t)AKT_SECONDS(5), 100000), 0); /* +10% */
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(10)), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(26));
  /* A timer follows the node's clock: 11 s of node time is 10 s of world time. */
  int fired = 0;
  uint64_t id;
  uint64_t world0 = akt_sim_now(w);
  assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(11), on_fire, &fired, 0, &id), 0);
  assert_int_equal(akt_sim_run_until(w, ready_once_flag, &fired, AKT_FOREVER), 0);
  assert_int_equal(akt_sim_now(w) - world0, AKT_SECONDS(10));
  /* A skew back steps the clock back. */
  assert_int_equal(akt_sim_set_clock(w, b, -(int64_t)AKT_SECONDS(100), 0), 0);
  assert_int_equal(b->ops->now(b), 0); /* saturated at 0 */
  assert_int_equal(akt_sim_set_clock(w, b, 0, -1000000), AKT_EINVAL);
  akt_sim_world_free(w);
}

static int failing_start(akt_backend *b, void *arg) {
  (void)b;
  (*(int *)arg)++;
  return AKT_EFAILED;
}

static void a_node_is_up_after_a_restart_even_when_its_start_hook_fails(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  int starts = 0;
  akt_sim_node_hooks hooks = {.start = failing_start, .arg = &starts};
  assert_int_equal(akt_sim_node_set_hooks(b, &hooks), 0);
  assert_int_equal(akt_sim_crash(w, b), 0);
  assert_int_equal(akt_sim_restart(w, b), AKT_EFAILED); /* the hook's code */
  assert_int_equal(starts, 1);
  assert_int_equal(akt_sim_node_up(b), 1);
  assert_int_equal(akt_sim_node_set_hooks(b, NULL), 0); /* cleared */
  assert_int_equal(akt_sim_crash(w, b), 0);
  assert_int_equal(akt_sim_restart(w, b), 0);
  assert_int_equal(starts, 1);
  akt_sim_world_free(w);
}

static void a_crash_ends_a_pause(void **state) {
  (void)state;
  akt_backend *b = NULL;
  akt_sim_world *w = world_with_node(&b);
  assert_int_equal(akt_sim_pause(w, b), 0);
  assert_int_equal(akt_sim_crash(w, b), 0);
  assert_int_equal(akt_sim_restart(w, b), 0);
  assert_int_equal(akt_sim_resume(w, b), AKT_ESTATE); /* not paused any more */
  int fired = 0;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(10), on_fire, &fired, 0, &id), 0);
  assert_int_equal(akt_sim_run_for(w, AKT_MILLIS(10)), 0);
  assert_int_equal(fired, 1);
  akt_sim_world_free(w);
}

/* ---- link faults -------------------------------------------------------------------- */

typedef struct dg_inbox {
  int n;
  uint64_t at[8];
  char body[8][8];
  akt_sim_world *w;
} dg_inbox;

static void dg_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                    void *data) {
  (void)d;
  (void)from;
  dg_inbox *in = data;
  if (in->n < 8) {
    in->at[in->n] = akt_sim_now(in->w);
    snprintf(in->body[in->n], sizeof in->body[0], "%.*s", (int)len, (const char *)buf);
  }
  in->n++;
}

typedef struct net2 {
  akt_sim_world *w;
  akt_backend *a, *b;
  akt_dgram *da, *db;
  akt_addr to_b;
  dg_inbox in;
} net2;

static void net2_new(net2 *n) {
  memset(n, 0, sizeof *n);
  assert_int_equal(akt_sim_world_new(&(akt_sim_options){.seed = 5}, &n->w), 0);
  assert_int_equal(akt_sim_node_new(n->w, "a", &n->a), 0);
  assert_int_equal(akt_sim_node_new(n->w, "b", &n->b), 0);
  n->in.w = n->w;
  akt_addr aa = {.port = 1000}, ab = {.port = 2000};
  snprintf(aa.host, sizeof aa.host, "a");
  snprintf(ab.host, sizeof ab.host, "b");
  assert_int_equal(n->a->ops->dgram_open(n->a, &aa, dg_recv, NULL, &n->da), 0);
  assert_int_equal(n->b->ops->dgram_open(n->b, &ab, dg_recv, &n->in, &n->db), 0);
  n->to_b = ab;
}

static void send_dg(net2 *n, const char *body) {
  assert_int_equal(n->a->ops->dgram_send(n->a, n->da, &n->to_b, (const uint8_t *)body, strlen(body)), 0);
}

static void a_datagram_crosses_a_link_with_its_latency(void **state) {
  (void)state;
  net2 n;
  net2_new(&n);
  send_dg(&n, "x");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 1);
  assert_int_equal(n.in.at[0], AKT_MILLIS(1)); /* the default latency */
  akt_sim_link_faults f = {.kind = AKT_SIM_LATENCY_FIXED, .latency = AKT_MILLIS(7)};
  assert_int_equal(akt_sim_link_set(n.w, n.a, n.b, &f), 0);
  uint64_t t0 = akt_sim_now(n.w);
  send_dg(&n, "y");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 2);
  assert_int_equal(n.in.at[1] - t0, AKT_MILLIS(7));
  akt_sim_world_free(n.w);
}

static void a_cut_drops_datagrams_until_healed(void **state) {
  (void)state;
  net2 n;
  net2_new(&n);
  assert_int_equal(akt_sim_cut(n.w, n.a, n.b, 0), 0);
  assert_int_equal(akt_sim_cut(n.w, n.a, n.b, 0), 0); /* cutting a cut link: nothing */
  send_dg(&n, "lost");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 0);
  assert_int_equal(akt_sim_heal(n.w, n.a, n.b), 0);
  send_dg(&n, "ok");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 1);
  assert_string_equal(n.in.body[0], "ok");
  akt_sim_world_free(n.w);
}

static void a_hold_keeps_traffic_in_order_until_released(void **state) {
  (void)state;
  net2 n;
  net2_new(&n);
  assert_int_equal(akt_sim_hold(n.w, n.a, n.b), 0);
  send_dg(&n, "1");
  send_dg(&n, "2");
  send_dg(&n, "3");
  assert_int_equal(akt_sim_run_for(n.w, AKT_SECONDS(5)), 0);
  assert_int_equal(n.in.n, 0);
  assert_int_equal(akt_sim_release(n.w, n.a, n.b), 0);
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 3);
  assert_string_equal(n.in.body[0], "1");
  assert_string_equal(n.in.body[1], "2");
  assert_string_equal(n.in.body[2], "3");
  assert_int_equal(akt_sim_release(n.w, n.a, n.b), 0); /* not held: nothing */
  akt_sim_world_free(n.w);
}

static void a_link_loses_and_duplicates_datagrams_as_told(void **state) {
  (void)state;
  net2 n;
  net2_new(&n);
  akt_sim_link_faults lossy = {.loss_ppm = 1000000};
  assert_int_equal(akt_sim_link_set(n.w, n.a, n.b, &lossy), 0);
  send_dg(&n, "gone");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 0);
  akt_sim_link_faults dup = {.dup_ppm = 1000000};
  assert_int_equal(akt_sim_link_set_all(n.w, &dup), 0);
  send_dg(&n, "twice");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 2);
  akt_sim_world_free(n.w);
}

static void link_settings_are_checked(void **state) {
  (void)state;
  net2 n;
  net2_new(&n);
  akt_sim_link_faults f = {.loss_ppm = 1000001};
  assert_int_equal(akt_sim_link_set(n.w, n.a, n.b, &f), AKT_EINVAL);
  f = (akt_sim_link_faults){.dup_ppm = 1000001};
  assert_int_equal(akt_sim_link_set_all(n.w, &f), AKT_EINVAL);
  f = (akt_sim_link_faults){.kind = AKT_SIM_LATENCY_UNIFORM, .latency = AKT_MILLIS(5),
                            .latency_max = AKT_MILLIS(2)};
  assert_int_equal(akt_sim_link_set(n.w, n.a, n.b, &f), AKT_EINVAL);
  f = (akt_sim_link_faults){.kind = (akt_sim_latency)9};
  assert_int_equal(akt_sim_link_set(n.w, n.a, n.b, &f), AKT_EINVAL);
  assert_int_equal(akt_sim_link_set(n.w, n.a, n.b, NULL), 0); /* a perfect link */
  assert_int_equal(akt_sim_link_set_all(NULL, NULL), AKT_EINVAL);
  /* A node of another world is no node of this one. */
  akt_sim_world *other = NULL;
  akt_backend *stranger = NULL;
  assert_int_equal(akt_sim_world_new(NULL, &other), 0);
  assert_int_equal(akt_sim_node_new(other, "s", &stranger), 0);
  assert_int_equal(akt_sim_link_set(n.w, n.a, stranger, NULL), AKT_EINVAL);
  assert_int_equal(akt_sim_cut(n.w, stranger, n.a, 1), AKT_EINVAL);
  /* A partition names every node. */
  uint32_t groups[3] = {0, 1, 0};
  assert_int_equal(akt_sim_partition(n.w, groups, 3), AKT_EINVAL);
  assert_int_equal(akt_sim_partition(n.w, groups, 2), 0);
  assert_int_equal(akt_sim_heal(n.w, NULL, NULL), 0);
  akt_sim_world_free(other);
  akt_sim_world_free(n.w);
}

static void a_clog_delays_traffic_until_it_ends_keeping_its_order(void **state) {
  (void)state;
  net2 n;
  net2_new(&n);
  assert_int_equal(akt_sim_clog(n.w, n.a, n.b, AKT_SECONDS(2)), 0);
  send_dg(&n, "1");
  send_dg(&n, "2");
  assert_int_equal(akt_sim_run_until_idle(n.w), 0);
  assert_int_equal(n.in.n, 2);
  assert_string_equal(n.in.body[0], "1");
  assert_string_equal(n.in.body[1], "2");
  assert_true(n.in.at[0] >= AKT_SECONDS(2));
  akt_sim_world_free(n.w);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(one_seed_gives_one_history_byte_for_byte),
    cmocka_unit_test(a_trace_file_that_cannot_be_opened_is_ebackend),
    cmocka_unit_test(nodes_have_unique_well_formed_names),
    cmocka_unit_test(an_empty_world_is_idle_and_time_moves_only_when_told),
    cmocka_unit_test(a_timer_event_is_stepped_at_its_time),
    cmocka_unit_test(run_for_runs_every_event_due_by_its_end_those_at_the_end_included),
    cmocka_unit_test(run_until_stops_as_soon_as_the_condition_holds),
    cmocka_unit_test(a_repeating_timer_keeps_run_until_idle_busy_until_max_steps),
    cmocka_unit_test(the_world_cannot_be_driven_from_inside_a_step),
    cmocka_unit_test(a_note_is_a_trace_record_in_the_digest),
    cmocka_unit_test(a_turn_costs_the_configured_virtual_time),
    cmocka_unit_test(a_crashed_node_restarts_as_a_new_incarnation),
    cmocka_unit_test(a_paused_nodes_timers_fire_late_at_the_resume),
    cmocka_unit_test(a_node_is_up_after_a_restart_even_when_its_start_hook_fails),
    cmocka_unit_test(a_crash_ends_a_pause),
    cmocka_unit_test(a_nodes_clock_follows_its_skew_and_drift),
    cmocka_unit_test(a_datagram_crosses_a_link_with_its_latency),
    cmocka_unit_test(a_cut_drops_datagrams_until_healed),
    cmocka_unit_test(a_hold_keeps_traffic_in_order_until_released),
    cmocka_unit_test(a_link_loses_and_duplicates_datagrams_as_told),
    cmocka_unit_test(link_settings_are_checked),
    cmocka_unit_test(a_clog_delays_traffic_until_it_ends_keeping_its_order),
};

AKT_TEST_MAIN("api-sim", tests)
