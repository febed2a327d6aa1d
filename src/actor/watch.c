/* akt — watching actors for termination.
 *
 * The watched actor keeps its watchers and sends each one Terminated when it
 * stops (or at once, if a WATCH reaches it after it terminated: the turn of
 * a terminated cell still handles system messages). The watching actor keeps
 * the list of actors it watches, so a Terminated that arrives after unwatch,
 * or a second one, is dropped. A watcher that terminates withdraws its
 * watches (UNWATCH to each target, local or remote), so targets do not keep
 * it listed and later send it a Terminated that could only be a dead letter.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/actor.pb-c.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/actor/send.h"
#include "src/remote/remote.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* A watch list's first room; it doubles from there. */
#define WATCHES_INITIAL_CAPACITY 2

/* Appends a reference to `pid` to a PID list unless an equal one is there.
 * Returns 0, AKT_ELIMIT or AKT_ENOMEM. */
static int list_add(akt_pid ***list, uint32_t *n, uint32_t *cap, akt_pid *pid) {
  for (uint32_t i = 0; i < *n; i++)
    if (akt_pid_equal((*list)[i], pid)) return 0;
  int rc = akt__grow(list, sizeof **list, *n, cap, WATCHES_INITIAL_CAPACITY, AKT_MAX_WATCHES);
  if (rc) return rc;
  (*list)[(*n)++] = akt_pid_retain(pid);
  AKT_ASSERT(*n <= *cap && *n <= AKT_MAX_WATCHES);
  return 0;
}

/* Removes `pid` from a PID list, keeping order; returns 1 if it was there. */
static int list_remove(akt_pid **list, uint32_t *n, akt_pid *pid) {
  for (uint32_t i = 0; i < *n; i++) {
    if (!akt_pid_equal(list[i], pid)) continue;
    AKT_ASSERT(*n > 0);
    akt_pid_release(list[i]);
    for (uint32_t k = i + 1; k < *n; k++) list[k - 1] = list[k];
    (*n)--;
    return 1;
  }
  return 0;
}

static void send_terminated(akt__cell *c, akt_pid *watcher) {
  char address[AKT_ADDRESS_MAX];
  akt_pid_format(akt__self(c), address, sizeof address);
  Akt__Terminated t = AKT__TERMINATED__INIT;
  t.path = (char *)(uintptr_t)akt__self(c)->path;
  t.id = akt__self(c)->id;
  t.address = address;
  akt__send(watcher, &t.base, akt__self(c), 0, 0);
}

void akt__watch_on_watch(akt__cell *c, akt_pid *watcher) {
  if (!watcher) return;
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED) {
    send_terminated(c, watcher);
    return;
  }
  akt__cell_ext *x = akt__cell_ext_get(c);
  int rc = x ? list_add(&x->watchers, &x->nwatchers, &x->cap_watchers, watcher) : AKT_ENOMEM;
  if (rc)
    akt__log(c->sys, AKT_LOG_ERROR, "watch of %s by %s dropped: %s", akt__self(c)->path,
             watcher->path, akt_strerror(rc));
}

void akt__watch_on_unwatch(akt__cell *c, akt_pid *watcher) {
  if (c->ext && watcher) list_remove(c->ext->watchers, &c->ext->nwatchers, watcher);
}

void akt__watch_notify_all(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x) return;
  for (uint32_t i = 0; i < x->nwatchers; i++) send_terminated(c, x->watchers[i]);
}

int akt__watch_accept(akt__cell *c, akt__env *env) {
  if (!env->sender || !c->ext) return 0;
  return list_remove(c->ext->watching, &c->ext->nwatching, env->sender);
}

/* Posts a WATCH or UNWATCH for `watcher` to `target`. */
static int post_watch(akt_pid *watcher, akt_pid *target, akt__sys_kind kind) {
  if (!target->cell) {
    if (kind == AKT__SYS_WATCH || kind == AKT__SYS_UNWATCH)
      return akt__remote_watch(watcher, target, kind == AKT__SYS_WATCH);
    return AKT_ENOTSUP;
  }
  akt__env *env = akt__env_new_sys(kind, 0);
  if (!env) return AKT_ENOMEM;
  akt__meta_of(env)->ref = akt_pid_retain(watcher);
  akt__cell_post_sys(target->cell, env);
  return 0;
}

void akt__watch_release_all(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x) return;
  for (uint32_t i = 0; i < x->nwatching; i++) {
    int rc = post_watch(akt__self(c), x->watching[i], AKT__SYS_UNWATCH);
    /* A remote target whose node cannot be told (remoting stopped or the
     * node unknown) keeps the entry until that node's watches end. */
    if (rc)
      akt__log(c->sys, AKT_LOG_DEBUG, "unwatch of %s by terminated %s: %s", x->watching[i]->path,
               akt__self(c)->path, akt_strerror(rc));
  }
}

int akt_watch(akt_ctx *ctx, akt_pid *target) {
  if (!ctx || !target || target == akt__self(ctx)) return AKT_EINVAL;
  akt__cell_ext *x = akt__cell_ext_get(ctx);
  if (!x) return AKT_ENOMEM;
  for (uint32_t i = 0; i < x->nwatching; i++)
    if (akt_pid_equal(x->watching[i], target)) return 0;
  int rc = list_add(&x->watching, &x->nwatching, &x->cap_watching, target);
  if (rc) return rc;
  rc = post_watch(akt__self(ctx), target, AKT__SYS_WATCH);
  if (rc) list_remove(x->watching, &x->nwatching, target);
  return rc;
}

int akt_unwatch(akt_ctx *ctx, akt_pid *target) {
  if (!ctx || !target) return AKT_EINVAL;
  if (!ctx->ext || !list_remove(ctx->ext->watching, &ctx->ext->nwatching, target))
    return AKT_ENOENT;
  return post_watch(akt__self(ctx), target, AKT__SYS_UNWATCH);
}

int akt_watch_as(akt_pid *watcher, akt_pid *target) {
  if (!watcher || !target) return AKT_EINVAL;
  return post_watch(watcher, target, AKT__SYS_WATCH);
}

int akt_unwatch_as(akt_pid *watcher, akt_pid *target) {
  if (!watcher || !target) return AKT_EINVAL;
  return post_watch(watcher, target, AKT__SYS_UNWATCH);
}
