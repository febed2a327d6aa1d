/* akt — cluster options: defaults, validation, the local metadata. */
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"

#define DEFAULT(field, value) \
  do {                        \
    if (!o->field) o->field = (value); \
  } while (0)

static int fail(char *why, size_t size, const char *what) {
  snprintf(why, size, "%s", what);
  return AKT_EINVAL;
}

static int text_ok(const char *s, size_t min, size_t max) {
  if (!s) return 0;
  size_t n = strnlen(s, max);
  return n >= min && n < max;
}

int akt__cl_options(const akt_cluster_options *in, akt_cluster_options *out, char *why,
                    size_t size) {
  static const akt_cluster_options zero;
  akt_cluster_options *o = out;
  *o = in ? *in : zero;
  DEFAULT(probe_interval, AKT_CLUSTER_DEFAULT_PROBE_INTERVAL);
  DEFAULT(probe_timeout, AKT_CLUSTER_DEFAULT_PROBE_TIMEOUT);
  DEFAULT(indirect_checks, AKT_CLUSTER_DEFAULT_INDIRECT_CHECKS);
  DEFAULT(direct_checks, AKT_CLUSTER_DEFAULT_DIRECT_CHECKS);
  DEFAULT(gossip_interval, AKT_CLUSTER_DEFAULT_GOSSIP_INTERVAL);
  DEFAULT(gossip_nodes, AKT_CLUSTER_DEFAULT_GOSSIP_NODES);
  DEFAULT(retransmit_mult, AKT_CLUSTER_DEFAULT_RETRANSMIT_MULT);
  DEFAULT(suspicion_mult, AKT_CLUSTER_DEFAULT_SUSPICION_MULT);
  DEFAULT(suspicion_max_mult, AKT_CLUSTER_DEFAULT_SUSPICION_MAX_MULT);
  DEFAULT(suspicion_confirmations, AKT_CLUSTER_DEFAULT_SUSPICION_CONFIRMATIONS);
  _Static_assert(AKT_CLUSTER_DEFAULT_SUSPICION_CONFIRMATIONS <= AKT__CL_MAX_CONFIRM,
                 "the default confirmations fit the confirmers kept");
  DEFAULT(awareness_max, AKT_CLUSTER_DEFAULT_AWARENESS_MAX);
  DEFAULT(push_pull_interval, AKT_CLUSTER_DEFAULT_PUSH_PULL_INTERVAL);
  DEFAULT(join_interval, AKT_CLUSTER_DEFAULT_JOIN_INTERVAL);
  DEFAULT(rediscover_interval, AKT_CLUSTER_DEFAULT_REDISCOVER_INTERVAL);
  DEFAULT(remove_after, AKT_CLUSTER_DEFAULT_REMOVE_AFTER);
  DEFAULT(stable_after, AKT_CLUSTER_DEFAULT_STABLE_AFTER);
  DEFAULT(rejoin_delay, AKT_CLUSTER_DEFAULT_REJOIN_DELAY);
  DEFAULT(sync_timeout, AKT_CLUSTER_DEFAULT_SYNC_TIMEOUT);
  DEFAULT(leave_timeout, AKT_CLUSTER_DEFAULT_LEAVE_TIMEOUT);
  DEFAULT(packet_max, AKT_CLUSTER_DEFAULT_PACKET_MAX);
  DEFAULT(max_members, AKT_CLUSTER_DEFAULT_MAX_MEMBERS);
  DEFAULT(bootstrap_rounds, AKT_CLUSTER_DEFAULT_BOOTSTRAP_ROUNDS);
  /* bootstrap_expect 0 is settled at start, once the node's own address
   * is known (akt__cl_bootstrap_expect). */
  /* Pointers are not kept: what is needed is copied by the caller. */
  o->seeds = NULL;
  o->discovery = NULL;
  o->roles = NULL;
  o->values = NULL;
  o->host = NULL;

  if (o->probe_timeout >= o->probe_interval)
    return fail(why, size, "probe_timeout must be shorter than probe_interval");
  if (o->probe_interval < AKT_MILLIS(1)) return fail(why, size, "probe_interval below 1 ms");
  if (o->indirect_checks > AKT__CL_MAX_INDIRECT) return fail(why, size, "indirect_checks above 32");
  if (o->gossip_nodes > AKT__CL_MAX_GOSSIP_NODES) return fail(why, size, "gossip_nodes above 32");
  if (o->suspicion_mult > 64 || o->suspicion_max_mult > 64)
    return fail(why, size, "suspicion multipliers above 64");
  if (o->suspicion_confirmations > AKT__CL_MAX_CONFIRM)
    return fail(why, size, "suspicion_confirmations above 16");
  if (o->awareness_max > 64) return fail(why, size, "awareness_max above 64");
  if (o->packet_max < AKT_CLUSTER_PACKET_MIN || o->packet_max > AKT_CLUSTER_PACKET_HARD_MAX)
    return fail(why, size, "packet_max out of range");
  if (o->max_members < 2 || o->max_members > AKT_CLUSTER_HARD_MAX_MEMBERS)
    return fail(why, size, "max_members out of range");
  if ((int)o->downing < AKT_DOWNING_KEEP_MAJORITY || o->downing > AKT_DOWNING_OFF)
    return fail(why, size, "unknown downing strategy");
  if (o->downing == AKT_DOWNING_STATIC_QUORUM && !o->quorum)
    return fail(why, size, "static-quorum needs a quorum");
  if ((int)o->after_down < AKT_AFTER_DOWN_REJOIN || o->after_down > AKT_AFTER_DOWN_STAY)
    return fail(why, size, "unknown after_down");
  if (o->seal.overhead > AKT_CLUSTER_PACKET_HARD_MAX)
    return fail(why, size, "seal overhead too large");
  if ((o->seal.seal == NULL) != (o->seal.open == NULL))
    return fail(why, size, "seal and open go together");
  if (!in) return 0;
  if (in->host && !text_ok(in->host, 1, AKT_HOST_MAX)) return fail(why, size, "host too long");
  if (in->nseeds > AKT_CLUSTER_MAX_SEEDS || (in->nseeds && !in->seeds))
    return fail(why, size, "seeds: too many, or NULL");
  for (size_t i = 0; i < in->nseeds; i++)
    if (!text_ok(in->seeds[i].host, 1, AKT_HOST_MAX) || !in->seeds[i].port)
      return fail(why, size, "a seed has no host or port");
  if (in->nroles > AKT_CLUSTER_MAX_ROLES || (in->nroles && !in->roles))
    return fail(why, size, "roles: too many, or NULL");
  for (size_t i = 0; i < in->nroles; i++)
    if (!text_ok(in->roles[i], 1, AKT_CLUSTER_ROLE_MAX))
      return fail(why, size, "a role is empty or too long");
  if (in->nvalues > AKT_CLUSTER_MAX_VALUES || (in->nvalues && !in->values))
    return fail(why, size, "values: too many, or NULL");
  for (size_t i = 0; i < in->nvalues; i++)
    if (!text_ok(in->values[i].key, 1, AKT_CLUSTER_KEY_MAX) ||
        !text_ok(in->values[i].value, 0, AKT_CLUSTER_VALUE_MAX))
      return fail(why, size, "a key or value is empty or too long");
  return 0;
}

unsigned akt__cl_bootstrap_expect(const akt_cluster_options *in, const char *host,
                                  uint16_t port) {
  if (in && in->bootstrap_expect) return in->bootstrap_expect;
  if (!in || in->discovery || !in->nseeds) return 1;
  /* A majority of the seeds and this node, which may be one of them. */
  size_t n = in->nseeds + 1;
  for (size_t i = 0; i < in->nseeds; i++)
    if (in->seeds[i].port == port && !strcmp(in->seeds[i].host, host)) n--;
  return (unsigned)(n / 2 + 1);
}

int akt__cl_meta_pack(const akt_cluster_options *o, const char *remoting, uint8_t *meta) {
  Akt__Cluster__Meta m = AKT__CLUSTER__META__INIT;
  Akt__Cluster__KeyValue kvs[AKT_CLUSTER_MAX_VALUES], *kvp[AKT_CLUSTER_MAX_VALUES];
  m.remoting = (char *)(uintptr_t)remoting;
  if (o) {
    m.roles = (char **)(uintptr_t)o->roles;
    m.n_roles = o->nroles;
    m.cluster_port = o->cluster_port;
    for (size_t i = 0; i < o->nvalues; i++) {
      akt__cluster__key_value__init(&kvs[i]);
      kvs[i].key = (char *)(uintptr_t)o->values[i].key;
      kvs[i].value = (char *)(uintptr_t)o->values[i].value;
      kvp[i] = &kvs[i];
    }
    m.values = kvp;
    m.n_values = o->nvalues;
  }
  size_t len = akt__cluster__meta__get_packed_size(&m);
  if (len > AKT_CLUSTER_META_MAX) return AKT_ELIMIT;
  akt__cluster__meta__pack(&m, meta);
  return (int)len;
}
