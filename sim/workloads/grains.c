/* akt — workload "grains": virtual cluster actors (grains) activated by
 * their first message, passivated when idle, activated again, under faults.
 *
 * The grains grain.0 .. grain.(grains-1) are counters (cluster_counter.h)
 * of the AKT_CLUSTER_VIRTUAL kind "grain": nobody spawns them; a message to
 * one activates it on the owner of its name's partition, and one idle for
 * `passivate_after` (short) is passivated, so most operations find their
 * grain passivated and activate it again. Its state lives in the world's
 * store: every increment is checkpointed before it is acknowledged (and a
 * read answered only once what it shows is stored), and a new activation
 * restores the last checkpoint — after a passivation as after a crash of
 * its host. A move by a graceful leave or join hands the state over.
 * Every node's driver is a client: one operation at a time, an increment
 * (with its own id, sent again every `op_timeout` until acknowledged, or
 * given up `give_up` after its call while faults last) or, `reads` percent
 * of them, a read, to a random grain by name. Giving up keeps clients on
 * both sides of a partition busy with the grains they can reach.
 *
 * Checks:
 *   one-at-a-time (safety)  no two activations of a grain interleave their
 *                           turns (cluster_common.h) — through passivation
 *                           and re-activation, moves, crashes, partitions;
 *   linearizable (liveness, at the end) per grain, the increments, reads
 *                           and their answers are a linearizable history of
 *                           a counter where an increment counts once
 *                           (sim/check/lincheck.h): nothing acknowledged
 *                           was lost by a passivation, move or crash,
 *                           nothing applied twice;
 *   resolves (liveness)     no grain has more than one live activation or
 *                           one off the cluster, and no member's client
 *                           waits for an answer any more;
 *   reactivated (liveness)  grains were passivated and activated again
 *                           (the run exercised what it is about).
 *
 * Parameters: grains (64), passivate_after (1s), reads (25 percent), pace
 * (200ms), op_timeout (1s), give_up (5s), and the cluster workloads' own (store is
 * always on: a passivated grain's state is its checkpoint).
 */
#include <stdio.h>

#include "sim/workloads/cluster_counter.h"

#define MAX_GRAINS 256
#define GRAIN_KIND "grain"

typedef struct gr_state {
  cc_state cc; /* first */
} gr_state;

static unsigned grains(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "grains", 64);
  return v < 1 ? 1 : v > MAX_GRAINS ? MAX_GRAINS : (unsigned)v;
}

/* ---- each node's driver: a client ------------------------------------------------------------ */

typedef struct driver {
  gr_state *st;
  uint32_t client;
  unsigned keys[MAX_GRAINS];
  unsigned nkeys;
  unsigned reads;
} driver;

static int driver_start(akt_ctx *ctx) {
  driver *d = akt_ctx_state(ctx);
  akt_scenario *sc = akt__wl_sc(ctx);
  d->st = akt_scenario_state(sc);
  d->client = (uint32_t)akt__wl_node(ctx);
  d->nkeys = grains(sc);
  for (unsigned k = 0; k < d->nkeys; k++) d->keys[k] = k;
  int64_t reads = akt_scenario_param(sc, "reads", 25);
  d->reads = reads < 0 ? 0 : reads > 100 ? 100 : (unsigned)reads;
  akt_duration pace = cc_dur(sc, "pace", AKT_MILLIS(200));
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  return akt_timer_start(ctx, 1, pace, pace, &t.base);
}

static int driver_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  driver *d = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &aktsim__tick__descriptor))
    cc_client_tick(&d->st->cc, ctx, d->client, d->keys, d->nkeys, d->reads);
  else
    cc_client_ack(&d->st->cc, d->client, msg);
  return 0;
}

static const akt_actor_def driver_def = {.kind = "grains-driver",
                                         .state_size = sizeof(driver),
                                         .pre_start = driver_start,
                                         .receive = driver_receive};

/* ---- hooks ------------------------------------------------------------------------------------------ */

static int kinds(cw_state *cw, size_t i, akt_system *sys) {
  (void)i;
  gr_state *st = (gr_state *)cw;
  akt_cluster_kind k = {.name = GRAIN_KIND,
                        .def = &cc_counter_def,
                        .mode = AKT_CLUSTER_VIRTUAL,
                        .passivate_after = cc_dur(cw->sc, "passivate_after", AKT_SECONDS(1)),
                        .state_type = &aktsim__acc_state__descriptor,
                        .handoff = cc_counter_handoff,
                        .restore = cc_counter_restore,
                        .store = &cw->store,
                        .arg = &st->cc};
  return akt_cluster_register_kind(sys, &k);
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  gr_state *st = akt_scenario_state(sc);
  st->cc.prefix = GRAIN_KIND ".";
  st->cc.keys = grains(sc);
  st->cc.store = 1;
  st->cc.give_up = AKT_SECONDS(5);
  return cw_node_start(sc, i, b, kinds, &driver_def);
}

/* ---- checks ------------------------------------------------------------------------------------------- */

static int check_overlap(akt_scenario *sc, char *why) { return cw_check_overlap(sc, why); }

static int any(cw_state *cw, uint32_t name) {
  return cc_key_of((const cc_state *)cw, cw->names[name].name) >= 0;
}

static int check_resolves(akt_scenario *sc, char *why) {
  return cw_check_at_most_one(sc, why, any) || cc_check_answered(sc, why);
}

static int check_reactivated(akt_scenario *sc, char *why) {
  gr_state *st = akt_scenario_state(sc);
  const cw_state *cw = &st->cc.cw;
  uint32_t again = 0;
  for (uint32_t n = 0; n < cw->nnames; n++)
    if (cw->names[n].activations > 1) again++;
  if (cw->passivated && again) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX,
           "%llu passivations, %u grains activated more than once (both expected)",
           (unsigned long long)cw->passivated, again);
  return 1;
}

static const akt_workload_check checks[] = {
    {"one-at-a-time", AKT_CHECK_SAFETY, check_overlap},
    {"resolves", AKT_CHECK_LIVENESS, check_resolves},
    {"linearizable", AKT_CHECK_LIVENESS, cc_check_linearizable},
    {"reactivated", AKT_CHECK_LIVENESS, check_reactivated},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"grains", "grains (default 64, at most 256)"},
    {"passivate_after", "a grain idle this long is passivated (default 1s)"},
    {"reads", "percent of the operations that are reads (default 25)"},
    CC_PARAMS,
    CW_PARAMS,
    {NULL, NULL},
};

const akt_workload akt__wl_grains = {
    .name = "grains",
    .summary = "virtual cluster actors (counters) activated by messages, passivated when idle "
               "and activated again under faults: no two activations at once, nothing "
               "acknowledged lost or applied twice",
    .state_size = sizeof(gr_state),
    .node_start = node_start,
    .node_down = cw_node_down,
    .checks = checks,
    .params = params,
};
