/* akt — a set of non-zero 64-bit keys. */
#include "src/util/u64set.h"

#include <stdlib.h>

#include "akt/error.h"

static size_t slot_of(uint64_t key, size_t cap) {
  /* Fibonacci hashing spreads sequential ids over the table. */
  return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (cap - 1);
}

static int grow(akt__u64set *s) {
  size_t cap = s->cap ? s->cap * 2 : 64;
  uint64_t *slots = calloc(cap, sizeof *slots);
  if (!slots) return AKT_ENOMEM;
  for (size_t i = 0; i < s->cap; i++) {
    uint64_t k = s->slots[i];
    if (!k) continue;
    size_t j = slot_of(k, cap);
    while (slots[j]) j = (j + 1) & (cap - 1);
    slots[j] = k;
  }
  free(s->slots);
  s->slots = slots;
  s->cap = cap;
  return 0;
}

int akt__u64set_add(akt__u64set *s, uint64_t key) {
  if (!key) return AKT_EINVAL;
  if ((s->count + 1) * 4 > s->cap * 3) {
    int rc = grow(s);
    if (rc) return rc;
  }
  size_t i = slot_of(key, s->cap);
  while (s->slots[i]) {
    if (s->slots[i] == key) return 0;
    i = (i + 1) & (s->cap - 1);
  }
  s->slots[i] = key;
  s->count++;
  return 0;
}

int akt__u64set_has(const akt__u64set *s, uint64_t key) {
  if (!s->cap || !key) return 0;
  size_t i = slot_of(key, s->cap);
  while (s->slots[i]) {
    if (s->slots[i] == key) return 1;
    i = (i + 1) & (s->cap - 1);
  }
  return 0;
}

int akt__u64set_remove(akt__u64set *s, uint64_t key) {
  if (!s->cap || !key) return 0;
  size_t mask = s->cap - 1;
  size_t i = slot_of(key, s->cap);
  while (s->slots[i] != key) {
    if (!s->slots[i]) return 0;
    i = (i + 1) & mask;
  }
  /* Shift later members of the probe run back into the hole. */
  size_t hole = i;
  for (size_t j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
    size_t home = slot_of(s->slots[j], s->cap);
    /* Move j into the hole if its home is not in (hole, j]. */
    int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!between) {
      s->slots[hole] = s->slots[j];
      hole = j;
    }
  }
  s->slots[hole] = 0;
  s->count--;
  return 1;
}

void akt__u64set_free(akt__u64set *s) {
  free(s->slots);
  s->slots = NULL;
  s->cap = s->count = 0;
}
