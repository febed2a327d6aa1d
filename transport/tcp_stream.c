/* akt production backend — TCP streams.
 *
 * Who frees a stream: the loop thread, once on_close has returned and no
 * kick is queued (a kick queued by a writer just before the close would
 * otherwise touch freed memory); whichever of the close callback and the
 * kick comes last frees it. Callbacks to the user run from the close
 * callback, uv callbacks and kicks — never from inside the op a user
 * called, so nothing is re-entrant.
 *
 * on_close's reason: 0 once stream_close was called (whatever happens
 * after, even a failed connect: on_connect has reported that), else
 * AKT_ECLOSED when the peer closed or reset, else the error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "akt/error.h"
#include "transport/addr.h"
#include "transport/net.h"
#include "transport/tcp.h"
#include "transport/uv_backend.h"

enum {
  STREAM_WANT_CONNECT = 1u,
  STREAM_WANT_START = 2u,
  STREAM_WANT_FLUSH = 4u,
  STREAM_WANT_CLOSE = 8u,
};

static void stream_kick(akt__uv_req *req);
static void stream_close_cb(uv_handle_t *h);

static akt_stream *stream_of_kick(akt__uv_req *req) {
  return (akt_stream *)((char *)req - offsetof(akt_stream, kick));
}

static akt_stream *stream_new(akt__uv_backend *u) {
  akt_stream *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    free(s);
    return NULL;
  }
  s->owner.close_cb = stream_close_cb;
  s->kick.run = stream_kick;
  s->u = u;
  s->fd = -1;
  return s;
}

static void chunks_free(akt__uv_chunk *c) {
  while (c != NULL) {
    akt__uv_chunk *next = c->next;
    free(c);
    c = next;
  }
}

static void stream_free(akt_stream *s) {
  chunks_free(s->q_head);
  chunks_free(s->inflight);
  chunks_free(s->spare);
  free(s->bufs);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

/* Asks the loop for `want`; mu held. Posting under mu keeps kick_posted
 * exact. A failed post means the loop is gone, which only a call racing
 * akt_uv_backend_free can see. */
static void stream_want_locked(akt_stream *s, unsigned want) {
  s->want |= want;
  if (!s->kick_posted && akt__uv_loop_post(&s->u->loop, &s->kick) == 0) s->kick_posted = 1;
}

/* ---- closing (loop thread) ---------------------------------------------------- */

/* The last step of every stream: on_close, then free unless a kick is
 * queued (the kick frees it then). */
static void stream_finish(akt_stream *s) {
  pthread_mutex_lock(&s->mu);
  s->closed = 1;
  pthread_mutex_unlock(&s->mu);
  if (!s->u->loop.closing_all && s->cbs.on_close != NULL) s->cbs.on_close(s, s->reason, s->data);
  pthread_mutex_lock(&s->mu);
  s->dead = 1;
  int queued = s->kick_posted;
  pthread_mutex_unlock(&s->mu);
  if (!queued) stream_free(s);
}

static void stream_close_cb(uv_handle_t *h) {
  akt_stream *s = h->data;
  s->handle_closing = 1; /* also when the shutdown walk closed it */
  stream_finish(s);
}

/* Starts closing the handle with `reason` (0 after stream_close). An
 * accepted stream nobody has claimed yet is only marked: freeing it now
 * would leave its owner-to-be, who may be about to call stream_start from
 * another thread, with a dangling pointer. Its claim finishes the close,
 * and the shutdown walk still finds its open handle. */
static void stream_shut(akt_stream *s, int reason) {
  if (s->handle_closing) return;
  pthread_mutex_lock(&s->mu);
  s->closed = 1;
  if (!s->claimed) {
    if (!s->orphaned) s->orphan_reason = reason;
    s->orphaned = 1;
    pthread_mutex_unlock(&s->mu);
    return;
  }
  s->reason = s->user_closed ? 0 : reason;
  pthread_mutex_unlock(&s->mu);
  s->handle_closing = 1;
  /* Pending connect and write requests complete with UV_ECANCELED before
   * the close callback runs. */
  akt__uv_close_handle((uv_handle_t *)&s->tcp);
}

/* Closes after stream_close once everything queued has been written (or
 * can no longer be). */
static void stream_maybe_close(akt_stream *s) {
  if (!s->close_requested || s->handle_closing || s->connecting || s->writing) return;
  pthread_mutex_lock(&s->mu);
  int empty = s->q_head == NULL;
  pthread_mutex_unlock(&s->mu);
  if (empty || !s->connected) stream_shut(s, 0);
}

/* ---- reading and writing (loop thread) ---------------------------------------- */

static void stream_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  akt_stream *s = h->data;
  /* One loop thread, one read at a time: the loop's buffer is enough. */
  buf->base = (char *)s->u->loop.readbuf;
  buf->len = AKT__UV_READBUF_SIZE;
}

static void stream_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
  akt_stream *s = h->data;
  if (nread > 0) {
    /* After stream_close (even one whose kick has not run yet, say from
     * inside the previous on_read) the user expects no more bytes. */
    pthread_mutex_lock(&s->mu);
    int closed = s->closed;
    pthread_mutex_unlock(&s->mu);
    if (!closed && s->cbs.on_read != NULL)
      s->cbs.on_read(s, (const uint8_t *)buf->base, (size_t)nread, s->data);
  } else if (nread < 0) {
    stream_shut(s, nread == UV_EOF ? AKT_ECLOSED : akt__uv_err((int)nread));
  }
}

static void stream_read_start(akt_stream *s) {
  int rc = uv_read_start((uv_stream_t *)&s->tcp, stream_alloc_cb, stream_read_cb);
  if (rc != 0) stream_shut(s, akt__uv_err(rc));
}

static void stream_release_inflight(akt_stream *s) {
  /* The largest written chunk of at most AKT__UV_SPARE_MAX bytes is kept
   * for the next write that needs a chunk: a busy stream then reuses one
   * buffer instead of a malloc and free per write, which for large
   * chunks meant fresh pages (page faults and zeroing) every time. */
  akt__uv_chunk *keep = NULL, **link = &s->inflight;
  for (akt__uv_chunk **l = &s->inflight; *l != NULL; l = &(*l)->next)
    if ((*l)->cap <= AKT__UV_SPARE_MAX && (keep == NULL || (*l)->cap > keep->cap)) {
      keep = *l;
      link = l;
    }
  if (keep != NULL) {
    *link = keep->next;
    keep->next = NULL;
  }
  chunks_free(s->inflight);
  s->inflight = NULL;
  pthread_mutex_lock(&s->mu);
  s->pending -= s->inflight_bytes;
  if (keep != NULL && (s->spare == NULL || s->spare->cap < keep->cap)) {
    akt__uv_chunk *old = s->spare;
    s->spare = keep;
    keep = old;
  }
  pthread_mutex_unlock(&s->mu);
  chunks_free(keep); /* the one not kept, if any */
  s->inflight_bytes = 0;
  s->writing = 0;
}

static void stream_flush(akt_stream *s);

static void stream_write_cb(uv_write_t *req, int status) {
  akt_stream *s = req->handle->data;
  stream_release_inflight(s);
  if (status < 0) {
    if (status != UV_ECANCELED) stream_shut(s, akt__uv_err(status));
    return;
  }
  stream_flush(s);
  stream_maybe_close(s);
}

/* Detaches up to AKT__UV_WRITE_BUFS_MAX queued chunks. Returns the count. */
static size_t stream_take_chunks(akt_stream *s, size_t max, size_t *bytes) {
  size_t n = 0;
  *bytes = 0;
  pthread_mutex_lock(&s->mu);
  akt__uv_chunk *head = s->q_head, *last = NULL;
  for (akt__uv_chunk *c = head; c != NULL && n < max; c = c->next) {
    last = c;
    *bytes += c->len;
    n++;
  }
  if (last != NULL) {
    s->q_head = last->next;
    if (s->q_head == NULL) s->q_tail = NULL;
    last->next = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  s->inflight = n > 0 ? head : NULL;
  return n;
}

/* Hands everything queued to one uv_write, unless one is in flight (its
 * callback flushes again, so bytes queued meanwhile coalesce). */
static void stream_flush(akt_stream *s) {
  if (!s->connected || s->writing || s->handle_closing) return;
  pthread_mutex_lock(&s->mu);
  int orphaned = s->orphaned;
  pthread_mutex_unlock(&s->mu);
  if (orphaned) return;
  size_t max = AKT__UV_WRITE_BUFS_MAX;
  if (s->bufs_cap < max) {
    uv_buf_t *nb = realloc(s->bufs, max * sizeof *nb);
    if (nb != NULL) {
      s->bufs = nb;
      s->bufs_cap = max;
    } else if (s->bufs_cap == 0) {
      stream_shut(s, AKT_ENOMEM);
      return;
    } else {
      max = s->bufs_cap;
    }
  }
  size_t bytes;
  size_t n = stream_take_chunks(s, max, &bytes);
  if (n == 0) return;
  size_t i = 0;
  for (akt__uv_chunk *c = s->inflight; c != NULL; c = c->next, i++) {
    s->bufs[i].base = (char *)c->data; /* uv_buf_init would cut len to 32 bits */
    s->bufs[i].len = c->len;
  }
  s->inflight_bytes = bytes;
  s->writing = 1;
  int rc = uv_write(&s->wreq, (uv_stream_t *)&s->tcp, s->bufs, (unsigned)n, stream_write_cb);
  if (rc != 0) {
    stream_release_inflight(s);
    stream_shut(s, akt__uv_err(rc));
  }
}

/* ---- connecting (loop thread) -------------------------------------------------- */

/* The stream is connected: writers may send on its socket directly (see
 * akt__uv_stream_write). */
static void stream_set_connected(akt_stream *s) {
  uv_os_fd_t fd;
  s->connected = 1;
  if (uv_fileno((const uv_handle_t *)&s->tcp, &fd) != 0) return;
  pthread_mutex_lock(&s->mu);
  s->fd = fd;
  pthread_mutex_unlock(&s->mu);
}

static void stream_connect_cb(uv_connect_t *req, int status) {
  akt_stream *s = req->handle->data;
  s->connecting = 0;
  /* Canceled: the handle is closing (shutdown); the close callback ends it. */
  if (status == UV_ECANCELED) return;
  if (status < 0) {
    int code = akt__uv_connect_err(status);
    if (s->cbs.on_connect != NULL) s->cbs.on_connect(s, code, s->data);
    stream_shut(s, code);
    return;
  }
  stream_set_connected(s);
  if (s->cbs.on_connect != NULL) s->cbs.on_connect(s, 0, s->data);
  if (s->handle_closing) return;
  if (s->started) stream_read_start(s);
  stream_flush(s);
  stream_maybe_close(s);
}

/* Creates the handle and starts connecting. Returns 1 when the stream has
 * already finished (it may be freed: the caller must not touch it). */
static int stream_do_connect(akt_stream *s) {
  int rc = uv_tcp_init(&s->u->loop.uv, &s->tcp);
  if (rc != 0) {
    /* No handle to close: report and finish directly. */
    if (s->cbs.on_connect != NULL) s->cbs.on_connect(s, AKT_EUNREACH, s->data);
    s->handle_closing = 1;
    pthread_mutex_lock(&s->mu);
    s->reason = s->user_closed ? 0 : AKT_EUNREACH;
    pthread_mutex_unlock(&s->mu);
    stream_finish(s);
    return 1;
  }
  s->tcp.data = s;
  s->inited = 1;
  uv_tcp_nodelay(&s->tcp, 1); /* latency matters; we coalesce ourselves */
  rc = uv_tcp_connect(&s->conn, &s->tcp, (const struct sockaddr *)&s->dest, stream_connect_cb);
  if (rc != 0) {
    int code = akt__uv_connect_err(rc);
    if (s->cbs.on_connect != NULL) s->cbs.on_connect(s, code, s->data);
    stream_shut(s, code);
    return 0;
  }
  s->connecting = 1;
  return 0;
}

static void stream_kick(akt__uv_req *req) {
  akt_stream *s = stream_of_kick(req);
  pthread_mutex_lock(&s->mu);
  unsigned want = s->want;
  s->want = 0;
  s->kick_posted = 0;
  int dead = s->dead;
  int orphaned = s->orphaned;
  int orphan_reason = s->orphan_reason;
  akt_stream_cbs cbs = s->next_cbs;
  void *data = s->next_data;
  pthread_mutex_unlock(&s->mu);

  if (dead) {
    stream_free(s);
    return;
  }
  if (s->u->loop.closing_all) {
    /* Shutdown: a stream with a handle is closed by the walk; one whose
     * connect never started has nothing else to free it. */
    if (!s->inited) stream_free(s);
    return;
  }
  if ((want & STREAM_WANT_CONNECT) && stream_do_connect(s)) return;
  if (want & STREAM_WANT_START) {
    s->cbs = cbs;
    s->data = data;
    if (orphaned) {
      /* Claimed at last: report the earlier failure through on_close. */
      stream_shut(s, orphan_reason);
    } else if (!s->started) {
      s->started = 1;
      if (s->connected && !s->handle_closing) stream_read_start(s);
    }
  }
  if (want & STREAM_WANT_CLOSE) {
    s->close_requested = 1;
    if (orphaned) stream_shut(s, 0);
  }
  stream_flush(s);
  stream_maybe_close(s);
}

/* ---- accepted streams (loop thread) ------------------------------------------ */

akt_stream *akt__uv_stream_accept(akt__uv_backend *u, uv_stream_t *server) {
  akt_stream *s = stream_new(u);
  if (s == NULL) return NULL;
  if (uv_tcp_init(&u->loop.uv, &s->tcp) != 0) {
    stream_free(s);
    return NULL;
  }
  s->tcp.data = s;
  s->inited = 1;
  if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0) {
    s->claimed = 1; /* never handed out: close and free it now, silently */
    stream_shut(s, AKT_EBACKEND);
    return NULL;
  }
  struct sockaddr_storage ss;
  int len = (int)sizeof ss;
  if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) == 0)
    (void)akt__uv_addr_format((struct sockaddr *)&ss, &s->peer);
  uv_tcp_nodelay(&s->tcp, 1);
  stream_set_connected(s);
  return s;
}

/* ---- ops (any thread) -------------------------------------------------------- */

int akt__uv_connect(akt_backend *b, const akt_addr *addr, const akt_stream_cbs *cbs, void *data,
                    akt_stream **out) {
  akt__uv_backend *u = akt__uv_of(b);
  if (addr == NULL || cbs == NULL || out == NULL) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  struct sockaddr_storage dest;
  if (akt__uv_addr_parse(addr, &dest) != 0) return AKT_EINVAL;
  akt_stream *s = stream_new(u);
  if (s == NULL) return AKT_ENOMEM;
  s->dest = dest;
  s->peer = *addr;
  s->cbs = *cbs;
  s->data = data;
  s->started = 1;
  s->claimed = 1;
  /* Publish before posting: the connect may fail and on_close run on the
   * loop thread before this call returns. */
  *out = s;
  pthread_mutex_lock(&s->mu);
  stream_want_locked(s, STREAM_WANT_CONNECT);
  int posted = s->kick_posted;
  pthread_mutex_unlock(&s->mu);
  if (!posted) {
    *out = NULL;
    stream_free(s);
    return AKT_ESTOPPED;
  }
  return 0;
}

int akt__uv_stream_start(akt_backend *b, akt_stream *s, const akt_stream_cbs *cbs, void *data) {
  (void)b;
  if (s == NULL || cbs == NULL) return AKT_EINVAL;
  pthread_mutex_lock(&s->mu);
  /* An orphan (failed before this claim) is accepted: on_close follows. */
  if (s->user_closed || (s->closed && !s->orphaned)) {
    pthread_mutex_unlock(&s->mu);
    return AKT_ECLOSED;
  }
  s->claimed = 1;
  s->next_cbs = *cbs;
  s->next_data = data;
  stream_want_locked(s, STREAM_WANT_START);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

int akt__uv_stream_write(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len) {
  akt__uv_backend *u = akt__uv_of(b);
  if (s == NULL || (buf == NULL && len > 0)) return AKT_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  if (s->closed) {
    rc = AKT_ECLOSED;
  } else if (len > u->write_limit || s->pending > u->write_limit - len) {
    rc = AKT_EFULL;
  } else if (len > 0) {
    if (s->fd >= 0 && s->pending == 0 && !atomic_load_explicit(&u->stopping, memory_order_relaxed)) {
      /* Nothing queued or in flight: send from this thread now. This
       * saves waking the loop thread (an eventfd write and a context
       * switch, most of a small message's latency) and copying the bytes
       * into a chunk. Safe beside libuv: no uv_write is in flight (pending
       * counts its bytes until its callback), none can start while we
       * hold mu, and the socket stays open while `closed` is 0, which
       * changes under mu before the handle is closed (at shutdown, the
       * walk closes handles after `stopping` was set and the workers were
       * joined). MSG_NOSIGNAL: this
       * thread need not block SIGPIPE like the loop thread does. What the
       * socket does not take now — all of it on an error, which the
       * loop's uv_write then meets and reports — is queued as before. */
      ssize_t n;
      do {
        n = send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
      if (n > 0) {
        buf += n;
        len -= (size_t)n;
        if (len == 0) goto out;
      }
    }
    akt__uv_chunk *t = s->q_tail;
    if (t == NULL || t->cap - t->len < len) {
      if (s->spare != NULL && s->spare->cap >= len) {
        t = s->spare; /* see stream_release_inflight */
        s->spare = NULL;
      } else {
        size_t cap = len > AKT__UV_CHUNK_MIN ? len : AKT__UV_CHUNK_MIN;
        t = malloc(sizeof *t + cap);
        if (t == NULL) {
          rc = AKT_ENOMEM;
          goto out;
        }
        t->cap = cap;
      }
      t->next = NULL;
      t->len = 0;
      if (s->q_tail != NULL)
        s->q_tail->next = t;
      else
        s->q_head = t;
      s->q_tail = t;
    }
    memcpy(t->data + t->len, buf, len);
    t->len += len;
    s->pending += len;
    stream_want_locked(s, STREAM_WANT_FLUSH);
  }
out:
  pthread_mutex_unlock(&s->mu);
  return rc;
}

size_t akt__uv_stream_pending(akt_backend *b, akt_stream *s) {
  (void)b;
  if (s == NULL) return 0;
  pthread_mutex_lock(&s->mu);
  size_t n = s->pending;
  pthread_mutex_unlock(&s->mu);
  return n;
}

int akt__uv_stream_peer(akt_backend *b, akt_stream *s, akt_addr *out) {
  (void)b;
  if (s == NULL || out == NULL) return AKT_EINVAL;
  pthread_mutex_lock(&s->mu);
  int closed = s->closed;
  pthread_mutex_unlock(&s->mu);
  if (closed) return AKT_ECLOSED;
  *out = s->peer;
  return 0;
}

void akt__uv_stream_close(akt_backend *b, akt_stream *s) {
  (void)b;
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  if (!s->user_closed && (!s->closed || s->orphaned)) {
    s->closed = 1;
    s->user_closed = 1;
    s->claimed = 1;
    stream_want_locked(s, STREAM_WANT_CLOSE);
  }
  pthread_mutex_unlock(&s->mu);
}
