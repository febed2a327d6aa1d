/* akt — what the fuzz harnesses share: cutting an input into pieces, and a
 * small simulated world to decode into.
 *
 * A world is built and freed for every input: it costs tens of
 * microseconds, and it is the only way to be sure that one input cannot
 * change what the next one does (afl's stability, and replays that match).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.pb-c.h"
#include "fuzz/harness.h"

const akt_fuzz_target akt_fuzz_targets[] = {
    {"frame", akt_fuzz_frame},
    {"handshake", akt_fuzz_handshake},
    {"dispatch", akt_fuzz_dispatch},
    {"auth", akt_fuzz_auth},
    {"mdns", akt_fuzz_mdns},
    {NULL, NULL},
};

_Noreturn void akt_fuzz_die(const char *what) {
  fprintf(stderr, "akt-fuzz: %s\n", what);
  fflush(stderr);
  abort();
}

static void check(int rc, const char *what) {
  if (rc == 0) return;
  char buf[256];
  snprintf(buf, sizeof buf, "setup failed: %s: %s", what, akt_strerror(rc));
  akt_fuzz_die(buf);
}

/* ---- pieces ------------------------------------------------------------------ */

int akt_fuzz_split(const uint8_t *data, size_t len, akt_fuzz_piece_fn fn, void *arg) {
  if (len == 0) return 0;
  unsigned k = data[0];
  data++;
  len--;
  if (k == 0) return len ? fn(arg, data, len) : 0;
  /* xorshift32: any non-zero seed works, and k is never 0 here. */
  uint32_t x = 0x9e3779b9u ^ k;
  while (len > 0) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    size_t n = 1 + x % k;
    if (n > len) n = len;
    int rc = fn(arg, data, n);
    if (rc) return rc;
    data += n;
    len -= n;
  }
  return 0;
}

/* ---- actors ------------------------------------------------------------------- */

/* Replies with what it got. A reply that cannot go (no sender, a full
 * queue) is not this actor's failure. */
static int echo_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_reply(ctx, msg);
  return 0;
}

static const akt_actor_def echo_def = {.kind = "echo", .receive = echo_receive};

typedef struct {
  int64_t total;
} counter_state;

static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  counter_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &akt__fuzz__add__descriptor)) {
    /* Unsigned: the amount is the peer's, and may overflow. */
    s->total = (int64_t)((uint64_t)s->total + (uint64_t)((const Akt__Fuzz__Add *)msg)->amount);
    return 0;
  }
  if (akt_msg_is(msg, &akt__fuzz__get__descriptor)) {
    Akt__Fuzz__Total t = AKT__FUZZ__TOTAL__INIT;
    t.value = s->total;
    akt_reply(ctx, &t.base);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def counter_def = {
    .kind = "counter", .state_size = sizeof(counter_state), .receive = counter_receive};

static int parent_pre_start(akt_ctx *ctx) {
  return akt_spawn_child(ctx, "child", &echo_def, NULL, NULL);
}

static int parent_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

static const akt_actor_def parent_def = {
    .kind = "parent", .pre_start = parent_pre_start, .receive = parent_receive};

/* node1's receiver of replies: takes everything, answers nothing (an echo
 * there would ping-pong with node0's echo until the step bound). */
static int sink_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

static const akt_actor_def sink_def = {.kind = "sink", .receive = sink_receive};

/* ---- the world ------------------------------------------------------------------- */

static const ProtobufCMessageDescriptor *const fuzz_types[] = {
    &akt__fuzz__add__descriptor, &akt__fuzz__get__descriptor, &akt__fuzz__total__descriptor,
    &akt__fuzz__echo__descriptor};

/* Log lines are formatted (with the peer's strings in them) but go
 * nowhere: writing them would cost more than the decoding. */
static void quiet_sink(akt_log_level level, const char *line, void *data) {
  (void)level;
  (void)line;
  (void)data;
}

static void spawn(akt_system *sys, const char *name, const akt_actor_def *def) {
  akt_pid *pid = NULL;
  check(akt_spawn(sys, name, def, NULL, &pid), name);
  akt_pid_release(pid);
}

void akt_fuzz_world_up(akt_fuzz_world *fw, unsigned nnodes) {
  static const char *const names[2] = {AKT_FUZZ_SYSTEM, AKT_FUZZ_PEER_SYSTEM};
  memset(fw, 0, sizeof *fw);
  if (nnodes < 1 || nnodes > 2) akt_fuzz_die("akt_fuzz_world_up: 1 or 2 nodes");
  akt_sim_options so = {.seed = AKT_FUZZ_SEED};
  check(akt_sim_world_new(&so, &fw->world), "world");
  fw->nnodes = nnodes;
  for (unsigned i = 0; i < nnodes; i++) {
    check(akt_sim_node_new(fw->world, names[i], &fw->backends[i]), "node");
    /* A small throughput bounds the work of one step: two actors that
     * answer each other run until AKT_FUZZ_MAX_STEPS, not for ever. */
    akt_system_options opts = {.host = names[i], .throughput = AKT_FUZZ_THROUGHPUT,
                               .log_level = AKT_LOG_DEBUG, .log_sink = quiet_sink};
    check(akt_system_new(names[i], fw->backends[i], &opts, &fw->systems[i]), "system");
    akt_system *sys = fw->systems[i];
    static const char *const kinds[] = {"counter"};
    static const char *const stops[] = {"/user/parent/"};
    akt_remote_options ro = {.port = AKT_FUZZ_PORT,
                             .security = {.cookie = AKT_FUZZ_COOKIE,
                                          .spawn_kinds = {kinds, 1},
                                          .stop_paths = {stops, 1}}};
    check(akt_remote_start(sys, &ro), "remoting");
    for (size_t t = 0; t < sizeof fuzz_types / sizeof fuzz_types[0]; t++)
      check(akt_system_register_type(sys, fuzz_types[t]), "type");
  }
  akt_system *sys = fw->systems[0];
  spawn(sys, "echo", &echo_def);
  spawn(sys, "counter", &counter_def);
  spawn(sys, "parent", &parent_def);
  check(akt_remote_register_kind(sys, &counter_def), "kind");
  if (nnodes > 1) spawn(fw->systems[1], "sink", &sink_def);
  /* The actors' pre_starts, before any input. */
  akt_fuzz_world_run(fw);
}

typedef struct {
  uint64_t steps;
} run_budget;

/* Checked before every step: spends one step of the budget. */
static int budget_spent(void *arg) {
  run_budget *b = arg;
  return b->steps++ >= AKT_FUZZ_MAX_STEPS;
}

void akt_fuzz_world_run(akt_fuzz_world *fw) {
  /* Not akt_sim_run_until_idle: a reconnecting endpoint or two actors
   * replying to each other keep a world busy for ever. */
  run_budget b = {0};
  int rc = akt_sim_run_until(fw->world, budget_spent, &b, akt_sim_now(fw->world) + AKT_FUZZ_RUN_FOR);
  if (rc != 0 && rc != AKT_ETIMEDOUT) check(rc, "running the world");
}

/* With AKT_FUZZ_VERBOSE set, what an input did (for triage). */
static void report(const akt_fuzz_world *fw) {
  for (unsigned i = 0; i < fw->nnodes; i++) {
    akt_remote_stats r;
    akt_system_stats s;
    akt_remote_get_stats(fw->systems[i], &r);
    akt_system_get_stats(fw->systems[i], &s);
    fprintf(stderr,
            "akt-fuzz: %s: frames in %llu, envelopes in %llu, protocol errors %llu, limit errors "
            "%llu, refused %llu, unknown types %llu, connections opened %llu; processed %llu, "
            "dead letters %llu, unhandled %llu, failures %llu, spawned %llu; t=%llu ns, "
            "%llu steps\n",
            akt_system_name(fw->systems[i]), (unsigned long long)r.frames_in,
            (unsigned long long)r.envelopes_in, (unsigned long long)r.protocol_errors,
            (unsigned long long)r.limit_errors, (unsigned long long)r.handshakes_refused,
            (unsigned long long)r.unknown_types, (unsigned long long)r.connections_opened,
            (unsigned long long)s.processed, (unsigned long long)s.dead_letters,
            (unsigned long long)s.unhandled, (unsigned long long)s.failures,
            (unsigned long long)s.spawned, (unsigned long long)akt_sim_now(fw->world),
            (unsigned long long)akt_sim_steps(fw->world));
  }
}

void akt_fuzz_world_down(akt_fuzz_world *fw) {
  if (getenv("AKT_FUZZ_VERBOSE")) report(fw);
  /* Shutdown may be refused a clean end (an actor that never stops would
   * be a finding of its own): what matters here is that free releases
   * everything either way. */
  for (unsigned i = 0; i < fw->nnodes; i++) akt_system_shutdown(fw->systems[i], AKT_SECONDS(30));
  for (unsigned i = 0; i < fw->nnodes; i++) akt_system_free(fw->systems[i]);
  akt_sim_world_free(fw->world);
  memset(fw, 0, sizeof *fw);
}
