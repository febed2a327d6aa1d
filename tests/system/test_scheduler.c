/* The system scheduler: messages sent later, once or repeatedly — on both
 * backends. */
#include "../support/actors.h"
#include "../support/both.h"

static int is_ping(const ProtobufCMessage *msg, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(msg, &ping__descriptor);
}

static void scheduled_messages_arrive_on_time(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping once = PING__INIT, every = PING__INIT;
  once.n = 1;
  every.n = 2;
  uint64_t id1 = 0, id2 = 0;
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(100), 0, akt_probe_pid(p), &once.base, &id1), 0);
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(30), AKT_MILLIS(30), akt_probe_pid(p),
                                &every.base, &id2), 0);
  assert_true(id1 && id2 && id1 != id2);
  int ones = 0, twos = 0;
  for (int i = 0; i < 4; i++) {
    const Ping *got = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, AKT_SECONDS(1));
    if (got->n == 1) ones++;
    else twos++;
  }
  assert_int_equal(ones, 1); /* at 100 ms, among the 30/60/90/120 ms ticks */
  assert_int_equal(twos, 3);
  assert_int_equal(akt_schedule_cancel(sys, id2), 0);
  assert_int_equal(akt_schedule_cancel(sys, id1), AKT_ENOENT); /* already sent */
  assert_int_equal(akt_schedule_cancel(sys, id2), AKT_ENOENT);
  /* A tick already on its way when canceled may still land (however late
   * a loaded machine makes it), but no more than that one. */
  akt_probe_clear(p);
  const ProtobufCMessage *late[2];
  assert_true(akt_probe_receive_while(p, is_ping, NULL, 2, AKT_MILLIS(100), late) <= 1);
  assert_int_equal(akt_schedule(sys, 0, 0, NULL, &once.base, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void scheduled_messages_end_with_the_system(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(10), AKT_MILLIS(10), c, &a.base, NULL), 0);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(10), 0, c, &a.base, NULL), AKT_ESTOPPED);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(scheduled_messages_arrive_on_time),
    cmocka_unit_test(scheduled_messages_end_with_the_system),
};

AKT_TEST_MAIN_BOTH("system/scheduler", tests)
