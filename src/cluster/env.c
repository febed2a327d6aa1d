/* akt — cluster options from the environment (GoAkt's variables, plus
 * akt's own for seeds, roles and downing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/cluster.h"
#include "src/cluster/discovery_env.h"

static const char *from_process(const char *name, void *arg) {
  (void)arg;
  return getenv(name);
}

static int bad(char *err, size_t size, const char *var, const char *what, const char *value) {
  if (err && size)
    snprintf(err, size, "%s: %s%s%s%s", var, what, value ? " ('" : "", value ? value : "",
             value ? "')" : "");
  return AKT_EINVAL;
}

/* A decimal number in [lo, hi] with nothing after it. */
static int number(const char *s, unsigned long lo, unsigned long hi, unsigned long *out) {
  if (!s || *s < '0' || *s > '9') return 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

/* "20s", "1500ms", "2m", "250us". */
static int duration(const char *s, akt_duration *out) {
  if (!s || *s < '0' || *s > '9') return 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  akt_duration unit;
  if (!strcmp(end, "ns")) unit = 1;
  else if (!strcmp(end, "us")) unit = AKT_MICROS(1);
  else if (!strcmp(end, "ms")) unit = AKT_MILLIS(1);
  else if (!strcmp(end, "s")) unit = AKT_SECONDS(1);
  else if (!strcmp(end, "m")) unit = AKT_SECONDS(60);
  else return 0;
  if (v > UINT64_MAX / unit) return 0;
  *out = (akt_duration)v * unit;
  return 1;
}

/* 0..65535 (0: any free port). */
static int port(const char *s, uint16_t *out) {
  unsigned long v;
  if (!number(s, 0, 65535, &v)) return 0;
  *out = (uint16_t)v;
  return 1;
}

int akt__env_bad(char *err, size_t size, const char *var, const char *what, const char *value) {
  return bad(err, size, var, what, value);
}

int akt__env_port(const char *s, uint16_t *out) { return port(s, out) && *out; }

/* "host:port,host:port" (an IPv6 host in brackets: "[::1]:7946"). */
static int seeds(const char *s, akt_cluster_env *env) {
  env->nseeds = 0;
  while (*s) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    char item[AKT_HOST_MAX + 8];
    if (len == 0 || len >= sizeof item || env->nseeds >= AKT_CLUSTER_MAX_SEEDS) return 0;
    memcpy(item, s, len);
    item[len] = '\0';
    char *colon = strrchr(item, ':');
    if (!colon || colon == item) return 0;
    *colon = '\0';
    char *host = item;
    if (host[0] == '[') {
      size_t hl = strlen(host);
      if (hl < 3 || host[hl - 1] != ']') return 0;
      host[hl - 1] = '\0';
      host++;
    }
    akt_addr *a = &env->seeds[env->nseeds];
    if (!*host || strlen(host) >= sizeof a->host || !port(colon + 1, &a->port) || !a->port)
      return 0;
    snprintf(a->host, sizeof a->host, "%s", host);
    env->nseeds++;
    s += len;
    if (*s == ',') s++;
  }
  return 1;
}

static int roles(const char *s, akt_cluster_env *env) {
  env->nroles = 0;
  while (*s) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == 0 || len >= AKT_CLUSTER_ROLE_MAX || env->nroles >= AKT_CLUSTER_MAX_ROLES) return 0;
    memcpy(env->role_text[env->nroles], s, len);
    env->role_text[env->nroles][len] = '\0';
    env->roles[env->nroles] = env->role_text[env->nroles];
    env->nroles++;
    s += len;
    if (*s == ',') s++;
  }
  return 1;
}

static int downing(const char *s, akt_cluster_options *o) {
  unsigned long q;
  if (!strcmp(s, "keep-majority")) o->downing = AKT_DOWNING_KEEP_MAJORITY;
  else if (!strcmp(s, "keep-oldest")) o->downing = AKT_DOWNING_KEEP_OLDEST;
  else if (!strcmp(s, "down-all")) o->downing = AKT_DOWNING_DOWN_ALL;
  else if (!strcmp(s, "off")) o->downing = AKT_DOWNING_OFF;
  else if (!strncmp(s, "static-quorum:", 14) && number(s + 14, 1, AKT_CLUSTER_HARD_MAX_MEMBERS, &q)) {
    o->downing = AKT_DOWNING_STATIC_QUORUM;
    o->quorum = (unsigned)q;
  } else {
    return 0;
  }
  return 1;
}

int akt_cluster_options_from_env(akt_cluster_options *opts, akt_cluster_env *env,
                                 akt_getenv_fn get, void *arg, char *err, size_t errsize) {
  if (!opts || !env) return AKT_EINVAL;
  if (!get) get = from_process;
  memset(opts, 0, sizeof *opts);
  memset(env, 0, sizeof *env);
  if (err && errsize) err[0] = '\0';
  const char *v;

  if (!(v = get("NODE_NAME", arg))) return bad(err, errsize, "NODE_NAME", "not set", NULL);
  if (!akt__system_name_valid(v))
    return bad(err, errsize, "NODE_NAME", "not 1-64 of [A-Za-z0-9_-]", v);
  snprintf(env->node_name, sizeof env->node_name, "%s", v);

  if (!(v = get("NODE_IP", arg))) return bad(err, errsize, "NODE_IP", "not set", NULL);
  if (!*v || strlen(v) >= sizeof env->node_ip)
    return bad(err, errsize, "NODE_IP", "empty or too long", v);
  snprintf(env->node_ip, sizeof env->node_ip, "%s", v);

  if (!(v = get("GOSSIP_PORT", arg))) return bad(err, errsize, "GOSSIP_PORT", "not set", NULL);
  if (!port(v, &env->gossip_port))
    return bad(err, errsize, "GOSSIP_PORT", "not a port number (0-65535)", v);

  if (!(v = get("REMOTING_PORT", arg))) return bad(err, errsize, "REMOTING_PORT", "not set", NULL);
  if (!port(v, &env->remoting_port))
    return bad(err, errsize, "REMOTING_PORT", "not a port number (0-65535)", v);

  if ((v = get("CLUSTER_PORT", arg)) && !port(v, &env->cluster_port))
    return bad(err, errsize, "CLUSTER_PORT", "not a port number (0-65535)", v);

  if ((v = get("AKT_CLUSTER_SEEDS", arg)) && !seeds(v, env))
    return bad(err, errsize, "AKT_CLUSTER_SEEDS", "not a list of host:port", v);

  int rc = akt__discovery_env(env, get, arg, err, errsize); /* DISCOVERY and its settings */
  if (rc) return rc;

  if ((v = get("AKT_CLUSTER_ROLES", arg)) && !roles(v, env))
    return bad(err, errsize, "AKT_CLUSTER_ROLES", "not a list of roles (at most 8 of 1-31 bytes)",
               v);

  if ((v = get("AKT_CLUSTER_DOWNING", arg)) && !downing(v, opts))
    return bad(err, errsize, "AKT_CLUSTER_DOWNING",
               "not keep-majority, static-quorum:N, keep-oldest, down-all or off", v);

  if ((v = get("AKT_CLUSTER_STABLE_AFTER", arg)) && !duration(v, &opts->stable_after))
    return bad(err, errsize, "AKT_CLUSTER_STABLE_AFTER", "not a duration (e.g. 20s, 1500ms)", v);

  unsigned long n;
  if ((v = get("AKT_CLUSTER_BOOTSTRAP_EXPECT", arg))) {
    if (!number(v, 1, AKT_CLUSTER_HARD_MAX_MEMBERS, &n))
      return bad(err, errsize, "AKT_CLUSTER_BOOTSTRAP_EXPECT", "not a count", v);
    opts->bootstrap_expect = (unsigned)n;
  }

  opts->host = env->node_ip;
  opts->gossip_port = env->gossip_port;
  opts->cluster_port = env->cluster_port;
  opts->seeds = env->seeds;
  opts->nseeds = env->nseeds;
  opts->roles = env->roles;
  opts->nroles = env->nroles;
  return 0;
}
