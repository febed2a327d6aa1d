/* akt — the default mailbox: a segmented queue of inline envelopes (internal).
 *
 * A sender claims consecutive 64-byte slots in the receiver's current
 * segment (256 bytes to 4 KiB, mailseg.h) and writes its envelope into
 * them: there is no separate
 * allocation, and the receiver reads its messages from consecutive cache
 * lines. That is what makes tell fast whatever the two cores' distance:
 * the consumer's next address never depends on what it just read, so the
 * core and its prefetcher fetch the following lines while the current
 * message is handled. A linked list of pooled envelopes (the design this
 * replaced, still used by mpsc.h's custom mailboxes) waits for one
 * cross-core cache miss per message; on the bench machine that was 20 ns
 * or 60-150 ns depending on where the two vCPUs ran (docs/performance.md).
 *
 * Claiming is one locked instruction: the head is the producers' segment
 * and slot index plus the push count, in one 16-byte word updated with
 * `lock cmpxchg16b` on x86-64 (akt__cas2, util/cpu.h; elsewhere a
 * compare-exchange of the first word and a locked add). A sender then
 * writes its envelope and publishes it by storing its slot word (the
 * envelope's first 8 bytes: its number of slots and kind) with release
 * order. Envelopes that already exist (system code, timers, unstashed or
 * remote messages) are queued by pointer, in an indirect slot.
 *
 * The consumer handles an inline envelope where it lies and never writes
 * to the slots: the sender that takes a recycled segment zeroes the slot
 * words its last use wrote. An inline envelope's memory is valid until the
 * consumer's next pop; one that must outlive its turn (a stash) is copied
 * out (akt__env_detach). A fully read segment is recycled when the
 * consumer moves past it, and the segment in use when the actor goes idle
 * is given back (akt__mailq_release_idle), so an idle actor holds no
 * segment; segments are recycled (mailseg.h).
 */
#ifndef AKT_ACTOR_MAILQ_H
#define AKT_ACTOR_MAILQ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct akt__mailq_seg akt__mailq_seg; /* mailseg.h */

#define AKT__MAILQ_SLOT_BYTES 64u
#define AKT__MAILQ_SLOTS 64u /* in the largest segment (4 KiB), slot 0 its header */
/* The most slots one inline envelope takes (1 KiB); larger ones are queued
 * by pointer. */
#define AKT__MAILQ_MAX_CLAIM 16u

/* How long a pop polls for a message claimed but not yet published before
 * it reports nothing: looks after 1, 2, 4, ... up to this many pause
 * instructions (127 in all, a few microseconds at most). */
#define AKT__MAILQ_PUBLISH_SPINS 64u

/* Slot word kinds (the low two bits; the slot count is above them). */
#define AKT__MAILQ_INLINE 1u   /* an envelope starts here */
#define AKT__MAILQ_INDIRECT 2u /* the next 8 bytes point to an envelope */

/* The producers' part: a segment pointer (AKT__MAILQ_SEG_ALIGN-aligned)
 * or-ed with the next free slot index, and the number of counted pushes.
 * 16-byte aligned. */
typedef struct akt__mailq_head {
  _Atomic uint64_t at;
  _Atomic uint64_t pushed;
} akt__mailq_head;

/* The consumer's part: its segment or-ed with its slot index (0 when it
 * holds no segment), and the first segment a sender installed after the
 * consumer gave its segment back. */
typedef struct akt__mailq_tail {
  uint64_t at;
  _Atomic(akt__mailq_seg *) first;
} akt__mailq_tail;

/* Sets up an empty queue (no segment). */
void akt__mailq_init(akt__mailq_head *h, akt__mailq_tail *t);

/* Claims `nslots` (1..AKT__MAILQ_MAX_CLAIM) consecutive slots and counts
 * one push; returns their memory (nslots * 64 bytes, 64-byte aligned, the
 * first 8 bytes zero) for the caller to fill and publish with
 * akt__mailq_publish, or NULL when out of memory. A full barrier. Any
 * thread. */
void *akt__mailq_claim(akt__mailq_head *h, akt__mailq_tail *t, unsigned nslots);

/* Publishes claimed slots holding an inline envelope of `nslots` slots
 * (`slots` as returned by akt__mailq_claim). */
static inline void akt__mailq_publish(void *slots, unsigned nslots) {
  atomic_store_explicit((_Atomic uint64_t *)slots, ((uint64_t)nslots << 2) | AKT__MAILQ_INLINE,
                        memory_order_release);
}

/* Queues an existing object `p` (an envelope) by pointer and counts one
 * push. Returns 0, or -1 when out of memory. Any thread. */
int akt__mailq_push_ptr(akt__mailq_head *h, akt__mailq_tail *t, void *p);

/* The oldest message: an inline envelope (in its slots) or a pointer
 * queued with akt__mailq_push_ptr; *inl says which. NULL when the queue is
 * empty or its oldest message is still being written. An inline
 * envelope's memory is the consumer's until its next pop (or
 * akt__mailq_release_idle), and not to be used afterwards. Consumer
 * only. */
void *akt__mailq_pop(akt__mailq_head *h, akt__mailq_tail *t, int *inl);

/* The consumer's position: what akt__mailq_moved compares the head with.
 * Consumer only. */
static inline uint64_t akt__mailq_position(const akt__mailq_tail *t) { return t->at; }

/* Non-zero when a sender has claimed anything since the consumer stood at
 * `pos` (akt__mailq_position) with everything before it popped: the queue
 * is not empty, or a claim is in progress. Reads only the head (seq_cst:
 * cell.c's idle protocol), never a segment, so any thread may ask: a
 * turn that has just marked its actor idle is no longer its consumer. */
static inline int akt__mailq_moved(akt__mailq_head *h, uint64_t pos) {
  return atomic_load_explicit(&h->at, memory_order_seq_cst) != pos;
}

/* Non-zero when the queue holds a message or a claim is in progress.
 * Consumer only. */
static inline int akt__mailq_maybe_nonempty(akt__mailq_head *h, akt__mailq_tail *t) {
  return akt__mailq_moved(h, akt__mailq_position(t));
}

/* When everything queued has been popped, gives the consumer's segment
 * back so an idle receiver holds none. Consumer only, with no inline
 * envelope in use. */
void akt__mailq_release_idle(akt__mailq_head *h, akt__mailq_tail *t);

/* Frees the queue's segments; pops first (nothing may be queued). */
void akt__mailq_destroy(akt__mailq_head *h, akt__mailq_tail *t);

/* Counted pushes so far (any thread; a snapshot). */
static inline uint64_t akt__mailq_pushed(const akt__mailq_head *h) {
  return atomic_load_explicit(&((akt__mailq_head *)(uintptr_t)h)->pushed, memory_order_relaxed);
}

#endif
