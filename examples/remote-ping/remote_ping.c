/* akt-remote-ping: request/reply between two processes over TCP.
 *
 * One program, two roles. `pong` starts a system named "pong" with
 * remoting on HOST:PORT (--host, default 127.0.0.1) and an actor at
 * /user/ponger that answers every Ping with a Pong; it prints its address
 * on the first line of stdout and runs until a Stop message arrives or it
 * gets SIGINT/SIGTERM. `ping` starts a system named "ping" with remoting on
 * HOST (any port: the ponger's replies come back to it), looks the ponger
 * up with akt_remote_lookup, and has an actor make N request/reply round
 * trips with akt_request; the remote PID is used exactly like a local one.
 * Either may listen on another address than the one it gives peers
 * (--listen 0.0.0.0 --host POD_IP, as in a container).
 *
 * Both prove the same cookie to each other (never sending it): make one
 * with `openssl rand -hex 32 > akt.cookie` and give both --cookie-file.
 *
 *   akt-remote-ping pong --port 7700 --cookie-file akt.cookie
 *   akt-remote-ping ping --to akt://pong@127.0.0.1:7700 --cookie-file akt.cookie --stop
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akt/akt.h"
#include "akt/remote.h"
#include "akt/transport.h"
#include "remote_ping.pb-c.h"

#define PONGER_PATH "/user/ponger"
#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 7700
#define DEFAULT_COUNT 1000
#define LOOKUP_TIMEOUT AKT_SECONDS(5)  /* finding the ponger, connection included */
#define REQUEST_TIMEOUT AKT_SECONDS(5) /* one round trip */
#define SHUTDOWN_TIMEOUT AKT_SECONDS(5)
/* Between the ponger's answer to Stop and the node's shutdown: remoting
 * does not flush what is queued when the system shuts down, so the answer
 * gets a moment to leave. */
#define STOP_LINGER AKT_MILLIS(100)
#define COOKIE_FILE_MAX (AKT_SECURITY_MAX_COOKIE + 2) /* bytes read: the cookie, a newline */

/* The messages that cross the network: both nodes register them. */
static const ProtobufCMessageDescriptor *const wire_types[] = {
    &remote_ping__ping__descriptor, &remote_ping__pong__descriptor,
    &remote_ping__stop__descriptor, &remote_ping__stopping__descriptor};

typedef struct options {
  const char *role, *to, *cookie, *cookie_file;
  char cookie_buf[COOKIE_FILE_MAX + 1]; /* what --cookie-file holds */
  const char *host;   /* the address peers are given (and listened on, without --listen) */
  const char *listen; /* the address to listen on, or NULL */
  long port;
  int64_t count;
  int port_given, stop, verbose;
} options;

/* Starts the production backend and a system `name` with remoting on
 * --listen (or --host):port, giving peers --host; says on stderr what
 * failed. */
static int node_up(const options *o, const char *name, uint16_t port, akt_backend **b,
                   akt_system **sys) {
  int rc = akt_uv_backend_new(NULL, b);
  akt_system_options so = {.host = o->host,
                           .log_level = o->verbose ? AKT_LOG_INFO : AKT_LOG_ERROR};
  if (!rc) rc = akt_system_new(name, *b, &so, sys);
  if (rc) {
    fprintf(stderr, "akt-remote-ping: cannot start the %s node: %s (%s)\n", name,
            akt_strerror(rc), akt_errname(rc));
    return rc;
  }
  akt_remote_options ro = {
      .host = o->host, .listen_host = o->listen, .port = port, .security.cookie = o->cookie};
  rc = akt_remote_start(*sys, &ro);
  if (rc) {
    fprintf(stderr, "akt-remote-ping: cannot listen on %s:%u: %s (%s)\n",
            o->listen ? o->listen : o->host, port,
            rc == AKT_EEXIST ? "the address is in use" : akt_strerror(rc), akt_errname(rc));
    return rc;
  }
  for (size_t i = 0; rc == 0 && i < sizeof wire_types / sizeof wire_types[0]; i++)
    rc = akt_system_register_type(*sys, wire_types[i]);
  if (rc)
    fprintf(stderr, "akt-remote-ping: cannot register the message types: %s (%s)\n",
            akt_strerror(rc), akt_errname(rc));
  return rc;
}

static void node_down(akt_backend *b, akt_system *sys) {
  if (sys) akt_system_shutdown(sys, SHUTDOWN_TIMEOUT);
  akt_system_free(sys);
  akt_uv_backend_free(b);
}

/* ---- pong ------------------------------------------------------------------- */

/* Shared by the ponger and pong's main thread, which waits on wake[0]. */
typedef struct pong_shared {
  int wake[2];         /* a pipe: the ponger and the signal handlers write one byte */
  atomic_llong pings;  /* Pings answered */
} pong_shared;

static int signal_fd = -1; /* pong_shared.wake[1], for the signal handlers */

static void on_signal(int sig) {
  (void)sig;
  char c = 's';
  ssize_t n = write(signal_fd, &c, 1); /* async-signal-safe */
  (void)n;
}

static int ponger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  pong_shared *sh = (pong_shared *)(uintptr_t)akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &remote_ping__ping__descriptor)) {
    atomic_fetch_add(&sh->pings, 1);
    RemotePing__Pong pong = REMOTE_PING__PONG__INIT;
    pong.n = ((const RemotePing__Ping *)msg)->n;
    return akt_reply(ctx, &pong.base); /* across the network, to the sender's node */
  }
  if (akt_msg_is(msg, &remote_ping__stop__descriptor)) {
    RemotePing__Stopping ack = REMOTE_PING__STOPPING__INIT;
    ack.pings = atomic_load(&sh->pings);
    int rc = akt_reply(ctx, &ack.base);
    if (rc && rc != AKT_ENOSENDER) return rc; /* a Stop without a sender needs no answer */
    RemotePing__Quit quit = REMOTE_PING__QUIT__INIT;
    return akt_timer_start(ctx, 1, STOP_LINGER, 0, &quit.base);
  }
  if (akt_msg_is(msg, &remote_ping__quit__descriptor)) {
    char c = 'q';
    return write(sh->wake[1], &c, 1) == 1 ? 0 : AKT_EFAILED;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def ponger_def = {.kind = "ponger", .receive = ponger_receive};

static int run_pong(const options *o) {
  pong_shared sh = {.wake = {-1, -1}};
  if (pipe(sh.wake) != 0) {
    fprintf(stderr, "akt-remote-ping: pipe: %s\n", strerror(errno));
    return 1;
  }
  /* SIGINT and SIGTERM stay blocked in akt's threads (they inherit this
   * mask) and are taken by the main thread alone, once it waits. */
  sigset_t stop_signals, old;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
  akt_backend *b = NULL;
  akt_system *sys = NULL;
  akt_pid *ponger = NULL;
  int rc = node_up(o, "pong", (uint16_t)o->port, &b, &sys);
  akt_spawn_opts so = {.arg = &sh};
  if (!rc) {
    rc = akt_spawn(sys, "ponger", &ponger_def, &so, &ponger);
    if (rc)
      fprintf(stderr, "akt-remote-ping: cannot spawn %s: %s (%s)\n", PONGER_PATH,
              akt_strerror(rc), akt_errname(rc));
  }
  if (!rc) {
    printf("%s\n", akt_system_address(sys)); /* first line: where to reach us */
    fflush(stdout);
    fprintf(stderr, "pong: %s%s answers Ping with Pong; stop with Ctrl-C or ping --stop\n",
            akt_system_address(sys), PONGER_PATH);
    signal_fd = sh.wake[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    char c = 0;
    while (read(sh.wake[0], &c, 1) < 0 && errno == EINTR) {
    }
    /* A second Ctrl-C during the shutdown ends the process at once. */
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("pong: %s after %lld pings\n", c == 'q' ? "stopped by Stop" : "stopped by a signal",
           (long long)atomic_load(&sh.pings));
    fflush(stdout);
  }
  akt_pid_release(ponger);
  node_down(b, sys);
  close(sh.wake[0]);
  close(sh.wake[1]);
  return rc ? 1 : 0;
}

/* ---- ping ------------------------------------------------------------------- */

typedef struct pinger_state {
  akt_pid *client; /* told Done at the end */
  int64_t rounds, done;
  uint64_t started;
} pinger_state;

static int ping_next(akt_ctx *ctx);

static int finish(akt_ctx *ctx, int error) {
  pinger_state *s = akt_ctx_state(ctx);
  RemotePing__Done d = REMOTE_PING__DONE__INIT;
  d.rounds = s->done;
  d.elapsed_ns = akt_ctx_now(ctx) - s->started;
  d.error = error;
  int rc = akt_send(ctx, s->client, &d.base);
  akt_pid_release(s->client);
  s->client = NULL;
  return rc;
}

static int on_pong(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  pinger_state *s = akt_ctx_state(ctx);
  if (status) return finish(ctx, status); /* AKT_ETIMEDOUT: the ponger did not answer */
  if (!akt_msg_is(reply, &remote_ping__pong__descriptor) ||
      ((const RemotePing__Pong *)reply)->n != s->done)
    return finish(ctx, AKT_EPROTO);
  s->done++;
  return ping_next(ctx);
}

static int ping_next(akt_ctx *ctx) {
  pinger_state *s = akt_ctx_state(ctx);
  if (s->done == s->rounds) return finish(ctx, 0);
  RemotePing__Ping ping = REMOTE_PING__PING__INIT;
  ping.n = s->done;
  akt_pid *ponger = (akt_pid *)(uintptr_t)akt_ctx_arg(ctx);
  int rc = akt_request(ctx, ponger, &ping.base, REQUEST_TIMEOUT, on_pong, NULL);
  return rc ? finish(ctx, rc) : 0;
}

/* Serves Play{rounds}: that many round trips with the ponger (its spawn
 * arg), one at a time, then Done to the sender of Play. */
static int pinger_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  pinger_state *s = akt_ctx_state(ctx);
  if (!akt_msg_is(msg, &remote_ping__play__descriptor) || s->client) return AKT_EUNHANDLED;
  s->client = akt_pid_retain(akt_ctx_sender(ctx));
  s->rounds = ((const RemotePing__Play *)msg)->rounds;
  s->done = 0;
  s->started = akt_ctx_now(ctx);
  return ping_next(ctx);
}

static void pinger_post_stop(akt_ctx *ctx) {
  pinger_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->client);
}

static const akt_actor_def pinger_def = {.kind = "pinger",
                                         .state_size = sizeof(pinger_state),
                                         .receive = pinger_receive,
                                         .post_stop = pinger_post_stop};

/* Plays the rounds; returns 0 or prints why not and returns an akt code. */
static int play(akt_system *sys, akt_pid *ponger, const char *target, int64_t count) {
  akt_pid *pinger = NULL;
  akt_spawn_opts so = {.arg = ponger};
  int rc = akt_spawn(sys, "pinger", &pinger_def, &so, &pinger);
  if (rc) return rc;
  RemotePing__Play p = REMOTE_PING__PLAY__INIT;
  p.rounds = count;
  ProtobufCMessage *reply = NULL;
  /* The pinger always answers: each of its requests times out on its own. */
  rc = akt_ask(pinger, &p.base, AKT_FOREVER, &reply);
  if (!rc) {
    const RemotePing__Done *d = (const RemotePing__Done *)reply;
    if (d->error) {
      rc = d->error;
      fprintf(stderr, "akt-remote-ping: round trip %" PRId64 " with %s failed: %s (%s)\n",
              d->rounds + 1, target, akt_strerror(rc), akt_errname(rc));
    } else {
      double ms = (double)d->elapsed_ns / 1e6;
      printf("ping: %" PRId64 " round trips in %.1f ms\n", d->rounds, ms);
      printf("ping: %.1f µs per round trip\n", ms * 1000.0 / (double)d->rounds);
    }
  }
  akt_msg_free(reply);
  akt_stop(pinger);
  akt_pid_release(pinger);
  return rc;
}

static int run_ping(const options *o) {
  char target[AKT_ADDRESS_MAX];
  /* --to names the node; a full address (with a path) is taken as is. */
  const char *path = strncmp(o->to, "akt://", 6) == 0 ? strchr(o->to + 6, '/') : NULL;
  snprintf(target, sizeof target, "%s%s", o->to, path ? "" : PONGER_PATH);
  akt_backend *b = NULL;
  akt_system *sys = NULL;
  akt_pid *ponger = NULL;
  int rc = node_up(o, "ping", 0, &b, &sys);
  if (rc) {
    node_down(b, sys);
    return 1;
  }
  rc = akt_remote_lookup(sys, target, LOOKUP_TIMEOUT, &ponger);
  if (rc) {
    /* The lookup ends with the cause as soon as the connection fails:
     * AKT_EREFUSED when nothing listens there or pong refused the
     * handshake (its log says why; --verbose shows ours). */
    const char *why = rc == AKT_EREFUSED ? "connection refused (is pong running there, with "
                                           "the same cookie?)"
                      : rc == AKT_EUNREACH  ? "host unreachable"
                      : rc == AKT_ECLOSED   ? "connection closed by the peer"
                      : rc == AKT_ETIMEDOUT ? "no answer in time (is that address reachable?)"
                      : rc == AKT_ENOENT    ? "pong runs there, but without " PONGER_PATH
                                            : akt_strerror(rc);
    fprintf(stderr, "akt-remote-ping: cannot reach %s: %s (%s)\n", target, why, akt_errname(rc));
  } else {
    printf("ping: %s -> %s\n", akt_system_address(sys), target);
    rc = play(sys, ponger, target, o->count);
  }
  if (!rc && o->stop) {
    RemotePing__Stop stop = REMOTE_PING__STOP__INIT;
    ProtobufCMessage *reply = NULL;
    rc = akt_ask(ponger, &stop.base, REQUEST_TIMEOUT, &reply);
    if (rc)
      fprintf(stderr, "akt-remote-ping: %s did not answer Stop: %s (%s)\n", target,
              akt_strerror(rc), akt_errname(rc));
    else
      printf("ping: told %s to stop (it answered %lld pings)\n", target,
             (long long)((const RemotePing__Stopping *)reply)->pings);
    akt_msg_free(reply);
  }
  akt_pid_release(ponger);
  node_down(b, sys);
  return rc ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: akt-remote-ping pong --cookie-file F [--port P] [--host H] [--listen L]\n"
          "                            [--verbose]\n"
          "       akt-remote-ping ping --cookie-file F --to akt://pong@HOST:PORT [--count N]\n"
          "                            [--stop] [--host H] [--listen L] [--verbose]\n"
          "Request/reply between two processes with akt remoting over TCP.\n"
          "  pong           serve /user/ponger on H:P (default port 7700; 0 = any free\n"
          "                 port); prints its address on the first line of stdout;\n"
          "                 runs until Stop arrives, or SIGINT/SIGTERM\n"
          "  ping           look up /user/ponger on the node --to names and make N\n"
          "                 request/reply round trips (default 1000) from an actor\n"
          "  --host H       this node's IP address, the one peers connect to\n"
          "                 (default 127.0.0.1; in a container, the pod's IP)\n"
          "  --listen L     listen on L instead of H, e.g. 0.0.0.0 for every interface\n"
          "  --stop         (ping) afterwards, ask the ponger's node to shut down\n"
          "  --cookie-file F  the cluster's cookie (16 to 256 bytes; a final newline is\n"
          "                 dropped), the same on both sides: `openssl rand -hex 32 > F`\n"
          "  --cookie C     the cookie itself (visible to `ps`: for tests)\n"
          "  --verbose      log remoting's connections (info level) on stderr\n");
}

/* Reads --cookie-file into o->cookie (one final newline dropped). 0, or
 * -1 after saying why. */
static int read_cookie(options *o) {
  FILE *f = fopen(o->cookie_file, "r");
  if (!f) {
    fprintf(stderr, "akt-remote-ping: cannot read --cookie-file %s: %s\n", o->cookie_file,
            strerror(errno));
    return -1;
  }
  size_t n = fread(o->cookie_buf, 1, COOKIE_FILE_MAX, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  if (more) {
    fprintf(stderr, "akt-remote-ping: %s holds more than a cookie (%d bytes at most)\n",
            o->cookie_file, AKT_SECURITY_MAX_COOKIE);
    return -1;
  }
  if (n > 0 && o->cookie_buf[n - 1] == '\n') n--;
  if (n > 0 && o->cookie_buf[n - 1] == '\r') n--;
  o->cookie_buf[n] = '\0';
  o->cookie = o->cookie_buf;
  return 0;
}

/* Parses a decimal in [min, max] into *out; 0 or -1. */
static int parse_num(const char *s, long long min, long long max, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  options o = {.port = DEFAULT_PORT, .count = DEFAULT_COUNT, .host = DEFAULT_HOST};
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    long long v;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (i == 1 && (!strcmp(a, "pong") || !strcmp(a, "ping"))) {
      o.role = a;
    } else if (!strcmp(a, "--port") && i + 1 < argc) {
      if (parse_num(argv[++i], 0, 65535, &v)) {
        fprintf(stderr, "akt-remote-ping: --port needs 0..65535, got '%s'\n", argv[i]);
        return 2;
      }
      o.port = (long)v;
      o.port_given = 1;
    } else if (!strcmp(a, "--count") && i + 1 < argc) {
      if (parse_num(argv[++i], 1, INT64_MAX, &v)) {
        fprintf(stderr, "akt-remote-ping: --count needs a number >= 1, got '%s'\n", argv[i]);
        return 2;
      }
      o.count = v;
    } else if (!strcmp(a, "--to") && i + 1 < argc) {
      o.to = argv[++i];
    } else if (!strcmp(a, "--cookie") && i + 1 < argc) {
      o.cookie = argv[++i];
    } else if (!strcmp(a, "--cookie-file") && i + 1 < argc) {
      o.cookie_file = argv[++i];
    } else if (!strcmp(a, "--host") && i + 1 < argc) {
      o.host = argv[++i];
    } else if (!strcmp(a, "--listen") && i + 1 < argc) {
      o.listen = argv[++i];
    } else if (!strcmp(a, "--stop")) {
      o.stop = 1;
    } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
      o.verbose = 1;
    } else {
      fprintf(stderr, "akt-remote-ping: unexpected argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!o.role) {
    fprintf(stderr, "akt-remote-ping: say pong or ping first\n");
    usage(stderr);
    return 2;
  }
  if (o.cookie_file && read_cookie(&o) != 0) return 2;
  if (!o.cookie) {
    fprintf(stderr, "akt-remote-ping: give both nodes the same cookie: --cookie-file F (make one "
                    "with `openssl rand -hex 32 > F`)\n");
    return 2;
  }
  size_t clen = strlen(o.cookie);
  if (clen < AKT_SECURITY_MIN_COOKIE || clen > AKT_SECURITY_MAX_COOKIE) {
    fprintf(stderr, "akt-remote-ping: the cookie has %zu bytes; it needs %d to %d\n", clen,
            AKT_SECURITY_MIN_COOKIE, AKT_SECURITY_MAX_COOKIE);
    return 2;
  }
  if (!strcmp(o.role, "pong")) {
    if (o.to || o.stop) {
      fprintf(stderr, "akt-remote-ping: --to and --stop are options of ping\n");
      return 2;
    }
    return run_pong(&o);
  }
  if (!o.to) {
    fprintf(stderr, "akt-remote-ping: ping needs --to akt://pong@HOST:PORT\n");
    return 2;
  }
  if (strncmp(o.to, "akt://", 6) != 0) {
    fprintf(stderr, "akt-remote-ping: --to needs an address akt://NAME@HOST:PORT, got '%s'\n",
            o.to);
    return 2;
  }
  if (o.port_given) {
    fprintf(stderr, "akt-remote-ping: --port is an option of pong (ping listens on any port)\n");
    return 2;
  }
  return run_ping(&o);
}
