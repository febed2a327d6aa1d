/* akt — the log: committed slots, applied in order on every node.
 *
 * A slot is committed once a winning set of the configuration in force
 * accepted one value for it (paxos.c). Its value then reaches every node
 * by the proposer's Commit, by catch-up (a node that learns that a peer
 * has applied more asks it for the slots it lacks, or for a snapshot when
 * the peer no longer keeps them), or by a poll of the leader every
 * AKT__CA_POLL_EVERY. Each node applies slot s only after s - 1, so the
 * state machine (directory.c) goes through the same states everywhere.
 *
 * The log's identity (`genesis`) is the hash of its founder's member id:
 * slot 1 is the configuration of the node membership says founded the
 * cluster. Two logs can meet only if two clusters formed and merged (seed
 * lists that do not overlap): the one with the smaller identity stays, the
 * other node resets and catches up (actors.c).
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"

/* ---- the slots kept ------------------------------------------------------------------------ */

static void tail_put(akt__ca *ca, uint64_t slot, const uint8_t *value, size_t len) {
  size_t i = slot % AKT__CA_LOG_KEEP;
  uint8_t *copy = malloc(len ? len : 1);
  free(ca->tail[i].value);
  ca->tail[i].value = NULL;
  ca->tail[i].slot = 0;
  if (!copy) return; /* not kept: a peer that needs it gets a snapshot */
  memcpy(copy, value, len);
  ca->tail[i].slot = slot;
  ca->tail[i].value = copy;
  ca->tail[i].len = len;
}

const uint8_t *akt__ca_log_get(akt__ca *ca, uint64_t slot, size_t *len) {
  size_t i = slot % AKT__CA_LOG_KEEP;
  if (!slot || ca->tail[i].slot != slot) return NULL;
  *len = ca->tail[i].len;
  return ca->tail[i].value;
}

static void future_free(akt__ca *ca, size_t i) {
  free(ca->future[i].value);
  ca->future[i].value = NULL;
  ca->future[i].slot = 0;
}

void akt__ca_log_clear(akt__ca *ca) {
  for (size_t i = 0; i < AKT__CA_LOG_KEEP; i++) {
    free(ca->tail[i].value);
    ca->tail[i].value = NULL;
    ca->tail[i].slot = 0;
  }
  for (size_t i = 0; i < AKT__CA_FUTURE_MAX; i++) future_free(ca, i);
  ca->best_commit = 0;
  ca->best_from[0] = '\0';
  ca->genesis = 0;
}

/* ---- applying ----------------------------------------------------------------------------------- */

/* Applies slot applied + 1. Returns 0 (applied, or skipped as malformed:
 * every node skips it alike) or AKT_ENOMEM (not applied: try again). */
static int apply_one(akt__ca *ca, uint64_t slot, const uint8_t *value, size_t len) {
  AKT_ASSERT(slot == ca->applied + 1);
  Akt__Ca__Value *v = akt__ca__value__unpack(NULL, len, value);
  int rc = 0;
  if (!v) {
    /* Bytes that do not decode cannot have been proposed by akt; a slot
     * must still be passed for the log to go on, the same on every node. */
    akt__log(ca->sys, AKT_LOG_ERROR, "cluster actors: slot %llu does not decode; skipped",
             (unsigned long long)slot);
    ca->applied = slot;
  } else {
    rc = akt__ca_apply(ca, slot, v);
    if (rc == AKT_EPROTO) {
      akt__log(ca->sys, AKT_LOG_ERROR,
               "cluster actors: slot %llu holds a malformed configuration; skipped",
               (unsigned long long)slot);
      ca->applied = slot;
      akt__ca_paxos_applied(ca, slot, v);
      rc = 0;
    }
    akt__ca__value__free_unpacked(v, NULL);
  }
  if (rc == 0) {
    AKT_ASSERT(ca->applied == slot);
    tail_put(ca, slot, value, len);
    AKT__CA_STAT(ca, slots_decided);
  }
  return rc;
}

/* Applies what the future buffer holds next. */
static void drain_future(akt__ca *ca) {
  for (int progress = 1; progress;) {
    progress = 0;
    for (size_t i = 0; i < AKT__CA_FUTURE_MAX; i++) {
      if (ca->future[i].slot && ca->future[i].slot <= ca->applied) future_free(ca, i);
      if (ca->future[i].slot != ca->applied + 1) continue;
      if (apply_one(ca, ca->future[i].slot, ca->future[i].value, ca->future[i].len)) return;
      future_free(ca, i);
      progress = 1;
    }
  }
}

static void keep_future(akt__ca *ca, uint64_t slot, const uint8_t *value, size_t len) {
  size_t free_at = AKT__CA_FUTURE_MAX;
  for (size_t i = 0; i < AKT__CA_FUTURE_MAX; i++) {
    if (ca->future[i].slot == slot) return;
    if (!ca->future[i].slot && free_at == AKT__CA_FUTURE_MAX) free_at = i;
  }
  /* Full: the slot will come again by catch-up. */
  if (free_at == AKT__CA_FUTURE_MAX) return;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return;
  memcpy(copy, value, len);
  ca->future[free_at].slot = slot;
  ca->future[free_at].value = copy;
  ca->future[free_at].len = len;
}

void akt__ca_log_commit(akt__ca *ca, uint64_t slot, const uint8_t *value, size_t len,
                        const char *from_remoting) {
  if (slot <= ca->applied) return;
  if (slot > ca->applied + 1) {
    keep_future(ca, slot, value, len);
    if (from_remoting) akt__ca_log_hint(ca, slot, from_remoting);
    return;
  }
  if (apply_one(ca, slot, value, len) == 0) drain_future(ca);
  else keep_future(ca, slot, value, len);
}

/* ---- messages ------------------------------------------------------------------------------------- */

void akt__ca_on_commit(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__Entry *e = m->commit_entry ? m->commit_entry->entry : NULL;
  if (!e || !e->value || !e->slot) return;
  /* Commits travel as values; the log keeps them packed. */
  size_t len = akt__ca__value__get_packed_size(e->value);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return;
  akt__ca__value__pack(e->value, buf);
  akt__ca_log_commit(ca, e->slot, buf, len, m->remoting);
  free(buf);
}

/* Asks `remoting` for the slots after the last one applied here. */
static void ask_from(akt__ca *ca, const char *remoting) {
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__CatchUp cu = AKT__CA__CATCH_UP__INIT;
  cu.from_slot = ca->applied + 1;
  msg.body_case = AKT__CA__MSG__BODY_CATCH_UP;
  msg.catch_up = &cu;
  akt__ca_send(ca, remoting, &msg);
}

void akt__ca_log_hint(akt__ca *ca, uint64_t commit, const char *remoting) {
  if (commit <= ca->applied || !remoting || !*remoting) return;
  if (commit > ca->best_commit || !ca->best_from[0]) {
    ca->best_commit = commit;
    snprintf(ca->best_from, sizeof ca->best_from, "%s", remoting);
  }
  uint64_t now = akt__ca_now(ca);
  if (ca->catchup_at && now - ca->catchup_at < AKT__CA_CATCHUP_EVERY) return;
  ca->catchup_at = now;
  AKT__CA_STAT(ca, catchups);
  ask_from(ca, ca->best_from);
}

void akt__ca_on_catch_up(akt__ca *ca, const Akt__Ca__Msg *m) {
  if (!ca->genesis || !m->catch_up || !m->remoting) return;
  uint64_t from = m->catch_up->from_slot ? m->catch_up->from_slot : 1;
  if (from > ca->applied) return; /* nothing new (a poll) */
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Entries ents = AKT__CA__ENTRIES__INIT;
  msg.body_case = AKT__CA__MSG__BODY_ENTRIES;
  msg.entries = &ents;
  /* Entries when every slot from `from` on is still kept, else a
   * snapshot of the state they would have built. */
  int kept = 1;
  for (uint64_t s = from; s <= ca->applied && s < from + AKT__CA_ENTRIES_PER_MSG && kept; s++) {
    size_t len;
    kept = akt__ca_log_get(ca, s, &len) != NULL;
  }
  if (!kept) {
    Akt__Ca__Snapshot *snap = NULL;
    if (akt__ca_snapshot_build(ca, &snap)) return;
    ents.snapshot = snap;
    AKT__CA_STAT(ca, snapshots_sent);
    akt__ca_send(ca, m->remoting, &msg);
    akt__ca_snapshot_free(snap);
    return;
  }
  Akt__Ca__Entry e[AKT__CA_ENTRIES_PER_MSG], *ep[AKT__CA_ENTRIES_PER_MSG];
  Akt__Ca__Value *vals[AKT__CA_ENTRIES_PER_MSG];
  size_t n = 0;
  for (uint64_t s = from; s <= ca->applied && n < AKT__CA_ENTRIES_PER_MSG; s++) {
    size_t len;
    const uint8_t *val = akt__ca_log_get(ca, s, &len);
    vals[n] = akt__ca__value__unpack(NULL, len, val);
    if (!vals[n]) break;
    akt__ca__entry__init(&e[n]);
    e[n].slot = s;
    e[n].value = vals[n];
    ep[n] = &e[n];
    n++;
  }
  ents.entries = ep;
  ents.n_entries = n;
  if (n) akt__ca_send(ca, m->remoting, &msg);
  for (size_t i = 0; i < n; i++) akt__ca__value__free_unpacked(vals[i], NULL);
}

void akt__ca_on_entries(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__Entries *ents = m->entries;
  if (!ents || !m->genesis) return;
  if (ents->snapshot && ents->snapshot->slot > ca->applied) {
    if (akt__ca_snapshot_apply(ca, ents->snapshot) == 0) {
      ca->genesis = m->genesis;
      /* Slots this node kept are from before the snapshot, or from the
       * future buffer: the future ones still apply after it. */
      for (size_t i = 0; i < AKT__CA_LOG_KEEP; i++) {
        free(ca->tail[i].value);
        ca->tail[i].value = NULL;
        ca->tail[i].slot = 0;
      }
      AKT__CA_STAT(ca, snapshots_applied);
      akt__ca_trace(ca, "snapshot", "applied", ca->applied);
      drain_future(ca);
    }
  }
  for (size_t i = 0; i < ents->n_entries; i++) {
    const Akt__Ca__Entry *e = ents->entries[i];
    if (!e || !e->value || !e->slot) continue;
    if (!ca->genesis) {
      /* A log from its first slot on. */
      if (e->slot != 1) continue;
      ca->genesis = m->genesis;
    }
    size_t len = akt__ca__value__get_packed_size(e->value);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return;
    akt__ca__value__pack(e->value, buf);
    akt__ca_log_commit(ca, e->slot, buf, len, m->remoting);
    free(buf);
  }
  /* More to come: ask again at once (the rate limit counts from the last
   * request, which this answered). */
  if (ca->best_commit > ca->applied && ca->best_from[0]) {
    ca->catchup_at = 0;
    akt__ca_log_hint(ca, ca->best_commit, ca->best_from);
  }
}

/* ---- the founder's first slot ---------------------------------------------------------------------- */

void akt__ca_genesis(akt__ca *ca) {
  if (ca->genesis || ca->applied || !ca->self_id[0]) return;
  akt_member me;
  if (akt_cluster_self(ca->sys, &me)) return;
  Akt__Ca__Member mm = AKT__CA__MEMBER__INIT, *mp = &mm;
  Akt__Ca__Config cfg = AKT__CA__CONFIG__INIT;
  Akt__Ca__Value v = AKT__CA__VALUE__INIT;
  char *roles[AKT_CLUSTER_MAX_ROLES];
  mm.id = ca->self_id;
  mm.remoting = ca->remoting;
  mm.host = me.addr.host;
  mm.port = me.addr.port;
  mm.age = me.up_number;
  for (unsigned i = 0; i < me.nroles; i++) roles[i] = me.roles[i];
  mm.roles = roles;
  mm.n_roles = me.nroles;
  cfg.members = &mp;
  cfg.n_members = 1;
  v.config = &cfg;
  size_t len = akt__ca__value__get_packed_size(&v);
  uint8_t *buf = malloc(len);
  if (!buf) return;
  akt__ca__value__pack(&v, buf);
  ca->genesis = XXH3_64bits(ca->self_id, strlen(ca->self_id)) | 1;
  akt__ca_trace(ca, "genesis", ca->self_id, ca->genesis);
  akt__ca_log_commit(ca, 1, buf, len, NULL);
  free(buf);
}

/* ---- periodic -------------------------------------------------------------------------------------- */

void akt__ca_log_tick(akt__ca *ca) {
  uint64_t now = akt__ca_now(ca);
  if (ca->best_commit > ca->applied && ca->best_from[0]) {
    akt__ca_log_hint(ca, ca->best_commit, ca->best_from);
    return;
  }
  /* Commits can be lost (a connection reset takes what it carried): a
   * node that hears nothing new asks the leader now and then. */
  if (!ca->member || ca->leader || !ca->leader_remoting[0]) return;
  if (ca->poll_at && now - ca->poll_at < AKT__CA_POLL_EVERY) return;
  ca->poll_at = now;
  ask_from(ca, ca->leader_remoting);
}
