/* An attack suite run against a node configured as docs/security.md
 * recommends — a 32-byte cookie and TLS with mutual authentication, and
 * also the cookie alone — in a process of its own (node_child.h), so that
 * its memory is its own: what an attacker can make the node hold. Frames
 * too large before and after the handshake, slow handshakes, claimed
 * addresses, replies to an address nobody listens on or to a peer that
 * never reads, strangers holding the handshake slots of a peer's address.
 * Throughout, a well-behaved peer (B, a node in this process) asks A's
 * echo in a loop: every test checks that B's round trips go on, that A
 * did not crash, that A never wrote or logged a byte of the cookie, and
 * that A's peak resident size stayed within a bound computed from its
 * limits. Who gets in and what a peer may do are test_attacks_node.c's.
 *
 * Deadlines only bound hangs; nothing here races a clock. */
#include "node_child.h"

#include "akt/actor.pb-c.h"
#include "akt/remote.pb-c.h"

/* ---- frames too large: before the handshake, and a batch after it ----------------------- */

/* 15 MiB before any handshake: in plaintext one frame of tiny unknown
 * fields, against TLS a ClientHello whose length claims 15 MiB, sent in
 * full records. Each is closed at its first length. */
static void a_15_mib_frame_before_the_handshake_costs_nothing(void **state) {
  (void)state;
  for (int plain = 1; plain >= 0; plain--) {
    node_child a;
    peer b;
    scene_up(&a, &b, (node_cfg){.plain = plain});
    size_t total = 15 * MIB;
    akt__buf bytes = {0};
    assert_int_equal(akt__buf_reserve(&bytes, total + 64), 0);
    if (plain) {
      size_t n = total - 4;
      uint8_t prefix[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
      akt__buf_put(&bytes, prefix, 4);
      for (size_t i = 0; i + 1 < n; i += 2) { /* field 15, varint 1: all unknown */
        bytes.data[bytes.len++] = 15 << 3;
        bytes.data[bytes.len++] = 1;
      }
    } else {
      enum { REC = 16384 };
      for (int first = 1; bytes.len + 5 + REC <= total; first = 0) {
        uint8_t hdr[5] = {0x16, 0x03, 0x01, REC >> 8, REC & 0xff};
        akt__buf_put(&bytes, hdr, 5);
        size_t at = bytes.len;
        memset(bytes.data + at, 0x41, REC);
        if (first) { /* ClientHello of 15 MiB */
          bytes.data[at] = 0x01;
          bytes.data[at + 1] = 0xf0;
          bytes.data[at + 2] = 0x00;
          bytes.data[at + 3] = 0x00;
        }
        bytes.len += REC;
      }
    }
    node_child_peak_start(&a);
    node_report r0 = node_child_report(&a);
    int fd = raw_connect(NULL, a.port);
    size_t sent = raw_send(fd, bytes.data, bytes.len);
    assert_true(raw_read_until_closed(fd, NULL, HANG_MS));
    close(fd);
    print_message("  %s: A closed after %zu of %zu bytes\n", plain ? "plain" : "TLS", sent,
                  bytes.len);
    node_report r = node_child_report(&a);
    assert_true(r.rs.security.pre_auth_oversize + r.rs.security.tls_failures >
                r0.rs.security.pre_auth_oversize + r0.rs.security.tls_failures);
    node_child_assert_growth(&a, NODE_SLACK + STRANGER_MAX, "15 MiB before the handshake");
    peer_progressed(&b, atomic_load(&b.ok));
    akt__buf_free(&bytes);
    scene_down(&a, &b);
  }
}

/* A cookie holder's 7.6 MiB Batch whose first envelope's target is over
 * max_name: refused at that envelope, nothing built for the others. */
static void a_7_6_mib_batch_with_an_over_long_first_name_is_refused_unread(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){0});
  akt__buf body = {0};
  char name[2 * AKT_REMOTE_DEFAULT_MAX_NAME];
  memset(name, 'a', sizeof name - 1);
  name[0] = '/';
  name[sizeof name - 1] = '\0';
  Note n = NOTE__INIT;
  n.text = "x";
  entry(&body, name, "", &n.base, 0, 0);
  while (body.len < (size_t)(7.6 * (double)MIB)) entry(&body, "/user/echo", "", &n.base, 0, 0);
  wire w;
  insider(&a, EVIL, 1, &w);
  node_child_peak_start(&a);
  node_report r0 = node_child_report(&a);
  akt__buf frame = {0};
  assert_int_equal(akt__frame_batch(body.data, body.len, &frame), 0);
  size_t frame_len = frame.len;
  wire_write(&w, frame.data, frame.len);
  uint64_t end = now_ms() + HANG_MS;
  while (!w.failed && now_ms() < end) wire_pump(&w, 100);
  assert_true(w.failed); /* A closed the connection */
  node_report r = node_child_report(&a);
  assert_int_equal(r.echo_msgs, r0.echo_msgs); /* nothing delivered */
  assert_true(r.rs.limit_errors > r0.rs.limit_errors);
  /* The frame is kept whole until it is read — twice its size at most, as
   * its buffer grows (docs/security.md) — and decoding adds nothing. */
  node_child_assert_growth(&a, 2 * frame_len + NODE_SLACK, "7.6 MiB batch");
  peer_progressed(&b, atomic_load(&b.ok));
  akt__buf_free(&frame);
  akt__buf_free(&body);
  wire_close(&w);
  scene_down(&a, &b);
}

/* ---- slow loris, and the log it makes ----------------------------------------------------- */

#define LORIS 40
#define LORIS_SOURCE "127.0.0.9"

/* LORIS connections from one address against the TLS node, each sending
 * a TLS record a byte a second: at most max_unauthenticated_per_source
 * open at once, each closed by the handshake deadline (counted from
 * accept, not reset by bytes), A's log a few throttled lines. */
static void slow_connections_are_capped_and_cut_at_the_deadline(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){0});
  node_report r0 = node_child_report(&a);
  node_child_peak_start(&a);
  static const uint8_t trickle[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
  int fds[LORIS], sent[LORIS], open_n = LORIS;
  for (int i = 0; i < LORIS; i++) {
    fds[i] = raw_connect(LORIS_SOURCE, a.port);
    raw_send(fds[i], trickle, 1);
    sent[i] = 1;
  }
  uint32_t most_unauth = 0;
  uint64_t last_byte = now_ms(), end = now_ms() + HANG_MS;
  while (open_n > 0 && now_ms() < end) {
    node_report r = node_child_report(&a);
    if (r.unauth > most_unauth) most_unauth = r.unauth;
    int byte = now_ms() - last_byte >= 1000;
    if (byte) last_byte = now_ms();
    for (int i = 0; i < LORIS; i++) {
      if (fds[i] < 0) continue;
      if (raw_drain(fds[i], NULL) < 0) {
        close(fds[i]);
        fds[i] = -1;
        open_n--;
      } else if (byte) {
        raw_send(fds[i], &trickle[sent[i] % sizeof trickle], 1);
        sent[i]++;
      }
    }
    sleep_ms(50);
  }
  assert_int_equal(open_n, 0); /* every one closed by A */
  node_report r = node_child_report(&a);
  uint64_t capped = r.rs.security.connections_capped - r0.rs.security.connections_capped;
  uint64_t cut = r.rs.security.handshakes_cut - r0.rs.security.handshakes_cut;
  uint64_t deadlines = r.rs.security.handshake_deadlines - r0.rs.security.handshake_deadlines;
  uint64_t warned = r.warn_lines - r0.warn_lines;
  uint64_t left_out = r.rs.security.log_lines_suppressed - r0.rs.security.log_lines_suppressed;
  print_message("  capped %llu, cut %llu, at the deadline %llu, most at once %u; %llu WARN lines, "
                "%llu left out\n",
                (unsigned long long)capped, (unsigned long long)cut, (unsigned long long)deadlines,
                most_unauth, (unsigned long long)warned, (unsigned long long)left_out);
  assert_true(most_unauth <= AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE);
  assert_true(deadlines >= 1);
  assert_int_equal(capped + cut + deadlines, LORIS);
  /* Throttled: a line per kind (and interval), not one per connection. */
  assert_true(warned <= 8);
  assert_true(left_out >= LORIS - 8);
  node_child_assert_growth(&a, NODE_SLACK + AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE *
                                                STRANGER_MAX,
                           "slow loris");
  peer_progressed(&b, atomic_load(&b.ok));
  for (int i = 0; i < LORIS; i++)
    if (fds[i] >= 0) close(fds[i]);
  scene_down(&a, &b);
}

/* ---- claimed addresses and the endpoint table ------------------------------------------- */

#define EP_PEERS 8 /* limits.max_peers of A here: B and the claimers */
#define EP_CLAIMS 60

static void claimed_addresses_do_not_grow_the_endpoint_table(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){.plain = 1, .ro = {.security.limits.max_peers = EP_PEERS}});
  node_child_peak_start(&a);
  node_report r0 = node_child_report(&a);
  /* EP_PEERS - 1 claimers stay connected: with B, every slot is in use. */
  wire held[EP_PEERS - 1];
  char claim[96];
  for (int i = 0; i < EP_PEERS - 1; i++) {
    snprintf(claim, sizeof claim, "akt://held%d@127.0.0.1:%d", i, 20000 + i);
    insider(&a, claim, 1, &held[i]);
  }
  wire w;
  assert_int_equal(stranger(&a, NULL, NULL, NULL, &w), 0);
  assert_int_equal(wire_auth(&w, NODE_COOKIE, "akt://one-more@127.0.0.1:1", 1, 1, a.addr),
                   AKT_EREFUSED);
  wire_close(&w);
  node_report r = node_child_report(&a);
  assert_true(r.rs.security.peers_capped > r0.rs.security.peers_capped);
  assert_true(r.live_peers <= EP_PEERS);
  for (int i = 0; i < EP_PEERS - 1; i++) wire_close(&held[i]);
  /* Then claimers come and go: each empties an idle slot. */
  for (int i = 0; i < EP_CLAIMS; i++) {
    snprintf(claim, sizeof claim, "akt://claim%d@127.0.0.1:%d", i, 30000 + i);
    wire c;
    assert_int_equal(stranger(&a, NULL, NULL, NULL, &c), 0);
    int rc = AKT_ETIMEDOUT;
    /* A closed one is idle once A saw it closed: until then, refused. */
    for (uint64_t end = now_ms() + HANG_MS; now_ms() < end; sleep_ms(20)) {
      rc = wire_auth(&c, NODE_COOKIE, claim, 1, 1, a.addr);
      if (rc == 0) break;
      wire_close(&c);
      assert_int_equal(stranger(&a, NULL, NULL, NULL, &c), 0);
    }
    assert_int_equal(rc, 0);
    wire_close(&c);
    r = node_child_report(&a);
    assert_true(r.live_peers <= EP_PEERS);
  }
  print_message("  %u live peers of %d; %llu emptied, %llu refused\n", r.live_peers, EP_PEERS,
                (unsigned long long)(r.rs.security.peers_evicted - r0.rs.security.peers_evicted),
                (unsigned long long)(r.rs.security.peers_capped - r0.rs.security.peers_capped));
  assert_true(r.rs.security.peers_evicted - r0.rs.security.peers_evicted >=
              EP_CLAIMS - EP_PEERS);
  node_child_assert_growth(&a, NODE_SLACK, "claimed addresses");
  peer_progressed(&b, atomic_load(&b.ok));
  scene_down(&a, &b);
}

/* ---- replies to an address nobody listens on -------------------------------------------- */

#define UR_FRAME (2 * MIB) /* max_frame: a request batch (1 MiB) fits */
#define UR_QUEUE (1 * MIB)
#define UR_GIVE_UP AKT_SECONDS(2)

static int given_up(const node_report *r, uint64_t n) {
  return r->rs.security.unreachable_dropped >= n;
}

static void replies_to_an_unreachable_address_stay_bounded_and_are_given_up(void **state) {
  (void)state;
  node_child a;
  peer b;
  node_cfg cfg = {.ro = {.max_frame = UR_FRAME,
                         .send_queue = UR_QUEUE,
                         .security.limits = {.unreachable_give_up = UR_GIVE_UP}}};
  scene_up(&a, &b, cfg);
  uint16_t port;
  int lfd = raw_listen(&port);
  close(lfd); /* nobody listens there now */
  char ghost[96], sender[128];
  snprintf(ghost, sizeof ghost, "akt://ghost@127.0.0.1:%u", (unsigned)port);
  snprintf(sender, sizeof sender, "%s/user/x", ghost);
  wire w;
  insider(&a, ghost, 1, &w);
  node_child_peak_start(&a);
  node_report r0 = node_child_report(&a);
  static char text[64 << 10];
  memset(text, 'x', sizeof text - 1);
  Note n = NOTE__INIT;
  n.text = text;
  for (int round = 0; round < 16; round++) { /* 16 MiB of answers owed */
    akt__buf reqs = {0};
    for (int k = 0; k < 16; k++)
      entry(&reqs, "/user/echo", sender, &n.base, (uint64_t)(round * 16 + k + 1),
            AKT__ENV_REQUEST);
    send_batch(&w, &reqs);
    akt__buf_free(&reqs);
  }
  node_report r = node_child_wait(&a, given_up, r0.rs.security.unreachable_dropped + 1);
  print_message("  queue full %llu, given up %llu\n",
                (unsigned long long)(r.rs.send_queue_full - r0.rs.send_queue_full),
                (unsigned long long)(r.rs.security.unreachable_dropped -
                                     r0.rs.security.unreachable_dropped));
  assert_true(r.rs.security.unreachable_dropped > r0.rs.security.unreachable_dropped);
  assert_true(r.rs.send_queue_full > r0.rs.send_queue_full);
  /* The queue (send_queue) and, coming in, the frame being read. */
  node_child_assert_growth(&a, UR_QUEUE + 2 * UR_FRAME + NODE_SLACK,
                           "replies to an unreachable address");
  peer_progressed(&b, atomic_load(&b.ok));
  wire_close(&w);
  scene_down(&a, &b);
}
/* ---- a peer that never reads what the node writes to it -------------------------------- */

/* A cookie holder claims an address where it listens; A's echo answers
 * its requests there, on a connection A opens and the attacker never
 * reads. What A keeps for it must stay within the send queue's limits and
 * a bounded amount per connection, not grow to the stream's own 64 MiB. */
#define NR_FRAME (2 * MIB)        /* max_frame: a request batch (1 MiB) fits */
#define NR_QUEUE (2 * MIB)        /* send_queue */
/* limits.max_queued_total: room for B's answers beside the sinks' full
 * queues (were the sinks to take it all, A's answers to B would be
 * refused: queued_total_full, a limit shared by every peer) */
#define NR_QUEUED_TOTAL (8 * MIB)
/* What docs/security.md lets A keep for SINKS such peers: every queue
 * together (max_queued_total); per connection, what its stream holds
 * ahead of the network (max_frame, remote.h's AKT__CONN_AHEAD_MAX) and the
 * frame written past it (max_frame), and, coming in, the frame buffered
 * while it grows (2·max_frame), and the batch delivered to echo; plus
 * the allocator's slack for A's threads (NODE_SLACK). */
#define NR_BATCH 16  /* requests of 64 KiB in a batch */
#define NR_ROUNDS 96 /* batches per sink */
#define NR_BOUND(sinks)                                                                          \
  (NR_QUEUED_TOTAL + (sinks) * (2 * NR_FRAME + 2 * NR_FRAME + NR_BATCH * (64 << 10)) + NODE_SLACK)

static int refused_answers(const node_report *r, uint64_t n) {
  return r->rs.send_queue_full + r->rs.security.queued_total_full >= n;
}

enum { SINKS = 2 };

/* The sinks' connections: `in` the attacker's (it sends requests there),
 * `out` A's (A answers there; never read). Nothing is read from either,
 * yet both are kept alive as an attacker would keep them — a Heartbeat on
 * `in`, a HeartbeatAck (A checks no number) on `out`, every heartbeat
 * interval — so that A's failure timeout does not end the attack however
 * slowly this test runs (under ThreadSanitizer a sink's rounds take
 * longer than that timeout). */
typedef struct sinks {
  wire in[SINKS], out[SINKS];
  int n_in, n_out; /* how many of each are up */
  uint64_t last;   /* when they were last kept alive */
} sinks;

static void control(wire *w, Akt__Wire__Frame__KindCase kind) {
  Akt__Wire__Heartbeat hb = AKT__WIRE__HEARTBEAT__INIT;
  Akt__Wire__HeartbeatAck ack = AKT__WIRE__HEARTBEAT_ACK__INIT;
  Akt__Wire__Frame f = AKT__WIRE__FRAME__INIT;
  f.kind_case = kind;
  if (kind == AKT__WIRE__FRAME__KIND_HEARTBEAT)
    f.heartbeat = &hb;
  else
    f.heartbeat_ack = &ack;
  akt__buf frame = {0};
  assert_int_equal(akt__frame_encode(&f, AKT_REMOTE_DEFAULT_MAX_FRAME, &frame), 0);
  wire_write(w, frame.data, frame.len);
  akt__buf_free(&frame);
}

static void sinks_keep_alive(sinks *s) {
  if (now_ms() - s->last < AKT_REMOTE_DEFAULT_HEARTBEAT / AKT_MILLIS(1)) return;
  s->last = now_ms();
  for (int i = 0; i < s->n_in; i++) control(&s->in[i], AKT__WIRE__FRAME__KIND_HEARTBEAT);
  for (int i = 0; i < s->n_out; i++) control(&s->out[i], AKT__WIRE__FRAME__KIND_HEARTBEAT_ACK);
}

/* node_child_wait, keeping the sinks alive meanwhile. */
static node_report sinks_wait(sinks *s, node_child *a,
                              int (*cond)(const node_report *, uint64_t), uint64_t arg) {
  uint64_t end = now_ms() + HANG_MS;
  node_report rep = node_child_report(a);
  while (!cond(&rep, arg) && now_ms() < end) {
    sinks_keep_alive(s);
    sleep_ms(10);
    rep = node_child_report(a);
  }
  return rep;
}

/* raw_accept, keeping the sinks alive meanwhile. */
static int sinks_accept(sinks *s, int lfd) {
  struct pollfd pf = {.fd = lfd, .events = POLLIN};
  for (uint64_t end = now_ms() + HANG_MS; now_ms() < end;) {
    sinks_keep_alive(s);
    if (poll(&pf, 1, 10) > 0) return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  }
  return -1;
}

static void a_peer_that_never_reads_is_not_queued_without_bound(void **state) {
  (void)state;
  node_child a;
  peer b;
  node_cfg cfg = {.ro = {.max_frame = NR_FRAME,
                         .send_queue = NR_QUEUE,
                         .security.limits.max_queued_total = NR_QUEUED_TOTAL}};
  scene_up(&a, &b, cfg);
  static sinks s;
  memset(&s, 0, sizeof s);
  int lfd[SINKS];
  char claim[SINKS][64];
  node_child_peak_start(&a);
  uint64_t before = atomic_load(&b.ok), base = node_child_report(&a).echo_msgs;
  /* 64 KiB requests, 96 MiB for each sink: A owes as much in answers. */
  static char text[64 << 10];
  memset(text, 'x', sizeof text - 1);
  Note n = NOTE__INIT;
  n.text = text;
  for (int i = 0; i < SINKS; i++) {
    uint16_t port;
    lfd[i] = raw_listen(&port);
    snprintf(claim[i], sizeof claim[i], "akt://sink%d@127.0.0.1:%u", i, (unsigned)port);
    insider(&a, claim[i], 1, &s.in[i]);
    s.n_in++;
    /* The requests name the sink's actor as their sender. */
    akt__buf reqs = {0};
    char sender[96];
    snprintf(sender, sizeof sender, "%s/user/sink", claim[i]);
    for (int k = 0; k < NR_BATCH; k++)
      entry(&reqs, "/user/echo", sender, &n.base, (uint64_t)k + 1, AKT__ENV_REQUEST);
    send_batch(&s.in[i], &reqs);
    /* A dials the sink to answer: authenticated, then never read again. */
    int fd = sinks_accept(&s, lfd[i]);
    assert_true(fd >= 0);
    const char *cert = a.plain ? NULL : node_certs.node1_cert;
    const char *key = a.plain ? NULL : node_certs.node1_key;
    assert_int_equal(wire_up(&s.out[i], fd, 0, node_certs.ca, cert, key), 0);
    assert_int_equal(wire_auth_accept(&s.out[i], NODE_COOKIE, claim[i]), 0);
    s.n_out++;
    /* One batch at a time, each handed to echo before the next: echo's
     * mailbox (which an authenticated peer may fill, as documented) holds
     * a batch at most, and what grows is what A keeps for the sink. */
    for (int round = 1; round < NR_ROUNDS; round++) {
      send_batch(&s.in[i], &reqs);
      sinks_wait(&s, &a, echoed_at_least,
                 base + (uint64_t)(i * NR_ROUNDS + round + 1) * NR_BATCH);
    }
    akt__buf_free(&reqs);
    peer_progressed(&b, before);
  }
  /* Until A has answered what it could and refused the rest. */
  node_report r = sinks_wait(&s, &a, refused_answers, 8);
  peer_progressed(&b, atomic_load(&b.ok));
  print_message("  queue full %llu, all queues full %llu; A wrote %llu bytes\n",
                (unsigned long long)r.rs.send_queue_full,
                (unsigned long long)r.rs.security.queued_total_full,
                (unsigned long long)r.bytes_written);
  assert_true(refused_answers(&r, 8));
  /* Every request reached echo: the attack ran in full. */
  assert_true(r.echo_msgs >= base + (uint64_t)SINKS * NR_ROUNDS * NR_BATCH);
  node_child_assert_growth(&a, NR_BOUND(SINKS), "peers that never read");
  for (int i = 0; i < SINKS; i++) {
    wire_close(&s.in[i]);
    wire_close(&s.out[i]);
    close(lfd[i]);
  }
  scene_down(&a, &b);
}

/* ---- strangers from the peer's own address ------------------------------------------- */

/* Strangers holding every handshake slot of one source address (the
 * loopback, here, as behind a shared NAT) must not keep a new peer from
 * that address out: its handshake, quick, cuts the oldest of theirs. */
static void strangers_from_a_peers_address_do_not_keep_it_out(void **state) {
  (void)state;
  node_child a;
  peer b;
  scene_up(&a, &b, (node_cfg){.plain = 1});
  int fds[16];
  for (int i = 0; i < 16; i++) {
    fds[i] = raw_connect("127.0.0.1", a.port);
    raw_send(fds[i], "\0", 1); /* a handshake begun, never finished */
  }
  /* Until A counted them (8 of them at most: the per-source cap). */
  uint64_t end = now_ms() + HANG_MS;
  node_report r = node_child_report(&a);
  while (r.unauth < 8 && now_ms() < end) {
    sleep_ms(10);
    r = node_child_report(&a);
  }
  assert_int_equal(r.unauth, 8);
  /* A node A has never seen, from 127.0.0.1 too. */
  akt_backend *cb;
  akt_system *c;
  akt_uv_options uo = {.workers = 1};
  assert_int_equal(akt_uv_backend_new(&uo, &cb), 0);
  akt_system_options so = {.host = "127.0.0.1"};
  assert_int_equal(akt_system_new("c", cb, &so, &c), 0);
  akt_remote_options ro = {.host = "127.0.0.1", .security.cookie = NODE_COOKIE};
  assert_int_equal(akt_remote_start(c, &ro), 0);
  char addr[AKT_ADDRESS_MAX];
  snprintf(addr, sizeof addr, "%s/user/echo", a.addr);
  akt_pid *echo = NULL;
  assert_int_equal(akt_remote_lookup(c, addr, AKT_SECONDS(30), &echo), 0);
  akt_pid_release(echo);
  for (int i = 0; i < 16; i++) close(fds[i]);
  assert_int_equal(akt_system_shutdown(c, AKT_SECONDS(30)), 0);
  akt_system_free(c);
  akt_uv_backend_free(cb);
  peer_progressed(&b, atomic_load(&b.ok));
  scene_down(&a, &b);
}
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_15_mib_frame_before_the_handshake_costs_nothing),
    cmocka_unit_test(a_7_6_mib_batch_with_an_over_long_first_name_is_refused_unread),
    cmocka_unit_test(slow_connections_are_capped_and_cut_at_the_deadline),
    cmocka_unit_test(claimed_addresses_do_not_grow_the_endpoint_table),
    cmocka_unit_test(replies_to_an_unreachable_address_stay_bounded_and_are_given_up),
    cmocka_unit_test(a_peer_that_never_reads_is_not_queued_without_bound),
    cmocka_unit_test(strangers_from_a_peers_address_do_not_keep_it_out),
};

NODE_CHILD_TEST_MAIN("remote/attacks-node-limits", tests)
