/* Cluster topics basics, one suite on both backends (the simulator, and
 * libuv over loopback): three members subscribe probes and actors to
 * topics and publish to them from every node. On libuv every wait is for
 * a condition, with a deadline that only bounds a hang; "nothing more
 * arrives" is checked after something that was sent later has arrived,
 * so no check rests on how long a step takes. */
#include <stdio.h>
#include <string.h>

#include "../support/both.h"
#include "uv_cluster.h"
#include "akt/cluster.h"
#include "akt/cluster_topics.h"
#include "akt/remote.h"
#include "akt/topics.pb-c.h"
#include "test.pb-c.h"

#define NODES 3

static int all_up(void *arg) {
  akt_system *sys = arg;
  akt_member ms[NODES + 1];
  size_t n = 0, up = 0;
  if (akt_cluster_members(sys, ms, NODES + 1, &n) != 0) return 0;
  for (size_t i = 0; i < n; i++)
    up += ms[i].status == AKT_MEMBER_UP && ms[i].reach == AKT_REACH_ALIVE;
  return up == NODES && n == NODES;
}

/* Remoting on sys: loopback on libuv, the node's name in the simulator. */
static void remoting(akt_system *sys) {
  akt_remote_options ro = {.host = uv() ? "127.0.0.1" : NULL, .port = uv() ? 0 : 2552,
                           .security.cookie = "topics-basic-test-cookie"};
  assert_int_equal(akt_remote_start(sys, &ro), 0);
}

/* Three members: node0 founds, the others join through it. */
static akt_testkit *cluster(void) {
  akt_testkit *tk = TK_NEW(.nodes = NODES);
  akt_member seed;
  for (unsigned i = 0; i < NODES; i++) {
    akt_system *sys = akt_testkit_node(tk, i);
    assert_int_equal(akt_system_register_type(sys, &ping__descriptor), 0);
    remoting(sys);
    akt_cluster_options o = {.host = uv() ? "127.0.0.1" : NULL,
                             .seeds = i ? &seed.addr : NULL,
                             .nseeds = i ? 1 : 0,
                             .join_interval = uv() ? UV_JOIN_INTERVAL : 0,
                             .gossip_interval = uv() ? UV_GOSSIP_INTERVAL : 0};
    assert_int_equal(akt_cluster_start(sys, &o), 0);
    if (!i) assert_int_equal(akt_cluster_self(sys, &seed), 0);
  }
  for (unsigned i = 0; i < NODES; i++)
    assert_int_equal(wait_for(akt_testkit_node(tk, i), all_up, akt_testkit_node(tk, i)), 0);
  return tk;
}

/* Subscribes probe p to topic and waits for the acknowledgement. */
static void subscribe(akt_probe *p, const char *topic) {
  assert_int_equal(akt_topic_subscribe(akt_probe_pid(p), topic, akt_probe_pid(p)), 0);
  const Akt__Topics__SubscribeAck *a = (const Akt__Topics__SubscribeAck *)akt_probe_expect_msg(
      p, &akt__topics__subscribe_ack__descriptor, HANG);
  assert_string_equal(a->topic, topic);
  assert_string_equal(a->subscriber, akt_pid_path(akt_probe_pid(p)));
  assert_int_equal(a->members, NODES - 1);
}

static void publish(akt_system *sys, const char *topic, int64_t n, akt_pid *sender) {
  Ping m = PING__INIT;
  m.n = n;
  assert_true(akt_topic_publish(sys, topic, &m.base, sender) >= 0);
}

static void expect_ping(akt_probe *p, int64_t n) {
  const Ping *m = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, HANG);
  assert_int_equal(m->n, n);
}

/* Node1 handed four publishes to its subscriber: its own, and three from
 * the others. */
static int delivered_4(void *arg) {
  akt_topics_stats st;
  akt_topics_get_stats(arg, &st);
  return st.delivered == 4;
}

static void a_publish_reaches_every_subscriber_on_every_node_once(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_probe *p[NODES];
  for (unsigned i = 0; i < NODES; i++) {
    char name[16];
    snprintf(name, sizeof name, "sub%u", i);
    p[i] = akt_probe_new_on(tk, i, name);
    subscribe(p[i], "news");
  }
  /* From every node, each to all three; then a marker from node0, after
   * which nothing else may come (no duplicate overtook it: order holds). */
  for (unsigned from = 0; from < NODES; from++) {
    Ping m = PING__INIT;
    m.n = (int64_t)from + 1;
    /* One local subscriber, and the two other members. */
    assert_int_equal(akt_topic_publish(akt_testkit_node(tk, from), "news", &m.base, NULL), 3);
  }
  for (unsigned i = 0; i < NODES; i++) {
    int seen[NODES + 1] = {0};
    for (unsigned k = 0; k < NODES; k++) {
      const Ping *m = (const Ping *)akt_probe_expect_msg(p[i], &ping__descriptor, HANG);
      assert_true(m->n >= 1 && m->n <= NODES);
      seen[m->n]++;
    }
    for (unsigned k = 1; k <= NODES; k++) assert_int_equal(seen[k], 1);
  }
  publish(akt_testkit_node(tk, 0), "news", 100, NULL);
  for (unsigned i = 0; i < NODES; i++) {
    expect_ping(p[i], 100);
    assert_int_equal(akt_probe_queued(p[i]), 0);
  }
  /* Counted once handed over, which may be just after the probe has it. */
  assert_int_equal(wait_for(akt_testkit_node(tk, 1), delivered_4, akt_testkit_node(tk, 1)), 0);
  akt_topics_stats st;
  akt_topics_get_stats(akt_testkit_node(tk, 1), &st);
  assert_int_equal(st.topics, 1);
  assert_int_equal(st.subscriptions, 1);
  assert_int_equal(st.peers, 2);
  assert_int_equal(st.publishes, 1);
  assert_true(st.entries_sent == 2 && st.entries_received == 3);
  akt_testkit_free(tk);
}

static void a_subscription_is_known_to_every_member_once_acknowledged(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_probe *p = akt_probe_new_on(tk, 2, "sub");
  akt_topic_node nodes[NODES];
  size_t n = 9;
  assert_int_equal(akt_topic_nodes(akt_testkit_node(tk, 0), "orders", nodes, NODES, &n), 0);
  assert_int_equal(n, 0);
  subscribe(p, "orders");
  akt_member me;
  assert_int_equal(akt_cluster_self(akt_testkit_node(tk, 2), &me), 0);
  for (unsigned i = 0; i < NODES; i++) {
    assert_int_equal(akt_topic_nodes(akt_testkit_node(tk, i), "orders", nodes, NODES, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(nodes[0].name, me.name);
    assert_int_equal(nodes[0].incarnation, me.incarnation);
    assert_int_equal(nodes[0].self, i == 2);
  }
  /* One subscription more on node0: both reach everyone. */
  akt_probe *q = akt_probe_new_on(tk, 0, "sub0");
  subscribe(q, "orders");
  assert_int_equal(akt_topic_nodes(akt_testkit_node(tk, 1), "orders", nodes, 1, &n), AKT_ELIMIT);
  assert_int_equal(n, 2);
  assert_string_equal(nodes[0].name, "node0");
  /* Subscribing again is a no-op, acknowledged again. */
  subscribe(q, "orders");
  akt_topics_stats st;
  akt_topics_get_stats(akt_testkit_node(tk, 0), &st);
  assert_int_equal(st.subscriptions, 1);
  assert_int_equal(st.acks_sent, 2);
  akt_testkit_free(tk);
}

static void publishes_from_one_node_arrive_in_the_order_made(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_probe *p = akt_probe_new_on(tk, 1, "sub");
  subscribe(p, "ticks");
  enum { COUNT = 200 };
  for (int64_t k = 1; k <= COUNT; k++) publish(akt_testkit_node(tk, 0), "ticks", k, NULL);
  for (int64_t k = 1; k <= COUNT; k++) expect_ping(p, k);
  akt_testkit_free(tk);
}

static void subscribers_see_the_publisher_as_the_sender(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_probe *sub = akt_probe_new_on(tk, 1, "sub");
  akt_probe *pub = akt_probe_new_on(tk, 0, "pub");
  subscribe(sub, "chat");
  publish(akt_testkit_node(tk, 0), "chat", 7, akt_probe_pid(pub));
  expect_ping(sub, 7);
  akt_pid *from = akt_probe_last_sender(sub);
  assert_non_null(from);
  char a[AKT_ADDRESS_MAX], b[AKT_ADDRESS_MAX];
  assert_true(akt_pid_format(from, a, sizeof a) > 0);
  assert_true(akt_pid_format(akt_probe_pid(pub), b, sizeof b) > 0);
  assert_string_equal(a, b);
  /* A reply reaches the publisher. */
  Ping r = PING__INIT;
  r.n = 8;
  akt_probe_reply(sub, &r.base);
  expect_ping(pub, 8);
  akt_testkit_free(tk);
}

typedef struct gone_ctx {
  akt_testkit *tk;
  const char *topic;
  size_t want;
} gone_ctx;

/* Every node lists exactly `want` nodes for the topic. */
static int lists(void *arg) {
  gone_ctx *g = arg;
  for (unsigned i = 0; i < NODES; i++) {
    akt_topic_node nodes[NODES];
    size_t n = 0;
    if (akt_topic_nodes(akt_testkit_node(g->tk, i), g->topic, nodes, NODES, &n) != 0 ||
        n != g->want)
      return 0;
  }
  return 1;
}

static void an_unsubscribed_probe_gets_nothing_and_leaves_every_registry(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_probe *stays = akt_probe_new_on(tk, 0, "stays");
  akt_probe *goes = akt_probe_new_on(tk, 1, "goes");
  subscribe(stays, "t");
  subscribe(goes, "t");
  assert_int_equal(akt_topic_unsubscribe(akt_probe_pid(goes), "t"), 0);
  assert_int_equal(akt_topic_unsubscribe(akt_probe_pid(goes), "t"), AKT_ENOENT);
  gone_ctx g = {tk, "t", 1};
  assert_int_equal(wait_for(akt_testkit_node(tk, 0), lists, &g), 0);
  /* Published from node1 itself and from node2: only node0's probe. */
  Ping m = PING__INIT;
  m.n = 1;
  assert_int_equal(akt_topic_publish(akt_testkit_node(tk, 1), "t", &m.base, NULL), 1);
  publish(akt_testkit_node(tk, 2), "t", 2, NULL);
  akt_probe_receive_n(stays, 2, HANG, NULL);
  /* Something sent later reaches `goes` directly: nothing came before it. */
  m.n = 3;
  akt_probe_tell(stays, akt_probe_pid(goes), &m.base);
  expect_ping(goes, 3);
  akt_testkit_free(tk);
}

/* An actor that subscribes itself to "t" and stops when told. */
static int stopper_start(akt_ctx *ctx) {
  return akt_topic_subscribe(akt_ctx_self(ctx), "t", NULL);
}

static int stopper_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &note__descriptor)) return akt_stop(akt_ctx_self(ctx));
  return 0;
}

static const akt_actor_def stopper_def = {
    .kind = "stopper", .pre_start = stopper_start, .receive = stopper_receive};

static void a_subscriber_that_terminates_is_removed_everywhere(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_node(tk, 2), "stopper", &stopper_def, NULL, &a), 0);
  gone_ctx g = {tk, "t", 1};
  assert_int_equal(wait_for(akt_testkit_node(tk, 0), lists, &g), 0);
  Note stop = NOTE__INIT;
  assert_int_equal(akt_tell(a, &stop.base), 0);
  g.want = 0;
  assert_int_equal(wait_for(akt_testkit_node(tk, 0), lists, &g), 0);
  akt_topics_stats st;
  akt_topics_get_stats(akt_testkit_node(tk, 2), &st);
  assert_int_equal(st.subscriptions, 0);
  assert_int_equal(st.ended, 1);
  akt_pid_release(a);
  akt_testkit_free(tk);
}

/* ---- docs/topics.md's quick start ---- */

/* An actor that subscribes itself to "room" when it starts; `owner` (its
 * spawn arg) hears when every member holds the subscription, and gets a
 * copy of everything published on the room. */
static int member_start(akt_ctx *ctx) {
  akt_pid *owner = (akt_pid *)(uintptr_t)akt_ctx_arg(ctx);
  return akt_topic_subscribe(akt_ctx_self(ctx), "room", owner);
}

static int member_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_pid *owner = (akt_pid *)(uintptr_t)akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) return akt_forward(ctx, owner);
  return AKT_EUNHANDLED;
}

static const akt_actor_def member_def = {
    .kind = "room-member", .pre_start = member_start, .receive = member_receive};

static void an_actor_that_subscribes_itself_hears_a_publish_from_another_node(void **state) {
  (void)state;
  akt_testkit *tk = cluster();
  akt_system *node0 = akt_testkit_node(tk, 0), *node1 = akt_testkit_node(tk, 1);
  akt_probe *owner = akt_probe_new_on(tk, 1, "owner");
  /* On node1: the member subscribes; the owner hears once all know. */
  akt_pid *member = NULL;
  akt_spawn_opts o = {.arg = akt_probe_pid(owner)};
  assert_int_equal(akt_spawn(node1, "member", &member_def, &o, &member), 0);
  akt_probe_expect_msg(owner, &akt__topics__subscribe_ack__descriptor, HANG);
  /* On node0, from outside any actor: one message to node1, which hands
   * it to the member. */
  Ping hello = PING__INIT;
  hello.n = 1;
  assert_int_equal(akt_topic_publish(node0, "room", &hello.base, NULL), 1);
  expect_ping(owner, 1);
  akt_pid_release(member);
  akt_testkit_free(tk);
}

static void the_api_checks_its_arguments_and_its_state(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.nodes = 1);
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping m = PING__INIT;
  /* No cluster: no topics. */
  assert_int_equal(akt_topic_subscribe(akt_probe_pid(p), "t", NULL), AKT_ESTATE);
  assert_int_equal(akt_topic_publish(sys, "t", &m.base, NULL), AKT_ESTATE);
  assert_int_equal(akt_topics_configure(sys, NULL), AKT_ESTATE);
  akt_topics_stats st;
  akt_topics_get_stats(sys, &st);
  assert_int_equal(st.publishes, 0);
  remoting(sys);
  akt_cluster_options co = {.host = uv() ? "127.0.0.1" : NULL};
  assert_int_equal(akt_cluster_start(sys, &co), 0);
  assert_int_equal(akt_topics_configure(sys, &(akt_topics_options){.retransmit = 1}), AKT_EINVAL);
  assert_int_equal(
      akt_topics_configure(sys, &(akt_topics_options){.max_payload = 10, .max_pending_bytes = 5}),
      AKT_EINVAL);
  assert_int_equal(akt_topics_configure(sys, &(akt_topics_options){.max_topics = 1}), 0);
  assert_int_equal(akt_topic_subscribe(NULL, "t", NULL), AKT_EINVAL);
  assert_int_equal(akt_topic_subscribe(akt_probe_pid(p), "", NULL), AKT_ENAME);
  char longname[AKT_TOPIC_NAME_MAX + 2];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(akt_topic_subscribe(akt_probe_pid(p), longname, NULL), AKT_ENAME);
  assert_int_equal(akt_topic_publish(sys, longname, &m.base, NULL), AKT_ENAME);
  assert_int_equal(akt_topic_publish(sys, "t", NULL, NULL), AKT_EINVAL);
  akt_pid *remote = NULL;
  assert_int_equal(akt_remote_pid(sys, "akt://other@10.0.0.9:2552/user/x", &remote), 0);
  assert_int_equal(akt_topic_subscribe(remote, "t", NULL), AKT_EINVAL);
  akt_pid_release(remote);
  /* Local delivery works before the node is even up. */
  assert_int_equal(akt_topic_subscribe(akt_probe_pid(p), "t", NULL), 0);
  assert_int_equal(akt_topic_publish(sys, "t", &m.base, NULL), 1);
  akt_probe_expect_msg(p, &ping__descriptor, HANG);
  /* max_topics is 1. */
  assert_int_equal(akt_topic_subscribe(akt_probe_pid(p), "u", NULL), AKT_ELIMIT);
  assert_int_equal(akt_topics_configure(sys, NULL), AKT_ESTATE); /* subscribed already */
  akt_topics_get_stats(sys, &st);
  assert_int_equal(st.topics_refused, 1);
  assert_int_equal(st.publishes, 1);
  assert_int_equal(st.delivered, 1); /* counted by the publishing thread */
  akt_topic_node nodes[1];
  size_t n = 0;
  assert_int_equal(akt_topic_nodes(sys, "t", nodes, 1, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(nodes[0].self, 1);
  assert_int_equal(akt_topic_nodes(sys, "", nodes, 1, &n), AKT_ENAME);
  assert_int_equal(akt_topic_nodes(sys, "t", NULL, 1, &n), AKT_EINVAL);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_publish_reaches_every_subscriber_on_every_node_once),
    cmocka_unit_test(a_subscription_is_known_to_every_member_once_acknowledged),
    cmocka_unit_test(publishes_from_one_node_arrive_in_the_order_made),
    cmocka_unit_test(subscribers_see_the_publisher_as_the_sender),
    cmocka_unit_test(an_unsubscribed_probe_gets_nothing_and_leaves_every_registry),
    cmocka_unit_test(a_subscriber_that_terminates_is_removed_everywhere),
    cmocka_unit_test(an_actor_that_subscribes_itself_hears_a_publish_from_another_node),
    cmocka_unit_test(the_api_checks_its_arguments_and_its_state),
};

AKT_TEST_MAIN_BOTH("cluster-topics-basic", tests)
