/* akt demo: the same actors on the simulator and on the libuv backend.
 *
 * A ring of 100 actors passes a token around; a pinger plays request/reply
 * ping-pong with a ponger. On the simulator both run on two nodes of one
 * world, seeded: the run prints its seed and trace digest, which are equal
 * for equal seeds. Then the same code runs on real threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "akt/akt.h"
#include "akt/sim.h"
#include "akt/transport.h"
#include "demo.pb-c.h"

#define RING 100
#define HOPS 10000
#define ROUNDS 1000

/* ---- the ring ------------------------------------------------------------ */

typedef struct {
  akt_pid *next;
} member_state;

static int member_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  member_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &demo__link__descriptor)) {
    return akt_lookup(akt_ctx_system(ctx), ((const Demo__Link *)msg)->next, &s->next);
  }
  if (akt_msg_is(msg, &demo__token__descriptor)) {
    const Demo__Token *t = (const Demo__Token *)msg;
    if (t->hops == 0) {
      Demo__Done done = DEMO__DONE__INIT;
      done.count = HOPS;
      return akt_reply(ctx, &done.base); /* to whoever started the token */
    }
    Demo__Token next = DEMO__TOKEN__INIT;
    next.hops = t->hops - 1;
    /* Keep the original sender so the last member can answer it. */
    return akt_tell_as(s->next, &next.base, akt_ctx_sender(ctx));
  }
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

/* ---- ping-pong ------------------------------------------------------------ */

static int ponger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &demo__ball__descriptor)) return AKT_EUNHANDLED;
  return akt_reply(ctx, msg);
}

static const akt_actor_def ponger_def = {.kind = "ponger", .receive = ponger_receive};

typedef struct {
  akt_pid *ponger, *client;
  int64_t rounds, done;
  uint64_t started;
} pinger_state;

static int serve(akt_ctx *ctx);

static int on_ball(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)reply;
  (void)arg;
  pinger_state *s = akt_ctx_state(ctx);
  if (status) return status;
  s->done++;
  return serve(ctx);
}

static int serve(akt_ctx *ctx) {
  pinger_state *s = akt_ctx_state(ctx);
  if (s->done == s->rounds) {
    Demo__Done done = DEMO__DONE__INIT;
    done.count = s->done;
    done.elapsed_ns = akt_ctx_now(ctx) - s->started;
    int rc = akt_send(ctx, s->client, &done.base);
    akt_pid_release(s->client);
    s->client = NULL;
    return rc;
  }
  Demo__Ball ball = DEMO__BALL__INIT;
  ball.n = s->done;
  return akt_request(ctx, s->ponger, &ball.base, AKT_SECONDS(1), on_ball, NULL);
}

static int pinger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  pinger_state *s = akt_ctx_state(ctx);
  if (!akt_msg_is(msg, &demo__play__descriptor)) return AKT_EUNHANDLED;
  if (!s->ponger) {
    int rc = akt_spawn_child(ctx, "ponger", &ponger_def, NULL, &s->ponger);
    if (rc) return rc;
  }
  s->rounds = ((const Demo__Play *)msg)->rounds;
  s->done = 0;
  s->started = akt_ctx_now(ctx);
  s->client = akt_pid_retain(akt_ctx_sender(ctx));
  return serve(ctx);
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

/* ---- the two workloads ---------------------------------------------------- */

/* Spawns the ring on `sys`; returns its first member (a new reference). */
static int spawn_ring(akt_system *sys, akt_pid **first) {
  akt_pid *members[RING];
  for (int i = 0; i < RING; i++) {
    char name[16];
    snprintf(name, sizeof name, "m%d", i);
    int rc = akt_spawn(sys, name, &member_def, NULL, &members[i]);
    if (rc) return rc;
  }
  for (int i = 0; i < RING; i++) {
    char next[32];
    snprintf(next, sizeof next, "/user/m%d", (i + 1) % RING);
    Demo__Link link = DEMO__LINK__INIT;
    link.next = next;
    akt_tell(members[i], &link.base);
    if (i) akt_pid_release(members[i]);
  }
  *first = members[0];
  return 0;
}

static int run_ring(akt_system *sys, uint64_t *elapsed) {
  akt_pid *first;
  int rc = spawn_ring(sys, &first);
  if (rc) return rc;
  Demo__Token t = DEMO__TOKEN__INIT;
  t.hops = HOPS;
  ProtobufCMessage *reply = NULL;
  uint64_t t0 = akt_system_now(sys);
  rc = akt_ask(first, &t.base, AKT_SECONDS(30), &reply);
  *elapsed = akt_system_now(sys) - t0;
  akt_msg_free(reply);
  akt_pid_release(first);
  return rc;
}

static int run_pingpong(akt_system *sys, uint64_t *elapsed) {
  akt_pid *pinger;
  int rc = akt_spawn(sys, "pinger", &pinger_def, NULL, &pinger);
  if (rc) return rc;
  Demo__Play play = DEMO__PLAY__INIT;
  play.rounds = ROUNDS;
  ProtobufCMessage *reply = NULL;
  rc = akt_ask(pinger, &play.base, AKT_SECONDS(30), &reply);
  if (!rc) *elapsed = ((Demo__Done *)reply)->elapsed_ns;
  akt_msg_free(reply);
  akt_pid_release(pinger);
  return rc;
}

/* `clock` says which time the durations are: on the simulator they are
 * virtual (its model of a turn's cost), not a measurement of this machine. */
static void print_rates(const char *what, uint64_t ns, uint64_t ops, const char *unit,
                        const char *clock) {
  printf("  %-9s %" PRIu64 " %s in %.3f %sms (%.0f %sns each)\n", what, ops, unit, ns / 1e6,
         clock, (double)ns / (double)ops, clock);
}

/* ---- main ------------------------------------------------------------------ */

static int demo_sim(uint64_t seed, const char *trace) {
  akt_sim_world *w;
  akt_sim_options wo = {.seed = seed, .trace_path = trace};
  int rc = akt_sim_world_new(&wo, &w);
  if (rc) return rc;
  akt_backend *ba, *bb;
  akt_system *a = NULL, *b = NULL;
  akt_system_options oa = {.host = "node-a", .port = 7000}, ob = {.host = "node-b", .port = 7000};
  uint64_t ring_ns = 0, pp_ns = 0;
  if (!(rc = akt_sim_node_new(w, "node-a", &ba)) && !(rc = akt_sim_node_new(w, "node-b", &bb)) &&
      !(rc = akt_system_new("demo", ba, &oa, &a)) && !(rc = akt_system_new("demo", bb, &ob, &b)) &&
      !(rc = run_ring(a, &ring_ns)) && !(rc = run_pingpong(b, &pp_ns))) {
    printf("akt demo on the simulator: two nodes, one world, seeded; times are virtual\n");
    print_rates("ring:", ring_ns, HOPS, "token hops on node-a", "virtual ");
    print_rates("pingpong:", pp_ns, ROUNDS, "request/reply round trips on node-b", "virtual ");
  }
  akt_system_free(a);
  akt_system_free(b);
  if (!rc)
    printf("  seed=%" PRIu64 " digest=%016" PRIx64 " records=%" PRIu64 " virtual=%.6fs\n", seed,
           akt_sim_digest(w), akt_sim_records(w), akt_sim_now(w) / 1e9);
  akt_sim_world_free(w);
  return rc;
}

static int demo_uv(void) {
  akt_backend *b;
  int rc = akt_uv_backend_new(NULL, &b);
  if (rc) return rc;
  akt_system *sys = NULL;
  uint64_t ring_ns = 0, pp_ns = 0;
  if (!(rc = akt_system_new("demo", b, NULL, &sys)) && !(rc = run_ring(sys, &ring_ns)) &&
      !(rc = run_pingpong(sys, &pp_ns))) {
    printf("akt demo on the libuv backend: %u worker threads, real time\n",
           akt_uv_backend_workers(b));
    print_rates("ring:", ring_ns, HOPS, "token hops", "");
    print_rates("pingpong:", pp_ns, ROUNDS, "request/reply round trips", "");
  }
  akt_system_free(sys);
  akt_uv_backend_free(b);
  return rc;
}

static void usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [--seed N] [--trace FILE]\n"
          "Runs a token ring and a request/reply ping-pong on the simulator (printing\n"
          "the seed and the trace digest), then on the libuv backend.\n"
          "  --seed N      simulator seed, decimal or 0x-hex (default 1)\n"
          "  --trace FILE  write the simulator's trace records to FILE\n",
          prog);
}

int main(int argc, char **argv) {
  uint64_t seed = 1;
  const char *trace = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      char *end;
      errno = 0;
      seed = strtoull(argv[++i], &end, 0);
      if (errno || *end) {
        fprintf(stderr, "%s: --seed needs a number, got '%s'\n", argv[0], argv[i]);
        return 2;
      }
    } else if (!strcmp(argv[i], "--trace") && i + 1 < argc) {
      trace = argv[++i];
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout, argv[0]);
      return 0;
    } else {
      usage(stderr, argv[0]);
      return 2;
    }
  }
  int rc = demo_sim(seed, trace);
  if (rc) {
    fprintf(stderr, "simulated demo failed: %s\n", akt_strerror(rc));
    return 1;
  }
  rc = demo_uv();
  if (rc) {
    fprintf(stderr, "libuv demo failed: %s\n", akt_strerror(rc));
    return 1;
  }
  return 0;
}
