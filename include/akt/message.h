/* akt — messages: tell, request, ask, reply, forward.
 *
 * Messages are protobuf-c messages with value semantics: a send copies the
 * message, so the sender may pass one that lives on its stack, and the
 * receiver's pointer is valid only while it handles the message. Delivery is
 * at most once; messages from one sender to one receiver arrive in the order
 * sent; system messages (stop, watch, ...) overtake user messages.
 */
#ifndef AKT_MESSAGE_H
#define AKT_MESSAGE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "akt/actor.h"
#include "akt/pid.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits on a message a send copies (akt_tell and every other send):
 * nesting deeper than AKT_MSG_MAX_DEPTH (which also stops a cyclic message)
 * or a copy larger than AKT_MSG_MAX_COPY bytes is refused with AKT_ELIMIT.
 * A payload from a peer nested deeper is refused before it is decoded (a
 * dead letter, akt_security_stats.depth_refusals; docs/security.md). */
#define AKT_MSG_MAX_DEPTH 64
#define AKT_MSG_MAX_COPY (64u << 20)

/* 1 if `msg` is of the type `desc` describes, else 0. */
static inline int akt_msg_is(const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc) {
  return msg != NULL && msg->descriptor == desc;
}

/* Sends `msg` to `to` with no sender (for code outside any actor). Returns 0
 * when queued; AKT_ESTOPPED when `to` has terminated (the message went to
 * dead letters); AKT_EINVAL; AKT_ELIMIT (the message is too large or too
 * deeply nested to copy); AKT_ENOMEM; AKT_EFULL (a bounded mailbox or a
 * remote send queue is full). */
int akt_tell(akt_pid *to, const ProtobufCMessage *msg);

/* As akt_tell with `sender` (borrowed; may be NULL) as the message's sender,
 * so the receiver's akt_ctx_sender and akt_reply reach it. */
int akt_tell_as(akt_pid *to, const ProtobufCMessage *msg, akt_pid *sender);

/* Sends from inside an actor: the sender is the current actor. Codes as
 * akt_tell. */
int akt_send(akt_ctx *ctx, akt_pid *to, const ProtobufCMessage *msg);

/* Called in the requesting actor with the reply (status 0; `reply` valid
 * during the call) or without one (status AKT_ETIMEDOUT, reply NULL). Its
 * return value is handled like receive's. */
typedef int (*akt_reply_fn)(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg);

/* Sends `msg` to `to` as a request from the current actor and returns at
 * once; `fn(ctx, reply, status, arg)` runs later in this actor when the
 * reply arrives or `timeout` passes, whichever is first (exactly once, unless
 * the actor stops first: then never). A reply that arrives after the timeout
 * goes to dead letters. Returns 0; AKT_EINVAL; AKT_ELIMIT
 * (AKT_MAX_PENDING_REQUESTS, or message size); AKT_ENOMEM; or the send's
 * error (then fn never runs). */
int akt_request(akt_ctx *ctx, akt_pid *to, const ProtobufCMessage *msg, akt_duration timeout,
                akt_reply_fn fn, void *arg);

/* Sends `msg` to `to` from outside the system and waits for the reply: it
 * blocks in production and runs the world in the simulator. On success
 * writes the reply to *reply, owned by the caller (free it with
 * akt_msg_free). Returns 0, AKT_ETIMEDOUT, AKT_EINVAL, AKT_ESTATE (called
 * from an actor or a backend thread), or a send error. */
int akt_ask(akt_pid *to, const ProtobufCMessage *msg, akt_duration timeout,
            ProtobufCMessage **reply);

/* Frees a message returned by akt_ask (or another akt call documented to
 * return an owned message). NULL is a no-op. */
void akt_msg_free(ProtobufCMessage *msg);

/* Replies to the sender of the current message: to a request (akt_request,
 * akt_ask) the reply completes it; to a plain tell it is a tell back.
 * Meant to be returned from receive (`return akt_reply(ctx, &t.base);`):
 * it fails only for reasons that lie with the replier. Returns:
 *   0              the reply was queued for the requester, or the requester
 *                  is gone — it terminated, its akt_ask timed out, its
 *                  node's remoting stopped — and the reply went to dead
 *                  letters (counted in akt_system_stats.dead_letters and
 *                  published on AKT_TOPIC_DEAD_LETTER like any other);
 *   AKT_ENOSENDER  no current message, or it has no sender;
 *   AKT_EINVAL     ctx or msg is NULL;
 *   AKT_ELIMIT     the reply is too large or too deeply nested to copy
 *                  (AKT_MSG_MAX_COPY, AKT_MSG_MAX_DEPTH), or to send to
 *                  a remote requester in one frame;
 *   AKT_ENOMEM     no memory to copy it;
 *   AKT_EFULL      the requester's bounded mailbox (or a remote node's send
 *                  queue) is full: the reply was dropped, counted as
 *                  rejected; returned from receive, this fails the replier,
 *                  so check for it where requesters have bounded mailboxes;
 *   or, for a remote requester, the other codes of akt_tell's remote sends
 *   (akt/remote.h). */
int akt_reply(akt_ctx *ctx, const ProtobufCMessage *msg);

/* Forwards the current message to `to`, keeping its original sender (and
 * request id, so the final receiver's reply completes the original
 * request). Returns 0, AKT_ENOSENDER (no current message), or a send
 * error. */
int akt_forward(akt_ctx *ctx, akt_pid *to);

/* Writes a one-line text form of `msg` to buf (NUL terminated), in the shape
 * of protobuf's text format: `Ping { n: 3 name: "x" sub { a: 1 } }`, with
 * only the fields that are set. Returns the length written; a form that does
 * not fit is cut and ends in "...". */
size_t akt_msg_format(const ProtobufCMessage *msg, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
