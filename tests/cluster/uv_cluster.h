/* The parts a cluster suite that runs on both backends shares: which
 * backend the running group uses, a wait for a condition that only bounds
 * a hang, and the faster formation on libuv. Include after both.h. */
#ifndef AKT_TESTS_CLUSTER_UV_CLUSTER_H
#define AKT_TESTS_CLUSTER_UV_CLUSTER_H

#include "../support/both.h"

#define HANG AKT_SECONDS(60) /* a deadline that only bounds a hang */

/* On libuv, members look for each other every 100 ms instead of every
 * second (the default join_interval) and gossip every 50 ms instead of
 * 200: each test forms a cluster of its own, and with the defaults the
 * waits for it to form were nine tenths of the suite's time. Nothing here
 * rests on how long a step takes; cluster-basic keeps the defaults. On
 * the simulator time is virtual and the defaults stay. */
#define UV_JOIN_INTERVAL AKT_MILLIS(100)
#define UV_GOSSIP_INTERVAL AKT_MILLIS(50)

static inline int uv(void) { return akt_test_backend == AKT_TESTKIT_UV; }

/* Waits on sys's backend until ready(arg) holds, at most HANG. Returns 0
 * or the backend's AKT_ETIMEDOUT. */
static inline int wait_for(akt_system *sys, int (*ready)(void *), void *arg) {
  akt_backend *b = akt_system_backend(sys);
  return b->ops->wait(b, ready, arg, b->ops->now(b) + HANG);
}

#endif
