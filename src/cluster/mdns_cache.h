/* akt — the mDNS querier's cache: the instances of one service type and
 * the addresses of their targets, each record until its TTL runs out
 * (internal).
 *
 * What a responder multicasts, every node hears, so the cache fills from
 * other nodes' answers as well as from this node's own queries (RFC 6762
 * §7: passive observation). Entries expire at their TTL; a goodbye (TTL
 * 0) expires one second after it arrives (§10.1), so that a record that
 * comes again at once is not lost. Received TTLs are capped at
 * AKT__MDNS_TTL_MAX, so that nobody can pin an entry forever. The cache
 * holds at most AKT__MDNS_CACHE_MAX instances and as many hosts; when it
 * is full the entry closest to expiring gives way (counted by the
 * caller). Times are the backend's monotonic nanoseconds.
 */
#ifndef AKT_CLUSTER_MDNS_CACHE_H
#define AKT_CLUSTER_MDNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "akt/discovery.h"
#include "src/cluster/mdns_codec.h"

#define AKT__MDNS_CACHE_MAX AKT_DISCOVERY_MAX_ADDRS /* instances (and hosts) cached */
#define AKT__MDNS_HOST_ADDRS 4                       /* addresses kept per host */
#define AKT__MDNS_TTL_MAX 4500u /* seconds: RFC 6762 §10's 75 minutes, the longest it suggests */
#define AKT__MDNS_GOODBYE_NS 1000000000ull /* a TTL-0 record lives on this long (§10.1) */
#define AKT__MDNS_ADDR_TEXT 46 /* bytes of an IPv6 address in text, NUL included */

typedef struct akt__mdns_inst {
  akt__mdns_name name;   /* "<instance>.<service>.local" */
  uint64_t ptr_expires;  /* 0: no PTR record seen */
  uint32_t ptr_ttl;      /* seconds, as received (for the known-answer rule) */
  uint64_t srv_expires;  /* 0: no SRV record seen */
  akt__mdns_name target; /* from the SRV record */
  uint16_t port;
} akt__mdns_inst;

typedef struct akt__mdns_haddr {
  char ip[AKT__MDNS_ADDR_TEXT];
  uint64_t expires;
  uint64_t received;
} akt__mdns_haddr;

typedef struct akt__mdns_host {
  akt__mdns_name name;
  akt__mdns_haddr addrs[AKT__MDNS_HOST_ADDRS];
  size_t n;
} akt__mdns_host;

typedef struct akt__mdns_cache {
  akt__mdns_inst *inst; /* grown on demand, up to AKT__MDNS_CACHE_MAX */
  size_t ninst, capinst;
  akt__mdns_host *hosts;
  size_t nhosts, caphosts;
} akt__mdns_cache;

/* What one response did to the cache. */
typedef struct akt__mdns_update {
  size_t evictions; /* entries evicted to make room */
  int conflict;     /* an SRV for `own` named another target or port */
} akt__mdns_update;

/* Takes in the records of response `m` received at `now` that belong to
 * `service` (PTR to its instances, their SRV records, the address records
 * of their targets; the rest is ignored). `own`, `own_target` and
 * `own_port` (own NULL: none) are this node's instance, to notice another
 * responder claiming its name. Returns what it did. Never fails: when the
 * cache is full (or cannot grow), the entry closest to expiring makes
 * room. */
akt__mdns_update akt__mdns_cache_take(akt__mdns_cache *c, const akt__mdns_msg *m,
                                      const akt__mdns_name *service, const akt__mdns_name *own,
                                      const akt__mdns_name *own_target, uint16_t own_port,
                                      uint64_t now);

/* Forgets what expired by `now`. */
void akt__mdns_cache_expire(akt__mdns_cache *c, uint64_t now);

/* 1 if instance i has both its PTR and its SRV record alive at `now`. */
int akt__mdns_inst_alive(const akt__mdns_inst *i, uint64_t now);

/* The host entry named `name`, or NULL. */
akt__mdns_host *akt__mdns_cache_host(akt__mdns_cache *c, const akt__mdns_name *name);

/* Frees the cache's memory. */
void akt__mdns_cache_free(akt__mdns_cache *c);

#endif
