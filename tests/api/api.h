/* The public API's promises, tested from the outside: what the shared
 * helpers of the tests/api suites need. Everything here goes through the
 * public headers (akt/akt.h, akt/testkit.h) and the test protos; the
 * both-backends runner and the condition wait come from tests/support. */
#ifndef AKT_TESTS_API_H
#define AKT_TESTS_API_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../support/both.h"
#include "../support/expect_note.h"
#include "../support/wait.h"
#include "akt/actor.pb-c.h"
#include "test.pb-c.h"

/* Sends Note{text} from the current actor to `to` (printf-style text). */
static inline int api_note(akt_ctx *ctx, akt_pid *to, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int api_note(akt_ctx *ctx, akt_pid *to, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  Note n = NOTE__INIT;
  n.text = buf;
  return akt_send(ctx, to, &n.base);
}

/* The PID an actor reports to: its spawn arg. */
static inline akt_pid *api_reportee(akt_ctx *ctx) { return (akt_pid *)akt_ctx_arg(ctx); }

/* Spawn options whose arg is a probe's PID. */
#define API_TO(p) ((akt_spawn_opts){.arg = akt_probe_pid(p)})

/* Expects Note{text} next, with the text given printf-style. */
#define API_EXPECT_NOTEF(p, ...)                              \
  do {                                                        \
    char api_text_[512];                                      \
    snprintf(api_text_, sizeof api_text_, __VA_ARGS__);       \
    EXPECT_NOTE((p), api_text_);                              \
  } while (0)

/* Cmd{op, arg, n} from the probe, the tests' remote control. */
static inline void api_cmd(akt_probe *p, akt_pid *to, const char *op, const char *arg, int64_t n) {
  Cmd c = CMD__INIT;
  c.op = (char *)op;
  c.arg = (char *)(arg ? arg : "");
  c.n = n;
  akt_probe_tell(p, to, &c.base);
}

static inline int api_is_cmd(const ProtobufCMessage *msg, const char *op) {
  return akt_msg_is(msg, &cmd__descriptor) && strcmp(((const Cmd *)msg)->op, op) == 0;
}

/* ---- dead letters ---------------------------------------------------------- */

/* A probe subscribed to akt.deadletter on node 0. */
static inline akt_probe *api_dead_letters(akt_testkit *tk) {
  akt_probe *p = akt_probe_new(tk, "deadletters");
  assert_int_equal(akt_subscribe(akt_probe_pid(p), AKT_TOPIC_DEAD_LETTER), 0);
  return p;
}

/* The next akt.DeadLetter on a dead-letter probe, checked for the message
 * type (full name) and the reason. */
static inline const Akt__DeadLetter *api_expect_dead_letter(akt_probe *dl, const char *type,
                                                            const char *reason) {
  const Akt__DeadLetter *d =
      (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->type, type);
  assert_string_equal(d->reason, reason);
  return d;
}

/* ---- counters --------------------------------------------------------------- */

/* Checks an actor's failure and restart counts. */
static inline void api_expect_counts(akt_pid *pid, uint32_t failures, uint32_t restarts) {
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(pid, &m), 0);
  assert_int_equal(m.failures, failures);
  assert_int_equal(m.restarts, restarts);
}

/* ---- conditions ----------------------------------------------------------- */

static inline int api_pid_stopped(void *pid) { return !akt_pid_is_running(pid); }

/* Waits until the actor has begun stopping (or has terminated). */
static inline void api_wait_stopped(akt_testkit *tk, akt_pid *pid) {
  test_wait_until(tk, api_pid_stopped, pid, akt_pid_path(pid));
}

/* Watches `pid` from a fresh probe and waits for its Terminated. */
static inline void api_wait_terminated(akt_testkit *tk, akt_pid *pid) {
  akt_probe *w = akt_probe_new(tk, "terminated-watch");
  akt_probe_watch(w, pid);
  akt_probe_expect_terminated(w, pid, 0);
}

/* Whether the test runs on the simulator (virtual, exact time). */
#define API_SIM() (akt_test_backend == AKT_TESTKIT_SIM)

#endif
