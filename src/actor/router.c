/* akt — pool routers (see akt/router.h).
 *
 * A router is built on the public actor API only: it is an actor whose
 * receive forwards, whose children are the routees, and whose supervisor is
 * the one given in the router options. Its memory comes in two parts with
 * different lifetimes:
 *
 *   - the configuration (router_cfg), copied from the caller's options at
 *     spawn and given to the router as its spawn arg. It must survive the
 *     router's restarts, because a restarted router reads it again to spawn
 *     a fresh pool, so only post_stop frees it;
 *   - the routing list (router_state, the actor's state, plus a growable
 *     array of PID references). A restart drops it with the routees, so
 *     pre_restart frees it too.
 */
#include <stdio.h>
#include <stdlib.h>

#include <xxhash.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/message.h"
#include "akt/router.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* The routing list's first room; it doubles up to AKT_ROUTER_MAX_ROUTEES. */
#define ROUTEES_INITIAL_CAPACITY 4
/* A routee's name: "r" and a 32-bit number. */
#define ROUTEE_NAME_SIZE sizeof("r4294967295")

/* The router's copy of its options. Owned by the router (freed in
 * post_stop); only the router's turn touches it after the spawn. */
typedef struct router_cfg {
  akt_routing routing;
  const akt_actor_def *routee;
  akt_spawn_opts routee_opts; /* a copy; what it points to is borrowed */
  akt_route_key_fn key;
  void *key_arg;
  uint32_t size; /* the pool size to (re)build: initial, then the last resize */
} router_cfg;

/* The router actor's state: zeroed at start and at restart. */
typedef struct router_state {
  router_cfg *cfg;
  akt_pid **routees; /* routing order; one reference each */
  uint32_t n, cap;
  uint32_t next_name; /* number of the next routee's name: never reused */
  uint64_t rr;        /* round robin: the next message's position */
} router_state;

/* Lamping & Veach's jump consistent hash: maps `key` to a bucket in
 * [0, buckets) so that growing from n to n+1 buckets moves only the keys
 * that land in the new bucket (1/(n+1) of them). The 64-bit linear
 * congruential step and the constant are the paper's. */
static uint32_t jump_consistent_hash(uint64_t key, uint32_t buckets) {
  int64_t b = -1, j = 0;
  while (j < (int64_t)buckets) {
    b = j;
    key = key * UINT64_C(2862933555777941757) + 1;
    j = (int64_t)((double)(b + 1) * ((double)(INT64_C(1) << 31) / (double)((key >> 33) + 1)));
  }
  return (uint32_t)b;
}

/* ---- the routing list -------------------------------------------------------- */

/* Releases every routee reference and the array (the routees themselves are
 * the actor system's to stop). Used at stop and at restart. */
static void routees_clear(router_state *s) {
  for (uint32_t i = 0; i < s->n; i++) akt_pid_release(s->routees[i]);
  free(s->routees);
  s->routees = NULL;
  s->n = s->cap = 0;
}

/* Removes the routee at index i, keeping the order of the others, and
 * returns the reference it held (the caller releases it). */
static akt_pid *routees_take(router_state *s, uint32_t i) {
  AKT_ASSERT(i < s->n);
  akt_pid *pid = s->routees[i];
  for (uint32_t k = i + 1; k < s->n; k++) s->routees[k - 1] = s->routees[k];
  s->n--;
  return pid;
}

/* Spawns one routee, watches it and appends it to the routing list.
 * Returns 0 or the error of the spawn, the watch or the allocation; on
 * error nothing is added and a spawned routee is stopped again. */
static int routee_add(akt_ctx *ctx, router_state *s) {
  int rc = akt__grow(&s->routees, sizeof *s->routees, s->n, &s->cap, ROUTEES_INITIAL_CAPACITY,
                     AKT_ROUTER_MAX_ROUTEES);
  if (rc) return rc;
  char name[ROUTEE_NAME_SIZE];
  snprintf(name, sizeof name, "r%u", (unsigned)s->next_name);
  akt_pid *pid = NULL;
  rc = akt_spawn_child(ctx, name, s->cfg->routee, &s->cfg->routee_opts, &pid);
  if (rc) return rc;
  s->next_name++;
  rc = akt_watch(ctx, pid);
  if (rc) {
    /* Unwatched, the routee's end would leave a dead PID in the list. */
    akt_stop(pid);
    akt_pid_release(pid);
    return rc;
  }
  s->routees[s->n++] = pid;
  AKT_ASSERT(s->n <= s->cap && s->n <= AKT_ROUTER_MAX_ROUTEES);
  return 0;
}

/* Grows the pool to `size`. Returns 0 or the first error (the routees
 * spawned before it stay). */
static int routees_grow(akt_ctx *ctx, router_state *s, uint32_t size) {
  while (s->n < size) {
    int rc = routee_add(ctx, s);
    if (rc) return rc;
  }
  return 0;
}

/* Shrinks the pool to `size` from its end. A PoisonPill rather than
 * akt_stop lets each removed routee finish the messages already routed to
 * it; the router stops watching it, since it is no longer in the list. */
static void routees_shrink(akt_ctx *ctx, router_state *s, uint32_t size) {
  Akt__PoisonPill pill = AKT__POISON_PILL__INIT;
  while (s->n > size) {
    akt_pid *pid = routees_take(s, s->n - 1);
    akt_unwatch(ctx, pid);
    int rc = akt_send(ctx, pid, &pill.base);
    /* Without memory for the pill, stopping at once still ends the routee
     * instead of leaving it alive outside the pool. */
    if (rc && rc != AKT_ESTOPPED) akt_stop(pid);
    akt_pid_release(pid);
  }
}

/* ---- routing ------------------------------------------------------------------ */

/* What a forward's outcome means for the router. A routee that terminated
 * meanwhile or whose bounded mailbox is full is akt's usual dead letter or
 * rejection, already counted; only a lack of memory is the router's own
 * failure. */
static int forward_rc(int rc) { return rc == AKT_ENOMEM ? rc : 0; }

static int route(akt_ctx *ctx, router_state *s, const ProtobufCMessage *msg) {
  if (s->n == 0) return AKT_EUNHANDLED;
  uint32_t i;
  switch (s->cfg->routing) {
    case AKT_ROUTE_ROUND_ROBIN:
      i = (uint32_t)(s->rr++ % s->n);
      break;
    case AKT_ROUTE_RANDOM:
      i = (uint32_t)(akt_ctx_random(ctx) % s->n);
      break;
    case AKT_ROUTE_BROADCAST: {
      int rc = 0;
      for (uint32_t k = 0; k < s->n; k++) {
        int r = forward_rc(akt_forward(ctx, s->routees[k]));
        if (r && !rc) rc = r;
      }
      return rc;
    }
    case AKT_ROUTE_CONSISTENT_HASH: {
      const void *key = NULL;
      size_t len = 0;
      if (s->cfg->key(msg, s->cfg->key_arg, &key, &len) != 0 || (!key && len))
        return AKT_EUNHANDLED;
      i = jump_consistent_hash(XXH3_64bits(key, len), s->n);
      break;
    }
    default:
      AKT_ASSERT(!"a routing validated at spawn");
      return AKT_EUNHANDLED;
  }
  AKT_ASSERT(i < s->n);
  return forward_rc(akt_forward(ctx, s->routees[i]));
}

static int on_resize(akt_ctx *ctx, router_state *s, const Akt__RouterResize *m) {
  if (m->size == 0 || m->size > AKT_ROUTER_MAX_ROUTEES) return AKT_EUNHANDLED;
  s->cfg->size = m->size;
  if (m->size < s->n) {
    routees_shrink(ctx, s, m->size);
    return 0;
  }
  int rc = routees_grow(ctx, s, m->size);
  if (rc == AKT_ENOMEM) return rc;
  /* A pool that cannot grow (max_actors, say) keeps routing over the
   * routees it has: failing the router would restart them all. */
  if (rc)
    akt_ctx_log(ctx, AKT_LOG_WARN, "router resize to %u stopped at %u routees: %s",
                (unsigned)m->size, (unsigned)s->n, akt_strerror(rc));
  return 0;
}

static int on_get_routees(akt_ctx *ctx, router_state *s) {
  if (!akt_ctx_sender(ctx)) return AKT_EUNHANDLED;
  char **paths = NULL;
  if (s->n) {
    paths = malloc(s->n * sizeof *paths);
    if (!paths) return AKT_ENOMEM;
  }
  /* The paths are borrowed from the PIDs; akt_reply copies the message. */
  for (uint32_t i = 0; i < s->n; i++) paths[i] = (char *)akt_pid_path(s->routees[i]);
  Akt__Routees r = AKT__ROUTEES__INIT;
  r.n_paths = s->n;
  r.paths = paths;
  int rc = akt_reply(ctx, &r.base);
  free(paths);
  return forward_rc(rc);
}

static int on_terminated(akt_ctx *ctx, router_state *s) {
  akt_pid *who = akt_ctx_sender(ctx);
  for (uint32_t i = 0; who && i < s->n; i++) {
    if (!akt_pid_equal(s->routees[i], who)) continue;
    akt_pid_release(routees_take(s, i));
    break;
  }
  /* A Terminated from elsewhere (a routee of an earlier incarnation) is
   * simply done with. */
  return 0;
}

/* ---- the router actor ----------------------------------------------------------- */

static int router_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  router_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &akt__terminated__descriptor)) return on_terminated(ctx, s);
  if (akt_msg_is(msg, &akt__router_resize__descriptor))
    return on_resize(ctx, s, (const Akt__RouterResize *)msg);
  if (akt_msg_is(msg, &akt__router_get_routees__descriptor)) return on_get_routees(ctx, s);
  return route(ctx, s, msg);
}

static int router_pre_start(akt_ctx *ctx) {
  router_state *s = akt_ctx_state(ctx);
  s->cfg = (router_cfg *)akt_ctx_arg(ctx);
  return routees_grow(ctx, s, s->cfg->size);
}

/* At restart the routees are already stopped (akt stops a restarting
 * actor's children first); the configuration stays for post_restart. */
static void router_pre_restart(akt_ctx *ctx, int cause) {
  (void)cause;
  routees_clear(akt_ctx_state(ctx));
}

static void router_post_stop(akt_ctx *ctx) {
  routees_clear(akt_ctx_state(ctx));
  /* From the arg, not the state: pre_start may never have run. */
  free((void *)akt_ctx_arg(ctx));
}

/* Not static: akt_respawn (spawn.c, through src/actor/cell.h) recognizes a
 * router by it, since a router's options die with it. */
const akt_actor_def akt__router_def = {
    .kind = "router",
    .state_size = sizeof(router_state),
    .pre_start = router_pre_start,
    .receive = router_receive,
    .post_stop = router_post_stop,
    .pre_restart = router_pre_restart,
};

/* ---- spawning ------------------------------------------------------------------- */

static int opts_check(const akt_router_opts *o) {
  if (!o || !o->routee || !o->routee->receive || o->size == 0) return AKT_EINVAL;
  switch (o->routing) {
    case AKT_ROUTE_ROUND_ROBIN:
    case AKT_ROUTE_RANDOM:
    case AKT_ROUTE_BROADCAST:
      break;
    case AKT_ROUTE_CONSISTENT_HASH:
      if (!o->key) return AKT_EINVAL;
      break;
    default:
      return AKT_EINVAL;
  }
  return o->size > AKT_ROUTER_MAX_ROUTEES ? AKT_ELIMIT : 0;
}

/* Validates and copies the options. Returns 0 and a new configuration for
 * the router to own, or AKT_EINVAL, AKT_ELIMIT, AKT_ENOMEM. */
static int cfg_new(const akt_router_opts *o, router_cfg **out) {
  int rc = opts_check(o);
  if (rc) return rc;
  router_cfg *cfg = calloc(1, sizeof *cfg);
  if (!cfg) return AKT_ENOMEM;
  cfg->routing = o->routing;
  cfg->routee = o->routee;
  if (o->routee_opts) cfg->routee_opts = *o->routee_opts;
  cfg->key = o->key;
  cfg->key_arg = o->key_arg;
  cfg->size = o->size;
  *out = cfg;
  return 0;
}

/* Spawns a router under /user of `sys` (ctx NULL) or as a child of the
 * actor of `ctx`. */
static int spawn_router(akt_system *sys, akt_ctx *ctx, const char *name,
                        const akt_router_opts *opts, akt_pid **out) {
  router_cfg *cfg;
  int rc = cfg_new(opts, &cfg);
  if (rc) return rc;
  akt_spawn_opts so = {.arg = cfg, .supervisor = opts->supervisor};
  rc = ctx ? akt_spawn_child(ctx, name, &akt__router_def, &so, out)
           : akt_spawn(sys, name, &akt__router_def, &so, out);
  if (rc) free(cfg); /* no actor was created to own it */
  return rc;
}

int akt_spawn_router(akt_system *sys, const char *name, const akt_router_opts *opts,
                     akt_pid **out) {
  if (!sys) return AKT_EINVAL;
  return spawn_router(sys, NULL, name, opts, out);
}

int akt_spawn_router_child(akt_ctx *ctx, const char *name, const akt_router_opts *opts,
                           akt_pid **out) {
  if (!ctx) return AKT_EINVAL;
  return spawn_router(NULL, ctx, name, opts, out);
}

int akt_router_resize(akt_pid *router, uint32_t size) {
  if (!router || size == 0) return AKT_EINVAL;
  if (size > AKT_ROUTER_MAX_ROUTEES) return AKT_ELIMIT;
  Akt__RouterResize m = AKT__ROUTER_RESIZE__INIT;
  m.size = size;
  return akt_tell(router, &m.base);
}
