/* Test certificates with libcrypto (see tls_certs.h). EC P-256 keys:
 * quick to make, even under valgrind. */
#include "tls_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY INT64_C(86400)

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
  if (!e) return 0;
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok;
}

/* A certificate for `key` named `cn` (and DNS:cn), signed by issuer (NULL:
 * self-signed), valid in [nb, na]. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       int64_t nb, int64_t na, int is_ca, long serial) {
  X509 *x = X509_new();
  if (!x) return NULL;
  X509_NAME *name = X509_get_subject_name(x);
  X509V3_CTX v3;
  char san[128];
  snprintf(san, sizeof san, "DNS:%s", cn);
  int ok = X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
           ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) &&
           ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) && X509_set_pubkey(x, key) &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                      -1, 0) &&
           X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  if (ok) {
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    ok = add_ext(x, &v3, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
         add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
         (is_ca ? add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign")
                : add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") &&
                      add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth") &&
                      add_ext(x, &v3, NID_subject_alt_name, san));
  }
  if (ok) ok = X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *key) {
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
  return fclose(f) == 0 && ok;
}

static void path(char *out, const tls_certs *c, const char *name) {
  snprintf(out, TLS_CERTS_PATH_MAX, "%s/%s", c->dir, name);
}

/* A node certificate and its key, written to cert_path and key_path. */
static int node(const char *cn, X509 *ca, EVP_PKEY *ca_key, int64_t nb, int64_t na, long serial,
                const char *cert_path, const char *key_path) {
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = key ? make_cert(key, cn, ca, ca_key, nb, na, 0, serial) : NULL;
  int ok = x && write_pem(cert_path, x, NULL) && write_pem(key_path, NULL, key);
  X509_free(x);
  EVP_PKEY_free(key);
  return ok;
}

int tls_certs_make(tls_certs *c, int64_t now) {
  memset(c, 0, sizeof *c);
  snprintf(c->dir, sizeof c->dir, "/tmp/akt-tls-XXXXXX");
  if (!mkdtemp(c->dir)) {
    perror("mkdtemp");
    return -1;
  }
  path(c->ca, c, "ca.pem");
  path(c->other_ca, c, "other-ca.pem");
  path(c->garbage, c, "garbage.pem");
  path(c->node0_cert, c, "node0.pem");
  path(c->node0_key, c, "node0.key");
  path(c->node1_cert, c, "node1.pem");
  path(c->node1_key, c, "node1.key");
  path(c->rogue_cert, c, "rogue.pem");
  path(c->rogue_key, c, "rogue.key");
  path(c->expired_cert, c, "expired.pem");
  path(c->expired_key, c, "expired.key");
  path(c->future_cert, c, "future.pem");
  path(c->future_key, c, "future.key");
  EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *ca = ca_key ? make_cert(ca_key, "akt test CA", NULL, NULL, now - DAY, now + 3650 * DAY, 1, 1)
                    : NULL;
  X509 *other = other_key ? make_cert(other_key, "another CA", NULL, NULL, now - DAY,
                                      now + 3650 * DAY, 1, 1)
                          : NULL;
  FILE *g = fopen(c->garbage, "w");
  int ok = ca && other && g && fputs("not a certificate\n", g) >= 0;
  if (g) ok = fclose(g) == 0 && ok;
  ok = ok && write_pem(c->ca, ca, NULL) && write_pem(c->other_ca, other, NULL) &&
       node("node0", ca, ca_key, now - DAY, now + 365 * DAY, 10, c->node0_cert, c->node0_key) &&
       node("node1", ca, ca_key, now - DAY, now + 365 * DAY, 11, c->node1_cert, c->node1_key) &&
       node("node1", other, other_key, now - DAY, now + 365 * DAY, 12, c->rogue_cert,
            c->rogue_key) &&
       node("node0", ca, ca_key, now - 30 * DAY, now - DAY, 13, c->expired_cert,
            c->expired_key) &&
       node("node0", ca, ca_key, now + DAY, now + 30 * DAY, 14, c->future_cert, c->future_key);
  X509_free(ca);
  X509_free(other);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(other_key);
  if (!ok) {
    fprintf(stderr, "tls_certs: could not make the test certificates in %s\n", c->dir);
    tls_certs_remove(c);
    return -1;
  }
  return 0;
}

void tls_certs_remove(tls_certs *c) {
  const char *files[] = {c->ca,         c->other_ca,    c->garbage,      c->node0_cert,
                         c->node0_key,  c->node1_cert,  c->node1_key,    c->rogue_cert,
                         c->rogue_key,  c->expired_cert, c->expired_key, c->future_cert,
                         c->future_key};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (files[i][0]) unlink(files[i]);
  if (c->dir[0]) rmdir(c->dir);
}
