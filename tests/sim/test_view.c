/* sim/view: the sequence chart's model pairs what was sent with what
 * arrived, flags drops, duplicates and reorders, turns faults into bands
 * and finds what to highlight; the page it writes is self-contained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/both.h"
#include "sim/view/model.h"
#include "sim/view/view.h"

#ifndef VIEW_DATA
#error "VIEW_DATA: the directory of view-small.trace"
#endif

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* The arrow from record `from` to record `to` (-1: none), or NULL. */
static const akt__varrow *arrow(const akt__view_model *m, int32_t from, int32_t to) {
  for (size_t i = 0; i < m->narrows; i++)
    if (m->arrows[i].from == from && m->arrows[i].to == to) return &m->arrows[i];
  return NULL;
}

static const char *label(const akt__view_model *m, const akt__varrow *a) {
  return akt__view_str(m, a->label);
}

/* Builds the model of view-small.trace; returns the text (free it after
 * the model). Records are numbered from 0 below (line - 1). */
static char *load_small(akt__view_model *m) {
  size_t len, bad;
  char *buf = slurp(VIEW_DATA "/view-small.trace", &len);
  assert_int_equal(akt__view_model_build(m, buf, len, &bad), 0);
  return buf;
}

static void the_model_pairs_sends_with_arrivals(void **state) {
  (void)state;
  akt__view_model m;
  char *buf = load_small(&m);
  assert_int_equal(m.nrec, 32);
  assert_int_equal(m.nlanes, 3);
  assert_string_equal(akt__view_str(&m, m.lanes[0]), "node0");
  assert_string_equal(akt__view_str(&m, m.lanes[2]), "node2");
  assert_int_equal(m.rec[0].lane, AKT__VIEW_NO_LANE); /* the world */
  /* Actor messages across nodes, and a local one. */
  const akt__varrow *a = arrow(&m, 4, 5);
  assert_non_null(a);
  assert_int_equal(a->layer, AKT__VL_MESSAGE);
  assert_int_equal(a->dst, 1);
  assert_int_equal(a->flags, 0);
  assert_string_equal(label(&m, a), "demo.Inc");
  assert_non_null(arrow(&m, 7, 8));
  a = arrow(&m, 10, 11);
  assert_non_null(a);
  assert_int_equal(a->flags, AKT__VF_LOCAL);
  /* The arrival's delivery draws nothing more. */
  assert_null(arrow(&m, 5, 6));
  /* A datagram sent once, delivered twice; one lost at the sender. */
  assert_int_equal(arrow(&m, 12, 16)->flags, 0);
  assert_int_equal(arrow(&m, 12, 17)->flags, AKT__VF_DUP);
  a = arrow(&m, 14, 15);
  assert_non_null(a);
  assert_int_equal(a->flags, AKT__VF_DROP);
  assert_int_equal(a->dst, 0);
  /* Sent 18 then 19; 19 arrived first, so 18 was overtaken. */
  assert_int_equal(arrow(&m, 19, 20)->flags, 0);
  assert_int_equal(arrow(&m, 18, 21)->flags, AKT__VF_REORDER);
  assert_string_equal(label(&m, arrow(&m, 18, 21)), "dgram 8 B");
  /* A stream write ends with the delivery of its last byte. */
  a = arrow(&m, 22, 24);
  assert_non_null(a);
  assert_int_equal(a->layer, AKT__VL_FRAME);
  assert_string_equal(label(&m, a), "70000 B");
  assert_null(arrow(&m, 22, 23));
  /* Sent to a crashed node: not arrived when the trace ends. */
  a = arrow(&m, 26, -1);
  assert_non_null(a);
  assert_int_equal(a->flags, AKT__VF_PENDING);
  assert_int_equal(a->dst, 1);
  assert_int_equal(m.narrows, 10);
  /* Actor lanes come from spawn records: paths, per node. */
  assert_string_equal(akt__view_str(&m, m.rec[4].actor), "/user/client");
  assert_string_equal(akt__view_str(&m, m.rec[5].actor), "/user/counter");
  assert_int_equal(m.rec[11].actor, -1); /* actor 7 was never spawned in the trace */
  akt__view_model_free(&m);
  free(buf);
}

static void faults_are_bands_and_changes_are_highlighted(void **state) {
  (void)state;
  akt__view_model m;
  char *buf = load_small(&m);
  assert_int_equal(m.nbands, 2);
  assert_int_equal(m.bands[0].kind, AKT__VB_CRASH);
  assert_int_equal(m.bands[0].lane_a, 1);
  assert_int_equal(m.bands[0].start, AKT_MILLIS(30));
  assert_int_equal(m.bands[0].end, AKT_MILLIS(50));
  assert_int_equal(m.bands[1].kind, AKT__VB_PARTITION);
  assert_int_equal(m.bands[1].lane_a, -1);
  assert_int_equal(m.bands[1].end, AKT_MILLIS(45));
  assert_string_equal(akt__view_str(&m, m.bands[1].label), "node0|node1,node2");
  int member = 0, violation = 0;
  for (size_t i = 0; i < m.nmarks; i++) {
    if (m.marks[i].cls == AKT__VM_MEMBER) member = m.marks[i].rec;
    if (m.marks[i].cls == AKT__VM_VIOLATION) violation = m.marks[i].rec;
  }
  assert_int_equal(member, 28);
  assert_int_equal(violation, 31);
  akt__view_model_free(&m);
  free(buf);
}

static void a_line_that_is_not_a_record_is_named(void **state) {
  (void)state;
  static const char text[] = "0.000000000 n0 spawn a=1 p=0 c=0 h=0000000000000000 t=k x=/\n"
                             "0.1 n0 frobnicate a=1\n";
  akt__view_model m;
  size_t bad = 0;
  assert_int_equal(akt__view_model_build(&m, text, sizeof text - 1, &bad), AKT_EINVAL);
  assert_int_equal(bad, 2);
}

/* The page holds everything: no URL it would fetch, the model's text
 * escaped so that no record can close its <script> element. */
static void the_page_is_self_contained(void **state) {
  (void)state;
  char trace[] = "/tmp/akt-view-XXXXXX", html[64];
  int fd = mkstemp(trace);
  assert_true(fd >= 0);
  static const char rec[] =
      "0.000000000 n0 user a=0 p=0 c=0 h=0000000000000000 t=x x=</script><b>&\n";
  assert_int_equal(write(fd, rec, sizeof rec - 1), (ssize_t)(sizeof rec - 1));
  close(fd);
  snprintf(html, sizeof html, "%s.html", trace);
  char err[256];
  akt__view_stats st;
  assert_int_equal(akt__view_write(trace, html, "a <title>", &st, err, sizeof err), 0);
  assert_int_equal(st.records, 1);
  assert_int_equal(st.lanes, 1);
  size_t len;
  char *page = slurp(html, &len);
  unlink(trace);
  unlink(html);
  assert_null(strstr(page, " src="));
  assert_null(strstr(page, "href=\"http"));
  assert_null(strstr(page, "<link"));
  assert_null(strstr(page, "@import"));
  assert_null(strstr(page, "url(http"));
  assert_non_null(strstr(page, "default-src 'none'"));
  assert_non_null(strstr(page, "\\u003c/script\\u003e\\u003cb\\u003e\\u0026"));
  assert_non_null(strstr(page, "<title>a &lt;title&gt; — akt-sim</title>"));
  /* One <script> for the data, one for the viewer, each closed once. */
  size_t opens = 0, closes = 0;
  for (const char *p = page; (p = strstr(p, "<script")); p++) opens++;
  for (const char *p = page; (p = strstr(p, "</script>")); p++) closes++;
  assert_int_equal(opens, 2);
  assert_int_equal(closes, 2);
  free(page);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_model_pairs_sends_with_arrivals),
      cmocka_unit_test(faults_are_bands_and_changes_are_highlighted),
      cmocka_unit_test(a_line_that_is_not_a_record_is_named),
      cmocka_unit_test(the_page_is_self_contained),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
