/* akt — what a link does to stream segments: TCP under faults.
 *
 * Every segment an end sends goes through akt__sim_dir_send, which applies
 * the link's faults the way TCP shows them to its user:
 *
 *   - loss: the segment is retransmitted, so it arrives AKT_SIM_RETRANSMIT
 *     later per loss (each loss is one draw from the fault stream); a
 *     segment lost more than AKT__SIM_RETRANSMIT_MAX times resets the
 *     connection, as TCP gives up. Later segments never overtake it: the
 *     direction's arrival times never decrease.
 *   - capacity: a data segment that would put more than `capacity` bytes in
 *     flight on the link resets the connection (the segment is dropped).
 *   - clog: a segment sent during a clog leaves when the clog ends.
 *   - cut or hold: segments park, in order, and leave when the link is
 *     neither cut nor held any more (akt__sim_stream_link_open), again in
 *     order, without any capacity check (nothing is lost). A cut also arms a
 *     reset check on every live connection with a direction across it (at
 *     the cut, or when a segment of a newer connection first parks behind
 *     it): if the same cut still holds AKT_SIM_CUT_RESET later, the
 *     connection resets, idle or not, as keepalives would notice.
 *
 * A reset drops what is parked, lets what is in flight arrive and be
 * dropped, and closes every open end with on_close(AKT_ECLOSED) at the
 * reset time plus the base latency of the link toward that end (no draw).
 * A client still connecting hears on_connect first: AKT_ETIMEDOUT after a
 * long cut (its SYN never got through), AKT_ECLOSED otherwise.
 *
 * A crash (akt__sim_stream_crash) finishes the node's ends without calling
 * into it and frees its listeners; see sim/net.h.
 */
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "sim/stream.h"

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* 1 while the connection has an open end to reset. */
static int conn_alive(const conn *c) {
  if (c->reset) return 0;
  const akt_stream *a = &c->end[0], *b = &c->end[1];
  return !(a->closing || a->done) || (c->has_server && !(b->closing || b->done));
}

/* Arms a reset check of direction `side` against the current cut of its
 * link, once per cut. The check is a world event: pausing a node does not
 * delay it. */
static void arm_cut_check(conn *c, unsigned side) {
  net_dir *d = &c->dir[side];
  if (d->cut_epoch == d->link->cut_epoch) return;
  d->cut_epoch = d->link->cut_epoch;
  akt__sim_conn_push(c, side, EV_CUT_CHECK, AKT__SIM_WORLD_EVENT,
                     akt__sim_net_after(c->w, AKT_SIM_CUT_RESET));
}

/* Drops `g`, sent on direction `d`, before it reached the link. */
static void drop_unsent(net_dir *d, seg *g) {
  if (g->kind == SEG_DATA) d->pending -= g->len;
  free(g);
}

/* Puts `g` on the wire: retransmit draws, clog, latency, order. */
static void dir_depart(conn *c, unsigned side, seg *g) {
  akt_sim_world *w = c->w;
  net_dir *d = &c->dir[side];
  akt__sim_link *l = d->link;
  unsigned losses = 0;
  while (losses <= AKT__SIM_RETRANSMIT_MAX && akt__sim_fault_draw(w, l->loss_ppm)) losses++;
  if (losses) {
    l->lost += losses;
    akt__sim_conn_trace(c, side, side, "retransmit", losses, (uint64_t)losses * AKT_SIM_RETRANSMIT);
    if (losses > AKT__SIM_RETRANSMIT_MAX) {
      drop_unsent(d, g);
      akt__sim_conn_reset(c, l, AKT_ECLOSED, "retransmit");
      return;
    }
  }
  uint64_t at = add_sat(akt__sim_link_departure(w, l), akt__sim_link_transit(w, l));
  at = add_sat(at, (uint64_t)losses * AKT_SIM_RETRANSMIT);
  if (at < d->last_arrival) at = d->last_arrival;
  d->last_arrival = at;
  l->inflight += g->len;
  segq_push(&d->flight, g);
  akt__sim_conn_push(c, side, EV_ARRIVE, c->node[1 - side], at);
}

void akt__sim_dir_send(conn *c, unsigned side, seg *g) {
  net_dir *d = &c->dir[side];
  akt__sim_link *l = d->link;
  l->units++;
  l->bytes += g->len;
  if (c->reset) {
    drop_unsent(d, g);
    return;
  }
  if (d->parked.head || l->cut || l->held) {
    segq_push(&d->parked, g);
    if (l->cut) arm_cut_check(c, side);
    return;
  }
  if (g->kind == SEG_DATA && l->capacity &&
      (l->inflight >= l->capacity || g->len > l->capacity - l->inflight)) {
    drop_unsent(d, g);
    akt__sim_conn_reset(c, l, AKT_ECLOSED, "capacity");
    return;
  }
  dir_depart(c, side, g);
}

void akt__sim_conn_reset(conn *c, akt__sim_link *l, int connect_status, const char *why) {
  if (c->reset) return;
  akt_sim_world *w = c->w;
  c->reset = 1;
  l->resets++;
  w->net->stats.resets++;
  char text[2 * AKT_SIM_NODE_NAME_MAX + AKT_HOST_MAX + 48];
  akt__sim_net_ends(w, text, sizeof text, c->node[0], c->port[0], c->node[1], c->port[1]);
  size_t n = strlen(text);
  snprintf(text + n, sizeof text - n, " %s", why);
  akt__sim_net_trace(w, l->from, "reset", text, AKT_ECLOSED, 0);
  for (unsigned i = 0; i < 2; i++) c->dir[i].pending -= segq_clear(&c->dir[i].parked);
  for (unsigned side = 0; side < 2; side++) {
    akt_stream *s = &c->end[side];
    if ((side == 1 && !c->has_server) || s->closing || s->done) continue;
    int status = side == 0 && !s->connected ? connect_status : 0;
    uint64_t at = akt__sim_net_after(w, c->dir[1 - side].link->latency);
    akt__sim_end_finish_at(s, status ? status : AKT_ECLOSED, status, at);
  }
}

void akt__sim_conn_cut_check(conn *c, unsigned side) {
  net_dir *d = &c->dir[side];
  if (!conn_alive(c)) return;
  if (d->link->cut && d->link->cut_epoch == d->cut_epoch)
    akt__sim_conn_reset(c, d->link, AKT_ETIMEDOUT, "cut");
}

void akt__sim_stream_link_cut(akt_sim_world *w, akt__sim_link *l) {
  for (akt__sim_dlink *e = w->net->conns.head; e; e = e->next) {
    conn *c = (conn *)e;
    if (!conn_alive(c)) continue;
    for (unsigned side = 0; side < 2; side++)
      if (c->dir[side].link == l) arm_cut_check(c, side);
  }
}

void akt__sim_stream_link_open(akt_sim_world *w, akt__sim_link *l) {
  if (l->cut || l->held || !w->net) return;
  /* Departing may reset a connection (too many losses), which pushes
   * events but frees nothing, so the list stays walkable. */
  for (akt__sim_dlink *e = w->net->conns.head; e; e = e->next) {
    conn *c = (conn *)e;
    for (unsigned side = 0; side < 2; side++) {
      net_dir *d = &c->dir[side];
      if (d->link != l) continue;
      for (seg *g = segq_pop(&d->parked); g; g = segq_pop(&d->parked)) dir_depart(c, side, g);
    }
  }
}

void akt__sim_stream_crash(akt_sim_world *w, uint32_t index) {
  akt__sim_net *net = w->net;
  if (index >= net->nnodes) return; /* it never used the network */
  akt__sim_netnode *nn = &net->nodes[index];
  char text[AKT_SIM_NODE_NAME_MAX + 16];
  while (nn->listeners.head) {
    akt_listener *l = (akt_listener *)nn->listeners.head;
    akt__sim_dlist_remove(&nn->listeners, &l->link);
    snprintf(text, sizeof text, "%s:%u", w->nodes[index]->name, (unsigned)l->port);
    akt__sim_net_trace(w, index, "unlisten", text, 0, 0);
    free(l);
  }
  /* Each end leaves the list as it finishes; a connection is freed only
   * when its last end and event are gone, so the head is always valid. */
  while (nn->streams.head) {
    akt_stream *s = (akt_stream *)nn->streams.head;
    conn *c = s->c;
    akt__sim_dlist_remove(&nn->streams, &s->link);
    akt__sim_conn_trace(c, s->side, s->side, "abort", 0, 0);
    /* As a dead peer looks: its bytes on the wire arrive, then the end. */
    if (s->connected && !s->user_closed && !s->closing && !c->reset)
      akt__sim_dir_send(c, s->side, akt__sim_seg_control(SEG_FIN));
    net_dir *out = &c->dir[s->side], *in = &c->dir[1 - s->side];
    out->pending -= segq_clear(&out->held);
    in->pending -= segq_clear(&in->rx);
    s->closing = 1;
    s->reading = 0;
    s->done = 1;
    akt__sim_conn_unref(c); /* the end's reference */
  }
}
