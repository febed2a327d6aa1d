/* akt — the replicated state machine: the configuration in force, the
 * directory of named actors, the names being stopped.
 *
 * Every node applies the same committed slots in the same order (log.c),
 * so every node holds the same state after slot s: which members host, and
 * which names exist with which placement. Nothing here reads a clock or a
 * node's own view; the result of each op is a function of the state
 * before it, which is why a spawn answered EEXIST on one node is EEXIST on
 * every node, and why concurrent spawns of one name from every node leave
 * exactly one of them answered 0: the one the log put first.
 *
 * Ops:
 *   spawn    creates a name (EEXIST if it exists). A name stopped in the
 *            current configuration whose host has not confirmed the stop
 *            yet may be spawned again only where it ran (AKT_ESTATE
 *            otherwise): a host that has not applied the stop still runs
 *            the old activation under a lease, and a second host would
 *            start beside it.
 *   stop     removes a name, and leaves a tombstone naming its host until
 *            the host confirms (retired): relocation never brings a stopped
 *            name back, because the name is gone from every node's state.
 *   retired  the host confirms a stop: the tombstone goes.
 * A request id (requester, req) applies once: retries of a request that
 * already made it into the log change nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

enum { OP_SPAWN = 1, OP_STOP = 2, OP_RETIRED = 3 };

static const char *named_key(const void *item) { return ((const akt__ca_named *)item)->name; }
static const char *tomb_key(const void *item) { return ((const akt__ca_tomb *)item)->name; }

akt__ca_named *akt__ca_named_find(akt__ca *ca, const char *name) {
  if (!ca->named_tab.key) return NULL;
  return akt__strtab_find(&ca->named_tab, name);
}

akt__ca_tomb *akt__ca_tomb_find(akt__ca *ca, const char *name) {
  if (!ca->tomb_tab.key) return NULL;
  return akt__strtab_find(&ca->tomb_tab, name);
}

static void tabs_init(akt__ca *ca) {
  if (!ca->named_tab.key)
    akt__strtab_init(&ca->named_tab, 64, offsetof(akt__ca_named, link), named_key);
  if (!ca->tomb_tab.key) akt__strtab_init(&ca->tomb_tab, 16, offsetof(akt__ca_tomb, link), tomb_key);
}

/* ---- named entries ---------------------------------------------------------------------- */

static void named_free(akt__ca_named *e) {
  free(e->name);
  free(e->kind);
  free(e->node);
  free(e->requester);
  for (size_t i = 0; i < e->nroles; i++) free(e->roles[i]);
  free(e->roles);
  free(e);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static akt__ca_named *named_new(const char *name, const char *kind, uint32_t placement,
                                const char *node, char *const *roles, size_t nroles,
                                const char *requester, uint64_t req, uint64_t slot) {
  akt__ca_named *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->name = dup_or_empty(name);
  e->kind = dup_or_empty(kind);
  e->node = dup_or_empty(node);
  e->requester = dup_or_empty(requester);
  e->roles = nroles ? calloc(nroles, sizeof *e->roles) : NULL;
  e->placement = placement;
  e->req = req;
  e->slot = slot;
  int ok = e->name && e->kind && e->node && e->requester && (!nroles || e->roles);
  for (size_t i = 0; ok && i < nroles; i++) {
    ok = (e->roles[i] = strdup(roles[i])) != NULL;
    e->nroles = i + 1;
  }
  if (!ok) {
    named_free(e);
    return NULL;
  }
  return e;
}

static int named_add(akt__ca *ca, akt__ca_named *e) {
  tabs_init(ca);
  int rc = akt__grow(&ca->named, sizeof *ca->named, ca->nnamed, &ca->cap_named, 64,
                     AKT__CA_DIRECTORY_MAX);
  if (!rc) rc = akt__strtab_add(&ca->named_tab, e);
  if (rc) return rc;
  e->idx = ca->nnamed;
  ca->named[ca->nnamed++] = e;
  return 0;
}

static void named_remove(akt__ca *ca, akt__ca_named *e) {
  AKT_ASSERT(e->idx < ca->nnamed && ca->named[e->idx] == e);
  akt__strtab_remove(&ca->named_tab, e);
  akt__ca_named *last = ca->named[--ca->nnamed];
  ca->named[e->idx] = last;
  last->idx = e->idx;
  named_free(e);
}

/* ---- tombstones ------------------------------------------------------------------------------ */

static void tomb_free(akt__ca_tomb *t) {
  free(t->name);
  free(t->host);
  free(t);
}

static int tomb_add(akt__ca *ca, const char *name, const char *host, uint64_t slot) {
  tabs_init(ca);
  akt__ca_tomb *t = calloc(1, sizeof *t);
  if (!t) return AKT_ENOMEM;
  t->name = strdup(name);
  t->host = strdup(host);
  t->slot = slot;
  int rc = t->name && t->host ? 0 : AKT_ENOMEM;
  if (!rc)
    rc = akt__grow(&ca->tombs, sizeof *ca->tombs, ca->ntombs, &ca->cap_tombs, 16, AKT__CA_TOMBS_MAX);
  if (!rc) rc = akt__strtab_add(&ca->tomb_tab, t);
  if (rc) {
    tomb_free(t);
    return rc;
  }
  t->idx = ca->ntombs;
  ca->tombs[ca->ntombs++] = t;
  return 0;
}

static void tomb_remove(akt__ca *ca, akt__ca_tomb *t) {
  AKT_ASSERT(t->idx < ca->ntombs && ca->tombs[t->idx] == t);
  akt__strtab_remove(&ca->tomb_tab, t);
  akt__ca_tomb *last = ca->tombs[--ca->ntombs];
  ca->tombs[t->idx] = last;
  last->idx = t->idx;
  tomb_free(t);
}

/* ---- request ids ------------------------------------------------------------------------------ */

static uint64_t op_key(const char *requester, uint64_t req) {
  uint64_t k = XXH3_64bits_withSeed(requester, strlen(requester), req);
  return k ? k : 1;
}

/* Remembers a request id; 1 if it was applied before. */
static int recent_seen(akt__ca *ca, uint64_t key) {
  if (akt__u64set_has(&ca->recent_set, key)) return 1;
  uint64_t old = ca->recent[ca->recent_next];
  if (old) akt__u64set_remove(&ca->recent_set, old);
  ca->recent[ca->recent_next] = key;
  ca->recent_next = (ca->recent_next + 1) % AKT__CA_RECENT_REQS;
  /* Out of memory the id is not remembered: a retry of the same request
   * could then apply again, which for a spawn is EEXIST and for a stop
   * ENOENT — answers, not damage. */
  akt__u64set_add(&ca->recent_set, key);
  return 0;
}

/* ---- ops ---------------------------------------------------------------------------------------- */

static int spawn_op(akt__ca *ca, uint64_t slot, const Akt__Ca__Op *op) {
  if (!akt__ca_name_ok(op->name) || !op->kind_name || !*op->kind_name || op->placement > AKT__CA_PLACE_FIXED ||
      op->n_roles > AKT__CA_ROLES_MAX)
    return AKT_EINVAL;
  if (akt__ca_named_find(ca, op->name)) return AKT_EEXIST;
  akt__ca_tomb *t = akt__ca_tomb_find(ca, op->name);
  if (t && t->slot > ca->cfg.slot && akt__ca_config_find(&ca->cfg, t->host) >= 0) {
    /* Stopped in this configuration; its host may not have applied the
     * stop yet. Only that host may run it again. */
    akt__roles need = {(const char *const *)op->roles, op->n_roles};
    long at = akt__ca_place(ca, &ca->cfg, op->name, op->placement, op->node, &need);
    if (at < 0 || strcmp(ca->cfg.m[at].id, t->host) != 0) return AKT_ESTATE;
  }
  akt__ca_named *e = named_new(op->name, op->kind_name, op->placement, op->node, op->roles,
                               op->n_roles, op->requester, op->req, slot);
  if (!e) return AKT_ENOMEM;
  int rc = named_add(ca, e);
  if (rc) {
    named_free(e);
    return rc;
  }
  if (t) tomb_remove(ca, t);
  return 0;
}

static int stop_op(akt__ca *ca, uint64_t slot, const Akt__Ca__Op *op) {
  akt__ca_named *e = op->name ? akt__ca_named_find(ca, op->name) : NULL;
  if (!e) return AKT_ENOENT;
  akt__roles need = akt__ca_named_roles(e);
  long at = akt__ca_place(ca, &ca->cfg, e->name, e->placement, e->node, &need);
  akt__ca_tomb *old = akt__ca_tomb_find(ca, e->name);
  if (old) tomb_remove(ca, old);
  /* Without a tombstone (no memory, the table full) a later spawn of the
   * name elsewhere in this configuration is not held back; the tables'
   * limits make that a configuration problem, counted below. */
  if (at >= 0 && tomb_add(ca, e->name, ca->cfg.m[at].id, slot) != 0)
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_MESSAGES_LOST, e->name, e->kind, "tombstone table full",
                  0);
  named_remove(ca, e);
  return 0;
}

static int retired_op(akt__ca *ca, const Akt__Ca__Op *op) {
  akt__ca_tomb *t = op->name ? akt__ca_tomb_find(ca, op->name) : NULL;
  if (!t || !op->node || strcmp(t->host, op->node) != 0) return AKT_ENOENT;
  tomb_remove(ca, t);
  return 0;
}

/* A new configuration: tombstones of hosts that left it go (a host out of
 * the configuration is fenced by the new configuration's wait). */
static void tombs_prune(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->ntombs;) {
    akt__ca_tomb *t = ca->tombs[i];
    if (akt__ca_config_find(&ca->cfg, t->host) < 0)
      tomb_remove(ca, t);
    else
      i++;
  }
}

static int apply_config(akt__ca *ca, uint64_t slot, const Akt__Ca__Config *msg) {
  akt__ca_config next;
  int rc = akt__ca_config_from_msg(&next, msg, slot, &ca->pcfg);
  if (rc) return rc;
  /* Epochs only move forward: a configuration is a slot after the one in
   * force. */
  AKT_ASSERT_TRANSITION("configuration epoch", ca->cfg.slot, slot, slot > ca->cfg.slot);
  int genesis = ca->cfg.n == 0;
  /* The configurations before stay known a while: a hand-off is judged
   * against the placements since its sender let the name go. */
  if (ca->prev.n) {
    if (ca->nhist == AKT__CA_HISTORY) akt__ca_config_free(&ca->hist[--ca->nhist]);
    for (uint32_t i = ca->nhist; i > 0; i--) ca->hist[i] = ca->hist[i - 1];
    memset(&ca->hist[0], 0, sizeof ca->hist[0]);
    akt__ca_config_move(&ca->hist[0], &ca->prev);
    ca->nhist++;
  }
  akt__ca_config_move(&ca->prev, &ca->cfg);
  akt__ca_config_move(&ca->cfg, &next);
  ca->applied = slot;
  tombs_prune(ca);
  akt__ca_epoch_changed(ca, genesis);
  return 0;
}

int akt__ca_apply(akt__ca *ca, uint64_t slot, const Akt__Ca__Value *v) {
  AKT_ASSERT(slot == ca->applied + 1);
  if (v->config) {
    int rc = apply_config(ca, slot, v->config);
    if (rc) return rc;
    akt__ca_paxos_applied(ca, slot, v);
    return 0;
  }
  ca->applied = slot;
  for (size_t i = 0; i < v->n_ops; i++) {
    const Akt__Ca__Op *op = v->ops[i];
    if (!op || !op->requester || !op->name) continue;
    if (recent_seen(ca, op_key(op->requester, op->req))) continue;
    int code;
    switch (op->kind) {
      case OP_SPAWN: code = spawn_op(ca, slot, op); break;
      case OP_STOP: code = stop_op(ca, slot, op); break;
      case OP_RETIRED: code = retired_op(ca, op); break;
      default: code = AKT_EINVAL; break;
    }
    if (ca->self_id[0] && !strcmp(op->requester, ca->self_id))
      akt__ca_request_applied(ca, op->req, code);
    if (op->kind != OP_RETIRED && code == 0) akt__ca_reconcile(ca, op->name);
  }
  akt__ca_paxos_applied(ca, slot, v);
  return 0;
}

/* ---- snapshots ------------------------------------------------------------------------------------ */

void akt__ca_snapshot_free(Akt__Ca__Snapshot *s) {
  if (!s) return;
  akt__ca_config_msg_free(s->config);
  akt__ca_config_msg_free(s->prev_config);
  free(s->config);
  free(s->prev_config);
  if (s->n_named) free(s->named[0]);
  free(s->named);
  if (s->n_tombs) free(s->tombs[0]);
  free(s->tombs);
  if (s->n_recent) free(s->recent[0]);
  free(s->recent);
  free(s);
}

int akt__ca_snapshot_build(akt__ca *ca, Akt__Ca__Snapshot **out) {
  Akt__Ca__Snapshot *s = calloc(1, sizeof *s);
  if (!s) return AKT_ENOMEM;
  akt__ca__snapshot__init(s);
  s->config = calloc(1, sizeof *s->config);
  s->prev_config = calloc(1, sizeof *s->prev_config);
  int rc = s->config && s->prev_config ? 0 : AKT_ENOMEM;
  if (!rc) rc = akt__ca_config_msg(&ca->cfg, s->config);
  if (!rc) rc = akt__ca_config_msg(&ca->prev, s->prev_config);
  s->slot = ca->applied;
  s->epoch = ca->cfg.slot;
  s->prev_epoch = ca->prev.slot;
  /* The named entries, in the directory's order (the log's). */
  Akt__Ca__Named *nm = ca->nnamed ? calloc(ca->nnamed, sizeof *nm) : NULL;
  s->named = ca->nnamed ? calloc(ca->nnamed, sizeof *s->named) : NULL;
  if (!rc && ca->nnamed && (!nm || !s->named)) rc = AKT_ENOMEM;
  for (uint32_t i = 0; !rc && i < ca->nnamed; i++) {
    const akt__ca_named *e = ca->named[i];
    akt__ca__named__init(&nm[i]);
    nm[i].name = e->name;
    nm[i].kind_name = e->kind;
    nm[i].placement = e->placement;
    nm[i].node = e->node;
    nm[i].roles = e->roles;
    nm[i].n_roles = e->nroles;
    nm[i].requester = e->requester;
    nm[i].req = e->req;
    nm[i].slot = e->slot;
    s->named[i] = &nm[i];
    s->n_named = i + 1;
  }
  if (!s->n_named) free(nm);
  Akt__Ca__Tomb *tm = ca->ntombs ? calloc(ca->ntombs, sizeof *tm) : NULL;
  s->tombs = ca->ntombs ? calloc(ca->ntombs, sizeof *s->tombs) : NULL;
  if (!rc && ca->ntombs && (!tm || !s->tombs)) rc = AKT_ENOMEM;
  for (uint32_t i = 0; !rc && i < ca->ntombs; i++) {
    akt__ca__tomb__init(&tm[i]);
    tm[i].name = ca->tombs[i]->name;
    tm[i].host = ca->tombs[i]->host;
    tm[i].slot = ca->tombs[i]->slot;
    s->tombs[i] = &tm[i];
    s->n_tombs = i + 1;
  }
  if (!s->n_tombs) free(tm);
  /* Request ids travel as their keys (requester "" and the key as req). */
  Akt__Ca__Req *rq = calloc(AKT__CA_RECENT_REQS, sizeof *rq);
  s->recent = calloc(AKT__CA_RECENT_REQS, sizeof *s->recent);
  if (!rc && (!rq || !s->recent)) rc = AKT_ENOMEM;
  for (uint32_t k = 0; !rc && k < AKT__CA_RECENT_REQS; k++) {
    uint64_t key = ca->recent[(ca->recent_next + k) % AKT__CA_RECENT_REQS];
    if (!key) continue;
    akt__ca__req__init(&rq[s->n_recent]);
    rq[s->n_recent].requester = (char *)"";
    rq[s->n_recent].req = key;
    s->recent[s->n_recent] = &rq[s->n_recent];
    s->n_recent++;
  }
  if (!s->n_recent) free(rq);
  if (rc) {
    akt__ca_snapshot_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void akt__ca_directory_clear(akt__ca *ca) {
  while (ca->nnamed) named_remove(ca, ca->named[ca->nnamed - 1]);
  while (ca->ntombs) tomb_remove(ca, ca->tombs[ca->ntombs - 1]);
  akt__strtab_free(&ca->named_tab, NULL);
  akt__strtab_free(&ca->tomb_tab, NULL);
  free(ca->named);
  free(ca->tombs);
  ca->named = NULL;
  ca->tombs = NULL;
  ca->cap_named = ca->cap_tombs = 0;
  memset(ca->recent, 0, sizeof ca->recent);
  ca->recent_next = 0;
  akt__u64set_free(&ca->recent_set);
  akt__ca_config_free(&ca->cfg);
  akt__ca_config_free(&ca->prev);
  for (uint32_t i = 0; i < ca->nhist; i++) akt__ca_config_free(&ca->hist[i]);
  ca->nhist = 0;
  ca->applied = 0;
  ca->self_idx = -1;
}

int akt__ca_snapshot_apply(akt__ca *ca, const Akt__Ca__Snapshot *s) {
  if (!s->config || s->epoch == 0 || s->epoch > s->slot) return AKT_EPROTO;
  akt__ca_config cfg, prev = {0};
  int rc = akt__ca_config_from_msg(&cfg, s->config, s->epoch, &ca->pcfg);
  if (rc) return rc;
  if (s->prev_config && s->prev_config->n_members &&
      (rc = akt__ca_config_from_msg(&prev, s->prev_config, s->prev_epoch, &ca->pcfg))) {
    akt__ca_config_free(&cfg);
    return rc;
  }
  akt__ca_directory_clear(ca);
  tabs_init(ca);
  akt__ca_config_move(&ca->cfg, &cfg);
  akt__ca_config_move(&ca->prev, &prev);
  for (size_t i = 0; i < s->n_named; i++) {
    const Akt__Ca__Named *n = s->named[i];
    if (!n || !akt__ca_name_ok(n->name) || akt__ca_named_find(ca, n->name)) continue;
    akt__ca_named *e = named_new(n->name, n->kind_name, n->placement, n->node, n->roles,
                                 n->n_roles, n->requester, n->req, n->slot);
    if (!e || named_add(ca, e)) {
      if (e) named_free(e);
      rc = AKT_ENOMEM;
      break;
    }
  }
  for (size_t i = 0; !rc && i < s->n_tombs; i++) {
    const Akt__Ca__Tomb *t = s->tombs[i];
    if (!t || !akt__ca_name_ok(t->name) || !t->host || akt__ca_tomb_find(ca, t->name)) continue;
    rc = tomb_add(ca, t->name, t->host, t->slot);
  }
  for (size_t i = 0; !rc && i < s->n_recent && i < AKT__CA_RECENT_REQS; i++)
    if (s->recent[i] && s->recent[i]->req) recent_seen(ca, s->recent[i]->req);
  if (rc) {
    akt__ca_directory_clear(ca);
    return rc;
  }
  ca->applied = s->slot;
  akt__ca_epoch_changed(ca, 0);
  return 0;
}

Akt__Ca__Op *akt__ca_op_copy(const Akt__Ca__Op *op) {
  size_t len = akt__ca__op__get_packed_size(op);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return NULL;
  akt__ca__op__pack(op, buf);
  Akt__Ca__Op *copy = akt__ca__op__unpack(NULL, len, buf);
  free(buf);
  return copy;
}
