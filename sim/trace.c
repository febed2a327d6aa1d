/* akt — trace records and the run digest.
 *
 * One record per visible event, as one text line:
 *
 *   <seconds>.<ns9> <node> <kind> a=<actor> p=<peer> c=<code> h=<hash16> t=<type> x=<text>
 *
 * Every field is printed in a fixed form (absent strings as "-"), text is
 * escaped so a record is always one line, and nothing in it depends on
 * pointer values: the same history gives the same bytes. The digest is
 * xxh3-64 over the lines exactly as written to the trace file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/world.h"

/* A record longer than this is cut (its text field is the long part). */
#define RECORD_MAX 1536

static const char *const kind_names[AKT_EV_KIND_MAX] = {
    [AKT_EV_SPAWN] = "spawn",     [AKT_EV_START] = "start",   [AKT_EV_SEND] = "send",
    [AKT_EV_DELIVER] = "deliver", [AKT_EV_FAIL] = "fail",     [AKT_EV_STOP] = "stop",
    [AKT_EV_DEAD_LETTER] = "dead", [AKT_EV_TIMER] = "timer",  [AKT_EV_RESTART] = "restart",
    [AKT_EV_LOG] = "log",         [AKT_EV_USER] = "user",     [AKT_EV_NET] = "net",
    [AKT_EV_DIRECTIVE] = "directive", [AKT_EV_RESUME] = "resume", [AKT_EV_PASSIVATE] = "passivate",
};

/* Appends `s` with spaces, newlines and control bytes escaped. */
static size_t put_escaped(char *out, size_t pos, size_t cap, const char *s) {
  if (!s || !*s) s = "-";
  for (; *s && pos + 5 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == ' ') {
      out[pos++] = '_';
    } else if (ch < 0x20 || ch == 0x7f || ch == '\\') {
      pos += (size_t)snprintf(out + pos, cap - pos, "\\x%02x", ch);
    } else {
      out[pos++] = (char)ch;
    }
  }
  return pos;
}

/* The record's fixed fields are formatted by hand: this runs for every
 * event of every simulated run, and snprintf was a quarter of a cluster
 * scenario's time. The bytes are those of the format
 * "%llu.%09llu %s %s a=%llu p=%llu c=%lld h=%016llx t=", cut at `cap` - 1
 * as snprintf cuts (test_world.c compares the two). */
static size_t put_str(char *out, size_t pos, size_t cap, const char *s) {
  while (*s && pos + 1 < cap) out[pos++] = *s++;
  return pos;
}

/* Appends `v` in decimal, at least `width` digits (zero-padded). */
static size_t put_u64(char *out, size_t pos, size_t cap, uint64_t v, int width) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n < width) digits[n++] = '0';
  while (n && pos + 1 < cap) out[pos++] = digits[--n];
  return pos;
}

static size_t put_i64(char *out, size_t pos, size_t cap, int64_t v) {
  if (v >= 0) return put_u64(out, pos, cap, (uint64_t)v, 1);
  pos = put_str(out, pos, cap, "-");
  return put_u64(out, pos, cap, 0 - (uint64_t)v, 1);
}

static size_t put_hex16(char *out, size_t pos, size_t cap, uint64_t v) {
  static const char hex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0 && pos + 1 < cap; shift -= 4) out[pos++] = hex[(v >> shift) & 15];
  return pos;
}

size_t akt__sim_record_head(char *line, size_t cap, uint64_t now, const char *node,
                            const char *kind, const akt_event *ev) {
  size_t pos = 0;
  pos = put_u64(line, pos, cap, now / 1000000000u, 1);
  pos = put_str(line, pos, cap, ".");
  pos = put_u64(line, pos, cap, now % 1000000000u, 9);
  pos = put_str(line, pos, cap, " ");
  pos = put_str(line, pos, cap, node);
  pos = put_str(line, pos, cap, " ");
  pos = put_str(line, pos, cap, kind);
  pos = put_str(line, pos, cap, " a=");
  pos = put_u64(line, pos, cap, ev->actor, 1);
  pos = put_str(line, pos, cap, " p=");
  pos = put_u64(line, pos, cap, ev->peer, 1);
  pos = put_str(line, pos, cap, " c=");
  pos = put_i64(line, pos, cap, ev->code);
  pos = put_str(line, pos, cap, " h=");
  pos = put_hex16(line, pos, cap, ev->hash);
  pos = put_str(line, pos, cap, " t=");
  if (cap) line[pos] = '\0';
  return pos;
}

void akt__sim_record(akt_sim_world *w, const akt__sim_node *node, const akt_event *ev) {
  char line[RECORD_MAX];
  const char *kind =
      ev->kind > 0 && ev->kind < AKT_EV_KIND_MAX && kind_names[ev->kind] ? kind_names[ev->kind] : "?";
  size_t pos = akt__sim_record_head(line, sizeof line, w->now, node ? node->name : "world", kind, ev);
  pos = put_escaped(line, pos, sizeof line - 4, ev->type);
  memcpy(line + pos, " x=", 3);
  pos += 3;
  pos = put_escaped(line, pos, sizeof line - 1, ev->text);
  line[pos++] = '\n';
  XXH3_64bits_update(w->digest, line, pos);
  w->records++;
  if (w->trace_file) fwrite(line, 1, pos, w->trace_file);
}
