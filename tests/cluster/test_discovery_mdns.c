/* The mDNS discovery provider on the simulator's multicast: nodes that
 * find each other, TTLs, goodbyes, loss, the responder's manners (delay,
 * rate limit, known answers, legacy queries), hostile packets, conflicts,
 * and a crash with the endpoint open. */
#include "discovery_fixture.h"
#include "src/cluster/mdns_codec.h"

#define GOSSIP 7946
#define MDNS_PORT 5353
#define S(x) AKT_SECONDS(x)
#define MS(x) AKT_MILLIS(x)

typedef struct md {
  akt_sim_world *w;
  akt_backend *b[8];
  akt_discovery *d[8];
  df_answer a[8];
  unsigned n;
} md;

static void md_opts(akt_mdns_discovery_options *o, const char *instance, const char *host,
                    akt_duration ttl) {
  memset(o, 0, sizeof *o);
  o->instance = instance;
  if (host) snprintf(o->self.host, sizeof o->self.host, "%s", host);
  o->self.port = GOSSIP;
  o->ttl = ttl;
}

/* n nodes "m0".."m<n-1>", each with a provider announcing itself. */
static void md_init(md *m, unsigned n, uint64_t seed, akt_duration ttl) {
  memset(m, 0, sizeof *m);
  m->w = df_world(seed);
  m->n = n;
  for (unsigned i = 0; i < n; i++) {
    char name[8];
    snprintf(name, sizeof name, "m%u", i);
    m->b[i] = df_node(m->w, name);
    akt_mdns_discovery_options o;
    md_opts(&o, name, name, ttl);
    assert_int_equal(akt_discovery_mdns_new(&o, &m->d[i]), 0);
    assert_string_equal(m->d[i]->ops->name, "mdns");
  }
}

static void md_free(md *m) {
  for (unsigned i = 0; i < m->n; i++) {
    if (!m->d[i]) continue;
    m->d[i]->ops->cancel(m->d[i], m->b[i]);
    m->d[i]->ops->stop(m->d[i], m->b[i]);
    m->d[i]->ops->free(m->d[i]);
  }
  assert_int_equal(akt_sim_run_until_idle(m->w), 0);
  akt_sim_world_free(m->w);
}

static void md_lookup(md *m, unsigned i) {
  assert_int_equal(df_lookup(m->d[i], m->b[i], m->w, &m->a[i]), 0);
}

static void md_run(md *m, akt_duration d) { assert_int_equal(akt_sim_run_for(m->w, d), 0); }

static akt_discovery_stats md_stats(md *m, unsigned i) {
  akt_discovery_stats st;
  akt_discovery_get_stats(m->d[i], &st);
  return st;
}

/* 1 if node i's last answer holds every node of the first `k`. */
static int md_sees_all(md *m, unsigned i, unsigned k) {
  if (m->a[i].calls != 1 || m->a[i].status) return 0;
  for (unsigned j = 0; j < k; j++) {
    char name[8];
    snprintf(name, sizeof name, "m%u", j);
    if (!df_has(&m->a[i], name, GOSSIP)) return 0;
  }
  return 1;
}

static void nodes_that_look_up_find_each_other(void **state) {
  (void)state;
  md m;
  md_init(&m, 3, 1, 0);
  for (unsigned i = 0; i < 3; i++) md_lookup(&m, i);
  /* The answer comes when the window closes, with the node itself too. */
  md_run(&m, AKT_MDNS_DEFAULT_WINDOW - 1);
  for (unsigned i = 0; i < 3; i++) assert_int_equal(m.a[i].calls, 0);
  md_run(&m, MS(1));
  for (unsigned i = 0; i < 3; i++) {
    assert_true(md_sees_all(&m, i, 3));
    assert_int_equal(m.a[i].n, 3);
    assert_int_equal(m.a[i].at, AKT_MDNS_DEFAULT_WINDOW);
  }
  md_free(&m);
}

static void a_query_only_node_finds_others_and_is_not_found(void **state) {
  (void)state;
  md m;
  md_init(&m, 2, 1, 0);
  akt_mdns_discovery_options o;
  md_opts(&o, NULL, NULL, 0);
  m.b[2] = df_node(m.w, "client");
  assert_int_equal(akt_discovery_mdns_new(&o, &m.d[2]), 0);
  m.n = 3;
  for (unsigned i = 0; i < 3; i++) md_lookup(&m, i);
  md_run(&m, S(1));
  assert_true(md_sees_all(&m, 2, 2));
  assert_int_equal(m.a[2].n, 2);
  assert_int_equal(m.a[0].n, 2); /* m0, m1: the client announced nothing */
  assert_int_equal(md_stats(&m, 2).queries_answered, 0);
  md_free(&m);
}

static void an_ip_host_is_announced_with_its_address_record(void **state) {
  (void)state;
  md m;
  md_init(&m, 1, 1, 0);
  akt_mdns_discovery_options o;
  md_opts(&o, "prod-node", "10.1.2.3", 0);
  m.b[1] = df_node(m.w, "m1");
  assert_int_equal(akt_discovery_mdns_new(&o, &m.d[1]), 0);
  md_opts(&o, "prod-node6", "fd00::7", 0);
  m.b[2] = df_node(m.w, "m2");
  assert_int_equal(akt_discovery_mdns_new(&o, &m.d[2]), 0);
  m.n = 3;
  for (unsigned i = 0; i < 3; i++) md_lookup(&m, i);
  md_run(&m, S(1));
  /* The addresses came in the packets: nothing had to be resolved (the
   * simulator could not resolve "prod-node.local"). */
  assert_true(df_has(&m.a[0], "10.1.2.3", GOSSIP));
  assert_true(df_has(&m.a[0], "fd00::7", GOSSIP));
  assert_true(df_has(&m.a[0], "m0", GOSSIP));
  assert_int_equal(md_stats(&m, 0).names_failed, 0);
  md_free(&m);
}

static void records_expire_at_their_ttl_after_a_silent_crash(void **state) {
  (void)state;
  md m;
  md_init(&m, 2, 1, S(5));
  md_lookup(&m, 0);
  md_lookup(&m, 1);
  md_run(&m, S(1));
  assert_true(md_sees_all(&m, 0, 2));
  /* m1's announcements (0 s, 1 s) refresh m0's cache: its records live
   * until 1 s + 5 s. m1 then vanishes without a goodbye. */
  md_run(&m, S(2));
  assert_int_equal(akt_sim_crash(m.w, m.b[1]), 0);
  m.d[1]->ops->free(m.d[1]); /* what akt_system_drop does to a crashed node's provider */
  m.d[1] = NULL;
  md_lookup(&m, 0);
  md_run(&m, S(1));
  assert_true(df_has(&m.a[0], "m1", GOSSIP)); /* at 3.25 s: still cached */
  md_run(&m, MS(2750)); /* to 6.75 s: its records expired at 6.001 s */
  md_lookup(&m, 0);
  md_run(&m, S(1));
  assert_int_equal(m.a[0].n, 1);
  assert_false(df_has(&m.a[0], "m1", GOSSIP));
  md_free(&m);
}

static void a_goodbye_removes_a_node_within_a_second(void **state) {
  (void)state;
  md m;
  md_init(&m, 2, 1, 0);
  md_lookup(&m, 0);
  md_lookup(&m, 1);
  md_run(&m, S(2));
  assert_true(md_sees_all(&m, 0, 2));
  m.d[1]->ops->stop(m.d[1], m.b[1]); /* the cluster stops: goodbye */
  md_run(&m, MS(1001));
  md_lookup(&m, 0);
  md_run(&m, S(1));
  assert_int_equal(m.a[0].n, 1);
  assert_true(df_has(&m.a[0], "m0", GOSSIP));
  md_free(&m);
}

static void with_thirty_percent_loss_every_node_finds_every_other(void **state) {
  (void)state;
  md m;
  md_init(&m, 6, 7, 0);
  akt_sim_link_faults lossy = {.loss_ppm = 300000};
  assert_int_equal(akt_sim_link_set_all(m.w, &lossy), 0);
  /* Lookups every second, as the cluster's join rounds ask. */
  int all = 0;
  unsigned rounds = 0;
  while (!all && rounds < 20) {
    for (unsigned i = 0; i < m.n; i++) md_lookup(&m, i);
    md_run(&m, S(1));
    rounds++;
    all = 1;
    for (unsigned i = 0; i < m.n; i++) all &= md_sees_all(&m, i, m.n);
  }
  assert_true(all);
  print_message("every node saw all 6 after %u rounds with 30%% loss\n", rounds);
  md_free(&m);
}

static void known_answers_keep_a_responder_quiet(void **state) {
  (void)state;
  md m;
  md_init(&m, 2, 1, 0);
  md_lookup(&m, 0);
  md_run(&m, S(3)); /* m0's announcements are over */
  uint64_t before = md_stats(&m, 0).packets_sent;
  /* A querier on m1 asks five times a second for two seconds: after the
   * first answer it lists m0 as known, and m0 stays silent. (Its window
   * outlasts the 120 ms a responder may wait.) */
  akt_mdns_discovery_options o;
  md_opts(&o, NULL, NULL, 0);
  o.window = MS(150);
  akt_discovery *q;
  assert_int_equal(akt_discovery_mdns_new(&o, &q), 0);
  df_answer a;
  for (int i = 0; i < 10; i++) {
    assert_int_equal(df_lookup(q, m.b[1], m.w, &a), 0);
    md_run(&m, MS(200));
    assert_true(df_has(&a, "m0", GOSSIP));
  }
  assert_int_equal(md_stats(&m, 0).packets_sent - before, 1);
  assert_int_equal(md_stats(&m, 0).answers_suppressed, 9);
  q->ops->stop(q, m.b[1]);
  q->ops->free(q);
  md_free(&m);
}

/* ---- raw packets ------------------------------------------------------------------------- */

typedef struct raw {
  akt_backend *b;
  akt_dgram *d;
  int got;
  akt__mdns_msg msg;
  int parsed;
} raw;

static void raw_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                     void *data) {
  (void)d, (void)from;
  raw *r = data;
  r->got++;
  r->parsed = akt__mdns_parse(buf, len, &r->msg) == 0;
}

/* A query for the service's PTR records from `d`, with no known answers. */
static void raw_query(akt_backend *b, akt_dgram *d, uint16_t id) {
  uint8_t q[128];
  akt__mdns_writer w;
  akt__mdns_w_init(&w, q, sizeof q, id, 0);
  akt__mdns_name svc;
  assert_int_equal(akt__mdns_name_from_text(&svc, "_akt._udp.local"), 0);
  assert_int_equal(akt__mdns_w_question(&w, &svc, AKT__MDNS_PTR, 0), 0);
  akt_addr group = {.host = AKT_MDNS_DEFAULT_GROUP, .port = MDNS_PORT};
  assert_int_equal(b->ops->dgram_send(b, d, &group, q, akt__mdns_w_finish(&w)), 0);
}

static void a_responder_multicasts_at_most_once_a_second(void **state) {
  (void)state;
  md m;
  md_init(&m, 1, 1, 0);
  md_lookup(&m, 0);
  md_run(&m, S(3)); /* its announcements are over */
  uint64_t before = md_stats(&m, 0).packets_sent;
  uint64_t asked = md_stats(&m, 0).queries_answered;
  /* A querier that never learns (no known answers) asks ten times a
   * second from the mDNS port, for two seconds. */
  akt_backend *c = df_node(m.w, "asker");
  static raw r;
  memset(&r, 0, sizeof r);
  akt_addr group = {.host = AKT_MDNS_DEFAULT_GROUP, .port = MDNS_PORT};
  assert_int_equal(c->ops->dgram_open_group(c, &group, NULL, raw_recv, &r, &r.d), 0);
  for (int i = 0; i < 20; i++) {
    raw_query(c, r.d, 0);
    md_run(&m, MS(100));
  }
  md_run(&m, MS(200));
  /* 20-120 ms after the first query (3.0x s), then a second after each
   * (4.0x s, 5.0x s): three, for twenty questions. */
  uint64_t answers = md_stats(&m, 0).packets_sent - before;
  assert_int_equal(answers, 3);
  assert_int_equal(md_stats(&m, 0).queries_answered - asked, 20);
  assert_int_equal(r.got, 20 + 3); /* its own queries come back, and the answers */
  c->ops->dgram_close(c, r.d);
  md_free(&m);
}

static void a_legacy_query_gets_a_unicast_answer_with_its_id(void **state) {
  (void)state;
  md m;
  md_init(&m, 1, 1, 0);
  md_lookup(&m, 0);
  md_run(&m, S(3));
  static raw r;
  memset(&r, 0, sizeof r);
  akt_backend *c = df_node(m.w, "legacy");
  akt_addr any = {.host = "", .port = 40123};
  assert_int_equal(c->ops->dgram_open(c, &any, raw_recv, &r, &r.d), 0);
  raw_query(c, r.d, 0xbeef);
  md_run(&m, MS(10)); /* unicast answers are not delayed */
  akt__mdns_name svc;
  assert_int_equal(akt__mdns_name_from_text(&svc, "_akt._udp.local"), 0);
  assert_int_equal(r.got, 1);
  assert_true(r.parsed);
  assert_int_equal(r.msg.id, 0xbeef);
  assert_int_equal(r.msg.nq, 1);
  assert_true(akt__mdns_name_eq(&r.msg.q[0].name, &svc));
  assert_true(r.msg.nr >= 3);
  for (size_t i = 0; i < r.msg.nr; i++) {
    assert_true(r.msg.r[i].ttl <= 10);
    assert_false(r.msg.r[i].flush);
  }
  c->ops->dgram_close(c, r.d);
  md_free(&m);
}

static void garbage_and_answers_from_other_ports_are_dropped(void **state) {
  (void)state;
  md m;
  md_init(&m, 2, 1, 0);
  md_lookup(&m, 0);
  md_run(&m, S(3));
  akt_backend *c = df_node(m.w, "mallory");
  static raw r;
  memset(&r, 0, sizeof r);
  akt_addr any = {.host = "", .port = 40000};
  assert_int_equal(c->ops->dgram_open(c, &any, raw_recv, &r, &r.d), 0);
  akt_addr group = {.host = AKT_MDNS_DEFAULT_GROUP, .port = MDNS_PORT};
  static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 1};
  assert_int_equal(c->ops->dgram_send(c, r.d, &group, junk, sizeof junk), 0);
  /* A well-formed answer announcing "mallory", but not from port 5353. */
  uint8_t pkt[512];
  akt__mdns_writer w;
  akt__mdns_w_init(&w, pkt, sizeof pkt, 0, AKT__MDNS_QR | AKT__MDNS_AA);
  akt__mdns_record rec;
  memset(&rec, 0, sizeof rec);
  rec.section = AKT__MDNS_ANSWER;
  rec.type = AKT__MDNS_PTR;
  rec.klass = AKT__MDNS_IN;
  rec.ttl = 120;
  assert_int_equal(akt__mdns_name_from_text(&rec.name, "_akt._udp.local"), 0);
  assert_int_equal(akt__mdns_name_join(&rec.target, "mallory", &rec.name), 0);
  assert_int_equal(akt__mdns_w_record(&w, &rec), 0);
  assert_int_equal(c->ops->dgram_send(c, r.d, &group, pkt, akt__mdns_w_finish(&w)), 0);
  md_run(&m, MS(10));
  assert_int_equal(md_stats(&m, 0).packets_dropped, 2);
  md_lookup(&m, 1);
  md_run(&m, S(1));
  assert_int_equal(m.a[1].n, 2); /* m0 and m1, not mallory */
  c->ops->dgram_close(c, r.d);
  md_free(&m);
}

static void another_node_claiming_this_instance_is_a_conflict(void **state) {
  (void)state;
  md m;
  md_init(&m, 1, 1, 0);
  akt_mdns_discovery_options o;
  md_opts(&o, "m0", "m0", 0); /* m1 says it is m0 */
  o.self.port = GOSSIP + 1;
  m.b[1] = df_node(m.w, "m1");
  assert_int_equal(akt_discovery_mdns_new(&o, &m.d[1]), 0);
  m.n = 2;
  md_lookup(&m, 0);
  md_lookup(&m, 1);
  md_run(&m, S(2));
  assert_true(md_stats(&m, 0).conflicts > 0);
  assert_true(md_stats(&m, 1).conflicts > 0);
  md_free(&m);
}

static void a_crash_with_the_endpoint_open_then_free_is_clean(void **state) {
  (void)state;
  md m;
  md_init(&m, 2, 1, 0);
  md_lookup(&m, 0);
  md_lookup(&m, 1);
  md_run(&m, MS(100)); /* lookups in flight, announcements pending */
  assert_int_equal(akt_sim_crash(m.w, m.b[1]), 0);
  m.d[1]->ops->free(m.d[1]); /* the simulator took its endpoint: free leaves it */
  m.d[1] = NULL;
  md_run(&m, S(2));
  assert_int_equal(m.a[0].calls, 1);
  assert_int_equal(m.a[1].calls, 0);
  md_free(&m);
}

static void bad_options_are_refused(void **state) {
  (void)state;
  akt_mdns_discovery_options o;
  akt_discovery *d = NULL;
  md_opts(&o, "n", "n", 0);
  o.service = "akt._udp";
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  o.service = "_akt._sctp";
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  o.service = "_._udp";
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  o.service = NULL;
  o.instance = "a.b";
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  o.instance = "n";
  o.self.port = 0;
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  o.self.port = GOSSIP;
  snprintf(o.self.host, sizeof o.self.host, "0.0.0.0");
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  snprintf(o.self.host, sizeof o.self.host, "n");
  o.window = S(10);
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL); /* not under the timeout */
  o.window = 0;
  o.ttl = MS(500);
  assert_int_equal(akt_discovery_mdns_new(&o, &d), AKT_EINVAL);
  assert_null(d);
  o.ttl = 0;
  o.service = "_my-app._tcp";
  assert_int_equal(akt_discovery_mdns_new(&o, &d), 0);
  d->ops->free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nodes_that_look_up_find_each_other),
      cmocka_unit_test(a_query_only_node_finds_others_and_is_not_found),
      cmocka_unit_test(an_ip_host_is_announced_with_its_address_record),
      cmocka_unit_test(records_expire_at_their_ttl_after_a_silent_crash),
      cmocka_unit_test(a_goodbye_removes_a_node_within_a_second),
      cmocka_unit_test(with_thirty_percent_loss_every_node_finds_every_other),
      cmocka_unit_test(known_answers_keep_a_responder_quiet),
      cmocka_unit_test(a_responder_multicasts_at_most_once_a_second),
      cmocka_unit_test(a_legacy_query_gets_a_unicast_answer_with_its_id),
      cmocka_unit_test(garbage_and_answers_from_other_ports_are_dropped),
      cmocka_unit_test(another_node_claiming_this_instance_is_a_conflict),
      cmocka_unit_test(a_crash_with_the_endpoint_open_then_free_is_clean),
      cmocka_unit_test(bad_options_are_refused),
  };
  return cmocka_run_group_tests_name("discovery-mdns", tests, NULL, NULL);
}
