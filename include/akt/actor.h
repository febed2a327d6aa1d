/* akt — actors: definitions, spawning, the context of a turn, behaviours,
 * timers.
 *
 * An actor is defined by an akt_actor_def (a kind name, the size of its
 * state, and callbacks). akt allocates the state zeroed, calls pre_start,
 * then receive for each message, one at a time — an actor never runs on two
 * threads at once — and post_stop when it stops. Callbacks get an akt_ctx,
 * valid only during the call, through which the actor reaches its state,
 * itself, the sender of the current message, and the system.
 */
#ifndef AKT_ACTOR_H
#define AKT_ACTOR_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/mailbox.h"
#include "akt/pid.h"
#include "akt/supervisor.h"
#include "akt/system.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_ctx akt_ctx;

/* Handles one message. `msg` is valid only during the call (copy what you
 * keep). Returns 0 when handled, AKT_EUNHANDLED when the message is not for
 * this actor (counted, logged, sent to dead letters), or another non-zero
 * code to report a failure, which the actor's supervisor handles. */
typedef int (*akt_receive_fn)(akt_ctx *ctx, const ProtobufCMessage *msg);

/* What an actor is. Usually a static const; it must outlive every actor
 * spawned from it. */
typedef struct akt_actor_def {
  const char *kind;        /* a name for traces and logs, e.g. "counter" */
  size_t state_size;       /* bytes of state, allocated zeroed; 0 for none */
  /* Runs in the actor before its first message. Non-zero is a failure. */
  int (*pre_start)(akt_ctx *ctx);
  /* The initial behaviour. Required. */
  akt_receive_fn receive;
  /* Runs once when the actor stops, after its children have stopped. */
  void (*post_stop)(akt_ctx *ctx);
  /* Restart hooks, for an actor restarted by its supervisor (or
   * akt_restart): pre_restart runs on the old state instead of post_stop,
   * post_restart on the fresh state instead of pre_start. `cause` is the
   * failure code (0 for akt_restart). Optional; a non-zero post_restart is
   * a failure like a failing pre_start. */
  void (*pre_restart)(akt_ctx *ctx, int cause);
  int (*post_restart)(akt_ctx *ctx, int cause);
} akt_actor_def;

/* Options for spawning. A zeroed struct (or NULL) means defaults. The
 * pointed-to objects must outlive the actor. */
typedef struct akt_spawn_opts {
  const void *arg;                   /* given to the actor as akt_ctx_arg() */
  const akt_supervisor *supervisor;  /* how this actor supervises its children */
  const akt_mailbox_type *mailbox;   /* NULL: the default unbounded MPSC mailbox */
  const void *mailbox_config;        /* given to mailbox->create */
  akt_duration passivate_after;      /* stop after this long without a message; 0 = never */
  uint32_t stash_capacity;           /* 0 = AKT_DEFAULT_STASH_CAPACITY */
} akt_spawn_opts;

#define AKT_DEFAULT_STASH_CAPACITY 1024

/* Limits. */
#define AKT_MAX_BEHAVIORS 16           /* depth of the become stack */
#define AKT_MAX_PENDING_REQUESTS 4096  /* outstanding requests per actor */
#define AKT_MAX_TIMERS 1024            /* active timers per actor */

/* Spawns an actor under /user named `name` (1..AKT_NAME_MAX of
 * [A-Za-z0-9_.-], not starting with '$'), or anonymous ("$<id>") when name
 * is NULL. pre_start runs asynchronously in the actor. On success writes a
 * new reference to *out unless out is NULL. Returns 0, AKT_EINVAL (no def or
 * receive, an incomplete mailbox type, or a supervisor akt/supervisor.h
 * refuses), AKT_ENAME, AKT_EEXIST (a live sibling has the name), AKT_ELIMIT
 * (max_actors or AKT_PATH_MAX), AKT_ESTOPPED (the system is shutting down),
 * or AKT_ENOMEM. */
int akt_spawn(akt_system *sys, const char *name, const akt_actor_def *def,
              const akt_spawn_opts *opts, akt_pid **out);

/* Spawns a child of the current actor; otherwise as akt_spawn. Returns the
 * same codes, AKT_ESTOPPED when the current actor is stopping. */
int akt_spawn_child(akt_ctx *ctx, const char *name, const akt_actor_def *def,
                    const akt_spawn_opts *opts, akt_pid **out);

/* Asks the actor to stop gracefully: it finishes the message it is handling,
 * stops its children, runs post_stop and terminates; messages still queued
 * go to dead letters. Asynchronous; callable from anywhere, including the
 * actor itself. A stop needs no memory, nor does any step of it (stopping
 * the children, their reports back), so it completes even when memory has
 * run out. Returns 0, AKT_EINVAL, or AKT_ESTOPPED (already terminated); for
 * a remote PID, the codes of a remote send (akt/remote.h). */
int akt_stop(akt_pid *pid);

/* Restarts a running actor in place, as its supervisor's RESTART would
 * (same PID; see akt/supervisor.h for what a restart does), with cause 0.
 * Asynchronous; each call is one restart. Returns 0, AKT_EINVAL,
 * AKT_ESTOPPED (stopping or terminated), AKT_ENOTSUP (not a local actor, or
 * a guardian), AKT_ENOMEM. */
int akt_restart(akt_pid *pid);

/* Spawns a new incarnation of a terminated actor (a passivated one, say):
 * same parent, path, definition and spawn options; a new PID (new id) is
 * written to *out unless out is NULL. Returns 0, AKT_EINVAL, AKT_ESTATE
 * (the actor has not terminated yet), AKT_ESTOPPED (its parent is gone),
 * AKT_EEXIST (the path was taken meanwhile), AKT_ENOTSUP (not local, a
 * guardian, or a router: akt/router.h), or the codes of akt_spawn. */
int akt_respawn(akt_pid *pid, akt_pid **out);

/* Kills the actor (Akka's Kill): right after the current message, ahead of
 * every queued message, the actor fails with AKT_EKILLED, and its
 * supervisor decides — the default decider stops it (post_stop runs,
 * children stop first, queued messages go to dead letters); a custom
 * decider may restart it instead. akt_stop, by contrast, is no failure and
 * involves no supervisor. A kill of an actor that already waits for its
 * supervisor's decision, or two kills before the actor runs, are one. Needs
 * no memory. Returns 0, AKT_EINVAL, AKT_ESTOPPED (already terminated), or
 * AKT_ENOTSUP (a remote PID, or a guardian). */
int akt_kill(akt_pid *pid);

/* The actor's state (state_size bytes, zeroed at start), or NULL if
 * state_size is 0. */
void *akt_ctx_state(akt_ctx *ctx);

/* The actor's own PID (borrowed). */
akt_pid *akt_ctx_self(akt_ctx *ctx);

/* The sender of the message being handled (borrowed), or NULL when the
 * message came from outside the system or from a timer. */
akt_pid *akt_ctx_sender(akt_ctx *ctx);

/* The parent's PID (borrowed); NULL only for the root guardian. */
akt_pid *akt_ctx_parent(akt_ctx *ctx);

/* The actor's system. */
akt_system *akt_ctx_system(akt_ctx *ctx);

/* The `arg` given in the spawn options (NULL if none). */
const void *akt_ctx_arg(akt_ctx *ctx);

/* The backend's monotonic time (virtual in the simulator), in ns. */
uint64_t akt_ctx_now(akt_ctx *ctx);

/* A random number from the backend (the node's seeded stream in the
 * simulator). */
uint64_t akt_ctx_random(akt_ctx *ctx);

/* Replaces the current behaviour with `fn` (discard_old non-zero) or pushes
 * `fn` on the behaviour stack (discard_old == 0). Takes effect from the next
 * message. Returns 0, AKT_EINVAL, AKT_ELIMIT (AKT_MAX_BEHAVIORS), or
 * AKT_ENOMEM. */
int akt_become(akt_ctx *ctx, akt_receive_fn fn, int discard_old);

/* Pops the behaviour stack, returning to the previous behaviour (the
 * definition's receive at the bottom). Returns 0, or AKT_ESTATE when the
 * stack holds only the initial behaviour. */
int akt_unbecome(akt_ctx *ctx);

/* Starts a timer owned by the actor that sends `msg` (copied) to the actor
 * itself after `delay`, then every `interval` if interval is non-zero. A
 * timer with the same key is replaced. Timers end with the actor; after
 * akt_timer_cancel no message of that timer is received, even one already
 * queued. Returns 0, AKT_EINVAL, AKT_ELIMIT (AKT_MAX_TIMERS), or AKT_ENOMEM. */
int akt_timer_start(akt_ctx *ctx, uint64_t key, akt_duration delay, akt_duration interval,
                    const ProtobufCMessage *msg);

/* Cancels the actor's timer `key`. Returns 0 or AKT_ENOENT (no such timer,
 * or a one-shot timer whose message was already received). */
int akt_timer_cancel(akt_ctx *ctx, uint64_t key);

/* 1 if the actor has an active timer `key`, else 0. */
int akt_timer_active(akt_ctx *ctx, uint64_t key);

/* Stashes the message being handled: it is kept instead of freed, until
 * akt_unstash or akt_unstash_all hands it back. The stash holds at most
 * stash_capacity messages (spawn option). On restart everything stashed is
 * handed back; on termination it goes to dead letters. Returns 0, AKT_EINVAL,
 * AKT_ESTATE (no message, or a request's reply), AKT_EFULL, AKT_ENOMEM. */
int akt_stash(akt_ctx *ctx);

/* Hands back the oldest stashed message: it is handled before any message
 * still in the mailbox. Returns 0, AKT_EINVAL or AKT_ENOENT (stash empty). */
int akt_unstash(akt_ctx *ctx);

/* Hands back every stashed message, oldest first, ahead of the mailbox.
 * Returns how many (>= 0) or AKT_EINVAL. */
int akt_unstash_all(akt_ctx *ctx);

/* Messages in the stash. */
size_t akt_stash_size(akt_ctx *ctx);

/* A snapshot of one actor's counters. */
typedef struct akt_actor_metrics {
  uint64_t mailbox_size;       /* user messages waiting (approximate) */
  uint64_t processed;          /* user messages taken from the mailbox */
  uint64_t rejected;           /* sends its bounded mailbox refused (AKT_EFULL) */
  uint32_t restarts;           /* times restarted */
  uint32_t failures;           /* failures reported */
  uint64_t last_processing_ns; /* how long a recent receive took: one in 64 is timed */
  uint64_t uptime_ns;          /* since spawn; frozen at termination */
  int running;                 /* as akt_pid_is_running */
} akt_actor_metrics;

/* Fills *out for a local actor (running or terminated). Returns 0,
 * AKT_EINVAL, or AKT_ENOTSUP (a remote PID). */
int akt_actor_get_metrics(akt_pid *pid, akt_actor_metrics *out);

/* Logs a printf-style line from the actor, followed by ` actor=<path>`,
 * under the system's log rules (see akt_log). */
void akt_ctx_log(akt_ctx *ctx, akt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Blocking work, off the actor: a work function runs on a thread pool
 * (production) or as a scheduled completion (simulator) and produces a
 * result message, which is sent to an actor — the pipe-to pattern. */
typedef struct akt_work akt_work;

/* Runs off the actor threads: must not touch actor state. Produces its
 * result with akt_work_result and returns 0; a non-zero return sends
 * akt.WorkFailed{code} instead. */
typedef int (*akt_work_fn)(akt_work *w, void *arg);

/* Sets the work's result (copied; the last call wins). Returns 0,
 * AKT_EINVAL, AKT_ELIMIT, AKT_ENOMEM. */
int akt_work_result(akt_work *w, const ProtobufCMessage *msg);

/* Runs fn(w, arg) off the actors and sends its result to `to` with
 * `sender` (may be NULL) as the sender. A work that returns 0 without a
 * result sends nothing. Returns 0, AKT_EINVAL, AKT_ENOMEM, AKT_ESTOPPED
 * (the backend is shutting down). */
int akt_pipe_to(akt_system *sys, akt_work_fn fn, void *arg, akt_pid *to, akt_pid *sender);

/* Watches `target` from the current actor: when the target terminates, the
 * actor receives one akt.Terminated message (proto/akt/actor.proto) whose
 * sender is the target — at once if the target has already terminated.
 * Watching the same target twice still gives one Terminated. When the
 * watching actor terminates, its watches are withdrawn. Returns 0,
 * AKT_EINVAL, AKT_ELIMIT (AKT_MAX_WATCHES), or AKT_ENOMEM. */
#define AKT_MAX_WATCHES 65536
int akt_watch(akt_ctx *ctx, akt_pid *target);

/* Stops watching `target`: no Terminated from it is received afterwards,
 * even one already queued. Returns 0, AKT_EINVAL, AKT_ENOENT (not
 * watched), or AKT_ENOMEM when the target could not be told (it keeps the
 * watch, and the Terminated it sends in the end is dropped here); for a
 * remote target, the codes of a remote send. */
int akt_unwatch(akt_ctx *ctx, akt_pid *target);

/* Watches `target` on behalf of `watcher` from outside an actor (probes and
 * tests use it): `watcher` receives the Terminated message. No
 * de-duplication happens on the watcher's side. Returns 0, AKT_EINVAL,
 * AKT_ENOMEM. */
int akt_watch_as(akt_pid *watcher, akt_pid *target);

/* Undoes akt_watch_as. Returns 0, AKT_EINVAL, AKT_ENOMEM. */
int akt_unwatch_as(akt_pid *watcher, akt_pid *target);

#ifdef __cplusplus
}
#endif

#endif
