/* Cluster topics on the simulator: exact windows of virtual time on a
 * fixed seed (AKT_SEED replays another, AKT_TRACE=FILE writes the trace),
 * with the faults that make the protocol work — pauses, partitions,
 * crashes, restarts — and one deliberately broken variant that shows a
 * check can fail. Links have the world's default latency, 1 ms. */
#include "akt/cluster_topics.h"
#include "akt/topics.pb-c.h"
#include "sim_fixture.h"
#include "test.pb-c.h"

#define S(x) AKT_SECONDS(x)
#define MS(x) AKT_MILLIS(x)
#define RTO AKT_TOPICS_DEFAULT_RETRANSMIT
#define LINK MS(1)            /* the default link latency */
#define TURNS AKT_MICROS(500) /* the actor turns around one crossing, at most */
#define MAX_GOT 512
#define MAX_TEV 1024

/* ---- a recording subscriber ------------------------------------------------------------------ */

typedef struct rec {
  int64_t got[MAX_GOT];      /* Ping.n, in arrival order */
  size_t ngot;
  size_t acks, ended;
  uint64_t acked_at;         /* the first SubscribeAck's arrival */
  uint32_t members;          /* its member count */
  uint32_t end_reason;
} rec;

static int rec_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  rec *r = (rec *)(uintptr_t)akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    if (r->ngot < MAX_GOT) r->got[r->ngot++] = ((const Ping *)msg)->n;
  } else if (akt_msg_is(msg, &akt__topics__subscribe_ack__descriptor)) {
    if (!r->acks++) r->acked_at = akt_ctx_now(ctx);
    r->members = ((const Akt__Topics__SubscribeAck *)msg)->members;
  } else if (akt_msg_is(msg, &akt__topics__subscription_ended__descriptor)) {
    r->ended++;
    r->end_reason = ((const Akt__Topics__SubscriptionEnded *)msg)->reason;
  }
  return 0;
}

static const akt_actor_def rec_def = {.kind = "rec", .receive = rec_receive};

/* ---- the world --------------------------------------------------------------------------------- */

typedef struct tev {
  unsigned node;
  akt_topic_event_kind kind;
  char peer[AKT_SYSTEM_NAME_MAX + 1];
  uint64_t version, at;
} tev;

typedef struct tf {
  sf f;
  tev ev[MAX_TEV];
  size_t nev;
  akt_topics_options o[SF_MAX_NODES]; /* listener filled in */
  rec r;                              /* what `sub` received */
  akt_pid *sub;                       /* the test's recorder (one reference), or NULL */
} tf;

static tf *current; /* the listener's world: one test at a time */

static void listener(akt_system *sys, const akt_topic_event *ev, void *arg) {
  (void)sys;
  tf *t = current;
  if (t->nev >= MAX_TEV) return;
  tev *e = &t->ev[t->nev++];
  e->node = (unsigned)(uintptr_t)arg;
  e->kind = ev->kind;
  snprintf(e->peer, sizeof e->peer, "%s", ev->peer ? ev->peer : "");
  e->version = ev->version;
  e->at = ev->at;
}

static akt_system *sys_of(tf *t, unsigned i) { return t->f.node[i].sys; }

/* Node i's topics: the Ping type and the options (again after a restart). */
static void setup(tf *t, unsigned i) {
  assert_int_equal(akt_system_register_type(sys_of(t, i), &ping__descriptor), 0);
  akt_topics_options o = t->o[i];
  o.listener = listener;
  o.listener_arg = (void *)(uintptr_t)i;
  assert_int_equal(akt_topics_configure(sys_of(t, i), &o), 0);
}

/* n members, converged. opts[i] (may be NULL) for node i's topics. */
static void formed(tf *t, unsigned n, const akt_topics_options *opts) {
  memset(t, 0, sizeof *t);
  current = t;
  if (opts)
    for (unsigned i = 0; i < n; i++) t->o[i] = opts[i];
  sf_init(&t->f, n, 1, NULL);
  sf_start_all(&t->f);
  for (unsigned i = 0; i < n; i++) setup(t, i);
  assert_int_equal(sf_run_until_converged(&t->f, S(20)), 0);
}

static void restart(tf *t, unsigned i) {
  sf_restart(&t->f, i);
  setup(t, i);
}

static akt_pid *recorder(tf *t, unsigned i, const char *name, rec *r) {
  akt_pid *pid = NULL;
  akt_spawn_opts o = {.arg = r};
  assert_int_equal(akt_spawn(sys_of(t, i), name, &rec_def, &o, &pid), 0);
  return pid;
}

static int publish(tf *t, unsigned i, const char *topic, int64_t n) {
  Ping m = PING__INIT;
  m.n = n;
  return akt_topic_publish(sys_of(t, i), topic, &m.base, NULL);
}

static akt_topics_stats stats(tf *t, unsigned i) {
  akt_topics_stats st;
  akt_topics_get_stats(sys_of(t, i), &st);
  return st;
}

/* How many nodes node i sends `topic` to (itself included). */
static size_t reach(tf *t, unsigned i, const char *topic) {
  akt_topic_node nodes[SF_MAX_NODES];
  size_t n = 0;
  assert_int_equal(akt_topic_nodes(sys_of(t, i), topic, nodes, SF_MAX_NODES, &n), 0);
  return n;
}

static int acked(void *arg) { return ((rec *)arg)->acks > 0; }

/* Subscribes pid to topic (acknowledged to itself) and runs until the
 * acknowledgement arrives. */
static void subscribe(tf *t, akt_pid *pid, rec *r, const char *topic) {
  size_t before = r->acks;
  assert_int_equal(akt_topic_subscribe(pid, topic, pid), 0);
  r->acks = 0;
  assert_int_equal(sf_run_until(&t->f, acked, r, sf_now(&t->f) + S(30)), 0);
  r->acks += before;
}

static void expect_got(const rec *r, int64_t from, int64_t to) {
  assert_int_equal(r->ngot, (size_t)(to - from + 1));
  for (int64_t k = from; k <= to; k++) assert_int_equal(r->got[k - from], k);
}

/* n members formed, and a recorder on node `at` subscribed to `topic`
 * (acknowledged; NULL: not subscribed). */
static void given(tf *t, unsigned n, const akt_topics_options *opts, unsigned at,
                  const char *topic) {
  formed(t, n, opts);
  t->sub = recorder(t, at, "sub", &t->r);
  if (topic) subscribe(t, t->sub, &t->r, topic);
}

static void done(tf *t) {
  akt_pid_release(t->sub);
  sf_free(&t->f);
  current = NULL;
}

/* ---- acknowledgements ---------------------------------------------------------------------------- */

static tf t; /* one world at a time: large, so not on the stack */

static void a_subscription_is_acknowledged_one_round_trip_after_it_is_made(void **state) {
  (void)state;
  /* A first subscription opens the connections between node2 and the
   * others (a connection takes a round trip of its own). */
  given(&t, 3, NULL, 2, "warm-up");
  t.r.acks = 0;
  t.nev = 0;
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  uint64_t t0 = sf_now(&t.f);
  assert_int_equal(akt_topic_subscribe(t.sub, "news", t.sub), 0);
  /* Local publishes reach it at once; the others do not know it yet. */
  assert_int_equal(reach(&t, 2, "news"), 1);
  assert_int_equal(reach(&t, 0, "news"), 0);
  /* The registry crosses (one link), is applied and acknowledged (one link
   * back): the subscriber hears in one round trip. */
  sf_run_to(&t.f, t0 + 2 * LINK - 1);
  assert_int_equal(t.r.acks, 0);
  sf_run_to(&t.f, t0 + 2 * LINK + TURNS);
  assert_int_equal(t.r.acks, 1);
  assert_true(t.r.acked_at >= t0 + 2 * LINK);
  assert_int_equal(t.r.members, 2);
  assert_int_equal(reach(&t, 0, "news"), 1);
  assert_int_equal(reach(&t, 1, "news"), 1);
  /* Each of the others applied node2's registry once, at version 2. */
  size_t applied = 0;
  for (size_t k = 0; k < t.nev; k++)
    if (t.ev[k].kind == AKT_TOPIC_EV_APPLIED) {
      assert_string_equal(t.ev[k].peer, "node2");
      assert_int_equal(t.ev[k].version, 2);
      applied++;
    }
  assert_int_equal(applied, 2);
  /* A publish from node0 now takes one link. */
  uint64_t t1 = sf_now(&t.f);
  assert_int_equal(publish(&t, 0, "news", 1), 1);
  sf_run_to(&t.f, t1 + LINK + TURNS);
  expect_got(&t.r, 1, 1);
  done(&t);
}

/* ---- retransmission ------------------------------------------------------------------------------ */

/* node1 (whose recorder subscribes to "ticks") pauses; node0 publishes
 * three times; node1 resumes `pause` later. */
static void publish_to_a_paused_member(tf *w, const akt_topics_options *opts, akt_duration pause) {
  given(w, 3, opts, 1, "ticks");
  assert_int_equal(akt_sim_pause(w->f.w, w->f.node[1].b), 0);
  uint64_t t0 = sf_now(&w->f);
  for (int64_t k = 1; k <= 3; k++) assert_int_equal(publish(w, 0, "ticks", k), 1);
  sf_run_to(&w->f, t0 + pause);
  assert_int_equal(akt_sim_resume(w->f.w, w->f.node[1].b), 0);
  sf_run_to(&w->f, sf_now(&w->f) + MS(100));
}

static void an_unacknowledged_publish_is_resent_and_taken_once(void **state) {
  (void)state;
  /* Paused 2 s: below the suspicion timeout, so nobody is downed. */
  publish_to_a_paused_member(&t, NULL, S(2));
  expect_got(&t.r, 1, 3); /* each once, in order */
  akt_topics_stats a = stats(&t, 0), b = stats(&t, 1);
  /* Resent at 0.5 s, then backing off: 1 s later, 2 s later (past the
   * resume). */
  assert_true(a.retransmits >= 2 && a.retransmits <= 3);
  assert_true(b.duplicates >= 3 * 2);
  assert_int_equal(b.entries_received, 3);
  assert_int_equal(a.dropped, 0);
  done(&t);
}

static void without_deduplication_the_resends_are_delivered_again(void **state) {
  (void)state;
  akt_topics_options o[3] = {{0}, {.test_flags = AKT_TOPICS_TEST_NO_DEDUP}, {0}};
  publish_to_a_paused_member(&t, o, S(2));
  /* The broken receiver takes what the sound one dropped. */
  assert_true(t.r.ngot > 3);
  assert_int_equal(stats(&t, 1).duplicates, 0);
  done(&t);
}

static void the_first_resend_comes_one_retransmission_time_after_the_publish(void **state) {
  (void)state;
  given(&t, 3, NULL, 1, "ticks");
  assert_int_equal(akt_sim_pause(t.f.w, t.f.node[1].b), 0);
  uint64_t t0 = sf_now(&t.f);
  assert_int_equal(publish(&t, 0, "ticks", 1), 1);
  /* The tick runs every RTO/2 from the publish: due at t0 + RTO, sent by
   * the tick that follows, at most RTO/2 later. */
  sf_run_to(&t.f, t0 + RTO - 1);
  assert_int_equal(stats(&t, 0).retransmits, 0);
  sf_run_to(&t.f, t0 + RTO + RTO / 2 + TURNS);
  assert_int_equal(stats(&t, 0).retransmits, 1);
  /* Then twice the time: none more until t0 + RTO + 2 RTO. */
  sf_run_to(&t.f, t0 + 3 * RTO - 1);
  assert_int_equal(stats(&t, 0).retransmits, 1);
  sf_run_to(&t.f, t0 + 3 * RTO + RTO / 2 + TURNS);
  assert_int_equal(stats(&t, 0).retransmits, 2);
  assert_int_equal(akt_sim_resume(t.f.w, t.f.node[1].b), 0);
  sf_run_to(&t.f, sf_now(&t.f) + MS(100));
  expect_got(&t.r, 1, 1);
  /* Acknowledged: the tick stops, and so do the resends. */
  sf_run_to(&t.f, sf_now(&t.f) + S(10));
  assert_int_equal(stats(&t, 0).retransmits, 2);
  done(&t);
}

static void a_full_queue_refuses_a_publish_and_says_so(void **state) {
  (void)state;
  akt_topics_options o[3] = {{.max_pending = 3}, {0}, {0}};
  given(&t, 3, o, 1, "ticks");
  assert_int_equal(akt_sim_pause(t.f.w, t.f.node[1].b), 0);
  for (int64_t k = 1; k <= 3; k++) assert_int_equal(publish(&t, 0, "ticks", k), 1);
  /* The fourth and fifth do not fit node1's queue: refused, reported. */
  assert_int_equal(publish(&t, 0, "ticks", 4), 0);
  assert_int_equal(publish(&t, 0, "ticks", 5), 0);
  size_t dropped = 0;
  for (size_t k = 0; k < t.nev; k++)
    if (t.ev[k].kind == AKT_TOPIC_EV_DROPPED) {
      assert_int_equal(t.ev[k].node, 0);
      assert_string_equal(t.ev[k].peer, "node1");
      dropped++;
    }
  assert_int_equal(dropped, 2);
  assert_int_equal(stats(&t, 0).dropped, 2);
  assert_int_equal(akt_sim_resume(t.f.w, t.f.node[1].b), 0);
  sf_run_to(&t.f, sf_now(&t.f) + S(2));
  expect_got(&t.r, 1, 3);
  /* Room again once acknowledged. */
  assert_int_equal(publish(&t, 0, "ticks", 6), 1);
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  assert_int_equal(t.r.ngot, 4);
  assert_int_equal(t.r.got[3], 6);
  done(&t);
}

/* ---- members that go ------------------------------------------------------------------------------ */

typedef struct at_node {
  tf *t;
  unsigned i;
} at_node;

static int node0_sees_node2_down(void *arg) {
  return sf_find(&((tf *)arg)->f, 0, AKT_CLUSTER_MEMBER_DOWN, "node2", 0) != NULL;
}

static int is_member(void *arg) {
  at_node *o = arg;
  return sf_phase(&o->t->f, o->i) == AKT_CLUSTER_MEMBER;
}

static int is_out(void *arg) { return !is_member(arg); }

/* Node i sends "t" to one node. */
static int reaches_1(void *arg) {
  at_node *o = arg;
  return reach(o->t, o->i, "t") == 1;
}

static void a_crashed_member_s_subscriptions_go_when_it_is_seen_down(void **state) {
  (void)state;
  given(&t, 3, NULL, 2, "t");
  sf_crash(&t.f, 2);
  /* Until node0 sees node2 down it keeps sending (and resending). */
  assert_int_equal(publish(&t, 0, "t", 1), 1);
  assert_int_equal(sf_run_until(&t.f, node0_sees_node2_down, &t, sf_now(&t.f) + S(30)), 0);
  assert_int_equal(reach(&t, 0, "t"), 0);
  akt_topics_stats st = stats(&t, 0);
  assert_int_equal(st.abandoned, 1);
  assert_int_equal(st.peers, 1);
  assert_true(st.retransmits > 0);
  assert_int_equal(publish(&t, 0, "t", 2), 0);
  t.sub = NULL; /* it went with node2 */
  done(&t);
}

static int node0_reaches_none(void *arg) { return reach(arg, 0, "t") == 0; }

static void a_subscriber_that_stops_after_its_clock_stepped_back_is_removed(void **state) {
  (void)state;
  given(&t, 3, NULL, 2, "t");
  /* node2's clock steps back 5 s, as a skew fault does (a stepped clock
   * reads less than at the subscriber's spawn); then the subscriber stops. */
  assert_int_equal(akt_sim_set_clock(t.f.w, t.f.node[2].b, -(int64_t)S(5), 0), 0);
  assert_int_equal(akt_stop(t.sub), 0);
  assert_int_equal(sf_run_until(&t.f, node0_reaches_none, &t, sf_now(&t.f) + S(10)), 0);
  assert_int_equal(stats(&t, 2).subscriptions, 0);
  done(&t);
}

static void a_downed_member_ends_its_subscriptions_and_they_are_made_again(void **state) {
  (void)state;
  given(&t, 3, NULL, 2, "t");
  akt_member before;
  assert_int_equal(akt_cluster_self(sys_of(&t, 2), &before), 0);
  uint32_t group[3] = {0, 0, 1};
  assert_int_equal(akt_sim_partition(t.f.w, group, 3), 0);
  at_node o = {&t, 2};
  assert_int_equal(sf_run_until(&t.f, is_out, &o, sf_now(&t.f) + S(60)), 0);
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  /* The subscriber heard why; nothing is subscribed on node2 any more. */
  assert_int_equal(t.r.ended, 1);
  assert_int_equal(t.r.end_reason, AKT_TOPIC_END_NODE_DOWN);
  assert_int_equal(stats(&t, 2).subscriptions, 0);
  assert_int_equal(stats(&t, 2).peers, 0);
  /* It subscribes again while out: local until it is back. */
  assert_int_equal(akt_topic_subscribe(t.sub, "t", t.sub), 0);
  assert_int_equal(akt_sim_heal(t.f.w, NULL, NULL), 0);
  assert_int_equal(sf_run_until(&t.f, is_member, &o, sf_now(&t.f) + S(60)), 0);
  akt_member after;
  assert_int_equal(akt_cluster_self(sys_of(&t, 2), &after), 0);
  assert_true(after.incarnation > before.incarnation);
  t.r.acks = 0;
  assert_int_equal(sf_run_until(&t.f, acked, &t.r, sf_now(&t.f) + S(30)), 0);
  assert_int_equal(reach(&t, 0, "t"), 1);
  assert_int_equal(publish(&t, 0, "t", 7), 1);
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  expect_got(&t.r, 7, 7);
  done(&t);
}

static void a_restarted_publisher_numbers_its_publishes_afresh(void **state) {
  (void)state;
  given(&t, 3, NULL, 1, "t");
  for (int64_t k = 1; k <= 3; k++) assert_int_equal(publish(&t, 0, "t", k), 1);
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  sf_crash(&t.f, 0);
  restart(&t, 0);
  /* The new incarnation learns node1's registry once it is a member. */
  at_node o = {&t, 0};
  assert_int_equal(sf_run_until(&t.f, reaches_1, &o, sf_now(&t.f) + S(60)), 0);
  /* Its first publish is number 1 again, for a new incarnation: taken. */
  for (int64_t k = 4; k <= 5; k++) assert_int_equal(publish(&t, 0, "t", k), 1);
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  expect_got(&t.r, 1, 5);
  assert_int_equal(stats(&t, 1).duplicates, 0);
  done(&t);
}

static void a_member_that_joins_late_learns_every_registry(void **state) {
  (void)state;
  memset(&t, 0, sizeof t);
  current = &t;
  sf_init(&t.f, 3, 1, NULL);
  for (unsigned i = 0; i < 2; i++) {
    sf_start(&t.f, i);
    setup(&t, i);
  }
  sf_run_to(&t.f, S(10));
  t.sub = recorder(&t, 1, "sub", &t.r);
  subscribe(&t, t.sub, &t.r, "t");
  sf_start(&t.f, 2);
  setup(&t, 2);
  at_node o = {&t, 2};
  assert_int_equal(sf_run_until(&t.f, reaches_1, &o, sf_now(&t.f) + S(30)), 0);
  assert_int_equal(publish(&t, 2, "t", 1), 1);
  sf_run_to(&t.f, sf_now(&t.f) + MS(10));
  expect_got(&t.r, 1, 1);
  done(&t);
}

/* ---- registries ----------------------------------------------------------------------------------- */

#define CHANGED_TOPICS 100 /* more changes than a delta carries (AKT__TP_DELTA_MAX) */

static void topic(char *buf, size_t k) { snprintf(buf, 16, "r%zu", k); }

/* node0 sends topic r<k> to node1 exactly when k is odd. */
static int odd_topics_at_node0(void *arg) {
  for (size_t k = 0; k < CHANGED_TOPICS; k++) {
    char name[16];
    topic(name, k);
    if (reach(arg, 0, name) != (k & 1)) return 0;
  }
  return 1;
}

static void registries_converge_after_changes_lost_with_a_connection(void **state) {
  (void)state;
  given(&t, 3, NULL, 1, NULL);
  /* node1 and node0 lose each other for 4 s: their connections close
   * (remoting's heartbeats), what was on them is lost. Meanwhile node1
   * changes its registry more times than a delta carries. (Longer, and
   * membership would down one of the two: each reaches the other only
   * through node2.) */
  assert_int_equal(akt_sim_cut(t.f.w, t.f.node[0].b, t.f.node[1].b, 1), 0);
  char name[16];
  for (size_t k = 0; k < CHANGED_TOPICS; k++) {
    topic(name, k);
    assert_int_equal(akt_topic_subscribe(t.sub, name, NULL), 0);
    sf_run_to(&t.f, sf_now(&t.f) + MS(20));
  }
  for (size_t k = 0; k < CHANGED_TOPICS; k += 2) {
    topic(name, k);
    assert_int_equal(akt_topic_unsubscribe(t.sub, name), 0);
    sf_run_to(&t.f, sf_now(&t.f) + MS(20));
  }
  sf_run_to(&t.f, sf_now(&t.f) + S(1));
  assert_int_equal(akt_sim_heal(t.f.w, t.f.node[0].b, t.f.node[1].b), 0);
  assert_int_equal(sf_run_until(&t.f, odd_topics_at_node0, &t, sf_now(&t.f) + S(30)), 0);
  /* node2 followed all along, by deltas. */
  for (size_t k = 0; k < CHANGED_TOPICS; k++) {
    topic(name, k);
    assert_int_equal(reach(&t, 2, name), k & 1);
  }
  assert_true(stats(&t, 1).retransmits > 0);
  done(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_subscription_is_acknowledged_one_round_trip_after_it_is_made),
    cmocka_unit_test(an_unacknowledged_publish_is_resent_and_taken_once),
    cmocka_unit_test(without_deduplication_the_resends_are_delivered_again),
    cmocka_unit_test(the_first_resend_comes_one_retransmission_time_after_the_publish),
    cmocka_unit_test(a_full_queue_refuses_a_publish_and_says_so),
    cmocka_unit_test(a_crashed_member_s_subscriptions_go_when_it_is_seen_down),
    cmocka_unit_test(a_subscriber_that_stops_after_its_clock_stepped_back_is_removed),
    cmocka_unit_test(a_downed_member_ends_its_subscriptions_and_they_are_made_again),
    cmocka_unit_test(a_restarted_publisher_numbers_its_publishes_afresh),
    cmocka_unit_test(a_member_that_joins_late_learns_every_registry),
    cmocka_unit_test(registries_converge_after_changes_lost_with_a_connection),
};

int main(int argc, char **argv) {
  int rc = akt_testkit_parse_args(argc, argv);
  if (rc) return rc > 0 ? 0 : 2;
  return cmocka_run_group_tests_name("cluster-topics-sim", tests, NULL, NULL) ? 1 : 0;
}
