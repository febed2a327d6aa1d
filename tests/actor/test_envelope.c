/* Envelopes: the layout a tell relies on (header and small message in one
 * cache line, the meta beside it) and when each meta field is valid. */
#include "../support/both.h"
#include "src/actor/envelope.h"
#include "test.pb-c.h"

/* Packed bytes of m, for comparing a copy with its original. */
static size_t packed(const ProtobufCMessage *m, uint8_t *buf, size_t cap) {
  size_t n = protobuf_c_message_get_packed_size(m);
  assert_true(n <= cap);
  protobuf_c_message_pack(m, buf);
  return n;
}

static void a_small_message_shares_the_headers_cache_line(void **state) {
  (void)state;
  Ping ping = PING__INIT;
  ping.n = 42;
  assert_true(sizeof ping <= 32);
  akt__env *env;
  assert_int_equal(akt__env_new_msg(NULL, &ping.base, &env), 0);
  assert_int_equal((uintptr_t)env % 64, 0);
  assert_ptr_equal(env->msg, (const ProtobufCMessage *)env->payload);
  assert_int_equal(((const Ping *)env->msg)->n, 42);
  /* The meta starts on the next line: a plain tell never touches it. */
  assert_int_equal(env->meta_off, 64);
  assert_int_equal(env->flags, 0);
  assert_null(env->sender);
  /* Not a request, reply or traced message: corr and hash read as 0,
   * whatever the meta holds. */
  akt__meta_of(env)->corr = 7;
  akt__meta_of(env)->hash = 9;
  assert_int_equal(akt__env_corr(env), 0);
  assert_int_equal(akt__env_hash(env), 0);
  akt__env_free(env);
}

static void a_larger_message_keeps_its_meta_after_the_copy(void **state) {
  (void)state;
  Cmd cmd = CMD__INIT;
  cmd.op = "a string long enough to need more than one cache line of copy";
  cmd.arg = "and another";
  cmd.n = -3;
  akt__env *env;
  assert_int_equal(akt__env_new_msg(NULL, &cmd.base, &env), 0);
  assert_int_equal((uintptr_t)env % 64, 0);
  assert_true(env->meta_off >= 64 && env->meta_off % 16 == 0);
  /* Filling the meta leaves the copy intact. */
  memset(akt__meta_of(env), 0xff, sizeof(akt__env_meta));
  uint8_t a[256], b[256];
  size_t na = packed(&cmd.base, a, sizeof a), nb = packed(env->msg, b, sizeof b);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  akt__env_free(env);
}

static void request_and_reply_flags_carry_the_correlation_id(void **state) {
  (void)state;
  Ping ping = PING__INIT;
  akt__env *req, *timer;
  assert_int_equal(akt__env_new_msg(NULL, &ping.base, &req), 0);
  akt__env_add_flags(req, AKT__ENV_REQUEST, 1234);
  assert_int_equal(akt__env_corr(req), 1234);
  assert_true(req->flags & AKT__ENV_REQUEST);
  /* Other flags add to those and leave the id alone. */
  akt__env_add_flags(req, AKT__ENV_REDELIVERED, 99);
  assert_int_equal(akt__env_corr(req), 1234);
  assert_true(req->flags & AKT__ENV_REDELIVERED);
  assert_int_equal(akt__env_new_msg(NULL, &ping.base, &timer), 0);
  akt__env_add_flags(timer, AKT__ENV_TIMER, 55);
  assert_int_equal(akt__env_corr(timer), 0);
  akt__env_free(req);
  akt__env_free(timer);
}

static void a_system_message_is_one_line_with_a_zeroed_meta(void **state) {
  (void)state;
  akt__env *env = akt__env_new_sys(AKT__SYS_RESTART, 77);
  assert_non_null(env);
  assert_int_equal(env->sys, AKT__SYS_RESTART);
  assert_null(env->msg);
  assert_int_equal(env->meta_off, sizeof(akt__env));
  assert_int_equal(env->pool_class, 0); /* 64 bytes */
  assert_int_equal(akt__meta_of(env)->arg, 77);
  assert_int_equal(akt__meta_of(env)->corr, 0);
  assert_null(akt__meta_of(env)->ref);
  akt__env_free(env);
}

/* On the simulator every system traces: each envelope carries the hash of
 * its message, which the trace records. */
static void a_traced_system_hashes_each_message(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.backend = AKT_TESTKIT_SIM});
  Ping ping = PING__INIT;
  ping.n = 5;
  akt__env *env;
  assert_int_equal(akt__env_new_msg(akt_testkit_system(tk), &ping.base, &env), 0);
  assert_true(env->flags & AKT__ENV_HASHED);
  assert_int_equal(akt__env_hash(env), akt__msg_hash(&ping.base));
  assert_int_not_equal(akt__env_hash(env), 0);
  /* A timer's flag keeps the hash. */
  akt__env_add_flags(env, AKT__ENV_TIMER, 0);
  assert_int_equal(akt__env_hash(env), akt__msg_hash(&ping.base));
  akt__env_free(env);
  akt_testkit_free(tk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_small_message_shares_the_headers_cache_line),
      cmocka_unit_test(a_larger_message_keeps_its_meta_after_the_copy),
      cmocka_unit_test(request_and_reply_flags_carry_the_correlation_id),
      cmocka_unit_test(a_system_message_is_one_line_with_a_zeroed_meta),
      cmocka_unit_test(a_traced_system_hashes_each_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
