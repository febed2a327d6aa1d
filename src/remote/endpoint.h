/* akt — the endpoint of one peer node (internal; see remote.h). */
#ifndef AKT_REMOTE_ENDPOINT_H
#define AKT_REMOTE_ENDPOINT_H

#include "src/remote/remote.h"

/* The endpoint's state. Every change is asserted against this design
 * (endpoint.c, ep_next):
 *
 *   IDLE -> CONNECTING   a send, a watch or a waiter wants the peer (a dial
 *                        is queued to the I/O context), or a backoff ended
 *   CONNECTING -> OPEN   the peer accepted the handshake
 *   CONNECTING -> IDLE   the dial failed, or the connection ended unopened
 *   OPEN -> IDLE         the connection ended
 *   IDLE -> BACKOFF      right after one of those two, while something is
 *                        queued or a thread waits for the peer
 *   BACKOFF -> IDLE      the retry timer fired (then CONNECTING at once if
 *                        the peer is still wanted), or could not be armed
 */
enum {
  AKT__EP_IDLE = 0,       /* no connection */
  AKT__EP_CONNECTING = 1, /* a connection is being opened, handshake not answered */
  AKT__EP_OPEN = 2,       /* handshake accepted: envelopes flow */
  AKT__EP_BACKOFF = 3     /* waiting to reconnect */
};

/* Bytes kept free at the front of the send queue, where the writer puts
 * the first frame's header (write_frames). */
#define AKT__EP_GAP 16

_Static_assert(AKT__EP_GAP >= AKT__BATCH_HDR_MAX, "a frame header fits the queue's gap");

/* A watch of a remote actor by a local one. */
typedef struct akt__rwatch {
  akt_pid *watcher; /* local, one reference */
  akt_pid *target;  /* remote, one reference */
} akt__rwatch;

/* The endpoint's timers, each armed at most once at a time (under its
 * state lock); their one callback takes the state lock first and disarms
 * the one that fired. */
enum {
  AKT__EP_DIAL = 0,  /* opens the connection on the I/O context */
  AKT__EP_RETRY = 1, /* reconnects after a backoff */
  AKT__EP_FLUSH = 2, /* the writer's retry while the stream is full */
  AKT__EP_TIMERS = 3
};

typedef struct akt__ep_timer {
  uint64_t id;
  int armed;
} akt__ep_timer;

struct akt__endpoint {
  akt__remote *r;
  /* Table bookkeeping (peers.c), under the remoting lock: whether the
   * struct is in the index, the next free struct, and the pins of
   * akt__endpoint_get (taken under the remoting lock, dropped with an
   * atomic decrement: an endpoint with pins is never emptied). */
  int listed;
  uint64_t hash;            /* of node, while listed */
  akt__endpoint *next_free;
  _Atomic uint32_t pins;
  /* The peer's address and its parts: set (under mu) when the struct is
   * set up for a peer, and unchanged until it is emptied and reused for
   * another (under mu again), which only an idle, unpinned, unlisted
   * endpoint is: a holder of a stale pointer (a remote PID's cache) finds
   * another node here, and looks again. */
  char node[AKT__NODE_MAX]; /* akt://SYS@HOST:PORT; "" while free */
  char sysname[AKT_SYSTEM_NAME_MAX + 1];
  char host[AKT_HOST_MAX];
  uint16_t port;
  /* The write lock (AKT__RANK_EP_WRITE): held by whoever writes to the
   * connection (the writer, a control frame, a flush at shutdown) and by
   * whoever takes the connection away (on_down), always before mu. The
   * writer copies frames to the stream under it alone, so senders, who
   * take only mu, are not held up by those copies. */
  akt__rmutex wmu;
  akt__buf out;             /* the writer's: envelopes taken from the queue */
  size_t out_head;          /* out[out_head..len) is still to be written */
  /* The state lock (AKT__RANK_EP_STATE): everything below. out's fields
   * change under both locks, so either suffices to read them. */
  akt__rmutex mu;
  int state;                /* AKT__EP_* */
  akt__conn *conn;          /* the outbound connection, or NULL; changes
                               from one connection to none under wmu too */
  akt__buf queue;           /* encoded envelopes (Batch entries) waiting,
                               from AKT__EP_GAP when not empty */
  size_t reserved;          /* of r->queued: at least what is pending */
  akt_runnable writer;      /* flushes the queue; scheduled at most once */
  int writer_scheduled;
  uint32_t attempts;        /* failed connects in a row (backoff) */
  akt__ep_timer timers[AKT__EP_TIMERS]; /* by AKT__EP_DIAL ... */
  uint64_t incarnation;     /* the peer's, once known */
  uint64_t dials;           /* connections we began to open so far */
  uint64_t failed_dial;     /* the number of the dial whose connection ended last */
  int last_error;           /* why it ended */
  uint32_t waiters;         /* threads in akt__endpoint_await_open */
  akt__conn *inbound;       /* the peer's newest connection to us, or NULL */
  uint64_t in_incarnation, in_seq; /* ... its incarnation and number */
  akt__rwatch *watches;
  uint32_t nwatches, cap_watches;
  int stopped;
  uint64_t last_used;       /* backend time of the last send, open or close */
  /* Reaching the peer: since when it has not been reached while something
   * waited for it (0: reached, or nothing waited), and whether that lasted
   * limits.unreachable_give_up (sends fail at once until it is reached). */
  uint64_t unreachable_since;
  int given_up;
};

/* Writes a control frame on the endpoint's connection (I/O context), in
 * order with the writer's flushes; nothing when c is no longer the
 * endpoint's connection, or when its stream is backed up
 * (akt__conn_control_fits: dropped and counted). */
void akt__endpoint_write_control(akt__endpoint *ep, akt__conn *c, const Akt__Wire__Frame *f);

#endif
