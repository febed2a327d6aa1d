/* akt — the default mailbox's segmented queue (see mailq.h). */
#include "src/actor/mailq.h"

#include "src/actor/mailseg.h"
#include "src/util/assert.h"
#include "src/util/cpu.h"

#define SEG_MASK ((uint64_t)AKT__MAILQ_SEG_ALIGN - 1)

_Static_assert(AKT__MAILQ_MAX_CLAIM < AKT__MAILQ_SLOTS, "a claim fits the largest segment");

/* ---- the queue ----------------------------------------------------------------- */

static inline akt__mailq_seg *seg_of(uint64_t at) {
  return (akt__mailq_seg *)(uintptr_t)(at & ~SEG_MASK);
}
/* A position is a segment's address or-ed with a slot index (0..cap: cap
 * is the segment's end, so not a byte offset). */
static inline unsigned idx_of(uint64_t at) { return (unsigned)(at & SEG_MASK); }
static inline uint64_t at_of(akt__mailq_seg *s, unsigned idx) {
  return (uint64_t)(uintptr_t)s | idx;
}
static inline char *slot_at(uint64_t at) {
  return (char *)seg_of(at) + (size_t)idx_of(at) * AKT__MAILQ_SLOT_BYTES;
}
static inline _Atomic uint64_t *word_at(uint64_t at) {
  return (_Atomic uint64_t *)(void *)slot_at(at);
}

/* Is `w`, read at slot `idx` of a segment of `cap` slots, a slot word some
 * claim published? An indirect slot (one slot), or an inline envelope of
 * at least one slot that ends inside the segment: the consumer's position
 * then moves forward and stays in its segment. Two compares in the common
 * case: pop asserts it on every message. */
static inline int slot_word_ok(uint64_t w, unsigned idx, unsigned cap) {
  if (w == (((uint64_t)1 << 2) | AKT__MAILQ_INDIRECT)) return 1;
  return (w & 3) == AKT__MAILQ_INLINE && w >= ((uint64_t)1 << 2) && idx + (w >> 2) <= cap;
}

/* Replaces the head {*at, *pushed} with {nat, npushed} if it still holds
 * {*at, *pushed}; else loads the current pair into them. Returns non-zero
 * on success. A full barrier. */
static inline int head_cas(akt__mailq_head *h, uint64_t *at, uint64_t *pushed, uint64_t nat,
                           uint64_t npushed) {
#if defined(AKT__HAVE_CAS2)
  return akt__cas2(h, at, pushed, nat, npushed);
#else
  /* `at` alone describes the queue's state, so a position that comes back
   * (ABA) is still the right one to claim from. */
  if (!atomic_compare_exchange_strong_explicit(&h->at, at, nat, memory_order_seq_cst,
                                               memory_order_acquire)) {
    *pushed = atomic_load_explicit(&h->pushed, memory_order_relaxed);
    return 0;
  }
  if (npushed != *pushed)
    atomic_fetch_add_explicit(&h->pushed, npushed - *pushed, memory_order_relaxed);
  /* A full barrier, as lock cmpxchg16b is: the sender's next load (the
   * cell's sched) must not be ordered before this store (cell.c). */
  atomic_thread_fence(memory_order_seq_cst);
  return 1;
#endif
}

void akt__mailq_init(akt__mailq_head *h, akt__mailq_tail *t) {
  AKT_ASSERT(((uintptr_t)h & 15) == 0);
  atomic_store_explicit(&h->at, 0, memory_order_relaxed);
  atomic_store_explicit(&h->pushed, 0, memory_order_relaxed);
  t->at = 0;
  atomic_store_explicit(&t->first, NULL, memory_order_relaxed);
}

void *akt__mailq_claim(akt__mailq_head *h, akt__mailq_tail *t, unsigned nslots) {
  AKT_ASSERT(nslots >= 1 && nslots <= AKT__MAILQ_MAX_CLAIM);
  /* The loads may be stale (the compare-exchange checks both words), and
   * the segment they name may have been recycled since: segments are
   * never freed (mailseg.h), so its header still reads as a segment of
   * the same size. Acquire: the header was written before the segment's
   * address was published in the head. */
  uint64_t at = atomic_load_explicit(&h->at, memory_order_acquire);
  uint64_t pushed = atomic_load_explicit(&h->pushed, memory_order_relaxed);
  akt__mailq_seg *fresh = NULL;
  for (;;) {
    akt__mailq_seg *s = seg_of(at);
    unsigned idx = idx_of(at);
    if (s && idx + nslots <= s->cap) {
      if (head_cas(h, &at, &pushed, at + nslots, pushed + 1)) {
        /* Claimed: a position in a segment is past its header. */
        AKT_ASSERT(idx >= 1);
        if (fresh) akt__mailseg_free(fresh, 1);
        return slot_at(at);
      }
      continue;
    }
    /* No segment, or no room left in it: start a new one, twice the size
     * of the last (the smallest after an empty queue). */
    unsigned cls = s ? s->cls + (s->cls + 1u < AKT__MAILSEG_CLASSES) : 0;
    unsigned need = akt__mailseg_class_for(nslots);
    if (cls < need) cls = need;
    if (fresh && fresh->cls != cls) {
      akt__mailseg_free(fresh, 1);
      fresh = NULL;
    }
    if (!fresh && !(fresh = akt__mailseg_alloc(cls))) return NULL;
    AKT_ASSERT(fresh->cls == cls && 1 + nslots <= fresh->cap);
    if (head_cas(h, &at, &pushed, at_of(fresh, 1 + nslots), pushed + 1)) {
      if (s) {
        /* Ended where no claim fits: never past its last slot. */
        AKT_ASSERT(idx >= 1 && idx <= s->cap);
        /* The consumer reads `end` once it sees `next`. */
        atomic_store_explicit(&s->end, idx, memory_order_relaxed);
        atomic_store_explicit(&s->next, fresh, memory_order_release);
      } else {
        atomic_store_explicit(&t->first, fresh, memory_order_release);
      }
      return (char *)fresh + AKT__MAILQ_SLOT_BYTES;
    }
  }
}

int akt__mailq_push_ptr(akt__mailq_head *h, akt__mailq_tail *t, void *p) {
  _Atomic uint64_t *slot = akt__mailq_claim(h, t, 1);
  if (!slot) return -1;
  ((void **)slot)[1] = p;
  atomic_store_explicit(slot, ((uint64_t)1 << 2) | AKT__MAILQ_INDIRECT, memory_order_release);
  return 0;
}

/* Nothing at slot position `at` (inside its segment), but the producers
 * are past it: a sender is between its claim and its publish (copying its
 * message), or has ended the segment there and links the next. Waits a
 * little for either, rather than report an empty queue: a receiver that
 * keeps up with its sender would otherwise end its turn on nearly every
 * message and be scheduled again (tell: ~1 turn per 6 messages, 2.5x
 * slower). Returns the slot word, 0 if it is still unpublished. */
static uint64_t wait_publish(akt__mailq_head *h, uint64_t at) {
  if (atomic_load_explicit(&h->at, memory_order_relaxed) == at) return 0; /* empty */
  akt__mailq_seg *s = seg_of(at);
  _Atomic uint64_t *word = word_at(at);
  /* Each look takes the line the sender is writing away from it: look
   * after 1, 2, 4, ... pauses. */
  for (unsigned pauses = 1; pauses <= AKT__MAILQ_PUBLISH_SPINS; pauses *= 2) {
    for (unsigned i = 0; i < pauses; i++) akt__cpu_relax();
    uint64_t w = atomic_load_explicit(word, memory_order_acquire);
    if (w) return w;
    if (atomic_load_explicit(&s->next, memory_order_acquire)) return 0;
  }
  return 0;
}

void *akt__mailq_pop(akt__mailq_head *h, akt__mailq_tail *t, int *inl) {
  uint64_t at = t->at;
  if (!at) {
    akt__mailq_seg *first = atomic_load_explicit(&t->first, memory_order_acquire);
    if (!first) return NULL;
    atomic_store_explicit(&t->first, NULL, memory_order_relaxed);
    at = t->at = at_of(first, 1);
  }
  for (int waited = 0;;) {
    unsigned idx = idx_of(at);
    akt__mailq_seg *s = seg_of(at);
    uint64_t w = 0;
    /* At a segment's end the next segment is linked already, or will be
     * by the sender that has just claimed its first slots: the turn does
     * not wait for it there, but looks again after its linger (cell.c).
     * Waiting read the head, the line every sender writes, once per
     * segment: 5% of tell, in 774 pairs of runs alternating with and
     * without it. */
    if (idx < s->cap) {
      w = atomic_load_explicit(word_at(at), memory_order_acquire);
      if (!w && !waited) {
        w = wait_publish(h, at);
        waited = 1;
      }
    }
    if (w) {
      AKT_ASSERT(slot_word_ok(w, idx, s->cap));
      t->at = at + (w >> 2);
      if (w & AKT__MAILQ_INDIRECT) {
        *inl = 0;
        return ((void **)(void *)slot_at(at))[1];
      }
      *inl = 1;
      return slot_at(at);
    }
    /* Nothing at idx: the end of the queue, a claim still being written,
     * or the end of this segment. */
    akt__mailq_seg *next = atomic_load_explicit(&s->next, memory_order_acquire);
    unsigned end = atomic_load_explicit(&s->end, memory_order_relaxed);
    if (!next || idx < end) return NULL;
    /* The consumer read the segment to its end, never beyond. */
    AKT_ASSERT(idx == end && end <= s->cap);
    akt__mailseg_free(s, end);
    at = t->at = at_of(next, 1);
    waited = 0;
  }
}

void akt__mailq_release_idle(akt__mailq_head *h, akt__mailq_tail *t) {
  uint64_t at = t->at;
  if (!at) return;
  /* Only when the producers' position is the consumer's: nothing claimed
   * is unread. A sender that claims meanwhile makes the exchange fail. */
  uint64_t hat = atomic_load_explicit(&h->at, memory_order_relaxed);
  if (hat != at) return;
  uint64_t pushed = atomic_load_explicit(&h->pushed, memory_order_relaxed);
  if (!head_cas(h, &hat, &pushed, 0, pushed)) return;
  AKT_ASSERT(idx_of(at) >= 1 && idx_of(at) <= seg_of(at)->cap);
  akt__mailseg_free(seg_of(at), idx_of(at));
  t->at = 0;
}

void akt__mailq_destroy(akt__mailq_head *h, akt__mailq_tail *t) {
  akt__mailq_seg *s = t->at ? seg_of(t->at) : atomic_load_explicit(&t->first, memory_order_relaxed);
  uint64_t hat = atomic_load_explicit(&h->at, memory_order_relaxed);
  while (s) {
    akt__mailq_seg *next = atomic_load_explicit(&s->next, memory_order_relaxed);
    unsigned used = next ? atomic_load_explicit(&s->end, memory_order_relaxed)
                         : seg_of(hat) == s ? idx_of(hat) : s->cap;
    akt__mailseg_free(s, used);
    s = next;
  }
  akt__mailq_init(h, t);
}
