/* akt — replays every fuzz input kept in the tree through its harness:
 * fuzz/corpus/TARGET/ (the seeds, real encoded frames) and
 * fuzz/crashes/TARGET/ (minimized inputs that once crashed, kept so the bug
 * stays fixed). A harness reports a bug by crashing, so passing means none
 * crashed; under ASan and valgrind it also means none leaked.
 *
 * usage: test_fuzz_corpus FUZZ_SOURCE_DIR
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz/harness.h"

#define MAX_FILES 4096

static const char *fuzz_dir;

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir through fn, in name order; returns how many (0
 * when the folder does not exist). Names starting with '.' are skipped
 * (.gitkeep). */
static size_t replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t)) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  char *names[MAX_FILES];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    assert_true(n < MAX_FILES);
    names[n] = strdup(e->d_name);
    assert_non_null(names[n]);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof names[0], by_name);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    uint8_t *buf = malloc(AKT_FUZZ_MAX_INPUT);
    assert_non_null(buf);
    size_t len = fread(buf, 1, AKT_FUZZ_MAX_INPUT, f);
    fclose(f);
    /* A crash here names the file: the last line printed before it. */
    print_message("  %s (%zu bytes)\n", path, len);
    assert_int_equal(fn(buf, len), 0);
    free(buf);
    free(names[i]);
  }
  return n;
}

static void replay(void **state) {
  const akt_fuzz_target *t = *state;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/corpus/%s", fuzz_dir, t->name);
  size_t seeds = replay_dir(dir, t->fn);
  if (seeds == 0) fail_msg("no seed inputs in %s (see docs/fuzzing.md)", dir);
  snprintf(dir, sizeof dir, "%s/crashes/%s", fuzz_dir, t->name);
  size_t crashes = replay_dir(dir, t->fn);
  print_message("%s: %zu seeds, %zu crash inputs replayed\n", t->name, seeds, crashes);
}

/* The empty input and a few degenerate ones, whatever the folders hold. */
static void degenerate_inputs(void **state) {
  (void)state;
  static const uint8_t zeros[64];
  static const uint8_t ones[9] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  for (const akt_fuzz_target *t = akt_fuzz_targets; t->name; t++) {
    assert_int_equal(t->fn(NULL, 0), 0);
    assert_int_equal(t->fn(zeros, 1), 0);
    assert_int_equal(t->fn(zeros, sizeof zeros), 0);
    assert_int_equal(t->fn(ones, sizeof ones), 0);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FUZZ_SOURCE_DIR\n", argv[0]);
    return 2;
  }
  fuzz_dir = argv[1];
  struct CMUnitTest tests[8];
  size_t n = 0;
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(degenerate_inputs);
  for (const akt_fuzz_target *t = akt_fuzz_targets; t->name && n < 8; t++) {
    tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(replay, (void *)t);
    tests[n].name = t->name;
    n++;
  }
  return _cmocka_run_group_tests("fuzz-corpus", tests, n, NULL, NULL);
}
