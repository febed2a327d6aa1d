/* akt — cluster topics: the peers, and the registries that travel between
 * them.
 *
 * A peer is one incarnation of another member, from the event that shows
 * it joining, up or leaving to the one that shows it exiting, down or
 * removed (the cluster emits every member's changes in order, so a peer is
 * never added back after it is gone). Peers sit in slots (the lowest free
 * one is reused: walks over the slots go in a fixed order) and in an
 * index by identity, for the messages they send.
 *
 * Registries. This node pushes its registry to every peer until the peer
 * acknowledges the current version: right away when it changes (a delta
 * from the version last sent, since remoting keeps order on a connection),
 * and again from the version the peer last acknowledged when no ack came
 * within the retransmission time, backing off while nothing is
 * acknowledged. A peer applies a delta only on the version it is based on,
 * a full registry only if it is not older than what it holds, and always
 * answers with the version it holds. Peers' registries feed one index,
 * topic -> the slots of the peers that have it, which publishing looks up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/remote.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* ---- the index: topic -> peers ------------------------------------------------------------- */

akt__rtopic *akt__tp_rtopic(akt__topics *tp, const char *name) {
  return akt__strtab_find(&tp->rtopics, name);
}

/* Where slot is, or would go, in rt->peers (ascending). */
static uint32_t slot_pos(const akt__rtopic *rt, uint32_t slot, int *found) {
  uint32_t lo = 0, hi = rt->npeers;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (rt->peers[mid] < slot) lo = mid + 1;
    else hi = mid;
  }
  *found = lo < rt->npeers && rt->peers[lo] == slot;
  return lo;
}

static void rtopic_free(akt__rtopic *rt) {
  free(rt->peers);
  free(rt->name);
  free(rt);
}

/* Adds `name` to p's registry here. Returns 0, or a code (counted: the
 * topic is then missing until the next full registry). A name no member
 * could have subscribed to (empty, too long) is refused the same way. */
static int topic_add(akt__topics *tp, akt__tpeer *p, const char *name) {
  size_t len = strnlen(name, AKT_TOPIC_NAME_MAX + 1);
  if (!len || len > AKT_TOPIC_NAME_MAX) {
    AKT__TP_STAT(tp, registry_truncated);
    return AKT_ENAME;
  }
  akt__rtopic *rt = akt__tp_rtopic(tp, name);
  int found = 0;
  uint32_t at = rt ? slot_pos(rt, p->slot, &found) : 0;
  if (found) {
    rt->stamp = tp->stamp;
    return 0;
  }
  if (p->ntopics >= tp->o.max_topics) {
    AKT__TP_STAT(tp, registry_truncated);
    return AKT_ELIMIT;
  }
  int rc = akt__grow(&p->topics, sizeof *p->topics, p->ntopics, &p->tcap, AKT__TP_INITIAL,
                     tp->o.max_topics);
  if (rc) return rc;
  int fresh = !rt;
  if (fresh) {
    rt = calloc(1, sizeof *rt);
    if (!rt || !(rt->name = strdup(name)) || akt__strtab_add(&tp->rtopics, rt) != 0) {
      if (rt) free(rt->name);
      free(rt);
      return AKT_ENOMEM;
    }
  }
  /* A topic lists at most one slot per peer. */
  rc = akt__grow(&rt->peers, sizeof *rt->peers, rt->npeers, &rt->cap, AKT__TP_INITIAL,
                 AKT_CLUSTER_HARD_MAX_MEMBERS);
  if (rc) {
    if (fresh) {
      akt__strtab_remove(&tp->rtopics, rt);
      rtopic_free(rt);
    }
    return rc;
  }
  memmove(&rt->peers[at + 1], &rt->peers[at], (rt->npeers - at) * sizeof *rt->peers);
  rt->peers[at] = p->slot;
  rt->npeers++;
  rt->stamp = tp->stamp;
  p->topics[p->ntopics++] = rt;
  return 0;
}

/* Removes topic i of p's registry here. */
static void topic_remove_at(akt__topics *tp, akt__tpeer *p, uint32_t i) {
  AKT_ASSERT(i < p->ntopics);
  akt__rtopic *rt = p->topics[i];
  p->topics[i] = p->topics[--p->ntopics];
  int found = 0;
  uint32_t at = slot_pos(rt, p->slot, &found);
  AKT_ASSERT(found);
  memmove(&rt->peers[at], &rt->peers[at + 1], (rt->npeers - at - 1) * sizeof *rt->peers);
  if (--rt->npeers) return;
  akt__strtab_remove(&tp->rtopics, rt);
  rtopic_free(rt);
}

static void topic_remove(akt__topics *tp, akt__tpeer *p, const char *name) {
  for (uint32_t i = 0; i < p->ntopics; i++)
    if (!strcmp(p->topics[i]->name, name)) {
      topic_remove_at(tp, p, i);
      return;
    }
}

/* ---- peers ------------------------------------------------------------------------------------ */

static void peer_id(char *out, uint64_t key, uint64_t uid) {
  snprintf(out, AKT__TP_ID_MAX, "%016llx%016llx", (unsigned long long)key,
           (unsigned long long)uid);
}

akt__tpeer *akt__tp_peer(akt__topics *tp, uint64_t key, uint64_t uid) {
  char id[AKT__TP_ID_MAX];
  peer_id(id, key, uid);
  return akt__strtab_find(&tp->peer_index, id);
}

akt__tpeer *akt__tp_peer_of(akt__topics *tp, const Akt__Cluster__Node *n) {
  if (!akt__cl_node_valid(n)) return NULL;
  return akt__tp_peer(tp, akt__cl_key(n->host, (uint16_t)n->port), n->incarnation);
}

/* The lowest free slot, the table grown if need be. Returns 0 or a code. */
static int free_slot(akt__topics *tp, uint32_t *out) {
  for (uint32_t i = 0; i < tp->nslots; i++)
    if (!tp->peers[i]) {
      *out = i;
      return 0;
    }
  int rc = akt__grow(&tp->peers, sizeof *tp->peers, tp->nslots, &tp->slots_cap, AKT__TP_INITIAL,
                     AKT_CLUSTER_HARD_MAX_MEMBERS);
  if (rc) return rc;
  tp->peers[tp->nslots] = NULL;
  *out = tp->nslots++;
  return 0;
}

akt__tpeer *akt__tp_peer_add(akt__topics *tp, const akt_member *m) {
  uint64_t key = akt__cl_key(m->addr.host, m->addr.port);
  AKT_ASSERT(!m->self && !akt__tp_peer(tp, key, m->incarnation));
  /* An incarnation supersedes the ones before it at its address. */
  for (uint32_t i = 0; i < tp->nslots; i++) {
    akt__tpeer *o = tp->peers[i];
    if (!o || o->key != key) continue;
    if (o->uid > m->incarnation) return NULL;
    if (!(tp->o.test_flags & AKT_TOPICS_TEST_KEEP_DOWN)) akt__tp_peer_remove(tp, o);
  }
  uint32_t slot;
  akt__tpeer *p = NULL;
  int rc = free_slot(tp, &slot);
  if (!rc && !(p = calloc(1, sizeof *p))) rc = AKT_ENOMEM;
  if (!rc) {
    peer_id(p->id, key, m->incarnation);
    if ((rc = akt__strtab_add(&tp->peer_index, p)) != 0) {
      free(p);
      p = NULL;
    }
  }
  if (rc) {
    akt__log(tp->sys, AKT_LOG_ERROR, "topics: member %s not taken as a peer: %s", m->name,
             akt_strerror(rc));
    return NULL;
  }
  p->slot = slot;
  p->key = key;
  p->uid = m->incarnation;
  snprintf(p->name, sizeof p->name, "%s", m->name);
  p->next_seq = p->rx_next = 1;
  p->rto = p->reg_rto = tp->o.retransmit;
  if (m->remoting[0]) {
    char address[AKT_CLUSTER_REMOTING_MAX + 16];
    snprintf(address, sizeof address, "%s/system/cluster", m->remoting);
    if (akt_remote_pid(tp->sys, address, &p->pid) != 0) p->pid = NULL;
  }
  tp->peers[slot] = p;
  tp->npeers++;
  akt__tp_trace(tp, "peer", p->uid, (int64_t)slot, "%s#%016llx", p->name,
                (unsigned long long)p->uid);
  if (tp->version) akt__tp_registry_send(tp, p, 0);
  akt__tp_wake(tp);
  return p;
}

void akt__tp_peer_remove(akt__topics *tp, akt__tpeer *p) {
  AKT_ASSERT(p->slot < tp->nslots && tp->peers[p->slot] == p && tp->npeers > 0);
  while (p->ntopics) topic_remove_at(tp, p, p->ntopics - 1);
  akt__tp_pending_clear(tp, p);
  akt__strtab_remove(&tp->peer_index, p);
  tp->peers[p->slot] = NULL;
  tp->npeers--;
  akt__tp_trace(tp, "peer-gone", p->uid, (int64_t)p->slot, "%s#%016llx", p->name,
                (unsigned long long)p->uid);
  akt__tp_wake(tp);
  akt_pid_release(p->pid);
  akt_pid_release(p->sender);
  free(p->sender_addr);
  free(p->topics);
  free(p);
}

void akt__tp_peers_clear(akt__topics *tp) {
  for (uint32_t i = 0; i < tp->nslots; i++)
    if (tp->peers[i]) akt__tp_peer_remove(tp, tp->peers[i]);
  AKT_ASSERT(tp->npeers == 0);
}

/* ---- sending this node's registry ----------------------------------------------------------- */

/* 1 if the log holds every change in (base, version]. */
static int log_covers(akt__topics *tp, uint64_t base) {
  if (!base || tp->version - base > AKT__TP_DELTA_MAX) return 0;
  for (uint64_t v = base + 1; v <= tp->version; v++)
    if (tp->log[v % AKT__TP_LOG].version != v) return 0;
  return 1;
}

void akt__tp_registry_send(akt__topics *tp, akt__tpeer *p, uint64_t base) {
  if (!p->pid || !tp->uid || p->reg_acked >= tp->version) return;
  Akt__Cluster__Node from;
  akt__tp_node_self(tp, &from);
  Akt__Topics__Registry r = AKT__TOPICS__REGISTRY__INIT;
  r.from = &from;
  r.to = p->uid;
  r.version = tp->version;
  char **add = NULL, **remove = NULL;
  if (log_covers(tp, base)) {
    /* Every topic touched since base, once, as it stands now. */
    size_t max = (size_t)(tp->version - base);
    add = calloc(max, sizeof *add);
    remove = calloc(max, sizeof *remove);
    if (!add || !remove) goto out;
    r.from_version = base;
    for (uint64_t v = tp->version; v > base; v--) {
      char *name = tp->log[v % AKT__TP_LOG].topic;
      int seen = 0;
      for (size_t k = 0; k < r.n_add && !seen; k++) seen = !strcmp(add[k], name);
      for (size_t k = 0; k < r.n_remove && !seen; k++) seen = !strcmp(remove[k], name);
      if (seen) continue;
      if (akt__tp_ltopic(tp, name)) add[r.n_add++] = name;
      else remove[r.n_remove++] = name;
    }
  } else {
    add = calloc(tp->nlt ? tp->nlt : 1, sizeof *add);
    if (!add) goto out;
    r.full = 1;
    for (uint32_t i = 0; i < tp->nlt; i++) add[r.n_add++] = tp->lt[i]->name;
  }
  r.add = add;
  r.remove = remove;
  int rc = akt_tell_as(p->pid, &r.base, akt__tp_cluster_actor(tp));
  if (rc) AKT__TP_STAT(tp, send_errors);
  AKT__TP_STAT(tp, registries_sent);
  char how[40] = "full";
  if (!r.full) snprintf(how, sizeof how, "delta from v%llu", (unsigned long long)r.from_version);
  akt__tp_trace(tp, "registry", p->uid, (int64_t)tp->version, "to %s v%llu %s +%zu -%zu", p->name,
                (unsigned long long)tp->version, how, r.n_add, r.n_remove);
out:
  /* Sent or not (no memory), it is owed until acknowledged: the tick
   * tries again. */
  p->reg_sent = tp->version;
  p->reg_sent_at = akt__tp_now(tp);
  free(add);
  free(remove);
  akt__tp_need_tick(tp);
}

void akt__tp_registry_changed(akt__topics *tp) {
  for (uint32_t i = 0; i < tp->nslots; i++) {
    akt__tpeer *p = tp->peers[i];
    if (!p) continue;
    /* What went before is on its way on the same connection, in order. */
    uint64_t base = p->reg_sent + 1 == tp->version ? p->reg_sent : p->reg_acked;
    akt__tp_registry_send(tp, p, base);
  }
}

int akt__tp_registry_tick(akt__topics *tp, uint64_t now) {
  int owed = 0;
  for (uint32_t i = 0; i < tp->nslots; i++) {
    akt__tpeer *p = tp->peers[i];
    if (!p || !p->pid || p->reg_acked >= tp->version) continue;
    owed = 1;
    if (now < p->reg_sent_at + p->reg_rto) continue;
    AKT__TP_STAT(tp, retransmits);
    akt__tp_registry_send(tp, p, p->reg_acked);
    p->reg_rto = p->reg_rto * 2 < tp->o.retransmit_max ? p->reg_rto * 2 : tp->o.retransmit_max;
  }
  return owed;
}

/* ---- receiving peers' registries ------------------------------------------------------------ */

/* Replaces p's registry here with `names` (a full registry). */
static void replace(akt__topics *tp, akt__tpeer *p, char **names, size_t n) {
  tp->stamp++;
  for (size_t i = 0; i < n; i++)
    if (names[i]) topic_add(tp, p, names[i]);
  for (uint32_t i = p->ntopics; i-- > 0;)
    if (p->topics[i]->stamp != tp->stamp) topic_remove_at(tp, p, i);
}

void akt__tp_on_registry(akt__topics *tp, const Akt__Topics__Registry *r) {
  akt__tpeer *p = akt__tp_peer_of(tp, r->from);
  if (!p || r->to != tp->uid || !tp->uid) {
    AKT__TP_STAT(tp, unknown_senders);
    return;
  }
  int apply = r->full ? r->version >= p->their_version && r->version > 0
                      : r->from_version == p->their_version && r->version > r->from_version;
  if (apply) {
    if (r->full) {
      replace(tp, p, r->add, r->n_add);
    } else {
      for (size_t i = 0; i < r->n_remove; i++)
        if (r->remove[i]) topic_remove(tp, p, r->remove[i]);
      for (size_t i = 0; i < r->n_add; i++)
        if (r->add[i]) topic_add(tp, p, r->add[i]);
    }
    AKT_ASSERT(r->version >= p->their_version);
    p->their_version = r->version;
    AKT__TP_STAT(tp, registries_applied);
    akt__tp_trace(tp, "applied", p->uid, (int64_t)r->version, "%s v%llu: %u topics", p->name,
                  (unsigned long long)r->version, (unsigned)p->ntopics);
    akt_topic_event ev = {.kind = AKT_TOPIC_EV_APPLIED, .peer = p->name,
                          .peer_incarnation = p->uid, .version = r->version};
    akt__tp_listen(tp, &ev);
    akt__tp_wake(tp);
  }
  if (!p->pid) return;
  Akt__Cluster__Node from;
  akt__tp_node_self(tp, &from);
  Akt__Topics__RegistryAck a = AKT__TOPICS__REGISTRY_ACK__INIT;
  a.from = &from;
  a.to = p->uid;
  a.version = p->their_version;
  if (akt_tell_as(p->pid, &a.base, akt__tp_cluster_actor(tp)) != 0) AKT__TP_STAT(tp, send_errors);
}

void akt__tp_on_registry_ack(akt__topics *tp, const Akt__Topics__RegistryAck *a) {
  akt__tpeer *p = akt__tp_peer_of(tp, a->from);
  /* A version above ours cannot be this incarnation's: not ours to take. */
  if (!p || a->to != tp->uid || !tp->uid || a->version > tp->version) {
    AKT__TP_STAT(tp, unknown_senders);
    return;
  }
  if (a->version <= p->reg_acked) return;
  AKT_ASSERT(a->version <= tp->version && a->version > p->reg_acked);
  p->reg_acked = a->version;
  p->reg_rto = tp->o.retransmit;
  akt__tp_check_acks(tp);
  akt__tp_wake(tp);
}
