/* Internal utilities: the seeded generators, the id set, the MPSC queue,
 * the object pool. */
#include <pthread.h>

#include "../support/both.h"
#include "src/actor/mpsc.h"
#include "src/util/pool.h"
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
  /* Every push counted once, racing producers included; the consumer's
   * stub pushes not at all. */
  assert_int_equal(akt__mpsc_pushed(&q), PRODUCERS * PER_PRODUCER);
}

/* Objects of every class start on a cache line and hold their whole size;
 * more than the depot keeps goes back to malloc (ASan and valgrind check
 * that each free matches its allocation). */
static void pool_objects_are_line_aligned_and_recycled(void **state) {
  (void)state;
  enum { MANY = 20000 }; /* class 4: more than the depot's 16 MiB */
  for (unsigned c = 0; c < AKT__POOL_CLASSES; c++) {
    size_t size = (size_t)64 << c;
    uint8_t cls;
    unsigned char *p = akt__pool_alloc(size, &cls);
    assert_non_null(p);
    assert_int_equal(cls, c);
    assert_int_equal((uintptr_t)p % AKT__POOL_ALIGN, 0);
    memset(p, 0xab, size);
    akt__pool_free(p, cls);
  }
  void **objs = calloc(MANY, sizeof *objs);
  assert_non_null(objs);
  uint8_t cls = 0;
  for (int i = 0; i < MANY; i++) {
    objs[i] = akt__pool_alloc(AKT__POOL_MAX_SIZE, &cls);
    assert_non_null(objs[i]);
    assert_int_equal((uintptr_t)objs[i] % AKT__POOL_ALIGN, 0);
    memset(objs[i], i & 0xff, AKT__POOL_MAX_SIZE);
  }
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(((unsigned char *)objs[i])[AKT__POOL_MAX_SIZE - 1], i & 0xff);
    akt__pool_free(objs[i], cls);
  }
  free(objs);
  /* Larger than any class: plain malloc, freed as such. */
  void *big = akt__pool_alloc(AKT__POOL_MAX_SIZE + 1, &cls);
  assert_non_null(big);
  assert_int_equal(cls, AKT__POOL_NONE);
  akt__pool_free(big, cls);
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
  assert_int_equal(akt__mpsc_pushed(&q), 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mpsc_with_one_node_left_is_not_empty),
    cmocka_unit_test(pool_objects_are_line_aligned_and_recycled),
    cmocka_unit_test(rng_streams_are_reproducible_and_distinct),
    cmocka_unit_test(rng_below_is_in_range_and_roughly_uniform),
    cmocka_unit_test(u64set_adds_finds_and_removes),
    cmocka_unit_test(mpsc_keeps_each_producers_order),
};

AKT_TEST_MAIN("util", tests)
