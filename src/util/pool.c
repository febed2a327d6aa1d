/* akt — the magazine cache (see pool.h). */
#include "src/util/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef akt__pool_mag magazine;
typedef akt__pool_cache cache;

typedef struct depot {
  /* A leaf: held for list pushes and pops only (objects go back to malloc
   * after it is released), so an envelope may be allocated or freed under
   * any other lock. */
  pthread_mutex_t lock;
  magazine *full, *empty;
  uint32_t nfull;
} depot;

static depot depots[AKT__POOL_CLASSES] = {
    {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0}, {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0},
    {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0}, {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0},
    {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0}};
static pthread_key_t cache_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
_Thread_local akt__pool_cache *akt__pool_tls;
static _Atomic uint64_t mallocs;

static size_t class_size(unsigned c) { return (size_t)64 << c; }

/* A zeroed block of `size` bytes (a multiple of AKT__POOL_ALIGN) aligned
 * to AKT__POOL_ALIGN, or NULL: magazines and caches. */
static void *aligned_block(size_t size) {
  void *p;
  if (posix_memalign(&p, AKT__POOL_ALIGN, size) != 0) return NULL;
  memset(p, 0, size);
  return p;
}

/* A new object of class c, aligned to a cache line so that its first line
 * holds exactly its first 64 bytes (an envelope's header and a small
 * message, envelope.h). Over-allocated from malloc and aligned by hand,
 * the malloc'd address kept just before the object: posix_memalign costs
 * several times as much, and a burst (a receiver falling far behind: the
 * fanin workload) allocates millions of objects. NULL when out of memory. */
static void *object_new(unsigned c) {
  char *raw = malloc(class_size(c) + AKT__POOL_ALIGN + sizeof(void *));
  if (!raw) return NULL;
  uintptr_t at = ((uintptr_t)raw + sizeof(void *) + AKT__POOL_ALIGN - 1) &
                 ~(uintptr_t)(AKT__POOL_ALIGN - 1);
  void **obj = (void **)at;
  obj[-1] = raw;
  return obj;
}

/* Frees an object from object_new. */
static void object_free(void *obj) { free(((void **)obj)[-1]); }

/* Puts a magazine into the depot (full or empty), or frees it and its
 * objects when the depot holds enough. */
static void depot_put(unsigned c, magazine *m) {
  depot *d = &depots[c];
  pthread_mutex_lock(&d->lock);
  if (m->n == 0) {
    m->next = d->empty;
    d->empty = m;
    m = NULL;
  } else if (d->nfull < AKT__POOL_DEPOT_BYTES / (class_size(c) * AKT__POOL_MAGAZINE)) {
    m->next = d->full;
    d->full = m;
    d->nfull++;
    m = NULL;
  }
  pthread_mutex_unlock(&d->lock);
  if (m) {
    for (uint32_t i = 0; i < m->n; i++) object_free(m->objs[i]);
    free(m);
  }
}

/* Takes a full magazine (want_full) or an empty one from the depot. */
static magazine *depot_take(unsigned c, int want_full) {
  depot *d = &depots[c];
  pthread_mutex_lock(&d->lock);
  magazine *m = want_full ? d->full : d->empty;
  if (m) {
    if (want_full) {
      d->full = m->next;
      d->nfull--;
    } else {
      d->empty = m->next;
    }
  }
  pthread_mutex_unlock(&d->lock);
  return m;
}

/* A thread ends: its magazines go back to the depot. */
static void cache_release(void *p) {
  cache *k = p;
  for (unsigned c = 0; c < AKT__POOL_CLASSES; c++) {
    if (k->loaded[c]) depot_put(c, k->loaded[c]);
    if (k->previous[c]) depot_put(c, k->previous[c]);
  }
  free(k);
  akt__pool_tls = NULL;
}

static void make_key(void) { pthread_key_create(&cache_key, cache_release); }

static cache *my_cache(void) {
  if (akt__pool_tls) return akt__pool_tls;
  pthread_once(&key_once, make_key);
  cache *k = aligned_block(sizeof *k);
  if (!k) return NULL;
  pthread_setspecific(cache_key, k);
  akt__pool_tls = k;
  return k;
}

void *akt__pool_alloc_slow(size_t size, uint8_t *cls) {
  if (size > AKT__POOL_MAX_SIZE) {
    *cls = AKT__POOL_NONE;
    return malloc(size);
  }
  unsigned c = akt__pool_class_of(size);
  *cls = (uint8_t)c;
  cache *k = my_cache();
  if (k) {
    magazine *m = k->loaded[c];
    if (!m || m->n == 0) {
      magazine *p = k->previous[c];
      if (p && p->n) {
        /* Swap: the previous magazine has objects. */
        k->previous[c] = m;
        k->loaded[c] = m = p;
      } else {
        magazine *full = depot_take(c, 1);
        if (full) {
          if (m) depot_put(c, m); /* empty */
          k->loaded[c] = m = full;
          /* Another thread filled it: fetch its lines of pointers all at
           * once, not one cache miss every eight allocations. */
          for (uint32_t i = 0; i < m->n; i += AKT__POOL_ALIGN / sizeof(void *))
            __builtin_prefetch(&m->objs[i]);
        }
      }
    }
    if (m && m->n) return m->objs[--m->n];
  }
  atomic_fetch_add_explicit(&mallocs, 1, memory_order_relaxed);
  return object_new(c);
}

void akt__pool_free_slow(void *p, uint8_t cls) {
  if (!p) return;
  if (cls == AKT__POOL_NONE) {
    free(p);
    return;
  }
  unsigned c = cls;
  cache *k = my_cache();
  if (!k) {
    object_free(p);
    return;
  }
  magazine *m = k->loaded[c];
  if (m && m->n < AKT__POOL_MAGAZINE) {
    m->objs[m->n++] = p;
    return;
  }
  magazine *prev = k->previous[c];
  if (m && prev && prev->n == 0) {
    /* Swap: the empty previous becomes the loaded one. */
    k->previous[c] = m;
    k->loaded[c] = m = prev;
  } else {
    /* The loaded magazine is full (or absent): retire the previous one to
     * the depot and start an empty one. */
    if (prev) depot_put(c, prev);
    k->previous[c] = m;
    m = depot_take(c, 0);
    if (!m) m = aligned_block(sizeof *m);
    if (!m) {
      object_free(p);
      return;
    }
    m->n = 0;
    k->loaded[c] = m;
  }
  m->objs[m->n++] = p;
}

uint64_t akt__pool_mallocs(void) { return atomic_load(&mallocs); }
