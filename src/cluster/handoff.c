/* akt — hand-off: an activation's state goes to the name's new host.
 *
 * When a configuration moves a name away from a host that stays up (a join
 * rebalances, a leave), the host retires the activation (activation.c): it
 * runs what was queued, stops, and its kind's handoff hook serializes the
 * state. Then it sends a HandOff, tagged with the configuration E that
 * moved the name away, to the name's host in E. The hand-off is "clean":
 * the sender stopped the activation before sending, and it was the only
 * member allowed to run it. A clean hand-off lets its receiver start the
 * name at once, without the configuration's wait (still under its own
 * lease) — so the receiver checks it first (judge, below):
 *
 *   the configuration just before E places the name on the sender, and
 *   every configuration from E to the receiver's own places it on the
 *   receiver, which has not run it: nobody else can have run the name since
 *   the sender stopped it.
 *
 * Configurations change faster than messages travel during a cold start or
 * a scale-up, so a hand-off may reach a host that the name already left:
 * if the name stayed on it from E up to some E_k and is placed elsewhere
 * since, that host never ran it and vouches for it in turn, forwarding it
 * (tagged E_k) to the name's host in E_k. Anything else is stale: its state
 * is dropped and reported, and the name starts after the wait, from the
 * store or fresh.
 *
 * A new host whose name's previous host is still up waits for its hand-off
 * (at most handoff_timeout) and asks for it every AKT__CA_ASK_EVERY; a
 * previous host with nothing for it answers with a release (a HandOff
 * without `clean`), after which the new host needs only the wait.
 *
 * A hand-off is one message and can be lost: a host that left and came
 * back at the same address is a new incarnation, and what was sent on the
 * connection to the old one goes nowhere. So the sender keeps each clean
 * hand-off for handoff_timeout (as long as a receiver waits for one) and
 * sends it again when asked, instead of releasing. A resend is judged as
 * the original, and is as safe as the original arriving late. But a copy
 * that comes after the first was taken is not: the receiver may have run
 * the name since and moved it on, and judging the copy as if it had not
 * (vouching it onward) would bring back the state from before. So a
 * receiver remembers the hand-offs it took (sender and configuration) for
 * as long as a copy can come, and ignores copies.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* The configurations this node knows, oldest first. */
static size_t known_configs(akt__ca *ca, const akt__ca_config **out) {
  size_t n = 0;
  for (uint32_t i = ca->nhist; i > 0; i--) out[n++] = &ca->hist[i - 1];
  if (ca->prev.n) out[n++] = &ca->prev;
  if (ca->cfg.n) out[n++] = &ca->cfg;
  return n;
}

/* The member id name's host has in configuration c, or NULL. */
static const char *host_in(akt__ca *ca, const akt__ca_config *c, const char *name,
                           const akt__ca_what *w) {
  long at = akt__ca_place(ca, c, name, w->placement, w->fixed, &w->need);
  return at >= 0 ? c->m[at].id : NULL;
}

static int is(const char *id, const char *want) { return id && want && !strcmp(id, want); }

/* The configuration of slot `slot` this node knows, or NULL. */
static const akt__ca_config *config_at(akt__ca *ca, uint64_t slot) {
  const akt__ca_config *cs[2 + AKT__CA_HISTORY];
  size_t n = known_configs(ca, cs);
  for (size_t i = 0; i < n; i++)
    if (cs[i]->slot == slot) return cs[i];
  return NULL;
}

enum { JUDGE_STALE = 0, JUDGE_HERE, JUDGE_ONWARD };

/* Judges a hand-off of `name` sent by `sender` for configuration `epoch`
 * (at most this node's). JUDGE_ONWARD writes the configuration that moved
 * the name on from this node to *onward. */
static int judge(akt__ca *ca, const char *name, const char *sender, uint64_t epoch,
                 uint64_t *onward) {
  akt__ca_what w;
  if (!sender || !akt__ca_what_of(ca, name, &w)) return JUDGE_STALE;
  const akt__ca_config *cs[2 + AKT__CA_HISTORY];
  size_t n = known_configs(ca, cs), b = n;
  for (size_t i = 0; i < n; i++)
    if (cs[i]->slot == epoch) b = i;
  if (b == n || b == 0 || !is(host_in(ca, cs[b - 1], name, &w), sender)) return JUDGE_STALE;
  size_t i = b;
  while (i < n && is(host_in(ca, cs[i], name, &w), ca->self_id)) i++;
  if (i == n) return JUDGE_HERE;
  if (i == b) return JUDGE_STALE; /* addressed to another member */
  for (size_t j = i; j < n; j++)
    if (is(host_in(ca, cs[j], name, &w), ca->self_id)) return JUDGE_STALE; /* back, after another */
  *onward = cs[i]->slot;
  return JUDGE_ONWARD;
}

static void lost(akt__ca *ca, const char *name, const char *kind, const char *why) {
  AKT__CA_STAT(ca, state_lost);
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, name, kind ? kind : "", why, 0);
}

/* Sends a HandOff of `name` for configuration `epoch` to the node at
 * `remoting`. */
static void send_handoff(akt__ca *ca, const char *remoting, const char *name, uint64_t epoch,
                         int clean, const uint8_t *state, size_t len, int has_state,
                         const char *type) {
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__HandOff h = AKT__CA__HAND_OFF__INIT;
  h.name = (char *)(uintptr_t)name;
  h.epoch = epoch;
  h.clean = clean;
  h.has_state = has_state;
  h.state.data = (uint8_t *)(uintptr_t)state;
  h.state.len = len;
  h.type = (char *)(uintptr_t)(type ? type : "");
  msg.body_case = AKT__CA__MSG__BODY_HAND_OFF;
  msg.hand_off = &h;
  akt__ca_send(ca, remoting, &msg);
  AKT__CA_STAT(ca, handoffs_sent);
}

/* Sends a HandOff of `name` for configuration `epoch` to the name's host in
 * that configuration (the current host when this node no longer knows it). */
static void send_to_host(akt__ca *ca, const char *name, uint64_t epoch, int clean,
                         const uint8_t *state, size_t len, int has_state, const char *type) {
  akt__ca_what w;
  if (!akt__ca_what_of(ca, name, &w)) return;
  const akt__ca_config *c = config_at(ca, epoch);
  if (!c) c = &ca->cfg;
  long at = akt__ca_place(ca, c, name, w.placement, w.fixed, &w.need);
  if (at < 0 || is(c->m[at].id, ca->self_id)) return;
  send_handoff(ca, c->m[at].remoting, name, epoch, clean, state, len, has_state, type);
}

/* The identity of a hand-off: which name, who let it go, in which
 * configuration. */
static uint64_t handoff_key(const char *name, const char *sender, uint64_t epoch) {
  uint64_t k = XXH3_64bits_withSeed(sender, strlen(sender), epoch);
  k = XXH3_64bits_withSeed(name, strlen(name), k);
  return k ? k : 1;
}

/* ---- hand-offs taken -------------------------------------------------------------------------- */

/* A copy can come up to handoff_timeout after the original was sent (the
 * sender keeps it that long), and travel a while: remember twice that. */
static void taken_add(akt__ca *ca, uint64_t key) {
  if (akt__u64set_has(&ca->taken_set, key)) return;
  if (akt__grow(&ca->taken, sizeof *ca->taken, ca->ntaken, &ca->cap_taken, 64,
                AKT__CA_TAKEN_MAX) != 0 ||
      akt__u64set_add(&ca->taken_set, key) != 0) {
    AKT__CA_STAT(ca, handoffs_unremembered);
    return;
  }
  ca->taken[ca->ntaken].key = key;
  ca->taken[ca->ntaken].until = akt__ca_now(ca) + 2 * ca->o.handoff_timeout;
  ca->ntaken++;
}

static void taken_expire(akt__ca *ca, uint64_t now) {
  uint32_t n = 0;
  while (n < ca->ntaken && now >= ca->taken[n].until) akt__u64set_remove(&ca->taken_set, ca->taken[n++].key);
  if (!n) return;
  memmove(ca->taken, ca->taken + n, (ca->ntaken - n) * sizeof *ca->taken);
  ca->ntaken -= n;
}

/* ---- kept hand-offs ------------------------------------------------------------------------ */

static const char *kept_key(const void *item) { return ((const akt__ca_kept *)item)->name; }

static void kept_free(akt__ca_kept *k) {
  free(k->name);
  free(k->type);
  free(k->state);
  free(k);
}

/* Drops kept[i]; the last one takes its place, as before the index. */
static void kept_remove(akt__ca *ca, uint32_t i) {
  akt__ca_kept *k = ca->kept[i];
  int indexed = k->name && akt__strtab_remove(&ca->kept_tab, k);
  AKT_ASSERT(indexed || !k->name);
  kept_free(k);
  ca->nkept--;
  if (i != ca->nkept) {
    ca->kept[i] = ca->kept[ca->nkept];
    ca->kept[i]->at = i;
  }
  ca->kept[ca->nkept] = NULL;
}

/* By name: a leaving node keeps thousands, and a receiver's ask looks one
 * up (a linear search made a 10 000-actor relocation quadratic). */
static akt__ca_kept *kept_find(akt__ca *ca, const char *name) {
  return ca->kept_tab.key ? akt__strtab_find(&ca->kept_tab, name) : NULL;
}

/* Fills a kept hand-off's fields; AKT_ENOMEM leaves them partly set. */
static int kept_fill(akt__ca_kept *k, const char *name, const uint8_t *state, size_t len,
                     int has_state, const char *type) {
  k->name = strdup(name);
  k->type = strdup(type ? type : "");
  k->state = has_state ? malloc(len ? len : 1) : NULL;
  if (!k->name || !k->type || (has_state && !k->state)) return AKT_ENOMEM;
  if (has_state) memcpy(k->state, state, len);
  k->len = len;
  k->has_state = has_state;
  return 0;
}

/* Keeps a clean hand-off (replacing an older one of the name). Out of
 * room or memory it is not kept: counted, and a receiver that misses it
 * gets a release, as before. */
static void keep(akt__ca *ca, const char *name, uint64_t epoch, const uint8_t *state, size_t len,
                 int has_state, const char *type) {
  if (!ca->kept_tab.key) akt__strtab_init(&ca->kept_tab, 64, offsetof(akt__ca_kept, link), kept_key);
  akt__ca_kept *k = kept_find(ca, name);
  uint32_t at;
  if (k) {
    /* Replaced in place: the name keeps its position in the order. */
    at = k->at;
    AKT_ASSERT(ca->kept[at] == k);
    int indexed = akt__strtab_remove(&ca->kept_tab, k);
    AKT_ASSERT(indexed);
    free(k->name);
    free(k->type);
    free(k->state);
    memset(k, 0, sizeof *k);
  } else {
    if (akt__grow(&ca->kept, sizeof *ca->kept, ca->nkept, &ca->cap_kept, 16, AKT__CA_KEPT_MAX) ||
        !(k = calloc(1, sizeof *k))) {
      AKT__CA_STAT(ca, handoffs_unkept);
      return;
    }
    at = ca->nkept++;
    ca->kept[at] = k;
  }
  k->at = at;
  if (kept_fill(k, name, state, len, has_state, type) || akt__strtab_add(&ca->kept_tab, k)) {
    akt__strtab_remove(&ca->kept_tab, k);
    free(k->name);
    k->name = NULL;
    kept_remove(ca, at);
    AKT__CA_STAT(ca, handoffs_unkept);
    return;
  }
  k->epoch = epoch;
  k->until = akt__ca_now(ca) + ca->o.handoff_timeout;
}

void akt__ca_handoff_tick(akt__ca *ca) {
  uint64_t now = akt__ca_now(ca);
  taken_expire(ca, now);
  for (uint32_t i = 0; i < ca->nkept;) {
    if (now >= ca->kept[i]->until)
      kept_remove(ca, i);
    else
      i++;
  }
}

void akt__ca_handoff_clear(akt__ca *ca) {
  while (ca->nkept) kept_remove(ca, ca->nkept - 1);
  akt__strtab_free(&ca->kept_tab, NULL);
  free(ca->kept);
  ca->kept = NULL;
  ca->cap_kept = 0;
  free(ca->taken);
  ca->taken = NULL;
  ca->ntaken = ca->cap_taken = 0;
  akt__u64set_free(&ca->taken_set);
}


void akt__ca_handoff_send(akt__ca *ca, akt__ca_act *a, int clean) {
  const char *kind = a->kind ? a->kind->name : "";
  long host = akt__ca_host_of(ca, a->name);
  if (host == -2) return; /* the name was stopped meanwhile: nothing to hand to */
  if (a->kind && a->kind->k.handoff && a->out_rc && !a->out_has)
    lost(ca, a->name, kind, "the handoff hook failed");
  const uint8_t *state = a->out_has ? a->out_state : a->in_has ? a->in_state : NULL;
  size_t len = a->out_has ? a->out_len : a->in_has ? a->in_len : 0;
  const char *type = a->kind && a->kind->k.state_type ? a->kind->k.state_type->name : "";
  uint64_t epoch = a->retire_epoch ? a->retire_epoch : ca->cfg.slot;
  send_to_host(ca, a->name, epoch, clean, state, len, state != NULL, type);
  if (clean) keep(ca, a->name, epoch, state, len, state != NULL, type);
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_HANDED_OFF, a->name, kind, "", state ? len : 0);
}

/* Drops a record's handed-over state (reported when `why`), keeping the
 * record. */
static void drop_state(akt__ca *ca, akt__ca_act *a, const char *why) {
  if (a->in_has && why) lost(ca, a->name, a->kind ? a->kind->name : "", why);
  free(a->in_state);
  a->in_state = NULL;
  a->in_len = 0;
  a->in_has = 0;
  a->in_clean = 0;
}

void akt__ca_handoff_judge(akt__ca *ca, akt__ca_act *a) {
  if (!a->in_epoch || a->in_epoch > ca->cfg.slot) return; /* none, or this node is behind */
  uint64_t onward = 0;
  int verdict = judge(ca, a->name, a->in_sender, a->in_epoch, &onward);
  char trace[AKT_NAME_MAX + 64];
  snprintf(trace, sizeof trace, "%s %s", a->name,
           verdict == JUDGE_HERE ? "valid" : verdict == JUDGE_ONWARD ? "onward" : "stale");
  akt__ca_trace(ca, "handoff-judged", trace, a->in_epoch);
  a->in_epoch = 0;
  free(a->in_sender);
  a->in_sender = NULL;
  if (verdict == JUDGE_HERE) {
    if (a->in_clean) a->cleared = 1;
    return;
  }
  if (verdict == JUDGE_ONWARD && a->in_clean) {
    /* It moved on while the hand-off travelled: this node vouches for it. */
    const char *type = a->kind && a->kind->k.state_type ? a->kind->k.state_type->name : "";
    send_to_host(ca, a->name, onward, 1, a->in_state, a->in_len, a->in_has, type);
    drop_state(ca, a, NULL);
    return;
  }
  drop_state(ca, a, "a stale hand-off (its sender was not the last host)");
}

/* ---- receiving -------------------------------------------------------------------------------- */

/* A release: the previous host has nothing for the name. */
static void on_release(akt__ca *ca, const Akt__Ca__Msg *m, const Akt__Ca__HandOff *h) {
  akt__ca_act *a = akt__ca_act_find(ca, h->name);
  if (!a || atomic_load(&a->state) != AKT__ACT_WAITING || !a->handoff_expected) return;
  akt__ca_what w;
  if (!akt__ca_what_of(ca, h->name, &w) || !ca->prev.n ||
      !is(host_in(ca, &ca->prev, h->name, &w), m->from))
    return; /* only the previous host releases */
  /* Until the configuration changes again (reconcile would expect it
   * afresh otherwise). */
  a->handoff_expected = 0;
  a->released = 1;
  akt__ca_reconcile(ca, h->name);
}

void akt__ca_on_hand_off(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__HandOff *h = m->hand_off;
  if (!h || !m->from || !h->epoch || !akt__ca_name_ok(h->name) ||
      (h->has_state && h->state.len > AKT__CA_STATE_MAX))
    return;
  char trace[AKT_NAME_MAX + AKT__MEMBER_ID_MAX + 32];
  snprintf(trace, sizeof trace, "%s from %s%s%s", h->name, m->from,
           h->clean ? " clean" : " release", h->has_state ? " state" : "");
  akt__ca_trace(ca, "handoff-in", trace, h->epoch);
  if (!h->clean) {
    on_release(ca, m, h);
    return;
  }
  uint64_t key = handoff_key(h->name, m->from, h->epoch);
  if (akt__u64set_has(&ca->taken_set, key)) {
    AKT__CA_STAT(ca, handoffs_dup);
    return;
  }
  AKT__CA_STAT(ca, handoffs_received);
  akt__ca_what w;
  akt__ca_kind *kind = akt__ca_what_of(ca, h->name, &w) ? akt__ca_kind_find(ca, w.kind) : NULL;
  akt__ca_act *a = akt__ca_act_find(ca, h->name);
  int behind = h->epoch > ca->cfg.slot;
  if (!behind && !a) {
    /* No record: judged now; only a valid hand-off makes one. */
    uint64_t onward = 0;
    int verdict = judge(ca, h->name, m->from, h->epoch, &onward);
    if (verdict == JUDGE_ONWARD) {
      taken_add(ca, key);
      send_to_host(ca, h->name, onward, 1, h->state.data, h->state.len, h->has_state, h->type);
      return;
    }
    if (verdict != JUDGE_HERE) {
      if (h->has_state) lost(ca, h->name, kind ? kind->name : "", "a stale hand-off");
      return;
    }
  }
  if (!a && !(a = akt__ca_act_get(ca, h->name, kind))) return;
  int st = atomic_load(&a->state);
  if (st != AKT__ACT_WAITING && st != AKT__ACT_LOADING) {
    AKT__CA_STAT(ca, handoffs_late);
    if (h->has_state) lost(ca, h->name, kind ? kind->name : "", "hand-off after the new activation started");
    return;
  }
  /* The handed-over state is newer than any checkpoint: drop a read. */
  akt__ca_store_read_cancel(ca, a);
  drop_state(ca, a, NULL);
  if (h->has_state) {
    a->in_state = malloc(h->state.len ? h->state.len : 1);
    if (a->in_state) {
      memcpy(a->in_state, h->state.data, h->state.len);
      a->in_len = h->state.len;
      a->in_has = 1;
      a->in_from = AKT_CLUSTER_STATE_HANDOFF;
    }
  }
  a->in_clean = 1;
  a->in_epoch = h->epoch;
  taken_add(ca, key);
  free(a->in_sender);
  a->in_sender = strdup(m->from);
  if (!behind) akt__ca_reconcile(ca, h->name);
}

void akt__ca_handoff_ask(akt__ca *ca, akt__ca_act *a) {
  akt__ca_what w;
  uint64_t now = akt__ca_now(ca);
  if (now < a->ask_at || !ca->prev.n || !akt__ca_what_of(ca, a->name, &w)) return;
  a->ask_at = now + AKT__CA_ASK_EVERY;
  long at = akt__ca_place(ca, &ca->prev, a->name, w.placement, w.fixed, &w.need);
  if (at < 0 || is(ca->prev.m[at].id, ca->self_id)) return;
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__HandOffAsk ask = AKT__CA__HAND_OFF_ASK__INIT;
  ask.name = a->name;
  msg.body_case = AKT__CA__MSG__BODY_HAND_OFF_ASK;
  msg.hand_off_ask = &ask;
  akt__ca_send(ca, ca->prev.m[at].remoting, &msg);
}

void akt__ca_on_hand_off_ask(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__HandOffAsk *q = m->hand_off_ask;
  if (!q || !m->remoting || !akt__ca_name_ok(q->name)) return;
  /* A record (running, retiring, waiting for its own hand-off) sends what
   * it has when it is done; a hand-off sent already goes again (the first
   * may be lost); only a node with nothing releases. */
  if (akt__ca_act_find(ca, q->name)) return;
  akt__ca_kept *k = kept_find(ca, q->name);
  if (k) {
    AKT__CA_STAT(ca, handoffs_resent);
    send_handoff(ca, m->remoting, k->name, k->epoch, 1, k->state, k->len, k->has_state, k->type);
    return;
  }
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__HandOff h = AKT__CA__HAND_OFF__INIT;
  h.name = q->name;
  h.epoch = ca->cfg.slot ? ca->cfg.slot : 1;
  msg.body_case = AKT__CA__MSG__BODY_HAND_OFF;
  msg.hand_off = &h;
  akt__ca_send(ca, m->remoting, &msg);
}
