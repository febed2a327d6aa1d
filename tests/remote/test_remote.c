/* Remoting between two nodes: tell, ask, request, reply, forward, lookup,
 * spawn, stop, watch — on simulated links and on loopback TCP. */
#include "../support/actors.h"
#include "../support/expect_note.h"
#include "../support/wait.h"
#include "akt/actor.pb-c.h"
#include "akt/sim.h"
#include "akt/transport.h"
#include "remote_fixture.h"

static void tell_reaches_a_remote_probe(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_probe *pa = akt_probe_new_on(f.tk, 0, "pa");
  akt_pid *to = remote_of(f.a, akt_probe_pid(pb));
  assert_false(akt_pid_is_local(to));
  Ping ping = PING__INIT;
  ping.n = 42;
  akt_probe_tell(pa, to, &ping.base);
  const Ping *got = (const Ping *)akt_probe_expect_msg(pb, &ping__descriptor, AKT_SECONDS(2));
  assert_int_equal(got->n, 42);
  /* The sender is A's probe, as a PID of B's. */
  akt_pid *sender = akt_probe_last_sender(pb);
  assert_non_null(sender);
  assert_false(akt_pid_is_local(sender));
  char want[512], got_addr[512];
  address_of(akt_probe_pid(pa), want, sizeof want);
  address_of(sender, got_addr, sizeof got_addr);
  assert_string_equal(got_addr, want);
  assert_int_equal(akt_pid_id(sender), akt_pid_id(akt_probe_pid(pa)));
  /* Replying to it goes back across. */
  Pong pong = PONG__INIT;
  pong.n = 43;
  akt_probe_reply(pb, &pong.base);
  assert_int_equal(((const Pong *)akt_probe_expect_msg(pa, &pong__descriptor, AKT_SECONDS(2)))->n,
                   43);
  akt_pid_release(to);
  akt_remote_stats st;
  akt_remote_get_stats(f.a, &st);
  assert_true(st.envelopes_out >= 1);
  assert_true(st.connections_opened >= 1);
  akt_testkit_free(f.tk);
}

static void messages_keep_their_order_across_nodes(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_probe *pa = akt_probe_new_on(f.tk, 0, "pa");
  akt_pid *to = remote_of(f.a, akt_probe_pid(pb));
  for (int i = 0; i < 1000; i++) {
    Ping ping = PING__INIT;
    ping.n = i;
    akt_probe_tell(pa, to, &ping.base);
  }
  for (int i = 0; i < 1000; i++)
    assert_int_equal(((const Ping *)akt_probe_expect_msg(pb, &ping__descriptor, AKT_SECONDS(2)))->n,
                     i);
  akt_pid_release(to);
  akt_testkit_free(f.tk);
}

static void ask_a_remote_actor(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_pid *c = NULL;
  assert_int_equal(akt_spawn(f.b, "counter", &counter_def, NULL, &c), 0);
  akt_pid *rc = remote_of(f.a, c);
  Add add = ADD__INIT;
  add.amount = 5;
  assert_int_equal(akt_tell(rc, &add.base), 0);
  Get get = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(rc, &get.base, AKT_SECONDS(2), &reply), 0);
  assert_int_equal(((Total *)reply)->value, 5);
  akt_msg_free(reply);
  akt_pid_release(rc);
  akt_pid_release(c);
  akt_testkit_free(f.tk);
}

/* A requester on A asks a counter on B with akt_request; a forwarder on B
 * passes a request on to the counter, which answers the original asker. */
static int on_total(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  char text[64];
  if (status)
    snprintf(text, sizeof text, "status %s", akt_errname(status));
  else
    snprintf(text, sizeof text, "total %lld", (long long)((const Total *)reply)->value);
  return note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), text);
}

static int requester_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  akt_pid *target = NULL;
  int rc = akt_remote_pid(akt_ctx_system(ctx), ((const Cmd *)msg)->arg, &target);
  if (rc) return rc;
  Get g = GET__INIT;
  /* Cmd.n: the timeout in ms; 0 when a reply is expected (the timeout then
   * only bounds a hang, on libuv on a loaded machine too). */
  int64_t ms = ((const Cmd *)msg)->n;
  rc = akt_request(ctx, target, &g.base, ms > 0 ? AKT_MILLIS(ms) : AKT_TESTKIT_DEFAULT_TIMEOUT,
                   on_total, NULL);
  akt_pid_release(target);
  return rc;
}

static const akt_actor_def requester_def = {.kind = "requester", .receive = requester_receive};

static void request_and_forward_across_nodes(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_probe *pa = akt_probe_new_on(f.tk, 0, "pa");
  akt_pid *c = NULL, *fw = NULL, *req = NULL;
  assert_int_equal(akt_spawn(f.b, "counter", &counter_def, NULL, &c), 0);
  akt_spawn_opts fo = {.arg = c};
  assert_int_equal(akt_spawn(f.b, "fwd", &forwarder_def, &fo, &fw), 0);
  akt_spawn_opts ro = {.arg = akt_probe_pid(pa)};
  assert_int_equal(akt_spawn(f.a, "req", &requester_def, &ro, &req), 0);
  char addr[512];
  address_of(fw, addr, sizeof addr);
  Cmd cmd = CMD__INIT;
  cmd.op = "ask";
  cmd.arg = addr;
  akt_probe_tell(pa, req, &cmd.base);
  EXPECT_NOTE(pa, "req:total 0");
  /* A silent actor: the request times out locally. */
  akt_pid *mute = NULL;
  assert_int_equal(akt_spawn(f.b, "mute", &silent_def, NULL, &mute), 0);
  address_of(mute, addr, sizeof addr);
  cmd.n = 500;
  uint64_t t0 = akt_testkit_now(f.tk);
  akt_probe_tell(pa, req, &cmd.base);
  const Note *n = (const Note *)akt_probe_expect_msg(pa, &note__descriptor, 0);
  assert_string_equal(n->text, "req:status AKT_ETIMEDOUT");
  assert_true(akt_probe_last_arrival(pa) - t0 >= AKT_MILLIS(500));
  akt_pid_release(c);
  akt_pid_release(fw);
  akt_pid_release(req);
  akt_pid_release(mute);
  akt_testkit_free(f.tk);
}

static void lookup_finds_live_actors_only(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_pid *c = NULL;
  assert_int_equal(akt_spawn(f.b, "counter", &counter_def, NULL, &c), 0);
  char addr[512];
  address_of(c, addr, sizeof addr);
  akt_pid *found = NULL;
  assert_int_equal(akt_remote_lookup(f.a, addr, AKT_SECONDS(2), &found), 0);
  assert_int_equal(akt_pid_id(found), akt_pid_id(c));
  assert_true(akt_pid_equal(found, c));
  akt_pid_release(found);
  char missing[512];
  snprintf(missing, sizeof missing, "%s/user/nobody", f.node_b);
  assert_int_equal(akt_remote_lookup(f.a, missing, AKT_SECONDS(2), &found), AKT_ENOENT);
  assert_int_equal(akt_remote_lookup(f.a, "not an address", AKT_SECONDS(1), &found), AKT_ENAME);
  /* A local address gives the local actor. */
  akt_pid *local = NULL;
  assert_int_equal(akt_remote_pid(f.b, addr, &local), 0);
  assert_true(akt_pid_is_local(local));
  akt_pid_release(local);
  akt_pid_release(c);
  akt_testkit_free(f.tk);
}

static void spawn_and_stop_a_remote_actor(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  assert_int_equal(akt_remote_register_kind(f.b, &counter_def), 0);
  akt_pid *rc = NULL;
  assert_int_equal(akt_remote_spawn(f.a, f.node_b, "counter", "made", AKT_SECONDS(2), &rc), 0);
  assert_string_equal(akt_pid_path(rc), "/user/made");
  Add add = ADD__INIT;
  add.amount = 7;
  akt_tell(rc, &add.base);
  Get get = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(rc, &get.base, AKT_SECONDS(2), &reply), 0);
  assert_int_equal(((Total *)reply)->value, 7);
  akt_msg_free(reply);
  akt_pid *again = NULL;
  assert_int_equal(akt_remote_spawn(f.a, f.node_b, "counter", "made", AKT_SECONDS(2), &again),
                   AKT_EEXIST);
  /* A kind B does not let peers spawn, and one it lets them but has not
   * registered. */
  assert_int_equal(akt_remote_spawn(f.a, f.node_b, "no-such-kind", NULL, AKT_SECONDS(2), &again),
                   AKT_EREFUSED);
  assert_int_equal(akt_remote_spawn(f.a, f.node_b, "ghost", NULL, AKT_SECONDS(2), &again),
                   AKT_ENOENT);
  /* Stop it from A; B sees it go. */
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_pid *local = NULL;
  assert_int_equal(akt_lookup(f.b, "/user/made", &local), 0);
  akt_probe_watch(pb, local);
  assert_int_equal(akt_stop(rc), 0);
  akt_probe_expect_terminated(pb, local, AKT_SECONDS(2));
  akt_pid_release(local);
  akt_pid_release(rc);
  akt_testkit_free(f.tk);
}

/* Returns once B has taken in what A sent it before the call: an ask of
 * B's counter (`rc`, from A) rides the same connection, behind it, and is
 * answered after. Letting "50 ms" pass instead is a guess that a loaded
 * machine (a slow handshake, a descheduled loop thread) proves wrong. */
static void taken_in_by_b(akt_pid *rc) {
  Get g = GET__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(rc, &g.base, AKT_TESTKIT_DEFAULT_TIMEOUT, &reply), 0);
  akt_msg_free(reply);
}

static void a_remote_watch_reports_termination(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_pid *c = NULL;
  assert_int_equal(akt_spawn(f.b, "counter", &counter_def, NULL, &c), 0);
  akt_probe *pa = akt_probe_new_on(f.tk, 0, "pa");
  akt_pid *rc = remote_of(f.a, c);
  akt_probe_watch(pa, rc);
  taken_in_by_b(rc); /* the watch reaches B */
  akt_stop(c);
  const Akt__Terminated *t = (const Akt__Terminated *)akt_probe_expect_msg(
      pa, &akt__terminated__descriptor, AKT_SECONDS(2));
  assert_string_equal(t->path, "/user/counter");
  assert_true(akt_pid_equal(akt_probe_last_sender(pa), rc));
  /* Exactly one: the node stays up, nothing else comes. */
  akt_probe_expect_no_msg(pa, AKT_MILLIS(200));
  /* Watching an actor that is already gone reports at once. */
  akt_probe_watch(pa, rc);
  akt_probe_expect_msg(pa, &akt__terminated__descriptor, AKT_SECONDS(2));
  akt_pid_release(rc);
  akt_pid_release(c);
  akt_testkit_free(f.tk);
}

/* Watches the PID given as its arg from pre_start; handles nothing. */
static int arg_watcher_pre_start(akt_ctx *ctx) {
  return akt_watch(ctx, (akt_pid *)(uintptr_t)akt_ctx_arg(ctx));
}
static int ignore_all(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}
static const akt_actor_def arg_watcher_def = {
    .kind = "arg-watcher", .pre_start = arg_watcher_pre_start, .receive = ignore_all};

static void a_stopped_watcher_withdraws_its_remote_watch(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_pid *c = NULL;
  assert_int_equal(akt_spawn(f.b, "counter", &counter_def, NULL, &c), 0);
  akt_pid *rc = remote_of(f.a, c);
  akt_spawn_opts o = {.arg = rc};
  akt_pid *w = NULL;
  assert_int_equal(akt_spawn(f.a, "w", &arg_watcher_def, &o, &w), 0);
  akt_probe *pa = akt_probe_new_on(f.tk, 0, "pa");
  akt_testkit_advance(f.tk, AKT_MILLIS(50)); /* w's watch reaches B */
  akt_probe_watch(pa, rc);                   /* listed at B after w */
  akt_probe_watch(pa, w);
  akt_testkit_advance(f.tk, AKT_MILLIS(50));
  akt_stop(w);
  akt_probe_expect_terminated(pa, w, AKT_SECONDS(2));
  /* w's unwatch left A before its Terminated. */
  taken_in_by_b(rc);
  /* Had B kept w listed, its Terminated would come first on the same
   * connection and be a dead letter on A before pa's arrives. */
  akt_system_stats before, after;
  akt_system_get_stats(f.a, &before);
  akt_stop(c);
  akt_probe_expect_terminated(pa, rc, AKT_SECONDS(2));
  akt_system_get_stats(f.a, &after);
  assert_int_equal(after.dead_letters, before.dead_letters);
  akt_pid_release(w);
  akt_pid_release(rc);
  akt_pid_release(c);
  akt_testkit_free(f.tk);
}

static void a_lost_node_ends_its_watches(void **state) {
  (void)state;
  fixture f;
  fixture_up_cookies(&f, TEST_COOKIE, TEST_COOKIE, AKT_MILLIS(400));
  akt_pid *c = NULL;
  assert_int_equal(akt_spawn(f.b, "counter", &counter_def, NULL, &c), 0);
  akt_probe *pa = akt_probe_new_on(f.tk, 0, "pa");
  akt_pid *rc = remote_of(f.a, c);
  akt_probe_watch(pa, rc);
  taken_in_by_b(rc); /* the watch reaches B */
  /* B goes away (its remoting closes its connections; the counter itself
   * stops too, and either notice may come first — but only one). */
  assert_int_equal(akt_system_shutdown(f.b, AKT_SECONDS(5)), 0);
  akt_probe_expect_terminated(pa, rc, AKT_SECONDS(5));
  akt_probe_expect_no_msg(pa, AKT_MILLIS(300));
  akt_pid_release(rc);
  akt_pid_release(c);
  akt_testkit_free(f.tk);
}

static void an_unknown_type_is_a_dead_letter_there(void **state) {
  (void)state;
  fixture f;
  f.tk = TK_NEW(.nodes = 2);
  f.a = akt_testkit_node(f.tk, 0);
  f.b = akt_testkit_node(f.tk, 1);
  int sim = akt_test_backend == AKT_TESTKIT_SIM;
  akt_remote_options o = {.host = sim ? NULL : "127.0.0.1", .port = sim ? 2552 : 0,
                          .security.cookie = TEST_COOKIE};
  assert_int_equal(akt_remote_start(f.a, &o), 0);
  assert_int_equal(akt_remote_start(f.b, &o), 0);
  register_test_types(f.a, 0);
  register_test_types(f.b, 1); /* B does not know Ping */
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_probe *dead = akt_probe_new_on(f.tk, 1, "dead");
  assert_int_equal(akt_subscribe(akt_probe_pid(dead), AKT_TOPIC_DEAD_LETTER), 0);
  akt_pid *to = remote_of(f.a, akt_probe_pid(pb));
  Ping ping = PING__INIT;
  ping.n = 7;
  Note note = NOTE__INIT;
  note.text = "after";
  akt_tell(to, &ping.base);
  akt_tell(to, &note.base);
  akt_probe_expect_equal(pb, &note.base, AKT_SECONDS(2)); /* the Ping never arrived */
  /* ... and B published it on its event stream, bytes and all. */
  const Akt__DeadLetter *d = (const Akt__DeadLetter *)akt_probe_expect_msg(
      dead, &akt__dead_letter__descriptor, AKT_SECONDS(2));
  assert_string_equal(d->type, "Ping");
  assert_string_equal(d->target, akt_pid_path(akt_probe_pid(pb)));
  assert_string_equal(d->reason, "unknown type Ping");
  Ping *copy = ping__unpack(NULL, d->payload.len, d->payload.data);
  assert_non_null(copy);
  assert_int_equal(copy->n, 7);
  ping__free_unpacked(copy, NULL);
  akt_remote_stats st;
  akt_remote_get_stats(f.b, &st);
  assert_int_equal(st.unknown_types, 1);
  akt_system_stats ss;
  akt_system_get_stats(f.b, &ss);
  assert_true(ss.dead_letters >= 1);
  akt_pid_release(to);
  akt_testkit_free(f.tk);
}

static int b_refused_a_handshake(void *arg) {
  akt_remote_stats st;
  akt_remote_get_stats(arg, &st);
  return st.handshakes_refused >= 1;
}

static void a_wrong_cookie_is_refused(void **state) {
  (void)state;
  fixture f;
  fixture_up_cookies(&f, "one-cookie-0123456789", "another-cookie-0123456789", 0);
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_pid *to = remote_of(f.a, akt_probe_pid(pb));
  Ping ping = PING__INIT;
  akt_tell(to, &ping.base);
  /* Refused however long the handshake takes; nothing gets through. */
  test_wait_until(f.tk, b_refused_a_handshake, f.b, "B to refuse A's handshake");
  akt_probe_expect_no_msg(pb, AKT_MILLIS(300));
  akt_remote_stats st;
  akt_remote_get_stats(f.b, &st);
  assert_int_equal(st.envelopes_in, 0);
  /* A lookup says so at once, rather than when its timeout ends. */
  char addr[512];
  address_of(akt_probe_pid(pb), addr, sizeof addr);
  akt_pid *found = NULL;
  assert_int_equal(akt_remote_lookup(f.a, addr, AKT_SECONDS(60), &found), AKT_EREFUSED);
  akt_pid_release(to);
  akt_testkit_free(f.tk);
}

/* A node nobody listens for: a lookup ends with "connection refused", the
 * cause, not with its timeout; a spawn there too. */
static void a_lookup_of_a_node_that_is_gone_says_refused(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  char addr[512];
  snprintf(addr, sizeof addr, "%s/user/anyone", f.node_b);
  assert_int_equal(akt_system_shutdown(f.b, AKT_SECONDS(5)), 0);
  akt_pid *found = NULL;
  assert_int_equal(akt_remote_lookup(f.a, addr, AKT_SECONDS(60), &found), AKT_EREFUSED);
  assert_null(found);
  assert_int_equal(akt_remote_spawn(f.a, f.node_b, "counter", NULL, AKT_SECONDS(60), &found),
                   AKT_EREFUSED);
  akt_testkit_free(f.tk);
}

static void start_twice_and_bad_addresses(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  assert_int_equal(akt_remote_start(f.a, NULL), AKT_ESTATE);
  akt_pid *p = NULL;
  assert_int_equal(akt_remote_pid(f.a, "akt://x", &p), AKT_ENAME);
  assert_int_equal(akt_remote_pid(f.a, "akt://x@h:99999/user/a", &p), AKT_ENAME);
  assert_int_equal(akt_remote_pid(f.a, "http://x@h:1/user/a", &p), AKT_ENAME);
  akt_testkit_free(f.tk);
  akt_testkit *tk = TK_NEW();
  assert_int_equal(akt_remote_pid(akt_testkit_system(tk), "akt://x@h:1/user/a", &p), AKT_ESTATE);
  akt_testkit_free(tk);
}

/* Collects what a system logs at ERROR. */
static void keep_errors(akt_log_level level, const char *line, void *data) {
  if (level < AKT_LOG_ERROR) return;
  char *log = data;
  size_t used = strlen(log);
  snprintf(log + used, 1024 - used, "%s\n", line);
}

/* A system built by hand with no host, neither its own nor remoting's:
 * in the simulator remoting listens on the node and gives peers the
 * node's name; on libuv, where no name was given, it refuses to start
 * and says why and what to set. */
static void remoting_without_a_host_uses_the_node_name_or_says_why(void **state) {
  (void)state;
  int sim = akt_test_backend == AKT_TESTKIT_SIM;
  akt_sim_world *w = NULL;
  akt_backend *b = NULL;
  if (sim) {
    assert_int_equal(akt_sim_world_new(&(akt_sim_options){.seed = 1}, &w), 0);
    assert_int_equal(akt_sim_node_new(w, "alpha", &b), 0);
  } else {
    assert_int_equal(akt_uv_backend_new(NULL, &b), 0);
  }
  char log[1024] = "";
  akt_system_options so = {.log_sink = keep_errors, .log_data = log};
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("lone", b, &so, &sys), 0);
  akt_remote_options ro = {.port = sim ? 2552 : 0, .security.cookie = TEST_COOKIE};
  if (sim) {
    assert_int_equal(akt_remote_start(sys, &ro), 0);
    assert_string_equal(akt_system_address(sys), "akt://lone@alpha:2552");
  } else {
    assert_int_equal(akt_remote_start(sys, &ro), AKT_EINVAL);
    assert_non_null(strstr(log, "no address to give peers"));
    assert_non_null(strstr(log, "akt_remote_options.host"));
    /* Listening everywhere and naming this node is the production setup. */
    ro.listen_host = "0.0.0.0";
    ro.host = "127.0.0.1";
    assert_int_equal(akt_remote_start(sys, &ro), 0);
    assert_true(strncmp(akt_system_address(sys), "akt://lone@127.0.0.1:", 21) == 0);
  }
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  akt_system_free(sys);
  if (sim)
    akt_sim_world_free(w);
  else
    akt_uv_backend_free(b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tell_reaches_a_remote_probe),
    cmocka_unit_test(messages_keep_their_order_across_nodes),
    cmocka_unit_test(ask_a_remote_actor),
    cmocka_unit_test(request_and_forward_across_nodes),
    cmocka_unit_test(lookup_finds_live_actors_only),
    cmocka_unit_test(spawn_and_stop_a_remote_actor),
    cmocka_unit_test(a_remote_watch_reports_termination),
    cmocka_unit_test(a_stopped_watcher_withdraws_its_remote_watch),
    cmocka_unit_test(a_lost_node_ends_its_watches),
    cmocka_unit_test(an_unknown_type_is_a_dead_letter_there),
    cmocka_unit_test(a_wrong_cookie_is_refused),
    cmocka_unit_test(a_lookup_of_a_node_that_is_gone_says_refused),
    cmocka_unit_test(start_twice_and_bad_addresses),
    cmocka_unit_test(remoting_without_a_host_uses_the_node_name_or_says_why),
};

AKT_TEST_MAIN_BOTH("remote", tests)
