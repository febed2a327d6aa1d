/* akt — comparing two trace files record by record (internal): what
 * `akt-sim diff` and `akt-sim check-determinism` print. */
#ifndef AKT_SIM_SCENARIO_DIFF_H
#define AKT_SIM_SCENARIO_DIFF_H

#include <stdio.h>

#define AKT__DIFF_CONTEXT 5        /* equal records shown before the first difference */
#define AKT__DIFF_CONTEXT_MAX 1000 /* the most --context may ask for */

/* Compares the trace files `a` and `b` line by line. When they differ,
 * prints to `out`:
 *
 *   the traces differ at record N, at t=T on NODE (LABEL_A) and t=T on NODE (LABEL_B):
 *        N-k  <each of the last `context` equal records>
 *     LABEL_A N  <A's record, or "(end of trace)">
 *     LABEL_B N  <B's record, or "(end of trace)">
 *
 * (one time and node when both records agree on them), and nothing when
 * they are equal. Labels name the two sides ("A", "run 1", ...). Returns
 * 0 equal, 1 different, or -1 when a file cannot be read (the reason is
 * printed to stderr). */
int akt__trace_diff(FILE *out, const char *a, const char *b, const char *label_a,
                    const char *label_b, unsigned context);

#endif
