/* akt — the mailbox's segments: sizes, recycling (internal, see mailq.h).
 *
 * A segment is a header line (slot 0) and up to 63 slots of 64 bytes. A
 * queue's first segment after it was empty is the smallest (3 slots, 256
 * bytes: an actor sent one message holds no more than the envelope block
 * it used to), and each following one doubles up to 4 KiB, so a stream
 * soon reads long runs of consecutive lines. Segments are aligned to
 * AKT__MAILQ_SEG_ALIGN so a position (segment | slot index) fits one word.
 * Free segments go to a per-thread cache and a shared depot per size, like
 * the envelope pool (util/pool.h): a stream of messages allocates none.
 * Unlike the pool's blocks they are never given back to malloc: a sender
 * may read the header of a segment it found in a stale head after the
 * receiver recycled it (its compare-exchange then fails), so a segment's
 * memory stays a segment of the same size for good — type-stable memory,
 * as in slab allocators. The memory kept is the most ever queued at once.
 */
#ifndef AKT_ACTOR_MAILSEG_H
#define AKT_ACTOR_MAILSEG_H

#include <stdatomic.h>
#include <stdint.h>

#define AKT__MAILQ_SEG_ALIGN 128u  /* > the largest slot index (64) */
#define AKT__MAILSEG_CLASSES 5u    /* 4, 8, 16, 32, 64 slots (256 B .. 4 KiB) */

/* Who touches what in a segment's header. A sender that read a stale head
 * reads `cls` and `cap` of a segment that may have been recycled since, on
 * another thread: both are written once, before the segment's address is
 * first published (in the head, with a seq_cst compare-exchange), and never
 * again, so those plain reads race with no write. `next` and `end` change
 * while others read them (atomics). `dirty` and `cache_next` belong to
 * whoever holds the free segment (a thread's cache, or the depot's lock). */
typedef struct akt__mailq_seg akt__mailq_seg;
struct akt__mailq_seg {
  _Alignas(64) _Atomic(akt__mailq_seg *) next; /* set once, by the sender that ended it */
  _Atomic uint32_t end;                        /* slots claimed in it (valid once next is set) */
  uint8_t cls;                                 /* size class: 4 << cls slots, header included */
  uint8_t cap;                                 /* 4 << cls */
  uint16_t dirty;                              /* free: slots 1..dirty-1 may hold words */
  akt__mailq_seg *cache_next;                  /* in a cache or the depot */
};

/* The smallest class whose segments hold `slots` slots besides the header
 * (at most 63). */
static inline unsigned akt__mailseg_class_for(unsigned slots) {
  unsigned c = 0;
  while ((4u << c) < slots + 1) c++;
  return c;
}

/* A segment of class `cls` whose slot words are zero and whose header is
 * reset: from the thread's cache, the depot, or malloc. NULL when out of
 * memory. */
akt__mailq_seg *akt__mailseg_alloc(unsigned cls);

/* Recycles a segment whose slots below `used` were claimed. */
void akt__mailseg_free(akt__mailq_seg *s, unsigned used);

/* Segments taken from malloc so far (for tests: none in steady state). */
uint64_t akt__mailq_seg_mallocs(void);

#endif
