/* Stop, post_stop order, poison pill, failures, kill, watch, shutdown — on
 * both backends. */
#include <stdio.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"
#include "akt/actor.pb-c.h"

static void stop_finishes_the_current_message_first(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &reporter_def, &o);
  EXPECT_NOTE(p, "r:pre_start");
  Cmd stop = CMD__INIT;
  stop.op = "stop";
  Ping ping = PING__INIT;
  ping.n = 1;
  akt_probe_tell(p, r, &stop.base); /* handled, then it stops */
  akt_probe_tell(p, r, &ping.base); /* queued behind: a dead letter */
  EXPECT_NOTE(p, "r:post_stop");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  assert_false(akt_pid_is_running(r));
  akt_testkit_free(tk);
}

static void children_stop_before_their_parent(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &parent_def, &o);
  EXPECT_NOTE(p, "parent:pre_start");
  akt_probe_receive_n(p, 2, 0, NULL); /* the children's pre_start notes */
  akt_probe_watch(p, parent);
  assert_int_equal(akt_stop(parent), 0);
  const ProtobufCMessage *m[2];
  akt_probe_receive_n(p, 2, 0, m);
  const char *a = ((const Note *)m[0])->text, *b = ((const Note *)m[1])->text;
  assert_true((!strcmp(a, "c1:post_stop") && !strcmp(b, "c2:post_stop")) ||
              (!strcmp(a, "c2:post_stop") && !strcmp(b, "c1:post_stop")));
  EXPECT_NOTE(p, "parent:post_stop");
  akt_probe_expect_terminated(p, parent, 0);
  akt_testkit_free(tk);
}

static void poison_pill_stops_after_queued_messages(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &reporter_def, &o);
  EXPECT_NOTE(p, "r:pre_start");
  for (int i = 0; i < 3; i++) {
    Ping ping = PING__INIT;
    ping.n = i;
    akt_probe_tell(p, r, &ping.base);
  }
  Akt__PoisonPill pill = AKT__POISON_PILL__INIT;
  akt_probe_tell(p, r, &pill.base);
  Ping late = PING__INIT;
  late.n = 99;
  akt_probe_tell(p, r, &late.base);
  for (int i = 0; i < 3; i++) {
    const Pong *pong = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
    assert_int_equal(pong->n, i);
  }
  EXPECT_NOTE(p, "r:post_stop");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_testkit_free(tk);
}

static void a_failing_receive_restarts_the_actor_by_default(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &reporter_def, &o);
  EXPECT_NOTE(p, "r:pre_start");
  akt_probe_watch(p, r);
  Fail f = FAIL__INIT;
  f.code = AKT_EUSER_BASE - 5;
  akt_probe_tell(p, r, &f.base);
  EXPECT_NOTE(p, "r:post_stop");
  EXPECT_NOTE(p, "r:pre_start");
  Ping ping = PING__INIT;
  ping.n = 3;
  akt_probe_tell(p, r, &ping.base);
  akt_probe_expect_msg(p, &pong__descriptor, 0); /* same PID, working again */
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_int_equal(st.failures, 1);
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(r, &m), 0);
  assert_int_equal(m.restarts, 1);
  assert_int_equal(m.failures, 1);
  akt_testkit_free(tk);
}

static int failing_pre_start(akt_ctx *ctx) {
  note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "pre_start");
  return AKT_EFAILED;
}

static void a_failing_pre_start_stops_the_actor(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_actor_def def = reporter_def;
  def.pre_start = failing_pre_start;
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *r = akt_testkit_spawn_opts(tk, "bad", &def, &o);
  akt_probe_watch(p, r);
  EXPECT_NOTE(p, "bad:pre_start");
  EXPECT_NOTE(p, "bad:post_stop");
  akt_probe_expect_terminated(p, r, 0);
  akt_testkit_free(tk);
}

static void watching_a_dead_actor_reports_at_once(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  akt_probe_watch(p, c);
  akt_stop(c);
  akt_probe_expect_terminated(p, c, 0);
  akt_probe *late = akt_probe_new(tk, "late");
  akt_probe_watch(late, c);
  const Akt__Terminated *t =
      (const Akt__Terminated *)akt_probe_expect_msg(late, &akt__terminated__descriptor, 0);
  assert_string_equal(t->path, "/user/c");
  assert_int_equal(t->id, akt_pid_id(c));
  assert_true(strstr(t->address, "/user/c") != NULL);
  akt_testkit_free(tk);
}

/* Watches the PID given in a Cmd path; "watch", "unwatch". Reports each
 * Terminated it receives as a Note to its arg. */
static int watcher_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_pid *report = (akt_pid *)akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &akt__terminated__descriptor)) {
    char text[128];
    snprintf(text, sizeof text, "terminated %s", ((const Akt__Terminated *)msg)->path);
    return note_to(ctx, report, text);
  }
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *c = (const Cmd *)msg;
  akt_pid *target = NULL;
  int rc = akt_lookup(akt_ctx_system(ctx), c->arg, &target);
  if (rc) return rc;
  if (!strcmp(c->op, "watch")) rc = akt_watch(ctx, target);
  if (!strcmp(c->op, "watch2")) rc = akt_watch(ctx, target) || akt_watch(ctx, target);
  if (!strcmp(c->op, "unwatch")) rc = akt_unwatch(ctx, target);
  if (!strcmp(c->op, "stop-and-unwatch")) rc = akt_stop(target) || akt_unwatch(ctx, target);
  akt_pid_release(target);
  if (!rc) rc = note_to(ctx, report, c->op);
  return rc;
}

static const akt_actor_def watcher_def = {.kind = "watcher", .receive = watcher_receive};

static void send_cmd(akt_probe *p, akt_pid *to, const char *op, const char *arg) {
  Cmd c = CMD__INIT;
  c.op = (char *)op;
  c.arg = (char *)arg;
  akt_probe_tell(p, to, &c.base);
}

static void an_actor_watch_gives_one_terminated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &o);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  send_cmd(p, w, "watch2", "/user/c");
  EXPECT_NOTE(p, "w:watch2");
  akt_stop(c);
  EXPECT_NOTE(p, "w:terminated /user/c");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_testkit_free(tk);
}

static void unwatch_drops_even_a_queued_terminated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &o);
  akt_testkit_spawn(tk, "c", &counter_def);
  akt_testkit_spawn(tk, "d", &counter_def);
  send_cmd(p, w, "watch", "/user/c");
  EXPECT_NOTE(p, "w:watch");
  send_cmd(p, w, "unwatch", "/user/c");
  EXPECT_NOTE(p, "w:unwatch");
  send_cmd(p, w, "watch", "/user/d");
  EXPECT_NOTE(p, "w:watch");
  /* Stop d and unwatch it in the same turn: its Terminated may already be
   * on the way, and must still not be received. */
  send_cmd(p, w, "stop-and-unwatch", "/user/d");
  EXPECT_NOTE(p, "w:stop-and-unwatch");
  akt_pid *c = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/c", &c), 0);
  akt_stop(c);
  akt_pid_release(c);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_testkit_free(tk);
}

static void a_stopped_watcher_withdraws_its_watches(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &o);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  send_cmd(p, w, "watch", "/user/c");
  EXPECT_NOTE(p, "w:watch");
  akt_probe_watch(p, w);
  akt_stop(w);
  akt_probe_expect_terminated(p, w, 0);
  /* c listed w before p: had w stayed listed, its Terminated would be a
   * dead letter (counted at once) before p hears of c's end. */
  akt_system_stats before, after;
  akt_system_get_stats(sys, &before);
  akt_probe_watch(p, c);
  akt_stop(c);
  akt_probe_expect_terminated(p, c, 0);
  akt_system_get_stats(sys, &after);
  assert_int_equal(after.dead_letters, before.dead_letters);
  akt_testkit_free(tk);
}

static void shutdown_stops_the_tree_bottom_up(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_testkit_spawn_opts(tk, "parent", &parent_def, &o);
  EXPECT_NOTE(p, "parent:pre_start");
  akt_probe_receive_n(p, 2, 0, NULL);
  assert_int_equal(akt_system_shutdown(akt_testkit_system(tk), AKT_SECONDS(5)), 0);
  /* The probe lives outside the tree: it saw the whole shutdown. */
  const ProtobufCMessage *m[3];
  akt_probe_receive_n(p, 3, AKT_MILLIS(1), m);
  assert_string_equal(((const Note *)m[2])->text, "parent:post_stop");
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_int_equal(st.live_actors, 0);
  akt_testkit_free(tk);
}

static void check_stopped_passes_when_everything_stopped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.check_stopped = 1);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  akt_probe_watch(p, c);
  akt_stop(c);
  akt_probe_expect_terminated(p, c, 0);
  akt_testkit_free(tk);
}

static int is_note_text(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  return akt_msg_is(m, &note__descriptor) && !strcmp(((const Note *)m)->text, arg);
}

static void kill_is_a_failure_the_supervisor_stops(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &parent_def, &o);
  akt_probe_receive_n(p, 3, 0, NULL);
  Ping ping = PING__INIT;
  ping.n = 1;
  akt_probe_tell(p, parent, &ping.base);
  akt_probe_watch(p, parent);
  assert_int_equal(akt_kill(parent), 0);
  /* The Ping may or may not have been handled first; then both children
   * stop, the parent's post_stop runs, and the watcher hears of it. */
  akt_probe_fish_for(p, is_note_text, "parent:post_stop", 4, 0);
  akt_probe_expect_terminated(p, parent, 0);
  akt_actor_metrics m;
  akt_actor_get_metrics(parent, &m);
  assert_int_equal(m.failures, 1);
  akt_pid *c1 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/parent/c1", &c1), AKT_ENOENT);
  assert_int_equal(akt_kill(parent), AKT_ESTOPPED);
  assert_int_equal(akt_restart(parent), AKT_ESTOPPED);
  akt_pid *root = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user", &root), 0);
  assert_int_equal(akt_kill(root), AKT_ENOTSUP);
  akt_pid_release(root);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(stop_finishes_the_current_message_first),
    cmocka_unit_test(children_stop_before_their_parent),
    cmocka_unit_test(poison_pill_stops_after_queued_messages),
    cmocka_unit_test(a_failing_receive_restarts_the_actor_by_default),
    cmocka_unit_test(a_failing_pre_start_stops_the_actor),
    cmocka_unit_test(watching_a_dead_actor_reports_at_once),
    cmocka_unit_test(an_actor_watch_gives_one_terminated),
    cmocka_unit_test(unwatch_drops_even_a_queued_terminated),
    cmocka_unit_test(a_stopped_watcher_withdraws_its_watches),
    cmocka_unit_test(shutdown_stops_the_tree_bottom_up),
    cmocka_unit_test(check_stopped_passes_when_everything_stopped),
    cmocka_unit_test(kill_is_a_failure_the_supervisor_stops),
};

AKT_TEST_MAIN_BOTH("actor/lifecycle", tests)
