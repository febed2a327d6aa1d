/* akt-bench — membership-detect-real, runtime akt: failure detection on
 * real loopback sockets, beside memberlist's (bench/peers/memberlist does
 * the same with hashicorp's memberlist).
 *
 * Ten members at the defaults (probe every 500 ms, as bench/peers/memberlist
 * sets memberlist's ProbeInterval and ProbeTimeout too): nine in this
 * process, systems on one libuv backend, and one — the victim — in a
 * child akt-bench (`--member COOKIE HOST:PORT`, spawned, not forked),
 * so that it can be stopped with a real SIGKILL: no goodbye, no last
 * packet. Once every one of the nine sees all ten up, the victim is
 * killed; the metric is the wall-clock ms from the kill until the last of
 * the nine declared it down (member-down, timed by the listener as it
 * happens). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "akt/cluster.h"
#include "akt/remote.h"
#include "akt/transport.h"
#include "bench.h"

#define REAL_MEMBERS 10              /* the victim included */
#define REAL_FORM_TIMEOUT AKT_SECONDS(60)
#define REAL_DETECT_TIMEOUT AKT_SECONDS(120)
#define REAL_SETTLE_NS 1000000000u   /* formed, then this long before the kill */
#define REAL_READY_TIMEOUT_MS 10000  /* the victim saying it started */
#define VICTIM "victim"

typedef struct real_node {
  akt_system *sys;
  atomic_uint ups;          /* member-up events (itself included) */
  atomic_uint_least64_t down_at;    /* bench_now() when it declared the victim down */
  atomic_uint_least64_t unreach_at; /* ... unreachable (memberlist's "dead") */
} real_node;

static void real_listener(akt_system *sys, const akt_cluster_event *ev, void *arg) {
  (void)sys;
  real_node *nd = arg;
  if (!ev->member) return;
  if (ev->kind == AKT_CLUSTER_MEMBER_UP) atomic_fetch_add(&nd->ups, 1);
  if (strcmp(ev->member->name, VICTIM)) return;
  if (ev->kind == AKT_CLUSTER_MEMBER_UNREACHABLE) atomic_store(&nd->unreach_at, bench_now());
  if (ev->kind == AKT_CLUSTER_MEMBER_DOWN) atomic_store(&nd->down_at, bench_now());
}

/* A member on loopback: remoting and the cluster at the defaults, gossip
 * and remoting on free ports; joins through `seed` (NULL: founds). */
static int real_member(akt_backend *b, const char *name, const char *cookie, const akt_addr *seed,
                       akt_cluster_listener_fn listener, void *arg, akt_system **out) {
  akt_system_options so = {.host = "127.0.0.1", .log_level = AKT_LOG_ERROR};
  int rc = akt_system_new(name, b, &so, out);
  if (rc) return rc;
  akt_remote_options ro = {.host = "127.0.0.1", .security.cookie = cookie};
  rc = akt_remote_start(*out, &ro);
  akt_cluster_options co = {.host = "127.0.0.1",
                            .seeds = seed,
                            .nseeds = seed ? 1 : 0,
                            .listener = listener,
                            .listener_arg = arg};
  if (!rc) rc = akt_cluster_start(*out, &co);
  return rc;
}

int bench_member(int argc, char **argv) {
  akt_addr seed = {.port = 0};
  unsigned port = 0;
  if (argc != 4 || sscanf(argv[3], "%63[^:]:%u", seed.host, &port) != 2 || port > 65535) {
    fprintf(stderr, "akt-bench --member: internal use: --member COOKIE HOST:PORT\n");
    return 2;
  }
  seed.port = (uint16_t)port;
  akt_backend *b = NULL;
  akt_system *sys = NULL;
  int rc = akt_uv_backend_new(NULL, &b);
  if (!rc) rc = real_member(b, VICTIM, argv[2], &seed, NULL, NULL, &sys);
  if (rc) {
    fprintf(stderr, "akt-bench --member: cannot start: %s\n", akt_strerror(rc));
  } else {
    printf("started\n");
    fflush(stdout);
    /* Serves until killed, or until stdin ends (the parent is gone). */
    char buf[64];
    for (;;) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
  }
  akt_system_free(sys);
  if (b) akt_uv_backend_free(b);
  return rc ? 1 : 0;
}

typedef struct real_run {
  real_node node[REAL_MEMBERS - 1];
  int detecting; /* 0: waiting for the cluster to form; 1: for the downs */
} real_run;

static int real_ready(void *arg) {
  real_run *r = arg;
  for (size_t i = 0; i < REAL_MEMBERS - 1; i++) {
    if (!r->detecting && atomic_load(&r->node[i].ups) < REAL_MEMBERS) return 0;
    if (r->detecting && !atomic_load(&r->node[i].down_at)) return 0;
  }
  return 1;
}

int wl_membership_detect_real(const bench_params *p, double *value) {
  (void)p;
  real_run *r = calloc(1, sizeof *r);
  if (!r) return AKT_ENOMEM;
  char cookie[64];
  snprintf(cookie, sizeof cookie, "akt-bench-member-%ld-%" PRIx64, (long)getpid(), bench_now());
  akt_backend *b = NULL;
  int rc = akt_uv_backend_new(NULL, &b);
  akt_member first;
  for (size_t i = 0; i < REAL_MEMBERS - 1 && rc == 0; i++) {
    char name[16];
    snprintf(name, sizeof name, "m%zu", i);
    rc = real_member(b, name, cookie, i ? &first.addr : NULL, real_listener, &r->node[i],
                     &r->node[i].sys);
    if (!rc && i == 0) rc = akt_cluster_self(r->node[0].sys, &first);
  }
  pid_t child = 0;
  int to_child = -1, from_child = -1;
  if (!rc) {
    char seed[AKT_HOST_MAX + 8];
    snprintf(seed, sizeof seed, "%s:%u", first.addr.host, (unsigned)first.addr.port);
    char *argv[] = {"akt-bench", "--member", cookie, seed, NULL};
    rc = bench_spawn_self(argv, &child, &to_child, &from_child);
  }
  char line[32];
  if (!rc && bench_read_line(from_child, line, sizeof line, REAL_READY_TIMEOUT_MS) != 0) {
    fprintf(stderr, "akt-bench: the victim member did not start\n");
    rc = AKT_EUNREACH;
  }
  if (!rc) {
    rc = b->ops->wait(b, real_ready, r, b->ops->now(b) + REAL_FORM_TIMEOUT);
    if (rc) fprintf(stderr, "akt-bench: the 10 members did not all see each other up\n");
  }
  uint64_t settle_end = bench_now() + REAL_SETTLE_NS;
  while (!rc && bench_now() < settle_end) usleep(10000);
  uint64_t killed = 0;
  if (!rc) {
    r->detecting = 1;
    killed = bench_now();
    if (kill(child, SIGKILL) != 0) rc = AKT_EBACKEND;
  }
  if (child > 0) {
    if (!rc || kill(child, SIGKILL) == 0 || errno == ESRCH)
      while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
      }
  }
  if (!rc) {
    rc = b->ops->wait(b, real_ready, r, b->ops->now(b) + REAL_DETECT_TIMEOUT);
    if (rc) fprintf(stderr, "akt-bench: not every member declared the victim down\n");
  }
  if (!rc) {
    uint64_t last = 0, last_unreach = 0;
    for (size_t i = 0; i < REAL_MEMBERS - 1; i++) {
      /* A member that heard of the down before its own suspicion ran out
       * never saw the victim unreachable: its down counts then. */
      uint64_t d = atomic_load(&r->node[i].down_at), u = atomic_load(&r->node[i].unreach_at);
      if (!u) u = d;
      if (d > last) last = d;
      if (u > last_unreach) last_unreach = u;
    }
    *value = (double)(last - killed) / 1e6;
    /* Each run, for the spread; and when all saw it unreachable, the
     * moment memberlist would have called it dead. */
    fprintf(stderr, "akt-bench: membership-detect-real (akt): down on all after %.1f ms",
            *value);
    if (last_unreach > killed)
      fprintf(stderr, ", unreachable on all after %.1f ms", (double)(last_unreach - killed) / 1e6);
    fprintf(stderr, "\n");
  }
  if (to_child >= 0) close(to_child);
  if (from_child >= 0) close(from_child);
  for (size_t i = REAL_MEMBERS - 1; i-- > 0;) akt_system_free(r->node[i].sys);
  if (b) akt_uv_backend_free(b);
  free(r);
  return rc;
}
