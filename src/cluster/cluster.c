/* akt — the cluster on a system: start, leave, stop, the public queries,
 * and the timers every other part uses.
 *
 * Lifetime. akt_cluster_start allocates the cluster and hangs it on the
 * system; it lives until the system is freed. Stopping (akt_cluster_stop,
 * or the system's shutdown) marks it stopping at once — datagrams and
 * timers that arrive later do nothing — and finishes on the I/O context,
 * where the datagram endpoint and the timers belong: a zero-delay timer,
 * counted as work in flight so the shutdown waits for it, cancels every
 * timer and closes the endpoint. A simulated crash skips all that: the
 * simulator has already taken the endpoint away, and akt__cluster_free
 * cancels the timers without touching it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/remote.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/remote/remote.h"
#include "src/util/assert.h"

akt__cluster *akt__cluster_of(akt_system *sys) { return sys ? sys->cluster : NULL; }

uint64_t akt__cl_now(akt__cluster *cl) { return cl->b->ops->now(cl->b); }
uint64_t akt__cl_random(akt__cluster *cl) { return cl->b->ops->random_u64(cl->b); }

/* ---- timers ---------------------------------------------------------------------------------- */

static void on_timer(void *arg, uint64_t cookie);

static int arm(akt__cluster *cl, akt__ctimer *t, int kind, uint32_t slot, akt_duration delay) {
  if (t->id) cl->b->ops->timer_cancel(cl->b, t->id);
  t->id = 0;
  t->gen = ++cl->tgen ? cl->tgen : ++cl->tgen;
  t->due = akt__cl_now(cl) + delay;
  uint64_t cookie = ((uint64_t)kind << 56) | ((uint64_t)(slot & 0xffffffu) << 32) | t->gen;
  int rc = cl->b->ops->timer_start(cl->b, delay, on_timer, cl, cookie, &t->id);
  if (rc) {
    t->id = 0;
    t->gen = 0;
    akt__cl_log(cl, AKT_LOG_ERROR, "cluster %s: a timer could not start: %s", cl->name,
                akt_strerror(rc));
  }
  return rc;
}

static void disarm(akt__cluster *cl, akt__ctimer *t) {
  if (t->id) cl->b->ops->timer_cancel(cl->b, t->id);
  t->id = 0;
  t->gen = 0;
}

int akt__cl_timer(akt__cluster *cl, int kind, akt_duration delay) {
  AKT_ASSERT(kind > 0 && kind < AKT__CT_GLOBAL_KINDS);
  return arm(cl, &cl->timers[kind], kind, 0, delay);
}

void akt__cl_timer_cancel(akt__cluster *cl, int kind) {
  AKT_ASSERT(kind > 0 && kind < AKT__CT_GLOBAL_KINDS);
  disarm(cl, &cl->timers[kind]);
}

int akt__cl_ktimer(akt__cluster *cl, akt__ctimer *t, int kind, uint32_t slot, akt_duration delay) {
  AKT_ASSERT(kind >= AKT__CT_GLOBAL_KINDS);
  return arm(cl, t, kind, slot, delay);
}

void akt__cl_mtimer_cancel(akt__cluster *cl, akt__ctimer *t) { disarm(cl, t); }

/* The timer a cookie names, or NULL when the firing is stale. */
static akt__ctimer *timer_of(akt__cluster *cl, int kind, uint32_t slot, uint32_t gen,
                             akt__cl_member **mp) {
  akt__ctimer *t = NULL;
  *mp = NULL;
  if (kind > 0 && kind < AKT__CT_GLOBAL_KINDS) {
    t = &cl->timers[kind];
  } else if (kind == AKT__CT_RELAY) {
    t = slot < AKT__CL_MAX_RELAYS ? &cl->relays[slot].timer : NULL;
  } else if (kind == AKT__CT_STOP) {
    t = &cl->stop_timer;
  } else if (slot < cl->nslots && cl->slots[slot]) {
    akt__cl_member *m = *mp = cl->slots[slot];
    t = kind == AKT__CT_SUSPICION ? &m->susp_timer
        : kind == AKT__CT_REMOVE  ? &m->remove_timer
        : kind == AKT__CT_DIRECT  ? &m->direct_timer
                                  : NULL;
  }
  return t && t->id && t->gen == gen ? t : NULL;
}

static void stop_now(akt__cluster *cl);

static void on_timer(void *arg, uint64_t cookie) {
  akt__cluster *cl = arg;
  int kind = (int)(cookie >> 56);
  uint32_t slot = (uint32_t)(cookie >> 32) & 0xffffffu, gen = (uint32_t)cookie;
  pthread_mutex_lock(&cl->mu);
  akt__cl_member *m;
  akt__ctimer *t = timer_of(cl, kind, slot, gen, &m);
  if (!t) {
    pthread_mutex_unlock(&cl->mu);
    return;
  }
  t->id = 0;
  t->gen = 0;
  uint64_t now = akt__cl_now(cl);
  if (kind == AKT__CT_STOP) {
    stop_now(cl);
    pthread_mutex_unlock(&cl->mu);
    akt__inflight_done(cl->sys);
    return;
  }
  if (cl->stopping) {
    pthread_mutex_unlock(&cl->mu);
    return;
  }
  /* A timer far behind its time means this node did not run for a while
   * (paused, starved): its view is stale until it has caught up. */
  if (now > t->due + cl->o.probe_interval && cl->phase == AKT_CLUSTER_MEMBER) {
    cl->stale_until = now + cl->o.stable_after;
    akt__cl_view_changed(cl);
  }
  switch (kind) {
    case AKT__CT_PROBE: akt__cl_probe_tick(cl); break;
    case AKT__CT_PROBE_DIRECT: akt__cl_probe_direct_timeout(cl); break;
    case AKT__CT_PROBE_END: akt__cl_probe_end(cl); break;
    case AKT__CT_GOSSIP:
      if (cl->phase == AKT_CLUSTER_MEMBER) {
        akt__cl_gossip(cl);
        akt__cl_downing_check(cl);
        if (cl->phase == AKT_CLUSTER_MEMBER) akt__cl_timer(cl, AKT__CT_GOSSIP, cl->o.gossip_interval);
      }
      break;
    case AKT__CT_JOIN: akt__cl_join_round(cl); break;
    case AKT__CT_LEAVE: akt__cl_leave_step(cl); break;
    case AKT__CT_REJOIN: akt__cl_rejoin(cl); break;
    case AKT__CT_REDISCOVER: akt__cl_rediscover(cl); break;
    case AKT__CT_SUSPICION: akt__cl_suspect_expired(cl, m); break;
    case AKT__CT_REMOVE:
      if (m->status == AKT_MEMBER_DOWN || m->status == AKT_MEMBER_EXITING)
        akt__cl_set_status(cl, m, AKT_MEMBER_REMOVED, AKT_DOWN_UNKNOWN);
      break;
    case AKT__CT_DIRECT: akt__cl_direct_check(cl, m); break;
    case AKT__CT_RELAY: akt__cl_relay_timeout(cl, slot); break;
    default: AKT_ASSERT(0 && "timer kind");
  }
  pthread_mutex_unlock(&cl->mu);
}

/* Cancels every timer the cluster has armed. */
static void disarm_all(akt__cluster *cl) {
  for (int k = 1; k < AKT__CT_GLOBAL_KINDS; k++) disarm(cl, &cl->timers[k]);
  for (uint32_t i = 0; i < AKT__CL_MAX_RELAYS; i++) disarm(cl, &cl->relays[i].timer);
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m) continue;
    disarm(cl, &m->susp_timer);
    disarm(cl, &m->remove_timer);
    disarm(cl, &m->direct_timer);
  }
}

/* ---- leaving ------------------------------------------------------------------------------------- */

/* The local member moves to `to` under a new version and announces it. */
void akt__cl_self_move(akt__cluster *cl, akt_member_status to) {
  akt__cl_member *me = cl->self;
  AKT_ASSERT(me && to > me->status && to <= AKT_MEMBER_EXITING);
  akt__cl_set_reach(cl, me, me->version + 1, AKT_REACH_ALIVE);
  if (to == AKT_MEMBER_UP && !me->up_number) {
    uint64_t max = 0;
    for (uint32_t i = 0; i < cl->nslots; i++)
      if (cl->slots[i] && cl->slots[i]->up_number > max) max = cl->slots[i]->up_number;
    me->up_number = max + 1;
  }
  akt__cl_set_status(cl, me, to, AKT_DOWN_UNKNOWN);
  akt__cl_announce(cl);
}

/* Steps of a graceful leave: leaving until that news has been gossiped
 * (or half the leave timeout), then exiting until that has been gossiped
 * too (or the timeout), then out. */
void akt__cl_leave_step(akt__cluster *cl) {
  akt__cl_member *me = cl->self;
  if (cl->phase != AKT_CLUSTER_MEMBER || !me) return;
  uint64_t now = akt__cl_now(cl);
  int spread = !akt__cl_bcast_pending(cl, me->key, me->uid);
  if (me->status == AKT_MEMBER_LEAVING) {
    /* A layer handing work over keeps the node leaving (it bounds how
     * long); the exit then gets the whole timeout from its release. */
    for (unsigned i = 0; i < cl->next; i++) {
      if (cl->ext[i].hold_leave && cl->ext[i].hold_leave(cl->ext[i].arg)) {
        cl->leave_deadline = now + cl->o.leave_timeout;
        akt__cl_timer(cl, AKT__CT_LEAVE, cl->o.gossip_interval);
        return;
      }
    }
    if (spread || now >= cl->leave_deadline - cl->o.leave_timeout / 2)
      akt__cl_self_move(cl, AKT_MEMBER_EXITING);
  } else if (me->status == AKT_MEMBER_EXITING) {
    if (spread || now >= cl->leave_deadline) {
      akt__cl_out(cl, AKT_DOWN_UNKNOWN);
      return;
    }
  }
  akt__cl_timer(cl, AKT__CT_LEAVE, cl->o.gossip_interval);
}

static int out_or_idle(void *arg) {
  akt__cluster *cl = arg;
  pthread_mutex_lock(&cl->mu);
  int done = cl->phase != AKT_CLUSTER_MEMBER || cl->stopping;
  pthread_mutex_unlock(&cl->mu);
  return done;
}

int akt_cluster_leave(akt_system *sys, akt_duration timeout) {
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return AKT_ESTATE;
  pthread_mutex_lock(&cl->mu);
  akt__cl_member *me = cl->self;
  if (cl->phase != AKT_CLUSTER_MEMBER || cl->stopping || !me) {
    pthread_mutex_unlock(&cl->mu);
    return AKT_ESTATE;
  }
  if (me->status < AKT_MEMBER_LEAVING) {
    cl->leave_deadline = akt__cl_now(cl) + cl->o.leave_timeout;
    akt__cl_self_move(cl, AKT_MEMBER_LEAVING);
    akt__cl_timer(cl, AKT__CT_LEAVE, cl->o.gossip_interval);
  }
  pthread_mutex_unlock(&cl->mu);
  if (!timeout) return 0;
  akt_backend *b = sys->backend;
  uint64_t now = b->ops->now(b);
  uint64_t deadline = timeout >= AKT_FOREVER - now ? AKT_FOREVER : now + timeout;
  return b->ops->wait(b, out_or_idle, cl, deadline);
}

/* ---- stopping ------------------------------------------------------------------------------------ */

/* Tells a few members we are going (exiting), so they remove us instead of
 * suspecting us. */
static int farewell_target(const akt__cl_member *m, const void *arg) {
  (void)arg;
  return !m->self && m->status <= AKT_MEMBER_LEAVING && m->reach == AKT_REACH_ALIVE;
}

static void farewell(akt__cluster *cl) {
  akt__cl_member *me = cl->self;
  if (cl->phase != AKT_CLUSTER_MEMBER || !me || me->status >= AKT_MEMBER_EXITING) return;
  if (me->status < AKT_MEMBER_LEAVING) akt__cl_self_move(cl, AKT_MEMBER_LEAVING);
  akt__cl_self_move(cl, AKT_MEMBER_EXITING);
  uint32_t told[AKT__CL_FAREWELL_NODES];
  uint32_t n = akt__cl_pick(cl, farewell_target, NULL, AKT__CL_FAREWELL_NODES, told);
  for (uint32_t i = 0; i < n; i++) {
    akt__cl_member *m = cl->slots[told[i]];
    akt_addr to = akt__cl_addr_of(m);
    Akt__Cluster__Packet p = AKT__CLUSTER__PACKET__INIT;
    akt__cl_send(cl, &to, m, &p, me->key);
  }
}

/* On the I/O context: closes everything. */
static void stop_now(akt__cluster *cl) {
  disarm_all(cl);
  if (cl->disc && cl->disc_busy) cl->disc->ops->cancel(cl->disc, cl->b);
  cl->disc_busy = 0;
  if (cl->disc && cl->disc->ops->stop) cl->disc->ops->stop(cl->disc, cl->b);
  if (cl->dgram) cl->b->ops->dgram_close(cl->b, cl->dgram);
  cl->dgram = NULL;
  cl->phase = AKT_CLUSTER_IDLE;
}

static void stop(akt__cluster *cl) {
  pthread_mutex_lock(&cl->mu);
  if (cl->stopping) {
    pthread_mutex_unlock(&cl->mu);
    return;
  }
  farewell(cl);
  cl->stopping = 1;
  akt__inflight_add(cl->sys);
  if (arm(cl, &cl->stop_timer, AKT__CT_STOP, 0, 0) != 0) {
    stop_now(cl);
    pthread_mutex_unlock(&cl->mu);
    akt__inflight_done(cl->sys);
    return;
  }
  pthread_mutex_unlock(&cl->mu);
}

void akt_cluster_stop(akt_system *sys) {
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return;
  /* The layers first: they stop hosting before membership goes. */
  for (unsigned i = 0; i < cl->next; i++)
    if (cl->ext[i].stop) cl->ext[i].stop(cl->ext[i].arg);
  stop(cl);
}

int akt__cl_ext_add(akt_system *sys, const akt__cl_ext *ext) {
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return AKT_ESTATE;
  pthread_mutex_lock(&cl->mu);
  int rc = cl->next < AKT__CL_MAX_EXT ? 0 : AKT_ELIMIT;
  if (!rc) cl->ext[cl->next++] = *ext;
  pthread_mutex_unlock(&cl->mu);
  return rc;
}

void akt__cluster_stop_all(akt_system *sys) { akt_cluster_stop(sys); }

void akt__cluster_free(akt_system *sys) {
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return;
  akt__topics_free(cl);
  /* After a shutdown everything is closed; after a simulated crash the
   * timers are still armed (cancel them) and the endpoint is gone (the
   * simulator freed it: do not touch it). */
  for (unsigned i = 0; i < cl->next; i++)
    if (cl->ext[i].free) cl->ext[i].free(cl->ext[i].arg);
  disarm_all(cl);
  disarm(cl, &cl->stop_timer);
  if (cl->disc) {
    if (cl->disc_busy) cl->disc->ops->cancel(cl->disc, cl->b);
    cl->disc->ops->free(cl->disc);
  }
  akt__cl_clear(cl);
  akt__cl_bq_free(cl);
  free(cl->bq);
  free(cl->slots);
  free(cl->free_slots);
  free(cl->index);
  free(cl->probe_order);
  free(cl->probe_gens);
  free(cl->tombs);
  free(cl->pkt);
  free(cl->arena);
  akt_pid_release(cl->actor);
  pthread_mutex_destroy(&cl->mu);
  free(cl);
  sys->cluster = NULL;
}

/* ---- start ----------------------------------------------------------------------------------------- */

static int allocate(akt__cluster *cl) {
  uint32_t n = cl->o.max_members;
  cl->slots = calloc(n, sizeof *cl->slots);
  cl->free_slots = calloc(n, sizeof *cl->free_slots);
  cl->probe_order = calloc(n, sizeof *cl->probe_order);
  cl->probe_gens = calloc(n, sizeof *cl->probe_gens);
  cl->tombs = calloc(AKT__CL_MAX_TOMBSTONES, sizeof *cl->tombs);
  cl->bq = calloc(AKT__CL_MAX_BROADCASTS, sizeof *cl->bq);
  cl->pkt = malloc(cl->o.packet_max + cl->o.seal.overhead);
  cl->arena = akt__cl_arena_new();
  if (!cl->slots || !cl->free_slots || !cl->probe_order || !cl->probe_gens || !cl->tombs ||
      !cl->bq || !cl->pkt || !cl->arena)
    return AKT_ENOMEM;
  return 0;
}

/* The discovery provider: the one given, or the seeds. */
static int discovery(akt__cluster *cl, const akt_cluster_options *in) {
  if (in && in->discovery) {
    cl->disc = in->discovery;
    return 0;
  }
  return akt_discovery_static_new(in ? in->seeds : NULL, in ? in->nseeds : 0, &cl->disc);
}

int akt_cluster_start(akt_system *sys, const akt_cluster_options *opts) {
  if (!sys) return AKT_EINVAL;
  akt__remote *r = akt__remote_of(sys);
  if (!r || sys->cluster) return AKT_ESTATE;
  akt__cluster *cl = calloc(1, sizeof *cl);
  if (!cl) return AKT_ENOMEM;
  cl->sys = sys;
  cl->b = sys->backend;
  pthread_mutex_init(&cl->mu, NULL);
  char why[256];
  int rc = akt__cl_options(opts, &cl->o, why, sizeof why);
  if (rc) akt__log(sys, AKT_LOG_ERROR, "cluster: %s", why);
  snprintf(cl->name, sizeof cl->name, "%s", akt_system_name(sys));
  snprintf(cl->host, sizeof cl->host, "%s", opts && opts->host ? opts->host : r->host);
  snprintf(cl->remoting, sizeof cl->remoting, "%s", akt_system_address(sys));
  if (!rc) {
    int len = akt__cl_meta_pack(opts, cl->remoting, cl->meta);
    if (len < 0) {
      akt__log(sys, AKT_LOG_ERROR, "cluster: the metadata takes more than %d bytes",
               AKT_CLUSTER_META_MAX);
      rc = AKT_EINVAL;
    } else {
      cl->meta_len = (size_t)len;
    }
  }
  if (!rc) rc = allocate(cl);
  if (!rc) rc = akt__cl_register_types(sys);
  if (!rc) {
    akt_addr a = {.port = cl->o.gossip_port};
    snprintf(a.host, sizeof a.host, "%s", cl->host);
    rc = cl->b->ops->dgram_open(cl->b, &a, akt__cl_on_datagram, cl, &cl->dgram);
    if (!rc) {
      akt_addr bound;
      rc = cl->b->ops->dgram_addr(cl->b, cl->dgram, &bound);
      cl->port = bound.port;
    }
  }
  if (!rc) rc = discovery(cl, opts);
  if (!rc) rc = akt__topics_new(cl);
  if (!rc) {
    sys->cluster = cl;
    rc = akt__cl_actor_start(cl);
    if (rc) sys->cluster = NULL;
  }
  if (rc) {
    if (cl->dgram) cl->b->ops->dgram_close(cl->b, cl->dgram);
    cl->dgram = NULL;
    if (cl->disc && !(opts && opts->discovery == cl->disc)) cl->disc->ops->free(cl->disc);
    cl->disc = NULL;
    sys->cluster = cl; /* akt__cluster_free works on the system */
    akt__cluster_free(sys);
    return rc;
  }
  cl->key = akt__cl_key(cl->host, cl->port);
  cl->o.bootstrap_expect = akt__cl_bootstrap_expect(opts, cl->host, cl->port);
  pthread_mutex_lock(&cl->mu);
  akt__cl_join_begin(cl);
  pthread_mutex_unlock(&cl->mu);
  akt__log(sys, AKT_LOG_INFO, "cluster: %s gossiping on %s:%u (%s discovery)", cl->name, cl->host,
           (unsigned)cl->port, cl->disc->ops->name);
  return 0;
}

/* ---- queries ------------------------------------------------------------------------------------------ */

akt_cluster_phase akt_cluster_get_phase(akt_system *sys) {
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return AKT_CLUSTER_IDLE;
  pthread_mutex_lock(&cl->mu);
  akt_cluster_phase p = cl->stopping ? AKT_CLUSTER_IDLE : cl->phase;
  pthread_mutex_unlock(&cl->mu);
  return p;
}

static int by_address(const void *a, const void *b) {
  const akt__cl_member *x = *(akt__cl_member *const *)a, *y = *(akt__cl_member *const *)b;
  return akt__cl_addr_cmp(x->host, x->port, y->host, y->port);
}

int akt_cluster_members(akt_system *sys, akt_member *out, size_t cap, size_t *n) {
  if (!n || (cap && !out)) return AKT_EINVAL;
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return AKT_ESTATE;
  pthread_mutex_lock(&cl->mu);
  akt__cl_member **all = malloc((cl->nmembers + 1) * sizeof *all);
  if (!all) {
    pthread_mutex_unlock(&cl->mu);
    return AKT_ENOMEM;
  }
  size_t k = 0;
  for (uint32_t i = 0; i < cl->nslots; i++)
    if (cl->slots[i]) all[k++] = cl->slots[i];
  qsort(all, k, sizeof *all, by_address);
  for (size_t i = 0; i < k && i < cap; i++) akt__cl_snapshot(cl, all[i], &out[i]);
  pthread_mutex_unlock(&cl->mu);
  free(all);
  *n = k;
  return k > cap ? AKT_ELIMIT : 0;
}

int akt_cluster_self(akt_system *sys, akt_member *out) {
  if (!out) return AKT_EINVAL;
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return AKT_ESTATE;
  pthread_mutex_lock(&cl->mu);
  int rc = cl->self ? 0 : AKT_ESTATE;
  if (cl->self) akt__cl_snapshot(cl, cl->self, out);
  pthread_mutex_unlock(&cl->mu);
  return rc;
}

int akt_cluster_leader(akt_system *sys, akt_member *out) {
  if (!out) return AKT_EINVAL;
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) return AKT_ESTATE;
  pthread_mutex_lock(&cl->mu);
  int rc = AKT_ENOENT;
  for (uint32_t i = 0; cl->has_leader && i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (m && m->key == cl->leader_key && m->uid == cl->leader_uid) {
      akt__cl_snapshot(cl, m, out);
      rc = 0;
    }
  }
  pthread_mutex_unlock(&cl->mu);
  return rc;
}

void akt_cluster_get_stats(akt_system *sys, akt_cluster_stats *out) {
  if (!out) return;
  akt__cluster *cl = akt__cluster_of(sys);
  if (!cl) {
    memset(out, 0, sizeof *out);
    return;
  }
  pthread_mutex_lock(&cl->mu);
  *out = cl->stats;
  out->awareness = cl->awareness;
  pthread_mutex_unlock(&cl->mu);
}
