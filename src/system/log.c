/* akt — logging, trace events, dead letters and in-flight accounting. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "akt/actor.h"
#include "akt/error.h"
#include "src/system/system.h"
#include "src/util/assert.h"

/* What ends a log line that was cut to AKT_LOG_LINE_MAX. */
#define CUT_MARK "..."
/* Room a quoted field value keeps at the end of the line: an escape, the
 * character and the closing quote. */
#define QUOTED_CHAR_ROOM 3

void akt__trace(akt_system *sys, akt_event_kind kind, uint64_t actor, uint64_t peer,
                const char *type, uint64_t hash, int64_t code, const char *text) {
  if (!sys->tracing) return;
  akt_event ev = {.kind = kind, .actor = actor, .peer = peer, .type = type, .hash = hash,
                  .code = code, .text = text};
  sys->backend->ops->trace(sys->backend, &ev);
}

static void vlog(akt_system *sys, akt_log_level level, const char *fmt, va_list ap) {
  if (level < sys->opts.log_level || level >= AKT_LOG_OFF) return;
  char line[AKT_LOG_LINE_MAX];
  int n = vsnprintf(line, sizeof line, fmt, ap);
  if (n >= (int)sizeof line) {
    /* Mark the cut so a reader knows the line is incomplete. */
    memcpy(line + sizeof line - sizeof CUT_MARK, CUT_MARK, sizeof CUT_MARK);
  }
  if (sys->opts.log_sink)
    sys->opts.log_sink(level, line, sys->opts.log_data);
  else
    sys->backend->ops->log(sys->backend, level, line);
}

/* Appends ` key=value` to line[*pos..size), quoting a value that needs it. */
static void put_field(char *line, size_t size, size_t *pos, const char *key, const char *value) {
  if (!value) value = "";
  int quote = *value == '\0';
  for (const char *p = value; *p && !quote; p++)
    quote = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20;
  int n = snprintf(line + *pos, size - *pos, " %s=%s", key ? key : "?", quote ? "\"" : "");
  if (n > 0) *pos += (size_t)n;
  for (const char *p = value; *p && *pos + QUOTED_CHAR_ROOM < size; p++) {
    if (quote && (*p == '"' || *p == '\\')) line[(*pos)++] = '\\';
    line[(*pos)++] = (unsigned char)*p < 0x20 ? ' ' : *p;
  }
  if (quote && *pos + 1 < size) line[(*pos)++] = '"';
  if (*pos >= size) *pos = size - 1;
  line[*pos] = '\0';
}

void akt_log_fields(akt_system *sys, akt_log_level level, const char *msg,
                    const akt_log_field *fields, size_t n) {
  if (!sys || level < sys->opts.log_level || level >= AKT_LOG_OFF) return;
  char line[AKT_LOG_LINE_MAX];
  int len = snprintf(line, sizeof line, "%s", msg ? msg : "");
  size_t pos = len > 0 ? (size_t)len : 0;
  if (pos >= sizeof line) pos = sizeof line - 1;
  for (size_t i = 0; i < n; i++) put_field(line, sizeof line, &pos, fields[i].key, fields[i].value);
  akt__log(sys, level, "%s", line);
}

void akt_ctx_log(akt_ctx *ctx, akt_log_level level, const char *fmt, ...) {
  if (!ctx || !fmt) return;
  akt_system *sys = akt_ctx_system(ctx);
  if (level < sys->opts.log_level || level >= AKT_LOG_OFF) return;
  char line[AKT_LOG_LINE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t pos = len > 0 ? (size_t)len : 0;
  if (pos >= sizeof line) pos = sizeof line - 1;
  put_field(line, sizeof line, &pos, "actor", akt_pid_path(akt_ctx_self(ctx)));
  akt__log(sys, level, "%s", line);
}

void akt__log(akt_system *sys, akt_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(sys, level, fmt, ap);
  va_end(ap);
}

void akt_log(akt_system *sys, akt_log_level level, const char *fmt, ...) {
  if (!sys || !fmt) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(sys, level, fmt, ap);
  va_end(ap);
}

void akt__inflight_add(akt_system *sys) {
  atomic_fetch_add_explicit(&sys->inflight, 1, memory_order_relaxed);
}

void akt__inflight_done(akt_system *sys) {
  /* Read the backend first: once the count reaches zero a waiting
   * akt_system_free may release the system at any moment. */
  akt_backend *b = sys->backend;
  int64_t before = atomic_fetch_sub_explicit(&sys->inflight, 1, memory_order_acq_rel);
  AKT_ASSERT(before > 0);
  if (before == 1) b->ops->wake(b);
}
