/* akt — actor systems: create, shut down, free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/actor.pb-c.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/cluster/cluster.h"
#include "src/remote/remote.h"
#include "src/system/system.h"
#include "src/util/assert.h"

void akt__sys_lock(akt_system *sys) { pthread_mutex_lock(&sys->lock); }
void akt__sys_unlock(akt_system *sys) { pthread_mutex_unlock(&sys->lock); }

/* Guardians handle no user messages: everything sent to them is a dead
 * letter, counted like any other. */
static int guardian_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}
static const akt_actor_def root_def = {.kind = "root-guardian", .receive = guardian_receive};
static const akt_actor_def user_def = {.kind = "user-guardian", .receive = guardian_receive};
static const akt_actor_def system_def = {.kind = "system-guardian", .receive = guardian_receive};

int akt__system_name_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > AKT_SYSTEM_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

static void system_destroy(akt_system *sys);

/* The host a system names in its address when the options give none. */
#define DEFAULT_HOST "localhost"

/* A system's address, "akt://NAME@HOST:PORT" (malloc'd), or NULL. */
static char *format_address(const char *name, const char *host, uint16_t port) {
  size_t len = strlen(name) + strlen(host) + sizeof("akt://@:65535");
  char *a = malloc(len);
  if (a) snprintf(a, len, "akt://%s@%s:%u", name, host, (unsigned)port);
  return a;
}

int akt_system_new(const char *name, akt_backend *backend, const akt_system_options *opts,
                   akt_system **out) {
  if (!name || !backend || !backend->ops || !out) return AKT_EINVAL;
  if (!akt__system_name_valid(name)) return AKT_ENAME;
  akt_system *sys = calloc(1, sizeof *sys);
  if (!sys) return AKT_ENOMEM;
  snprintf(sys->name, sizeof sys->name, "%s", name);
  if (opts) sys->opts = *opts;
  if (!sys->opts.throughput) sys->opts.throughput = AKT_DEFAULT_THROUGHPUT;
  if (!sys->opts.max_actors) sys->opts.max_actors = AKT_DEFAULT_MAX_ACTORS;
  if (sys->opts.log_level == AKT_LOG_DEFAULT) sys->opts.log_level = AKT_LOG_WARN;
  const char *host = sys->opts.host ? sys->opts.host : DEFAULT_HOST;
  sys->port = sys->opts.port;
  sys->host = strdup(host);
  sys->address = format_address(name, host, sys->port);
  sys->opts.host = sys->host;
  sys->backend = backend;
  sys->tracing = backend->ops->trace != NULL && (backend->flags & AKT_BACKEND_TRACE);
  pthread_mutex_init(&sys->lock, NULL);
  akt__registry_init(sys);
  akt__types_init(sys);
  if (!sys->host || !sys->address) {
    system_destroy(sys);
    return AKT_ENOMEM;
  }

  static const ProtobufCMessageDescriptor *const builtin[] = {
      &akt__terminated__descriptor, &akt__poison_pill__descriptor, &akt__actor_event__descriptor,
      &akt__dead_letter__descriptor, &akt__work_failed__descriptor};
  int rc = akt__events_new(sys);
  if (!rc) rc = akt__sched_new(sys);
  for (size_t i = 0; !rc && i < sizeof builtin / sizeof builtin[0]; i++)
    rc = akt_system_register_type(sys, builtin[i]);
  if (!rc) rc = akt__spawn(sys, NULL, NULL, &root_def, NULL, AKT__KIND_GUARDIAN, &sys->root);
  if (!rc)
    rc = akt__spawn(sys, sys->root->cell, "user", &user_def, NULL, AKT__KIND_GUARDIAN, &sys->user);
  if (!rc)
    rc = akt__spawn(sys, sys->root->cell, "system", &system_def, NULL, AKT__KIND_GUARDIAN,
                    &sys->system_guardian);
  if (!rc) rc = akt__dead_letters_start(sys);
  if (rc) {
    system_destroy(sys);
    return rc;
  }
  *out = sys;
  return 0;
}

int akt__system_set_address(akt_system *sys, const char *host, uint16_t port) {
  char *h = strdup(host), *a = format_address(sys->name, host, port);
  if (!h || !a) {
    free(h);
    free(a);
    return AKT_ENOMEM;
  }
  akt__sys_lock(sys);
  char *oldh = sys->host, *olda = sys->address;
  sys->host = h;
  sys->opts.host = h;
  sys->port = port;
  sys->address = a;
  akt__sys_unlock(sys);
  /* The old strings stay until the system is freed: a PID formatted on
   * another thread may still be reading them. */
  akt__sys_lock(sys);
  int kept = sys->nold_strings + 2 <= AKT__SYS_OLD_STRINGS;
  if (kept) {
    sys->old_strings[sys->nold_strings++] = oldh;
    sys->old_strings[sys->nold_strings++] = olda;
    oldh = olda = NULL;
  }
  akt__sys_unlock(sys);
  if (!kept)
    akt__log(sys, AKT_LOG_WARN, "%s changed its address more than %d times: the old one is freed",
             sys->name, AKT__SYS_OLD_STRINGS / 2);
  free(oldh);
  free(olda);
  return 0;
}

const char *akt_system_name(const akt_system *sys) { return sys ? sys->name : ""; }
const char *akt_system_address(const akt_system *sys) { return sys ? sys->address : ""; }
akt_backend *akt_system_backend(const akt_system *sys) { return sys ? sys->backend : NULL; }

uint64_t akt_system_now(const akt_system *sys) {
  return sys->backend->ops->now(sys->backend);
}

void akt_system_get_stats(akt_system *sys, akt_system_stats *out) {
  if (!sys || !out) return;
  out->live_actors = atomic_load(&sys->live_actors);
  out->spawned = atomic_load(&sys->spawned);
  out->processed = atomic_load(&sys->processed);
  out->dead_letters = atomic_load(&sys->dead_letters);
  out->unhandled = atomic_load(&sys->unhandled);
  out->failures = atomic_load(&sys->failures);
  out->rejected = atomic_load(&sys->rejected);
}

int akt_lookup(akt_system *sys, const char *path, akt_pid **out) {
  if (!sys || !path || !out) return AKT_EINVAL;
  if (strncmp(path, "akt://", 6) == 0) {
    size_t alen = strlen(sys->address);
    if (strncmp(path, sys->address, alen) != 0 || path[alen] != '/') {
      /* Another node's actor is no live actor here; a malformed address
       * is no address at all (system.h: AKT_ENAME). */
      char name[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX];
      uint16_t port;
      const char *rest;
      int rc = akt__parse_address(path, name, sizeof name, host, sizeof host, &port, &rest);
      return rc ? rc : AKT_ENOENT;
    }
    path += alen;
  }
  if (path[0] != '/' || strlen(path) > AKT_PATH_MAX) return AKT_ENAME;
  akt__sys_lock(sys);
  akt__cell *c = akt__registry_find(sys, path);
  akt_pid *pid = NULL;
  if (c && atomic_load_explicit(&c->life, memory_order_acquire) < AKT__LIFE_TERMINATED)
    pid = akt_pid_retain(akt__self(c));
  akt__sys_unlock(sys);
  if (!pid) return AKT_ENOENT;
  *out = pid;
  return 0;
}

/* ---- shutdown ------------------------------------------------------------ */

/* Moves the system's run state forward (a shutdown that timed out may be
 * tried again: SHUTTING_DOWN again). */
static void set_state(akt_system *sys, int to) {
  int from = atomic_load(&sys->state);
  AKT_ASSERT_TRANSITION("system state", from, to,
                        to == from + 1 || (to == from && to == AKT__SYS_SHUTTING_DOWN));
  atomic_store(&sys->state, to);
}

static int terminated(void *arg) {
  akt_pid *pid = arg;
  return atomic_load_explicit(&pid->cell->life, memory_order_acquire) == AKT__LIFE_TERMINATED;
}

static int quiescent(void *arg) {
  akt_system *sys = arg;
  return atomic_load_explicit(&sys->root_done, memory_order_acquire) &&
         atomic_load_explicit(&sys->inflight, memory_order_acquire) == 0;
}

static int stop_and_wait(akt_system *sys, akt_pid *pid, uint64_t deadline) {
  akt_backend *b = sys->backend;
  int rc = akt_stop(pid);
  AKT_ASSERT(rc == 0 || rc == AKT_ESTOPPED); /* a local stop cannot fail otherwise */
  if (pid == sys->root) return b->ops->wait(b, quiescent, sys, deadline);
  return b->ops->wait(b, terminated, pid, deadline);
}

int akt_system_shutdown(akt_system *sys, akt_duration timeout) {
  if (!sys) return AKT_EINVAL;
  if (atomic_load(&sys->state) == AKT__SYS_DOWN) return 0;
  set_state(sys, AKT__SYS_SHUTTING_DOWN);
  akt_backend *b = sys->backend;
  uint64_t now = b->ops->now(b);
  uint64_t deadline = timeout >= AKT_FOREVER - now ? AKT_FOREVER : now + timeout;
  int rc = stop_and_wait(sys, sys->user, deadline);
  /* System timers end with the user's actors: nothing is left to receive
   * them, and their armed timers would keep the system busy. */
  if (!rc) akt__sched_close(sys);
  /* Membership first (it tells a few members it is going), then remoting:
   * both close on the I/O context, and the wait for quiescence below
   * covers them. */
  if (!rc) akt__cluster_stop_all(sys);
  if (!rc) akt__remote_stop_all(sys);
  if (!rc) rc = stop_and_wait(sys, sys->system_guardian, deadline);
  if (!rc) rc = stop_and_wait(sys, sys->root, deadline);
  if (rc) {
    akt__log(sys, AKT_LOG_ERROR, "shutdown of %s did not finish: %s", sys->name,
             akt_strerror(rc));
    return rc;
  }
  AKT_ASSERT(atomic_load_explicit(&sys->live_actors, memory_order_relaxed) == 0);
  set_state(sys, AKT__SYS_DOWN);
  return 0;
}

/* ---- free ---------------------------------------------------------------- */

/* The cell after `c` in a pre-order walk of the tree under `root`. */
static akt__cell *tree_next(akt__cell *root, akt__cell *c) {
  if (c->first_child) return c->first_child;
  while (c != root && !c->next_sibling) c = c->parent->cell;
  return c == root ? NULL : c->next_sibling;
}

/* Frees what a cell owns (not its PID), at teardown. */
static void cell_teardown(akt__cell *c) {
  akt__requests_cancel_all(c);
  akt__timers_cancel_all(c);
  akt__passivate_disarm(c);
  akt__cell_dispose(c);
}

/* Frees everything the system owns, whatever state its actors are in. Only
 * safe when no other thread touches the system: after a shutdown, or for a
 * crashed simulated node whose events the world has dropped. */
static void system_destroy(akt_system *sys) {
  sys->tearing_down = 1; /* PID releases are now no-ops; we free them all */
  if (sys->scheduler) akt__sched_free(sys);
  akt__events_free(sys); /* before the PIDs its subscriptions point at */
  akt__cluster_free(sys);
  akt__remote_free(sys);
  akt__works_orphan(sys);
  akt__cell *root = sys->root ? sys->root->cell : NULL;
  for (akt__cell *c = root; c; c = tree_next(root, c)) cell_teardown(c);
  for (akt__cell *c = sys->detached; c; c = c->next_sibling) cell_teardown(c);
  /* Post-order, so that each cell freed is its parent's first child. */
  for (akt__cell *c = root; c;) {
    if (c->first_child) {
      c = c->first_child;
      continue;
    }
    akt__cell *next = c->next_sibling, *up = c->parent ? c->parent->cell : NULL;
    if (up) up->first_child = next;
    free(akt__self(c));
    c = next ? next : up;
  }
  for (akt__cell *c = sys->detached, *next; c; c = next) {
    next = c->next_sibling;
    free(akt__self(c));
  }
  for (akt_pid *p = sys->remote_pids, *next; p; p = next) {
    next = akt__pid_links_of(p)->next;
    free(p);
  }
  akt__registry_free(sys);
  akt__types_free(sys);
  pthread_mutex_destroy(&sys->lock);
  free(sys->host);
  free(sys->address);
  for (size_t i = 0; i < sys->nold_strings; i++) free(sys->old_strings[i]);
  free(sys);
}

void akt_system_drop(akt_system *sys) {
  if (sys) system_destroy(sys);
}

void akt_system_free(akt_system *sys) {
  if (!sys) return;
  if (atomic_load(&sys->state) != AKT__SYS_DOWN) akt_system_shutdown(sys, AKT_FOREVER);
  system_destroy(sys);
}
