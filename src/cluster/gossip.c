/* akt — dissemination: the queue of updates to gossip, piggybacking, and
 * the gossip tick.
 *
 * As memberlist's TransmitLimitedQueue: each update is sent about
 * retransmit_mult * ceil(log10(n + 1)) times — enough for an epidemic to
 * reach every member with high probability (Demers et al., 1987) — on the
 * probes and acks this node sends anyway and, every gossip interval, in
 * packets of their own to gossip_nodes random members. The least
 * transmitted updates go first, the newest first among equals; a newer
 * update about a member replaces the queued one. The queue is bounded
 * (AKT__CL_MAX_BROADCASTS): past it the most transmitted update is
 * dropped, and counted.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"
#include "src/util/assert.h"

#define UPDATES_TAG 0x7a /* Packet.updates: field 15, length-delimited */

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

uint32_t akt__cl_retransmit_limit(akt__cluster *cl) {
  /* n counts every member in the table, down ones too, as memberlist's
   * node count does: news of a down member must reach all the others. */
  uint32_t n = cl->nmembers, digits = 0;
  for (uint64_t p = 1; p < (uint64_t)n + 1; p *= 10) digits++; /* ceil(log10(n + 1)) */
  if (!digits) digits = 1;
  return cl->o.retransmit_mult * digits;
}

static void bq_remove(akt__cluster *cl, uint32_t i) {
  free(cl->bq[i]);
  cl->bq[i] = cl->bq[--cl->nbq];
}

void akt__cl_broadcast(akt__cluster *cl, const Akt__Cluster__Update *u, uint64_t key,
                       uint64_t uid) {
  if (cl->o.test_flags & AKT_CLUSTER_TEST_NO_GOSSIP) return;
  size_t len = akt__cluster__update__get_packed_size(u);
  if (len + AKT__CL_UPDATE_ROOM > cl->o.packet_max) {
    /* It would never fit a packet (packet_max set below what the largest
     * metadata needs): it travels by sync only. */
    AKT__CL_STAT(cl, broadcasts_dropped);
    return;
  }
  for (uint32_t i = 0; i < cl->nbq; i++) {
    if (cl->bq[i]->key == key && cl->bq[i]->uid == uid) {
      bq_remove(cl, i);
      break;
    }
  }
  if (cl->nbq >= AKT__CL_MAX_BROADCASTS) {
    uint32_t worst = 0;
    for (uint32_t i = 1; i < cl->nbq; i++)
      if (cl->bq[i]->transmits > cl->bq[worst]->transmits ||
          (cl->bq[i]->transmits == cl->bq[worst]->transmits &&
           cl->bq[i]->order < cl->bq[worst]->order))
        worst = i;
    bq_remove(cl, worst);
    AKT__CL_STAT(cl, broadcasts_dropped);
  }
  akt__bcast *b = malloc(sizeof *b + len);
  if (!b) {
    AKT__CL_STAT(cl, broadcasts_dropped);
    return;
  }
  b->key = key;
  b->uid = uid;
  b->transmits = 0;
  b->order = ++cl->bq_order;
  b->len = len;
  akt__cluster__update__pack(u, b->data);
  cl->bq[cl->nbq++] = b;
}

int akt__cl_bcast_pending(akt__cluster *cl, uint64_t key, uint64_t uid) {
  for (uint32_t i = 0; i < cl->nbq; i++)
    if (cl->bq[i]->key == key && cl->bq[i]->uid == uid) return 1;
  return 0;
}

void akt__cl_bq_free(akt__cluster *cl) {
  for (uint32_t i = 0; i < cl->nbq; i++) free(cl->bq[i]);
  cl->nbq = 0;
}

/* Index of the best update that fits `room` bytes (as a field), or -1. */
static int pick(akt__cluster *cl, size_t room, const uint8_t *taken, uint64_t about) {
  int best = -1;
  for (uint32_t i = 0; i < cl->nbq; i++) {
    akt__bcast *b = cl->bq[i];
    if (taken[i] || 1 + varint_size(b->len) + b->len > room) continue;
    if (best < 0) {
      best = (int)i;
      continue;
    }
    akt__bcast *c = cl->bq[best];
    int b_about = about && b->key == about, c_about = about && c->key == about;
    if (b_about != c_about) {
      if (b_about) best = (int)i;
      continue;
    }
    if (b->transmits < c->transmits || (b->transmits == c->transmits && b->order > c->order))
      best = (int)i;
  }
  return best;
}

void akt__cl_piggyback(akt__cluster *cl, uint8_t *out, size_t *len, size_t cap, uint64_t about) {
  if (!cl->nbq) return;
  uint8_t taken[AKT__CL_MAX_BROADCASTS];
  memset(taken, 0, cl->nbq);
  uint32_t limit = akt__cl_retransmit_limit(cl);
  int idx;
  uint32_t picked[AKT__CL_MAX_BROADCASTS], npicked = 0;
  while ((idx = pick(cl, cap - *len, taken, about)) >= 0) {
    akt__bcast *b = cl->bq[idx];
    uint8_t *p = out + *len;
    *p++ = UPDATES_TAG;
    p = put_varint(p, b->len);
    memcpy(p, b->data, b->len);
    *len = (size_t)(p + b->len - out);
    taken[idx] = 1;
    picked[npicked++] = (uint32_t)idx;
  }
  /* Count the transmissions; drop what was sent often enough (highest
   * index first, so the swap-removal does not move a picked entry). */
  for (uint32_t i = 0; i < npicked; i++) cl->bq[picked[i]]->transmits++;
  for (uint32_t i = cl->nbq; i-- > 0;)
    if (taken[i] && cl->bq[i]->transmits >= limit) bq_remove(cl, i);
}

static int gossip_target(const akt__cl_member *m, const void *arg) {
  (void)arg;
  return !m->self && m->status <= AKT_MEMBER_LEAVING;
}

void akt__cl_gossip(akt__cluster *cl) {
  if (!cl->nbq || !cl->self) return;
  /* Random members: not us, not down or exiting (a down node learns it is
   * down when it next contacts a member: codec.c), so news is not wasted on
   * them; unreachable ones included, as memberlist gossips to the dead for
   * a while: a member wrongly declared unreachable must hear it to
   * refute. */
  uint32_t cand[AKT__CL_MAX_GOSSIP_NODES];
  uint32_t ncand = akt__cl_pick(cl, gossip_target, NULL, cl->o.gossip_nodes, cand);
  for (uint32_t i = 0; i < ncand && cl->nbq; i++) {
    akt__cl_member *m = cl->slots[cand[i]];
    akt_addr to = akt__cl_addr_of(m);
    Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
    akt__cl_send(cl, &to, m, &p, 0);
  }
}
