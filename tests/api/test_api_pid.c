/* akt/pid.h: ids, paths, addresses, equality, reference counts, and a PID
 * that outlives its actor — on both backends. */
#include "api.h"

static int idle_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

static const akt_actor_def idle_def = {.kind = "idle", .receive = idle_receive};

static void ids_are_sequential_from_one_and_never_reused(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *root = NULL;
  assert_int_equal(akt_lookup(sys, "/", &root), 0);
  assert_int_equal(akt_pid_id(root), 1); /* the first actor of the system */
  akt_pid *a[5];
  for (int i = 0; i < 5; i++) {
    char name[8];
    snprintf(name, sizeof name, "x%d", i);
    assert_int_equal(akt_spawn(sys, name, &idle_def, NULL, &a[i]), 0);
    if (i) assert_int_equal(akt_pid_id(a[i]), akt_pid_id(a[i - 1]) + 1); /* nothing in between */
  }
  assert_int_equal(akt_stop(a[0]), 0);
  api_wait_terminated(tk, a[0]);
  akt_pid *again = NULL;
  assert_int_equal(akt_spawn(sys, "x0", &idle_def, NULL, &again), 0);
  assert_true(akt_pid_id(again) > akt_pid_id(a[4])); /* never reused */
  akt_pid_release(again);
  for (int i = 0; i < 5; i++) akt_pid_release(a[i]);
  akt_pid_release(root);
  akt_testkit_free(tk);
}

static void path_name_and_address_name_the_actor(void **state) {
  (void)state;
  akt_system_options so = {.host = "example.org", .port = 2552};
  akt_testkit *tk = TK_NEW(.system = &so);
  akt_pid *a = akt_testkit_spawn(tk, "a", &idle_def);
  assert_string_equal(akt_pid_path(a), "/user/a");
  assert_string_equal(akt_pid_name(a), "a");
  char buf[AKT_ADDRESS_MAX];
  int n = akt_pid_format(a, buf, sizeof buf);
  assert_string_equal(buf, "akt://node0@example.org:2552/user/a");
  assert_int_equal(n, (int)strlen(buf));
  assert_string_equal(akt_system_address(akt_testkit_system(tk)), "akt://node0@example.org:2552");
  akt_testkit_free(tk);
}

static void a_buffer_too_small_gets_a_truncated_terminated_prefix_and_elimit(void **state) {
  (void)state;
  akt_system_options so = {.host = "h", .port = 1};
  akt_testkit *tk = TK_NEW(.system = &so);
  akt_pid *a = akt_testkit_spawn(tk, "a", &idle_def);
  char buf[12];
  memset(buf, 'Z', sizeof buf);
  assert_int_equal(akt_pid_format(a, buf, sizeof buf), AKT_ELIMIT);
  assert_int_equal(buf[sizeof buf - 1], '\0');
  assert_int_equal(strncmp(buf, "akt://node0@h:1/user/a", strlen(buf)), 0);
  assert_int_equal(strlen(buf), sizeof buf - 1);
  assert_int_equal(akt_pid_format(NULL, buf, sizeof buf), AKT_EINVAL);
  assert_int_equal(akt_pid_format(a, NULL, 10), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void a_pid_outlives_its_actor_and_a_new_incarnation_gets_another(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(sys, "a", &idle_def, NULL, &a), 0);
  assert_true(akt_pid_is_running(a));
  assert_true(akt_pid_is_local(a));
  assert_ptr_equal(akt_pid_system(a), sys);
  assert_int_equal(akt_stop(a), 0);
  api_wait_terminated(tk, a);
  assert_false(akt_pid_is_running(a));
  assert_string_equal(akt_pid_path(a), "/user/a"); /* still readable */
  akt_pid *b = NULL;
  assert_int_equal(akt_spawn(sys, "a", &idle_def, NULL, &b), 0);
  assert_false(akt_pid_equal(a, b));
  assert_true(akt_pid_equal(a, a));
  assert_string_equal(akt_pid_path(b), akt_pid_path(a));
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(sys, "/user/a", &found), 0);
  assert_true(akt_pid_equal(found, b));
  akt_pid_release(found);
  akt_pid_release(a);
  akt_pid_release(b);
  akt_testkit_free(tk);
}

static void references_are_counted_and_null_is_harmless(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "a", &idle_def, NULL, &a), 0);
  assert_ptr_equal(akt_pid_retain(a), a);
  akt_pid_release(a); /* the retain's */
  assert_string_equal(akt_pid_path(a), "/user/a");
  assert_null(akt_pid_retain(NULL));
  akt_pid_release(NULL);
  /* Still ours after the actor terminated, until released. */
  assert_int_equal(akt_stop(a), 0);
  api_wait_terminated(tk, a);
  assert_string_equal(akt_pid_name(a), "a");
  akt_pid_release(a);
  akt_testkit_free(tk);
}

static void a_stopping_actor_is_no_longer_running(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *a = akt_testkit_spawn(tk, "a", &idle_def);
  assert_int_equal(akt_stop(a), 0);
  api_wait_stopped(tk, a);
  assert_false(akt_pid_is_running(a));
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ids_are_sequential_from_one_and_never_reused),
    cmocka_unit_test(path_name_and_address_name_the_actor),
    cmocka_unit_test(a_buffer_too_small_gets_a_truncated_terminated_prefix_and_elimit),
    cmocka_unit_test(a_pid_outlives_its_actor_and_a_new_incarnation_gets_another),
    cmocka_unit_test(references_are_counted_and_null_is_harmless),
    cmocka_unit_test(a_stopping_actor_is_no_longer_running),
};

AKT_TEST_MAIN_BOTH("api-pid", tests)
