/* akt — the world's event queue: a binary min-heap on (time, seq).
 *
 * The sequence number makes the order total, so two events due at the same
 * virtual instant fire in the order they were scheduled, run after run.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "sim/world.h"

static int before(const akt__sim_event *a, const akt__sim_event *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

int akt__sim_push_event(akt_sim_world *w, const akt__sim_event *ev) {
  /* Nothing is scheduled in the past: every caller computes now + a delay
   * (saturated), or the end of a clog or an earlier arrival, all >= now. A
   * time before now is a bug in the caller; firing it "now" would hide it. */
  AKT_ASSERT(ev->time >= w->now);
  if (w->nheap == w->capheap) {
    size_t cap = w->capheap ? w->capheap * 2 : 256;
    akt__sim_event *h = realloc(w->heap, cap * sizeof *h);
    if (!h) return AKT_ENOMEM;
    w->heap = h;
    w->capheap = cap;
  }
  akt__sim_event e = *ev;
  e.seq = ++w->seq;
  AKT_ASSERT(e.seq != 0); /* 2^64 events: the order would wrap */
  size_t i = w->nheap++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(&e, &w->heap[parent])) break;
    w->heap[i] = w->heap[parent];
    i = parent;
  }
  w->heap[i] = e;
  return 0;
}

void akt__sim_pop_event(akt_sim_world *w, akt__sim_event *out) {
  *out = w->heap[0];
  akt__sim_event last = w->heap[--w->nheap];
  size_t n = w->nheap, i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const akt__sim_event *best = &last;
    if (l < n && before(&w->heap[l], best)) {
      m = l;
      best = &w->heap[l];
    }
    if (r < n && before(&w->heap[r], best)) m = r;
    if (m == i) break;
    w->heap[i] = w->heap[m];
    i = m;
  }
  if (n > 0) w->heap[i] = last;
}
