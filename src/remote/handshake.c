/* akt — how a connection opens: TLS (when on), then the cookie exchange
 * (auth.h), then the decision that binds the connection to the peer it
 * authenticated as. The rest of a connection sees only the outcome: the
 * state C_OPEN with the endpoint told (on_open for ours, on_accept for a
 * peer's), or a close with a reason and a counter.
 *
 *   initiator (dials)                        acceptor
 *   [TLS ClientHello ...]  <-- TLS -->       [... Finished]
 *   Hello{who I am, whom I want, seq, nonce} -->
 *                                  <-- Challenge{who I am, nonce}
 *   (the acceptor must be the node dialled: its address, exactly)
 *   Proof{HMAC over both frames and the TLS exporter} -->
 *                                            verified: now the peer is
 *                                            known, the node decides —
 *                                            its endpoint (max_peers), a
 *                                            newer connection of its (stale)
 *                                  <-- Result{accepted, proof} or refusal
 *   C_OPEN: on_open                          C_OPEN: on_accept
 *
 * What the exchange authenticates is the peer's identity — its system
 * name, advertised address and incarnation — and the connection number:
 * an inbound connection belongs to the address its peer proved, and
 * everything it carries is held to that (inbound.c: senders on that node
 * only). A captured exchange replayed, with any connection number, fails:
 * the acceptor's nonce is new on every connection.
 *
 * Without a cookie (TLS alone, or insecure) the exchange runs on a public
 * label: it proves nothing, carries the identities, and TLS (or nothing)
 * authenticates. With TLS the exporter value binds the exchange to the
 * TLS session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/remote/conn.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

#define CHANNEL "remoting"
#define NONCE_RANDOM 32 /* bytes of randomness for our nonce */
#define BINDING 32      /* bytes of TLS exporter value bound into the exchange */
#define WHY_MAX 400     /* bytes of a reason for the log */

/* Writes what the exchange produced. */
static void flush_auth(akt__conn *c) {
  size_t n;
  const uint8_t *out = akt__auth_take_output(c->auth, &n);
  if (out) akt__conn_write(c, out, n); /* a failure closes c on its read side */
}

/* Sets up the exchange (binding: the TLS exporter value, or none). */
static int auth_begin(akt__conn *c, const uint8_t *binding, size_t binding_len) {
  akt__remote *r = c->r;
  akt_system *sys = r->sys;
  AKT_ASSERT(!c->auth);
  if (!(c->auth = malloc(sizeof *c->auth))) return AKT_ENOMEM;
  uint8_t random[NONCE_RANDOM];
  int rc = akt__secure_random(sys->backend, random, sizeof random);
  if (rc) return rc;
  akt__auth_config cfg = {
      .role = c->outbound ? AKT__AUTH_INITIATOR : AKT__AUTH_ACCEPTOR,
      .cookie = r->sec.cookie,
      .cookie_len = r->sec.cookie_len,
      .channel = CHANNEL,
      .version = AKT_REMOTE_PROTOCOL_VERSION,
      .system = akt_system_name(sys),
      .address = r->node,
      .incarnation = r->incarnation,
      .expect_system = c->outbound ? c->ep->sysname : NULL,
      .expect_address = c->outbound ? c->ep->node : NULL,
      .conn_seq = c->seq,
      .binding = binding,
      .binding_len = binding_len,
      .random = random,
      .random_len = sizeof random,
      .hold_result = 1,
  };
  rc = akt__auth_init(c->auth, &cfg);
  if (rc) {
    /* Our own names are checked at start: EINVAL here is an address the
     * exchange cannot carry, which start should have refused. */
    akt__log(sys, AKT_LOG_ERROR, "remoting: the cookie exchange cannot start: %s",
             akt_strerror(rc));
    return rc == AKT_EINVAL ? AKT_EBACKEND : rc;
  }
  flush_auth(c);
  return 0;
}

void akt__hs_end(akt__conn *c) {
  if (!c->auth) return;
  akt__auth_clear(c->auth);
  free(c->auth);
  c->auth = NULL;
}

/* ---- TLS first --------------------------------------------------------------------- */

/* Ciphertext for the stream (under tls_mu). What the stream refuses for
 * being full waits in the backlog, in order: a TLS stream cannot lose a
 * record. */
static int tls_send(void *arg, const uint8_t *data, size_t len) {
  akt__conn *c = arg;
  if (c->backlog.len) return akt__buf_put(&c->backlog, data, len);
  int rc = akt__conn_write_raw(c, data, len);
  return rc == AKT_EFULL ? akt__buf_put(&c->backlog, data, len) : rc;
}

/* Plaintext TLS decrypted (under tls_mu): kept for conn.c to read once
 * the lock is released (reading may take other locks). */
static int tls_recv(void *arg, const uint8_t *data, size_t len) {
  akt__conn *c = arg;
  return akt__buf_put(&c->plain, data, len);
}

int akt__hs_begin(akt__conn *c) {
  akt__remote *r = c->r;
  AKT_ASSERT(akt__conn_state(c) == C_TLS);
  if (!r->sec.tls) {
    akt__conn_set_state(c, C_AUTH);
    return auth_begin(c, NULL, 0);
  }
  akt__tls_io io = {.send = tls_send, .recv = tls_recv, .arg = c};
  int rc = akt__tls_new(r->sec.tls, c->outbound, &io, &c->tls);
  if (rc) return rc == AKT_EINVAL ? AKT_EBACKEND : rc;
  if (c->outbound) {
    akt__rmutex_lock(&c->tls_mu);
    rc = akt__tls_start(c->tls);
    akt__rmutex_unlock(&c->tls_mu);
  }
  return rc;
}

int akt__hs_tls_done(akt__conn *c) {
  AKT_ASSERT(akt__conn_state(c) == C_TLS && c->tls);
  uint8_t binding[BINDING];
  akt__rmutex_lock(&c->tls_mu);
  int rc = akt__tls_exporter(c->tls, binding, sizeof binding);
  akt__rmutex_unlock(&c->tls_mu);
  if (rc) return akt__conn_fail(c, rc, "TLS: no exporter value to bind the exchange to");
  akt__log(c->r->sys, AKT_LOG_DEBUG, "remoting: TLS (%s) up with %s", akt__tls_version(c->tls),
           c->peer[0] ? c->peer : c->source);
  akt__conn_set_state(c, C_AUTH);
  rc = auth_begin(c, binding, sizeof binding);
  return rc ? akt__conn_fail(c, rc, "cannot start the cookie exchange") : 0;
}

/* ---- the exchange's outcome --------------------------------------------------------- */

/* The exchange failed: counted by what failed, closed. */
static int failed(akt__conn *c, int rc) {
  akt__remote *r = c->r;
  akt__auth *a = c->auth;
  if (a->bad_proof) AKT__SSTAT(r, auth_failures, 1);
  if (a->tls_seen) AKT__SSTAT(r, plaintext_peers, 1);
  if (rc == AKT_ELIMIT) AKT__SSTAT(r, pre_auth_oversize, 1);
  char why[WHY_MAX];
  snprintf(why, sizeof why, "%s", akt__auth_error(a));
  return akt__conn_fail(c, rc, why);
}

/* Our connection reached whom it dialled, and both proved the cookie. */
static int opened(akt__conn *c) {
  uint64_t incarnation = akt__auth_peer(c->auth, NULL)->incarnation;
  akt__hs_end(c);
  akt__conn_set_state(c, C_OPEN);
  akt__conn_rearm(c); /* from the deadline to heartbeats */
  akt__endpoint_on_open(c->ep, c, incarnation);
  return 0;
}

/* The acceptor refuses a peer that proved the cookie. */
static int refuse(akt__conn *c, const char *reason, const char *why) {
  int rc = akt__auth_refuse(c->auth, reason, why);
  flush_auth(c);
  return akt__conn_fail(c, rc, why);
}

/* A peer proved the cookie as `peer`: it gets its endpoint (or is refused
 * at max_peers), this connection becomes that endpoint's inbound one (or
 * is refused as older than one accepted), and it is accepted. */
static int accept_peer(akt__conn *c) {
  akt__remote *r = c->r;
  uint64_t seq;
  const akt__auth_identity *peer = akt__auth_peer(c->auth, &seq);
  AKT_ASSERT(peer != NULL);
  snprintf(c->peer, sizeof c->peer, "%s", peer->address);
  akt__endpoint *ep;
  int rc = akt__endpoint_get(r, peer->address, &ep);
  if (rc == AKT_ELIMIT) return refuse(c, "too many peers", "this node keeps limits.max_peers");
  if (rc == AKT_ENAME) return refuse(c, "malformed address", "its address is not host:port");
  if (rc) return refuse(c, "out of memory", akt_strerror(rc));
  akt__conn *old;
  int stale = akt__endpoint_on_accept(ep, c, peer->incarnation, seq, &old);
  akt__endpoint_put(ep); /* while ep->inbound is c, ep stays (peers.c) */
  if (stale)
    return refuse(c, "stale connection", "an equal or newer connection from it was accepted");
  c->in_ep = ep;
  uint64_t incarnation = peer->incarnation;
  rc = akt__auth_accept(c->auth);
  flush_auth(c);
  if (rc) return akt__conn_fail(c, rc, "OpenSSL failed to derive the session");
  if (c->counted) {
    akt__sources_authenticated(r, c->source);
    c->unauth = 0;
  }
  akt__hs_end(c);
  akt__conn_set_state(c, C_OPEN);
  akt__conn_rearm(c);
  akt__trace(r->sys, AKT_EV_NET, 0, 0, "accepted", incarnation, 0, c->peer);
  /* A replay cannot get here: superseding needs the cookie. */
  if (old) akt__conn_close(old, "superseded by a newer connection from the peer");
  return 0;
}

int akt__hs_feed(akt__conn *c, const uint8_t *data, size_t len) {
  AKT_ASSERT(akt__conn_state(c) == C_AUTH && c->auth);
  size_t used = 0;
  int rc = akt__auth_feed(c->auth, data, len, &used);
  flush_auth(c);
  if (rc) return failed(c, rc);
  switch (akt__auth_get_state(c->auth)) {
    case AKT__AUTH_A_VERIFIED: rc = accept_peer(c); break;
    case AKT__AUTH_DONE: rc = opened(c); break;
    default: return 0; /* more bytes to come */
  }
  if (rc || akt__conn_state(c) != C_OPEN || used == len) return rc;
  return akt__conn_frames_in(c, data + used, len - used);
}

/* ---- a detached connection's peer (tests, fuzzing) ----------------------------------- */

/* The peer's nonce material: fixed, so that what it sends replays. */
#define DETACHED_RANDOM 0x5a
#define DETACHED_ROUNDS 4 /* Hello, Proof: two rounds do; a few spare */

int akt__conn_detached_handshake(akt__conn *c, const char *address, uint64_t incarnation,
                                 uint64_t seq, akt__buf *sent) {
  akt__remote *r = c->r;
  AKT_ASSERT(!c->s && !c->outbound && c->capture && !c->tls);
  AKT_ASSERT(c->capture->len == 0); /* an inbound connection writes nothing first */
  char sysname[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX];
  uint16_t port;
  const char *path;
  int rc = akt__parse_address(address, sysname, sizeof sysname, host, sizeof host, &port, &path);
  if (rc || path) return AKT_ENAME;
  uint8_t random[NONCE_RANDOM];
  memset(random, DETACHED_RANDOM, sizeof random);
  akt__auth_config cfg = {.role = AKT__AUTH_INITIATOR,
                          .cookie = r->sec.cookie,
                          .cookie_len = r->sec.cookie_len,
                          .channel = CHANNEL,
                          .version = AKT_REMOTE_PROTOCOL_VERSION,
                          .system = sysname,
                          .address = address,
                          .incarnation = incarnation,
                          .expect_system = akt_system_name(r->sys),
                          .expect_address = r->node,
                          .conn_seq = seq,
                          .random = random,
                          .random_len = sizeof random};
  akt__auth *peer = malloc(sizeof *peer);
  if (!peer) return AKT_ENOMEM;
  rc = akt__auth_init(peer, &cfg);
  for (int i = 0; rc == 0 && i < DETACHED_ROUNDS && !akt__conn_is_open(c); i++) {
    size_t n;
    const uint8_t *out = akt__auth_take_output(peer, &n);
    if (out && sent) rc = akt__buf_put(sent, out, n);
    if (rc == 0 && out) rc = akt__conn_feed(c, out, n);
    if (rc == 0 && c->capture->len) {
      rc = akt__auth_feed(peer, c->capture->data, c->capture->len, NULL);
      c->capture->len = 0;
    }
  }
  if (rc == 0 && !akt__conn_is_open(c)) rc = AKT_EPROTO;
  akt__auth_clear(peer);
  free(peer);
  return rc;
}
