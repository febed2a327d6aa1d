/* akt — security options for remoting: authentication, TLS, what peers may
 * do, and the limits that hold before a peer is trusted.
 *
 * STATUS: a proposal (issue 14, phase 1). The machinery these options
 * configure exists and is tested on its own — the cookie's
 * challenge/response (src/remote/auth.h) and TLS through memory BIOs
 * (src/remote/tls.h) — but akt_remote_start does not read this struct
 * yet. Phase 2 adds `const akt_security_options *security` to
 * akt_remote_options (NULL: the defaults below) and wires each field in
 * where its comment says. docs/security.md describes the finished system
 * and marks what phase 2 brings.
 *
 * Zero means "the default" for every field, as in akt_remote_options, so
 * `akt_security_options o = {.cookie = secret};` is a complete, secure
 * configuration.
 *
 * Secure by default. With neither a cookie nor TLS, akt_remote_start
 * refuses to start (AKT_EINVAL, and a log line saying why) unless
 * `insecure` is set, which is logged at ERROR level at start. Whatever the
 * options, no peer can reach an actor under /system (but the remoting service's
 * lookups), a guardian or the root; remote spawn and remote stop (stop,
 * PoisonPill, Kill) are refused unless an allow-list below permits them.
 */
#ifndef AKT_SECURITY_H
#define AKT_SECURITY_H

#include <stddef.h>
#include <stdint.h>

#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits and defaults -------------------------------------------------------- */

#define AKT_SECURITY_MIN_COOKIE 16   /* bytes: a shorter cookie is refused at start */
#define AKT_SECURITY_MAX_COOKIE 256  /* bytes (= AKT_REMOTE_MAX_COOKIE) */

/* Before the handshake completes: one frame, at most. The smallest value
 * accepted is what the auth exchange itself needs (a 4-byte prefix and an
 * auth frame of 1024 bytes). */
#define AKT_SECURITY_DEFAULT_PRE_HANDSHAKE_FRAME 4096u
#define AKT_SECURITY_MIN_PRE_HANDSHAKE_FRAME 1028u
/* From accept (or connect) to an authenticated peer, whatever bytes
 * trickle in: an absolute deadline, not an idle timer. */
#define AKT_SECURITY_DEFAULT_HANDSHAKE_DEADLINE AKT_SECONDS(5)
/* Open connections, in and out. */
#define AKT_SECURITY_DEFAULT_MAX_CONNECTIONS 1024u
#define AKT_SECURITY_DEFAULT_MAX_CONNECTIONS_PER_SOURCE 64u
/* Accepted connections whose handshake has not completed. */
#define AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED 128u
#define AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE 8u
/* Peers (endpoints) the node keeps state for; idle ones are freed. */
#define AKT_SECURITY_DEFAULT_MAX_PEERS 1024u
#define AKT_SECURITY_DEFAULT_PEER_IDLE AKT_SECONDS(300)
/* Bytes queued for all peers together (each peer keeps its own
 * akt_remote_options.send_queue limit too). */
#define AKT_SECURITY_DEFAULT_MAX_QUEUED_TOTAL ((size_t)256 << 20)
/* A peer never reached for this long: its queue is dropped (dead letters,
 * counted) and further sends to it fail at once until it is reached. */
#define AKT_SECURITY_DEFAULT_UNREACHABLE_GIVE_UP AKT_SECONDS(60)
/* The memory bound: decoding a frame of N bytes may cost at most
 * k·N + AKT_SECURITY_FRAME_OVERHEAD bytes; a frame that would need more is
 * refused and counted. */
#define AKT_SECURITY_DEFAULT_MEMORY_PER_BYTE 4u
#define AKT_SECURITY_FRAME_OVERHEAD 4096u
/* Repeated log lines of one kind (closed connections, refusals) are
 * written once per interval, with the count of those left out. */
#define AKT_SECURITY_DEFAULT_LOG_INTERVAL AKT_SECONDS(10)

/* ---- TLS -------------------------------------------------------------------------- */

/* Who shows a certificate. */
typedef enum akt_tls_client_auth {
  AKT_TLS_MUTUAL = 0,     /* default: both sides, each checked against ca_file */
  AKT_TLS_SERVER_ONLY = 1 /* only the accepting side; the cookie must then say who
                             the connecting side is (start refuses this without one) */
} akt_tls_client_auth;

/* TLS protocol versions for min_version (their wire values). 0 means
 * AKT_TLS_1_2; 1.3 is used whenever both sides have it. */
#define AKT_TLS_1_2 0x0303
#define AKT_TLS_1_3 0x0304

/* TLS for every node-to-node stream (remoting, and the cluster's streams).
 * TLS is on when cert_file is set; then ca_file and key_file are
 * required. Files are PEM, read once at start: a file that cannot be read,
 * a key that does not match the certificate, or a certificate of ours that
 * has expired or is not valid yet fails akt_remote_start with AKT_EINVAL
 * and a log line that names the file and the reason. */
typedef struct akt_tls_options {
  const char *ca_file;   /* CA certificates peers' certificates must chain to */
  const char *cert_file; /* this node's certificate (and chain) */
  const char *key_file;  /* this node's private key (unencrypted PEM) */
  /* When set, a peer's certificate must name it (a DNS or IP
   * subjectAltName, or the common name when there is no SAN); when NULL,
   * any certificate ca_file signed is accepted — right when the CA is
   * private to the cluster. */
  const char *peer_name;
  akt_tls_client_auth client_auth;
  int min_version;       /* 0 or AKT_TLS_1_2: 1.2 at least; AKT_TLS_1_3: 1.3 only */
} akt_tls_options;

/* ---- what peers may do ------------------------------------------------------------ */

/* A list of names. For spawn_kinds, actor kinds, matched exactly. For
 * stop_paths, actor paths under /user: "/user/jobs/a" matches that actor
 * only; an entry ending in '/' ("/user/jobs/") matches every actor below
 * that path but not the path itself. Guardians, anything under /system and
 * the root never match, whatever the list says (akt_remote_start refuses
 * such entries). */
typedef struct akt_allow_list {
  const char *const *items; /* n strings, borrowed until the system is freed */
  size_t n;
} akt_allow_list;

/* ---- the options --------------------------------------------------------------------- */

typedef struct akt_security_limits {
  size_t pre_handshake_frame;              /* AKT_SECURITY_DEFAULT_PRE_HANDSHAKE_FRAME */
  akt_duration handshake_deadline;         /* AKT_SECURITY_DEFAULT_HANDSHAKE_DEADLINE */
  uint32_t max_connections;                /* AKT_SECURITY_DEFAULT_MAX_CONNECTIONS */
  uint32_t max_connections_per_source;     /* ..._PER_SOURCE: per remote IP address */
  uint32_t max_unauthenticated;            /* AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED */
  uint32_t max_unauthenticated_per_source; /* ..._PER_SOURCE */
  uint32_t max_peers;                      /* AKT_SECURITY_DEFAULT_MAX_PEERS */
  akt_duration peer_idle;                  /* AKT_SECURITY_DEFAULT_PEER_IDLE */
  size_t max_queued_total;                 /* AKT_SECURITY_DEFAULT_MAX_QUEUED_TOTAL */
  akt_duration unreachable_give_up;        /* AKT_SECURITY_DEFAULT_UNREACHABLE_GIVE_UP */
  uint32_t memory_per_byte;                /* AKT_SECURITY_DEFAULT_MEMORY_PER_BYTE */
  akt_duration log_interval;               /* AKT_SECURITY_DEFAULT_LOG_INTERVAL */
} akt_security_limits;

typedef struct akt_security_options {
  /* The cluster's shared secret, AKT_SECURITY_MIN_COOKIE..MAX bytes (make
   * one with `openssl rand -hex 32`). Proved by an HMAC challenge/response
   * on every connection, never sent. NULL: no cookie (then TLS, or
   * insecure, is required). Copied at start. */
  const char *cookie;
  /* TLS; all NULL: off. With both a cookie and TLS, the cookie exchange
   * runs inside TLS and is bound to the TLS session (a TLS exporter value
   * enters its transcript), so a relay between two TLS sessions fails. */
  akt_tls_options tls;
  /* Non-zero: start without cookie and TLS. Anyone who can reach the port
   * can then message, and (as the allow-lists permit) spawn and stop,
   * actors. For tests and closed networks only. */
  int insecure;
  /* Actor kinds peers may spawn here (besides being registered with
   * akt_remote_register_kind). Empty: none. */
  akt_allow_list spawn_kinds;
  /* Actors peers may stop: RemoteStop, PoisonPill and Kill from the
   * network. Empty: none (a peer can still watch them). */
  akt_allow_list stop_paths;
  akt_security_limits limits;
} akt_security_options;

/* Counters phase 2 adds to akt_remote_stats: one per limit and refusal. */
typedef struct akt_security_stats {
  uint64_t auth_failures;          /* cookie proofs that failed (either side) */
  uint64_t tls_failures;           /* TLS handshakes that failed */
  uint64_t plaintext_peers;        /* a TLS node met a plaintext peer, or the reverse */
  uint64_t handshake_deadlines;    /* connections closed at the handshake deadline */
  uint64_t pre_handshake_oversize; /* frames over pre_handshake_frame */
  uint64_t connections_capped;     /* accepts refused by a connection cap */
  uint64_t peers_evicted;          /* idle peers freed */
  uint64_t peers_capped;           /* new peers refused at max_peers */
  uint64_t queued_total_full;      /* sends refused at max_queued_total */
  uint64_t unreachable_dropped;    /* envelopes dropped at unreachable_give_up */
  uint64_t memory_bound_refusals;  /* frames refused by the memory bound */
  uint64_t not_allowed;            /* spawn/stop/system messages refused */
  uint64_t foreign_senders;        /* envelopes whose sender is not the peer's */
  uint64_t log_lines_suppressed;   /* log lines left out by the interval */
} akt_security_stats;

#ifdef __cplusplus
}
#endif

#endif
