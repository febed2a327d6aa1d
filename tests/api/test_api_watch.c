/* akt/actor.h's watch: akt.Terminated once, at once for the dead,
 * unwatch, watches withdrawn with the watcher — on both backends. */
#include "api.h"

/* A watcher: Cmd{op:"watch"|"unwatch"|"watch-stop-unwatch", arg: path}
 * acts on the actor at that path (looked up); every Terminated it gets is
 * noted with its fields and sender. */
static akt_pid *find(akt_ctx *ctx, const char *path) {
  akt_pid *pid = NULL;
  akt_lookup(akt_ctx_system(ctx), path, &pid);
  return pid;
}

typedef struct {
  akt_pid *target; /* the last one looked up (kept: a terminated one cannot be found again) */
} watcher_state;

static int watcher_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  watcher_state *s = akt_ctx_state(ctx);
  akt_pid *to = api_reportee(ctx);
  if (akt_msg_is(msg, &akt__terminated__descriptor)) {
    const Akt__Terminated *t = (const Akt__Terminated *)msg;
    akt_pid *from = akt_ctx_sender(ctx);
    return api_note(ctx, to, "terminated %s id_ok=%d sender_ok=%d address=%s", t->path,
                    from && t->id == akt_pid_id(from), from && strcmp(akt_pid_path(from), t->path) == 0,
                    t->address);
  }
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *c = (const Cmd *)msg;
  if (c->arg[0]) {
    akt_pid *found = find(ctx, c->arg);
    if (found) {
      akt_pid_release(s->target);
      s->target = found;
    }
  }
  if (strcmp(c->op, "watch") == 0)
    return api_note(ctx, to, "watch=%s", akt_errname(akt_watch(ctx, s->target)));
  if (strcmp(c->op, "unwatch") == 0)
    return api_note(ctx, to, "unwatch=%s", akt_errname(akt_unwatch(ctx, s->target)));
  if (strcmp(c->op, "bad") == 0)
    return api_note(ctx, to, "watch(NULL)=%s unwatch(NULL)=%s",
                    akt_errname(akt_watch(ctx, NULL)), akt_errname(akt_unwatch(ctx, NULL)));
  if (strcmp(c->op, "watch-and-stop") == 0) {
    int rc = akt_watch(ctx, s->target);
    if (rc == 0) rc = akt_stop(s->target);
    return api_note(ctx, to, "watch-and-stop=%s", akt_errname(rc));
  }
  return AKT_EUNHANDLED;
}

static void watcher_post_stop(akt_ctx *ctx) {
  watcher_state *s = akt_ctx_state(ctx);
  akt_pid_release(s->target);
}

static const akt_actor_def watcher_def = {.kind = "watcher",
                                          .state_size = sizeof(watcher_state),
                                          .receive = watcher_receive,
                                          .post_stop = watcher_post_stop};

static int idle_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

static const akt_actor_def idle_def = {.kind = "idle", .receive = idle_receive};

static void expect_terminated_note(akt_probe *p, akt_pid *target) {
  char address[AKT_ADDRESS_MAX];
  assert_true(akt_pid_format(target, address, sizeof address) > 0);
  API_EXPECT_NOTEF(p, "terminated %s id_ok=1 sender_ok=1 address=%s", akt_pid_path(target), address);
}

static void a_watcher_gets_one_terminated_from_the_target(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &API_TO(p));
  akt_pid *t = akt_testkit_spawn(tk, "t", &idle_def);
  api_cmd(p, w, "watch", "/user/t", 0);
  EXPECT_NOTE(p, "watch=AKT_OK");
  /* Watching twice still gives one. */
  api_cmd(p, w, "watch", "", 0);
  EXPECT_NOTE(p, "watch=AKT_OK");
  assert_int_equal(akt_stop(t), 0);
  expect_terminated_note(p, t);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_testkit_free(tk);
}

static void watching_an_actor_that_has_terminated_reports_at_once(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &API_TO(p));
  akt_pid *t = akt_testkit_spawn(tk, "t", &idle_def);
  api_cmd(p, w, "watch", "/user/t", 0); /* looks it up while alive */
  EXPECT_NOTE(p, "watch=AKT_OK");
  api_cmd(p, w, "unwatch", "", 0);
  EXPECT_NOTE(p, "unwatch=AKT_OK");
  assert_int_equal(akt_stop(t), 0);
  api_wait_terminated(tk, t);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  api_cmd(p, w, "watch", "", 0);
  EXPECT_NOTE(p, "watch=AKT_OK");
  expect_terminated_note(p, t);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  /* And from outside, too. */
  akt_probe *q = akt_probe_new(tk, "q");
  akt_probe_watch(q, t);
  akt_probe_expect_terminated(q, t, 0);
  akt_testkit_free(tk);
}

static void unwatch_means_no_terminated_even_one_already_queued(void **state) {
  (void)state;
  /* One message per turn, first-in first-out: the watcher stops the target
   * in one turn; the target terminates before the watcher's next turn, so
   * its Terminated is queued behind the unwatch. On libuv the unwatch may
   * come after the Terminated was handled (then there is nothing left to
   * unwatch); it must never be handled after the unwatch. */
  akt_system_options so = {.throughput = 1};
  akt_testkit *tk = TK_NEW(.system = &so, .fifo = 1);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &API_TO(p));
  akt_pid *t = akt_testkit_spawn(tk, "t", &idle_def);
  api_cmd(p, w, "watch-and-stop", "/user/t", 0);
  api_cmd(p, w, "unwatch", "", 0);
  EXPECT_NOTE(p, "watch-and-stop=AKT_OK");
  const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
  if (strncmp(n->text, "terminated", 10) == 0) {
    assert_false(API_SIM());
    EXPECT_NOTE(p, "unwatch=AKT_ENOENT");
  } else {
    assert_string_equal(n->text, "unwatch=AKT_OK");
  }
  api_wait_terminated(tk, t);
  akt_probe_expect_no_msg(p, AKT_MILLIS(50));
  akt_testkit_free(tk);
}

static void unwatch_of_an_actor_not_watched_is_enoent(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &API_TO(p));
  akt_testkit_spawn(tk, "t", &idle_def);
  api_cmd(p, w, "unwatch", "/user/t", 0);
  EXPECT_NOTE(p, "unwatch=AKT_ENOENT");
  api_cmd(p, w, "bad", "", 0);
  EXPECT_NOTE(p, "watch(NULL)=AKT_EINVAL unwatch(NULL)=AKT_EINVAL");
  assert_int_equal(akt_watch_as(NULL, w), AKT_EINVAL);
  assert_int_equal(akt_watch_as(w, NULL), AKT_EINVAL);
  assert_int_equal(akt_unwatch_as(NULL, w), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void watch_as_and_unwatch_as_watch_on_behalf_of_another(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *q = akt_probe_new(tk, "q");
  akt_pid *t1 = akt_testkit_spawn(tk, "t1", &idle_def);
  akt_pid *t2 = akt_testkit_spawn(tk, "t2", &idle_def);
  assert_int_equal(akt_watch_as(akt_probe_pid(p), t1), 0);
  assert_int_equal(akt_watch_as(akt_probe_pid(q), t2), 0);
  assert_int_equal(akt_unwatch_as(akt_probe_pid(q), t2), 0);
  assert_int_equal(akt_stop(t1), 0);
  assert_int_equal(akt_stop(t2), 0);
  akt_probe_expect_terminated(p, t1, 0);
  api_wait_terminated(tk, t2);
  akt_probe_expect_no_msg(q, AKT_MILLIS(50));
  akt_testkit_free(tk);
}

static int is_terminated_letter(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &akt__dead_letter__descriptor) &&
         strcmp(((const Akt__DeadLetter *)m)->type, "akt.Terminated") == 0;
}

static void a_watcher_that_terminates_withdraws_its_watches(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *w = akt_testkit_spawn_opts(tk, "w", &watcher_def, &API_TO(p));
  akt_pid *t = akt_testkit_spawn(tk, "t", &idle_def);
  api_cmd(p, w, "watch", "/user/t", 0);
  EXPECT_NOTE(p, "watch=AKT_OK");
  assert_int_equal(akt_stop(w), 0);
  api_wait_terminated(tk, w);
  assert_int_equal(akt_stop(t), 0);
  api_wait_terminated(tk, t);
  /* Had t kept w listed, its Terminated would be a dead letter now. */
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_fish_for(dl, is_terminated_letter, NULL, 100, AKT_MILLIS(100),
                                          NULL, why),
                   AKT_ETIMEDOUT);
  akt_testkit_free(tk);
}

static void a_restart_of_the_target_is_no_termination(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *q = akt_probe_new(tk, "q");
  akt_pid *t = akt_testkit_spawn(tk, "t", &idle_def);
  akt_probe_watch(q, t);
  assert_int_equal(akt_restart(t), 0);
  akt_probe_expect_no_msg(q, AKT_MILLIS(50));
  assert_int_equal(akt_stop(t), 0);
  akt_probe_expect_terminated(q, t, 0);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_watcher_gets_one_terminated_from_the_target),
    cmocka_unit_test(watching_an_actor_that_has_terminated_reports_at_once),
    cmocka_unit_test(unwatch_means_no_terminated_even_one_already_queued),
    cmocka_unit_test(unwatch_of_an_actor_not_watched_is_enoent),
    cmocka_unit_test(watch_as_and_unwatch_as_watch_on_behalf_of_another),
    cmocka_unit_test(a_watcher_that_terminates_withdraws_its_watches),
    cmocka_unit_test(a_restart_of_the_target_is_no_termination),
};

AKT_TEST_MAIN_BOTH("api-watch", tests)
