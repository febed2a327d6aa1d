/* akt — discovery: how a node finds the other members of its cluster.
 *
 * A discovery provider answers one question, again and again: "at which
 * gossip addresses (host and datagram port) might members be right now?".
 * The cluster asks it at every join round while it looks for a cluster, and
 * every rediscovery interval once it is a member (so two clusters that
 * formed apart find each other and merge). The answer may be partial,
 * stale, in any order, or include this node's own address: the cluster
 * copes with all of that.
 *
 * A provider is a struct of function pointers (like include/akt/backend.h)
 * and its state. Results come back asynchronously, through the backend, on
 * the backend's I/O context, never from inside the call that asked: a
 * provider that knows its answer at once (the static seed list) still
 * delivers it from a zero-delay backend timer. A provider that blocks
 * (an HTTP client) runs its work with the backend's offload, so the same
 * provider code runs on libuv and in the simulator.
 *
 * akt ships four providers: the static seed list (akt_discovery_static_new),
 * DNS A/AAAA or SRV records (akt_discovery_dns_new: a Kubernetes headless
 * service), mDNS service announcement and query over multicast datagrams
 * (akt_discovery_mdns_new: on the simulator too), and the Kubernetes API
 * (akt_discovery_kubernetes_new: production only, it links libcurl).
 * akt_discovery_new builds any of them from one description, which
 * akt_cluster_options_from_env fills from the environment. docs/discovery.md
 * explains them, their settings and what each guarantees.
 */
#ifndef AKT_DISCOVERY_H
#define AKT_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. */
#define AKT_DISCOVERY_MAX_ADDRS 256 /* addresses one lookup may return; more are dropped */
#define AKT_MDNS_SERVICE_MAX 64     /* bytes of a service type ("_akt._udp"), NUL included */
#define AKT_MDNS_INSTANCE_MAX 64    /* bytes of an instance name (one DNS label), NUL included */
#define AKT_K8S_NAMESPACE_MAX 64    /* bytes of a namespace (a DNS label), NUL included */
#define AKT_K8S_SELECTOR_MAX 512    /* bytes of a label selector, NUL included */
#define AKT_K8S_PORT_NAME_MAX 16    /* bytes of a port name (IANA_SVC_NAME), NUL included */
#define AKT_K8S_URL_MAX 512         /* bytes of the API server's URL, NUL included */

/* Defaults, and why (docs/discovery.md). */
/* A lookup's deadline: DNS's own retries (resolv.conf: 5 s timeout) may
 * take longer, but the cluster asks again every join round; what arrived
 * by then is answered. */
#define AKT_DISCOVERY_DEFAULT_TIMEOUT AKT_SECONDS(5)
#define AKT_MDNS_DEFAULT_SERVICE "_akt._udp"
#define AKT_MDNS_DEFAULT_GROUP "224.0.0.251" /* RFC 6762's IPv4 group (IPv6: ff02::fb) */
#define AKT_MDNS_DEFAULT_PORT 5353
/* RFC 6762 §10 recommends 120 s for records that name a host (SRV, A), so
 * that a node that vanished without a goodbye drops out of caches soon. */
#define AKT_MDNS_DEFAULT_TTL AKT_SECONDS(120)
/* Responders wait 20-120 ms before answering a shared record (RFC 6762
 * §6); a lookup listens past that, then answers from its cache. */
#define AKT_MDNS_DEFAULT_WINDOW AKT_MILLIS(250)
#define AKT_K8S_DEFAULT_TIMEOUT AKT_SECONDS(10) /* one HTTP request to the API server */
#define AKT_K8S_DEFAULT_PAGE_SIZE 500           /* pods per page of the list (limit=) */
#define AKT_K8S_SERVICE_ACCOUNT "/var/run/secrets/kubernetes.io/serviceaccount"

typedef struct akt_discovery akt_discovery;
typedef struct akt_discovery_stats akt_discovery_stats;

/* The answer of one lookup: status 0 and n >= 0 gossip addresses (valid
 * only during the call), or a negative AKT_E* code and n == 0. Runs on the
 * backend's I/O context. */
typedef void (*akt_discovery_fn)(int status, const akt_addr *addrs, size_t n, void *arg);

typedef struct akt_discovery_ops {
  /* The provider's name, for logs ("static", "dns", ...). */
  const char *name;

  /* Starts one lookup on backend `b`; `cb(status, addrs, n, arg)` runs
   * exactly once, later, on the backend's I/O context, unless `cancel`
   * runs first. At most one lookup per provider is in flight (the cluster
   * never asks again before the answer or a cancel). Returns 0 (cb will
   * run), or AKT_ENOMEM / AKT_ESTATE / a backend code (cb will not run). */
  int (*lookup)(akt_discovery *d, akt_backend *b, akt_discovery_fn cb, void *arg);

  /* Cancels the lookup in flight, if any: its callback does not run after
   * cancel returns. Called on the I/O context, or while the node is being
   * dropped by the simulator (nothing else runs then). */
  void (*cancel)(akt_discovery *d, akt_backend *b);

  /* Frees the provider (after cancel, and after stop if it has one).
   * Callbacks the backend still owes the provider (a name lookup in
   * flight) may outlive this call harmlessly: a provider that needs them
   * keeps its memory until they come. */
  void (*free)(akt_discovery *d);

  /* Optional (NULL: nothing to close). Closes what the provider holds on
   * backend `b` between lookups — endpoints, timers — and says goodbye
   * where its protocol has one (mDNS). The cluster calls it on the I/O
   * context when it stops, after cancel. It is not called when a simulated
   * node crashes: the simulator has taken the node's endpoints away, so
   * free must then release memory without touching them. A provider may
   * be looked up again after stop. */
  void (*stop)(akt_discovery *d, akt_backend *b);

  /* Optional (NULL: no counters). Fills *out with the provider's counters
   * (zeroed first). Any thread. */
  void (*stats)(akt_discovery *d, akt_discovery_stats *out);
} akt_discovery_ops;

/* Counters of the providers akt ships (those a provider does not have stay
 * 0). Snapshot semantics. */
struct akt_discovery_stats {
  uint64_t lookups;          /* lookups started */
  uint64_t answers;          /* lookups answered with status 0 */
  uint64_t failures;         /* lookups answered with an error */
  uint64_t timeouts;         /* lookups whose deadline passed before they were complete */
  uint64_t addrs_dropped;    /* addresses over AKT_DISCOVERY_MAX_ADDRS */
  uint64_t names_failed;     /* host names (SRV and mDNS targets) that did not resolve */
  uint64_t records_skipped;  /* records not usable: SRV beyond the limit, pods not ready,
                                without an IP or without the port */
  /* mDNS */
  uint64_t packets_sent, packets_received;
  uint64_t packets_dropped;  /* malformed, oversize, or from a port other than mDNS's */
  uint64_t queries_answered; /* questions about this node's records that it answered */
  uint64_t answers_suppressed; /* answers the asker already knew (known-answer list) */
  uint64_t cache_evictions;  /* cache entries evicted to make room (cache full) */
  uint64_t conflicts;        /* another responder announced this node's instance name */
  /* Kubernetes */
  uint64_t requests;         /* HTTP requests to the API server (pages included) */
};

/* Fills *out with d's counters (zeros when it has none). */
void akt_discovery_get_stats(akt_discovery *d, akt_discovery_stats *out);

/* A provider instance: its operations and its state. Custom providers
 * allocate one, fill both fields, and hand it to akt_cluster_options. */
struct akt_discovery {
  const akt_discovery_ops *ops;
  void *impl;
};

/* Creates the static provider: every lookup answers `seeds` (n addresses,
 * copied; n <= AKT_DISCOVERY_MAX_ADDRS), through a zero-delay backend
 * timer. On success writes it to *out; free it with its ops->free (or give
 * it to akt_cluster_start, which then owns it). Returns 0, AKT_EINVAL
 * (seeds NULL with n > 0, a host that is empty or not NUL-terminated, port
 * 0), AKT_ELIMIT (n too large) or AKT_ENOMEM. */
int akt_discovery_static_new(const akt_addr *seeds, size_t n, akt_discovery **out);

/* ---- DNS ------------------------------------------------------------------------ */

/* Which records a DNS provider asks for. */
typedef enum akt_dns_record {
  AKT_DNS_AUTO = 0, /* SRV when the name has RFC 2782's form ("_service._proto.…"), else A */
  AKT_DNS_A = 1,    /* the name's addresses (A and AAAA), each at the configured port */
  AKT_DNS_SRV = 2   /* the name's SRV records; each target resolved, at the record's port */
} akt_dns_record;

typedef struct akt_dns_discovery_options {
  const char *name;      /* the DNS name (copied): "akt.ns.svc.cluster.local" (A) or
                            "_gossip._udp.akt.ns.svc.cluster.local" (SRV) */
  akt_dns_record record;
  uint16_t port;         /* A: the gossip port at every address (required); SRV: unused */
  akt_duration timeout;  /* a lookup's deadline; 0 = AKT_DISCOVERY_DEFAULT_TIMEOUT */
} akt_dns_discovery_options;

/* Creates a DNS provider. A lookup resolves the name through the backend
 * (resolve, or resolve_srv and then resolve for each SRV target that is
 * not an IP literal; in the simulator, the world's name table) and answers
 * the addresses found, de-duplicated, at most AKT_DISCOVERY_MAX_ADDRS (SRV
 * records are taken by priority, then weight, highest first), by the
 * deadline: the addresses found by then, or AKT_ETIMEDOUT. A lookup with
 * no address answers AKT_ENOENT, or the resolver's error (AKT_EBACKEND);
 * AKT_ENOTSUP for SRV on a backend without resolve_srv. On success writes
 * the provider to *out (free it with its ops->free, or give it to
 * akt_cluster_start). Returns 0, AKT_EINVAL (name NULL, empty or not
 * shorter than AKT_HOST_MAX; A without a port; an unknown record kind) or
 * AKT_ENOMEM. */
int akt_discovery_dns_new(const akt_dns_discovery_options *opts, akt_discovery **out);

/* ---- mDNS ---------------------------------------------------------------------- */

typedef struct akt_mdns_discovery_options {
  const char *service;   /* the DNS-SD service type, "_name._udp" or "_name._tcp";
                            NULL = AKT_MDNS_DEFAULT_SERVICE */
  const char *instance;  /* this node's instance name, one DNS label (its node name);
                            NULL or "": query only, announce nothing */
  akt_addr self;         /* the gossip address to announce (with an instance): an IP
                            literal in production (an A or AAAA record is announced),
                            the node's name in the simulator */
  const char *group;     /* multicast group; NULL = AKT_MDNS_DEFAULT_GROUP */
  uint16_t port;         /* the group's port; 0 = AKT_MDNS_DEFAULT_PORT */
  const char *iface;     /* the interface's address; NULL = the system's choice */
  akt_duration ttl;      /* of the records announced; 0 = AKT_MDNS_DEFAULT_TTL */
  akt_duration window;   /* a lookup listens this long after its query;
                            0 = AKT_MDNS_DEFAULT_WINDOW */
  akt_duration timeout;  /* a lookup's deadline (window and resolving targets);
                            0 = AKT_DISCOVERY_DEFAULT_TIMEOUT */
} akt_mdns_discovery_options;

/* Creates an mDNS provider (RFC 6762/6763, the subset docs/discovery.md
 * lists). Its endpoint joins the group at the first lookup, on that
 * lookup's backend (which must have dgram_open_group): from then on it
 * answers questions about its instance and announces it (twice, one
 * second apart), until ops->stop says goodbye (records with TTL 0) and
 * closes it. A lookup multicasts a query for the service type (with the
 * answers it already knows, so that those responders stay silent),
 * listens for `window`, then answers every instance in its cache whose
 * records have not expired: at the SRV port, on the address records that
 * came with it, or on its target resolved through the backend. Parsing
 * is bounded and defensive (src/cluster/mdns_codec.c; an afl++ target).
 * On success writes the provider to *out. Returns 0, AKT_EINVAL (a
 * service that is not "_name._udp" / "_name._tcp"; an instance longer
 * than a label or with a dot; an instance without self's host or port;
 * a window not shorter than the timeout) or AKT_ENOMEM. A lookup returns
 * AKT_ENOTSUP on a backend without multicast, or the error of opening
 * the endpoint (AKT_EEXIST, AKT_EINVAL, AKT_EBACKEND). */
int akt_discovery_mdns_new(const akt_mdns_discovery_options *opts, akt_discovery **out);

/* ---- the Kubernetes API (production) --------------------------------------------- */

typedef struct akt_k8s_discovery_options {
  const char *ns;             /* the namespace; NULL = the pod's own (the service
                                 account's namespace file) */
  const char *label_selector; /* which pods, e.g. "app=akt,tier=backend" (required) */
  const char *port_name;      /* the containers' port of this name is the gossip port */
  uint16_t port;              /* the gossip port, when port_name is NULL */
  const char *api_url;        /* NULL = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
  const char *token_path;     /* NULL = AKT_K8S_SERVICE_ACCOUNT "/token" (read at every lookup:
                                 projected tokens rotate); "" = send no token */
  const char *ca_path;        /* NULL = AKT_K8S_SERVICE_ACCOUNT "/ca.crt" */
  const char *namespace_path; /* read when ns is NULL; NULL = AKT_K8S_SERVICE_ACCOUNT "/namespace" */
  akt_duration timeout;       /* each HTTP request; 0 = AKT_K8S_DEFAULT_TIMEOUT */
  unsigned page_size;         /* pods per page; 0 = AKT_K8S_DEFAULT_PAGE_SIZE */
} akt_k8s_discovery_options;

/* Creates a Kubernetes API provider. A lookup lists the pods of the
 * namespace that match the selector (GET /api/v1/namespaces/NS/pods, page
 * by page through metadata.continue), with the service account's bearer
 * token and CA, on the backend's offload (libcurl and json-c block), and
 * answers the IP of every pod that is Running, Ready and not being
 * deleted, at its gossip port. A failure answers AKT_EREFUSED (HTTP 401,
 * 403: the service account may not list pods), AKT_ENOENT (404: no such
 * namespace), AKT_EPROTO (a body that is not a PodList), AKT_ELIMIT (a
 * body or a list over the limits), AKT_EUNREACH / AKT_ETIMEDOUT (the API
 * server), AKT_EBACKEND (another HTTP status; a token or CA file that
 * cannot be read), and logs one line naming the cause. Defined in the
 * production library (transport/), because it links libcurl and json-c;
 * the core never calls it. On success writes the provider to *out.
 * Returns 0, AKT_EINVAL (no label selector; neither port_name nor port;
 * a string over its limit; no api_url and KUBERNETES_SERVICE_HOST or
 * _PORT unset; no ns and the namespace file unreadable) or AKT_ENOMEM. */
int akt_discovery_kubernetes_new(const akt_k8s_discovery_options *opts, akt_discovery **out);

/* ---- one description for all ------------------------------------------------------- */

typedef enum akt_discovery_kind {
  AKT_DISCOVERY_STATIC = 0,
  AKT_DISCOVERY_DNS = 1,
  AKT_DISCOVERY_MDNS = 2,
  AKT_DISCOVERY_KUBERNETES = 3
} akt_discovery_kind;

/* Which provider, and its options (only the kind's are read). */
typedef struct akt_discovery_config {
  akt_discovery_kind kind;
  const akt_addr *seeds;      /* static */
  size_t nseeds;
  akt_dns_discovery_options dns;
  akt_mdns_discovery_options mdns;
  akt_k8s_discovery_options k8s;
} akt_discovery_config;

/* The provider `config` describes, as the constructor of its kind makes
 * it (same return codes; AKT_EINVAL for an unknown kind). Defined in the
 * production library (it may build the Kubernetes provider). */
int akt_discovery_new(const akt_discovery_config *config, akt_discovery **out);

/* The names of the kinds: "static", "dns", "mdns", "kubernetes". */
const char *akt_discovery_kind_name(akt_discovery_kind kind);

/* What akt_cluster_options_from_env read about discovery (akt/cluster.h),
 * and the storage `config` points into (and into the cluster environment's
 * seeds): keep it where it is, as long as config is used. */
typedef struct akt_discovery_env {
  akt_discovery_config config;
  char dns_name[AKT_HOST_MAX];
  char mdns_service[AKT_MDNS_SERVICE_MAX];
  char mdns_instance[AKT_MDNS_INSTANCE_MAX];
  char mdns_group[AKT_HOST_MAX];
  char mdns_iface[AKT_HOST_MAX];
  char k8s_namespace[AKT_K8S_NAMESPACE_MAX];
  char k8s_selector[AKT_K8S_SELECTOR_MAX];
  char k8s_port_name[AKT_K8S_PORT_NAME_MAX];
  char k8s_api_url[AKT_K8S_URL_MAX];
} akt_discovery_env;

#ifdef __cplusplus
}
#endif

#endif
