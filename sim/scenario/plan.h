/* akt — fault plans: the explicit timeline a run applies (internal).
 *
 * A plan is made before a run, from the scenario and the seed alone: the
 * timeline's random shapes (partition halves, swizzle) are resolved into
 * explicit faults, and the random profile draws its knobs (which fault
 * kinds, how often, how long, how lossy) and then its faults. So the plan
 * is the run's whole fault log, printable and shrinkable, and a plan
 * written back as a timeline replays without any randomness in faults.
 */
#ifndef AKT_SIM_SCENARIO_PLAN_H
#define AKT_SIM_SCENARIO_PLAN_H

#include "sim/scenario/spec.h"

typedef struct akt__plan {
  akt__fault *faults; /* sorted by time */
  size_t n;
  char knobs[1024];   /* the random profile's drawn knobs ("" without one) */
} akt__plan;

/* Makes the plan of `spec` for `seed`. Returns 0, AKT_ENOMEM, or
 * AKT_ELIMIT (more than AKT__SCN_MAX_FAULTS faults). */
int akt__plan_make(const akt__scn_spec *spec, uint64_t seed, akt__plan *out);

/* A plan holding exactly these faults (copied), for shrinking. */
int akt__plan_of(const akt__fault *faults, size_t n, akt__plan *out);

void akt__plan_free(akt__plan *p);

/* Groups faults[0..n) (in time order, as in a plan) into units that stand
 * or fall together when a plan is shrunk: a fault and the one that ends it
 * — a crash and the node's next restart, a pause and its next resume, a
 * cut or partition and the next heal, a hold and the link's next release —
 * are one unit (a heal that ends several cuts joins them all). Writes the
 * unit number of fault i to unit[i], numbered from 0 in the order of each
 * unit's first fault, and returns the number of units. */
size_t akt__plan_units(const akt__fault *faults, size_t n, size_t *unit);

/* The name of a fault kind ("crash", ...). */
const char *akt__fault_kind_name(akt__fault_kind k);

#endif
