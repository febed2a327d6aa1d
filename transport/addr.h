/* akt production backend — addresses and error codes (internal).
 *
 * akt_addr is text; libuv wants sockaddrs and reports negative errno-like
 * codes. These helpers are the only place the two vocabularies meet.
 */
#ifndef AKT_TRANSPORT_ADDR_H
#define AKT_TRANSPORT_ADDR_H

#include <sys/socket.h>

#include "akt/backend.h"

/* Parses a's host (an IPv4 or IPv6 literal, optionally in [brackets]; ""
 * means 0.0.0.0) and port. Returns 0 or AKT_EINVAL (not an IP literal). */
int akt__uv_addr_parse(const akt_addr *a, struct sockaddr_storage *out);

/* Formats an AF_INET/AF_INET6 sockaddr. Returns 0 or AKT_EINVAL (another
 * family). */
int akt__uv_addr_format(const struct sockaddr *sa, akt_addr *out);

/* Maps a libuv status (< 0) to an akt code: refused, unreachable, timed out,
 * peer closed (EOF, reset, broken pipe -> AKT_ECLOSED), address in use ->
 * AKT_EEXIST, ENOMEM, EINVAL, ECANCELED; anything else AKT_EBACKEND. */
int akt__uv_err(int status);

/* The same, narrowed to what on_connect may report: AKT_EREFUSED,
 * AKT_ETIMEDOUT, else AKT_EUNREACH. */
int akt__uv_connect_err(int status);

/* The same, narrowed to what listen and dgram_open may report: AKT_EEXIST
 * (address in use), AKT_EINVAL (not a local address), AKT_ENOTSUP (address
 * family), else AKT_EBACKEND. */
int akt__uv_bind_err(int status);

#endif
