/* akt — a set of non-zero 64-bit keys (internal).
 *
 * Open addressing with linear probing and backward-shift deletion, so there
 * are no tombstones and lookups stay short. Nothing iterates it, so its
 * layout never shows in behaviour.
 */
#ifndef AKT_UTIL_U64SET_H
#define AKT_UTIL_U64SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct akt__u64set {
  uint64_t *slots; /* 0 = empty */
  size_t cap;      /* a power of two, or 0 */
  size_t count;
} akt__u64set;

/* Adds `key` (non-zero). Returns 0, or AKT_ENOMEM. Adding a present key is a
 * no-op. */
int akt__u64set_add(akt__u64set *s, uint64_t key);

/* Removes `key`; returns 1 if it was present, else 0. */
int akt__u64set_remove(akt__u64set *s, uint64_t key);

/* 1 if `key` is present. */
int akt__u64set_has(const akt__u64set *s, uint64_t key);

/* Frees the slots; the set is empty and reusable afterwards. */
void akt__u64set_free(akt__u64set *s);

#endif
