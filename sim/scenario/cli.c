/* akt — akt-sim's command line: run, sweep, check-determinism, shrink,
 * diff, view, list. */
#include "sim/scenario/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akt/error.h"
#include "sim/scenario/diff.h"
#include "sim/view/view.h"

static const char usage[] =
    "usage: %s COMMAND [ARGS]\n"
    "\n"
    "Runs scenarios (docs/scenarios.md): a workload on a simulated cluster under faults,\n"
    "replayable byte for byte from a seed.\n"
    "\n"
    "commands:\n"
    "  run FILE --seed N [--trace FILE] [--html FILE]\n"
    "                                     one run: banner, faults, result, digest; --html also\n"
    "                                     writes the run's sequence chart (see view)\n"
    "  sweep FILE --seeds N [--from S] [--jobs J] [--recheck F]\n"
    "                                     runs seeds S..S+N-1 (S = 1), J at a time (J = cores);\n"
    "                                     failures grouped by check; then runs a fraction F of\n"
    "                                     the seeds (default 5%%, at least one) again in fresh\n"
    "                                     processes and compares digests\n"
    "  check-determinism FILE --seed N [--context K]\n"
    "                                     runs the seed here and in a fresh process (another\n"
    "                                     address layout) and compares the traces record by record\n"
    "  shrink FILE --seed N [-o FILE]     reduces a failing run's faults to the fewest that still\n"
    "                                     fail the same check the same way; writes them as a\n"
    "                                     scenario file (default: FILE-seedN-shrunk.scn beside FILE)\n"
    "  diff A.trace B.trace [--context K] the first record where two traces differ, after the K\n"
    "                                     equal records before it (K = 5); exit 0 equal, 1 not\n"
    "  view TRACE [-o FILE.html]          a message sequence chart of a trace as one\n"
    "                                     self-contained HTML file (default: TRACE.html)\n"
    "  list                               the workloads, their parameters and checks\n"
    "\n"
    "Seeds are decimal or 0x-hex. Exit codes: 0 pass, 1 a check failed, 2 a crash, an\n"
    "assertion or an error (bad file, bad arguments), 3 a liveness check failed.\n";

const akt_workload *akt__cli_workload(const akt__cli *cli, const char *name) {
  for (size_t i = 0; i < cli->nuser; i++)
    if (cli->user[i] && !strcmp(cli->user[i]->name, name)) return cli->user[i];
  for (size_t i = 0; akt_builtin_workloads[i]; i++)
    if (!strcmp(akt_builtin_workloads[i]->name, name)) return akt_builtin_workloads[i];
  return NULL;
}

/* Where an error line "PATH:LINE:COL: ..." points, as one sort key (a line
 * without a position, "PATH: and N more errors", sorts last). */
static uint64_t error_position(const char *line, size_t pathlen) {
  char *end;
  unsigned long l = strtoul(line + pathlen + 1, &end, 10);
  if (end == line + pathlen + 1 || *end != ':') return UINT64_MAX;
  unsigned long c = strtoul(end + 1, NULL, 10);
  return (uint64_t)l << 32 | (uint32_t)c;
}

/* Merges the error lines of `more` into `err` (size bytes), in the order
 * of the positions they name, as one file's errors read. */
static void merge_errors(char *err, size_t size, const char *more, size_t pathlen) {
  char all[2 * AKT__SCN_ERR_MAX];
  const char *lines[2 * (AKT__SCN_MAX_ERRORS + AKT_SCENARIO_MAX_PARAMS) + 2];
  size_t n = 0;
  snprintf(all, sizeof all, "%s\n%s", err, more);
  for (char *p = all; *p && n < sizeof lines / sizeof lines[0];) {
    lines[n++] = p;
    char *nl = strchr(p, '\n');
    if (!nl) break;
    *nl = '\0';
    p = nl + 1;
  }
  /* Insertion sort: stable, and a file has few errors. */
  for (size_t i = 1; i < n; i++) {
    const char *x = lines[i];
    uint64_t kx = error_position(x, pathlen);
    size_t k = i;
    for (; k > 0 && error_position(lines[k - 1], pathlen) > kx; k--) lines[k] = lines[k - 1];
    lines[k] = x;
  }
  size_t len = 0;
  err[0] = '\0';
  for (size_t i = 0; i < n && len + 1 < size; i++)
    len += (size_t)snprintf(err + len, size - len, "%s%s", i ? "\n" : "", lines[i]);
}

/* "scenarios/bank.scn" → "bank". */
static void stem(const char *path, char *buf, size_t size) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strcspn(base, ".");
  snprintf(buf, size, "%.*s", (int)n, base);
}

void akt__cli_replay(const akt__cli *cli, FILE *f, uint64_t seed) {
  char s[128];
  stem(cli->file, s, sizeof s);
  fprintf(f, "replay: %s run %s --seed %" PRIu64 " --trace %s-%" PRIu64 ".trace\n", cli->prog,
          cli->file, seed, s, seed);
}

const char *akt__cli_status_word(int status) {
  switch (status) {
    case AKT__RUN_PASS: return "PASS";
    case AKT__RUN_FAIL: return "FAIL";
    case AKT__RUN_LIVENESS: return "FAIL (liveness)";
    default: return "ERROR";
  }
}

void akt__cli_result(const akt__cli *cli, FILE *f, uint64_t seed, const akt__run_result *r) {
  (void)cli;
  if (r->status == AKT__RUN_PASS) {
    fprintf(f, "PASS seed=%" PRIu64 " digest=%016" PRIx64 " records=%" PRIu64
               " sim=%.3fs real=%.2fs faults=%zu",
            seed, r->digest, r->records, (double)r->sim_ns / 1e9, r->real_s, r->applied);
    if (r->skipped) fprintf(f, " (+%zu skipped)", r->skipped);
    fprintf(f, "\n");
    return;
  }
  fprintf(f, "%s seed=%" PRIu64, akt__cli_status_word(r->status), seed);
  if (r->check[0]) fprintf(f, " check=%s", r->check);
  fprintf(f, " at t=%.3fs: %s\n", (double)r->at / 1e9, r->why);
  fprintf(f, "  digest=%016" PRIx64 " records=%" PRIu64 " real=%.2fs\n", r->digest, r->records,
          r->real_s);
}

/* ---- arguments -------------------------------------------------------------------- */

typedef struct args {
  const char *cmd, *file, *file2, *trace, *out, *html;
  uint64_t seed, seeds, from;
  unsigned jobs, context;
  double recheck;
  int have_seed, have_seeds;
} args;

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (!*s || *end || errno || *s == '-') return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->from = 1;
  a->context = AKT__DIFF_CONTEXT;
  a->recheck = AKT__RECHECK_DEFAULT;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(s, "-h") || !strcmp(s, "--help") || !strcmp(s, "help")) {
      a->cmd = "help";
      return 0;
    }
    if (s[0] != '-') {
      if (!a->cmd) a->cmd = s;
      else if (!a->file) a->file = s;
      else if (!a->file2) a->file2 = s;
      else {
        fprintf(stderr, "akt-sim: unexpected argument '%s'\n", s);
        return -1;
      }
      continue;
    }
    if (!v) {
      fprintf(stderr, "akt-sim: %s needs a value\n", s);
      return -1;
    }
    i++;
    if (!strcmp(s, "--trace")) a->trace = v;
    else if (!strcmp(s, "-o") || !strcmp(s, "--out")) a->out = v;
    else if (!strcmp(s, "--html")) a->html = v;
    else if (!strcmp(s, "--recheck")) {
      if (akt__scn_parse_fraction(v, &a->recheck)) {
        fprintf(stderr, "akt-sim: --recheck: '%s' is not a fraction (0.05 or 5%%)\n", v);
        return -1;
      }
    } else if (parse_u64(v, &n)) {
      fprintf(stderr, "akt-sim: %s: '%s' is not a number\n", s, v);
      return -1;
    } else if (!strcmp(s, "--seed")) a->seed = n, a->have_seed = 1;
    else if (!strcmp(s, "--seeds")) a->seeds = n, a->have_seeds = 1;
    else if (!strcmp(s, "--from")) a->from = n;
    else if (!strcmp(s, "--jobs") && n >= 1 && n <= AKT__SWEEP_MAX_JOBS) a->jobs = (unsigned)n;
    else if (!strcmp(s, "--context") && n <= AKT__DIFF_CONTEXT_MAX) a->context = (unsigned)n;
    else {
      fprintf(stderr, "akt-sim: unknown option %s (or bad value)\n", s);
      return -1;
    }
  }
  return 0;
}

/* ---- commands ---------------------------------------------------------------------- */

static void banner(const akt__cli *cli, uint64_t seed, const akt__plan *plan) {
  const akt__scn_spec *s = &cli->spec;
  printf("akt-sim: %s (%s), workload %s, seed %" PRIu64 " (0x%" PRIx64 ")\n",
         s->name[0] ? s->name : cli->file, cli->file, cli->wl->name, seed, seed);
  printf("  %zu nodes, %.3fs of faults then %.3fs quiet; %zu faults planned\n", s->nodes,
         (double)s->duration / 1e9, (double)s->quiet / 1e9, plan->n);
  if (plan->knobs[0]) printf("  random profile (drawn from the seed): %s\n", plan->knobs);
}

/* Writes the sequence chart of `trace` to `html`; prints what it did. */
static int write_view(const char *trace, const char *html, const char *title) {
  char err[512];
  akt__view_stats st;
  if (akt__view_write(trace, html, title, &st, err, sizeof err) != 0) {
    fprintf(stderr, "akt-sim: %s\n", err);
    return AKT__RUN_ERROR;
  }
  printf("view: %s (%" PRIu64 " records, %zu lanes, %zu messages, %zu faults)\n", html,
         st.records, st.lanes, st.arrows, st.bands);
  return 0;
}

static int cmd_run(akt__cli *cli, const args *a) {
  akt__plan plan;
  int rc = akt__plan_make(&cli->spec, a->seed, &plan);
  if (rc) {
    fprintf(stderr, "akt-sim: %s: making the fault plan failed: %s\n", cli->file, akt_strerror(rc));
    return AKT__RUN_ERROR;
  }
  /* --html without --trace: the chart needs a trace, kept beside it. */
  char trace[600];
  const char *tpath = a->trace;
  if (!tpath && a->html) {
    snprintf(trace, sizeof trace, "%s.trace", a->html);
    tpath = trace;
  }
  banner(cli, a->seed, &plan);
  akt__run_opts o = {.trace_path = tpath, .log = stdout, .progress = isatty(1)};
  akt__run_result r;
  int status = akt__job_run(&cli->spec, cli->wl, a->seed, &plan, &o, &r);
  akt__plan_free(&plan);
  akt__cli_result(cli, stdout, a->seed, &r);
  if (tpath) printf("trace: %s\n", tpath);
  if (a->html) {
    char title[700];
    snprintf(title, sizeof title, "%s --seed %" PRIu64 ": %s%s%s", cli->file, a->seed,
             akt__cli_status_word(r.status), r.check[0] ? " " : "", r.check);
    if (write_view(tpath, a->html, title) != 0 && status == AKT__RUN_PASS) status = AKT__RUN_ERROR;
  }
  if (status != AKT__RUN_PASS) akt__cli_replay(cli, stdout, a->seed);
  return status;
}

static int cmd_list(const akt__cli *cli) {
  for (int pass = 0; pass < 2; pass++) {
    const akt_workload *const *list = pass ? akt_builtin_workloads : cli->user;
    size_t n = pass ? SIZE_MAX : cli->nuser;
    for (size_t i = 0; i < n && list && list[i]; i++) {
      printf("%-16s %s\n", list[i]->name, list[i]->summary ? list[i]->summary : "");
      for (const akt_workload_param *p = list[i]->params; p && p->name; p++)
        printf("  param %-26s %s\n", p->name, p->summary ? p->summary : "");
      for (const akt_workload_check *c = list[i]->checks; c && c->name; c++)
        printf("  check %-26s %s\n", c->name, c->kind == AKT_CHECK_SAFETY ? "safety" : "liveness");
    }
  }
  return 0;
}

/* The commands on trace files (no scenario). */
static int trace_command(const args *a) {
  if (!strcmp(a->cmd, "diff")) {
    if (!a->file || !a->file2) {
      fprintf(stderr, "akt-sim: diff needs two trace files\n");
      return AKT__RUN_ERROR;
    }
    int rc = akt__trace_diff(stdout, a->file, a->file2, "A", "B", a->context);
    if (rc == 0) printf("the traces are equal\n");
    return rc < 0 ? AKT__RUN_ERROR : rc;
  }
  if (!a->file || a->file2) {
    fprintf(stderr, "akt-sim: view needs one trace file\n");
    return AKT__RUN_ERROR;
  }
  char out[600];
  if (a->out) snprintf(out, sizeof out, "%s", a->out);
  else snprintf(out, sizeof out, "%s.html", a->file);
  return write_view(a->file, out, a->file);
}

int akt_sim_main(int argc, char **argv, const akt_workload *const *workloads, size_t n) {
  if (argc > 1 && !strcmp(argv[1], "__run")) return akt__job_child_main(argc, argv, workloads, n);
  const char *prog = getenv("AKT_SIM_PROG");
  akt__cli cli = {.prog = prog && *prog ? prog : argv[0], .user = workloads, .nuser = n};
  args a;
  if (parse_args(argc, argv, &a) != 0) return AKT__RUN_ERROR;
  if (!a.cmd || !strcmp(a.cmd, "help")) {
    fprintf(a.cmd ? stdout : stderr, usage, cli.prog);
    return a.cmd ? 0 : AKT__RUN_ERROR;
  }
  if (!strcmp(a.cmd, "list")) return cmd_list(&cli);
  if (!strcmp(a.cmd, "diff") || !strcmp(a.cmd, "view")) return trace_command(&a);
  int known = !strcmp(a.cmd, "run") || !strcmp(a.cmd, "sweep") ||
              !strcmp(a.cmd, "check-determinism") || !strcmp(a.cmd, "shrink");
  if (!known) {
    fprintf(stderr,
            "akt-sim: unknown command '%s' (run, sweep, check-determinism, shrink, diff, view, "
            "list)\n",
            a.cmd);
    return AKT__RUN_ERROR;
  }
  if (!a.file || a.file2) {
    fprintf(stderr, "akt-sim: %s needs one scenario file\n", a.cmd);
    return AKT__RUN_ERROR;
  }
  int sweep = !strcmp(a.cmd, "sweep");
  if (sweep ? !a.have_seeds || !a.seeds : !a.have_seed) {
    fprintf(stderr, "akt-sim: %s needs %s\n", a.cmd, sweep ? "--seeds N (N >= 1)" : "--seed N");
    return AKT__RUN_ERROR;
  }
  cli.file = a.file;
  cli.context = a.context;
  char err[AKT__SCN_ERR_MAX];
  int loaded = akt__scn_load(a.file, &cli.spec, err, sizeof err);
  if (loaded != 0) {
    /* Every error in the file (docs/scenarios.md), the workload's too: what
     * the parser read of the workload line is still in the spec. */
    const akt_workload *wl = loaded == AKT_EINVAL && cli.spec.workload[0]
                                 ? akt__cli_workload(&cli, cli.spec.workload)
                                 : NULL;
    char more[AKT__SCN_ERR_MAX];
    if (wl && akt__run_validate(&cli.spec, wl, more, sizeof more) != 0)
      merge_errors(err, sizeof err, more, strlen(cli.spec.path));
    fprintf(stderr, "%s\n", err);
    return AKT__RUN_ERROR;
  }
  int rc = AKT__RUN_ERROR;
  cli.wl = akt__cli_workload(&cli, cli.spec.workload);
  if (!cli.wl) {
    fprintf(stderr, "%s:%u:%u: unknown workload '%s' (see '%s list')\n", a.file,
            (unsigned)cli.spec.workload_line, (unsigned)cli.spec.workload_col, cli.spec.workload,
            cli.prog);
  } else if (akt__run_validate(&cli.spec, cli.wl, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
  } else if (!strcmp(a.cmd, "run")) {
    rc = cmd_run(&cli, &a);
  } else if (sweep) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    rc = akt__cli_sweep(&cli, a.from, a.seeds, a.jobs ? a.jobs : cores > 0 ? (unsigned)cores : 1,
                        a.recheck);
  } else if (!strcmp(a.cmd, "check-determinism")) {
    rc = akt__cli_check_determinism(&cli, a.seed);
  } else {
    rc = akt__cli_shrink(&cli, a.seed, a.out);
  }
  akt__scn_free(&cli.spec);
  return rc;
}
