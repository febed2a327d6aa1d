/* akt — the actor cell: an actor's runtime state (internal).
 *
 * A local PID and its cell are one allocation (pid, then cell, then the path
 * string), so a PID stays valid — and can still receive messages, which go to
 * dead letters — for as long as anyone holds it. The actor's state and its
 * rarely used parts (behaviour stack, pending requests, timers, watchers)
 * are separate allocations freed when the actor terminates.
 *
 * Threading: `sched` and `life` are atomics; the user mailbox is an MPSC
 * queue and system messages a lock-free stack; the tree links
 * (parent/children/siblings), `listed` and the registry chain are guarded
 * by the system lock; everything else belongs to the actor's turn.
 *
 * System messages that must not be lost cost no memory. Stop, kill, the
 * supervisor's resume and restart, and a child's end are signals: bits in
 * the low end of the system-message stack's head, set by one atomic or, so
 * posting one cannot fail; each is idempotent, so two of a kind pending at
 * once are one. A child's failure travels as a FAILED envelope and, when
 * there is no memory for one, as a mark in the child (see
 * akt__cell_fail). So a stop always reaches a child, a parent always
 * learns that a child ended, and a supervisor's decision always reaches its
 * child: shutdown cannot hang for want of memory, and no child stays
 * suspended forever. (An idle actor has no room for preallocated
 * envelopes: it is 256 bytes, docs/performance.md.)
 */
#ifndef AKT_ACTOR_CELL_H
#define AKT_ACTOR_CELL_H

#include <stdatomic.h>
#include <stdint.h>

#include "akt/actor.h"
#include "akt/mailbox.h"
#include "akt/supervisor.h"
#include "akt/backend.h"
#include "src/actor/envelope.h"
#include "src/actor/mailq.h"
#include "src/util/pool.h"

typedef struct akt_ctx akt__cell; /* the cell is the turn's context */
typedef struct akt__cell_ext akt__cell_ext;

/* Lifecycle of a cell; only moves forward, one step at a time (a sink
 * cell is born RUNNING and goes straight to TERMINATED when closed). */
enum {
  AKT__LIFE_STARTING = 0, /* CREATE not yet processed */
  AKT__LIFE_RUNNING = 1,
  AKT__LIFE_STOPPING = 2, /* waiting for children; user messages wait */
  AKT__LIFE_TERMINATED = 3
};

/* System signals (see the top of this file), in `syshead`'s low bits. A
 * turn handles those it takes after the envelopes taken with them, in the
 * order below; a stop makes the rest moot, and a restart a resume. */
#define AKT__SIG_STOP 0x1u         /* stop gracefully */
#define AKT__SIG_KILL 0x2u         /* fail with AKT_EKILLED (akt_kill) */
#define AKT__SIG_RESTART 0x4u      /* the supervisor's restart; the cause is in `cause` */
#define AKT__SIG_RESUME 0x8u       /* the supervisor's resume */
#define AKT__SIG_CHILD_DONE 0x10u  /* a child terminated */
#define AKT__SIG_CHILD_FAILED 0x20u /* a child marked a failure in itself (AKT__LISTED_FAILED) */
#define AKT__SIG_MASK 0x3fu
/* System envelopes are pool blocks, aligned far enough to leave the bits
 * free (asserted where they are pushed). */
_Static_assert(AKT__SIG_MASK < AKT__POOL_ALIGN, "signals fit below the envelopes' alignment");

/* Marks started_at as a frozen uptime. Backend times stay below it: they
 * count nanoseconds from boot (or from the start of a simulation), and it
 * is 292 years. */
#define AKT__UPTIME_FROZEN (UINT64_C(1) << 63)

/* Scheduling flag: an actor is in at most one run queue at a time. */
enum { AKT__SCHED_IDLE = 0, AKT__SCHED_QUEUED = 1 };

/* Delivery hook of a sink cell (ask futures, probes): receives envelopes
 * directly, in the sender's thread, instead of a mailbox and turns. Takes
 * ownership of env. */
typedef void (*akt__sink_fn)(akt__cell *c, akt__env *env);

/* A sink cell's hook and data (kept in the cell's ext). */
typedef struct akt__sink {
  akt__sink_fn fn;
  void *data;
  void (*dtor)(void *data); /* frees data when the PID is freed */
} akt__sink;

/* A PID. A local PID is followed in the same allocation by its cell and
 * its path; a remote PID by an akt__pid_links and remoting's data (see
 * src/remote). 40 bytes: an idle actor is its PID, cell and path (one
 * allocation of at most 256 bytes with an anonymous actor's path), so
 * every word counts. */
struct akt_pid {
  _Atomic uint32_t refs;
  uint16_t flags;             /* AKT__PID_* */
  uint16_t name_off;          /* the name's offset in path */
  uint64_t id;
  akt_system *sys;
  akt__cell *cell;            /* NULL for a remote PID */
  const char *path;           /* "/user/a/b" (stored after the cell) */
};

#define AKT__PID_TEMP 0x1u /* a temporary (ask) actor, not in the registry */

/* A remote PID's links into its system's list of remote PIDs (system
 * lock); they follow the PID. A local PID needs none: the system reaches it
 * through the actor tree or, once out of the tree, through the list of
 * detached cells (see `listed`). */
typedef struct akt__pid_links {
  akt_pid *prev, *next;
} akt__pid_links;

/* Where a cell is listed (system lock). */
#define AKT__LISTED_REGISTRY 0x1u /* in the path registry */
#define AKT__LISTED_DETACHED 0x2u /* out of the tree, in sys->detached */
/* A failure waits in the cell for its parent (code in `cause`, source in
 * the bits under AKT__LISTED_SOURCE): no FAILED message could be made. */
#define AKT__LISTED_FAILED 0x4u
#define AKT__LISTED_SOURCE_SHIFT 4
#define AKT__LISTED_SOURCE (0x7u << AKT__LISTED_SOURCE_SHIFT)

/* The cell is laid out for three kinds of access, in separate cache lines:
 * senders write the mailbox head (next to the PID they read anyway) and
 * read `sched`, `life`, `kind` and `sys`; the turn writes the consumer's
 * fields at the end on every message. Between them lie fields touched only
 * at spawn, scheduling hand-offs, tree changes or failures, or only read
 * by the turn: at least 48 bytes of them on each side of the senders' read
 * fields, so that with the allocation only 16-byte aligned no line holds
 * both the head and those fields, or those fields and the turn's writes.
 * (When the head shared a line with `life`, which the turn reads on every
 * message, each tell paid two cache misses more: ~10 ns.) */
struct akt_ctx {
  /* The backend time of the spawn while the actor lives; at termination
   * its final uptime, or-ed with AKT__UPTIME_FROZEN (read by metrics only;
   * no cell field is free for a separate end time). */
  _Atomic uint64_t started_at;
  /* Written by every sender (the producers). Its `pushed` counts the user
   * messages accepted by the mailbox, custom mailboxes included. On
   * x86-64 the head must be 16-byte aligned (see mailq.h): the cell follows
   * the 40-byte PID in a malloc'd block, and started_at pads it to 48. */
  akt__mailq_head uhead;      /* the default mailbox's head */

  /* Cold: written at spawn, hand-offs to the backend and tree changes. */
  akt_runnable runnable;      /* what the backend schedules */
  const void *arg;            /* spawn option */
  akt_pid *parent;            /* one reference; NULL for the root */
  /* Tree, guarded by the system lock. Children are listed through their
   * siblings links, NULL-terminated forwards; the first child's
   * prev_sibling is the last child. A detached cell (out of the tree) is
   * listed through the same links in sys->detached. */
  akt__cell *first_child, *prev_sibling;

  /* Read by senders on every message; written at lifecycle changes. */
  _Atomic uint8_t sched;      /* AKT__SCHED_* */
  _Atomic uint8_t life;       /* AKT__LIFE_* */
  uint8_t kind;               /* AKT__KIND_*: what the cell is, fixed at creation */
  uint8_t listed;             /* AKT__LISTED_* (system lock) */
  uint32_t nchildren;         /* (system lock) */
  akt_system *sys;

  /* Read by the turn, written rarely. */
  /* System messages, newest first, and the pending signals (AKT__SIG_*)
   * in the low bits: senders push an envelope with a CAS that keeps the
   * bits, or set a bit with an atomic or; the turn takes everything at
   * once, restoring the envelopes' arrival order. They are rare, so a
   * stack (one word) rather than a queue (three). */
  _Atomic uintptr_t syshead;
  const akt_actor_def *def;
  akt__cell *next_sibling;    /* (tree, see above) */
  void *reg_next;             /* registry hash chain (util/strtab.h) */
  _Atomic uint32_t restarts, failures;
  void *state;

  /* Written by the actor's turns (the consumer). */
  union {
    akt__mailq_tail user;     /* the default mailbox's consumer part */
    struct {
      const akt_mailbox_type *type;
      void *mb;
    } custom;                 /* a custom mailbox (kind & AKT__KIND_CUSTOM_MBOX) */
  } mbox;
  akt__env *cur;              /* the envelope being handled, or NULL */
  akt__cell_ext *ext;         /* lazily allocated */
  _Atomic uint64_t processed; /* user messages taken out of the mailbox */
  _Atomic uint64_t last_ns;   /* duration of the last timed receive */
  uint32_t flags;             /* AKT__CELL_SUSPENDED/RESTARTING/PASSIVATED; turn-owned */
  /* A failure code: the cause of a restart (the parent stores it before
   * AKT__SIG_RESTART, the turn before a requested restart), or the failure
   * this actor marked in itself for want of memory for a FAILED message. */
  _Atomic int32_t cause;
};

/* Bytes kept between the senders' writes, their reads and the turn's
 * writes (see above). */
#define AKT__CELL_LINE_GAP 48
_Static_assert(offsetof(akt__cell, sched) >=
                       offsetof(akt__cell, uhead) + sizeof(akt__mailq_head) + AKT__CELL_LINE_GAP &&
                   offsetof(akt__cell, mbox) >=
                       offsetof(akt__cell, sys) + sizeof(akt_system *) + AKT__CELL_LINE_GAP,
               "a gap between the senders' writes, their reads and the turn's writes");
_Static_assert((sizeof(akt_pid) + offsetof(akt__cell, uhead)) % 16 == 0 &&
                   _Alignof(max_align_t) >= 16,
               "the mailbox head must be 16-byte aligned in a cell's allocation");

/* The PID a cell is allocated with (it precedes the cell). */
static inline akt_pid *akt__self(const akt__cell *c) { return (akt_pid *)(uintptr_t)c - 1; }

/* A PID's name (the last element of its path). */
static inline const char *akt__pid_name(const akt_pid *p) { return p->path + p->name_off; }

/* A remote PID's links (see akt__pid_links). */
static inline akt__pid_links *akt__pid_links_of(akt_pid *p) { return (akt__pid_links *)(p + 1); }

/* Cell flags (turn-owned state). */
#define AKT__CELL_SUSPENDED 0x1u   /* failed; waits for its parent's directive */
#define AKT__CELL_RESTARTING 0x2u  /* stopping its children before a restart */
#define AKT__CELL_PASSIVATED 0x40u /* stopped for being idle */

/* Cell kinds (fixed at creation; read by senders, so kept apart from the
 * turn's flags, whose cache line the turn keeps writing). */
#define AKT__KIND_CUSTOM_MBOX 0x8u /* mbox.custom is in use */
#define AKT__KIND_GUARDIAN 0x10u   /* root, /user or /system */
#define AKT__KIND_SINK 0x20u       /* a sink cell (ext->sink) */

/* Why mail to terminated cell `c` is a dead letter: "passivated" for an
 * actor that stopped for being idle, else "terminated". Call only after
 * reading life == AKT__LIFE_TERMINATED (acquire): the turn's flags are
 * final by then, so any thread may read them. */
static inline const char *akt__cell_gone_reason(const akt__cell *c) {
  return (c->flags & AKT__CELL_PASSIVATED) ? "passivated" : "terminated";
}

/* Lists cell `c`, out of the actor tree, in sys->detached, where it stays
 * until its PID is freed (system lock held; pid.c). */
void akt__cell_detach(akt_system *sys, akt__cell *c);

/* Lists a new remote PID in sys->remote_pids (system lock held; pid.c). */
void akt__pid_track_remote(akt_system *sys, akt_pid *pid);

/* Allocates a cell (with its PID, whose single reference the caller owns)
 * for `path`. Returns NULL when out of memory. */
akt__cell *akt__cell_new(akt_system *sys, uint64_t id, const char *path, const akt_actor_def *def);

/* Queues a user envelope on a cell and makes sure it runs (or hands it to
 * the sink). Takes ownership of env, also on failure. Returns 0,
 * AKT_EFULL when a bounded mailbox refused it (env freed, counted), or
 * AKT_ENOMEM (env freed). */
int akt__cell_post(akt__cell *c, akt__env *env);

/* Claims `nslots` (1..AKT__MAILQ_MAX_CLAIM) slots in the default mailbox of
 * `c` (not a sink, no custom mailbox) for an inline envelope, counting one
 * message; NULL when out of memory. Fill them with an envelope of pool
 * class AKT__ENV_INLINE, then call akt__cell_publish. */
void *akt__cell_claim(akt__cell *c, unsigned nslots);

/* Makes the inline envelope written into claimed slots visible to the
 * receiver and makes sure the receiver runs. */
void akt__cell_publish(akt__cell *c, akt__env *env, unsigned nslots);

/* Queues a system envelope (from akt__env_new_sys) on a cell and makes
 * sure it runs. Takes ownership of env. */
void akt__cell_post_sys(akt__cell *c, akt__env *env);

/* Sets the signals `sig` (AKT__SIG_*) on a cell and makes sure it runs.
 * Never fails. A sink cell has no lifecycle: it ignores them. */
void akt__cell_signal(akt__cell *c, uintptr_t sig);

/* Signals the supervisor's restart, for failure `cause`. Never fails. */
void akt__cell_signal_restart(akt__cell *c, int cause);

/* Frees the state and the ext's lists (not the ext); at termination. */
void akt__cell_free_parts(akt__cell *c);

/* Frees everything a cell owns — queued envelopes, mailbox, state, ext,
 * sink data — but not its PID; when the PID goes, and at teardown. */
void akt__cell_dispose(akt__cell *c);

/* The current behaviour (top of the become stack, else def->receive). */
akt_receive_fn akt__cell_behavior(akt__cell *c);

/* Processes one system envelope in the cell's turn (lifecycle.c). Takes
 * ownership of env. */
void akt__cell_handle_sys(akt__cell *c, akt__env *env);

/* Processes the signals `sigs` (AKT__SIG_*) in the cell's turn, in their
 * order (lifecycle.c). */
void akt__cell_handle_signals(akt__cell *c, uintptr_t sigs);

/* Moves the cell's life forward to `to`, asserting the step is allowed. */
void akt__cell_set_life(akt__cell *c, uint32_t to);

/* Reports a failure of the cell in its own turn: suspends it and asks its
 * parent's supervisor (supervise.c). */
void akt__cell_fail(akt__cell *c, int code, akt_failure_source source);

/* 0 if `sup` (may be NULL) is a valid supervisor, else AKT_EINVAL
 * (supervise.c). */
int akt__supervisor_check(const akt_supervisor *sup);

/* The definition of pool routers (router.c): a router's options die with
 * it, so akt_respawn refuses a terminated router. */
extern const akt_actor_def akt__router_def;

/* Supervision, in the cell's turn (supervise.c): a child's FAILED
 * envelope; the children that marked a failure in themselves
 * (AKT__SIG_CHILD_FAILED); the supervisor's resume and restart. */
void akt__supervise_on_failed(akt__cell *c, akt__env *env);
void akt__supervise_on_marked_failures(akt__cell *c);
void akt__supervise_on_resume(akt__cell *c);
void akt__supervise_on_restart(akt__cell *c, int cause);
/* Called when children are gone (AKT__SIG_CHILD_DONE): forgets their
 * restart statistics; finishes a pending restart once the last child is
 * gone. */
void akt__supervise_children_done(akt__cell *c);

/* Runs pre_start (or post_restart) and reports START; fails the cell on a
 * non-zero result. */
void akt__cell_start(akt__cell *c, int restarted);

/* Begins a graceful stop of the cell, in its own turn. */
void akt__cell_begin_stop(akt__cell *c);

/* Sends every user message still queued to dead letters (terminated cells;
 * consumer side). */
void akt__cell_drain(akt__cell *c);

/* Takes the next user envelope (front queue, then mailbox), or NULL.
 * Consumer only. */
akt__env *akt__cell_pop_user(akt__cell *c);

/* The sink of a sink cell, or NULL. */
akt__sink *akt__cell_sink(akt__cell *c);

#endif
