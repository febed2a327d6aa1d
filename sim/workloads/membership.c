/* akt — workload "membership": cluster membership (src/cluster) under
 * faults, judged by oracles that watch every membership change.
 *
 * Every node runs a system with remoting and the cluster (gossip port
 * 7946; the first `seeds` nodes are the seeds, all of them by default).
 * The oracle hears every event of every node through the cluster's
 * listener, as it happens, and the runner's fault notifications, so it
 * knows at each moment whether the faults are within the budget the
 * membership layer promises to ride out (docs/cluster.md, "Guarantees"):
 * datagram loss up to 10%, latency well under the probe timeout,
 * duplication, reordering, clock skew and drift, pauses and clogs shorter
 * than the minimum suspicion timeout, and crashes of fewer than half of
 * the nodes. Cuts, partitions, holds, longer pauses and clogs, and losing
 * half of the nodes are outside it; their effects are excused until
 * `excuse` after they end.
 *
 * Checks:
 *   no-regression (safety)   for every observer incarnation and member
 *                            identity, the events come in strictly rising
 *                            order of (down/removed, version, status,
 *                            reachability): no state goes backwards.
 *   no-false-down (safety)   no member whose process is running and which
 *                            was not downed before is declared down while
 *                            the faults are within the budget.
 *   crash-detected (liveness) every crash is followed, within the
 *                            detection bound, by a down (or removal) of
 *                            the crashed identity on every node that stayed
 *                            a member throughout, when the faults were
 *                            within the budget meanwhile.
 *   one-view (liveness)      every running node is a member and sees exactly
 *                            the running nodes' current identities as up
 *                            and alive.
 *   partition-resolved (liveness) every partition that lasted long enough
 *                            was resolved as the downing strategy says:
 *                            the losing side's members were downed before
 *                            the heal, the winning side's never.
 *   one-cluster (liveness)   exactly one node founded a cluster.
 *
 * Parameters: seeds (count, 0 = all), downing (0 keep-majority, 1
 * static-quorum, 2 keep-oldest, 3 down-all), quorum, stable_after,
 * start_spread (each node starts its cluster after a random delay up to
 * this), discovery (1: a provider that answers a random subset of the
 * seeds, shuffled, after a random delay), bootstrap_expect, detect_bound
 * and excuse (durations; computed from the options when absent).
 * Deliberately broken variants, each caught by an oracle: refute=0,
 * versions=0, expiry=0, gossip=0, downing_off=1, eager=1 (the
 * AKT_CLUSTER_TEST_* flags).
 */
#include <stdlib.h>
#include <string.h>

#include "akt/cluster.h"
#include "sim/workloads/common.h"

#define MAX_NODES AKT_SCENARIO_MAX_NODES
#define GOSSIP_PORT 7946
#define KEY_WAYS 4         /* identities of one subject an observer is followed for */
#define MAX_CRASHES 256    /* crashes the oracle follows; more are not checked */
#define MAX_PARTITIONS 64  /* partitions the oracle follows */
#define MAX_DOWNED 4096    /* downed identities remembered */
#define BUDGET_LOSS_PPM 100000 /* 10% */

/* The last event an observer incarnation emitted about a subject identity. */
typedef struct key_slot {
  uint64_t obs_uid, subj_uid;
  uint64_t key;            /* (down/removed, version, status, reach), packed */
} key_slot;

typedef struct mnode {
  int up;                  /* its process is running */
  akt_system *sys;
  akt_backend *b;
  uint64_t uid;            /* its current cluster identity (from its own events) */
  uint64_t member_since;   /* when that identity became a member (0: not one) */
  uint64_t start_timer;    /* the delayed cluster start, 0 when none */
  size_t index;
  akt_scenario *sc;
  key_slot keys[MAX_NODES][KEY_WAYS];
} mnode;

typedef struct crash_rec {
  size_t node;
  uint64_t uid, at;
  uint64_t obs_uid[MAX_NODES];      /* each node's identity at the crash (0: none) */
  uint64_t obs_since[MAX_NODES];    /* and when it became a member */
  uint64_t down_at[MAX_NODES];      /* when each node declared it down or removed it */
  uint64_t taint_at_crash;          /* the excuse horizon when it crashed */
} crash_rec;

typedef struct part_rec {
  uint64_t start, end;              /* end 0: not healed yet */
  uint32_t group[MAX_NODES];
  uint64_t uid[MAX_NODES];          /* members' identities at the start (0: not one) */
  uint64_t up_number[MAX_NODES];
} part_rec;

typedef struct m_state {
  mnode node[MAX_NODES];
  uint64_t up_number[MAX_NODES];    /* of each node's current identity */
  /* the fault budget */
  int open_faults;                  /* cuts and partitions in force (until a heal) */
  int nheld;                        /* links held (until their release: a heal does not) */
  uint8_t held[MAX_NODES][MAX_NODES];
  int bad_link;
  uint64_t taint_until;             /* out-of-budget effects excused until then */
  uint64_t paused_since[MAX_NODES]; /* 0: not paused */
  uint64_t busy_until[MAX_NODES];   /* end of the node's last pause or clog */
  int unrested[MAX_NODES];          /* its pause began soon after its last pause or clog */
  int crashed[MAX_NODES];
  int ncrashed;
  /* the oracles' records */
  uint64_t downed[MAX_DOWNED];      /* identities declared down already */
  uint64_t downed_at[MAX_DOWNED];   /* when first */
  size_t ndowned;
  crash_rec crashes[MAX_CRASHES];
  size_t ncrashes;
  int majority_lost;                /* half of the nodes or more crashed */
  part_rec parts[MAX_PARTITIONS];
  size_t nparts;
  uint64_t founders;
  uint64_t events;
  akt__wl_violations regress, false_down;
} m_state;

/* ---- parameters ------------------------------------------------------------------------------ */

static size_t nseeds(akt_scenario *sc) {
  int64_t s = akt_scenario_param(sc, "seeds", 0);
  size_t n = akt_scenario_nodes(sc);
  return s <= 0 || (size_t)s > n ? n : (size_t)s;
}

static void options(akt_scenario *sc, akt_cluster_options *o) {
  memset(o, 0, sizeof *o);
  o->gossip_port = GOSSIP_PORT;
  o->downing = (akt_downing)akt_scenario_param(sc, "downing", AKT_DOWNING_KEEP_MAJORITY);
  o->quorum = (unsigned)akt_scenario_param(sc, "quorum", 0);
  o->stable_after = (akt_duration)akt_scenario_param(sc, "stable_after", 0);
  o->bootstrap_expect = (unsigned)akt_scenario_param(sc, "bootstrap_expect", 0);
  if (!akt_scenario_param(sc, "refute", 1)) o->test_flags |= AKT_CLUSTER_TEST_NO_REFUTE;
  if (!akt_scenario_param(sc, "versions", 1)) o->test_flags |= AKT_CLUSTER_TEST_NO_VERSIONS;
  if (!akt_scenario_param(sc, "expiry", 1)) o->test_flags |= AKT_CLUSTER_TEST_NO_EXPIRY;
  if (!akt_scenario_param(sc, "gossip", 1)) o->test_flags |= AKT_CLUSTER_TEST_NO_GOSSIP;
  if (akt_scenario_param(sc, "downing_off", 0)) o->test_flags |= AKT_CLUSTER_TEST_NO_DOWNING;
  if (akt_scenario_param(sc, "eager", 0)) o->test_flags |= AKT_CLUSTER_TEST_EAGER_FORM;
}

/* The minimum suspicion timeout for n members is suspicion_mult *
 * max(1, log10 n) probe intervals. Without libm: log10 rounded down gives
 * a budget no larger than the real timeout (pauses under it are safe),
 * rounded up a bound no smaller (for the time to wait). */
static akt_duration suspicion_min(size_t n, int up) {
  unsigned digits = 0;
  for (size_t v = n; v >= 10; v /= 10) digits++; /* floor(log10 n) */
  size_t pow = 1;
  for (unsigned i = 0; i < digits; i++) pow *= 10;
  if (up && pow < n) digits++;
  if (digits < 1) digits = 1;
  return (akt_duration)AKT_CLUSTER_DEFAULT_SUSPICION_MULT * digits *
         AKT_CLUSTER_DEFAULT_PROBE_INTERVAL;
}

static akt_duration stable_after(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "stable_after", 0);
  return v > 0 ? (akt_duration)v : AKT_CLUSTER_DEFAULT_STABLE_AFTER;
}

/* How long after an out-of-budget fault ends its effects are excused: a
 * suspicion that started during it can run for the longest suspicion
 * timeout, then the view must be stable for stable_after. */
static akt_duration excuse(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "excuse", 0);
  if (v > 0) return (akt_duration)v;
  size_t n = akt_scenario_nodes(sc);
  return suspicion_min(n, 1) * AKT_CLUSTER_DEFAULT_SUSPICION_MAX_MULT + stable_after(sc) +
         AKT_SECONDS(5);
}

/* The detection bound: the crashed member is probed within two rounds,
 * suspected within one more probe interval, declared unreachable when the
 * suspicion has been confirmed by the others' probes (one round) and has
 * lasted the minimum timeout, and downed stable_after later, after the
 * decider's own probe of it (its next probe, one interval long); plus time
 * for the down to spread. */
static akt_duration detect_bound(akt_scenario *sc) {
  int64_t v = akt_scenario_param(sc, "detect_bound", 0);
  if (v > 0) return (akt_duration)v;
  size_t n = akt_scenario_nodes(sc);
  akt_duration p = AKT_CLUSTER_DEFAULT_PROBE_INTERVAL, round = p * (n - 1);
  akt_duration confirm = suspicion_min(n, 1) > round ? suspicion_min(n, 1) : round;
  return 2 * round + p + confirm + stable_after(sc) + 2 * p + AKT_SECONDS(3);
}

/* ---- the budget ---------------------------------------------------------------------------------- */

static void taint(m_state *st, uint64_t until) {
  if (until > st->taint_until) st->taint_until = until;
}

/* Are the faults within the budget now (and have been for `excuse`)? */
static int in_budget(akt_scenario *sc, m_state *st) {
  uint64_t now = akt_scenario_now(sc);
  size_t n = akt_scenario_nodes(sc);
  if (st->open_faults || st->nheld || st->bad_link || st->majority_lost || now < st->taint_until)
    return 0;
  size_t down = (size_t)st->ncrashed;
  for (size_t i = 0; i < n; i++) {
    if (!st->paused_since[i]) continue;
    if (st->unrested[i] || now - st->paused_since[i] >= suspicion_min(n, 0)) return 0;
    down++;
  }
  return down * 2 < n;
}

static int link_in_budget(const akt_sim_link_faults *l) {
  akt_duration half = AKT_CLUSTER_DEFAULT_PROBE_TIMEOUT / 2;
  if (l->loss_ppm > BUDGET_LOSS_PPM || l->capacity) return 0;
  switch (l->kind) {
    case AKT_SIM_LATENCY_FIXED: return l->latency + l->reorder <= half;
    case AKT_SIM_LATENCY_UNIFORM: return l->latency_max + l->reorder <= half;
    default: return l->latency + 10 * l->latency_mean + l->reorder <= half;
  }
}

static void on_fault(akt_scenario *sc, const akt_scenario_fault *f) {
  m_state *st = akt_scenario_state(sc);
  uint64_t now = akt_scenario_now(sc);
  size_t n = akt_scenario_nodes(sc);
  akt_duration ex = excuse(sc);
  const char *k = f->kind;
  if (!strcmp(k, "crash")) {
    st->crashed[f->node] = 1;
    st->ncrashed++;
    if ((size_t)st->ncrashed * 2 >= n) st->majority_lost = 1;
  } else if (!strcmp(k, "restart")) {
    if (st->crashed[f->node]) st->ncrashed--;
    st->crashed[f->node] = 0;
    if (st->majority_lost && (size_t)st->ncrashed * 2 < n) {
      st->majority_lost = 0;
      taint(st, now + ex);
    }
  } else if (!strcmp(k, "pause")) {
    /* A pause right after another pause or clog of the node adds up with
     * it: only a pause that starts rested counts as a short one. */
    st->unrested[f->node] = now < st->busy_until[f->node] + suspicion_min(n, 0);
    st->paused_since[f->node] = now;
  } else if (!strcmp(k, "resume")) {
    if (st->unrested[f->node] ||
        (st->paused_since[f->node] && now - st->paused_since[f->node] >= suspicion_min(n, 0)))
      taint(st, now + ex);
    st->paused_since[f->node] = 0;
    st->busy_until[f->node] = now;
  } else if (!strcmp(k, "hold")) {
    if (f->node >= 0 && f->node2 >= 0 && !st->held[f->node][f->node2]) {
      st->held[f->node][f->node2] = 1;
      st->nheld++;
    }
  } else if (!strcmp(k, "cut") || !strcmp(k, "partition")) {
    st->open_faults++;
    if (!strcmp(k, "partition") && st->nparts < MAX_PARTITIONS) {
      part_rec *p = &st->parts[st->nparts++];
      memset(p, 0, sizeof *p);
      p->start = now;
      for (size_t i = 0; i < n; i++) {
        p->group[i] = f->groups ? f->groups[i] : (uint32_t)i; /* a ring: every node alone */
        p->uid[i] = st->node[i].member_since ? st->node[i].uid : 0;
        p->up_number[i] = st->up_number[i];
      }
    }
  } else if (!strcmp(k, "heal") || !strcmp(k, "quiet")) {
    if (st->open_faults || st->bad_link) taint(st, now + ex);
    st->open_faults = 0;
    for (size_t i = 0; i < st->nparts; i++)
      if (!st->parts[i].end) st->parts[i].end = now;
    if (!strcmp(k, "quiet")) {
      /* The quiet period releases every held link too. */
      if (st->nheld) taint(st, now + ex);
      st->nheld = 0;
      memset(st->held, 0, sizeof st->held);
      st->bad_link = 0;
      for (size_t i = 0; i < n; i++)
        if (st->paused_since[i] &&
            (st->unrested[i] || now - st->paused_since[i] >= suspicion_min(n, 0)))
          taint(st, now + ex);
    }
  } else if (!strcmp(k, "release")) {
    if (f->node >= 0 && f->node2 >= 0 && st->held[f->node][f->node2]) {
      st->held[f->node][f->node2] = 0;
      st->nheld--;
      taint(st, now + ex);
    }
  } else if (!strcmp(k, "clog")) {
    /* As a pause: short, and rested before (clogs overlap in a swizzle). */
    uint64_t end = now + f->duration;
    int ends[2] = {f->node, f->node2};
    for (int e = 0; e < 2; e++) {
      if (ends[e] < 0) continue;
      if (f->duration >= suspicion_min(n, 0) ||
          now < st->busy_until[ends[e]] + suspicion_min(n, 0))
        taint(st, end + ex);
      if (end > st->busy_until[ends[e]]) st->busy_until[ends[e]] = end;
    }
  } else if (!strcmp(k, "link")) {
    int ok = f->link && link_in_budget(f->link);
    if (!ok) st->bad_link = 1;
    else if (st->bad_link && f->node < 0) {
      st->bad_link = 0;
      taint(st, now + ex);
    }
  }
}

/* ---- the listener: every event of every node ------------------------------------------------------ */

static size_t node_of_name(const char *name) {
  return strncmp(name, "node", 4) == 0 ? (size_t)strtoul(name + 4, NULL, 10) : MAX_NODES;
}

/* The event's place in a member's history. */
static uint64_t key_of(const akt_member *m) {
  uint64_t gone = m->status >= AKT_MEMBER_DOWN ? (uint64_t)m->status : 0;
  return gone << 40 | (uint64_t)m->version << 8 | (uint64_t)m->status << 2 | (uint64_t)m->reach;
}

static key_slot *key_slot_of(mnode *obs, size_t subj, uint64_t obs_uid, uint64_t subj_uid) {
  key_slot *ways = obs->keys[subj], *victim = &ways[0];
  for (size_t w = 0; w < KEY_WAYS; w++) {
    if (ways[w].obs_uid == obs_uid && ways[w].subj_uid == subj_uid) return &ways[w];
    if (ways[w].obs_uid < victim->obs_uid ||
        (ways[w].obs_uid == victim->obs_uid && ways[w].subj_uid < victim->subj_uid))
      victim = &ways[w];
  }
  /* Identities only grow: the smallest is the one least likely to be heard of again. */
  memset(victim, 0, sizeof *victim);
  victim->obs_uid = obs_uid;
  victim->subj_uid = subj_uid;
  return victim;
}

/* When the identity was first declared down, or 0. */
static uint64_t downed_at(m_state *st, uint64_t uid) {
  for (size_t i = 0; i < st->ndowned; i++)
    if (st->downed[i] == uid) return st->downed_at[i];
  return 0;
}

static int was_downed(m_state *st, uint64_t uid) { return downed_at(st, uid) != 0; }

static void note_downed(m_state *st, uint64_t uid, uint64_t now) {
  if (was_downed(st, uid) || st->ndowned >= MAX_DOWNED) return;
  st->downed[st->ndowned] = uid;
  st->downed_at[st->ndowned++] = now ? now : 1;
}

static void listener(akt_system *sys, const akt_cluster_event *ev, void *arg) {
  (void)sys;
  mnode *obs = arg;
  akt_scenario *sc = obs->sc;
  m_state *st = akt_scenario_state(sc);
  uint64_t now = akt_scenario_now(sc);
  st->events++;
  if (ev->kind == AKT_CLUSTER_FORMED) st->founders++;
  const akt_member *m = ev->member;
  if (!m || ev->kind == AKT_CLUSTER_LEADER_CHANGED || ev->kind == AKT_CLUSTER_FORMED) return;
  size_t subj = node_of_name(m->name);
  if (subj >= akt_scenario_nodes(sc)) return;
  if (m->self) {
    if (ev->kind == AKT_CLUSTER_MEMBER_JOINED || obs->uid != m->incarnation) {
      obs->uid = m->incarnation;
      obs->member_since = 0;
    }
    if (m->status == AKT_MEMBER_UP && !obs->member_since) {
      obs->member_since = now;
      st->up_number[obs->index] = m->up_number;
    }
    if (m->status >= AKT_MEMBER_EXITING) obs->member_since = 0;
  }
  key_slot *ks = key_slot_of(obs, subj, obs->uid, m->incarnation);
  uint64_t key = key_of(m);
  if (key <= ks->key)
    akt__wl_violation(&st->regress,
                      "node%zu (incarnation %llx) saw %s of node%zu#%llx at t=%.3fs after a later "
                      "state (%s/v%u/%s is not past %s/v%u/%s)",
                      obs->index, (unsigned long long)obs->uid, akt_cluster_event_name(ev->kind),
                      subj, (unsigned long long)m->incarnation, akt__wl_s(now),
                      akt_member_status_name(m->status), m->version,
                      akt_member_reach_name(m->reach),
                      akt_member_status_name((akt_member_status)(ks->key >> 2 & 0x3f)),
                      (unsigned)(ks->key >> 8), akt_member_reach_name((akt_member_reach)(ks->key & 3)));
  ks->key = key;
  /* The crashed identity is out of this observer's view once it is down
   * or removed there, or once a newer incarnation of the node is known
   * there (which replaces it). */
  for (size_t c = 0; c < st->ncrashes; c++) {
    crash_rec *cr = &st->crashes[c];
    int gone = cr->uid == m->incarnation ? m->status >= AKT_MEMBER_DOWN
                                         : cr->node == subj && m->incarnation > cr->uid;
    if (gone && !cr->down_at[obs->index]) cr->down_at[obs->index] = now;
  }
  if (ev->kind != AKT_CLUSTER_MEMBER_DOWN) return;
  mnode *target = &st->node[subj];
  if (!was_downed(st, m->incarnation) && target->up && target->uid == m->incarnation &&
      in_budget(sc, st))
    akt__wl_violation(&st->false_down,
                      "node%zu declared node%zu#%llx down (reason %d) at t=%.3fs while it ran and "
                      "the faults were within the budget",
                      obs->index, subj, (unsigned long long)m->incarnation, (int)ev->reason,
                      akt__wl_s(now));
  note_downed(st, m->incarnation, now);
}

/* ---- discovery: a random subset of the seeds, shuffled, late ----------------------------------------- */

typedef struct shuffled {
  akt_discovery d;
  akt_scenario *sc;
  akt_backend *b;
  uint64_t timer;
  akt_discovery_fn cb;
  void *arg;
} shuffled;

static void shuffled_answer(void *arg, uint64_t cookie) {
  (void)cookie;
  shuffled *s = arg;
  s->timer = 0;
  akt_discovery_fn cb = s->cb;
  s->cb = NULL;
  size_t n = nseeds(s->sc), k = 0;
  akt_addr a[MAX_NODES];
  for (size_t i = 0; i < n; i++) {
    if (s->b->ops->random_u64(s->b) % 10 >= 7) continue; /* ~70% of the seeds */
    snprintf(a[k].host, sizeof a[k].host, "node%zu", i);
    a[k++].port = GOSSIP_PORT;
  }
  for (size_t i = k; i > 1; i--) {
    size_t j = (size_t)(s->b->ops->random_u64(s->b) % i);
    akt_addr t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
  if (cb) cb(0, a, k, s->arg);
}

static int shuffled_lookup(akt_discovery *d, akt_backend *b, akt_discovery_fn cb, void *arg) {
  shuffled *s = d->impl;
  if (s->timer) return AKT_ESTATE;
  s->b = b;
  s->cb = cb;
  s->arg = arg;
  akt_duration delay = b->ops->random_u64(b) % AKT_MILLIS(500);
  return b->ops->timer_start(b, delay, shuffled_answer, s, 0, &s->timer);
}

static void shuffled_cancel(akt_discovery *d, akt_backend *b) {
  shuffled *s = d->impl;
  if (s->timer) b->ops->timer_cancel(b, s->timer);
  s->timer = 0;
  s->cb = NULL;
}

static void shuffled_free(akt_discovery *d) { free(d->impl); }

static const akt_discovery_ops shuffled_ops = {
    .name = "shuffled", .lookup = shuffled_lookup, .cancel = shuffled_cancel, .free = shuffled_free};

/* ---- nodes ------------------------------------------------------------------------------------------- */

static int cluster_start(akt_scenario *sc, size_t i) {
  m_state *st = akt_scenario_state(sc);
  mnode *nd = &st->node[i];
  akt_cluster_options o;
  options(sc, &o);
  akt_addr seeds[MAX_NODES];
  size_t ns = nseeds(sc);
  for (size_t k = 0; k < ns; k++) {
    snprintf(seeds[k].host, sizeof seeds[k].host, "node%zu", k);
    seeds[k].port = GOSSIP_PORT;
  }
  o.seeds = seeds;
  o.nseeds = ns;
  o.listener = listener;
  o.listener_arg = nd;
  shuffled *disc = NULL;
  if (akt_scenario_param(sc, "discovery", 0)) {
    disc = calloc(1, sizeof *disc);
    if (!disc) return AKT_ENOMEM;
    disc->sc = sc;
    disc->d.ops = &shuffled_ops;
    disc->d.impl = disc;
    o.discovery = &disc->d;
    if (!o.bootstrap_expect) o.bootstrap_expect = (unsigned)(ns / 2 + 1);
  }
  int rc = akt_cluster_start(nd->sys, &o);
  if (rc && disc) free(disc);
  return rc;
}

static void delayed_start(void *arg, uint64_t cookie) {
  (void)cookie;
  mnode *nd = arg;
  nd->start_timer = 0;
  if (nd->up && nd->sys) cluster_start(nd->sc, nd->index);
}

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  m_state *st = akt_scenario_state(sc);
  mnode *nd = &st->node[i];
  nd->sc = sc;
  nd->index = i;
  nd->b = b;
  int rc = akt__wl_system(sc, i, &nd->sys);
  if (rc) return rc;
  nd->up = 1;
  nd->member_since = 0;
  akt_duration spread = (akt_duration)akt_scenario_param(sc, "start_spread", 0);
  if (spread && akt_scenario_now(sc) < spread)
    return b->ops->timer_start(b, b->ops->random_u64(b) % spread, delayed_start, nd, 0,
                               &nd->start_timer);
  return cluster_start(sc, i);
}

static void node_down(akt_scenario *sc, size_t i) {
  m_state *st = akt_scenario_state(sc);
  mnode *nd = &st->node[i];
  if (nd->start_timer) nd->b->ops->timer_cancel(nd->b, nd->start_timer);
  nd->start_timer = 0;
  if (st->ncrashes < MAX_CRASHES && nd->uid) {
    crash_rec *c = &st->crashes[st->ncrashes++];
    c->node = i;
    c->uid = nd->uid;
    c->at = akt_scenario_now(sc);
    c->taint_at_crash = st->taint_until;
    memset(c->down_at, 0, sizeof c->down_at);
    for (size_t j = 0; j < akt_scenario_nodes(sc); j++) {
      c->obs_uid[j] = st->node[j].up && st->node[j].member_since ? st->node[j].uid : 0;
      c->obs_since[j] = st->node[j].member_since;
    }
  }
  nd->up = 0;
  nd->sys = NULL;
  nd->member_since = 0;
}

/* ---- checks -------------------------------------------------------------------------------------------- */

static int check_regression(akt_scenario *sc, char *why) {
  m_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->regress, "state regressions", why);
}

static int check_false_down(akt_scenario *sc, char *why) {
  m_state *st = akt_scenario_state(sc);
  return akt__wl_violations_why(&st->false_down, "false downs", why);
}

/* Was the window [from, to] free of out-of-budget faults (crashes of a
 * minority aside)? Judged from the excuse horizon and open faults, which
 * only move forward. */
static int window_clean(m_state *st, const crash_rec *c) {
  return c->taint_at_crash <= c->at && st->taint_until <= c->at && !st->open_faults &&
         !st->nheld && !st->bad_link && !st->majority_lost;
}

static int check_crash_detected(akt_scenario *sc, char *why) {
  m_state *st = akt_scenario_state(sc);
  uint64_t now = akt_scenario_now(sc), bound = detect_bound(sc);
  for (size_t k = 0; k < st->ncrashes; k++) {
    const crash_rec *c = &st->crashes[k];
    uint64_t deadline = c->at + bound;
    if (deadline > now || !window_clean(st, c)) continue;
    for (size_t j = 0; j < akt_scenario_nodes(sc); j++) {
      mnode *obs = &st->node[j];
      /* Observers that stayed the same member throughout. */
      if (j == c->node || !c->obs_uid[j] || obs->uid != c->obs_uid[j] || !obs->member_since ||
          obs->member_since != c->obs_since[j])
        continue;
      if (c->down_at[j] && c->down_at[j] <= deadline) continue;
      snprintf(why, AKT_SCENARIO_WHY_MAX,
               "node%zu#%llx crashed at t=%.3fs but node%zu had not declared it down by "
               "t=%.3fs (the detection bound, %.1fs)%s",
               c->node, (unsigned long long)c->uid, akt__wl_s(c->at), j, akt__wl_s(deadline),
               akt__wl_s(bound), c->down_at[j] ? " (it did later)" : "");
      return 1;
    }
  }
  return 0;
}

static int check_one_view(akt_scenario *sc, char *why) {
  m_state *st = akt_scenario_state(sc);
  size_t n = akt_scenario_nodes(sc);
  akt_member *ms = calloc(n * 2 + 8, sizeof *ms);
  if (!ms) return 0;
  int bad = 0;
  for (size_t i = 0; i < n && !bad; i++) {
    mnode *nd = &st->node[i];
    if (!nd->up) continue;
    if (akt_cluster_get_phase(nd->sys) != AKT_CLUSTER_MEMBER) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "node%zu is not a member (phase %d)", i,
               (int)akt_cluster_get_phase(nd->sys));
      bad = 1;
      break;
    }
    size_t count = 0;
    akt_cluster_members(nd->sys, ms, n * 2 + 8, &count);
    for (size_t j = 0; j < n && !bad; j++) {
      if (!st->node[j].up) continue;
      int seen = 0;
      for (size_t k = 0; k < count; k++)
        if (ms[k].incarnation == st->node[j].uid && node_of_name(ms[k].name) == j)
          seen = ms[k].status == AKT_MEMBER_UP && ms[k].reach == AKT_REACH_ALIVE;
      if (!seen) {
        snprintf(why, AKT_SCENARIO_WHY_MAX, "node%zu does not see node%zu#%llx as up and alive", i,
                 j, (unsigned long long)st->node[j].uid);
        bad = 1;
      }
    }
    for (size_t k = 0; k < count && !bad; k++) {
      size_t j = node_of_name(ms[k].name);
      if (ms[k].status > AKT_MEMBER_LEAVING) continue;
      if (j >= n || !st->node[j].up || st->node[j].uid != ms[k].incarnation) {
        snprintf(why, AKT_SCENARIO_WHY_MAX, "node%zu sees %s#%llx as %s, which is not running", i,
                 ms[k].name, (unsigned long long)ms[k].incarnation,
                 akt_member_status_name(ms[k].status));
        bad = 1;
      }
    }
  }
  free(ms);
  return bad;
}

/* The side a partition's downing strategy keeps: 0 or 1, or -1 (none,
 * down-all), or -2 (not judged: a ring, or nothing to decide). */
static int expected_winner(akt_scenario *sc, const part_rec *p) {
  size_t n = akt_scenario_nodes(sc), cnt[2] = {0, 0};
  int lowest = -1, oldest = -1;
  char best[16] = "", name[16];
  for (size_t i = 0; i < n; i++) {
    if (!p->uid[i]) continue;
    if (p->group[i] > 1) return -2;
    cnt[p->group[i]]++;
    snprintf(name, sizeof name, "node%zu", i); /* addresses compare as the cluster does */
    if (lowest < 0 || strcmp(name, best) < 0) {
      lowest = (int)i;
      memcpy(best, name, sizeof best);
    }
    if (oldest < 0 || p->up_number[i] < p->up_number[oldest]) oldest = (int)i;
  }
  if (!cnt[0] || !cnt[1]) return -2;
  switch (akt_scenario_param(sc, "downing", AKT_DOWNING_KEEP_MAJORITY)) {
    case AKT_DOWNING_KEEP_MAJORITY:
      if (cnt[0] != cnt[1]) return cnt[0] > cnt[1] ? 0 : 1;
      return (int)p->group[lowest];
    case AKT_DOWNING_STATIC_QUORUM: {
      size_t q = (size_t)akt_scenario_param(sc, "quorum", 1);
      int w0 = cnt[0] >= q, w1 = cnt[1] >= q;
      if (w0 && w1) return -2;
      return w0 ? 0 : w1 ? 1 : -1;
    }
    case AKT_DOWNING_KEEP_OLDEST: {
      int g = (int)p->group[oldest];
      if (cnt[g] == 1 && cnt[1 - g] >= 1) return 1 - g;
      return g;
    }
    default: return -1;
  }
}

static int check_partition(akt_scenario *sc, char *why) {
  m_state *st = akt_scenario_state(sc);
  size_t n = akt_scenario_nodes(sc);
  akt_duration needed = detect_bound(sc), ex = excuse(sc);
  for (size_t k = 0; k < st->nparts; k++) {
    const part_rec *p = &st->parts[k];
    if (!p->end || p->end - p->start < needed) continue;
    int winner = expected_winner(sc, p);
    if (winner == -2) continue;
    /* Downs are this partition's doing until its effects settle, or the
     * next partition begins. */
    uint64_t until = p->end + ex;
    if (k + 1 < st->nparts && st->parts[k + 1].start < until) until = st->parts[k + 1].start;
    for (size_t i = 0; i < n; i++) {
      if (!p->uid[i]) continue;
      int loses = winner < 0 || (int)p->group[i] != winner;
      uint64_t at = downed_at(st, p->uid[i]);
      int downed = at >= p->start && at <= until;
      if (loses && !downed) {
        snprintf(why, AKT_SCENARIO_WHY_MAX,
                 "the partition from t=%.3fs to t=%.3fs should have downed node%zu#%llx (side %u "
                 "lost) but nothing declared it down",
                 akt__wl_s(p->start), akt__wl_s(p->end), i, (unsigned long long)p->uid[i],
                 p->group[i]);
        return 1;
      }
      if (!loses && downed) {
        snprintf(why, AKT_SCENARIO_WHY_MAX,
                 "the partition from t=%.3fs to t=%.3fs downed node%zu#%llx, on the side that "
                 "should have stayed (side %u)",
                 akt__wl_s(p->start), akt__wl_s(p->end), i, (unsigned long long)p->uid[i],
                 p->group[i]);
        return 1;
      }
    }
  }
  return 0;
}

static int check_one_cluster(akt_scenario *sc, char *why) {
  m_state *st = akt_scenario_state(sc);
  if (st->founders == 1) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX, "%llu nodes founded a cluster (one should have)",
           (unsigned long long)st->founders);
  return 1;
}

static const akt_workload_check checks[] = {
    {"no-regression", AKT_CHECK_SAFETY, check_regression},
    {"no-false-down", AKT_CHECK_SAFETY, check_false_down},
    {"crash-detected", AKT_CHECK_LIVENESS, check_crash_detected},
    {"partition-resolved", AKT_CHECK_LIVENESS, check_partition},
    {"one-cluster", AKT_CHECK_LIVENESS, check_one_cluster},
    {"one-view", AKT_CHECK_LIVENESS, check_one_view},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"seeds", "how many nodes (node0 up) are seeds; 0: all (default 0)"},
    {"downing", "0 keep-majority, 1 static-quorum, 2 keep-oldest, 3 down-all (default 0)"},
    {"quorum", "static-quorum's quorum"},
    {"stable_after", "the downing strategy's stable period (default 500ms)"},
    {"bootstrap_expect", "nodes that must answer before one founds (default: a majority of the seeds)"},
    {"start_spread", "each node starts its cluster after a random delay up to this (default 0)"},
    {"discovery", "1: discovery answers a random ~70% of the seeds, shuffled, after up to 0.5 s "
                  "(default 0: the static seeds)"},
    {"detect_bound", "the crash-detected bound (default: computed from the options)"},
    {"excuse", "how long after an out-of-budget fault its effects are excused (default: "
               "computed)"},
    {"refute", "0: BROKEN, suspected members do not refute (default 1)"},
    {"versions", "0: BROKEN, stale updates are applied (default 1)"},
    {"expiry", "0: BROKEN, suspicions never time out (default 1)"},
    {"gossip", "0: BROKEN, no dissemination but the syncs (default 1)"},
    {"downing_off", "1: BROKEN, the downing strategy never decides (default 0)"},
    {"eager", "1: BROKEN, nodes found a cluster without asking (default 0)"},
    {NULL, NULL},
};

const akt_workload akt__wl_membership = {
    .name = "membership",
    .summary = "cluster membership (SWIM, Lifeguard, downing) under faults: no state regression, "
               "no false down within the fault budget, crashes detected, one view, partitions "
               "resolved, one cluster",
    .state_size = sizeof(m_state),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .fault = on_fault,
    .params = params,
};
