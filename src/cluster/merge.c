/* akt — what a node does with an update about a member (gossip, a
 * piggybacked update, a sync).
 *
 * The rules, per member identity (address + incarnation):
 *   - Alive (the member's own claim) wins over what we know when its
 *     version is higher; its status may only move forward. An Alive from a
 *     higher incarnation at the same address means the process restarted:
 *     the old identity is down at once and removed (it never comes back).
 *   - Suspect and Unreachable apply at the version they name when they are
 *     further along than what we know at that version (alive < suspect <
 *     unreachable); about an exiting or down member they mean nothing.
 *   - Down is final.
 * About the local member: a Suspect or Unreachable at our version or above
 * is refuted (version raised past it and announced); a Down means this
 * node is out; news of a newer incarnation at our own address means this
 * process is stale.
 * An update "changes the view" (and is gossiped on) when it was applied.
 */
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"
#include "src/util/assert.h"

void akt__cl_node_of(const akt__cl_member *m, Akt__Cluster__Node *n) {
  akt__cluster__node__init(n);
  n->host = (char *)(uintptr_t)m->host;
  n->port = m->port;
  n->incarnation = m->uid;
}

void akt__cl_node_self(akt__cluster *cl, Akt__Cluster__Node *n) {
  akt__cluster__node__init(n);
  n->host = cl->host;
  n->port = cl->port;
  n->incarnation = cl->uid;
}

Akt__Cluster__Update *akt__cl_claim(akt__cluster *cl, const Akt__Cluster__Node *node, int kind,
                                    uint32_t version, akt_cluster_down_reason reason,
                                    akt__claim *c) {
  c->node = *node;
  akt__cl_node_self(cl, &c->from);
  akt__cluster__update__init(&c->u);
  c->u.kind_case = (Akt__Cluster__Update__KindCase)kind;
  switch (kind) {
    case AKT__CLUSTER__UPDATE__KIND_SUSPECT:
      akt__cluster__suspect__init(&c->suspect);
      c->suspect.node = &c->node;
      c->suspect.version = version;
      c->suspect.from = &c->from;
      c->u.suspect = &c->suspect;
      break;
    case AKT__CLUSTER__UPDATE__KIND_UNREACHABLE:
      akt__cluster__unreachable__init(&c->unreachable);
      c->unreachable.node = &c->node;
      c->unreachable.version = version;
      c->unreachable.from = &c->from;
      c->u.unreachable = &c->unreachable;
      break;
    case AKT__CLUSTER__UPDATE__KIND_DOWN:
      akt__cluster__down__init(&c->down);
      c->down.node = &c->node;
      c->down.from = &c->from;
      c->down.reason = (uint32_t)reason;
      c->u.down = &c->down;
      break;
    default: AKT_ASSERT(0 && "claim kind");
  }
  return &c->u;
}

size_t akt__cl_state_of(akt__cluster *cl, const akt__cl_member *m, akt__upd_storage *st) {
  akt__cl_node_of(m, &st->node);
  if (m->status >= AKT_MEMBER_DOWN) {
    st->u[0] = *akt__cl_claim(cl, &st->node, AKT__CLUSTER__UPDATE__KIND_DOWN, 0, m->down_reason,
                              &st->claim);
    return 1;
  }
  akt__cluster__update__init(&st->u[0]);
  akt__cluster__alive__init(&st->alive);
  st->alive.node = &st->node;
  st->alive.name = (char *)(uintptr_t)m->name;
  st->alive.version = m->version;
  st->alive.status = (uint32_t)m->status;
  st->alive.up_number = m->up_number;
  st->alive.meta.data = (uint8_t *)(uintptr_t)m->meta;
  st->alive.meta.len = m->meta_len;
  st->u[0].kind_case = AKT__CLUSTER__UPDATE__KIND_ALIVE;
  st->u[0].alive = &st->alive;
  if (m->reach == AKT_REACH_ALIVE) return 1;
  int kind = m->reach == AKT_REACH_SUSPECT ? AKT__CLUSTER__UPDATE__KIND_SUSPECT
                                           : AKT__CLUSTER__UPDATE__KIND_UNREACHABLE;
  st->u[1] = *akt__cl_claim(cl, &st->node, kind, m->version, AKT_DOWN_UNKNOWN, &st->claim);
  return 2;
}

void akt__cl_announce(akt__cluster *cl) {
  akt__cl_member *me = cl->self;
  AKT_ASSERT(me && me->status < AKT_MEMBER_DOWN);
  akt__upd_storage st;
  akt__cl_state_of(cl, me, &st);
  akt__cl_broadcast(cl, &st.u[0], me->key, me->uid);
}

void akt__cl_down(akt__cluster *cl, akt__cl_member *m, akt_cluster_down_reason reason) {
  AKT_ASSERT(m->status < AKT_MEMBER_DOWN);
  AKT__CL_STAT(cl, downs);
  Akt__Cluster__Node node;
  akt__claim c;
  akt__cl_node_of(m, &node);
  akt__cl_broadcast(cl, akt__cl_claim(cl, &node, AKT__CLUSTER__UPDATE__KIND_DOWN, 0, reason, &c),
                    m->key, m->uid);
  akt__cl_set_status(cl, m, AKT_MEMBER_DOWN, reason);
}

/* Raises our version past `seen` and announces it (Lifeguard counts a
 * refutation against our own health: we were too slow to answer). */
static void refute(akt__cluster *cl, uint32_t seen) {
  akt__cl_member *me = cl->self;
  if (cl->o.test_flags & AKT_CLUSTER_TEST_NO_REFUTE) return;
  AKT__CL_STAT(cl, refutations);
  akt__cl_awareness(cl, 1);
  akt__cl_set_reach(cl, me, (seen > me->version ? seen : me->version) + 1, AKT_REACH_ALIVE);
  akt__cl_announce(cl);
}

static int status_valid(uint32_t s) { return s >= AKT_MEMBER_JOINING && s <= AKT_MEMBER_EXITING; }

static int is_self_addr(akt__cluster *cl, const Akt__Cluster__Node *n) {
  return n->port == cl->port && strcmp(n->host, cl->host) == 0;
}

/* The member a Suspect/Unreachable/Down names, if we know that identity. */
static akt__cl_member *known(akt__cluster *cl, const Akt__Cluster__Node *n) {
  akt__cl_member *m = akt__cl_find(cl, n->host, (uint16_t)n->port);
  return m && m->uid == n->incarnation ? m : NULL;
}

static int apply_alive(akt__cluster *cl, const Akt__Cluster__Alive *a) {
  const Akt__Cluster__Node *n = a->node;
  if (!akt__cl_node_valid(n) || !akt__system_name_valid(a->name) || !status_valid(a->status) ||
      a->meta.len > AKT_CLUSTER_META_MAX)
    return AKT_EPROTO;
  uint16_t port = (uint16_t)n->port;
  if (is_self_addr(cl, n)) {
    akt__cl_member *me = cl->self;
    if (n->incarnation > cl->uid) {
      /* A higher incarnation at our address: our number is too low (the
       * wall clock stepped back across a restart). The next identity this
       * process takes must be above it. A joining node just takes one; a
       * member, which the others may already know as that stale number,
       * is out and rejoins. */
      if (n->incarnation > cl->uid_floor) cl->uid_floor = n->incarnation;
      if (cl->phase == AKT_CLUSTER_JOINING) cl->identity_stale = 1;
      else if (me && me->status < AKT_MEMBER_DOWN) akt__cl_down(cl, me, AKT_DOWN_SUPERSEDED);
      return 0;
    }
    if (n->incarnation == cl->uid && me && me->status < AKT_MEMBER_DOWN &&
        a->version > me->version)
      refute(cl, a->version); /* someone has a newer claim about us than we do */
    return 0;
  }
  uint64_t key = akt__cl_key(n->host, port);
  akt__cl_member *m = akt__cl_find(cl, n->host, port);
  if (m && m->uid != n->incarnation) {
    if (n->incarnation < m->uid) {
      akt__cl_tomb_add(cl, key, n->incarnation);
      AKT__CL_STAT(cl, stale_updates);
      return 0;
    }
    /* The process at that address restarted: its old self is dead. */
    if (m->status < AKT_MEMBER_DOWN) akt__cl_down(cl, m, AKT_DOWN_RESTARTED);
    akt__cl_set_status(cl, m, AKT_MEMBER_REMOVED, AKT_DOWN_UNKNOWN);
    m = NULL;
  }
  if (!m) {
    if (akt__cl_tomb_has(cl, key, n->incarnation)) {
      AKT__CL_STAT(cl, stale_updates);
      return 0;
    }
    m = akt__cl_add(cl, n->host, port, n->incarnation, a->name, a->version,
                    (akt_member_status)a->status, a->up_number, a->meta.data, a->meta.len);
    return m ? 1 : 0;
  }
  if (m->status >= AKT_MEMBER_DOWN) return 0;
  int broken = (cl->o.test_flags & AKT_CLUSTER_TEST_NO_VERSIONS) != 0;
  if (a->version <= m->version && !broken) {
    AKT__CL_STAT(cl, stale_updates);
    return 0;
  }
  if (a->status < (uint32_t)m->status) {
    AKT__CL_STAT(cl, invalid_updates); /* a member's own status never goes back */
    return AKT_EPROTO;
  }
  if (a->version == m->version && m->reach == AKT_REACH_ALIVE) return 0;
  akt__cl_set_reach(cl, m, a->version, AKT_REACH_ALIVE);
  if (!m->up_number && a->up_number) m->up_number = a->up_number;
  if (a->meta.len != m->meta_len || memcmp(a->meta.data, m->meta, m->meta_len))
    akt__cl_member_meta(m, a->meta.data, a->meta.len);
  if (a->status > (uint32_t)m->status)
    akt__cl_set_status(cl, m, (akt_member_status)a->status, AKT_DOWN_UNKNOWN);
  return 1;
}

/* Suspect (unreachable == 0) or Unreachable. */
static int apply_suspicion(akt__cluster *cl, const Akt__Cluster__Node *n, uint32_t version,
                           const Akt__Cluster__Node *from, int unreachable) {
  if (!akt__cl_node_valid(n) || (from && !akt__cl_node_valid(from))) return AKT_EPROTO;
  akt_member_reach to = unreachable ? AKT_REACH_UNREACHABLE : AKT_REACH_SUSPECT;
  if (is_self_addr(cl, n)) {
    akt__cl_member *me = cl->self;
    if (n->incarnation != cl->uid || !me || me->status >= AKT_MEMBER_DOWN) return 0;
    if (version >= me->version) {
      refute(cl, version);
    } else if (!akt__cl_bcast_pending(cl, me->key, me->uid) &&
               !(cl->o.test_flags & AKT_CLUSTER_TEST_NO_REFUTE)) {
      /* Someone still suspects an older version of us: our refutation did
       * not reach it. Gossip our state again (same version). */
      akt__cl_announce(cl);
    }
    return 0;
  }
  akt__cl_member *m = known(cl, n);
  if (!m || m->status >= AKT_MEMBER_EXITING) return 0;
  int broken = (cl->o.test_flags & AKT_CLUSTER_TEST_NO_VERSIONS) != 0;
  if (version < m->version && !broken) {
    AKT__CL_STAT(cl, stale_updates);
    return 0;
  }
  uint64_t fkey = from ? akt__cl_key(from->host, (uint16_t)from->port) : 0;
  if (version == m->version || broken) {
    if (m->reach == to && to == AKT_REACH_SUSPECT && version == m->version)
      return akt__cl_suspect_confirm(cl, m, fkey);
    if (m->reach >= to && version == m->version) return 0;
  }
  if (unreachable) AKT__CL_STAT(cl, unreachable);
  else AKT__CL_STAT(cl, suspicions);
  akt__cl_suspect_stop(cl, m);
  akt__cl_set_reach(cl, m, version, to);
  if (!unreachable) akt__cl_suspect_start(cl, m, fkey);
  /* Declared unreachable elsewhere: probe it soon, and the probe carries
   * the claim (the buddy system), so a live member refutes before the
   * downing strategy acts on it. */
  else if (fkey != cl->key) akt__cl_probe_soon(cl, m);
  return 1;
}

static int apply_down(akt__cluster *cl, const Akt__Cluster__Down *d) {
  const Akt__Cluster__Node *n = d->node;
  if (!akt__cl_node_valid(n)) return AKT_EPROTO;
  akt_cluster_down_reason reason =
      d->reason <= AKT_DOWN_ISOLATED ? (akt_cluster_down_reason)d->reason : AKT_DOWN_UNKNOWN;
  if (is_self_addr(cl, n)) {
    akt__cl_member *me = cl->self;
    if (n->incarnation != cl->uid || !me || me->status >= AKT_MEMBER_DOWN) return 0;
    if (cl->phase == AKT_CLUSTER_JOINING) {
      /* Not a member yet: the cluster knows this number as dead (a clock
       * stepped back and it equals or trails an old one). Take another. */
      cl->identity_stale = 1;
      return 0;
    }
    akt__cl_set_status(cl, me, AKT_MEMBER_DOWN, reason);
    return 1;
  }
  akt__cl_member *m = known(cl, n);
  if (!m) {
    akt__cl_tomb_add(cl, akt__cl_key(n->host, (uint16_t)n->port), n->incarnation);
    return 0;
  }
  if (m->status >= AKT_MEMBER_DOWN) return 0;
  akt__cl_set_status(cl, m, AKT_MEMBER_DOWN, reason);
  return 1;
}

int akt__cl_apply(akt__cluster *cl, const Akt__Cluster__Update *u) {
  /* Out of the cluster (an earlier update in the same packet or sync
   * downed us), or stopped: the rest is about a view we no longer have. */
  if (cl->phase != AKT_CLUSTER_MEMBER && cl->phase != AKT_CLUSTER_JOINING) return 0;
  int rc;
  switch (u->kind_case) {
    case AKT__CLUSTER__UPDATE__KIND_ALIVE:
      rc = u->alive ? apply_alive(cl, u->alive) : AKT_EPROTO;
      break;
    case AKT__CLUSTER__UPDATE__KIND_SUSPECT:
      rc = u->suspect ? apply_suspicion(cl, u->suspect->node, u->suspect->version,
                                        u->suspect->from, 0)
                      : AKT_EPROTO;
      break;
    case AKT__CLUSTER__UPDATE__KIND_UNREACHABLE:
      rc = u->unreachable ? apply_suspicion(cl, u->unreachable->node, u->unreachable->version,
                                            u->unreachable->from, 1)
                          : AKT_EPROTO;
      break;
    case AKT__CLUSTER__UPDATE__KIND_DOWN:
      rc = u->down ? apply_down(cl, u->down) : AKT_EPROTO;
      break;
    default:
      rc = AKT_EPROTO;
  }
  if (rc == AKT_EPROTO) AKT__CL_STAT(cl, invalid_updates);
  return rc;
}
