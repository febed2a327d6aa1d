/* akt — leases, and the wait of a new configuration.
 *
 * A node may let an activation process a message only while it holds a
 * lease. Every lease/4 a member of the configuration in force starts a
 * round: it notes the time on its own monotonic clock, arms a backend
 * timer for `lease`, and asks every member (itself included) to
 * acknowledge. A member acknowledges when it is in the same configuration
 * and has accepted no configuration change past it (paxos.c). Once a
 * winning set acknowledged, the lease holds until `lease` after the round
 * was *sent* — not received, not acknowledged: every acknowledgement of
 * the round was given after that moment — and it ends when that time
 * passes on the node's clock or the round's timer fires, whichever comes
 * first. The clock check is the one a turn makes (akt__ca_lease_ok, no
 * lock); the timer makes the end independent of the clock's reading, so a
 * clock stepped back (which a monotonic clock never is in production, and
 * the simulator's `skew` fault is) cannot stretch it.
 *
 * The wait: a node that applies a new configuration starts a name placed
 * on it there (and not before) only after
 *     wait = lease * (1 + rho) / (1 - rho) + margin
 * on its own clock, measured by a backend timer — unless the old host
 * handed it over. Why that is enough is docs/cluster.md's argument: every
 * lease of an older configuration was asked for before the new one
 * committed, so it ends within lease / (1 - rho) of real time after the
 * commit, while the wait lasts at least wait / (1 + rho) of real time from
 * a moment after the commit.
 */
#include <string.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"

int akt__ca_lease_ok(akt__ca *ca) {
  if (ca->o.test_flags & AKT_CLUSTER_TEST_NO_FENCING) return 1;
  if (atomic_load_explicit(&ca->expired, memory_order_acquire)) return 0;
  uint64_t until = atomic_load_explicit(&ca->valid_until, memory_order_acquire);
  return until != 0 && akt__ca_now(ca) < until;
}

static akt__ca_round *round_of(akt__ca *ca, uint64_t r) {
  akt__ca_round *x = &ca->rounds[r % AKT__CA_LEASE_ROUNDS];
  return x->round == r ? x : NULL;
}

/* The lease rests on no round any more. */
static void lost(akt__ca *ca, const char *why) {
  atomic_store_explicit(&ca->expired, 1, memory_order_release);
  if (!ca->lease_reported) return;
  ca->lease_reported = 0;
  AKT__CA_STAT(ca, leases_lost);
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_LEASE_LOST, "", "", why, 0);
}

void akt__ca_lease_tick(akt__ca *ca) {
  if (ca->stopping || !ca->genesis || ca->self_idx < 0 || !ca->member) return;
  uint64_t now = akt__ca_now(ca);
  akt_duration every = ca->o.lease / 4 ? ca->o.lease / 4 : 1;
  if (ca->round_at && now - ca->round_at < every) return;
  uint64_t r = ++ca->next_round;
  akt__ca_round *x = &ca->rounds[r % AKT__CA_LEASE_ROUNDS];
  if (x->timer.id) {
    /* Eight rounds back: long over. Should it still carry the lease (its
     * timer late?), the lease ends with it. */
    akt__ca_timer_cancel(ca, &x->timer);
    if (x->round == ca->best_round) lost(ca, "round reused");
  }
  memset(x, 0, sizeof *x);
  x->round = r;
  x->epoch = ca->cfg.slot;
  x->sent_at = now;
  ca->round_at = now;
  if (akt__ca_timer_arm(ca, &x->timer, AKT__CA_T_LEASE, r, ca->o.lease)) {
    x->dead = 1; /* without its timer a round must not grant */
    return;
  }
  AKT__CA_STAT(ca, lease_rounds);
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__LeaseReq q = AKT__CA__LEASE_REQ__INIT;
  q.epoch = x->epoch;
  q.round = r;
  msg.body_case = AKT__CA__MSG__BODY_LEASE_REQ;
  msg.lease_req = &q;
  akt__ca_send_all(ca, &ca->cfg, &msg);
}

void akt__ca_on_lease_req(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__LeaseReq *q = m->lease_req;
  if (!q || !m->remoting) return;
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__LeaseAck a = AKT__CA__LEASE_ACK__INIT;
  a.epoch = q->epoch;
  a.round = q->round;
  a.ok = !ca->stopping && ca->member && ca->self_id[0] && akt__ca_paxos_lease_ok(ca, q->epoch);
  if (!a.ok) AKT__CA_STAT(ca, lease_acks_refused);
  msg.body_case = AKT__CA__MSG__BODY_LEASE_ACK;
  msg.lease_ack = &a;
  akt__ca_send(ca, m->remoting, &msg);
}

void akt__ca_on_lease_ack(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__LeaseAck *a = m->lease_ack;
  if (!a || !a->ok || !m->from) return;
  akt__ca_round *x = round_of(ca, a->round);
  if (!x || x->dead || x->done || x->epoch != a->epoch || x->epoch != ca->cfg.slot) return;
  long i = akt__ca_config_find(&ca->cfg, m->from);
  if (i < 0) return;
  akt__ca_bit_set(&x->acked, (size_t)i);
  if (!akt__ca_winning(&ca->co, &ca->cfg, &x->acked)) return;
  x->done = 1;
  if (x->round < ca->best_round) return; /* an older round came in late */
  /* The lease rests on the latest round acknowledged. Its end is usually
   * later than the previous round's, but not always in the clock's
   * reading: a clock stepped back between the two rounds (the simulator's
   * `skew`) reads a lower end for the later round, which is still the
   * later one in real time. The earlier round's end, read on the stepped
   * clock, would overstate it; so the end is replaced, not maxed, and the
   * round's own timer bounds it either way. What does only grow is the
   * round. */
  AKT_ASSERT_TRANSITION("lease round", ca->best_round, x->round, x->round > ca->best_round);
  ca->best_round = x->round;
  uint64_t until = x->sent_at + ca->o.lease;
  atomic_store_explicit(&ca->valid_until, until, memory_order_release);
  atomic_store_explicit(&ca->expired, 0, memory_order_release);
  if (ca->lease_reported) return;
  ca->lease_reported = 1;
  AKT__CA_STAT(ca, leases_gained);
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_LEASE_GAINED, "", "", "", 0);
  /* Activations that held messages for want of a lease take them now;
   * records that waited for one start. */
  akt__ca_act_wake_held(ca);
  akt__ca_reconcile_all(ca);
}

void akt__ca_lease_round_expired(akt__ca *ca, uint64_t r) {
  akt__ca_round *x = round_of(ca, r);
  if (!x) return;
  x->timer.id = 0;
  x->dead = 1;
  if (r == ca->best_round) lost(ca, "no round acknowledged in time");
}

void akt__ca_lease_epoch(akt__ca *ca, int genesis) {
  /* Rounds asked of the old configuration cannot complete any more (the
   * acknowledgements are counted against the new one); those complete
   * already keep the lease until they end. */
  for (size_t k = 0; k < AKT__CA_LEASE_ROUNDS; k++)
    if (!ca->rounds[k].done) ca->rounds[k].dead = 1;
  ca->round_at = 0;
  akt__ca_lease_tick(ca);
  akt__ca_timer_cancel(ca, &ca->ready_timer);
  if (genesis || (ca->o.test_flags & AKT_CLUSTER_TEST_NO_FENCING)) {
    /* The first configuration has no predecessor whose leases to outwait. */
    ca->ready_epoch = ca->cfg.slot;
    return;
  }
  if (akt__ca_timer_arm(ca, &ca->ready_timer, AKT__CA_T_READY, ca->cfg.slot, ca->wait))
    akt__log(ca->sys, AKT_LOG_ERROR, "cluster actors: the wait of epoch %llu could not start",
             (unsigned long long)ca->cfg.slot);
}

void akt__ca_ready_fired(akt__ca *ca, uint64_t epoch) {
  ca->ready_timer.id = 0;
  if (epoch != ca->cfg.slot) return;
  AKT_ASSERT_TRANSITION("ready epoch", ca->ready_epoch, epoch, epoch > ca->ready_epoch);
  ca->ready_epoch = epoch;
  akt__ca_trace(ca, "ready", "", epoch);
  akt__ca_reconcile_all(ca);
}

void akt__ca_lease_clear(akt__ca *ca) {
  for (size_t k = 0; k < AKT__CA_LEASE_ROUNDS; k++) {
    akt__ca_timer_cancel(ca, &ca->rounds[k].timer);
    memset(&ca->rounds[k], 0, sizeof ca->rounds[k]);
  }
  akt__ca_timer_cancel(ca, &ca->ready_timer);
  lost(ca, "reset");
  atomic_store_explicit(&ca->valid_until, 0, memory_order_release);
  ca->best_round = 0;
  ca->round_at = 0;
  ca->ready_epoch = 0;
}
