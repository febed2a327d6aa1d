/* Remoting across two processes on loopback TCP: the child runs a node
 * with an echo actor and a counter; the parent looks them up, asks,
 * counts, watches, and finally stops the child, whose end it then sees. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "akt/actor.pb-c.h"
#include "akt/remote.h"
#include "akt/transport.h"
#include "test.pb-c.h"

static atomic_int stop_requested;

/* Cmd{"stop"} asks the child's main thread to shut the node down. */
static int ctl_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  atomic_store(&stop_requested, 1);
  akt_backend *b = akt_system_backend(akt_ctx_system(ctx));
  b->ops->wake(b);
  return 0;
}

static const akt_actor_def ctl_def = {.kind = "ctl", .receive = ctl_receive};

static int stopping(void *arg) {
  (void)arg;
  return atomic_load(&stop_requested);
}

/* The parent's watcher: Cmd{"watch", address} watches that actor (and
 * answers, so the test knows the watch was sent); its Terminated raises a
 * flag the main thread waits for. */
static atomic_int terminated_seen;

static int watcher_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &akt__terminated__descriptor)) {
    atomic_store(&terminated_seen, 1);
    akt_backend *b = akt_system_backend(akt_ctx_system(ctx));
    b->ops->wake(b);
    return 0;
  }
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  akt_pid *target = NULL;
  int rc = akt_remote_pid(akt_ctx_system(ctx), ((const Cmd *)msg)->arg, &target);
  if (rc) return rc;
  rc = akt_watch(ctx, target);
  akt_pid_release(target);
  if (rc) return rc;
  return akt_reply(ctx, msg);
}

static const akt_actor_def watcher_def = {.kind = "watcher", .receive = watcher_receive};

static int terminated(void *arg) {
  (void)arg;
  return atomic_load(&terminated_seen);
}

static const ProtobufCMessageDescriptor *const types[] = {
    &ping__descriptor, &pong__descriptor, &add__descriptor, &get__descriptor,
    &total__descriptor, &cmd__descriptor};

static akt_system *node(const char *name, akt_backend **b) {
  if (akt_uv_backend_new(NULL, b)) return NULL;
  akt_system *sys = NULL;
  akt_system_options so = {.host = "127.0.0.1"};
  if (akt_system_new(name, *b, &so, &sys)) return NULL;
  akt_remote_options ro = {.host = "127.0.0.1", .security.cookie = "two-processes-not-secret"};
  if (akt_remote_start(sys, &ro)) return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) akt_system_register_type(sys, types[i]);
  return sys;
}

/* The child: serves until told to stop (or a minute passes). */
static int child_main(int fd) {
  akt_backend *b;
  akt_system *sys = node("server", &b);
  if (!sys) return 3;
  if (akt_spawn(sys, "echo", &echo_def, NULL, NULL) || akt_spawn(sys, "counter", &counter_def, NULL, NULL) ||
      akt_spawn(sys, "ctl", &ctl_def, NULL, NULL))
    return 4;
  char line[512];
  int n = snprintf(line, sizeof line, "%s\n", akt_system_address(sys));
  if (write(fd, line, (size_t)n) != n) return 5;
  close(fd);
  uint64_t deadline = b->ops->now(b) + AKT_SECONDS(60);
  int rc = b->ops->wait(b, stopping, NULL, deadline);
  akt_system_free(sys);
  akt_uv_backend_free(b);
  return rc == 0 ? 0 : 6;
}

static void two_processes_talk_over_tcp(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(fds[0]);
    _exit(child_main(fds[1]));
  }
  close(fds[1]);
  char server[512] = "";
  FILE *in = fdopen(fds[0], "r");
  assert_non_null(fgets(server, sizeof server, in));
  fclose(in);
  server[strcspn(server, "\n")] = '\0';
  assert_true(strncmp(server, "akt://server@127.0.0.1:", 23) == 0);

  akt_backend *b;
  akt_system *sys = node("client", &b);
  assert_non_null(sys);
  char addr[600];
  akt_pid *echo = NULL, *counter = NULL, *ctl = NULL;
  snprintf(addr, sizeof addr, "%s/user/echo", server);
  assert_int_equal(akt_remote_lookup(sys, addr, AKT_SECONDS(10), &echo), 0);
  snprintf(addr, sizeof addr, "%s/user/counter", server);
  assert_int_equal(akt_remote_lookup(sys, addr, AKT_SECONDS(10), &counter), 0);
  snprintf(addr, sizeof addr, "%s/user/ctl", server);
  assert_int_equal(akt_remote_pid(sys, addr, &ctl), 0);

  Ping ping = PING__INIT;
  ping.n = 17;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(echo, &ping.base, AKT_SECONDS(10), &reply), 0);
  assert_int_equal(((Ping *)reply)->n, 17);
  akt_msg_free(reply);

  Add add = ADD__INIT;
  add.amount = 1;
  for (int i = 0; i < 10000; i++) assert_int_equal(akt_tell(counter, &add.base), 0);
  Get get = GET__INIT;
  assert_int_equal(akt_ask(counter, &get.base, AKT_SECONDS(10), &reply), 0);
  assert_int_equal(((Total *)reply)->value, 10000);
  akt_msg_free(reply);

  /* Watch the echo, then stop the other process: its end arrives. */
  akt_pid *w = NULL;
  assert_int_equal(akt_spawn(sys, "watcher", &watcher_def, NULL, &w), 0);
  snprintf(addr, sizeof addr, "%s/user/echo", server);
  Cmd watch = CMD__INIT;
  watch.op = "watch";
  watch.arg = addr;
  assert_int_equal(akt_ask(w, &watch.base, AKT_SECONDS(10), &reply), 0);
  akt_msg_free(reply);
  Cmd stop = CMD__INIT;
  stop.op = "stop";
  assert_int_equal(akt_tell(ctl, &stop.base), 0);
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(b->ops->wait(b, terminated, NULL, b->ops->now(b) + AKT_SECONDS(10)), 0);
  akt_pid_release(w);

  akt_pid_release(echo);
  akt_pid_release(counter);
  akt_pid_release(ctl);
  akt_system_free(sys);
  akt_uv_backend_free(b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_processes_talk_over_tcp),
};

AKT_TEST_MAIN("remote/processes", tests)
