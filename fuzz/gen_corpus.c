/* akt — writes the fuzz seed corpora: real encoded frames, made with the
 * same encoder the remoting uses (akt__frame_encode, akt__frame_batch).
 *
 * usage: akt-fuzz-gen-corpus OUTDIR
 * writes OUTDIR/frame/, OUTDIR/handshake/, OUTDIR/dispatch/, OUTDIR/auth/ and OUTDIR/mdns/ (made if
 * missing; files of the same name are replaced, others left alone). The
 * committed seeds in fuzz/corpus/ come from
 *   build/fuzz/akt-fuzz-gen-corpus fuzz/corpus
 * Every file starts with the split byte the harnesses read first (see
 * fuzz/harness.h), then the bytes a peer would send.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "akt/actor.pb-c.h"
#include "akt/auth.pb-c.h"
#include "akt/message.h"
#include "akt/remote.pb-c.h"
#include "fuzz.pb-c.h"
#include "fuzz/harness.h"
#include "src/cluster/mdns_codec.h"
#include "src/remote/remote.h"

#define SINK AKT_FUZZ_PEER_NODE "/user/sink"

static const char *outdir;
static unsigned written;

static void die(const char *what) {
  fprintf(stderr, "akt-fuzz-gen-corpus: %s\n", what);
  exit(1);
}

static void ok(int rc, const char *what) {
  if (rc) die(what);
}

static void make_dir(const char *path) {
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
}

/* Writes OUTDIR/TARGET/NAME: the split byte, then the stream. */
static void seed(const char *target, const char *name, uint8_t split, const akt__buf *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", outdir, target);
  make_dir(path);
  snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  if (fwrite(&split, 1, 1, f) != 1 || (s->len && fwrite(s->data, 1, s->len, f) != s->len) ||
      fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  written++;
}

/* ---- frames ------------------------------------------------------------------- */

static void put_frame(akt__buf *s, Akt__Wire__Frame *f) {
  ok(akt__frame_encode(f, SIZE_MAX, s), "encode");
}

static void put_raw_prefix(akt__buf *s, uint32_t len) {
  uint8_t p[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  ok(akt__buf_put(s, p, 4), "put");
}

/* What protocol 1 (plaintext cookie) sent first: Frame{handshake{magic
 * "AKT1", version 1}}. Fields 1 and 2 of Frame are reserved since. */
static void old_handshake(akt__buf *s) {
  static const uint8_t f[] = {0x0a, 0x07, 0x0d, 0x31, 0x54, 0x4b, 0x41, 0x10, 0x01};
  put_raw_prefix(s, sizeof f);
  ok(akt__buf_put(s, f, sizeof f), "put");
}

static void heartbeat(akt__buf *s, uint64_t seq, int ack) {
  Akt__Wire__Heartbeat hb = AKT__WIRE__HEARTBEAT__INIT;
  Akt__Wire__HeartbeatAck ha = AKT__WIRE__HEARTBEAT_ACK__INIT;
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  if (ack) {
    ha.seq = seq;
    f.kind_case = AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK;
    f.heartbeat_ack = &ha;
  } else {
    hb.seq = seq;
    f.kind_case = AKT__WIRE__FRAME__KIND_HEARTBEAT;
    f.heartbeat = &hb;
  }
  put_frame(s, &f);
}

static void close_frame(akt__buf *s, const char *reason) {
  Akt__Wire__Close c = AKT__WIRE__CLOSE__INIT;
  c.reason = (char *)(uintptr_t)reason;
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  f.kind_case = AKT__WIRE__FRAME__KIND_CLOSE;
  f.close = &c;
  put_frame(s, &f);
}

/* ---- envelopes ------------------------------------------------------------------ */

typedef struct env {
  const char *target;
  uint64_t target_id;
  const char *sender;
  uint64_t sender_id;
  const char *type;            /* NULL: msg's type */
  const ProtobufCMessage *msg; /* NULL: raw */
  const char *raw;             /* payload bytes when msg is NULL */
  uint64_t corr;
  uint32_t flags;
} env;

/* Appends one Batch.envelopes entry (0x0a, varint length, Envelope) to
 * body: the bytes akt__endpoint_send packs by hand into the endpoint queue
 * (tests/remote/test_wire_fastpath.c checks they are protobuf-c's). */
static void put_env(akt__buf *body, const env *v) {
  Akt__Wire__Envelope e = AKT__WIRE__ENVELOPE__INIT;
  e.target = (char *)(uintptr_t)(v->target ? v->target : "");
  e.target_id = v->target_id;
  e.sender = (char *)(uintptr_t)(v->sender ? v->sender : "");
  e.sender_id = v->sender_id;
  e.type = (char *)(uintptr_t)(v->type ? v->type : v->msg ? v->msg->descriptor->name : "");
  uint8_t payload[8192];
  if (v->msg) {
    size_t n = protobuf_c_message_get_packed_size(v->msg);
    if (n > sizeof payload) die("payload too large");
    protobuf_c_message_pack(v->msg, payload);
    e.payload.data = payload;
    e.payload.len = n;
  } else if (v->raw) {
    e.payload.data = (uint8_t *)(uintptr_t)v->raw;
    e.payload.len = strlen(v->raw);
  }
  e.corr = v->corr;
  e.flags = v->flags;
  size_t n = protobuf_c_message_get_packed_size(&e.base);
  uint8_t tag = (1 << 3) | 2;
  ok(akt__buf_put(body, &tag, 1) || akt__buf_varint(body, n) || akt__buf_reserve(body, n), "env");
  protobuf_c_message_pack(&e.base, body->data + body->len);
  body->len += n;
}

/* One Batch frame of the envelopes in v[0..n), written like the writer
 * writes it. */
static void batch(akt__buf *s, const env *v, size_t n) {
  akt__buf body = {0};
  for (size_t i = 0; i < n; i++) put_env(&body, &v[i]);
  ok(akt__frame_batch(body.data, body.len, s), "batch");
  akt__buf_free(&body);
}

static void batch1(akt__buf *s, env v) { batch(s, &v, 1); }

/* ---- messages ---------------------------------------------------------------------- */

static Akt__Fuzz__Add add5 = AKT__FUZZ__ADD__INIT;
static Akt__Fuzz__Get get = AKT__FUZZ__GET__INIT;
static Akt__Fuzz__Total total = AKT__FUZZ__TOTAL__INIT;
static Akt__Fuzz__Echo echo = AKT__FUZZ__ECHO__INIT;
static Akt__RemoteLookup lookup = AKT__REMOTE_LOOKUP__INIT;
static Akt__RemoteLookup lookup_missing = AKT__REMOTE_LOOKUP__INIT;
static Akt__RemoteSpawn spawn_counter = AKT__REMOTE_SPAWN__INIT;
static Akt__RemoteSpawn spawn_unknown = AKT__REMOTE_SPAWN__INIT;
static Akt__RemoteStop stop_echo = AKT__REMOTE_STOP__INIT;
static Akt__RemoteWatch watch_counter = AKT__REMOTE_WATCH__INIT;
static Akt__RemoteWatch watch_gone = AKT__REMOTE_WATCH__INIT;
static Akt__RemoteUnwatch unwatch_counter = AKT__REMOTE_UNWATCH__INIT;
static Akt__Terminated terminated = AKT__TERMINATED__INIT;
static Akt__PoisonPill pill = AKT__POISON_PILL__INIT;

static uint64_t words_ns[3] = {1, 300, UINT64_MAX};
static char *words[2] = {"alpha", "beta"};
static Akt__Fuzz__Echo__CountsEntry count_a = AKT__FUZZ__ECHO__COUNTS_ENTRY__INIT;
static Akt__Fuzz__Echo__CountsEntry *counts[1] = {&count_a};
static Akt__Fuzz__Echo nested[64];
/* One level deeper than AKT_MSG_MAX_DEPTH below the first: refused unread. */
static Akt__Fuzz__Echo too_deep[AKT_MSG_MAX_DEPTH + 2];

static void init_messages(void) {
  add5.amount = 5;
  total.value = 7;
  echo.text = "hello";
  echo.blob.data = (uint8_t *)"\x00\x01\x02";
  echo.blob.len = 3;
  echo.n_ns = 3;
  echo.ns = words_ns;
  echo.n_words = 2;
  echo.words = words;
  count_a.key = "a";
  count_a.value = -1;
  echo.n_counts = 1;
  echo.counts = counts;
  echo.choice_case = AKT__FUZZ__ECHO__CHOICE_NUMBER;
  echo.number = -42;
  /* A chain of 64 nested Echos. */
  for (int i = 0; i < 64; i++) {
    akt__fuzz__echo__init(&nested[i]);
    nested[i].text = "n";
    nested[i].next = i + 1 < 64 ? &nested[i + 1] : NULL;
  }
  for (size_t i = 0; i < sizeof too_deep / sizeof too_deep[0]; i++) {
    akt__fuzz__echo__init(&too_deep[i]);
    too_deep[i].next = i + 1 < sizeof too_deep / sizeof too_deep[0] ? &too_deep[i + 1] : NULL;
  }
  lookup.path = "/user/echo";
  lookup_missing.path = "/user/nobody";
  spawn_counter.kind = "counter";
  spawn_counter.name = "made";
  spawn_unknown.kind = "no-such-kind";
  stop_echo.path = "/user/echo";
  watch_counter.path = "/user/counter";
  watch_gone.path = "/user/gone";
  unwatch_counter.path = "/user/counter";
  terminated.path = "/user/sink";
  terminated.id = 3;
  terminated.address = SINK;
}

static void auth_take(akt__auth *from, akt__auth *to, akt__buf *s);

/* ---- the targets' seeds --------------------------------------------------------------- */

static void frame_seeds(void) {
  akt__buf s = {0};
  old_handshake(&s);
  seed("frame", "reserved-kind", 0, &s);
  akt__buf_free(&s);

  heartbeat(&s, 1, 0);
  heartbeat(&s, 1, 1);
  seed("frame", "heartbeats", 3, &s);
  akt__buf_free(&s);

  close_frame(&s, "node shutting down");
  seed("frame", "close", 0, &s);
  akt__buf_free(&s);

  env v[] = {
      {.target = "/user/counter", .sender = SINK, .sender_id = 3, .msg = &add5.base},
      {.target = "/user/counter", .sender = SINK, .msg = &get.base, .corr = 1, .flags = 1},
      {.target = "/user/echo", .msg = &echo.base},
  };
  batch(&s, v, 3);
  seed("frame", "batch", 0, &s);
  seed("frame", "batch-split7", 7, &s);
  akt__buf_free(&s);

  /* A whole conversation, cut in pieces of up to 200 bytes. */
  heartbeat(&s, 1, 0);
  batch(&s, v, 3);
  close_frame(&s, "bye");
  seed("frame", "stream", 200, &s);
  /* The same, cut short inside the batch. */
  s.len -= 20;
  seed("frame", "truncated", 0, &s);
  akt__buf_free(&s);

  /* A payload nested one level past AKT_MSG_MAX_DEPTH. */
  batch1(&s, (env){.target = "/user/echo", .msg = &too_deep[0].base});
  seed("frame", "too-deep", 0, &s);
  akt__buf_free(&s);

  /* A frame of length 0 (an empty Frame), and one with an unknown field. */
  put_raw_prefix(&s, 0);
  put_raw_prefix(&s, 2);
  ok(akt__buf_put(&s, "\x78\x01", 2), "put"); /* field 15, varint 1 */
  seed("frame", "empty-and-unknown", 0, &s);
  akt__buf_free(&s);

  /* Declared lengths over the limit: one byte over, and the largest. */
  put_raw_prefix(&s, AKT_FUZZ_MAX_FRAME + 1);
  ok(akt__buf_put(&s, "xxxx", 4), "put");
  seed("frame", "oversize", 0, &s);
  akt__buf_free(&s);
  heartbeat(&s, 2, 0);
  put_raw_prefix(&s, UINT32_MAX);
  seed("frame", "oversize-max", 2, &s);
  akt__buf_free(&s);

  /* Garbage: a frame whose body is not a Frame, and raw bytes. */
  put_raw_prefix(&s, 6);
  ok(akt__buf_put(&s, "\x0a\xff\xff\xff\xff\x0f", 6), "put");
  seed("frame", "malformed", 0, &s);
  akt__buf_free(&s);
  uint32_t x = 0x12345678;
  for (int i = 0; i < 64; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    uint8_t b = (uint8_t)(x >> 24);
    ok(akt__buf_put(&s, &b, 1), "put");
  }
  s.data[0] = s.data[1] = s.data[2] = 0; /* a small declared length */
  seed("frame", "garbage", 5, &s);
  akt__buf_free(&s);
}

/* The peer's side of a whole cookie exchange with node0 (Hello, Proof),
 * recorded against a connection made as the handshake harness makes its
 * own, in a world made the same way: node0's nonce, and so the proof,
 * are the same there. */
static void record_exchange(akt__buf *sent) {
  akt_fuzz_world fw;
  akt_fuzz_world_up(&fw, 1);
  akt__buf out = {0};
  akt__conn *c = akt__conn_detached(akt__remote_of(fw.systems[0]), NULL, &out);
  if (!c) die("handshake: out of memory");
  ok(akt__conn_detached_handshake(c, AKT_FUZZ_PEER_NODE, AKT_FUZZ_PEER_INCARNATION,
                                  AKT_FUZZ_PEER_SEQ, sent),
     "handshake: node0 refused the recorded exchange");
  akt__conn_detached_free(c);
  akt__buf_free(&out);
  akt_fuzz_world_down(&fw);
}

/* A Hello from node1 to `to_system` (version, address as given): what an
 * initiator with these settings writes first. */
static void hello(akt__buf *s, uint32_t version, const char *to_system, const char *address) {
  uint8_t random[AKT__AUTH_RANDOM_MIN];
  memset(random, 7, sizeof random);
  akt__auth_config cfg = {.role = AKT__AUTH_INITIATOR,
                          .cookie = (const uint8_t *)AKT_FUZZ_COOKIE,
                          .cookie_len = strlen(AKT_FUZZ_COOKIE),
                          .channel = "remoting",
                          .version = version,
                          .system = AKT_FUZZ_PEER_SYSTEM,
                          .address = address,
                          .incarnation = AKT_FUZZ_PEER_INCARNATION,
                          .expect_system = to_system,
                          .conn_seq = AKT_FUZZ_PEER_SEQ,
                          .random = random,
                          .random_len = sizeof random};
  akt__auth *a = calloc(1, sizeof *a);
  if (!a) die("out of memory");
  ok(akt__auth_init(a, &cfg), "hello: init");
  auth_take(a, NULL, s);
  akt__auth_clear(a);
  free(a);
}

static void handshake_seeds(void) {
  akt__buf ex = {0}, s = {0};
  record_exchange(&ex);
  seed("handshake", "valid", 0, &ex);
  seed("handshake", "valid-bytewise", 1, &ex);
  /* After it, everything an inbound connection may get. */
  ok(akt__buf_put(&s, ex.data, ex.len), "put");
  heartbeat(&s, 1, 0);
  env v[] = {
      {.target = "/user/counter", .sender = SINK, .msg = &add5.base},
      {.target = "/user/echo", .sender = SINK, .msg = &echo.base, .corr = 5, .flags = 1},
  };
  batch(&s, v, 2);
  close_frame(&s, "bye");
  seed("handshake", "valid-then-traffic", 0, &s);
  seed("handshake", "valid-then-traffic-split", 9, &s);
  akt__buf_free(&s);
  /* The exchange, broken: a proof off by one bit (what a wrong cookie or a
   * replay to another connection looks like), the Hello alone, twice. */
  ok(akt__buf_put(&s, ex.data, ex.len), "put");
  s.data[s.len - 1] ^= 0x01;
  seed("handshake", "wrong-proof", 0, &s);
  akt__buf_free(&s);
  hello(&s, AKT_REMOTE_PROTOCOL_VERSION, AKT_FUZZ_SYSTEM, AKT_FUZZ_PEER_NODE);
  seed("handshake", "hello", 0, &s);
  hello(&s, AKT_REMOTE_PROTOCOL_VERSION, AKT_FUZZ_SYSTEM, AKT_FUZZ_PEER_NODE);
  seed("handshake", "hello-twice", 0, &s);
  akt__buf_free(&s);
  hello(&s, AKT_REMOTE_PROTOCOL_VERSION + 1, AKT_FUZZ_SYSTEM, AKT_FUZZ_PEER_NODE);
  seed("handshake", "bad-version", 0, &s);
  akt__buf_free(&s);
  hello(&s, AKT_REMOTE_PROTOCOL_VERSION, "other", AKT_FUZZ_PEER_NODE);
  seed("handshake", "wrong-system", 0, &s);
  akt__buf_free(&s);
  hello(&s, AKT_REMOTE_PROTOCOL_VERSION, AKT_FUZZ_SYSTEM, "akt://" AKT_FUZZ_PEER_SYSTEM "@x");
  seed("handshake", "address-without-port", 0, &s);
  akt__buf_free(&s);
  /* What is not the exchange: frames of an open connection first, the
   * protocol without authentication, TLS, a length over the limit, an
   * auth frame of unknown fields only, a truncated exchange. */
  heartbeat(&s, 1, 0);
  seed("handshake", "heartbeat-first", 0, &s);
  akt__buf_free(&s);
  batch1(&s, v[0]);
  seed("handshake", "batch-first", 0, &s);
  akt__buf_free(&s);
  close_frame(&s, "not now");
  seed("handshake", "close-first", 0, &s);
  akt__buf_free(&s);
  old_handshake(&s);
  seed("handshake", "unauthenticated-protocol", 0, &s);
  akt__buf_free(&s);
  static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03};
  ok(akt__buf_put(&s, tls, sizeof tls), "put");
  seed("handshake", "tls-client-hello", 0, &s);
  akt__buf_free(&s);
  put_raw_prefix(&s, AKT_REMOTE_DEFAULT_MAX_FRAME + 1);
  seed("handshake", "oversize", 0, &s);
  akt__buf_free(&s);
  put_raw_prefix(&s, AKT__AUTH_MAX_FRAME);
  for (unsigned k = 0; k < AKT__AUTH_MAX_FRAME / 2; k++) {
    uint8_t unknown[2] = {15 << 3, 1};
    ok(akt__buf_put(&s, unknown, 2), "put");
  }
  seed("handshake", "unknown-fields", 0, &s);
  akt__buf_free(&s);
  ok(akt__buf_put(&s, ex.data, ex.len - 5), "put");
  seed("handshake", "truncated", 0, &s);
  akt__buf_free(&s);
  akt__buf_free(&ex);
}

static void dispatch_seeds(const akt_fuzz_world *fw) {
  /* The ids of node0's actors, as the harness's world makes them. */
  akt_pid *echo_pid = NULL;
  ok(akt_lookup(fw->systems[0], "/user/echo", &echo_pid), "lookup");
  uint64_t echo_id = akt_pid_id(echo_pid);
  akt_pid_release(echo_pid);

  struct {
    const char *name;
    env v;
  } singles[] = {
      {"add", {.target = "/user/counter", .msg = &add5.base}},
      {"get-request", {.target = "/user/counter", .sender = SINK, .sender_id = 3, .msg = &get.base,
                       .corr = 11, .flags = 1}},
      {"echo", {.target = "/user/echo", .sender = SINK, .msg = &echo.base}},
      {"echo-id", {.target = "/user/echo", .target_id = echo_id, .sender = SINK, .msg = &echo.base}},
      {"echo-wrong-id", {.target = "/user/echo", .target_id = echo_id + 1000, .msg = &echo.base}},
      {"echo-nested", {.target = "/user/echo", .sender = SINK, .msg = &nested[0].base}},
      {"echo-too-deep", {.target = "/user/echo", .sender = SINK, .msg = &too_deep[0].base}},
      {"child", {.target = "/user/parent/child", .sender = SINK, .msg = &echo.base}},
      {"missing-actor", {.target = "/user/nobody", .sender = SINK, .msg = &add5.base}},
      {"relative-target", {.target = "user/echo", .msg = &add5.base}},
      {"unknown-type", {.target = "/user/echo", .sender = SINK, .type = "akt.fuzz.Nope",
                        .raw = "\x08\x01"}},
      {"bad-payload", {.target = "/user/counter", .type = "akt.fuzz.Add", .raw = "\x08"}},
      {"reply", {.target = "/user/echo", .sender = SINK, .msg = &total.base, .corr = 9,
                 .flags = 2}},
      {"lookup", {.target = "/system/remoting", .sender = SINK, .msg = &lookup.base, .corr = 1,
                  .flags = 1}},
      {"lookup-missing", {.target = "/system/remoting", .sender = SINK,
                          .msg = &lookup_missing.base, .corr = 2, .flags = 1}},
      {"spawn", {.target = "/system/remoting", .sender = SINK, .msg = &spawn_counter.base,
                 .corr = 3, .flags = 1}},
      {"spawn-unknown", {.target = "/system/remoting", .sender = SINK,
                         .msg = &spawn_unknown.base, .corr = 4, .flags = 1}},
      {"stop", {.target = "/system/remoting", .sender = SINK, .msg = &stop_echo.base}},
      {"watch", {.target = "/system/remoting", .sender = SINK, .msg = &watch_counter.base}},
      {"watch-gone", {.target = "/system/remoting", .sender = SINK, .msg = &watch_gone.base}},
      {"unwatch", {.target = "/system/remoting", .sender = SINK, .msg = &unwatch_counter.base}},
      {"terminated", {.target = "/user/echo", .sender = SINK, .sender_id = 3,
                      .msg = &terminated.base}},
      {"poison-pill", {.target = "/user/counter", .sender = SINK, .msg = &pill.base}},
      {"sender-local", {.target = "/user/echo", .sender = AKT_FUZZ_NODE "/user/counter",
                        .msg = &add5.base}},
      {"sender-self", {.target = "/user/echo", .sender = AKT_FUZZ_NODE "/user/echo",
                       .msg = &echo.base}},
      {"sender-unknown-node", {.target = "/user/echo", .sender = "akt://x@nowhere:1/user/y",
                               .msg = &echo.base}},
      {"sender-malformed", {.target = "/user/echo", .sender = "akt://x@:99999", .msg = &echo.base}},
      {"sender-ipv6", {.target = "/user/echo", .sender = "akt://x@[::1]:2552/user/y",
                       .msg = &echo.base}},
  };
  akt__buf s = {0};
  for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) {
    batch1(&s, singles[i].v);
    seed("dispatch", singles[i].name, 0, &s);
    akt__buf_free(&s);
  }

  /* Many envelopes in one batch, and several batches cut in pieces. */
  env many[100];
  for (int i = 0; i < 100; i++)
    many[i] = (env){.target = i % 2 ? "/user/counter" : "/user/echo", .sender = SINK,
                    .msg = i % 2 ? &add5.base : &echo.base};
  batch(&s, many, 100);
  seed("dispatch", "batch-100", 0, &s);
  akt__buf_free(&s);
  for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) batch1(&s, singles[i].v);
  seed("dispatch", "all-split", 64, &s);
  akt__buf_free(&s);

  /* The rest of an open connection's traffic. */
  heartbeat(&s, 1, 0);
  heartbeat(&s, 2, 0);
  seed("dispatch", "heartbeats", 0, &s);
  akt__buf_free(&s);
  batch1(&s, singles[0].v);
  close_frame(&s, "bye");
  batch1(&s, singles[0].v);
  seed("dispatch", "close-then-batch", 0, &s);
  akt__buf_free(&s);
  hello(&s, AKT_REMOTE_PROTOCOL_VERSION, AKT_FUZZ_SYSTEM, AKT_FUZZ_PEER_NODE);
  seed("dispatch", "hello-after-open", 0, &s);
  akt__buf_free(&s);
  heartbeat(&s, 1, 1);
  seed("dispatch", "heartbeat-ack", 0, &s);
  akt__buf_free(&s);
  char longname[AKT_REMOTE_DEFAULT_MAX_NAME + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[0] = '/';
  longname[sizeof longname - 1] = '\0';
  batch1(&s, (env){.target = longname, .msg = &add5.base});
  seed("dispatch", "long-target", 0, &s);
  akt__buf_free(&s);
  /* An empty batch, and a Batch frame encoded by akt__frame_encode. */
  ok(akt__frame_batch(NULL, 0, &s), "batch");
  seed("dispatch", "empty-batch", 0, &s);
  akt__buf_free(&s);
  put_raw_prefix(&s, AKT_REMOTE_DEFAULT_MAX_FRAME + 1);
  seed("dispatch", "oversize", 0, &s);
  akt__buf_free(&s);
}

/* ---- auth --------------------------------------------------------------------- */

/* Moves what `from` wrote into *s (and, when `to` is given, feeds it). */
static void auth_take(akt__auth *from, akt__auth *to, akt__buf *s) {
  size_t len;
  const uint8_t *out = akt__auth_take_output(from, &len);
  if (!out) die("auth: nothing written");
  ok(akt__buf_put(s, out, len), "put");
  if (to && akt__auth_feed(to, s->data + s->len - len, len, NULL) != 0) die("auth: refused");
}

static void auth_frame(akt__buf *s, const Akt__Auth__AuthFrame *f) {
  uint8_t body[AKT__AUTH_MAX_FRAME];
  size_t n = akt__auth__auth_frame__get_packed_size(f);
  if (n > sizeof body) die("auth: frame too large");
  akt__auth__auth_frame__pack(f, body);
  put_raw_prefix(s, (uint32_t)n);
  ok(akt__buf_put(s, body, n), "put");
}

/* The auth target feeds one stream to an acceptor and to an initiator:
 * seeds hold what a real peer sends either (made by the harness's own
 * sides, so the proofs are right), cut in various ways, and broken. */
static void auth_seeds(void) {
  akt__auth *i = calloc(1, sizeof *i), *a = calloc(1, sizeof *a);
  if (!i || !a) die("out of memory");
  akt_fuzz_auth_sides(i, a);
  akt__buf hello = {0}, challenge = {0}, proof = {0}, result = {0}, s = {0};
  auth_take(i, a, &hello);
  auth_take(a, i, &challenge);
  auth_take(i, a, &proof);
  auth_take(a, i, &result);
  if (akt__auth_get_state(i) != AKT__AUTH_DONE || akt__auth_get_state(a) != AKT__AUTH_DONE)
    die("auth: the sides did not authenticate");

  /* To the acceptor: Hello, Proof, then the first bytes of what follows. */
  ok(akt__buf_put(&s, hello.data, hello.len), "put");
  ok(akt__buf_put(&s, proof.data, proof.len), "put");
  heartbeat(&s, 1, 0);
  seed("auth", "acceptor-exchange", 0, &s);
  seed("auth", "acceptor-exchange-bytewise", 1, &s);
  seed("auth", "acceptor-exchange-pieces", 9, &s);
  seed("auth", "hello", 0, &hello);
  /* A wrong proof. */
  s.len = 0;
  ok(akt__buf_put(&s, hello.data, hello.len), "put");
  ok(akt__buf_put(&s, proof.data, proof.len), "put");
  s.data[s.len - 1] ^= 0x40;
  seed("auth", "acceptor-wrong-proof", 0, &s);
  /* To the initiator: Challenge, Result. */
  s.len = 0;
  ok(akt__buf_put(&s, challenge.data, challenge.len), "put");
  ok(akt__buf_put(&s, result.data, result.len), "put");
  seed("auth", "initiator-exchange", 0, &s);
  seed("auth", "initiator-exchange-pieces", 5, &s);
  /* A refusal. */
  s.len = 0;
  Akt__Auth__Result r = AKT__AUTH__RESULT__INIT;
  r.reason = (ProtobufCBinaryData){strlen("authentication failed"),
                                   (uint8_t *)"authentication failed"};
  Akt__Auth__AuthFrame f = AKT__AUTH__AUTH_FRAME__INIT;
  f.kind_case = AKT__AUTH__AUTH_FRAME__KIND_RESULT;
  f.result = &r;
  auth_frame(&s, &f);
  seed("auth", "refusal", 0, &s);
  /* Not auth at all: a TLS ClientHello's first bytes, akt's handshake
   * without authentication, an oversize prefix, unknown fields. */
  s.len = 0;
  static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03};
  ok(akt__buf_put(&s, tls, sizeof tls), "put");
  seed("auth", "tls-client-hello", 0, &s);
  s.len = 0;
  old_handshake(&s);
  seed("auth", "old-handshake", 0, &s);
  s.len = 0;
  put_raw_prefix(&s, AKT__AUTH_MAX_FRAME + 1);
  seed("auth", "oversize", 0, &s);
  s.len = 0;
  put_raw_prefix(&s, AKT__AUTH_MAX_FRAME);
  for (unsigned k = 0; k < AKT__AUTH_MAX_FRAME / 2; k++) {
    uint8_t unknown[2] = {15 << 3, 1};
    ok(akt__buf_put(&s, unknown, 2), "put");
  }
  seed("auth", "unknown-fields", 0, &s);
  akt__buf_free(&hello);
  akt__buf_free(&challenge);
  akt__buf_free(&proof);
  akt__buf_free(&result);
  akt__buf_free(&s);
  akt__auth_clear(i);
  akt__auth_clear(a);
  free(i);
  free(a);
}

/* ---- mDNS datagrams ------------------------------------------------------------ */

/* Appends one datagram to s: its 2-byte header (length, and whether it
 * comes from another port than mDNS's), then its bytes. */
static void put_bytes_dgram(akt__buf *s, const uint8_t *bytes, size_t n, int other_port) {
  uint16_t h = (uint16_t)(n | (other_port ? 0x8000u : 0));
  uint8_t hb[2] = {(uint8_t)(h >> 8), (uint8_t)h};
  ok(akt__buf_put(s, hb, 2), "put");
  ok(akt__buf_put(s, bytes, n), "put");
}

static void put_dgram(akt__buf *s, const akt__mdns_writer *w, int other_port) {
  put_bytes_dgram(s, w->buf, w->len, other_port);
}

static void put_raw_dgram(akt__buf *s, const uint8_t *bytes, size_t n) {
  put_bytes_dgram(s, bytes, n, 0);
}

static akt__mdns_name mname(const char *text) {
  akt__mdns_name n;
  ok(akt__mdns_name_from_text(&n, text), "mdns name");
  return n;
}

static akt__mdns_record mrec(akt__mdns_section section, const char *name, uint16_t type,
                             uint32_t ttl) {
  akt__mdns_record r;
  memset(&r, 0, sizeof r);
  r.section = section;
  r.name = mname(name);
  r.type = type;
  r.klass = AKT__MDNS_IN;
  r.ttl = ttl;
  r.flush = type != AKT__MDNS_PTR;
  return r;
}

/* A response announcing instance `inst` at host:port (with an A record
 * when a is not NULL), every record with `ttl`. */
static void announce(akt__mdns_writer *w, uint8_t *buf, size_t cap, const char *inst,
                     const char *host, uint16_t port, const uint8_t *a, uint32_t ttl) {
  char iname[128];
  snprintf(iname, sizeof iname, "%s._akt._udp.local", inst);
  akt__mdns_w_init(w, buf, cap, 0, AKT__MDNS_QR | AKT__MDNS_AA);
  akt__mdns_record r = mrec(AKT__MDNS_ANSWER, "_akt._udp.local", AKT__MDNS_PTR, ttl);
  r.target = mname(iname);
  ok(akt__mdns_w_record(w, &r), "ptr");
  r = mrec(AKT__MDNS_ANSWER, iname, AKT__MDNS_SRV, ttl);
  r.target = mname(host);
  r.port = port;
  ok(akt__mdns_w_record(w, &r), "srv");
  r = mrec(AKT__MDNS_ANSWER, iname, AKT__MDNS_TXT, ttl);
  ok(akt__mdns_w_record(w, &r), "txt");
  if (a) {
    r = mrec(AKT__MDNS_ADDITIONAL, host, AKT__MDNS_A, ttl);
    memcpy(r.addr, a, 4);
    ok(akt__mdns_w_record(w, &r), "a");
  }
}

static void ptr_query(akt__mdns_writer *w, uint8_t *buf, size_t cap, uint16_t id,
                      const char *known) {
  akt__mdns_w_init(w, buf, cap, id, 0);
  akt__mdns_name svc = mname("_akt._udp.local");
  ok(akt__mdns_w_question(w, &svc, AKT__MDNS_PTR, 0), "question");
  if (known) {
    akt__mdns_record r = mrec(AKT__MDNS_ANSWER, "_akt._udp.local", AKT__MDNS_PTR, 4500);
    r.target = mname(known);
    ok(akt__mdns_w_record(w, &r), "known answer");
  }
}

static void mdns_seeds(void) {
  static uint8_t buf[AKT__MDNS_PACKET_MAX];
  static const uint8_t ip[4] = {10, 0, 0, 9};
  akt__mdns_writer w;
  akt__buf s = {0};
#define MDNS_SEED(name)            \
  do {                             \
    seed("mdns", name, 0, &s);     \
    akt__buf_free(&s);             \
    memset(&s, 0, sizeof s);       \
  } while (0)
  ptr_query(&w, buf, sizeof buf, 0, NULL);
  put_dgram(&s, &w, 0);
  MDNS_SEED("query");
  ptr_query(&w, buf, sizeof buf, 0, "node0._akt._udp.local");
  put_dgram(&s, &w, 0);
  MDNS_SEED("query-known-answer");
  ptr_query(&w, buf, sizeof buf, 0x1234, NULL);
  put_dgram(&s, &w, 1);
  MDNS_SEED("query-legacy");
  akt__mdns_w_init(&w, buf, sizeof buf, 0, 0);
  akt__mdns_name inst = mname("node0._akt._udp.local"), host = mname("node0.local");
  ok(akt__mdns_w_question(&w, &inst, AKT__MDNS_ANY, 1), "question");
  ok(akt__mdns_w_question(&w, &host, AKT__MDNS_A, 0), "question");
  put_dgram(&s, &w, 0);
  MDNS_SEED("query-instance");
  announce(&w, buf, sizeof buf, "node9", "node9.local", 7946, NULL, 120);
  put_dgram(&s, &w, 0);
  MDNS_SEED("announce-by-name");
  announce(&w, buf, sizeof buf, "peer", "peer.local", 7946, ip, 120);
  put_dgram(&s, &w, 0);
  MDNS_SEED("announce-with-address");
  announce(&w, buf, sizeof buf, "peer", "peer.local", 7946, ip, 120);
  put_dgram(&s, &w, 0);
  announce(&w, buf, sizeof buf, "peer", "peer.local", 7946, ip, 0);
  put_dgram(&s, &w, 0);
  MDNS_SEED("announce-then-goodbye");
  announce(&w, buf, sizeof buf, "node0", "node0.local", 1, NULL, 120);
  put_dgram(&s, &w, 0);
  MDNS_SEED("conflict");
  announce(&w, buf, sizeof buf, "mallory", "mallory.local", 7946, ip, 120);
  put_dgram(&s, &w, 1);
  MDNS_SEED("answer-from-another-port");
  akt__mdns_w_init(&w, buf, sizeof buf, 0, AKT__MDNS_QR | AKT__MDNS_AA);
  for (int i = 0; i < AKT__MDNS_MAX_RECORDS + 8; i++) {
    char iname[64];
    snprintf(iname, sizeof iname, "n%d._akt._udp.local", i);
    akt__mdns_record r = mrec(AKT__MDNS_ANSWER, "_akt._udp.local", AKT__MDNS_PTR, 120);
    r.target = mname(iname);
    ok(akt__mdns_w_record(&w, &r), "many");
  }
  put_dgram(&s, &w, 0);
  MDNS_SEED("many-records");
  /* Avahi's style: compressed names (the PTR's target, the SRV's name and
   * target, the A record's name all point back). */
  static const uint8_t compressed[] = {
      0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x04, '_', 'a',
      'k', 't', 0x04, '_', 'u', 'd', 'p', 0x05, 'l', 'o', 'c', 'a', 'l', 0x00, 0x00, 0x0c,
      0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x08, 0x05, 'n', 'o', 'd', 'e', '1', 0xc0,
      0x0c, 0xc0, 0x27, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x0e, 0x00,
      0x00, 0x00, 0x00, 0x1f, 0x0a, 0x05, 'n', 'o', 'd', 'e', '1', 0xc0, 0x16, 0xc0, 0x41,
      0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 10, 0, 0, 7};
  put_raw_dgram(&s, compressed, sizeof compressed);
  MDNS_SEED("compressed");
  static const uint8_t loop[] = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
  put_raw_dgram(&s, loop, sizeof loop);
  MDNS_SEED("pointer-loop");
#undef MDNS_SEED
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  outdir = argv[1];
  make_dir(outdir);
  init_messages();
  frame_seeds();
  handshake_seeds();
  auth_seeds();
  mdns_seeds();
  akt_fuzz_world fw;
  akt_fuzz_world_up(&fw, 2);
  dispatch_seeds(&fw);
  akt_fuzz_world_down(&fw);
  printf("akt-fuzz-gen-corpus: wrote %u seed files under %s\n", written, outdir);
  return 0;
}
