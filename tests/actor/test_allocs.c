/* No malloc per message in steady state: tell and pingpong, counted with a
 * wrapping allocator (the binary links with --wrap=malloc,calloc,realloc,
 * posix_memalign, so every allocation akt makes goes through the counters
 * below). */
#include <stdatomic.h>
#include <stdio.h>

#include "../support/both.h"
#include "test.pb-c.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);

static atomic_long allocations;

void *__wrap_malloc(size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __real_realloc(p, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __real_posix_memalign(p, align, n);
}

/* Counts Pings; answers Get with Total. */
static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  int64_t *n = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = *n;
    return akt_reply(ctx, &t.base);
  }
  (*n)++;
  return 0;
}
static const akt_actor_def counter_def = {
    .kind = "counter", .state_size = sizeof(int64_t), .receive = counter_receive};

/* Bounces Ping{n} with its partner (its arg, or the sender) until n hits
 * zero, then tells the probe in the other slot. */
typedef struct bounce_state {
  akt_pid *report;
} bounce_state;

static int bounce_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const Ping *p = (const Ping *)msg;
  if (p->n == 0) return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), msg);
  Ping next = PING__INIT;
  next.n = p->n - 1;
  return akt_reply(ctx, &next.base);
}
static const akt_actor_def bounce_def = {.kind = "bounce", .receive = bounce_receive};

/* The allowance: none on the simulator (one thread: every envelope freed
 * is reused by the next send). On libuv magazines move between threads
 * through the depot: a thread may allocate a magazine now and then, and a
 * sender that outruns its receiver (a busy machine) may find the blocks it
 * needs still parked in the receiver's two magazines (2 × 64 per worker)
 * and allocate that many once. Either is far below one per message. A
 * burst stays under the depot's bound (AKT__POOL_DEPOT_BYTES per class):
 * the simulator queues a whole burst before the receiver runs. */
#define BURST 10000
static long allowance(long messages) {
  return akt_test_backend == AKT_TESTKIT_SIM ? 0 : messages / 20;
}

static void tell_allocates_nothing_per_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Ping ping = PING__INIT;
  Get get = GET__INIT;
  ProtobufCMessage *reply;
  for (int round = 0; round < 3; round++) {
    long before = atomic_load(&allocations);
    for (int i = 0; i < BURST; i++) assert_int_equal(akt_tell(c, &ping.base), 0);
    long during = atomic_load(&allocations) - before;
    assert_int_equal(akt_ask(c, &get.base, AKT_SECONDS(10), &reply), 0);
    assert_int_equal(((Total *)reply)->value, (round + 1) * BURST);
    akt_msg_free(reply);
    if (round > 0) {
      print_message("tell round %d: %ld allocations for %d messages\n", round, during, BURST);
      assert_true(during <= allowance(BURST));
    }
  }
  akt_testkit_free(tk);
}

static void pingpong_allocates_nothing_per_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &bounce_def, &o);
  akt_pid *b = akt_testkit_spawn_opts(tk, "b", &bounce_def, &o);
  for (int round = 0; round < 3; round++) {
    Ping start = PING__INIT;
    start.n = BURST;
    long before = atomic_load(&allocations);
    akt_tell_as(a, &start.base, b); /* a replies to b, b to a, ... */
    akt_probe_expect_msg(p, &ping__descriptor, AKT_SECONDS(10));
    long during = atomic_load(&allocations) - before;
    if (round > 0) {
      print_message("pingpong round %d: %ld allocations for %d messages\n", round, during, BURST);
      /* Plus one: the round's last message goes to the probe, which keeps
       * its envelope (a pool block; the bounces themselves travel in the
       * mailboxes' slots and leave no block behind to reuse). */
      assert_true(during <= allowance(BURST) + 1);
    }
  }
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tell_allocates_nothing_per_message),
    cmocka_unit_test(pingpong_allocates_nothing_per_message),
};

AKT_TEST_MAIN_BOTH("actor/allocs", tests)
