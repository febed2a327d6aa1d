/* Helpers for the transport network tests: a connection that records what
 * its callbacks saw, a listener that records what it accepts, and byte
 * patterns. Callbacks run on the loop thread; the test thread reads the
 * results after an atomic flag or counter says they are complete. */
#ifndef AKT_TESTS_TRANSPORT_UV_TEST_CONN_H
#define AKT_TESTS_TRANSPORT_UV_TEST_CONN_H

#include <pthread.h>
#include <stdlib.h>

#include "uv_test_util.h"

/* ---- a connection's observable side -------------------------------------------- */

typedef struct conn {
  akt_backend *b;
  akt_stream *s;
  int echo;          /* write back what arrives (from the loop thread) */
  int close_on_read; /* stream_close from inside on_read */
  uint8_t *rx;
  size_t rx_cap;
  atomic_long rx_total;
  atomic_int connected, connect_status;
  atomic_int closed, close_reason;
  char order[8]; /* 'c' on_connect, 'x' on_close */
  int norder;
  atomic_int off_loop; /* a callback ran on the test's own thread */
  pthread_t test_thread;
} conn;

static inline void conn_init(conn *c, akt_backend *b) {
  memset(c, 0, sizeof *c);
  c->b = b;
  c->test_thread = pthread_self();
}

static inline void conn_note(conn *c, char ev) {
  if (c->norder < (int)sizeof c->order - 1) c->order[c->norder++] = ev;
  if (pthread_equal(pthread_self(), c->test_thread)) atomic_store(&c->off_loop, 1);
}

static inline void conn_on_connect(akt_stream *s, int status, void *data) {
  (void)s;
  conn *c = data;
  conn_note(c, 'c');
  atomic_store(&c->connect_status, status);
  atomic_store(&c->connected, 1);
  c->b->ops->wake(c->b);
}

static inline void conn_on_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  conn *c = data;
  if (pthread_equal(pthread_self(), c->test_thread)) atomic_store(&c->off_loop, 1);
  size_t have = (size_t)atomic_load(&c->rx_total);
  if (have + len > c->rx_cap) {
    size_t cap = c->rx_cap ? c->rx_cap : 4096;
    while (cap < have + len) cap *= 2;
    uint8_t *nb = realloc(c->rx, cap);
    if (nb == NULL) abort();
    c->rx = nb;
    c->rx_cap = cap;
  }
  memcpy(c->rx + have, buf, len);
  if (c->echo && c->b->ops->stream_write(c->b, s, buf, len) != 0) abort();
  if (c->close_on_read) c->b->ops->stream_close(c->b, s);
  atomic_fetch_add(&c->rx_total, (long)len);
  c->b->ops->wake(c->b);
}

static inline void conn_on_close(akt_stream *s, int reason, void *data) {
  (void)s;
  conn *c = data;
  conn_note(c, 'x');
  atomic_store(&c->close_reason, reason);
  atomic_store(&c->closed, 1);
  c->b->ops->wake(c->b);
}

static const akt_stream_cbs conn_cbs = {conn_on_connect, conn_on_read, conn_on_close};

typedef struct rx_goal {
  conn *c;
  long want;
} rx_goal;

static inline int rx_reached(void *arg) {
  rx_goal *g = arg;
  return atomic_load(&g->c->rx_total) >= g->want || atomic_load(&g->c->closed);
}

/* Waits until `c` has received `want` bytes (or closed, which fails). */
static inline void conn_wait_rx(conn *c, size_t want) {
  rx_goal g = {c, (long)want};
  assert_int_equal(c->b->ops->wait(c->b, rx_reached, &g, test_deadline(c->b, TEST_PATIENCE)), 0);
  assert_int_equal(atomic_load(&c->rx_total), (long)want);
}

static inline void conn_free(conn *c) { free(c->rx); }

/* ---- a listener that records what it accepts ----------------------------------- */

#define SERVER_MAX 16

typedef struct server {
  akt_backend *b;
  akt_listener *l;
  akt_addr addr;
  int start; /* stream_start accepted streams (else leave them unread) */
  int echo;
  int close_on_read;
  conn conns[SERVER_MAX];
  atomic_int accepted;
} server;

static inline void server_on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  server *sv = data;
  int i = atomic_load(&sv->accepted);
  if (i >= SERVER_MAX) abort();
  conn *c = &sv->conns[i];
  c->s = s;
  c->echo = sv->echo;
  c->close_on_read = sv->close_on_read;
  if (sv->start && sv->b->ops->stream_start(sv->b, s, &conn_cbs, c) != 0) abort();
  atomic_store(&sv->accepted, i + 1);
  sv->b->ops->wake(sv->b);
}

static inline void server_open(server *sv, akt_backend *b, int start, int echo) {
  memset(sv, 0, sizeof *sv);
  sv->b = b;
  sv->start = start;
  sv->echo = echo;
  for (int i = 0; i < SERVER_MAX; i++) conn_init(&sv->conns[i], b);
  akt_addr a = {.host = "127.0.0.1", .port = 0};
  assert_int_equal(b->ops->listen(b, &a, server_on_accept, sv, &sv->l), 0);
  assert_int_equal(b->ops->listener_addr(b, sv->l, &sv->addr), 0);
  assert_string_equal(sv->addr.host, "127.0.0.1");
  assert_true(sv->addr.port != 0);
}

static inline int server_has(void *arg) {
  server *sv = arg;
  return atomic_load(&sv->accepted) >= 1;
}

static inline void server_free(server *sv) {
  for (int i = 0; i < SERVER_MAX; i++) conn_free(&sv->conns[i]);
}

static inline void fill_pattern(uint8_t *buf, size_t len, uint64_t seed) {
  for (size_t i = 0; i < len; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    buf[i] = (uint8_t)seed;
  }
}

/* Writes `len` bytes in chunks of varying size. Returns the first error. */
static inline int write_chunked(akt_backend *b, akt_stream *s, const uint8_t *buf, size_t len) {
  size_t off = 0, step = 1;
  while (off < len) {
    size_t n = step % 4093 + 1;
    if (n > len - off) n = len - off;
    int rc = b->ops->stream_write(b, s, buf + off, n);
    if (rc != 0) return rc;
    off += n;
    step = step * 7 + 3;
  }
  return 0;
}

/* A ready() that never is: wait() then just sleeps until its deadline. */
static inline int never(void *arg) {
  (void)arg;
  return 0;
}

#endif
