/* akt-bench — akt's benchmarks, optionally side by side with CAF and Erlang.
 *
 * Every workload runs a fixed number of operations: one warm-up run, then
 * several repetitions; the median is reported. Workloads 1-8 run on the
 * production backend with the default number of workers (runtime "akt")
 * and with one worker ("akt-1w"); the simulator workloads run as "akt-sim".
 * The remote workloads (remote.c) run between this process and a second
 * akt-bench process over loopback TCP, both with the runtime's number of
 * workers. Rows of peer runtimes (bench/peers/run.sh) can be merged in with
 * --peers to print ratios.
 *
 * Results of several runs merge too: --peers may be given more than once,
 * for peers' rows or this program's own --tsv output, and --no-run only
 * merges. A workload and runtime with several rows is reported as their
 * median. `./dev bench --peers` uses this to alternate rounds of the peers
 * and of akt (docs/performance.md: why).
 *
 * Reading the table: every ratio is akt/peer, whatever the metric. For the
 * metrics where lower is better (ns_per_msg, ns_per_op, bytes_per_actor) a
 * ratio below 1 means akt did better; for the rates, where higher is
 * better (msgs_per_s, events_per_s, sim_s_per_s), a ratio above 1 means akt
 * did better.
 * Rates print without decimals.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akt/transport.h"
#include "bench.h"

/* A goal a row is held to (the issues' targets), printed after the table. */
typedef enum goal_kind {
  GOAL_NONE = 0,
  GOAL_AT_MOST,   /* value <= limit() */
  GOAL_AT_LEAST,  /* value >= limit() */
  GOAL_NEAR,      /* within `within` (a fraction) of workload `ref`'s value, same runtime */
  GOAL_BEAT_PEER  /* runtime akt's value <= runtime `ref`'s value of the same workload */
} goal_kind;

typedef struct goal {
  goal_kind kind;
  double (*limit)(void); /* GOAL_AT_MOST, GOAL_AT_LEAST */
  const char *ref;       /* GOAL_NEAR: a workload; GOAL_BEAT_PEER: a runtime */
  double within;         /* GOAL_NEAR */
  const char *why;       /* where the limit comes from, for the goals section */
} goal;

typedef struct workload {
  const char *name, *metric;
  bench_fn fn;  /* on a system */
  int (*sim_fn)(const bench_params *, double *);
  bench_remote_fn remote_fn; /* from node A to node B (another process) */
  int lower_is_better;
  int tls; /* remote: the nodes use TLS (and the cookie) */
  /* Builds its own backends and processes; runs as runtime "akt" only. */
  int (*own_fn)(const bench_params *, double *);
  int once; /* sim_fn is deterministic: one run, no warm-up, whatever --reps */
  goal goal;
} workload;

static double ms_5000(void) { return 5000; }
static double ms_8000(void) { return 8000; }
static double ms_2000(void) { return 2000; }
static double at_least_100(void) { return 100; }
static double at_least_500(void) { return 500; }
static double twice_memberlist_1000(void) { return 2 * bench_memberlist_spread_ms(1000); }

static const workload workloads[] = {
    {.name = "tell", .metric = "ns_per_msg", .fn = wl_tell, .lower_is_better = 1},
    {.name = "pingpong", .metric = "ns_per_op", .fn = wl_pingpong, .lower_is_better = 1},
    {.name = "request", .metric = "ns_per_op", .fn = wl_request, .lower_is_better = 1},
    {.name = "ask", .metric = "ns_per_op", .fn = wl_ask, .lower_is_better = 1},
    {.name = "fanin", .metric = "ns_per_msg", .fn = wl_fanin, .lower_is_better = 1},
    {.name = "spawn", .metric = "ns_per_op", .fn = wl_spawn, .lower_is_better = 1},
    {.name = "memory", .metric = "bytes_per_actor", .fn = wl_memory, .lower_is_better = 1},
    {.name = "threadring", .metric = "ns_per_op", .fn = wl_threadring, .lower_is_better = 1},
    {.name = "remote-tell", .metric = "msgs_per_s", .remote_fn = wl_remote_tell},
    {.name = "remote-ask", .metric = "ns_per_op", .remote_fn = wl_remote_ask, .lower_is_better = 1},
    {.name = "remote-tell-tls", .metric = "msgs_per_s", .remote_fn = wl_remote_tell, .tls = 1},
    {.name = "remote-ask-tls", .metric = "ns_per_op", .remote_fn = wl_remote_ask,
     .lower_is_better = 1, .tls = 1},
    {.name = "sim", .metric = "events_per_s", .sim_fn = wl_sim},
    {.name = "testkit-wait", .metric = "ns_per_op", .sim_fn = wl_testkit_wait, .lower_is_better = 1},
    {.name = "sim-cluster", .metric = "events_per_s", .sim_fn = wl_sim_cluster},
    {.name = "sim-cluster-speed", .metric = "sim_s_per_s", .sim_fn = wl_sim_cluster_speed},
    /* Cluster membership (issue 15): times in ms, virtual on akt-sim. */
    {.name = "membership-detect", .metric = "ms", .sim_fn = wl_membership_detect,
     .lower_is_better = 1, .once = 1, .goal = {GOAL_AT_MOST, ms_5000, NULL, 0, "5 s"}},
    {.name = "membership-detect-p99", .metric = "ms", .sim_fn = wl_membership_detect_p99,
     .lower_is_better = 1, .once = 1, .goal = {GOAL_AT_MOST, ms_8000, NULL, 0, "8 s"}},
    {.name = "membership-converge-1000", .metric = "ms", .sim_fn = wl_membership_converge,
     .lower_is_better = 1, .once = 1,
     .goal = {GOAL_AT_MOST, twice_memberlist_1000, NULL, 0, "2x memberlist's spread model"}},
    {.name = "membership-bytes-10", .metric = "bytes_per_member_s",
     .sim_fn = wl_membership_bytes_10, .lower_is_better = 1, .once = 1},
    {.name = "membership-bytes-100", .metric = "bytes_per_member_s",
     .sim_fn = wl_membership_bytes_100, .lower_is_better = 1, .once = 1,
     .goal = {GOAL_NEAR, NULL, "membership-bytes-10", 0.2, "constant in N"}},
    {.name = "membership-sim-speed", .metric = "sim_s_per_s", .sim_fn = wl_membership_sim_speed,
     .goal = {GOAL_AT_LEAST, at_least_100, NULL, 0, "100"}},
    {.name = "membership-detect-real", .metric = "ms", .own_fn = wl_membership_detect_real,
     .lower_is_better = 1, .goal = {GOAL_BEAT_PEER, NULL, "memberlist", 0, "memberlist"}},
    /* Cluster actors (issue 16): 3 nodes, on libuv over loopback (akt) or
     * the simulator (akt-sim, virtual ms). */
    {.name = "cluster-lookup", .metric = "ns_per_op", .own_fn = wl_cluster_lookup,
     .lower_is_better = 1},
    {.name = "cluster-lookup-cold", .metric = "ns_per_op", .own_fn = wl_cluster_lookup_cold,
     .lower_is_better = 1},
    {.name = "grain-tell", .metric = "msgs_per_s", .own_fn = wl_grain_tell},
    {.name = "relocate-10k", .metric = "ms", .own_fn = wl_relocate, .lower_is_better = 1,
     .goal = {GOAL_AT_MOST, ms_2000, NULL, 0, "2 s"}},
    {.name = "relocate-10k-sim", .metric = "ms", .sim_fn = wl_relocate_sim, .lower_is_better = 1,
     .once = 1},
    {.name = "cluster-sim-speed", .metric = "sim_s_per_s", .sim_fn = wl_cluster_sim_speed,
     .goal = {GOAL_AT_LEAST, at_least_500, NULL, 0, "500"}},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

/* A result row (ours or a peer's). */
typedef struct row {
  char workload[32], runtime[32], metric[32];
  double value;
} row;

static row rows[1024];
static size_t nrows;

static void add_row(const char *wl, const char *rt, const char *metric, double v) {
  if (nrows >= sizeof rows / sizeof rows[0]) {
    static int warned;
    if (!warned++)
      fprintf(stderr, "akt-bench: more than %zu result rows; the rest are left out\n",
              sizeof rows / sizeof rows[0]);
    return;
  }
  row *r = &rows[nrows++];
  snprintf(r->workload, sizeof r->workload, "%s", wl);
  snprintf(r->runtime, sizeof r->runtime, "%s", rt);
  snprintf(r->metric, sizeof r->metric, "%s", metric);
  r->value = v;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Progress goes to stderr. On a terminal it is one line, rewritten in
 * place with '\r' for each run; anywhere else (a log file, a pipe, CI) the
 * '\r's would pile up into one unreadable line, so each workload gets one
 * line of its own there instead. */
static void progress(const workload *w, const char *runtime, int run, int reps) {
  if (isatty(fileno(stderr)))
    fprintf(stderr, "akt-bench: %-12s %-7s %s\r", w->name, runtime,
            run < 0 ? "warm-up   " : "measuring ");
  else if (run < 0)
    fprintf(stderr, "akt-bench: %s on %s: a warm-up and %d run(s)\n", w->name, runtime, reps);
  else if (w->once)
    fprintf(stderr, "akt-bench: %s on %s: one run (deterministic)\n", w->name, runtime);
}

/* Runs one workload warm-up + reps times and returns the median: on `sys`,
 * between the nodes of `rm`, or on the simulator. */
static int measure(const workload *w, const char *runtime, akt_system *sys, bench_remote *rm,
                   const bench_params *p, double *median) {
  double v[64];
  int reps = w->once ? 1 : p->reps > 64 ? 64 : p->reps;
  for (int i = w->once ? 0 : -1; i < reps; i++) {
    progress(w, runtime, i, reps);
    double x = 0;
    int rc = w->fn           ? w->fn(sys, p, &x)
             : w->remote_fn ? w->remote_fn(rm, p, &x)
             : w->own_fn    ? w->own_fn(p, &x)
                            : w->sim_fn(p, &x);
    if (rc) {
      fprintf(stderr, "%sakt-bench: %s on %s failed: %s\n", isatty(fileno(stderr)) ? "\n" : "",
              w->name, runtime, akt_strerror(rc));
      return rc;
    }
    if (i >= 0) v[i] = x;
  }
  qsort(v, (size_t)reps, sizeof v[0], cmp_double);
  *median = v[reps / 2];
  if (isatty(fileno(stderr))) fprintf(stderr, "%60s\r", ""); /* clears the progress line */
  return 0;
}

static int selected(const char *name, const char *only) {
  if (!only) return 1;
  /* A comma-separated list. */
  size_t n = strlen(name);
  for (const char *s = only; *s;) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == n && strncmp(s, name, n) == 0) return 1;
    s += len + (end ? 1 : 0);
  }
  return 0;
}

static int run_runtime(const char *runtime, unsigned workers, const bench_params *p,
                       const char *only) {
  akt_backend *b;
  akt_uv_options o = {.workers = workers};
  int rc = akt_uv_backend_new(&o, &b);
  if (rc) return rc;
  akt_system *sys;
  akt_system_options so = {.log_level = AKT_LOG_ERROR};
  rc = akt_system_new("bench", b, &so, &sys);
  for (size_t i = 0; rc == 0 && i < NWORKLOADS; i++) {
    const workload *w = &workloads[i];
    if (!w->fn || !selected(w->name, only)) continue;
    double v;
    rc = measure(w, runtime, sys, NULL, p, &v);
    if (!rc) add_row(w->name, runtime, w->metric, v);
  }
  akt_system_free(sys);
  /* The workloads that make their own backends and processes: runtime akt. */
  for (size_t i = 0; rc == 0 && workers == 0 && i < NWORKLOADS; i++) {
    const workload *w = &workloads[i];
    if (!w->own_fn || !selected(w->name, only)) continue;
    double v;
    rc = measure(w, runtime, NULL, NULL, p, &v);
    if (!rc) add_row(w->name, runtime, w->metric, v);
  }
  /* The remote workloads: node A on this backend, node B a second process
   * with as many workers, started only when one of them is selected (a
   * pair with TLS for the -tls ones). */
  for (int tls = 0; tls <= 1 && rc == 0; tls++) {
    int remote = 0;
    for (size_t i = 0; i < NWORKLOADS; i++)
      remote |= workloads[i].remote_fn && workloads[i].tls == tls && selected(workloads[i].name, only);
    bench_remote *rm = NULL;
    if (remote) {
      rc = bench_remote_open(b, workers, tls, &rm);
      if (rc) fprintf(stderr, "akt-bench: cannot set up the remote nodes: %s\n", akt_strerror(rc));
    }
    for (size_t i = 0; rc == 0 && rm && i < NWORKLOADS; i++) {
      const workload *w = &workloads[i];
      if (!w->remote_fn || w->tls != tls || !selected(w->name, only)) continue;
      double v;
      rc = measure(w, runtime, NULL, rm, p, &v);
      if (!rc) add_row(w->name, runtime, w->metric, v);
    }
    bench_remote_close(rm);
  }
  akt_uv_backend_free(b);
  return rc;
}

/* Reads rows (workload, runtime, metric, value; tabs) from a file. */
static int read_rows(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "akt-bench: cannot read %s: %s\n", path, strerror(errno));
    return 1;
  }
  char line[256];
  while (fgets(line, sizeof line, f)) {
    char wl[32], rt[32], metric[32];
    double v;
    if (sscanf(line, "%31[^\t]\t%31[^\t]\t%31[^\t]\t%lf", wl, rt, metric, &v) == 4)
      add_row(wl, rt, metric, v);
  }
  fclose(f);
  return 0;
}

/* The value of workload `wl` on runtime `rt`: the median of its rows (the
 * upper middle one of an even number, as measure() takes). Returns 0 when
 * there is none. */
static int value_of(const char *wl, const char *rt, double *out) {
  double v[sizeof rows / sizeof rows[0]];
  size_t n = 0;
  for (size_t i = 0; i < nrows; i++)
    if (!strcmp(rows[i].workload, wl) && !strcmp(rows[i].runtime, rt)) v[n++] = rows[i].value;
  if (n == 0) return 0;
  qsort(v, n, sizeof v[0], cmp_double);
  *out = v[n / 2];
  return 1;
}

/* Is row i the first of its workload and runtime? */
static int first_of_its_kind(size_t i) {
  for (size_t j = 0; j < i; j++)
    if (!strcmp(rows[j].workload, rows[i].workload) && !strcmp(rows[j].runtime, rows[i].runtime))
      return 0;
  return 1;
}

/* Large values (the rates) print without decimals. */
static void print_value(double v) {
  if (fabs(v) >= 100000)
    printf(" %12.0f", v);
  else
    printf(" %12.1f", v);
}

/* Does any row come from runtime rt? */
static int has_runtime(const char *rt) {
  for (size_t i = 0; i < nrows; i++)
    if (!strcmp(rows[i].runtime, rt)) return 1;
  return 0;
}

/* The table: a column per runtime (caf and erlang with peers' rows, and
 * memberlist when its rows were merged: it has only membership-detect-real,
 * so it gets no ratio column; the goals section compares it). */
static void print_table(int with_peers) {
  const char *runtimes[6] = {"akt", "akt-1w", "akt-sim"};
  size_t nrt = 3;
  if (with_peers) runtimes[nrt++] = "caf", runtimes[nrt++] = "erlang";
  if (has_runtime("memberlist")) runtimes[nrt++] = "memberlist";
  printf("%-24s %-18s", "workload", "metric");
  for (size_t r = 0; r < nrt; r++) printf(" %12s", runtimes[r]);
  if (with_peers) printf(" %10s %10s", "akt/caf", "akt/erlang");
  printf("\n");
  for (size_t i = 0; i < NWORKLOADS; i++) {
    const workload *w = &workloads[i];
    double v[6];
    int has[6], any = 0;
    for (size_t r = 0; r < nrt; r++) any |= has[r] = value_of(w->name, runtimes[r], &v[r]);
    if (!any) continue;
    printf("%-24s %-18s", w->name, w->metric);
    for (size_t r = 0; r < nrt; r++) {
      if (has[r])
        print_value(v[r]);
      else
        printf(" %12s", "n/a");
    }
    if (with_peers) {
      for (int k = 3; k < 5; k++) {
        if (has[0] && has[k] && v[k] > 0)
          printf(" %10.2f", v[0] / v[k]);
        else
          printf(" %10s", "n/a");
      }
    }
    printf("\n");
  }
  if (with_peers)
    printf("ratios are akt/peer: below 1 is better for akt in ns_* and bytes_* rows, above 1 in "
           "*_per_s rows\n");
}

/* One line per row that has a goal: its value, the goal, met or not. */
static void print_goals(void) {
  static const char *const runtimes[] = {"akt", "akt-1w", "akt-sim"};
  int header = 0;
  for (size_t i = 0; i < NWORKLOADS; i++) {
    const workload *w = &workloads[i];
    const goal *g = &w->goal;
    if (g->kind == GOAL_NONE) continue;
    for (size_t r = 0; r < sizeof runtimes / sizeof runtimes[0]; r++) {
      double v, ref, limit = 0;
      if (!value_of(w->name, runtimes[r], &v)) continue;
      char text[160];
      int met;
      switch (g->kind) {
        case GOAL_AT_MOST:
        case GOAL_AT_LEAST:
          limit = g->limit();
          met = g->kind == GOAL_AT_MOST ? v <= limit : v >= limit;
          snprintf(text, sizeof text, "%s %.1f (%s)", g->kind == GOAL_AT_MOST ? "<=" : ">=", limit,
                   g->why);
          break;
        case GOAL_NEAR:
          if (!value_of(g->ref, runtimes[r], &ref) || ref <= 0) continue;
          met = fabs(v / ref - 1) <= g->within;
          snprintf(text, sizeof text, "within %.0f%% of %s, %.1f (%s): %+.1f%%", g->within * 100,
                   g->ref, ref, g->why, (v / ref - 1) * 100);
          break;
        case GOAL_BEAT_PEER:
          if (!value_of(w->name, g->ref, &ref)) {
            snprintf(text, sizeof text, "<= %s (no %s row: run with --peers)", g->ref, g->ref);
            met = -1;
          } else {
            met = v <= ref;
            snprintf(text, sizeof text, "<= %s, %.1f", g->ref, ref);
          }
          break;
        default: continue;
      }
      if (!header++) printf("\ngoals (issue targets)\n");
      printf("%-24s %-8s %12.1f %-18s %s: %s\n", w->name, runtimes[r], v, w->metric, text,
             met < 0 ? "not judged" : met ? "met" : "NOT met");
    }
  }
}

static void usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [--tsv] [--quick] [--reps N] [--only W1,W2] [--runtime R] [--peers FILE]...\n"
          "       [--no-run] [--no-once]\n"
          "Runs akt's benchmarks and prints the median of each.\n"
          "  --tsv          one line per result: workload, runtime, metric, value (tabs)\n"
          "  --quick        a tenth of the operations, one repetition (a smoke run)\n"
          "  --reps N       repetitions after the warm-up (default 5)\n"
          "  --only LIST    only these workloads (tell,pingpong,request,ask,fanin,spawn,\n"
          "                 memory,threadring,remote-tell,remote-ask,remote-tell-tls,\n"
          "                 remote-ask-tls,sim,testkit-wait,sim-cluster,sim-cluster-speed,\n"
          "                 membership-detect,membership-detect-p99,membership-converge-1000,\n"
          "                 membership-bytes-10,membership-bytes-100,membership-sim-speed,\n"
          "                 membership-detect-real,cluster-lookup,cluster-lookup-cold,\n"
          "                 grain-tell,relocate-10k,relocate-10k-sim,cluster-sim-speed)\n"
          "  --runtime R    only runtime R: akt, akt-1w or akt-sim\n"
          "  --peers FILE   merge results from FILE (TSV from bench/peers/run.sh, or this\n"
          "                 program's --tsv output); ratios to the peers. May be repeated;\n"
          "                 several rows of one workload and runtime give their median\n"
          "  --no-run       run nothing: only report the rows merged with --peers\n"
          "  --no-once      skip the deterministic simulator rows (one run gives their\n"
          "                 value; ./dev bench's later rounds skip them)\n"
          "remote-tell and remote-ask run between this process and a second akt-bench\n"
          "that it starts as node B (loopback TCP) and ends when they are done; the\n"
          "-tls ones with TLS (test certificates made for the run) and the cookie.\n"
          "The membership rows (docs/performance.md) print their goals after the table;\n"
          "the deterministic simulator ones run once, whatever --reps says.\n"
          "membership-detect-real SIGKILLs a member in a child akt-bench; its memberlist\n"
          "row comes from bench/peers/run.sh (--peers).\n"
          "The cluster-actor rows form a 3-node cluster in this process (loopback, or the\n"
          "simulator for relocate-10k-sim) for each run; --quick moves 1000 actors.\n",
          prog);
}

int main(int argc, char **argv) {
  /* Node B of the remote workloads: this program, re-executed. */
  if (argc >= 2 && !strcmp(argv[1], "--serve")) return bench_serve(argc, argv);
  /* The victim of membership-detect-real: this program, re-executed. */
  if (argc >= 2 && !strcmp(argv[1], "--member")) return bench_member(argc, argv);
  bench_params p = {.tell = 2000000, .pingpong = 500000, .request = 200000, .ask = 100000,
                    .fanin = 2000000, .fanin_producers = 8, .spawn = 100000,
                    .memory_actors = 100000, .threadring_hops = 1000000,
                    .threadring_size = 503, .sim_seconds = 20, .remote_tell = 1000000,
                    .remote_ask = 20000, .membership_seeds = 200, .ca_names = 1000,
                    .ca_lookups = 20000, .grains = 10000, .grain_tell = 500000,
                    .relocate = 10000, .reps = 5};
  int tsv = 0, quick = 0, run = 1, no_once = 0;
  const char *only = NULL, *runtime = NULL, *peers[16];
  size_t npeers = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tsv")) tsv = 1;
    else if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) p.reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--runtime") && i + 1 < argc) runtime = argv[++i];
    else if (!strcmp(argv[i], "--peers") && i + 1 < argc && npeers < 16) peers[npeers++] = argv[++i];
    else if (!strcmp(argv[i], "--no-run")) run = 0;
    else if (!strcmp(argv[i], "--no-once")) no_once = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout, argv[0]);
      return 0;
    } else {
      usage(stderr, argv[0]);
      return 2;
    }
  }
  if (p.reps < 1) p.reps = 1;
  if (quick) {
    p.tell /= 10, p.pingpong /= 10, p.request /= 10, p.ask /= 10, p.fanin /= 10;
    p.spawn /= 10, p.memory_actors /= 10, p.threadring_hops /= 10, p.sim_seconds = 2;
    p.remote_tell /= 10, p.remote_ask /= 10, p.membership_seeds /= 10;
    p.ca_names /= 10, p.ca_lookups /= 10, p.grains /= 10, p.grain_tell /= 10, p.relocate /= 10;
    p.reps = 1;
  }
  int rc = 0;
  if (run) {
    if (!runtime || !strcmp(runtime, "akt")) rc = run_runtime("akt", 0, &p, only);
    if (!rc && (!runtime || !strcmp(runtime, "akt-1w"))) rc = run_runtime("akt-1w", 1, &p, only);
    for (size_t i = 0; !rc && i < NWORKLOADS; i++) {
      const workload *w = &workloads[i];
      if (!w->sim_fn || !selected(w->name, only) || (runtime && strcmp(runtime, "akt-sim")) ||
          (w->once && no_once))
        continue;
      double v;
      rc = measure(w, "akt-sim", NULL, NULL, &p, &v);
      if (!rc) add_row(w->name, "akt-sim", w->metric, v);
    }
  }
  if (rc) return 1;
  for (size_t i = 0; i < npeers; i++)
    if (read_rows(peers[i])) return 1;
  if (tsv) {
    for (size_t i = 0; i < nrows; i++) {
      double v;
      if (first_of_its_kind(i) && value_of(rows[i].workload, rows[i].runtime, &v))
        printf("%s\t%s\t%s\t%.1f\n", rows[i].workload, rows[i].runtime, rows[i].metric, v);
    }
  } else {
    int with_peers = 0;
    for (size_t i = 0; i < nrows; i++)
      with_peers |= !strcmp(rows[i].runtime, "caf") || !strcmp(rows[i].runtime, "erlang");
    print_table(with_peers);
    print_goals();
  }
  return 0;
}
