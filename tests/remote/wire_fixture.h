/* The wire suites' node (test_wire.c, test_wire_fastpath.c): one node
 * with remoting on the simulator whose connections the tests feed by hand
 * (the same path bytes from a socket take), inbound connections from a
 * peer that proved the cookie, Batch frames of envelopes, and the check
 * that the node still serves another peer after a bad one. */
#ifndef AKT_TESTS_REMOTE_WIRE_FIXTURE_H
#define AKT_TESTS_REMOTE_WIRE_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "../support/both.h"
#include "akt/remote.h"
#include "akt/wire.pb-c.h"
#include "src/remote/remote.h"
#include "test.pb-c.h"

/* One simulated node with remoting (node0) and a probe on it. */
typedef struct fixture {
  akt_testkit *tk;
  akt_system *sys;
  akt__remote *r;
  akt_probe *p;
} fixture;

#define COOKIE "wire-cookie-not-secret"
#define PEER "akt://peer@elsewhere:1"

/* A node whose frames may be up to max_frame bytes. */
static inline void up_frame(fixture *f, size_t max_frame) {
  f->tk = akt_testkit_new(NULL);
  f->sys = akt_testkit_system(f->tk);
  akt_remote_options o = {.port = 2552, .max_batch = 4, .max_name = 64, .max_frame = max_frame,
                          .security.cookie = COOKIE};
  assert_int_equal(akt_remote_start(f->sys, &o), 0);
  assert_int_equal(akt_system_register_type(f->sys, &note__descriptor), 0);
  f->r = akt__remote_of(f->sys);
  f->p = akt_probe_new(f->tk, "p");
}

/* The node's remoting counters now. */
static inline akt_remote_stats stats(fixture *f) {
  akt_remote_stats st;
  akt_remote_get_stats(f->sys, &st);
  return st;
}

/* A node whose frames may be up to 4096 bytes. */
static inline void up(fixture *f) { up_frame(f, 4096); }

/* Encodes a frame with a length prefix. */
static inline void encode(const Akt__Wire__Frame *fr, akt__buf *out) {
  assert_int_equal(akt__frame_encode(fr, AKT_REMOTE_DEFAULT_MAX_FRAME, out), 0);
}

/* An inbound connection whose peer (PEER) proved the cookie: each a newer
 * one than the last (a connection number equal to one accepted before is
 * refused as stale). */
static inline akt__conn *open_conn(fixture *f, akt__buf *capture) {
  static uint64_t seq;
  capture->len = 0; /* what earlier connections wrote */
  akt__conn *c = akt__conn_detached(f->r, NULL, capture);
  assert_non_null(c);
  assert_int_equal(akt__conn_detached_handshake(c, PEER, 7, ++seq, NULL), 0);
  assert_true(akt__conn_is_open(c));
  capture->len = 0;
  return c;
}

/* A batch frame of `n` envelopes of type `type` for `target` from `sender`,
 * with `plen` bytes of payload. */
static inline void envelopes(akt__buf *out, size_t n, const char *target, const char *sender,
                             const char *type, const uint8_t *payload, size_t plen) {
  Akt__Wire__Envelope e = AKT__WIRE__ENVELOPE__INIT;
  e.target = (char *)target;
  e.sender = (char *)sender;
  e.type = (char *)type;
  e.payload.data = (uint8_t *)payload;
  e.payload.len = plen;
  Akt__Wire__Envelope *list[16];
  for (size_t i = 0; i < n; i++) list[i] = &e;
  Akt__Wire__Batch b = AKT__WIRE__BATCH__INIT;
  b.n_envelopes = n;
  b.envelopes = list;
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  f.kind_case = AKT__WIRE__FRAME__KIND_BATCH;
  f.batch = &b;
  encode(&f, out);
}

/* A batch of `n` Note envelopes of type `type` for `target`. */
static inline void batch(akt__buf *out, size_t n, const char *target, const char *type,
                         const char *text) {
  Note note = NOTE__INIT;
  note.text = (char *)text;
  uint8_t payload[256];
  size_t plen = note__pack(&note, payload);
  envelopes(out, n, target, "", type, payload, plen);
}

/* The good peer still gets through: a Note to the probe arrives. */
static inline void serves_another_peer(fixture *f) {
  akt__buf cap = {0}, b = {0};
  akt__conn *good = open_conn(f, &cap);
  batch(&b, 1, akt_pid_path(akt_probe_pid(f->p)), "Note", "still here");
  assert_int_equal(akt__conn_feed(good, b.data, b.len), 0);
  const Note *n = (const Note *)akt_probe_expect_msg(f->p, &note__descriptor, 0);
  assert_string_equal(n->text, "still here");
  akt__conn_detached_free(good);
  akt__buf_free(&cap);
  akt__buf_free(&b);
}

#endif
