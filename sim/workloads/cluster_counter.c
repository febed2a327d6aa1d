/* akt — the counter cluster actor and its clients (see cluster_counter.h). */
#include "sim/workloads/cluster_counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/check/lincheck.h"
#include "src/util/assert.h"

akt_duration cc_dur(akt_scenario *sc, const char *name, akt_duration dflt) {
  int64_t v = akt_scenario_param(sc, name, -1);
  return v < 0 ? dflt : (akt_duration)v;
}

long cc_key_of(const cc_state *st, const char *name) {
  size_t n = strlen(st->prefix);
  if (!name || strncmp(name, st->prefix, n)) return -1;
  unsigned k;
  char end;
  if (sscanf(name + n, "%u%c", &k, &end) != 1 || k >= st->keys) return -1;
  return (long)k;
}

void cc_name(const cc_state *st, uint32_t key, char *buf, size_t n) {
  snprintf(buf, n, "%s%u", st->prefix, key);
}

/* ---- the counter ------------------------------------------------------------------------------ */

typedef struct pending_ack {
  uint32_t client;
  uint64_t seq, tag;
  int64_t count;            /* -1: a repeat (the count right after it is not known) */
  akt_pid *to;
} pending_ack;

typedef struct counter {
  cc_state *st;
  uint64_t act;
  int64_t count;
  uint64_t last[CW_MAX_NODES];
  /* Checkpoints asked, and the last one stored. Tags begin at a base of
   * the activation's own: a CheckpointDone that reaches the activation
   * after the one that asked for it (the layer sends what is queued for a
   * stopping activation on to the name's next one) is not taken for its. */
  uint64_t base, tag, durable;
  pending_ack pending[CC_MAX_PENDING];
  uint32_t npending;
} counter;

static void ack(akt_ctx *ctx, akt_pid *to, uint32_t client, uint64_t seq, int64_t count) {
  Aktsim__AccAck a = AKTSIM__ACC_ACK__INIT;
  a.name = (char *)(uintptr_t)akt_cluster_ctx_name(ctx);
  a.client = client;
  a.seq = seq;
  a.count = count;
  if (to) akt_send(ctx, to, &a.base);
}

static void state_of(counter *s, Aktsim__AccState *state) {
  state->count = s->count;
  state->last = s->last;
  state->n_last = akt_scenario_nodes(s->st->cw.sc);
}

static int checkpoint(akt_ctx *ctx, counter *s) {
  AKT_ASSERT(s->tag - s->base < (UINT64_C(1) << CC_TAG_BITS) - 1);
  Aktsim__AccState state = AKTSIM__ACC_STATE__INIT;
  state_of(s, &state);
  return akt_cluster_checkpoint(ctx, &state.base, ++s->tag);
}

static int counter_start(akt_ctx *ctx) {
  counter *s = akt_ctx_state(ctx);
  s->st = (cc_state *)(uintptr_t)akt_cluster_ctx_arg(ctx);
  AKT_ASSERT(s->st != NULL);
  const char *name = akt_cluster_ctx_name(ctx);
  if (s->st->started) s->st->started(s->st, ctx, name, cc_key_of(s->st, name));
  s->base = s->tag = s->durable = ++s->st->generations << CC_TAG_BITS;
  s->act = cw_act_start(&s->st->cw, name, akt__wl_node(ctx));
  return 0;
}

int cc_counter_restore(akt_ctx *ctx, const ProtobufCMessage *state, akt_cluster_state_from from) {
  (void)from;
  counter *s = akt_ctx_state(ctx);
  const Aktsim__AccState *a = (const Aktsim__AccState *)state;
  s->count = a->count;
  for (size_t i = 0; i < a->n_last && i < CW_MAX_NODES; i++) s->last[i] = a->last[i];
  return 0;
}

int cc_counter_handoff(akt_ctx *ctx) {
  counter *s = akt_ctx_state(ctx);
  Aktsim__AccState state = AKTSIM__ACC_STATE__INIT;
  state_of(s, &state);
  return akt_cluster_handoff_state(ctx, &state.base);
}

static void hold_ack(counter *s, akt_ctx *ctx, uint32_t client, uint64_t seq, int64_t count) {
  if (s->npending >= CC_MAX_PENDING) return; /* the client asks again */
  pending_ack *p = &s->pending[s->npending++];
  p->client = client;
  p->seq = seq;
  p->count = count;
  p->tag = s->tag;
  p->to = akt_pid_retain(akt_ctx_sender(ctx));
}

static void counter_stop(akt_ctx *ctx) {
  counter *s = akt_ctx_state(ctx);
  for (uint32_t i = 0; i < s->npending; i++) akt_pid_release(s->pending[i].to);
  s->npending = 0;
  cw_act_stop(&s->st->cw, s->act);
}

/* Answers now, or — with a store, while what it shows is not stored yet —
 * once the checkpoint holding it is. */
static void answer(akt_ctx *ctx, counter *s, uint32_t client, uint64_t seq, int64_t count) {
  if (s->st->store && s->durable < s->tag) hold_ack(s, ctx, client, seq, count);
  else ack(ctx, akt_ctx_sender(ctx), client, seq, count);
}

static void checkpoint_done(akt_ctx *ctx, counter *s, const Akt__Ca__CheckpointDone *d) {
  if (d->tag <= s->base || d->tag > s->tag) { /* an earlier activation's */
    s->st->foreign_done++;
    return;
  }
  if (d->code == AKT_ESTATE) return; /* fenced: a newer activation exists */
  if (d->code) {
    if (d->tag == s->tag) checkpoint(ctx, s); /* the latest failed: store it again */
    return;
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
}

static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  counter *s = akt_ctx_state(ctx);
  cw_turn(&s->st->cw, s->act);
  if (akt_msg_is(msg, &aktsim__acc_inc__descriptor)) {
    const Aktsim__AccInc *inc = (const Aktsim__AccInc *)msg;
    if (inc->client >= CW_MAX_NODES) return 0;
    int64_t count = -1;
    if (inc->seq > s->last[inc->client]) {
      s->last[inc->client] = inc->seq;
      count = ++s->count;
      if (s->st->store) checkpoint(ctx, s);
    }
    answer(ctx, s, inc->client, inc->seq, count);
  } else if (akt_msg_is(msg, &aktsim__acc_read__descriptor)) {
    const Aktsim__AccRead *rd = (const Aktsim__AccRead *)msg;
    if (rd->client < CW_MAX_NODES) answer(ctx, s, rd->client, rd->seq, s->count);
  } else if (akt_msg_is(msg, &akt__ca__checkpoint_done__descriptor)) {
    checkpoint_done(ctx, s, (const Akt__Ca__CheckpointDone *)msg);
  }
  return 0;
}

const akt_actor_def cc_counter_def = {.kind = "counter",
                                      .state_size = sizeof(counter),
                                      .pre_start = counter_start,
                                      .receive = counter_receive,
                                      .post_stop = counter_stop};

/* ---- the clients -------------------------------------------------------------------------------- */

static void send_op(cc_state *st, akt_ctx *ctx, const cc_op *op) {
  char name[CW_NAME_MAX];
  cc_name(st, op->key, name, sizeof name);
  if (op->read) {
    Aktsim__AccRead rd = AKTSIM__ACC_READ__INIT;
    rd.client = op->client;
    rd.seq = op->seq;
    akt_cluster_tell(akt_ctx_system(ctx), name, &rd.base, akt_ctx_self(ctx));
  } else {
    Aktsim__AccInc inc = AKTSIM__ACC_INC__INIT;
    inc.client = op->client;
    inc.seq = op->seq;
    akt_cluster_tell(akt_ctx_system(ctx), name, &inc.base, akt_ctx_self(ctx));
  }
}

void cc_client_tick(cc_state *st, akt_ctx *ctx, uint32_t client, const unsigned *keys,
                    unsigned nkeys, unsigned reads_pct) {
  AKT_ASSERT(client < CW_MAX_NODES);
  cc_client *c = &st->client[client];
  akt_scenario *sc = st->cw.sc;
  uint64_t now = akt_scenario_now(sc);
  if (c->outstanding) {
    const cc_op *op = &st->ops[c->op];
    akt_duration give_up = cc_dur(sc, "give_up", st->give_up);
    if (give_up && op->call < akt_scenario_quiet_start(sc) && now - op->call >= give_up) {
      c->outstanding = 0; /* it stays pending in the history: it may yet take effect */
      st->abandoned++;
    } else {
      if (now - c->sent_at >= cc_dur(sc, "op_timeout", AKT_SECONDS(1))) {
        st->retries++;
        c->sent_at = now;
        send_op(st, ctx, op);
      }
      return;
    }
  }
  if (!nkeys) return;
  if (st->nops >= CC_MAX_OPS) {
    st->ops_unrecorded++;
    return;
  }
  cc_op *op = &st->ops[st->nops];
  memset(op, 0, sizeof *op);
  op->key = keys[akt_ctx_random(ctx) % nkeys];
  AKT_ASSERT(op->key < st->keys);
  /* No draw without reads, so a workload without them replays as before. */
  op->read = reads_pct && akt_ctx_random(ctx) % 100 < reads_pct;
  op->client = client;
  op->seq = ++c->seq;
  op->call = now;
  op->ret = AKT__LIN_PENDING;
  c->op = st->nops++;
  c->outstanding = 1;
  c->sent_at = now;
  send_op(st, ctx, op);
}

int cc_client_ack(cc_state *st, uint32_t client, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__acc_ack__descriptor)) return 0;
  const Aktsim__AccAck *a = (const Aktsim__AccAck *)msg;
  cc_client *c = &st->client[client];
  if (!c->outstanding) return 1;
  cc_op *op = &st->ops[c->op];
  if (a->client != client || a->seq != op->seq || cc_key_of(st, a->name) != (long)op->key)
    return 1;
  AKT_ASSERT(op->ret == AKT__LIN_PENDING);
  op->ret = akt_scenario_now(st->cw.sc);
  op->has_value = a->count >= 0;
  op->value = a->count;
  c->outstanding = 0;
  st->acks++;
  return 1;
}

/* ---- the checks ------------------------------------------------------------------------------------ */

int cc_check_linearizable(akt_scenario *sc, char *why) {
  cc_state *st = akt_scenario_state(sc);
  akt__lin_op *ops = calloc(st->nops ? st->nops : 1, sizeof *ops);
  if (!ops) {
    snprintf(why, AKT_SCENARIO_WHY_MAX, "out of memory for %u operations", st->nops);
    return 1;
  }
  for (uint32_t i = 0; i < st->nops; i++) {
    const cc_op *o = &st->ops[i];
    /* A read that was never answered says nothing (lincheck ignores it). */
    ops[i] = (akt__lin_op){.key = o->key,
                           .kind = o->read ? AKT__LIN_READ : AKT__LIN_INC,
                           .id = (uint64_t)o->client << 32 | o->seq,
                           .arg = o->read ? 0 : 1,
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
      size_t n = (size_t)snprintf(why, AKT_SCENARIO_WHY_MAX, "%s%llu: %s (%zu of %zu keys); witness:",
                                  st->prefix, (unsigned long long)rep.key,
                                  akt__lin_result_name(rep.result), rep.keys - rep.keys_ok, rep.keys);
      for (size_t w = 0; w < rep.nwitness && n < AKT_SCENARIO_WHY_MAX - 80; w++) {
        const akt__lin_op *o = &ops[rep.witness[w]];
        n += (size_t)snprintf(why + n, AKT_SCENARIO_WHY_MAX - n, " [c%u#%llu %s %.3f..%.3f =%lld]",
                              o->client, (unsigned long long)(o->id & 0xffffffffu),
                              o->kind == AKT__LIN_READ ? "read" : "inc", akt__wl_s(o->call),
                              o->ret == AKT__LIN_PENDING ? -1.0 : akt__wl_s(o->ret),
                              o->has_value || o->kind == AKT__LIN_READ ? (long long)o->value : -1LL);
      }
    }
    akt__lin_report_free(&rep);
  } else {
    bad = 1;
    snprintf(why, AKT_SCENARIO_WHY_MAX, "the checker could not run on %u operations", st->nops);
  }
  free(ops);
  return bad;
}

int cc_check_answered(akt_scenario *sc, char *why) {
  cc_state *st = akt_scenario_state(sc);
  uint64_t now = akt_scenario_now(sc);
  for (size_t c = 0; c < akt_scenario_nodes(sc); c++) {
    const cc_client *cl = &st->client[c];
    if (!cl->outstanding || !cw_member(&st->cw, c)) continue;
    const cc_op *op = &st->ops[cl->op];
    if (now - op->call < CC_WAIT_MAX) continue;
    char name[CW_NAME_MAX];
    cc_name(st, op->key, name, sizeof name);
    snprintf(why, AKT_SCENARIO_WHY_MAX,
             "client %zu has waited since t=%.3fs for %s to acknowledge #%llu", c,
             akt__wl_s(op->call), name, (unsigned long long)op->seq);
    return 1;
  }
  return 0;
}
