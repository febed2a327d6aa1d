/* The scene of the in-process attack suites (test_attacks.c,
 * test_attacks_limits.c): node A, attacked on real TCP over loopback, and
 * B, another node in this process, a well-behaved peer of A's that asks
 * A's /user/echo throughout; the process's peak resident size (VmHWM,
 * reset through /proc/self/clear_refs); and an attacker's connection that
 * proves the cookie, for the attacks of cookie holders. */
#ifndef AKT_TESTS_REMOTE_ATTACKS_FIXTURE_H
#define AKT_TESTS_REMOTE_ATTACKS_FIXTURE_H

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "attacker.h"
#include "remote_fixture.h"
#include "akt/actor.pb-c.h"
#include "akt/remote.pb-c.h"
#include "akt/transport.h"
#include "src/remote/auth.h"
#include "src/remote/remote.h"
#include "test.pb-c.h"

#define COOKIE "attacks-cookie-not-a-secret"
#define HANG AKT_SECONDS(30) /* bounds a wait that should end soon */

/* ---- memory ---------------------------------------------------------------------- */

/* Starts measuring the peak: resets VmHWM to the current size (or, where
 * the kernel does not let it be reset, remembers the current size and
 * samples from then on). */
typedef struct peak {
  long base_kb;
  int resettable;
} peak;

static inline peak peak_start(void) {
  peak p = {.base_kb = proc_status_kb(0, "VmRSS:")};
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    p.resettable = fputs("5", f) >= 0;
    if (fclose(f) != 0) p.resettable = 0;
  }
  return p;
}

/* Bytes the peak grew by since peak_start. */
static inline size_t peak_growth(const peak *p) {
  long now = p->resettable ? proc_status_kb(0, "VmHWM:") : proc_status_kb(0, "VmRSS:");
  return now > p->base_kb ? (size_t)(now - p->base_kb) * 1024 : 0;
}

/* Fails the test if the peak grew by more than `bound` (times RSS_FACTOR). */
static inline void assert_growth_below(const peak *p, size_t bound, const char *what) {
  size_t g = peak_growth(p), limit = bound * RSS_FACTOR;
  print_message("  %s: peak resident size grew by %.1f MiB (bound %.1f MiB)\n", what,
                (double)g / (double)MIB, (double)limit / (double)MIB);
  if (g > limit) fail_msg("%s: memory grew by %zu bytes, over %zu", what, g, limit);
}

/* ---- nodes ------------------------------------------------------------------------- */

typedef struct lines {
  atomic_int warn; /* WARN and ERROR lines logged */
} lines;

/* A log sink that counts the WARN and ERROR lines in its `lines`. */
static inline void count_line(akt_log_level level, const char *line, void *data) {
  (void)line;
  if (level >= AKT_LOG_WARN) atomic_fetch_add(&((lines *)data)->warn, 1);
}

typedef struct node {
  akt_backend *b;
  akt_system *sys;
  akt__remote *r;
  char addr[AKT__NODE_MAX];
  uint16_t port;
  lines log;
} node;

static const ProtobufCMessageDescriptor *const types[] = {&ping__descriptor, &note__descriptor};

/* Starts node `name` on libuv with remoting on loopback (COOKIE, `ro`'s limits). */
static inline void node_up(node *n, const char *name, akt_remote_options ro) {
  memset(n, 0, sizeof *n);
  akt_uv_options uo = {.workers = 2};
  assert_int_equal(akt_uv_backend_new(&uo, &n->b), 0);
  akt_system_options so = {.host = "127.0.0.1", .log_sink = count_line, .log_data = &n->log};
  assert_int_equal(akt_system_new(name, n->b, &so, &n->sys), 0);
  ro.host = "127.0.0.1";
  ro.security.cookie = COOKIE;
  assert_int_equal(akt_remote_start(n->sys, &ro), 0);
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    assert_int_equal(akt_system_register_type(n->sys, types[i]), 0);
  n->r = akt__remote_of(n->sys);
  n->port = n->r->port;
  snprintf(n->addr, sizeof n->addr, "%s", akt_system_address(n->sys));
}

/* Shuts the node down and frees it. */
static inline void node_down(node *n) {
  assert_int_equal(akt_system_shutdown(n->sys, HANG), 0);
  akt_system_free(n->sys);
  akt_uv_backend_free(n->b);
}

/* The node's remoting counters now. */
static inline akt_remote_stats stats(const node *n) {
  akt_remote_stats st;
  akt_remote_get_stats(n->sys, &st);
  return st;
}

/* Replies with what it gets (a reply that cannot go is not its failure). */
static inline int echo_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_reply(ctx, msg);
  return 0;
}

static const akt_actor_def echo_def = {.kind = "echo", .receive = echo_receive};

/* A, with /user/echo; B, a peer of A's that uses it. */
typedef struct scene {
  node a, b;
  akt_pid *echo;   /* A's echo, on A */
  akt_pid *remote; /* A's echo, as B knows it */
} scene;

/* A and B up with their own remoting options, B holding A's echo. */
static inline void scene_up2(scene *s, akt_remote_options oa, akt_remote_options ob) {
  node_up(&s->a, "a", oa);
  node_up(&s->b, "b", ob);
  assert_int_equal(akt_spawn(s->a.sys, "echo", &echo_def, NULL, &s->echo), 0);
  char addr[AKT_ADDRESS_MAX];
  snprintf(addr, sizeof addr, "%s/user/echo", s->a.addr);
  assert_int_equal(akt_remote_lookup(s->b.sys, addr, HANG, &s->remote), 0);
}

/* A and B up, B with the defaults. */
static inline void scene_up(scene *s, akt_remote_options oa) {
  scene_up2(s, oa, (akt_remote_options){0});
}

/* Releases the echo's PIDs and shuts both nodes down. */
static inline void scene_down(scene *s) {
  akt_pid_release(s->remote);
  akt_pid_release(s->echo);
  node_down(&s->b);
  node_down(&s->a);
}

/* B asks A's echo and gets its answer: A still serves its peer. */
static inline void served(scene *s) {
  static int64_t n;
  Ping p = PING__INIT;
  p.n = ++n;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(s->remote, &p.base, HANG, &reply), 0);
  assert_int_equal(((const Ping *)reply)->n, p.n);
  akt_msg_free(reply);
}

/* Plays the initiator's side of the cookie exchange on fd, in plaintext,
 * with `cookie`, claiming to be `claim` (connection number seq), against
 * `to`. Returns 0 when both proved the cookie, else what it failed with. */
static inline int raw_auth(int fd, const char *cookie, const char *claim, uint64_t seq,
                           const node *to) {
  wire w;
  assert_int_equal(wire_up(&w, fd, 1, NULL, NULL, NULL), 0);
  int rc = wire_auth(&w, cookie, claim, 99, seq, to->addr);
  akt__buf_free(&w.plain);
  return rc;
}

/* An authenticated attacker: connected and proven as `claim`. */
static inline int raw_insider(const node *to, const char *claim, uint64_t seq) {
  int fd = raw_connect(NULL, to->port);
  assert_int_equal(raw_auth(fd, COOKIE, claim, seq, to), 0);
  return fd;
}

#endif
