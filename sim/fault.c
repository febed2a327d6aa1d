/* akt — link faults: latency distributions, the fault stream, and the
 * calls that configure, cut, heal, clog and hold links.
 *
 * This file decides *what* a link does; stream_link.c and dgram.c apply it
 * where a unit is handed to the link. Every random draw here comes from the
 * world's fault stream (seeded from "faults"), and only when a fault asks
 * for one, so a run without faults draws nothing and a run with them never
 * shifts the scheduler's or the nodes' streams. Every call that changes a
 * link is a trace record (kind net, on the `from` node, or the world when
 * it names no node): link, cut, heal, partition, clog, hold, release.
 */
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "sim/net.h"

/* The partition record's text: longer (many nodes, long names) is cut. */
#define PARTITION_TEXT_MAX 1024
#define PPM 1000000u

/* ---- draws ------------------------------------------------------------------ */

int akt__sim_fault_draw(akt_sim_world *w, uint32_t ppm) {
  if (ppm == 0) return 0;
  return akt__rng_below(&w->fault_rng, PPM) < ppm;
}

uint64_t akt__sim_fault_below(akt_sim_world *w, uint64_t max) {
  if (max == 0) return 0;
  if (max == UINT64_MAX) return akt__rng_next(&w->fault_rng);
  return akt__rng_below(&w->fault_rng, max + 1);
}

/* -ln(u) for u in (0, 1], with IEEE basic operations only (no libm), so
 * that a draw gives the same bits wherever the simulator runs: u = m * 2^-e
 * with m in [0.5, 1], then ln m = 2 atanh((m - 1) / (m + 1)) by its series,
 * which converges fast for |z| <= 1/3. */
static double neg_log(double u) {
  static const double ln2 = 0.69314718055994530942;
  int e = 0;
  while (u < 0.5) {
    u *= 2;
    e++;
  }
  double z = (u - 1) / (u + 1), z2 = z * z, term = z, sum = 0;
  for (int k = 1; k < 64; k += 2) {
    sum += term / k;
    term *= z2;
  }
  return e * ln2 - 2 * sum;
}

uint64_t akt__sim_link_transit(akt_sim_world *w, akt__sim_link *l) {
  switch (l->kind) {
    case AKT_SIM_LATENCY_UNIFORM:
      return l->latency + akt__sim_fault_below(w, l->latency_max - l->latency);
    case AKT_SIM_LATENCY_EXPONENTIAL: {
      if (!l->latency_mean) return l->latency;
      /* 53 random bits give u in (0, 1]. */
      double u = (double)((akt__rng_next(&w->fault_rng) >> 11) + 1) * 0x1p-53;
      double x = (double)l->latency_mean * neg_log(u);
      uint64_t room = l->latency_max - l->latency;
      uint64_t extra = x >= (double)room ? room : (uint64_t)x;
      return l->latency + extra;
    }
    case AKT_SIM_LATENCY_FIXED:
    default: return l->latency;
  }
}

uint64_t akt__sim_link_departure(const akt_sim_world *w, const akt__sim_link *l) {
  return l->clog_until > w->now ? l->clog_until : w->now;
}

/* ---- helpers ---------------------------------------------------------------- */

/* The node behind `b` if it is a simulated node of `w`. */
static akt__sim_node *node_in(akt_sim_world *w, akt_backend *b) {
  if (!w || !b || akt_sim_world_of(b) != w) return NULL;
  return b->impl;
}

static void link_trace(akt_sim_world *w, const akt__sim_link *l, const char *type, int both,
                       int64_t code, uint64_t hash) {
  char text[2 * AKT_SIM_NODE_NAME_MAX + 8];
  snprintf(text, sizeof text, "%s%s%s", w->nodes[l->from]->name, both ? "<->" : "->",
           w->nodes[l->to]->name);
  akt__sim_net_trace(w, l->from, type, text, code, hash);
}

/* Checks `f` and turns it into link configuration (zeroed or NULL: a
 * perfect link with the default latency). Returns 0 or AKT_EINVAL. */
static int config_of(const akt_sim_link_faults *f, akt__sim_link *out) {
  static const akt_sim_link_faults perfect;
  if (!f) f = &perfect;
  memset(out, 0, sizeof *out);
  if (f->kind != AKT_SIM_LATENCY_FIXED && f->kind != AKT_SIM_LATENCY_UNIFORM &&
      f->kind != AKT_SIM_LATENCY_EXPONENTIAL)
    return AKT_EINVAL;
  if (f->loss_ppm > PPM || f->dup_ppm > PPM) return AKT_EINVAL;
  out->kind = f->kind;
  out->latency = f->latency ? f->latency : AKT__SIM_DEFAULT_LATENCY;
  if (f->kind == AKT_SIM_LATENCY_UNIFORM) {
    if (f->latency_max < out->latency) return AKT_EINVAL;
    out->latency_max = f->latency_max;
  } else if (f->kind == AKT_SIM_LATENCY_EXPONENTIAL) {
    uint64_t cap = f->latency_max;
    if (!cap) cap = out->latency > UINT64_MAX / 100 ? UINT64_MAX : out->latency * 100;
    if (cap < out->latency) return AKT_EINVAL;
    out->latency_max = cap;
    out->latency_mean = f->latency_mean;
  }
  out->loss_ppm = f->loss_ppm;
  out->dup_ppm = f->dup_ppm;
  out->reorder = f->reorder;
  out->capacity = f->capacity;
  return 0;
}

/* A digest of a configuration, over its fields in a fixed order. */
static uint64_t config_hash(const akt__sim_link *c) {
  uint64_t v[8] = {(uint64_t)c->kind, c->latency,  c->latency_max, c->latency_mean,
                   c->loss_ppm,       c->dup_ppm,  c->reorder,     (uint64_t)c->capacity};
  return XXH3_64bits(v, sizeof v);
}

/* Cuts `l`; a link already cut stays cut since then. */
static void link_cut(akt_sim_world *w, akt__sim_link *l) {
  if (l->cut) return;
  l->cut = 1;
  l->cut_epoch++;
  akt__sim_stream_link_cut(w, l);
}

static void link_heal(akt_sim_world *w, akt__sim_link *l) {
  if (!l || !l->cut) return;
  l->cut = 0;
  akt__sim_stream_link_open(w, l);
}

/* ---- configuration ----------------------------------------------------------- */

int akt_sim_link_set(akt_sim_world *w, akt_backend *from, akt_backend *to,
                     const akt_sim_link_faults *f) {
  akt__sim_node *a = node_in(w, from), *b = node_in(w, to);
  if (!a || !b) return AKT_EINVAL;
  akt__sim_link cfg;
  if (config_of(f, &cfg)) return AKT_EINVAL;
  akt__sim_link *l = akt__sim_link_get(w, a->index, b->index);
  if (!l) return AKT_ENOMEM;
  akt__sim_link_configure(l, &cfg);
  link_trace(w, l, "link", 0, (int64_t)l->latency, config_hash(l));
  return 0;
}

int akt_sim_link_set_all(akt_sim_world *w, const akt_sim_link_faults *f) {
  if (!w) return AKT_EINVAL;
  akt__sim_link cfg;
  if (config_of(f, &cfg)) return AKT_EINVAL;
  akt__sim_net *net = akt__sim_net_get(w);
  if (!net) return AKT_ENOMEM;
  akt__sim_link_configure(&net->defaults, &cfg);
  for (size_t i = 0; i < net->nlinks; i++) akt__sim_link_configure(net->links[i], &cfg);
  akt__sim_fault_trace(w, NULL, "link", "*", (int64_t)cfg.latency, config_hash(&cfg));
  return 0;
}

/* ---- partitions -------------------------------------------------------------- */

int akt_sim_cut(akt_sim_world *w, akt_backend *from, akt_backend *to, int both_ways) {
  akt__sim_node *a = node_in(w, from), *b = node_in(w, to);
  if (!a || !b) return AKT_EINVAL;
  akt__sim_link *ab = akt__sim_link_get(w, a->index, b->index);
  akt__sim_link *ba = both_ways ? akt__sim_link_get(w, b->index, a->index) : NULL;
  if (!ab || (both_ways && !ba)) return AKT_ENOMEM;
  link_trace(w, ab, "cut", both_ways, 0, 0);
  link_cut(w, ab);
  if (ba) link_cut(w, ba);
  return 0;
}

int akt_sim_partition(akt_sim_world *w, const uint32_t *group, size_t n) {
  if (!w || !group || n != w->nnodes) return AKT_EINVAL;
  /* Create every cross-group link first, so that nothing fails halfway. */
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < n; j++)
      if (group[i] != group[j] && !akt__sim_link_get(w, i, j)) return AKT_ENOMEM;
  /* The record names the sides: "node0,node1|node2", each group in the
   * order of its first node (a reader of the trace needs no node order). */
  char text[PARTITION_TEXT_MAX];
  size_t pos = 0;
  for (size_t i = 0; i < n && pos < sizeof text; i++) {
    size_t first = 0;
    while (group[first] != group[i]) first++;
    if (first < i) continue; /* its group is written already */
    for (size_t j = i; j < n && pos < sizeof text; j++)
      if (group[j] == group[i])
        pos += (size_t)snprintf(text + pos, sizeof text - pos, "%s%s",
                                j == i ? (i ? "|" : "") : ",", w->nodes[j]->name);
  }
  akt__sim_fault_trace(w, NULL, "partition", n ? text : "-", (int64_t)n,
                       XXH3_64bits(group, n * sizeof *group));
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < n; j++) {
      if (i == j) continue;
      if (group[i] != group[j])
        link_cut(w, akt__sim_link_find(w, i, j));
      else
        link_heal(w, akt__sim_link_find(w, i, j));
    }
  return 0;
}

int akt_sim_heal(akt_sim_world *w, akt_backend *from, akt_backend *to) {
  if (!w) return AKT_EINVAL;
  if (!from && !to) {
    akt__sim_fault_trace(w, NULL, "heal", "*", 0, 0);
    if (!w->net) return 0;
    for (size_t i = 0; i < w->net->nlinks; i++) link_heal(w, w->net->links[i]);
    return 0;
  }
  akt__sim_node *a = node_in(w, from), *b = node_in(w, to);
  if (!a || !b) return AKT_EINVAL;
  char text[2 * AKT_SIM_NODE_NAME_MAX + 8];
  snprintf(text, sizeof text, "%s<->%s", a->name, b->name);
  akt__sim_net_trace(w, a->index, "heal", text, 0, 0);
  link_heal(w, akt__sim_link_find(w, a->index, b->index));
  link_heal(w, akt__sim_link_find(w, b->index, a->index));
  return 0;
}

/* ---- clogs and holds ----------------------------------------------------------- */

static void clog_link(akt__sim_link *l, uint64_t until) {
  if (l->clog_until < until) l->clog_until = until;
}

int akt_sim_clog(akt_sim_world *w, akt_backend *from, akt_backend *to, akt_duration d) {
  akt__sim_node *a = node_in(w, from), *b = to ? node_in(w, to) : NULL;
  if (!a || (to && !b)) return AKT_EINVAL;
  uint64_t until = akt__sim_net_after(w, d);
  if (b) {
    akt__sim_link *l = akt__sim_link_get(w, a->index, b->index);
    if (!l) return AKT_ENOMEM;
    link_trace(w, l, "clog", 0, (int64_t)d, 0);
    clog_link(l, until);
    return 0;
  }
  /* Every link from and to `from` but its loopback, existing or not. */
  for (uint32_t j = 0; j < w->nnodes; j++)
    if (j != a->index &&
        (!akt__sim_link_get(w, a->index, j) || !akt__sim_link_get(w, j, a->index)))
      return AKT_ENOMEM;
  char text[AKT_SIM_NODE_NAME_MAX + 8];
  snprintf(text, sizeof text, "%s<->*", a->name);
  akt__sim_net_trace(w, a->index, "clog", text, (int64_t)d, 0);
  for (uint32_t j = 0; j < w->nnodes; j++) {
    if (j == a->index) continue;
    clog_link(akt__sim_link_find(w, a->index, j), until);
    clog_link(akt__sim_link_find(w, j, a->index), until);
  }
  return 0;
}

int akt_sim_hold(akt_sim_world *w, akt_backend *from, akt_backend *to) {
  akt__sim_node *a = node_in(w, from), *b = node_in(w, to);
  if (!a || !b) return AKT_EINVAL;
  akt__sim_link *l = akt__sim_link_get(w, a->index, b->index);
  if (!l) return AKT_ENOMEM;
  link_trace(w, l, "hold", 0, 0, 0);
  l->held = 1;
  return 0;
}

int akt_sim_release(akt_sim_world *w, akt_backend *from, akt_backend *to) {
  akt__sim_node *a = node_in(w, from), *b = node_in(w, to);
  if (!a || !b) return AKT_EINVAL;
  akt__sim_link *l = akt__sim_link_find(w, a->index, b->index);
  if (!l || !l->held) return 0;
  link_trace(w, l, "release", 0, 0, 0);
  l->held = 0;
  akt__sim_dgram_link_release(w, l);
  akt__sim_stream_link_open(w, l);
  return 0;
}
