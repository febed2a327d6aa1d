/* akt — PIDs: references to actors.
 *
 * A PID names one actor incarnation: it stays valid after the actor stops
 * (messages to it then go to dead letters), and a later actor spawned with the
 * same path gets a different PID. Local and remote PIDs are used the same way.
 *
 * Ownership: PIDs are reference counted. A function documented as returning
 * "a new reference" gives the caller one reference, which the caller gives
 * back with akt_pid_release. A PID passed to a callback (akt_ctx_sender,
 * akt_ctx_self, ...) is borrowed for the duration of the call; keep it longer
 * with akt_pid_retain. akt_system_free frees every PID of the system, held or
 * not: a PID must not be used or released after its system is freed.
 */
#ifndef AKT_PID_H
#define AKT_PID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_pid akt_pid;
typedef struct akt_system akt_system;

/* Limits on names and paths. */
#define AKT_NAME_MAX 128   /* bytes in one actor name, without the NUL */
#define AKT_PATH_MAX 1024  /* bytes in an actor path, without the NUL */
#define AKT_ADDRESS_MAX (AKT_PATH_MAX + 512) /* a full akt:// address */

/* Adds a reference to `pid` and returns it. NULL returns NULL. */
akt_pid *akt_pid_retain(akt_pid *pid);

/* Drops one reference; the PID is freed with its last one. NULL is a no-op. */
void akt_pid_release(akt_pid *pid);

/* The actor's id: sequential per system, starting at 1, never reused. */
uint64_t akt_pid_id(const akt_pid *pid);

/* The actor's path in its system, e.g. "/user/parent/child". Valid while the
 * PID is referenced. */
const char *akt_pid_path(const akt_pid *pid);

/* The last path element, e.g. "child". Valid while the PID is referenced. */
const char *akt_pid_name(const akt_pid *pid);

/* Writes the full address, akt://SYSTEM@HOST:PORT/path, to buf (NUL
 * terminated). Returns the length written, or AKT_ELIMIT if `size` is too
 * small (buf then holds a truncated, terminated prefix), or AKT_EINVAL. */
int akt_pid_format(const akt_pid *pid, char *buf, size_t size);

/* 1 while the actor has not begun stopping, 0 once it is stopping or
 * terminated. A snapshot: the answer may change right after. For a remote
 * PID, 1 unless its node is known to be down. */
int akt_pid_is_running(const akt_pid *pid);

/* 1 if both PIDs name the same actor incarnation, else 0. */
int akt_pid_equal(const akt_pid *a, const akt_pid *b);

/* 1 if the actor lives in the PID's own system, 0 for a remote PID. */
int akt_pid_is_local(const akt_pid *pid);

/* The system the PID belongs to (for a remote PID, the local system that
 * created it). */
akt_system *akt_pid_system(const akt_pid *pid);

#ifdef __cplusplus
}
#endif

#endif
