/* akt — the message type registry: full type names to descriptors.
 *
 * A string table (util/strtab.h) of entries keyed by the descriptor's full
 * name, under the system lock; at most AKT_MAX_TYPES entries.
 */
#include <stddef.h>
#include <stdlib.h>

#include "akt/error.h"
#include "src/system/system.h"
#include "src/util/assert.h"

/* Buckets of the first bucket array (a power of two). */
#define TYPES_INITIAL_BUCKETS 32

struct akt__type_entry {
  const ProtobufCMessageDescriptor *desc;
  void *next; /* the table's chain */
};

static const char *entry_name(const void *item) {
  return ((const akt__type_entry *)item)->desc->name;
}

void akt__types_init(akt_system *sys) {
  akt__strtab_init(&sys->types, TYPES_INITIAL_BUCKETS, offsetof(akt__type_entry, next),
                   entry_name);
}

int akt_system_register_type(akt_system *sys, const ProtobufCMessageDescriptor *desc) {
  if (!sys || !desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC || !desc->name)
    return AKT_EINVAL;
  int rc = 0;
  akt__sys_lock(sys);
  akt__type_entry *e = akt__strtab_find(&sys->types, desc->name);
  if (e) {
    rc = e->desc == desc ? 0 : AKT_EEXIST;
  } else if (sys->types.count >= AKT_MAX_TYPES) {
    rc = AKT_ELIMIT;
  } else if (!(e = malloc(sizeof *e))) {
    rc = AKT_ENOMEM;
  } else {
    e->desc = desc;
    rc = akt__strtab_add(&sys->types, e);
    if (rc) free(e);
  }
  AKT_ASSERT(sys->types.count <= AKT_MAX_TYPES);
  akt__sys_unlock(sys);
  return rc;
}

const ProtobufCMessageDescriptor *akt_system_find_type(akt_system *sys, const char *full_name) {
  if (!sys || !full_name) return NULL;
  akt__sys_lock(sys);
  akt__type_entry *e = akt__strtab_find(&sys->types, full_name);
  akt__sys_unlock(sys);
  return e ? e->desc : NULL;
}

void akt__types_free(akt_system *sys) { akt__strtab_free(&sys->types, free); }
