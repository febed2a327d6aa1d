/* akt — cluster topics: publishing, retransmission, and taking what peers
 * publish.
 *
 * A publish is packed once (a blob shared by the queues of every peer it
 * goes to) and numbered per peer: the entry for peer p gets p's next
 * sequence number, joins p's queue of unacknowledged entries and leaves at
 * once in a Publish message of its own. The queue is bounded (max_pending
 * entries, max_pending_bytes); a publish that does not fit is not queued
 * for that peer, and the listener, the trace and a counter say so — it is
 * never numbered, so the sequence has no hole.
 *
 *   publisher A                                   receiver B
 *   seq 7 -> queue(B) -- Publish{7} ----------->  7 == rx_next: deliver, rx_next = 8
 *                     <-------- PublishAck{7} --  (cumulative: all up to 7)
 *   drop 7 from queue(B)
 *
 * B takes entries strictly in order: one below rx_next is a duplicate (a
 * retransmission of something it took; dropped, counted), one above it
 * follows a loss (a connection reset dropped what remoting had queued;
 * dropped, counted, and A resends from the first entry B has not
 * acknowledged). So each entry is delivered at most once, in the order A
 * numbered it, and the window B keeps per publisher is one number.
 *
 * A resends when the oldest entry of a queue has gone unacknowledged for
 * the peer's retransmission time, which doubles (up to retransmit_max)
 * each time nothing is acknowledged and returns to `retransmit` with the
 * next ack; a resend is the first AKT__TP_RESEND_WINDOW entries, in
 * batches. A peer that goes down takes its queue with it (abandoned,
 * counted): its subscribers are gone too.
 *
 * Delivery to local subscribers happens outside the lock: the subscribers
 * are snapshotted (one reference each) under it, then sent to, as the event
 * stream does, so no mailbox is touched while the tables are locked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "akt/message.h"
#include "akt/remote.h"
#include "src/actor/msgcopy.h"
#include "src/cluster/cluster.h"
#include "src/cluster/topics.h"
#include "src/util/assert.h"

static akt__topics *topics_of(akt_system *sys) {
  akt__cluster *cl = akt__cluster_of(sys);
  return cl ? cl->topics : NULL;
}

/* ---- blobs and queues --------------------------------------------------------------------- */

static void blob_release(akt__tblob *b) {
  AKT_ASSERT(b->refs > 0);
  if (--b->refs == 0) free(b);
}

/* Packs msg with its topic, type name and sender address in one block
 * (packed_len: its packed size, checked by the caller). NULL: no memory. */
static akt__tblob *blob_new(const char *topic, const ProtobufCMessage *msg, size_t packed_len,
                            const char *sender) {
  size_t tl = strlen(topic) + 1, yl = strlen(msg->descriptor->name) + 1, sl = strlen(sender) + 1;
  akt__tblob *b = malloc(sizeof *b + packed_len + tl + yl + sl);
  if (!b) return NULL;
  b->refs = 1;
  b->len = packed_len;
  b->size = packed_len + tl + yl + sl;
  size_t n = protobuf_c_message_pack(msg, b->data);
  AKT_ASSERT(n == packed_len);
  char *s = (char *)b->data + packed_len;
  memcpy(s, topic, tl);
  b->topic = s;
  memcpy(s + tl, msg->descriptor->name, yl);
  b->type = s + tl;
  memcpy(s + tl + yl, sender, sl);
  b->sender = s + tl + yl;
  return b;
}

static void entry_free(akt__tentry *e) {
  blob_release(e->blob);
  free(e);
}

/* The queue's shape: counted entries, in sequence, below next_seq. */
static void queue_check(const akt__tpeer *p) {
  AKT_ASSERT((p->npending == 0) == (p->head == NULL) && (p->head == NULL) == (p->tail == NULL));
  AKT_ASSERT(!p->tail || (p->tail->next == NULL && p->tail->seq < p->next_seq));
  AKT_ASSERT(!p->head || p->head->seq + p->npending - 1 == p->tail->seq);
}

void akt__tp_pending_clear(akt__topics *tp, akt__tpeer *p) {
  queue_check(p);
  for (akt__tentry *e = p->head, *next; e; e = next) {
    next = e->next;
    AKT__TP_STAT(tp, abandoned);
    entry_free(e);
  }
  p->head = p->tail = NULL;
  p->npending = 0;
  p->pending_bytes = 0;
}

/* Sends entries from `e` on to p in one Publish: at most
 * AKT__TP_BATCH_ENTRIES and (past the first) AKT__TP_BATCH_BYTES of
 * payload, and no more than `max`. Returns the first entry not sent. */
static akt__tentry *send_batch(akt__topics *tp, akt__tpeer *p, akt__tentry *e, uint32_t max,
                               uint64_t now) {
  Akt__Topics__Entry ents[AKT__TP_BATCH_ENTRIES];
  Akt__Topics__Entry *ptrs[AKT__TP_BATCH_ENTRIES];
  size_t n = 0, bytes = 0;
  akt__tentry *first = e;
  for (; e && n < AKT__TP_BATCH_ENTRIES && n < max; e = e->next) {
    if (n && bytes + e->blob->size > AKT__TP_BATCH_BYTES) break;
    Akt__Topics__Entry *x = &ents[n];
    akt__topics__entry__init(x);
    x->seq = e->seq;
    x->topic = (char *)(uintptr_t)e->blob->topic;
    x->type = (char *)(uintptr_t)e->blob->type;
    x->payload.data = e->blob->data;
    x->payload.len = e->blob->len;
    x->sender = (char *)(uintptr_t)e->blob->sender;
    ptrs[n++] = x;
    bytes += e->blob->size;
  }
  AKT_ASSERT(n > 0);
  Akt__Cluster__Node from;
  akt__tp_node_self(tp, &from);
  Akt__Topics__Publish m = AKT__TOPICS__PUBLISH__INIT;
  m.from = &from;
  m.to = p->uid;
  m.entries = ptrs;
  m.n_entries = n;
  /* Refused now (a full remoting queue), it is resent like a lost one. */
  if (akt_tell_as(p->pid, &m.base, akt__tp_cluster_actor(tp)) != 0) AKT__TP_STAT(tp, send_errors);
  for (akt__tentry *s = first; s != e; s = s->next) s->sent_at = now;
  return e;
}

/* Queues a publish for p and sends it. 0, or AKT_EFULL (not queued). */
static int enqueue(akt__topics *tp, akt__tpeer *p, akt__tblob *b, uint64_t now) {
  if (p->npending >= tp->o.max_pending ||
      p->pending_bytes + b->size > tp->o.max_pending_bytes)
    return AKT_EFULL;
  akt__tentry *e = malloc(sizeof *e);
  if (!e) return AKT_ENOMEM;
  e->next = NULL;
  e->seq = p->next_seq++;
  e->blob = b;
  b->refs++;
  if (p->tail) p->tail->next = e;
  else p->head = e;
  p->tail = e;
  p->npending++;
  p->pending_bytes += b->size;
  AKT_ASSERT(p->npending <= tp->o.max_pending && p->pending_bytes <= tp->o.max_pending_bytes);
  queue_check(p);
  send_batch(tp, p, e, 1, now);
  AKT__TP_STAT(tp, entries_sent);
  akt__tp_trace(tp, "publish", e->seq, (int64_t)p->npending, "to %s seq %llu %s", p->name,
                (unsigned long long)e->seq, b->topic);
  return 0;
}

static void dropped(akt__topics *tp, akt__tpeer *p, const char *topic, const ProtobufCMessage *msg,
                    int rc) {
  AKT__TP_STAT(tp, dropped);
  akt__tp_trace(tp, "drop", p->uid, rc, "to %s %s: %u pending, %zu bytes", p->name, topic,
                p->npending, p->pending_bytes);
  akt_topic_event ev = {.kind = AKT_TOPIC_EV_DROPPED, .peer = p->name, .peer_incarnation = p->uid,
                        .topic = topic, .msg = msg};
  akt__tp_listen(tp, &ev);
}

/* ---- publishing ----------------------------------------------------------------------------- */

/* Hands msg to each of n subscribers (one reference each, released) with
 * `sender`. Returns how many took it. */
static uint32_t deliver(akt_pid **subs, uint32_t n, const ProtobufCMessage *msg, akt_pid *sender) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    k += akt_tell_as(subs[i], msg, sender) == 0;
    akt_pid_release(subs[i]);
  }
  return k;
}

/* The local subscribers of `topic`, one reference each (lock held). n is 0
 * and the result NULL when there are none or no memory. */
static akt_pid **snapshot(akt__topics *tp, const char *topic, uint32_t *n) {
  akt__ltopic *t = akt__tp_ltopic(tp, topic);
  *n = 0;
  if (!t || !t->nsubs) return NULL;
  akt_pid **subs = malloc(t->nsubs * sizeof *subs);
  if (!subs) return NULL;
  for (uint32_t i = 0; i < t->nsubs; i++) subs[i] = akt_pid_retain(t->subs[i].pid);
  *n = t->nsubs;
  return subs;
}

/* Queues the publish for every peer that has the topic (lock held).
 * Returns the number of peers it was queued for, or a negative code. */
static int fan_out(akt__topics *tp, akt__rtopic *rt, const char *topic, const ProtobufCMessage *msg,
                   akt_pid *sender) {
  size_t copy = 0;
  int rc = akt__msg_copy_size(msg, &copy); /* depth and size: packing has no such check */
  if (rc) return rc;
  size_t len = protobuf_c_message_get_packed_size(msg);
  if (len > tp->o.max_payload) return AKT_ELIMIT;
  char address[AKT_ADDRESS_MAX] = "";
  if (sender && akt_pid_format(sender, address, sizeof address) < 0) address[0] = '\0';
  akt__tblob *b = blob_new(topic, msg, len, address);
  if (!b) return AKT_ENOMEM;
  uint64_t now = akt__tp_now(tp);
  int nodes = 0;
  for (uint32_t i = 0; i < rt->npeers; i++) {
    akt__tpeer *p = tp->peers[rt->peers[i]];
    AKT_ASSERT(p);
    if (!p->pid) continue;
    rc = enqueue(tp, p, b, now);
    if (rc) dropped(tp, p, topic, msg, rc);
    else nodes++;
  }
  blob_release(b);
  if (nodes) akt__tp_need_tick(tp);
  return nodes;
}

int akt_topic_publish(akt_system *sys, const char *topic, const ProtobufCMessage *msg,
                      akt_pid *sender) {
  if (!sys || !topic || !msg || !msg->descriptor) return AKT_EINVAL;
  size_t tlen = strnlen(topic, AKT_TOPIC_NAME_MAX + 1);
  if (!tlen || tlen > AKT_TOPIC_NAME_MAX) return AKT_ENAME;
  akt__topics *tp = topics_of(sys);
  if (!tp) return AKT_ESTATE;
  pthread_mutex_lock(&tp->mu);
  akt__rtopic *rt = akt__tp_rtopic(tp, topic);
  int nodes = rt ? fan_out(tp, rt, topic, msg, sender) : 0;
  if (nodes < 0) {
    pthread_mutex_unlock(&tp->mu);
    return nodes;
  }
  uint32_t n;
  akt_pid **subs = snapshot(tp, topic, &n);
  AKT__TP_STAT(tp, publishes);
  pthread_mutex_unlock(&tp->mu);
  uint32_t took = deliver(subs, n, msg, sender);
  free(subs);
  if (took) {
    pthread_mutex_lock(&tp->mu);
    tp->stats.delivered += took;
    pthread_mutex_unlock(&tp->mu);
  }
  return (int)took + nodes;
}

/* ---- retransmission --------------------------------------------------------------------------- */

int akt__tp_publish_tick(akt__topics *tp, uint64_t now) {
  int owed = 0;
  for (uint32_t i = 0; i < tp->nslots; i++) {
    akt__tpeer *p = tp->peers[i];
    if (!p || !p->head) continue;
    owed = 1;
    if (now < p->head->sent_at + p->rto || (tp->o.test_flags & AKT_TOPICS_TEST_NO_RESEND)) continue;
    uint32_t left = AKT__TP_RESEND_WINDOW;
    akt__tentry *e = p->head;
    akt__tp_trace(tp, "resend", p->head->seq, (int64_t)p->npending, "to %s from seq %llu",
                  p->name, (unsigned long long)p->head->seq);
    while (e && left) {
      akt__tentry *next = send_batch(tp, p, e, left, now);
      for (akt__tentry *s = e; s != next; s = s->next) left--;
      AKT__TP_STAT(tp, retransmits);
      e = next;
    }
    p->rto = p->rto * 2 < tp->o.retransmit_max ? p->rto * 2 : tp->o.retransmit_max;
  }
  return owed;
}

void akt__tp_on_publish_ack(akt__topics *tp, const Akt__Topics__PublishAck *a) {
  akt__tpeer *p = akt__tp_peer_of(tp, a->from);
  /* An ack past what was numbered cannot be this incarnation's. */
  if (!p || a->to != tp->uid || !tp->uid || a->seq >= p->next_seq) {
    AKT__TP_STAT(tp, unknown_senders);
    return;
  }
  int progress = 0;
  while (p->head && p->head->seq <= a->seq) {
    akt__tentry *e = p->head;
    p->head = e->next;
    if (!p->head) p->tail = NULL;
    AKT_ASSERT(p->npending > 0 && p->pending_bytes >= e->blob->size);
    p->npending--;
    p->pending_bytes -= e->blob->size;
    entry_free(e);
    progress = 1;
  }
  queue_check(p);
  if (progress) p->rto = tp->o.retransmit;
}

/* ---- receiving ---------------------------------------------------------------------------------- */

/* One entry taken, and who it goes to. */
typedef struct taken {
  const Akt__Topics__Entry *e;
  akt_pid **subs;
  uint32_t n;
  akt_pid *sender; /* one reference, or NULL */
} taken;

/* The PID of the sender at `address`, through p's one-entry cache (a new
 * reference, or NULL). */
static akt_pid *sender_of(akt__topics *tp, akt__tpeer *p, const char *address) {
  if (!address || !address[0]) return NULL;
  if (!p->sender_addr || strcmp(p->sender_addr, address) != 0) {
    akt_pid *pid = NULL;
    if (akt_remote_pid(tp->sys, address, &pid) != 0) return NULL;
    char *copy = strdup(address);
    if (!copy) {
      akt_pid_release(pid);
      return NULL;
    }
    akt_pid_release(p->sender);
    free(p->sender_addr);
    p->sender = pid;
    p->sender_addr = copy;
  }
  return akt_pid_retain(p->sender);
}

/* Takes what can be taken of m (lock held); fills out[] and returns how
 * many. *ack gets p's /system/cluster (a new reference) and *seq the
 * cumulative ack; *ack stays NULL for a message from no peer. */
static size_t take(akt__topics *tp, const Akt__Topics__Publish *m, taken *out, akt_pid **ack,
                   uint64_t *seq) {
  akt__tpeer *p = akt__tp_peer_of(tp, m->from);
  if (!p || m->to != tp->uid || !tp->uid) {
    AKT__TP_STAT(tp, unknown_senders);
    return 0;
  }
  int dedup = !(tp->o.test_flags & AKT_TOPICS_TEST_NO_DEDUP);
  size_t k = 0;
  for (size_t i = 0; i < m->n_entries; i++) {
    const Akt__Topics__Entry *e = m->entries[i];
    if (!e->topic || !e->type) continue;
    if (dedup && e->seq < p->rx_next) {
      AKT__TP_STAT(tp, duplicates);
      akt__tp_trace(tp, "dup", e->seq, 0, "from %s seq %llu %s", p->name,
                    (unsigned long long)e->seq, e->topic);
      continue;
    }
    if (dedup && e->seq > p->rx_next) {
      /* What came between was lost: wait for the resend. */
      tp->stats.out_of_order += m->n_entries - i;
      break;
    }
    AKT_ASSERT(!dedup || e->seq == p->rx_next);
    if (e->seq >= p->rx_next) p->rx_next = e->seq + 1;
    AKT__TP_STAT(tp, entries_received);
    taken *t = &out[k++];
    t->e = e;
    t->subs = snapshot(tp, e->topic, &t->n);
    t->sender = t->n ? sender_of(tp, p, e->sender) : NULL;
    akt__tp_trace(tp, "deliver", e->seq, (int64_t)t->n, "from %s seq %llu %s", p->name,
                  (unsigned long long)e->seq, e->topic);
  }
  *ack = akt_pid_retain(p->pid);
  *seq = p->rx_next - 1;
  return k;
}

void akt__tp_on_publish(akt__topics *tp, const Akt__Topics__Publish *m) {
  taken *out = m->n_entries ? malloc(m->n_entries * sizeof *out) : NULL;
  if (m->n_entries && !out) return; /* not acknowledged: resent */
  akt_pid *ack = NULL;
  uint64_t seq = 0;
  pthread_mutex_lock(&tp->mu);
  size_t k = take(tp, m, out, &ack, &seq);
  Akt__Cluster__Node from;
  akt__tp_node_self(tp, &from);
  uint64_t to = m->from ? m->from->incarnation : 0;
  pthread_mutex_unlock(&tp->mu);

  uint64_t delivered = 0, unknown = 0;
  for (size_t i = 0; i < k; i++) {
    taken *t = &out[i];
    const ProtobufCMessageDescriptor *d = t->n ? akt_system_find_type(tp->sys, t->e->type) : NULL;
    ProtobufCMessage *msg = d ? protobuf_c_message_unpack(d, NULL, t->e->payload.len,
                                                          t->e->payload.data)
                              : NULL;
    if (msg) {
      delivered += deliver(t->subs, t->n, msg, t->sender);
      protobuf_c_message_free_unpacked(msg, NULL);
    } else {
      unknown += t->n > 0;
      for (uint32_t s = 0; s < t->n; s++) akt_pid_release(t->subs[s]);
    }
    free(t->subs);
    akt_pid_release(t->sender);
  }
  free(out);
  if (ack) {
    /* After the deliveries: taken means handed to the subscribers. */
    Akt__Topics__PublishAck a = AKT__TOPICS__PUBLISH_ACK__INIT;
    a.from = &from;
    a.to = to;
    a.seq = seq;
    int rc = akt_tell_as(ack, &a.base, akt__tp_cluster_actor(tp));
    akt_pid_release(ack);
    pthread_mutex_lock(&tp->mu);
    if (rc) AKT__TP_STAT(tp, send_errors);
    tp->stats.delivered += delivered;
    tp->stats.unknown_types += unknown;
    pthread_mutex_unlock(&tp->mu);
    akt__tp_wake(tp);
  }
}
