/* Simulated links: listeners, streams and datagrams between simulated nodes,
 * driven through the backend operations, with virtual-time expectations,
 * the flush-then-close rule, limits, and digests that cover the traffic. */
#include <stdio.h>
#include <unistd.h>

#include "../support/both.h"
#include "akt/sim.h"
#include "sim/net.h"

#define LAT AKT__SIM_DEFAULT_LATENCY

/* ---- an observer of one stream ------------------------------------------------ */

typedef struct peer {
  akt_sim_world *w;
  akt_backend *b;
  akt_stream *s;
  int connects, connect_status;
  uint64_t connect_at;
  int closes, close_reason;
  uint64_t close_at;
  int reads;
  uint64_t first_read_at, last_read_at;
  size_t nrx;
  uint8_t *rx; /* kept when `keep` */
  size_t caprx;
  int keep;
  int close_on_read; /* stream_close inside the first on_read */
  char order[64]; /* c = on_connect, r = first on_read of a run, x = on_close */
  int in_call;    /* set while the test is inside an operation */
} peer;

static void order_add(peer *p, char ch) {
  size_t n = strlen(p->order);
  if (ch == 'r' && n > 0 && p->order[n - 1] == 'r') return;
  if (n + 1 < sizeof p->order) p->order[n] = ch;
}

static void on_connect(akt_stream *s, int status, void *data) {
  peer *p = data;
  assert_false(p->in_call);
  assert_ptr_equal(s, p->s);
  p->connects++;
  p->connect_status = status;
  p->connect_at = akt_sim_now(p->w);
  order_add(p, 'c');
}

static void on_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  peer *p = data;
  assert_false(p->in_call);
  assert_ptr_equal(s, p->s);
  assert_true(len > 0);
  if (p->reads++ == 0) p->first_read_at = akt_sim_now(p->w);
  p->last_read_at = akt_sim_now(p->w);
  if (p->keep) {
    if (p->nrx + len > p->caprx) {
      p->caprx = (p->nrx + len) * 2;
      p->rx = realloc(p->rx, p->caprx);
      assert_non_null(p->rx);
    }
    memcpy(p->rx + p->nrx, buf, len);
  }
  p->nrx += len;
  order_add(p, 'r');
  if (p->close_on_read) p->b->ops->stream_close(p->b, s);
}

static void on_close(akt_stream *s, int reason, void *data) {
  peer *p = data;
  assert_false(p->in_call);
  assert_ptr_equal(s, p->s);
  p->closes++;
  p->close_reason = reason;
  p->close_at = akt_sim_now(p->w);
  order_add(p, 'x');
}

static const akt_stream_cbs peer_cbs = {on_connect, on_read, on_close};

static void peer_free(peer *p) { free(p->rx); }

/* ---- a server: a listener and the streams it accepted ------------------------- */

typedef struct server {
  akt_sim_world *w;
  akt_backend *b;
  akt_listener *l;
  int start;          /* stream_start in on_accept */
  int accepts;
  uint64_t accept_at;
  peer conn;          /* the last accepted stream */
  const uint8_t *greet; /* written in on_accept */
  size_t greet_len;
} server;

static void on_accept(akt_listener *l, akt_stream *s, void *data) {
  server *sv = data;
  assert_ptr_equal(l, sv->l);
  sv->accepts++;
  sv->accept_at = akt_sim_now(sv->w);
  int keep = sv->conn.keep;
  free(sv->conn.rx);
  memset(&sv->conn, 0, sizeof sv->conn);
  sv->conn.keep = keep;
  sv->conn.s = s;
  sv->conn.w = sv->w;
  sv->conn.b = sv->b;
  if (sv->start) assert_int_equal(sv->b->ops->stream_start(sv->b, s, &peer_cbs, &sv->conn), 0);
  if (sv->greet_len)
    assert_int_equal(sv->b->ops->stream_write(sv->b, s, sv->greet, sv->greet_len), 0);
}

static akt_addr addr_of(const char *host, uint16_t port) {
  akt_addr a = {.port = port};
  snprintf(a.host, sizeof a.host, "%s", host);
  return a;
}

typedef struct net_fixture {
  akt_sim_world *w;
  akt_backend *a, *b;
} net_fixture;

static net_fixture fixture_new(uint64_t seed) {
  net_fixture f = {0};
  akt_sim_options o = {.seed = seed};
  assert_int_equal(akt_sim_world_new(&o, &f.w), 0);
  assert_int_equal(akt_sim_node_new(f.w, "a", &f.a), 0);
  assert_int_equal(akt_sim_node_new(f.w, "b", &f.b), 0);
  return f;
}

static void server_listen(net_fixture *f, server *sv, uint16_t port, int start) {
  memset(sv, 0, sizeof *sv);
  sv->w = f->w;
  sv->b = f->b;
  sv->start = start;
  akt_addr at = addr_of("b", port);
  assert_int_equal(f->b->ops->listen(f->b, &at, on_accept, sv, &sv->l), 0);
}

static void client_connect(net_fixture *f, peer *c, const char *host, uint16_t port) {
  memset(c, 0, sizeof *c);
  c->w = f->w;
  c->b = f->a;
  akt_addr to = addr_of(host, port);
  c->in_call = 1;
  assert_int_equal(f->a->ops->connect(f->a, &to, &peer_cbs, c, &c->s), 0);
  c->in_call = 0;
  assert_int_equal(c->connects + c->closes, 0); /* nothing inside the call */
}

static void fill(uint8_t *buf, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
}

/* ---- tests ---------------------------------------------------------------------- */

static void connect_and_accept_take_one_latency_each(void **state) {
  (void)state;
  net_fixture f = fixture_new(1);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  akt_addr la;
  assert_int_equal(f.b->ops->listener_addr(f.b, sv.l, &la), 0);
  assert_string_equal(la.host, "b");
  assert_int_equal(la.port, 7000);
  peer c;
  client_connect(&f, &c, "b", 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.accepts, 1);
  assert_int_equal(sv.accept_at, LAT);
  assert_int_equal(c.connects, 1);
  assert_int_equal(c.connect_status, 0);
  assert_int_equal(c.connect_at, 2 * LAT);
  assert_int_equal(c.closes, 0);

  akt_addr pa;
  assert_int_equal(f.a->ops->stream_peer(f.a, c.s, &pa), 0);
  assert_string_equal(pa.host, "b");
  assert_int_equal(pa.port, 7000);
  assert_int_equal(f.b->ops->stream_peer(f.b, sv.conn.s, &pa), 0);
  assert_string_equal(pa.host, "a");
  assert_true(pa.port >= AKT__SIM_PORT_EPHEMERAL);

  f.a->ops->stream_close(f.a, c.s);
  assert_int_equal(f.a->ops->stream_peer(f.a, c.s, &pa), AKT_ECLOSED);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.closes, 1);
  assert_int_equal(sv.conn.closes, 1);
  f.b->ops->listener_close(f.b, sv.l);
  akt_sim_world_free(f.w);
}

static void each_link_has_its_own_latency(void **state) {
  (void)state;
  net_fixture f = fixture_new(1);
  akt__sim_link *ab = akt__sim_link_between(f.a, f.b), *ba = akt__sim_link_between(f.b, f.a);
  assert_non_null(ab);
  assert_non_null(ba);
  assert_ptr_equal(akt__sim_link_between(f.a, f.b), ab);
  assert_ptr_not_equal(ab, ba);
  assert_int_equal(ab->latency, AKT__SIM_DEFAULT_LATENCY);
  ab->latency = AKT_MILLIS(5);
  ba->latency = AKT_MILLIS(2);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  peer c;
  client_connect(&f, &c, "b", 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.accept_at, AKT_MILLIS(5));
  assert_int_equal(c.connect_at, AKT_MILLIS(7));
  uint8_t x[3] = {1, 2, 3};
  assert_int_equal(f.b->ops->stream_write(f.b, sv.conn.s, x, 3), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.first_read_at, AKT_MILLIS(9));
  assert_int_equal(ab->units, 1); /* the SYN */
  assert_int_equal(ba->units, 2); /* the SYN-ACK and the bytes */
  assert_int_equal(ba->bytes, 3);
  akt_sim_world_free(f.w);
}

static void a_mebibyte_arrives_intact_and_in_order(void **state) {
  (void)state;
  net_fixture f = fixture_new(2);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  sv.conn.keep = 1;
  uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
  sv.greet = hello; /* written inside on_accept: must not overtake the SYN-ACK */
  sv.greet_len = sizeof hello;
  peer c;
  client_connect(&f, &c, "b", 7000);
  c.keep = 1;
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_string_equal(c.order, "cr");
  assert_int_equal(c.first_read_at, 2 * LAT);
  assert_int_equal(c.nrx, 5);
  assert_memory_equal(c.rx, hello, 5);

  size_t total = (size_t)1 << 20;
  uint8_t *src = malloc(total);
  assert_non_null(src);
  fill(src, total, 7);
  uint64_t t0 = akt_sim_now(f.w);
  size_t off = 0, writes = 0;
  while (off < total) {
    size_t n = writes % 3001 + 1;
    if (n > total - off) n = total - off;
    assert_int_equal(f.a->ops->stream_write(f.a, c.s, src + off, n), 0);
    off += n;
    writes++;
  }
  assert_true(writes > 500);
  assert_int_equal(f.a->ops->stream_pending(f.a, c.s), total);
  assert_int_equal(sv.conn.reads, 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.conn.nrx, total);
  assert_memory_equal(sv.conn.rx, src, total);
  assert_int_equal(sv.conn.first_read_at, t0 + LAT);
  assert_int_equal(sv.conn.last_read_at, t0 + LAT);
  assert_int_equal(f.a->ops->stream_pending(f.a, c.s), 0);

  /* One big write goes back as segments, all in order. */
  uint64_t t1 = akt_sim_now(f.w);
  assert_int_equal(f.b->ops->stream_write(f.b, sv.conn.s, src, total), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.nrx, 5 + total);
  assert_memory_equal(c.rx + 5, src, total);
  assert_int_equal(c.last_read_at, t1 + LAT);
  assert_true(c.reads > 2);
  free(src);
  peer_free(&c);
  peer_free(&sv.conn);
  akt_sim_world_free(f.w);
}

static void nobody_listening_refuses(void **state) {
  (void)state;
  net_fixture f = fixture_new(3);
  peer c;
  client_connect(&f, &c, "b", 7001);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_string_equal(c.order, "cx");
  assert_int_equal(c.connect_status, AKT_EREFUSED);
  assert_int_equal(c.connect_at, 2 * LAT); /* a round trip: SYN there, RST back */
  assert_int_equal(c.close_reason, AKT_EREFUSED);
  akt_sim_world_free(f.w);
}

static void an_unknown_node_is_unreachable(void **state) {
  (void)state;
  net_fixture f = fixture_new(4);
  peer c;
  client_connect(&f, &c, "nowhere", 80);
  uint8_t x = 1;
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, &x, 1), 0); /* queued until connected */
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_string_equal(c.order, "cx");
  assert_int_equal(c.connect_status, AKT_EUNREACH);
  assert_int_equal(c.close_reason, AKT_EUNREACH);
  assert_int_equal(c.close_at, 0);
  akt_addr bad = addr_of("b", 0);
  akt_stream *s;
  assert_int_equal(f.a->ops->connect(f.a, &bad, &peer_cbs, &c, &s), AKT_EINVAL);
  akt_sim_world_free(f.w);
}

static void listen_twice_is_eexist_and_port_zero_picks_one(void **state) {
  (void)state;
  net_fixture f = fixture_new(5);
  server sv, sv2;
  server_listen(&f, &sv, 7000, 1);
  akt_listener *l;
  akt_addr at = addr_of("b", 7000);
  assert_int_equal(f.b->ops->listen(f.b, &at, on_accept, &sv2, &l), AKT_EEXIST);
  at = addr_of("b", 0);
  memset(&sv2, 0, sizeof sv2);
  sv2.w = f.w;
  sv2.b = f.b;
  sv2.start = 1;
  assert_int_equal(f.b->ops->listen(f.b, &at, on_accept, &sv2, &sv2.l), 0);
  akt_addr la;
  assert_int_equal(f.b->ops->listener_addr(f.b, sv2.l, &la), 0);
  assert_string_equal(la.host, "b");
  assert_int_equal(la.port, AKT__SIM_PORT_AUTO);
  akt_listener *l2, *l3;
  at = addr_of("", 0);
  assert_int_equal(f.b->ops->listen(f.b, &at, on_accept, &sv2, &l2), 0);
  assert_int_equal(f.b->ops->listener_addr(f.b, l2, &la), 0);
  assert_int_equal(la.port, AKT__SIM_PORT_AUTO + 1);
  at = addr_of("0.0.0.0", 7001);
  assert_int_equal(f.b->ops->listen(f.b, &at, on_accept, &sv2, &l3), 0);
  at = addr_of("a", 7002); /* not this node */
  assert_int_equal(f.b->ops->listen(f.b, &at, on_accept, &sv2, &l), AKT_EINVAL);
  at = addr_of("b", 7000); /* another node's host */
  assert_int_equal(f.a->ops->listen(f.a, &at, on_accept, &sv2, &l), AKT_EINVAL);
  at = addr_of("a", 7000); /* the same port on another node is free */
  assert_int_equal(f.a->ops->listen(f.a, &at, on_accept, &sv2, &l), 0);

  peer c;
  client_connect(&f, &c, "b", AKT__SIM_PORT_AUTO);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv2.accepts, 1);
  assert_int_equal(c.connect_status, 0);
  f.b->ops->listener_close(f.b, l2);
  f.b->ops->listener_close(f.b, l3);
  akt_sim_world_free(f.w); /* frees the other listeners and the open streams */
}

static void close_flushes_then_the_peer_sees_eclosed(void **state) {
  (void)state;
  net_fixture f = fixture_new(6);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  sv.conn.keep = 1;
  peer c;
  client_connect(&f, &c, "b", 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  size_t len = 200 * 1024;
  uint8_t *src = malloc(len);
  fill(src, len, 3);
  uint64_t t0 = akt_sim_now(f.w);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, src, len), 0);
  c.in_call = 1;
  f.a->ops->stream_close(f.a, c.s);
  f.a->ops->stream_close(f.a, c.s); /* safe twice */
  c.in_call = 0;
  uint8_t x = 0;
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, &x, 1), AKT_ECLOSED);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.closes, 1);
  assert_int_equal(c.close_reason, 0);
  assert_int_equal(c.close_at, t0);
  assert_string_equal(sv.conn.order, "rx");
  assert_int_equal(sv.conn.nrx, len);
  assert_memory_equal(sv.conn.rx, src, len);
  assert_int_equal(sv.conn.close_reason, AKT_ECLOSED);
  assert_int_equal(sv.conn.close_at, t0 + LAT);
  free(src);
  peer_free(&sv.conn);
  akt_sim_world_free(f.w);
}

static void close_while_connecting_still_sends(void **state) {
  (void)state;
  net_fixture f = fixture_new(7);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  sv.conn.keep = 1;
  peer c;
  client_connect(&f, &c, "b", 7000);
  uint8_t msg[10] = "0123456789";
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, msg, sizeof msg), 0);
  assert_int_equal(f.a->ops->stream_pending(f.a, c.s), sizeof msg);
  f.a->ops->stream_close(f.a, c.s);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_string_equal(c.order, "cx");
  assert_int_equal(c.connect_status, 0);
  assert_int_equal(c.close_reason, 0);
  assert_int_equal(c.close_at, 2 * LAT);
  assert_string_equal(sv.conn.order, "rx");
  assert_int_equal(sv.conn.nrx, sizeof msg);
  assert_memory_equal(sv.conn.rx, msg, sizeof msg);
  assert_int_equal(sv.conn.first_read_at, 3 * LAT);
  assert_int_equal(sv.conn.close_reason, AKT_ECLOSED);
  peer_free(&sv.conn);
  akt_sim_world_free(f.w);
}

static void an_accepted_stream_reads_from_stream_start(void **state) {
  (void)state;
  net_fixture f = fixture_new(8);
  server sv;
  server_listen(&f, &sv, 7000, 0); /* not started in on_accept */
  peer c;
  client_connect(&f, &c, "b", 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  uint8_t msg[5000];
  fill(msg, sizeof msg, 1);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, msg, sizeof msg), 0);
  f.a->ops->stream_close(f.a, c.s);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.close_reason, 0);
  assert_int_equal(sv.conn.reads + sv.conn.closes, 0);
  /* Unread bytes hold the writer's budget. */
  sv.conn.keep = 1;
  sv.conn.in_call = 1;
  assert_int_equal(f.b->ops->stream_start(f.b, sv.conn.s, &peer_cbs, &sv.conn), 0);
  sv.conn.in_call = 0;
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_string_equal(sv.conn.order, "rx");
  assert_int_equal(sv.conn.nrx, sizeof msg);
  assert_memory_equal(sv.conn.rx, msg, sizeof msg);
  assert_int_equal(sv.conn.close_reason, AKT_ECLOSED);
  peer_free(&sv.conn);
  akt_sim_world_free(f.w);
}

static void the_write_limit_gives_efull(void **state) {
  (void)state;
  net_fixture f = fixture_new(9);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  peer c;
  client_connect(&f, &c, "b", 7000);
  size_t chunk = (size_t)1 << 20;
  uint8_t *buf = calloc(1, chunk);
  for (size_t sent = 0; sent < AKT__SIM_WRITE_LIMIT; sent += chunk)
    assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, chunk), 0);
  assert_int_equal(f.a->ops->stream_pending(f.a, c.s), AKT__SIM_WRITE_LIMIT);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, 1), AKT_EFULL);
  assert_int_equal(akt__sim_net_get(f.w)->stats.write_full, 1);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.conn.nrx, AKT__SIM_WRITE_LIMIT);
  assert_int_equal(f.a->ops->stream_pending(f.a, c.s), 0);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, 1), 0);
  /* One write over the limit is refused outright. */
  akt__sim_net_get(f.w)->write_limit = 100;
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, 101), AKT_EFULL);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, 99), 0);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, 1), AKT_EFULL);
  free(buf);
  akt_sim_world_free(f.w);
}

static void loopback_and_both_ends_closing(void **state) {
  (void)state;
  net_fixture f = fixture_new(13);
  /* A node connects to itself. */
  server sv;
  memset(&sv, 0, sizeof sv);
  sv.w = f.w;
  sv.b = f.a;
  sv.start = 1;
  akt_addr at = addr_of("a", 80);
  assert_int_equal(f.a->ops->listen(f.a, &at, on_accept, &sv, &sv.l), 0);
  peer c;
  client_connect(&f, &c, "a", 80);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.connect_status, 0);
  assert_int_equal(c.connect_at, 2 * LAT);
  /* Both close at the same instant: each sees 0, the crossing FINs are
   * ignored. */
  f.a->ops->stream_close(f.a, c.s);
  f.a->ops->stream_close(f.a, sv.conn.s);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.close_reason, 0);
  assert_int_equal(sv.conn.close_reason, 0);
  assert_int_equal(c.closes + sv.conn.closes, 2);

  /* Closing inside on_read: no more reads, the rest is dropped. */
  peer c2;
  client_connect(&f, &c2, "a", 80);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  sv.conn.close_on_read = 1;
  uint8_t x[3] = {1, 2, 3};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(f.a->ops->stream_write(f.a, c2.s, x, 3), 0);
    assert_int_equal(akt_sim_run_for(f.w, AKT_MICROS(10)), 0);
  }
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.conn.reads, 1);
  assert_string_equal(sv.conn.order, "rx");
  assert_int_equal(sv.conn.close_reason, 0);
  assert_int_equal(c2.close_reason, AKT_ECLOSED);
  assert_int_equal(akt__sim_net_get(f.w)->stats.bytes_dropped, 6);
  f.a->ops->listener_close(f.a, sv.l);
  akt_sim_world_free(f.w);
}

/* ---- datagrams ------------------------------------------------------------------ */

typedef struct inbox {
  akt_sim_world *w;
  int n;
  uint64_t at;
  akt_addr from;
  size_t len;
  uint8_t first;
} inbox;

static void on_dgram(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                     void *data) {
  (void)d;
  inbox *in = data;
  in->n++;
  in->at = akt_sim_now(in->w);
  in->from = *from;
  in->len = len;
  in->first = len ? buf[0] : 0;
}

static void datagrams_arrive_after_the_latency_or_drop(void **state) {
  (void)state;
  net_fixture f = fixture_new(10);
  inbox ia = {.w = f.w}, ib = {.w = f.w}, ic = {.w = f.w};
  akt_dgram *da, *db, *dc, *dx;
  akt_addr at = addr_of("a", 9000);
  assert_int_equal(f.a->ops->dgram_open(f.a, &at, on_dgram, &ia, &da), 0);
  at = addr_of("b", 0);
  assert_int_equal(f.b->ops->dgram_open(f.b, &at, on_dgram, &ib, &db), 0);
  akt_addr bound;
  assert_int_equal(f.b->ops->dgram_addr(f.b, db, &bound), 0);
  assert_string_equal(bound.host, "b");
  assert_int_equal(bound.port, AKT__SIM_PORT_AUTO);
  assert_int_equal(f.b->ops->dgram_open(f.b, &bound, on_dgram, &ib, &dx), AKT_EEXIST);
  at = addr_of("a", 1);
  assert_int_equal(f.b->ops->dgram_open(f.b, &at, on_dgram, &ib, &dx), AKT_EINVAL);

  uint8_t big[AKT__SIM_DGRAM_MAX + 1];
  fill(big, sizeof big, 5);
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &bound, big, 100), 0);
  assert_int_equal(ib.n, 0);
  akt_addr nobody = addr_of("b", 40001), nowhere = addr_of("zz", 1);
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &nobody, big, 10), 0);
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &nowhere, big, 10), 0);
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &bound, big, sizeof big), AKT_ELIMIT);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(ib.n, 1);
  assert_int_equal(ib.at, LAT);
  assert_int_equal(ib.len, 100);
  assert_int_equal(ib.first, big[0]);
  assert_string_equal(ib.from.host, "a");
  assert_int_equal(ib.from.port, 9000);
  assert_int_equal(akt__sim_net_get(f.w)->stats.dgram_dropped, 2);
  assert_int_equal(akt__sim_net_get(f.w)->stats.dgram_too_big, 1);

  /* The largest datagram goes; a reply goes back to the sender's port. */
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &bound, big, AKT__SIM_DGRAM_MAX), 0);
  akt_addr back = addr_of("a", 9000);
  assert_int_equal(f.b->ops->dgram_send(f.b, db, &back, big + 1, 1), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(ib.n, 2);
  assert_int_equal(ib.len, AKT__SIM_DGRAM_MAX);
  assert_int_equal(ia.n, 1);
  assert_int_equal(ia.first, big[1]);
  assert_int_equal(ia.from.port, AKT__SIM_PORT_AUTO);

  /* Closed while a datagram travels: it is dropped; a new endpoint bound
   * there meanwhile receives the next one. */
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &bound, big, 10), 0);
  f.b->ops->dgram_close(f.b, db);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(ib.n, 2);
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &bound, big, 10), 0);
  assert_int_equal(f.b->ops->dgram_open(f.b, &bound, on_dgram, &ic, &dc), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(ic.n, 1);
  f.a->ops->dgram_close(f.a, da);
  akt_sim_world_free(f.w); /* frees dc */
}

static void listener_close_stops_accepts(void **state) {
  (void)state;
  net_fixture f = fixture_new(11);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  peer c1;
  client_connect(&f, &c1, "b", 7000);
  f.b->ops->listener_close(f.b, sv.l); /* the SYN is still on its way */
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.accepts, 0);
  assert_int_equal(c1.connect_status, AKT_EREFUSED);
  peer c2;
  client_connect(&f, &c2, "b", 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c2.connect_status, AKT_EREFUSED);
  assert_string_equal(c2.order, "cx");
  /* The port is free again; accepted streams outlive their listener. */
  server_listen(&f, &sv, 7000, 1);
  peer c3;
  client_connect(&f, &c3, "b", 7000);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c3.connect_status, 0);
  f.b->ops->listener_close(f.b, sv.l);
  uint8_t x = 42;
  assert_int_equal(f.a->ops->stream_write(f.a, c3.s, &x, 1), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(sv.conn.nrx, 1);
  akt_sim_world_free(f.w);
}

/* ---- determinism and teardown ----------------------------------------------- */

/* A small workload: a connection, bytes both ways, a datagram, a close.
 * Returns the digest. */
static uint64_t scenario_digest(uint64_t seed, akt_duration latency, uint64_t *records) {
  net_fixture f = fixture_new(seed);
  akt__sim_net_get(f.w)->defaults.latency = latency;
  server sv;
  server_listen(&f, &sv, 7000, 1);
  uint8_t hi[3] = {'h', 'i', '!'};
  sv.greet = hi;
  sv.greet_len = 3;
  peer c;
  client_connect(&f, &c, "b", 7000);
  uint8_t buf[70000];
  fill(buf, sizeof buf, (uint32_t)seed);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, sizeof buf), 0);
  akt_dgram *da, *db;
  inbox ib = {.w = f.w};
  akt_addr at = addr_of("a", 0), bt = addr_of("b", 5353);
  assert_int_equal(f.a->ops->dgram_open(f.a, &at, on_dgram, &ib, &da), 0);
  assert_int_equal(f.b->ops->dgram_open(f.b, &bt, on_dgram, &ib, &db), 0);
  assert_int_equal(f.a->ops->dgram_send(f.a, da, &bt, buf, 512), 0);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  f.b->ops->stream_close(f.b, sv.conn.s);
  assert_int_equal(akt_sim_run_until_idle(f.w), 0);
  assert_int_equal(c.close_reason, AKT_ECLOSED);
  assert_int_equal(sv.conn.nrx, sizeof buf);
  assert_int_equal(ib.n, 1);
  uint64_t d = akt_sim_digest(f.w);
  *records = akt_sim_records(f.w);
  akt_sim_world_free(f.w);
  return d;
}

static void the_digest_covers_the_traffic(void **state) {
  (void)state;
  uint64_t r1, r2, r3;
  uint64_t d1 = scenario_digest(7, AKT_MILLIS(1), &r1);
  uint64_t d2 = scenario_digest(7, AKT_MILLIS(1), &r2);
  uint64_t d3 = scenario_digest(7, AKT_MILLIS(2), &r3);
  assert_true(r1 > 10);
  assert_int_equal(r1, r2);
  assert_true(d1 == d2);
  assert_int_equal(r1, r3);
  assert_true(d1 != d3);
}

static void traffic_is_in_the_trace_file(void **state) {
  (void)state;
  char path[] = "/tmp/akt-net-trace-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  akt_sim_world *w = NULL;
  akt_sim_options o = {.seed = 1, .trace_path = path};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  net_fixture f = {.w = w};
  assert_int_equal(akt_sim_node_new(w, "a", &f.a), 0);
  assert_int_equal(akt_sim_node_new(w, "b", &f.b), 0);
  server sv;
  server_listen(&f, &sv, 7000, 1);
  peer c;
  client_connect(&f, &c, "b", 7000);
  uint8_t x[4] = {1, 2, 3, 4};
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, x, 4), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  akt_sim_world_free(w);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  unlink(path);
  char want[256];
  snprintf(want, sizeof want,
           "0.000000000 a net a=0 p=0 c=0 h=0000000000000000 t=connect x=a:%u->b:7000\n",
           AKT__SIM_PORT_EPHEMERAL);
  assert_non_null(
      strstr(text, "0.000000000 b net a=0 p=0 c=0 h=0000000000000000 t=listen x=b:7000\n"));
  assert_non_null(strstr(text, want));
  assert_non_null(strstr(text, " a net a=0 p=0 c=4 h="));
  assert_non_null(strstr(text, "0.003000000 b net a=0 p=0 c=4 h="));
  assert_non_null(strstr(text, " t=deliver x=a:"));
}

static void world_free_drops_streams_and_bytes_in_flight(void **state) {
  (void)state;
  net_fixture f = fixture_new(12);
  server sv, idle;
  server_listen(&f, &sv, 7000, 1);
  peer c, c2;
  client_connect(&f, &c, "b", 7000);
  uint8_t *buf = calloc(1, (size_t)1 << 20);
  assert_int_equal(f.a->ops->stream_write(f.a, c.s, buf, (size_t)1 << 20), 0);
  /* An accepted stream nobody started, with bytes waiting for it. */
  memset(&idle, 0, sizeof idle);
  idle.w = f.w;
  idle.b = f.b;
  akt_addr at = addr_of("b", 7001);
  assert_int_equal(f.b->ops->listen(f.b, &at, on_accept, &idle, &idle.l), 0);
  client_connect(&f, &c2, "b", 7001);
  assert_int_equal(f.a->ops->stream_write(f.a, c2.s, buf, 1000), 0);
  akt_dgram *d;
  akt_addr da = addr_of("a", 1);
  inbox in = {.w = f.w};
  assert_int_equal(f.a->ops->dgram_open(f.a, &da, on_dgram, &in, &d), 0);
  assert_int_equal(f.a->ops->dgram_send(f.a, d, &da, buf, 100), 0);
  /* Connected at 2 ms; the bytes left then and are still in flight. */
  assert_int_equal(akt_sim_run_for(f.w, AKT_MICROS(2500)), 0);
  assert_int_equal(c.connects, 1);
  assert_int_equal(sv.conn.reads, 0);
  assert_int_equal(in.n, 1);
  uint8_t x = 1;
  assert_int_equal(f.a->ops->dgram_send(f.a, d, &da, &x, 1), 0);
  f.a->ops->stream_close(f.a, c2.s); /* its on_close is pending too */
  akt_sim_world_free(f.w);
  assert_int_equal(c.closes + sv.conn.closes + c2.closes, 0); /* no callbacks */
  free(buf);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(connect_and_accept_take_one_latency_each),
    cmocka_unit_test(each_link_has_its_own_latency),
    cmocka_unit_test(a_mebibyte_arrives_intact_and_in_order),
    cmocka_unit_test(nobody_listening_refuses),
    cmocka_unit_test(an_unknown_node_is_unreachable),
    cmocka_unit_test(listen_twice_is_eexist_and_port_zero_picks_one),
    cmocka_unit_test(close_flushes_then_the_peer_sees_eclosed),
    cmocka_unit_test(close_while_connecting_still_sends),
    cmocka_unit_test(an_accepted_stream_reads_from_stream_start),
    cmocka_unit_test(the_write_limit_gives_efull),
    cmocka_unit_test(loopback_and_both_ends_closing),
    cmocka_unit_test(datagrams_arrive_after_the_latency_or_drop),
    cmocka_unit_test(listener_close_stops_accepts),
    cmocka_unit_test(the_digest_covers_the_traffic),
    cmocka_unit_test(traffic_is_in_the_trace_file),
    cmocka_unit_test(world_free_drops_streams_and_bytes_in_flight),
};

AKT_TEST_MAIN("sim/net", tests)
