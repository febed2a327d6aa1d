/* Logging: a user sink, structured fields, an actor's lines — on both
 * backends. */
#include <pthread.h>
#include <stdio.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../actor/probe_tell.h"

typedef struct captured {
  pthread_mutex_t mu;
  char lines[8][256];
  int n;
} captured;

static void capture(akt_log_level level, const char *line, void *data) {
  captured *c = data;
  pthread_mutex_lock(&c->mu);
  if (c->n < 8) snprintf(c->lines[c->n++], sizeof c->lines[0], "%d %s", (int)level, line);
  pthread_mutex_unlock(&c->mu);
}

static int chatty_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  akt_ctx_log(ctx, AKT_LOG_INFO, "got %d", 42);
  akt_ctx_log(ctx, AKT_LOG_DEBUG, "too quiet to show");
  return akt_reply(ctx, msg);
}

static const akt_actor_def chatty_def = {.kind = "chatty", .receive = chatty_receive};

static void logs_go_to_a_user_sink_with_fields(void **state) {
  (void)state;
  static captured cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
  cap.n = 0;
  akt_system_options so = {.log_sink = capture, .log_data = &cap, .log_level = AKT_LOG_INFO};
  akt_testkit *tk = TK_NEW(.system = &so, .log_level = AKT_LOG_INFO);
  akt_system *sys = akt_testkit_system(tk);
  akt_log_field fields[] = {{"user", "ada"}, {"note", "two words"}, {"q", "say \"hi\""}};
  akt_log_fields(sys, AKT_LOG_WARN, "login", fields, 3);
  akt_log(sys, AKT_LOG_DEBUG, "hidden");
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "chatty", &chatty_def);
  ping_n(p, c, 1);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  pthread_mutex_lock(&cap.mu);
  assert_int_equal(cap.n, 2);
  assert_string_equal(cap.lines[0], "4 login user=ada note=\"two words\" q=\"say \\\"hi\\\"\"");
  assert_string_equal(cap.lines[1], "3 got 42 actor=/user/chatty");
  pthread_mutex_unlock(&cap.mu);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(logs_go_to_a_user_sink_with_fields),
};

AKT_TEST_MAIN_BOTH("system/log", tests)
