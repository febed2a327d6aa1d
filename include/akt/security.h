/* akt — security options for remoting: authentication, TLS, what peers may
 * do, and the limits that hold before a peer is trusted
 * (docs/security.md).
 *
 * They are part of akt_remote_options, as its `security` field. Zero means
 * "the default" for every field, as in akt_remote_options, so
 *
 *   akt_remote_options o = {.port = 2552, .security.cookie = secret};
 *
 * is a complete, secure configuration (a cookie made with
 * `openssl rand -hex 32`; add TLS to encrypt the traffic too).
 *
 * Secure by default. With neither a cookie nor TLS, akt_remote_start
 * refuses to start (AKT_EINVAL, and an ERROR log line saying what to set)
 * unless `insecure` is set, which is logged at ERROR level at start.
 * Whatever the options, no peer can reach the root, a guardian (/user,
 * /system, /temp) or an actor under /system other than /system/remoting
 * (lookups, and spawn/stop/watch as below) and /system/cluster (the
 * cluster's membership sync); remote spawn and remote stop (RemoteStop,
 * PoisonPill) are refused unless an allow-list below permits them.
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
#define AKT_SECURITY_MAX_COOKIE 256  /* bytes */

/* Before a peer is authenticated, each frame of the cookie exchange is at
 * most this many bytes (checked from its length prefix, before a byte of
 * it is kept), and a TLS handshake message at most
 * AKT_SECURITY_TLS_HANDSHAKE_MAX (OpenSSL's max_cert_list). Fixed: they
 * are what the exchanges need, not a matter of taste. */
#define AKT_SECURITY_PRE_AUTH_FRAME 1024u
#define AKT_SECURITY_TLS_HANDSHAKE_MAX (16u << 10)
/* From accept (or connect) to an authenticated peer, whatever bytes
 * trickle in: an absolute deadline, not an idle timer. */
#define AKT_SECURITY_DEFAULT_HANDSHAKE_DEADLINE AKT_SECONDS(5)
/* Open connections, in and out; per source is per remote IP address. */
#define AKT_SECURITY_DEFAULT_MAX_CONNECTIONS 1024u
#define AKT_SECURITY_DEFAULT_MAX_CONNECTIONS_PER_SOURCE 64u
/* Accepted connections whose handshake has not completed. With all of
 * them taken — in all, or of its source address — a new one cuts the
 * oldest (of that source): a peer's handshake takes milliseconds, a slow
 * stranger's its deadline. */
#define AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED 128u
#define AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE 8u
/* Peers (endpoints) the node keeps state for; idle ones are freed. */
#define AKT_SECURITY_DEFAULT_MAX_PEERS 1024u
#define AKT_SECURITY_DEFAULT_PEER_IDLE AKT_SECONDS(300)
/* Bytes queued for all peers together (each peer keeps its own
 * akt_remote_options.send_queue limit too). */
#define AKT_SECURITY_DEFAULT_MAX_QUEUED_TOTAL ((size_t)256 << 20)
/* A peer not reached for this long while messages wait for it: its queue
 * becomes dead letters (counted) and further sends to it fail at once
 * (AKT_EUNREACH) until it is reached again. */
#define AKT_SECURITY_DEFAULT_UNREACHABLE_GIVE_UP AKT_SECONDS(60)
/* The memory bound (k): decoding a frame of N bytes — protobuf-c's
 * structures for a control frame, or one envelope's payload of N bytes as
 * its message — may take at most k·N + AKT_SECURITY_DECODE_OVERHEAD bytes;
 * what would need more is refused and counted (a frame closes the
 * connection; a payload becomes a dead letter). Batches are read in place
 * and take no memory per envelope. */
#define AKT_SECURITY_DEFAULT_MEMORY_PER_BYTE 8u
#define AKT_SECURITY_DECODE_OVERHEAD 4096u
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

/* TLS for every node-to-node stream (remoting, which also carries the
 * cluster's membership sync). TLS is on when any of the three files is
 * set; then all three are required (a node both accepts and dials). Files
 * are PEM, read once at start: a file that cannot be read, a key that does
 * not match the certificate, or a certificate of ours that has expired or
 * is not valid yet fails akt_remote_start with AKT_EINVAL and an ERROR log
 * line that names the file and the reason. */
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
 * that path but not the path itself. Entries outside /user (guardians,
 * /system, /temp, the root) are refused by akt_remote_start. The strings
 * are copied at start. */
typedef struct akt_allow_list {
  const char *const *items; /* n strings */
  size_t n;
} akt_allow_list;

#define AKT_ALLOW_LIST_MAX 1024  /* entries in one list */

/* ---- the options --------------------------------------------------------------------- */

typedef struct akt_security_limits {
  akt_duration handshake_deadline;         /* AKT_SECURITY_DEFAULT_HANDSHAKE_DEADLINE */
  uint32_t max_connections;                /* AKT_SECURITY_DEFAULT_MAX_CONNECTIONS */
  uint32_t max_connections_per_source;     /* ..._PER_SOURCE: per remote IP address */
  uint32_t max_unauthenticated;            /* AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED */
  uint32_t max_unauthenticated_per_source; /* ..._PER_SOURCE */
  uint32_t max_peers;                      /* AKT_SECURITY_DEFAULT_MAX_PEERS */
  akt_duration peer_idle;                  /* AKT_SECURITY_DEFAULT_PEER_IDLE */
  size_t max_queued_total;                 /* AKT_SECURITY_DEFAULT_MAX_QUEUED_TOTAL */
  akt_duration unreachable_give_up;        /* AKT_SECURITY_DEFAULT_UNREACHABLE_GIVE_UP */
  uint32_t memory_per_byte;                /* AKT_SECURITY_DEFAULT_MEMORY_PER_BYTE (k) */
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
   * can then message actors under /user (and, as the allow-lists permit,
   * spawn and stop them). For tests and closed networks only. */
  int insecure;
  /* Actor kinds peers may spawn here (besides being registered with
   * akt_remote_register_kind). Empty: none. */
  akt_allow_list spawn_kinds;
  /* Actors peers may stop: RemoteStop (akt_stop of a remote PID) and
   * PoisonPill from the network. Empty: none (a peer can still watch
   * them). */
  akt_allow_list stop_paths;
  akt_security_limits limits;
} akt_security_options;

/* Counters of the security machinery: one per limit and refusal (in
 * akt_remote_stats.security). */
typedef struct akt_security_stats {
  uint64_t auth_failures;          /* cookie proofs that failed (either side) */
  uint64_t tls_failures;           /* TLS handshakes that failed */
  uint64_t plaintext_peers;        /* a TLS node met a plaintext peer, or the reverse */
  uint64_t handshake_deadlines;    /* connections closed at the handshake deadline */
  uint64_t pre_auth_oversize;      /* frames over a limit before authentication */
  uint64_t connections_capped;     /* accepts refused by a connection cap */
  uint64_t handshakes_cut;         /* the oldest handshake cut for a new one (every
                                      unauthenticated slot taken) */
  uint64_t peers_evicted;          /* idle peers freed */
  uint64_t peers_capped;           /* new peers refused at max_peers */
  uint64_t queued_total_full;      /* sends refused at max_queued_total */
  uint64_t unreachable_dropped;    /* envelopes dropped at unreachable_give_up, or sent
                                      to a peer given up on */
  uint64_t memory_bound_refusals;  /* frames and payloads refused by the memory bound */
  uint64_t depth_refusals;         /* payloads nesting messages deeper than AKT_MSG_MAX_DEPTH
                                      (message.h), refused before they are decoded */
  uint64_t not_allowed;            /* envelopes, spawns and stops refused by the rules above */
  uint64_t foreign_senders;        /* envelopes whose sender is not on the peer's node */
  uint64_t log_lines_suppressed;   /* log lines left out by the interval */
} akt_security_stats;

#ifdef __cplusplus
}
#endif

#endif
