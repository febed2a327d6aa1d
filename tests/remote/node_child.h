/* A node under attack in a process of its own (test_attacks_node.c,
 * test_attacks_node_limits.c), so that its memory is measured alone: the
 * parent reads the child's /proc/PID/status (VmRSS, and VmHWM reset
 * through /proc/PID/clear_refs), asks it for its counters over a pipe,
 * and sees it crash if it does.
 *
 * The child is a fresh process: the test binary itself, spawned again
 * with NODE_CHILD_ARG (posix_spawn), never a fork of the parent. The
 * parent runs threads (its peer B, and whatever a failed test left), and
 * a forked copy of a threaded process may not start threads of its own
 * (ThreadSanitizer refuses to; libc locks held by another thread at the
 * fork stay held) — an exec'd one starts clean, under every sanitizer.
 *
 * The child, node A, is configured as docs/security.md recommends: a
 * 32-byte cookie and, unless told otherwise, TLS with mutual
 * authentication (certificates of the suite's CA). It runs /user/echo,
 * which answers every message with itself. Everything it writes to any
 * stream, and every line it logs, is searched for the cookie (any 8 bytes
 * of it in a row): the report says how often it was found. */
#ifndef AKT_TESTS_REMOTE_NODE_CHILD_H
#define AKT_TESTS_REMOTE_NODE_CHILD_H

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "attacker.h"
#include "akt/transport.h"
#include "remote_fixture.h"
#include "test.pb-c.h"
#include "tls_certs.h"

/* 32 bytes, as `openssl rand -hex 16` makes them. */
#define NODE_COOKIE "7c1e0d9a4b22f35e8a6d01b7c9e4f2a8"
#define COOKIE_WINDOW 8 /* bytes of the cookie in a row that count as a leak */

static tls_certs node_certs;

/* The argument that makes the test binary node A (main checks it first),
 * and where A finds its pipes. */
#define NODE_CHILD_ARG "--attacked-node"
#define NODE_CHILD_CMD_FD 200
#define NODE_CHILD_RESP_FD 201

/* How the child runs. It crosses to the child as bytes: no pointers. */
typedef struct node_cfg {
  int plain;             /* the cookie alone (the documented cookie-only setup), not TLS too */
  akt_remote_options ro; /* numbers only (limits): the child sets host, cookie, TLS files */
  char stop_path[64];    /* one actor peers may stop (security.stop_paths); "": none */
} node_cfg;

/* What the parent sends the child first. */
typedef struct node_start {
  node_cfg cfg;
  tls_certs certs; /* the parent's files (paths) */
} node_start;

/* What the child tells the parent when asked. */
typedef struct node_report {
  akt_remote_stats rs;
  akt_system_stats ss;
  int echo_alive, remoting_alive, planted_alive;
  uint32_t live_peers, unauth, conns;
  uint64_t cookie_on_wire, cookie_in_log, bytes_written, warn_lines;
  uint64_t echo_msgs; /* messages other than B's Pings /user/echo and /user/planted received */
} node_report;

typedef struct node_child {
  pid_t pid;
  int cmd, resp; /* pipes: parent -> child, child -> parent */
  uint16_t port;
  char addr[AKT__NODE_MAX];
  int plain;
  long base_kb; /* VmRSS when the peak was reset */
} node_child;

/* ---- the child's side --------------------------------------------------------------- */

static struct {
  akt_backend b;
  akt_backend_ops ops;
  akt_backend *inner;
  atomic_uint_fast64_t on_wire, in_log, written, warns, echo_msgs;
} child_tap;

static int has_cookie_window(const void *data, size_t len) {
  const char *c = NODE_COOKIE;
  for (size_t k = 0; k + COOKIE_WINDOW <= strlen(c); k++)
    if (memmem(data, len, c + k, COOKIE_WINDOW)) return 1;
  return 0;
}

static int child_tap_write(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len) {
  (void)b;
  if (has_cookie_window(buf, len)) atomic_fetch_add(&child_tap.on_wire, 1);
  atomic_fetch_add(&child_tap.written, len);
  return child_tap.inner->ops->stream_write(child_tap.inner, s, buf, len);
}

static void child_log(akt_log_level level, const char *line, void *data) {
  (void)data;
  if (has_cookie_window(line, strlen(line))) atomic_fetch_add(&child_tap.in_log, 1);
  if (level < AKT_LOG_WARN) return;
  atomic_fetch_add(&child_tap.warns, 1);
  fprintf(stderr, "node A: %s\n", line); /* what went wrong, when a test fails */
}

static int child_echo(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (msg->descriptor != &ping__descriptor) atomic_fetch_add(&child_tap.echo_msgs, 1);
  akt_reply(ctx, msg);
  return 0;
}

static const akt_actor_def child_echo_def = {.kind = "echo", .receive = child_echo};

static const ProtobufCMessageDescriptor *const child_types[] = {&ping__descriptor, &note__descriptor,
                                                                &inner__descriptor};

static int child_alive(akt_system *sys, const char *path) { return local_alive(sys, path); }

static void child_report_fill(akt_system *sys, node_report *rep) {
  memset(rep, 0, sizeof *rep);
  akt_remote_get_stats(sys, &rep->rs);
  akt_system_get_stats(sys, &rep->ss);
  rep->echo_alive = child_alive(sys, "/user/echo");
  rep->remoting_alive = child_alive(sys, "/system/remoting");
  rep->planted_alive = child_alive(sys, "/user/planted");
  akt__remote *r = akt__remote_of(sys);
  akt__rmutex_lock(&r->mu);
  rep->live_peers = r->peers.live;
  rep->unauth = r->sources.unauth;
  rep->conns = r->sources.conns;
  akt__rmutex_unlock(&r->mu);
  rep->cookie_on_wire = atomic_load(&child_tap.on_wire);
  rep->cookie_in_log = atomic_load(&child_tap.in_log);
  rep->bytes_written = atomic_load(&child_tap.written);
  rep->warn_lines = atomic_load(&child_tap.warns);
  rep->echo_msgs = atomic_load(&child_tap.echo_msgs);
}

/* Runs node A until told to quit. Exits 0, or non-zero at a failed step. */
static void child_main(const node_cfg *cfg, int cmd, int resp) {
  const char *stops[] = {cfg->stop_path};
  akt_backend *inner;
  akt_uv_options uo = {.workers = 2};
  if (akt_uv_backend_new(&uo, &inner)) _exit(10);
  child_tap.inner = inner;
  child_tap.ops = *inner->ops;
  child_tap.ops.stream_write = child_tap_write;
  child_tap.b = (akt_backend){.ops = &child_tap.ops, .impl = inner->impl, .flags = inner->flags};
  akt_system *sys;
  akt_system_options so = {.host = "127.0.0.1", .log_sink = child_log};
  if (akt_system_new("a", &child_tap.b, &so, &sys)) _exit(11);
  akt_remote_options ro = cfg->ro;
  ro.host = "127.0.0.1";
  ro.security.cookie = NODE_COOKIE;
  if (cfg->stop_path[0]) ro.security.stop_paths = (akt_allow_list){stops, 1};
  if (!cfg->plain)
    ro.security.tls = (akt_tls_options){.ca_file = node_certs.ca,
                                        .cert_file = node_certs.node0_cert,
                                        .key_file = node_certs.node0_key};
  if (akt_remote_start(sys, &ro)) _exit(12);
  for (size_t i = 0; i < sizeof child_types / sizeof child_types[0]; i++)
    if (akt_system_register_type(sys, child_types[i])) _exit(13);
  if (akt_spawn(sys, "echo", &child_echo_def, NULL, NULL)) _exit(14);
  /* An actor a test's stop_paths may list: that a permitted stop works
   * shows the refusals are the rules', not a stop that cannot work. */
  if (akt_spawn(sys, "planted", &child_echo_def, NULL, NULL)) _exit(14);
  uint16_t port = akt__remote_of(sys)->port;
  if (write(resp, &port, sizeof port) != sizeof port) _exit(15);
  char c;
  while (read(cmd, &c, 1) == 1 && c == 'r') {
    node_report rep;
    child_report_fill(sys, &rep);
    if (write(resp, &rep, sizeof rep) != sizeof rep) _exit(16);
  }
  if (akt_system_shutdown(sys, AKT_SECONDS(30))) _exit(17);
  akt_system_free(sys);
  akt_uv_backend_free(inner);
  _exit(0);
}

/* The child's main (main calls it when argv[1] is NODE_CHILD_ARG): reads
 * its configuration from the parent, then runs A. Does not return. */
static void node_child_main(void) {
  static node_start st; /* large: not on the stack */
  size_t got = 0;
  while (got < sizeof st) {
    ssize_t n = read(NODE_CHILD_CMD_FD, (char *)&st + got, sizeof st - got);
    if (n <= 0) _exit(9);
    got += (size_t)n;
  }
  node_certs = st.certs;
  child_main(&st.cfg, NODE_CHILD_CMD_FD, NODE_CHILD_RESP_FD);
}

/* ---- the parent's side ------------------------------------------------------------------ */

/* Fails the test if A died (a crash is an attack that worked). */
static void node_child_assert_alive(node_child *n) {
  int status;
  pid_t w = waitpid(n->pid, &status, WNOHANG);
  if (w == n->pid) {
    n->pid = 0;
    if (WIFSIGNALED(status)) fail_msg("node A died of signal %d", WTERMSIG(status));
    fail_msg("node A exited with %d", WEXITSTATUS(status));
  }
}

/* Starts A: this binary again, in a process of its own. */
static void node_child_up(node_child *n, const node_cfg *cfg) {
  /* Only numbers cross: a pointer would name nothing in the child. */
  const akt_remote_options *ro = &cfg->ro;
  assert_true(!ro->host && !ro->listen_host && !ro->security.cookie && !ro->security.tls.ca_file &&
              !ro->security.tls.cert_file && !ro->security.tls.key_file &&
              !ro->security.tls.peer_name && !ro->security.spawn_kinds.n &&
              !ro->security.stop_paths.n);
  int cmd[2], resp[2];
  assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
  assert_int_equal(pipe2(resp, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  /* dup2 clears close-on-exec on the copies: the child keeps these two. */
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, cmd[0], NODE_CHILD_CMD_FD), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, resp[1], NODE_CHILD_RESP_FD), 0);
  char exe[] = "/proc/self/exe", arg[] = NODE_CHILD_ARG;
  char *argv[] = {exe, arg, NULL};
  extern char **environ;
  fflush(stdout);
  fflush(stderr);
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(cmd[0]);
  close(resp[1]);
  memset(n, 0, sizeof *n);
  n->pid = pid;
  n->cmd = cmd[1];
  n->resp = resp[0];
  n->plain = cfg->plain;
  static node_start st;
  st.cfg = *cfg;
  st.certs = node_certs;
  assert_int_equal(write(n->cmd, &st, sizeof st), (ssize_t)sizeof st);
  if (read(n->resp, &n->port, sizeof n->port) != (ssize_t)sizeof n->port) {
    node_child_assert_alive(n);
    fail_msg("node A did not start");
  }
  snprintf(n->addr, sizeof n->addr, "akt://a@127.0.0.1:%u", (unsigned)n->port);
}

static node_report node_child_report(node_child *n) {
  node_child_assert_alive(n);
  node_report rep;
  assert_int_equal(write(n->cmd, "r", 1), 1);
  assert_int_equal(read(n->resp, &rep, sizeof rep), (ssize_t)sizeof rep);
  return rep;
}

/* Stops A; fails the test if it crashed, or if the cookie was ever in a
 * byte it wrote or a line it logged. */
static void node_child_down(node_child *n) {
  node_report rep = node_child_report(n);
  assert_int_equal(rep.cookie_on_wire, 0);
  assert_int_equal(rep.cookie_in_log, 0);
  assert_int_equal(write(n->cmd, "q", 1), 1);
  int status;
  assert_int_equal(waitpid(n->pid, &status, 0), n->pid);
  close(n->cmd);
  close(n->resp);
  if (WIFSIGNALED(status)) fail_msg("node A died of signal %d", WTERMSIG(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* What A's peak resident size may grow by beyond what a test's bound
 * counts: malloc's per-thread arenas (A runs a loop thread and two
 * workers) taking their first chunks, and libuv's read buffers. */
#define NODE_SLACK (4 * MIB)

/* Starts measuring A's peak resident size from now. */
static void node_child_peak_start(node_child *n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)n->pid);
  FILE *f = fopen(path, "w");
  assert_non_null(f); /* needs a kernel with clear_refs (Linux 4.0+) */
  fputs("5", f);      /* resets VmHWM to VmRSS */
  fclose(f);
  n->base_kb = proc_status_kb(n->pid, "VmRSS:");
}

/* Bytes A's peak resident size grew by since node_child_peak_start. */
static size_t node_child_growth(node_child *n) {
  long hwm = proc_status_kb(n->pid, "VmHWM:");
  return hwm > n->base_kb ? (size_t)(hwm - n->base_kb) * 1024 : 0;
}

static void node_child_assert_growth(node_child *n, size_t bound, const char *what) {
  size_t g = node_child_growth(n), limit = bound * RSS_FACTOR;
  print_message("  %s: A's peak resident size grew by %.1f MiB (bound %.1f MiB)\n", what,
                (double)g / (double)MIB, (double)limit / (double)MIB);
  if (g > limit) fail_msg("%s: A's memory grew by %zu bytes, over %zu", what, g, limit);
}

/* ---- the well-behaved peer: B, in this process ----------------------------------------- */

typedef struct peer {
  akt_backend *b;
  akt_system *sys;
  akt_pid *echo; /* A's echo */
  /* Its round trips to A, asked in a loop by a thread while it runs. */
  pthread_t meter;
  atomic_int stop;
  atomic_uint_fast64_t ok, failed;
} peer;

static void *peer_meter(void *arg) {
  peer *p = arg;
  int64_t n = 0;
  while (!atomic_load(&p->stop)) {
    Ping ping = PING__INIT;
    ping.n = ++n;
    ProtobufCMessage *reply = NULL;
    int rc = akt_ask(p->echo, &ping.base, AKT_SECONDS(30), &reply);
    if (rc == 0 && ((const Ping *)reply)->n == n)
      atomic_fetch_add(&p->ok, 1);
    else
      atomic_fetch_add(&p->failed, 1);
    akt_msg_free(reply);
    sleep_ms(2);
  }
  return NULL;
}

/* B, with the cookie (and node1's certificate when A has TLS), looking A's
 * echo up, and the thread that measures its round trips. */
static void peer_up(peer *p, const node_child *a) {
  memset(p, 0, sizeof *p);
  akt_uv_options uo = {.workers = 2};
  assert_int_equal(akt_uv_backend_new(&uo, &p->b), 0);
  akt_system_options so = {.host = "127.0.0.1"};
  assert_int_equal(akt_system_new("b", p->b, &so, &p->sys), 0);
  akt_remote_options ro = {.host = "127.0.0.1", .security.cookie = NODE_COOKIE};
  if (!a->plain)
    ro.security.tls = (akt_tls_options){.ca_file = node_certs.ca,
                                        .cert_file = node_certs.node1_cert,
                                        .key_file = node_certs.node1_key};
  assert_int_equal(akt_remote_start(p->sys, &ro), 0);
  for (size_t i = 0; i < sizeof child_types / sizeof child_types[0]; i++)
    assert_int_equal(akt_system_register_type(p->sys, child_types[i]), 0);
  char addr[AKT_ADDRESS_MAX];
  snprintf(addr, sizeof addr, "%s/user/echo", a->addr);
  assert_int_equal(akt_remote_lookup(p->sys, addr, AKT_SECONDS(30), &p->echo), 0);
  assert_int_equal(pthread_create(&p->meter, NULL, peer_meter, p), 0);
}

/* Waits until B completed another round trip since `since` (its count
 * then), and fails if any failed: A still serves its peer. */
static void peer_progressed(peer *p, uint64_t since) {
  uint64_t end = now_ms() + HANG_MS;
  while (atomic_load(&p->ok) <= since && atomic_load(&p->failed) == 0 && now_ms() < end)
    sleep_ms(5);
  assert_int_equal(atomic_load(&p->failed), 0);
  assert_true(atomic_load(&p->ok) > since);
}

/* Stops B's round trips (waits for the one in flight): its counts are
 * final. Again is a no-op. */
static void peer_stop(peer *p) {
  if (atomic_exchange(&p->stop, 1)) return;
  pthread_join(p->meter, NULL);
}

static void peer_down(peer *p) {
  peer_stop(p);
  assert_int_equal(atomic_load(&p->failed), 0);
  akt_pid_release(p->echo);
  assert_int_equal(akt_system_shutdown(p->sys, AKT_SECONDS(30)), 0);
  akt_system_free(p->sys);
  akt_uv_backend_free(p->b);
}

/* ---- attackers ----------------------------------------------------------------------------- */

/* A connection to A as a stranger: TCP, and TLS with `cert` (NULL: no
 * TLS even when A has it). Returns 0 with *w up, or the TLS code. */
static int stranger(node_child *a, const char *src, const char *cert, const char *key, wire *w) {
  int fd = raw_connect(src, a->port);
  return wire_up(w, fd, 1, node_certs.ca, cert, key);
}

/* A cookie holder (with a certificate of the CA when A has TLS),
 * authenticated as `claim`. */
static void insider(node_child *a, const char *claim, uint64_t seq, wire *w) {
  const char *cert = a->plain ? NULL : node_certs.node1_cert;
  const char *key = a->plain ? NULL : node_certs.node1_key;
  assert_int_equal(stranger(a, NULL, cert, key, w), 0);
  assert_int_equal(wire_auth(w, NODE_COOKIE, claim, 1000 + seq, seq, a->addr), 0);
}

/* Sends a Batch frame of the entries in body on w. */
static void send_batch(wire *w, const akt__buf *body) {
  akt__buf frame = {0};
  assert_int_equal(akt__frame_batch(body->data, body->len, &frame), 0);
  wire_write(w, frame.data, frame.len);
  akt__buf_free(&frame);
}

/* Waits until cond(report) holds (bounded); returns the last report. */
static node_report node_child_wait(node_child *a, int (*cond)(const node_report *, uint64_t),
                                   uint64_t arg) {
  uint64_t end = now_ms() + HANG_MS;
  node_report rep = node_child_report(a);
  while (!cond(&rep, arg) && now_ms() < end) {
    sleep_ms(10);
    rep = node_child_report(a);
  }
  return rep;
}

/* ---- the scene: A, attacked, and B, its peer -------------------------------------------- */

/* What a stranger may cost A (docs/security.md, "a connection costs"):
 * the connection and the exchange's fixed buffers, and OpenSSL's record
 * and handshake message under TLS. */
#define STRANGER_MAX ((size_t)13 * 1024 + 2 * 16 * 1024)

/* A and B up, A with the recommended setup (TLS unless plain). */
static inline void scene_up(node_child *a, peer *b, node_cfg cfg) {
  node_child_up(a, &cfg);
  peer_up(b, a);
}

/* B stopped, then A, each checked (node_child_down: no crash, no cookie). */
static inline void scene_down(node_child *a, peer *b) {
  /* A crash first: B's asks that failed with it are only its symptom. */
  peer_stop(b);
  node_child_assert_alive(a);
  peer_down(b);
  node_child_down(a);
}

/* node_child_wait's condition: echo received at least n messages. */
static inline int echoed_at_least(const node_report *r, uint64_t n) { return r->echo_msgs >= n; }

/* The main of a suite against A: started with NODE_CHILD_ARG the binary
 * is A (node_child_up); otherwise it makes the suite's certificates and
 * runs `tests` as the cmocka group `suite`. */
#define NODE_CHILD_TEST_MAIN(suite, tests)                                                       \
  int main(int argc, char **argv) {                                                              \
    if (argc == 2 && strcmp(argv[1], NODE_CHILD_ARG) == 0) node_child_main(); /* no return */    \
    int rc = akt_testkit_parse_args(argc, argv);                                                 \
    if (rc) return rc > 0 ? 0 : 2;                                                               \
    if (tls_certs_make(&node_certs, (int64_t)time(NULL)) != 0) return 1;                         \
    rc = cmocka_run_group_tests_name((suite), (tests), NULL, NULL) ? 1 : 0;                      \
    tls_certs_remove(&node_certs);                                                               \
    return rc;                                                                                   \
  }

#endif
