/* akt — check-determinism: the same seed in two processes that share
 * nothing but the program and the scenario file.
 *
 * The first copy runs in a fork of akt-sim, the second in a fresh process
 * (akt__job_exec: exec, address-space randomization on, an environment of
 * another size). Two forks would share their parent's address layout and
 * heap state, so a run whose behaviour depends on a pointer value (a hash
 * of an address, an uninitialized byte, a table iterated in address order)
 * would give the same trace twice and pass; in two processes it does not.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/scenario/cli.h"
#include "sim/scenario/diff.h"

/* Creates an empty file for a trace in $TMPDIR (or /tmp). Returns 0 or -1. */
static int temp_trace(char *path, size_t size) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  snprintf(path, size, "%s/akt-sim-XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0) {
    fprintf(stderr, "akt-sim: cannot create a trace file in %s: %s\n", dir, strerror(errno));
    return -1;
  }
  close(fd);
  return 0;
}

int akt__cli_compare_runs(akt__cli *cli, uint64_t seed, akt__run_result r[2]) {
  char path[2][600];
  if (temp_trace(path[0], sizeof path[0]) != 0) return AKT__RUN_ERROR;
  if (temp_trace(path[1], sizeof path[1]) != 0) {
    unlink(path[0]);
    return AKT__RUN_ERROR;
  }
  akt__run_opts o = {.trace_path = path[0]};
  akt__job_run(&cli->spec, cli->wl, seed, NULL, &o, &r[0]);
  akt__job fresh;
  int rc = AKT__RUN_ERROR;
  if (akt__job_exec(&fresh, cli->file, seed, path[1]) != 0) {
    fprintf(stderr, "akt-sim: cannot start a fresh process: %s\n", strerror(errno));
  } else if (akt__job_wait(&fresh, 1, &r[1]) == 0) {
    int diff = akt__trace_diff(stdout, path[0], path[1], "run 1", "run 2", cli->context);
    if (diff >= 0)
      rc = diff || r[0].digest != r[1].digest || r[0].status != r[1].status ||
           strcmp(r[0].check, r[1].check);
  }
  unlink(path[0]);
  unlink(path[1]);
  return rc;
}

int akt__cli_check_determinism(akt__cli *cli, uint64_t seed) {
  akt__run_result r[2];
  int rc = akt__cli_compare_runs(cli, seed, r);
  if (rc == AKT__RUN_ERROR) return rc;
  printf("%s seed=%" PRIu64 ": run 1 (a fork) digest=%016" PRIx64 " (%" PRIu64
         " records, %s), run 2 (a fresh process) digest=%016" PRIx64 " (%" PRIu64 " records, %s)\n",
         rc ? "NONDETERMINISTIC" : "deterministic", seed, r[0].digest, r[0].records,
         akt__cli_status_word(r[0].status), r[1].digest, r[1].records,
         akt__cli_status_word(r[1].status));
  return rc ? AKT__RUN_FAIL : AKT__RUN_PASS;
}
