/* akt — the testkit object: systems on a simulated world or on libuv,
 * spawning, time, failures with replay hints. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "akt/transport.h"
#include "src/system/system.h"
#include "testkit/testkit_internal.h"

static uint64_t pick_seed(const akt_testkit_options *o) {
  if (o->use_seed) return o->seed;
  const char *env = getenv("AKT_SEED");
  if (env && *env) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(env, &end, 0);
    if (errno == 0 && *end == '\0') return (uint64_t)v;
    fprintf(stderr, "akt-testkit: ignoring malformed AKT_SEED=%s\n", env);
  }
  return AKT_TESTKIT_DEFAULT_SEED;
}

void akt_testkit_replay_hint(akt_testkit *tk, char *buf, size_t size) {
  snprintf(buf, size, "AKT_SEED=0x%" PRIx64 " %s --filter %s", tk->seed,
           program_invocation_name, tk->test);
}

/* What a failed assertion adds while a testkit runs on the thread: the
 * seed, the time and the command that replays the test. */
static void report(void *arg, FILE *f) {
  akt_testkit *tk = arg;
  char hint[512];
  akt_testkit_replay_hint(tk, hint, sizeof hint);
  uint64_t now = tk->world ? akt_sim_now(tk->world) : 0;
  fprintf(f, "akt-testkit: in test %s, seed=0x%" PRIx64 "%s t=%" PRIu64 ".%09" PRIu64
             "s (virtual)\n  replay: %s\n",
          tk->test, tk->seed, tk->world ? "," : " (libuv; time not shown)", now / 1000000000u,
          now % 1000000000u, hint);
}

/* What a failure report needs, copied so the testkit can be freed first. */
typedef struct fail_info {
  uint64_t seed, now;
  int simulated;
  char hint[512];
} fail_info;

static void fail_info_of(akt_testkit *tk, fail_info *fi) {
  fi->seed = tk->seed;
  fi->now = akt_testkit_now(tk);
  fi->simulated = tk->world != NULL;
  akt_testkit_replay_hint(tk, fi->hint, sizeof fi->hint);
}

static void fail_with(const fail_info *fi, const char *file, int line, const char *what)
    __attribute__((noreturn));
static void fail_with(const fail_info *fi, const char *file, int line, const char *what) {
  print_error("%s\n  at t=%" PRIu64 ".%09" PRIu64 "s (%s time), seed=0x%" PRIx64
              "\n  replay: %s\n",
              what, fi->now / 1000000000u, fi->now % 1000000000u,
              fi->simulated ? "virtual" : "real", fi->seed, fi->hint);
  _fail(file, line);
  abort(); /* _fail does not return inside a cmocka test */
}

void akt__testkit_fail(akt_testkit *tk, const char *file, int line, const char *what) {
  fail_info fi;
  fail_info_of(tk, &fi);
  fail_with(&fi, file, line, what);
}

static void fail_setup(const char *file, int line, const char *what, int rc) {
  print_error("akt-testkit: %s: %s\n", what, akt_strerror(rc));
  _fail(file, line);
  abort();
}

/* The libuv backend's own lines (its seed banner) follow the testkit's log
 * level like the systems' lines do. */
static void quiet_sink(akt_log_level level, const char *line, void *data) {
  akt_testkit *tk = data;
  akt_log_level min = tk->opts.log_level ? tk->opts.log_level : AKT_LOG_WARN;
  if (level >= min) fprintf(stderr, "akt: %s\n", line);
}

akt_testkit *akt__testkit_new(const akt_testkit_options *opts, const char *test, const char *file,
                              int line) {
  akt_testkit *tk = calloc(1, sizeof *tk);
  if (!tk) fail_setup(file, line, "allocating the testkit", AKT_ENOMEM);
  if (opts) tk->opts = *opts;
  if (!tk->opts.default_timeout) tk->opts.default_timeout = AKT_TESTKIT_DEFAULT_TIMEOUT;
  tk->nnodes = tk->opts.nodes ? tk->opts.nodes : 1;
  if (tk->nnodes > AKT_TESTKIT_MAX_NODES) fail_setup(file, line, "too many nodes", AKT_ELIMIT);
  snprintf(tk->test, sizeof tk->test, "%s", test ? test : "?");
  tk->seed = pick_seed(&tk->opts);

  int rc;
  if (tk->opts.backend == AKT_TESTKIT_UV) {
    akt_uv_options uo = {.workers = tk->opts.workers, .use_seed = 1, .seed = tk->seed,
                         .log_sink = quiet_sink, .log_data = tk};
    rc = akt_uv_backend_new(&uo, &tk->uv);
    if (rc) fail_setup(file, line, "starting the libuv backend", rc);
  } else {
    akt_sim_options so = {.seed = tk->seed, .trace_path = tk->opts.trace_path,
                          .fifo = tk->opts.fifo};
    rc = akt_sim_world_new(&so, &tk->world);
    if (rc) fail_setup(file, line, "creating the simulated world", rc);
  }
  for (unsigned i = 0; i < tk->nnodes; i++) {
    char name[32];
    snprintf(name, sizeof name, "node%u", i);
    if (tk->world) {
      rc = akt_sim_node_new(tk->world, name, &tk->backends[i]);
      if (rc) fail_setup(file, line, "adding a simulated node", rc);
    } else {
      tk->backends[i] = tk->uv;
    }
    akt_system_options so = tk->opts.system ? *tk->opts.system : (akt_system_options){0};
    if (tk->opts.log_level) so.log_level = tk->opts.log_level;
    if (!so.host && tk->world) so.host = name;
    rc = akt_system_new(name, tk->backends[i], &so, &tk->systems[i]);
    if (rc) fail_setup(file, line, "creating a system", rc);
  }
  akt__assert_reporter mine = {report, tk};
  akt__assert_set_reporter(&mine, &tk->prev_reporter);
  return tk;
}

void akt__testkit_free(akt_testkit *tk, const char *file, int line) {
  if (!tk) return;
  char running[1024] = "";
  size_t nrunning = 0;
  if (tk->opts.check_stopped) {
    for (size_t i = 0; i < tk->nspawned; i++) {
      if (!akt_pid_is_running(tk->spawned[i])) continue;
      size_t len = strlen(running);
      snprintf(running + len, sizeof running - len, "%s%s", nrunning ? ", " : "",
               akt_pid_path(tk->spawned[i]));
      nrunning++;
    }
  }
  int shutdown_rc = 0;
  for (unsigned i = 0; i < tk->nnodes; i++) {
    int rc = akt_system_shutdown(tk->systems[i], tk->opts.default_timeout * 4);
    if (rc && !shutdown_rc) shutdown_rc = rc;
  }
  char what[AKT_PROBE_FAILURE_MAX] = "";
  if (nrunning)
    snprintf(what, sizeof what, "akt-testkit: %zu spawned actor(s) still running at the end: %s",
             nrunning, running);
  else if (shutdown_rc)
    snprintf(what, sizeof what, "akt-testkit: shutdown did not finish: %s",
             akt_strerror(shutdown_rc));
  fail_info fi;
  fail_info_of(tk, &fi);
  for (akt_probe *p = tk->probes, *next; p; p = next) {
    next = p->next;
    akt__probe_free(p);
  }
  for (size_t i = 0; i < tk->nspawned; i++) akt_pid_release(tk->spawned[i]);
  free(tk->spawned);
  for (unsigned i = 0; i < tk->nnodes; i++) akt_system_free(tk->systems[i]);
  if (akt__assert_get_reporter().arg == tk) akt__assert_set_reporter(&tk->prev_reporter, NULL);
  akt_sim_world_free(tk->world);
  akt_uv_backend_free(tk->uv);
  free(tk);
  /* Reported after freeing, so a failing check leaks nothing. */
  if (*what) fail_with(&fi, file, line, what);
}

akt_system *akt_testkit_system(akt_testkit *tk) { return tk->systems[0]; }

akt_system *akt_testkit_node(akt_testkit *tk, unsigned i) {
  return i < tk->nnodes ? tk->systems[i] : NULL;
}

akt_sim_world *akt_testkit_world(akt_testkit *tk) { return tk->world; }
uint64_t akt_testkit_seed(akt_testkit *tk) { return tk->seed; }
akt_testkit_backend akt_testkit_backend_kind(akt_testkit *tk) {
  return tk->world ? AKT_TESTKIT_SIM : AKT_TESTKIT_UV;
}

uint64_t akt_testkit_now(akt_testkit *tk) {
  return tk->backends[0]->ops->now(tk->backends[0]);
}

uint64_t akt__testkit_deadline(akt_testkit *tk, akt_duration timeout) {
  if (timeout == AKT_PROBE_DEFAULT_TIMEOUT) timeout = tk->opts.default_timeout;
  uint64_t now = akt_testkit_now(tk);
  return timeout >= AKT_FOREVER - now ? AKT_FOREVER : now + timeout;
}

int akt__testkit_wait(akt_testkit *tk, unsigned node, int (*ready)(void *), void *arg,
                      uint64_t deadline) {
  akt_backend *b = tk->backends[node];
  return b->ops->wait(b, ready, arg, deadline);
}

akt_pid *akt__testkit_spawn(akt_testkit *tk, const char *name, const akt_actor_def *def,
                            const akt_spawn_opts *opts, const char *file, int line) {
  if (tk->nspawned == tk->capspawned) {
    size_t cap = tk->capspawned ? tk->capspawned * 2 : 16;
    akt_pid **np = realloc(tk->spawned, cap * sizeof *np);
    if (!np) akt__testkit_fail(tk, file, line, "akt-testkit: out of memory");
    tk->spawned = np;
    tk->capspawned = cap;
  }
  akt_pid *pid = NULL;
  int rc = akt_spawn(tk->systems[0], name, def, opts, &pid);
  if (rc) {
    char what[256];
    snprintf(what, sizeof what, "akt_testkit_spawn(\"%s\", %s) failed: %s (%s)",
             name ? name : "(anonymous)", def && def->kind ? def->kind : "?", akt_strerror(rc),
             akt_errname(rc));
    akt__testkit_fail(tk, file, line, what);
  }
  tk->spawned[tk->nspawned++] = pid;
  return pid;
}

static int never(void *arg) {
  (void)arg;
  return 0;
}

void akt_testkit_advance(akt_testkit *tk, akt_duration d) {
  uint64_t now = akt_testkit_now(tk);
  uint64_t deadline = d >= AKT_FOREVER - now ? AKT_FOREVER : now + d;
  akt__testkit_wait(tk, 0, never, NULL, deadline);
}

static int no_turns(void *arg) {
  akt_testkit *tk = arg;
  for (unsigned i = 0; i < tk->nnodes; i++)
    if (atomic_load_explicit(&tk->systems[i]->turns, memory_order_acquire) != 0) return 0;
  return 1;
}

int akt_testkit_run_until_idle(akt_testkit *tk) {
  if (tk->world) return akt_sim_run_until(tk->world, no_turns, tk, AKT_FOREVER) == 0 ? 0 : AKT_ELIMIT;
  /* Real time: turns end on worker threads without waking us, so look
   * again every millisecond until the deadline. */
  uint64_t deadline = akt__testkit_deadline(tk, AKT_PROBE_DEFAULT_TIMEOUT);
  while (!no_turns(tk)) {
    if (akt_testkit_now(tk) >= deadline) return AKT_ETIMEDOUT;
    uint64_t now = akt_testkit_now(tk);
    akt__testkit_wait(tk, 0, never, NULL, now + AKT_MILLIS(1));
  }
  return 0;
}

int akt_testkit_parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
      cmocka_set_test_filter(argv[++i]);
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: %s [--filter PATTERN]\n"
             "  --filter PATTERN  run only the tests whose name matches (* and ? wildcards)\n"
             "environment:\n"
             "  AKT_SEED=N        seed for simulated tests (decimal or 0x hex)\n",
             argv[0]);
      return 1;
    } else {
      fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", argv[0], argv[i]);
      return AKT_EINVAL;
    }
  }
  return 0;
}
