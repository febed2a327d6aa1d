/* akt — discovery settings from the environment.
 *
 *   DISCOVERY            static (default) | dns | mdns | kubernetes
 *   static:     AKT_CLUSTER_SEEDS (read by env.c)
 *   dns:        DNS_NAME (required), DNS_RECORD a | srv | auto (default
 *               auto: srv for "_service._proto.…" names), DNS_PORT (the
 *               port at every A/AAAA address; default GOSSIP_PORT)
 *   mdns:       MDNS_SERVICE (default _akt._udp), MDNS_GROUP, MDNS_PORT,
 *               MDNS_IFACE; this node announces NODE_NAME at
 *               NODE_IP:GOSSIP_PORT
 *   kubernetes: K8S_LABEL_SELECTOR (required), K8S_NAMESPACE (default:
 *               the pod's own), K8S_PORT_NAME (a named container port;
 *               default: every pod at GOSSIP_PORT), K8S_API_URL (default:
 *               https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT,
 *               which Kubernetes sets in every pod)
 * Variables of other providers are not read.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "akt/error.h"
#include "src/cluster/discovery_env.h"
#include "src/cluster/discovery_kit.h"

/* Copies v into out[size]; 0 if it is empty or does not fit. */
static int text(const char *v, char *out, size_t size) {
  size_t n = strnlen(v, size);
  if (n == 0 || n == size) return 0;
  memcpy(out, v, n + 1);
  return 1;
}

static int dns(akt_cluster_env *env, akt_getenv_fn get, void *arg, char *err, size_t size) {
  akt_discovery_env *de = &env->discovery;
  akt_dns_discovery_options *o = &de->config.dns;
  const char *v = get("DNS_NAME", arg);
  if (!v) return akt__env_bad(err, size, "DNS_NAME", "not set (DISCOVERY=dns needs it)", NULL);
  if (!text(v, de->dns_name, sizeof de->dns_name))
    return akt__env_bad(err, size, "DNS_NAME", "empty or too long", v);
  o->name = de->dns_name;
  if ((v = get("DNS_RECORD", arg))) {
    if (!strcasecmp(v, "a")) o->record = AKT_DNS_A;
    else if (!strcasecmp(v, "srv")) o->record = AKT_DNS_SRV;
    else if (!strcasecmp(v, "auto")) o->record = AKT_DNS_AUTO;
    else return akt__env_bad(err, size, "DNS_RECORD", "not a, srv or auto", v);
  }
  o->port = env->gossip_port;
  if ((v = get("DNS_PORT", arg)) && !akt__env_port(v, &o->port))
    return akt__env_bad(err, size, "DNS_PORT", "not a port number (1-65535)", v);
  if (!o->port && o->record != AKT_DNS_SRV)
    return akt__env_bad(err, size, "DNS_PORT",
                        "not set, and GOSSIP_PORT is 0 (any free port): A records need a port",
                        NULL);
  return 0;
}

static int mdns(akt_cluster_env *env, akt_getenv_fn get, void *arg, char *err, size_t size) {
  akt_discovery_env *de = &env->discovery;
  akt_mdns_discovery_options *o = &de->config.mdns;
  const char *v;
  if ((v = get("MDNS_SERVICE", arg))) {
    const char *dot = strchr(v, '.');
    if (!text(v, de->mdns_service, sizeof de->mdns_service) || v[0] != '_' || !dot ||
        dot == v + 1 || (strcmp(dot, "._udp") && strcmp(dot, "._tcp")))
      return akt__env_bad(err, size, "MDNS_SERVICE", "not _name._udp or _name._tcp", v);
    o->service = de->mdns_service;
  }
  if ((v = get("MDNS_GROUP", arg))) {
    if (!text(v, de->mdns_group, sizeof de->mdns_group))
      return akt__env_bad(err, size, "MDNS_GROUP", "empty or too long", v);
    o->group = de->mdns_group;
  }
  if ((v = get("MDNS_PORT", arg)) && !akt__env_port(v, &o->port))
    return akt__env_bad(err, size, "MDNS_PORT", "not a port number (1-65535)", v);
  if ((v = get("MDNS_IFACE", arg))) {
    if (!text(v, de->mdns_iface, sizeof de->mdns_iface))
      return akt__env_bad(err, size, "MDNS_IFACE", "empty or too long", v);
    o->iface = de->mdns_iface;
  }
  /* NODE_NAME is [A-Za-z0-9_-], 1..64 bytes (env.c): a label but for
   * length. */
  if (!text(env->node_name, de->mdns_instance, sizeof de->mdns_instance))
    return akt__env_bad(err, size, "NODE_NAME", "longer than 63 bytes: too long for mDNS",
                        env->node_name);
  o->instance = de->mdns_instance;
  snprintf(o->self.host, sizeof o->self.host, "%s", env->node_ip);
  o->self.port = env->gossip_port;
  if (!o->self.port)
    return akt__env_bad(err, size, "GOSSIP_PORT",
                        "0 (any free port) cannot be announced: DISCOVERY=mdns needs a fixed port",
                        "0");
  return 0;
}

static int kubernetes(akt_cluster_env *env, akt_getenv_fn get, void *arg, char *err,
                      size_t size) {
  akt_discovery_env *de = &env->discovery;
  akt_k8s_discovery_options *o = &de->config.k8s;
  const char *v = get("K8S_LABEL_SELECTOR", arg);
  if (!v)
    return akt__env_bad(err, size, "K8S_LABEL_SELECTOR",
                        "not set (DISCOVERY=kubernetes needs it, e.g. app=myapp)", NULL);
  if (!text(v, de->k8s_selector, sizeof de->k8s_selector))
    return akt__env_bad(err, size, "K8S_LABEL_SELECTOR", "empty or too long", v);
  o->label_selector = de->k8s_selector;
  if ((v = get("K8S_NAMESPACE", arg))) {
    if (!akt__dkit_dns_label(v) || !text(v, de->k8s_namespace, sizeof de->k8s_namespace))
      return akt__env_bad(err, size, "K8S_NAMESPACE", "not a namespace (1-63 of [a-z0-9-])", v);
    o->ns = de->k8s_namespace;
  }
  if ((v = get("K8S_PORT_NAME", arg))) {
    if (!text(v, de->k8s_port_name, sizeof de->k8s_port_name))
      return akt__env_bad(err, size, "K8S_PORT_NAME", "empty or longer than 15 bytes", v);
    o->port_name = de->k8s_port_name;
  } else {
    o->port = env->gossip_port;
    if (!o->port)
      return akt__env_bad(err, size, "K8S_PORT_NAME",
                          "not set, and GOSSIP_PORT is 0 (any free port): no port to find pods at",
                          NULL);
  }
  if ((v = get("K8S_API_URL", arg))) {
    if (strncmp(v, "https://", 8) && strncmp(v, "http://", 7))
      return akt__env_bad(err, size, "K8S_API_URL", "not an http(s):// URL", v);
    if (!text(v, de->k8s_api_url, sizeof de->k8s_api_url))
      return akt__env_bad(err, size, "K8S_API_URL", "too long", v);
  } else {
    const char *host = get("KUBERNETES_SERVICE_HOST", arg);
    if (!host || !*host)
      return akt__env_bad(err, size, "KUBERNETES_SERVICE_HOST",
                          "not set: not in a pod? (or set K8S_API_URL)", NULL);
    const char *p = get("KUBERNETES_SERVICE_PORT", arg);
    uint16_t port;
    if (!p || !akt__env_port(p, &port))
      return akt__env_bad(err, size, "KUBERNETES_SERVICE_PORT", "not a port number (1-65535)", p);
    /* An IPv6 service address goes in brackets. */
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(de->k8s_api_url, sizeof de->k8s_api_url, "https://%s%s%s:%u", v6 ? "[" : "",
                     host, v6 ? "]" : "", (unsigned)port);
    if (n < 0 || (size_t)n >= sizeof de->k8s_api_url)
      return akt__env_bad(err, size, "KUBERNETES_SERVICE_HOST", "too long", host);
  }
  o->api_url = de->k8s_api_url;
  return 0;
}

int akt__discovery_env(akt_cluster_env *env, akt_getenv_fn get, void *arg, char *err,
                       size_t errsize) {
  akt_discovery_env *de = &env->discovery;
  memset(de, 0, sizeof *de);
  de->config.seeds = env->seeds;
  de->config.nseeds = env->nseeds;
  const char *v = get("DISCOVERY", arg);
  if (!v || !strcasecmp(v, "static")) {
    de->config.kind = AKT_DISCOVERY_STATIC;
    return 0;
  }
  if (!strcasecmp(v, "dns")) {
    de->config.kind = AKT_DISCOVERY_DNS;
    return dns(env, get, arg, err, errsize);
  }
  if (!strcasecmp(v, "mdns")) {
    de->config.kind = AKT_DISCOVERY_MDNS;
    return mdns(env, get, arg, err, errsize);
  }
  if (!strcasecmp(v, "kubernetes") || !strcasecmp(v, "k8s")) {
    de->config.kind = AKT_DISCOVERY_KUBERNETES;
    return kubernetes(env, get, arg, err, errsize);
  }
  return akt__env_bad(err, errsize, "DISCOVERY", "not static, dns, mdns or kubernetes", v);
}

const char *akt_discovery_kind_name(akt_discovery_kind kind) {
  switch (kind) {
    case AKT_DISCOVERY_STATIC: return "static";
    case AKT_DISCOVERY_DNS: return "dns";
    case AKT_DISCOVERY_MDNS: return "mdns";
    case AKT_DISCOVERY_KUBERNETES: return "kubernetes";
  }
  return "unknown";
}
