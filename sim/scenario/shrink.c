/* akt — shrink: delta debugging (Zeller's ddmin) over a failing run's
 * faults. The plan is the run's whole fault log, so a subset of it is a
 * run of its own; the smallest subset that still fails the same check is
 * written out as a scenario with an explicit timeline and no random
 * profile. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/cli.h"

#define MAX_RUNS 1000 /* runs one shrink may spend */

typedef struct shrinker {
  akt__cli *cli;
  uint64_t seed;
  akt__scn_spec spec; /* the scenario without its random profile */
  int status;         /* what the original run failed with */
  char check[AKT__SCN_WORD_MAX];
  unsigned runs;
} shrinker;

/* Does this subset of faults fail the same way? */
static int still_fails(shrinker *s, const akt__fault *f, size_t n) {
  if (s->runs >= MAX_RUNS) return 0;
  s->runs++;
  akt__plan plan;
  if (akt__plan_of(f, n, &plan) != 0) return 0;
  akt__run_result r;
  akt__job_run(&s->spec, s->cli->wl, s->seed, &plan, NULL, &r);
  akt__plan_free(&plan);
  return r.status == s->status && !strcmp(r.check, s->check);
}

/* ddmin: try each of n chunks, then each complement; on success continue
 * from it with coarser chunks, otherwise refine, until chunks are single
 * faults. `c` is reduced in place; returns its new length. */
static size_t ddmin(shrinker *s, akt__fault *c, size_t len) {
  akt__fault *tmp = calloc(len ? len : 1, sizeof *tmp);
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
    fprintf(stderr, "shrink: %zu faults left after %u runs\n", len, s->runs);
    if (!reduced) {
      if (n >= len) break; /* every single fault was tried: 1-minimal */
      n = n * 2 < len ? n * 2 : len;
    }
  }
  free(tmp);
  return len;
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
  shrinker s = {.cli = cli, .seed = seed, .status = r.status, .runs = 1};
  snprintf(s.check, sizeof s.check, "%s", r.check);
  if (akt__scn_copy(&cli->spec, &s.spec) != 0) {
    akt__plan_free(&plan);
    return AKT__RUN_ERROR;
  }
  s.spec.random.enabled = 0;
  printf("shrink: seed %" PRIu64 " fails check %s with %zu faults; reducing...\n", seed, s.check,
         plan.n);
  fflush(stdout);
  size_t n = plan.n;
  if (still_fails(&s, NULL, 0)) n = 0; /* it fails without any fault */
  else n = ddmin(&s, plan.faults, n);
  /* Write the result as a scenario with an explicit timeline. */
  if (n) memcpy(s.spec.faults, plan.faults, n * sizeof *plan.faults);
  s.spec.nfaults = n;
  char path[600], header[1200];
  if (out) {
    snprintf(path, sizeof path, "%s", out);
  } else {
    const char *base = strrchr(cli->file, '/');
    base = base ? base + 1 : cli->file;
    snprintf(path, sizeof path, "%.*s-seed%" PRIu64 "-shrunk.scn", (int)strcspn(base, "."), base,
             seed);
  }
  snprintf(header, sizeof header,
           "# Shrunk by akt-sim from %s --seed %" PRIu64 ": the %zu fault(s) below, out of %zu,\n"
           "# still fail check %s. Faults are explicit (no random profile); the seed\n"
           "# still drives scheduling, so replay with the same seed:\n"
           "#   %s run %s --seed %" PRIu64 "\n",
           cli->file, seed, n, plan.n, s.check, cli->prog, path, seed);
  int rc = akt__scn_write(&s.spec, path, header);
  akt__plan_free(&plan);
  if (rc != 0) {
    fprintf(stderr, "akt-sim: cannot write %s\n", path);
    akt__scn_free(&s.spec);
    return AKT__RUN_ERROR;
  }
  for (size_t i = 0; i < n; i++) {
    char line[512];
    akt__scn_fault_text(&s.spec.faults[i], line, sizeof line);
    printf("  %s\n", line);
  }
  printf("shrink: %zu of the original faults fail check %s (%u runs); wrote %s\n", n, s.check,
         s.runs, path);
  /* Prove it: the written file, parsed back, fails the same way. */
  akt__scn_spec back;
  char err[600];
  int status = AKT__RUN_ERROR;
  if (akt__scn_load(path, &back, err, sizeof err) == 0) {
    akt__plan p2;
    if (akt__plan_make(&back, seed, &p2) == 0) {
      akt__job_run(&back, cli->wl, seed, &p2, NULL, &r);
      akt__plan_free(&p2);
      status = r.status;
      printf("check: %s run %s --seed %" PRIu64 " -> ", cli->prog, path, seed);
      akt__cli_result(cli, stdout, seed, &r);
    }
    akt__scn_free(&back);
  } else {
    fprintf(stderr, "akt-sim: the shrunk scenario does not parse: %s\n", err);
  }
  akt__scn_free(&s.spec);
  if (status != s.status || strcmp(r.check, s.check)) {
    printf("shrink: the written scenario does not fail the same way\n");
    return AKT__RUN_ERROR;
  }
  return AKT__RUN_PASS;
}
