/* akt — CPU primitives C11 does not name (internal): a spin-wait hint and
 * a double-word compare-exchange. */
#ifndef AKT_UTIL_CPU_H
#define AKT_UTIL_CPU_H

#include <stdint.h>

/* AKT__TSAN is 1 in a ThreadSanitizer build (gcc defines
 * __SANITIZE_THREAD__, clang answers __has_feature). */
#if defined(__SANITIZE_THREAD__)
#define AKT__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AKT__TSAN 1
#endif
#endif
#ifndef AKT__TSAN
#define AKT__TSAN 0
#endif

/* One short pause in a polling loop: PAUSE on x86, YIELD on AArch64,
 * nothing elsewhere. It lets a sibling hardware thread run and keeps the
 * poll from flooding the memory system; it touches no memory. */
static inline void akt__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

#if defined(__x86_64__)
/* The mailbox heads (mailq.h, mpsc.h) are two adjacent words that change
 * together: a position and a push count. On x86-64 one `lock cmpxchg16b`
 * does it; C11 cannot say it without a call into libatomic on every push
 * (gcc does not inline 16-byte atomics), so it is written in assembly. */
#define AKT__HAVE_CAS2 1

/* The 16 bytes the instruction works on, as one operand. */
typedef struct akt__cas2_pair {
  uint64_t w[2];
} akt__cas2_pair;

/* If the 16-byte-aligned pair at `pair` holds {*lo, *hi}, replaces it with
 * {nlo, nhi} and returns 1; else loads the pair's current value into *lo,
 * *hi and returns 0. Sequentially consistent (a full barrier) either way.
 *
 * ThreadSanitizer does not see inside an asm statement: it would miss
 * both the write and the happens-before edge the instruction makes, and
 * report every access ordered by it as a race. Its build uses the 16-byte
 * __atomic builtin instead, which it models (as __tsan_atomic128_*): the
 * same operation and order, so the tool checks the protocol that runs in
 * production. (clang instruments it only with -mcx16; without, it calls
 * libatomic, which the tool does not see.) */
static inline int akt__cas2(void *pair, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi) {
#if AKT__TSAN
  __extension__ typedef unsigned __int128 u128 __attribute__((may_alias));
  u128 want = ((u128)*hi << 64) | *lo;
  int ok = __atomic_compare_exchange_n((u128 *)pair, &want, ((u128)nhi << 64) | nlo, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  *lo = (uint64_t)want;
  *hi = (uint64_t)(want >> 64);
  return ok;
#else
  unsigned char ok;
  __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                   : "=q"(ok), "+m"(*(akt__cas2_pair *)pair), "+a"(*lo), "+d"(*hi)
                   : "b"(nlo), "c"(nhi)
                   : "memory", "cc");
  return ok;
#endif
}
#endif

#endif
