/* Tests of the production backend's TCP streams and listeners on
 * 127.0.0.1 (and ::1): ordering, flushing on close, refusal, address in use,
 * the write limit, failures before stream_start, many clients at once. */
#include <stdlib.h>

#include "uv_test_conn.h"

/* ---- TCP ---------------------------------------------------------------------- */

#define MIB (1u << 20)

static void tcp_transfers_bytes_in_order(void **state) {
  (void)state;
  akt_backend *b = test_backend(2, NULL, 0);
  server sv;
  server_open(&sv, b, 1, 1);
  uint8_t *data = malloc(MIB);
  assert_non_null(data);
  fill_pattern(data, MIB, 42);

  conn cl;
  conn_init(&cl, b);
  assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl, &cl.s), 0);
  /* Written before the connect completes: queued, then sent in order. */
  assert_int_equal(write_chunked(b, cl.s, data, MIB), 0);
  assert_true(b->ops->stream_pending(b, cl.s) <= MIB);

  assert_int_equal(b->ops->wait(b, server_has, &sv, test_deadline(b, TEST_PATIENCE)), 0);
  conn *sc = &sv.conns[0];
  conn_wait_rx(sc, MIB);
  assert_memory_equal(sc->rx, data, MIB);
  conn_wait_rx(&cl, MIB); /* the echo */
  assert_memory_equal(cl.rx, data, MIB);
  assert_int_equal(b->ops->stream_pending(b, cl.s), 0);
  assert_int_equal(atomic_load(&cl.connect_status), 0);

  akt_addr peer;
  assert_int_equal(b->ops->stream_peer(b, sc->s, &peer), 0);
  assert_string_equal(peer.host, "127.0.0.1");
  assert_int_equal(b->ops->stream_peer(b, cl.s, &peer), 0);
  assert_int_equal(peer.port, sv.addr.port);

  /* Our close: on_close(0) here, AKT_ECLOSED at the peer. */
  b->ops->stream_close(b, cl.s);
  b->ops->stream_close(b, cl.s); /* safe twice */
  test_wait_flag(b, &cl.closed);
  test_wait_flag(b, &sc->closed);
  assert_int_equal(atomic_load(&cl.close_reason), 0);
  assert_int_equal(atomic_load(&sc->close_reason), AKT_ECLOSED);
  assert_string_equal(cl.order, "cx");
  assert_string_equal(sc->order, "x");
  assert_false(atomic_load(&cl.off_loop));
  assert_false(atomic_load(&sc->off_loop));

  b->ops->listener_close(b, sv.l);
  akt_uv_backend_free(b);
  conn_free(&cl);
  server_free(&sv);
  free(data);
}

static void tcp_close_flushes_queued_bytes(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  server sv;
  server_open(&sv, b, 1, 0);
  enum { LEN = 256 * 1024 };
  uint8_t *data = malloc(LEN);
  fill_pattern(data, LEN, 7);
  conn cl;
  conn_init(&cl, b);
  assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl, &cl.s), 0);
  assert_int_equal(write_chunked(b, cl.s, data, LEN), 0);
  b->ops->stream_close(b, cl.s); /* before the connect completes */
  assert_int_equal(b->ops->stream_write(b, cl.s, data, 1), AKT_ECLOSED);
  test_wait_flag(b, &cl.closed);
  assert_string_equal(cl.order, "cx");
  assert_int_equal(atomic_load(&cl.connect_status), 0);
  assert_int_equal(atomic_load(&cl.close_reason), 0);
  assert_int_equal(b->ops->wait(b, server_has, &sv, test_deadline(b, TEST_PATIENCE)), 0);
  conn *sc = &sv.conns[0];
  test_wait_flag(b, &sc->closed);
  assert_int_equal(atomic_load(&sc->close_reason), AKT_ECLOSED);
  assert_int_equal(atomic_load(&sc->rx_total), LEN);
  assert_memory_equal(sc->rx, data, LEN);
  b->ops->listener_close(b, sv.l);
  akt_uv_backend_free(b);
  conn_free(&cl);
  server_free(&sv);
  free(data);
}

static void tcp_connect_refused(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  server sv;
  server_open(&sv, b, 1, 0);
  akt_addr addr = sv.addr;
  b->ops->listener_close(b, sv.l); /* the port is now closed */
  conn cl;
  conn_init(&cl, b);
  assert_int_equal(b->ops->connect(b, &addr, &conn_cbs, &cl, &cl.s), 0);
  test_wait_flag(b, &cl.closed);
  int st = atomic_load(&cl.connect_status);
  assert_true(st == AKT_EREFUSED || st == AKT_EUNREACH);
  assert_string_equal(cl.order, "cx");
  assert_true(atomic_load(&cl.close_reason) < 0);

  akt_addr bad = {.host = "not an address", .port = 1};
  akt_stream *s = NULL;
  assert_int_equal(b->ops->connect(b, &bad, &conn_cbs, &cl, &s), AKT_EINVAL);
  akt_uv_backend_free(b);
  conn_free(&cl);
  server_free(&sv);
}

static void tcp_listen_twice_is_eexist(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  server sv;
  server_open(&sv, b, 1, 0);
  akt_listener *l2 = NULL;
  assert_int_equal(b->ops->listen(b, &sv.addr, server_on_accept, &sv, &l2), AKT_EEXIST);
  assert_null(l2);
  akt_addr bad = {.host = "localhost", .port = 0}; /* names are resolved first */
  assert_int_equal(b->ops->listen(b, &bad, server_on_accept, &sv, &l2), AKT_EINVAL);
  b->ops->listener_close(b, sv.l);
  akt_uv_backend_free(b);
  server_free(&sv);
}

static void tcp_write_limit_gives_efull(void **state) {
  (void)state;
  enum { LIMIT = 64 * 1024, CHUNK = 8 * 1024 };
  akt_backend *b = test_backend(1, NULL, LIMIT);
  server sv;
  server_open(&sv, b, 0, 0); /* accepted streams are never read */
  conn cl;
  conn_init(&cl, b);
  assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl, &cl.s), 0);
  test_wait_flag(b, &cl.connected);
  assert_int_equal(b->ops->wait(b, server_has, &sv, test_deadline(b, TEST_PATIENCE)), 0);

  uint8_t chunk[CHUNK];
  memset(chunk, 'x', sizeof chunk);
  uint8_t big[LIMIT + 1];
  memset(big, 'y', sizeof big);
  assert_int_equal(b->ops->stream_write(b, cl.s, big, sizeof big), AKT_EFULL);

  /* The kernel's buffers fill, then ours: EFULL, never unbounded memory. */
  uint64_t until = test_deadline(b, TEST_PATIENCE);
  int rc = 0;
  size_t written = 0;
  while ((rc = b->ops->stream_write(b, cl.s, chunk, sizeof chunk)) == 0) {
    written += sizeof chunk;
    assert_true(b->ops->now(b) < until);
    assert_true(written < (size_t)1 << 30);
  }
  assert_int_equal(rc, AKT_EFULL);
  size_t pending = b->ops->stream_pending(b, cl.s);
  assert_true(pending > 0); /* the peer reads nothing, so it cannot drain */
  assert_true(pending <= LIMIT);

  /* Closing waits for the queue to drain; the peer going away ends it. */
  b->ops->stream_close(b, cl.s);
  b->ops->stream_close(b, sv.conns[0].s);
  test_wait_flag(b, &cl.closed);
  assert_int_equal(atomic_load(&cl.close_reason), 0);
  b->ops->listener_close(b, sv.l);
  akt_uv_backend_free(b);
  conn_free(&cl);
  server_free(&sv);
}

/* An accepted stream whose writes fail before anyone called stream_start
 * stays valid; the late stream_start gets the failure through on_close. */
static void tcp_accepted_stream_fails_before_start(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  server sv;
  server_open(&sv, b, 0, 0);
  conn cl;
  conn_init(&cl, b);
  assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl, &cl.s), 0);
  assert_int_equal(b->ops->wait(b, server_has, &sv, test_deadline(b, TEST_PATIENCE)), 0);
  b->ops->stream_close(b, cl.s);
  test_wait_flag(b, &cl.closed);

  conn *sc = &sv.conns[0];
  uint64_t until = test_deadline(b, TEST_PATIENCE);
  int rc;
  while ((rc = b->ops->stream_write(b, sc->s, (const uint8_t *)"ping", 4)) == 0) {
    assert_true(b->ops->now(b) < until);
    (void)b->ops->wait(b, never, NULL, test_deadline(b, AKT_MILLIS(2)));
  }
  assert_int_equal(rc, AKT_ECLOSED);
  assert_int_equal(b->ops->stream_start(b, sc->s, &conn_cbs, sc), 0);
  test_wait_flag(b, &sc->closed);
  assert_int_equal(atomic_load(&sc->close_reason), AKT_ECLOSED);
  assert_string_equal(sc->order, "x");
  b->ops->listener_close(b, sv.l);
  akt_uv_backend_free(b);
  conn_free(&cl);
  server_free(&sv);
}

/* stream_close from inside a callback, over IPv6 when the host has it. */
static void tcp_close_from_callback(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  const char *hosts[] = {"127.0.0.1", "::1"};
  for (int h = 0; h < 2; h++) {
    server sv;
    memset(&sv, 0, sizeof sv);
    sv.b = b;
    sv.start = 1;
    sv.echo = 1;
    sv.close_on_read = 1;
    for (int i = 0; i < SERVER_MAX; i++) conn_init(&sv.conns[i], b);
    akt_addr a = {.port = 0};
    snprintf(a.host, sizeof a.host, "%s", hosts[h]);
    int rc = b->ops->listen(b, &a, server_on_accept, &sv, &sv.l);
    if (h == 1 && rc != 0) break; /* no IPv6 here */
    assert_int_equal(rc, 0);
    assert_int_equal(b->ops->listener_addr(b, sv.l, &sv.addr), 0);
    assert_string_equal(sv.addr.host, hosts[h]);
    conn cl;
    conn_init(&cl, b);
    assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl, &cl.s), 0);
    assert_int_equal(b->ops->stream_write(b, cl.s, (const uint8_t *)"bye", 3), 0);
    assert_int_equal(b->ops->wait(b, server_has, &sv, test_deadline(b, TEST_PATIENCE)), 0);
    conn *sc = &sv.conns[0];
    test_wait_flag(b, &sc->closed);
    test_wait_flag(b, &cl.closed);
    /* The echo queued before the close is flushed first. */
    assert_int_equal(atomic_load(&sc->close_reason), 0);
    assert_int_equal(atomic_load(&cl.close_reason), AKT_ECLOSED);
    assert_int_equal(atomic_load(&cl.rx_total), 3);
    assert_memory_equal(cl.rx, "bye", 3);
    b->ops->listener_close(b, sv.l);
    conn_free(&cl);
    server_free(&sv);
  }
  akt_uv_backend_free(b);
}

/* Several clients, each written by its own worker, against an echo server. */
typedef struct client_task {
  akt_runnable r;
  akt_backend *b;
  conn c;
  const uint8_t *data;
  size_t len;
  atomic_int rc;
  atomic_int done;
} client_task;

static void client_task_run(akt_runnable *self) {
  client_task *t = (client_task *)self;
  atomic_store(&t->rc, write_chunked(t->b, t->c.s, t->data, t->len));
  atomic_store(&t->done, 1);
  t->b->ops->wake(t->b);
}

static int server_has_all(void *arg) {
  server *sv = arg;
  return atomic_load(&sv->accepted) >= 8;
}

static void tcp_many_clients_from_workers(void **state) {
  (void)state;
  enum { N = 8, LEN = 128 * 1024 };
  akt_backend *b = test_backend(4, NULL, 0);
  server sv;
  server_open(&sv, b, 1, 1);
  uint8_t *data = malloc((size_t)N * LEN);
  fill_pattern(data, (size_t)N * LEN, 99);
  client_task *ts = calloc(N, sizeof *ts);
  for (int i = 0; i < N; i++) {
    client_task *t = &ts[i];
    t->r.run = client_task_run;
    t->b = b;
    conn_init(&t->c, b);
    t->data = data + (size_t)i * LEN;
    t->len = LEN;
    assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &t->c, &t->c.s), 0);
    b->ops->schedule(b, &t->r);
  }
  for (int i = 0; i < N; i++) {
    test_wait_flag(b, &ts[i].done);
    assert_int_equal(atomic_load(&ts[i].rc), 0);
    conn_wait_rx(&ts[i].c, LEN);
    assert_memory_equal(ts[i].c.rx, ts[i].data, LEN);
  }
  assert_int_equal(b->ops->wait(b, server_has_all, &sv, test_deadline(b, TEST_PATIENCE)), 0);
  for (int i = 0; i < N; i++) b->ops->stream_close(b, ts[i].c.s);
  for (int i = 0; i < N; i++) {
    test_wait_flag(b, &ts[i].c.closed);
    test_wait_flag(b, &sv.conns[i].closed);
    assert_int_equal(atomic_load(&sv.conns[i].close_reason), AKT_ECLOSED);
    conn_free(&ts[i].c);
  }
  b->ops->listener_close(b, sv.l);
  akt_uv_backend_free(b);
  server_free(&sv);
  free(ts);
  free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tcp_transfers_bytes_in_order),
      cmocka_unit_test(tcp_close_flushes_queued_bytes),
      cmocka_unit_test(tcp_connect_refused),
      cmocka_unit_test(tcp_listen_twice_is_eexist),
      cmocka_unit_test(tcp_write_limit_gives_efull),
      cmocka_unit_test(tcp_accepted_stream_fails_before_start),
      cmocka_unit_test(tcp_close_from_callback),
      cmocka_unit_test(tcp_many_clients_from_workers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
