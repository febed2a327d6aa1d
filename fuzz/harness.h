/* akt — fuzz harnesses for remoting's decoders (see docs/fuzzing.md).
 *
 * Each target is one function that takes an arbitrary input, runs it
 * through one decoder, frees everything it allocated and returns 0. A bug
 * shows as a crash: a sanitizer report, or abort() from one of the
 * harness's own checks. The same functions serve the afl++ drivers
 * (afl_main.c) and the corpus replay test (test_corpus.c).
 *
 * Input layout, for every stream target: byte 0 chooses how the rest is
 * cut into the pieces handed to the decoder one call at a time
 * (akt_fuzz_split), so the fuzzer explores split points too; bytes 1.. are
 * the byte stream a peer would send. The mdns target takes datagrams, which
 * carry their own lengths (harness_mdns.c).
 */
#ifndef AKT_FUZZ_HARNESS_H
#define AKT_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "akt/akt.h"
#include "akt/remote.h"
#include "akt/sim.h"
#include "src/remote/auth.h"

/* The simulated world every target that needs one is built from: node0
 * runs the system under test; node1 (dispatch only) is the peer that the
 * fuzzed connection claims to come from, so replies to its actors travel. */
#define AKT_FUZZ_SYSTEM "node0"
#define AKT_FUZZ_PEER_SYSTEM "node1"
#define AKT_FUZZ_PORT 2552
#define AKT_FUZZ_COOKIE "fuzz-cookie-not-secret"
#define AKT_FUZZ_NODE "akt://node0@node0:2552"
#define AKT_FUZZ_PEER_NODE "akt://node1@node1:2552"
#define AKT_FUZZ_SEED UINT64_C(0xf0221)
/* The peer the dispatch target (and the handshake target's seeds) play:
 * its incarnation and connection number in the cookie exchange. */
#define AKT_FUZZ_PEER_INCARNATION 1
#define AKT_FUZZ_PEER_SEQ 1

/* Limits of the harnesses themselves. */
#define AKT_FUZZ_MAX_FRAME (1u << 20)  /* the frame target's framer limit */
#define AKT_FUZZ_MAX_STEPS 1000        /* world steps after feeding, at most */
#define AKT_FUZZ_THROUGHPUT 8          /* messages per actor turn */
#define AKT_FUZZ_RUN_FOR AKT_MILLIS(200) /* virtual time after feeding, at most */
#define AKT_FUZZ_MAX_INPUT (1u << 20)  /* drivers read at most this many bytes */

/* The targets. Each returns 0 (inputs are never "rejected"). */
int akt_fuzz_frame(const uint8_t *data, size_t len);
int akt_fuzz_handshake(const uint8_t *data, size_t len);
int akt_fuzz_dispatch(const uint8_t *data, size_t len);
int akt_fuzz_auth(const uint8_t *data, size_t len);

/* The auth target's two sides as it sets them up (fixed random bytes, so
 * fixed nonces): node1 initiating to node0 (its Hello written, not yet
 * taken) and node0 accepting. gen_corpus.c makes the seeds with them. */
void akt_fuzz_auth_sides(akt__auth *initiator, akt__auth *acceptor);
int akt_fuzz_mdns(const uint8_t *data, size_t len); /* mDNS discovery: its own layout */

typedef struct akt_fuzz_target {
  const char *name;  /* "frame": also the corpus folder and the driver's suffix */
  int (*fn)(const uint8_t *data, size_t len);
} akt_fuzz_target;

/* Every target, ended by {NULL, NULL}. */
extern const akt_fuzz_target akt_fuzz_targets[];

/* ---- shared by the harnesses (harness_common.c) ---------------------------- */

/* Called with each piece; a non-zero return stops the split and is
 * returned by it. */
typedef int (*akt_fuzz_piece_fn)(void *arg, const uint8_t *piece, size_t len);

/* Cuts data[1..len) into pieces and calls fn on each in order. data[0] =
 * 0 gives one piece; k > 0 gives pieces of 1..k bytes, their sizes drawn
 * from a generator seeded with k (k = 1: one byte at a time). An empty
 * input gives no call. Returns 0 or what fn returned. */
int akt_fuzz_split(const uint8_t *data, size_t len, akt_fuzz_piece_fn fn, void *arg);

/* A small world of simulated nodes with remoting started on each (cookie
 * AKT_FUZZ_COOKIE, port AKT_FUZZ_PORT), the akt.fuzz types registered, and
 * on node0: /user/echo (replies with what it gets), /user/counter
 * (akt.fuzz.Add, Get → Total), /user/parent/child, and "counter" as a
 * kind peers may spawn (spawn_kinds), and everything below /user/parent/
 * as what they may stop (stop_paths: /user/echo and /user/counter they
 * may not). Setup failures abort: they are harness bugs. */
typedef struct akt_fuzz_world {
  akt_sim_world *world;
  unsigned nnodes;
  akt_backend *backends[2];
  akt_system *systems[2];
} akt_fuzz_world;

void akt_fuzz_world_up(akt_fuzz_world *fw, unsigned nnodes);

/* Runs the world until it is idle, or AKT_FUZZ_MAX_STEPS steps, or
 * AKT_FUZZ_RUN_FOR of virtual time, whichever comes first. */
void akt_fuzz_world_run(akt_fuzz_world *fw);

/* Shuts every system down and frees the world. */
void akt_fuzz_world_down(akt_fuzz_world *fw);

/* Prints "akt-fuzz: what" to stderr and aborts (a failed harness check). */
_Noreturn void akt_fuzz_die(const char *what);

#endif
