/* Fault injection in the simulator: link faults (partitions, loss,
 * duplication, reorder, latency distributions, capacity, clogs, holds) on
 * raw streams and datagrams through the backend operations, and node faults
 * (crash, restart, pause, clocks). Every scenario runs twice and must give
 * the same digest. */
#include <stdio.h>
#include <unistd.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "akt/sim.h"
#include "sim/net.h"

#define LAT AKT__SIM_DEFAULT_LATENCY
#define MAXN 8

/* Runs a scenario (a function returning its world's digest) twice: the
 * digests must match. */
#define TWICE(fn)                    \
  do {                               \
    uint64_t d1_ = fn(), d2_ = fn(); \
    assert_true(d1_ == d2_);         \
  } while (0)

/* A test that is one scenario run twice. */
#define SCENARIO_TEST(name, scenario) \
  static void name(void **state) {    \
    (void)state;                      \
    TWICE(scenario);                  \
  }

static akt_addr addr_of(const char *host, uint16_t port) {
  akt_addr a = {.port = port};
  snprintf(a.host, sizeof a.host, "%s", host);
  return a;
}

static akt_addr node_addr(uint32_t i, uint16_t port) {
  char host[8];
  snprintf(host, sizeof host, "n%u", (unsigned)i);
  return addr_of(host, port);
}

/* A world of nodes n0..n(count-1). */
typedef struct fx {
  akt_sim_world *w;
  akt_backend *n[MAXN];
  uint32_t count;
} fx;

static fx fx_new(uint64_t seed, uint32_t count) {
  fx f = {.count = count};
  akt_sim_options o = {.seed = seed};
  assert_int_equal(akt_sim_world_new(&o, &f.w), 0);
  for (uint32_t i = 0; i < count; i++) {
    char name[8];
    snprintf(name, sizeof name, "n%u", (unsigned)i);
    assert_int_equal(akt_sim_node_new(f.w, name, &f.n[i]), 0);
  }
  return f;
}

static uint64_t fx_free(fx *f) {
  uint64_t d = akt_sim_digest(f->w);
  akt_sim_world_free(f->w);
  return d;
}

static akt__sim_link *link_of(fx *f, uint32_t a, uint32_t b) {
  return akt__sim_link_between(f->n[a], f->n[b]);
}

/* ---- datagram receivers ---------------------------------------------------------- */

typedef struct rx {
  akt_sim_world *w;
  akt_backend *b; /* its node */
  akt_dgram *d;
  size_t n;
  int from[MAXN];      /* datagrams per sender node */
  uint32_t seq[16384]; /* first 4 bytes of each datagram, in arrival order */
  uint64_t at[16384];
} rx;

static void rx_on(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len, void *data) {
  (void)d;
  rx *r = data;
  r->from[from->host[1] - '0']++;
  if (r->n < 16384) {
    uint32_t s = 0;
    if (len >= 4) memcpy(&s, buf, 4);
    r->seq[r->n] = s;
    r->at[r->n] = akt_sim_now(r->w);
  }
  r->n++;
}

static rx *rx_open(fx *f, uint32_t node, uint16_t port) {
  rx *r = calloc(1, sizeof *r);
  assert_non_null(r);
  r->w = f->w;
  r->b = f->n[node];
  akt_addr at = node_addr(node, port);
  assert_int_equal(r->b->ops->dgram_open(r->b, &at, rx_on, r, &r->d), 0);
  return r;
}

/* Sends datagram `seq` (len bytes, at least 4) from r's endpoint to node
 * `to`, port 9000. */
static void send_seq(rx *from, uint32_t to, uint32_t seq, size_t len) {
  uint8_t buf[1500] = {0};
  memcpy(buf, &seq, 4);
  akt_addr dst = node_addr(to, 9000);
  assert_int_equal(from->b->ops->dgram_send(from->b, from->d, &dst, buf, len < 4 ? 4 : len), 0);
}

/* Every node sends one datagram to every other; got[to][from] counts. */
static void mesh(fx *f, rx **r, int got[MAXN][MAXN]) {
  int before[MAXN][MAXN];
  for (uint32_t j = 0; j < f->count; j++)
    for (uint32_t i = 0; i < f->count; i++) before[j][i] = r[j]->from[i];
  for (uint32_t i = 0; i < f->count; i++)
    for (uint32_t j = 0; j < f->count; j++)
      if (i != j) send_seq(r[i], j, i * 100 + j, 8);
  assert_int_equal(akt_sim_run_until_idle(f->w), 0);
  for (uint32_t j = 0; j < f->count; j++)
    for (uint32_t i = 0; i < f->count; i++) got[j][i] = r[j]->from[i] - before[j][i];
}

/* ---- stream observers --------------------------------------------------------------- */

typedef struct peer {
  akt_sim_world *w;
  akt_stream *s;
  int connects, connect_status, closes, close_reason, reads;
  uint64_t connect_at, close_at, first_read_at, last_read_at;
  uint64_t read_at[512];
  size_t nrx;
  uint8_t rx[200000];
} peer;

static void p_connect(akt_stream *s, int status, void *data) {
  (void)s;
  peer *p = data;
  p->connects++;
  p->connect_status = status;
  p->connect_at = akt_sim_now(p->w);
}

static void p_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  (void)s;
  peer *p = data;
  uint64_t now = akt_sim_now(p->w);
  if (p->reads == 0) p->first_read_at = now;
  if (p->reads < 512) p->read_at[p->reads] = now;
  p->reads++;
  p->last_read_at = now;
  assert_true(p->nrx + len <= sizeof p->rx);
  memcpy(p->rx + p->nrx, buf, len);
  p->nrx += len;
}

static void p_close(akt_stream *s, int reason, void *data) {
  (void)s;
  peer *p = data;
  p->closes++;
  p->close_reason = reason;
  p->close_at = akt_sim_now(p->w);
}

static const akt_stream_cbs peer_cbs = {p_connect, p_read, p_close};

typedef struct server {
  akt_backend *b;
  akt_listener *l;
  int accepts;
  peer conn;
} server;

static void on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  server *sv = data;
  sv->accepts++;
  akt_sim_world *w = sv->conn.w;
  memset(&sv->conn, 0, sizeof sv->conn);
  sv->conn.w = w;
  sv->conn.s = s;
  assert_int_equal(sv->b->ops->stream_start(sv->b, s, &peer_cbs, &sv->conn), 0);
}

static server *serve(fx *f, uint32_t node, uint16_t port) {
  server *sv = calloc(1, sizeof *sv);
  assert_non_null(sv);
  sv->b = f->n[node];
  sv->conn.w = f->w;
  akt_addr at = node_addr(node, port);
  assert_int_equal(sv->b->ops->listen(sv->b, &at, on_accept, sv, &sv->l), 0);
  return sv;
}

static peer *dial(fx *f, uint32_t from, uint32_t to, uint16_t port) {
  peer *p = calloc(1, sizeof *p);
  assert_non_null(p);
  p->w = f->w;
  akt_addr dst = node_addr(to, port);
  assert_int_equal(f->n[from]->ops->connect(f->n[from], &dst, &peer_cbs, p, &p->s), 0);
  return p;
}

static void fill(uint8_t *buf, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
}

/* ---- partitions ------------------------------------------------------------------ */

static rx **mesh_open(fx *f) {
  rx **r = calloc(f->count, sizeof *r);
  for (uint32_t i = 0; i < f->count; i++) r[i] = rx_open(f, i, 9000);
  return r;
}

static void mesh_free(fx *f, rx **r) {
  for (uint32_t i = 0; i < f->count; i++) free(r[i]);
  free(r);
}

/* Delivered exactly when the groups match. */
static void assert_groups(fx *f, int got[MAXN][MAXN], const uint32_t *group) {
  for (uint32_t j = 0; j < f->count; j++)
    for (uint32_t i = 0; i < f->count; i++)
      if (i != j) assert_int_equal(got[j][i], group[i] == group[j]);
}

static uint64_t partitions_scenario(void) {
  fx f = fx_new(1, 4);
  rx **r = mesh_open(&f);
  int got[MAXN][MAXN];
  static const uint32_t halves[4] = {0, 0, 1, 1}, isolate[4] = {0, 0, 0, 1}, all[4] = {0};
  assert_int_equal(akt_sim_partition(f.w, halves, 3), AKT_EINVAL);
  assert_int_equal(akt_sim_partition(f.w, halves, 4), 0);
  mesh(&f, r, got);
  assert_groups(&f, got, halves);
  assert_int_equal(akt__sim_net_get(f.w)->stats.dgram_faults, 8);
  assert_int_equal(link_of(&f, 0, 2)->dropped, 1);
  assert_int_equal(link_of(&f, 0, 1)->dropped, 0);
  /* A new partition heals within its groups. */
  assert_int_equal(akt_sim_partition(f.w, isolate, 4), 0);
  mesh(&f, r, got);
  assert_groups(&f, got, isolate);
  assert_int_equal(akt_sim_heal(f.w, NULL, NULL), 0);
  mesh(&f, r, got);
  assert_groups(&f, got, all);
  /* One way: n0 -> n1 is cut, n1 -> n0 is not. */
  assert_int_equal(akt_sim_cut(f.w, f.n[0], f.n[1], 0), 0);
  mesh(&f, r, got);
  assert_int_equal(got[1][0], 0);
  assert_int_equal(got[0][1], 1);
  assert_int_equal(akt_sim_heal(f.w, f.n[1], f.n[0]), 0); /* either order heals both ways */
  mesh(&f, r, got);
  assert_int_equal(got[1][0], 1);
  assert_int_equal(akt_sim_heal(f.w, f.n[0], NULL), AKT_EINVAL);
  mesh_free(&f, r);
  return fx_free(&f);
}

SCENARIO_TEST(partitions_cut_exactly_the_cross_group_traffic, partitions_scenario)

/* A majorities ring: each of 5 nodes reaches only its two neighbours. */
static uint64_t ring_scenario(void) {
  fx f = fx_new(2, 5);
  rx **r = mesh_open(&f);
  for (uint32_t i = 0; i < 5; i++)
    for (uint32_t j = i + 1; j < 5; j++)
      if ((j - i) % 5 == 2 || (j - i) % 5 == 3)
        assert_int_equal(akt_sim_cut(f.w, f.n[i], f.n[j], 1), 0);
  int got[MAXN][MAXN];
  mesh(&f, r, got);
  for (uint32_t j = 0; j < 5; j++) {
    int seen = 0;
    for (uint32_t i = 0; i < 5; i++) {
      if (i == j) continue;
      uint32_t d = (j + 5 - i) % 5;
      assert_int_equal(got[j][i], d == 1 || d == 4);
      seen += got[j][i];
    }
    assert_int_equal(seen, 2); /* with itself, 3 of 5: a majority */
  }
  mesh_free(&f, r);
  return fx_free(&f);
}

SCENARIO_TEST(a_majorities_ring_sees_only_neighbours, ring_scenario)

/* ---- streams across cuts ------------------------------------------------------------ */

static uint64_t cut_then_heal_scenario(void) {
  fx f = fx_new(3, 2);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c->connect_status, 0);
  static uint8_t src[71010];
  fill(src, sizeof src, 9);
  akt_backend *a = f.n[0], *b = f.n[1];
  assert_int_equal(a->ops->stream_write(a, c->s, src, 1000), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(10)), 0);
  assert_int_equal(sv->conn.nrx, 1000);
  assert_int_equal(akt_sim_cut(f.w, a, b, 1), 0);
  assert_int_equal(a->ops->stream_write(a, c->s, src + 1000, 70000), 0); /* two segments */
  assert_int_equal(a->ops->stream_write(a, c->s, src + 71000, 10), 0);
  assert_int_equal(b->ops->stream_write(b, sv->conn.s, src, 5), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(5)), 0);
  assert_int_equal(sv->conn.nrx, 1000);
  assert_int_equal(c->nrx, 0);
  assert_int_equal(a->ops->stream_pending(a, c->s), 70010); /* parked, not lost */
  uint64_t healed = akt_sim_now(f.w);
  assert_int_equal(akt_sim_heal(f.w, a, b), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0); /* the reset checks find it healed */
  assert_int_equal(sv->conn.nrx, sizeof src);
  assert_memory_equal(sv->conn.rx, src, sizeof src);
  assert_int_equal(sv->conn.read_at[1], healed + LAT);
  assert_int_equal(c->nrx, 5);
  assert_int_equal(c->first_read_at, healed + LAT);
  assert_int_equal(c->closes + sv->conn.closes, 0);
  a->ops->stream_close(a, c->s);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv->conn.close_reason, AKT_ECLOSED);
  b->ops->listener_close(b, sv->l);
  free(sv);
  free(c);
  return fx_free(&f);
}

SCENARIO_TEST(segments_held_by_a_cut_flow_after_heal_in_order, cut_then_heal_scenario)

static uint64_t long_cut_scenario(void) {
  fx f = fx_new(4, 2);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  uint64_t t0 = akt_sim_now(f.w);
  assert_int_equal(akt_sim_cut(f.w, f.n[0], f.n[1], 1), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(1)), 0);
  peer *late = dial(&f, 0, 1, 7000); /* its SYN never gets through */
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(9)), 0);
  assert_int_equal(c->closes + sv->conn.closes, 0); /* not yet */
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(2)), 0);
  assert_int_equal(c->closes, 1);
  assert_int_equal(c->close_reason, AKT_ECLOSED);
  assert_int_equal(c->close_at, t0 + AKT_SIM_CUT_RESET + LAT);
  assert_int_equal(sv->conn.closes, 1);
  assert_int_equal(sv->conn.close_reason, AKT_ECLOSED);
  assert_int_equal(sv->conn.close_at, t0 + AKT_SIM_CUT_RESET + LAT);
  assert_int_equal(late->connects, 1);
  assert_int_equal(late->connect_status, AKT_ETIMEDOUT);
  assert_int_equal(late->connect_at, t0 + AKT_SECONDS(1) + AKT_SIM_CUT_RESET + LAT);
  assert_int_equal(late->close_reason, AKT_ETIMEDOUT);
  assert_int_equal(akt__sim_net_get(f.w)->stats.resets, 2);
  assert_int_equal(sv->accepts, 1);
  /* Healed, the reset connections stay gone; new ones work. */
  assert_int_equal(akt_sim_heal(f.w, NULL, NULL), 0);
  peer *again = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(again->connect_status, 0);
  assert_int_equal(sv->accepts, 2);
  f.n[1]->ops->listener_close(f.n[1], sv->l);
  free(sv);
  free(c);
  free(late);
  free(again);
  return fx_free(&f);
}

SCENARIO_TEST(a_cut_longer_than_the_reset_time_resets_streams, long_cut_scenario)

/* ---- loss, duplication, reorder, latency --------------------------------------------- */

static uint64_t dup_scenario(void) {
  fx f = fx_new(5, 2);
  rx *ra = rx_open(&f, 0, 9000), *rb = rx_open(&f, 1, 9000);
  akt_sim_link_faults lf = {.dup_ppm = 1000000};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (uint32_t i = 0; i < 10; i++) send_seq(ra, 1, i, 16);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(rb->n, 20);
  for (uint32_t i = 0; i < 20; i++) assert_int_equal(rb->seq[i], i / 2);
  assert_int_equal(link_of(&f, 0, 1)->dups, 10);
  /* Half the time, about half of them. */
  lf.dup_ppm = 500000;
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (uint32_t i = 0; i < 1000; i++) send_seq(ra, 1, i, 16);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_in_range(rb->n - 20, 1400, 1600);
  free(ra);
  free(rb);
  return fx_free(&f);
}

SCENARIO_TEST(duplication_delivers_a_datagram_twice, dup_scenario)

static uint64_t loss_scenario(void) {
  fx f = fx_new(6, 2);
  rx *ra = rx_open(&f, 0, 9000), *rb = rx_open(&f, 1, 9000);
  akt_sim_link_faults lf = {.loss_ppm = 200000};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (uint32_t i = 0; i < 10000; i++) send_seq(ra, 1, i, 8);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_in_range(rb->n, 7500, 8500);
  assert_int_equal(link_of(&f, 0, 1)->lost, 10000 - rb->n);
  for (size_t i = 1; i < rb->n; i++) assert_true(rb->seq[i] > rb->seq[i - 1]);
  free(ra);
  free(rb);
  return fx_free(&f);
}

SCENARIO_TEST(loss_drops_datagrams_at_the_configured_rate, loss_scenario)

static uint64_t stream_loss_scenario(void) {
  fx f = fx_new(7, 2);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  akt_sim_link_faults lf = {.loss_ppm = 300000};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  static uint8_t src[200 * 100];
  fill(src, sizeof src, 3);
  uint64_t t0 = akt_sim_now(f.w);
  for (int i = 0; i < 200; i++)
    assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, src + i * 100, 100), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv->conn.nrx, sizeof src); /* nothing lost, nothing twice */
  assert_memory_equal(sv->conn.rx, src, sizeof src);
  assert_int_equal(sv->conn.reads, 200);
  for (int i = 0; i < 200; i++) {
    uint64_t late = sv->conn.read_at[i] - t0 - LAT;
    assert_int_equal(late % AKT_SIM_RETRANSMIT, 0); /* delayed by whole retransmits */
    if (i) assert_true(sv->conn.read_at[i] >= sv->conn.read_at[i - 1]);
  }
  assert_true(link_of(&f, 0, 1)->lost > 30);
  assert_true(sv->conn.last_read_at >= t0 + LAT + AKT_SIM_RETRANSMIT);
  assert_int_equal(c->closes + sv->conn.closes, 0);
  f.n[1]->ops->listener_close(f.n[1], sv->l);
  free(sv);
  free(c);
  return fx_free(&f);
}

SCENARIO_TEST(stream_loss_is_retransmit_delay_in_order, stream_loss_scenario)

static uint64_t reorder_scenario(void) {
  fx f = fx_new(8, 2);
  rx *ra = rx_open(&f, 0, 9000), *rb = rx_open(&f, 1, 9000);
  akt_sim_link_faults lf = {.reorder = AKT_MILLIS(5)};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (uint32_t i = 0; i < 200; i++) {
    send_seq(ra, 1, i, 8);
    assert_int_equal(akt_sim_run_for(f.w, AKT_MICROS(10)), 0);
  }
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(rb->n, 200);
  int inversions = 0;
  uint64_t seen = 0;
  for (size_t i = 0; i < rb->n; i++) {
    uint64_t sent = rb->seq[i] * AKT_MICROS(10);
    assert_in_range(rb->at[i] - sent, LAT, LAT + AKT_MILLIS(5));
    if (i && rb->seq[i] < rb->seq[i - 1]) inversions++;
    seen += rb->seq[i];
  }
  assert_true(inversions > 20);
  assert_int_equal(seen, 199 * 200 / 2); /* each exactly once */
  free(ra);
  free(rb);
  return fx_free(&f);
}

SCENARIO_TEST(reorder_reorders_datagrams, reorder_scenario)

/* Sends `n` datagrams n0 -> n1 at once and returns the receiver. */
static rx *latency_sample(fx *f, const akt_sim_link_faults *lf, uint32_t n) {
  rx *ra = rx_open(f, 0, 9000), *rb = rx_open(f, 1, 9000);
  assert_int_equal(akt_sim_link_set(f->w, f->n[0], f->n[1], lf), 0);
  for (uint32_t i = 0; i < n; i++) send_seq(ra, 1, i, 8);
  assert_int_equal(akt_sim_run_until_idle(f->w), 0);
  assert_int_equal(rb->n, n);
  free(ra);
  return rb;
}

static uint64_t uniform_scenario(void) {
  fx f = fx_new(9, 2);
  akt_sim_link_faults lf = {.kind = AKT_SIM_LATENCY_UNIFORM,
                            .latency = AKT_MILLIS(1),
                            .latency_max = AKT_MILLIS(3)};
  rx *rb = latency_sample(&f, &lf, 4000);
  uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
  for (size_t i = 0; i < rb->n; i++) {
    lo = rb->at[i] < lo ? rb->at[i] : lo;
    hi = rb->at[i] > hi ? rb->at[i] : hi;
    sum += rb->at[i];
  }
  assert_in_range(lo, AKT_MILLIS(1), AKT_MICROS(1010));
  assert_in_range(hi, AKT_MICROS(2990), AKT_MILLIS(3));
  assert_in_range(sum / rb->n, AKT_MICROS(1950), AKT_MICROS(2050));
  free(rb);
  return fx_free(&f);
}

static void uniform_latency_stays_within_bounds(void **state) {
  (void)state;
  TWICE(uniform_scenario);
  /* A maximum under the minimum is refused. */
  fx f = fx_new(1, 2);
  akt_sim_link_faults bad = {.kind = AKT_SIM_LATENCY_UNIFORM, .latency = AKT_MILLIS(2),
                             .latency_max = AKT_MILLIS(1)};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &bad), AKT_EINVAL);
  bad = (akt_sim_link_faults){.loss_ppm = 1000001};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &bad), AKT_EINVAL);
  assert_int_equal(akt_sim_link_set(NULL, f.n[0], f.n[1], NULL), AKT_EINVAL);
  fx_free(&f);
}

static uint64_t exponential_scenario(void) {
  fx f = fx_new(10, 2);
  akt_sim_link_faults lf = {.kind = AKT_SIM_LATENCY_EXPONENTIAL,
                            .latency = AKT_MILLIS(1),
                            .latency_mean = AKT_MILLIS(2),
                            .latency_max = AKT_MILLIS(10)};
  rx *rb = latency_sample(&f, &lf, 10000);
  uint64_t sum = 0;
  int capped = 0;
  for (size_t i = 0; i < rb->n; i++) {
    assert_in_range(rb->at[i], AKT_MILLIS(1), AKT_MILLIS(10));
    capped += rb->at[i] == AKT_MILLIS(10);
    sum += rb->at[i] - AKT_MILLIS(1);
  }
  /* E[min(X, 9 ms)] for X exponential with mean 2 ms: 2 (1 - e^-4.5) ms. */
  assert_in_range(sum / rb->n, AKT_MICROS(1898), AKT_MICROS(2058));
  assert_in_range(capped, 60, 170); /* P(X > 9 ms) = 1.1% */
  free(rb);
  return fx_free(&f);
}

SCENARIO_TEST(exponential_latency_has_its_mean_and_cap, exponential_scenario)

/* ---- capacity, clogs, holds ------------------------------------------------------------- */

static uint64_t capacity_scenario(void) {
  fx f = fx_new(11, 2);
  rx *ra = rx_open(&f, 0, 9000), *rb = rx_open(&f, 1, 9000);
  akt_sim_link_faults lf = {.capacity = 1000};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (uint32_t i = 0; i < 5; i++) send_seq(ra, 1, i, 300);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(rb->n, 3);
  assert_int_equal(rb->seq[2], 2);
  assert_int_equal(link_of(&f, 0, 1)->dropped, 2);
  for (uint32_t i = 5; i < 8; i++) send_seq(ra, 1, i, 300); /* room again */
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(rb->n, 6);
  /* A stream that overfills the link is reset. */
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  uint8_t buf[600] = {1};
  assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, buf, 600), 0);
  uint64_t t = akt_sim_now(f.w);
  assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, buf, 500), 0);
  assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, buf, 1), AKT_ECLOSED);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c->closes, 1);
  assert_int_equal(c->close_reason, AKT_ECLOSED);
  assert_int_equal(c->close_at, t + LAT);
  assert_int_equal(sv->conn.closes, 1);
  assert_int_equal(sv->conn.close_reason, AKT_ECLOSED);
  assert_int_equal(sv->conn.close_at, t + LAT);
  assert_int_equal(sv->conn.nrx, 0); /* what was in flight went with the connection */
  assert_int_equal(link_of(&f, 0, 1)->resets, 1);
  assert_int_equal(link_of(&f, 0, 1)->inflight, 0);
  f.n[1]->ops->listener_close(f.n[1], sv->l);
  free(sv);
  free(c);
  free(ra);
  free(rb);
  return fx_free(&f);
}

SCENARIO_TEST(capacity_drops_datagrams_and_resets_streams, capacity_scenario)

static uint64_t clog_scenario(void) {
  fx f = fx_new(12, 3);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  rx *r0 = rx_open(&f, 0, 9000), *r1 = rx_open(&f, 1, 9000), *r2 = rx_open(&f, 2, 9000);
  akt_sim_link_faults lf = {.kind = AKT_SIM_LATENCY_UNIFORM,
                            .latency = AKT_MILLIS(1),
                            .latency_max = AKT_MILLIS(3)};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  uint64_t t0 = akt_sim_now(f.w), until = t0 + AKT_MILLIS(50);
  assert_int_equal(akt_sim_clog(f.w, f.n[0], f.n[1], AKT_MILLIS(50)), 0);
  uint8_t x[20];
  fill(x, sizeof x, 1);
  for (uint32_t i = 0; i < 20; i++) {
    send_seq(r0, 1, i, 8);
    assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, x + i, 1), 0);
    if (i == 3) send_seq(r1, 0, 99, 8); /* the other way is not clogged */
    assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(1)), 0);
  }
  assert_int_equal(r1->n + sv->conn.nrx, 0);
  assert_int_equal(r0->n, 1);
  assert_int_equal(r0->at[0], t0 + AKT_MILLIS(3) + LAT);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(40)), 0);
  assert_int_equal(r1->n, 20);
  for (uint32_t i = 0; i < 20; i++) {
    assert_int_equal(r1->seq[i], i); /* in order, despite the jitter */
    assert_in_range(r1->at[i], until + AKT_MILLIS(1), until + AKT_MILLIS(3));
  }
  assert_int_equal(sv->conn.nrx, 20);
  assert_memory_equal(sv->conn.rx, x, 20);
  assert_true(sv->conn.first_read_at >= until + AKT_MILLIS(1));
  /* After the clog, no delay; a clog of a node delays all its links. */
  uint64_t t1 = akt_sim_now(f.w);
  send_seq(r0, 1, 100, 8);
  assert_int_equal(akt_sim_clog(f.w, f.n[2], NULL, AKT_MILLIS(20)), 0);
  send_seq(r0, 2, 101, 8);
  send_seq(r2, 1, 102, 8);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_in_range(r1->at[20], t1 + AKT_MILLIS(1), t1 + AKT_MILLIS(3));
  assert_int_equal(r2->at[0], t1 + AKT_MILLIS(20) + LAT);
  assert_int_equal(r1->at[21], t1 + AKT_MILLIS(20) + LAT);
  assert_int_equal(akt_sim_clog(f.w, NULL, NULL, 1), AKT_EINVAL);
  f.n[1]->ops->listener_close(f.n[1], sv->l);
  free(sv);
  free(c);
  free(r0);
  free(r1);
  free(r2);
  return fx_free(&f);
}

SCENARIO_TEST(clog_delays_then_releases_in_order, clog_scenario)

static uint64_t hold_scenario(void) {
  fx f = fx_new(13, 2);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  rx *r0 = rx_open(&f, 0, 9000), *r1 = rx_open(&f, 1, 9000);
  akt_sim_link_faults lf = {.kind = AKT_SIM_LATENCY_UNIFORM,
                            .latency = AKT_MILLIS(1),
                            .latency_max = AKT_MILLIS(3),
                            .reorder = AKT_MILLIS(2)};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  assert_int_equal(akt_sim_hold(f.w, f.n[0], f.n[1]), 0);
  uint8_t x[30];
  fill(x, sizeof x, 2);
  for (uint32_t i = 0; i < 30; i++) {
    send_seq(r0, 1, i, 8);
    assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, x + i, 1), 0);
  }
  send_seq(r1, 0, 77, 8);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(60)), 0); /* no reset: a hold is no cut */
  assert_int_equal(r1->n + sv->conn.nrx, 0);
  assert_int_equal(r0->n, 1);
  assert_int_equal(c->closes + sv->conn.closes, 0);
  uint64_t t = akt_sim_now(f.w);
  assert_int_equal(akt_sim_release(f.w, f.n[0], f.n[1]), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(r1->n, 30);
  for (uint32_t i = 0; i < 30; i++) {
    assert_int_equal(r1->seq[i], i);
    assert_in_range(r1->at[i], t + AKT_MILLIS(1), t + AKT_MILLIS(3)); /* no reorder */
  }
  assert_int_equal(sv->conn.nrx, 30);
  assert_memory_equal(sv->conn.rx, x, 30);
  assert_in_range(sv->conn.first_read_at, t + AKT_MILLIS(1), t + AKT_MILLIS(3));
  f.n[1]->ops->listener_close(f.n[1], sv->l);
  free(sv);
  free(c);
  free(r0);
  free(r1);
  return fx_free(&f);
}

SCENARIO_TEST(hold_keeps_everything_until_release, hold_scenario)

/* ---- crashes ----------------------------------------------------------------------------- */

typedef struct crash_app {
  fx *f;
  int stops, starts, fired[3], ran;
  uint64_t timer[3];
  server *sv;  /* the listener of the incarnation that runs */
  rx *r;       /* its datagram endpoint */
} crash_app;

static void app_timer(void *arg, uint64_t cookie) { ((crash_app *)arg)->fired[cookie]++; }

static void app_turn(akt_runnable *r) {
  (void)r;
  fail_msg("a turn of a crashed node ran");
}

/* The stop hook: cancels timer 0 (as akt_system_drop cancels a system's
 * timers) and forgets everything the network took. */
static void app_stop(akt_backend *b, void *arg) {
  crash_app *app = arg;
  app->stops++;
  assert_int_equal(akt_sim_node_up(b), 0);
  assert_int_equal(b->ops->timer_cancel(b, app->timer[0]), 0);
  free(app->sv); /* its listener and stream went with the crash */
  free(app->r);
  app->sv = NULL;
  app->r = NULL;
}

static int app_start(akt_backend *b, void *arg) {
  crash_app *app = arg;
  app->starts++;
  assert_int_equal(akt_sim_node_up(b), 1);
  app->sv = serve(app->f, 1, 7000);
  app->r = rx_open(app->f, 1, 9000);
  return 0;
}

static uint64_t crash_scenario(void) {
  fx f = fx_new(14, 2);
  akt_backend *a = f.n[0], *b = f.n[1];
  crash_app app = {.f = &f};
  akt_sim_node_hooks hooks = {app_start, app_stop, &app};
  assert_int_equal(akt_sim_node_set_hooks(b, &hooks), 0);
  assert_int_equal(app_start(b, &app), 0);
  rx *ra = rx_open(&f, 0, 9000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  uint8_t x[100] = {7};
  assert_int_equal(a->ops->stream_write(a, c->s, x, 100), 0);
  assert_int_equal(b->ops->stream_write(b, app.sv->conn.s, x, 50), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(app.sv->conn.nrx + c->nrx, 150);
  for (uint64_t i = 0; i < 3; i++)
    assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(1 + i), app_timer, &app, i, &app.timer[i]), 0);
  akt_runnable turn = {.run = app_turn};
  b->ops->schedule(b, &turn);
  assert_int_equal(a->ops->stream_write(a, c->s, x, 30), 0); /* in flight to b */
  send_seq(ra, 1, 1, 8);
  uint64_t t = akt_sim_now(f.w);
  assert_int_equal(akt_sim_crash(f.w, b), 0);
  assert_int_equal(app.stops, 1);
  assert_int_equal(akt_sim_node_up(b), 0);
  assert_int_equal(akt_sim_crash(f.w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_restart(f.w, a), AKT_ESTATE);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(10)), 0);
  assert_int_equal(c->closes, 1); /* the peer sees the connection close */
  assert_int_equal(c->close_reason, AKT_ECLOSED);
  assert_int_equal(c->close_at, t + LAT);
  /* While it is down, b is unreachable and datagrams to it vanish. */
  peer *c2 = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(10)), 0);
  assert_int_equal(c2->connect_status, AKT_EUNREACH);
  assert_int_equal(c2->connect_at, t + AKT_MILLIS(10) + 2 * LAT);
  /* One sent to the old incarnation does not reach the new one. */
  send_seq(ra, 1, 2, 8);
  assert_int_equal(akt_sim_run_for(f.w, LAT / 2), 0);
  assert_int_equal(akt_sim_restart(f.w, b), 0);
  assert_int_equal(app.starts, 2);
  assert_int_equal(akt_sim_node_incarnation(b), 2);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(4)), 0);
  assert_int_equal(app.r->n, 0);
  /* Its other events fired as usual (the hook canceled timer 0). */
  assert_int_equal(app.fired[0], 0);
  assert_int_equal(app.fired[1], 1);
  assert_int_equal(app.fired[2], 1);
  peer *c3 = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c3->connect_status, 0);
  assert_int_equal(app.sv->accepts, 1);
  assert_int_equal(akt_sim_crash(NULL, b), AKT_EINVAL);
  free(app.sv);
  free(app.r);
  free(ra);
  free(c);
  free(c2);
  free(c3);
  return fx_free(&f);
}

SCENARIO_TEST(a_crash_drops_turns_and_connections_and_runs_the_stop_hook, crash_scenario)

/* A node whose "init" is an actor system with a ticking actor. */
typedef struct ticker_node {
  akt_system *sys;
  int ticks;
  uint64_t randoms[3];
} ticker_node;

static int ticker_pre_start(akt_ctx *ctx) {
  Ping p = PING__INIT;
  return akt_timer_start(ctx, 1, AKT_MILLIS(10), AKT_MILLIS(10), &p.base);
}

static int ticker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  ((ticker_node *)akt_ctx_arg(ctx))->ticks++;
  return 0;
}

static const akt_actor_def ticker_def = {
    .kind = "ticker", .pre_start = ticker_pre_start, .receive = ticker_receive};

static int ticker_start(akt_backend *b, void *arg) {
  ticker_node *tn = arg;
  int rc = akt_system_new("app", b, NULL, &tn->sys);
  if (rc) return rc;
  tn->randoms[akt_sim_node_incarnation(b)] = b->ops->random_u64(b);
  akt_spawn_opts o = {.arg = tn};
  return akt_spawn(tn->sys, "ticker", &ticker_def, &o, NULL);
}

static void ticker_stop(akt_backend *b, void *arg) {
  (void)b;
  ticker_node *tn = arg;
  akt_system_drop(tn->sys);
  tn->sys = NULL;
}

static uint64_t restart_scenario(void) {
  fx f = fx_new(15, 2);
  ticker_node tn = {0};
  akt_sim_node_hooks hooks = {ticker_start, ticker_stop, &tn};
  assert_int_equal(akt_sim_node_set_hooks(f.n[1], &hooks), 0);
  assert_int_equal(ticker_start(f.n[1], &tn), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(105)), 0);
  assert_int_equal(tn.ticks, 10);
  assert_int_equal(akt_sim_crash(f.w, f.n[1]), 0);
  assert_null(tn.sys);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(1)), 0);
  assert_int_equal(tn.ticks, 10); /* its timers died with it */
  assert_int_equal(akt_sim_restart(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_node_incarnation(f.n[1]), 2);
  assert_true(tn.randoms[2] != tn.randoms[1]); /* a new stream */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(55)), 0);
  assert_int_equal(tn.ticks, 15);
  assert_int_equal(akt_system_shutdown(tn.sys, AKT_SECONDS(5)), 0);
  akt_system_free(tn.sys);
  return fx_free(&f);
}

SCENARIO_TEST(restart_runs_init_again_with_a_new_incarnation, restart_scenario)

/* ---- pauses and clocks --------------------------------------------------------------------- */

typedef struct pause_log {
  akt_sim_world *w;
  char order[32];
  uint64_t at[32];
  size_t n;
} pause_log;

static pause_log g_pause;

static void pause_note(char ch) {
  g_pause.order[g_pause.n] = ch;
  g_pause.at[g_pause.n++] = akt_sim_now(g_pause.w);
}

static void pause_timer(void *arg, uint64_t cookie) {
  (void)arg;
  pause_note((char)cookie);
}

static void pause_turn(akt_runnable *r) {
  (void)r;
  pause_note('r');
}

static void pause_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                       void *data) {
  (void)d, (void)from, (void)buf, (void)len, (void)data;
  pause_note('d');
}

static uint64_t pause_scenario(void) {
  fx f = fx_new(16, 2);
  akt_backend *a = f.n[0], *b = f.n[1];
  memset(&g_pause, 0, sizeof g_pause);
  g_pause.w = f.w;
  uint64_t id;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(10), pause_timer, NULL, '1', &id), 0);
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(20), pause_timer, NULL, '2', &id), 0);
  uint64_t id3;
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(30), pause_timer, NULL, '3', &id3), 0);
  assert_int_equal(a->ops->timer_start(a, AKT_MILLIS(15), pause_timer, NULL, 'a', &id), 0);
  akt_runnable rb = {.run = pause_turn}, ra = {.run = pause_turn};
  b->ops->schedule(b, &rb);
  akt_dgram *da, *db;
  akt_addr at = node_addr(0, 9000), bt = node_addr(1, 9000);
  assert_int_equal(a->ops->dgram_open(a, &at, pause_recv, NULL, &da), 0);
  assert_int_equal(b->ops->dgram_open(b, &bt, pause_recv, NULL, &db), 0);
  uint8_t x = 1;
  assert_int_equal(a->ops->dgram_send(a, da, &bt, &x, 1), 0);
  assert_int_equal(akt_sim_pause(f.w, b), 0);
  assert_int_equal(akt_sim_pause(f.w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_resume(f.w, a), AKT_ESTATE);
  a->ops->schedule(a, &ra); /* other nodes run on */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(50)), 0);
  assert_int_equal(b->ops->timer_cancel(b, id3), 0); /* a deferred timer can be canceled */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(50)), 0);
  assert_int_equal(g_pause.n, 2);
  assert_memory_equal(g_pause.order, "ra", 2);
  assert_int_equal(g_pause.at[1], AKT_MILLIS(15));
  assert_int_equal(akt_sim_resume(f.w, b), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  /* Late, at the resume time, in their original order, events before turns. */
  assert_int_equal(g_pause.n, 6);
  assert_memory_equal(g_pause.order, "rad12r", 6);
  for (size_t i = 2; i < 6; i++) assert_int_equal(g_pause.at[i], AKT_MILLIS(100));
  a->ops->dgram_close(a, da);
  b->ops->dgram_close(b, db);
  /* A crash while paused ends the pause: the deferred events fire. */
  assert_int_equal(b->ops->timer_start(b, AKT_MILLIS(1), pause_timer, NULL, '4', &id), 0);
  assert_int_equal(akt_sim_pause(f.w, b), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_MILLIS(5)), 0);
  assert_int_equal(akt_sim_crash(f.w, b), 0);
  assert_int_equal(akt_sim_pause(f.w, b), AKT_ESTATE);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(g_pause.order[g_pause.n - 1], '4');
  return fx_free(&f);
}

SCENARIO_TEST(pause_defers_timers_turns_and_arrivals_until_resume, pause_scenario)

static void clock_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt_backend *b = arg;
  akt_sim_note(akt_sim_world_of(b), b, "fired", NULL, b->ops->now(b));
}

static int never(void *arg) {
  (void)arg;
  return 0;
}

static uint64_t clock_scenario(void) {
  fx f = fx_new(17, 2);
  akt_backend *a = f.n[0], *b = f.n[1];
  assert_int_equal(akt_sim_set_clock(f.w, b, AKT_SECONDS(5), 0), 0);
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(1)), 0);
  assert_int_equal(a->ops->now(a), AKT_SECONDS(1));
  assert_int_equal(b->ops->now(b), AKT_SECONDS(6));
  assert_int_equal(b->ops->wall(b), AKT_SIM_EPOCH_NS + (int64_t)AKT_SECONDS(6));
  assert_int_equal(a->ops->wall(a), AKT_SIM_EPOCH_NS + (int64_t)AKT_SECONDS(1));
  assert_int_equal(akt_sim_set_clock(f.w, b, -(int64_t)AKT_SECONDS(3), 0), 0);
  assert_int_equal(b->ops->now(b), 0); /* saturated */
  assert_int_equal(akt_sim_run_for(f.w, AKT_SECONDS(9)), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(7));
  /* 10% fast: 10 s of world time read 11 s; a 1 s timer takes 1/1.1 s. */
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, 100000), 0);
  assert_int_equal(b->ops->now(b), AKT_SECONDS(11));
  uint64_t id, t0 = akt_sim_now(f.w), n0 = b->ops->now(b);
  assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(1), clock_fire, b, 0, &id), 0);
  assert_int_equal(akt_sim_step(f.w), 1);
  assert_int_equal(akt_sim_now(f.w) - t0, UINT64_C(909090910)); /* ceil(1e9 / 1.1) */
  assert_true(b->ops->now(b) >= n0 + AKT_SECONDS(1));
  assert_true(b->ops->now(b) <= n0 + AKT_SECONDS(1) + 1);
  /* Half speed: waiting 1 s of node time runs the world 2 s. */
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, -500000), 0);
  t0 = akt_sim_now(f.w);
  n0 = b->ops->now(b);
  assert_int_equal(b->ops->wait(b, never, NULL, n0 + AKT_SECONDS(1)), AKT_ETIMEDOUT);
  assert_int_equal(akt_sim_now(f.w) - t0, AKT_SECONDS(2));
  assert_int_equal(b->ops->now(b), n0 + AKT_SECONDS(1));
  assert_int_equal(akt_sim_set_clock(f.w, b, 0, -1000000), AKT_EINVAL);
  assert_int_equal(akt_sim_set_clock(f.w, NULL, 0, 0), AKT_EINVAL);
  return fx_free(&f);
}

SCENARIO_TEST(skew_and_drift_show_in_the_node_clock, clock_scenario)

/* ---- the rest of the API -------------------------------------------------------------------- */

static uint64_t misc_scenario(void) {
  fx f = fx_new(18, 3);
  assert_int_equal(akt_sim_node_count(f.w), 3);
  assert_ptr_equal(akt_sim_node_at(f.w, 2), f.n[2]);
  assert_null(akt_sim_node_at(f.w, 3));
  assert_int_equal(akt_sim_node_up(f.n[0]), 1);
  assert_int_equal(akt_sim_node_incarnation(f.n[0]), 1);
  assert_int_equal(akt_sim_node_set_hooks(NULL, NULL), AKT_EINVAL);
  akt__sim_link *l01 = link_of(&f, 0, 1);
  akt_sim_link_faults lf = {.latency = AKT_MILLIS(5)};
  assert_int_equal(akt_sim_link_set_all(f.w, &lf), 0);
  assert_int_equal(l01->latency, AKT_MILLIS(5));          /* existing links */
  assert_int_equal(link_of(&f, 2, 1)->latency, AKT_MILLIS(5)); /* and new ones */
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], NULL), 0);
  assert_int_equal(l01->latency, LAT);
  /* Faults never shift another stream: the nodes draw the same numbers. */
  fx g = fx_new(18, 3);
  for (int i = 0; i < 10; i++)
    assert_true(f.n[1]->ops->random_u64(f.n[1]) == g.n[1]->ops->random_u64(g.n[1]));
  fx_free(&g);
  return fx_free(&f);
}

SCENARIO_TEST(node_table_and_link_defaults, misc_scenario)

/* Every fault is a record: the trace file names each kind. */
static void every_fault_is_a_trace_record(void **state) {
  (void)state;
  char path[] = "/tmp/akt-faults-trace-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  fx f = {.count = 2};
  akt_sim_options o = {.seed = 19, .trace_path = path};
  assert_int_equal(akt_sim_world_new(&o, &f.w), 0);
  assert_int_equal(akt_sim_node_new(f.w, "n0", &f.n[0]), 0);
  assert_int_equal(akt_sim_node_new(f.w, "n1", &f.n[1]), 0);
  rx *ra = rx_open(&f, 0, 9000), *rb = rx_open(&f, 1, 9000);
  server *sv = serve(&f, 1, 7000);
  peer *c = dial(&f, 0, 1, 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  akt_sim_link_faults lf = {.loss_ppm = 500000, .dup_ppm = 500000, .capacity = 100};
  assert_int_equal(akt_sim_link_set(f.w, f.n[0], f.n[1], &lf), 0);
  for (int i = 0; i < 20; i++)
    assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, (const uint8_t *)"x", 1), 0);
  for (uint32_t i = 0; i < 20; i++) send_seq(ra, 1, i, 8);
  send_seq(ra, 1, 99, 200);
  assert_int_equal(f.n[0]->ops->stream_write(f.n[0], c->s, (const uint8_t *)rb->at, 200), 0);
  static const uint32_t groups[2] = {0, 1};
  assert_int_equal(akt_sim_partition(f.w, groups, 2), 0);
  assert_int_equal(akt_sim_cut(f.w, f.n[0], f.n[1], 0), 0);
  assert_int_equal(akt_sim_heal(f.w, NULL, NULL), 0);
  assert_int_equal(akt_sim_clog(f.w, f.n[1], NULL, AKT_MILLIS(1)), 0);
  assert_int_equal(akt_sim_hold(f.w, f.n[1], f.n[0]), 0);
  assert_int_equal(akt_sim_release(f.w, f.n[1], f.n[0]), 0);
  assert_int_equal(akt_sim_set_clock(f.w, f.n[1], 1, 1), 0);
  assert_int_equal(akt_sim_pause(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_resume(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_crash(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_restart(f.w, f.n[1]), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  free(ra);
  free(rb);
  free(sv);
  free(c);
  fx_free(&f);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  static char text[1 << 20];
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  unlink(path);
  static const char *const kinds[] = {
      "link",  "loss",    "dup",    "drop-capacity", "retransmit", "reset",  "partition",
      "heal",  "clog",    "hold",   "release",       "clock",      "pause",  "resume",
      "crash", "restart", "cut", "unlisten", "dgram-close", "abort"};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    char want[64];
    snprintf(want, sizeof want, " t=%s x=", kinds[i]);
    if (!strstr(text, want)) fail_msg("no %s record in the trace", kinds[i]);
  }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(partitions_cut_exactly_the_cross_group_traffic),
    cmocka_unit_test(a_majorities_ring_sees_only_neighbours),
    cmocka_unit_test(segments_held_by_a_cut_flow_after_heal_in_order),
    cmocka_unit_test(a_cut_longer_than_the_reset_time_resets_streams),
    cmocka_unit_test(duplication_delivers_a_datagram_twice),
    cmocka_unit_test(loss_drops_datagrams_at_the_configured_rate),
    cmocka_unit_test(stream_loss_is_retransmit_delay_in_order),
    cmocka_unit_test(reorder_reorders_datagrams),
    cmocka_unit_test(uniform_latency_stays_within_bounds),
    cmocka_unit_test(exponential_latency_has_its_mean_and_cap),
    cmocka_unit_test(capacity_drops_datagrams_and_resets_streams),
    cmocka_unit_test(clog_delays_then_releases_in_order),
    cmocka_unit_test(hold_keeps_everything_until_release),
    cmocka_unit_test(a_crash_drops_turns_and_connections_and_runs_the_stop_hook),
    cmocka_unit_test(restart_runs_init_again_with_a_new_incarnation),
    cmocka_unit_test(pause_defers_timers_turns_and_arrivals_until_resume),
    cmocka_unit_test(skew_and_drift_show_in_the_node_clock),
    cmocka_unit_test(node_table_and_link_defaults),
    cmocka_unit_test(every_fault_is_a_trace_record),
};

AKT_TEST_MAIN("sim-faults", tests)
