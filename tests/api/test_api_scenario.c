/* akt/scenario.h and docs/scenarios.md: a workload of the application's
 * own on akt-sim's command line (akt_sim_main) — the hooks and when they
 * run, the state that survives crashes, parameters, the exit codes, the
 * file format's errors, replay from the seed. The simulator's alone. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "akt/scenario.h"

/* ---- the workload: an oracle of its own hooks ----------------------------------- */

typedef struct oracle_state {
  int starts[AKT_SCENARIO_MAX_NODES], downs[AKT_SCENARIO_MAX_NODES];
  int begins, begun_with; /* how many nodes had started when begin ran */
  int wrong;              /* a hook saw something the header does not promise */
  char why[128];
} oracle_state;

static void wrong(oracle_state *st, const char *what) {
  if (!st->wrong++) snprintf(st->why, sizeof st->why, "%s", what);
}

static int oracle_start(akt_scenario *sc, size_t i, akt_backend *b) {
  oracle_state *st = akt_scenario_state(sc);
  if (akt_scenario_backend(sc, i) != b) wrong(st, "node_start got another backend");
  if (akt_scenario_system(sc, i) != NULL) wrong(st, "a system before node_start made one");
  akt_system *sys = NULL;
  int rc = akt_scenario_system_new(sc, i, &sys);
  if (rc) return rc;
  if (akt_scenario_system(sc, i) != sys) wrong(st, "akt_scenario_system is not the new system");
  char want[64];
  snprintf(want, sizeof want, "akt://node%zu@node%zu:2552", i, i);
  if (strcmp(akt_scenario_node_address(sc, i), want) != 0) wrong(st, "the node address");
  if (strcmp(akt_system_address(sys), want) != 0) wrong(st, "the system address");
  st->starts[i]++;
  return 0;
}

static void oracle_down(akt_scenario *sc, size_t i) {
  oracle_state *st = akt_scenario_state(sc);
  if (akt_scenario_system(sc, i) != NULL) wrong(st, "a system on a crashed node");
  st->downs[i]++;
}

static int oracle_begin(akt_scenario *sc) {
  oracle_state *st = akt_scenario_state(sc);
  st->begins++;
  for (size_t i = 0; i < akt_scenario_nodes(sc); i++) st->begun_with += st->starts[i] > 0;
  if (akt_scenario_world(sc) == NULL) wrong(st, "no world");
  akt_scenario_note(sc, "begun", "all nodes", (uint64_t)st->begun_with);
  return 0;
}

/* Safety, so at every virtual second: each node is up once or down. */
static int check_hooks(akt_scenario *sc, char *why) {
  oracle_state *st = akt_scenario_state(sc);
  if (st->wrong) return snprintf(why, AKT_SCENARIO_WHY_MAX, "%s", st->why), 1;
  for (size_t i = 0; i < akt_scenario_nodes(sc); i++) {
    int up = st->starts[i] - st->downs[i];
    if (up != 0 && up != 1)
      return snprintf(why, AKT_SCENARIO_WHY_MAX, "node%zu started %d times, down %d times", i,
                      st->starts[i], st->downs[i]), 1;
  }
  if (st->begins > 1) return snprintf(why, AKT_SCENARIO_WHY_MAX, "begin ran twice"), 1;
  return 0;
}

/* Liveness, after the quiet period began: what happened, all told. */
static int check_told(akt_scenario *sc, char *why) {
  oracle_state *st = akt_scenario_state(sc);
  int64_t restarts = akt_scenario_param(sc, "restarts", 0);
  size_t n = akt_scenario_nodes(sc);
  if (st->begins != 1 || st->begun_with != (int)n)
    return snprintf(why, AKT_SCENARIO_WHY_MAX, "begin ran %d times with %d of %zu nodes started",
                    st->begins, st->begun_with, n), 1;
  /* node1 crashed and restarted `restarts` times: the state kept count. */
  if (st->starts[0] != 1 || st->downs[0] != 0 || st->starts[1] != 1 + restarts ||
      st->downs[1] != restarts)
    return snprintf(why, AKT_SCENARIO_WHY_MAX, "starts %d/%d downs %d/%d", st->starts[0],
                    st->starts[1], st->downs[0], st->downs[1]), 1;
  if (akt_scenario_param(sc, "absent", -7) != -7)
    return snprintf(why, AKT_SCENARIO_WHY_MAX, "an absent parameter is not its default"), 1;
  if (akt_scenario_now(sc) < akt_scenario_quiet_start(sc))
    return snprintf(why, AKT_SCENARIO_WHY_MAX, "liveness checked before the quiet period"), 1;
  return 0;
}

static int check_fail(akt_scenario *sc, char *why) {
  if (!akt_scenario_param(sc, "fail", 0)) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX, "failing on purpose at t=%llu",
           (unsigned long long)akt_scenario_now(sc));
  return 1;
}

static int check_lively(akt_scenario *sc, char *why) {
  if (akt_scenario_param(sc, "lively", 1)) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX, "never lively");
  return 1;
}

static const akt_workload_check oracle_checks[] = {
    {"hooks", AKT_CHECK_SAFETY, check_hooks},
    {"told", AKT_CHECK_LIVENESS, check_told},
    {"fail", AKT_CHECK_SAFETY, check_fail},
    {"lively", AKT_CHECK_LIVENESS, check_lively},
    {NULL, 0, NULL},
};

static const akt_workload_param oracle_params[] = {
    {"restarts", "how often the file restarts node1 (default 0)"},
    {"fail", "1: the fail check fails"},
    {"lively", "0: the lively check fails"},
    {"absent", "never given"},
    {NULL, NULL},
};

static const akt_workload oracle = {
    .name = "api-oracle",
    .summary = "checks what akt/scenario.h promises its hooks",
    .state_size = sizeof(oracle_state),
    .node_start = oracle_start,
    .node_down = oracle_down,
    .begin = oracle_begin,
    .checks = oracle_checks,
    .params = oracle_params,
};

/* ---- running akt_sim_main in a child ------------------------------------------- */

/* Writes `text` to a fresh temporary scenario file; its path goes to `path`. */
static void scenario_file(char path[64], const char *text) {
  snprintf(path, 64, "/tmp/akt-api-scn-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* Runs akt_sim_main(args) in a child; returns its exit code, its output in
 * `out`. */
static int sim_main(const char *const *args, char *out, size_t size) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int argc = 0;
    char *argv[16];
    argv[argc++] = "api-sim";
    for (size_t i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    const akt_workload *mine[] = {&oracle};
    int rc = akt_sim_main(argc, argv, mine, 1);
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
  }
  close(fds[1]);
  size_t got = 0;
  ssize_t n;
  while (got + 1 < size && (n = read(fds[0], out + got, size - 1 - got)) > 0) got += (size_t)n;
  out[got] = '\0';
  char sink[512];
  while (read(fds[0], sink, sizeof sink) > 0) {
  }
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_file(const char *text, const char *seed, char *out, size_t size) {
  char path[64];
  scenario_file(path, text);
  const char *args[] = {"run", path, "--seed", seed, NULL};
  int rc = sim_main(args, out, size);
  unlink(path);
  return rc;
}

#define BASE "workload api-oracle restarts=%d%s\nnodes 3\nduration 5s\nquiet 2s\n"

static void hooks_run_as_promised_and_the_state_survives_crashes(void **state) {
  (void)state;
  char text[512], out[16384];
  snprintf(text, sizeof text,
           BASE "at 1s crash node1\nat 2s restart node1\nat 3s crash node1\nat 4s restart node1\n",
           2, "");
  int rc = run_file(text, "1", out, sizeof out);
  if (rc != 0) fprintf(stderr, "%s\n", out);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "PASS"));
}

static void a_failing_safety_check_exits_1_and_prints_the_replay(void **state) {
  (void)state;
  char text[512], out[16384];
  snprintf(text, sizeof text, BASE, 0, " fail=1");
  assert_int_equal(run_file(text, "7", out, sizeof out), 1);
  assert_non_null(strstr(out, "check=fail"));
  assert_non_null(strstr(out, "failing on purpose"));
  assert_non_null(strstr(out, "replay:"));
  assert_non_null(strstr(out, "--seed 7"));
}

static void a_failing_liveness_check_exits_3(void **state) {
  (void)state;
  char text[512], out[16384];
  snprintf(text, sizeof text, BASE, 0, " lively=0");
  assert_int_equal(run_file(text, "1", out, sizeof out), 3);
  assert_non_null(strstr(out, "never lively"));
}

static void only_the_checks_named_run(void **state) {
  (void)state;
  char text[512], out[16384];
  /* fail=1 and lively=0, but only "hooks" is asked for. */
  snprintf(text, sizeof text, BASE "check hooks\n", 0, " fail=1 lively=0");
  assert_int_equal(run_file(text, "1", out, sizeof out), 0);
}

static void a_bad_file_exits_2_naming_every_error_by_line_and_column(void **state) {
  (void)state;
  char out[16384];
  const char *bad = "workload api-oracle acounts=3\n"
                    "nodes 2\n"
                    "duration 5s\n"
                    "duration 6s\n"
                    "at 9s crash node1\n";
  assert_int_equal(run_file(bad, "1", out, sizeof out), 2);
  assert_non_null(strstr(out, ":1:"));  /* the unknown parameter */
  assert_non_null(strstr(out, "acounts"));
  assert_non_null(strstr(out, ":4:"));  /* duration twice */
  assert_non_null(strstr(out, ":5:"));  /* a fault after the duration */
}

static const char *digest_of(const char *out, char *buf, size_t size) {
  const char *d = strstr(out, "digest=");
  assert_non_null(d);
  snprintf(buf, size, "%.*s", (int)strcspn(d, " \n"), d);
  return buf;
}

static void a_seed_replays_the_same_run(void **state) {
  (void)state;
  char text[512], a[16384], b[16384], c[16384], da[64], db[64], dc[64];
  snprintf(text, sizeof text, BASE "link latency=uniform:1ms..9ms\nat 1s crash node1\nat 2s restart node1\n",
           1, "");
  assert_int_equal(run_file(text, "11", a, sizeof a), 0);
  assert_int_equal(run_file(text, "11", b, sizeof b), 0);
  assert_int_equal(run_file(text, "12", c, sizeof c), 0);
  assert_string_equal(digest_of(a, da, sizeof da), digest_of(b, db, sizeof db));
  digest_of(c, dc, sizeof dc);
  assert_string_not_equal(da, dc);
}

static void list_shows_the_applications_workloads_with_their_parameters(void **state) {
  (void)state;
  char out[32768];
  const char *args[] = {"list", NULL};
  assert_int_equal(sim_main(args, out, sizeof out), 0);
  assert_non_null(strstr(out, "api-oracle"));
  assert_non_null(strstr(out, "restarts"));
  assert_non_null(strstr(out, "pingpong")); /* beside the built-in ones */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(hooks_run_as_promised_and_the_state_survives_crashes),
    cmocka_unit_test(a_failing_safety_check_exits_1_and_prints_the_replay),
    cmocka_unit_test(a_failing_liveness_check_exits_3),
    cmocka_unit_test(only_the_checks_named_run),
    cmocka_unit_test(a_bad_file_exits_2_naming_every_error_by_line_and_column),
    cmocka_unit_test(a_seed_replays_the_same_run),
    cmocka_unit_test(list_shows_the_applications_workloads_with_their_parameters),
};

AKT_TEST_MAIN("api-scenario", tests)
