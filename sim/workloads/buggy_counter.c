/* akt — workload "buggy-counter": DELIBERATELY BUGGY, to show what akt-sim
 * finds, replays and shrinks (docs/scenarios.md walks through it).
 *
 * A client on node0 sends increments, one at a time, to a counter on node1
 * and retries an increment whose acknowledgement does not come within
 * `timeout` (1s). The bug: the counter does not deduplicate by increment
 * id. Nothing goes wrong on a healthy or merely lossy network (a lost
 * segment is retransmitted well within the timeout); it takes a specific
 * fault — node1 clogged, paused or cut off for longer than the timeout
 * while an increment is in flight, or a crash between applying and
 * acknowledging — for the original and the retry both to arrive, and the
 * count to exceed the increments made.
 *
 * Parameters: incs=200 timeout=1s pace=50ms.
 */
#include "sim/workloads/common.h"

typedef struct bc_state {
  uint64_t count;   /* node1's disk: the counter survives crashes */
  uint64_t issued;  /* distinct increments the client made */
  uint64_t acked;
  uint64_t retries;
  uint64_t first_over_at;
  uint8_t waiting;  /* the client's request is outstanding */
} bc_state;

static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__inc__descriptor)) return AKT_EUNHANDLED;
  akt_scenario *sc = akt__wl_sc(ctx);
  bc_state *st = akt_scenario_state(sc);
  st->count++; /* THE BUG: a retried increment is applied again */
  if (st->count > st->issued && !st->first_over_at) st->first_over_at = akt_scenario_now(sc);
  Aktsim__IncAck ack = AKTSIM__INC_ACK__INIT;
  ack.id = ((const Aktsim__Inc *)msg)->id;
  ack.value = st->count;
  akt_reply(ctx, &ack.base);
  return 0;
}

static const akt_actor_def counter_def = {.kind = "counter", .receive = counter_receive};

typedef struct client {
  akt_pid *counter;
} client;

static int on_ack(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  bc_state *st = akt_scenario_state(akt__wl_sc(ctx));
  st->waiting = 0;
  if (status) { /* timed out: the next tick sends the same increment again */
    st->retries++;
    return 0;
  }
  if (akt_msg_is(reply, &aktsim__inc_ack__descriptor) &&
      ((const Aktsim__IncAck *)reply)->id == st->issued)
    st->acked = st->issued;
  return 0;
}

static int client_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  client *c = akt_ctx_state(ctx);
  int rc = akt__wl_pid(sc, akt_ctx_system(ctx), 1, "/user/counter", &c->counter);
  if (rc) return rc;
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  akt_duration pace = (akt_duration)akt_scenario_param(sc, "pace", AKT_MILLIS(50));
  return akt_timer_start(ctx, 1, pace, pace, &tick.base);
}

static void client_stop(akt_ctx *ctx) { akt_pid_release(((client *)akt_ctx_state(ctx))->counter); }

static int client_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return AKT_EUNHANDLED;
  akt_scenario *sc = akt__wl_sc(ctx);
  bc_state *st = akt_scenario_state(sc);
  client *c = akt_ctx_state(ctx);
  if (st->waiting) return 0;
  if (st->acked == st->issued) {
    if (st->issued >= (uint64_t)akt_scenario_param(sc, "incs", 200)) return 0;
    st->issued++;
  }
  Aktsim__Inc inc = AKTSIM__INC__INIT;
  inc.id = st->issued;
  akt_duration timeout = (akt_duration)akt_scenario_param(sc, "timeout", AKT_SECONDS(1));
  st->waiting = akt_request(ctx, c->counter, &inc.base, timeout, on_ack, NULL) == 0;
  return 0;
}

static const akt_actor_def client_def = {.kind = "client", .state_size = sizeof(client),
                                         .pre_start = client_start, .receive = client_receive,
                                         .post_stop = client_stop};

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  akt_system *sys;
  int rc = akt__wl_system(sc, i, &sys);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = sc};
  if (i == 0) return akt_spawn(sys, "client", &client_def, &o, NULL);
  if (i == 1) return akt_spawn(sys, "counter", &counter_def, &o, NULL);
  return 0;
}

static void node_down(akt_scenario *sc, size_t i) {
  bc_state *st = akt_scenario_state(sc);
  if (i == 0) st->waiting = 0;
}

static int check_exact(akt_scenario *sc, char *why) {
  bc_state *st = akt_scenario_state(sc);
  if (st->count <= st->issued) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX,
           "the counter reads %llu but the client made only %llu increments (%llu retries): a "
           "retried increment was applied twice (first at t=%.3fs)",
           (unsigned long long)st->count, (unsigned long long)st->issued,
           (unsigned long long)st->retries, akt__wl_s(st->first_over_at));
  return 1;
}

static int check_acked(akt_scenario *sc, char *why) {
  bc_state *st = akt_scenario_state(sc);
  uint64_t want = (uint64_t)akt_scenario_param(sc, "incs", 200);
  if (st->acked >= want) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX, "%llu of %llu increments acknowledged",
           (unsigned long long)st->acked, (unsigned long long)want);
  return 1;
}

static const akt_workload_check checks[] = {
    {"count-exact", AKT_CHECK_SAFETY, check_exact},
    {"all-acked", AKT_CHECK_LIVENESS, check_acked},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"incs", "increments the client makes (default 200)"},
    {"timeout", "how long the client waits for an ack before retrying (default 1s)"},
    {"pace", "time between increments (default 50ms)"},
    {NULL, NULL},
};

const akt_workload akt__wl_buggy_counter = {
    .name = "buggy-counter",
    .summary = "DELIBERATELY BUGGY: retried increments without deduplication (for the docs' walkthrough)",
    .state_size = sizeof(bc_state),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .params = params,
};
