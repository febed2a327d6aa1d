/* akt — simulated links: streams, listeners and datagrams between nodes
 * (internal).
 *
 * Every byte a node sends travels on a link, the ordered pair (from, to) of
 * node indexes. A link is created with the world's defaults the first time
 * something crosses it and says how long a crossing takes and what faults
 * it injects (fault.c: include/akt/sim.h "faults: links"). The latency
 * distribution applies in akt__sim_link_transit; everything else at the two
 * places that hand a unit to a link: stream_link.c (akt__sim_dir_send, TCP:
 * loss is retransmit delay, a cut or a hold parks segments, over capacity
 * or a long cut resets the connection) and dgram.c (akt__sim_dgram_send,
 * UDP: loss, duplication, reorder, capacity and cuts drop or copy
 * datagrams). Every random draw comes from the world's fault stream, and
 * only when a fault is configured, so a perfect link draws nothing.
 *
 * Everything a node owns on the network hangs off its akt__sim_netnode (its
 * listeners, open stream ends and datagram endpoints, in creation order), so
 * a node crash can find and close them all. The network state itself hangs
 * off the world (w->net), created on first use and freed with the world:
 * pending deliveries are dropped without callbacks, as timers are.
 *
 * Nothing here depends on pointer values or hash order: links are kept
 * sorted by (from, to), lists are in creation order, ports are picked by the
 * lowest free number.
 */
#ifndef AKT_SIM_NET_H
#define AKT_SIM_NET_H

#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"
#include "sim/world.h"

/* Defaults and limits. */
#define AKT__SIM_DEFAULT_LATENCY AKT_MILLIS(1) /* one-way, every link */
#define AKT__SIM_WRITE_LIMIT ((size_t)64 << 20) /* bytes per stream not yet read by the peer */
#define AKT__SIM_SEGMENT_MAX ((size_t)64 << 10) /* a write is cut into segments this big */
#define AKT__SIM_DGRAM_MAX 65507               /* largest datagram (as UDP over IPv4) */
#define AKT__SIM_DGRAM_INFLIGHT_MAX 65536u     /* datagrams in flight per world; more are lost */
#define AKT__SIM_PORT_AUTO 40000u      /* port 0 binds the lowest free port from here */
#define AKT__SIM_PORT_EPHEMERAL 49152u /* connecting streams take ports from here up */
#define AKT__SIM_RETRANSMIT_MAX 15     /* losses of one segment before the connection resets */
#define AKT__SIM_WORLD_EVENT UINT32_MAX /* akt__sim_net_push: an event of no node */

/* ---- intrusive lists (creation order) ------------------------------------ */

typedef struct akt__sim_dlink akt__sim_dlink;
struct akt__sim_dlink {
  akt__sim_dlink *prev, *next;
};

/* NULL-terminated at both ends: nothing points back into the owner, so an
 * array of owners may be moved by realloc. */
typedef struct akt__sim_dlist {
  akt__sim_dlink *head, *tail;
} akt__sim_dlist;

static inline void akt__sim_dlist_push(akt__sim_dlist *l, akt__sim_dlink *e) {
  e->next = NULL;
  e->prev = l->tail;
  if (l->tail)
    l->tail->next = e;
  else
    l->head = e;
  l->tail = e;
}

static inline void akt__sim_dlist_remove(akt__sim_dlist *l, akt__sim_dlink *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    l->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l->tail = e->prev;
  e->prev = e->next = NULL;
}

/* ---- links ----------------------------------------------------------------- */

/* One direction between two nodes. Owned by the world's network state;
 * pointers stay valid until the world is freed. */
typedef struct akt__sim_link {
  uint32_t from, to;    /* node indexes */
  /* Configuration (akt_sim_link_set; see akt_sim_link_faults). A zeroed
   * field means "none", except latency, which is always set. */
  akt_duration latency; /* fixed one-way delay, or the distribution's minimum */
  akt_sim_latency kind;
  akt_duration latency_max;  /* uniform: maximum; exponential: cap (never 0 here) */
  akt_duration latency_mean; /* exponential: mean of the part above latency */
  uint32_t loss_ppm, dup_ppm;
  akt_duration reorder;
  size_t capacity;      /* bytes travelling at most; 0: unbounded */
  /* State (the fault calls; akt_sim_link_set leaves it alone). */
  unsigned cut : 1;     /* nothing crosses: datagrams drop, segments park */
  unsigned held : 1;    /* nothing crosses: everything parks until release */
  uint64_t cut_epoch;   /* +1 every time the link gets cut */
  uint64_t clog_until;  /* units sent before this leave at this time */
  uint64_t dgram_floor; /* ordered datagrams (clogged, released) arrive no earlier */
  size_t inflight;      /* payload bytes with an arrival event pending */
  /* Counters. */
  uint64_t units;       /* stream segments and datagrams handed to the link */
  uint64_t bytes;       /* payload bytes handed to the link */
  uint64_t lost;        /* datagrams lost, and stream segment losses (retransmits) */
  uint64_t dups;        /* datagrams duplicated */
  uint64_t dropped;     /* datagrams dropped by a cut or the capacity */
  uint64_t resets;      /* connections reset (capacity, long cut, too many losses) */
} akt__sim_link;

/* What a node owns on the network. */
typedef struct akt__sim_netnode {
  akt__sim_dlist listeners; /* akt_listener, open */
  akt__sim_dlist streams;   /* akt_stream, until on_close has returned */
  akt__sim_dlist dgrams;    /* akt_dgram, open */
  uint32_t next_ephemeral;  /* next port a connecting stream tries */
} akt__sim_netnode;

/* Counters of limits hit and bytes lost. */
typedef struct akt__sim_net_stats {
  uint64_t write_full;     /* stream_write refused with AKT_EFULL */
  uint64_t dgram_too_big;  /* dgram_send refused with AKT_ELIMIT */
  uint64_t dgram_dropped;  /* datagrams with nobody to receive them */
  uint64_t dgram_overflow; /* datagrams lost to AKT__SIM_DGRAM_INFLIGHT_MAX */
  uint64_t bytes_dropped;  /* stream bytes that arrived at a closed end */
  uint64_t dgram_faults;   /* datagrams lost, cut, or over a link's capacity */
  uint64_t resets;         /* stream connections reset by a fault */
} akt__sim_net_stats;

struct akt__sim_net {
  akt__sim_link defaults;  /* template for links created from now on */
  size_t write_limit;      /* per stream; AKT__SIM_WRITE_LIMIT */
  akt__sim_link **links;   /* sorted by (from, to) */
  size_t nlinks, caplinks;
  akt__sim_netnode *nodes; /* indexed by node index; grown on demand */
  size_t nnodes;
  akt__sim_dlist conns;    /* every connection not yet freed (stream.c) */
  akt__sim_dlist pkts;     /* datagrams in flight (dgram.c) */
  size_t npkts;
  uint64_t next_dgram_id;  /* the last id given to a datagram endpoint (dgram.c) */
  akt__sim_net_stats stats;
};

/* The world's network state, created on first use. NULL only on ENOMEM. */
akt__sim_net *akt__sim_net_get(akt_sim_world *w);

/* The network state of node `index`, or NULL on ENOMEM. */
akt__sim_netnode *akt__sim_netnode_get(akt_sim_world *w, uint32_t index);

/* The link from node `from` to node `to` (indexes), created with the
 * world's defaults on first use. NULL only on ENOMEM. */
akt__sim_link *akt__sim_link_get(akt_sim_world *w, uint32_t from, uint32_t to);

/* The link from `from` to `to` if it exists, else NULL (then nothing
 * crossed it and no fault named it: it has the defaults and is neither cut,
 * held nor clogged). */
akt__sim_link *akt__sim_link_find(const akt_sim_world *w, uint32_t from, uint32_t to);

/* Copies the configuration fields (latency and faults) of `src` to `dst`,
 * leaving its endpoints, state and counters alone. */
void akt__sim_link_configure(akt__sim_link *dst, const akt__sim_link *src);

/* The link between two nodes of the same world, or NULL (ENOMEM, not
 * simulated, or different worlds). For tests and the fault injector. */
akt__sim_link *akt__sim_link_between(akt_backend *from, akt_backend *to);

/* The virtual time one unit spends crossing `l`: its latency, drawn from
 * its distribution (from the world's fault stream; a fixed latency draws
 * nothing). fault.c. */
uint64_t akt__sim_link_transit(akt_sim_world *w, akt__sim_link *l);

/* 1 with probability ppm / 1e6, drawn from the world's fault stream; ppm 0
 * draws nothing and gives 0. fault.c. */
int akt__sim_fault_draw(akt_sim_world *w, uint32_t ppm);

/* A uniform draw in [0, max] from the fault stream (max 0: no draw, 0). */
uint64_t akt__sim_fault_below(akt_sim_world *w, uint64_t max);

/* When a unit handed to `l` now leaves: now, or the end of a clog. */
uint64_t akt__sim_link_departure(const akt_sim_world *w, const akt__sim_link *l);

/* Writes "<from>-><to>" (node names) of `l`. */
void akt__sim_link_name(const akt_sim_world *w, const akt__sim_link *l, char *buf, size_t size);

/* The index of the node named `host`, or -1. */
int64_t akt__sim_net_find_node(const akt_sim_world *w, const char *host);

/* 1 if `host` names node `n` itself for binding: its name, "" or
 * "0.0.0.0". */
int akt__sim_net_is_local(const akt__sim_node *n, const char *host);

/* 1 if `host` is NUL-terminated within AKT_HOST_MAX. */
int akt__sim_net_host_ok(const akt_addr *a);

/* Writes "<name of from>:<fport>-><name of to>:<tport>" to buf. */
void akt__sim_net_ends(const akt_sim_world *w, char *buf, size_t size, uint32_t from,
                       uint32_t fport, uint32_t to, uint32_t tport);

/* Records a network trace record (kind net) on node `at`. */
void akt__sim_net_trace(akt_sim_world *w, uint32_t at, const char *type, const char *text,
                        int64_t code, uint64_t hash);

/* Schedules fn(arg, cookie) at virtual time `at` on behalf of node `node`
 * (AKT__SIM_WORLD_EVENT: of no node, so no pause defers it). Aborts on
 * ENOMEM: a simulation cannot replay past a lost event. */
void akt__sim_net_push(akt_sim_world *w, uint32_t node, uint64_t at, akt_timer_fn fn, void *arg,
                       uint64_t cookie);

/* `now + d`, saturated. */
uint64_t akt__sim_net_after(const akt_sim_world *w, uint64_t d);

/* Frees every connection, listener and datagram in flight; no callbacks
 * (stream.c, dgram.c). */
void akt__sim_stream_free_all(akt__sim_net *net);
void akt__sim_dgram_free_all(akt__sim_net *net);

/* ---- faults (fault.c calls these; contracts of the unit hand-off) ---------- */

/* Takes node `index` off the network as a crash does, with no callback into
 * it: each of its stream ends finishes silently (an open, connected end
 * sends a FIN first, so its peer sees on_close(AKT_ECLOSED) one crossing
 * later, after the bytes already in flight), its listeners and datagram
 * endpoints are freed (the pointers the node held are dangling: its stop
 * hook must not touch them). Bytes arriving for it later are dropped;
 * SYNs get "unreachable" back while it is down. net.c, via stream_link.c
 * and dgram.c. */
void akt__sim_net_crash(akt_sim_world *w, uint32_t index);
void akt__sim_stream_crash(akt_sim_world *w, uint32_t index);
void akt__sim_dgram_crash(akt_sim_world *w, uint32_t index);

/* `l` was just cut (stream_link.c): every connection with a direction on
 * it gets a reset check AKT_SIM_CUT_RESET from now. */
void akt__sim_stream_link_cut(akt_sim_world *w, akt__sim_link *l);

/* `l` may have opened (healed or released): if it is neither cut nor held,
 * the stream segments parked on it leave now, in order (stream_link.c), and
 * the datagrams held on it leave in order, or are dropped if it is still
 * cut (dgram.c). */
void akt__sim_stream_link_open(akt_sim_world *w, akt__sim_link *l);
void akt__sim_dgram_link_release(akt_sim_world *w, akt__sim_link *l);

/* ---- the backend operations (contracts in include/akt/backend.h) ------------ */

/* stream.c. listen: AKT_EINVAL also for a host other than the node itself
 * ("" / "0.0.0.0" / its name); AKT_EEXIST also when port 0 finds no free
 * port. connect: AKT_EINVAL also for port 0; an unknown host reports
 * AKT_EUNREACH through on_connect, a port nobody listens on AKT_EREFUSED
 * (one round trip later). stream_pending counts the bytes written and not
 * yet read by the peer (queued before connecting, in flight, or waiting for
 * the peer's stream_start), which is also what the write limit bounds: a
 * simulated receive window. */
int akt__sim_listen(akt_backend *b, const akt_addr *addr, akt_accept_fn on_accept, void *data,
                    akt_listener **out);
int akt__sim_listener_addr(akt_backend *b, akt_listener *l, akt_addr *out);
void akt__sim_listener_close(akt_backend *b, akt_listener *l);
int akt__sim_connect(akt_backend *b, const akt_addr *addr, const akt_stream_cbs *cbs, void *data,
                     akt_stream **out);
int akt__sim_stream_start(akt_backend *b, akt_stream *s, const akt_stream_cbs *cbs, void *data);
int akt__sim_stream_write(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len);
size_t akt__sim_stream_pending(akt_backend *b, akt_stream *s);
int akt__sim_stream_peer(akt_backend *b, akt_stream *s, akt_addr *out);
void akt__sim_stream_close(akt_backend *b, akt_stream *s);

/* dgram.c. dgram_send to a host that is no node drops the datagram (it
 * returns 0, as a send into the void does), and so does a send to a group
 * with no member on its port. dgram_open_group ignores iface. */
int akt__sim_dgram_open(akt_backend *b, const akt_addr *addr, akt_dgram_fn on_recv, void *data,
                        akt_dgram **out);
int akt__sim_dgram_open_group(akt_backend *b, const akt_addr *group, const char *iface,
                              akt_dgram_fn on_recv, void *data, akt_dgram **out);
int akt__sim_dgram_addr(akt_backend *b, akt_dgram *d, akt_addr *out);
int akt__sim_dgram_send(akt_backend *b, akt_dgram *d, const akt_addr *to, const uint8_t *buf,
                        size_t len);
void akt__sim_dgram_close(akt_backend *b, akt_dgram *d);

#endif
