/* Test certificates, made with libcrypto's X509 API at a chosen time (no
 * openssl command, no files in the tree): a CA, another CA, node
 * certificates signed by either, and ones that expired or are not valid
 * yet, written as PEM files into a fresh temporary folder. */
#ifndef AKT_TESTS_TLS_CERTS_H
#define AKT_TESTS_TLS_CERTS_H

#include <stdint.h>

#define TLS_CERTS_PATH_MAX 256

typedef struct tls_certs {
  char dir[TLS_CERTS_PATH_MAX];
  char ca[TLS_CERTS_PATH_MAX];       /* the cluster's CA */
  char other_ca[TLS_CERTS_PATH_MAX]; /* a CA that signed nothing of ours */
  char garbage[TLS_CERTS_PATH_MAX];  /* a file that is not PEM */
  /* node0 and node1 (SAN DNS:nodeN, signed by ca), rogue (DNS:node1,
   * signed by other_ca), expired and future (DNS:node0, signed by ca). */
  char node0_cert[TLS_CERTS_PATH_MAX], node0_key[TLS_CERTS_PATH_MAX];
  char node1_cert[TLS_CERTS_PATH_MAX], node1_key[TLS_CERTS_PATH_MAX];
  char rogue_cert[TLS_CERTS_PATH_MAX], rogue_key[TLS_CERTS_PATH_MAX];
  char expired_cert[TLS_CERTS_PATH_MAX], expired_key[TLS_CERTS_PATH_MAX];
  char future_cert[TLS_CERTS_PATH_MAX], future_key[TLS_CERTS_PATH_MAX];
} tls_certs;

/* Makes every file, valid around `now` (Unix seconds): valid ones from a
 * day before to a year after, expired ones until a day before, future ones
 * from a day after. Returns 0, or -1 (printed why). */
int tls_certs_make(tls_certs *c, int64_t now);

/* Removes the files and the folder. */
void tls_certs_remove(tls_certs *c);

#endif
