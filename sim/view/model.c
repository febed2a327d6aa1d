/* akt — the trace viewer's model: parsing records, lanes, pairing sends
 * with arrivals, faults as bands, highlights (model.h says what each is).
 *
 * One pass over the records in trace order (which is time order). Pending
 * sends wait in FIFO queues keyed by what identifies their arrival; a
 * queue is found through a small open-addressing table keyed by up to
 * four numbers (strings are interned first, so a key is numbers only).
 */
#include "sim/view/model.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/util/assert.h"

const char *const akt__view_kind_names[AKT__VK_MAX] = {
    [AKT__VK_SPAWN] = "spawn",         [AKT__VK_START] = "start",   [AKT__VK_SEND] = "send",
    [AKT__VK_DELIVER] = "deliver",     [AKT__VK_FAIL] = "fail",     [AKT__VK_STOP] = "stop",
    [AKT__VK_DEAD] = "dead",           [AKT__VK_TIMER] = "timer",   [AKT__VK_RESTART] = "restart",
    [AKT__VK_LOG] = "log",             [AKT__VK_USER] = "user",     [AKT__VK_NET] = "net",
    [AKT__VK_DIRECTIVE] = "directive", [AKT__VK_RESUME] = "resume", [AKT__VK_PASSIVATE] = "passivate",
};

/* Makes room for one more element in array p (n used of *cap, elements
 * of `size` bytes), doubling from `first`. Returns the array, moved or
 * not; on ENOMEM the old one, unchanged, with *oom set. */
static void *grow(void *p, size_t n, size_t *cap, size_t size, size_t first, int *oom) {
  if (n < *cap) return p;
  size_t c = *cap ? *cap * 2 : first;
  void *q = realloc(p, c * size);
  if (!q) {
    *oom = 1;
    return p;
  }
  *cap = c;
  return q;
}

/* GROW(arr, n, cap, first, oom): grow() for a typed array member. */
#define GROW(arr, n, cap, first, oom) ((arr) = grow((arr), (n), &(cap), sizeof *(arr), (first), (oom)))

/* ---- interned strings -------------------------------------------------------------- */

static int strs_grow(akt__vstrs *t) {
  size_t nslots = t->nslots ? t->nslots * 2 : 1024;
  int32_t *slot = calloc(nslots, sizeof *slot);
  if (!slot) return AKT_ENOMEM;
  for (size_t i = 0; i < t->n; i++) {
    size_t h = (size_t)XXH3_64bits(t->s[i], strlen(t->s[i])) & (nslots - 1);
    while (slot[h]) h = (h + 1) & (nslots - 1);
    slot[h] = (int32_t)i + 1;
  }
  free(t->slot);
  t->slot = slot;
  t->nslots = nslots;
  return 0;
}

/* The index of s[0..len), added if new; -1 on ENOMEM. */
static int32_t intern(akt__vstrs *t, const char *s, size_t len) {
  if ((t->n + 1) * 2 > t->nslots && strs_grow(t)) return -1;
  size_t h = (size_t)XXH3_64bits(s, len) & (t->nslots - 1);
  for (; t->slot[h]; h = (h + 1) & (t->nslots - 1)) {
    const char *x = t->s[t->slot[h] - 1];
    if (strlen(x) == len && !memcmp(x, s, len)) return t->slot[h] - 1;
  }
  int oom = 0;
  if (GROW(t->s, t->n, t->cap, 256, &oom), oom) return -1;
  char *copy = malloc(len + 1);
  if (!copy) return -1;
  memcpy(copy, s, len);
  copy[len] = '\0';
  t->s[t->n] = copy;
  t->slot[h] = (int32_t)++t->n;
  return (int32_t)t->n - 1;
}

static int32_t intern_z(akt__vstrs *t, const char *s) { return intern(t, s, strlen(s)); }

/* ---- keyed FIFO queues --------------------------------------------------------------- */

typedef struct qentry {
  int32_t rec;
  int32_t next;      /* next entry of the queue, -1 */
  int64_t left;      /* frame: bytes not yet delivered; datagram: copies still to come */
  uint64_t seq;      /* order of sending on its path (reorder detection) */
  uint32_t path;     /* the path's counter slot */
  uint8_t delivered; /* datagram: copies delivered so far */
} qentry;

typedef struct qslot {
  uint64_t key[4];
  int32_t head, tail; /* entries, -1 when empty */
  uint64_t sent, arrived_max; /* as a path counter: sends so far, highest seq arrived + 1 */
  uint8_t used;
} qslot;

typedef struct queues {
  qslot *slot;
  size_t nslots, used;
  qentry *e;
  size_t ne, cape;
} queues;

static int queues_grow(queues *q) {
  size_t nslots = q->nslots ? q->nslots * 2 : 1024;
  qslot *slot = calloc(nslots, sizeof *slot);
  if (!slot) return AKT_ENOMEM;
  for (size_t i = 0; i < q->nslots; i++) {
    if (!q->slot[i].used) continue;
    size_t h = (size_t)XXH3_64bits(q->slot[i].key, sizeof q->slot[i].key) & (nslots - 1);
    while (slot[h].used) h = (h + 1) & (nslots - 1);
    slot[h] = q->slot[i];
  }
  free(q->slot);
  q->slot = slot;
  q->nslots = nslots;
  return 0;
}

/* The slot of `key`, created empty when `create`; NULL when absent (or on
 * ENOMEM, which *oom reports). Slots move when the table grows: use the
 * pointer before the next lookup. */
static qslot *queue_find(queues *q, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3, int create,
                         int *oom) {
  uint64_t key[4] = {k0, k1, k2, k3};
  if (create && (q->used + 1) * 2 > q->nslots && queues_grow(q)) {
    *oom = 1;
    return NULL;
  }
  if (!q->nslots) return NULL;
  size_t h = (size_t)XXH3_64bits(key, sizeof key) & (q->nslots - 1);
  for (; q->slot[h].used; h = (h + 1) & (q->nslots - 1))
    if (!memcmp(q->slot[h].key, key, sizeof key)) return &q->slot[h];
  if (!create) return NULL;
  qslot *s = &q->slot[h];
  memcpy(s->key, key, sizeof key);
  s->head = s->tail = -1;
  s->used = 1;
  q->used++;
  return s;
}

/* Appends an entry to `s`'s queue; returns it, or NULL on ENOMEM. */
static qentry *queue_push(queues *q, qslot *s, int32_t rec) {
  int oom = 0;
  if (GROW(q->e, q->ne, q->cape, 1024, &oom), oom) return NULL;
  int32_t i = (int32_t)q->ne++;
  q->e[i] = (qentry){.rec = rec, .next = -1};
  if (s->tail >= 0) q->e[s->tail].next = i;
  else s->head = i;
  s->tail = i;
  return &q->e[i];
}

static void queue_pop(queues *q, qslot *s) {
  AKT_ASSERT(s->head >= 0);
  s->head = q->e[s->head].next;
  if (s->head < 0) s->tail = -1;
}

static void queues_free(queues *q) {
  free(q->slot);
  free(q->e);
}

/* ---- building ---------------------------------------------------------------------- */

typedef struct builder {
  akt__view_model *m;
  queues msg;      /* remote sends by (dest lane, type, hash, sender id) */
  queues local;    /* local sends by (lane << 32 | type, receiver id, sender id, hash) */
  queues frames;   /* stream writes by (ends) */
  queues dgrams;   /* datagrams by (ends, hash) */
  queues paths;    /* counters only: (kind, src, sender, dst) */
  queues actors;   /* (lane, actor id) -> its path (interned), kept in `sent` */
  int oom;
} builder;

static int push_arrow(builder *b, akt__varrow a) {
  akt__view_model *m = b->m;
  if (GROW(m->arrows, m->narrows, m->caparrows, 1024, &b->oom), b->oom) return AKT_ENOMEM;
  m->arrows[m->narrows++] = a;
  return 0;
}

static int push_mark(builder *b, int32_t rec, uint8_t cls) {
  akt__view_model *m = b->m;
  if (GROW(m->marks, m->nmarks, m->capmarks, 256, &b->oom), b->oom) return AKT_ENOMEM;
  m->marks[m->nmarks++] = (akt__vmark){rec, cls};
  return 0;
}

static akt__vband *push_band(builder *b, uint8_t kind, int32_t rec, int32_t la, int32_t lb,
                             int32_t label) {
  akt__view_model *m = b->m;
  if (GROW(m->bands, m->nbands, m->capbands, 64, &b->oom), b->oom) return NULL;
  akt__vband *x = &m->bands[m->nbands++];
  *x = (akt__vband){.start = m->rec[rec].t, .end = UINT64_MAX, .lane_a = la, .lane_b = lb,
                    .rec = rec, .label = label, .kind = kind};
  return x;
}

/* The lane of node `name`, added if new; -1 on ENOMEM. */
static int32_t lane_of(builder *b, const char *name, size_t len) {
  akt__view_model *m = b->m;
  int32_t s = intern(&m->strs, name, len);
  if (s < 0) return b->oom = 1, -1;
  for (size_t i = 0; i < m->nlanes; i++)
    if (m->lanes[i] == s) return (int32_t)i;
  if (GROW(m->lanes, m->nlanes, m->caplanes, 16, &b->oom), b->oom) return -1;
  m->lanes[m->nlanes] = s;
  return (int32_t)m->nlanes++;
}

static const char *text_of(const builder *b, const akt__vrec *r) { return b->m->buf + r->text_off; }

static int text_is(const builder *b, const akt__vrec *r, const char *s) {
  size_t n = strlen(s);
  return r->text_len == n && !memcmp(text_of(b, r), s, n);
}

/* The interned text of r (its first `len` bytes when len < its length). */
static int32_t text_id(builder *b, const akt__vrec *r, size_t len) {
  int32_t s = intern(&b->m->strs, text_of(b, r), len < r->text_len ? len : r->text_len);
  if (s < 0) b->oom = 1;
  return s;
}

static int type_is(const builder *b, const akt__vrec *r, const char *s) {
  return !strcmp(akt__view_str(b->m, r->type), s);
}

static int type_starts(const builder *b, const akt__vrec *r, const char *s) {
  return !strncmp(akt__view_str(b->m, r->type), s, strlen(s));
}

/* Path counters: sends numbered along a path, arrivals checked against the
 * highest number that arrived so far (an arrival below it was overtaken). */
static uint64_t path_send(builder *b, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3) {
  qslot *s = queue_find(&b->paths, k0, k1, k2, k3, 1, &b->oom);
  return s ? s->sent++ : 0;
}

static int path_arrive(builder *b, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3,
                       uint64_t seq) {
  qslot *s = queue_find(&b->paths, k0, k1, k2, k3, 1, &b->oom);
  if (!s) return 0;
  if (seq + 1 < s->arrived_max) return 1;
  s->arrived_max = seq + 1;
  return 0;
}

/* ---- records: actors ------------------------------------------------------------------- */

/* The actor lane (interned path) of record r, tracked from spawn records:
 * ids are per node and a restarted node reuses them, so a lane is a path. */
static int32_t actor_of(builder *b, const akt__vrec *r, uint64_t id) {
  if (!id || r->lane < 0) return -1;
  qslot *s = queue_find(&b->actors, (uint64_t)r->lane, id, 0, 0, 0, &b->oom);
  return s ? (int32_t)s->sent : -1;
}

static void on_spawn(builder *b, akt__vrec *r) {
  if (r->lane < 0) return;
  int32_t path = text_id(b, r, r->text_len);
  qslot *s = queue_find(&b->actors, (uint64_t)r->lane, r->a, 0, 0, 1, &b->oom);
  if (s && path >= 0) s->sent = (uint64_t)path;
}

/* ---- records: messages ------------------------------------------------------------------ */

/* The destination lane of a remote send: the host in "akt://sys@host:port". */
static int32_t remote_dest(builder *b, const akt__vrec *r) {
  const char *x = text_of(b, r), *end = x + r->text_len;
  const char *at = memchr(x, '@', r->text_len);
  if (!at) return -1;
  const char *colon = memchr(at, ':', (size_t)(end - at));
  const char *slash = memchr(at, '/', (size_t)(end - at));
  const char *stop = colon ? colon : slash ? slash : end;
  return lane_of(b, at + 1, (size_t)(stop - at - 1));
}

/* The first number of a local send's key: its node and type. */
static uint64_t local_key(const akt__vrec *r) {
  return (uint64_t)(uint32_t)r->lane << 32 | (uint32_t)r->type;
}

static void on_send(builder *b, int32_t i) {
  akt__vrec *r = &b->m->rec[i];
  if (r->lane < 0) return;
  if (r->text_len > 6 && !memcmp(text_of(b, r), "akt://", 6)) { /* remote */
    r->actor = actor_of(b, r, r->p);
    int32_t dst = remote_dest(b, r);
    if (dst < 0) return;
    qslot *s = queue_find(&b->msg, (uint64_t)dst, (uint64_t)r->type, r->h, r->p, 1, &b->oom);
    qentry *e = s ? queue_push(&b->msg, s, i) : NULL;
    if (!e) return (void)(b->oom = 1);
    e->seq = path_send(b, 1, (uint64_t)r->lane, r->p, (uint64_t)dst);
    e->path = (uint32_t)dst;
    return;
  }
  /* An arrival from another node (remoting's inbound delivers it with a
   * local send), or a local send. */
  qslot *s = queue_find(&b->msg, (uint64_t)r->lane, (uint64_t)r->type, r->h, r->p, 0, &b->oom);
  if (s && s->head >= 0) {
    qentry e = b->msg.e[s->head];
    queue_pop(&b->msg, s);
    const akt__vrec *from = &b->m->rec[e.rec];
    r->actor = actor_of(b, r, r->a);
    uint16_t flags = path_arrive(b, 1, (uint64_t)from->lane, from->p, (uint64_t)r->lane, e.seq)
                         ? AKT__VF_REORDER : 0;
    push_arrow(b, (akt__varrow){.from = e.rec, .to = i, .dst = r->lane, .label = r->type,
                                .flags = flags, .layer = AKT__VL_MESSAGE});
    /* Its delivery pairs with this record too, but draws nothing. */
    qslot *l = queue_find(&b->local, local_key(r), r->a, r->p, r->h, 1, &b->oom);
    qentry *le = l ? queue_push(&b->local, l, i) : NULL;
    if (!le) return (void)(b->oom = 1);
    le->left = 1; /* an arrival, not a local send */
    return;
  }
  r->actor = actor_of(b, r, r->p);
  qslot *l = queue_find(&b->local, local_key(r), r->a, r->p, r->h, 1, &b->oom);
  if (!l || !queue_push(&b->local, l, i)) b->oom = 1;
}

/* A delivery or a dead letter ends a local send (or an arrival). */
static void on_receive(builder *b, int32_t i, int dead) {
  akt__vrec *r = &b->m->rec[i];
  if (r->lane < 0) return;
  r->actor = actor_of(b, r, r->a);
  qslot *l = queue_find(&b->local, local_key(r), r->a, r->p, r->h, 0, &b->oom);
  if (l && l->head >= 0) {
    qentry e = b->local.e[l->head];
    queue_pop(&b->local, l);
    if (!e.left || dead)
      push_arrow(b, (akt__varrow){.from = e.rec, .to = i, .dst = r->lane, .label = r->type,
                                  .flags = (uint16_t)(dead ? AKT__VF_DEAD : 0) |
                                           (e.left ? 0 : AKT__VF_LOCAL),
                                  .layer = AKT__VL_MESSAGE});
    return;
  }
  if (!dead) return;
  /* Dead-lettered on arrival from another node (before any local send). */
  qslot *s = queue_find(&b->msg, (uint64_t)r->lane, (uint64_t)r->type, r->h, r->p, 0, &b->oom);
  if (s && s->head >= 0) {
    int32_t from = b->msg.e[s->head].rec;
    queue_pop(&b->msg, s);
    push_arrow(b, (akt__varrow){.from = from, .to = i, .dst = r->lane, .label = r->type,
                                .flags = AKT__VF_DEAD, .layer = AKT__VL_MESSAGE});
  }
}

/* ---- records: the network ---------------------------------------------------------------- */

/* The destination lane of "a:1->b:2" (the text up to its first blank). */
static int32_t ends_dest(builder *b, const akt__vrec *r) {
  const char *x = text_of(b, r), *end = x + r->text_len;
  const char *arrow = NULL;
  for (const char *p = x; p + 1 < end; p++)
    if (p[0] == '-' && p[1] == '>') arrow = p;
  if (!arrow) return -1;
  const char *host = arrow + 2, *colon = memchr(host, ':', (size_t)(end - host));
  return lane_of(b, host, (size_t)((colon ? colon : end) - host));
}

static int32_t bytes_label(builder *b, const char *what, int64_t n) {
  char s[48];
  snprintf(s, sizeof s, "%s%lld B", what, (long long)n);
  int32_t id = intern_z(&b->m->strs, s);
  if (id < 0) b->oom = 1;
  return id;
}

static void on_frame_send(builder *b, int32_t i) {
  akt__vrec *r = &b->m->rec[i];
  int32_t ends = text_id(b, r, r->text_len);
  qslot *s = ends >= 0 ? queue_find(&b->frames, (uint64_t)ends, 0, 0, 0, 1, &b->oom) : NULL;
  qentry *e = s ? queue_push(&b->frames, s, i) : NULL;
  if (!e) return (void)(b->oom = 1);
  e->left = r->c;
}

/* A segment delivered (or dropped at a closed end): it ends the oldest
 * write on its connection once the write's last byte is in. */
static void on_frame_arrive(builder *b, int32_t i, int dropped) {
  akt__vrec *r = &b->m->rec[i];
  int32_t ends = text_id(b, r, r->text_len);
  qslot *s = ends >= 0 ? queue_find(&b->frames, (uint64_t)ends, 0, 0, 0, 0, &b->oom) : NULL;
  if (!s || s->head < 0) return;
  qentry *e = &b->frames.e[s->head];
  e->left -= r->c;
  e->delivered |= (uint8_t)dropped;
  if (e->left > 0) return;
  qentry done = *e;
  queue_pop(&b->frames, s);
  const akt__vrec *from = &b->m->rec[done.rec];
  push_arrow(b, (akt__varrow){.from = done.rec, .to = i, .dst = r->lane,
                              .label = bytes_label(b, "", from->c),
                              .flags = done.delivered ? AKT__VF_DROP : 0, .layer = AKT__VL_FRAME});
}

static void on_dgram(builder *b, int32_t i) {
  akt__vrec *r = &b->m->rec[i];
  int32_t ends = text_id(b, r, r->text_len);
  if (ends < 0) return;
  if (type_is(b, r, "dgram-send")) {
    qslot *s = queue_find(&b->dgrams, (uint64_t)ends, r->h, 0, 0, 1, &b->oom);
    qentry *e = s ? queue_push(&b->dgrams, s, i) : NULL;
    if (!e) return (void)(b->oom = 1);
    e->left = 1;
    e->seq = path_send(b, 2, (uint64_t)ends, 0, 0);
    return;
  }
  qslot *s = queue_find(&b->dgrams, (uint64_t)ends, r->h, 0, 0, 0, &b->oom);
  if (!s || s->head < 0) return; /* dgram-drop of a send to no node: a mark only */
  if (type_is(b, r, "dup")) { /* the latest send of it goes twice */
    b->dgrams.e[s->tail].left++;
    return;
  }
  qentry *e = &b->dgrams.e[s->head];
  int32_t dst = ends_dest(b, r);
  uint16_t flags = 0;
  int32_t to = i;
  if (type_is(b, r, "dgram-deliver")) {
    flags |= e->delivered ? AKT__VF_DUP : 0;
    flags |= path_arrive(b, 2, (uint64_t)ends, 0, 0, e->seq) ? AKT__VF_REORDER : 0;
  } else { /* loss, drop-cut, drop-capacity (at the sender), dgram-drop (at the receiver) */
    flags |= AKT__VF_DROP;
  }
  e->delivered++;
  int32_t from = e->rec;
  if (--e->left <= 0) queue_pop(&b->dgrams, s);
  push_arrow(b, (akt__varrow){.from = from, .to = to, .dst = dst,
                              .label = bytes_label(b, "dgram ", b->m->rec[from].c), .flags = flags,
                              .layer = AKT__VL_DATAGRAM});
}

/* ---- records: faults ------------------------------------------------------------------------ */

/* Ends, at time t, every open band of `kind` on lanes (la, lb) in either
 * order, or every open band of `kind` when `any`. */
static void close_bands(builder *b, uint8_t kind, uint64_t t, int32_t la, int32_t lb, int any) {
  for (size_t k = 0; k < b->m->nbands; k++) {
    akt__vband *x = &b->m->bands[k];
    if (x->kind != kind || x->end != UINT64_MAX) continue;
    if (any || (x->lane_a == la && x->lane_b == lb) || (x->lane_a == lb && x->lane_b == la))
      x->end = t;
  }
}

/* Lanes of a link text "a->b", "a<->b" or "a<->*" (b: -1 for "*"). */
static void link_lanes(builder *b, const akt__vrec *r, int32_t *la, int32_t *lb) {
  const char *x = text_of(b, r), *end = x + r->text_len;
  const char *arrow = x;
  while (arrow < end && *arrow != '-' && *arrow != '<') arrow++;
  *la = lane_of(b, x, (size_t)(arrow - x));
  const char *to = arrow;
  while (to < end && (*to == '<' || *to == '-' || *to == '>')) to++;
  *lb = to < end && *to != '*' ? lane_of(b, to, (size_t)(end - to)) : -1;
}

static void on_fault(builder *b, int32_t i) {
  akt__vrec *r = &b->m->rec[i];
  int32_t la = -1, lb = -1;
  if (type_is(b, r, "crash") || type_is(b, r, "pause")) {
    uint8_t kind = type_is(b, r, "crash") ? AKT__VB_CRASH : AKT__VB_PAUSE;
    push_band(b, kind, i, r->lane, -1, r->type);
  } else if (type_is(b, r, "restart") || type_is(b, r, "resume")) {
    close_bands(b, type_is(b, r, "restart") ? AKT__VB_CRASH : AKT__VB_PAUSE, r->t, r->lane, -1, 0);
  } else if (type_is(b, r, "cut") || type_is(b, r, "hold")) {
    link_lanes(b, r, &la, &lb);
    push_band(b, type_is(b, r, "cut") ? AKT__VB_CUT : AKT__VB_HOLD, i, la, lb, text_id(b, r, r->text_len));
  } else if (type_is(b, r, "release")) {
    link_lanes(b, r, &la, &lb);
    close_bands(b, AKT__VB_HOLD, r->t, la, lb, 0);
  } else if (type_is(b, r, "partition")) {
    close_bands(b, AKT__VB_PARTITION, r->t, -1, -1, 1);
    push_band(b, AKT__VB_PARTITION, i, -1, -1, text_id(b, r, r->text_len));
  } else if (type_is(b, r, "heal")) {
    if (text_is(b, r, "*")) {
      close_bands(b, AKT__VB_CUT, r->t, -1, -1, 1);
      close_bands(b, AKT__VB_PARTITION, r->t, -1, -1, 1);
    } else {
      link_lanes(b, r, &la, &lb);
      close_bands(b, AKT__VB_CUT, r->t, la, lb, 0);
    }
  } else if (type_is(b, r, "clog")) {
    link_lanes(b, r, &la, &lb);
    akt__vband *x = push_band(b, AKT__VB_CLOG, i, la, lb, text_id(b, r, r->text_len));
    if (x) x->end = r->c > 0 && (uint64_t)r->c < UINT64_MAX - r->t ? r->t + (uint64_t)r->c : r->t;
  } else if (type_is(b, r, "clock") || type_is(b, r, "link") || type_is(b, r, "retransmit") ||
             type_is(b, r, "reset")) {
    push_mark(b, i, AKT__VM_FAULT);
  }
}

static void on_record(builder *b, int32_t i) {
  akt__vrec *r = &b->m->rec[i];
  switch (r->kind) {
    case AKT__VK_SPAWN:
      on_spawn(b, r);
      r->actor = actor_of(b, r, r->a);
      break;
    case AKT__VK_SEND: on_send(b, i); break;
    case AKT__VK_DELIVER: on_receive(b, i, 0); break;
    case AKT__VK_DEAD:
      on_receive(b, i, 1);
      push_mark(b, i, AKT__VM_DEAD);
      break;
    case AKT__VK_FAIL:
    case AKT__VK_RESTART:
      r->actor = actor_of(b, r, r->a);
      push_mark(b, i, AKT__VM_FAILURE);
      break;
    case AKT__VK_USER:
      if (type_is(b, r, "check-failed")) push_mark(b, i, AKT__VM_VIOLATION);
      break;
    case AKT__VK_NET:
      if (type_starts(b, r, "member") || type_starts(b, r, "cluster")) push_mark(b, i, AKT__VM_MEMBER);
      else if (type_is(b, r, "send")) on_frame_send(b, i);
      else if (type_is(b, r, "deliver") || type_is(b, r, "drop")) on_frame_arrive(b, i, type_is(b, r, "drop"));
      else if (type_starts(b, r, "dgram-") || type_is(b, r, "dup") || type_is(b, r, "loss") ||
               type_starts(b, r, "drop-"))
        on_dgram(b, i);
      else on_fault(b, i);
      break;
    default: r->actor = actor_of(b, r, r->a); break;
  }
}

/* What had not arrived when the trace ends: arrows with no end. */
static void unmatched(builder *b, queues *q, uint8_t layer) {
  for (size_t k = 0; k < q->nslots; k++) {
    const qslot *s = &q->slot[k];
    if (!s->used) continue;
    for (int32_t e = s->head; e >= 0; e = q->e[e].next) {
      const akt__vrec *r = &b->m->rec[q->e[e].rec];
      if (layer == AKT__VL_DATAGRAM && q->e[e].delivered) continue; /* a dup that never came */
      int32_t dst = layer == AKT__VL_MESSAGE ? (int32_t)s->key[0] : ends_dest(b, r);
      int32_t label = layer == AKT__VL_MESSAGE ? r->type
                      : bytes_label(b, layer == AKT__VL_DATAGRAM ? "dgram " : "", r->c);
      push_arrow(b, (akt__varrow){.from = q->e[e].rec, .to = -1, .dst = dst, .label = label,
                                  .flags = AKT__VF_PENDING, .layer = layer});
    }
  }
}

static int cmp_arrow(const void *x, const void *y) {
  const akt__varrow *a = x, *b = y;
  return a->from != b->from ? (a->from < b->from ? -1 : 1) : (a->to < b->to ? -1 : a->to > b->to);
}

/* ---- parsing -------------------------------------------------------------------------------- */

static int parse_u64(const char **p, const char *end, int base, uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  int any = 0;
  for (; s < end; s++, any = 1) {
    int d = *s >= '0' && *s <= '9' ? *s - '0'
            : base == 16 && *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
    if (d < 0) break;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  *p = s;
  *out = v;
  return any ? 0 : -1;
}

/* Expects `lit` at *p and moves past it. */
static int expect(const char **p, const char *end, const char *lit) {
  size_t n = strlen(lit);
  if ((size_t)(end - *p) < n || memcmp(*p, lit, n)) return -1;
  *p += n;
  return 0;
}

/* Parses the record line[0..len) into *r. Returns 0 or -1. */
static int parse_record(builder *b, const char *line, size_t len, akt__vrec *r) {
  const char *p = line, *end = line + len;
  uint64_t sec, ns, a, pp, h, c;
  if (parse_u64(&p, end, 10, &sec) || expect(&p, end, ".") || parse_u64(&p, end, 10, &ns) ||
      expect(&p, end, " "))
    return -1;
  r->t = sec * 1000000000u + ns;
  const char *node = p;
  while (p < end && *p != ' ') p++;
  size_t nlen = (size_t)(p - node);
  if (expect(&p, end, " ")) return -1;
  const char *kind = p;
  while (p < end && *p != ' ') p++;
  size_t klen = (size_t)(p - kind);
  r->kind = AKT__VK_MAX;
  for (int k = 0; k < AKT__VK_MAX; k++)
    if (strlen(akt__view_kind_names[k]) == klen && !memcmp(akt__view_kind_names[k], kind, klen))
      r->kind = (uint8_t)k;
  int neg = 0;
  if (r->kind == AKT__VK_MAX || expect(&p, end, " a=") || parse_u64(&p, end, 10, &a) ||
      expect(&p, end, " p=") || parse_u64(&p, end, 10, &pp) || expect(&p, end, " c="))
    return -1;
  if (p < end && *p == '-') neg = 1, p++;
  if (parse_u64(&p, end, 10, &c) || expect(&p, end, " h=") || parse_u64(&p, end, 16, &h) ||
      expect(&p, end, " t="))
    return -1;
  const char *type = p;
  while (p < end && *p != ' ') p++;
  size_t tlen = (size_t)(p - type);
  if (expect(&p, end, " x=")) return -1;
  r->a = a;
  r->p = pp;
  r->h = h;
  r->c = neg ? -(int64_t)c : (int64_t)c;
  r->text_off = (uint32_t)(p - b->m->buf);
  r->text_len = (uint32_t)(end - p);
  r->actor = -1;
  r->type = intern(&b->m->strs, type, tlen);
  r->lane = nlen == 5 && !memcmp(node, "world", 5) ? AKT__VIEW_NO_LANE : lane_of(b, node, nlen);
  return r->type < 0 || b->oom ? -1 : 0;
}

int akt__view_model_build(akt__view_model *m, const char *buf, size_t len, size_t *bad_line) {
  memset(m, 0, sizeof *m);
  m->buf = buf;
  m->len = len;
  *bad_line = 0;
  if (len > UINT32_MAX) return AKT_ELIMIT; /* text offsets are 32-bit */
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
  lines += len && buf[len - 1] != '\n';
  if (lines > AKT__VIEW_MAX_RECORDS) return AKT_ELIMIT;
  builder b = {.m = m};
  m->rec = calloc(lines ? lines : 1, sizeof *m->rec);
  int rc = m->rec ? 0 : AKT_ENOMEM;
  for (size_t off = 0; rc == 0 && off < len;) {
    const char *eol = memchr(buf + off, '\n', len - off);
    size_t n = eol ? (size_t)(eol - (buf + off)) : len - off;
    akt__vrec *r = &m->rec[m->nrec];
    if (parse_record(&b, buf + off, n, r) != 0) {
      rc = b.oom ? AKT_ENOMEM : AKT_EINVAL;
      *bad_line = m->nrec + 1;
      break;
    }
    m->nrec++;
    on_record(&b, (int32_t)(m->nrec - 1));
    if (b.oom) rc = AKT_ENOMEM;
    off += n + 1;
  }
  if (rc == 0) {
    unmatched(&b, &b.msg, AKT__VL_MESSAGE);
    unmatched(&b, &b.frames, AKT__VL_FRAME);
    unmatched(&b, &b.dgrams, AKT__VL_DATAGRAM);
    /* A fault still on at the end lasts to the end. */
    uint64_t last = m->nrec ? m->rec[m->nrec - 1].t : 0;
    for (size_t k = 0; k < m->nbands; k++)
      if (m->bands[k].end == UINT64_MAX) m->bands[k].end = last;
    if (m->narrows) qsort(m->arrows, m->narrows, sizeof *m->arrows, cmp_arrow);
    if (b.oom) rc = AKT_ENOMEM;
  }
  queues_free(&b.msg);
  queues_free(&b.local);
  queues_free(&b.frames);
  queues_free(&b.dgrams);
  queues_free(&b.paths);
  queues_free(&b.actors);
  if (rc) akt__view_model_free(m);
  return rc;
}

void akt__view_model_free(akt__view_model *m) {
  for (size_t i = 0; i < m->strs.n; i++) free(m->strs.s[i]);
  free(m->strs.s);
  free(m->strs.slot);
  free(m->rec);
  free(m->lanes);
  free(m->arrows);
  free(m->bands);
  free(m->marks);
  memset(m, 0, sizeof *m);
}
