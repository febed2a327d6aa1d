/* Fixtures shared by the fault-injection suites (test_faults_links.c,
 * test_faults_nodes.c): worlds of raw nodes, datagram receivers, stream
 * peers, and the run-it-twice rule. */
#ifndef AKT_TESTS_SIM_FAULTS_FIXTURE_H
#define AKT_TESTS_SIM_FAULTS_FIXTURE_H
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

static inline akt_addr addr_of(const char *host, uint16_t port) {
  akt_addr a = {.port = port};
  snprintf(a.host, sizeof a.host, "%s", host);
  return a;
}

static inline akt_addr node_addr(uint32_t i, uint16_t port) {
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

static inline fx fx_new(uint64_t seed, uint32_t count) {
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

static inline uint64_t fx_free(fx *f) {
  uint64_t d = akt_sim_digest(f->w);
  akt_sim_world_free(f->w);
  return d;
}

static inline akt__sim_link *link_of(fx *f, uint32_t a, uint32_t b) {
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

static inline void rx_on(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len, void *data) {
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

static inline rx *rx_open(fx *f, uint32_t node, uint16_t port) {
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
static inline void send_seq(rx *from, uint32_t to, uint32_t seq, size_t len) {
  uint8_t buf[1500] = {0};
  memcpy(buf, &seq, 4);
  akt_addr dst = node_addr(to, 9000);
  assert_int_equal(from->b->ops->dgram_send(from->b, from->d, &dst, buf, len < 4 ? 4 : len), 0);
}

/* Every node sends one datagram to every other; got[to][from] counts. */
static inline void mesh(fx *f, rx **r, int got[MAXN][MAXN]) {
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

static inline void p_connect(akt_stream *s, int status, void *data) {
  (void)s;
  peer *p = data;
  p->connects++;
  p->connect_status = status;
  p->connect_at = akt_sim_now(p->w);
}

static inline void p_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
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

static inline void p_close(akt_stream *s, int reason, void *data) {
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

static inline void on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  server *sv = data;
  sv->accepts++;
  akt_sim_world *w = sv->conn.w;
  memset(&sv->conn, 0, sizeof sv->conn);
  sv->conn.w = w;
  sv->conn.s = s;
  assert_int_equal(sv->b->ops->stream_start(sv->b, s, &peer_cbs, &sv->conn), 0);
}

static inline server *serve(fx *f, uint32_t node, uint16_t port) {
  server *sv = calloc(1, sizeof *sv);
  assert_non_null(sv);
  sv->b = f->n[node];
  sv->conn.w = f->w;
  akt_addr at = node_addr(node, port);
  assert_int_equal(sv->b->ops->listen(sv->b, &at, on_accept, sv, &sv->l), 0);
  return sv;
}

static inline peer *dial(fx *f, uint32_t from, uint32_t to, uint16_t port) {
  peer *p = calloc(1, sizeof *p);
  assert_non_null(p);
  p->w = f->w;
  akt_addr dst = node_addr(to, port);
  assert_int_equal(f->n[from]->ops->connect(f->n[from], &dst, &peer_cbs, p, &p->s), 0);
  return p;
}

static inline void fill(uint8_t *buf, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
}

#endif
