/* Cluster actors on the simulator. */
#include "ca_fixture.h"

#define S(x) AKT_SECONDS(x)
#define MS(x) AKT_MILLIS(x)

static void a_named_actor_spawned_anywhere_counts_messages_from_everywhere(void **state) {
  (void)state;
  cf f;
  cf_init(&f, 3, 1);
  cf_start_all(&f);
  if (cf_run_until_settled(&f, S(30))) {
    cf_dump(&f);
    fail_msg("the configuration did not settle");
  }
  assert_int_equal(akt_cluster_spawn(f.node[1].sys, "c1", "counter", NULL, S(5)), 0);
  assert_int_equal(akt_cluster_spawn(f.node[2].sys, "c1", "counter", NULL, S(5)), AKT_EEXIST);
  for (unsigned i = 0; i < 3; i++) {
    Add a = ADD__INIT;
    a.amount = (int64_t)i + 1;
    assert_int_equal(akt_cluster_tell(f.node[i].sys, "c1", &a.base, NULL), 0);
  }
  /* Tells from three senders: in order per sender only. */
  cf_run_to(&f, cf_now(&f) + MS(500));
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_cluster_ask(f.node[0].sys, "c1", &g.base, S(5), &reply), 0);
  assert_true(akt_msg_is(reply, &total__descriptor));
  assert_int_equal(((Total *)reply)->value, 6);
  akt_msg_free(reply);
  unsigned where = 99;
  assert_int_equal(cf_active(&f, &where), 1);
  assert_true(cf_no_overlap(&f));
  cf_free(&f);
}

/* Spawns c1 on a settled cluster of n nodes and adds `amount` to it. */
static unsigned spawn_and_add(cf *f, int64_t amount) {
  if (cf_run_until_settled(f, cf_now(f) + S(30))) {
    cf_dump(f);
    fail_msg("the configuration did not settle");
  }
  assert_int_equal(akt_cluster_spawn(f->node[0].sys, "c1", "counter", NULL, S(5)), 0);
  Add a = ADD__INIT;
  a.amount = amount;
  assert_int_equal(akt_cluster_tell(f->node[0].sys, "c1", &a.base, NULL), 0);
  unsigned where = 99;
  for (int i = 0; i < 200 && cf_active(f, &where) != 1; i++) cf_run_to(f, cf_now(f) + MS(50));
  if (cf_active(f, &where) != 1) {
    cf_dump(f);
    fail_msg("c1 has %u activations", cf_active(f, &where));
  }
  cf_run_to(f, cf_now(f) + MS(200));
  return where;
}

/* Asks c1 for its total, again while a moving host loses the asks (a
 * message in flight to a node that crashes is lost, as any remote one). */
static int64_t total_of(cf *f, unsigned from) {
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  int rc = AKT_ETIMEDOUT;
  for (int i = 0; i < 12 && rc == AKT_ETIMEDOUT; i++)
    rc = akt_cluster_ask(f->node[from].sys, "c1", &g.base, S(5), &reply);
  if (rc) {
    cf_dump(f);
    fail_msg("ask: %s", akt_strerror(rc));
  }
  int64_t v = ((Total *)reply)->value;
  akt_msg_free(reply);
  return v;
}

static void a_graceful_leave_hands_the_state_over_without_waiting(void **state) {
  (void)state;
  cf f;
  cf_init(&f, 3, 2);
  cf_start_all(&f);
  unsigned host = spawn_and_add(&f, 7);
  uint64_t left = cf_now(&f);
  assert_int_equal(akt_cluster_leave(f.node[host].sys, S(30)), 0);
  unsigned other = (host + 1) % 3;
  assert_int_equal(total_of(&f, other), 7);
  const cf_event *h = cf_find(&f, AKT_CLUSTER_ACTOR_HANDED_OFF, "c1", left);
  const cf_event *a = cf_find(&f, AKT_CLUSTER_ACTOR_ACTIVATED, "c1", left);
  assert_non_null(h);
  assert_non_null(a);
  assert_string_equal(a->detail, "hand-off");
  /* No configuration wait: the new host started within a round trip or so. */
  assert_true(a->at - h->at < MS(100));
  assert_null(cf_find(&f, AKT_CLUSTER_ACTOR_STATE_LOST, "c1", 0));
  assert_true(cf_no_overlap(&f));
  cf_free(&f);
}

static void a_crashed_host_is_replaced_after_the_wait_with_the_stored_state(void **state) {
  (void)state;
  cf f;
  cf_init(&f, 3, 3);
  assert_int_equal(akt_cluster_store_memory_new(&f.store), 0);
  cf_start_all(&f);
  unsigned host = spawn_and_add(&f, 5);
  uint64_t crashed = cf_now(&f);
  assert_int_equal(akt_sim_crash(f.w, f.node[host].b), 0);
  unsigned other = (host + 1) % 3;
  assert_int_equal(total_of(&f, other), 5);
  const cf_event *e = NULL, *a = cf_find(&f, AKT_CLUSTER_ACTOR_ACTIVATED, "c1", crashed);
  assert_non_null(a);
  assert_string_equal(a->detail, "store");
  /* It started only after its host learned the configuration without the
   * crashed node and waited. */
  for (size_t k = 0; k < f.nev; k++)
    if (f.ev[k].kind == AKT_CLUSTER_ACTOR_EPOCH && f.ev[k].node == a->node && f.ev[k].at > crashed)
      e = &f.ev[k];
  assert_non_null(e);
  akt_cluster_actors_options o = {0};
  (void)o;
  assert_true(a->at >= e->at + AKT_CLUSTER_DEFAULT_LEASE);
  assert_true(cf_no_overlap(&f));
  cf_free(&f);
}

/* The first and last turn of counter `name` on node `node` (activations
 * started at or after `since`), 0 when none. */
static void turns_on(cf *f, const char *name, unsigned node, int on, uint64_t *first,
                     uint64_t *last) {
  *first = *last = 0;
  for (size_t k = 0; k < f->nturns; k++) {
    const cf_turn *t = &f->turns[k];
    if (strcmp(t->name, name) || (on ? t->node != node : t->node == node)) continue;
    if (!*first) *first = t->at;
    *last = t->at;
  }
}

static void a_host_cut_off_alone_stops_before_the_majority_starts_its_name(void **state) {
  (void)state;
  cf f;
  cf_init(&f, 5, 4);
  cf_start_all(&f);
  unsigned host = spawn_and_add(&f, 1);
  unsigned other = (host + 1) % 5;
  uint32_t group[5] = {0};
  group[host] = 1;
  uint64_t cut = cf_now(&f);
  assert_int_equal(akt_sim_partition(f.w, group, 5), 0);
  /* Both sides keep sending: the host to its own activation, which must
   * stop processing once its lease runs out; the majority to the name,
   * which it starts after its wait. */
  for (int i = 0; i < 400; i++) {
    Add a = ADD__INIT;
    a.amount = 1;
    assert_int_equal(akt_cluster_tell(f.node[host].sys, "c1", &a.base, NULL), 0);
    assert_int_equal(akt_cluster_tell(f.node[other].sys, "c1", &a.base, NULL), 0);
    cf_run_to(&f, cf_now(&f) + MS(100));
  }
  uint64_t old_first, old_last, new_first, new_last;
  turns_on(&f, "c1", host, 1, &old_first, &old_last);
  turns_on(&f, "c1", host, 0, &new_first, &new_last);
  if (!new_first || !old_last) cf_dump(&f);
  assert_true(old_last >= cut);    /* it ran on a while after the cut */
  assert_true(new_first > 0);      /* the majority started it */
  assert_true(old_last < new_first); /* one after the other */
  /* The lease was asked for before the cut: it runs out within a lease of
   * it, and nothing runs after that (no drift in this world). */
  assert_true(old_last <= cut + AKT_CLUSTER_DEFAULT_LEASE);
  const cf_event *lost = cf_find(&f, AKT_CLUSTER_ACTOR_LEASE_LOST, "", cut);
  assert_non_null(lost);
  assert_true(lost->at <= cut + AKT_CLUSTER_DEFAULT_LEASE);
  /* The new host waited out the old lease, with its drift bound and the
   * turn margin, from the configuration that moved the name. */
  assert_true(new_first >= old_last + AKT_CLUSTER_DEFAULT_TURN_MARGIN);
  assert_true(cf_no_overlap(&f));
  cf_free(&f);
}

static void a_stopped_name_stays_stopped_when_its_host_crashes_and_comes_back(void **state) {
  (void)state;
  cf f;
  cf_init(&f, 3, 5);
  cf_start_all(&f);
  unsigned host = spawn_and_add(&f, 3);
  unsigned other = (host + 1) % 3;
  assert_int_equal(akt_cluster_actor_stop(f.node[other].sys, "c1", S(5)), 0);
  uint64_t stopped = cf_now(&f);
  assert_int_equal(akt_cluster_actor_stop(f.node[other].sys, "c1", S(5)), AKT_ENOENT);
  assert_int_equal(akt_sim_crash(f.w, f.node[host].b), 0);
  cf_run_to(&f, cf_now(&f) + S(15));
  assert_int_equal(akt_sim_restart(f.w, f.node[host].b), 0);
  if (cf_run_until_settled(&f, cf_now(&f) + S(60))) {
    cf_dump(&f);
    fail_msg("the configuration did not settle");
  }
  /* Messages to it go nowhere; nothing brings it back. */
  Add a = ADD__INIT;
  a.amount = 1;
  assert_int_equal(akt_cluster_tell(f.node[other].sys, "c1", &a.base, NULL), 0);
  cf_run_to(&f, cf_now(&f) + S(5));
  akt_pid *pid = NULL;
  for (unsigned i = 0; i < 3; i++)
    assert_int_equal(akt_cluster_lookup(f.node[i].sys, "c1", S(5), &pid), AKT_ENOENT);
  assert_null(cf_find(&f, AKT_CLUSTER_ACTOR_ACTIVATED, "c1", stopped));
  assert_int_equal(cf_active(&f, NULL), 0);
  /* The name is free again: a new spawn makes a new actor. */
  assert_int_equal(akt_cluster_spawn(f.node[host].sys, "c1", "counter", NULL, S(5)), 0);
  cf_free(&f);
}

static void messages_sent_while_a_name_moves_arrive_after_its_handed_over_state(void **state) {
  (void)state;
  cf f;
  cf_init(&f, 3, 6);
  cf_start_all(&f);
  unsigned host = spawn_and_add(&f, 1000);
  unsigned other = (host + 1) % 3;
  uint64_t left = cf_now(&f);
  assert_int_equal(akt_cluster_leave(f.node[host].sys, 0), 0);
  /* One sender, in order, before, during and after the move: each Add is
   * applied once, after the state — a message processed before the
   * handed-over state was restored, or lost, or run twice, shows in the
   * total. */
  for (int i = 0; i < 150; i++) {
    Add a = ADD__INIT;
    a.amount = 1;
    assert_int_equal(akt_cluster_tell(f.node[other].sys, "c1", &a.base, NULL), 0);
    cf_run_to(&f, cf_now(&f) + MS(20));
  }
  assert_int_equal(total_of(&f, other), 1150);
  const cf_event *h = cf_find(&f, AKT_CLUSTER_ACTOR_HANDED_OFF, "c1", left);
  const cf_event *a = cf_find(&f, AKT_CLUSTER_ACTOR_ACTIVATED, "c1", left);
  assert_non_null(h);
  assert_non_null(a);
  assert_true(h->at <= a->at);
  assert_string_equal(a->detail, "hand-off");
  if (cf_find(&f, AKT_CLUSTER_ACTOR_MESSAGES_LOST, "c1", 0) ||
      cf_find(&f, AKT_CLUSTER_ACTOR_STATE_LOST, "c1", 0)) {
    cf_dump(&f);
    fail_msg("c1 lost messages or state");
  }
  assert_true(cf_no_overlap(&f));
  cf_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_named_actor_spawned_anywhere_counts_messages_from_everywhere),
      cmocka_unit_test(a_graceful_leave_hands_the_state_over_without_waiting),
      cmocka_unit_test(a_crashed_host_is_replaced_after_the_wait_with_the_stored_state),
      cmocka_unit_test(a_host_cut_off_alone_stops_before_the_majority_starts_its_name),
      cmocka_unit_test(a_stopped_name_stays_stopped_when_its_host_crashes_and_comes_back),
      cmocka_unit_test(messages_sent_while_a_name_moves_arrive_after_its_handed_over_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
