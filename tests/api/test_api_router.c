/* akt/router.h: pool routers — routing, control messages, resizing,
 * routee supervision, names — on both backends (seeded choices on the
 * simulator). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "api.h"

/* A routee: Ping{n} is answered Note{"<name>"}; a Note (a hash key) too;
 * Fail fails. */
static int routee_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &fail__descriptor)) return ((const Fail *)msg)->code;
  Note n = NOTE__INIT;
  n.text = (char *)akt_pid_name(akt_ctx_self(ctx));
  return akt_reply(ctx, &n.base);
}

static const akt_actor_def routee_def = {.kind = "routee", .receive = routee_receive};

/* The key of a Note is its text; other messages have none. */
static int note_key(const ProtobufCMessage *msg, void *arg, const void **key, size_t *len) {
  (void)arg;
  if (!akt_msg_is(msg, &note__descriptor)) return 1;
  *key = ((const Note *)msg)->text;
  *len = strlen(((const Note *)msg)->text);
  return 0;
}

static akt_pid *spawn_pool(akt_testkit *tk, const char *name, akt_routing routing, uint32_t size,
                           const akt_supervisor *sup) {
  akt_router_opts o = {.routing = routing, .routee = &routee_def, .size = size, .key = note_key,
                       .supervisor = sup};
  akt_pid *r = NULL;
  assert_int_equal(akt_spawn_router(akt_testkit_system(tk), name, &o, &r), 0);
  return r;
}

/* Which routee answers `msg` sent through the router (asked). */
static void who_answers(akt_pid *router, const ProtobufCMessage *msg, char *out, size_t size) {
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(router, msg, AKT_SECONDS(5), &reply), 0);
  assert_true(akt_msg_is(reply, &note__descriptor));
  snprintf(out, size, "%s", ((Note *)reply)->text);
  akt_msg_free(reply);
}

static void ask_ping(akt_pid *router, char *out, size_t size) {
  Ping p = PING__INIT;
  who_answers(router, &p.base, out, size);
}

/* The routees' names, comma-separated, in routing order. */
static void routees_of(akt_pid *router, char *out, size_t size) {
  Akt__RouterGetRoutees q = AKT__ROUTER_GET_ROUTEES__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(router, &q.base, AKT_SECONDS(5), &reply), 0);
  assert_true(akt_msg_is(reply, &akt__routees__descriptor));
  const Akt__Routees *r = (const Akt__Routees *)reply;
  out[0] = '\0';
  for (size_t i = 0; i < r->n_paths; i++) {
    const char *slash = strrchr(r->paths[i], '/');
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s%s", i ? "," : "", slash ? slash + 1 : r->paths[i]);
  }
  akt_msg_free(reply);
}

typedef struct {
  akt_pid *router;
  const char *want;
} routees_want;

static int routees_are(void *arg) {
  routees_want *w = arg;
  char got[512];
  routees_of(w->router, got, sizeof got);
  return strcmp(got, w->want) == 0;
}

static void wait_routees(akt_testkit *tk, akt_pid *router, const char *want) {
  routees_want w = {router, want};
  if (akt_testkit_world(tk)) {
    /* On the simulator each ask runs the world: poll by asking. */
    for (int i = 0; i < 100 && !routees_are(&w); i++) akt_testkit_advance(tk, AKT_MILLIS(1));
    char got[512];
    routees_of(router, got, sizeof got);
    assert_string_equal(got, want);
    return;
  }
  test_wait_until(tk, routees_are, &w, want);
}

/* ---- routing ----------------------------------------------------------------- */

static void round_robin_takes_the_routees_in_order_and_wraps_around(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 3, NULL);
  const char *want[] = {"r0", "r1", "r2", "r0", "r1", "r2", "r0"};
  for (int i = 0; i < 7; i++) {
    char who[64];
    ask_ping(r, who, sizeof who);
    assert_string_equal(who, want[i]);
  }
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_routee_answers_the_original_sender_directly(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 2, NULL);
  Ping ping = PING__INIT;
  akt_probe_tell(p, r, &ping.base);
  EXPECT_NOTE(p, "r0");
  /* The router is not in the reply path: the reply comes from the routee. */
  assert_string_equal(akt_pid_path(akt_probe_last_sender(p)), "/user/pool/r0");
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* Twelve random choices of a fresh pool of 4 under `seed`. */
static void random_choices(uint64_t seed, char out[12][8]) {
  akt_testkit *tk = akt_testkit_new(&(akt_testkit_options){.use_seed = 1, .seed = seed});
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_RANDOM, 4, NULL);
  for (int i = 0; i < 12; i++) ask_ping(r, out[i], 8);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void random_routing_draws_from_the_seeded_stream(void **state) {
  (void)state;
  SIM_ONLY();
  char a[12][8], b[12][8], c[12][8];
  random_choices(11, a);
  random_choices(11, b);
  random_choices(12, c);
  int spread = 0, differs = 0;
  for (int i = 0; i < 12; i++) {
    assert_string_equal(a[i], b[i]);
    spread |= strcmp(a[i], a[0]) != 0;
    differs |= strcmp(a[i], c[i]) != 0;
  }
  assert_true(spread);
  assert_true(differs);
}

static void random_routing_reaches_only_routees(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_RANDOM, 3, NULL);
  for (int i = 0; i < 20; i++) {
    char who[64];
    ask_ping(r, who, sizeof who);
    assert_true(strcmp(who, "r0") == 0 || strcmp(who, "r1") == 0 || strcmp(who, "r2") == 0);
  }
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static int is_note_letter(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  (void)arg;
  return akt_msg_is(m, &akt__dead_letter__descriptor) &&
         strcmp(((const Akt__DeadLetter *)m)->type, "Note") == 0;
}

static void broadcast_reaches_every_routee_and_the_first_reply_answers(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_BROADCAST, 3, NULL);
  /* A tell: every routee answers the probe. */
  Ping ping = PING__INIT;
  akt_probe_tell(p, r, &ping.base);
  const ProtobufCMessage *got[3];
  akt_probe_receive_n(p, 3, 0, got);
  int seen = 0;
  for (int i = 0; i < 3; i++) seen |= 1 << (((const Note *)got[i])->text[1] - '0');
  assert_int_equal(seen, 7);
  /* An ask: one answer; the two others are dead letters. */
  char who[64];
  ask_ping(r, who, sizeof who);
  akt_probe_fish_for(dl, is_note_letter, NULL, 8, 0);
  akt_probe_fish_for(dl, is_note_letter, NULL, 8, 0);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static uint32_t jump(uint64_t key, uint32_t buckets) {
  int64_t b = -1, j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
  }
  return (uint32_t)b;
}

static void consistent_hashing_picks_jump_hash_of_xxh3_of_the_key(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_CONSISTENT_HASH, 5, NULL);
  int used = 0;
  for (int i = 0; i < 40; i++) {
    char key[32], who[64], want[16];
    snprintf(key, sizeof key, "customer-%d", i);
    Note n = NOTE__INIT;
    n.text = key;
    who_answers(r, &n.base, who, sizeof who);
    uint32_t k = jump(XXH3_64bits(key, strlen(key)), 5);
    snprintf(want, sizeof want, "r%u", k);
    assert_string_equal(who, want);
    used |= 1 << k;
    /* The same key, the same routee. */
    who_answers(r, &n.base, who, sizeof who);
    assert_string_equal(who, want);
  }
  assert_int_equal(used, 31);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_message_without_a_key_is_unhandled(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_CONSISTENT_HASH, 2, NULL);
  akt_system_stats before;
  akt_system_get_stats(akt_testkit_system(tk), &before);
  Ping ping = PING__INIT;
  akt_probe_tell(p, r, &ping.base);
  const Akt__DeadLetter *d = api_expect_dead_letter(dl, "Ping", "unhandled");
  assert_string_equal(d->target, "/user/pool");
  akt_system_stats after;
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.unhandled, before.unhandled + 1);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void an_empty_pool_leaves_every_message_unhandled(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 1, NULL);
  wait_routees(tk, r, "r0");
  akt_pid *r0 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r0", &r0), 0);
  assert_int_equal(akt_stop(r0), 0);
  wait_routees(tk, r, "");
  Ping ping = PING__INIT;
  akt_probe_tell(p, r, &ping.base);
  api_expect_dead_letter(dl, "Ping", "unhandled");
  akt_pid_release(r0);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* ---- control messages and resizing ------------------------------------------- */

static void get_routees_answers_the_paths_in_routing_order(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 3, NULL);
  Akt__RouterGetRoutees q = AKT__ROUTER_GET_ROUTEES__INIT;
  ProtobufCMessage *reply = NULL;
  assert_int_equal(akt_ask(r, &q.base, AKT_SECONDS(5), &reply), 0);
  const Akt__Routees *rs = (const Akt__Routees *)reply;
  assert_int_equal(rs->n_paths, 3);
  assert_string_equal(rs->paths[0], "/user/pool/r0");
  assert_string_equal(rs->paths[1], "/user/pool/r1");
  assert_string_equal(rs->paths[2], "/user/pool/r2");
  akt_msg_free(reply);
  /* With no sender to answer: unhandled. */
  assert_int_equal(akt_tell(r, &q.base), 0);
  api_expect_dead_letter(dl, "akt.RouterGetRoutees", "unhandled");
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void resize_grows_with_new_names_and_shrinks_from_the_end(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 3, NULL);
  assert_int_equal(akt_router_resize(r, 5), 0);
  char got[256];
  routees_of(r, got, sizeof got); /* the router handles its mailbox in order */
  assert_string_equal(got, "r0,r1,r2,r3,r4");
  akt_pid *r4 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r4", &r4), 0);
  assert_int_equal(akt_router_resize(r, 2), 0);
  routees_of(r, got, sizeof got);
  assert_string_equal(got, "r0,r1"); /* they leave the list at once */
  api_wait_terminated(tk, r4);       /* and stop */
  /* Names are not reused: the next routee is r5. */
  assert_int_equal(akt_router_resize(r, 3), 0);
  routees_of(r, got, sizeof got);
  assert_string_equal(got, "r0,r1,r5");
  /* Messages sent after a resize are routed over the new pool. */
  const char *want[] = {"r0", "r1", "r5"};
  for (int i = 0; i < 3; i++) {
    char who[64];
    ask_ping(r, who, sizeof who);
    assert_true(strcmp(who, want[0]) == 0 || strcmp(who, want[1]) == 0 ||
                strcmp(who, want[2]) == 0);
  }
  akt_pid_release(r4);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* A routee that notes Pings to its reportee, for what a shrunk routee still
 * does. */
static int slow_routee_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &ping__descriptor)) return AKT_EUNHANDLED;
  return api_note(ctx, api_reportee(ctx), "%s %lld", akt_pid_name(akt_ctx_self(ctx)),
                  (long long)((const Ping *)msg)->n);
}

static const akt_actor_def noting_routee_def = {.kind = "noting", .receive = slow_routee_receive};

static void a_routee_removed_by_a_shrink_finishes_its_queued_messages(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts ro = {.arg = akt_probe_pid(p)};
  akt_router_opts o = {.routing = AKT_ROUTE_ROUND_ROBIN, .routee = &noting_routee_def,
                       .routee_opts = &ro, .size = 2};
  akt_pid *r = NULL;
  assert_int_equal(akt_spawn_router(akt_testkit_system(tk), "pool", &o, &r), 0);
  for (int i = 0; i < 6; i++) {
    Ping m = PING__INIT;
    m.n = i;
    akt_probe_tell(p, r, &m.base);
  }
  assert_int_equal(akt_router_resize(r, 1), 0);
  /* Every message reaches a routee: r1's three too, though it was removed. */
  int seen[6] = {0};
  for (int i = 0; i < 6; i++) {
    const Note *n = (const Note *)akt_probe_expect_msg(p, &note__descriptor, 0);
    char who[8];
    int k = -1;
    assert_int_equal(sscanf(n->text, "%7s %d", who, &k), 2);
    assert_string_equal(who, k % 2 ? "r1" : "r0");
    seen[k]++;
  }
  for (int i = 0; i < 6; i++) assert_int_equal(seen[i], 1);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void resize_checks_the_size_and_the_router(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *dl = api_dead_letters(tk);
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 1, NULL);
  assert_int_equal(akt_router_resize(r, 0), AKT_EINVAL);
  assert_int_equal(akt_router_resize(NULL, 2), AKT_EINVAL);
  assert_int_equal(akt_router_resize(r, AKT_ROUTER_MAX_ROUTEES + 1), AKT_ELIMIT);
  /* Sent as a message, a size out of range is unhandled. */
  Akt__RouterResize bad = AKT__ROUTER_RESIZE__INIT;
  bad.size = AKT_ROUTER_MAX_ROUTEES + 1;
  assert_int_equal(akt_tell(r, &bad.base), 0);
  api_expect_dead_letter(dl, "akt.RouterResize", "unhandled");
  bad.size = 0;
  assert_int_equal(akt_tell(r, &bad.base), 0);
  api_expect_dead_letter(dl, "akt.RouterResize", "unhandled");
  char got[64];
  routees_of(r, got, sizeof got);
  assert_string_equal(got, "r0");
  assert_int_equal(akt_stop(r), 0);
  api_wait_terminated(tk, r);
  assert_int_equal(akt_router_resize(r, 2), AKT_ESTOPPED);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* ---- supervision of routees ---------------------------------------------------- */

static void a_restarted_routee_keeps_its_place(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 3, NULL);
  wait_routees(tk, r, "r0,r1,r2"); /* spawned in the router's pre_start */
  akt_pid *r1 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r1", &r1), 0);
  Fail f = FAIL__INIT;
  f.code = AKT_EFAILED;
  assert_int_equal(akt_tell(r1, &f.base), 0);
  char got[64];
  routees_of(r, got, sizeof got);
  assert_string_equal(got, "r0,r1,r2");
  akt_pid *again = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r1", &again), 0);
  assert_true(akt_pid_equal(again, r1));
  akt_pid_release(again);
  akt_pid_release(r1);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static akt_directive stop_it(const akt_failure *f, void *arg) {
  (void)f;
  (void)arg;
  return AKT_DIRECTIVE_STOP;
}

static void a_routee_its_supervisor_stops_leaves_the_pool_for_good(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_supervisor sup = {.decider = stop_it};
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 3, &sup);
  wait_routees(tk, r, "r0,r1,r2");
  akt_pid *r1 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r1", &r1), 0);
  Fail f = FAIL__INIT;
  f.code = AKT_EFAILED;
  assert_int_equal(akt_tell(r1, &f.base), 0);
  wait_routees(tk, r, "r0,r2");
  for (int i = 0; i < 4; i++) {
    char who[64];
    ask_ping(r, who, sizeof who);
    assert_true(strcmp(who, "r1") != 0);
  }
  akt_pid_release(r1);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_restarted_router_spawns_a_fresh_pool_of_its_last_size(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 2, NULL);
  assert_int_equal(akt_router_resize(r, 4), 0);
  char got[128];
  routees_of(r, got, sizeof got);
  assert_string_equal(got, "r0,r1,r2,r3");
  akt_pid *old_r0 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r0", &old_r0), 0);
  assert_int_equal(akt_restart(r), 0);
  routees_of(r, got, sizeof got);
  assert_string_equal(got, "r0,r1,r2,r3");
  akt_pid *new_r0 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r0", &new_r0), 0);
  assert_false(akt_pid_equal(old_r0, new_r0));
  assert_false(akt_pid_is_running(old_r0));
  akt_pid_release(old_r0);
  akt_pid_release(new_r0);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* Terminated from both, in either order: a watch placed from outside is a
 * message of its own to each target, which the router's stop of its
 * routee may overtake (the routee then reports at once, but later). */
static void expect_both_terminated(akt_probe *w, akt_pid *a, akt_pid *b) {
  const ProtobufCMessage *got[2];
  akt_probe_receive_n(w, 2, 0, got);
  uint64_t ids[2];
  for (int i = 0; i < 2; i++) {
    assert_true(akt_msg_is(got[i], &akt__terminated__descriptor));
    ids[i] = ((const Akt__Terminated *)got[i])->id;
  }
  assert_true((ids[0] == akt_pid_id(a) && ids[1] == akt_pid_id(b)) ||
              (ids[0] == akt_pid_id(b) && ids[1] == akt_pid_id(a)));
}

static void a_poison_pill_stops_the_router_and_its_routees(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *w = akt_probe_new(tk, "w");
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 2, NULL);
  char got[64];
  routees_of(r, got, sizeof got);
  akt_pid *r0 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r0", &r0), 0);
  akt_probe_watch(w, r0);
  akt_probe_watch(w, r);
  Akt__PoisonPill pill = AKT__POISON_PILL__INIT;
  assert_int_equal(akt_tell(r, &pill.base), 0);
  expect_both_terminated(w, r0, r);
  akt_pid_release(r0);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_killed_router_stops_with_its_routees(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *w = akt_probe_new(tk, "w");
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 2, NULL);
  wait_routees(tk, r, "r0,r1");
  akt_pid *r0 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/pool/r0", &r0), 0);
  akt_probe_watch(w, r0);
  akt_probe_watch(w, r);
  /* A kill is a failure the default supervisor answers with a stop: the
   * router's post_stop runs (and frees its options: valgrind and ASan
   * would see them leak otherwise). */
  assert_int_equal(akt_kill(r), 0);
  expect_both_terminated(w, r0, r);
  akt_pid_release(r0);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static void a_terminated_router_cannot_be_respawned(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_pid *r = spawn_pool(tk, "pool", AKT_ROUTE_ROUND_ROBIN, 2, NULL);
  assert_int_equal(akt_stop(r), 0);
  api_wait_terminated(tk, r);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(r, &again), AKT_ENOTSUP); /* its options died with it */
  assert_null(again);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* ---- spawning -------------------------------------------------------------------- */

static void spawn_router_checks_its_options(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  static const akt_actor_def no_receive = {.kind = "none"};
  akt_router_opts ok = {.routing = AKT_ROUTE_ROUND_ROBIN, .routee = &routee_def, .size = 1};
  akt_router_opts o;
  akt_pid *r = NULL;
  assert_int_equal(akt_spawn_router(NULL, "x", &ok, &r), AKT_EINVAL);
  assert_int_equal(akt_spawn_router(sys, "x", NULL, &r), AKT_EINVAL);
  o = ok;
  o.routee = NULL;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o = ok;
  o.routee = &no_receive;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o = ok;
  o.size = 0;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o = ok;
  o.routing = (akt_routing)42;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o = ok;
  o.routing = AKT_ROUTE_CONSISTENT_HASH; /* no key function */
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_EINVAL);
  o = ok;
  o.size = AKT_ROUTER_MAX_ROUTEES + 1;
  assert_int_equal(akt_spawn_router(sys, "x", &o, &r), AKT_ELIMIT);
  assert_null(r);
  assert_int_equal(akt_spawn_router(sys, "bad/name", &ok, &r), AKT_ENAME);
  assert_int_equal(akt_spawn_router(sys, "x", &ok, &r), 0);
  assert_int_equal(akt_spawn_router(sys, "x", &ok, NULL), AKT_EEXIST);
  akt_pid_release(r);
  akt_testkit_free(tk);
}

/* A parent that spawns a router child on demand. */
static int parent_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!api_is_cmd(msg, "router")) return AKT_EUNHANDLED;
  akt_router_opts o = {.routing = AKT_ROUTE_ROUND_ROBIN, .routee = &routee_def, .size = 2};
  int rc = akt_spawn_router_child(ctx, "pool", &o, NULL);
  int bad = akt_spawn_router_child(NULL, "pool", &o, NULL);
  return api_note(ctx, api_reportee(ctx), "router=%s null=%s", akt_errname(rc), akt_errname(bad));
}

static const akt_actor_def parent_def = {.kind = "parent", .receive = parent_receive};

static void a_router_may_be_the_child_of_an_actor(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &parent_def, &API_TO(p));
  api_cmd(p, parent, "router", NULL, 0);
  EXPECT_NOTE(p, "router=AKT_OK null=AKT_EINVAL");
  akt_pid *r = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/parent/pool", &r), 0);
  char who[64];
  ask_ping(r, who, sizeof who);
  assert_string_equal(who, "r0");
  akt_pid_release(r);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(round_robin_takes_the_routees_in_order_and_wraps_around),
    cmocka_unit_test(a_routee_answers_the_original_sender_directly),
    cmocka_unit_test(random_routing_draws_from_the_seeded_stream),
    cmocka_unit_test(random_routing_reaches_only_routees),
    cmocka_unit_test(broadcast_reaches_every_routee_and_the_first_reply_answers),
    cmocka_unit_test(consistent_hashing_picks_jump_hash_of_xxh3_of_the_key),
    cmocka_unit_test(a_message_without_a_key_is_unhandled),
    cmocka_unit_test(an_empty_pool_leaves_every_message_unhandled),
    cmocka_unit_test(get_routees_answers_the_paths_in_routing_order),
    cmocka_unit_test(resize_grows_with_new_names_and_shrinks_from_the_end),
    cmocka_unit_test(a_routee_removed_by_a_shrink_finishes_its_queued_messages),
    cmocka_unit_test(resize_checks_the_size_and_the_router),
    cmocka_unit_test(a_restarted_routee_keeps_its_place),
    cmocka_unit_test(a_routee_its_supervisor_stops_leaves_the_pool_for_good),
    cmocka_unit_test(a_restarted_router_spawns_a_fresh_pool_of_its_last_size),
    cmocka_unit_test(a_poison_pill_stops_the_router_and_its_routees),
    cmocka_unit_test(a_killed_router_stops_with_its_routees),
    cmocka_unit_test(a_terminated_router_cannot_be_respawned),
    cmocka_unit_test(spawn_router_checks_its_options),
    cmocka_unit_test(a_router_may_be_the_child_of_an_actor),
};

AKT_TEST_MAIN_BOTH("api-router", tests)
