/* akt — fuzz target "auth": the cookie's challenge/response decoder
 * (src/remote/auth.c) from the first byte of a connection, in both roles.
 *
 * The input's stream is fed, in pieces, to an acceptor (node0, waiting
 * for Hello) and to an initiator (node1, which has sent its Hello to node0
 * and waits for a Challenge): what a stranger could send either side. No
 * world is needed — the state machine does no I/O — so an input costs
 * microseconds. Both sides draw fixed random bytes, so their nonces and
 * the whole exchange are fixed: a seed holding a real exchange (made by
 * gen_corpus.c with these same sides) reaches DONE, and mutations around
 * it explore every check on the way.
 *
 * Checks, after every piece: the return code agrees with the state; a side
 * that has not finished read every byte, and one that finished read no
 * byte past its last frame; what a side writes is whole auth frames that
 * decode; a finished side's peer is well-formed (and for the initiator, is
 * node0 at the address it dialled); and the same input fed to fresh sides
 * gives the same outcome and session (nothing depends on the split).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/auth.pb-c.h"
#include "akt/error.h"
#include "fuzz/harness.h"

#define PEER_CONN_SEQ 1

static void sides_config(akt__auth_config *cfg, akt__auth_role role, const uint8_t *random) {
  int init = role == AKT__AUTH_INITIATOR;
  *cfg = (akt__auth_config){
      .role = role,
      .cookie = (const uint8_t *)AKT_FUZZ_COOKIE,
      .cookie_len = sizeof AKT_FUZZ_COOKIE - 1,
      .channel = "remoting",
      .version = AKT_REMOTE_PROTOCOL_VERSION,
      .system = init ? AKT_FUZZ_PEER_SYSTEM : AKT_FUZZ_SYSTEM,
      .address = init ? AKT_FUZZ_PEER_NODE : AKT_FUZZ_NODE,
      .incarnation = init ? 2 : 1,
      .expect_system = AKT_FUZZ_SYSTEM,
      .expect_address = AKT_FUZZ_NODE,
      .conn_seq = PEER_CONN_SEQ,
      .random = random,
      .random_len = AKT__AUTH_RANDOM_MIN,
  };
}

void akt_fuzz_auth_sides(akt__auth *initiator, akt__auth *acceptor) {
  static const uint8_t ri[AKT__AUTH_RANDOM_MIN] = {'i'}, ra[AKT__AUTH_RANDOM_MIN] = {'a'};
  akt__auth_config cfg;
  sides_config(&cfg, AKT__AUTH_INITIATOR, ri);
  if (akt__auth_init(initiator, &cfg) != 0) akt_fuzz_die("auth: initiator setup failed");
  sides_config(&cfg, AKT__AUTH_ACCEPTOR, ra);
  if (akt__auth_init(acceptor, &cfg) != 0) akt_fuzz_die("auth: acceptor setup failed");
}

/* What a side wrote must be whole auth frames within the limit. */
static void check_output(akt__auth *a) {
  size_t len;
  const uint8_t *out = akt__auth_take_output(a, &len);
  while (out && len > 0) {
    if (len < AKT__AUTH_PREFIX) akt_fuzz_die("auth: a partial length prefix written");
    size_t n = (size_t)out[0] << 24 | (size_t)out[1] << 16 | (size_t)out[2] << 8 | out[3];
    if (n == 0 || n > AKT__AUTH_MAX_FRAME || n > len - AKT__AUTH_PREFIX)
      akt_fuzz_die("auth: a frame written over the limit or cut short");
    Akt__Auth__AuthFrame *f = akt__auth__auth_frame__unpack(NULL, n, out + AKT__AUTH_PREFIX);
    if (!f || f->kind_case == AKT__AUTH__AUTH_FRAME__KIND__NOT_SET)
      akt_fuzz_die("auth: a frame written that does not decode");
    akt__auth__auth_frame__free_unpacked(f, NULL);
    out += AKT__AUTH_PREFIX + n;
    len -= AKT__AUTH_PREFIX + n;
  }
}

static int bounded_string(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

static void check_side(akt__auth *a, int rc, size_t used, size_t len) {
  akt__auth_state st = akt__auth_get_state(a);
  if (used > len) akt_fuzz_die("auth: read more bytes than given");
  if ((rc != 0) != (st == AKT__AUTH_FAILED)) akt_fuzz_die("auth: return code and state disagree");
  if (rc != 0 && rc != AKT_EPROTO && rc != AKT_ELIMIT && rc != AKT_EREFUSED)
    akt_fuzz_die("auth: failed with an unexpected code");
  if (st != AKT__AUTH_DONE && st != AKT__AUTH_FAILED && used != len)
    akt_fuzz_die("auth: left bytes unread while waiting for more");
  if (st == AKT__AUTH_FAILED && akt__auth_error(a)[0] == '\0')
    akt_fuzz_die("auth: failed without saying why");
  const akt__auth_identity *peer = akt__auth_peer(a, NULL);
  if ((st == AKT__AUTH_DONE) != (peer != NULL) ||
      (st == AKT__AUTH_DONE) != (akt__auth_get_session(a) != NULL))
    akt_fuzz_die("auth: a peer or session without DONE, or DONE without them");
  if (peer && (!bounded_string(peer->system, sizeof peer->system) ||
               !bounded_string(peer->address, sizeof peer->address) || !peer->system[0]))
    akt_fuzz_die("auth: a malformed peer identity was accepted");
  if (peer && a->role == AKT__AUTH_INITIATOR &&
      (strcmp(peer->system, AKT_FUZZ_SYSTEM) != 0 || strcmp(peer->address, AKT_FUZZ_NODE) != 0))
    akt_fuzz_die("auth: the initiator accepted a peer it did not dial");
  check_output(a);
}

typedef struct feed {
  akt__auth *i, *a;
  size_t i_used, a_used; /* bytes each read in all */
} feed;

static int feed_piece(void *arg, const uint8_t *piece, size_t len) {
  feed *f = arg;
  size_t used;
  int rc = akt__auth_feed(f->a, piece, len, &used);
  check_side(f->a, rc, used, len);
  f->a_used += used;
  rc = akt__auth_feed(f->i, piece, len, &used);
  check_side(f->i, rc, used, len);
  f->i_used += used;
  return 0;
}

/* The same stream at once, to fresh sides: the same outcome. */
static void check_whole(const feed *f, const uint8_t *data, size_t len) {
  akt__auth *i = malloc(sizeof *i), *a = malloc(sizeof *a);
  if (!i || !a) akt_fuzz_die("auth: out of memory");
  akt_fuzz_auth_sides(i, a);
  size_t used_a = 0, used_i = 0;
  int rca = len ? akt__auth_feed(a, data, len, &used_a) : 0;
  int rci = len ? akt__auth_feed(i, data, len, &used_i) : 0;
  if (rca != f->a->error || rci != f->i->error || used_a != f->a_used || used_i != f->i_used ||
      akt__auth_get_state(a) != akt__auth_get_state(f->a) ||
      akt__auth_get_state(i) != akt__auth_get_state(f->i))
    akt_fuzz_die("auth: the outcome depends on how the stream was cut");
  const akt__auth_session *s1 = akt__auth_get_session(a), *s2 = akt__auth_get_session(f->a);
  if (s1 && memcmp(s1, s2, sizeof *s1) != 0)
    akt_fuzz_die("auth: the session depends on how the stream was cut");
  akt__auth_clear(i);
  akt__auth_clear(a);
  free(i);
  free(a);
}

/* With AKT_FUZZ_VERBOSE set, what an input did (for triage). */
static void report(const char *role, const akt__auth *a, size_t used) {
  static const char *const names[] = {"?", "waiting for Challenge", "waiting for Result",
                                      "waiting for Hello", "waiting for Proof", "DONE",
                                      "FAILED"};
  akt__auth_state st = akt__auth_get_state(a);
  fprintf(stderr, "akt-fuzz auth: %s read %zu bytes: %s%s%s\n", role, used,
          names[st <= AKT__AUTH_FAILED ? st : 0], st == AKT__AUTH_FAILED ? ": " : "",
          akt__auth_error(a));
}

int akt_fuzz_auth(const uint8_t *data, size_t len) {
  akt__auth *i = malloc(sizeof *i), *a = malloc(sizeof *a);
  if (!i || !a) akt_fuzz_die("auth: out of memory");
  akt_fuzz_auth_sides(i, a);
  size_t hello_len;
  if (!akt__auth_take_output(i, &hello_len)) akt_fuzz_die("auth: the initiator wrote no Hello");
  feed f = {.i = i, .a = a};
  akt_fuzz_split(data, len, feed_piece, &f);
  check_whole(&f, len ? data + 1 : NULL, len ? len - 1 : 0);
  if (getenv("AKT_FUZZ_VERBOSE")) {
    report("acceptor", a, f.a_used);
    report("initiator", i, f.i_used);
  }
  akt__auth_clear(i);
  akt__auth_clear(a);
  free(i);
  free(a);
  return 0;
}
