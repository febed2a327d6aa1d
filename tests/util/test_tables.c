/* The growing array (util/grow.h) and the string table (util/strtab.h). */
#include <stddef.h>

#include "../support/both.h"
#include "src/util/grow.h"
#include "src/util/strtab.h"

static void an_array_doubles_up_to_its_limit(void **state) {
  (void)state;
  int *a = NULL;
  uint32_t cap = 0, n = 0;
  const uint32_t caps[] = {3, 3, 3, 6, 6, 6, 10, 10, 10, 10};
  for (; n < 10; n++) {
    assert_int_equal(akt__grow(&a, sizeof *a, n, &cap, 3, 10), 0);
    assert_int_equal(cap, caps[n]);
    a[n] = (int)n;
  }
  /* Full at the limit: refused, and the array is untouched. */
  assert_int_equal(akt__grow(&a, sizeof *a, n, &cap, 3, 10), AKT_ELIMIT);
  assert_int_equal(cap, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(a[i], i);
  free(a);
}

static void an_initial_capacity_above_the_limit_stops_at_the_limit(void **state) {
  (void)state;
  long *a = NULL;
  uint32_t cap = 0;
  assert_int_equal(akt__grow(&a, sizeof *a, 0, &cap, 8, 2), 0);
  assert_int_equal(cap, 2);
  assert_int_equal(akt__grow(&a, sizeof *a, 2, &cap, 8, 2), AKT_ELIMIT);
  free(a);
}

typedef struct item {
  const char *name;
  void *next;
} item;

static const char *item_name(const void *it) { return ((const item *)it)->name; }

static int freed;
static void count_free(void *it) {
  (void)it;
  freed++;
}

static void a_string_table_finds_what_it_holds_across_growth(void **state) {
  (void)state;
  akt__strtab t;
  akt__strtab_init(&t, 2, offsetof(item, next), item_name);
  assert_null(akt__strtab_find(&t, "a"));
  assert_int_equal(akt__strtab_remove(&t, &(item){.name = "a"}), 0);
  enum { N = 100 };
  static item items[N];
  static char names[N][8];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "k%d", i);
    items[i].name = names[i];
    assert_int_equal(akt__strtab_add(&t, &items[i]), 0);
  }
  assert_int_equal(t.count, N);
  assert_true(t.cap >= N);
  for (int i = 0; i < N; i++) assert_ptr_equal(akt__strtab_find(&t, names[i]), &items[i]);
  for (int i = 0; i < N; i += 2) assert_int_equal(akt__strtab_remove(&t, &items[i]), 1);
  assert_int_equal(akt__strtab_remove(&t, &items[0]), 0);
  for (int i = 0; i < N; i++)
    assert_ptr_equal(akt__strtab_find(&t, names[i]), i % 2 ? &items[i] : NULL);
  freed = 0;
  akt__strtab_free(&t, count_free);
  assert_int_equal(freed, N / 2);
  assert_int_equal(t.count, 0);
  assert_null(akt__strtab_find(&t, "k1"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_array_doubles_up_to_its_limit),
    cmocka_unit_test(an_initial_capacity_above_the_limit_stops_at_the_limit),
    cmocka_unit_test(a_string_table_finds_what_it_holds_across_growth),
};

AKT_TEST_MAIN("util/tables", tests)
