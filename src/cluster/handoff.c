/* akt — hand-off: an activation's state goes to the name's new host.
 *
 * When a name moves while its old host stays up (a join rebalances, a
 * leave), the old host retires the activation (activation.c): it runs what
 * was queued, stops, and its kind's handoff hook serializes the state.
 * Then the old host sends a HandOff to the member the configuration now
 * places the name on. The hand-off is "clean": the old host stopped the
 * activation before sending, and the old host was the only member allowed
 * to run it (it had waited for the configuration before, or got a clean
 * hand-off itself), so the new host may start the name at once, without
 * the configuration's wait — still only under its own lease.
 *
 * A hand-off that reaches a node which has not applied the configuration
 * yet waits in a record; one that reaches a node where the name has moved
 * on again goes on (still clean: nobody ran the name in between); one that
 * arrives after the new host started the name anyway (it waited the whole
 * handoff_timeout) is late: its state is dropped and reported lost.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"

void akt__ca_handoff_send(akt__ca *ca, akt__ca_act *a, int clean) {
  long host = akt__ca_host_of(ca, a->name);
  const char *kind = a->kind ? a->kind->name : "";
  if (host == -2) return; /* the name was stopped meanwhile: nothing to hand to */
  if (host < 0 || host == ca->self_idx) {
    if (a->out_has || a->in_has) {
      AKT__CA_STAT(ca, state_lost);
      akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, a->name, kind,
                    host < 0 ? "no member may host it" : "moved back here while stopping", 0);
    }
    return;
  }
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__HandOff h = AKT__CA__HAND_OFF__INIT;
  h.name = a->name;
  h.epoch = ca->cfg.slot;
  h.clean = clean;
  if (a->out_has) {
    h.has_state = 1;
    h.state.data = a->out_state;
    h.state.len = a->out_len;
  } else if (a->in_has) {
    /* A hand-off this node received and never used goes on. */
    h.has_state = 1;
    h.state.data = a->in_state;
    h.state.len = a->in_len;
  }
  if (h.has_state) h.type = (char *)(uintptr_t)(a->kind && a->kind->k.state_type ? a->kind->k.state_type->name : "");
  if (a->kind && a->kind->k.handoff && a->out_rc && !h.has_state) {
    AKT__CA_STAT(ca, state_lost);
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, a->name, kind, "the handoff hook failed", 0);
  }
  msg.body_case = AKT__CA__MSG__BODY_HAND_OFF;
  msg.hand_off = &h;
  akt__ca_send_member(ca, &ca->cfg, (size_t)host, &msg);
  AKT__CA_STAT(ca, handoffs_sent);
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_HANDED_OFF, a->name, kind, ca->cfg.m[host].id,
                h.has_state ? h.state.len : 0);
}

void akt__ca_on_hand_off(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__HandOff *h = m->hand_off;
  if (!h || !akt__ca_name_ok(h->name) || (h->has_state && h->state.len > AKT__CA_STATE_MAX)) return;
  AKT__CA_STAT(ca, handoffs_received);
  long host = akt__ca_host_of(ca, h->name);
  int behind = h->epoch > ca->cfg.slot;
  if (!behind && host == -2) return; /* stopped meanwhile */
  if (!behind && host >= 0 && host != ca->self_idx) {
    /* The name moved on again: so does its state, still clean. */
    Akt__Ca__Msg fwd = AKT__CA__MSG__INIT;
    Akt__Ca__HandOff copy = *h;
    copy.epoch = ca->cfg.slot;
    fwd.body_case = AKT__CA__MSG__BODY_HAND_OFF;
    fwd.hand_off = &copy;
    akt__ca_send_member(ca, &ca->cfg, (size_t)host, &fwd);
    return;
  }
  if (!behind && host < 0) return;
  akt__ca_what w;
  akt__ca_kind *kind = akt__ca_what_of(ca, h->name, &w) ? akt__ca_kind_find(ca, w.kind) : NULL;
  akt__ca_act *a = akt__ca_act_get(ca, h->name, kind);
  if (!a) return;
  int st = atomic_load(&a->state);
  if (st != AKT__ACT_WAITING && st != AKT__ACT_LOADING) {
    AKT__CA_STAT(ca, handoffs_late);
    AKT__CA_STAT(ca, state_lost);
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, h->name, kind ? kind->name : "",
                  "hand-off after the new activation started", 0);
    return;
  }
  /* The handed-over state is newer than any checkpoint: drop a read. */
  akt__ca_store_read_cancel(ca, a);
  free(a->in_state);
  a->in_state = NULL;
  a->in_len = 0;
  a->in_has = 0;
  if (h->has_state) {
    a->in_state = malloc(h->state.len ? h->state.len : 1);
    if (a->in_state) {
      memcpy(a->in_state, h->state.data, h->state.len);
      a->in_len = h->state.len;
      a->in_has = 1;
      a->in_from = AKT_CLUSTER_STATE_HANDOFF;
    }
  }
  a->in_clean = h->clean;
  a->in_epoch = h->epoch;
  if (h->clean) a->cleared = 1;
  if (!behind) akt__ca_reconcile(ca, h->name);
}
