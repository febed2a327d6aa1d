/* akt — the message type registry: full type names to descriptors. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "akt/error.h"
#include "src/system/system.h"

#define TYPES_INITIAL_CAP 32

struct akt__type_entry {
  const ProtobufCMessageDescriptor *desc;
  akt__type_entry *next;
};

static size_t bucket(const akt_system *sys, const char *name) {
  return (size_t)(XXH3_64bits(name, strlen(name)) & (sys->types_cap - 1));
}

static akt__type_entry *find(akt_system *sys, const char *name) {
  if (!sys->types) return NULL;
  for (akt__type_entry *e = sys->types[bucket(sys, name)]; e; e = e->next)
    if (strcmp(e->desc->name, name) == 0) return e;
  return NULL;
}

static int grow(akt_system *sys) {
  size_t cap = sys->types_cap ? sys->types_cap * 2 : TYPES_INITIAL_CAP;
  akt__type_entry **nb = calloc(cap, sizeof *nb);
  if (!nb) return AKT_ENOMEM;
  akt__type_entry **old = sys->types;
  size_t oldcap = sys->types_cap;
  sys->types = nb;
  sys->types_cap = cap;
  for (size_t i = 0; i < oldcap; i++) {
    for (akt__type_entry *e = old[i], *next; e; e = next) {
      next = e->next;
      size_t b = bucket(sys, e->desc->name);
      e->next = nb[b];
      nb[b] = e;
    }
  }
  free(old);
  return 0;
}

int akt_system_register_type(akt_system *sys, const ProtobufCMessageDescriptor *desc) {
  if (!sys || !desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC || !desc->name)
    return AKT_EINVAL;
  int rc = 0;
  akt__sys_lock(sys);
  akt__type_entry *e = find(sys, desc->name);
  if (e) {
    rc = e->desc == desc ? 0 : AKT_EEXIST;
  } else if (sys->types_count >= AKT_MAX_TYPES) {
    rc = AKT_ELIMIT;
  } else if (sys->types_count >= sys->types_cap && (rc = grow(sys)) != 0) {
    /* rc set */
  } else if (!(e = malloc(sizeof *e))) {
    rc = AKT_ENOMEM;
  } else {
    size_t b = bucket(sys, desc->name);
    e->desc = desc;
    e->next = sys->types[b];
    sys->types[b] = e;
    sys->types_count++;
  }
  akt__sys_unlock(sys);
  return rc;
}

const ProtobufCMessageDescriptor *akt_system_find_type(akt_system *sys, const char *full_name) {
  if (!sys || !full_name) return NULL;
  akt__sys_lock(sys);
  akt__type_entry *e = find(sys, full_name);
  akt__sys_unlock(sys);
  return e ? e->desc : NULL;
}

void akt__types_free(akt_system *sys) {
  for (size_t i = 0; i < sys->types_cap; i++) {
    for (akt__type_entry *e = sys->types[i], *next; e; e = next) {
      next = e->next;
      free(e);
    }
  }
  free(sys->types);
  sys->types = NULL;
  sys->types_cap = sys->types_count = 0;
}
