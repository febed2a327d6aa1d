/* akt — fuzz target "frame": the framer and the Frame decoder.
 *
 * The input's stream goes through an akt__framer twice: in the pieces
 * akt_fuzz_split cuts, and in one piece. Both must hand out the same frames
 * and end the same way (the framer's fast path and its buffering path
 * disagree otherwise). Each frame is unpacked as akt.wire.Frame; one that
 * decodes is packed again with akt__frame_encode, and a Batch also with
 * akt__frame_batch (the writer's hand-made encoding), and each result must
 * decode to the same bytes. The receiver's zero-copy scanner (scan.h) must
 * read a frame only when protobuf-c decodes it, and read the same
 * envelopes. Each envelope's payload, read as akt.fuzz.Echo (a recursive
 * type), passes the depth walk (akt__scan_depth) only when protobuf-c
 * unpacks it, if at all, no deeper than AKT_MSG_MAX_DEPTH.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/message.h"
#include "fuzz.pb-c.h"
#include "fuzz/harness.h"
#include "src/remote/remote.h"

typedef struct frame_log {
  size_t frames;
  uint64_t hash; /* of every frame's length and bytes, in order */
} frame_log;

static void log_frame(frame_log *lg, const uint8_t *frame, size_t len) {
  uint64_t n = len;
  lg->frames++;
  lg->hash = XXH3_64bits_withSeed(&n, sizeof n, lg->hash);
  if (len) lg->hash = XXH3_64bits_withSeed(frame, len, lg->hash);
}

/* Cuts the single frame in `buf` out of its length prefix, through a
 * framer of its own (so the prefix is checked too). */
typedef struct one_frame {
  const uint8_t *data;
  size_t len;
  int count;
} one_frame;

static int take_one(void *arg, const uint8_t *frame, size_t len) {
  one_frame *o = arg;
  o->data = frame;
  o->len = len;
  o->count++;
  return 0;
}

static void reframe(const akt__buf *buf, one_frame *o) {
  akt__framer f = {.max = SIZE_MAX};
  memset(o, 0, sizeof *o);
  /* The fast path hands out frames in place: `o` points into buf. */
  if (akt__framer_feed(&f, buf->data, buf->len, take_one, o) != 0 || o->count != 1 || f.in.len)
    akt_fuzz_die("frame: an encoded frame does not come back out of the framer");
  akt__framer_free(&f);
}

/* Packs `m` as a Frame and decodes it again: the result must pack to the
 * same bytes (a decoded message packs canonically). */
static void check_encode(const Akt__Wire__Frame *m) {
  akt__buf a = {0}, b = {0};
  if (akt__frame_encode(m, SIZE_MAX, &a) != 0) akt_fuzz_die("frame: akt__frame_encode failed");
  one_frame o;
  reframe(&a, &o);
  Akt__Wire__Frame *again = akt__wire__frame__unpack(NULL, o.len, o.data);
  if (!again) akt_fuzz_die("frame: a frame akt__frame_encode wrote does not decode");
  if (again->kind_case != m->kind_case) akt_fuzz_die("frame: re-encoding changed the frame kind");
  if (akt__frame_encode(again, SIZE_MAX, &b) != 0) akt_fuzz_die("frame: akt__frame_encode failed");
  if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
    akt_fuzz_die("frame: encode(decode(encode(frame))) differs from encode(frame)");
  akt__wire__frame__free_unpacked(again, NULL);
  akt__buf_free(&a);
  akt__buf_free(&b);
}

/* Re-sends a decoded batch the way the endpoint writer does: each envelope
 * packed as a Batch.envelopes entry, the frame around them by
 * akt__frame_batch. It must decode to the same envelopes. */
static void check_batch(const Akt__Wire__Batch *batch) {
  akt__buf body = {0}, out = {0};
  for (size_t i = 0; i < batch->n_envelopes; i++) {
    size_t n = protobuf_c_message_get_packed_size(&batch->envelopes[i]->base);
    uint8_t tag = (1 << 3) | 2;
    if (akt__buf_put(&body, &tag, 1) || akt__buf_varint(&body, n) || akt__buf_reserve(&body, n))
      akt_fuzz_die("frame: out of memory");
    protobuf_c_message_pack(&batch->envelopes[i]->base, body.data + body.len);
    body.len += n;
  }
  if (akt__frame_batch(body.data, body.len, &out) != 0) akt_fuzz_die("frame: akt__frame_batch failed");
  one_frame o;
  reframe(&out, &o);
  Akt__Wire__Frame *again = akt__wire__frame__unpack(NULL, o.len, o.data);
  if (!again || again->kind_case != AKT__WIRE__FRAME__KIND_BATCH)
    akt_fuzz_die("frame: a batch akt__frame_batch wrote does not decode as a batch");
  if (again->batch->n_envelopes != batch->n_envelopes)
    akt_fuzz_die("frame: akt__frame_batch changed the number of envelopes");
  for (size_t i = 0; i < batch->n_envelopes; i++) {
    const ProtobufCMessage *x = &batch->envelopes[i]->base, *y = &again->batch->envelopes[i]->base;
    size_t nx = protobuf_c_message_get_packed_size(x), ny = protobuf_c_message_get_packed_size(y);
    if (nx != ny) akt_fuzz_die("frame: akt__frame_batch changed an envelope");
    uint8_t *px = malloc(nx ? nx : 1), *py = malloc(ny ? ny : 1);
    if (!px || !py) akt_fuzz_die("frame: out of memory");
    protobuf_c_message_pack(x, px);
    protobuf_c_message_pack(y, py);
    if (memcmp(px, py, nx) != 0) akt_fuzz_die("frame: akt__frame_batch changed an envelope");
    free(px);
    free(py);
  }
  akt__wire__frame__free_unpacked(again, NULL);
  akt__buf_free(&body);
  akt__buf_free(&out);
}

/* 1 if `m` or a message inside it kept an unknown field numbered 0.
 * protobuf-c (1.4) refuses field number 0 only when its tag is one byte:
 * written as a longer varint (0x80 0x00) it is accepted and kept as an
 * unknown field, which packing writes back as the single byte 0x00 that
 * unpacking then refuses. Such a frame cannot survive a re-encoding, by
 * protobuf-c's doing, not akt's (akt never re-encodes a frame it read; see
 * docs/fuzzing.md), so the re-encoding checks skip it. */
static int has_field_zero(const ProtobufCMessage *m) {
  for (unsigned i = 0; i < m->n_unknown_fields; i++)
    if (m->unknown_fields[i].tag == 0) return 1;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    const char *member = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)member;
      for (size_t k = 0; k < n; k++)
        if (has_field_zero(items[k])) return 1;
      continue;
    }
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
      continue;
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
    if (sub && has_field_zero(sub)) return 1;
  }
  return 0;
}

/* A string field as protobuf-c unpacked it equals the scanner's bytes. */
static int same_str(const char *s, const uint8_t *p, size_t n) {
  return memcmp(s, p, n) == 0 && s[n] == '\0';
}

/* The depth walk lets through only what protobuf-c unpacks within
 * AKT_MSG_MAX_DEPTH levels (what it refuses is not unpacked here: it may
 * be nested deep enough to overflow the stack, the walk's reason to be). */
static void check_depth(const uint8_t *payload, size_t len) {
  const ProtobufCMessageDescriptor *d = &akt__fuzz__echo__descriptor;
  if (akt__scan_depth(d, payload, len) != 0) return;
  Akt__Fuzz__Echo *m = (Akt__Fuzz__Echo *)protobuf_c_message_unpack(d, NULL, len, payload);
  if (!m) return;
  unsigned levels = 0;
  for (const Akt__Fuzz__Echo *e = m; e->next; e = e->next) levels++;
  if (levels > AKT_MSG_MAX_DEPTH)
    akt_fuzz_die("frame: the depth walk lets through a payload nested too deep");
  protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* When the scanner reads the frame, protobuf-c (m) decoded it as a batch
 * of the same envelopes. */
static void check_scan(const uint8_t *frame, size_t len, const Akt__Wire__Frame *m) {
  const uint8_t *body, *p, *end;
  size_t body_len, n = 0;
  akt__env_view v;
  int got;
  if (!akt__scan_batch_frame(frame, len, &body, &body_len)) return;
  end = body + body_len;
  for (p = body; (got = akt__scan_envelope(&p, end, &v)) == 1;) n++;
  if (got < 0) return; /* not the scanner's: protobuf-c decides */
  if (!m) akt_fuzz_die("frame: the scanner reads a frame protobuf-c refuses");
  if (m->kind_case != AKT__WIRE__FRAME__KIND_BATCH)
    akt_fuzz_die("frame: the scanner reads a batch protobuf-c reads as another kind");
  if (n != m->batch->n_envelopes) akt_fuzz_die("frame: the scanner counts other envelopes");
  p = body;
  for (size_t i = 0; i < n; i++) {
    if (akt__scan_envelope(&p, end, &v) != 1) akt_fuzz_die("frame: a second scan differs");
    const Akt__Wire__Envelope *e = m->batch->envelopes[i];
    if (!same_str(e->target, v.target, v.target_len) ||
        !same_str(e->sender, v.sender, v.sender_len) || !same_str(e->type, v.type, v.type_len) ||
        e->payload.len != v.payload_len ||
        (v.payload_len && memcmp(e->payload.data, v.payload, v.payload_len) != 0) ||
        e->target_id != v.target_id || e->sender_id != v.sender_id || e->corr != v.corr ||
        e->flags != v.flags)
      akt_fuzz_die("frame: the scanner reads an envelope differently from protobuf-c");
    check_depth(v.payload, v.payload_len);
  }
}

static int on_frame(void *arg, const uint8_t *frame, size_t len) {
  log_frame(arg, frame, len);
  Akt__Wire__Frame *m = akt__wire__frame__unpack(NULL, len, frame);
  check_scan(frame, len, m);
  if (!m) return 0;
  if (!has_field_zero(&m->base)) {
    check_encode(m);
    if (m->kind_case == AKT__WIRE__FRAME__KIND_BATCH) check_batch(m->batch);
  }
  akt__wire__frame__free_unpacked(m, NULL);
  return 0;
}

static int on_frame_whole(void *arg, const uint8_t *frame, size_t len) {
  log_frame(arg, frame, len);
  return 0;
}

typedef struct pieces {
  akt__framer framer;
  frame_log log;
} pieces;

static int feed_piece(void *arg, const uint8_t *piece, size_t len) {
  pieces *p = arg;
  return akt__framer_feed(&p->framer, piece, len, on_frame, &p->log);
}

int akt_fuzz_frame(const uint8_t *data, size_t len) {
  pieces p = {.framer = {.max = AKT_FUZZ_MAX_FRAME}};
  int rc_pieces = akt_fuzz_split(data, len, feed_piece, &p);
  if (rc_pieces != 0 && rc_pieces != AKT_ELIMIT) akt_fuzz_die("frame: the framer failed");
  /* Never more buffered than one frame and its prefix. */
  if (p.framer.in.len > AKT_FUZZ_MAX_FRAME + 4) akt_fuzz_die("frame: the framer buffered too much");

  akt__framer whole = {.max = AKT_FUZZ_MAX_FRAME};
  frame_log lw = {0};
  int rc_whole = len > 1 ? akt__framer_feed(&whole, data + 1, len - 1, on_frame_whole, &lw) : 0;
  if (rc_whole != rc_pieces || lw.frames != p.log.frames || lw.hash != p.log.hash)
    akt_fuzz_die("frame: feeding in pieces and feeding at once disagree");

  akt__framer_free(&p.framer);
  akt__framer_free(&whole);
  return 0;
}
