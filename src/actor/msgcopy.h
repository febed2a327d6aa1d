/* akt — deep copies of protobuf-c messages (internal).
 *
 * A local tell copies the sender's message into the envelope so the sender
 * may pass a message on its stack (value semantics, DESIGN §3) without the
 * cost of packing and unpacking. The copy is one contiguous block: the size
 * is measured first, then every string, byte array, repeated array and
 * sub-message is laid out after the top-level struct.
 */
#ifndef AKT_ACTOR_MSGCOPY_H
#define AKT_ACTOR_MSGCOPY_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "akt/message.h" /* AKT_MSG_MAX_DEPTH, AKT_MSG_MAX_COPY */

/* Does every field of `d` live in the message struct itself (no string,
 * bytes, sub-message or repeated field)? A copy of such a message is one
 * memcpy: most messages sent at high rates are of this kind, and walking
 * the descriptor costs more than the copy. (STRING, BYTES and MESSAGE, the
 * types held by pointer, end protobuf-c's type enum.) */
static inline int akt__msg_is_flat(const ProtobufCMessageDescriptor *d) {
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type >= PROTOBUF_C_TYPE_STRING) return 0;
  }
  return 1;
}

/* Bytes one value of field `f` takes in a message struct, and so one
 * element of its array when the field is repeated; 0 for a type protobuf-c
 * does not define. The copy (msgcopy.c) and the text form (msgtext.c) walk
 * repeated fields with it. */
static inline size_t akt__pb_value_size(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* Measures the bytes a deep copy of `m` needs. Returns 0 and *size, or
 * AKT_ELIMIT (too deep, too large) or AKT_EINVAL (a descriptor is not a
 * message descriptor). */
int akt__msg_copy_size(const ProtobufCMessage *m, size_t *size);

/* Deep-copies `m` into `buf` (at least the size reported by
 * akt__msg_copy_size, aligned to max_align_t) and returns the copy, which
 * lives as long as `buf`. Unknown fields are not copied. */
ProtobufCMessage *akt__msg_copy_into(const ProtobufCMessage *m, void *buf);

#endif
