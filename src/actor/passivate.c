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
#include "src/util/assert.h"

void akt__passivate_arm(akt__cell *c, akt_duration delay, akt__env *spare) {
  akt__cell_ext *x = c->ext;
  AKT_ASSERT(x != NULL && x->opts.passivate_after > 0);
  AKT_ASSERT(!spare || spare->sys == AKT__SYS_PASSIVATE_CHECK);
  if (x->passivate_env) { /* armed already */
    akt__env_free(spare);
    return;
  }
  akt__env *env = spare ? spare : akt__env_new_sys(AKT__SYS_PASSIVATE_CHECK, 0);
  int rc = env ? akt__sys_timer_start(c, delay, env, &x->passivate_timer) : AKT_ENOMEM;
  if (rc) {
    /* Only the first arm allocates (a re-arm reuses the check that
     * fired): the actor is starting, and stays up. */
    akt__log(c->sys, AKT_LOG_ERROR, "cannot arm the passivation of %s: %s", akt__self(c)->path,
             akt_strerror(rc));
    return;
  }
  x->passivate_env = env;
}

void akt__passivate_disarm(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x || !x->passivate_env) return;
  akt__sys_timer_cancel(c, x->passivate_timer, x->passivate_env);
  x->passivate_env = NULL;
}

void akt__passivate_on_check(akt__cell *c, akt__env *env) {
  akt__cell_ext *x = c->ext;
  if (!x || x->passivate_env != env) { /* disarmed after it fired */
    akt__env_free(env);
    return;
  }
  x->passivate_env = NULL; /* the message being handled */
  akt_duration after = x->opts.passivate_after;
  uint64_t now = c->sys->backend->ops->now(c->sys->backend);
  /* A clock stepped back since the last message (the simulator's skew
   * faults, akt_sim_set_clock; a real monotonic clock cannot) restarts the
   * idle period from now rather than wrapping it to an endless one. */
  if (now < x->last_active) x->last_active = now;
  uint64_t idle = now - x->last_active;
  if (idle < after) {
    akt__passivate_arm(c, after - idle, env);
    return;
  }
  akt__env_free(env);
  c->flags |= AKT__CELL_PASSIVATED;
  akt__trace(c->sys, AKT_EV_PASSIVATE, akt__self(c)->id, 0, c->def->kind, idle, 0,
             akt__self(c)->path);
  akt__log(c->sys, AKT_LOG_INFO, "passivating %s after %llu ms idle", akt__self(c)->path,
           (unsigned long long)(idle / AKT_MILLIS(1)));
  akt__cell_begin_stop(c);
}
