/* Scenario files and fault plans: parse errors name file, line and column;
 * a written scenario parses back to the same thing; plans come from the
 * seed alone; random shapes resolve into explicit faults; runs of the
 * built-in workloads pass and replay to the same digest. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../support/both.h"
#include "sim/scenario/plan.h"
#include "sim/scenario/run.h"

static void parse_ok(const char *text, akt__scn_spec *out) {
  char err[AKT__SCN_ERR_MAX] = "";
  int rc = akt__scn_parse("t.scn", text, out, err, sizeof err);
  if (rc) fprintf(stderr, "unexpected parse error: %s\n", err);
  assert_int_equal(rc, 0);
}

static void expect_error(const char *text, const char *where, const char *what) {
  akt__scn_spec s;
  char err[AKT__SCN_ERR_MAX] = "";
  assert_int_equal(akt__scn_parse("t.scn", text, &s, err, sizeof err), AKT_EINVAL);
  if (!strstr(err, where) || !strstr(err, what)) fprintf(stderr, "got: %s\n", err);
  assert_non_null(strstr(err, where));
  assert_non_null(strstr(err, what));
}

static const char base[] = "workload bank\nnodes 3\nduration 10s\n";

static void errors_name_file_line_and_column(void **state) {
  (void)state;
  expect_error("workload bank\nnodes 3\nduration ten\n", "t.scn:3:10:", "bad duration 'ten'");
  expect_error("workload bank\nnodes 3\nduration 5s\nat 1s crash node7\n", "t.scn:4:13:",
               "no node7");
  expect_error("workload bank\nnodes 3\nduration 5s\nat 1s explode node1\n", "t.scn:4:7:",
               "unknown fault 'explode'");
  expect_error("workload bank\nnodes 3\nduration 5s\nlink loss=2\n", "t.scn:4:11:",
               "bad probability");
  expect_error("workload bank\nnodes 3\nduration 5s\nrandom kinds=crash,flood\n", "t.scn:4:20:",
               "unknown fault kind 'flood'");
  expect_error("workload bank\nat 1s crash node0\n", "t.scn:2:1:", "'nodes' must come before");
  expect_error("nodes 3\nduration 5s\n", "t.scn: ", "no 'workload' line");
  expect_error("workload bank\nnodes 2\nduration 5s\nat 1s partition isolate node0 node1\n",
               "t.scn:4:", "partitions nothing");
  expect_error("workload bank\n  frobnicate 3\n", "t.scn:2:3:", "unknown statement");
  /* A fault at or after the duration would never apply: faults stop when
   * the quiet period begins (the duration may come after the faults). */
  expect_error("workload bank\nnodes 3\nat 5s crash node1\nduration 5s\n", "t.scn:3:4:",
               "a fault at 5.000s is not before 'duration' (5.000s, line 4)");
  expect_error("workload bank\nnodes 3\nduration 5s\nat 7s heal\n", "t.scn:4:4:",
               "not before 'duration'");
  expect_error("workload bank\nnodes 3\nduration 5s\nquiet 2s\nduration 6s\n", "t.scn:5:1:",
               "'duration' is given twice (first on line 3)");
  expect_error("workload bank\nnodes 3\nnodes 4\nduration 5s\n", "t.scn:3:1:",
               "'nodes' is given twice");
  expect_error("workload bank\nnodes 3\nduration 5s\nat 1s clog node0 node0 1s\n", "t.scn:4:18:",
               "a link joins two different nodes");
  expect_error("workload bank\nnodes 3\nduration 5s\nat 1s link node2 node2 loss=1%\n",
               "t.scn:4:18:", "a link joins two different nodes");
  expect_error("workload bank\nnodes 3\nduration 5s\nat 1s cut node1 node1\n", "t.scn:4:17:",
               "a link joins two different nodes");
  expect_error("workload bank a=1 a=2\nnodes 3\nduration 5s\n", "t.scn:1:19:",
               "parameter 'a' is given twice");
  expect_error("random protect=node1,node4\nworkload bank\nnodes 3\nduration 5s\n", "t.scn:1:16:",
               "protect names a node beyond 'nodes 3'");
}

/* A file's errors are all reported, each with its place, not only the
 * first; past AKT__SCN_MAX_ERRORS they are counted. */
static void every_error_in_a_file_is_reported(void **state) {
  (void)state;
  akt__scn_spec s;
  char err[AKT__SCN_ERR_MAX] = "";
  const char *text = "workload bank\nnodes 3\nduration ten\nat 1s crash node7\n"
                     "at 2s clog node1 node1 1s\nfrobnicate\n";
  assert_int_equal(akt__scn_parse("t.scn", text, &s, err, sizeof err), AKT_EINVAL);
  const char *want[] = {"t.scn:3:10: bad duration 'ten'", "t.scn:4:13: no node7",
                        "t.scn:5:18: a link joins", "t.scn:6:1: unknown statement",
                        "t.scn: no 'duration' line"};
  const char *at = err;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const char *hit = strstr(at, want[i]);
    if (!hit) fprintf(stderr, "missing '%s' in:\n%s\n", want[i], err);
    assert_non_null(hit); /* in file order, one per line */
    at = hit;
  }
  char many[4096] = "workload bank\nnodes 2\nduration 1s\n";
  for (int i = 0; i < AKT__SCN_MAX_ERRORS + 5; i++) strcat(many, "bogus\n");
  assert_int_equal(akt__scn_parse("t.scn", many, &s, err, sizeof err), AKT_EINVAL);
  assert_non_null(strstr(err, "t.scn: and 5 more errors"));
}

/* Parameters and checks a workload does not have are errors with their
 * place, every one of them. */
static void unknown_parameters_and_checks_are_reported_where_they_are(void **state) {
  (void)state;
  const akt_workload *wl = NULL;
  for (size_t k = 0; akt_builtin_workloads[k]; k++)
    if (!strcmp(akt_builtin_workloads[k]->name, "bank")) wl = akt_builtin_workloads[k];
  assert_non_null(wl);
  akt__scn_spec s;
  parse_ok("workload bank accounts=4 transfer=9 pace=1ms windw=2\nnodes 3\nduration 5s\n"
           "check total-conserved\ncheck all-setled\n",
           &s);
  char err[AKT__SCN_ERR_MAX];
  assert_int_equal(akt__run_validate(&s, wl, err, sizeof err), AKT_ENOENT);
  assert_non_null(strstr(err, "t.scn:5:7: workload bank has no check 'all-setled' (it has:"));
  assert_non_null(strstr(err, "t.scn:1:26: workload bank has no parameter 'transfer' (it has: "
                              "accounts initial transfers window pace timeout)"));
  assert_non_null(strstr(err, "t.scn:1:46: workload bank has no parameter 'windw'"));
  akt__scn_free(&s);
  parse_ok("workload bank accounts=4 transfers=9\nnodes 3\nduration 5s\ncheck all-settled\n", &s);
  assert_int_equal(akt__run_validate(&s, wl, err, sizeof err), 0);
  akt__scn_free(&s);
}

static void parses_every_statement(void **state) {
  (void)state;
  akt__scn_spec s;
  parse_ok("# a comment\nscenario demo\nworkload bank accounts=12 pace=20ms\nnodes 4\n"
           "duration 1.5s\nquiet 2s\ncookie c1\n"
           "link latency=exp:100us:1ms:20ms loss=1% dup=0.5% reorder=3ms capacity=64k\n"
           "at 900ms heal\nat 100ms crash node1   # trailing comment\nat 300ms restart node1\n"
           "at 200ms cut node0 node2 oneway\nat 250ms clog node3 node0 150ms\n"
           "at 400ms partition isolate node1 node2\nat 450ms skew node2 -20ms\n"
           "at 460ms drift node2 150ppm\nat 500ms swizzle 400ms\nat 510ms hold node0 node1\n"
           "at 520ms release node0 node1\nat 530ms link node0 node1 latency=uniform:1ms..2ms\n"
           "random kinds=crash,clog rate=0.5 protect=node0\ncheck total-conserved\n"
           "check all-settled within 3s\n",
           &s);
  assert_string_equal(s.name, "demo");
  assert_string_equal(s.workload, "bank");
  assert_int_equal(s.nparams, 2);
  assert_int_equal(s.param_values[0], 12);
  assert_int_equal(s.param_values[1], AKT_MILLIS(20));
  assert_int_equal(s.nodes, 4);
  assert_int_equal(s.duration, AKT_MILLIS(1500));
  assert_int_equal(s.link.kind, AKT_SIM_LATENCY_EXPONENTIAL);
  assert_int_equal(s.link.loss_ppm, 10000);
  assert_int_equal(s.link.capacity, 65536);
  assert_int_equal(s.nfaults, 12);
  /* Sorted by time, file order kept among equals. */
  assert_int_equal(s.faults[0].kind, AKT__FAULT_CRASH);
  assert_int_equal(s.faults[0].at, AKT_MILLIS(100));
  assert_int_equal(s.faults[11].kind, AKT__FAULT_HEAL);
  assert_int_equal(s.faults[1].oneway, 1);
  assert_int_equal(s.faults[4].mask.w[0], 6);
  assert_int_equal(s.random.enabled, 1);
  assert_int_equal(s.random.protect.w[0], 1);
  assert_int_equal(s.nchecks, 2);
  assert_int_equal(s.checks[1].within, AKT_SECONDS(3));
  akt__scn_free(&s);
}

static void written_scenarios_parse_back_the_same(void **state) {
  (void)state;
  akt__scn_spec s, back;
  parse_ok("scenario rt\nworkload pingpong interval=20ms\nnodes 5\nduration 3s\nquiet 1s\n"
           "link latency=uniform:1ms..5ms loss=5%\nat 1s partition ring\nat 1.5s heal\n"
           "at 2s partition isolate node0 node3\nat 2s clog node1 250ms\n"
           "at 2.2s link all loss=1% reorder=2ms\nat 2.5s skew node4 -1500us\ncheck pongs-resume\n",
           &s);
  char path[] = "/tmp/akt-scn-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(akt__scn_write(&s, path, "# header\n"), 0);
  char err[AKT__SCN_ERR_MAX];
  assert_int_equal(akt__scn_load(path, &back, err, sizeof err), 0);
  unlink(path);
  assert_int_equal(back.nfaults, s.nfaults);
  for (size_t i = 0; i < s.nfaults; i++) {
    char a[512], b[512];
    akt__scn_fault_text(&s.faults[i], a, sizeof a);
    akt__scn_fault_text(&back.faults[i], b, sizeof b);
    assert_string_equal(a, b);
  }
  assert_memory_equal(&back.link, &s.link, sizeof s.link);
  assert_int_equal(back.quiet, s.quiet);
  assert_string_equal(back.param_names[0], "interval");
  akt__scn_free(&s);
  akt__scn_free(&back);
}

static void plans_come_from_the_seed(void **state) {
  (void)state;
  akt__scn_spec s;
  char text[256];
  snprintf(text, sizeof text, "%srandom protect=node0\n", base);
  parse_ok(text, &s);
  akt__plan a, b, c;
  assert_int_equal(akt__plan_make(&s, 7, &a), 0);
  assert_int_equal(akt__plan_make(&s, 7, &b), 0);
  assert_int_equal(akt__plan_make(&s, 8, &c), 0);
  assert_int_equal(a.n, b.n);
  assert_memory_equal(a.faults, b.faults, a.n * sizeof *a.faults);
  assert_string_equal(a.knobs, b.knobs);
  assert_true(strstr(a.knobs, "kinds=") && strstr(a.knobs, "rate="));
  assert_true(a.n != c.n || strcmp(a.knobs, c.knobs) ||
              memcmp(a.faults, c.faults, a.n * sizeof *a.faults));
  /* The protected node never crashes or pauses; times are sorted and
   * inside the run. */
  for (size_t i = 0; i < a.n; i++) {
    const akt__fault *f = &a.faults[i];
    if (f->kind == AKT__FAULT_CRASH || f->kind == AKT__FAULT_PAUSE) assert_int_not_equal(f->node, 0);
    assert_true(f->at < s.duration);
    if (i) assert_true(a.faults[i - 1].at <= f->at);
  }
  akt__plan_free(&a);
  akt__plan_free(&b);
  akt__plan_free(&c);
  akt__scn_free(&s);
}

/* Several nodes may be protected: none of them is ever crashed or paused. */
static void protected_nodes_never_crash_or_pause(void **state) {
  (void)state;
  akt__scn_spec s;
  parse_ok("workload bank\nnodes 5\nduration 60s\nrandom kinds=crash,pause rate=2 "
           "protect=node0,node3 protect=node4\n",
           &s);
  assert_int_equal(s.random.protect.w[0], 0x19);
  size_t hit[5] = {0};
  for (uint64_t seed = 1; seed <= 20; seed++) {
    akt__plan p;
    assert_int_equal(akt__plan_make(&s, seed, &p), 0);
    for (size_t i = 0; i < p.n; i++)
      if (p.faults[i].kind == AKT__FAULT_CRASH || p.faults[i].kind == AKT__FAULT_PAUSE)
        hit[p.faults[i].node]++;
    akt__plan_free(&p);
  }
  assert_int_equal(hit[0] + hit[3] + hit[4], 0);
  assert_true(hit[1] > 0 && hit[2] > 0);
  akt__scn_free(&s);
}

/* Shrink units: a fault and the fault that ends it stand or fall together. */
static void a_fault_and_its_end_are_one_unit(void **state) {
  (void)state;
  akt__scn_spec s;
  parse_ok("workload bank\nnodes 4\nduration 60s\n"
           "at 1s crash node1\n"          /* 0: unit 0 */
           "at 2s pause node2\n"          /* 1: unit 1 */
           "at 3s cut node0 node3\n"      /* 2: unit 2, with the heal at 6s */
           "at 4s restart node1\n"        /* 3: unit 0 */
           "at 4s partition ring\n"       /* 4: unit 2 (the same heal) */
           "at 5s clog node2 1s\n"        /* 5: unit 3 */
           "at 6s heal\n"                 /* 6: unit 2 */
           "at 7s hold node0 node1\n"     /* 7: unit 4 */
           "at 8s hold node1 node0\n"     /* 8: unit 5 */
           "at 9s release node1 node0\n"  /* 9: unit 5 */
           "at 10s resume node2\n"        /* 10: unit 1 */
           "at 11s crash node1\n",        /* 11: unit 6 (no restart) */
           &s);
  size_t unit[12];
  assert_int_equal(akt__plan_units(s.faults, s.nfaults, unit), 7);
  const size_t want[12] = {0, 1, 2, 0, 2, 3, 2, 4, 5, 5, 1, 6};
  assert_memory_equal(unit, want, sizeof want);
  akt__scn_free(&s);
}

/* Failures are the same when the check and the words of the cause are:
 * numbers do not count. */
static void cause_classes_ignore_numbers(void **state) {
  (void)state;
  akt__run_result a = {.status = AKT__RUN_LIVENESS, .check = "terminated-delivered"},
                  b = a, c = a, d = a;
  snprintf(a.why, sizeof a.why, "node2/t1 generation 3 died at t=5.830s while watched (7 in all)");
  snprintf(b.why, sizeof b.why, "node1/t0 generation 12 died at t=18.1s while watched (0x1f in all)");
  snprintf(c.why, sizeof c.why, "node1/t0 generation 12 was never watched");
  snprintf(d.check, sizeof d.check, "no-spurious-terminated");
  snprintf(d.why, sizeof d.why, "%s", a.why);
  char ca[600], cb[600], cc[600], cd[600];
  akt__run_cause_class(&a, ca, sizeof ca);
  akt__run_cause_class(&b, cb, sizeof cb);
  akt__run_cause_class(&c, cc, sizeof cc);
  akt__run_cause_class(&d, cd, sizeof cd);
  assert_string_equal(ca, cb);
  assert_string_equal(ca, "3 terminated-delivered: node#/t# generation # died at t=#s while watched (# in all)");
  assert_string_not_equal(ca, cc);
  assert_string_not_equal(ca, cd);
}

static void random_shapes_resolve_into_explicit_faults(void **state) {
  (void)state;
  akt__scn_spec s;
  parse_ok("workload bank\nnodes 6\nduration 10s\nat 1s swizzle 1s\nat 2s partition halves\n", &s);
  akt__plan p;
  assert_int_equal(akt__plan_make(&s, 3, &p), 0);
  size_t clogs = 0, parts = 0;
  uint64_t last_start = 0;
  for (size_t i = 0; i < p.n; i++) {
    const akt__fault *f = &p.faults[i];
    assert_int_not_equal(f->kind, AKT__FAULT_SWIZZLE);
    if (f->kind == AKT__FAULT_CLOG) {
      clogs++;
      assert_true(f->at >= last_start);
      last_start = f->at;
    }
    if (f->kind == AKT__FAULT_PARTITION) {
      parts++;
      assert_int_equal(f->shape, AKT__SHAPE_ISOLATE);
      assert_int_equal(akt__set_count(&f->mask), 3);
    }
  }
  assert_true(clogs >= 2);
  assert_int_equal(parts, 1);
  akt__plan_free(&p);
  akt__scn_free(&s);
}

/* A short run of each built-in workload passes, twice to the same digest. */
static void builtin_workloads_pass_and_replay(void **state) {
  (void)state;
  for (size_t k = 0; akt_builtin_workloads[k]; k++) {
    const akt_workload *wl = akt_builtin_workloads[k];
    if (!strcmp(wl->name, "buggy-counter")) continue;
    char text[512];
    snprintf(text, sizeof text,
             "workload %s transfers=40\nnodes 3\nduration 4s\nquiet 8s\n"
             "at 1s crash node2\nat 2s restart node2\nat 2500ms clog node1 300ms\n",
             wl->name);
    akt__scn_spec s;
    parse_ok(text, &s);
    akt__plan p;
    assert_int_equal(akt__plan_make(&s, 11, &p), 0);
    akt__run_result r1, r2;
    akt__run(&s, wl, 11, &p, NULL, &r1);
    if (r1.status) fprintf(stderr, "%s: %s %s\n", wl->name, r1.check, r1.why);
    assert_int_equal(r1.status, AKT__RUN_PASS);
    assert_int_equal(r1.applied, 3);
    akt__run(&s, wl, 11, &p, NULL, &r2);
    assert_int_equal(r2.digest, r1.digest);
    assert_int_equal(r2.records, r1.records);
    akt__plan_free(&p);
    akt__scn_free(&s);
  }
}

/* The built-in workload called `name` (the test fails without one). */
static const akt_workload *builtin(const char *name) {
  for (size_t k = 0; akt_builtin_workloads[k]; k++)
    if (!strcmp(akt_builtin_workloads[k]->name, name)) return akt_builtin_workloads[k];
  fail_msg("no built-in workload %s", name);
  return NULL;
}

/* The deliberately buggy counter fails its check under a long clog, and
 * passes without one. */
static void buggy_counter_needs_its_fault(void **state) {
  (void)state;
  const akt_workload *wl = builtin("buggy-counter");
  akt__scn_spec s;
  parse_ok("workload buggy-counter incs=40\nnodes 2\nduration 5s\nquiet 5s\n", &s);
  akt__plan p;
  assert_int_equal(akt__plan_make(&s, 1, &p), 0);
  akt__run_result r;
  assert_int_equal(akt__run(&s, wl, 1, &p, NULL, &r), AKT__RUN_PASS);
  akt__plan_free(&p);
  akt__scn_free(&s);
  parse_ok("workload buggy-counter incs=40\nnodes 2\nduration 5s\nquiet 5s\n"
           "at 1s clog node1 1500ms\n",
           &s);
  assert_int_equal(akt__plan_make(&s, 1, &p), 0);
  assert_int_equal(akt__run(&s, wl, 1, &p, NULL, &r), AKT__RUN_FAIL);
  assert_string_equal(r.check, "count-exact");
  assert_non_null(strstr(r.why, "applied twice"));
  akt__plan_free(&p);
  akt__scn_free(&s);
}

/* Datagrams let duplicates through to pingpong-udp's pongers: with its
 * dedupe window off, a duplicating link makes the first check fail; with
 * it on, the same run passes. */
static void udp_duplicates_reach_the_pongers(void **state) {
  (void)state;
  const akt_workload *wl = builtin("pingpong-udp");
  static const char *const texts[2] = {
      "workload pingpong-udp dedupe=0\nnodes 2\nduration 3s\nquiet 2s\nlink dup=20%\n",
      "workload pingpong-udp dedupe=1\nnodes 2\nduration 3s\nquiet 2s\nlink dup=20%\n"};
  for (int dedupe = 0; dedupe < 2; dedupe++) {
    akt__scn_spec s;
    parse_ok(texts[dedupe], &s);
    akt__plan p;
    assert_int_equal(akt__plan_make(&s, 1, &p), 0);
    akt__run_result r;
    int status = akt__run(&s, wl, 1, &p, NULL, &r);
    if (dedupe) {
      assert_int_equal(status, AKT__RUN_PASS);
    } else {
      assert_int_equal(status, AKT__RUN_FAIL);
      assert_string_equal(r.check, "pings-applied-once");
      assert_non_null(strstr(r.why, "twice"));
    }
    akt__plan_free(&p);
    akt__scn_free(&s);
  }
}

/* The watcher's own node crashes: the watches die with it, so the oracle
 * owes no Terminated for targets that die before the restarted watcher
 * watches them again (seeds 1, 4 and 5 failed terminated-delivered when
 * it did). */
static void remote_watch_survives_the_watchers_crash(void **state) {
  (void)state;
  const akt_workload *wl = builtin("remote-watch");
  akt__scn_spec s;
  parse_ok("workload remote-watch targets=3 settle=6s\nnodes 3\nduration 20s\nquiet 15s\n"
           "at 5s crash node0\nat 9s restart node0\n",
           &s);
  for (uint64_t seed = 1; seed <= 8; seed++) {
    akt__plan p;
    assert_int_equal(akt__plan_make(&s, seed, &p), 0);
    akt__run_result r;
    int status = akt__run(&s, wl, seed, &p, NULL, &r);
    if (status) fprintf(stderr, "seed %llu: %s %s\n", (unsigned long long)seed, r.check, r.why);
    assert_int_equal(status, AKT__RUN_PASS);
    assert_int_equal(r.applied, 2);
    akt__plan_free(&p);
  }
  akt__scn_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(errors_name_file_line_and_column),
      cmocka_unit_test(every_error_in_a_file_is_reported),
      cmocka_unit_test(unknown_parameters_and_checks_are_reported_where_they_are),
      cmocka_unit_test(protected_nodes_never_crash_or_pause),
      cmocka_unit_test(a_fault_and_its_end_are_one_unit),
      cmocka_unit_test(cause_classes_ignore_numbers),
      cmocka_unit_test(parses_every_statement),
      cmocka_unit_test(written_scenarios_parse_back_the_same),
      cmocka_unit_test(plans_come_from_the_seed),
      cmocka_unit_test(random_shapes_resolve_into_explicit_faults),
      cmocka_unit_test(builtin_workloads_pass_and_replay),
      cmocka_unit_test(buggy_counter_needs_its_fault),
      cmocka_unit_test(udp_duplicates_reach_the_pongers),
      cmocka_unit_test(remote_watch_survives_the_watchers_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
