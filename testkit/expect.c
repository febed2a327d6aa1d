/* akt — probe expectations.
 *
 * Each expectation waits for the next queued message (running the world on
 * the simulator), takes it, and checks it. The try_ forms describe a
 * failure in `why`; the fatal forms hand that text to cmocka.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/actor.pb-c.h"
#include "src/actor/cell.h"
#include "testkit/testkit_internal.h"

static void whyf(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void whyf(char *why, const char *fmt, ...) {
  if (!why) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, AKT_PROBE_FAILURE_MAX, fmt, ap);
  va_end(ap);
}

/* "Type { fields } from /path" for failure texts. */
static void describe(const akt__env *e, char *buf, size_t size) {
  char text[AKT_PROBE_FAILURE_MAX / 2];
  akt_msg_format(e->msg, text, sizeof text);
  snprintf(buf, size, "%s from %s", text, e->sender ? akt_pid_path(e->sender) : "(no sender)");
}

static void fmt_duration(akt_duration d, char *buf, size_t size) {
  snprintf(buf, size, "%" PRIu64 ".%09" PRIu64 "s", d / 1000000000u, d % 1000000000u);
}

static int has_msg(void *arg) {
  akt_probe *p = arg;
  return atomic_load(&p->qlen) > 0;
}

/* Waits until a message is queued or `deadline`; returns it (still queued)
 * or NULL. */
static akt__env *peek(akt_probe *p, uint64_t deadline) {
  akt__testkit_wait(p->tk, p->node, has_msg, p, deadline);
  pthread_mutex_lock(&p->lock);
  akt__env *e = p->qhead;
  pthread_mutex_unlock(&p->lock);
  return e;
}

/* Dequeues the head message and keeps it for the test. */
static akt__env *take(akt_probe *p) {
  pthread_mutex_lock(&p->lock);
  akt__env *e = p->qhead;
  if (e) {
    p->qhead = (akt__env *)atomic_load_explicit(&e->node.next, memory_order_relaxed);
    if (!p->qhead) p->qtail = NULL;
    atomic_fetch_sub(&p->qlen, 1);
  }
  pthread_mutex_unlock(&p->lock);
  if (!e) return NULL;
  if (p->ntaken == p->captaken) {
    size_t cap = p->captaken ? p->captaken * 2 : 16;
    akt__env **nt = realloc(p->taken, cap * sizeof *nt);
    if (!nt) abort(); /* a test that cannot keep 16 pointers cannot report either */
    p->taken = nt;
    p->captaken = cap;
  }
  p->taken[p->ntaken++] = e;
  p->last = e;
  return e;
}

/* Takes the next message within `timeout`, or describes the timeout. */
static akt__env *next_or_timeout(akt_probe *p, akt_duration timeout, const char *expected,
                                 char *why) {
  akt__env *e = peek(p, akt__testkit_deadline(p->tk, timeout));
  if (e) return take(p);
  char d[48];
  fmt_duration(timeout == AKT_PROBE_DEFAULT_TIMEOUT ? p->tk->opts.default_timeout : timeout, d,
               sizeof d);
  whyf(why, "probe %s: expected %s within %s, got nothing", p->name, expected, d);
  return NULL;
}

int akt_probe_try_expect_msg(akt_probe *p, const ProtobufCMessageDescriptor *desc,
                             akt_duration timeout, const ProtobufCMessage **out, char *why) {
  akt__env *e = next_or_timeout(p, timeout, desc->name, why);
  if (!e) return AKT_ETIMEDOUT;
  if (e->msg->descriptor != desc) {
    char got[AKT_PROBE_FAILURE_MAX / 2];
    describe(e, got, sizeof got);
    whyf(why, "probe %s: expected %s, got %s", p->name, desc->name, got);
    return AKT_EPROTO;
  }
  if (out) *out = e->msg;
  return 0;
}

/* Packs a message for comparison; returns a malloc'd buffer or NULL. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(*len ? *len : 1);
  if (buf) protobuf_c_message_pack(m, buf);
  return buf;
}

int akt_probe_try_expect_equal(akt_probe *p, const ProtobufCMessage *expected,
                               akt_duration timeout, char *why) {
  char want[AKT_PROBE_FAILURE_MAX / 2];
  akt_msg_format(expected, want, sizeof want);
  akt__env *e = next_or_timeout(p, timeout, want, why);
  if (!e) return AKT_ETIMEDOUT;
  int equal = 0;
  if (e->msg->descriptor == expected->descriptor) {
    size_t la, lb;
    uint8_t *a = pack(expected, &la), *b = pack(e->msg, &lb);
    equal = a && b && la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
  }
  if (!equal) {
    char got[AKT_PROBE_FAILURE_MAX / 2];
    describe(e, got, sizeof got);
    whyf(why, "probe %s: expected %s, got %s", p->name, want, got);
    return AKT_EPROTO;
  }
  return 0;
}

int akt_probe_try_expect_match(akt_probe *p, akt_probe_pred pred, void *arg,
                               akt_duration timeout, const ProtobufCMessage **out, char *why) {
  akt__env *e = next_or_timeout(p, timeout, "a message matching the predicate", why);
  if (!e) return AKT_ETIMEDOUT;
  if (!pred(e->msg, e->sender, arg)) {
    char got[AKT_PROBE_FAILURE_MAX / 2];
    describe(e, got, sizeof got);
    whyf(why, "probe %s: expected a message matching the predicate, got %s", p->name, got);
    return AKT_EPROTO;
  }
  if (out) *out = e->msg;
  return 0;
}

int akt_probe_try_expect_any_of(akt_probe *p, const ProtobufCMessageDescriptor *const *descs,
                                size_t n, akt_duration timeout, const ProtobufCMessage **out,
                                char *why) {
  char want[512] = "one of";
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(want);
    snprintf(want + len, sizeof want - len, "%s %s", i ? "," : "", descs[i]->name);
  }
  akt__env *e = next_or_timeout(p, timeout, want, why);
  if (!e) return AKT_ETIMEDOUT;
  for (size_t i = 0; i < n; i++) {
    if (e->msg->descriptor == descs[i]) {
      if (out) *out = e->msg;
      return 0;
    }
  }
  char got[AKT_PROBE_FAILURE_MAX / 2];
  describe(e, got, sizeof got);
  whyf(why, "probe %s: expected %s, got %s", p->name, want, got);
  return AKT_EPROTO;
}

int akt_probe_try_expect_within(akt_probe *p, const ProtobufCMessageDescriptor *desc,
                                akt_duration min, akt_duration max, const ProtobufCMessage **out,
                                char *why) {
  uint64_t start = akt_testkit_now(p->tk);
  akt__env *e = peek(p, max >= AKT_FOREVER - start ? AKT_FOREVER : start + max);
  char dmin[48], dmax[48];
  fmt_duration(min, dmin, sizeof dmin);
  fmt_duration(max, dmax, sizeof dmax);
  if (!e) {
    whyf(why, "probe %s: expected %s within [%s, %s], got nothing", p->name, desc->name, dmin,
         dmax);
    return AKT_ETIMEDOUT;
  }
  take(p);
  uint64_t arrived = akt__meta_of(e)->arg;
  char got[AKT_PROBE_FAILURE_MAX / 2];
  if (e->msg->descriptor != desc) {
    describe(e, got, sizeof got);
    whyf(why, "probe %s: expected %s, got %s", p->name, desc->name, got);
    return AKT_EPROTO;
  }
  if (min > 0 && arrived < start + min) {
    char early[48];
    fmt_duration(arrived >= start ? arrived - start : 0, early, sizeof early);
    describe(e, got, sizeof got);
    whyf(why, "probe %s: expected %s within [%s, %s], but it arrived after %s: %s", p->name,
         desc->name, dmin, dmax, early, got);
    return AKT_EPROTO;
  }
  if (out) *out = e->msg;
  return 0;
}

int akt_probe_try_expect_no_msg(akt_probe *p, akt_duration d, char *why) {
  uint64_t now = akt_testkit_now(p->tk);
  akt__env *e = peek(p, d >= AKT_FOREVER - now ? AKT_FOREVER : now + d);
  if (!e) return 0;
  take(p);
  char got[AKT_PROBE_FAILURE_MAX / 2], dd[48];
  describe(e, got, sizeof got);
  fmt_duration(d, dd, sizeof dd);
  whyf(why, "probe %s: expected no message for %s, got %s", p->name, dd, got);
  return AKT_EPROTO;
}

int akt_probe_try_expect_terminated(akt_probe *p, akt_pid *target, akt_duration timeout,
                                    char *why) {
  char want[AKT_PATH_MAX + 64];
  snprintf(want, sizeof want, "akt.Terminated of %s", akt_pid_path(target));
  akt__env *e = next_or_timeout(p, timeout, want, why);
  if (!e) return AKT_ETIMEDOUT;
  if (e->msg->descriptor != &akt__terminated__descriptor || !akt_pid_equal(e->sender, target)) {
    char got[AKT_PROBE_FAILURE_MAX / 2];
    describe(e, got, sizeof got);
    whyf(why, "probe %s: expected %s, got %s", p->name, want, got);
    return AKT_EPROTO;
  }
  return 0;
}

int akt_probe_try_fish_for(akt_probe *p, akt_probe_pred pred, void *arg, size_t max,
                           akt_duration timeout, const ProtobufCMessage **out, char *why) {
  uint64_t deadline = akt__testkit_deadline(p->tk, timeout);
  for (size_t skipped = 0;; skipped++) {
    akt__env *e = peek(p, deadline);
    if (!e) {
      whyf(why, "probe %s: fished for a matching message, got nothing matching in time "
                "(%zu skipped)", p->name, skipped);
      return AKT_ETIMEDOUT;
    }
    take(p);
    if (pred(e->msg, e->sender, arg)) {
      if (out) *out = e->msg;
      return 0;
    }
    if (skipped >= max) {
      char got[AKT_PROBE_FAILURE_MAX / 2];
      describe(e, got, sizeof got);
      whyf(why, "probe %s: fished past %zu messages without a match; the last was %s", p->name,
           max, got);
      return AKT_ELIMIT;
    }
  }
}

int akt_probe_try_receive_n(akt_probe *p, size_t n, akt_duration timeout,
                            const ProtobufCMessage **out, char *why) {
  for (size_t i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "message %zu of %zu", i + 1, n);
    akt__env *e = next_or_timeout(p, timeout, want, why);
    if (!e) return AKT_ETIMEDOUT;
    if (out) out[i] = e->msg;
  }
  return 0;
}

size_t akt_probe_receive_while(akt_probe *p, akt_probe_pred pred, void *arg, size_t max,
                               akt_duration timeout, const ProtobufCMessage **out) {
  size_t n = 0;
  while (n < max) {
    akt__env *e = peek(p, akt__testkit_deadline(p->tk, timeout));
    if (!e || !pred(e->msg, e->sender, arg)) break;
    take(p);
    if (out) out[n] = e->msg;
    n++;
  }
  return n;
}

/* ---- fatal forms ------------------------------------------------------- */

#define FAIL_IF(rc, p, file, line, why) \
  do {                                  \
    if (rc) akt__testkit_fail((p)->tk, (file), (line), (why)); \
  } while (0)

const ProtobufCMessage *akt__probe_expect_msg(akt_probe *p, const ProtobufCMessageDescriptor *desc,
                                              akt_duration timeout, const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m = NULL;
  int rc = akt_probe_try_expect_msg(p, desc, timeout, &m, why);
  FAIL_IF(rc, p, file, line, why);
  return m;
}

void akt__probe_expect_equal(akt_probe *p, const ProtobufCMessage *expected,
                             akt_duration timeout, const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  int rc = akt_probe_try_expect_equal(p, expected, timeout, why);
  FAIL_IF(rc, p, file, line, why);
}

const ProtobufCMessage *akt__probe_expect_match(akt_probe *p, akt_probe_pred pred, void *arg,
                                                akt_duration timeout, const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m = NULL;
  int rc = akt_probe_try_expect_match(p, pred, arg, timeout, &m, why);
  FAIL_IF(rc, p, file, line, why);
  return m;
}

const ProtobufCMessage *akt__probe_expect_any_of(akt_probe *p,
                                                 const ProtobufCMessageDescriptor *const *descs,
                                                 size_t n, akt_duration timeout, const char *file,
                                                 int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m = NULL;
  int rc = akt_probe_try_expect_any_of(p, descs, n, timeout, &m, why);
  FAIL_IF(rc, p, file, line, why);
  return m;
}

const ProtobufCMessage *akt__probe_expect_within(akt_probe *p,
                                                 const ProtobufCMessageDescriptor *desc,
                                                 akt_duration min, akt_duration max,
                                                 const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m = NULL;
  int rc = akt_probe_try_expect_within(p, desc, min, max, &m, why);
  FAIL_IF(rc, p, file, line, why);
  return m;
}

void akt__probe_expect_no_msg(akt_probe *p, akt_duration d, const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  int rc = akt_probe_try_expect_no_msg(p, d, why);
  FAIL_IF(rc, p, file, line, why);
}

void akt__probe_expect_terminated(akt_probe *p, akt_pid *target, akt_duration timeout,
                                  const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  int rc = akt_probe_try_expect_terminated(p, target, timeout, why);
  FAIL_IF(rc, p, file, line, why);
}

const ProtobufCMessage *akt__probe_fish_for(akt_probe *p, akt_probe_pred pred, void *arg,
                                            size_t max, akt_duration timeout, const char *file,
                                            int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m = NULL;
  int rc = akt_probe_try_fish_for(p, pred, arg, max, timeout, &m, why);
  FAIL_IF(rc, p, file, line, why);
  return m;
}

void akt__probe_receive_n(akt_probe *p, size_t n, akt_duration timeout,
                          const ProtobufCMessage **out, const char *file, int line) {
  char why[AKT_PROBE_FAILURE_MAX];
  int rc = akt_probe_try_receive_n(p, n, timeout, out, why);
  FAIL_IF(rc, p, file, line, why);
}
