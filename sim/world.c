/* akt — the simulated world: clock, stepping, nodes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "sim/world.h"

/* What a failed assertion adds while this world runs on the thread: the
 * seed and the virtual time, so that the failure can be replayed. */
static void report(void *arg, FILE *f) {
  const akt_sim_world *w = arg;
  fprintf(f, "akt: in a simulated world: seed=0x%" PRIx64 " t=%" PRIu64 ".%09" PRIu64
             "s (virtual), step %" PRIu64 "; the same seed replays it\n",
          w->opts.seed, w->now / 1000000000u, w->now % 1000000000u, w->steps);
}

int akt_sim_world_new(const akt_sim_options *opts, akt_sim_world **out) {
  if (!out) return AKT_EINVAL;
  akt_sim_world *w = calloc(1, sizeof *w);
  if (!w) return AKT_ENOMEM;
  if (opts) w->opts = *opts;
  if (!w->opts.turn_cost) w->opts.turn_cost = AKT_SIM_DEFAULT_TURN_COST;
  if (!w->opts.max_steps) w->opts.max_steps = AKT_SIM_DEFAULT_MAX_STEPS;
  w->opts.trace_path = NULL;
  akt__rng_seed(&w->sched_rng, akt__rng_derive(w->opts.seed, "sched"));
  akt__rng_seed(&w->fault_rng, akt__rng_derive(w->opts.seed, "faults"));
  w->digest = XXH3_createState();
  if (!w->digest) {
    free(w);
    return AKT_ENOMEM;
  }
  XXH3_64bits_reset(w->digest);
  if (opts && opts->trace_path) {
    w->trace_file = fopen(opts->trace_path, "w");
    if (!w->trace_file) {
      XXH3_freeState(w->digest);
      free(w);
      return AKT_EBACKEND;
    }
  }
  akt__assert_reporter mine = {report, w};
  akt__assert_set_reporter(&mine, &w->prev_reporter);
  *out = w;
  return 0;
}

void akt_sim_world_free(akt_sim_world *w) {
  if (!w) return;
  /* Another world's reporter is not restored: that world may be gone
   * already (worlds need not be freed in the reverse order of creation). */
  if (akt__assert_get_reporter().arg == w)
    akt__assert_set_reporter(w->prev_reporter.fn == report ? NULL : &w->prev_reporter, NULL);
  akt__sim_names_free(w); /* first: its callbacks may still use the world */
  akt__sim_net_free(w);
  for (size_t i = 0; i < w->nnodes; i++) {
    free(w->nodes[i]->deferred); /* deferred events are dropped, as queued ones */
    free(w->nodes[i]);
  }
  free(w->nodes);
  free(w->heap);
  free(w->turns);
  akt__u64set_free(&w->live);
  if (w->trace_file) fclose(w->trace_file);
  XXH3_freeState(w->digest);
  free(w);
}

static int node_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > AKT_SIM_NODE_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-' || ch == '.'))
      return 0;
  }
  return 1;
}

int akt_sim_node_new(akt_sim_world *w, const char *name, akt_backend **out) {
  if (!w || !name || !out) return AKT_EINVAL;
  if (!node_name_valid(name)) return AKT_ENAME;
  if (w->nnodes >= AKT_SIM_MAX_NODES) return AKT_ELIMIT;
  for (size_t i = 0; i < w->nnodes; i++)
    if (strcmp(w->nodes[i]->name, name) == 0) return AKT_EEXIST;
  akt__sim_node **nodes = realloc(w->nodes, (w->nnodes + 1) * sizeof *nodes);
  if (!nodes) return AKT_ENOMEM;
  w->nodes = nodes;
  akt__sim_node *n = calloc(1, sizeof *n);
  if (!n) return AKT_ENOMEM;
  n->backend.ops = &akt__sim_ops;
  n->backend.impl = n;
  n->backend.flags = AKT_BACKEND_TRACE | AKT_BACKEND_SIMULATED;
  n->world = w;
  n->index = (uint32_t)w->nnodes;
  n->incarnation = 1;
  snprintf(n->name, sizeof n->name, "%s", name);
  char label[AKT_SIM_NODE_NAME_MAX + 16];
  snprintf(label, sizeof label, "node:%s", name);
  akt__rng_seed(&n->rng, akt__rng_derive(w->opts.seed, label));
  snprintf(label, sizeof label, "io:%s", name);
  akt__rng_seed(&n->io_rng, akt__rng_derive(w->opts.seed, label));
  w->nodes[w->nnodes++] = n;
  *out = &n->backend;
  return 0;
}

akt_sim_world *akt_sim_world_of(akt_backend *b) {
  if (!b || b->ops != &akt__sim_ops) return NULL;
  return ((akt__sim_node *)b->impl)->world;
}

const char *akt_sim_node_name(akt_backend *b) {
  if (!b || b->ops != &akt__sim_ops) return "";
  return ((akt__sim_node *)b->impl)->name;
}

void akt__sim_add_turn(akt_sim_world *w, akt__sim_node *node, akt_runnable *r) {
  if (w->nturns == w->capturns) {
    if (w->turn_head > 0) {
      /* Reclaim the consumed prefix before growing. */
      memmove(w->turns, w->turns + w->turn_head, (w->nturns - w->turn_head) * sizeof *w->turns);
      w->nturns -= w->turn_head;
      w->turn_head = 0;
    }
    if (w->nturns == w->capturns) {
      size_t cap = w->capturns ? w->capturns * 2 : 256;
      akt__sim_turn *t = realloc(w->turns, cap * sizeof *t);
      if (!t) {
        fprintf(stderr, "akt-sim: out of memory growing the run queue\n");
        abort();
      }
      w->turns = t;
      w->capturns = cap;
    }
  }
  w->turns[w->nturns++] = (akt__sim_turn){.node = node, .r = r};
}

void akt__sim_drop_turns(akt_sim_world *w, const akt__sim_node *node) {
  size_t out = w->turn_head;
  for (size_t i = w->turn_head; i < w->nturns; i++)
    if (w->turns[i].node != node) w->turns[out++] = w->turns[i];
  w->nturns = out;
  if (w->turn_head == w->nturns) w->turn_head = w->nturns = 0;
}

/* Takes turn i out of the queue, keeping the others in order. */
static akt__sim_turn remove_turn(akt_sim_world *w, size_t i) {
  akt__sim_turn t = w->turns[i];
  memmove(w->turns + w->turn_head + 1, w->turns + w->turn_head,
          (i - w->turn_head) * sizeof *w->turns);
  w->turn_head++;
  if (w->turn_head == w->nturns) w->turn_head = w->nturns = 0;
  return t;
}

/* Takes the next turn into *out: the oldest (FIFO) or a seeded choice,
 * among the turns of nodes that are not paused. Returns 0 if there is none.
 * With no node paused the choice is the plain one, so pausing support
 * changes no history that does not pause. */
static int take_turn(akt_sim_world *w, akt__sim_turn *out) {
  size_t n = w->nturns - w->turn_head;
  if (n == 0) return 0;
  if (w->npaused > 0) {
    size_t eligible = 0;
    for (size_t i = w->turn_head; i < w->nturns; i++) eligible += !w->turns[i].node->paused;
    if (eligible == 0) return 0;
    size_t k = !w->opts.fifo && eligible > 1 ? (size_t)akt__rng_below(&w->sched_rng, eligible) : 0;
    for (size_t i = w->turn_head;; i++) {
      if (w->turns[i].node->paused) continue;
      if (k-- == 0) {
        *out = remove_turn(w, i);
        return 1;
      }
    }
  }
  if (!w->opts.fifo && n > 1) {
    size_t i = w->turn_head + (size_t)akt__rng_below(&w->sched_rng, n);
    akt__sim_turn t = w->turns[i];
    w->turns[i] = w->turns[w->turn_head];
    w->turns[w->turn_head] = t;
  }
  *out = w->turns[w->turn_head++];
  if (w->turn_head == w->nturns) w->turn_head = w->nturns = 0;
  return 1;
}

/* Keeps `ev` on its paused node until akt_sim_resume. */
static void defer_event(akt__sim_node *n, const akt__sim_event *ev) {
  if (n->ndeferred == n->capdeferred) {
    size_t cap = n->capdeferred ? n->capdeferred * 2 : 16;
    akt__sim_event *d = realloc(n->deferred, cap * sizeof *d);
    if (!d) {
      fprintf(stderr, "akt-sim: out of memory deferring an event\n");
      abort();
    }
    n->deferred = d;
    n->capdeferred = cap;
  }
  n->deferred[n->ndeferred++] = *ev;
}

void akt__sim_undefer(akt_sim_world *w, akt__sim_node *node) {
  for (size_t i = 0; i < node->ndeferred; i++) {
    akt__sim_event ev = node->deferred[i];
    /* Deferred events are late by design (include/akt/sim.h, pause): those
     * that came due while the node was paused fire now, at the resume. */
    if (ev.time < w->now) ev.time = w->now;
    if (akt__sim_push_event(w, &ev)) {
      fprintf(stderr, "akt-sim: out of memory resuming a node\n");
      abort();
    }
  }
  node->ndeferred = 0;
}

/* Fires the earliest event if it is due by `limit`; returns 1 if one fired
 * (canceled timers are discarded silently, events of paused nodes set
 * aside), 0 if none is due. */
static int fire_due(akt_sim_world *w, uint64_t limit) {
  while (w->nheap > 0 && w->heap[0].time <= limit) {
    akt__sim_event ev;
    akt__sim_pop_event(w, &ev);
    if (ev.node && ev.node->paused) {
      /* A timer stays live while deferred, so it can still be canceled. */
      if (!ev.id || akt__u64set_has(&w->live, ev.id)) defer_event(ev.node, &ev);
      continue;
    }
    if (ev.id && !akt__u64set_remove(&w->live, ev.id)) continue; /* canceled */
    /* An event may be due before now by at most one turn's cost: the clock
     * does not stop inside a turn, so what came due during the last turn
     * fires when it ends (every due event fires before the next turn).
     * Anything older is a bug: it would fire late without a trace of why. */
    AKT_ASSERT(ev.time >= w->now || w->now - ev.time <= w->opts.turn_cost);
    if (ev.time > w->now) w->now = ev.time;
    w->cur_node = ev.node;
    ev.fn(ev.arg, ev.cookie);
    w->cur_node = NULL;
    return 1;
  }
  return 0;
}

/* One step, firing nothing later than `limit`. Returns 1 or 0 (nothing to do
 * by `limit`). */
static int step_until(akt_sim_world *w, uint64_t limit) {
  w->in_step = 1;
  int did = fire_due(w, w->now);
  akt__sim_turn t;
  if (!did && take_turn(w, &t)) {
    w->cur_node = t.node;
    t.r->run(t.r);
    w->cur_node = NULL;
    w->now += w->opts.turn_cost;
    did = 1;
  }
  if (!did) did = fire_due(w, limit);
  w->in_step = 0;
  if (did) w->steps++;
  return did;
}

int akt_sim_step(akt_sim_world *w) {
  if (!w) return AKT_EINVAL;
  if (w->in_step) return AKT_ESTATE;
  return step_until(w, UINT64_MAX);
}

int akt_sim_run_until_idle(akt_sim_world *w) {
  if (!w) return AKT_EINVAL;
  if (w->in_step) return AKT_ESTATE;
  for (uint64_t i = 0; i < w->opts.max_steps; i++)
    if (!step_until(w, UINT64_MAX)) return 0;
  return AKT_ELIMIT;
}

int akt_sim_run_until(akt_sim_world *w, int (*ready)(void *arg), void *arg, uint64_t deadline) {
  if (!w) return AKT_EINVAL;
  if (w->in_step) return AKT_ESTATE;
  for (;;) {
    if (ready && ready(arg)) return 0;
    if (w->now >= deadline) return AKT_ETIMEDOUT;
    if (!step_until(w, deadline)) {
      /* Nothing happens before the deadline: let time pass. */
      AKT_ASSERT(deadline > w->now);
      if (deadline != AKT_FOREVER) w->now = deadline;
      return ready && ready(arg) ? 0 : AKT_ETIMEDOUT;
    }
  }
}

int akt_sim_run_for(akt_sim_world *w, akt_duration d) {
  if (!w) return AKT_EINVAL;
  if (w->in_step) return AKT_ESTATE;
  uint64_t deadline = d >= AKT_FOREVER - w->now ? AKT_FOREVER : w->now + d;
  /* Every event and turn due by the deadline, those due at it included
   * (run_until stops as the clock reaches its deadline, which would leave
   * all but the first of them, and all of them for d == 0). */
  while (w->now <= deadline && step_until(w, deadline)) {
  }
  if (w->now < deadline && deadline != AKT_FOREVER) w->now = deadline;
  return 0;
}

uint64_t akt_sim_now(const akt_sim_world *w) { return w ? w->now : 0; }
uint64_t akt_sim_seed(const akt_sim_world *w) { return w ? w->opts.seed : 0; }
uint64_t akt_sim_digest(const akt_sim_world *w) { return w ? XXH3_64bits_digest(w->digest) : 0; }
uint64_t akt_sim_records(const akt_sim_world *w) { return w ? w->records : 0; }
uint64_t akt_sim_steps(const akt_sim_world *w) { return w ? w->steps : 0; }

void akt_sim_note(akt_sim_world *w, akt_backend *b, const char *what, const char *detail,
                  uint64_t value) {
  if (!w) return;
  akt__sim_node *node = b && b->ops == &akt__sim_ops ? b->impl : NULL;
  akt_event ev = {.kind = AKT_EV_USER, .type = what, .text = detail, .hash = value};
  akt__sim_record(w, node, &ev);
}
