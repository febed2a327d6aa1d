/* akt — the mailbox implementations that ship with akt.
 *
 * The default mailbox is inlined in the cell (an MPSC queue, no indirect
 * calls); akt_mailbox_unbounded exposes the same queue through the
 * interface for code that wants a mailbox object. The bounded and priority
 * mailboxes take a mutex: their push must see a consistent count, and a
 * lock gives the ordering the scheduler needs (see akt/mailbox.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "akt/error.h"
#include "akt/mailbox.h"
#include "src/actor/envelope.h"
#include "src/actor/mpsc.h"

const ProtobufCMessage *akt_mail_message(const akt_mail *m) {
  return ((const akt__env *)m)->msg;
}

akt_pid *akt_mail_sender(const akt_mail *m) { return ((const akt__env *)m)->sender; }

void **akt_mail_link(akt_mail *m) { return &((akt__env *)m)->link; }

/* ---- unbounded (the default, as an object) ---------------------------------- */

typedef struct unbounded {
  akt__mpsc q;              /* its head counts the pushes */
  _Atomic uint64_t popped;  /* written by the consumer only */
} unbounded;

static void *unbounded_create(const void *config) {
  (void)config;
  unbounded *u = calloc(1, sizeof *u);
  if (u) akt__mpsc_init(&u->q);
  return u;
}

static void unbounded_destroy(void *mb) { free(mb); }

static int unbounded_push(void *mb, akt_mail *m) {
  unbounded *u = mb;
  akt__mpsc_push(&u->q, &((akt__env *)m)->node);
  return 0;
}

static akt_mail *unbounded_pop(void *mb) {
  unbounded *u = mb;
  akt__mpsc_node *n = akt__mpsc_pop(&u->q);
  if (n)
    atomic_store_explicit(&u->popped, atomic_load_explicit(&u->popped, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  return (akt_mail *)n;
}

static size_t unbounded_size(void *mb) {
  unbounded *u = mb;
  uint64_t popped = atomic_load_explicit(&u->popped, memory_order_relaxed);
  uint64_t pushed = akt__mpsc_pushed(&u->q);
  return pushed > popped ? (size_t)(pushed - popped) : 0;
}

const akt_mailbox_type akt_mailbox_unbounded = {
    .name = "unbounded",
    .create = unbounded_create,
    .destroy = unbounded_destroy,
    .push = unbounded_push,
    .pop = unbounded_pop,
    .size = unbounded_size,
};

/* ---- bounded FIFO: a ring under a mutex ------------------------------------- */

typedef struct bounded {
  pthread_mutex_t lock;
  size_t cap, head, count;
  akt_mail *ring[];
} bounded;

static void *bounded_create(const void *config) {
  const akt_bounded_config *cfg = config;
  size_t cap = cfg && cfg->capacity ? cfg->capacity : AKT_DEFAULT_BOUNDED_CAPACITY;
  bounded *b = calloc(1, sizeof *b + cap * sizeof(akt_mail *));
  if (!b) return NULL;
  pthread_mutex_init(&b->lock, NULL);
  b->cap = cap;
  return b;
}

static void bounded_destroy(void *mb) {
  bounded *b = mb;
  pthread_mutex_destroy(&b->lock);
  free(b);
}

static int bounded_push(void *mb, akt_mail *m) {
  bounded *b = mb;
  pthread_mutex_lock(&b->lock);
  int rc = AKT_EFULL;
  if (b->count < b->cap) {
    b->ring[(b->head + b->count) % b->cap] = m;
    b->count++;
    rc = 0;
  }
  pthread_mutex_unlock(&b->lock);
  return rc;
}

static akt_mail *bounded_pop(void *mb) {
  bounded *b = mb;
  akt_mail *m = NULL;
  pthread_mutex_lock(&b->lock);
  if (b->count) {
    m = b->ring[b->head];
    b->head = (b->head + 1) % b->cap;
    b->count--;
  }
  pthread_mutex_unlock(&b->lock);
  return m;
}

static size_t bounded_size(void *mb) {
  bounded *b = mb;
  pthread_mutex_lock(&b->lock);
  size_t n = b->count;
  pthread_mutex_unlock(&b->lock);
  return n;
}

const akt_mailbox_type akt_mailbox_bounded = {
    .name = "bounded",
    .create = bounded_create,
    .destroy = bounded_destroy,
    .push = bounded_push,
    .pop = bounded_pop,
    .size = bounded_size,
};

/* ---- stable priority: a binary heap on (priority desc, arrival asc) --------- */

typedef struct prio_item {
  int priority;
  uint64_t seq;
  akt_mail *m;
} prio_item;

typedef struct prio {
  pthread_mutex_t lock;
  akt_priority_config cfg;
  prio_item *heap;
  size_t n, cap;
  uint64_t seq;
} prio;

static int prio_before(const prio_item *a, const prio_item *b) {
  return a->priority > b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static void *prio_create(const void *config) {
  const akt_priority_config *cfg = config;
  if (!cfg || !cfg->priority) return NULL;
  prio *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_mutex_init(&p->lock, NULL);
  p->cfg = *cfg;
  return p;
}

static void prio_destroy(void *mb) {
  prio *p = mb;
  pthread_mutex_destroy(&p->lock);
  free(p->heap);
  free(p);
}

static int prio_push(void *mb, akt_mail *m) {
  prio *p = mb;
  int priority = p->cfg.priority(akt_mail_message(m), p->cfg.arg);
  int rc = 0;
  pthread_mutex_lock(&p->lock);
  if (p->cfg.capacity && p->n >= p->cfg.capacity) {
    rc = AKT_EFULL;
  } else if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    prio_item *h = realloc(p->heap, cap * sizeof *h);
    if (h) {
      p->heap = h;
      p->cap = cap;
    } else {
      rc = AKT_EFULL; /* no memory: refuse rather than drop silently */
    }
  }
  if (!rc) {
    prio_item it = {.priority = priority, .seq = p->seq++, .m = m};
    size_t i = p->n++;
    while (i > 0 && prio_before(&it, &p->heap[(i - 1) / 2])) {
      p->heap[i] = p->heap[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    p->heap[i] = it;
  }
  pthread_mutex_unlock(&p->lock);
  return rc;
}

static akt_mail *prio_pop(void *mb) {
  prio *p = mb;
  akt_mail *m = NULL;
  pthread_mutex_lock(&p->lock);
  if (p->n) {
    m = p->heap[0].m;
    prio_item last = p->heap[--p->n];
    size_t i = 0;
    for (;;) {
      size_t l = 2 * i + 1, r = l + 1, best = i;
      const prio_item *bi = &last;
      if (l < p->n && prio_before(&p->heap[l], bi)) {
        best = l;
        bi = &p->heap[l];
      }
      if (r < p->n && prio_before(&p->heap[r], bi)) best = r;
      if (best == i) break;
      p->heap[i] = p->heap[best];
      i = best;
    }
    if (p->n) p->heap[i] = last;
  }
  pthread_mutex_unlock(&p->lock);
  return m;
}

static size_t prio_size(void *mb) {
  prio *p = mb;
  pthread_mutex_lock(&p->lock);
  size_t n = p->n;
  pthread_mutex_unlock(&p->lock);
  return n;
}

const akt_mailbox_type akt_mailbox_priority = {
    .name = "priority",
    .create = prio_create,
    .destroy = prio_destroy,
    .push = prio_push,
    .pop = prio_pop,
    .size = prio_size,
};
