/* Telling Cmd{op} and Ping{n} from a probe: shared by the actor and system
 * suites whose actors take those messages. */
#ifndef AKT_TESTS_PROBE_TELL_H
#define AKT_TESTS_PROBE_TELL_H

#include "akt/testkit.h"
#include "test.pb-c.h"

static inline void cmd(akt_probe *p, akt_pid *to, const char *op) {
  Cmd c = CMD__INIT;
  c.op = (char *)op;
  akt_probe_tell(p, to, &c.base);
}

static inline void ping_n(akt_probe *p, akt_pid *to, int64_t n) {
  Ping ping = PING__INIT;
  ping.n = n;
  akt_probe_tell(p, to, &ping.base);
}

#endif
