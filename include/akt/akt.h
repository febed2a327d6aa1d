/* akt — a simulation-first distributed actor framework in C.
 *
 * Include this one header to get every public header of libakt (pkg-config
 * akt): actors, messages, supervision, mailboxes, the event stream, the
 * scheduler, routers, remoting, and both backends' constructors (the
 * simulator, akt/sim.h, and libuv, akt/transport.h) with the scenario
 * runner. The testkit, akt/testkit.h, comes with its own library
 * (pkg-config akt-testkit, which needs cmocka) and is included on its own.
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
#include "akt/remote.h"
#include "akt/router.h"
#include "akt/scheduler.h"
#include "akt/sim.h"
#include "akt/supervisor.h"
#include "akt/system.h"
#include "akt/time.h"
#include "akt/transport.h"
/* Last: it includes this header itself for the declarations above. */
#include "akt/scenario.h"

#endif
