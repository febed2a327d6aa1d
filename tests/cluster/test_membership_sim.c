/* Cluster membership on the simulator, in the style of Tarantool's SWIM
 * tests: exact windows of virtual time derived from the configuration
 * ("not unreachable 1 ms before the suspicion timeout, unreachable by
 * it"), on a fixed seed (AKT_SEED replays another; AKT_TRACE=FILE writes
 * the trace). */
#include "sim_fixture.h"
#include "src/cluster/cluster.h"

#define S(x) AKT_SECONDS(x)
#define MS(x) AKT_MILLIS(x)
#define GOSSIP AKT_CLUSTER_DEFAULT_GOSSIP_INTERVAL
#define STABLE AKT_CLUSTER_DEFAULT_STABLE_AFTER
#define PROBE AKT_CLUSTER_DEFAULT_PROBE_INTERVAL
#define SUSPICION_MIN (AKT_CLUSTER_DEFAULT_SUSPICION_MULT * PROBE) /* up to 10 members */
/* A datagram's crossing and the turns around it: gossip that follows an
 * event by one hop lands within this. */
#define HOP MS(10)

static void formed_cluster(sf *f, unsigned n, const akt_cluster_options *o) {
  sf_init(f, n, 1, o);
  sf_start_all(f);
  if (sf_run_until_converged(f, S(20)) != 0) {
    sf_dump(f);
    fail_msg("%u nodes did not converge within 20 s", n);
  }
}

static void must(int cond, sf *f, const char *what) {
  if (!cond) {
    sf_dump(f);
    fail_msg("%s", what);
  }
}

/* ---- forming ----------------------------------------------------------------------------------- */

static void nodes_started_together_form_exactly_one_cluster(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 5, NULL);
  assert_int_equal(sf_count(&f, AKT_CLUSTER_FORMED, NULL, 0), 1);
  /* The founder is the lowest address that everyone agreed on. */
  assert_non_null(sf_find(&f, 0, AKT_CLUSTER_FORMED, "node0", 0));
  /* It founded after bootstrap_rounds rounds with a majority answering. */
  uint64_t formed = sf_at(&f, 0, AKT_CLUSTER_FORMED, "node0", 0);
  assert_true(formed >= AKT_CLUSTER_DEFAULT_BOOTSTRAP_ROUNDS * AKT_CLUSTER_DEFAULT_JOIN_INTERVAL *
                             9 / 10);
  sf_free(&f);
}

static void nodes_started_seconds_apart_form_one_cluster_with_the_first_majority(void **state) {
  (void)state;
  sf f;
  sf_init(&f, 5, 1, NULL);
  for (unsigned i = 0; i < 5; i++) {
    sf_start(&f, 4 - i); /* highest address first */
    sf_run_to(&f, sf_now(&f) + S(3));
  }
  assert_int_equal(sf_run_until_converged(&f, sf_now(&f) + S(20)), 0);
  assert_int_equal(sf_count(&f, AKT_CLUSTER_FORMED, NULL, 0), 1);
  /* Nobody founds alone: three of five seeds (node4, node3, node2) had to
   * answer, and the lowest of them founded. */
  must(sf_find(&f, 2, AKT_CLUSTER_FORMED, "node2", 0) != NULL, &f, "node2 founded");
  assert_true(sf_at(&f, 2, AKT_CLUSTER_FORMED, "node2", 0) >= S(6));
  sf_free(&f);
}

/* ---- failure detection --------------------------------------------------------------------------- */

static void a_crashed_member_is_suspect_unreachable_and_down_at_the_configured_times(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 3, NULL);
  uint64_t t0 = sf_now(&f) + S(5);
  sf_run_to(&f, t0);
  sf_crash(&f, 2);
  sf_run_to(&f, t0 + S(40));
  uint64_t s0 = sf_at(&f, 0, AKT_CLUSTER_MEMBER_SUSPECT, "node2", t0);
  uint64_t s1 = sf_at(&f, 1, AKT_CLUSTER_MEMBER_SUSPECT, "node2", t0);
  must(s0 && s1, &f, "node2 was not suspected everywhere");
  uint64_t first = s0 < s1 ? s0 : s1;
  /* Suspected within two probe rounds (2 members each) plus the probe. */
  must(first <= t0 + 2 * 2 * PROBE + PROBE, &f, "suspected too late");
  /* Three members: nobody can confirm (Lifeguard's k = 0), so the timeout
   * is the minimum: no node declares it before the minimum has passed since
   * the first suspicion anywhere, and each by the minimum after its own. */
  uint64_t u0 = sf_at(&f, 0, AKT_CLUSTER_MEMBER_UNREACHABLE, "node2", t0);
  must(u0 >= first + SUSPICION_MIN, &f, "unreachable before the suspicion timeout");
  must(u0 <= s0 + SUSPICION_MIN + HOP, &f, "not unreachable by the suspicion timeout");
  /* node0 founded: it is the oldest, the leader of its side, and downs
   * node2 at its first gossip tick once the view stood still for
   * stable_after and its own probe of node2 (at most its next probe, one
   * interval long, after the mark) failed too. */
  uint64_t d0 = sf_at(&f, 0, AKT_CLUSTER_MEMBER_DOWN, "node2", t0);
  must(d0 >= u0 + STABLE && d0 <= u0 + STABLE + 2 * PROBE + GOSSIP, &f,
       "down outside its window");
  uint64_t d1 = sf_at(&f, 1, AKT_CLUSTER_MEMBER_DOWN, "node2", t0);
  must(d1 >= d0 && d1 <= d0 + GOSSIP + HOP, &f, "the down did not spread within a gossip tick");
  /* Removed remove_after later, on each node. */
  uint64_t r0 = sf_at(&f, 0, AKT_CLUSTER_MEMBER_REMOVED, "node2", t0);
  must(r0 == d0 + AKT_CLUSTER_DEFAULT_REMOVE_AFTER, &f, "not removed remove_after after down");
  assert_int_equal(sf_count(&f, AKT_CLUSTER_MEMBER_DOWN, "node0", 0), 0);
  assert_int_equal(sf_count(&f, AKT_CLUSTER_MEMBER_DOWN, "node1", 0), 0);
  sf_free(&f);
}

/* Just under the minimum suspicion of a three-member cluster. */
#define PAUSE (SUSPICION_MIN - MS(100))

static void a_member_paused_shorter_than_the_suspicion_refutes_and_stays_up(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 3, NULL);
  uint64_t t0 = sf_now(&f) + S(5);
  sf_run_to(&f, t0);
  assert_int_equal(akt_sim_pause(f.w, f.node[2].b), 0);
  sf_run_to(&f, t0 + PAUSE);
  assert_int_equal(akt_sim_resume(f.w, f.node[2].b), 0);
  sf_run_to(&f, t0 + S(30));
  /* The others probe node2 about once a probe interval between them: it
   * was suspected, then refuted with a higher version. */
  const sf_event *s = sf_find(&f, 0, AKT_CLUSTER_MEMBER_SUSPECT, "node2", t0);
  must(s != NULL, &f, "node2 was never suspected");
  const sf_event *r = sf_find(&f, 0, AKT_CLUSTER_MEMBER_REACHABLE, "node2", t0);
  must(r != NULL, &f, "node2 never refuted");
  assert_true(r->at <= t0 + PAUSE + GOSSIP + HOP);
  assert_true(sf_count(&f, AKT_CLUSTER_MEMBER_UNREACHABLE, "node2", t0) == 0);
  assert_true(sf_count(&f, AKT_CLUSTER_MEMBER_DOWN, NULL, t0) == 0);
  akt_member m = {0};
  assert_true(sf_view(&f, 0, "node2", &m));
  assert_true(m.version > 2 && m.status == AKT_MEMBER_UP && m.reach == AKT_REACH_ALIVE);
  sf_free(&f);
}

static void lifeguard_suspicion_starts_at_the_maximum_and_shrinks_with_confirmations(void **state) {
  (void)state;
  /* memberlist's formula: max - (max - min) * log(n + 1) / log(k + 1). */
  akt_duration min = S(4), max = S(24);
  assert_int_equal(akt__cl_suspicion_timeout(min, max, 2, 0), max);
  assert_int_equal(akt__cl_suspicion_timeout(min, max, 2, 1), MS(11381));
  assert_int_equal(akt__cl_suspicion_timeout(min, max, 2, 2), min);
  assert_int_equal(akt__cl_suspicion_timeout(min, max, 0, 0), min);
  /* In a cluster: with five members two others can confirm, so a crash
   * seen by everyone is declared after more than the minimum only when
   * the confirmations are late, and never after the maximum. */
  sf f;
  formed_cluster(&f, 5, NULL);
  uint64_t t0 = sf_now(&f) + S(5);
  sf_run_to(&f, t0);
  sf_crash(&f, 4);
  sf_run_to(&f, t0 + S(60));
  uint64_t first = UINT64_MAX, unreachable = UINT64_MAX;
  for (unsigned i = 0; i < 4; i++) {
    uint64_t s = sf_at(&f, i, AKT_CLUSTER_MEMBER_SUSPECT, "node4", t0);
    uint64_t u = sf_at(&f, i, AKT_CLUSTER_MEMBER_UNREACHABLE, "node4", t0);
    must(s && u, &f, "not suspected and unreachable everywhere");
    if (s < first) first = s;
    if (u < unreachable) unreachable = u;
  }
  must(unreachable >= first + SUSPICION_MIN, &f, "declared before the minimum");
  must(unreachable <= first + 6 * SUSPICION_MIN + HOP, &f, "declared after the maximum");
  sf_free(&f);
}

/* ---- identity ---------------------------------------------------------------------------------------- */

static void a_restarted_node_is_a_new_incarnation_and_its_old_self_never_comes_back(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 3, NULL);
  akt_member old = {0};
  assert_true(sf_view(&f, 0, "node2", &old));
  uint64_t t0 = sf_now(&f) + S(2);
  sf_run_to(&f, t0);
  sf_crash(&f, 2);
  sf_run_to(&f, t0 + PROBE / 5); /* back before any probe of it could fail */
  sf_restart(&f, 2);
  assert_int_equal(sf_run_until_converged(&f, t0 + S(20)), 0);
  akt_member now = {0};
  assert_true(sf_view(&f, 0, "node2", &now));
  assert_true(now.incarnation > old.incarnation);
  /* The old one went down the moment the new one was known (no failure
   * detection needed), then was removed, and nothing about it followed. */
  const sf_event *down = NULL, *removed = NULL;
  for (size_t k = 0; k < f.nev; k++) {
    const sf_event *e = &f.ev[k];
    if (e->node != 0 || e->incarnation != old.incarnation || e->at < t0) continue;
    if (e->kind == AKT_CLUSTER_MEMBER_DOWN) down = e;
    else if (e->kind == AKT_CLUSTER_MEMBER_REMOVED) removed = e;
    else if (removed) fail_msg("an event about a removed incarnation");
  }
  must(down && removed && down->reason == AKT_DOWN_RESTARTED && removed->at == down->at, &f,
       "the old incarnation was not downed and removed at once");
  assert_int_equal(sf_count(&f, AKT_CLUSTER_MEMBER_SUSPECT, "node2", t0), 0);
  sf_run_to(&f, t0 + S(60));
  akt_member later = {0};
  assert_true(sf_view(&f, 1, "node2", &later));
  assert_int_equal(later.incarnation, now.incarnation);
  sf_free(&f);
}

/* ---- leaving ------------------------------------------------------------------------------------------- */

static int node_out(void *arg) { return sf_phase(arg, 2) == AKT_CLUSTER_OUT; }

static void a_member_that_leaves_is_left_then_exited_then_removed_and_never_suspected(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 3, NULL);
  uint64_t t0 = sf_now(&f) + S(2);
  sf_run_to(&f, t0);
  assert_int_equal(akt_cluster_leave(f.node[2].sys, 0), 0);
  assert_int_equal(akt_cluster_leave(f.node[2].sys, 0), 0); /* leaving already: fine */
  assert_int_equal(sf_run_until(&f, node_out, &f, t0 + AKT_CLUSTER_DEFAULT_LEAVE_TIMEOUT), 0);
  sf_run_to(&f, t0 + S(45));
  uint64_t left = sf_at(&f, 0, AKT_CLUSTER_MEMBER_LEFT, "node2", t0);
  uint64_t exited = sf_at(&f, 0, AKT_CLUSTER_MEMBER_EXITED, "node2", t0);
  uint64_t removed = sf_at(&f, 0, AKT_CLUSTER_MEMBER_REMOVED, "node2", t0);
  must(left && left <= t0 + GOSSIP + HOP, &f, "leaving not seen within a gossip tick");
  must(exited > left && exited <= t0 + AKT_CLUSTER_DEFAULT_LEAVE_TIMEOUT, &f, "exit not seen");
  must(removed >= exited + AKT_CLUSTER_DEFAULT_REMOVE_AFTER &&
           removed <= exited + AKT_CLUSTER_DEFAULT_REMOVE_AFTER + HOP,
       &f, "not removed remove_after after its exit");
  assert_int_equal(sf_count(&f, AKT_CLUSTER_MEMBER_SUSPECT, "node2", t0), 0);
  assert_int_equal(sf_count(&f, AKT_CLUSTER_MEMBER_DOWN, NULL, t0), 0);
  /* The leaver itself: leaving, exiting, then out (removed). */
  assert_non_null(sf_find(&f, 2, AKT_CLUSTER_MEMBER_LEFT, "node2", t0));
  assert_non_null(sf_find(&f, 2, AKT_CLUSTER_MEMBER_EXITED, "node2", t0));
  assert_non_null(sf_find(&f, 2, AKT_CLUSTER_MEMBER_REMOVED, "node2", t0));
  assert_int_equal(akt_cluster_leave(f.node[2].sys, 0), AKT_ESTATE);
  sf_free(&f);
}

/* ---- split brain ---------------------------------------------------------------------------------------- */

/* Partitions the cluster into `groups` (node i in group[i]) at t0 and
 * heals it after `len`. */
static void partition(sf *f, const uint32_t *groups, uint64_t t0, uint64_t len) {
  sf_run_to(f, t0);
  assert_int_equal(akt_sim_partition(f->w, groups, f->n), 0);
  sf_run_to(f, t0 + len);
  assert_int_equal(akt_sim_heal(f->w, NULL, NULL), 0);
}

/* 1 if node i's identity of `since` was downed after `since`. */
static int downed(sf *f, unsigned i, uint64_t since) {
  char name[16];
  snprintf(name, sizeof name, "node%u", i);
  return sf_count(f, AKT_CLUSTER_MEMBER_DOWN, name, since) > 0;
}

static void split(const akt_cluster_options *o, unsigned n, const uint32_t *groups,
                  const int *expect_down) {
  sf f;
  formed_cluster(&f, n, o);
  uint64_t t0 = sf_now(&f) + S(2);
  partition(&f, groups, t0, S(60));
  for (unsigned i = 0; i < n; i++)
    if (downed(&f, i, t0) != expect_down[i]) {
      sf_dump(&f);
      fail_msg("node%u %s downed", i, expect_down[i] ? "was not" : "was");
    }
  /* After the heal the downed nodes rejoin as new incarnations. */
  if (sf_run_until_converged(&f, sf_now(&f) + S(60)) != 0) {
    sf_dump(&f);
    fail_msg("no single view after the heal");
  }
  sf_free(&f);
}

static void keep_majority_downs_the_minority_side_and_nothing_else(void **state) {
  (void)state;
  static const uint32_t g[5] = {0, 0, 0, 1, 1};
  static const int down[5] = {0, 0, 0, 1, 1};
  split(NULL, 5, g, down);
}

static void keep_majority_gives_a_tie_to_the_side_with_the_lowest_address(void **state) {
  (void)state;
  static const uint32_t g[4] = {1, 0, 1, 0};
  static const int down[4] = {0, 1, 0, 1};
  split(NULL, 4, g, down);
}

static void an_isolated_member_downs_itself(void **state) {
  (void)state;
  static const uint32_t g[5] = {0, 0, 1, 0, 0};
  static const int down[5] = {0, 0, 1, 0, 0};
  split(NULL, 5, g, down);
}

static void static_quorum_keeps_a_side_that_has_the_quorum(void **state) {
  (void)state;
  akt_cluster_options o = {.downing = AKT_DOWNING_STATIC_QUORUM, .quorum = 3};
  static const uint32_t g[5] = {1, 1, 0, 0, 0};
  static const int minority[5] = {1, 1, 0, 0, 0};
  split(&o, 5, g, minority);
}

static void static_quorum_of_half_or_less_keeps_both_sides_until_the_heal(void **state) {
  (void)state;
  /* quorum 2 of 5: both sides have it, both stay up during the partition
   * (two clusters: why docs/cluster.md says quorum > N/2), and at the heal
   * each learns the other downed it: everyone rejoins. */
  akt_cluster_options o = {.downing = AKT_DOWNING_STATIC_QUORUM, .quorum = 2};
  static const uint32_t g[5] = {1, 1, 0, 0, 0};
  sf f;
  formed_cluster(&f, 5, &o);
  uint64_t t0 = sf_now(&f) + S(2);
  sf_run_to(&f, t0);
  assert_int_equal(akt_sim_partition(f.w, g, 5), 0);
  sf_run_to(&f, t0 + S(60));
  for (unsigned i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "node%u", i);
    must(sf_find(&f, i, AKT_CLUSTER_MEMBER_DOWN, name, t0) == NULL, &f, "a node downed itself");
    must(sf_phase(&f, i) == AKT_CLUSTER_MEMBER, &f, "a side did not stay up");
  }
  assert_int_equal(akt_sim_heal(f.w, NULL, NULL), 0);
  /* Everyone is down: each learns it at the heal, waits rejoin_delay, and a
   * majority founds a new cluster. */
  must(sf_run_until_converged(&f, sf_now(&f) + S(60)) == 0, &f, "no single view after the heal");
  sf_free(&f);
}

static void keep_oldest_keeps_the_oldest_side_unless_the_oldest_is_alone(void **state) {
  (void)state;
  /* node0 founded the cluster: it is the oldest. */
  akt_cluster_options o = {.downing = AKT_DOWNING_KEEP_OLDEST};
  static const uint32_t two[5] = {0, 0, 1, 1, 1};
  static const int majority_goes[5] = {0, 0, 1, 1, 1};
  split(&o, 5, two, majority_goes);
  static const uint32_t alone[5] = {0, 1, 1, 1, 1};
  static const int oldest_goes[5] = {1, 0, 0, 0, 0};
  split(&o, 5, alone, oldest_goes);
}

static void down_all_downs_everyone(void **state) {
  (void)state;
  akt_cluster_options o = {.downing = AKT_DOWNING_DOWN_ALL};
  static const uint32_t g[5] = {0, 0, 0, 1, 1};
  static const int all[5] = {1, 1, 1, 1, 1};
  split(&o, 5, g, all);
}

static void a_member_reachable_only_through_others_goes_down_higher_address_first(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 5, NULL);
  uint64_t t0 = sf_now(&f) + S(2);
  sf_run_to(&f, t0);
  /* node1 and node3 cannot talk directly; both talk to everyone else, so
   * SWIM's indirect probes keep each alive in the other's eyes. */
  assert_int_equal(akt_sim_cut(f.w, f.node[1].b, f.node[3].b, 1), 0);
  sf_run_to(&f, t0 + S(60));
  must(downed(&f, 3, t0), &f, "node3 (the higher address of the pair) was not downed");
  for (unsigned i = 0; i < 5; i++)
    if (i != 3) must(!downed(&f, i, t0), &f, "a member other than node3 was downed");
  const sf_event *e = sf_find(&f, 3, AKT_CLUSTER_MEMBER_DOWN, "node3", t0);
  must(e && e->reason == AKT_DOWN_INDIRECT, &f, "not downed as indirectly connected");
  sf_free(&f);
}

/* The zombie of a partition: node4 never decides (its downing is off: it
 * stands for a node kept from deciding, as a suspicion still pending at
 * the heal kept one in a sweep's seed), so while the others down and
 * remove it, it stays a member in its own eyes, with every other member
 * unreachable as it last saw them. */
static void zombie(sf *f, unsigned i, akt_cluster_options *o) {
  (void)f;
  o->rediscover_interval = S(1); /* the others look for it right after the heal */
  if (i == 4) o->test_flags |= AKT_CLUSTER_TEST_NO_DOWNING;
}

static void a_member_downed_behind_a_partition_is_told_so_and_its_stale_view_is_not_merged(
    void **state) {
  (void)state;
  sf f;
  sf_init(&f, 5, 1, NULL);
  f.node_opts = zombie;
  sf_start_all(&f);
  must(sf_run_until_converged(&f, S(20)) == 0, &f, "5 nodes did not converge within 20 s");
  uint64_t t0 = sf_now(&f) + S(2);
  static const uint32_t g[5] = {0, 0, 0, 0, 1};
  partition(&f, g, t0, S(60));
  uint64_t heal = sf_now(&f);
  akt_member me;
  must(sf_phase(&f, 4) == AKT_CLUSTER_MEMBER && sf_view(&f, 4, "node4", &me) &&
           me.status == AKT_MEMBER_UP,
       &f, "node4 is not the zombie this test needs (a member, up in its own eyes)");
  for (unsigned i = 0; i < 4; i++)
    must(sf_find(&f, i, AKT_CLUSTER_MEMBER_DOWN, "node4", t0) != NULL, &f,
         "the majority did not down node4");
  /* The first hello the majority sends it after the heal (a rediscovery
   * round, 1 s) is answered as a member would: the one who hears it tells
   * it that it is down, rather than syncing with it as with a cluster of
   * its own. */
  sf_run_to(&f, heal + S(1) + 4 * HOP);
  must(sf_find(&f, 4, AKT_CLUSTER_MEMBER_DOWN, "node4", heal) != NULL, &f,
       "node4 was not told it is down by the first hello after the heal");
  /* Its view (node0..node3 unreachable) never reached the majority. */
  sf_run_until_converged(&f, heal + S(60));
  for (unsigned i = 0; i < 4; i++)
    for (unsigned j = 0; j < 4; j++) {
      char name[16];
      snprintf(name, sizeof name, "node%u", j);
      must(!sf_find(&f, i, AKT_CLUSTER_MEMBER_SUSPECT, name, t0) &&
               !sf_find(&f, i, AKT_CLUSTER_MEMBER_UNREACHABLE, name, t0),
           &f, "a majority member saw another as suspect or unreachable: a stale view merged");
    }
  must(sf_converged(&f), &f, "no single view after the heal");
  sf_free(&f);
}

/* ---- events ----------------------------------------------------------------------------------------------- */

/* A member's history: down/removed last, then version, status, reach. */
static uint64_t key(const sf_event *e) {
  uint64_t gone = e->status >= AKT_MEMBER_DOWN ? (uint64_t)e->status : 0;
  return gone << 40 | (uint64_t)e->version << 8 | (uint64_t)e->status << 2 | (uint64_t)e->reach;
}

static void every_node_sees_a_members_changes_in_the_same_order(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 5, NULL);
  uint64_t t0 = sf_now(&f);
  assert_int_equal(akt_sim_pause(f.w, f.node[4].b), 0);
  sf_run_to(&f, t0 + MS(3500));
  assert_int_equal(akt_sim_resume(f.w, f.node[4].b), 0);
  sf_run_to(&f, t0 + S(5));
  sf_crash(&f, 3);
  sf_run_to(&f, t0 + S(40));
  /* For each observer and member incarnation the events rise strictly in
   * the member's history; and where two observers both saw two events,
   * they saw them in the same order. */
  for (size_t a = 0; a < f.nev; a++) {
    const sf_event *x = &f.ev[a];
    if (x->kind == AKT_CLUSTER_LEADER_CHANGED || x->kind == AKT_CLUSTER_FORMED) continue;
    for (size_t b = a + 1; b < f.nev; b++) {
      const sf_event *y = &f.ev[b];
      if (y->node != x->node || y->incarnation != x->incarnation ||
          y->kind == AKT_CLUSTER_LEADER_CHANGED || y->kind == AKT_CLUSTER_FORMED)
        continue;
      if (key(y) < key(x)) {
        sf_dump(&f);
        fail_msg("node%u saw %s of %s after %s", x->node, akt_cluster_event_name(y->kind),
                 y->subject, akt_cluster_event_name(x->kind));
      }
    }
  }
  sf_free(&f);
}

static void the_leader_is_the_oldest_up_member_and_changes_when_it_goes(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 3, NULL);
  for (unsigned i = 0; i < 3; i++) {
    akt_member l;
    assert_int_equal(akt_cluster_leader(f.node[i].sys, &l), 0);
    assert_string_equal(l.name, "node0"); /* the founder: up_number 1 */
    assert_int_equal(l.up_number, 1);
  }
  uint64_t t0 = sf_now(&f) + S(1);
  sf_run_to(&f, t0);
  sf_crash(&f, 0);
  sf_run_to(&f, t0 + S(30));
  /* Unreachable, it is no longer the leader: the next oldest is. */
  const sf_event *e = NULL;
  const sf_event *u = sf_find(&f, 1, AKT_CLUSTER_MEMBER_UNREACHABLE, "node0", t0);
  for (size_t k = 0; k < f.nev && !e; k++)
    if (f.ev[k].node == 1 && f.ev[k].kind == AKT_CLUSTER_LEADER_CHANGED && f.ev[k].at >= t0)
      e = &f.ev[k];
  must(e && u && e->at == u->at && strcmp(e->subject, "node0") != 0, &f,
       "the leader did not change when node0 became unreachable");
  akt_member l1, l2;
  assert_int_equal(akt_cluster_leader(f.node[1].sys, &l1), 0);
  assert_int_equal(akt_cluster_leader(f.node[2].sys, &l2), 0);
  assert_string_equal(l1.name, l2.name);
  sf_free(&f);
}

/* ---- metadata, limits, bytes ------------------------------------------------------------------------------- */

static void roles_and_values(sf *f, unsigned i, akt_cluster_options *o) {
  (void)f;
  static const char *const roles[] = {"frontend", "eu-west"};
  static const akt_cluster_kv values[] = {{"zone", "b"}, {"version", "1.2.3"}};
  if (i != 1) return;
  o->roles = roles;
  o->nroles = 2;
  o->values = values;
  o->nvalues = 2;
  o->cluster_port = 9100;
}

static void members_carry_their_roles_values_and_addresses(void **state) {
  (void)state;
  sf f;
  sf_init(&f, 3, 1, NULL);
  f.node_opts = roles_and_values;
  sf_start_all(&f);
  assert_int_equal(sf_run_until_converged(&f, S(20)), 0);
  akt_member ms[4];
  size_t n = 0;
  assert_int_equal(akt_cluster_members(f.node[2].sys, ms, 4, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(ms[0].name, "node0"); /* sorted by address */
  assert_string_equal(ms[1].name, "node1");
  assert_string_equal(ms[2].name, "node2");
  assert_true(ms[2].self && !ms[1].self);
  assert_int_equal(ms[1].nroles, 2);
  assert_string_equal(ms[1].roles[0], "frontend");
  assert_string_equal(ms[1].roles[1], "eu-west");
  assert_int_equal(ms[1].nvalues, 2);
  assert_string_equal(ms[1].keys[1], "version");
  assert_string_equal(ms[1].values[1], "1.2.3");
  assert_int_equal(ms[1].cluster_port, 9100);
  assert_string_equal(ms[1].remoting, "akt://node1@node1:2552");
  assert_string_equal(ms[1].addr.host, "node1");
  assert_int_equal(ms[1].addr.port, SF_GOSSIP_PORT);
  /* Bytes are counted per member. */
  sf_run_to(&f, sf_now(&f) + S(10));
  assert_int_equal(akt_cluster_members(f.node[2].sys, ms, 4, &n), 0);
  assert_true(ms[0].bytes_sent > 0 && ms[0].bytes_received > 0);
  /* A short buffer: the first ones, the total, AKT_ELIMIT. */
  assert_int_equal(akt_cluster_members(f.node[2].sys, ms, 2, &n), AKT_ELIMIT);
  assert_int_equal(n, 3);
  akt_member self;
  assert_int_equal(akt_cluster_self(f.node[1].sys, &self), 0);
  assert_string_equal(self.name, "node1");
  assert_int_equal(self.status, AKT_MEMBER_UP);
  sf_free(&f);
}

static void cap_members(sf *f, unsigned i, akt_cluster_options *o) {
  (void)f;
  (void)i;
  o->max_members = 3;
}

static void a_full_member_table_refuses_more_and_counts_them(void **state) {
  (void)state;
  sf f;
  sf_init(&f, 4, 1, NULL);
  f.node_opts = cap_members;
  sf_start_all(&f);
  sf_run_to(&f, S(20));
  akt_member ms[8];
  size_t n = 0;
  unsigned refusing = 0;
  for (unsigned i = 0; i < 4; i++) {
    if (akt_cluster_get_phase(f.node[i].sys) != AKT_CLUSTER_MEMBER) continue;
    akt_cluster_members(f.node[i].sys, ms, 8, &n);
    assert_true(n <= 3);
    akt_cluster_stats st;
    akt_cluster_get_stats(f.node[i].sys, &st);
    refusing += st.members_refused > 0;
  }
  assert_true(refusing > 0);
  sf_free(&f);
}

static void ignore(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                   void *data) {
  (void)d, (void)from, (void)buf, (void)len, (void)data;
}

static void garbage_datagrams_are_counted_and_change_nothing(void **state) {
  (void)state;
  sf f;
  formed_cluster(&f, 3, NULL);
  akt_backend *b = f.node[2].b;
  akt_dgram *d = NULL;
  akt_addr any = {.port = 0};
  snprintf(any.host, sizeof any.host, "node2");
  assert_int_equal(b->ops->dgram_open(b, &any, ignore, NULL, &d), 0);
  akt_addr to = {.port = SF_GOSSIP_PORT};
  snprintf(to.host, sizeof to.host, "node0");
  static const uint8_t junk[][12] = {
      {'A', 'K', 'C', 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* bad protobuf */
      {'A', 'K', 'C', 9, 0x0a, 0x00},                                     /* unknown format */
      {'X', 'Y', 'Z', 1},                                                 /* wrong magic */
      {'A', 'K'},                                                         /* too short */
  };
  static const size_t lens[] = {12, 6, 4, 2};
  akt_cluster_stats before, after;
  akt_cluster_get_stats(f.node[0].sys, &before);
  for (size_t i = 0; i < 4; i++) assert_int_equal(b->ops->dgram_send(b, d, &to, junk[i], lens[i]), 0);
  sf_run_to(&f, sf_now(&f) + S(1));
  akt_cluster_get_stats(f.node[0].sys, &after);
  assert_int_equal(after.decode_errors - before.decode_errors, 4);
  b->ops->dgram_close(b, d);
  assert_true(sf_converged(&f));
  sf_free(&f);
}

/* A keyed check on every datagram: a 8-byte tag after the packet. */
static int tag_seal(void *arg, uint8_t *buf, size_t len, size_t cap, size_t *out) {
  uint64_t key = *(const uint64_t *)arg, h = key;
  if (len + 8 > cap) return AKT_ELIMIT;
  for (size_t i = 0; i < len; i++) h = (h ^ buf[i]) * UINT64_C(0x100000001b3);
  memcpy(buf + len, &h, 8);
  *out = len + 8;
  return 0;
}

static int tag_open(void *arg, const uint8_t *buf, size_t len, size_t *off, size_t *plen) {
  uint64_t key = *(const uint64_t *)arg, h = key, t;
  if (len < 4 + 8) return AKT_EPROTO;
  for (size_t i = 0; i < len - 8; i++) h = (h ^ buf[i]) * UINT64_C(0x100000001b3);
  memcpy(&t, buf + len - 8, 8);
  if (t != h) return AKT_EPROTO;
  *off = 4;
  *plen = len - 8 - 4;
  return 0;
}

static uint64_t keys[3] = {42, 42, 7}; /* node2 has another key */

static void sealed(sf *f, unsigned i, akt_cluster_options *o) {
  (void)f;
  o->seal = (akt_cluster_seal){.seal = tag_seal, .open = tag_open, .overhead = 8, .arg = &keys[i]};
}

static void sealed_datagrams_from_a_node_with_another_key_are_dropped(void **state) {
  (void)state;
  sf f;
  sf_init(&f, 3, 1, NULL);
  f.node_opts = sealed;
  sf_start_all(&f);
  sf_run_to(&f, S(20));
  akt_member ms[4];
  size_t n = 0;
  assert_int_equal(akt_cluster_members(f.node[0].sys, ms, 4, &n), 0);
  assert_int_equal(n, 2); /* node0 and node1 */
  assert_int_equal(akt_cluster_get_phase(f.node[2].sys), AKT_CLUSTER_JOINING);
  akt_cluster_stats st;
  akt_cluster_get_stats(f.node[0].sys, &st);
  assert_true(st.decode_errors > 0);
  sf_free(&f);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nodes_started_together_form_exactly_one_cluster),
      cmocka_unit_test(nodes_started_seconds_apart_form_one_cluster_with_the_first_majority),
      cmocka_unit_test(a_crashed_member_is_suspect_unreachable_and_down_at_the_configured_times),
      cmocka_unit_test(a_member_paused_shorter_than_the_suspicion_refutes_and_stays_up),
      cmocka_unit_test(lifeguard_suspicion_starts_at_the_maximum_and_shrinks_with_confirmations),
      cmocka_unit_test(a_restarted_node_is_a_new_incarnation_and_its_old_self_never_comes_back),
      cmocka_unit_test(a_member_that_leaves_is_left_then_exited_then_removed_and_never_suspected),
      cmocka_unit_test(keep_majority_downs_the_minority_side_and_nothing_else),
      cmocka_unit_test(keep_majority_gives_a_tie_to_the_side_with_the_lowest_address),
      cmocka_unit_test(an_isolated_member_downs_itself),
      cmocka_unit_test(static_quorum_keeps_a_side_that_has_the_quorum),
      cmocka_unit_test(static_quorum_of_half_or_less_keeps_both_sides_until_the_heal),
      cmocka_unit_test(keep_oldest_keeps_the_oldest_side_unless_the_oldest_is_alone),
      cmocka_unit_test(down_all_downs_everyone),
      cmocka_unit_test(a_member_reachable_only_through_others_goes_down_higher_address_first),
      cmocka_unit_test(
          a_member_downed_behind_a_partition_is_told_so_and_its_stale_view_is_not_merged),
      cmocka_unit_test(every_node_sees_a_members_changes_in_the_same_order),
      cmocka_unit_test(the_leader_is_the_oldest_up_member_and_changes_when_it_goes),
      cmocka_unit_test(members_carry_their_roles_values_and_addresses),
      cmocka_unit_test(a_full_member_table_refuses_more_and_counts_them),
      cmocka_unit_test(garbage_datagrams_are_counted_and_change_nothing),
      cmocka_unit_test(sealed_datagrams_from_a_node_with_another_key_are_dropped),
  };
  return cmocka_run_group_tests_name("cluster-sim", tests, NULL, NULL);
}
