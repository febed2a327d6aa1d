/* akt — the path registry: live actors by path (internal).
 *
 * A chained hash table keyed by xxh3 of the path, guarded by the system
 * lock. Lookups only: nothing iterates it, so bucket order never shows.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/system/system.h"

#define REG_INITIAL_CAP 64

static size_t bucket(const akt_system *sys, const char *path) {
  return (size_t)(XXH3_64bits(path, strlen(path)) & (sys->reg_cap - 1));
}

akt__cell *akt__registry_find(akt_system *sys, const char *path) {
  if (!sys->reg) return NULL;
  for (akt__cell *c = sys->reg[bucket(sys, path)]; c; c = c->reg_next)
    if (strcmp(akt__self(c)->path, path) == 0) return c;
  return NULL;
}

/* Doubles the table when it holds as many entries as buckets. */
static int grow(akt_system *sys) {
  size_t cap = sys->reg_cap ? sys->reg_cap * 2 : REG_INITIAL_CAP;
  akt__cell **nb = calloc(cap, sizeof *nb);
  if (!nb) return AKT_ENOMEM;
  akt__cell **old = sys->reg;
  size_t oldcap = sys->reg_cap;
  sys->reg = nb;
  sys->reg_cap = cap;
  for (size_t i = 0; i < oldcap; i++) {
    akt__cell *c = old[i];
    while (c) {
      akt__cell *next = c->reg_next;
      size_t b = bucket(sys, akt__self(c)->path);
      c->reg_next = nb[b];
      nb[b] = c;
      c = next;
    }
  }
  free(old);
  return 0;
}

int akt__registry_add(akt_system *sys, akt__cell *c) {
  if (sys->reg_count >= sys->reg_cap) {
    int rc = grow(sys);
    if (rc) return rc;
  }
  size_t b = bucket(sys, akt__self(c)->path);
  c->reg_next = sys->reg[b];
  sys->reg[b] = c;
  c->listed |= AKT__LISTED_REGISTRY;
  sys->reg_count++;
  return 0;
}

void akt__registry_remove(akt_system *sys, akt__cell *c) {
  akt__cell **pp = &sys->reg[bucket(sys, akt__self(c)->path)];
  while (*pp && *pp != c) pp = &(*pp)->reg_next;
  if (*pp) {
    *pp = c->reg_next;
    sys->reg_count--;
  }
  c->reg_next = NULL;
  c->listed &= (uint8_t)~AKT__LISTED_REGISTRY;
}

void akt__registry_free(akt_system *sys) {
  free(sys->reg);
  sys->reg = NULL;
  sys->reg_cap = sys->reg_count = 0;
}
