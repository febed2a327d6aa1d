/* akt-bench — the remote workloads: two processes on loopback TCP.
 *
 * Node A is a system of its own ("bench-a") on the runtime's backend, in
 * the akt-bench process; node B ("bench-b") is a second akt-bench process,
 * started with posix_spawn on /proc/self/exe with `--serve` (spawning, not
 * forking: A's process already runs worker threads). B inherits a pipe as
 * stdin and another as stdout: it prints its address on stdout once it
 * listens, and stops when its stdin reaches end of file — which also
 * happens when A's process dies, so B never outlives it. Both pipes are
 * close-on-exec in A, so a later server never holds an earlier one's.
 *
 * A spawns the actors it measures on B with akt_remote_spawn (a fresh one
 * for each run) and stops them with akt_stop afterwards.
 *
 * - remote-tell: A's main thread akt_tells M Payload messages (64 bytes of
 *   data each) to a counter on B, then asks (through a local waiter actor)
 *   for Start{M}, which the counter answers when it has counted M messages
 *   with 64-byte payloads. A full send queue (AKT_EFULL: remoting's
 *   backpressure) makes the main thread wait 20 µs and send the same
 *   message again. Metric: messages per second, from the first send to the
 *   answer.
 * - remote-ask: an actor on A makes A sequential akt_requests (10 s
 *   timeout each) to an echo actor on B, as the `request` workload does
 *   locally. Metric: ns per round trip.
 *
 * The actors on A that wait for B watch B's actor, so that a lost node B
 * ends the run within remoting's failure detection (3 s) rather than at a
 * timeout.
 *
 * Both nodes prove a cookie of the run's (passed to B on its command line:
 * not a secret). remote-tell-tls and remote-ask-tls run the same over TLS
 * with mutual authentication, on certificates made for the run (EC P-256,
 * as tests/remote/tls_certs.c makes them), B's paths also on its command
 * line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "akt/actor.pb-c.h"
#include "akt/remote.h"
#include "akt/transport.h"
#include "bench.h"
#include "bench.pb-c.h"
#include "tls_certs.h"

extern char **environ;

#define SPAWN_TIMEOUT AKT_SECONDS(10)   /* akt_remote_spawn of a measured actor */
#define DONE_TIMEOUT AKT_SECONDS(120)   /* the answer that ends a run */
#define REQUEST_TIMEOUT AKT_SECONDS(10) /* one remote-ask round trip */
#define STALL_LIMIT AKT_SECONDS(30)     /* a send queue full this long: give up */
#define READY_TIMEOUT_MS 10000          /* B printing its address */
#define EXIT_TIMEOUT_MS 5000            /* B exiting after its stdin closed */

static const ProtobufCMessageDescriptor *const types[] = {
    &bench__payload__descriptor, &bench__msg__descriptor,  &bench__start__descriptor,
    &bench__done__descriptor,    &bench__get__descriptor,  &bench__count__descriptor};

static int register_types(akt_system *sys) {
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    int rc = akt_system_register_type(sys, types[i]);
    if (rc) return rc;
  }
  return 0;
}

/* ---- node B's actors ------------------------------------------------------------ */

static int echo_receive(akt_ctx *ctx, const ProtobufCMessage *msg) { return akt_reply(ctx, msg); }

static const akt_actor_def echo_def = {.kind = "bench-echo", .receive = echo_receive};

/* ---- the server process (node B) -------------------------------------------------- */

int bench_serve(int argc, char **argv) {
  if (argc != 4 && argc != 7) {
    fprintf(stderr, "akt-bench --serve: internal use: --serve WORKERS COOKIE [CA CERT KEY]\n");
    return 2;
  }
  akt_uv_options o = {.workers = (unsigned)atoi(argv[2])};
  /* A: spawns the measured actors here and stops them afterwards. */
  const char *const kinds[] = {bench_counter_def.kind, echo_def.kind};
  const char *const stops[] = {"/user/"};
  akt_remote_options ro = {.host = "127.0.0.1",
                           .port = 0,
                           .security = {.cookie = argv[3],
                                        .spawn_kinds = {kinds, 2},
                                        .stop_paths = {stops, 1}}};
  if (argc == 7)
    ro.security.tls = (akt_tls_options){.ca_file = argv[4], .cert_file = argv[5],
                                        .key_file = argv[6]};
  akt_system_options so = {.log_level = AKT_LOG_ERROR};
  akt_backend *b = NULL;
  akt_system *sys = NULL;
  int rc = akt_uv_backend_new(&o, &b);
  if (!rc) rc = akt_system_new("bench-b", b, &so, &sys);
  if (!rc) rc = akt_remote_start(sys, &ro);
  if (!rc) rc = register_types(sys);
  if (!rc) rc = akt_remote_register_kind(sys, &bench_counter_def);
  if (!rc) rc = akt_remote_register_kind(sys, &echo_def);
  if (rc) {
    fprintf(stderr, "akt-bench --serve: cannot start node B: %s\n", akt_strerror(rc));
  } else {
    printf("%s\n", akt_system_address(sys));
    fflush(stdout);
    /* Serve until A closes our stdin (or its process ends). */
    char buf[64];
    for (;;) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    rc = akt_system_shutdown(sys, AKT_SECONDS(10));
    if (rc) fprintf(stderr, "akt-bench --serve: shutdown: %s\n", akt_strerror(rc));
  }
  akt_system_free(sys);
  akt_uv_backend_free(b);
  return rc ? 1 : 0;
}

/* ---- node A: starting and ending B --------------------------------------------------- */

struct bench_remote {
  akt_system *sys;           /* node A */
  int tls;                   /* certs were made (and are removed at close) */
  tls_certs certs;
  char node[AKT_ADDRESS_MAX]; /* B's address, akt://bench-b@127.0.0.1:PORT */
  pid_t child;               /* B's process, or 0 once reaped */
  int to_child;              /* B's stdin (write end), or -1 */
  uint64_t full_waits;       /* sends that met a full queue and waited */
};

int bench_read_line(int fd, char *buf, size_t size, int timeout_ms) {
  size_t len = 0;
  uint64_t deadline = bench_now() + (uint64_t)timeout_ms * 1000000u;
  while (len + 1 < size) {
    uint64_t now = bench_now();
    if (now >= deadline) return -1;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    ssize_t got = read(fd, buf + len, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    if (buf[len] == '\n') {
      buf[len] = '\0';
      return 0;
    }
    len++;
  }
  return -1;
}

/* Waits up to timeout_ms for the child to exit; kills it if it has not.
 * Always reaps it. */
static void reap(pid_t child, int timeout_ms) {
  int status;
  uint64_t deadline = bench_now() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    pid_t r = waitpid(child, &status, WNOHANG);
    if (r == child || (r < 0 && errno != EINTR)) break;
    if (bench_now() >= deadline) {
      fprintf(stderr, "akt-bench: node B (pid %ld) did not exit; killing it\n", (long)child);
      kill(child, SIGKILL);
      while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      return;
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    fprintf(stderr, "akt-bench: node B exited with status %d\n", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    fprintf(stderr, "akt-bench: node B died of signal %d\n", WTERMSIG(status));
}

int bench_spawn_self(char *const argv[], pid_t *child, int *to_child, int *from_child) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return AKT_EBACKEND;
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return AKT_EBACKEND;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  int err = posix_spawn(child, "/proc/self/exe", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (err != 0) {
    fprintf(stderr, "akt-bench: cannot start %s %s: %s\n", argv[0], argv[1], strerror(err));
    close(in[1]);
    close(out[0]);
    return AKT_EBACKEND;
  }
  *to_child = in[1];
  *from_child = out[0];
  return 0;
}

/* Starts B: `/proc/self/exe --serve WORKERS COOKIE [CA CERT KEY]`. On
 * success *to_child and *from_child are A's ends of its stdin and stdout. */
static int spawn_server(unsigned workers, const char *cookie, const tls_certs *tls, pid_t *child,
                        int *to_child, int *from_child) {
  char w[16];
  snprintf(w, sizeof w, "%u", workers);
  char *argv[] = {"akt-bench", "--serve", w, (char *)(uintptr_t)cookie, NULL, NULL, NULL, NULL};
  if (tls) {
    argv[4] = (char *)(uintptr_t)tls->ca;
    argv[5] = (char *)(uintptr_t)tls->node1_cert;
    argv[6] = (char *)(uintptr_t)tls->node1_key;
  }
  return bench_spawn_self(argv, child, to_child, from_child);
}

int bench_remote_open(akt_backend *backend, unsigned workers, int tls, bench_remote **out) {
  bench_remote *rm = calloc(1, sizeof *rm);
  if (!rm) return AKT_ENOMEM;
  rm->to_child = -1;
  if (tls) {
    if (tls_certs_make(&rm->certs, (int64_t)time(NULL)) != 0) {
      free(rm);
      return AKT_EBACKEND;
    }
    rm->tls = 1;
  }
  /* A cookie of this run's own (not a secret): nodes of another run on
   * this machine cannot be mixed up with ours. */
  char cookie[64];
  snprintf(cookie, sizeof cookie, "akt-bench-%ld-%" PRIx64, (long)getpid(), bench_now());
  int from_child = -1;
  int rc = spawn_server(workers, cookie, tls ? &rm->certs : NULL, &rm->child, &rm->to_child,
                        &from_child);
  if (rc) {
    if (rm->tls) tls_certs_remove(&rm->certs);
    free(rm);
    return rc;
  }
  if (bench_read_line(from_child, rm->node, sizeof rm->node, READY_TIMEOUT_MS) != 0 ||
      strncmp(rm->node, "akt://", 6) != 0) {
    fprintf(stderr, "akt-bench: node B did not report its address\n");
    rc = AKT_EUNREACH;
  }
  close(from_child); /* B's later stdout output, if any, is not read */
  akt_system_options so = {.log_level = AKT_LOG_ERROR};
  akt_remote_options ro = {.host = "127.0.0.1", .port = 0, .security.cookie = cookie};
  if (tls)
    ro.security.tls = (akt_tls_options){.ca_file = rm->certs.ca, .cert_file = rm->certs.node0_cert,
                                        .key_file = rm->certs.node0_key};
  if (!rc) rc = akt_system_new("bench-a", backend, &so, &rm->sys);
  if (!rc) rc = akt_remote_start(rm->sys, &ro);
  if (!rc) rc = register_types(rm->sys);
  if (rc) {
    bench_remote_close(rm);
    return rc;
  }
  *out = rm;
  return 0;
}

void bench_remote_close(bench_remote *rm) {
  if (!rm) return;
  /* A first: its connections close before B goes away. */
  akt_system_free(rm->sys);
  if (rm->to_child >= 0) close(rm->to_child);
  if (rm->child > 0) reap(rm->child, EXIT_TIMEOUT_MS);
  if (rm->full_waits)
    fprintf(stderr, "akt-bench: remote-tell waited %" PRIu64 " times on a full send queue\n",
            rm->full_waits);
  if (rm->tls) tls_certs_remove(&rm->certs);
  free(rm);
}

/* Says on stderr how a run failed, with node A's remoting counters. */
static void report(bench_remote *rm, const char *what, const char *when, int64_t got) {
  akt_remote_stats st;
  akt_remote_get_stats(rm->sys, &st);
  fprintf(stderr,
          "\nakt-bench: %s failed while %s: %s; node A: %" PRIu64 " envelopes out, %" PRIu64
          " frames out, %" PRIu64 " bytes out, %" PRIu64 " envelopes in, send queue full %" PRIu64
          " times, %" PRIu64 " connections opened\n",
          what, when, got < 0 ? akt_strerror((int)got) : "wrong count", st.envelopes_out,
          st.frames_out, st.bytes_out, st.envelopes_in, st.send_queue_full,
          st.connections_opened);
}

/* ---- remote-tell ---------------------------------------------------------------------- */

/* akt_tell, waiting out a full send queue. */
static int tell_waiting(bench_remote *rm, akt_pid *to, const ProtobufCMessage *msg) {
  uint64_t since = 0;
  for (;;) {
    int rc = akt_tell(to, msg);
    if (rc != AKT_EFULL) return rc;
    uint64_t now = bench_now();
    if (!since) since = now;
    if (now - since > STALL_LIMIT) return AKT_ETIMEDOUT;
    rm->full_waits++;
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
  }
}

/* The waiter: serves Start{n} from outside (an ask) by passing it on to the
 * counter on B (its arg), which it watches; answers Done{count} when the
 * counter does, or Done{AKT_EUNREACH} when the counter's node is lost. */
typedef struct waiter_state {
  akt_pid *client;
} waiter_state;

static int waiter_answer(akt_ctx *ctx, int64_t n) {
  waiter_state *s = akt_ctx_state(ctx);
  if (!s->client) return 0;
  akt_unwatch(ctx, (akt_pid *)(uintptr_t)akt_ctx_arg(ctx)); /* AKT_ENOENT after Terminated */
  Bench__Done d = BENCH__DONE__INIT;
  d.n = n;
  int rc = akt_send(ctx, s->client, &d.base);
  akt_pid_release(s->client);
  s->client = NULL;
  return rc;
}

static int waiter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  waiter_state *s = akt_ctx_state(ctx);
  akt_pid *counter = (akt_pid *)(uintptr_t)akt_ctx_arg(ctx);
  if (msg->descriptor == &bench__start__descriptor) {
    akt_pid_release(s->client);
    s->client = akt_pid_retain(akt_ctx_sender(ctx));
    int rc = akt_watch(ctx, counter);
    return rc ? waiter_answer(ctx, rc) : akt_send(ctx, counter, msg);
  }
  if (msg->descriptor == &bench__done__descriptor)
    return waiter_answer(ctx, ((const Bench__Done *)msg)->n);
  if (msg->descriptor == &akt__terminated__descriptor) return waiter_answer(ctx, AKT_EUNREACH);
  return AKT_EUNHANDLED;
}

static void waiter_post_stop(akt_ctx *ctx) {
  waiter_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->client);
}

static const akt_actor_def waiter_def = {.kind = "remote-waiter",
                                         .state_size = sizeof(waiter_state),
                                         .receive = waiter_receive,
                                         .post_stop = waiter_post_stop};

/* Asks `to` and returns the reply's n (Done), or a negative akt code. */
static int64_t ask_done(akt_pid *to, const ProtobufCMessage *msg) {
  ProtobufCMessage *reply = NULL;
  int rc = akt_ask(to, msg, DONE_TIMEOUT, &reply);
  if (rc) return rc;
  int64_t n = akt_msg_is(reply, &bench__done__descriptor) ? ((Bench__Done *)reply)->n : AKT_EPROTO;
  akt_msg_free(reply);
  return n;
}

int wl_remote_tell(bench_remote *rm, const bench_params *p, double *value) {
  akt_pid *c = NULL, *waiter = NULL;
  int rc = akt_remote_spawn(rm->sys, rm->node, bench_counter_def.kind, NULL, SPAWN_TIMEOUT, &c);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = c};
  rc = akt_spawn(rm->sys, NULL, &waiter_def, &o, &waiter);
  if (rc) {
    akt_stop(c);
    akt_pid_release(c);
    return rc;
  }
  uint8_t data[PAYLOAD_BYTES];
  memset(data, 'x', sizeof data);
  Bench__Payload m = BENCH__PAYLOAD__INIT;
  m.data.data = data;
  m.data.len = sizeof data;
  uint64_t t0 = bench_now();
  for (int64_t i = 0; i < p->remote_tell && rc == 0; i++) {
    m.n = i;
    rc = tell_waiting(rm, c, &m.base);
  }
  Bench__Start st = BENCH__START__INIT;
  st.n = p->remote_tell;
  int64_t got = rc ? rc : ask_done(waiter, &st.base);
  uint64_t t1 = bench_now();
  akt_stop(waiter);
  akt_pid_release(waiter);
  akt_stop(c);
  akt_pid_release(c);
  if (got != p->remote_tell) report(rm, "remote-tell", rc ? "sending" : "waiting for the count", got);
  if (got < 0) return (int)got;
  if (got != p->remote_tell) return AKT_EFAILED;
  *value = (double)p->remote_tell / ((double)(t1 - t0) / 1e9);
  return 0;
}

/* ---- remote-ask ------------------------------------------------------------------------ */

typedef struct requester_state {
  akt_pid *client;
  int64_t left, done;
  int failure; /* a request that failed (AKT_ETIMEDOUT): reported as Done{code} */
} requester_state;

static int request_next(akt_ctx *ctx);

static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  requester_state *s = akt_ctx_state(ctx);
  if (status) {
    s->failure = status;
    s->left = 0;
    return request_next(ctx);
  }
  if (akt_msg_is(reply, &bench__msg__descriptor) && ((const Bench__Msg *)reply)->n == s->done)
    s->done++;
  return request_next(ctx);
}

static int request_next(akt_ctx *ctx) {
  requester_state *s = akt_ctx_state(ctx);
  if (!s->client) return 0; /* already answered (the echo's node was lost) */
  if (s->left-- > 0) {
    Bench__Msg m = BENCH__MSG__INIT;
    m.n = s->done;
    akt_pid *echo = (akt_pid *)(uintptr_t)akt_ctx_arg(ctx);
    return akt_request(ctx, echo, &m.base, REQUEST_TIMEOUT, on_reply, NULL);
  }
  akt_unwatch(ctx, (akt_pid *)(uintptr_t)akt_ctx_arg(ctx)); /* AKT_ENOENT after Terminated */
  Bench__Done d = BENCH__DONE__INIT;
  d.n = s->failure ? s->failure : s->done;
  int rc = akt_send(ctx, s->client, &d.base);
  akt_pid_release(s->client);
  s->client = NULL;
  return rc;
}

/* Serves Start{n}: n sequential requests to the echo actor (its arg), then
 * Done{replies that matched} to the sender of Start, or Done{code} after
 * the first request that failed or when the echo's node is lost. */
static int requester_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  requester_state *s = akt_ctx_state(ctx);
  if (msg->descriptor == &akt__terminated__descriptor) {
    s->failure = AKT_EUNREACH;
    s->left = 0;
    return request_next(ctx);
  }
  if (msg->descriptor != &bench__start__descriptor) return AKT_EUNHANDLED;
  akt_pid_release(s->client);
  s->client = akt_pid_retain(akt_ctx_sender(ctx));
  s->left = ((const Bench__Start *)msg)->n;
  s->done = 0;
  s->failure = 0;
  int rc = akt_watch(ctx, (akt_pid *)(uintptr_t)akt_ctx_arg(ctx));
  if (rc) {
    s->failure = rc;
    s->left = 0;
  }
  return request_next(ctx);
}

static void requester_post_stop(akt_ctx *ctx) {
  requester_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->client);
}

static const akt_actor_def requester_def = {.kind = "remote-requester",
                                            .state_size = sizeof(requester_state),
                                            .receive = requester_receive,
                                            .post_stop = requester_post_stop};

int wl_remote_ask(bench_remote *rm, const bench_params *p, double *value) {
  akt_pid *echo = NULL, *req = NULL;
  int rc = akt_remote_spawn(rm->sys, rm->node, echo_def.kind, NULL, SPAWN_TIMEOUT, &echo);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = echo};
  rc = akt_spawn(rm->sys, NULL, &requester_def, &o, &req);
  int64_t got = rc;
  uint64_t t0 = bench_now(), t1 = t0;
  if (!rc) {
    Bench__Start st = BENCH__START__INIT;
    st.n = p->remote_ask;
    got = ask_done(req, &st.base);
    t1 = bench_now();
    akt_stop(req);
    akt_pid_release(req);
  }
  /* The requester may still be stopping: it does not use the echo PID
   * after its last reply, and the system keeps every PID until freed. */
  akt_stop(echo);
  akt_pid_release(echo);
  if (got != p->remote_ask) report(rm, "remote-ask", "requesting", got);
  if (got < 0) return (int)got;
  if (got != p->remote_ask) return AKT_EFAILED;
  *value = (double)(t1 - t0) / (double)p->remote_ask;
  return 0;
}
