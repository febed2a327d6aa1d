/* The simulator's name table: what resolve and resolve_srv answer, when,
 * and what they leave behind (include/akt/sim.h, "names"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "akt/sim.h"

typedef struct answer {
  int calls, status;
  size_t n;
  akt_addr addrs[AKT_SIM_RESOLVE_MAX];
  akt_srv recs[8];
  uint64_t at;
  akt_sim_world *w;
} answer;

static void on_addrs(int status, const akt_addr *addrs, size_t n, void *data) {
  answer *a = data;
  a->calls++;
  a->status = status;
  a->n = n;
  a->at = akt_sim_now(a->w);
  assert_true(status == 0 ? n >= 1 && addrs != NULL : n == 0);
  for (size_t i = 0; i < n && i < AKT_SIM_RESOLVE_MAX; i++) a->addrs[i] = addrs[i];
}

static void on_srv(int status, const akt_srv *recs, size_t n, void *data) {
  answer *a = data;
  a->calls++;
  a->status = status;
  a->n = n;
  assert_true(status == 0 ? n >= 1 && recs != NULL : n == 0);
  for (size_t i = 0; i < n && i < 8; i++) a->recs[i] = recs[i];
}

static akt_sim_world *world(uint64_t seed) {
  akt_sim_world *w = NULL;
  akt_sim_options o = {.seed = seed};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  return w;
}

static void resolve(akt_sim_world *w, akt_backend *b, const char *name, answer *a) {
  memset(a, 0, sizeof *a);
  a->w = w;
  assert_int_equal(b->ops->resolve(b, name, on_addrs, a), 0);
  assert_int_equal(a->calls, 0); /* never inside the call */
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(a->calls, 1);
}

static void resolve_srv(akt_sim_world *w, akt_backend *b, const char *name, answer *a) {
  memset(a, 0, sizeof *a);
  a->w = w;
  assert_int_equal(b->ops->resolve_srv(b, name, on_srv, a), 0);
  assert_int_equal(a->calls, 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(a->calls, 1);
}

static void a_node_and_its_mdns_host_name_resolve_to_the_node(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a, *b;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  assert_int_equal(akt_sim_node_new(w, "beta", &b), 0);
  answer r;
  resolve(w, a, "beta", &r);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.addrs[0].host, "beta");
  resolve(w, a, "beta.local", &r);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.addrs[0].host, "beta");
  resolve(w, a, "BETA.Local.", &r); /* DNS ignores case and the root's dot */
  assert_int_equal(r.status, 0);
  assert_string_equal(r.addrs[0].host, "beta");
  resolve(w, a, "gamma.local", &r);
  assert_int_equal(r.status, AKT_ENOENT);
  resolve(w, a, "betax", &r);
  assert_int_equal(r.status, AKT_ENOENT);
  akt_sim_world_free(w);
}

static void address_records_come_first_in_the_order_added(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  const char *svc = "akt.default.svc.cluster.local";
  assert_int_equal(akt_sim_name_add(w, svc, "n2"), 0);
  assert_int_equal(akt_sim_name_add(w, svc, "n1"), 0);
  assert_int_equal(akt_sim_name_add(w, "alpha", "elsewhere"), 0); /* shadows the node */
  answer r;
  resolve(w, a, svc, &r);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.addrs[0].host, "n2");
  assert_string_equal(r.addrs[1].host, "n1");
  assert_int_equal(r.addrs[0].port, 0);
  resolve(w, a, "alpha", &r);
  assert_string_equal(r.addrs[0].host, "elsewhere");
  /* Removed: the name is gone; the node's own name answers again. */
  assert_int_equal(akt_sim_name_remove(w, svc), 0);
  assert_int_equal(akt_sim_name_remove(w, svc), AKT_ENOENT);
  resolve(w, a, svc, &r);
  assert_int_equal(r.status, AKT_ENOENT);
  assert_int_equal(akt_sim_name_remove(w, "alpha"), 0);
  resolve(w, a, "alpha", &r);
  assert_string_equal(r.addrs[0].host, "alpha");
  akt_sim_world_free(w);
}

static void more_addresses_than_a_lookup_answers_are_cut(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  for (int i = 0; i < AKT_SIM_RESOLVE_MAX + 5; i++) {
    char host[16];
    snprintf(host, sizeof host, "n%d", i);
    assert_int_equal(akt_sim_name_add(w, "many", host), 0);
  }
  answer r;
  resolve(w, a, "many", &r);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.n, AKT_SIM_RESOLVE_MAX);
  assert_string_equal(r.addrs[AKT_SIM_RESOLVE_MAX - 1].host, "n31");
  akt_sim_world_free(w);
}

static void srv_records_carry_target_port_priority_and_weight(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  const char *svc = "_gossip._udp.akt.default.svc.cluster.local";
  akt_srv s1 = {.target = "n1.akt.default.svc.cluster.local.", .port = 7946, .priority = 0, .weight = 50};
  akt_srv s2 = {.target = "n2.akt.default.svc.cluster.local", .port = 7947, .priority = 10, .weight = 5};
  assert_int_equal(akt_sim_name_add_srv(w, svc, &s1), 0);
  assert_int_equal(akt_sim_name_add_srv(w, svc, &s2), 0);
  answer r;
  resolve_srv(w, a, svc, &r);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.recs[0].target, "n1.akt.default.svc.cluster.local"); /* no root dot */
  assert_int_equal(r.recs[0].port, 7946);
  assert_int_equal(r.recs[0].weight, 50);
  assert_int_equal(r.recs[1].port, 7947);
  assert_int_equal(r.recs[1].priority, 10);
  /* Addresses and SRV records are separate: the name has no address. */
  resolve(w, a, svc, &r);
  assert_int_equal(r.status, AKT_ENOENT);
  resolve_srv(w, a, "_other._udp.local", &r);
  assert_int_equal(r.status, AKT_ENOENT);
  akt_sim_world_free(w);
}

static void a_failing_name_answers_its_error_until_removed(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  assert_int_equal(akt_sim_name_add(w, "svc", "n1"), 0);
  assert_int_equal(akt_sim_name_fail(w, "svc", AKT_EBACKEND), 0);
  answer r;
  resolve(w, a, "svc", &r);
  assert_int_equal(r.status, AKT_EBACKEND);
  resolve_srv(w, a, "svc", &r);
  assert_int_equal(r.status, AKT_EBACKEND);
  assert_int_equal(akt_sim_name_remove(w, "svc"), 0);
  resolve(w, a, "svc", &r);
  assert_int_equal(r.status, AKT_ENOENT);
  assert_int_equal(akt_sim_name_fail(w, "svc", AKT_ETIMEDOUT), AKT_EINVAL);
  akt_sim_world_free(w);
}

static void bad_arguments_are_refused(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  char longname[AKT_HOST_MAX + 1];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  answer r = {.w = w};
  assert_int_equal(akt_sim_name_add(w, "", "n1"), AKT_EINVAL);
  assert_int_equal(akt_sim_name_add(w, ".", "n1"), AKT_EINVAL);
  assert_int_equal(akt_sim_name_add(w, longname, "n1"), AKT_EINVAL);
  assert_int_equal(akt_sim_name_add(w, "svc", ""), AKT_EINVAL);
  assert_int_equal(akt_sim_name_add(NULL, "svc", "n1"), AKT_EINVAL);
  akt_srv empty = {.port = 1};
  assert_int_equal(akt_sim_name_add_srv(w, "svc", &empty), AKT_EINVAL);
  assert_int_equal(a->ops->resolve(a, "", on_addrs, &r), AKT_EINVAL);
  assert_int_equal(a->ops->resolve(a, longname, on_addrs, &r), AKT_EINVAL);
  assert_int_equal(a->ops->resolve_srv(a, NULL, on_srv, &r), AKT_EINVAL);
  assert_int_equal(a->ops->resolve(a, "alpha", NULL, &r), AKT_EINVAL);
  akt_sim_world_free(w);
}

static void the_table_is_bounded(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  for (int i = 0; i < AKT_SIM_NAME_MAX_RECORDS; i++)
    assert_int_equal(akt_sim_name_add(w, "big", "n1"), 0);
  assert_int_equal(akt_sim_name_add(w, "big", "n1"), AKT_ELIMIT);
  assert_int_equal(akt_sim_name_remove(w, "big"), 0);
  assert_int_equal(akt_sim_name_add(w, "big", "n1"), 0);
  akt_sim_world_free(w);
}

static void a_crashed_node_still_gets_its_answer(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  answer r = {.w = w};
  assert_int_equal(a->ops->resolve(a, "alpha", on_addrs, &r), 0);
  assert_int_equal(akt_sim_crash(w, a), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  /* The asker may free what it holds there, so the answer comes. */
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  akt_sim_world_free(w);
}

static void a_paused_node_gets_its_answer_at_the_resume(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  answer r = {.w = w};
  assert_int_equal(a->ops->resolve(a, "alpha", on_addrs, &r), 0);
  assert_int_equal(akt_sim_pause(w, a), 0);
  assert_int_equal(akt_sim_run_for(w, AKT_SECONDS(2)), 0);
  assert_int_equal(r.calls, 0);
  assert_int_equal(akt_sim_resume(w, a), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.at, AKT_SECONDS(2));
  akt_sim_world_free(w);
}

static void on_stopped(int status, const akt_addr *addrs, size_t n, void *data) {
  assert_int_equal(status, AKT_ESTOPPED);
  assert_null(addrs);
  assert_int_equal(n, 0);
  ++*(int *)data;
}

static void on_srv_stopped(int status, const akt_srv *recs, size_t n, void *data) {
  assert_int_equal(status, AKT_ESTOPPED);
  assert_null(recs);
  assert_int_equal(n, 0);
  ++*(int *)data;
}

static void freeing_the_world_answers_unanswered_lookups(void **state) {
  (void)state;
  akt_sim_world *w = world(1);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  int calls = 0;
  assert_int_equal(a->ops->resolve(a, "alpha", on_stopped, &calls), 0);
  assert_int_equal(a->ops->resolve_srv(a, "alpha", on_srv_stopped, &calls), 0);
  akt_sim_world_free(w); /* and frees them: valgrind, ASan */
  assert_int_equal(calls, 2);
}

/* The digest of a run that looks `name` up once. */
static uint64_t digest_of_lookup(int with_record) {
  akt_sim_world *w = world(7);
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "alpha", &a), 0);
  if (with_record) assert_int_equal(akt_sim_name_add(w, "svc", "alpha"), 0);
  answer r;
  resolve(w, a, "svc", &r);
  uint64_t d = akt_sim_digest(w);
  akt_sim_world_free(w);
  return d;
}

static void lookups_are_in_the_digest(void **state) {
  (void)state;
  assert_int_equal(digest_of_lookup(1), digest_of_lookup(1));
  assert_int_not_equal(digest_of_lookup(1), digest_of_lookup(0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_node_and_its_mdns_host_name_resolve_to_the_node),
      cmocka_unit_test(address_records_come_first_in_the_order_added),
      cmocka_unit_test(more_addresses_than_a_lookup_answers_are_cut),
      cmocka_unit_test(srv_records_carry_target_port_priority_and_weight),
      cmocka_unit_test(a_failing_name_answers_its_error_until_removed),
      cmocka_unit_test(bad_arguments_are_refused),
      cmocka_unit_test(the_table_is_bounded),
      cmocka_unit_test(a_crashed_node_still_gets_its_answer),
      cmocka_unit_test(a_paused_node_gets_its_answer_at_the_resume),
      cmocka_unit_test(freeing_the_world_answers_unanswered_lookups),
      cmocka_unit_test(lookups_are_in_the_digest),
  };
  return cmocka_run_group_tests_name("sim-names", tests, NULL, NULL);
}
