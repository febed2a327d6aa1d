/* akt — the trace viewer's model (internal): what a sequence chart shows,
 * computed from a trace's records.
 *
 * Lanes are the nodes, in the order they first appear; a record of the
 * world itself (a partition, a check that failed) has no lane. Each record
 * also names the actor it happened to (its path, interned), which is its
 * lane when the viewer expands a node into actors.
 *
 * Arrows pair what was sent with what arrived, in three layers:
 *   message  an actor message: a remote send (a `send` record whose text is
 *            the destination's address) with its arrival on the destination
 *            node (the `send` record the remoting inbound makes there, same
 *            type, hash and sender id); a local send with its delivery;
 *   frame    a stream write (net `send`) with the delivery of its last byte;
 *   datagram a datagram (net `dgram-send`) with each of its deliveries.
 * Pairing is first-in first-out among candidates with the same key, which
 * is what the links and mailboxes guarantee. Flags say what went wrong: a
 * drop (lost, cut, dropped at a closed end or a crashed node), a dead
 * letter, a duplicate (a second delivery of one datagram), a reorder
 * (something sent after it on the same path arrived first), or pending (it
 * had not arrived when the trace ends: still in flight, or lost where the
 * trace does not say, as bytes parked on a connection that was reset).
 *
 * Bands are faults with a duration (crash to restart, pause to resume, cut
 * or partition to heal, hold to release, clog for its length); a fault
 * still on at the end of the trace ends there. Marks are records to
 * highlight: membership changes (net records whose type starts with
 * "member" or "cluster"), failed checks, actor failures and restarts, dead
 * letters, and faults without a duration (clock, link changes).
 */
#ifndef AKT_SIM_VIEW_MODEL_H
#define AKT_SIM_VIEW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define AKT__VIEW_MAX_RECORDS 2000000u /* records a chart holds */
#define AKT__VIEW_NO_LANE (-1)

/* Record kinds, as sim/trace.c names them. */
typedef enum akt__vkind {
  AKT__VK_SPAWN, AKT__VK_START, AKT__VK_SEND, AKT__VK_DELIVER, AKT__VK_FAIL, AKT__VK_STOP,
  AKT__VK_DEAD, AKT__VK_TIMER, AKT__VK_RESTART, AKT__VK_LOG, AKT__VK_USER, AKT__VK_NET,
  AKT__VK_DIRECTIVE, AKT__VK_RESUME, AKT__VK_PASSIVATE, AKT__VK_MAX
} akt__vkind;

extern const char *const akt__view_kind_names[AKT__VK_MAX];

/* One record, parsed. Strings are indexes into the model's string table;
 * text is kept as a span of the trace buffer (only pairing reads it). */
typedef struct akt__vrec {
  uint64_t t;          /* virtual ns */
  uint64_t a, p, h;
  int64_t c;
  int32_t lane;        /* node lane, or AKT__VIEW_NO_LANE (the world) */
  int32_t actor;       /* interned actor path, or -1: the node itself */
  int32_t type;        /* interned type ("-" when none) */
  uint32_t text_off, text_len;
  uint8_t kind;        /* akt__vkind */
} akt__vrec;

typedef enum akt__vlayer { AKT__VL_MESSAGE, AKT__VL_FRAME, AKT__VL_DATAGRAM } akt__vlayer;

enum {
  AKT__VF_DROP = 1,    /* did not arrive (or arrived where nobody took it) */
  AKT__VF_DUP = 2,     /* a second delivery of the same unit */
  AKT__VF_REORDER = 4, /* overtaken: something sent after it on the same path arrived first */
  AKT__VF_DEAD = 8,    /* went to dead letters */
  AKT__VF_LOCAL = 16,  /* sender and receiver on the same node */
  AKT__VF_PENDING = 32 /* had not arrived when the trace ends (in flight, or lost unseen) */
};

typedef struct akt__varrow {
  int32_t from;   /* the send record */
  int32_t to;     /* the arrival, or the record that dropped it, or -1 (never) */
  int32_t dst;    /* destination lane */
  int32_t label;  /* interned: the message type, or "1234 B" */
  uint16_t flags;
  uint8_t layer;  /* akt__vlayer */
} akt__varrow;

typedef enum akt__vband_kind {
  AKT__VB_CRASH, AKT__VB_PAUSE, AKT__VB_CUT, AKT__VB_PARTITION, AKT__VB_CLOG, AKT__VB_HOLD,
  AKT__VB_MAX
} akt__vband_kind;

typedef struct akt__vband {
  uint64_t start, end;   /* virtual ns */
  int32_t lane_a, lane_b; /* the lanes it covers (lane_b -1: one), lane_a -1: every lane */
  int32_t rec;           /* the record that started it */
  int32_t label;         /* interned */
  uint8_t kind;          /* akt__vband_kind */
} akt__vband;

typedef enum akt__vmark_class {
  AKT__VM_MEMBER, AKT__VM_VIOLATION, AKT__VM_FAILURE, AKT__VM_DEAD, AKT__VM_FAULT, AKT__VM_MAX
} akt__vmark_class;

typedef struct akt__vmark {
  int32_t rec;
  uint8_t cls;           /* akt__vmark_class */
} akt__vmark;

typedef struct akt__vstrs {
  char **s;
  size_t n, cap;
  int32_t *slot;         /* open addressing: string index + 1, 0 empty */
  size_t nslots;
} akt__vstrs;

typedef struct akt__view_model {
  const char *buf;       /* the trace text (not owned) */
  size_t len;
  akt__vrec *rec;
  size_t nrec;
  akt__vstrs strs;
  int32_t *lanes;        /* lane i's name (interned) */
  size_t nlanes, caplanes;
  akt__varrow *arrows;
  size_t narrows, caparrows;
  akt__vband *bands;
  size_t nbands, capbands;
  akt__vmark *marks;
  size_t nmarks, capmarks;
} akt__view_model;

/* Builds the model of the trace text buf[0..len) (kept by the caller while
 * the model lives). Returns 0, AKT_EINVAL (a line is not a record: *bad_line
 * is its number), AKT_ELIMIT or AKT_ENOMEM; on error the model is freed. */
int akt__view_model_build(akt__view_model *m, const char *buf, size_t len, size_t *bad_line);

void akt__view_model_free(akt__view_model *m);

/* The string with index i. */
static inline const char *akt__view_str(const akt__view_model *m, int32_t i) {
  return m->strs.s[i];
}

#endif
