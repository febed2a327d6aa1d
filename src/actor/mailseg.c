/* akt — the mailbox's segments (see mailseg.h). */
#include "src/actor/mailseg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "src/actor/mailq.h"
#include "src/util/assert.h"

/* Segments a thread keeps per size; the rest go to the depot. */
#define CACHE_SEGS 8u

_Static_assert(sizeof(akt__mailq_seg) <= AKT__MAILQ_SLOT_BYTES, "a segment's header fits slot 0");
_Static_assert((4u << (AKT__MAILSEG_CLASSES - 1)) == AKT__MAILQ_SLOTS, "the largest class");

typedef struct seg_cache {
  akt__mailq_seg *top[AKT__MAILSEG_CLASSES];
  unsigned n[AKT__MAILSEG_CLASSES];
} seg_cache;

/* The depot's lock is a leaf: held for a list push or pop only, so a
 * sender may claim while it holds any other lock (remoting's). */
static struct {
  pthread_mutex_t lock;
  akt__mailq_seg *top[AKT__MAILSEG_CLASSES];
} depot = {.lock = PTHREAD_MUTEX_INITIALIZER};
static _Thread_local seg_cache *tls_cache;
static pthread_key_t cache_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t seg_mallocs;

static size_t class_bytes(unsigned cls) { return (size_t)AKT__MAILQ_SLOT_BYTES << (2 + cls); }

/* Puts a segment in the depot (for good: see mailseg.h). */
static void depot_put(akt__mailq_seg *s) {
  unsigned c = s->cls;
  pthread_mutex_lock(&depot.lock);
  s->cache_next = depot.top[c];
  depot.top[c] = s;
  pthread_mutex_unlock(&depot.lock);
}

/* A thread ends: its segments go to the depot. */
static void cache_release(void *p) {
  seg_cache *k = p;
  for (unsigned c = 0; c < AKT__MAILSEG_CLASSES; c++) {
    while (k->top[c]) {
      akt__mailq_seg *s = k->top[c];
      k->top[c] = s->cache_next;
      depot_put(s);
    }
  }
  free(k);
  tls_cache = NULL;
}

static void make_key(void) { pthread_key_create(&cache_key, cache_release); }

static seg_cache *my_cache(void) {
  if (tls_cache) return tls_cache;
  pthread_once(&key_once, make_key);
  seg_cache *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  pthread_setspecific(cache_key, k);
  tls_cache = k;
  return k;
}

/* Zeroes the slot words a recycled segment's last use wrote and resets its
 * header. The sender that starts a segment does it, not the receiver after
 * each message: the receiver then never writes a slot's line (a message's
 * memory stays intact until its next pop), and the sender takes the lines
 * back from the receiver's cache in one burst rather than one miss per
 * message. A segment given back after one message costs one store. */
static akt__mailq_seg *clean(akt__mailq_seg *s) {
  for (unsigned i = 1; i < s->dirty; i++)
    atomic_store_explicit((_Atomic uint64_t *)(void *)((char *)s + i * AKT__MAILQ_SLOT_BYTES), 0,
                          memory_order_relaxed);
  s->dirty = 1;
  atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->end, 0, memory_order_relaxed);
  return s;
}

akt__mailq_seg *akt__mailseg_alloc(unsigned cls) {
  AKT_ASSERT(cls < AKT__MAILSEG_CLASSES);
  seg_cache *k = my_cache();
  akt__mailq_seg *s = NULL;
  if (k && k->top[cls]) {
    s = k->top[cls];
    k->top[cls] = s->cache_next;
    k->n[cls]--;
    return clean(s);
  }
  pthread_mutex_lock(&depot.lock);
  if ((s = depot.top[cls]) != NULL) depot.top[cls] = s->cache_next;
  pthread_mutex_unlock(&depot.lock);
  if (s) return clean(s);
  void *p;
  if (posix_memalign(&p, AKT__MAILQ_SEG_ALIGN, class_bytes(cls)) != 0) return NULL;
  s = memset(p, 0, class_bytes(cls));
  s->cls = (uint8_t)cls;
  s->cap = (uint8_t)(4u << cls);
  s->dirty = 1;
  atomic_fetch_add_explicit(&seg_mallocs, 1, memory_order_relaxed);
  return s;
}

void akt__mailseg_free(akt__mailq_seg *s, unsigned used) {
  /* Slot 0 is the header; `used` bounds the slot words clean() zeroes. */
  AKT_ASSERT(used >= 1 && used <= s->cap);
  s->dirty = (uint16_t)used;
  seg_cache *k = my_cache();
  unsigned c = s->cls;
  if (k && k->n[c] < CACHE_SEGS) {
    s->cache_next = k->top[c];
    k->top[c] = s;
    k->n[c]++;
    return;
  }
  depot_put(s);
}

uint64_t akt__mailq_seg_mallocs(void) { return atomic_load(&seg_mallocs); }
