/* akt — supervision: what a parent does when a child fails.
 *
 * A child fails when its receive, its pre_start or a request continuation
 * returns an error code (anything but 0 and AKT_EUNHANDLED). The failing
 * child suspends itself — it handles no user message until told — and its
 * parent applies its supervisor (the one given in the parent's spawn
 * options, or the default): a decider maps the failure to a directive,
 * which the strategy applies to the failed child alone (one-for-one) or to
 * all the parent's children (one-for-all).
 *
 * Directives:
 *   RESUME    the child continues with the next message, state kept;
 *   RESTART   the child's children stop (their post_stop runs), then the
 *             child's pre_restart hook (default: post_stop) runs, its state
 *             is zeroed, its become stack, timers and pending requests are
 *             dropped, everything it stashed is handed back ahead of its
 *             mailbox (as akt_unstash_all does), and its post_restart hook
 *             (default: pre_start) runs; its mailbox and its watchers are
 *             kept. The message that failed is not retried. pre_start may
 *             spawn the children again (Akka's default semantics);
 *   STOP      the child stops gracefully (post_stop runs);
 *   ESCALATE  the parent fails with the same code, and its own parent
 *             decides; the failed child stays suspended until then (it is
 *             restarted with the parent, or resumed when the parent is).
 *
 * Neither a failure's report nor a directive needs memory to get through
 * (akt/actor.h): a decision always reaches its child.
 *
 * Restarts are limited: more than max_restarts restarts of one child within
 * `within` stop that child and escalate the failure. Restarts may be delayed
 * with exponential backoff (backoff_min doubling up to backoff_max), with
 * jitter drawn from the backend's random stream (seeded in the simulator).
 */
#ifndef AKT_SUPERVISOR_H
#define AKT_SUPERVISOR_H

#include <stdint.h>

#include "akt/pid.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum akt_directive {
  AKT_DIRECTIVE_RESUME = 1,
  AKT_DIRECTIVE_RESTART = 2,
  AKT_DIRECTIVE_STOP = 3,
  AKT_DIRECTIVE_ESCALATE = 4
} akt_directive;

typedef enum akt_strategy {
  AKT_ONE_FOR_ONE = 0, /* the directive applies to the failed child */
  AKT_ONE_FOR_ALL = 1  /* the directive applies to every child */
} akt_strategy;

/* Where a failure happened. */
typedef enum akt_failure_source {
  AKT_FAILED_IN_RECEIVE = 1,
  AKT_FAILED_IN_PRE_START = 2,
  AKT_FAILED_IN_CONTINUATION = 3, /* a request's reply or timeout handler */
  AKT_FAILED_ESCALATED = 4,       /* a child's failure its supervisor escalated */
  AKT_FAILED_KILLED = 5           /* akt_kill (code AKT_EKILLED) */
} akt_failure_source;

/* A failure, as the decider sees it. */
typedef struct akt_failure {
  int code;                  /* the error code the actor returned */
  akt_failure_source source;
  akt_pid *child;            /* the failed child (borrowed for the call) */
  uint32_t restarts;         /* restarts of this child within the window so far */
} akt_failure;

/* Maps a failure to a directive. Runs in the parent's turn. */
typedef akt_directive (*akt_decider_fn)(const akt_failure *f, void *arg);

/* A supervisor. A zeroed struct is the default: one-for-one, the default
 * decider, unlimited restarts, no backoff. Given by pointer in the spawn
 * options; it must outlive the actor (a static const is typical). */
typedef struct akt_supervisor {
  akt_strategy strategy;
  akt_decider_fn decider;     /* NULL: akt_default_decider */
  void *decider_arg;
  uint32_t max_restarts;      /* per child within `within`; 0 = unlimited */
  akt_duration within;        /* the window; 0 = forever */
  akt_duration backoff_min;   /* first restart delay; 0 = restart at once */
  akt_duration backoff_max;   /* cap of the doubling delay; 0 = backoff_min */
  uint32_t jitter_percent;    /* +/- this percent of random jitter (0..AKT_MAX_JITTER_PERCENT) */
} akt_supervisor;

/* The largest jitter_percent. A supervisor with a larger one, with
 * backoff_max below backoff_min, or with an unknown strategy is refused by
 * the spawn that names it (AKT_EINVAL); it must not change while in use. */
#define AKT_MAX_JITTER_PERCENT 100

/* The default decider: a failed pre_start stops the child (restarting it
 * would fail again), so does a kill (AKT_EKILLED); any other failure
 * restarts it. */
akt_directive akt_default_decider(const akt_failure *f, void *arg);

/* The name of a directive ("restart"), for logs. */
const char *akt_directive_name(akt_directive d);

#ifdef __cplusplus
}
#endif

#endif
