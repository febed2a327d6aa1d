/* akt — a spin-wait hint to the CPU (internal). */
#ifndef AKT_UTIL_CPU_H
#define AKT_UTIL_CPU_H

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

#endif
