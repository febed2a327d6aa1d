/* akt — the slow path of AKT_ASSERT (see assert.h). */
#include "src/util/assert.h"

#include <stdlib.h>

/* Per thread, not per system: a failure report is about the thread that
 * failed, and the simulator drives one world per thread. It never changes
 * what a run does, so it does not break determinism (DESIGN §2). */
static _Thread_local akt__assert_reporter current;

void akt__assert_set_reporter(const akt__assert_reporter *r, akt__assert_reporter *prev) {
  if (prev) *prev = current;
  if (r) {
    current = *r;
  } else {
    current.fn = NULL;
    current.arg = NULL;
  }
}

akt__assert_reporter akt__assert_get_reporter(void) { return current; }

static _Noreturn void finish(void) {
  if (current.fn) {
    akt__assert_reporter r = current;
    current.fn = NULL; /* a reporter that fails must not recurse */
    r.fn(r.arg, stderr);
  }
  fflush(stderr);
  abort();
}

void akt__assert_fail(const char *file, int line, const char *func, const char *expr) {
  fprintf(stderr, "akt: assertion failed at %s:%d in %s(): %s\n", file, line, func, expr);
  finish();
}

void akt__assert_transition_fail(const char *file, int line, const char *func, const char *what,
                                 long long from, long long to, const char *expr) {
  fprintf(stderr, "akt: bad %s transition %lld -> %lld at %s:%d in %s(): %s\n", what, from, to,
          file, line, func, expr);
  finish();
}
