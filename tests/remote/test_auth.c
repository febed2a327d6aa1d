/* The cookie's challenge/response (src/remote/auth.c): two state machines
 * talk through buffers the test holds, so it can capture, replay, reflect,
 * alter and redirect what crosses. (test_auth_sim.c runs the exchange over
 * simulated streams.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/auth.pb-c.h"
#include "akt/error.h"
#include "akt/security.h"
#include "src/remote/auth.h"

#define COOKIE "correct-horse-battery-staple-0042"
#define NODE0 "akt://node0@node0:2552"
#define NODE1 "akt://node1@node1:2552"

/* ---- two sides in memory ------------------------------------------------------------ */

typedef struct side {
  akt__auth *a;
  uint8_t random[32];
  akt__auth_config cfg;
  uint8_t sent[8 * AKT__AUTH_OUT_MAX]; /* everything it wrote, in order */
  size_t sent_len;
} side;

static void side_config(side *s, akt__auth_role role, uint8_t random_byte) {
  memset(s->random, random_byte, sizeof s->random);
  s->cfg = (akt__auth_config){
      .role = role,
      .cookie = (const uint8_t *)COOKIE,
      .cookie_len = strlen(COOKIE),
      .channel = "remoting",
      .version = 2,
      .system = role == AKT__AUTH_INITIATOR ? "node1" : "node0",
      .address = role == AKT__AUTH_INITIATOR ? NODE1 : NODE0,
      .incarnation = role == AKT__AUTH_INITIATOR ? 11 : 22,
      .expect_system = "node0",
      .expect_address = NODE0,
      .conn_seq = 3,
      .random = s->random,
      .random_len = sizeof s->random,
  };
}

static side *side_new(akt__auth_role role, uint8_t random_byte) {
  side *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->a = calloc(1, sizeof *s->a);
  assert_non_null(s->a);
  side_config(s, role, random_byte);
  return s;
}

static void side_start(side *s) { assert_int_equal(akt__auth_init(s->a, &s->cfg), 0); }

static void side_free(side *s) {
  akt__auth_clear(s->a);
  free(s->a);
  free(s);
}

/* Moves what `from` wrote to `to`; returns what feeding returned. */
static int pass(side *from, side *to) {
  size_t len;
  const uint8_t *out = akt__auth_take_output(from->a, &len);
  if (!out) return 0;
  assert_true(from->sent_len + len <= sizeof from->sent);
  memcpy(from->sent + from->sent_len, out, len);
  from->sent_len += len;
  size_t used;
  int rc = akt__auth_feed(to->a, from->sent + from->sent_len - len, len, &used);
  if (rc == 0 && akt__auth_get_state(to->a) != AKT__AUTH_DONE) assert_int_equal(used, len);
  return rc;
}

/* Runs the exchange to its end. */
static void run(side *i, side *a) {
  for (int round = 0; round < 4; round++) {
    pass(i, a);
    pass(a, i);
  }
}

static int done(const side *s) { return akt__auth_get_state(s->a) == AKT__AUTH_DONE; }

/* An initiator and an acceptor that authenticated each other. */
static void authenticated(side **i, side **a) {
  *i = side_new(AKT__AUTH_INITIATOR, 1);
  *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(*i);
  side_start(*a);
  run(*i, *a);
  assert_true(done(*i) && done(*a));
}

/* Writes f with its length prefix into buf; returns the bytes written. */
static size_t frame_bytes(const Akt__Auth__AuthFrame *f, uint8_t *buf) {
  size_t n = akt__auth__auth_frame__pack(f, buf + AKT__AUTH_PREFIX);
  assert_true(n <= AKT__AUTH_MAX_FRAME);
  buf[0] = buf[1] = 0;
  buf[2] = (uint8_t)(n >> 8);
  buf[3] = (uint8_t)n;
  return AKT__AUTH_PREFIX + n;
}

/* Frame k (0-based) of what a side wrote: its prefix and body. */
static const uint8_t *frame_at(const side *s, int k, size_t *len) {
  size_t at = 0;
  for (;;) {
    assert_true(at + AKT__AUTH_PREFIX <= s->sent_len);
    const uint8_t *p = s->sent + at;
    size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (k-- == 0) {
      *len = AKT__AUTH_PREFIX + n;
      return p;
    }
    at += AKT__AUTH_PREFIX + n;
  }
}

static int feed_all(side *s, const uint8_t *p, size_t len) {
  return akt__auth_feed(s->a, p, len, NULL);
}

/* ---- the exchange --------------------------------------------------------------------- */

static void two_sides_with_the_same_cookie_authenticate_each_other(void **state) {
  (void)state;
  side *i, *a;
  authenticated(&i, &a);
  assert_true(done(i));
  assert_true(done(a));
  uint64_t seq = 0;
  const akt__auth_identity *pi = akt__auth_peer(i->a, NULL), *pa = akt__auth_peer(a->a, &seq);
  assert_string_equal(pi->system, "node0");
  assert_string_equal(pi->address, NODE0);
  assert_int_equal(pi->incarnation, 22);
  assert_string_equal(pa->system, "node1");
  assert_string_equal(pa->address, NODE1);
  assert_int_equal(pa->incarnation, 11);
  assert_int_equal(seq, 3);
  const akt__auth_session *si = akt__auth_get_session(i->a), *sa = akt__auth_get_session(a->a);
  assert_memory_equal(si->key, sa->key, AKT__AUTH_KEY);
  assert_memory_equal(si->id, sa->id, AKT__AUTH_SESSION_ID);
  /* Four frames crossed: Hello, Challenge, Proof, Result. */
  size_t len;
  frame_at(i, 1, &len);
  frame_at(a, 1, &len);
  side_free(i);
  side_free(a);
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m) {
  for (size_t k = 0; k + m <= n; k++)
    if (memcmp(hay + k, needle, m) == 0) return 1;
  return 0;
}

static void the_cookie_never_crosses_the_wire(void **state) {
  (void)state;
  side *i, *a;
  authenticated(&i, &a);
  /* Neither the cookie nor any 8-byte piece of it. */
  for (size_t k = 0; k + 8 <= strlen(COOKIE); k++) {
    assert_false(contains(i->sent, i->sent_len, COOKIE + k, 8));
    assert_false(contains(a->sent, a->sent_len, COOKIE + k, 8));
  }
  side_free(i);
  side_free(a);
}

static void a_wrong_cookie_is_refused_on_both_sides(void **state) {
  (void)state;
  side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  i->cfg.cookie = (const uint8_t *)"guessed-cookie";
  i->cfg.cookie_len = strlen("guessed-cookie");
  side_start(i);
  side_start(a);
  assert_int_equal(pass(i, a), 0);             /* Hello */
  assert_int_equal(pass(a, i), 0);             /* Challenge */
  assert_int_equal(pass(i, a), AKT_EREFUSED);  /* Proof: wrong */
  assert_non_null(strstr(akt__auth_error(a->a), "did not prove the cookie"));
  assert_null(akt__auth_get_session(a->a));
  assert_null(akt__auth_peer(a->a, NULL));
  assert_int_equal(pass(a, i), AKT_EREFUSED);  /* the refusal */
  assert_non_null(strstr(akt__auth_error(i->a), "refused by the peer: authentication failed"));
  /* A failed side stays failed and reads nothing more. */
  size_t used = 99;
  uint8_t junk[8] = {0};
  assert_int_equal(akt__auth_feed(a->a, junk, sizeof junk, &used), AKT_EREFUSED);
  assert_int_equal(used, 0);
  side_free(i);
  side_free(a);
}

static void an_acceptor_with_another_cookie_cannot_pass_for_the_peer(void **state) {
  (void)state;
  /* An impostor acceptor answers with a valid-looking Result whose proof
   * is made with another cookie: the initiator must not accept it. */
  side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  a->cfg.cookie = (const uint8_t *)"impostor";
  a->cfg.cookie_len = strlen("impostor");
  side_start(i);
  side_start(a);
  pass(i, a);
  pass(a, i);
  /* The impostor cannot check the Proof, and cannot prove the cookie
   * either: it answers "accepted" with a proof it made up. */
  assert_int_equal(pass(i, a), AKT_EREFUSED); /* the real proof fails at the impostor */
  size_t len;
  akt__auth_take_output(a->a, &len);
  /* Forge: a Result{accepted, mac = random bytes}. */
  uint8_t mac[AKT__AUTH_MAC];
  memset(mac, 0x5a, sizeof mac);
  Akt__Auth__Result r = AKT__AUTH__RESULT__INIT;
  r.accepted = 1;
  r.mac = (ProtobufCBinaryData){sizeof mac, mac};
  Akt__Auth__AuthFrame f = AKT__AUTH__AUTH_FRAME__INIT;
  f.kind_case = AKT__AUTH__AUTH_FRAME__KIND_RESULT;
  f.result = &r;
  uint8_t buf[256];
  size_t n = frame_bytes(&f, buf);
  assert_int_equal(feed_all(i, buf, n), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(i->a), "accepted without proving the cookie"));
  assert_null(akt__auth_get_session(i->a));
  side_free(i);
  side_free(a);
}

/* ---- replay, reflection, tampering ------------------------------------------------------ */

static void a_captured_exchange_replayed_to_the_acceptor_is_refused(void **state) {
  (void)state;
  side *i, *a;
  authenticated(&i, &a);
  assert_true(done(a));
  /* An eavesdropper replays the initiator's Hello and Proof, byte for
   * byte, to the same node later: its new nonce makes the proof stale. */
  side *a2 = side_new(AKT__AUTH_ACCEPTOR, 3);
  side_start(a2);
  size_t hello_len, proof_len;
  const uint8_t *hello = frame_at(i, 0, &hello_len), *proof = frame_at(i, 1, &proof_len);
  assert_int_equal(feed_all(a2, hello, hello_len), 0);
  assert_int_equal(feed_all(a2, proof, proof_len), AKT_EREFUSED);
  assert_null(akt__auth_peer(a2->a, NULL));
  /* Control: to an acceptor that draws the same nonce (same random
   * bytes), the same replay would pass — the nonce is what stops it. */
  side *same = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(same);
  assert_int_equal(feed_all(same, hello, hello_len), 0);
  assert_int_equal(feed_all(same, proof, proof_len), 0);
  assert_true(done(same));
  side_free(same);
  side_free(a2);
  side_free(i);
  side_free(a);
}

static void the_acceptors_proof_does_not_pass_as_the_initiators(void **state) {
  (void)state;
  /* Same transcript twice (same random bytes on both sides): the
   * acceptor's proof from the first run, sent as a Proof in the second,
   * must fail, while the initiator's own proof passes (the control). */
  side *i, *a;
  authenticated(&i, &a);
  size_t rlen;
  const uint8_t *result = frame_at(a, 1, &rlen);
  Akt__Auth__AuthFrame *rf = akt__auth__auth_frame__unpack(NULL, rlen - 4, result + 4);
  assert_non_null(rf);
  assert_int_equal(rf->kind_case, AKT__AUTH__AUTH_FRAME__KIND_RESULT);
  Akt__Auth__Proof p = AKT__AUTH__PROOF__INIT;
  p.mac = rf->result->mac;
  Akt__Auth__AuthFrame pf = AKT__AUTH__AUTH_FRAME__INIT;
  pf.kind_case = AKT__AUTH__AUTH_FRAME__KIND_PROOF;
  pf.proof = &p;
  uint8_t buf[128];
  size_t n = frame_bytes(&pf, buf);
  akt__auth__auth_frame__free_unpacked(rf, NULL);

  size_t hlen;
  const uint8_t *hello = frame_at(i, 0, &hlen);
  side *again = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(again);
  assert_int_equal(feed_all(again, hello, hlen), 0);
  assert_int_equal(feed_all(again, buf, n), AKT_EREFUSED);
  side *control = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(control);
  size_t plen;
  const uint8_t *proof = frame_at(i, 1, &plen);
  assert_int_equal(feed_all(control, hello, hlen), 0);
  assert_int_equal(feed_all(control, proof, plen), 0);
  assert_true(done(control));
  side_free(control);
  side_free(again);
  side_free(i);
  side_free(a);
}

static void messages_reflected_back_to_their_sender_are_refused(void **state) {
  (void)state;
  /* The initiator's own Hello sent back to it is not a Challenge. */
  side *i = side_new(AKT__AUTH_INITIATOR, 1);
  side_start(i);
  size_t len;
  const uint8_t *hello = akt__auth_take_output(i->a, &len);
  uint8_t copy[AKT__AUTH_OUT_MAX];
  memcpy(copy, hello, len);
  assert_int_equal(feed_all(i, copy, len), AKT_EPROTO);

  /* A Challenge carrying the initiator's own nonce and identity. */
  side *i2 = side_new(AKT__AUTH_INITIATOR, 1);
  i2->cfg.expect_address = NULL;
  i2->cfg.expect_system = "node1"; /* it dials "itself" */
  side_start(i2);
  Akt__Auth__AuthFrame *hf = akt__auth__auth_frame__unpack(NULL, len - 4, copy + 4);
  assert_non_null(hf);
  Akt__Auth__Challenge c = AKT__AUTH__CHALLENGE__INIT;
  c.system = hf->hello->system;
  c.address = hf->hello->address;
  c.incarnation = hf->hello->incarnation;
  c.nonce = hf->hello->nonce;
  Akt__Auth__AuthFrame cf = AKT__AUTH__AUTH_FRAME__INIT;
  cf.kind_case = AKT__AUTH__AUTH_FRAME__KIND_CHALLENGE;
  cf.challenge = &c;
  uint8_t buf[AKT__AUTH_OUT_MAX];
  size_t n = frame_bytes(&cf, buf);
  akt__auth__auth_frame__free_unpacked(hf, NULL);
  assert_int_equal(feed_all(i2, buf, n), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(i2->a), "own nonce or identity"));

  /* An acceptor sent a Hello that claims to come from itself. */
  side *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  side *i3 = side_new(AKT__AUTH_INITIATOR, 7);
  i3->cfg.system = "node0";
  i3->cfg.address = NODE0;
  i3->cfg.incarnation = 22;
  side_start(i3);
  assert_int_equal(pass(i3, a), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(a->a), "own nonce or identity"));
  side_free(i3);
  side_free(a);
  side_free(i2);
  side_free(i);
}

static void a_change_to_any_byte_of_the_exchange_is_refused(void **state) {
  (void)state;
  /* Record a good exchange, then replay it with one byte flipped, for
   * every byte of Hello and Challenge: no altered exchange completes. */
  side *i, *a;
  authenticated(&i, &a);
  size_t hlen, clen;
  const uint8_t *hello = frame_at(i, 0, &hlen);
  const uint8_t *challenge = frame_at(a, 0, &clen);
  unsigned completed = 0, tried = 0;
  for (size_t k = AKT__AUTH_PREFIX; k < hlen; k++) {
    /* A man in the middle alters the Hello on its way to the acceptor;
     * the initiator then sees a Challenge over the altered transcript. */
    uint8_t h[AKT__AUTH_OUT_MAX];
    memcpy(h, hello, hlen);
    h[k] ^= 0x01;
    side *a2 = side_new(AKT__AUTH_ACCEPTOR, 2), *i2 = side_new(AKT__AUTH_INITIATOR, 1);
    side_start(a2);
    side_start(i2);
    size_t ignore;
    akt__auth_take_output(i2->a, &ignore);
    tried++;
    if (feed_all(a2, h, hlen) == 0) {
      pass(a2, i2);
      pass(i2, a2);
      pass(a2, i2);
      if (done(a2) || done(i2)) completed++;
    }
    side_free(a2);
    side_free(i2);
  }
  for (size_t k = AKT__AUTH_PREFIX; k < clen; k++) {
    uint8_t c[AKT__AUTH_OUT_MAX];
    memcpy(c, challenge, clen);
    c[k] ^= 0x01;
    side *a2 = side_new(AKT__AUTH_ACCEPTOR, 2), *i2 = side_new(AKT__AUTH_INITIATOR, 1);
    side_start(a2);
    side_start(i2);
    pass(i2, a2);
    size_t ignore;
    akt__auth_take_output(a2->a, &ignore);
    tried++;
    if (feed_all(i2, c, clen) == 0) {
      pass(i2, a2);
      pass(a2, i2);
      if (done(a2) || done(i2)) completed++;
    }
    side_free(a2);
    side_free(i2);
  }
  assert_true(tried > 100);
  assert_int_equal(completed, 0);
  /* And the proof itself. */
  size_t plen;
  const uint8_t *proof = frame_at(i, 1, &plen);
  uint8_t p[AKT__AUTH_OUT_MAX];
  memcpy(p, proof, plen);
  p[plen - 1] ^= 0x80;
  side *a3 = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a3);
  assert_int_equal(feed_all(a3, hello, hlen), 0);
  assert_int_equal(feed_all(a3, p, plen), AKT_EREFUSED);
  side_free(a3);
  side_free(i);
  side_free(a);
}

/* ---- identity ------------------------------------------------------------------------------- */

static void an_initiator_refuses_a_peer_that_is_not_the_one_it_dialled(void **state) {
  (void)state;
  /* Right cookie, wrong node: a cookie holder at another address cannot
   * answer for the node that was dialled. */
  side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  a->cfg.address = "akt://node0@elsewhere:2552";
  side_start(i);
  side_start(a);
  pass(i, a);
  assert_int_equal(pass(a, i), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(i->a), "but the peer says it is akt://node0@elsewhere"));

  side *i2 = side_new(AKT__AUTH_INITIATOR, 1), *a2 = side_new(AKT__AUTH_ACCEPTOR, 2);
  i2->cfg.expect_system = "node9";
  i2->cfg.expect_address = NULL;
  side_start(i2);
  side_start(a2);
  assert_int_equal(pass(i2, a2), AKT_EREFUSED); /* the acceptor is not node9 */
  assert_non_null(strstr(akt__auth_error(a2->a), "another system"));
  assert_int_equal(pass(a2, i2), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(i2->a), "wrong system name"));
  side_free(i);
  side_free(a);
  side_free(i2);
  side_free(a2);
}

static void a_proof_is_bound_to_the_claimed_identity_and_connection(void **state) {
  (void)state;
  /* A man in the middle who rewrites the initiator's claimed address,
   * incarnation or connection number (to take over another peer's
   * session) re-encodes Hello; the proof then no longer matches. */
  for (int field = 0; field < 3; field++) {
    side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
    side_start(i);
    side_start(a);
    size_t len;
    const uint8_t *out = akt__auth_take_output(i->a, &len);
    Akt__Auth__AuthFrame *hf = akt__auth__auth_frame__unpack(NULL, len - 4, out + 4);
    assert_non_null(hf);
    ProtobufCBinaryData own = hf->hello->address;
    if (field == 0)
      hf->hello->address = (ProtobufCBinaryData){strlen("akt://node1@victim:2552"),
                                                 (uint8_t *)"akt://node1@victim:2552"};
    if (field == 1) hf->hello->incarnation = 12;
    if (field == 2) hf->hello->conn_seq = 1000;
    uint8_t buf[AKT__AUTH_OUT_MAX];
    size_t n = frame_bytes(hf, buf);
    hf->hello->address = own; /* what free_unpacked frees */
    akt__auth__auth_frame__free_unpacked(hf, NULL);
    assert_int_equal(feed_all(a, buf, n), 0);
    assert_int_equal(pass(a, i), 0);
    assert_int_equal(pass(i, a), AKT_EREFUSED);
    assert_null(akt__auth_peer(a->a, NULL));
    side_free(i);
    side_free(a);
  }
}

static void a_channel_binding_ties_the_proof_to_the_session_below(void **state) {
  (void)state;
  const uint8_t b1[32] = {1}, b2[32] = {2};
  side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  i->cfg.binding = b1;
  i->cfg.binding_len = sizeof b1;
  a->cfg.binding = b2; /* a relay: two TLS sessions, two exporter values */
  a->cfg.binding_len = sizeof b2;
  side_start(i);
  side_start(a);
  run(i, a);
  assert_false(done(a));
  assert_int_equal(akt__auth_get_state(a->a), AKT__AUTH_FAILED);
  side_free(i);
  side_free(a);
  /* The same binding on both sides: accepted. */
  i = side_new(AKT__AUTH_INITIATOR, 1);
  a = side_new(AKT__AUTH_ACCEPTOR, 2);
  i->cfg.binding = a->cfg.binding = b1;
  i->cfg.binding_len = a->cfg.binding_len = sizeof b1;
  side_start(i);
  side_start(a);
  run(i, a);
  assert_true(done(i) && done(a));
  side_free(i);
  side_free(a);
}

static void version_and_channel_must_agree(void **state) {
  (void)state;
  side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  i->cfg.version = 3;
  side_start(i);
  side_start(a);
  assert_int_equal(pass(i, a), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(a->a), "protocol version 3, this node 2"));
  assert_int_equal(pass(a, i), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(i->a), "unsupported protocol version"));
  side_free(i);
  side_free(a);

  i = side_new(AKT__AUTH_INITIATOR, 1);
  a = side_new(AKT__AUTH_ACCEPTOR, 2);
  i->cfg.channel = "cluster";
  side_start(i);
  side_start(a);
  assert_int_equal(pass(i, a), AKT_EREFUSED);
  assert_int_equal(pass(a, i), AKT_EREFUSED);
  assert_non_null(strstr(akt__auth_error(i->a), "wrong channel"));
  side_free(i);
  side_free(a);
}

static void each_connection_gets_its_own_session_key(void **state) {
  (void)state;
  uint8_t keys[3][AKT__AUTH_KEY];
  for (int k = 0; k < 3; k++) {
    side *i = side_new(AKT__AUTH_INITIATOR, (uint8_t)(10 + k)), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
    side_start(i);
    side_start(a);
    run(i, a);
    assert_true(done(i) && done(a));
    memcpy(keys[k], akt__auth_get_session(i->a)->key, AKT__AUTH_KEY);
    side_free(i);
    side_free(a);
  }
  assert_memory_not_equal(keys[0], keys[1], AKT__AUTH_KEY);
  assert_memory_not_equal(keys[1], keys[2], AKT__AUTH_KEY);
  assert_memory_not_equal(keys[0], keys[2], AKT__AUTH_KEY);
}

static void frame_tags_refuse_tampered_replayed_and_reflected_frames(void **state) {
  (void)state;
  side *i, *a;
  authenticated(&i, &a);
  const akt__auth_session *si = akt__auth_get_session(i->a), *sa = akt__auth_get_session(a->a);
  uint8_t frame[] = "a batch of envelopes";
  uint8_t tag[AKT__AUTH_TAG];
  assert_int_equal(akt__auth_frame_tag(si, 1, 1, frame, sizeof frame, tag), 0);
  assert_int_equal(akt__auth_frame_check(sa, 1, 1, frame, sizeof frame, tag), 0);
  assert_int_equal(akt__auth_frame_check(sa, 1, 2, frame, sizeof frame, tag), AKT_EREFUSED);
  assert_int_equal(akt__auth_frame_check(sa, 0, 1, frame, sizeof frame, tag), AKT_EREFUSED);
  frame[0] ^= 1;
  assert_int_equal(akt__auth_frame_check(sa, 1, 1, frame, sizeof frame, tag), AKT_EREFUSED);
  side_free(i);
  side_free(a);
}

/* ---- malformed and oversize input ----------------------------------------------------------- */

static void bytes_fed_one_at_a_time_complete_the_exchange_and_leave_the_rest(void **state) {
  (void)state;
  side *i = side_new(AKT__AUTH_INITIATOR, 1), *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(i);
  side_start(a);
  for (int round = 0; round < 3; round++) {
    side *from = round == 1 ? a : i, *to = round == 1 ? i : a;
    size_t len;
    const uint8_t *out = akt__auth_take_output(from->a, &len);
    assert_non_null(out);
    uint8_t buf[AKT__AUTH_OUT_MAX + 8];
    memcpy(buf, out, len);
    if (round == 2) memcpy(buf + len, "NEXT", 4); /* what follows the handshake */
    size_t total = len + (round == 2 ? 4 : 0), fed = 0;
    while (fed < total) {
      size_t used;
      assert_int_equal(akt__auth_feed(to->a, buf + fed, 1, &used), 0);
      if (used == 0) break;
      fed += used;
    }
    assert_int_equal(fed, len); /* "NEXT" was left for the next layer */
  }
  assert_true(done(a));
  size_t len;
  const uint8_t *out = akt__auth_take_output(a->a, &len);
  assert_int_equal(feed_all(i, out, len), 0);
  assert_true(done(i));
  side_free(i);
  side_free(a);
}

static void an_oversize_frame_is_refused_from_its_length_prefix(void **state) {
  (void)state;
  side *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t prefix[4] = {0, 0, (AKT__AUTH_MAX_FRAME + 1) >> 8, (AKT__AUTH_MAX_FRAME + 1) & 0xff};
  size_t used;
  assert_int_equal(akt__auth_feed(a->a, prefix, 4, &used), AKT_ELIMIT);
  assert_int_equal(used, 4);
  assert_non_null(strstr(akt__auth_error(a->a), "limit before authentication"));
  side_free(a);
  /* The limit is the one akt/security.h states. */
  assert_int_equal(AKT__AUTH_MAX_FRAME, AKT_SECURITY_PRE_AUTH_FRAME);
}

static void a_frame_of_many_unknown_fields_fails_within_a_fixed_arena(void **state) {
  (void)state;
  /* 1000 bytes of two-byte unknown fields: protobuf-c would keep each as
   * an entry; the arena caps what that may cost. */
  side *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t buf[4 + AKT__AUTH_MAX_FRAME];
  size_t n = AKT__AUTH_MAX_FRAME;
  for (size_t k = 0; k < n; k += 2) {
    buf[4 + k] = (uint8_t)(15 << 3); /* field 15, varint */
    buf[4 + k + 1] = 1;
  }
  buf[0] = buf[1] = 0;
  buf[2] = (uint8_t)(n >> 8);
  buf[3] = (uint8_t)n;
  assert_int_equal(feed_all(a, buf, 4 + n), AKT_ELIMIT);
  assert_non_null(strstr(akt__auth_error(a->a), "to decode"));
  side_free(a);
}

static void garbage_and_misplaced_frames_are_protocol_errors(void **state) {
  (void)state;
  side *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t garbage[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
  assert_int_equal(feed_all(a, garbage, sizeof garbage), AKT_EPROTO);
  side_free(a);

  a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t empty[] = {0, 0, 0, 0};
  assert_int_equal(feed_all(a, empty, sizeof empty), AKT_EPROTO);
  side_free(a);

  /* A Proof before any Hello. */
  a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t proof[] = {0, 0, 0, 4, 0x1a, 0x02, 0x0a, 0x00};
  assert_int_equal(feed_all(a, proof, sizeof proof), AKT_EPROTO);
  assert_non_null(strstr(akt__auth_error(a->a), "unexpected Proof"));
  side_free(a);

  /* A Hello with a short nonce. */
  side *i = side_new(AKT__AUTH_INITIATOR, 1);
  side_start(i);
  size_t len;
  const uint8_t *out = akt__auth_take_output(i->a, &len);
  Akt__Auth__AuthFrame *hf = akt__auth__auth_frame__unpack(NULL, len - 4, out + 4);
  hf->hello->nonce.len = 8;
  uint8_t buf[AKT__AUTH_OUT_MAX];
  size_t n = frame_bytes(hf, buf);
  akt__auth__auth_frame__free_unpacked(hf, NULL);
  a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  assert_int_equal(feed_all(a, buf, n), AKT_EPROTO);
  assert_non_null(strstr(akt__auth_error(a->a), "nonce has 8 bytes"));
  side_free(a);
  side_free(i);
}

static void a_tls_client_or_an_old_peer_gets_an_error_that_names_it(void **state) {
  (void)state;
  /* The first bytes of a TLS ClientHello record. */
  side *a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  assert_int_equal(feed_all(a, hello, sizeof hello), AKT_EPROTO);
  assert_non_null(strstr(akt__auth_error(a->a), "TLS is off on this node"));
  side_free(a);
  /* akt's handshake without authentication: Frame{handshake{magic AKT1}}. */
  a = side_new(AKT__AUTH_ACCEPTOR, 2);
  side_start(a);
  uint8_t old[] = {0, 0, 0, 9, 0x0a, 0x07, 0x0d, 0x31, 0x54, 0x4b, 0x41, 0x10, 0x01};
  assert_int_equal(feed_all(a, old, sizeof old), AKT_EPROTO);
  assert_non_null(strstr(akt__auth_error(a->a), "without authentication"));
  side_free(a);
}

static void a_bad_configuration_is_refused_at_init(void **state) {
  (void)state;
  side *s = side_new(AKT__AUTH_INITIATOR, 1);
  s->cfg.random_len = AKT__AUTH_RANDOM_MIN - 1;
  assert_int_equal(akt__auth_init(s->a, &s->cfg), AKT_EINVAL);
  side_config(s, AKT__AUTH_INITIATOR, 1);
  s->cfg.cookie_len = 0;
  assert_int_equal(akt__auth_init(s->a, &s->cfg), AKT_EINVAL);
  side_config(s, AKT__AUTH_INITIATOR, 1);
  s->cfg.address = "akt://other@node1:2552"; /* another system's address */
  assert_int_equal(akt__auth_init(s->a, &s->cfg), AKT_EINVAL);
  side_config(s, AKT__AUTH_INITIATOR, 1);
  s->cfg.expect_system = NULL;
  assert_int_equal(akt__auth_init(s->a, &s->cfg), AKT_EINVAL);
  side_config(s, AKT__AUTH_INITIATOR, 1);
  s->cfg.channel = "Remoting!";
  assert_int_equal(akt__auth_init(s->a, &s->cfg), AKT_EINVAL);
  side_config(s, AKT__AUTH_INITIATOR, 1);
  assert_int_equal(akt__auth_init(s->a, &s->cfg), 0);
  side_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(two_sides_with_the_same_cookie_authenticate_each_other),
      cmocka_unit_test(the_cookie_never_crosses_the_wire),
      cmocka_unit_test(a_wrong_cookie_is_refused_on_both_sides),
      cmocka_unit_test(an_acceptor_with_another_cookie_cannot_pass_for_the_peer),
      cmocka_unit_test(a_captured_exchange_replayed_to_the_acceptor_is_refused),
      cmocka_unit_test(the_acceptors_proof_does_not_pass_as_the_initiators),
      cmocka_unit_test(messages_reflected_back_to_their_sender_are_refused),
      cmocka_unit_test(a_change_to_any_byte_of_the_exchange_is_refused),
      cmocka_unit_test(an_initiator_refuses_a_peer_that_is_not_the_one_it_dialled),
      cmocka_unit_test(a_proof_is_bound_to_the_claimed_identity_and_connection),
      cmocka_unit_test(a_channel_binding_ties_the_proof_to_the_session_below),
      cmocka_unit_test(version_and_channel_must_agree),
      cmocka_unit_test(each_connection_gets_its_own_session_key),
      cmocka_unit_test(frame_tags_refuse_tampered_replayed_and_reflected_frames),
      cmocka_unit_test(bytes_fed_one_at_a_time_complete_the_exchange_and_leave_the_rest),
      cmocka_unit_test(an_oversize_frame_is_refused_from_its_length_prefix),
      cmocka_unit_test(a_frame_of_many_unknown_fields_fails_within_a_fixed_arena),
      cmocka_unit_test(garbage_and_misplaced_frames_are_protocol_errors),
      cmocka_unit_test(a_tls_client_or_an_old_peer_gets_an_error_that_names_it),
      cmocka_unit_test(a_bad_configuration_is_refused_at_init),
  };
  return cmocka_run_group_tests_name("remote-auth", tests, NULL, NULL);
}
