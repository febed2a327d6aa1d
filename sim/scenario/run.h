/* akt — running one scenario with one seed (internal). */
#ifndef AKT_SIM_SCENARIO_RUN_H
#define AKT_SIM_SCENARIO_RUN_H

#include <stdio.h>

#include "sim/scenario/plan.h"

/* Outcomes, which are also akt-sim's exit codes. */
typedef enum akt__run_status {
  AKT__RUN_PASS = 0,
  AKT__RUN_FAIL = 1,     /* a safety check failed */
  AKT__RUN_ERROR = 2,    /* the run could not go on: a crash, an assertion, a start error */
  AKT__RUN_LIVENESS = 3  /* a liveness check failed after the quiet period */
} akt__run_status;

typedef struct akt__run_result {
  int status;
  char check[AKT__SCN_WORD_MAX];   /* the failing check, or "" */
  char why[AKT_SCENARIO_WHY_MAX];  /* what it found, or the error */
  uint64_t at;                     /* virtual ns of the verdict */
  uint64_t digest, records, steps; /* of the trace */
  uint64_t sim_ns;                 /* virtual time run */
  double real_s;                   /* wall-clock seconds the run took */
  size_t applied, skipped;         /* faults applied, and skipped (e.g. restart of an up node) */
} akt__run_result;

typedef struct akt__run_opts {
  const char *trace_path; /* write the trace here; NULL: don't */
  FILE *log;              /* fault lines and progress; NULL: silent */
  int progress;           /* redraw a progress line on `log` (a terminal) */
} akt__run_opts;

/* Runs `spec` with workload `wl`, the world seeded with `seed`, applying
 * `plan`'s faults. Fills *out; returns its status. */
int akt__run(const akt__scn_spec *spec, const akt_workload *wl, uint64_t seed,
             const akt__plan *plan, const akt__run_opts *o, akt__run_result *out);

/* The class of a failure's cause, for telling one failure from another
 * (shrink keeps a candidate only if it fails with the same check and class):
 * the status, the check, and its description with every number — times,
 * counts, ids, node numbers, hex digests — written as '#', so that "node2/t1
 * generation 3 died at t=5.830s" and "node1/t0 generation 1 died at t=8.1s"
 * are one class, and "applied twice" and "was lost" are two. */
void akt__run_cause_class(const akt__run_result *r, char *out, size_t size);

/* Checks that every check and every parameter the scenario names exists
 * in the workload (parameters only when the workload declares them).
 * Returns 0, or AKT_ENOENT with every error, one per line as
 * "FILE:LINE:COL: message", in err. */
int akt__run_validate(const akt__scn_spec *spec, const akt_workload *wl, char *err, size_t size);

#endif
