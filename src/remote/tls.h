/* akt — TLS through memory BIOs: an engine per connection that turns
 * ciphertext from the stream into plaintext for the connection, and
 * plaintext from the connection into ciphertext for the stream
 * (docs/security.md).
 *
 * The engine does no I/O of its own: OpenSSL reads from and writes to two
 * memory BIOs, and the engine moves bytes between them and the caller's
 * callbacks. So it runs over any byte stream — the backend's stream
 * interface on libuv or in the simulator, or two engines wired together
 * in a test.
 *
 *   stream on_read --> akt__tls_feed --> [rbio] SSL [wbio] --> io.send --> stream_write
 *                                          |
 *   connection <------ io.recv <-----------+   akt__tls_write <-- connection
 *
 * Configuration (one akt__tls_ctx per node, shared by its connections):
 * CA file, certificate and key (PEM), an optional expected peer name,
 * mutual authentication, TLS 1.2 at least and 1.3 preferred. Session
 * tickets and the session cache are off: every connection does a full
 * handshake, and nothing time-dependent is ever sent.
 *
 * Errors say what is wrong in words a person can act on, and carry a kind
 * (akt__tls_failure) a program can test: a file that cannot be read, a key
 * that does not match its certificate, an expired certificate (ours, at
 * configuration; the peer's, in the handshake), a certificate from another
 * CA, a peer name mismatch, a missing client certificate, a peer that
 * refused ours (its alert, named), and a peer that does not speak TLS at
 * all — detected from its first bytes, before OpenSSL sees them.
 *
 * Determinism. Certificates are checked against `verify_time` when it is
 * set (the backend's wall clock: virtual time in the simulator) instead of
 * the system clock. A context created with `seeded` draws every random
 * byte from its own OpenSSL library context whose generators are a stream
 * seeded by the caller (tls_rand.c) — on a simulated node, a seed from the
 * node's random stream — so a simulated TLS connection is byte-for-byte
 * the same in every run with the same world seed (tests/remote/test_tls.c
 * checks it through the world's digest, which hashes every stream write).
 * Production contexts leave both alone.
 *
 * Limits. The engine buffers at most what one feed brought (OpenSSL reads
 * it all before feed returns) plus a partial record (< 17 KiB, TLS's own
 * limit); plaintext is handed on as it is decrypted, at most
 * AKT__TLS_CHUNK bytes per recv call.
 *
 * Threading: a context may be shared by engines on several threads; one
 * engine is used by one thread at a time (the connection's I/O context).
 */
#ifndef AKT_REMOTE_TLS_H
#define AKT_REMOTE_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "akt/backend.h"

#define AKT__TLS_CHUNK 16384          /* bytes per send/recv call, at most */
#define AKT__TLS_ERROR_MAX 256        /* bytes of an error text */
#define AKT__TLS_EXPORTER_LABEL "EXPORTER-akt-auth-binding"
#define AKT__TLS_1_2 0x0303
#define AKT__TLS_1_3 0x0304

typedef struct akt__tls_ctx akt__tls_ctx;
typedef struct akt__tls akt__tls;

/* What went wrong, for programs (the text is for people). */
typedef enum akt__tls_failure {
  AKT__TLS_OK = 0,
  AKT__TLS_F_FILE,          /* a file cannot be read or does not hold what it should */
  AKT__TLS_F_KEY_MISMATCH,  /* the key is not the certificate's */
  AKT__TLS_F_OWN_TIME,      /* our certificate has expired or is not valid yet */
  AKT__TLS_F_PEER_TIME,     /* the peer's certificate has expired or is not valid yet */
  AKT__TLS_F_UNKNOWN_CA,    /* the peer's certificate is not signed by a CA of ca_file */
  AKT__TLS_F_PEER_NAME,     /* the peer's certificate does not name the expected peer */
  AKT__TLS_F_NO_PEER_CERT,  /* mutual authentication: the peer showed no certificate */
  AKT__TLS_F_PEER_REFUSED,  /* the peer refused the handshake (its alert is named) */
  AKT__TLS_F_VERSION,       /* no protocol version both sides accept */
  AKT__TLS_F_PLAINTEXT,     /* the peer does not speak TLS */
  AKT__TLS_F_PROTOCOL,      /* anything else: malformed or forged records, ... */
  AKT__TLS_F_CLOSED,        /* the peer ended the session (close_notify) */
  AKT__TLS_F_IO             /* the caller's send or recv failed */
} akt__tls_failure;

typedef struct akt__tls_error {
  akt__tls_failure kind;
  char text[AKT__TLS_ERROR_MAX];
} akt__tls_error;

/* A node's TLS configuration. Strings are borrowed for akt__tls_ctx_new
 * only (files are read then). */
typedef struct akt__tls_config {
  const char *ca_file;   /* required: PEM certificates of the CA(s) peers must chain to */
  const char *cert_file; /* this node's certificate (PEM; a chain may follow it) */
  const char *key_file;  /* its private key (PEM, unencrypted) */
  /* When set, the peer's certificate must name it: a DNS name or IP
   * address in its subjectAltName (its common name when it has none).
   * Checked on both sides (an acceptor checks client certificates). */
  const char *peer_name;
  int mutual;            /* acceptor: require a client certificate (verified either way) */
  int min_version;       /* AKT__TLS_1_2 (0) or AKT__TLS_1_3 */
  int max_version;       /* 0: the highest (1.3); tests and interop lower it */
  /* The node's backend (optional; it must outlive the context). When
   * set, each engine checks certificates at the backend's wall clock as
   * it is created (virtual time in the simulator), and a simulated
   * backend's context is seeded from the node's random stream. */
  akt_backend *backend;
  /* Unix seconds certificates are checked at, overriding the backend's
   * clock; 0: the backend's clock, or without one the system clock. */
  int64_t verify_time;
  /* Non-zero: OpenSSL's random bytes for this context come from a stream
   * seeded with `seed` (not secret: simulated nodes and tests only). */
  int seeded;
  uint64_t seed;
} akt__tls_config;

/* Creates a context: reads the files, checks that key and certificate
 * match and that the certificate is valid at verify_time. cert_file and
 * key_file may both be NULL for a context that only initiates without a
 * certificate. On success writes *out (free with akt__tls_ctx_free).
 * Returns 0, AKT_EINVAL (a configuration error: *err says which file and
 * why, kind FILE, KEY_MISMATCH or OWN_TIME), AKT_ENOMEM or AKT_EBACKEND. */
int akt__tls_ctx_new(const akt__tls_config *cfg, akt__tls_ctx **out, akt__tls_error *err);
void akt__tls_ctx_free(akt__tls_ctx *ctx);

/* Where an engine's bytes go. Each callback returns 0, or a negative
 * AKT_E* code that fails the engine (kind IO) and is returned by the call
 * that made it. `data` is valid during the call only. */
typedef struct akt__tls_io {
  int (*send)(void *arg, const uint8_t *data, size_t len); /* ciphertext for the stream */
  int (*recv)(void *arg, const uint8_t *data, size_t len); /* plaintext from the peer */
  void *arg;
} akt__tls_io;

/* Creates an engine for one connection: the initiator (it dialled) or the
 * acceptor. `io` is copied. Returns 0 and *out, AKT_EINVAL (an acceptor on
 * a context without a certificate), AKT_ENOMEM. The initiator's
 * ClientHello goes out at akt__tls_start. */
int akt__tls_new(akt__tls_ctx *ctx, int initiator, const akt__tls_io *io, akt__tls **out);

/* Starts the handshake (initiator: sends ClientHello through io.send;
 * acceptor: nothing to do until bytes arrive). Returns 0 or an error code
 * as akt__tls_feed. */
int akt__tls_start(akt__tls *t);

/* Feeds ciphertext that arrived. Drives the handshake, sends what it
 * produces, and hands decrypted plaintext to io.recv. Returns 0, or the
 * code the engine failed with (now or before; see akt__tls_get_error):
 * AKT_EREFUSED (a certificate or the peer refused), AKT_EPROTO (not TLS,
 * malformed or forged records, no common version), AKT_ECLOSED (the peer
 * closed the session), or what a callback returned. */
int akt__tls_feed(akt__tls *t, const uint8_t *data, size_t len);

/* Encrypts plaintext and sends the records. Returns 0, AKT_ESTATE (the
 * handshake has not completed), or the engine's failure code. */
int akt__tls_write(akt__tls *t, const uint8_t *data, size_t len);

/* 1 once the handshake completed on this side (and the engine has not
 * failed), else 0. In TLS 1.3 an initiator completes before the acceptor
 * has checked its certificate: a refusal then arrives as an alert on a
 * later feed. */
int akt__tls_done(const akt__tls *t);

/* Sends close_notify; the engine accepts no more writes. */
void akt__tls_close(akt__tls *t);

/* Why the engine failed (kind AKT__TLS_OK while it has not). */
const akt__tls_error *akt__tls_get_error(const akt__tls *t);

/* The negotiated protocol version ("TLSv1.3"), or "" before it is known. */
const char *akt__tls_version(const akt__tls *t);

/* The channel binding for the cookie exchange: `len` bytes exported from
 * the session under AKT__TLS_EXPORTER_LABEL (RFC 5705 / RFC 8446 §7.5),
 * the same on both ends of one session and different on any other.
 * Returns 0, AKT_ESTATE (handshake not done), AKT_EBACKEND. */
int akt__tls_exporter(akt__tls *t, uint8_t *out, size_t len);

/* Writes the peer certificate's name (the first DNS subjectAltName, else
 * its common name) into buf. Returns 0 or AKT_ENOENT (no certificate). */
int akt__tls_peer_name(const akt__tls *t, char *buf, size_t size);

void akt__tls_free(akt__tls *t);

/* ---- the seeded random source (tls_rand.c) ------------------------------------------ */

/* An OpenSSL library context whose random bytes are a stream from `seed`. */
typedef struct akt__tls_seeded {
  OSSL_LIB_CTX *lib;
  OSSL_PROVIDER *ours, *deflt;
} akt__tls_seeded;

/* Creates it. Returns 0, AKT_ENOMEM or AKT_EBACKEND. */
int akt__tls_seeded_new(uint64_t seed, akt__tls_seeded *out);
void akt__tls_seeded_free(akt__tls_seeded *s);

#endif
