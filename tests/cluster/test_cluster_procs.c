/* Membership on libuv across processes on loopback: a third node in a
 * child process joins two nodes of this one, is killed (SIGKILL: no
 * goodbye), and both declare it down; neither of them goes down. The waits
 * are for conditions, with deadlines that only bound a hang. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/both.h"
#include "akt/cluster.h"
#include "akt/remote.h"
#include "akt/transport.h"

#define HANG AKT_SECONDS(60)

static akt_system *node(const char *name, akt_backend *b, const akt_addr *seed) {
  akt_system *sys = NULL;
  akt_system_options so = {.host = "127.0.0.1"};
  if (akt_system_new(name, b, &so, &sys)) return NULL;
  akt_remote_options ro = {.host = "127.0.0.1", .security.cookie = "cluster-procs-test-cookie"};
  if (akt_remote_start(sys, &ro)) return NULL;
  akt_cluster_options co = {.host = "127.0.0.1", .seeds = seed, .nseeds = seed ? 1 : 0};
  if (akt_cluster_start(sys, &co)) return NULL;
  return sys;
}

typedef struct want {
  akt_system *sys;
  const char *name;
  int up; /* 1: it is up and alive; 0: it is down or gone */
} want;

static int member_is(void *arg) {
  want *w = arg;
  akt_member ms[8];
  size_t n = 0;
  if (akt_cluster_members(w->sys, ms, 8, &n) != 0) return 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(ms[i].name, w->name)) continue;
    int up = ms[i].status == AKT_MEMBER_UP && ms[i].reach == AKT_REACH_ALIVE;
    return w->up ? up : ms[i].status >= AKT_MEMBER_DOWN;
  }
  return !w->up;
}

static int wait_member(akt_backend *b, akt_system *sys, const char *name, int up) {
  want w = {sys, name, up};
  return b->ops->wait(b, member_is, &w, b->ops->now(b) + HANG);
}

/* The child: joins through the seed written to `in`, then serves until it
 * is killed. */
static int child_main(int in) {
  akt_addr seed = {.port = 0};
  char line[64] = "";
  FILE *f = fdopen(in, "r");
  if (!f || !fgets(line, sizeof line, f)) return 3;
  fclose(f);
  unsigned port = 0;
  if (sscanf(line, "%u", &port) != 1) return 4;
  snprintf(seed.host, sizeof seed.host, "127.0.0.1");
  seed.port = (uint16_t)port;
  akt_backend *b;
  if (akt_uv_backend_new(NULL, &b)) return 5;
  akt_system *sys = node("child", b, &seed);
  if (!sys) return 6;
  alarm(120); /* bounds an orphan if the parent failed before killing it */
  for (;;) pause();
}

static void a_killed_process_is_declared_down_by_every_member(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t child = fork(); /* before any thread exists here */
  assert_true(child >= 0);
  if (child == 0) {
    close(fds[1]);
    _exit(child_main(fds[0]));
  }
  close(fds[0]);
  akt_backend *b;
  assert_int_equal(akt_uv_backend_new(NULL, &b), 0);
  akt_system *a = node("alpha", b, NULL);
  assert_non_null(a);
  akt_member seed;
  assert_int_equal(akt_cluster_self(a, &seed), 0);
  akt_system *bb = node("bravo", b, &seed.addr);
  assert_non_null(bb);
  char line[32];
  int len = snprintf(line, sizeof line, "%u\n", (unsigned)seed.addr.port);
  assert_int_equal(write(fds[1], line, (size_t)len), len);
  close(fds[1]);

  assert_int_equal(wait_member(b, a, "child", 1), 0);
  assert_int_equal(wait_member(b, bb, "child", 1), 0);
  assert_int_equal(wait_member(b, a, "bravo", 1), 0);
  assert_int_equal(kill(child, SIGKILL), 0);
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_int_equal(wait_member(b, a, "child", 0), 0);
  assert_int_equal(wait_member(b, bb, "child", 0), 0);
  /* Nobody else went down. */
  akt_member me;
  assert_int_equal(akt_cluster_self(a, &me), 0);
  assert_int_equal(me.status, AKT_MEMBER_UP);
  assert_int_equal(akt_cluster_self(bb, &me), 0);
  assert_int_equal(me.status, AKT_MEMBER_UP);
  assert_int_equal(wait_member(b, a, "bravo", 1), 0);
  akt_system_free(bb);
  akt_system_free(a);
  akt_uv_backend_free(b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_killed_process_is_declared_down_by_every_member),
};

AKT_TEST_MAIN("cluster/processes", tests)
