/* akt — remoting: start and stop, remote PIDs, sending and delivering.
 *
 * A remote PID is an akt_pid without a cell: its path and id, and the
 * address of its node (and, once a send looked it up, the node's
 * endpoint), stored in one allocation. Sending to one packs the message
 * into an Envelope in the node's endpoint queue. What arrives from a node
 * is delivered by inbound.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/remote.pb-c.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

/* The remote part of a remote PID (after the PID and its akt__pid_links):
 * the node's address, then the path. */
typedef struct akt__rpid {
  akt__endpoint *_Atomic ep; /* the node's endpoint once a send looked it up */
  char node[AKT__NODE_MAX];
} akt__rpid;

#define RPID_CACHE_MAX 65536   /* remote PIDs kept for reuse (inbound senders) */
#define RPID_CACHE_FIRST_CAP 64 /* slots of a new cache (a power of two) */
#define RPID_PATH_MAX UINT16_MAX /* a PID's name offset is 16 bits */

/* The cache probes linearly, so it is kept at most half full. */
#define RPID_CACHE_FULL(count, cap) ((count) * 2 >= (cap))

akt__remote *akt__remote_of(akt_system *sys) {
  /* Pairs with the release store that publishes remoting (service.c). */
  return sys ? __atomic_load_n(&sys->remote, __ATOMIC_ACQUIRE) : NULL;
}

int akt__parse_address(const char *address, char *sys, size_t sys_size, char *host,
                       size_t host_size, uint16_t *port, const char **path) {
  if (!address || strncmp(address, "akt://", 6) != 0) return AKT_ENAME;
  const char *p = address + 6;
  const char *at = strchr(p, '@');
  if (!at || at == p || (size_t)(at - p) >= sys_size) return AKT_ENAME;
  memcpy(sys, p, (size_t)(at - p));
  sys[at - p] = '\0';
  const char *h = at + 1, *hend, *colon;
  if (*h == '[') { /* [ipv6]:port */
    hend = strchr(h, ']');
    if (!hend || hend[1] != ':') return AKT_ENAME;
    colon = hend + 1;
    h++;
  } else {
    colon = strchr(h, ':');
    if (!colon) return AKT_ENAME;
    hend = colon;
  }
  if (hend == h || (size_t)(hend - h) >= host_size) return AKT_ENAME;
  memcpy(host, h, (size_t)(hend - h));
  host[hend - h] = '\0';
  char *end;
  unsigned long v = strtoul(colon + 1, &end, 10);
  if (end == colon + 1 || v > UINT16_MAX || (*end != '\0' && *end != '/')) return AKT_ENAME;
  *port = (uint16_t)v;
  *path = *end == '/' ? end : NULL;
  return 0;
}

static const akt__rpid *rpid_of(const akt_pid *pid) {
  return (const akt__rpid *)((const akt__pid_links *)(pid + 1) + 1);
}

const char *akt__remote_pid_node(const akt_pid *pid) {
  return rpid_of(pid)->node;
}

int akt__remote_pid_format(const akt_pid *pid, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s%s", akt__remote_pid_node(pid), pid->path);
  if (n < 0) return AKT_EINVAL;
  return (size_t)n >= size ? AKT_ELIMIT : n;
}

/* Makes a remote PID (one new reference) for node + path + id. */
static akt_pid *rpid_new(akt_system *sys, const char *node, const char *path, uint64_t id) {
  size_t plen = strlen(path);
  AKT_ASSERT(plen <= RPID_PATH_MAX); /* callers check */
  akt_pid *pid =
      calloc(1, sizeof(akt_pid) + sizeof(akt__pid_links) + sizeof(akt__rpid) + plen + 1);
  if (!pid) return NULL;
  akt__rpid *rp = (akt__rpid *)(akt__pid_links_of(pid) + 1);
  char *p = (char *)(rp + 1);
  memcpy(p, path, plen + 1);
  snprintf(rp->node, sizeof rp->node, "%s", node);
  atomic_init(&rp->ep, NULL);
  atomic_init(&pid->refs, 1);
  pid->id = id;
  pid->sys = sys;
  pid->path = p;
  const char *slash = strrchr(p, '/');
  pid->name_off = (uint16_t)(slash ? slash + 1 - p : 0);
  akt__sys_lock(sys);
  akt__pid_track_remote(sys, pid);
  akt__sys_unlock(sys);
  return pid;
}

static uint64_t rpid_hash(const char *node, const char *path, uint64_t id) {
  uint64_t h = XXH3_64bits_withSeed(node, strlen(node), id);
  return XXH3_64bits_withSeed(path, strlen(path), h);
}

akt_pid *akt__rpid_intern(akt__remote *r, const char *node, const char *path, uint64_t id) {
  uint64_t h = rpid_hash(node, path, id);
  akt__rmutex_lock(&r->mu);
  if (r->rpid_cap) {
    for (uint32_t i = 0; i < r->rpid_cap; i++) {
      akt_pid *p = r->rpids[(h + i) & (r->rpid_cap - 1)];
      if (!p) break;
      if (p->id == id && strcmp(p->path, path) == 0 && strcmp(akt__remote_pid_node(p), node) == 0) {
        akt_pid_retain(p);
        akt__rmutex_unlock(&r->mu);
        return p;
      }
    }
  }
  akt__rmutex_unlock(&r->mu);
  akt_pid *p = rpid_new(r->sys, node, path, id);
  if (!p) return NULL;
  akt__rmutex_lock(&r->mu);
  if (RPID_CACHE_FULL(r->rpid_count, r->rpid_cap) && r->rpid_cap < RPID_CACHE_MAX * 2) {
    uint32_t cap = r->rpid_cap ? r->rpid_cap * 2 : RPID_CACHE_FIRST_CAP;
    akt_pid **n = calloc(cap, sizeof *n);
    if (n) {
      for (uint32_t i = 0; i < r->rpid_cap; i++) {
        akt_pid *q = r->rpids[i];
        if (!q) continue;
        uint64_t qh = rpid_hash(akt__remote_pid_node(q), q->path, q->id);
        uint32_t k = (uint32_t)(qh & (cap - 1));
        while (n[k]) k = (k + 1) & (cap - 1);
        n[k] = q;
      }
      free(r->rpids);
      r->rpids = n;
      r->rpid_cap = cap;
    }
  }
  if (r->rpid_cap && !RPID_CACHE_FULL(r->rpid_count, r->rpid_cap)) {
    uint32_t k = (uint32_t)(h & (r->rpid_cap - 1));
    while (r->rpids[k]) k = (k + 1) & (r->rpid_cap - 1);
    r->rpids[k] = akt_pid_retain(p);
    r->rpid_count++;
  }
  akt__rmutex_unlock(&r->mu);
  return p;
}

int akt__remote_split(const char *address, char *node, size_t node_size, const char **path) {
  char sysname[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX];
  uint16_t port;
  int rc = akt__parse_address(address, sysname, sizeof sysname, host, sizeof host, &port, path);
  if (rc) return rc;
  size_t n = *path ? (size_t)(*path - address) : strlen(address);
  if (n >= node_size) return AKT_ENAME;
  memcpy(node, address, n);
  node[n] = '\0';
  return 0;
}

int akt_remote_pid(akt_system *sys, const char *address, akt_pid **out) {
  if (!sys || !address || !out) return AKT_EINVAL;
  akt__remote *r = akt__remote_of(sys);
  if (!r) return AKT_ESTATE;
  char node[AKT__NODE_MAX];
  const char *path;
  int rc = akt__remote_split(address, node, sizeof node, &path);
  if (rc) return rc;
  if (!path || strlen(path) > r->opts.max_name || strlen(path) > RPID_PATH_MAX) return AKT_ENAME;
  if (strcmp(node, r->node) == 0) return akt_lookup(sys, path, out);
  akt_pid *p = rpid_new(sys, node, path, 0);
  if (!p) return AKT_ENOMEM;
  *out = p;
  return 0;
}

int akt_remote_node_pid(akt_system *sys, const char *node, akt_pid **out) {
  char address[AKT__NODE_MAX + 32];
  snprintf(address, sizeof address, "%s/system/remoting", node ? node : "");
  return akt_remote_pid(sys, address, out);
}

/* ---- sending ------------------------------------------------------------------ */

/* The endpoint of a remote PID's node, remembered in the PID: looking it
 * up by its address takes the remote lock and a hash on every send. The
 * remembered one is not pinned (peers.c): it may have been emptied and
 * reused for another node since, which akt__endpoint_send notices under
 * its lock. *pinned says whether the caller must put *out. Returns 0,
 * AKT_ENAME, AKT_ELIMIT or AKT_ENOMEM. */
static int endpoint_of(akt__remote *r, akt_pid *to, int fresh, akt__endpoint **out, int *pinned) {
  akt__rpid *rp = (akt__rpid *)(uintptr_t)rpid_of(to);
  akt__endpoint *ep = fresh ? NULL : atomic_load_explicit(&rp->ep, memory_order_acquire);
  *pinned = 0;
  if (!ep) {
    int rc = akt__endpoint_get(r, rp->node, &ep);
    if (rc) return rc;
    atomic_store_explicit(&rp->ep, ep, memory_order_release);
    *pinned = 1;
  }
  *out = ep;
  return 0;
}

int akt__remote_send_raw(akt_system *sys, akt_pid *to, const ProtobufCMessage *msg,
                         const char *sender, uint64_t sender_id, uint64_t corr, uint32_t flags) {
  akt__remote *r = akt__remote_of(sys);
  if (!r || akt__remote_state(r) == AKT__REMOTE_STOPPING) return AKT_ESTOPPED;
  const char *type = msg->descriptor->name;
  akt__env_out e = {.target = to->path,
                    .target_len = strlen(to->path),
                    .target_id = to->id,
                    .sender = sender,
                    .sender_len = strlen(sender),
                    .sender_id = sender_id,
                    .type = type,
                    .type_len = strlen(type),
                    .corr = corr,
                    .flags = flags & (AKT__ENV_REQUEST | AKT__ENV_REPLY)};
  size_t len = protobuf_c_message_get_packed_size(msg);
  const char *node = akt__remote_pid_node(to);
  int rc = 1;
  /* A remembered endpoint that is no longer the node's (1): once more,
   * looked up afresh and pinned, which cannot be stale. */
  for (int fresh = 0; rc == 1 && fresh < 2; fresh++) {
    akt__endpoint *ep;
    int pinned;
    rc = endpoint_of(r, to, fresh, &ep, &pinned);
    if (rc) return rc;
    rc = akt__endpoint_send(ep, node, &e, msg, len);
    if (pinned) akt__endpoint_put(ep);
  }
  AKT_ASSERT(rc != 1);
  return rc;
}

/* Packs `msg` into the queue of `to`'s node and traces the send. Returns 0,
 * AKT_EFULL, or another code with *why saying why it could not go. */
static int send_packed(akt_system *sys, akt_pid *to, const ProtobufCMessage *msg, akt_pid *sender,
                       uint64_t corr, uint32_t flags, const char **why) {
  akt__remote *r = akt__remote_of(sys);
  if (!r || akt__remote_state(r) == AKT__REMOTE_STOPPING) {
    *why = r ? "remoting stopped" : "remoting not started";
    return AKT_ESTOPPED;
  }
  char address[AKT_ADDRESS_MAX];
  address[0] = '\0'; /* not `= ""`: that zeroes all 1.5 KB on every send */
  if (sender) akt_pid_format(sender, address, sizeof address);
  uint64_t sender_id = sender ? sender->id : 0;
  int rc = akt__remote_send_raw(sys, to, msg, address, sender_id, corr, flags);
  if (rc == 0 && sys->tracing)
    akt__trace(sys, AKT_EV_SEND, to->id, sender_id, msg->descriptor->name, akt__msg_hash(msg), 0,
               akt__remote_pid_node(to));
  *why = akt_strerror(rc);
  return rc;
}

int akt__remote_send_msg(akt_system *sys, akt_pid *to, const ProtobufCMessage *msg,
                         akt_pid *sender, uint64_t corr, uint32_t flags) {
  const char *why;
  int rc = send_packed(sys, to, msg, sender, corr, flags, &why);
  if (rc == 0 || rc == AKT_EFULL) return rc;
  /* A dead letter is an envelope: made only now, when it is one. */
  akt__env *env;
  if (akt__env_new_msg(sys, msg, &env) == 0) {
    env->sender = akt_pid_retain(sender);
    akt__env_add_flags(env, flags, corr);
    akt__dead_letter(sys, to, env, why);
  }
  return rc;
}

int akt__remote_send(akt_system *sys, akt_pid *to, akt__env *env) {
  const char *why;
  int rc = send_packed(sys, to, env->msg, env->sender, akt__env_corr(env), env->flags, &why);
  if (rc == 0 || rc == AKT_EFULL)
    akt__env_free(env);
  else
    akt__dead_letter(sys, to, env, why);
  return rc;
}

/* ---- watch and stop of remote actors ----------------------------------------------- */

/* Tells the remoting actor of `target`'s node something about `target`. */
static int tell_node(akt_pid *target, const ProtobufCMessage *msg, akt_pid *sender) {
  akt_pid *node = NULL;
  int rc = akt_remote_node_pid(target->sys, akt__remote_pid_node(target), &node);
  if (rc) return rc;
  rc = akt__send(node, msg, sender, 0, 0);
  akt_pid_release(node);
  return rc;
}

int akt__remote_watch(akt_pid *watcher, akt_pid *target, int watch) {
  akt__remote *r = akt__remote_of(target->sys);
  if (!r) return AKT_ESTATE;
  akt__endpoint *ep;
  int rc = akt__endpoint_get(r, akt__remote_pid_node(target), &ep);
  if (rc) return rc;
  rc = akt__endpoint_watch(ep, watcher, target, watch);
  akt__endpoint_put(ep);
  if (rc) return rc;
  if (watch) {
    Akt__RemoteWatch w = AKT__REMOTE_WATCH__INIT;
    w.path = (char *)(uintptr_t)target->path;
    w.id = target->id;
    return tell_node(target, &w.base, watcher);
  }
  Akt__RemoteUnwatch u = AKT__REMOTE_UNWATCH__INIT;
  u.path = (char *)(uintptr_t)target->path;
  u.id = target->id;
  return tell_node(target, &u.base, watcher);
}

int akt__remote_stop(akt_pid *target) {
  if (!akt__remote_of(target->sys)) return AKT_ESTATE;
  Akt__RemoteStop s = AKT__REMOTE_STOP__INIT;
  s.path = (char *)(uintptr_t)target->path;
  s.id = target->id;
  return tell_node(target, &s.base, NULL);
}
