/* akt — runs in child processes. */
#include "sim/scenario/job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "akt/error.h"

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
