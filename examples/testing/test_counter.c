/* test_counter.c — a first actor test: cmocka + probes, on virtual time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <akt/testkit.h>

#include "counter.h"
#include "messages.pb-c.h"

static void adds_up(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL); /* seed from AKT_SEED or a fixed default */
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
  akt_testkit_free(tk);
}

static void ignores_what_it_does_not_know(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Greet hello = GREET__INIT;
  akt_probe_tell(p, c, &hello.base);            /* unhandled: a dead letter */
  akt_probe_expect_no_msg(p, AKT_MILLIS(100));  /* and no answer */
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(adds_up),
      cmocka_unit_test(ignores_what_it_does_not_know),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
