/* akt — gossip datagrams on the wire.
 *
 *   +-----+-----+-----+---------+----------------------------------+
 *   | 'A' | 'K' | 'C' | version | packed akt.cluster.Packet ...     |
 *   +-----+-----+-----+---------+----------------------------------+
 *   \________________ sealed by the seal hook, if any ______________/
 *
 * A packet is at most packet_max bytes before sealing (the seal hook may
 * add its `overhead`); anything longer, with another magic or format
 * version, that the hook refuses, or that does not decode is dropped and
 * counted (decode_errors) before any state changes. The body is packed by
 * protobuf-c; the piggybacked updates are appended as Packet.updates
 * fields already packed (gossip.c), which is valid protobuf: repeated
 * fields may come in any number of pieces. Decoding uses an arena in the
 * cluster, so a packet costs no malloc unless it is unusually large.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"
#include "src/util/assert.h"

static const uint8_t magic[3] = {'A', 'K', 'C'};

int akt__cl_node_valid(const Akt__Cluster__Node *n) {
  if (!n || !n->host || !n->host[0] || !n->port || n->port > UINT16_MAX || !n->incarnation)
    return 0;
  return strnlen(n->host, AKT_HOST_MAX) < AKT_HOST_MAX;
}

/* Charges a datagram's bytes to the member at `addr`, if it is one. */
static akt__cl_member *charge(akt__cluster *cl, const akt_addr *addr, size_t len, int in) {
  akt__cl_member *m = akt__cl_find(cl, addr->host, addr->port);
  if (m) {
    if (in) m->bytes_in += len;
    else m->bytes_out += len;
  }
  return m;
}

int akt__cl_send(akt__cluster *cl, const akt_addr *to, akt__cl_member *m, Akt__Cluster__Packet *p,
                 uint64_t about) {
  if (!cl->dgram) return AKT_ECLOSED;
  Akt__Cluster__Node from;
  akt__cl_node_self(cl, &from);
  p->from = &from;
  size_t body = akt__cluster__packet__get_packed_size(p);
  if (AKT__CL_HEADER + body > cl->o.packet_max) {
    AKT__CL_STAT(cl, send_errors);
    return AKT_ELIMIT;
  }
  uint8_t *buf = cl->pkt;
  memcpy(buf, magic, sizeof magic);
  buf[3] = AKT__CL_FORMAT;
  size_t len = AKT__CL_HEADER + akt__cluster__packet__pack(p, buf + AKT__CL_HEADER);
  if (!(cl->o.test_flags & AKT_CLUSTER_TEST_NO_GOSSIP))
    akt__cl_piggyback(cl, buf, &len, cl->o.packet_max, about);
  if (cl->o.seal.seal) {
    size_t sealed = 0;
    int rc = cl->o.seal.seal(cl->o.seal.arg, buf, len, cl->o.packet_max + cl->o.seal.overhead,
                             &sealed);
    if (rc || sealed > cl->o.packet_max + cl->o.seal.overhead) {
      AKT__CL_STAT(cl, send_errors);
      return rc ? rc : AKT_ELIMIT;
    }
    len = sealed;
  }
  int rc = cl->b->ops->dgram_send(cl->b, cl->dgram, to, buf, len);
  if (rc) {
    AKT__CL_STAT(cl, send_errors);
    return rc;
  }
  AKT__CL_STAT(cl, packets_sent);
  cl->stats.bytes_sent += len;
  if (m) m->bytes_out += len;
  else charge(cl, to, len, 0);
  return 0;
}

/* ---- decoding --------------------------------------------------------------------------- */

typedef struct arena {
  size_t used;
  max_align_t mem[AKT__CL_ARENA / sizeof(max_align_t)];
} arena;

void *akt__cl_arena_new(void) { return malloc(sizeof(arena)); }

static void *arena_alloc(void *data, size_t size) {
  arena *a = data;
  size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (need <= sizeof a->mem - a->used) {
    void *p = (uint8_t *)a->mem + a->used;
    a->used += need;
    return p;
  }
  return malloc(size);
}

static void arena_free(void *data, void *p) {
  arena *a = data;
  uint8_t *lo = (uint8_t *)a->mem, *hi = lo + sizeof a->mem;
  if ((uint8_t *)p < lo || (uint8_t *)p >= hi) free(p);
}

/* Who an update is about (for gossiping it on). */
static int subject(const Akt__Cluster__Update *u, uint64_t *key, uint64_t *uid) {
  const Akt__Cluster__Node *n = NULL;
  switch (u->kind_case) {
    case AKT__CLUSTER__UPDATE__KIND_ALIVE: n = u->alive->node; break;
    case AKT__CLUSTER__UPDATE__KIND_SUSPECT: n = u->suspect->node; break;
    case AKT__CLUSTER__UPDATE__KIND_UNREACHABLE: n = u->unreachable->node; break;
    case AKT__CLUSTER__UPDATE__KIND_DOWN: n = u->down->node; break;
    default: return 0;
  }
  *key = akt__cl_key(n->host, (uint16_t)n->port);
  *uid = n->incarnation;
  return 1;
}

/* Applies the piggybacked updates; those that changed the view are
 * gossiped on. */
static void apply_updates(akt__cluster *cl, const Akt__Cluster__Packet *p) {
  for (size_t i = 0; i < p->n_updates && cl->phase == AKT_CLUSTER_MEMBER; i++) {
    const Akt__Cluster__Update *u = p->updates[i];
    uint64_t key, uid;
    if (akt__cl_apply(cl, u) == 1 && subject(u, &key, &uid) && cl->phase == AKT_CLUSTER_MEMBER)
      akt__cl_broadcast(cl, u, key, uid);
  }
}

/* Is the sender an identity this node knows to be down or gone (down,
 * removed, or superseded by a newer incarnation at its address)? Such a
 * node may not know: a partition kept the news from it. */
int akt__cl_is_dead(akt__cluster *cl, const Akt__Cluster__Node *n) {
  uint16_t port = (uint16_t)n->port;
  akt__cl_member *m = akt__cl_find(cl, n->host, port);
  if (m && m->uid == n->incarnation) return m->status >= AKT_MEMBER_DOWN;
  if (m && m->uid > n->incarnation) return 1;
  return akt__cl_tomb_has(cl, akt__cl_key(n->host, port), n->incarnation);
}

akt_cluster_down_reason akt__cl_down_reason(akt__cluster *cl, const Akt__Cluster__Node *n) {
  akt__cl_member *m = akt__cl_find(cl, n->host, (uint16_t)n->port);
  return m && m->uid == n->incarnation ? m->down_reason : AKT_DOWN_UNKNOWN;
}

void akt__cl_tell_down(akt__cluster *cl, const akt_addr *to, const Akt__Cluster__Node *n) {
  akt__claim c;
  Akt__Cluster__Update *ups[1] = {
      akt__cl_claim(cl, n, AKT__CLUSTER__UPDATE__KIND_DOWN, 0, akt__cl_down_reason(cl, n), &c)};
  Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
  p.updates = ups;
  p.n_updates = 1;
  akt__cl_send(cl, to, NULL, &p, 0);
}

int akt__cl_apply_own_down(akt__cluster *cl, Akt__Cluster__Update *const *ups, size_t n) {
  for (size_t i = 0; i < n && cl->phase == AKT_CLUSTER_MEMBER; i++) {
    const Akt__Cluster__Update *u = ups[i];
    if (u->kind_case != AKT__CLUSTER__UPDATE__KIND_DOWN || !u->down ||
        !akt__cl_node_valid(u->down->node) || u->down->node->incarnation != cl->uid ||
        u->down->node->port != cl->port || strcmp(u->down->node->host, cl->host) != 0)
      continue;
    akt__cl_apply(cl, u);
  }
  return cl->phase != AKT_CLUSTER_MEMBER;
}

static void dispatch(akt__cluster *cl, const akt_addr *from, const Akt__Cluster__Packet *p) {
  if (p->body_case == AKT__CLUSTER__PACKET__BODY_HELLO) {
    akt__cl_on_hello(cl, from, p);
    return;
  }
  if (cl->phase != AKT_CLUSTER_MEMBER) return; /* SWIM is for members */
  if (akt__cl_is_dead(cl, p->from)) {
    /* Its news is stale and its probes mean nothing: it only needs to
     * learn that it is down. Unless it says this node is down as well (two
     * sides that each downed the other): then both are, and this node,
     * out now, does not answer (an answer would be told down again). */
    if (akt__cl_apply_own_down(cl, p->updates, p->n_updates)) return;
    akt__cl_tell_down(cl, from, p->from);
    return;
  }
  akt__cl_member *m = akt__cl_find(cl, p->from->host, (uint16_t)p->from->port);
  if (!m || m->uid != p->from->incarnation) {
    /* A member this node has not heard of (it joined or restarted while we
     * were cut off, and its news went by): ask it to sync. */
    akt__cl_ask_sync(cl, from, p->from);
  }
  apply_updates(cl, p);
  if (cl->phase != AKT_CLUSTER_MEMBER) return; /* an update downed us */
  switch (p->body_case) {
    case AKT__CLUSTER__PACKET__BODY_PING: akt__cl_on_ping(cl, from, p); break;
    case AKT__CLUSTER__PACKET__BODY_PING_REQ: akt__cl_on_ping_req(cl, from, p); break;
    case AKT__CLUSTER__PACKET__BODY_ACK: akt__cl_on_ack(cl, p, 0); break;
    case AKT__CLUSTER__PACKET__BODY_NACK: akt__cl_on_ack(cl, p, 1); break;
    default: break; /* pure gossip */
  }
}

void akt__cl_on_datagram(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                         void *data) {
  (void)d;
  akt__cluster *cl = data;
  pthread_mutex_lock(&cl->mu);
  if (cl->phase == AKT_CLUSTER_IDLE || cl->stopping) goto out;
  AKT__CL_STAT(cl, packets_received);
  cl->stats.bytes_received += len;
  if (len < AKT__CL_HEADER || len > cl->o.packet_max + cl->o.seal.overhead ||
      memcmp(buf, magic, sizeof magic) != 0 || buf[3] != AKT__CL_FORMAT) {
    AKT__CL_STAT(cl, decode_errors);
    goto out;
  }
  size_t off = AKT__CL_HEADER, plen = len - AKT__CL_HEADER;
  if (cl->o.seal.open &&
      (cl->o.seal.open(cl->o.seal.arg, buf, len, &off, &plen) != 0 || off < AKT__CL_HEADER ||
       off > len || plen > len - off)) {
    AKT__CL_STAT(cl, decode_errors);
    goto out;
  }
  arena *a = cl->arena;
  a->used = 0;
  ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
  Akt__Cluster__Packet *p = akt__cluster__packet__unpack(&alloc, plen, buf + off);
  if (!p || !akt__cl_node_valid(p->from)) {
    AKT__CL_STAT(cl, decode_errors);
  } else {
    akt_addr claimed = {.port = (uint16_t)p->from->port};
    snprintf(claimed.host, sizeof claimed.host, "%s", p->from->host);
    akt__cl_member *m = charge(cl, &claimed, len, 1);
    if (m && !m->self && m->uid == p->from->incarnation)
      m->heard_at = cl->last_heard = akt__cl_now(cl);
    dispatch(cl, from, p);
  }
  if (p) akt__cluster__packet__free_unpacked(p, &alloc);
out:
  pthread_mutex_unlock(&cl->mu);
}
