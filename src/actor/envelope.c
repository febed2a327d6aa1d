/* akt — envelopes. */
#include "src/actor/envelope.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/actor/msgcopy.h"
#include "src/util/pool.h"
#include "src/system/system.h"

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

/* Where the meta goes after a message copy of `size` bytes: in the line
 * after the header's for a small message (see envelope.h), else right
 * after the copy. */
static size_t meta_offset(size_t size) {
  size_t padded = (size + 15) & ~(size_t)15;
  return sizeof(akt__env) + (padded < 32 ? 32 : padded);
}

int akt__env_new_msg(akt_system *sys, const ProtobufCMessage *msg, akt__env **out) {
  if (!msg || !out) return AKT_EINVAL;
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  size_t size;
  int flat = d && d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC && akt__msg_is_flat(d);
  if (flat) {
    size = d->sizeof_message;
  } else {
    int rc = akt__msg_copy_size(msg, &size);
    if (rc) return rc;
  }
  size_t meta_off = meta_offset(size);
  if (meta_off > UINT32_MAX - sizeof(akt__env_meta)) return AKT_ELIMIT;
  uint8_t cls;
  akt__env *env = akt__pool_alloc(meta_off + sizeof(akt__env_meta), &cls);
  if (!env) return AKT_ENOMEM;
  /* The header only: the meta stays untouched (and its line with it)
   * unless a field of it is needed. */
  env->sender = NULL;
  env->flags = 0;
  env->sys = AKT__SYS_NONE;
  env->pool_class = cls;
  env->meta_off = (uint32_t)meta_off;
  if (flat) {
    /* The copy of a flat message (see akt__msg_is_flat), inline. */
    ProtobufCMessage *m = memcpy(env->payload, msg, size);
    m->n_unknown_fields = 0;
    m->unknown_fields = NULL;
    env->msg = m;
  } else {
    env->msg = akt__msg_copy_into(msg, env->payload);
  }
  if (sys && sys->tracing) {
    akt__meta_of(env)->hash = akt__msg_hash(msg);
    env->flags |= AKT__ENV_HASHED;
  }
  *out = env;
  return 0;
}

akt__env *akt__env_new_sys(akt__sys_kind kind, uint64_t arg) {
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
