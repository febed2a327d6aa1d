/* akt — the path registry: live actors by path (internal).
 *
 * A string table (util/strtab.h) of cells keyed by their path, guarded by
 * the system lock. It holds every cell between spawn and termination, and
 * sink cells until they close: its size is bounded by max_actors and the
 * asks in flight.
 */
#include <stddef.h>

#include "akt/error.h"
#include "src/system/system.h"
#include "src/util/assert.h"

/* Buckets of the first bucket array (a power of two). */
#define REG_INITIAL_BUCKETS 64

static const char *cell_path(const void *item) { return akt__self(item)->path; }

void akt__registry_init(akt_system *sys) {
  akt__strtab_init(&sys->reg, REG_INITIAL_BUCKETS, offsetof(akt__cell, reg_next), cell_path);
}

akt__cell *akt__registry_find(akt_system *sys, const char *path) {
  return akt__strtab_find(&sys->reg, path);
}

int akt__registry_add(akt_system *sys, akt__cell *c) {
  AKT_ASSERT(!(c->listed & AKT__LISTED_REGISTRY));
  int rc = akt__strtab_add(&sys->reg, c);
  if (!rc) c->listed |= AKT__LISTED_REGISTRY;
  return rc;
}

void akt__registry_remove(akt_system *sys, akt__cell *c) {
  AKT_ASSERT(c->listed & AKT__LISTED_REGISTRY);
  int found = akt__strtab_remove(&sys->reg, c);
  AKT_ASSERT(found);
  c->listed &= (uint8_t)~AKT__LISTED_REGISTRY;
}

void akt__registry_free(akt_system *sys) { akt__strtab_free(&sys->reg, NULL); }
