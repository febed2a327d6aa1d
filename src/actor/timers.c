/* akt — actor timers.
 *
 * Each start of a timer gets a new generation. The backend timer posts
 * TIMER_FIRE(generation) to the actor; in its turn the actor queues a copy of
 * the timer's message, flagged TIMER with the generation, behind the
 * messages already in its mailbox (so a timer message is ordered as if sent
 * when the timer fired), re-arms a repeating timer, and, when the message
 * comes up, delivers it only if that generation is still active. So a
 * canceled or replaced timer never delivers, even a message already queued.
 * A repeating timer re-arms with the TIMER_FIRE envelope that fired, so it
 * keeps ticking without allocating.
 *
 * The backend timers behind actor timers, request timeouts and the
 * passivation check all post a system envelope to their actor: the helpers
 * for those come first.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* An actor's first room for timers; it doubles from there. */
#define TIMERS_INITIAL_CAPACITY 2

/* The backend timer callback: posts the system envelope `arg` to the cell
 * its meta's `ref` names, handing the reference over. */
static void post_cb(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__env *env = arg;
  akt_pid *target = akt__meta_of(env)->ref;
  akt_system *sys = target->sys;
  akt__meta_of(env)->ref = NULL;
  akt__cell_post_sys(target->cell, env);
  akt_pid_release(target);
  akt__inflight_done(sys);
}

int akt__sys_timer_start(akt__cell *c, akt_duration delay, akt__env *env, uint64_t *id) {
  AKT_ASSERT(env->sys == AKT__SYS_REQ_TIMEOUT || env->sys == AKT__SYS_TIMER_FIRE ||
             env->sys == AKT__SYS_PASSIVATE_CHECK);
  AKT_ASSERT(akt__meta_of(env)->ref == NULL); /* new, or handed back by post_cb */
  akt__meta_of(env)->ref = akt_pid_retain(akt__self(c));
  akt_system *sys = c->sys;
  akt__inflight_add(sys);
  int rc = sys->backend->ops->timer_start(sys->backend, delay, post_cb, env, 0, id);
  if (rc) {
    akt__env_free(env);
    akt__inflight_done(sys);
  }
  return rc;
}

void akt__sys_timer_cancel(akt__cell *c, uint64_t id, akt__env *env) {
  akt_backend *b = c->sys->backend;
  if (b->ops->timer_cancel(b, id) == 0) {
    akt__env_free(env);
    akt__inflight_done(c->sys);
  }
}

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

/* Arms the backend timer of `t` for `delay` with `spare` (its TIMER_FIRE
 * envelope that fired, taken) or a new envelope when spare is NULL. */
static int arm(akt__cell *c, akt__atimer *t, akt_duration delay, akt__env *spare) {
  AKT_ASSERT(t->fire_env == NULL);
  AKT_ASSERT(!spare || akt__meta_of(spare)->arg == t->gen);
  akt__env *fire = spare ? spare : akt__env_new_sys(AKT__SYS_TIMER_FIRE, t->gen);
  if (!fire) return AKT_ENOMEM;
  int rc = akt__sys_timer_start(c, delay, fire, &t->timer_id);
  if (rc) return rc;
  t->fire_env = fire;
  return 0;
}

/* Cancels the armed backend timer of `t`, if any. */
static void disarm(akt__cell *c, akt__atimer *t) {
  if (!t->fire_env) return;
  akt__sys_timer_cancel(c, t->timer_id, t->fire_env);
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
  AKT_ASSERT(x->ntimers <= AKT_MAX_TIMERS && x->ntimers <= x->cap_timers);
  rc = arm(c, t, delay, NULL);
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

void akt__timer_on_fire(akt__cell *c, akt__env *fire) {
  uint64_t gen = akt__meta_of(fire)->arg;
  akt__atimer *t = find_gen(c->ext, gen);
  if (!t || t->fire_env != fire) { /* canceled or replaced after it fired */
    akt__env_free(fire);
    return;
  }
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
  if (!t->interval) {
    akt__env_free(fire);
    return;
  }
  rc = arm(c, t, t->interval, fire);
  if (rc) /* only the backend can refuse: the envelope is reused */
    akt__log(c->sys, AKT_LOG_ERROR, "timer %llu of %s stopped repeating: %s",
             (unsigned long long)t->key, akt__self(c)->path, akt_strerror(rc));
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
