/* akt — comparing two trace files record by record.
 *
 * Traces are compared as they are written (sim/trace.c: one record per
 * line, time first, node second), streaming, so a diff of two large traces
 * holds only the context it prints.
 */
#include "sim/scenario/diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/assert.h"

/* The last `cap` equal records, oldest first from `head`. */
typedef struct ring {
  char **line;
  size_t cap, n, head;
} ring;

static void ring_push(ring *r, const char *s, size_t len) {
  if (!r->cap) return;
  size_t slot = (r->head + r->n) % r->cap;
  if (r->n == r->cap) {
    slot = r->head;
    r->head = (r->head + 1) % r->cap;
  } else {
    r->n++;
  }
  char *copy = realloc(r->line[slot], len + 1);
  if (!copy) { /* the context is a courtesy: show less of it */
    free(r->line[slot]);
    r->line[slot] = NULL;
    return;
  }
  memcpy(copy, s, len);
  copy[len] = '\0';
  r->line[slot] = copy;
}

static void ring_free(ring *r) {
  for (size_t i = 0; i < r->cap; i++) free(r->line[i]);
  free(r->line);
}

/* Reads one record into *buf without its newline; returns its length, or
 * -1 at the end of the file. */
static ssize_t read_record(FILE *f, char **buf, size_t *cap) {
  ssize_t n = getline(buf, cap, f);
  if (n > 0 && (*buf)[n - 1] == '\n') (*buf)[--n] = '\0';
  return n;
}

/* Writes "t=<time>s on <node>" of a record (its first two fields) to out. */
static void where(const char *rec, char *out, size_t size) {
  if (!rec) {
    snprintf(out, size, "the end of the trace");
    return;
  }
  int tlen = (int)strcspn(rec, " ");
  const char *node = rec + tlen + (rec[tlen] ? 1 : 0);
  snprintf(out, size, "t=%.*ss on %.*s", tlen, rec, (int)strcspn(node, " "), node);
}

static void print_difference(FILE *out, const ring *r, unsigned long long at, const char *ra,
                             const char *rb, const char *la, const char *lb) {
  char wa[160], wb[160];
  where(ra, wa, sizeof wa);
  where(rb, wb, sizeof wb);
  if (!strcmp(wa, wb))
    fprintf(out, "the traces differ at record %llu, at %s:\n", at, wa);
  else
    fprintf(out, "the traces differ at record %llu, at %s (%s) and %s (%s):\n", at, wa, la, wb, lb);
  /* Labels, then record numbers, in aligned columns. */
  int width = (int)(strlen(la) > strlen(lb) ? strlen(la) : strlen(lb));
  char num[32];
  int nw = snprintf(num, sizeof num, "%llu", at);
  for (size_t i = 0; i < r->n; i++) {
    const char *s = r->line[(r->head + i) % r->cap];
    fprintf(out, "  %-*s %*llu  %s\n", width, "", nw, at - r->n + i, s ? s : "(not kept)");
  }
  fprintf(out, "  %-*s %*llu  %s\n", width, la, nw, at, ra ? ra : "(end of trace)");
  fprintf(out, "  %-*s %*llu  %s\n", width, lb, nw, at, rb ? rb : "(end of trace)");
}

int akt__trace_diff(FILE *out, const char *a, const char *b, const char *label_a,
                    const char *label_b, unsigned context) {
  AKT_ASSERT(context <= AKT__DIFF_CONTEXT_MAX);
  FILE *fa = fopen(a, "r");
  FILE *fb = fa ? fopen(b, "r") : NULL;
  if (!fa || !fb) {
    fprintf(stderr, "akt-sim: %s: %s\n", fa ? b : a, strerror(errno));
    if (fa) fclose(fa);
    return -1;
  }
  ring r = {.line = calloc(context ? context : 1, sizeof(char *))};
  r.cap = r.line ? context : 0;
  char *ba = NULL, *bb = NULL;
  size_t ca = 0, cb = 0;
  unsigned long long record = 0;
  int rc = 0;
  for (;;) {
    ssize_t na = read_record(fa, &ba, &ca), nb = read_record(fb, &bb, &cb);
    record++;
    if (na < 0 && nb < 0) break;
    if (na >= 0 && nb >= 0 && na == nb && !memcmp(ba, bb, (size_t)na)) {
      ring_push(&r, ba, (size_t)na);
      continue;
    }
    print_difference(out, &r, record, na >= 0 ? ba : NULL, nb >= 0 ? bb : NULL, label_a, label_b);
    rc = 1;
    break;
  }
  free(ba);
  free(bb);
  ring_free(&r);
  fclose(fa);
  fclose(fb);
  return rc;
}
