/* Discovery chosen from the environment: DISCOVERY and each provider's
 * settings, the configuration they fill, and an error that names the
 * variable that is wrong (src/cluster/discovery_env.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "akt/cluster.h"
#include "akt/error.h"

/* An environment: NULL-terminated name, value pairs. */
typedef struct fake_env {
  const char *vars[40];
} fake_env;

static const char *get(const char *name, void *arg) {
  const fake_env *e = arg;
  for (size_t i = 0; e->vars[i]; i += 2)
    if (!strcmp(e->vars[i], name)) return e->vars[i + 1];
  return NULL;
}

#define BASE "NODE_NAME", "node-1", "NODE_IP", "10.0.0.5", "GOSSIP_PORT", "7946", \
             "REMOTING_PORT", "2552"

static akt_cluster_options opts;
static akt_cluster_env env; /* large: kept off the stack */
static char err[256];

static int read_env(const fake_env *e) {
  return akt_cluster_options_from_env(&opts, &env, get, (void *)e, err, sizeof err);
}

static void without_discovery_the_seeds_are_static(void **state) {
  (void)state;
  fake_env e = {{BASE, "AKT_CLUSTER_SEEDS", "10.0.0.1:7946,10.0.0.2:7946", NULL}};
  assert_int_equal(read_env(&e), 0);
  const akt_discovery_config *c = &env.discovery.config;
  assert_int_equal(c->kind, AKT_DISCOVERY_STATIC);
  assert_int_equal(c->nseeds, 2);
  assert_string_equal(c->seeds[1].host, "10.0.0.2");
  fake_env s = {{BASE, "DISCOVERY", "Static", NULL}};
  assert_int_equal(read_env(&s), 0);
  assert_int_equal(env.discovery.config.kind, AKT_DISCOVERY_STATIC);
}

static void dns_takes_its_name_record_kind_and_port(void **state) {
  (void)state;
  fake_env e = {{BASE, "DISCOVERY", "dns", "DNS_NAME", "akt.default.svc.cluster.local", NULL}};
  assert_int_equal(read_env(&e), 0);
  const akt_discovery_config *c = &env.discovery.config;
  assert_int_equal(c->kind, AKT_DISCOVERY_DNS);
  assert_string_equal(c->dns.name, "akt.default.svc.cluster.local");
  assert_int_equal(c->dns.record, AKT_DNS_AUTO);
  assert_int_equal(c->dns.port, 7946); /* GOSSIP_PORT */
  fake_env srv = {{BASE, "DISCOVERY", "DNS", "DNS_NAME", "_gossip._udp.akt", "DNS_RECORD", "srv",
                   "DNS_PORT", "9000", NULL}};
  assert_int_equal(read_env(&srv), 0);
  assert_int_equal(env.discovery.config.dns.record, AKT_DNS_SRV);
  assert_int_equal(env.discovery.config.dns.port, 9000);
}

static void mdns_announces_this_node(void **state) {
  (void)state;
  fake_env e = {{BASE, "DISCOVERY", "mdns", "MDNS_SERVICE", "_shop._udp", "MDNS_IFACE",
                 "10.0.0.5", "MDNS_PORT", "5354", NULL}};
  assert_int_equal(read_env(&e), 0);
  const akt_mdns_discovery_options *m = &env.discovery.config.mdns;
  assert_int_equal(env.discovery.config.kind, AKT_DISCOVERY_MDNS);
  assert_string_equal(m->service, "_shop._udp");
  assert_string_equal(m->instance, "node-1");
  assert_string_equal(m->self.host, "10.0.0.5");
  assert_int_equal(m->self.port, 7946);
  assert_string_equal(m->iface, "10.0.0.5");
  assert_int_equal(m->port, 5354);
  assert_null(m->group); /* the default */
}

static void kubernetes_takes_the_pods_service_address(void **state) {
  (void)state;
  fake_env e = {{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt",
                 "K8S_NAMESPACE", "shop", "K8S_PORT_NAME", "gossip", "KUBERNETES_SERVICE_HOST",
                 "10.96.0.1", "KUBERNETES_SERVICE_PORT", "443", NULL}};
  assert_int_equal(read_env(&e), 0);
  const akt_k8s_discovery_options *k = &env.discovery.config.k8s;
  assert_int_equal(env.discovery.config.kind, AKT_DISCOVERY_KUBERNETES);
  assert_string_equal(k->label_selector, "app=akt");
  assert_string_equal(k->ns, "shop");
  assert_string_equal(k->port_name, "gossip");
  assert_string_equal(k->api_url, "https://10.96.0.1:443");
  fake_env v6 = {{BASE, "DISCOVERY", "k8s", "K8S_LABEL_SELECTOR", "app=akt",
                  "KUBERNETES_SERVICE_HOST", "fd00::1", "KUBERNETES_SERVICE_PORT", "6443", NULL}};
  assert_int_equal(read_env(&v6), 0);
  k = &env.discovery.config.k8s;
  assert_string_equal(k->api_url, "https://[fd00::1]:6443");
  assert_null(k->ns);        /* the pod's own, from its service account */
  assert_null(k->port_name); /* every pod at GOSSIP_PORT */
  assert_int_equal(k->port, 7946);
  fake_env url = {{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt",
                   "K8S_API_URL", "http://127.0.0.1:8001", NULL}};
  assert_int_equal(read_env(&url), 0);
  assert_string_equal(env.discovery.config.k8s.api_url, "http://127.0.0.1:8001");
}

/* Each case: the environment, and the variable the error must name. */
static void each_wrong_variable_is_named(void **state) {
  (void)state;
  static const struct {
    fake_env e;
    const char *named;
  } cases[] = {
      {{{BASE, "DISCOVERY", "consul", NULL}}, "DISCOVERY: not static, dns, mdns or kubernetes ('consul')"},
      {{{BASE, "DISCOVERY", "dns", NULL}}, "DNS_NAME: not set"},
      {{{BASE, "DISCOVERY", "dns", "DNS_NAME", "", NULL}}, "DNS_NAME: empty"},
      {{{BASE, "DISCOVERY", "dns", "DNS_NAME", "x.y", "DNS_RECORD", "mx", NULL}}, "DNS_RECORD:"},
      {{{BASE, "DISCOVERY", "dns", "DNS_NAME", "x.y", "DNS_PORT", "0", NULL}}, "DNS_PORT:"},
      {{{BASE, "DISCOVERY", "mdns", "MDNS_SERVICE", "akt", NULL}}, "MDNS_SERVICE:"},
      {{{BASE, "DISCOVERY", "mdns", "MDNS_PORT", "70000", NULL}}, "MDNS_PORT:"},
      {{{BASE, "DISCOVERY", "mdns", "MDNS_GROUP", "", NULL}}, "MDNS_GROUP:"},
      {{{BASE, "DISCOVERY", "kubernetes", NULL}}, "K8S_LABEL_SELECTOR: not set"},
      {{{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt", "K8S_NAMESPACE",
         "Shop_NS", NULL}},
       "K8S_NAMESPACE:"},
      {{{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt", "K8S_PORT_NAME",
         "a-port-name-too-long", NULL}},
       "K8S_PORT_NAME:"},
      {{{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt", NULL}},
       "KUBERNETES_SERVICE_HOST: not set"},
      {{{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt",
         "KUBERNETES_SERVICE_HOST", "10.96.0.1", "KUBERNETES_SERVICE_PORT", "https", NULL}},
       "KUBERNETES_SERVICE_PORT:"},
      {{{BASE, "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt", "K8S_API_URL",
         "10.96.0.1:443", NULL}},
       "K8S_API_URL:"},
      /* GOSSIP_PORT=0 binds any free port: nothing another node could find. */
      {{{"NODE_NAME", "n", "NODE_IP", "10.0.0.5", "GOSSIP_PORT", "0", "REMOTING_PORT", "2552",
         "DISCOVERY", "mdns", NULL}},
       "GOSSIP_PORT: 0 (any free port) cannot be announced"},
      {{{"NODE_NAME", "n", "NODE_IP", "10.0.0.5", "GOSSIP_PORT", "0", "REMOTING_PORT", "2552",
         "DISCOVERY", "dns", "DNS_NAME", "x.y", NULL}},
       "DNS_PORT: not set"},
      {{{"NODE_NAME", "n", "NODE_IP", "10.0.0.5", "GOSSIP_PORT", "0", "REMOTING_PORT", "2552",
         "DISCOVERY", "kubernetes", "K8S_LABEL_SELECTOR", "app=akt", "K8S_API_URL",
         "http://127.0.0.1:8001", NULL}},
       "K8S_PORT_NAME: not set"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(read_env(&cases[i].e), AKT_EINVAL);
    if (strncmp(err, cases[i].named, strlen(cases[i].named)))
      fail_msg("case %zu: got \"%s\", wanted it to start \"%s\"", i, err, cases[i].named);
  }
  /* The variables of another provider are not read. */
  fake_env other = {{BASE, "DISCOVERY", "dns", "DNS_NAME", "x.y", "K8S_NAMESPACE", "Bad_NS",
                     "MDNS_SERVICE", "bad", NULL}};
  assert_int_equal(read_env(&other), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(without_discovery_the_seeds_are_static),
      cmocka_unit_test(dns_takes_its_name_record_kind_and_port),
      cmocka_unit_test(mdns_announces_this_node),
      cmocka_unit_test(kubernetes_takes_the_pods_service_address),
      cmocka_unit_test(each_wrong_variable_is_named),
  };
  return cmocka_run_group_tests_name("discovery-env", tests, NULL, NULL);
}
