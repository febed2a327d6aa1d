/* akt — shrink: delta debugging (Zeller's ddmin) over a failing run's
 * faults. The plan is the run's whole fault log, so a subset of it is a
 * run of its own; the smallest subset that still fails the same way is
 * written out as a scenario with an explicit timeline and no random
 * profile.
 *
 * "The same way" is the same check with the same cause class
 * (akt__run_cause_class): a candidate that fails another check, or this
 * check for another reason, is a different bug and is not kept. Faults are
 * shrunk in units (akt__plan_units): a crash goes with its restart, a pause
 * with its resume, a cut or partition with its heal, a hold with its
 * release, so a candidate never keeps a fault without its end.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/cli.h"

#define MAX_RUNS 1000 /* runs one shrink may spend */
#define CLASS_MAX (AKT_SCENARIO_WHY_MAX + AKT__SCN_WORD_MAX + 16)

typedef struct shrinker {
  akt__cli *cli;
  uint64_t seed;
  akt__scn_spec spec;      /* the scenario without its random profile */
  const akt__fault *all;   /* the original plan's faults, in time order */
  size_t nall;
  const size_t *unit;      /* unit of each of all[] */
  akt__fault *buf;         /* a candidate's faults */
  char cls[CLASS_MAX];     /* what the original run failed with */
  char check[AKT__SCN_WORD_MAX];
  unsigned runs;
} shrinker;

/* The faults of units[0..k) into s->buf, in time order. Returns how many. */
static size_t faults_of(shrinker *s, const size_t *units, size_t k) {
  size_t n = 0;
  for (size_t i = 0; i < s->nall; i++)
    for (size_t j = 0; j < k; j++)
      if (s->unit[i] == units[j]) {
        s->buf[n++] = s->all[i];
        break;
      }
  return n;
}

/* Do these units fail the same way? */
static int still_fails(shrinker *s, const size_t *units, size_t k) {
  if (s->runs >= MAX_RUNS) return 0;
  s->runs++;
  akt__plan plan;
  if (akt__plan_of(s->buf, faults_of(s, units, k), &plan) != 0) return 0;
  akt__run_result r;
  akt__job_run(&s->spec, s->cli->wl, s->seed, &plan, NULL, &r);
  akt__plan_free(&plan);
  char cls[CLASS_MAX];
  akt__run_cause_class(&r, cls, sizeof cls);
  return !strcmp(cls, s->cls);
}

/* ddmin over units: try each of n chunks, then each complement; on success
 * continue from it with coarser chunks, otherwise refine, until chunks are
 * single units. `c` is reduced in place; returns its new length. */
static size_t ddmin(shrinker *s, size_t *c, size_t len) {
  size_t *tmp = calloc(len ? len : 1, sizeof *tmp);
  if (!tmp) return len;
  size_t n = 2;
  while (len >= 2 && s->runs < MAX_RUNS) {
    size_t chunk = (len + n - 1) / n;
    int reduced = 0;
    for (size_t at = 0; at < len && !reduced; at += chunk) { /* one chunk alone */
      size_t m = at + chunk > len ? len - at : chunk;
      if (still_fails(s, c + at, m)) {
        memmove(c, c + at, m * sizeof *c);
        len = m;
        n = 2;
        reduced = 1;
      }
    }
    /* Everything but one chunk (with two chunks, that is the other one). */
    for (size_t at = 0; at < len && !reduced && n > 2; at += chunk) {
      size_t m = at + chunk > len ? len - at : chunk, k = 0;
      for (size_t i = 0; i < len; i++)
        if (i < at || i >= at + m) tmp[k++] = c[i];
      if (still_fails(s, tmp, k)) {
        memcpy(c, tmp, k * sizeof *c);
        len = k;
        n = n - 1 > 2 ? n - 1 : 2;
        reduced = 1;
      }
    }
    fprintf(stderr, "shrink: %zu fault units left after %u runs\n", len, s->runs);
    if (!reduced) {
      if (n >= len) break; /* every single unit was tried: 1-minimal */
      n = n * 2 < len ? n * 2 : len;
    }
  }
  free(tmp);
  return len;
}

/* Where the shrunk scenario goes: `out`, or next to the input, named after
 * it and the seed ("dir/bank.scn" -> "dir/bank-seed7-shrunk.scn"). */
static void out_path(const akt__cli *cli, uint64_t seed, const char *out, char *path, size_t size) {
  if (out) {
    snprintf(path, size, "%s", out);
    return;
  }
  const char *slash = strrchr(cli->file, '/');
  const char *base = slash ? slash + 1 : cli->file;
  int dirlen = slash ? (int)(base - cli->file) : 0;
  snprintf(path, size, "%.*s%.*s-seed%" PRIu64 "-shrunk.scn", dirlen, cli->file,
           (int)strcspn(base, "."), base, seed);
}

/* Runs the written file again: it must fail the same way. Returns the
 * run's status, or AKT__RUN_ERROR when it does not fail the same way. */
static int prove(shrinker *s, const char *path) {
  akt__scn_spec back;
  char err[AKT__SCN_ERR_MAX];
  if (akt__scn_load(path, &back, err, sizeof err) != 0) {
    fprintf(stderr, "akt-sim: the shrunk scenario does not parse: %s\n", err);
    return AKT__RUN_ERROR;
  }
  akt__plan p2;
  akt__run_result r;
  int same = 0;
  if (akt__plan_make(&back, s->seed, &p2) == 0) {
    akt__job_run(&back, s->cli->wl, s->seed, &p2, NULL, &r);
    akt__plan_free(&p2);
    printf("check: %s run %s --seed %" PRIu64 " -> ", s->cli->prog, path, s->seed);
    akt__cli_result(s->cli, stdout, s->seed, &r);
    char cls[CLASS_MAX];
    akt__run_cause_class(&r, cls, sizeof cls);
    same = !strcmp(cls, s->cls);
  }
  akt__scn_free(&back);
  if (!same) {
    printf("shrink: the written scenario does not fail the same way\n");
    return AKT__RUN_ERROR;
  }
  return AKT__RUN_PASS;
}

int akt__cli_shrink(akt__cli *cli, uint64_t seed, const char *out) {
  akt__plan plan;
  if (akt__plan_make(&cli->spec, seed, &plan) != 0) {
    fprintf(stderr, "akt-sim: making the fault plan failed\n");
    return AKT__RUN_ERROR;
  }
  akt__run_result r;
  akt__job_run(&cli->spec, cli->wl, seed, &plan, NULL, &r);
  if (r.status == AKT__RUN_PASS || r.status == AKT__RUN_ERROR) {
    akt__cli_result(cli, stdout, seed, &r);
    printf("shrink: seed %" PRIu64 " %s; shrink needs a run that fails a check\n", seed,
           r.status == AKT__RUN_PASS ? "passes" : "does not complete");
    akt__plan_free(&plan);
    return r.status == AKT__RUN_PASS ? AKT__RUN_ERROR : r.status;
  }
  shrinker s = {.cli = cli, .seed = seed, .all = plan.faults, .nall = plan.n, .runs = 1};
  snprintf(s.check, sizeof s.check, "%s", r.check);
  akt__run_cause_class(&r, s.cls, sizeof s.cls);
  size_t *unit = calloc(plan.n ? plan.n : 1, sizeof *unit);
  size_t *units = calloc(plan.n ? plan.n : 1, sizeof *units);
  s.buf = calloc(plan.n ? plan.n : 1, sizeof *s.buf);
  if (!unit || !units || !s.buf || akt__scn_copy(&cli->spec, &s.spec) != 0) {
    free(unit);
    free(units);
    free(s.buf);
    akt__plan_free(&plan);
    fprintf(stderr, "akt-sim: out of memory\n");
    return AKT__RUN_ERROR;
  }
  s.unit = unit;
  s.spec.random.enabled = 0;
  size_t nunits = akt__plan_units(plan.faults, plan.n, unit);
  for (size_t i = 0; i < nunits; i++) units[i] = i;
  printf("shrink: seed %" PRIu64 " fails check %s with %zu faults (%zu units); reducing...\n",
         seed, s.check, plan.n, nunits);
  printf("  cause: %s\n", r.why);
  fflush(stdout);
  size_t k = still_fails(&s, NULL, 0) ? 0 : ddmin(&s, units, nunits);
  size_t n = faults_of(&s, units, k);
  /* Write the result as a scenario with an explicit timeline. */
  if (n) memcpy(s.spec.faults, s.buf, n * sizeof *s.buf);
  s.spec.nfaults = n;
  char path[600], header[1400];
  out_path(cli, seed, out, path, sizeof path);
  snprintf(header, sizeof header,
           "# Shrunk by akt-sim from %s --seed %" PRIu64 ": the %zu fault(s) below, out of %zu,\n"
           "# still fail check %s the same way. Faults are explicit (no random profile);\n"
           "# the seed still drives scheduling, so replay with the same seed:\n"
           "#   %s run %s --seed %" PRIu64 "\n",
           cli->file, seed, n, plan.n, s.check, cli->prog, path, seed);
  int rc = akt__scn_write(&s.spec, path, header);
  int status = AKT__RUN_ERROR;
  if (rc != 0) {
    fprintf(stderr, "akt-sim: cannot write %s\n", path);
  } else {
    for (size_t i = 0; i < n; i++) {
      char line[512];
      akt__scn_fault_text(&s.spec.faults[i], line, sizeof line);
      printf("  %s\n", line);
    }
    printf("shrink: %zu of the original faults fail check %s the same way (%u runs); wrote %s\n",
           n, s.check, s.runs, path);
    status = prove(&s, path);
  }
  free(unit);
  free(units);
  free(s.buf);
  akt__plan_free(&plan);
  akt__scn_free(&s.spec);
  return status;
}
