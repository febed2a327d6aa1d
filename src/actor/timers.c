/* akt — actor timers.
 *
 * Each start of a timer gets a new generation. The backend timer posts
 * TIMER_FIRE(generation) to the actor; in its turn the actor queues a copy of
 * the timer's message, flagged TIMER with the generation, behind the
 * messages already in its mailbox (so a timer message is ordered as if sent
 * when the timer fired), re-arms a repeating timer, and, when the message
 * comes up, delivers it only if that generation is still active. So a
 * canceled or replaced timer never delivers, even a message already queued.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/grow.h"

/* An actor's first room for timers; it doubles from there. */
#define TIMERS_INITIAL_CAPACITY 2

static akt__atimer *find_key(akt__cell_ext *x, uint64_t key) {
  for (uint32_t i = 0; x && i < x->ntimers; i++)
    if (x->timers[i].key == key) return &x->timers[i];
  return NULL;
}

static akt__atimer *find_gen(akt__cell_ext *x, uint64_t gen) {
  for (uint32_t i = 0; x && i < x->ntimers; i++)
    if (x->timers[i].gen == gen) return &x->timers[i];
  return NULL;
}

/* Arms the backend timer of `t` for `delay`. */
static int arm(akt__cell *c, akt__atimer *t, akt_duration delay) {
  akt__env *fire = akt__env_new_sys(AKT__SYS_TIMER_FIRE, t->gen);
  if (!fire) return AKT_ENOMEM;
  akt__meta_of(fire)->ref = akt_pid_retain(akt__self(c));
  akt_system *sys = c->sys;
  akt__inflight_add(sys);
  int rc = sys->backend->ops->timer_start(sys->backend, delay, akt__timer_post_cb, fire, 0,
                                          &t->timer_id);
  if (rc) {
    akt__env_free(fire);
    akt__inflight_done(sys);
    return rc;
  }
  t->fire_env = fire;
  return 0;
}

/* Cancels the armed backend timer of `t`, if any. */
static void disarm(akt__cell *c, akt__atimer *t) {
  if (!t->fire_env) return;
  akt_backend *b = c->sys->backend;
  if (b->ops->timer_cancel(b, t->timer_id) == 0) {
    akt__env_free(t->fire_env);
    akt__inflight_done(c->sys);
  }
  t->fire_env = NULL;
  t->timer_id = 0;
}

/* Removes timer `t` (disarmed) from the table, keeping the others' order. */
static void remove_timer(akt__cell *c, akt__atimer *t) {
  akt__cell_ext *x = c->ext;
  disarm(c, t);
  akt__env_free(t->tmpl);
  uint32_t i = (uint32_t)(t - x->timers);
  memmove(&x->timers[i], &x->timers[i + 1], (x->ntimers - i - 1) * sizeof *t);
  x->ntimers--;
}

int akt_timer_start(akt_ctx *ctx, uint64_t key, akt_duration delay, akt_duration interval,
                    const ProtobufCMessage *msg) {
  if (!ctx || !msg) return AKT_EINVAL;
  akt__cell *c = ctx;
  akt__cell_ext *x = akt__cell_ext_get(c);
  if (!x) return AKT_ENOMEM;
  akt__env *tmpl;
  int rc = akt__env_new_msg(c->sys, msg, &tmpl);
  if (rc) return rc;
  akt__atimer *t = find_key(x, key);
  if (t) {
    disarm(c, t);
    akt__env_free(t->tmpl);
  } else {
    rc = akt__grow(&x->timers, sizeof *x->timers, x->ntimers, &x->cap_timers,
                   TIMERS_INITIAL_CAPACITY, AKT_MAX_TIMERS);
    if (rc) {
      akt__env_free(tmpl);
      return rc;
    }
    t = &x->timers[x->ntimers++];
  }
  *t = (akt__atimer){.key = key, .gen = ++x->next_gen, .interval = interval, .tmpl = tmpl};
  rc = arm(c, t, delay);
  if (rc) {
    t->tmpl = tmpl;
    remove_timer(c, t);
  }
  return rc;
}

int akt_timer_cancel(akt_ctx *ctx, uint64_t key) {
  if (!ctx) return AKT_EINVAL;
  akt__atimer *t = find_key(ctx->ext, key);
  if (!t) return AKT_ENOENT;
  remove_timer(ctx, t);
  return 0;
}

int akt_timer_active(akt_ctx *ctx, uint64_t key) {
  if (!ctx) return 0;
  akt__atimer *t = find_key(ctx->ext, key);
  return t != NULL;
}

void akt__timer_on_fire(akt__cell *c, uint64_t gen) {
  akt__atimer *t = find_gen(c->ext, gen);
  if (!t) return; /* canceled after the backend timer fired */
  /* The fire message is the one being handled; the timer is no longer armed. */
  t->fire_env = NULL;
  t->timer_id = 0;
  akt__env *env;
  int rc = akt__env_new_msg(c->sys, t->tmpl->msg, &env);
  if (rc) {
    akt__log(c->sys, AKT_LOG_ERROR, "timer %llu of %s lost a tick: %s",
             (unsigned long long)t->key, akt__self(c)->path, akt_strerror(rc));
  } else {
    env->flags |= AKT__ENV_TIMER;
    akt__meta_of(env)->arg = gen;
    akt__cell_post(c, env);
  }
  if (t->interval) {
    rc = arm(c, t, t->interval);
    if (rc)
      akt__log(c->sys, AKT_LOG_ERROR, "timer %llu of %s stopped repeating: %s",
               (unsigned long long)t->key, akt__self(c)->path, akt_strerror(rc));
  }
}

int akt__timer_accept(akt__cell *c, akt__env *env) {
  akt__atimer *t = find_gen(c->ext, akt__meta_of(env)->arg);
  if (!t) return 0;
  if (!t->interval) {
    /* A one-shot timer ends when its message is received. */
    remove_timer(c, t);
  }
  return 1;
}

void akt__timers_cancel_all(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x) return;
  for (uint32_t i = 0; i < x->ntimers; i++) {
    disarm(c, &x->timers[i]);
    akt__env_free(x->timers[i].tmpl);
  }
  x->ntimers = 0;
}
