/* akt — remoting internals (see include/akt/remote.h).
 *
 * Objects: one akt__remote per system; one akt__endpoint per peer node we
 * send to (its outbound connection, send queue, writer and watches); one
 * akt__conn per connection, outbound (ours) or inbound (a peer's).
 *
 * Threads. Sends and watches run on any thread (workers, and callers
 * outside the system). Network and timer callbacks run on the backend's
 * I/O context (the loop thread, or the simulated world). The writer is a
 * runnable, so it runs where actors run. A connection belongs to the I/O
 * context: it is created, changed and freed there only (conn.c says how the
 * one exception, the writer's akt__conn_write, stays safe). The fields of
 * akt__remote are set before remoting is published (a release store of
 * sys->remote, read with acquire by akt__remote_of) and never change after,
 * except those under r->mu, the atomic lifecycle state and the counters.
 *
 * Lock hierarchy. Remoting has four kinds of lock, taken only in this
 * order, which every acquisition checks (lock.h):
 *
 *   AKT__RANK_EP_WRITE  an endpoint's write lock (ep->wmu): writing to its
 *                       connection, taking the connection away
 *   AKT__RANK_EP_STATE  an endpoint's state lock (ep->mu): its queue,
 *                       state, timers and watches
 *   AKT__RANK_REMOTE    the remoting lock (r->mu): the endpoint table, the
 *                       list of connections, the connection counts, the
 *                       remote-PID cache, kinds
 *   AKT__RANK_CONN_TLS  a connection's TLS lock (c->tls_mu): its TLS engine,
 *                       which the I/O context (reading) and the endpoint's
 *                       writer (writing) share
 *
 * A thread holds the locks of one endpoint, and the TLS lock of one
 * connection, at most. The remoting lock and the TLS lock are leaves: code
 * holding either takes no other lock of remoting and calls nothing but the
 * allocator, OpenSSL and the backend's stream_write, so an endpoint is
 * looked up under the remoting lock (pinned: peers.c) and used after it is
 * released. Endpoint structs live as long as the remoting: an idle one is
 * emptied and its struct reused for another peer, never freed before
 * (peers.c). Locks outside
 * remoting rank below all three: remoting may call the backend (timers,
 * streams, schedule, wake, log, trace) while holding its locks, and the
 * backend never calls back into remoting while holding one of its own
 * (backend.h: callbacks run with none held). Remoting sends nothing to
 * actors and runs no user code under its locks: a Terminated that losing a
 * peer owes its watchers is collected under the endpoint lock and sent
 * after (endpoint.c, terminate_watches).
 */
#ifndef AKT_REMOTE_REMOTE_H
#define AKT_REMOTE_REMOTE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "akt/remote.h"
#include "akt/wire.pb-c.h"
#include "src/actor/envelope.h"
#include "src/remote/lock.h"
#include "src/remote/tls.h"
#include "src/remote/scan.h"

typedef struct akt__remote akt__remote;
typedef struct akt__endpoint akt__endpoint;
typedef struct akt__conn akt__conn;

#define AKT__NODE_MAX 320           /* bytes of "akt://SYSTEM@HOST:PORT" */

/* A number as a string literal (for messages about limits). */
#define AKT__STR_(x) #x
#define AKT__STR(x) AKT__STR_(x)

/* The largest values the security limits accept (security.c). */
#define AKT__PEERS_LIMIT 65536u
#define AKT__CONNECTIONS_LIMIT 65536u
#define AKT__MEMORY_PER_BYTE_LIMIT 1024u

/* The lock ranks (see the hierarchy above): powers of two, outer first. */
#define AKT__RANK_EP_WRITE 0x1u
#define AKT__RANK_EP_STATE 0x2u
#define AKT__RANK_REMOTE 0x4u
#define AKT__RANK_CONN_TLS 0x8u

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

/* Grows an array of *cap elements of `size` bytes, for a caller whose
 * array is full: doubling, from `first` when empty, up to `max` elements.
 * Returns the new array (the old one moved into it) and updates *cap, or
 * NULL when out of memory or already at `max`: then nothing changed and
 * the caller still owns `items`. */
void *akt__array_grow(void *items, uint32_t *cap, size_t size, uint32_t first, uint32_t max);

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

/* A frame's length prefix: 4 bytes, big-endian, not counted by max_frame. */
#define AKT__FRAME_PREFIX 4

/* Most bytes akt__frame_batch_header writes: the length prefix, the
 * Frame.batch tag and a length of at most AKT__VARINT32_MAX bytes (frames
 * are < 4 GiB). */
#define AKT__BATCH_HDR_MAX (AKT__FRAME_PREFIX + 1 + AKT__VARINT32_MAX)

/* Most bytes a Batch.envelopes entry adds to its envelope: the tag and a
 * length of at most AKT__VARINT32_MAX bytes. */
#define AKT__ENTRY_HDR_MAX (1 + AKT__VARINT32_MAX)

/* Most bytes a frame carrying one envelope adds to it, beyond the length
 * prefix: the Batch frame's header and the entry's. An envelope of more
 * than max_frame minus this can never be sent. */
#define AKT__ENVELOPE_FRAME_OVERHEAD (AKT__BATCH_HDR_MAX - AKT__FRAME_PREFIX + AKT__ENTRY_HDR_MAX)

/* Writes into hdr what goes before a Batch frame's body of body_len bytes
 * (body_len < 4 GiB): the frame's length prefix and the Frame.batch field's
 * tag and length. Returns the bytes written (6..AKT__BATCH_HDR_MAX). */
size_t akt__frame_batch_header(size_t body_len, uint8_t *hdr);

/* Appends one Batch frame holding the envelopes whose encodings (each
 * "0x0a varint(len) bytes", i.e. Batch.envelopes entries) are in
 * body[0..len). 0 or AKT_ENOMEM. */
int akt__frame_batch(const uint8_t *body, size_t len, akt__buf *out);

/* Bytes a protobuf varint of v takes (1..AKT__VARINT_MAX). */
size_t akt__varint_size(uint64_t v);

/* Writes v as a protobuf varint at p (room for akt__varint_size(v) bytes,
 * at most AKT__VARINT_MAX); returns the end of what was written. */
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

/* Remoting's lifecycle: forward only. Connections are served only while
 * RUNNING (those accepted while STARTING wait); sends are refused once
 * STOPPING. STARTING -> RUNNING happens under the remoting lock. */
enum { AKT__REMOTE_STARTING = 0, AKT__REMOTE_RUNNING = 1, AKT__REMOTE_STOPPING = 2 };

/* Streams accepted while remoting starts (the listener opens first, to
 * learn its port) wait, not started, until it runs: at most this many;
 * more are refused (counted in handshakes_refused). */
#define AKT__PARKED_MAX 16

/* ---- security settings and rules (security.c) ---------------------------------- */

/* What akt_remote_start made of akt_security_options: copied and checked,
 * never changed after start (read without a lock). */
typedef struct akt__security {
  uint8_t cookie[AKT_SECURITY_MAX_COOKIE]; /* the cookie, or the public no-cookie label */
  size_t cookie_len;
  int has_cookie;          /* a cookie was configured (else the label) */
  int insecure;            /* neither cookie nor TLS: started with security.insecure */
  akt__tls_ctx *tls;       /* TLS on every connection, or NULL */
  char **spawn_kinds;      /* copies of the allow-lists */
  size_t nspawn;
  char **stop_paths;
  size_t nstop;
  akt_security_limits limits; /* with defaults */
} akt__security;

/* Checks the options, fills r->sec (r->opts and r->sys set). Returns 0 or
 * AKT_EINVAL (an ERROR log line says what and what to do), AKT_ENOMEM,
 * AKT_EBACKEND. */
int akt__security_init(akt__remote *r, const akt_security_options *o);

/* Logs how the node authenticates once it has its address: at ERROR when
 * insecure (once, at start), at INFO otherwise. */
void akt__security_announce(akt__remote *r);

/* Frees what init made and wipes the cookie. */
void akt__security_free(akt__security *s);

/* Whether the network may reach the local actor at `path` (len bytes, the
 * peer's: not NUL-terminated): see security.c. */
int akt__security_reachable(const uint8_t *path, size_t len);

/* Whether peers may spawn `kind` (spawn_kinds), and stop the actor at
 * `path` (stop_paths). */
int akt__security_may_spawn(const akt__remote *r, const char *kind);
int akt__security_may_stop(const akt__remote *r, const uint8_t *path, size_t len);

/* Fills buf with len bytes for nonces: the backend's random_bytes, or
 * random_u64 where it has none (the simulator). Returns 0 or
 * AKT_EBACKEND. */
int akt__secure_random(akt_backend *b, uint8_t *buf, size_t len);

/* ---- throttled log lines (throttle.c) ---------------------------------------------- */

/* Kinds of line that an attacker could make the node write once per
 * connection or per envelope: each is written at most once per
 * limits.log_interval, with the count of those left out. */
typedef enum akt__log_kind {
  AKT__LOG_CLOSED = 0,   /* a connection closed with an error */
  AKT__LOG_CAPPED,       /* an accept refused by a connection cap */
  AKT__LOG_REFUSED,      /* a handshake refused */
  AKT__LOG_NOT_ALLOWED,  /* an envelope, spawn or stop refused by the rules */
  AKT__LOG_FOREIGN,      /* an envelope whose sender is not the peer's */
  AKT__LOG_MEMORY,       /* a frame or payload over the memory bound */
  AKT__LOG_DEPTH,        /* a payload nested deeper than AKT_MSG_MAX_DEPTH */
  AKT__LOG_PEERS,        /* a peer refused at max_peers, a queue given up */
  AKT__LOG_KINDS
} akt__log_kind;

typedef struct akt__throttle {
  _Atomic uint64_t last[AKT__LOG_KINDS];       /* backend time of the last line written,
                                                  plus 1 (0: none yet) */
  _Atomic uint64_t suppressed[AKT__LOG_KINDS]; /* left out since */
} akt__throttle;

/* Logs one line of `kind` at `level` unless one of that kind was written
 * less than log_interval ago (then counts it in log_lines_suppressed). No
 * lock; callable with any of remoting's locks held. */
__attribute__((format(printf, 4, 5))) void akt__rlog(akt__remote *r, akt__log_kind kind,
                                                      akt_log_level level, const char *fmt, ...);

/* ---- connections per source (sources.c) --------------------------------------------- */

/* One remote address's connections. */
typedef struct akt__source {
  char *host;     /* NULL: a free slot */
  uint64_t hash;
  uint32_t conns, unauth;
} akt__source;

/* Open connections counted against the caps (remoting lock): in total,
 * and accepted ones per source address and while not authenticated. */
typedef struct akt__sources {
  akt__source *slots; /* open addressing, linear probing; at most half full */
  uint32_t cap, used;
  uint32_t conns;     /* every connection, in and out */
  uint32_t unauth;    /* accepted, handshake not done */
} akt__sources;

/* The caps akt__sources_admit names when every handshake slot is taken:
 * in all, and of one source address. */
#define AKT__CAP_UNAUTHENTICATED "limits.max_unauthenticated"
#define AKT__CAP_UNAUTHENTICATED_PER_SOURCE "limits.max_unauthenticated_per_source"

/* Counts a new connection from `host` (inbound: against every cap) or of
 * ours (in the total only). Returns 0, or AKT_ELIMIT with *which naming
 * the cap that refused it (nothing counted), or AKT_ENOMEM. Takes the
 * remoting lock. */
int akt__sources_admit(akt__remote *r, const char *host, int inbound, const char **which);

/* An inbound connection from `host` authenticated (no longer counted
 * among the unauthenticated). Takes the remoting lock. */
void akt__sources_authenticated(akt__remote *r, const char *host);

/* A counted connection closed (inbound from `host`, or ours; `unauth`: it
 * was still counted among the unauthenticated). Takes the remoting lock. */
void akt__sources_release(akt__remote *r, const char *host, int inbound, int unauth);

void akt__sources_free(akt__sources *t);

/* ---- the endpoint table (peers.c) --------------------------------------------------- */

typedef struct akt__peers {
  akt__endpoint **all;    /* every endpoint struct made, in order: live or free */
  uint32_t nall, cap_all;
  akt__endpoint **index;  /* live endpoints by node: open addressing, at most half full */
  uint32_t index_cap;
  uint32_t live;          /* endpoints in the index */
  uint32_t setting_up;    /* structs taken for a new peer, not in the index yet */
  akt__endpoint *free;    /* emptied structs, for the next new peer */
  uint64_t sweep_id;      /* the idle sweep's timer (I/O context) */
  int sweep_armed;
} akt__peers;

/* ---- the remoting ------------------------------------------------------------------- */

struct akt__remote {
  akt_system *sys;
  akt_remote_options opts;    /* with defaults (opts.security's pointers: see sec) */
  akt__security sec;          /* set at start, then read-only */
  char node[AKT__NODE_MAX];   /* our address, akt://NAME@HOST:PORT */
  char host[AKT_HOST_MAX];    /* advertised: the host in node */
  char listen_host[AKT_HOST_MAX];
  uint16_t port;
  uint64_t incarnation;
  akt_listener *listener;     /* set at start; cleared by stop_all (caller's thread) */
  _Atomic int state;          /* AKT__REMOTE_* */
  /* Bytes reserved by all peers' queues (limits.max_queued_total), on a
   * cache line of its own: senders on every thread change it. */
  _Alignas(64) _Atomic size_t queued;
  /* Connection numbers (the cookie exchange's conn_seq): one sequence for
   * every peer, so that a peer's endpoint emptied and made again never
   * numbers a connection below one the peer accepted before. */
  _Atomic uint64_t conn_seq;
  akt__throttle throttle;
  akt__rmutex mu;             /* AKT__RANK_REMOTE: the fields below */
  akt__peers peers;
  akt__sources sources;
  akt__conn *conns;           /* every open connection (for shutdown) */
  akt_pid **rpids;            /* remote-PID cache: open addressing on address+id */
  uint32_t rpid_cap, rpid_count;
  const akt_actor_def **kinds;
  uint32_t nkinds, cap_kinds;
  akt_stream *parked[AKT__PARKED_MAX]; /* accepted while STARTING */
  uint32_t nparked;
  akt_pid *actor;             /* /system/remoting (set before publication) */
  akt_remote_stats stats;     /* updated with atomics (see stat_add) */
};

/* Remoting's lifecycle state (acquire: what was set before it changed is
 * visible). */
static inline int akt__remote_state(akt__remote *r) {
  return atomic_load_explicit(&r->state, memory_order_acquire);
}

/* Adds to one counter of the stats (relaxed atomic); SSTAT to one of the
 * security counters. */
#define AKT__RSTAT(r, field, n) __atomic_fetch_add(&(r)->stats.field, (n), __ATOMIC_RELAXED)
#define AKT__SSTAT(r, field, n) AKT__RSTAT(r, security.field, n)

/* The system's remoting, or NULL when not started: everything
 * akt_remote_start set up is visible to the caller. */
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
  /* The memory bound of the payload being unpacked (limits.memory_per_byte
   * times its bytes, plus AKT_SECURITY_DECODE_OVERHEAD), what it took so
   * far (arena and malloc), and whether it asked for more. */
  size_t budget, taken;
  int over_budget;
  max_align_t arena[AKT__RX_ARENA / sizeof(max_align_t)];
} akt__rx_cache;

/* Releases the PIDs and memory the cache holds and zeroes it. */
void akt__rx_cache_free(akt__rx_cache *rx);

/* Delivers one envelope that arrived on a connection (whose cache is rx)
 * from the peer `from` (its endpoint: the node it authenticated as) to
 * this system. The view's strings are at most max_name bytes (the caller
 * checked). Never fails: what cannot be delivered, or is not allowed
 * (security.c's rules, a sender not on the peer's node, a Terminated for
 * no watch), is a dead letter, counted. */
void akt__remote_deliver(akt__remote *r, akt__rx_cache *rx, akt__endpoint *from,
                         const akt__env_view *v);

/* A dead letter known only by its wire fields (an envelope read from a
 * peer, or one dropped from a send queue): counted, traced, logged at
 * DEBUG and published on akt.deadletter. `scratch` holds the names as C
 * strings. */
void akt__remote_dead_view(akt__remote *r, akt__buf *scratch, const akt__env_view *v,
                           const char *reason);

/* ---- connections (conn.c) ------------------------------------------------- */

/* Accepts an inbound stream (I/O context): served while remoting runs,
 * parked while it starts (see AKT__PARKED_MAX), closed once it stops. */
void akt__conn_accept(akt__remote *r, akt_stream *s);

/* Serves the streams parked while remoting started (I/O context, once it
 * runs). */
void akt__conns_serve_parked(akt__remote *r);

/* Closes the streams parked while remoting started (a failed start). */
void akt__conns_close_parked(akt__remote *r);

/* Opens the outbound connection of `ep` and begins its handshake (TLS
 * when on, then the cookie exchange; I/O context, endpoint lock held, the
 * endpoint connecting without a connection). Returns 0 (ep->conn is the
 * new connection), AKT_ELIMIT (limits.max_connections), AKT_ENOMEM or the
 * backend's error. */
int akt__conn_connect(akt__endpoint *ep);

/* Closes a connection with a reason (sent to the peer when possible; I/O
 * context, no remoting lock held). */
void akt__conn_close(akt__conn *c, const char *reason);

/* Writes bytes on a connection: from the I/O context, or from its
 * endpoint's writer under the write lock. 0, AKT_ECLOSED, AKT_EFULL,
 * AKT_ENOMEM. */
int akt__conn_write(akt__conn *c, const uint8_t *data, size_t len);

/* Whether the connection's stream holds AKT__CONN_AHEAD_MAX(r) bytes or
 * more that the network has not taken yet (a peer that reads slowly, or
 * never): its endpoint's writer then leaves what is queued in the queue,
 * counted against send_queue and limits.max_queued_total, rather than in
 * the stream, whose own limit (the backend's: 64 MiB per stream on libuv)
 * no cap of remoting's counts. Safe where akt__conn_write is. */
int akt__conn_backed_up(akt__conn *c);
#define AKT__CONN_AHEAD_MAX(r) ((r)->opts.max_frame)

/* Whether a control frame of `kind` (Heartbeat, HeartbeatAck, Close) may
 * be written on c now; when not, it is dropped and counted in
 * control_frames_dropped. Not while the stream is backed up: an answer the
 * peer is not reading is of no use to it, and a peer that sends Heartbeats
 * and reads nothing would otherwise pile our acks up in the stream (one per
 * Heartbeat, up to the backend's limit), counted by no cap. Our own
 * Heartbeat goes once per time the stream was found below the mark (by the
 * writer or here): a slow peer that reads still gets one behind what it
 * has to read, and answers it, so that it is not declared unreachable for
 * being busy; one that reads nothing gets one more frame, not one per
 * heartbeat interval. Safe where akt__conn_write is. */
int akt__conn_control_fits(akt__conn *c, Akt__Wire__Frame__KindCase kind);

/* Feeds bytes to a connection as if they came from its stream: the path
 * the fuzz harnesses and malformed-input tests use. Returns 0, or the
 * code the connection was closed with. */
int akt__conn_feed(akt__conn *c, const uint8_t *data, size_t len);

/* A connection fed by hand (tests, fuzzing): outbound when `ep` is given,
 * else inbound; what it writes goes to `capture` (may be NULL). Its
 * handshake has begun as on a stream (an outbound one's first frame is in
 * capture). Free with akt__conn_detached_free. NULL when out of memory
 * (or when r's TLS or cookie exchange cannot be set up). */
akt__conn *akt__conn_detached(akt__remote *r, akt__endpoint *ep, akt__buf *capture);
void akt__conn_detached_free(akt__conn *c);

/* Plays the peer `address` (akt://SYS@HOST:PORT, incarnation, connection
 * number seq) through the cookie exchange with the detached inbound
 * connection c, which must use capture, empty yet (tests, fuzzing; not
 * with TLS):
 * what c wrote is taken out of capture and answered, with r's cookie and
 * fixed nonce material. What the peer sent is appended to `sent` (may be
 * NULL): replayed to a connection made the same way in the same simulated
 * world, it completes the exchange again. Returns 0 (c is open) or the
 * code c or the peer's side failed with. */
int akt__conn_detached_handshake(akt__conn *c, const char *address, uint64_t incarnation,
                                 uint64_t seq, akt__buf *sent);

/* Closes every connection (shutdown; on the I/O context). */
void akt__conns_close_all(akt__remote *r);

/* Frees every connection without touching its stream (a dropped system,
 * whose streams the simulated network already took away). */
void akt__conns_free_all(akt__remote *r);

/* 1 while a connection is open (handshake done), 0 otherwise. */
int akt__conn_is_open(const akt__conn *c);

/* ---- the endpoint table (peers.c) ----------------------------------------------- */

/* The endpoint for node `node` ("akt://SYS@HOST:PORT"), created on first
 * use, pinned: it stays this node's endpoint until akt__endpoint_put. When
 * limits.max_peers endpoints exist, the idle one used least recently is
 * emptied and reused; when none is idle, the call fails. Takes the
 * remoting lock and, to empty one, endpoint locks (none of remoting's may
 * be held). Returns 0, AKT_ENAME (a malformed node), AKT_ELIMIT (max_peers
 * endpoints, none idle: counted in peers_capped) or AKT_ENOMEM. */
int akt__endpoint_get(akt__remote *r, const char *node, akt__endpoint **out);

/* Unpins an endpoint akt__endpoint_get returned (NULL: nothing). */
void akt__endpoint_put(akt__endpoint *ep);

/* The endpoint struct at index i of the table (live, or emptied and free:
 * either may be flushed or stopped), or NULL past its end. Takes and
 * releases the remoting lock: for walks that call into each endpoint,
 * which the lock order forbids under it. */
akt__endpoint *akt__remote_endpoint_at(akt__remote *r, uint32_t i);

/* Arms the sweep that empties endpoints idle for limits.peer_idle (start),
 * and cancels it (stop). */
void akt__peers_start(akt__remote *r);
void akt__peers_stop(akt__remote *r);

/* Frees every endpoint struct and the table (remoting freed). */
void akt__peers_free(akt__remote *r);

/* ---- endpoints (endpoint.c) ------------------------------------------------ */

/* Queues one envelope for the peer `node`, packed straight into the queue:
 * e's fields and `payload`, whose packed size is payload_len. Returns 0;
 * 1 when ep is no longer node's endpoint (emptied and reused since it was
 * looked up: look it up again); AKT_ELIMIT (the envelope could never fit
 * a frame), AKT_EFULL (the peer's queue, or all peers' together, is full:
 * counted), AKT_EUNREACH (the peer could not be reached for
 * limits.unreachable_give_up: counted), AKT_ESTOPPED, AKT_ENOMEM. */
int akt__endpoint_send(akt__endpoint *ep, const char *node, const akt__env_out *e,
                       const ProtobufCMessage *payload, size_t payload_len);

/* Connection events, from conn.c (I/O context, no remoting lock held).
 * on_down's code says why the connection ended (0: closed by us). */
void akt__endpoint_on_open(akt__endpoint *ep, akt__conn *c, uint64_t incarnation);
void akt__endpoint_on_down(akt__endpoint *ep, akt__conn *c, int code, const char *reason);

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

/* A Terminated from the peer's actor `target` for the local actor at
 * `watcher_path` (len bytes; incarnation `watcher_id`, 0: any): ends the
 * matching watch, which the watcher may have outlived. Returns 1 when
 * there was one (the Terminated is an answer to it), 0 when not (a
 * Terminated nobody asked for: refuse it). */
int akt__endpoint_end_watch(akt__endpoint *ep, const uint8_t *watcher_path, size_t len,
                            uint64_t watcher_id, akt_pid *target);

/* Writes what the endpoint has queued now, on this thread (shutdown:
 * before the connections close). */
void akt__endpoint_flush(akt__endpoint *ep);

/* Records/forgets a watch of a remote target by a local watcher. Returns
 * 0 or AKT_ENOMEM. */
int akt__endpoint_watch(akt__endpoint *ep, akt_pid *watcher, akt_pid *target, int watch);

/* Blocks the calling thread (outside any actor; the simulator runs the
 * world instead) until the endpoint's connection is open, connecting first
 * if it is idle, or until a connection attempt fails, or until `deadline`
 * (backend time). Returns 0 (open), the code the failed attempt ended with
 * (AKT_EREFUSED: nobody listens there, or the peer refused the handshake;
 * AKT_EUNREACH; AKT_ETIMEDOUT: no answer; AKT_ECLOSED ...), AKT_ETIMEDOUT
 * (the deadline passed), AKT_ESTOPPED (remoting stopped) or AKT_ESTATE
 * (called from a backend thread). */
int akt__endpoint_await_open(akt__endpoint *ep, uint64_t deadline);

/* Shutdown and free. */
void akt__endpoint_stop(akt__endpoint *ep);
void akt__endpoint_free(akt__endpoint *ep);

/* Makes an endpoint struct for the peer `node` (parts parsed) or resets an
 * emptied one for it (peers.c, with no other lock held: it takes the
 * struct's locks). Returns the struct, or NULL when out of memory. */
akt__endpoint *akt__endpoint_setup(akt__remote *r, akt__endpoint *reuse, const char *node,
                                   const char *sysname, const char *host, uint16_t port);

/* Whether the endpoint holds nothing and wants nothing (endpoint lock
 * held): no connection either way, nothing queued, no watch, waiter,
 * timer or writer. Such an endpoint may be emptied and reused. */
int akt__endpoint_idle(const akt__endpoint *ep);

/* Node address parts: "akt://SYS@HOST:PORT[/path]" → sys, host, port and
 * the path (NULL when none). Returns 0 or AKT_ENAME. */
int akt__parse_address(const char *address, char *sys, size_t sys_size, char *host,
                       size_t host_size, uint16_t *port, const char **path);

#endif
