/* akt production backend — name resolution with uv_getaddrinfo.
 *
 * The lookup itself runs on libuv's thread pool; its completion comes back
 * to the loop thread, where the user's callback runs. Lookups in flight are
 * linked on the loop so shutdown can cancel them (libuv cannot cancel one
 * already running); a lookup that shutdown cancels or overtakes still gets
 * its callback, with AKT_ESTOPPED, because its owner may free what it
 * holds only there (include/akt/backend.h).
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "transport/addr.h"
#include "transport/net.h"
#include "transport/uv_backend.h"

typedef struct resolve_req resolve_req;
struct resolve_req {
  akt__uv_req req; /* first: posted to the loop */
  akt__uv_backend *u;
  uv_getaddrinfo_t gai;
  akt_resolve_fn cb;
  void *data;
  resolve_req *prev, *next; /* loop->resolves; loop thread only */
  char name[];
};

static void resolve_unlink(resolve_req *r) {
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    r->u->loop.resolves = r->next;
  if (r->next != NULL) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

static int resolve_status(int status) {
  switch (status) {
    case UV_EAI_NONAME:
    case UV_EAI_NODATA:
    case UV_EAI_ADDRFAMILY: return AKT_ENOENT;
    default: return AKT_EBACKEND;
  }
}

static void resolve_done(uv_getaddrinfo_t *gai, int status, struct addrinfo *res) {
  resolve_req *r = gai->data;
  resolve_unlink(r);
  if (status == UV_ECANCELED || r->u->loop.closing_all) {
    uv_freeaddrinfo(res);
    r->cb(AKT_ESTOPPED, NULL, 0, r->data);
    free(r);
    return;
  }
  akt_addr addrs[AKT__UV_RESOLVE_MAX];
  size_t n = 0;
  if (status == 0) {
    for (struct addrinfo *ai = res; ai != NULL && n < AKT__UV_RESOLVE_MAX; ai = ai->ai_next) {
      if (akt__uv_addr_format(ai->ai_addr, &addrs[n]) != 0) continue;
      addrs[n].port = 0;
      n++;
    }
  }
  uv_freeaddrinfo(res);
  int rc = n > 0 ? 0 : status == 0 ? AKT_ENOENT : resolve_status(status);
  r->cb(rc, n > 0 ? addrs : NULL, n, r->data);
  free(r);
}

static void resolve_run(akt__uv_req *req) {
  resolve_req *r = (resolve_req *)req;
  akt__uv_loop *loop = &r->u->loop;
  if (loop->closing_all) {
    r->cb(AKT_ESTOPPED, NULL, 0, r->data);
    free(r);
    return;
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM; /* one entry per address, not per socket type */
  r->gai.data = r;
  int rc = uv_getaddrinfo(&loop->uv, &r->gai, resolve_done, r->name, NULL, &hints);
  if (rc != 0) {
    /* We are in a loop request, not inside resolve(): calling back now is
     * not re-entrant. */
    r->cb(resolve_status(rc), NULL, 0, r->data);
    free(r);
    return;
  }
  r->prev = NULL;
  r->next = loop->resolves;
  if (r->next != NULL) r->next->prev = r;
  loop->resolves = r;
}

int akt__uv_resolve(akt_backend *b, const char *name, akt_resolve_fn cb, void *data) {
  akt__uv_backend *u = akt__uv_of(b);
  if (name == NULL || cb == NULL) return AKT_EINVAL;
  size_t len = strnlen(name, AKT_HOST_MAX);
  if (len == 0 || len == AKT_HOST_MAX) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  resolve_req *r = calloc(1, sizeof *r + len + 1);
  if (r == NULL) return AKT_ENOMEM;
  r->req.run = resolve_run;
  r->u = u;
  r->cb = cb;
  r->data = data;
  memcpy(r->name, name, len + 1);
  if (akt__uv_loop_post(&u->loop, &r->req) != 0) {
    free(r);
    return AKT_ESTOPPED;
  }
  return 0;
}

void akt__uv_resolve_cancel_all(akt__uv_loop *loop) {
  for (resolve_req *r = loop->resolves; r != NULL; r = r->next) uv_cancel((uv_req_t *)&r->gai);
}
