/* akt — a one-line text form of protobuf-c messages, for logs and test
 * failures. protobuf-c has no text format of its own; this follows the
 * shape of protobuf's: `Ping { n: 3 name: "x" sub { a: 1 } xs: [1, 2] }`,
 * printing only fields that are set (non-default in proto3).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "akt/message.h"
#include "src/actor/msgcopy.h"

_Static_assert(sizeof(protobuf_c_boolean) == 4, "a bool field is read as 4 bytes");

typedef struct {
  char *buf;
  size_t size, len; /* len counts what would have been written */
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->size ? o->size - o->len : 0;
  int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) o->len += (size_t)n;
}

static void put_quoted(out *o, const uint8_t *s, size_t n) {
  put(o, "\"");
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (ch == '"' || ch == '\\')
      put(o, "\\%c", ch);
    else if (ch >= 0x20 && ch < 0x7f)
      put(o, "%c", ch);
    else
      put(o, "\\x%02x", ch);
  }
  put(o, "\"");
}

static void format_msg(out *o, const ProtobufCMessage *m, unsigned depth);

static void put_value(out *o, const ProtobufCFieldDescriptor *f, const void *p, unsigned depth) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      put(o, "%" PRId32, *(const int32_t *)p);
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      put(o, "%" PRIu32, *(const uint32_t *)p);
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      put(o, "%" PRId64, *(const int64_t *)p);
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      put(o, "%" PRIu64, *(const uint64_t *)p);
      break;
    case PROTOBUF_C_TYPE_FLOAT:
      put(o, "%g", (double)*(const float *)p);
      break;
    case PROTOBUF_C_TYPE_DOUBLE:
      put(o, "%g", *(const double *)p);
      break;
    case PROTOBUF_C_TYPE_BOOL:
      put(o, "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
      break;
    case PROTOBUF_C_TYPE_ENUM: {
      int v = *(const int *)p;
      const ProtobufCEnumValue *ev =
          protobuf_c_enum_descriptor_get_value(f->descriptor, v);
      if (ev)
        put(o, "%s", ev->name);
      else
        put(o, "%d", v);
      break;
    }
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)p;
      put_quoted(o, (const uint8_t *)(s ? s : ""), s ? strlen(s) : 0);
      break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      const ProtobufCBinaryData *bd = p;
      put_quoted(o, bd->data, bd->len);
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
      if (sub)
        format_msg(o, sub, depth + 1);
      else
        put(o, "null");
      break;
    }
  }
}

/* Is a singular field set? proto2 optional uses has_, proto3 the default. */
static int is_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  const char *base = (const char *)m;
  const void *p = base + f->offset;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
  if (f->label == PROTOBUF_C_LABEL_REQUIRED) return 1;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
      f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
    return *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)p;
      return s && *s;
    }
    case PROTOBUF_C_TYPE_BYTES:
      return ((const ProtobufCBinaryData *)p)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE:
      return *(ProtobufCMessage *const *)p != NULL;
    default:
      /* A scalar of 8 or 4 bytes (a bool too): set when any bit is. */
      return akt__pb_value_size(f) == 8 ? *(const uint64_t *)p != 0 : *(const uint32_t *)p != 0;
  }
}

static void format_msg(out *o, const ProtobufCMessage *m, unsigned depth) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (depth > AKT_MSG_MAX_DEPTH) {
    put(o, "{...}");
    return;
  }
  put(o, "%s{", depth == 0 ? " " : "");
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      if (!n) continue;
      const char *arr = *(char *const *)(base + f->offset);
      put(o, " %s: [", f->name);
      for (size_t k = 0; k < n; k++) {
        if (k) put(o, ", ");
        put_value(o, f, arr + k * akt__pb_value_size(f), depth);
      }
      put(o, "]");
    } else if (is_set(m, f)) {
      put(o, f->type == PROTOBUF_C_TYPE_MESSAGE ? " %s " : " %s: ", f->name);
      put_value(o, f, base + f->offset, depth);
    }
  }
  put(o, " }");
}

size_t akt_msg_format(const ProtobufCMessage *msg, char *buf, size_t size) {
  out o = {.buf = buf, .size = size, .len = 0};
  if (!msg) {
    put(&o, "(null)");
  } else {
    put(&o, "%s", msg->descriptor->name);
    format_msg(&o, msg, 0);
  }
  if (size && o.len >= size) {
    /* Mark the cut. */
    size_t end = size - 1;
    for (size_t k = 1; k <= 3 && k <= end; k++) buf[end - k] = '.';
    return end;
  }
  return o.len;
}
