/* akt production backend — SRV lookups with libresolv.
 *
 * libuv resolves addresses (getaddrinfo) but has no SRV query; glibc's
 * libresolv does. res_nquery asks the servers of /etc/resolv.conf (with
 * its timeouts and retries, and again over TCP when the answer comes back
 * truncated, as a Kubernetes headless service with many pods makes it),
 * and ns_initparse / ns_parserr / dn_expand read the answer. Each lookup
 * has its own resolver state (res_ninit), so lookups are thread-safe; they
 * block, so they run as offloaded work on libuv's thread pool, like
 * getaddrinfo, and the answer is posted back to the loop thread, where the
 * callback runs.
 *
 * Why not c-ares: it would be a second resolver next to getaddrinfo, with
 * its own reading of the system's configuration and its own event loop
 * integration, and a new dependency, for one query type that libresolv —
 * part of glibc, nothing to install — already answers on a thread akt has.
 *
 * Shutdown. The callback always runs once (include/akt/backend.h): a
 * lookup the backend's shutdown reaches before it started is not sent
 * (offloaded work then runs on the loop thread, which must not block) and
 * answers AKT_ESTOPPED.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "transport/net.h"
#include "transport/uv_backend.h"

/* Bytes of one answer: DNS's largest message (a TCP answer). */
#define SRV_ANSWER_MAX 65535

typedef struct srv_req {
  akt__uv_req req; /* first: posted to the loop with the answer */
  akt__uv_backend *u;
  akt_resolve_srv_fn cb;
  void *data;
  int status;
  size_t n;
  akt_srv *recs; /* n records, or NULL */
  char name[];
} srv_req;

/* The answer, on the loop thread. */
static void srv_answer(akt__uv_req *req) {
  srv_req *r = (srv_req *)req;
  r->cb(r->status, r->status ? NULL : r->recs, r->status ? 0 : r->n, r->data);
  free(r->recs);
  free(r);
}

/* Points the resolver at the backend's configured server, if any. */
static void use_server(const akt__uv_backend *u, struct __res_state *st) {
  if (!u->dns_server.host[0]) return;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(u->dns_server.port);
  if (inet_pton(AF_INET, u->dns_server.host, &sin.sin_addr) != 1) return; /* checked at new */
  st->nsaddr_list[0] = sin;
  st->nscount = 1;
}

/* Reads the SRV records of an answer into r. Returns 0, AKT_ENOENT (none),
 * AKT_EBACKEND (malformed) or AKT_ENOMEM. */
static int srv_parse(srv_req *r, const unsigned char *ans, int len) {
  ns_msg msg;
  if (ns_initparse(ans, len, &msg) < 0) return AKT_EBACKEND;
  int count = ns_msg_count(msg, ns_s_an);
  if (count <= 0) return AKT_ENOENT;
  size_t cap = (size_t)count < AKT_SRV_MAX ? (size_t)count : AKT_SRV_MAX;
  r->recs = calloc(cap, sizeof *r->recs);
  if (r->recs == NULL) return AKT_ENOMEM;
  for (int i = 0; i < count && r->n < cap; i++) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return AKT_EBACKEND;
    /* The answer may hold CNAMEs before the records, and other types. */
    if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in) continue;
    const unsigned char *rd = ns_rr_rdata(rr);
    /* priority, weight, port (2 bytes each), then the target's name. */
    if (ns_rr_rdlen(rr) < 7) return AKT_EBACKEND;
    akt_srv *s = &r->recs[r->n];
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, s->target, sizeof s->target) < 0)
      return AKT_EBACKEND;
    /* Target "." means "no such service here" (RFC 2782). */
    if (!s->target[0] || !strcmp(s->target, ".")) continue;
    s->priority = ns_get16(rd);
    s->weight = ns_get16(rd + 2);
    s->port = ns_get16(rd + 4);
    r->n++;
  }
  return r->n ? 0 : AKT_ENOENT;
}

/* On a pool thread (or on the loop thread at shutdown, without querying). */
static void srv_work(void *arg) {
  srv_req *r = arg;
  akt__uv_backend *u = r->u;
  r->status = AKT_ESTOPPED;
  if (!atomic_load(&u->stopping)) {
    struct __res_state st;
    memset(&st, 0, sizeof st);
    unsigned char *ans = malloc(SRV_ANSWER_MAX);
    if (ans == NULL) {
      r->status = AKT_ENOMEM;
    } else if (res_ninit(&st) != 0) {
      r->status = AKT_EBACKEND;
    } else {
      use_server(u, &st);
      int len = res_nquery(&st, r->name, ns_c_in, ns_t_srv, ans, SRV_ANSWER_MAX);
      if (len < 0)
        r->status = st.res_h_errno == HOST_NOT_FOUND || st.res_h_errno == NO_DATA ? AKT_ENOENT
                                                                                  : AKT_EBACKEND;
      else
        r->status = srv_parse(r, ans, len);
      res_nclose(&st);
    }
    free(ans);
  }
  r->req.run = srv_answer;
  /* Refused only once the loop has closed, when this runs on the loop
   * thread itself (pool work ends before the loop closes): answer here. */
  if (akt__uv_loop_post(&u->loop, &r->req) != 0) {
    r->status = AKT_ESTOPPED;
    srv_answer(&r->req);
  }
}

int akt__uv_resolve_srv(akt_backend *b, const char *name, akt_resolve_srv_fn cb, void *data) {
  akt__uv_backend *u = akt__uv_of(b);
  if (name == NULL || cb == NULL) return AKT_EINVAL;
  size_t len = strnlen(name, AKT_HOST_MAX);
  if (len == 0 || len == AKT_HOST_MAX) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  srv_req *r = calloc(1, sizeof *r + len + 1);
  if (r == NULL) return AKT_ENOMEM;
  r->u = u;
  r->cb = cb;
  r->data = data;
  memcpy(r->name, name, len + 1);
  int rc = akt__uv_offload(b, srv_work, r);
  if (rc != 0) free(r);
  return rc;
}
