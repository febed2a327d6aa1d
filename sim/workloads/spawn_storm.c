/* akt — workload "spawn-storm": every node spawns the same names at once.
 *
 * In `storms` rounds, `storm_every` apart from `storm_at`, every node's
 * driver spawns the names storm-R-0 .. storm-R-(names-1) of round R, each
 * in the same turn, and asks again after any answer but 0 or AKT_EEXIST (a
 * timeout, no configuration yet). Between rounds the drivers ping random
 * storm names (each ping is a turn the oracle sees).
 *
 * Checks:
 *   one-answer (safety)     of all the spawns of one name, from every node,
 *                           at most one was answered 0 — the others
 *                           AKT_EEXIST;
 *   one-at-a-time (safety)  no two activations of a name interleave;
 *   one-actor (liveness)    after the quiet period every name of every
 *                           round that began exists once: exactly one live
 *                           activation, on a member, and some spawn of it
 *                           was answered (0 or AKT_EEXIST).
 *
 * Parameters: names (20), storms (2), storm_at (15s), storm_every (25s),
 * ping (200ms), and the cluster workloads' own.
 */
#include <stdio.h>
#include <string.h>

#include "sim/workloads/cluster_common.h"

#define MAX_NAMES 64
#define MAX_STORMS 8
enum { ROUND_KEY = 1, PING_KEY, RETRY_KEY }; /* timer keys, and the Tick's `what` */
#define RETRY_EVERY AKT_MILLIS(500)
#define SPAWN_TIMEOUT AKT_SECONDS(12) /* beyond the layer's own request timeout */

typedef struct ss_state {
  cw_state cw; /* first */
  uint32_t created[MAX_STORMS][MAX_NAMES];  /* spawns answered 0 */
  uint32_t existed[MAX_STORMS][MAX_NAMES];  /* answered AKT_EEXIST */
  int begun[MAX_STORMS];
  akt__wl_violations twice;
} ss_state;

static unsigned param(akt_scenario *sc, const char *name, int64_t dflt, unsigned max) {
  int64_t v = akt_scenario_param(sc, name, dflt);
  return v < 1 ? 1 : v > max ? max : (unsigned)v;
}

static unsigned names(akt_scenario *sc) { return param(sc, "names", 20, MAX_NAMES); }
static unsigned storms(akt_scenario *sc) { return param(sc, "storms", 2, MAX_STORMS); }

static akt_duration dur(akt_scenario *sc, const char *name, akt_duration dflt) {
  int64_t v = akt_scenario_param(sc, name, -1);
  return v < 0 ? dflt : (akt_duration)v;
}

/* ---- the storm's actor: answers pings -------------------------------------------------------- */

typedef struct pinger {
  cw_state *cw;
  uint64_t act;
} pinger;

static int pinger_start(akt_ctx *ctx) {
  pinger *p = akt_ctx_state(ctx);
  p->cw = (cw_state *)(uintptr_t)akt_cluster_ctx_arg(ctx);
  p->act = cw_act_start(p->cw, akt_cluster_ctx_name(ctx), akt__wl_node(ctx));
  return 0;
}

static int pinger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  pinger *p = akt_ctx_state(ctx);
  cw_turn(p->cw, p->act);
  (void)msg;
  return 0;
}

static void pinger_stop(akt_ctx *ctx) {
  pinger *p = akt_ctx_state(ctx);
  cw_act_stop(p->cw, p->act);
}

static const akt_actor_def pinger_def = {.kind = "pinger",
                                         .state_size = sizeof(pinger),
                                         .pre_start = pinger_start,
                                         .receive = pinger_receive,
                                         .post_stop = pinger_stop};

/* ---- each node's driver ------------------------------------------------------------------------- */

typedef struct driver {
  akt_scenario *sc;
  /* Per round and name: 0 to ask, 1 asking, 2 answered. */
  uint8_t st[MAX_STORMS][MAX_NAMES];
  unsigned round;       /* rounds begun here */
} driver;

static void name_of(char *buf, size_t size, unsigned r, unsigned k) {
  snprintf(buf, size, "storm-%u-%u", r, k);
}

static int on_spawned(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  driver *d = akt_ctx_state(ctx);
  ss_state *st = akt_scenario_state(d->sc);
  unsigned r = (unsigned)((uintptr_t)arg >> 16), k = (unsigned)((uintptr_t)arg & 0xffff);
  d->st[r][k] = 0;
  if (status || !akt_msg_is(reply, &akt__ca__reply__descriptor)) return 0;
  int code = ((const Akt__Ca__Reply *)reply)->code;
  if (code == 0) {
    if (st->created[r][k]++) {
      char name[32];
      name_of(name, sizeof name, r, k);
      akt__wl_violation(&st->twice, "%s was answered 0 twice (the second on node%zu at t=%.3fs)",
                        name, akt__wl_node(ctx), akt__wl_s(akt_scenario_now(d->sc)));
    }
    d->st[r][k] = 2;
  } else if (code == AKT_EEXIST) {
    st->existed[r][k]++;
    d->st[r][k] = 2;
  }
  return 0;
}

static void ask(akt_ctx *ctx, driver *d, unsigned r, unsigned k) {
  char name[32];
  name_of(name, sizeof name, r, k);
  Akt__Ca__Spawn s = AKT__CA__SPAWN__INIT;
  s.name = name;
  s.kind = (char *)"pinger";
  if (cw_request(ctx, &s.base, SPAWN_TIMEOUT, on_spawned, (void *)(uintptr_t)(r << 16 | k)) == 0)
    d->st[r][k] = 1;
}

static int driver_start(akt_ctx *ctx) {
  driver *d = akt_ctx_state(ctx);
  d->sc = akt__wl_sc(ctx);
  ss_state *st = akt_scenario_state(d->sc);
  /* Rounds that began while this node was down are not its to storm. */
  while (d->round < storms(d->sc) && st->begun[d->round]) d->round++;
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  uint64_t now = akt_scenario_now(d->sc);
  uint64_t at = dur(d->sc, "storm_at", AKT_SECONDS(15)) +
                d->round * dur(d->sc, "storm_every", AKT_SECONDS(25));
  int rc = 0;
  t.what = ROUND_KEY;
  if (d->round < storms(d->sc))
    rc = akt_timer_start(ctx, ROUND_KEY, at > now ? at - now : 1, 0, &t.base);
  t.what = PING_KEY;
  akt_duration ping = dur(d->sc, "ping", AKT_MILLIS(200));
  if (!rc) rc = akt_timer_start(ctx, PING_KEY, ping, ping, &t.base);
  t.what = RETRY_KEY;
  if (!rc) rc = akt_timer_start(ctx, RETRY_KEY, RETRY_EVERY, RETRY_EVERY, &t.base);
  return rc;
}

static int driver_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  driver *d = akt_ctx_state(ctx);
  ss_state *st = akt_scenario_state(d->sc);
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return 0;
  unsigned n = names(d->sc);
  uint32_t what = ((const Aktsim__Tick *)msg)->what;
  if (what == ROUND_KEY && d->round < storms(d->sc)) {
    unsigned r = d->round++;
    st->begun[r] = 1;
    for (unsigned k = 0; k < n; k++) ask(ctx, d, r, k);
    Aktsim__Tick t = AKTSIM__TICK__INIT;
    t.what = ROUND_KEY;
    if (d->round < storms(d->sc))
      akt_timer_start(ctx, ROUND_KEY, dur(d->sc, "storm_every", AKT_SECONDS(25)), 0, &t.base);
    return 0;
  }
  if (what == RETRY_KEY) {
    /* Asked again: what got no definite answer. */
    for (unsigned r = 0; r < d->round; r++)
      for (unsigned k = 0; k < n; k++)
        if (d->st[r][k] == 0) ask(ctx, d, r, k);
    return 0;
  }
  /* A ping to a random name of a round that began. */
  if (d->round) {
    uint64_t x = akt_ctx_random(ctx);
    unsigned r = (unsigned)(x % d->round), k = (unsigned)((x >> 16) % n);
    char name[32];
    name_of(name, sizeof name, r, k);
    Aktsim__Ping p = AKTSIM__PING__INIT;
    p.node = (uint32_t)akt__wl_node(ctx);
    akt_cluster_tell(akt_ctx_system(ctx), name, &p.base, akt_ctx_self(ctx));
  }
  return 0;
}

static const akt_actor_def driver_def = {.kind = "storm-driver",
                                         .state_size = sizeof(driver),
                                         .pre_start = driver_start,
                                         .receive = driver_receive};

/* ---- hooks ----------------------------------------------------------------------------------------- */

static int kinds(cw_state *cw, size_t i, akt_system *sys) {
  (void)i;
  akt_cluster_kind k = {.name = "pinger", .def = &pinger_def, .arg = cw};
  return akt_cluster_register_kind(sys, &k);
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  return cw_node_start(sc, i, b, kinds, &driver_def);
}

static int want(cw_state *cw, uint32_t name) {
  ss_state *st = (ss_state *)cw;
  unsigned r, k;
  return sscanf(cw->names[name].name, "storm-%u-%u", &r, &k) == 2 && r < MAX_STORMS &&
         st->begun[r];
}

static int check_answer(akt_scenario *sc, char *why) {
  ss_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->twice, "names created twice", why);
}

static int check_overlap(akt_scenario *sc, char *why) { return cw_check_overlap(sc, why); }

static int check_actor(akt_scenario *sc, char *why) {
  ss_state *st = akt_scenario_state(sc);
  unsigned n = names(sc);
  for (unsigned r = 0; r < storms(sc); r++) {
    if (!st->begun[r]) continue;
    for (unsigned k = 0; k < n; k++) {
      char name[32];
      name_of(name, sizeof name, r, k);
      cw_name_of(&st->cw, name);
      if (!st->created[r][k] && !st->existed[r][k]) {
        snprintf(why, AKT_SCENARIO_WHY_MAX, "no spawn of %s was ever answered", name);
        return 1;
      }
    }
  }
  return cw_check_one_each(sc, why, want);
}

static const akt_workload_check checks[] = {
    {"one-answer", AKT_CHECK_SAFETY, check_answer},
    {"one-at-a-time", AKT_CHECK_SAFETY, check_overlap},
    {"one-actor", AKT_CHECK_LIVENESS, check_actor},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"names", "names per storm (default 20, at most 64)"},
    {"storms", "rounds (default 2, at most 8)"},
    {"storm_at", "when the first round begins (default 15s)"},
    {"storm_every", "between rounds (default 25s)"},
    {"ping", "how often each driver pings a random storm name (default 200ms)"},
    CW_PARAMS,
    {NULL, NULL},
};

const akt_workload akt__wl_spawn_storm = {
    .name = "spawn-storm",
    .summary = "every node spawns the same cluster names at once: one actor and one answer per "
               "name",
    .state_size = sizeof(ss_state),
    .node_start = node_start,
    .node_down = cw_node_down,
    .checks = checks,
    .params = params,
};
