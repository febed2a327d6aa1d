/* akt — the trace viewer's page: the template (viewer.html) with the
 * viewer's CSS and JavaScript and the chart's model as JSON written into
 * it, so the file is all a browser needs.
 *
 * The model goes into a <script type="application/json"> element, with
 * '<', '>' and '&' escaped so no record can end the element or start
 * markup; the page's Content-Security-Policy allows no network access.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "sim/view/model.h"
#include "sim/view/view.h"
#include "viewer_assets.h"

static const char *const band_kinds[AKT__VB_MAX] = {
    [AKT__VB_CRASH] = "crash", [AKT__VB_PAUSE] = "pause", [AKT__VB_CUT] = "cut",
    [AKT__VB_PARTITION] = "partition", [AKT__VB_CLOG] = "clog", [AKT__VB_HOLD] = "hold",
};

static const char *const mark_classes[AKT__VM_MAX] = {
    [AKT__VM_MEMBER] = "member", [AKT__VM_VIOLATION] = "violation",
    [AKT__VM_FAILURE] = "failure", [AKT__VM_DEAD] = "dead", [AKT__VM_FAULT] = "fault",
};

/* Writes s[0..len) as a JSON string safe inside a <script> element. */
static void json_str(FILE *f, const char *s, size_t len) {
  fputc('"', f);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c < 0x20 || c == '<' || c == '>' || c == '&') fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void json_strz(FILE *f, const char *s) { json_str(f, s, strlen(s)); }

static void json_names(FILE *f, const char *key, const char *const *names, size_t n) {
  fprintf(f, ",\"%s\":[", key);
  for (size_t i = 0; i < n; i++) {
    if (i) fputc(',', f);
    json_strz(f, names[i]);
  }
  fputc(']', f);
}

/* One column of the records as a JSON array. */
#define JSON_COLUMN(f, m, key, fmt, expr)                         \
  do {                                                            \
    fprintf((f), ",\"%s\":[", (key));                             \
    for (size_t i_ = 0; i_ < (m)->nrec; i_++) {                   \
      const akt__vrec *r = &(m)->rec[i_];                         \
      fprintf((f), i_ ? "," fmt : fmt, (expr));                   \
    }                                                             \
    fputc(']', (f));                                              \
  } while (0)

static void write_data(FILE *f, const akt__view_model *m, const char *title) {
  fputs("{\"title\":", f);
  json_strz(f, title);
  fprintf(f, ",\"lanes\":[");
  for (size_t i = 0; i < m->nlanes; i++) {
    if (i) fputc(',', f);
    json_strz(f, akt__view_str(m, m->lanes[i]));
  }
  fputc(']', f);
  json_names(f, "kinds", akt__view_kind_names, AKT__VK_MAX);
  json_names(f, "bandKinds", band_kinds, AKT__VB_MAX);
  json_names(f, "markClasses", mark_classes, AKT__VM_MAX);
  json_names(f, "strs", (const char *const *)m->strs.s, m->strs.n);
  JSON_COLUMN(f, m, "t", "%" PRIu64, r->t);
  JSON_COLUMN(f, m, "lane", "%d", (int)r->lane);
  JSON_COLUMN(f, m, "actor", "%d", (int)r->actor);
  JSON_COLUMN(f, m, "kind", "%d", (int)r->kind);
  JSON_COLUMN(f, m, "type", "%d", (int)r->type);
  fputs(",\"arrows\":[", f);
  for (size_t i = 0; i < m->narrows; i++) {
    const akt__varrow *a = &m->arrows[i];
    fprintf(f, "%s%d,%d,%d,%d,%u,%u", i ? "," : "", (int)a->from, (int)a->to, (int)a->dst,
            (int)a->label, (unsigned)a->flags, (unsigned)a->layer);
  }
  fputs("],\"bands\":[", f);
  for (size_t i = 0; i < m->nbands; i++) {
    const akt__vband *b = &m->bands[i];
    fprintf(f, "%s%" PRIu64 ",%" PRIu64 ",%d,%d,%d,%d,%u", i ? "," : "", b->start, b->end,
            (int)b->lane_a, (int)b->lane_b, (int)b->rec, (int)b->label, (unsigned)b->kind);
  }
  fputs("],\"marks\":[", f);
  for (size_t i = 0; i < m->nmarks; i++)
    fprintf(f, "%s%d,%u", i ? "," : "", (int)m->marks[i].rec, (unsigned)m->marks[i].cls);
  fputs("],\"text\":", f);
  json_str(f, m->buf, m->len);
  fputc('}', f);
}

/* Escapes text for HTML. */
static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '&': fputs("&amp;", f); break;
      case '"': fputs("&quot;", f); break;
      default: fputc(*s, f);
    }
  }
}

/* Writes the template with its @TITLE@, @CSS@, @JS@ and @DATA@ filled in. */
static void write_page(FILE *f, const akt__view_model *m, const char *title) {
  const char *t = akt__viewer_html, *end = t + akt__viewer_html_len;
  while (t < end) {
    const char *at = memchr(t, '@', (size_t)(end - t));
    if (!at) at = end;
    fwrite(t, 1, (size_t)(at - t), f);
    if (at == end) break;
    if (!strncmp(at, "@TITLE@", 7)) html_text(f, title), t = at + 7;
    else if (!strncmp(at, "@CSS@", 5)) fwrite(akt__viewer_css, 1, akt__viewer_css_len, f), t = at + 5;
    else if (!strncmp(at, "@JS@", 4)) fwrite(akt__viewer_js, 1, akt__viewer_js_len, f), t = at + 4;
    else if (!strncmp(at, "@DATA@", 6)) write_data(f, m, title), t = at + 6;
    else fputc('@', f), t = at + 1;
  }
}

/* Reads a whole file. Returns the text (NUL-terminated, free it) or NULL. */
static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, got;
  char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

int akt__view_write(const char *trace, const char *html, const char *title,
                    akt__view_stats *stats, char *err, size_t errsize) {
  size_t len = 0;
  char *buf = read_all(trace, &len);
  if (!buf) {
    snprintf(err, errsize, "%s: %s", trace, errno ? strerror(errno) : "cannot read");
    return AKT_ENOENT;
  }
  akt__view_model m;
  size_t bad = 0;
  int rc = akt__view_model_build(&m, buf, len, &bad);
  if (rc) {
    if (rc == AKT_EINVAL) snprintf(err, errsize, "%s:%zu: not a trace record", trace, bad);
    else if (rc == AKT_ELIMIT)
      snprintf(err, errsize, "%s: more than %u records (or 4 GiB)", trace, AKT__VIEW_MAX_RECORDS);
    else snprintf(err, errsize, "%s: %s", trace, akt_strerror(rc));
    free(buf);
    return rc;
  }
  FILE *f = fopen(html, "w");
  if (f) {
    write_page(f, &m, title);
    if (fclose(f) != 0) f = NULL;
  }
  if (!f) {
    snprintf(err, errsize, "%s: %s", html, strerror(errno));
    rc = AKT_EBACKEND;
  } else if (stats) {
    *stats = (akt__view_stats){.records = m.nrec, .lanes = m.nlanes, .arrows = m.narrows,
                               .bands = m.nbands, .marks = m.nmarks};
  }
  akt__view_model_free(&m);
  free(buf);
  return rc;
}
