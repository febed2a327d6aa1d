/* akt — the system scheduler.
 *
 * Entries live in a small table under their own lock. Each armed entry has
 * one backend timer (one unit of in-flight work); its callback, on the
 * backend's thread, copies the message under the lock, re-arms a repeating
 * entry, and sends outside the lock. Canceling removes the entry; a callback
 * already running then finds nothing and sends nothing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/scheduler.h"
#include "src/actor/envelope.h"
#include "src/actor/send.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* The table's first room for scheduled messages; it doubles from there. */
#define SCHEDULED_INITIAL_CAPACITY 8

typedef struct entry {
  uint64_t id;
  akt_pid *to;           /* one reference */
  akt__env *tmpl;        /* the message */
  akt_duration interval;
  uint64_t timer;        /* the armed backend timer */
} entry;

struct akt__sched {
  pthread_mutex_t lock;
  entry *entries;
  uint32_t n, cap;
  uint64_t next_id;
  int closed;
};

int akt__sched_new(akt_system *sys) {
  akt__sched *s = calloc(1, sizeof *s);
  if (!s) return AKT_ENOMEM;
  pthread_mutex_init(&s->lock, NULL);
  sys->scheduler = s;
  return 0;
}

static entry *find(akt__sched *s, uint64_t id) {
  for (uint32_t i = 0; i < s->n; i++)
    if (s->entries[i].id == id) return &s->entries[i];
  return NULL;
}

/* Removes entry `e` (lock held); returns its target to release later. */
static akt_pid *remove_entry(akt__sched *s, entry *e, akt__env **tmpl) {
  AKT_ASSERT(s->n > 0 && e >= s->entries && e < s->entries + s->n);
  akt_pid *to = e->to;
  *tmpl = e->tmpl;
  *e = s->entries[--s->n];
  return to;
}

static void fire(void *arg, uint64_t id);

static int arm(akt_system *sys, entry *e, akt_duration delay) {
  akt_backend *b = sys->backend;
  akt__inflight_add(sys);
  int rc = b->ops->timer_start(b, delay, fire, sys, e->id, &e->timer);
  if (rc) akt__inflight_done(sys);
  return rc;
}

static void fire(void *arg, uint64_t id) {
  akt_system *sys = arg;
  akt__sched *s = sys->scheduler;
  akt__env *env = NULL, *dead = NULL;
  akt_pid *to = NULL, *drop = NULL;
  int copy_rc = 0, arm_rc = 0;
  pthread_mutex_lock(&s->lock);
  entry *e = find(s, id);
  if (e) {
    copy_rc = akt__env_new_msg(sys, e->tmpl->msg, &env);
    if (!copy_rc) to = akt_pid_retain(e->to);
    if (e->interval) arm_rc = arm(sys, e, e->interval);
    if (!e->interval || arm_rc) drop = remove_entry(s, e, &dead);
  }
  pthread_mutex_unlock(&s->lock);
  if (copy_rc)
    akt__log(sys, AKT_LOG_ERROR, "scheduled message %llu lost this time: %s",
             (unsigned long long)id, akt_strerror(copy_rc));
  if (arm_rc)
    akt__log(sys, AKT_LOG_ERROR, "scheduled message %llu stopped repeating: %s",
             (unsigned long long)id, akt_strerror(arm_rc));
  if (to) {
    akt__trace(sys, AKT_EV_TIMER, to->id, 0, env->msg->descriptor->name, id,
               AKT__TIMER_KIND_SCHEDULED, "scheduled");
    akt__route(to, env);
    akt_pid_release(to);
  }
  akt__env_free(dead);
  akt_pid_release(drop);
  akt__inflight_done(sys);
}

int akt_schedule(akt_system *sys, akt_duration delay, akt_duration interval, akt_pid *to,
                 const ProtobufCMessage *msg, uint64_t *id) {
  if (!sys || !to || !msg) return AKT_EINVAL;
  akt__sched *s = sys->scheduler;
  akt__env *tmpl;
  int rc = akt__env_new_msg(sys, msg, &tmpl);
  if (rc) return rc;
  pthread_mutex_lock(&s->lock);
  if (s->closed) {
    rc = AKT_ESTOPPED;
  } else {
    rc = akt__grow(&s->entries, sizeof *s->entries, s->n, &s->cap, SCHEDULED_INITIAL_CAPACITY,
                   AKT_MAX_SCHEDULED);
  }
  if (!rc) {
    entry *e = &s->entries[s->n];
    *e = (entry){.id = ++s->next_id, .to = akt_pid_retain(to), .tmpl = tmpl, .interval = interval};
    rc = arm(sys, e, delay);
    if (rc) {
      akt_pid_release(e->to); /* not the last reference: the caller holds one */
    } else {
      s->n++;
      AKT_ASSERT(s->n <= s->cap && s->n <= AKT_MAX_SCHEDULED);
      if (id) *id = e->id;
      tmpl = NULL;
    }
  }
  pthread_mutex_unlock(&s->lock);
  akt__env_free(tmpl);
  return rc;
}

int akt_schedule_cancel(akt_system *sys, uint64_t id) {
  if (!sys || !id) return AKT_EINVAL;
  akt__sched *s = sys->scheduler;
  akt__env *tmpl = NULL;
  akt_pid *to = NULL;
  pthread_mutex_lock(&s->lock);
  entry *e = find(s, id);
  if (e) {
    akt_backend *b = sys->backend;
    if (b->ops->timer_cancel(b, e->timer) == 0) akt__inflight_done(sys);
    to = remove_entry(s, e, &tmpl);
  }
  pthread_mutex_unlock(&s->lock);
  akt__env_free(tmpl);
  akt_pid_release(to);
  return to ? 0 : AKT_ENOENT;
}

/* Takes every entry out of the table (callbacks in flight then find none),
 * then cancels their timers and frees them. */
static void cancel_all(akt_system *sys, int close) {
  akt__sched *s = sys->scheduler;
  pthread_mutex_lock(&s->lock);
  if (close) s->closed = 1;
  entry *entries = s->entries;
  uint32_t n = s->n;
  s->entries = NULL;
  s->n = s->cap = 0;
  pthread_mutex_unlock(&s->lock);
  akt_backend *b = sys->backend;
  for (uint32_t i = 0; i < n; i++) {
    if (b->ops->timer_cancel(b, entries[i].timer) == 0) akt__inflight_done(sys);
    akt__env_free(entries[i].tmpl);
    akt_pid_release(entries[i].to);
  }
  free(entries);
}

void akt__sched_close(akt_system *sys) { cancel_all(sys, 1); }

void akt__sched_free(akt_system *sys) {
  akt__sched *s = sys->scheduler;
  if (!s) return;
  cancel_all(sys, 1);
  pthread_mutex_destroy(&s->lock);
  free(s);
  sys->scheduler = NULL;
}
