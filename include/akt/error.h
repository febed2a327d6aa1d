/* akt — error codes.
 *
 * Every akt function that can fail returns an int: 0 on success or one of the
 * negative AKT_E* codes below. There is no errno-style global; the return
 * value is the whole story, and akt_strerror() names it for humans.
 */
#ifndef AKT_ERROR_H
#define AKT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The codes are stable: they appear in traces, logs and on the wire. */
#define AKT_OK 0
#define AKT_EINVAL (-1)     /* an argument is invalid (NULL, out of range, malformed) */
#define AKT_ENOMEM (-2)     /* an allocation failed */
#define AKT_EEXIST (-3)     /* a name is already taken (e.g. a sibling actor's name) */
#define AKT_ENOENT (-4)     /* no such actor, type, timer or entry */
#define AKT_ESTOPPED (-5)   /* the actor or the system has stopped or is stopping */
#define AKT_ETIMEDOUT (-6)  /* a deadline passed before the operation completed */
#define AKT_EUNHANDLED (-7) /* an actor did not handle a message (receive's answer) */
#define AKT_EFULL (-8)      /* a bounded queue or mailbox is full; nothing was queued */
#define AKT_ENOSENDER (-9)  /* reply or forward with no sender / no current message */
#define AKT_ELIMIT (-10)    /* a named limit (size, depth, count) was exceeded */
#define AKT_ENOTSUP (-11)   /* the operation is not supported by this backend/object */
#define AKT_ENAME (-12)     /* an actor name or path is not well formed */
#define AKT_ESTATE (-13)    /* the call is not valid in the current state or context */
#define AKT_EPROTO (-14)    /* malformed or unexpected bytes from a peer */
#define AKT_ECLOSED (-15)   /* the connection or handle is closed */
#define AKT_EBACKEND (-16)  /* the backend (OS, libuv) reported an error */
#define AKT_EFAILED (-17)   /* an actor failed (generic failure code for receive) */
#define AKT_ECANCELED (-18) /* the operation was canceled before completing */
#define AKT_EUNREACH (-19)  /* the peer or address cannot be reached */
#define AKT_EREFUSED (-20)  /* the peer refused the connection or handshake */
#define AKT_EKILLED (-21)   /* the actor was killed (akt_kill): a failure its supervisor handles */

/* The most negative defined code; codes at or below AKT_EUSER_BASE are free
 * for applications to use as receive() failure codes. */
#define AKT_ELAST AKT_EKILLED
#define AKT_EUSER_BASE (-1000)

/* Returns a static, human-readable description of `code` ("success" for 0,
 * "unknown error" for codes akt does not define). Never returns NULL. */
const char *akt_strerror(int code);

/* Returns the symbolic name of `code` ("AKT_ETIMEDOUT"), or "AKT_E?" for
 * codes akt does not define. Never returns NULL. */
const char *akt_errname(int code);

#ifdef __cplusplus
}
#endif

#endif
