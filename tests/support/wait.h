/* Waiting for a condition in a test that runs on both backends: the
 * simulator runs its world until the condition holds, libuv polls it. Use
 * it where a test would otherwise let "enough" time pass (advance 50 ms and
 * assume the handshake is done): on a loaded machine no amount is enough,
 * while the condition's deadline only bounds a hang. */
#ifndef AKT_TESTS_WAIT_H
#define AKT_TESTS_WAIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "akt/sim.h"
#include "akt/testkit.h"
#include "both.h"

/* How often libuv polls a condition nothing wakes the test for. */
#define TEST_WAIT_POLL AKT_MILLIS(1)

/* Waits until ready(arg) holds; fails the test, naming `what`, if it does
 * not within the testkit's default timeout (virtual) on the simulator, or
 * AKT_TEST_UV_TIMEOUT (both.h) on libuv. */
static inline void test_wait_until(akt_testkit *tk, int (*ready)(void *arg), void *arg,
                                   const char *what) {
  akt_sim_world *w = akt_testkit_world(tk);
  uint64_t deadline =
      akt_testkit_now(tk) + (w ? AKT_TESTKIT_DEFAULT_TIMEOUT : AKT_TEST_UV_TIMEOUT);
  if (w) {
    if (akt_sim_run_until(w, ready, arg, deadline) != 0) fail_msg("waited in vain for %s", what);
    return;
  }
  while (!ready(arg)) {
    if (akt_testkit_now(tk) >= deadline) fail_msg("waited in vain for %s", what);
    akt_testkit_advance(tk, TEST_WAIT_POLL);
  }
}

#endif
