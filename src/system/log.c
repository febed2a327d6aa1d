/* akt — logging, trace events, dead letters and in-flight accounting. */
#include <stdarg.h>
#include <stdio.h>

#include "akt/error.h"
#include "src/system/system.h"

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
    line[sizeof line - 4] = line[sizeof line - 3] = line[sizeof line - 2] = '.';
  }
  sys->backend->ops->log(sys->backend, level, line);
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

void akt__dead_letter(akt_system *sys, akt_pid *target, akt__env *env, const char *reason) {
  atomic_fetch_add_explicit(&sys->dead_letters, 1, memory_order_relaxed);
  const char *type = env->msg ? env->msg->descriptor->name : "(system)";
  akt__trace(sys, AKT_EV_DEAD_LETTER, target ? target->id : 0,
             env->sender ? env->sender->id : 0, type, env->hash, 0, reason);
  akt__log(sys, AKT_LOG_DEBUG, "dead letter: %s to %s: %s", type, target ? target->path : "?",
           reason);
  akt__env_free(env);
}

void akt__inflight_add(akt_system *sys) {
  atomic_fetch_add_explicit(&sys->inflight, 1, memory_order_relaxed);
}

void akt__inflight_done(akt_system *sys) {
  /* Read the backend first: once the count reaches zero a waiting
   * akt_system_free may release the system at any moment. */
  akt_backend *b = sys->backend;
  if (atomic_fetch_sub_explicit(&sys->inflight, 1, memory_order_acq_rel) == 1) b->ops->wake(b);
}
