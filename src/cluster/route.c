/* akt — messages by name: references, routing, holding, lookups.
 *
 * A name reference (akt_cluster_ref) is a sink PID: whatever is sent to it
 * — a tell, a request, an ask, a forward — arrives here as an envelope with
 * its sender and request id, and is routed by the name:
 *
 *   the name's host, by this node's log, is this node:
 *     its activation runs     the envelope goes into its mailbox;
 *     it is starting/moving   the envelope waits in its record (bounded:
 *                             hold_per_name, hold_total; past them it goes
 *                             to dead letters, counted and reported);
 *   the host is another node  the envelope travels as a Route (type name,
 *                             bytes, sender address, request id) to that
 *                             node's /system/cluster, which routes it again
 *                             by its own log — a node that knows of a newer
 *                             configuration forwards it on (at most
 *                             AKT__CA_HOPS_MAX times); a node whose log is
 *                             behind the sender's waits for it (up to
 *                             AKT__CA_BEHIND_WAIT);
 *   no such name              dead letters ("no such cluster actor").
 *
 * Replies need nothing of this: the activation replies to the envelope's
 * sender directly (remoting carries the request id). Resolution reads the
 * log's state, which every node holds, so it is a hash lookup and a table
 * read: "cached" in the sense that no node is asked, and re-resolved after
 * a move by the log itself. Messages from one sender to one name keep their
 * order while the name stays put; across a move a forwarded message may be
 * overtaken by one sent directly to the new host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/remote.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/cluster/actors.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

typedef struct akt__ca_ref {
  void *link;
  akt__ca *ca;
  char *name;
  akt_pid *pid; /* the layer's reference */
  uint32_t idx;
} akt__ca_ref;

void akt__ca_dead(akt__ca *ca, akt__env *env, const char *reason) {
  AKT__CA_STAT(ca, dead);
  akt__dead_letter(ca->sys, NULL, env, reason);
}

void akt__ca_deliver(akt__ca *ca, akt__ca_act *a, akt__env *env) {
  AKT_ASSERT(a->pid != NULL);
  AKT__CA_STAT(ca, delivered_local);
  /* A failure (the actor just terminated) goes to dead letters there. */
  akt__route(a->pid, env);
}

/* ---- waiting for this node's log ---------------------------------------------------------- */

/* Keeps a packed Msg until this node has applied `need` slots. */
static int behind_keep(akt__ca *ca, const Akt__Ca__Msg *m, uint64_t need) {
  int rc = akt__grow(&ca->behind, sizeof *ca->behind, ca->nbehind, &ca->cap_behind, 16,
                     AKT__CA_BEHIND_MAX);
  if (rc) return rc;
  size_t len = akt__ca__msg__get_packed_size(m);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return AKT_ENOMEM;
  akt__ca__msg__pack(m, buf);
  ca->behind[ca->nbehind++] =
      (akt__ca_behind){.msg = buf, .len = len, .need = need,
                       .until = akt__ca_now(ca) + AKT__CA_BEHIND_WAIT};
  return 0;
}

static void on_route_msg(akt__ca *ca, const Akt__Ca__Msg *m, int may_wait);
static void on_probe_msg(akt__ca *ca, const Akt__Ca__Msg *m, int may_wait);

void akt__ca_behind_retry(akt__ca *ca) {
  uint64_t now = akt__ca_now(ca);
  for (uint32_t i = 0; i < ca->nbehind;) {
    akt__ca_behind *b = &ca->behind[i];
    if (ca->genesis && ca->applied >= b->need) {
      /* caught up */
    } else if (now < b->until) {
      i++;
      continue;
    }
    akt__ca_behind taken = *b;
    ca->behind[i] = ca->behind[--ca->nbehind];
    Akt__Ca__Msg *m = akt__ca__msg__unpack(NULL, taken.len, taken.msg);
    free(taken.msg);
    if (!m) continue;
    if (m->body_case == AKT__CA__MSG__BODY_ROUTE) on_route_msg(ca, m, 0);
    else if (m->body_case == AKT__CA__MSG__BODY_PROBE) on_probe_msg(ca, m, 0);
    akt__ca__msg__free_unpacked(m, NULL);
  }
}

void akt__ca_behind_clear(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->nbehind; i++) free(ca->behind[i].msg);
  free(ca->behind);
  ca->behind = NULL;
  ca->nbehind = ca->cap_behind = 0;
}

/* ---- routing an envelope ------------------------------------------------------------------------ */

/* Packs an envelope as a Route (the caller frees route->payload). */
static int route_of(akt__ca *ca, const char *name, const akt__env *env, uint32_t hops,
                    Akt__Ca__Route *r, char *sender, size_t sender_size) {
  (void)ca;
  akt__ca__route__init(r);
  size_t len = protobuf_c_message_get_packed_size(env->msg);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return AKT_ENOMEM;
  protobuf_c_message_pack(env->msg, buf);
  r->name = (char *)(uintptr_t)name;
  r->type = (char *)(uintptr_t)env->msg->descriptor->name;
  r->payload.data = buf;
  r->payload.len = len;
  sender[0] = '\0';
  if (env->sender && akt_pid_format(env->sender, sender, sender_size) < 0) sender[0] = '\0';
  r->sender = sender;
  if (env->flags & AKT__ENV_REQUEST) {
    r->flags = 1;
    r->corr = akt__env_corr(env);
  }
  r->hops = hops;
  return 0;
}

/* Sends the envelope on as a Route to node `remoting` (or keeps it while
 * this node's log is empty); frees it. */
static void route_out(akt__ca *ca, const char *name, akt__env *env, uint32_t hops,
                      const char *remoting) {
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Route r;
  char sender[AKT_ADDRESS_MAX + 1];
  if (route_of(ca, name, env, hops, &r, sender, sizeof sender)) {
    akt__ca_dead(ca, env, "cluster actor: out of memory routing it");
    return;
  }
  msg.body_case = AKT__CA__MSG__BODY_ROUTE;
  msg.route = &r;
  if (!remoting) {
    /* No log yet here: wait for it, as a Route this node sends itself. */
    msg.from = ca->self_id;
    msg.remoting = ca->remoting;
    if (behind_keep(ca, &msg, 1)) {
      free(r.payload.data);
      akt__ca_dead(ca, env, "cluster actor: this node has no directory yet and its wait is full");
      return;
    }
  } else {
    akt__ca_send(ca, remoting, &msg);
    AKT__CA_STAT(ca, routed);
    if (hops) AKT__CA_STAT(ca, forwarded);
  }
  free(r.payload.data);
  akt__env_free(env);
}

int akt__ca_route_locked(akt__ca *ca, const char *name, akt__env *env, uint32_t hops) {
  if (ca->stopping) {
    akt__ca_dead(ca, env, "cluster actors stopped");
    return AKT_ESTOPPED;
  }
  if (!ca->genesis || !ca->cfg.n) {
    route_out(ca, name, env, hops, NULL);
    return 0;
  }
  akt__ca_what w;
  if (!akt__ca_what_of(ca, name, &w)) {
    akt__ca_dead(ca, env, "no such cluster actor");
    return AKT_ENOENT;
  }
  long host = akt__ca_place(ca, &ca->cfg, name, w.placement, w.fixed, &w.need);
  if (host < 0) {
    akt__ca_dead(ca, env, "no member may host this cluster actor");
    return AKT_ENOENT;
  }
  if (host != ca->self_idx || !ca->member) {
    if (hops >= AKT__CA_HOPS_MAX) {
      akt__ca_dead(ca, env, "cluster actor: routed too many times (a routing loop)");
      return AKT_ELIMIT;
    }
    route_out(ca, name, env, hops, ca->cfg.m[host].remoting);
    return 0;
  }
  akt__ca_kind *kind = akt__ca_kind_find(ca, w.kind);
  if (!kind || akt__ca_locally_stopped(ca, name)) {
    akt__ca_dead(ca, env, kind ? "cluster actor stopped" : "cluster actor kind not registered on its host");
    return AKT_ENOENT;
  }
  akt__ca_act *a = akt__ca_act_find(ca, name);
  if (!a) {
    a = akt__ca_act_get(ca, name, kind);
    if (!a) {
      akt__ca_dead(ca, env, "cluster actor: too many activations");
      return AKT_ELIMIT;
    }
    akt__ca_act_hold(ca, a, env);
    akt__ca_reconcile(ca, name);
    return 0;
  }
  switch (atomic_load(&a->state)) {
    case AKT__ACT_ACTIVE: akt__ca_deliver(ca, a, env); return 0;
    case AKT__ACT_FAILED:
      akt__ca_dead(ca, env, "cluster actor stopped after a failure");
      return AKT_ESTOPPED;
    default:
      /* Starting, moving in, or an earlier activation still stopping (the
       * name was spawned again here): held until it runs. */
      akt__ca_act_hold(ca, a, env);
      return 0;
  }
}

int akt__ca_route_env(akt__ca *ca, const char *name, akt__env *env) {
  akt__ca_lock(ca);
  int rc = akt__ca_route_locked(ca, name, env, 0);
  akt__ca_unlock(ca);
  return rc;
}

/* ---- routes from other nodes ------------------------------------------------------------------------ */

static void on_route_msg(akt__ca *ca, const Akt__Ca__Msg *m, int may_wait) {
  const Akt__Ca__Route *r = m->route;
  if (!r || !akt__ca_name_ok(r->name) || !r->type) return;
  if (may_wait && (!ca->genesis || m->commit > ca->applied)) {
    /* The sender knows more of the log than this node: wait for it. */
    if (behind_keep(ca, m, m->commit ? m->commit : 1) == 0) return;
  }
  const ProtobufCMessageDescriptor *desc = akt_system_find_type(ca->sys, r->type);
  ProtobufCMessage *msg = desc ? protobuf_c_message_unpack(desc, NULL, r->payload.len, r->payload.data) : NULL;
  if (!msg) {
    AKT__CA_STAT(ca, dead);
    akt__log(ca->sys, AKT_LOG_WARN, "cluster actors: a message for %s of type %s %s", r->name,
             r->type, desc ? "does not decode" : "is not registered here");
    return;
  }
  akt__env *env = NULL;
  int rc = akt__env_new_msg(ca->sys, msg, &env);
  protobuf_c_message_free_unpacked(msg, NULL);
  if (rc) return;
  if (r->sender && *r->sender) {
    akt_pid *sender = NULL;
    if (akt_remote_pid(ca->sys, r->sender, &sender) == 0) env->sender = sender;
  }
  if (r->flags & 1) akt__env_add_flags(env, AKT__ENV_REQUEST, r->corr);
  akt__ca_route_locked(ca, r->name, env, r->hops + 1);
}

void akt__ca_on_route(akt__ca *ca, const Akt__Ca__Msg *m) { on_route_msg(ca, m, 1); }

/* ---- lookups ---------------------------------------------------------------------------------------- */

static void probe_reply(akt__ca *ca, const char *to, uint64_t id, int code, const char *address) {
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__ProbeReply r = AKT__CA__PROBE_REPLY__INIT;
  r.id = id;
  r.code = code;
  r.address = (char *)(uintptr_t)(address ? address : "");
  msg.body_case = AKT__CA__MSG__BODY_PROBE_REPLY;
  msg.probe_reply = &r;
  akt__ca_send(ca, to, &msg);
}

void akt__ca_probes_answer(akt__ca *ca, akt__ca_act *a, int code) {
  char address[AKT_ADDRESS_MAX + 1] = "";
  if (!code && a->pid && akt_pid_format(a->pid, address, sizeof address) < 0) address[0] = '\0';
  for (akt__ca_probe *p = a->probes, *next; p; p = next) {
    next = p->next;
    probe_reply(ca, p->reply_to, p->id, code, address);
    free(p->reply_to);
    free(p);
  }
  a->probes = NULL;
}

static void on_probe_msg(akt__ca *ca, const Akt__Ca__Msg *m, int may_wait) {
  const Akt__Ca__Probe *p = m->probe;
  if (!p || !p->reply_to || !*p->reply_to) return;
  if (!akt__ca_name_ok(p->name)) {
    probe_reply(ca, p->reply_to, p->id, AKT_ENAME, NULL);
    return;
  }
  if (may_wait && (!ca->genesis || m->commit > ca->applied)) {
    if (behind_keep(ca, m, m->commit ? m->commit : 1) == 0) return;
  }
  long host = ca->cfg.n ? akt__ca_host_of(ca, p->name) : -1;
  if (host == -2 || host == -1) {
    probe_reply(ca, p->reply_to, p->id, host == -2 ? AKT_ENOENT : AKT_ESTATE, NULL);
    return;
  }
  if (host != ca->self_idx || !ca->member) {
    if (p->hops >= AKT__CA_HOPS_MAX) {
      probe_reply(ca, p->reply_to, p->id, AKT_ELIMIT, NULL);
      return;
    }
    Akt__Ca__Msg fwd = AKT__CA__MSG__INIT;
    Akt__Ca__Probe copy = *p;
    copy.hops = p->hops + 1;
    fwd.body_case = AKT__CA__MSG__BODY_PROBE;
    fwd.probe = &copy;
    akt__ca_send_member(ca, &ca->cfg, (size_t)host, &fwd);
    return;
  }
  if (p->stop) {
    /* The broken variant without tombstones: stopped here, and only here. */
    int rc = akt__ca_local_stop(ca, p->name);
    akt__ca_reconcile(ca, p->name);
    probe_reply(ca, p->reply_to, p->id, rc, NULL);
    return;
  }
  akt__ca_what w;
  akt__ca_what_of(ca, p->name, &w);
  akt__ca_kind *kind = akt__ca_kind_find(ca, w.kind);
  akt__ca_act *a = kind && !akt__ca_locally_stopped(ca, p->name) ? akt__ca_act_get(ca, p->name, kind) : NULL;
  if (!a) {
    probe_reply(ca, p->reply_to, p->id, kind ? AKT_ENOENT : AKT_ESTATE, NULL);
    return;
  }
  int st = atomic_load(&a->state);
  if (st == AKT__ACT_ACTIVE) {
    char address[AKT_ADDRESS_MAX + 1] = "";
    if (akt_pid_format(a->pid, address, sizeof address) < 0) address[0] = '\0';
    probe_reply(ca, p->reply_to, p->id, 0, address);
    return;
  }
  if (st != AKT__ACT_WAITING && st != AKT__ACT_LOADING) {
    probe_reply(ca, p->reply_to, p->id, AKT_ESTATE, NULL);
    return;
  }
  akt__ca_probe *q = calloc(1, sizeof *q);
  if (!q || !(q->reply_to = strdup(p->reply_to))) {
    free(q);
    probe_reply(ca, p->reply_to, p->id, AKT_ENOMEM, NULL);
    return;
  }
  q->id = p->id;
  q->next = a->probes;
  a->probes = q;
  akt__ca_reconcile(ca, p->name);
}

void akt__ca_on_probe(akt__ca *ca, const Akt__Ca__Msg *m) { on_probe_msg(ca, m, 1); }

void akt__ca_on_probe_reply(akt__ca *ca, const Akt__Ca__Msg *m) {
  const Akt__Ca__ProbeReply *r = m->probe_reply;
  if (r) akt__ca_request_probed(ca, r->id, r->code, r->address);
}

/* ---- references ------------------------------------------------------------------------------------------ */

static const char *ref_key(const void *item) { return ((const akt__ca_ref *)item)->name; }

static void ref_sink(akt__cell *c, akt__env *env) {
  akt__ca_ref *ref = akt__cell_sink(c)->data;
  akt__ca_route_env(ref->ca, ref->name, env);
}

static void ref_dtor(void *data) {
  akt__ca_ref *ref = data;
  free(ref->name);
  free(ref);
}

/* Takes a reference out of the table: the sink closes, and goes with its
 * last PID reference (the dtor frees the ref then). */
static void ref_drop(akt__ca *ca, akt__ca_ref *ref) {
  akt__strtab_remove(&ca->ref_tab, ref);
  struct akt__ca_ref *last = ca->refs[--ca->nrefs];
  ca->refs[ref->idx] = last;
  last->idx = ref->idx;
  akt_pid *pid = ref->pid;
  akt__sink_close(pid);
  akt_pid_release(pid);
}

/* Makes room by dropping references nobody but the layer holds. */
static void refs_evict(akt__ca *ca) {
  for (uint32_t i = 0; i < ca->nrefs && ca->nrefs >= AKT__CA_REFS_MAX;) {
    akt__ca_ref *ref = ca->refs[i];
    if (atomic_load(&ref->pid->refs) == 1)
      ref_drop(ca, ref);
    else
      i++;
  }
}

int akt_cluster_ref(akt_system *sys, const char *name, akt_pid **out) {
  if (!out) return AKT_EINVAL;
  if (!akt__ca_name_ok(name)) return AKT_ENAME;
  akt__ca *ca = akt__ca_of(sys);
  if (!ca) return AKT_ESTATE;
  akt__ca_lock(ca);
  if (!ca->ref_tab.key) akt__strtab_init(&ca->ref_tab, 64, offsetof(akt__ca_ref, link), ref_key);
  akt__ca_ref *ref = akt__strtab_find(&ca->ref_tab, name);
  int rc = 0;
  if (!ref) {
    if (ca->nrefs >= AKT__CA_REFS_MAX) refs_evict(ca);
    rc = akt__grow(&ca->refs, sizeof *ca->refs, ca->nrefs, &ca->cap_refs, 16, AKT__CA_REFS_MAX);
    if (!rc) {
      ref = calloc(1, sizeof *ref);
      if (ref) ref->name = strdup(name);
      if (!ref || !ref->name) {
        if (ref) free(ref);
        ref = NULL;
        rc = AKT_ENOMEM;
      }
    }
    if (!rc) {
      ref->ca = ca;
      ref->pid = akt__spawn_sink(sys, "cluster", ref_sink, ref, ref_dtor);
      if (!ref->pid) {
        ref_dtor(ref);
        ref = NULL;
        rc = AKT_ENOMEM;
      } else if (akt__strtab_add(&ca->ref_tab, ref)) {
        akt__sink_close(ref->pid);
        akt_pid_release(ref->pid); /* frees ref through the dtor */
        ref = NULL;
        rc = AKT_ENOMEM;
      } else {
        ref->idx = ca->nrefs;
        ca->refs[ca->nrefs++] = ref;
      }
    }
  }
  if (!rc) *out = akt_pid_retain(ref->pid);
  akt__ca_unlock(ca);
  return rc;
}

void akt__ca_refs_free(akt__ca *ca) {
  while (ca->nrefs) ref_drop(ca, ca->refs[ca->nrefs - 1]);
  akt__strtab_free(&ca->ref_tab, NULL);
  free(ca->refs);
  ca->refs = NULL;
  ca->cap_refs = 0;
}
