/* akt — ranked mutexes: a lock hierarchy that checks itself.
 *
 * Every lock of remoting has a rank, a power of two (the ranks are listed
 * where the locks are declared: remote.h). The rule: a thread may take a
 * lock only while every lock it already holds has a lower rank. Locks of
 * equal rank (two endpoints' state locks, say) are never held together.
 * Any program that keeps this rule cannot deadlock on these locks, since
 * every thread takes them in the same order.
 *
 * The check is always on (assert.h's discipline): each thread keeps the set
 * of ranks it holds in one word, and taking a lock asserts that set is
 * below the new rank — a load, a compare and a store beside the mutex's own
 * atomic operation. A violation aborts with both values, on the first run
 * that takes the locks in the wrong order, instead of deadlocking on the
 * rare run that also interleaves badly (the simulator, with one thread,
 * never deadlocks at all — so only this check finds such a bug there).
 *
 * The set is per thread, not per system: which locks a thread holds is a
 * fact about the thread. It never changes what a run does (DESIGN §2), only
 * whether a wrong order is reported.
 */
#ifndef AKT_REMOTE_LOCK_H
#define AKT_REMOTE_LOCK_H

#include <pthread.h>

#include "src/util/assert.h"

/* The ranks the calling thread holds (bits). Initial-exec TLS: one
 * instruction to reach, where the default model calls __tls_get_addr. */
extern _Thread_local unsigned akt__ranks_held __attribute__((tls_model("initial-exec")));

/* A mutex with its rank (a power of two, fixed at init). */
typedef struct akt__rmutex {
  pthread_mutex_t mu;
  unsigned rank;
} akt__rmutex;

/* Initializes m with `rank` (a single bit). */
void akt__rmutex_init(akt__rmutex *m, unsigned rank);
void akt__rmutex_destroy(akt__rmutex *m);

/* Takes m; asserts that every rank the thread holds is lower than m's. */
static inline void akt__rmutex_lock(akt__rmutex *m) {
  unsigned held = akt__ranks_held;
  AKT_ASSERT_TRANSITION("lock order (ranks held -> rank taken)", held, m->rank, held < m->rank);
  pthread_mutex_lock(&m->mu);
  akt__ranks_held = held | m->rank;
}

/* Releases m, which the thread holds (any order among held locks). */
static inline void akt__rmutex_unlock(akt__rmutex *m) {
  AKT_ASSERT(akt__ranks_held & m->rank);
  akt__ranks_held &= ~m->rank;
  pthread_mutex_unlock(&m->mu);
}

/* Asserts that the thread holds a lock of `rank` (a precondition such as
 * "endpoint lock held"). */
#define AKT__ASSERT_HELD(rank) AKT_ASSERT((akt__ranks_held & (rank)) != 0)

/* Asserts that the thread holds no lock of `rank` or above (before a call
 * that may take them, or that must not run under them). */
#define AKT__ASSERT_NOT_HELD(rank) AKT_ASSERT((akt__ranks_held & ~((rank) - 1u)) == 0)

#endif
