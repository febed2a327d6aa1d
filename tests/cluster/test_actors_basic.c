/* The cluster-actor API on both backends (the simulator, and libuv over
 * loopback): three nodes form a cluster; a named actor is spawned from
 * one, found, told and asked by name from all, and stopped for good; a
 * virtual actor is activated by its first message. On libuv the waits are
 * for conditions, with deadlines that only bound a hang. */
#include <stdio.h>
#include <string.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "uv_cluster.h"
#include "akt/cluster.h"
#include "akt/cluster_actors.h"
#include "akt/remote.h"

#define NODES 3

/* ---- the cluster ---------------------------------------------------------------------------- */

/* Has this node applied a configuration of all three, and a lease? */
static int settled(void *arg) {
  akt_cluster_actors_stats st;
  akt_cluster_actors_get_stats(arg, &st);
  return st.members == NODES && st.lease_valid;
}

static void start_node(akt_system *sys, const akt_addr *seed) {
  assert_int_equal(akt_system_register_type(sys, &add__descriptor), 0);
  assert_int_equal(akt_system_register_type(sys, &get__descriptor), 0);
  assert_int_equal(akt_system_register_type(sys, &total__descriptor), 0);
  akt_remote_options ro = {.host = uv() ? "127.0.0.1" : NULL, .port = uv() ? 0 : 2552,
                           .security.cookie = "cluster-actors-basic-cookie"};
  assert_int_equal(akt_remote_start(sys, &ro), 0);
  akt_cluster_options co = {.host = uv() ? "127.0.0.1" : NULL,
                            .seeds = seed,
                            .nseeds = seed ? 1 : 0,
                            .join_interval = uv() ? UV_JOIN_INTERVAL : 0,
                            .gossip_interval = uv() ? UV_GOSSIP_INTERVAL : 0};
  assert_int_equal(akt_cluster_start(sys, &co), 0);
  assert_int_equal(akt_cluster_actors_start(sys, NULL), 0);
  akt_cluster_kind named = {.name = "counter", .def = &counter_def};
  assert_int_equal(akt_cluster_register_kind(sys, &named), 0);
  akt_cluster_kind grain = {.name = "vcounter", .def = &counter_def, .mode = AKT_CLUSTER_VIRTUAL};
  assert_int_equal(akt_cluster_register_kind(sys, &grain), 0);
}

/* Three nodes: node0 founds, the others join through it; every node has
 * the configuration of all three and a lease. */
static akt_testkit *three(void) {
  akt_testkit *tk = TK_NEW(.nodes = NODES);
  start_node(akt_testkit_node(tk, 0), NULL);
  akt_member seed;
  assert_int_equal(akt_cluster_self(akt_testkit_node(tk, 0), &seed), 0);
  for (unsigned i = 1; i < NODES; i++) start_node(akt_testkit_node(tk, i), &seed.addr);
  for (unsigned i = 0; i < NODES; i++)
    assert_int_equal(wait_for(akt_testkit_node(tk, i), settled, akt_testkit_node(tk, i)), 0);
  return tk;
}

/* The total of `name`, asked from `sys`. */
static int64_t total_of(akt_system *sys, const char *name) {
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_cluster_ask(sys, name, &g.base, HANG, &reply), 0);
  assert_true(akt_msg_is(reply, &total__descriptor));
  int64_t v = ((Total *)reply)->value;
  akt_msg_free(reply);
  return v;
}

typedef struct reaches {
  akt_system *sys;
  const char *name;
  int64_t want;
} reaches;

/* Tells from different nodes have no order between them: the total
 * reaches the sum once all have arrived. */
static int total_reached(void *arg) {
  reaches *r = arg;
  return total_of(r->sys, r->name) == r->want;
}

typedef struct resolves {
  akt_system *sys;
  const char *name;
  int want; /* what a lookup answers: 0 (found) or an AKT_E* code */
} resolves;

/* Names resolve by each node's own log (docs/cluster.md, limits): a node
 * other than the one whose spawn or stop returned learns of it within a
 * commit's round trip, so the test waits for that, as a user must. */
static int lookup_answers(void *arg) {
  resolves *r = arg;
  akt_pid *p = NULL;
  int rc = akt_cluster_lookup(r->sys, r->name, HANG, &p);
  akt_pid_release(p);
  return rc == r->want;
}

static void every_node_answers(akt_testkit *tk, const char *name, int want) {
  for (unsigned i = 0; i < NODES; i++) {
    resolves r = {akt_testkit_node(tk, i), name, want};
    assert_int_equal(wait_for(r.sys, lookup_answers, &r), 0);
  }
}

static void a_named_actor_is_spawned_found_told_asked_and_stopped_by_name(void **state) {
  (void)state;
  akt_testkit *tk = three();
  akt_system *n0 = akt_testkit_node(tk, 0), *n1 = akt_testkit_node(tk, 1),
             *n2 = akt_testkit_node(tk, 2);
  assert_int_equal(akt_cluster_spawn(n1, "c1", "counter", NULL, HANG), 0);
  assert_int_equal(akt_cluster_spawn(n2, "c1", "counter", NULL, HANG), AKT_EEXIST);
  assert_int_equal(akt_cluster_spawn(n2, "c2", "nosuchkind", NULL, HANG), AKT_ENOENT);
  every_node_answers(tk, "c1", 0);
  for (unsigned i = 0; i < NODES; i++) {
    Add a = ADD__INIT;
    a.amount = (int64_t)i + 1;
    assert_int_equal(akt_cluster_tell(akt_testkit_node(tk, i), "c1", &a.base, NULL), 0);
  }
  reaches r = {n0, "c1", 6};
  assert_int_equal(wait_for(n0, total_reached, &r), 0);
  /* Every node finds the one activation. */
  akt_pid *first = NULL;
  assert_int_equal(akt_cluster_lookup(n0, "c1", HANG, &first), 0);
  for (unsigned i = 1; i < NODES; i++) {
    akt_pid *p = NULL;
    assert_int_equal(akt_cluster_lookup(akt_testkit_node(tk, i), "c1", HANG, &p), 0);
    assert_string_equal(akt_pid_path(p), akt_pid_path(first));
    akt_pid_release(p);
  }
  akt_pid_release(first);
  /* A reference to the name works as any PID. */
  akt_pid *ref = NULL;
  assert_int_equal(akt_cluster_ref(n2, "c1", &ref), 0);
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(ref, &g.base, HANG, &reply), 0);
  assert_int_equal(((Total *)reply)->value, 6);
  akt_msg_free(reply);
  akt_pid_release(ref);
  unsigned active = 0;
  for (unsigned i = 0; i < NODES; i++) {
    akt_cluster_actors_stats st;
    akt_cluster_actors_get_stats(akt_testkit_node(tk, i), &st);
    active += (unsigned)st.active;
    assert_int_equal(st.directory, 1);
  }
  assert_int_equal(active, 1);
  /* Stopped for good: nobody finds it, a second stop finds nothing. */
  assert_int_equal(akt_cluster_actor_stop(n0, "c1", HANG), 0);
  akt_pid *gone = NULL;
  assert_int_equal(akt_cluster_lookup(n0, "c1", HANG, &gone), AKT_ENOENT);
  every_node_answers(tk, "c1", AKT_ENOENT);
  assert_int_equal(akt_cluster_actor_stop(n1, "c1", HANG), AKT_ENOENT);
  akt_testkit_free(tk);
}

static void a_virtual_actor_is_activated_by_its_first_message(void **state) {
  (void)state;
  akt_testkit *tk = three();
  akt_system *n0 = akt_testkit_node(tk, 0), *n2 = akt_testkit_node(tk, 2);
  assert_int_equal(total_of(n2, "vcounter.k1"), 0);
  Add a = ADD__INIT;
  a.amount = 5;
  assert_int_equal(akt_cluster_tell(n2, "vcounter.k1", &a.base, NULL), 0);
  assert_int_equal(total_of(n2, "vcounter.k1"), 5); /* in order from one sender */
  assert_int_equal(total_of(n0, "vcounter.k1"), 5);
  /* A name of no registered kind is no actor. */
  akt_pid *p = NULL;
  assert_int_equal(akt_cluster_lookup(n0, "nokind.k1", HANG, &p), AKT_ENOENT);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_named_actor_is_spawned_found_told_asked_and_stopped_by_name),
    cmocka_unit_test(a_virtual_actor_is_activated_by_its_first_message),
};

AKT_TEST_MAIN_BOTH("cluster/actors-basic", tests)
