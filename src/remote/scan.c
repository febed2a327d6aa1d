/* akt — zero-copy reading of Batch frames (see scan.h).
 *
 * The rules mirror protobuf-c's unpacker (protobuf-c.c, 1.4): a tag is a
 * varint of at most AKT__VARINT32_MAX bytes whose field number is not 0; a
 * varint has at most AKT__VARINT_MAX bytes; a length prefix at most
 * AKT__VARINT32_MAX bytes and at most INT_MAX; the last occurrence of a
 * scalar or string field wins; a uint32 field keeps the low 32 bits. Where protobuf-c would fail, or where reading exactly as
 * it does would take more code than the case is worth (groups, a repeated
 * batch field), the scanner says "not mine" and protobuf-c reads the frame.
 */
#include "src/remote/scan.h"

#include <limits.h>

#include "akt/error.h"
#include "akt/message.h" /* AKT_MSG_MAX_DEPTH */
#include "src/util/assert.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

/* Forced inline like akt__read_varint (scan.h), for the same reason. */
#define SCAN_INLINE static inline __attribute__((always_inline))

/* Reads one field's key and skips or locates its value. On success returns
 * 1 with the field number, wire type, and for WT_LEN the value's bytes, for
 * WT_VARINT its value; *pos moves past the field. 0 when malformed or of a
 * wire type the scanner leaves to protobuf-c (groups). */
SCAN_INLINE int rd_field(const uint8_t **pos, const uint8_t *end, uint32_t *num, int *wt,
                    const uint8_t **val, size_t *val_len, uint64_t *varint) {
  const uint8_t *p = *pos;
  uint64_t key;
  size_t n = akt__read_varint(p, end, AKT__VARINT32_MAX, &key);
  if (n == 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return 0;
  p += n;
  *num = (uint32_t)(key >> 3);
  *wt = (int)(key & 7);
  switch (*wt) {
    case WT_VARINT:
      n = akt__read_varint(p, end, AKT__VARINT_MAX, varint);
      if (n == 0) return 0;
      p += n;
      break;
    case WT_FIXED64:
      if (end - p < 8) return 0;
      p += 8;
      break;
    case WT_FIXED32:
      if (end - p < 4) return 0;
      p += 4;
      break;
    case WT_LEN: {
      uint64_t len;
      n = akt__read_varint(p, end, AKT__VARINT32_MAX, &len);
      if (n == 0 || len > INT_MAX || len > (uint64_t)(end - p) - n) return 0;
      *val = p + n;
      *val_len = (size_t)len;
      p += n + (size_t)len;
      break;
    }
    default:
      return 0;
  }
  *pos = p;
  return 1;
}

int akt__scan_batch_frame(const uint8_t *frame, size_t len, const uint8_t **body, size_t *body_len) {
  if (len == 0) return 0; /* no kind (and frame may be NULL) */
  const uint8_t *p = frame, *end = frame + len;
  int found = 0;
  while (p < end) {
    uint32_t num;
    int wt;
    const uint8_t *val = NULL;
    size_t vlen = 0;
    uint64_t v;
    if (!rd_field(&p, end, &num, &wt, &val, &vlen, &v)) return 0;
    if (num >= 3 && num <= 6) {
      /* A kind of the oneof: only one batch and nothing else is ours (1
       * and 2 are reserved: unknown fields, as protobuf-c reads them). */
      if (num != 3 || wt != WT_LEN || found) return 0;
      found = 1;
      *body = val;
      *body_len = vlen;
    }
  }
  return found;
}

/* Sets a string/bytes field of the view (last occurrence wins). */
#define SET_LEN(field)          \
  do {                          \
    if (wt != WT_LEN) return -1; \
    v->field = val;             \
    v->field##_len = vlen;      \
  } while (0)

#define SET_VARINT(field, type)    \
  do {                             \
    if (wt != WT_VARINT) return -1; \
    v->field = (type)x;            \
  } while (0)

int akt__scan_envelope(const uint8_t **pos, const uint8_t *end, akt__env_view *v) {
  const uint8_t *p = *pos;
  /* Batch fields until an envelope (field 1); others are skipped. */
  const uint8_t *env = NULL;
  size_t env_len = 0;
  while (p < end && !env) {
    uint32_t num;
    int wt;
    const uint8_t *val = NULL;
    size_t vlen = 0;
    uint64_t x;
    if (!rd_field(&p, end, &num, &wt, &val, &vlen, &x)) return -1;
    if (num == 1) {
      if (wt != WT_LEN) return -1;
      env = val;
      env_len = vlen;
    }
  }
  *pos = p;
  if (!env) return 0;
  static const uint8_t empty[1] = {0};
  *v = (akt__env_view){.target = empty, .sender = empty, .type = empty, .payload = empty};
  const uint8_t *q = env, *qend = env + env_len;
  while (q < qend) {
    uint32_t num;
    int wt;
    const uint8_t *val = NULL;
    size_t vlen = 0;
    uint64_t x = 0;
    if (!rd_field(&q, qend, &num, &wt, &val, &vlen, &x)) return -1;
    switch (num) {
      case 1: SET_LEN(target); break;
      case 2: SET_VARINT(target_id, uint64_t); break;
      case 3: SET_LEN(sender); break;
      case 4: SET_VARINT(sender_id, uint64_t); break;
      case 5: SET_LEN(type); break;
      case 6: SET_LEN(payload); break;
      case 7: SET_VARINT(corr, uint64_t); break;
      case 8: SET_VARINT(flags, uint32_t); break;
      default: break; /* unknown: skipped */
    }
  }
  return 1;
}

int akt__scan_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len) {
  if (len == 0) return 0;
  /* The messages being read, outermost first: where each ends, its type. */
  struct {
    const uint8_t *end;
    const ProtobufCMessageDescriptor *desc;
  } open[AKT_MSG_MAX_DEPTH + 1];
  unsigned depth = 0;
  open[0].end = data + len;
  open[0].desc = desc;
  const uint8_t *p = data;
  for (;;) {
    if (p == open[depth].end) { /* a message ends: its parent goes on after it */
      if (depth == 0) return 0;
      depth--;
      continue;
    }
    uint32_t num;
    int wt;
    const uint8_t *val = NULL;
    size_t vlen = 0;
    uint64_t x;
    if (!rd_field(&p, open[depth].end, &num, &wt, &val, &vlen, &x)) return 0;
    if (wt != WT_LEN) continue;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(open[depth].desc, num);
    /* Unknown fields and strings, bytes, packed scalars: protobuf-c copies
     * them, it does not descend. */
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    if (depth == AKT_MSG_MAX_DEPTH) return AKT_ELIMIT;
    AKT_ASSERT(p == val + vlen);
    depth++;
    open[depth].end = p;
    open[depth].desc = f->descriptor;
    p = val;
  }
}
