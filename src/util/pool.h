/* akt — a small-object cache for envelopes (internal).
 *
 * Envelopes are allocated by senders and freed by receivers, often on other
 * threads, millions of times a second; going to malloc for each costs more
 * than the rest of a send. This is Bonwick's magazine design (Bonwick &
 * Adams, "Magazines and Vmem", USENIX 2001): each thread keeps two
 * magazines (stacks of free objects) per size class and trades full and
 * empty magazines with a shared depot under a lock, so a steady stream of
 * sends and receives allocates nothing and takes the lock once per
 * AKT__POOL_MAGAZINE objects.
 *
 * The fast paths (a push or pop on the calling thread's loaded magazine)
 * are inline: they run twice per message, and a call costs as much as the
 * work.
 *
 * The depot is process-wide, a deliberate exception to "no global mutable
 * state": it is an allocator cache like malloc's arenas, and which memory
 * block an envelope gets never changes what any actor, node or simulation
 * does (nothing depends on pointer values).
 */
#ifndef AKT_UTIL_POOL_H
#define AKT_UTIL_POOL_H

#include <stddef.h>
#include <stdint.h>

#define AKT__POOL_CLASSES 5        /* 64, 128, 256, 512, 1024 bytes */
#define AKT__POOL_MAX_SIZE 1024    /* larger blocks come from malloc */
#define AKT__POOL_MAGAZINE 64      /* objects per magazine */
#define AKT__POOL_NONE 0xffu       /* the class of a malloc'd block */
/* Bytes of free objects the depot keeps per class (full magazines); beyond,
 * a returned magazine's objects go back to malloc. Sized for a burst: a
 * sender that outruns its receiver for a scheduler time slice queues
 * ~100k envelopes, and each one freed to malloc and allocated again costs
 * as much as the whole send (class 128: 131072 objects). */
#define AKT__POOL_DEPOT_BYTES ((size_t)16 << 20)
/* An allocation prefetches, for writing, the first line of the block
 * handed out this many allocations later. Blocks come back from the
 * receivers' threads, so the first write to one is a cache miss on another
 * core; started early, it is over by the time the sender fills the block,
 * instead of stalling the sender's next atomic (which waits for all earlier
 * stores). Only the first line: a small envelope's second line is written
 * only when its meta is needed (envelope.h), and taking it from the
 * receiver for nothing would cost as much as the miss saved. */
#ifndef AKT__POOL_PREFETCH
#define AKT__POOL_PREFETCH 4
#endif

/* Magazines and caches are aligned to (and padded to multiples of) a
 * cache line: a magazine's count, written on every allocation or free by
 * its thread, must not share a line with the end of another thread's
 * magazine. */
#define AKT__POOL_ALIGN 64

/* A magazine: a stack of free objects of one class. */
typedef struct akt__pool_mag {
  _Alignas(AKT__POOL_ALIGN) struct akt__pool_mag *next; /* in the depot */
  uint32_t n;
  void *objs[AKT__POOL_MAGAZINE];
} akt__pool_mag;

/* A thread's magazines (allocated on its first use of the pool). */
typedef struct akt__pool_cache {
  _Alignas(AKT__POOL_ALIGN) akt__pool_mag *loaded[AKT__POOL_CLASSES];
  akt__pool_mag *previous[AKT__POOL_CLASSES];
} akt__pool_cache;

/* The calling thread's cache, or NULL before its first slow-path call.
 * initial-exec: reached without a __tls_get_addr call when akt is a shared
 * library. */
extern _Thread_local akt__pool_cache *akt__pool_tls __attribute__((tls_model("initial-exec")));

/* The out-of-line halves of akt__pool_alloc and akt__pool_free. */
void *akt__pool_alloc_slow(size_t size, uint8_t *cls);
void akt__pool_free_slow(void *p, uint8_t cls);

/* The smallest class that holds `size` (<= AKT__POOL_MAX_SIZE) bytes:
 * class c holds 64 << c bytes, so c = ceil(log2(size)) - 6. */
static inline unsigned akt__pool_class_of(size_t size) {
  if (size <= 64) return 0;
  return (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1)) - 6;
}

/* Prefetches the cache line at `p` for writing (a hint; never faults).
 * __builtin_prefetch(p, 1) emits a read prefetch unless the target has
 * PREFETCHW, and a line fetched for reading still needs a second trip to
 * another core before the write; every x86-64 decodes PREFETCHW (older
 * Intel parts as a no-op). */
static inline void akt__prefetch_w(const void *p) {
#if defined(__x86_64__)
  __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

/* Allocates `size` bytes, aligned to a cache line (AKT__POOL_ALIGN) when
 * size <= AKT__POOL_MAX_SIZE, else for any type. Writes the block's class
 * to *cls (pass it back to akt__pool_free). Returns NULL when out of memory. */
static inline void *akt__pool_alloc(size_t size, uint8_t *cls) {
  akt__pool_cache *k = akt__pool_tls;
  if (k != NULL && size <= AKT__POOL_MAX_SIZE) {
    unsigned c = akt__pool_class_of(size);
    akt__pool_mag *m = k->loaded[c];
    if (m != NULL && m->n > 0) {
      uint32_t n = --m->n;
      if (n >= AKT__POOL_PREFETCH) akt__prefetch_w(m->objs[n - AKT__POOL_PREFETCH]);
      *cls = (uint8_t)c;
      return m->objs[n];
    }
  }
  return akt__pool_alloc_slow(size, cls);
}

/* Frees a block from akt__pool_alloc. NULL is a no-op. */
static inline void akt__pool_free(void *p, uint8_t cls) {
  akt__pool_cache *k = akt__pool_tls;
  if (p != NULL && k != NULL && cls < AKT__POOL_CLASSES) {
    akt__pool_mag *m = k->loaded[cls];
    if (m != NULL && m->n < AKT__POOL_MAGAZINE) {
      m->objs[m->n++] = p;
      return;
    }
  }
  akt__pool_free_slow(p, cls);
}

/* Counters for tests and benchmarks: blocks obtained from malloc so far. */
uint64_t akt__pool_mallocs(void);

#endif
