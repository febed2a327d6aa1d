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
#include <stdlib.h>
#include <string.h>

#include "sim/check/lincheck.h"
#include "sim/workloads/cluster_common.h"

#define MAX_ACCTS 64
#define MAX_OPS 16384     /* increments the oracle records */
#define MAX_PENDING 64    /* acknowledgements an account holds for its checkpoint */
#define SPAWN_TIMEOUT AKT_SECONDS(12)
enum { TICK_CLIENT = 1, TICK_ADMIN };

typedef struct nm_op {
  uint32_t acct, client;
  uint64_t seq;
  uint64_t call, ret;       /* ret: AKT__LIN_PENDING until acknowledged */
  int64_t value;
  int has_value;
} nm_op;

typedef struct nm_client {  /* a client's durable log (survives its node's crash) */
  uint64_t seq;
  int outstanding;
  uint32_t op;              /* its index in ops */
  uint64_t sent_at;
} nm_client;

typedef struct nm_state {
  cw_state cw; /* first */
  int spawned[MAX_ACCTS];
  int stopped[MAX_ACCTS];
  uint64_t stopped_at[MAX_ACCTS];
  nm_client client[CW_MAX_NODES];
  nm_op ops[MAX_OPS];
  uint32_t nops;
  uint64_t ops_unrecorded, retries, acks;
  akt__wl_violations resurrected;
} nm_state;

static unsigned accounts(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "accounts", 8);
  return v < 1 ? 1 : v > MAX_ACCTS ? MAX_ACCTS : (unsigned)v;
}

static akt_duration dur(akt_scenario *sc, const char *name, akt_duration dflt) {
  int64_t v = akt_scenario_param(sc, name, -1);
  return v < 0 ? dflt : (akt_duration)v;
}

static long acct_of(const char *name) {
  unsigned k;
  return name && sscanf(name, "acct-%u", &k) == 1 && k < MAX_ACCTS ? (long)k : -1;
}

/* ---- the account ------------------------------------------------------------------------------ */

typedef struct pending_ack {
  uint32_t client;
  uint64_t seq, tag;
  int64_t count;            /* -1: a repeat (the count right after it is not known) */
  akt_pid *to;
} pending_ack;

typedef struct account {
  nm_state *st;
  uint64_t act;
  int64_t count;
  uint64_t last[CW_MAX_NODES];
  uint64_t tag, durable;    /* checkpoints asked, and the last one stored */
  pending_ack pending[MAX_PENDING];
  uint32_t npending;
  int store;
} account;

static void ack(akt_ctx *ctx, akt_pid *to, uint32_t client, uint64_t seq, int64_t count) {
  Aktsim__AccAck a = AKTSIM__ACC_ACK__INIT;
  a.name = (char *)(uintptr_t)akt_cluster_ctx_name(ctx);
  a.client = client;
  a.seq = seq;
  a.count = count;
  if (to) akt_send(ctx, to, &a.base);
}

static int checkpoint(akt_ctx *ctx, account *s) {
  Aktsim__AccState state = AKTSIM__ACC_STATE__INIT;
  size_t n = akt_scenario_nodes(s->st->cw.sc);
  state.count = s->count;
  state.last = s->last;
  state.n_last = n;
  return akt_cluster_checkpoint(ctx, &state.base, ++s->tag);
}

static int account_start(akt_ctx *ctx) {
  account *s = akt_ctx_state(ctx);
  s->st = (nm_state *)(uintptr_t)akt_cluster_ctx_arg(ctx);
  s->store = akt_scenario_param(s->st->cw.sc, "store", 0) != 0;
  const char *name = akt_cluster_ctx_name(ctx);
  long k = acct_of(name);
  uint64_t now = akt_scenario_now(s->st->cw.sc);
  if (k >= 0 && s->st->stopped[k] && now > s->st->stopped_at[k])
    akt__wl_violation(&s->st->resurrected, "%s started on node%zu at t=%.3fs after its stop at %.3fs",
                      name, akt__wl_node(ctx), akt__wl_s(now), akt__wl_s(s->st->stopped_at[k]));
  s->act = cw_act_start(&s->st->cw, name, akt__wl_node(ctx));
  return 0;
}

static int account_restore(akt_ctx *ctx, const ProtobufCMessage *state, akt_cluster_state_from from) {
  (void)from;
  account *s = akt_ctx_state(ctx);
  const Aktsim__AccState *a = (const Aktsim__AccState *)state;
  s->count = a->count;
  for (size_t i = 0; i < a->n_last && i < CW_MAX_NODES; i++) s->last[i] = a->last[i];
  return 0;
}

static int account_handoff(akt_ctx *ctx) {
  account *s = akt_ctx_state(ctx);
  Aktsim__AccState state = AKTSIM__ACC_STATE__INIT;
  state.count = s->count;
  state.last = s->last;
  state.n_last = akt_scenario_nodes(s->st->cw.sc);
  return akt_cluster_handoff_state(ctx, &state.base);
}

static void hold_ack(account *s, akt_ctx *ctx, uint32_t client, uint64_t seq, int64_t count) {
  if (s->npending >= MAX_PENDING) return; /* the client asks again */
  pending_ack *p = &s->pending[s->npending++];
  p->client = client;
  p->seq = seq;
  p->count = count;
  p->tag = s->tag;
  p->to = akt_pid_retain(akt_ctx_sender(ctx));
}

static void account_stop(akt_ctx *ctx) {
  account *s = akt_ctx_state(ctx);
  for (uint32_t i = 0; i < s->npending; i++) akt_pid_release(s->pending[i].to);
  s->npending = 0;
  cw_act_stop(&s->st->cw, s->act);
}

static int account_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  account *s = akt_ctx_state(ctx);
  cw_turn(&s->st->cw, s->act);
  if (akt_msg_is(msg, &aktsim__acc_inc__descriptor)) {
    const Aktsim__AccInc *inc = (const Aktsim__AccInc *)msg;
    if (inc->client >= CW_MAX_NODES) return 0;
    int64_t count = -1;
    if (inc->seq > s->last[inc->client]) {
      s->last[inc->client] = inc->seq;
      count = ++s->count;
      if (s->store) checkpoint(ctx, s);
    }
    /* With a store, acknowledged means stored. */
    if (s->store && s->durable < s->tag) hold_ack(s, ctx, inc->client, inc->seq, count);
    else ack(ctx, akt_ctx_sender(ctx), inc->client, inc->seq, count);
    return 0;
  }
  if (akt_msg_is(msg, &akt__ca__checkpoint_done__descriptor)) {
    const Akt__Ca__CheckpointDone *d = (const Akt__Ca__CheckpointDone *)msg;
    if (d->code == AKT_ESTATE) return 0; /* fenced: a newer activation exists */
    if (d->code) {
      if (d->tag == s->tag) checkpoint(ctx, s); /* the latest failed: store it again */
      return 0;
    }
    if (d->tag > s->durable) s->durable = d->tag;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->npending; i++) {
      pending_ack *p = &s->pending[i];
      if (p->tag <= s->durable) {
        ack(ctx, p->to, p->client, p->seq, p->count);
        akt_pid_release(p->to);
      } else {
        s->pending[k++] = *p;
      }
    }
    s->npending = k;
    return 0;
  }
  return 0;
}

static const akt_actor_def account_def = {.kind = "account",
                                          .state_size = sizeof(account),
                                          .pre_start = account_start,
                                          .receive = account_receive,
                                          .post_stop = account_stop};

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
  if (d->client != 0 || akt_scenario_now(d->sc) < dur(d->sc, "stop_at", AKT_SECONDS(30))) return;
  for (unsigned k = 0; k < n && (int64_t)k < stops; k++) {
    if (d->stop[k] || d->st->stopped[k] || !d->st->spawned[k]) continue;
    snprintf(name, sizeof name, "acct-%u", k);
    Akt__Ca__Stop s = AKT__CA__STOP__INIT;
    s.name = name;
    if (cw_request(ctx, &s.base, SPAWN_TIMEOUT, on_stopped, (void *)(uintptr_t)k) == 0)
      d->stop[k] = 1;
  }
}

static void send_inc(akt_ctx *ctx, driver *d, const nm_op *op) {
  char name[32];
  snprintf(name, sizeof name, "acct-%u", op->acct);
  Aktsim__AccInc inc = AKTSIM__ACC_INC__INIT;
  inc.client = d->client;
  inc.seq = op->seq;
  akt_cluster_tell(akt_ctx_system(ctx), name, &inc.base, akt_ctx_self(ctx));
}

static void client(akt_ctx *ctx, driver *d) {
  nm_state *st = d->st;
  nm_client *c = &st->client[d->client];
  uint64_t now = akt_scenario_now(d->sc);
  if (c->outstanding) {
    nm_op *op = &st->ops[c->op];
    if (st->stopped[op->acct]) {
      c->outstanding = 0; /* its account is gone: it stays pending */
    } else {
      if (now - c->sent_at >= dur(d->sc, "op_timeout", AKT_SECONDS(1))) {
        st->retries++;
        c->sent_at = now;
        send_inc(ctx, d, op);
      }
      return;
    }
  }
  unsigned n = accounts(d->sc), live[MAX_ACCTS], nlive = 0;
  for (unsigned k = 0; k < n; k++)
    if (st->spawned[k] && !st->stopped[k]) live[nlive++] = k;
  if (!nlive) return;
  if (st->nops >= MAX_OPS) {
    st->ops_unrecorded++;
    return;
  }
  nm_op *op = &st->ops[st->nops];
  memset(op, 0, sizeof *op);
  op->acct = live[akt_ctx_random(ctx) % nlive];
  op->client = d->client;
  op->seq = ++c->seq;
  op->call = now;
  op->ret = AKT__LIN_PENDING;
  c->op = st->nops++;
  c->outstanding = 1;
  c->sent_at = now;
  send_inc(ctx, d, op);
}

static int driver_start(akt_ctx *ctx) {
  driver *d = akt_ctx_state(ctx);
  d->sc = akt__wl_sc(ctx);
  d->st = akt_scenario_state(d->sc);
  d->client = (uint32_t)akt__wl_node(ctx);
  Aktsim__Tick t = AKTSIM__TICK__INIT;
  t.what = TICK_ADMIN;
  int rc = akt_timer_start(ctx, TICK_ADMIN, AKT_MILLIS(1), AKT_SECONDS(1), &t.base);
  akt_duration pace = dur(d->sc, "pace", AKT_MILLIS(200));
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
  if (akt_msg_is(msg, &aktsim__acc_ack__descriptor)) {
    const Aktsim__AccAck *a = (const Aktsim__AccAck *)msg;
    nm_client *c = &d->st->client[d->client];
    if (!c->outstanding) return 0;
    nm_op *op = &d->st->ops[c->op];
    if (a->client != d->client || a->seq != op->seq || acct_of(a->name) != (long)op->acct) return 0;
    op->ret = akt_scenario_now(d->sc);
    op->has_value = a->count >= 0;
    op->value = a->count;
    c->outstanding = 0;
    d->st->acks++;
    return 0;
  }
  return 0;
}

static const akt_actor_def driver_def = {.kind = "named-driver",
                                         .state_size = sizeof(driver),
                                         .pre_start = driver_start,
                                         .receive = driver_receive};

/* ---- hooks --------------------------------------------------------------------------------------------- */

static int kinds(cw_state *cw, size_t i, akt_system *sys) {
  (void)i;
  akt_cluster_kind k = {.name = "account",
                        .def = &account_def,
                        .state_type = &aktsim__acc_state__descriptor,
                        .handoff = account_handoff,
                        .restore = account_restore,
                        .store = akt_scenario_param(cw->sc, "store", 0) ? &cw->store : NULL,
                        .arg = cw};
  return akt_cluster_register_kind(sys, &k);
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  return cw_node_start(sc, i, b, kinds, &driver_def);
}

/* ---- checks ------------------------------------------------------------------------------------------------ */

static int want(cw_state *cw, uint32_t name) {
  nm_state *st = (nm_state *)cw;
  long k = acct_of(cw->names[name].name);
  return k >= 0 && (unsigned)k < accounts(cw->sc) && st->spawned[k] && !st->stopped[k];
}

static int check_overlap(akt_scenario *sc, char *why) { return cw_check_overlap(sc, why); }

static int check_stopped(akt_scenario *sc, char *why) {
  nm_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->resurrected, "stopped accounts started again", why);
}

static int check_linearizable(akt_scenario *sc, char *why) {
  nm_state *st = akt_scenario_state(sc);
  akt__lin_op *ops = calloc(st->nops ? st->nops : 1, sizeof *ops);
  if (!ops) return 0;
  for (uint32_t i = 0; i < st->nops; i++) {
    const nm_op *o = &st->ops[i];
    ops[i] = (akt__lin_op){.key = o->acct,
                           .kind = AKT__LIN_INC,
                           .id = (uint64_t)o->client << 32 | o->seq,
                           .arg = 1,
                           .value = o->value,
                           .has_value = o->has_value,
                           .call = o->call,
                           .ret = o->ret,
                           .client = o->client};
  }
  akt__lin_options lo = {.max_ops = AKT__LIN_OPS_MAX};
  akt__lin_report rep;
  int bad = 0;
  if (akt__lin_check(ops, st->nops, &lo, &rep) == 0) {
    if (rep.result != AKT__LIN_OK) {
      bad = 1;
      size_t n = (size_t)snprintf(why, AKT_SCENARIO_WHY_MAX,
                                  "acct-%llu: %s (%zu of %zu keys); witness:",
                                  (unsigned long long)rep.key, akt__lin_result_name(rep.result),
                                  rep.keys - rep.keys_ok, rep.keys);
      for (size_t w = 0; w < rep.nwitness && n < AKT_SCENARIO_WHY_MAX - 80; w++) {
        const akt__lin_op *o = &ops[rep.witness[w]];
        n += (size_t)snprintf(why + n, AKT_SCENARIO_WHY_MAX - n, " [c%u#%llu %.3f..%.3f =%lld]",
                              o->client, (unsigned long long)(o->id & 0xffffffffu),
                              akt__wl_s(o->call),
                              o->ret == AKT__LIN_PENDING ? -1.0 : akt__wl_s(o->ret),
                              o->has_value ? (long long)o->value : -1LL);
      }
    }
    akt__lin_report_free(&rep);
  }
  free(ops);
  return bad;
}

static int check_resolves(akt_scenario *sc, char *why) {
  nm_state *st = akt_scenario_state(sc);
  unsigned n = accounts(sc);
  for (unsigned k = 0; k < n; k++) {
    char name[32];
    snprintf(name, sizeof name, "acct-%u", k);
    cw_name_of(&st->cw, name);
    if (!st->spawned[k]) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "%s was never spawned", name);
      return 1;
    }
  }
  if (cw_check_one_each(sc, why, want)) return 1;
  uint64_t now = akt_scenario_now(sc);
  for (size_t c = 0; c < akt_scenario_nodes(sc); c++) {
    const nm_client *cl = &st->client[c];
    if (!cl->outstanding || !cw_member(&st->cw, c)) continue;
    const nm_op *op = &st->ops[cl->op];
    if (now - op->call < AKT_SECONDS(10)) continue;
    snprintf(why, AKT_SCENARIO_WHY_MAX,
             "client %zu has waited since t=%.3fs for acct-%u to acknowledge #%llu", c,
             akt__wl_s(op->call), op->acct, (unsigned long long)op->seq);
    return 1;
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"one-at-a-time", AKT_CHECK_SAFETY, check_overlap},
    {"stays-stopped", AKT_CHECK_SAFETY, check_stopped},
    {"resolves", AKT_CHECK_LIVENESS, check_resolves},
    {"linearizable", AKT_CHECK_LIVENESS, check_linearizable},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"accounts", "named accounts (default 8, at most 64)"},
    {"pace", "how often each client may start an increment (default 200ms)"},
    {"op_timeout", "a client sends an unacknowledged increment again after this (default 1s)"},
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
