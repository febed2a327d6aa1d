/* Membership on the simulator, in the style of Tarantool's SWIM tests:
 * exact windows of virtual time. */
#include "sim_fixture.h"

#define S(x) AKT_SECONDS(x)
#define MS(x) AKT_MILLIS(x)

static void three_nodes_started_together_form_one_cluster(void **state) {
  (void)state;
  sf f;
  sf_init(&f, 3, 1, NULL);
  sf_start_all(&f);
  assert_int_equal(sf_run_until_converged(&f, S(10)), 0);
  size_t formed = 0;
  for (size_t k = 0; k < f.nev; k++) formed += f.ev[k].kind == AKT_CLUSTER_FORMED;
  sf_dump(&f);
  assert_int_equal(formed, 1);
  sf_free(&f);
}

static void a_crashed_node_is_suspected_then_downed(void **state) {
  (void)state;
  sf f;
  sf_init(&f, 3, 1, NULL);
  sf_start_all(&f);
  assert_int_equal(sf_run_until_converged(&f, S(10)), 0);
  sf_run_to(&f, S(10));
  size_t mark = f.nev;
  sf_crash(&f, 2);
  sf_run_to(&f, S(60));
  for (size_t k = mark; k < f.nev; k++) {
    const sf_event *e = &f.ev[k];
    fprintf(stderr, "%10.3fs node%u %-18s %s %s/%s\n", (double)e->at / 1e9, e->node,
            akt_cluster_event_name(e->kind), e->subject, akt_member_status_name(e->status),
            akt_member_reach_name(e->reach));
  }
  sf_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(three_nodes_started_together_form_one_cluster),
      cmocka_unit_test(a_crashed_node_is_suspected_then_downed),
  };
  return cmocka_run_group_tests_name("cluster-sim", tests, NULL, NULL);
}
