/* The production backend's operations that discovery needs — SRV lookups
 * (libresolv, against a DNS server on 127.0.0.1), multicast groups on the
 * loopback interface only, the callbacks it owes when it shuts down with
 * lookups and offloaded work in flight — and the DNS and mDNS providers
 * on it. */
#include <errno.h>
#include <time.h>
#include <net/if.h>

#include "uv_test_util.h"
#include "dns_test_server.h"
#include "akt/discovery.h"

/* ---- SRV ------------------------------------------------------------------------------- */

static const dts_entry srv_table[] = {
    {.name = "_gossip._udp.akt.test",
     .n = 3,
     .recs = {{"n1.akt.test", 7946, 0, 10}, {"n2.akt.test", 7947, 0, 20}, {"n3.akt.test", 7948, 5, 0}}},
    {.name = "_gone._udp.akt.test", .n = 1, .recs = {{".", 1, 0, 0}}},
    {.name = "_broken._udp.akt.test", .rcode = DTS_RCODE_SERVFAIL},
};

typedef struct srv_answer {
  akt_backend *b;
  atomic_int calls;
  int status;
  size_t n;
  akt_srv recs[4];
  int on_test_thread;
  pthread_t test_thread;
} srv_answer;

static void on_srv(int status, const akt_srv *recs, size_t n, void *data) {
  srv_answer *a = data;
  a->status = status;
  a->n = n;
  for (size_t i = 0; i < n && i < 4; i++) a->recs[i] = recs[i];
  a->on_test_thread = pthread_equal(pthread_self(), a->test_thread);
  atomic_fetch_add(&a->calls, 1);
  a->b->ops->wake(a->b);
}

static int srv_done(void *arg) { return atomic_load(&((srv_answer *)arg)->calls) > 0; }

static akt_backend *srv_backend(const dts *s) {
  akt_uv_options o;
  memset(&o, 0, sizeof o);
  o.workers = 1;
  snprintf(o.dns_server.host, sizeof o.dns_server.host, "127.0.0.1");
  o.dns_server.port = s->port;
  akt_backend *b = NULL;
  assert_int_equal(akt_uv_backend_new(&o, &b), 0);
  return b;
}

static void lookup_srv(akt_backend *b, const char *name, srv_answer *a) {
  memset(a, 0, sizeof *a);
  a->b = b;
  a->test_thread = pthread_self();
  assert_int_equal(b->ops->resolve_srv(b, name, on_srv, a), 0);
  assert_int_equal(b->ops->wait(b, srv_done, a, test_deadline(b, TEST_PATIENCE)), 0);
  assert_false(a->on_test_thread);
  assert_int_equal(atomic_load(&a->calls), 1);
}

static void srv_records_come_back_as_the_server_sent_them(void **state) {
  (void)state;
  dts s;
  dts_start(&s, srv_table, sizeof srv_table / sizeof srv_table[0]);
  akt_backend *b = srv_backend(&s);
  srv_answer a;
  lookup_srv(b, "_gossip._udp.akt.test", &a);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 3);
  assert_string_equal(a.recs[0].target, "n1.akt.test");
  assert_int_equal(a.recs[0].port, 7946);
  assert_int_equal(a.recs[1].weight, 20);
  assert_int_equal(a.recs[2].priority, 5);
  assert_true(atomic_load(&s.queries) >= 1);
  akt_uv_backend_free(b);
  dts_stop(&s);
}

static void missing_names_and_failing_servers_are_told_apart(void **state) {
  (void)state;
  dts s;
  dts_start(&s, srv_table, sizeof srv_table / sizeof srv_table[0]);
  akt_backend *b = srv_backend(&s);
  srv_answer a;
  lookup_srv(b, "_none._udp.akt.test", &a); /* NXDOMAIN */
  assert_int_equal(a.status, AKT_ENOENT);
  lookup_srv(b, "_gone._udp.akt.test", &a); /* only ".": no service here */
  assert_int_equal(a.status, AKT_ENOENT);
  lookup_srv(b, "_broken._udp.akt.test", &a); /* SERVFAIL */
  assert_int_equal(a.status, AKT_EBACKEND);
  assert_int_equal(b->ops->resolve_srv(b, "", on_srv, &a), AKT_EINVAL);
  assert_int_equal(b->ops->resolve_srv(b, NULL, on_srv, &a), AKT_EINVAL);
  akt_uv_backend_free(b);
  dts_stop(&s);
}

static void a_bad_dns_server_option_is_refused(void **state) {
  (void)state;
  akt_uv_options o;
  memset(&o, 0, sizeof o);
  akt_backend *b = NULL;
  snprintf(o.dns_server.host, sizeof o.dns_server.host, "localhost");
  o.dns_server.port = 53;
  assert_int_equal(akt_uv_backend_new(&o, &b), AKT_EINVAL);
  snprintf(o.dns_server.host, sizeof o.dns_server.host, "127.0.0.1");
  o.dns_server.port = 0;
  assert_int_equal(akt_uv_backend_new(&o, &b), AKT_EINVAL);
}

/* ---- callbacks owed at shutdown --------------------------------------------------------- */

/* libuv's default pool size (UV_THREADPOOL_SIZE unset): this many
 * blocking works keep every pool thread busy. */
#define POOL_THREADS 4
#define OWED_N 100

typedef struct owed {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int resolved, srv, works; /* callbacks so far */
  int released;             /* the blockers may return */
} owed;

static void owed_bump(owed *o, int *counter) {
  pthread_mutex_lock(&o->mu);
  (*counter)++;
  pthread_cond_broadcast(&o->cv);
  pthread_mutex_unlock(&o->mu);
}

static void owed_resolve(int status, const akt_addr *addrs, size_t n, void *data) {
  (void)status, (void)addrs, (void)n;
  owed *o = data;
  owed_bump(o, &o->resolved);
}

static void owed_srv(int status, const akt_srv *recs, size_t n, void *data) {
  (void)status, (void)recs, (void)n;
  owed *o = data;
  owed_bump(o, &o->srv);
}

static void owed_work(void *arg) {
  owed *o = arg;
  owed_bump(o, &o->works);
}

/* Holds a pool thread until the test releases it. */
static void blocker(void *arg) {
  owed *o = arg;
  pthread_mutex_lock(&o->mu);
  while (!o->released) pthread_cond_wait(&o->cv, &o->mu);
  pthread_mutex_unlock(&o->mu);
}

static void *free_backend(void *b) {
  akt_uv_backend_free(b);
  return NULL;
}

static void every_accepted_lookup_and_work_gets_its_callback_at_shutdown(void **state) {
  (void)state;
  dts s;
  dts_start(&s, srv_table, sizeof srv_table / sizeof srv_table[0]);
  owed o = {.resolved = 0};
  pthread_mutex_init(&o.mu, NULL);
  pthread_cond_init(&o.cv, NULL);
  akt_backend *b = srv_backend(&s);
  /* Every pool thread blocked, then lookups and works queued behind them:
   * the shutdown cancels those before they start, and still owes each
   * its callback (resolve: AKT_ESTOPPED; offload: fn on the loop). */
  for (int i = 0; i < POOL_THREADS; i++) assert_int_equal(b->ops->offload(b, blocker, &o), 0);
  for (int i = 0; i < OWED_N; i++) {
    assert_int_equal(b->ops->resolve(b, "127.0.0.1", owed_resolve, &o), 0);
    assert_int_equal(b->ops->resolve_srv(b, "_gossip._udp.akt.test", owed_srv, &o), 0);
    assert_int_equal(b->ops->offload(b, owed_work, &o), 0);
  }
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, free_backend, b), 0);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10; /* bounds a hang only */
  /* The cancelled works run on the loop thread while the pool is still
   * blocked: that they all ran shows the shutdown cancelled them. The
   * lookups' answers may wait for the pool to drain (the loop delivers
   * what it posts itself last), so they are counted after the release. */
  pthread_mutex_lock(&o.mu);
  int rc = 0;
  while (rc == 0 && o.works < OWED_N) rc = pthread_cond_timedwait(&o.cv, &o.mu, &until);
  o.released = 1;
  pthread_cond_broadcast(&o.cv);
  pthread_mutex_unlock(&o.mu);
  pthread_join(t, NULL);
  assert_int_equal(o.works, OWED_N);
  assert_int_equal(o.resolved, OWED_N);
  assert_int_equal(o.srv, OWED_N);
  pthread_cond_destroy(&o.cv);
  pthread_mutex_destroy(&o.mu);
  dts_stop(&s);
}

/* ---- multicast on loopback --------------------------------------------------------------- */

#define MC_GROUP "224.0.0.251"

/* Whether this machine delivers multicast over the loopback interface,
 * asked with plain sockets so that akt's own code is not what decides to
 * skip. Writes why not to `why`. */
static int loopback_multicast_works(uint16_t port, char *why, size_t size) {
  int ok = 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    snprintf(why, size, "socket: %s", strerror(errno));
    return 0;
  }
  int one = 1;
  unsigned char loop = 1;
  struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
  struct ip_mreq mreq = {.imr_interface = lo};
  inet_pton(AF_INET, MC_GROUP, &mreq.imr_multiaddr);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  struct sockaddr_in g = a;
  g.sin_addr = mreq.imr_multiaddr;
  char buf[8];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, (struct sockaddr *)&a, sizeof a) ||
      setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop)) {
    snprintf(why, size, "joining %s on 127.0.0.1: %s", MC_GROUP, strerror(errno));
  } else if (sendto(fd, "probe", 5, 0, (struct sockaddr *)&g, sizeof g) != 5) {
    snprintf(why, size, "sending to %s via 127.0.0.1: %s", MC_GROUP, strerror(errno));
  } else if (poll(&p, 1, 2000) != 1 || recv(fd, buf, sizeof buf, 0) != 5) {
    snprintf(why, size, "a datagram sent to %s via 127.0.0.1 did not come back", MC_GROUP);
  } else {
    ok = 1;
  }
  close(fd);
  return ok;
}

typedef struct mc_ep {
  akt_backend *b;
  akt_dgram *d;
  test_count got;
  char last[16];
  akt_addr from;
} mc_ep;

static void mc_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                    void *data) {
  (void)d;
  mc_ep *e = data;
  snprintf(e->last, sizeof e->last, "%.*s", (int)len, (const char *)buf);
  e->from = *from;
  test_count_bump(&e->got);
}

typedef struct mc_sum {
  mc_ep *e;
  long want;
} mc_sum;

static int mc_sum_reached(void *arg) {
  mc_sum *s = arg;
  return atomic_load(&s->e[0].got.n) + atomic_load(&s->e[1].got.n) >= s->want;
}

static void plain_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                       void *data) {
  (void)d, (void)from, (void)buf, (void)len, (void)data;
}

static uint16_t pick_port(akt_backend *b) {
  akt_addr any = {.host = "127.0.0.1", .port = 0}, got;
  akt_dgram *d;
  assert_int_equal(b->ops->dgram_open(b, &any, plain_recv, NULL, &d), 0);
  assert_int_equal(b->ops->dgram_addr(b, d, &got), 0);
  b->ops->dgram_close(b, d);
  return got.port;
}

/* A port for a test group on loopback; skips the test, saying why, where
 * this machine does not deliver multicast over the loopback interface. */
static uint16_t loopback_multicast_port(akt_backend *b) {
  uint16_t port = pick_port(b);
  char why[160];
  if (!loopback_multicast_works(port, why, sizeof why)) {
    akt_uv_backend_free(b);
    print_message("skipped: multicast over loopback does not work here (%s)\n", why);
    skip();
  }
  return port;
}

static void two_group_endpoints_on_loopback_hear_each_other_and_themselves(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  uint16_t port = loopback_multicast_port(b);
  akt_addr group = {.host = MC_GROUP, .port = port};
  mc_ep e[2];
  for (int i = 0; i < 2; i++) {
    memset(&e[i], 0, sizeof e[i]);
    e[i].b = b;
    e[i].got.b = b;
    assert_int_equal(b->ops->dgram_open_group(b, &group, "127.0.0.1", mc_recv, &e[i], &e[i].d), 0);
  }
  assert_int_equal(b->ops->dgram_send(b, e[0].d, &group, (const uint8_t *)"hi", 2), 0);
  test_wait_count(b, &e[0].got, 1);
  test_wait_count(b, &e[1].got, 1);
  assert_string_equal(e[1].last, "hi");
  assert_string_equal(e[1].from.host, "127.0.0.1");
  assert_int_equal(e[1].from.port, port);
  /* Unicast to the shared port reaches one member too. */
  akt_addr to = {.host = "127.0.0.1", .port = port};
  mc_sum sum = {.e = e, .want = atomic_load(&e[0].got.n) + atomic_load(&e[1].got.n) + 1};
  assert_int_equal(b->ops->dgram_send(b, e[1].d, &to, (const uint8_t *)"u", 1), 0);
  assert_int_equal(b->ops->wait(b, mc_sum_reached, &sum, test_deadline(b, TEST_PATIENCE)), 0);
  for (int i = 0; i < 2; i++) b->ops->dgram_close(b, e[i].d);
  akt_uv_backend_free(b);
}

static void only_multicast_groups_are_joined(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  mc_ep e = {.b = b};
  akt_dgram *d;
  akt_addr unicast = {.host = "127.0.0.1", .port = 40000};
  assert_int_equal(b->ops->dgram_open_group(b, &unicast, NULL, mc_recv, &e, &d), AKT_EINVAL);
  akt_addr name = {.host = "localhost", .port = 40000};
  assert_int_equal(b->ops->dgram_open_group(b, &name, NULL, mc_recv, &e, &d), AKT_EINVAL);
  akt_addr zero = {.host = MC_GROUP, .port = 0};
  assert_int_equal(b->ops->dgram_open_group(b, &zero, NULL, mc_recv, &e, &d), AKT_EINVAL);
  akt_addr group = {.host = MC_GROUP, .port = pick_port(b)};
  /* An interface address that no interface has. */
  assert_int_equal(b->ops->dgram_open_group(b, &group, "192.0.2.1", mc_recv, &e, &d), AKT_EINVAL);
  akt_uv_backend_free(b);
}

/* ---- the providers on libuv ------------------------------------------------------------------- */

typedef struct found {
  akt_backend *b;
  atomic_int calls;
  int status;
  size_t n;
  akt_addr addrs[16];
} found;

static void on_found(int status, const akt_addr *addrs, size_t n, void *arg) {
  found *f = arg;
  f->status = status;
  f->n = n < 16 ? n : 16;
  for (size_t i = 0; i < f->n; i++) f->addrs[i] = addrs[i];
  atomic_fetch_add(&f->calls, 1);
  f->b->ops->wake(f->b);
}

static int found_done(void *arg) { return atomic_load(&((found *)arg)->calls) > 0; }

static void lookup_with(akt_backend *b, akt_discovery *d, found *f) {
  memset(f, 0, sizeof *f);
  f->b = b;
  assert_int_equal(d->ops->lookup(d, b, on_found, f), 0);
  assert_int_equal(b->ops->wait(b, found_done, f, test_deadline(b, TEST_PATIENCE)), 0);
  assert_int_equal(atomic_load(&f->calls), 1);
}

static int found_has(const found *f, const char *host, uint16_t port) {
  for (size_t i = 0; i < f->n; i++)
    if (f->addrs[i].port == port && !strcmp(f->addrs[i].host, host)) return 1;
  return 0;
}

static const dts_entry provider_table[] = {
    {.name = "_gossip._udp.local-cluster.test",
     .n = 2,
     .recs = {{"127.0.0.1", 7946, 0, 0}, {"localhost", 7947, 0, 0}}},
};

static void the_dns_provider_resolves_srv_targets_on_libuv(void **state) {
  (void)state;
  dts s;
  dts_start(&s, provider_table, 1);
  akt_backend *b = srv_backend(&s);
  akt_dns_discovery_options o = {.name = "_gossip._udp.local-cluster.test"};
  akt_discovery *d;
  assert_int_equal(akt_discovery_dns_new(&o, &d), 0);
  found f;
  lookup_with(b, d, &f);
  assert_int_equal(f.status, 0);
  assert_true(found_has(&f, "127.0.0.1", 7946)); /* an address target: as it is */
  /* "localhost" resolves as this machine says (127.0.0.1 and/or ::1). */
  assert_true(found_has(&f, "127.0.0.1", 7947) || found_has(&f, "::1", 7947));
  d->ops->free(d);
  /* A records: the addresses of a name at one port. */
  akt_dns_discovery_options a = {.name = "localhost", .record = AKT_DNS_A, .port = 7000};
  assert_int_equal(akt_discovery_dns_new(&a, &d), 0);
  lookup_with(b, d, &f);
  assert_int_equal(f.status, 0);
  assert_true(found_has(&f, "127.0.0.1", 7000) || found_has(&f, "::1", 7000));
  d->ops->free(d);
  akt_uv_backend_free(b);
  dts_stop(&s);
}

static void mdns_providers_find_each_other_over_loopback_multicast(void **state) {
  (void)state;
  akt_backend *b = test_backend(1, NULL, 0);
  uint16_t port = loopback_multicast_port(b);
  /* Two nodes of one process on 127.0.0.1, on a test port (not 5353: no
   * other responder of this machine is involved), joined on loopback. */
  akt_discovery *d[2];
  for (int i = 0; i < 2; i++) {
    akt_mdns_discovery_options o = {.instance = i ? "node-b" : "node-a", .port = port,
                                    .iface = "127.0.0.1"};
    snprintf(o.self.host, sizeof o.self.host, "127.0.0.1");
    o.self.port = (uint16_t)(7100 + i);
    assert_int_equal(akt_discovery_mdns_new(&o, &d[i]), 0);
  }
  found f[2];
  int both = 0;
  /* Lookups until each sees both (the first may come before the other's
   * endpoint is open): bounded by the rounds, not by time. */
  for (int round = 0; round < 20 && !both; round++) {
    for (int i = 0; i < 2; i++) lookup_with(b, d[i], &f[i]);
    both = 1;
    for (int i = 0; i < 2; i++)
      both &= found_has(&f[i], "127.0.0.1", 7100) && found_has(&f[i], "127.0.0.1", 7101);
  }
  assert_true(both);
  akt_discovery_stats st;
  akt_discovery_get_stats(d[0], &st);
  assert_true(st.packets_received > 0 && st.packets_sent > 0);
  assert_int_equal(st.packets_dropped, 0);
  for (int i = 0; i < 2; i++) {
    d[i]->ops->stop(d[i], b); /* goodbye, and the endpoint closes */
    d[i]->ops->free(d[i]);
  }
  akt_uv_backend_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(srv_records_come_back_as_the_server_sent_them),
      cmocka_unit_test(missing_names_and_failing_servers_are_told_apart),
      cmocka_unit_test(a_bad_dns_server_option_is_refused),
      cmocka_unit_test(every_accepted_lookup_and_work_gets_its_callback_at_shutdown),
      cmocka_unit_test(two_group_endpoints_on_loopback_hear_each_other_and_themselves),
      cmocka_unit_test(only_multicast_groups_are_joined),
      cmocka_unit_test(the_dns_provider_resolves_srv_targets_on_libuv),
      cmocka_unit_test(mdns_providers_find_each_other_over_loopback_multicast),
  };
  return cmocka_run_group_tests_name("transport-uv-discovery", tests, NULL, NULL);
}
