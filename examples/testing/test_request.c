/* test_request.c — testing request/reply: the probe plays the other actor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <akt/testkit.h>

#include "messages.pb-c.h"

/* The greeter asks a directory (its spawn arg) for a person's title, then
 * answers whoever sent Greet. If the directory is silent for 2 s it greets
 * a stranger. */
typedef struct {
  akt_pid *client;
  char name[64];
} greeter_state;

static int on_entry(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  greeter_state *s = akt_ctx_state(ctx);
  char text[160];
  if (status == 0)
    snprintf(text, sizeof text, "Hello, %s %s", ((const Entry *)reply)->title, s->name);
  else
    snprintf(text, sizeof text, "Hello, stranger"); /* AKT_ETIMEDOUT */
  Greeting g = GREETING__INIT;
  g.text = text;
  int rc = akt_send(ctx, s->client, &g.base);
  akt_pid_release(s->client);
  s->client = NULL;
  return rc;
}

static int greeter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  greeter_state *s = akt_ctx_state(ctx);
  if (!akt_msg_is(msg, &greet__descriptor)) return AKT_EUNHANDLED;
  snprintf(s->name, sizeof s->name, "%s", ((const Greet *)msg)->name);
  s->client = akt_pid_retain(akt_ctx_sender(ctx));
  Lookup q = LOOKUP__INIT;
  q.name = s->name;
  akt_pid *directory = (akt_pid *)akt_ctx_arg(ctx);
  return akt_request(ctx, directory, &q.base, AKT_SECONDS(2), on_entry, NULL);
}

static const akt_actor_def greeter_def = {
    .kind = "greeter", .state_size = sizeof(greeter_state), .receive = greeter_receive};

static void greets_with_the_title_from_the_directory(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *client = akt_probe_new(tk, "client");
  akt_probe *directory = akt_probe_new(tk, "directory");
  akt_spawn_opts opts = {.arg = akt_probe_pid(directory)};
  akt_pid *greeter = akt_testkit_spawn_opts(tk, "greeter", &greeter_def, &opts);

  Greet g = GREET__INIT;
  g.name = "Smith";
  akt_probe_tell(client, greeter, &g.base);

  /* The directory probe gets the request and answers it. */
  const Lookup *q = (const Lookup *)akt_probe_expect_msg(directory, &lookup__descriptor, 0);
  assert_string_equal(q->name, "Smith");
  Entry e = ENTRY__INIT;
  e.title = "Dr.";
  akt_probe_reply(directory, &e.base);

  Greeting want = GREETING__INIT;
  want.text = "Hello, Dr. Smith";
  akt_probe_expect_equal(client, &want.base, 0);
  akt_testkit_free(tk);
}

static void greets_a_stranger_when_the_directory_is_silent(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *client = akt_probe_new(tk, "client");
  akt_probe *directory = akt_probe_new(tk, "directory");
  akt_spawn_opts opts = {.arg = akt_probe_pid(directory)};
  akt_pid *greeter = akt_testkit_spawn_opts(tk, "greeter", &greeter_def, &opts);

  Greet g = GREET__INIT;
  g.name = "Jones";
  akt_probe_tell(client, greeter, &g.base);
  akt_probe_expect_msg(directory, &lookup__descriptor, 0); /* and never answer */

  /* The request times out after 2 virtual seconds: not before, not much after. */
  const Greeting *got = (const Greeting *)akt_probe_expect_within(
      client, &greeting__descriptor, AKT_MILLIS(1900), AKT_MILLIS(2100));
  assert_string_equal(got->text, "Hello, stranger");
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(greets_with_the_title_from_the_directory),
      cmocka_unit_test(greets_a_stranger_when_the_directory_is_silent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
