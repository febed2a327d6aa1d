/* A program with a workload of its own on akt-sim's command line
 * (akt_sim_main), for tests/sim/akt_sim_check.sh: "tally" counts
 * node starts and checks that every node started; "crash=1" makes node 1's
 * start abort, which akt-sim must report as exit 2 with the signal, not die
 * of it; "nondet=1" traces the process id, and "leak=1" names an actor after
 * a heap address — both nondeterminism that
 * check-determinism and a sweep's re-check must catch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "akt/akt.h"
#include "akt/scenario.h"

typedef struct tally_state {
  uint64_t ticks[AKT_SCENARIO_MAX_NODES];
} tally_state;

static int ticker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

static const akt_actor_def ticker_def = {.kind = "ticker", .receive = ticker_receive};

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  if (i == 1 && akt_scenario_param(sc, "crash", 0)) abort();
  /* nondet=1: a deliberately nondeterministic record, for check-determinism. */
  if (akt_scenario_param(sc, "nondet", 0)) akt_scenario_note(sc, "pid", NULL, (uint64_t)getpid());
  akt_system *sys;
  int rc = akt_scenario_system_new(sc, i, &sys);
  if (rc == 0) rc = akt_spawn(sys, "ticker", &ticker_def, NULL, NULL);
  if (rc == 0 && akt_scenario_param(sc, "leak", 0)) {
    /* The bug under test: behaviour that depends on where malloc put a
     * block. Forks of one process agree on it; separate processes do not.
     * (Under ASan the heap sits at a fixed address, so a stack address is
     * mixed in: the kernel randomizes the stack in every process.) */
    int local;
    void *block = malloc(64);
    uintptr_t bits = ((uintptr_t)block ^ (uintptr_t)&local) >> 4;
    free(block);
    char name[32];
    snprintf(name, sizeof name, "at-%llx", (unsigned long long)(bits & 0xffffff));
    rc = akt_spawn(sys, name, &ticker_def, NULL, NULL);
  }
  tally_state *st = akt_scenario_state(sc);
  st->ticks[i]++;
  return rc;
}

static int check_started(akt_scenario *sc, char *why) {
  tally_state *st = akt_scenario_state(sc);
  for (size_t i = 0; i < akt_scenario_nodes(sc); i++) {
    if (!st->ticks[i]) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "node%zu never started", i);
      return 1;
    }
  }
  return 0;
}

static const akt_workload_check checks[] = {{"every-node-started", AKT_CHECK_LIVENESS, check_started},
                                            {NULL, 0, NULL}};

static const akt_workload_param params[] = {
    {"crash", "1: node 1's start aborts"},
    {"nondet", "1: the process id goes into the trace"},
    {"leak", "1: an actor is named after a heap address"},
    {NULL, NULL},
};

static const akt_workload tally = {
    .name = "tally",
    .summary = "a test workload: every node starts (crash=1 aborts node 1's start)",
    .state_size = sizeof(tally_state),
    .node_start = node_start,
    .checks = checks,
    .params = params,
};

int main(int argc, char **argv) {
  const akt_workload *mine[] = {&tally};
  return akt_sim_main(argc, argv, mine, 1);
}
