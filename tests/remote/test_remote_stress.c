/* Remoting under concurrency, on libuv: several actors on several workers
 * of two nodes (A, B) make request/reply round trips to each other, tell
 * and watch an actor on a third node (C) that is shut down and started
 * again on the same port while they do, and the main thread looks that
 * actor up after each restart. Connects from many threads at once, closes
 * on the loop thread while workers send, reconnects with backoff, and
 * Terminated notices to watchers all happen together.
 *
 * What must hold: no round trip between A and B is lost (their link stays
 * up), every restart of C is found by a lookup, watches of C's actor end
 * when C goes, and every node shuts down cleanly. Run under
 * ThreadSanitizer (build-tsan), it must report nothing; the lock-order
 * check (src/remote/lock.h) runs in every build.
 *
 * Waits are for conditions, with deadlines that only bound a hang. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../support/both.h"
#include "akt/actor.pb-c.h"
#include "akt/remote.h"
#include "akt/transport.h"
#include "test.pb-c.h"

#define CHATTERS 4              /* actors per node (A, B) */
#define WORKERS 3               /* worker threads per node */
#define WINDOW 8                /* requests each chatter keeps in flight */
#define NOTE_EVERY AKT_MILLIS(5) /* how often each chatter tells C's sink a note */
#define RESTARTS 8              /* times C goes down and comes back */
#define NOTES_PER_LIFE 20       /* notes C's sink receives before it goes down again */
#define REWATCH AKT_MILLIS(20)  /* a chatter watches C's sink again after a Terminated */
#define HANG AKT_SECONDS(120)   /* bounds a wait that should end much sooner */
#define LOOKUP_TIMEOUT AKT_SECONDS(5) /* one lookup of C's sink (find_sink asks again) */
#define COOKIE "stress-cookie-not-secret"

static const ProtobufCMessageDescriptor *const types[] = {
    &ping__descriptor, &pong__descriptor, &note__descriptor, &cmd__descriptor};

typedef struct shared shared;

/* A chatter's spawn argument. */
typedef struct chatter_arg {
  shared *sh;
  int node; /* 0: A, 1: B */
} chatter_arg;

/* What the actors and the main thread share. */
struct shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char chatters[2][CHATTERS][320]; /* addresses, [node][i] */
  char sink[320];                  /* C's sink, akt://c@127.0.0.1:PORT/user/sink */
  atomic_int done;                 /* chatters that stopped, every request answered */
  atomic_long round_trips;         /* answered requests, all chatters */
  atomic_long notes;               /* notes C's sink received (all its lives) */
  atomic_long terminated;          /* Terminated notices of the sink, all chatters */
  atomic_int failed;               /* a chatter's round trip failed: its code */
  chatter_arg args[2];             /* the chatters' of A and of B */
};

static void progress(shared *sh) {
  pthread_mutex_lock(&sh->mu);
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
}

/* Waits until ready(sh) or HANG passes; returns ready(sh). */
static int wait_for(shared *sh, int (*ready)(shared *sh, long arg), long arg) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)(HANG / AKT_SECONDS(1));
  pthread_mutex_lock(&sh->mu);
  int ok;
  while (!(ok = ready(sh, arg)) && atomic_load(&sh->failed) == 0)
    if (pthread_cond_timedwait(&sh->cv, &sh->mu, &until) != 0) break;
  ok = ready(sh, arg);
  pthread_mutex_unlock(&sh->mu);
  return ok;
}

/* ---- C's sink: counts notes, answers pings --------------------------------- */

static int sink_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  shared *sh = (shared *)(uintptr_t)akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &note__descriptor)) {
    atomic_fetch_add(&sh->notes, 1);
    progress(sh);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def sink_def = {.kind = "sink", .receive = sink_receive};

/* ---- chatters on A and B ---------------------------------------------------- */

typedef struct chatter {
  akt_pid *peers[CHATTERS]; /* the other node's chatters */
  akt_pid *sink;            /* C's sink (remote) */
  int64_t sent, answered;
  int stopping, reported;
} chatter;

enum { NOTE_TIMER = 1, REWATCH_TIMER = 2 };

static int on_pong(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg);

/* Sends the next request, to the other node's chatters in turn. */
static int send_next(akt_ctx *ctx) {
  chatter *s = akt_ctx_state(ctx);
  Ping ping = PING__INIT;
  ping.n = s->sent;
  int rc = akt_request(ctx, s->peers[s->sent % CHATTERS], &ping.base, HANG, on_pong, NULL);
  if (rc == 0) s->sent++;
  return rc;
}

/* Once stopping and every request answered: done. */
static void maybe_done(akt_ctx *ctx) {
  const chatter_arg *a = akt_ctx_arg(ctx);
  chatter *s = akt_ctx_state(ctx);
  if (!s->stopping || s->reported || s->answered != s->sent) return;
  s->reported = 1;
  atomic_fetch_add(&a->sh->done, 1);
  progress(a->sh);
}

static int on_pong(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  const chatter_arg *a = akt_ctx_arg(ctx);
  chatter *s = akt_ctx_state(ctx);
  if (status || !akt_msg_is(reply, &pong__descriptor)) {
    atomic_store(&a->sh->failed, status ? status : AKT_EPROTO);
    progress(a->sh);
    return 0;
  }
  s->answered++;
  atomic_fetch_add(&a->sh->round_trips, 1);
  if (s->stopping) {
    maybe_done(ctx);
    return 0;
  }
  return send_next(ctx);
}

static int chatter_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const chatter_arg *a = akt_ctx_arg(ctx);
  chatter *s = akt_ctx_state(ctx);
  akt_system *sys = akt_ctx_system(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    Pong pong = PONG__INIT;
    pong.n = ((const Ping *)msg)->n;
    return akt_reply(ctx, &pong.base);
  }
  if (akt_msg_is(msg, &akt__terminated__descriptor)) {
    atomic_fetch_add(&a->sh->terminated, 1);
    progress(a->sh);
    Cmd again = CMD__INIT;
    again.op = "watch";
    return akt_timer_start(ctx, REWATCH_TIMER, REWATCH, 0, &again.base);
  }
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  const Cmd *cmd = (const Cmd *)msg;
  if (strcmp(cmd->op, "go") == 0) {
    for (int i = 0; i < CHATTERS; i++) {
      int rc = akt_remote_pid(sys, a->sh->chatters[1 - a->node][i], &s->peers[i]);
      if (rc) return rc;
    }
    int rc = akt_remote_pid(sys, a->sh->sink, &s->sink);
    if (rc == 0) rc = akt_watch(ctx, s->sink);
    Cmd note = CMD__INIT;
    note.op = "note";
    if (rc == 0) rc = akt_timer_start(ctx, NOTE_TIMER, NOTE_EVERY, NOTE_EVERY, &note.base);
    for (int i = 0; rc == 0 && i < WINDOW; i++) rc = send_next(ctx);
    return rc;
  }
  if (strcmp(cmd->op, "note") == 0) {
    Note note = NOTE__INIT;
    note.text = "hello c";
    akt_send(ctx, s->sink, &note.base); /* C may be down: refused or lost, both fine */
    return 0;
  }
  if (strcmp(cmd->op, "watch") == 0) return akt_watch(ctx, s->sink);
  if (strcmp(cmd->op, "stop") == 0) {
    s->stopping = 1;
    akt_timer_cancel(ctx, NOTE_TIMER);
    akt_timer_cancel(ctx, REWATCH_TIMER);
    maybe_done(ctx);
    return 0;
  }
  return AKT_EUNHANDLED;
}

static void chatter_post_stop(akt_ctx *ctx) {
  chatter *s = akt_ctx_state(ctx);
  for (int i = 0; i < CHATTERS; i++) akt_pid_release(s->peers[i]);
  akt_pid_release(s->sink);
}

static const akt_actor_def chatter_def = {.kind = "chatter",
                                          .state_size = sizeof(chatter),
                                          .receive = chatter_receive,
                                          .post_stop = chatter_post_stop};

/* ---- nodes ------------------------------------------------------------------- */

typedef struct node {
  akt_backend *b;
  akt_system *sys;
} node;

static void node_up(node *n, const char *name, uint16_t port) {
  akt_uv_options uo = {.workers = WORKERS};
  assert_int_equal(akt_uv_backend_new(&uo, &n->b), 0);
  akt_system_options so = {.host = "127.0.0.1", .log_level = AKT_LOG_ERROR};
  assert_int_equal(akt_system_new(name, n->b, &so, &n->sys), 0);
  /* Heartbeats often (more timers racing the writers); the failure
   * timeout long, so that a loaded machine does not lose A-B round trips
   * to a false timeout. */
  akt_remote_options ro = {.host = "127.0.0.1", .port = port, .security.cookie = COOKIE,
                           .heartbeat = AKT_MILLIS(20), .failure = AKT_SECONDS(30),
                           .backoff_min = AKT_MILLIS(10), .backoff_max = AKT_MILLIS(200)};
  assert_int_equal(akt_remote_start(n->sys, &ro), 0);
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    assert_int_equal(akt_system_register_type(n->sys, types[i]), 0);
}

static void node_down(node *n) {
  assert_int_equal(akt_system_shutdown(n->sys, HANG), 0);
  akt_system_free(n->sys);
  akt_uv_backend_free(n->b);
  n->sys = NULL;
  n->b = NULL;
}

/* Starts C with its sink; writes the sink's address to sh->sink. */
static void c_up(node *c, uint16_t port, shared *sh) {
  node_up(c, "c", port);
  akt_spawn_opts o = {.arg = sh};
  akt_pid *sink = NULL;
  assert_int_equal(akt_spawn(c->sys, "sink", &sink_def, &o, &sink), 0);
  assert_true(akt_pid_format(sink, sh->sink, sizeof sh->sink) > 0);
  akt_pid_release(sink);
}

static int all_done(shared *sh, long arg) {
  (void)arg;
  return atomic_load(&sh->done) == 2 * CHATTERS;
}

static int notes_at_least(shared *sh, long n) { return atomic_load(&sh->notes) >= n; }
static int terminated_at_least(shared *sh, long n) { return atomic_load(&sh->terminated) >= n; }

/* Looks C's sink up from `sys` until it is found. A lookup may time out
 * when it went out on the connection to C's previous life before this
 * node saw that connection close; it is asked again then. */
static void find_sink(akt_system *sys, shared *sh) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    akt_pid *found = NULL;
    int rc = akt_remote_lookup(sys, sh->sink, LOOKUP_TIMEOUT, &found);
    akt_pid_release(found);
    if (rc == 0) return;
    assert_int_equal(rc, AKT_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &now);
    assert_true(now.tv_sec - start.tv_sec < (time_t)(HANG / AKT_SECONDS(1)));
  }
}

static void concurrent_sends_connects_and_closes_lose_no_round_trip(void **state) {
  (void)state;
  /* On the heap: a failed assertion leaves the nodes' threads running. */
  shared *sh = calloc(1, sizeof *sh);
  assert_non_null(sh);
  pthread_mutex_init(&sh->mu, NULL);
  pthread_cond_init(&sh->cv, NULL);
  node n[2], c;
  node_up(&n[0], "a", 0);
  node_up(&n[1], "b", 0);
  c_up(&c, 0, sh);
  uint16_t c_port = 0;
  {
    const char *colon = strrchr(akt_system_address(c.sys), ':');
    assert_non_null(colon);
    c_port = (uint16_t)atoi(colon + 1);
  }
  for (int k = 0; k < 2; k++) sh->args[k] = (chatter_arg){.sh = sh, .node = k};
  akt_pid *chatters[2][CHATTERS];
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < CHATTERS; i++) {
      char name[16];
      snprintf(name, sizeof name, "chatter%d", i);
      akt_spawn_opts o = {.arg = &sh->args[k]};
      assert_int_equal(akt_spawn(n[k].sys, name, &chatter_def, &o, &chatters[k][i]), 0);
      assert_true(akt_pid_format(chatters[k][i], sh->chatters[k][i], sizeof sh->chatters[k][i]) > 0);
    }
  /* Every chatter starts at once: connects from several workers race. */
  Cmd go = CMD__INIT;
  go.op = "go";
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < CHATTERS; i++) assert_int_equal(akt_tell(chatters[k][i], &go.base), 0);
  /* C goes down and comes back while they talk. */
  for (int round = 1; round <= RESTARTS; round++) {
    assert_true(wait_for(sh, notes_at_least, (long)round * NOTES_PER_LIFE));
    /* Every chatter watches the sink, or is about to again (after a
     * Terminated): each hears at least once that C went. */
    long before = atomic_load(&sh->terminated);
    node_down(&c);
    assert_true(wait_for(sh, terminated_at_least, before + 2 * CHATTERS));
    c_up(&c, c_port, sh);
    /* A and B find C again: their endpoints reconnect (after a backoff). */
    for (int k = 0; k < 2; k++) find_sink(n[k].sys, sh);
  }
  /* Round trips went on throughout; now they end, every one answered. */
  Cmd stop = CMD__INIT;
  stop.op = "stop";
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < CHATTERS; i++) assert_int_equal(akt_tell(chatters[k][i], &stop.base), 0);
  assert_true(wait_for(sh, all_done, 0));
  assert_int_equal(atomic_load(&sh->failed), 0);
  assert_true(atomic_load(&sh->round_trips) >= 2 * CHATTERS * WINDOW);
  akt_remote_stats st;
  akt_remote_get_stats(n[0].sys, &st);
  printf("remote-stress: %ld round trips, %ld notes to C, %ld Terminated, A opened %llu "
         "connections (%llu closed)\n",
         atomic_load(&sh->round_trips), atomic_load(&sh->notes), atomic_load(&sh->terminated),
         (unsigned long long)st.connections_opened, (unsigned long long)st.connections_closed);
  assert_true(st.connections_opened >= 1 + RESTARTS); /* to B, and to each life of C */
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < CHATTERS; i++) akt_pid_release(chatters[k][i]);
  /* B goes while A's chatters may still be replying; then the rest. */
  node_down(&n[1]);
  node_down(&c);
  node_down(&n[0]);
  pthread_cond_destroy(&sh->cv);
  pthread_mutex_destroy(&sh->mu);
  free(sh);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(concurrent_sends_connects_and_closes_lose_no_round_trip),
};

AKT_TEST_MAIN("remote-stress", tests)
