/* akt — workload "pingpong": node0 pings a ponger on every other node on a
 * timer; each pong must come back in order and once (remote delivery is at
 * most once and in order per pair), and after the quiet period pongs flow
 * again from every node.
 */
#include "sim/workloads/common.h"

#define MAX_NODES AKT_SCENARIO_MAX_NODES

typedef struct pp_state {
  uint64_t sent[MAX_NODES];    /* pings sent to node j (numbering survives a restart of node0) */
  uint64_t last[MAX_NODES];    /* the highest pong seq from node j */
  uint64_t pongs[MAX_NODES];
  uint64_t last_at[MAX_NODES]; /* world time of the last pong from node j */
  akt__wl_violations order;    /* pongs out of order or twice */
} pp_state;

typedef struct pinger {
  akt_pid *peer[MAX_NODES];
} pinger;

static int pinger_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  pinger *p = akt_ctx_state(ctx);
  for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
    int rc = akt__wl_pid(sc, akt_ctx_system(ctx), j, "/user/ponger", &p->peer[j]);
    if (rc) return rc;
  }
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  akt_duration every = (akt_duration)akt_scenario_param(sc, "interval", AKT_MILLIS(20));
  return akt_timer_start(ctx, 1, every, every, &tick.base);
}

static void pinger_stop(akt_ctx *ctx) {
  pinger *p = akt_ctx_state(ctx);
  for (size_t j = 0; j < MAX_NODES; j++) akt_pid_release(p->peer[j]);
}

static int pinger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_scenario *sc = akt__wl_sc(ctx);
  pp_state *st = akt_scenario_state(sc);
  pinger *p = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &aktsim__tick__descriptor)) {
    for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
      Aktsim__Ping ping = AKTSIM__PING__INIT;
      ping.seq = ++st->sent[j];
      ping.node = (uint32_t)j;
      akt_send(ctx, p->peer[j], &ping.base); /* lost while the link is down: fine */
    }
    return 0;
  }
  if (akt_msg_is(msg, &aktsim__pong__descriptor)) {
    const Aktsim__Pong *pong = (const Aktsim__Pong *)msg;
    uint32_t j = pong->node;
    if (j == 0 || j >= akt_scenario_nodes(sc)) return 0;
    if (pong->seq <= st->last[j]) {
      akt__wl_violation(&st->order, "pong %llu from node%u arrived after pong %llu at t=%.3fs (%s)",
                        (unsigned long long)pong->seq, j, (unsigned long long)st->last[j],
                        akt__wl_s(akt_scenario_now(sc)),
                        pong->seq == st->last[j] ? "duplicate" : "reordered");
      return 0;
    }
    st->last[j] = pong->seq;
    st->pongs[j]++;
    st->last_at[j] = akt_scenario_now(sc);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def pinger_def = {.kind = "pinger", .state_size = sizeof(pinger),
                                         .pre_start = pinger_start, .receive = pinger_receive,
                                         .post_stop = pinger_stop};

static int ponger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__ping__descriptor)) return AKT_EUNHANDLED;
  Aktsim__Pong pong = AKTSIM__PONG__INIT;
  pong.seq = ((const Aktsim__Ping *)msg)->seq;
  pong.node = (uint32_t)akt__wl_node(ctx);
  akt_reply(ctx, &pong.base);
  return 0;
}

static const akt_actor_def ponger_def = {.kind = "ponger", .receive = ponger_receive};

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  akt_system *sys;
  int rc = akt__wl_system(sc, i, &sys);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = sc};
  return akt_spawn(sys, i == 0 ? "pinger" : "ponger", i == 0 ? &pinger_def : &ponger_def, &o, NULL);
}

static int check_in_order(akt_scenario *sc, char *why) {
  pp_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->order, "pongs out of order or twice", why);
}

static int check_resume(akt_scenario *sc, char *why) {
  pp_state *st = akt_scenario_state(sc);
  for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
    if (st->last_at[j] <= akt_scenario_quiet_start(sc)) {
      snprintf(why, AKT_SCENARIO_WHY_MAX,
               "no pong from node%zu since the quiet period began at t=%.3fs "
               "(last at t=%.3fs; %llu pings sent, %llu pongs)",
               j, akt__wl_s(akt_scenario_quiet_start(sc)), akt__wl_s(st->last_at[j]),
               (unsigned long long)st->sent[j], (unsigned long long)st->pongs[j]);
      return 1;
    }
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"pongs-in-order", AKT_CHECK_SAFETY, check_in_order},
    {"pongs-resume", AKT_CHECK_LIVENESS, check_resume},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"interval", "time between pings (default 20ms)"},
    {NULL, NULL},
};

const akt_workload akt__wl_pingpong = {
    .name = "pingpong",
    .summary = "node0 pings every node on a timer; pongs arrive in order, once, and resume after faults",
    .state_size = sizeof(pp_state),
    .node_start = node_start,
    .checks = checks,
    .params = params,
};
