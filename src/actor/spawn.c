/* akt — spawning actors and sink cells; stopping. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/system/system.h"

/* Names are path elements: no '/', and '$' is reserved for generated ones. */
static int name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > AKT_NAME_MAX || name[0] == '$') return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-' || ch == '.';
    if (!ok) return 0;
  }
  return !(n == 1 && name[0] == '.') && !(n == 2 && name[0] == '.' && name[1] == '.');
}

/* Links child `c` as the last child of `parent` (system lock held). */
static void link_child(akt__cell *parent, akt__cell *c) {
  c->prev_sibling = parent->last_child;
  c->next_sibling = NULL;
  if (parent->last_child)
    parent->last_child->next_sibling = c;
  else
    parent->first_child = c;
  parent->last_child = c;
  parent->nchildren++;
}

int akt__spawn(akt_system *sys, akt__cell *parent, const char *name, const akt_actor_def *def,
               const akt_spawn_opts *opts, akt_pid **out) {
  if (!sys || !def || !def->receive) return AKT_EINVAL;
  if (name && !name_valid(name)) return AKT_ENAME;
  void *state = NULL;
  if (def->state_size) {
    state = calloc(1, def->state_size);
    if (!state) return AKT_ENOMEM;
  }
  akt__env *create = akt__env_new_sys(AKT__SYS_CREATE, 0);
  if (!create) {
    free(state);
    return AKT_ENOMEM;
  }

  char path[AKT_PATH_MAX + 1];
  int rc = 0;
  akt__cell *c = NULL;
  akt__sys_lock(sys);
  uint64_t id = sys->next_id + 1;
  if (parent && atomic_load_explicit(&parent->life, memory_order_seq_cst) >= AKT__LIFE_STOPPING) {
    rc = AKT_ESTOPPED;
  } else if (atomic_load_explicit(&sys->live_actors, memory_order_relaxed) >= sys->opts.max_actors) {
    rc = AKT_ELIMIT;
  } else {
    const char *base = parent ? parent->self->path : "";
    if (strcmp(base, "/") == 0) base = "";
    int n = name ? snprintf(path, sizeof path, "%s/%s", base, name)
                 : snprintf(path, sizeof path, "%s/$%" PRIu64, base, id);
    if (!parent) n = snprintf(path, sizeof path, "/");
    if (n < 0 || (size_t)n > AKT_PATH_MAX) {
      rc = AKT_ELIMIT;
    } else if (akt__registry_find(sys, path)) {
      rc = AKT_EEXIST;
    } else if (!(c = akt__cell_new(sys, id, path, def))) {
      rc = AKT_ENOMEM;
    } else if ((rc = akt__registry_add(sys, c)) != 0) {
      free(c->self);
      c = NULL;
    }
  }
  if (rc == 0) {
    sys->next_id = id;
    akt_pid *pid = c->self;
    pid->all_next = sys->all_pids;
    if (sys->all_pids) sys->all_pids->all_prev = pid;
    sys->all_pids = pid;
    c->state = state;
    c->arg = opts ? opts->arg : NULL;
    if (parent) {
      c->parent = akt_pid_retain(parent->self);
      link_child(parent, c);
    }
    atomic_fetch_add_explicit(&sys->live_actors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sys->spawned, 1, memory_order_relaxed);
    if (out) *out = akt_pid_retain(pid);
  }
  akt__sys_unlock(sys);
  if (rc != 0) {
    free(state);
    akt__env_free(create);
    return rc;
  }
  akt__trace(sys, AKT_EV_SPAWN, id, parent ? parent->self->id : 0, def->kind, 0, 0, path);
  akt__cell_post_sys(c, create);
  return 0;
}

int akt_spawn(akt_system *sys, const char *name, const akt_actor_def *def,
              const akt_spawn_opts *opts, akt_pid **out) {
  if (!sys) return AKT_EINVAL;
  if (atomic_load_explicit(&sys->state, memory_order_acquire) != AKT__SYS_RUNNING)
    return AKT_ESTOPPED;
  return akt__spawn(sys, sys->user->cell, name, def, opts, out);
}

int akt_spawn_child(akt_ctx *ctx, const char *name, const akt_actor_def *def,
                    const akt_spawn_opts *opts, akt_pid **out) {
  if (!ctx) return AKT_EINVAL;
  return akt__spawn(ctx->sys, ctx, name, def, opts, out);
}

int akt_stop(akt_pid *pid) {
  if (!pid) return AKT_EINVAL;
  if (!pid->cell) return AKT_ENOTSUP; /* remote stop arrives with remoting */
  akt__cell *c = pid->cell;
  if (c->sink) {
    akt__sink_close(pid);
    return 0;
  }
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED)
    return AKT_ESTOPPED;
  akt__env *stop = akt__env_new_sys(AKT__SYS_STOP, 0);
  if (!stop) return AKT_ENOMEM;
  akt__cell_post_sys(c, stop);
  return 0;
}

/* Sink cells have a definition only so traces and logs can name them. */
static int sink_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}
static const akt_actor_def sink_def = {.kind = "sink", .receive = sink_receive};

akt_pid *akt__spawn_sink(akt_system *sys, const char *prefix, akt__sink_fn sink, void *data,
                         void (*dtor)(void *data)) {
  char path[AKT_PATH_MAX + 1];
  akt__sys_lock(sys);
  uint64_t id = ++sys->next_id;
  snprintf(path, sizeof path, "/temp/%s$%" PRIu64, prefix ? prefix : "", id);
  akt__cell *c = akt__cell_new(sys, id, path, &sink_def);
  if (c) {
    akt_pid *pid = c->self;
    pid->flags |= AKT__PID_TEMP;
    pid->all_next = sys->all_pids;
    if (sys->all_pids) sys->all_pids->all_prev = pid;
    sys->all_pids = pid;
    c->sink = sink;
    c->sink_data = data;
    c->sink_dtor = dtor;
    atomic_store_explicit(&c->life, AKT__LIFE_RUNNING, memory_order_release);
  }
  akt__sys_unlock(sys);
  return c ? c->self : NULL;
}

void akt__sink_close(akt_pid *pid) {
  atomic_store_explicit(&pid->cell->life, AKT__LIFE_TERMINATED, memory_order_seq_cst);
}
