/* Remoting under simulator faults: backpressure from a peer that reads
 * nothing for a while. */
#include <stdlib.h>
#include <string.h>

#include "akt/sim.h"
#include "remote_fixture.h"

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

/* The stream to a paused peer fills up (the simulator's 64 MiB per stream)
 * and refuses writes; the endpoint keeps what it queued and writes it when
 * the stream drains, without waiting for another send. */
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
  akt_testkit_advance(f.tk, AKT_MILLIS(10)); /* ~60 MiB into the stream */
  accepted += tell_notes(to, 60, text);
  akt_testkit_advance(f.tk, AKT_MILLIS(10)); /* the stream refuses more */
  assert_int_equal(accepted, 120);
  assert_int_equal(akt_sim_resume(w, akt_system_backend(f.b)), 0);
  for (int i = 0; i < accepted; i++)
    assert_non_null(akt_probe_expect_msg(pb, &note__descriptor, AKT_SECONDS(5)));
  akt_probe_expect_no_msg(pb, AKT_MILLIS(100));
  free(text);
  akt_pid_release(to);
  akt_testkit_free(f.tk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_full_stream_drains_when_the_peer_reads_again),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
