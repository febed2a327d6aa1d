/* akt — mDNS messages: DNS wire format (RFC 1035 §4) as RFC 6762 uses it,
 * parsed defensively and built within a bound (internal).
 *
 * The parser reads a packet from anyone on the link, so it trusts nothing:
 * every length is checked against the bytes left, names are at most 255
 * bytes, a compression pointer must point backwards and at most
 * AKT__MDNS_MAX_POINTERS are followed per name, labels of types 01 and 10
 * are refused, and at most AKT__MDNS_MAX_QUESTIONS questions and
 * AKT__MDNS_MAX_RECORDS records of the types akt reads (A, AAAA, PTR, SRV,
 * TXT) are kept — the rest are walked over and counted. It is an afl++
 * target (fuzz/harness_mdns.c).
 *
 * Names are kept in wire form, uncompressed (length-prefixed labels and
 * the root's zero), so that an instance label may hold any byte, dots
 * included (RFC 6763 §4.3), and compare label by label without regard to
 * ASCII case.
 *
 * The builder writes the sections in order, never compresses (what akt
 * sends is small), and keeps a packet whole: a question or record that
 * does not fit is not written at all and the call says so.
 */
#ifndef AKT_CLUSTER_MDNS_CODEC_H
#define AKT_CLUSTER_MDNS_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Limits. */
#define AKT__MDNS_PACKET_MAX 9000  /* largest packet parsed (RFC 6762 §17) */
#define AKT__MDNS_SEND_MAX 1400    /* largest packet built: one Ethernet frame, IPv6 included */
#define AKT__MDNS_NAME_MAX 255     /* bytes of a name in wire form (RFC 1035 §3.1) */
#define AKT__MDNS_LABEL_MAX 63     /* bytes of a label */
#define AKT__MDNS_MAX_POINTERS 16  /* compression pointers followed in one name */
#define AKT__MDNS_MAX_QUESTIONS 16 /* questions kept per packet */
#define AKT__MDNS_MAX_RECORDS 64   /* records of known types kept per packet */
#define AKT__MDNS_HEADER 12        /* bytes of the header */

/* Record types and classes. */
#define AKT__MDNS_A 1
#define AKT__MDNS_PTR 12
#define AKT__MDNS_TXT 16
#define AKT__MDNS_AAAA 28
#define AKT__MDNS_SRV 33
#define AKT__MDNS_ANY 255
#define AKT__MDNS_IN 1
#define AKT__MDNS_TOP_BIT 0x8000u /* of a class: cache-flush (record), unicast-response (question) */

/* Header flags. */
#define AKT__MDNS_QR 0x8000u     /* a response */
#define AKT__MDNS_OPCODE 0x7800u /* must be 0 in mDNS */
#define AKT__MDNS_AA 0x0400u     /* authoritative: every mDNS response */
#define AKT__MDNS_TC 0x0200u     /* more known answers follow (queries) */
#define AKT__MDNS_RCODE 0x000fu  /* must be 0 in mDNS */

/* A name in wire form. */
typedef struct akt__mdns_name {
  uint16_t len; /* bytes in b, the root's zero included (1..AKT__MDNS_NAME_MAX) */
  uint8_t b[AKT__MDNS_NAME_MAX];
} akt__mdns_name;

typedef enum akt__mdns_section {
  AKT__MDNS_ANSWER = 1,
  AKT__MDNS_AUTHORITY = 2,
  AKT__MDNS_ADDITIONAL = 3
} akt__mdns_section;

typedef struct akt__mdns_question {
  akt__mdns_name name;
  uint16_t type;
  uint16_t klass;  /* without the top bit */
  int unicast;     /* the top bit: a unicast answer is preferred */
} akt__mdns_question;

typedef struct akt__mdns_record {
  akt__mdns_section section;
  akt__mdns_name name;
  uint16_t type;
  uint16_t klass;      /* without the top bit */
  int flush;           /* the top bit: cache-flush */
  uint32_t ttl;        /* seconds */
  akt__mdns_name target; /* PTR: the name it points to; SRV: the target host */
  uint16_t priority, weight, port; /* SRV */
  uint8_t addr[16];    /* A: 4 bytes, AAAA: 16 */
  uint8_t txt[AKT__MDNS_LABEL_MAX + 1]; /* TXT to build: one string (len in txt_len) */
  uint8_t txt_len;
} akt__mdns_record;

typedef struct akt__mdns_msg {
  uint16_t id;
  uint16_t flags;
  size_t nq, nr;
  akt__mdns_question q[AKT__MDNS_MAX_QUESTIONS];
  akt__mdns_record r[AKT__MDNS_MAX_RECORDS];
  size_t skipped; /* questions and records not kept: over the limits, or of other types */
} akt__mdns_msg;

/* Parses buf[0..len) into *m. Returns 0, AKT_ELIMIT (longer than
 * AKT__MDNS_PACKET_MAX) or AKT_EPROTO (malformed: truncated, a bad name,
 * a record whose data does not match its type, bytes after the last
 * record, a non-zero opcode or rcode). On error *m holds what was read. */
int akt__mdns_parse(const uint8_t *buf, size_t len, akt__mdns_msg *m);

/* ---- names ---------------------------------------------------------------------- */

/* Builds a name from dotted text without escapes ("_akt._udp.local"):
 * labels of 1..63 bytes. Returns 0 or AKT_EINVAL. */
int akt__mdns_name_from_text(akt__mdns_name *n, const char *text);

/* Builds `label` (1..63 bytes, any bytes) followed by `suffix`. Returns 0
 * or AKT_EINVAL (too long). */
int akt__mdns_name_join(akt__mdns_name *n, const char *label, const akt__mdns_name *suffix);

/* 1 if the names are equal, ignoring ASCII case. */
int akt__mdns_name_eq(const akt__mdns_name *a, const akt__mdns_name *b);

/* 1 if `n` is one label followed by `suffix` (an instance of a service). */
int akt__mdns_name_child_of(const akt__mdns_name *n, const akt__mdns_name *suffix);

/* Writes `n` as a host name ("node1.local", no trailing dot). Returns 0,
 * or AKT_EINVAL when a label holds a byte other than a letter, digit, '-'
 * or '_' (it could not be resolved as a host) or it does not fit. */
int akt__mdns_name_host(const akt__mdns_name *n, char *out, size_t size);

/* ---- building ------------------------------------------------------------------- */

typedef struct akt__mdns_writer {
  uint8_t *buf;
  size_t cap, len;
  akt__mdns_section section; /* the section being written (0: questions) */
  uint16_t counts[4];        /* questions, answers, authority, additional */
} akt__mdns_writer;

/* Starts a message in buf[0..cap) (cap >= AKT__MDNS_HEADER). */
void akt__mdns_w_init(akt__mdns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);

/* Adds a question (before any record). Returns 0 or AKT_ELIMIT (does not
 * fit: nothing written). */
int akt__mdns_w_question(akt__mdns_writer *w, const akt__mdns_name *name, uint16_t type,
                         int unicast);

/* Adds a record of type A, AAAA, PTR, SRV or TXT to section r->section
 * (sections in order). Returns 0 or AKT_ELIMIT (nothing written). */
int akt__mdns_w_record(akt__mdns_writer *w, const akt__mdns_record *r);

/* Sets the TC flag (more known answers follow). */
void akt__mdns_w_truncated(akt__mdns_writer *w);

/* The message's length (its header's counts written). */
size_t akt__mdns_w_finish(akt__mdns_writer *w);

#endif
