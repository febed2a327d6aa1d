/* akt — remoting: actors on other nodes, used like local ones.
 *
 * After akt_remote_start, the system listens for other nodes and its
 * address becomes akt://NAME@HOST:PORT. A PID of an actor on another node
 * (from akt_remote_pid, akt_remote_lookup, akt_remote_spawn, or the sender
 * of a message that came from there) takes akt_tell, akt_send, akt_request,
 * akt_ask, akt_reply, akt_forward, akt_stop and akt_watch exactly like a
 * local one. Messages travel as their full protobuf type name and packed
 * bytes: both nodes must register the type (akt_system_register_type); a
 * type the receiver does not know becomes a dead letter there.
 *
 * Delivery is at most once, in order per sender and receiver. A watch of a
 * remote actor ends with akt.Terminated when the actor stops, and also when
 * its node becomes unreachable (connection lost, heartbeats missing) or
 * restarts. Each node keeps one outbound connection per peer (opened on
 * first use; reconnected with backoff and jitter), a bounded send queue,
 * and one writer that coalesces what is queued into one write. A
 * connection begins with TLS (when configured) and a challenge/response on
 * the cluster's cookie that proves both sides know it without sending it
 * (akt/security.h, docs/security.md); nothing else is read before. A
 * connection's peer is the node it authenticated as: envelopes it carries
 * must come from that node's actors. Everything a peer sends is checked
 * against the limits below before memory is allocated for it; bad input
 * closes that connection only, with a reason and a counter.
 *
 * The same code runs on simulated links (the simulator) and on TCP (libuv).
 * docs/remoting.md describes the wire protocol.
 */
#ifndef AKT_REMOTE_H
#define AKT_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "akt/actor.h"
#include "akt/pid.h"
#include "akt/security.h"
#include "akt/system.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults and limits. */
#define AKT_REMOTE_PROTOCOL_VERSION 2 /* 2: the cookie exchange replaced the plaintext cookie */
#define AKT_REMOTE_DEFAULT_MAX_FRAME (16u << 20)   /* bytes in one frame */
#define AKT_REMOTE_DEFAULT_MAX_BATCH 4096          /* envelopes in one frame */
#define AKT_REMOTE_DEFAULT_MAX_NAME 1024           /* bytes in a path, address or type name */
#define AKT_REMOTE_DEFAULT_SEND_QUEUE (64u << 20)  /* bytes queued for one peer */
#define AKT_REMOTE_DEFAULT_HEARTBEAT AKT_MILLIS(500)
#define AKT_REMOTE_DEFAULT_FAILURE AKT_SECONDS(3)  /* silence before a peer is unreachable */
#define AKT_REMOTE_DEFAULT_BACKOFF_MIN AKT_MILLIS(100) /* first reconnect delay */
#define AKT_REMOTE_DEFAULT_BACKOFF_MAX AKT_SECONDS(5)  /* reconnect delay cap */
#define AKT_REMOTE_MAX_NAME_LIMIT 65535            /* the largest max_name accepted */

/* Options for akt_remote_start. Zero fields take the defaults. */
typedef struct akt_remote_options {
  /* This node's host in its address: what peers connect to (an IP address;
   * in a container, the pod's IP). NULL = the system's host; when that is
   * the default ("localhost", which names no node), the host the listener
   * reports, if it names one: in the simulator, the node's name. */
  const char *host;
  uint16_t port;             /* port to listen on; 0 = any (see akt_system_address) */
  size_t max_frame;          /* AKT_REMOTE_DEFAULT_MAX_FRAME */
  uint32_t max_batch;        /* AKT_REMOTE_DEFAULT_MAX_BATCH */
  uint32_t max_name;         /* AKT_REMOTE_DEFAULT_MAX_NAME */
  size_t send_queue;         /* AKT_REMOTE_DEFAULT_SEND_QUEUE */
  akt_duration heartbeat;    /* AKT_REMOTE_DEFAULT_HEARTBEAT */
  akt_duration failure;      /* AKT_REMOTE_DEFAULT_FAILURE */
  akt_duration backoff_min;  /* AKT_REMOTE_DEFAULT_BACKOFF_MIN */
  akt_duration backoff_max;  /* AKT_REMOTE_DEFAULT_BACKOFF_MAX */
  /* The address to listen on; NULL = host. "0.0.0.0" (or "::") listens on
   * every interface while peers are given `host`. */
  const char *listen_host;
  /* Authentication, TLS, what peers may do, and the limits before trust
   * (akt/security.h). Zero: refused, unless a cookie or TLS is set (or
   * security.insecure). */
  akt_security_options security;
} akt_remote_options;

/* Counters of a system's remoting. */
typedef struct akt_remote_stats {
  uint64_t connections_opened, connections_accepted, connections_closed;
  uint64_t frames_in, frames_out, bytes_in, bytes_out;
  uint64_t envelopes_in, envelopes_out;
  uint64_t handshakes_refused;   /* handshakes refused, either side: cookie, TLS, system,
                                    version, a cap */
  uint64_t protocol_errors;      /* connections closed for malformed input */
  uint64_t limit_errors;         /* connections closed for exceeding a limit */
  uint64_t heartbeat_timeouts;   /* peers declared unreachable */
  uint64_t send_queue_full;      /* sends refused: the peer's queue was full */
  uint64_t unknown_types;        /* envelopes of an unregistered type (dead letters) */
  uint64_t control_frames_dropped; /* Heartbeats, HeartbeatAcks and Closes not written
                                      because the peer's stream already held max_frame
                                      bytes it had not read (a peer that floods Heartbeats
                                      and never reads gets no more answers) */
  akt_security_stats security;   /* limits and refusals (akt/security.h) */
} akt_remote_stats;

/* Starts remoting: listens on listen_host:port and makes the system's
 * address akt://NAME@HOST:PORT (with the real port when port was 0).
 * Returns 0, AKT_EINVAL (an option out of range; neither a cookie nor TLS
 * without security.insecure; a cookie shorter than
 * AKT_SECURITY_MIN_COOKIE; a TLS file that cannot be used; an allow-list
 * entry outside /user; a host the backend cannot listen on, or no host to
 * give peers: an ERROR log line says which and what to set), AKT_ESTATE
 * (already started), AKT_EEXIST (address in use), AKT_ENOMEM,
 * AKT_EBACKEND. Remoting stops with the system. */
int akt_remote_start(akt_system *sys, const akt_remote_options *opts);

/* A PID for the actor at `address` (akt://SYSTEM@HOST:PORT/path) without
 * asking its node: messages to it reach whoever holds the path there. A
 * local address gives the local actor (AKT_ENOENT if none). On success
 * writes a new reference to *out. Returns 0, AKT_ENAME (malformed),
 * AKT_ESTATE (remoting not started), AKT_ENOENT, AKT_ENOMEM. */
int akt_remote_pid(akt_system *sys, const char *address, akt_pid **out);

/* Asks the node at `address` whether a live actor holds that path; on
 * success writes a new reference to *out (a PID of that incarnation).
 * Blocks (production) or runs the world (simulator) like akt_ask; call from
 * outside actors (inside, send akt.RemoteLookup to akt_remote_node_pid
 * with akt_request). The connection to the node is opened first: when an
 * attempt made for this call fails, the call ends at once with its cause
 * instead of waiting for the timeout. Returns 0, AKT_ENOENT (no such
 * actor), AKT_EREFUSED (nobody listens there, or the handshake failed:
 * another cookie, a TLS certificate refused, another system name, a node
 * other than the address names), AKT_EPROTO (TLS on one side only),
 * AKT_EUNREACH, AKT_ECLOSED (the
 * node closed the connection), AKT_ETIMEDOUT (no answer in time), AKT_ENAME,
 * AKT_ESTATE (remoting not started, or called from an actor or a backend
 * thread), AKT_ESTOPPED, AKT_ENOMEM. */
int akt_remote_lookup(akt_system *sys, const char *address, akt_duration timeout, akt_pid **out);

/* Spawns, on the node `node` (akt://SYSTEM@HOST:PORT), an actor of a kind
 * registered there with akt_remote_register_kind and listed in its
 * security.spawn_kinds, under /user with `name` (NULL: anonymous). Writes
 * a new reference to *out. Blocks like akt_remote_lookup, and reaches the
 * node the same way. Returns 0, AKT_ENOENT (unknown kind), AKT_EREFUSED
 * (the kind is not in the node's spawn_kinds), AKT_EEXIST, the codes of
 * akt_remote_lookup for a node that cannot be reached, AKT_ETIMEDOUT,
 * AKT_ENAME, AKT_ESTATE. */
int akt_remote_spawn(akt_system *sys, const char *node, const char *kind, const char *name,
                     akt_duration timeout, akt_pid **out);

/* Makes `def` (by def->kind) a kind other nodes may spawn here, when
 * security.spawn_kinds lists it too. `def` must outlive the system.
 * Returns 0, AKT_EINVAL, AKT_EEXIST (another def of that kind),
 * AKT_ENOMEM. */
int akt_remote_register_kind(akt_system *sys, const akt_actor_def *def);

/* The PID of the /system/remoting actor of the node at `node`, which
 * answers akt.RemoteLookup and akt.RemoteSpawn with akt.RemoteActor or
 * akt.RemoteError (proto/akt/remote.proto): for lookups from inside an
 * actor, with akt_request. Codes as akt_remote_pid. */
int akt_remote_node_pid(akt_system *sys, const char *node, akt_pid **out);

/* Fills *out (zeros when remoting is not started). */
void akt_remote_get_stats(akt_system *sys, akt_remote_stats *out);

#ifdef __cplusplus
}
#endif

#endif
