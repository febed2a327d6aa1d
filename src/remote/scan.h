/* akt — zero-copy reading of Batch frames (internal).
 *
 * The receive path's hot loop: a Batch frame is read in place, each
 * envelope as a view of pointers into the frame's bytes, where protobuf-c
 * would allocate the Batch, its array, every Envelope and each of its
 * strings and bytes (seven allocations and seven frees per envelope, the
 * largest cost of a busy receiver). The scanner reads only the subset of
 * the wire format it fully understands — known fields with their declared
 * wire types, unknown fields of any valid wire type (skipped: newer peers
 * may add fields) — and reports anything else as "not mine", for the caller
 * to hand the whole frame to protobuf-c, which decides. So the fast path
 * never accepts what protobuf-c would refuse, nor reads it differently
 * (the frame fuzz target checks both against each other).
 *
 * It also measures how deeply a payload nests messages before protobuf-c
 * unpacks it (akt__scan_depth): protobuf-c recurses once per level.
 */
#ifndef AKT_REMOTE_SCAN_H
#define AKT_REMOTE_SCAN_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Most bytes of a protobuf varint: 64 bits, 7 to a byte. */
#define AKT__VARINT_MAX 10
/* Most bytes of a varint protobuf reads as 32 bits (a tag, a length). */
#define AKT__VARINT32_MAX 5

/* Reads a varint of at most `max` bytes at p (before end); returns the
 * bytes it took, 0 when there are none or it is longer. Forced inline: the
 * scanner calls it a dozen times per envelope, and as a call it cost half
 * the scan (27 ns an envelope against 13 ns in a micro-benchmark of a
 * 4096-envelope batch). */
static inline __attribute__((always_inline)) size_t akt__read_varint(const uint8_t *p,
                                                                     const uint8_t *end,
                                                                     size_t max, uint64_t *out) {
  if (p < end && !(p[0] & 0x80)) { /* the common one-byte case */
    *out = p[0];
    return 1;
  }
  uint64_t v = 0;
  unsigned shift = 0;
  size_t avail = (size_t)(end - p);
  if (avail < max) max = avail;
  for (size_t i = 0; i < max; i++) {
    v |= (uint64_t)(p[i] & 0x7f) << shift;
    shift += 7;
    if (!(p[i] & 0x80)) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

/* One envelope as it lies in a frame: strings are not NUL-terminated and
 * point into the frame (valid as long as its bytes). Absent fields are
 * empty (len 0) or 0, as in protobuf-c's unpacked message. */
typedef struct akt__env_view {
  const uint8_t *target, *sender, *type, *payload;
  size_t target_len, sender_len, type_len, payload_len;
  uint64_t target_id, sender_id, corr;
  uint32_t flags;
} akt__env_view;

/* If `frame` (the bytes of one akt.wire.Frame) is a Batch frame the scanner
 * can read — fields it reads with their declared wire types, the batch
 * field exactly once, no other kind — sets *body and *body_len to the
 * Batch message's bytes and returns 1. Returns 0 for anything else
 * (another kind, or bytes it does not read): the caller unpacks the frame
 * with protobuf-c instead. */
int akt__scan_batch_frame(const uint8_t *frame, size_t len, const uint8_t **body, size_t *body_len);

/* Reads the next envelope of a Batch body. *pos is where reading starts
 * (initially the body), end its end. Returns 1 and fills *v, advancing
 * *pos; 0 at the end of the body; -1 when the bytes are not a Batch the
 * scanner reads (the caller falls back to protobuf-c for the whole frame,
 * so a first pass over every envelope must come before any delivery). */
int akt__scan_envelope(const uint8_t **pos, const uint8_t *end, akt__env_view *v);

/* Whether the `len` bytes at `data`, read as a message of type `desc`,
 * nest messages at most AKT_MSG_MAX_DEPTH levels below the top one (the
 * top is level 0, as the copy of a send counts, msgcopy.h). protobuf-c
 * unpacks by recursion, a stack frame per level: bytes nested a million
 * levels deep (3 MiB) would take it past the end of any thread's stack, so
 * they must be measured first. The walk is iterative, reads each byte at
 * most once and stops at the first level past the limit: its cost is
 * linear in len and its stack fixed, whatever the bytes. Bytes it cannot
 * read end the walk with 0: protobuf-c reads every field of a message
 * before it unpacks any, so it refuses that message, and with it the whole
 * payload, without going deeper than the walk went. data may be NULL when
 * len is 0. Returns 0, or AKT_ELIMIT when the nesting is deeper. */
int akt__scan_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len);

#endif
