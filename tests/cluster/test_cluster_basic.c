/* Membership basics, one suite on both backends (the simulator, and libuv
 * over loopback UDP and TCP): three nodes join through a seed, one leaves,
 * events reach the event stream; options, the environment and discovery
 * are checked. On libuv the waits are for conditions, with deadlines that
 * only bound a hang. */
#include <stdio.h>
#include <string.h>

#include "../support/both.h"
#include "akt/cluster.h"
#include "akt/cluster.pb-c.h"
#include "akt/events.h"
#include "akt/remote.h"

#define HANG AKT_SECONDS(60) /* a deadline that only bounds a hang */

static int uv(void) { return akt_test_backend == AKT_TESTKIT_UV; }

static void remoting(akt_system *sys) {
  akt_remote_options ro = {.host = uv() ? "127.0.0.1" : NULL, .port = uv() ? 0 : 2552,
                           .security.cookie = "cluster-basic-test-cookie"};
  assert_int_equal(akt_remote_start(sys, &ro), 0);
}

/* Starts node i's cluster with `seed` (NULL: none: it founds alone). */
static void cluster(akt_system *sys, const akt_addr *seed, akt_duration remove_after) {
  akt_cluster_options o = {.host = uv() ? "127.0.0.1" : NULL, .seeds = seed,
                           .nseeds = seed ? 1 : 0, .remove_after = remove_after};
  assert_int_equal(akt_cluster_start(sys, &o), 0);
}

static int wait_for(akt_system *sys, int (*ready)(void *), void *arg) {
  akt_backend *b = akt_system_backend(sys);
  return b->ops->wait(b, ready, arg, b->ops->now(b) + HANG);
}

typedef struct view {
  akt_system *sys;
  size_t up; /* members up and alive wanted */
  size_t total;
} view;

static int sees(void *arg) {
  view *v = arg;
  akt_member ms[8];
  size_t n = 0, up = 0;
  if (akt_cluster_members(v->sys, ms, 8, &n) != 0) return 0;
  for (size_t i = 0; i < n; i++)
    up += ms[i].status == AKT_MEMBER_UP && ms[i].reach == AKT_REACH_ALIVE;
  return up == v->up && n == v->total;
}

/* Three nodes: node0 founds, the others join through it. */
static akt_testkit *three(akt_duration remove_after) {
  akt_testkit *tk = TK_NEW(.nodes = 3);
  for (unsigned i = 0; i < 3; i++) remoting(akt_testkit_node(tk, i));
  cluster(akt_testkit_node(tk, 0), NULL, remove_after);
  akt_member seed;
  assert_int_equal(akt_cluster_self(akt_testkit_node(tk, 0), &seed), 0);
  for (unsigned i = 1; i < 3; i++) cluster(akt_testkit_node(tk, i), &seed.addr, remove_after);
  for (unsigned i = 0; i < 3; i++) {
    view v = {akt_testkit_node(tk, i), 3, 3};
    assert_int_equal(wait_for(v.sys, sees, &v), 0);
  }
  return tk;
}

static void three_nodes_join_through_one_seed(void **state) {
  (void)state;
  akt_testkit *tk = three(0);
  akt_member first;
  assert_int_equal(akt_cluster_leader(akt_testkit_node(tk, 0), &first), 0);
  /* The founder (the lowest address that answered: on loopback the ports
   * decide) is the oldest, and everyone agrees it leads. */
  assert_int_equal(first.up_number, 1);
  for (unsigned i = 0; i < 3; i++) {
    akt_system *sys = akt_testkit_node(tk, i);
    assert_int_equal(akt_cluster_get_phase(sys), AKT_CLUSTER_MEMBER);
    akt_member l;
    assert_int_equal(akt_cluster_leader(sys, &l), 0);
    assert_string_equal(l.name, first.name);
    akt_member me;
    assert_int_equal(akt_cluster_self(sys, &me), 0);
    assert_string_equal(me.remoting, akt_system_address(sys));
  }
  uint64_t syncs = 0;
  for (unsigned i = 0; i < 3; i++) {
    akt_cluster_stats st;
    akt_cluster_get_stats(akt_testkit_node(tk, i), &st);
    assert_true(st.packets_sent > 0 && st.packets_received > 0);
    syncs += st.syncs;
  }
  assert_true(syncs >= 2); /* the two that joined did, through the founder */
  akt_testkit_free(tk);
}

static int is_out(void *arg) { return akt_cluster_get_phase(arg) == AKT_CLUSTER_OUT; }

static void a_member_that_leaves_is_removed_by_the_others(void **state) {
  (void)state;
  akt_testkit *tk = three(AKT_MILLIS(500));
  akt_system *leaver = akt_testkit_node(tk, 2);
  assert_int_equal(akt_cluster_leave(leaver, HANG), 0);
  assert_int_equal(wait_for(leaver, is_out, leaver), 0);
  for (unsigned i = 0; i < 2; i++) {
    view v = {akt_testkit_node(tk, i), 2, 2};
    assert_int_equal(wait_for(v.sys, sees, &v), 0);
  }
  assert_int_equal(akt_cluster_self(leaver, &(akt_member){0}), AKT_ESTATE);
  akt_testkit_free(tk);
}

static int is_member_up(const ProtobufCMessage *msg, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  if (!akt_msg_is(msg, &akt__cluster__member_event__descriptor)) return 0;
  const Akt__Cluster__MemberEvent *e = (const Akt__Cluster__MemberEvent *)msg;
  return e->kind == AKT_CLUSTER_MEMBER_UP && e->member && !strcmp(e->member->name, "node0");
}

static void membership_events_reach_the_event_stream(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.nodes = 1);
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "events");
  assert_int_equal(akt_subscribe(akt_probe_pid(p), AKT_TOPIC_CLUSTER), 0);
  remoting(sys);
  cluster(sys, NULL, 0);
  const ProtobufCMessage *m = NULL;
  char why[AKT_PROBE_FAILURE_MAX];
  /* joined (itself), then up as it founds, leader, formed. */
  assert_int_equal(akt_probe_try_fish_for(p, is_member_up, NULL, 16, HANG, &m, why), 0);
  const Akt__Cluster__MemberEvent *e = (const Akt__Cluster__MemberEvent *)m;
  assert_int_equal(e->member->status, AKT_MEMBER_UP);
  assert_int_equal(e->member->up_number, 1);
  assert_string_equal(e->member->remoting, akt_system_address(sys));
  akt_testkit_free(tk);
}

static void starting_needs_remoting_valid_options_and_happens_once(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.nodes = 1);
  akt_system *sys = akt_testkit_system(tk);
  assert_int_equal(akt_cluster_start(sys, NULL), AKT_ESTATE); /* no remoting */
  assert_int_equal(akt_cluster_get_phase(sys), AKT_CLUSTER_IDLE);
  akt_member m;
  size_t n;
  assert_int_equal(akt_cluster_self(sys, &m), AKT_ESTATE);
  assert_int_equal(akt_cluster_members(sys, &m, 1, &n), AKT_ESTATE);
  assert_int_equal(akt_cluster_leave(sys, 0), AKT_ESTATE);
  akt_cluster_stats st;
  akt_cluster_get_stats(sys, &st);
  assert_int_equal(st.packets_sent, 0);
  remoting(sys);
  akt_cluster_options bad = {.probe_interval = AKT_MILLIS(100), .probe_timeout = AKT_MILLIS(200)};
  assert_int_equal(akt_cluster_start(sys, &bad), AKT_EINVAL);
  akt_addr empty = {.port = 7};
  bad = (akt_cluster_options){.seeds = &empty, .nseeds = 1};
  assert_int_equal(akt_cluster_start(sys, &bad), AKT_EINVAL);
  bad = (akt_cluster_options){.downing = AKT_DOWNING_STATIC_QUORUM};
  assert_int_equal(akt_cluster_start(sys, &bad), AKT_EINVAL);
  bad = (akt_cluster_options){.packet_max = 100};
  assert_int_equal(akt_cluster_start(sys, &bad), AKT_EINVAL);
  bad = (akt_cluster_options){.suspicion_confirmations = 17}; /* 16 confirmers kept */
  assert_int_equal(akt_cluster_start(sys, &bad), AKT_EINVAL);
  static const char *const long_role[] = {"a-role-name-longer-than-thirty-one-bytes"};
  bad = (akt_cluster_options){.roles = long_role, .nroles = 1};
  assert_int_equal(akt_cluster_start(sys, &bad), AKT_EINVAL);
  cluster(sys, NULL, 0);
  assert_int_equal(akt_cluster_start(sys, NULL), AKT_ESTATE); /* twice */
  assert_int_equal(akt_cluster_members(sys, &m, 1, &n), 0);
  assert_int_equal(n, 1);
  akt_testkit_free(tk);
}

/* ---- the environment ------------------------------------------------------------------------------ */

typedef struct env {
  const char *names[16], *values[16];
} env;

static const char *lookup(const char *name, void *arg) {
  env *e = arg;
  for (size_t i = 0; i < 16 && e->names[i]; i++)
    if (!strcmp(e->names[i], name)) return e->values[i];
  return NULL;
}

static void set(env *e, const char *name, const char *value) {
  size_t i = 0;
  while (i < 15 && e->names[i] && strcmp(e->names[i], name)) i++;
  e->names[i] = name;
  e->values[i] = value;
}

static env good(void) {
  env e = {{0}, {0}};
  set(&e, "NODE_NAME", "orders-1");
  set(&e, "NODE_IP", "10.0.0.7");
  set(&e, "GOSSIP_PORT", "7946");
  set(&e, "REMOTING_PORT", "2552");
  set(&e, "CLUSTER_PORT", "3320");
  set(&e, "AKT_CLUSTER_SEEDS", "10.0.0.5:7946,[fd00::1]:7947");
  set(&e, "AKT_CLUSTER_ROLES", "orders,eu");
  set(&e, "AKT_CLUSTER_DOWNING", "static-quorum:3");
  set(&e, "AKT_CLUSTER_STABLE_AFTER", "1500ms");
  set(&e, "AKT_CLUSTER_BOOTSTRAP_EXPECT", "2");
  return e;
}

static void the_environment_fills_the_options(void **state) {
  (void)state;
  env e = good();
  akt_cluster_options o;
  akt_cluster_env store;
  char err[256];
  assert_int_equal(akt_cluster_options_from_env(&o, &store, lookup, &e, err, sizeof err), 0);
  assert_string_equal(store.node_name, "orders-1");
  assert_int_equal(store.remoting_port, 2552);
  assert_string_equal(o.host, "10.0.0.7");
  assert_int_equal(o.gossip_port, 7946);
  assert_int_equal(o.cluster_port, 3320);
  assert_int_equal(o.nseeds, 2);
  assert_string_equal(o.seeds[0].host, "10.0.0.5");
  assert_int_equal(o.seeds[0].port, 7946);
  assert_string_equal(o.seeds[1].host, "fd00::1");
  assert_int_equal(o.seeds[1].port, 7947);
  assert_int_equal(o.nroles, 2);
  assert_string_equal(o.roles[1], "eu");
  assert_int_equal(o.downing, AKT_DOWNING_STATIC_QUORUM);
  assert_int_equal(o.quorum, 3);
  assert_int_equal(o.stable_after, AKT_MILLIS(1500));
  assert_int_equal(o.bootstrap_expect, 2);
}

static void a_bad_environment_variable_is_named(void **state) {
  (void)state;
  static const struct {
    const char *name, *value;
  } cases[] = {
      {"NODE_NAME", NULL},           {"NODE_NAME", "has space"},
      {"NODE_IP", NULL},             {"GOSSIP_PORT", NULL},
      {"GOSSIP_PORT", "70000"},      {"GOSSIP_PORT", "79x"},
      {"REMOTING_PORT", "65536"},    {"CLUSTER_PORT", "-1"},
      {"AKT_CLUSTER_SEEDS", "h:0"},
      {"AKT_CLUSTER_SEEDS", "nohostport"}, {"AKT_CLUSTER_SEEDS", "a:1,,b:2"},
      {"AKT_CLUSTER_ROLES", "a,,b"}, {"AKT_CLUSTER_DOWNING", "keep-minority"},
      {"AKT_CLUSTER_STABLE_AFTER", "20 s"}, {"AKT_CLUSTER_BOOTSTRAP_EXPECT", "0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    env e = good();
    set(&e, cases[i].name, cases[i].value);
    akt_cluster_options o;
    akt_cluster_env store;
    char err[256] = "";
    assert_int_equal(akt_cluster_options_from_env(&o, &store, lookup, &e, err, sizeof err),
                     AKT_EINVAL);
    if (strncmp(err, cases[i].name, strlen(cases[i].name)) != 0)
      fail_msg("%s=%s: the error does not name it: %s", cases[i].name,
               cases[i].value ? cases[i].value : "(unset)", err);
  }
}

/* ---- discovery ------------------------------------------------------------------------------------- */

typedef struct answer {
  int calls, status;
  size_t n;
  char first[64];
} answer;

static void on_answer(int status, const akt_addr *addrs, size_t n, void *arg) {
  answer *a = arg;
  a->calls++;
  a->status = status;
  a->n = n;
  if (n) snprintf(a->first, sizeof a->first, "%s:%u", addrs[0].host, (unsigned)addrs[0].port);
}

static int answered(void *arg) { return ((answer *)arg)->calls > 0; }

static void static_discovery_answers_its_seeds_later_never_from_inside_the_call(void **state) {
  (void)state;
  /* A provider is driven from the backend's I/O context (the cluster's
   * timers); a test thread calling it on libuv would race the loop. */
  SIM_ONLY();
  akt_addr seeds[2] = {{"10.1.1.1", 7946}, {"10.1.1.2", 7946}};
  akt_discovery *d = NULL;
  assert_int_equal(akt_discovery_static_new(NULL, 1, &d), AKT_EINVAL);
  akt_addr noport = {"h", 0};
  assert_int_equal(akt_discovery_static_new(&noport, 1, &d), AKT_EINVAL);
  assert_int_equal(akt_discovery_static_new(seeds, AKT_DISCOVERY_MAX_ADDRS + 1, &d), AKT_ELIMIT);
  assert_int_equal(akt_discovery_static_new(seeds, 2, &d), 0);
  akt_testkit *tk = TK_NEW(.nodes = 1);
  akt_backend *b = akt_system_backend(akt_testkit_system(tk));
  answer a = {0};
  assert_int_equal(d->ops->lookup(d, b, on_answer, &a), 0);
  assert_int_equal(a.calls, 0);
  assert_int_equal(d->ops->lookup(d, b, on_answer, &a), AKT_ESTATE); /* one at a time */
  assert_int_equal(b->ops->wait(b, answered, &a, b->ops->now(b) + HANG), 0);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 2);
  assert_string_equal(a.first, "10.1.1.1:7946");
  /* A cancelled lookup never answers. */
  answer c = {0};
  assert_int_equal(d->ops->lookup(d, b, on_answer, &c), 0);
  d->ops->cancel(d, b);
  akt_testkit_advance(tk, AKT_MILLIS(50));
  assert_int_equal(c.calls, 0);
  d->ops->free(d);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(three_nodes_join_through_one_seed),
    cmocka_unit_test(a_member_that_leaves_is_removed_by_the_others),
    cmocka_unit_test(membership_events_reach_the_event_stream),
    cmocka_unit_test(starting_needs_remoting_valid_options_and_happens_once),
    cmocka_unit_test(the_environment_fills_the_options),
    cmocka_unit_test(a_bad_environment_variable_is_named),
    cmocka_unit_test(static_discovery_answers_its_seeds_later_never_from_inside_the_call),
};

AKT_TEST_MAIN_BOTH("cluster/basic", tests)
