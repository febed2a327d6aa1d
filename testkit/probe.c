/* akt — probes: actors driven by a test.
 *
 * A probe is a sink cell: senders hand it envelopes directly (on whatever
 * thread they run), it queues them under a lock and wakes the backend; an
 * expectation waits on the backend — which runs the simulated world, or
 * blocks in production — until something is queued or the deadline passes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/actor.pb-c.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/system/system.h"
#include "testkit/testkit_internal.h"

/* ---- receiving ------------------------------------------------------------ */

static int ignored(akt_probe *p, akt__env *env) {
  for (unsigned i = 0; i < p->nignores; i++)
    if (p->ignores[i].pred(env->msg, env->sender, p->ignores[i].arg)) return 1;
  return 0;
}

static void probe_sink(akt__cell *c, akt__env *env) {
  akt_probe *p = akt__cell_sink(c)->data;
  akt_system *sys = c->sys;
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED) {
    akt__dead_letter(sys, akt__self(c), env, "probe closed");
    return;
  }
  pthread_mutex_lock(&p->lock);
  if (ignored(p, env)) {
    pthread_mutex_unlock(&p->lock);
    akt__env_free(env);
    return;
  }
  if (atomic_load(&p->qlen) >= AKT_PROBE_MAX_QUEUE) {
    p->overflow++;
    pthread_mutex_unlock(&p->lock);
    akt__dead_letter(sys, akt__self(c), env, "probe queue full");
    return;
  }
  if (sys->tracing)
    akt__trace(sys, AKT_EV_DELIVER, akt__self(c)->id, env->sender ? env->sender->id : 0,
               env->msg->descriptor->name, akt__env_hash(env), 0, p->name);
  akt__meta_of(env)->arg = sys->backend->ops->now(sys->backend); /* arrival time, for within() */
  atomic_store_explicit(&env->node.next, NULL, memory_order_relaxed);
  if (p->qtail)
    atomic_store_explicit(&p->qtail->node.next, &env->node, memory_order_relaxed);
  else
    p->qhead = env;
  p->qtail = env;
  atomic_fetch_add(&p->qlen, 1);
  pthread_mutex_unlock(&p->lock);
  sys->backend->ops->wake(sys->backend);
}

akt_probe *akt__probe_new(akt_testkit *tk, unsigned node, const char *name, const char *file,
                          int line) {
  if (node >= tk->nnodes) akt__testkit_fail(tk, file, line, "akt_probe_new: no such node");
  akt_probe *p = calloc(1, sizeof *p);
  if (!p) akt__testkit_fail(tk, file, line, "akt_probe_new: out of memory");
  p->tk = tk;
  p->node = node;
  snprintf(p->name, sizeof p->name, "%s", name ? name : "probe");
  pthread_mutex_init(&p->lock, NULL);
  char prefix[80];
  snprintf(prefix, sizeof prefix, "probe-%s", p->name);
  for (char *ch = prefix; *ch; ch++)
    if (*ch == '/' || *ch == ' ') *ch = '_';
  p->pid = akt__spawn_sink(tk->systems[node], prefix, probe_sink, p, NULL);
  if (!p->pid) akt__testkit_fail(tk, file, line, "akt_probe_new: out of memory");
  p->next = tk->probes;
  tk->probes = p;
  return p;
}

static void free_queue(akt_probe *p) {
  for (akt__env *e = p->qhead, *next; e; e = next) {
    next = (akt__env *)atomic_load_explicit(&e->node.next, memory_order_relaxed);
    akt__env_free(e);
  }
  p->qhead = p->qtail = NULL;
  atomic_store(&p->qlen, 0);
}

void akt_probe_clear(akt_probe *p) {
  pthread_mutex_lock(&p->lock);
  free_queue(p);
  pthread_mutex_unlock(&p->lock);
  for (size_t i = 0; i < p->ntaken; i++) akt__env_free(p->taken[i]);
  p->ntaken = 0;
  p->last = NULL;
}

void akt__probe_free(akt_probe *p) {
  akt__sink_close(p->pid);
  akt_probe_clear(p);
  free(p->taken);
  akt_pid_release(p->pid);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

akt_pid *akt_probe_pid(akt_probe *p) { return p->pid; }

akt_pid *akt_probe_last_sender(akt_probe *p) { return p->last ? p->last->sender : NULL; }

uint64_t akt_probe_last_arrival(akt_probe *p) { return p->last ? akt__meta_of(p->last)->arg : 0; }

size_t akt_probe_queued(akt_probe *p) { return atomic_load(&p->qlen); }

void akt_probe_ignore(akt_probe *p, akt_probe_pred pred, void *arg) {
  pthread_mutex_lock(&p->lock);
  if (p->nignores < AKT_PROBE_MAX_IGNORES) p->ignores[p->nignores++] = (probe_ignore){pred, arg};
  /* Drop what is queued already and matches. */
  akt__env *keep_head = NULL, *keep_tail = NULL;
  size_t kept = 0;
  for (akt__env *e = p->qhead, *next; e; e = next) {
    next = (akt__env *)atomic_load_explicit(&e->node.next, memory_order_relaxed);
    if (pred(e->msg, e->sender, arg)) {
      akt__env_free(e);
      continue;
    }
    atomic_store_explicit(&e->node.next, NULL, memory_order_relaxed);
    if (keep_tail)
      atomic_store_explicit(&keep_tail->node.next, &e->node, memory_order_relaxed);
    else
      keep_head = e;
    keep_tail = e;
    kept++;
  }
  p->qhead = keep_head;
  p->qtail = keep_tail;
  atomic_store(&p->qlen, kept);
  pthread_mutex_unlock(&p->lock);
}

void akt_probe_ignore_none(akt_probe *p) {
  pthread_mutex_lock(&p->lock);
  p->nignores = 0;
  pthread_mutex_unlock(&p->lock);
}

/* ---- sending ------------------------------------------------------------- */

/* A send to a terminated actor is not a test failure: the message went to
 * dead letters, which the test may be checking. */
static int send_failed(int rc) { return rc != 0 && rc != AKT_ESTOPPED; }

static void failf(akt_probe *p, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
static void failf(akt_probe *p, const char *file, int line, const char *fmt, ...) {
  char what[AKT_PROBE_FAILURE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  akt__testkit_fail(p->tk, file, line, what);
}

void akt__probe_tell(akt_probe *p, akt_pid *to, const ProtobufCMessage *msg, const char *file,
                     int line) {
  int rc = akt_tell_as(to, msg, p->pid);
  if (send_failed(rc))
    failf(p, file, line, "probe %s: tell %s to %s failed: %s", p->name,
          msg ? msg->descriptor->name : "(null)", to ? akt_pid_path(to) : "(null)",
          akt_errname(rc));
}

void akt__probe_reply(akt_probe *p, const ProtobufCMessage *msg, const char *file, int line) {
  akt__env *last = p->last;
  if (!last || !last->sender)
    failf(p, file, line, "probe %s: reply with no message or sender to reply to", p->name);
  int rc = (last->flags & AKT__ENV_REQUEST)
               ? akt__send(last->sender, msg, p->pid, akt__env_corr(last), AKT__ENV_REPLY)
               : akt__send(last->sender, msg, p->pid, 0, 0);
  if (send_failed(rc)) failf(p, file, line, "probe %s: reply failed: %s", p->name, akt_errname(rc));
}

void akt__probe_forward(akt_probe *p, akt_pid *to, const char *file, int line) {
  akt__env *last = p->last;
  if (!last) failf(p, file, line, "probe %s: forward with no message received", p->name);
  int rc =
      akt__send(to, last->msg, last->sender, akt__env_corr(last), last->flags & AKT__ENV_REQUEST);
  if (send_failed(rc)) failf(p, file, line, "probe %s: forward failed: %s", p->name, akt_errname(rc));
}

void akt__probe_watch(akt_probe *p, akt_pid *target, const char *file, int line) {
  int rc = akt_watch_as(p->pid, target);
  if (rc) failf(p, file, line, "probe %s: watch failed: %s", p->name, akt_errname(rc));
}
