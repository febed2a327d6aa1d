/* akt — pool routers: one PID in front of a pool of identical actors.
 *
 * A router is an ordinary actor whose children, its routees, are spawned
 * from one definition and named "r0", "r1", ... in the order they are
 * created. Every message the router receives, except the control messages
 * below, is forwarded with akt_forward, so it keeps its original sender and
 * request id: a routee's akt_reply answers the original requester and
 * completes its akt_request or akt_ask, and the router is never in the
 * reply path. Which routee gets a message depends on the routing:
 *
 *   ROUND_ROBIN      the next routee in order, wrapping around;
 *   RANDOM           one drawn with akt_ctx_random, so a simulated run picks
 *                    the same routees again for the same seed;
 *   BROADCAST        every routee (a request is then answered by whichever
 *                    routee replies first; the other replies go to dead
 *                    letters);
 *   CONSISTENT_HASH  routee number jump_consistent_hash(XXH3_64(key), n) of
 *                    the current routing list, where `key` is the message's
 *                    key as the key function extracts it. Jump hashing moves
 *                    as few keys as possible when the pool grows or shrinks
 *                    at its end (Lamping & Veach, "A Fast, Minimal Memory,
 *                    Consistent Hash Algorithm", 2014).
 *
 * A message that cannot be routed — the pool is empty, or a consistent-hash
 * message has no key — is unhandled: it goes to dead letters with the reason
 * "unhandled" and counts in akt_system_stats.unhandled.
 *
 * Control messages (proto/akt/actor.proto, generated "akt/actor.pb-c.h"):
 *
 *   akt.RouterResize{size}   grows the pool by spawning routees, or shrinks
 *                            it by sending akt.PoisonPill to the routees at
 *                            the end of the routing list: they leave the
 *                            list at once but finish the messages already
 *                            queued for them. A size outside
 *                            1..AKT_ROUTER_MAX_ROUTEES is unhandled;
 *   akt.RouterGetRoutees     answered (akt_reply) with akt.Routees, the
 *                            routees' paths in routing order; unhandled
 *                            when it has no sender;
 *   akt.Terminated           the router watches its routees and drops one
 *                            from the list when its Terminated arrives;
 *   akt.PoisonPill           stops the router itself, like any actor; its
 *                            routees stop with it.
 *
 * Supervision: the router is the routees' parent, so a routee's failure is
 * decided by the router's supervisor (akt_router_opts.supervisor). RESTART
 * keeps the routee in place (same PID, same path, same position); STOP ends
 * it and its Terminated removes it from routing; ESCALATE fails the router,
 * whose own parent then decides. A routee removed that way is not replaced
 * on its own: send RouterResize to fill the pool again. A restarted router
 * stops its routees and spawns a fresh pool of the size it last had (the
 * initial size, or the last RouterResize it handled); new routees are again
 * named from "r0".
 *
 * Names are never reused within one router incarnation: a routee spawned
 * after others were removed takes the next number not used yet, so a name
 * (and a path) always denotes one routee, even while a removed routee with a
 * lower number is still finishing its queue.
 */
#ifndef AKT_ROUTER_H
#define AKT_ROUTER_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/actor.h"
#include "akt/pid.h"
#include "akt/supervisor.h"
#include "akt/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a router chooses the routee of a message. */
typedef enum akt_routing {
  AKT_ROUTE_ROUND_ROBIN = 0,
  AKT_ROUTE_RANDOM,
  AKT_ROUTE_BROADCAST,
  AKT_ROUTE_CONSISTENT_HASH
} akt_routing;

/* Extracts the hash key of `msg` for consistent hashing. Runs in the
 * router's turn, so it must be quick and must not block. On success writes
 * to *key a pointer to the key's bytes, which need only stay valid during
 * the call (a field of `msg` is typical), and their number to *len, and
 * returns 0. Returns non-zero when the message has no key: the router then
 * treats the message as unhandled (a dead letter). `arg` is the options'
 * key_arg. */
typedef int (*akt_route_key_fn)(const ProtobufCMessage *msg, void *arg, const void **key,
                                size_t *len);

/* Routees in one router at most: the limit of the initial size and of
 * RouterResize. */
#define AKT_ROUTER_MAX_ROUTEES 4096

/* What a router routes to and how. Copied by the spawn calls, so this struct
 * (and the akt_spawn_opts that routee_opts points to) need not outlive the
 * call. The objects it points *through* are borrowed and must outlive the
 * router: the routee definition, the supervisor, key_arg, and the routee
 * options' arg, mailbox and mailbox_config (a static const is typical). */
typedef struct akt_router_opts {
  akt_routing routing;
  const akt_actor_def *routee;       /* definition of each routee (required) */
  const akt_spawn_opts *routee_opts; /* each routee's spawn options; NULL = defaults */
  uint32_t size;                     /* initial routees, 1..AKT_ROUTER_MAX_ROUTEES */
  akt_route_key_fn key;              /* required for AKT_ROUTE_CONSISTENT_HASH, else ignored */
  void *key_arg;                     /* given to `key` */
  const akt_supervisor *supervisor;  /* decides a routee's failure; NULL = default (restart) */
} akt_router_opts;

/* Spawns a router named `name` under /user (NULL: anonymous, as akt_spawn).
 * The router spawns its `size` routees in its pre_start, which runs
 * asynchronously: a routee that cannot be spawned then (the system's
 * max_actors, say) fails the router's pre_start, so its supervisor — by
 * default — stops it; akt logs why. On success writes a new reference to
 * *out unless out is NULL.
 *
 * A router's options die with it: every way it stops (akt_stop, a
 * PoisonPill, akt_kill, its parent's stop) runs its post_stop, which frees
 * them; so akt_respawn refuses a terminated router with AKT_ENOTSUP
 * (spawn a new one instead).
 *
 * Returns 0; AKT_EINVAL (sys or opts NULL, no routee definition or one
 * without receive, size 0, an unknown routing, consistent hashing without a
 * key function); AKT_ELIMIT (size above AKT_ROUTER_MAX_ROUTEES); or the
 * codes of akt_spawn (AKT_ENAME, AKT_EEXIST, AKT_ELIMIT, AKT_ESTOPPED,
 * AKT_ENOMEM). */
int akt_spawn_router(akt_system *sys, const char *name, const akt_router_opts *opts,
                     akt_pid **out);

/* Spawns a router as a child of the current actor; otherwise as
 * akt_spawn_router. Returns the same codes (AKT_EINVAL also for a NULL
 * ctx), and those of akt_spawn_child. */
int akt_spawn_router_child(akt_ctx *ctx, const char *name, const akt_router_opts *opts,
                           akt_pid **out);

/* Asks `router` to grow or shrink its pool to `size` routees by sending it
 * akt.RouterResize (with no sender). Asynchronous: messages sent to the
 * router after this call are routed over the new pool, because the router
 * handles its mailbox in order. Callable from anywhere. Sent to an actor
 * that is not a router, the message is unhandled there. Returns 0,
 * AKT_EINVAL (router NULL, size 0), AKT_ELIMIT (size above
 * AKT_ROUTER_MAX_ROUTEES), or the codes of akt_tell (AKT_ESTOPPED when the
 * router has terminated, AKT_ENOMEM, AKT_EFULL). */
int akt_router_resize(akt_pid *router, uint32_t size);

#ifdef __cplusplus
}
#endif

#endif
