/* akt production backend — UDP datagram endpoints.
 *
 * dgram_open and dgram_close are synchronous loop calls (the bound port must
 * be known on return; no on_recv may run after close returns). Sends are
 * copied into a request posted to the loop. Each queued send holds a
 * reference on its endpoint, as does the open handle, so an endpoint closed
 * from the loop thread while sends from other threads are still queued is
 * freed only after the last of them ran.
 *
 * A group endpoint (dgram_open_group) is the same object, bound with
 * SO_REUSEADDR to the wildcard address on the group's port, then joined to
 * the group; its multicast settings (interface, loopback, hop limit 255)
 * are set before it is returned, so its first send already uses them.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "transport/addr.h"
#include "transport/net.h"
#include "transport/uv_backend.h"

struct akt_dgram {
  akt__uv_owner owner; /* first: udp.data points here */
  akt__uv_backend *u;
  uv_udp_t udp;
  akt_dgram_fn on_recv;
  void *data;
  akt_addr addr;    /* fixed before dgram_open returns */
  atomic_int refs;  /* the handle + queued sends */
  atomic_int closed; /* dgram_close was called */
  int handle_closing; /* loop thread only */
};

typedef struct dgram_send_req {
  akt__uv_req req; /* first: posted to the loop */
  akt_dgram *d;
  uv_udp_send_t send;
  struct sockaddr_storage to;
  size_t len;
  uint8_t buf[];
} dgram_send_req;

static void dgram_unref(akt_dgram *d) {
  if (atomic_fetch_sub(&d->refs, 1) == 1) free(d);
}

static void dgram_close_cb(uv_handle_t *h) {
  akt_dgram *d = h->data;
  d->handle_closing = 1;
  dgram_unref(d);
}

static void dgram_shut(akt_dgram *d) {
  if (d->handle_closing) return;
  d->handle_closing = 1;
  uv_udp_recv_stop(&d->udp);
  akt__uv_close_handle((uv_handle_t *)&d->udp);
}

static void dgram_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  akt_dgram *d = h->data;
  buf->base = (char *)d->u->loop.readbuf;
  buf->len = AKT__UV_READBUF_SIZE;
}

static void dgram_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                          const struct sockaddr *from, unsigned flags) {
  akt_dgram *d = h->data;
  if (nread < 0) {
    akt__uv_logf(d->u, AKT_LOG_DEBUG, "akt-uv: udp recv: %s", uv_strerror((int)nread));
    return;
  }
  /* nread == 0 without a sender means "nothing more for now". A truncated
   * datagram is dropped: delivery is best effort, half a message is worse. */
  if (from == NULL || (flags & UV_UDP_PARTIAL) || d->handle_closing) return;
  akt_addr src;
  if (akt__uv_addr_format(from, &src) != 0) return;
  d->on_recv(d, &src, (const uint8_t *)buf->base, (size_t)nread, d->data);
}

/* ---- open and close ------------------------------------------------------------ */

typedef struct dgram_open_call {
  akt__uv_call call; /* first */
  akt_dgram *d;
  struct sockaddr_storage ss;
  const char *group; /* a group endpoint's group address, else NULL */
  const char *iface; /* its interface address, or NULL */
  int rc;
} dgram_open_call;

/* Hop limit of what a group endpoint sends: RFC 6762 §11 asks 255 of mDNS
 * so that receivers can tell a packet from the local link. */
#define GROUP_HOPS 255

/* Joins c->group and sets the endpoint's multicast options. Returns 0 or
 * a libuv status. */
static int group_join(dgram_open_call *c) {
  uv_udp_t *h = &c->d->udp;
  int rc = uv_udp_set_membership(h, c->group, c->iface, UV_JOIN_GROUP);
  if (rc == 0 && c->iface != NULL) rc = uv_udp_set_multicast_interface(h, c->iface);
  if (rc == 0) rc = uv_udp_set_multicast_loop(h, 1);
  if (rc == 0) rc = uv_udp_set_multicast_ttl(h, GROUP_HOPS);
  /* No interface with that address: the caller's address is wrong. */
  return rc == UV_ENODEV ? UV_EADDRNOTAVAIL : rc;
}

static void dgram_open_fn(akt__uv_call *call) {
  dgram_open_call *c = (dgram_open_call *)call;
  akt_dgram *d = c->d;
  akt__uv_loop *loop = &d->u->loop;
  if (loop->closing_all) {
    free(d);
    c->rc = AKT_ESTOPPED;
    return;
  }
  if (uv_udp_init(&loop->uv, &d->udp) != 0) {
    free(d);
    c->rc = AKT_EBACKEND;
    return;
  }
  d->udp.data = d;
  unsigned flags = 0;
  if (c->group != NULL)
    flags = UV_UDP_REUSEADDR | (c->ss.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
  int rc = uv_udp_bind(&d->udp, (const struct sockaddr *)&c->ss, flags);
  if (rc == 0 && c->group != NULL) rc = group_join(c);
  if (rc == 0) {
    struct sockaddr_storage bound;
    int len = (int)sizeof bound;
    rc = uv_udp_getsockname(&d->udp, (struct sockaddr *)&bound, &len);
    if (rc == 0 && akt__uv_addr_format((struct sockaddr *)&bound, &d->addr) != 0) rc = UV_EINVAL;
  }
  if (rc == 0) rc = uv_udp_recv_start(&d->udp, dgram_alloc_cb, dgram_recv_cb);
  if (rc != 0) {
    dgram_shut(d); /* frees d */
    c->rc = akt__uv_bind_err(rc);
    return;
  }
  c->rc = 0;
}

/* Opens an endpoint bound to c->ss (and joined to c->group, if set). */
static int dgram_open(akt__uv_backend *u, dgram_open_call *c, akt_dgram_fn on_recv, void *data,
                      akt_dgram **out) {
  akt_dgram *d = calloc(1, sizeof *d);
  if (d == NULL) return AKT_ENOMEM;
  d->owner.close_cb = dgram_close_cb;
  d->u = u;
  d->on_recv = on_recv;
  d->data = data;
  atomic_init(&d->refs, 1);
  atomic_init(&d->closed, 0);
  c->d = d;
  if (akt__uv_loop_call(&u->loop, &c->call, dgram_open_fn) != 0) {
    free(d);
    return AKT_ESTOPPED;
  }
  if (c->rc != 0) return c->rc; /* dgram_open_fn freed d */
  *out = d;
  return 0;
}

int akt__uv_dgram_open(akt_backend *b, const akt_addr *addr, akt_dgram_fn on_recv, void *data,
                       akt_dgram **out) {
  akt__uv_backend *u = akt__uv_of(b);
  if (addr == NULL || on_recv == NULL || out == NULL) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  dgram_open_call c = {.rc = 0};
  if (akt__uv_addr_parse(addr, &c.ss) != 0) return AKT_EINVAL;
  return dgram_open(u, &c, on_recv, data, out);
}

int akt__uv_dgram_open_group(akt_backend *b, const akt_addr *group, const char *iface,
                             akt_dgram_fn on_recv, void *data, akt_dgram **out) {
  akt__uv_backend *u = akt__uv_of(b);
  if (group == NULL || on_recv == NULL || out == NULL || group->port == 0) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  dgram_open_call c = {.rc = 0, .group = group->host};
  if (iface != NULL && iface[0] != '\0') {
    if (strnlen(iface, AKT_HOST_MAX) == AKT_HOST_MAX) return AKT_EINVAL;
    c.iface = iface;
  }
  struct sockaddr_storage gs;
  if (akt__uv_addr_parse(group, &gs) != 0 || group->host[0] == '\0') return AKT_EINVAL;
  /* Bound to the wildcard address of the group's family, on its port. */
  akt_addr any = {.port = group->port};
  if (gs.ss_family == AF_INET) {
    if (!IN_MULTICAST(ntohl(((struct sockaddr_in *)&gs)->sin_addr.s_addr))) return AKT_EINVAL;
    memcpy(any.host, "0.0.0.0", sizeof "0.0.0.0");
  } else {
    if (!IN6_IS_ADDR_MULTICAST(&((struct sockaddr_in6 *)&gs)->sin6_addr)) return AKT_EINVAL;
    memcpy(any.host, "::", sizeof "::");
  }
  if (akt__uv_addr_parse(&any, &c.ss) != 0) return AKT_EINVAL;
  return dgram_open(u, &c, on_recv, data, out);
}

int akt__uv_dgram_addr(akt_backend *b, akt_dgram *d, akt_addr *out) {
  (void)b;
  if (d == NULL || out == NULL) return AKT_EINVAL;
  if (atomic_load(&d->closed)) return AKT_ECLOSED;
  *out = d->addr;
  return 0;
}

typedef struct dgram_close_call {
  akt__uv_call call; /* first */
  akt_dgram *d;
} dgram_close_call;

static void dgram_close_fn(akt__uv_call *call) { dgram_shut(((dgram_close_call *)call)->d); }

void akt__uv_dgram_close(akt_backend *b, akt_dgram *d) {
  akt__uv_backend *u = akt__uv_of(b);
  if (d == NULL || atomic_exchange(&d->closed, 1)) return;
  dgram_close_call c = {.d = d};
  /* Failure means the loop already shut down and freed the endpoint. */
  (void)akt__uv_loop_call(&u->loop, &c.call, dgram_close_fn);
}

/* ---- sending ------------------------------------------------------------------- */

static void dgram_send_cb(uv_udp_send_t *send, int status) {
  (void)status; /* best effort: a failed send is a lost datagram */
  free((char *)send - offsetof(dgram_send_req, send));
}

static void dgram_send_run(akt__uv_req *req) {
  dgram_send_req *r = (dgram_send_req *)req;
  akt_dgram *d = r->d;
  int rc = UV_ECANCELED;
  if (!d->handle_closing && !d->u->loop.closing_all) {
    uv_buf_t buf = {.base = (char *)r->buf, .len = r->len};
    rc = uv_udp_send(&r->send, &d->udp, &buf, 1, (const struct sockaddr *)&r->to, dgram_send_cb);
  }
  if (rc != 0) free(r);
  /* libuv completes (or cancels) the send before the handle's close
   * callback, so the request no longer needs the endpoint. */
  dgram_unref(d);
}

int akt__uv_dgram_send(akt_backend *b, akt_dgram *d, const akt_addr *to, const uint8_t *buf,
                       size_t len) {
  akt__uv_backend *u = akt__uv_of(b);
  if (d == NULL || to == NULL || (buf == NULL && len > 0)) return AKT_EINVAL;
  if (len > AKT__UV_DGRAM_MAX) return AKT_ELIMIT;
  if (atomic_load(&d->closed)) return AKT_ECLOSED;
  dgram_send_req *r = malloc(sizeof *r + len);
  if (r == NULL) return AKT_ENOMEM;
  if (akt__uv_addr_parse(to, &r->to) != 0) {
    free(r);
    return AKT_EINVAL;
  }
  r->req.run = dgram_send_run;
  r->d = d;
  r->len = len;
  if (len > 0) memcpy(r->buf, buf, len);
  atomic_fetch_add(&d->refs, 1);
  if (akt__uv_loop_post(&u->loop, &r->req) != 0) {
    atomic_fetch_sub(&d->refs, 1);
    free(r);
    return AKT_ECLOSED;
  }
  return 0;
}
