/* akt production backend — the network operations (internal).
 *
 * The akt_backend_ops entries for name resolution (resolve.c), TCP streams
 * and listeners (tcp_stream.c, tcp_listen.c) and UDP (udp.c). Each follows
 * the contract written at its field in include/akt/backend.h; return codes
 * are repeated here only where this backend adds one.
 */
#ifndef AKT_TRANSPORT_NET_H
#define AKT_TRANSPORT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"
#include "transport/loop.h"

/* Most addresses one resolve reports; the rest are dropped. */
#define AKT__UV_RESOLVE_MAX 32

/* Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP header bytes). */
#define AKT__UV_DGRAM_MAX 65507

/* ops.resolve. Returns 0, AKT_EINVAL, AKT_ENOMEM, or AKT_ESTOPPED when the
 * backend is shutting down (cb will not run). */
int akt__uv_resolve(akt_backend *b, const char *name, akt_resolve_fn cb, void *data);

/* Cancels the lookups still in flight at shutdown; their callbacks are
 * dropped. Loop thread only. */
void akt__uv_resolve_cancel_all(akt__uv_loop *loop);

/* ops.resolve_srv (resolve_srv.c, libresolv). Returns 0, AKT_EINVAL,
 * AKT_ENOMEM, or AKT_ESTOPPED (cb will not run). */
int akt__uv_resolve_srv(akt_backend *b, const char *name, akt_resolve_srv_fn cb, void *data);

/* ops.offload (offload.c). Returns 0, AKT_EINVAL, AKT_ENOMEM, AKT_ESTOPPED. */
int akt__uv_offload(akt_backend *b, void (*fn)(void *arg), void *arg);

/* Cancels queued offloaded work that has not started (shutdown, loop thread). */
void akt__uv_offload_cancel_all(akt__uv_loop *loop);

/* ops.listen / listener_addr / listener_close. listen also returns
 * AKT_ESTOPPED during shutdown. */
int akt__uv_listen(akt_backend *b, const akt_addr *addr, akt_accept_fn on_accept, void *data,
                   akt_listener **out);
int akt__uv_listener_addr(akt_backend *b, akt_listener *l, akt_addr *out);
void akt__uv_listener_close(akt_backend *b, akt_listener *l);

/* ops.connect / stream_*. connect also returns AKT_ESTOPPED during
 * shutdown. */
int akt__uv_connect(akt_backend *b, const akt_addr *addr, const akt_stream_cbs *cbs, void *data,
                    akt_stream **out);
int akt__uv_stream_start(akt_backend *b, akt_stream *s, const akt_stream_cbs *cbs, void *data);
int akt__uv_stream_write(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len);
size_t akt__uv_stream_pending(akt_backend *b, akt_stream *s);
int akt__uv_stream_peer(akt_backend *b, akt_stream *s, akt_addr *out);
void akt__uv_stream_close(akt_backend *b, akt_stream *s);

/* ops.dgram_*. dgram_open also returns AKT_ESTOPPED during shutdown;
 * dgram_send also returns AKT_EINVAL for an address that is not an IP
 * literal. */
int akt__uv_dgram_open(akt_backend *b, const akt_addr *addr, akt_dgram_fn on_recv, void *data,
                       akt_dgram **out);
int akt__uv_dgram_addr(akt_backend *b, akt_dgram *d, akt_addr *out);
int akt__uv_dgram_send(akt_backend *b, akt_dgram *d, const akt_addr *to, const uint8_t *buf,
                       size_t len);
void akt__uv_dgram_close(akt_backend *b, akt_dgram *d);

/* ops.dgram_open_group (udp.c): bound with SO_REUSEADDR to the group's
 * port on the wildcard address of its family. Also returns AKT_ESTOPPED
 * during shutdown. */
int akt__uv_dgram_open_group(akt_backend *b, const akt_addr *group, const char *iface,
                             akt_dgram_fn on_recv, void *data, akt_dgram **out);

#endif
