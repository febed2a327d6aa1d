/* akt — the actor cell: mailbox, scheduling and the turn.
 *
 * Scheduling protocol. A cell is IDLE or QUEUED. Whoever posts a message (or
 * a signal) and wins the IDLE→QUEUED exchange hands the cell to the backend,
 * together with one PID reference and one unit of system in-flight work.
 * The turn runs system messages and signals first, then up to `throughput`
 * user messages; then it stores IDLE (seq_cst) and looks at the queues
 * again (seq_cst): a poster that pushed before that look is seen; one that
 * pushed after it finds IDLE and schedules the cell itself. Either way no
 * message is stranded.
 */
#include "src/actor/cell.h"

#include <stdlib.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/assert.h"

/* Receives timed for the metrics: one in this many (a power of two). */
#define AKT__TIMING_SAMPLE 64

#define CELL_OF(r) ((akt__cell *)((char *)(r) - offsetof(akt__cell, runnable)))

static void cell_run(akt_runnable *r);

akt__cell *akt__cell_new(akt_system *sys, uint64_t id, const char *path, const akt_actor_def *def) {
  size_t plen = strlen(path);
  akt_pid *pid = calloc(1, sizeof(akt_pid) + sizeof(akt__cell) + plen + 1);
  if (!pid) return NULL;
  akt__cell *c = (akt__cell *)(pid + 1);
  char *p = (char *)(c + 1);
  memcpy(p, path, plen + 1);
  atomic_init(&pid->refs, 1);
  pid->id = id;
  pid->sys = sys;
  pid->cell = c;
  pid->path = p;
  const char *slash = strrchr(p, '/');
  pid->name_off = (uint16_t)(slash ? slash + 1 - p : 0);
  c->runnable.run = cell_run;
  atomic_init(&c->sched, AKT__SCHED_IDLE);
  atomic_init(&c->life, AKT__LIFE_STARTING);
  atomic_init(&c->syshead, 0);
  atomic_init(&c->cause, 0);
  akt__mailq_init(&c->uhead, &c->mbox.user);
  c->sys = sys;
  c->def = def;
  uint64_t now = sys->backend->ops->now(sys->backend);
  AKT_ASSERT(!(now & AKT__UPTIME_FROZEN));
  atomic_init(&c->started_at, now);
  return c;
}

akt__sink *akt__cell_sink(akt__cell *c) {
  return (c->kind & AKT__KIND_SINK) ? &c->ext->sink : NULL;
}

/* Hands the cell to the backend if it is idle. */
static void cell_schedule(akt__cell *c) {
  uint8_t expected = AKT__SCHED_IDLE;
  if (atomic_load_explicit(&c->sched, memory_order_relaxed) != AKT__SCHED_IDLE) return;
  if (!atomic_compare_exchange_strong(&c->sched, &expected, AKT__SCHED_QUEUED)) return;
  AKT_ASSERT(!(c->kind & AKT__KIND_SINK)); /* a sink is never scheduled */
  akt_pid_retain(akt__self(c));
  atomic_fetch_add_explicit(&c->sys->turns, 1, memory_order_relaxed);
  akt__inflight_add(c->sys);
  c->sys->backend->ops->schedule(c->sys->backend, &c->runnable);
}

int akt__cell_post(akt__cell *c, akt__env *env) {
  AKT_ASSERT(env->sys == AKT__SYS_NONE && env->msg != NULL);
  if (c->kind & AKT__KIND_SINK) {
    c->ext->sink.fn(c, env);
    return 0;
  }
  if (c->kind & AKT__KIND_CUSTOM_MBOX) {
    int rc = c->mbox.custom.type->push(c->mbox.custom.mb, (akt_mail *)env);
    if (rc) {
      AKT_ASSERT(rc < 0);
      if (rc == AKT_EFULL) {
        /* A custom mailbox's cell always has its ext (spawn.c). */
        atomic_fetch_add_explicit(&c->sys->rejected, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->ext->rejected, 1, memory_order_relaxed);
      }
      akt__env_free(env);
      return rc;
    }
    atomic_fetch_add_explicit(&c->uhead.pushed, 1, memory_order_relaxed);
  } else if (akt__mailq_push_ptr(&c->uhead, &c->mbox.user, env) != 0) {
    /* Queued and counted in one locked instruction (see mailq.h). */
    akt__env_free(env);
    return AKT_ENOMEM;
  }
  cell_schedule(c);
  return 0;
}

void *akt__cell_claim(akt__cell *c, unsigned nslots) {
  return akt__mailq_claim(&c->uhead, &c->mbox.user, nslots);
}

void akt__cell_publish(akt__cell *c, akt__env *env, unsigned nslots) {
  akt__mailq_publish(env, nslots);
  cell_schedule(c);
}

void akt__cell_post_sys(akt__cell *c, akt__env *env) {
  AKT_ASSERT(env->sys > AKT__SYS_NONE && env->sys < AKT__SYS_KIND_MAX);
  AKT_ASSERT(((uintptr_t)env & AKT__SIG_MASK) == 0); /* the signals' bits are free */
  if (c->kind & AKT__KIND_SINK) {
    akt__env_free(env); /* sink cells have no lifecycle to drive */
    return;
  }
  uintptr_t head = atomic_load_explicit(&c->syshead, memory_order_relaxed);
  do {
    env->link = (akt__env *)(head & ~(uintptr_t)AKT__SIG_MASK);
  } while (!atomic_compare_exchange_weak_explicit(&c->syshead, &head,
                                                  (uintptr_t)env | (head & AKT__SIG_MASK),
                                                  memory_order_seq_cst, memory_order_relaxed));
  cell_schedule(c);
}

void akt__cell_signal(akt__cell *c, uintptr_t sig) {
  AKT_ASSERT(sig != 0 && (sig & ~(uintptr_t)AKT__SIG_MASK) == 0);
  if (c->kind & AKT__KIND_SINK) return;
  atomic_fetch_or_explicit(&c->syshead, sig, memory_order_seq_cst);
  cell_schedule(c);
}

void akt__cell_signal_restart(akt__cell *c, int cause) {
  /* The signal's release publishes the cause to the turn that takes it. */
  atomic_store_explicit(&c->cause, (int32_t)cause, memory_order_relaxed);
  akt__cell_signal(c, AKT__SIG_RESTART);
}

/* Takes every queued system message, oldest first (linked through
 * `link`), and the pending signals (*sigs). Consumer only. */
static akt__env *take_sys(akt__cell *c, uintptr_t *sigs) {
  uintptr_t head = atomic_exchange_explicit(&c->syshead, 0, memory_order_acquire);
  *sigs = head & AKT__SIG_MASK;
  akt__env *e = (akt__env *)(head & ~(uintptr_t)AKT__SIG_MASK);
  akt__env *fifo = NULL;
  while (e) {
    akt__env *next = e->link;
    e->link = fifo;
    fifo = e;
    e = next;
  }
  return fifo;
}

/* The current behaviour; inline for the turn's loop. */
static inline akt_receive_fn behavior(akt__cell *c) {
  if (c->ext && c->ext->nbehaviors > 0) return c->ext->behaviors[c->ext->nbehaviors - 1];
  return c->def->receive;
}

akt_receive_fn akt__cell_behavior(akt__cell *c) { return behavior(c); }

/* Takes the next user envelope; inline for the turn's loop. */
static inline akt__env *pop_user(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  akt__env *env;
  if (x && x->front_head) {
    env = x->front_head;
    x->front_head = env->link;
    if (!x->front_head) x->front_tail = NULL;
    AKT_ASSERT(env->flags & AKT__ENV_REDELIVERED); /* only unstashed mail waits there */
  } else if (c->kind & AKT__KIND_CUSTOM_MBOX) {
    env = (akt__env *)c->mbox.custom.type->pop(c->mbox.custom.mb);
  } else {
    int inl; /* an inline envelope says so in its pool_class */
    env = akt__mailq_pop(&c->uhead, &c->mbox.user, &inl);
  }
  /* One writer (the turn): a plain increment, no locked instruction. */
  if (env)
    atomic_store_explicit(&c->processed,
                          atomic_load_explicit(&c->processed, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  return env;
}

akt__env *akt__cell_pop_user(akt__cell *c) { return pop_user(c); }

void akt__cell_dispose(akt__cell *c) {
  akt__cell_free_parts(c);
  akt__env *env;
  while ((env = akt__cell_pop_user(c)) != NULL) akt__env_free(env);
  uintptr_t sigs; /* no memory to free, nothing left to drive */
  for (akt__env *e = take_sys(c, &sigs), *next; e; e = next) {
    next = e->link;
    akt__env_free(e);
  }
  if (c->kind & AKT__KIND_CUSTOM_MBOX)
    c->mbox.custom.type->destroy(c->mbox.custom.mb);
  else
    akt__mailq_destroy(&c->uhead, &c->mbox.user);
  if (c->ext) {
    akt__cell_ext *x = c->ext;
    for (uint32_t i = 0; i < x->nstash; i++) akt__env_free(x->stash[i]);
    free(x->stash);
    if ((c->kind & AKT__KIND_SINK) && x->sink.dtor) x->sink.dtor(x->sink.data);
    free(x);
    c->ext = NULL;
  }
}

void akt__cell_drain(akt__cell *c) {
  AKT_ASSERT(atomic_load_explicit(&c->life, memory_order_relaxed) == AKT__LIFE_TERMINATED);
  akt__env *env;
  const char *reason = akt__cell_gone_reason(c);
  while ((env = akt__cell_pop_user(c)) != NULL) akt__dead_letter(c->sys, akt__self(c), env, reason);
}

/* Delivers one user envelope to the current behaviour. `timed`: measure
 * this receive for the metrics (one message in AKT__TIMING_SAMPLE: a clock
 * read costs as much as a whole send, so not every message pays for two).
 * Returns 1 if receive ran. */
static int handle_user(akt__cell *c, akt__env *env, int timed) {
  akt_system *sys = c->sys;
  AKT_ASSERT(c->cur == NULL && !(c->flags & AKT__CELL_SUSPENDED));
  if (env->flags & AKT__ENV_REPLY) {
    akt__request_on_reply(c, env);
    return 1;
  }
  if ((env->flags & AKT__ENV_TIMER) && !akt__timer_accept(c, env)) {
    akt__env_free(env); /* canceled or replaced after it was queued */
    return 0;
  }
  const ProtobufCMessage *msg = env->msg;
  if (msg->descriptor == &akt__terminated__descriptor && !(env->flags & AKT__ENV_REDELIVERED) &&
      !akt__watch_accept(c, env)) {
    akt__env_free(env); /* unwatched, or already reported */
    return 0;
  }
  if (sys->tracing)
    akt__trace(sys, AKT_EV_DELIVER, akt__self(c)->id, env->sender ? env->sender->id : 0,
               msg->descriptor->name, akt__env_hash(env), 0, NULL);
  if (msg->descriptor == &akt__poison_pill__descriptor) {
    akt__env_free(env);
    akt__cell_begin_stop(c);
    return 0;
  }
  akt_backend *b = sys->backend;
  uint64_t t0 = timed ? b->ops->now(b) : 0;
  c->cur = env;
  int rc = behavior(c)(c, msg);
  /* A stashed envelope now belongs to the stash. */
  env = c->cur;
  c->cur = NULL;
  if (timed) atomic_store_explicit(&c->last_ns, b->ops->now(b) - t0, memory_order_relaxed);
  if (rc == AKT_EUNHANDLED) {
    atomic_fetch_add_explicit(&sys->unhandled, 1, memory_order_relaxed);
    if (env) akt__dead_letter(sys, akt__self(c), env, "unhandled");
    return 1;
  }
  akt__env_free(env);
  if (rc != 0) akt__cell_fail(c, rc, AKT_FAILED_IN_RECEIVE);
  return 1;
}

/* What a turn knows of its own state as it ends, taken before it marks
 * the cell IDLE: after that store a sender may schedule the cell and
 * another worker run it, so fields only the turn owns (the mailbox
 * position, flags, the extension) must not be read any more. */
typedef struct turn_end {
  uint64_t pos;  /* the default mailbox's position (akt__mailq_position) */
  int suspended; /* AKT__CELL_SUSPENDED */
  int front;     /* unstashed messages wait in the front queue */
} turn_end;

/* The turn's snapshot of its own state. Consumer only. */
static turn_end turn_end_of(akt__cell *c) {
  turn_end e = {.suspended = (c->flags & AKT__CELL_SUSPENDED) != 0,
                .front = c->ext && c->ext->front_head};
  if (!(c->kind & AKT__KIND_CUSTOM_MBOX)) e.pos = akt__mailq_position(&c->mbox.user);
  return e;
}

/* May the user queues hold something, given the turn's snapshot `e`? */
static int user_waiting(akt__cell *c, const turn_end *e) {
  if (e->front) return 1;
  if (c->kind & AKT__KIND_CUSTOM_MBOX) return c->mbox.custom.type->size(c->mbox.custom.mb) > 0;
  return akt__mailq_moved(&c->uhead, e->pos);
}

/* Is there work a new turn should do? Reads only `e` and what senders
 * write. */
static int cell_has_work(akt__cell *c, const turn_end *e) {
  if (atomic_load_explicit(&c->syshead, memory_order_seq_cst) != 0) return 1;
  uint32_t life = atomic_load_explicit(&c->life, memory_order_acquire);
  if ((life == AKT__LIFE_RUNNING && !e->suspended) || life == AKT__LIFE_TERMINATED)
    return user_waiting(c, e);
  return 0;
}

static void cell_run(akt_runnable *r) {
  akt__cell *c = CELL_OF(r);
  akt_system *sys = c->sys;
  akt_backend *b = sys->backend;
  unsigned budget = sys->opts.throughput;
  unsigned rounds = 0; /* linger rounds since the last message */
  unsigned found = 0;  /* messages since the last linger round */
  uint64_t handled = 0;
  int spent = 0; /* the turn ended on its budget */
  akt__env *sysq = NULL; /* system messages taken, oldest first */
  uintptr_t sigs = 0;    /* signals taken with them, handled after them */
  AKT_ASSERT(atomic_load_explicit(&c->sched, memory_order_relaxed) == AKT__SCHED_QUEUED);
  for (;;) {
    if (!sysq && !sigs && atomic_load_explicit(&c->syshead, memory_order_relaxed) != 0)
      sysq = take_sys(c, &sigs);
    if (sysq) {
      akt__env *e = sysq;
      sysq = e->link;
      akt__cell_handle_sys(c, e);
      continue;
    }
    if (sigs) {
      akt__cell_handle_signals(c, sigs);
      sigs = 0;
      continue;
    }
    uint32_t life = atomic_load_explicit(&c->life, memory_order_acquire);
    if (life == AKT__LIFE_TERMINATED) {
      akt__cell_drain(c);
      break;
    }
    if (life != AKT__LIFE_RUNNING || (c->flags & AKT__CELL_SUSPENDED)) break; /* they wait */
    if (budget == 0) {
      spent = 1;
      break;
    }
    akt__env *env = pop_user(c);
    if (!env) {
      /* Out of messages: when the worker has nothing else to do, wait a
       * little for more rather than go idle; a producer on another thread
       * then keeps appending to a mailbox that is already scheduled, and
       * pays no run-queue push (lock, wake-up) every few messages. */
      if (b->ops->linger && b->ops->linger(b, rounds++, found)) {
        found = 0;
        continue;
      }
      break;
    }
    rounds = 0;
    found++;
    budget--;
    uint64_t seq = atomic_load_explicit(&c->processed, memory_order_relaxed);
    handled += (uint64_t)handle_user(c, env, (seq & (AKT__TIMING_SAMPLE - 1)) == 1);
  }
  if (handled) {
    /* Counted once per turn: a system-wide counter bumped per message would
     * bounce its cache line between every worker. */
    atomic_fetch_add_explicit(&sys->processed, handled, memory_order_relaxed);
    /* Passivation needs to know when the actor was last busy. */
    if (c->ext && c->ext->opts.passivate_after)
      c->ext->last_active = sys->backend->ops->now(sys->backend);
  }
  turn_end e = turn_end_of(c);
  if (spent && user_waiting(c, &e)) {
    /* Still QUEUED, with more to do: hand the cell straight back (keeping
     * the turn's PID reference and in-flight unit). Passing through IDLE
     * would open a window in which a sender finds the cell idle and
     * schedules it itself — a push on the shared run queue, under its lock,
     * and often a move to another worker — every few turns of a busy
     * actor. */
    sys->backend->ops->schedule(sys->backend, &c->runnable);
    return;
  }
  if (!(c->kind & AKT__KIND_CUSTOM_MBOX)) {
    /* An idle actor holds no mailbox segment (mailq.h); that moves its
     * position. */
    akt__mailq_release_idle(&c->uhead, &c->mbox.user);
    e.pos = akt__mailq_position(&c->mbox.user);
  }
  uint8_t sched = atomic_load_explicit(&c->sched, memory_order_relaxed);
  AKT_ASSERT_TRANSITION("cell sched", sched, AKT__SCHED_IDLE, sched == AKT__SCHED_QUEUED);
  atomic_store_explicit(&c->sched, AKT__SCHED_IDLE, memory_order_seq_cst);
  if (cell_has_work(c, &e)) {
    uint8_t expected = AKT__SCHED_IDLE;
    if (atomic_compare_exchange_strong(&c->sched, &expected, AKT__SCHED_QUEUED)) {
      /* Keep this turn's PID reference and in-flight unit for the next. */
      sys->backend->ops->schedule(sys->backend, &c->runnable);
      return;
    }
  }
  int64_t turns = atomic_fetch_sub_explicit(&sys->turns, 1, memory_order_release);
  AKT_ASSERT(turns > 0);
  akt_pid_release(akt__self(c));
  akt__inflight_done(sys);
}
