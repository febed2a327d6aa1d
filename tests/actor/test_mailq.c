/* The default mailbox's segmented queue (src/actor/mailq.h): order across
 * segments, claims in progress, pointer slots, giving the segment back when
 * idle, asserted positions, and racing producers. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "../support/both.h"
#include "../support/child.h"
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

/* ---- positions are asserted ---------------------------------------------------- */

/* A slot word the consumer cannot have been given (a sender's bug, or
 * memory written after its pop) stops the process where it is read,
 * before the position moves past the segment. */
static void pop_a_word_of_two_kinds(void) {
  queue q;
  akt__mailq_init(&q.h, &q.t);
  item *it = akt__mailq_claim(&q.h, &q.t, 1);
  atomic_store(&it->word, ((uint64_t)1 << 2) | AKT__MAILQ_INLINE | AKT__MAILQ_INDIRECT);
  int inl;
  akt__mailq_pop(&q.h, &q.t, &inl);
}

static void pop_a_claim_past_the_segment(void) {
  queue q;
  akt__mailq_init(&q.h, &q.t);
  item *it = akt__mailq_claim(&q.h, &q.t, 1); /* slot 1 of a 4-slot segment */
  akt__mailq_publish(it, 4);
  int inl;
  akt__mailq_pop(&q.h, &q.t, &inl);
}

static void a_slot_word_that_no_claim_wrote_stops_the_consumer(void **state) {
  (void)state;
  char buf[4096];
  test_expect_abort(pop_a_word_of_two_kinds, buf, sizeof buf);
  assert_non_null(strstr(buf, "mailq.c"));
  assert_non_null(strstr(buf, "slot_word_ok"));
  test_expect_abort(pop_a_claim_past_the_segment, buf, sizeof buf);
  assert_non_null(strstr(buf, "slot_word_ok"));
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

/* ---- queues handed between workers ------------------------------------------- */

/* Several queues, each run by at most one worker at a time, handed around
 * through an idle flag and a run queue the way cell.c does it: a turn
 * gives its segment back, notes its position, marks the queue idle and
 * takes it back if anything was claimed since; a sender claims, publishes
 * and schedules the queue when it finds it idle. Nothing may be lost,
 * reordered per sender, or read after its segment was recycled. */
enum { HQ = 3, HP = 3, HW = 2, HPER = 40000, HBUDGET = 7 };

typedef struct hq {
  _Alignas(16) akt__mailq_head h;
  akt__mailq_tail t;
  _Atomic int sched; /* 0 idle, 1 queued or running */
  uint32_t next[HP]; /* per sender: the turn's alone */
} hq;

static struct {
  hq q[HQ];
  pthread_mutex_t lock; /* the run queue */
  int runq[HQ + 1];
  unsigned head, tail;
  _Atomic long got;
  _Atomic int go, senders_done;
  uint32_t id[HP];
} hand = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void hand_schedule(int k) {
  pthread_mutex_lock(&hand.lock);
  hand.runq[hand.tail++ % (HQ + 1)] = k;
  pthread_mutex_unlock(&hand.lock);
}

static int hand_take(void) {
  int k = -1;
  pthread_mutex_lock(&hand.lock);
  if (hand.head != hand.tail) k = hand.runq[hand.head++ % (HQ + 1)];
  pthread_mutex_unlock(&hand.lock);
  return k;
}

static void *hand_sender(void *arg) {
  uint32_t id = *(uint32_t *)arg;
  while (!atomic_load(&hand.go)) {
  }
  for (uint32_t i = 0; i < HPER; i++) {
    for (int k = 0; k < HQ; k++) {
      hq *q = &hand.q[k];
      unsigned n = 1 + (i * 7 + id * 3 + (unsigned)k) % AKT__MAILQ_MAX_CLAIM;
      if (i % 3) n = 1; /* mostly one slot, as tells are */
      item *it = akt__mailq_claim(&q->h, &q->t, n);
      if (!it) abort();
      fill_item(it, id, i, n);
      akt__mailq_publish(it, n);
      int idle = 0;
      if (atomic_load_explicit(&q->sched, memory_order_relaxed) == 0 &&
          atomic_compare_exchange_strong(&q->sched, &idle, 1))
        hand_schedule(k);
    }
  }
  atomic_fetch_add(&hand.senders_done, 1);
  return NULL;
}

/* One turn of queue k; returns non-zero on a lost or damaged message. */
static int hand_turn(int k) {
  hq *q = &hand.q[k];
  for (int b = 0; b < HBUDGET; b++) {
    int inl;
    item *it = akt__mailq_pop(&q->h, &q->t, &inl);
    if (!it) break;
    if (!inl || it->producer >= HP || it->seq != q->next[it->producer]) return 1;
    const uint32_t *rest = (const uint32_t *)(const void *)((const char *)it + sizeof *it);
    size_t m = (it->nslots * AKT__MAILQ_SLOT_BYTES - sizeof *it) / sizeof *rest;
    for (size_t j = 0; j < m; j++)
      if (rest[j] != it->fill) return 1;
    q->next[it->producer]++;
    atomic_fetch_add(&hand.got, 1);
  }
  akt__mailq_release_idle(&q->h, &q->t);
  uint64_t pos = akt__mailq_position(&q->t);
  atomic_store_explicit(&q->sched, 0, memory_order_seq_cst);
  int idle = 0;
  if (akt__mailq_moved(&q->h, pos) && atomic_compare_exchange_strong(&q->sched, &idle, 1))
    hand_schedule(k);
  return 0;
}

/* Polls the run queue until every message arrived. When the senders are
 * done and no message arrives anywhere for this many polls in a row while
 * some are missing, a wake-up was lost. */
#define HAND_STALL_POLLS 2000000L

static void *hand_worker(void *arg) {
  _Atomic int *bad = arg;
  long idle_polls = 0, seen = -1, got;
  while ((got = atomic_load(&hand.got)) < (long)HQ * HP * HPER && !atomic_load(bad)) {
    if (got != seen) {
      seen = got;
      idle_polls = 0;
    }
    int k = hand_take();
    if (k < 0) {
      if (atomic_load(&hand.senders_done) == HP && ++idle_polls > HAND_STALL_POLLS)
        atomic_store(bad, 2);
      sched_yield(); /* the other worker may need this core (or the lock) */
      continue;
    }
    if (hand_turn(k)) atomic_store(bad, 1);
  }
  return NULL;
}

static void queues_handed_between_workers_lose_nothing(void **state) {
  (void)state;
  for (int k = 0; k < HQ; k++) {
    akt__mailq_init(&hand.q[k].h, &hand.q[k].t);
    atomic_store(&hand.q[k].sched, 0);
  }
  _Atomic int bad = 0;
  pthread_t s[HP], w[HW];
  for (uint32_t i = 0; i < HP; i++) {
    hand.id[i] = i;
    assert_int_equal(pthread_create(&s[i], NULL, hand_sender, &hand.id[i]), 0);
  }
  for (int i = 0; i < HW; i++)
    assert_int_equal(pthread_create(&w[i], NULL, hand_worker, (void *)&bad), 0);
  atomic_store(&hand.go, 1);
  for (int i = 0; i < HP; i++) pthread_join(s[i], NULL);
  for (int i = 0; i < HW; i++) pthread_join(w[i], NULL);
  assert_int_equal(atomic_load(&bad), 0); /* 1: lost or damaged, 2: a lost wake-up */
  assert_int_equal(atomic_load(&hand.got), (long)HQ * HP * HPER);
  for (int k = 0; k < HQ; k++) {
    hq *q = &hand.q[k];
    for (int p = 0; p < HP; p++) assert_int_equal(q->next[p], HPER);
    assert_int_equal(akt__mailq_pushed(&q->h), (uint64_t)HP * HPER);
    assert_false(akt__mailq_maybe_nonempty(&q->h, &q->t));
    akt__mailq_destroy(&q->h, &q->t);
  }
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
      cmocka_unit_test(a_slot_word_that_no_claim_wrote_stops_the_consumer),
      cmocka_unit_test(racing_producers_keep_their_own_order),
      cmocka_unit_test(queues_handed_between_workers_lose_nothing),
  };
  return cmocka_run_group_tests_name("actor/mailq", tests, NULL, NULL);
}
