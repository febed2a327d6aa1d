/* akt — spawning actors and sink cells; respawning; metrics. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/assert.h"

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

/* Links child `c` as the last child of `parent` (system lock held). The
 * first child's prev_sibling is the last child (see cell.h). */
static void link_child(akt__cell *parent, akt__cell *c) {
  akt__cell *first = parent->first_child;
  c->next_sibling = NULL;
  if (first) {
    akt__cell *last = first->prev_sibling;
    last->next_sibling = c;
    c->prev_sibling = last;
    first->prev_sibling = c;
  } else {
    parent->first_child = c;
    c->prev_sibling = c;
  }
  parent->nchildren++;
}

/* Does this spawn need the ext part (options beyond arg)? */
static int needs_ext(const akt_spawn_opts *o) {
  return o && (o->passivate_after || o->stash_capacity || o->supervisor ||
               (o->mailbox && o->mailbox != &akt_mailbox_unbounded));
}

int akt__spawn(akt_system *sys, akt__cell *parent, const char *name, const akt_actor_def *def,
               const akt_spawn_opts *opts, uint32_t cell_flags, akt_pid **out) {
  if (!sys || !def || !def->receive) return AKT_EINVAL;
  if (name && !name_valid(name)) return AKT_ENAME;
  const akt_mailbox_type *mtype = opts ? opts->mailbox : NULL;
  if (mtype == &akt_mailbox_unbounded) mtype = NULL;
  if (mtype && (!mtype->create || !mtype->destroy || !mtype->push || !mtype->pop || !mtype->size))
    return AKT_EINVAL;
  if (opts && akt__supervisor_check(opts->supervisor) != 0) return AKT_EINVAL;
  void *state = NULL, *mb = NULL;
  akt__cell_ext *ext = NULL;
  akt__env *create = akt__env_new_sys(AKT__SYS_CREATE, 0);
  if (def->state_size) state = calloc(1, def->state_size);
  if (needs_ext(opts)) ext = calloc(1, sizeof *ext);
  if (mtype) mb = mtype->create(opts->mailbox_config);
  if (!create || (def->state_size && !state) || (needs_ext(opts) && !ext) || (mtype && !mb)) {
    free(state);
    free(ext);
    if (mb) mtype->destroy(mb);
    akt__env_free(create);
    return AKT_ENOMEM;
  }

  char path[AKT_PATH_MAX + 1];
  int rc = 0;
  akt__cell *c = NULL;
  akt__sys_lock(sys);
  uint64_t id = sys->next_id + 1;
  AKT_ASSERT(id > sys->next_id); /* ids are never reused */
  if (parent && atomic_load_explicit(&parent->life, memory_order_seq_cst) >= AKT__LIFE_STOPPING) {
    rc = AKT_ESTOPPED;
  } else if (atomic_load_explicit(&sys->live_actors, memory_order_relaxed) >= sys->opts.max_actors) {
    rc = AKT_ELIMIT;
  } else {
    const char *base = parent ? akt__self(parent)->path : "";
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
      free(akt__self(c));
      c = NULL;
    }
  }
  if (rc == 0) {
    sys->next_id = id;
    c->state = state;
    c->kind = (uint8_t)cell_flags;
    c->arg = opts ? opts->arg : NULL;
    if (ext) {
      ext->opts = *opts;
      c->ext = ext;
    }
    if (mtype) {
      c->kind |= AKT__KIND_CUSTOM_MBOX;
      c->mbox.custom.type = mtype;
      c->mbox.custom.mb = mb;
    }
    if (parent) {
      c->parent = akt_pid_retain(akt__self(parent));
      link_child(parent, c);
    }
    atomic_fetch_add_explicit(&sys->live_actors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sys->spawned, 1, memory_order_relaxed);
    if (out) *out = akt_pid_retain(akt__self(c));
    /* Queued while no one else can reach the cell (the registry and the
     * tree are locked): CREATE comes before any stop or kill. */
    akt__cell_post_sys(c, create);
  }
  akt__sys_unlock(sys);
  if (rc != 0) {
    free(state);
    free(ext);
    if (mb) mtype->destroy(mb);
    akt__env_free(create);
    return rc;
  }
  akt__trace(sys, AKT_EV_SPAWN, id, parent ? akt__self(parent)->id : 0, def->kind, 0, 0, path);
  return 0;
}

int akt_spawn(akt_system *sys, const char *name, const akt_actor_def *def,
              const akt_spawn_opts *opts, akt_pid **out) {
  if (!sys) return AKT_EINVAL;
  if (atomic_load_explicit(&sys->state, memory_order_acquire) != AKT__SYS_RUNNING)
    return AKT_ESTOPPED;
  return akt__spawn(sys, sys->user->cell, name, def, opts, 0, out);
}

int akt_spawn_child(akt_ctx *ctx, const char *name, const akt_actor_def *def,
                    const akt_spawn_opts *opts, akt_pid **out) {
  if (!ctx) return AKT_EINVAL;
  return akt__spawn(ctx->sys, ctx, name, def, opts, 0, out);
}

int akt_respawn(akt_pid *pid, akt_pid **out) {
  if (!pid) return AKT_EINVAL;
  akt__cell *c = pid->cell;
  if (!c || (c->kind & (AKT__KIND_SINK | AKT__KIND_GUARDIAN))) return AKT_ENOTSUP;
  /* A router's options were freed by its post_stop: a respawn would read
   * them (akt/router.h). */
  if (c->def == &akt__router_def) return AKT_ENOTSUP;
  if (atomic_load_explicit(&c->life, memory_order_acquire) != AKT__LIFE_TERMINATED)
    return AKT_ESTATE;
  akt__cell *parent = c->parent ? c->parent->cell : NULL;
  if (!parent || atomic_load_explicit(&parent->life, memory_order_acquire) >= AKT__LIFE_STOPPING)
    return AKT_ESTOPPED;
  akt_spawn_opts opts = c->ext ? c->ext->opts : (akt_spawn_opts){0};
  opts.arg = c->arg;
  const char *name = akt__pid_name(pid)[0] == '$' ? NULL : akt__pid_name(pid);
  return akt__spawn(c->sys, parent, name, c->def, &opts, 0, out);
}

int akt_actor_get_metrics(akt_pid *pid, akt_actor_metrics *out) {
  if (!pid || !out) return AKT_EINVAL;
  akt__cell *c = pid->cell;
  if (!c) return AKT_ENOTSUP;
  uint64_t enq = akt__mailq_pushed(&c->uhead);
  uint64_t done = atomic_load_explicit(&c->processed, memory_order_relaxed);
  out->processed = done;
  out->rejected = (c->kind & AKT__KIND_CUSTOM_MBOX)
                      ? atomic_load_explicit(&c->ext->rejected, memory_order_relaxed)
                      : 0; /* the default mailbox refuses nothing */
  out->mailbox_size = enq > done ? enq - done : 0;
  out->restarts = atomic_load_explicit(&c->restarts, memory_order_relaxed);
  out->failures = atomic_load_explicit(&c->failures, memory_order_relaxed);
  out->last_processing_ns = atomic_load_explicit(&c->last_ns, memory_order_relaxed);
  out->running = akt_pid_is_running(pid);
  uint64_t at = atomic_load_explicit(&c->started_at, memory_order_relaxed);
  uint64_t now = pid->sys->backend->ops->now(pid->sys->backend);
  /* A clock stepped back since the spawn (the simulator's skew) reads 0. */
  out->uptime_ns = (at & AKT__UPTIME_FROZEN) ? at & ~AKT__UPTIME_FROZEN : now >= at ? now - at : 0;
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
  akt__cell_ext *ext = calloc(1, sizeof *ext);
  if (!ext) return NULL;
  ext->sink = (akt__sink){.fn = sink, .data = data, .dtor = dtor};
  akt__sys_lock(sys);
  uint64_t id = ++sys->next_id;
  snprintf(path, sizeof path, "/temp/%s$%" PRIu64, prefix ? prefix : "", id);
  akt__cell *c = akt__cell_new(sys, id, path, &sink_def);
  if (c) {
    akt_pid *pid = akt__self(c);
    pid->flags |= AKT__PID_TEMP;
    akt__cell_detach(sys, c); /* never in the tree */
    c->kind = AKT__KIND_SINK;
    c->ext = ext;
    atomic_store_explicit(&c->life, AKT__LIFE_RUNNING, memory_order_release);
    /* Registered, so a reply from another node finds it by path. */
    akt__registry_add(sys, c);
  }
  akt__sys_unlock(sys);
  if (!c) free(ext);
  return c ? akt__self(c) : NULL;
}

void akt__sink_close(akt_pid *pid) {
  AKT_ASSERT(pid->cell->kind & AKT__KIND_SINK);
  /* Closed once: by its owner, or by akt_stop from anywhere. */
  uint8_t running = AKT__LIFE_RUNNING;
  if (!atomic_compare_exchange_strong(&pid->cell->life, &running, AKT__LIFE_TERMINATED)) {
    AKT_ASSERT(running == AKT__LIFE_TERMINATED);
    return;
  }
  akt__sys_lock(pid->sys);
  if (pid->cell->listed & AKT__LISTED_REGISTRY) akt__registry_remove(pid->sys, pid->cell);
  akt__sys_unlock(pid->sys);
}
