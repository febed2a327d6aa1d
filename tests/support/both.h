/* Runs one cmocka suite on both backends: the simulator (virtual time,
 * seeded) and the libuv production backend (real threads, real time).
 * Set AKT_TEST_BACKEND=sim or =uv to run only one. */
#ifndef AKT_TESTS_BOTH_H
#define AKT_TESTS_BOTH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/akt.h"
#include "akt/testkit.h"

static akt_testkit_backend akt_test_backend = AKT_TESTKIT_SIM;

static inline int akt_test_use_sim(void **state) {
  (void)state;
  akt_test_backend = AKT_TESTKIT_SIM;
  return 0;
}

static inline int akt_test_use_uv(void **state) {
  (void)state;
  akt_test_backend = AKT_TESTKIT_UV;
  return 0;
}

/* How long a test on libuv waits, by default, for what it expects (a
 * message, a termination, idleness): a bound on a hang, never on how long
 * a step takes. The testkit's own default (3 s, as Akka's TestKit) holds
 * on an idle machine; `./dev test --stress` runs these suites beside busy
 * loops on every core, where a thread may wait seconds for a CPU. A wait
 * ends as soon as what it waits for happens, so a long bound costs a
 * passing test nothing. On the simulator time is virtual: its default
 * stays. */
#define AKT_TEST_UV_TIMEOUT AKT_SECONDS(60)

static inline akt_testkit *akt_test_tk_new(akt_testkit_options o, const char *test,
                                           const char *file, int line) {
  if (o.backend == AKT_TESTKIT_UV && o.default_timeout == 0)
    o.default_timeout = AKT_TEST_UV_TIMEOUT;
  return akt__testkit_new(&o, test, file, line);
}

/* A testkit on the backend of the running group (on libuv, waiting up to
 * AKT_TEST_UV_TIMEOUT unless the test says otherwise). */
#define TK_NEW(...)                                                                      \
  akt_test_tk_new((akt_testkit_options){.backend = akt_test_backend, __VA_ARGS__}, __func__, \
                  __FILE__, __LINE__)

/* For tests whose subject only exists on the simulator (turn order). */
#define SIM_ONLY()                                  \
  do {                                              \
    if (akt_test_backend != AKT_TESTKIT_SIM) skip(); \
  } while (0)

static inline int akt_test_run_both(const char *suite, const struct CMUnitTest *tests, size_t n,
                                    int argc, char **argv) {
  int rc = akt_testkit_parse_args(argc, argv);
  if (rc) return rc > 0 ? 0 : 2;
  const char *only = getenv("AKT_TEST_BACKEND");
  char name[128];
  int failed = 0;
  if (!only || strcmp(only, "sim") == 0) {
    snprintf(name, sizeof name, "%s/sim", suite);
    failed += _cmocka_run_group_tests(name, tests, n, akt_test_use_sim, NULL);
  }
  if (!only || strcmp(only, "uv") == 0) {
    snprintf(name, sizeof name, "%s/uv", suite);
    failed += _cmocka_run_group_tests(name, tests, n, akt_test_use_uv, NULL);
  }
  return failed ? 1 : 0;
}

#define AKT_TEST_MAIN_BOTH(suite, tests)                                                   \
  int main(int argc, char **argv) {                                                        \
    return akt_test_run_both((suite), (tests), sizeof(tests) / sizeof((tests)[0]), argc, argv); \
  }

#define AKT_TEST_MAIN(suite, tests)                                        \
  int main(int argc, char **argv) {                                        \
    int rc = akt_testkit_parse_args(argc, argv);                           \
    if (rc) return rc > 0 ? 0 : 2;                                         \
    return cmocka_run_group_tests_name((suite), (tests), NULL, NULL) ? 1 : 0; \
  }

#endif
