/* Pool routers (akt/router.h) — on both backends. */
#include <stdio.h>

#include "akt/actor.pb-c.h"
#include "akt/router.h"

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"

/* How long an expected message may take: on libuv, under load, longer than
 * any "short" wait; passing expectations return as soon as it arrives. */
#define PATIENCE AKT_TESTKIT_DEFAULT_TIMEOUT
#define MAX_SEEN 512

/* A routee that reports to the PID in its arg: Ping{n} as Note "<name>:<n>",
 * Cmd{op:"key", arg:K} as Note "<name>:<K>"; Cmd{op:"whoami"} is answered
 * (akt_reply) with Note "<name>"; Fail{code} fails with code. */
static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_pid *report = (akt_pid *)akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)((const Ping *)msg)->n);
    return note_to(ctx, report, text);
  }
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *c = (const Cmd *)msg;
  if (!strcmp(c->op, "key")) return note_to(ctx, report, c->arg);
  if (!strcmp(c->op, "whoami")) {
    Note n = NOTE__INIT;
    n.text = (char *)akt_pid_name(akt_ctx_self(ctx));
    return akt_reply(ctx, &n.base);
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def worker_def = {.kind = "worker", .receive = worker_receive};

/* The same, also reporting "<name>:started" and "<name>:stopped", so a test
 * sees restarts (the default pre_restart is post_stop, post_restart is
 * pre_start). */
static int noisy_pre_start(akt_ctx *ctx) {
  return note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "started");
}
static void noisy_post_stop(akt_ctx *ctx) {
  note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "stopped");
}
static const akt_actor_def noisy_worker_def = {.kind = "worker",
                                               .pre_start = noisy_pre_start,
                                               .receive = worker_receive,
                                               .post_stop = noisy_post_stop};

/* Keys of Cmd{op:"key"} messages: their arg. Anything else has no key. */
static int cmd_key(const ProtobufCMessage *msg, void *arg, const void **key, size_t *len) {
  (void)arg;
  if (!akt_msg_is(msg, &cmd__descriptor)) return -1;
  *key = ((const Cmd *)msg)->arg;
  *len = strlen(((const Cmd *)msg)->arg);
  return 0;
}

static akt_directive stop_decider(const akt_failure *f, void *arg) {
  (void)f;
  (void)arg;
  return AKT_DIRECTIVE_STOP;
}
static const akt_supervisor stop_supervisor = {.decider = stop_decider};

/* Spawns /user/router with routees of `def` reporting to the probe. */
static akt_pid *router_new(akt_testkit *tk, akt_probe *p, akt_routing routing, uint32_t size,
                           const akt_actor_def *def, const akt_supervisor *sup) {
  akt_spawn_opts ro = {.arg = akt_probe_pid(p)};
  akt_router_opts o = {.routing = routing, .routee = def, .routee_opts = &ro, .size = size,
                       .key = cmd_key, .supervisor = sup};
  akt_pid *r = NULL;
  assert_int_equal(akt_spawn_router(akt_testkit_system(tk), "router", &o, &r), 0);
  return r;
}

static void ping(akt_probe *p, akt_pid *to, int64_t n) {
  Ping m = PING__INIT;
  m.n = n;
  akt_probe_tell(p, to, &m.base);
}

static void cmd(akt_probe *p, akt_pid *to, const char *op, const char *arg) {
  Cmd m = CMD__INIT;
  m.op = (char *)op;
  m.arg = (char *)arg;
  akt_probe_tell(p, to, &m.base);
}

/* Receives n Notes "r<i>:<text>" and writes each one's routee number and
 * text (a C string of at most 31 bytes) to who[k] and what[k]. */
static void collect(akt_probe *p, size_t n, int *who, char (*what)[32]) {
  const ProtobufCMessage *got[MAX_SEEN];
  assert_true(n <= MAX_SEEN);
  akt_probe_receive_n(p, n, PATIENCE, got);
  for (size_t k = 0; k < n; k++) {
    assert_true(akt_msg_is(got[k], &note__descriptor));
    const char *text = ((const Note *)got[k])->text;
    int consumed = 0;
    assert_int_equal(sscanf(text, "r%d:%n", &who[k], &consumed), 1);
    snprintf(what[k], 32, "%s", text + consumed);
  }
}

/* The routee paths the router reports, checked against `want` (names). */
static void expect_routees(akt_probe *p, akt_pid *router, const char *const *want, size_t n) {
  Akt__RouterGetRoutees get = AKT__ROUTER_GET_ROUTEES__INIT;
  akt_probe_tell(p, router, &get.base);
  const Akt__Routees *r =
      (const Akt__Routees *)akt_probe_expect_msg(p, &akt__routees__descriptor, PATIENCE);
  assert_int_equal(r->n_paths, n);
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "%s/%s", akt_pid_path(router), want[i]);
    assert_string_equal(r->paths[i], path);
  }
}

static akt_pid *lookup(akt_testkit *tk, const char *path) {
  akt_pid *pid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), path, &pid), 0);
  return pid;
}

/* ---- routing ---------------------------------------------------------------- */

static void round_robin_spreads_messages_evenly_in_order(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 3, &worker_def, NULL);
  enum { N = 30 };
  for (int i = 0; i < N; i++) ping(p, r, i);
  int who[N];
  char what[N][32];
  collect(p, N, who, what);
  /* Message i goes to routee i % 3; each routee sees its share in order. */
  int next[3] = {0, 1, 2};
  for (int k = 0; k < N; k++) {
    assert_in_range(who[k], 0, 2);
    assert_int_equal(atoi(what[k]), next[who[k]]);
    next[who[k]] += 3;
  }
  for (int i = 0; i < 3; i++) assert_int_equal(next[i], N + i);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* Routes 40 Pings at random over 4 routees; writes each one's routee. */
static void random_run(akt_testkit *tk, int *routee_of, int n) {
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_RANDOM, 4, &worker_def, NULL);
  for (int i = 0; i < n; i++) ping(p, r, i);
  int who[MAX_SEEN];
  char what[MAX_SEEN][32];
  collect(p, (size_t)n, who, what);
  for (int i = 0; i < n; i++) routee_of[i] = -1;
  for (int k = 0; k < n; k++) {
    int i = atoi(what[k]);
    assert_in_range(i, 0, n - 1);
    assert_int_equal(routee_of[i], -1);
    routee_of[i] = who[k];
  }
  akt_pid_release(r);
}

static void random_reaches_every_routee(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  int routee_of[100];
  random_run(tk, routee_of, 100);
  int hits[4] = {0};
  for (int i = 0; i < 100; i++) {
    assert_in_range(routee_of[i], 0, 3);
    hits[routee_of[i]]++;
  }
  for (int i = 0; i < 4; i++) assert_true(hits[i] > 0);
  akt_testkit_free(tk);
}

static void random_repeats_for_the_same_seed(void **state) {
  (void)state;
  SIM_ONLY(); /* the libuv backend's stream is seeded too, but threads race */
  int a[40], b[40], c[40];
  akt_testkit *tk = TK_NEW(.use_seed = 1, .seed = 7);
  random_run(tk, a, 40);
  akt_testkit_free(tk);
  tk = TK_NEW(.use_seed = 1, .seed = 7);
  random_run(tk, b, 40);
  akt_testkit_free(tk);
  tk = TK_NEW(.use_seed = 1, .seed = 8);
  random_run(tk, c, 40);
  akt_testkit_free(tk);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_not_equal(a, c, sizeof a);
}

static void broadcast_reaches_every_routee_once_per_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_BROADCAST, 3, &worker_def, NULL);
  for (int i = 0; i < 4; i++) ping(p, r, i);
  int who[12];
  char what[12][32];
  collect(p, 12, who, what);
  int next[3] = {0};
  for (int k = 0; k < 12; k++) {
    assert_in_range(who[k], 0, 2);
    assert_int_equal(atoi(what[k]), next[who[k]]++);
  }
  for (int i = 0; i < 3; i++) assert_int_equal(next[i], 4);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* Sends every key of "key-0".."key-<n-1>" `times` times; writes the routee
 * of each key, checking it is the same every time. */
static void hash_keys(akt_probe *p, akt_pid *r, int n, int times, int *routee_of) {
  char key[32];
  for (int t = 0; t < times; t++)
    for (int i = 0; i < n; i++) {
      snprintf(key, sizeof key, "key-%d", i);
      cmd(p, r, "key", key);
    }
  int who[MAX_SEEN];
  char what[MAX_SEEN][32];
  collect(p, (size_t)(n * times), who, what);
  for (int i = 0; i < n; i++) routee_of[i] = -1;
  for (int k = 0; k < n * times; k++) {
    int i = -1;
    assert_int_equal(sscanf(what[k], "key-%d", &i), 1);
    assert_in_range(i, 0, n - 1);
    if (routee_of[i] < 0) routee_of[i] = who[k];
    assert_int_equal(who[k], routee_of[i]);
  }
}

static void consistent_hash_keeps_each_key_on_one_routee(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_CONSISTENT_HASH, 4, &worker_def, NULL);
  int before[100];
  hash_keys(p, r, 100, 3, before);
  int hits[4] = {0};
  for (int i = 0; i < 100; i++) {
    assert_in_range(before[i], 0, 3);
    hits[before[i]]++;
  }
  for (int i = 0; i < 4; i++) assert_true(hits[i] > 0);

  /* Jump hashing: growing the pool moves a key only to the new routee. */
  assert_int_equal(akt_router_resize(r, 5), 0);
  int after[100];
  hash_keys(p, r, 100, 1, after);
  int moved = 0;
  for (int i = 0; i < 100; i++) {
    if (after[i] == before[i]) continue;
    assert_int_equal(after[i], 4);
    moved++;
  }
  assert_true(moved > 0);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static int is_unhandled_ping(const ProtobufCMessage *msg, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  if (!akt_msg_is(msg, &akt__dead_letter__descriptor)) return 0;
  const Akt__DeadLetter *d = (const Akt__DeadLetter *)msg;
  return !strcmp(d->type, "Ping") && !strcmp(d->reason, "unhandled") &&
         !strcmp(d->target, "/user/router");
}

/* Leaves the dead-letter topic, so the system's teardown has no
 * subscription of the probe left to release. */
static void unsubscribe(akt_probe *p) {
  assert_int_equal(akt_unsubscribe(akt_probe_pid(p), AKT_TOPIC_DEAD_LETTER), 0);
}

static void a_message_without_a_key_is_unhandled(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_CONSISTENT_HASH, 2, &worker_def, NULL);
  assert_int_equal(akt_subscribe(akt_probe_pid(p), AKT_TOPIC_DEAD_LETTER), 0);
  ping(p, r, 1); /* cmd_key finds no key in a Ping */
  akt_probe_fish_for(p, is_unhandled_ping, NULL, 8, PATIENCE);
  unsubscribe(p);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* ---- replies ------------------------------------------------------------------ */

static void a_routee_replies_to_the_original_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 2, &worker_def, NULL);
  cmd(p, r, "whoami", "");
  EXPECT_NOTE(p, "r0");
  assert_string_equal(akt_pid_path(akt_probe_last_sender(p)), "/user/router/r0");

  /* An ask through the router is completed by the routee's reply. */
  Cmd who = CMD__INIT;
  who.op = (char *)"whoami";
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(r, &who.base, PATIENCE, &reply), 0);
  assert_true(akt_msg_is(reply, &note__descriptor));
  assert_string_equal(((const Note *)reply)->text, "r1");
  akt_msg_free(reply);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* ---- resizing ----------------------------------------------------------------- */

static void resize_grows_and_shrinks_the_pool(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 2, &worker_def, NULL);
  expect_routees(p, r, (const char *const[]){"r0", "r1"}, 2);

  assert_int_equal(akt_router_resize(r, 4), 0);
  const char *const four[] = {"r0", "r1", "r2", "r3"};
  expect_routees(p, r, four, 4);
  akt_pid *r2 = lookup(tk, "/user/router/r2");
  akt_pid *r3 = lookup(tk, "/user/router/r3");
  akt_probe_watch(p, r2);
  akt_probe_watch(p, r3);

  /* Shrinking removes r2 and r3 at once; they still handle what was
   * routed to them before. */
  for (int i = 0; i < 4; i++) ping(p, r, i);
  assert_int_equal(akt_router_resize(r, 2), 0);
  Akt__RouterGetRoutees get = AKT__ROUTER_GET_ROUTEES__INIT;
  akt_probe_tell(p, r, &get.base);
  const ProtobufCMessage *got[7];
  akt_probe_receive_n(p, 7, PATIENCE, got);
  int notes = 0, ends = 0, lists = 0;
  for (int k = 0; k < 7; k++) {
    if (akt_msg_is(got[k], &note__descriptor)) {
      notes++;
    } else if (akt_msg_is(got[k], &akt__terminated__descriptor)) {
      const char *path = ((const Akt__Terminated *)got[k])->path;
      assert_true(!strcmp(path, "/user/router/r2") || !strcmp(path, "/user/router/r3"));
      ends++;
    } else {
      const Akt__Routees *rs = (const Akt__Routees *)got[k];
      assert_true(akt_msg_is(got[k], &akt__routees__descriptor));
      assert_int_equal(rs->n_paths, 2);
      assert_string_equal(rs->paths[1], "/user/router/r1");
      lists++;
    }
  }
  assert_int_equal(notes, 4);
  assert_int_equal(ends, 2);
  assert_int_equal(lists, 1);

  /* Now only r0 and r1 get messages. */
  for (int i = 0; i < 6; i++) ping(p, r, i);
  int who[6];
  char what[6][32];
  collect(p, 6, who, what);
  int hits[2] = {0};
  for (int k = 0; k < 6; k++) {
    assert_in_range(who[k], 0, 1);
    hits[who[k]]++;
  }
  assert_int_equal(hits[0], 3);
  assert_int_equal(hits[1], 3);

  /* Growing again takes names never used yet. */
  assert_int_equal(akt_router_resize(r, 4), 0);
  expect_routees(p, r, (const char *const[]){"r0", "r1", "r4", "r5"}, 4);
  akt_pid_release(r2);
  akt_pid_release(r3);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void resize_to_an_invalid_size_is_refused(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 2, &worker_def, NULL);
  assert_int_equal(akt_router_resize(NULL, 2), AKT_EINVAL);
  assert_int_equal(akt_router_resize(r, 0), AKT_EINVAL);
  assert_int_equal(akt_router_resize(r, AKT_ROUTER_MAX_ROUTEES + 1), AKT_ELIMIT);
  /* Told directly, an out-of-range resize is unhandled and changes nothing. */
  Akt__RouterResize zero = AKT__ROUTER_RESIZE__INIT;
  akt_probe_tell(p, r, &zero.base);
  expect_routees(p, r, (const char *const[]){"r0", "r1"}, 2);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* ---- supervision -------------------------------------------------------------- */

static void make_fail(akt_probe *p, akt_pid *to) {
  Fail f = FAIL__INIT;
  f.code = AKT_EFAILED;
  akt_probe_tell(p, to, &f.base);
}

static void a_failed_routee_is_restarted_in_place_by_default(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.log_level = AKT_LOG_ERROR);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 3, &noisy_worker_def, NULL);
  int who[3];
  char what[3][32];
  collect(p, 3, who, what); /* the three "started" */
  const char *const three[] = {"r0", "r1", "r2"};
  expect_routees(p, r, three, 3);
  akt_pid *r1 = lookup(tk, "/user/router/r1");
  make_fail(p, r1);
  EXPECT_NOTE(p, "r1:stopped");
  EXPECT_NOTE(p, "r1:started");
  expect_routees(p, r, three, 3);
  akt_pid *again = lookup(tk, "/user/router/r1");
  assert_true(akt_pid_equal(again, r1));
  for (int i = 0; i < 3; i++) ping(p, r, i);
  collect(p, 3, who, what);
  int hits[3] = {0};
  for (int k = 0; k < 3; k++) hits[who[k]]++;
  for (int i = 0; i < 3; i++) assert_int_equal(hits[i], 1);
  akt_pid_release(again);
  akt_pid_release(r1);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_routee_stopped_by_its_supervisor_leaves_the_pool(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.log_level = AKT_LOG_ERROR);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 2, &worker_def, &stop_supervisor);
  expect_routees(p, r, (const char *const[]){"r0", "r1"}, 2);
  akt_pid *r0 = lookup(tk, "/user/router/r0");
  akt_pid *r1 = lookup(tk, "/user/router/r1");
  akt_probe_watch(p, r0);
  akt_probe_watch(p, r1);

  /* The router watched r0 before the probe did, so the router's Terminated
   * is queued ahead of the probe's GetRoutees. */
  make_fail(p, r0);
  akt_probe_expect_terminated(p, r0, PATIENCE);
  expect_routees(p, r, (const char *const[]){"r1"}, 1);
  for (int i = 0; i < 3; i++) ping(p, r, i);
  for (int i = 0; i < 3; i++) {
    char want[16];
    snprintf(want, sizeof want, "r1:%d", i);
    EXPECT_NOTE(p, want);
  }

  /* With no routee left, messages are unhandled. */
  make_fail(p, r1);
  akt_probe_expect_terminated(p, r1, PATIENCE);
  expect_routees(p, r, NULL, 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(p), AKT_TOPIC_DEAD_LETTER), 0);
  ping(p, r, 9);
  akt_probe_fish_for(p, is_unhandled_ping, NULL, 8, PATIENCE);
  unsubscribe(p);

  /* A resize fills the pool again. */
  assert_int_equal(akt_router_resize(r, 1), 0);
  expect_routees(p, r, (const char *const[]){"r2"}, 1);
  akt_pid_release(r0);
  akt_pid_release(r1);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_restarted_router_builds_a_fresh_pool_of_its_last_size(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 2, &worker_def, NULL);
  assert_int_equal(akt_router_resize(r, 3), 0);
  expect_routees(p, r, (const char *const[]){"r0", "r1", "r2"}, 3);
  akt_pid *old = lookup(tk, "/user/router/r0");
  akt_probe_watch(p, old);
  assert_int_equal(akt_restart(r), 0);
  /* The old routees stop before the router's pre_start runs again. */
  akt_probe_expect_terminated(p, old, PATIENCE);
  expect_routees(p, r, (const char *const[]){"r0", "r1", "r2"}, 3);
  akt_pid *now = lookup(tk, "/user/router/r0");
  assert_false(akt_pid_equal(now, old));
  /* The routing list holds the new routees only, in order. */
  for (int i = 0; i < 3; i++) ping(p, r, i);
  int who[3];
  char what[3][32];
  collect(p, 3, who, what);
  for (int k = 0; k < 3; k++) assert_int_equal(atoi(what[k]), who[k]);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_pid_release(now);
  akt_pid_release(old);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* Live actors of a fresh testkit with one probe. */
static uint64_t base_actors(void) {
  akt_testkit *tk = TK_NEW();
  akt_probe_new(tk, "p");
  akt_testkit_run_until_idle(tk);
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  akt_testkit_free(tk);
  return st.live_actors;
}

static void routees_beyond_max_actors(void **state) {
  (void)state;
  /* Room for one router and two routees. */
  akt_system_options so = {.max_actors = (size_t)base_actors() + 3};
  akt_testkit *tk = TK_NEW(.system = &so, .log_level = AKT_LOG_OFF);
  akt_probe *p = akt_probe_new(tk, "p");

  /* A pool that cannot be spawned fails the router's pre_start, and the
   * default decider of /user stops the router. */
  akt_pid *a = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 3, &worker_def, NULL);
  akt_probe_watch(p, a);
  akt_probe_expect_terminated(p, a, PATIENCE);
  akt_pid_release(a);

  /* A resize that hits the limit keeps routing over what it has. */
  akt_pid *b = router_new(tk, p, AKT_ROUTE_ROUND_ROBIN, 2, &worker_def, NULL);
  assert_int_equal(akt_router_resize(b, 4), 0);
  expect_routees(p, b, (const char *const[]){"r0", "r1"}, 2);
  ping(p, b, 1);
  EXPECT_NOTE(p, "r0:1");
  akt_pid_release(b);
  akt_testkit_free(tk);
}

/* ---- options ---------------------------------------------------------------- */

static void options_are_validated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *r = NULL;
  akt_router_opts ok = {.routing = AKT_ROUTE_ROUND_ROBIN, .routee = &worker_def, .size = 1};
  akt_router_opts o;
  assert_int_equal(akt_spawn_router(NULL, "x", &ok, &r), AKT_EINVAL);
  assert_int_equal(akt_spawn_router(sys, "x", NULL, &r), AKT_EINVAL);
  o = ok;
  o.routee = NULL;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  static const akt_actor_def no_receive = {.kind = "none"};
  o.routee = &no_receive;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o = ok;
  o.size = 0;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o.size = AKT_ROUTER_MAX_ROUTEES + 1;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_ELIMIT);
  o = ok;
  o.routing = AKT_ROUTE_CONSISTENT_HASH;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o.routing = (akt_routing)42;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  assert_int_equal(akt_spawn_router(sys, "$x", &ok, &r), AKT_ENAME);
  assert_null(r);
  assert_int_equal(akt_spawn_router_child(NULL, "x", &ok, &r), AKT_EINVAL);

  /* The caller's options (and routee options) need not outlive the call. */
  {
    akt_spawn_opts ro = {.arg = NULL};
    akt_router_opts temp = ok;
    temp.size = 2;
    temp.routee_opts = &ro;
    assert_int_equal(akt_spawn_router(sys, "x", &temp, &r), 0);
    memset(&temp, 0xff, sizeof temp);
    memset(&ro, 0xff, sizeof ro);
  }
  assert_int_equal(akt_spawn_router(sys, "x", &ok, NULL), AKT_EEXIST);
  akt_probe *p = akt_probe_new(tk, "p");
  expect_routees(p, r, (const char *const[]){"r0", "r1"}, 2);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* An actor that spawns a router child on Cmd{op:"spawn", n: size} and
 * answers Note with the result's name. */
static int host_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *c = (const Cmd *)msg;
  akt_router_opts o = {.routing = AKT_ROUTE_BROADCAST, .routee = &worker_def,
                       .size = (uint32_t)c->n};
  Note n = NOTE__INIT;
  n.text = (char *)akt_errname(akt_spawn_router_child(ctx, c->arg, &o, NULL));
  return akt_reply(ctx, &n.base);
}
static const akt_actor_def host_def = {.kind = "host", .receive = host_receive};

static void a_router_can_be_an_actors_child(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *host = akt_testkit_spawn(tk, "host", &host_def);
  Cmd c = CMD__INIT;
  c.op = (char *)"spawn";
  c.arg = (char *)"pool";
  c.n = 0;
  akt_probe_tell(p, host, &c.base);
  EXPECT_NOTE(p, "AKT_EINVAL");
  c.n = 3;
  akt_probe_tell(p, host, &c.base);
  EXPECT_NOTE(p, "AKT_OK");
  akt_pid *pool = lookup(tk, "/user/host/pool");
  expect_routees(p, pool, (const char *const[]){"r0", "r1", "r2"}, 3);
  akt_pid_release(pool);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(round_robin_spreads_messages_evenly_in_order),
    cmocka_unit_test(random_reaches_every_routee),
    cmocka_unit_test(random_repeats_for_the_same_seed),
    cmocka_unit_test(broadcast_reaches_every_routee_once_per_message),
    cmocka_unit_test(consistent_hash_keeps_each_key_on_one_routee),
    cmocka_unit_test(a_message_without_a_key_is_unhandled),
    cmocka_unit_test(a_routee_replies_to_the_original_sender),
    cmocka_unit_test(resize_grows_and_shrinks_the_pool),
    cmocka_unit_test(resize_to_an_invalid_size_is_refused),
    cmocka_unit_test(a_failed_routee_is_restarted_in_place_by_default),
    cmocka_unit_test(a_routee_stopped_by_its_supervisor_leaves_the_pool),
    cmocka_unit_test(a_restarted_router_builds_a_fresh_pool_of_its_last_size),
    cmocka_unit_test(routees_beyond_max_actors),
    cmocka_unit_test(options_are_validated),
    cmocka_unit_test(a_router_can_be_an_actors_child),
};

AKT_TEST_MAIN_BOTH("actor/router", tests)
