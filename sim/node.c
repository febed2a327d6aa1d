/* akt — the simulated node: the backend operations of one node.
 *
 * Everything is virtual: time is the world clock as the node's own clock
 * reads it (skew and drift, node_faults.c), randomness the node's stream,
 * timers are world events, waiting runs the world. The network operations
 * are simulated links (net.c, stream.c, dgram.c), name lookups the world's
 * name table (names.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "sim/net.h"
#include "sim/world.h"

#define NODE(b) ((akt__sim_node *)(b)->impl)

static uint64_t sim_now(akt_backend *b) {
  akt__sim_node *n = NODE(b);
  return akt__sim_node_clock(n, n->world->now);
}

static int64_t sim_wall(akt_backend *b) {
  uint64_t t = sim_now(b);
  return t >= (uint64_t)(INT64_MAX - AKT_SIM_EPOCH_NS) ? INT64_MAX
                                                        : AKT_SIM_EPOCH_NS + (int64_t)t;
}

static uint64_t sim_random(akt_backend *b) { return akt__rng_next(&NODE(b)->rng); }

static void sim_schedule(akt_backend *b, akt_runnable *r) {
  akt__sim_node *n = NODE(b);
  akt__sim_add_turn(n->world, n, r);
}

static int sim_timer_start(akt_backend *b, akt_duration delay, akt_timer_fn fn, void *arg,
                           uint64_t cookie, uint64_t *id) {
  akt__sim_node *n = NODE(b);
  akt_sim_world *w = n->world;
  if (!fn || !id) return AKT_EINVAL;
  uint64_t tid = ++w->next_timer_id;
  uint64_t d = akt__sim_node_delay(n, delay); /* the delay runs on the node's clock */
  uint64_t at = d >= UINT64_MAX - w->now ? UINT64_MAX : w->now + d;
  akt__sim_event ev = {.time = at, .id = tid, .node = n, .fn = fn, .arg = arg, .cookie = cookie};
  if (akt__u64set_add(&w->live, tid)) return AKT_ENOMEM;
  if (akt__sim_push_event(w, &ev)) {
    akt__u64set_remove(&w->live, tid);
    return AKT_ENOMEM;
  }
  *id = tid;
  return 0;
}

static int sim_timer_cancel(akt_backend *b, uint64_t id) {
  /* The heap entry stays; fire_due discards it because its id is gone. */
  return akt__u64set_remove(&NODE(b)->world->live, id) ? 0 : AKT_ENOENT;
}

static int sim_wait(akt_backend *b, int (*ready)(void *arg), void *arg, uint64_t deadline) {
  /* The deadline is on the node's clock; the world runs on its own. */
  akt__sim_node *n = NODE(b);
  return akt_sim_run_until(n->world, ready, arg, akt__sim_node_world_time(n, deadline));
}

static void sim_wake(akt_backend *b) { (void)b; }

static const char *const level_names[] = {"default", "trace", "debug", "info",
                                          "warn",    "error", "off"};

static void sim_log(akt_backend *b, akt_log_level level, const char *line) {
  akt__sim_node *n = NODE(b);
  akt_event ev = {.kind = AKT_EV_LOG, .code = level, .text = line};
  akt__sim_record(n->world, n, &ev);
  if (n->world->opts.log_stderr) {
    uint64_t t = n->world->now;
    fprintf(stderr, "[%llu.%09llu %s] %s %s\n", (unsigned long long)(t / 1000000000u),
            (unsigned long long)(t % 1000000000u), n->name,
            level <= AKT_LOG_OFF ? level_names[level] : "?", line);
  }
}

static void sim_trace(akt_backend *b, const akt_event *ev) {
  akt__sim_node *n = NODE(b);
  akt__sim_record(n->world, n, ev);
}

/* ---- offloaded work: a completion after a seeded delay ----------------- */

/* Offloaded work completes within this much virtual time. */
#define OFFLOAD_MAX_DELAY AKT_MILLIS(1)

typedef struct offload_req {
  void (*fn)(void *arg);
  void *arg;
} offload_req;

static void offload_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  offload_req *r = arg;
  r->fn(r->arg);
  free(r);
}

static int sim_offload(akt_backend *b, void (*fn)(void *arg), void *arg) {
  akt__sim_node *n = NODE(b);
  if (!fn) return AKT_EINVAL;
  offload_req *r = malloc(sizeof *r);
  if (!r) return AKT_ENOMEM;
  r->fn = fn;
  r->arg = arg;
  uint64_t delay = akt__rng_below(&n->io_rng, OFFLOAD_MAX_DELAY + 1);
  akt__sim_event ev = {.time = n->world->now + delay, .node = n, .fn = offload_fire, .arg = r};
  if (akt__sim_push_event(n->world, &ev)) {
    free(r);
    return AKT_ENOMEM;
  }
  return 0;
}

const akt_backend_ops akt__sim_ops = {
    .now = sim_now,
    .wall = sim_wall,
    .random_u64 = sim_random,
    .schedule = sim_schedule,
    .timer_start = sim_timer_start,
    .timer_cancel = sim_timer_cancel,
    .wait = sim_wait,
    .wake = sim_wake,
    .log = sim_log,
    .trace = sim_trace,
    .resolve = akt__sim_resolve,
    .listen = akt__sim_listen,
    .listener_addr = akt__sim_listener_addr,
    .listener_close = akt__sim_listener_close,
    .connect = akt__sim_connect,
    .stream_start = akt__sim_stream_start,
    .stream_write = akt__sim_stream_write,
    .stream_pending = akt__sim_stream_pending,
    .stream_peer = akt__sim_stream_peer,
    .stream_close = akt__sim_stream_close,
    .dgram_open = akt__sim_dgram_open,
    .dgram_addr = akt__sim_dgram_addr,
    .dgram_send = akt__sim_dgram_send,
    .dgram_close = akt__sim_dgram_close,
    .offload = sim_offload,
    .resolve_srv = akt__sim_resolve_srv,
    .dgram_open_group = akt__sim_dgram_open_group,
};
