/* akt — passivation: an actor idle for too long stops itself.
 *
 * One backend timer per actor, armed for the time left until the actor
 * would have been idle for `passivate_after`. When it fires the actor looks
 * at when it last handled a message: idle long enough, it stops (its later
 * mail goes to dead letters with the reason "passivated"); otherwise the
 * timer is armed again for the remainder. So there is no timer work per
 * message, and the stop comes exactly `passivate_after` after the last
 * message.
 */
#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"

void akt__passivate_arm(akt__cell *c, akt_duration delay) {
  akt__cell_ext *x = c->ext;
  if (!x || x->passivate_env) return;
  akt__env *env = akt__env_new_sys(AKT__SYS_PASSIVATE_CHECK, 0);
  if (!env) {
    akt__log(c->sys, AKT_LOG_ERROR, "out of memory arming passivation of %s", akt__self(c)->path);
    return;
  }
  akt__meta_of(env)->ref = akt_pid_retain(akt__self(c));
  akt_backend *b = c->sys->backend;
  akt__inflight_add(c->sys);
  if (b->ops->timer_start(b, delay, akt__timer_post_cb, env, 0, &x->passivate_timer) != 0) {
    akt__env_free(env);
    akt__inflight_done(c->sys);
    return;
  }
  x->passivate_env = env;
}

void akt__passivate_disarm(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x || !x->passivate_env) return;
  akt_backend *b = c->sys->backend;
  if (b->ops->timer_cancel(b, x->passivate_timer) == 0) {
    akt__env_free(x->passivate_env);
    akt__inflight_done(c->sys);
  }
  x->passivate_env = NULL;
}

void akt__passivate_on_check(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x || !x->passivate_env) return; /* disarmed after it fired */
  x->passivate_env = NULL;             /* the message being handled */
  akt_duration after = x->opts.passivate_after;
  uint64_t now = c->sys->backend->ops->now(c->sys->backend);
  uint64_t idle = now - x->last_active;
  if (idle < after) {
    akt__passivate_arm(c, after - idle);
    return;
  }
  c->flags |= AKT__CELL_PASSIVATED;
  akt__trace(c->sys, AKT_EV_PASSIVATE, akt__self(c)->id, 0, c->def->kind, idle, 0,
             akt__self(c)->path);
  akt__log(c->sys, AKT_LOG_INFO, "passivating %s after %llu ms idle", akt__self(c)->path,
           (unsigned long long)(idle / 1000000u));
  akt__cell_begin_stop(c);
}
