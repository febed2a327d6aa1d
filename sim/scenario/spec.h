/* akt — scenario files: the parsed form (internal; grammar in
 * docs/scenarios.md). */
#ifndef AKT_SIM_SCENARIO_SPEC_H
#define AKT_SIM_SCENARIO_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "akt/scenario.h"

#define AKT__SCN_MAX_FAULTS 4096
#define AKT__SCN_MAX_CHECKS 32
#define AKT__SCN_MAX_ARGS 8
#define AKT__SCN_WORD_MAX 64
#define AKT__SCN_MAX_ERRORS 20   /* errors reported per file; the rest are counted */
#define AKT__SCN_ERR_MAX 4096    /* bytes for a file's error messages */

typedef enum akt__fault_kind {
  AKT__FAULT_CRASH = 1,   /* node */
  AKT__FAULT_RESTART,     /* node */
  AKT__FAULT_PAUSE,       /* node */
  AKT__FAULT_RESUME,      /* node */
  AKT__FAULT_SKEW,        /* node, value = ns */
  AKT__FAULT_DRIFT,       /* node, value = ppm */
  AKT__FAULT_CUT,         /* node -> node2 (both ways unless oneway) */
  AKT__FAULT_PARTITION,   /* shape: halves (drawn from the seed), isolate nodes (mask), ring */
  AKT__FAULT_HEAL,        /* all */
  AKT__FAULT_CLOG,        /* node (-> node2 or all), value = duration */
  AKT__FAULT_SWIZZLE,     /* value = duration; clog a random subset, unclog in another order */
  AKT__FAULT_HOLD,        /* node -> node2 */
  AKT__FAULT_RELEASE,     /* node -> node2 */
  AKT__FAULT_LINK,        /* node -> node2 (or all): link faults */
  AKT__FAULT_KIND_MAX
} akt__fault_kind;

typedef enum akt__partition_shape {
  AKT__SHAPE_HALVES = 1,     /* resolved by the plan into an isolate set */
  AKT__SHAPE_ISOLATE,
  AKT__SHAPE_RING /* majorities ring: each node sees its two neighbours */
} akt__partition_shape;

/* One fault at a virtual time. Plain data: the runner may copy, drop and
 * write faults back out as text (shrinking). */
/* A set of nodes (bit i: node i). */
#define AKT__SCN_SET_WORDS ((AKT_SCENARIO_MAX_NODES + 63) / 64)
typedef struct akt__node_set {
  uint64_t w[AKT__SCN_SET_WORDS];
} akt__node_set;

static inline void akt__set_add(akt__node_set *s, size_t i) {
  s->w[i / 64] |= UINT64_C(1) << (i % 64);
}
static inline int akt__set_has(const akt__node_set *s, size_t i) {
  return (int)(s->w[i / 64] >> (i % 64) & 1);
}
static inline size_t akt__set_count(const akt__node_set *s) {
  size_t n = 0;
  for (size_t i = 0; i < AKT__SCN_SET_WORDS; i++) n += (size_t)__builtin_popcountll(s->w[i]);
  return n;
}

typedef struct akt__fault {
  uint64_t at;                /* virtual ns from the start */
  akt__fault_kind kind;
  int node, node2;            /* node indexes, -1 = none / all */
  akt__node_set mask;         /* partition isolate: the isolated nodes */
  int oneway;
  akt__partition_shape shape;
  int64_t value;              /* duration ns, skew ns, drift ppm, split seed */
  akt_sim_link_faults link;   /* AKT__FAULT_LINK */
  uint32_t line, col;         /* where its time is in the file (0: made by a plan) */
} akt__fault;

/* The random fault profile's switches (knobs are drawn from the seed). */
typedef struct akt__random_profile {
  int enabled;
  uint32_t kinds;             /* bit per akt__fault_kind allowed; 0 = all */
  double rate;                /* faults per virtual second; 0 = drawn */
  akt__node_set protect;      /* nodes never crashed or paused */
} akt__random_profile;

typedef struct akt__check_ref {
  char name[AKT__SCN_WORD_MAX];
  uint64_t within;            /* liveness: how long after the quiet period begins */
  uint32_t line, col;         /* where the name is in the file */
} akt__check_ref;

typedef struct akt__scn_spec {
  char path[512];             /* the file it came from */
  char name[AKT__SCN_WORD_MAX];
  char workload[AKT__SCN_WORD_MAX];
  uint32_t workload_line, workload_col; /* where the workload's name is */
  char param_names[AKT_SCENARIO_MAX_PARAMS][AKT__SCN_WORD_MAX];
  int64_t param_values[AKT_SCENARIO_MAX_PARAMS];
  uint8_t param_is_duration[AKT_SCENARIO_MAX_PARAMS]; /* written back as a duration */
  uint32_t param_line[AKT_SCENARIO_MAX_PARAMS], param_col[AKT_SCENARIO_MAX_PARAMS];
  size_t nparams;
  size_t nodes;
  uint64_t duration, quiet;
  char cookie[AKT__SCN_WORD_MAX];
  akt_sim_link_faults link;   /* default link behaviour for the whole run */
  akt__fault *faults;         /* the timeline, sorted by time (stable) */
  size_t nfaults;
  akt__random_profile random;
  akt__check_ref checks[AKT__SCN_MAX_CHECKS];
  size_t nchecks;
} akt__scn_spec;

/* Parses scenario text (name used in messages). On errors writes every
 * one of them (up to AKT__SCN_MAX_ERRORS, then how many more), one per
 * line as "FILE:LINE:COL: message" (or "FILE: message" about the whole
 * file), to err (errsize bytes, AKT__SCN_ERR_MAX is enough) and returns
 * AKT_EINVAL (or AKT_ENOMEM). On success the spec is owned by the caller:
 * akt__scn_free. */
int akt__scn_parse(const char *name, const char *text, akt__scn_spec *out, char *err,
                   size_t errsize);

/* Reads and parses a file. Codes as akt__scn_parse, plus AKT_ENOENT. */
int akt__scn_load(const char *path, akt__scn_spec *out, char *err, size_t errsize);

/* Writes the spec back as scenario text (used by shrink: the timeline is
 * explicit, and no random profile). Returns 0 or AKT_ENOMEM/AKT_EBACKEND. */
int akt__scn_write(const akt__scn_spec *spec, const char *path, const char *header);

/* Copies a spec (the fault array is duplicated). Returns 0 or AKT_ENOMEM. */
int akt__scn_copy(const akt__scn_spec *from, akt__scn_spec *to);

void akt__scn_free(akt__scn_spec *spec);

/* Parses a fraction, "0.05" or "5%", into [0, 1]. Returns 0 or -1. */
int akt__scn_parse_fraction(const char *s, double *out);

/* Formats a fault as a scenario line (without the trailing newline). */
void akt__scn_fault_text(const akt__fault *f, char *buf, size_t size);

#endif
