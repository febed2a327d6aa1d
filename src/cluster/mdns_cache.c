/* akt — the mDNS querier's cache (src/cluster/mdns_cache.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "src/cluster/mdns_cache.h"
#include "src/util/assert.h"

#define NS_PER_S 1000000000ull
#define CACHE_FIRST_CAP 8 /* entries before the first growth */

/* When a record received at `now` with `ttl` seconds expires. */
static uint64_t expiry(uint64_t now, uint32_t ttl) {
  if (ttl == 0) return now + AKT__MDNS_GOODBYE_NS;
  if (ttl > AKT__MDNS_TTL_MAX) ttl = AKT__MDNS_TTL_MAX;
  return now + (uint64_t)ttl * NS_PER_S;
}

int akt__mdns_inst_alive(const akt__mdns_inst *i, uint64_t now) {
  return i->ptr_expires > now && i->srv_expires > now;
}

/* An instance's end of life: the earlier of its records' (0 while one of
 * them is missing: an incomplete entry goes first). */
static uint64_t inst_end(const akt__mdns_inst *i) {
  if (!i->ptr_expires || !i->srv_expires) return 0;
  return i->ptr_expires < i->srv_expires ? i->ptr_expires : i->srv_expires;
}

static uint64_t host_end(const akt__mdns_host *h) {
  uint64_t end = 0;
  for (size_t i = 0; i < h->n; i++)
    if (h->addrs[i].expires > end) end = h->addrs[i].expires;
  return end;
}

/* Makes room for one more element of `size` bytes in *arr (n used, *cap
 * allocated): grows up to AKT__MDNS_CACHE_MAX. Returns 1 if there is room. */
static int room(void **arr, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return 1;
  if (*cap >= AKT__MDNS_CACHE_MAX) return 0;
  size_t ncap = *cap ? *cap * 2 : CACHE_FIRST_CAP;
  if (ncap > AKT__MDNS_CACHE_MAX) ncap = AKT__MDNS_CACHE_MAX;
  void *grown = realloc(*arr, ncap * size);
  if (!grown) return 0;
  *arr = grown;
  *cap = ncap;
  return 1;
}

static akt__mdns_inst *inst_find(akt__mdns_cache *c, const akt__mdns_name *name) {
  for (size_t i = 0; i < c->ninst; i++)
    if (akt__mdns_name_eq(&c->inst[i].name, name)) return &c->inst[i];
  return NULL;
}

static akt__mdns_inst *inst_get(akt__mdns_cache *c, const akt__mdns_name *name,
                                akt__mdns_update *u) {
  akt__mdns_inst *i = inst_find(c, name);
  if (i) return i;
  if (room((void **)&c->inst, c->ninst, &c->capinst, sizeof *c->inst)) {
    i = &c->inst[c->ninst++];
  } else {
    AKT_ASSERT(c->ninst > 0);
    i = &c->inst[0];
    for (size_t k = 1; k < c->ninst; k++)
      if (inst_end(&c->inst[k]) < inst_end(i)) i = &c->inst[k];
    u->evictions++;
  }
  memset(i, 0, sizeof *i);
  i->name = *name;
  return i;
}

akt__mdns_host *akt__mdns_cache_host(akt__mdns_cache *c, const akt__mdns_name *name) {
  for (size_t i = 0; i < c->nhosts; i++)
    if (akt__mdns_name_eq(&c->hosts[i].name, name)) return &c->hosts[i];
  return NULL;
}

static akt__mdns_host *host_get(akt__mdns_cache *c, const akt__mdns_name *name,
                                akt__mdns_update *u) {
  akt__mdns_host *h = akt__mdns_cache_host(c, name);
  if (h) return h;
  if (room((void **)&c->hosts, c->nhosts, &c->caphosts, sizeof *c->hosts)) {
    h = &c->hosts[c->nhosts++];
  } else {
    AKT_ASSERT(c->nhosts > 0);
    h = &c->hosts[0];
    for (size_t k = 1; k < c->nhosts; k++)
      if (host_end(&c->hosts[k]) < host_end(h)) h = &c->hosts[k];
    u->evictions++;
  }
  memset(h, 0, sizeof *h);
  h->name = *name;
  return h;
}

/* 1 if some cached instance's SRV names `host` as its target. */
static int is_target(const akt__mdns_cache *c, const akt__mdns_name *host) {
  for (size_t i = 0; i < c->ninst; i++)
    if (c->inst[i].srv_expires && akt__mdns_name_eq(&c->inst[i].target, host)) return 1;
  return 0;
}

static void take_addr(akt__mdns_cache *c, const akt__mdns_record *r, uint64_t now,
                      akt__mdns_update *u) {
  char ip[AKT__MDNS_ADDR_TEXT];
  int af = r->type == AKT__MDNS_A ? AF_INET : AF_INET6;
  if (!inet_ntop(af, r->addr, ip, sizeof ip)) return;
  akt__mdns_host *h = host_get(c, &r->name, u);
  /* Cache-flush: this packet holds the whole set now; what came more
   * than a second ago goes (RFC 6762 §10.2). */
  if (r->flush) {
    size_t keep = 0;
    for (size_t i = 0; i < h->n; i++)
      if (h->addrs[i].received + NS_PER_S > now) h->addrs[keep++] = h->addrs[i];
    h->n = keep;
  }
  akt__mdns_haddr *a = NULL;
  for (size_t i = 0; i < h->n && !a; i++)
    if (!strcmp(h->addrs[i].ip, ip)) a = &h->addrs[i];
  if (!a) {
    if (h->n < AKT__MDNS_HOST_ADDRS) {
      a = &h->addrs[h->n++];
    } else {
      a = &h->addrs[0];
      for (size_t i = 1; i < h->n; i++)
        if (h->addrs[i].expires < a->expires) a = &h->addrs[i];
      u->evictions++;
    }
    memcpy(a->ip, ip, sizeof ip);
  }
  a->expires = expiry(now, r->ttl);
  a->received = now;
}

akt__mdns_update akt__mdns_cache_take(akt__mdns_cache *c, const akt__mdns_msg *m,
                                      const akt__mdns_name *service, const akt__mdns_name *own,
                                      const akt__mdns_name *own_target, uint16_t own_port,
                                      uint64_t now) {
  akt__mdns_update u = {0};
  akt__mdns_cache_expire(c, now);
  /* Instances first, so that the address records of their targets, which
   * may come before them in the packet, find them. */
  for (size_t k = 0; k < m->nr; k++) {
    const akt__mdns_record *r = &m->r[k];
    if (r->klass != AKT__MDNS_IN) continue;
    if (r->type == AKT__MDNS_PTR && akt__mdns_name_eq(&r->name, service) &&
        akt__mdns_name_child_of(&r->target, service)) {
      akt__mdns_inst *i = inst_get(c, &r->target, &u);
      i->ptr_expires = expiry(now, r->ttl);
      i->ptr_ttl = r->ttl > AKT__MDNS_TTL_MAX ? AKT__MDNS_TTL_MAX : r->ttl;
    } else if (r->type == AKT__MDNS_SRV && akt__mdns_name_child_of(&r->name, service)) {
      if (own && akt__mdns_name_eq(&r->name, own) && r->ttl &&
          (r->port != own_port || !akt__mdns_name_eq(&r->target, own_target)))
        u.conflict = 1;
      akt__mdns_inst *i = inst_get(c, &r->name, &u);
      i->srv_expires = expiry(now, r->ttl);
      i->target = r->target;
      i->port = r->port;
    }
  }
  for (size_t k = 0; k < m->nr; k++) {
    const akt__mdns_record *r = &m->r[k];
    if (r->klass == AKT__MDNS_IN && (r->type == AKT__MDNS_A || r->type == AKT__MDNS_AAAA) &&
        is_target(c, &r->name))
      take_addr(c, r, now, &u);
  }
  return u;
}

void akt__mdns_cache_expire(akt__mdns_cache *c, uint64_t now) {
  size_t keep = 0;
  for (size_t i = 0; i < c->ninst; i++) {
    akt__mdns_inst *e = &c->inst[i];
    /* An entry stays while either record may still complete it. */
    if (e->ptr_expires > now || e->srv_expires > now) c->inst[keep++] = *e;
  }
  c->ninst = keep;
  keep = 0;
  for (size_t i = 0; i < c->nhosts; i++) {
    akt__mdns_host *h = &c->hosts[i];
    size_t live = 0;
    for (size_t a = 0; a < h->n; a++)
      if (h->addrs[a].expires > now) h->addrs[live++] = h->addrs[a];
    h->n = live;
    if (live) c->hosts[keep++] = *h;
  }
  c->nhosts = keep;
}

void akt__mdns_cache_free(akt__mdns_cache *c) {
  free(c->inst);
  free(c->hosts);
  memset(c, 0, sizeof *c);
}
