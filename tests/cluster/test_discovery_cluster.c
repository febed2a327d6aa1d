/* Clusters that form through DNS and mDNS discovery on the simulator: a
 * cold start forms exactly one cluster, whether the nodes start together
 * or one by one, with the name table filling as pods become ready, and
 * with datagrams lost. */
#include "sim_fixture.h"
#include "akt/discovery.h"

#define S(x) AKT_SECONDS(x)
#define MS(x) AKT_MILLIS(x)
#define SVC "akt.default.svc.cluster.local"

typedef enum via { VIA_DNS, VIA_MDNS } via;

/* The membership fixture, with a provider per node instead of seeds. */
typedef struct dc {
  sf f; /* first: the hooks get &f->node[i] */
  via via;
} dc;

static int dc_hook_start(akt_backend *b, void *arg) {
  sf_node *nd = arg;
  dc *c = (dc *)nd->f;
  char name[16];
  snprintf(name, sizeof name, "node%u", nd->i);
  akt_system_options so = {.host = name, .port = SF_REMOTING_PORT};
  int rc = akt_system_new(name, b, &so, &nd->sys);
  if (rc) return rc;
  akt_remote_options ro = {.port = SF_REMOTING_PORT, .security.cookie = "discovery-cluster-test-cookie"};
  if ((rc = akt_remote_start(nd->sys, &ro))) return rc;
  akt_discovery *d = NULL;
  if (c->via == VIA_DNS) {
    akt_dns_discovery_options o = {.name = SVC, .record = AKT_DNS_A, .port = SF_GOSSIP_PORT};
    rc = akt_discovery_dns_new(&o, &d);
  } else {
    akt_mdns_discovery_options o = {.instance = name};
    snprintf(o.self.host, sizeof o.self.host, "%s", name);
    o.self.port = SF_GOSSIP_PORT;
    rc = akt_discovery_mdns_new(&o, &d);
  }
  if (rc) return rc;
  akt_cluster_options co = c->f.opts;
  co.gossip_port = SF_GOSSIP_PORT;
  co.discovery = d;
  co.listener = sf_listener;
  co.listener_arg = nd;
  rc = akt_cluster_start(nd->sys, &co);
  if (rc) d->ops->free(d); /* not the cluster's unless it started */
  return rc;
}

static void dc_init(dc *c, unsigned n, uint64_t seed, via v, const akt_cluster_options *opts) {
  memset(c, 0, sizeof *c);
  sf_init(&c->f, n, seed, opts);
  c->via = v;
  for (unsigned i = 0; i < n; i++) {
    akt_sim_node_hooks h = {.start = dc_hook_start, .stop = sf_hook_stop, .arg = &c->f.node[i]};
    assert_int_equal(akt_sim_node_set_hooks(c->f.node[i].b, &h), 0);
  }
}

static void dc_start(dc *c, unsigned i) {
  assert_int_equal(dc_hook_start(c->f.node[i].b, &c->f.node[i]), 0);
}

static size_t dc_formed(dc *c) {
  size_t formed = 0;
  for (size_t k = 0; k < c->f.nev; k++) formed += c->f.ev[k].kind == AKT_CLUSTER_FORMED;
  return formed;
}

/* A ready pod: its address joins the headless service's records. */
static void dc_publish(dc *c, unsigned i) {
  char name[16];
  snprintf(name, sizeof name, "node%u", i);
  assert_int_equal(akt_sim_name_add(c->f.w, SVC, name), 0);
}

static void five_nodes_started_together_through_dns_form_one_cluster(void **state) {
  (void)state;
  dc c;
  dc_init(&c, 5, 1, VIA_DNS, NULL);
  for (unsigned i = 0; i < 5; i++) dc_publish(&c, i);
  for (unsigned i = 0; i < 5; i++) dc_start(&c, i);
  assert_int_equal(sf_run_until_converged(&c.f, S(15)), 0);
  print_message("converged at %.3f s\n", (double)sf_now(&c.f) / 1e9);
  assert_int_equal(dc_formed(&c), 1);
  sf_free(&c.f);
}

static void five_nodes_started_together_through_mdns_form_one_cluster(void **state) {
  (void)state;
  dc c;
  dc_init(&c, 5, 1, VIA_MDNS, NULL);
  for (unsigned i = 0; i < 5; i++) dc_start(&c, i);
  assert_int_equal(sf_run_until_converged(&c.f, S(15)), 0);
  print_message("converged at %.3f s\n", (double)sf_now(&c.f) / 1e9);
  assert_int_equal(dc_formed(&c), 1);
  sf_free(&c.f);
}

/* Pods become ready one by one, in a seeded order and at seeded times,
 * and the service lists each once it is: every seed forms one cluster. */
static void pods_that_become_ready_one_by_one_form_one_cluster(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 10; seed++) {
    dc c;
    dc_init(&c, 5, seed, VIA_DNS, NULL);
    unsigned order[5] = {0, 1, 2, 3, 4};
    uint64_t x = seed * 0x9e3779b97f4a7c15ull;
    for (unsigned i = 4; i > 0; i--) {
      x ^= x >> 29;
      x *= 0xbf58476d1ce4e5b9ull;
      unsigned j = (unsigned)(x % (i + 1));
      unsigned t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (unsigned k = 0; k < 5; k++) {
      sf_run_to(&c.f, sf_now(&c.f) + MS(100) + (x >> (k * 8) & 0xff) * MS(10));
      dc_publish(&c, order[k]);
      dc_start(&c, order[k]);
    }
    assert_int_equal(sf_run_until_converged(&c.f, sf_now(&c.f) + S(40)), 0);
    if (dc_formed(&c) != 1) sf_dump(&c.f);
    assert_int_equal(dc_formed(&c), 1);
    sf_free(&c.f);
  }
}

static void a_cold_start_through_mdns_with_loss_forms_one_cluster(void **state) {
  (void)state;
  dc c;
  dc_init(&c, 5, 3, VIA_MDNS, NULL);
  akt_sim_link_faults lossy = {.loss_ppm = 100000}; /* 10 %: the documented fault budget */
  assert_int_equal(akt_sim_link_set_all(c.f.w, &lossy), 0);
  for (unsigned i = 0; i < 5; i++) {
    dc_start(&c, i);
    sf_run_to(&c.f, sf_now(&c.f) + MS(300));
  }
  assert_int_equal(sf_run_until_converged(&c.f, S(40)), 0);
  assert_int_equal(dc_formed(&c), 1);
  sf_free(&c.f);
}

static void a_crashed_node_restarts_and_rejoins_through_mdns(void **state) {
  (void)state;
  dc c;
  dc_init(&c, 4, 5, VIA_MDNS, NULL);
  for (unsigned i = 0; i < 4; i++) dc_start(&c, i);
  assert_int_equal(sf_run_until_converged(&c.f, S(15)), 0);
  print_message("converged at %.3f s\n", (double)sf_now(&c.f) / 1e9);
  sf_crash(&c.f, 2);
  sf_run_to(&c.f, sf_now(&c.f) + S(1));
  sf_restart(&c.f, 2); /* the start hook builds a new provider */
  assert_int_equal(sf_run_until_converged(&c.f, sf_now(&c.f) + S(60)), 0);
  assert_int_equal(dc_formed(&c), 1);
  sf_free(&c.f);
}

/* The start of a node whose cluster settings come from its environment
 * (docs/discovery.md shows this function). */
static int start_from_env(akt_system *sys, akt_cluster_env *env, char *err, size_t errsize) {
  akt_cluster_options opts;
  int rc = akt_cluster_options_from_env(&opts, env, NULL, NULL, err, errsize);
  if (rc) return rc; /* err names the variable that is wrong */
  rc = akt_discovery_new(&env->discovery.config, &opts.discovery);
  if (rc) return rc;
  rc = akt_cluster_start(sys, &opts); /* from here the cluster owns the provider */
  if (rc) opts.discovery->ops->free(opts.discovery);
  return rc;
}

static akt_cluster_env envs[3]; /* large, and must outlive the options */

static int env_hook_start(akt_backend *b, void *arg) {
  sf_node *nd = arg;
  char name[16], port[8];
  snprintf(name, sizeof name, "node%u", nd->i);
  akt_system_options so = {.host = name, .port = SF_REMOTING_PORT};
  int rc = akt_system_new(name, b, &so, &nd->sys);
  akt_remote_options ro = {.port = SF_REMOTING_PORT, .security.cookie = "discovery-cluster-test-cookie"};
  if (!rc) rc = akt_remote_start(nd->sys, &ro);
  if (rc) return rc;
  setenv("NODE_NAME", name, 1);
  setenv("NODE_IP", name, 1);
  snprintf(port, sizeof port, "%u", SF_GOSSIP_PORT);
  setenv("GOSSIP_PORT", port, 1);
  snprintf(port, sizeof port, "%u", SF_REMOTING_PORT);
  setenv("REMOTING_PORT", port, 1);
  char err[128];
  rc = start_from_env(nd->sys, &envs[nd->i], err, sizeof err);
  if (rc) fail_msg("%s", err);
  return rc;
}

static void nodes_configured_from_the_environment_form_one_cluster(void **state) {
  (void)state;
  setenv("DISCOVERY", "dns", 1);
  setenv("DNS_NAME", SVC, 1);
  setenv("AKT_CLUSTER_BOOTSTRAP_EXPECT", "2", 1);
  sf f;
  sf_init(&f, 3, 9, NULL);
  for (unsigned i = 0; i < 3; i++) {
    akt_sim_node_hooks h = {.start = env_hook_start, .stop = sf_hook_stop, .arg = &f.node[i]};
    assert_int_equal(akt_sim_node_set_hooks(f.node[i].b, &h), 0);
    char name[16];
    snprintf(name, sizeof name, "node%u", i);
    assert_int_equal(akt_sim_name_add(f.w, SVC, name), 0);
  }
  for (unsigned i = 0; i < 3; i++) assert_int_equal(env_hook_start(f.node[i].b, &f.node[i]), 0);
  assert_int_equal(sf_run_until_converged(&f, S(15)), 0);
  sf_free(&f);
  const char *vars[] = {"DISCOVERY", "DNS_NAME", "AKT_CLUSTER_BOOTSTRAP_EXPECT", "NODE_NAME",
                        "NODE_IP", "GOSSIP_PORT", "REMOTING_PORT"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(five_nodes_started_together_through_dns_form_one_cluster),
      cmocka_unit_test(five_nodes_started_together_through_mdns_form_one_cluster),
      cmocka_unit_test(pods_that_become_ready_one_by_one_form_one_cluster),
      cmocka_unit_test(a_cold_start_through_mdns_with_loss_forms_one_cluster),
      cmocka_unit_test(a_crashed_node_restarts_and_rejoins_through_mdns),
      cmocka_unit_test(nodes_configured_from_the_environment_form_one_cluster),
  };
  return cmocka_run_group_tests_name("discovery-cluster", tests, NULL, NULL);
}
