/* test_failure.c — testing a failure and its supervisor. */
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
  if (akt_msg_is(msg, &deposit__descriptor)) {
    int64_t amount = ((const Deposit *)msg)->amount;
    if (amount < 0) return ACCOUNT_ENEGATIVE;
    s->balance += amount;
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = s->balance;
    return akt_reply(ctx, &t.base);
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def account_def = {
    .kind = "account", .state_size = sizeof(account_state), .receive = account_receive};

static int64_t balance(akt_probe *p, akt_pid *acct) {
  Get g = GET__INIT;
  akt_probe_tell(p, acct, &g.base);
  return ((const Total *)akt_probe_expect_msg(p, &total__descriptor, 0))->value;
}

static void a_failed_account_restarts_with_a_fresh_balance(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *acct = akt_testkit_spawn(tk, "acct", &account_def);
  akt_probe_watch(p, acct);

  Deposit d = DEPOSIT__INIT;
  d.amount = 10;
  akt_probe_tell(p, acct, &d.base);
  assert_int_equal(balance(p, acct), 10);

  d.amount = -5;
  akt_probe_tell(p, acct, &d.base);
  /* The default supervisor restarts it: same PID, fresh state, no Terminated. */
  assert_int_equal(balance(p, acct), 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(100));
  akt_actor_metrics m;
  akt_actor_get_metrics(acct, &m);
  assert_int_equal(m.restarts, 1);
  akt_testkit_free(tk);
}

/* A bank supervises its account: a negative deposit stops the account. */
static akt_directive bank_decider(const akt_failure *f, void *arg) {
  (void)arg;
  return f->code == ACCOUNT_ENEGATIVE ? AKT_DIRECTIVE_STOP : AKT_DIRECTIVE_RESTART;
}

static const akt_supervisor bank_supervisor = {.decider = bank_decider};

static int bank_pre_start(akt_ctx *ctx) {
  return akt_spawn_child(ctx, "acct", &account_def, NULL, NULL);
}

static int bank_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

static const akt_actor_def bank_def = {
    .kind = "bank", .pre_start = bank_pre_start, .receive = bank_receive};

static void the_bank_stops_an_account_that_fails(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts opts = {.supervisor = &bank_supervisor};
  akt_testkit_spawn_opts(tk, "bank", &bank_def, &opts);
  akt_testkit_run_until_idle(tk); /* let pre_start spawn the account */
  akt_pid *acct = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/bank/acct", &acct), 0);
  akt_probe_watch(p, acct);

  Deposit d = DEPOSIT__INIT;
  d.amount = -5;
  akt_probe_tell(p, acct, &d.base);
  akt_probe_expect_terminated(p, acct, AKT_SECONDS(1));
  akt_pid_release(acct);
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_failed_account_restarts_with_a_fresh_balance),
      cmocka_unit_test(the_bank_stops_an_account_that_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
