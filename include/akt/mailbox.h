/* akt — mailboxes: where an actor's user messages wait.
 *
 * The default mailbox is unbounded and built into the actor: a send claims
 * space in the receiver's current mailbox segment with one atomic
 * instruction and copies the message there (segments are recycled, so a
 * steady stream of sends allocates nothing). An actor can be given another
 * mailbox in its spawn options: the three below ship with akt, and an
 * application can implement akt_mailbox_type itself. System messages (stop,
 * watch, restart...) never go through these: they have their own queue and
 * always overtake user messages.
 */
#ifndef AKT_MAILBOX_H
#define AKT_MAILBOX_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/pid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One queued message. Owned by the mailbox while queued; akt frees it after
 * the actor handled it, or when push refuses it. */
typedef struct akt_mail akt_mail;

/* The message (valid while the mail lives). */
const ProtobufCMessage *akt_mail_message(const akt_mail *m);

/* The sender (borrowed), or NULL. */
akt_pid *akt_mail_sender(const akt_mail *m);

/* A pointer-sized field the mailbox may use while it holds the mail, e.g.
 * to chain mails in a list. */
void **akt_mail_link(akt_mail *m);

/* A mailbox implementation. Every function must be safe to call as the
 * comment says; akt serializes consumers (one actor turn at a time). */
typedef struct akt_mailbox_type {
  const char *name;
  /* Creates the mailbox of one actor from the spawn option mailbox_config.
   * Returns NULL on failure, out of memory or an invalid config (the spawn
   * then fails with AKT_ENOMEM). */
  void *(*create)(const void *config);
  /* Frees a mailbox that akt has emptied. */
  void (*destroy)(void *mb);
  /* Queues `m`. Called from any thread, concurrently. Returns 0; AKT_EFULL
   * to refuse it (the sender then gets AKT_EFULL, and akt counts it in
   * akt_system_stats.rejected and the actor's metrics); or AKT_ENOMEM when
   * it has no memory to queue it (the sender gets AKT_ENOMEM). On an error
   * akt frees m. */
  int (*push)(void *mb, akt_mail *m);
  /* Removes and returns the next mail, or NULL. Consumer only. */
  akt_mail *(*pop)(void *mb);
  /* Mails queued. Called by the consumer after it marked itself idle: a
   * push that completed before must be counted (a mutex gives this). */
  size_t (*size)(void *mb);
} akt_mailbox_type;

/* An unbounded MPSC queue (Vyukov's intrusive list) as a mailbox object,
 * for code that wants one; an actor spawned with it behaves as with the
 * default. Config: none. */
extern const akt_mailbox_type akt_mailbox_unbounded;

/* Bounded FIFO: a send to a full mailbox fails with AKT_EFULL (counted in
 * akt_system_stats.rejected and in the actor's akt_actor_metrics.rejected).
 * Config: a const akt_bounded_config * (NULL: the default capacity). */
typedef struct akt_bounded_config {
  size_t capacity; /* messages; 0 = AKT_DEFAULT_BOUNDED_CAPACITY */
} akt_bounded_config;
#define AKT_DEFAULT_BOUNDED_CAPACITY 1024
extern const akt_mailbox_type akt_mailbox_bounded;

/* Stable priority: higher priority first, FIFO among equal priorities.
 * Config: a const akt_priority_config * (required, with `priority` set and
 * a capacity of at most AKT_PRIORITY_MAX_CAPACITY). */
typedef struct akt_priority_config {
  /* The priority of a message; called on the sender's thread. */
  int (*priority)(const ProtobufCMessage *msg, void *arg);
  void *arg;
  size_t capacity; /* 0 = AKT_PRIORITY_MAX_CAPACITY; full sends fail with AKT_EFULL */
} akt_priority_config;
#define AKT_PRIORITY_MAX_CAPACITY UINT32_MAX /* messages in one priority mailbox */
extern const akt_mailbox_type akt_mailbox_priority;

#ifdef __cplusplus
}
#endif

#endif
