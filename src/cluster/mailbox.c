/* akt — an activation's mailbox, its hooks and kinds.
 *
 * The mailbox is where the promise meets the actor: every message a turn
 * takes (whatever the behaviour: become, timers, replies to its requests)
 * comes out of pop, and pop hands one out only while the node holds a
 * lease (lease.c). Without one, pop answers "empty" and size answers 0, so
 * the actor goes idle with its messages kept in order; when the lease is
 * back the layer wakes it with a Wake (a message pop consumes itself).
 * Retiring, pop lets through what was queued before the retire marker —
 * still under the lease — and once past it (or once the lease is gone)
 * sends everything on to wherever the name lives now: nothing queued is
 * lost to a move. (Messages an actor stashed and unstashed are handed back
 * in its own turn and are not checked again.)
 *
 * The kind's definition is the user's with the layer's pre_start (restore
 * the state handed over or read from the store) and post_stop (hand the
 * state over, then tell the layer).
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"

/* ---- the mailbox --------------------------------------------------------------------------- */

typedef struct ca_mb {
  akt__ca_act *a; /* one reference */
  void *inner;    /* an akt_mailbox_unbounded */
} ca_mb;

static void *mb_create(const void *config) {
  akt__ca_act *a = (akt__ca_act *)(uintptr_t)config;
  ca_mb *mb = calloc(1, sizeof *mb);
  if (!mb) return NULL;
  mb->inner = akt_mailbox_unbounded.create(NULL);
  if (!mb->inner) {
    free(mb);
    return NULL;
  }
  atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
  mb->a = a;
  return mb;
}

static void mb_destroy(void *p) {
  ca_mb *mb = p;
  akt_mailbox_unbounded.destroy(mb->inner);
  akt__ca_act_release(mb->a);
  free(mb);
}

static int mb_push(void *p, akt_mail *m) {
  ca_mb *mb = p;
  return akt_mailbox_unbounded.push(mb->inner, m);
}

/* -1: a message for the actor; 0: a wake-up; 1: the retire marker. */
static int wake_kind(akt_mail *m) {
  const ProtobufCMessage *msg = akt_mail_message(m);
  if (!akt_msg_is(msg, &akt__ca__wake__descriptor)) return -1;
  return ((const Akt__Ca__Wake *)msg)->retire ? 1 : 0;
}

/* Marks the record as holding messages for want of a lease, then looks
 * at the lease again: either this sees the lease back, or the layer's
 * wake-up (which clears the mark after the lease came back) sees the mark. */
static int hold_for_lease(ca_mb *mb, akt__ca *ca) {
  atomic_store(&mb->a->held, 1);
  atomic_store(&ca->any_held, 1);
  return !akt__ca_lease_ok(ca);
}

static int retiring_to_retired(akt__ca_act *a) {
  int expect = AKT__ACT_RETIRING;
  return atomic_compare_exchange_strong(&a->state, &expect, AKT__ACT_RETIRED);
}

static akt_mail *mb_pop(void *p) {
  ca_mb *mb = p;
  akt__ca_act *a = mb->a;
  for (;;) {
    akt__ca *ca = a->ca;
    if (!ca) return akt_mailbox_unbounded.pop(mb->inner); /* the layer is gone: teardown */
    int st = atomic_load(&a->state);
    if (st == AKT__ACT_ACTIVE || st == AKT__ACT_RETIRING) {
      if (!akt__ca_lease_ok(ca)) {
        if (st == AKT__ACT_RETIRING) {
          /* Retiring without a lease: nothing more runs here. */
          if (retiring_to_retired(a)) akt__ca_act_drained(a);
          continue;
        }
        if (!akt_mailbox_unbounded.size(mb->inner) || hold_for_lease(mb, ca)) return NULL;
        continue;
      }
      akt_mail *m = akt_mailbox_unbounded.pop(mb->inner);
      if (!m) return NULL;
      int w = wake_kind(m);
      if (w < 0) return m;
      akt__env_free((akt__env *)m);
      if (w == 1 && st == AKT__ACT_RETIRING && retiring_to_retired(a)) akt__ca_act_drained(a);
      continue;
    }
    akt_mail *m = akt_mailbox_unbounded.pop(mb->inner);
    if (!m) return NULL;
    if (wake_kind(m) >= 0) {
      akt__env_free((akt__env *)m);
      continue;
    }
    if (st == AKT__ACT_RETIRED || st == AKT__ACT_GONE) {
      /* After the marker, or the actor stopped: on to the name's host. */
      akt__ca_route_env(ca, a->name, (akt__env *)m);
      continue;
    }
    return m;
  }
}

static size_t mb_size(void *p) {
  ca_mb *mb = p;
  size_t n = akt_mailbox_unbounded.size(mb->inner);
  akt__ca *ca = mb->a->ca;
  if (!n || !ca || atomic_load(&mb->a->state) != AKT__ACT_ACTIVE) return n;
  if (akt__ca_lease_ok(ca) || !hold_for_lease(mb, ca)) return n;
  return 0;
}

const akt_mailbox_type akt__ca_mailbox = {.name = "cluster-actor",
                                          .create = mb_create,
                                          .destroy = mb_destroy,
                                          .push = mb_push,
                                          .pop = mb_pop,
                                          .size = mb_size};

/* ---- the kind's hooks ---------------------------------------------------------------------------- */

static int act_pre_start(akt_ctx *ctx);

/* The activation record of a cluster actor's context, or NULL. */
static akt__ca_act *act_of(akt_ctx *ctx) {
  akt__cell *c = ctx;
  if (!c || !c->def || c->def->pre_start != act_pre_start) return NULL;
  return (akt__ca_act *)(uintptr_t)c->arg;
}

static int act_pre_start(akt_ctx *ctx) {
  akt__ca_act *a = act_of(ctx);
  AKT_ASSERT(a != NULL);
  const akt__ca_kind *k = a->kind;
  int rc = k->k.def->pre_start ? k->k.def->pre_start(ctx) : 0;
  akt__ca *ca = a->ca;
  if (rc || !ca) return rc;
  uint8_t *data = NULL;
  size_t len = 0;
  int from = 0;
  akt__ca_lock(ca);
  if (a->in_has) {
    data = a->in_state;
    len = a->in_len;
    from = a->in_from;
    a->in_state = NULL;
    a->in_len = 0;
    a->in_has = 0;
  }
  akt__ca_unlock(ca);
  if (!data) return 0;
  if (k->k.state_type && k->k.restore) {
    ProtobufCMessage *state = protobuf_c_message_unpack(k->k.state_type, NULL, len, data);
    if (state) {
      rc = k->k.restore(ctx, state, (akt_cluster_state_from)from);
      protobuf_c_message_free_unpacked(state, NULL);
    } else {
      akt__ca_lock(ca);
      AKT__CA_STAT(ca, state_lost);
      akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, a->name, k->name,
                    "the state does not decode as the kind's state_type", 0);
      akt__ca_unlock(ca);
    }
  }
  free(data);
  return rc;
}

static void act_post_stop(akt_ctx *ctx) {
  akt__ca_act *a = act_of(ctx);
  AKT_ASSERT(a != NULL);
  const akt__ca_kind *k = a->kind;
  akt__ca *ca = a->ca;
  if (ca && a->retiring_handoff && k->k.handoff) {
    a->in_handoff_hook = 1;
    a->out_rc = k->k.handoff(ctx);
    a->in_handoff_hook = 0;
  }
  if (k->k.def->post_stop) k->k.def->post_stop(ctx);
  if (!ca) return;
  akt__ca_lock(ca);
  /* From here on whatever is left in the mailbox goes on by name. */
  int st = atomic_load(&a->state);
  if (st == AKT__ACT_ACTIVE || st == AKT__ACT_RETIRING) atomic_store(&a->state, AKT__ACT_RETIRED);
  akt__ca_act_stopped(ca, a, (((akt__cell *)ctx)->flags & AKT__CELL_PASSIVATED) != 0);
  akt__ca_unlock(ca);
}

/* ---- inside a cluster actor ------------------------------------------------------------------------ */

const char *akt_cluster_ctx_name(akt_ctx *ctx) {
  akt__ca_act *a = act_of(ctx);
  return a ? a->name : NULL;
}

const void *akt_cluster_ctx_arg(akt_ctx *ctx) {
  akt__ca_act *a = act_of(ctx);
  return a ? a->kind->k.arg : NULL;
}

/* Packs `state` (checked against the kind's type) into a new buffer. */
static int pack_state(const akt__ca_kind *k, const ProtobufCMessage *state, uint8_t **out,
                      size_t *len) {
  if (!state || !k->k.state_type || state->descriptor != k->k.state_type) return AKT_EINVAL;
  size_t n = protobuf_c_message_get_packed_size(state);
  if (n > AKT__CA_STATE_MAX) return AKT_ELIMIT;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return AKT_ENOMEM;
  protobuf_c_message_pack(state, buf);
  *out = buf;
  *len = n;
  return 0;
}

int akt_cluster_handoff_state(akt_ctx *ctx, const ProtobufCMessage *state) {
  akt__ca_act *a = act_of(ctx);
  if (!a || !a->in_handoff_hook) return AKT_EINVAL;
  uint8_t *buf;
  size_t len;
  int rc = pack_state(a->kind, state, &buf, &len);
  if (rc) return rc;
  free(a->out_state);
  a->out_state = buf;
  a->out_len = len;
  a->out_has = 1;
  return 0;
}

int akt_cluster_checkpoint(akt_ctx *ctx, const ProtobufCMessage *state, uint64_t tag) {
  akt__ca_act *a = act_of(ctx);
  if (!a || !a->ca || !a->kind->k.store) return AKT_EINVAL;
  uint8_t *buf;
  size_t len;
  int rc = pack_state(a->kind, state, &buf, &len);
  if (rc) return rc;
  akt__ca *ca = a->ca;
  akt__ca_lock(ca);
  rc = ca->stopping || !a->pid ? AKT_ESTOPPED : akt__ca_checkpoint(ca, a, buf, len, tag);
  akt__ca_unlock(ca);
  free(buf);
  return rc;
}

/* ---- kinds ---------------------------------------------------------------------------------------------- */

int akt__ca_name_ok(const char *s) {
  if (!s || !*s || *s == '$') return 0;
  size_t n = 0;
  for (const char *p = s; *p; p++, n++) {
    char c = *p;
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    if (!ok || n >= AKT_NAME_MAX) return 0;
  }
  return 1;
}

static void kind_free(akt__ca_kind *k) {
  if (!k) return;
  free(k->name);
  for (size_t i = 0; i < k->need.n; i++) free(k->roles[i]);
  free(k->roles);
  free(k);
}

int akt_cluster_register_kind(akt_system *sys, const akt_cluster_kind *kind) {
  if (!sys || !kind || !kind->def || !kind->def->receive || !akt__ca_name_ok(kind->name))
    return AKT_EINVAL;
  if (kind->mode == AKT_CLUSTER_VIRTUAL && strchr(kind->name, '.')) return AKT_EINVAL;
  if (kind->mode != AKT_CLUSTER_NAMED && kind->mode != AKT_CLUSTER_VIRTUAL) return AKT_EINVAL;
  if ((kind->handoff || kind->restore) && !kind->state_type) return AKT_EINVAL;
  if (kind->nroles > AKT_CLUSTER_KIND_ROLES_MAX || (kind->nroles && !kind->roles)) return AKT_EINVAL;
  akt__roles need = {kind->roles, kind->nroles};
  if (akt__roles_check(&need)) return AKT_EINVAL;
  akt__ca *ca = akt__ca_of(sys);
  if (!ca) return AKT_ESTATE;
  akt__ca_kind *k = calloc(1, sizeof *k);
  if (!k) return AKT_ENOMEM;
  k->k = *kind;
  k->name = strdup(kind->name);
  k->roles = kind->nroles ? calloc(kind->nroles, sizeof *k->roles) : NULL;
  int ok = k->name && (!kind->nroles || k->roles);
  for (size_t i = 0; ok && i < kind->nroles; i++) {
    ok = (k->roles[i] = strdup(kind->roles[i])) != NULL;
    k->need.n = i + 1;
  }
  if (!ok) {
    kind_free(k);
    return AKT_ENOMEM;
  }
  k->need.names = (const char *const *)k->roles;
  k->k.name = k->name;
  k->k.roles = k->need.names;
  k->def = *kind->def;
  if (!k->def.kind) k->def.kind = k->name;
  k->def.pre_start = act_pre_start;
  k->def.post_stop = act_post_stop;
  akt__ca_lock(ca);
  int rc = 0;
  if (akt__ca_kind_find(ca, k->name)) rc = AKT_EEXIST;
  else if (ca->nkinds >= AKT_CLUSTER_KINDS_MAX) rc = AKT_ELIMIT;
  if (!rc) {
    ca->kinds[ca->nkinds++] = k;
    akt__ca_reconcile_all(ca); /* names of this kind placed here can start */
  }
  akt__ca_unlock(ca);
  if (rc) kind_free(k);
  return rc;
}

/* ---- the variant without tombstones (tests only) ----------------------------------------------------------- */

#define LOCAL_STOPS_MAX 4096

int akt__ca_locally_stopped(akt__ca *ca, const char *name) {
  if (!(ca->o.test_flags & AKT_CLUSTER_TEST_NO_TOMBSTONES)) return 0;
  for (uint32_t i = 0; i < ca->nlocal_stops; i++)
    if (!strcmp(ca->local_stops[i], name)) return 1;
  return 0;
}

int akt__ca_local_stop(akt__ca *ca, const char *name) {
  if (akt__ca_locally_stopped(ca, name)) return 0;
  if (ca->nlocal_stops >= LOCAL_STOPS_MAX) return AKT_ELIMIT;
  char **grown = realloc(ca->local_stops, (ca->nlocal_stops + 1) * sizeof *grown);
  if (!grown) return AKT_ENOMEM;
  ca->local_stops = grown;
  if (!(grown[ca->nlocal_stops] = strdup(name))) return AKT_ENOMEM;
  ca->nlocal_stops++;
  return 0;
}

void akt__ca_local_stops_free(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->nlocal_stops; i++) free(ca->local_stops[i]);
  free(ca->local_stops);
  ca->local_stops = NULL;
  ca->nlocal_stops = 0;
}
