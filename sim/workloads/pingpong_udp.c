/* akt — workload "pingpong-udp": ping-pong over datagrams, where the links'
 * loss, duplication and reordering reach the application (streams hide
 * them, as TCP does: see "pingpong").
 *
 * node0's pinger sends a numbered Ping datagram to every other node on a
 * timer. On node j the datagram goes to the ponger actor (/user/node), which applies each
 * ping once — duplicates and pings older than its window are dropped — and
 * answers every ping it applies with a Pong datagram. Checks: no ping is
 * applied twice (an oracle remembers every seq each node applied), and
 * after the quiet period pongs come back from every node. Parameters:
 * interval (default 20ms), dedupe (default 1; 0 applies every copy, which
 * the first check must catch).
 *
 * A ponger's dedupe window is its node's "disk" (it lives in the shared
 * state and survives a crash), so a duplicate that arrives after a restart
 * is still recognised.
 */
#include <stdlib.h>

#include "sim/workloads/common.h"

#define MAX_NODES AKT_SCENARIO_MAX_NODES
#define UDP_PORT 7000
#define WINDOW 64         /* seqs a ponger remembers below its highest */
#define ORACLE_SEQS 16384 /* pings per node the oracle follows; beyond, not checked */
#define DGRAM_MAX 64      /* a Ping or Pong packs into far less */

typedef struct udp_node {
  size_t index;
  akt_backend *b; /* NULL while the node is down */
  akt_dgram *d;
  akt_system *sys; /* its system, whose /user/node holds the pinger or the ponger */
  uint64_t high;  /* the ponger's disk: the highest seq applied, and */
  uint64_t seen;  /* bit k: seq high - k was applied (k < WINDOW) */
} udp_node;

typedef struct pu_state {
  udp_node node[MAX_NODES];
  uint64_t sent[MAX_NODES];    /* pings sent to node j */
  uint64_t applied[MAX_NODES]; /* pings node j applied */
  uint64_t dropped[MAX_NODES]; /* duplicates and stale pings node j dropped */
  uint64_t pongs[MAX_NODES];
  uint64_t last_at[MAX_NODES]; /* world time of the last pong from node j */
  uint8_t oracle[MAX_NODES][ORACLE_SEQS / 8]; /* bit seq: node j applied it */
  akt__wl_violations twice; /* pings applied twice */
} pu_state;

static akt_addr node_addr(size_t j) {
  akt_addr a = {.port = UDP_PORT};
  snprintf(a.host, sizeof a.host, "node%zu", j);
  return a;
}

/* Sends `m` from node n to node j (nothing while n is down). */
static void send_to(udp_node *n, size_t j, const ProtobufCMessage *m) {
  if (!n->b || !n->d) return;
  uint8_t buf[DGRAM_MAX];
  if (protobuf_c_message_get_packed_size(m) > sizeof buf) return;
  size_t len = protobuf_c_message_pack(m, buf);
  akt_addr to = node_addr(j);
  n->b->ops->dgram_send(n->b, n->d, &to, buf, len); /* lost or not: UDP */
}

/* A datagram reached node n: node0 gets Pongs, the others Pings; each goes
 * to the node's actor. */
static void on_datagram(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                        void *data) {
  (void)d;
  (void)from;
  udp_node *n = data;
  akt_pid *actor = NULL;
  if (!n->sys || akt_lookup(n->sys, "/user/node", &actor) != 0) return;
  const ProtobufCMessageDescriptor *desc =
      n->index == 0 ? &aktsim__pong__descriptor : &aktsim__ping__descriptor;
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, buf);
  if (m) {
    akt_tell(actor, m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  akt_pid_release(actor);
}

static int pinger_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  akt_duration every = (akt_duration)akt_scenario_param(sc, "interval", AKT_MILLIS(20));
  return akt_timer_start(ctx, 1, every, every, &tick.base);
}

static int pinger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_scenario *sc = akt__wl_sc(ctx);
  pu_state *st = akt_scenario_state(sc);
  if (akt_msg_is(msg, &aktsim__tick__descriptor)) {
    for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
      Aktsim__Ping ping = AKTSIM__PING__INIT;
      ping.seq = ++st->sent[j];
      ping.node = (uint32_t)j;
      send_to(&st->node[0], j, &ping.base);
    }
    return 0;
  }
  if (akt_msg_is(msg, &aktsim__pong__descriptor)) {
    const Aktsim__Pong *pong = (const Aktsim__Pong *)msg;
    if (pong->node == 0 || pong->node >= akt_scenario_nodes(sc)) return 0;
    st->pongs[pong->node]++;
    st->last_at[pong->node] = akt_scenario_now(sc);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def pinger_def = {.kind = "udp-pinger",
                                         .pre_start = pinger_start,
                                         .receive = pinger_receive};

/* Applies ping `seq` on node n unless its window says it was applied or is
 * too old to tell. Returns 1 if applied. */
static int apply_once(udp_node *n, uint64_t seq) {
  if (seq > n->high) {
    uint64_t shift = seq - n->high;
    n->seen = shift >= WINDOW ? 0 : n->seen << shift;
    n->seen |= 1;
    n->high = seq;
    return 1;
  }
  uint64_t k = n->high - seq;
  if (k >= WINDOW || (n->seen >> k) & 1) return 0;
  n->seen |= (uint64_t)1 << k;
  return 1;
}

static int ponger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__ping__descriptor)) return AKT_EUNHANDLED;
  akt_scenario *sc = akt__wl_sc(ctx);
  pu_state *st = akt_scenario_state(sc);
  size_t j = akt__wl_node(ctx);
  uint64_t seq = ((const Aktsim__Ping *)msg)->seq;
  /* dedupe=0 turns the window off: the check must then catch duplicates
   * (tests/sim/test_scenario.c). */
  int dedupe = akt_scenario_param(sc, "dedupe", 1) != 0;
  if (dedupe && !apply_once(&st->node[j], seq)) {
    st->dropped[j]++;
    return 0;
  }
  st->applied[j]++;
  if (seq < ORACLE_SEQS) {
    uint8_t *bit = &st->oracle[j][seq / 8], mask = (uint8_t)(1u << (seq % 8));
    if (*bit & mask)
      akt__wl_violation(&st->twice, "node%zu applied ping %llu twice (again at t=%.3fs)", j,
                        (unsigned long long)seq, akt__wl_s(akt_scenario_now(sc)));
    *bit |= mask;
  }
  Aktsim__Pong pong = AKTSIM__PONG__INIT;
  pong.seq = seq;
  pong.node = (uint32_t)j;
  send_to(&st->node[j], 0, &pong.base);
  return 0;
}

static const akt_actor_def ponger_def = {.kind = "udp-ponger", .receive = ponger_receive};

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  pu_state *st = akt_scenario_state(sc);
  udp_node *n = &st->node[i];
  akt_system *sys;
  int rc = akt__wl_system(sc, i, &sys);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = sc};
  rc = akt_spawn(sys, "node", i == 0 ? &pinger_def : &ponger_def, &o, NULL);
  if (rc) return rc;
  n->index = i;
  n->sys = sys;
  n->b = b;
  akt_addr me = node_addr(i);
  return b->ops->dgram_open(b, &me, on_datagram, n, &n->d);
}

/* The node's memory is gone: its system and endpoint with it (the window
 * stays: it is the node's disk). */
static void node_down(akt_scenario *sc, size_t i) {
  pu_state *st = akt_scenario_state(sc);
  udp_node *n = &st->node[i];
  n->sys = NULL;
  n->b = NULL;
  n->d = NULL;
}

static int check_once(akt_scenario *sc, char *why) {
  pu_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->twice, "pings applied twice", why);
}

static int check_resume(akt_scenario *sc, char *why) {
  pu_state *st = akt_scenario_state(sc);
  for (size_t j = 1; j < akt_scenario_nodes(sc); j++) {
    if (st->last_at[j] <= akt_scenario_quiet_start(sc)) {
      snprintf(why, AKT_SCENARIO_WHY_MAX,
               "no pong from node%zu since the quiet period began at t=%.3fs "
               "(%llu pings sent, %llu applied, %llu dropped, %llu pongs)",
               j, akt__wl_s(akt_scenario_quiet_start(sc)), (unsigned long long)st->sent[j],
               (unsigned long long)st->applied[j], (unsigned long long)st->dropped[j],
               (unsigned long long)st->pongs[j]);
      return 1;
    }
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"pings-applied-once", AKT_CHECK_SAFETY, check_once},
    {"pongs-resume", AKT_CHECK_LIVENESS, check_resume},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"interval", "time between pings (default 20ms)"},
    {"dedupe", "1: pongers drop duplicate and stale pings; 0: they apply every copy (default 1)"},
    {NULL, NULL},
};

const akt_workload akt__wl_pingpong_udp = {
    .name = "pingpong-udp",
    .summary = "node0 pings every node by datagram: duplicates and reordering reach the pongers, "
               "each ping is applied once, pongs resume after faults",
    .state_size = sizeof(pu_state),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .params = params,
};
