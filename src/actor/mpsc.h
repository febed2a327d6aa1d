/* akt — intrusive multi-producer single-consumer queue (internal).
 *
 * Dmitry Vyukov's non-blocking MPSC node-based queue: a push is one atomic
 * exchange and one store, wait-free; a pop is done by the single consumer
 * (the actor's current turn) without atomics read-modify-write. Nodes are
 * embedded in the envelopes, so queueing never allocates.
 *
 * A push that is half done (head swapped, link not yet stored) makes pop
 * return NULL although the queue is not empty; akt__mpsc_maybe_nonempty()
 * reports such a queue as non-empty so the scheduler looks again.
 */
#ifndef AKT_ACTOR_MPSC_H
#define AKT_ACTOR_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct akt__mpsc_node akt__mpsc_node;
struct akt__mpsc_node {
  _Atomic(akt__mpsc_node *) next;
};

/* The queue in two parts, so a user can keep them on different cache
 * lines: the head, which every producer swaps, and the consumer's tail and
 * stub. (A push that shares a line with the consumer's tail makes every pop
 * a cache miss.) */
typedef _Atomic(akt__mpsc_node *) akt__mpsc_head;
typedef struct akt__mpsc_tail {
  akt__mpsc_node *tail; /* the consumer pops from here */
  akt__mpsc_node stub;
} akt__mpsc_tail;

/* Both parts together, for queues where contention does not matter. */
typedef struct akt__mpsc {
  akt__mpsc_head head;
  akt__mpsc_tail t;
} akt__mpsc;

static inline void akt__mpsc_init2(akt__mpsc_head *h, akt__mpsc_tail *t) {
  atomic_store_explicit(&t->stub.next, NULL, memory_order_relaxed);
  atomic_store_explicit(h, &t->stub, memory_order_relaxed);
  t->tail = &t->stub;
}

/* Appends `n`; safe from any thread. */
static inline void akt__mpsc_push2(akt__mpsc_head *h, akt__mpsc_node *n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  akt__mpsc_node *prev = atomic_exchange_explicit(h, n, memory_order_acq_rel);
  atomic_store_explicit(&prev->next, n, memory_order_release);
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
  akt__mpsc_node *head = atomic_load_explicit(h, memory_order_acquire);
  if (tail != head) return NULL; /* a producer is between its two steps */
  akt__mpsc_push2(h, &t->stub);
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
  return atomic_load_explicit(h, memory_order_seq_cst) != tail;
}

static inline void akt__mpsc_init(akt__mpsc *q) { akt__mpsc_init2(&q->head, &q->t); }
static inline void akt__mpsc_push(akt__mpsc *q, akt__mpsc_node *n) { akt__mpsc_push2(&q->head, n); }
static inline akt__mpsc_node *akt__mpsc_pop(akt__mpsc *q) { return akt__mpsc_pop2(&q->head, &q->t); }
static inline int akt__mpsc_maybe_nonempty(akt__mpsc *q) {
  return akt__mpsc_maybe_nonempty2(&q->head, &q->t);
}

#endif
