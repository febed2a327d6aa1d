/* akt-bench — the workloads, on akt's public API only.
 *
 * Each workload measures wall time around a fixed number of operations and
 * checks that the work really happened (a count, a reply); completion is
 * observed through akt itself (an ask that returns when the last message
 * was handled), never by sleeping.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "bench.pb-c.h"

uint64_t bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define ASK_TIMEOUT AKT_SECONDS(120)

/* Asks `to` and returns the reply's n (Count or Done), or -1. */
static int64_t ask_n(akt_pid *to, const ProtobufCMessage *msg) {
  ProtobufCMessage *reply = NULL;
  if (akt_ask(to, msg, ASK_TIMEOUT, &reply) != 0) return -1;
  int64_t n = -1;
  if (akt_msg_is(reply, &bench__count__descriptor)) n = ((Bench__Count *)reply)->n;
  if (akt_msg_is(reply, &bench__done__descriptor)) n = ((Bench__Done *)reply)->n;
  akt_msg_free(reply);
  return n;
}

/* ---- a counter with an optional target --------------------------------------- */

typedef struct counter_state {
  int64_t count, target;
  akt_pid *client; /* told Done when count reaches target */
} counter_state;

static void counter_check(akt_ctx *ctx, counter_state *s) {
  if (!s->client || s->count < s->target) return;
  Bench__Done d = BENCH__DONE__INIT;
  d.n = s->count;
  akt_send(ctx, s->client, &d.base);
  akt_pid_release(s->client);
  s->client = NULL;
}

/* Counts Msg messages, and Payload messages that carry PAYLOAD_BYTES of
 * data (remote-tell); tells the client Done once `target` are counted. */
static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  counter_state *s = akt_ctx_state(ctx);
  if (msg->descriptor == &bench__msg__descriptor ||
      (msg->descriptor == &bench__payload__descriptor &&
       ((const Bench__Payload *)msg)->data.len == PAYLOAD_BYTES)) {
    s->count++;
    counter_check(ctx, s);
    return 0;
  }
  if (msg->descriptor == &bench__get__descriptor) {
    Bench__Count c = BENCH__COUNT__INIT;
    c.n = s->count;
    return akt_reply(ctx, &c.base);
  }
  if (msg->descriptor == &bench__start__descriptor) {
    akt_pid_release(s->client);
    s->target = ((const Bench__Start *)msg)->n;
    s->client = akt_pid_retain(akt_ctx_sender(ctx));
    counter_check(ctx, s);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static void counter_post_stop(akt_ctx *ctx) {
  counter_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->client);
}

const akt_actor_def bench_counter_def = {.kind = "bench-counter",
                                         .state_size = sizeof(counter_state),
                                         .receive = counter_receive,
                                         .post_stop = counter_post_stop};

int wl_tell(akt_system *sys, const bench_params *p, double *value) {
  akt_pid *c;
  int rc = akt_spawn(sys, NULL, &bench_counter_def, NULL, &c);
  if (rc) return rc;
  Bench__Msg m = BENCH__MSG__INIT;
  Bench__Get g = BENCH__GET__INIT;
  uint64_t t0 = bench_now();
  for (int64_t i = 0; i < p->tell && rc == 0; i++) {
    m.n = i;
    rc = akt_tell(c, &m.base);
  }
  int64_t got = rc ? -1 : ask_n(c, &g.base);
  uint64_t t1 = bench_now();
  akt_stop(c);
  akt_pid_release(c);
  if (rc) return rc;
  if (got != p->tell) return AKT_EFAILED;
  *value = (double)(t1 - t0) / (double)p->tell;
  return 0;
}

/* ---- pingpong --------------------------------------------------------------- */

typedef struct pinger_state {
  akt_pid *ponger, *client;
  int64_t left, done;
} pinger_state;

static int ponger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  return akt_reply(ctx, msg);
}

static const akt_actor_def ponger_def = {.kind = "ponger", .receive = ponger_receive};

static int pinger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  pinger_state *s = akt_ctx_state(ctx);
  if (msg->descriptor == &bench__msg__descriptor) {
    s->done++;
    if (--s->left > 0) return akt_send(ctx, s->ponger, msg);
    Bench__Done d = BENCH__DONE__INIT;
    d.n = s->done;
    int rc = akt_send(ctx, s->client, &d.base);
    akt_pid_release(s->client);
    s->client = NULL;
    return rc;
  }
  if (msg->descriptor == &bench__start__descriptor) {
    if (!s->ponger) {
      int rc = akt_spawn_child(ctx, NULL, &ponger_def, NULL, &s->ponger);
      if (rc) return rc;
    }
    s->left = ((const Bench__Start *)msg)->n;
    s->done = 0;
    s->client = akt_pid_retain(akt_ctx_sender(ctx));
    Bench__Msg m = BENCH__MSG__INIT;
    return akt_send(ctx, s->ponger, &m.base);
  }
  return AKT_EUNHANDLED;
}

static void pinger_post_stop(akt_ctx *ctx) {
  pinger_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->ponger);
  akt_pid_release(s->client);
}

static const akt_actor_def pinger_def = {.kind = "pinger",
                                         .state_size = sizeof(pinger_state),
                                         .receive = pinger_receive,
                                         .post_stop = pinger_post_stop};

/* Runs `def` with Start{n} through an ask; value = ns per op. */
static int run_started(akt_system *sys, const akt_actor_def *def, int64_t n, double *value) {
  akt_pid *a;
  int rc = akt_spawn(sys, NULL, def, NULL, &a);
  if (rc) return rc;
  Bench__Start st = BENCH__START__INIT;
  st.n = n;
  uint64_t t0 = bench_now();
  int64_t got = ask_n(a, &st.base);
  uint64_t t1 = bench_now();
  akt_stop(a);
  akt_pid_release(a);
  if (got != n) return AKT_EFAILED;
  *value = (double)(t1 - t0) / (double)n;
  return 0;
}

int wl_pingpong(akt_system *sys, const bench_params *p, double *value) {
  return run_started(sys, &pinger_def, p->pingpong, value);
}

/* ---- request: akt_request with a continuation, one at a time --------------- */

static int request_next(akt_ctx *ctx);

static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)reply;
  (void)arg;
  if (status) return status;
  pinger_state *s = akt_ctx_state(ctx);
  s->done++;
  return request_next(ctx);
}

static int request_next(akt_ctx *ctx) {
  pinger_state *s = akt_ctx_state(ctx);
  if (s->left-- > 0) {
    Bench__Msg m = BENCH__MSG__INIT;
    return akt_request(ctx, s->ponger, &m.base, AKT_SECONDS(10), on_reply, NULL);
  }
  Bench__Done d = BENCH__DONE__INIT;
  d.n = s->done;
  int rc = akt_send(ctx, s->client, &d.base);
  akt_pid_release(s->client);
  s->client = NULL;
  return rc;
}

static int requester_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  pinger_state *s = akt_ctx_state(ctx);
  if (msg->descriptor != &bench__start__descriptor) return AKT_EUNHANDLED;
  if (!s->ponger) {
    int rc = akt_spawn_child(ctx, NULL, &ponger_def, NULL, &s->ponger);
    if (rc) return rc;
  }
  s->left = ((const Bench__Start *)msg)->n;
  s->done = 0;
  s->client = akt_pid_retain(akt_ctx_sender(ctx));
  return request_next(ctx);
}

static const akt_actor_def requester_def = {.kind = "requester",
                                            .state_size = sizeof(pinger_state),
                                            .receive = requester_receive,
                                            .post_stop = pinger_post_stop};

int wl_request(akt_system *sys, const bench_params *p, double *value) {
  return run_started(sys, &requester_def, p->request, value);
}

/* ---- ask from outside ---------------------------------------------------------- */

int wl_ask(akt_system *sys, const bench_params *p, double *value) {
  akt_pid *e;
  int rc = akt_spawn(sys, NULL, &ponger_def, NULL, &e);
  if (rc) return rc;
  Bench__Msg m = BENCH__MSG__INIT;
  uint64_t t0 = bench_now();
  for (int64_t i = 0; i < p->ask && rc == 0; i++) {
    ProtobufCMessage *reply = NULL;
    rc = akt_ask(e, &m.base, ASK_TIMEOUT, &reply);
    akt_msg_free(reply);
  }
  uint64_t t1 = bench_now();
  akt_stop(e);
  akt_pid_release(e);
  if (rc) return rc;
  *value = (double)(t1 - t0) / (double)p->ask;
  return 0;
}

/* ---- fan-in: P producer actors, one consumer ---------------------------------- */

static int producer_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (msg->descriptor != &bench__start__descriptor) return AKT_EUNHANDLED;
  akt_pid *sink = (akt_pid *)akt_ctx_arg(ctx);
  Bench__Msg m = BENCH__MSG__INIT;
  for (int64_t i = ((const Bench__Start *)msg)->n; i > 0; i--) {
    int rc = akt_send(ctx, sink, &m.base);
    if (rc) return rc;
  }
  return 0;
}

static const akt_actor_def producer_def = {.kind = "producer", .receive = producer_receive};

int wl_fanin(akt_system *sys, const bench_params *p, double *value) {
  akt_pid *sink;
  int rc = akt_spawn(sys, NULL, &bench_counter_def, NULL, &sink);
  if (rc) return rc;
  int64_t np = p->fanin_producers, per = p->fanin / np;
  akt_pid **producers = calloc((size_t)np, sizeof *producers);
  akt_spawn_opts o = {.arg = sink};
  for (int64_t i = 0; i < np && rc == 0; i++)
    rc = akt_spawn(sys, NULL, &producer_def, &o, &producers[i]);
  Bench__Start st = BENCH__START__INIT;
  st.n = per;
  uint64_t t0 = bench_now();
  for (int64_t i = 0; i < np && rc == 0; i++) rc = akt_tell(producers[i], &st.base);
  st.n = per * np;
  int64_t got = rc ? -1 : ask_n(sink, &st.base);
  uint64_t t1 = bench_now();
  for (int64_t i = 0; i < np; i++) {
    if (producers[i]) akt_stop(producers[i]);
    akt_pid_release(producers[i]);
  }
  free(producers);
  akt_stop(sink);
  akt_pid_release(sink);
  if (rc) return rc;
  if (got != per * np) return AKT_EFAILED;
  *value = (double)(t1 - t0) / (double)(per * np);
  return 0;
}

/* ---- spawn and memory ---------------------------------------------------------- */

static atomic_long started;

static int idle_pre_start(akt_ctx *ctx) {
  (void)ctx;
  atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
  return 0;
}

static int idle_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

static const akt_actor_def idle_def = {.kind = "idle", .pre_start = idle_pre_start,
                                       .receive = idle_receive};

/* Waits (politely) until the system has at most `live` live actors (actors
 * of an earlier workload may still be stopping when the baseline is read). */
static int wait_live(akt_system *sys, uint64_t live) {
  uint64_t deadline = bench_now() + AKT_SECONDS(120);
  for (;;) {
    akt_system_stats st;
    akt_system_get_stats(sys, &st);
    if (st.live_actors <= live) return 0;
    if (bench_now() > deadline) return AKT_ETIMEDOUT;
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
}

int wl_spawn(akt_system *sys, const bench_params *p, double *value) {
  akt_system_stats st;
  akt_system_get_stats(sys, &st);
  akt_pid **pids = calloc((size_t)p->spawn, sizeof *pids);
  if (!pids) return AKT_ENOMEM;
  int rc = 0;
  uint64_t t0 = bench_now();
  for (int64_t i = 0; i < p->spawn && rc == 0; i++)
    rc = akt_spawn(sys, NULL, &idle_def, NULL, &pids[i]);
  for (int64_t i = 0; i < p->spawn; i++)
    if (pids[i]) akt_stop(pids[i]);
  if (!rc) rc = wait_live(sys, st.live_actors);
  uint64_t t1 = bench_now();
  for (int64_t i = 0; i < p->spawn; i++) akt_pid_release(pids[i]);
  free(pids);
  if (rc) return rc;
  *value = (double)(t1 - t0) / (double)p->spawn;
  return 0;
}

int wl_memory(akt_system *sys, const bench_params *p, double *value) {
  int64_t n = p->memory_actors;
  akt_system_stats st;
  akt_system_get_stats(sys, &st);
  akt_pid **pids = calloc((size_t)n, sizeof *pids); /* allocated before the baseline */
  if (!pids) return AKT_ENOMEM;
  atomic_store(&started, 0);
  struct mallinfo2 before = mallinfo2();
  int rc = 0;
  for (int64_t i = 0; i < n && rc == 0; i++) rc = akt_spawn(sys, NULL, &idle_def, NULL, &pids[i]);
  uint64_t deadline = bench_now() + AKT_SECONDS(120);
  while (rc == 0 && atomic_load(&started) < n && bench_now() < deadline) {
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
  struct mallinfo2 after = mallinfo2();
  for (int64_t i = 0; i < n; i++)
    if (pids[i]) akt_stop(pids[i]);
  if (!rc) rc = wait_live(sys, st.live_actors);
  for (int64_t i = 0; i < n; i++) akt_pid_release(pids[i]);
  free(pids);
  if (rc) return rc;
  *value = (double)(after.uordblks - before.uordblks) / (double)n;
  return 0;
}

/* ---- thread ring ---------------------------------------------------------------- */

typedef struct member_state {
  akt_pid *next;
} member_state;

static int member_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  member_state *s = akt_ctx_state(ctx);
  if (msg->descriptor == &bench__token__descriptor) {
    int64_t hops = ((const Bench__Token *)msg)->hops;
    if (hops == 0) {
      Bench__Done d = BENCH__DONE__INIT;
      return akt_reply(ctx, &d.base);
    }
    Bench__Token t = BENCH__TOKEN__INIT;
    t.hops = hops - 1;
    return akt_tell_as(s->next, &t.base, akt_ctx_sender(ctx));
  }
  if (msg->descriptor == &bench__link__descriptor)
    return akt_lookup(akt_ctx_system(ctx), ((const Bench__Link *)msg)->next, &s->next);
  return AKT_EUNHANDLED;
}

static void member_post_stop(akt_ctx *ctx) {
  member_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->next);
}

static const akt_actor_def member_def = {.kind = "ring-member",
                                         .state_size = sizeof(member_state),
                                         .receive = member_receive,
                                         .post_stop = member_post_stop};

int wl_threadring(akt_system *sys, const bench_params *p, double *value) {
  int64_t n = p->threadring_size;
  akt_pid **ring = calloc((size_t)n, sizeof *ring);
  if (!ring) return AKT_ENOMEM;
  static int generation;
  generation++;
  int rc = 0;
  for (int64_t i = 0; i < n && rc == 0; i++) {
    char name[32];
    snprintf(name, sizeof name, "ring%d-%" PRId64, generation, i);
    rc = akt_spawn(sys, name, &member_def, NULL, &ring[i]);
  }
  for (int64_t i = 0; i < n && rc == 0; i++) {
    char next[64];
    snprintf(next, sizeof next, "/user/ring%d-%" PRId64, generation, (i + 1) % n);
    Bench__Link l = BENCH__LINK__INIT;
    l.next = next;
    rc = akt_tell(ring[i], &l.base);
  }
  Bench__Token t = BENCH__TOKEN__INIT;
  t.hops = p->threadring_hops;
  uint64_t t0 = bench_now();
  if (!rc) rc = ask_n(ring[0], &t.base) < 0 ? AKT_EFAILED : 0;
  uint64_t t1 = bench_now();
  for (int64_t i = 0; i < n; i++) {
    if (ring[i]) akt_stop(ring[i]);
    akt_pid_release(ring[i]);
  }
  free(ring);
  if (rc) return rc;
  *value = (double)(t1 - t0) / (double)p->threadring_hops;
  return 0;
}
