/* akt — akt-sim's command line: run, sweep, check-determinism, shrink, list. */
#include "sim/scenario/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akt/error.h"

static const char usage[] =
    "usage: %s COMMAND [ARGS]\n"
    "\n"
    "Runs scenarios (docs/scenarios.md): a workload on a simulated cluster under faults,\n"
    "replayable byte for byte from a seed.\n"
    "\n"
    "commands:\n"
    "  run FILE --seed N [--trace FILE]   one run: banner, faults, result, digest\n"
    "  sweep FILE --seeds N [--from S] [--jobs J]\n"
    "                                     runs seeds S..S+N-1 (S = 1), J at a time (J = cores);\n"
    "                                     re-runs a sample and compares digests\n"
    "  check-determinism FILE --seed N    runs twice and compares the traces record by record\n"
    "  shrink FILE --seed N [-o FILE]     reduces a failing run's faults to the fewest that still\n"
    "                                     fail the same check the same way; writes them as a\n"
    "                                     scenario file (default: FILE-seedN-shrunk.scn beside FILE)\n"
    "  list                               the workloads and their checks\n"
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

static const char *status_word(int status) {
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
  fprintf(f, "%s seed=%" PRIu64, status_word(r->status), seed);
  if (r->check[0]) fprintf(f, " check=%s", r->check);
  fprintf(f, " at t=%.3fs: %s\n", (double)r->at / 1e9, r->why);
  fprintf(f, "  digest=%016" PRIx64 " records=%" PRIu64 " real=%.2fs\n", r->digest, r->records,
          r->real_s);
}

/* ---- arguments -------------------------------------------------------------------- */

typedef struct args {
  const char *cmd, *file, *trace, *out;
  uint64_t seed, seeds, from;
  unsigned jobs;
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
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(s, "-h") || !strcmp(s, "--help") || !strcmp(s, "help")) {
      a->cmd = "help";
      return 0;
    }
    if (!strcmp(s, "-o")) {
      if (!v) {
        fprintf(stderr, "akt-sim: -o needs a file\n");
        return -1;
      }
      a->out = v;
      i++;
    } else if (s[0] == '-' && s[1] == '-') {
      if (!v) {
        fprintf(stderr, "akt-sim: %s needs a value\n", s);
        return -1;
      }
      i++;
      if (!strcmp(s, "--trace")) a->trace = v;
      else if (!strcmp(s, "--out")) a->out = v;
      else if (parse_u64(v, &n)) {
        fprintf(stderr, "akt-sim: %s: '%s' is not a number\n", s, v);
        return -1;
      } else if (!strcmp(s, "--seed")) a->seed = n, a->have_seed = 1;
      else if (!strcmp(s, "--seeds")) a->seeds = n, a->have_seeds = 1;
      else if (!strcmp(s, "--from")) a->from = n;
      else if (!strcmp(s, "--jobs") && n >= 1 && n <= 256) a->jobs = (unsigned)n;
      else {
        fprintf(stderr, "akt-sim: unknown option %s (or bad value)\n", s);
        return -1;
      }
    } else if (!a->cmd) {
      a->cmd = s;
    } else if (!a->file) {
      a->file = s;
    } else {
      fprintf(stderr, "akt-sim: unexpected argument '%s'\n", s);
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

static int cmd_run(akt__cli *cli, const args *a) {
  akt__plan plan;
  int rc = akt__plan_make(&cli->spec, a->seed, &plan);
  if (rc) {
    fprintf(stderr, "akt-sim: %s: making the fault plan failed: %s\n", cli->file, akt_strerror(rc));
    return AKT__RUN_ERROR;
  }
  banner(cli, a->seed, &plan);
  akt__run_opts o = {.trace_path = a->trace, .log = stdout, .progress = isatty(1)};
  akt__run_result r;
  int status = akt__job_run(&cli->spec, cli->wl, a->seed, &plan, &o, &r);
  akt__plan_free(&plan);
  akt__cli_result(cli, stdout, a->seed, &r);
  if (a->trace) printf("trace: %s\n", a->trace);
  if (status != AKT__RUN_PASS) akt__cli_replay(cli, stdout, a->seed);
  return status;
}

/* Reads a whole text file (traces are compared line by line). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  *len = n;
  return buf;
}

/* Prints the first record where two traces differ. Returns 1 if they do. */
static int first_difference(const char *a, size_t alen, const char *b, size_t blen) {
  size_t line = 1, i = 0, start = 0;
  while (i < alen && i < blen && a[i] == b[i]) {
    if (a[i] == '\n') line++, start = i + 1;
    i++;
  }
  if (i == alen && i == blen) return 0;
  const char *ea = memchr(a + start, '\n', alen - start), *eb = memchr(b + start, '\n', blen - start);
  int la = (int)((ea ? (size_t)(ea - a) : alen) - start), lb = (int)((eb ? (size_t)(eb - b) : blen) - start);
  printf("the traces differ at record %zu:\n  run 1: %.*s\n  run 2: %.*s\n", line, la,
         start < alen ? a + start : "(end of trace)", lb, start < blen ? b + start : "(end of trace)");
  return 1;
}

static int cmd_determinism(akt__cli *cli, const args *a) {
  char path[2][64];
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  akt__run_result r[2];
  for (int k = 0; k < 2; k++) {
    snprintf(path[k], sizeof path[k], "%.40s/akt-sim-XXXXXX", dir);
    int fd = mkstemp(path[k]);
    if (fd < 0) {
      fprintf(stderr, "akt-sim: cannot create a trace file in %s: %s\n", dir, strerror(errno));
      return AKT__RUN_ERROR;
    }
    close(fd);
    akt__run_opts o = {.trace_path = path[k]};
    akt__job_run(&cli->spec, cli->wl, a->seed, NULL, &o, &r[k]);
  }
  size_t la = 0, lb = 0;
  char *ta = slurp(path[0], &la), *tb = slurp(path[1], &lb);
  int differ = !ta || !tb || first_difference(ta, la, tb, lb) || r[0].digest != r[1].digest ||
               r[0].status != r[1].status;
  printf("%s seed=%" PRIu64 ": run 1 digest=%016" PRIx64 " (%" PRIu64 " records, %s), run 2 digest=%016" PRIx64
         " (%" PRIu64 " records, %s)\n",
         differ ? "NONDETERMINISTIC" : "deterministic", a->seed, r[0].digest, r[0].records,
         status_word(r[0].status), r[1].digest, r[1].records, status_word(r[1].status));
  free(ta);
  free(tb);
  unlink(path[0]);
  unlink(path[1]);
  return differ ? AKT__RUN_FAIL : AKT__RUN_PASS;
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

int akt_sim_main(int argc, char **argv, const akt_workload *const *workloads, size_t n) {
  const char *prog = getenv("AKT_SIM_PROG");
  akt__cli cli = {.prog = prog && *prog ? prog : argv[0], .user = workloads, .nuser = n};
  args a;
  if (parse_args(argc, argv, &a) != 0) return AKT__RUN_ERROR;
  if (!a.cmd || !strcmp(a.cmd, "help")) {
    fprintf(a.cmd ? stdout : stderr, usage, cli.prog);
    return a.cmd ? 0 : AKT__RUN_ERROR;
  }
  if (!strcmp(a.cmd, "list")) return cmd_list(&cli);
  int known = !strcmp(a.cmd, "run") || !strcmp(a.cmd, "sweep") ||
              !strcmp(a.cmd, "check-determinism") || !strcmp(a.cmd, "shrink");
  if (!known) {
    fprintf(stderr, "akt-sim: unknown command '%s' (run, sweep, check-determinism, shrink, list)\n",
            a.cmd);
    return AKT__RUN_ERROR;
  }
  if (!a.file) {
    fprintf(stderr, "akt-sim: %s needs a scenario file\n", a.cmd);
    return AKT__RUN_ERROR;
  }
  int sweep = !strcmp(a.cmd, "sweep");
  if (sweep ? !a.have_seeds || !a.seeds : !a.have_seed) {
    fprintf(stderr, "akt-sim: %s needs %s\n", a.cmd, sweep ? "--seeds N (N >= 1)" : "--seed N");
    return AKT__RUN_ERROR;
  }
  cli.file = a.file;
  char err[AKT__SCN_ERR_MAX];
  if (akt__scn_load(a.file, &cli.spec, err, sizeof err) != 0) {
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
    rc = akt__cli_sweep(&cli, a.from, a.seeds, a.jobs ? a.jobs : cores > 0 ? (unsigned)cores : 1);
  } else if (!strcmp(a.cmd, "check-determinism")) {
    rc = cmd_determinism(&cli, &a);
  } else {
    rc = akt__cli_shrink(&cli, a.seed, a.out);
  }
  akt__scn_free(&cli.spec);
  return rc;
}
