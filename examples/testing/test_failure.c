/* test_failure.c — testing a failure: the failing actor and who watches it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <akt/actor.pb-c.h>
#include <akt/testkit.h>

#include "messages.pb-c.h"

/* An account refuses negative deposits by failing: receive returns an
 * error code, and the actor's supervisor decides what happens next. */
#define ACCOUNT_ENEGATIVE (AKT_EUSER_BASE - 1)

typedef struct {
  int64_t balance;
} account_state;

static int account_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  account_state *s = akt_ctx_state(ctx);
  if (!akt_msg_is(msg, &deposit__descriptor)) return AKT_EUNHANDLED;
  int64_t amount = ((const Deposit *)msg)->amount;
  if (amount < 0) return ACCOUNT_ENEGATIVE;
  s->balance += amount;
  return 0;
}

static const akt_actor_def account_def = {
    .kind = "account", .state_size = sizeof(account_state), .receive = account_receive};

static void a_negative_deposit_fails_the_account(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *acct = akt_testkit_spawn(tk, "acct", &account_def);
  akt_probe_watch(p, acct);

  Deposit d = DEPOSIT__INIT;
  d.amount = 10;
  akt_probe_tell(p, acct, &d.base);
  akt_probe_expect_no_msg(p, AKT_MILLIS(10)); /* a good deposit: nothing to see */

  d.amount = -5;
  akt_probe_tell(p, acct, &d.base);
  /* Without a supervisor strategy, a failure stops the actor. */
  akt_probe_expect_terminated(p, acct, AKT_SECONDS(1));
  akt_system_stats stats;
  akt_system_get_stats(akt_testkit_system(tk), &stats);
  assert_int_equal(stats.failures, 1);
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_negative_deposit_fails_the_account),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
