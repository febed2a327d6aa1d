/* Runs a function in a forked child and captures what it writes to stderr:
 * for tests of what aborts the process (a failed AKT_ASSERT). */
#ifndef AKT_TESTS_CHILD_H
#define AKT_TESTS_CHILD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* Runs fn in a child with stderr captured into buf (NUL-terminated, cut to
 * `size`); returns the child's wait status. The child exits 0 if fn
 * returns. Call it while the process runs no other thread. */
static inline int test_run_child(void (*fn)(void), char *buf, size_t size) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t got = 0;
  ssize_t n;
  while (got + 1 < size && (n = read(fds[0], buf + got, size - 1 - got)) > 0) got += (size_t)n;
  buf[got] = '\0';
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

/* Runs fn in a child (test_run_child) and fails the test unless the child
 * aborted (SIGABRT: a failed AKT_ASSERT), printing what it wrote then;
 * returns buf, what it printed. */
static inline const char *test_expect_abort(void (*fn)(void), char *buf, size_t size) {
  int st = test_run_child(fn, buf, size);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT) fprintf(stderr, "child output: %s\n", buf);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  return buf;
}

#endif
