/* akt — a chained hash table of items keyed by a string (see strtab.h). */
#include "src/util/strtab.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/util/assert.h"

/* The chain pointer of `item`. */
static void **link_of(const akt__strtab *t, void *item) {
  return (void **)(void *)((char *)item + t->link_off);
}

static size_t bucket(const akt__strtab *t, const char *key) {
  return (size_t)(XXH3_64bits(key, strlen(key)) & (t->cap - 1));
}

void akt__strtab_init(akt__strtab *t, size_t initial, size_t link_off,
                      const char *(*key)(const void *item)) {
  AKT_ASSERT(initial > 0 && (initial & (initial - 1)) == 0 && key != NULL);
  *t = (akt__strtab){.initial = initial, .link_off = link_off, .key = key};
}

void *akt__strtab_find(const akt__strtab *t, const char *key) {
  if (!t->buckets) return NULL;
  for (void *it = t->buckets[bucket(t, key)]; it; it = *link_of(t, it))
    if (strcmp(t->key(it), key) == 0) return it;
  return NULL;
}

/* Doubles the bucket array (or makes the first) and rehashes. */
static int grow(akt__strtab *t) {
  size_t cap = t->cap ? t->cap * 2 : t->initial;
  if (cap < t->cap || cap > SIZE_MAX / sizeof(void *)) return AKT_ENOMEM;
  void **nb = calloc(cap, sizeof *nb);
  if (!nb) return AKT_ENOMEM;
  void **old = t->buckets;
  size_t oldcap = t->cap;
  t->buckets = nb;
  t->cap = cap;
  for (size_t i = 0; i < oldcap; i++) {
    for (void *it = old[i], *next; it; it = next) {
      next = *link_of(t, it);
      size_t b = bucket(t, t->key(it));
      *link_of(t, it) = nb[b];
      nb[b] = it;
    }
  }
  free(old);
  return 0;
}

int akt__strtab_add(akt__strtab *t, void *item) {
  AKT_ASSERT(akt__strtab_find(t, t->key(item)) == NULL);
  if (t->count >= t->cap) {
    int rc = grow(t);
    if (rc) return rc;
  }
  size_t b = bucket(t, t->key(item));
  *link_of(t, item) = t->buckets[b];
  t->buckets[b] = item;
  t->count++;
  AKT_ASSERT(t->count <= t->cap);
  return 0;
}

int akt__strtab_remove(akt__strtab *t, void *item) {
  if (!t->buckets) return 0;
  void **pp = &t->buckets[bucket(t, t->key(item))];
  while (*pp && *pp != item) pp = link_of(t, *pp);
  if (!*pp) return 0;
  *pp = *link_of(t, item);
  *link_of(t, item) = NULL;
  AKT_ASSERT(t->count > 0);
  t->count--;
  return 1;
}

void akt__strtab_free(akt__strtab *t, void (*fn)(void *item)) {
  for (size_t i = 0; fn && i < t->cap; i++) {
    for (void *it = t->buckets[i], *next; it; it = next) {
      next = *link_of(t, it);
      fn(it);
    }
  }
  free(t->buckets);
  t->buckets = NULL;
  t->cap = t->count = 0;
}
