/* akt — envelopes. */
#include "src/actor/envelope.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/actor/msgcopy.h"
#include "src/util/pool.h"
#include "src/system/system.h"
#include "src/util/assert.h"

/* Messages up to this size are packed on the stack for hashing. */
#define HASH_STACK_BYTES 2048

uint64_t akt__msg_hash(const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t stackbuf[HASH_STACK_BYTES];
  uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
  if (!buf) return 0;
  protobuf_c_message_pack(msg, buf);
  uint64_t h = XXH3_64bits(buf, n);
  if (buf != stackbuf) free(buf);
  return h;
}

int akt__env_measure(const ProtobufCMessage *msg, size_t *size, int *flat) {
  if (!msg) return AKT_EINVAL;
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  *flat = d && d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC && akt__msg_is_flat(d);
  if (*flat) {
    *size = d->sizeof_message;
    return 0;
  }
  return akt__msg_copy_size(msg, size);
}

void akt__env_init_copy(akt__env *env, const ProtobufCMessage *msg, size_t size, int flat,
                        uint8_t cls) {
  /* The header only: the meta stays untouched (and its line with it)
   * unless a field of it is needed. */
  env->sender = NULL;
  env->flags = 0;
  env->sys = AKT__SYS_NONE;
  env->pool_class = cls;
  env->meta_off = (uint32_t)akt__env_meta_offset(size);
  if (flat) {
    /* The copy of a flat message (see akt__msg_is_flat), inline. */
    ProtobufCMessage *m = memcpy(env->payload, msg, size);
    m->n_unknown_fields = 0;
    m->unknown_fields = NULL;
    env->msg = m;
  } else {
    env->msg = akt__msg_copy_into(msg, env->payload);
  }
}

int akt__env_new_measured(akt_system *sys, const ProtobufCMessage *msg, size_t size, int flat,
                          akt__env **out) {
  size_t meta_off = akt__env_meta_offset(size);
  if (meta_off > UINT32_MAX - sizeof(akt__env_meta)) return AKT_ELIMIT;
  uint8_t cls;
  akt__env *env = akt__pool_alloc(meta_off + sizeof(akt__env_meta), &cls);
  if (!env) return AKT_ENOMEM;
  akt__env_init_copy(env, msg, size, flat, cls);
  if (sys && sys->tracing) {
    akt__meta_of(env)->hash = akt__msg_hash(msg);
    env->flags |= AKT__ENV_HASHED;
  }
  *out = env;
  return 0;
}

int akt__env_new_msg(akt_system *sys, const ProtobufCMessage *msg, akt__env **out) {
  if (!msg || !out) return AKT_EINVAL;
  size_t size;
  int flat;
  int rc = akt__env_measure(msg, &size, &flat);
  if (rc) return rc;
  return akt__env_new_measured(sys, msg, size, flat, out);
}

akt__env *akt__env_detach(akt__env *env) {
  AKT_ASSERT(env->msg != NULL && env->sys == AKT__SYS_NONE);
  if (env->pool_class != AKT__ENV_INLINE) return env;
  akt__env *copy;
  if (akt__env_new_msg(NULL, env->msg, &copy) != 0) return NULL;
  copy->sender = env->sender;
  env->sender = NULL;
  copy->flags = env->flags;
  /* Only the meta fields its flags make valid (an inline envelope has a
   * meta only when one is). */
  if (env->flags & (AKT__ENV_REQUEST | AKT__ENV_REPLY))
    akt__meta_of(copy)->corr = akt__meta_of(env)->corr;
  if (env->flags & AKT__ENV_HASHED) akt__meta_of(copy)->hash = akt__meta_of(env)->hash;
  akt__env_free(env);
  return copy;
}

akt__env *akt__env_new_sys(akt__sys_kind kind, uint64_t arg) {
  AKT_ASSERT(kind > AKT__SYS_NONE && kind < AKT__SYS_KIND_MAX);
  uint8_t cls;
  size_t meta_off = sizeof(akt__env); /* no message: the meta follows the header */
  akt__env *env = akt__pool_alloc(meta_off + sizeof(akt__env_meta), &cls);
  if (!env) return NULL;
  memset(env, 0, meta_off + sizeof(akt__env_meta));
  env->pool_class = cls;
  env->meta_off = (uint32_t)meta_off;
  env->sys = (uint8_t)kind;
  akt__meta_of(env)->arg = arg;
  return env;
}

akt__env *akt__env_of(const ProtobufCMessage *m) {
  return (akt__env *)((char *)(uintptr_t)m - offsetof(akt__env, payload));
}
