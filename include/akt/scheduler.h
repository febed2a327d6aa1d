/* akt — the system scheduler: messages sent later, once or repeatedly.
 *
 * For timers that belong to no actor (an actor's own timers are
 * akt_timer_start, which end with it). Time is the backend's: virtual in the
 * simulator. A scheduled message is sent without a sender. Scheduled
 * messages end when the system shuts down.
 */
#ifndef AKT_SCHEDULER_H
#define AKT_SCHEDULER_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "akt/pid.h"
#include "akt/system.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKT_MAX_SCHEDULED 65536 /* active scheduled messages per system */

/* Sends a copy of `msg` to `to` after `delay`, then every `interval` if it
 * is non-zero. Writes an id (never 0) for akt_schedule_cancel to *id unless
 * id is NULL. Returns 0, AKT_EINVAL, AKT_ESTOPPED (shutting down), AKT_ELIMIT
 * (AKT_MAX_SCHEDULED, or the message cannot be copied), AKT_ENOMEM. */
int akt_schedule(akt_system *sys, akt_duration delay, akt_duration interval, akt_pid *to,
                 const ProtobufCMessage *msg, uint64_t *id);

/* Cancels a scheduled message: no send of it starts afterwards. Returns 0,
 * AKT_EINVAL, or AKT_ENOENT (unknown id, or a one-shot already sent). */
int akt_schedule_cancel(akt_system *sys, uint64_t id);

#ifdef __cplusplus
}
#endif

#endif
