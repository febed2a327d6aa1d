/* counter.c — an actor whose messages are protobuf-c types from messages.proto */
#include "counter.h"

#include "messages.pb-c.h"

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
    return akt_reply(ctx, &t.base); /* t lives on the stack: value semantics */
  }
  return AKT_EUNHANDLED; /* counted, logged, sent to dead letters */
}

const akt_actor_def counter_def = {
    .kind = "counter", .state_size = sizeof(counter_state), .receive = counter_receive};
