/* akt — activations: the records of the names placed on this node, and
 * their lifecycle.
 *
 * A record exists for a name this node hosts or is about to host (state
 * machine in actors.h). akt__ca_reconcile brings one name in line with
 * what the node knows — the directory, the configuration, the wait of the
 * configuration, the lease, hand-offs — and is called whenever one of
 * those changes. The rules it follows are the promise's:
 *
 *   start    only when the name is placed here by the configuration in
 *            force, this node holds a lease, and either the configuration's
 *            wait has passed or the old host handed the name over (then
 *            nobody else can run it: the old host stopped it first);
 *            with the state handed over, else the kind's store, else fresh
 *            (reported as lost state when the name moved here);
 *   retire   as soon as the name is placed elsewhere, stopped, or this node
 *            is out: a marker goes into the activation's mailbox, what was
 *            queued before it is processed (under the lease, as always),
 *            what comes after it goes to the new host; then the actor
 *            stops and its state is handed over (handoff.c).
 *
 * The activation's mailbox (mailbox.c) is where every message of a turn is
 * checked against the lease.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/cluster/actors.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

static const char *act_key(const void *item) { return ((const akt__ca_act *)item)->name; }

/* Allowed transitions of a record's state. */
static int act_step_ok(int from, int to) {
  switch (to) {
    case AKT__ACT_WAITING: return from == AKT__ACT_LOADING || from == AKT__ACT_ACTIVE;
    case AKT__ACT_LOADING: return from == AKT__ACT_WAITING;
    case AKT__ACT_ACTIVE: return from == AKT__ACT_WAITING || from == AKT__ACT_LOADING;
    case AKT__ACT_RETIRING: return from == AKT__ACT_ACTIVE;
    case AKT__ACT_RETIRED: return from == AKT__ACT_ACTIVE || from == AKT__ACT_RETIRING;
    case AKT__ACT_FAILED: return from == AKT__ACT_ACTIVE || from == AKT__ACT_RETIRED;
    case AKT__ACT_GONE: return from != AKT__ACT_GONE;
    default: return 0;
  }
}

static void set_state(akt__ca_act *a, int to) {
  int from = atomic_load_explicit(&a->state, memory_order_acquire);
  AKT_ASSERT_TRANSITION("activation state", from, to, act_step_ok(from, to));
  atomic_store_explicit(&a->state, to, memory_order_release);
}

static int state_of(const akt__ca_act *a) {
  return atomic_load_explicit(&a->state, memory_order_acquire);
}

/* ---- kinds and what a name is -------------------------------------------------------------- */

akt__ca_kind *akt__ca_kind_find(akt__ca *ca, const char *name) {
  for (size_t i = 0; name && i < ca->nkinds; i++)
    if (!strcmp(ca->kinds[i]->name, name)) return ca->kinds[i];
  return NULL;
}

akt__ca_kind *akt__ca_virtual_kind_of(akt__ca *ca, const char *name) {
  const char *dot = strchr(name, '.');
  if (!dot || dot == name || !dot[1]) return NULL;
  size_t n = (size_t)(dot - name);
  for (size_t i = 0; i < ca->nkinds; i++) {
    akt__ca_kind *k = ca->kinds[i];
    if (k->k.mode == AKT_CLUSTER_VIRTUAL && strlen(k->name) == n && !strncmp(k->name, name, n))
      return k;
  }
  return NULL;
}

int akt__ca_what_of(akt__ca *ca, const char *name, akt__ca_what *out) {
  memset(out, 0, sizeof *out);
  akt__ca_named *e = akt__ca_named_find(ca, name);
  if (e) {
    out->exists = 1;
    out->kind = e->kind;
    out->placement = e->placement;
    out->fixed = e->node;
    out->need = akt__ca_named_roles(e);
    return 1;
  }
  akt__ca_kind *k = akt__ca_virtual_kind_of(ca, name);
  if (!k) return 0;
  out->exists = out->virtual_ = 1;
  out->kind = k->name;
  out->placement = AKT__CA_PLACE_OWNER;
  out->need = k->need;
  return 1;
}

static long place_in(akt__ca *ca, const akt__ca_config *c, const char *name,
                     const akt__ca_what *w) {
  return akt__ca_place(ca, c, name, w->placement, w->fixed, &w->need);
}

long akt__ca_host_of(akt__ca *ca, const char *name) {
  akt__ca_what w;
  if (!akt__ca_what_of(ca, name, &w)) return -2;
  return place_in(ca, &ca->cfg, name, &w);
}

/* ---- records ------------------------------------------------------------------------------- */

akt__ca_act *akt__ca_act_find(akt__ca *ca, const char *name) {
  if (!ca->act_tab.key) return NULL;
  return akt__strtab_find(&ca->act_tab, name);
}

akt__ca_act *akt__ca_act_get(akt__ca *ca, const char *name, const akt__ca_kind *kind) {
  akt__ca_act *a = akt__ca_act_find(ca, name);
  if (a) return a;
  if (!ca->act_tab.key) akt__strtab_init(&ca->act_tab, 64, offsetof(akt__ca_act, link), act_key);
  if (akt__grow(&ca->act_list, sizeof *ca->act_list, ca->nacts, &ca->cap_acts, 64,
                AKT__CA_ACTS_MAX))
    return NULL;
  a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->name = strdup(name);
  if (!a->name || akt__strtab_add(&ca->act_tab, a)) {
    free(a->name);
    free(a);
    return NULL;
  }
  a->ca = ca;
  a->kind = kind;
  atomic_store(&a->refs, 1);
  atomic_store(&a->state, AKT__ACT_WAITING);
  a->epoch = ca->cfg.slot;
  a->waiting_since = akt__ca_now(ca);
  a->idx = ca->nacts;
  ca->act_list[ca->nacts++] = a;
  return a;
}

static void probes_free(akt__ca_act *a) {
  for (akt__ca_probe *p = a->probes, *next; p; p = next) {
    next = p->next;
    free(p->reply_to);
    free(p);
  }
  a->probes = NULL;
}

void akt__ca_act_release(akt__ca_act *a) {
  uint32_t before = atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel);
  AKT_ASSERT(before > 0);
  if (before != 1) return;
  for (akt__env *e = a->hold_head, *next; e; e = next) {
    next = e->link;
    akt__env_free(e);
  }
  probes_free(a);
  free(a->in_state);
  free(a->in_sender);
  free(a->out_state);
  free(a->name);
  free(a);
}

/* Takes a record out of the table (its memory goes with its last
 * reference: the mailbox may still hold one). */
static void act_remove(akt__ca *ca, akt__ca_act *a) {
  AKT_ASSERT(a->idx < ca->nacts && ca->act_list[a->idx] == a);
  AKT_ASSERT(!a->hold_head && !a->store_op);
  akt__strtab_remove(&ca->act_tab, a);
  akt__ca_act *last = ca->act_list[--ca->nacts];
  ca->act_list[a->idx] = last;
  last->idx = a->idx;
  set_state(a, AKT__ACT_GONE);
  akt_pid_release(a->pid);
  a->pid = NULL;
  akt__ca_act_release(a);
}

void akt__ca_act_hold(akt__ca *ca, akt__ca_act *a, akt__env *env) {
  if (a->nheld >= ca->o.hold_per_name || ca->hold_total >= ca->o.hold_total) {
    AKT__CA_STAT(ca, hold_dropped);
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_MESSAGES_LOST, a->name, a->kind ? a->kind->name : "",
                  "hold limit", 1);
    akt__ca_dead(ca, env, "cluster actor: hold limit reached while it moves");
    return;
  }
  env->link = NULL;
  if (a->hold_tail) a->hold_tail->link = env;
  else a->hold_head = env;
  a->hold_tail = env;
  a->nheld++;
  ca->hold_total++;
  AKT__CA_STAT(ca, held);
}

static akt__env *hold_take(akt__ca *ca, akt__ca_act *a) {
  akt__env *e = a->hold_head;
  if (!e) return NULL;
  a->hold_head = e->link;
  if (!a->hold_head) a->hold_tail = NULL;
  e->link = NULL;
  a->nheld--;
  AKT_ASSERT(ca->hold_total > 0);
  ca->hold_total--;
  return e;
}

/* Takes every message a record holds, as a list (linked through `link`). */
static akt__env *hold_detach(akt__ca *ca, akt__ca_act *a) {
  akt__env *list = a->hold_head;
  AKT_ASSERT(ca->hold_total >= a->nheld);
  ca->hold_total -= a->nheld;
  a->hold_head = a->hold_tail = NULL;
  a->nheld = 0;
  return list;
}

/* Sends a detached list of messages to wherever `name` is now (the record
 * they came from must be out of the table, or they could come back to
 * it). */
static void reroute(akt__ca *ca, const char *name, akt__env *list) {
  for (akt__env *e = list, *next; e; e = next) {
    next = e->link;
    e->link = NULL;
    akt__ca_route_locked(ca, name, e, 1);
  }
}

/* Probes waiting on a record that will not start here go to the host. */
static void probes_reroute(akt__ca *ca, akt__ca_act *a) {
  long host = akt__ca_host_of(ca, a->name);
  for (akt__ca_probe *p = a->probes; p; p = p->next) {
    Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
    Akt__Ca__Probe pr = AKT__CA__PROBE__INIT;
    pr.name = a->name;
    pr.id = p->id;
    pr.reply_to = p->reply_to;
    msg.body_case = AKT__CA__MSG__BODY_PROBE;
    msg.probe = &pr;
    if (host >= 0 && (int)host != ca->self_idx) {
      akt__ca_send_member(ca, &ca->cfg, (size_t)host, &msg);
    } else {
      Akt__Ca__ProbeReply r = AKT__CA__PROBE_REPLY__INIT;
      r.id = p->id;
      r.code = host == -2 ? AKT_ENOENT : AKT_ESTATE;
      Akt__Ca__Msg out = AKT__CA__MSG__INIT;
      out.body_case = AKT__CA__MSG__BODY_PROBE_REPLY;
      out.probe_reply = &r;
      akt__ca_send(ca, p->reply_to, &out);
    }
  }
  probes_free(a);
}

/* ---- starting ---------------------------------------------------------------------------------- */

static void store_read(akt__ca *ca, akt__ca_act *a);

static void spawn_actor(akt__ca *ca, akt__ca_act *a, const char *from) {
  AKT_ASSERT(a->pid == NULL);
  AKT_ASSERT(ca->cfg.slot < (UINT64_C(1) << 32));
  a->fence = ca->cfg.slot << 32 | ++ca->fence_ctr;
  akt_spawn_opts opts = {.arg = a, .mailbox = &akt__ca_mailbox, .mailbox_config = a};
  if (a->kind->k.mode == AKT_CLUSTER_VIRTUAL) opts.passivate_after = a->kind->k.passivate_after;
  int was = state_of(a);
  set_state(a, AKT__ACT_ACTIVE);
  a->retired_by_ca = a->retiring_handoff = 0;
  int rc = akt__spawn(ca->sys, ca->host->cell, a->name, &a->kind->def, &opts, 0, &a->pid);
  if (rc) {
    a->pid = NULL;
    set_state(a, AKT__ACT_WAITING);
    (void)was;
    /* EEXIST: the activation before it is still stopping (its post_stop
     * reconciles the name again); otherwise try again at a tick. */
    a->start_retry_at = akt__ca_now(ca) + (rc == AKT_EEXIST ? AKT_SECONDS(3600) : AKT__CA_STORE_RETRY);
    if (rc != AKT_EEXIST)
      akt__log(ca->sys, AKT_LOG_ERROR, "cluster actors: spawning %s failed: %s", a->name,
               akt_strerror(rc));
    return;
  }
  a->cleared = 1; /* running here: it stays allowed until it moves */
  AKT__CA_STAT(ca, activations);
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_ACTIVATED, a->name, a->kind->name, from, 0);
  akt__env *e;
  while ((e = hold_take(ca, a)) != NULL) akt__ca_deliver(ca, a, e);
  akt__ca_probes_answer(ca, a, 0);
}

/* Did the name come here from another host that may have had state, and
 * none came with it? (A previous host that released the name had none: it
 * never ran it, as a name spawned after the configuration changed.) */
static int moved_without_state(const akt__ca_act *a) {
  return a->relocated && !a->released && a->kind->k.state_type && !a->in_clean;
}

/* Starts the record's activation if everything allows it (see the top). */
static void try_start(akt__ca *ca, akt__ca_act *a) {
  if (state_of(a) != AKT__ACT_WAITING || ca->stopping || !a->kind) return;
  akt__ca_handoff_judge(ca, a);
  if (a->in_epoch) return; /* a hand-off from a configuration not applied here yet */
  uint64_t now = akt__ca_now(ca);
  int nofence = (ca->o.test_flags & AKT_CLUSTER_TEST_NO_FENCING) != 0;
  /* The old host lives: its hand-off normally comes within a round trip
   * of the configuration; wait for it a while rather than lose the state,
   * and ask for it. */
  int hand_off_due = a->handoff_expected && !a->in_has && !a->cleared &&
                     now - a->waiting_since < ca->o.handoff_timeout;
  if (hand_off_due) akt__ca_handoff_ask(ca, a);
  if (!a->cleared && ca->ready_epoch != ca->cfg.slot) return;
  if (hand_off_due) return;
  if (!nofence && !akt__ca_lease_ok(ca)) return;
  if (a->start_retry_at && now < a->start_retry_at) return;
  a->start_retry_at = 0;
  if (a->in_has) {
    spawn_actor(ca, a, a->in_from == AKT_CLUSTER_STATE_STORE ? "store" : "hand-off");
    return;
  }
  if (a->kind->k.store) {
    store_read(ca, a);
    return;
  }
  if (moved_without_state(a)) {
    AKT__CA_STAT(ca, state_lost);
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, a->name, a->kind->name,
                  "moved without hand-off and no store", 0);
  }
  spawn_actor(ca, a, "fresh");
}

/* ---- the store's read ---------------------------------------------------------------------------- */

static void store_cb(void *arg, int status, const uint8_t *data, size_t len, uint64_t version);

static akt__ca_store_op *sop_new(akt__ca *ca, akt_cluster_store *store, int what,
                                 const char *name, uint64_t fence) {
  if (ca->nsops >= AKT__CA_STORE_OPS_MAX) return NULL;
  akt__ca_store_op *op = calloc(1, sizeof *op);
  if (!op) return NULL;
  op->name = strdup(name);
  if (!op->name) {
    free(op);
    return NULL;
  }
  op->ca = ca;
  op->store = store;
  op->what = what;
  op->fence = fence;
  op->next = ca->sops;
  ca->sops = op;
  ca->nsops++;
  return op;
}

static void sop_unlink(akt__ca *ca, akt__ca_store_op *op) {
  for (akt__ca_store_op **p = &ca->sops; *p; p = &(*p)->next) {
    if (*p == op) {
      *p = op->next;
      ca->nsops--;
      return;
    }
  }
  AKT_ASSERT(0 && "store op not listed");
}

static void sop_free(akt__ca_store_op *op) {
  akt_pid_release(op->reply_to);
  free(op->name);
  free(op);
}

static void store_read(akt__ca *ca, akt__ca_act *a) {
  AKT_ASSERT(ca->cfg.slot < (UINT64_C(1) << 32));
  a->fence = ca->cfg.slot << 32 | ++ca->fence_ctr;
  akt_cluster_store *st = a->kind->k.store;
  akt__ca_store_op *op = sop_new(ca, st, AKT__CA_SOP_GET, a->name, a->fence);
  if (!op) {
    a->start_retry_at = akt__ca_now(ca) + AKT__CA_STORE_RETRY;
    return;
  }
  set_state(a, AKT__ACT_LOADING);
  AKT__CA_STAT(ca, store_gets);
  int rc = st->ops->get(st, ca->b, a->name, a->fence, store_cb, op, &op->id);
  if (rc) {
    sop_unlink(ca, op);
    sop_free(op);
    set_state(a, AKT__ACT_WAITING);
    AKT__CA_STAT(ca, store_errors);
    a->start_retry_at = akt__ca_now(ca) + AKT__CA_STORE_RETRY;
    return;
  }
  a->store_op = op->id;
}

static void store_got(akt__ca *ca, akt__ca_store_op *op, int status, const uint8_t *data,
                      size_t len) {
  akt__ca_act *a = akt__ca_act_find(ca, op->name);
  if (!a || state_of(a) != AKT__ACT_LOADING || a->store_op != op->id) return;
  a->store_op = 0;
  set_state(a, AKT__ACT_WAITING);
  if (status == 0 && len <= AKT__CA_STATE_MAX) {
    a->in_state = malloc(len ? len : 1);
    if (a->in_state) {
      memcpy(a->in_state, data, len);
      a->in_len = len;
      a->in_has = 1;
      a->in_from = AKT_CLUSTER_STATE_STORE;
      spawn_actor(ca, a, "store");
      return;
    }
  }
  if (status == AKT_ENOENT) {
    if (moved_without_state(a)) {
      AKT__CA_STAT(ca, state_lost);
      akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, a->name, a->kind->name,
                    "moved without hand-off, nothing in the store", 0);
    }
    spawn_actor(ca, a, "fresh");
    return;
  }
  /* A storage fault, or fenced by a newer activation: starting fresh would
   * lose the state. Try again later (this node's view may also move on). */
  AKT__CA_STAT(ca, store_errors);
  a->start_retry_at = akt__ca_now(ca) + AKT__CA_STORE_RETRY;
}

static void store_done_put(akt__ca *ca, akt__ca_store_op *op, int status, uint64_t version) {
  if (status) AKT__CA_STAT(ca, store_errors);
  if (!op->reply_to) return;
  Akt__Ca__CheckpointDone d = AKT__CA__CHECKPOINT_DONE__INIT;
  d.tag = op->tag;
  d.code = status;
  d.version = version;
  akt_tell(op->reply_to, &d.base);
}

static void store_cb(void *arg, int status, const uint8_t *data, size_t len, uint64_t version) {
  akt__ca_store_op *op = arg;
  akt__ca *ca = op->ca;
  akt__ca_lock(ca);
  sop_unlink(ca, op);
  if (!ca->stopping) {
    if (op->what == AKT__CA_SOP_GET) store_got(ca, op, status, data, len);
    else store_done_put(ca, op, status, version);
  }
  akt__ca_unlock(ca);
  sop_free(op);
}

int akt__ca_checkpoint(akt__ca *ca, akt__ca_act *a, const uint8_t *data, size_t len,
                       uint64_t tag) {
  akt_cluster_store *st = a->kind->k.store;
  akt__ca_store_op *op = sop_new(ca, st, AKT__CA_SOP_PUT, a->name, a->fence);
  if (!op) return AKT_ELIMIT;
  op->tag = tag;
  op->reply_to = akt_pid_retain(a->pid);
  AKT__CA_STAT(ca, store_puts);
  int rc = st->ops->put(st, ca->b, a->name, a->fence, data, len, store_cb, op, &op->id);
  if (rc) {
    sop_unlink(ca, op);
    sop_free(op);
    AKT__CA_STAT(ca, store_errors);
  }
  return rc;
}

void akt__ca_store_read_cancel(akt__ca *ca, akt__ca_act *a) {
  for (akt__ca_store_op *op = ca->sops; a->store_op && op; op = op->next) {
    if (op->id != a->store_op || strcmp(op->name, a->name)) continue;
    sop_unlink(ca, op);
    op->store->ops->cancel(op->store, ca->b, op->id);
    sop_free(op);
    break;
  }
  a->store_op = 0;
  if (state_of(a) == AKT__ACT_LOADING) set_state(a, AKT__ACT_WAITING);
}

void akt__ca_store_ops_cancel(akt__ca *ca) {
  while (ca->sops) {
    akt__ca_store_op *op = ca->sops;
    ca->sops = op->next;
    ca->nsops--;
    op->store->ops->cancel(op->store, ca->b, op->id);
    sop_free(op);
  }
  for (uint32_t i = 0; i < ca->nacts; i++) ca->act_list[i]->store_op = 0;
}

/* ---- retiring ------------------------------------------------------------------------------------- */

/* Retires the record: the name is placed elsewhere (handoff: hand its
 * state over), stopped, or this node is out. */
static void retire(akt__ca *ca, akt__ca_act *a, int handoff) {
  int st = state_of(a);
  if (handoff && (ca->o.test_flags & AKT_CLUSTER_TEST_NO_HANDOFF)) handoff = 0;
  switch (st) {
    case AKT__ACT_LOADING:
    case AKT__ACT_WAITING:
      akt__ca_store_read_cancel(ca, a);
      /* A valid hand-off this node received but did not use goes on:
       * nobody ran the name since its sender stopped it. Anything else
       * this record held is not vouched for by anyone: the new host waits. */
      akt__ca_handoff_judge(ca, a);
      if (handoff && a->cleared) akt__ca_handoff_send(ca, a, 1);
      else if (a->in_has) {
        AKT__CA_STAT(ca, state_lost);
        akt__ca_event(ca, AKT_CLUSTER_ACTOR_STATE_LOST, a->name, a->kind ? a->kind->name : "",
                      "moved on before it started here", 0);
      }
      probes_reroute(ca, a);
      {
        char name[AKT_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s", a->name);
        akt__env *held = hold_detach(ca, a);
        act_remove(ca, a);
        reroute(ca, name, held);
      }
      return;
    case AKT__ACT_ACTIVE:
      a->retired_by_ca = 1;
      a->retiring_handoff = handoff;
      /* Its hand-off says which configuration moved it: the receiver checks
       * that this node hosted it in the one before. */
      a->retire_epoch = ca->cfg.slot;
      if (akt__ca_lease_ok(ca)) {
        /* What is queued before the marker still runs here. */
        set_state(a, AKT__ACT_RETIRING);
        Akt__Ca__Wake w = AKT__CA__WAKE__INIT;
        w.retire = 1;
        if (akt_tell(a->pid, &w.base) == 0) return;
      }
      /* No lease (or no room for the marker): nothing more runs here. */
      set_state(a, AKT__ACT_RETIRED);
      akt_stop(a->pid);
      return;
    case AKT__ACT_FAILED: act_remove(ca, a); return;
    default: return; /* retiring already */
  }
}

void akt__ca_act_drained(akt__ca_act *a) {
  akt__ca *ca = a->ca;
  if (!ca) return;
  akt__ca_lock(ca);
  if (a->pid && state_of(a) == AKT__ACT_RETIRED) akt_stop(a->pid);
  akt__ca_unlock(ca);
}

void akt__ca_act_stopped(akt__ca *ca, akt__ca_act *a, int passivated) {
  int st = state_of(a);
  akt_pid_release(a->pid);
  a->pid = NULL;
  if (st == AKT__ACT_GONE) return;
  char name[AKT_NAME_MAX + 1];
  snprintf(name, sizeof name, "%s", a->name);
  int shutting = ca->stopping || atomic_load(&ca->sys->state) != AKT__SYS_RUNNING;
  /* Messages held for the name while this activation stopped go where the
   * name is now (here again, a new record: see the route). */
  akt__env *held = hold_detach(ca, a);
  if (a->retired_by_ca) {
    AKT__CA_STAT(ca, retirements);
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_RETIRED, name, a->kind->name,
                  a->retiring_handoff ? "moved" : "stopped", 0);
    if (a->retiring_handoff) akt__ca_handoff_send(ca, a, 1);
    /* A stop this node hosted: the directory may forget the name. */
    akt__ca_tomb *t = akt__ca_tomb_find(ca, name);
    if (t && !strcmp(t->host, ca->self_id)) akt__ca_submit_retired(ca, name);
    act_remove(ca, a);
    if (!shutting) akt__ca_reconcile(ca, name);
  } else if (passivated) {
    AKT__CA_STAT(ca, passivations);
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_PASSIVATED, name, a->kind->name, "", 0);
    act_remove(ca, a);
  } else {
    akt__ca_event(ca, AKT_CLUSTER_ACTOR_RETIRED, name, a->kind->name,
                  shutting ? "shutdown" : "stopped by itself", 0);
    if (shutting || a->kind->k.mode == AKT_CLUSTER_VIRTUAL)
      act_remove(ca, a);
    else
      /* A named actor that stopped (a failure its supervisor stopped, an
       * akt_stop of its PID): not started again until the configuration
       * changes, or it would fail in a loop. */
      set_state(a, AKT__ACT_FAILED);
  }
  reroute(ca, name, held);
}

/* ---- reconciling ----------------------------------------------------------------------------------- */

/* Was the name placed on another member in the configuration before?
 * Writes that member's index in ca->prev to *old. */
static int moved_here(akt__ca *ca, const char *name, const akt__ca_what *w, long *old) {
  *old = -1;
  if (!ca->prev.n) return 0;
  long before = place_in(ca, &ca->prev, name, w);
  if (before < 0 || !strcmp(ca->prev.m[before].id, ca->self_id)) return 0;
  *old = before;
  return 1;
}

/* Will the old host hand the name over? When it is still in the
 * configuration (a join moved the name), or membership says it is leaving.
 * One that left the configuration otherwise was downed: nothing comes. */
static int handoff_coming(akt__ca *ca, const akt__ca_member *old) {
  if (akt__ca_config_find(&ca->cfg, old->id) >= 0) return 1;
  for (size_t i = 0; i < ca->nview; i++) {
    const akt_member *v = &ca->view[i];
    if (strcmp(v->remoting, old->remoting)) continue;
    char address[AKT_HOST_MAX + 8], id[AKT__MEMBER_ID_MAX + 1];
    snprintf(address, sizeof address, "%s:%u", v->addr.host, (unsigned)v->addr.port);
    if (akt__member_id_format(id, sizeof id, v->name, address, v->incarnation)) continue;
    if (!strcmp(id, old->id))
      return v->status == AKT_MEMBER_LEAVING || v->status == AKT_MEMBER_EXITING;
  }
  return 0;
}

void akt__ca_reconcile(akt__ca *ca, const char *name) {
  if (ca->stopping) return;
  akt__ca_act *a = akt__ca_act_find(ca, name);
  akt__ca_what w;
  long host = akt__ca_what_of(ca, name, &w) ? place_in(ca, &ca->cfg, name, &w) : -2;
  int here = host >= 0 && ca->self_idx >= 0 && host == ca->self_idx && ca->member;
  if (here && akt__ca_locally_stopped(ca, name)) here = 0;
  akt__ca_kind *kind = here ? akt__ca_kind_find(ca, w.kind) : NULL;
  if (here && !kind) {
    akt__log(ca->sys, AKT_LOG_ERROR,
             "cluster actors: %s is placed here but its kind %s is not registered here", name,
             w.kind);
    here = 0;
  }
  if (!here) {
    /* A hand-off from a configuration this node has not applied yet
     * waits for it. */
    if (a && state_of(a) == AKT__ACT_WAITING && a->in_epoch > ca->cfg.slot) return;
    if (a) retire(ca, a, host >= 0);
    return;
  }
  if (!a) {
    if (w.virtual_) return; /* activated by its first message */
    a = akt__ca_act_get(ca, name, kind);
    if (!a) return;
  }
  if (!a->kind) a->kind = kind;
  if (state_of(a) == AKT__ACT_WAITING && a->epoch != ca->cfg.slot) {
    /* Placed here again in a new configuration: what moved it here is
     * judged afresh. */
    a->epoch = ca->cfg.slot;
    a->waiting_since = akt__ca_now(ca);
    a->released = 0;
  }
  if (state_of(a) == AKT__ACT_WAITING && !a->cleared) {
    long old;
    a->relocated = moved_here(ca, name, &w, &old);
    a->handoff_expected = a->relocated && !a->released && handoff_coming(ca, &ca->prev.m[old]) &&
                          !(ca->o.test_flags & AKT_CLUSTER_TEST_NO_HANDOFF);
  }
  if (state_of(a) == AKT__ACT_FAILED) return;
  try_start(ca, a);
}

void akt__ca_reconcile_all(akt__ca *ca) {
  if (ca->stopping) return;
  /* Records first (some retire, which changes the list: go by name), then
   * the named entries placed here without one. */
  uint32_t n = ca->nacts;
  char **names = n ? calloc(n, sizeof *names) : NULL;
  if (n && !names) return;
  for (uint32_t i = 0; i < n; i++) names[i] = strdup(ca->act_list[i]->name);
  for (uint32_t i = 0; i < n; i++) {
    if (names[i]) {
      akt__ca_act *a = akt__ca_act_find(ca, names[i]);
      if (a && state_of(a) == AKT__ACT_FAILED && a->epoch != ca->cfg.slot) act_remove(ca, a);
      akt__ca_reconcile(ca, names[i]);
    }
    free(names[i]);
  }
  free(names);
  if (ca->self_idx < 0) return;
  for (uint32_t i = 0; i < ca->nnamed; i++) {
    akt__ca_named *e = ca->named[i];
    if (akt__ca_act_find(ca, e->name)) continue;
    akt__roles need = akt__ca_named_roles(e);
    if (akt__ca_place(ca, &ca->cfg, e->name, e->placement, e->node, &need) != ca->self_idx)
      continue;
    akt__ca_reconcile(ca, e->name);
  }
}

/* ---- periodic, bulk ----------------------------------------------------------------------------------- */

void akt__ca_act_wake_held(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->nacts; i++) {
    akt__ca_act *a = ca->act_list[i];
    if (!a->pid || !atomic_exchange(&a->held, 0)) continue;
    Akt__Ca__Wake w = AKT__CA__WAKE__INIT;
    akt_tell(a->pid, &w.base);
  }
}

void akt__ca_act_tick(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->nacts; i++) {
    akt__ca_act *a = ca->act_list[i];
    if (state_of(a) == AKT__ACT_WAITING) try_start(ca, a);
  }
}

void akt__ca_act_retire_all(akt__ca *ca, int handoff) {
  while (ca->nacts) {
    /* Retiring an active record keeps it listed until its actor stops:
     * walk the list until only those remain. */
    uint32_t before = ca->nacts, i;
    for (i = 0; i < ca->nacts; i++) {
      akt__ca_act *a = ca->act_list[i];
      int st = state_of(a);
      if (st == AKT__ACT_RETIRING || st == AKT__ACT_RETIRED) continue;
      retire(ca, a, handoff);
      break;
    }
    if (i == ca->nacts && ca->nacts == before) break;
  }
}

size_t akt__ca_act_busy(akt__ca *ca) {
  size_t n = 0;
  for (uint32_t i = 0; i < ca->nacts; i++) n += state_of(ca->act_list[i]) != AKT__ACT_FAILED;
  return n;
}

void akt__ca_acts_free(akt__ca *ca) {
  akt__ca_store_ops_cancel(ca);
  while (ca->nacts) {
    akt__ca_act *a = ca->act_list[ca->nacts - 1];
    akt__env *e;
    while ((e = hold_take(ca, a)) != NULL) akt__env_free(e);
    a->ca = NULL; /* its mailbox may outlive the layer: it then forwards nothing */
    act_remove(ca, a);
  }
  akt__strtab_free(&ca->act_tab, NULL);
  free(ca->act_list);
  ca->act_list = NULL;
  ca->cap_acts = 0;
}
