/* akt — supervision: failures go up, directives come down.
 *
 * The failing child suspends itself and reports to its parent: a FAILED
 * envelope, or — with no memory for one — a mark in its own cell and a
 * CHILD_FAILED signal, after which the parent finds the mark among its
 * children. The parent, in its own turn, asks its supervisor's decider and
 * signals RESUME, RESTART (possibly after a backoff timer) or STOP to the
 * child — or to all its children for one-for-all — or fails itself
 * (ESCALATE). Directives are signals (cell.h): they need no memory, so a
 * decision always reaches its child. A restart stops the restarting
 * actor's children first, then renews its state.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

static const akt_supervisor default_supervisor = {0};

/* A parent's first room for restart statistics; it doubles from there. It
 * holds one entry per child that failed, so the children's own limit
 * (max_actors) bounds it. */
#define RSTATS_INITIAL_CAPACITY 4
#define RSTATS_MAX UINT32_MAX

/* jitter_percent's unit. */
#define PER_CENT 100

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

/* Is `s` one of the failure sources? */
static int source_valid(uint32_t s) {
  return s >= AKT_FAILED_IN_RECEIVE && s <= AKT_FAILED_KILLED;
}

_Static_assert((AKT_FAILED_KILLED << AKT__LISTED_SOURCE_SHIFT) <= AKT__LISTED_SOURCE,
               "every failure source fits in a cell's listed bits");

int akt__supervisor_check(const akt_supervisor *sup) {
  if (!sup) return 0;
  if (sup->strategy != AKT_ONE_FOR_ONE && sup->strategy != AKT_ONE_FOR_ALL) return AKT_EINVAL;
  if (sup->jitter_percent > AKT_MAX_JITTER_PERCENT) return AKT_EINVAL;
  if (sup->backoff_max && sup->backoff_max < sup->backoff_min) return AKT_EINVAL;
  return 0;
}

/* ---- the child's side -------------------------------------------------------- */

void akt__cell_fail(akt__cell *c, int code, akt_failure_source source) {
  akt_system *sys = c->sys;
  AKT_ASSERT(atomic_load_explicit(&c->life, memory_order_relaxed) == AKT__LIFE_RUNNING);
  AKT_ASSERT(code != 0 && source_valid(source));
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
  if (env) {
    akt__meta_of(env)->corr = (uint64_t)source;
    akt__meta_of(env)->ref = akt_pid_retain(akt__self(c));
    akt__cell_post_sys(parent, env);
    return;
  }
  /* No memory for the report: it waits in this cell, and the parent,
   * signaled, finds it among its children. The code is stored before the
   * lock that publishes the mark. */
  atomic_store_explicit(&c->cause, (int32_t)code, memory_order_relaxed);
  akt__sys_lock(sys);
  c->listed = (uint8_t)((c->listed & ~AKT__LISTED_SOURCE) | AKT__LISTED_FAILED |
                        ((uint32_t)source << AKT__LISTED_SOURCE_SHIFT));
  akt__sys_unlock(sys);
  akt__log(sys, AKT_LOG_WARN, "no memory to report the failure of %s: its parent looks for it",
           akt__self(c)->path);
  akt__cell_signal(parent, AKT__SIG_CHILD_FAILED);
}

/* Gives `sig` (AKT__SIG_RESUME, _RESTART for `cause`, _STOP) to one child. */
static void direct(akt__cell *target, uintptr_t sig, int cause) {
  AKT_ASSERT(sig == AKT__SIG_RESUME || sig == AKT__SIG_RESTART || sig == AKT__SIG_STOP);
  if (sig == AKT__SIG_RESTART)
    akt__cell_signal_restart(target, cause);
  else
    akt__cell_signal(target, sig);
}

/* Gives `sig` to every child of `c`. */
static void direct_children(akt__cell *c, uintptr_t sig, int cause) {
  akt__sys_lock(c->sys);
  for (akt__cell *ch = c->first_child; ch; ch = ch->next_sibling) direct(ch, sig, cause);
  akt__sys_unlock(c->sys);
}

void akt__supervise_on_resume(akt__cell *c) {
  if (!(c->flags & AKT__CELL_SUSPENDED)) return;
  c->flags &= ~AKT__CELL_SUSPENDED;
  akt__trace(c->sys, AKT_EV_RESUME, akt__self(c)->id, 0, c->def->kind, 0, 0, NULL);
  /* A child waiting on an escalation is resumed with its parent. */
  direct_children(c, AKT__SIG_RESUME, 0);
}

/* Renews the actor once its children are gone. */
static void finish_restart(akt__cell *c) {
  akt_system *sys = c->sys;
  AKT_ASSERT(c->flags & AKT__CELL_RESTARTING);
  AKT_ASSERT(atomic_load_explicit(&c->life, memory_order_relaxed) == AKT__LIFE_RUNNING);
  int cause = atomic_load_explicit(&c->cause, memory_order_relaxed);
  c->flags &= ~AKT__CELL_RESTARTING;
  c->cur = NULL;
  if (c->def->pre_restart)
    c->def->pre_restart(c, cause);
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
  akt__trace(sys, AKT_EV_RESTART, akt__self(c)->id, 0, c->def->kind, 0, cause, NULL);
  akt__events_actor(sys, AKT__EVENT_RESTARTED, c, cause);
  if (c->ext && c->ext->opts.passivate_after)
    c->ext->last_active = sys->backend->ops->now(sys->backend);
  akt__cell_start(c, 1);
}

void akt__supervise_on_restart(akt__cell *c, int cause) {
  AKT_ASSERT(atomic_load_explicit(&c->life, memory_order_relaxed) == AKT__LIFE_RUNNING);
  if (c->flags & AKT__CELL_RESTARTING) return;
  c->flags |= AKT__CELL_RESTARTING | AKT__CELL_SUSPENDED;
  atomic_store_explicit(&c->cause, (int32_t)cause, memory_order_relaxed);
  akt__sys_lock(c->sys);
  uint32_t nchildren = c->nchildren;
  akt__sys_unlock(c->sys);
  if (nchildren == 0) {
    finish_restart(c);
    return;
  }
  direct_children(c, AKT__SIG_STOP, 0);
}

/* ---- the parent's side ------------------------------------------------------- */

static akt__restart_stats *stats_for(akt__cell *c, akt_pid *child) {
  akt__cell_ext *x = akt__cell_ext_get(c);
  if (!x) return NULL;
  for (uint32_t i = 0; i < x->nrstats; i++)
    if (x->rstats[i].child == child) return &x->rstats[i];
  if (akt__grow(&x->rstats, sizeof *x->rstats, x->nrstats, &x->cap_rstats,
                RSTATS_INITIAL_CAPACITY, RSTATS_MAX) != 0)
    return NULL;
  x->rstats[x->nrstats] = (akt__restart_stats){.child = akt_pid_retain(child)};
  return &x->rstats[x->nrstats++];
}

void akt__supervise_children_done(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  /* Forget the statistics of the children that ended. */
  for (uint32_t i = 0; x && i < x->nrstats;) {
    akt__cell *ch = x->rstats[i].child->cell;
    if (atomic_load_explicit(&ch->life, memory_order_acquire) != AKT__LIFE_TERMINATED) {
      i++;
      continue;
    }
    akt_pid_release(x->rstats[i].child);
    x->rstats[i] = x->rstats[--x->nrstats];
  }
  if ((c->flags & AKT__CELL_RESTARTING) &&
      atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_RUNNING) {
    akt__sys_lock(c->sys);
    uint32_t nchildren = c->nchildren;
    akt__sys_unlock(c->sys);
    if (nchildren == 0) finish_restart(c);
  }
}

/* Applies `sig` to the failed child, or to every child (one-for-all). */
static void apply(akt__cell *c, const akt_supervisor *sup, akt__cell *child, uintptr_t sig,
                  int cause) {
  if (sup->strategy == AKT_ONE_FOR_ALL)
    direct_children(c, sig, cause);
  else
    direct(child, sig, cause);
}

/* The restart delay for the n-th consecutive restart (n >= 1). */
static akt_duration backoff(akt__cell *c, const akt_supervisor *sup, uint32_t n) {
  if (!sup->backoff_min) return 0;
  akt_duration max = sup->backoff_max ? sup->backoff_max : sup->backoff_min;
  AKT_ASSERT(max >= sup->backoff_min && sup->jitter_percent <= AKT_MAX_JITTER_PERCENT);
  akt_duration d = sup->backoff_min;
  for (uint32_t i = 1; i < n && d < max; i++) d = d > max / 2 ? max : d * 2;
  AKT_ASSERT(d <= max);
  uint32_t pct = sup->jitter_percent;
  if (pct) {
    /* d * (1 + j), j uniform in [-pct%, +pct%], from the backend's stream. */
    akt_backend *b = c->sys->backend;
    uint64_t span = d / PER_CENT * pct;
    uint64_t r = span ? b->ops->random_u64(b) % (2 * span + 1) : 0;
    d = d - span + r;
  }
  return d;
}

/* The backoff timer's callback: `arg` is the child's PID (one reference),
 * `cookie` the failure code. */
static void restart_timer_cb(void *arg, uint64_t cookie) {
  akt_pid *pid = arg;
  akt_system *sys = pid->sys;
  akt__cell_signal_restart(pid->cell, (int)(int32_t)(uint32_t)cookie);
  akt_pid_release(pid);
  akt__inflight_done(sys);
}

/* Signals RESTART(cause) to `target` after `delay`: the timer carries the
 * target's PID and the code, so nothing is allocated but the backend's
 * timer, and if the backend cannot arm one the restart comes at once.
 * Returns 1 if it came at once, else 0. */
static int restart_after(akt__cell *target, int cause, akt_duration delay) {
  akt_system *sys = target->sys;
  akt_backend *b = sys->backend;
  akt_pid *pid = akt_pid_retain(akt__self(target));
  uint64_t id;
  akt__inflight_add(sys);
  if (b->ops->timer_start(b, delay, restart_timer_cb, pid, (uint64_t)(uint32_t)cause, &id) == 0)
    return 0;
  akt__inflight_done(sys);
  akt_pid_release(pid); /* not the last: the tree holds one */
  akt__cell_signal_restart(target, cause);
  return 1;
}

/* Restarts the failed child (or, one-for-all, every child) after `delay`. */
static void restart_later(akt__cell *c, const akt_supervisor *sup, akt__cell *child, int code,
                          akt_duration delay) {
  if (!delay) {
    apply(c, sup, child, AKT__SIG_RESTART, code);
    return;
  }
  uint32_t undelayed = 0;
  if (sup->strategy != AKT_ONE_FOR_ALL) {
    undelayed = (uint32_t)restart_after(child, code, delay);
  } else {
    akt__sys_lock(c->sys);
    for (akt__cell *ch = c->first_child; ch; ch = ch->next_sibling)
      undelayed += (uint32_t)restart_after(ch, code, delay);
    akt__sys_unlock(c->sys);
  }
  if (undelayed) /* logged outside the lock: a user's log sink may take it */
    akt__log(c->sys, AKT_LOG_WARN, "no timer to delay %u restart(s) by %s's supervisor: "
             "restarted at once", (unsigned)undelayed, akt__self(c)->path);
}

/* Decides on a failure of `child_pid` (code, source) in parent `c`. */
static void supervise(akt__cell *c, akt_pid *child_pid, int code, akt_failure_source source) {
  akt__cell *child = child_pid ? child_pid->cell : NULL;
  if (!child || child->parent != akt__self(c) ||
      atomic_load_explicit(&child->life, memory_order_acquire) != AKT__LIFE_RUNNING ||
      atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_RUNNING)
    return; /* stopping anyway */
  AKT_ASSERT(source_valid(source));
  akt_system *sys = c->sys;
  const akt_supervisor *sup = c->ext && c->ext->opts.supervisor ? c->ext->opts.supervisor
                                                                 : &default_supervisor;
  akt__restart_stats *st = stats_for(c, child_pid);
  if (!st)
    akt__log(sys, AKT_LOG_ERROR, "no memory for the restart statistics of %s: its restarts "
             "are not counted", child_pid->path);
  uint64_t now = sys->backend->ops->now(sys->backend);
  /* Restarts older than the window no longer count — also in what the
   * decider is told (akt_failure.restarts: "within the window so far"). */
  if (st && st->count && sup->within && now - st->window_start > sup->within) st->count = 0;
  akt_failure f = {.code = code, .source = source, .child = child_pid,
                   .restarts = st ? st->count : 0};
  akt_directive d = sup->decider ? sup->decider(&f, sup->decider_arg) : akt_default_decider(&f, NULL);
  if (d == AKT_DIRECTIVE_ESCALATE && (c->kind & AKT__KIND_GUARDIAN)) {
    akt__log(sys, AKT_LOG_ERROR, "failure of %s escalated to a guardian: stopping it",
             child_pid->path);
    d = AKT_DIRECTIVE_STOP;
  }
  if (d == AKT_DIRECTIVE_RESTART && st) {
    if (st->count == 0) st->window_start = now; /* the first restart opens a window */
    if (sup->max_restarts && st->count >= sup->max_restarts) {
      akt__log(sys, AKT_LOG_ERROR, "%s failed %u times within its window: stopping it and escalating",
               child_pid->path, (unsigned)(st->count + 1));
      akt__trace(sys, AKT_EV_DIRECTIVE, child_pid->id, akt__self(c)->id, "stop", 0,
                 AKT_DIRECTIVE_STOP, "max-restarts");
      apply(c, sup, child, AKT__SIG_STOP, 0);
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
      apply(c, sup, child, AKT__SIG_RESUME, 0);
      break;
    case AKT_DIRECTIVE_RESTART:
      restart_later(c, sup, child, code, backoff(c, sup, st ? st->count : 1));
      break;
    case AKT_DIRECTIVE_ESCALATE:
      akt__cell_fail(c, code, AKT_FAILED_ESCALATED);
      break;
    case AKT_DIRECTIVE_STOP:
    default:
      apply(c, sup, child, AKT__SIG_STOP, 0);
      break;
  }
}

void akt__supervise_on_failed(akt__cell *c, akt__env *env) {
  akt__env_meta *m = akt__meta_of(env);
  supervise(c, m->ref, (int)(int64_t)m->arg, (akt_failure_source)m->corr);
}

void akt__supervise_on_marked_failures(akt__cell *c) {
  for (;;) {
    /* One marked child at a time: deciding may change the children. */
    akt_pid *child = NULL;
    uint32_t source = 0;
    akt__sys_lock(c->sys);
    for (akt__cell *ch = c->first_child; ch; ch = ch->next_sibling) {
      if (!(ch->listed & AKT__LISTED_FAILED)) continue;
      source = (ch->listed & AKT__LISTED_SOURCE) >> AKT__LISTED_SOURCE_SHIFT;
      ch->listed &= (uint8_t)~(AKT__LISTED_FAILED | AKT__LISTED_SOURCE);
      child = akt_pid_retain(akt__self(ch));
      break;
    }
    akt__sys_unlock(c->sys);
    if (!child) return;
    AKT_ASSERT(source_valid(source));
    supervise(c, child, atomic_load_explicit(&child->cell->cause, memory_order_relaxed),
              (akt_failure_source)source);
    akt_pid_release(child);
  }
}
