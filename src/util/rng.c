/* akt — sub-stream seed derivation. */
#include "src/util/rng.h"

#include <xxhash.h>
#include <string.h>

uint64_t akt__rng_derive(uint64_t parent, const char *label) {
  /* Hash the label with the parent as the xxh3 seed, then scramble once more
   * so nearby parents give unrelated children. */
  uint64_t h = XXH3_64bits_withSeed(label, strlen(label), parent);
  return akt__splitmix64(&h);
}
