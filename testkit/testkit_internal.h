/* akt — testkit internals shared by testkit.c and probe.c. */
#ifndef AKT_TESTKIT_INTERNAL_H
#define AKT_TESTKIT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "akt/testkit.h"
#include "src/actor/envelope.h"
#include "src/util/assert.h"

typedef struct probe_ignore {
  akt_probe_pred pred;
  void *arg;
} probe_ignore;

struct akt_probe {
  akt_testkit *tk;
  unsigned node;
  char name[64];
  akt_pid *pid;               /* the probe's sink cell (one reference) */
  pthread_mutex_t lock;       /* queue and filters: senders run on workers */
  akt__env *qhead, *qtail;    /* received, not yet taken (linked by node.next) */
  _Atomic size_t qlen;
  probe_ignore ignores[AKT_PROBE_MAX_IGNORES];
  unsigned nignores;
  akt__env **taken;           /* returned to the test; freed by clear */
  size_t ntaken, captaken;
  akt__env *last;             /* the last taken message */
  uint64_t overflow;          /* messages refused because the queue was full */
  akt_probe *next;            /* the testkit's list */
};

struct akt_testkit {
  akt_testkit_options opts;
  char test[128];
  uint64_t seed;
  akt_sim_world *world;       /* simulator */
  akt_backend *uv;            /* libuv backend */
  akt_backend *backends[AKT_TESTKIT_MAX_NODES];
  akt_system *systems[AKT_TESTKIT_MAX_NODES];
  unsigned nnodes;
  akt_pid **spawned;          /* PIDs returned by akt_testkit_spawn */
  size_t nspawned, capspawned;
  akt_probe *probes;
  akt__assert_reporter prev_reporter; /* restored by free */
};

/* Fails the current cmocka test with `what` plus time, seed and replay
 * hint. Does not return. */
void akt__testkit_fail(akt_testkit *tk, const char *file, int line, const char *what)
    __attribute__((noreturn));

/* Waits on node `node`'s backend until ready(arg) or `deadline`. */
int akt__testkit_wait(akt_testkit *tk, unsigned node, int (*ready)(void *), void *arg,
                      uint64_t deadline);

/* A deadline `timeout` from now (AKT_PROBE_DEFAULT_TIMEOUT = the default). */
uint64_t akt__testkit_deadline(akt_testkit *tk, akt_duration timeout);

/* Frees a probe (testkit free). */
void akt__probe_free(akt_probe *p);

#endif
