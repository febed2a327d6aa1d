/* akt — sweep: many seeds, J at a time, with a progress bar; then a sample
 * of them again, to catch a digest that changes between runs. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/scenario/cli.h"

#define MAX_JOBS 256
#define RECHECK_FAILED 3 /* failing seeds re-run */
#define RECHECK_PASSED 2 /* passing seeds re-run */

typedef struct outcome {
  uint64_t seed;
  akt__run_result r;
} outcome;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bar(int tty, uint64_t done, uint64_t total, uint64_t failed, double sim_s,
                double real_s, int last) {
  const int width = 32;
  int fill = (int)(total ? done * (uint64_t)width / total : 0);
  if (!tty) { /* a line per tenth */
    if (!last && (total < 10 || done % (total / 10) != 0)) return;
  }
  fprintf(stderr, "%s[", tty ? "\r" : "");
  for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '-', stderr);
  fprintf(stderr, "] %" PRIu64 "/%" PRIu64 "  %" PRIu64 " failed  (%.0f sim-s/s)%s", done, total,
          failed, real_s > 0 ? sim_s / real_s : 0.0, tty && !last ? "" : "\n");
  fflush(stderr);
}

/* Runs seeds[0..n) with up to `jobs` children; fills out[] in seed order. */
static int run_all(akt__cli *cli, const uint64_t *seeds, size_t n, unsigned jobs, outcome *out,
                   int show) {
  akt__job running[MAX_JOBS] = {0};
  size_t slot_of[MAX_JOBS];
  size_t next = 0, done = 0;
  uint64_t failed = 0;
  double sim = 0, t0 = now_s();
  int tty = isatty(2);
  if (jobs > MAX_JOBS) jobs = MAX_JOBS;
  while (done < n) {
    for (unsigned j = 0; j < jobs && next < n; j++) {
      if (running[j].pid) continue;
      if (akt__job_start(&running[j], &cli->spec, cli->wl, seeds[next], NULL, NULL) != 0) {
        fprintf(stderr, "akt-sim: fork failed\n");
        return -1;
      }
      slot_of[j] = next++;
    }
    akt__run_result r;
    int j = akt__job_wait(running, jobs, &r);
    if (j < 0) return -1;
    out[slot_of[j]].seed = seeds[slot_of[j]];
    out[slot_of[j]].r = r;
    done++;
    failed += r.status != AKT__RUN_PASS;
    sim += (double)r.sim_ns / 1e9;
    if (show) bar(tty, done, n, failed, sim, now_s() - t0, done == n);
  }
  return 0;
}

int akt__cli_sweep(akt__cli *cli, uint64_t from, uint64_t seeds, unsigned jobs) {
  if (seeds > 1000000) {
    fprintf(stderr, "akt-sim: at most 1000000 seeds per sweep\n");
    return AKT__RUN_ERROR;
  }
  uint64_t *list = calloc(seeds, sizeof *list);
  outcome *out = calloc(seeds, sizeof *out);
  if (!list || !out) {
    free(list);
    free(out);
    fprintf(stderr, "akt-sim: out of memory\n");
    return AKT__RUN_ERROR;
  }
  for (uint64_t i = 0; i < seeds; i++) list[i] = from + i;
  printf("akt-sim: sweep %s (workload %s), seeds %" PRIu64 "..%" PRIu64 ", %u at a time\n",
         cli->file, cli->wl->name, from, from + seeds - 1, jobs);
  fflush(stdout);
  double t0 = now_s();
  int rc = run_all(cli, list, seeds, jobs, out, 1);
  double took = now_s() - t0;
  uint64_t failed = 0;
  for (uint64_t i = 0; rc == 0 && i < seeds; i++) {
    if (out[i].r.status == AKT__RUN_PASS) continue;
    failed++;
    akt__cli_result(cli, stdout, out[i].seed, &out[i].r);
    akt__cli_replay(cli, stdout, out[i].seed);
  }
  /* Determinism: the same seeds again must give the same digests. */
  uint64_t sample[RECHECK_FAILED + RECHECK_PASSED];
  size_t ns = 0, nf = 0, np = 0;
  for (uint64_t i = 0; rc == 0 && i < seeds; i++) {
    int pass = out[i].r.status == AKT__RUN_PASS;
    if (pass ? np < RECHECK_PASSED && (np == 0 || i == seeds - 1) : nf < RECHECK_FAILED) {
      sample[ns++] = i;
      if (pass) np++;
      else nf++;
    }
  }
  uint64_t mismatches = 0;
  if (rc == 0 && ns) {
    uint64_t again_seeds[RECHECK_FAILED + RECHECK_PASSED];
    outcome again[RECHECK_FAILED + RECHECK_PASSED];
    for (size_t k = 0; k < ns; k++) again_seeds[k] = list[sample[k]];
    rc = run_all(cli, again_seeds, ns, jobs, again, 0);
    for (size_t k = 0; rc == 0 && k < ns; k++) {
      const akt__run_result *a = &out[sample[k]].r, *b = &again[k].r;
      if (a->digest == b->digest && a->status == b->status) continue;
      mismatches++;
      printf("NONDETERMINISTIC seed=%" PRIu64 ": digest %016" PRIx64 " then %016" PRIx64
             "; see: %s check-determinism %s --seed %" PRIu64 "\n",
             again_seeds[k], a->digest, b->digest, cli->prog, cli->file, again_seeds[k]);
    }
  }
  if (rc == 0)
    printf("sweep: %" PRIu64 " seeds, %" PRIu64 " passed, %" PRIu64 " failed; %zu re-run, %" PRIu64
           " digest mismatches; %.1fs\n",
           seeds, seeds - failed, failed, ns, mismatches, took);
  free(list);
  free(out);
  if (rc) return AKT__RUN_ERROR;
  return failed || mismatches ? AKT__RUN_FAIL : AKT__RUN_PASS;
}
