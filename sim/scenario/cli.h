/* akt — akt-sim's command line (internal). */
#ifndef AKT_SIM_SCENARIO_CLI_H
#define AKT_SIM_SCENARIO_CLI_H

#include "sim/scenario/job.h"

#define AKT__SWEEP_MAX_JOBS 256     /* runs at once */
#define AKT__SWEEP_MAX_SEEDS 1000000 /* seeds per sweep */
#define AKT__RECHECK_DEFAULT 0.05    /* fraction of a sweep's seeds run again */

typedef struct akt__cli {
  const char *prog;                  /* how to call us again, for replay commands */
  const akt_workload *const *user;   /* the program's own workloads */
  size_t nuser;
  const char *file;                  /* the scenario file */
  akt__scn_spec spec;
  const akt_workload *wl;
  unsigned context;                  /* equal records shown before a trace difference */
} akt__cli;

/* The workload called `name`: the program's own first, then the built-in
 * ones. NULL if none. */
const akt_workload *akt__cli_workload(const akt__cli *cli, const char *name);

/* Prints the command that replays `seed` (with a trace file). */
void akt__cli_replay(const akt__cli *cli, FILE *f, uint64_t seed);

/* Prints one line describing a result ("PASS seed=..." / "FAIL ..."). */
void akt__cli_result(const akt__cli *cli, FILE *f, uint64_t seed, const akt__run_result *r);

/* "PASS", "FAIL", "FAIL (liveness)" or "ERROR". */
const char *akt__cli_status_word(int status);

/* The subcommands after the scenario is loaded. Each returns the exit code.
 * sweep: `recheck` is the fraction of seeds run again in fresh processes
 * (at least one seed). */
int akt__cli_sweep(akt__cli *cli, uint64_t from, uint64_t seeds, unsigned jobs, double recheck);
int akt__cli_shrink(akt__cli *cli, uint64_t seed, const char *out);
int akt__cli_check_determinism(akt__cli *cli, uint64_t seed);

/* Runs `seed` twice — in a fork of this process and in a fresh one
 * (akt__job_exec) — with traces, fills r[0] and r[1], and prints the first
 * record where the traces differ (akt__trace_diff, labels "run 1" and
 * "run 2"). Returns 0 when the traces, digests and verdicts agree, 1 when
 * they do not, AKT__RUN_ERROR when the runs could not be made. */
int akt__cli_compare_runs(akt__cli *cli, uint64_t seed, akt__run_result r[2]);

#endif
