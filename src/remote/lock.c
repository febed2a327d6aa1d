/* akt — ranked mutexes (see lock.h). */
#include "src/remote/lock.h"

_Thread_local unsigned akt__ranks_held __attribute__((tls_model("initial-exec")));

void akt__rmutex_init(akt__rmutex *m, unsigned rank) {
  AKT_ASSERT(rank != 0 && (rank & (rank - 1)) == 0);
  pthread_mutex_init(&m->mu, NULL);
  m->rank = rank;
}

void akt__rmutex_destroy(akt__rmutex *m) { pthread_mutex_destroy(&m->mu); }
