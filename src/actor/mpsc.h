/* akt — intrusive multi-producer single-consumer queue (internal).
 *
 * Dmitry Vyukov's non-blocking MPSC node-based queue: a push is one locked
 * swap of the head (retried when another push wins it) and one store; a
 * pop is done by the single consumer (the actor's current turn) and needs
 * a locked instruction only when it takes the last node (it pushes the
 * stub). Nodes are embedded in the envelopes, so queueing never allocates.
 *
 * A push that is half done (head swapped, link not yet stored) makes pop
 * return NULL although the queue is not empty; akt__mpsc_maybe_nonempty()
 * reports such a queue as non-empty so the scheduler looks again.
 */
#ifndef AKT_ACTOR_MPSC_H
#define AKT_ACTOR_MPSC_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct akt__mpsc_node akt__mpsc_node;
struct akt__mpsc_node {
  _Atomic(akt__mpsc_node *) next;
};

/* The queue in two parts, so a user can keep them on different cache
 * lines: the head, which every producer updates, and the consumer's tail
 * and stub. (A push that shares a line with the consumer's tail makes every
 * pop a cache miss.)
 *
 * The head is the newest node and the number of counted pushes (a
 * mailbox's size is `pushed` minus what its consumer popped). On x86-64
 * both change in one `lock cmpxchg16b`: a sender's locked instruction waits
 * for its earlier stores (the new envelope, on lines the receiver's core
 * last read), and a separate locked increment before the exchange made it
 * wait twice — tell took ~60 ns instead of ~45 (docs/performance.md). The
 * head must then be 16-byte aligned (akt__mpsc_init2 checks). Elsewhere a
 * push is a locked increment and an atomic exchange. */
typedef struct akt__mpsc_head {
  _Atomic(akt__mpsc_node *) newest;
  _Atomic uint64_t pushed; /* counted pushes (akt__mpsc_push2's `counted`) */
} akt__mpsc_head;
typedef struct akt__mpsc_tail {
  akt__mpsc_node *tail; /* the consumer pops from here */
  akt__mpsc_node stub;
} akt__mpsc_tail;

/* Both parts together, for queues where contention does not matter. */
typedef struct akt__mpsc {
  _Alignas(16) akt__mpsc_head head;
  akt__mpsc_tail t;
} akt__mpsc;

static inline void akt__mpsc_init2(akt__mpsc_head *h, akt__mpsc_tail *t) {
  assert(((uintptr_t)h & 15) == 0);
  atomic_store_explicit(&t->stub.next, NULL, memory_order_relaxed);
  atomic_store_explicit(&h->newest, &t->stub, memory_order_relaxed);
  atomic_store_explicit(&h->pushed, 0, memory_order_relaxed);
  t->tail = &t->stub;
}

/* Makes `n` the newest node and adds `counted` to h->pushed, atomically
 * together; returns the node that was newest before. A full barrier. */
static inline akt__mpsc_node *akt__mpsc_swap_head(akt__mpsc_head *h, akt__mpsc_node *n,
                                                  unsigned counted) {
#if defined(__x86_64__)
  /* Plain loads may tear or be stale: the compare-exchange checks both
   * words and, on failure, loads the current pair for the next attempt. */
  uint64_t lo = (uint64_t)(uintptr_t)atomic_load_explicit(&h->newest, memory_order_relaxed);
  uint64_t hi = atomic_load_explicit(&h->pushed, memory_order_relaxed);
  unsigned char ok;
  do {
    __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                     : "=q"(ok), "+m"(*h), "+a"(lo), "+d"(hi)
                     : "b"((uint64_t)(uintptr_t)n), "c"(hi + counted)
                     : "memory", "cc");
  } while (!ok);
  return (akt__mpsc_node *)(uintptr_t)lo;
#else
  if (counted) atomic_fetch_add_explicit(&h->pushed, counted, memory_order_relaxed);
  return atomic_exchange_explicit(&h->newest, n, memory_order_acq_rel);
#endif
}

/* Appends `n`, adding `counted` (0 or 1) to the head's push count; safe
 * from any thread. */
static inline void akt__mpsc_push2(akt__mpsc_head *h, akt__mpsc_node *n, unsigned counted) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  akt__mpsc_node *prev = akt__mpsc_swap_head(h, n, counted);
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* Counted pushes so far (any thread; a snapshot). */
static inline uint64_t akt__mpsc_pushed(const akt__mpsc_head *h) {
  return atomic_load_explicit(&((akt__mpsc_head *)(uintptr_t)h)->pushed, memory_order_relaxed);
}

/* Removes and returns the oldest node, or NULL when empty or when the newest
 * push is still in progress. Consumer only. */
static inline akt__mpsc_node *akt__mpsc_pop2(akt__mpsc_head *h, akt__mpsc_tail *t) {
  akt__mpsc_node *tail = t->tail;
  akt__mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &t->stub) {
    if (next == NULL) return NULL;
    t->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next != NULL) {
    t->tail = next;
    return tail;
  }
  akt__mpsc_node *head = atomic_load_explicit(&h->newest, memory_order_acquire);
  if (tail != head) return NULL; /* a producer is between its two steps */
  akt__mpsc_push2(h, &t->stub, 0);
  next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next != NULL) {
    t->tail = next;
    return tail;
  }
  return NULL;
}

/* Non-zero when the queue holds a node or a push is in progress. Consumer
 * only; the seq_cst load pairs with the scheduler's seq_cst store of its
 * idle flag (see cell.c) so that a push is never missed. A real node at the
 * tail is always one not yet popped: pop moves the tail past a node as it
 * returns it, so after popping all but the last node the tail rests on the
 * last one (with head == tail and no next): that queue is not empty. */
static inline int akt__mpsc_maybe_nonempty2(akt__mpsc_head *h, akt__mpsc_tail *t) {
  akt__mpsc_node *tail = t->tail;
  if (tail != &t->stub) return 1;
  if (atomic_load_explicit(&tail->next, memory_order_acquire) != NULL) return 1;
  return atomic_load_explicit(&h->newest, memory_order_seq_cst) != tail;
}

static inline void akt__mpsc_init(akt__mpsc *q) { akt__mpsc_init2(&q->head, &q->t); }
static inline void akt__mpsc_push(akt__mpsc *q, akt__mpsc_node *n) { akt__mpsc_push2(&q->head, n, 1); }
static inline akt__mpsc_node *akt__mpsc_pop(akt__mpsc *q) { return akt__mpsc_pop2(&q->head, &q->t); }
static inline int akt__mpsc_maybe_nonempty(akt__mpsc *q) {
  return akt__mpsc_maybe_nonempty2(&q->head, &q->t);
}

#endif
