/* akt — a seeded random source for OpenSSL, so that TLS on simulated nodes
 * replays byte for byte (see tls.h, "Determinism").
 *
 * OpenSSL 3 draws every random byte of a library context — key shares,
 * ClientHello random, session ids, signature nonces, ticket keys — from
 * the context's DRBGs, whose type can be chosen per context
 * (RAND_set_DRBG_type, RAND_set_seed_source_type). This file is a tiny
 * provider, added to one context only, whose single RAND algorithm is a
 * xoshiro256** stream seeded by the caller; the context's seed source,
 * primary, public and private generators are all instances of it and all
 * draw from the one stream its provider context holds. So the context
 * never asks the operating system for entropy, never reseeds on a clock,
 * and what it produces depends only on the seed and on the order of the
 * calls — which the simulator fixes.
 *
 * These bytes are not secret: anyone with the seed has them. That is the
 * point in a simulation and the reason nothing else uses this: production
 * contexts keep OpenSSL's own generator (tls.c never seeds one unless
 * asked).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "akt/error.h"
#include "src/remote/tls.h"
#include "src/util/assert.h"
#include "src/util/rng.h"

#define SEEDED_PROVIDER "akt-seeded"
#define SEEDED_ALGORITHM "AKT-SEEDED"
#define SEEDED_PROPQ "provider=akt-seeded"
#define SEEDED_STRENGTH 256              /* bits claimed: enough for every OpenSSL request */
#define SEEDED_MAX_REQUEST ((size_t)1 << 16) /* bytes per generate call */

/* The provider context: the one stream of the library context. */
typedef struct seeded_prov {
  pthread_mutex_t mu;
  akt__rng rng;
  int seeded;
} seeded_prov;

/* One generator instance (seed source, primary, public, private). */
typedef struct seeded_rand {
  seeded_prov *prov;
  int state; /* EVP_RAND_STATE_* */
} seeded_rand;

static void *r_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_dispatch) {
  (void)parent;
  (void)parent_dispatch;
  seeded_rand *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->prov = provctx;
  r->state = EVP_RAND_STATE_UNINITIALISED;
  return r;
}

static void r_freectx(void *vr) { free(vr); }

static int r_instantiate(void *vr, unsigned int strength, int prediction_resistance,
                         const unsigned char *pstr, size_t pstr_len, const OSSL_PARAM params[]) {
  (void)strength;
  (void)prediction_resistance;
  (void)pstr;
  (void)pstr_len;
  (void)params;
  ((seeded_rand *)vr)->state = EVP_RAND_STATE_READY;
  return 1;
}

static int r_uninstantiate(void *vr) {
  ((seeded_rand *)vr)->state = EVP_RAND_STATE_UNINITIALISED;
  return 1;
}

static int r_generate(void *vr, unsigned char *out, size_t outlen, unsigned int strength,
                      int prediction_resistance, const unsigned char *adin, size_t adinlen) {
  (void)strength;
  (void)prediction_resistance;
  (void)adin;
  (void)adinlen;
  seeded_rand *r = vr;
  seeded_prov *p = r->prov;
  /* An unseeded stream would give the same bytes to every context:
   * refuse, and OpenSSL fails the operation that asked. */
  if (r->state != EVP_RAND_STATE_READY || !p->seeded) return 0;
  pthread_mutex_lock(&p->mu);
  for (size_t i = 0; i < outlen; i += 8) {
    uint64_t x = akt__rng_next(&p->rng);
    size_t n = outlen - i < 8 ? outlen - i : 8;
    memcpy(out + i, &x, n);
  }
  pthread_mutex_unlock(&p->mu);
  return 1;
}

static int r_enable_locking(void *vr) {
  (void)vr;
  return 1; /* the stream has its own lock */
}

static int r_get_ctx_params(void *vr, OSSL_PARAM params[]) {
  OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE);
  if (p && !OSSL_PARAM_set_int(p, ((seeded_rand *)vr)->state)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH);
  if (p && !OSSL_PARAM_set_uint(p, SEEDED_STRENGTH)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST);
  if (p && !OSSL_PARAM_set_size_t(p, SEEDED_MAX_REQUEST)) return 0;
  return 1;
}

static const OSSL_PARAM *r_gettable_ctx_params(void *vr, void *provctx) {
  (void)vr;
  (void)provctx;
  static const OSSL_PARAM known[] = {OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
                                     OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
                                     OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
                                     OSSL_PARAM_END};
  return known;
}

/* OpenSSL's dispatch tables hold every function as void (*)(void). */
#define FN(f) ((void (*)(void))(f))

static const OSSL_DISPATCH seeded_rand_functions[] = {
    {OSSL_FUNC_RAND_NEWCTX, FN(r_newctx)},
    {OSSL_FUNC_RAND_FREECTX, FN(r_freectx)},
    {OSSL_FUNC_RAND_INSTANTIATE, FN(r_instantiate)},
    {OSSL_FUNC_RAND_UNINSTANTIATE, FN(r_uninstantiate)},
    {OSSL_FUNC_RAND_GENERATE, FN(r_generate)},
    {OSSL_FUNC_RAND_ENABLE_LOCKING, FN(r_enable_locking)},
    {OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, FN(r_gettable_ctx_params)},
    {OSSL_FUNC_RAND_GET_CTX_PARAMS, FN(r_get_ctx_params)},
    {0, NULL},
};

static const OSSL_ALGORITHM seeded_algorithms[] = {
    {SEEDED_ALGORITHM, SEEDED_PROPQ, seeded_rand_functions, "akt's seeded stream"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache) {
  (void)provctx;
  *no_cache = 0;
  return operation_id == OSSL_OP_RAND ? seeded_algorithms : NULL;
}

static void prov_teardown(void *provctx) {
  seeded_prov *p = provctx;
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static const OSSL_DISPATCH seeded_provider_functions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, FN(prov_teardown)},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, FN(prov_query)},
    {0, NULL},
};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                     const OSSL_DISPATCH **out, void **provctx) {
  (void)handle;
  (void)in;
  seeded_prov *p = calloc(1, sizeof *p);
  if (!p) return 0;
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(p);
    return 0;
  }
  *provctx = p;
  *out = seeded_provider_functions;
  return 1;
}

int akt__tls_seeded_new(uint64_t seed, akt__tls_seeded *out) {
  memset(out, 0, sizeof *out);
  OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
  if (!lib) return AKT_ENOMEM;
  /* The seeded type must be set before anything draws from the context:
   * OpenSSL creates its generators on first use, of the type set then. */
  int ok = OSSL_PROVIDER_add_builtin(lib, SEEDED_PROVIDER, prov_init) &&
           (out->ours = OSSL_PROVIDER_load(lib, SEEDED_PROVIDER)) != NULL &&
           (out->deflt = OSSL_PROVIDER_load(lib, "default")) != NULL &&
           RAND_set_seed_source_type(lib, SEEDED_ALGORITHM, SEEDED_PROPQ) &&
           RAND_set_DRBG_type(lib, SEEDED_ALGORITHM, SEEDED_PROPQ, NULL, NULL);
  out->lib = lib;
  if (!ok) {
    akt__tls_seeded_free(out);
    return AKT_EBACKEND;
  }
  seeded_prov *p = OSSL_PROVIDER_get0_provider_ctx(out->ours);
  AKT_ASSERT(p != NULL);
  akt__rng_seed(&p->rng, akt__rng_derive(seed, "openssl"));
  p->seeded = 1;
  return 0;
}

void akt__tls_seeded_free(akt__tls_seeded *s) {
  /* The generators (and the algorithms they hold, and so our provider)
   * live until the context goes: unloading first only drops our
   * handles. */
  if (s->deflt) OSSL_PROVIDER_unload(s->deflt);
  if (s->ours) OSSL_PROVIDER_unload(s->ours);
  if (s->lib) OSSL_LIB_CTX_free(s->lib);
  memset(s, 0, sizeof *s);
}
