/* The cookie's challenge/response over simulated streams: each side of a
 * simulated connection runs the state machine (src/remote/auth.c) with
 * nonces from its node's random stream; the run is repeated from the same
 * seed and must give the same world digest (which hashes every byte
 * written on every stream) and the same session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "akt/sim.h"
#include "src/remote/auth.h"

#define COOKIE "correct-horse-battery-staple-0042"
#define NODE0 "akt://node0@node0:2552"
#define NODE1 "akt://node1@node1:2552"

typedef struct sim_end {
  akt_sim_world *w;
  akt_backend *b;
  akt_stream *s;
  akt__auth a;
  const char *cookie;
  akt__auth_role role;
  int finished;
} sim_end;

static void sim_random(akt_backend *b, uint8_t out[32]) {
  for (int k = 0; k < 4; k++) {
    uint64_t x = b->ops->random_u64(b);
    memcpy(out + 8 * k, &x, 8);
  }
}

static void sim_init(sim_end *e) {
  uint8_t random[32];
  sim_random(e->b, random);
  akt__auth_config cfg = {
      .role = e->role,
      .cookie = (const uint8_t *)e->cookie,
      .cookie_len = strlen(e->cookie),
      .channel = "remoting",
      .version = 2,
      .system = e->role == AKT__AUTH_INITIATOR ? "node1" : "node0",
      .address = e->role == AKT__AUTH_INITIATOR ? NODE1 : NODE0,
      .incarnation = e->b->ops->random_u64(e->b),
      .expect_system = "node0",
      .expect_address = NODE0,
      .conn_seq = 1,
      .random = random,
      .random_len = sizeof random,
  };
  assert_int_equal(akt__auth_init(&e->a, &cfg), 0);
}

static void sim_flush(sim_end *e) {
  size_t len;
  const uint8_t *out = akt__auth_take_output(&e->a, &len);
  if (out) assert_int_equal(e->b->ops->stream_write(e->b, e->s, out, len), 0);
}

static void sim_on_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  (void)s;
  sim_end *e = data;
  akt__auth_feed(&e->a, buf, len, NULL);
  sim_flush(e);
  akt__auth_state st = akt__auth_get_state(&e->a);
  if (!e->finished && (st == AKT__AUTH_DONE || st == AKT__AUTH_FAILED)) {
    e->finished = 1;
    char hex[2 * AKT__AUTH_SESSION_ID + 1] = "";
    if (st == AKT__AUTH_DONE)
      for (int k = 0; k < AKT__AUTH_SESSION_ID; k++)
        snprintf(hex + 2 * k, 3, "%02x", akt__auth_get_session(&e->a)->id[k]);
    akt_sim_note(e->w, e->b, st == AKT__AUTH_DONE ? "auth-done" : "auth-failed",
                 st == AKT__AUTH_DONE ? hex : akt__auth_error(&e->a), 0);
    if (st == AKT__AUTH_FAILED) e->b->ops->stream_close(e->b, e->s);
  }
}

static void sim_on_connect(akt_stream *s, int status, void *data) {
  (void)s;
  sim_end *e = data;
  assert_int_equal(status, 0);
  sim_init(e);
  sim_flush(e);
}

static void sim_on_close(akt_stream *s, int reason, void *data) {
  (void)s;
  (void)reason;
  sim_end *e = data;
  e->s = NULL;
}

static const akt_stream_cbs sim_cbs = {sim_on_connect, sim_on_read, sim_on_close};

static void sim_on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  sim_end *e = data;
  e->s = s;
  sim_init(e);
  assert_int_equal(e->b->ops->stream_start(e->b, s, &sim_cbs, e), 0);
}

typedef struct sim_outcome {
  uint64_t digest;
  akt__auth_state client, server;
  akt__auth_session session;
} sim_outcome;

static sim_outcome sim_run(uint64_t seed, const char *client_cookie) {
  akt_sim_world *w;
  akt_sim_options o = {.seed = seed};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  sim_end *srv = calloc(1, sizeof *srv), *cli = calloc(1, sizeof *cli);
  assert_non_null(srv);
  assert_non_null(cli);
  assert_int_equal(akt_sim_node_new(w, "node0", &srv->b), 0);
  assert_int_equal(akt_sim_node_new(w, "node1", &cli->b), 0);
  srv->w = cli->w = w;
  srv->role = AKT__AUTH_ACCEPTOR;
  cli->role = AKT__AUTH_INITIATOR;
  srv->cookie = COOKIE;
  cli->cookie = client_cookie;
  akt_sim_link_faults jitter = {.kind = AKT_SIM_LATENCY_UNIFORM, .latency = AKT_MICROS(100),
                                .latency_max = AKT_MILLIS(5)};
  assert_int_equal(akt_sim_link_set_all(w, &jitter), 0);
  akt_addr at = {.host = "node0", .port = 2552};
  akt_listener *l;
  assert_int_equal(srv->b->ops->listen(srv->b, &at, sim_on_accept, srv, &l), 0);
  assert_int_equal(cli->b->ops->connect(cli->b, &at, &sim_cbs, cli, &cli->s), 0);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  sim_outcome r = {.digest = akt_sim_digest(w),
                   .client = akt__auth_get_state(&cli->a),
                   .server = akt__auth_get_state(&srv->a)};
  if (r.client == AKT__AUTH_DONE) r.session = *akt__auth_get_session(&cli->a);
  if (r.server == AKT__AUTH_DONE)
    assert_memory_equal(r.session.key, akt__auth_get_session(&srv->a)->key, AKT__AUTH_KEY);
  srv->b->ops->listener_close(srv->b, l);
  if (cli->s) cli->b->ops->stream_close(cli->b, cli->s);
  if (srv->s) srv->b->ops->stream_close(srv->b, srv->s);
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  akt__auth_clear(&srv->a);
  akt__auth_clear(&cli->a);
  free(srv);
  free(cli);
  akt_sim_world_free(w);
  return r;
}

static void the_exchange_over_simulated_streams_replays_from_its_seed(void **state) {
  (void)state;
  sim_outcome one = sim_run(42, COOKIE), two = sim_run(42, COOKIE), other = sim_run(43, COOKIE);
  assert_int_equal(one.client, AKT__AUTH_DONE);
  assert_int_equal(one.server, AKT__AUTH_DONE);
  assert_int_equal(one.digest, two.digest);
  assert_memory_equal(one.session.key, two.session.key, AKT__AUTH_KEY);
  assert_memory_equal(one.session.id, two.session.id, AKT__AUTH_SESSION_ID);
  /* Another seed: other nonces, so another session. */
  assert_int_equal(other.client, AKT__AUTH_DONE);
  assert_true(one.digest != other.digest);
  assert_memory_not_equal(one.session.key, other.session.key, AKT__AUTH_KEY);
}

static void a_wrong_cookie_over_simulated_streams_is_refused_the_same_way_each_run(void **state) {
  (void)state;
  sim_outcome one = sim_run(7, "wrong"), two = sim_run(7, "wrong");
  assert_int_equal(one.server, AKT__AUTH_FAILED);
  assert_int_equal(one.client, AKT__AUTH_FAILED);
  assert_int_equal(one.digest, two.digest);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_exchange_over_simulated_streams_replays_from_its_seed),
      cmocka_unit_test(a_wrong_cookie_over_simulated_streams_is_refused_the_same_way_each_run),
  };
  return cmocka_run_group_tests_name("remote-auth-sim", tests, NULL, NULL);
}
