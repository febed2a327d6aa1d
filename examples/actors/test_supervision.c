/* test_supervision.c — supervisors, watch, kill, restart, respawn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <akt/actor.pb-c.h>
#include <akt/testkit.h>

#include "messages.pb-c.h"

/* A worker counts Work; Work{fail_with} makes it fail with that code. */
typedef struct {
  int64_t done;
} worker_state;

static int worker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  worker_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &work__descriptor)) {
    const Work *w = (const Work *)msg;
    if (w->fail_with) return w->fail_with; /* a failure: the supervisor decides */
    s->done++;
    return 0;
  }
  if (akt_msg_is(msg, &count__descriptor)) {
    Counted c = COUNTED__INIT;
    c.n = s->done;
    return akt_reply(ctx, &c.base);
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def worker_def = {
    .kind = "worker", .state_size = sizeof(worker_state), .receive = worker_receive};

/* The team lead's supervisor: a transient error resumes the worker, a
 * corrupt state restarts it (at most 3 times a minute, waiting 100 ms,
 * then 200 ms...), anything else stops it. */
#define ERR_TRANSIENT (AKT_EUSER_BASE - 1)
#define ERR_CORRUPT (AKT_EUSER_BASE - 2)

static akt_directive lead_decider(const akt_failure *f, void *arg) {
  (void)arg;
  if (f->code == ERR_TRANSIENT) return AKT_DIRECTIVE_RESUME;
  if (f->code == ERR_CORRUPT) return AKT_DIRECTIVE_RESTART;
  return AKT_DIRECTIVE_STOP;
}

static const akt_supervisor lead_supervisor = {
    .strategy = AKT_ONE_FOR_ONE,
    .decider = lead_decider,
    .max_restarts = 3,
    .within = AKT_SECONDS(60),
    .backoff_min = AKT_MILLIS(100),
    .backoff_max = AKT_SECONDS(5),
    .jitter_percent = 10,
};

static int lead_pre_start(akt_ctx *ctx) {
  return akt_spawn_child(ctx, "worker", &worker_def, NULL, NULL);
}

static int lead_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return AKT_EUNHANDLED;
}

static const akt_actor_def lead_def = {
    .kind = "lead", .pre_start = lead_pre_start, .receive = lead_receive};

static int64_t done_by(akt_pid *worker) {
  Count q = COUNT__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(worker, &q.base, AKT_SECONDS(1), &reply), 0);
  int64_t n = ((Counted *)reply)->n;
  akt_msg_free(reply);
  return n;
}

static void the_lead_supervises_its_worker(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_spawn_opts opts = {.supervisor = &lead_supervisor};
  akt_testkit_spawn_opts(tk, "lead", &lead_def, &opts);
  akt_testkit_run_until_idle(tk);
  akt_pid *worker = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/lead/worker", &worker), 0);

  Work ok = WORK__INIT, transient = WORK__INIT, corrupt = WORK__INIT;
  transient.fail_with = ERR_TRANSIENT;
  corrupt.fail_with = ERR_CORRUPT;
  akt_tell(worker, &ok.base);
  akt_tell(worker, &transient.base); /* resumed: the count survives */
  akt_tell(worker, &ok.base);
  assert_int_equal(done_by(worker), 2);
  akt_tell(worker, &corrupt.base);   /* restarted after 100 ms: fresh state */
  akt_testkit_advance(tk, AKT_MILLIS(200));
  assert_int_equal(done_by(worker), 0);
  akt_pid_release(worker);
  akt_testkit_free(tk);
}

/* An actor that watches another gets akt.Terminated when it ends. */
static void watching_and_killing(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *w = akt_testkit_spawn(tk, "w", &worker_def);
  akt_probe_watch(p, w);
  akt_kill(w); /* a failure (AKT_EKILLED): the default supervisor stops it */
  akt_probe_expect_terminated(p, w, AKT_SECONDS(1));

  /* A terminated actor can be spawned again at its path: a new PID. */
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(w, &again), 0);
  assert_string_equal(akt_pid_path(again), "/user/w");
  assert_false(akt_pid_equal(again, w));

  /* And a running one restarted in place: same PID, fresh state. */
  Work ok = WORK__INIT;
  akt_tell(again, &ok.base);
  assert_int_equal(done_by(again), 1);
  akt_restart(again);
  assert_int_equal(done_by(again), 0);
  akt_pid_release(again);
  akt_testkit_free(tk);
}

int main(int argc, char **argv) {
  if (akt_testkit_parse_args(argc, argv)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_lead_supervises_its_worker),
      cmocka_unit_test(watching_and_killing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
