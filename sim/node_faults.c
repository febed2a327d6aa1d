/* akt — node faults: crash, restart, pause, clocks, hooks.
 *
 * A crash drops what a node holds in memory without running any of it:
 * its queued turns leave the run queue (they point into memory about to be
 * freed), its network state is taken down without a callback into it
 * (net.c: akt__sim_net_crash), and then its stop hook frees its systems
 * (akt_system_drop). Its other pending events — timers, offloaded work —
 * fire as usual: the core cancels the timers of a dropped system and makes
 * its offloaded work harmless, and the simulator must not free memory it
 * does not own. A restart re-seeds the node's streams from (seed, name,
 * incarnation) and runs its start hook.
 *
 * A paused node keeps its turns queued (the scheduler skips them) and its
 * events set aside as they come due (world.c); on resume they fire, late,
 * in their original order. Clocks: a node reads world time through its
 * skew and drift, and its timers run on that clock.
 */
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "sim/net.h"
#include "sim/world.h"

#define PPM INT64_C(1000000)

/* The node behind `b` if it is simulated, else NULL. */
static akt__sim_node *node_any(akt_backend *b) {
  return b && b->ops == &akt__sim_ops ? b->impl : NULL;
}

/* The node behind `b` if it is a node of `w`, else NULL. */
static akt__sim_node *node_of(const akt_sim_world *w, akt_backend *b) {
  akt__sim_node *n = node_any(b);
  return w && n && n->world == w ? n : NULL;
}

static __int128 floor_div(__int128 a, __int128 b) {
  __int128 q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint64_t saturate(__int128 v) {
  if (v < 0) return 0;
  if (v > (__int128)UINT64_MAX) return UINT64_MAX;
  return (uint64_t)v;
}

/* The drift the clock has gained by world time `t` (negative when slow). */
static __int128 drift_at(const akt__sim_node *n, uint64_t t) {
  __int128 u = (__int128)t - n->drift_since;
  return n->drift_base + floor_div(u * n->drift_ppm, PPM);
}

uint64_t akt__sim_node_clock(const akt__sim_node *n, uint64_t t) {
  if (!n->skew && !n->drift_ppm && !n->drift_base) return t;
  return saturate((__int128)t + n->skew + drift_at(n, t));
}

uint64_t akt__sim_node_delay(const akt__sim_node *n, uint64_t d) {
  if (!n->drift_ppm || d == AKT_FOREVER) return d;
  __int128 den = PPM + n->drift_ppm; /* > 0: set_clock refuses drift <= -1e6 */
  return saturate(-floor_div(-(__int128)d * PPM, den));
}

uint64_t akt__sim_node_world_time(const akt__sim_node *n, uint64_t node_t) {
  if ((!n->skew && !n->drift_ppm && !n->drift_base) || node_t == AKT_FOREVER) return node_t;
  /* node_t = since + u + skew + base + u * drift / 1e6, with u = t - since. */
  __int128 y = (__int128)node_t - n->skew - n->drift_base - n->drift_since;
  __int128 den = PPM + n->drift_ppm;
  __int128 x = (__int128)n->drift_since - floor_div(-y * PPM, den);
  if (x <= 0) return 0;
  uint64_t t = saturate(x);
  /* Rounding of the clock can leave the estimate a nanosecond or two off
   * (a saturated estimate is right as it is). */
  for (int i = 0; i < 4 && t > 0 && akt__sim_node_clock(n, t - 1) >= node_t; i++) t--;
  for (int i = 0; i < 4 && t < UINT64_MAX && akt__sim_node_clock(n, t) < node_t; i++) t++;
  return t;
}

void akt__sim_fault_trace(akt_sim_world *w, const akt__sim_node *node, const char *type,
                          const char *text, int64_t code, uint64_t hash) {
  akt_event ev = {.kind = AKT_EV_NET, .type = type, .text = text, .code = code, .hash = hash};
  akt__sim_record(w, node, &ev);
}

int akt_sim_node_set_hooks(akt_backend *b, const akt_sim_node_hooks *hooks) {
  akt__sim_node *n = node_any(b);
  if (!n) return AKT_EINVAL;
  if (hooks)
    n->hooks = *hooks;
  else
    memset(&n->hooks, 0, sizeof n->hooks);
  return 0;
}

int akt_sim_crash(akt_sim_world *w, akt_backend *b) {
  akt__sim_node *n = node_of(w, b);
  if (!n) return AKT_EINVAL;
  if (n->down) return AKT_ESTATE;
  if (w->cur_node == n) return AKT_ESTATE; /* from inside the node's own turn or event */
  akt__sim_fault_trace(w, n, "crash", n->name, n->incarnation, 0);
  akt__sim_drop_turns(w, n);
  n->down = 1;
  akt__sim_net_crash(w, n->index);
  if (n->hooks.stop) n->hooks.stop(b, n->hooks.arg);
  /* A stop hook runs nothing, but a turn it queued anyway would outlive
   * the memory it points into. */
  akt__sim_drop_turns(w, n);
  if (n->paused) {
    /* What it set aside fires as the rest of its events do. */
    n->paused = 0;
    w->npaused--;
    akt__sim_undefer(w, n);
  }
  return 0;
}

int akt_sim_restart(akt_sim_world *w, akt_backend *b) {
  akt__sim_node *n = node_of(w, b);
  if (!n) return AKT_EINVAL;
  if (!n->down) return AKT_ESTATE;
  n->down = 0;
  n->incarnation++;
  char label[AKT_SIM_NODE_NAME_MAX + 32];
  snprintf(label, sizeof label, "node:%s#%u", n->name, (unsigned)n->incarnation);
  akt__rng_seed(&n->rng, akt__rng_derive(w->opts.seed, label));
  snprintf(label, sizeof label, "io:%s#%u", n->name, (unsigned)n->incarnation);
  akt__rng_seed(&n->io_rng, akt__rng_derive(w->opts.seed, label));
  akt__sim_fault_trace(w, n, "restart", n->name, n->incarnation, 0);
  return n->hooks.start ? n->hooks.start(b, n->hooks.arg) : 0;
}

int akt_sim_pause(akt_sim_world *w, akt_backend *b) {
  akt__sim_node *n = node_of(w, b);
  if (!n) return AKT_EINVAL;
  if (n->down || n->paused) return AKT_ESTATE;
  n->paused = 1;
  w->npaused++;
  akt__sim_fault_trace(w, n, "pause", n->name, 0, 0);
  return 0;
}

int akt_sim_resume(akt_sim_world *w, akt_backend *b) {
  akt__sim_node *n = node_of(w, b);
  if (!n) return AKT_EINVAL;
  if (!n->paused) return AKT_ESTATE;
  n->paused = 0;
  w->npaused--;
  akt__sim_fault_trace(w, n, "resume", n->name, (int64_t)n->ndeferred, 0);
  akt__sim_undefer(w, n);
  return 0;
}

int akt_sim_set_clock(akt_sim_world *w, akt_backend *b, int64_t skew_ns, int32_t drift_ppm) {
  akt__sim_node *n = node_of(w, b);
  if (!n || drift_ppm <= -(int32_t)PPM) return AKT_EINVAL;
  if (drift_ppm != n->drift_ppm) {
    /* The new rate applies from now: what the old one gained stays. */
    __int128 gained = drift_at(n, w->now);
    if (gained > INT64_MAX || gained < INT64_MIN) return AKT_EINVAL;
    n->drift_base = (int64_t)gained;
    n->drift_since = w->now;
    n->drift_ppm = drift_ppm;
  }
  n->skew = skew_ns;
  akt__sim_fault_trace(w, n, "clock", n->name, skew_ns, (uint64_t)(int64_t)drift_ppm);
  return 0;
}

int akt_sim_node_up(akt_backend *b) {
  akt__sim_node *n = node_any(b);
  return n && !n->down;
}

uint32_t akt_sim_node_incarnation(akt_backend *b) {
  akt__sim_node *n = node_any(b);
  return n ? n->incarnation : 0;
}

size_t akt_sim_node_count(const akt_sim_world *w) { return w ? w->nnodes : 0; }

akt_backend *akt_sim_node_at(akt_sim_world *w, size_t i) {
  return w && i < w->nnodes ? &w->nodes[i]->backend : NULL;
}
