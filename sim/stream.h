/* akt — simulated TCP: the shared state of stream.c (connections, ends,
 * arrivals, the backend operations) and stream_link.c (what a link does to
 * segments: faults, parking, resets, crashes) (internal).
 *
 * A connection holds both ends (end[0] the client, end[1] the accepted
 * stream) and one direction per end: dir[i] carries what end[i] sends to
 * end[1 - i]. Everything on a direction is a segment — SYN, SYN-ACK, RST,
 * UNREACH, data, FIN — and every segment goes through akt__sim_dir_send.
 * A segment in flight has one world event that pops it when it arrives;
 * arrival times never decrease on a direction, so bytes arrive in order
 * whatever the link does, and control segments keep their place among the
 * bytes.
 */
#ifndef AKT_SIM_STREAM_H
#define AKT_SIM_STREAM_H

#include <stdlib.h>

#include "sim/net.h"

typedef enum seg_kind { SEG_SYN, SEG_SYNACK, SEG_RST, SEG_UNREACH, SEG_DATA, SEG_FIN } seg_kind;

typedef struct seg seg;
struct seg {
  seg *next;
  seg_kind kind;
  size_t len;
  uint8_t data[];
};

typedef struct segq {
  seg *head, *tail;
} segq;

typedef struct net_dir {
  akt__sim_link *link;   /* the link it crosses; NULL for a connect to no node */
  segq flight;           /* handed to the link, in arrival order; one event each */
  segq held;             /* written by a client before it was connected */
  segq parked;           /* stopped by a cut or a hold, in order; no events */
  segq rx;               /* arrived before the receiver started reading */
  uint64_t last_arrival; /* no later segment arrives before this */
  uint64_t cut_epoch;    /* the link's cut this direction has a reset check for */
  size_t pending;        /* bytes written and not yet read (or dropped) */
} net_dir;

typedef struct conn conn;

struct akt_stream {
  akt__sim_dlink link; /* on its node's stream list until it finished */
  conn *c;
  unsigned side;       /* 0 client, 1 accepted */
  akt_stream_cbs cbs;
  void *data;
  int reason;          /* for on_close */
  int connect_status;  /* non-zero: on_connect(connect_status) runs before on_close */
  unsigned started : 1;      /* cbs are set (connect, stream_start) */
  unsigned reading : 1;      /* arriving bytes go straight to on_read */
  unsigned connected : 1;    /* handshake done: writes leave at once */
  unsigned user_closed : 1;  /* stream_close was called */
  unsigned closing : 1;      /* on_close is scheduled */
  unsigned done : 1;         /* finished: the pointer is no longer the user's */
  unsigned fin_in : 1;       /* the peer's FIN arrived before reading started */
  unsigned start_queued : 1; /* a start event is pending */
};

struct conn {
  akt__sim_dlink link;     /* on net->conns */
  akt_sim_world *w;
  akt_stream end[2];
  uint32_t node[2];        /* node[1] is valid only when has_server or a SYN is out */
  uint32_t port[2];
  akt_addr target;         /* what the client asked for (its stream_peer) */
  net_dir dir[2];
  uint32_t refs;           /* pending events + unfinished ends */
  int fail;                /* the connect failure an EV_FAIL reports */
  unsigned has_server : 1;
  unsigned reset : 1;      /* reset by a fault: nothing more crosses */
};

/* Event kinds; the cookie is kind << 1 | side. */
enum { EV_ARRIVE, EV_CLOSE, EV_START, EV_FAIL, EV_CUT_CHECK };

struct akt_listener {
  akt__sim_dlink link; /* on its node's listener list */
  akt_sim_world *w;
  uint32_t node;
  uint32_t port;
  akt_accept_fn on_accept;
  void *data;
};

/* ---- segment queues ----------------------------------------------------------- */

static inline void segq_push(segq *q, seg *g) {
  g->next = NULL;
  if (q->tail)
    q->tail->next = g;
  else
    q->head = g;
  q->tail = g;
}

static inline seg *segq_pop(segq *q) {
  seg *g = q->head;
  if (g) {
    q->head = g->next;
    if (!q->head) q->tail = NULL;
    g->next = NULL;
  }
  return g;
}

/* Frees every segment of `q`; returns the data bytes freed. */
static inline size_t segq_clear(segq *q) {
  size_t bytes = 0;
  for (seg *g = segq_pop(q); g; g = segq_pop(q)) {
    bytes += g->kind == SEG_DATA ? g->len : 0;
    free(g);
  }
  return bytes;
}

/* ---- stream.c ------------------------------------------------------------------- */

/* A control segment; aborts on ENOMEM (a lost control segment cannot be
 * replayed past). */
seg *akt__sim_seg_control(seg_kind kind);

/* Schedules a connection event of `kind` for end `side` at `at`, on behalf
 * of node `at_node` (AKT__SIM_WORLD_EVENT: no node); it holds a reference. */
void akt__sim_conn_push(conn *c, unsigned side, int kind, uint32_t at_node, uint64_t at);

/* Drops one reference; frees the connection at zero. */
void akt__sim_conn_unref(conn *c);

/* Records `type` on the node of end `at`; the text names the ends from
 * `from`'s point of view ("sender->receiver" for bytes). */
void akt__sim_conn_trace(conn *c, unsigned at, unsigned from, const char *type, int64_t code,
                         uint64_t hash);

/* Ends `s`: no callback but on_close(reason) — 0 after stream_close —
 * which runs from an event at `at` (on_connect(connect_status) first when
 * connect_status is non-zero). Bytes `s` had not sent are dropped, and so
 * are bytes that arrived for it unread; bytes already in flight go on and
 * are dropped when they arrive. No-op for an end already closing. */
void akt__sim_end_finish_at(akt_stream *s, int reason, int connect_status, uint64_t at);

/* ---- stream_link.c ------------------------------------------------------------- */

/* Hands `g` to the link from end `side` to its peer: dropped if the
 * connection was reset; parked behind a cut, a hold or segments already
 * parked; a data segment over the link's capacity resets the connection;
 * otherwise it leaves (akt__sim_dir_depart). */
void akt__sim_dir_send(conn *c, unsigned side, seg *g);

/* Resets `c` because of a fault of link `l` (counted there): nothing more
 * crosses, parked segments are dropped, and every open end closes with
 * on_close(AKT_ECLOSED) one base latency of the link toward it later (a
 * client still connecting gets on_connect(connect_status) and then
 * on_close(connect_status)). `why` names the fault in the trace record
 * ("reset"). No-op on a connection already reset. */
void akt__sim_conn_reset(conn *c, akt__sim_link *l, int connect_status, const char *why);

/* The EV_CUT_CHECK event of direction `side`: resets the connection if the
 * cut it was armed for still holds. */
void akt__sim_conn_cut_check(conn *c, unsigned side);

#endif
