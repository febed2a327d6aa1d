/* akt — a simulation-first distributed actor framework in C.
 *
 * Include this one header to get the whole public API except the backends'
 * own constructors (akt/sim.h, akt/transport.h) and the testkit
 * (akt/testkit.h).
 */
#ifndef AKT_AKT_H
#define AKT_AKT_H

#include "akt/actor.h"
#include "akt/backend.h"
#include "akt/error.h"
#include "akt/events.h"
#include "akt/mailbox.h"
#include "akt/message.h"
#include "akt/pid.h"
#include "akt/router.h"
#include "akt/scheduler.h"
#include "akt/supervisor.h"
#include "akt/system.h"
#include "akt/time.h"

#endif
