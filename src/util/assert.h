/* akt — always-on assertions (shared/STYLE.md, "Assertions").
 *
 * AKT_ASSERT stays in release, simulator and fuzzing builds: it is one
 * predicted branch, and an impossible state that goes unnoticed costs far
 * more than the branch. Assert preconditions, postconditions and every state
 * transition (cell lifecycle, mailbox positions, connection and membership
 * states, event times); never clamp an impossible value into range.
 *
 * A failed assertion prints the expression and its place, then what the
 * current reporter adds (the simulator: its seed, virtual time and the
 * command that replays the run), then aborts. A reporter is set per thread
 * because the simulator drives each world from one thread; setting one
 * changes no behaviour, only what a failure prints.
 */
#ifndef AKT_UTIL_ASSERT_H
#define AKT_UTIL_ASSERT_H

#include <stdio.h>

/* Checks `cond`; on failure reports and aborts. Evaluates `cond` once. */
#define AKT_ASSERT(cond)                                                       \
  (__builtin_expect(!!(cond), 1) ? (void)0                                     \
                                 : akt__assert_fail(__FILE__, __LINE__, __func__, #cond))

/* Checks a state transition `from` -> `to` with `allowed` (an expression
 * over the two, e.g. `to > from`), naming both values on failure. */
#define AKT_ASSERT_TRANSITION(what, from, to, allowed)                         \
  (__builtin_expect(!!(allowed), 1)                                            \
       ? (void)0                                                               \
       : akt__assert_transition_fail(__FILE__, __LINE__, __func__, (what),     \
                                     (long long)(from), (long long)(to), #allowed))

/* Writes extra context for a failure report to `f` (one or more full lines).
 * Runs on the failing thread just before abort(); must not assert. */
typedef void (*akt__assert_reporter_fn)(void *arg, FILE *f);

/* A reporter and its argument, as set and saved by akt__assert_set_reporter. */
typedef struct akt__assert_reporter {
  akt__assert_reporter_fn fn;
  void *arg;
} akt__assert_reporter;

/* Makes `r` (NULL or fn NULL: none) the calling thread's reporter and
 * writes the previous one to *prev (when prev is not NULL), so that a
 * nested owner can restore it. */
void akt__assert_set_reporter(const akt__assert_reporter *r, akt__assert_reporter *prev);

/* The calling thread's reporter (fn NULL when none). */
akt__assert_reporter akt__assert_get_reporter(void);

/* Report and abort: the slow paths of the macros above. */
_Noreturn void akt__assert_fail(const char *file, int line, const char *func, const char *expr);
_Noreturn void akt__assert_transition_fail(const char *file, int line, const char *func,
                                           const char *what, long long from, long long to,
                                           const char *expr);

#endif
