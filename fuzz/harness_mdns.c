/* akt — fuzz target "mdns": what anyone on the link may multicast to an
 * mDNS discovery provider (src/cluster/mdns_codec.c, discovery_mdns.c,
 * mdns_cache.c).
 *
 * Input: byte 0 is not a cut (datagrams carry their own lengths), then
 * datagrams, each a 2-byte big-endian header — bit 15 set: sent from a
 * port other than mDNS's (a legacy querier, or an answer node0 must
 * ignore), bits 0..14: its length — and that many bytes (the last one
 * takes what is left). AKT_FUZZ_MDNS_MAX_DGRAMS at most.
 *
 * Each datagram is first parsed alone: whatever parses must hold the
 * parser's promises (names of 1..255 bytes that walk label by label to
 * their root, counts within the limits), and what the builder writes back
 * from it must parse to the same questions and records. Then all of them
 * are sent to the group in a simulated world, in order, from node1, while
 * node0's provider announces itself and runs a lookup; answers go into
 * its cache, questions get answered. The lookup must answer once, with
 * well-formed addresses.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/discovery.h"
#include "fuzz/harness.h"
#include "src/cluster/mdns_codec.h"

#define MDNS_GROUP_PORT 5353
#define LEGACY_PORT 40000
#define AKT_FUZZ_MDNS_MAX_DGRAMS 64 /* datagrams one input sends */
#define FROM_OTHER_PORT 0x8000u     /* header bit: not from the mDNS port */

/* The name walks label by label to a root that ends it. */
static void check_name(const akt__mdns_name *n) {
  if (n->len < 1 || n->len > AKT__MDNS_NAME_MAX) akt_fuzz_die("mdns: a name's length is out of range");
  size_t p = 0;
  while (p < n->len && n->b[p]) {
    if (n->b[p] > AKT__MDNS_LABEL_MAX) akt_fuzz_die("mdns: a label over 63 bytes");
    p += 1 + (size_t)n->b[p];
  }
  if (p + 1 != n->len) akt_fuzz_die("mdns: a name does not end at its root");
}

static int same_record(const akt__mdns_record *a, const akt__mdns_record *b) {
  if (a->section != b->section || a->type != b->type || a->ttl != b->ttl || a->flush != b->flush ||
      !akt__mdns_name_eq(&a->name, &b->name))
    return 0;
  switch (a->type) {
    case AKT__MDNS_A: return !memcmp(a->addr, b->addr, 4);
    case AKT__MDNS_AAAA: return !memcmp(a->addr, b->addr, 16);
    case AKT__MDNS_PTR: return akt__mdns_name_eq(&a->target, &b->target);
    case AKT__MDNS_SRV:
      return a->port == b->port && a->priority == b->priority && a->weight == b->weight &&
             akt__mdns_name_eq(&a->target, &b->target);
    default: return 1; /* TXT: its strings are not read */
  }
}

static void check_codec(const uint8_t *buf, size_t len) {
  akt__mdns_msg *m = malloc(sizeof *m), *again = malloc(sizeof *again);
  uint8_t *out = malloc(AKT__MDNS_PACKET_MAX);
  if (!m || !again || !out) akt_fuzz_die("mdns: out of memory");
  if (akt__mdns_parse(buf, len, m) == 0) {
    if (m->nq > AKT__MDNS_MAX_QUESTIONS || m->nr > AKT__MDNS_MAX_RECORDS)
      akt_fuzz_die("mdns: more questions or records kept than the limits");
    for (size_t i = 0; i < m->nq; i++) check_name(&m->q[i].name);
    for (size_t i = 0; i < m->nr; i++) {
      check_name(&m->r[i].name);
      if (m->r[i].type == AKT__MDNS_PTR || m->r[i].type == AKT__MDNS_SRV) check_name(&m->r[i].target);
    }
    /* Written back (uncompressed, so it may not all fit) and read again. */
    akt__mdns_writer w;
    akt__mdns_w_init(&w, out, AKT__MDNS_PACKET_MAX, m->id, m->flags);
    size_t nq = 0, nr = 0;
    while (nq < m->nq && !akt__mdns_w_question(&w, &m->q[nq].name, m->q[nq].type, m->q[nq].unicast))
      nq++;
    while (nq == m->nq && nr < m->nr) {
      akt__mdns_record r = m->r[nr];
      r.txt_len = 0;
      if (akt__mdns_w_record(&w, &r)) break;
      nr++;
    }
    if (akt__mdns_parse(out, akt__mdns_w_finish(&w), again) != 0)
      akt_fuzz_die("mdns: what the builder wrote does not parse");
    if (again->nq != nq || again->nr != nr || again->id != m->id)
      akt_fuzz_die("mdns: written back, the counts changed");
    for (size_t i = 0; i < nq; i++)
      if (!akt__mdns_name_eq(&again->q[i].name, &m->q[i].name) || again->q[i].type != m->q[i].type ||
          again->q[i].unicast != m->q[i].unicast)
        akt_fuzz_die("mdns: written back, a question changed");
    for (size_t i = 0; i < nr; i++)
      if (!same_record(&again->r[i], &m->r[i])) akt_fuzz_die("mdns: written back, a record changed");
  }
  free(out);
  free(again);
  free(m);
}

/* ---- the provider under packets ------------------------------------------------------------ */

typedef struct feed {
  akt_backend *b;
  akt_dgram *from_mdns, *from_other;
} feed;

/* Calls fn(arg, other_port, datagram, len) for each datagram of data[1..). */
static void each_dgram(const uint8_t *data, size_t len,
                       void (*fn)(void *arg, int other, const uint8_t *d, size_t n), void *arg) {
  size_t p = 1;
  for (unsigned k = 0; k < AKT_FUZZ_MDNS_MAX_DGRAMS && p + 2 <= len; k++) {
    unsigned h = (unsigned)data[p] << 8 | data[p + 1];
    size_t n = h & ~FROM_OTHER_PORT;
    p += 2;
    if (n > len - p) n = len - p;
    fn(arg, (h & FROM_OTHER_PORT) != 0, data + p, n);
    p += n;
  }
}

static void codec_one(void *arg, int other, const uint8_t *d, size_t n) {
  (void)arg, (void)other;
  check_codec(d, n);
}

static void send_one(void *arg, int other, const uint8_t *d, size_t n) {
  feed *f = arg;
  akt_addr group = {.host = AKT_MDNS_DEFAULT_GROUP, .port = MDNS_GROUP_PORT};
  f->b->ops->dgram_send(f->b, other ? f->from_other : f->from_mdns, &group, d, n);
}

static void ignore(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len, void *data) {
  (void)d, (void)from, (void)buf, (void)len, (void)data;
}

typedef struct answer {
  int calls, status;
} answer;

static void on_answer(int status, const akt_addr *addrs, size_t n, void *arg) {
  answer *a = arg;
  a->calls++;
  a->status = status;
  if ((status == 0) != (n > 0) || n > AKT_DISCOVERY_MAX_ADDRS)
    akt_fuzz_die("mdns: an answer with a status that does not match its addresses");
  for (size_t i = 0; i < n; i++)
    if (!addrs[i].port || !memchr(addrs[i].host, '\0', AKT_HOST_MAX) || !addrs[i].host[0])
      akt_fuzz_die("mdns: an answer with a malformed address");
}

static void check(int rc, const char *what) {
  if (rc) akt_fuzz_die(what);
}

int akt_fuzz_mdns(const uint8_t *data, size_t len) {
  each_dgram(data, len, codec_one, NULL);
  akt_sim_world *w;
  akt_sim_options so = {.seed = AKT_FUZZ_SEED};
  check(akt_sim_world_new(&so, &w), "mdns: setup: world");
  akt_backend *b0, *b1;
  check(akt_sim_node_new(w, "node0", &b0) || akt_sim_node_new(w, "node1", &b1), "mdns: setup: nodes");
  akt_mdns_discovery_options o = {.instance = "node0", .self = {.host = "node0", .port = 7946}};
  akt_discovery *d;
  check(akt_discovery_mdns_new(&o, &d), "mdns: setup: provider");
  answer a = {0};
  check(d->ops->lookup(d, b0, on_answer, &a), "mdns: setup: lookup");
  feed f = {.b = b1};
  akt_addr group = {.host = AKT_MDNS_DEFAULT_GROUP, .port = MDNS_GROUP_PORT};
  akt_addr other = {.host = "node1", .port = LEGACY_PORT};
  check(b1->ops->dgram_open_group(b1, &group, NULL, ignore, NULL, &f.from_mdns) ||
            b1->ops->dgram_open(b1, &other, ignore, NULL, &f.from_other),
        "mdns: setup: senders");
  each_dgram(data, len, send_one, &f);
  /* Past the window, the second announcement and any answer's delay. */
  check(akt_sim_run_for(w, AKT_SECONDS(2)), "mdns: running the world");
  if (a.calls != 1) akt_fuzz_die("mdns: the lookup was not answered exactly once");
  d->ops->stop(d, b0);
  d->ops->free(d);
  b1->ops->dgram_close(b1, f.from_mdns);
  b1->ops->dgram_close(b1, f.from_other);
  akt_sim_world_free(w);
  return 0;
}
