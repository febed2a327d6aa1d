/* The receiver's fast path and the sender's hand packing: Batch frames
 * scanned without protobuf-c (unknown fields skipped, the rest left to
 * protobuf-c), envelopes packed by hand exactly as protobuf-c packs them,
 * targets a connection remembers, and a batch refused at its first
 * envelope over a limit. Connections are fed by hand on the simulator
 * (wire_fixture.h); malformed input in general is test_wire.c's. */
#include <stdio.h>
#include <string.h>

#include "wire_fixture.h"

/* ---- the receiver's fast path and the sender's hand packing ------------------ */

/* akt__env_out_write writes exactly what protobuf-c packs for the same
 * envelope, whichever fields are empty or large. */
static void hand_packed_envelopes_are_protobuf_c_bytes(void **state) {
  (void)state;
  static const struct {
    const char *target, *sender, *type;
    uint64_t target_id, sender_id, corr;
    uint32_t flags;
    const char *text;
  } cases[] = {
      {"/user/a", "", "Note", 0, 0, 0, 0, "hi"},
      {"/user/a/b", "akt://x@h:1/user/s", "Note", 7, 9, 300, 1, ""},
      {"", "", "", 0, 0, 0, 0, ""},
      {"/p", "akt://x@h:1/p", "Note", UINT64_MAX, UINT64_MAX >> 1, UINT64_MAX, UINT32_MAX, "x"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Note note = NOTE__INIT;
    note.text = (char *)cases[i].text;
    uint8_t payload[64];
    size_t plen = note__pack(&note, payload);
    Akt__Wire__Envelope e = AKT__WIRE__ENVELOPE__INIT;
    e.target = (char *)cases[i].target;
    e.target_id = cases[i].target_id;
    e.sender = (char *)cases[i].sender;
    e.sender_id = cases[i].sender_id;
    e.type = (char *)cases[i].type;
    e.payload.data = payload;
    e.payload.len = plen;
    e.corr = cases[i].corr;
    e.flags = cases[i].flags;
    uint8_t want[256], got[256];
    size_t n = akt__wire__envelope__pack(&e, want);
    akt__env_out o = {.target = e.target,
                      .target_len = strlen(e.target),
                      .target_id = e.target_id,
                      .sender = e.sender,
                      .sender_len = strlen(e.sender),
                      .sender_id = e.sender_id,
                      .type = e.type,
                      .type_len = strlen(e.type),
                      .corr = e.corr,
                      .flags = e.flags};
    assert_int_equal(akt__env_out_size(&o, plen), n);
    assert_ptr_equal(akt__env_out_write(got, &o, &note.base, plen), got + n);
    assert_memory_equal(got, want, n);
  }
}

/* Appends field `num` of wire type `wt` with an arbitrary value. */
static void put_unknown(akt__buf *b, unsigned num, unsigned wt) {
  akt__buf_varint(b, (uint64_t)num << 3 | wt);
  static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  if (wt == 0) akt__buf_varint(b, 300);
  if (wt == 1) akt__buf_put(b, eight, 8);
  if (wt == 5) akt__buf_put(b, eight, 4);
  if (wt == 2) {
    akt__buf_varint(b, 3);
    akt__buf_put(b, "abc", 3);
  }
}

/* One Note envelope for `target`, packed by protobuf-c, with unknown
 * fields of every wire type after it when `unknown`. */
static void envelope_bytes(akt__buf *b, const char *target, uint64_t target_id, const char *text,
                           int unknown) {
  Note note = NOTE__INIT;
  note.text = (char *)text;
  uint8_t payload[64];
  Akt__Wire__Envelope e = AKT__WIRE__ENVELOPE__INIT;
  e.target = (char *)target;
  e.target_id = target_id;
  e.type = "Note";
  e.payload.data = payload;
  e.payload.len = note__pack(&note, payload);
  uint8_t packed[256];
  akt__buf_put(b, packed, akt__wire__envelope__pack(&e, packed));
  if (unknown)
    for (unsigned wt = 0; wt <= 5; wt++)
      if (wt != 3 && wt != 4) put_unknown(b, 20 + wt, wt);
}

/* A Batch frame around Batch.envelopes entries made of each env[i]. */
static void batch_of(akt__buf *out, akt__buf *env, size_t n, int unknown) {
  akt__buf body = {0};
  for (size_t i = 0; i < n; i++) {
    if (unknown) put_unknown(&body, 9, 0); /* an unknown Batch field */
    uint8_t tag = (1 << 3) | 2;
    akt__buf_put(&body, &tag, 1);
    akt__buf_varint(&body, env[i].len);
    akt__buf_put(&body, env[i].data, env[i].len);
  }
  assert_int_equal(akt__frame_batch(body.data, body.len, out), 0);
  akt__buf_free(&body);
}

/* Unknown fields in a Batch and its envelopes, of every wire type, are
 * skipped on the fast path, as protobuf-c does: newer peers may add
 * fields. */
static void the_fast_path_skips_unknown_fields(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__buf cap = {0}, env[2] = {{0}}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  envelope_bytes(&env[0], akt_pid_path(akt_probe_pid(f.p)), 0, "one", 1);
  envelope_bytes(&env[1], akt_pid_path(akt_probe_pid(f.p)), 0, "two", 1);
  batch_of(&b, env, 2, 1);
  /* The scanner reads it (no fallback) and sees what protobuf-c sees. */
  const uint8_t *body;
  size_t body_len;
  assert_int_equal(akt__scan_batch_frame(b.data + 4, b.len - 4, &body, &body_len), 1);
  Akt__Wire__Frame *m = akt__wire__frame__unpack(NULL, b.len - 4, b.data + 4);
  assert_non_null(m);
  akt__env_view v;
  const uint8_t *p = body;
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(akt__scan_envelope(&p, body + body_len, &v), 1);
    const Akt__Wire__Envelope *e = m->batch->envelopes[i];
    assert_int_equal(v.target_len, strlen(e->target));
    assert_memory_equal(v.target, e->target, v.target_len);
    assert_int_equal(v.payload_len, e->payload.len);
    assert_memory_equal(v.payload, e->payload.data, v.payload_len);
  }
  assert_int_equal(akt__scan_envelope(&p, body + body_len, &v), 0);
  akt__wire__frame__free_unpacked(m, NULL);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  assert_string_equal(((const Note *)akt_probe_expect_msg(f.p, &note__descriptor, 0))->text, "one");
  assert_string_equal(((const Note *)akt_probe_expect_msg(f.p, &note__descriptor, 0))->text, "two");
  assert_int_equal(stats(&f).protocol_errors, 0);
  assert_int_equal(stats(&f).envelopes_in, 2);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&env[0]);
  akt__buf_free(&env[1]);
  akt__buf_free(&b);
  akt_testkit_free(f.tk);
}

/* What the scanner does not read goes to protobuf-c, which decides: a
 * frame of another kind, a repeated batch field, a group, a known field of
 * the wrong wire type (malformed: the connection closes, and nothing of
 * the batch is delivered). */
static void the_scanner_leaves_the_rest_to_protobuf_c(void **state) {
  (void)state;
  const uint8_t *body;
  size_t body_len;
  const uint8_t heartbeat[] = {0x22, 0x02, 0x08, 0x01};       /* Frame.heartbeat{seq 1} */
  const uint8_t two_batches[] = {0x1a, 0x00, 0x1a, 0x00};     /* batch, batch */
  const uint8_t group[] = {0x1a, 0x00, 0x7b, 0x7c};           /* batch, group 15 */
  const uint8_t zero_field[] = {0x1a, 0x00, 0x80, 0x00, 0x00}; /* field 0 as 2 bytes */
  assert_int_equal(akt__scan_batch_frame(heartbeat, sizeof heartbeat, &body, &body_len), 0);
  assert_int_equal(akt__scan_batch_frame(two_batches, sizeof two_batches, &body, &body_len), 0);
  assert_int_equal(akt__scan_batch_frame(group, sizeof group, &body, &body_len), 0);
  assert_int_equal(akt__scan_batch_frame(zero_field, sizeof zero_field, &body, &body_len), 0);
  assert_int_equal(akt__scan_batch_frame(NULL, 0, &body, &body_len), 0);

  fixture f;
  up(&f);
  akt__buf cap = {0}, env[2] = {{0}}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  envelope_bytes(&env[0], akt_pid_path(akt_probe_pid(f.p)), 0, "never", 0);
  /* target_id (field 2) as a length-delimited field: malformed. */
  const uint8_t bad[] = {0x12, 0x01, 0x00};
  akt__buf_put(&env[1], bad, sizeof bad);
  batch_of(&b, env, 2, 0);
  assert_int_equal(akt__scan_batch_frame(b.data + 4, b.len - 4, &body, &body_len), 1);
  akt__env_view v;
  const uint8_t *p = body;
  assert_int_equal(akt__scan_envelope(&p, body + body_len, &v), 1);
  assert_int_equal(akt__scan_envelope(&p, body + body_len, &v), -1);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_EPROTO);
  assert_int_equal(stats(&f).protocol_errors, 1);
  assert_int_equal(akt_probe_try_expect_no_msg(f.p, AKT_MILLIS(10), NULL), 0);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&env[0]);
  akt__buf_free(&env[1]);
  akt__buf_free(&b);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

/* Passes each Note on to the probe (its arg) as "TEXT#ID", ID being its
 * own incarnation. */
static int relay_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  char text[64];
  snprintf(text, sizeof text, "%s#%llu", ((const Note *)msg)->text,
           (unsigned long long)akt_pid_id(akt_ctx_self(ctx)));
  Note n = NOTE__INIT;
  n.text = text;
  return akt_send(ctx, (akt_pid *)(uintptr_t)akt_ctx_arg(ctx), &n.base);
}

static const akt_actor_def relay_def = {.kind = "relay", .receive = relay_receive};

/* A connection remembers where a path led; when that actor is gone and a
 * new one holds the path, messages go to the new one (target id 0) or
 * are dead letters (the old id). */
static void a_remembered_target_follows_its_path(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt_spawn_opts o = {.arg = akt_probe_pid(f.p)};
  akt_pid *r1 = NULL, *r2 = NULL;
  assert_int_equal(akt_spawn(f.sys, "relay", &relay_def, &o, &r1), 0);
  akt__buf cap = {0}, env = {0}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  char want[64];
  envelope_bytes(&env, "/user/relay", 0, "a", 0);
  batch_of(&b, &env, 1, 0);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  snprintf(want, sizeof want, "a#%llu", (unsigned long long)akt_pid_id(r1));
  assert_string_equal(((const Note *)akt_probe_expect_msg(f.p, &note__descriptor, 0))->text, want);
  akt_stop(r1);
  akt_testkit_run_until_idle(f.tk);
  assert_int_equal(akt_spawn(f.sys, "relay", &relay_def, &o, &r2), 0);
  assert_true(akt_pid_id(r2) != akt_pid_id(r1));
  env.len = b.len = 0;
  envelope_bytes(&env, "/user/relay", 0, "b", 0);
  batch_of(&b, &env, 1, 0);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  snprintf(want, sizeof want, "b#%llu", (unsigned long long)akt_pid_id(r2));
  assert_string_equal(((const Note *)akt_probe_expect_msg(f.p, &note__descriptor, 0))->text, want);
  /* The old incarnation's id: a dead letter, also when asked again. */
  akt_system_stats before, after;
  akt_system_get_stats(f.sys, &before);
  env.len = b.len = 0;
  envelope_bytes(&env, "/user/relay", akt_pid_id(r1), "c", 0);
  batch_of(&b, &env, 1, 0);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), 0);
  akt_testkit_run_until_idle(f.tk);
  akt_system_get_stats(f.sys, &after);
  assert_int_equal(after.dead_letters, before.dead_letters + 2);
  assert_int_equal(akt_probe_try_expect_no_msg(f.p, AKT_MILLIS(10), NULL), 0);
  akt__conn_detached_free(c);
  akt_pid_release(r1);
  akt_pid_release(r2);
  akt__buf_free(&cap);
  akt__buf_free(&env);
  akt__buf_free(&b);
  akt_testkit_free(f.tk);
}

/* The first envelope over a limit refuses the whole batch: no slower
 * reading is tried, so what follows it (here a malformed envelope, which
 * protobuf-c would have been asked about) is never read. */
static void an_over_long_first_name_refuses_the_batch_unread(void **state) {
  (void)state;
  fixture f;
  up(&f);
  akt__buf cap = {0}, env[2] = {{0}}, b = {0};
  akt__conn *c = open_conn(&f, &cap);
  char long_path[100];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[0] = '/';
  long_path[sizeof long_path - 1] = '\0';
  envelope_bytes(&env[0], long_path, 0, "x", 0); /* max_name is 64 */
  const uint8_t bad[] = {0x12, 0x01, 0x00};     /* target_id as bytes: malformed */
  akt__buf_put(&env[1], bad, sizeof bad);
  batch_of(&b, env, 2, 0);
  assert_int_equal(akt__conn_feed(c, b.data, b.len), AKT_ELIMIT);
  assert_int_equal(stats(&f).limit_errors, 1);
  assert_int_equal(stats(&f).protocol_errors, 0);
  assert_int_equal(stats(&f).envelopes_in, 0);
  akt__conn_detached_free(c);
  akt__buf_free(&cap);
  akt__buf_free(&env[0]);
  akt__buf_free(&env[1]);
  akt__buf_free(&b);
  serves_another_peer(&f);
  akt_testkit_free(f.tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_over_long_first_name_refuses_the_batch_unread),
    cmocka_unit_test(hand_packed_envelopes_are_protobuf_c_bytes),
    cmocka_unit_test(the_fast_path_skips_unknown_fields),
    cmocka_unit_test(the_scanner_leaves_the_rest_to_protobuf_c),
    cmocka_unit_test(a_remembered_target_follows_its_path),
};

AKT_TEST_MAIN("remote/wire-fastpath", tests)
