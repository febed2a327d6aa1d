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

/* Starts a copy of this program in a fresh process to run scenario file
 * `file` with `seed` and the plan the seed makes, writing the trace to
 * `trace_path` (NULL: none): fork, then exec of /proc/self/exe with
 * address-space randomization on and an environment of another size, so
 * that pointer values, uninitialized memory and hash order differ from
 * this process and its forks (a determinism check that forks only would be
 * fooled). The child is `prog __run ...` (akt__job_child_main). Returns 0,
 * or AKT_EBACKEND (fork or pipe failed; a failed exec shows as a crashed
 * job). */
int akt__job_exec(akt__job *job, const char *file, uint64_t seed, const char *trace_path);

/* The child side of akt__job_exec: argv is "__run FILE SEED TRACE|- FD"
 * (after the program name). Runs the scenario with the program's workloads
 * and writes the result to FD. Returns the exit code. */
int akt__job_child_main(int argc, char **argv, const akt_workload *const *workloads, size_t n);

/* Waits for any running job of jobs[0..n) (pid != 0), fills *out with its
 * result and returns its index (its pid is then 0), or -1 if none runs. */
int akt__job_wait(akt__job *jobs, size_t n, akt__run_result *out);

/* Starts one job and waits for it. Returns the result's status. */
int akt__job_run(const akt__scn_spec *spec, const akt_workload *wl, uint64_t seed,
                 const akt__plan *plan, const akt__run_opts *o, akt__run_result *out);

#endif
