/* akt/error.h: every code has a name and a description; unknown codes are
 * named as such; nothing returns NULL. */
#include "api.h"

static void every_defined_code_has_its_name_and_a_description(void **state) {
  (void)state;
  static const struct {
    int code;
    const char *name;
  } codes[] = {
      {AKT_OK, "AKT_OK"},           {AKT_EINVAL, "AKT_EINVAL"},
      {AKT_ENOMEM, "AKT_ENOMEM"},   {AKT_EEXIST, "AKT_EEXIST"},
      {AKT_ENOENT, "AKT_ENOENT"},   {AKT_ESTOPPED, "AKT_ESTOPPED"},
      {AKT_ETIMEDOUT, "AKT_ETIMEDOUT"}, {AKT_EUNHANDLED, "AKT_EUNHANDLED"},
      {AKT_EFULL, "AKT_EFULL"},     {AKT_ENOSENDER, "AKT_ENOSENDER"},
      {AKT_ELIMIT, "AKT_ELIMIT"},   {AKT_ENOTSUP, "AKT_ENOTSUP"},
      {AKT_ENAME, "AKT_ENAME"},     {AKT_ESTATE, "AKT_ESTATE"},
      {AKT_EPROTO, "AKT_EPROTO"},   {AKT_ECLOSED, "AKT_ECLOSED"},
      {AKT_EBACKEND, "AKT_EBACKEND"}, {AKT_EFAILED, "AKT_EFAILED"},
      {AKT_ECANCELED, "AKT_ECANCELED"}, {AKT_EUNREACH, "AKT_EUNREACH"},
      {AKT_EREFUSED, "AKT_EREFUSED"}, {AKT_EKILLED, "AKT_EKILLED"},
  };
  size_t n = sizeof codes / sizeof codes[0];
  assert_int_equal(n, (size_t)(-AKT_ELAST + 1)); /* the table covers every code */
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(akt_errname(codes[i].code), codes[i].name);
    const char *text = akt_strerror(codes[i].code);
    assert_non_null(text);
    assert_true(strlen(text) > 0);
    assert_string_not_equal(text, "unknown error");
    for (size_t k = 0; k < i; k++) assert_string_not_equal(text, akt_strerror(codes[k].code));
  }
  assert_string_equal(akt_strerror(0), "success");
}

static void codes_akt_does_not_define_are_unknown(void **state) {
  (void)state;
  const int unknown[] = {1, 42, AKT_ELAST - 1, AKT_EUSER_BASE, AKT_EUSER_BASE - 1, -999, INT32_MIN};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(akt_strerror(unknown[i]), "unknown error");
    assert_string_equal(akt_errname(unknown[i]), "AKT_E?");
  }
  /* Application codes are below every code akt defines. */
  assert_true(AKT_EUSER_BASE < AKT_ELAST);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_defined_code_has_its_name_and_a_description),
    cmocka_unit_test(codes_akt_does_not_define_are_unknown),
};

AKT_TEST_MAIN("api-error", tests)
