/* akt — TLS through memory BIOs (see tls.h for the picture, the errors and
 * how simulated runs stay deterministic).
 *
 * The engine's life: created (initiator or acceptor) → handshaking (each
 * feed runs SSL_do_handshake and sends what it wrote) → done (each feed
 * reads records and hands their plaintext on) → failed or closed. A
 * failure is final: it keeps its code and text, and every later call
 * returns the code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "akt/error.h"
#include "akt/security.h"
#include "src/remote/tls.h"
#include "src/util/assert.h"

#define PEER_NAME_MAX 256 /* bytes of an expected peer name */
#define SECURITY_LEVEL 2  /* OpenSSL's: 112-bit keys at least, no SHA-1 signatures */

struct akt__tls_ctx {
  SSL_CTX *ssl;
  akt__tls_seeded seeded; /* lib NULL: OpenSSL's default context */
  akt_backend *backend;
  int64_t verify_time; /* fixed by the configuration; 0: see check_time */
  char peer_name[PEER_NAME_MAX];
  int has_cert;
  int mutual;
};

struct akt__tls {
  akt__tls_ctx *ctx;
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  akt__tls_io io;
  int initiator;
  int done, closed, failed;
  int code;
  unsigned sniffed; /* first bytes from the peer checked for a TLS record header */
  akt__tls_error err;
};

static void set_error(akt__tls_error *e, akt__tls_failure kind, const char *fmt, va_list ap) {
  e->kind = kind;
  vsnprintf(e->text, sizeof e->text, fmt, ap);
}

__attribute__((format(printf, 3, 4))) static void config_error(akt__tls_error *e,
                                                               akt__tls_failure kind,
                                                               const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(e, kind, fmt, ap);
  va_end(ap);
}

/* Fails the engine for good. */
__attribute__((format(printf, 4, 5))) static int fail(akt__tls *t, akt__tls_failure kind,
                                                      int code, const char *fmt, ...) {
  AKT_ASSERT(code < 0 && kind != AKT__TLS_OK);
  if (t->failed) return t->code;
  va_list ap;
  va_start(ap, fmt);
  set_error(&t->err, kind, fmt, ap);
  va_end(ap);
  t->failed = 1;
  t->code = code;
  ERR_clear_error();
  return code;
}

/* OpenSSL's reason for the last error on this thread, as text. */
static const char *ossl_reason(void) {
  const char *r = ERR_reason_error_string(ERR_peek_last_error());
  return r ? r : "no reason given";
}

static void asn1_time_text(const ASN1_TIME *tm, char *buf, size_t size) {
  buf[0] = '\0';
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return;
  if (ASN1_TIME_print(b, tm)) {
    int n = BIO_read(b, buf, (int)size - 1);
    buf[n > 0 ? n : 0] = '\0';
  }
  BIO_free(b);
}

/* ---- the context ------------------------------------------------------------------ */

/* When certificates are checked: the configured time, else the backend's
 * wall clock now, else 0 (OpenSSL reads the system clock). */
static int64_t check_time(const akt__tls_ctx *c) {
  if (c->verify_time) return c->verify_time;
  if (c->backend) return c->backend->ops->wall(c->backend) / INT64_C(1000000000);
  return 0;
}

/* Says clearly when a file is missing or unreadable, before OpenSSL says
 * it less clearly. */
static int file_readable(const char *what, const char *path, akt__tls_error *err) {
  if (!path || !path[0]) {
    config_error(err, AKT__TLS_F_FILE, "no %s file given", what);
    return 0;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    char buf[128];
    const char *why = strerror_r(errno, buf, sizeof buf);
    config_error(err, AKT__TLS_F_FILE, "cannot open the %s file '%s': %s", what, path, why);
    return 0;
  }
  fclose(f);
  return 1;
}

/* Our own certificate must be valid when it is used. */
static int own_cert_current(akt__tls_ctx *c, const char *path, akt__tls_error *err) {
  X509 *x = SSL_CTX_get0_certificate(c->ssl);
  AKT_ASSERT(x != NULL);
  int64_t now = check_time(c);
  time_t at = (time_t)now;
  const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
  /* X509_cmp_time: -1 when the certificate's time is before `at`, 1 after. */
  int after_nb = now ? X509_cmp_time(nb, &at) : X509_cmp_current_time(nb);
  int after_na = now ? X509_cmp_time(na, &at) : X509_cmp_current_time(na);
  char when[64];
  if (after_na <= 0) {
    asn1_time_text(na, when, sizeof when);
    config_error(err, AKT__TLS_F_OWN_TIME, "the certificate in '%s' expired on %s", path, when);
    return 0;
  }
  if (after_nb >= 0) {
    asn1_time_text(nb, when, sizeof when);
    config_error(err, AKT__TLS_F_OWN_TIME, "the certificate in '%s' is not valid before %s", path,
                 when);
    return 0;
  }
  return 1;
}

static int load_files(akt__tls_ctx *c, const akt__tls_config *cfg, akt__tls_error *err) {
  if (!file_readable("CA", cfg->ca_file, err)) return 0;
  if (!SSL_CTX_load_verify_file(c->ssl, cfg->ca_file)) {
    config_error(err, AKT__TLS_F_FILE, "the CA file '%s' holds no PEM certificate (%s)",
                 cfg->ca_file, ossl_reason());
    return 0;
  }
  if (!cfg->cert_file && !cfg->key_file) return 1;
  if (!file_readable("certificate", cfg->cert_file, err) ||
      !file_readable("key", cfg->key_file, err))
    return 0;
  if (!SSL_CTX_use_certificate_chain_file(c->ssl, cfg->cert_file)) {
    config_error(err, AKT__TLS_F_FILE, "the certificate file '%s' holds no PEM certificate (%s)",
                 cfg->cert_file, ossl_reason());
    return 0;
  }
  ERR_clear_error();
  if (!SSL_CTX_use_PrivateKey_file(c->ssl, cfg->key_file, SSL_FILETYPE_PEM)) {
    int reason = ERR_GET_REASON(ERR_peek_last_error());
    if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH)
      config_error(err, AKT__TLS_F_KEY_MISMATCH,
                   "the key in '%s' is not the key of the certificate in '%s'", cfg->key_file,
                   cfg->cert_file);
    else
      config_error(err, AKT__TLS_F_FILE,
                   "the key file '%s' holds no unencrypted PEM private key (%s)", cfg->key_file,
                   ossl_reason());
    return 0;
  }
  if (!SSL_CTX_check_private_key(c->ssl)) {
    config_error(err, AKT__TLS_F_KEY_MISMATCH,
                 "the key in '%s' is not the key of the certificate in '%s'", cfg->key_file,
                 cfg->cert_file);
    return 0;
  }
  c->has_cert = 1;
  return own_cert_current(c, cfg->cert_file, err);
}

int akt__tls_ctx_new(const akt__tls_config *cfg, akt__tls_ctx **out, akt__tls_error *err) {
  AKT_ASSERT(cfg && out && err);
  memset(err, 0, sizeof *err);
  if ((cfg->min_version && cfg->min_version != AKT__TLS_1_2 && cfg->min_version != AKT__TLS_1_3) ||
      (cfg->max_version && cfg->max_version != AKT__TLS_1_2 && cfg->max_version != AKT__TLS_1_3) ||
      (cfg->peer_name && strlen(cfg->peer_name) >= PEER_NAME_MAX)) {
    config_error(err, AKT__TLS_F_FILE, "invalid TLS version or peer name");
    return AKT_EINVAL;
  }
  akt__tls_ctx *c = calloc(1, sizeof *c);
  if (!c) return AKT_ENOMEM;
  c->backend = cfg->backend;
  c->mutual = cfg->mutual;
  c->verify_time = cfg->verify_time;
  if (cfg->peer_name) snprintf(c->peer_name, sizeof c->peer_name, "%s", cfg->peer_name);
  int rc = 0;
  if (cfg->seeded)
    rc = akt__tls_seeded_new(cfg->seed, &c->seeded);
  else if (c->backend && (c->backend->flags & AKT_BACKEND_SIMULATED))
    rc = akt__tls_seeded_new(c->backend->ops->random_u64(c->backend), &c->seeded);
  if (rc) {
    free(c);
    return rc;
  }
  c->ssl = SSL_CTX_new_ex(c->seeded.lib, NULL, TLS_method());
  if (!c->ssl) {
    akt__tls_ctx_free(c);
    return AKT_EBACKEND;
  }
  /* Full handshakes only: no tickets, no cache (tickets carry the time
   * of issue, and a cache is state shared across connections). */
  SSL_CTX_set_options(c->ssl, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(c->ssl, 0);
  SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
  /* A stranger's handshake messages are buffered whole: at most this. */
  SSL_CTX_set_max_cert_list(c->ssl, AKT_SECURITY_TLS_HANDSHAKE_MAX);
  /* Explicit, since a library context of our own does not read
   * openssl.cnf: the same policy seeded or not. */
  SSL_CTX_set_security_level(c->ssl, SECURITY_LEVEL);
  int ok = SSL_CTX_set_min_proto_version(c->ssl, cfg->min_version ? cfg->min_version
                                                                  : AKT__TLS_1_2) &&
           SSL_CTX_set_max_proto_version(c->ssl, cfg->max_version ? cfg->max_version
                                                                  : AKT__TLS_1_3);
  if (!ok) {
    akt__tls_ctx_free(c);
    return AKT_EBACKEND;
  }
  if (!load_files(c, cfg, err)) {
    ERR_clear_error();
    akt__tls_ctx_free(c);
    return AKT_EINVAL;
  }
  *out = c;
  return 0;
}

void akt__tls_ctx_free(akt__tls_ctx *c) {
  if (!c) return;
  SSL_CTX_free(c->ssl);
  if (c->seeded.lib) akt__tls_seeded_free(&c->seeded);
  free(c);
}

/* ---- an engine --------------------------------------------------------------------- */

static int is_ip(const char *s) {
  ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);
  if (!ip) {
    ERR_clear_error();
    return 0;
  }
  ASN1_OCTET_STRING_free(ip);
  return 1;
}

int akt__tls_new(akt__tls_ctx *ctx, int initiator, const akt__tls_io *io, akt__tls **out) {
  AKT_ASSERT(ctx && io && io->send && io->recv && out);
  if (!initiator && !ctx->has_cert) return AKT_EINVAL;
  akt__tls *t = calloc(1, sizeof *t);
  if (!t) return AKT_ENOMEM;
  t->ctx = ctx;
  t->io = *io;
  t->initiator = initiator;
  t->ssl = SSL_new(ctx->ssl);
  t->rbio = BIO_new(BIO_s_mem());
  t->wbio = BIO_new(BIO_s_mem());
  if (!t->ssl || !t->rbio || !t->wbio) {
    BIO_free(t->rbio);
    BIO_free(t->wbio);
    SSL_free(t->ssl);
    free(t);
    ERR_clear_error();
    return AKT_ENOMEM;
  }
  /* An empty read BIO means "wait for more", not end of stream. */
  BIO_set_mem_eof_return(t->rbio, -1);
  SSL_set_bio(t->ssl, t->rbio, t->wbio);
  int verify = SSL_VERIFY_PEER;
  if (!initiator) verify = ctx->mutual ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                       : SSL_VERIFY_NONE;
  SSL_set_verify(t->ssl, verify, NULL);
  X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
  int64_t at = check_time(ctx);
  if (at) X509_VERIFY_PARAM_set_time(vp, (time_t)at);
  int ok = 1;
  if (ctx->peer_name[0]) {
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip(ctx->peer_name)) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(vp, ctx->peer_name);
    } else {
      ok = SSL_set1_host(t->ssl, ctx->peer_name);
      if (ok && initiator) ok = SSL_set_tlsext_host_name(t->ssl, ctx->peer_name);
    }
  }
  if (!ok) {
    akt__tls_free(t);
    ERR_clear_error();
    return AKT_ENOMEM;
  }
  if (initiator)
    SSL_set_connect_state(t->ssl);
  else
    SSL_set_accept_state(t->ssl);
  *out = t;
  return 0;
}

void akt__tls_free(akt__tls *t) {
  if (!t) return;
  SSL_free(t->ssl); /* and its BIOs */
  free(t);
}

/* Sends everything OpenSSL wrote. */
static int flush(akt__tls *t) {
  uint8_t buf[AKT__TLS_CHUNK];
  while (BIO_ctrl_pending(t->wbio) > 0) {
    int n = BIO_read(t->wbio, buf, sizeof buf);
    AKT_ASSERT(n > 0);
    int rc = t->io.send(t->io.arg, buf, (size_t)n);
    if (rc) return fail(t, AKT__TLS_F_IO, rc, "sending TLS records failed: %s", akt_strerror(rc));
  }
  return 0;
}

/* The peer's certificate failed our checks. */
static int verify_failed(akt__tls *t, long vr) {
  switch (vr) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return fail(t, AKT__TLS_F_PEER_TIME, AKT_EREFUSED, "the peer's certificate has expired");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return fail(t, AKT__TLS_F_PEER_TIME, AKT_EREFUSED, "the peer's certificate is not valid yet");
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return fail(t, AKT__TLS_F_PEER_NAME, AKT_EREFUSED,
                  "the peer's certificate does not name '%s'", t->ctx->peer_name);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return fail(t, AKT__TLS_F_UNKNOWN_CA, AKT_EREFUSED,
                  "the peer's certificate is not signed by a CA of this node's CA file (%s)",
                  X509_verify_cert_error_string(vr));
    default:
      return fail(t, AKT__TLS_F_PROTOCOL, AKT_EREFUSED, "the peer's certificate is refused: %s",
                  X509_verify_cert_error_string(vr));
  }
}

/* The peer sent an alert: say what it refused. */
static int alert_received(akt__tls *t, int alert) {
  switch (alert) {
    case SSL_AD_CERTIFICATE_EXPIRED:
      return fail(t, AKT__TLS_F_PEER_REFUSED, AKT_EREFUSED,
                  "the peer refused this node's certificate: it has expired");
    case SSL_AD_UNKNOWN_CA:
      return fail(t, AKT__TLS_F_PEER_REFUSED, AKT_EREFUSED,
                  "the peer refused this node's certificate: it does not trust the CA that "
                  "signed it");
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
      return fail(t, AKT__TLS_F_PEER_REFUSED, AKT_EREFUSED,
                  "the peer refused this node's certificate (%s; does it name what the peer "
                  "expects?)",
                  SSL_alert_desc_string_long(alert));
    case SSL_AD_CERTIFICATE_REQUIRED:
      return fail(t, AKT__TLS_F_PEER_REFUSED, AKT_EREFUSED,
                  "the peer requires a certificate (mutual authentication) and this node showed "
                  "none");
    case SSL_AD_PROTOCOL_VERSION:
      return fail(t, AKT__TLS_F_VERSION, AKT_EPROTO,
                  "the peer accepts no TLS version this node offers");
    default:
      return fail(t, AKT__TLS_F_PEER_REFUSED, AKT_EREFUSED, "the peer ended the handshake: %s",
                  SSL_alert_desc_string_long(alert));
  }
}

/* Classifies a failed SSL call after its records (alerts among them) went
 * out. */
static int ssl_failed(akt__tls *t, int ssl_err) {
  long vr = SSL_get_verify_result(t->ssl);
  if (vr != X509_V_OK) return verify_failed(t, vr);
  unsigned long e = ERR_peek_last_error();
  int reason = ERR_GET_REASON(e);
  if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
      return fail(t, AKT__TLS_F_NO_PEER_CERT, AKT_EREFUSED,
                  "the peer showed no certificate, and mutual authentication is on");
    if (reason >= SSL_AD_REASON_OFFSET) return alert_received(t, reason - SSL_AD_REASON_OFFSET);
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_PROTOCOLS_AVAILABLE)
      return fail(t, AKT__TLS_F_VERSION, AKT_EPROTO,
                  "the peer offers no TLS version this node accepts (TLS %s at least)",
                  SSL_CTX_get_min_proto_version(t->ctx->ssl) == AKT__TLS_1_3 ? "1.3" : "1.2");
  }
  char text[160];
  if (e)
    ERR_error_string_n(e, text, sizeof text);
  else
    snprintf(text, sizeof text, "SSL error %d", ssl_err);
  return fail(t, AKT__TLS_F_PROTOCOL, AKT_EPROTO, "TLS failed: %s", text);
}

/* The first two bytes from the peer must open a TLS record: a handshake
 * (0x16), or from an acceptor an alert (0x15), of version 3.x. Anything
 * else is a peer that does not speak TLS, which OpenSSL would only call
 * "wrong version number". */
static int sniff(akt__tls *t, const uint8_t *data, size_t len) {
  for (size_t i = 0; t->sniffed < 2 && i < len; i++, t->sniffed++) {
    uint8_t b = data[i];
    int ok = t->sniffed == 0 ? b == 0x16 || (t->initiator && b == 0x15) : b == 0x03;
    if (ok) continue;
    char hex[3 * 4 + 1] = "";
    size_t from = i >= t->sniffed ? i - t->sniffed : 0;
    for (size_t k = from; k < len && k < from + 4; k++)
      snprintf(hex + 3 * (k - from), 4, "%02x ", data[k]);
    hex[strlen(hex) ? strlen(hex) - 1 : 0] = '\0';
    const char *hint = data[from] == 0x00 ? ": they look like an akt frame, so TLS is off at the peer"
                                           : "";
    return t->initiator
               ? fail(t, AKT__TLS_F_PLAINTEXT, AKT_EPROTO,
                      "the peer answered without TLS (first bytes %s)%s", hex, hint)
               : fail(t, AKT__TLS_F_PLAINTEXT, AKT_EPROTO,
                      "the peer does not speak TLS (first bytes %s)%s", hex, hint);
  }
  return 0;
}

/* Handshake, then records, until OpenSSL wants more bytes. */
static int pump(akt__tls *t) {
  if (!t->done) {
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
    int rc = flush(t); /* our flight, or our alert */
    if (rc) return rc;
    if (e == SSL_ERROR_WANT_READ) return 0;
    if (e != SSL_ERROR_NONE) return ssl_failed(t, e);
    t->done = 1;
  }
  uint8_t buf[AKT__TLS_CHUNK];
  for (;;) {
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_read_ex(t->ssl, buf, sizeof buf, &n);
    if (r == 1) {
      int rc = t->io.recv(t->io.arg, buf, n);
      if (rc) return fail(t, AKT__TLS_F_IO, rc, "the connection refused what TLS decrypted: %s",
                          akt_strerror(rc));
      continue;
    }
    int e = SSL_get_error(t->ssl, r);
    int rc = flush(t); /* answers to post-handshake messages, alerts */
    if (rc) return rc;
    if (e == SSL_ERROR_WANT_READ) return 0;
    if (e == SSL_ERROR_ZERO_RETURN)
      return fail(t, AKT__TLS_F_CLOSED, AKT_ECLOSED, "the peer closed the TLS session");
    return ssl_failed(t, e);
  }
}

int akt__tls_start(akt__tls *t) {
  if (t->failed) return t->code;
  return t->initiator ? pump(t) : 0;
}

int akt__tls_feed(akt__tls *t, const uint8_t *data, size_t len) {
  AKT_ASSERT(t && (data || len == 0));
  if (t->failed) return t->code;
  if (len == 0) return 0;
  int rc = sniff(t, data, len);
  if (rc) return rc;
  while (len > 0) {
    int n = len > AKT__TLS_CHUNK ? AKT__TLS_CHUNK : (int)len;
    if (BIO_write(t->rbio, data, n) != n)
      return fail(t, AKT__TLS_F_IO, AKT_ENOMEM, "out of memory buffering TLS records");
    data += n;
    len -= (size_t)n;
    /* Reading after each chunk keeps the read BIO at one chunk. */
    rc = pump(t);
    if (rc) return rc;
  }
  return 0;
}

int akt__tls_write(akt__tls *t, const uint8_t *data, size_t len) {
  if (t->failed) return t->code;
  if (!t->done) return AKT_ESTATE;
  if (t->closed) return AKT_ECLOSED;
  while (len > 0) {
    size_t n = len > AKT__TLS_CHUNK ? AKT__TLS_CHUNK : len, w = 0;
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, data, n, &w) != 1) return ssl_failed(t, SSL_get_error(t->ssl, 0));
    AKT_ASSERT(w == n); /* a memory BIO takes everything */
    int rc = flush(t);
    if (rc) return rc;
    data += n;
    len -= n;
  }
  return 0;
}

int akt__tls_done(const akt__tls *t) { return t->done && !t->failed; }

void akt__tls_close(akt__tls *t) {
  if (t->failed || t->closed) return;
  t->closed = 1;
  if (!t->done) return;
  ERR_clear_error();
  SSL_shutdown(t->ssl);
  flush(t);
}

const akt__tls_error *akt__tls_get_error(const akt__tls *t) { return &t->err; }

const char *akt__tls_version(const akt__tls *t) {
  return t->done ? SSL_get_version(t->ssl) : "";
}

int akt__tls_exporter(akt__tls *t, uint8_t *out, size_t len) {
  if (!akt__tls_done(t)) return AKT_ESTATE;
  int ok = SSL_export_keying_material(t->ssl, out, len, AKT__TLS_EXPORTER_LABEL,
                                      sizeof AKT__TLS_EXPORTER_LABEL - 1, NULL, 0, 0);
  ERR_clear_error();
  return ok == 1 ? 0 : AKT_EBACKEND;
}

int akt__tls_peer_name(const akt__tls *t, char *buf, size_t size) {
  AKT_ASSERT(size > 0);
  buf[0] = '\0';
  X509 *x = SSL_get0_peer_certificate(t->ssl);
  if (!x) return AKT_ENOENT;
  GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_DNS) continue;
    const ASN1_IA5STRING *s = g->d.dNSName;
    snprintf(buf, size, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
    break;
  }
  GENERAL_NAMES_free(names);
  if (!buf[0] && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
                                           (int)size) < 0)
    buf[0] = '\0';
  ERR_clear_error();
  return 0;
}
