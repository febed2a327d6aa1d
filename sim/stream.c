/* akt — simulated TCP: listeners and streams over simulated links.
 *
 * A connection holds both ends (end[0] the client, end[1] the accepted
 * stream) and one direction per end: dir[i] carries what end[i] sends to
 * end[1 - i]. Everything on a direction is a segment — SYN, SYN-ACK, RST,
 * UNREACH, data, FIN — queued in arrival order, and each segment in flight
 * has one world event that pops it when it arrives. Arrival times never
 * decrease on a direction (a segment never overtakes the one before it), so
 * bytes arrive in order whatever a link's latency does, and control
 * segments keep their place among the bytes (structures in stream.h; what
 * a link's faults do to segments in stream_link.c):
 *
 *   connect  --SYN-->  listener: on_accept (or RST back: EREFUSED;
 *                       UNREACH back from a crashed node: EUNREACH)
 *   client  <--SYN-ACK-- on_connect(0); bytes written meanwhile leave now
 *   write    --data-->  on_read after the link's latency
 *   close    --FIN-->   peer: on_close(AKT_ECLOSED); the closer gets
 *                       on_close(0) at once, its bytes still in flight
 *
 * Callbacks run only from world events, never inside the operation a user
 * called. Bytes that arrive before an accepted stream is started wait in
 * dir.rx; stream_start delivers them from an event.
 *
 * Lifetime: a connection counts its pending events and its ends that have
 * not finished (on_close returned, or closed before being started); at zero
 * it is freed. A stream pointer is the user's until its on_close returns.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "sim/stream.h"

#define NODE(b) ((akt__sim_node *)(b)->impl)

/* ---- segments -------------------------------------------------------------------- */

static seg *seg_new(seg_kind kind, const uint8_t *data, size_t len) {
  seg *g = malloc(sizeof *g + len);
  if (!g) return NULL;
  g->next = NULL;
  g->kind = kind;
  g->len = len;
  if (len) memcpy(g->data, data, len);
  return g;
}

seg *akt__sim_seg_control(seg_kind kind) {
  seg *g = seg_new(kind, NULL, 0);
  if (!g) {
    fprintf(stderr, "akt-sim: out of memory sending a control segment\n");
    abort();
  }
  return g;
}

/* ---- connections ----------------------------------------------------------------- */

static void conn_free(conn *c) {
  for (int i = 0; i < 2; i++) {
    segq_clear(&c->dir[i].flight);
    segq_clear(&c->dir[i].held);
    segq_clear(&c->dir[i].parked);
    segq_clear(&c->dir[i].rx);
  }
  free(c);
}

void akt__sim_conn_unref(conn *c) {
  if (--c->refs > 0) return;
  akt__sim_dlist_remove(&c->w->net->conns, &c->link);
  conn_free(c);
}

static void conn_event(void *arg, uint64_t cookie);

void akt__sim_conn_push(conn *c, unsigned side, int kind, uint32_t at_node, uint64_t at) {
  c->refs++;
  akt__sim_net_push(c->w, at_node, at, conn_event, c, (uint64_t)kind << 1 | side);
}

/* Writes "local->remote" of end `side`. */
static void conn_ends(const conn *c, unsigned side, char *buf, size_t size) {
  if (side == 0 && !c->has_server && c->fail) {
    snprintf(buf, size, "%s:%u->%s:%u", c->w->nodes[c->node[0]]->name, (unsigned)c->port[0],
             c->target.host, (unsigned)c->target.port);
    return;
  }
  akt__sim_net_ends(c->w, buf, size, c->node[side], c->port[side], c->node[1 - side],
                    c->port[1 - side]);
}

void akt__sim_conn_trace(conn *c, unsigned at, unsigned from, const char *type, int64_t code,
                         uint64_t hash) {
  char text[2 * AKT_SIM_NODE_NAME_MAX + AKT_HOST_MAX + 32];
  conn_ends(c, from, text, sizeof text);
  akt__sim_net_trace(c->w, c->node[at], type, text, code, hash);
}

static void conn_trace(conn *c, unsigned side, const char *type, int64_t code, uint64_t hash) {
  akt__sim_conn_trace(c, side, side, type, code, hash);
}

/* ---- ends ------------------------------------------------------------------------ */

void akt__sim_end_finish_at(akt_stream *s, int reason, int connect_status, uint64_t at) {
  if (s->closing || s->done) return;
  conn *c = s->c;
  s->closing = 1;
  s->reading = 0;
  s->reason = s->user_closed ? 0 : reason;
  s->connect_status = connect_status;
  net_dir *out = &c->dir[s->side], *in = &c->dir[1 - s->side];
  out->pending -= segq_clear(&out->held);
  in->pending -= segq_clear(&in->rx);
  akt__sim_conn_push(c, s->side, EV_CLOSE, c->node[s->side], at);
}

static void end_finish(akt_stream *s, int reason) {
  akt__sim_end_finish_at(s, reason, 0, s->c->w->now);
}

/* The end starts on its node's list; it counts on the connection. */
static void end_open(conn *c, unsigned side, akt__sim_netnode *nn) {
  akt_stream *s = &c->end[side];
  s->c = c;
  s->side = side;
  c->refs++;
  akt__sim_dlist_push(&nn->streams, &s->link);
}

static void on_close_event(conn *c, unsigned side) {
  akt_stream *s = &c->end[side];
  if (s->done) return; /* finished silently by a crash */
  conn_trace(c, side, "close", s->reason, 0);
  akt__sim_dlist_remove(&c->w->net->nodes[c->node[side]].streams, &s->link);
  if (s->connect_status && s->started && s->cbs.on_connect)
    s->cbs.on_connect(s, s->connect_status, s->data);
  if (s->started && s->cbs.on_close) s->cbs.on_close(s, s->reason, s->data);
  s->done = 1;
  c->refs--; /* the end's; the event's still holds the connection */
}

static void on_start_event(conn *c, unsigned side) {
  akt_stream *s = &c->end[side];
  net_dir *in = &c->dir[1 - side];
  s->start_queued = 0;
  if (s->done) return; /* its node crashed */
  while (!s->user_closed && !s->closing) {
    seg *g = segq_pop(&in->rx);
    if (!g) break;
    in->pending -= g->len;
    if (s->cbs.on_read) s->cbs.on_read(s, g->data, g->len, s->data);
    free(g);
  }
  if (s->user_closed || s->closing) return;
  s->reading = 1;
  if (s->fin_in) end_finish(s, AKT_ECLOSED);
}

static void on_fail_event(conn *c) {
  akt_stream *s = &c->end[0];
  if (s->closing || s->done) return;
  conn_trace(c, 0, "unreach", c->fail, 0);
  if (s->cbs.on_connect) s->cbs.on_connect(s, c->fail, s->data);
  end_finish(s, c->fail);
}

/* ---- arrivals -------------------------------------------------------------------- */

static akt_listener *listener_find(akt__sim_netnode *nn, uint32_t port) {
  for (akt__sim_dlink *e = nn->listeners.head; e; e = e->next)
    if (((akt_listener *)e)->port == port) return (akt_listener *)e;
  return NULL;
}

static void syn_arrive(conn *c) {
  if (c->w->nodes[c->node[1]]->down) {
    /* A crashed host answers nothing; the network says so. */
    akt__sim_conn_trace(c, 1, 0, "unreach", AKT_EUNREACH, 0);
    akt__sim_dir_send(c, 1, akt__sim_seg_control(SEG_UNREACH));
    return;
  }
  akt__sim_netnode *nn = akt__sim_netnode_get(c->w, c->node[1]);
  if (!nn) abort();
  akt_listener *l = listener_find(nn, c->port[1]);
  if (!l) {
    akt__sim_conn_trace(c, 1, 0, "refuse", AKT_EREFUSED, 0);
    akt__sim_dir_send(c, 1, akt__sim_seg_control(SEG_RST));
    return;
  }
  c->has_server = 1;
  end_open(c, 1, nn);
  akt_stream *a = &c->end[1];
  a->connected = 1;
  akt__sim_dir_send(c, 1, akt__sim_seg_control(SEG_SYNACK));
  akt__sim_conn_trace(c, 1, 0, "accept", 0, 0);
  l->on_accept(l, a, l->data);
}

static void synack_arrive(conn *c) {
  akt_stream *s = &c->end[0];
  if (s->closing || s->done) {
    /* The client gave up meanwhile: tell the accepted end. */
    akt__sim_dir_send(c, 0, akt__sim_seg_control(SEG_FIN));
    return;
  }
  conn_trace(c, 0, "connected", 0, 0);
  s->connected = 1;
  for (seg *g = segq_pop(&c->dir[0].held); g; g = segq_pop(&c->dir[0].held))
    akt__sim_dir_send(c, 0, g);
  if (s->cbs.on_connect) s->cbs.on_connect(s, 0, s->data);
  if (s->user_closed && !s->closing) {
    /* Closed while connecting: the queued bytes went out, now the FIN. */
    akt__sim_dir_send(c, 0, akt__sim_seg_control(SEG_FIN));
    end_finish(s, 0);
  }
}

/* RST (nobody listens: AKT_EREFUSED) or UNREACH (the host is down:
 * AKT_EUNREACH) in answer to the SYN. */
static void refusal_arrive(conn *c, int status) {
  akt_stream *s = &c->end[0];
  if (s->closing || s->done) return;
  conn_trace(c, 0, status == AKT_EREFUSED ? "refused" : "unreachable", status, 0);
  if (s->cbs.on_connect) s->cbs.on_connect(s, status, s->data);
  end_finish(s, status);
}

static void data_arrive(conn *c, unsigned from, seg *g) {
  akt_stream *r = &c->end[1 - from];
  net_dir *d = &c->dir[from];
  uint64_t hash = XXH3_64bits(g->data, g->len);
  if (r->user_closed || r->closing || r->done) {
    akt__sim_conn_trace(c, 1 - from, from, "drop", (int64_t)g->len, hash);
    c->w->net->stats.bytes_dropped += g->len;
    d->pending -= g->len;
    free(g);
    return;
  }
  akt__sim_conn_trace(c, 1 - from, from, "deliver", (int64_t)g->len, hash);
  if (!r->reading) {
    segq_push(&d->rx, g);
    return;
  }
  d->pending -= g->len;
  if (r->cbs.on_read) r->cbs.on_read(r, g->data, g->len, r->data);
  free(g);
}

static void fin_arrive(conn *c, unsigned from) {
  akt_stream *r = &c->end[1 - from];
  akt__sim_conn_trace(c, 1 - from, from, "fin", 0, 0);
  if (r->user_closed || r->closing || r->done) return; /* it closed too */
  if (r->reading)
    end_finish(r, AKT_ECLOSED);
  else
    r->fin_in = 1; /* stream_start reads what came first, then closes */
}

static void on_arrive_event(conn *c, unsigned from) {
  seg *g = segq_pop(&c->dir[from].flight);
  c->dir[from].link->inflight -= g->len;
  if (c->reset && g->kind != SEG_DATA) {
    free(g); /* what a reset connection still had on the wire */
    return;
  }
  switch (g->kind) {
    case SEG_SYN: syn_arrive(c); break;
    case SEG_SYNACK: synack_arrive(c); break;
    case SEG_RST: refusal_arrive(c, AKT_EREFUSED); break;
    case SEG_UNREACH: refusal_arrive(c, AKT_EUNREACH); break;
    case SEG_FIN: fin_arrive(c, from); break;
    case SEG_DATA: data_arrive(c, from, g); return; /* it took g */
  }
  free(g);
}

static void conn_event(void *arg, uint64_t cookie) {
  conn *c = arg;
  unsigned side = (unsigned)(cookie & 1);
  switch ((int)(cookie >> 1)) {
    case EV_ARRIVE: on_arrive_event(c, side); break;
    case EV_CLOSE: on_close_event(c, side); break;
    case EV_START: on_start_event(c, side); break;
    case EV_FAIL: on_fail_event(c); break;
    case EV_CUT_CHECK: akt__sim_conn_cut_check(c, side); break;
  }
  akt__sim_conn_unref(c);
}

/* ---- listeners ------------------------------------------------------------------- */

int akt__sim_listen(akt_backend *b, const akt_addr *addr, akt_accept_fn on_accept, void *data,
                    akt_listener **out) {
  akt__sim_node *n = NODE(b);
  if (!addr || !on_accept || !out || !akt__sim_net_host_ok(addr)) return AKT_EINVAL;
  if (!akt__sim_net_is_local(n, addr->host)) return AKT_EINVAL;
  akt__sim_netnode *nn = akt__sim_netnode_get(n->world, n->index);
  if (!nn) return AKT_ENOMEM;
  uint32_t port = addr->port;
  if (port == 0) {
    for (port = AKT__SIM_PORT_AUTO; port <= UINT16_MAX && listener_find(nn, port); port++) {
    }
    if (port > UINT16_MAX) return AKT_EEXIST;
  } else if (listener_find(nn, port)) {
    return AKT_EEXIST;
  }
  akt_listener *l = calloc(1, sizeof *l);
  if (!l) return AKT_ENOMEM;
  l->w = n->world;
  l->node = n->index;
  l->port = port;
  l->on_accept = on_accept;
  l->data = data;
  akt__sim_dlist_push(&nn->listeners, &l->link);
  char text[AKT_SIM_NODE_NAME_MAX + 16];
  snprintf(text, sizeof text, "%s:%u", n->name, (unsigned)port);
  akt__sim_net_trace(n->world, n->index, "listen", text, 0, 0);
  *out = l;
  return 0;
}

int akt__sim_listener_addr(akt_backend *b, akt_listener *l, akt_addr *out) {
  (void)b;
  if (!l || !out) return AKT_EINVAL;
  snprintf(out->host, sizeof out->host, "%s", l->w->nodes[l->node]->name);
  out->port = (uint16_t)l->port;
  return 0;
}

void akt__sim_listener_close(akt_backend *b, akt_listener *l) {
  (void)b;
  if (!l) return;
  akt_sim_world *w = l->w;
  akt__sim_dlist_remove(&w->net->nodes[l->node].listeners, &l->link);
  char text[AKT_SIM_NODE_NAME_MAX + 16];
  snprintf(text, sizeof text, "%s:%u", w->nodes[l->node]->name, (unsigned)l->port);
  akt__sim_net_trace(w, l->node, "unlisten", text, 0, 0);
  free(l);
}

/* ---- streams --------------------------------------------------------------------- */

/* The next ephemeral port of node `nn`, skipping its listening ports (and
 * sharing one when every ephemeral port listens). */
static uint32_t ephemeral_port(akt__sim_netnode *nn) {
  uint32_t p = nn->next_ephemeral;
  for (uint32_t tries = 0; tries <= UINT16_MAX - AKT__SIM_PORT_EPHEMERAL; tries++) {
    p = nn->next_ephemeral++;
    if (nn->next_ephemeral > UINT16_MAX) nn->next_ephemeral = AKT__SIM_PORT_EPHEMERAL;
    if (!listener_find(nn, p)) break;
  }
  return p;
}

int akt__sim_connect(akt_backend *b, const akt_addr *addr, const akt_stream_cbs *cbs, void *data,
                     akt_stream **out) {
  akt__sim_node *n = NODE(b);
  akt_sim_world *w = n->world;
  if (!addr || !cbs || !out || !akt__sim_net_host_ok(addr) || addr->port == 0) return AKT_EINVAL;
  akt__sim_netnode *nn = akt__sim_netnode_get(w, n->index);
  if (!nn) return AKT_ENOMEM;
  int64_t to = akt__sim_net_find_node(w, addr->host);
  /* Allocate all first: after this nothing fails. */
  akt__sim_link *links[2] = {NULL, NULL};
  if (to >= 0 && (!akt__sim_netnode_get(w, (uint32_t)to) ||
                  !(links[0] = akt__sim_link_get(w, n->index, (uint32_t)to)) ||
                  !(links[1] = akt__sim_link_get(w, (uint32_t)to, n->index))))
    return AKT_ENOMEM;
  seg *syn = to >= 0 ? seg_new(SEG_SYN, NULL, 0) : NULL;
  conn *c = calloc(1, sizeof *c);
  if (!c || (to >= 0 && !syn)) {
    free(syn);
    free(c);
    return AKT_ENOMEM;
  }
  nn = &w->net->nodes[n->index]; /* the array may have moved */
  c->w = w;
  c->target = *addr;
  c->node[0] = n->index;
  c->port[0] = ephemeral_port(nn);
  c->node[1] = to >= 0 ? (uint32_t)to : n->index;
  c->port[1] = addr->port;
  c->dir[0].link = links[0];
  c->dir[1].link = links[1];
  akt__sim_dlist_push(&w->net->conns, &c->link);
  end_open(c, 0, nn);
  akt_stream *s = &c->end[0];
  s->cbs = *cbs;
  s->data = data;
  s->started = 1;
  s->reading = 1;
  if (to < 0) c->fail = AKT_EUNREACH; /* reported from an event, never from here */
  conn_trace(c, 0, "connect", 0, 0);
  if (to >= 0)
    akt__sim_dir_send(c, 0, syn);
  else
    akt__sim_conn_push(c, 0, EV_FAIL, n->index, w->now);
  *out = s;
  return 0;
}

int akt__sim_stream_start(akt_backend *b, akt_stream *s, const akt_stream_cbs *cbs, void *data) {
  (void)b;
  if (!s || !cbs) return AKT_EINVAL;
  if (s->user_closed || s->closing || s->done) return AKT_ECLOSED;
  s->cbs = *cbs;
  s->data = data;
  s->started = 1;
  if (!s->reading && !s->start_queued) {
    s->start_queued = 1;
    akt__sim_conn_push(s->c, s->side, EV_START, s->c->node[s->side], s->c->w->now);
  }
  return 0;
}

int akt__sim_stream_write(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len) {
  (void)b;
  if (!s || (!buf && len > 0)) return AKT_EINVAL;
  if (s->user_closed || s->closing || s->done) return AKT_ECLOSED;
  conn *c = s->c;
  akt__sim_net *net = c->w->net;
  net_dir *d = &c->dir[s->side];
  if (len > net->write_limit || d->pending > net->write_limit - len) {
    net->stats.write_full++;
    return AKT_EFULL;
  }
  if (len == 0) return 0;
  /* Cut into segments first, so that a failed allocation changes nothing. */
  segq q = {0};
  for (size_t off = 0; off < len; off += AKT__SIM_SEGMENT_MAX) {
    size_t n = len - off < AKT__SIM_SEGMENT_MAX ? len - off : AKT__SIM_SEGMENT_MAX;
    seg *g = seg_new(SEG_DATA, buf + off, n);
    if (!g) {
      segq_clear(&q);
      return AKT_ENOMEM;
    }
    segq_push(&q, g);
  }
  conn_trace(c, s->side, "send", (int64_t)len, XXH3_64bits(buf, len));
  d->pending += len;
  for (seg *g = segq_pop(&q); g; g = segq_pop(&q)) {
    if (s->connected)
      akt__sim_dir_send(c, s->side, g);
    else
      segq_push(&d->held, g);
  }
  return 0;
}

size_t akt__sim_stream_pending(akt_backend *b, akt_stream *s) {
  (void)b;
  return s ? s->c->dir[s->side].pending : 0;
}

int akt__sim_stream_peer(akt_backend *b, akt_stream *s, akt_addr *out) {
  (void)b;
  if (!s || !out) return AKT_EINVAL;
  if (s->user_closed || s->closing || s->done) return AKT_ECLOSED;
  conn *c = s->c;
  if (s->side == 0) {
    *out = c->target;
  } else {
    snprintf(out->host, sizeof out->host, "%s", c->w->nodes[c->node[0]]->name);
    out->port = (uint16_t)c->port[0];
  }
  return 0;
}

void akt__sim_stream_close(akt_backend *b, akt_stream *s) {
  (void)b;
  if (!s || s->user_closed || s->closing || s->done) return;
  conn *c = s->c;
  s->user_closed = 1;
  s->reading = 0;
  net_dir *in = &c->dir[1 - s->side];
  in->pending -= segq_clear(&in->rx);
  /* A client still connecting finishes when the outcome arrives (as in
   * production, on_connect reports it first). */
  if (!s->connected) return;
  conn_trace(c, s->side, "shutdown", 0, 0);
  akt__sim_dir_send(c, s->side, akt__sim_seg_control(SEG_FIN));
  end_finish(s, 0);
}

/* ---- teardown -------------------------------------------------------------------- */

void akt__sim_stream_free_all(akt__sim_net *net) {
  while (net->conns.head) {
    conn *c = (conn *)net->conns.head;
    akt__sim_dlist_remove(&net->conns, &c->link);
    conn_free(c);
  }
  for (size_t i = 0; i < net->nnodes; i++) {
    akt__sim_netnode *nn = &net->nodes[i];
    while (nn->listeners.head) {
      akt__sim_dlink *e = nn->listeners.head;
      akt__sim_dlist_remove(&nn->listeners, e);
      free(e);
    }
    nn->streams.head = nn->streams.tail = NULL; /* they lived in the connections */
  }
}
