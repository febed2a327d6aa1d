/* akt — akt-sim's command line (internal). */
#ifndef AKT_SIM_SCENARIO_CLI_H
#define AKT_SIM_SCENARIO_CLI_H

#include "sim/scenario/job.h"

typedef struct akt__cli {
  const char *prog;                  /* how to call us again, for replay commands */
  const akt_workload *const *user;   /* the program's own workloads */
  size_t nuser;
  const char *file;                  /* the scenario file */
  akt__scn_spec spec;
  const akt_workload *wl;
} akt__cli;

/* The workload called `name`: the program's own first, then the built-in
 * ones. NULL if none. */
const akt_workload *akt__cli_workload(const akt__cli *cli, const char *name);

/* Prints the command that replays `seed` (with a trace file). */
void akt__cli_replay(const akt__cli *cli, FILE *f, uint64_t seed);

/* Prints one line describing a result ("PASS seed=..." / "FAIL ..."). */
void akt__cli_result(const akt__cli *cli, FILE *f, uint64_t seed, const akt__run_result *r);

/* The subcommands after the scenario is loaded. Each returns the exit code. */
int akt__cli_sweep(akt__cli *cli, uint64_t from, uint64_t seeds, unsigned jobs);
int akt__cli_shrink(akt__cli *cli, uint64_t seed, const char *out);

#endif
