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
#define AKT__POOL_DEPOT_MAX 512    /* full magazines kept per class (32768 objects); beyond, freed */
#define AKT__POOL_NONE 0xffu       /* the class of a malloc'd block */

/* Allocates `size` bytes (aligned for any type). Writes the block's class
 * to *cls (pass it back to akt__pool_free). Returns NULL when out of memory. */
void *akt__pool_alloc(size_t size, uint8_t *cls);

/* Frees a block from akt__pool_alloc. */
void akt__pool_free(void *p, uint8_t cls);

/* Counters for tests and benchmarks: blocks obtained from malloc so far. */
uint64_t akt__pool_mallocs(void);

#endif
