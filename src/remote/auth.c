/* akt — authentication on the cookie (see auth.h for the exchange, the
 * keys and why each check is there).
 *
 * Decoding holds memory per frame to a constant: a frame is gathered in
 * the fixed inbox (its length checked from the prefix first) and unpacked
 * by protobuf-c into an arena on the stack, so no input can make the
 * handshake allocate, and a frame full of unknown fields fails with
 * AKT_ELIMIT instead of growing a list. Every name is checked byte by byte
 * before it is copied out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "akt/auth.pb-c.h"
#include "akt/error.h"
#include "src/remote/auth.h"
#include "src/util/assert.h"

/* Labels: each key and proof has its own, so no output of one use can be
 * taken for another (the initiator's proof for the acceptor's, a session
 * key for a nonce). */
#define L_SALT "akt-auth-v1"
#define L_NONCE "akt-auth-v1 nonce"
#define L_TRANSCRIPT "akt-auth-v1 transcript"
#define L_PROOF_I "akt-auth-v1 initiator proof"
#define L_PROOF_A "akt-auth-v1 acceptor proof"
#define L_SESSION_KEY "akt-auth-v1 session key"
#define L_SESSION_ID "akt-auth-v1 session id"
#define L_FRAME "akt-auth-v1 frame"
#define AKT_SCHEME "akt://"

/* What a refusal tells the peer: little, on purpose (the log says more). */
#define R_VERSION "unsupported protocol version"
#define R_CHANNEL "wrong channel"
#define R_SYSTEM "wrong system name"
#define R_REFLECTED "reflected handshake"
#define R_AUTH "authentication failed"
#define R_NO_TLS "TLS is off on this node"

/* ---- crypto: OpenSSL only ------------------------------------------------------ */

typedef struct part {
  const void *p;
  size_t n;
} part;

#define PART_STR(s) ((part){(s), sizeof(s) - 1})

/* HMAC-SHA256(key, parts...) into out[32]. */
static int hmac(const uint8_t *key, size_t key_len, const part *parts, size_t nparts,
                uint8_t out[AKT__AUTH_MAC]) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  if (!mac) return AKT_EBACKEND;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (!ctx) return AKT_EBACKEND;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
      OSSL_PARAM_construct_end()};
  int ok = EVP_MAC_init(ctx, key, key_len, params);
  for (size_t i = 0; ok && i < nparts; i++) ok = EVP_MAC_update(ctx, parts[i].p, parts[i].n);
  size_t out_len = 0;
  ok = ok && EVP_MAC_final(ctx, out, &out_len, AKT__AUTH_MAC) && out_len == AKT__AUTH_MAC;
  EVP_MAC_CTX_free(ctx);
  return ok ? 0 : AKT_EBACKEND;
}

/* HKDF-SHA256 in one of OpenSSL's modes: extract (key = ikm, salt) or
 * expand (key = prk, info). */
static int hkdf(int mode, const uint8_t *key, size_t key_len, const uint8_t *salt_or_info,
                size_t len, uint8_t *out, size_t out_len) {
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
  if (!kdf) return AKT_EBACKEND;
  EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) return AKT_EBACKEND;
  const char *which =
      mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len),
      OSSL_PARAM_construct_octet_string(which, (void *)salt_or_info, len),
      OSSL_PARAM_construct_end()};
  int ok = EVP_KDF_derive(ctx, out, out_len, params) > 0;
  EVP_KDF_CTX_free(ctx);
  return ok ? 0 : AKT_EBACKEND;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* th = SHA-256 of the labelled, length-prefixed binding and frames. */
static int transcript(const akt__auth *a, uint8_t th[AKT__AUTH_MAC]) {
  AKT_ASSERT(a->hello_len > 0 && a->challenge_len > 0);
  uint8_t lens[3][4];
  put_be32(lens[0], (uint32_t)a->binding_len);
  put_be32(lens[1], (uint32_t)a->hello_len);
  put_be32(lens[2], (uint32_t)a->challenge_len);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx) return AKT_EBACKEND;
  unsigned th_len = 0;
  int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
           EVP_DigestUpdate(ctx, L_TRANSCRIPT, sizeof L_TRANSCRIPT - 1) &&
           EVP_DigestUpdate(ctx, lens[0], 4) &&
           EVP_DigestUpdate(ctx, a->binding, a->binding_len) &&
           EVP_DigestUpdate(ctx, lens[1], 4) &&
           EVP_DigestUpdate(ctx, a->hello, a->hello_len) &&
           EVP_DigestUpdate(ctx, lens[2], 4) &&
           EVP_DigestUpdate(ctx, a->challenge, a->challenge_len) &&
           EVP_DigestFinal_ex(ctx, th, &th_len) && th_len == AKT__AUTH_MAC;
  EVP_MD_CTX_free(ctx);
  return ok ? 0 : AKT_EBACKEND;
}

/* The proof of `role` over the transcript. */
static int proof(const akt__auth *a, akt__auth_role role, uint8_t out[AKT__AUTH_MAC]) {
  uint8_t th[AKT__AUTH_MAC];
  int rc = transcript(a, th);
  if (rc) return rc;
  part parts[2] = {role == AKT__AUTH_INITIATOR ? PART_STR(L_PROOF_I) : PART_STR(L_PROOF_A),
                   {th, sizeof th}};
  return hmac(a->k, sizeof a->k, parts, 2, out);
}

static int expand(const akt__auth *a, const char *label, size_t label_len,
                  const uint8_t th[AKT__AUTH_MAC], uint8_t *out, size_t out_len) {
  uint8_t info[64];
  AKT_ASSERT(label_len + AKT__AUTH_MAC <= sizeof info);
  memcpy(info, label, label_len);
  memcpy(info + label_len, th, AKT__AUTH_MAC);
  return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, a->k, sizeof a->k, info,
              label_len + AKT__AUTH_MAC, out, out_len);
}

static int derive_session(akt__auth *a) {
  uint8_t th[AKT__AUTH_MAC];
  int rc = transcript(a, th);
  if (rc == 0)
    rc = expand(a, L_SESSION_KEY, sizeof L_SESSION_KEY - 1, th, a->session.key,
                sizeof a->session.key);
  if (rc == 0)
    rc = expand(a, L_SESSION_ID, sizeof L_SESSION_ID - 1, th, a->session.id,
                sizeof a->session.id);
  return rc;
}

/* ---- names ------------------------------------------------------------------ */

static int system_char(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static int channel_char(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int all_of(const uint8_t *p, size_t n, size_t max, int (*ok)(uint8_t)) {
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!ok(p[i])) return 0;
  return 1;
}

static int visible_char(uint8_t c) { return c > 0x20 && c < 0x7f; }

/* akt://SYSTEM@REST, REST non-empty, all visible ASCII; when `system` is
 * not NULL the address must name that system. */
static int address_ok(const uint8_t *p, size_t n, const char *system) {
  if (!all_of(p, n, AKT__AUTH_ADDRESS_MAX, visible_char)) return 0;
  size_t scheme = sizeof AKT_SCHEME - 1;
  if (n <= scheme || memcmp(p, AKT_SCHEME, scheme) != 0) return 0;
  const uint8_t *at = memchr(p + scheme, '@', n - scheme);
  if (!at || at == p + scheme || at == p + n - 1) return 0;
  size_t sys_len = (size_t)(at - (p + scheme));
  if (!all_of(p + scheme, sys_len, AKT__AUTH_SYSTEM_MAX, system_char)) return 0;
  return !system || (strlen(system) == sys_len && memcmp(system, p + scheme, sys_len) == 0);
}

static int str_is(const char *s, int (*ok)(uint8_t), size_t max) {
  return s && all_of((const uint8_t *)s, strlen(s), max, ok);
}

static int bin_eq(ProtobufCBinaryData b, const char *s) {
  return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

/* A C string as protobuf bytes (borrowed: for packing only). */
static ProtobufCBinaryData bin(const char *s) {
  return (ProtobufCBinaryData){strlen(s), (uint8_t *)(uintptr_t)s};
}

static void bin_copy(char *dst, ProtobufCBinaryData b) {
  memcpy(dst, b.data, b.len);
  dst[b.len] = '\0';
}

/* ---- state ------------------------------------------------------------------ */

static int transition_ok(akt__auth_state from, akt__auth_state to) {
  if (to == AKT__AUTH_FAILED) return from != AKT__AUTH_DONE && from != AKT__AUTH_FAILED;
  return (from == AKT__AUTH_I_WAIT_CHALLENGE && to == AKT__AUTH_I_WAIT_RESULT) ||
         (from == AKT__AUTH_I_WAIT_RESULT && to == AKT__AUTH_DONE) ||
         (from == AKT__AUTH_A_WAIT_HELLO && to == AKT__AUTH_A_WAIT_PROOF) ||
         (from == AKT__AUTH_A_WAIT_PROOF && to == AKT__AUTH_DONE) ||
         (from == AKT__AUTH_A_WAIT_PROOF && to == AKT__AUTH_A_VERIFIED) ||
         (from == AKT__AUTH_A_VERIFIED && to == AKT__AUTH_DONE);
}

static void set_state(akt__auth *a, akt__auth_state to) {
  AKT_ASSERT_TRANSITION("auth state", a->state, to, transition_ok(a->state, to));
  a->state = to;
}

/* Fails the handshake with `code` and a formatted reason for the log. */
__attribute__((format(printf, 3, 4))) static int fail(akt__auth *a, int code, const char *fmt,
                                                      ...) {
  AKT_ASSERT(code < 0);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->why, sizeof a->why, fmt, ap);
  va_end(ap);
  a->error = code;
  set_state(a, AKT__AUTH_FAILED);
  /* K is of no more use: wipe it at once rather than when the caller
   * clears the struct. */
  OPENSSL_cleanse(a->k, sizeof a->k);
  return code;
}

/* ---- output ------------------------------------------------------------------- */

/* Packs `f` into dst (AKT__AUTH_MAX_FRAME bytes); returns its length. Our
 * own frames are bounded by the limits init checked, so a frame that does
 * not fit is a bug here, not an error. */
static size_t pack(const Akt__Auth__AuthFrame *f, uint8_t *dst) {
  size_t n = akt__auth__auth_frame__get_packed_size(f);
  AKT_ASSERT(n > 0 && n <= AKT__AUTH_MAX_FRAME);
  size_t w = akt__auth__auth_frame__pack(f, dst);
  AKT_ASSERT(w == n);
  return n;
}

/* Queues one packed frame (with its prefix) for the caller to write. */
static void emit(akt__auth *a, const uint8_t *frame, size_t len) {
  AKT_ASSERT(len > 0 && len <= AKT__AUTH_MAX_FRAME);
  AKT_ASSERT(a->out_len + AKT__AUTH_PREFIX + len <= sizeof a->out);
  put_be32(a->out + a->out_len, (uint32_t)len);
  memcpy(a->out + a->out_len + AKT__AUTH_PREFIX, frame, len);
  a->out_len += AKT__AUTH_PREFIX + len;
}

static void emit_result(akt__auth *a, int accepted, const char *reason, const uint8_t *mac) {
  Akt__Auth__Result r = AKT__AUTH__RESULT__INIT;
  r.accepted = accepted;
  if (reason) r.reason = bin(reason);
  if (mac) r.mac = (ProtobufCBinaryData){AKT__AUTH_MAC, (uint8_t *)(uintptr_t)mac};
  Akt__Auth__AuthFrame f = AKT__AUTH__AUTH_FRAME__INIT;
  f.kind_case = AKT__AUTH__AUTH_FRAME__KIND_RESULT;
  f.result = &r;
  uint8_t buf[AKT__AUTH_MAX_FRAME];
  emit(a, buf, pack(&f, buf));
}

/* The acceptor refuses: tells the peer `reason` (short, fixed) and fails. */
__attribute__((format(printf, 3, 4))) static int refuse(akt__auth *a, const char *reason,
                                                        const char *fmt, ...) {
  AKT_ASSERT(a->role == AKT__AUTH_ACCEPTOR);
  emit_result(a, 0, reason, NULL);
  char why[sizeof a->why];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return fail(a, AKT_EREFUSED, "%s", why);
}

/* ---- init --------------------------------------------------------------------- */

static int config_ok(const akt__auth_config *c) {
  if (c->role != AKT__AUTH_INITIATOR && c->role != AKT__AUTH_ACCEPTOR) return 0;
  if (!c->cookie || c->cookie_len == 0 || c->cookie_len > AKT__AUTH_COOKIE_MAX) return 0;
  if (!str_is(c->channel, channel_char, AKT__AUTH_CHANNEL_MAX) || c->version == 0) return 0;
  if (!str_is(c->system, system_char, AKT__AUTH_SYSTEM_MAX)) return 0;
  if (!c->address || !address_ok((const uint8_t *)c->address, strlen(c->address), c->system))
    return 0;
  if (c->binding_len > AKT__AUTH_BINDING_MAX || (c->binding_len && !c->binding)) return 0;
  if (!c->random || c->random_len < AKT__AUTH_RANDOM_MIN || c->random_len > AKT__AUTH_RANDOM_MAX)
    return 0;
  if (c->role == AKT__AUTH_INITIATOR) {
    if (!str_is(c->expect_system, system_char, AKT__AUTH_SYSTEM_MAX)) return 0;
    if (c->expect_address &&
        !address_ok((const uint8_t *)c->expect_address, strlen(c->expect_address),
                    c->expect_system))
      return 0;
  }
  return 1;
}

static void write_hello(akt__auth *a) {
  Akt__Auth__Hello h = AKT__AUTH__HELLO__INIT;
  h.magic = AKT__AUTH_MAGIC;
  h.version = a->version;
  h.channel = bin(a->channel);
  h.to_system = bin(a->expect_system);
  h.system = bin(a->self.system);
  h.address = bin(a->self.address);
  h.incarnation = a->self.incarnation;
  h.conn_seq = a->conn_seq;
  h.nonce = (ProtobufCBinaryData){AKT__AUTH_NONCE, a->nonce};
  Akt__Auth__AuthFrame f = AKT__AUTH__AUTH_FRAME__INIT;
  f.kind_case = AKT__AUTH__AUTH_FRAME__KIND_HELLO;
  f.hello = &h;
  a->hello_len = pack(&f, a->hello);
  emit(a, a->hello, a->hello_len);
}

int akt__auth_init(akt__auth *a, const akt__auth_config *cfg) {
  AKT_ASSERT(a && cfg);
  memset(a, 0, sizeof *a);
  if (!config_ok(cfg)) return AKT_EINVAL;
  a->role = cfg->role;
  a->version = cfg->version;
  a->hold_result = cfg->role == AKT__AUTH_ACCEPTOR && cfg->hold_result;
  snprintf(a->channel, sizeof a->channel, "%s", cfg->channel);
  snprintf(a->self.system, sizeof a->self.system, "%s", cfg->system);
  snprintf(a->self.address, sizeof a->self.address, "%s", cfg->address);
  a->self.incarnation = cfg->incarnation;
  if (cfg->binding_len) memcpy(a->binding, cfg->binding, cfg->binding_len);
  a->binding_len = cfg->binding_len;
  int rc = hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, cfg->cookie, cfg->cookie_len,
                (const uint8_t *)L_SALT, sizeof L_SALT - 1, a->k, sizeof a->k);
  uint8_t role = (uint8_t)cfg->role;
  part parts[3] = {PART_STR(L_NONCE), {&role, 1}, {cfg->random, cfg->random_len}};
  if (rc == 0) rc = hmac(a->k, sizeof a->k, parts, 3, a->nonce);
  if (rc) {
    akt__auth_clear(a);
    return rc;
  }
  if (cfg->role == AKT__AUTH_INITIATOR) {
    snprintf(a->expect_system, sizeof a->expect_system, "%s", cfg->expect_system);
    if (cfg->expect_address)
      snprintf(a->expect_address, sizeof a->expect_address, "%s", cfg->expect_address);
    a->conn_seq = cfg->conn_seq;
    a->state = AKT__AUTH_I_WAIT_CHALLENGE;
    write_hello(a);
  } else {
    a->state = AKT__AUTH_A_WAIT_HELLO;
  }
  return 0;
}

/* ---- frames in ------------------------------------------------------------------ */

/* A bump allocator over a fixed buffer for protobuf-c: frees nothing, and
 * refuses (marking itself exhausted) what does not fit. */
typedef struct arena {
  size_t used;
  int exhausted;
  max_align_t mem[AKT__AUTH_ARENA / sizeof(max_align_t)];
} arena;

static void *arena_alloc(void *data, size_t size) {
  arena *ar = data;
  size_t align = _Alignof(max_align_t);
  if (size > sizeof ar->mem - ar->used) {
    ar->exhausted = 1;
    return NULL;
  }
  size_t need = (size + align - 1) / align * align;
  if (need == 0) need = align;
  if (need > sizeof ar->mem - ar->used) {
    ar->exhausted = 1;
    return NULL;
  }
  void *p = (uint8_t *)ar->mem + ar->used;
  ar->used += need;
  return p;
}

static void arena_free(void *data, void *ptr) {
  (void)data;
  (void)ptr;
}

/* Sender's identity fields, checked and copied to *id. */
static int identity_ok(ProtobufCBinaryData sys, ProtobufCBinaryData addr, uint64_t inc,
                       akt__auth_identity *id) {
  if (!all_of(sys.data, sys.len, AKT__AUTH_SYSTEM_MAX, system_char)) return 0;
  bin_copy(id->system, sys);
  if (!address_ok(addr.data, addr.len, id->system)) return 0;
  bin_copy(id->address, addr);
  id->incarnation = inc;
  return 1;
}

/* Our own nonce or address coming back means someone is bouncing our
 * messages at us — or a cookie holder claims to be this node (another
 * incarnation of it): as that peer, its envelopes could name this node's
 * own actors as their senders (inbound.c), whom the replies would then
 * reach locally, /system included. No other live node has our address. */
static int reflected(const akt__auth *a, ProtobufCBinaryData nonce, const akt__auth_identity *id) {
  if (CRYPTO_memcmp(nonce.data, a->nonce, AKT__AUTH_NONCE) == 0) return 1;
  return strcmp(id->address, a->self.address) == 0;
}

static int on_hello(akt__auth *a, const Akt__Auth__Hello *h, const uint8_t *frame, size_t len) {
  if (h->magic != AKT__AUTH_MAGIC) return fail(a, AKT_EPROTO, "bad magic in the peer's Hello");
  if (h->version != a->version)
    return refuse(a, R_VERSION, "the peer speaks protocol version %u, this node %u",
                  (unsigned)h->version, (unsigned)a->version);
  if (!bin_eq(h->channel, a->channel))
    return refuse(a, R_CHANNEL, "the peer opened a connection for another channel than '%s'",
                  a->channel);
  if (!bin_eq(h->to_system, a->self.system))
    return refuse(a, R_SYSTEM, "the peer wants another system than '%s'", a->self.system);
  akt__auth_identity id;
  if (!identity_ok(h->system, h->address, h->incarnation, &id))
    return fail(a, AKT_EPROTO, "malformed identity in the peer's Hello");
  if (h->nonce.len != AKT__AUTH_NONCE)
    return fail(a, AKT_EPROTO, "the peer's nonce has %zu bytes, not %d", h->nonce.len,
                AKT__AUTH_NONCE);
  if (reflected(a, h->nonce, &id))
    return refuse(a, R_REFLECTED, "the peer sent this node's own nonce or identity back");
  a->peer = id;
  a->conn_seq = h->conn_seq;
  memcpy(a->hello, frame, len);
  a->hello_len = len;

  Akt__Auth__Challenge c = AKT__AUTH__CHALLENGE__INIT;
  c.system = bin(a->self.system);
  c.address = bin(a->self.address);
  c.incarnation = a->self.incarnation;
  c.nonce = (ProtobufCBinaryData){AKT__AUTH_NONCE, a->nonce};
  Akt__Auth__AuthFrame f = AKT__AUTH__AUTH_FRAME__INIT;
  f.kind_case = AKT__AUTH__AUTH_FRAME__KIND_CHALLENGE;
  f.challenge = &c;
  a->challenge_len = pack(&f, a->challenge);
  emit(a, a->challenge, a->challenge_len);
  set_state(a, AKT__AUTH_A_WAIT_PROOF);
  return 0;
}

static int on_challenge(akt__auth *a, const Akt__Auth__Challenge *c, const uint8_t *frame,
                        size_t len) {
  akt__auth_identity id;
  if (!identity_ok(c->system, c->address, c->incarnation, &id))
    return fail(a, AKT_EPROTO, "malformed identity in the peer's Challenge");
  if (c->nonce.len != AKT__AUTH_NONCE)
    return fail(a, AKT_EPROTO, "the peer's nonce has %zu bytes, not %d", c->nonce.len,
                AKT__AUTH_NONCE);
  if (strcmp(id.system, a->expect_system) != 0)
    return fail(a, AKT_EREFUSED, "dialled system '%s' but reached '%s'", a->expect_system,
                id.system);
  if (a->expect_address[0] && strcmp(id.address, a->expect_address) != 0)
    return fail(a, AKT_EREFUSED, "dialled %s but the peer says it is %s", a->expect_address,
                id.address);
  if (reflected(a, c->nonce, &id))
    return fail(a, AKT_EREFUSED, "the peer sent this node's own nonce or identity back");
  a->peer = id;
  memcpy(a->challenge, frame, len);
  a->challenge_len = len;
  uint8_t mac[AKT__AUTH_MAC];
  int rc = proof(a, AKT__AUTH_INITIATOR, mac);
  if (rc) return fail(a, rc, "OpenSSL failed to compute the proof");
  Akt__Auth__Proof p = AKT__AUTH__PROOF__INIT;
  p.mac = (ProtobufCBinaryData){sizeof mac, mac};
  Akt__Auth__AuthFrame f = AKT__AUTH__AUTH_FRAME__INIT;
  f.kind_case = AKT__AUTH__AUTH_FRAME__KIND_PROOF;
  f.proof = &p;
  uint8_t buf[AKT__AUTH_MAX_FRAME];
  emit(a, buf, pack(&f, buf));
  set_state(a, AKT__AUTH_I_WAIT_RESULT);
  return 0;
}

static int on_proof(akt__auth *a, const Akt__Auth__Proof *p) {
  uint8_t want[AKT__AUTH_MAC];
  int rc = proof(a, AKT__AUTH_INITIATOR, want);
  if (rc) return fail(a, rc, "OpenSSL failed to compute the proof");
  if (p->mac.len != AKT__AUTH_MAC || CRYPTO_memcmp(p->mac.data, want, AKT__AUTH_MAC) != 0) {
    a->bad_proof = 1;
    return refuse(a, R_AUTH,
                  "%s did not prove the cookie (a wrong cookie, or a replayed or altered "
                  "handshake)",
                  a->peer.address);
  }
  if (a->hold_result) {
    set_state(a, AKT__AUTH_A_VERIFIED);
    return 0;
  }
  return akt__auth_accept(a);
}

int akt__auth_accept(akt__auth *a) {
  AKT_ASSERT(a->role == AKT__AUTH_ACCEPTOR);
  AKT_ASSERT(a->state == AKT__AUTH_A_WAIT_PROOF || a->state == AKT__AUTH_A_VERIFIED);
  uint8_t mine[AKT__AUTH_MAC];
  int rc = proof(a, AKT__AUTH_ACCEPTOR, mine);
  if (rc == 0) rc = derive_session(a);
  if (rc) return fail(a, rc, "OpenSSL failed to derive the session");
  emit_result(a, 1, NULL, mine);
  set_state(a, AKT__AUTH_DONE);
  return 0;
}

int akt__auth_refuse(akt__auth *a, const char *reason, const char *why) {
  AKT_ASSERT(a->state == AKT__AUTH_A_VERIFIED && reason && why);
  AKT_ASSERT(strlen(reason) <= AKT__AUTH_REASON_MAX);
  return refuse(a, reason, "%s", why);
}

/* The peer's reason, made safe to log: printable ASCII, bounded. */
static void peer_reason(ProtobufCBinaryData r, char *out, size_t size) {
  size_t n = r.len < size - 1 ? r.len : size - 1;
  if (n > AKT__AUTH_REASON_MAX) n = AKT__AUTH_REASON_MAX;
  for (size_t i = 0; i < n; i++) out[i] = r.data[i] >= 0x20 && r.data[i] < 0x7f ? (char)r.data[i] : '?';
  out[n] = '\0';
}

static int on_result(akt__auth *a, const Akt__Auth__Result *r) {
  if (!r->accepted) {
    char why[AKT__AUTH_REASON_MAX + 1];
    peer_reason(r->reason, why, sizeof why);
    a->bad_proof = bin_eq(r->reason, R_AUTH);
    return fail(a, AKT_EREFUSED, "refused by the peer: %s", why[0] ? why : "(no reason)");
  }
  if (a->state != AKT__AUTH_I_WAIT_RESULT)
    return fail(a, AKT_EPROTO, "the peer accepted before it was asked");
  uint8_t want[AKT__AUTH_MAC];
  int rc = proof(a, AKT__AUTH_ACCEPTOR, want);
  if (rc) return fail(a, rc, "OpenSSL failed to compute the proof");
  if (r->mac.len != AKT__AUTH_MAC || CRYPTO_memcmp(r->mac.data, want, AKT__AUTH_MAC) != 0) {
    a->bad_proof = 1;
    return fail(a, AKT_EREFUSED,
                "%s accepted without proving the cookie (an impostor, or another cookie)",
                a->peer.address);
  }
  rc = derive_session(a);
  if (rc) return fail(a, rc, "OpenSSL failed to derive the session");
  set_state(a, AKT__AUTH_DONE);
  return 0;
}

static const char *kind_name(Akt__Auth__AuthFrame__KindCase k) {
  switch (k) {
    case AKT__AUTH__AUTH_FRAME__KIND_HELLO: return "Hello";
    case AKT__AUTH__AUTH_FRAME__KIND_CHALLENGE: return "Challenge";
    case AKT__AUTH__AUTH_FRAME__KIND_PROOF: return "Proof";
    case AKT__AUTH__AUTH_FRAME__KIND_RESULT: return "Result";
    default: return "no known message";
  }
}

/* akt's handshake without authentication (protocol 1) starts its first
 * frame with Frame.handshake (0x0a, a length) and Handshake.magic (0x0d,
 * "AKT1" as a little-endian fixed32): worth naming, since it means the
 * two nodes are configured differently, not that one is hostile. */
static int old_handshake(const uint8_t *f, size_t len) {
  static const uint8_t magic[5] = {0x0d, 0x31, 0x54, 0x4b, 0x41};
  if (len < 2 || f[0] != 0x0a) return 0;
  size_t i = 1;
  while (i < len && i < 6 && (f[i] & 0x80)) i++;
  i++;
  return i + sizeof magic <= len && memcmp(f + i, magic, sizeof magic) == 0;
}

static int on_frame(akt__auth *a, const uint8_t *frame, size_t len) {
  if (old_handshake(frame, len))
    return fail(a, AKT_EPROTO,
                "the peer speaks akt's handshake without authentication: configure both nodes "
                "alike (docs/security.md)");
  arena ar;
  ar.used = 0;
  ar.exhausted = 0;
  ProtobufCAllocator al = {arena_alloc, arena_free, &ar};
  Akt__Auth__AuthFrame *f = akt__auth__auth_frame__unpack(&al, len, frame);
  if (!f)
    return ar.exhausted
               ? fail(a, AKT_ELIMIT, "an auth frame of %zu bytes needs over %d bytes to decode",
                      len, AKT__AUTH_ARENA)
               : fail(a, AKT_EPROTO, "an auth frame that does not decode");
  Akt__Auth__AuthFrame__KindCase k = f->kind_case;
  switch (a->state) {
    case AKT__AUTH_A_WAIT_HELLO:
      if (k == AKT__AUTH__AUTH_FRAME__KIND_HELLO) return on_hello(a, f->hello, frame, len);
      break;
    case AKT__AUTH_A_WAIT_PROOF:
      if (k == AKT__AUTH__AUTH_FRAME__KIND_PROOF) return on_proof(a, f->proof);
      break;
    case AKT__AUTH_I_WAIT_CHALLENGE:
      if (k == AKT__AUTH__AUTH_FRAME__KIND_CHALLENGE)
        return on_challenge(a, f->challenge, frame, len);
      if (k == AKT__AUTH__AUTH_FRAME__KIND_RESULT && !f->result->accepted)
        return on_result(a, f->result);
      break;
    case AKT__AUTH_I_WAIT_RESULT:
      if (k == AKT__AUTH__AUTH_FRAME__KIND_RESULT) return on_result(a, f->result);
      break;
    default:
      AKT_ASSERT(!"on_frame in a final state");
  }
  return fail(a, AKT_EPROTO, "unexpected %s from the peer", kind_name(k));
}

/* A first length prefix that is a TLS record header (a handshake or, from
 * a TLS node that found our Hello, an alert; version 3.x): the peer has
 * TLS on and this node does not. */
static int tls_record(const uint8_t p[AKT__AUTH_PREFIX]) {
  return (p[0] == 0x16 || p[0] == 0x15) && p[1] == 0x03 && p[2] <= 0x04;
}

int akt__auth_feed(akt__auth *a, const uint8_t *data, size_t len, size_t *used) {
  AKT_ASSERT(a && (data || len == 0));
  /* Fed before akt__auth_init succeeded: a caller bug. */
  AKT_ASSERT(a->state >= AKT__AUTH_I_WAIT_CHALLENGE && a->state <= AKT__AUTH_FAILED);
  size_t u = 0;
  akt__auth_inbox *in = &a->in;
  /* Until the exchange ends, or the acceptor holds its answer: what comes
   * after is not the exchange's to read. */
  while (u < len && a->state != AKT__AUTH_DONE && a->state != AKT__AUTH_FAILED &&
         a->state != AKT__AUTH_A_VERIFIED) {
    if (in->have_prefix < AKT__AUTH_PREFIX) {
      size_t n = AKT__AUTH_PREFIX - in->have_prefix;
      if (n > len - u) n = len - u;
      memcpy(in->prefix + in->have_prefix, data + u, n);
      in->have_prefix += n;
      u += n;
      if (in->have_prefix < AKT__AUTH_PREFIX) break;
      in->want = get_be32(in->prefix);
      in->have = 0;
      if (in->want > AKT__AUTH_MAX_FRAME) {
        if ((a->tls_seen = tls_record(in->prefix))) {
          /* Answered in plaintext, which a TLS peer names as such. */
          if (a->role == AKT__AUTH_ACCEPTOR) emit_result(a, 0, R_NO_TLS, NULL);
          fail(a, AKT_EPROTO,
               "the peer speaks TLS, but TLS is off on this node: configure both "
               "nodes alike (docs/security.md)");
        } else {
          fail(a, AKT_ELIMIT, "an auth frame of %u bytes (the limit before authentication is %d)",
               (unsigned)in->want, AKT__AUTH_MAX_FRAME);
        }
        break;
      }
      if (in->want == 0) {
        fail(a, AKT_EPROTO, "an empty auth frame");
        break;
      }
    }
    size_t n = in->want - in->have;
    if (n > len - u) n = len - u;
    memcpy(in->frame + in->have, data + u, n);
    in->have += n;
    u += n;
    if (in->have < in->want) break;
    in->have_prefix = 0;
    on_frame(a, in->frame, in->want);
  }
  if (used) *used = u;
  AKT_ASSERT(u <= len);
  return a->state == AKT__AUTH_FAILED ? a->error : 0;
}

/* ---- results --------------------------------------------------------------------- */

const uint8_t *akt__auth_take_output(akt__auth *a, size_t *len) {
  *len = a->out_len;
  if (a->out_len == 0) return NULL;
  a->out_len = 0;
  return a->out;
}

akt__auth_state akt__auth_get_state(const akt__auth *a) { return a->state; }

const char *akt__auth_error(const akt__auth *a) { return a->why; }

const akt__auth_identity *akt__auth_peer(const akt__auth *a, uint64_t *conn_seq) {
  if (a->state != AKT__AUTH_DONE && a->state != AKT__AUTH_A_VERIFIED) return NULL;
  if (conn_seq) *conn_seq = a->role == AKT__AUTH_ACCEPTOR ? a->conn_seq : 0;
  return &a->peer;
}

const akt__auth_session *akt__auth_get_session(const akt__auth *a) {
  return a->state == AKT__AUTH_DONE ? &a->session : NULL;
}

void akt__auth_clear(akt__auth *a) { OPENSSL_cleanse(a, sizeof *a); }

/* ---- frame tags -------------------------------------------------------------------- */

int akt__auth_frame_tag(const akt__auth_session *s, int from_initiator, uint64_t seq,
                        const uint8_t *data, size_t len, uint8_t tag[AKT__AUTH_TAG]) {
  uint8_t head[9];
  head[0] = from_initiator ? AKT__AUTH_INITIATOR : AKT__AUTH_ACCEPTOR;
  for (int i = 0; i < 8; i++) head[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
  part parts[3] = {PART_STR(L_FRAME), {head, sizeof head}, {data, len}};
  uint8_t full[AKT__AUTH_MAC];
  int rc = hmac(s->key, sizeof s->key, parts, 3, full);
  if (rc == 0) memcpy(tag, full, AKT__AUTH_TAG);
  OPENSSL_cleanse(full, sizeof full);
  return rc;
}

int akt__auth_frame_check(const akt__auth_session *s, int from_initiator, uint64_t seq,
                          const uint8_t *data, size_t len, const uint8_t tag[AKT__AUTH_TAG]) {
  uint8_t want[AKT__AUTH_TAG];
  int rc = akt__auth_frame_tag(s, from_initiator, seq, data, len, want);
  if (rc) return rc;
  return CRYPTO_memcmp(want, tag, AKT__AUTH_TAG) == 0 ? 0 : AKT_EREFUSED;
}
