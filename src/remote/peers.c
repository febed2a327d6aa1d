/* akt — the endpoint table: one endpoint per peer node, found by a hash of
 * its address, at most limits.max_peers of them.
 *
 * A peer can make the node keep state — an endpoint with its queue,
 * watches and buffers — by being named: as the address an authenticated
 * peer claims, as a node local code sends to. So the table has a cap, an
 * eviction rule and a lookup that scales:
 *
 * - Lookup: open addressing on xxh3(node), linear probing, at most half
 *   full; a node's endpoint is found in O(1) under the remoting lock.
 * - Cap: at most max_peers endpoints are listed (or being set up). A new
 *   peer beyond that empties the idle endpoint used least recently; with
 *   none idle it is refused (AKT_ELIMIT, peers_capped).
 * - Eviction: an endpoint idle (akt__endpoint_idle: no connection, nothing
 *   queued, no watch, waiter, timer or writer) and unpinned for
 *   limits.peer_idle is emptied by a sweep on the I/O context (every
 *   peer_idle / SWEEP_DIVISOR while any endpoint is listed): taken out of
 *   the index, its buffers and lists freed, its node cleared.
 *
 * Structs are reused, not freed, while remoting runs. A remote PID caches
 * its node's endpoint without a pin (a pin per cached PID would keep every
 * endpoint ever named); so a cached pointer may name a struct that was
 * emptied since, or reused for another node. Since structs are never
 * freed before remoting is, such a pointer is always safe to lock, and
 * akt__endpoint_send, under the endpoint's lock, checks that the struct
 * still is the node's (returning 1 when not: the sender looks it up
 * again). Reuse keeps the structs ever made at max_peers: a new one is
 * made only when none is free and fewer than max_peers are listed.
 *
 * Pins. akt__endpoint_get pins what it returns (under the remoting lock);
 * an endpoint with pins is never emptied, so a caller may use it across
 * lock releases until akt__endpoint_put. Emptying takes the endpoint's
 * locks, then the remoting lock, and checks pins and idleness under both:
 * a pin is either taken before (and the endpoint stays) or cannot be
 * taken after (it is no longer listed).
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

#define INDEX_FIRST_CAP 16 /* slots of a new index (a power of two) */
#define ALL_FIRST_CAP 8    /* structs in a new list */
#define SWEEP_DIVISOR 2    /* sweeps per peer_idle */

/* An index slot probes linearly from its hash; the index is kept at most
 * half full. */
#define INDEX_FULL(n, cap) ((n) * 2 >= (cap))

static uint64_t node_hash(const char *node) { return XXH3_64bits(node, strlen(node)); }

/* ---- the index (remoting lock held) ---------------------------------------------- */

static akt__endpoint *index_find(const akt__peers *p, const char *node, uint64_t h) {
  AKT__ASSERT_HELD(AKT__RANK_REMOTE);
  if (!p->index_cap) return NULL;
  uint32_t mask = p->index_cap - 1;
  for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
    akt__endpoint *ep = p->index[i];
    if (!ep) return NULL;
    if (ep->hash == h && strcmp(ep->node, node) == 0) return ep;
  }
}

static void index_put(akt__endpoint **index, uint32_t cap, akt__endpoint *ep) {
  uint32_t mask = cap - 1, i = (uint32_t)ep->hash & mask;
  while (index[i]) i = (i + 1) & mask;
  index[i] = ep;
}

/* Makes room for one more beyond those listed and those being set up
 * (each of which will be listed). 0 or AKT_ENOMEM. */
static int index_reserve(akt__peers *p) {
  uint32_t want = p->live + p->setting_up + 1;
  if (p->index_cap && !INDEX_FULL(want, p->index_cap)) return 0;
  uint32_t cap = p->index_cap ? p->index_cap * 2 : INDEX_FIRST_CAP;
  akt__endpoint **n = calloc(cap, sizeof *n);
  if (!n) return AKT_ENOMEM;
  for (uint32_t i = 0; i < p->index_cap; i++)
    if (p->index[i]) index_put(n, cap, p->index[i]);
  free(p->index);
  p->index = n;
  p->index_cap = cap;
  return 0;
}

/* Removes ep, shifting back the entries after it that probed past its
 * slot (no tombstones: lookups stay short however often peers come and
 * go). */
static void index_remove(akt__peers *p, akt__endpoint *ep) {
  uint32_t mask = p->index_cap - 1, i = (uint32_t)ep->hash & mask;
  while (p->index[i] != ep) {
    AKT_ASSERT(p->index[i] != NULL); /* a listed endpoint is in the index */
    i = (i + 1) & mask;
  }
  for (uint32_t j = (i + 1) & mask; p->index[j]; j = (j + 1) & mask) {
    uint32_t home = (uint32_t)p->index[j]->hash & mask;
    /* Entry j may move to the hole at i unless its home lies in (i, j]. */
    int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      p->index[i] = p->index[j];
      i = j;
    }
  }
  p->index[i] = NULL;
}

/* ---- lookup and creation ---------------------------------------------------------- */

akt__endpoint *akt__remote_endpoint_at(akt__remote *r, uint32_t i) {
  akt__rmutex_lock(&r->mu);
  akt__endpoint *ep = i < r->peers.nall ? r->peers.all[i] : NULL;
  akt__rmutex_unlock(&r->mu);
  return ep;
}

static void pin(akt__endpoint *ep) {
  AKT__ASSERT_HELD(AKT__RANK_REMOTE);
  atomic_fetch_add_explicit(&ep->pins, 1, memory_order_relaxed);
}

void akt__endpoint_put(akt__endpoint *ep) {
  if (!ep) return;
  uint32_t was = atomic_fetch_sub_explicit(&ep->pins, 1, memory_order_release);
  AKT_ASSERT(was > 0);
}

static int evict_idle(akt__remote *r, uint64_t idle_for, int one);
static void sweep_arm(akt__remote *r);

/* Lists ep (set up for node, hash h) and pins it, unless another thread
 * listed the node meanwhile: then ep goes back to the free list and that
 * one is pinned. Remoting lock held. */
static akt__endpoint *list(akt__remote *r, akt__endpoint *ep, const char *node, uint64_t h) {
  akt__peers *p = &r->peers;
  akt__endpoint *other = index_find(p, node, h);
  if (other) {
    ep->next_free = p->free;
    p->free = ep;
    pin(other);
    return other;
  }
  ep->hash = h;
  ep->listed = 1;
  index_put(p->index, p->index_cap, ep);
  p->live++;
  pin(ep);
  return ep;
}

int akt__endpoint_get(akt__remote *r, const char *node, akt__endpoint **out) {
  AKT__ASSERT_NOT_HELD(AKT__RANK_EP_WRITE);
  *out = NULL;
  /* Longer than ep->node holds: it would never be found again. */
  if (strlen(node) >= AKT__NODE_MAX) return AKT_ENAME;
  char sysname[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX];
  uint16_t port;
  const char *path;
  if (akt__parse_address(node, sysname, sizeof sysname, host, sizeof host, &port, &path) != 0 ||
      path)
    return AKT_ENAME;
  akt__peers *p = &r->peers;
  uint64_t h = node_hash(node);
  for (int evicted = 0;; evicted = 1) {
    akt__rmutex_lock(&r->mu);
    akt__endpoint *ep = index_find(p, node, h);
    if (ep) {
      pin(ep);
      akt__rmutex_unlock(&r->mu);
      *out = ep;
      return 0;
    }
    if (p->live + p->setting_up < r->sec.limits.max_peers) {
      int rc = index_reserve(p);
      akt__endpoint *reuse = p->free;
      /* A slot in `all` for a new struct, counting those being set up
       * (each may need one). */
      if (rc == 0 && !reuse && p->nall + p->setting_up >= p->cap_all) {
        akt__endpoint **grown = akt__array_grow(p->all, &p->cap_all, sizeof *grown, ALL_FIRST_CAP,
                                                AKT__PEERS_LIMIT);
        if (grown)
          p->all = grown;
        else
          rc = AKT_ENOMEM;
      }
      if (rc) {
        akt__rmutex_unlock(&r->mu);
        return rc;
      }
      if (reuse) p->free = reuse->next_free;
      p->setting_up++;
      akt__rmutex_unlock(&r->mu);
      /* Set up outside the remoting lock: it takes the struct's own. */
      ep = akt__endpoint_setup(r, reuse, node, sysname, host, port);
      akt__rmutex_lock(&r->mu);
      AKT_ASSERT(p->setting_up > 0);
      p->setting_up--;
      if (!ep) {
        if (reuse) {
          reuse->next_free = p->free;
          p->free = reuse;
        }
        akt__rmutex_unlock(&r->mu);
        return AKT_ENOMEM;
      }
      if (!reuse) {
        AKT_ASSERT(p->nall < p->cap_all); /* reserved above, with the other setups */
        p->all[p->nall++] = ep;
      }
      /* Room was made for this one with the others being set up. */
      AKT_ASSERT(!INDEX_FULL(p->live + 1, p->index_cap));
      ep = list(r, ep, node, h);
      akt__rmutex_unlock(&r->mu);
      sweep_arm(r); /* when not armed: the first peer, or a failed arm before */
      *out = ep;
      return 0;
    }
    akt__rmutex_unlock(&r->mu);
    /* Full: empty the idle endpoint used least recently, once. */
    if (evicted || !evict_idle(r, 0, 1)) break;
  }
  AKT__SSTAT(r, peers_capped, 1);
  akt__rlog(r, AKT__LOG_PEERS, AKT_LOG_WARN,
            "remoting: refusing peer %s: %u peers are kept (limits.max_peers) and none is idle",
            node, r->sec.limits.max_peers);
  return AKT_ELIMIT;
}

/* ---- eviction ---------------------------------------------------------------------- */

/* Empties ep if it still is listed, idle, unpinned and idle for idle_for
 * (now given). Returns 1 if it did. No lock held. */
static int evict(akt__remote *r, akt__endpoint *ep, uint64_t now, uint64_t idle_for) {
  akt__rmutex_lock(&ep->wmu);
  akt__rmutex_lock(&ep->mu);
  int done = 0;
  if (akt__endpoint_idle(ep) && ep->last_used <= now && now - ep->last_used >= idle_for) {
    akt__rmutex_lock(&r->mu);
    if (ep->listed && atomic_load_explicit(&ep->pins, memory_order_acquire) == 0) {
      index_remove(&r->peers, ep);
      ep->listed = 0;
      r->peers.live--;
      ep->next_free = r->peers.free;
      r->peers.free = ep;
      done = 1;
    }
    akt__rmutex_unlock(&r->mu);
  }
  if (done) {
    /* What an idle endpoint still holds: buffer capacity from its last
     * burst, an empty list. A holder of a stale pointer finds no node. */
    akt__buf_free(&ep->queue);
    akt__buf_free(&ep->out);
    ep->out_head = 0;
    free(ep->watches);
    ep->watches = NULL;
    ep->cap_watches = 0;
    ep->node[0] = '\0';
  }
  akt__rmutex_unlock(&ep->mu);
  akt__rmutex_unlock(&ep->wmu);
  if (done) AKT__SSTAT(r, peers_evicted, 1);
  return done;
}

/* Empties endpoints idle for idle_for or longer: every one, or (one) only
 * the one used least recently. Returns how many it emptied. No lock
 * held. */
static int evict_idle(akt__remote *r, uint64_t idle_for, int one) {
  akt_backend *b = r->sys->backend;
  uint64_t now = b->ops->now(b);
  int n = 0;
  akt__endpoint *oldest = NULL, *ep;
  uint64_t oldest_used = 0;
  for (uint32_t i = 0; (ep = akt__remote_endpoint_at(r, i)) != NULL; i++) {
    if (!one) {
      n += evict(r, ep, now, idle_for);
      continue;
    }
    akt__rmutex_lock(&ep->mu);
    int idle = akt__endpoint_idle(ep) && ep->node[0] && ep->last_used <= now &&
               now - ep->last_used >= idle_for;
    uint64_t used = ep->last_used;
    akt__rmutex_unlock(&ep->mu);
    if (idle && (!oldest || used < oldest_used)) {
      oldest = ep;
      oldest_used = used;
    }
  }
  if (oldest) n = evict(r, oldest, now, idle_for);
  return n;
}

/* ---- the sweep ------------------------------------------------------------------- */

static akt_duration sweep_period(const akt__remote *r) {
  akt_duration d = r->sec.limits.peer_idle / SWEEP_DIVISOR;
  return d ? d : 1;
}

static void sweep_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__remote *r = arg;
  akt__rmutex_lock(&r->mu);
  r->peers.sweep_armed = 0;
  akt__rmutex_unlock(&r->mu);
  if (akt__remote_state(r) != AKT__REMOTE_STOPPING) {
    evict_idle(r, r->sec.limits.peer_idle, 0);
    sweep_arm(r);
  }
  akt__inflight_done(r->sys);
}

/* Cancels the sweep if armed (a sweep firing meanwhile finds remoting
 * stopping and arms no other). */
static void sweep_cancel(akt__remote *r) {
  akt_backend *b = r->sys->backend;
  akt__rmutex_lock(&r->mu);
  uint64_t id = r->peers.sweep_armed ? r->peers.sweep_id : 0;
  akt__rmutex_unlock(&r->mu);
  if (id && b->ops->timer_cancel(b, id) == 0) {
    akt__rmutex_lock(&r->mu);
    r->peers.sweep_armed = 0;
    akt__rmutex_unlock(&r->mu);
    akt__inflight_done(r->sys);
  }
}

/* Arms the sweep while any endpoint is listed and remoting runs. */
static void sweep_arm(akt__remote *r) {
  akt_backend *b = r->sys->backend;
  akt__rmutex_lock(&r->mu);
  int want = !r->peers.sweep_armed && r->peers.live > 0 &&
             akt__remote_state(r) != AKT__REMOTE_STOPPING;
  if (want) {
    r->peers.sweep_armed = 1; /* claimed: no second timer */
    r->peers.sweep_id = 0;    /* known once started */
  }
  akt__rmutex_unlock(&r->mu);
  if (!want) return;
  akt__inflight_add(r->sys);
  uint64_t id;
  int rc = b->ops->timer_start(b, sweep_period(r), sweep_fire, r, 0, &id);
  akt__rmutex_lock(&r->mu);
  if (rc == 0)
    r->peers.sweep_id = id;
  else
    r->peers.sweep_armed = 0; /* the next new peer arms it again */
  akt__rmutex_unlock(&r->mu);
  if (rc) {
    akt__inflight_done(r->sys);
  } else if (akt__remote_state(r) == AKT__REMOTE_STOPPING) {
    /* akt__peers_stop may have looked before the id was known. */
    sweep_cancel(r);
  }
}

void akt__peers_start(akt__remote *r) { sweep_arm(r); }

void akt__peers_stop(akt__remote *r) { sweep_cancel(r); }

void akt__peers_free(akt__remote *r) {
  akt__peers *p = &r->peers;
  akt_backend *b = r->sys->backend;
  /* A dropped system's timers do not fire, whatever cancel says. */
  if (p->sweep_armed) b->ops->timer_cancel(b, p->sweep_id);
  for (uint32_t i = 0; i < p->nall; i++) akt__endpoint_stop(p->all[i]);
  for (uint32_t i = 0; i < p->nall; i++) akt__endpoint_free(p->all[i]);
  free(p->all);
  free(p->index);
  memset(p, 0, sizeof *p);
}
