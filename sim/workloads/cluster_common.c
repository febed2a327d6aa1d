/* akt — what the cluster-actor workloads share (see cluster_common.h). */
#include "sim/workloads/cluster_common.h"

#include <stdlib.h>
#include <string.h>

#include "src/util/assert.h"

/* Timer cookies of a node's schedule. */
enum { CW_T_START = 1, CW_T_LEAVE, CW_T_POLL, CW_T_RESTART };
#define CW_POLL AKT_MILLIS(500) /* how often a leaving node looks whether it is out */

static akt_duration dur(akt_scenario *sc, const char *name, akt_duration dflt) {
  int64_t v = akt_scenario_param(sc, name, -1);
  return v < 0 ? dflt : (akt_duration)v;
}

/* ---- the world's store ------------------------------------------------------------------- */

static cw_entry *entry_of(cw_state *cw, const char *name, int make) {
  cw_entry *free_at = NULL;
  for (size_t i = 0; i < CW_MAX_NAMES; i++) {
    cw_entry *e = &cw->entries[i];
    if (e->name[0] && !strcmp(e->name, name)) return e;
    if (!e->name[0] && !free_at) free_at = e;
  }
  if (!make || !free_at || strlen(name) >= CW_NAME_MAX) return NULL;
  snprintf(free_at->name, sizeof free_at->name, "%s", name);
  return free_at;
}

static void store_fire(void *arg, uint64_t cookie) {
  cw_state *cw = arg;
  cw_store_op *op = &cw->ops[cookie >> 32];
  if ((op->id & 0xffffffffu) != (cookie & 0xffffffffu) || !op->id) return; /* canceled */
  /* Taken out first: the answer may start the next operation. */
  uint8_t data[CW_STORE_VALUE_MAX];
  size_t len = op->len;
  memcpy(data, op->data, len);
  akt_cluster_store_fn cb = op->cb;
  void *cb_arg = op->arg;
  int status = op->status;
  uint64_t version = op->version;
  op->id = 0;
  cb(cb_arg, status, data, len, version);
}

static int store_run(akt_cluster_store *s, akt_backend *b, int what, const char *name,
                     uint64_t fence, const uint8_t *data, size_t len, akt_cluster_store_fn cb,
                     void *arg, uint64_t *id) {
  cw_state *cw = s->impl;
  akt_scenario *sc = cw->sc;
  if (what == 1 && len > CW_STORE_VALUE_MAX) return AKT_ELIMIT;
  size_t slot = CW_STORE_OPS;
  for (size_t i = 0; i < CW_STORE_OPS && slot == CW_STORE_OPS; i++)
    if (!cw->ops[i].id) slot = i;
  if (slot == CW_STORE_OPS) return AKT_ELIMIT;
  cw_store_op *op = &cw->ops[slot];
  memset(op, 0, sizeof *op - sizeof op->data);
  op->len = 0;
  akt_duration latency = dur(sc, "store_latency", AKT_MILLIS(5));
  uint32_t fail = (uint32_t)akt_scenario_param(sc, "store_fail", 0);
  akt_duration delay = latency ? b->ops->random_u64(b) % (latency + 1) : 0;
  int faulty = fail && b->ops->random_u64(b) % 1000000 < fail;
  cw_entry *e = entry_of(cw, name, 1);
  if (faulty) {
    op->status = AKT_EBACKEND;
    cw->store_faults++;
  } else if (!e) {
    op->status = AKT_ELIMIT;
  } else if (fence < e->fence) {
    op->status = AKT_ESTATE; /* a newer activation has been here */
  } else {
    e->fence = fence;
    if (what == 0) {
      op->status = e->present ? 0 : AKT_ENOENT;
      op->len = e->present ? e->len : 0;
      memcpy(op->data, e->data, op->len);
    } else if (what == 1) {
      memcpy(e->data, data, len);
      e->len = len;
      e->present = 1;
      e->version++;
    } else {
      op->status = e->present ? 0 : AKT_ENOENT;
      e->present = 0;
      e->len = 0;
      e->version++;
    }
    op->version = e->version;
  }
  op->b = b;
  op->cb = cb;
  op->arg = arg;
  op->id = ++cw->next_op;
  uint64_t cookie = (uint64_t)slot << 32 | (op->id & 0xffffffffu);
  int rc = b->ops->timer_start(b, delay, store_fire, cw, cookie, &op->timer);
  if (rc) {
    op->id = 0;
    return rc;
  }
  *id = op->id;
  return 0;
}

static int store_get(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
                     akt_cluster_store_fn cb, void *arg, uint64_t *op) {
  return store_run(s, b, 0, name, fence, NULL, 0, cb, arg, op);
}

static int store_put(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
                     const uint8_t *data, size_t len, akt_cluster_store_fn cb, void *arg,
                     uint64_t *op) {
  return store_run(s, b, 1, name, fence, data, len, cb, arg, op);
}

static int store_del(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
                     akt_cluster_store_fn cb, void *arg, uint64_t *op) {
  return store_run(s, b, 2, name, fence, NULL, 0, cb, arg, op);
}

static void store_cancel(akt_cluster_store *s, akt_backend *b, uint64_t id) {
  (void)b;
  cw_state *cw = s->impl;
  for (size_t i = 0; i < CW_STORE_OPS; i++) {
    cw_store_op *op = &cw->ops[i];
    if (op->id != id) continue;
    op->b->ops->timer_cancel(op->b, op->timer);
    op->id = 0;
    return;
  }
}

static void store_free(akt_cluster_store *s) { (void)s; /* memory of the shared state */ }

static const akt_cluster_store_ops store_ops = {.name = "world",
                                                .get = store_get,
                                                .put = store_put,
                                                .del = store_del,
                                                .cancel = store_cancel,
                                                .free = store_free};

/* ---- starting nodes ------------------------------------------------------------------------ */

static void ca_listener(akt_system *sys, const akt_cluster_actor_event *ev, void *arg) {
  (void)sys;
  cw_node *nd = arg;
  cw_state *cw = cw_of(nd->sc);
  switch (ev->kind) {
    case AKT_CLUSTER_ACTOR_STATE_LOST: cw->state_lost++; break;
    case AKT_CLUSTER_ACTOR_MESSAGES_LOST: cw->messages_lost += ev->count; break;
    case AKT_CLUSTER_ACTOR_HANDED_OFF: cw->handed_off++; break;
    case AKT_CLUSTER_ACTOR_LEASE_LOST: cw->lease_lost++; break;
    case AKT_CLUSTER_ACTOR_PASSIVATED: cw->passivated++; break;
    default: break;
  }
}

static void cw_timer(void *arg, uint64_t cookie);

static int arm(cw_node *nd, akt_backend *on, akt_duration delay, int what, uint64_t *id) {
  return on->ops->timer_start(on, delay, cw_timer, nd, (uint64_t)what, id);
}

static size_t seeds(akt_scenario *sc) {
  int64_t from = akt_scenario_param(sc, "start_from", 0);
  size_t n = akt_scenario_nodes(sc);
  return from > 0 && (size_t)from < n ? (size_t)from : n;
}

static int cluster_start(cw_node *nd) {
  akt_scenario *sc = nd->sc;
  cw_state *cw = cw_of(sc);
  akt_addr seed[CW_MAX_NODES];
  size_t ns = seeds(sc);
  for (size_t k = 0; k < ns; k++) {
    snprintf(seed[k].host, sizeof seed[k].host, "node%zu", k);
    seed[k].port = CW_GOSSIP_PORT;
  }
  akt_cluster_options o = {0};
  o.gossip_port = CW_GOSSIP_PORT;
  o.seeds = seed;
  o.nseeds = ns;
  o.downing = (akt_downing)akt_scenario_param(sc, "downing", AKT_DOWNING_KEEP_MAJORITY);
  o.quorum = (unsigned)akt_scenario_param(sc, "quorum", 0);
  int rc = akt_cluster_start(nd->sys, &o);
  akt_cluster_actors_options ao = {0};
  ao.lease = dur(sc, "lease", 0);
  if (!akt_scenario_param(sc, "fencing", 1)) ao.test_flags |= AKT_CLUSTER_TEST_NO_FENCING;
  if (!akt_scenario_param(sc, "handoff", 1)) ao.test_flags |= AKT_CLUSTER_TEST_NO_HANDOFF;
  if (!akt_scenario_param(sc, "tombstones", 1)) ao.test_flags |= AKT_CLUSTER_TEST_NO_TOMBSTONES;
  if (!akt_scenario_param(sc, "proposer_fallback", 1)) ao.test_flags |= AKT_CLUSTER_TEST_LEADER_ONLY;
  ao.listener = ca_listener;
  ao.listener_arg = nd;
  if (!rc) rc = akt_cluster_actors_start(nd->sys, &ao);
  if (!rc && cw->kinds) rc = cw->kinds(cw, nd->index, nd->sys);
  if (!rc && cw->driver) {
    akt_spawn_opts dopts = {.arg = cw->sc};
    rc = akt_spawn(nd->sys, cw->driver->kind, cw->driver, &dopts, NULL);
  }
  if (rc) return rc;
  nd->started = 1;
  /* Its leave (scale down) or its turn in a rolling restart. */
  size_t i = nd->index;
  uint64_t now = akt_scenario_now(sc), leave_at = 0;
  int64_t leave_from = akt_scenario_param(sc, "leave_from", 0);
  if (leave_from > 0 && i >= (size_t)leave_from)
    leave_at = dur(sc, "leave_at", AKT_SECONDS(20)) +
               (i - (size_t)leave_from) * dur(sc, "leave_every", AKT_SECONDS(10));
  akt_duration roll_at = dur(sc, "roll_at", 0);
  if (roll_at && nd->roll == CW_ROLL_NONE)
    leave_at = roll_at + i * dur(sc, "roll_every", AKT_SECONDS(15));
  uint64_t unused;
  if (leave_at > now) return arm(nd, nd->b, leave_at - now, CW_T_LEAVE, &unused);
  return 0;
}

/* Another node that runs, to crash and restart `nd` from (a node cannot
 * crash itself from its own events). */
static cw_node *other_up(cw_state *cw, cw_node *nd) {
  size_t n = akt_scenario_nodes(cw->sc);
  for (size_t k = 1; k < n; k++) {
    cw_node *o = &cw->node[(nd->index + k) % n];
    if (o->up && o->sys) return o;
  }
  return NULL;
}

static void cw_timer(void *arg, uint64_t cookie) {
  cw_node *nd = arg;
  cw_state *cw = cw_of(nd->sc);
  int what = (int)cookie;
  if (what == CW_T_RESTART) {
    /* On another node: the rolled node is out; it restarts as a new
     * incarnation (a rolling restart's new version). */
    cw_node *r = nd;
    akt_sim_world *w = akt_scenario_world(cw->sc);
    if (r->up && akt_sim_crash(w, r->b) == 0) akt_sim_restart(w, r->b);
    return;
  }
  nd->timer = 0;
  if (!nd->up || !nd->sys) return;
  switch (what) {
    case CW_T_START:
      if (!nd->started) cluster_start(nd);
      return;
    case CW_T_LEAVE:
      if (nd->started && akt_cluster_get_phase(nd->sys) == AKT_CLUSTER_MEMBER &&
          akt_cluster_leave(nd->sys, 0) == 0) {
        if (nd->roll == CW_ROLL_NONE && akt_scenario_param(nd->sc, "roll_at", 0) > 0)
          nd->roll = CW_ROLL_LEAVING;
        else
          nd->left = 1;
      }
      if (nd->roll == CW_ROLL_LEAVING) arm(nd, nd->b, CW_POLL, CW_T_POLL, &nd->timer);
      return;
    case CW_T_POLL: {
      akt_cluster_phase ph = akt_cluster_get_phase(nd->sys);
      cw_node *o = ph == AKT_CLUSTER_MEMBER ? NULL : other_up(cw, nd);
      uint64_t id;
      if (!o || arm(nd, o->b, 0, CW_T_RESTART, &id)) arm(nd, nd->b, CW_POLL, CW_T_POLL, &nd->timer);
      return;
    }
    default: return;
  }
}

int cw_node_start(akt_scenario *sc, size_t i, akt_backend *b,
                  int (*kinds)(cw_state *cw, size_t i, akt_system *sys),
                  const akt_actor_def *driver) {
  cw_state *cw = cw_of(sc);
  cw->sc = sc;
  cw->kinds = kinds;
  cw->driver = driver;
  if (!cw->store.ops) {
    cw->store.ops = &store_ops;
    cw->store.impl = cw;
  }
  cw_node *nd = &cw->node[i];
  nd->sc = sc;
  nd->index = i;
  nd->b = b;
  nd->started = 0;
  nd->timer = 0;
  if (nd->roll == CW_ROLL_LEAVING) nd->roll = CW_ROLL_DONE; /* back after its roll */
  int rc = akt__wl_system(sc, i, &nd->sys);
  if (rc) return rc;
  nd->up = 1;
  if (nd->left) return 0; /* scaled down: it stays out */
  uint64_t now = akt_scenario_now(sc);
  akt_duration spread = dur(sc, "start_spread", 0);
  if (spread && now < spread) /* a cold start: every node at its own moment */
    return arm(nd, b, b->ops->random_u64(b) % spread + 1, CW_T_START, &nd->timer);
  int64_t from = akt_scenario_param(sc, "start_from", 0);
  if (from > 0 && i >= (size_t)from) {
    uint64_t at = dur(sc, "start_at", AKT_SECONDS(20)) +
                  (i - (size_t)from) * dur(sc, "start_every", AKT_SECONDS(10));
    if (at > now) return arm(nd, b, at - now, CW_T_START, &nd->timer);
  }
  return cluster_start(nd);
}

void cw_node_down(akt_scenario *sc, size_t i) {
  cw_state *cw = cw_of(sc);
  cw_node *nd = &cw->node[i];
  nd->up = 0;
  nd->sys = NULL;
  nd->started = 0;
  for (uint32_t k = 0; k < cw->nacts; k++)
    if (cw->acts[k].node == i) cw->acts[k].live = 0;
}

int cw_member(cw_state *cw, size_t i) {
  cw_node *nd = &cw->node[i];
  return nd->up && nd->sys && nd->started && !nd->left &&
         akt_cluster_get_phase(nd->sys) == AKT_CLUSTER_MEMBER;
}

/* ---- the activation oracle ----------------------------------------------------------------------- */

long cw_name_of(cw_state *cw, const char *name) {
  for (uint32_t i = 0; i < cw->nnames; i++)
    if (!strcmp(cw->names[i].name, name)) return i;
  if (cw->nnames >= CW_MAX_NAMES || strlen(name) >= CW_NAME_MAX) return -1;
  cw_name *n = &cw->names[cw->nnames];
  memset(n, 0, sizeof *n);
  snprintf(n->name, sizeof n->name, "%s", name);
  return cw->nnames++;
}

uint64_t cw_act_start(cw_state *cw, const char *name, size_t node) {
  long n = name ? cw_name_of(cw, name) : -1;
  if (n < 0 || cw->nacts >= CW_MAX_ACTS) {
    cw->acts_unfollowed++;
    return 0;
  }
  cw_act *a = &cw->acts[cw->nacts++];
  memset(a, 0, sizeof *a);
  a->name = (uint32_t)n;
  a->node = (uint32_t)node;
  a->live = 1;
  a->started = akt_scenario_now(cw->sc);
  cw->names[n].activations++;
  uint64_t id = cw->nacts;
  cw_turn(cw, id); /* pre_start is the activation's first turn */
  return id;
}

void cw_turn(cw_state *cw, uint64_t id) {
  if (!id || id > cw->nacts) return;
  cw_act *a = &cw->acts[id - 1];
  cw_name *nm = &cw->names[a->name];
  uint64_t now = akt_scenario_now(cw->sc);
  if (a->superseded) {
    const cw_act *cur = &cw->acts[nm->current - 1];
    akt__wl_violation(&cw->overlap,
                      "activation %llu of %s on node%u ran a turn at t=%.3fs after activation "
                      "%llu on node%u had run (last at t=%.3fs)",
                      (unsigned long long)id, nm->name, (unsigned)a->node, akt__wl_s(now),
                      (unsigned long long)nm->current, (unsigned)cur->node,
                      akt__wl_s(cur->last_turn));
  } else if (nm->current != id) {
    if (nm->current) cw->acts[nm->current - 1].superseded = 1;
    nm->current = id;
  }
  a->last_turn = now;
}

void cw_act_stop(cw_state *cw, uint64_t id) {
  if (id && id <= cw->nacts) cw->acts[id - 1].live = 0;
}

int cw_check_overlap(akt_scenario *sc, char *why) {
  return akt__wl_violations_why(&cw_of(sc)->overlap, "overlapping activations", why);
}

/* Every name `want` says has at least `min` and at most one live
 * activation, on a member. */
static int check_live(akt_scenario *sc, char *why, int (*want)(cw_state *cw, uint32_t name),
                      unsigned min) {
  AKT_ASSERT(min <= 1);
  cw_state *cw = cw_of(sc);
  for (uint32_t n = 0; n < cw->nnames; n++) {
    if (!want(cw, n)) continue;
    unsigned live = 0, where = 0;
    for (uint32_t k = 0; k < cw->nacts; k++) {
      const cw_act *a = &cw->acts[k];
      if (a->name != n || !a->live) continue;
      if (!cw_member(cw, a->node)) {
        snprintf(why, AKT_SCENARIO_WHY_MAX,
                 "%s has a live activation on node%u, which is not a member of the cluster",
                 cw->names[n].name, (unsigned)a->node);
        return 1;
      }
      live++;
      where = a->node;
    }
    if (live < min) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "%s has no live activation (one expected)",
               cw->names[n].name);
      return 1;
    }
    if (live > 1) {
      snprintf(why, AKT_SCENARIO_WHY_MAX,
               "%s has %u live activations (one expected), one on node%u", cw->names[n].name,
               live, where);
      return 1;
    }
  }
  return 0;
}

int cw_check_one_each(akt_scenario *sc, char *why, int (*want)(cw_state *cw, uint32_t name)) {
  return check_live(sc, why, want, 1);
}

int cw_check_at_most_one(akt_scenario *sc, char *why, int (*want)(cw_state *cw, uint32_t name)) {
  return check_live(sc, why, want, 0);
}

int cw_request(akt_ctx *ctx, const ProtobufCMessage *req, akt_duration timeout, akt_reply_fn fn,
               void *arg) {
  akt_pid *layer = akt_cluster_actors_pid(akt_ctx_system(ctx));
  if (!layer) return AKT_ESTATE;
  return akt_request(ctx, layer, req, timeout, fn, arg);
}
