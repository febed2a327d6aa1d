/* akt — the actor cell: an actor's runtime state (internal).
 *
 * A local PID and its cell are one allocation (pid, then cell, then the path
 * string), so a PID stays valid — and can still receive messages, which go to
 * dead letters — for as long as anyone holds it. The actor's state and its
 * rarely used parts (behaviour stack, pending requests, timers, watchers)
 * are separate allocations freed when the actor terminates.
 *
 * Threading: `sched` and `life` are atomics; the mailbox queues are MPSC;
 * the tree links (parent/children/siblings) and the registry chain are
 * guarded by the system lock; everything else belongs to the actor's turn.
 */
#ifndef AKT_ACTOR_CELL_H
#define AKT_ACTOR_CELL_H

#include <stdatomic.h>
#include <stdint.h>

#include "akt/actor.h"
#include "akt/backend.h"
#include "src/actor/envelope.h"
#include "src/actor/mpsc.h"

typedef struct akt_ctx akt__cell; /* the cell is the turn's context */
typedef struct akt__cell_ext akt__cell_ext;

/* Lifecycle of a cell; only moves forward. */
enum {
  AKT__LIFE_STARTING = 0, /* CREATE not yet processed */
  AKT__LIFE_RUNNING = 1,
  AKT__LIFE_STOPPING = 2, /* waiting for children; user messages wait */
  AKT__LIFE_TERMINATED = 3
};

/* Scheduling flag: an actor is in at most one run queue at a time. */
enum { AKT__SCHED_IDLE = 0, AKT__SCHED_QUEUED = 1 };

/* Delivery hook of a sink cell (ask futures, probes): receives envelopes
 * directly, in the sender's thread, instead of a mailbox and turns. Takes
 * ownership of env. */
typedef void (*akt__sink_fn)(akt__cell *c, akt__env *env);

struct akt_pid {
  _Atomic uint32_t refs;
  uint32_t flags;             /* AKT__PID_* */
  uint64_t id;
  akt_system *sys;
  akt__cell *cell;            /* NULL for a remote PID */
  const char *path;           /* "/user/a/b" (stored after the cell) */
  const char *name;           /* points into path */
  akt_pid *all_prev, *all_next; /* every PID of the system (system lock) */
  void *remote;               /* remoting's data for a remote PID */
};

#define AKT__PID_TEMP 0x1u /* a temporary (ask) actor, not in the registry */

struct akt_ctx {
  akt_runnable runnable;      /* what the backend schedules */
  _Atomic uint32_t sched;     /* AKT__SCHED_* */
  _Atomic uint32_t life;      /* AKT__LIFE_* */
  akt__mpsc sysq;             /* system messages, processed first */
  akt__mpsc userq;            /* user messages */
  akt_pid *self;              /* the PID this cell is allocated with */
  akt_pid *parent;            /* one reference; NULL for the root */
  akt_system *sys;
  const akt_actor_def *def;
  const void *arg;            /* spawn option */
  void *state;
  akt__env *cur;              /* the envelope being handled, or NULL */
  akt__sink_fn sink;          /* non-NULL for sink cells */
  void *sink_data;
  void (*sink_dtor)(void *data); /* frees sink_data when the PID is freed */
  akt__cell_ext *ext;         /* lazily allocated */
  /* Tree, guarded by the system lock. */
  akt__cell *first_child, *last_child, *prev_sibling, *next_sibling;
  akt__cell *reg_next;        /* registry hash chain */
  uint32_t nchildren;
  uint32_t in_registry;
  uint64_t processed;         /* user messages handled */
};

/* Allocates a cell (with its PID, whose single reference the caller owns)
 * for `path`. Returns NULL when out of memory. */
akt__cell *akt__cell_new(akt_system *sys, uint64_t id, const char *path, const akt_actor_def *def);

/* Queues a user envelope on a cell and makes sure it runs (or hands it to
 * the sink). Takes ownership of env. */
void akt__cell_post(akt__cell *c, akt__env *env);

/* Queues a system envelope on a cell and makes sure it runs. Takes
 * ownership of env. */
void akt__cell_post_sys(akt__cell *c, akt__env *env);

/* Frees the ext part and the state; for termination and teardown. */
void akt__cell_free_parts(akt__cell *c);

/* The current behaviour (top of the become stack, else def->receive). */
akt_receive_fn akt__cell_behavior(akt__cell *c);

/* Processes one system envelope in the cell's turn (lifecycle.c). Takes
 * ownership of env. */
void akt__cell_handle_sys(akt__cell *c, akt__env *env);

/* Handles a failure code from receive, pre_start or a continuation in the
 * cell's turn (supervision). */
void akt__cell_fail(akt__cell *c, int code, const char *where);

/* Begins a graceful stop of the cell, in its own turn. */
void akt__cell_begin_stop(akt__cell *c);

/* Sends every user message still queued to dead letters (terminated cells;
 * consumer side). */
void akt__cell_drain(akt__cell *c);

#endif
