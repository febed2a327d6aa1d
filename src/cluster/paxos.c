/* akt — Paxos, one slot at a time.
 *
 * Slot s (the next one after what the proposer has applied) is decided by
 * single-decree Paxos among the members of the configuration in force
 * after slot s - 1, with the downing strategy's winning sets as quorums
 * (winning.c). Proposing one slot at a time keeps that acceptor set
 * unambiguous: every proposer of slot s has applied s - 1 and so holds the
 * same configuration. A ballot is (number, node key), ordered by number
 * then key; the proposer chosen in each node's view proposes (the
 * membership leader, or the configuration's oldest live member when the
 * leader is not one: actors.c, choose_proposer), and anyone else who does
 * (two leaders during a partition, views that differ) only costs a retry
 * after a random backoff.
 *
 *   proposer                              acceptor
 *   Prepare(s, b) ───────────────────────> promise b if b >= promised:
 *                <─────────────────────── Promise(ok, the value it accepted
 *                                           for s and that value's ballot)
 *   with a winning set of promises: the
 *   value of the highest ballot among
 *   them, or its own
 *   Accept(s, b, v) ─────────────────────> accept if b >= promised
 *                <─────────────────────── Accepted(ok)
 *   with a winning set: decided. Commit(s, v) to every node.
 *
 * What leases rest on: an acceptor that accepts a configuration change for
 * a slot past its own configuration stops acknowledging leases of that
 * configuration (akt__ca_paxos_lease_ok) until it has applied the slot —
 * and a configuration change that commits was accepted by a winning set
 * of the configuration before it.
 *
 * The values are directory ops from the pending queue (ops this node, the
 * proposer, collected: its own requests and other nodes' Submits), or a
 * configuration change, which goes first: membership's up members when
 * they differ from the configuration in force.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* Ballot order: number, then node key. */
static int ballot_cmp(uint64_t an, uint64_t anode, uint64_t bn, uint64_t bnode) {
  if (an != bn) return an < bn ? -1 : 1;
  if (anode != bnode) return anode < bnode ? -1 : 1;
  return 0;
}

static uint64_t op_key(const Akt__Ca__Op *op) {
  uint64_t k = XXH3_64bits_withSeed(op->requester, strlen(op->requester), op->req);
  return k ? k : 1;
}

/* ---- the pending queue ---------------------------------------------------------------------- */

int akt__ca_pending_add(akt__ca *ca, Akt__Ca__Op *op) {
  uint64_t key = op_key(op);
  if (akt__u64set_has(&ca->recent_set, key)) goto drop; /* applied already */
  for (uint32_t i = 0; i < ca->npending; i++)
    if (op_key(ca->pending[i]) == key) goto drop; /* queued already */
  int rc = akt__grow(&ca->pending, sizeof *ca->pending, ca->npending, &ca->cap_pending, 16,
                     AKT__CA_PENDING_OPS_MAX);
  if (rc) {
    akt__ca__op__free_unpacked(op, NULL);
    return rc;
  }
  ca->pending[ca->npending++] = op;
  return 0;
drop:
  akt__ca__op__free_unpacked(op, NULL);
  return 0;
}

/* Drops pending ops that the log applied (by anyone's proposal). */
static void pending_prune(akt__ca *ca) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < ca->npending; i++) {
    if (akt__u64set_has(&ca->recent_set, op_key(ca->pending[i])))
      akt__ca__op__free_unpacked(ca->pending[i], NULL);
    else
      ca->pending[k++] = ca->pending[i];
  }
  ca->npending = k;
}

/* The status of member `id` in this node's view of membership, or -1. */
static int view_status(akt__ca *ca, const char *id) {
  for (size_t i = 0; id && i < ca->nview; i++) {
    const akt_member *v = &ca->view[i];
    char address[AKT_HOST_MAX + 8], vid[AKT__MEMBER_ID_MAX + 1];
    snprintf(address, sizeof address, "%s:%u", v->addr.host, (unsigned)v->addr.port);
    if (akt__member_id_format(vid, sizeof vid, v->name, address, v->incarnation)) continue;
    if (!strcmp(vid, id)) return (int)v->status;
  }
  return -1;
}

/* Is member `id` down or removed in this node's view of membership? */
static int known_gone(akt__ca *ca, const char *id) {
  return view_status(ca, id) >= AKT_MEMBER_DOWN;
}

/* Is some member of the configuration in force up or leaving? */
static int config_alive(akt__ca *ca) {
  for (size_t i = 0; i < ca->cfg.n; i++) {
    int st = view_status(ca, ca->cfg.m[i].id);
    if (st == AKT_MEMBER_UP || st == AKT_MEMBER_LEAVING) return 1;
  }
  return 0;
}

int akt__ca_proposes(akt__ca *ca) {
  return ca->leader && (ca->self_idx >= 0 || !config_alive(ca));
}

void akt__ca_on_submit(akt__ca *ca, const Akt__Ca__Msg *m) {
  if (!m->submit || !akt__ca_proposes(ca)) return; /* the requester asks the leader again */
  for (size_t i = 0; i < m->submit->n_ops; i++) {
    const Akt__Ca__Op *op = m->submit->ops[i];
    if (!op || !op->requester || !op->name) continue;
    Akt__Ca__Op *copy = akt__ca_op_copy(op);
    if (copy) akt__ca_pending_add(ca, copy);
  }
  akt__ca_propose(ca);
}

/* ---- proposer ------------------------------------------------------------------------------------ */

static void set_value(akt__ca *ca, uint8_t *value, size_t len, int own, size_t nops) {
  free(ca->p_value);
  ca->p_value = value;
  ca->p_len = len;
  ca->p_own = own;
  ca->p_nops = nops;
}

static void send_prepare(akt__ca *ca) {
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Prepare p = AKT__CA__PREPARE__INIT;
  p.slot = ca->p_slot;
  p.bn = ca->p_bn;
  p.bnode = ca->self_key;
  msg.body_case = AKT__CA__MSG__BODY_PREPARE;
  msg.prepare = &p;
  akt__ca_send_all(ca, &ca->cfg, &msg);
}

static void send_accept(akt__ca *ca) {
  Akt__Ca__Value *v = akt__ca__value__unpack(NULL, ca->p_len, ca->p_value);
  AKT_ASSERT(v != NULL); /* packed here or checked when adopted */
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Accept a = AKT__CA__ACCEPT__INIT;
  a.slot = ca->p_slot;
  a.bn = ca->p_bn;
  a.bnode = ca->self_key;
  a.value = v;
  msg.body_case = AKT__CA__MSG__BODY_ACCEPT;
  msg.accept = &a;
  akt__ca_send_all(ca, &ca->cfg, &msg);
  akt__ca__value__free_unpacked(v, NULL);
}

/* Starts a ballot for the next slot with the value in p_value. */
static void start_ballot(akt__ca *ca) {
  ca->p_slot = ca->applied + 1;
  ca->p_bn = ++ca->max_bn;
  ca->phase = 1;
  memset(&ca->p_promised, 0, sizeof ca->p_promised);
  memset(&ca->p_accepted, 0, sizeof ca->p_accepted);
  ca->p_acc_bn = ca->p_acc_bnode = 0;
  ca->p_started = akt__ca_now(ca);
  AKT__CA_STAT(ca, proposals);
  send_prepare(ca);
}

/* Gives up the current ballot; a new one starts after a random backoff. */
static void back_off(akt__ca *ca) {
  ca->phase = 0;
  ca->p_retry_at = akt__ca_now(ca) + akt__ca_random(ca) % AKT__CA_BACKOFF_MAX;
  AKT__CA_STAT(ca, ballots_lost);
}

/* The value to propose: a configuration change first, else pending ops.
 * Returns 1 with p_value set, 0 when there is nothing to propose. */
static int next_value(akt__ca *ca) {
  Akt__Ca__Value v = AKT__CA__VALUE__INIT;
  void *storage = NULL;
  if (akt__ca_desired_config(ca, &v, &storage)) {
    size_t len = akt__ca__value__get_packed_size(&v);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf) akt__ca__value__pack(&v, buf);
    free(storage);
    if (!buf) return 0;
    set_value(ca, buf, len, 1, 0);
    return 1;
  }
  pending_prune(ca);
  if (!ca->npending) return 0;
  size_t n = ca->npending < AKT__CA_OPS_PER_SLOT ? ca->npending : AKT__CA_OPS_PER_SLOT;
  v.ops = ca->pending;
  v.n_ops = n;
  size_t len = akt__ca__value__get_packed_size(&v);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return 0;
  akt__ca__value__pack(&v, buf);
  set_value(ca, buf, len, 1, n);
  return 1;
}

void akt__ca_propose(akt__ca *ca) {
  if (ca->stopping || !ca->genesis || !ca->cfg.n || !ca->self_id[0]) return;
  if (!akt__ca_proposes(ca)) {
    /* Not the proposer (any more): what was queued here goes to the
     * leader, whose proposals decide (not to this node itself: the
     * requesters resubmit). */
    if (ca->npending && ca->leader_remoting[0] && strcmp(ca->leader_remoting, ca->remoting)) {
      Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
      Akt__Ca__Submit sub = AKT__CA__SUBMIT__INIT;
      sub.ops = ca->pending;
      sub.n_ops = ca->npending < AKT__CA_OPS_PER_SLOT ? ca->npending : AKT__CA_OPS_PER_SLOT;
      msg.body_case = AKT__CA__MSG__BODY_SUBMIT;
      msg.submit = &sub;
      akt__ca_send(ca, ca->leader_remoting, &msg);
    }
    for (uint32_t i = 0; i < ca->npending; i++) akt__ca__op__free_unpacked(ca->pending[i], NULL);
    ca->npending = 0;
    ca->phase = 0;
    return;
  }
  uint64_t now = akt__ca_now(ca);
  if (ca->phase) {
    /* A ballot that got no winning set in time (lost messages, a member
     * gone): try again with a higher one. */
    if (now - ca->p_started < AKT__CA_PAXOS_TIMEOUT) return;
    back_off(ca);
  }
  if (now < ca->p_retry_at) return;
  if (!next_value(ca)) return;
  start_ballot(ca);
}

/* The index in the configuration of the acceptor that answered: as the
 * identity it votes as, else its own; -1 when neither is a member. */
static long voter_index(akt__ca *ca, const Akt__Ca__Msg *m, const char *as) {
  if (as && as[0]) return akt__ca_config_find(&ca->cfg, as);
  return m->from ? akt__ca_config_find(&ca->cfg, m->from) : -1;
}

void akt__ca_on_promise(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__Promise *p = m->promise;
  if (!p) return;
  if (!p->ok && p->promised_bn > ca->max_bn) ca->max_bn = p->promised_bn;
  if (ca->phase != 1 || p->slot != ca->p_slot || p->bn != ca->p_bn || p->bnode != ca->self_key)
    return;
  long i = voter_index(ca, m, p->as);
  if (i < 0) return;
  if (!p->ok) {
    back_off(ca);
    return;
  }
  akt__ca_bit_set(&ca->p_promised, (size_t)i);
  if (p->acc && (p->acc_bn || p->acc_bnode) &&
      ballot_cmp(p->acc_bn, p->acc_bnode, ca->p_acc_bn, ca->p_acc_bnode) > 0) {
    /* A value some acceptor accepted may have been chosen: it is the one
     * to propose. */
    size_t len = akt__ca__value__get_packed_size(p->acc);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return;
    akt__ca__value__pack(p->acc, buf);
    set_value(ca, buf, len, 0, 0);
    ca->p_acc_bn = p->acc_bn;
    ca->p_acc_bnode = p->acc_bnode;
  }
  if (!akt__ca_winning(&ca->co, &ca->cfg, &ca->p_promised)) return;
  ca->phase = 2;
  send_accept(ca);
}

void akt__ca_on_accepted(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__Accepted *a = m->accepted;
  if (!a) return;
  if (!a->ok && a->promised_bn > ca->max_bn) ca->max_bn = a->promised_bn;
  if (ca->phase != 2 || a->slot != ca->p_slot || a->bn != ca->p_bn || a->bnode != ca->self_key)
    return;
  long i = voter_index(ca, m, a->as);
  if (i < 0) return;
  if (!a->ok) {
    back_off(ca);
    return;
  }
  akt__ca_bit_set(&ca->p_accepted, (size_t)i);
  if (!akt__ca_winning(&ca->co, &ca->cfg, &ca->p_accepted)) return;
  /* Decided. Everyone learns it; this node applies it first. */
  uint64_t slot = ca->p_slot;
  uint8_t *value = ca->p_value;
  size_t len = ca->p_len;
  ca->p_value = NULL;
  ca->phase = 0;
  Akt__Ca__Value *v = akt__ca__value__unpack(NULL, len, value);
  AKT_ASSERT(v != NULL);
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Commit c = AKT__CA__COMMIT__INIT;
  Akt__Ca__Entry e = AKT__CA__ENTRY__INIT;
  e.slot = slot;
  e.value = v;
  c.entry = &e;
  msg.body_case = AKT__CA__MSG__BODY_COMMIT_ENTRY;
  msg.commit_entry = &c;
  akt__ca_trace(ca, "decided", v->config ? "configuration" : "ops", slot);
  akt__ca_log_commit(ca, slot, value, len, NULL);
  akt__ca_broadcast(ca, &msg);
  akt__ca__value__free_unpacked(v, NULL);
  free(value);
  akt__ca_propose(ca);
}

/* ---- acceptor ------------------------------------------------------------------------------------ */

static akt__ca_acc *acc_slot(akt__ca *ca, uint64_t slot, int make) {
  akt__ca_acc *free_at = NULL;
  for (size_t i = 0; i < AKT__CA_ACC_SLOTS; i++) {
    if (ca->acc[i].slot == slot) return &ca->acc[i];
    if (!ca->acc[i].slot && !free_at) free_at = &ca->acc[i];
  }
  if (!make || !free_at) return NULL;
  free_at->slot = slot;
  return free_at;
}

/* May this node vote on `slot`? It must hold the log, and the slot must
 * be one it keeps state for. */
static int votes_on(akt__ca *ca, uint64_t slot) {
  return ca->genesis && ca->self_id[0] && slot > ca->applied &&
         slot <= ca->applied + AKT__CA_ACC_SLOTS;
}


/* An acceptor refuses what a node it knows to be down proposes: a node
 * cut off on the losing side of a partition has not learned yet that it
 * was downed, and its view still holds everyone up. Refusing is always
 * safe for Paxos (it is a lost message). (Not a value that names a member
 * known down: a value some acceptor accepted must be proposed again as it
 * is, and refusing it would block its slot forever; the next configuration
 * drops the member.) */
static int acceptable(akt__ca *ca, const Akt__Ca__Msg *m) { return !known_gone(ca, m->from); }

/* The identity this node votes as in the configuration in force: its own,
 * or an earlier one still in it ("" for its own or none). */
static const char *votes_as(akt__ca *ca) {
  if (ca->self_idx >= 0) return "";
  for (uint32_t i = 0; i < ca->nold; i++)
    if (akt__ca_config_find(&ca->cfg, ca->old_ids[i]) >= 0) return ca->old_ids[i];
  return "";
}

void akt__ca_on_prepare(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__Prepare *p = m->prepare;
  if (!p || !m->remoting || !votes_on(ca, p->slot) || !acceptable(ca, m)) return;
  if (p->bn > ca->max_bn) ca->max_bn = p->bn; /* a proposal of ours would need more */
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Promise r = AKT__CA__PROMISE__INIT;
  r.slot = p->slot;
  r.bn = p->bn;
  r.bnode = p->bnode;
  r.as = (char *)(uintptr_t)votes_as(ca);
  Akt__Ca__Value *acc = NULL;
  if (ballot_cmp(p->bn, p->bnode, ca->promised_bn, ca->promised_bnode) >= 0) {
    ca->promised_bn = p->bn;
    ca->promised_bnode = p->bnode;
    r.ok = 1;
    akt__ca_acc *a = acc_slot(ca, p->slot, 0);
    if (a && a->value) {
      acc = akt__ca__value__unpack(NULL, a->len, a->value);
      r.acc = acc;
      r.acc_bn = a->bn;
      r.acc_bnode = a->bnode;
    }
  } else {
    r.promised_bn = ca->promised_bn;
    r.promised_bnode = ca->promised_bnode;
  }
  msg.body_case = AKT__CA__MSG__BODY_PROMISE;
  msg.promise = &r;
  akt__ca_send(ca, m->remoting, &msg);
  if (acc) akt__ca__value__free_unpacked(acc, NULL);
}

void akt__ca_on_accept(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__Accept *a = m->accept;
  if (!a || !a->value || !m->remoting || !votes_on(ca, a->slot) || !acceptable(ca, m))
    return;
  if (a->bn > ca->max_bn) ca->max_bn = a->bn;
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Accepted r = AKT__CA__ACCEPTED__INIT;
  r.slot = a->slot;
  r.bn = a->bn;
  r.bnode = a->bnode;
  r.as = (char *)(uintptr_t)votes_as(ca);
  if (ballot_cmp(a->bn, a->bnode, ca->promised_bn, ca->promised_bnode) >= 0) {
    akt__ca_acc *s = acc_slot(ca, a->slot, 1);
    size_t len = akt__ca__value__get_packed_size(a->value);
    uint8_t *buf = s ? malloc(len ? len : 1) : NULL;
    if (buf) {
      akt__ca__value__pack(a->value, buf);
      free(s->value);
      s->value = buf;
      s->len = len;
      s->bn = a->bn;
      s->bnode = a->bnode;
      s->config = a->value->config != NULL;
      ca->promised_bn = a->bn;
      ca->promised_bnode = a->bnode;
      /* From now on no lease of the configuration in force is
       * acknowledged here, until this slot is applied. */
      if (s->config && a->slot > ca->cfg_accept_slot) ca->cfg_accept_slot = a->slot;
      r.ok = 1;
    }
  } else {
    r.promised_bn = ca->promised_bn;
    r.promised_bnode = ca->promised_bnode;
  }
  msg.body_case = AKT__CA__MSG__BODY_ACCEPTED;
  msg.accepted = &r;
  akt__ca_send(ca, m->remoting, &msg);
}

/* ---- bookkeeping ---------------------------------------------------------------------------------- */

void akt__ca_paxos_applied(akt__ca *ca, uint64_t slot, const Akt__Ca__Value *v) {
  (void)v;
  for (size_t i = 0; i < AKT__CA_ACC_SLOTS; i++) {
    if (ca->acc[i].slot && ca->acc[i].slot <= slot) {
      free(ca->acc[i].value);
      memset(&ca->acc[i], 0, sizeof ca->acc[i]);
    }
  }
  /* A ballot for a slot that is now decided is moot. */
  if (ca->phase && ca->p_slot <= slot) ca->phase = 0;
  pending_prune(ca);
}

int akt__ca_paxos_lease_ok(akt__ca *ca, uint64_t epoch) {
  /* A configuration change accepted for a slot not applied yet may be the
   * one that commits: the leases of the configuration in force end here. */
  return ca->genesis && ca->cfg.slot == epoch && ca->cfg_accept_slot <= ca->applied;
}

void akt__ca_paxos_clear(akt__ca *ca) {
  for (size_t i = 0; i < AKT__CA_ACC_SLOTS; i++) {
    free(ca->acc[i].value);
    memset(&ca->acc[i], 0, sizeof ca->acc[i]);
  }
  akt__ca_paxos_clear_proposer(ca);
  ca->promised_bn = ca->promised_bnode = 0;
  ca->cfg_accept_slot = 0;
  ca->max_bn = 0;
}

void akt__ca_paxos_clear_proposer(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->npending; i++) akt__ca__op__free_unpacked(ca->pending[i], NULL);
  free(ca->pending);
  ca->pending = NULL;
  ca->npending = ca->cap_pending = 0;
  free(ca->p_value);
  ca->p_value = NULL;
  ca->p_len = 0;
  ca->phase = 0;
}
