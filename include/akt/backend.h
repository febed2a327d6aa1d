/* akt — the backend seam.
 *
 * The core (src/) never reads a clock, draws a random number, starts a
 * thread, opens a socket or resolves a name. It asks the backend, through the
 * struct of function pointers below (in the spirit of SQLite's sqlite3_vfs).
 * Two backends ship with akt:
 *   - the simulator (include/akt/sim.h): virtual time, seeded randomness, a
 *     seeded choice of the next actor turn, simulated links; single-threaded
 *     and replayable from one seed;
 *   - the production backend (include/akt/transport.h): libuv loop thread,
 *     worker threads, real sockets.
 *
 * Threading contract. The core calls every operation from any thread (a
 * worker running an actor turn, the loop thread, or a user thread outside the
 * system) unless an operation says otherwise; backends make them safe.
 * Callbacks a backend invokes (timers, runnables, network events) run on the
 * backend's threads: in production a runnable runs on a worker thread and the
 * other callbacks on the loop thread; in the simulator everything runs on the
 * thread that drives the world. A backend never invokes a callback from inside
 * the operation that registered it (no re-entrancy).
 *
 * Ownership. The user creates a backend and destroys it after every
 * akt_system using it has been freed. The backend owns its handles (timers,
 * streams, datagram sockets, listeners) and frees them itself after their
 * final callback.
 */
#ifndef AKT_BACKEND_H
#define AKT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_backend akt_backend;
typedef struct akt_backend_ops akt_backend_ops;

/* ---- runnables --------------------------------------------------------- */

/* A unit of work the backend runs: in akt, one actor turn. The core owns the
 * memory; while the runnable is scheduled the backend owns `next` and may use
 * it to link the runnable into its own queues. */
typedef struct akt_runnable akt_runnable;
struct akt_runnable {
  akt_runnable *next;
  void (*run)(akt_runnable *self);
};

/* ---- timers ------------------------------------------------------------ */

/* Called once when a timer fires. `arg` and `cookie` are what was passed to
 * timer_start. */
typedef void (*akt_timer_fn)(void *arg, uint64_t cookie);

/* ---- logging ----------------------------------------------------------- */

/* Severity of a log line. 0 is not a level: in option structs it means "the
 * default" (AKT_LOG_WARN). */
typedef enum akt_log_level {
  AKT_LOG_DEFAULT = 0,
  AKT_LOG_TRACE = 1,
  AKT_LOG_DEBUG = 2,
  AKT_LOG_INFO = 3,
  AKT_LOG_WARN = 4,
  AKT_LOG_ERROR = 5,
  AKT_LOG_OFF = 6
} akt_log_level;

/* A user log sink: receives each formatted line (no trailing newline) on
 * whatever thread logged it; must be thread-safe. */
typedef void (*akt_log_sink_fn)(akt_log_level level, const char *line, void *data);

/* ---- trace events -------------------------------------------------------- */

/* What the core reports to the backend's trace hook. The simulator turns each
 * event into a canonical trace record (stamped with virtual time and node)
 * and folds it into the run's digest; the production backend may ignore them
 * or forward them to observability. */
typedef enum akt_event_kind {
  AKT_EV_SPAWN = 1,   /* actor created: actor, peer = parent, type = kind, text = path */
  AKT_EV_START,       /* pre_start completed: actor, code = its result */
  AKT_EV_SEND,        /* message queued: actor = receiver, peer = sender, type, hash */
  AKT_EV_DELIVER,     /* receive about to run: actor, peer = sender, type, hash */
  AKT_EV_FAIL,        /* receive or pre_start failed: actor, code, type */
  AKT_EV_STOP,        /* actor terminated (post_stop ran): actor */
  AKT_EV_DEAD_LETTER, /* message undeliverable: actor = target, peer = sender, type, text = reason */
  AKT_EV_TIMER,       /* a core timer fired: actor, code = timer kind, hash = timer id */
  AKT_EV_RESTART,     /* actor restarted by its supervisor: actor, code = cause */
  AKT_EV_LOG,         /* a log line: code = level, text = the line */
  AKT_EV_USER,        /* an application event: type = name, text = detail, hash = value */
  AKT_EV_NET,         /* remoting/cluster event: type = what, text = detail */
  AKT_EV_DIRECTIVE,   /* a supervisor decided: actor = child, peer = parent, code = directive */
  AKT_EV_RESUME,      /* actor resumed after a failure */
  AKT_EV_PASSIVATE,   /* actor stopped for being idle */
  AKT_EV_KIND_MAX
} akt_event_kind;

typedef struct akt_event {
  akt_event_kind kind;
  uint64_t actor;       /* subject actor id (sequential per system), 0 if none */
  uint64_t peer;        /* the other actor id (sender, parent), 0 if none */
  const char *type;     /* message full type name, actor kind, or NULL */
  uint64_t hash;        /* xxh3-64 of the packed payload (or kind-specific), 0 if none */
  int64_t code;         /* an error code, level or kind-specific number */
  const char *text;     /* a path, reason or log line, or NULL */
} akt_event;

/* ---- networking ---------------------------------------------------------- */

/* Limits on textual addresses. */
#define AKT_HOST_MAX 256 /* bytes, including the terminating NUL */

/* A network address in text form: a host (IP literal or simulated node
 * address) and a port. Plain data; the caller owns it. */
typedef struct akt_addr {
  char host[AKT_HOST_MAX];
  uint16_t port;
} akt_addr;

typedef struct akt_stream akt_stream;     /* a connected byte stream (TCP, simulated) */
typedef struct akt_listener akt_listener; /* a listening endpoint */
typedef struct akt_dgram akt_dgram;       /* a datagram endpoint (UDP, simulated) */

/* Callbacks of one stream. All run on the backend's I/O context. */
typedef struct akt_stream_cbs {
  /* An outbound connect finished: status 0, or AKT_EUNREACH / AKT_EREFUSED /
   * AKT_ETIMEDOUT. On failure on_close follows. May be NULL for accepted
   * streams. */
  void (*on_connect)(akt_stream *s, int status, void *data);
  /* Bytes arrived. `buf` is valid only during the call. */
  void (*on_read)(akt_stream *s, const uint8_t *buf, size_t len, void *data);
  /* The stream is closed (by the peer: AKT_ECLOSED; by an error: a negative
   * code; by stream_close: 0). Last callback; the backend frees the stream
   * after it returns. */
  void (*on_close)(akt_stream *s, int reason, void *data);
} akt_stream_cbs;

/* A listener accepted `s`. The callee must call stream_start (to receive
 * bytes) or stream_close on it. */
typedef void (*akt_accept_fn)(akt_listener *l, akt_stream *s, void *data);

/* A datagram arrived from `from`. `buf` is valid only during the call. */
typedef void (*akt_dgram_fn)(akt_dgram *d, const akt_addr *from, const uint8_t *buf,
                             size_t len, void *data);

/* Name resolution finished: status 0 with n >= 1 addresses (port 0), or
 * AKT_ENOENT / AKT_EBACKEND / AKT_ESTOPPED with n == 0. `addrs` is valid
 * only during the call. */
typedef void (*akt_resolve_fn)(int status, const akt_addr *addrs, size_t n, void *data);

/* Most SRV records one resolve_srv reports; the rest are dropped. */
#define AKT_SRV_MAX 256

/* One DNS SRV record (RFC 2782): a service instance at target:port. Lower
 * priorities are tried first; weight spreads load among equal priorities.
 * Plain data. */
typedef struct akt_srv {
  char target[AKT_HOST_MAX]; /* a host name, without the trailing dot */
  uint16_t port;
  uint16_t priority;
  uint16_t weight;
} akt_srv;

/* An SRV lookup finished: status 0 with 1 <= n <= AKT_SRV_MAX records, in
 * the order the answer gave them, or AKT_ENOENT (no such name, or no SRV
 * record for it) / AKT_EBACKEND (no server answered, a server failure, a
 * malformed answer) / AKT_ESTOPPED with n == 0. `recs` is valid only
 * during the call. */
typedef void (*akt_resolve_srv_fn)(int status, const akt_srv *recs, size_t n, void *data);

/* ---- the seam ------------------------------------------------------------ */

/* Backend capability flags (akt_backend.flags). */
#define AKT_BACKEND_TRACE 0x1u       /* wants trace events with payload hashes */
#define AKT_BACKEND_SIMULATED 0x2u   /* virtual time; wait() drives the world */

struct akt_backend_ops {
  /* Monotonic time in nanoseconds. Never decreases. Virtual in the
   * simulator (with the node's skew and drift applied). */
  uint64_t (*now)(akt_backend *b);

  /* Wall-clock time in nanoseconds since the Unix epoch. */
  int64_t (*wall)(akt_backend *b);

  /* A uniformly distributed 64-bit random number. In the simulator it comes
   * from this node's stream, split from the world seed. */
  uint64_t (*random_u64)(akt_backend *b);

  /* Runs `r->run(r)` once, soon, on a worker (production) or when the world
   * picks it (simulator). The core guarantees a runnable is scheduled at most
   * once at a time. Never fails: the backend's queue is intrusive. */
  void (*schedule)(akt_backend *b, akt_runnable *r);

  /* Optional (NULL: never linger). Asked by a runnable that ran out of work
   * and is about to go idle, on the thread running it. Returns non-zero when
   * that thread has nothing else to run and the runnable should look for
   * new work of its own once more (the backend may pause a little before
   * returning); 0 when it should go idle now. `round` counts the calls
   * since the runnable last found work (0 first); `found` is how much work
   * (messages) it found since its previous call, or since its run began.
   * Lingering replaces the idle-then-schedule-again round trip (a run-queue
   * push, a hand-off to a worker) that a steady stream of messages from
   * another thread would otherwise pay every few messages. */
  int (*linger)(akt_backend *b, unsigned round, unsigned found);

  /* Starts a one-shot timer that calls fn(arg, cookie) after `delay` ns.
   * Writes its id (never 0) to *id. Returns 0, AKT_ENOMEM, or AKT_ESTOPPED
   * when the backend is shutting down. */
  int (*timer_start)(akt_backend *b, akt_duration delay, akt_timer_fn fn, void *arg,
                     uint64_t cookie, uint64_t *id);

  /* Cancels timer `id`. Returns 0 when the timer was removed before firing:
   * its callback will never run, and the caller owns `arg` again. Returns
   * AKT_ENOENT when the timer already fired or is firing: its callback runs
   * (or ran) exactly once. */
  int (*timer_cancel)(akt_backend *b, uint64_t id);

  /* Blocks the calling thread (outside any actor) until ready(arg) returns
   * non-zero or the monotonic clock reaches `deadline`. In the simulator it
   * runs the world instead of blocking. ready() is evaluated on the calling
   * thread, after every wake() in production and after every world step in
   * the simulator. Returns 0 if ready, AKT_ETIMEDOUT if the deadline passed,
   * AKT_ESTATE if called from a backend thread. */
  int (*wait)(akt_backend *b, int (*ready)(void *arg), void *arg, uint64_t deadline);

  /* Tells waiters that something they may be waiting for changed. Cheap when
   * nobody waits. */
  void (*wake)(akt_backend *b);

  /* Emits one formatted log line at `level`. `line` has no trailing newline
   * and is valid only during the call. */
  void (*log)(akt_backend *b, akt_log_level level, const char *line);

  /* Records one trace event (see akt_event). May be NULL: no tracing. */
  void (*trace)(akt_backend *b, const akt_event *ev);

  /* Resolves `name` (a DNS name, an IP literal, or a simulated host name) to
   * addresses; `cb` runs exactly once on the I/O context — also when the
   * backend shuts down first (then with AKT_ESTOPPED), so `data` may be
   * freed by the callback. Returns 0 (cb will run), AKT_EINVAL, AKT_ENOMEM
   * or AKT_ESTOPPED (cb will not run). */
  int (*resolve)(akt_backend *b, const char *name, akt_resolve_fn cb, void *data);

  /* Listens for stream connections on `addr` (port 0 picks a free one; see
   * listener_addr). Returns 0 and *out, or AKT_EINVAL, AKT_EEXIST (address
   * in use), AKT_EBACKEND, AKT_ENOTSUP. */
  int (*listen)(akt_backend *b, const akt_addr *addr, akt_accept_fn on_accept, void *data,
                akt_listener **out);

  /* Writes the address a listener is bound to (with the real port). Returns
   * 0 or AKT_ECLOSED. */
  int (*listener_addr)(akt_backend *b, akt_listener *l, akt_addr *out);

  /* Stops listening. No on_accept runs after it returns; the backend frees
   * the listener. */
  void (*listener_close)(akt_backend *b, akt_listener *l);

  /* Starts connecting to `addr`; cbs->on_connect reports the outcome.
   * Returns 0 and *out (usable for stream_write at once: bytes are queued
   * until connected), or AKT_EINVAL, AKT_ENOMEM, AKT_ENOTSUP. */
  int (*connect)(akt_backend *b, const akt_addr *addr, const akt_stream_cbs *cbs, void *data,
                 akt_stream **out);

  /* Sets the callbacks of an accepted stream and starts reading. Returns 0
   * or AKT_ECLOSED. */
  int (*stream_start)(akt_backend *b, akt_stream *s, const akt_stream_cbs *cbs, void *data);

  /* Queues `len` bytes for writing (the backend copies them). Bytes written
   * by one caller go out in order. Returns 0, AKT_ECLOSED, AKT_ENOMEM, or
   * AKT_EFULL when the backend's per-stream write queue limit is reached. */
  int (*stream_write)(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len);

  /* Bytes queued on `s` and not yet handed to the network. */
  size_t (*stream_pending)(akt_backend *b, akt_stream *s);

  /* Writes the peer's address. Returns 0 or AKT_ECLOSED. */
  int (*stream_peer)(akt_backend *b, akt_stream *s, akt_addr *out);

  /* Closes the stream (queued bytes are flushed first when possible).
   * on_close(s, 0) follows, once. Safe to call more than once. */
  void (*stream_close)(akt_backend *b, akt_stream *s);

  /* Opens a datagram endpoint bound to `addr` (port 0 picks one). Returns 0
   * and *out, or AKT_EINVAL, AKT_EEXIST, AKT_EBACKEND, AKT_ENOTSUP. */
  int (*dgram_open)(akt_backend *b, const akt_addr *addr, akt_dgram_fn on_recv, void *data,
                    akt_dgram **out);

  /* Writes the bound address. Returns 0 or AKT_ECLOSED. */
  int (*dgram_addr)(akt_backend *b, akt_dgram *d, akt_addr *out);

  /* Sends one datagram of `len` bytes (copied) to `to`. Delivery is not
   * guaranteed. `to` may be a multicast group (see dgram_open_group): the
   * datagram then goes to every endpoint joined to the group on the
   * group's port, this host's included. Returns 0, AKT_ELIMIT (too large),
   * AKT_ECLOSED, AKT_ENOMEM. */
  int (*dgram_send)(akt_backend *b, akt_dgram *d, const akt_addr *to, const uint8_t *buf,
                    size_t len);

  /* Closes the endpoint; no on_recv runs after it returns (it waits for
   * one that is running: never call it holding a lock on_recv takes). */
  void (*dgram_close)(akt_backend *b, akt_dgram *d);

  /* Runs fn(arg) once, off the actor threads, for blocking work: on a
   * thread pool in production, as a world event after a seeded delay in
   * the simulator. Once accepted, fn runs even if the backend shuts down
   * first (in production it then runs on the loop thread as the backend
   * stops), so `arg` may be freed by fn. Returns 0 (fn will run),
   * AKT_ENOMEM, or AKT_ESTOPPED (shutting down: fn will not run). */
  int (*offload)(akt_backend *b, void (*fn)(void *arg), void *arg);

  /* Optional. Fills buf with len bytes fit for secrets and nonces (the
   * cookie exchange's nonces): cryptographically secure and unpredictable
   * whatever seed random_u64 was given — the kernel's generator in
   * production. NULL (the simulator): the core draws random_u64 instead,
   * so a simulated run stays a function of its seed. Returns 0 or
   * AKT_EBACKEND. */
  int (*random_bytes)(akt_backend *b, uint8_t *buf, size_t len);

  /* Optional (NULL: no SRV lookups). Looks up the SRV records of `name`
   * (e.g. "_gossip._udp.svc.ns.svc.cluster.local", a Kubernetes headless
   * service); `cb` runs exactly once on the I/O context, as for resolve
   * (AKT_ESTOPPED when the backend shuts down first). The targets are host
   * names to resolve; their addresses are not part of the answer. Returns
   * 0 (cb will run), AKT_EINVAL (name NULL, empty or too long), AKT_ENOMEM
   * or AKT_ESTOPPED (cb will not run). */
  int (*resolve_srv)(akt_backend *b, const char *name, akt_resolve_srv_fn cb, void *data);

  /* Optional (NULL: no multicast). Opens a datagram endpoint that belongs
   * to the multicast group group->host (an IPv4 or IPv6 multicast address:
   * 224.0.0.0/4 or ff00::/8, e.g. mDNS's 224.0.0.251) on port group->port.
   * The endpoint is bound to that port on every address and shares it with
   * the other group endpoints of its host (as every mDNS responder on a
   * machine binds 5353); it receives what is sent to the group on that
   * port and what is sent to the port directly. It joins the group on the
   * interface whose address is `iface` (NULL or "": the system's choice)
   * and what it sends to a group leaves through that interface, with
   * multicast loopback on (endpoints of this host hear it, the sender's
   * own included) and a hop limit of 255 (RFC 6762 §11: link-local groups
   * are never routed, and receivers may check it). Use dgram_send to send
   * (to the group, or unicast), dgram_close to leave. The simulator gives
   * each node one interface and ignores `iface`. Returns 0 and *out, or
   * AKT_EINVAL (not a multicast address; port 0; iface not a local
   * address), AKT_EEXIST (the port is bound by a plain endpoint),
   * AKT_ENOMEM, AKT_EBACKEND, AKT_ESTOPPED. */
  int (*dgram_open_group)(akt_backend *b, const akt_addr *group, const char *iface,
                          akt_dgram_fn on_recv, void *data, akt_dgram **out);
};

/* A backend instance: an operations table and its private state. Created by
 * the backend's constructor (akt_sim_node_backend, akt_uv_backend_new). */
struct akt_backend {
  const akt_backend_ops *ops;
  void *impl;     /* the backend's own state */
  uint32_t flags; /* AKT_BACKEND_* */
};

#ifdef __cplusplus
}
#endif

#endif
