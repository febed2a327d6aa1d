/* TLS through memory BIOs (src/remote/tls.c): two engines wired together
 * in memory, with certificates the suite makes at start (tls_certs.c), so
 * the test holds every byte in between; then TLS and the cookie exchange
 * over simulated streams, run twice from one seed. Certificates are
 * checked at a fixed time (T0, the simulator's epoch), so no result
 * depends on today's date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "akt/sim.h"
#include "src/remote/auth.h"
#include "src/remote/tls.h"
#include "tls_certs.h"

#define T0 (AKT_SIM_EPOCH_NS / INT64_C(1000000000))
#define HOUR INT64_C(3600)
#define DAY (24 * HOUR)

static tls_certs certs;
/* When certificates are checked; 0 (the system clock) for files made by
 * the openssl commands of docs/security.md (--files). */
static int64_t verify_at = T0 + HOUR;

/* ---- two engines in memory ------------------------------------------------------------ */

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf;

static void buf_put(buf *b, const uint8_t *d, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

typedef struct end {
  akt__tls_ctx *ctx;
  akt__tls *t;
  buf out;   /* ciphertext not yet delivered */
  buf wire;  /* every ciphertext byte it sent */
  buf plain; /* plaintext it received */
  int rc;    /* what its last feed returned */
} end;

static int end_send(void *arg, const uint8_t *d, size_t n) {
  end *e = arg;
  buf_put(&e->out, d, n);
  buf_put(&e->wire, d, n);
  return 0;
}

static int end_recv(void *arg, const uint8_t *d, size_t n) {
  buf_put(&((end *)arg)->plain, d, n);
  return 0;
}

/* Moves what `from` sent to `to`, optionally altering byte `flip`. */
static void deliver_flip(end *from, end *to, long flip) {
  if (from->out.len == 0) return;
  buf copy = {0};
  buf_put(&copy, from->out.p, from->out.len);
  from->out.len = 0;
  if (flip >= 0 && (size_t)flip < copy.len) copy.p[flip] ^= 0x01;
  to->rc = akt__tls_feed(to->t, copy.p, copy.len);
  free(copy.p);
}

static void deliver(end *from, end *to) { deliver_flip(from, to, -1); }

static void shake(end *c, end *s) {
  for (int round = 0; round < 8; round++) {
    deliver(c, s);
    deliver(s, c);
  }
}

static akt__tls_config cfg(const char *cert, const char *key, const char *peer, int mutual) {
  return (akt__tls_config){.ca_file = certs.ca,
                           .cert_file = cert,
                           .key_file = key,
                           .peer_name = peer,
                           .mutual = mutual,
                           .verify_time = verify_at,
                           .seeded = 1,
                           .seed = 1};
}

static akt__tls_config client_cfg(void) {
  return cfg(certs.node1_cert, certs.node1_key, "node0", 1);
}

static akt__tls_config server_cfg(void) {
  return cfg(certs.node0_cert, certs.node0_key, "node1", 1);
}

/* Makes both ends and runs the handshake as far as it goes. */
static void pair(end *c, end *s, akt__tls_config cc, akt__tls_config sc) {
  memset(c, 0, sizeof *c);
  memset(s, 0, sizeof *s);
  akt__tls_error err;
  cc.seed ^= 0xc11e47;
  assert_int_equal(akt__tls_ctx_new(&cc, &c->ctx, &err), 0);
  assert_int_equal(akt__tls_ctx_new(&sc, &s->ctx, &err), 0);
  akt__tls_io cio = {end_send, end_recv, c}, sio = {end_send, end_recv, s};
  assert_int_equal(akt__tls_new(c->ctx, 1, &cio, &c->t), 0);
  assert_int_equal(akt__tls_new(s->ctx, 0, &sio, &s->t), 0);
  assert_int_equal(akt__tls_start(c->t), 0);
  assert_int_equal(akt__tls_start(s->t), 0);
  shake(c, s);
}

static void end_free(end *e) {
  akt__tls_free(e->t);
  akt__tls_ctx_free(e->ctx);
  free(e->out.p);
  free(e->wire.p);
  free(e->plain.p);
}

static akt__tls_failure kind(const end *e) { return akt__tls_get_error(e->t)->kind; }

static const char *text(const end *e) { return akt__tls_get_error(e->t)->text; }

/* ---- success ------------------------------------------------------------------------------ */

static void a_mutual_handshake_succeeds_and_carries_data_both_ways(void **state) {
  (void)state;
  end c, s;
  pair(&c, &s, client_cfg(), server_cfg());
  assert_true(akt__tls_done(c.t));
  assert_true(akt__tls_done(s.t));
  assert_string_equal(akt__tls_version(c.t), "TLSv1.3");
  char name[64];
  assert_int_equal(akt__tls_peer_name(c.t, name, sizeof name), 0);
  assert_string_equal(name, "node0");
  assert_int_equal(akt__tls_peer_name(s.t, name, sizeof name), 0);
  assert_string_equal(name, "node1");
  assert_int_equal(akt__tls_write(c.t, (const uint8_t *)"hello", 5), 0);
  deliver(&c, &s);
  assert_int_equal(s.rc, 0);
  assert_int_equal(s.plain.len, 5);
  assert_memory_equal(s.plain.p, "hello", 5);
  /* More than one record's worth, the other way. */
  static uint8_t big[3 * AKT__TLS_CHUNK + 7];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 31);
  assert_int_equal(akt__tls_write(s.t, big, sizeof big), 0);
  deliver(&s, &c);
  assert_int_equal(c.rc, 0);
  assert_int_equal(c.plain.len, sizeof big);
  assert_memory_equal(c.plain.p, big, sizeof big);
  /* Neither plaintext crossed the wire as is. */
  assert_null(memmem(c.wire.p, c.wire.len, "hello", 5));
  /* The exporter: one value per session, the same at both ends. */
  uint8_t ec[32], es[32];
  assert_int_equal(akt__tls_exporter(c.t, ec, sizeof ec), 0);
  assert_int_equal(akt__tls_exporter(s.t, es, sizeof es), 0);
  assert_memory_equal(ec, es, sizeof ec);
  end c2, s2;
  akt__tls_config other = client_cfg();
  other.seed = 99;
  pair(&c2, &s2, other, server_cfg());
  assert_int_equal(akt__tls_exporter(c2.t, es, sizeof es), 0);
  assert_memory_not_equal(ec, es, sizeof ec);
  end_free(&c2);
  end_free(&s2);
  end_free(&c);
  end_free(&s);
}

static void tls_1_2_is_the_floor_and_1_3_is_preferred(void **state) {
  (void)state;
  end c, s;
  akt__tls_config old = client_cfg();
  old.max_version = AKT__TLS_1_2;
  pair(&c, &s, old, server_cfg());
  assert_true(akt__tls_done(c.t) && akt__tls_done(s.t));
  assert_string_equal(akt__tls_version(s.t), "TLSv1.2");
  end_free(&c);
  end_free(&s);
  /* A node that requires 1.3 refuses a 1.2-only peer, and both say so. */
  akt__tls_config strict = server_cfg();
  strict.min_version = AKT__TLS_1_3;
  pair(&c, &s, old, strict);
  assert_int_equal(kind(&s), AKT__TLS_F_VERSION);
  assert_int_equal(s.rc, AKT_EPROTO);
  assert_non_null(strstr(text(&s), "TLS 1.3 at least"));
  assert_int_equal(kind(&c), AKT__TLS_F_VERSION);
  end_free(&c);
  end_free(&s);
}

static void a_handshake_without_mutual_authentication_needs_no_client_certificate(void **state) {
  (void)state;
  end c, s;
  pair(&c, &s, cfg(NULL, NULL, "node0", 0), cfg(certs.node0_cert, certs.node0_key, NULL, 0));
  assert_true(akt__tls_done(c.t) && akt__tls_done(s.t));
  char name[64];
  assert_int_equal(akt__tls_peer_name(s.t, name, sizeof name), AKT_ENOENT);
  end_free(&c);
  end_free(&s);
}

/* ---- configuration errors ------------------------------------------------------------------ */

static void expect_config_error(akt__tls_config c, akt__tls_failure k, const char *a,
                                const char *b) {
  akt__tls_ctx *ctx = NULL;
  akt__tls_error err;
  assert_int_equal(akt__tls_ctx_new(&c, &ctx, &err), AKT_EINVAL);
  assert_null(ctx);
  assert_int_equal(err.kind, k);
  if (!strstr(err.text, a) || (b && !strstr(err.text, b)))
    fail_msg("error '%s' lacks '%s' / '%s'", err.text, a, b ? b : "");
}

static void configuration_errors_name_the_file_and_the_reason(void **state) {
  (void)state;
  akt__tls_config c = server_cfg();
  c.ca_file = "/nonexistent/ca.pem";
  expect_config_error(c, AKT__TLS_F_FILE, "cannot open the CA file '/nonexistent/ca.pem'",
                      "No such file");
  c = server_cfg();
  c.ca_file = certs.garbage;
  expect_config_error(c, AKT__TLS_F_FILE, "holds no PEM certificate", certs.garbage);
  c = server_cfg();
  c.cert_file = certs.garbage;
  expect_config_error(c, AKT__TLS_F_FILE, "the certificate file", certs.garbage);
  c = server_cfg();
  c.key_file = certs.garbage;
  expect_config_error(c, AKT__TLS_F_FILE, "the key file", "private key");
  c = server_cfg();
  c.key_file = certs.node1_key;
  expect_config_error(c, AKT__TLS_F_KEY_MISMATCH, "is not the key of the certificate",
                      certs.node0_cert);
  c = server_cfg();
  c.cert_file = certs.expired_cert;
  c.key_file = certs.expired_key;
  expect_config_error(c, AKT__TLS_F_OWN_TIME, "expired on", certs.expired_cert);
  c = server_cfg();
  c.cert_file = certs.future_cert;
  c.key_file = certs.future_key;
  expect_config_error(c, AKT__TLS_F_OWN_TIME, "is not valid before", NULL);
  /* An acceptor needs a certificate. */
  akt__tls_config none = cfg(NULL, NULL, NULL, 0);
  akt__tls_ctx *ctx;
  akt__tls_error err;
  assert_int_equal(akt__tls_ctx_new(&none, &ctx, &err), 0);
  akt__tls *t;
  akt__tls_io io = {end_send, end_recv, NULL};
  assert_int_equal(akt__tls_new(ctx, 0, &io, &t), AKT_EINVAL);
  akt__tls_ctx_free(ctx);
}

/* ---- handshake failures -------------------------------------------------------------------- */

static void an_expired_peer_certificate_is_refused_and_both_sides_say_so(void **state) {
  (void)state;
  /* The server's clock is ten days behind, so it still uses its expired
   * certificate; the client's is right. */
  akt__tls_config sc = cfg(certs.expired_cert, certs.expired_key, NULL, 1);
  sc.verify_time = T0 - 10 * DAY;
  end c, s;
  pair(&c, &s, client_cfg(), sc);
  assert_false(akt__tls_done(c.t));
  assert_int_equal(c.rc, AKT_EREFUSED);
  assert_int_equal(kind(&c), AKT__TLS_F_PEER_TIME);
  assert_string_equal(text(&c), "the peer's certificate has expired");
  assert_int_equal(s.rc, AKT_EREFUSED);
  assert_int_equal(kind(&s), AKT__TLS_F_PEER_REFUSED);
  assert_non_null(strstr(text(&s), "refused this node's certificate: it has expired"));
  end_free(&c);
  end_free(&s);
}

static void a_certificate_from_another_ca_is_refused(void **state) {
  (void)state;
  /* A server whose certificate another CA signed. */
  end c, s;
  pair(&c, &s, cfg(certs.node1_cert, certs.node1_key, NULL, 1),
       cfg(certs.rogue_cert, certs.rogue_key, NULL, 1));
  assert_int_equal(c.rc, AKT_EREFUSED);
  assert_int_equal(kind(&c), AKT__TLS_F_UNKNOWN_CA);
  assert_non_null(strstr(text(&c), "not signed by a CA of this node's CA file"));
  assert_int_equal(kind(&s), AKT__TLS_F_PEER_REFUSED);
  assert_non_null(strstr(text(&s), "does not trust the CA"));
  end_free(&c);
  end_free(&s);
  /* A client whose certificate another CA signed, to a mutual server. In
   * TLS 1.3 the client finishes first and learns of the refusal from the
   * server's alert. */
  pair(&c, &s, cfg(certs.rogue_cert, certs.rogue_key, NULL, 1), server_cfg());
  assert_false(akt__tls_done(s.t));
  assert_int_equal(kind(&s), AKT__TLS_F_UNKNOWN_CA);
  assert_int_equal(c.rc, AKT_EREFUSED);
  assert_int_equal(kind(&c), AKT__TLS_F_PEER_REFUSED);
  end_free(&c);
  end_free(&s);
}

static void a_peer_that_is_not_the_expected_one_is_refused(void **state) {
  (void)state;
  end c, s;
  akt__tls_config cc = client_cfg();
  cc.peer_name = "node2";
  pair(&c, &s, cc, server_cfg());
  assert_int_equal(c.rc, AKT_EREFUSED);
  assert_int_equal(kind(&c), AKT__TLS_F_PEER_NAME);
  assert_string_equal(text(&c), "the peer's certificate does not name 'node2'");
  assert_int_equal(kind(&s), AKT__TLS_F_PEER_REFUSED);
  end_free(&c);
  end_free(&s);
  /* The acceptor checks the client's name too. */
  akt__tls_config sc = server_cfg();
  sc.peer_name = "node7";
  pair(&c, &s, client_cfg(), sc);
  assert_int_equal(kind(&s), AKT__TLS_F_PEER_NAME);
  assert_int_equal(kind(&c), AKT__TLS_F_PEER_REFUSED);
  end_free(&c);
  end_free(&s);
}

static void mutual_authentication_refuses_a_client_without_certificate(void **state) {
  (void)state;
  end c, s;
  pair(&c, &s, cfg(NULL, NULL, "node0", 1), server_cfg());
  assert_int_equal(s.rc, AKT_EREFUSED);
  assert_int_equal(kind(&s), AKT__TLS_F_NO_PEER_CERT);
  assert_non_null(strstr(text(&s), "mutual authentication is on"));
  assert_int_equal(kind(&c), AKT__TLS_F_PEER_REFUSED);
  assert_non_null(strstr(text(&c), "requires a certificate"));
  end_free(&c);
  end_free(&s);
}

/* ---- peers that do not speak TLS ----------------------------------------------------------- */

static void a_plaintext_peer_is_named_as_such(void **state) {
  (void)state;
  /* A TLS acceptor fed an akt auth frame (a length prefix, then Hello). */
  end c, s;
  memset(&s, 0, sizeof s);
  akt__tls_config sc = server_cfg();
  akt__tls_error err;
  assert_int_equal(akt__tls_ctx_new(&sc, &s.ctx, &err), 0);
  akt__tls_io io = {end_send, end_recv, &s};
  assert_int_equal(akt__tls_new(s.ctx, 0, &io, &s.t), 0);
  const uint8_t akt_frame[] = {0x00, 0x00, 0x00, 0x52, 0x0a, 0x50};
  assert_int_equal(akt__tls_feed(s.t, akt_frame, sizeof akt_frame), AKT_EPROTO);
  assert_int_equal(kind(&s), AKT__TLS_F_PLAINTEXT);
  assert_non_null(strstr(text(&s), "does not speak TLS (first bytes 00 00 00 52)"));
  assert_non_null(strstr(text(&s), "TLS is off at the peer"));
  assert_int_equal(s.out.len, 0); /* nothing was sent to it */
  akt__tls_free(s.t);
  /* An HTTP client. */
  assert_int_equal(akt__tls_new(s.ctx, 0, &io, &s.t), 0);
  assert_int_equal(akt__tls_feed(s.t, (const uint8_t *)"GET / HTTP/1.1\r\n", 16), AKT_EPROTO);
  assert_non_null(strstr(text(&s), "first bytes 47 45 54 20"));
  /* Even one byte at a time: the second byte gives it away. */
  akt__tls_free(s.t);
  assert_int_equal(akt__tls_new(s.ctx, 0, &io, &s.t), 0);
  const uint8_t one[] = {0x16}, two[] = {0x00};
  assert_int_equal(akt__tls_feed(s.t, one, 1), 0);
  assert_int_equal(akt__tls_feed(s.t, two, 1), AKT_EPROTO);
  assert_int_equal(kind(&s), AKT__TLS_F_PLAINTEXT);
  end_free(&s);

  /* A TLS initiator answered in plaintext (an akt node with TLS off
   * refusing with an auth Result). */
  akt__tls_config cc = client_cfg();
  memset(&c, 0, sizeof c);
  assert_int_equal(akt__tls_ctx_new(&cc, &c.ctx, &err), 0);
  io.arg = &c;
  assert_int_equal(akt__tls_new(c.ctx, 1, &io, &c.t), 0);
  assert_int_equal(akt__tls_start(c.t), 0);
  assert_true(c.out.len > 0); /* the ClientHello */
  const uint8_t refusal[] = {0x00, 0x00, 0x00, 0x04, 0x22, 0x02, 0x08, 0x00};
  assert_int_equal(akt__tls_feed(c.t, refusal, sizeof refusal), AKT_EPROTO);
  assert_int_equal(kind(&c), AKT__TLS_F_PLAINTEXT);
  assert_non_null(strstr(text(&c), "answered without TLS"));
  end_free(&c);
}

static void altered_records_and_a_closed_session_end_the_engine(void **state) {
  (void)state;
  end c, s;
  pair(&c, &s, client_cfg(), server_cfg());
  assert_int_equal(akt__tls_write(c.t, (const uint8_t *)"payload", 7), 0);
  deliver_flip(&c, &s, (long)c.out.len - 3); /* inside the record's tag */
  assert_int_equal(s.rc, AKT_EPROTO);
  assert_int_equal(kind(&s), AKT__TLS_F_PROTOCOL);
  assert_int_equal(s.plain.len, 0);
  assert_int_equal(akt__tls_write(s.t, (const uint8_t *)"x", 1), AKT_EPROTO); /* final */
  end_free(&c);
  end_free(&s);

  pair(&c, &s, client_cfg(), server_cfg());
  akt__tls_close(c.t);
  assert_int_equal(akt__tls_write(c.t, (const uint8_t *)"late", 4), AKT_ECLOSED);
  deliver(&c, &s);
  assert_int_equal(s.rc, AKT_ECLOSED);
  assert_int_equal(kind(&s), AKT__TLS_F_CLOSED);
  end_free(&c);
  end_free(&s);

  /* Nothing is written before the handshake completes. */
  akt__tls_error err;
  akt__tls_config cc = client_cfg();
  memset(&c, 0, sizeof c);
  assert_int_equal(akt__tls_ctx_new(&cc, &c.ctx, &err), 0);
  akt__tls_io io = {end_send, end_recv, &c};
  assert_int_equal(akt__tls_new(c.ctx, 1, &io, &c.t), 0);
  assert_int_equal(akt__tls_write(c.t, (const uint8_t *)"early", 5), AKT_ESTATE);
  end_free(&c);
}

/* ---- determinism ------------------------------------------------------------------------------ */

/* Runs a handshake and one message each way; returns both wires. */
static void session(int seeded, uint64_t seed, buf *cw, buf *sw) {
  akt__tls_config cc = client_cfg(), sc = server_cfg();
  cc.seeded = sc.seeded = seeded;
  cc.seed = sc.seed = seed;
  end c, s;
  pair(&c, &s, cc, sc);
  assert_true(akt__tls_done(c.t) && akt__tls_done(s.t));
  assert_int_equal(akt__tls_write(c.t, (const uint8_t *)"ping", 4), 0);
  deliver(&c, &s);
  assert_int_equal(akt__tls_write(s.t, (const uint8_t *)"pong", 4), 0);
  deliver(&s, &c);
  *cw = c.wire;
  *sw = s.wire;
  c.wire = s.wire = (buf){0};
  end_free(&c);
  end_free(&s);
}

static int same(const buf *a, const buf *b) {
  return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static void seeded_engines_repeat_every_byte_and_unseeded_ones_do_not(void **state) {
  (void)state;
  buf c1, s1, c2, s2, c3, s3, c4, s4, c5, s5;
  session(1, 7, &c1, &s1);
  session(1, 7, &c2, &s2);
  session(1, 8, &c3, &s3);
  session(0, 0, &c4, &s4);
  session(0, 0, &c5, &s5);
  assert_true(c1.len > 500 && s1.len > 500);
  assert_true(same(&c1, &c2));
  assert_true(same(&s1, &s2));
  assert_false(same(&c1, &c3));
  assert_false(same(&s1, &s3));
  /* The control: OpenSSL's own generator gives other bytes each run. */
  assert_false(same(&c4, &c5));
  buf *all[] = {&c1, &s1, &c2, &s2, &c3, &s3, &c4, &s4, &c5, &s5};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->p);
}

/* ---- TLS and the cookie exchange over simulated streams -------------------------------------- */

#define COOKIE "correct-horse-battery-staple-0042"

typedef struct node {
  akt_sim_world *w;
  akt_backend *b;
  akt_stream *s;
  akt__tls_ctx *ctx;
  akt__tls *t;
  akt__auth auth;
  int initiator, auth_started, finished;
} node;

static int node_send(void *arg, const uint8_t *d, size_t n) {
  node *e = arg;
  return e->s ? e->b->ops->stream_write(e->b, e->s, d, n) : AKT_ECLOSED;
}

static void auth_flush(node *e) {
  size_t len;
  const uint8_t *out = akt__auth_take_output(&e->auth, &len);
  if (out) assert_int_equal(akt__tls_write(e->t, out, len), 0);
}

/* The cookie exchange runs inside TLS, bound to it by the exporter. */
static void auth_start(node *e) {
  e->auth_started = 1;
  uint8_t binding[32], random[32];
  assert_int_equal(akt__tls_exporter(e->t, binding, sizeof binding), 0);
  for (int k = 0; k < 4; k++) {
    uint64_t x = e->b->ops->random_u64(e->b);
    memcpy(random + 8 * k, &x, 8);
  }
  akt__auth_config cfg = {
      .role = e->initiator ? AKT__AUTH_INITIATOR : AKT__AUTH_ACCEPTOR,
      .cookie = (const uint8_t *)COOKIE,
      .cookie_len = strlen(COOKIE),
      .channel = "remoting",
      .version = 2,
      .system = e->initiator ? "node1" : "node0",
      .address = e->initiator ? "akt://node1@node1:2552" : "akt://node0@node0:2552",
      .incarnation = 1,
      .expect_system = "node0",
      .expect_address = "akt://node0@node0:2552",
      .conn_seq = 1,
      .binding = binding,
      .binding_len = sizeof binding,
      .random = random,
      .random_len = sizeof random,
  };
  assert_int_equal(akt__auth_init(&e->auth, &cfg), 0);
  auth_flush(e);
}

static int node_recv(void *arg, const uint8_t *d, size_t n) {
  node *e = arg;
  if (!e->auth_started) auth_start(e);
  akt__auth_feed(&e->auth, d, n, NULL);
  auth_flush(e);
  akt__auth_state st = akt__auth_get_state(&e->auth);
  if (!e->finished && (st == AKT__AUTH_DONE || st == AKT__AUTH_FAILED)) {
    e->finished = 1;
    char hex[2 * AKT__AUTH_SESSION_ID + 1] = "";
    if (st == AKT__AUTH_DONE)
      for (int k = 0; k < AKT__AUTH_SESSION_ID; k++)
        snprintf(hex + 2 * k, 3, "%02x", akt__auth_get_session(&e->auth)->id[k]);
    akt_sim_note(e->w, e->b, st == AKT__AUTH_DONE ? "auth-done" : "auth-failed", hex, 0);
  }
  return 0;
}

static void node_on_read(akt_stream *s, const uint8_t *d, size_t n, void *data) {
  (void)s;
  node *e = data;
  akt__tls_feed(e->t, d, n);
  if (e->initiator && akt__tls_done(e->t) && !e->auth_started) auth_start(e);
}

static void node_on_connect(akt_stream *s, int status, void *data) {
  (void)s;
  node *e = data;
  assert_int_equal(status, 0);
  assert_int_equal(akt__tls_start(e->t), 0);
}

static void node_on_close(akt_stream *s, int reason, void *data) {
  (void)s;
  (void)reason;
  ((node *)data)->s = NULL;
}

static const akt_stream_cbs node_cbs = {node_on_connect, node_on_read, node_on_close};

static void node_on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  node *e = data;
  e->s = s;
  akt__tls_io io = {node_send, node_recv, e};
  assert_int_equal(akt__tls_new(e->ctx, 0, &io, &e->t), 0);
  assert_int_equal(e->b->ops->stream_start(e->b, s, &node_cbs, e), 0);
}

typedef struct sim_result {
  uint64_t digest;
  int client_done, server_done;
  uint8_t session_id[AKT__AUTH_SESSION_ID];
  char version[16];
} sim_result;

static sim_result sim_run(uint64_t seed) {
  akt_sim_world *w;
  akt_sim_options o = {.seed = seed};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  node *srv = calloc(1, sizeof *srv), *cli = calloc(1, sizeof *cli);
  assert_true(srv && cli);
  assert_int_equal(akt_sim_node_new(w, "node0", &srv->b), 0);
  assert_int_equal(akt_sim_node_new(w, "node1", &cli->b), 0);
  srv->w = cli->w = w;
  cli->initiator = 1;
  akt_sim_link_faults jitter = {.kind = AKT_SIM_LATENCY_UNIFORM, .latency = AKT_MICROS(100),
                                .latency_max = AKT_MILLIS(5)};
  assert_int_equal(akt_sim_link_set_all(w, &jitter), 0);
  /* The backend gives each context its clock (virtual wall time) and,
   * being simulated, its seed (from the node's random stream). */
  akt__tls_config sc = server_cfg(), cc = client_cfg();
  sc.verify_time = cc.verify_time = 0;
  sc.seeded = cc.seeded = 0;
  sc.backend = srv->b;
  cc.backend = cli->b;
  akt__tls_error err;
  assert_int_equal(akt__tls_ctx_new(&sc, &srv->ctx, &err), 0);
  assert_int_equal(akt__tls_ctx_new(&cc, &cli->ctx, &err), 0);
  akt__tls_io io = {node_send, node_recv, cli};
  akt_addr at = {.host = "node0", .port = 2552};
  akt_listener *l;
  assert_int_equal(srv->b->ops->listen(srv->b, &at, node_on_accept, srv, &l), 0);
  assert_int_equal(cli->b->ops->connect(cli->b, &at, &node_cbs, cli, &cli->s), 0);
  assert_int_equal(akt__tls_new(cli->ctx, 1, &io, &cli->t), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  sim_result r = {.digest = akt_sim_digest(w),
                  .client_done = akt__auth_get_state(&cli->auth) == AKT__AUTH_DONE,
                  .server_done = akt__auth_get_state(&srv->auth) == AKT__AUTH_DONE};
  if (r.client_done) memcpy(r.session_id, akt__auth_get_session(&cli->auth)->id, sizeof r.session_id);
  snprintf(r.version, sizeof r.version, "%s", akt__tls_version(cli->t));
  srv->b->ops->listener_close(srv->b, l);
  if (cli->s) cli->b->ops->stream_close(cli->b, cli->s);
  if (srv->s) srv->b->ops->stream_close(srv->b, srv->s);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  akt__tls_free(cli->t);
  akt__tls_free(srv->t);
  akt__tls_ctx_free(cli->ctx);
  akt__tls_ctx_free(srv->ctx);
  akt__auth_clear(&cli->auth);
  akt__auth_clear(&srv->auth);
  free(cli);
  free(srv);
  akt_sim_world_free(w);
  return r;
}

static void tls_and_the_cookie_exchange_over_simulated_streams_replay_from_the_seed(void **state) {
  (void)state;
  sim_result one = sim_run(42), two = sim_run(42), other = sim_run(43);
  assert_true(one.client_done && one.server_done);
  assert_string_equal(one.version, "TLSv1.3");
  /* The digest hashes every byte written on every stream. */
  assert_int_equal(one.digest, two.digest);
  assert_memory_equal(one.session_id, two.session_id, AKT__AUTH_SESSION_ID);
  assert_true(other.client_done && other.server_done);
  assert_true(one.digest != other.digest);
  assert_memory_not_equal(one.session_id, other.session_id, AKT__AUTH_SESSION_ID);
}

static int setup(void **state) {
  (void)state;
  return tls_certs_make(&certs, T0);
}

static int teardown(void **state) {
  (void)state;
  tls_certs_remove(&certs);
  return 0;
}

/* --files DIR: the files docs/security.md's commands made (see
 * docs_security_check.sh). */
static void the_documented_certificates_complete_a_mutual_handshake(void **state) {
  (void)state;
  end c, s;
  pair(&c, &s, client_cfg(), server_cfg());
  assert_true(akt__tls_done(c.t) && akt__tls_done(s.t));
  assert_int_equal(akt__tls_write(c.t, (const uint8_t *)"hello", 5), 0);
  deliver(&c, &s);
  assert_int_equal(s.plain.len, 5);
  end_free(&c);
  end_free(&s);
}

static int files_main(const char *dir) {
  snprintf(certs.ca, sizeof certs.ca, "%s/ca.pem", dir);
  snprintf(certs.node0_cert, sizeof certs.node0_cert, "%s/node0.pem", dir);
  snprintf(certs.node0_key, sizeof certs.node0_key, "%s/node0.key", dir);
  snprintf(certs.node1_cert, sizeof certs.node1_cert, "%s/node1.pem", dir);
  snprintf(certs.node1_key, sizeof certs.node1_key, "%s/node1.key", dir);
  verify_at = 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_documented_certificates_complete_a_mutual_handshake),
  };
  return cmocka_run_group_tests_name("docs-security", tests, NULL, NULL);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--files") == 0) return files_main(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_mutual_handshake_succeeds_and_carries_data_both_ways),
      cmocka_unit_test(tls_1_2_is_the_floor_and_1_3_is_preferred),
      cmocka_unit_test(a_handshake_without_mutual_authentication_needs_no_client_certificate),
      cmocka_unit_test(configuration_errors_name_the_file_and_the_reason),
      cmocka_unit_test(an_expired_peer_certificate_is_refused_and_both_sides_say_so),
      cmocka_unit_test(a_certificate_from_another_ca_is_refused),
      cmocka_unit_test(a_peer_that_is_not_the_expected_one_is_refused),
      cmocka_unit_test(mutual_authentication_refuses_a_client_without_certificate),
      cmocka_unit_test(a_plaintext_peer_is_named_as_such),
      cmocka_unit_test(altered_records_and_a_closed_session_end_the_engine),
      cmocka_unit_test(seeded_engines_repeat_every_byte_and_unseeded_ones_do_not),
      cmocka_unit_test(tls_and_the_cookie_exchange_over_simulated_streams_replay_from_the_seed),
  };
  return cmocka_run_group_tests_name("remote-tls", tests, setup, teardown);
}
