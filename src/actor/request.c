/* akt — requests from actors (continuations) and asks from outside.
 *
 * A request is a send flagged REQUEST with a per-actor correlation id, a
 * pending entry in the requester, and a backend timer that posts
 * REQ_TIMEOUT. Whichever of reply and timeout is handled first completes
 * the entry; the other finds nothing and is dropped (a late reply goes to
 * dead letters). An ask is the same from outside an actor: a temporary sink
 * cell takes the first reply and the caller waits on the backend.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/actor/send.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* An actor's first room for pending requests; it doubles from there. */
#define PENDING_INITIAL_CAPACITY 4

akt__cell_ext *akt__cell_ext_get(akt__cell *c) {
  if (!c->ext) c->ext = calloc(1, sizeof *c->ext);
  return c->ext;
}

/* Arms the actor's request timer for `due` unless it is armed for that
 * time or earlier, with `spare` (the REQ_TIMEOUT envelope that fired,
 * taken) or a new envelope when spare is NULL. Returns 0, AKT_ENOMEM (only
 * without a spare) or an error from the backend. */
static int arm_for(akt__cell *c, akt__cell_ext *x, uint64_t due, akt__env *spare) {
  AKT_ASSERT(!spare || spare->sys == AKT__SYS_REQ_TIMEOUT);
  if (x->req_timer_env) {
    if (x->req_timer_due <= due) {
      akt__env_free(spare);
      return 0;
    }
    /* Armed too late for this one: move it earlier. */
    akt__sys_timer_cancel(c, x->req_timer_id, x->req_timer_env);
    x->req_timer_env = NULL;
  }
  akt__env *tenv = spare ? spare : akt__env_new_sys(AKT__SYS_REQ_TIMEOUT, 0);
  if (!tenv) return AKT_ENOMEM;
  akt_backend *b = c->sys->backend;
  uint64_t now = b->ops->now(b);
  int rc = akt__sys_timer_start(c, due > now ? due - now : 0, tenv, &x->req_timer_id);
  if (rc) return rc;
  x->req_timer_env = tenv;
  x->req_timer_due = due;
  return 0;
}

int akt_request(akt_ctx *ctx, akt_pid *to, const ProtobufCMessage *msg, akt_duration timeout,
                akt_reply_fn fn, void *arg) {
  if (!ctx || !to || !msg || !fn) return AKT_EINVAL;
  akt__cell *c = ctx;
  akt__cell_ext *x = akt__cell_ext_get(c);
  if (!x) return AKT_ENOMEM;
  int rc = akt__grow(&x->pending, sizeof *x->pending, x->npending, &x->cap_pending,
                     PENDING_INITIAL_CAPACITY, AKT_MAX_PENDING_REQUESTS);
  if (rc) return rc;
  akt_backend *b = c->sys->backend;
  uint64_t now = b->ops->now(b);
  uint64_t due = timeout >= AKT_FOREVER - now ? AKT_FOREVER : now + timeout;
  rc = arm_for(c, x, due, NULL);
  if (rc) return rc;
  uint64_t corr = ++x->next_corr;
  AKT_ASSERT(corr != 0); /* 0 means "no correlation id" */
  rc = akt__send(to, msg, akt__self(c), corr, AKT__ENV_REQUEST);
  if (rc) return rc; /* the armed timer will find nothing due: harmless */
  AKT_ASSERT(x->npending < x->cap_pending && x->npending < AKT_MAX_PENDING_REQUESTS);
  x->pending[x->npending++] =
      (akt__pending){.corr = corr, .fn = fn, .arg = arg, .deadline = due};
  return 0;
}

/* Finds and removes the pending entry for `corr`; returns 0 if absent. */
static int take_pending(akt__cell *c, uint64_t corr, akt__pending *out) {
  akt__cell_ext *x = c->ext;
  if (!x) return 0;
  for (uint32_t i = 0; i < x->npending; i++) {
    if (x->pending[i].corr != corr) continue;
    *out = x->pending[i];
    /* Keep the order of the rest: timeouts walk it, and traces must not
     * depend on which request finished first. */
    AKT_ASSERT(x->npending > 0);
    for (uint32_t k = i + 1; k < x->npending; k++) x->pending[k - 1] = x->pending[k];
    x->npending--;
    return 1;
  }
  return 0;
}

void akt__request_on_reply(akt__cell *c, akt__env *env) {
  akt__pending p;
  if (atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_RUNNING ||
      !take_pending(c, akt__env_corr(env), &p)) {
    akt__dead_letter(c->sys, akt__self(c), env, "late reply");
    return;
  }
  akt_system *sys = c->sys;
  if (sys->tracing)
    akt__trace(sys, AKT_EV_DELIVER, akt__self(c)->id, env->sender ? env->sender->id : 0,
               env->msg->descriptor->name, akt__env_hash(env), 0, "reply");
  AKT_ASSERT(c->cur == NULL);
  c->cur = env;
  atomic_fetch_add_explicit(&sys->processed, 1, memory_order_relaxed);
  int rc = p.fn(c, env->msg, 0, p.arg);
  c->cur = NULL;
  akt__env_free(env);
  if (rc) akt__cell_fail(c, rc, AKT_FAILED_IN_CONTINUATION);
}

void akt__request_on_timeout(akt__cell *c, akt__env *env) {
  akt__cell_ext *x = c->ext;
  if (!x || x->req_timer_env != env || /* disarmed or moved after it fired */
      atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_RUNNING) {
    if (x && x->req_timer_env == env) x->req_timer_env = NULL;
    akt__env_free(env);
    return;
  }
  x->req_timer_env = NULL; /* the message being handled */
  akt_backend *b = c->sys->backend;
  uint64_t now = b->ops->now(b);
  /* Time out what is due, oldest request first; a continuation may issue
   * new requests, which re-arm the timer themselves. */
  for (uint32_t i = 0; c->ext && i < c->ext->npending;) {
    akt__pending p = c->ext->pending[i];
    if (p.deadline > now) {
      i++;
      continue;
    }
    take_pending(c, p.corr, &p);
    c->cur = NULL;
    int rc = p.fn(c, NULL, AKT_ETIMEDOUT, p.arg);
    if (rc) {
      akt__env_free(env);
      akt__cell_fail(c, rc, AKT_FAILED_IN_CONTINUATION);
      return;
    }
  }
  x = c->ext;
  uint64_t next = AKT_FOREVER;
  for (uint32_t i = 0; x && i < x->npending; i++)
    if (x->pending[i].deadline < next) next = x->pending[i].deadline;
  if (!x || next == AKT_FOREVER) {
    akt__env_free(env);
    return;
  }
  /* Re-armed with the envelope that fired: only the backend can refuse. */
  int rc = arm_for(c, x, next, env);
  if (rc)
    akt__log(c->sys, AKT_LOG_ERROR, "cannot re-arm the request timer of %s: %s",
             akt__self(c)->path, akt_strerror(rc));
}

void akt__requests_cancel_all(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x) return;
  if (x->req_timer_env) {
    akt__sys_timer_cancel(c, x->req_timer_id, x->req_timer_env);
    x->req_timer_env = NULL;
  }
  x->npending = 0;
}

/* ---- ask ---------------------------------------------------------------- */

/* Marks a slot whose asker has stopped waiting. */
#define ASK_CLOSED ((akt__env *)(uintptr_t)1)

typedef struct ask_slot {
  _Atomic(akt__env *) reply;
} ask_slot;

static void ask_sink(akt__cell *c, akt__env *env) {
  ask_slot *slot = akt__cell_sink(c)->data;
  akt_system *sys = c->sys;
  akt__env *expected = NULL;
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED ||
      !atomic_compare_exchange_strong(&slot->reply, &expected, env)) {
    akt__dead_letter(sys, akt__self(c), env, "ask already completed");
    return;
  }
  if (sys->tracing)
    akt__trace(sys, AKT_EV_DELIVER, akt__self(c)->id, env->sender ? env->sender->id : 0,
               env->msg->descriptor->name, akt__env_hash(env), 0, "ask reply");
  sys->backend->ops->wake(sys->backend);
}

static void ask_slot_free(void *data) {
  ask_slot *slot = data;
  akt__env *env = atomic_load(&slot->reply);
  if (env && env != ASK_CLOSED) akt__env_free(env);
  free(slot);
}

static int ask_ready(void *arg) {
  ask_slot *slot = arg;
  return atomic_load_explicit(&slot->reply, memory_order_acquire) != NULL;
}

int akt_ask(akt_pid *to, const ProtobufCMessage *msg, akt_duration timeout,
            ProtobufCMessage **reply) {
  if (!to || !msg || !reply) return AKT_EINVAL;
  akt_system *sys = to->sys;
  akt_backend *b = sys->backend;
  ask_slot *slot = calloc(1, sizeof *slot);
  if (!slot) return AKT_ENOMEM;
  akt_pid *tmp = akt__spawn_sink(sys, "ask", ask_sink, slot, ask_slot_free);
  if (!tmp) {
    free(slot);
    return AKT_ENOMEM;
  }
  int rc = akt__send(to, msg, tmp, 1, AKT__ENV_REQUEST);
  if (rc == 0) {
    uint64_t now = b->ops->now(b);
    uint64_t deadline = timeout >= AKT_FOREVER - now ? AKT_FOREVER : now + timeout;
    rc = b->ops->wait(b, ask_ready, slot, deadline);
  }
  akt__sink_close(tmp);
  akt__env *env = atomic_exchange(&slot->reply, ASK_CLOSED);
  if (env && env != ASK_CLOSED) {
    /* The reply outlives the system's PIDs: drop its sender now. */
    akt_pid_release(env->sender);
    env->sender = NULL;
    *reply = (ProtobufCMessage *)(uintptr_t)env->msg;
    rc = 0;
  } else if (rc == 0) {
    rc = AKT_ETIMEDOUT;
  }
  akt_pid_release(tmp);
  return rc;
}

void akt_msg_free(ProtobufCMessage *msg) {
  if (msg) akt__env_free(akt__env_of(msg));
}
