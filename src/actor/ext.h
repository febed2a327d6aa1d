/* akt — the rarely used parts of an actor cell (internal).
 *
 * Allocated on first use so an idle actor that never becomes, requests or
 * starts a timer stays small. Owned by the cell's turn.
 */
#ifndef AKT_ACTOR_EXT_H
#define AKT_ACTOR_EXT_H

#include <stdatomic.h>
#include <stdint.h>

#include "akt/message.h"
#include "src/actor/cell.h"

/* An outstanding request of this actor. */
typedef struct akt__pending {
  uint64_t corr;        /* correlation id */
  akt_reply_fn fn;
  void *arg;
  uint64_t deadline;    /* backend time it times out */
} akt__pending;

/* An active actor timer. */
typedef struct akt__atimer {
  uint64_t key;         /* the user's key */
  uint64_t gen;         /* generation: identifies this start of the timer */
  akt_duration interval;/* 0 for one-shot */
  akt__env *tmpl;       /* the message to deliver (template) */
  uint64_t timer_id;    /* the backend timer, 0 when none is armed */
  akt__env *fire_env;   /* the TIMER_FIRE message the armed timer posts */
} akt__atimer;

/* Restart statistics of one child, kept by its parent (Akka's window:
 * restarts counted since the window opened) until the child terminates. */
typedef struct akt__restart_stats {
  akt_pid *child;         /* one reference */
  uint64_t window_start;  /* backend time the window opened */
  uint32_t count;         /* restarts in the window */
} akt__restart_stats;

struct akt__cell_ext {
  akt_receive_fn behaviors[AKT_MAX_BEHAVIORS];
  uint32_t nbehaviors;
  akt__pending *pending;
  uint32_t npending, cap_pending;
  uint64_t next_corr;
  /* One backend timer covers every pending request: armed for the earliest
   * deadline, never canceled by a reply (a stale fire finds nothing due). */
  uint64_t req_timer_id;
  akt__env *req_timer_env;   /* the REQ_TIMEOUT it posts, while armed */
  uint64_t req_timer_due;    /* the deadline it is armed for */
  akt__atimer *timers;
  uint32_t ntimers, cap_timers;
  uint64_t next_gen;
  akt_pid **watchers;   /* actors to notify with Terminated (one reference each) */
  uint32_t nwatchers, cap_watchers;
  akt_pid **watching;   /* actors this one watches (one reference each) */
  uint32_t nwatching, cap_watching;
  akt__sink sink;       /* sink cells only; set at creation, read by senders */
  akt__env **stash;     /* stashed envelopes, oldest first */
  uint32_t nstash, cap_stash;
  akt__env *front_head, *front_tail; /* unstashed: handled before the mailbox */
  akt__restart_stats *rstats; /* per child (parent side) */
  uint32_t nrstats, cap_rstats;
  akt_spawn_opts opts;  /* a copy of the spawn options (respawn, passivation, stash,
                           supervisor; arg lives in the cell) */
  uint64_t last_active; /* backend time of the last busy turn (passivation only) */
  _Atomic uint64_t rejected; /* sends the custom mailbox refused (any thread) */
  uint64_t passivate_timer;  /* backend timer id while armed */
  akt__env *passivate_env;   /* the PASSIVATE_CHECK message that timer posts */
};

/* The cell's ext, allocated zeroed on first use; NULL when out of memory. */
akt__cell_ext *akt__cell_ext_get(akt__cell *c);

/* Cancels every pending request and timer of the cell (their callbacks never
 * run). Called at termination and teardown. */
void akt__requests_cancel_all(akt__cell *c);
void akt__timers_cancel_all(akt__cell *c);

/* Handles a REPLY envelope in the requester's turn (takes ownership). */
void akt__request_on_reply(akt__cell *c, akt__env *env);

/* Handles the REQ_TIMEOUT system message `env` (taking it): times out
 * every request whose deadline passed and re-arms the timer for the next
 * with env itself, so re-arming needs no memory. */
void akt__request_on_timeout(akt__cell *c, akt__env *env);

/* Handles the TIMER_FIRE system message `env` (taking it; the meta's arg
 * is the timer's generation): queues the timer's message and re-arms a
 * repeating timer with env itself. */
void akt__timer_on_fire(akt__cell *c, akt__env *env);

/* Decides whether a timer message (AKT__ENV_TIMER, generation in the meta's arg) is
 * still wanted; returns 1 to deliver it. Updates one-shot bookkeeping. */
int akt__timer_accept(akt__cell *c, akt__env *env);

/* Stash (stash.c): frees (as dead letters) or requeues what is stashed. */
void akt__stash_drop_all(akt__cell *c);
void akt__stash_requeue_all(akt__cell *c);

/* Passivation (passivate.c): arms the idle check, with `spare` (a
 * PASSIVATE_CHECK envelope, taken) or a new envelope when spare is NULL;
 * handles the check firing (taking its envelope); stops the check. */
void akt__passivate_arm(akt__cell *c, akt_duration delay, akt__env *spare);
void akt__passivate_on_check(akt__cell *c, akt__env *env);
void akt__passivate_disarm(akt__cell *c);

/* Handles WATCH / UNWATCH system messages in the watched actor's turn. */
void akt__watch_on_watch(akt__cell *c, akt_pid *watcher);
void akt__watch_on_unwatch(akt__cell *c, akt_pid *watcher);

/* Sends Terminated to every watcher; at termination. */
void akt__watch_notify_all(akt__cell *c);

/* Withdraws every watch this actor placed (UNWATCH to each target, local or
 * remote); at termination, before its watch list is freed. */
void akt__watch_release_all(akt__cell *c);

/* Decides whether an akt.Terminated arriving at a watching actor is still
 * wanted (the watch is active); forgets the watch if so. Returns 1 to
 * deliver. */
int akt__watch_accept(akt__cell *c, akt__env *env);

/* Arms a backend timer that posts the system envelope `env` (taken) to
 * cell `c` after `delay`, writing the timer's id to *id: env holds a
 * reference to c while armed. Returns 0, or the backend's error (env is
 * then freed). (timers.c) */
int akt__sys_timer_start(akt__cell *c, akt_duration delay, akt__env *env, uint64_t *id);

/* Cancels a timer armed by akt__sys_timer_start with `env`: when canceled
 * in time, env is freed; otherwise it has fired and env is on its way to
 * the cell, whose handler frees or reuses it. */
void akt__sys_timer_cancel(akt__cell *c, uint64_t id, akt__env *env);

#endif
