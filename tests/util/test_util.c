/* Internal utilities: the seeded generators, the id set, the MPSC queue. */
#include <pthread.h>

#include "../support/both.h"
#include "src/actor/mpsc.h"
#include "src/util/rng.h"
#include "src/util/u64set.h"

static void rng_streams_are_reproducible_and_distinct(void **state) {
  (void)state;
  akt__rng a, b, c;
  akt__rng_seed(&a, 1);
  akt__rng_seed(&b, 1);
  akt__rng_seed(&c, 2);
  int same_c = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = akt__rng_next(&a);
    assert_true(x == akt__rng_next(&b));
    if (x == akt__rng_next(&c)) same_c++;
  }
  assert_int_equal(same_c, 0);
  assert_true(akt__rng_derive(5, "sched") == akt__rng_derive(5, "sched"));
  assert_true(akt__rng_derive(5, "sched") != akt__rng_derive(5, "node:a"));
  assert_true(akt__rng_derive(5, "sched") != akt__rng_derive(6, "sched"));
}

static void rng_below_is_in_range_and_roughly_uniform(void **state) {
  (void)state;
  akt__rng r;
  akt__rng_seed(&r, 99);
  unsigned counts[7] = {0};
  for (int i = 0; i < 70000; i++) {
    uint64_t v = akt__rng_below(&r, 7);
    assert_true(v < 7);
    counts[v]++;
  }
  for (int i = 0; i < 7; i++) assert_true(counts[i] > 9000 && counts[i] < 11000);
  assert_int_equal(akt__rng_below(&r, 1), 0);
}

static void u64set_adds_finds_and_removes(void **state) {
  (void)state;
  akt__u64set s = {0};
  assert_false(akt__u64set_has(&s, 1));
  assert_int_equal(akt__u64set_add(&s, 0), AKT_EINVAL);
  for (uint64_t k = 1; k <= 5000; k++) assert_int_equal(akt__u64set_add(&s, k * 64), 0);
  assert_int_equal(s.count, 5000);
  assert_int_equal(akt__u64set_add(&s, 64), 0);
  assert_int_equal(s.count, 5000);
  for (uint64_t k = 1; k <= 5000; k += 2) assert_true(akt__u64set_remove(&s, k * 64));
  for (uint64_t k = 1; k <= 5000; k++) assert_int_equal(akt__u64set_has(&s, k * 64), k % 2 == 0);
  assert_false(akt__u64set_remove(&s, 64));
  assert_int_equal(s.count, 2500);
  akt__u64set_free(&s);
  assert_false(akt__u64set_has(&s, 128));
}

typedef struct item {
  akt__mpsc_node node;
  int producer, seq;
} item;

enum { PRODUCERS = 4, PER_PRODUCER = 50000 };

typedef struct {
  akt__mpsc *q;
  item *items;
  int id;
} producer_arg;

static void *produce(void *arg) {
  producer_arg *pa = arg;
  for (int i = 0; i < PER_PRODUCER; i++) {
    item *it = &pa->items[i];
    it->producer = pa->id;
    it->seq = i;
    akt__mpsc_push(pa->q, &it->node);
  }
  return NULL;
}

static void mpsc_keeps_each_producers_order(void **state) {
  (void)state;
  akt__mpsc q;
  akt__mpsc_init(&q);
  assert_null(akt__mpsc_pop(&q));
  assert_false(akt__mpsc_maybe_nonempty(&q));
  pthread_t threads[PRODUCERS];
  producer_arg args[PRODUCERS];
  for (int p = 0; p < PRODUCERS; p++) {
    args[p] = (producer_arg){.q = &q, .items = calloc(PER_PRODUCER, sizeof(item)), .id = p};
    pthread_create(&threads[p], NULL, produce, &args[p]);
  }
  int next[PRODUCERS] = {0};
  int received = 0;
  while (received < PRODUCERS * PER_PRODUCER) {
    akt__mpsc_node *n = akt__mpsc_pop(&q);
    if (!n) continue; /* empty, or a push half done: look again */
    item *it = (item *)n;
    assert_int_equal(it->seq, next[it->producer]);
    next[it->producer]++;
    received++;
  }
  for (int p = 0; p < PRODUCERS; p++) {
    pthread_join(threads[p], NULL);
    free(args[p].items);
  }
  assert_null(akt__mpsc_pop(&q));
  assert_false(akt__mpsc_maybe_nonempty(&q));
}

static void mpsc_with_one_node_left_is_not_empty(void **state) {
  (void)state;
  akt__mpsc q;
  akt__mpsc_init(&q);
  item a = {0}, b = {0};
  akt__mpsc_push(&q, &a.node);
  akt__mpsc_push(&q, &b.node);
  assert_ptr_equal(akt__mpsc_pop(&q), &a.node);
  /* The tail now rests on b: head == tail and b has no next, yet b waits. */
  assert_true(akt__mpsc_maybe_nonempty(&q));
  assert_ptr_equal(akt__mpsc_pop(&q), &b.node);
  assert_false(akt__mpsc_maybe_nonempty(&q));
  assert_null(akt__mpsc_pop(&q));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mpsc_with_one_node_left_is_not_empty),
    cmocka_unit_test(rng_streams_are_reproducible_and_distinct),
    cmocka_unit_test(rng_below_is_in_range_and_roughly_uniform),
    cmocka_unit_test(u64set_adds_finds_and_removes),
    cmocka_unit_test(mpsc_keeps_each_producers_order),
};

AKT_TEST_MAIN("util", tests)
