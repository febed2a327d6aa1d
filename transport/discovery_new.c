/* akt production backend — one constructor for every discovery provider.
 *
 * It lives with the production backend because the Kubernetes provider
 * does (libcurl, json-c); the others are the core's.
 */
#include "akt/discovery.h"
#include "akt/error.h"

int akt_discovery_new(const akt_discovery_config *c, akt_discovery **out) {
  if (!c || !out) return AKT_EINVAL;
  switch (c->kind) {
    case AKT_DISCOVERY_STATIC: return akt_discovery_static_new(c->seeds, c->nseeds, out);
    case AKT_DISCOVERY_DNS: return akt_discovery_dns_new(&c->dns, out);
    case AKT_DISCOVERY_MDNS: return akt_discovery_mdns_new(&c->mdns, out);
    case AKT_DISCOVERY_KUBERNETES: return akt_discovery_kubernetes_new(&c->k8s, out);
  }
  return AKT_EINVAL;
}
