/* Protobuf bytes nested deeper than any decoder's stack, packed by hand
 * (protobuf-c would recurse to pack them too). Included by the wire tests
 * (the simulator) and the attack suite (a node in a process of its own). */
#ifndef AKT_TESTS_REMOTE_NESTED_H
#define AKT_TESTS_REMOTE_NESTED_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/remote/remote.h"

/* Inner{next: Inner{next: ...}} (test.proto): the message and `depth`
 * messages below it (the innermost empty), as msgcopy counts levels. Level
 * j's body is level j-1's tag and length, then its body, so the bytes are
 * every level's header, outermost first. */
static inline void nested_inner(akt__buf *out, size_t depth) {
  size_t *len = malloc((depth + 1) * sizeof *len); /* len[j]: level j's body */
  assert_non_null(len);
  len[0] = 0;
  for (size_t j = 1; j <= depth; j++) {
    uint8_t v[AKT__VARINT_MAX];
    len[j] = 1 + (size_t)(akt__put_varint(v, len[j - 1]) - v) + len[j - 1];
  }
  memset(out, 0, sizeof *out);
  assert_int_equal(akt__buf_reserve(out, len[depth]), 0);
  for (size_t j = depth; j >= 1; j--) {
    uint8_t tag = (3 << 3) | 2; /* Inner.next */
    assert_int_equal(akt__buf_put(out, &tag, 1), 0);
    assert_int_equal(akt__buf_varint(out, len[j - 1]), 0);
  }
  assert_int_equal(out->len, len[depth]);
  free(len);
}

#endif
