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

void akt__sim_record(akt_sim_world *w, const akt__sim_node *node, const akt_event *ev) {
  char line[RECORD_MAX];
  const char *kind =
      ev->kind > 0 && ev->kind < AKT_EV_KIND_MAX && kind_names[ev->kind] ? kind_names[ev->kind] : "?";
  int n = snprintf(line, sizeof line,
                   "%" PRIu64 ".%09" PRIu64 " %s %s a=%" PRIu64 " p=%" PRIu64 " c=%" PRId64
                   " h=%016" PRIx64 " t=",
                   w->now / 1000000000u, w->now % 1000000000u, node ? node->name : "world", kind,
                   ev->actor, ev->peer, ev->code, ev->hash);
  size_t pos = n > 0 ? (size_t)n : 0;
  if (pos >= sizeof line) pos = sizeof line - 1;
  pos = put_escaped(line, pos, sizeof line - 4, ev->type);
  memcpy(line + pos, " x=", 3);
  pos += 3;
  pos = put_escaped(line, pos, sizeof line - 1, ev->text);
  line[pos++] = '\n';
  XXH3_64bits_update(w->digest, line, pos);
  w->records++;
  if (w->trace_file) fwrite(line, 1, pos, w->trace_file);
}
