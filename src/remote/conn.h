/* akt — a remoting connection's insides, shared by conn.c (its life,
 * bytes, TLS and frames) and handshake.c (the cookie exchange that opens
 * it). Internal; see remote.h for the interface the rest of remoting uses.
 */
#ifndef AKT_REMOTE_CONN_H
#define AKT_REMOTE_CONN_H

#include <stdatomic.h>

#include "src/remote/auth.h"
#include "src/remote/remote.h"

/* A connection's state: forward only.
 *
 *   C_TLS     the TLS handshake (only when TLS is on: without it a
 *             connection starts in C_AUTH)
 *   C_AUTH    the cookie exchange (handshake.c): nothing else is read
 *   C_OPEN    frames (an outbound connection sends batches and heartbeats,
 *             an inbound one reads them and answers acks)
 *   C_CLOSED
 *
 * Before C_OPEN a connection is a stranger's: counted among the
 * unauthenticated (inbound), bound by the handshake deadline, and able to
 * make the node keep at most the auth exchange's fixed buffers and TLS's
 * (a record, a handshake message of AKT_SECURITY_TLS_HANDSHAKE_MAX). */
enum { C_TLS = 0, C_AUTH = 1, C_OPEN = 2, C_CLOSED = 3 };

struct akt__conn {
  akt__remote *r;
  akt_stream *s;            /* set before the connection is shared; NULL when detached */
  akt__endpoint *ep;        /* outbound: ours */
  akt__endpoint *in_ep;     /* inbound, once authenticated: the peer's, which keeps c as
                               its inbound connection (so it is not emptied meanwhile) */
  int outbound;
  _Atomic int state;        /* C_*: changed on the I/O context, read by the writer */
  int stream_gone;          /* the backend closed the stream (on_close): do not close it */
  int close_code;           /* why it closed (0 = by us, normally) */
  /* Counted in r->sources (sources.c) under `source` (the remote address),
   * and still among the unauthenticated. Detached connections are not. */
  int counted, unauth;
  char source[AKT_HOST_MAX];
  akt__auth *auth;          /* the cookie exchange, until C_OPEN */
  /* TLS (when on). The engine is used by the I/O context (reading,
   * handshake) and the endpoint's writer (writing): tls_mu serializes
   * them. Plaintext decrypted by one feed waits in `plain` until it is
   * read (at most what AKT__TLS_CHUNK bytes of records decrypt to);
   * ciphertext the stream refused (AKT_EFULL) waits in `backlog` and goes
   * before anything else (at most one write's worth: a write finds it
   * still there and is refused instead). */
  akt__tls *tls;
  akt__rmutex tls_mu;       /* AKT__RANK_CONN_TLS */
  akt__buf plain, backlog;
  akt__framer framer;       /* frames once open */
  uint64_t seq;             /* outbound: our connection number to the peer */
  uint64_t deadline;        /* backend time the handshake must be done by */
  uint64_t last_rx;         /* backend time of the last bytes received */
  uint64_t hb_seq;
  /* Outbound: our next Heartbeat may go on the stream even though it is
   * backed up, as the stream was found below the mark since the last one
   * did (akt__conn_control_fits). Where akt__conn_write is safe only (the
   * endpoint's write lock): not a bitfield, so that it shares no memory
   * location with fields of the I/O context's. */
  int hb_room;
  uint64_t timer_id;
  int timer_armed;
  akt__conn *prev, *next;   /* r->conns (remoting lock) */
  akt__buf *capture;        /* detached: where writes go */
  char peer[AKT__NODE_MAX]; /* the peer's address, once known */
  akt__rx_cache rx;         /* inbound: names remembered between envelopes */
};

static inline int akt__conn_state(const akt__conn *c) {
  return atomic_load_explicit(&c->state, memory_order_relaxed);
}

/* Moves the state forward (I/O context). */
void akt__conn_set_state(akt__conn *c, int to);

/* Closes for a failure: counts it by its code (limit, refused, timeout,
 * protocol), remembers the code for feed, logs (throttled) and closes.
 * Returns code. */
int akt__conn_fail(akt__conn *c, int code, const char *reason);

/* (Re)arms the connection's one timer: at the handshake deadline before
 * C_OPEN, every heartbeat interval after (I/O context). */
void akt__conn_rearm(akt__conn *c);

/* Hands bytes to the stream (or a detached connection's capture) as
 * they are: ciphertext under TLS. 0, AKT_ECLOSED, AKT_EFULL, AKT_ENOMEM. */
int akt__conn_write_raw(akt__conn *c, const uint8_t *data, size_t len);

/* Reads plaintext after the handshake: frames (conn.c). Returns 0 or the
 * code the connection was closed with. */
int akt__conn_frames_in(akt__conn *c, const uint8_t *data, size_t len);

/* ---- the handshake (handshake.c) ------------------------------------------------ */

/* Begins the handshake of a new connection (I/O context, or a detached
 * one): a TLS engine when TLS is on (an initiator's ClientHello goes out),
 * else the cookie exchange (an initiator's Hello goes out). Returns 0, or
 * AKT_ENOMEM or AKT_EBACKEND (nothing to close: the connection is not
 * usable). */
int akt__hs_begin(akt__conn *c);

/* TLS completed on c (C_TLS): the cookie exchange begins, bound to the
 * TLS session. Returns 0 or the code c was closed with. */
int akt__hs_tls_done(akt__conn *c);

/* Plaintext while C_AUTH: fed to the cookie exchange; what follows its
 * last frame once c opens is read as frames. Returns 0 or the code c was
 * closed with. */
int akt__hs_feed(akt__conn *c, const uint8_t *data, size_t len);

/* Frees what the handshake holds (c opened or is being freed). */
void akt__hs_end(akt__conn *c);

#endif
