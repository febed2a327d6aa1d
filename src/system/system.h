/* akt — the system object (internal). */
#ifndef AKT_SYSTEM_SYSTEM_H
#define AKT_SYSTEM_SYSTEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "akt/system.h"
#include "src/actor/cell.h"
#include "src/util/strtab.h"

/* System run states. */
enum { AKT__SYS_RUNNING = 0, AKT__SYS_SHUTTING_DOWN = 1, AKT__SYS_DOWN = 2 };

typedef struct akt__type_entry akt__type_entry;
typedef struct akt__events akt__events;
typedef struct akt__sched akt__sched;

/* Host and address strings a system keeps after akt__system_set_address
 * replaced them (two per change), for PIDs being formatted meanwhile. */
#define AKT__SYS_OLD_STRINGS 8

/* What fired, in the `code` of AKT_EV_TIMER trace records. */
typedef enum akt__timer_kind {
  AKT__TIMER_KIND_ACTOR = 1,     /* an actor timer (akt_timer_start) */
  AKT__TIMER_KIND_REQUEST = 2,   /* a request's timeout */
  AKT__TIMER_KIND_PASSIVATE = 3, /* the passivation check */
  AKT__TIMER_KIND_SCHEDULED = 4  /* a scheduled message (akt_schedule) */
} akt__timer_kind;

/* Actor lifecycle events published on the event stream. */
typedef enum akt__event_kind {
  AKT__EVENT_STARTED = 1,
  AKT__EVENT_STOPPED,
  AKT__EVENT_RESTARTED,
  AKT__EVENT_PASSIVATED
} akt__event_kind;

struct akt_system {
  char name[AKT_SYSTEM_NAME_MAX + 1];
  char *host;
  uint16_t port;
  char *address;               /* akt://name@host:port */
  akt_backend *backend;
  akt_system_options opts;     /* with defaults filled in */
  int tracing;                 /* backend wants trace events */

  pthread_mutex_t lock;        /* tree, registry, PID list, type registry, ids */
  uint64_t next_id;
  akt_pid *root, *user, *system_guardian; /* one reference each */
  akt__strtab reg;             /* path registry: cells by path (registry.c) */
  /* Every PID struct, for teardown: local ones in the actor tree under
   * root or in `detached`, remote ones in `remote_pids`. */
  akt__cell *detached;         /* cells out of the tree (terminated, sinks) */
  akt_pid *remote_pids;
  akt__strtab types;           /* type registry: akt__type_entry by name (types.c) */

  _Atomic int state;           /* AKT__SYS_* */
  _Atomic int root_done;       /* the root guardian terminated */
  _Atomic int64_t inflight;    /* scheduled turns + armed core timers */
  _Atomic int64_t turns;       /* scheduled (queued or running) turns */
  int tearing_down;            /* akt_system_free in progress: releases do nothing */

  _Atomic uint64_t live_actors, spawned, processed, dead_letters, unhandled, failures, rejected;
  akt__events *events;         /* the event stream (events.c) */
  akt_pid *dead_letter_actor;  /* /system/deadletters (one reference) */
  akt__sched *scheduler;       /* system timers (scheduler.c) */
  struct akt__remote *remote;  /* remoting, once started (src/remote) */
  struct akt__cluster *cluster; /* membership, once started (src/cluster) */
  struct akt_work *works;      /* offloaded work in flight (system lock) */
  char *old_strings[AKT__SYS_OLD_STRINGS]; /* replaced by akt__system_set_address */
  size_t nold_strings;
};

/* Locks and unlocks the system lock. */
void akt__sys_lock(akt_system *sys);
void akt__sys_unlock(akt_system *sys);

/* Registry (registry.c), under the system lock; init before any other
 * use. */
void akt__registry_init(akt_system *sys);
akt__cell *akt__registry_find(akt_system *sys, const char *path);
int akt__registry_add(akt_system *sys, akt__cell *c);
void akt__registry_remove(akt_system *sys, akt__cell *c);
void akt__registry_free(akt_system *sys);

/* Type registry (types.c); init before any other use. */
void akt__types_init(akt_system *sys);
void akt__types_free(akt_system *sys);

/* Emits a trace event when the backend traces. */
void akt__trace(akt_system *sys, akt_event_kind kind, uint64_t actor, uint64_t peer,
                const char *type, uint64_t hash, int64_t code, const char *text);

/* Logs when `level` passes the system's threshold. */
void akt__log(akt_system *sys, akt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts, traces, logs and frees an undeliverable envelope addressed to
 * `target` (may be NULL). */
void akt__dead_letter(akt_system *sys, akt_pid *target, akt__env *env, const char *reason);

/* Marks work in flight (a queued turn or an armed core timer) so shutdown
 * waits for it; akt__inflight_done may free nothing after it returns. */
void akt__inflight_add(akt_system *sys);
void akt__inflight_done(akt_system *sys);

/* Creates a cell under `parent` (NULL only for the root) named `name`
 * (NULL: anonymous), registers it, links it into the tree and posts
 * CREATE; `cell_flags` are initial AKT__CELL_* flags (guardians). Writes the new cell's PID (a new reference) to *out if out is not
 * NULL. Codes as akt_spawn. (spawn.c) */
int akt__spawn(akt_system *sys, akt__cell *parent, const char *name, const akt_actor_def *def,
               const akt_spawn_opts *opts, uint32_t cell_flags, akt_pid **out);

/* Creates a temporary sink cell (ask futures, probes) outside the tree,
 * named /temp/<prefix>$<id>. `dtor(data)` runs when the PID is freed (no
 * sink call can be in progress then: senders hold a reference). Returns its
 * PID (a new reference) or NULL. */
akt_pid *akt__spawn_sink(akt_system *sys, const char *prefix, akt__sink_fn sink, void *data,
                         void (*dtor)(void *data));

/* The event stream (events.c): create and free with the system; publish an
 * actor lifecycle event (cheap when nobody subscribed). */
int akt__events_new(akt_system *sys);
void akt__events_free(akt_system *sys);
void akt__events_actor(akt_system *sys, akt__event_kind kind, akt__cell *c, int code);
/* 1 if anyone subscribed to `topic`. */
int akt__events_wanted(akt_system *sys, const char *topic);

/* The dead-letter actor (deadletters.c). */
int akt__dead_letters_start(akt_system *sys);

/* The system scheduler (scheduler.c). */
int akt__sched_new(akt_system *sys);
void akt__sched_close(akt_system *sys); /* cancels all, refuses new (shutdown) */
void akt__sched_free(akt_system *sys);

/* 1 if `name` is a valid system name (1..AKT_SYSTEM_NAME_MAX of
 * [A-Za-z0-9_-]). */
int akt__system_name_valid(const char *name);

/* Changes the system's advertised host and port (remoting). Returns 0 or
 * AKT_ENOMEM. */
int akt__system_set_address(akt_system *sys, const char *host, uint16_t port);

/* Work offloaded and not yet finished (work.c): tracked so a dropped
 * system can disown it — the completion then frees the work and touches
 * nothing else. */
typedef struct akt_work akt_work;
void akt__works_orphan(akt_system *sys);

/* Terminates a sink cell: later messages go to dead letters. */
void akt__sink_close(akt_pid *pid);

#endif
