/* akt — the endpoint of one peer node (internal; see remote.h). */
#ifndef AKT_REMOTE_ENDPOINT_H
#define AKT_REMOTE_ENDPOINT_H

#include "src/remote/remote.h"

enum {
  AKT__EP_IDLE = 0,       /* no connection, nothing to send */
  AKT__EP_CONNECTING = 1, /* connected or connecting, handshake not answered */
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

struct akt__endpoint {
  akt__remote *r;
  char node[AKT__NODE_MAX]; /* akt://SYS@HOST:PORT */
  char sysname[AKT_SYSTEM_NAME_MAX + 1];
  char host[AKT_HOST_MAX];
  uint16_t port;
  /* The write lock: held by whoever writes to the connection (the writer,
   * a control frame, a flush at shutdown) and by whoever takes the
   * connection away (on_down), always before mu. The writer copies frames
   * to the stream under it alone, so senders, who take only mu, are not
   * held up by those copies. */
  pthread_mutex_t wmu;
  akt__buf out;             /* the writer's: envelopes taken from the queue */
  size_t out_head;          /* out[out_head..len) is still to be written */
  pthread_mutex_t mu;       /* everything below, and out's len and out_head */
  int state;
  akt__conn *conn;          /* the outbound connection, or NULL; changes
                               from one connection to none under wmu too */
  akt__buf queue;           /* encoded envelopes (Batch entries) waiting,
                               from AKT__EP_GAP when not empty */
  akt_runnable writer;      /* flushes the queue; scheduled at most once */
  int writer_scheduled;
  uint32_t attempts;        /* failed connects in a row (backoff) */
  uint64_t retry_timer;
  int retry_armed;
  uint64_t flush_timer;     /* the writer's retry while the stream is full */
  int flush_armed;
  uint64_t incarnation;     /* the peer's, once known */
  uint64_t conn_seq;        /* our outbound connections to the peer so far */
  akt__conn *inbound;       /* the peer's newest connection to us, or NULL */
  uint64_t in_incarnation, in_seq; /* ... its incarnation and number */
  akt__rwatch *watches;
  uint32_t nwatches, cap_watches;
  int stopped;
};

/* Writes a control frame on the endpoint's connection (I/O context), in
 * order with the writer's flushes. */
void akt__endpoint_write_control(akt__endpoint *ep, akt__conn *c, const Akt__Wire__Frame *f);

#endif
