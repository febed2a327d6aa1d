/* akt — fault plans: resolving a scenario's timeline and drawing its random
 * profile (swarm testing: every knob comes from the seed, so two seeds try
 * different kinds of weather, not just different moments).
 */
#include "sim/scenario/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/util/rng.h"

static const char *const kind_names[AKT__FAULT_KIND_MAX] = {
    [AKT__FAULT_CRASH] = "crash",     [AKT__FAULT_RESTART] = "restart",
    [AKT__FAULT_PAUSE] = "pause",     [AKT__FAULT_RESUME] = "resume",
    [AKT__FAULT_SKEW] = "skew",       [AKT__FAULT_DRIFT] = "drift",
    [AKT__FAULT_CUT] = "cut",         [AKT__FAULT_PARTITION] = "partition",
    [AKT__FAULT_HEAL] = "heal",       [AKT__FAULT_CLOG] = "clog",
    [AKT__FAULT_SWIZZLE] = "swizzle", [AKT__FAULT_HOLD] = "hold",
    [AKT__FAULT_RELEASE] = "release", [AKT__FAULT_LINK] = "link",
};

const char *akt__fault_kind_name(akt__fault_kind k) {
  return k > 0 && k < AKT__FAULT_KIND_MAX && kind_names[k] ? kind_names[k] : "?";
}

/* The kinds a random profile may start (the others only end faults). */
#define RANDOM_KINDS                                                                      \
  ((1u << AKT__FAULT_CRASH) | (1u << AKT__FAULT_PAUSE) | (1u << AKT__FAULT_SKEW) |         \
   (1u << AKT__FAULT_DRIFT) | (1u << AKT__FAULT_CUT) | (1u << AKT__FAULT_PARTITION) |      \
   (1u << AKT__FAULT_CLOG) | (1u << AKT__FAULT_SWIZZLE) | (1u << AKT__FAULT_HOLD) |        \
   (1u << AKT__FAULT_LINK))

typedef struct knobs {
  uint32_t kinds;
  double rate;                 /* faults per virtual second */
  double down, pause, split;   /* mean seconds a node stays down / paused / a link cut */
  double clog;                 /* mean seconds of a clog */
  uint32_t loss_ppm, dup_ppm;  /* the worst a "link" fault makes every link */
  uint64_t reorder;            /* ns */
  int max_down;                /* nodes down or paused at once */
} knobs;

typedef struct builder {
  akt__plan *plan;
  const akt__scn_spec *spec;
  akt__rng rng;
  uint64_t down_until[AKT_SCENARIO_MAX_NODES]; /* crashed or paused until (0: up) */
  int overflow;
} builder;

static double unit(akt__rng *r) { return (double)(akt__rng_next(r) >> 11) * 0x1p-53; }

static double between(akt__rng *r, double lo, double hi) { return lo + (hi - lo) * unit(r); }

/* Exponentially distributed with the given mean in seconds, in ns rounded
 * to whole milliseconds (plans and shrunk scenarios stay readable). */
static uint64_t exp_ns(akt__rng *r, double mean_s) {
  double x = -log(1.0 - unit(r)) * mean_s;
  if (x > 3600) x = 3600;
  return (uint64_t)(x * 1e3 + 0.5) * AKT_MILLIS(1);
}

/* Uniform in [0, bound] rounded down to a multiple of `unit_ns`. */
static uint64_t below_in(akt__rng *r, uint64_t bound, uint64_t unit_ns) {
  return akt__rng_below(r, bound / unit_ns + 1) * unit_ns;
}

static void add(builder *b, const akt__fault *f) {
  if (b->plan->n >= AKT__SCN_MAX_FAULTS) {
    b->overflow = 1;
    return;
  }
  b->plan->faults[b->plan->n++] = *f;
}

/* Adds the end of a fault (heal, restart, ...) if it falls inside the run:
 * the quiet period ends everything that is still on. */
static void add_end(builder *b, akt__fault f, uint64_t at) {
  if (at >= b->spec->duration) return;
  f.at = at;
  add(b, &f);
}

static int pick_node(builder *b, int exclude) {
  size_t n = b->spec->nodes;
  int i = (int)akt__rng_below(&b->rng, n);
  if (i == exclude) i = (int)((size_t)(i + 1) % n);
  return i;
}

/* A node outside the `protect` set (not all of the nodes): drawn, then
 * the next unprotected one after it. */
static int pick_unprotected(builder *b, const akt__node_set *protect) {
  size_t n = b->spec->nodes;
  size_t i = (size_t)akt__rng_below(&b->rng, n);
  while (akt__set_has(protect, i)) i = (i + 1) % n;
  return (int)i;
}

/* Resolves a swizzle at `at` lasting about `len`: clog a random subset of
 * nodes one after the other, then unclog them in another random order. */
static void add_swizzle(builder *b, uint64_t at, uint64_t len) {
  size_t n = b->spec->nodes, order[AKT_SCENARIO_MAX_NODES], undo[AKT_SCENARIO_MAX_NODES];
  for (size_t i = 0; i < n; i++) order[i] = undo[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)akt__rng_below(&b->rng, i), t = order[i - 1];
    order[i - 1] = order[j], order[j] = t;
    j = (size_t)akt__rng_below(&b->rng, i), t = undo[i - 1];
    undo[i - 1] = undo[j], undo[j] = t;
  }
  size_t k = n < 2 ? n : 2 + (size_t)akt__rng_below(&b->rng, n - 1);
  uint64_t gap = (len / (2 * k + 1) / AKT_MILLIS(1) + 1) * AKT_MILLIS(1);
  uint64_t unclog_start = at + k * gap + len / 2;
  size_t rank = 0;
  for (size_t r = 0; r < n; r++) {
    size_t node = undo[r], pos = n;
    for (size_t j = 0; j < k; j++)
      if (order[j] == node) pos = j;
    if (pos == n) continue; /* not clogged */
    uint64_t from = at + pos * gap, to = unclog_start + rank++ * gap;
    akt__fault f = {.at = from, .kind = AKT__FAULT_CLOG, .node = (int)node, .node2 = -1,
                    .value = (int64_t)(to - from)};
    add(b, &f);
  }
}

/* Resolves "partition halves": isolate a random half of the nodes. */
static akt__node_set random_half(builder *b) {
  size_t n = b->spec->nodes, k = n / 2, idx[AKT_SCENARIO_MAX_NODES];
  for (size_t i = 0; i < n; i++) idx[i] = i;
  akt__node_set mask = {{0}};
  for (size_t i = 0; i < k; i++) {
    size_t j = i + (size_t)akt__rng_below(&b->rng, n - i), t = idx[i];
    idx[i] = idx[j], idx[j] = t;
    akt__set_add(&mask, idx[i]);
  }
  return mask;
}

/* Copies the scenario's own timeline, resolving its random shapes. */
static void resolve_timeline(builder *b) {
  for (size_t i = 0; i < b->spec->nfaults; i++) {
    akt__fault f = b->spec->faults[i];
    if (f.kind == AKT__FAULT_SWIZZLE) {
      add_swizzle(b, f.at, (uint64_t)f.value);
      continue;
    }
    if (f.kind == AKT__FAULT_PARTITION && f.shape == AKT__SHAPE_HALVES) {
      f.shape = AKT__SHAPE_ISOLATE;
      f.mask = random_half(b);
    }
    add(b, &f);
  }
}

static int down_now(builder *b, uint64_t at) {
  int n = 0;
  for (size_t i = 0; i < b->spec->nodes; i++) n += b->down_until[i] > at;
  return n;
}

static void random_link(builder *b, const knobs *k, akt_sim_link_faults *l) {
  *l = b->spec->link;
  l->loss_ppm = (uint32_t)akt__rng_below(&b->rng, (uint64_t)k->loss_ppm + 1);
  l->dup_ppm = (uint32_t)akt__rng_below(&b->rng, (uint64_t)k->dup_ppm + 1);
  l->reorder = below_in(&b->rng, k->reorder, AKT_MICROS(1));
  switch (akt__rng_below(&b->rng, 3)) {
    case 0: break; /* the scenario's latency */
    case 1:
      l->kind = AKT_SIM_LATENCY_UNIFORM;
      l->latency = AKT_MICROS(100);
      l->latency_max = AKT_MILLIS(1) + below_in(&b->rng, AKT_MILLIS(20), AKT_MICROS(1));
      break;
    default:
      l->kind = AKT_SIM_LATENCY_EXPONENTIAL;
      l->latency = AKT_MICROS(200);
      l->latency_mean = AKT_MILLIS(1) + below_in(&b->rng, AKT_MILLIS(5), AKT_MICROS(1));
      l->latency_max = AKT_MILLIS(500);
      break;
  }
}

/* One random fault starting at `at`. */
static void random_fault(builder *b, const knobs *k, uint64_t at) {
  akt__fault_kind kinds[AKT__FAULT_KIND_MAX];
  size_t nk = 0;
  for (int i = 1; i < AKT__FAULT_KIND_MAX; i++)
    if (k->kinds >> i & 1) kinds[nk++] = (akt__fault_kind)i;
  akt__fault_kind kind = kinds[akt__rng_below(&b->rng, nk)];
  size_t n = b->spec->nodes;
  const akt__node_set *protect = &b->spec->random.protect;
  akt__fault f = {.at = at, .kind = kind, .node = -1, .node2 = -1};
  switch (kind) {
    case AKT__FAULT_CRASH:
    case AKT__FAULT_PAUSE: {
      if (akt__set_count(protect) >= n) return; /* every node is protected */
      int node = pick_unprotected(b, protect);
      if (b->down_until[node] > at || down_now(b, at) >= k->max_down) return;
      uint64_t len = exp_ns(&b->rng, kind == AKT__FAULT_CRASH ? k->down : k->pause);
      f.node = node;
      add(b, &f);
      b->down_until[node] = at + len;
      akt__fault end = {.kind = kind == AKT__FAULT_CRASH ? AKT__FAULT_RESTART : AKT__FAULT_RESUME,
                        .node = node, .node2 = -1};
      add_end(b, end, at + len);
      return;
    }
    case AKT__FAULT_SKEW:
      f.node = pick_node(b, -1);
      f.value = (int64_t)below_in(&b->rng, AKT_SECONDS(4), AKT_MILLIS(1)) - (int64_t)AKT_SECONDS(2);
      add(b, &f);
      return;
    case AKT__FAULT_DRIFT:
      f.node = pick_node(b, -1);
      f.value = (int64_t)akt__rng_below(&b->rng, 1001) - 500;
      add(b, &f);
      return;
    case AKT__FAULT_CUT:
    case AKT__FAULT_HOLD: {
      if (n < 2) return;
      f.node = pick_node(b, -1);
      f.node2 = pick_node(b, f.node);
      f.oneway = kind == AKT__FAULT_HOLD || akt__rng_below(&b->rng, 10) < 3;
      add(b, &f);
      akt__fault end = {.kind = kind == AKT__FAULT_CUT ? AKT__FAULT_HEAL : AKT__FAULT_RELEASE,
                        .node = kind == AKT__FAULT_CUT ? -1 : f.node,
                        .node2 = kind == AKT__FAULT_CUT ? -1 : f.node2};
      add_end(b, end, at + exp_ns(&b->rng, k->split));
      return;
    }
    case AKT__FAULT_PARTITION: {
      if (n < 2) return;
      uint64_t shape = akt__rng_below(&b->rng, n >= 4 ? 3 : 2);
      f.shape = shape == 2 ? AKT__SHAPE_RING : AKT__SHAPE_ISOLATE;
      if (shape == 0) f.mask = random_half(b);
      if (shape == 1) akt__set_add(&f.mask, (size_t)pick_node(b, -1));
      add(b, &f);
      akt__fault end = {.kind = AKT__FAULT_HEAL, .node = -1, .node2 = -1};
      add_end(b, end, at + exp_ns(&b->rng, k->split));
      return;
    }
    case AKT__FAULT_CLOG:
      f.node = pick_node(b, -1);
      if (n > 1 && akt__rng_below(&b->rng, 2)) f.node2 = pick_node(b, f.node);
      f.value = (int64_t)exp_ns(&b->rng, k->clog) + AKT_MILLIS(1);
      add(b, &f);
      return;
    case AKT__FAULT_SWIZZLE:
      if (n < 2) return;
      add_swizzle(b, at, exp_ns(&b->rng, k->clog * 2) + AKT_MILLIS(10));
      return;
    case AKT__FAULT_LINK: {
      random_link(b, k, &f.link);
      add(b, &f);
      akt__fault end = {.kind = AKT__FAULT_LINK, .node = -1, .node2 = -1, .link = b->spec->link};
      add_end(b, end, at + exp_ns(&b->rng, k->split * 2));
      return;
    }
    default: return;
  }
}

static void draw_knobs(builder *b, knobs *k) {
  const akt__random_profile *r = &b->spec->random;
  uint32_t allowed = r->kinds ? r->kinds & RANDOM_KINDS : RANDOM_KINDS;
  do { /* swarm: each allowed kind is on or off for the whole run */
    k->kinds = 0;
    for (int i = 1; i < AKT__FAULT_KIND_MAX; i++)
      if ((allowed >> i & 1) && akt__rng_below(&b->rng, 2)) k->kinds |= 1u << i;
  } while (!k->kinds && allowed);
  k->rate = r->rate > 0 ? r->rate : exp(between(&b->rng, log(0.1), log(2.0)));
  k->down = between(&b->rng, 0.2, 5.0);
  k->pause = between(&b->rng, 0.1, 3.0);
  k->split = between(&b->rng, 0.5, 8.0);
  k->clog = between(&b->rng, 0.05, 2.0);
  k->loss_ppm = (uint32_t)between(&b->rng, 0, 100000);
  k->dup_ppm = (uint32_t)between(&b->rng, 0, 100000);
  k->reorder = (uint64_t)between(&b->rng, 0, 20e6);
  int minority = (int)(b->spec->nodes - 1) / 2;
  k->max_down = minority < 1 ? 1 : minority;
}

static void knobs_text(const knobs *k, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "kinds=");
  int first = 1;
  for (int i = 1; i < AKT__FAULT_KIND_MAX && n < size; i++) {
    if (!(k->kinds >> i & 1)) continue;
    n += (size_t)snprintf(buf + n, size - n, "%s%s", first ? "" : ",", kind_names[i]);
    first = 0;
  }
  if (n < size)
    snprintf(buf + n, size - n,
             " rate=%.2f/s down~%.1fs pause~%.1fs split~%.1fs clog~%.2fs loss<=%.1f%% "
             "dup<=%.1f%% reorder<=%.1fms max-down=%d",
             k->rate, k->down, k->pause, k->split, k->clog, k->loss_ppm / 1e4, k->dup_ppm / 1e4,
             (double)k->reorder / 1e6, k->max_down);
}

static void sort_plan(akt__plan *p) {
  for (size_t i = 1; i < p->n; i++) { /* stable insertion sort */
    akt__fault x = p->faults[i];
    size_t j = i;
    for (; j > 0 && p->faults[j - 1].at > x.at; j--) p->faults[j] = p->faults[j - 1];
    p->faults[j] = x;
  }
}

int akt__plan_make(const akt__scn_spec *spec, uint64_t seed, akt__plan *out) {
  memset(out, 0, sizeof *out);
  out->faults = calloc(AKT__SCN_MAX_FAULTS, sizeof *out->faults);
  if (!out->faults) return AKT_ENOMEM;
  builder b = {.plan = out, .spec = spec};
  akt__rng_seed(&b.rng, akt__rng_derive(seed, "scenario-plan"));
  resolve_timeline(&b);
  if (spec->random.enabled) {
    knobs k;
    draw_knobs(&b, &k);
    knobs_text(&k, out->knobs, sizeof out->knobs);
    uint64_t at = 0;
    for (;;) {
      at += exp_ns(&b.rng, 1.0 / k.rate) + AKT_MILLIS(1);
      if (at >= spec->duration || b.overflow) break;
      random_fault(&b, &k, at);
    }
  }
  /* Faults stop when the quiet period begins: a clog must end by then (the
   * others are ended by the runner: heal, release, resume, restart). */
  for (size_t i = 0; i < out->n; i++) {
    akt__fault *f = &out->faults[i];
    if (f->kind == AKT__FAULT_CLOG && f->at + (uint64_t)f->value > spec->duration)
      f->value = f->at < spec->duration ? (int64_t)(spec->duration - f->at) : 0;
  }
  sort_plan(out);
  if (b.overflow) {
    akt__plan_free(out);
    return AKT_ELIMIT;
  }
  return 0;
}

int akt__plan_of(const akt__fault *faults, size_t n, akt__plan *out) {
  memset(out, 0, sizeof *out);
  out->faults = calloc(n ? n : 1, sizeof *out->faults);
  if (!out->faults) return AKT_ENOMEM;
  if (n) memcpy(out->faults, faults, n * sizeof *faults);
  out->n = n;
  return 0;
}

void akt__plan_free(akt__plan *p) {
  free(p->faults);
  p->faults = NULL;
  p->n = 0;
}

/* The index of the fault after `i` that ends faults[i], or n if none does
 * (or it needs no end: a clog has a duration, skews and links stay). */
static size_t end_of(const akt__fault *f, size_t n, size_t i) {
  const akt__fault *a = &f[i];
  for (size_t j = i + 1; j < n; j++) {
    const akt__fault *b = &f[j];
    switch (a->kind) {
      case AKT__FAULT_CRASH:
        if (b->kind == AKT__FAULT_RESTART && b->node == a->node) return j;
        break;
      case AKT__FAULT_PAUSE:
        if (b->kind == AKT__FAULT_RESUME && b->node == a->node) return j;
        break;
      case AKT__FAULT_CUT:
      case AKT__FAULT_PARTITION:
        if (b->kind == AKT__FAULT_HEAL) return j;
        break;
      case AKT__FAULT_HOLD:
        if (b->kind == AKT__FAULT_RELEASE && b->node == a->node && b->node2 == a->node2) return j;
        break;
      default: return n;
    }
  }
  return n;
}

static size_t find_root(size_t *parent, size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

size_t akt__plan_units(const akt__fault *faults, size_t n, size_t *unit) {
  /* unit[] is the union-find forest first (roots are the smallest index of
   * their unit), then the numbering. */
  for (size_t i = 0; i < n; i++) unit[i] = i;
  for (size_t i = 0; i < n; i++) {
    size_t j = end_of(faults, n, i);
    if (j == n) continue;
    size_t a = find_root(unit, i), b = find_root(unit, j);
    if (a < b) unit[b] = a;
    else if (b < a) unit[a] = b;
  }
  for (size_t i = 0; i < n; i++) unit[i] = find_root(unit, i);
  /* Now unit[i] is its root's index; a root comes before the other members
   * of its unit, so its number is written before they look it up. */
  size_t count = 0;
  for (size_t i = 0; i < n; i++) unit[i] = unit[i] == i ? count++ : unit[unit[i]];
  return count;
}
