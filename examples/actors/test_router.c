/* test_router.c — a pool of workers behind one PID (akt/router.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <akt/router.h>
#include <akt/testkit.h>

#include "messages.pb-c.h"

/* A worker answers a Job with its name, which its router gave it: r0, r1... */
static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &job__descriptor)) return AKT_EUNHANDLED;
  Done done = DONE__INIT;
  done.worker = (char *)akt_pid_name(akt_ctx_self(ctx));
  return akt_reply(ctx, &done.base); /* to the asker: the router forwarded the Job */
}
static const akt_actor_def worker_def = {.kind = "worker", .receive = worker_receive};

/* Consistent hashing routes on a key: here the Job's `key` field. */
static int job_key(const ProtobufCMessage *msg, void *arg, const void **key, size_t *len) {
  (void)arg;
  if (!akt_msg_is(msg, &job__descriptor)) return -1;
  *key = ((const Job *)msg)->key;
  *len = strlen(((const Job *)msg)->key);
  return 0;
}

/* Asks the pool to do a Job and checks which worker did it. */
static void expect_worker(akt_pid *pool, const char *key, const char *worker) {
  Job job = JOB__INIT;
  job.key = (char *)key;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(pool, &job.base, AKT_SECONDS(1), &reply), 0);
  assert_string_equal(((const Done *)reply)->worker, worker);
  akt_msg_free(reply);
}

static void round_robin_takes_turns(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_router_opts opts = {.routing = AKT_ROUTE_ROUND_ROBIN, .routee = &worker_def, .size = 3};
  akt_pid *pool;
  assert_int_equal(akt_spawn_router(akt_testkit_system(tk), "pool", &opts, &pool), 0);
  const char *turns[] = {"r0", "r1", "r2", "r0", "r1"};
  for (int i = 0; i < 5; i++) expect_worker(pool, "", turns[i]);
  akt_pid_release(pool);
  akt_testkit_free(tk);
}

static void consistent_hash_keeps_a_key_on_one_worker(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_router_opts opts = {.routing = AKT_ROUTE_CONSISTENT_HASH, .routee = &worker_def,
                          .size = 4, .key = job_key};
  akt_pid *pool;
  assert_int_equal(akt_spawn_router(akt_testkit_system(tk), "pool", &opts, &pool), 0);
  for (int i = 0; i < 3; i++) expect_worker(pool, "alice", "r1"); /* always the same one */
  akt_pid_release(pool);
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_robin_takes_turns),
      cmocka_unit_test(consistent_hash_keeps_a_key_on_one_worker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
