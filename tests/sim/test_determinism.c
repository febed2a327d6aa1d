/* Determinism: a workload of 120 actors on two simulated nodes, with seeded
 * random forwarding and timers, gives the same digest and a byte-identical
 * trace file for the same seed, and a different trace for another seed. */
#include <stdio.h>
#include <unistd.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "akt/sim.h"

#define PER_NODE 60

typedef struct directory {
  akt_pid *pids[PER_NODE];
} directory;

static int hopper_pre_start(akt_ctx *ctx) {
  Ping tick = PING__INIT;
  akt_duration every = AKT_MILLIS(10 + akt_ctx_random(ctx) % 90);
  return akt_timer_start(ctx, 1, every, every, &tick.base);
}

static int pass_token(akt_ctx *ctx, int64_t hops) {
  const directory *dir = akt_ctx_arg(ctx);
  Token t = TOKEN__INIT;
  t.hops = hops;
  t.origin = akt_pid_id(akt_ctx_self(ctx));
  return akt_send(ctx, dir->pids[akt_ctx_random(ctx) % PER_NODE], &t.base);
}

static int hopper_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &token__descriptor)) {
    int64_t hops = ((const Token *)msg)->hops;
    return hops > 0 ? pass_token(ctx, hops - 1) : 0;
  }
  if (akt_msg_is(msg, &ping__descriptor)) {
    if (akt_ctx_random(ctx) % 4 == 0) return pass_token(ctx, 5);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def hopper_def = {
    .kind = "hopper", .pre_start = hopper_pre_start, .receive = hopper_receive};

/* Runs the workload; returns the digest and the number of records. */
static uint64_t run(uint64_t seed, const char *trace_path, uint64_t *records) {
  akt_sim_world *w = NULL;
  akt_sim_options wo = {.seed = seed, .trace_path = trace_path};
  assert_int_equal(akt_sim_world_new(&wo, &w), 0);
  akt_system *systems[2];
  directory dirs[2];
  for (int n = 0; n < 2; n++) {
    char name[8];
    snprintf(name, sizeof name, "n%d", n);
    akt_backend *b;
    assert_int_equal(akt_sim_node_new(w, name, &b), 0);
    akt_system_options so = {.host = name};
    assert_int_equal(akt_system_new(name, b, &so, &systems[n]), 0);
    akt_spawn_opts o = {.arg = &dirs[n]};
    for (int i = 0; i < PER_NODE; i++)
      assert_int_equal(akt_spawn(systems[n], NULL, &hopper_def, &o, &dirs[n].pids[i]), 0);
  }
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(3)), 0);
  for (int n = 0; n < 2; n++) {
    assert_int_equal(akt_system_shutdown(systems[n], AKT_SECONDS(10)), 0);
    for (int i = 0; i < PER_NODE; i++) akt_pid_release(dirs[n].pids[i]);
    akt_system_free(systems[n]);
  }
  uint64_t digest = akt_sim_digest(w);
  *records = akt_sim_records(w);
  akt_sim_world_free(w);
  return digest;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void temp_path(char *path) {
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

static void same_seed_same_trace_other_seed_other_trace(void **state) {
  (void)state;
  char p1[] = "/tmp/akt-det-1-XXXXXX", p2[] = "/tmp/akt-det-2-XXXXXX",
       p3[] = "/tmp/akt-det-3-XXXXXX";
  temp_path(p1);
  temp_path(p2);
  temp_path(p3);
  uint64_t r1, r2, r3;
  uint64_t d1 = run(0x5eed0001, p1, &r1);
  uint64_t d2 = run(0x5eed0001, p2, &r2);
  uint64_t d3 = run(0x5eed0002, p3, &r3);
  assert_true(r1 > 10000); /* the workload really ran */
  assert_int_equal(d1, d2);
  assert_int_equal(r1, r2);
  assert_true(d1 != d3);
  size_t l1, l2, l3;
  char *t1 = slurp(p1, &l1), *t2 = slurp(p2, &l2), *t3 = slurp(p3, &l3);
  assert_int_equal(l1, l2);
  assert_memory_equal(t1, t2, l1);
  assert_false(l1 == l3 && memcmp(t1, t3, l1) == 0);
  free(t1);
  free(t2);
  free(t3);
  unlink(p1);
  unlink(p2);
  unlink(p3);
}

static void the_digest_does_not_depend_on_tracing_to_a_file(void **state) {
  (void)state;
  char p[] = "/tmp/akt-det-XXXXXX";
  temp_path(p);
  uint64_t r1, r2;
  assert_int_equal(run(7, p, &r1), run(7, NULL, &r2));
  assert_int_equal(r1, r2);
  unlink(p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(same_seed_same_trace_other_seed_other_trace),
    cmocka_unit_test(the_digest_does_not_depend_on_tracing_to_a_file),
};

AKT_TEST_MAIN("sim/determinism", tests)
