/* The DNS discovery provider on the simulator: A and SRV lookups through
 * the world's name table, de-duplication and limits, failures, deadlines,
 * cancel and free with lookups in flight. */
#include "discovery_fixture.h"

#define GOSSIP 7946
#define SVC "akt.default.svc.cluster.local"
#define SRV_NAME "_gossip._udp.akt.default.svc.cluster.local"

static akt_discovery *dns_new(const char *name, akt_dns_record record, uint16_t port,
                              akt_duration timeout) {
  akt_dns_discovery_options o = {.name = name, .record = record, .port = port, .timeout = timeout};
  akt_discovery *d = NULL;
  assert_int_equal(akt_discovery_dns_new(&o, &d), 0);
  assert_string_equal(d->ops->name, "dns");
  return d;
}

static void run(akt_sim_world *w) { assert_int_equal(akt_sim_run_until_idle(w), 0); }

static void an_a_lookup_answers_every_address_once_at_the_gossip_port(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *b = df_node(w, "n0");
  const char *pods[] = {"n2", "n0", "n1", "n2"}; /* a duplicate, as a stale record */
  for (int i = 0; i < 4; i++) assert_int_equal(akt_sim_name_add(w, SVC, pods[i]), 0);
  akt_discovery *d = dns_new(SVC, AKT_DNS_A, GOSSIP, 0);
  df_answer a;
  assert_int_equal(df_lookup(d, b, w, &a), 0);
  assert_int_equal(a.calls, 0);
  run(w);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 3);
  assert_true(df_has(&a, "n0", GOSSIP) && df_has(&a, "n1", GOSSIP) && df_has(&a, "n2", GOSSIP));
  /* Again: a provider answers every lookup the same way. */
  assert_int_equal(df_lookup(d, b, w, &a), 0);
  run(w);
  assert_int_equal(a.n, 3);
  akt_discovery_stats st;
  akt_discovery_get_stats(d, &st);
  assert_int_equal(st.lookups, 2);
  assert_int_equal(st.answers, 2);
  d->ops->free(d);
  akt_sim_world_free(w);
}

static void an_srv_lookup_resolves_each_target_at_its_own_port(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *b = df_node(w, "n0");
  df_node(w, "n1");
  /* A headless service: per-pod targets with A records, one target that
   * is a node's name, one IP literal (used as it is), a duplicate. */
  akt_srv recs[] = {
      {.target = "10-0-0-1." SVC, .port = 7001, .priority = 0, .weight = 10},
      {.target = "n1", .port = 7002, .priority = 0, .weight = 10},
      {.target = "10.9.9.9", .port = 7003, .priority = 0, .weight = 10},
      {.target = "n1", .port = 7002, .priority = 0, .weight = 10},
  };
  for (size_t i = 0; i < 4; i++) assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &recs[i]), 0);
  assert_int_equal(akt_sim_name_add(w, "10-0-0-1." SVC, "n0"), 0);
  akt_discovery *d = dns_new(SRV_NAME, AKT_DNS_AUTO, 0, 0); /* "_x._y.": SRV */
  df_answer a;
  assert_int_equal(df_lookup(d, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 3);
  assert_true(df_has(&a, "n0", 7001));
  assert_true(df_has(&a, "n1", 7002));
  assert_true(df_has(&a, "10.9.9.9", 7003));
  d->ops->free(d);
  akt_sim_world_free(w);
}

static void an_answer_is_bounded_and_keeps_the_preferred_records(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *b = df_node(w, "n0");
  /* AKT_SRV_MAX records, each target with two addresses: twice the
   * limit. Priority 1 records are listed first but priority 0 wins. */
  for (int i = 0; i < AKT_SRV_MAX; i++) {
    akt_srv s = {.port = (uint16_t)(10000 + i), .priority = i < AKT_SRV_MAX / 2 ? 1 : 0};
    snprintf(s.target, sizeof s.target, "t%d", i);
    assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &s), 0);
    assert_int_equal(akt_sim_name_add(w, s.target, "a"), 0);
    assert_int_equal(akt_sim_name_add(w, s.target, "b"), 0);
  }
  akt_discovery *d = dns_new(SRV_NAME, AKT_DNS_SRV, 0, 0);
  df_answer a;
  assert_int_equal(df_lookup(d, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, AKT_DISCOVERY_MAX_ADDRS);
  /* The priority 0 targets (t128..t255) resolve first and fill it. */
  assert_true(df_has(&a, "a", 10000 + AKT_SRV_MAX / 2));
  assert_false(df_has(&a, "a", 10000));
  akt_discovery_stats st;
  akt_discovery_get_stats(d, &st);
  assert_int_equal(st.addrs_dropped, 2 * AKT_SRV_MAX - AKT_DISCOVERY_MAX_ADDRS);
  d->ops->free(d);
  akt_sim_world_free(w);
}

static void failures_are_answered_with_the_resolvers_code(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *b = df_node(w, "n0");
  akt_discovery *a_mode = dns_new("nowhere.example", AKT_DNS_A, GOSSIP, 0);
  akt_discovery *srv_mode = dns_new(SRV_NAME, AKT_DNS_SRV, 0, 0);
  df_answer a;
  assert_int_equal(df_lookup(a_mode, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, AKT_ENOENT);
  assert_int_equal(df_lookup(srv_mode, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, AKT_ENOENT);
  assert_int_equal(akt_sim_name_fail(w, "nowhere.example", AKT_EBACKEND), 0);
  assert_int_equal(akt_sim_name_fail(w, SRV_NAME, AKT_EBACKEND), 0);
  assert_int_equal(df_lookup(a_mode, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, AKT_EBACKEND);
  assert_int_equal(df_lookup(srv_mode, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, AKT_EBACKEND);
  /* The DNS server recovers: so do the lookups. */
  assert_int_equal(akt_sim_name_remove(w, SRV_NAME), 0);
  akt_srv s = {.target = "n0", .port = 7001};
  assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &s), 0);
  assert_int_equal(df_lookup(srv_mode, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, 0);
  assert_true(df_has(&a, "n0", 7001));
  akt_discovery_stats st;
  akt_discovery_get_stats(srv_mode, &st);
  assert_int_equal(st.failures, 2);
  assert_int_equal(st.answers, 1);
  a_mode->ops->free(a_mode);
  srv_mode->ops->free(srv_mode);
  akt_sim_world_free(w);
}

static void a_target_that_does_not_resolve_leaves_the_others(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *b = df_node(w, "n0");
  akt_srv good = {.target = "n0", .port = 7001}, bad = {.target = "gone." SVC, .port = 7002};
  assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &bad), 0);
  assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &good), 0);
  akt_discovery *d = dns_new(SRV_NAME, AKT_DNS_SRV, 0, 0);
  df_answer a;
  assert_int_equal(df_lookup(d, b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 1);
  assert_true(df_has(&a, "n0", 7001));
  akt_discovery_stats st;
  akt_discovery_get_stats(d, &st);
  assert_int_equal(st.names_failed, 1);
  d->ops->free(d);
  akt_sim_world_free(w);
}

static void the_deadline_answers_what_has_arrived(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *node = df_node(w, "n0");
  df_held h;
  df_held_init(&h, node, "slow." SVC, 0);
  akt_srv fast = {.target = "n0", .port = 7001}, slow = {.target = "slow." SVC, .port = 7002};
  assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &fast), 0);
  assert_int_equal(akt_sim_name_add_srv(w, SRV_NAME, &slow), 0);
  akt_discovery *d = dns_new(SRV_NAME, AKT_DNS_SRV, 0, AKT_SECONDS(2));
  df_answer a;
  assert_int_equal(df_lookup(d, &h.b, w, &a), 0);
  assert_int_equal(akt_sim_run_for(w, AKT_MILLIS(1999)), 0);
  assert_int_equal(a.calls, 0); /* still waiting for the slow target */
  assert_int_equal(akt_sim_run_for(w, AKT_MILLIS(1)), 0);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.at, AKT_SECONDS(2));
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 1);
  assert_true(df_has(&a, "n0", 7001));
  /* The late answer belongs to a lookup that is over: it changes nothing. */
  df_held_answer(&h, "n9");
  run(w);
  assert_int_equal(a.calls, 1);
  /* Nothing at all by the deadline: AKT_ETIMEDOUT. */
  akt_discovery *d2 = dns_new("slow." SVC, AKT_DNS_A, GOSSIP, AKT_SECONDS(1));
  assert_int_equal(df_lookup(d2, &h.b, w, &a), 0);
  run(w);
  assert_int_equal(a.status, AKT_ETIMEDOUT);
  akt_discovery_stats st;
  akt_discovery_get_stats(d2, &st);
  assert_int_equal(st.timeouts, 1);
  df_held_answer(&h, NULL);
  d->ops->free(d);
  d2->ops->free(d2);
  akt_sim_world_free(w);
}

static void cancel_and_free_with_a_lookup_in_flight_are_safe(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *node = df_node(w, "n0");
  df_held h;
  df_held_init(&h, node, SVC, 0);
  akt_discovery *d = dns_new(SVC, AKT_DNS_A, GOSSIP, 0);
  df_answer a;
  assert_int_equal(df_lookup(d, &h.b, w, &a), 0);
  df_answer again;
  assert_int_equal(df_lookup(d, &h.b, w, &again), AKT_ESTATE); /* one at a time */
  d->ops->cancel(d, &h.b);
  run(w);
  df_held_answer(&h, "n0");
  assert_int_equal(a.calls, 0); /* cancelled: never called */
  /* Canceled, it may be asked again. */
  assert_int_equal(df_lookup(d, &h.b, w, &a), 0);
  /* Freed with the lookup in flight: the backend still owes the answer,
   * which must find the provider's memory (ASan, valgrind). */
  d->ops->free(d);
  run(w); /* the deadline timer was cancelled: nothing fires */
  df_held_answer(&h, "n0");
  assert_int_equal(a.calls, 0);
  akt_sim_world_free(w);
}

static void srv_needs_a_backend_that_has_it(void **state) {
  (void)state;
  akt_sim_world *w = df_world(1);
  akt_backend *node = df_node(w, "n0");
  df_held h;
  df_held_init(&h, node, NULL, 1);
  akt_discovery *d = dns_new(SRV_NAME, AKT_DNS_SRV, 0, 0);
  df_answer a;
  assert_int_equal(df_lookup(d, &h.b, w, &a), AKT_ENOTSUP);
  run(w);
  assert_int_equal(a.calls, 0);
  d->ops->free(d);
  akt_sim_world_free(w);
}

static void bad_options_are_refused(void **state) {
  (void)state;
  akt_discovery *d = NULL;
  akt_dns_discovery_options o = {.name = SVC, .record = AKT_DNS_A, .port = 0};
  assert_int_equal(akt_discovery_dns_new(&o, &d), AKT_EINVAL); /* A needs a port */
  o.port = GOSSIP;
  o.name = "10.0.0.1";
  assert_int_equal(akt_discovery_dns_new(&o, &d), AKT_EINVAL); /* an address, not a name */
  o.name = "";
  assert_int_equal(akt_discovery_dns_new(&o, &d), AKT_EINVAL);
  o.name = NULL;
  assert_int_equal(akt_discovery_dns_new(&o, &d), AKT_EINVAL);
  o.name = SVC;
  o.record = (akt_dns_record)9;
  assert_int_equal(akt_discovery_dns_new(&o, &d), AKT_EINVAL);
  assert_int_equal(akt_discovery_dns_new(NULL, &d), AKT_EINVAL);
  assert_null(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_a_lookup_answers_every_address_once_at_the_gossip_port),
      cmocka_unit_test(an_srv_lookup_resolves_each_target_at_its_own_port),
      cmocka_unit_test(an_answer_is_bounded_and_keeps_the_preferred_records),
      cmocka_unit_test(failures_are_answered_with_the_resolvers_code),
      cmocka_unit_test(a_target_that_does_not_resolve_leaves_the_others),
      cmocka_unit_test(the_deadline_answers_what_has_arrived),
      cmocka_unit_test(cancel_and_free_with_a_lookup_in_flight_are_safe),
      cmocka_unit_test(srv_needs_a_backend_that_has_it),
      cmocka_unit_test(bad_options_are_refused),
  };
  return cmocka_run_group_tests_name("discovery-dns", tests, NULL, NULL);
}
