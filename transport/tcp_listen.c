/* akt production backend — TCP listeners.
 *
 * listen and listener_close are synchronous loop calls: listen must report
 * "address in use" and the real port before it returns, and listener_close
 * promises no on_accept after it returns.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "transport/addr.h"
#include "transport/net.h"
#include "transport/tcp.h"
#include "transport/uv_backend.h"

typedef struct listen_call {
  akt__uv_call call; /* first */
  akt_listener *l;
  struct sockaddr_storage ss;
  int rc;
} listen_call;

static void listener_close_cb(uv_handle_t *h) { free(h->data); }

static void listener_connection_cb(uv_stream_t *server, int status) {
  akt_listener *l = server->data;
  if (status < 0) {
    akt__uv_logf(l->u, AKT_LOG_WARN, "akt-uv: accept on %s:%u: %s", l->addr.host,
                 (unsigned)l->addr.port, uv_strerror(status));
    return;
  }
  akt_stream *s = akt__uv_stream_accept(l->u, server);
  if (s == NULL) {
    akt__uv_logf(l->u, AKT_LOG_WARN, "akt-uv: could not accept a connection on %s:%u",
                 l->addr.host, (unsigned)l->addr.port);
    return;
  }
  l->on_accept(l, s, l->data);
}

static void listen_fn(akt__uv_call *call) {
  listen_call *c = (listen_call *)call;
  akt_listener *l = c->l;
  akt__uv_loop *loop = &l->u->loop;
  if (loop->closing_all) {
    free(l);
    c->rc = AKT_ESTOPPED;
    return;
  }
  if (uv_tcp_init(&loop->uv, &l->tcp) != 0) {
    free(l);
    c->rc = AKT_EBACKEND;
    return;
  }
  l->tcp.data = l;
  /* libuv reports EADDRINUSE from uv_listen rather than uv_tcp_bind. */
  int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&c->ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&l->tcp, AKT__UV_BACKLOG, listener_connection_cb);
  if (rc == 0) {
    struct sockaddr_storage bound;
    int len = (int)sizeof bound;
    rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len);
    if (rc == 0 && akt__uv_addr_format((struct sockaddr *)&bound, &l->addr) != 0) rc = UV_EINVAL;
  }
  if (rc != 0) {
    akt__uv_close_handle((uv_handle_t *)&l->tcp); /* frees l */
    c->rc = akt__uv_bind_err(rc);
    return;
  }
  c->rc = 0;
}

int akt__uv_listen(akt_backend *b, const akt_addr *addr, akt_accept_fn on_accept, void *data,
                   akt_listener **out) {
  akt__uv_backend *u = akt__uv_of(b);
  if (addr == NULL || on_accept == NULL || out == NULL) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  listen_call c = {.rc = 0};
  if (akt__uv_addr_parse(addr, &c.ss) != 0) return AKT_EINVAL;
  akt_listener *l = calloc(1, sizeof *l);
  if (l == NULL) return AKT_ENOMEM;
  l->owner.close_cb = listener_close_cb;
  l->u = u;
  l->on_accept = on_accept;
  l->data = data;
  atomic_init(&l->closed, 0);
  c.l = l;
  if (akt__uv_loop_call(&u->loop, &c.call, listen_fn) != 0) {
    free(l);
    return AKT_ESTOPPED;
  }
  if (c.rc != 0) return c.rc; /* listen_fn freed l */
  *out = l;
  return 0;
}

int akt__uv_listener_addr(akt_backend *b, akt_listener *l, akt_addr *out) {
  (void)b;
  if (l == NULL || out == NULL) return AKT_EINVAL;
  if (atomic_load(&l->closed)) return AKT_ECLOSED;
  *out = l->addr;
  return 0;
}

typedef struct listener_close_call {
  akt__uv_call call; /* first */
  akt_listener *l;
} listener_close_call;

static void listener_close_fn(akt__uv_call *call) {
  listener_close_call *c = (listener_close_call *)call;
  akt__uv_close_handle((uv_handle_t *)&c->l->tcp);
}

void akt__uv_listener_close(akt_backend *b, akt_listener *l) {
  akt__uv_backend *u = akt__uv_of(b);
  if (l == NULL || atomic_exchange(&l->closed, 1)) return;
  listener_close_call c = {.l = l};
  /* Failure means the loop already shut down and freed the listener. */
  (void)akt__uv_loop_call(&u->loop, &c.call, listener_close_fn);
}
