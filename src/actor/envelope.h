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
#define AKT__ENV_REQUEST 0x1u /* the sender awaits a reply carrying `corr` */
#define AKT__ENV_REPLY 0x2u   /* a reply to the receiver's request `corr` */
#define AKT__ENV_TIMER 0x4u   /* a timer message; `arg` is the timer generation */
#define AKT__ENV_REDELIVERED 0x8u /* unstashed: already accepted once */

/* System message kinds (0 = a user message). System messages go to their
 * own queue and are processed before user messages. */
typedef enum akt__sys_kind {
  AKT__SYS_NONE = 0,
  AKT__SYS_CREATE,          /* run pre_start */
  AKT__SYS_STOP,            /* graceful stop: after the current message */
  AKT__SYS_CHILD_DONE,      /* ref = a child that terminated */
  AKT__SYS_REQ_TIMEOUT,     /* arg = correlation id of a request that timed out */
  AKT__SYS_TIMER_FIRE,      /* arg = generation of an actor timer that fired */
  AKT__SYS_WATCH,           /* ref = a watcher to notify at termination */
  AKT__SYS_UNWATCH,         /* ref = a watcher to forget */
  AKT__SYS_FAILED,          /* ref = a failed child, arg = code, corr = source */
  AKT__SYS_RESUME,          /* continue after a failure */
  AKT__SYS_RESTART,         /* arg = the failure code that caused it (0 if external) */
  AKT__SYS_KILL,            /* fail with AKT_EKILLED */
  AKT__SYS_PASSIVATE_CHECK, /* the idle timer fired */
  AKT__SYS_KIND_MAX
} akt__sys_kind;

typedef struct akt__env akt__env;
struct akt__env {
  union {
    akt__mpsc_node node;      /* first: the default mailbox links envelopes through it */
    void *link;               /* what a custom mailbox may use instead */
  };
  akt_pid *sender;            /* one reference, or NULL */
  akt_pid *ref;               /* system-message pid argument (one reference), or NULL */
  const ProtobufCMessage *msg;/* the receiver's copy (in `payload`), NULL for system messages */
  uint64_t corr;              /* correlation id of a request/reply, 0 if none */
  uint64_t arg;               /* system-message or timer argument */
  uint64_t hash;              /* xxh3 of the packed message when the backend traces, else 0 */
  uint32_t flags;             /* AKT__ENV_* */
  uint8_t sys;                /* akt__sys_kind */
  uint8_t pool_class;         /* where the memory goes back (util/pool.h) */
  uint16_t reserved;
  max_align_t payload[];      /* the message copy */
};

/* Allocates an envelope carrying a deep copy of `msg` for a receiver in
 * `sys` (the copy is hashed when sys's backend traces). Returns 0 and *out,
 * or AKT_EINVAL, AKT_ENOMEM, AKT_ELIMIT (too large or too deep). The caller
 * owns the envelope; `sender` and `ref` start NULL. */
int akt__env_new_msg(akt_system *sys, const ProtobufCMessage *msg, akt__env **out);

/* Allocates a system message of kind `kind`. Returns NULL when out of
 * memory. */
akt__env *akt__env_new_sys(akt__sys_kind kind, uint64_t arg);

/* Frees `env` and releases its sender and ref. NULL is a no-op. Inline:
 * every message ends here. */
static inline void akt__env_free(akt__env *env) {
  if (!env) return;
  if (env->sender) akt_pid_release(env->sender);
  if (env->ref) akt_pid_release(env->ref);
  akt__pool_free(env, env->pool_class);
}

/* The envelope holding message copy `m` (which must come from an envelope). */
akt__env *akt__env_of(const ProtobufCMessage *m);

/* xxh3-64 of the packed form of `msg` (0 when it cannot be packed). */
uint64_t akt__msg_hash(const ProtobufCMessage *msg);

#endif
