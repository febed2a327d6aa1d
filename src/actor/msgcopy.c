/* akt — deep copies of protobuf-c messages.
 *
 * Both passes walk the same fields in the same order; the size pass rounds
 * every block up to the alignment the copy pass will use, so the copy never
 * writes past the measured size.
 */
#include "src/actor/msgcopy.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "akt/error.h"

#define ALIGN sizeof(max_align_t)
#define ROUND(n) (((n) + (ALIGN - 1)) & ~(size_t)(ALIGN - 1))

/* Is field `f` of message `m` present with a value that needs copying? A
 * oneof member is present only when the case field names it. */
static int field_active(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t which = *(const uint32_t *)((const char *)m + f->quantifier_offset);
    return which == f->id;
  }
  return 1;
}

static int measure(const ProtobufCMessage *m, unsigned depth, size_t *total);

/* Bytes needed for the pointed-to data of one value of field `f` at `p`. */
static int measure_value(const ProtobufCFieldDescriptor *f, const void *p, unsigned depth,
                         size_t *total) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)p;
      if (s && s != f->default_value) *total += ROUND(strlen(s) + 1);
      return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      const ProtobufCBinaryData *bd = p;
      if (bd->data && bd->len) *total += ROUND(bd->len);
      return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
      return sub ? measure(sub, depth + 1, total) : 0;
    }
    default:
      return 0;
  }
}

static int measure(const ProtobufCMessage *m, unsigned depth, size_t *total) {
  if (depth > AKT_MSG_MAX_DEPTH) return AKT_ELIMIT;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (!d || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) return AKT_EINVAL;
  *total += ROUND(d->sizeof_message);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (!field_active(m, f)) continue;
    const char *member = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      const char *arr = *(char *const *)member;
      if (n == 0 || !arr) continue;
      size_t es = akt__pb_value_size(f);
      *total += ROUND(n * es);
      for (size_t k = 0; k < n; k++) {
        int rc = measure_value(f, arr + k * es, depth, total);
        if (rc) return rc;
      }
    } else {
      int rc = measure_value(f, member, depth, total);
      if (rc) return rc;
    }
    if (*total > AKT_MSG_MAX_COPY) return AKT_ELIMIT;
  }
  return *total > AKT_MSG_MAX_COPY ? AKT_ELIMIT : 0;
}

int akt__msg_copy_size(const ProtobufCMessage *m, size_t *size) {
  if (!m || !size) return AKT_EINVAL;
  size_t total = 0;
  int rc = measure(m, 0, &total);
  if (rc) return rc;
  *size = total;
  return 0;
}

typedef struct {
  char *next;
} bump;

static void *take(bump *b, size_t n) {
  void *p = b->next;
  b->next += ROUND(n);
  return p;
}

static ProtobufCMessage *copy_msg(const ProtobufCMessage *m, bump *b);

/* Replaces the pointed-to data of one value (already memcpy'd to `dst`) with
 * a copy in the bump area. */
static void copy_value(const ProtobufCFieldDescriptor *f, void *dst, bump *b) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
      char **sp = dst;
      /* A proto2 default points at static storage, and protobuf-c omits a
       * field whose pointer is the default one: keep that pointer. */
      if (*sp && *sp != f->default_value) {
        size_t len = strlen(*sp) + 1;
        char *s = take(b, len);
        memcpy(s, *sp, len);
        *sp = s;
      }
      return;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData *bd = dst;
      if (bd->data && bd->len) {
        uint8_t *data = take(b, bd->len);
        memcpy(data, bd->data, bd->len);
        bd->data = data;
      } else {
        bd->data = NULL;
        bd->len = 0;
      }
      return;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      ProtobufCMessage **mp = dst;
      if (*mp) *mp = copy_msg(*mp, b);
      return;
    }
    default:
      return;
  }
}

static ProtobufCMessage *copy_msg(const ProtobufCMessage *m, bump *b) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  ProtobufCMessage *out = take(b, d->sizeof_message);
  memcpy(out, m, d->sizeof_message);
  out->n_unknown_fields = 0;
  out->unknown_fields = NULL;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (!field_active(m, f)) continue;
    char *member = (char *)out + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      char **arrp = (char **)member;
      if (n == 0 || !*arrp) {
        *arrp = NULL;
        continue;
      }
      size_t es = akt__pb_value_size(f);
      char *arr = take(b, n * es);
      memcpy(arr, *arrp, n * es);
      *arrp = arr;
      for (size_t k = 0; k < n; k++) copy_value(f, arr + k * es, b);
    } else {
      copy_value(f, member, b);
    }
  }
  return out;
}

ProtobufCMessage *akt__msg_copy_into(const ProtobufCMessage *m, void *buf) {
  bump b = {.next = buf};
  return copy_msg(m, &b);
}
