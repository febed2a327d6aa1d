/* akt — the send path shared by tell, request, ask and remoting (internal). */
#ifndef AKT_ACTOR_SEND_H
#define AKT_ACTOR_SEND_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "akt/pid.h"
#include "src/actor/envelope.h"

/* Sends a copy of `msg` to `to` with `sender` (borrowed, may be NULL),
 * correlation id and AKT__ENV_* flags. Codes as akt_tell. */
int akt__send(akt_pid *to, const ProtobufCMessage *msg, akt_pid *sender, uint64_t corr,
              uint32_t flags);

/* Routes a ready envelope to `to` (mailbox, remote node or dead letters).
 * Takes ownership of env. Codes as akt_tell. */
int akt__route(akt_pid *to, akt__env *env);

#endif
