/* akt — blocking work off the actors, piped to an actor as a message. */
#include <stdlib.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/util/pool.h"
#include "src/system/system.h"
#include "src/util/assert.h"

struct akt_work {
  akt_system *sys;      /* NULL once the system was dropped (orphan) */
  akt_work_fn fn;
  void *arg;
  akt_pid *to, *sender; /* one reference each */
  akt__env *result;
  akt_work *prev, *next; /* sys->works (system lock) */
};

static void unlink_work(akt_system *sys, akt_work *w) {
  akt__sys_lock(sys);
  AKT_ASSERT(w->prev ? w->prev->next == w : sys->works == w);
  if (w->prev)
    w->prev->next = w->next;
  else if (sys->works == w)
    sys->works = w->next;
  if (w->next) w->next->prev = w->prev;
  akt__sys_unlock(sys);
}

void akt__works_orphan(akt_system *sys) {
  /* The system's PIDs are freed with it: the works let go of them. */
  for (akt_work *w = sys->works, *next; w; w = next) {
    next = w->next;
    w->sys = NULL;
    w->to = w->sender = NULL;
    if (w->result) {
      w->result->sender = NULL;
    }
  }
  sys->works = NULL;
}

int akt_work_result(akt_work *w, const ProtobufCMessage *msg) {
  if (!w || !msg) return AKT_EINVAL;
  akt__env *env;
  int rc = akt__env_new_msg(w->sys, msg, &env);
  if (rc) return rc;
  akt__env_free(w->result);
  w->result = env;
  return 0;
}

/* Runs on the backend's pool (or as a world event): the work, then the
 * delivery of its result. */
static void run(void *p) {
  akt_work *w = p;
  akt_system *sys = w->sys;
  if (!sys) { /* its system was dropped (a crashed simulated node) */
    akt__env_free(w->result); /* its PIDs were disowned already */
    free(w);
    return;
  }
  unlink_work(sys, w);
  int rc = w->fn(w, w->arg);
  if (rc) {
    akt__env_free(w->result);
    Akt__WorkFailed f = AKT__WORK_FAILED__INIT;
    f.code = rc;
    akt__send(w->to, &f.base, w->sender, 0, 0);
  } else if (w->result) {
    w->result->sender = w->sender; /* the reference moves to the envelope */
    w->sender = NULL;
    akt__route(w->to, w->result);
  }
  akt_pid_release(w->to);
  akt_pid_release(w->sender);
  free(w);
  akt__inflight_done(sys);
}

int akt_pipe_to(akt_system *sys, akt_work_fn fn, void *arg, akt_pid *to, akt_pid *sender) {
  if (!sys || !fn || !to) return AKT_EINVAL;
  akt_work *w = calloc(1, sizeof *w);
  if (!w) return AKT_ENOMEM;
  *w = (akt_work){.sys = sys, .fn = fn, .arg = arg, .to = akt_pid_retain(to),
                  .sender = akt_pid_retain(sender)};
  akt_backend *b = sys->backend;
  akt__inflight_add(sys);
  akt__sys_lock(sys);
  w->next = sys->works;
  if (sys->works) sys->works->prev = w;
  sys->works = w;
  akt__sys_unlock(sys);
  int rc = b->ops->offload ? b->ops->offload(b, run, w) : AKT_ENOTSUP;
  if (rc) {
    unlink_work(sys, w);
    akt_pid_release(w->to);
    akt_pid_release(w->sender);
    free(w);
    akt__inflight_done(sys);
  }
  return rc;
}
