/* akt — simulated UDP: datagram endpoints over simulated links.
 *
 * A datagram in flight is a packet with one world event; it finds its
 * endpoint when it arrives (by node and port), so an endpoint bound while
 * it travels receives it and one closed meanwhile does not. Nothing in
 * flight points at an endpoint, which is why dgram_close frees it at once.
 * Packets are listed on the world's network state until they arrive, so a
 * world freed with datagrams in flight frees them.
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
  akt__sim_dlink link; /* on net->pkts */
  akt_sim_world *w;
  uint32_t from, to;   /* node indexes */
  uint32_t from_port, to_port;
  size_t len;
  uint8_t data[];
} pkt;

#define NODE(b) ((akt__sim_node *)(b)->impl)

static akt_dgram *dgram_find(akt__sim_netnode *nn, uint32_t port) {
  for (akt__sim_dlink *e = nn->dgrams.head; e; e = e->next)
    if (((akt_dgram *)e)->port == port) return (akt_dgram *)e;
  return NULL;
}

static void pkt_arrive(void *arg, uint64_t cookie) {
  (void)cookie;
  pkt *p = arg;
  akt_sim_world *w = p->w;
  akt__sim_dlist_remove(&w->net->pkts, &p->link);
  w->net->npkts--;
  char text[2 * AKT_SIM_NODE_NAME_MAX + 32];
  akt__sim_net_ends(w, text, sizeof text, p->from, p->from_port, p->to, p->to_port);
  uint64_t hash = XXH3_64bits(p->data, p->len);
  akt__sim_netnode *nn = akt__sim_netnode_get(w, p->to);
  akt_dgram *d = nn ? dgram_find(nn, p->to_port) : NULL;
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
  pkt *p = l ? malloc(sizeof *p + len) : NULL;
  if (!p) return AKT_ENOMEM;
  p->w = w;
  p->from = d->node;
  p->from_port = d->port;
  p->to = (uint32_t)dest;
  p->to_port = to->port;
  p->len = len;
  if (len) memcpy(p->data, buf, len);
  l->units++;
  l->bytes += len;
  akt__sim_dlist_push(&net->pkts, &p->link);
  net->npkts++;
  char text[2 * AKT_SIM_NODE_NAME_MAX + 32];
  akt__sim_net_ends(w, text, sizeof text, p->from, p->from_port, p->to, p->to_port);
  akt__sim_net_trace(w, d->node, "dgram-send", text, (int64_t)len, hash);
  akt__sim_net_push(w, p->to, akt__sim_net_after(w, akt__sim_link_transit(l)), pkt_arrive, p, 0);
  return 0;
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
