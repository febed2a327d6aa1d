/* akt — supervision: failures go up, directives come down.
 *
 * The failing child suspends itself and posts FAILED to its parent. The
 * parent, in its own turn, asks its supervisor's decider and posts RESUME,
 * RESTART (possibly after a backoff timer) or STOP to the child — or to all
 * its children for one-for-all — or fails itself (ESCALATE). A restart
 * stops the restarting actor's children first, then renews its state.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"

static const akt_supervisor default_supervisor = {0};

akt_directive akt_default_decider(const akt_failure *f, void *arg) {
  (void)arg;
  if (f->source == AKT_FAILED_IN_PRE_START || f->code == AKT_EKILLED) return AKT_DIRECTIVE_STOP;
  return AKT_DIRECTIVE_RESTART;
}

const char *akt_directive_name(akt_directive d) {
  switch (d) {
    case AKT_DIRECTIVE_RESUME: return "resume";
    case AKT_DIRECTIVE_RESTART: return "restart";
    case AKT_DIRECTIVE_STOP: return "stop";
    case AKT_DIRECTIVE_ESCALATE: return "escalate";
  }
  return "?";
}

static const char *source_name(akt_failure_source s) {
  switch (s) {
    case AKT_FAILED_IN_RECEIVE: return "receive";
    case AKT_FAILED_IN_PRE_START: return "pre_start";
    case AKT_FAILED_IN_CONTINUATION: return "continuation";
    case AKT_FAILED_ESCALATED: return "escalated";
    case AKT_FAILED_KILLED: return "killed";
  }
  return "?";
}

/* ---- the child's side -------------------------------------------------------- */

void akt__cell_fail(akt__cell *c, int code, akt_failure_source source) {
  akt_system *sys = c->sys;
  atomic_fetch_add_explicit(&sys->failures, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->failures, 1, memory_order_relaxed);
  akt__trace(sys, AKT_EV_FAIL, akt__self(c)->id, 0, c->def->kind, 0, code, source_name(source));
  akt__log(sys, AKT_LOG_WARN, "actor %s (%s) failed in %s: %s (%d)", akt__self(c)->path,
           c->def->kind, source_name(source), akt_strerror(code), code);
  akt__cell *parent = c->parent ? c->parent->cell : NULL;
  if (!parent) {
    akt__cell_begin_stop(c); /* the root has nobody to ask */
    return;
  }
  c->flags |= AKT__CELL_SUSPENDED;
  akt__env *env = akt__env_new_sys(AKT__SYS_FAILED, (uint64_t)(int64_t)code);
  if (!env) {
    akt__log(sys, AKT_LOG_ERROR, "out of memory reporting the failure of %s; stopping it",
             akt__self(c)->path);
    akt__cell_begin_stop(c);
    return;
  }
  akt__meta_of(env)->corr = (uint64_t)source;
  akt__meta_of(env)->ref = akt_pid_retain(akt__self(c));
  akt__cell_post_sys(parent, env);
}

/* Resumes the suspended children too: a child waiting on an escalation is
 * resumed with its parent. */
static void post_to_children(akt__cell *c, akt__sys_kind kind, uint64_t arg);

void akt__supervise_on_resume(akt__cell *c) {
  if (!(c->flags & AKT__CELL_SUSPENDED)) return;
  c->flags &= ~AKT__CELL_SUSPENDED;
  akt__trace(c->sys, AKT_EV_RESUME, akt__self(c)->id, 0, c->def->kind, 0, 0, NULL);
  post_to_children(c, AKT__SYS_RESUME, 0);
}

/* Renews the actor once its children are gone. */
static void finish_restart(akt__cell *c) {
  akt_system *sys = c->sys;
  c->flags &= ~AKT__CELL_RESTARTING;
  c->cur = NULL;
  if (c->def->pre_restart)
    c->def->pre_restart(c, c->restart_cause);
  else if (c->def->post_stop)
    c->def->post_stop(c);
  akt__requests_cancel_all(c);
  akt__timers_cancel_all(c);
  akt__passivate_disarm(c);
  akt__stash_requeue_all(c);
  if (c->ext) c->ext->nbehaviors = 0;
  if (c->state) memset(c->state, 0, c->def->state_size);
  c->flags &= ~AKT__CELL_SUSPENDED;
  atomic_fetch_add_explicit(&c->restarts, 1, memory_order_relaxed);
  akt__trace(sys, AKT_EV_RESTART, akt__self(c)->id, 0, c->def->kind, 0, c->restart_cause, NULL);
  akt__events_actor(sys, AKT__EVENT_RESTARTED, c, c->restart_cause);
  if (c->ext && c->ext->opts.passivate_after)
    c->ext->last_active = sys->backend->ops->now(sys->backend);
  akt__cell_start(c, 1);
}

void akt__supervise_on_restart(akt__cell *c, int cause) {
  if (c->flags & AKT__CELL_RESTARTING) return;
  c->flags |= AKT__CELL_RESTARTING | AKT__CELL_SUSPENDED;
  c->restart_cause = cause;
  akt__sys_lock(c->sys);
  uint32_t nchildren = c->nchildren;
  akt__sys_unlock(c->sys);
  if (nchildren == 0) {
    finish_restart(c);
    return;
  }
  post_to_children(c, AKT__SYS_STOP, 0);
}

/* ---- the parent's side ------------------------------------------------------- */

static akt__restart_stats *stats_for(akt__cell *c, uint64_t child_id) {
  akt__cell_ext *x = akt__cell_ext_get(c);
  if (!x) return NULL;
  for (uint32_t i = 0; i < x->nrstats; i++)
    if (x->rstats[i].child_id == child_id) return &x->rstats[i];
  if (x->nrstats == x->cap_rstats) {
    uint32_t cap = x->cap_rstats ? x->cap_rstats * 2 : 4;
    akt__restart_stats *n = realloc(x->rstats, cap * sizeof *n);
    if (!n) return NULL;
    x->rstats = n;
    x->cap_rstats = cap;
  }
  x->rstats[x->nrstats] = (akt__restart_stats){.child_id = child_id};
  return &x->rstats[x->nrstats++];
}

void akt__supervise_child_done(akt__cell *c, uint64_t child_id) {
  akt__cell_ext *x = c->ext;
  if (x) {
    for (uint32_t i = 0; i < x->nrstats; i++) {
      if (x->rstats[i].child_id != child_id) continue;
      x->rstats[i] = x->rstats[--x->nrstats];
      break;
    }
  }
  if ((c->flags & AKT__CELL_RESTARTING) &&
      atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_RUNNING) {
    akt__sys_lock(c->sys);
    uint32_t nchildren = c->nchildren;
    akt__sys_unlock(c->sys);
    if (nchildren == 0) finish_restart(c);
  }
}

static void post_to(akt__cell *target, akt__sys_kind kind, uint64_t arg) {
  akt__env *env = akt__env_new_sys(kind, arg);
  if (env) akt__cell_post_sys(target, env);
}

static void post_to_children(akt__cell *c, akt__sys_kind kind, uint64_t arg) {
  akt__sys_lock(c->sys);
  for (akt__cell *ch = c->first_child; ch; ch = ch->next_sibling) post_to(ch, kind, arg);
  akt__sys_unlock(c->sys);
}

/* Applies `kind` to the failed child, or to every child (one-for-all). */
static void apply(akt__cell *c, const akt_supervisor *sup, akt__cell *child, akt__sys_kind kind,
                  uint64_t arg) {
  if (sup->strategy == AKT_ONE_FOR_ALL)
    post_to_children(c, kind, arg);
  else
    post_to(child, kind, arg);
}

/* The restart delay for the n-th consecutive restart (n >= 1). */
static akt_duration backoff(akt__cell *c, const akt_supervisor *sup, uint32_t n) {
  if (!sup->backoff_min) return 0;
  akt_duration max = sup->backoff_max ? sup->backoff_max : sup->backoff_min;
  akt_duration d = sup->backoff_min;
  for (uint32_t i = 1; i < n && d < max; i++) d = d > max / 2 ? max : d * 2;
  if (d > max) d = max;
  uint32_t pct = sup->jitter_percent > 100 ? 100 : sup->jitter_percent;
  if (pct) {
    /* d * (1 + j), j uniform in [-pct%, +pct%], from the backend's stream. */
    akt_backend *b = c->sys->backend;
    uint64_t span = d / 100 * pct;
    uint64_t r = span ? b->ops->random_u64(b) % (2 * span + 1) : 0;
    d = d - span + r;
  }
  return d;
}

/* Posts RESTART(code) to the targets after `delay`. */
static void restart_later(akt__cell *c, const akt_supervisor *sup, akt__cell *child, int code,
                          akt_duration delay) {
  if (!delay) {
    apply(c, sup, child, AKT__SYS_RESTART, (uint64_t)(int64_t)code);
    return;
  }
  akt__cell *targets[1] = {child};
  akt__cell **list = targets;
  size_t n = 1;
  akt__cell **all = NULL;
  if (sup->strategy == AKT_ONE_FOR_ALL) {
    akt__sys_lock(c->sys);
    all = malloc((c->nchildren ? c->nchildren : 1) * sizeof *all);
    n = 0;
    for (akt__cell *ch = c->first_child; all && ch; ch = ch->next_sibling) all[n++] = ch;
    akt__sys_unlock(c->sys);
    if (!all) return;
    list = all;
  }
  akt_backend *b = c->sys->backend;
  for (size_t i = 0; i < n; i++) {
    akt__env *env = akt__env_new_sys(AKT__SYS_RESTART, (uint64_t)(int64_t)code);
    if (!env) continue;
    akt__meta_of(env)->ref = akt_pid_retain(akt__self(list[i]));
    uint64_t id;
    akt__inflight_add(c->sys);
    if (b->ops->timer_start(b, delay, akt__timer_post_cb, env, 0, &id) != 0) {
      akt__env_free(env);
      akt__inflight_done(c->sys);
      post_to(list[i], AKT__SYS_RESTART, (uint64_t)(int64_t)code);
    }
  }
  free(all);
}

void akt__supervise_on_failed(akt__cell *c, akt__env *env) {
  akt_pid *child_pid = akt__meta_of(env)->ref;
  akt__cell *child = child_pid ? child_pid->cell : NULL;
  if (!child || child->parent != akt__self(c) ||
      atomic_load_explicit(&child->life, memory_order_acquire) != AKT__LIFE_RUNNING ||
      atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_RUNNING)
    return; /* stopping anyway */
  akt_system *sys = c->sys;
  const akt_supervisor *sup = c->ext && c->ext->opts.supervisor ? c->ext->opts.supervisor
                                                                 : &default_supervisor;
  int code = (int)(int64_t)akt__meta_of(env)->arg;
  akt__restart_stats *st = stats_for(c, child_pid->id);
  akt_failure f = {.code = code,
                   .source = (akt_failure_source)akt__meta_of(env)->corr,
                   .child = child_pid,
                   .restarts = st ? st->count : 0};
  akt_directive d = sup->decider ? sup->decider(&f, sup->decider_arg) : akt_default_decider(&f, NULL);
  if (d == AKT_DIRECTIVE_ESCALATE && (c->kind & AKT__KIND_GUARDIAN)) {
    akt__log(sys, AKT_LOG_ERROR, "failure of %s escalated to a guardian: stopping it",
             child_pid->path);
    d = AKT_DIRECTIVE_STOP;
  }
  if (d == AKT_DIRECTIVE_RESTART && st) {
    uint64_t now = sys->backend->ops->now(sys->backend);
    if (st->count == 0 || (sup->within && now - st->window_start > sup->within)) {
      st->window_start = now;
      st->count = 0;
    }
    if (sup->max_restarts && st->count >= sup->max_restarts) {
      akt__log(sys, AKT_LOG_ERROR, "%s failed %u times within its window: stopping it and escalating",
               child_pid->path, (unsigned)(st->count + 1));
      akt__trace(sys, AKT_EV_DIRECTIVE, child_pid->id, akt__self(c)->id, "stop", 0,
                 AKT_DIRECTIVE_STOP, "max-restarts");
      apply(c, sup, child, AKT__SYS_STOP, 0);
      if (c->kind & AKT__KIND_GUARDIAN) return;
      akt__cell_fail(c, code, AKT_FAILED_ESCALATED);
      return;
    }
    st->count++;
  }
  akt__trace(sys, AKT_EV_DIRECTIVE, child_pid->id, akt__self(c)->id, akt_directive_name(d), 0, d,
             source_name(f.source));
  switch (d) {
    case AKT_DIRECTIVE_RESUME:
      apply(c, sup, child, AKT__SYS_RESUME, 0);
      break;
    case AKT_DIRECTIVE_RESTART:
      restart_later(c, sup, child, code, backoff(c, sup, st ? st->count : 1));
      break;
    case AKT_DIRECTIVE_ESCALATE:
      akt__cell_fail(c, code, AKT_FAILED_ESCALATED);
      break;
    case AKT_DIRECTIVE_STOP:
    default:
      apply(c, sup, child, AKT__SYS_STOP, 0);
      break;
  }
}
