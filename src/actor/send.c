/* akt — sending: tell, reply, forward. */
#include "akt/error.h"
#include "akt/message.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/remote/remote.h"
#include "src/system/system.h"
#include "src/util/assert.h"

int akt__route(akt_pid *to, akt__env *env) {
  AKT_ASSERT(env->sys == AKT__SYS_NONE && env->msg != NULL);
  akt_system *sys = to->sys;
  akt__cell *c = to->cell;
  if (!c) return akt__remote_send(sys, to, env);
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED) {
    akt__dead_letter(sys, to, env, akt__cell_gone_reason(c));
    return AKT_ESTOPPED;
  }
  if (sys->tracing)
    akt__trace(sys, AKT_EV_SEND, to->id, env->sender ? env->sender->id : 0,
               env->msg->descriptor->name, akt__env_hash(env), 0, NULL);
  return akt__cell_post(c, env);
}

/* send_inline's answer when the message must take the general path. */
#define NOT_INLINE 1

/* Copies msg, measured as `size` and `flat` (akt__env_measure), straight
 * into slots of the receiver's default mailbox (mailq.h): a local receiver
 * without a sink or custom mailbox. Returns 0, AKT_ENOMEM, or NOT_INLINE
 * for a terminated receiver (the general path makes the dead letter) or an
 * envelope too large for a claim. */
static int send_inline(akt_pid *to, const ProtobufCMessage *msg, size_t size, int flat,
                       akt_pid *sender, uint64_t corr, uint32_t flags) {
  akt__cell *c = to->cell;
  akt_system *sys = to->sys;
  if (atomic_load_explicit(&c->life, memory_order_acquire) == AKT__LIFE_TERMINATED)
    return NOT_INLINE;
  /* The meta only when a field of it is set: a plain tell of a message of
   * up to 32 bytes then takes one slot, one cache line. */
  int meta = flags != 0 || sys->tracing;
  size_t bytes =
      meta ? akt__env_meta_offset(size) + sizeof(akt__env_meta) : sizeof(akt__env) + size;
  size_t nslots = (bytes + AKT__MAILQ_SLOT_BYTES - 1) / AKT__MAILQ_SLOT_BYTES;
  AKT_ASSERT(nslots >= 1);
  if (nslots > AKT__MAILQ_MAX_CLAIM) return NOT_INLINE;
  uint64_t hash = 0;
  if (sys->tracing) {
    hash = akt__msg_hash(msg);
    akt__trace(sys, AKT_EV_SEND, to->id, sender ? sender->id : 0, msg->descriptor->name, hash, 0,
               NULL);
  }
  akt__env *env = akt__cell_claim(c, (unsigned)nslots);
  if (!env) return AKT_ENOMEM;
  akt__env_init_copy(env, msg, size, flat, AKT__ENV_INLINE);
  env->sender = akt_pid_retain(sender);
  if (sys->tracing) {
    akt__meta_of(env)->hash = hash;
    env->flags |= AKT__ENV_HASHED;
  }
  akt__env_add_flags(env, flags, corr);
  akt__cell_publish(c, env, (unsigned)nslots);
  return 0;
}

int akt__send(akt_pid *to, const ProtobufCMessage *msg, akt_pid *sender, uint64_t corr,
                    uint32_t flags) {
  if (!to || !msg) return AKT_EINVAL;
  /* A remote PID: the message is packed straight into the peer's queue;
   * an envelope would only be made to be packed and freed. */
  if (!to->cell) return akt__remote_send_msg(to->sys, to, msg, sender, corr, flags);
  size_t size;
  int flat;
  int rc = akt__env_measure(msg, &size, &flat);
  if (rc) return rc;
  if (!(to->cell->kind & (AKT__KIND_SINK | AKT__KIND_CUSTOM_MBOX))) {
    rc = send_inline(to, msg, size, flat, sender, corr, flags);
    if (rc != NOT_INLINE) return rc;
  }
  akt__env *env;
  rc = akt__env_new_measured(to->sys, msg, size, flat, &env);
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
  int rc = cur->flags & AKT__ENV_REQUEST
               ? akt__send(cur->sender, msg, akt__self(ctx), akt__env_corr(cur), AKT__ENV_REPLY)
               : akt__send(cur->sender, msg, akt__self(ctx), 0, 0);
  /* The requester is gone (it terminated, its ask stopped waiting, its
   * node's remoting stopped): the reply went to dead letters, counted,
   * which is all a reply to it can come to. That is no failure of the
   * replier, which `return akt_reply(...)` in receive would make it. */
  return rc == AKT_ESTOPPED ? 0 : rc;
}

int akt_forward(akt_ctx *ctx, akt_pid *to) {
  if (!ctx || !to) return AKT_EINVAL;
  akt__env *cur = ctx->cur;
  if (!cur || !cur->msg) return AKT_ENOSENDER;
  return akt__send(to, cur->msg, cur->sender, akt__env_corr(cur), cur->flags & AKT__ENV_REQUEST);
}
