/* Deep copies and text forms of protobuf-c messages. */
#include <stdio.h>

#include "../support/both.h"
#include "legacy.pb-c.h"
#include "src/actor/msgcopy.h"
#include "test.pb-c.h"

/* Copies m into a fresh buffer; the caller frees *buf. */
static ProtobufCMessage *copy(const ProtobufCMessage *m, void **buf) {
  size_t size = 0;
  assert_int_equal(akt__msg_copy_size(m, &size), 0);
  *buf = aligned_alloc(sizeof(max_align_t), (size + sizeof(max_align_t)) & ~(sizeof(max_align_t) - 1));
  assert_non_null(*buf);
  return akt__msg_copy_into(m, *buf);
}

static void assert_same_packed(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t la = protobuf_c_message_get_packed_size(a), lb = protobuf_c_message_get_packed_size(b);
  assert_int_equal(la, lb);
  uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);
  protobuf_c_message_pack(a, pa);
  protobuf_c_message_pack(b, pb);
  assert_memory_equal(pa, pb, la);
  free(pa);
  free(pb);
}

static void every_field_kind_is_copied(void **state) {
  (void)state;
  Inner deep = INNER__INIT, in1 = INNER__INIT, in2 = INNER__INIT, nested = INNER__INIT;
  deep.a = 3;
  deep.s = "deep";
  in1.a = 1;
  in1.next = &deep;
  in2.s = "two";
  nested.a = -4;
  Inner *inners[] = {&in1, &in2};
  int32_t xs[] = {5, -6, 7};
  char *names[] = {"a", "", "ccc"};
  uint8_t raw[] = {0, 255, 10};
  ProtobufCBinaryData blobs[] = {{3, raw}, {0, NULL}};
  Rich__CountsEntry e1 = RICH__COUNTS_ENTRY__INIT, e2 = RICH__COUNTS_ENTRY__INIT;
  e1.key = "k1";
  e1.value = 1;
  e2.key = "k2";
  e2.value = 2;
  Rich__CountsEntry *entries[] = {&e1, &e2};
  Rich r = RICH__INIT;
  r.s = "str";
  r.b.data = raw;
  r.b.len = 3;
  r.n_xs = 3;
  r.xs = xs;
  r.n_names = 3;
  r.names = names;
  r.inner = &in1;
  r.n_inners = 2;
  r.inners = inners;
  r.choice_case = RICH__CHOICE_NESTED;
  r.nested = &nested;
  r.n_counts = 2;
  r.counts = entries;
  r.d = 1.5;
  r.flag = 1;
  r.color = COLOR__GREEN;
  r.n_blobs = 2;
  r.blobs = blobs;
  r.big = UINT64_MAX;
  r.neg = -9;
  r.f = 0.25f;
  void *buf;
  Rich *c = (Rich *)copy(&r.base, &buf);
  assert_same_packed(&r.base, &c->base);
  /* Nothing is shared with the original. */
  assert_ptr_not_equal(c->s, r.s);
  assert_ptr_not_equal(c->xs, r.xs);
  assert_ptr_not_equal(c->names[2], names[2]);
  assert_ptr_not_equal(c->inner->next, &deep);
  assert_ptr_not_equal(c->nested, &nested);
  assert_ptr_not_equal(c->counts[1], &e2);
  assert_string_equal(c->inner->next->s, "deep");
  assert_int_equal(c->nested->a, -4);
  assert_null(c->blobs[1].data);
  free(buf);
}

static void oneof_strings_and_empty_messages_are_copied(void **state) {
  (void)state;
  Rich r = RICH__INIT;
  r.choice_case = RICH__CHOICE_LABEL;
  r.label = "lab";
  void *buf;
  Rich *c = (Rich *)copy(&r.base, &buf);
  assert_string_equal(c->label, "lab");
  assert_ptr_not_equal(c->label, r.label);
  assert_same_packed(&r.base, &c->base);
  free(buf);
  Get g = GET__INIT;
  Get *gc = (Get *)copy(&g.base, &buf);
  assert_ptr_equal(gc->base.descriptor, &get__descriptor);
  free(buf);
}

static void proto2_defaults_and_presence_are_kept(void **state) {
  (void)state;
  Legacy l = LEGACY__INIT;
  l.id = 12;
  l.has_count = 1;
  l.count = 0;
  double values[] = {1.0, 2.0};
  l.n_values = 2;
  l.values = values;
  void *buf;
  Legacy *c = (Legacy *)copy(&l.base, &buf);
  assert_int_equal(c->id, 12);
  assert_true(c->has_count);
  assert_string_equal(c->name, "unnamed");
  assert_false(c->has_data);
  assert_same_packed(&l.base, &c->base);
  free(buf);
}

static void cycles_and_deep_nesting_are_refused(void **state) {
  (void)state;
  Inner a = INNER__INIT, b = INNER__INIT;
  a.next = &b;
  b.next = &a; /* a user bug: a cycle */
  size_t size;
  assert_int_equal(akt__msg_copy_size(&a.base, &size), AKT_ELIMIT);
  Inner chain[AKT_MSG_MAX_DEPTH + 2];
  for (int i = 0; i < AKT_MSG_MAX_DEPTH + 2; i++) {
    chain[i] = (Inner)INNER__INIT;
    chain[i].next = i + 1 < AKT_MSG_MAX_DEPTH + 2 ? &chain[i + 1] : NULL;
  }
  assert_int_equal(akt__msg_copy_size(&chain[0].base, &size), AKT_ELIMIT);
  assert_int_equal(akt__msg_copy_size(&chain[2].base, &size), 0);
  assert_int_equal(akt__msg_copy_size(NULL, &size), AKT_EINVAL);
}

static void text_forms_show_set_fields(void **state) {
  (void)state;
  char buf[512];
  Ping p = PING__INIT;
  akt_msg_format(&p.base, buf, sizeof buf);
  assert_string_equal(buf, "Ping { }");
  p.n = -3;
  akt_msg_format(&p.base, buf, sizeof buf);
  assert_string_equal(buf, "Ping { n: -3 }");
  Inner in = INNER__INIT;
  in.a = 1;
  in.s = "q\"x";
  int32_t xs[] = {1, 2};
  Rich r = RICH__INIT;
  r.inner = &in;
  r.n_xs = 2;
  r.xs = xs;
  r.flag = 1;
  r.color = COLOR__BLUE;
  r.choice_case = RICH__CHOICE_NUMBER;
  r.number = 0;
  akt_msg_format(&r.base, buf, sizeof buf);
  assert_string_equal(buf, "Rich { xs: [1, 2] inner { a: 1 s: \"q\\\"x\" } number: 0 flag: true color: BLUE }");
  Legacy l = LEGACY__INIT;
  akt_msg_format(&l.base, buf, sizeof buf);
  assert_string_equal(buf, "Legacy { id: 0 name: \"unnamed\" }");
  char tiny[10];
  size_t n = akt_msg_format(&r.base, tiny, sizeof tiny);
  assert_int_equal(n, sizeof tiny - 1);
  assert_string_equal(tiny, "Rich {...");
  akt_msg_format(NULL, buf, sizeof buf);
  assert_string_equal(buf, "(null)");
}

static void error_codes_have_names(void **state) {
  (void)state;
  assert_string_equal(akt_strerror(0), "success");
  assert_string_equal(akt_errname(AKT_ETIMEDOUT), "AKT_ETIMEDOUT");
  assert_string_equal(akt_strerror(AKT_EEXIST), "name already taken");
  for (int c = AKT_ELAST; c <= 0; c++) {
    assert_string_not_equal(akt_strerror(c), "unknown error");
    assert_true(strncmp(akt_errname(c), "AKT_", 4) == 0);
  }
  assert_string_equal(akt_strerror(AKT_ELAST - 1), "unknown error");
  assert_string_equal(akt_strerror(5), "unknown error");
  assert_string_equal(akt_errname(-12345), "AKT_E?");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_field_kind_is_copied),
    cmocka_unit_test(oneof_strings_and_empty_messages_are_copied),
    cmocka_unit_test(proto2_defaults_and_presence_are_kept),
    cmocka_unit_test(cycles_and_deep_nesting_are_refused),
    cmocka_unit_test(text_forms_show_set_fields),
    cmocka_unit_test(error_codes_have_names),
};

AKT_TEST_MAIN("actor/msgcopy", tests)
