/* akt — fuzz target "handshake": an inbound connection from its first
 * byte, through the real connection code (conn.c, handshake.c).
 *
 * node0 (remoting started) gets a detached inbound connection; the input's
 * stream is fed to it in pieces, as its stream would deliver it. It must
 * first pass the cookie exchange (auth.h): Hello, then a Proof over node0's
 * Challenge. node0's nonce is a function of the world's seed, so a whole
 * valid exchange recorded by gen_corpus (the "valid*" seeds) replays here,
 * and the fuzzer can mutate what follows it: batches, heartbeats, close.
 * Then the world runs a little so what was delivered is processed. The
 * connection's answers go to a buffer that is only checked for
 * well-formedness: auth frames, then Frames.
 */
#include "akt/auth.pb-c.h"
#include "fuzz/harness.h"
#include "src/remote/remote.h"

typedef struct feed {
  akt__conn *conn;
} feed;

static int feed_piece(void *arg, const uint8_t *piece, size_t len) {
  feed *f = arg;
  /* Non-zero once the connection closed: later bytes would be refused. */
  return akt__conn_feed(f->conn, piece, len);
}

/* Before the exchange's Result, auth frames; after, Frames. */
typedef struct out_frames {
  size_t frames;
  int open; /* the Result went out */
} out_frames;

static int count_frame(void *arg, const uint8_t *frame, size_t len) {
  out_frames *o = arg;
  o->frames++;
  if (!o->open) {
    Akt__Auth__AuthFrame *a = akt__auth__auth_frame__unpack(NULL, len, frame);
    if (!a) akt_fuzz_die("handshake: the connection wrote an auth frame that does not decode");
    o->open = a->kind_case == AKT__AUTH__AUTH_FRAME__KIND_RESULT;
    akt__auth__auth_frame__free_unpacked(a, NULL);
    return 0;
  }
  Akt__Wire__Frame *m = akt__wire__frame__unpack(NULL, len, frame);
  if (!m) akt_fuzz_die("handshake: the connection wrote a frame that does not decode");
  akt__wire__frame__free_unpacked(m, NULL);
  return 0;
}

/* What node0 wrote back must be whole frames it can itself read. */
static void check_output(const akt__buf *out) {
  akt__framer f = {.max = AKT_REMOTE_DEFAULT_MAX_FRAME};
  out_frames frames = {0};
  if (akt__framer_feed(&f, out->data, out->len, count_frame, &frames) != 0 || f.in.len != 0)
    akt_fuzz_die("handshake: the connection wrote a partial or oversize frame");
  akt__framer_free(&f);
}

int akt_fuzz_handshake(const uint8_t *data, size_t len) {
  akt_fuzz_world fw;
  akt_fuzz_world_up(&fw, 1);
  akt__remote *r = akt__remote_of(fw.systems[0]);
  akt__buf out = {0};
  feed f = {.conn = akt__conn_detached(r, NULL, &out)};
  if (!f.conn) akt_fuzz_die("handshake: out of memory");
  akt_fuzz_split(data, len, feed_piece, &f);
  akt_fuzz_world_run(&fw);
  check_output(&out);
  akt__conn_detached_free(f.conn);
  akt__buf_free(&out);
  akt_fuzz_world_down(&fw);
  return 0;
}
