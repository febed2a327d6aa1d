/* akt — remoting: delivering what arrives from a peer.
 *
 * An envelope read from a connection (scan.h's view: strings in place, not
 * NUL-terminated) is resolved to a local actor, its payload unpacked by its
 * type name and copied into an envelope like a local send, and routed.
 * What cannot be delivered becomes a dead letter here, with the reason.
 *
 * Speed: a busy connection carries the same few type names, targets and
 * senders again and again, so each connection remembers the last few of
 * each (akt__rx_cache): a hit is a memcmp of the name's bytes, where a miss
 * takes the system lock for a hash lookup (types, registry) or parses and
 * hashes an address (senders). The payload is unpacked into a small arena
 * instead of malloc'd pieces, since it only lives until it is copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/events.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"

/* ---- the per-connection cache --------------------------------------------- */

void akt__rx_cache_free(akt__rx_cache *rx) {
  for (unsigned i = 0; i < AKT__RX_WAYS; i++) {
    akt_pid_release(rx->targets[i].pid);
    akt_pid_release(rx->senders[i].pid);
  }
  akt__buf_free(&rx->scratch);
  memset(rx, 0, sizeof *rx);
}

/* The entry of `ways` whose key is (p, n, id), or NULL. */
static akt__rx_entry *rx_find(akt__rx_entry *ways, const uint8_t *p, size_t n, uint64_t id) {
  for (unsigned i = 0; i < AKT__RX_WAYS; i++) {
    akt__rx_entry *e = &ways[i];
    if (e->len == n && e->id == id && (e->pid || e->desc) && memcmp(e->key, p, n) == 0) return e;
  }
  return NULL;
}

/* Takes the next slot of `ways` round robin for key (p, n, id), releasing
 * what it held; NULL when the key is too long to cache. */
static akt__rx_entry *rx_slot(akt__rx_entry *ways, uint32_t *next, const uint8_t *p, size_t n,
                              uint64_t id) {
  if (n > AKT__RX_KEY_MAX) return NULL;
  akt__rx_entry *e = &ways[(*next)++ % AKT__RX_WAYS];
  akt_pid_release(e->pid);
  e->pid = NULL;
  e->desc = NULL;
  memcpy(e->key, p, n);
  e->len = (uint16_t)n;
  e->id = id;
  return e;
}

/* ---- names as C strings (misses and dead letters only) --------------------- */

typedef struct rx_names {
  const char *target, *sender, *type;
} rx_names;

/* NUL-terminated copies of the view's strings in b (lengths are bounded
 * by max_name: the caller checked). 0 or AKT_ENOMEM. */
static int names_in(akt__buf *b, const akt__env_view *v, rx_names *out) {
  b->len = 0;
  int rc = akt__buf_reserve(b, v->target_len + v->sender_len + v->type_len + 3);
  if (rc) return rc;
  char *p = (char *)b->data;
  out->target = p;
  memcpy(p, v->target, v->target_len);
  p += v->target_len;
  *p++ = '\0';
  out->sender = p;
  memcpy(p, v->sender, v->sender_len);
  p += v->sender_len;
  *p++ = '\0';
  out->type = p;
  memcpy(p, v->type, v->type_len);
  p[v->type_len] = '\0';
  return 0;
}

static int names_of(akt__rx_cache *rx, const akt__env_view *v, rx_names *out) {
  return names_in(&rx->scratch, v, out);
}

/* ---- the payload arena ------------------------------------------------------- */

/* Bump allocation inside rx->arena; what does not fit is malloc'd, within
 * the payload's memory bound (rx->budget): past it every allocation
 * fails, and with it the unpack. Nothing is freed one by one: the arena
 * is reset after each envelope. */
static void *arena_alloc(void *data, size_t size) {
  akt__rx_cache *rx = data;
  size_t need = (size + 15) & ~(size_t)15;
  if (need < size || need > rx->budget - rx->taken) {
    rx->over_budget = 1;
    return NULL;
  }
  rx->taken += need;
  if (need <= sizeof rx->arena - rx->arena_used) {
    void *p = (uint8_t *)rx->arena + rx->arena_used;
    rx->arena_used += need;
    return p;
  }
  rx->arena_spilled = 1;
  return malloc(size);
}

static void arena_free(void *data, void *p) {
  akt__rx_cache *rx = data;
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)rx->arena;
  if (a >= lo && a < lo + sizeof rx->arena) return;
  free(p);
}

/* ---- delivery --------------------------------------------------------------------- */

/* Bytes of an unknown type's name its dead letter's reason repeats (the
 * DeadLetter's type field has it whole). */
#define REASON_TYPE_MAX AKT_REMOTE_DEFAULT_MAX_NAME

/* Publishes a dead letter known only by its wire fields on the event
 * stream, as akt__dead_letter does a local one (events.h: every dead
 * letter is published): through the dead-letter actor, and only while
 * someone subscribes. Its payload is the bytes that came, whether they
 * decode or not; its sender, as for a local one, the sender's path. */
static void publish(akt__remote *r, const akt__env_view *v, const rx_names *n,
                    const char *reason) {
  akt_system *sys = r->sys;
  akt_pid *dla = sys->dead_letter_actor;
  if (!dla || !akt_pid_is_running(dla) || !akt__events_wanted(sys, AKT_TOPIC_DEAD_LETTER)) return;
  char node[AKT__NODE_MAX];
  const char *sender_path = NULL;
  if (!n->sender[0] || akt__remote_split(n->sender, node, sizeof node, &sender_path) != 0 ||
      !sender_path)
    sender_path = n->sender;
  Akt__DeadLetter d = AKT__DEAD_LETTER__INIT;
  d.target = (char *)(uintptr_t)n->target;
  d.target_id = v->target_id;
  d.sender = (char *)(uintptr_t)sender_path;
  d.type = (char *)(uintptr_t)n->type;
  d.reason = (char *)(uintptr_t)reason;
  d.payload.data = (uint8_t *)(uintptr_t)v->payload;
  d.payload.len = v->payload_len;
  akt__send(dla, &d.base, NULL, 0, 0);
}

void akt__remote_dead_view(akt__remote *r, akt__buf *scratch, const akt__env_view *v,
                           const char *reason) {
  atomic_fetch_add_explicit(&r->sys->dead_letters, 1, memory_order_relaxed);
  rx_names n;
  if (names_in(scratch, v, &n) != 0) return; /* out of memory: counted only */
  akt__trace(r->sys, AKT_EV_DEAD_LETTER, 0, 0, n.type, 0, 0, reason);
  akt__log(r->sys, AKT_LOG_DEBUG, "dead letter: %s to %s from %s: %s", n.type, n.target, n.sender,
           reason);
  publish(r, v, &n, reason);
}

static void dead_on_arrival(akt__remote *r, akt__rx_cache *rx, const akt__env_view *v,
                            const char *reason) {
  akt__remote_dead_view(r, &rx->scratch, v, reason);
}

/* An envelope the rules refuse: counted, a dead letter, logged (throttled:
 * a peer decides how many there are). */
static void refuse(akt__remote *r, akt__rx_cache *rx, akt__endpoint *from, const akt__env_view *v,
                   akt__log_kind kind, const char *reason) {
  if (kind == AKT__LOG_FOREIGN)
    AKT__SSTAT(r, foreign_senders, 1);
  else if (kind == AKT__LOG_MEMORY)
    AKT__SSTAT(r, memory_bound_refusals, 1);
  else if (kind == AKT__LOG_DEPTH)
    AKT__SSTAT(r, depth_refusals, 1);
  else
    AKT__SSTAT(r, not_allowed, 1);
  akt__rlog(r, kind, AKT_LOG_WARN, "remoting: refused an envelope from %s for %.*s: %s",
            from->node, (int)(v->target_len < REASON_TYPE_MAX ? v->target_len : REASON_TYPE_MAX),
            (const char *)v->target, reason);
  dead_on_arrival(r, rx, v, reason);
}

/* Whether the sender named is on the peer's node: "" (no sender), or the
 * peer's address followed by a path. */
static int sender_of_peer(const akt__endpoint *from, const akt__env_view *v) {
  if (v->sender_len == 0) return 1;
  size_t n = strlen(from->node);
  return v->sender_len > n && memcmp(v->sender, from->node, n) == 0 && v->sender[n] == '/' &&
         !memchr(v->sender, '\0', v->sender_len);
}

/* The payload's descriptor by type name, in *out (NULL: not registered
 * here). Returns 0 or AKT_ENOMEM. */
static int rx_type(akt__remote *r, akt__rx_cache *rx, const akt__env_view *v,
                   const ProtobufCMessageDescriptor **out) {
  akt__rx_entry *e = rx_find(rx->types, v->type, v->type_len, 0);
  if (e) {
    *out = e->desc;
    return 0;
  }
  rx_names n;
  int rc = names_of(rx, v, &n);
  if (rc) return rc;
  const ProtobufCMessageDescriptor *desc = akt_system_find_type(r->sys, n.type);
  /* Only what is known is remembered: a type may be registered later. */
  if (desc && (e = rx_slot(rx->types, &rx->next_type, v->type, v->type_len, 0))) e->desc = desc;
  *out = desc;
  return 0;
}

/* The sender of an inbound envelope: a remote PID (or a local one, when a
 * node sends us our own actor as sender). New reference, or NULL. */
static akt_pid *rx_sender(akt__remote *r, akt__rx_cache *rx, const akt__env_view *v) {
  if (v->sender_len == 0) return NULL;
  akt__rx_entry *e = rx_find(rx->senders, v->sender, v->sender_len, v->sender_id);
  if (e) return akt_pid_retain(e->pid);
  rx_names n;
  if (names_of(rx, v, &n) != 0 || !n.sender[0]) return NULL;
  char node[AKT__NODE_MAX];
  const char *path;
  if (akt__remote_split(n.sender, node, sizeof node, &path) != 0 || !path) return NULL;
  if (strcmp(node, r->node) == 0) {
    /* Ours: looked up every time, as the actor there may change. */
    akt_pid *p = NULL;
    akt_lookup(r->sys, path, &p);
    return p;
  }
  akt_pid *p = akt__rpid_intern(r, node, path, v->sender_id);
  /* A remote PID never goes stale: remembered as it is. */
  if (p && (e = rx_slot(rx->senders, &rx->next_sender, v->sender, v->sender_len, v->sender_id)))
    e->pid = akt_pid_retain(p);
  return p;
}

/* The live local actor at the envelope's target path, or NULL. Its id may
 * differ from target_id: the caller checks. The reference is the cache's
 * when *owned is 0 (saving two contended atomic operations per message),
 * a new one for the caller to release when it is 1. */
static akt_pid *rx_target(akt__remote *r, akt__rx_cache *rx, const akt__env_view *v, int *owned) {
  *owned = 0;
  if (v->target_len == 0 || v->target[0] != '/') return NULL;
  akt__rx_entry *e = rx_find(rx->targets, v->target, v->target_len, v->target_id);
  if (e) {
    /* Still the registry's answer while the actor has not terminated: a
     * cell leaves the registry only after it terminated, so no successor
     * can hold the path before then. */
    akt_pid *p = e->pid;
    if (atomic_load_explicit(&p->cell->life, memory_order_acquire) < AKT__LIFE_TERMINATED)
      return p;
    akt_pid_release(p);
    e->pid = NULL;
    e->len = 0;
  }
  rx_names n;
  akt_pid *p = NULL;
  if (names_of(rx, v, &n) != 0 || akt_lookup(r->sys, n.target, &p) != 0) return NULL;
  /* A PID of another incarnation is not remembered: a dead letter. */
  if (!(v->target_id && p->id != v->target_id) &&
      (e = rx_slot(rx->targets, &rx->next_target, v->target, v->target_len, v->target_id))) {
    e->pid = p; /* the lookup's reference */
    return p;
  }
  *owned = 1;
  return p;
}

void akt__remote_deliver(akt__remote *r, akt__rx_cache *rx, akt__endpoint *from,
                         const akt__env_view *v) {
  akt_system *sys = r->sys;
  /* The rules first, on the names alone: nothing of a refused envelope is
   * decoded. */
  if (!akt__security_reachable(v->target, v->target_len)) {
    refuse(r, rx, from, v, AKT__LOG_NOT_ALLOWED, "not reachable from the network");
    return;
  }
  if (!sender_of_peer(from, v)) {
    refuse(r, rx, from, v, AKT__LOG_FOREIGN, "the sender is not an actor of the peer's node");
    return;
  }
  const ProtobufCMessageDescriptor *desc;
  if (rx_type(r, rx, v, &desc) != 0) {
    dead_on_arrival(r, rx, v, akt_strerror(AKT_ENOMEM));
    return;
  }
  if (!desc) {
    AKT__RSTAT(r, unknown_types, 1);
    char reason[sizeof "unknown type " + REASON_TYPE_MAX];
    /* %.*s ends at the first NUL, as the C string protobuf-c made did. */
    snprintf(reason, sizeof reason, "unknown type %.*s",
             (int)(v->type_len < REASON_TYPE_MAX ? v->type_len : REASON_TYPE_MAX),
             (const char *)v->type);
    dead_on_arrival(r, rx, v, reason);
    return;
  }
  if (desc == &akt__poison_pill__descriptor &&
      !akt__security_may_stop(r, v->target, v->target_len)) {
    refuse(r, rx, from, v, AKT__LOG_NOT_ALLOWED, "a PoisonPill for a path not in stop_paths");
    return;
  }
  /* Measured before protobuf-c, which recurses once per level: a payload
   * nested a million levels deep (3 MiB, within every other limit) would
   * take it past the end of the loop thread's stack. The copy below would
   * refuse what is nested deeper anyway (akt_tell's AKT_ELIMIT). */
  if (akt__scan_depth(desc, v->payload, v->payload_len) != 0) {
    refuse(r, rx, from, v, AKT__LOG_DEPTH,
           "the payload nests messages deeper than AKT_MSG_MAX_DEPTH (" AKT__STR(
               AKT_MSG_MAX_DEPTH) ")");
    return;
  }
  ProtobufCAllocator arena = {.alloc = arena_alloc, .free = arena_free, .allocator_data = rx};
  rx->arena_used = 0;
  rx->arena_spilled = 0;
  rx->taken = 0;
  rx->over_budget = 0;
  size_t k = r->sec.limits.memory_per_byte;
  rx->budget = v->payload_len > (SIZE_MAX - AKT_SECURITY_DECODE_OVERHEAD) / k
                   ? SIZE_MAX
                   : k * v->payload_len + AKT_SECURITY_DECODE_OVERHEAD;
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &arena, v->payload_len, v->payload);
  if (!msg) {
    if (rx->over_budget)
      refuse(r, rx, from, v, AKT__LOG_MEMORY,
             "the payload would take more memory to decode than the memory bound allows");
    else
      dead_on_arrival(r, rx, v, "payload does not decode as its type");
    return;
  }
  akt__env *env;
  int rc = akt__env_new_msg(sys, msg, &env);
  /* All in the arena (the usual case): nothing to free, and the walk
   * over the message that freeing takes is saved. */
  if (rx->arena_spilled) protobuf_c_message_free_unpacked(msg, &arena);
  rx->arena_used = 0;
  if (rc) {
    dead_on_arrival(r, rx, v, akt_strerror(rc));
    return;
  }
  env->sender = rx_sender(r, rx, v);
  akt__env_add_flags(env, v->flags & (AKT__ENV_REQUEST | AKT__ENV_REPLY), v->corr);
  /* A Terminated is an answer to a watch of a peer's actor, and only
   * that: it ends the watch here (also when the watcher itself is gone by
   * now). One nobody asked for could make an actor believe another died
   * (a router drops a routee), so it is refused. */
  if (desc == &akt__terminated__descriptor &&
      (!env->sender ||
       !akt__endpoint_end_watch(from, v->target, v->target_len, v->target_id, env->sender))) {
    akt__env_free(env);
    refuse(r, rx, from, v, AKT__LOG_NOT_ALLOWED, "a Terminated for no watch of this node's");
    return;
  }
  int owned;
  akt_pid *target = rx_target(r, rx, v, &owned);
  if (!target) {
    akt__dead_letter(sys, NULL, env, "no such actor");
  } else if (v->target_id && target->id != v->target_id) {
    akt__dead_letter(sys, target, env, "no such actor (a newer incarnation holds its path)");
  } else {
    akt__route(target, env);
  }
  if (owned) akt_pid_release(target);
}
