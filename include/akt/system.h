/* akt — actor systems.
 *
 * One akt_system per node: its name and address, a backend (simulated or
 * production), the actor tree under the root guardians /user and /system,
 * the registry of actor paths and of message types, and dead letters. There
 * is no global state: a process (or a simulated world) may hold many.
 */
#ifndef AKT_SYSTEM_H
#define AKT_SYSTEM_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"
#include "akt/pid.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_system akt_system;

/* Limits and defaults. */
#define AKT_SYSTEM_NAME_MAX 64            /* bytes in a system name */
#define AKT_DEFAULT_THROUGHPUT 64         /* messages an actor processes per turn */
#define AKT_DEFAULT_MAX_ACTORS (1u << 24) /* live actors per system */
#define AKT_MAX_TYPES 65536               /* registered message types per system */

/* Options for akt_system_new. A zeroed struct (or NULL) means defaults. */
typedef struct akt_system_options {
  const char *host;          /* host in PID addresses; NULL = "localhost" */
  uint16_t port;             /* port in PID addresses; 0 if none */
  unsigned throughput;       /* messages per turn; 0 = AKT_DEFAULT_THROUGHPUT */
  akt_log_level log_level;   /* lowest level logged; AKT_LOG_DEFAULT = AKT_LOG_WARN */
  size_t max_actors;         /* live actors at most; 0 = AKT_DEFAULT_MAX_ACTORS */
  akt_log_sink_fn log_sink;  /* NULL: the backend's sink (stderr, or the simulator's trace) */
  void *log_data;            /* given to log_sink */
} akt_system_options;

/* Counters of a system. Snapshot semantics. */
typedef struct akt_system_stats {
  uint64_t live_actors;   /* spawned and not yet terminated, guardians included */
  uint64_t spawned;       /* actors ever spawned, guardians included */
  uint64_t processed;     /* user messages handed to receive */
  uint64_t dead_letters;  /* messages that could not be delivered */
  uint64_t unhandled;     /* messages receive answered AKT_EUNHANDLED */
  uint64_t failures;      /* receive/pre_start failures */
  uint64_t rejected;      /* sends refused by full bounded mailboxes */
} akt_system_stats;

/* Creates a system named `name` (1..AKT_SYSTEM_NAME_MAX of [A-Za-z0-9_-]) on
 * `backend` (borrowed; it must outlive the system). Starts the root and the
 * /user and /system guardians. On success writes the new system to *out; the
 * caller frees it with akt_system_free. Returns 0, AKT_EINVAL, AKT_ENAME or
 * AKT_ENOMEM. */
int akt_system_new(const char *name, akt_backend *backend, const akt_system_options *opts,
                   akt_system **out);

/* Stops every actor gracefully — each finishes its current message, children
 * stop before their parent, post_stop runs bottom-up; /user's tree first,
 * then /system's — and waits until done or `timeout` passes (virtual time in
 * the simulator, which this call drives). Call from outside any actor.
 * Returns 0, AKT_ETIMEDOUT, or AKT_ESTATE (called from a backend thread). A
 * second call after success returns 0 at once. */
int akt_system_shutdown(akt_system *sys, akt_duration timeout);

/* Frees the system and every PID, actor and message it holds. If it has not
 * been shut down, shuts it down first with no timeout. NULL is a no-op. */
void akt_system_free(akt_system *sys);

/* Frees the system at once, as a crashed node loses its memory: no actor
 * stops, no post_stop runs, nothing is sent. Only for the simulator (a
 * node's stop hook, see akt_sim_crash), where nothing else runs meanwhile;
 * backend callbacks still pending for the system (its offloaded work) are
 * made harmless. In production use akt_system_free. NULL is a no-op. */
void akt_system_drop(akt_system *sys);

/* The system's name. */
const char *akt_system_name(const akt_system *sys);

/* The system's address, "akt://NAME@HOST:PORT". */
const char *akt_system_address(const akt_system *sys);

/* The backend the system runs on. */
akt_backend *akt_system_backend(const akt_system *sys);

/* The backend's monotonic clock (virtual in the simulator), in ns. */
uint64_t akt_system_now(const akt_system *sys);

/* Registers a message type so remoting can name it on the wire. Registering
 * the same descriptor again is a no-op. Returns 0, AKT_EINVAL, AKT_EEXIST (a
 * different descriptor has that full name), AKT_ELIMIT (AKT_MAX_TYPES) or
 * AKT_ENOMEM. */
int akt_system_register_type(akt_system *sys, const ProtobufCMessageDescriptor *desc);

/* The descriptor registered under `full_name` (e.g. "akt.Terminated"), or
 * NULL. */
const ProtobufCMessageDescriptor *akt_system_find_type(akt_system *sys, const char *full_name);

/* Looks up a live actor by path ("/user/a/b") or by full local address
 * ("akt://NAME@HOST:PORT/user/a/b"). On success writes a new reference to
 * *out. Returns 0, AKT_ENOENT (no such live actor), AKT_ENAME (malformed),
 * AKT_EINVAL. */
int akt_lookup(akt_system *sys, const char *path, akt_pid **out);

/* Fills *out with the system's counters. */
void akt_system_get_stats(akt_system *sys, akt_system_stats *out);

/* Logs a printf-style line at `level` through the backend's sink when
 * `level` is at or above the system's log level. Lines longer than
 * AKT_LOG_LINE_MAX are truncated. */
#define AKT_LOG_LINE_MAX 1024
void akt_log(akt_system *sys, akt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A structured log field. */
typedef struct akt_log_field {
  const char *key;
  const char *value;
} akt_log_field;

/* Logs `msg` followed by ` key=value` for each field (a value with spaces,
 * quotes or '=' is written in double quotes with \" escapes), under the
 * same rules as akt_log. */
void akt_log_fields(akt_system *sys, akt_log_level level, const char *msg,
                    const akt_log_field *fields, size_t n);

#ifdef __cplusplus
}
#endif

#endif
