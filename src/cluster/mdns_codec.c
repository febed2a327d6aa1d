/* akt — mDNS messages: the defensive parser and the bounded builder
 * (src/cluster/mdns_codec.h says what each promises).
 */
#include <string.h>

#include "akt/error.h"
#include "src/cluster/mdns_codec.h"
#include "src/util/assert.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* ---- parsing ----------------------------------------------------------------------- */

/* Reads the name at buf[*pos] into n (n NULL: skip it) and moves *pos past
 * it (past the first pointer, if any). Returns 0 or AKT_EPROTO. */
static int read_name(const uint8_t *buf, size_t len, size_t *pos, akt__mdns_name *n) {
  akt__mdns_name tmp;
  if (!n) n = &tmp;
  size_t p = *pos, out = 0, after = 0;
  unsigned jumps = 0;
  for (;;) {
    if (p >= len) return AKT_EPROTO;
    uint8_t c = buf[p];
    if (c == 0) {
      if (out + 1 > AKT__MDNS_NAME_MAX) return AKT_EPROTO;
      n->b[out++] = 0;
      if (!jumps) after = p + 1;
      break;
    }
    if ((c & 0xc0) == 0xc0) {
      if (p + 1 >= len) return AKT_EPROTO;
      size_t target = (size_t)(c & 0x3f) << 8 | buf[p + 1];
      /* Backwards only, and a bounded number: no loop, no long walk. */
      if (target >= p || ++jumps > AKT__MDNS_MAX_POINTERS) return AKT_EPROTO;
      if (jumps == 1) after = p + 2;
      p = target;
      continue;
    }
    if (c & 0xc0) return AKT_EPROTO; /* label types 01 and 10: extended, obsolete */
    if (p + 1 + c > len || out + 1 + c + 1 > AKT__MDNS_NAME_MAX) return AKT_EPROTO;
    memcpy(n->b + out, buf + p, 1 + (size_t)c);
    out += 1 + (size_t)c;
    p += 1 + (size_t)c;
  }
  n->len = (uint16_t)out;
  *pos = after;
  return 0;
}

/* Reads a name that must fill rdata[start, end) exactly. */
static int read_rdata_name(const uint8_t *buf, size_t end, size_t start, akt__mdns_name *n) {
  size_t p = start;
  /* A pointer may lead anywhere before it in the packet, so the name is
   * read against the packet, then must end where the data ends. */
  int rc = read_name(buf, end, &p, n);
  return rc ? rc : p == end ? 0 : AKT_EPROTO;
}

/* Decodes one record's data by its type. Returns 0, AKT_EPROTO, or 1 when
 * the type is not one akt reads. */
static int read_rdata(const uint8_t *buf, size_t rd, size_t rdlen, akt__mdns_record *r) {
  size_t end = rd + rdlen;
  switch (r->type) {
    case AKT__MDNS_A:
      if (rdlen != 4) return AKT_EPROTO;
      memcpy(r->addr, buf + rd, 4);
      return 0;
    case AKT__MDNS_AAAA:
      if (rdlen != 16) return AKT_EPROTO;
      memcpy(r->addr, buf + rd, 16);
      return 0;
    case AKT__MDNS_PTR: return read_rdata_name(buf, end, rd, &r->target);
    case AKT__MDNS_SRV:
      if (rdlen < 7) return AKT_EPROTO;
      r->priority = get16(buf + rd);
      r->weight = get16(buf + rd + 2);
      r->port = get16(buf + rd + 4);
      return read_rdata_name(buf, end, rd + 6, &r->target);
    case AKT__MDNS_TXT: {
      /* Strings that fill the data exactly; their content is not read. */
      if (rdlen == 0) return AKT_EPROTO;
      size_t p = rd;
      while (p < end) p += 1 + (size_t)buf[p];
      return p == end ? 0 : AKT_EPROTO;
    }
    default: return 1;
  }
}

int akt__mdns_parse(const uint8_t *buf, size_t len, akt__mdns_msg *m) {
  memset(m, 0, offsetof(akt__mdns_msg, q));
  m->nq = m->nr = 0;
  if (len > AKT__MDNS_PACKET_MAX) return AKT_ELIMIT;
  if (len < AKT__MDNS_HEADER) return AKT_EPROTO;
  m->id = get16(buf);
  m->flags = get16(buf + 2);
  /* RFC 6762 §18.3, §18.11: other opcodes and rcodes are ignored. */
  if (m->flags & (AKT__MDNS_OPCODE | AKT__MDNS_RCODE)) return AKT_EPROTO;
  unsigned counts[4] = {get16(buf + 4), get16(buf + 6), get16(buf + 8), get16(buf + 10)};
  size_t p = AKT__MDNS_HEADER;
  for (unsigned i = 0; i < counts[0]; i++) {
    akt__mdns_question *q = m->nq < AKT__MDNS_MAX_QUESTIONS ? &m->q[m->nq] : NULL;
    if (read_name(buf, len, &p, q ? &q->name : NULL) || p + 4 > len) return AKT_EPROTO;
    uint16_t type = get16(buf + p), klass = get16(buf + p + 2);
    p += 4;
    if (!q) {
      m->skipped++;
      continue;
    }
    q->type = type;
    q->klass = klass & (uint16_t)~AKT__MDNS_TOP_BIT;
    q->unicast = (klass & AKT__MDNS_TOP_BIT) != 0;
    m->nq++;
  }
  for (unsigned s = 1; s <= 3; s++) {
    for (unsigned i = 0; i < counts[s]; i++) {
      akt__mdns_record *r = m->nr < AKT__MDNS_MAX_RECORDS ? &m->r[m->nr] : NULL;
      akt__mdns_record scratch;
      if (!r) r = &scratch;
      if (read_name(buf, len, &p, &r->name) || p + 10 > len) return AKT_EPROTO;
      r->section = (akt__mdns_section)s;
      r->type = get16(buf + p);
      uint16_t klass = get16(buf + p + 2);
      r->klass = klass & (uint16_t)~AKT__MDNS_TOP_BIT;
      r->flush = (klass & AKT__MDNS_TOP_BIT) != 0;
      r->ttl = get32(buf + p + 4);
      size_t rdlen = get16(buf + p + 8);
      p += 10;
      if (rdlen > len - p) return AKT_EPROTO;
      int rc = read_rdata(buf, p, rdlen, r);
      if (rc < 0) return rc;
      p += rdlen;
      if (rc == 1 || r == &scratch)
        m->skipped++;
      else
        m->nr++;
    }
  }
  return p == len ? 0 : AKT_EPROTO;
}

/* ---- names ---------------------------------------------------------------------------- */

int akt__mdns_name_from_text(akt__mdns_name *n, const char *text) {
  size_t out = 0;
  const char *s = text;
  while (*s) {
    const char *dot = strchr(s, '.');
    size_t l = dot ? (size_t)(dot - s) : strlen(s);
    if (l == 0 || l > AKT__MDNS_LABEL_MAX || out + 1 + l + 1 > AKT__MDNS_NAME_MAX) return AKT_EINVAL;
    n->b[out++] = (uint8_t)l;
    memcpy(n->b + out, s, l);
    out += l;
    s += l;
    if (*s == '.') s++;
  }
  if (out == 0) return AKT_EINVAL;
  n->b[out++] = 0;
  n->len = (uint16_t)out;
  return 0;
}

int akt__mdns_name_join(akt__mdns_name *n, const char *label, const akt__mdns_name *suffix) {
  size_t l = strlen(label);
  if (l == 0 || l > AKT__MDNS_LABEL_MAX || 1 + l + suffix->len > AKT__MDNS_NAME_MAX)
    return AKT_EINVAL;
  n->b[0] = (uint8_t)l;
  memcpy(n->b + 1, label, l);
  memcpy(n->b + 1 + l, suffix->b, suffix->len);
  n->len = (uint16_t)(1 + l + suffix->len);
  return 0;
}

/* Compares a[0..len) and b[0..len) as name bytes (length bytes exactly,
 * label bytes without case): both are well-formed names, so the length
 * bytes line up wherever the bytes before them matched. */
static int bytes_eq(const uint8_t *a, const uint8_t *b, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}

int akt__mdns_name_eq(const akt__mdns_name *a, const akt__mdns_name *b) {
  return a->len == b->len && bytes_eq(a->b, b->b, a->len);
}

int akt__mdns_name_child_of(const akt__mdns_name *n, const akt__mdns_name *suffix) {
  size_t first = 1 + (size_t)n->b[0];
  return n->b[0] != 0 && first + suffix->len == n->len &&
         bytes_eq(n->b + first, suffix->b, suffix->len);
}

int akt__mdns_name_host(const akt__mdns_name *n, char *out, size_t size) {
  size_t p = 0, o = 0;
  while (p < n->len && n->b[p]) {
    size_t l = n->b[p++];
    if (o && o + 1 < size) out[o++] = '.';
    for (size_t i = 0; i < l; i++, p++) {
      uint8_t c = n->b[p];
      int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
      if (!ok || o + 1 >= size) return AKT_EINVAL;
      out[o++] = (char)c;
    }
  }
  if (o == 0 || o >= size) return AKT_EINVAL;
  out[o] = '\0';
  return 0;
}

/* ---- building -------------------------------------------------------------------------- */

void akt__mdns_w_init(akt__mdns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags) {
  AKT_ASSERT(cap >= AKT__MDNS_HEADER);
  memset(w, 0, sizeof *w);
  w->buf = buf;
  w->cap = cap;
  w->len = AKT__MDNS_HEADER;
  memset(buf, 0, AKT__MDNS_HEADER);
  put16(buf, id);
  put16(buf + 2, flags);
}

int akt__mdns_w_question(akt__mdns_writer *w, const akt__mdns_name *name, uint16_t type,
                         int unicast) {
  AKT_ASSERT(w->section == 0 && name->len >= 1);
  if (w->cap - w->len < (size_t)name->len + 4 || w->counts[0] == UINT16_MAX) return AKT_ELIMIT;
  uint8_t *p = w->buf + w->len;
  memcpy(p, name->b, name->len);
  p += name->len;
  put16(p, type);
  put16(p + 2, (uint16_t)(AKT__MDNS_IN | (unicast ? AKT__MDNS_TOP_BIT : 0)));
  w->len += (size_t)name->len + 4;
  w->counts[0]++;
  return 0;
}

int akt__mdns_w_record(akt__mdns_writer *w, const akt__mdns_record *r) {
  AKT_ASSERT(r->section >= w->section && r->section >= AKT__MDNS_ANSWER &&
             r->section <= AKT__MDNS_ADDITIONAL && r->name.len >= 1);
  size_t rdlen;
  switch (r->type) {
    case AKT__MDNS_A: rdlen = 4; break;
    case AKT__MDNS_AAAA: rdlen = 16; break;
    case AKT__MDNS_PTR: rdlen = r->target.len; break;
    case AKT__MDNS_SRV: rdlen = 6 + (size_t)r->target.len; break;
    case AKT__MDNS_TXT: rdlen = 1 + (size_t)r->txt_len; break;
    default: AKT_ASSERT(!"a record type the builder knows"); return AKT_EINVAL;
  }
  if (w->cap - w->len < (size_t)r->name.len + 10 + rdlen || w->counts[r->section] == UINT16_MAX)
    return AKT_ELIMIT;
  w->section = r->section;
  uint8_t *p = w->buf + w->len;
  memcpy(p, r->name.b, r->name.len);
  p += r->name.len;
  put16(p, r->type);
  put16(p + 2, (uint16_t)(AKT__MDNS_IN | (r->flush ? AKT__MDNS_TOP_BIT : 0)));
  put32(p + 4, r->ttl);
  put16(p + 8, (uint16_t)rdlen);
  p += 10;
  switch (r->type) {
    case AKT__MDNS_A: memcpy(p, r->addr, 4); break;
    case AKT__MDNS_AAAA: memcpy(p, r->addr, 16); break;
    case AKT__MDNS_PTR: memcpy(p, r->target.b, r->target.len); break;
    case AKT__MDNS_SRV:
      put16(p, r->priority);
      put16(p + 2, r->weight);
      put16(p + 4, r->port);
      memcpy(p + 6, r->target.b, r->target.len);
      break;
    default: /* TXT: one string */
      p[0] = r->txt_len;
      memcpy(p + 1, r->txt, r->txt_len);
      break;
  }
  w->len += (size_t)r->name.len + 10 + rdlen;
  w->counts[r->section]++;
  return 0;
}

void akt__mdns_w_truncated(akt__mdns_writer *w) {
  put16(w->buf + 2, (uint16_t)(get16(w->buf + 2) | AKT__MDNS_TC));
}

size_t akt__mdns_w_finish(akt__mdns_writer *w) {
  for (int i = 0; i < 4; i++) put16(w->buf + 4 + 2 * i, w->counts[i]);
  return w->len;
}
