/* akt — arrays that grow by doubling (see grow.h). */
#include "src/util/grow.h"

#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/util/assert.h"

int akt__grow(void *items, size_t size, uint32_t n, uint32_t *cap, uint32_t initial,
              uint32_t max) {
  AKT_ASSERT(n <= *cap && initial > 0 && size > 0);
  if (n >= max) return AKT_ELIMIT;
  if (n < *cap) return 0;
  uint32_t grown = *cap ? (*cap > max / 2 ? max : *cap * 2) : initial;
  if (grown > max) grown = max; /* an initial capacity above the limit */
  AKT_ASSERT(grown > n);
  if ((size_t)grown > SIZE_MAX / size) return AKT_ENOMEM;
  /* The array pointer is read and written through memcpy: `items` may
   * point to a pointer of any object type. */
  void *old;
  memcpy(&old, items, sizeof old);
  void *p = realloc(old, (size_t)grown * size);
  if (!p) return AKT_ENOMEM;
  memcpy(items, &p, sizeof p);
  *cap = grown;
  return 0;
}
