/* akt — workload "supervision": every node runs a supervision tree
 * /user/sup → g0, g1 → w0..w3 (two workers per group) and a chaos actor
 * that makes a random worker fail every `boom` (300ms). Supervisors
 * restart failed workers in place. node0's monitor pings every worker of
 * every node across the network. Checked: each worker restarted exactly
 * once per failure (allowing for a restart a crash cut short) and started
 * afresh at most once per node start, the root supervisor never stopped, and after
 * the quiet period every worker of every node answers again.
 */
#include "sim/workloads/common.h"

#define MAX_NODES AKT_SCENARIO_MAX_NODES
#define WORKERS 4

typedef struct sv_state {
  uint32_t incarnations[MAX_NODES];   /* node starts */
  uint64_t firsts[MAX_NODES][WORKERS];   /* pre_start: a worker's first start per node start */
  uint64_t restarts[MAX_NODES][WORKERS]; /* post_restart: restarts by its supervisor */
  uint64_t booms[MAX_NODES][WORKERS];
  uint64_t lost[MAX_NODES][WORKERS];  /* failures whose restart a crash cut short */
  uint8_t pending[MAX_NODES][WORKERS];
  uint64_t root_stops[MAX_NODES];
  uint64_t answered[MAX_NODES][WORKERS]; /* world time of the last answer to the monitor */
} sv_state;

/* ---- the tree -------------------------------------------------------------------------- */

/* What the tree's actors are spawned with (kept beside the oracle). */
typedef struct node_args node_args;

typedef struct worker_arg {
  akt_scenario *sc;
  uint32_t w;
} worker_arg;

typedef struct group_arg {
  node_args *na;
  uint32_t g;
} group_arg;

struct node_args {
  akt_scenario *sc;
  worker_arg w[WORKERS];
  group_arg group[2];
};

static node_args *args_of(akt_ctx *ctx) { return (node_args *)(uintptr_t)akt_ctx_arg(ctx); }

static int worker_start(akt_ctx *ctx) {
  const worker_arg *a = akt_ctx_arg(ctx);
  sv_state *st = akt_scenario_state(a->sc);
  st->firsts[akt__wl_node(ctx)][a->w]++;
  return 0;
}

static int worker_restarted(akt_ctx *ctx, int cause) {
  (void)cause;
  const worker_arg *a = akt_ctx_arg(ctx);
  sv_state *st = akt_scenario_state(a->sc);
  size_t i = akt__wl_node(ctx);
  st->restarts[i][a->w]++;
  st->pending[i][a->w] = 0;
  return 0;
}

static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const worker_arg *a = akt_ctx_arg(ctx);
  sv_state *st = akt_scenario_state(a->sc);
  size_t i = akt__wl_node(ctx);
  if (akt_msg_is(msg, &aktsim__boom__descriptor)) {
    st->booms[i][a->w]++;
    st->pending[i][a->w] = 1;
    return AKT_EINVAL; /* fail: the group restarts this worker */
  }
  if (akt_msg_is(msg, &aktsim__ping__descriptor)) {
    Aktsim__Pong pong = AKTSIM__PONG__INIT;
    pong.seq = a->w;
    pong.node = (uint32_t)i;
    akt_reply(ctx, &pong.base);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def worker_def = {.kind = "worker", .pre_start = worker_start,
                                         .receive = worker_receive,
                                         .post_restart = worker_restarted};

/* Groups spawn their two workers (again after their own restart). */
static int group_start(akt_ctx *ctx) {
  const group_arg *ga = akt_ctx_arg(ctx);
  for (uint32_t k = 0; k < 2; k++) {
    uint32_t w = ga->g * 2 + k;
    char name[8];
    snprintf(name, sizeof name, "w%u", w);
    akt_spawn_opts o = {.arg = &ga->na->w[w]};
    int rc = akt_spawn_child(ctx, name, &worker_def, &o, NULL);
    if (rc) return rc;
  }
  return 0;
}

static int no_messages(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

static const akt_actor_def group_def = {.kind = "group", .pre_start = group_start,
                                        .receive = no_messages};

static int sup_start(akt_ctx *ctx) {
  node_args *na = args_of(ctx);
  for (uint32_t g = 0; g < 2; g++) {
    char name[8];
    snprintf(name, sizeof name, "g%u", g);
    akt_spawn_opts o = {.arg = &na->group[g]};
    int rc = akt_spawn_child(ctx, name, &group_def, &o, NULL);
    if (rc) return rc;
  }
  return 0;
}

static void sup_stop(akt_ctx *ctx) {
  sv_state *st = akt_scenario_state(args_of(ctx)->sc);
  st->root_stops[akt__wl_node(ctx)]++;
}

static const akt_actor_def sup_def = {.kind = "sup", .pre_start = sup_start,
                                      .receive = no_messages, .post_stop = sup_stop};

/* ---- chaos and the monitor ------------------------------------------------------------ */

static int every(akt_ctx *ctx, akt_duration d) {
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  return akt_timer_start(ctx, 1, d, d, &tick.base);
}

static int chaos_start(akt_ctx *ctx) {
  return every(ctx, (akt_duration)akt_scenario_param(akt__wl_sc(ctx), "boom", AKT_MILLIS(300)));
}

static int chaos_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return AKT_EUNHANDLED;
  uint32_t w = (uint32_t)(akt_ctx_random(ctx) % WORKERS);
  char path[64];
  snprintf(path, sizeof path, "/user/sup/g%u/w%u", w / 2, w);
  akt_pid *pid;
  if (akt_lookup(akt_ctx_system(ctx), path, &pid) == 0) {
    Aktsim__Boom boom = AKTSIM__BOOM__INIT;
    akt_send(ctx, pid, &boom.base);
    akt_pid_release(pid);
  }
  return 0;
}

static const akt_actor_def chaos_def = {.kind = "chaos", .pre_start = chaos_start,
                                        .receive = chaos_receive};

static int monitor_start(akt_ctx *ctx) { return every(ctx, AKT_MILLIS(500)); }

static int monitor_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_scenario *sc = akt__wl_sc(ctx);
  sv_state *st = akt_scenario_state(sc);
  if (akt_msg_is(msg, &aktsim__pong__descriptor)) {
    const Aktsim__Pong *p = (const Aktsim__Pong *)msg;
    if (p->node < akt_scenario_nodes(sc) && p->seq < WORKERS)
      st->answered[p->node][p->seq] = akt_scenario_now(sc);
    return 0;
  }
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return AKT_EUNHANDLED;
  for (size_t j = 0; j < akt_scenario_nodes(sc); j++) {
    for (uint32_t w = 0; w < WORKERS; w++) {
      char path[64];
      snprintf(path, sizeof path, "/user/sup/g%u/w%u", w / 2, w);
      akt_pid *pid;
      if (akt__wl_pid(sc, akt_ctx_system(ctx), j, path, &pid)) continue;
      Aktsim__Ping ping = AKTSIM__PING__INIT;
      akt_send(ctx, pid, &ping.base);
      akt_pid_release(pid);
    }
  }
  return 0;
}

static const akt_actor_def monitor_def = {.kind = "monitor", .pre_start = monitor_start,
                                          .receive = monitor_receive};

/* ---- nodes and checks ------------------------------------------------------------------- */

typedef struct sv_args {
  node_args n[MAX_NODES];
} sv_args;

/* The spawn args live beside the oracle, in a second zone of the state. */
static node_args *node_args_of(akt_scenario *sc, size_t i) {
  sv_args *a = (sv_args *)(void *)((char *)akt_scenario_state(sc) + sizeof(sv_state));
  return &a->n[i];
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  sv_state *st = akt_scenario_state(sc);
  node_args *na = node_args_of(sc, i);
  na->sc = sc;
  for (uint32_t w = 0; w < WORKERS; w++) na->w[w] = (worker_arg){sc, w};
  for (uint32_t g = 0; g < 2; g++) na->group[g] = (group_arg){na, g};
  st->incarnations[i]++;
  akt_system *sys;
  int rc = akt__wl_system(sc, i, &sys);
  akt_spawn_opts o = {.arg = na};
  if (rc == 0) rc = akt_spawn(sys, "sup", &sup_def, &o, NULL);
  akt_spawn_opts c = {.arg = sc};
  if (rc == 0) rc = akt_spawn(sys, "chaos", &chaos_def, &c, NULL);
  if (rc == 0 && i == 0) rc = akt_spawn(sys, "monitor", &monitor_def, &c, NULL);
  return rc;
}

static void node_down(akt_scenario *sc, size_t i) {
  sv_state *st = akt_scenario_state(sc);
  for (uint32_t w = 0; w < WORKERS; w++) {
    st->lost[i][w] += st->pending[i][w];
    st->pending[i][w] = 0;
  }
}

static int check_restarts(akt_scenario *sc, char *why) {
  sv_state *st = akt_scenario_state(sc);
  for (size_t i = 0; i < akt_scenario_nodes(sc); i++) {
    for (uint32_t w = 0; w < WORKERS; w++) {
      uint64_t want = st->booms[i][w] - st->lost[i][w];
      uint64_t got = st->restarts[i][w] + st->pending[i][w];
      if (got != want || st->firsts[i][w] > st->incarnations[i]) {
        snprintf(why, AKT_SCENARIO_WHY_MAX,
                 "node%zu/w%u restarted %llu times (+%u pending) for %llu failures (%llu cut "
                 "short by crashes); first starts %llu for %u node starts",
                 i, w, (unsigned long long)st->restarts[i][w], st->pending[i][w],
                 (unsigned long long)st->booms[i][w], (unsigned long long)st->lost[i][w],
                 (unsigned long long)st->firsts[i][w], st->incarnations[i]);
        return 1;
      }
    }
  }
  return 0;
}

static int check_root(akt_scenario *sc, char *why) {
  sv_state *st = akt_scenario_state(sc);
  for (size_t i = 0; i < akt_scenario_nodes(sc); i++) {
    if (st->root_stops[i]) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "node%zu's root supervisor stopped (a failure escalated)", i);
      return 1;
    }
  }
  return 0;
}

static int check_answers(akt_scenario *sc, char *why) {
  sv_state *st = akt_scenario_state(sc);
  for (size_t i = 0; i < akt_scenario_nodes(sc); i++) {
    for (uint32_t w = 0; w < WORKERS; w++) {
      if (st->answered[i][w] <= akt_scenario_quiet_start(sc)) {
        snprintf(why, AKT_SCENARIO_WHY_MAX,
                 "node%zu/w%u has not answered the monitor since the quiet period began "
                 "(last answer at t=%.3fs)",
                 i, w, akt__wl_s(st->answered[i][w]));
        return 1;
      }
    }
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"restarts-match-failures", AKT_CHECK_SAFETY, check_restarts},
    {"root-never-stopped", AKT_CHECK_SAFETY, check_root},
    {"tree-answers", AKT_CHECK_LIVENESS, check_answers},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"boom", "time between the chaos actor's failures (default 300ms)"},
    {NULL, NULL},
};

const akt_workload akt__wl_supervision = {
    .name = "supervision",
    .summary = "a supervision tree per node with failing workers, under crashes and restarts",
    .state_size = sizeof(sv_state) + sizeof(sv_args),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .params = params,
};
