/* akt-bench — sim-cluster: a 5-node bank scenario under a random fault
 * profile (crashes, partitions, clogs, lossy links), as akt-sim runs it:
 * how many simulator events per real second, and how many simulated
 * seconds per real second. cluster-sim-speed: simulated seconds per real
 * second of scenarios/grains-faults.scn (7 nodes, grains of the
 * cluster-actor layer, random faults). The seeds are fixed, so every
 * repetition runs the same history. */
#include <stdio.h>

#include "akt/error.h"
#include "bench.h"
#include "sim/scenario/cli.h"
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

/* Runs `spec` (owned: freed here) with `seed`; writes the result. A run
 * that does not pass its checks is an error (AKT_ESTATE): a speed of a
 * broken run means nothing. */
static int spec_run(akt__scn_spec *spec, uint64_t seed, akt__run_result *r) {
  akt__plan plan;
  int rc = akt__plan_make(spec, seed, &plan);
  if (rc == 0) {
    const akt__cli builtin_only = {0}; /* no workloads of a program's own */
    const akt_workload *wl = akt__cli_workload(&builtin_only, spec->workload);
    if (!wl) {
      rc = AKT_ENOENT;
    } else {
      akt__run(spec, wl, seed, &plan, NULL, r);
      if (r->status != 0) {
        fprintf(stderr, "akt-bench: %s seed %llu did not pass: %s %s\n", spec->name,
                (unsigned long long)seed, r->check, r->why);
        rc = AKT_ESTATE;
      }
    }
    akt__plan_free(&plan);
  }
  akt__scn_free(spec);
  return rc;
}

/* One run of the bank scenario above; writes the result. */
static int cluster_run(akt__run_result *r) {
  akt__scn_spec spec;
  char err[600];
  int rc = akt__scn_parse("sim-cluster", cluster_scn, &spec, err, sizeof err);
  if (rc) {
    fprintf(stderr, "akt-bench: %s\n", err);
    return rc;
  }
  return spec_run(&spec, 7, r);
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

/* The grains scenario in the source tree's scenarios/ (AKT_SCENARIOS_DIR,
 * bench/meson.build), seed 1: simulated seconds per real second, with
 * the split on stderr. */
int wl_cluster_sim_speed(const bench_params *p, double *value) {
  (void)p;
  const char *path = AKT_SCENARIOS_DIR "/grains-faults.scn";
  akt__scn_spec spec;
  char err[AKT__SCN_ERR_MAX];
  int rc = akt__scn_load(path, &spec, err, sizeof err);
  if (rc) {
    fprintf(stderr, "akt-bench: %s\n", err);
    return rc;
  }
  akt__run_result r;
  rc = spec_run(&spec, 1, &r);
  if (rc == 0) {
    *value = (double)r.sim_ns / 1e9 / r.real_s;
    fprintf(stderr,
            "akt-bench: cluster-sim-speed: %s seed 1, %.0f simulated s in %.2f real s, "
            "%llu events\n",
            path, (double)r.sim_ns / 1e9, r.real_s, (unsigned long long)r.steps);
  }
  return rc;
}
