/* Malformed input from a peer: each kind of bad input closes that one
 * connection with the right reason and counter, and the node goes on
 * serving another peer. Connections are fed by hand (the same path bytes
 * from a socket take), on the simulator (wire_fixture.h). The receiver's
 * fast path and the sender's hand packing are test_wire_fastpath.c's. */
#include <stdio.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/events.h"
#include "src/remote/auth.h"
#include "nested.h"
#include "wire_fixture.h"

/* A peer's side of the cookie exchange, set up as `cfg` says on top of a
 * good configuration (a peer called `peer` at PEER, who knows COOKIE). */
typedef struct peer_side {
  akt__auth a;
  akt__auth_config cfg;
  uint8_t random[32];
} peer_side;

static void peer_init(peer_side *p, const char *cookie, uint32_t version, const char *to_system) {
  memset(p->random, 0x42, sizeof p->random);
  p->cfg = (akt__auth_config){.role = AKT__AUTH_INITIATOR,
                              .cookie = (const uint8_t *)cookie,
                              .cookie_len = strlen(cookie),
                              .channel = "remoting",
                              .version = version,
                              .system = "peer",
                              .address = PEER,
                              .incarnation = 7,
                              .expect_system = to_system,
                              .conn_seq = 1,
                              .random = p->random,
                              .random_len = sizeof p->random};
  assert_int_equal(akt__auth_init(&p->a, &p->cfg), 0);
}

/* Plays the exchange against c until it ends; returns what c's feed said
 * last (0 when the exchange completed). */
static int exchange(peer_side *p, akt__conn *c, akt__buf *cap) {
  int rc = 0;
  for (int round = 0; round < 4 && rc == 0 && !akt__conn_is_open(c); round++) {
    size_t n;
    const uint8_t *out = akt__auth_take_output(&p->a, &n);
    if (!out) break;
    rc = akt__conn_feed(c, out, n);
    if (cap->len) akt__auth_feed(&p->a, cap->data, cap->len, NULL);
    cap->len = 0;
  }
  return rc;
}
static void a_truncated_frame_waits_for_the_rest(void **state) {
  (void)state;
  fixture f;
  up(&f);
  /* The peer's whole side of the exchange, recorded once... */
  akt__buf cap = {0}, hs = {0};
  akt__conn *c = akt__conn_detached(f.r, NULL, &cap);
  assert_int_equal(akt__conn_detached_handshake(c, PEER, 7, 1000, &hs), 0);
  akt__conn_detached_free(c);
  /* ... and what node0 answers, fed one byte at a time to a connection
   * whose node0 nonce differs: it reads every byte, refuses only at the
   * proof, and never waits for more than the frame it is in. */
  cap.len = 0;
  c = akt__conn_detached(f.r, NULL, &cap);
  size_t i = 0;
  int rc = 0;
  for (; i < hs.len && rc == 0; i++) rc = akt__conn_feed(c, hs.data + i, 1);
  assert_int_equal(rc, AKT_EREFUSED);
  assert_int_equal(i, hs.len); /* refused at the proof's last byte */
  assert_false(akt__conn_is_open(c));
  akt__conn_detached_free(c);
  akt__buf_free(&hs);
  akt__buf_free(&cap);
  assert_int_equal(stats(&f).protocol_errors, 0);
  assert_int_equal(stats(&f).security.auth_failures, 1);
  akt_testkit_free(f.tk);
}

static void an_oversize_length_closes_before_allocating(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__conn *c = akt__conn_detached(f.r, NULL, NULL);
  const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
  assert_int_equal(akt__conn_feed(c, huge, sizeof huge), AKT_ELIMIT);
  assert_false(akt__conn_is_open(c));
  assert_int_equal(stats(&f).limit_errors, 1);
  assert_int_equal(stats(&f).security.pre_auth_oversize, 1);
  akt__conn_detached_free(c);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

static void garbage_is_a_protocol_error(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__conn *c = akt__conn_detached(f.r, NULL, NULL);
  const uint8_t junk[] = {0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_int_equal(akt__conn_feed(c, junk, sizeof junk), AKT_EPROTO);
  assert_int_equal(stats(&f).protocol_errors, 1);
  akt__conn_detached_free(c);
  /* A well-formed frame of an open connection, first: refused too. */
  akt__buf b = {0};
  batch(&b, 1, "/user/x", "Note", "too early");
  c = akt__conn_detached(f.r, NULL, NULL);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_EPROTO);
  assert_int_equal(stats(&f).protocol_errors, 2);
  akt__conn_detached_free(c);
  akt__buf_free(&b);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

/* Plays a peer set up as given and checks what node0 refused it with:
 * the Result the peer was sent, and the peer's own reading of it. */
static void expect_refusal(fixture *f, const char *cookie, uint32_t version, const char *system,
                           const char *reason) {
  akt__buf cap = {0};
  peer_side *p = calloc(1, sizeof *p);
  assert_non_null(p);
  peer_init(p, cookie, version, system);
  akt__conn *c = akt__conn_detached(f->r, NULL, &cap);
  assert_int_equal(exchange(p, c, &cap), AKT_EREFUSED);
  assert_false(akt__conn_is_open(c));
  assert_int_equal(akt__auth_get_state(&p->a), AKT__AUTH_FAILED);
  char want[160];
  snprintf(want, sizeof want, "refused by the peer: %s", reason);
  assert_string_equal(akt__auth_error(&p->a), want);
  akt__conn_detached_free(c);
  akt__auth_clear(&p->a);
  free(p);
  akt__buf_free(&cap);
}

static void wrong_cookie_version_or_system_are_refused(void **state) {
  (void)state;
  fixture f;
  up(&f);
  expect_refusal(&f, "a-guess-of-16-bytes", AKT_REMOTE_PROTOCOL_VERSION, "node0",
                 "authentication failed");
  expect_refusal(&f, COOKIE, 99, "node0", "unsupported protocol version");
  expect_refusal(&f, COOKIE, AKT_REMOTE_PROTOCOL_VERSION, "another", "wrong system name");
  assert_int_equal(stats(&f).handshakes_refused, 3);
  assert_int_equal(stats(&f).security.auth_failures, 1);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

static void an_unknown_type_is_a_dead_letter_not_an_error(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt_system_stats before, after;
  akt_system_get_stats(f.sys, &before);
  akt__buf cap = {0}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  batch(&b, 1, akt_pid_path(akt_probe_pid(f.p)), "no.such.Type", "x");
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  assert_true(akt__conn_is_open(c));
  akt_system_get_stats(f.sys, &after);
  assert_int_equal(after.dead_letters, before.dead_letters + 1);
  assert_int_equal(stats(&f).unknown_types, 1);
  /* A known type to a path nobody holds: a dead letter too. */
  akt__buf b2 = {0};
  batch(&b2, 1, "/user/nobody", "Note", "x");
  assert_int_equal(akt__conn_feed(c, b2.data, b2.len), 0);
  akt_testkit_run_until_idle(f.tk);
  akt_system_get_stats(f.sys, &after);
  assert_int_equal(after.dead_letters, before.dead_letters + 2);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&b);
  akt__buf_free(&b2);
  akt_testkit_free(f.tk);
}

/* The DeadLetter the probe hears next (subscribed to akt.deadletter). */
static const Akt__DeadLetter *next_dead_letter(fixture *f) {
  return (const Akt__DeadLetter *)akt_probe_expect_msg(f->p, &akt__dead_letter__descriptor,
                                                        AKT_SECONDS(1));
}

static void an_undeliverable_envelope_is_published_as_a_dead_letter(void **state) {
  (void)state;
  fixture f;
  up(&f);
  assert_int_equal(akt_subscribe(akt_probe_pid(f.p), AKT_TOPIC_DEAD_LETTER), 0);
  akt__buf cap = {0}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  const char *from = "akt://peer@elsewhere:1/user/sender";
  /* A type this node does not know: its bytes are published as they came. */
  const uint8_t opaque[] = {0x08, 0x2a};
  envelopes(&b, 1, "/user/somebody", from, "no.such.Type", opaque, sizeof opaque);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  const Akt__DeadLetter *d = next_dead_letter(&f);
  assert_string_equal(d->type, "no.such.Type");
  assert_string_equal(d->target, "/user/somebody");
  assert_string_equal(d->sender, "/user/sender");
  assert_string_equal(d->reason, "unknown type no.such.Type");
  assert_int_equal(d->payload.len, sizeof opaque);
  assert_memory_equal(d->payload.data, opaque, sizeof opaque);
  akt__buf_free(&b);
  /* A known type whose payload does not decode as it. */
  const uint8_t garbage[] = {0x0a, 0x7f, 0x01};
  envelopes(&b, 1, "/user/somebody", from, "Note", garbage, sizeof garbage);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  d = next_dead_letter(&f);
  assert_string_equal(d->type, "Note");
  assert_string_equal(d->reason, "payload does not decode as its type");
  assert_int_equal(d->payload.len, sizeof garbage);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&b);
  akt_testkit_free(f.tk);
}

static void limits_on_batches_and_names(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__buf cap = {0}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  batch(&b, 5, "/user/x", "Note", "x"); /* max_batch is 4 */
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_ELIMIT);
  akt__conn_detached_free(c);
  akt__buf_free(&b);
  char long_path[200];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[0] = '/';
  long_path[sizeof long_path - 1] = '\0';
  c = open_conn(&f, &cap);
  batch(&b, 1, long_path, "Note", "x"); /* max_name is 64 */
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_ELIMIT);
  akt__conn_detached_free(c);
  akt__buf_free(&b);
  /* A frame over max_frame (4096) is refused by its length alone. */
  c = open_conn(&f, &cap);
  const uint8_t big[] = {0, 0, 0x20, 0x00}; /* 8192 */
  assert_int_equal(akt__conn_feed(c, big, sizeof big), AKT_ELIMIT);
  akt__conn_detached_free(c);
  assert_int_equal(stats(&f).limit_errors, 3);
  akt__buf_free(&cap);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

static void a_close_frame_closes(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__buf cap = {0}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  Akt__Wire__Close cl = AKT__WIRE__CLOSE__INIT;
  cl.reason = "bye";
  Akt__Wire__Frame fr = AKT__WIRE__FRAME__INIT;
  fr.kind_case = AKT__WIRE__FRAME__KIND_CLOSE;
  fr.close = &cl;
  encode(&fr, &b);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_ECLOSED);
  assert_false(akt__conn_is_open(c));
  assert_int_equal(stats(&f).protocol_errors, 0);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&b);
  akt_testkit_free(f.tk);
}

typedef struct seen_frames {
  int frames;
  size_t bytes;
  char text[32];
} seen_frames;

static int count_frame(void *arg, const uint8_t *data, size_t len) {
  seen_frames *s = arg;
  s->frames++;
  s->bytes += len;
  size_t used = strlen(s->text);
  if (len && used + len + 2 < sizeof s->text) memcpy(s->text + used, data, len);
  strcat(s->text, "|");
  return 0;
}

static void the_framer_splits_any_way(void **state) {
  (void)state;
  /* Three frames ("hi", empty, "abc") fed in every two-piece split. */
  const uint8_t stream[] = {0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
  for (size_t cut = 0; cut <= sizeof stream; cut++) {
    akt__framer fr = {.max = 16};
    seen_frames s = {0};
    assert_int_equal(akt__framer_feed(&fr, stream, cut, count_frame, &s), 0);
    assert_int_equal(akt__framer_feed(&fr, stream + cut, sizeof stream - cut, count_frame, &s), 0);
    assert_int_equal(s.frames, 3);
    assert_int_equal(s.bytes, 5);
    assert_string_equal(s.text, "hi||abc|");
    akt__framer_free(&fr);
  }
  /* A length over the limit is refused even before its bytes come. */
  akt__framer fr = {.max = 16};
  const uint8_t over[] = {0, 0, 0, 17};
  assert_int_equal(akt__framer_feed(&fr, over, 2, count_frame, NULL), 0);
  assert_int_equal(akt__framer_feed(&fr, over + 2, 2, count_frame, NULL), AKT_ELIMIT);
  assert_true(fr.in.cap <= 256); /* nothing was set aside for 17 bytes' worth */
  akt__framer_free(&fr);
}
/* Decoding stays within k bytes per byte received (k =
 * limits.memory_per_byte, 8): a control frame of tiny unknown fields
 * (protobuf-c keeps each, ~16 times its size) closes the connection; a
 * payload that would unpack into more (empty strings: 2 bytes each on the
 * wire, a pointer and an allocation unpacked) is a dead letter. */
static void decoding_stays_within_the_memory_bound(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__buf cap = {0}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  /* A Heartbeat frame (field 4) of 2000 two-byte unknown fields. */
  akt__buf hb = {0};
  for (int i = 0; i < 2000; i++) {
    const uint8_t unknown[2] = {15 << 3, 1};
    akt__buf_put(&hb, unknown, 2);
  }
  akt__buf frame = {0};
  akt__buf_varint(&frame, (4 << 3) | 2);
  akt__buf_varint(&frame, hb.len);
  akt__buf_put(&frame, hb.data, hb.len);
  uint8_t prefix[4] = {0, 0, (uint8_t)(frame.len >> 8), (uint8_t)frame.len};
  akt__buf_put(&b, prefix, 4);
  akt__buf_put(&b, frame.data, frame.len);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_ELIMIT);
  assert_int_equal(stats(&f).security.memory_bound_refusals, 1);
  akt__conn_detached_free(c);
  /* A payload of 1000 empty strings to the probe: refused, the connection
   * goes on. A payload of one is delivered. */
  assert_int_equal(akt_subscribe(akt_probe_pid(f.p), AKT_TOPIC_DEAD_LETTER), 0);
  assert_int_equal(akt_system_register_type(f.sys, &akt__routees__descriptor), 0);
  c = open_conn(&f, &cap);
  char *paths[1000];
  for (int i = 0; i < 1000; i++) paths[i] = "";
  Akt__Routees r = AKT__ROUTEES__INIT;
  r.n_paths = 1000;
  r.paths = paths;
  uint8_t payload[4096];
  size_t plen = akt__routees__pack(&r, payload);
  b.len = 0;
  envelopes(&b, 1, akt_pid_path(akt_probe_pid(f.p)), PEER "/user/s", "akt.Routees", payload, plen);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  const Akt__DeadLetter *d = (const Akt__DeadLetter *)akt_probe_expect_msg(
      f.p, &akt__dead_letter__descriptor, AKT_SECONDS(1));
  assert_non_null(strstr(d->reason, "memory bound"));
  assert_int_equal(stats(&f).security.memory_bound_refusals, 2);
  r.n_paths = 1;
  plen = akt__routees__pack(&r, payload);
  b.len = 0;
  envelopes(&b, 1, akt_pid_path(akt_probe_pid(f.p)), PEER "/user/s", "akt.Routees", payload, plen);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  akt_probe_expect_msg(f.p, &akt__routees__descriptor, AKT_SECONDS(1));
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&b);
  akt__buf_free(&hb);
  akt__buf_free(&frame);
  akt_testkit_free(f.tk);
}

/* protobuf-c unpacks a payload by recursion, a stack frame per level: a
 * payload nested a million levels deep (3.9 MiB, within max_frame and the
 * memory bound) ran the node's thread off the end of its stack (SIGSEGV)
 * before anything refused it. It is measured first: what nests deeper
 * than AKT_MSG_MAX_DEPTH (the limit a send's copy has) is refused and
 * counted, unread past that level, and the connection goes on; a payload
 * at the limit is delivered. */
static void a_payload_nested_deeper_than_the_limit_is_refused_before_decoding(void **state) {
  (void)state;
  fixture f;
  up_frame(&f, 8u << 20);
  assert_int_equal(akt_system_register_type(f.sys, &inner__descriptor), 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(f.p), AKT_TOPIC_DEAD_LETTER), 0);
  const char *to = akt_pid_path(akt_probe_pid(f.p));
  akt__buf cap = {0}, b = {0}, payload = {0};
  akt__conn *c = open_conn(&f, &cap);
  const size_t depths[] = {1000000, AKT_MSG_MAX_DEPTH + 1};
  for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
    nested_inner(&payload, depths[i]);
    b.len = 0;
    envelopes(&b, 1, to, PEER "/user/s", "Inner", payload.data, payload.len);
    akt__buf_free(&payload);
    assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
    const Akt__DeadLetter *d = (const Akt__DeadLetter *)akt_probe_expect_msg(
        f.p, &akt__dead_letter__descriptor, AKT_SECONDS(1));
    assert_non_null(strstr(d->reason, "deeper than AKT_MSG_MAX_DEPTH"));
    assert_int_equal(stats(&f).security.depth_refusals, i + 1);
  }
  /* At the limit: delivered, all of it. */
  nested_inner(&payload, AKT_MSG_MAX_DEPTH);
  b.len = 0;
  envelopes(&b, 1, to, PEER "/user/s", "Inner", payload.data, payload.len);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  const Inner *m = (const Inner *)akt_probe_expect_msg(f.p, &inner__descriptor, AKT_SECONDS(1));
  size_t levels = 0;
  for (; m->next; m = m->next) levels++;
  assert_int_equal(levels, AKT_MSG_MAX_DEPTH);
  assert_int_equal(stats(&f).security.depth_refusals, 2);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&b);
  akt__buf_free(&payload);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_truncated_frame_waits_for_the_rest),
    cmocka_unit_test(an_oversize_length_closes_before_allocating),
    cmocka_unit_test(garbage_is_a_protocol_error),
    cmocka_unit_test(wrong_cookie_version_or_system_are_refused),
    cmocka_unit_test(an_unknown_type_is_a_dead_letter_not_an_error),
    cmocka_unit_test(limits_on_batches_and_names),
    cmocka_unit_test(decoding_stays_within_the_memory_bound),
    cmocka_unit_test(a_close_frame_closes),
    cmocka_unit_test(the_framer_splits_any_way),
    cmocka_unit_test(an_undeliverable_envelope_is_published_as_a_dead_letter),
    cmocka_unit_test(a_payload_nested_deeper_than_the_limit_is_refused_before_decoding),
};

AKT_TEST_MAIN("remote/wire", tests)
