/* akt — fuzz target "dispatch": envelopes from a peer that has shaken
 * hands, decoded and delivered.
 *
 * node0 gets a detached inbound connection and a valid Handshake from
 * node1 (right system name and cookie), built here; the input's stream
 * follows it in pieces: batches of envelopes (to /user/echo,
 * /user/counter, /user/parent/child, /system/remoting or nobody, of the
 * akt.fuzz types, akt's own or unknown ones, requests and replies),
 * heartbeats, anything. Then the world runs a little, so deliveries are
 * processed and replies cross to node1 on a real simulated connection.
 */
#include "fuzz/harness.h"
#include "src/remote/remote.h"

static void handshake(akt__conn *c) {
  Akt__Wire__Handshake h = AKT__WIRE__HANDSHAKE__INIT;
  h.magic = AKT__WIRE_MAGIC;
  h.version = AKT_REMOTE_PROTOCOL_VERSION;
  h.to_system = AKT_FUZZ_SYSTEM;
  h.from_address = AKT_FUZZ_PEER_NODE;
  h.incarnation = 1;
  h.cookie = AKT_FUZZ_COOKIE;
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  f.kind_case = AKT__WIRE__FRAME__KIND_HANDSHAKE;
  f.handshake = &h;
  akt__buf buf = {0};
  if (akt__frame_encode(&f, AKT_REMOTE_DEFAULT_MAX_FRAME, &buf) != 0)
    akt_fuzz_die("dispatch: encoding the handshake");
  if (akt__conn_feed(c, buf.data, buf.len) != 0 || !akt__conn_is_open(c))
    akt_fuzz_die("dispatch: node0 refused the harness's handshake");
  akt__buf_free(&buf);
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
