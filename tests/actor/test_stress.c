/* Supervision under random failures: a tree of depth 3 on the simulator,
 * driven by a seeded stream of Pings and failures, on 50 seeds. The run's
 * trace is the oracle:
 *   - every failure gets exactly the directive its supervisor's decider
 *     gives for its code (or none, when its parent is already stopping and
 *     the failed actor stops with it);
 *   - each directive has its effect: restart → the actor restarts, stop →
 *     it stops, resume → it resumes, escalate → its parent fails with the
 *     same code;
 *   - no message is delivered to an actor after it stopped (also checked
 *     from inside the actors).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "../support/both.h"
#include "src/util/rng.h"
#include "test.pb-c.h"

#define CODE_RESUME (AKT_EUSER_BASE - 1)
#define CODE_RESTART (AKT_EUSER_BASE - 2)
#define CODE_STOP (AKT_EUSER_BASE - 3)
#define CODE_ESCALATE (AKT_EUSER_BASE - 4)
#define SEEDS 50
#define STEPS 300
#define MAX_IDS 100000

static akt_directive expected_for(int code) {
  switch (code) {
    case CODE_RESUME: return AKT_DIRECTIVE_RESUME;
    case CODE_STOP: return AKT_DIRECTIVE_STOP;
    case CODE_ESCALATE: return AKT_DIRECTIVE_ESCALATE;
    default: return AKT_DIRECTIVE_RESTART;
  }
}

static int decisions;

static akt_directive by_code(const akt_failure *f, void *arg) {
  (void)arg;
  decisions++;
  return expected_for(f->code);
}

static const akt_supervisor sup = {.decider = by_code};

/* Actors mark themselves stopped in post_stop; receive checks the mark. */
static unsigned char stopped[MAX_IDS];
static int violations;

static const akt_actor_def node_def;

static int node_pre_start(akt_ctx *ctx) {
  intptr_t depth = (intptr_t)akt_ctx_arg(ctx);
  if (depth >= 2) return 0;
  akt_spawn_opts o = {.arg = (void *)(depth + 1), .supervisor = &sup};
  for (int i = 0; i < 3; i++) {
    char name[8];
    snprintf(name, sizeof name, "%c%d", depth == 0 ? 'm' : 'l', i);
    int rc = akt_spawn_child(ctx, name, &node_def, &o, NULL);
    if (rc) return rc;
  }
  return 0;
}

static int node_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  uint64_t id = akt_pid_id(akt_ctx_self(ctx));
  if (id < MAX_IDS && stopped[id]) violations++;
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  int64_t *count = akt_ctx_state(ctx);
  (*count)++;
  return 0;
}

static void node_post_stop(akt_ctx *ctx) {
  uint64_t id = akt_pid_id(akt_ctx_self(ctx));
  if (id < MAX_IDS) stopped[id] = 1;
}

/* A restart is not a stop: the actor goes on under the same PID. */
static void node_pre_restart(akt_ctx *ctx, int cause) {
  (void)ctx;
  (void)cause;
}

static const akt_actor_def node_def = {.kind = "node",
                                       .state_size = sizeof(int64_t),
                                       .pre_start = node_pre_start,
                                       .receive = node_receive,
                                       .post_stop = node_post_stop,
                                       .pre_restart = node_pre_restart};

/* ---- the trace ----------------------------------------------------------------- */

typedef struct rec {
  char kind[16];
  uint64_t a, p;
  int64_t c;
  char type[64], text[64];
} rec;

static rec *read_trace(const char *path, size_t *n) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t cap = 4096, len = 0;
  rec *out = malloc(cap * sizeof *out);
  char line[2048];
  while (fgets(line, sizeof line, f)) {
    rec r;
    char time[32], node[64];
    unsigned long long a, p, h;
    long long c;
    if (sscanf(line, "%31s %63s %15s a=%llu p=%llu c=%lld h=%llx t=%63s x=%63s", time, node,
               r.kind, &a, &p, &c, &h, r.type, r.text) != 9)
      continue;
    r.a = a;
    r.p = p;
    r.c = c;
    if (len == cap) out = realloc(out, (cap *= 2) * sizeof *out);
    out[len++] = r;
  }
  fclose(f);
  *n = len;
  return out;
}

static int is(const rec *r, const char *kind) { return strcmp(r->kind, kind) == 0; }

/* Checks the invariants over one run's records; returns the number of
 * failures seen. */
static size_t check_trace(const rec *t, size_t n, uint64_t seed) {
  size_t fails = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is(&t[i], "fail")) continue;
    fails++;
    uint64_t x = t[i].a;
    int code = (int)t[i].c;
    /* The next lifecycle record about x answers this failure. */
    size_t k = i + 1;
    while (k < n && !((is(&t[k], "directive") || is(&t[k], "stop") || is(&t[k], "fail")) &&
                      t[k].a == x))
      k++;
    if (k == n) {
      print_error("seed %" PRIu64 ": failure of actor %" PRIu64 " got no answer\n", seed, x);
      fail();
    }
    if (is(&t[k], "stop")) continue; /* its parent was stopping: it stops too */
    if (is(&t[k], "fail")) {
      print_error("seed %" PRIu64 ": actor %" PRIu64 " failed again before a directive\n", seed, x);
      fail();
    }
    /* t[k] is the directive. The /user guardian uses the default decider. */
    akt_directive want = expected_for(code);
    if (t[k].p == 2) want = AKT_DIRECTIVE_RESTART;
    if (t[k].c != (int64_t)want) {
      print_error("seed %" PRIu64 ": actor %" PRIu64 " failed with %d and got directive %" PRId64
                  ", wanted %d\n", seed, x, code, t[k].c, (int)want);
      fail();
    }
    uint64_t parent = t[k].p;
    /* Its effect. */
    const char *effect = want == AKT_DIRECTIVE_RESTART ? "restart"
                         : want == AKT_DIRECTIVE_STOP  ? "stop"
                         : want == AKT_DIRECTIVE_RESUME ? "resume"
                                                        : "fail";
    uint64_t who = want == AKT_DIRECTIVE_ESCALATE ? parent : x;
    size_t e = k + 1;
    int seen = 0;
    for (; e < n; e++) {
      if (t[e].a != who) continue;
      if (is(&t[e], effect) && (want != AKT_DIRECTIVE_ESCALATE || t[e].c == code)) {
        seen = 1;
        break;
      }
      if (is(&t[e], "stop")) {
        seen = 1; /* overtaken by a stop from above */
        break;
      }
    }
    if (!seen) {
      print_error("seed %" PRIu64 ": directive %s for actor %" PRIu64 " had no effect\n", seed,
                  t[k].type, x);
      fail();
    }
  }
  /* Nothing is delivered to an actor once it stopped. */
  for (size_t i = 0; i < n; i++) {
    if (!is(&t[i], "stop")) continue;
    for (size_t k = i + 1; k < n; k++) {
      if (is(&t[k], "deliver") && t[k].a == t[i].a) {
        print_error("seed %" PRIu64 ": actor %" PRIu64 " got a message after it stopped\n", seed,
                    t[i].a);
        fail();
      }
    }
  }
  return fails;
}

/* ---- the run ------------------------------------------------------------------- */

static void run_seed(uint64_t seed) {
  char path[] = "/tmp/akt-stress-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  memset(stopped, 0, sizeof stopped);
  violations = 0;
  decisions = 0;
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){
      .use_seed = 1, .seed = seed, .trace_path = path, .log_level = AKT_LOG_OFF});
  akt_system *sys = akt_testkit_system(tk);
  akt_spawn_opts o = {.arg = (void *)0, .supervisor = &sup};
  akt_testkit_spawn_opts(tk, "top", &node_def, &o);
  akt__rng drive;
  akt__rng_seed(&drive, akt__rng_derive(seed, "stress-driver"));
  static const int codes[] = {CODE_RESUME, CODE_RESTART, CODE_STOP, CODE_ESCALATE};
  for (int step = 0; step < STEPS; step++) {
    char target[64];
    uint64_t depth = akt__rng_below(&drive, 3);
    int m = (int)akt__rng_below(&drive, 3), l = (int)akt__rng_below(&drive, 3);
    if (depth == 0) snprintf(target, sizeof target, "/user/top");
    if (depth == 1) snprintf(target, sizeof target, "/user/top/m%d", m);
    if (depth == 2) snprintf(target, sizeof target, "/user/top/m%d/l%d", m, l);
    akt_pid *pid = NULL;
    if (akt_lookup(sys, target, &pid) == 0) {
      if (akt__rng_below(&drive, 100) < 15) {
        Fail f = FAIL__INIT;
        /* Escalations and stops near the top are rarer, so the tree lives on. */
        f.code = codes[akt__rng_below(&drive, depth == 0 ? 2 : 4)];
        akt_tell(pid, &f.base);
      } else {
        Ping p = PING__INIT;
        akt_tell(pid, &p.base);
      }
      akt_pid_release(pid);
    }
    akt_testkit_advance(tk, AKT_MICROS(akt__rng_below(&drive, 2000)));
  }
  akt_testkit_advance(tk, AKT_SECONDS(1));
  akt_system_stats st;
  akt_system_get_stats(sys, &st);
  akt_testkit_free(tk);

  size_t n;
  rec *t = read_trace(path, &n);
  unlink(path);
  size_t fails = check_trace(t, n, seed);
  free(t);
  assert_int_equal(fails, st.failures);
  assert_true(fails > 0);
  assert_int_equal(violations, 0);
}

static void every_failure_gets_its_directive_on_50_seeds(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= SEEDS; seed++) run_seed(seed);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_failure_gets_its_directive_on_50_seeds),
};

AKT_TEST_MAIN("actor/stress", tests)
