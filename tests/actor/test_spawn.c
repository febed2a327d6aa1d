/* Spawning, names, paths, addresses, lookup — on both backends. */
#include "../support/both.h"
#include "../support/actors.h"
#include "../support/expect_note.h"
#include "akt/actor.pb-c.h"

#include <stdio.h>

static void spawn_runs_pre_start_and_receives(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  a.amount = 2;
  akt_probe_tell(p, c, &a.base);
  akt_probe_tell(p, c, &a.base);
  Get g = GET__INIT;
  akt_probe_tell(p, c, &g.base);
  const Total *t = (const Total *)akt_probe_expect_msg(p, &total__descriptor, AKT_SECONDS(3));
  assert_int_equal(t->value, 4);
  assert_true(akt_pid_equal(akt_probe_last_sender(p), c));
  akt_testkit_free(tk);
}

static void duplicate_sibling_name_is_eexist(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *a = NULL, *b = NULL;
  assert_int_equal(akt_spawn(sys, "same", &counter_def, NULL, &a), 0);
  assert_int_equal(akt_spawn(sys, "same", &counter_def, NULL, &b), AKT_EEXIST);
  assert_null(b);
  akt_pid_release(a);
  akt_testkit_free(tk);
}

static void malformed_names_are_ename(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  char long_name[AKT_NAME_MAX + 2];
  memset(long_name, 'x', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  const char *bad[] = {"", "a/b", "$gen", "sp ace", "..", long_name};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(akt_spawn(sys, bad[i], &counter_def, NULL, NULL), AKT_ENAME);
  akt_actor_def no_receive = {.kind = "broken"};
  assert_int_equal(akt_spawn(sys, "x", &no_receive, NULL, NULL), AKT_EINVAL);
  assert_int_equal(akt_spawn(sys, "x", NULL, NULL, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void anonymous_actors_get_generated_names(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *a = akt_testkit_spawn(tk, NULL, &counter_def);
  akt_pid *b = akt_testkit_spawn(tk, NULL, &counter_def);
  assert_int_equal(akt_pid_name(a)[0], '$');
  assert_string_not_equal(akt_pid_path(a), akt_pid_path(b));
  assert_true(akt_pid_id(b) > akt_pid_id(a));
  assert_false(akt_pid_equal(a, b));
  akt_testkit_free(tk);
}

static void pid_paths_and_addresses(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &parent_def, &o);
  EXPECT_NOTE(p, "parent:pre_start");
  assert_string_equal(akt_pid_path(parent), "/user/parent");
  assert_string_equal(akt_pid_name(parent), "parent");
  char addr[AKT_ADDRESS_MAX];
  int n = akt_pid_format(parent, addr, sizeof addr);
  assert_true(n > 0);
  char want[256];
  snprintf(want, sizeof want, "%s/user/parent", akt_system_address(akt_testkit_system(tk)));
  assert_string_equal(addr, want);
  assert_true(strncmp(addr, "akt://node0@", 12) == 0);
  char tiny[8];
  assert_int_equal(akt_pid_format(parent, tiny, sizeof tiny), AKT_ELIMIT);
  assert_true(akt_pid_is_local(parent));
  assert_ptr_equal(akt_pid_system(parent), akt_testkit_system(tk));
  akt_testkit_free(tk);
}

static void lookup_by_path_and_address(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &parent_def, &o);
  EXPECT_NOTE(p, "parent:pre_start");
  /* The children start concurrently: either order. */
  const ProtobufCMessage *notes[2];
  akt_probe_receive_n(p, 2, 0, notes);
  const char *t0 = ((const Note *)notes[0])->text, *t1 = ((const Note *)notes[1])->text;
  assert_true((strcmp(t0, "c1:pre_start") == 0 && strcmp(t1, "c2:pre_start") == 0) ||
              (strcmp(t0, "c2:pre_start") == 0 && strcmp(t1, "c1:pre_start") == 0));

  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(sys, "/user/parent", &found), 0);
  assert_true(akt_pid_equal(found, parent));
  akt_pid_release(found);

  assert_int_equal(akt_lookup(sys, "/user/parent/c2", &found), 0);
  assert_string_equal(akt_pid_path(found), "/user/parent/c2");
  Ping ping = PING__INIT;
  ping.n = 7;
  akt_probe_tell(p, found, &ping.base);
  const Pong *pong = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
  assert_int_equal(pong->n, 7);
  akt_pid_release(found);

  char addr[512];
  snprintf(addr, sizeof addr, "%s/user/parent/c1", akt_system_address(sys));
  assert_int_equal(akt_lookup(sys, addr, &found), 0);
  assert_string_equal(akt_pid_name(found), "c1");
  akt_pid_release(found);

  assert_int_equal(akt_lookup(sys, "/user/nobody", &found), AKT_ENOENT);
  assert_int_equal(akt_lookup(sys, "user/parent", &found), AKT_ENAME);
  assert_int_equal(akt_lookup(sys, "akt://other@h:1/user/parent", &found), AKT_ENOENT);
  akt_testkit_free(tk);
}

static void stopped_actor_name_is_free_again(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *first = NULL;
  assert_int_equal(akt_spawn(sys, "again", &reporter_def, &o, &first), 0);
  EXPECT_NOTE(p, "again:pre_start");
  akt_probe_watch(p, first);
  assert_int_equal(akt_stop(first), 0);
  EXPECT_NOTE(p, "again:post_stop");
  akt_probe_expect_terminated(p, first, 0);
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(sys, "/user/again", &found), AKT_ENOENT);

  akt_pid *second = NULL;
  assert_int_equal(akt_spawn(sys, "again", &reporter_def, &o, &second), 0);
  EXPECT_NOTE(p, "again:pre_start");
  assert_false(akt_pid_equal(first, second));
  assert_false(akt_pid_is_running(first));
  assert_true(akt_pid_is_running(second));
  /* The old PID still names the old incarnation: its mail is dead. */
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(first, &ping.base), AKT_ESTOPPED);
  akt_pid_release(first);
  akt_pid_release(second);
  akt_testkit_free(tk);
}

static void children_are_spawned_under_their_parent(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *r = akt_testkit_spawn_opts(tk, "r", &reporter_def, &o);
  EXPECT_NOTE(p, "r:pre_start");
  Cmd c = CMD__INIT;
  c.op = "spawn";
  c.arg = "kid";
  akt_probe_tell(p, r, &c.base);
  EXPECT_NOTE(p, "kid:pre_start");
  akt_pid *kid = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/r/kid", &kid), 0);
  akt_pid_release(kid);
  /* A second child with the same name fails in the parent (AKT_EEXIST
   * from receive); the default supervisor restarts the parent, which stops
   * its child first. */
  akt_probe_tell(p, r, &c.base);
  EXPECT_NOTE(p, "kid:post_stop");
  EXPECT_NOTE(p, "r:post_stop");
  EXPECT_NOTE(p, "r:pre_start");
  akt_testkit_free(tk);
}

static void stats_count_spawns_and_messages(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_system_stats before, after;
  akt_system_get_stats(sys, &before);
  assert_int_equal(before.live_actors, 4); /* root, /user, /system, /system/deadletters */
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  for (int i = 0; i < 10; i++) akt_probe_tell(p, c, &a.base);
  Get g = GET__INIT;
  akt_probe_tell(p, c, &g.base);
  akt_probe_expect_msg(p, &total__descriptor, 0);
  /* The reply can arrive while the counter's turn is still ending (on
   * libuv, another thread): its count moves when the turn ends. */
  akt_testkit_run_until_idle(tk);
  akt_system_get_stats(sys, &after);
  assert_int_equal(after.live_actors, 5);
  assert_int_equal(after.spawned, before.spawned + 1);
  assert_int_equal(after.processed, before.processed + 11);
  akt_testkit_free(tk);
}

static void spawn_after_shutdown_is_estopped(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  assert_int_equal(akt_spawn(sys, "late", &counter_def, NULL, NULL), AKT_ESTOPPED);
  akt_system_stats st;
  akt_system_get_stats(sys, &st);
  assert_int_equal(st.live_actors, 0);
  akt_testkit_free(tk);
}

static void system_names_are_validated(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_backend *b = akt_system_backend(akt_testkit_system(tk));
  akt_system *sys = NULL;
  assert_int_equal(akt_system_new("bad name", b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new("", b, NULL, &sys), AKT_ENAME);
  assert_int_equal(akt_system_new("ok", NULL, NULL, &sys), AKT_EINVAL);
  akt_system_options o = {.host = "10.1.2.3", .port = 7000};
  assert_int_equal(akt_system_new("second", b, &o, &sys), 0);
  assert_string_equal(akt_system_address(sys), "akt://second@10.1.2.3:7000");
  assert_string_equal(akt_system_name(sys), "second");
  akt_system_free(sys);
  akt_testkit_free(tk);
}

static void message_types_register_by_full_name(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  assert_ptr_equal(akt_system_find_type(sys, "akt.Terminated"), &akt__terminated__descriptor);
  assert_null(akt_system_find_type(sys, "Ping"));
  assert_int_equal(akt_system_register_type(sys, &ping__descriptor), 0);
  assert_int_equal(akt_system_register_type(sys, &ping__descriptor), 0);
  assert_ptr_equal(akt_system_find_type(sys, "Ping"), &ping__descriptor);
  /* Another descriptor under a taken name is refused. */
  ProtobufCMessageDescriptor fake = pong__descriptor;
  fake.name = "Ping";
  assert_int_equal(akt_system_register_type(sys, &fake), AKT_EEXIST);
  assert_int_equal(akt_system_register_type(sys, NULL), AKT_EINVAL);
  /* Many types: the table grows. */
  const ProtobufCMessageDescriptor *all[] = {&pong__descriptor, &add__descriptor,
                                              &get__descriptor, &total__descriptor,
                                              &note__descriptor, &token__descriptor,
                                              &fail__descriptor, &cmd__descriptor,
                                              &inner__descriptor, &rich__descriptor};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    assert_int_equal(akt_system_register_type(sys, all[i]), 0);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    assert_ptr_equal(akt_system_find_type(sys, all[i]->name), all[i]);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(message_types_register_by_full_name),
    cmocka_unit_test(spawn_runs_pre_start_and_receives),
    cmocka_unit_test(duplicate_sibling_name_is_eexist),
    cmocka_unit_test(malformed_names_are_ename),
    cmocka_unit_test(anonymous_actors_get_generated_names),
    cmocka_unit_test(pid_paths_and_addresses),
    cmocka_unit_test(lookup_by_path_and_address),
    cmocka_unit_test(stopped_actor_name_is_free_again),
    cmocka_unit_test(children_are_spawned_under_their_parent),
    cmocka_unit_test(stats_count_spawns_and_messages),
    cmocka_unit_test(spawn_after_shutdown_is_estopped),
    cmocka_unit_test(system_names_are_validated),
};

AKT_TEST_MAIN_BOTH("actor/spawn", tests)
