/* akt — the cluster-actor layer on a system: start, stop, free; the view
 * of membership; messages between nodes; timers; events.
 *
 * Lifetime. akt_cluster_actors_start hooks the layer into membership (an
 * extension: its events, /system/cluster's messages, the leave) and spawns
 * /system/cluster-actors (requests of actors and of the blocking API) and
 * /user/akt.cluster (the parent of activations). Stopping (membership's
 * stop, hence the system's shutdown) marks the layer stopping — nothing
 * starts or moves any more — and finishes on the I/O context, where its
 * timers fire: a zero-delay timer counted as work in flight cancels them.
 * A simulated crash frees it without that (akt__ca_free, single-threaded).
 *
 * The view of membership. The extension's event hook runs with the
 * cluster's lock held, where the layer must not take its own (the layer
 * calls akt_cluster_* with its lock held): it only marks the view dirty
 * and wakes /system/cluster-actors, whose turn looks again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "akt/events.h"
#include "akt/message.h"
#include "akt/remote.h"
#include "src/actor/cell.h"
#include "src/cluster/actors.h"
#include "src/cluster/cluster.h"
#include "src/system/system.h"
#include "src/util/assert.h"

#define HOST_NAME "akt.cluster"

/* The layers of the systems of this process: a system's layer hangs off
 * its cluster's extension (no field of akt_system is the layer's), found
 * through the extension table. */
akt__ca *akt__ca_of(akt_system *sys) {
  akt__cluster *cl = sys ? akt__cluster_of(sys) : NULL;
  if (!cl) return NULL;
  akt__ca *ca = NULL;
  pthread_mutex_lock(&cl->mu);
  for (unsigned i = 0; i < cl->next; i++)
    if (cl->ext[i].free == akt__ca_ext_free) ca = cl->ext[i].arg;
  pthread_mutex_unlock(&cl->mu);
  return ca;
}

uint64_t akt__ca_now(akt__ca *ca) { return ca->b->ops->now(ca->b); }
uint64_t akt__ca_random(akt__ca *ca) { return ca->b->ops->random_u64(ca->b); }

/* ---- locking and messages to oneself ---------------------------------------------------- */

static void handle_msg(akt__ca *ca, const Akt__Ca__Msg *m);

void akt__ca_lock(akt__ca *ca) { pthread_mutex_lock(&ca->mu); }

void akt__ca_unlock(akt__ca *ca) {
  /* What this node sent itself is handled here, by the outermost holder,
   * so no handler ever runs inside another. At most a queue's worth at a
   * time: a protocol step that answers itself forever (a bug) then costs
   * the tick, not the node. */
  for (uint32_t budget = AKT__CA_SELFQ_MAX; ca->selfq_n && budget; budget--) {
    uint32_t i = ca->selfq_head;
    uint8_t *data = ca->selfq[i].data;
    size_t len = ca->selfq[i].len;
    ca->selfq[i].data = NULL;
    ca->selfq_head = (i + 1) % AKT__CA_SELFQ_MAX;
    ca->selfq_n--;
    Akt__Ca__Msg *m = akt__ca__msg__unpack(NULL, len, data);
    free(data);
    AKT_ASSERT(m != NULL); /* packed by this node */
    handle_msg(ca, m);
    akt__ca__msg__free_unpacked(m, NULL);
  }
  pthread_mutex_unlock(&ca->mu);
}

static void selfq_push(akt__ca *ca, const Akt__Ca__Msg *m) {
  if (ca->selfq_n >= AKT__CA_SELFQ_MAX) {
    /* Every protocol message is retried by its sender's timers: counted
     * and dropped like a lost datagram. */
    AKT__CA_STAT(ca, hold_dropped);
    return;
  }
  size_t len = akt__ca__msg__get_packed_size(m);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return;
  akt__ca__msg__pack(m, buf);
  uint32_t i = (ca->selfq_head + ca->selfq_n) % AKT__CA_SELFQ_MAX;
  ca->selfq[i].data = buf;
  ca->selfq[i].len = len;
  ca->selfq_n++;
}

/* ---- sending ------------------------------------------------------------------------------------ */

static akt_pid *peer_pid(akt__ca *ca, const char *remoting, int *temp) {
  akt__ca_config *cs[2] = {&ca->cfg, &ca->prev};
  *temp = 0;
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < cs[k]->n; i++) {
      akt__ca_member *mb = &cs[k]->m[i];
      if (strcmp(mb->remoting, remoting)) continue;
      if (!mb->peer) {
        char address[AKT_CLUSTER_REMOTING_MAX + 16];
        snprintf(address, sizeof address, "%s/system/cluster", remoting);
        if (akt_remote_pid(ca->sys, address, &mb->peer)) mb->peer = NULL;
      }
      if (mb->peer) return mb->peer;
    }
  }
  char address[AKT_CLUSTER_REMOTING_MAX + 16];
  snprintf(address, sizeof address, "%s/system/cluster", remoting);
  akt_pid *pid = NULL;
  if (akt_remote_pid(ca->sys, address, &pid)) return NULL;
  *temp = 1;
  return pid;
}

void akt__ca_send(akt__ca *ca, const char *remoting, Akt__Ca__Msg *m) {
  if (!remoting || !*remoting) return;
  m->from = ca->self_id;
  m->remoting = ca->remoting;
  m->genesis = ca->genesis;
  m->commit = ca->applied;
  if (!strcmp(remoting, ca->remoting)) {
    selfq_push(ca, m);
    return;
  }
  int temp;
  akt_pid *pid = peer_pid(ca, remoting, &temp);
  if (!pid) return;
  /* Lost like any remote message when the connection goes: every
   * protocol step is retried by its sender's timers. */
  akt_tell(pid, &m->base);
  if (temp) akt_pid_release(pid);
}

void akt__ca_send_member(akt__ca *ca, akt__ca_config *c, size_t i, Akt__Ca__Msg *m) {
  AKT_ASSERT(i < c->n);
  akt__ca_send(ca, c->m[i].remoting, m);
}

void akt__ca_send_all(akt__ca *ca, akt__ca_config *c, Akt__Ca__Msg *m) {
  for (size_t i = 0; i < c->n; i++) akt__ca_send(ca, c->m[i].remoting, m);
}

void akt__ca_broadcast(akt__ca *ca, Akt__Ca__Msg *m) {
  for (size_t i = 0; i < ca->nview; i++) {
    const akt_member *v = &ca->view[i];
    if (v->self || !v->remoting[0] || v->status > AKT_MEMBER_LEAVING) continue;
    akt__ca_send(ca, v->remoting, m);
  }
}

/* ---- timers ------------------------------------------------------------------------------------- */

static void on_timer(void *arg, uint64_t cookie);

int akt__ca_timer_arm(akt__ca *ca, akt__ca_timer *t, int kind, uint64_t arg, akt_duration delay) {
  akt__ca_timer_cancel(ca, t);
  AKT_ASSERT(arg < (UINT64_C(1) << 56));
  uint64_t cookie = ((uint64_t)kind << 56) | arg;
  int rc = ca->b->ops->timer_start(ca->b, delay, on_timer, ca, cookie, &t->id);
  if (rc) {
    t->id = 0;
    akt__log(ca->sys, AKT_LOG_ERROR, "cluster actors: a timer could not start: %s",
             akt_strerror(rc));
  }
  t->arg = arg;
  return rc;
}

void akt__ca_timer_cancel(akt__ca *ca, akt__ca_timer *t) {
  if (t->id) ca->b->ops->timer_cancel(ca->b, t->id);
  t->id = 0;
}

static void tick(akt__ca *ca);
static void stop_now(akt__ca *ca);

static void on_timer(void *arg, uint64_t cookie) {
  akt__ca *ca = arg;
  int kind = (int)(cookie >> 56);
  uint64_t v = cookie & ((UINT64_C(1) << 56) - 1);
  akt__ca_lock(ca);
  if (kind == AKT__CA_T_STOP) {
    ca->stop_timer.id = 0;
    stop_now(ca);
    akt__ca_unlock(ca);
    akt__inflight_done(ca->sys);
    return;
  }
  if (ca->stopping) {
    akt__ca_unlock(ca);
    return;
  }
  switch (kind) {
    case AKT__CA_T_TICK:
      ca->tick_timer.id = 0;
      tick(ca);
      break;
    case AKT__CA_T_LEASE: akt__ca_lease_round_expired(ca, v); break;
    case AKT__CA_T_READY: akt__ca_ready_fired(ca, v); break;
    default: AKT_ASSERT(0 && "cluster actors: timer kind");
  }
  akt__ca_unlock(ca);
}

/* ---- events ------------------------------------------------------------------------------------- */

const char *akt_cluster_actor_event_name(akt_cluster_actor_event_kind kind) {
  switch (kind) {
    case AKT_CLUSTER_ACTOR_ACTIVATED: return "activated";
    case AKT_CLUSTER_ACTOR_PASSIVATED: return "passivated";
    case AKT_CLUSTER_ACTOR_RETIRED: return "retired";
    case AKT_CLUSTER_ACTOR_HANDED_OFF: return "handed-off";
    case AKT_CLUSTER_ACTOR_STATE_LOST: return "state-lost";
    case AKT_CLUSTER_ACTOR_MESSAGES_LOST: return "messages-lost";
    case AKT_CLUSTER_ACTOR_EPOCH: return "epoch";
    case AKT_CLUSTER_ACTOR_LEASE_GAINED: return "lease-gained";
    case AKT_CLUSTER_ACTOR_LEASE_LOST: return "lease-lost";
  }
  return "unknown";
}

void akt__ca_trace(akt__ca *ca, const char *what, const char *text, uint64_t value) {
  char type[48];
  snprintf(type, sizeof type, "cluster-%s", what);
  akt__trace(ca->sys, AKT_EV_NET, 0, 0, type, value, 0, text);
}

void akt__ca_event(akt__ca *ca, akt_cluster_actor_event_kind kind, const char *name,
                   const char *kind_name, const char *detail, uint64_t count) {
  const char *what = akt_cluster_actor_event_name(kind);
  char text[AKT_NAME_MAX * 2 + 160];
  snprintf(text, sizeof text, "%s%s%s%s%s e%llu", name && *name ? name : "",
           kind_name && *kind_name ? " " : "", kind_name ? kind_name : "",
           detail && *detail ? " " : "", detail ? detail : "", (unsigned long long)ca->cfg.slot);
  akt__ca_trace(ca, what, text, count);
  akt_log_level level =
      kind == AKT_CLUSTER_ACTOR_STATE_LOST || kind == AKT_CLUSTER_ACTOR_MESSAGES_LOST
          ? AKT_LOG_WARN
          : AKT_LOG_DEBUG;
  akt__log(ca->sys, level, "cluster actors %s: %s %s", ca->self_id, what, text);
  akt_cluster_actor_event ev = {.kind = kind,
                                .name = name ? name : "",
                                .kind_name = kind_name ? kind_name : "",
                                .epoch = ca->cfg.slot,
                                .detail = detail ? detail : "",
                                .count = count,
                                .at = akt__ca_now(ca)};
  if (ca->o.listener) ca->o.listener(ca->sys, &ev, ca->o.listener_arg);
  /* Threads waiting outside the system on the layer's state (a test, an
   * application's readiness check: the backend's wait) look again. */
  ca->b->ops->wake(ca->b);
  if (!akt__events_wanted(ca->sys, AKT_TOPIC_CLUSTER_ACTORS)) return;
  Akt__Ca__ActorEvent e = AKT__CA__ACTOR_EVENT__INIT;
  e.kind = (uint32_t)kind;
  e.name = (char *)(uintptr_t)ev.name;
  e.kind_name = (char *)(uintptr_t)ev.kind_name;
  e.epoch = ev.epoch;
  e.detail = (char *)(uintptr_t)ev.detail;
  e.count = count;
  akt_publish(ca->sys, AKT_TOPIC_CLUSTER_ACTORS, &e.base, ca->actor);
}

/* ---- the view of membership -------------------------------------------------------------------- */

static int member_id(const akt_member *m, char *buf, size_t size) {
  char address[AKT_HOST_MAX + 8];
  snprintf(address, sizeof address, "%s:%u", m->addr.host, (unsigned)m->addr.port);
  return akt__member_id_format(buf, size, m->name, address, m->incarnation);
}

int akt__ca_desired_config(akt__ca *ca, Akt__Ca__Value *v, void **storage) {
  *storage = NULL;
  size_t n = 0;
  for (size_t i = 0; i < ca->nview; i++)
    if (ca->view[i].status == AKT_MEMBER_UP && ca->view[i].remoting[0]) n++;
  if (!n || n > AKT__CA_MEMBERS_MAX) return 0;
  /* One block: the Config, the members, their pointers, their ids, the
   * role pointers. */
  size_t size = sizeof(Akt__Ca__Config) + n * (sizeof(Akt__Ca__Member) + sizeof(void *) +
                                               AKT__MEMBER_ID_MAX + 1 +
                                               AKT_CLUSTER_MAX_ROLES * sizeof(char *));
  char *block = calloc(1, size);
  if (!block) return 0;
  Akt__Ca__Config *cfg = (Akt__Ca__Config *)block;
  Akt__Ca__Member *ms = (Akt__Ca__Member *)(cfg + 1);
  Akt__Ca__Member **ptrs = (Akt__Ca__Member **)(ms + n);
  char **roles = (char **)(ptrs + n);
  char *ids = (char *)(roles + n * AKT_CLUSTER_MAX_ROLES);
  akt__ca__config__init(cfg);
  size_t k = 0;
  for (size_t i = 0; i < ca->nview && k < n; i++) {
    akt_member *vm = &ca->view[i];
    if (vm->status != AKT_MEMBER_UP || !vm->remoting[0]) continue;
    char *id = ids + k * (AKT__MEMBER_ID_MAX + 1);
    if (member_id(vm, id, AKT__MEMBER_ID_MAX + 1)) continue;
    akt__ca__member__init(&ms[k]);
    ms[k].id = id;
    ms[k].remoting = vm->remoting;
    ms[k].host = vm->addr.host;
    ms[k].port = vm->addr.port;
    ms[k].age = vm->up_number;
    for (unsigned r = 0; r < vm->nroles; r++) roles[k * AKT_CLUSTER_MAX_ROLES + r] = vm->roles[r];
    ms[k].roles = &roles[k * AKT_CLUSTER_MAX_ROLES];
    ms[k].n_roles = vm->nroles;
    ptrs[k] = &ms[k];
    k++;
  }
  cfg->members = ptrs;
  cfg->n_members = k;
  if (!k || akt__ca_config_same_ids(&ca->cfg, cfg)) {
    free(block);
    return 0;
  }
  v->config = cfg;
  *storage = block;
  return 1;
}

/* Who proposes for the log, in this node's view: the membership leader
 * when it is a member of the configuration in force (or when that has no
 * member up, see akt__ca_proposes); else the oldest up, reachable member of
 * the configuration. Only a member of the configuration can bring in the
 * members it lacks: a leader outside it (it came up after the last
 * configuration was decided, and the faults kept its predecessor from
 * deciding the next) would wait for a proposer that never comes. With no
 * such member reachable, the leader stays the pick and proposes nothing
 * (akt__ca_proposes) until downing settles who is gone; the view read is
 * the last one refreshed, brought up to date at the next membership event. */
static void choose_proposer(akt__ca *ca) {
  ca->leader = 0;
  ca->leader_remoting[0] = '\0';
  akt_member l;
  if (!ca->self_id[0] || akt_cluster_leader(ca->sys, &l) != 0) return;
  char id[AKT__MEMBER_ID_MAX + 1];
  const akt_member *pick = &l;
  if (ca->cfg.n && !(ca->o.test_flags & AKT_CLUSTER_TEST_LEADER_ONLY) &&
      (member_id(&l, id, sizeof id) || akt__ca_config_find(&ca->cfg, id) < 0)) {
    const akt_member *best = NULL;
    for (size_t i = 0; i < ca->nview; i++) {
      const akt_member *vm = &ca->view[i];
      if ((vm->status != AKT_MEMBER_UP && vm->status != AKT_MEMBER_LEAVING) ||
          vm->reach == AKT_REACH_UNREACHABLE || !vm->remoting[0])
        continue;
      if (member_id(vm, id, sizeof id) || akt__ca_config_find(&ca->cfg, id) < 0) continue;
      if (!best || akt__cl_older_by(vm->up_number, vm->addr.host, vm->addr.port, best->up_number,
                                    best->addr.host, best->addr.port))
        best = vm;
    }
    if (best) pick = best;
  }
  ca->leader = pick->self;
  snprintf(ca->leader_remoting, sizeof ca->leader_remoting, "%s", pick->remoting);
}

/* Whether the leave must wait (hand-offs in progress), for membership. */
static void update_leave_hold(akt__ca *ca) {
  int hold = 0;
  if (ca->leaving && !ca->stopping) {
    uint64_t now = akt__ca_now(ca);
    if (!ca->leave_started) ca->leave_started = now;
    int in_cfg = ca->self_idx >= 0;
    hold = (in_cfg || akt__ca_act_busy(ca) > 0) && now - ca->leave_started < ca->o.handoff_timeout;
  }
  atomic_store_explicit(&ca->leave_hold, hold, memory_order_release);
}

void akt__ca_view_refresh(akt__ca *ca) {
  atomic_store_explicit(&ca->view_dirty, 0, memory_order_release);
  size_t n = 0;
  for (;;) {
    int rc = akt_cluster_members(ca->sys, ca->view, ca->view_cap, &n);
    if (rc == 0) break;
    if (rc != AKT_ELIMIT) {
      n = 0;
      break;
    }
    akt_member *bigger = realloc(ca->view, (n + 8) * sizeof *bigger);
    if (!bigger) {
      n = 0;
      break;
    }
    ca->view = bigger;
    ca->view_cap = n + 8;
  }
  ca->nview = n;
  akt_member me;
  int have_me = akt_cluster_self(ca->sys, &me) == 0;
  int phase_member = akt_cluster_get_phase(ca->sys) == AKT_CLUSTER_MEMBER;
  char id[AKT__MEMBER_ID_MAX + 1] = "";
  if (have_me && phase_member && me.status <= AKT_MEMBER_EXITING) member_id(&me, id, sizeof id);
  /* This identity ended (downed, left, replaced by a new incarnation):
   * what it held goes, and the new one starts from nothing. */
  if (ca->self_id[0] && strcmp(ca->self_id, id) != 0)
    akt__ca_identity_ended(ca, id[0] ? "new incarnation" : "out of the cluster");
  if (id[0] && !ca->self_id[0]) {
    snprintf(ca->self_id, sizeof ca->self_id, "%s", id);
    ca->self_key = XXH3_64bits(id, strlen(id));
    ca->self_uid = me.incarnation;
    ca->self_idx = (int)akt__ca_config_find(&ca->cfg, ca->self_id);
  }
  ca->member = id[0] && (me.status == AKT_MEMBER_UP || me.status == AKT_MEMBER_LEAVING);
  ca->leaving = id[0] && me.status >= AKT_MEMBER_LEAVING;
  choose_proposer(ca);
  /* The founder (the first member up: up number 1) starts the log. */
  if (ca->member && me.up_number == 1 && !ca->genesis && !ca->applied && !ca->formed) {
    ca->formed = 1;
    akt__ca_genesis(ca);
  }
  update_leave_hold(ca);
  akt__ca_propose(ca);
}

/* ---- the configuration in force -------------------------------------------------------------------- */

void akt__ca_epoch_changed(akt__ca *ca, int genesis) {
  ca->self_idx = ca->self_id[0] ? (int)akt__ca_config_find(&ca->cfg, ca->self_id) : -1;
  choose_proposer(ca);
  ca->fence_ctr = 0;
  AKT__CA_STAT(ca, epochs);
  char detail[64];
  snprintf(detail, sizeof detail, "%zu members%s", ca->cfg.n,
           ca->self_idx >= 0 ? "" : ", this node not one");
  akt__ca_event(ca, AKT_CLUSTER_ACTOR_EPOCH, "", "", detail, ca->cfg.n);
  akt__ca_lease_epoch(ca, genesis);
  akt__ca_reconcile_all(ca);
  update_leave_hold(ca);
}

/* What ends with an identity: hosting, the lease, requests, proposals. */
static void stop_hosting(akt__ca *ca) {
  /* Not a member any more: nothing is placed here (what the records held
   * goes to the hosts by the old configuration, or waits for a new one). */
  ca->member = 0;
  ca->self_idx = -1;
  akt__ca_act_retire_all(ca, 0);
  akt__ca_handoff_clear(ca);
  akt__ca_requests_clear(ca, AKT_ESTATE);
  akt__ca_behind_clear(ca);
  akt__ca_paxos_clear_proposer(ca);
  akt__ca_lease_clear(ca);
  ca->self_id[0] = '\0';
  ca->self_key = 0;
  ca->self_uid = 0;
  ca->member = ca->leader = 0;
  ca->leave_started = 0;
}

void akt__ca_identity_ended(akt__ca *ca, const char *why) {
  akt__ca_trace(ca, "identity-ended", why, ca->applied);
  akt__log(ca->sys, AKT_LOG_INFO, "cluster actors %s: %s: this node hosts nothing under it",
           ca->self_id, why);
  /* The process keeps its acceptor state, so it may still vote as this
   * identity: a configuration whose winning sets all hold members that
   * were downed and rejoined (membership moved on without the log, e.g.
   * both sides of a partition believed they won) can then still move on.
   * Forgetting it would leave such a log without a winning set forever. */
  if (ca->nold == AKT__CA_OLD_IDS) ca->nold--;
  for (uint32_t i = ca->nold; i > 0; i--)
    memcpy(ca->old_ids[i], ca->old_ids[i - 1], sizeof ca->old_ids[i]);
  memcpy(ca->old_ids[0], ca->self_id, sizeof ca->old_ids[0]);
  ca->nold++;
  stop_hosting(ca);
}

void akt__ca_reset(akt__ca *ca, const char *why) {
  akt__ca_trace(ca, "reset", why, ca->applied);
  akt__log(ca->sys, AKT_LOG_INFO, "cluster actors %s: %s: dropping the replicated state",
           ca->self_id, why);
  stop_hosting(ca);
  akt__ca_paxos_clear(ca);
  akt__ca_directory_clear(ca);
  akt__ca_log_clear(ca);
  ca->nold = 0;
  ca->formed = 0;
}

/* ---- messages from other nodes ---------------------------------------------------------------------- */

static void handle_msg(akt__ca *ca, const Akt__Ca__Msg *m) {
  if (ca->stopping) return;
  uint64_t g = m->genesis;
  if (ca->genesis && g && g != ca->genesis) {
    /* Two logs: two clusters formed and merged. The smaller identity
     * stays; this node gives up its own and catches up. */
    AKT__CA_STAT(ca, foreign);
    if (g > ca->genesis) return;
    char id[sizeof ca->self_id];
    memcpy(id, ca->self_id, sizeof id);
    akt__ca_reset(ca, "another log");
    akt__ca_view_refresh(ca);
    if (strcmp(id, ca->self_id)) return;
  }
  if (g && m->commit > ca->applied) akt__ca_log_hint(ca, m->commit, m->remoting);
  switch (m->body_case) {
    case AKT__CA__MSG__BODY_PREPARE: akt__ca_on_prepare(ca, m); break;
    case AKT__CA__MSG__BODY_PROMISE: akt__ca_on_promise(ca, m); break;
    case AKT__CA__MSG__BODY_ACCEPT: akt__ca_on_accept(ca, m); break;
    case AKT__CA__MSG__BODY_ACCEPTED: akt__ca_on_accepted(ca, m); break;
    case AKT__CA__MSG__BODY_COMMIT_ENTRY: {
      const Akt__Ca__Entry *e = m->commit_entry ? m->commit_entry->entry : NULL;
      if (!ca->genesis) {
        if (!g || !e || e->slot != 1) break;
        ca->genesis = g; /* the log's first slot: this node starts with it */
      }
      akt__ca_on_commit(ca, m);
      break;
    }
    case AKT__CA__MSG__BODY_CATCH_UP: akt__ca_on_catch_up(ca, m); break;
    case AKT__CA__MSG__BODY_ENTRIES: akt__ca_on_entries(ca, m); break;
    case AKT__CA__MSG__BODY_SUBMIT: akt__ca_on_submit(ca, m); break;
    case AKT__CA__MSG__BODY_LEASE_REQ: akt__ca_on_lease_req(ca, m); break;
    case AKT__CA__MSG__BODY_LEASE_ACK: akt__ca_on_lease_ack(ca, m); break;
    case AKT__CA__MSG__BODY_ROUTE: akt__ca_on_route(ca, m); break;
    case AKT__CA__MSG__BODY_HAND_OFF: akt__ca_on_hand_off(ca, m); break;
    case AKT__CA__MSG__BODY_HAND_OFF_ASK: akt__ca_on_hand_off_ask(ca, m); break;
    case AKT__CA__MSG__BODY_PROBE: akt__ca_on_probe(ca, m); break;
    case AKT__CA__MSG__BODY_PROBE_REPLY: akt__ca_on_probe_reply(ca, m); break;
    default: break;
  }
}

/* /system/cluster hands over what it does not handle itself. */
static int ext_receive(void *arg, akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  akt__ca *ca = arg;
  if (!akt_msg_is(msg, &akt__ca__msg__descriptor)) return AKT_EUNHANDLED;
  akt__ca_lock(ca);
  handle_msg(ca, (const Akt__Ca__Msg *)msg);
  akt__ca_unlock(ca);
  return 0;
}

static void ext_on_event(void *arg, const akt_cluster_event *ev) {
  (void)ev;
  akt__ca *ca = arg;
  /* The cluster's lock is held: only a note and a wake-up. */
  if (atomic_exchange_explicit(&ca->view_dirty, 1, memory_order_acq_rel)) return;
  Akt__Ca__Wake w = AKT__CA__WAKE__INIT;
  if (ca->actor) akt_tell(ca->actor, &w.base);
}

static int ext_hold_leave(void *arg) {
  akt__ca *ca = arg;
  return atomic_load_explicit(&ca->leave_hold, memory_order_acquire);
}

/* ---- the tick ------------------------------------------------------------------------------------------ */

static void tick(akt__ca *ca) {
  if (atomic_load_explicit(&ca->view_dirty, memory_order_acquire)) akt__ca_view_refresh(ca);
  akt__ca_log_tick(ca);
  akt__ca_lease_tick(ca);
  akt__ca_propose(ca);
  akt__ca_requests_tick(ca);
  akt__ca_handoff_tick(ca);
  akt__ca_act_tick(ca);
  akt__ca_behind_retry(ca);
  update_leave_hold(ca);
  akt__ca_timer_arm(ca, &ca->tick_timer, AKT__CA_T_TICK, 0, AKT__CA_TICK);
}

/* ---- /system/cluster-actors ------------------------------------------------------------------------------ */

static int coordinator_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt__ca *ca = akt__ca_of(akt_ctx_system(ctx));
  if (!ca) return 0;
  if (akt_msg_is(msg, &akt__ca__wake__descriptor)) {
    akt__ca_lock(ca);
    if (!ca->stopping) akt__ca_view_refresh(ca);
    akt__ca_unlock(ca);
    return 0;
  }
  return akt__ca_request_receive(ca, ctx, msg);
}

static const akt_actor_def coordinator_def = {.kind = "cluster-actors",
                                              .receive = coordinator_receive};

/* The parent of activations: it handles nothing, and restarts a child
 * that fails (the default supervisor). */
static int host_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

static const akt_actor_def host_def = {.kind = "cluster-host", .receive = host_receive};

/* ---- start, stop, free -------------------------------------------------------------------------------------- */

static void stop_now(akt__ca *ca) {
  akt__ca_timer_cancel(ca, &ca->tick_timer);
  akt__ca_lease_clear(ca);
  akt__ca_requests_clear(ca, AKT_ESTOPPED);
  akt__ca_behind_clear(ca);
  akt__ca_act_retire_all(ca, 0);
  akt__ca_handoff_clear(ca);
}

static void ext_stop(void *arg) {
  akt__ca *ca = arg;
  akt__ca_lock(ca);
  if (ca->stopping) {
    akt__ca_unlock(ca);
    return;
  }
  ca->stopping = 1;
  atomic_store_explicit(&ca->leave_hold, 0, memory_order_release);
  akt__inflight_add(ca->sys);
  if (akt__ca_timer_arm(ca, &ca->stop_timer, AKT__CA_T_STOP, 0, 0)) {
    stop_now(ca);
    akt__ca_unlock(ca);
    akt__inflight_done(ca->sys);
    return;
  }
  akt__ca_unlock(ca);
}

static void ca_free(akt__ca *ca) {
  akt__ca_timer_cancel(ca, &ca->tick_timer);
  akt__ca_timer_cancel(ca, &ca->stop_timer);
  akt__ca_lease_clear(ca);
  akt__ca_acts_free(ca);
  akt__ca_handoff_clear(ca);
  akt__ca_local_stops_free(ca);
  akt__ca_requests_clear(ca, AKT_ESTOPPED);
  akt__ca_behind_clear(ca);
  akt__ca_refs_free(ca);
  akt__ca_paxos_clear(ca);
  akt__ca_directory_clear(ca);
  akt__ca_log_clear(ca);
  akt__partition_cache_clear(&ca->pcache);
  for (size_t i = 0; i < ca->nkinds; i++) {
    akt__ca_kind *k = ca->kinds[i];
    free(k->name);
    for (size_t r = 0; r < k->need.n; r++) free(k->roles[r]);
    free(k->roles);
    free(k);
  }
  while (ca->selfq_n) {
    free(ca->selfq[ca->selfq_head].data);
    ca->selfq_head = (ca->selfq_head + 1) % AKT__CA_SELFQ_MAX;
    ca->selfq_n--;
  }
  free(ca->view);
  akt_pid_release(ca->actor);
  akt_pid_release(ca->host);
  pthread_mutex_destroy(&ca->mu);
  free(ca);
}

void akt__ca_ext_free(void *arg) { ca_free(arg); }

static int options(const akt_cluster_actors_options *in, akt_cluster_actors_options *o,
                   char *why, size_t size) {
  static const akt_cluster_actors_options zero;
  *o = in ? *in : zero;
  if (!o->lease) o->lease = AKT_CLUSTER_DEFAULT_LEASE;
  if (!o->max_drift_ppm) o->max_drift_ppm = AKT_CLUSTER_DEFAULT_MAX_DRIFT_PPM;
  if (!o->turn_margin) o->turn_margin = AKT_CLUSTER_DEFAULT_TURN_MARGIN;
  if (!o->handoff_timeout) o->handoff_timeout = AKT_CLUSTER_DEFAULT_HANDOFF_TIMEOUT;
  if (!o->hold_per_name) o->hold_per_name = AKT_CLUSTER_DEFAULT_HOLD_PER_NAME;
  if (!o->hold_total) o->hold_total = AKT_CLUSTER_DEFAULT_HOLD_TOTAL;
  if (o->max_drift_ppm > 100000) {
    snprintf(why, size, "max_drift_ppm %u is above 100000 (10%%)", (unsigned)o->max_drift_ppm);
    return AKT_EINVAL;
  }
  if (o->lease < AKT_MILLIS(10) || o->lease > AKT_SECONDS(3600)) {
    snprintf(why, size, "lease must be within 10 ms and 1 h");
    return AKT_EINVAL;
  }
  return 0;
}

/* lease * (1 + rho) / (1 - rho) + margin, rounded up, in ns. */
static akt_duration wait_of(const akt_cluster_actors_options *o) {
  __uint128_t num = (__uint128_t)o->lease * (1000000u + o->max_drift_ppm);
  uint64_t den = 1000000u - o->max_drift_ppm;
  return (akt_duration)((num + den - 1) / den) + o->turn_margin;
}

int akt_cluster_actors_start(akt_system *sys, const akt_cluster_actors_options *opts) {
  if (!sys) return AKT_EINVAL;
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl || akt__ca_of(sys)) return AKT_ESTATE;
  akt__ca *ca = calloc(1, sizeof *ca);
  if (!ca) return AKT_ENOMEM;
  char why[256];
  int rc = options(opts, &ca->o, why, sizeof why);
  if (rc) {
    akt__log(sys, AKT_LOG_ERROR, "cluster actors: %s", why);
    free(ca);
    return rc;
  }
  ca->sys = sys;
  ca->b = sys->backend;
  ca->self_idx = -1;
  pthread_mutex_init(&ca->mu, NULL);
  pthread_mutex_lock(&cl->mu);
  ca->co = cl->o;
  pthread_mutex_unlock(&cl->mu);
  ca->pcfg.partitions = ca->o.partitions;
  ca->pcfg.load_pct = ca->o.load_pct;
  ca->wait = wait_of(&ca->o);
  snprintf(ca->remoting, sizeof ca->remoting, "%s", akt_system_address(sys));
  if ((rc = akt__partition_cache_init(&ca->pcache, &ca->pcfg))) {
    akt__log(sys, AKT_LOG_ERROR, "cluster actors: partitions or load_pct out of range");
    pthread_mutex_destroy(&ca->mu);
    free(ca);
    return rc;
  }
  static const ProtobufCMessageDescriptor *const types[] = {
      &akt__ca__msg__descriptor,   &akt__ca__wake__descriptor,    &akt__ca__spawn__descriptor,
      &akt__ca__stop__descriptor,  &akt__ca__lookup__descriptor,  &akt__ca__reply__descriptor,
      &akt__ca__checkpoint_done__descriptor, &akt__ca__actor_event__descriptor};
  for (size_t i = 0; !rc && i < sizeof types / sizeof types[0]; i++)
    rc = akt_system_register_type(sys, types[i]);
  akt__cl_ext ext = {.on_event = ext_on_event,
                     .receive = ext_receive,
                     .hold_leave = ext_hold_leave,
                     .stop = ext_stop,
                     .free = akt__ca_ext_free,
                     .arg = ca};
  if (!rc) rc = akt__spawn(sys, sys->user->cell, HOST_NAME, &host_def, NULL, 0, &ca->host);
  if (!rc) rc = akt__spawn(sys, sys->system_guardian->cell, "cluster-actors", &coordinator_def,
                           NULL, 0, &ca->actor);
  if (!rc) rc = akt__cl_ext_add(sys, &ext);
  if (rc) {
    if (ca->host) akt_stop(ca->host);
    if (ca->actor) akt_stop(ca->actor);
    akt__partition_cache_clear(&ca->pcache);
    akt_pid_release(ca->actor);
    akt_pid_release(ca->host);
    pthread_mutex_destroy(&ca->mu);
    free(ca);
    return rc;
  }
  akt__ca_lock(ca);
  atomic_store(&ca->view_dirty, 1);
  akt__ca_view_refresh(ca);
  akt__ca_timer_arm(ca, &ca->tick_timer, AKT__CA_T_TICK, 0, AKT__CA_TICK);
  akt__ca_unlock(ca);
  akt__log(sys, AKT_LOG_INFO, "cluster actors: started (lease %llu ms, wait %llu ms)",
           (unsigned long long)(ca->o.lease / AKT_MILLIS(1)),
           (unsigned long long)(ca->wait / AKT_MILLIS(1)));
  return 0;
}

akt_pid *akt_cluster_actors_pid(akt_system *sys) {
  akt__ca *ca = akt__ca_of(sys);
  return ca ? ca->actor : NULL;
}

void akt_cluster_actors_get_stats(akt_system *sys, akt_cluster_actors_stats *out) {
  if (!out) return;
  akt__ca *ca = akt__ca_of(sys);
  if (!ca) {
    memset(out, 0, sizeof *out);
    return;
  }
  akt__ca_lock(ca);
  *out = ca->stats;
  out->epoch = ca->cfg.slot;
  out->applied = ca->applied;
  out->members = ca->cfg.n;
  out->lease_valid = akt__ca_lease_ok(ca);
  out->refs = ca->nrefs;
  out->directory = ca->nnamed;
  uint64_t active = 0;
  for (uint32_t i = 0; i < ca->nacts; i++)
    active += atomic_load(&ca->act_list[i]->state) == AKT__ACT_ACTIVE;
  out->active = active;
  akt__ca_unlock(ca);
}
