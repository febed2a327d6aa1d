/* akt — sending: tell, reply, forward. */
#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/remote/remote.h"
#include "src/system/system.h"

int akt__route(akt_pid *to, akt__env *env) {
  akt_system *sys = to->sys;
  akt__cell *c = to->cell;
  if (!c) return akt__remote_send(sys, to, env);
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED) {
    akt__dead_letter(sys, to, env, "terminated");
    return AKT_ESTOPPED;
  }
  if (sys->tracing)
    akt__trace(sys, AKT_EV_SEND, to->id, env->sender ? env->sender->id : 0,
               env->msg->descriptor->name, akt__env_hash(env), 0, NULL);
  return akt__cell_post(c, env);
}

int akt__send(akt_pid *to, const ProtobufCMessage *msg, akt_pid *sender, uint64_t corr,
                    uint32_t flags) {
  if (!to || !msg) return AKT_EINVAL;
  /* A remote PID: the message is packed straight into the peer's queue;
   * an envelope would only be made to be packed and freed. */
  if (!to->cell) return akt__remote_send_msg(to->sys, to, msg, sender, corr, flags);
  akt__env *env;
  int rc = akt__env_new_msg(to->sys, msg, &env);
  if (rc) return rc;
  env->sender = akt_pid_retain(sender);
  akt__env_add_flags(env, flags, corr);
  return akt__route(to, env);
}

int akt_tell(akt_pid *to, const ProtobufCMessage *msg) { return akt__send(to, msg, NULL, 0, 0); }

int akt_tell_as(akt_pid *to, const ProtobufCMessage *msg, akt_pid *sender) {
  return akt__send(to, msg, sender, 0, 0);
}

int akt_send(akt_ctx *ctx, akt_pid *to, const ProtobufCMessage *msg) {
  if (!ctx) return AKT_EINVAL;
  return akt__send(to, msg, akt__self(ctx), 0, 0);
}

int akt_reply(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!ctx || !msg) return AKT_EINVAL;
  akt__env *cur = ctx->cur;
  if (!cur || !cur->sender) return AKT_ENOSENDER;
  if (cur->flags & AKT__ENV_REQUEST)
    return akt__send(cur->sender, msg, akt__self(ctx), akt__env_corr(cur), AKT__ENV_REPLY);
  return akt__send(cur->sender, msg, akt__self(ctx), 0, 0);
}

int akt_forward(akt_ctx *ctx, akt_pid *to) {
  if (!ctx || !to) return AKT_EINVAL;
  akt__env *cur = ctx->cur;
  if (!cur || !cur->msg) return AKT_ENOSENDER;
  return akt__send(to, cur->msg, cur->sender, akt__env_corr(cur), cur->flags & AKT__ENV_REQUEST);
}
