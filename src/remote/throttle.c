/* akt — log lines an attacker could multiply, written at most once per
 * interval per kind.
 *
 * A stranger who opens connections, or a peer that sends refused
 * envelopes, could otherwise make the node write one line each: the log
 * would grow as fast as they like and hide everything else. Each kind
 * (akt__log_kind) keeps the time of its last line and a count of those
 * left out since; the next line written says how many were. Lock-free:
 * callers hold any of remoting's locks, on any thread.
 */
#include <stdarg.h>
#include <stdio.h>

#include "src/remote/remote.h"
#include "src/system/system.h"

#define RLOG_LINE_MAX 640 /* bytes of one line before the count */

void akt__rlog(akt__remote *r, akt__log_kind kind, akt_log_level level, const char *fmt, ...) {
  AKT_ASSERT((unsigned)kind < AKT__LOG_KINDS);
  akt_backend *b = r->sys->backend;
  akt__throttle *t = &r->throttle;
  uint64_t now = b->ops->now(b);
  uint64_t last = atomic_load_explicit(&t->last[kind], memory_order_relaxed);
  /* last is the time plus one; 0 when no line of the kind was written. */
  int due = last == 0 || now - (last - 1) >= r->sec.limits.log_interval;
  if (!due || !atomic_compare_exchange_strong_explicit(&t->last[kind], &last, now + 1,
                                                       memory_order_relaxed,
                                                       memory_order_relaxed)) {
    atomic_fetch_add_explicit(&t->suppressed[kind], 1, memory_order_relaxed);
    AKT__SSTAT(r, log_lines_suppressed, 1);
    return;
  }
  uint64_t left_out = atomic_exchange_explicit(&t->suppressed[kind], 0, memory_order_relaxed);
  char line[RLOG_LINE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (left_out)
    akt__log(r->sys, level, "%s (and %llu more like it since the last such line)", line,
             (unsigned long long)left_out);
  else
    akt__log(r->sys, level, "%s", line);
}
