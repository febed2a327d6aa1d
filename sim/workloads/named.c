/* akt — workload "named": named cluster actors that move with their state.
 *
 * The accounts acct-0 .. acct-(accounts-1) are named cluster actors, each a
 * counter, spawned by every node's driver (asked again until answered).
 * Every node's driver is also a client: one increment at a time, to a
 * random account, by name (akt_cluster_tell), with its own sequence number,
 * sent again every `op_timeout` until acknowledged. An account applies an
 * increment once per (client, seq) — it keeps each client's last applied
 * seq in its state — and acknowledges it with the counter right after it.
 * Its state (count and seqs) is handed over when it moves, and with
 * store=1 checkpointed in the world's store: then an account acknowledges
 * only what its last successful checkpoint holds, so a crash of its host
 * loses nothing acknowledged. With stop_count > 0 the first accounts are
 * stopped at stop_at.
 *
 * The accounts and clients are cluster_counter.h's.
 *
 * Checks:
 *   one-at-a-time (safety)  no two activations of an account interleave
 *                           their turns (cluster_common.h);
 *   stays-stopped (safety)  a stopped account never starts again;
 *   linearizable (liveness, at the end) per account, the increments and
 *                           their acknowledgements are a linearizable
 *                           history of a counter where an increment counts
 *                           once (sim/check/lincheck.h): nothing acknowledged
 *                           was lost, nothing applied twice — through moves
 *                           by hand-off, and crashes with the store;
 *   resolves (liveness)     every live account has exactly one live
 *                           activation, on a member, and no client waits
 *                           for an acknowledgement any more.
 *
 * Parameters: accounts (8), pace (200ms), op_timeout (1s), stop_at (30s),
 * stop_count (0), and the cluster workloads' own.
 */
#include <stdio.h>
#include <string.h>

#include "sim/workloads/cluster_counter.h"

#define MAX_ACCTS 64
#define SPAWN_TIMEOUT AKT_SECONDS(12)
enum { TICK_CLIENT = 1, TICK_ADMIN };

typedef struct nm_state {
  cc_state cc; /* first */
  int spawned[MAX_ACCTS];
  int stopped[MAX_ACCTS];
  uint64_t stopped_at[MAX_ACCTS];
  akt__wl_violations resurrected;
} nm_state;

static unsigned accounts(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "accounts", 8);
  return v < 1 ? 1 : v > MAX_ACCTS ? MAX_ACCTS : (unsigned)v;
}

/* A new activation of an account (its pre_start): not of a stopped one. */
static void started(cc_state *cc, akt_ctx *ctx, const char *name, long k) {
  nm_state *st = (nm_state *)cc;
  uint64_t now = akt_scenario_now(cc->cw.sc);
  if (k >= 0 && st->stopped[k] && now > st->stopped_at[k])
    akt__wl_violation(&st->resurrected, "%s started on node%zu at t=%.3fs after its stop at %.3fs",
                      name, akt__wl_node(ctx), akt__wl_s(now), akt__wl_s(st->stopped_at[k]));
}

/* ---- each node's driver: spawns, stops, and is a client ---------------------------------------------- */

typedef struct driver {
  nm_state *st;
  akt_scenario *sc;
  uint32_t client;
  uint8_t spawn[MAX_ACCTS]; /* 0 to ask, 1 asking, 2 answered */
  uint8_t stop[MAX_ACCTS];
} driver;

static int on_spawned(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  driver *d = akt_ctx_state(ctx);
  unsigned k = (unsigned)(uintptr_t)arg;
  d->spawn[k] = 0;
  if (status || !akt_msg_is(reply, &akt__ca__reply__descriptor)) return 0;
  int code = ((const Akt__Ca__Reply *)reply)->code;
  if (code == 0 || code == AKT_EEXIST) {
    d->spawn[k] = 2;
    d->st->spawned[k] = 1;
  }
  return 0;
}

static int on_stopped(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  driver *d = akt_ctx_state(ctx);
  unsigned k = (unsigned)(uintptr_t)arg;
  d->stop[k] = 0;
  if (status || !akt_msg_is(reply, &akt__ca__reply__descriptor)) return 0;
  int code = ((const Akt__Ca__Reply *)reply)->code;
  if (code == 0 || code == AKT_ENOENT) {
    d->stop[k] = 2;
    if (!d->st->stopped[k]) {
      d->st->stopped[k] = 1;
      d->st->stopped_at[k] = akt_scenario_now(d->sc);
    }
  }
  return 0;
}

static void admin(akt_ctx *ctx, driver *d) {
  unsigned n = accounts(d->sc);
  char name[32];
  for (unsigned k = 0; k < n; k++) {
    if (d->spawn[k] || d->st->spawned[k]) continue;
    snprintf(name, sizeof name, "acct-%u", k);
    Akt__Ca__Spawn s = AKT__CA__SPAWN__INIT;
    s.name = name;
    s.kind = (char *)"account";
    if (cw_request(ctx, &s.base, SPAWN_TIMEOUT, on_spawned, (void *)(uintptr_t)k) == 0)
      d->spawn[k] = 1;
  }
  /* The lowest node stops the first accounts once it is time. */
  int64_t stops = akt_scenario_param(d->sc, "stop_count", 0);
  if (d->client != 0 || akt_scenario_now(d->sc) < cc_dur(d->sc, "stop_at", AKT_SECONDS(30))) return;
  for (unsigned k = 0; k < n && (int64_t)k < stops; k++) {
    if (d->stop[k] || d->st->stopped[k] || !d->st->spawned[k]) continue;
    snprintf(name, sizeof name, "acct-%u", k);
    Akt__Ca__Stop s = AKT__CA__STOP__INIT;
    s.name = name;
    if (cw_request(ctx, &s.base, SPAWN_TIMEOUT, on_stopped, (void *)(uintptr_t)k) == 0)
      d->stop[k] = 1;
  }
}

static void client(akt_ctx *ctx, driver *d) {
  nm_state *st = d->st;
  cc_client *c = &st->cc.client[d->client];
  if (c->outstanding && st->stopped[st->cc.ops[c->op].key])
    c->outstanding = 0; /* its account is gone: it stays pending */
  unsigned n = accounts(d->sc), live[MAX_ACCTS], nlive = 0;
  for (unsigned k = 0; k < n; k++)
    if (st->spawned[k] && !st->stopped[k]) live[nlive++] = k;
  cc_client_tick(&st->cc, ctx, d->client, live, nlive, 0);
}

static int driver_start(akt_ctx *ctx) {
  driver *d = akt_ctx_state(ctx);
  d->sc = akt__wl_sc(ctx);
  d->st = akt_scenario_state(d->sc);
  d->client = (uint32_t)akt__wl_node(ctx);
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  t.what = TICK_ADMIN;
  int rc = akt_timer_start(ctx, TICK_ADMIN, AKT_MILLIS(1), AKT_SECONDS(1), &t.base);
  akt_duration pace = cc_dur(d->sc, "pace", AKT_MILLIS(200));
  t.what = TICK_CLIENT;
  if (!rc) rc = akt_timer_start(ctx, TICK_CLIENT, pace, pace, &t.base);
  return rc;
}

static int driver_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  driver *d = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &aktsim__tick__descriptor)) {
    if (((const Aktsim__Tick *)msg)->what == TICK_ADMIN) admin(ctx, d);
    else client(ctx, d);
    return 0;
  }
  cc_client_ack(&d->st->cc, d->client, msg);
  return 0;
}

static const akt_actor_def driver_def = {.kind = "named-driver",
                                         .state_size = sizeof(driver),
                                         .pre_start = driver_start,
                                         .receive = driver_receive};

/* ---- hooks --------------------------------------------------------------------------------------------- */

static int kinds(cw_state *cw, size_t i, akt_system *sys) {
  (void)i;
  nm_state *st = (nm_state *)cw;
  akt_cluster_kind k = {.name = "account",
                        .def = &cc_counter_def,
                        .state_type = &aktsim__acc_state__descriptor,
                        .handoff = cc_counter_handoff,
                        .restore = cc_counter_restore,
                        .store = st->cc.store ? &cw->store : NULL,
                        .arg = &st->cc};
  return akt_cluster_register_kind(sys, &k);
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  nm_state *st = akt_scenario_state(sc);
  st->cc.prefix = "acct-";
  st->cc.keys = accounts(sc);
  st->cc.store = akt_scenario_param(sc, "store", 0) != 0;
  st->cc.started = started;
  return cw_node_start(sc, i, b, kinds, &driver_def);
}

/* ---- checks ------------------------------------------------------------------------------------------------ */

static int want(cw_state *cw, uint32_t name) {
  nm_state *st = (nm_state *)cw;
  long k = cc_key_of(&st->cc, cw->names[name].name);
  return k >= 0 && st->spawned[k] && !st->stopped[k];
}

static int check_overlap(akt_scenario *sc, char *why) { return cw_check_overlap(sc, why); }

static int check_stopped(akt_scenario *sc, char *why) {
  nm_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->resurrected, "stopped accounts started again", why);
}

static int check_resolves(akt_scenario *sc, char *why) {
  nm_state *st = akt_scenario_state(sc);
  unsigned n = accounts(sc);
  for (unsigned k = 0; k < n; k++) {
    char name[32];
    snprintf(name, sizeof name, "acct-%u", k);
    cw_name_of(&st->cc.cw, name);
    if (!st->spawned[k]) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "%s was never spawned", name);
      return 1;
    }
  }
  return cw_check_one_each(sc, why, want) || cc_check_answered(sc, why);
}

static const akt_workload_check checks[] = {
    {"one-at-a-time", AKT_CHECK_SAFETY, check_overlap},
    {"stays-stopped", AKT_CHECK_SAFETY, check_stopped},
    {"resolves", AKT_CHECK_LIVENESS, check_resolves},
    {"linearizable", AKT_CHECK_LIVENESS, cc_check_linearizable},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"accounts", "named accounts (default 8, at most 64)"},
    CC_PARAMS,
    {"stop_at", "when node0 stops the first stop_count accounts (default 30s)"},
    {"stop_count", "accounts stopped at stop_at (default 0)"},
    CW_PARAMS,
    {NULL, NULL},
};

const akt_workload akt__wl_named = {
    .name = "named",
    .summary = "named cluster actors (counters) moved by joins, leaves, crashes and partitions: "
               "no two activations at once, nothing acknowledged lost or applied twice, "
               "stopped ones stay stopped",
    .state_size = sizeof(nm_state),
    .node_start = node_start,
    .node_down = cw_node_down,
    .checks = checks,
    .params = params,
};
