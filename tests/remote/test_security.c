/* Remoting's security, between two nodes on simulated links and on
 * loopback TCP: what akt_remote_start refuses (secure defaults, unusable
 * TLS files), TLS with and without the cookie and its failures on a
 * connection, and what an authenticated peer may not do (reach /system,
 * stop or spawn beyond the allow-lists, send a Terminated nobody asked for
 * or speak for another node). The attacks of strangers on real sockets
 * are test_attacks.c's and test_attacks_limits.c's. */
#include <pthread.h>

#include "remote_fixture.h"
#include "akt/actor.pb-c.h"
#include "akt/remote.h"
#include "akt/sim.h"
#include "akt/transport.h"
#include "src/remote/remote.h"
#include "test.pb-c.h"
#include "tls_certs.h"

#define COOKIE "security-cookie-not-secret"
#define T_SIM (AKT_SIM_EPOCH_NS / INT64_C(1000000000))
#define HANG AKT_SECONDS(30) /* bounds a wait that should end at once */

/* Certificates valid around each backend's clock: the simulator's epoch,
 * and now. */
static tls_certs sim_certs, uv_certs;

static const tls_certs *certs(void) {
  return akt_test_backend == AKT_TESTKIT_SIM ? &sim_certs : &uv_certs;
}

/* ---- a log that keeps what it is told --------------------------------------------- */

#define LOG_MAX 8192

typedef struct log_keep {
  pthread_mutex_t mu;
  char text[LOG_MAX];
  akt_log_level min;
} log_keep;

static void keep_line(akt_log_level level, const char *line, void *data) {
  log_keep *lg = data;
  if (level < lg->min) return;
  pthread_mutex_lock(&lg->mu);
  size_t used = strlen(lg->text);
  snprintf(lg->text + used, sizeof lg->text - used, "%d %s\n", (int)level, line);
  pthread_mutex_unlock(&lg->mu);
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

/* ---- two nodes ------------------------------------------------------------------ */

typedef struct pair {
  akt_testkit *tk;
  akt_system *a, *b;
  char node_a[AKT__NODE_MAX], node_b[AKT__NODE_MAX];
  log_keep log;
} pair;

static const ProtobufCMessageDescriptor *const types[] = {&ping__descriptor, &pong__descriptor,
                                                           &note__descriptor};

/* Options every node here starts from: the backend's address, no security. */
static akt_remote_options base(void) {
  int sim = akt_test_backend == AKT_TESTKIT_SIM;
  return (akt_remote_options){.host = sim ? NULL : "127.0.0.1", .port = sim ? 2552 : 0};
}

static akt_tls_options tls_of(const char *cert, const char *key) {
  return (akt_tls_options){.ca_file = certs()->ca, .cert_file = cert, .key_file = key};
}

/* Two nodes, each with its own options (both must start); seed 0: the
 * testkit's. */
static void pair_up_seeded(pair *p, akt_remote_options oa, akt_remote_options ob, uint64_t seed) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->log.mu, NULL);
  p->log.min = AKT_LOG_WARN;
  akt_system_options so = {.log_sink = keep_line, .log_data = &p->log};
  p->tk = TK_NEW(.nodes = 2, .system = &so, .use_seed = seed != 0, .seed = seed);
  p->a = akt_testkit_node(p->tk, 0);
  p->b = akt_testkit_node(p->tk, 1);
  assert_int_equal(akt_remote_start(p->a, &oa), 0);
  assert_int_equal(akt_remote_start(p->b, &ob), 0);
  snprintf(p->node_a, sizeof p->node_a, "%s", akt_system_address(p->a));
  snprintf(p->node_b, sizeof p->node_b, "%s", akt_system_address(p->b));
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    assert_int_equal(akt_system_register_type(p->a, types[i]), 0);
    assert_int_equal(akt_system_register_type(p->b, types[i]), 0);
  }
}

static void pair_up(pair *p, akt_remote_options oa, akt_remote_options ob) {
  pair_up_seeded(p, oa, ob, 0);
}

/* Two nodes that know the cookie, and nothing more. */
static void pair_cookie(pair *p) {
  akt_remote_options o = base();
  o.security.cookie = COOKIE;
  pair_up(p, o, o);
}

static void pair_down(pair *p) {
  akt_testkit_free(p->tk);
  pthread_mutex_destroy(&p->log.mu);
}

static akt_remote_stats stats_of(akt_system *sys) {
  akt_remote_stats st;
  akt_remote_get_stats(sys, &st);
  return st;
}

/* A PID, on `from`, of the actor at `path` on the node `node`. */
static akt_pid *pid_at(akt_system *from, const char *node, const char *path) {
  char addr[AKT_ADDRESS_MAX];
  snprintf(addr, sizeof addr, "%s%s", node, path);
  akt_pid *p = NULL;
  assert_int_equal(akt_remote_pid(from, addr, &p), 0);
  return p;
}

/* A's probe pa, as B knows it (a new reference). */
static akt_pid *b_pid_of(pair *p, akt_probe *pa) {
  char addr[AKT_ADDRESS_MAX];
  assert_true(akt_pid_format(akt_probe_pid(pa), addr, sizeof addr) > 0);
  akt_pid *to = NULL;
  assert_int_equal(akt_remote_pid(p->b, addr, &to), 0);
  return to;
}

/* A Ping from `pb` (on B) reaches `pa` (on A), and a Pong comes back. */
static void round_trip(pair *p, akt_probe *pa, akt_probe *pb) {
  akt_pid *to = b_pid_of(p, pa);
  Ping ping = PING__INIT;
  ping.n = 7;
  akt_probe_tell(pb, to, &ping.base);
  assert_int_equal(((const Ping *)akt_probe_expect_msg(pa, &ping__descriptor, HANG))->n, 7);
  Pong pong = PONG__INIT;
  pong.n = 8;
  akt_probe_reply(pa, &pong.base);
  assert_int_equal(((const Pong *)akt_probe_expect_msg(pb, &pong__descriptor, HANG))->n, 8);
  akt_pid_release(to);
}

/* A lookup of /user/x on the other node fails with `code`, and nothing
 * crossed. */
static void lookup_fails(akt_system *from, const char *node, int code) {
  char addr[AKT_ADDRESS_MAX];
  snprintf(addr, sizeof addr, "%s/user/x", node);
  akt_pid *found = NULL;
  assert_int_equal(akt_remote_lookup(from, addr, HANG, &found), code);
  assert_null(found);
}

/* ---- starting --------------------------------------------------------------------- */

/* A system of its own (to see what start logs), on the backend in use. */
typedef struct lone {
  akt_sim_world *w;
  akt_backend *b;
  akt_system *sys;
  log_keep log;
} lone;

static void lone_up(lone *l) {
  memset(l, 0, sizeof *l);
  pthread_mutex_init(&l->log.mu, NULL);
  l->log.min = AKT_LOG_INFO;
  if (akt_test_backend == AKT_TESTKIT_SIM) {
    assert_int_equal(akt_sim_world_new(&(akt_sim_options){.seed = 1}, &l->w), 0);
    assert_int_equal(akt_sim_node_new(l->w, "alone", &l->b), 0);
  } else {
    assert_int_equal(akt_uv_backend_new(NULL, &l->b), 0);
  }
  akt_system_options so = {.host = akt_test_backend == AKT_TESTKIT_SIM ? NULL : "127.0.0.1",
                           .log_sink = keep_line,
                           .log_data = &l->log};
  assert_int_equal(akt_system_new("alone", l->b, &so, &l->sys), 0);
}

static void lone_down(lone *l) {
  assert_int_equal(akt_system_shutdown(l->sys, HANG), 0);
  akt_system_free(l->sys);
  if (l->w)
    akt_sim_world_free(l->w);
  else
    akt_uv_backend_free(l->b);
  pthread_mutex_destroy(&l->log.mu);
}

/* Starting with `o` fails with AKT_EINVAL and an ERROR line holding `why`. */
static void start_refused(akt_remote_options o, const char *why) {
  lone l;
  lone_up(&l);
  assert_int_equal(akt_remote_start(l.sys, &o), AKT_EINVAL);
  if (!strstr(l.log.text, why)) fail_msg("expected '%s' in the log:\n%s", why, l.log.text);
  assert_non_null(strstr(l.log.text, "5 remoting:")); /* at ERROR */
  lone_down(&l);
}

static void remoting_refuses_to_start_without_a_cookie_or_tls(void **state) {
  (void)state;
  start_refused(base(), "refusing to start without authentication");
  akt_remote_options o = base();
  o.security.cookie = "short";
  start_refused(o, "the cookie has 5 bytes; it needs 16 to 256");
  /* Insecure, explicitly: it starts, and says so once, at ERROR. */
  lone l;
  lone_up(&l);
  o = base();
  o.security.insecure = 1;
  assert_int_equal(akt_remote_start(l.sys, &o), 0);
  assert_int_equal(count_of(l.log.text, "5 remoting: INSECURE"), 1);
  lone_down(&l);
}

/* Two insecure nodes talk (the exchange runs on a public label and proves
 * nothing); an insecure node and one with a cookie do not. */
static void insecure_nodes_talk_only_to_each_other(void **state) {
  (void)state;
  akt_remote_options o = base();
  o.security.insecure = 1;
  pair p;
  pair_up(&p, o, o);
  akt_probe *pa = akt_probe_new_on(p.tk, 0, "pa"), *pb = akt_probe_new_on(p.tk, 1, "pb");
  round_trip(&p, pa, pb);
  pair_down(&p);
  akt_remote_options ob = base();
  ob.security.cookie = COOKIE;
  pair_up(&p, o, ob);
  lookup_fails(p.a, p.node_b, AKT_EREFUSED);
  lookup_fails(p.b, p.node_a, AKT_EREFUSED);
  assert_true(stats_of(p.b).security.auth_failures >= 1);
  pair_down(&p);
}

static void unusable_tls_files_and_lists_fail_at_start(void **state) {
  (void)state;
  const tls_certs *c = certs();
  akt_remote_options o = base();
  o.security.cookie = COOKIE;
  o.security.tls = tls_of(c->node0_cert, c->node0_key);
  o.security.tls.ca_file = "/nonexistent/ca.pem";
  start_refused(o, "cannot open the CA file '/nonexistent/ca.pem'");
  o.security.tls = tls_of(c->garbage, c->node0_key);
  start_refused(o, "holds no PEM certificate");
  o.security.tls = tls_of(c->node0_cert, c->node1_key);
  start_refused(o, "is not the key of the certificate");
  o.security.tls = tls_of(c->expired_cert, c->expired_key);
  start_refused(o, "expired on");
  o.security.tls = tls_of(c->node0_cert, NULL);
  start_refused(o, "key_file missing");
  /* Without mutual authentication the cookie must say who dials. */
  o.security.cookie = NULL;
  o.security.tls = tls_of(c->node0_cert, c->node0_key);
  o.security.tls.client_auth = AKT_TLS_SERVER_ONLY;
  start_refused(o, "needs a cookie");
  /* Stop lists name actors under /user only. */
  static const char *const system_path[] = {"/system/remoting"};
  static const char *const guardian[] = {"/user"};
  o = base();
  o.security.cookie = COOKIE;
  o.security.stop_paths = (akt_allow_list){system_path, 1};
  start_refused(o, "security.stop_paths[0] '/system/remoting' is not allowed");
  o.security.stop_paths = (akt_allow_list){guardian, 1};
  start_refused(o, "security.stop_paths[0] '/user' is not allowed");
}

/* ---- TLS ------------------------------------------------------------------------------ */

/* A with node0's certificate, B with cert/key (NULL: TLS off), both with
 * `cookie` (NULL: none); A expects its peers to be `peer_name` (NULL:
 * any). seed 0: the testkit's. */
static void pair_tls(pair *p, const char *cookie, const char *cert, const char *key,
                     const char *peer_name, uint64_t seed) {
  akt_remote_options oa = base(), ob = base();
  oa.security.cookie = ob.security.cookie = cookie;
  oa.security.tls = tls_of(certs()->node0_cert, certs()->node0_key);
  oa.security.tls.peer_name = peer_name;
  if (cert) ob.security.tls = tls_of(cert, key);
  pair_up_seeded(p, oa, ob, seed);
}

static void tls_and_the_cookie_carry_messages_both_ways(void **state) {
  (void)state;
  pair p;
  pair_tls(&p, COOKIE, certs()->node1_cert, certs()->node1_key, NULL, 0);
  akt_probe *pa = akt_probe_new_on(p.tk, 0, "pa"), *pb = akt_probe_new_on(p.tk, 1, "pb");
  round_trip(&p, pa, pb);
  akt_remote_stats sa = stats_of(p.a), sb = stats_of(p.b);
  assert_int_equal(sa.security.tls_failures + sb.security.tls_failures, 0);
  assert_int_equal(sa.security.auth_failures + sb.security.auth_failures, 0);
  assert_true(sa.envelopes_in >= 1 && sb.envelopes_in >= 1);
  pair_down(&p);
}

/* The digest of a simulated run of two nodes with the cookie and TLS
 * exchanging a round trip: every byte written on every stream is in it. */
static uint64_t tls_run_digest(uint64_t seed) {
  pair p;
  pair_tls(&p, COOKIE, certs()->node1_cert, certs()->node1_key, NULL, seed);
  akt_probe *pa = akt_probe_new_on(p.tk, 0, "pa"), *pb = akt_probe_new_on(p.tk, 1, "pb");
  round_trip(&p, pa, pb);
  akt_testkit_advance(p.tk, AKT_SECONDS(1));
  uint64_t d = akt_sim_digest(akt_testkit_world(p.tk));
  pair_down(&p);
  return d;
}

static void a_simulated_run_with_tls_and_the_cookie_replays_from_its_seed(void **state) {
  (void)state;
  SIM_ONLY();
  uint64_t one = tls_run_digest(7), two = tls_run_digest(7), other = tls_run_digest(8);
  assert_int_equal(one, two);
  assert_true(one != other);
}

static void tls_alone_authenticates_peers(void **state) {
  (void)state;
  pair p;
  pair_tls(&p, NULL, certs()->node1_cert, certs()->node1_key, NULL, 0);
  akt_probe *pa = akt_probe_new_on(p.tk, 0, "pa"), *pb = akt_probe_new_on(p.tk, 1, "pb");
  round_trip(&p, pa, pb);
  pair_down(&p);
}

static void a_plaintext_node_and_a_tls_node_refuse_each_other(void **state) {
  (void)state;
  pair p;
  pair_tls(&p, COOKIE, NULL, NULL, NULL, 0);
  lookup_fails(p.b, p.node_a, AKT_EPROTO); /* B speaks the exchange to A's TLS */
  lookup_fails(p.a, p.node_b, AKT_EPROTO); /* A's ClientHello to B's exchange */
  akt_remote_stats sa = stats_of(p.a), sb = stats_of(p.b);
  assert_true(sa.security.plaintext_peers >= 2 && sb.security.plaintext_peers >= 1);
  assert_int_equal(sa.envelopes_in + sb.envelopes_in, 0);
  assert_non_null(strstr(p.log.text, "TLS is off"));
  pair_down(&p);
}

static void a_certificate_of_another_ca_is_refused(void **state) {
  (void)state;
  pair p;
  pair_tls(&p, COOKIE, certs()->rogue_cert, certs()->rogue_key, NULL, 0);
  lookup_fails(p.a, p.node_b, AKT_EREFUSED); /* A checks B's certificate */
  lookup_fails(p.b, p.node_a, AKT_EREFUSED); /* A refuses B's as the client's */
  assert_true(stats_of(p.a).security.tls_failures >= 2);
  assert_non_null(strstr(p.log.text, "not signed by a CA of this node's CA file"));
  assert_int_equal(stats_of(p.a).envelopes_in + stats_of(p.b).envelopes_in, 0);
  pair_down(&p);
}

static void an_expected_peer_name_must_match(void **state) {
  (void)state;
  pair p;
  pair_tls(&p, COOKIE, certs()->node1_cert, certs()->node1_key, "node7", 0);
  lookup_fails(p.a, p.node_b, AKT_EREFUSED);
  assert_non_null(strstr(p.log.text, "does not name 'node7'"));
  pair_down(&p);
}

/* ---- what an authenticated peer may not do ------------------------------------------- */

/* Counts what it gets; answers Get with Total{count}. */
typedef struct counting {
  int64_t n;
} counting;

static int counting_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  counting *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &get__descriptor)) {
    Total t = TOTAL__INIT;
    t.value = s->n;
    return akt_reply(ctx, &t.base);
  }
  s->n++;
  return 0;
}

static const akt_actor_def counting_def = {
    .kind = "counting", .state_size = sizeof(counting), .receive = counting_receive};

/* Counts too, and has two children that do: one and two. */
static int jobs_pre_start(akt_ctx *ctx) {
  int rc = akt_spawn_child(ctx, "one", &counting_def, NULL, NULL);
  return rc ? rc : akt_spawn_child(ctx, "two", &counting_def, NULL, NULL);
}

static const akt_actor_def jobs_def = {.kind = "jobs",
                                       .state_size = sizeof(counting),
                                       .pre_start = jobs_pre_start,
                                       .receive = counting_receive};


/* Lets what B sent reach A and be handled. */
static void settle(pair *p) { akt_testkit_advance(p->tk, AKT_MILLIS(300)); }

static void peers_reach_only_user_temp_and_the_protocol_endpoints(void **state) {
  (void)state;
  pair p;
  pair_cookie(&p);
  Note n = NOTE__INIT;
  n.text = "x";
  static const char *const refused[] = {"/", "/user", "/system", "/temp", "/system/deadletters",
                                        "/user/../system/remoting"};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    akt_pid *to = pid_at(p.b, p.node_a, refused[i]);
    assert_int_equal(akt_tell(to, &n.base), 0);
    akt_pid_release(to);
  }
  /* What the network may reach is looked up; the rest is not found. */
  char addr[AKT_ADDRESS_MAX];
  akt_pid *found = NULL;
  snprintf(addr, sizeof addr, "%s/system/remoting", p.node_a);
  assert_int_equal(akt_remote_lookup(p.b, addr, HANG, &found), 0);
  akt_pid_release(found);
  snprintf(addr, sizeof addr, "%s/system", p.node_a);
  assert_int_equal(akt_remote_lookup(p.b, addr, HANG, &found), AKT_ENOENT);
  settle(&p);
  /* "/user/../system/remoting" is under /user by its bytes: not found. */
  assert_int_equal(stats_of(p.a).security.not_allowed, 5);
  pair_down(&p);
}

static void remote_stop_and_poison_pill_need_stop_paths(void **state) {
  (void)state;
  static const char *const stops[] = {"/user/jobs/"};
  akt_remote_options oa = base(), ob = base();
  oa.security.cookie = ob.security.cookie = COOKIE;
  oa.security.stop_paths = (akt_allow_list){stops, 1};
  pair p;
  pair_up(&p, oa, ob);
  akt_pid *jobs = NULL, *other = NULL;
  assert_int_equal(akt_spawn(p.a, "jobs", &jobs_def, NULL, &jobs), 0);
  assert_int_equal(akt_spawn(p.a, "other", &counting_def, NULL, &other), 0);
  settle(&p); /* jobs' pre_start spawns one and two */
  Akt__PoisonPill pill = AKT__POISON_PILL__INIT;
  /* Refused: a path stop_paths does not list, the entry's own path, the
   * remoting actor. */
  const char *kept[] = {"/user/other", "/user/jobs", "/system/remoting"};
  for (size_t i = 0; i < 3; i++) {
    akt_pid *r = pid_at(p.b, p.node_a, kept[i]);
    assert_int_equal(akt_stop(r), 0);
    assert_int_equal(akt_tell(r, &pill.base), 0);
    akt_pid_release(r);
  }
  settle(&p);
  for (size_t i = 0; i < 3; i++) assert_true(local_alive(p.a, kept[i]));
  akt_remote_stats st = stats_of(p.a);
  assert_int_equal(st.security.not_allowed, 6);
  /* The remoting actor still answers. */
  char addr[AKT_ADDRESS_MAX];
  akt_pid *found = NULL;
  snprintf(addr, sizeof addr, "%s/user/other", p.node_a);
  assert_int_equal(akt_remote_lookup(p.b, addr, HANG, &found), 0);
  akt_pid_release(found);
  /* Allowed: below /user/jobs/. */
  akt_pid *r1 = pid_at(p.b, p.node_a, "/user/jobs/one"), *r2 = pid_at(p.b, p.node_a, "/user/jobs/two");
  assert_int_equal(akt_stop(r1), 0);
  assert_int_equal(akt_tell(r2, &pill.base), 0);
  settle(&p);
  assert_false(local_alive(p.a, "/user/jobs/one"));
  assert_false(local_alive(p.a, "/user/jobs/two"));
  assert_int_equal(stats_of(p.a).security.not_allowed, 6);
  akt_pid_release(r1);
  akt_pid_release(r2);
  akt_pid_release(jobs);
  akt_pid_release(other);
  pair_down(&p);
}

static void a_terminated_nobody_asked_for_is_refused(void **state) {
  (void)state;
  pair p;
  pair_cookie(&p);
  akt_probe *pa = akt_probe_new_on(p.tk, 0, "pa");
  akt_pid *victim = NULL;
  assert_int_equal(akt_spawn(p.b, "victim", &counting_def, NULL, &victim), 0);
  char victim_addr[AKT_ADDRESS_MAX];
  assert_true(akt_pid_format(victim, victim_addr, sizeof victim_addr) > 0);
  /* B claims its victim died, to a probe that never watched it. */
  akt_pid *to = b_pid_of(&p, pa);
  Akt__Terminated t = AKT__TERMINATED__INIT;
  t.path = "/user/victim";
  t.id = akt_pid_id(victim);
  t.address = victim_addr;
  assert_int_equal(akt__remote_send_raw(p.b, to, &t.base, victim_addr, akt_pid_id(victim), 0, 0), 0);
  akt_probe_expect_no_msg(pa, AKT_MILLIS(300));
  assert_int_equal(stats_of(p.a).security.not_allowed, 1);
  /* Watched, it comes, once. */
  akt_pid *rv = pid_at(p.a, p.node_b, "/user/victim");
  akt_probe_watch(pa, rv);
  settle(&p);
  akt_stop(victim);
  akt_probe_expect_msg(pa, &akt__terminated__descriptor, HANG);
  assert_int_equal(stats_of(p.a).security.not_allowed, 1);
  akt_pid_release(rv);
  akt_pid_release(to);
  akt_pid_release(victim);
  pair_down(&p);
}

static void a_sender_on_another_node_is_refused(void **state) {
  (void)state;
  pair p;
  pair_cookie(&p);
  akt_probe *pa = akt_probe_new_on(p.tk, 0, "pa");
  char self[AKT_ADDRESS_MAX + 16];
  akt_pid *to = b_pid_of(&p, pa);
  Note n = NOTE__INIT;
  n.text = "spoofed";
  /* A third node's actor, and A's own: neither is B's to speak for. */
  snprintf(self, sizeof self, "%s/user/pa", p.node_a);
  assert_int_equal(akt__remote_send_raw(p.b, to, &n.base, "akt://c@elsewhere:9/user/x", 1, 0, 0), 0);
  assert_int_equal(akt__remote_send_raw(p.b, to, &n.base, self, 1, 0, 0), 0);
  akt_probe_expect_no_msg(pa, AKT_MILLIS(300));
  assert_int_equal(stats_of(p.a).security.foreign_senders, 2);
  /* B's own actors still speak. */
  char own[AKT_ADDRESS_MAX + 16];
  snprintf(own, sizeof own, "%s/user/b", p.node_b);
  n.text = "own";
  assert_int_equal(akt__remote_send_raw(p.b, to, &n.base, own, 1, 0, 0), 0);
  assert_string_equal(((const Note *)akt_probe_expect_msg(pa, &note__descriptor, HANG))->text, "own");
  akt_pid_release(to);
  pair_down(&p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(remoting_refuses_to_start_without_a_cookie_or_tls),
    cmocka_unit_test(insecure_nodes_talk_only_to_each_other),
    cmocka_unit_test(unusable_tls_files_and_lists_fail_at_start),
    cmocka_unit_test(tls_and_the_cookie_carry_messages_both_ways),
    cmocka_unit_test(a_simulated_run_with_tls_and_the_cookie_replays_from_its_seed),
    cmocka_unit_test(tls_alone_authenticates_peers),
    cmocka_unit_test(a_plaintext_node_and_a_tls_node_refuse_each_other),
    cmocka_unit_test(a_certificate_of_another_ca_is_refused),
    cmocka_unit_test(an_expected_peer_name_must_match),
    cmocka_unit_test(peers_reach_only_user_temp_and_the_protocol_endpoints),
    cmocka_unit_test(remote_stop_and_poison_pill_need_stop_paths),
    cmocka_unit_test(a_terminated_nobody_asked_for_is_refused),
    cmocka_unit_test(a_sender_on_another_node_is_refused),
};

int main(int argc, char **argv) {
  if (tls_certs_make(&sim_certs, T_SIM) != 0 || tls_certs_make(&uv_certs, (int64_t)time(NULL)) != 0)
    return 1;
  int rc = akt_test_run_both("remote/security", tests, sizeof tests / sizeof tests[0], argc, argv);
  tls_certs_remove(&sim_certs);
  tls_certs_remove(&uv_certs);
  return rc;
}
