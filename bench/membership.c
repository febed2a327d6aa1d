/* akt-bench — the membership rows on the simulator (issue 15,
 * "Performance"): how fast a crash is detected, how fast a join reaches
 * 1000 members, the bytes a member sends, and how fast the simulator runs
 * a 100-node cluster.
 *
 * Every row drives a world of its own: N nodes, each a system with
 * remoting and the cluster at the defaults (zeroed akt_cluster_options:
 * what a user gets), the links uniform 1-5 ms as in the membership
 * scenarios, and measures only through the membership API — the
 * listener (its events, with their virtual times), akt_cluster_members
 * (the bytes sent to each member) — and the simulator's own crash. Nothing
 * reaches into src/cluster.
 *
 * The simulator rows are deterministic (one history per seed), so
 * akt-bench runs them once; membership-sim-speed measures wall-clock time
 * and is repeated like any real-time row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "akt/cluster.h"
#include "akt/remote.h"
#include "akt/sim.h"
#include "bench.h"

#define MB_GOSSIP_PORT 7946
#define MB_REMOTING_PORT 2552
#define MB_COOKIE "akt-bench-membership-cookie"
#define MB_MAX_NODES AKT_SIM_MAX_NODES
#define MB_SEEDS_LARGE 5      /* seeds of a cluster past MB_ALL_SEEDS nodes */
#define MB_ALL_SEEDS 16       /* up to this many nodes every node is a seed */
#define MB_FORM_DEADLINE AKT_SECONDS(600)   /* bounds a cluster that never forms */
#define MB_DETECT_DEADLINE AKT_SECONDS(120) /* bounds a crash never detected */
#define MB_SETTLE AKT_SECONDS(5)            /* after forming, before the measured part */

#define DETECT_NODES 10
#define DETECT_MAX_SEEDS 10000 /* --membership-seeds at most */
#define CONVERGE_NODES 1000
#define SPEED_NODES 100
#define SPEED_SECONDS 60
#define BYTES_SECONDS 600 /* whole push-pull intervals at 10 (30 s) and 100 members (300 s) */

typedef struct mb mb;

/* What one node's listener saw. */
typedef struct mb_node {
  mb *m;
  unsigned i;
  char name[16];
  akt_backend *b;
  akt_system *sys; /* NULL while crashed */
  unsigned ups;    /* member-up events about distinct members (itself included) */
  uint64_t known_at, unreach_at, down_at; /* of the watched member (0: not yet) */
} mb_node;

struct mb {
  akt_sim_world *w;
  unsigned n;      /* nodes created */
  unsigned target; /* members the formed cluster has */
  mb_node *node;
  akt_addr seeds[MB_SEEDS_LARGE > MB_ALL_SEEDS ? MB_SEEDS_LARGE : MB_ALL_SEEDS];
  unsigned nseeds;
  const char *watch; /* the member whose news is timed, or NULL */
  uint64_t watch_inc;
};

static void mb_listener(akt_system *sys, const akt_cluster_event *ev, void *arg) {
  (void)sys;
  mb_node *nd = arg;
  mb *m = nd->m;
  const akt_member *mem = ev->member;
  if (!mem) return;
  uint64_t now = akt_sim_now(m->w);
  if (ev->kind == AKT_CLUSTER_MEMBER_UP) nd->ups++;
  if (!m->watch || strcmp(mem->name, m->watch)) return;
  if (m->watch_inc && mem->incarnation != m->watch_inc) return;
  if (!nd->known_at) nd->known_at = now;
  if (ev->kind == AKT_CLUSTER_MEMBER_UNREACHABLE && !nd->unreach_at) nd->unreach_at = now;
  if ((ev->kind == AKT_CLUSTER_MEMBER_DOWN || ev->kind == AKT_CLUSTER_MEMBER_REMOVED) &&
      !nd->down_at)
    nd->down_at = now;
}

/* Node i's system with remoting and the cluster at its defaults. */
static int mb_start(mb *m, unsigned i) {
  mb_node *nd = &m->node[i];
  akt_system_options so = {.host = nd->name, .port = MB_REMOTING_PORT, .log_level = AKT_LOG_ERROR};
  int rc = akt_system_new(nd->name, nd->b, &so, &nd->sys);
  if (rc) return rc;
  akt_remote_options ro = {.port = MB_REMOTING_PORT, .security.cookie = MB_COOKIE};
  rc = akt_remote_start(nd->sys, &ro);
  akt_cluster_options co = {.gossip_port = MB_GOSSIP_PORT,
                            .seeds = m->seeds,
                            .nseeds = m->nseeds,
                            .listener = mb_listener,
                            .listener_arg = nd};
  if (!rc) rc = akt_cluster_start(nd->sys, &co);
  return rc;
}

static void mb_hook_stop(akt_backend *b, void *arg) {
  (void)b;
  mb_node *nd = arg;
  akt_system_drop(nd->sys);
  nd->sys = NULL;
}

static void mb_free(mb *m) {
  for (unsigned i = 0; i < m->n; i++)
    if (m->node[i].sys) akt_system_drop(m->node[i].sys);
  if (m->w) akt_sim_world_free(m->w);
  free(m->node);
}

/* A world of `n` nodes (none started), seeded with `seed`; `target` of
 * them form the cluster, the rest may join later. */
static int mb_init(mb *m, unsigned n, unsigned target, uint64_t seed) {
  memset(m, 0, sizeof *m);
  if (n > MB_MAX_NODES || target > n) return AKT_EINVAL;
  akt_sim_options so = {.seed = seed};
  int rc = akt_sim_world_new(&so, &m->w);
  if (rc) return rc;
  m->node = calloc(n, sizeof *m->node);
  if (!m->node) return AKT_ENOMEM;
  m->target = target;
  /* The membership scenarios' LAN: 1-5 ms each way. */
  akt_sim_link_faults lan = {.kind = AKT_SIM_LATENCY_UNIFORM,
                             .latency = AKT_MILLIS(1),
                             .latency_max = AKT_MILLIS(5)};
  rc = akt_sim_link_set_all(m->w, &lan);
  m->nseeds = target <= MB_ALL_SEEDS ? target : MB_SEEDS_LARGE;
  for (unsigned i = 0; i < n && rc == 0; i++, m->n++) {
    mb_node *nd = &m->node[i];
    nd->m = m;
    nd->i = i;
    snprintf(nd->name, sizeof nd->name, "node%u", i);
    rc = akt_sim_node_new(m->w, nd->name, &nd->b);
    akt_sim_node_hooks h = {.stop = mb_hook_stop, .arg = nd};
    if (!rc) rc = akt_sim_node_set_hooks(nd->b, &h);
    if (i < m->nseeds) {
      snprintf(m->seeds[i].host, sizeof m->seeds[i].host, "%s", nd->name);
      m->seeds[i].port = MB_GOSSIP_PORT;
    }
  }
  return rc;
}

/* Has every running node of the cluster seen all `target` members up? */
static int mb_formed(void *arg) {
  mb *m = arg;
  for (unsigned i = 0; i < m->target; i++)
    if (m->node[i].sys && m->node[i].ups < m->target) return 0;
  return 1;
}

static int mb_seeds_formed(void *arg) {
  mb *m = arg;
  for (unsigned i = 0; i < m->nseeds; i++)
    if (m->node[i].ups < m->nseeds) return 0;
  return 1;
}

/* Starts the first `target` nodes and runs until each has seen them all
 * up, then MB_SETTLE more. Past MB_ALL_SEEDS nodes, the seeds start first
 * and form the cluster, and the others join it — as a large cluster is
 * rolled out: when hundreds of nodes all ask a few seeds at once, each
 * seed's table of the non-members it heard from (AKT__CL_MAX_HEARD, 256)
 * fills before the seeds hear from each other, and nobody founds. */
static int mb_form(mb *m) {
  int rc = 0;
  for (unsigned i = 0; i < m->nseeds && rc == 0; i++) rc = mb_start(m, i);
  if (!rc) rc = akt_sim_run_until(m->w, mb_seeds_formed, m, akt_sim_now(m->w) + MB_FORM_DEADLINE);
  for (unsigned i = m->nseeds; i < m->target && rc == 0; i++) rc = mb_start(m, i);
  if (!rc) rc = akt_sim_run_until(m->w, mb_formed, m, akt_sim_now(m->w) + MB_FORM_DEADLINE);
  if (!rc) rc = akt_sim_run_for(m->w, MB_SETTLE);
  if (rc) {
    unsigned least = m->target, short_of = 0, members = 0;
    uint64_t heard_full = 0;
    for (unsigned i = 0; i < m->target; i++) {
      if (!m->node[i].sys) continue;
      akt_cluster_stats st;
      akt_cluster_get_stats(m->node[i].sys, &st);
      heard_full += st.heard_full;
      if (m->node[i].ups < least) least = m->node[i].ups;
      short_of += m->node[i].ups < m->target;
      members += akt_cluster_get_phase(m->node[i].sys) == AKT_CLUSTER_MEMBER;
    }
    fprintf(stderr,
            "akt-bench: a %u-member cluster did not form within %.0f s: %s (%u members; %u "
            "nodes saw fewer up, the fewest %u; heard_full %llu)\n",
            m->target, (double)MB_FORM_DEADLINE / 1e9, akt_strerror(rc), members, short_of, least,
            (unsigned long long)heard_full);
  }
  return rc;
}

/* Watches member `name` (its identity from node `from`'s view when it is a
 * member there; 0: any incarnation). */
static void mb_watch(mb *m, unsigned i) {
  m->watch = m->node[i].name;
  akt_member self;
  m->watch_inc = m->node[i].sys && akt_cluster_self(m->node[i].sys, &self) == 0 ? self.incarnation : 0;
}

static int mb_all_down(void *arg) {
  mb *m = arg;
  for (unsigned i = 0; i < m->n; i++)
    if (m->node[i].sys && !m->node[i].down_at) return 0;
  return 1;
}

static int mb_all_know(void *arg) {
  mb *m = arg;
  for (unsigned i = 0; i < m->n; i++)
    if (m->node[i].sys && !m->node[i].known_at) return 0;
  return 1;
}

/* ---- membership-detect, membership-detect-p99 --------------------------------------------------- */

/* One seed: a 10-node cluster forms, node (seed mod 10) crashes; the
 * virtual ns until every other member declared it down (INFINITY: not
 * within MB_DETECT_DEADLINE), and until every one saw it unreachable or
 * down (the moment memberlist would call it dead, for docs/performance.md). */
static int detect_one(uint64_t seed, double *down_ns, double *unreach_ns) {
  mb m;
  int rc = mb_init(&m, DETECT_NODES, DETECT_NODES, seed);
  if (!rc) rc = mb_form(&m);
  unsigned victim = (unsigned)(seed % DETECT_NODES);
  if (!rc) {
    mb_watch(&m, victim);
    rc = akt_sim_crash(m.w, m.node[victim].b);
  }
  uint64_t at = akt_sim_now(m.w);
  if (!rc) {
    int r = akt_sim_run_until(m.w, mb_all_down, &m, at + MB_DETECT_DEADLINE);
    if (r && r != AKT_ETIMEDOUT) rc = r;
  }
  if (!rc) {
    uint64_t last = 0, last_unreach = 0;
    int all = 1, all_unreach = 1;
    for (unsigned i = 0; i < m.n; i++) {
      mb_node *nd = &m.node[i];
      if (!nd->sys) continue;
      /* A member that heard of the down before its own suspicion ran out
       * never saw it unreachable: its down counts then. */
      uint64_t unreach = nd->unreach_at ? nd->unreach_at : nd->down_at;
      all &= nd->down_at != 0;
      all_unreach &= unreach != 0;
      if (nd->down_at > last) last = nd->down_at;
      if (unreach > last_unreach) last_unreach = unreach;
    }
    *down_ns = all ? (double)(last - at) : INFINITY;
    *unreach_ns = all_unreach ? (double)(last_unreach - at) : INFINITY;
  }
  mb_free(&m);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of sorted v[0..n). */
static double quantile(const double *v, size_t n, double q) {
  size_t k = (size_t)ceil(q * (double)n);
  return v[k ? k - 1 : 0];
}

/* Seeds 1..p->membership_seeds; writes the q-quantile of the detection
 * time in ms (and says on stderr what the distribution looked like). */
static int detect_quantile(const bench_params *p, double q, double *value) {
  size_t n = (size_t)p->membership_seeds;
  if (n < 1 || n > DETECT_MAX_SEEDS) return AKT_EINVAL;
  double down[DETECT_MAX_SEEDS], unreach[DETECT_MAX_SEEDS];
  size_t missed = 0;
  for (size_t s = 0; s < n; s++) {
    int rc = detect_one(s + 1, &down[s], &unreach[s]);
    if (rc) return rc;
    missed += isinf(down[s]);
  }
  qsort(down, n, sizeof down[0], cmp_double);
  qsort(unreach, n, sizeof unreach[0], cmp_double);
  fprintf(stderr,
          "akt-bench: membership-detect, %zu seeds: down on all at median %.3f s, p99 %.3f s, "
          "max %.3f s (%zu not within %.0f s); unreachable on all at median %.3f s, p99 %.3f s\n",
          n, quantile(down, n, 0.5) / 1e9, quantile(down, n, 0.99) / 1e9, down[n - 1] / 1e9,
          missed, (double)MB_DETECT_DEADLINE / 1e9, quantile(unreach, n, 0.5) / 1e9,
          quantile(unreach, n, 0.99) / 1e9);
  *value = quantile(down, n, q) / 1e6;
  return 0;
}

int wl_membership_detect(const bench_params *p, double *value) {
  return detect_quantile(p, 0.5, value);
}

int wl_membership_detect_p99(const bench_params *p, double *value) {
  return detect_quantile(p, 0.99, value);
}

/* ---- membership-converge-1000 ------------------------------------------------------------------- */

/* A 1000-member cluster forms; node 1000 joins (through the seeds, as any
 * node does). The virtual ms from the first member's news of it to the
 * last's: the dissemination of one join. */
int wl_membership_converge(const bench_params *p, double *value) {
  (void)p;
  mb m;
  int rc = mb_init(&m, CONVERGE_NODES + 1, CONVERGE_NODES, 1);
  if (!rc) rc = mb_form(&m);
  uint64_t started = akt_sim_now(m.w);
  if (!rc) {
    mb_watch(&m, CONVERGE_NODES); /* any incarnation: it has none yet */
    rc = mb_start(&m, CONVERGE_NODES);
  }
  if (!rc) rc = akt_sim_run_until(m.w, mb_all_know, &m, started + MB_DETECT_DEADLINE);
  if (!rc) {
    uint64_t first = UINT64_MAX, last = 0;
    for (unsigned i = 0; i < CONVERGE_NODES; i++) {
      uint64_t t = m.node[i].known_at;
      if (t < first) first = t;
      if (t > last) last = t;
    }
    fprintf(stderr,
            "akt-bench: membership-converge-1000: the join started at %.3f s, first known at "
            "%.3f s, known to all %u at %.3f s\n",
            (double)started / 1e9, (double)first / 1e9, CONVERGE_NODES, (double)last / 1e9);
    *value = (double)(last - first) / 1e6;
  }
  mb_free(&m);
  return rc;
}

/* The goal's yardstick: memberlist's dissemination of one broadcast at
 * its LAN defaults (GossipInterval 200 ms, GossipNodes 3, RetransmitMult
 * 4), as the mean-field model of its gossip loop (state.go gossip(): every
 * GossipInterval a member sends its queued broadcasts to GossipNodes
 * random members; each send uses one of a broadcast's RetransmitMult *
 * ceil(log10(n + 1)) transmits, util.go retransmitLimit). With x_t
 * members informed after tick t, of which a_t still forward (those
 * informed in the last L = ceil(limit / k) ticks), an uninformed member
 * escapes all a_t * k sends with probability (1 - k / (n - 1))^a_t:
 *   x_{t+1} = x_t + (n - x_t) * (1 - (1 - k / (n - 1))^a_t)
 * The spread time is GossipInterval times the first t at which fewer than
 * half a member is left uninformed (n - x_t < 0.5). Piggybacking on probes,
 * which only adds sends, is left out. docs/performance.md gives the value. */
#define ML_GOSSIP_INTERVAL_MS 200.0
#define ML_GOSSIP_NODES 3
#define ML_RETRANSMIT_MULT 4
#define ML_MAX_TICKS 1000

double bench_memberlist_spread_ms(unsigned n) {
  double k = ML_GOSSIP_NODES, x[ML_MAX_TICKS + 1];
  int limit = ML_RETRANSMIT_MULT * (int)ceil(log10((double)n + 1));
  int forward_ticks = (limit + ML_GOSSIP_NODES - 1) / ML_GOSSIP_NODES;
  x[0] = 1;
  int t = 0;
  while (n - x[t] >= 0.5 && t < ML_MAX_TICKS) {
    double active = x[t] - (t >= forward_ticks ? x[t - forward_ticks] : 0);
    x[t + 1] = x[t] + (n - x[t]) * (1 - pow(1 - k / (n - 1), active));
    t++;
  }
  return t * ML_GOSSIP_INTERVAL_MS;
}

/* ---- membership-bytes-10, membership-bytes-100 --------------------------------------------------- */

/* What the members have sent, summed over them. */
typedef struct mb_sent {
  uint64_t total;     /* to the others, datagrams and syncs (akt_member.bytes_sent) */
  uint64_t datagrams; /* gossip datagrams alone (akt_cluster_stats.bytes_sent) */
  uint64_t syncs;     /* push-pull and join syncs made */
} mb_sent;

static int bytes_sent(mb *m, mb_sent *out) {
  size_t cap = m->n + 8;
  akt_member *ms = calloc(cap, sizeof *ms);
  if (!ms) return AKT_ENOMEM;
  memset(out, 0, sizeof *out);
  int rc = 0;
  for (unsigned i = 0; i < m->n && rc == 0; i++) {
    size_t k = 0;
    rc = akt_cluster_members(m->node[i].sys, ms, cap, &k);
    for (size_t j = 0; j < k && rc == 0; j++) out->total += ms[j].bytes_sent;
    akt_cluster_stats st;
    akt_cluster_get_stats(m->node[i].sys, &st);
    out->datagrams += st.bytes_sent;
    out->syncs += st.syncs;
  }
  free(ms);
  return rc;
}

/* A formed cluster of n members left alone for BYTES_SECONDS: bytes per
 * member per virtual second. */
static int steady_bytes(unsigned n, double *value) {
  mb m;
  mb_sent b0, b1;
  int rc = mb_init(&m, n, n, 1);
  if (!rc) rc = mb_form(&m);
  if (!rc) rc = bytes_sent(&m, &b0);
  if (!rc) rc = akt_sim_run_for(m.w, AKT_SECONDS(BYTES_SECONDS));
  if (!rc) rc = bytes_sent(&m, &b1);
  if (!rc) {
    double per = (double)n * BYTES_SECONDS;
    *value = (double)(b1.total - b0.total) / per;
    fprintf(stderr,
            "akt-bench: membership-bytes-%u: %.1f bytes per member per second: %.1f in "
            "datagrams, %.1f in syncs (%.3f syncs made per member per second)\n",
            n, *value, (double)(b1.datagrams - b0.datagrams) / per,
            (double)(b1.total - b0.total - (b1.datagrams - b0.datagrams)) / per,
            (double)(b1.syncs - b0.syncs) / per);
  }
  mb_free(&m);
  return rc;
}

int wl_membership_bytes_10(const bench_params *p, double *value) {
  (void)p;
  return steady_bytes(10, value);
}

int wl_membership_bytes_100(const bench_params *p, double *value) {
  (void)p;
  return steady_bytes(100, value);
}

/* ---- membership-sim-speed ----------------------------------------------------------------------- */

/* A formed 100-member cluster run for SPEED_SECONDS of virtual time:
 * simulated seconds per wall-clock second (forming it is not timed). */
int wl_membership_sim_speed(const bench_params *p, double *value) {
  (void)p;
  mb m;
  int rc = mb_init(&m, SPEED_NODES, SPEED_NODES, 1);
  if (!rc) rc = mb_form(&m);
  uint64_t t0 = bench_now(), steps0 = akt_sim_steps(m.w);
  clock_t c0 = clock();
  if (!rc) rc = akt_sim_run_for(m.w, AKT_SECONDS(SPEED_SECONDS));
  clock_t c1 = clock();
  uint64_t t1 = bench_now();
  if (!rc) {
    *value = (double)SPEED_SECONDS / ((double)(t1 - t0) / 1e9);
    /* On a shared machine the wall clock counts others' work too. */
    double cpu = (double)(c1 - c0) / CLOCKS_PER_SEC;
    fprintf(stderr,
            "akt-bench: membership-sim-speed: %.1f simulated s per wall-clock s, %.1f per CPU s "
            "(%.0f steps per simulated s)\n",
            *value, cpu > 0 ? SPEED_SECONDS / cpu : 0,
            (double)(akt_sim_steps(m.w) - steps0) / SPEED_SECONDS);
  }
  mb_free(&m);
  return rc;
}
