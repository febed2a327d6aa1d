/* akt production backend — TCP streams and listeners (internal).
 *
 * A stream is shared between the thread that writes to it and the loop
 * thread that owns its uv_tcp_t. Writers append to a locked queue of
 * chunks and post the stream's one embedded request (`kick`) with what they
 * want done (connect, start, flush, close); the loop takes the whole queue
 * per flush and hands it to one uv_write, which is where writes made during
 * one loop iteration coalesce. A write that finds nothing queued or in
 * flight is sent on the socket at once from the writer's thread (see
 * akt__uv_stream_write), which spares a small message the loop thread's
 * wake-up.
 */
#ifndef AKT_TRANSPORT_TCP_H
#define AKT_TRANSPORT_TCP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "akt/backend.h"
#include "transport/loop.h"

/* Smallest chunk a write allocates: small writes fill the tail chunk
 * instead of allocating one each. */
#define AKT__UV_CHUNK_MIN 16384u

/* Largest written chunk a stream keeps for reuse (one per stream). */
#define AKT__UV_SPARE_MAX ((size_t)4 << 20)

/* Most buffers handed to one uv_write (IOV_MAX on Linux); later chunks go
 * in the next write. */
#define AKT__UV_WRITE_BUFS_MAX 1024u

/* Pending connections the kernel queues for a listener. */
#define AKT__UV_BACKLOG 511

typedef struct akt__uv_chunk akt__uv_chunk;
struct akt__uv_chunk {
  akt__uv_chunk *next;
  size_t len, cap;
  uint8_t data[];
};

struct akt_stream {
  akt__uv_owner owner; /* first: tcp.data points here */
  akt__uv_req kick;
  akt__uv_backend *u;
  akt_addr peer; /* fixed before the stream is handed out */

  /* Guards the fields down to next_data. First in the backend's lock
   * order (uv_backend.h): the loop's mu may be taken under it (a post),
   * nothing else, and no callback runs under it. */
  pthread_mutex_t mu;
  akt__uv_chunk *q_head, *q_tail; /* written, not yet handed to uv_write */
  akt__uv_chunk *spare;           /* a written chunk kept for reuse, or NULL */
  int fd;                         /* the socket once connected, else -1; valid
                                     while `closed` is 0 */
  size_t pending;                 /* bytes queued or in flight */
  unsigned want;                  /* STREAM_WANT_* for the next kick */
  int kick_posted;
  int closed;      /* stream_close was called or the handle is closing */
  int user_closed; /* stream_close was called: on_close reports 0 */
  int claimed;     /* connect, stream_start or stream_close: the user holds it */
  int orphaned;    /* failed before being claimed; the claim closes it */
  int orphan_reason;
  int dead;   /* on_close has returned; a queued kick frees the stream */
  akt_stream_cbs next_cbs; /* from stream_start, for the kick */
  void *next_data;

  /* Loop thread only. */
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wreq;
  struct sockaddr_storage dest; /* connect target */
  akt_stream_cbs cbs;
  void *data;
  akt__uv_chunk *inflight; /* chunks given to the current uv_write */
  size_t inflight_bytes;
  uv_buf_t *bufs;
  size_t bufs_cap;
  int reason; /* for on_close */
  unsigned inited : 1, connecting : 1, connected : 1, started : 1, writing : 1,
      close_requested : 1, handle_closing : 1;
};

struct akt_listener {
  akt__uv_owner owner; /* first: tcp.data points here */
  akt__uv_backend *u;
  uv_tcp_t tcp;
  akt_accept_fn on_accept;
  void *data;
  akt_addr addr; /* the bound address, fixed before listen returns */
  atomic_int closed;
};

/* Accepts a pending connection on `server` into a new stream that is
 * connected but not reading (stream_start does that). Loop thread only.
 * Returns the stream, or NULL when it could not be allocated or accepted
 * (the connection is then dropped). */
akt_stream *akt__uv_stream_accept(akt__uv_backend *u, uv_stream_t *server);

#endif
