/* akt — envelopes: one queued message and its metadata (internal).
 *
 * An envelope is one allocation: this header followed by the receiver's deep
 * copy of the message. It is linked into a mailbox through `node`, owns one
 * reference to `sender` and to `ref`, and is freed by whoever dequeues it.
 */
#ifndef AKT_ACTOR_ENVELOPE_H
#define AKT_ACTOR_ENVELOPE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/pid.h"
#include "src/actor/mpsc.h"
#include "src/util/pool.h"

typedef struct akt_system akt_system;

/* Envelope flags. */
#define AKT__ENV_REQUEST 0x1u /* the sender awaits a reply carrying the meta's corr */
#define AKT__ENV_REPLY 0x2u   /* a reply to the receiver's request (meta's corr) */
#define AKT__ENV_TIMER 0x4u   /* a timer message; the meta's arg is the timer generation */
#define AKT__ENV_REDELIVERED 0x8u /* unstashed: already accepted once */
#define AKT__ENV_HASHED 0x10u /* the meta's hash is set (the receiver's backend traces) */

/* The pool_class of an envelope written into its receiver's mailbox slots
 * (mailq.h): its memory is valid until the receiver's next pop. */
#define AKT__ENV_INLINE 0xfeu

/* System message kinds (0 = a user message). System messages go to their
 * own queue and are processed before user messages. Stop, kill, the
 * supervisor's resume and restart, and a child's end need no envelope:
 * they are signals (cell.h). */
typedef enum akt__sys_kind {
  AKT__SYS_NONE = 0,
  AKT__SYS_CREATE,          /* run pre_start */
  AKT__SYS_REQ_TIMEOUT,     /* a request timer fired (the actor's requests' timeouts) */
  AKT__SYS_TIMER_FIRE,      /* arg = generation of an actor timer that fired */
  AKT__SYS_WATCH,           /* ref = a watcher to notify at termination */
  AKT__SYS_UNWATCH,         /* ref = a watcher to forget */
  AKT__SYS_FAILED,          /* ref = a failed child, arg = code, corr = source */
  AKT__SYS_RESTART,         /* akt_restart (cause 0) */
  AKT__SYS_PASSIVATE_CHECK, /* the idle timer fired */
  AKT__SYS_KIND_MAX
} akt__sys_kind;

/* An envelope is laid out so that a plain tell of a small message touches
 * one cache line. Pool blocks (every envelope up to 1 KiB) are 64-byte
 * aligned; the header below is 32 bytes and the message copy follows it,
 * so a header and a message of up to 32 bytes share the block's first
 * line. Fields a plain tell does not
 * need (akt__env_meta) live after the copy, in the next line for a small
 * message, and are written only when used: a tell's sender writes one line
 * that the receiver then reads, instead of the two or three it took when
 * those fields were in the header (tell: ~45 ns instead of ~58 on the
 * bench machine, docs/performance.md). Each meta field says when it is
 * valid; read it only then. */
typedef struct akt__env akt__env;
struct akt__env {
  union {
    akt__mpsc_node node;      /* first: custom mailboxes link envelopes through it */
    void *link;               /* or this, as do the stash and the system queue */
    _Atomic uint64_t slot_word; /* an inline envelope's (AKT__ENV_INLINE) slot word (mailq.h) */
  };
  akt_pid *sender;            /* one reference, or NULL */
  const ProtobufCMessage *msg;/* the receiver's copy (in `payload`), NULL for system messages */
  uint16_t flags;             /* AKT__ENV_* */
  uint8_t sys;                /* akt__sys_kind */
  uint8_t pool_class;         /* where the memory goes back (util/pool.h), or AKT__ENV_INLINE */
  uint32_t meta_off;          /* offset of the akt__env_meta from the envelope */
  max_align_t payload[];      /* the message copy */
};

_Static_assert(sizeof(akt__env) == 32 && offsetof(akt__env, payload) == 32,
               "an envelope's header is half a cache line");

/* The rest of an envelope (see above). */
typedef struct akt__env_meta {
  uint64_t corr;  /* correlation id: valid with AKT__ENV_REQUEST or AKT__ENV_REPLY;
                   * for a system message, zeroed or its argument (a failure's source) */
  uint64_t arg;   /* system-message argument (zeroed for system messages), timer
                   * generation (AKT__ENV_TIMER), or whatever the envelope's
                   * final owner keeps there (a probe: the arrival time) */
  uint64_t hash;  /* xxh3 of the packed message: valid with AKT__ENV_HASHED */
  akt_pid *ref;   /* system-message pid argument, one reference or NULL: valid
                   * (zeroed) for system messages only */
} akt__env_meta;

/* The meta part of `env`. */
static inline akt__env_meta *akt__meta_of(const akt__env *env) {
  return (akt__env_meta *)((char *)(uintptr_t)env + env->meta_off);
}

/* The correlation id of a request or reply, else 0. */
static inline uint64_t akt__env_corr(const akt__env *env) {
  return (env->flags & (AKT__ENV_REQUEST | AKT__ENV_REPLY)) ? akt__meta_of(env)->corr : 0;
}

/* Adds `flags` (AKT__ENV_*) to env's; when they include AKT__ENV_REQUEST or
 * AKT__ENV_REPLY, stores `corr` as the correlation id (the meta is written
 * only then). */
static inline void akt__env_add_flags(akt__env *env, uint32_t flags, uint64_t corr) {
  env->flags = (uint16_t)(env->flags | flags);
  if (flags & (AKT__ENV_REQUEST | AKT__ENV_REPLY)) akt__meta_of(env)->corr = corr;
}

/* The message hash when the receiver's backend traces, else 0. */
static inline uint64_t akt__env_hash(const akt__env *env) {
  return (env->flags & AKT__ENV_HASHED) ? akt__meta_of(env)->hash : 0;
}

/* Allocates an envelope carrying a deep copy of `msg` for a receiver in
 * `sys` (the copy is hashed when sys's backend traces). Returns 0 and *out,
 * or AKT_EINVAL, AKT_ENOMEM, AKT_ELIMIT (too large or too deep). The caller
 * owns the envelope; `sender` starts NULL, no flag but AKT__ENV_HASHED is
 * set, and the rest of the meta is not initialized (see akt__env_meta). */
int akt__env_new_msg(akt_system *sys, const ProtobufCMessage *msg, akt__env **out);

/* The size of msg's copy in an envelope (*size) and whether it is flat (a
 * plain memcpy, msgcopy.h). Returns 0, AKT_EINVAL or AKT_ELIMIT. */
int akt__env_measure(const ProtobufCMessage *msg, size_t *size, int *flat);

/* The meta's alignment (its fields are 8-byte words; 16 keeps the whole
 * meta in one cache line of a 64-byte-aligned block). */
#define AKT__ENV_META_ALIGN 16u
/* Bytes of message copy that share the first cache line with the header:
 * a copy this small still puts the meta in the next line. */
#define AKT__ENV_FIRST_LINE_COPY 32u

/* Where the meta goes after a message copy of `size` bytes: in the line
 * after the header's for a small message, else right after the copy. */
static inline size_t akt__env_meta_offset(size_t size) {
  size_t padded = (size + AKT__ENV_META_ALIGN - 1) & ~(size_t)(AKT__ENV_META_ALIGN - 1);
  return sizeof(akt__env) + (padded < AKT__ENV_FIRST_LINE_COPY ? AKT__ENV_FIRST_LINE_COPY : padded);
}

/* akt__env_new_msg for a message already measured with akt__env_measure
 * (`size`, `flat`). Same return codes. */
int akt__env_new_measured(akt_system *sys, const ProtobufCMessage *msg, size_t size, int flat,
                          akt__env **out);

/* Writes into `env` a header (no sender, no flags, a user message of pool
 * class `cls`) and the copy of msg measured by akt__env_measure. */
void akt__env_init_copy(akt__env *env, const ProtobufCMessage *msg, size_t size, int flat,
                        uint8_t cls);

/* An envelope the caller may keep beyond the current turn: `env` itself,
 * or for an inline envelope a pooled copy that takes over its sender and
 * valid meta fields (env is freed; its message stays readable until the
 * receiver's next pop). Returns NULL when out of memory (env untouched). */
akt__env *akt__env_detach(akt__env *env);

/* Allocates a system message of kind `kind` with meta arg `arg` (the rest
 * of its meta zeroed). Returns NULL when out of memory. */
akt__env *akt__env_new_sys(akt__sys_kind kind, uint64_t arg);

/* Frees `env` and releases its sender and (system messages) ref. NULL is a no-op. Inline:
 * every message ends here. */
static inline void akt__env_free(akt__env *env) {
  if (!env) return;
  if (env->sender) akt_pid_release(env->sender);
  if (env->sys && akt__meta_of(env)->ref) akt_pid_release(akt__meta_of(env)->ref);
  /* An inline envelope's slots go back with their segment (mailq.h). */
  if (env->pool_class != AKT__ENV_INLINE) akt__pool_free(env, env->pool_class);
}

/* The envelope holding message copy `m` (which must come from an envelope). */
akt__env *akt__env_of(const ProtobufCMessage *m);

/* xxh3-64 of the packed form of `msg` (0 when it cannot be packed). */
uint64_t akt__msg_hash(const ProtobufCMessage *msg);

#endif
