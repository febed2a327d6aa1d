/* akt — intrusive multi-producer single-consumer queue (internal).
 *
 * Dmitry Vyukov's non-blocking MPSC node-based queue: a push is one locked
 * swap of the head (retried when another push wins it) and one store; a
 * pop is done by the single consumer (the actor's current turn) and needs
 * a locked instruction only when it takes the last node (it pushes the
 * stub). Nodes are embedded in the envelopes, so queueing never allocates.
 * The unbounded custom mailbox uses it; the default mailbox is mailq.h.
 *
 * A push that is half done (head swapped, link not yet stored) makes pop
 * return NULL although the queue is not empty; akt__mpsc_maybe_nonempty()
 * reports such a queue as non-empty so the scheduler looks again.
 */
#ifndef AKT_ACTOR_MPSC_H
#define AKT_ACTOR_MPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "src/util/assert.h"
#include "src/util/cpu.h"

typedef struct akt__mpsc_node akt__mpsc_node;
struct akt__mpsc_node {
  _Atomic(akt__mpsc_node *) next;
};

/* The queue: the producers' head — the newest node and the number of
 * counted pushes (a mailbox's size is `pushed` minus what its consumer
 * popped) — and the consumer's tail and stub. On x86-64 the head's two
 * words change together in one `lock cmpxchg16b`: a separate locked
 * increment would be a second full barrier per push, each waiting for the
 * stores to the new node (docs/performance.md). The head is 16-byte
 * aligned for it (akt__cas2, util/cpu.h). Elsewhere a push is a locked
 * increment and an exchange. */
typedef struct akt__mpsc {
  _Alignas(16) _Atomic(akt__mpsc_node *) newest;
  _Atomic uint64_t pushed;
  akt__mpsc_node *tail; /* the consumer pops from here */
  akt__mpsc_node stub;
} akt__mpsc;

static inline void akt__mpsc_init(akt__mpsc *q) {
  AKT_ASSERT(((uintptr_t)q & 15) == 0);
  atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
  atomic_store_explicit(&q->newest, &q->stub, memory_order_relaxed);
  atomic_store_explicit(&q->pushed, 0, memory_order_relaxed);
  q->tail = &q->stub;
}

/* Makes `n` the newest node and adds `counted` to q->pushed, atomically
 * together; returns the node that was newest before. A full barrier. */
static inline akt__mpsc_node *akt__mpsc_swap_head(akt__mpsc *q, akt__mpsc_node *n,
                                                  unsigned counted) {
#if defined(AKT__HAVE_CAS2)
  /* The loads may tear or be stale: the compare-exchange checks both
   * words and, on failure, loads the current pair for the next attempt. */
  uint64_t lo = (uint64_t)(uintptr_t)atomic_load_explicit(&q->newest, memory_order_relaxed);
  uint64_t hi = atomic_load_explicit(&q->pushed, memory_order_relaxed);
  while (!akt__cas2(&q->newest, &lo, &hi, (uint64_t)(uintptr_t)n, hi + counted)) {
  }
  return (akt__mpsc_node *)(uintptr_t)lo;
#else
  if (counted) atomic_fetch_add_explicit(&q->pushed, counted, memory_order_relaxed);
  return atomic_exchange_explicit(&q->newest, n, memory_order_acq_rel);
#endif
}

/* Appends `n`, adding `counted` (0 or 1) to the push count. */
static inline void akt__mpsc_push_counted(akt__mpsc *q, akt__mpsc_node *n, unsigned counted) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  akt__mpsc_node *prev = akt__mpsc_swap_head(q, n, counted);
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* Appends `n` and counts it; safe from any thread. */
static inline void akt__mpsc_push(akt__mpsc *q, akt__mpsc_node *n) {
  akt__mpsc_push_counted(q, n, 1);
}

/* Counted pushes so far (any thread; a snapshot). */
static inline uint64_t akt__mpsc_pushed(const akt__mpsc *q) {
  return atomic_load_explicit(&((akt__mpsc *)(uintptr_t)q)->pushed, memory_order_relaxed);
}

/* Removes and returns the oldest node, or NULL when empty or when the newest
 * push is still in progress. Consumer only. */
static inline akt__mpsc_node *akt__mpsc_pop(akt__mpsc *q) {
  akt__mpsc_node *tail = q->tail;
  akt__mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &q->stub) {
    if (next == NULL) return NULL;
    q->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next != NULL) {
    q->tail = next;
    return tail;
  }
  akt__mpsc_node *head = atomic_load_explicit(&q->newest, memory_order_acquire);
  if (tail != head) return NULL; /* a producer is between its two steps */
  akt__mpsc_push_counted(q, &q->stub, 0);
  next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next != NULL) {
    q->tail = next;
    return tail;
  }
  return NULL;
}

/* Non-zero when the queue holds a node or a push is in progress. Consumer
 * only. A real node at the tail is always one not yet popped: pop moves the
 * tail past a node as it returns it, so after popping all but the last
 * node the tail rests on the last one (with head == tail and no next):
 * that queue is not empty. */
static inline int akt__mpsc_maybe_nonempty(akt__mpsc *q) {
  akt__mpsc_node *tail = q->tail;
  if (tail != &q->stub) return 1;
  if (atomic_load_explicit(&tail->next, memory_order_acquire) != NULL) return 1;
  return atomic_load_explicit(&q->newest, memory_order_seq_cst) != tail;
}

#endif
