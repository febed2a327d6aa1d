/* akt/testkit.h and docs/testing.md: seeds, nodes, time, what each
 * expectation accepts and how it fails (the try_ forms, and the fatal
 * forms' report in a child process) — on both backends. */
#include <stdlib.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"

static int echo_receive(akt_ctx *ctx, const ProtobufCMessage *msg) { return akt_reply(ctx, msg); }

static const akt_actor_def echo_def = {.kind = "echo", .receive = echo_receive};

static void note(akt_pid *to, const char *text) {
  Note n = NOTE__INIT;
  n.text = (char *)text;
  assert_int_equal(akt_tell(to, &n.base), 0);
}

static void ping(akt_pid *to, int64_t v) {
  Ping m = PING__INIT;
  m.n = v;
  assert_int_equal(akt_tell(to, &m.base), 0);
}

/* Conditions on a probe's queue. */
static int any_queued(void *p) { return akt_probe_queued(p) > 0; }
static int four_queued(void *p) { return akt_probe_queued(p) == 4; }

/* ---- the testkit --------------------------------------------------------------- */

static void the_seed_comes_from_the_options_then_akt_seed_then_the_default(void **state) {
  (void)state;
  const char *saved = getenv("AKT_SEED");
  char keep[64] = "";
  if (saved) snprintf(keep, sizeof keep, "%s", saved);
  setenv("AKT_SEED", "0x77", 1);
  akt_testkit *tk = TK_NEW(.use_seed = 1, .seed = 5);
  assert_int_equal(akt_testkit_seed(tk), 5);
  akt_testkit_free(tk);
  tk = TK_NEW();
  assert_int_equal(akt_testkit_seed(tk), 0x77);
  if (!API_SIM()) assert_int_equal(akt_uv_backend_seed(akt_system_backend(akt_testkit_system(tk))), 0x77);
  akt_testkit_free(tk);
  unsetenv("AKT_SEED");
  tk = TK_NEW();
  assert_int_equal(akt_testkit_seed(tk), AKT_TESTKIT_DEFAULT_SEED);
  char hint[256];
  akt_testkit_replay_hint(tk, hint, sizeof hint);
  char want[64];
  snprintf(want, sizeof want, "AKT_SEED=0x%llx ", (unsigned long long)AKT_TESTKIT_DEFAULT_SEED);
  assert_int_equal(strncmp(hint, want, strlen(want)), 0);
  assert_non_null(strstr(hint, "--filter the_seed_comes_from_the_options_then_akt_seed_then_the_default"));
  akt_testkit_free(tk);
  if (*keep) setenv("AKT_SEED", keep, 1);
}

static void a_testkit_has_its_nodes_and_its_backend(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW(.nodes = 3);
  assert_int_equal(akt_testkit_backend_kind(tk), akt_test_backend);
  assert_true((akt_testkit_world(tk) != NULL) == API_SIM());
  assert_ptr_equal(akt_testkit_system(tk), akt_testkit_node(tk, 0));
  assert_string_equal(akt_system_name(akt_testkit_node(tk, 2)), "node2");
  assert_null(akt_testkit_node(tk, 3));
  akt_probe *p2 = akt_probe_new_on(tk, 2, "p2");
  assert_ptr_equal(akt_pid_system(akt_probe_pid(p2)), akt_testkit_node(tk, 2));
  /* akt_testkit_spawn spawns on node 0. */
  akt_pid *e = akt_testkit_spawn(tk, "e", &echo_def);
  assert_ptr_equal(akt_pid_system(e), akt_testkit_node(tk, 0));
  akt_testkit_free(tk);
}

static void advance_lets_time_pass(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  uint64_t t0 = akt_testkit_now(tk);
  akt_testkit_advance(tk, AKT_MILLIS(30));
  uint64_t passed = akt_testkit_now(tk) - t0;
  assert_true(passed >= AKT_MILLIS(30));
  if (API_SIM()) assert_int_equal(passed, AKT_MILLIS(30));
  assert_int_equal(akt_testkit_run_until_idle(tk), 0);
  akt_testkit_free(tk);
}

/* ---- expectations, non-fatal ------------------------------------------------------ */

static void try_expect_msg_names_a_timeout_and_a_wrong_type(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m = NULL;
  assert_int_equal(akt_probe_try_expect_msg(p, &note__descriptor, AKT_MILLIS(20), &m, why),
                   AKT_ETIMEDOUT);
  assert_non_null(strstr(why, "Note"));
  ping(akt_probe_pid(p), 3);
  assert_int_equal(akt_probe_try_expect_msg(p, &note__descriptor, 0, &m, why), AKT_EPROTO);
  assert_non_null(strstr(why, "Ping { n: 3 }")); /* what came instead, as text */
  note(akt_probe_pid(p), "x");
  assert_int_equal(akt_probe_try_expect_msg(p, &note__descriptor, 0, &m, why), 0);
  assert_string_equal(((const Note *)m)->text, "x");
  assert_int_equal(akt_probe_try_expect_msg(p, &note__descriptor, AKT_MILLIS(1), NULL, NULL),
                   AKT_ETIMEDOUT); /* out and why may be NULL */
  akt_testkit_free(tk);
}

static void the_default_timeout_is_the_testkits(void **state) {
  (void)state;
  SIM_ONLY(); /* measuring the timeout itself: virtual time */
  akt_testkit *tk = TK_NEW(.default_timeout = AKT_SECONDS(7));
  akt_probe *p = akt_probe_new(tk, "p");
  uint64_t t0 = akt_testkit_now(tk);
  assert_int_equal(akt_probe_try_expect_msg(p, &note__descriptor, AKT_PROBE_DEFAULT_TIMEOUT, NULL,
                                            NULL),
                   AKT_ETIMEDOUT);
  assert_int_equal(akt_testkit_now(tk) - t0, AKT_SECONDS(7));
  akt_testkit_free(tk);
  tk = TK_NEW();
  p = akt_probe_new(tk, "p");
  t0 = akt_testkit_now(tk);
  akt_probe_try_expect_msg(p, &note__descriptor, 0, NULL, NULL);
  assert_int_equal(akt_testkit_now(tk) - t0, AKT_TESTKIT_DEFAULT_TIMEOUT);
  akt_testkit_free(tk);
}

static void try_expect_equal_compares_the_packed_bytes(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  note(akt_probe_pid(p), "same");
  note(akt_probe_pid(p), "other");
  ping(akt_probe_pid(p), 0);
  Note want = NOTE__INIT;
  want.text = "same";
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_expect_equal(p, &want.base, 0, why), 0);
  assert_int_equal(akt_probe_try_expect_equal(p, &want.base, 0, why), AKT_EPROTO);
  assert_non_null(strstr(why, "other"));
  /* A Ping with only defaults packs to nothing; still another type. */
  Pong zero = PONG__INIT;
  assert_int_equal(akt_probe_try_expect_equal(p, &zero.base, 0, why), AKT_EPROTO);
  akt_testkit_free(tk);
}

static int text_is(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  return akt_msg_is(m, &note__descriptor) && strcmp(((const Note *)m)->text, arg) == 0;
}

static int is_ping(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &ping__descriptor);
}

static void match_any_of_and_fish_for_choose_what_they_accept(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  char why[AKT_PROBE_FAILURE_MAX];
  const ProtobufCMessage *m;
  note(akt_probe_pid(p), "a");
  assert_int_equal(akt_probe_try_expect_match(p, text_is, "a", 0, &m, why), 0);
  note(akt_probe_pid(p), "b");
  assert_int_equal(akt_probe_try_expect_match(p, text_is, "a", 0, &m, why), AKT_EPROTO);
  const ProtobufCMessageDescriptor *const types[] = {&pong__descriptor, &ping__descriptor};
  ping(akt_probe_pid(p), 1);
  assert_int_equal(akt_probe_try_expect_any_of(p, types, 2, 0, &m, why), 0);
  assert_true(akt_msg_is(m, &ping__descriptor));
  note(akt_probe_pid(p), "c");
  assert_int_equal(akt_probe_try_expect_any_of(p, types, 2, 0, &m, why), AKT_EPROTO);
  /* fish_for skips at most `max`. */
  note(akt_probe_pid(p), "1");
  note(akt_probe_pid(p), "2");
  note(akt_probe_pid(p), "hit");
  assert_int_equal(akt_probe_try_fish_for(p, text_is, "hit", 2, 0, &m, why), 0);
  assert_string_equal(((const Note *)m)->text, "hit");
  note(akt_probe_pid(p), "1");
  note(akt_probe_pid(p), "2");
  note(akt_probe_pid(p), "3");
  note(akt_probe_pid(p), "hit");
  assert_int_equal(akt_probe_try_fish_for(p, text_is, "hit", 2, 0, &m, why), AKT_ELIMIT);
  assert_int_equal(akt_probe_try_fish_for(p, text_is, "never", 5, AKT_MILLIS(20), &m, why),
                   AKT_ETIMEDOUT);
  akt_testkit_free(tk);
}

static void receive_n_and_receive_while_take_several(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  for (int i = 0; i < 3; i++) ping(akt_probe_pid(p), i);
  note(akt_probe_pid(p), "stop");
  const ProtobufCMessage *got[8];
  /* receive_while: the first that fails the predicate stays queued. */
  test_wait_until(tk, four_queued, p, "four queued");
  assert_int_equal(akt_probe_receive_while(p, is_ping, NULL, 8, AKT_MILLIS(20), got), 3);
  assert_int_equal(((const Ping *)got[2])->n, 2);
  assert_int_equal(akt_probe_queued(p), 1);
  EXPECT_NOTE(p, "stop");
  for (int i = 0; i < 2; i++) ping(akt_probe_pid(p), 10 + i);
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_receive_n(p, 2, 0, got, why), 0);
  assert_int_equal(((const Ping *)got[1])->n, 11);
  ping(akt_probe_pid(p), 12);
  assert_int_equal(akt_probe_try_receive_n(p, 2, AKT_MILLIS(20), got, why), AKT_ETIMEDOUT);
  /* receive_while stops at max. */
  for (int i = 0; i < 3; i++) ping(akt_probe_pid(p), i);
  assert_int_equal(akt_probe_receive_while(p, is_ping, NULL, 2, 0, got), 2);
  akt_testkit_free(tk);
}

static void expect_within_refuses_what_comes_too_early_or_too_late(void **state) {
  (void)state;
  SIM_ONLY(); /* a window on a loaded machine's clock proves nothing */
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_system *sys = akt_testkit_system(tk);
  Ping m = PING__INIT;
  char why[AKT_PROBE_FAILURE_MAX];
  akt_schedule(sys, AKT_MILLIS(50), 0, akt_probe_pid(p), &m.base, NULL);
  assert_int_equal(akt_probe_try_expect_within(p, &ping__descriptor, AKT_MILLIS(100),
                                               AKT_MILLIS(200), NULL, why),
                   AKT_EPROTO); /* too early */
  akt_schedule(sys, AKT_MILLIS(300), 0, akt_probe_pid(p), &m.base, NULL);
  assert_int_equal(akt_probe_try_expect_within(p, &ping__descriptor, AKT_MILLIS(100),
                                               AKT_MILLIS(200), NULL, why),
                   AKT_ETIMEDOUT); /* too late */
  akt_testkit_advance(tk, AKT_SECONDS(1)); /* the late one comes meanwhile */
  akt_probe_clear(p);
  akt_schedule(sys, AKT_MILLIS(150), 0, akt_probe_pid(p), &m.base, NULL);
  assert_int_equal(akt_probe_try_expect_within(p, &ping__descriptor, AKT_MILLIS(100),
                                               AKT_MILLIS(200), NULL, why),
                   0);
  akt_testkit_free(tk);
}

static void expect_no_msg_and_expect_terminated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_expect_no_msg(p, AKT_MILLIS(20), why), 0);
  note(akt_probe_pid(p), "noise");
  assert_int_equal(akt_probe_try_expect_no_msg(p, AKT_MILLIS(20), why), AKT_EPROTO);
  assert_non_null(strstr(why, "noise"));
  akt_pid *e = akt_testkit_spawn(tk, "e", &echo_def);
  akt_pid *f = akt_testkit_spawn(tk, "f", &echo_def);
  akt_probe_watch(p, e);
  akt_probe_watch(p, f);
  assert_int_equal(akt_stop(f), 0);
  /* Terminated of another actor: not the one expected. */
  assert_int_equal(akt_probe_try_expect_terminated(p, e, 0, why), AKT_EPROTO);
  assert_int_equal(akt_probe_try_expect_terminated(p, e, AKT_MILLIS(20), why), AKT_ETIMEDOUT);
  assert_int_equal(akt_stop(e), 0);
  assert_int_equal(akt_probe_try_expect_terminated(p, e, 0, why), 0);
  akt_testkit_free(tk);
}

/* ---- the probe's queue ------------------------------------------------------------- */

static int is_noise(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &note__descriptor) && strcmp(((const Note *)m)->text, "noise") == 0;
}

static void ignored_messages_are_dropped_now_and_later(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  note(akt_probe_pid(p), "noise");
  note(akt_probe_pid(p), "signal");
  test_wait_until(tk, any_queued, p, "something queued");
  EXPECT_NOTE(p, "noise"); /* not ignored yet */
  akt_probe_ignore(p, is_noise, NULL);
  note(akt_probe_pid(p), "noise");
  note(akt_probe_pid(p), "signal");
  EXPECT_NOTE(p, "signal");
  EXPECT_NOTE(p, "signal");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_probe_ignore_none(p);
  note(akt_probe_pid(p), "noise");
  EXPECT_NOTE(p, "noise");
  akt_testkit_free(tk);
}

static void clear_forgets_the_queue_and_the_last_message(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *q = akt_probe_new(tk, "q");
  assert_int_equal(akt_probe_last_arrival(p), 0);
  assert_null(akt_probe_last_sender(p));
  Note n = NOTE__INIT;
  n.text = "x";
  akt_probe_tell(q, akt_probe_pid(p), &n.base);
  EXPECT_NOTE(p, "x");
  assert_true(akt_pid_equal(akt_probe_last_sender(p), akt_probe_pid(q)));
  assert_true(akt_probe_last_arrival(p) > 0 || API_SIM());
  note(akt_probe_pid(p), "y");
  note(akt_probe_pid(p), "z");
  test_wait_until(tk, any_queued, p, "queued");
  akt_probe_clear(p);
  assert_int_equal(akt_probe_queued(p), 0);
  assert_null(akt_probe_last_sender(p));
  assert_int_equal(akt_probe_last_arrival(p), 0);
  akt_testkit_free(tk);
}

/* Replies to a request with what akt_probe_reply sends; forwards keep the
 * sender. */
typedef struct asker_cfg {
  akt_pid *to, *target;
} asker_cfg;

static int on_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  char text[64] = "-";
  if (reply) akt_msg_format(reply, text, sizeof text);
  const asker_cfg *c = akt_ctx_arg(ctx);
  return api_note(ctx, c->to, "status=%s reply=%s", akt_errname(status), text);
}

static int asker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  const asker_cfg *c = akt_ctx_arg(ctx);
  Ping q = PING__INIT;
  return akt_request(ctx, c->target, &q.base, AKT_SECONDS(30), on_reply, NULL);
}

static const akt_actor_def asker_def = {.kind = "asker", .receive = asker_receive};

static void a_probe_reply_completes_a_request_and_forward_keeps_the_sender(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *target = akt_probe_new(tk, "target");
  akt_probe *other = akt_probe_new(tk, "other");
  asker_cfg cfg = {.to = akt_probe_pid(p), .target = akt_probe_pid(target)};
  akt_spawn_opts o = {.arg = &cfg};
  akt_pid *a = akt_testkit_spawn_opts(tk, "a", &asker_def, &o);
  Note go = NOTE__INIT;
  akt_probe_tell(p, a, &go.base);
  akt_probe_expect_msg(target, &ping__descriptor, 0);
  /* Forwarded: `other` sees the asker as the sender, and its reply still
   * completes the request. */
  akt_probe_forward(target, akt_probe_pid(other));
  akt_probe_expect_msg(other, &ping__descriptor, 0);
  assert_true(akt_pid_equal(akt_probe_last_sender(other), a));
  Pong pong = PONG__INIT;
  pong.n = 9;
  akt_probe_reply(other, &pong.base);
  EXPECT_NOTE(p, "status=AKT_OK reply=Pong { n: 9 }");
  akt_testkit_free(tk);
}

static void a_probe_tell_to_a_terminated_actor_is_no_failure(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *e = akt_testkit_spawn(tk, "e", &echo_def);
  assert_int_equal(akt_stop(e), 0);
  api_wait_terminated(tk, e);
  Ping m = PING__INIT;
  akt_probe_tell(p, e, &m.base);
  api_expect_dead_letter(dl, "Ping", "terminated");
  akt_testkit_free(tk);
}

static void a_full_probe_queue_sends_the_rest_to_dead_letters(void **state) {
  (void)state;
  SIM_ONLY(); /* 65536 messages */
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  for (int i = 0; i <= AKT_PROBE_MAX_QUEUE; i++) ping(akt_probe_pid(p), i);
  assert_int_equal(akt_probe_queued(p), AKT_PROBE_MAX_QUEUE);
  const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Ping", "probe queue full");
  Ping *got = ping__unpack(NULL, d->payload.len, d->payload.data);
  assert_int_equal(got->n, AKT_PROBE_MAX_QUEUE);
  ping__free_unpacked(got, NULL);
  akt_testkit_free(tk);
}

/* ---- the fatal forms, in a child ------------------------------------------------ */

static void fails_on_purpose(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.use_seed = 1, .seed = 0xabc});
  akt_probe *p = akt_probe_new(tk, "watcher");
  ping(akt_probe_pid(p), 4);
  akt_probe_expect_msg(p, &note__descriptor, AKT_SECONDS(2)); /* gets a Ping: fails */
}

static void leaves_an_actor_running(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.check_stopped = 1});
  akt_testkit_spawn(tk, "lingering", &echo_def);
  akt_testkit_free(tk);
}

static void stops_what_it_spawned(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.check_stopped = 1});
  akt_pid *e = akt_testkit_spawn(tk, "done", &echo_def);
  akt_stop(e);
  api_wait_terminated(tk, e);
  akt_testkit_free(tk);
}

/* Runs `fn` as the only test of a cmocka group in a child process; returns
 * its exit code and what it printed (stdout and stderr). */
static int in_child(void (*fn)(void **), const char *name, char *out, size_t size) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    const struct CMUnitTest one[] = {{name, fn, NULL, NULL, NULL}};
    _exit(_cmocka_run_group_tests("child", one, 1, NULL, NULL) ? 1 : 0);
  }
  close(fds[1]);
  size_t got = 0;
  ssize_t n;
  while (got + 1 < size && (n = read(fds[0], out + got, size - 1 - got)) > 0) got += (size_t)n;
  out[got] = '\0';
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void a_failed_expectation_reports_what_came_when_and_how_to_replay(void **state) {
  (void)state;
  SIM_ONLY(); /* forks: no threads about */
  char out[8192];
  assert_int_equal(in_child(fails_on_purpose, "fails_on_purpose", out, sizeof out), 1);
  assert_non_null(strstr(out, "expected Note"));         /* what was expected */
  assert_non_null(strstr(out, "Ping { n: 4 }"));         /* what came instead */
  assert_non_null(strstr(out, "(virtual time)"));        /* when */
  assert_non_null(strstr(out, "seed=0xabc"));            /* the seed */
  assert_non_null(strstr(out, "AKT_SEED=0xabc"));        /* and the replay command */
  assert_non_null(strstr(out, "--filter fails_on_purpose"));
}

static void check_stopped_fails_a_test_that_leaves_actors_running(void **state) {
  (void)state;
  SIM_ONLY();
  char out[8192];
  assert_int_equal(in_child(leaves_an_actor_running, "leaves", out, sizeof out), 1);
  assert_non_null(strstr(out, "/user/lingering"));
  assert_int_equal(in_child(stops_what_it_spawned, "stops", out, sizeof out), 0);
}

static void parse_args(void) {
  char *filter[] = {"t", "--filter", "x*", NULL};
  char *help[] = {"t", "--help", NULL};
  char *bad[] = {"t", "--frobnicate", NULL};
  int ok = akt_testkit_parse_args(3, filter) == 0 && akt_testkit_parse_args(2, help) == 1 &&
           akt_testkit_parse_args(2, bad) == AKT_EINVAL && akt_testkit_parse_args(1, filter) == 0;
  _exit(ok ? 0 : 1);
}

static void the_program_arguments_are_a_filter_or_help(void **state) {
  (void)state;
  SIM_ONLY();
  /* In a child: a filter would apply to this process's later groups. */
  fflush(stdout);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    parse_args();
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(the_seed_comes_from_the_options_then_akt_seed_then_the_default),
    cmocka_unit_test(a_testkit_has_its_nodes_and_its_backend),
    cmocka_unit_test(advance_lets_time_pass),
    cmocka_unit_test(try_expect_msg_names_a_timeout_and_a_wrong_type),
    cmocka_unit_test(the_default_timeout_is_the_testkits),
    cmocka_unit_test(try_expect_equal_compares_the_packed_bytes),
    cmocka_unit_test(match_any_of_and_fish_for_choose_what_they_accept),
    cmocka_unit_test(receive_n_and_receive_while_take_several),
    cmocka_unit_test(expect_within_refuses_what_comes_too_early_or_too_late),
    cmocka_unit_test(expect_no_msg_and_expect_terminated),
    cmocka_unit_test(ignored_messages_are_dropped_now_and_later),
    cmocka_unit_test(clear_forgets_the_queue_and_the_last_message),
    cmocka_unit_test(a_probe_reply_completes_a_request_and_forward_keeps_the_sender),
    cmocka_unit_test(a_probe_tell_to_a_terminated_actor_is_no_failure),
    cmocka_unit_test(a_full_probe_queue_sends_the_rest_to_dead_letters),
    cmocka_unit_test(a_failed_expectation_reports_what_came_when_and_how_to_replay),
    cmocka_unit_test(check_stopped_fails_a_test_that_leaves_actors_running),
    cmocka_unit_test(the_program_arguments_are_a_filter_or_help),
};

AKT_TEST_MAIN_BOTH("api-testkit", tests)
