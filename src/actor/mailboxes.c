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
#include "src/util/assert.h"
#include "src/util/grow.h"

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

/* ---- the locked mailboxes ------------------------------------------------- */

/* The bounded and the priority mailbox start with this: a mutex and the
 * number of mails queued. */
typedef struct locked {
  pthread_mutex_t lock;
  size_t n;
} locked;

/* Allocates a zeroed mailbox of `bytes` (starting with a locked) and
 * initializes its mutex; NULL when out of memory. */
static void *locked_new(size_t bytes) {
  locked *l = calloc(1, bytes);
  if (l) pthread_mutex_init(&l->lock, NULL);
  return l;
}

static void locked_free(locked *l) {
  pthread_mutex_destroy(&l->lock);
  free(l);
}

/* Pops under the lock with `take`, which is called only when a mail is
 * queued and returns it (counted out here). */
static akt_mail *locked_pop(void *mb, akt_mail *(*take)(void *mb)) {
  locked *l = mb;
  akt_mail *m = NULL;
  pthread_mutex_lock(&l->lock);
  if (l->n) {
    m = take(mb);
    AKT_ASSERT(m != NULL);
    l->n--;
  }
  pthread_mutex_unlock(&l->lock);
  return m;
}

static size_t locked_size(void *mb) {
  locked *l = mb;
  pthread_mutex_lock(&l->lock);
  size_t n = l->n;
  pthread_mutex_unlock(&l->lock);
  return n;
}

/* ---- bounded FIFO: a ring under a mutex ------------------------------------- */

typedef struct bounded {
  locked base;
  size_t cap, head;
  akt_mail *ring[];
} bounded;

static void *bounded_create(const void *config) {
  const akt_bounded_config *cfg = config;
  size_t cap = cfg && cfg->capacity ? cfg->capacity : AKT_DEFAULT_BOUNDED_CAPACITY;
  if (cap > (SIZE_MAX - sizeof(bounded)) / sizeof(akt_mail *)) return NULL;
  bounded *b = locked_new(sizeof *b + cap * sizeof(akt_mail *));
  if (b) b->cap = cap;
  return b;
}

static void bounded_destroy(void *mb) { locked_free(mb); }

static int bounded_push(void *mb, akt_mail *m) {
  bounded *b = mb;
  pthread_mutex_lock(&b->base.lock);
  int rc = AKT_EFULL;
  if (b->base.n < b->cap) {
    b->ring[(b->head + b->base.n) % b->cap] = m;
    b->base.n++;
    rc = 0;
  }
  AKT_ASSERT(b->base.n <= b->cap);
  pthread_mutex_unlock(&b->base.lock);
  return rc;
}

static akt_mail *bounded_take(void *mb) {
  bounded *b = mb;
  akt_mail *m = b->ring[b->head];
  b->head = (b->head + 1) % b->cap;
  return m;
}

static akt_mail *bounded_pop(void *mb) { return locked_pop(mb, bounded_take); }

const akt_mailbox_type akt_mailbox_bounded = {
    .name = "bounded",
    .create = bounded_create,
    .destroy = bounded_destroy,
    .push = bounded_push,
    .pop = bounded_pop,
    .size = locked_size,
};

/* ---- stable priority: a binary heap on (priority desc, arrival asc) --------- */

/* The heap's first capacity, in mails; it doubles from there. */
#define PRIO_INITIAL_CAPACITY 16

typedef struct prio_item {
  int priority;
  uint64_t seq;
  akt_mail *m;
} prio_item;

typedef struct prio {
  locked base;
  akt_priority_config cfg;
  uint32_t limit; /* cfg.capacity, or AKT_PRIORITY_MAX_CAPACITY */
  uint32_t cap;
  prio_item *heap;
  uint64_t seq;
} prio;

static int prio_before(const prio_item *a, const prio_item *b) {
  return a->priority > b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static void *prio_create(const void *config) {
  const akt_priority_config *cfg = config;
  if (!cfg || !cfg->priority || cfg->capacity > AKT_PRIORITY_MAX_CAPACITY) return NULL;
  prio *p = locked_new(sizeof *p);
  if (!p) return NULL;
  p->cfg = *cfg;
  p->limit = cfg->capacity ? (uint32_t)cfg->capacity : AKT_PRIORITY_MAX_CAPACITY;
  return p;
}

static void prio_destroy(void *mb) {
  prio *p = mb;
  free(p->heap);
  locked_free(&p->base);
}

static int prio_push(void *mb, akt_mail *m) {
  prio *p = mb;
  int priority = p->cfg.priority(akt_mail_message(m), p->cfg.arg);
  pthread_mutex_lock(&p->base.lock);
  uint32_t n = (uint32_t)p->base.n;
  int rc = akt__grow(&p->heap, sizeof *p->heap, n, &p->cap, PRIO_INITIAL_CAPACITY, p->limit);
  if (rc == AKT_ELIMIT) rc = AKT_EFULL;
  if (!rc) {
    prio_item it = {.priority = priority, .seq = p->seq++, .m = m};
    size_t i = p->base.n++;
    while (i > 0 && prio_before(&it, &p->heap[(i - 1) / 2])) {
      p->heap[i] = p->heap[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    p->heap[i] = it;
  }
  AKT_ASSERT(p->base.n <= p->limit);
  pthread_mutex_unlock(&p->base.lock);
  return rc;
}

/* Takes the heap's top and sifts its last item down from the root. */
static akt_mail *prio_take(void *mb) {
  prio *p = mb;
  akt_mail *m = p->heap[0].m;
  size_t n = p->base.n - 1; /* the count after this pop */
  prio_item last = p->heap[n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, best = i;
    const prio_item *bi = &last;
    if (l < n && prio_before(&p->heap[l], bi)) {
      best = l;
      bi = &p->heap[l];
    }
    if (r < n && prio_before(&p->heap[r], bi)) best = r;
    if (best == i) break;
    p->heap[i] = p->heap[best];
    i = best;
  }
  if (n) p->heap[i] = last;
  return m;
}

static akt_mail *prio_pop(void *mb) { return locked_pop(mb, prio_take); }

const akt_mailbox_type akt_mailbox_priority = {
    .name = "priority",
    .create = prio_create,
    .destroy = prio_destroy,
    .push = prio_push,
    .pop = prio_pop,
    .size = locked_size,
};
