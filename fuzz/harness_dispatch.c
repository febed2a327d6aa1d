/* akt — fuzz target "dispatch": envelopes from a peer that has shaken
 * hands, decoded and delivered.
 *
 * node0 gets a detached inbound connection, through which node1 proves the
 * cookie (the harness plays node1's side of the exchange, with the
 * connection's own code on node0's); the input's stream follows it in
 * pieces: batches of envelopes (to /user/echo,
 * /user/counter, /user/parent/child, /system/remoting or nobody, of the
 * akt.fuzz types, akt's own or unknown ones, requests and replies),
 * heartbeats, anything. Then the world runs a little, so deliveries are
 * processed and replies cross to node1 on a real simulated connection.
 */
#include "fuzz/harness.h"
#include "src/remote/remote.h"

/* node1 proves the cookie to node0 through the connection's own code. */
static void handshake(akt__conn *c) {
  if (akt__conn_detached_handshake(c, AKT_FUZZ_PEER_NODE, AKT_FUZZ_PEER_INCARNATION,
                                   AKT_FUZZ_PEER_SEQ, NULL) != 0 ||
      !akt__conn_is_open(c))
    akt_fuzz_die("dispatch: node0 refused the harness's handshake");
}

static int feed_piece(void *arg, const uint8_t *piece, size_t len) {
  return akt__conn_feed(arg, piece, len);
}

int akt_fuzz_dispatch(const uint8_t *data, size_t len) {
  akt_fuzz_world fw;
  akt_fuzz_world_up(&fw, 2);
  akt__remote *r = akt__remote_of(fw.systems[0]);
  akt__buf out = {0};
  akt__conn *c = akt__conn_detached(r, NULL, &out);
  if (!c) akt_fuzz_die("dispatch: out of memory");
  handshake(c);
  akt_fuzz_split(data, len, feed_piece, c);
  akt_fuzz_world_run(&fw);
  akt__conn_detached_free(c);
  akt__buf_free(&out);
  akt_fuzz_world_down(&fw);
  return 0;
}
