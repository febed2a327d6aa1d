/* akt — actor lifecycle: start, graceful stop, kill, termination.
 *
 * Stop is a small protocol. A STOP signal marks the cell STOPPING (user
 * messages now wait in the mailbox) and signals STOP to every child; each
 * child, once terminated, signals CHILD_DONE to its parent; when the last
 * child is gone the parent runs post_stop, becomes TERMINATED and signals
 * its own parent. So post_stop runs children before parents, and a stopped
 * subtree finishes bottom-up. Signals need no memory (cell.h): a stop
 * finishes however short memory is. KILL is a failure (AKT_EKILLED) handed
 * to the supervisor.
 */
#include <stdlib.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/remote/remote.h"
#include "src/system/system.h"
#include "src/util/assert.h"

void akt__cell_set_life(akt__cell *c, uint32_t to) {
  uint32_t from = atomic_load_explicit(&c->life, memory_order_relaxed);
  AKT_ASSERT_TRANSITION("cell life", from, to, to == from + 1);
  atomic_store_explicit(&c->life, (uint8_t)to, memory_order_seq_cst);
}

static void finish_stop(akt__cell *c) {
  akt_system *sys = c->sys;
  AKT_ASSERT(atomic_load_explicit(&c->life, memory_order_relaxed) == AKT__LIFE_STOPPING);
  if (c->def->post_stop) {
    c->cur = NULL;
    c->def->post_stop(c);
  }
  akt__trace(sys, AKT_EV_STOP, akt__self(c)->id, 0, c->def->kind, 0, 0, akt__self(c)->path);
  akt__requests_cancel_all(c);
  akt__timers_cancel_all(c);
  akt__passivate_disarm(c);
  akt__stash_drop_all(c);
  /* Freeze the uptime before the end is visible: metrics read after
   * termination then see the final value. */
  uint64_t at = atomic_load_explicit(&c->started_at, memory_order_relaxed);
  uint64_t now = sys->backend->ops->now(sys->backend);
  AKT_ASSERT(!(at & AKT__UPTIME_FROZEN));
  /* A stepped clock (the simulator's skew faults, akt_sim_set_clock) may
   * read less now than at the spawn: the actor then lived no time by it. */
  uint64_t up = now >= at ? now - at : 0;
  atomic_store_explicit(&c->started_at, up | AKT__UPTIME_FROZEN, memory_order_relaxed);
  akt__cell_set_life(c, AKT__LIFE_TERMINATED);

  /* Leave the tree and the registry before anyone hears of the end, so a
   * watcher may at once spawn a successor with the same name. */
  akt__sys_lock(sys);
  AKT_ASSERT(c->nchildren == 0 && c->first_child == NULL);
  akt__cell *parent = c->parent ? c->parent->cell : NULL;
  if (parent) {
    /* Unlink from the children (the first child's prev_sibling is the
     * last child), then list the cell as detached until its PID goes. */
    akt__cell *first = parent->first_child;
    AKT_ASSERT(first != NULL && parent->nchildren > 0);
    if (c == first) {
      parent->first_child = c->next_sibling;
      if (c->next_sibling) c->next_sibling->prev_sibling = c->prev_sibling;
    } else {
      c->prev_sibling->next_sibling = c->next_sibling;
      if (c->next_sibling)
        c->next_sibling->prev_sibling = c->prev_sibling;
      else
        first->prev_sibling = c->prev_sibling;
    }
    parent->nchildren--;
    AKT_ASSERT((parent->nchildren == 0) == (parent->first_child == NULL));
    akt__cell_detach(sys, c);
  }
  if (c->listed & AKT__LISTED_REGISTRY) akt__registry_remove(sys, c);
  akt__sys_unlock(sys);

  uint64_t live = atomic_fetch_sub_explicit(&sys->live_actors, 1, memory_order_relaxed);
  AKT_ASSERT(live > 0);
  /* Withdraw this actor's own watches before anyone hears of its end: a
   * watcher of this actor that then stops one of those targets finds the
   * UNWATCH already queued there. */
  akt__watch_release_all(c);
  akt__watch_notify_all(c);
  akt__events_actor(sys, (c->flags & AKT__CELL_PASSIVATED) ? AKT__EVENT_PASSIVATED
                                                           : AKT__EVENT_STOPPED,
                    c, 0);
  akt__cell_free_parts(c);

  /* Shutdown waits for the guardians one by one: tell it. */
  if (c->kind & AKT__KIND_GUARDIAN) sys->backend->ops->wake(sys->backend);
  if (parent) {
    /* The child holds a reference to its parent until its PID goes. */
    akt__cell_signal(parent, AKT__SIG_CHILD_DONE);
  } else {
    atomic_store_explicit(&sys->root_done, 1, memory_order_release);
    sys->backend->ops->wake(sys->backend);
  }
  akt__cell_drain(c);
  /* The tree's reference, taken at spawn; this turn still holds its own. */
  akt_pid_release(akt__self(c));
}

void akt__cell_begin_stop(akt__cell *c) {
  uint32_t life = atomic_load_explicit(&c->life, memory_order_acquire);
  if (life >= AKT__LIFE_STOPPING) return;
  /* CREATE is queued before anyone can reach the cell (spawn.c) and is
   * handled before the signals taken with it. */
  AKT_ASSERT(life == AKT__LIFE_RUNNING);
  akt__cell_set_life(c, AKT__LIFE_STOPPING);
  akt_system *sys = c->sys;
  akt__sys_lock(sys);
  uint32_t nchildren = c->nchildren;
  for (akt__cell *ch = c->first_child; ch; ch = ch->next_sibling) akt__cell_signal(ch, AKT__SIG_STOP);
  akt__sys_unlock(sys);
  if (nchildren == 0) finish_stop(c);
}

/* Children ended (AKT__SIG_CHILD_DONE): a stop or a restart that waited
 * for them may go on. */
static void children_done(akt__cell *c) {
  akt__supervise_children_done(c);
  if (atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_STOPPING) return;
  akt__sys_lock(c->sys);
  uint32_t nchildren = c->nchildren;
  akt__sys_unlock(c->sys);
  if (nchildren == 0) finish_stop(c);
}

void akt__cell_start(akt__cell *c, int restarted) {
  AKT_ASSERT(atomic_load_explicit(&c->life, memory_order_relaxed) == AKT__LIFE_RUNNING);
  int rc;
  if (restarted && c->def->post_restart)
    rc = c->def->post_restart(c, atomic_load_explicit(&c->cause, memory_order_relaxed));
  else
    rc = c->def->pre_start ? c->def->pre_start(c) : 0;
  akt__trace(c->sys, AKT_EV_START, akt__self(c)->id, 0, c->def->kind, 0, rc, NULL);
  if (rc) {
    akt__cell_fail(c, rc, AKT_FAILED_IN_PRE_START);
    return;
  }
  if (!restarted) akt__events_actor(c->sys, AKT__EVENT_STARTED, c, 0);
  if (c->ext && c->ext->opts.passivate_after)
    akt__passivate_arm(c, c->ext->opts.passivate_after, NULL);
}

static void handle_create(akt__cell *c) {
  akt__cell_set_life(c, AKT__LIFE_RUNNING); /* CREATE comes once, first */
  if (c->ext && c->ext->opts.passivate_after)
    c->ext->last_active = c->sys->backend->ops->now(c->sys->backend);
  akt__cell_start(c, 0);
}

void akt__cell_handle_sys(akt__cell *c, akt__env *env) {
  uint32_t life = atomic_load_explicit(&c->life, memory_order_acquire);
  AKT_ASSERT(env->sys > AKT__SYS_NONE && env->sys < AKT__SYS_KIND_MAX);
  switch ((akt__sys_kind)env->sys) {
    case AKT__SYS_CREATE:
      handle_create(c);
      break;
    case AKT__SYS_REQ_TIMEOUT:
      if (life < AKT__LIFE_TERMINATED) {
        akt__trace(c->sys, AKT_EV_TIMER, akt__self(c)->id, 0, NULL, 0, AKT__TIMER_KIND_REQUEST,
                   NULL);
        akt__request_on_timeout(c, env); /* takes env: it may re-arm with it */
        return;
      }
      break;
    case AKT__SYS_TIMER_FIRE:
      if (life == AKT__LIFE_RUNNING) {
        akt__trace(c->sys, AKT_EV_TIMER, akt__self(c)->id, 0, NULL, akt__meta_of(env)->arg,
                   AKT__TIMER_KIND_ACTOR, NULL);
        akt__timer_on_fire(c, env); /* takes env: a repeating timer re-arms with it */
        return;
      }
      break;
    case AKT__SYS_PASSIVATE_CHECK:
      if (life == AKT__LIFE_RUNNING) {
        akt__trace(c->sys, AKT_EV_TIMER, akt__self(c)->id, 0, NULL, 0, AKT__TIMER_KIND_PASSIVATE,
                   NULL);
        akt__passivate_on_check(c, env); /* takes env: it may re-arm with it */
        return;
      }
      break;
    case AKT__SYS_WATCH:
      akt__watch_on_watch(c, akt__meta_of(env)->ref);
      break;
    case AKT__SYS_UNWATCH:
      akt__watch_on_unwatch(c, akt__meta_of(env)->ref);
      break;
    case AKT__SYS_FAILED:
      akt__supervise_on_failed(c, env);
      break;
    case AKT__SYS_RESTART:
      if (life == AKT__LIFE_RUNNING)
        akt__supervise_on_restart(c, (int)(int64_t)akt__meta_of(env)->arg);
      break;
    case AKT__SYS_NONE:
    case AKT__SYS_KIND_MAX:
      AKT_ASSERT(!"a system envelope of no kind");
      break;
  }
  akt__env_free(env);
}

void akt__cell_handle_signals(akt__cell *c, uintptr_t sigs) {
  AKT_ASSERT(sigs != 0 && (sigs & ~(uintptr_t)AKT__SIG_MASK) == 0);
  if (sigs & AKT__SIG_STOP) akt__cell_begin_stop(c);
  /* Each step may move the life on: read it again before the next. */
  if ((sigs & AKT__SIG_KILL) &&
      atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_RUNNING &&
      !(c->flags & AKT__CELL_SUSPENDED)) /* a failure like any other, unless one waits already */
    akt__cell_fail(c, AKT_EKILLED, AKT_FAILED_KILLED);
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_RUNNING) {
    if (sigs & AKT__SIG_RESTART) /* a restart ends a suspension too */
      akt__supervise_on_restart(c, atomic_load_explicit(&c->cause, memory_order_relaxed));
    else if (sigs & AKT__SIG_RESUME)
      akt__supervise_on_resume(c);
  }
  if (sigs & AKT__SIG_CHILD_DONE) children_done(c);
  if (sigs & AKT__SIG_CHILD_FAILED) akt__supervise_on_marked_failures(c);
}

void akt__cell_free_parts(akt__cell *c) {
  if (c->ext) {
    akt__cell_ext *x = c->ext;
    free(x->pending);
    free(x->timers);
    for (uint32_t i = 0; i < x->nwatchers; i++) akt_pid_release(x->watchers[i]);
    free(x->watchers);
    for (uint32_t i = 0; i < x->nwatching; i++) akt_pid_release(x->watching[i]);
    free(x->watching);
    for (uint32_t i = 0; i < x->nrstats; i++) akt_pid_release(x->rstats[i].child);
    free(x->rstats);
    free(x->stash);
    x->pending = NULL;
    x->timers = NULL;
    x->watchers = x->watching = NULL;
    x->rstats = NULL;
    x->stash = NULL;
    x->npending = x->ntimers = x->nwatchers = x->nwatching = x->nrstats = x->nstash = 0;
    x->cap_pending = x->cap_timers = x->cap_watchers = x->cap_watching = 0;
    x->cap_rstats = x->cap_stash = 0;
    /* The ext itself stays until the PID goes: respawn reads its options,
     * and a sink's senders read its hook. */
  }
  free(c->state);
  c->state = NULL;
}

/* ---- from outside ---------------------------------------------------------- */

/* Signals `sig` to a live local actor (a remote one: stop only). */
static int signal_control(akt_pid *pid, uintptr_t sig) {
  if (!pid) return AKT_EINVAL;
  if (!pid->cell) return sig == AKT__SIG_STOP ? akt__remote_stop(pid) : AKT_ENOTSUP;
  akt__cell *c = pid->cell;
  if (c->kind & AKT__KIND_SINK) {
    akt__sink_close(pid);
    return 0;
  }
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED)
    return AKT_ESTOPPED;
  akt__cell_signal(c, sig);
  return 0;
}

int akt_stop(akt_pid *pid) { return signal_control(pid, AKT__SIG_STOP); }

int akt_kill(akt_pid *pid) {
  if (pid && pid->cell && (pid->cell->kind & AKT__KIND_GUARDIAN)) return AKT_ENOTSUP;
  return signal_control(pid, AKT__SIG_KILL);
}

int akt_restart(akt_pid *pid) {
  if (!pid) return AKT_EINVAL;
  akt__cell *c = pid->cell;
  if (!c || (c->kind & (AKT__KIND_SINK | AKT__KIND_GUARDIAN))) return AKT_ENOTSUP;
  if (atomic_load_explicit(&c->life, memory_order_acquire) >= AKT__LIFE_STOPPING)
    return AKT_ESTOPPED;
  /* An envelope, not the supervisor's signal: each akt_restart is one
   * restart, where two pending signals would be one. */
  akt__env *env = akt__env_new_sys(AKT__SYS_RESTART, 0);
  if (!env) return AKT_ENOMEM;
  akt__cell_post_sys(c, env);
  return 0;
}
