/* akt-bench — sim-cluster: a 5-node bank scenario under a random fault
 * profile (crashes, partitions, clogs, lossy links), as akt-sim runs it:
 * how many simulator events per real second, and how many simulated
 * seconds per real second. The seed is fixed, so every repetition runs the
 * same history. */
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "bench.h"
#include "sim/scenario/plan.h"
#include "sim/scenario/run.h"

static const char cluster_scn[] =
    "scenario sim-cluster\n"
    "workload bank accounts=20 transfers=2000 window=8 pace=10ms\n"
    "nodes 5\n"
    "duration 60s\n"
    "quiet 20s\n"
    "link latency=exp:200us:1ms:50ms\n"
    "random protect=node0 rate=0.5\n";

static const akt_workload *bank(void) {
  for (size_t i = 0; akt_builtin_workloads[i]; i++)
    if (!strcmp(akt_builtin_workloads[i]->name, "bank")) return akt_builtin_workloads[i];
  return NULL;
}

/* One run; writes the result. */
static int cluster_run(akt__run_result *r) {
  akt__scn_spec spec;
  char err[600];
  int rc = akt__scn_parse("sim-cluster", cluster_scn, &spec, err, sizeof err);
  if (rc) {
    fprintf(stderr, "akt-bench: %s\n", err);
    return rc;
  }
  akt__plan plan;
  rc = akt__plan_make(&spec, 7, &plan);
  const akt_workload *wl = bank();
  if (rc == 0 && !wl) rc = AKT_ENOENT;
  if (rc == 0) {
    akt__run(&spec, wl, 7, &plan, NULL, r);
    if (r->status != 0) {
      fprintf(stderr, "akt-bench: sim-cluster did not pass: %s %s\n", r->check, r->why);
      rc = AKT_ESTATE;
    }
    akt__plan_free(&plan);
  }
  akt__scn_free(&spec);
  return rc;
}

int wl_sim_cluster(const bench_params *p, double *value) {
  (void)p;
  akt__run_result r;
  int rc = cluster_run(&r);
  if (rc == 0) *value = (double)r.steps / r.real_s;
  return rc;
}

int wl_sim_cluster_speed(const bench_params *p, double *value) {
  (void)p;
  akt__run_result r;
  int rc = cluster_run(&r);
  if (rc == 0) *value = (double)r.sim_ns / 1e9 / r.real_s;
  return rc;
}
