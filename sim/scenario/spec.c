/* akt — scenario files: parsing (grammar in docs/scenarios.md; writing is
 * spec_write.c).
 *
 * Line-based: one statement per line, words separated by blanks, '#'
 * starts a comment. Every error names the file, line and column of the
 * word at fault, and the parser goes on to the next line after one, so a
 * file's errors are all reported at once.
 */
#include "sim/scenario/spec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/util/assert.h"

#define LINE_MAX_BYTES 1024
#define MAX_WORDS 32

typedef struct word {
  const char *s; /* NUL-terminated copy in the line buffer */
  int col;       /* 1-based */
} word;

/* Statements that may appear once (their first line is remembered). */
enum { ONCE_SCENARIO, ONCE_WORKLOAD, ONCE_NODES, ONCE_DURATION, ONCE_QUIET, ONCE_COOKIE,
       ONCE_RANDOM, ONCE_MAX };
static const char *const once_names[ONCE_MAX] = {"scenario", "workload", "nodes", "duration",
                                                 "quiet", "cookie", "random"};

typedef struct parser {
  const char *name;
  int line;
  char *err;
  size_t errsize, errlen;
  unsigned nerrors;
  akt__scn_spec *spec;
  int once[ONCE_MAX];      /* line of the statement's first occurrence, or 0 */
  int protect_line, protect_col;
} parser;

/* Reports an error at `col` of the current line (line 0: about the whole
 * file) and returns AKT_EINVAL. Messages past AKT__SCN_MAX_ERRORS are only
 * counted. */
static int errorf(parser *p, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errorf(parser *p, int col, const char *fmt, ...) {
  if (p->nerrors++ >= AKT__SCN_MAX_ERRORS || p->errlen + 1 >= p->errsize) return AKT_EINVAL;
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *at = p->err + p->errlen;
  size_t room = p->errsize - p->errlen;
  const char *sep = p->errlen ? "\n" : "";
  int n = p->line == 0 ? snprintf(at, room, "%s%s: %s", sep, p->name, msg)
                       : snprintf(at, room, "%s%s:%d:%d: %s", sep, p->name, p->line, col, msg);
  p->errlen += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
  return AKT_EINVAL;
}

/* ---- values ------------------------------------------------------------------- */

/* "250ms", "1.5s", "10us", "3ns" → ns. Returns 0 or -1. */
static int parse_duration(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || v < 0) return -1;
  double mul;
  if (!strcmp(end, "ns")) mul = 1;
  else if (!strcmp(end, "us")) mul = 1e3;
  else if (!strcmp(end, "ms")) mul = 1e6;
  else if (!strcmp(end, "s")) mul = 1e9;
  else if (!strcmp(end, "m")) mul = 60e9;
  else return -1;
  double ns = v * mul;
  if (ns > 1e18) return -1;
  *out = (uint64_t)(ns + 0.5);
  return 0;
}

/* A signed duration ("-50ms"). */
static int parse_sduration(const char *s, int64_t *out) {
  uint64_t v;
  if (*s == '-') {
    if (parse_duration(s + 1, &v)) return -1;
    *out = -(int64_t)v;
    return 0;
  }
  if (parse_duration(*s == '+' ? s + 1 : s, &v)) return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 0);
  if (end == s || *end || errno) return -1;
  *out = v;
  return 0;
}

int akt__scn_parse_fraction(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno) return -1;
  if (!strcmp(end, "%")) v /= 100;
  else if (*end) return -1;
  if (!(v >= 0 && v <= 1)) return -1;
  *out = v;
  return 0;
}

/* "0.2", "20%" → parts per million. */
static int parse_prob(const char *s, uint32_t *ppm) {
  double v;
  if (akt__scn_parse_fraction(s, &v)) return -1;
  *ppm = (uint32_t)(v * 1e6 + 0.5);
  return 0;
}

/* "4096", "64k", "16m" bytes. */
static int parse_bytes(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || errno) return -1;
  if (*end == 'k' || *end == 'K') v <<= 10, end++;
  else if (*end == 'm' || *end == 'M') v <<= 20, end++;
  if (*end) return -1;
  *out = (size_t)v;
  return 0;
}

/* "node3" → 3, checked against the node count (known or not yet). */
static int parse_node(parser *p, const word *w, int *out) {
  int64_t v;
  if (strncmp(w->s, "node", 4) != 0 || parse_int(w->s + 4, &v) || v < 0 ||
      v >= AKT_SCENARIO_MAX_NODES)
    return errorf(p, w->col, "expected a node (node0, node1, ...), got '%s'", w->s);
  if (p->spec->nodes && (size_t)v >= p->spec->nodes)
    return errorf(p, w->col, "no %s: the scenario has %zu nodes", w->s, p->spec->nodes);
  *out = (int)v;
  return 0;
}

/* Link options: latency=, loss=, dup=, reorder=, capacity=. */
static int parse_link_opt(parser *p, const word *w, akt_sim_link_faults *l) {
  const char *eq = strchr(w->s, '=');
  if (!eq) return errorf(p, w->col, "expected KEY=VALUE, got '%s'", w->s);
  size_t klen = (size_t)(eq - w->s);
  const char *v = eq + 1;
  int vcol = w->col + (int)klen + 1;
  if (klen == 7 && !strncmp(w->s, "latency", 7)) {
    if (!strncmp(v, "uniform:", 8)) {
      const char *dots = strstr(v + 8, "..");
      char lo[64];
      if (!dots || (size_t)(dots - v - 8) >= sizeof lo)
        return errorf(p, vcol, "expected uniform:MIN..MAX, got '%s'", v);
      memcpy(lo, v + 8, (size_t)(dots - v - 8));
      lo[dots - v - 8] = '\0';
      if (parse_duration(lo, &l->latency) || parse_duration(dots + 2, &l->latency_max) ||
          l->latency_max < l->latency)
        return errorf(p, vcol, "bad uniform latency '%s' (durations like 1ms, MIN <= MAX)", v);
      l->kind = AKT_SIM_LATENCY_UNIFORM;
    } else if (!strncmp(v, "exp:", 4)) {
      char buf[128];
      snprintf(buf, sizeof buf, "%s", v + 4);
      char *a = buf, *b = strchr(a, ':'), *c = b ? strchr(b + 1, ':') : NULL;
      if (!b) return errorf(p, vcol, "expected exp:MIN:MEAN[:CAP], got '%s'", v);
      *b++ = '\0';
      if (c) *c++ = '\0';
      if (parse_duration(a, &l->latency) || parse_duration(b, &l->latency_mean) ||
          (c && parse_duration(c, &l->latency_max)))
        return errorf(p, vcol, "bad exponential latency '%s'", v);
      l->kind = AKT_SIM_LATENCY_EXPONENTIAL;
    } else {
      if (parse_duration(v, &l->latency)) return errorf(p, vcol, "bad latency '%s'", v);
      l->kind = AKT_SIM_LATENCY_FIXED;
    }
  } else if (klen == 4 && !strncmp(w->s, "loss", 4)) {
    if (parse_prob(v, &l->loss_ppm)) return errorf(p, vcol, "bad probability '%s' (0.2 or 20%%)", v);
  } else if (klen == 3 && !strncmp(w->s, "dup", 3)) {
    if (parse_prob(v, &l->dup_ppm)) return errorf(p, vcol, "bad probability '%s' (0.2 or 20%%)", v);
  } else if (klen == 7 && !strncmp(w->s, "reorder", 7)) {
    if (parse_duration(v, &l->reorder)) return errorf(p, vcol, "bad duration '%s'", v);
  } else if (klen == 8 && !strncmp(w->s, "capacity", 8)) {
    if (parse_bytes(v, &l->capacity)) return errorf(p, vcol, "bad byte count '%s'", v);
  } else {
    return errorf(p, w->col, "unknown link option '%.*s' (latency, loss, dup, reorder, capacity)",
                  (int)klen, w->s);
  }
  return 0;
}

/* ---- statements ------------------------------------------------------------------ */

static int need(parser *p, const word *w, int n, int want, const char *usage) {
  if (n < want) return errorf(p, w[n > 0 ? n - 1 : 0].col, "incomplete: expected %s", usage);
  return 0;
}

/* The fault in w[0..n) at time `at`, whose time word is at column
 * `at_col`. */
static int parse_fault(parser *p, const word *w, int n, uint64_t at, int at_col) {
  akt__scn_spec *s = p->spec;
  if (s->nfaults >= AKT__SCN_MAX_FAULTS)
    return errorf(p, w[0].col, "too many faults (at most %d)", AKT__SCN_MAX_FAULTS);
  akt__fault f = {.at = at, .node = -1, .node2 = -1, .line = (uint32_t)p->line,
                  .col = (uint32_t)at_col};
  const char *k = w[0].s;
  int rc = 0;
  if (!strcmp(k, "crash") || !strcmp(k, "restart") || !strcmp(k, "pause") || !strcmp(k, "resume")) {
    f.kind = !strcmp(k, "crash") ? AKT__FAULT_CRASH : !strcmp(k, "restart") ? AKT__FAULT_RESTART
             : !strcmp(k, "pause") ? AKT__FAULT_PAUSE : AKT__FAULT_RESUME;
    if ((rc = need(p, w, n, 2, "a node"))) return rc;
    if ((rc = parse_node(p, &w[1], &f.node))) return rc;
    if (n > 2) return errorf(p, w[2].col, "unexpected '%s'", w[2].s);
  } else if (!strcmp(k, "skew")) {
    f.kind = AKT__FAULT_SKEW;
    if ((rc = need(p, w, n, 3, "skew NODE DURATION"))) return rc;
    if ((rc = parse_node(p, &w[1], &f.node))) return rc;
    if (parse_sduration(w[2].s, &f.value)) return errorf(p, w[2].col, "bad duration '%s'", w[2].s);
  } else if (!strcmp(k, "drift")) {
    f.kind = AKT__FAULT_DRIFT;
    if ((rc = need(p, w, n, 3, "drift NODE PPM"))) return rc;
    if ((rc = parse_node(p, &w[1], &f.node))) return rc;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", w[2].s);
    size_t len = strlen(buf);
    if (len > 3 && !strcmp(buf + len - 3, "ppm")) buf[len - 3] = '\0';
    if (parse_int(buf, &f.value) || f.value < -500000 || f.value > 500000)
      return errorf(p, w[2].col, "bad drift '%s' (e.g. 100ppm)", w[2].s);
  } else if (!strcmp(k, "cut") || !strcmp(k, "hold") || !strcmp(k, "release")) {
    f.kind = !strcmp(k, "cut") ? AKT__FAULT_CUT : !strcmp(k, "hold") ? AKT__FAULT_HOLD
                                                                     : AKT__FAULT_RELEASE;
    if ((rc = need(p, w, n, 3, "NODE NODE"))) return rc;
    if ((rc = parse_node(p, &w[1], &f.node)) || (rc = parse_node(p, &w[2], &f.node2))) return rc;
    if (f.node == f.node2) return errorf(p, w[2].col, "a link joins two different nodes");
    if (n > 3) {
      if (f.kind == AKT__FAULT_CUT && !strcmp(w[3].s, "oneway")) f.oneway = 1;
      else return errorf(p, w[3].col, "unexpected '%s'", w[3].s);
    }
    if (f.kind != AKT__FAULT_CUT) f.oneway = 1;
  } else if (!strcmp(k, "heal")) {
    f.kind = AKT__FAULT_HEAL;
    if (n > 1) return errorf(p, w[1].col, "unexpected '%s' (heal heals every link)", w[1].s);
  } else if (!strcmp(k, "partition")) {
    f.kind = AKT__FAULT_PARTITION;
    if ((rc = need(p, w, n, 2, "halves, isolate NODE or ring"))) return rc;
    if (!strcmp(w[1].s, "halves")) {
      f.shape = AKT__SHAPE_HALVES;
    } else if (!strcmp(w[1].s, "isolate")) {
      f.shape = AKT__SHAPE_ISOLATE;
      if ((rc = need(p, w, n, 3, "isolate NODE..."))) return rc;
      for (int i = 2; i < n; i++) {
        int node;
        if ((rc = parse_node(p, &w[i], &node))) return rc;
        akt__set_add(&f.mask, (size_t)node);
      }
      if (akt__set_count(&f.mask) == p->spec->nodes)
        return errorf(p, w[2].col, "isolating every node partitions nothing");
    } else if (!strcmp(w[1].s, "ring")) {
      f.shape = AKT__SHAPE_RING;
    } else {
      return errorf(p, w[1].col, "unknown partition '%s' (halves, isolate NODE, ring)", w[1].s);
    }
  } else if (!strcmp(k, "clog")) {
    f.kind = AKT__FAULT_CLOG;
    if ((rc = need(p, w, n, 3, "clog NODE [NODE] DURATION"))) return rc;
    if ((rc = parse_node(p, &w[1], &f.node))) return rc;
    int di = 2;
    if (n > 3) {
      if ((rc = parse_node(p, &w[2], &f.node2))) return rc;
      if (f.node == f.node2) return errorf(p, w[2].col, "a link joins two different nodes");
      di = 3;
    }
    if (n > di + 1) return errorf(p, w[di + 1].col, "unexpected '%s'", w[di + 1].s);
    uint64_t d;
    if (parse_duration(w[di].s, &d)) return errorf(p, w[di].col, "bad duration '%s'", w[di].s);
    f.value = (int64_t)d;
  } else if (!strcmp(k, "swizzle")) {
    f.kind = AKT__FAULT_SWIZZLE;
    if ((rc = need(p, w, n, 2, "swizzle DURATION"))) return rc;
    uint64_t d;
    if (parse_duration(w[1].s, &d)) return errorf(p, w[1].col, "bad duration '%s'", w[1].s);
    f.value = (int64_t)d;
  } else if (!strcmp(k, "link")) {
    f.kind = AKT__FAULT_LINK;
    if ((rc = need(p, w, n, 2, "link NODE NODE OPTIONS or link all OPTIONS"))) return rc;
    int i = 2;
    if (strcmp(w[1].s, "all") != 0) {
      if ((rc = need(p, w, n, 3, "link NODE NODE OPTIONS"))) return rc;
      if ((rc = parse_node(p, &w[1], &f.node)) || (rc = parse_node(p, &w[2], &f.node2))) return rc;
      if (f.node == f.node2) return errorf(p, w[2].col, "a link joins two different nodes");
      i = 3;
    }
    for (; i < n; i++)
      if ((rc = parse_link_opt(p, &w[i], &f.link))) return rc;
  } else {
    return errorf(p, w[0].col, "unknown fault '%s'", k);
  }
  s->faults[s->nfaults++] = f;
  return 0;
}

static const struct {
  const char *name;
  akt__fault_kind kind;
} kind_names[] = {
    {"crash", AKT__FAULT_CRASH}, {"restart", AKT__FAULT_RESTART}, {"pause", AKT__FAULT_PAUSE},
    {"skew", AKT__FAULT_SKEW},   {"drift", AKT__FAULT_DRIFT},     {"cut", AKT__FAULT_CUT},
    {"partition", AKT__FAULT_PARTITION}, {"clog", AKT__FAULT_CLOG},
    {"swizzle", AKT__FAULT_SWIZZLE},     {"hold", AKT__FAULT_HOLD}, {"link", AKT__FAULT_LINK},
};

static int parse_random(parser *p, const word *w, int n) {
  akt__random_profile *r = &p->spec->random;
  r->enabled = 1;
  for (int i = 1; i < n; i++) {
    const char *eq = strchr(w[i].s, '=');
    if (!eq) return errorf(p, w[i].col, "expected KEY=VALUE, got '%s'", w[i].s);
    const char *v = eq + 1;
    int vcol = w[i].col + (int)(eq - w[i].s) + 1;
    if (!strncmp(w[i].s, "kinds=", 6)) {
      char buf[256];
      snprintf(buf, sizeof buf, "%s", v);
      int col = vcol;
      for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int found = 0;
        for (size_t k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++) {
          if (!strcmp(t, kind_names[k].name)) {
            r->kinds |= 1u << kind_names[k].kind;
            found = 1;
          }
        }
        if (!found) return errorf(p, col, "unknown fault kind '%s'", t);
        col += (int)strlen(t) + 1;
      }
    } else if (!strncmp(w[i].s, "rate=", 5)) {
      char *end;
      r->rate = strtod(v, &end);
      if (end == v || (*end && strcmp(end, "/s")) || r->rate < 0 || r->rate > 1000)
        return errorf(p, vcol, "bad rate '%s' (faults per second, e.g. 0.5)", v);
    } else if (!strncmp(w[i].s, "protect=", 8)) {
      /* protect=node0,node2 (and protect= again adds more) */
      char buf[256];
      snprintf(buf, sizeof buf, "%s", v);
      int col = vcol;
      if (!p->protect_line) {
        p->protect_line = p->line;
        p->protect_col = vcol;
      }
      for (char *t = buf, *next; t; t = next) {
        next = strchr(t, ',');
        if (next) *next++ = '\0';
        word nw = {t, col};
        int node, rc = parse_node(p, &nw, &node);
        if (rc) return rc;
        akt__set_add(&r->protect, (size_t)node);
        col += (int)strlen(t) + 1;
      }
    } else {
      return errorf(p, w[i].col, "unknown random option '%.*s' (kinds, rate, protect)",
                    (int)(eq - w[i].s), w[i].s);
    }
  }
  return 0;
}

static int parse_statement(parser *p, word *w, int n) {
  akt__scn_spec *s = p->spec;
  const char *k = w[0].s;
  int rc;
  for (int i = 0; i < ONCE_MAX; i++) {
    if (strcmp(k, once_names[i]) != 0) continue;
    if (p->once[i])
      return errorf(p, w[0].col, "'%s' is given twice (first on line %d)", k, p->once[i]);
    p->once[i] = p->line;
  }
  if (!strcmp(k, "scenario")) {
    if ((rc = need(p, w, n, 2, "a name"))) return rc;
    snprintf(s->name, sizeof s->name, "%s", w[1].s);
  } else if (!strcmp(k, "workload")) {
    if ((rc = need(p, w, n, 2, "a workload name"))) return rc;
    snprintf(s->workload, sizeof s->workload, "%s", w[1].s);
    s->workload_line = (uint32_t)p->line;
    s->workload_col = (uint32_t)w[1].col;
    for (int i = 2; i < n; i++) {
      const char *eq = strchr(w[i].s, '=');
      if (!eq || eq == w[i].s) return errorf(p, w[i].col, "expected NAME=NUMBER, got '%s'", w[i].s);
      if (s->nparams >= AKT_SCENARIO_MAX_PARAMS) return errorf(p, w[i].col, "too many parameters");
      int64_t v;
      uint64_t d;
      if (parse_int(eq + 1, &v)) {
        if (parse_duration(eq + 1, &d))
          return errorf(p, w[i].col + (int)(eq - w[i].s) + 1, "expected a number or a duration, got '%s'", eq + 1);
        v = (int64_t)d;
        s->param_is_duration[s->nparams] = 1;
      }
      for (size_t j = 0; j < s->nparams; j++)
        if ((size_t)(eq - w[i].s) == strlen(s->param_names[j]) &&
            !strncmp(s->param_names[j], w[i].s, (size_t)(eq - w[i].s)))
          return errorf(p, w[i].col, "parameter '%.*s' is given twice", (int)(eq - w[i].s), w[i].s);
      snprintf(s->param_names[s->nparams], AKT__SCN_WORD_MAX, "%.*s", (int)(eq - w[i].s), w[i].s);
      s->param_line[s->nparams] = (uint32_t)p->line;
      s->param_col[s->nparams] = (uint32_t)w[i].col;
      s->param_values[s->nparams++] = v;
    }
  } else if (!strcmp(k, "nodes")) {
    int64_t v;
    if ((rc = need(p, w, n, 2, "a node count"))) return rc;
    if (parse_int(w[1].s, &v) || v < 1 || v > AKT_SCENARIO_MAX_NODES)
      return errorf(p, w[1].col, "node count must be 1..%d", AKT_SCENARIO_MAX_NODES);
    if (s->nfaults) return errorf(p, w[0].col, "'nodes' must come before the faults");
    s->nodes = (size_t)v;
  } else if (!strcmp(k, "duration") || !strcmp(k, "quiet")) {
    uint64_t d;
    if ((rc = need(p, w, n, 2, "a duration"))) return rc;
    if (parse_duration(w[1].s, &d)) return errorf(p, w[1].col, "bad duration '%s' (e.g. 30s)", w[1].s);
    if (!strcmp(k, "duration")) s->duration = d;
    else s->quiet = d;
  } else if (!strcmp(k, "cookie")) {
    if ((rc = need(p, w, n, 2, "a cookie"))) return rc;
    snprintf(s->cookie, sizeof s->cookie, "%s", w[1].s);
  } else if (!strcmp(k, "link")) {
    for (int i = 1; i < n; i++)
      if ((rc = parse_link_opt(p, &w[i], &s->link))) return rc;
  } else if (!strcmp(k, "at")) {
    uint64_t at;
    if ((rc = need(p, w, n, 3, "at TIME FAULT ..."))) return rc;
    if (!s->nodes) return errorf(p, w[0].col, "'nodes' must come before the faults");
    if (parse_duration(w[1].s, &at)) return errorf(p, w[1].col, "bad time '%s' (e.g. 2.5s)", w[1].s);
    return parse_fault(p, w + 2, n - 2, at, w[1].col);
  } else if (!strcmp(k, "random")) {
    return parse_random(p, w, n);
  } else if (!strcmp(k, "check")) {
    if ((rc = need(p, w, n, 2, "a check name"))) return rc;
    if (s->nchecks >= AKT__SCN_MAX_CHECKS) return errorf(p, w[1].col, "too many checks");
    akt__check_ref *c = &s->checks[s->nchecks];
    snprintf(c->name, sizeof c->name, "%s", w[1].s);
    c->line = (uint32_t)p->line;
    c->col = (uint32_t)w[1].col;
    if (n > 2) {
      if (strcmp(w[2].s, "within") || n < 4) return errorf(p, w[2].col, "expected 'within DURATION'");
      if (parse_duration(w[3].s, &c->within)) return errorf(p, w[3].col, "bad duration '%s'", w[3].s);
    }
    s->nchecks++;
  } else {
    return errorf(p, w[0].col,
                  "unknown statement '%s' (scenario, workload, nodes, duration, quiet, cookie, "
                  "link, at, random, check)",
                  k);
  }
  return 0;
}

/* Sorts by time, keeping file order among faults at the same time
 * (insertion sort: stable, and timelines are short). */
static void sort_faults(akt__fault *f, size_t n) {
  for (size_t i = 1; i < n; i++) {
    akt__fault x = f[i];
    size_t j = i;
    for (; j > 0 && f[j - 1].at > x.at; j--) f[j] = f[j - 1];
    f[j] = x;
  }
}

/* Splits `buf` into words at blanks. Returns the count, or -1 after
 * reporting a line with too many words. */
static int split_words(parser *p, char *buf, word *w) {
  int n = 0;
  for (char *c = buf; *c;) {
    while (*c && isspace((unsigned char)*c)) c++;
    if (!*c) break;
    if (n == MAX_WORDS) {
      errorf(p, (int)(c - buf) + 1, "too many words on one line (at most %d)", MAX_WORDS);
      return -1;
    }
    w[n].s = c;
    w[n].col = (int)(c - buf) + 1;
    n++;
    while (*c && !isspace((unsigned char)*c)) c++;
    if (*c) *c++ = '\0';
  }
  return n;
}

/* The checks that need the whole file: required statements, faults inside
 * the run, protected nodes that exist. */
static void check_whole(parser *p) {
  akt__scn_spec *s = p->spec;
  p->line = 0;
  if (!s->workload[0]) errorf(p, 0, "no 'workload' line");
  if (!s->nodes) errorf(p, 0, "no 'nodes' line");
  if (!s->duration) errorf(p, 0, "no 'duration' line");
  for (size_t i = 0; s->duration && i < s->nfaults; i++) {
    const akt__fault *f = &s->faults[i];
    /* parse_node checked every node against 'nodes', which comes first. */
    AKT_ASSERT(f->node < (int)s->nodes && f->node2 < (int)s->nodes);
    if (f->at < s->duration) continue;
    p->line = (int)f->line;
    errorf(p, (int)f->col,
           "a fault at %.3fs is not before 'duration' (%.3fs, line %d): faults stop when the "
           "quiet period begins",
           (double)f->at / 1e9, (double)s->duration / 1e9, p->once[ONCE_DURATION]);
  }
  for (size_t i = s->nodes; s->nodes && i < AKT_SCENARIO_MAX_NODES; i++) {
    if (!akt__set_has(&s->random.protect, i)) continue;
    p->line = p->protect_line;
    errorf(p, p->protect_col, "protect names a node beyond 'nodes %zu'", s->nodes);
    break;
  }
  p->line = 0;
}

int akt__scn_parse(const char *name, const char *text, akt__scn_spec *out, char *err,
                   size_t errsize) {
  memset(out, 0, sizeof *out);
  if (errsize) err[0] = '\0';
  snprintf(out->path, sizeof out->path, "%s", name);
  snprintf(out->cookie, sizeof out->cookie, "akt-sim-not-secret");
  out->quiet = AKT_SECONDS(10);
  out->faults = calloc(AKT__SCN_MAX_FAULTS, sizeof *out->faults);
  if (!out->faults) return AKT_ENOMEM;
  parser p = {.name = name, .err = err, .errsize = errsize, .spec = out};
  for (const char *next = text; *next;) {
    p.line++;
    const char *start = next, *eol = strchr(start, '\n');
    size_t len = eol ? (size_t)(eol - start) : strlen(start);
    next = eol ? eol + 1 : start + len;
    char buf[LINE_MAX_BYTES];
    if (len >= sizeof buf) {
      errorf(&p, 1, "line longer than %d bytes", LINE_MAX_BYTES - 1);
      continue;
    }
    memcpy(buf, start, len);
    buf[len] = '\0';
    char *hash = strchr(buf, '#');
    if (hash) *hash = '\0';
    word w[MAX_WORDS];
    int n = split_words(&p, buf, w);
    if (n > 0) parse_statement(&p, w, n); /* an error is reported; go on */
  }
  check_whole(&p);
  if (p.nerrors > AKT__SCN_MAX_ERRORS && p.errlen + 1 < p.errsize)
    snprintf(p.err + p.errlen, p.errsize - p.errlen, "\n%s: and %u more errors", name,
             p.nerrors - AKT__SCN_MAX_ERRORS);
  if (p.nerrors) {
    akt__scn_free(out);
    return AKT_EINVAL;
  }
  sort_faults(out->faults, out->nfaults);
  return 0;
}

int akt__scn_load(const char *path, akt__scn_spec *out, char *err, size_t errsize) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errsize, "%s: %s", path, strerror(errno));
    return AKT_ENOENT;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  int c;
  while ((c = fgetc(f)) != EOF) {
    if (len + 2 > cap) {
      cap = cap ? cap * 2 : 4096;
      if (cap > (1u << 24)) {
        fclose(f);
        free(text);
        snprintf(err, errsize, "%s: file too large", path);
        return AKT_ELIMIT;
      }
      char *n = realloc(text, cap);
      if (!n) {
        fclose(f);
        free(text);
        return AKT_ENOMEM;
      }
      text = n;
    }
    text[len++] = (char)c;
  }
  fclose(f);
  if (!text) text = calloc(1, 1);
  text[len] = '\0';
  int rc = akt__scn_parse(path, text, out, err, errsize);
  free(text);
  return rc;
}

int akt__scn_copy(const akt__scn_spec *from, akt__scn_spec *to) {
  *to = *from;
  to->faults = calloc(AKT__SCN_MAX_FAULTS, sizeof *to->faults);
  if (!to->faults) return AKT_ENOMEM;
  if (from->nfaults) memcpy(to->faults, from->faults, from->nfaults * sizeof *from->faults);
  return 0;
}

void akt__scn_free(akt__scn_spec *spec) {
  free(spec->faults);
  spec->faults = NULL;
  spec->nfaults = 0;
}
