/* akt — workload "remote-watch": a watcher on node0 watches, across the
 * network, target actors on every other node. Targets live a random while
 * (or for ever) and are respawned by a keeper; node crashes kill them all.
 * Checked: every watched target that really died was reported by a
 * Terminated (liveness), and once the quiet period has settled no
 * Terminated arrives for a target that is alive (safety). During faults a
 * Terminated for a live target is expected — its node was unreachable —
 * and the watcher identifies and watches it again later.
 *
 * Parameters: targets=3 (per node, at most 8) settle=6s (time after the
 * quiet period begins by which reconnections are done).
 */
#include "sim/workloads/common.h"

#include <string.h>

#define MAX_NODES AKT_SCENARIO_MAX_NODES
#define SLOTS 8
#define GENS 64

typedef struct gen {
  /* watched: the watcher watched it; unwatched: that watch ended without a
   * death to report (a Terminated while it lived, or the watcher's crash). */
  uint8_t alive, watched, unwatched, notified;
  uint64_t born, died;
} gen;

typedef struct slot {
  uint32_t gens; /* generations so far: g[1..gens] */
  gen g[GENS + 1];
} slot;

typedef struct rw_state {
  slot s[MAX_NODES][SLOTS];
  uint64_t terminated;
  akt__wl_violations spurious; /* Terminated for a live target after the quiet period settled */
} rw_state;

static uint32_t targets(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "targets", 3);
  return (uint32_t)(v < 1 ? 1 : v > SLOTS ? SLOTS : v);
}

/* ---- targets and their keeper -------------------------------------------------------- */

typedef struct target {
  uint32_t node, slot;
  uint32_t gen;
} target;

static int target_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  rw_state *st = akt_scenario_state(sc);
  target *t = akt_ctx_state(ctx);
  const char *name = akt_pid_name(akt_ctx_self(ctx));
  t->node = (uint32_t)akt__wl_node(ctx);
  t->slot = (uint32_t)(name[1] - '0') % SLOTS;
  slot *s = &st->s[t->node][t->slot];
  if (s->gens >= GENS) return 0; /* out of records: lives unrecorded, for ever */
  t->gen = ++s->gens;
  s->g[t->gen] = (gen){.alive = 1, .born = akt_scenario_now(sc)};
  /* Two in three die of old age, between 2 and 20 seconds from now. */
  uint64_t r = akt_ctx_random(ctx);
  if (r % 3) {
    Aktsim__Tick die = AKTSIM__TICK__INIT;
    return akt_timer_start(ctx, 1, AKT_SECONDS(2) + (r >> 8) % AKT_SECONDS(18), 0, &die.base);
  }
  return 0;
}

static void target_stop(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  rw_state *st = akt_scenario_state(sc);
  target *t = akt_ctx_state(ctx);
  if (!t->gen) return;
  gen *g = &st->s[t->node][t->slot].g[t->gen];
  g->alive = 0;
  g->died = akt_scenario_now(sc);
}

static int target_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  target *t = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &aktsim__tick__descriptor)) return akt_stop(akt_ctx_self(ctx));
  if (!akt_msg_is(msg, &aktsim__identify__descriptor)) return AKT_EUNHANDLED;
  Aktsim__Identity id = AKTSIM__IDENTITY__INIT;
  id.node = t->node;
  id.slot = t->slot;
  id.gen = t->gen;
  akt_reply(ctx, &id.base);
  return 0;
}

static const akt_actor_def target_def = {.kind = "target", .state_size = sizeof(target),
                                         .pre_start = target_start, .receive = target_receive,
                                         .post_stop = target_stop};

static int spawn_target(akt_ctx *ctx, uint32_t k) {
  char name[8];
  snprintf(name, sizeof name, "t%u", k);
  akt_pid *pid;
  akt_spawn_opts o = {.arg = akt__wl_sc(ctx)};
  int rc = akt_spawn_child(ctx, name, &target_def, &o, &pid);
  if (rc) return rc;
  rc = akt_watch(ctx, pid);
  akt_pid_release(pid);
  return rc;
}

static int keeper_start(akt_ctx *ctx) {
  uint32_t n = targets(akt__wl_sc(ctx));
  for (uint32_t k = 0; k < n; k++) {
    int rc = spawn_target(ctx, k);
    if (rc) return rc;
  }
  return 0;
}

/* A target died: a new one takes its slot a second later. */
static int keeper_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &akt__terminated__descriptor)) {
    const char *path = ((const Akt__Terminated *)msg)->path;
    const char *last = strrchr(path, '/');
    Aktsim__Tick respawn = AKTSIM__TICK__INIT;
    respawn.what = last && last[1] == 't' ? (uint32_t)(last[2] - '0') % SLOTS : 0;
    return akt_timer_start(ctx, 100 + respawn.what, AKT_SECONDS(1), 0, &respawn.base);
  }
  if (akt_msg_is(msg, &aktsim__tick__descriptor))
    return spawn_target(ctx, ((const Aktsim__Tick *)msg)->what);
  return AKT_EUNHANDLED;
}

static const akt_actor_def keeper_def = {.kind = "keeper", .pre_start = keeper_start,
                                         .receive = keeper_receive};

/* ---- the watcher --------------------------------------------------------------------------- */

typedef struct watch_slot {
  akt_pid *pid;   /* watched, or NULL */
  uint32_t gen;
  uint8_t asking; /* an Identify is outstanding */
} watch_slot;

typedef struct watcher {
  watch_slot w[MAX_NODES][SLOTS];
} watcher;

static int on_identity(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  akt_scenario *sc = akt__wl_sc(ctx);
  rw_state *st = akt_scenario_state(sc);
  watcher *me = akt_ctx_state(ctx);
  watch_slot *ws = arg;
  ws->asking = 0;
  if (status || !akt_msg_is(reply, &aktsim__identity__descriptor) || ws->pid) return 0;
  const Aktsim__Identity *id = (const Aktsim__Identity *)reply;
  if (id->node >= MAX_NODES || id->slot >= SLOTS || id->gen == 0 || id->gen > GENS) return 0;
  if (ws != &me->w[id->node][id->slot]) return 0;
  akt_pid *pid = akt_ctx_sender(ctx);
  if (!pid || akt_watch(ctx, pid) != 0) return 0;
  ws->pid = akt_pid_retain(pid);
  ws->gen = (uint32_t)id->gen;
  gen *g = &st->s[id->node][id->slot].g[id->gen];
  g->watched = 1;
  g->unwatched = 0;
  return 0;
}

static int watcher_start(akt_ctx *ctx) {
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  return akt_timer_start(ctx, 1, AKT_MILLIS(300), AKT_MILLIS(300), &tick.base);
}

static void watcher_stop(akt_ctx *ctx) {
  watcher *me = akt_ctx_state(ctx);
  for (size_t j = 0; j < MAX_NODES; j++)
    for (size_t k = 0; k < SLOTS; k++) akt_pid_release(me->w[j][k].pid);
}

/* Asks every slot that is not watched who holds it now. */
static int watcher_tick(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  watcher *me = akt_ctx_state(ctx);
  for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
    for (uint32_t k = 0; k < targets(sc); k++) {
      watch_slot *ws = &me->w[j][k];
      if (ws->pid || ws->asking) continue;
      char path[64];
      snprintf(path, sizeof path, "/user/keeper/t%u", k);
      akt_pid *to;
      if (akt__wl_pid(sc, akt_ctx_system(ctx), j, path, &to)) continue;
      Aktsim__Identify q = AKTSIM__IDENTIFY__INIT;
      ws->asking = akt_request(ctx, to, &q.base, AKT_SECONDS(1), on_identity, ws) == 0;
      akt_pid_release(to);
    }
  }
  return 0;
}

static int watcher_terminated(akt_ctx *ctx, const Akt__Terminated *t) {
  akt_scenario *sc = akt__wl_sc(ctx);
  rw_state *st = akt_scenario_state(sc);
  watcher *me = akt_ctx_state(ctx);
  st->terminated++;
  for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
    /* Ids are per node: the address says which node. */
    const char *node = akt_scenario_node_address(sc, j);
    size_t len = strlen(node);
    if (!t->address || strncmp(t->address, node, len) || t->address[len] != '/') continue;
    for (size_t k = 0; k < SLOTS; k++) {
      watch_slot *ws = &me->w[j][k];
      if (!ws->pid || akt_pid_id(ws->pid) != t->id || strcmp(akt_pid_path(ws->pid), t->path))
        continue;
      gen *g = &st->s[j][k].g[ws->gen];
      uint64_t now = akt_scenario_now(sc);
      if (!g->alive) {
        g->notified = 1;
      } else {
        g->unwatched = 1; /* its node was unreachable: fine during faults */
        uint64_t settled = akt_scenario_quiet_start(sc) +
                           (uint64_t)akt_scenario_param(sc, "settle", AKT_SECONDS(6));
        if (now > settled)
          akt__wl_violation(&st->spurious,
                            "Terminated for node%zu/t%zu generation %u at t=%.3fs, but it is "
                            "alive (the quiet period settled at t=%.3fs)",
                            j, k, ws->gen, akt__wl_s(now), akt__wl_s(settled));
      }
      akt_pid_release(ws->pid);
      ws->pid = NULL;
      return 0;
    }
  }
  return 0;
}

static int watcher_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &aktsim__tick__descriptor)) return watcher_tick(ctx);
  if (akt_msg_is(msg, &akt__terminated__descriptor))
    return watcher_terminated(ctx, (const Akt__Terminated *)msg);
  return AKT_EUNHANDLED;
}

static const akt_actor_def watcher_def = {.kind = "watcher", .state_size = sizeof(watcher),
                                          .pre_start = watcher_start, .receive = watcher_receive,
                                          .post_stop = watcher_stop};

/* ---- nodes and checks ------------------------------------------------------------------ */

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  akt_system *sys;
  int rc = akt__wl_system(sc, i, &sys);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = sc};
  return akt_spawn(sys, i == 0 ? "watcher" : "keeper", i == 0 ? &watcher_def : &keeper_def, &o, NULL);
}

/* A crash kills the node's targets without post_stop: the oracle notes it.
 * node0's crash kills the watcher: its watches die with it, so no
 * Terminated is owed for them (a target that died just before may have
 * had its Terminated in flight to the dead watcher). The restarted watcher
 * identifies and watches the live targets again. */
static void node_down(akt_scenario *sc, size_t i) {
  rw_state *st = akt_scenario_state(sc);
  if (i == 0) {
    for (size_t j = 1; j < akt_scenario_nodes(sc); j++)
      for (size_t k = 0; k < SLOTS; k++)
        for (uint32_t g = 1; g <= st->s[j][k].gens; g++)
          if (st->s[j][k].g[g].watched) st->s[j][k].g[g].unwatched = 1;
    return;
  }
  for (size_t k = 0; k < SLOTS; k++) {
    slot *s = &st->s[i][k];
    for (uint32_t g = 1; g <= s->gens; g++) {
      if (!s->g[g].alive) continue;
      s->g[g].alive = 0;
      s->g[g].died = akt_scenario_now(sc);
    }
  }
}

static int check_spurious(akt_scenario *sc, char *why) {
  rw_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->spurious, "spurious Terminated", why);
}

static int check_delivered(akt_scenario *sc, char *why) {
  rw_state *st = akt_scenario_state(sc);
  for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
    for (size_t k = 0; k < SLOTS; k++) {
      const slot *s = &st->s[j][k];
      for (uint32_t g = 1; g <= s->gens; g++) {
        const gen *x = &s->g[g];
        /* (A death in the last few seconds may still be on its way.) */
        if (x->watched && !x->unwatched && !x->alive && !x->notified &&
            x->died + AKT_SECONDS(3) < akt_scenario_now(sc)) {
          snprintf(why, AKT_SCENARIO_WHY_MAX,
                   "node%zu/t%zu generation %u died at t=%.3fs while watched, and no Terminated "
                   "reached the watcher (%llu Terminated in all)",
                   j, k, g, akt__wl_s(x->died), (unsigned long long)st->terminated);
          return 1;
        }
      }
    }
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"no-spurious-terminated", AKT_CHECK_SAFETY, check_spurious},
    {"terminated-delivered", AKT_CHECK_LIVENESS, check_delivered},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"targets", "watched targets per node, at most 8 (default 3)"},
    {"settle", "time after the quiet period begins by which reconnections are done (default 6s)"},
    {NULL, NULL},
};

const akt_workload akt__wl_remote_watch = {
    .name = "remote-watch",
    .summary = "node0 watches targets on other nodes: every death is reported, no live one after heal",
    .state_size = sizeof(rw_state),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .params = params,
};
