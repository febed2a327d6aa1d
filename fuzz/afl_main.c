/* akt — the fuzz driver: one binary per target (akt-fuzz-frame, ...), the
 * target chosen at compile time with -DAKT_FUZZ_TARGET=akt_fuzz_NAME.
 *
 * Built for afl++ (CC=afl-clang-fast and meson -Dfuzz=true, which defines
 * AKT_FUZZ_AFL; see docs/fuzzing.md), without file arguments it runs
 * afl++'s persistent mode: the input comes from shared memory and one
 * process runs many inputs (each harness frees what it allocates, so the
 * process does not grow). With file arguments,
 * or built with any other compiler, it runs each file (or standard input
 * when there is none) once: how a crash is reproduced and triaged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h> /* read(2), in afl++'s __AFL_FUZZ_TESTCASE_LEN */

#include "fuzz/harness.h"

#ifndef AKT_FUZZ_TARGET
#error "build with -DAKT_FUZZ_TARGET=akt_fuzz_NAME"
#endif

/* One input at a time: static, so that a run over many files measures the
 * harness and not the allocation of its buffer. */
static uint8_t input[AKT_FUZZ_MAX_INPUT];

static int run_file(const char *path) {
  FILE *f = path ? fopen(path, "rb") : stdin;
  if (!f) {
    perror(path);
    return 1;
  }
  size_t len = fread(input, 1, sizeof input, f);
  int bad = ferror(f);
  if (path) fclose(f);
  if (bad) {
    fprintf(stderr, "%s: read error\n", path ? path : "(stdin)");
    return 1;
  }
  AKT_FUZZ_TARGET(input, len);
  return 0;
}

#if defined(AKT_FUZZ_AFL) && defined(__AFL_FUZZ_TESTCASE_LEN)
__AFL_FUZZ_INIT();
#endif

int main(int argc, char **argv) {
#if defined(AKT_FUZZ_AFL) && defined(__AFL_FUZZ_TESTCASE_LEN)
  if (argc < 2) {
    /* The fork server starts here, after the dynamic loader's work. */
    __AFL_INIT();
    const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
      size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
      AKT_FUZZ_TARGET(buf, len);
    }
    return 0;
  }
#endif
  if (argc < 2) return run_file(NULL);
  int rc = 0;
  for (int i = 1; i < argc; i++) rc |= run_file(argv[i]);
  return rc;
}
