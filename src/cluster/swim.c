/* akt — SWIM failure detection with Lifeguard's local health awareness.
 *
 * One probe per probe interval (Das, Gupta, Motivala, "SWIM", 2002): the
 * target is the next member of a shuffled round-robin order, so every
 * member is probed once per round and a failed member is found within two
 * rounds at worst. The probe pings the target and waits probe_timeout for
 * its ack; then it asks indirect_checks other members to ping it (PingReq),
 * each of which answers with the target's ack or, when it gets none, a
 * Nack; with no ack by the end of the probe interval the target is
 * suspected (suspicion.c).
 *
 * Lifeguard (Dadgar et al., 2018): a node that misses acks it should have
 * had — a probe with no ack and fewer nacks than helpers asked, or having
 * to refute a suspicion of itself — is probably the slow one, so its
 * health score rises and scales its probe interval and timeout by
 * (score + 1); every successful probe lowers it. The buddy system: a probe
 * of a member we suspect carries the suspicion, so the member hears of it
 * first-hand and refutes at once.
 *
 * Indirect connectivity: when the target answered only through others, this
 * node sends it direct_checks more direct pings, spaced by probe_timeout;
 * if every one fails the member is marked as not directly reachable from
 * here, which the downing strategy resolves (downing.c).
 */
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"
#include "src/util/assert.h"

akt_duration akt__cl_scaled(akt__cluster *cl, akt_duration d) {
  return d * (akt_duration)(cl->awareness + 1);
}

void akt__cl_awareness(akt__cluster *cl, int delta) {
  int64_t a = (int64_t)cl->awareness + delta;
  if (a < 0) a = 0;
  if (a > (int64_t)cl->o.awareness_max - 1) a = (int64_t)cl->o.awareness_max - 1;
  cl->awareness = (unsigned)a;
}

/* ---- acks awaited -------------------------------------------------------------------------- */

static uint32_t new_seq(akt__cluster *cl) {
  uint32_t s = ++cl->next_seq;
  if (!s) s = ++cl->next_seq; /* 0 means "free" */
  return s;
}

static int pend_add(akt__cluster *cl, uint32_t seq, int kind, uint32_t a, uint32_t b) {
  for (uint32_t i = 0; i < AKT__CL_MAX_PENDING; i++) {
    if (cl->pending[i].seq) continue;
    cl->pending[i] = (akt__cl_pending){.seq = seq, .kind = (uint8_t)kind, .a = a, .b = b};
    return 0;
  }
  AKT__CL_STAT(cl, acks_untracked);
  return AKT_EFULL;
}

static akt__cl_pending *pend_find(akt__cluster *cl, uint32_t seq) {
  if (!seq) return NULL;
  for (uint32_t i = 0; i < AKT__CL_MAX_PENDING; i++)
    if (cl->pending[i].seq == seq) return &cl->pending[i];
  return NULL;
}

static void pend_del(akt__cluster *cl, uint32_t seq) {
  akt__cl_pending *p = pend_find(cl, seq);
  if (p) p->seq = 0;
}

/* ---- the probe order ----------------------------------------------------------------------- */

static int probe_eligible(const akt__cl_member *m) {
  return m && !m->self && m->status <= AKT_MEMBER_LEAVING;
}

void akt__cl_probe_add(akt__cluster *cl, akt__cl_member *m) {
  if (cl->probe_len >= cl->o.max_members) return;
  uint32_t i = cl->probe_len++;
  cl->probe_order[i] = m->slot;
  cl->probe_gens[i] = m->gen;
  /* A random place among those still to come this round (memberlist). */
  uint32_t span = cl->probe_len - cl->probe_pos;
  uint32_t j = cl->probe_pos + (uint32_t)(akt__cl_random(cl) % span);
  uint32_t ts = cl->probe_order[i], tg = cl->probe_gens[i];
  cl->probe_order[i] = cl->probe_order[j];
  cl->probe_gens[i] = cl->probe_gens[j];
  cl->probe_order[j] = ts;
  cl->probe_gens[j] = tg;
}

/* Starts a new round: every probe-eligible member, shuffled. */
static void probe_reshuffle(akt__cluster *cl) {
  cl->probe_len = cl->probe_pos = 0;
  for (uint32_t s = 0; s < cl->nslots; s++) {
    akt__cl_member *m = cl->slots[s];
    if (!probe_eligible(m)) continue;
    cl->probe_order[cl->probe_len] = m->slot;
    cl->probe_gens[cl->probe_len++] = m->gen;
  }
  for (uint32_t i = cl->probe_len; i > 1; i--) {
    uint32_t j = (uint32_t)(akt__cl_random(cl) % i);
    uint32_t ts = cl->probe_order[i - 1], tg = cl->probe_gens[i - 1];
    cl->probe_order[i - 1] = cl->probe_order[j];
    cl->probe_gens[i - 1] = cl->probe_gens[j];
    cl->probe_order[j] = ts;
    cl->probe_gens[j] = tg;
  }
}

void akt__cl_probe_soon(akt__cluster *cl, akt__cl_member *m) {
  if (!probe_eligible(m)) return;
  for (uint32_t i = 0; i < AKT__CL_MAX_URGENT; i++) {
    if (cl->urgent[i].gen == m->gen && cl->urgent[i].slot == m->slot) return;
    if (cl->urgent[i].gen) continue;
    cl->urgent[i].slot = m->slot;
    cl->urgent[i].gen = m->gen;
    return;
  }
}

static akt__cl_member *probe_next(akt__cluster *cl) {
  while (cl->urgent[0].gen) {
    akt__cl_member *m = akt__cl_slot(cl, cl->urgent[0].slot, cl->urgent[0].gen);
    memmove(&cl->urgent[0], &cl->urgent[1], sizeof cl->urgent - sizeof cl->urgent[0]);
    cl->urgent[AKT__CL_MAX_URGENT - 1].gen = 0;
    if (probe_eligible(m)) return m;
  }
  for (int pass = 0; pass < 2; pass++) {
    while (cl->probe_pos < cl->probe_len) {
      uint32_t i = cl->probe_pos++;
      akt__cl_member *m = akt__cl_slot(cl, cl->probe_order[i], cl->probe_gens[i]);
      if (probe_eligible(m)) return m;
    }
    probe_reshuffle(cl);
  }
  return NULL;
}

/* ---- sending ------------------------------------------------------------------------------------ */

/* Pings m with `seq`; a member we suspect hears of it in the same packet
 * (the buddy system). */
static void send_ping(akt__cluster *cl, akt__cl_member *m, uint32_t seq) {
  Akt__Cluster__Node target;
  akt__cl_node_of(m, &target);
  Akt__Cluster__Ping ping = AKT__CLUSTER__PING__INIT;
  ping.seq = seq;
  ping.target = &target;
  ping.version = m->version;
  Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
  p.body_case = AKT__CLUSTER__PACKET__BODY_PING;
  p.ping = &ping;
  akt__upd_storage st;
  Akt__Cluster__Update *buddy[1];
  if (m->reach != AKT_REACH_ALIVE && akt__cl_state_of(cl, m, &st) == 2) {
    buddy[0] = &st.u[1];
    p.updates = buddy;
    p.n_updates = 1;
  }
  akt_addr to = akt__cl_addr_of(m);
  AKT__CL_STAT(cl, pings);
  akt__cl_send(cl, &to, m, &p, m->key);
}

static void send_ack(akt__cluster *cl, const akt_addr *to, uint32_t seq, int nack) {
  Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
  Akt__Cluster__Ack ack = AKT__CLUSTER__ACK__INIT;
  Akt__Cluster__Nack nk = AKT__CLUSTER__NACK__INIT;
  if (nack) {
    nk.seq = seq;
    p.body_case = AKT__CLUSTER__PACKET__BODY_NACK;
    p.nack = &nk;
    AKT__CL_STAT(cl, nacks);
  } else {
    ack.seq = seq;
    p.body_case = AKT__CLUSTER__PACKET__BODY_ACK;
    p.ack = &ack;
    AKT__CL_STAT(cl, acks);
  }
  akt__cl_send(cl, to, NULL, &p, 0);
}

/* ---- the probe ------------------------------------------------------------------------------------ */

void akt__cl_probe_tick(akt__cluster *cl) {
  if (cl->phase != AKT_CLUSTER_MEMBER || !cl->self) return;
  AKT_ASSERT(!cl->probe.active);
  akt_duration interval = akt__cl_scaled(cl, cl->o.probe_interval);
  akt__cl_member *m = probe_next(cl);
  cl->probe_due = akt__cl_now(cl) + interval;
  if (!m) {
    akt__cl_timer(cl, AKT__CT_PROBE, interval);
    return;
  }
  akt__probe *pr = &cl->probe;
  memset(pr, 0, sizeof *pr);
  pr->active = 1;
  pr->slot = m->slot;
  pr->gen = m->gen;
  pr->seq = new_seq(cl);
  pr->started = akt__cl_now(cl);
  if (pend_add(cl, pr->seq, AKT__PEND_PROBE, m->slot, m->gen)) pr->seq = 0;
  if (pr->seq) send_ping(cl, m, pr->seq);
  akt__cl_timer(cl, AKT__CT_PROBE_DIRECT, akt__cl_scaled(cl, cl->o.probe_timeout));
  akt__cl_timer(cl, AKT__CT_PROBE_END, interval);
}

/* A helper for an indirect probe of `arg`: a member that answers. */
static int helper(const akt__cl_member *h, const void *arg) {
  return !h->self && h != arg && h->reach == AKT_REACH_ALIVE && h->status <= AKT_MEMBER_LEAVING;
}

void akt__cl_probe_direct_timeout(akt__cluster *cl) {
  akt__probe *pr = &cl->probe;
  if (!pr->active || pr->acked || cl->phase != AKT_CLUSTER_MEMBER) return;
  akt__cl_member *target = akt__cl_slot(cl, pr->slot, pr->gen);
  if (!target || !pr->seq) return;
  uint32_t chosen[AKT__CL_MAX_INDIRECT];
  uint32_t n = akt__cl_pick(cl, helper, target, cl->o.indirect_checks, chosen);
  Akt__Cluster__Node tn;
  akt__cl_node_of(target, &tn);
  Akt__Cluster__PingReq req = AKT__CLUSTER__PING_REQ__INIT;
  req.seq = pr->seq;
  req.target = &tn;
  /* The helper's nack must be back before this probe ends: it gets four
   * fifths of the time left (the rest covers the crossings). */
  uint64_t now = akt__cl_now(cl), end = pr->started + akt__cl_scaled(cl, cl->o.probe_interval);
  uint64_t left = end > now ? end - now : 0;
  req.nack_after_ms = (uint32_t)((left * 4 / 5) / AKT_MILLIS(1));
  if (!req.nack_after_ms) req.nack_after_ms = 1;
  for (uint32_t i = 0; i < n; i++) {
    akt__cl_member *h = cl->slots[chosen[i]];
    Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
    p.body_case = AKT__CLUSTER__PACKET__BODY_PING_REQ;
    p.ping_req = &req;
    akt_addr to = akt__cl_addr_of(h);
    AKT__CL_STAT(cl, ping_reqs);
    if (akt__cl_send(cl, &to, h, &p, 0) == 0) pr->nacks_expected++;
  }
  pr->indirect = 1;
}

void akt__cl_probe_end(akt__cluster *cl) {
  akt__probe *pr = &cl->probe;
  if (!pr->active) return;
  uint64_t now = akt__cl_now(cl);
  /* A probe that ends far later than planned means this node did not run
   * (paused, starved): its view is stale, and the downing strategy must
   * not act on it until it has caught up. */
  if (now > cl->probe_due + cl->o.probe_interval) {
    cl->stale_until = now + cl->o.stable_after;
    akt__cl_view_changed(cl);
  }
  pend_del(cl, pr->seq);
  pr->active = 0;
  akt__cl_member *m = akt__cl_slot(cl, pr->slot, pr->gen);
  if (m) m->probed_at = now;
  if (pr->acked || pr->nacks || cl->last_heard >= pr->started) cl->silent_probes = 0;
  else cl->silent_probes++;
  if (pr->acked) {
    akt__cl_awareness(cl, -1);
  } else {
    AKT__CL_STAT(cl, probes_failed);
    if (pr->nacks_expected)
      akt__cl_awareness(cl, (int)(pr->nacks_expected - pr->nacks));
    else
      akt__cl_awareness(cl, 1);
    if (m && probe_eligible(m) && m->reach != AKT_REACH_UNREACHABLE && cl->self) {
      Akt__Cluster__Node node;
      akt__claim c;
      akt__cl_node_of(m, &node);
      Akt__Cluster__Update *u = akt__cl_claim(cl, &node, AKT__CLUSTER__UPDATE__KIND_SUSPECT,
                                              m->version, AKT_DOWN_UNKNOWN, &c);
      uint64_t key = m->key, uid = m->uid;
      if (akt__cl_apply(cl, u) == 1) akt__cl_broadcast(cl, u, key, uid);
    }
  }
  if (cl->phase == AKT_CLUSTER_MEMBER) akt__cl_probe_tick(cl);
}

/* ---- what arrives ----------------------------------------------------------------------------------- */

static int is_self(akt__cluster *cl, const Akt__Cluster__Node *n) {
  return n && n->incarnation == cl->uid && n->port == cl->port && n->host &&
         strcmp(n->host, cl->host) == 0;
}

void akt__cl_on_ping(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p) {
  /* A ping for another incarnation (our previous process) goes unanswered:
   * that one is dead. */
  if (!p->ping || !is_self(cl, p->ping->target)) return;
  /* Our own news first: a prober that suspects us (the buddy system sent
   * the suspicion with the ping) gets the refutation with the ack. */
  uint64_t about = cl->key;
  Akt__Cluster__Packet r = AKT__CLUSTER__PACKET__INIT;
  Akt__Cluster__Ack ack = AKT__CLUSTER__ACK__INIT;
  ack.seq = p->ping->seq;
  r.body_case = AKT__CLUSTER__PACKET__BODY_ACK;
  r.ack = &ack;
  /* The prober knows an older version of us (it missed our news, maybe
   * while it was joining or cut off): our state goes back with the ack. */
  akt__upd_storage st;
  Akt__Cluster__Update *mine[1];
  if (cl->self && p->ping->version < cl->self->version &&
      !(cl->o.test_flags & AKT_CLUSTER_TEST_NO_GOSSIP)) {
    akt__cl_state_of(cl, cl->self, &st);
    mine[0] = &st.u[0];
    r.updates = mine;
    r.n_updates = 1;
  }
  AKT__CL_STAT(cl, acks);
  akt__cl_send(cl, from, NULL, &r, about);
}

void akt__cl_on_ping_req(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p) {
  const Akt__Cluster__PingReq *req = p->ping_req;
  if (!req || !akt__cl_node_valid(req->target) || is_self(cl, req->target)) return;
  uint32_t idx = AKT__CL_MAX_RELAYS;
  for (uint32_t i = 0; i < AKT__CL_MAX_RELAYS && idx == AKT__CL_MAX_RELAYS; i++)
    if (!cl->relays[i].used) idx = i;
  if (idx == AKT__CL_MAX_RELAYS) {
    AKT__CL_STAT(cl, relays_refused);
    return;
  }
  akt__relay *r = &cl->relays[idx];
  uint32_t seq = new_seq(cl);
  r->gen++;
  if (pend_add(cl, seq, AKT__PEND_RELAY, idx, r->gen)) {
    AKT__CL_STAT(cl, relays_refused);
    return;
  }
  r->used = 1;
  r->requester = *from;
  r->requester_seq = req->seq;
  r->seq = seq;
  Akt__Cluster__Ping ping = AKT__CLUSTER__PING__INIT;
  ping.seq = seq;
  ping.target = req->target;
  Akt__Cluster__Packet out = AKT__CLUSTER__PACKET__INIT;
  out.body_case = AKT__CLUSTER__PACKET__BODY_PING;
  out.ping = &ping;
  akt_addr to = {.port = (uint16_t)req->target->port};
  memcpy(to.host, req->target->host, strlen(req->target->host) + 1);
  AKT__CL_STAT(cl, pings);
  akt__cl_send(cl, &to, NULL, &out, 0);
  /* The requester waits until the end of its probe interval; answer before. */
  /* As long as the requester asked (bounded: a peer's number), else our
   * own probe timeout. */
  akt_duration wait = akt__cl_scaled(cl, cl->o.probe_timeout);
  akt_duration most = cl->o.probe_interval * cl->o.awareness_max;
  if (req->nack_after_ms) wait = (akt_duration)req->nack_after_ms * AKT_MILLIS(1);
  if (wait > most) wait = most;
  akt__cl_ktimer(cl, &r->timer, AKT__CT_RELAY, idx, wait);
}

static void relay_free(akt__cluster *cl, akt__relay *r) {
  akt__cl_mtimer_cancel(cl, &r->timer);
  pend_del(cl, r->seq);
  r->used = 0;
}

void akt__cl_relay_timeout(akt__cluster *cl, uint32_t idx) {
  AKT_ASSERT(idx < AKT__CL_MAX_RELAYS);
  akt__relay *r = &cl->relays[idx];
  if (!r->used) return;
  send_ack(cl, &r->requester, r->requester_seq, 1);
  relay_free(cl, r);
}

void akt__cl_on_ack(akt__cluster *cl, const Akt__Cluster__Packet *p, int nack) {
  uint32_t seq = nack ? (p->nack ? p->nack->seq : 0) : (p->ack ? p->ack->seq : 0);
  akt__cl_pending *pe = pend_find(cl, seq);
  if (!pe) return;
  switch (pe->kind) {
    case AKT__PEND_PROBE: {
      akt__probe *pr = &cl->probe;
      if (!pr->active || pr->seq != seq) return;
      if (nack) {
        pr->nacks++;
        return;
      }
      akt__cl_member *m = akt__cl_slot(cl, pr->slot, pr->gen);
      int direct = m && p->from->incarnation == m->uid && p->from->port == m->port &&
                   !strcmp(p->from->host, m->host);
      pr->acked = 1;
      akt__cl_timer_cancel(cl, AKT__CT_PROBE_DIRECT);
      if (!m) return;
      m->heard_at = akt__cl_now(cl); /* directly or through a helper */
      if (direct) {
        akt__cl_set_indirect(cl, m, 0);
      } else if (!m->direct_left && !m->direct_fail && cl->o.direct_checks) {
        /* Reached only through others: check the direct path harder. */
        m->direct_left = cl->o.direct_checks;
        akt__cl_direct_check(cl, m);
      }
      return;
    }
    case AKT__PEND_RELAY: {
      if (nack || pe->a >= AKT__CL_MAX_RELAYS) return;
      akt__relay *r = &cl->relays[pe->a];
      if (!r->used || r->gen != pe->b) return;
      send_ack(cl, &r->requester, r->requester_seq, 0);
      relay_free(cl, r);
      return;
    }
    case AKT__PEND_DIRECT: {
      akt__cl_member *m = akt__cl_slot(cl, pe->a, pe->b);
      pe->seq = 0;
      if (!m || nack) return;
      akt__cl_mtimer_cancel(cl, &m->direct_timer);
      m->direct_left = 0;
      m->direct_seq = 0;
      akt__cl_set_indirect(cl, m, 0);
      return;
    }
  }
}

void akt__cl_direct_check(akt__cluster *cl, akt__cl_member *m) {
  pend_del(cl, m->direct_seq);
  m->direct_seq = 0;
  if (cl->phase != AKT_CLUSTER_MEMBER || !probe_eligible(m)) {
    m->direct_left = 0;
    return;
  }
  if (!m->direct_left) {
    if (!m->direct_fail)
      akt__cl_log(cl, AKT_LOG_WARN, "cluster %s: %s@%s:%u answers only through others",
                  cl->name, m->name, m->host, (unsigned)m->port);
    akt__cl_set_indirect(cl, m, 1);
    return;
  }
  m->direct_left--;
  uint32_t seq = new_seq(cl);
  if (pend_add(cl, seq, AKT__PEND_DIRECT, m->slot, m->gen) == 0) {
    m->direct_seq = seq;
    send_ping(cl, m, seq);
  }
  akt__cl_mtimer(cl, m, &m->direct_timer, AKT__CT_DIRECT, cl->o.probe_timeout);
}

/* ---- start and reset ------------------------------------------------------------------------------- */

void akt__cl_swim_start(akt__cluster *cl) {
  /* Staggered, so nodes started together do not probe in lockstep. */
  akt_duration first = akt__cl_random(cl) % cl->o.probe_interval;
  cl->probe_due = akt__cl_now(cl) + first;
  cl->last_heard = akt__cl_now(cl);
  cl->silent_probes = 0;
  akt__cl_timer(cl, AKT__CT_PROBE, first);
  akt__cl_timer(cl, AKT__CT_GOSSIP, cl->o.gossip_interval);
}

void akt__cl_swim_reset(akt__cluster *cl) {
  akt__cl_timer_cancel(cl, AKT__CT_PROBE);
  akt__cl_timer_cancel(cl, AKT__CT_PROBE_DIRECT);
  akt__cl_timer_cancel(cl, AKT__CT_PROBE_END);
  akt__cl_timer_cancel(cl, AKT__CT_GOSSIP);
  memset(&cl->probe, 0, sizeof cl->probe);
  memset(cl->urgent, 0, sizeof cl->urgent);
  for (uint32_t i = 0; i < AKT__CL_MAX_RELAYS; i++)
    if (cl->relays[i].used) relay_free(cl, &cl->relays[i]);
  memset(cl->pending, 0, sizeof cl->pending);
  cl->awareness = 0;
}
