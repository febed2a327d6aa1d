/* Tests of the production backend's name resolution and UDP endpoints,
 * and of shutting it down with every kind of handle still open. */
#include <netdb.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "uv_test_conn.h"

/* ---- resolve ---------------------------------------------------------------- */

typedef struct lookup {
  akt_backend *b;
  atomic_int done;
  int status;
  size_t n;
  akt_addr first;
  int on_test_thread;
  pthread_t test_thread;
} lookup;

static void lookup_cb(int status, const akt_addr *addrs, size_t n, void *data) {
  lookup *lk = data;
  lk->status = status;
  lk->n = n;
  if (n > 0) lk->first = addrs[0];
  lk->on_test_thread = pthread_equal(pthread_self(), lk->test_thread);
  atomic_store(&lk->done, 1);
  lk->b->ops->wake(lk->b);
}

static void resolve_one(akt_backend *b, const char *name, lookup *lk) {
  memset(lk, 0, sizeof *lk);
  lk->b = b;
  lk->test_thread = pthread_self();
  assert_int_equal(b->ops->resolve(b, name, lookup_cb, lk), 0);
  test_wait_flag(b, &lk->done);
  assert_false(lk->on_test_thread);
}

/* What the system resolver says about `name`, as an akt code. */
static int system_resolves(const char *name) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (res) freeaddrinfo(res);
  if (rc == 0) return 0;
  return rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY ? AKT_ENOENT : AKT_EBACKEND;
}

static void resolve_names(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  lookup lk;
  resolve_one(b, "127.0.0.1", &lk);
  assert_int_equal(lk.status, 0);
  assert_true(lk.n >= 1);
  assert_string_equal(lk.first.host, "127.0.0.1");
  assert_int_equal(lk.first.port, 0);

  resolve_one(b, "::1", &lk);
  assert_int_equal(lk.status, 0);
  assert_string_equal(lk.first.host, "::1");

  /* Names depend on the machine (/etc/hosts, DNS): the backend must agree
   * with the system resolver, whatever that says. */
  const char *names[] = {"localhost", "no-such-host.invalid"};
  for (size_t i = 0; i < 2; i++) {
    resolve_one(b, names[i], &lk);
    assert_int_equal(lk.status, system_resolves(names[i]));
    assert_true(lk.status == 0 ? lk.n >= 1 : lk.n == 0);
  }

  assert_int_equal(b->ops->resolve(b, NULL, lookup_cb, &lk), AKT_EINVAL);
  assert_int_equal(b->ops->resolve(b, "", lookup_cb, &lk), AKT_EINVAL);
  akt_uv_backend_free(b);
}

/* ---- UDP ----------------------------------------------------------------------- */

typedef struct endpoint {
  akt_backend *b;
  akt_dgram *d;
  akt_addr addr;
  int reply; /* answer "pong" to every datagram */
  atomic_int got;
  akt_addr from;
  char text[16];
} endpoint;

static void endpoint_on_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                             void *data) {
  endpoint *e = data;
  e->from = *from;
  size_t n = len < sizeof e->text - 1 ? len : sizeof e->text - 1;
  memcpy(e->text, buf, n);
  e->text[n] = '\0';
  if (e->reply && e->b->ops->dgram_send(e->b, d, from, (const uint8_t *)"pong", 4) != 0) abort();
  atomic_store(&e->got, 1);
  e->b->ops->wake(e->b);
}

static void endpoint_open(endpoint *e, akt_backend *b, int reply) {
  memset(e, 0, sizeof *e);
  e->b = b;
  e->reply = reply;
  akt_addr a = {.host = "127.0.0.1", .port = 0};
  assert_int_equal(b->ops->dgram_open(b, &a, endpoint_on_recv, e, &e->d), 0);
  assert_int_equal(b->ops->dgram_addr(b, e->d, &e->addr), 0);
  assert_true(e->addr.port != 0);
}

static void udp_endpoints_exchange_datagrams(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  endpoint a, z;
  endpoint_open(&a, b, 0);
  endpoint_open(&z, b, 1);
  assert_int_equal(b->ops->dgram_send(b, a.d, &z.addr, (const uint8_t *)"ping", 4), 0);
  test_wait_flag(b, &z.got);
  test_wait_flag(b, &a.got);
  assert_string_equal(z.text, "ping");
  assert_int_equal(z.from.port, a.addr.port);
  assert_string_equal(a.text, "pong");
  assert_int_equal(a.from.port, z.addr.port);

  static uint8_t huge[65508];
  assert_int_equal(b->ops->dgram_send(b, a.d, &z.addr, huge, sizeof huge), AKT_ELIMIT);
  akt_dgram *dup = NULL;
  assert_int_equal(b->ops->dgram_open(b, &z.addr, endpoint_on_recv, &z, &dup), AKT_EEXIST);
  assert_null(dup);

  b->ops->dgram_close(b, a.d);
  b->ops->dgram_close(b, z.d);
  akt_uv_backend_free(b);
}

/* ---- shutdown with everything open -------------------------------------------- */

static void count_timer(void *arg, uint64_t cookie) {
  (void)cookie;
  test_count_bump(arg);
}

static void free_with_open_handles(void **state) {
  (void)state;
  akt_backend *b = test_backend(2, NULL, 0);
  server sv;
  server_open(&sv, b, 1, 0);
  conn cl;
  conn_init(&cl, b);
  assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl, &cl.s), 0);
  assert_int_equal(b->ops->stream_write(b, cl.s, (const uint8_t *)"hello", 5), 0);
  assert_int_equal(b->ops->wait(b, server_has, &sv, test_deadline(b, TEST_PATIENCE)), 0);
  conn_wait_rx(&sv.conns[0], 5);
  /* More bytes queued, a second connect in flight, a datagram endpoint, a
   * pending timer and a lookup: all dropped by free, none reported. */
  assert_int_equal(b->ops->stream_write(b, cl.s, (const uint8_t *)"world", 5), 0);
  conn cl2;
  conn_init(&cl2, b);
  assert_int_equal(b->ops->connect(b, &sv.addr, &conn_cbs, &cl2, &cl2.s), 0);
  endpoint e;
  endpoint_open(&e, b, 0);
  assert_int_equal(b->ops->dgram_send(b, e.d, &e.addr, (const uint8_t *)"self", 4), 0);
  uint64_t id;
  test_count fired = {0};
  assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(60), count_timer, &fired, 0, &id), 0);
  lookup lk = {.b = b};
  assert_int_equal(b->ops->resolve(b, "localhost", lookup_cb, &lk), 0);
  akt_uv_backend_free(b);
  assert_false(atomic_load(&cl.closed));
  assert_false(atomic_load(&sv.conns[0].closed));
  assert_int_equal(atomic_load(&fired.n), 0);
  conn_free(&cl);
  conn_free(&cl2);
  server_free(&sv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resolve_names),
      cmocka_unit_test(udp_endpoints_exchange_datagrams),
      cmocka_unit_test(free_with_open_handles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
