/* akt — the mDNS discovery provider: DNS-SD over multicast DNS (RFC 6762,
 * RFC 6763), the subset a cluster needs, on datagrams through the backend
 * seam, so the same code runs on real multicast and in the simulator.
 *
 * Records. A node announces one instance of one service type, with the
 * records DNS-SD asks for (S = "<service>.local", I = "<instance>.S"):
 *   PTR  S -> I        (shared: every node has one under S)
 *   SRV  I -> H:port   (unique; H the host below)
 *   TXT  I             (unique; empty, as RFC 6763 §6 allows)
 *   A or AAAA H        (unique; only when the gossip host is an IP literal)
 * H is "<instance>.local" when the host is an IP literal, else
 * "<host>.local": in the simulator hosts are node names, which have no
 * address record, and a querier resolves "<node>.local" through the
 * backend as nss-mdns would on a real host.
 *
 * Responder. From the first lookup the node's group endpoint is open: it
 * announces its records twice, one second apart (§8.3), answers questions
 * about them — a multicast answer after 20-120 ms for the shared PTR, at
 * once for unique records only (§6), never the same records on the link
 * within a second of the last time (§6), not at all when the question
 * lists them as a known answer with at least half their TTL left (§7.1) —
 * and answers a legacy unicast question (from a port other than mDNS's)
 * with a unicast answer that repeats the question and caps TTLs at 10 s
 * (§6.7). stop multicasts the records with TTL 0 (goodbye, §10.1).
 *
 * Querier. A lookup multicasts a question for S's PTR records, listing
 * what its cache already holds with more than half its TTL left (so those
 * responders stay silent; what does not fit in one packet is left out
 * rather than sent in more, so some answers come anyway), listens for
 * `window`, and answers every live instance in the cache (mdns_cache.h):
 * the addresses that came with its target, or the target resolved through
 * the backend. Responses are taken only from the mDNS port (§6), from
 * anyone: what every responder multicasts fills every cache.
 *
 * Not implemented (docs/discovery.md): probing and conflict resolution
 * (§8.1-8.2, §9) — instance names are node names, which a cluster already
 * requires unique; another responder claiming this node's name is counted
 * (conflicts) and logged. Also: the 20-120 ms delay before a first query,
 * continuation packets for long known-answer lists, and unicast answers
 * to the QU bit (the answer is multicast).
 *
 * Lifetime: the lookup kit (discovery_kit.h). The endpoint is not a
 * reference: it is closed by stop, on the I/O context, before free; after
 * a simulated crash the simulator has taken it, and free leaves it be.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/discovery_kit.h"
#include "src/cluster/mdns_cache.h"
#include "src/cluster/mdns_codec.h"
#include "src/util/assert.h"

#define NS_PER_S 1000000000ull
#define MDNS_ANNOUNCEMENTS 2                 /* unsolicited announcements at start (§8.3) */
#define MDNS_ANNOUNCE_GAP AKT_SECONDS(1)     /* between them */
#define MDNS_RATE_GAP AKT_SECONDS(1)         /* a record multicast at most once per this (§6) */
#define MDNS_SHARED_DELAY_MIN AKT_MILLIS(20) /* a shared answer waits in [min, max] (§6) */
#define MDNS_SHARED_DELAY_MAX AKT_MILLIS(120)
#define MDNS_LEGACY_TTL 10u                  /* seconds: cap on TTLs in legacy unicast answers */
#define MDNS_OWN_RECORDS 4                   /* PTR, SRV, TXT, address */

typedef struct mdns_disc {
  akt__dkit k; /* first: the kit's discovery is the provider's */
  /* configuration */
  akt__mdns_name service;       /* S */
  int announce;                 /* an instance is configured */
  akt__mdns_name instance;      /* I */
  akt__mdns_name host;          /* H */
  int has_addr;                 /* H has an A/AAAA record */
  uint16_t addr_type;           /* AKT__MDNS_A or AKT__MDNS_AAAA */
  uint8_t addr[16];
  uint16_t port;                /* the gossip port announced */
  akt_addr group;               /* where to send and listen */
  char iface[AKT_HOST_MAX];     /* "" = the system's choice */
  uint32_t ttl;                 /* seconds */
  akt_duration window;
  /* state (under the kit's lock) */
  akt_dgram *ep;                /* the group endpoint; NULL before the first lookup, after stop */
  uint64_t window_timer, announce_timer, respond_timer;
  unsigned announcements_left;
  int respond_ptr, respond_rest;/* what the scheduled multicast answer holds */
  int multicast_yet;            /* this node's records went to the group at least once */
  uint64_t last_multicast;      /* when they last did */
  int conflict_logged;
  akt__mdns_cache cache;
  akt__mdns_msg msg;            /* the packet being read */
  uint8_t pkt[AKT__MDNS_SEND_MAX]; /* the packet being built */
} mdns_disc;

static uint64_t now_ns(mdns_disc *p) { return p->k.b->ops->now(p->k.b); }

/* ---- sending ----------------------------------------------------------------------------- */

static void send_pkt(mdns_disc *p, const akt_addr *to, size_t len) {
  int rc = p->k.b->ops->dgram_send(p->k.b, p->ep, to, p->pkt, len);
  if (rc == 0) p->k.stats.packets_sent++;
}

/* This node's records with `ttl` (seconds); `flush` sets the cache-flush
 * bit on the unique ones. Writes them to out[] as PTR, SRV, TXT, address;
 * returns how many. */
/* One of this node's records, set up with its name, type and TTL. */
static akt__mdns_record *own_record(akt__mdns_record *r, const akt__mdns_name *name,
                                    uint16_t type, uint32_t ttl, int flush) {
  memset(r, 0, sizeof *r);
  r->name = *name;
  r->type = type;
  r->klass = AKT__MDNS_IN;
  r->ttl = ttl;
  r->flush = flush;
  return r;
}

static size_t own_records(const mdns_disc *p, uint32_t ttl, int flush,
                          akt__mdns_record out[MDNS_OWN_RECORDS]) {
  size_t n = 0;
  /* The PTR is shared: never cache-flush. */
  own_record(&out[n++], &p->service, AKT__MDNS_PTR, ttl, 0)->target = p->instance;
  akt__mdns_record *srv = own_record(&out[n++], &p->instance, AKT__MDNS_SRV, ttl, flush);
  srv->target = p->host;
  srv->port = p->port;
  own_record(&out[n++], &p->instance, AKT__MDNS_TXT, ttl, flush);
  if (p->has_addr)
    memcpy(own_record(&out[n++], &p->host, p->addr_type, ttl, flush)->addr, p->addr,
           sizeof p->addr);
  return n;
}

/* Multicasts this node's records: all in the answer section (an
 * announcement, a goodbye with ttl 0), or, for an answer about the PTR,
 * the PTR as the answer and the rest as additional records (RFC 6763
 * §12.1), or the unique records only (a question about those). */
static void multicast_records(mdns_disc *p, uint32_t ttl, int with_ptr, int rest_answers) {
  akt__mdns_record recs[MDNS_OWN_RECORDS];
  size_t n = own_records(p, ttl, 1, recs);
  akt__mdns_writer w;
  akt__mdns_w_init(&w, p->pkt, sizeof p->pkt, 0, AKT__MDNS_QR | AKT__MDNS_AA);
  for (size_t i = with_ptr ? 0 : 1; i < n; i++) {
    recs[i].section = i == 0 || rest_answers ? AKT__MDNS_ANSWER : AKT__MDNS_ADDITIONAL;
    /* Our own records fit one packet: checked when they were made. */
    AKT_ASSERT(akt__mdns_w_record(&w, &recs[i]) == 0);
  }
  send_pkt(p, &p->group, akt__mdns_w_finish(&w));
  p->multicast_yet = 1;
  p->last_multicast = now_ns(p);
}

/* The earliest time this node's records may go to the group again. */
static uint64_t next_multicast(const mdns_disc *p) {
  return p->multicast_yet ? p->last_multicast + MDNS_RATE_GAP : 0;
}

/* ---- the responder ------------------------------------------------------------------------ */

static void announce_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__dkit *k = arg;
  mdns_disc *p = k->d.impl;
  akt__dkit_lock(k);
  p->announce_timer = 0;
  if (!k->freed && p->ep && p->announcements_left > 0) {
    /* An announcement holds every record: it answers what is pending. */
    akt__dkit_timer_cancel(k, &p->respond_timer);
    p->respond_ptr = p->respond_rest = 0;
    multicast_records(p, p->ttl, 1, 1);
    if (--p->announcements_left > 0)
      akt__dkit_timer(k, MDNS_ANNOUNCE_GAP, announce_fire, 0, &p->announce_timer);
  }
  akt__dkit_release(k, NULL);
}

static void respond_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__dkit *k = arg;
  mdns_disc *p = k->d.impl;
  akt__dkit_lock(k);
  p->respond_timer = 0;
  if (k->freed || !p->ep || !(p->respond_ptr || p->respond_rest)) {
    p->respond_ptr = p->respond_rest = 0;
  } else if (now_ns(p) < next_multicast(p)) {
    /* An announcement went out meanwhile: wait out the second. */
    akt__dkit_timer(k, next_multicast(p) - now_ns(p), respond_fire, 0, &p->respond_timer);
  } else {
    multicast_records(p, p->ttl, p->respond_ptr, !p->respond_ptr);
    p->respond_ptr = p->respond_rest = 0;
  }
  akt__dkit_release(k, NULL);
}

/* Schedules a multicast answer holding the PTR (`ptr`) or the unique
 * records: after the shared-record delay for the PTR, at once otherwise,
 * and no sooner than a second after the last multicast. */
static void schedule_answer(mdns_disc *p, int ptr) {
  p->respond_ptr |= ptr;
  p->respond_rest = 1;
  if (p->respond_timer) return; /* the answer already scheduled takes these too */
  uint64_t now = now_ns(p);
  akt_duration delay = 0;
  if (ptr) {
    uint64_t span = MDNS_SHARED_DELAY_MAX - MDNS_SHARED_DELAY_MIN + 1;
    delay = MDNS_SHARED_DELAY_MIN + p->k.b->ops->random_u64(p->k.b) % span;
  }
  if (next_multicast(p) > now + delay) delay = next_multicast(p) - now;
  akt__dkit_timer(&p->k, delay, respond_fire, 0, &p->respond_timer);
}

/* A legacy question (RFC 6762 §6.7): a unicast answer to its sender that
 * repeats the questions, with its id, no cache-flush bits, TTLs capped. */
static void answer_legacy(mdns_disc *p, const akt_addr *from, const akt__mdns_msg *m) {
  akt__mdns_record recs[MDNS_OWN_RECORDS];
  uint32_t ttl = p->ttl < MDNS_LEGACY_TTL ? p->ttl : MDNS_LEGACY_TTL;
  size_t n = own_records(p, ttl, 0, recs);
  akt__mdns_writer w;
  akt__mdns_w_init(&w, p->pkt, sizeof p->pkt, m->id, AKT__MDNS_QR | AKT__MDNS_AA);
  for (size_t i = 0; i < m->nq; i++)
    if (akt__mdns_w_question(&w, &m->q[i].name, m->q[i].type, 0)) break;
  for (size_t i = 0; i < n; i++) {
    recs[i].section = AKT__MDNS_ANSWER;
    if (akt__mdns_w_record(&w, &recs[i])) break; /* long questions: what fits */
  }
  send_pkt(p, from, akt__mdns_w_finish(&w));
}

/* 1 if the question's known answers hold our PTR with at least half its
 * TTL left (§7.1). */
static int ptr_known(const mdns_disc *p, const akt__mdns_msg *m) {
  for (size_t i = 0; i < m->nr; i++) {
    const akt__mdns_record *r = &m->r[i];
    if (r->section == AKT__MDNS_ANSWER && r->type == AKT__MDNS_PTR && r->klass == AKT__MDNS_IN &&
        r->ttl >= p->ttl / 2 && akt__mdns_name_eq(&r->name, &p->service) &&
        akt__mdns_name_eq(&r->target, &p->instance))
      return 1;
  }
  return 0;
}

static void on_query(mdns_disc *p, const akt_addr *from, const akt__mdns_msg *m) {
  if (!p->announce) return;
  int ptr = 0, rest = 0;
  for (size_t i = 0; i < m->nq; i++) {
    const akt__mdns_question *q = &m->q[i];
    if (q->klass != AKT__MDNS_IN && q->klass != AKT__MDNS_ANY) continue;
    int any = q->type == AKT__MDNS_ANY;
    if ((any || q->type == AKT__MDNS_PTR) && akt__mdns_name_eq(&q->name, &p->service)) ptr = 1;
    if ((any || q->type == AKT__MDNS_SRV || q->type == AKT__MDNS_TXT) &&
        akt__mdns_name_eq(&q->name, &p->instance))
      rest = 1;
    if (p->has_addr && (any || q->type == p->addr_type) && akt__mdns_name_eq(&q->name, &p->host))
      rest = 1;
  }
  if (!ptr && !rest) return;
  p->k.stats.queries_answered++;
  if (from->port != p->group.port) {
    answer_legacy(p, from, m);
    return;
  }
  if (ptr && ptr_known(p, m)) {
    p->k.stats.answers_suppressed++;
    ptr = 0;
    if (!rest) return;
  }
  schedule_answer(p, ptr);
}

static void on_response(mdns_disc *p, const akt_addr *from, const akt__mdns_msg *m) {
  if (from->port != p->group.port) { /* §6: responses come from the mDNS port */
    p->k.stats.packets_dropped++;
    return;
  }
  akt__mdns_update u =
      akt__mdns_cache_take(&p->cache, m, &p->service, p->announce ? &p->instance : NULL,
                           &p->host, p->port, now_ns(p));
  p->k.stats.cache_evictions += u.evictions;
  if (u.conflict) {
    p->k.stats.conflicts++;
    if (!p->conflict_logged)
      akt__dkit_log(&p->k, AKT_LOG_WARN,
                    "another responder (%s:%u) announces this node's instance name with another "
                    "address: node names must be unique",
                    from->host, (unsigned)from->port);
    p->conflict_logged = 1;
  }
}

static void on_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                    void *data) {
  (void)d;
  mdns_disc *p = data;
  akt__dkit *k = &p->k;
  akt__dkit_lock(k);
  if (k->freed || !p->ep) goto out;
  k->stats.packets_received++;
  if (akt__mdns_parse(buf, len, &p->msg)) {
    k->stats.packets_dropped++;
    goto out;
  }
  if (p->msg.flags & AKT__MDNS_QR)
    on_response(p, from, &p->msg);
  else
    on_query(p, from, &p->msg);
out:
  akt__dkit_unlock(k);
}

/* ---- the querier ---------------------------------------------------------------------------- */

/* Multicasts the question for S's PTR records with the known answers
 * that fit. */
static void send_query(mdns_disc *p) {
  akt__mdns_writer w;
  akt__mdns_w_init(&w, p->pkt, sizeof p->pkt, 0, 0);
  AKT_ASSERT(akt__mdns_w_question(&w, &p->service, AKT__MDNS_PTR, 0) == 0);
  uint64_t now = now_ns(p);
  for (size_t i = 0; i < p->cache.ninst; i++) {
    const akt__mdns_inst *e = &p->cache.inst[i];
    if (e->ptr_expires <= now) continue;
    uint64_t left = (e->ptr_expires - now) / NS_PER_S;
    if (2 * left <= e->ptr_ttl) continue; /* half gone: let it be answered again */
    akt__mdns_record r;
    memset(&r, 0, sizeof r);
    r.section = AKT__MDNS_ANSWER;
    r.name = p->service;
    r.type = AKT__MDNS_PTR;
    r.klass = AKT__MDNS_IN;
    r.ttl = (uint32_t)left;
    r.target = e->name;
    if (akt__mdns_w_record(&w, &r)) break; /* the rest will be answered: more traffic, no harm */
  }
  send_pkt(p, &p->group, akt__mdns_w_finish(&w));
}

/* The window closed: answer from the cache. */
static void window_fire(void *arg, uint64_t gen) {
  akt__dkit *k = arg;
  mdns_disc *p = k->d.impl;
  akt__dkit_answer ans = {0};
  akt__dkit_lock(k);
  if (k->gen == gen) p->window_timer = 0;
  if (akt__dkit_current(k, gen)) {
    uint64_t now = now_ns(p);
    akt__mdns_cache_expire(&p->cache, now);
    for (size_t i = 0; i < p->cache.ninst; i++) {
      const akt__mdns_inst *e = &p->cache.inst[i];
      if (!akt__mdns_inst_alive(e, now) || !e->port) continue;
      const akt__mdns_host *h = akt__mdns_cache_host(&p->cache, &e->target);
      if (h && h->n) {
        for (size_t a = 0; a < h->n; a++) akt__dkit_add(k, h->addrs[a].ip, e->port);
        continue;
      }
      char host[AKT_HOST_MAX];
      if (akt__mdns_name_host(&e->target, host, sizeof host)) {
        k->stats.records_skipped++; /* a target no resolver could take */
        continue;
      }
      akt__dkit_resolve(k, host, e->port);
    }
    akt__dkit_seal(k, &ans);
  }
  akt__dkit_release(k, &ans);
}

/* Opens the group endpoint and starts announcing. */
static int open_endpoint(mdns_disc *p, akt_backend *b) {
  if (!b->ops->dgram_open_group) return AKT_ENOTSUP;
  int rc = b->ops->dgram_open_group(b, &p->group, p->iface[0] ? p->iface : NULL, on_recv, p,
                                    &p->ep);
  if (rc) {
    p->ep = NULL;
    akt__dkit_log(&p->k, AKT_LOG_WARN, "cannot join %s port %u: %s", p->group.host,
                  (unsigned)p->group.port, akt_strerror(rc));
    return rc;
  }
  if (p->announce) {
    p->announcements_left = MDNS_ANNOUNCEMENTS;
    akt__dkit_timer(&p->k, 0, announce_fire, 0, &p->announce_timer);
  }
  return 0;
}

static int lookup(akt_discovery *d, akt_backend *b, akt_discovery_fn cb, void *arg) {
  mdns_disc *p = d->impl;
  akt__dkit *k = &p->k;
  akt__dkit_lock(k);
  int rc = akt__dkit_begin(k, b, cb, arg);
  if (!rc && !p->ep) rc = open_endpoint(p, b);
  if (!rc) rc = akt__dkit_timer(k, p->window, window_fire, k->gen, &p->window_timer);
  if (rc) {
    akt__dkit_abort(k);
  } else {
    send_query(p);
  }
  akt__dkit_unlock(k);
  return rc;
}

/* Cancels the provider's own timers (not the endpoint). */
static void timers_cancel(mdns_disc *p) {
  akt__dkit_timer_cancel(&p->k, &p->window_timer);
  akt__dkit_timer_cancel(&p->k, &p->announce_timer);
  akt__dkit_timer_cancel(&p->k, &p->respond_timer);
  p->respond_ptr = p->respond_rest = 0;
  p->announcements_left = 0;
}

static void stop(akt_discovery *d, akt_backend *b) {
  mdns_disc *p = d->impl;
  akt__dkit *k = &p->k;
  akt__dkit_lock(k);
  akt__dkit_abort(k);
  if (k->b) timers_cancel(p);
  akt_dgram *ep = p->ep;
  if (ep && p->announce) multicast_records(p, 0, 1, 1); /* goodbye */
  p->ep = NULL; /* on_recv, from here on, finds no endpoint and drops */
  akt__dkit_unlock(k);
  /* dgram_close waits for an on_recv that is running, and on_recv takes
   * the provider's lock: closing under it deadlocks with a datagram that
   * arrives as the provider stops (the loop thread waits for the lock,
   * this thread for the loop). */
  if (ep) b->ops->dgram_close(b, ep);
}

static void destroy(akt__dkit *k) {
  mdns_disc *p = k->d.impl;
  akt__mdns_cache_free(&p->cache);
  akt__dkit_fini(k);
  free(p);
}

static void mdns_free(akt_discovery *d) {
  mdns_disc *p = d->impl;
  akt__dkit *k = &p->k;
  akt__dkit_lock(k);
  akt__dkit_abort(k);
  if (k->b) {
    timers_cancel(p);
    /* An open endpoint here means a crashed simulated node: the simulator
     * took it. Anywhere else stop must have closed it. */
    AKT_ASSERT(!p->ep || (k->b->flags & AKT_BACKEND_SIMULATED));
  }
  p->ep = NULL;
  akt__dkit_unlock(k);
  akt__dkit_op_free(d);
}

static const akt_discovery_ops mdns_ops = {
    .name = "mdns",
    .lookup = lookup,
    .cancel = akt__dkit_op_cancel,
    .free = mdns_free,
    .stop = stop,
    .stats = akt__dkit_op_stats,
};

/* ---- creation -------------------------------------------------------------------------------- */

/* "_name._udp" or "_name._tcp" (RFC 6763 §7): S = it + ".local". */
static int service_name(const char *service, akt__mdns_name *out) {
  size_t len = strnlen(service, AKT_MDNS_SERVICE_MAX);
  const char *dot = strchr(service, '.');
  if (len == AKT_MDNS_SERVICE_MAX || service[0] != '_' || !dot || dot == service + 1 ||
      (strcmp(dot, "._udp") && strcmp(dot, "._tcp")))
    return AKT_EINVAL;
  char text[AKT_MDNS_SERVICE_MAX + 8];
  snprintf(text, sizeof text, "%s.local", service);
  return akt__mdns_name_from_text(out, text);
}

/* Sets up the records of this node's instance. */
static int own_instance(mdns_disc *p, const akt_mdns_discovery_options *o) {
  size_t len = strnlen(o->instance, AKT_MDNS_INSTANCE_MAX);
  if (len == AKT_MDNS_INSTANCE_MAX || len > AKT__MDNS_LABEL_MAX || strchr(o->instance, '.'))
    return AKT_EINVAL;
  const char *h = o->self.host;
  size_t hl = strnlen(h, AKT_HOST_MAX);
  if (hl == 0 || hl == AKT_HOST_MAX || !o->self.port || !strcmp(h, "0.0.0.0") || !strcmp(h, "::"))
    return AKT_EINVAL;
  if (akt__mdns_name_join(&p->instance, o->instance, &p->service)) return AKT_EINVAL;
  char host[AKT_HOST_MAX + 8];
  if (inet_pton(AF_INET, h, p->addr) == 1) {
    p->has_addr = 1;
    p->addr_type = AKT__MDNS_A;
  } else if (inet_pton(AF_INET6, h, p->addr) == 1) {
    p->has_addr = 1;
    p->addr_type = AKT__MDNS_AAAA;
  }
  snprintf(host, sizeof host, "%s.local", p->has_addr ? o->instance : h);
  if (akt__mdns_name_from_text(&p->host, host)) return AKT_EINVAL;
  p->port = o->self.port;
  p->announce = 1;
  /* Everything this node multicasts must fit one packet. */
  akt__mdns_record recs[MDNS_OWN_RECORDS];
  size_t n = own_records(p, p->ttl, 1, recs);
  akt__mdns_writer w;
  akt__mdns_w_init(&w, p->pkt, sizeof p->pkt, 0, 0);
  for (size_t i = 0; i < n; i++) {
    recs[i].section = AKT__MDNS_ANSWER;
    if (akt__mdns_w_record(&w, &recs[i])) return AKT_EINVAL;
  }
  return 0;
}

int akt_discovery_mdns_new(const akt_mdns_discovery_options *o, akt_discovery **out) {
  if (!o || !out) return AKT_EINVAL;
  akt_duration window = o->window ? o->window : AKT_MDNS_DEFAULT_WINDOW;
  akt_duration timeout = o->timeout ? o->timeout : AKT_DISCOVERY_DEFAULT_TIMEOUT;
  akt_duration ttl = o->ttl ? o->ttl : AKT_MDNS_DEFAULT_TTL;
  const char *group = o->group ? o->group : AKT_MDNS_DEFAULT_GROUP;
  if (window >= timeout || ttl < AKT_SECONDS(1) || ttl / NS_PER_S > AKT__MDNS_TTL_MAX ||
      strnlen(group, AKT_HOST_MAX) == AKT_HOST_MAX || !group[0] ||
      (o->iface && strnlen(o->iface, AKT_HOST_MAX) == AKT_HOST_MAX))
    return AKT_EINVAL;
  mdns_disc *p = calloc(1, sizeof *p);
  if (!p) return AKT_ENOMEM;
  p->ttl = (uint32_t)(ttl / NS_PER_S);
  p->window = window;
  snprintf(p->group.host, sizeof p->group.host, "%s", group);
  p->group.port = o->port ? o->port : AKT_MDNS_DEFAULT_PORT;
  if (o->iface) snprintf(p->iface, sizeof p->iface, "%s", o->iface);
  int rc = service_name(o->service ? o->service : AKT_MDNS_DEFAULT_SERVICE, &p->service);
  if (!rc && o->instance && o->instance[0]) rc = own_instance(p, o);
  if (!rc) rc = akt__dkit_init(&p->k, "mdns", &mdns_ops, p, timeout, destroy);
  if (rc) {
    free(p);
    return rc;
  }
  *out = &p->k.d;
  return 0;
}
