/* akt — simulated UDP: datagram endpoints over simulated links.
 *
 * A datagram in flight is a packet with one world event; it finds its
 * endpoint when it arrives (by node and port), so an endpoint bound while
 * it travels receives it and one closed meanwhile does not. Nothing in
 * flight points at an endpoint, which is why dgram_close frees it at once.
 * Packets are listed on the world's network state until they arrive, so a
 * world freed with datagrams in flight frees them.
 *
 * Faults, applied in akt__sim_dgram_send in this order (draws only for the
 * faults a link has): a cut link drops the datagram; loss drops it; then it
 * is duplicated (dup_ppm: a second, independent copy); each copy is held
 * (the link is held: it waits, with no event, until release) or leaves:
 * over the link's capacity it is dropped, otherwise it arrives after the
 * link's latency plus a random extra delay in [0, reorder]. Copies sent
 * during a clog leave when it ends, and those and released copies keep
 * their order (no reorder delay, arrivals never decrease). A datagram
 * sent to a node that is down, or that restarts before it arrives, is
 * dropped when it arrives: it was meant for an incarnation that is gone.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "sim/net.h"

struct akt_dgram {
  akt__sim_dlink link; /* on its node's dgram list */
  akt_sim_world *w;
  uint32_t node;
  uint32_t port;
  akt_dgram_fn on_recv;
  void *data;
};

typedef struct pkt {
  akt__sim_dlink link; /* on net->pkts, in the order sent */
  akt_sim_world *w;
  akt__sim_link *l;    /* the link it crosses */
  uint32_t from, to;   /* node indexes */
  uint32_t from_port, to_port;
  uint32_t to_incarnation; /* of the receiver when sent */
  unsigned held : 1;   /* parked by a hold: no event yet */
  size_t len;
  uint8_t data[];
} pkt;

#define NODE(b) ((akt__sim_node *)(b)->impl)

static akt_dgram *dgram_find(akt__sim_netnode *nn, uint32_t port) {
  for (akt__sim_dlink *e = nn->dgrams.head; e; e = e->next)
    if (((akt_dgram *)e)->port == port) return (akt_dgram *)e;
  return NULL;
}

/* Takes `p` off the world's list and frees it. */
static void pkt_free(pkt *p) {
  akt__sim_dlist_remove(&p->w->net->pkts, &p->link);
  p->w->net->npkts--;
  free(p);
}

/* Records `type` about `p` on node `at`. */
static void pkt_trace(const pkt *p, uint32_t at, const char *type) {
  char text[2 * AKT_SIM_NODE_NAME_MAX + 32];
  akt__sim_net_ends(p->w, text, sizeof text, p->from, p->from_port, p->to, p->to_port);
  akt__sim_net_trace(p->w, at, type, text, (int64_t)p->len, XXH3_64bits(p->data, p->len));
}

static void pkt_arrive(void *arg, uint64_t cookie) {
  (void)cookie;
  pkt *p = arg;
  akt_sim_world *w = p->w;
  akt__sim_dlist_remove(&w->net->pkts, &p->link);
  w->net->npkts--;
  p->l->inflight -= p->len;
  char text[2 * AKT_SIM_NODE_NAME_MAX + 32];
  akt__sim_net_ends(w, text, sizeof text, p->from, p->from_port, p->to, p->to_port);
  uint64_t hash = XXH3_64bits(p->data, p->len);
  const akt__sim_node *dest = w->nodes[p->to];
  akt__sim_netnode *nn = akt__sim_netnode_get(w, p->to);
  akt_dgram *d = nn && !dest->down && dest->incarnation == p->to_incarnation
                     ? dgram_find(nn, p->to_port)
                     : NULL;
  if (!d) {
    w->net->stats.dgram_dropped++;
    akt__sim_net_trace(w, p->to, "dgram-drop", text, (int64_t)p->len, hash);
  } else {
    akt__sim_net_trace(w, p->to, "dgram-deliver", text, (int64_t)p->len, hash);
    akt_addr from = {.port = (uint16_t)p->from_port};
    snprintf(from.host, sizeof from.host, "%s", w->nodes[p->from]->name);
    d->on_recv(d, &from, p->data, p->len, d->data);
  }
  free(p);
}

int akt__sim_dgram_open(akt_backend *b, const akt_addr *addr, akt_dgram_fn on_recv, void *data,
                        akt_dgram **out) {
  akt__sim_node *n = NODE(b);
  if (!addr || !on_recv || !out || !akt__sim_net_host_ok(addr)) return AKT_EINVAL;
  if (!akt__sim_net_is_local(n, addr->host)) return AKT_EINVAL;
  akt__sim_netnode *nn = akt__sim_netnode_get(n->world, n->index);
  if (!nn) return AKT_ENOMEM;
  uint32_t port = addr->port;
  if (port == 0) {
    for (port = AKT__SIM_PORT_AUTO; port <= UINT16_MAX && dgram_find(nn, port); port++) {
    }
    if (port > UINT16_MAX) return AKT_EEXIST;
  } else if (dgram_find(nn, port)) {
    return AKT_EEXIST;
  }
  akt_dgram *d = calloc(1, sizeof *d);
  if (!d) return AKT_ENOMEM;
  d->w = n->world;
  d->node = n->index;
  d->port = port;
  d->on_recv = on_recv;
  d->data = data;
  akt__sim_dlist_push(&nn->dgrams, &d->link);
  char text[AKT_SIM_NODE_NAME_MAX + 16];
  snprintf(text, sizeof text, "%s:%u", n->name, (unsigned)port);
  akt__sim_net_trace(n->world, n->index, "dgram-open", text, 0, 0);
  *out = d;
  return 0;
}

int akt__sim_dgram_addr(akt_backend *b, akt_dgram *d, akt_addr *out) {
  (void)b;
  if (!d || !out) return AKT_EINVAL;
  snprintf(out->host, sizeof out->host, "%s", d->w->nodes[d->node]->name);
  out->port = (uint16_t)d->port;
  return 0;
}

/* Puts `p` on the wire. A `released` datagram (held until now) is not
 * checked against the capacity (a hold loses nothing) and, as a clogged
 * one, may not arrive before an earlier ordered datagram of its link.
 * Otherwise, over the capacity, it is dropped. */
static void pkt_depart(pkt *p, int released) {
  akt_sim_world *w = p->w;
  akt__sim_link *l = p->l;
  int ordered = released;
  if (!released && l->capacity &&
      (l->inflight >= l->capacity || p->len > l->capacity - l->inflight)) {
    l->dropped++;
    w->net->stats.dgram_faults++;
    pkt_trace(p, p->from, "drop-capacity");
    pkt_free(p);
    return;
  }
  uint64_t dep = akt__sim_link_departure(w, l);
  if (dep > w->now) ordered = 1; /* clogged */
  uint64_t at = akt__sim_net_after(w, dep - w->now);
  uint64_t t = akt__sim_link_transit(w, l);
  at = t > UINT64_MAX - at ? UINT64_MAX : at + t;
  if (ordered) {
    if (at < l->dgram_floor) at = l->dgram_floor;
    l->dgram_floor = at;
  } else if (l->reorder) {
    uint64_t extra = akt__sim_fault_below(w, l->reorder);
    at = extra > UINT64_MAX - at ? UINT64_MAX : at + extra;
  }
  l->inflight += p->len;
  akt__sim_net_push(w, p->to, at, pkt_arrive, p, 0);
}

int akt__sim_dgram_send(akt_backend *b, akt_dgram *d, const akt_addr *to, const uint8_t *buf,
                        size_t len) {
  (void)b;
  if (!d || !to || (!buf && len > 0) || !akt__sim_net_host_ok(to)) return AKT_EINVAL;
  akt_sim_world *w = d->w;
  akt__sim_net *net = w->net;
  if (len > AKT__SIM_DGRAM_MAX) {
    net->stats.dgram_too_big++;
    return AKT_ELIMIT;
  }
  uint64_t hash = XXH3_64bits(buf, len);
  int64_t dest = akt__sim_net_find_node(w, to->host);
  if (dest < 0 || net->npkts >= AKT__SIM_DGRAM_INFLIGHT_MAX) {
    /* No such host: the datagram goes nowhere, as UDP into the void does.
     * Too many in flight: lost, as in a full router queue. */
    char text[AKT_SIM_NODE_NAME_MAX + AKT_HOST_MAX + 32];
    snprintf(text, sizeof text, "%s:%u->%s:%u", w->nodes[d->node]->name, (unsigned)d->port,
             to->host, (unsigned)to->port);
    if (dest < 0)
      net->stats.dgram_dropped++;
    else
      net->stats.dgram_overflow++;
    akt__sim_net_trace(w, d->node, "dgram-drop", text, (int64_t)len, hash);
    return 0;
  }
  akt__sim_link *l = akt__sim_link_get(w, d->node, (uint32_t)dest);
  /* Two packets at most (a duplicate), allocated first: after this nothing
   * fails. */
  pkt *p[2] = {NULL, NULL};
  for (int i = 0; i < 2 && l; i++) {
    p[i] = malloc(sizeof *p[i] + len);
    if (!p[i]) break;
    p[i]->w = w;
    p[i]->l = l;
    p[i]->from = d->node;
    p[i]->from_port = d->port;
    p[i]->to = (uint32_t)dest;
    p[i]->to_port = to->port;
    p[i]->to_incarnation = w->nodes[dest]->incarnation;
    p[i]->held = 0;
    p[i]->len = len;
    if (len) memcpy(p[i]->data, buf, len);
  }
  if (!p[0] || !p[1]) {
    free(p[0]);
    free(p[1]);
    return AKT_ENOMEM;
  }
  l->units++;
  l->bytes += len;
  const char *drop = NULL;
  int copies = 1;
  if (l->cut) {
    drop = "drop-cut";
  } else if (akt__sim_fault_draw(w, l->loss_ppm)) {
    drop = "loss";
    l->lost++;
  } else if (akt__sim_fault_draw(w, l->dup_ppm) && net->npkts + 1 < AKT__SIM_DGRAM_INFLIGHT_MAX) {
    copies = 2;
    l->dups++;
  }
  for (int i = 0; i < copies; i++) {
    akt__sim_dlist_push(&net->pkts, &p[i]->link);
    net->npkts++;
  }
  pkt_trace(p[0], d->node, "dgram-send");
  if (drop) {
    if (l->cut) l->dropped++;
    net->stats.dgram_faults++;
    pkt_trace(p[0], d->node, drop);
    pkt_free(p[0]);
    free(p[1]);
    return 0;
  }
  if (copies == 2)
    pkt_trace(p[0], d->node, "dup");
  else
    free(p[1]);
  for (int i = 0; i < copies; i++) {
    if (l->held)
      p[i]->held = 1;
    else
      pkt_depart(p[i], 0);
  }
  return 0;
}

void akt__sim_dgram_link_release(akt_sim_world *w, akt__sim_link *l) {
  if (l->held) return;
  /* The list is in the order sent; departing never frees another packet. */
  for (akt__sim_dlink *e = w->net->pkts.head, *next; e; e = next) {
    next = e->next;
    pkt *p = (pkt *)e;
    if (!p->held || p->l != l) continue;
    p->held = 0;
    if (l->cut) {
      l->dropped++;
      w->net->stats.dgram_faults++;
      pkt_trace(p, p->from, "drop-cut");
      pkt_free(p);
    } else {
      pkt_depart(p, 1);
    }
  }
}

void akt__sim_dgram_crash(akt_sim_world *w, uint32_t index) {
  akt__sim_net *net = w->net;
  if (index >= net->nnodes) return;
  akt__sim_netnode *nn = &net->nodes[index];
  while (nn->dgrams.head) {
    akt_dgram *d = (akt_dgram *)nn->dgrams.head;
    akt__sim_dlist_remove(&nn->dgrams, &d->link);
    char text[AKT_SIM_NODE_NAME_MAX + 16];
    snprintf(text, sizeof text, "%s:%u", w->nodes[index]->name, (unsigned)d->port);
    akt__sim_net_trace(w, index, "dgram-close", text, 0, 0);
    free(d);
  }
}

void akt__sim_dgram_close(akt_backend *b, akt_dgram *d) {
  (void)b;
  if (!d) return;
  akt_sim_world *w = d->w;
  akt__sim_dlist_remove(&w->net->nodes[d->node].dgrams, &d->link);
  char text[AKT_SIM_NODE_NAME_MAX + 16];
  snprintf(text, sizeof text, "%s:%u", w->nodes[d->node]->name, (unsigned)d->port);
  akt__sim_net_trace(w, d->node, "dgram-close", text, 0, 0);
  free(d);
}

void akt__sim_dgram_free_all(akt__sim_net *net) {
  while (net->pkts.head) {
    akt__sim_dlink *e = net->pkts.head;
    akt__sim_dlist_remove(&net->pkts, e);
    net->npkts--;
    free(e);
  }
  for (size_t i = 0; i < net->nnodes; i++) {
    akt__sim_netnode *nn = &net->nodes[i];
    while (nn->dgrams.head) {
      akt__sim_dlink *e = nn->dgrams.head;
      akt__sim_dlist_remove(&nn->dgrams, e);
      free(e);
    }
  }
}
