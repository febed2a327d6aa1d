/* akt — a chained hash table of items keyed by a string (internal).
 *
 * Intrusive: each item carries its own chain pointer (at `link_off`) and
 * its key (read through `key`), so adding an item allocates nothing but,
 * now and then, a larger bucket array. Keys hash with xxh3; the bucket
 * array doubles when the table holds as many items as buckets. Lookups,
 * adds and removes only: there is no iteration in bucket order except to
 * free every item, so that order never shows. The caller locks.
 */
#ifndef AKT_UTIL_STRTAB_H
#define AKT_UTIL_STRTAB_H

#include <stddef.h>

typedef struct akt__strtab {
  void **buckets;                     /* NULL until the first add */
  size_t cap, count;                  /* buckets (a power of two), items */
  size_t initial;                     /* buckets of the first array (a power of two) */
  size_t link_off;                    /* offset of an item's `void *` chain pointer */
  const char *(*key)(const void *item);
} akt__strtab;

/* An empty table whose first bucket array has `initial` buckets (a power of
 * two). Allocates nothing. */
void akt__strtab_init(akt__strtab *t, size_t initial, size_t link_off,
                      const char *(*key)(const void *item));

/* The item whose key equals `key`, or NULL. */
void *akt__strtab_find(const akt__strtab *t, const char *key);

/* Adds `item`, whose key must not be in the table yet. Returns 0 or
 * AKT_ENOMEM (the table is unchanged). */
int akt__strtab_add(akt__strtab *t, void *item);

/* Removes `item`; returns 1 if it was in the table, else 0. */
int akt__strtab_remove(akt__strtab *t, void *item);

/* Calls `fn` (may be NULL) on every item, in no defined order, then frees
 * the bucket array; the table is empty afterwards. */
void akt__strtab_free(akt__strtab *t, void (*fn)(void *item));

#endif
