/* Small actors shared by the core test suites. */
#include "actors.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  int64_t total;
} counter_state;

static int counter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  counter_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &add__descriptor)) {
    s->total += ((const Add *)msg)->amount;
    return 0;
  }
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = s->total;
    return akt_reply(ctx, &t.base);
  }
  return AKT_EUNHANDLED;
}

const akt_actor_def counter_def = {
    .kind = "counter", .state_size = sizeof(counter_state), .receive = counter_receive};

static int echo_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  return akt_reply(ctx, msg);
}

const akt_actor_def echo_def = {.kind = "echo", .receive = echo_receive};

static int forwarder_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  return akt_forward(ctx, (akt_pid *)akt_ctx_arg(ctx));
}

const akt_actor_def forwarder_def = {.kind = "forwarder", .receive = forwarder_receive};

int note_to(akt_ctx *ctx, akt_pid *to, const char *text) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s:%s", akt_pid_name(akt_ctx_self(ctx)), text);
  Note n = NOTE__INIT;
  n.text = buf;
  return akt_send(ctx, to, &n.base);
}

static int reporter_pre_start(akt_ctx *ctx) {
  return note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "pre_start");
}

static void reporter_post_stop(akt_ctx *ctx) {
  note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "post_stop");
}

static int reporter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &ping__descriptor)) {
    Pong p = PONG__INIT;
    p.n = ((const Ping *)msg)->n;
    return akt_reply(ctx, &p.base);
  }
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  if (akt_msg_is(msg, &cmd__descriptor)) {
    const Cmd *c = (const Cmd *)msg;
    if (strcmp(c->op, "stop") == 0) return akt_stop(akt_ctx_self(ctx));
    if (strcmp(c->op, "spawn") == 0) {
      akt_spawn_opts o = {.arg = akt_ctx_arg(ctx)};
      return akt_spawn_child(ctx, c->arg, &reporter_def, &o, NULL);
    }
  }
  return AKT_EUNHANDLED;
}

const akt_actor_def reporter_def = {.kind = "reporter",
                                    .pre_start = reporter_pre_start,
                                    .receive = reporter_receive,
                                    .post_stop = reporter_post_stop};

static int parent_pre_start(akt_ctx *ctx) {
  int rc = reporter_pre_start(ctx);
  akt_spawn_opts o = {.arg = akt_ctx_arg(ctx)};
  if (!rc) rc = akt_spawn_child(ctx, "c1", &reporter_def, &o, NULL);
  if (!rc) rc = akt_spawn_child(ctx, "c2", &reporter_def, &o, NULL);
  return rc;
}

const akt_actor_def parent_def = {.kind = "parent",
                                  .pre_start = parent_pre_start,
                                  .receive = reporter_receive,
                                  .post_stop = reporter_post_stop};

static int silent_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  (void)msg;
  return 0;
}

const akt_actor_def silent_def = {.kind = "silent", .receive = silent_receive};
