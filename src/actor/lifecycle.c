/* akt — actor lifecycle: start, graceful stop, termination, failures.
 *
 * Stop is a small protocol. STOP marks the cell STOPPING (user messages now
 * wait in the mailbox) and sends STOP to every child; each child, once
 * terminated, sends CHILD_DONE to its parent; when the last child is done the
 * parent runs post_stop, becomes TERMINATED and reports to its own parent.
 * So post_stop runs children before parents, and a stopped subtree finishes
 * bottom-up.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/actor.pb-c.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"

/* Timer kinds in AKT_EV_TIMER records. */
enum { TIMER_KIND_ACTOR = 1, TIMER_KIND_REQUEST = 2 };

static void finish_stop(akt__cell *c) {
  akt_system *sys = c->sys;
  if (c->def->post_stop) {
    c->cur = NULL;
    c->def->post_stop(c);
  }
  akt__trace(sys, AKT_EV_STOP, c->self->id, 0, c->def->kind, 0, 0, c->self->path);
  akt__requests_cancel_all(c);
  akt__timers_cancel_all(c);
  atomic_store_explicit(&c->life, AKT__LIFE_TERMINATED, memory_order_seq_cst);

  /* Leave the tree and the registry before anyone hears of the end, so a
   * watcher may at once spawn a successor with the same name. */
  akt__sys_lock(sys);
  akt__cell *parent = c->parent ? c->parent->cell : NULL;
  if (parent) {
    if (c->prev_sibling)
      c->prev_sibling->next_sibling = c->next_sibling;
    else
      parent->first_child = c->next_sibling;
    if (c->next_sibling)
      c->next_sibling->prev_sibling = c->prev_sibling;
    else
      parent->last_child = c->prev_sibling;
    c->prev_sibling = c->next_sibling = NULL;
    parent->nchildren--;
  }
  if (c->in_registry) akt__registry_remove(sys, c);
  akt__sys_unlock(sys);

  atomic_fetch_sub_explicit(&sys->live_actors, 1, memory_order_relaxed);
  akt__watch_notify_all(c);
  akt__cell_free_parts(c);

  if (parent) {
    akt__env *done = akt__env_new_sys(AKT__SYS_CHILD_DONE, c->self->id);
    if (done) {
      done->ref = akt_pid_retain(c->self);
      akt__cell_post_sys(parent, done);
    } else {
      akt__log(sys, AKT_LOG_ERROR, "out of memory reporting %s's termination", c->self->path);
    }
  } else {
    atomic_store_explicit(&sys->root_done, 1, memory_order_release);
    sys->backend->ops->wake(sys->backend);
  }
  akt__cell_drain(c);
  /* The tree's reference, taken at spawn; this turn still holds its own. */
  akt_pid_release(c->self);
}

void akt__cell_begin_stop(akt__cell *c) {
  uint32_t life = atomic_load_explicit(&c->life, memory_order_acquire);
  if (life >= AKT__LIFE_STOPPING) return;
  atomic_store_explicit(&c->life, AKT__LIFE_STOPPING, memory_order_seq_cst);
  akt_system *sys = c->sys;
  akt__sys_lock(sys);
  uint32_t nchildren = c->nchildren;
  for (akt__cell *ch = c->first_child; ch; ch = ch->next_sibling) {
    akt__env *stop = akt__env_new_sys(AKT__SYS_STOP, 0);
    if (stop) akt__cell_post_sys(ch, stop);
  }
  akt__sys_unlock(sys);
  if (nchildren == 0) finish_stop(c);
}

static void child_done(akt__cell *c) {
  if (atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_STOPPING) return;
  akt__sys_lock(c->sys);
  uint32_t nchildren = c->nchildren;
  akt__sys_unlock(c->sys);
  if (nchildren == 0) finish_stop(c);
}

static void handle_create(akt__cell *c) {
  if (atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_STARTING) return;
  atomic_store_explicit(&c->life, AKT__LIFE_RUNNING, memory_order_release);
  int rc = c->def->pre_start ? c->def->pre_start(c) : 0;
  akt__trace(c->sys, AKT_EV_START, c->self->id, 0, c->def->kind, 0, rc, NULL);
  if (rc) akt__cell_fail(c, rc, "pre_start");
}

void akt__cell_handle_sys(akt__cell *c, akt__env *env) {
  uint32_t life = atomic_load_explicit(&c->life, memory_order_acquire);
  switch ((akt__sys_kind)env->sys) {
    case AKT__SYS_CREATE:
      handle_create(c);
      break;
    case AKT__SYS_STOP:
      akt__cell_begin_stop(c);
      break;
    case AKT__SYS_CHILD_DONE:
      child_done(c);
      break;
    case AKT__SYS_REQ_TIMEOUT:
      if (life < AKT__LIFE_TERMINATED) {
        akt__trace(c->sys, AKT_EV_TIMER, c->self->id, 0, NULL, env->arg, TIMER_KIND_REQUEST, NULL);
        akt__request_on_timeout(c, env->arg);
      }
      break;
    case AKT__SYS_WATCH:
      akt__watch_on_watch(c, env->ref);
      break;
    case AKT__SYS_UNWATCH:
      akt__watch_on_unwatch(c, env->ref);
      break;
    case AKT__SYS_TIMER_FIRE:
      if (life == AKT__LIFE_RUNNING) {
        akt__trace(c->sys, AKT_EV_TIMER, c->self->id, 0, NULL, env->arg, TIMER_KIND_ACTOR, NULL);
        akt__timer_on_fire(c, env->arg);
      }
      break;
    default:
      break;
  }
  akt__env_free(env);
}

void akt__cell_fail(akt__cell *c, int code, const char *where) {
  akt_system *sys = c->sys;
  atomic_fetch_add_explicit(&sys->failures, 1, memory_order_relaxed);
  akt__trace(sys, AKT_EV_FAIL, c->self->id, 0, c->def->kind, 0, code, where);
  akt__log(sys, AKT_LOG_WARN, "actor %s (%s) failed in %s: %s (%d); stopping it", c->self->path,
           c->def->kind, where, akt_strerror(code), code);
  akt__cell_begin_stop(c);
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
    free(x);
    c->ext = NULL;
  }
  free(c->state);
  c->state = NULL;
}
