/* akt-bench — the simulator workloads: events per second of a seeded
 * multi-actor run, and the real cost of a test waiting on virtual time. */
#include <stdio.h>
#include <stdlib.h>

#include "akt/sim.h"
#include "akt/testkit.h"
#include "bench.h"
#include "bench.pb-c.h"

#define SIM_NODES 2
#define SIM_ACTORS 50 /* per node */

typedef struct directory {
  akt_pid *pids[SIM_ACTORS];
} directory;

static int hopper_pre_start(akt_ctx *ctx) {
  Bench__Msg tick = BENCH__MSG__INIT;
  akt_duration every = AKT_MILLIS(5 + akt_ctx_random(ctx) % 20);
  return akt_timer_start(ctx, 1, every, every, &tick.base);
}

static int pass(akt_ctx *ctx, int64_t hops) {
  const directory *dir = akt_ctx_arg(ctx);
  Bench__Token t = BENCH__TOKEN__INIT;
  t.hops = hops;
  return akt_send(ctx, dir->pids[akt_ctx_random(ctx) % SIM_ACTORS], &t.base);
}

static int hopper_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (msg->descriptor == &bench__token__descriptor) {
    int64_t hops = ((const Bench__Token *)msg)->hops;
    return hops > 0 ? pass(ctx, hops - 1) : 0;
  }
  if (msg->descriptor == &bench__msg__descriptor) return pass(ctx, 20);
  return AKT_EUNHANDLED;
}

static const akt_actor_def hopper_def = {
    .kind = "hopper", .pre_start = hopper_pre_start, .receive = hopper_receive};

int wl_sim(const bench_params *p, double *value) {
  akt_sim_world *w;
  akt_sim_options wo = {.seed = 42};
  int rc = akt_sim_world_new(&wo, &w);
  if (rc) return rc;
  akt_system *systems[SIM_NODES] = {0};
  directory dirs[SIM_NODES];
  for (int n = 0; n < SIM_NODES && rc == 0; n++) {
    char name[16];
    snprintf(name, sizeof name, "n%d", n);
    akt_backend *b;
    akt_system_options so = {.host = name};
    rc = akt_sim_node_new(w, name, &b);
    if (!rc) rc = akt_system_new(name, b, &so, &systems[n]);
    akt_spawn_opts o = {.arg = &dirs[n]};
    for (int i = 0; i < SIM_ACTORS && rc == 0; i++)
      rc = akt_spawn(systems[n], NULL, &hopper_def, &o, &dirs[n].pids[i]);
  }
  uint64_t steps0 = akt_sim_steps(w);
  uint64_t t0 = bench_now();
  if (!rc) rc = akt_sim_run_for(w, AKT_SECONDS(p->sim_seconds));
  uint64_t t1 = bench_now();
  uint64_t steps = akt_sim_steps(w) - steps0;
  for (int n = 0; n < SIM_NODES; n++) {
    if (!systems[n]) continue;
    akt_system_shutdown(systems[n], AKT_SECONDS(10));
    for (int i = 0; i < SIM_ACTORS; i++) akt_pid_release(dirs[n].pids[i]);
    akt_system_free(systems[n]);
  }
  akt_sim_world_free(w);
  if (rc) return rc;
  *value = (double)steps / ((double)(t1 - t0) / 1e9);
  return 0;
}

/* What a test pays to wait 10 virtual seconds for a message that never
 * comes: the simulator jumps its clock instead of sleeping. */
int wl_testkit_wait(const bench_params *p, double *value) {
  (void)p;
  /* The whole test: set-up, the wait, tear-down. */
  uint64_t t0 = bench_now();
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *probe = akt_probe_new(tk, "p");
  char why[AKT_PROBE_FAILURE_MAX];
  int rc = akt_probe_try_expect_no_msg(probe, AKT_SECONDS(10), why);
  uint64_t waited = akt_testkit_now(tk);
  akt_testkit_free(tk);
  uint64_t t1 = bench_now();
  if (rc) return rc;
  if (waited < AKT_SECONDS(10)) return AKT_EFAILED; /* the wait did not happen */
  *value = (double)(t1 - t0);
  return 0;
}
