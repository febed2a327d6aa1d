/* akt — the member table: identities, state transitions and their events.
 *
 * Every change of a member's state goes through akt__cl_set_status or
 * akt__cl_set_reach, which assert that it moves forward and emit its event
 * (listener, trace, event stream) on the spot, with the cluster's lock
 * held. That single path is what makes the events of one member come out in
 * the same order on every node: each node applies a member's changes in the
 * order of (status, version, reachability), skipping what it never heard.
 *
 * Members live in slots (a slot is stable while its member exists; a
 * generation tells successive members of one slot apart, for timers that
 * fire late). An open-addressing index on the address hash finds a member
 * by address; nothing iterates the index, so its layout never shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "akt/events.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/util/assert.h"

/* ---- names ------------------------------------------------------------------------------ */

const char *akt_cluster_event_name(akt_cluster_event_kind kind) {
  switch (kind) {
    case AKT_CLUSTER_MEMBER_JOINED: return "member-joined";
    case AKT_CLUSTER_MEMBER_UP: return "member-up";
    case AKT_CLUSTER_MEMBER_SUSPECT: return "member-suspect";
    case AKT_CLUSTER_MEMBER_UNREACHABLE: return "member-unreachable";
    case AKT_CLUSTER_MEMBER_REACHABLE: return "member-reachable";
    case AKT_CLUSTER_MEMBER_LEFT: return "member-left";
    case AKT_CLUSTER_MEMBER_EXITED: return "member-exited";
    case AKT_CLUSTER_MEMBER_DOWN: return "member-down";
    case AKT_CLUSTER_MEMBER_REMOVED: return "member-removed";
    case AKT_CLUSTER_LEADER_CHANGED: return "leader-changed";
    case AKT_CLUSTER_FORMED: return "cluster-formed";
  }
  return "?";
}

const char *akt_member_status_name(akt_member_status s) {
  switch (s) {
    case AKT_MEMBER_JOINING: return "joining";
    case AKT_MEMBER_UP: return "up";
    case AKT_MEMBER_LEAVING: return "leaving";
    case AKT_MEMBER_EXITING: return "exiting";
    case AKT_MEMBER_DOWN: return "down";
    case AKT_MEMBER_REMOVED: return "removed";
  }
  return "?";
}

const char *akt_member_reach_name(akt_member_reach r) {
  switch (r) {
    case AKT_REACH_ALIVE: return "alive";
    case AKT_REACH_SUSPECT: return "suspect";
    case AKT_REACH_UNREACHABLE: return "unreachable";
  }
  return "?";
}

/* ---- identities ----------------------------------------------------------------------------- */

uint64_t akt__cl_key(const char *host, uint16_t port) {
  uint8_t buf[AKT_HOST_MAX + 2];
  size_t n = strnlen(host, AKT_HOST_MAX - 1);
  memcpy(buf, host, n);
  buf[n] = (uint8_t)(port >> 8);
  buf[n + 1] = (uint8_t)port;
  uint64_t k = XXH3_64bits(buf, n + 2);
  return k ? k : 1;
}

int akt__cl_addr_cmp(const char *h1, uint16_t p1, const char *h2, uint16_t p2) {
  int c = strcmp(h1, h2);
  if (c) return c;
  return (p1 > p2) - (p1 < p2);
}

akt_addr akt__cl_addr_of(const akt__cl_member *m) {
  akt_addr a = {.port = m->port};
  memcpy(a.host, m->host, sizeof a.host);
  return a;
}

int akt__cl_older_by(uint64_t up_a, const char *host_a, uint16_t port_a, uint64_t up_b,
                     const char *host_b, uint16_t port_b) {
  uint64_t ua = up_a ? up_a : UINT64_MAX;
  uint64_t ub = up_b ? up_b : UINT64_MAX;
  if (ua != ub) return ua < ub;
  return akt__cl_addr_cmp(host_a, port_a, host_b, port_b) < 0;
}

int akt__cl_older(const akt__cl_member *a, const akt__cl_member *b) {
  return akt__cl_older_by(a->up_number, a->host, a->port, b->up_number, b->host, b->port);
}

/* ---- the index ------------------------------------------------------------------------------- */

static int index_grow(akt__cluster *cl) {
  uint32_t cap = cl->index_cap ? cl->index_cap * 2 : 64;
  uint32_t *n = calloc(cap, sizeof *n);
  if (!n) return AKT_ENOMEM;
  for (uint32_t i = 0; i < cl->index_cap; i++) {
    uint32_t v = cl->index[i];
    if (!v) continue;
    uint32_t h = (uint32_t)cl->slots[v - 1]->key & (cap - 1);
    while (n[h]) h = (h + 1) & (cap - 1);
    n[h] = v;
  }
  free(cl->index);
  cl->index = n;
  cl->index_cap = cap;
  return 0;
}

akt__cl_member *akt__cl_find(akt__cluster *cl, const char *host, uint16_t port) {
  if (!cl->index_cap) return NULL;
  uint64_t key = akt__cl_key(host, port);
  for (uint32_t h = (uint32_t)key & (cl->index_cap - 1);; h = (h + 1) & (cl->index_cap - 1)) {
    uint32_t v = cl->index[h];
    if (!v) return NULL;
    akt__cl_member *m = cl->slots[v - 1];
    if (m->key == key && m->port == port && strcmp(m->host, host) == 0) return m;
  }
}

static void index_remove(akt__cluster *cl, akt__cl_member *m) {
  uint32_t mask = cl->index_cap - 1, h = (uint32_t)m->key & mask;
  while (cl->index[h] != m->slot + 1) {
    AKT_ASSERT(cl->index[h] != 0);
    h = (h + 1) & mask;
  }
  /* Backward-shift deletion: no tombstones, lookups stay short. */
  for (uint32_t j = (h + 1) & mask; cl->index[j]; j = (j + 1) & mask) {
    uint32_t home = (uint32_t)cl->slots[cl->index[j] - 1]->key & mask;
    if (((j - home) & mask) >= ((j - h) & mask)) {
      cl->index[h] = cl->index[j];
      h = j;
    }
  }
  cl->index[h] = 0;
}

akt__cl_member *akt__cl_slot(akt__cluster *cl, uint32_t slot, uint32_t gen) {
  if (slot >= cl->nslots) return NULL;
  akt__cl_member *m = cl->slots[slot];
  return m && m->gen == gen ? m : NULL;
}

uint32_t akt__cl_live_count(akt__cluster *cl) { return cl->nlive; }

uint32_t akt__cl_pick(akt__cluster *cl, int (*ok)(const akt__cl_member *m, const void *arg),
                      const void *arg, uint32_t k, uint32_t *out) {
  uint32_t seen = 0;
  for (uint32_t s = 0; s < cl->nslots && k; s++) {
    const akt__cl_member *m = cl->slots[s];
    if (!m || !ok(m, arg)) continue;
    if (seen < k) {
      out[seen++] = s;
      continue;
    }
    uint64_t j = akt__cl_random(cl) % ((uint64_t)seen + 1);
    seen++;
    if (j < k) out[j] = s;
  }
  return seen < k ? seen : k;
}

/* ---- tombstones -------------------------------------------------------------------------------- */

int akt__cl_tomb_has(akt__cluster *cl, uint64_t key, uint64_t uid) {
  for (uint32_t i = 0; i < cl->ntombs; i++)
    if (cl->tombs[i].key == key && cl->tombs[i].uid == uid) return 1;
  return 0;
}

void akt__cl_tomb_add(akt__cluster *cl, uint64_t key, uint64_t uid) {
  if (!cl->tombs || akt__cl_tomb_has(cl, key, uid)) return;
  /* A ring: the oldest tombstone goes first. An identity removed that long
   * ago that comes back in stale gossip is probed, found dead and removed
   * again: noise, not a wrong view. */
  cl->tombs[cl->tomb_next] = (akt__tombstone){key, uid};
  cl->tomb_next = (cl->tomb_next + 1) % AKT__CL_MAX_TOMBSTONES;
  if (cl->ntombs < AKT__CL_MAX_TOMBSTONES) cl->ntombs++;
}

/* ---- snapshots and events ------------------------------------------------------------------------- */

void akt__cl_snapshot(akt__cluster *cl, const akt__cl_member *m, akt_member *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", m->name);
  snprintf(out->addr.host, sizeof out->addr.host, "%s", m->host);
  out->addr.port = m->port;
  out->incarnation = m->uid;
  out->version = m->version;
  out->status = m->status;
  out->reach = m->reach;
  out->up_number = m->up_number;
  out->self = m->self;
  out->bytes_sent = m->bytes_out;
  out->bytes_received = m->bytes_in;
  memcpy(out->remoting, m->remoting, sizeof out->remoting);
  out->cluster_port = m->cluster_port;
  out->nroles = m->nroles;
  memcpy(out->roles, m->roles, m->nroles * sizeof m->roles[0]);
  out->nvalues = m->nvalues;
  memcpy(out->keys, m->keys, m->nvalues * sizeof m->keys[0]);
  memcpy(out->values, m->values, m->nvalues * sizeof m->values[0]);
  (void)cl;
}

static void publish(akt__cluster *cl, akt_cluster_event_kind kind, const akt_member *s,
                    akt_cluster_down_reason reason) {
  if (!akt__events_wanted(cl->sys, AKT_TOPIC_CLUSTER)) return;
  Akt__Cluster__MemberEvent ev = AKT__CLUSTER__MEMBER_EVENT__INIT;
  Akt__Cluster__MemberInfo info = AKT__CLUSTER__MEMBER_INFO__INIT;
  char *roles[AKT_CLUSTER_MAX_ROLES];
  ev.kind = (uint32_t)kind;
  ev.reason = (uint32_t)reason;
  if (s) {
    info.name = (char *)(uintptr_t)s->name;
    info.host = (char *)(uintptr_t)s->addr.host;
    info.port = s->addr.port;
    info.incarnation = s->incarnation;
    info.version = s->version;
    info.status = (uint32_t)s->status;
    info.reach = (uint32_t)s->reach;
    info.up_number = s->up_number;
    info.remoting = (char *)(uintptr_t)s->remoting;
    for (unsigned i = 0; i < s->nroles; i++) roles[i] = (char *)(uintptr_t)s->roles[i];
    info.roles = roles;
    info.n_roles = s->nroles;
    ev.member = &info;
  }
  akt_publish(cl->sys, AKT_TOPIC_CLUSTER, &ev.base, cl->actor);
}

void akt__cl_emit(akt__cluster *cl, akt_cluster_event_kind kind, const akt__cl_member *m,
                  akt_cluster_down_reason reason) {
  akt_member snap, *s = NULL;
  if (m) {
    akt__cl_snapshot(cl, m, &snap);
    s = &snap;
  }
  char text[AKT_SYSTEM_NAME_MAX + AKT_HOST_MAX + 64];
  if (m)
    snprintf(text, sizeof text, "%s@%s:%u#%016llx v%u", m->name, m->host, (unsigned)m->port,
             (unsigned long long)m->uid, (unsigned)m->version);
  else
    snprintf(text, sizeof text, "none");
  akt__trace(cl->sys, AKT_EV_NET, 0, 0, akt_cluster_event_name(kind), m ? m->uid : 0,
             (int64_t)reason, text);
  akt_log_level level = kind == AKT_CLUSTER_MEMBER_DOWN || kind == AKT_CLUSTER_MEMBER_UNREACHABLE
                            ? AKT_LOG_INFO
                            : AKT_LOG_DEBUG;
  akt__cl_log(cl, level, "cluster %s: %s %s", cl->name, akt_cluster_event_name(kind), text);
  akt_cluster_event ev = {.kind = kind, .member = s, .reason = reason, .at = akt__cl_now(cl)};
  if (cl->o.listener) cl->o.listener(cl->sys, &ev, cl->o.listener_arg);
  for (unsigned i = 0; i < cl->next; i++)
    if (cl->ext[i].on_event) cl->ext[i].on_event(cl->ext[i].arg, &ev);
  publish(cl, kind, s, reason);
  if (cl->topics) akt__topics_on_event(cl->topics, kind, s); /* topics.h */
  /* Threads waiting outside the system (akt_cluster_leave, tests) look
   * again. */
  cl->b->ops->wake(cl->b);
}

void akt__cl_update_leader(akt__cluster *cl) {
  akt__cl_member *best = NULL;
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || (m->status != AKT_MEMBER_UP && m->status != AKT_MEMBER_LEAVING) ||
        m->reach == AKT_REACH_UNREACHABLE)
      continue;
    if (!best || akt__cl_older(m, best)) best = m;
  }
  int same = best ? cl->has_leader && cl->leader_key == best->key && cl->leader_uid == best->uid
                  : !cl->has_leader;
  if (same) return;
  cl->has_leader = best != NULL;
  cl->leader_key = best ? best->key : 0;
  cl->leader_uid = best ? best->uid : 0;
  akt__cl_emit(cl, AKT_CLUSTER_LEADER_CHANGED, best, AKT_DOWN_UNKNOWN);
}

/* ---- what the downing check counts ----------------------------------------------------------- */

/* Adds (sign 1) or takes back (-1) m's share of the counts: call with -1
 * before a change of m's status, reachability or direct reachability and
 * with 1 after it. */
static void count(akt__cluster *cl, const akt__cl_member *m, int sign) {
  if (m->status > AKT_MEMBER_LEAVING) return;
  uint32_t d = (uint32_t)sign;
  if (m->reach == AKT_REACH_SUSPECT) cl->nsuspect += d;
  if (m->reach == AKT_REACH_UNREACHABLE) {
    cl->nunreach += d;
    /* The episode: from the first unreachable member to the last gone. */
    if (sign > 0 && cl->nunreach == 1) cl->unreach_since = akt__cl_now(cl);
    if (!cl->nunreach) cl->unreach_since = 0;
  }
  if (m->direct_fail) cl->nindirect += d;
  AKT_ASSERT(cl->nsuspect <= cl->nmembers && cl->nunreach <= cl->nmembers &&
             cl->nindirect <= cl->nmembers);
}

void akt__cl_set_indirect(akt__cluster *cl, akt__cl_member *m, int indirect) {
  if (m->direct_fail == indirect) return;
  count(cl, m, -1);
  m->direct_fail = indirect;
  count(cl, m, 1);
  akt__cl_view_changed(cl);
}

/* ---- adding and removing ------------------------------------------------------------------------- */

void akt__cl_member_meta(akt__cl_member *m, const uint8_t *meta, size_t len) {
  AKT_ASSERT(len <= AKT_CLUSTER_META_MAX);
  memcpy(m->meta, meta, len);
  m->meta_len = len;
  m->remoting[0] = '\0';
  m->cluster_port = 0;
  m->nroles = m->nvalues = 0;
  Akt__Cluster__Meta *p = len ? akt__cluster__meta__unpack(NULL, len, meta) : NULL;
  if (!p) return;
  /* What does not fit the limits is left out: a peer's metadata is
   * bounded as a whole (AKT_CLUSTER_META_MAX), not field by field. */
  if (p->remoting && strlen(p->remoting) < sizeof m->remoting)
    snprintf(m->remoting, sizeof m->remoting, "%s", p->remoting);
  if (p->cluster_port <= UINT16_MAX) m->cluster_port = (uint16_t)p->cluster_port;
  for (size_t i = 0; i < p->n_roles && m->nroles < AKT_CLUSTER_MAX_ROLES; i++)
    if (strlen(p->roles[i]) < AKT_CLUSTER_ROLE_MAX)
      snprintf(m->roles[m->nroles++], AKT_CLUSTER_ROLE_MAX, "%s", p->roles[i]);
  for (size_t i = 0; i < p->n_values && m->nvalues < AKT_CLUSTER_MAX_VALUES; i++) {
    const Akt__Cluster__KeyValue *kv = p->values[i];
    if (strlen(kv->key) >= AKT_CLUSTER_KEY_MAX || strlen(kv->value) >= AKT_CLUSTER_VALUE_MAX)
      continue;
    snprintf(m->keys[m->nvalues], AKT_CLUSTER_KEY_MAX, "%s", kv->key);
    snprintf(m->values[m->nvalues++], AKT_CLUSTER_VALUE_MAX, "%s", kv->value);
  }
  akt__cluster__meta__free_unpacked(p, NULL);
}

static akt_cluster_event_kind status_event(akt_member_status s) {
  switch (s) {
    case AKT_MEMBER_JOINING: return AKT_CLUSTER_MEMBER_JOINED;
    case AKT_MEMBER_UP: return AKT_CLUSTER_MEMBER_UP;
    case AKT_MEMBER_LEAVING: return AKT_CLUSTER_MEMBER_LEFT;
    case AKT_MEMBER_EXITING: return AKT_CLUSTER_MEMBER_EXITED;
    case AKT_MEMBER_DOWN: return AKT_CLUSTER_MEMBER_DOWN;
    case AKT_MEMBER_REMOVED: return AKT_CLUSTER_MEMBER_REMOVED;
  }
  AKT_ASSERT(0 && "status");
  return AKT_CLUSTER_MEMBER_REMOVED;
}

akt__cl_member *akt__cl_add(akt__cluster *cl, const char *host, uint16_t port, uint64_t uid,
                         const char *name, uint32_t version, akt_member_status status,
                         uint64_t up_number, const uint8_t *meta, size_t meta_len) {
  AKT_ASSERT(status >= AKT_MEMBER_JOINING && status <= AKT_MEMBER_EXITING);
  AKT_ASSERT(meta_len <= AKT_CLUSTER_META_MAX);
  AKT_ASSERT(!akt__cl_find(cl, host, port));
  if (cl->nmembers >= cl->o.max_members) {
    AKT__CL_STAT(cl, members_refused);
    return NULL;
  }
  if ((cl->nmembers + 1) * 2 > cl->index_cap && index_grow(cl)) return NULL;
  akt__cl_member *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  uint32_t slot;
  if (cl->nfree) {
    slot = cl->free_slots[--cl->nfree];
  } else {
    AKT_ASSERT(cl->nslots < cl->o.max_members);
    slot = cl->nslots++;
  }
  m->slot = slot;
  m->gen = ++cl->next_gen;
  snprintf(m->host, sizeof m->host, "%s", host);
  m->port = port;
  m->uid = uid;
  m->key = akt__cl_key(host, port);
  snprintf(m->name, sizeof m->name, "%s", name);
  m->version = version;
  m->status = status;
  m->reach = AKT_REACH_ALIVE;
  m->up_number = up_number;
  akt__cl_member_meta(m, meta, meta_len);
  m->self = m->key == cl->key && uid == cl->uid && port == cl->port && !strcmp(host, cl->host);
  cl->slots[slot] = m;
  cl->nmembers++;
  cl->nlive++;
  count(cl, m, 1);
  uint32_t h = (uint32_t)m->key & (cl->index_cap - 1);
  while (cl->index[h]) h = (h + 1) & (cl->index_cap - 1);
  cl->index[h] = slot + 1;
  if (!m->self) akt__cl_probe_add(cl, m);
  akt__cl_emit(cl, status_event(status), m, AKT_DOWN_UNKNOWN);
  if (status == AKT_MEMBER_EXITING && !m->self)
    akt__cl_mtimer(cl, m, &m->remove_timer, AKT__CT_REMOVE, cl->o.remove_after);
  akt__cl_view_changed(cl);
  akt__cl_update_leader(cl);
  return m;
}

/* Frees m's slot and memory (its timers cancelled). */
static void drop(akt__cluster *cl, akt__cl_member *m) {
  akt__cl_mtimer_cancel(cl, &m->susp_timer);
  akt__cl_mtimer_cancel(cl, &m->remove_timer);
  akt__cl_mtimer_cancel(cl, &m->direct_timer);
  count(cl, m, -1);
  index_remove(cl, m);
  cl->slots[m->slot] = NULL;
  cl->free_slots[cl->nfree++] = m->slot;
  cl->nmembers--;
  if (m->status < AKT_MEMBER_DOWN) cl->nlive--;
  if (cl->self == m) cl->self = NULL;
  free(m);
}

void akt__cl_clear(akt__cluster *cl) {
  for (uint32_t i = 0; i < cl->nslots; i++)
    if (cl->slots[i]) drop(cl, cl->slots[i]);
  AKT_ASSERT(cl->nmembers == 0 && cl->nlive == 0 && !cl->nsuspect && !cl->nunreach &&
             !cl->nindirect);
  cl->nslots = 0;
  cl->nfree = 0;
  cl->probe_len = cl->probe_pos = 0;
  cl->has_leader = 0;
}

/* ---- transitions ------------------------------------------------------------------------------- */

/* The lifecycle: joining -> up -> leaving -> exiting -> removed, any of
 * the first four -> down -> removed. Gossip may skip steps it never saw. */
static int status_allowed(akt_member_status from, akt_member_status to) {
  if (to <= from) return 0;
  if (to == AKT_MEMBER_REMOVED) return from == AKT_MEMBER_EXITING || from == AKT_MEMBER_DOWN;
  return 1;
}

void akt__cl_set_status(akt__cluster *cl, akt__cl_member *m, akt_member_status to,
                        akt_cluster_down_reason reason) {
  AKT_ASSERT_TRANSITION("member status", m->status, to, status_allowed(m->status, to));
  if (m->status < AKT_MEMBER_DOWN && to >= AKT_MEMBER_DOWN) {
    AKT_ASSERT(cl->nlive > 0);
    cl->nlive--;
  }
  count(cl, m, -1);
  m->status = to;
  if (to == AKT_MEMBER_DOWN) m->down_reason = reason;
  if (to >= AKT_MEMBER_EXITING) {
    akt__cl_suspect_stop(cl, m);
    akt__cl_mtimer_cancel(cl, &m->direct_timer);
    m->direct_left = 0;
    m->direct_seq = 0;
    m->direct_fail = 0;
  }
  count(cl, m, 1); /* nothing when it left play */
  if (to == AKT_MEMBER_REMOVED) {
    akt__cl_emit(cl, AKT_CLUSTER_MEMBER_REMOVED, m, AKT_DOWN_UNKNOWN);
    akt__cl_tomb_add(cl, m->key, m->uid);
    drop(cl, m);
    akt__cl_view_changed(cl);
    akt__cl_update_leader(cl);
    return;
  }
  akt__cl_emit(cl, status_event(to), m, reason);
  if ((to == AKT_MEMBER_DOWN || to == AKT_MEMBER_EXITING) && !m->self &&
      !m->remove_timer.id)
    akt__cl_mtimer(cl, m, &m->remove_timer, AKT__CT_REMOVE, cl->o.remove_after);
  akt__cl_view_changed(cl);
  akt__cl_update_leader(cl);
  if (m->self && to == AKT_MEMBER_DOWN) akt__cl_out(cl, reason);
}

void akt__cl_set_reach(akt__cluster *cl, akt__cl_member *m, uint32_t version, akt_member_reach to) {
  /* The test flag AKT_CLUSTER_TEST_NO_VERSIONS lets stale updates through
   * on purpose, to show that the simulator's oracle catches the
   * regressions that follow; the assertion would stop the run first. */
  if (!(cl->o.test_flags & AKT_CLUSTER_TEST_NO_VERSIONS))
    AKT_ASSERT_TRANSITION("member reach", ((int64_t)m->version << 2) | m->reach,
                          ((int64_t)version << 2) | to,
                          version > m->version || (version == m->version && to > m->reach));
  akt_member_reach from = m->reach;
  count(cl, m, -1);
  m->version = version;
  m->reach = to;
  count(cl, m, 1);
  /* Newly unreachable: probe it again at once. A decider checks a mark
   * itself before acting on it (downing.c), and this check then overlaps
   * the stable period instead of following it. */
  if (to == AKT_REACH_UNREACHABLE && from != to) {
    m->unreach_at = akt__cl_now(cl);
    akt__cl_probe_soon(cl, m);
  }
  if (from == AKT_REACH_SUSPECT && to != AKT_REACH_SUSPECT) akt__cl_suspect_stop(cl, m);
  if (to == AKT_REACH_SUSPECT)
    akt__cl_emit(cl, AKT_CLUSTER_MEMBER_SUSPECT, m, AKT_DOWN_UNKNOWN);
  else if (to == AKT_REACH_UNREACHABLE)
    akt__cl_emit(cl, AKT_CLUSTER_MEMBER_UNREACHABLE, m, AKT_DOWN_UNKNOWN);
  else if (from != AKT_REACH_ALIVE)
    akt__cl_emit(cl, AKT_CLUSTER_MEMBER_REACHABLE, m, AKT_DOWN_UNKNOWN);
  if (from != to) {
    akt__cl_view_changed(cl);
    if (from == AKT_REACH_UNREACHABLE || to == AKT_REACH_UNREACHABLE) akt__cl_update_leader(cl);
  }
}
