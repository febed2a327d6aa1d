/* akt — dead letters: counted, traced, logged where they happen, and
 * published on the event stream by the /system/deadletters actor.
 *
 * Publishing needs the message packed, so it is done only while someone
 * subscribes to akt.deadletter; the counter and the trace never skip one.
 */
#include <stdlib.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/events.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/system/system.h"

static int dead_letters_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &akt__dead_letter__descriptor)) return 0; /* never a dead letter itself */
  akt_publish(akt_ctx_system(ctx), AKT_TOPIC_DEAD_LETTER, msg, akt_ctx_self(ctx));
  return 0;
}

static const akt_actor_def dead_letters_def = {.kind = "dead-letters",
                                               .receive = dead_letters_receive};

int akt__dead_letters_start(akt_system *sys) {
  return akt__spawn(sys, sys->system_guardian->cell, "deadletters", &dead_letters_def, NULL, 0,
                    &sys->dead_letter_actor);
}

/* Hands a dead letter to the dead-letter actor for publication. */
static void publish(akt_system *sys, akt_pid *target, akt__env *env, const char *reason) {
  akt_pid *dla = sys->dead_letter_actor;
  if (!dla || target == dla || !akt_pid_is_running(dla) || !env->msg) return;
  if (!akt__events_wanted(sys, AKT_TOPIC_DEAD_LETTER)) return;
  size_t n = protobuf_c_message_get_packed_size(env->msg);
  uint8_t *packed = malloc(n ? n : 1);
  if (!packed) return;
  protobuf_c_message_pack(env->msg, packed);
  Akt__DeadLetter d = AKT__DEAD_LETTER__INIT;
  d.target = (char *)(uintptr_t)(target ? target->path : "");
  d.target_id = target ? target->id : 0;
  d.sender = (char *)(uintptr_t)(env->sender ? env->sender->path : "");
  d.type = (char *)(uintptr_t)env->msg->descriptor->name;
  d.reason = (char *)(uintptr_t)reason;
  d.payload.data = packed;
  d.payload.len = n;
  akt__send(dla, &d.base, NULL, 0, 0);
  free(packed);
}

void akt__dead_letter(akt_system *sys, akt_pid *target, akt__env *env, const char *reason) {
  atomic_fetch_add_explicit(&sys->dead_letters, 1, memory_order_relaxed);
  const char *type = env->msg ? env->msg->descriptor->name : "(system)";
  akt__trace(sys, AKT_EV_DEAD_LETTER, target ? target->id : 0,
             env->sender ? env->sender->id : 0, type, akt__env_hash(env), 0, reason);
  akt__log(sys, AKT_LOG_DEBUG, "dead letter: %s to %s: %s", type, target ? target->path : "?",
           reason);
  publish(sys, target, env, reason);
  akt__env_free(env);
}
