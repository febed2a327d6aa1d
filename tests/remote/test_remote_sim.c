/* Remoting under simulator faults: backpressure from a peer that reads
 * nothing for a while, with streams of the default size and of a small one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/sim.h"
#include "remote_fixture.h"
#include "sim/net.h"

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
  akt_testkit_advance(f.tk, AKT_MILLIS(10));
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_full_stream_drains_when_the_peer_reads_again),
      cmocka_unit_test(a_refused_frame_keeps_its_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
