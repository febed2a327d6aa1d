/* Two nodes with remoting, on the simulator or on loopback TCP. */
#ifndef AKT_TESTS_REMOTE_FIXTURE_H
#define AKT_TESTS_REMOTE_FIXTURE_H

#include <stdio.h>

#include "../support/both.h"
#include "akt/remote.h"
#include "test.pb-c.h"

/* The cookie the suites' nodes prove to each other (16 bytes at least). */
#define TEST_COOKIE "test-cookie-not-a-secret"

/* What peers may spawn and stop on a fixture's nodes: the counter kind
 * (and "ghost", which no node registers), any actor under /user. */
static const char *const fixture_kinds[] = {"counter", "ghost"};
static const char *const fixture_stops[] = {"/user/"};

typedef struct fixture {
  akt_testkit *tk;
  akt_system *a, *b;
  char node_a[320], node_b[320];
} fixture;

static const ProtobufCMessageDescriptor *const test_types[] = {
    &ping__descriptor, &pong__descriptor, &note__descriptor, &add__descriptor,
    &get__descriptor,  &total__descriptor, &cmd__descriptor, &token__descriptor};

static inline void register_test_types(akt_system *sys, int skip_ping) {
  for (size_t i = 0; i < sizeof test_types / sizeof test_types[0]; i++) {
    if (skip_ping && test_types[i] == &ping__descriptor) continue;
    assert_int_equal(akt_system_register_type(sys, test_types[i]), 0);
  }
}

/* Starts remoting on both nodes of a two-node testkit; B's cookie may
 * differ (to test refusals). */
static inline void fixture_up_cookies(fixture *f, const char *cookie_a, const char *cookie_b,
                                      akt_duration failure) {
  f->tk = TK_NEW(.nodes = 2);
  f->a = akt_testkit_node(f->tk, 0);
  f->b = akt_testkit_node(f->tk, 1);
  int sim = akt_test_backend == AKT_TESTKIT_SIM;
  akt_remote_options oa = {.host = sim ? NULL : "127.0.0.1",
                           .port = sim ? 2552 : 0,
                           .failure = failure,
                           .heartbeat = failure ? failure / 4 : 0,
                           .security = {.cookie = cookie_a,
                                        .spawn_kinds = {fixture_kinds, 2},
                                        .stop_paths = {fixture_stops, 1}}};
  akt_remote_options ob = oa;
  ob.security.cookie = cookie_b;
  assert_int_equal(akt_remote_start(f->a, &oa), 0);
  assert_int_equal(akt_remote_start(f->b, &ob), 0);
  snprintf(f->node_a, sizeof f->node_a, "%s", akt_system_address(f->a));
  snprintf(f->node_b, sizeof f->node_b, "%s", akt_system_address(f->b));
  register_test_types(f->a, 0);
  register_test_types(f->b, 0);
}

static inline void fixture_up(fixture *f) { fixture_up_cookies(f, TEST_COOKIE, TEST_COOKIE, 0); }

/* The address of `pid` (on either node). */
static inline void address_of(akt_pid *pid, char *buf, size_t size) {
  assert_true(akt_pid_format(pid, buf, size) > 0);
}

/* A PID, on `from`, for the local actor `pid` of the other node. */
static inline akt_pid *remote_of(akt_system *from, akt_pid *pid) {
  char addr[512];
  address_of(pid, addr, sizeof addr);
  akt_pid *r = NULL;
  assert_int_equal(akt_remote_pid(from, addr, &r), 0);
  return r;
}

/* Whether the local actor at `path` of `sys` is alive. */
static inline int local_alive(akt_system *sys, const char *path) {
  akt_pid *p = NULL;
  if (akt_lookup(sys, path, &p) != 0) return 0;
  int up = akt_pid_is_running(p);
  akt_pid_release(p);
  return up;
}

#endif
