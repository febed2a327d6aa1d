/* akt — remoting byte buffers and framing.
 *
 * Frames are a 4-byte big-endian length and a packed akt.wire.Frame. The
 * framer reads the length first and refuses one over the limit before
 * anything is allocated for it, so a peer cannot make us reserve more than
 * max + 4 bytes per connection.
 */
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/remote/remote.h"
#include "src/util/assert.h"

/* A buffer's first capacity: most control frames and small batches fit. */
#define BUF_FIRST_CAP 256

int akt__buf_reserve(akt__buf *b, size_t n) {
  if (b->cap - b->len >= n) return 0;
  size_t cap = b->cap ? b->cap : BUF_FIRST_CAP;
  while (cap - b->len < n) {
    if (cap > SIZE_MAX / 2) return AKT_ENOMEM;
    cap *= 2;
  }
  uint8_t *d = realloc(b->data, cap);
  if (!d) return AKT_ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

int akt__buf_put(akt__buf *b, const void *data, size_t n) {
  int rc = akt__buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  return 0;
}

int akt__buf_varint(akt__buf *b, uint64_t v) {
  uint8_t tmp[AKT__VARINT_MAX];
  return akt__buf_put(b, tmp, (size_t)(akt__put_varint(tmp, v) - tmp));
}

void akt__buf_free(akt__buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void *akt__array_grow(void *items, uint32_t *cap, size_t size, uint32_t first, uint32_t max) {
  AKT_ASSERT(first > 0 && size > 0);
  uint64_t n = *cap ? (uint64_t)*cap * 2 : first;
  if (n > max) n = max;
  if (n <= *cap || n > SIZE_MAX / size) return NULL;
  void *grown = realloc(items, (size_t)n * size);
  if (grown) *cap = (uint32_t)n;
  return grown;
}

size_t akt__varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

uint8_t *akt__put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

int akt__framer_feed(akt__framer *f, const uint8_t *data, size_t n, akt__frame_fn fn, void *arg) {
  /* Fast path: nothing buffered, whole frames in `data` are handed out
   * without copying. */
  size_t off = 0;
  while (f->in.len == 0 && n - off >= AKT__FRAME_PREFIX) {
    uint32_t len = get_be32(data + off);
    if (len > f->max) return AKT_ELIMIT;
    if (n - off - AKT__FRAME_PREFIX < len) break;
    int rc = fn(arg, data + off + AKT__FRAME_PREFIX, len);
    if (rc) return rc;
    off += AKT__FRAME_PREFIX + (size_t)len;
  }
  if (off == n) return 0;
  data += off;
  n -= off;
  /* Slow path: accumulate, never beyond what the declared length allows. */
  while (n > 0) {
    size_t want = AKT__FRAME_PREFIX;
    if (f->in.len >= AKT__FRAME_PREFIX) {
      uint32_t len = get_be32(f->in.data);
      if (len > f->max) return AKT_ELIMIT;
      want = AKT__FRAME_PREFIX + (size_t)len;
    }
    size_t take = want - f->in.len;
    if (take > n) take = n;
    int rc = akt__buf_put(&f->in, data, take);
    if (rc) return rc;
    data += take;
    n -= take;
    if (f->in.len == AKT__FRAME_PREFIX) {
      uint32_t len = get_be32(f->in.data);
      if (len > f->max) return AKT_ELIMIT;
      if (len == 0) {
        f->in.len = 0;
        rc = fn(arg, NULL, 0);
        if (rc) return rc;
      }
      continue;
    }
    if (f->in.len == want && want > AKT__FRAME_PREFIX) {
      f->in.len = 0;
      rc = fn(arg, f->in.data + AKT__FRAME_PREFIX, want - AKT__FRAME_PREFIX);
      if (rc) return rc;
    }
  }
  return 0;
}

void akt__framer_free(akt__framer *f) { akt__buf_free(&f->in); }

int akt__frame_encode(const Akt__Wire__Frame *frame, size_t max, akt__buf *out) {
  size_t n = protobuf_c_message_get_packed_size(&frame->base);
  if (n > max) return AKT_ELIMIT;
  int rc = akt__buf_reserve(out, AKT__FRAME_PREFIX + n);
  if (rc) return rc;
  put_be32(out->data + out->len, (uint32_t)n);
  protobuf_c_message_pack(&frame->base, out->data + out->len + AKT__FRAME_PREFIX);
  out->len += AKT__FRAME_PREFIX + n;
  return 0;
}


size_t akt__frame_batch_header(size_t body_len, uint8_t *hdr) {
  /* Frame { batch (field 3, length-delimited) = Batch { envelopes... } },
   * whose bytes are exactly the queued entries: written by hand, so the
   * writer never unpacks and repacks what senders encoded. */
  size_t frame_len = 1 + akt__varint_size(body_len) + body_len;
  put_be32(hdr, (uint32_t)frame_len);
  hdr[AKT__FRAME_PREFIX] = (3 << 3) | 2;
  return (size_t)(akt__put_varint(hdr + AKT__FRAME_PREFIX + 1, body_len) - hdr);
}

int akt__frame_batch(const uint8_t *body, size_t len, akt__buf *out) {
  uint8_t hdr[AKT__BATCH_HDR_MAX];
  size_t hlen = akt__frame_batch_header(len, hdr);
  int rc = akt__buf_reserve(out, hlen + len);
  if (rc) return rc;
  akt__buf_put(out, hdr, hlen);
  return akt__buf_put(out, body, len);
}

/* ---- envelopes, packed by hand ------------------------------------------------ */

/* Bytes of a length-delimited field (tag, length, data); 0 when empty,
 * since proto3 leaves out empty strings and bytes. */
static size_t len_field(size_t n) { return n ? 1 + akt__varint_size(n) + n : 0; }

/* Bytes of a varint field; 0 when 0 (left out). */
static size_t varint_field(uint64_t v) { return v ? 1 + akt__varint_size(v) : 0; }

size_t akt__env_out_size(const akt__env_out *e, size_t payload_len) {
  return len_field(e->target_len) + varint_field(e->target_id) + len_field(e->sender_len) +
         varint_field(e->sender_id) + len_field(e->type_len) + len_field(payload_len) +
         varint_field(e->corr) + varint_field(e->flags);
}

static uint8_t *put_len(uint8_t *p, unsigned field, const void *data, size_t n) {
  if (!n) return p;
  *p++ = (uint8_t)(field << 3 | 2);
  p = akt__put_varint(p, n);
  memcpy(p, data, n);
  return p + n;
}

static uint8_t *put_uint(uint8_t *p, unsigned field, uint64_t v) {
  if (!v) return p;
  *p++ = (uint8_t)(field << 3);
  return akt__put_varint(p, v);
}

uint8_t *akt__env_out_write(uint8_t *p, const akt__env_out *e, const ProtobufCMessage *payload,
                            size_t payload_len) {
  p = put_len(p, 1, e->target, e->target_len);
  p = put_uint(p, 2, e->target_id);
  p = put_len(p, 3, e->sender, e->sender_len);
  p = put_uint(p, 4, e->sender_id);
  p = put_len(p, 5, e->type, e->type_len);
  if (payload_len) {
    /* Packed straight into place: no copy of the payload's bytes. */
    *p++ = 6 << 3 | 2;
    p = akt__put_varint(p, payload_len);
    p += protobuf_c_message_pack(payload, p);
  }
  p = put_uint(p, 7, e->corr);
  return put_uint(p, 8, e->flags);
}
