/* akt — the DNS discovery provider: the addresses or SRV records of one
 * name, through the backend's resolver.
 *
 * A records suit a name that lists every member (a Kubernetes headless
 * service has an A record per ready pod), all at one gossip port. SRV
 * records also carry the port — a headless service publishes
 * _PORTNAME._PROTO.SERVICE.NS.svc.cluster.local for each named port — and
 * name targets, each of which is then resolved. Everything runs through
 * the backend's resolve operations (transport/resolve.c and resolve_srv.c
 * in production, the name table in the simulator), in the lookup kit
 * (discovery_kit.h): a lookup answers when the last name has answered, or
 * at its deadline with what it has.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/discovery_kit.h"
#include "src/util/assert.h"

typedef struct dns_disc {
  akt__dkit k; /* first: the kit's discovery is the provider's */
  char name[AKT_HOST_MAX];
  int srv;
  uint16_t port; /* A records */
} dns_disc;

typedef struct srv_req {
  akt__dkit *k;
  uint64_t gen;
} srv_req;

/* Lower priority first, then higher weight (RFC 2782's preference), then
 * by name and port, so that the order — and so which records fit under
 * the limit — does not depend on the server's rotation. */
static int srv_cmp(const void *pa, const void *pb) {
  const akt_srv *a = pa, *b = pb;
  if (a->priority != b->priority) return a->priority < b->priority ? -1 : 1;
  if (a->weight != b->weight) return a->weight > b->weight ? -1 : 1;
  int c = strcmp(a->target, b->target);
  if (c) return c;
  return (a->port > b->port) - (a->port < b->port);
}

static void on_srv(int status, const akt_srv *recs, size_t n, void *data) {
  srv_req *r = data;
  akt__dkit *k = r->k;
  akt__dkit_answer ans = {0};
  akt_srv *sorted = NULL;
  akt__dkit_lock(k);
  if (!akt__dkit_current(k, r->gen)) goto out;
  if (status) {
    akt__dkit_fail(k, status, "no SRV records", &ans);
    goto out;
  }
  sorted = malloc(n * sizeof *sorted);
  if (!sorted) {
    akt__dkit_fail(k, AKT_ENOMEM, "out of memory sorting SRV records", &ans);
    goto out;
  }
  memcpy(sorted, recs, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, srv_cmp);
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    const akt_srv *s = &sorted[i];
    if (i && !srv_cmp(s, &sorted[i - 1])) continue; /* the same record twice */
    if (!s->port || !s->target[0] || used >= AKT_DISCOVERY_MAX_ADDRS) {
      k->stats.records_skipped++;
      continue;
    }
    used++;
    akt__dkit_resolve(k, s->target, s->port); /* a failure is counted and kept */
  }
  akt__dkit_seal(k, &ans);
out:
  free(sorted);
  free(r);
  akt__dkit_release(k, &ans);
}

static int lookup(akt_discovery *d, akt_backend *b, akt_discovery_fn cb, void *arg) {
  dns_disc *p = d->impl;
  akt__dkit *k = &p->k;
  akt__dkit_answer none = {0};
  akt__dkit_lock(k);
  int rc = akt__dkit_begin(k, b, cb, arg);
  if (rc) goto out;
  if (!p->srv) {
    /* The name is no IP literal (checked at creation): this resolves
     * later, so sealing now cannot answer inside the call. */
    rc = akt__dkit_resolve(k, p->name, p->port);
    if (!rc) akt__dkit_seal(k, &none);
    AKT_ASSERT(!none.cb);
  } else if (!b->ops->resolve_srv) {
    rc = AKT_ENOTSUP;
  } else {
    srv_req *r = malloc(sizeof *r);
    rc = AKT_ENOMEM;
    if (r) {
      *r = (srv_req){.k = k, .gen = k->gen};
      akt__dkit_ref(k);
      rc = b->ops->resolve_srv(b, p->name, on_srv, r);
      if (rc) {
        akt__dkit_unref(k);
        free(r);
      }
    }
  }
  if (rc) akt__dkit_abort(k);
out:
  akt__dkit_unlock(k);
  return rc;
}

static void destroy(akt__dkit *k) {
  dns_disc *p = k->d.impl;
  akt__dkit_fini(k);
  free(p);
}

static const akt_discovery_ops dns_ops = {
    .name = "dns",
    .lookup = lookup,
    .cancel = akt__dkit_op_cancel,
    .free = akt__dkit_op_free,
    .stats = akt__dkit_op_stats,
};

/* RFC 2782's form: "_service._proto.rest". */
static int srv_form(const char *name) {
  const char *dot = strchr(name, '.');
  return name[0] == '_' && dot && dot[1] == '_' && strchr(dot + 1, '.');
}

int akt_discovery_dns_new(const akt_dns_discovery_options *o, akt_discovery **out) {
  if (!o || !out || !o->name) return AKT_EINVAL;
  size_t len = strnlen(o->name, AKT_HOST_MAX);
  if (len == 0 || len == AKT_HOST_MAX || akt__dkit_is_ip(o->name)) return AKT_EINVAL;
  int srv;
  switch (o->record) {
    case AKT_DNS_AUTO: srv = srv_form(o->name); break;
    case AKT_DNS_A: srv = 0; break;
    case AKT_DNS_SRV: srv = 1; break;
    default: return AKT_EINVAL;
  }
  if (!srv && !o->port) return AKT_EINVAL;
  dns_disc *p = calloc(1, sizeof *p);
  if (!p) return AKT_ENOMEM;
  memcpy(p->name, o->name, len + 1);
  p->srv = srv;
  p->port = o->port;
  akt_duration timeout = o->timeout ? o->timeout : AKT_DISCOVERY_DEFAULT_TIMEOUT;
  if (akt__dkit_init(&p->k, "dns", &dns_ops, p, timeout, destroy)) {
    free(p);
    return AKT_ENOMEM;
  }
  *out = &p->k.d;
  return 0;
}
