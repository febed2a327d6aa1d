/* akt — runs in child processes. */
#include "sim/scenario/job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include "akt/error.h"
#include "sim/scenario/cli.h"

int akt__job_start(akt__job *job, const akt__scn_spec *spec, const akt_workload *wl,
                   uint64_t seed, const akt__plan *plan, const akt__run_opts *o) {
  int fds[2];
  if (pipe(fds) != 0) return AKT_EBACKEND;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return AKT_EBACKEND;
  }
  if (pid == 0) {
    close(fds[0]);
    akt__run_result r;
    akt__plan own = {0};
    int rc = plan ? 0 : akt__plan_make(spec, seed, &own);
    if (rc) {
      memset(&r, 0, sizeof r);
      r.status = AKT__RUN_ERROR;
      snprintf(r.why, sizeof r.why, "making the fault plan failed: %s", akt_strerror(rc));
    } else {
      akt__run(spec, wl, seed, plan ? plan : &own, o, &r);
    }
    akt__plan_free(&own);
    if (o && o->log) fflush(o->log);
    ssize_t n = write(fds[1], &r, sizeof r);
    _exit(n == (ssize_t)sizeof r ? 0 : 99);
  }
  close(fds[1]);
  job->pid = pid;
  job->fd = fds[0];
  job->seed = seed;
  return 0;
}

/* The fresh copy's environment: this one's, plus a variable whose size
 * differs from any earlier copy's, which moves the stack and everything
 * the C library places after the environment. */
#define ENV_PAD_NAME "AKT_SIM_FRESH_PAD="
#define ENV_PAD_MIN 512

extern char **environ;

int akt__job_exec(akt__job *job, const char *file, uint64_t seed, const char *trace_path) {
  char seed_s[32], fd_s[16];
  snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
  size_t nenv = 0;
  size_t old_pad = 0;
  for (; environ[nenv]; nenv++)
    if (!strncmp(environ[nenv], ENV_PAD_NAME, sizeof ENV_PAD_NAME - 1))
      old_pad = strlen(environ[nenv]);
  size_t pad = ENV_PAD_MIN + (old_pad + 1 + seed % 1024) % 4096;
  char **env = calloc(nenv + 2, sizeof *env);
  char *padvar = malloc(sizeof ENV_PAD_NAME + pad);
  int fds[2] = {-1, -1};
  if (!env || !padvar || pipe2(fds, O_CLOEXEC) != 0) {
    free(env);
    free(padvar);
    return AKT_EBACKEND;
  }
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (strncmp(environ[i], ENV_PAD_NAME, sizeof ENV_PAD_NAME - 1)) env[k++] = environ[i];
  memcpy(padvar, ENV_PAD_NAME, sizeof ENV_PAD_NAME - 1);
  memset(padvar + sizeof ENV_PAD_NAME - 1, 'x', pad);
  padvar[sizeof ENV_PAD_NAME - 1 + pad] = '\0';
  env[k++] = padvar;
  env[k] = NULL;
  snprintf(fd_s, sizeof fd_s, "%d", fds[1]);
  char *argv[] = {(char *)"akt-sim", (char *)"__run", (char *)file, seed_s,
                  (char *)(trace_path ? trace_path : "-"), fd_s, NULL};
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    fcntl(fds[1], F_SETFD, 0); /* the one descriptor the copy keeps */
    /* Randomization on even when this process runs without it (under a
     * debugger, say): the copies must not share an address layout. */
    int pers = personality(0xffffffff);
    if (pers != -1 && (pers & ADDR_NO_RANDOMIZE)) personality((unsigned long)pers & ~ADDR_NO_RANDOMIZE);
    execve("/proc/self/exe", argv, env);
    _exit(127);
  }
  close(fds[1]);
  free(env);
  free(padvar);
  if (pid < 0) {
    close(fds[0]);
    return AKT_EBACKEND;
  }
  job->pid = pid;
  job->fd = fds[0];
  job->seed = seed;
  return 0;
}

int akt__job_child_main(int argc, char **argv, const akt_workload *const *workloads, size_t n) {
  if (argc != 6) return AKT__RUN_ERROR;
  akt__cli cli = {.prog = argv[0], .user = workloads, .nuser = n, .file = argv[2]};
  char *end;
  uint64_t seed = strtoull(argv[3], &end, 10);
  int fd = (int)strtol(argv[5], NULL, 10);
  akt__run_result r;
  memset(&r, 0, sizeof r);
  r.status = AKT__RUN_ERROR;
  char err[AKT__SCN_ERR_MAX];
  akt__plan plan = {0};
  if (akt__scn_load(cli.file, &cli.spec, err, sizeof err) != 0) {
    snprintf(r.why, sizeof r.why, "%s", err);
  } else {
    cli.wl = akt__cli_workload(&cli, cli.spec.workload);
    int rc = cli.wl ? akt__plan_make(&cli.spec, seed, &plan) : AKT_ENOENT;
    if (rc) {
      snprintf(r.why, sizeof r.why, "no workload or plan: %s", akt_strerror(rc));
    } else {
      akt__run_opts o = {.trace_path = strcmp(argv[4], "-") ? argv[4] : NULL};
      akt__run(&cli.spec, cli.wl, seed, &plan, &o, &r);
    }
    akt__plan_free(&plan);
    akt__scn_free(&cli.spec);
  }
  ssize_t w = write(fd, &r, sizeof r);
  return w == (ssize_t)sizeof r ? 0 : 99;
}

/* A child that died before writing its result. */
static void crashed(akt__run_result *out, int status) {
  memset(out, 0, sizeof *out);
  out->status = AKT__RUN_ERROR;
  if (WIFSIGNALED(status))
    snprintf(out->why, sizeof out->why, "the run crashed: signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  else
    snprintf(out->why, sizeof out->why, "the run exited with status %d before its result",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int akt__job_wait(akt__job *jobs, size_t n, akt__run_result *out) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      if (jobs[i].pid != pid) continue;
      ssize_t got = read(jobs[i].fd, out, sizeof *out);
      close(jobs[i].fd);
      jobs[i].pid = 0;
      if (got != (ssize_t)sizeof *out || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        crashed(out, status);
      return (int)i;
    }
  }
}

int akt__job_run(const akt__scn_spec *spec, const akt_workload *wl, uint64_t seed,
                 const akt__plan *plan, const akt__run_opts *o, akt__run_result *out) {
  akt__job job;
  if (akt__job_start(&job, spec, wl, seed, plan, o) != 0) {
    memset(out, 0, sizeof *out);
    out->status = AKT__RUN_ERROR;
    snprintf(out->why, sizeof out->why, "fork failed: %s", strerror(errno));
    return out->status;
  }
  akt__job_wait(&job, 1, out);
  return out->status;
}
