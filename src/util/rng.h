/* akt — deterministic pseudo-random generators (internal).
 *
 * splitmix64 turns one seed into independent seeds; xoshiro256** is the
 * generator every stream uses. Pure arithmetic: no clock, no OS entropy, so
 * the core and the simulator may use it freely. Reference: Blackman & Vigna,
 * "Scrambled linear pseudorandom number generators" (2018).
 */
#ifndef AKT_UTIL_RNG_H
#define AKT_UTIL_RNG_H

#include <stdint.h>

typedef struct akt__rng {
  uint64_t s[4];
} akt__rng;

/* Advances *state and returns the next splitmix64 output. */
static inline uint64_t akt__splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Seeds `r` from `seed`; every seed (including 0) gives a valid state. */
static inline void akt__rng_seed(akt__rng *r, uint64_t seed) {
  uint64_t sm = seed;
  for (int i = 0; i < 4; i++) r->s[i] = akt__splitmix64(&sm);
}

static inline uint64_t akt__rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* Returns the next xoshiro256** output. */
static inline uint64_t akt__rng_next(akt__rng *r) {
  uint64_t *s = r->s;
  uint64_t result = akt__rotl64(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = akt__rotl64(s[3], 45);
  return result;
}

/* Returns a number uniformly distributed in [0, bound) (bound > 0), without
 * modulo bias (Lemire's multiply-shift with rejection). */
static inline uint64_t akt__rng_below(akt__rng *r, uint64_t bound) {
  uint64_t x = akt__rng_next(r);
  __uint128_t m = (__uint128_t)x * bound;
  uint64_t l = (uint64_t)m;
  if (l < bound) {
    uint64_t t = -bound % bound;
    while (l < t) {
      x = akt__rng_next(r);
      m = (__uint128_t)x * bound;
      l = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* Derives the seed of a named sub-stream from a parent seed: the result
 * depends only on (parent, label), so adding a stream never shifts another. */
uint64_t akt__rng_derive(uint64_t parent, const char *label);

#endif
