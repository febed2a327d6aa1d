/* akt — remoting internals (see include/akt/remote.h).
 *
 * Objects: one akt__remote per system; one akt__endpoint per peer node we
 * send to (its outbound connection, send queue, writer and watches); one
 * akt__conn per connection, outbound (ours) or inbound (a peer's). Locks:
 * remote->mu guards the endpoint table and the remote-PID cache; each
 * endpoint's mu guards its queue and state. Network and timer callbacks run
 * on the backend's I/O context (the loop thread, or the simulated world),
 * sends on any thread; the writer is a runnable, so it runs where actors
 * run.
 */
#ifndef AKT_REMOTE_REMOTE_H
#define AKT_REMOTE_REMOTE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "akt/remote.h"
#include "akt/wire.pb-c.h"
#include "src/actor/envelope.h"
#include "src/remote/scan.h"

typedef struct akt__remote akt__remote;
typedef struct akt__endpoint akt__endpoint;
typedef struct akt__conn akt__conn;

#define AKT__WIRE_MAGIC 0x414b5431u /* "AKT1" */
#define AKT__NODE_MAX 320           /* bytes of "akt://SYSTEM@HOST:PORT" */

/* ---- byte buffers and framing (codec.c) ---------------------------------- */

typedef struct akt__buf {
  uint8_t *data;
  size_t len, cap;
} akt__buf;

/* Makes room for `n` more bytes. Returns 0 or AKT_ENOMEM. */
int akt__buf_reserve(akt__buf *b, size_t n);
/* Appends bytes; 0 or AKT_ENOMEM. */
int akt__buf_put(akt__buf *b, const void *data, size_t n);
/* Appends a protobuf varint; 0 or AKT_ENOMEM. */
int akt__buf_varint(akt__buf *b, uint64_t v);
void akt__buf_free(akt__buf *b);

/* Splits a byte stream into frames: a 4-byte big-endian length, then that
 * many bytes. The declared length is checked against `max` before any
 * memory is set aside for the frame. */
typedef struct akt__framer {
  akt__buf in;
  size_t max;
} akt__framer;

/* Called for each complete frame (valid during the call); a non-zero
 * return stops the feed and is returned by it. */
typedef int (*akt__frame_fn)(void *arg, const uint8_t *frame, size_t len);

/* Feeds bytes; calls fn for each complete frame. Returns 0, AKT_ELIMIT (a
 * declared length over max: the stream is unusable), AKT_ENOMEM, or what
 * fn returned. */
int akt__framer_feed(akt__framer *f, const uint8_t *data, size_t n, akt__frame_fn fn, void *arg);
void akt__framer_free(akt__framer *f);

/* Appends `frame` (length prefix + packed Frame) to `out`. 0 or AKT_ENOMEM
 * or AKT_ELIMIT (over max). */
int akt__frame_encode(const Akt__Wire__Frame *frame, size_t max, akt__buf *out);

/* Most bytes akt__frame_batch_header writes: the length prefix, the
 * Frame.batch tag and a length of at most 5 bytes (frames are < 4 GiB). */
#define AKT__BATCH_HDR_MAX 10

/* Writes into hdr what goes before a Batch frame's body of body_len bytes
 * (body_len < 4 GiB): the frame's length prefix and the Frame.batch field's
 * tag and length. Returns the bytes written (6..AKT__BATCH_HDR_MAX). */
size_t akt__frame_batch_header(size_t body_len, uint8_t *hdr);

/* Appends one Batch frame holding the envelopes whose encodings (each
 * "0x0a varint(len) bytes", i.e. Batch.envelopes entries) are in
 * body[0..len). 0 or AKT_ENOMEM. */
int akt__frame_batch(const uint8_t *body, size_t len, akt__buf *out);

/* Bytes a protobuf varint of v takes (1..10). */
size_t akt__varint_size(uint64_t v);

/* Writes v as a protobuf varint at p (room for akt__varint_size(v) bytes);
 * returns the end of what was written. */
uint8_t *akt__put_varint(uint8_t *p, uint64_t v);

/* An outbound envelope but its payload: what akt__env_out_write packs as
 * an akt.wire.Envelope without building one for protobuf-c. The strings
 * are borrowed and need not be NUL-terminated. */
typedef struct akt__env_out {
  const char *target, *sender, *type;
  size_t target_len, sender_len, type_len;
  uint64_t target_id, sender_id, corr;
  uint32_t flags;
} akt__env_out;

/* Bytes of the packed Envelope of e with a payload of payload_len bytes. */
size_t akt__env_out_size(const akt__env_out *e, size_t payload_len);

/* Writes the packed Envelope — the bytes protobuf-c would write, fields in
 * order, empty ones left out — at dst, which has akt__env_out_size bytes;
 * `payload` (payload_len packed bytes) is packed in place. Returns the end
 * of what was written. */
uint8_t *akt__env_out_write(uint8_t *dst, const akt__env_out *e, const ProtobufCMessage *payload,
                            size_t payload_len);

/* ---- the system's remoting (remoting.c) ---------------------------------- */

struct akt__remote {
  akt_system *sys;
  akt_remote_options opts;    /* with defaults */
  char node[AKT__NODE_MAX];   /* our address, akt://NAME@HOST:PORT */
  char host[256];
  uint16_t port;
  uint64_t incarnation;
  akt_listener *listener;
  pthread_mutex_t mu;         /* endpoints, conns list, rpid cache, kinds */
  akt__endpoint **endpoints;
  uint32_t nendpoints, cap_endpoints;
  akt__conn *conns;           /* every open connection (for shutdown) */
  akt_pid **rpids;            /* remote-PID cache: open addressing on address+id */
  uint32_t rpid_cap, rpid_count;
  const akt_actor_def **kinds;
  uint32_t nkinds, cap_kinds;
  akt_pid *actor;             /* /system/remoting */
  int stopping;
  akt_remote_stats stats;     /* updated with atomics (see stat_add) */
};

/* Adds to one counter of the stats (relaxed atomic). */
#define AKT__RSTAT(r, field, n) __atomic_fetch_add(&(r)->stats.field, (n), __ATOMIC_RELAXED)

/* The system's remoting, or NULL when not started. */
akt__remote *akt__remote_of(akt_system *sys);

/* Sends an envelope to a remote PID (takes ownership of env). Codes as
 * akt_tell. */
int akt__remote_send(akt_system *sys, akt_pid *to, akt__env *env);

/* Sends `msg` to a remote PID, as akt__remote_send does with an envelope,
 * without making one: the message is packed straight into the peer's
 * queue (a sender that routes by PID calls this instead of making an
 * envelope it would only pack and free). sender may be NULL. Returns 0,
 * AKT_EFULL (nothing else happens: the caller may retry), or another code
 * of akt_tell after the message went to dead letters. */
int akt__remote_send_msg(akt_system *sys, akt_pid *to, const ProtobufCMessage *msg,
                         akt_pid *sender, uint64_t corr, uint32_t flags);

/* Sends `msg` to a remote PID with an explicit sender address and id (for
 * senders that exist only by name, e.g. an actor that already ended). */
int akt__remote_send_raw(akt_system *sys, akt_pid *to, const ProtobufCMessage *msg,
                         const char *sender, uint64_t sender_id, uint64_t corr, uint32_t flags);

/* Formats a remote PID's address into buf. */
int akt__remote_pid_format(const akt_pid *pid, char *buf, size_t size);

/* The node address ("akt://SYS@HOST:PORT") of a remote PID. */
const char *akt__remote_pid_node(const akt_pid *pid);

/* Watch/unwatch of a remote target by a local watcher; stop of a remote
 * actor. Codes as akt_watch_as / akt_stop. */
int akt__remote_watch(akt_pid *watcher, akt_pid *target, int watch);
int akt__remote_stop(akt_pid *target);

/* Stops remoting (shutdown): closes the listener, every connection and
 * timer. Connections finish closing on the I/O context. */
void akt__remote_stop_all(akt_system *sys);

/* Frees what is left (system free). */
void akt__remote_free(akt_system *sys);

/* Splits "akt://SYS@HOST:PORT/path" into node (NUL-terminated, in
 * node[node_size]) and *path (into address, NULL when none). 0 or
 * AKT_ENAME. */
int akt__remote_split(const char *address, char *node, size_t node_size, const char **path);

/* A remote PID for node + path + id (one new reference), shared through
 * the remoting's cache when possible; NULL when out of memory. */
akt_pid *akt__rpid_intern(akt__remote *r, const char *node, const char *path, uint64_t id);

/* ---- delivering what arrives (inbound.c) ----------------------------------- */

#define AKT__RX_WAYS 4      /* names of each kind one connection remembers */
#define AKT__RX_KEY_MAX 240 /* longer names are looked up every time */
#define AKT__RX_ARENA 2048  /* bytes for one unpacked payload before malloc */

/* One remembered name: a type name (desc), a target path and id or a
 * sender address and id (pid: one reference). Unused when both are NULL. */
typedef struct akt__rx_entry {
  const ProtobufCMessageDescriptor *desc;
  akt_pid *pid;
  uint64_t id;
  uint16_t len;
  uint8_t key[AKT__RX_KEY_MAX];
} akt__rx_entry;

/* What one connection's receiver remembers between envelopes (I/O context
 * only). Zeroed to start; akt__rx_cache_free releases it. */
typedef struct akt__rx_cache {
  akt__rx_entry types[AKT__RX_WAYS], targets[AKT__RX_WAYS], senders[AKT__RX_WAYS];
  uint32_t next_type, next_target, next_sender; /* round-robin replacement */
  akt__buf scratch;                             /* names as C strings, on a miss */
  size_t arena_used;
  int arena_spilled; /* the payload being unpacked did not fit: malloc'd */
  max_align_t arena[AKT__RX_ARENA / sizeof(max_align_t)];
} akt__rx_cache;

/* Releases the PIDs and memory the cache holds and zeroes it. */
void akt__rx_cache_free(akt__rx_cache *rx);

/* Delivers one envelope that arrived on a connection (whose cache is rx)
 * to this system. The view's strings are at most max_name bytes (the
 * caller checked). Never fails: what cannot be delivered is a dead
 * letter. */
void akt__remote_deliver(akt__remote *r, akt__rx_cache *rx, const akt__env_view *v);

/* ---- connections (conn.c) ------------------------------------------------- */

/* Accepts an inbound stream. */
void akt__conn_accept(akt__remote *r, akt_stream *s);

/* Opens the outbound connection of `ep` (endpoint lock held). Returns 0 or
 * a backend error. */
int akt__conn_connect(akt__endpoint *ep);

/* Closes a connection with a reason (sent to the peer when possible). */
void akt__conn_close(akt__conn *c, const char *reason);

/* Writes bytes on an open connection; 0, AKT_ECLOSED, AKT_EFULL. */
int akt__conn_write(akt__conn *c, const uint8_t *data, size_t len);

/* Feeds bytes to a connection as if they came from its stream: the path
 * the fuzz harnesses and malformed-input tests use. Returns 0, or the
 * code the connection was closed with. */
int akt__conn_feed(akt__conn *c, const uint8_t *data, size_t len);

/* A connection fed by hand (tests, fuzzing): outbound when `ep` is given,
 * else inbound; what it writes goes to `capture` (may be NULL). Free with
 * akt__conn_detached_free. NULL when out of memory. */
akt__conn *akt__conn_detached(akt__remote *r, akt__endpoint *ep, akt__buf *capture);
void akt__conn_detached_free(akt__conn *c);

/* Closes every connection (shutdown; on the I/O context). */
void akt__conns_close_all(akt__remote *r);

/* Frees every connection without touching its stream (a dropped system,
 * whose streams the simulated network already took away). */
void akt__conns_free_all(akt__remote *r);

/* 1 while a connection is open (handshake done), 0 otherwise. */
int akt__conn_is_open(const akt__conn *c);

/* ---- endpoints (endpoint.c) ------------------------------------------------ */

/* The endpoint for node `node` ("akt://SYS@HOST:PORT"), created on first
 * use (remote lock held). NULL on a malformed node or out of memory. */
akt__endpoint *akt__endpoint_get(akt__remote *r, const char *node);

/* Queues one envelope for the peer, packed straight into the queue: e's
 * fields and `payload`, whose packed size is payload_len. Returns 0,
 * AKT_ELIMIT (the envelope could never fit a frame), AKT_EFULL (queue
 * limit: counted), AKT_ESTOPPED, AKT_ENOMEM. */
int akt__endpoint_send(akt__endpoint *ep, const akt__env_out *e, const ProtobufCMessage *payload,
                       size_t payload_len);

/* Connection events, from conn.c. */
void akt__endpoint_on_open(akt__endpoint *ep, akt__conn *c, uint64_t incarnation);
void akt__endpoint_on_down(akt__endpoint *ep, akt__conn *c, const char *reason);

/* An inbound connection from the endpoint's peer finished its handshake
 * with the peer's incarnation and connection number. Returns 1 if it is
 * stale (an equal or newer one was accepted: refuse it); otherwise 0, and
 * writes the connection it supersedes (to close) or NULL to *old. */
int akt__endpoint_on_accept(akt__endpoint *ep, akt__conn *c, uint64_t incarnation, uint64_t seq,
                            akt__conn **old);

/* An inbound connection from the peer closed. What it carried may be lost
 * (a Terminated among it), so every watch of the peer's actors ends with
 * Terminated, as when the peer becomes unreachable. */
void akt__endpoint_on_inbound_down(akt__endpoint *ep, akt__conn *c, const char *reason);

/* Forgets the watch of remote `target` by the local actor at
 * `watcher_path` (incarnation `watcher_id`; 0: any), which may be gone. */
void akt__endpoint_unwatch_path(akt__endpoint *ep, const char *watcher_path, uint64_t watcher_id,
                                akt_pid *target);

/* Writes what the endpoint has queued now, on this thread (shutdown:
 * before the connections close). */
void akt__endpoint_flush(akt__endpoint *ep);

/* Records/forgets a watch of a remote target by a local watcher. */
int akt__endpoint_watch(akt__endpoint *ep, akt_pid *watcher, akt_pid *target, int watch);

/* Shutdown and free. */
void akt__endpoint_stop(akt__endpoint *ep);
void akt__endpoint_free(akt__endpoint *ep);

/* Node address parts: "akt://SYS@HOST:PORT[/path]" → sys, host, port and
 * the path (NULL when none). Returns 0 or AKT_ENAME. */
int akt__parse_address(const char *address, char *sys, size_t sys_size, char *host,
                       size_t host_size, uint16_t *port, const char **path);

#endif
