/* Small actors shared by the core test suites. Actors that report do so to
 * the PID given as their spawn `arg` (usually a probe's). */
#ifndef AKT_TESTS_ACTORS_H
#define AKT_TESTS_ACTORS_H

#include "akt/akt.h"
#include "test.pb-c.h"

/* Add{amount} adds; Get replies Total{value}. */
extern const akt_actor_def counter_def;

/* Replies to every message with the same message. */
extern const akt_actor_def echo_def;

/* Forwards every message to the PID in its arg. */
extern const akt_actor_def forwarder_def;

/* Tells its arg Note{"<name>:pre_start"} and Note{"<name>:post_stop"}; a
 * Ping{n} is answered Pong{n} to the sender; Fail{code} fails with code;
 * Cmd{op:"stop"} stops itself; Cmd{op:"spawn", arg:NAME} spawns a child
 * reporter named NAME (reporting to the same arg). */
extern const akt_actor_def reporter_def;

/* A reporter whose pre_start spawns children "c1" and "c2" (reporters). */
extern const akt_actor_def parent_def;

/* Never replies; counts what it gets. */
extern const akt_actor_def silent_def;

/* Sends Note{"<name>:<text>"} to `to` as `ctx`. */
int note_to(akt_ctx *ctx, akt_pid *to, const char *text);

#endif
