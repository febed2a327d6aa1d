/* The attacker's tools for the attack suites (test_attacks*.c,
 * test_attacks_node*.c): raw TCP sockets on loopback, a "wire" over one
 * that speaks TLS when asked (akt's own engine, tls.h, driven by hand),
 * either side of the cookie exchange (auth.h), and Batch entries built
 * with the codec. Everything is bounded in time by HANG_MS: a test on a
 * loaded machine waits, it never races a clock. */
#ifndef AKT_TESTS_REMOTE_ATTACKER_H
#define AKT_TESTS_REMOTE_ATTACKER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "akt/auth.pb-c.h"
#include "akt/error.h"
#include "akt/remote.h"
#include "src/remote/auth.h"
#include "src/remote/remote.h"
#include "src/remote/tls.h"

#define HANG_MS 30000 /* bounds a wait that should end soon */
#define MIB ((size_t)1 << 20)
#define EVIL "akt://evil@127.0.0.1:1" /* an address where nothing listens */

/* Under ASan freed memory waits in a quarantine and every allocation has
 * red zones; under ThreadSanitizer every byte has shadow memory and freed
 * memory is reused late: the peak resident size an attack suite measures
 * is allowed this factor. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_FACTOR 4
/* ASan keeps freed memory for use-after-free reports (256 MiB by
 * default): an attack that churns allocations would be measured by it.
 * ASAN_OPTIONS from the environment still override this. Defined in this
 * header: one file of each attack suite's executable includes it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=4"; }
#elif defined(__SANITIZE_THREAD__)
#define RSS_FACTOR 8
#else
#define RSS_FACTOR 1
#endif

static inline uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* A "Vm...:" field of /proc/<pid>/status in KiB (pid 0: this process), or
 * -1. */
static inline long proc_status_kb(pid_t pid, const char *field) {
  char path[64];
  if (pid)
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  else
    snprintf(path, sizeof path, "/proc/self/status");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0) kb = strtol(line + n, NULL, 10);
  fclose(f);
  return kb;
}

/* ---- raw sockets ---------------------------------------------------------------------- */

/* Connects to 127.0.0.1:port from `src` (another loopback address, to be
 * another source; NULL: any). Returns the socket. */
static inline int raw_connect(const char *src, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* closes with RST: no TIME_WAIT */
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (src) {
    assert_int_equal(inet_pton(AF_INET, src, &sa.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  }
  sa.sin_port = htons(port);
  assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* A listening socket on 127.0.0.1 (any port, written to *port). */
static inline int raw_listen(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fd, 16), 0);
  socklen_t len = sizeof sa;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

/* Accepts one connection within HANG_MS; -1 when none came. */
static inline int raw_accept(int lfd) {
  struct pollfd pf = {.fd = lfd, .events = POLLIN};
  if (poll(&pf, 1, HANG_MS) <= 0) return -1;
  return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Sends what it can: stops at the first error (the node closed) or when
 * the node takes nothing for HANG_MS. Returns the bytes sent. */
static inline size_t raw_send(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  size_t sent = 0;
  while (sent < len) {
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    if (poll(&pf, 1, HANG_MS) <= 0) break;
    ssize_t n = send(fd, p + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    sent += (size_t)n;
  }
  return sent;
}

/* Reads what comes within timeout_ms (into `into`, may be NULL). Returns
 * 1 when the node closed the connection, 0 when it did not in time. */
static inline int raw_read_until_closed(int fd, akt__buf *into, int timeout_ms) {
  uint64_t end = now_ms() + (uint64_t)timeout_ms;
  for (;;) {
    uint64_t now = now_ms();
    if (now >= end) return 0;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int r = poll(&pf, 1, (int)(end - now));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return 1;
    if (into) akt__buf_put(into, buf, (size_t)n);
  }
}

/* Reads what is there now, without waiting (or 0 bytes). Returns -1 when
 * the node closed the connection, else the bytes read. */
static inline ssize_t raw_drain(int fd, akt__buf *into) {
  ssize_t total = 0;
  for (;;) {
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return total;
    if (n <= 0) return -1;
    if (into) akt__buf_put(into, buf, (size_t)n);
    total += n;
  }
}

/* ---- a wire: a socket, through TLS when asked ------------------------------------------ */

typedef struct wire {
  int fd;
  akt__tls_ctx *ctx; /* NULL: plaintext */
  akt__tls *tls;
  akt__buf plain;    /* what came (decrypted), not taken yet */
  int failed;        /* the TLS engine or the socket failed */
  akt__buf *rec;     /* when set, every plaintext byte written is kept here */
} wire;

static inline int wire_send_cb(void *arg, const uint8_t *data, size_t len) {
  wire *w = arg;
  return raw_send(w->fd, data, len) == len ? 0 : AKT_ECLOSED;
}

static inline int wire_recv_cb(void *arg, const uint8_t *data, size_t len) {
  wire *w = arg;
  return akt__buf_put(&w->plain, data, len);
}

/* Reads what the socket has within timeout_ms into w->plain (through
 * TLS). Returns -1 when the peer closed or TLS failed, else 0. */
static inline int wire_pump(wire *w, int timeout_ms) {
  struct pollfd pf = {.fd = w->fd, .events = POLLIN};
  int r = poll(&pf, 1, timeout_ms);
  if (r <= 0) return 0;
  uint8_t buf[16384];
  ssize_t n = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n <= 0) {
    w->failed = 1;
    return -1;
  }
  if (!w->tls) return akt__buf_put(&w->plain, buf, (size_t)n) == 0 ? 0 : -1;
  if (akt__tls_feed(w->tls, buf, (size_t)n) != 0) {
    w->failed = 1;
    return -1;
  }
  return 0;
}

/* Makes w a wire over fd: plaintext (cert NULL), or TLS with this
 * certificate and key (signed by `ca`), as the side that connected
 * (initiator) or accepted. Returns 0 when TLS is up (or off), else the
 * engine's code. */
static inline int wire_up(wire *w, int fd, int initiator, const char *ca, const char *cert,
                          const char *key) {
  memset(w, 0, sizeof *w);
  w->fd = fd;
  if (!cert) return 0;
  akt__tls_config cfg = {.ca_file = ca, .cert_file = cert, .key_file = key, .mutual = 1};
  akt__tls_error err;
  assert_int_equal(akt__tls_ctx_new(&cfg, &w->ctx, &err), 0);
  akt__tls_io io = {.send = wire_send_cb, .recv = wire_recv_cb, .arg = w};
  assert_int_equal(akt__tls_new(w->ctx, initiator, &io, &w->tls), 0);
  int rc = akt__tls_start(w->tls);
  uint64_t end = now_ms() + HANG_MS;
  while (rc == 0 && !akt__tls_done(w->tls) && now_ms() < end) {
    if (wire_pump(w, 100) < 0) {
      int code = akt__tls_feed(w->tls, NULL, 0); /* the engine's failure, if it failed */
      rc = code ? code : AKT_ECLOSED;
    }
  }
  if (rc == 0 && !akt__tls_done(w->tls)) rc = AKT_ETIMEDOUT;
  return rc;
}

/* Sends plaintext (encrypted when TLS is on). Returns the bytes taken. */
static inline size_t wire_write(wire *w, const void *data, size_t len) {
  if (w->rec) assert_int_equal(akt__buf_put(w->rec, data, len), 0);
  if (!w->tls) return raw_send(w->fd, data, len);
  return akt__tls_write(w->tls, data, len) == 0 ? len : 0;
}

static inline void wire_close(wire *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  akt__tls_free(w->tls);
  akt__tls_ctx_free(w->ctx);
  akt__buf_free(&w->plain);
  w->tls = NULL;
  w->ctx = NULL;
}

/* ---- the cookie exchange, played by hand ------------------------------------------------ */

/* Runs `a` (set up) over w until it is done or fails: what it writes goes
 * out, what comes in is fed to it. Returns 0 (done) or the code. */
static inline int wire_auth_run(wire *w, akt__auth *a, akt__auth_state done) {
  int rc = 0;
  uint64_t end = now_ms() + HANG_MS;
  while (rc == 0 && akt__auth_get_state(a) != done && now_ms() < end) {
    size_t n;
    const uint8_t *out = akt__auth_take_output(a, &n);
    if (out) wire_write(w, out, n);
    if (w->plain.len) {
      size_t used = 0;
      rc = akt__auth_feed(a, w->plain.data, w->plain.len, &used);
      memmove(w->plain.data, w->plain.data + used, w->plain.len - used);
      w->plain.len -= used;
      continue;
    }
    if (wire_pump(w, 100) < 0) rc = AKT_ECLOSED;
  }
  size_t n;
  const uint8_t *out = akt__auth_take_output(a, &n); /* the acceptor's Result */
  if (out) wire_write(w, out, n);
  if (rc == 0 && akt__auth_get_state(a) != done) rc = AKT_ETIMEDOUT;
  return rc;
}

/* The TLS exporter value the exchange binds to (none without TLS). */
static inline size_t wire_binding(wire *w, uint8_t out[32]) {
  if (!w->tls) return 0;
  assert_int_equal(akt__tls_exporter(w->tls, out, 32), 0);
  return 32;
}

/* Runs the exchange of cfg (its binding: w's TLS exporter value) over w.
 * Returns 0 when both proved the cookie, else the code. */
static inline int wire_auth_with(wire *w, akt__auth_config *cfg) {
  uint8_t binding[32];
  cfg->binding_len = wire_binding(w, binding);
  cfg->binding = cfg->binding_len ? binding : NULL;
  akt__auth *a = malloc(sizeof *a);
  assert_non_null(a);
  assert_int_equal(akt__auth_init(a, cfg), 0);
  int rc = wire_auth_run(w, a, AKT__AUTH_DONE);
  akt__auth_clear(a);
  free(a);
  return rc;
}

/* Plays the initiator's side with `cookie`, claiming to be `claim`
 * (incarnation inc, connection number seq), toward the node
 * `to_address`. Returns 0 when both proved the cookie, else the code. */
static inline int wire_auth(wire *w, const char *cookie, const char *claim, uint64_t inc,
                            uint64_t seq, const char *to_address) {
  char sysname[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX], to_sys[AKT_SYSTEM_NAME_MAX + 1];
  uint16_t port;
  const char *path;
  assert_int_equal(akt__parse_address(claim, sysname, sizeof sysname, host, sizeof host, &port,
                                      &path), 0);
  assert_int_equal(akt__parse_address(to_address, to_sys, sizeof to_sys, host, sizeof host, &port,
                                      &path), 0);
  uint8_t random[32];
  for (size_t i = 0; i < sizeof random; i++) random[i] = (uint8_t)(seq * 31 + inc + i);
  akt__auth_config cfg = {.role = AKT__AUTH_INITIATOR,
                          .cookie = (const uint8_t *)cookie,
                          .cookie_len = strlen(cookie),
                          .channel = "remoting",
                          .version = AKT_REMOTE_PROTOCOL_VERSION,
                          .system = sysname,
                          .address = claim,
                          .incarnation = inc,
                          .expect_system = to_sys,
                          .expect_address = to_address,
                          .conn_seq = seq,
                          .random = random,
                          .random_len = sizeof random};
  return wire_auth_with(w, &cfg);
}

/* Plays the acceptor's side as `self` (a node the peer dialled). Returns
 * 0 when both proved the cookie, else the code. */
static inline int wire_auth_accept(wire *w, const char *cookie, const char *self) {
  char sysname[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX];
  uint16_t port;
  const char *path;
  assert_int_equal(akt__parse_address(self, sysname, sizeof sysname, host, sizeof host, &port,
                                      &path), 0);
  uint8_t random[32];
  memset(random, 0x77, sizeof random);
  akt__auth_config cfg = {.role = AKT__AUTH_ACCEPTOR,
                          .cookie = (const uint8_t *)cookie,
                          .cookie_len = strlen(cookie),
                          .channel = "remoting",
                          .version = AKT_REMOTE_PROTOCOL_VERSION,
                          .system = sysname,
                          .address = self,
                          .incarnation = 77,
                          .random = random,
                          .random_len = sizeof random};
  return wire_auth_with(w, &cfg);
}

/* ---- frames ------------------------------------------------------------------------------ */

/* Appends a Batch.envelopes entry: msg to `target` (incarnation 0: any)
 * from `sender`. */
static inline void entry(akt__buf *body, const char *target, const char *sender,
                         const ProtobufCMessage *msg, uint64_t corr, uint32_t flags) {
  size_t plen = protobuf_c_message_get_packed_size(msg);
  uint8_t *payload = malloc(plen ? plen : 1);
  assert_non_null(payload);
  protobuf_c_message_pack(msg, payload);
  akt__env_out e = {.target = target,
                    .target_len = strlen(target),
                    .sender = sender,
                    .sender_len = strlen(sender),
                    .type = msg->descriptor->name,
                    .type_len = strlen(msg->descriptor->name),
                    .corr = corr,
                    .flags = flags};
  size_t elen = akt__env_out_size(&e, plen);
  assert_int_equal(akt__buf_reserve(body, 1 + AKT__VARINT_MAX + elen), 0);
  uint8_t *p = body->data + body->len;
  *p++ = (1 << 3) | 2;
  p = akt__env_out_write(akt__put_varint(p, elen), &e, msg, plen);
  body->len = (size_t)(p - body->data);
  free(payload);
}

/* Appends a Batch.envelopes entry whose payload is `payload` as it is (of
 * type `type`): bytes no sender of ours would pack. */
static inline void entry_raw(akt__buf *body, const char *target, const char *sender,
                             const char *type, const uint8_t *payload, size_t plen) {
  akt__buf env = {0};
  const struct {
    unsigned field;
    const void *p;
    size_t n;
  } parts[] = {{1, target, strlen(target)}, {3, sender, strlen(sender)}, {5, type, strlen(type)},
               {6, payload, plen}};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (!parts[i].n) continue;
    uint8_t tag = (uint8_t)(parts[i].field << 3 | 2);
    assert_int_equal(akt__buf_put(&env, &tag, 1), 0);
    assert_int_equal(akt__buf_varint(&env, parts[i].n), 0);
    assert_int_equal(akt__buf_put(&env, parts[i].p, parts[i].n), 0);
  }
  uint8_t tag = (1 << 3) | 2;
  assert_int_equal(akt__buf_put(body, &tag, 1), 0);
  assert_int_equal(akt__buf_varint(body, env.len), 0);
  assert_int_equal(akt__buf_put(body, env.data, env.len), 0);
  akt__buf_free(&env);
}

/* What protocol 1 sent first, with an empty cookie: Frame{handshake{magic
 * "AKT1", version 1, to_system "a", from_address, cookie ""}}. */
static inline void old_handshake(akt__buf *out) {
  static const uint8_t body[] = {0x0a, 0x24, 0x0d, 0x31, 0x54, 0x4b, 0x41, 0x10, 0x01, 0x1a,
                                 0x01, 'a',  0x22, 0x16, 'a',  'k',  't',  ':',  '/',  '/',
                                 'e',  'v',  'i',  'l',  '@',  '1',  '2',  '7',  '.',  '0',
                                 '.',  '0',  '.',  '1',  ':',  '1',  0x32, 0x00};
  uint8_t prefix[4] = {0, 0, 0, sizeof body};
  akt__buf_put(out, prefix, 4);
  akt__buf_put(out, body, sizeof body);
}

/* The first `count` frames (4-byte length prefixes) of w, into out. */
static inline void first_frames(const akt__buf *w, unsigned count, akt__buf *out) {
  size_t off = 0;
  for (unsigned i = 0; i < count; i++) {
    assert_true(off + 4 <= w->len);
    size_t len = (size_t)w->data[off] << 24 | (size_t)w->data[off + 1] << 16 |
                 (size_t)w->data[off + 2] << 8 | w->data[off + 3];
    assert_true(off + 4 + len <= w->len);
    akt__buf_put(out, w->data + off, 4 + len);
    off += 4 + len;
  }
}

/* The Hello at the front of `frames` with conn_seq raised by `by`,
 * followed by the rest of frames as it was. */
static inline void raise_seq(const akt__buf *frames, uint64_t by, akt__buf *out) {
  size_t len = (size_t)frames->data[2] << 8 | frames->data[3];
  Akt__Auth__AuthFrame *f = akt__auth__auth_frame__unpack(NULL, len, frames->data + 4);
  assert_non_null(f);
  assert_int_equal(f->kind_case, AKT__AUTH__AUTH_FRAME__KIND_HELLO);
  f->hello->conn_seq += by;
  uint8_t packed[AKT__AUTH_MAX_FRAME];
  size_t n = akt__auth__auth_frame__pack(f, packed);
  uint8_t prefix[4] = {0, 0, (uint8_t)(n >> 8), (uint8_t)n};
  akt__buf_put(out, prefix, 4);
  akt__buf_put(out, packed, n);
  akt__buf_put(out, frames->data + 4 + len, frames->len - 4 - len);
  akt__auth__auth_frame__free_unpacked(f, NULL);
}

#endif
