/* Helpers shared by the transport tests: a quiet backend, deadlines, and
 * waiting on atomic flags through the backend's own wait()/wake(). */
#ifndef AKT_TESTS_TRANSPORT_UV_TEST_UTIL_H
#define AKT_TESTS_TRANSPORT_UV_TEST_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "akt/backend.h"
#include "akt/error.h"
#include "akt/transport.h"

/* How long a test waits for something that should happen promptly. */
#define TEST_PATIENCE AKT_SECONDS(10)

/* Collects the lines a backend logs, so tests stay quiet and can check
 * them. */
typedef struct test_log {
  pthread_mutex_t mu;
  char last[512];
  int lines;
} test_log;

static inline void test_log_sink(akt_log_level level, const char *line, void *data) {
  (void)level;
  test_log *tl = data;
  pthread_mutex_lock(&tl->mu);
  snprintf(tl->last, sizeof tl->last, "%s", line);
  tl->lines++;
  pthread_mutex_unlock(&tl->mu);
}

/* A backend with `workers` threads whose log lines go to `tl` (if any). */
static inline akt_backend *test_backend(unsigned workers, test_log *tl, size_t write_limit) {
  akt_uv_options o;
  memset(&o, 0, sizeof o);
  o.workers = workers;
  o.write_limit = write_limit;
  if (tl != NULL) {
    o.log_sink = test_log_sink;
    o.log_data = tl;
  }
  akt_backend *b = NULL;
  assert_int_equal(akt_uv_backend_new(&o, &b), 0);
  assert_non_null(b);
  return b;
}

static inline uint64_t test_deadline(akt_backend *b, akt_duration d) {
  return b->ops->now(b) + d;
}

static inline int test_flag_set(void *arg) { return atomic_load((atomic_int *)arg) != 0; }

/* Waits until *flag != 0; fails the test on timeout. */
static inline void test_wait_flag(akt_backend *b, atomic_int *flag) {
  assert_int_equal(b->ops->wait(b, test_flag_set, flag, test_deadline(b, TEST_PATIENCE)), 0);
}

typedef struct test_count {
  atomic_long n;
  long want;
  akt_backend *b; /* if set, test_count_bump wakes its waiters */
} test_count;

/* Adds one and wakes the waiters; any thread. Reads `c` only before the
 * count: a waiter may reuse or free it once the count is reached. */
static inline void test_count_bump(test_count *c) {
  akt_backend *b = c->b;
  atomic_fetch_add(&c->n, 1);
  if (b != NULL) b->ops->wake(b);
}

static inline int test_count_reached(void *arg) {
  test_count *c = arg;
  return atomic_load(&c->n) >= c->want;
}

/* Waits until c->n >= want; fails the test on timeout. */
static inline void test_wait_count(akt_backend *b, test_count *c, long want) {
  c->want = want;
  assert_int_equal(b->ops->wait(b, test_count_reached, c, test_deadline(b, TEST_PATIENCE)), 0);
}

#endif
