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
 * akt ships the static seed list (akt_discovery_static_new); DNS, mDNS and
 * the Kubernetes API come as further providers of this interface.
 */
#ifndef AKT_DISCOVERY_H
#define AKT_DISCOVERY_H

#include <stddef.h>

#include "akt/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. */
#define AKT_DISCOVERY_MAX_ADDRS 256 /* addresses one lookup may return; more are dropped */

typedef struct akt_discovery akt_discovery;

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

  /* Frees the provider (after cancel). */
  void (*free)(akt_discovery *d);
} akt_discovery_ops;

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

#ifdef __cplusplus
}
#endif

#endif
