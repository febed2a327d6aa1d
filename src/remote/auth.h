/* akt — authentication on the cookie: a challenge/response handshake with
 * no secret on the wire (docs/security.md).
 *
 * A pure state machine over bytes: no I/O, no clock, no random source of
 * its own, no heap. The caller feeds it what the peer sent and writes out
 * what it produced; it decides nothing about sockets, deadlines or
 * connection caps (those are the connection's). Both sides of a
 * connection run one:
 *
 *   initiator (dials)                          acceptor (listens)
 *   init: Hello{ids, nonce_i}   ------------>  checks version, channel,
 *                                              to_system, the claimed ids
 *                               <------------  Challenge{ids, nonce_a}
 *   checks the acceptor is who it dialled
 *   Proof{mac_i}                ------------>  verifies mac_i (constant time)
 *                               <------------  Result{accepted, mac_a}
 *   verifies mac_a: done                       done
 *
 * Every message is an auth frame: a 4-byte big-endian length (at most
 * AKT__AUTH_MAX_FRAME) and one akt.auth.AuthFrame (proto/akt/auth.proto).
 *
 * Keys. K = HKDF-Extract(salt "akt-auth-v1", cookie); the cookie itself is
 * dropped at init. The transcript hash
 *   th = SHA-256("akt-auth-v1 transcript" || len|binding || len|Hello || len|Challenge)
 * covers, byte for byte, both frames as they crossed the wire — so both
 * nonces, both identities (system name, address, incarnation), the
 * initiator's connection number, the channel label and the protocol
 * version — and the channel binding (a TLS exporter value, or nothing).
 *   mac_i = HMAC-SHA256(K, "akt-auth-v1 initiator proof" || th)
 *   mac_a = HMAC-SHA256(K, "akt-auth-v1 acceptor proof"  || th)
 *   session key = HKDF-Expand(K, "akt-auth-v1 session key" || th, 32)
 *   session id  = HKDF-Expand(K, "akt-auth-v1 session id"  || th, 16)
 * So a captured exchange cannot be replayed (the other side's nonce is new
 * each time), reflected (the two proofs carry different labels, and a
 * message whose nonce or identity is our own is refused), or bound to
 * another identity or connection (every byte of both frames is in th).
 * The acceptor proves the cookie only to an initiator that proved it
 * first, so a stranger who dials a node learns nothing to attack the
 * cookie with offline.
 *
 * Nonces. The caller passes at least AKT__AUTH_RANDOM_MIN bytes from the
 * backend's random source; the nonce is HMAC(K, "akt-auth-v1 nonce" ||
 * role || those bytes). The backend's generator need only never repeat:
 * without the cookie nobody can predict or steer a nonce, even when the
 * generator (xoshiro in production, the seeded stream in the simulator)
 * can be predicted from what it produced before. In the simulator the
 * whole exchange is a function of the seed.
 *
 * Ownership: akt__auth is plain data the caller allocates (about 6 KiB)
 * and clears with akt__auth_clear, which wipes the key material. Nothing
 * in it points outside it.
 */
#ifndef AKT_REMOTE_AUTH_H
#define AKT_REMOTE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "akt/system.h"

/* Limits: every field of every auth frame has one, checked before it is
 * used; a frame over AKT__AUTH_MAX_FRAME is refused from its length
 * prefix, before any byte of it is kept. */
#define AKT__AUTH_MAGIC 0x414b5441u     /* "AKTA" */
#define AKT__AUTH_PREFIX 4              /* bytes of a frame's length prefix */
#define AKT__AUTH_MAX_FRAME 1024        /* bytes of one AuthFrame (after the prefix) */
#define AKT__AUTH_ARENA 4096            /* bytes the decoder may allocate for one frame */
#define AKT__AUTH_NONCE 32              /* bytes of a nonce */
#define AKT__AUTH_MAC 32                /* bytes of a proof (HMAC-SHA256) */
#define AKT__AUTH_KEY 32                /* bytes of K and of the session key */
#define AKT__AUTH_SESSION_ID 16         /* bytes of the public session id */
#define AKT__AUTH_RANDOM_MIN 16         /* bytes of caller randomness, at least (128 bits) */
#define AKT__AUTH_RANDOM_MAX 64
#define AKT__AUTH_BINDING_MAX 64        /* bytes of a channel binding */
#define AKT__AUTH_COOKIE_MAX 256        /* = AKT_SECURITY_MAX_COOKIE (security.c asserts it) */
#define AKT__AUTH_CHANNEL_MAX 32        /* bytes of a channel label, [a-z0-9.-] */
#define AKT__AUTH_SYSTEM_MAX AKT_SYSTEM_NAME_MAX /* bytes of a system name, [A-Za-z0-9_-] */
#define AKT__AUTH_ADDRESS_MAX 319       /* bytes of akt://SYSTEM@HOST:PORT (AKT__NODE_MAX - 1) */
#define AKT__AUTH_REASON_MAX 127        /* bytes of a refusal's reason */
#define AKT__AUTH_TAG 16                /* bytes of a frame tag (akt__auth_frame_tag) */
/* The largest frame either side ever writes, with its prefix. */
#define AKT__AUTH_OUT_MAX (AKT__AUTH_PREFIX + AKT__AUTH_MAX_FRAME)

typedef enum akt__auth_role {
  AKT__AUTH_INITIATOR = 1, /* dialled the connection; speaks first */
  AKT__AUTH_ACCEPTOR = 2   /* accepted it */
} akt__auth_role;

typedef enum akt__auth_state {
  AKT__AUTH_I_WAIT_CHALLENGE = 1, /* initiator: Hello written */
  AKT__AUTH_I_WAIT_RESULT,        /* initiator: Proof written */
  AKT__AUTH_A_WAIT_HELLO,         /* acceptor: nothing yet */
  AKT__AUTH_A_WAIT_PROOF,         /* acceptor: Challenge written */
  AKT__AUTH_A_VERIFIED,           /* acceptor (hold_result): the peer proved the cookie;
                                     akt__auth_accept or akt__auth_refuse answers it */
  AKT__AUTH_DONE,                 /* both proved the cookie: see akt__auth_peer */
  AKT__AUTH_FAILED                /* see akt__auth_error; feed no more */
} akt__auth_state;

/* Who one side is. Strings are NUL-terminated. */
typedef struct akt__auth_identity {
  char system[AKT__AUTH_SYSTEM_MAX + 1];
  char address[AKT__AUTH_ADDRESS_MAX + 1];
  uint64_t incarnation;
} akt__auth_identity;

/* What akt__auth_init needs. Every pointer is borrowed for the call only. */
typedef struct akt__auth_config {
  akt__auth_role role;
  const uint8_t *cookie;        /* the shared secret, 1..AKT__AUTH_COOKIE_MAX bytes */
  size_t cookie_len;
  const char *channel;          /* "remoting", "cluster": both sides must agree */
  uint32_t version;             /* the remoting protocol version: both sides must agree */
  const char *system;           /* our system name */
  const char *address;          /* our advertised address, akt://SYSTEM@HOST:PORT */
  uint64_t incarnation;         /* our incarnation */
  /* Initiator: the peer we dialled. expect_system is required (it is what
   * Hello.to_system names); expect_address, when not NULL, must equal the
   * acceptor's advertised address. conn_seq is our connection number to
   * it. The acceptor ignores the three. */
  const char *expect_system;
  const char *expect_address;
  uint64_t conn_seq;
  /* Optional channel binding (e.g. akt__tls_exporter of the TLS session
   * under this exchange): both sides must pass the same bytes, or the
   * proofs fail. NULL/0: none. */
  const uint8_t *binding;
  size_t binding_len;
  /* AKT__AUTH_RANDOM_MIN..MAX bytes from the backend's random source. */
  const uint8_t *random;
  size_t random_len;
  /* Acceptor: non-zero stops at AKT__AUTH_A_VERIFIED once the peer proved
   * the cookie, so that the caller can still refuse it (a cap, a stale
   * connection) with a reason the peer reads as a refusal. */
  int hold_result;
} akt__auth_config;

/* The authenticated session, once DONE. The key is secret (for frame tags,
 * akt__auth_frame_tag); the id is not (logs, traces). */
typedef struct akt__auth_session {
  uint8_t key[AKT__AUTH_KEY];
  uint8_t id[AKT__AUTH_SESSION_ID];
} akt__auth_session;

/* Input framing: the prefix, then the frame, gathered in place (no heap). */
typedef struct akt__auth_inbox {
  uint8_t prefix[AKT__AUTH_PREFIX];
  size_t have_prefix;
  uint32_t want;   /* the frame's length, once the prefix is whole */
  size_t have;
  uint8_t frame[AKT__AUTH_MAX_FRAME];
} akt__auth_inbox;

typedef struct akt__auth {
  akt__auth_role role;
  akt__auth_state state;
  int error;                              /* 0, or the AKT_E* code it failed with */
  char why[160];                          /* what failed, for the log */
  int bad_proof;                          /* failed on a proof (ours refused, or theirs) */
  int tls_seen;                           /* failed on a TLS record from the peer */
  int hold_result;
  uint8_t k[AKT__AUTH_KEY];               /* K (secret) */
  uint8_t nonce[AKT__AUTH_NONCE];         /* ours */
  char channel[AKT__AUTH_CHANNEL_MAX + 1];
  uint32_t version;
  akt__auth_identity self;
  char expect_system[AKT__AUTH_SYSTEM_MAX + 1];
  char expect_address[AKT__AUTH_ADDRESS_MAX + 1]; /* "" = any */
  uint64_t conn_seq;                      /* initiator: ours; acceptor: the peer's */
  akt__auth_identity peer;                /* valid once DONE */
  uint8_t binding[AKT__AUTH_BINDING_MAX];
  size_t binding_len;
  uint8_t hello[AKT__AUTH_MAX_FRAME];     /* the transcript: both frames as sent */
  size_t hello_len;
  uint8_t challenge[AKT__AUTH_MAX_FRAME];
  size_t challenge_len;
  akt__auth_session session;              /* valid once DONE */
  akt__auth_inbox in;
  uint8_t out[2 * AKT__AUTH_OUT_MAX];     /* frames to write, not yet taken */
  size_t out_len;
} akt__auth;

/* Sets `a` up for one handshake and, for an initiator, writes Hello (see
 * akt__auth_take_output). Derives K from the cookie; the cookie is not
 * kept. Returns 0, or AKT_EINVAL (a field missing, too long or malformed:
 * nothing is set up) or AKT_EBACKEND (OpenSSL failed). */
int akt__auth_init(akt__auth *a, const akt__auth_config *cfg);

/* Feeds `len` bytes the peer sent. Reads frames until the handshake ends
 * (done or failed), the acceptor holds its answer (A_VERIFIED), or the
 * bytes run out; *used (may be NULL) says how many it read: once DONE (or
 * A_VERIFIED), bytes after the last auth frame belong to what follows the
 * handshake and are left unread. Frames to write may be
 * waiting afterwards, a refusal among them. Returns 0 (more bytes needed,
 * or DONE), or the code the handshake failed with — now or earlier:
 *   AKT_ELIMIT   a frame over AKT__AUTH_MAX_FRAME, or one whose decoding
 *                would need more than AKT__AUTH_ARENA bytes;
 *   AKT_EPROTO   bytes that are not the expected auth frame (including a
 *                TLS ClientHello, or akt's handshake without auth: the
 *                error says which);
 *   AKT_EREFUSED the peer failed to prove the cookie, is not who it should
 *                be, disagrees on version or channel, or refused us. */
int akt__auth_feed(akt__auth *a, const uint8_t *data, size_t len, size_t *used);

/* Frames waiting to be written: writes their length to *len and returns
 * them (NULL when none); they are then the caller's to send, and the
 * pointer is valid until the next call on `a`. */
const uint8_t *akt__auth_take_output(akt__auth *a, size_t *len);

/* The state (akt__auth_state). */
akt__auth_state akt__auth_get_state(const akt__auth *a);

/* What failed ("" while not failed). Valid while `a` lives. */
const char *akt__auth_error(const akt__auth *a);

/* The acceptor's answer to a peer that proved the cookie
 * (AKT__AUTH_A_VERIFIED, hold_result): accept writes Result with our proof
 * and the state becomes DONE; refuse writes a refusal with `reason` (short,
 * printable: the peer logs it) and the state becomes FAILED with
 * AKT_EREFUSED and `why` for our log. Returns 0 (accept) or AKT_EBACKEND;
 * refuse returns AKT_EREFUSED. */
int akt__auth_accept(akt__auth *a);
int akt__auth_refuse(akt__auth *a, const char *reason, const char *why);

/* The authenticated peer, and for an acceptor its connection number;
 * NULL unless DONE (or A_VERIFIED). Valid while `a` lives. */
const akt__auth_identity *akt__auth_peer(const akt__auth *a, uint64_t *conn_seq);

/* The session keys; NULL unless DONE. Copy them before akt__auth_clear. */
const akt__auth_session *akt__auth_get_session(const akt__auth *a);

/* Wipes every secret and byte of `a` (OPENSSL_cleanse). */
void akt__auth_clear(akt__auth *a);

/* Frame tags tie what follows the handshake to the authenticated peer
 * (on a stream without TLS): tag = HMAC-SHA256(session key, direction ||
 * seq || data) truncated to AKT__AUTH_TAG bytes, where direction says
 * which side wrote the frame (1: the initiator) and seq is the writer's
 * frame count, from 1, which the reader keeps too (so a replayed or
 * dropped frame does not verify). Returns 0 or AKT_EBACKEND. */
int akt__auth_frame_tag(const akt__auth_session *s, int from_initiator, uint64_t seq,
                        const uint8_t *data, size_t len, uint8_t tag[AKT__AUTH_TAG]);

/* Checks a frame's tag in constant time. Returns 0, AKT_EREFUSED (wrong:
 * tampered, replayed, reordered, reflected or forged) or AKT_EBACKEND. */
int akt__auth_frame_check(const akt__auth_session *s, int from_initiator, uint64_t seq,
                          const uint8_t *data, size_t len, const uint8_t tag[AKT__AUTH_TAG]);

#endif
