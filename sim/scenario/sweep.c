/* akt — sweep: many seeds, J at a time, with a progress bar; failures
 * grouped by what failed; then a sample of the seeds again, each in a
 * fresh process, to catch a digest that changes between runs.
 *
 * The re-check runs a fraction of the seeds (FoundationDB's unseed check
 * samples 5% of its runs; at least one seed here) with akt__job_exec: a
 * second copy that shares no address layout with the first, so that a
 * behaviour that depends on pointer values cannot repeat by accident.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/scenario/cli.h"

#define GROUP_SEEDS_SHOWN 3  /* failing seeds listed per group */
#define MAX_GROUPS 64        /* distinct failures told apart; more are one "other" group */
#define MISMATCHES_SHOWN 3   /* nondeterministic seeds whose first differing record is shown */

typedef struct outcome {
  uint64_t seed;
  akt__run_result r;
} outcome;

/* Failures of one kind: one status and one check. */
typedef struct group {
  int status;
  char check[AKT__SCN_WORD_MAX];
  uint64_t count;
  size_t first[GROUP_SEEDS_SHOWN]; /* indexes into the outcomes */
} group;

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

/* Runs seeds[0..n) with up to `jobs` children — forks, or fresh processes
 * when `fresh` — and fills out[] in seed order. Returns 0 or -1. */
static int run_all(akt__cli *cli, const uint64_t *seeds, size_t n, unsigned jobs, outcome *out,
                   int fresh, int show) {
  akt__job running[AKT__SWEEP_MAX_JOBS] = {0};
  size_t slot_of[AKT__SWEEP_MAX_JOBS];
  size_t next = 0, done = 0;
  uint64_t failed = 0;
  double sim = 0, t0 = now_s();
  int tty = isatty(2);
  if (jobs > AKT__SWEEP_MAX_JOBS) jobs = AKT__SWEEP_MAX_JOBS;
  while (done < n) {
    for (unsigned j = 0; j < jobs && next < n; j++) {
      if (running[j].pid) continue;
      int rc = fresh ? akt__job_exec(&running[j], cli->file, seeds[next], NULL)
                     : akt__job_start(&running[j], &cli->spec, cli->wl, seeds[next], NULL, NULL);
      if (rc != 0) {
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

/* Sorts the failures into groups, in the order each first failed. Returns
 * the number of groups. */
static size_t group_failures(const outcome *out, uint64_t n, group *g) {
  size_t ng = 0;
  for (uint64_t i = 0; i < n; i++) {
    const akt__run_result *r = &out[i].r;
    if (r->status == AKT__RUN_PASS) continue;
    size_t k = 0;
    while (k < ng && (g[k].status != r->status || strcmp(g[k].check, r->check))) k++;
    if (k == ng) {
      if (ng == MAX_GROUPS) k = ng - 1; /* the last group takes the rest */
      else {
        memset(&g[ng], 0, sizeof g[ng]);
        g[ng].status = r->status;
        snprintf(g[ng].check, sizeof g[ng].check, "%s", r->check);
        ng++;
      }
    }
    if (g[k].count < GROUP_SEEDS_SHOWN) g[k].first[g[k].count] = (size_t)i;
    g[k].count++;
  }
  return ng;
}

static void print_groups(akt__cli *cli, const outcome *out, uint64_t seeds, const group *g,
                         size_t ng) {
  for (size_t k = 0; k < ng; k++) {
    size_t shown = g[k].count < GROUP_SEEDS_SHOWN ? (size_t)g[k].count : GROUP_SEEDS_SHOWN;
    printf("%s %s%s: %" PRIu64 " of %" PRIu64 " seeds; first:", akt__cli_status_word(g[k].status),
           g[k].check[0] ? "check=" : "", g[k].check[0] ? g[k].check : "(no check)", g[k].count,
           seeds);
    for (size_t i = 0; i < shown; i++) printf(" %" PRIu64, out[g[k].first[i]].seed);
    printf("\n");
    akt__cli_result(cli, stdout, out[g[k].first[0]].seed, &out[g[k].first[0]].r);
    akt__cli_replay(cli, stdout, out[g[k].first[0]].seed);
  }
}

/* Picks the seeds to run again: the first failing seed of each group, then
 * seeds spread evenly over the sweep, `want` in all (at least one). Writes
 * indexes to pick[] and returns how many. */
static size_t pick_recheck(uint64_t seeds, const group *g, size_t ng, size_t want, size_t *pick) {
  size_t n = 0;
  for (size_t k = 0; k < ng && n < want; k++) pick[n++] = g[k].first[0];
  for (size_t j = 0; n < want && j < want; j++) {
    size_t i = (size_t)((uint64_t)j * seeds / want);
    int dup = 0;
    for (size_t m = 0; m < n; m++) dup |= pick[m] == i;
    if (!dup) pick[n++] = i;
  }
  return n;
}

int akt__cli_sweep(akt__cli *cli, uint64_t from, uint64_t seeds, unsigned jobs, double recheck) {
  if (seeds > AKT__SWEEP_MAX_SEEDS) {
    fprintf(stderr, "akt-sim: at most %d seeds per sweep\n", AKT__SWEEP_MAX_SEEDS);
    return AKT__RUN_ERROR;
  }
  size_t want = (size_t)ceil(recheck * (double)seeds);
  if (want < 1) want = 1;
  if (want > seeds) want = (size_t)seeds;
  uint64_t *list = calloc(seeds, sizeof *list);
  outcome *out = calloc(seeds, sizeof *out);
  group *g = calloc(MAX_GROUPS, sizeof *g);
  size_t *pick = calloc(want, sizeof *pick);
  uint64_t *again_seeds = calloc(want, sizeof *again_seeds);
  outcome *again = calloc(want, sizeof *again);
  int rc = list && out && g && pick && again_seeds && again ? 0 : -1;
  if (rc) fprintf(stderr, "akt-sim: out of memory\n");
  for (uint64_t i = 0; rc == 0 && i < seeds; i++) list[i] = from + i;
  if (rc == 0) {
    printf("akt-sim: sweep %s (workload %s), seeds %" PRIu64 "..%" PRIu64 ", %u at a time\n",
           cli->file, cli->wl->name, from, from + seeds - 1, jobs);
    fflush(stdout);
  }
  double t0 = now_s();
  if (rc == 0) rc = run_all(cli, list, seeds, jobs, out, 0, 1);
  double took = now_s() - t0;
  uint64_t failed = 0;
  size_t ng = 0, np = 0;
  if (rc == 0) {
    for (uint64_t i = 0; i < seeds; i++) failed += out[i].r.status != AKT__RUN_PASS;
    ng = group_failures(out, seeds, g);
    print_groups(cli, out, seeds, g, ng);
    /* Determinism: the same seeds again, in fresh processes, must give the
     * same digests. */
    np = pick_recheck(seeds, g, ng, want, pick);
    for (size_t k = 0; k < np; k++) again_seeds[k] = list[pick[k]];
    rc = run_all(cli, again_seeds, np, jobs, again, 1, 0);
  }
  uint64_t mismatches = 0;
  for (size_t k = 0; rc == 0 && k < np; k++) {
    const akt__run_result *a = &out[pick[k]].r, *b = &again[k].r;
    if (a->digest == b->digest && a->status == b->status) continue;
    mismatches++;
    printf("NONDETERMINISTIC seed=%" PRIu64 ": digest %016" PRIx64 " (%s), then %016" PRIx64
           " (%s) in a fresh process\n",
           again_seeds[k], a->digest, akt__cli_status_word(a->status), b->digest,
           akt__cli_status_word(b->status));
    if (mismatches <= MISMATCHES_SHOWN) {
      akt__run_result pair[2];
      akt__cli_compare_runs(cli, again_seeds[k], pair);
    }
    printf("  see: %s check-determinism %s --seed %" PRIu64 "\n", cli->prog, cli->file,
           again_seeds[k]);
  }
  if (rc == 0)
    printf("sweep: %" PRIu64 " seeds, %" PRIu64 " passed, %" PRIu64 " failed (%zu kind%s); %zu "
           "re-run in fresh processes, %" PRIu64 " digest mismatches; %.1fs\n",
           seeds, seeds - failed, failed, ng, ng == 1 ? "" : "s", np, mismatches, took);
  free(list);
  free(out);
  free(g);
  free(pick);
  free(again_seeds);
  free(again);
  if (rc) return AKT__RUN_ERROR;
  return failed || mismatches ? AKT__RUN_FAIL : AKT__RUN_PASS;
}
