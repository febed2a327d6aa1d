/* akt — simulated links: the network state of a world, links, per-node
 * tables, addresses and trace records shared by streams (stream.c) and
 * datagrams (dgram.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "sim/net.h"

akt__sim_net *akt__sim_net_get(akt_sim_world *w) {
  if (w->net) return w->net;
  akt__sim_net *net = calloc(1, sizeof *net);
  if (!net) return NULL;
  net->defaults.latency = AKT__SIM_DEFAULT_LATENCY;
  net->write_limit = AKT__SIM_WRITE_LIMIT;
  w->net = net;
  return net;
}

akt__sim_netnode *akt__sim_netnode_get(akt_sim_world *w, uint32_t index) {
  akt__sim_net *net = akt__sim_net_get(w);
  if (!net) return NULL;
  if (index >= net->nnodes) {
    size_t n = w->nnodes > index ? w->nnodes : (size_t)index + 1;
    akt__sim_netnode *nodes = realloc(net->nodes, n * sizeof *nodes);
    if (!nodes) return NULL;
    memset(nodes + net->nnodes, 0, (n - net->nnodes) * sizeof *nodes);
    for (size_t i = net->nnodes; i < n; i++) nodes[i].next_ephemeral = AKT__SIM_PORT_EPHEMERAL;
    net->nodes = nodes;
    net->nnodes = n;
  }
  return &net->nodes[index];
}

static uint64_t link_key(uint32_t from, uint32_t to) { return (uint64_t)from << 32 | to; }

/* The position of (from, to) in net->links: its index if *found, else
 * where it goes. */
static size_t link_search(const akt__sim_net *net, uint32_t from, uint32_t to, int *found) {
  uint64_t key = link_key(from, to);
  size_t lo = 0, hi = net->nlinks;
  *found = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t k = link_key(net->links[mid]->from, net->links[mid]->to);
    if (k == key) {
      *found = 1;
      return mid;
    }
    if (k < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

akt__sim_link *akt__sim_link_find(const akt_sim_world *w, uint32_t from, uint32_t to) {
  int found;
  if (!w->net) return NULL;
  size_t i = link_search(w->net, from, to, &found);
  return found ? w->net->links[i] : NULL;
}

akt__sim_link *akt__sim_link_get(akt_sim_world *w, uint32_t from, uint32_t to) {
  akt__sim_net *net = akt__sim_net_get(w);
  if (!net) return NULL;
  int found;
  size_t lo = link_search(net, from, to, &found);
  if (found) return net->links[lo];
  if (net->nlinks == net->caplinks) {
    size_t cap = net->caplinks ? net->caplinks * 2 : 16;
    akt__sim_link **links = realloc(net->links, cap * sizeof *links);
    if (!links) return NULL;
    net->links = links;
    net->caplinks = cap;
  }
  akt__sim_link *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  akt__sim_link_configure(l, &net->defaults);
  l->from = from;
  l->to = to;
  memmove(net->links + lo + 1, net->links + lo, (net->nlinks - lo) * sizeof *net->links);
  net->links[lo] = l;
  net->nlinks++;
  return l;
}

akt__sim_link *akt__sim_link_between(akt_backend *from, akt_backend *to) {
  akt_sim_world *w = akt_sim_world_of(from);
  if (!w || akt_sim_world_of(to) != w) return NULL;
  const akt__sim_node *a = from->impl, *b = to->impl;
  return akt__sim_link_get(w, a->index, b->index);
}

void akt__sim_link_configure(akt__sim_link *dst, const akt__sim_link *src) {
  dst->latency = src->latency;
  dst->kind = src->kind;
  dst->latency_max = src->latency_max;
  dst->latency_mean = src->latency_mean;
  dst->loss_ppm = src->loss_ppm;
  dst->dup_ppm = src->dup_ppm;
  dst->reorder = src->reorder;
  dst->capacity = src->capacity;
}

void akt__sim_link_name(const akt_sim_world *w, const akt__sim_link *l, char *buf, size_t size) {
  snprintf(buf, size, "%s->%s", w->nodes[l->from]->name, w->nodes[l->to]->name);
}

int64_t akt__sim_net_find_node(const akt_sim_world *w, const char *host) {
  for (size_t i = 0; i < w->nnodes; i++)
    if (strcmp(w->nodes[i]->name, host) == 0) return (int64_t)i;
  return -1;
}

int akt__sim_net_is_local(const akt__sim_node *n, const char *host) {
  return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, n->name) == 0;
}

int akt__sim_net_host_ok(const akt_addr *a) { return memchr(a->host, '\0', AKT_HOST_MAX) != NULL; }

void akt__sim_net_ends(const akt_sim_world *w, char *buf, size_t size, uint32_t from,
                       uint32_t fport, uint32_t to, uint32_t tport) {
  snprintf(buf, size, "%s:%u->%s:%u", w->nodes[from]->name, (unsigned)fport, w->nodes[to]->name,
           (unsigned)tport);
}

void akt__sim_net_trace(akt_sim_world *w, uint32_t at, const char *type, const char *text,
                        int64_t code, uint64_t hash) {
  akt_event ev = {.kind = AKT_EV_NET, .type = type, .text = text, .code = code, .hash = hash};
  akt__sim_record(w, w->nodes[at], &ev);
}

void akt__sim_net_push(akt_sim_world *w, uint32_t node, uint64_t at, akt_timer_fn fn, void *arg,
                       uint64_t cookie) {
  akt__sim_event ev = {.time = at,
                       .node = node == AKT__SIM_WORLD_EVENT ? NULL : w->nodes[node],
                       .fn = fn,
                       .arg = arg,
                       .cookie = cookie};
  if (akt__sim_push_event(w, &ev) != 0) {
    fprintf(stderr, "akt-sim: out of memory scheduling a network event\n");
    abort();
  }
}

uint64_t akt__sim_net_after(const akt_sim_world *w, uint64_t d) {
  return d >= UINT64_MAX - w->now ? UINT64_MAX : w->now + d;
}

void akt__sim_net_crash(akt_sim_world *w, uint32_t index) {
  if (!w->net) return; /* nothing was ever on the network */
  akt__sim_stream_crash(w, index);
  akt__sim_dgram_crash(w, index);
}

void akt__sim_net_free(akt_sim_world *w) {
  akt__sim_net *net = w->net;
  if (!net) return;
  akt__sim_stream_free_all(net);
  akt__sim_dgram_free_all(net);
  for (size_t i = 0; i < net->nlinks; i++) free(net->links[i]);
  free(net->links);
  free(net->nodes);
  free(net);
  w->net = NULL;
}
