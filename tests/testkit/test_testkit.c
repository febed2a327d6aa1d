/* The testkit, tested with itself: every expectation's success, its
 * failure (through the try_ forms), and the fatal failure report that
 * cmocka prints (in a child process). Runs on both backends. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"
#include "akt/actor.pb-c.h"

static void ping_to(akt_probe *from, akt_pid *to, int64_t n) {
  Ping ping = PING__INIT;
  ping.n = n;
  akt_probe_tell(from, to, &ping.base);
}

static void expect_msg_and_equal(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  ping_to(a, akt_probe_pid(b), 1);
  const Ping *got = (const Ping *)akt_probe_expect_msg(b, &ping__descriptor, 0);
  assert_int_equal(got->n, 1);
  assert_ptr_equal(akt_probe_last_sender(b), akt_probe_pid(a));
  ping_to(a, akt_probe_pid(b), 2);
  Ping want = PING__INIT;
  want.n = 2;
  akt_probe_expect_equal(b, &want.base, 0);

  char why[AKT_PROBE_FAILURE_MAX];
  ping_to(a, akt_probe_pid(b), 3);
  assert_int_equal(akt_probe_try_expect_equal(b, &want.base, 0, why), AKT_EPROTO);
  assert_non_null(strstr(why, "expected Ping { n: 2 }, got Ping { n: 3 } from /temp/probe-a$"));
  ping_to(a, akt_probe_pid(b), 4);
  assert_int_equal(akt_probe_try_expect_msg(b, &pong__descriptor, 0, NULL, why), AKT_EPROTO);
  assert_non_null(strstr(why, "probe b: expected Pong, got Ping { n: 4 }"));
  assert_int_equal(akt_probe_try_expect_msg(b, &pong__descriptor, AKT_MILLIS(30), NULL, why),
                   AKT_ETIMEDOUT);
  assert_string_equal(why, "probe b: expected Pong within 0.030000000s, got nothing");
  akt_testkit_free(tk);
}

static int is_even_ping(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &ping__descriptor) && ((const Ping *)m)->n % 2 == 0;
}

static void match_any_of_fish_for(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  akt_pid *to = akt_probe_pid(b);
  ping_to(a, to, 2);
  const Ping *m = (const Ping *)akt_probe_expect_match(b, is_even_ping, NULL, 0);
  assert_int_equal(m->n, 2);
  Note n = NOTE__INIT;
  akt_probe_tell(a, to, &n.base);
  const ProtobufCMessageDescriptor *types[] = {&pong__descriptor, &note__descriptor};
  assert_ptr_equal(akt_probe_expect_any_of(b, types, 2, 0)->descriptor, &note__descriptor);
  ping_to(a, to, 1);
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_expect_any_of(b, types, 2, 0, NULL, why), AKT_EPROTO);
  assert_non_null(strstr(why, "expected one of Pong, Note, got Ping { n: 1 }"));
  ping_to(a, to, 3);
  assert_int_equal(akt_probe_try_expect_match(b, is_even_ping, NULL, 0, NULL, why), AKT_EPROTO);
  for (int i = 1; i <= 5; i++) ping_to(a, to, i);
  m = (const Ping *)akt_probe_fish_for(b, is_even_ping, NULL, 3, 0);
  assert_int_equal(m->n, 2);
  akt_probe_clear(b);
  for (int i = 11; i <= 19; i += 2) ping_to(a, to, i);
  assert_int_equal(akt_probe_try_fish_for(b, is_even_ping, NULL, 2, 0, NULL, why), AKT_ELIMIT);
  assert_non_null(strstr(why, "fished past 2 messages"));
  akt_testkit_free(tk);
}

static void receive_n_and_receive_while(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  for (int i = 0; i < 6; i++) ping_to(a, akt_probe_pid(b), i * 2);
  ping_to(a, akt_probe_pid(b), 99);
  const ProtobufCMessage *got[8];
  akt_probe_receive_n(b, 2, 0, got);
  assert_int_equal(((const Ping *)got[1])->n, 2);
  size_t n = akt_probe_receive_while(b, is_even_ping, NULL, 8, AKT_MILLIS(50), got);
  assert_int_equal(n, 4);
  assert_int_equal(((const Ping *)got[3])->n, 10);
  assert_int_equal(akt_probe_queued(b), 1); /* 99 is still there */
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_receive_n(b, 2, AKT_MILLIS(20), got, why), AKT_ETIMEDOUT);
  assert_non_null(strstr(why, "expected message 2 of 2"));
  akt_testkit_free(tk);
}

static void no_msg_and_within(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  uint64_t t0 = akt_testkit_now(tk);
  akt_probe_expect_no_msg(b, AKT_MILLIS(100));
  assert_true(akt_testkit_now(tk) - t0 >= AKT_MILLIS(100));
  char why[AKT_PROBE_FAILURE_MAX];
  ping_to(a, akt_probe_pid(b), 5);
  assert_int_equal(akt_probe_try_expect_no_msg(b, AKT_MILLIS(10), why), AKT_EPROTO);
  assert_non_null(strstr(why, "expected no message for 0.010000000s, got Ping { n: 5 }"));
  /* within: a message already queued arrived "now", too early for min > 0. */
  ping_to(a, akt_probe_pid(b), 6);
  assert_int_equal(akt_probe_try_expect_within(b, &ping__descriptor, AKT_MILLIS(50),
                                               AKT_MILLIS(100), NULL, why),
                   AKT_EPROTO);
  assert_non_null(strstr(why, "but it arrived after"));
  ping_to(a, akt_probe_pid(b), 7);
  akt_probe_expect_within(b, &ping__descriptor, 0, AKT_MILLIS(100));
  assert_int_equal(akt_probe_try_expect_within(b, &ping__descriptor, 0, AKT_MILLIS(20), NULL, why),
                   AKT_ETIMEDOUT);
  akt_testkit_free(tk);
}

/* A probe's mail is queued by the sending thread, so the last arrival lies
 * between the clock read before and after the send. */
static void last_arrival_is_when_the_message_was_queued(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  assert_int_equal(akt_probe_last_arrival(b), 0);
  akt_testkit_advance(tk, AKT_MILLIS(5));
  uint64_t before = akt_testkit_now(tk);
  ping_to(a, akt_probe_pid(b), 1);
  uint64_t after = akt_testkit_now(tk);
  akt_testkit_advance(tk, AKT_MILLIS(5));
  akt_probe_expect_msg(b, &ping__descriptor, 0);
  assert_true(akt_probe_last_arrival(b) >= before);
  assert_true(akt_probe_last_arrival(b) <= after);
  assert_true(akt_probe_last_arrival(b) < akt_testkit_now(tk));
  akt_probe_clear(b);
  assert_int_equal(akt_probe_last_arrival(b), 0);
  akt_testkit_free(tk);
}

static void terminated_after_watch(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  akt_pid *d = akt_testkit_spawn(tk, "d", &counter_def);
  akt_probe_watch(p, c);
  akt_probe_watch(p, d);
  akt_stop(c);
  char why[AKT_PROBE_FAILURE_MAX];
  assert_int_equal(akt_probe_try_expect_terminated(p, d, 0, why), AKT_EPROTO);
  assert_non_null(strstr(why, "expected akt.Terminated of /user/d, got akt.Terminated"));
  akt_stop(d);
  akt_probe_expect_terminated(p, d, 0);
  akt_testkit_free(tk);
}

static int is_note(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &note__descriptor);
}

static void ignore_filters_noise(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  Note noise = NOTE__INIT;
  noise.text = "heartbeat";
  akt_probe_tell(a, akt_probe_pid(b), &noise.base);
  akt_testkit_run_until_idle(tk);
  akt_probe_ignore(b, is_note, NULL); /* drops the queued one too */
  akt_probe_tell(a, akt_probe_pid(b), &noise.base);
  ping_to(a, akt_probe_pid(b), 1);
  akt_probe_tell(a, akt_probe_pid(b), &noise.base);
  akt_probe_expect_msg(b, &ping__descriptor, 0);
  akt_probe_expect_no_msg(b, AKT_MILLIS(20));
  akt_probe_ignore_none(b);
  akt_probe_tell(a, akt_probe_pid(b), &noise.base);
  akt_probe_expect_msg(b, &note__descriptor, 0);
  akt_testkit_free(tk);
}

static void reply_completes_an_ask_and_clear_empties(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  /* A forwarder hands the probe a request; the probe's reply completes it. */
  akt_pid *f = akt_testkit_spawn_opts(tk, "f", &forwarder_def, &o);
  akt_pid *req = akt_testkit_spawn_opts(tk, "r", &reporter_def, &o);
  EXPECT_NOTE(p, "r:pre_start");
  (void)f;
  Ping ping = PING__INIT;
  ping.n = 8;
  akt_probe_tell(p, req, &ping.base);
  const Pong *pong = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
  assert_int_equal(pong->n, 8);
  ping_to(p, akt_probe_pid(p), 1);
  ping_to(p, akt_probe_pid(p), 2);
  akt_testkit_run_until_idle(tk);
  assert_int_equal(akt_probe_queued(p), 2);
  akt_probe_clear(p);
  assert_int_equal(akt_probe_queued(p), 0);
  assert_null(akt_probe_last_sender(p));
  akt_testkit_free(tk);
}

static void virtual_time_passes_without_waiting(void **state) {
  (void)state;
  SIM_ONLY();
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  uint64_t t0 = akt_testkit_now(tk);
  akt_probe_expect_no_msg(p, AKT_SECONDS(10));
  assert_int_equal(akt_testkit_now(tk) - t0, AKT_SECONDS(10));
  akt_testkit_advance(tk, AKT_SECONDS(5));
  assert_int_equal(akt_testkit_now(tk) - t0, AKT_SECONDS(15));
  akt_testkit_free(tk);
}

static void the_seed_comes_from_options_env_or_default(void **state) {
  (void)state;
  SIM_ONLY();
  unsetenv("AKT_SEED");
  akt_testkit *tk = TK_NEW();
  assert_int_equal(akt_testkit_seed(tk), AKT_TESTKIT_DEFAULT_SEED);
  akt_testkit_free(tk);
  setenv("AKT_SEED", "0x1234", 1);
  tk = TK_NEW();
  assert_int_equal(akt_testkit_seed(tk), 0x1234);
  assert_int_equal(akt_sim_seed(akt_testkit_world(tk)), 0x1234);
  char hint[512];
  akt_testkit_replay_hint(tk, hint, sizeof hint);
  assert_non_null(strstr(hint, "AKT_SEED=0x1234 "));
  assert_non_null(strstr(hint, "--filter the_seed_comes_from_options_env_or_default"));
  akt_testkit_free(tk);
  tk = TK_NEW(.use_seed = 1, .seed = 77);
  assert_int_equal(akt_testkit_seed(tk), 77);
  akt_testkit_free(tk);
  unsetenv("AKT_SEED");
}

/* ---- the fatal report, seen from outside -------------------------------- */

/* The failing children keep their testkit in *state so the teardown frees
 * it: a failed expectation leaves the test function early. */
static int free_tk(void **state) {
  akt_testkit_free(*state);
  return 0;
}

static void fails_on_purpose(void **state) {
  akt_testkit *tk = *state = TK_NEW(.use_seed = 1, .seed = 0xabc);
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  ping_to(a, akt_probe_pid(b), 42);
  akt_probe_expect_msg(b, &pong__descriptor, AKT_SECONDS(3));
}

static void fails_by_timeout(void **state) {
  akt_testkit *tk = *state = TK_NEW(.use_seed = 1, .seed = 0xabc);
  akt_probe *b = akt_probe_new(tk, "b");
  akt_probe_expect_msg(b, &pong__descriptor, AKT_MILLIS(40));
}

/* Runs `fn` as a cmocka test in a child; returns its exit status and what
 * it printed. */
static int run_child(void (*fn)(void **), const char *name, char *out, size_t size) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    const struct CMUnitTest one[] = {{name, fn, NULL, free_tk, NULL}};
    _exit(_cmocka_run_group_tests("child", one, 1, NULL, NULL) ? 1 : 0);
  }
  close(fds[1]);
  size_t len = 0;
  ssize_t r;
  while (len + 1 < size && (r = read(fds[0], out + len, size - 1 - len)) > 0) len += (size_t)r;
  out[len] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void a_failed_expectation_fails_the_test_with_a_replay_hint(void **state) {
  (void)state;
  char out[8192];
  assert_int_equal(run_child(fails_on_purpose, "fails_on_purpose", out, sizeof out), 1);
  assert_non_null(strstr(out, "probe b: expected Pong, got Ping { n: 42 } from /temp/probe-a$"));
  assert_non_null(strstr(out, "seed=0xabc"));
  assert_non_null(strstr(out, "replay: AKT_SEED=0xabc "));
  assert_non_null(strstr(out, "--filter fails_on_purpose"));
  assert_non_null(strstr(out, "test_testkit.c"));
  assert_non_null(strstr(out, akt_test_backend == AKT_TESTKIT_SIM ? "(virtual time)" : "(real time)"));
  assert_int_equal(run_child(fails_by_timeout, "fails_by_timeout", out, sizeof out), 1);
  assert_non_null(strstr(out, "probe b: expected Pong within 0.040000000s, got nothing"));
  if (akt_test_backend == AKT_TESTKIT_SIM)
    assert_non_null(strstr(out, "at t=0.040000000s (virtual time)"));
}

static void still_running_actors_fail_check_stopped(void **state) {
  akt_testkit *tk = TK_NEW(.check_stopped = 1);
  akt_testkit_spawn(tk, "forgotten", &counter_def);
  *state = NULL; /* the free below both reports and frees */
  akt_testkit_free(tk);
}

static void check_stopped_reports_running_actors(void **state) {
  (void)state;
  char out[8192];
  assert_int_equal(
      run_child(still_running_actors_fail_check_stopped, "check", out, sizeof out), 1);
  assert_non_null(strstr(out, "1 spawned actor(s) still running at the end: /user/forgotten"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(expect_msg_and_equal),
    cmocka_unit_test(match_any_of_fish_for),
    cmocka_unit_test(receive_n_and_receive_while),
    cmocka_unit_test(no_msg_and_within),
    cmocka_unit_test(last_arrival_is_when_the_message_was_queued),
    cmocka_unit_test(terminated_after_watch),
    cmocka_unit_test(ignore_filters_noise),
    cmocka_unit_test(reply_completes_an_ask_and_clear_empties),
    cmocka_unit_test(virtual_time_passes_without_waiting),
    cmocka_unit_test(the_seed_comes_from_options_env_or_default),
    cmocka_unit_test(a_failed_expectation_fails_the_test_with_a_replay_hint),
    cmocka_unit_test(check_stopped_reports_running_actors),
};

AKT_TEST_MAIN_BOTH("testkit", tests)
