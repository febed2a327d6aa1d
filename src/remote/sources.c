/* akt — connections counted against the caps: in total (in and out), and
 * for accepted ones per source address and while not authenticated yet.
 *
 * An accept is refused at once — before a byte is read, before anything
 * is allocated for it beyond the backend's stream — when it would pass
 * max_connections or max_connections_per_source; at max_unauthenticated
 * (or its source's max_unauthenticated_per_source) the oldest handshake
 * (of that source) is cut for it instead (conn.c). So strangers can hold at most
 * max_unauthenticated handshakes open (each for handshake_deadline at
 * most), one address at most max_unauthenticated_per_source of them, and
 * none of them for longer than a newcomer's arrival, while authenticated
 * peers keep the rest of max_connections.
 *
 * The per-source table is an open-addressing hash on xxh3(host) with
 * linear probing, at most half full, holding only sources with an open
 * connection (an entry goes when its last connection does, with the
 * entries after it shifted back): at most max_connections entries, each
 * found in O(1). Everything here runs under the remoting lock.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/remote/remote.h"

#define SOURCES_FIRST_CAP 16 /* slots of a new table (a power of two) */
#define SOURCES_FULL(n, cap) ((n) * 2 >= (cap))

static uint64_t host_hash(const char *host) { return XXH3_64bits(host, strlen(host)); }

/* The slot of `host`, or the free slot where it would go. */
static akt__source *slot_of(akt__sources *t, const char *host, uint64_t h) {
  uint32_t mask = t->cap - 1;
  for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
    akt__source *s = &t->slots[i];
    if (!s->host || (s->hash == h && strcmp(s->host, host) == 0)) return s;
  }
}

/* Room for one more source. 0 or AKT_ENOMEM. */
static int reserve(akt__sources *t) {
  if (t->cap && !SOURCES_FULL(t->used + 1, t->cap)) return 0;
  uint32_t cap = t->cap ? t->cap * 2 : SOURCES_FIRST_CAP;
  akt__source *n = calloc(cap, sizeof *n);
  if (!n) return AKT_ENOMEM;
  for (uint32_t i = 0; i < t->cap; i++) {
    akt__source *s = &t->slots[i];
    if (!s->host) continue;
    uint32_t k = (uint32_t)s->hash & (cap - 1);
    while (n[k].host) k = (k + 1) & (cap - 1);
    n[k] = *s;
  }
  free(t->slots);
  t->slots = n;
  t->cap = cap;
  return 0;
}

/* Removes the entry at s (no connection left), shifting back those after
 * it that probed past it. */
static void drop(akt__sources *t, akt__source *s) {
  AKT_ASSERT(s->conns == 0 && s->unauth == 0);
  free(s->host);
  uint32_t mask = t->cap - 1, i = (uint32_t)(s - t->slots);
  for (uint32_t j = (i + 1) & mask; t->slots[j].host; j = (j + 1) & mask) {
    uint32_t home = (uint32_t)t->slots[j].hash & mask;
    int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  memset(&t->slots[i], 0, sizeof t->slots[i]);
  t->used--;
}

int akt__sources_admit(akt__remote *r, const char *host, int inbound, const char **which) {
  const akt_security_limits *l = &r->sec.limits;
  akt__sources *t = &r->sources;
  int rc = 0;
  *which = NULL;
  akt__rmutex_lock(&r->mu);
  if (t->conns >= l->max_connections) {
    *which = "limits.max_connections";
  } else if (!inbound) {
    /* Ours: counted in the total only. The per-source caps are about who
     * connects to us (many peers of ours may share a host). */
    t->conns++;
  } else if (t->unauth >= l->max_unauthenticated) {
    *which = AKT__CAP_UNAUTHENTICATED;
  } else if ((rc = reserve(t)) == 0) {
    uint64_t h = host_hash(host);
    akt__source *s = slot_of(t, host, h);
    if (s->host && s->conns >= l->max_connections_per_source) {
      *which = "limits.max_connections_per_source";
    } else if (s->host && s->unauth >= l->max_unauthenticated_per_source) {
      *which = AKT__CAP_UNAUTHENTICATED_PER_SOURCE;
    } else if (!s->host && !(s->host = strdup(host))) {
      rc = AKT_ENOMEM;
    } else {
      if (s->conns == 0) {
        s->hash = h;
        t->used++;
      }
      s->conns++;
      s->unauth++;
      t->conns++;
      t->unauth++;
    }
  }
  akt__rmutex_unlock(&r->mu);
  if (*which) rc = AKT_ELIMIT;
  return rc;
}

void akt__sources_authenticated(akt__remote *r, const char *host) {
  akt__sources *t = &r->sources;
  akt__rmutex_lock(&r->mu);
  akt__source *s = slot_of(t, host, host_hash(host));
  AKT_ASSERT(s->host && s->unauth > 0 && t->unauth > 0);
  s->unauth--;
  t->unauth--;
  akt__rmutex_unlock(&r->mu);
}

void akt__sources_release(akt__remote *r, const char *host, int inbound, int unauth) {
  akt__sources *t = &r->sources;
  akt__rmutex_lock(&r->mu);
  AKT_ASSERT(t->conns > 0);
  t->conns--;
  if (inbound) {
    akt__source *s = slot_of(t, host, host_hash(host));
    AKT_ASSERT(s->host && s->conns > 0);
    s->conns--;
    if (unauth) {
      AKT_ASSERT(s->unauth > 0 && t->unauth > 0);
      s->unauth--;
      t->unauth--;
    }
    if (s->conns == 0) drop(t, s);
  } else {
    AKT_ASSERT(!unauth);
  }
  akt__rmutex_unlock(&r->mu);
}

void akt__sources_free(akt__sources *t) {
  for (uint32_t i = 0; i < t->cap; i++) free(t->slots[i].host);
  free(t->slots);
  memset(t, 0, sizeof *t);
}
