/* An attack suite run against a node configured as docs/security.md
 * recommends — a 32-byte cookie and TLS with mutual authentication, and
 * also the cookie alone — in a process of its own (node_child.h), so that
 * its memory is its own: who gets in and what a peer may do. Attackers
 * are this process: raw sockets (through TLS when they have a
 * certificate), strangers without the cookie, and cookie holders that try
 * to go past what a peer may do. Throughout, a well-behaved peer (B, a
 * node in this process) asks A's echo in a loop: every test checks that
 * B's round trips go on, that A did not crash, and that A never wrote or
 * logged a byte of the cookie. What an attacker can make A hold is
 * test_attacks_node_limits.c's.
 *
 * Deadlines only bound hangs; nothing here races a clock. */
#include "nested.h"
#include "node_child.h"

#include "akt/actor.pb-c.h"
#include "akt/remote.pb-c.h"

/* ---- strangers: no cookie, a wrong cookie, plaintext against TLS ------------------------ */

/* Everything that stops, spawns or speaks for A: a stranger may do none
 * of it, a cookie holder only what A's allow-lists say. */
static void hostile_entries(akt__buf *body, const char *sender) {
  Note n = NOTE__INIT;
  n.text = "hello from nowhere";
  Akt__RemoteSpawn spawn = AKT__REMOTE_SPAWN__INIT;
  spawn.kind = "echo";
  spawn.name = "spawned";
  Akt__PoisonPill pill = AKT__POISON_PILL__INIT;
  Akt__Terminated t = AKT__TERMINATED__INIT;
  t.path = "/user/x";
  static const char *const stops[] = {"/system/remoting", "/user/echo", "/user", "/system",
                                      "/temp", "/"};
  entry(body, "/user/echo", sender, &n.base, 0, 0);
  entry(body, "/system/remoting", sender, &spawn.base, 1, AKT__ENV_REQUEST);
  for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
    Akt__RemoteStop stop = AKT__REMOTE_STOP__INIT;
    stop.path = (char *)stops[i];
    entry(body, "/system/remoting", sender, &stop.base, 0, 0);
    entry(body, stops[i], sender, &pill.base, 0, 0);
  }
  entry(body, "/user/echo", sender, &t.base, 0, 0);
  entry(body, "/system/remoting", sender, &t.base, 0, 0);
}

/* Sends the hostile entries as a Batch after `hello` (plaintext bytes
 * that open the connection, or none), then waits until A closes it. */
static void stranger_tries(wire *w, const akt__buf *hello) {
  akt__buf body = {0}, frame = {0};
  hostile_entries(&body, EVIL "/user/x");
  assert_int_equal(akt__frame_batch(body.data, body.len, &frame), 0);
  if (hello) wire_write(w, hello->data, hello->len);
  wire_write(w, frame.data, frame.len);
  uint64_t end = now_ms() + HANG_MS;
  while (!w->failed && now_ms() < end) wire_pump(w, 100);
  assert_true(w->failed); /* A closed it */
  akt__buf_free(&body);
  akt__buf_free(&frame);
}

static void assert_nothing_happened(const node_report *before, const node_report *after) {
  assert_int_equal(after->echo_msgs, before->echo_msgs);
  assert_int_equal(after->ss.spawned, before->ss.spawned);
  assert_true(after->echo_alive && after->remoting_alive && after->planted_alive);
}

static void strangers_without_the_cookie_run_nothing(void **state) {
  (void)state;
  for (int plain = 1; plain >= 0; plain--) {
    node_child a;
    peer b;
    scene_up(&a, &b, (node_cfg){.plain = plain});
    node_child_peak_start(&a);
    node_report r0 = node_child_report(&a);
    akt__buf old = {0};
    old_handshake(&old);
    wire w;
    /* 1. Protocol 1 with no cookie, in plaintext (against TLS: not TLS). */
    assert_int_equal(stranger(&a, NULL, NULL, NULL, &w), 0);
    stranger_tries(&w, &old);
    wire_close(&w);
    /* 2. This protocol with a wrong cookie (and, against TLS, a
     * certificate of the CA: the cookie is what is missing). */
    const char *cert = plain ? NULL : node_certs.node1_cert;
    const char *key = plain ? NULL : node_certs.node1_key;
    assert_int_equal(stranger(&a, NULL, cert, key, &w), 0);
    assert_int_not_equal(wire_auth(&w, "0000000000000000wrongcookie00000", EVIL, 1, 1, a.addr), 0);
    stranger_tries(&w, NULL);
    wire_close(&w);
    /* 3. Against TLS: a correct akt handshake in plaintext, no TLS. */
    if (!plain) {
      assert_int_equal(stranger(&a, NULL, NULL, NULL, &w), 0);
      assert_int_not_equal(wire_auth(&w, NODE_COOKIE, EVIL, 2, 2, a.addr), 0);
      wire_close(&w);
    }
    peer_progressed(&b, atomic_load(&b.ok));
    node_report r = node_child_report(&a);
    assert_nothing_happened(&r0, &r);
    assert_int_equal(r.rs.security.not_allowed, r0.rs.security.not_allowed); /* never decoded */
    assert_true(r.rs.security.auth_failures + r.rs.security.plaintext_peers +
                    r.rs.handshakes_refused >
                r0.rs.security.auth_failures + r0.rs.security.plaintext_peers +
                    r0.rs.handshakes_refused);
    node_child_assert_growth(&a, NODE_SLACK + 3 * STRANGER_MAX, "strangers without the cookie");
    akt__buf_free(&old);
    scene_down(&a, &b);
  }
}

/* ---- a cookie holder past the allow-lists ----------------------------------------------- */

static int not_allowed_at_least(const node_report *r, uint64_t n) {
  return r->rs.security.not_allowed >= n && !r->planted_alive;
}

static void a_cookie_holder_stops_and_spawns_only_what_the_lists_allow(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){.stop_path = "/user/planted"});
  wire w;
  insider(&a, EVIL, 1, &w);
  node_report r0 = node_child_report(&a);
  akt__buf body = {0};
  hostile_entries(&body, EVIL "/user/x");
  /* What the list allows, last: when it is done, the rest was handled. */
  Akt__RemoteStop stop = AKT__REMOTE_STOP__INIT;
  stop.path = "/user/planted";
  entry(&body, "/system/remoting", EVIL "/user/x", &stop.base, 0, 0);
  send_batch(&w, &body);
  /* A spawn, 6 stops, 6 PoisonPills, 2 Terminated: 15 refusals. */
  node_report r = node_child_wait(&a, not_allowed_at_least, r0.rs.security.not_allowed + 15);
  print_message("  refused %llu\n",
                (unsigned long long)(r.rs.security.not_allowed - r0.rs.security.not_allowed));
  assert_int_equal(r.rs.security.not_allowed, r0.rs.security.not_allowed + 15);
  assert_false(r.planted_alive); /* the permitted stop did stop */
  assert_true(r.echo_alive && r.remoting_alive);
  assert_int_equal(r.ss.spawned, r0.ss.spawned);
  assert_int_equal(r.echo_msgs, r0.echo_msgs + 1); /* the Note only */
  /* The connection still serves: A closed nothing for rules it enforced. */
  assert_true(raw_drain(w.fd, NULL) >= 0);
  peer_progressed(&b, atomic_load(&b.ok));
  akt__buf_free(&body);
  wire_close(&w);
  scene_down(&a, &b);
}

/* ---- a captured handshake, replayed ----------------------------------------------------- */

/* Without TLS (the cookie alone, where a listener sees the handshake):
 * the victim's Hello and Proof, captured, replayed as they were and with
 * a higher connection number, neither open a session nor end the
 * victim's. */
static void a_replayed_handshake_takes_no_session_over(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){.plain = 1});
  akt__buf captured = {0}, hs = {0}, raised = {0};
  wire victim;
  assert_int_equal(stranger(&a, NULL, NULL, NULL, &victim), 0);
  victim.rec = &captured;
  assert_int_equal(wire_auth(&victim, NODE_COOKIE, "akt://victim@127.0.0.1:1", 7, 1, a.addr), 0);
  victim.rec = NULL;
  first_frames(&captured, 2, &hs);
  raise_seq(&hs, 1000, &raised);
  node_report r0 = node_child_report(&a);
  const akt__buf *replays[] = {&hs, &raised};
  for (int i = 0; i < 2; i++) {
    int fd = raw_connect(NULL, a.port);
    raw_send(fd, replays[i]->data, replays[i]->len);
    assert_true(raw_read_until_closed(fd, NULL, HANG_MS));
    close(fd);
  }
  node_report r = node_child_report(&a);
  assert_int_equal(r.rs.security.auth_failures, r0.rs.security.auth_failures + 2);
  /* The victim's session is untouched: open, and it still delivers. */
  assert_true(raw_drain(victim.fd, NULL) >= 0);
  akt__buf body = {0};
  Note n = NOTE__INIT;
  n.text = "still mine";
  entry(&body, "/user/echo", "", &n.base, 0, 0);
  send_batch(&victim, &body);
  uint64_t end = now_ms() + HANG_MS;
  while ((r = node_child_report(&a)).echo_msgs == r0.echo_msgs && now_ms() < end) sleep_ms(10);
  assert_int_equal(r.echo_msgs, r0.echo_msgs + 1);
  assert_true(raw_drain(victim.fd, NULL) >= 0);
  peer_progressed(&b, atomic_load(&b.ok));
  akt__buf_free(&body);
  akt__buf_free(&captured);
  akt__buf_free(&hs);
  akt__buf_free(&raised);
  wire_close(&victim);
  scene_down(&a, &b);
}

/* ---- senders not of the peer ------------------------------------------------------------ */

static int foreign_at_least(const node_report *r, uint64_t n) {
  return r->rs.security.foreign_senders >= n;
}

/* A cookie holder authenticated as EVIL names, as its requests' senders,
 * a third node (where the attacker listens: A must not dial it) and A's
 * own /system actors (whom echo's answers would then reach locally). */
static void senders_not_of_the_authenticated_peer_are_refused(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){0});
  uint16_t port;
  int lfd = raw_listen(&port);
  char third[96], own[96];
  snprintf(third, sizeof third, "akt://c@127.0.0.1:%u/user/x", (unsigned)port);
  snprintf(own, sizeof own, "%s/system/remoting", a.addr);
  wire w;
  insider(&a, EVIL, 1, &w);
  node_report r0 = node_child_report(&a);
  akt__buf body = {0};
  Note n = NOTE__INIT;
  n.text = "answer them";
  entry(&body, "/user/echo", third, &n.base, 1, AKT__ENV_REQUEST);
  entry(&body, "/user/echo", own, &n.base, 2, AKT__ENV_REQUEST);
  entry(&body, "/user/echo", EVIL "/user/x", &n.base, 0, 0); /* its own: delivered */
  send_batch(&w, &body);
  node_report r = node_child_wait(&a, foreign_at_least, r0.rs.security.foreign_senders + 2);
  assert_int_equal(r.rs.security.foreign_senders, r0.rs.security.foreign_senders + 2);
  uint64_t end = now_ms() + HANG_MS;
  while ((r = node_child_report(&a)).echo_msgs < r0.echo_msgs + 1 && now_ms() < end) sleep_ms(10);
  assert_int_equal(r.echo_msgs, r0.echo_msgs + 1);
  struct pollfd pf = {.fd = lfd, .events = POLLIN};
  assert_int_equal(poll(&pf, 1, 0), 0); /* A dialled nobody */
  peer_progressed(&b, atomic_load(&b.ok));
  close(lfd);
  akt__buf_free(&body);
  wire_close(&w);
  scene_down(&a, &b);
}
/* ---- a payload nested deeper than any decoder's stack ----------------------------------- */

static int too_deep_at_least(const node_report *r, uint64_t n) {
  return r->rs.security.depth_refusals >= n;
}

static void deeply_nested_payloads_do_not_crash_the_node(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){0});
  wire w;
  insider(&a, EVIL, 1, &w);
  node_report r0 = node_child_report(&a);
  /* A million levels: a payload of ~3 MiB whose decoding, by recursion,
   * would need a stack of gigabytes. Refused once measured. (B's Pings
   * count as envelopes in too: the refusal is what says A read it.) */
  akt__buf payload = {0}, body = {0};
  nested_inner(&payload, 1000000);
  entry_raw(&body, "/user/echo", "", "Inner", payload.data, payload.len);
  send_batch(&w, &body);
  node_report r = node_child_wait(&a, too_deep_at_least, r0.rs.security.depth_refusals + 1);
  assert_int_equal(r.rs.security.depth_refusals, r0.rs.security.depth_refusals + 1);
  /* A modest depth still decodes and reaches echo; the deep one did not. */
  body.len = 0;
  akt__buf_free(&payload);
  nested_inner(&payload, 20);
  entry_raw(&body, "/user/echo", "", "Inner", payload.data, payload.len);
  send_batch(&w, &body);
  r = node_child_wait(&a, echoed_at_least, r0.echo_msgs + 1);
  assert_int_equal(r.echo_msgs, r0.echo_msgs + 1);
  assert_int_equal(r.rs.security.depth_refusals, r0.rs.security.depth_refusals + 1);
  peer_progressed(&b, atomic_load(&b.ok)); /* a round trip after both */
  node_child_assert_alive(&a);
  akt__buf_free(&payload);
  akt__buf_free(&body);
  wire_close(&w);
  scene_down(&a, &b);
}

/* ---- a peer claiming to be the node it talks to --------------------------------------- */

static int refused_at_least(const node_report *r, uint64_t n) {
  return r->rs.handshakes_refused >= n;
}

static void a_peer_cannot_claim_the_nodes_own_address(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){.plain = 1});
  /* A's address, another incarnation: were it accepted, senders on A
   * itself would pass the check that a peer speaks for its own actors,
   * and A's actors would answer A's /system actors at a peer's word. */
  node_report r0 = node_child_report(&a);
  wire w;
  assert_int_equal(stranger(&a, NULL, NULL, NULL, &w), 0);
  assert_int_equal(wire_auth(&w, NODE_COOKIE, a.addr, 424242, 1, a.addr), AKT_EREFUSED);
  wire_close(&w);
  /* Counted once A closed its side (after it sent the refusal). */
  node_report r = node_child_wait(&a, refused_at_least, r0.rs.handshakes_refused + 1);
  assert_int_equal(r.rs.handshakes_refused, r0.rs.handshakes_refused + 1);
  assert_int_equal(r.live_peers, r0.live_peers); /* no endpoint for A's own address */
  peer_progressed(&b, atomic_load(&b.ok));
  scene_down(&a, &b);
}
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(strangers_without_the_cookie_run_nothing),
    cmocka_unit_test(a_cookie_holder_stops_and_spawns_only_what_the_lists_allow),
    cmocka_unit_test(a_replayed_handshake_takes_no_session_over),
    cmocka_unit_test(senders_not_of_the_authenticated_peer_are_refused),
    cmocka_unit_test(deeply_nested_payloads_do_not_crash_the_node),
    cmocka_unit_test(a_peer_cannot_claim_the_nodes_own_address),
};

NODE_CHILD_TEST_MAIN("remote/attacks-node", tests)
