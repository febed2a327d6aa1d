/* Remoting under simulator faults: backpressure from a peer that reads
 * nothing for a while, with streams of the default size and of a small one,
 * and from a raw peer that floods Heartbeats and reads nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/sim.h"
#include "remote_fixture.h"
#include "sim/net.h"
#include "sim/stream.h"
#include "src/remote/auth.h"
#include "src/remote/remote.h"

#define NOTE_BYTES (1u << 20)

static int tell_notes(akt_pid *to, int n, char *text) {
  int accepted = 0;
  for (int i = 0; i < n; i++) {
    Note note = NOTE__INIT;
    note.text = text;
    accepted += akt_tell(to, &note.base) == 0;
  }
  return accepted;
}

/* The stream to a paused peer takes what the writer lets it hold ahead of
 * the network (max_frame: AKT__CONN_AHEAD_MAX, well under the simulator's
 * 64 MiB per stream), then the endpoint's queue fills to send_queue and
 * sends are refused; what was accepted is written when the stream drains,
 * without waiting for another send. */
static void a_full_stream_drains_when_the_peer_reads_again(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_pid *to = remote_of(f.a, akt_probe_pid(pb));
  char *text = malloc(NOTE_BYTES);
  assert_non_null(text);
  memset(text, 'x', NOTE_BYTES - 1);
  text[NOTE_BYTES - 1] = '\0';
  /* Connect first, then stop B from reading. */
  assert_int_equal(tell_notes(to, 1, text), 1);
  akt_probe_expect_msg(pb, &note__descriptor, AKT_SECONDS(2));
  akt_sim_world *w = akt_testkit_world(f.tk);
  assert_int_equal(akt_sim_pause(w, akt_system_backend(f.b)), 0);
  int accepted = tell_notes(to, 60, text);
  akt_testkit_advance(f.tk, AKT_MILLIS(10)); /* max_frame into the stream */
  accepted += tell_notes(to, 60, text);
  akt_remote_stats st0;
  akt_remote_get_stats(f.a, &st0);
  /* Heartbeat intervals pass (within the failure timeout): A's first
   * Heartbeat goes behind what the stream holds, the others are dropped. */
  akt_testkit_advance(f.tk, 4 * AKT_REMOTE_DEFAULT_HEARTBEAT + AKT_MILLIS(10));
  akt_remote_stats st1;
  akt_remote_get_stats(f.a, &st1);
  assert_int_equal(st1.control_frames_dropped - st0.control_frames_dropped, 3);
  /* The queue, and the stream's share ahead of the network: no more. */
  size_t ahead = AKT_REMOTE_DEFAULT_MAX_FRAME + AKT_REMOTE_DEFAULT_MAX_FRAME / 2;
  print_message("  %d notes of 1 MiB accepted\n", accepted);
  assert_true(accepted < 120);
  assert_true((size_t)accepted * NOTE_BYTES >= AKT_REMOTE_DEFAULT_SEND_QUEUE);
  assert_true((size_t)accepted * NOTE_BYTES <= AKT_REMOTE_DEFAULT_SEND_QUEUE + ahead + NOTE_BYTES);
  assert_int_equal(akt__sim_net_get(w)->stats.write_full, 0); /* the stream never refused */
  assert_int_equal(akt_sim_resume(w, akt_system_backend(f.b)), 0);
  for (int i = 0; i < accepted; i++)
    assert_non_null(akt_probe_expect_msg(pb, &note__descriptor, AKT_SECONDS(5)));
  akt_probe_expect_no_msg(pb, AKT_MILLIS(100));
  /* B answered the Heartbeat that went: A did not give up on it. */
  akt_remote_get_stats(f.a, &st1);
  assert_int_equal(st1.heartbeat_timeouts, 0);
  assert_int_equal(st1.connections_closed, st0.connections_closed);
  free(text);
  akt_pid_release(to);
  akt_testkit_free(f.tk);
}

/* A paused peer and a stream that holds at most 2 MiB: most of the
 * writer's frames are refused; what the stream refused stays with the
 * writer and goes out first, before what was queued since, so 20000
 * messages arrive whole and in order once the peer reads again. */
static void a_refused_frame_keeps_its_place(void **state) {
  (void)state;
  fixture f;
  fixture_up(&f);
  akt_sim_world *w = akt_testkit_world(f.tk);
  akt__sim_net_get(w)->write_limit = (size_t)2 << 20;
  akt_probe *pb = akt_probe_new_on(f.tk, 1, "pb");
  akt_pid *to = remote_of(f.a, akt_probe_pid(pb));
  enum { N = 20000 };
  char text[200];
  memset(text, 'x', sizeof text);
  assert_int_equal(tell_notes(to, 1, "hello"), 1); /* connect first */
  akt_probe_expect_msg(pb, &note__descriptor, AKT_SECONDS(2));
  assert_int_equal(akt_sim_pause(w, akt_system_backend(f.b)), 0);
  for (int i = 0; i < N; i++) {
    snprintf(text, 16, "n%05d", i);
    text[6] = '-';
    text[sizeof text - 1] = '\0';
    Note note = NOTE__INIT;
    note.text = text;
    assert_int_equal(akt_tell(to, &note.base), 0);
    if (i % 1000 == 999) akt_testkit_advance(f.tk, AKT_MILLIS(1)); /* some now, some later */
  }
  assert_true(akt__sim_net_get(w)->stats.write_full > 0);
  assert_int_equal(akt_sim_resume(w, akt_system_backend(f.b)), 0);
  for (int i = 0; i < N; i++) {
    const Note *n = (const Note *)akt_probe_expect_msg(pb, &note__descriptor, AKT_SECONDS(5));
    char want[16];
    snprintf(want, sizeof want, "n%05d-", i);
    assert_int_equal(strncmp(n->text, want, 7), 0);
    assert_int_equal(strlen(n->text), sizeof text - 1);
  }
  akt_probe_expect_no_msg(pb, AKT_MILLIS(100));
  akt_pid_release(to);
  akt_testkit_free(f.tk);
}

/* ---- a raw peer: the cookie exchange by hand, then frames of our choosing ---- */

typedef struct raw_peer {
  akt_backend *b;
  akt_stream *s;
  akt__auth a;
  akt__auth_config cfg;
  uint8_t random[32];
} raw_peer;

static void raw_flush(raw_peer *p) {
  size_t len;
  const uint8_t *out = akt__auth_take_output(&p->a, &len);
  if (out) assert_int_equal(p->b->ops->stream_write(p->b, p->s, out, len), 0);
}

static void raw_on_connect(akt_stream *s, int status, void *data) {
  (void)s;
  raw_peer *p = data;
  assert_int_equal(status, 0);
  raw_flush(p); /* the Hello */
}

/* Plays the exchange; what comes after it is read and left alone. */
static void raw_on_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  (void)s;
  raw_peer *p = data;
  if (akt__auth_get_state(&p->a) == AKT__AUTH_DONE) return;
  size_t used = 0;
  assert_int_equal(akt__auth_feed(&p->a, buf, len, &used), 0);
  assert_int_equal(used, len); /* the node writes nothing before the exchange ends */
  raw_flush(p);
}

static void raw_on_close(akt_stream *s, int reason, void *data) {
  (void)s;
  (void)reason;
  raw_peer *p = data;
  p->s = NULL;
}

static const akt_stream_cbs raw_cbs = {raw_on_connect, raw_on_read, raw_on_close};

/* Connects from node `from` to `node` (whose cookie is TEST_COOKIE) as the
 * peer "akt://raw@raw:1", and runs the exchange to its end. */
static void raw_connect(akt_testkit *tk, raw_peer *p, unsigned from, akt_system *node) {
  memset(p, 0, sizeof *p);
  p->b = akt_system_backend(akt_testkit_node(tk, from));
  for (size_t i = 0; i < sizeof p->random; i++) p->random[i] = (uint8_t)(i * 7 + 1);
  p->cfg = (akt__auth_config){.role = AKT__AUTH_INITIATOR,
                              .cookie = (const uint8_t *)TEST_COOKIE,
                              .cookie_len = strlen(TEST_COOKIE),
                              .channel = "remoting",
                              .version = AKT_REMOTE_PROTOCOL_VERSION,
                              .system = "raw",
                              .address = "akt://raw@raw:1",
                              .incarnation = 1,
                              .expect_system = akt_system_name(node),
                              .expect_address = akt_system_address(node),
                              .conn_seq = 1,
                              .random = p->random,
                              .random_len = sizeof p->random};
  assert_int_equal(akt__auth_init(&p->a, &p->cfg), 0);
  char sysname[AKT_SYSTEM_NAME_MAX + 1];
  akt_addr at;
  memset(&at, 0, sizeof at);
  const char *path;
  assert_int_equal(akt__parse_address(akt_system_address(node), sysname, sizeof sysname, at.host,
                                      sizeof at.host, &at.port, &path), 0);
  assert_int_equal(p->b->ops->connect(p->b, &at, &raw_cbs, p, &p->s), 0);
  for (int i = 0; i < 100 && akt__auth_get_state(&p->a) != AKT__AUTH_DONE; i++)
    akt_testkit_advance(tk, AKT_MILLIS(10));
  assert_int_equal(akt__auth_get_state(&p->a), AKT__AUTH_DONE);
}

static void raw_close(raw_peer *p) {
  if (p->s) p->b->ops->stream_close(p->b, p->s);
  akt__auth_clear(&p->a);
}

/* A peer that sends Heartbeats and reads nothing has the node answer each
 * with a HeartbeatAck. Those answers are held in the node's stream only
 * up to what it lets a stream hold ahead of the network (max_frame:
 * AKT__CONN_AHEAD_MAX), plus one frame; the rest are dropped and counted,
 * not piled up to the stream's own limit (64 MiB on libuv, counted by no
 * cap of remoting's). Another peer is served meanwhile. */
static void heartbeats_from_a_peer_that_never_reads_are_not_answered_past_the_bound(void **state) {
  (void)state;
  enum { MAX_FRAME = 64 << 10, HEARTBEATS = 30000 };
  akt_testkit *tk = TK_NEW(.nodes = 3); /* 0: the raw peer's; 1: the node; 2: a good peer */
  akt_system *node = akt_testkit_node(tk, 1), *good = akt_testkit_node(tk, 2);
  akt_remote_options o = {.port = 2552,
                          .max_frame = MAX_FRAME,
                          .security = {.cookie = TEST_COOKIE}};
  assert_int_equal(akt_remote_start(node, &o), 0);
  assert_int_equal(akt_remote_start(good, &o), 0);
  register_test_types(node, 0);
  register_test_types(good, 0);
  raw_peer p;
  raw_connect(tk, &p, 0, node);
  /* Every Heartbeat at once, then the raw peer reads no more. */
  akt__buf flood = {0};
  for (uint64_t i = 1; i <= HEARTBEATS; i++) {
    Akt__Wire__Heartbeat hb = AKT__WIRE__HEARTBEAT__INIT;
    hb.seq = i;
    Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
    f.kind_case = AKT__WIRE__FRAME__KIND_HEARTBEAT;
    f.heartbeat = &hb;
    akt__buf one = {0};
    assert_int_equal(akt__frame_encode(&f, MAX_FRAME, &one), 0);
    assert_int_equal(akt__buf_put(&flood, one.data, one.len), 0);
    akt__buf_free(&one);
  }
  akt_sim_world *w = akt_testkit_world(tk);
  akt_remote_stats before;
  akt_remote_get_stats(node, &before);
  assert_int_equal(p.b->ops->stream_write(p.b, p.s, flood.data, flood.len), 0);
  assert_int_equal(akt_sim_pause(w, p.b), 0);
  akt_testkit_advance(tk, AKT_MILLIS(200));
  akt_remote_stats st;
  akt_remote_get_stats(node, &st);
  assert_int_equal(st.frames_in - before.frames_in, HEARTBEATS);
  /* The node's end of the raw peer's connection (the accepted side). */
  akt_backend *nb = akt_system_backend(node);
  size_t pending = nb->ops->stream_pending(nb, &p.s->c->end[1]);
  uint64_t acks = st.frames_out - before.frames_out;
  uint64_t dropped = st.control_frames_dropped - before.control_frames_dropped;
  print_message("  %d heartbeats (%zu bytes): %llu acks written, %llu dropped, %zu bytes "
                "pending\n", HEARTBEATS, flood.len, (unsigned long long)acks,
                (unsigned long long)dropped, pending);
  /* One control frame: a length prefix and a Frame of a few bytes. */
  size_t one_frame = flood.len / HEARTBEATS + 8;
  assert_true(pending <= MAX_FRAME + one_frame);
  assert_true(dropped > 0);
  assert_int_equal(acks + dropped, HEARTBEATS);
  assert_int_equal(st.protocol_errors, before.protocol_errors);
  assert_int_equal(st.limit_errors, before.limit_errors);
  /* The good peer is served, both ways, while the raw one still holds on. */
  akt_probe *on_node = akt_probe_new_on(tk, 1, "on-node");
  akt_probe *on_good = akt_probe_new_on(tk, 2, "on-good");
  akt_pid *to_node = remote_of(good, akt_probe_pid(on_node));
  akt_pid *to_good = remote_of(node, akt_probe_pid(on_good));
  assert_int_equal(tell_notes(to_node, 1, "to the node"), 1);
  assert_int_equal(tell_notes(to_good, 1, "to the good peer"), 1);
  assert_non_null(akt_probe_expect_msg(on_node, &note__descriptor, AKT_SECONDS(2)));
  assert_non_null(akt_probe_expect_msg(on_good, &note__descriptor, AKT_SECONDS(2)));
  akt_remote_get_stats(node, &st);
  assert_int_equal(st.connections_closed, before.connections_closed); /* nobody was cut */
  akt_pid_release(to_node);
  akt_pid_release(to_good);
  assert_int_equal(akt_sim_resume(w, p.b), 0);
  raw_close(&p);
  akt__buf_free(&flood);
  akt_testkit_free(tk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_full_stream_drains_when_the_peer_reads_again),
      cmocka_unit_test(a_refused_frame_keeps_its_place),
      cmocka_unit_test(heartbeats_from_a_peer_that_never_reads_are_not_answered_past_the_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
