/* akt — spawn, stop and lookup requests, and the calls that block on them.
 *
 * An actor asks /system/cluster-actors with akt_request (Spawn, Stop,
 * Lookup); the blocking calls ask it with akt_ask. A spawn or a stop
 * becomes a directory op with a request id (this node's member id and a
 * sequence number) that goes to the leader, which puts it in the log; the
 * answer is the op's result when this node applies it — the same result
 * every node computes, which is why of concurrent spawns of one name
 * exactly one gets 0. An op that is not in the log a second later goes to
 * the leader again (the same id applies once). A lookup is a probe to the
 * name's host, answered once the activation runs.
 */
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

enum { REQ_SPAWN = 1, REQ_STOP = 2, REQ_LOOKUP = 3 };
enum { OP_SPAWN = 1, OP_STOP = 2, OP_RETIRED = 3 };

/* ---- answering ---------------------------------------------------------------------------- */

static void reply(akt__ca *ca, akt__ca_request *r, int code, const char *address) {
  if (!r->reply_to) return;
  Akt__Ca__Reply rep = AKT__CA__REPLY__INIT;
  rep.code = code;
  rep.address = (char *)(uintptr_t)(address ? address : "");
  akt__send(r->reply_to, &rep.base, ca->actor, r->corr, r->corr ? AKT__ENV_REPLY : 0);
}

static void req_free(akt__ca_request *r) {
  if (r->op) akt__ca__op__free_unpacked(r->op, NULL);
  akt_pid_release(r->reply_to);
  free(r->name);
  memset(r, 0, sizeof *r);
}

static void req_remove(akt__ca *ca, uint32_t i) {
  req_free(&ca->reqs[i]);
  ca->reqs[i] = ca->reqs[--ca->nreqs];
  memset(&ca->reqs[ca->nreqs], 0, sizeof ca->reqs[0]);
}

void akt__ca_request_applied(akt__ca *ca, uint64_t req, int code) {
  for (uint32_t i = 0; i < ca->nreqs; i++) {
    akt__ca_request *r = &ca->reqs[i];
    if (r->what == REQ_LOOKUP || r->req != req) continue;
    reply(ca, r, code, NULL);
    req_remove(ca, i);
    return;
  }
}

void akt__ca_request_probed(akt__ca *ca, uint64_t id, int code, const char *address) {
  for (uint32_t i = 0; i < ca->nreqs; i++) {
    akt__ca_request *r = &ca->reqs[i];
    if (r->req != id || r->op) continue;
    reply(ca, r, code, address);
    req_remove(ca, i);
    return;
  }
}

void akt__ca_requests_clear(akt__ca *ca, int code) {
  while (ca->nreqs) {
    reply(ca, &ca->reqs[ca->nreqs - 1], code, NULL);
    req_remove(ca, ca->nreqs - 1);
  }
  free(ca->reqs);
  ca->reqs = NULL;
  ca->cap_reqs = 0;
}

/* ---- submitting ---------------------------------------------------------------------------------- */


/* Gives an op to the proposer: this node when it is the one, else the
 * proposer of this node's view (actors.c, choose_proposer). */
static void submit(akt__ca *ca, const Akt__Ca__Op *op) {
  if (akt__ca_proposes(ca)) {
    Akt__Ca__Op *copy = akt__ca_op_copy(op);
    if (copy) akt__ca_pending_add(ca, copy);
    akt__ca_propose(ca);
    return;
  }
  /* No proposer, or this node is the one without proposing (the leader,
   * outside a configuration whose live members it cannot reach):
   * resubmitted at a tick. */
  if (!ca->leader_remoting[0] || ca->leader) return;
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Submit sub = AKT__CA__SUBMIT__INIT;
  Akt__Ca__Op *ops[1] = {(Akt__Ca__Op *)(uintptr_t)op};
  sub.ops = ops;
  sub.n_ops = 1;
  msg.body_case = AKT__CA__MSG__BODY_SUBMIT;
  msg.submit = &sub;
  akt__ca_send(ca, ca->leader_remoting, &msg);
}

/* The request just made (the last one) keeps a copy of its op, submitted
 * now and again every AKT__CA_SUBMIT_EVERY until it is in the log. Returns
 * 0, or AKT_ENOMEM (the request is removed). */
static int keep_and_submit(akt__ca *ca, akt__ca_request *r, const Akt__Ca__Op *op) {
  r->op = akt__ca_op_copy(op);
  if (!r->op) {
    req_remove(ca, ca->nreqs - 1);
    return AKT_ENOMEM;
  }
  r->next_submit = akt__ca_now(ca) + AKT__CA_SUBMIT_EVERY;
  submit(ca, r->op);
  return 0;
}

static void send_probe(akt__ca *ca, akt__ca_request *r, int stop) {
  Akt__Ca__Msg msg = AKT__CA__MSG__INIT;
  Akt__Ca__Probe p = AKT__CA__PROBE__INIT;
  p.name = r->name;
  p.id = r->req;
  p.reply_to = ca->remoting;
  p.stop = stop;
  msg.body_case = AKT__CA__MSG__BODY_PROBE;
  msg.probe = &p;
  /* Through this node, which routes it by its log (or waits for one). */
  akt__ca_send(ca, ca->remoting, &msg);
}

void akt__ca_submit_retired(akt__ca *ca, const char *name) {
  if (!ca->self_id[0]) return;
  Akt__Ca__Op op = AKT__CA__OP__INIT;
  op.kind = OP_RETIRED;
  op.name = (char *)(uintptr_t)name;
  op.node = ca->self_id;
  op.req = ++ca->next_req;
  op.requester = ca->self_id;
  submit(ca, &op);
}

void akt__ca_requests_tick(akt__ca *ca) {
  uint64_t now = akt__ca_now(ca);
  for (uint32_t i = 0; i < ca->nreqs;) {
    akt__ca_request *r = &ca->reqs[i];
    if (now >= r->deadline) {
      reply(ca, r, AKT_ETIMEDOUT, NULL);
      req_remove(ca, i);
      continue;
    }
    if (now >= r->next_submit && ca->self_id[0]) {
      r->next_submit = now + AKT__CA_SUBMIT_EVERY;
      if (r->op) submit(ca, r->op);
      else send_probe(ca, r, r->what == REQ_STOP);
    }
    i++;
  }
  /* Stops this node hosted whose confirmation got lost: again, now and
   * then (each tombstone of this host, once per submit period). */
  if (ca->self_id[0] && ca->ntombs && now >= ca->retired_at) {
    ca->retired_at = now + AKT__CA_SUBMIT_EVERY;
    for (uint32_t i = 0; i < ca->ntombs; i++) {
      akt__ca_tomb *t = ca->tombs[i];
      if (!strcmp(t->host, ca->self_id) && !akt__ca_act_find(ca, t->name))
        akt__ca_submit_retired(ca, t->name);
    }
  }
}

/* ---- receiving requests ---------------------------------------------------------------------------- */

static akt__ca_request *req_new(akt__ca *ca, int what, const char *name, akt_ctx *ctx) {
  if (akt__grow(&ca->reqs, sizeof *ca->reqs, ca->nreqs, &ca->cap_reqs, 8, AKT__CA_REQUESTS_MAX))
    return NULL;
  akt__ca_request *r = &ca->reqs[ca->nreqs];
  memset(r, 0, sizeof *r);
  r->name = strdup(name);
  if (!r->name) return NULL;
  ca->nreqs++;
  r->what = what;
  r->req = ++ca->next_req;
  akt__cell *c = ctx;
  r->reply_to = akt_pid_retain(akt_ctx_sender(ctx));
  r->corr = c->cur ? akt__env_corr(c->cur) : 0;
  r->deadline = akt__ca_now(ca) + AKT_CLUSTER_DEFAULT_REQUEST_TIMEOUT;
  return r;
}

/* An immediate answer to the current request. */
static int answer(akt_ctx *ctx, int code) {
  Akt__Ca__Reply rep = AKT__CA__REPLY__INIT;
  rep.code = code;
  rep.address = (char *)"";
  if (!akt_ctx_sender(ctx)) return 0;
  return akt_reply(ctx, &rep.base);
}

/* The op of a spawn: where the name goes. Returns 0 or a code. */
static int spawn_op(akt__ca *ca, const Akt__Ca__Spawn *s, const akt__ca_kind *k, Akt__Ca__Op *op,
                    char *node, size_t node_size) {
  akt__ca__op__init(op);
  op->kind = OP_SPAWN;
  op->name = s->name;
  op->kind_name = k->name;
  op->roles = k->roles;
  op->n_roles = k->need.n;
  op->requester = ca->self_id;
  node[0] = '\0';
  op->node = node;
  akt_spawn_on on = s->spawn_on ? (akt_spawn_on)(s->spawn_on - 1) : k->k.spawn_on;
  if (s->singleton) {
    op->placement = AKT__CA_PLACE_OLDEST;
    return 0;
  }
  if (on == AKT_SPAWN_ON_OWNER) {
    op->placement = AKT__CA_PLACE_OWNER;
    return 0;
  }
  if (!ca->cfg.n) return AKT_ESTATE;
  akt__placement_request pr = {.on = on, .need = &k->need, .key = s->name,
                               .key_len = strlen(s->name), .local_id = ca->self_id,
                               .cursor = &ca->rr_cursor};
  pr.random = (akt__random_fn)akt__ca_random;
  pr.random_arg = ca;
  uint64_t *loads = NULL;
  if (on == AKT_SPAWN_ON_LEAST_LOADED) {
    /* The load of each member: the named actors the directory places on
     * it (every node computes the same). */
    loads = calloc(ca->cfg.n, sizeof *loads);
    if (!loads) return AKT_ENOMEM;
    for (uint32_t i = 0; i < ca->nnamed; i++) {
      akt__ca_named *e = ca->named[i];
      akt__roles need = akt__ca_named_roles(e);
      long at = akt__ca_place(ca, &ca->cfg, e->name, e->placement, e->node, &need);
      if (at >= 0) loads[at]++;
    }
    pr.loads = loads;
  }
  size_t chosen;
  int rc = akt__placement_choose(ca->cfg.view, ca->cfg.n, &pr, &chosen);
  free(loads);
  if (rc) return rc;
  op->placement = AKT__CA_PLACE_FIXED;
  snprintf(node, node_size, "%s", ca->cfg.m[chosen].id);
  return 0;
}

int akt__ca_request_receive(akt__ca *ca, akt_ctx *ctx, const ProtobufCMessage *msg) {
  int what = akt_msg_is(msg, &akt__ca__spawn__descriptor)  ? REQ_SPAWN
             : akt_msg_is(msg, &akt__ca__stop__descriptor) ? REQ_STOP
             : akt_msg_is(msg, &akt__ca__lookup__descriptor) ? REQ_LOOKUP
                                                              : 0;
  if (!what) return AKT_EUNHANDLED;
  const char *name = what == REQ_SPAWN  ? ((const Akt__Ca__Spawn *)msg)->name
                     : what == REQ_STOP ? ((const Akt__Ca__Stop *)msg)->name
                                        : ((const Akt__Ca__Lookup *)msg)->name;
  if (!akt__ca_name_ok(name)) return answer(ctx, AKT_ENAME);
  akt__ca_lock(ca);
  int code = 0;
  if (ca->stopping) {
    code = AKT_ESTOPPED;
  } else if (what == REQ_SPAWN) {
    const Akt__Ca__Spawn *s = (const Akt__Ca__Spawn *)msg;
    akt__ca_kind *k = akt__ca_kind_find(ca, s->kind);
    if (!k) code = AKT_ENOENT;
    else if (k->k.mode == AKT_CLUSTER_VIRTUAL || akt__ca_virtual_kind_of(ca, name))
      code = AKT_EINVAL; /* virtual names exist without a spawn */
    else if (!ca->self_id[0]) code = AKT_ESTATE;
    if (!code) {
      Akt__Ca__Op op;
      char node[AKT__MEMBER_ID_MAX + 1];
      code = spawn_op(ca, s, k, &op, node, sizeof node);
      akt__ca_request *r = code ? NULL : req_new(ca, REQ_SPAWN, name, ctx);
      if (!code && !r) code = AKT_ELIMIT;
      if (r) {
        op.req = r->req;
        r->singleton = (int)s->singleton;
        code = keep_and_submit(ca, r, &op);
      }
    }
  } else if (what == REQ_STOP) {
    if (!ca->self_id[0]) code = AKT_ESTATE;
    akt__ca_request *r = code ? NULL : req_new(ca, REQ_STOP, name, ctx);
    if (!code && !r) code = AKT_ELIMIT;
    if (r && (ca->o.test_flags & AKT_CLUSTER_TEST_NO_TOMBSTONES)) {
      /* The broken variant: the host stops it, the directory keeps it. */
      r->next_submit = akt__ca_now(ca) + AKT__CA_SUBMIT_EVERY;
      send_probe(ca, r, 1);
    } else if (r) {
      Akt__Ca__Op op = AKT__CA__OP__INIT;
      op.kind = OP_STOP;
      op.name = (char *)(uintptr_t)name;
      op.req = r->req;
      op.requester = ca->self_id;
      code = keep_and_submit(ca, r, &op);
    }
  } else {
    akt__ca_request *r = req_new(ca, REQ_LOOKUP, name, ctx);
    if (!r) code = AKT_ELIMIT;
    else {
      r->next_submit = akt__ca_now(ca) + AKT__CA_SUBMIT_EVERY;
      send_probe(ca, r, 0);
    }
  }
  akt__ca_unlock(ca);
  return code ? answer(ctx, code) : 0;
}

/* ---- the blocking calls --------------------------------------------------------------------------------- */

/* Asks /system/cluster-actors and returns the Reply's code (and address). */
static int ask_layer(akt_system *sys, const ProtobufCMessage *req, akt_duration timeout,
                     char *address, size_t size) {
  akt__ca *ca = akt__ca_of(sys);
  if (!ca) return AKT_ESTATE;
  ProtobufCMessage *out = NULL;
  int rc = akt_ask(ca->actor, req, timeout, &out);
  if (rc) return rc;
  if (!akt_msg_is(out, &akt__ca__reply__descriptor)) {
    akt_msg_free(out);
    return AKT_EPROTO;
  }
  const Akt__Ca__Reply *r = (const Akt__Ca__Reply *)out;
  rc = r->code;
  if (address) snprintf(address, size, "%s", r->address ? r->address : "");
  akt_msg_free(out);
  return rc;
}

int akt_cluster_spawn(akt_system *sys, const char *name, const char *kind,
                      const akt_cluster_spawn_opts *opts, akt_duration timeout) {
  if (!sys || !kind) return AKT_EINVAL;
  if (!akt__ca_name_ok(name)) return AKT_ENAME;
  Akt__Ca__Spawn s = AKT__CA__SPAWN__INIT;
  s.name = (char *)(uintptr_t)name;
  s.kind = (char *)(uintptr_t)kind;
  if (opts && opts->set_spawn_on) s.spawn_on = (uint32_t)opts->spawn_on + 1;
  s.singleton = opts && opts->singleton;
  return ask_layer(sys, &s.base, timeout, NULL, 0);
}

int akt_cluster_singleton_start(akt_system *sys, const char *name, const char *kind,
                                akt_duration timeout) {
  akt_cluster_spawn_opts o = {.singleton = 1};
  int rc = akt_cluster_spawn(sys, name, kind, &o, timeout);
  return rc == AKT_EEXIST ? 0 : rc;
}

int akt_cluster_actor_stop(akt_system *sys, const char *name, akt_duration timeout) {
  if (!sys) return AKT_EINVAL;
  if (!akt__ca_name_ok(name)) return AKT_ENAME;
  Akt__Ca__Stop s = AKT__CA__STOP__INIT;
  s.name = (char *)(uintptr_t)name;
  return ask_layer(sys, &s.base, timeout, NULL, 0);
}

int akt_cluster_lookup(akt_system *sys, const char *name, akt_duration timeout, akt_pid **out) {
  if (!sys || !out) return AKT_EINVAL;
  if (!akt__ca_name_ok(name)) return AKT_ENAME;
  Akt__Ca__Lookup l = AKT__CA__LOOKUP__INIT;
  l.name = (char *)(uintptr_t)name;
  char address[AKT_ADDRESS_MAX + 1];
  int rc = ask_layer(sys, &l.base, timeout, address, sizeof address);
  if (rc) return rc;
  return akt_remote_pid(sys, address, out);
}

int akt_cluster_tell(akt_system *sys, const char *name, const ProtobufCMessage *msg,
                     akt_pid *sender) {
  if (!sys || !msg) return AKT_EINVAL;
  if (!akt__ca_name_ok(name)) return AKT_ENAME;
  akt__ca *ca = akt__ca_of(sys);
  if (!ca) return AKT_ESTATE;
  akt__env *env = NULL;
  int rc = akt__env_new_msg(sys, msg, &env);
  if (rc) return rc;
  env->sender = akt_pid_retain(sender);
  akt__ca_route_env(ca, name, env);
  return 0;
}

int akt_cluster_ask(akt_system *sys, const char *name, const ProtobufCMessage *msg,
                    akt_duration timeout, ProtobufCMessage **reply) {
  akt_pid *ref = NULL;
  int rc = akt_cluster_ref(sys, name, &ref);
  if (rc) return rc;
  rc = akt_ask(ref, msg, timeout, reply);
  akt_pid_release(ref);
  return rc;
}
