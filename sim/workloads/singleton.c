/* akt — workload "singleton": cluster singletons under faults.
 *
 * Every node runs membership and the cluster-actor layer, and starts the
 * singletons singleton-0 .. singleton-(count-1) (akt.ca.Spawn with
 * singleton set, asked again until answered): each lives on the oldest
 * member. A singleton ticks every `tick` (a timer), and every tick is a
 * turn the oracle sees, as is its pre_start.
 *
 * Checks:
 *   one-at-a-time (safety)  at most one copy of a singleton runs at any
 *                           instant: once a newer activation ran a turn, an
 *                           older one never runs another (cluster_common.h);
 *   exactly-one (liveness)  after the quiet period every singleton has
 *                           exactly one live activation, on a member, and it
 *                           ticked within the last second.
 *
 * Parameters: count (3), tick (100ms), and the cluster workloads' own
 * (cluster_common.h): downing, schedules, the broken variants.
 */
#include <stdio.h>
#include <string.h>

#include "sim/workloads/cluster_common.h"

#define MAX_SINGLETONS 16
#define TICK_KEY 1
#define SPAWN_KEY 2
#define SPAWN_EVERY AKT_SECONDS(1)
#define SPAWN_TIMEOUT AKT_SECONDS(12) /* beyond the layer's own request timeout */

typedef struct sg_state {
  cw_state cw; /* first */
  uint64_t ticks;
} sg_state;

static unsigned count(akt_scenario *sc) {
  int64_t c = akt_scenario_param(sc, "count", 3);
  return c < 1 ? 1 : c > MAX_SINGLETONS ? MAX_SINGLETONS : (unsigned)c;
}

/* ---- the singleton ------------------------------------------------------------------------ */

typedef struct ticker {
  cw_state *cw;
  uint64_t act;
} ticker;

static int ticker_start(akt_ctx *ctx) {
  ticker *t = akt_ctx_state(ctx);
  t->cw = (cw_state *)(uintptr_t)akt_cluster_ctx_arg(ctx);
  t->act = cw_act_start(t->cw, akt_cluster_ctx_name(ctx), akt__wl_node(ctx));
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  akt_duration every = (akt_duration)akt_scenario_param(t->cw->sc, "tick", AKT_MILLIS(100));
  return akt_timer_start(ctx, TICK_KEY, every, every, &tick.base);
}

static int ticker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  ticker *t = akt_ctx_state(ctx);
  cw_turn(t->cw, t->act);
  if (akt_msg_is(msg, &aktsim__tick__descriptor)) ((sg_state *)t->cw)->ticks++;
  return 0;
}

static void ticker_stop(akt_ctx *ctx) {
  ticker *t = akt_ctx_state(ctx);
  cw_act_stop(t->cw, t->act);
}

static const akt_actor_def ticker_def = {.kind = "ticker",
                                         .state_size = sizeof(ticker),
                                         .pre_start = ticker_start,
                                         .receive = ticker_receive,
                                         .post_stop = ticker_stop};

/* ---- each node's driver: starts the singletons ------------------------------------------------ */

typedef struct driver {
  akt_scenario *sc;
  uint32_t answered; /* bit k: singleton-k answered 0 or EEXIST */
  uint32_t asking;   /* bit k: a request is out */
} driver;

static int on_spawned(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  driver *d = akt_ctx_state(ctx);
  unsigned k = (unsigned)(uintptr_t)arg;
  d->asking &= ~(1u << k);
  if (status || !akt_msg_is(reply, &akt__ca__reply__descriptor)) return 0;
  int code = ((const Akt__Ca__Reply *)reply)->code;
  if (code == 0 || code == AKT_EEXIST) d->answered |= 1u << k;
  return 0;
}

static int driver_start(akt_ctx *ctx) {
  driver *d = akt_ctx_state(ctx);
  d->sc = akt__wl_sc(ctx);
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  return akt_timer_start(ctx, SPAWN_KEY, AKT_MILLIS(1), SPAWN_EVERY, &t.base);
}

static int driver_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  driver *d = akt_ctx_state(ctx);
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return 0;
  unsigned n = count(d->sc);
  for (unsigned k = 0; k < n; k++) {
    if ((d->answered | d->asking) & (1u << k)) continue;
    char name[32];
    snprintf(name, sizeof name, "singleton-%u", k);
    Akt__Ca__Spawn s = AKT__CA__SPAWN__INIT;
    s.name = name;
    s.kind = (char *)"ticker";
    s.singleton = 1;
    if (cw_request(ctx, &s.base, SPAWN_TIMEOUT, on_spawned, (void *)(uintptr_t)k) == 0)
      d->asking |= 1u << k;
  }
  if ((d->answered & ((1u << n) - 1)) == (1u << n) - 1) akt_timer_cancel(ctx, SPAWN_KEY);
  return 0;
}

static const akt_actor_def driver_def = {.kind = "singleton-driver",
                                         .state_size = sizeof(driver),
                                         .pre_start = driver_start,
                                         .receive = driver_receive};

/* ---- hooks -------------------------------------------------------------------------------------- */

static int kinds(cw_state *cw, size_t i, akt_system *sys) {
  (void)i;
  akt_cluster_kind k = {.name = "ticker", .def = &ticker_def, .arg = cw};
  return akt_cluster_register_kind(sys, &k);
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  return cw_node_start(sc, i, b, kinds, &driver_def);
}

static int want(cw_state *cw, uint32_t name) {
  unsigned k;
  return sscanf(cw->names[name].name, "singleton-%u", &k) == 1 && k < count(cw->sc);
}

static int check_one(akt_scenario *sc, char *why) { return cw_check_overlap(sc, why); }

static int check_exactly_one(akt_scenario *sc, char *why) {
  cw_state *cw = cw_of(sc);
  unsigned n = count(sc);
  for (unsigned k = 0; k < n; k++) {
    char name[32];
    snprintf(name, sizeof name, "singleton-%u", k);
    if (cw_name_of(cw, name) < 0) break;
  }
  if (cw_check_one_each(sc, why, want)) return 1;
  uint64_t now = akt_scenario_now(sc);
  for (uint32_t a = 0; a < cw->nacts; a++) {
    const cw_act *x = &cw->acts[a];
    if (!x->live || !want(cw, x->name) || now - x->last_turn <= AKT_SECONDS(1)) continue;
    snprintf(why, AKT_SCENARIO_WHY_MAX, "%s on node%u has not ticked since t=%.3fs",
             cw->names[x->name].name, (unsigned)x->node, akt__wl_s(x->last_turn));
    return 1;
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"one-at-a-time", AKT_CHECK_SAFETY, check_one},
    {"exactly-one", AKT_CHECK_LIVENESS, check_exactly_one},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"count", "singletons (default 3, at most 16)"},
    {"tick", "how often a singleton ticks (default 100ms)"},
    CW_PARAMS,
    {NULL, NULL},
};

const akt_workload akt__wl_singleton = {
    .name = "singleton",
    .summary = "cluster singletons on the oldest member under faults: never two copies running "
               "at once; exactly one after the faults",
    .state_size = sizeof(sg_state),
    .node_start = node_start,
    .node_down = cw_node_down,
    .checks = checks,
    .params = params,
};
