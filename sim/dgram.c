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
 *
 * Multicast. A group endpoint (dgram_open_group) belongs to a group — an
 * IPv4 or IPv6 multicast address, as in production — on a port, which it
 * shares with the other group endpoints of its node (a plain endpoint
 * still has a port to itself). A datagram sent to a group goes, as one
 * copy per node, to every node that has an endpoint in that group on that
 * port when it is sent, the sender's own node included (multicast
 * loopback), each copy over the link to that node with that link's faults
 * (the sender's own over its loopback link); on arrival the copy is handed
 * to every endpoint of the node then in the group on that port, in the
 * order they were opened. An endpoint opened while a copy travels gets it;
 * a node that joins while a datagram travels misses it, as a host whose
 * group membership the network has not yet heard of would.
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
  uint64_t id;         /* per world, in the order opened: delivery order in a group */
  akt_dgram_fn on_recv;
  void *data;
  char *group;         /* a group endpoint's group, else NULL */
};

typedef struct pkt {
  akt__sim_dlink link; /* on net->pkts, in the order sent */
  akt_sim_world *w;
  akt__sim_link *l;    /* the link it crosses */
  uint32_t from, to;   /* node indexes */
  uint32_t from_port, to_port;
  uint32_t to_incarnation; /* of the receiver when sent */
  unsigned held : 1;   /* parked by a hold: no event yet */
  const char *group;   /* sent to this group (it follows the payload in data), or NULL */
  size_t len;
  uint8_t data[];
} pkt;

#define NODE(b) ((akt__sim_node *)(b)->impl)

static akt_dgram *dgram_find(akt__sim_netnode *nn, uint32_t port) {
  for (akt__sim_dlink *e = nn->dgrams.head; e; e = e->next)
    if (((akt_dgram *)e)->port == port) return (akt_dgram *)e;
  return NULL;
}

/* The first endpoint of `nn` in `group` on `port` opened after `after` and
 * not after `upto` (ids), or NULL. */
static akt_dgram *group_next(akt__sim_netnode *nn, const char *group, uint32_t port,
                             uint64_t after, uint64_t upto) {
  for (akt__sim_dlink *e = nn->dgrams.head; e; e = e->next) {
    akt_dgram *d = (akt_dgram *)e;
    if (d->id > after && d->id <= upto && d->group && d->port == port && !strcmp(d->group, group))
      return d;
  }
  return NULL;
}

/* 1 if `host` is a multicast address: a dotted IPv4 quad in 224.0.0.0/4,
 * or IPv6 text in ff00::/8. No resolver: the simulator needs no sockets. */
static int is_group(const char *host) {
  if ((host[0] == 'f' || host[0] == 'F') && (host[1] == 'f' || host[1] == 'F'))
    return strchr(host, ':') != NULL;
  unsigned v[4];
  char tail;
  if (sscanf(host, "%3u.%3u.%3u.%3u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4) return 0;
  for (int i = 0; i < 4; i++)
    if (v[i] > 255) return 0;
  return v[0] >= 224 && v[0] <= 239;
}

static void dgram_free(akt_dgram *d) {
  free(d->group);
  free(d);
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
  int live = nn && !dest->down && dest->incarnation == p->to_incarnation;
  akt_dgram *d = !live ? NULL
                 : p->group ? group_next(nn, p->group, p->to_port, 0, UINT64_MAX)
                            : dgram_find(nn, p->to_port);
  if (!d) {
    w->net->stats.dgram_dropped++;
    akt__sim_net_trace(w, p->to, "dgram-drop", text, (int64_t)p->len, hash);
    free(p);
    return;
  }
  akt__sim_net_trace(w, p->to, "dgram-deliver", text, (int64_t)p->len, hash);
  akt_addr from = {.port = (uint16_t)p->from_port};
  snprintf(from.host, sizeof from.host, "%s", w->nodes[p->from]->name);
  if (!p->group) {
    d->on_recv(d, &from, p->data, p->len, d->data);
    free(p);
    return;
  }
  /* Every member of the group on the node: a callback may close or open
   * endpoints, so each next one is looked up again, by id; endpoints
   * opened by these callbacks do not get this copy. */
  uint64_t upto = w->net->next_dgram_id;
  while (d) {
    uint64_t id = d->id;
    d->on_recv(d, &from, p->data, p->len, d->data);
    d = group_next(nn, p->group, p->to_port, id, upto);
  }
  free(p);
}

/* Opens an endpoint on node n's port (0: the lowest free one from
 * AKT__SIM_PORT_AUTO) — a plain one when group is NULL, which needs the
 * port to itself, or a member of `group`, which shares it with the other
 * members of any group. */
static int dgram_open(akt__sim_node *n, uint32_t port, const char *group, akt_dgram_fn on_recv,
                      void *data, akt_dgram **out) {
  akt__sim_netnode *nn = akt__sim_netnode_get(n->world, n->index);
  if (!nn) return AKT_ENOMEM;
  if (port == 0) {
    for (port = AKT__SIM_PORT_AUTO; port <= UINT16_MAX && dgram_find(nn, port); port++) {
    }
    if (port > UINT16_MAX) return AKT_EEXIST;
  } else {
    akt_dgram *other = dgram_find(nn, port);
    if (other && (!group || !other->group)) return AKT_EEXIST;
    for (akt__sim_dlink *e = nn->dgrams.head; group && e; e = e->next)
      if (((akt_dgram *)e)->port == port && !((akt_dgram *)e)->group) return AKT_EEXIST;
  }
  akt_dgram *d = calloc(1, sizeof *d);
  if (!d) return AKT_ENOMEM;
  if (group && !(d->group = strdup(group))) {
    free(d);
    return AKT_ENOMEM;
  }
  d->w = n->world;
  d->node = n->index;
  d->port = port;
  d->id = ++n->world->net->next_dgram_id;
  d->on_recv = on_recv;
  d->data = data;
  akt__sim_dlist_push(&nn->dgrams, &d->link);
  char text[AKT_SIM_NODE_NAME_MAX + AKT_HOST_MAX + 16];
  snprintf(text, sizeof text, "%s:%u%s%s", n->name, (unsigned)port, group ? " group=" : "",
           group ? group : "");
  akt__sim_net_trace(n->world, n->index, "dgram-open", text, 0, 0);
  *out = d;
  return 0;
}

int akt__sim_dgram_open(akt_backend *b, const akt_addr *addr, akt_dgram_fn on_recv, void *data,
                        akt_dgram **out) {
  akt__sim_node *n = NODE(b);
  if (!addr || !on_recv || !out || !akt__sim_net_host_ok(addr)) return AKT_EINVAL;
  if (!akt__sim_net_is_local(n, addr->host)) return AKT_EINVAL;
  return dgram_open(n, addr->port, NULL, on_recv, data, out);
}

int akt__sim_dgram_open_group(akt_backend *b, const akt_addr *group, const char *iface,
                              akt_dgram_fn on_recv, void *data, akt_dgram **out) {
  (void)iface; /* one interface per node */
  akt__sim_node *n = NODE(b);
  if (!group || !on_recv || !out || !akt__sim_net_host_ok(group) || group->port == 0 ||
      !is_group(group->host))
    return AKT_EINVAL;
  return dgram_open(n, group->port, group->host, on_recv, data, out);
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

/* Records that a datagram from d to `to` was dropped before it left: no
 * such host (UDP into the void), no member in a group, or too many in
 * flight (a full router queue). */
static void drop_unsent(akt_dgram *d, const akt_addr *to, size_t len, uint64_t hash,
                        int overflow) {
  akt_sim_world *w = d->w;
  char text[AKT_SIM_NODE_NAME_MAX + AKT_HOST_MAX + 32];
  snprintf(text, sizeof text, "%s:%u->%s:%u", w->nodes[d->node]->name, (unsigned)d->port,
           to->host, (unsigned)to->port);
  if (overflow)
    w->net->stats.dgram_overflow++;
  else
    w->net->stats.dgram_dropped++;
  akt__sim_net_trace(w, d->node, "dgram-drop", text, (int64_t)len, hash);
}

/* Hands one datagram from d to node `dest`, port `to_port` (`group`: the
 * group it was sent to, or NULL), through the link's faults. Returns 0
 * or AKT_ENOMEM. */
static int send_to_node(akt_dgram *d, uint32_t dest, uint32_t to_port, const char *group,
                        const uint8_t *buf, size_t len) {
  akt_sim_world *w = d->w;
  akt__sim_net *net = w->net;
  size_t glen = group ? strlen(group) + 1 : 0;
  akt__sim_link *l = akt__sim_link_get(w, d->node, dest);
  /* Two packets at most (a duplicate), allocated first: after this nothing
   * fails. */
  pkt *p[2] = {NULL, NULL};
  for (int i = 0; i < 2 && l; i++) {
    p[i] = malloc(sizeof *p[i] + len + glen);
    if (!p[i]) break;
    p[i]->w = w;
    p[i]->l = l;
    p[i]->from = d->node;
    p[i]->from_port = d->port;
    p[i]->to = dest;
    p[i]->to_port = to_port;
    p[i]->to_incarnation = w->nodes[dest]->incarnation;
    p[i]->held = 0;
    p[i]->len = len;
    p[i]->group = NULL;
    if (len) memcpy(p[i]->data, buf, len);
    if (group) {
      memcpy(p[i]->data + len, group, glen);
      p[i]->group = (const char *)p[i]->data + len;
    }
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

/* One copy per node with a member of the group on the port, in node
 * order. */
static int send_to_group(akt_dgram *d, const akt_addr *to, const uint8_t *buf, size_t len,
                         uint64_t hash) {
  akt_sim_world *w = d->w;
  akt__sim_net *net = w->net;
  size_t sent = 0;
  for (uint32_t i = 0; i < net->nnodes && i < w->nnodes; i++) {
    if (!group_next(&net->nodes[i], to->host, to->port, 0, UINT64_MAX)) continue;
    if (net->npkts >= AKT__SIM_DGRAM_INFLIGHT_MAX) {
      drop_unsent(d, to, len, hash, 1);
      continue;
    }
    int rc = send_to_node(d, i, to->port, to->host, buf, len);
    if (rc) return rc;
    sent++;
  }
  if (!sent) drop_unsent(d, to, len, hash, 0);
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
  if (is_group(to->host)) return send_to_group(d, to, buf, len, hash);
  int64_t dest = akt__sim_net_find_node(w, to->host);
  if (dest < 0 || net->npkts >= AKT__SIM_DGRAM_INFLIGHT_MAX) {
    drop_unsent(d, to, len, hash, dest >= 0);
    return 0;
  }
  return send_to_node(d, (uint32_t)dest, to->port, NULL, buf, len);
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
    dgram_free(d);
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
  dgram_free(d);
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
      dgram_free((akt_dgram *)e);
    }
  }
}
