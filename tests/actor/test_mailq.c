/* The default mailbox's segmented queue (src/actor/mailq.h): order across
 * segments, claims in progress, pointer slots, giving the segment back when
 * idle, and four racing producers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "../support/both.h"
#include "src/actor/mailq.h"
#include "src/actor/mailseg.h"

/* A test message in its slots: the slot word, then who sent it. */
typedef struct item {
  _Atomic uint64_t word;
  uint32_t producer, seq;
  uint32_t nslots;
  uint32_t fill; /* repeated through the rest of the claim */
} item;

typedef struct queue {
  _Alignas(16) akt__mailq_head h;
  akt__mailq_tail t;
} queue;

/* The producers' current segment. */
static akt__mailq_seg *head_seg(queue *q) {
  uint64_t at = atomic_load(&q->h.at);
  return (akt__mailq_seg *)(uintptr_t)(at & ~(uint64_t)(AKT__MAILQ_SEG_ALIGN - 1));
}

static void fill_item(item *it, uint32_t producer, uint32_t seq, unsigned nslots) {
  it->producer = producer;
  it->seq = seq;
  it->nslots = nslots;
  it->fill = producer * 1000003u + seq;
  uint32_t *rest = (uint32_t *)(void *)((char *)it + sizeof *it);
  size_t n = (nslots * AKT__MAILQ_SLOT_BYTES - sizeof *it) / sizeof *rest;
  for (size_t i = 0; i < n; i++) rest[i] = it->fill;
}

/* Checks the whole claim still holds what fill_item wrote. */
static void check_item(const item *it) {
  const uint32_t *rest = (const uint32_t *)(const void *)((const char *)it + sizeof *it);
  size_t n = (it->nslots * AKT__MAILQ_SLOT_BYTES - sizeof *it) / sizeof *rest;
  for (size_t i = 0; i < n; i++) assert_int_equal(rest[i], it->fill);
}

static item *send_item(queue *q, uint32_t producer, uint32_t seq, unsigned nslots) {
  item *it = akt__mailq_claim(&q->h, &q->t, nslots);
  assert_non_null(it);
  assert_int_equal((uintptr_t)it % AKT__MAILQ_SLOT_BYTES, 0);
  fill_item(it, producer, seq, nslots);
  akt__mailq_publish(it, nslots);
  return it;
}

static void an_empty_queue_holds_no_segment(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  int inl;
  assert_null(akt__mailq_pop(&q.h, &q.t, &inl));
  assert_false(akt__mailq_maybe_nonempty(&q.h, &q.t));
  assert_int_equal(q.t.at, 0);
  assert_int_equal(atomic_load(&q.h.at), 0);
  assert_int_equal(akt__mailq_pushed(&q.h), 0);
  akt__mailq_destroy(&q.h, &q.t);
}

static void claims_of_any_size_come_out_in_order_across_segments(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  /* Sizes 1..MAX_CLAIM in turn: many segments, most ending before their
   * last slot because the next claim did not fit. */
  enum { N = 2000 };
  for (uint32_t i = 0; i < N; i++) send_item(&q, 1, i, 1 + i % AKT__MAILQ_MAX_CLAIM);
  assert_int_equal(akt__mailq_pushed(&q.h), N);
  for (uint32_t i = 0; i < N; i++) {
    int inl = 0;
    item *it = akt__mailq_pop(&q.h, &q.t, &inl);
    assert_non_null(it);
    assert_true(inl);
    assert_int_equal(it->seq, i);
    assert_int_equal(it->nslots, 1 + i % AKT__MAILQ_MAX_CLAIM);
    check_item(it);
  }
  int inl;
  assert_null(akt__mailq_pop(&q.h, &q.t, &inl));
  assert_false(akt__mailq_maybe_nonempty(&q.h, &q.t));
  akt__mailq_destroy(&q.h, &q.t);
}

static void a_claim_still_being_written_holds_back_the_queue(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  int inl;
  /* Fill the first segment but for one slot, claim it without publishing,
   * then publish a message that lands in the next segment. */
  send_item(&q, 1, 0, 1);
  unsigned room = head_seg(&q)->cap - 1u; /* slots besides the header */
  for (unsigned i = 1; i + 1 < room; i++) send_item(&q, 1, i, 1);
  item *slow = akt__mailq_claim(&q.h, &q.t, 1);
  assert_non_null(slow);
  send_item(&q, 1, room, 2); /* does not fit: a new segment */
  for (unsigned i = 0; i + 1 < room; i++) {
    item *it = akt__mailq_pop(&q.h, &q.t, &inl);
    assert_non_null(it);
    assert_int_equal(it->seq, i);
  }
  /* The unpublished claim is next: nothing may come out, but the queue is
   * not empty. */
  assert_null(akt__mailq_pop(&q.h, &q.t, &inl));
  assert_true(akt__mailq_maybe_nonempty(&q.h, &q.t));
  fill_item(slow, 1, room - 1, 1);
  akt__mailq_publish(slow, 1);
  item *it = akt__mailq_pop(&q.h, &q.t, &inl);
  assert_non_null(it);
  assert_int_equal(it->seq, room - 1);
  it = akt__mailq_pop(&q.h, &q.t, &inl);
  assert_non_null(it);
  assert_int_equal(it->seq, room);
  check_item(it);
  assert_null(akt__mailq_pop(&q.h, &q.t, &inl));
  akt__mailq_destroy(&q.h, &q.t);
}

static void segments_start_small_and_double(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  int inl;
  /* One queued message holds the smallest segment: 256 bytes. */
  send_item(&q, 1, 0, 1);
  assert_int_equal(head_seg(&q)->cap, 4);
  assert_non_null(akt__mailq_pop(&q.h, &q.t, &inl));
  akt__mailq_release_idle(&q.h, &q.t);
  /* A stream: each segment twice the last, up to 64 slots (4 KiB). */
  static const unsigned want[8] = {4, 8, 16, 32, 64, 64, 64, 64};
  akt__mailq_seg *last = NULL;
  unsigned n = 0;
  uint32_t sent = 0;
  while (n < 8) {
    send_item(&q, 1, sent++, 1);
    akt__mailq_seg *s = head_seg(&q);
    if (s != last) {
      assert_int_equal(s->cap, want[n]);
      assert_int_equal((uintptr_t)s % AKT__MAILQ_SEG_ALIGN, 0);
      n++;
      last = s;
    }
  }
  for (uint32_t i = 0; i < sent; i++) {
    item *it = akt__mailq_pop(&q.h, &q.t, &inl);
    assert_non_null(it);
    assert_int_equal(it->seq, i);
  }
  assert_null(akt__mailq_pop(&q.h, &q.t, &inl));
  akt__mailq_destroy(&q.h, &q.t);
}

static void pointers_and_inline_envelopes_share_one_order(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  int objs[100];
  for (int i = 0; i < 100; i++) {
    if (i % 3 == 0)
      assert_int_equal(akt__mailq_push_ptr(&q.h, &q.t, &objs[i]), 0);
    else
      send_item(&q, 1, (uint32_t)i, 1 + (unsigned)i % 3);
  }
  assert_int_equal(akt__mailq_pushed(&q.h), 100);
  for (int i = 0; i < 100; i++) {
    int inl = -1;
    void *p = akt__mailq_pop(&q.h, &q.t, &inl);
    assert_non_null(p);
    if (i % 3 == 0) {
      assert_false(inl);
      assert_ptr_equal(p, &objs[i]);
    } else {
      assert_true(inl);
      assert_int_equal(((item *)p)->seq, (uint32_t)i);
    }
  }
  akt__mailq_destroy(&q.h, &q.t);
}

static void an_idle_queue_gives_its_segment_back(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  int inl;
  send_item(&q, 1, 0, 1);
  send_item(&q, 1, 1, 1);
  assert_non_null(akt__mailq_pop(&q.h, &q.t, &inl));
  /* Something is still queued: the segment stays. */
  akt__mailq_release_idle(&q.h, &q.t);
  assert_int_not_equal(q.t.at, 0);
  assert_non_null(akt__mailq_pop(&q.h, &q.t, &inl));
  akt__mailq_release_idle(&q.h, &q.t);
  assert_int_equal(q.t.at, 0);
  assert_int_equal(atomic_load(&q.h.at), 0);
  assert_false(akt__mailq_maybe_nonempty(&q.h, &q.t));
  /* The count goes on; the next claim starts a segment the consumer finds. */
  send_item(&q, 1, 2, 3);
  assert_true(akt__mailq_maybe_nonempty(&q.h, &q.t));
  item *it = akt__mailq_pop(&q.h, &q.t, &inl);
  assert_non_null(it);
  assert_int_equal(it->seq, 2);
  check_item(it);
  assert_int_equal(akt__mailq_pushed(&q.h), 3);
  akt__mailq_release_idle(&q.h, &q.t);
  /* Busy and idle again and again: segments are reused, not allocated. */
  uint64_t before = akt__mailq_seg_mallocs();
  for (uint32_t i = 0; i < 1000; i++) {
    send_item(&q, 1, i, 1);
    assert_non_null(akt__mailq_pop(&q.h, &q.t, &inl));
    akt__mailq_release_idle(&q.h, &q.t);
  }
  assert_int_equal(akt__mailq_seg_mallocs(), before);
  akt__mailq_destroy(&q.h, &q.t);
}

static void destroy_frees_what_was_never_popped(void **state) {
  (void)state;
  queue q;
  akt__mailq_init(&q.h, &q.t);
  for (uint32_t i = 0; i < 500; i++) send_item(&q, 1, i, 2);
  int inl;
  for (int i = 0; i < 10; i++) assert_non_null(akt__mailq_pop(&q.h, &q.t, &inl));
  akt__mailq_destroy(&q.h, &q.t); /* valgrind and ASan see the rest freed */
  assert_int_equal(q.t.at, 0);
  /* Destroyed is empty and usable again. */
  send_item(&q, 1, 0, 1);
  assert_non_null(akt__mailq_pop(&q.h, &q.t, &inl));
  akt__mailq_destroy(&q.h, &q.t);
}

/* ---- racing producers ---------------------------------------------------------- */

enum { PRODUCERS = 4, PER_PRODUCER = 50000 };

typedef struct race {
  queue q;
  _Atomic int go;
  uint32_t id[PRODUCERS];
} race;

static race the_race;

static void *producer(void *arg) {
  uint32_t id = *(uint32_t *)arg;
  while (!atomic_load(&the_race.go)) {
  }
  for (uint32_t i = 0; i < PER_PRODUCER; i++) {
    unsigned n = 1 + (id + i) % 3;
    item *it = akt__mailq_claim(&the_race.q.h, &the_race.q.t, n);
    if (!it) abort();
    fill_item(it, id, i, n);
    akt__mailq_publish(it, n);
  }
  return NULL;
}

static void racing_producers_keep_their_own_order(void **state) {
  (void)state;
  race *r = &the_race;
  akt__mailq_init(&r->q.h, &r->q.t);
  atomic_store(&r->go, 0);
  pthread_t th[PRODUCERS];
  for (uint32_t i = 0; i < PRODUCERS; i++) {
    r->id[i] = i;
    assert_int_equal(pthread_create(&th[i], NULL, producer, &r->id[i]), 0);
  }
  atomic_store(&r->go, 1);
  uint32_t next[PRODUCERS] = {0};
  long got = 0, empty = 0;
  while (got < (long)PRODUCERS * PER_PRODUCER) {
    int inl;
    item *it = akt__mailq_pop(&r->q.h, &r->q.t, &inl);
    if (!it) {
      /* As a turn ends: give the segment back when everything is read. */
      if (++empty % 7 == 0) akt__mailq_release_idle(&r->q.h, &r->q.t);
      continue;
    }
    assert_true(inl);
    assert_true(it->producer < PRODUCERS);
    assert_int_equal(it->seq, next[it->producer]);
    assert_int_equal(it->nslots, 1 + (it->producer + it->seq) % 3);
    check_item(it);
    next[it->producer]++;
    got++;
  }
  for (uint32_t i = 0; i < PRODUCERS; i++) pthread_join(th[i], NULL);
  int inl;
  assert_null(akt__mailq_pop(&r->q.h, &r->q.t, &inl));
  assert_int_equal(akt__mailq_pushed(&r->q.h), (uint64_t)PRODUCERS * PER_PRODUCER);
  akt__mailq_destroy(&r->q.h, &r->q.t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_empty_queue_holds_no_segment),
      cmocka_unit_test(claims_of_any_size_come_out_in_order_across_segments),
      cmocka_unit_test(a_claim_still_being_written_holds_back_the_queue),
      cmocka_unit_test(segments_start_small_and_double),
      cmocka_unit_test(pointers_and_inline_envelopes_share_one_order),
      cmocka_unit_test(an_idle_queue_gives_its_segment_back),
      cmocka_unit_test(destroy_frees_what_was_never_popped),
      cmocka_unit_test(racing_producers_keep_their_own_order),
  };
  return cmocka_run_group_tests_name("actor/mailq", tests, NULL, NULL);
}
