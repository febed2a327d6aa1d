/* akt — runs in child processes (internal): a run that crashes (a signal,
 * an abort from an assertion) becomes a result with status 2 instead of
 * taking akt-sim down, and sweeps run several seeds at once. */
#ifndef AKT_SIM_SCENARIO_JOB_H
#define AKT_SIM_SCENARIO_JOB_H

#include <sys/types.h>

#include "sim/scenario/run.h"

typedef struct akt__job {
  pid_t pid;
  int fd;        /* the result comes through this pipe */
  uint64_t seed;
} akt__job;

/* Forks a child that runs `spec` with `seed`: with `plan` if non-NULL,
 * otherwise the plan the seed makes. Returns 0, or AKT_EBACKEND (fork or
 * pipe failed). */
int akt__job_start(akt__job *job, const akt__scn_spec *spec, const akt_workload *wl,
                   uint64_t seed, const akt__plan *plan, const akt__run_opts *o);

/* Waits for any running job of jobs[0..n) (pid != 0), fills *out with its
 * result and returns its index (its pid is then 0), or -1 if none runs. */
int akt__job_wait(akt__job *jobs, size_t n, akt__run_result *out);

/* Starts one job and waits for it. Returns the result's status. */
int akt__job_run(const akt__scn_spec *spec, const akt_workload *wl, uint64_t seed,
                 const akt__plan *plan, const akt__run_opts *o, akt__run_result *out);

#endif
