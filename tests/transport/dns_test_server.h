/* A DNS server on 127.0.0.1 for tests: a thread that answers SRV queries
 * over UDP from a fixed table, so the production backend's SRV lookups
 * (libresolv) run against real packets without touching the network.
 * Answers are built with akt's mDNS codec (the same wire format). */
#ifndef AKT_TESTS_TRANSPORT_DNS_TEST_SERVER_H
#define AKT_TESTS_TRANSPORT_DNS_TEST_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/cluster/mdns_codec.h"

#define DTS_MAX_RECORDS 8
#define DTS_RCODE_NXDOMAIN 3
#define DTS_RCODE_SERVFAIL 2

typedef struct dts_entry {
  const char *name;      /* the question's name */
  int rcode;             /* 0: answer the records */
  size_t n;
  struct {
    const char *target;  /* "." for RFC 2782's "not here" */
    uint16_t port, priority, weight;
  } recs[DTS_MAX_RECORDS];
} dts_entry;

typedef struct dts {
  int fd;
  uint16_t port;
  pthread_t thread;
  atomic_int stop;
  atomic_int queries;
  const dts_entry *table;
  size_t ntable;
  akt__mdns_msg msg; /* the query being read (server thread) */
} dts;

static void dts_answer(dts *s, const uint8_t *q, size_t qlen, const struct sockaddr_in *to) {
  akt__mdns_msg *mp = &s->msg;
  if (akt__mdns_parse(q, qlen, mp) != 0 || mp->nq != 1) return;
  atomic_fetch_add(&s->queries, 1);
  const dts_entry *e = NULL;
  for (size_t i = 0; i < s->ntable && !e; i++) {
    akt__mdns_name n;
    if (akt__mdns_name_from_text(&n, s->table[i].name) == 0 && akt__mdns_name_eq(&n, &mp->q[0].name))
      e = &s->table[i];
  }
  int rcode = e ? e->rcode : DTS_RCODE_NXDOMAIN;
  uint8_t out[1500];
  akt__mdns_writer w;
  /* QR, AA, RD, RA, and the rcode. */
  akt__mdns_w_init(&w, out, sizeof out, mp->id, (uint16_t)(0x8580u | (unsigned)rcode));
  akt__mdns_w_question(&w, &mp->q[0].name, mp->q[0].type, 0);
  for (size_t i = 0; e && !rcode && i < e->n; i++) {
    akt__mdns_record r;
    memset(&r, 0, sizeof r);
    r.section = AKT__MDNS_ANSWER;
    r.name = mp->q[0].name;
    r.type = AKT__MDNS_SRV;
    r.klass = AKT__MDNS_IN;
    r.ttl = 30;
    r.port = e->recs[i].port;
    r.priority = e->recs[i].priority;
    r.weight = e->recs[i].weight;
    if (!strcmp(e->recs[i].target, ".")) {
      r.target.len = 1;
      r.target.b[0] = 0;
    } else {
      akt__mdns_name_from_text(&r.target, e->recs[i].target);
    }
    akt__mdns_w_record(&w, &r);
  }
  size_t len = akt__mdns_w_finish(&w);
  sendto(s->fd, out, len, 0, (const struct sockaddr *)to, sizeof *to);
}

static void *dts_main(void *arg) {
  dts *s = arg;
  uint8_t buf[2048];
  while (!atomic_load(&s->stop)) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    /* A short poll only bounds how long stopping takes. */
    if (poll(&p, 1, 50) <= 0) continue;
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    if (n > 0) dts_answer(s, buf, (size_t)n, &from);
  }
  return NULL;
}

/* Starts the server on 127.0.0.1 and an ephemeral port (s->port). */
static inline void dts_start(dts *s, const dts_entry *table, size_t n) {
  memset(s, 0, sizeof *s);
  s->table = table;
  s->ntable = n;
  s->fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(s->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t alen = sizeof a;
  assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, dts_main, s), 0);
}

static inline void dts_stop(dts *s) {
  atomic_store(&s->stop, 1);
  pthread_join(s->thread, NULL);
  close(s->fd);
}

#endif
