/* Link faults in the simulator (partitions, cuts, loss, duplication,
 * reorder, latency distributions, capacity, clogs, holds) on raw streams and
 * datagrams through the backend operations. Every scenario runs twice and
 * must give the same digest. */
#include "faults_fixture.h"
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
  int got[MAXN][MAXN] = {{0}}; /* mesh fills it; zeroed for -O3 -Wmaybe-uninitialized */
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
};

AKT_TEST_MAIN("sim-faults-links", tests)
