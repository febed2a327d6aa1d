/* Expecting Note{text} on a probe. */
#ifndef AKT_TESTS_EXPECT_NOTE_H
#define AKT_TESTS_EXPECT_NOTE_H

#include "akt/testkit.h"
#include "test.pb-c.h"

#define EXPECT_NOTE(p, txt)                                           \
  do {                                                               \
    Note expected_note_ = NOTE__INIT;                                \
    expected_note_.text = (char *)(txt);                             \
    akt_probe_expect_equal((p), &expected_note_.base, AKT_PROBE_DEFAULT_TIMEOUT); \
  } while (0)

#endif
