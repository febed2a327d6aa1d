/* Stash, passivation, kill/respawn, the system scheduler, the event stream,
 * dead letters, mailboxes, metrics, pipe-to and logging — on both backends. */
#include <pthread.h>
#include <stdio.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"
#include "akt/actor.pb-c.h"

/* ---- stash ---------------------------------------------------------------- */

/* A gate stashes Pings while closed; Cmd{"open"} opens it and unstashes
 * everything, Cmd{"one"} lets exactly one stashed Ping through;
 * Cmd{"count"} replies Total{stash size}. Open, it answers Pong{n}. */
typedef struct gate_state {
  int open, let;
} gate_state;

static int gate_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  gate_state *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &ping__descriptor)) {
    if (!s->open && s->let == 0) return akt_stash(ctx);
    if (!s->open) s->let--;
    Pong p = PONG__INIT;
    p.n = ((const Ping *)msg)->n;
    return akt_reply(ctx, &p.base);
  }
  if (akt_msg_is(msg, &cmd__descriptor)) {
    const char *op = ((const Cmd *)msg)->op;
    if (!strcmp(op, "open")) {
      s->open = 1;
      return akt_unstash_all(ctx) >= 0 ? 0 : AKT_EFAILED;
    }
    if (!strcmp(op, "one")) {
      s->let++;
      return akt_unstash(ctx);
    }
    if (!strcmp(op, "count")) {
      Total t = TOTAL__INIT;
      t.value = (int64_t)akt_stash_size(ctx);
      return akt_reply(ctx, &t.base);
    }
    if (!strcmp(op, "hold")) {
      if (!s->open) return akt_stash(ctx);
      Cmd held = CMD__INIT;
      held.op = "held";
      held.arg = ((const Cmd *)msg)->arg;
      return akt_reply(ctx, &held.base);
    }
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def gate_def = {.kind = "gate", .state_size = sizeof(gate_state),
                                       .receive = gate_receive};

static void cmd(akt_probe *p, akt_pid *to, const char *op) {
  Cmd c = CMD__INIT;
  c.op = (char *)op;
  akt_probe_tell(p, to, &c.base);
}

static void ping_n(akt_probe *p, akt_pid *to, int64_t n) {
  Ping ping = PING__INIT;
  ping.n = n;
  akt_probe_tell(p, to, &ping.base);
}

static void stash_holds_messages_until_unstashed(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *g = akt_testkit_spawn(tk, "gate", &gate_def);
  for (int i = 1; i <= 3; i++) ping_n(p, g, i);
  cmd(p, g, "count");
  assert_int_equal(((const Total *)akt_probe_expect_msg(p, &total__descriptor, 0))->value, 3);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  cmd(p, g, "one"); /* exactly the oldest comes back */
  assert_int_equal(((const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0))->n, 1);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  ping_n(p, g, 4);
  cmd(p, g, "open"); /* unstashed 2, 3, 4 come before 5, queued behind */
  ping_n(p, g, 5);
  for (int i = 2; i <= 5; i++) {
    const Pong *pong = (const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0);
    assert_int_equal(pong->n, i);
    assert_ptr_equal(akt_probe_last_sender(p), g);
  }
  akt_testkit_free(tk);
}

/* On any Cmd, requests the Cmd's sender (a Ping with a correlation id)
 * and tells the reply to the PID in its arg. */
static int ask_reply(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  (void)arg;
  if (status) return status;
  return akt_send(ctx, (akt_pid *)akt_ctx_arg(ctx), reply);
}

static int asker_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &cmd__descriptor)) return AKT_EUNHANDLED;
  Ping ping = PING__INIT;
  ping.n = 77;
  return akt_request(ctx, akt_ctx_sender(ctx), &ping.base, AKT_SECONDS(5), ask_reply, NULL);
}

static const akt_actor_def asker_def = {.kind = "asker", .receive = asker_receive};

static void stashed_requests_and_long_messages_come_back_whole(void **state) {
  /* A Ping request (a correlation id) and a Cmd of a few cache lines are
   * written into the gate's mailbox slots; stashing copies them out. */
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *g = akt_testkit_spawn(tk, "gate", &gate_def);
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *a = akt_testkit_spawn_opts(tk, "asker", &asker_def, &o);
  char text[300];
  for (size_t i = 0; i < sizeof text - 1; i++) text[i] = (char)('a' + i % 26);
  text[sizeof text - 1] = '\0';
  Cmd hold = CMD__INIT;
  hold.op = "hold";
  hold.arg = text;
  akt_probe_tell(p, g, &hold.base);
  Cmd ask = CMD__INIT;
  ask.op = "ask";
  akt_tell_as(a, &ask.base, g); /* the asker requests the gate */
  int64_t stashed = 0;
  for (int i = 0; i < 100 && stashed < 2; i++) {
    cmd(p, g, "count");
    stashed = ((const Total *)akt_probe_expect_msg(p, &total__descriptor, 0))->value;
  }
  assert_int_equal(stashed, 2);
  cmd(p, g, "open");
  const Cmd *held = (const Cmd *)akt_probe_expect_msg(p, &cmd__descriptor, 0);
  assert_string_equal(held->op, "held");
  assert_string_equal(held->arg, text);
  /* The reply went to the asker's continuation: the id survived the stash. */
  assert_int_equal(((const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0))->n, 77);
  akt_testkit_free(tk);
}

static void the_stash_is_bounded(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.stash_capacity = 2};
  akt_pid *g = akt_testkit_spawn_opts(tk, "gate", &gate_def, &o);
  for (int i = 1; i <= 3; i++) ping_n(p, g, i);
  cmd(p, g, "count");
  /* The third stash failed (AKT_EFULL): the gate was restarted, stash handed back. */
  akt_probe_expect_msg(p, &total__descriptor, 0);
  akt_actor_metrics m;
  akt_actor_get_metrics(g, &m);
  assert_int_equal(m.failures, 1);
  akt_testkit_free(tk);
}

static void stashed_messages_are_dead_letters_at_termination(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *g = akt_testkit_spawn(tk, "gate", &gate_def);
  ping_n(p, g, 1);
  ping_n(p, g, 2);
  akt_probe_watch(p, g);
  akt_system_stats before, after;
  akt_testkit_run_until_idle(tk);
  akt_system_get_stats(akt_testkit_system(tk), &before);
  akt_stop(g);
  akt_probe_expect_terminated(p, g, 0);
  akt_system_get_stats(akt_testkit_system(tk), &after);
  assert_int_equal(after.dead_letters - before.dead_letters, 2);
  akt_testkit_free(tk);
}

static int is_note_text(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  return akt_msg_is(m, &note__descriptor) && !strcmp(((const Note *)m)->text, arg);
}

/* ---- passivation, kill, respawn ----------------------------------------------- */

static void an_idle_actor_passivates(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *events = akt_probe_new(tk, "events");
  assert_int_equal(akt_subscribe(akt_probe_pid(events), AKT_TOPIC_ACTOR_PASSIVATED), 0);
  akt_spawn_opts o = {.arg = akt_probe_pid(p), .passivate_after = AKT_MILLIS(100)};
  akt_pid *r = akt_testkit_spawn_opts(tk, "lazy", &reporter_def, &o);
  EXPECT_NOTE(p, "lazy:pre_start");
  akt_probe_watch(p, r);
  /* Busy every 60 ms: it stays. */
  for (int i = 0; i < 3; i++) {
    akt_testkit_advance(tk, AKT_MILLIS(60));
    ping_n(p, r, i);
    akt_probe_expect_msg(p, &pong__descriptor, 0);
  }
  assert_true(akt_pid_is_running(r));
  /* Then idle: it stops 100 ms after its last message. */
  const Note *n =
      (const Note *)akt_probe_expect_within(p, &note__descriptor, AKT_MILLIS(90), AKT_SECONDS(1));
  assert_string_equal(n->text, "lazy:post_stop");
  akt_probe_expect_terminated(p, r, 0);
  const Akt__ActorEvent *e =
      (const Akt__ActorEvent *)akt_probe_expect_msg(events, &akt__actor_event__descriptor, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__PASSIVATED);
  assert_string_equal(e->path, "/user/lazy");
  /* A later message to its name: the old PID's mail is a dead letter, the
   * name resolves to nothing — until it is respawned. */
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(r, &ping.base), AKT_ESTOPPED);
  akt_pid *found = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/lazy", &found), AKT_ENOENT);
  akt_pid *again = NULL;
  assert_int_equal(akt_respawn(r, &again), 0);
  EXPECT_NOTE(p, "lazy:pre_start");
  assert_string_equal(akt_pid_path(again), "/user/lazy");
  assert_false(akt_pid_equal(again, r));
  ping_n(p, again, 7);
  assert_int_equal(((const Pong *)akt_probe_expect_msg(p, &pong__descriptor, 0))->n, 7);
  assert_int_equal(akt_respawn(again, NULL), AKT_ESTATE); /* still running */
  akt_pid_release(again);
  akt_testkit_free(tk);
}

static void kill_is_a_failure_the_supervisor_stops(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_spawn_opts o = {.arg = akt_probe_pid(p)};
  akt_pid *parent = akt_testkit_spawn_opts(tk, "parent", &parent_def, &o);
  akt_probe_receive_n(p, 3, 0, NULL);
  ping_n(p, parent, 1);
  akt_probe_watch(p, parent);
  assert_int_equal(akt_kill(parent), 0);
  /* The Ping may or may not have been handled first; then both children
   * stop, the parent's post_stop runs, and the watcher hears of it. */
  akt_probe_fish_for(p, is_note_text, "parent:post_stop", 4, 0);
  akt_probe_expect_terminated(p, parent, 0);
  akt_actor_metrics m;
  akt_actor_get_metrics(parent, &m);
  assert_int_equal(m.failures, 1);
  akt_pid *c1 = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user/parent/c1", &c1), AKT_ENOENT);
  assert_int_equal(akt_kill(parent), AKT_ESTOPPED);
  assert_int_equal(akt_restart(parent), AKT_ESTOPPED);
  akt_pid *root = NULL;
  assert_int_equal(akt_lookup(akt_testkit_system(tk), "/user", &root), 0);
  assert_int_equal(akt_kill(root), AKT_ENOTSUP);
  akt_pid_release(root);
  akt_testkit_free(tk);
}

/* ---- the system scheduler ------------------------------------------------------- */

static void scheduled_messages_arrive_on_time(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p");
  Ping once = PING__INIT, every = PING__INIT;
  once.n = 1;
  every.n = 2;
  uint64_t id1 = 0, id2 = 0;
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(100), 0, akt_probe_pid(p), &once.base, &id1), 0);
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(30), AKT_MILLIS(30), akt_probe_pid(p),
                                &every.base, &id2), 0);
  assert_true(id1 && id2 && id1 != id2);
  int ones = 0, twos = 0;
  for (int i = 0; i < 4; i++) {
    const Ping *got = (const Ping *)akt_probe_expect_msg(p, &ping__descriptor, AKT_SECONDS(1));
    if (got->n == 1) ones++;
    else twos++;
  }
  assert_int_equal(ones, 1); /* at 100 ms, among the 30/60/90/120 ms ticks */
  assert_int_equal(twos, 3);
  assert_int_equal(akt_schedule_cancel(sys, id2), 0);
  assert_int_equal(akt_schedule_cancel(sys, id1), AKT_ENOENT); /* already sent */
  assert_int_equal(akt_schedule_cancel(sys, id2), AKT_ENOENT);
  /* A tick already on its way when canceled may still land; none after. */
  akt_testkit_advance(tk, AKT_MILLIS(20));
  akt_probe_clear(p);
  akt_probe_expect_no_msg(p, AKT_MILLIS(100));
  assert_int_equal(akt_schedule(sys, 0, 0, NULL, &once.base, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void scheduled_messages_end_with_the_system(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(10), AKT_MILLIS(10), c, &a.base, NULL), 0);
  assert_int_equal(akt_system_shutdown(sys, AKT_SECONDS(5)), 0);
  assert_int_equal(akt_schedule(sys, AKT_MILLIS(10), 0, c, &a.base, NULL), AKT_ESTOPPED);
  akt_testkit_free(tk);
}

/* ---- the event stream and dead letters ---------------------------------------- */

static int is_event_of(const ProtobufCMessage *m, akt_pid *sender, void *arg) {
  (void)sender;
  return akt_msg_is(m, &akt__actor_event__descriptor) &&
         !strcmp(((const Akt__ActorEvent *)m)->path, arg);
}

static void lifecycle_events_are_published(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *ev = akt_probe_new(tk, "events");
  const char *topics[] = {AKT_TOPIC_ACTOR_STARTED, AKT_TOPIC_ACTOR_STOPPED,
                          AKT_TOPIC_ACTOR_RESTARTED};
  for (int i = 0; i < 3; i++) assert_int_equal(akt_subscribe(akt_probe_pid(ev), topics[i]), 0);
  assert_int_equal(akt_subscribe(akt_probe_pid(ev), topics[0]), 0); /* twice: once */
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  const Akt__ActorEvent *e =
      (const Akt__ActorEvent *)akt_probe_fish_for(ev, is_event_of, "/user/c", 5, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__STARTED);
  assert_string_equal(e->actor_kind, "counter");
  assert_true(akt_pid_equal(akt_probe_last_sender(ev), c));
  assert_int_equal(akt_restart(c), 0);
  /* Events of other actors (the system's own, starting on other threads)
   * may come in between: fish for /user/c's. */
  e = (const Akt__ActorEvent *)akt_probe_fish_for(ev, is_event_of, "/user/c", 5, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__RESTARTED);
  akt_stop(c);
  e = (const Akt__ActorEvent *)akt_probe_fish_for(ev, is_event_of, "/user/c", 5, 0);
  assert_int_equal(e->kind, AKT__ACTOR_EVENT__KIND__STOPPED);
  assert_int_equal(akt_unsubscribe(akt_probe_pid(ev), AKT_TOPIC_ACTOR_STARTED), 0);
  assert_int_equal(akt_unsubscribe(akt_probe_pid(ev), AKT_TOPIC_ACTOR_STARTED), AKT_ENOENT);
  akt_testkit_spawn(tk, "d", &counter_def);
  akt_testkit_run_until_idle(tk);
  akt_probe_clear(ev);
  akt_testkit_spawn(tk, "e", &counter_def);
  akt_probe_expect_no_msg(ev, AKT_MILLIS(20)); /* not subscribed to starts any more */
  akt_testkit_free(tk);
}

static void user_topics_reach_every_subscriber(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  akt_spawn_opts o = {.arg = akt_probe_pid(a)};
  akt_pid *f = akt_testkit_spawn_opts(tk, "fwd", &forwarder_def, &o);
  assert_int_equal(akt_subscribe(akt_probe_pid(b), "prices"), 0);
  assert_int_equal(akt_subscribe(f, "prices"), 0);
  Note n = NOTE__INIT;
  n.text = "EURUSD 1.08";
  assert_int_equal(akt_publish(sys, "prices", &n.base, NULL), 2);
  akt_probe_expect_equal(b, &n.base, 0);
  akt_probe_expect_equal(a, &n.base, 0); /* through the forwarder */
  assert_int_equal(akt_publish(sys, "nobody-listens", &n.base, NULL), 0);
  /* A terminated subscriber is dropped on the next publication. */
  akt_probe_watch(a, f);
  akt_stop(f);
  akt_probe_expect_terminated(a, f, 0);
  assert_int_equal(akt_publish(sys, "prices", &n.base, NULL), 1);
  assert_int_equal(akt_publish(sys, "prices", &n.base, NULL), 1);
  assert_int_equal(akt_subscribe(akt_probe_pid(b), ""), AKT_ENAME);
  assert_int_equal(akt_publish(sys, NULL, &n.base, NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

static void dead_letters_are_published_with_their_reason(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *dl = akt_probe_new(tk, "dl");
  assert_int_equal(akt_subscribe(akt_probe_pid(dl), AKT_TOPIC_DEAD_LETTER), 0);
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Ping ping = PING__INIT;
  ping.n = 5;
  akt_tell(c, &ping.base); /* unhandled */
  const Akt__DeadLetter *d =
      (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->reason, "unhandled");
  assert_string_equal(d->target, "/user/c");
  assert_string_equal(d->type, "Ping");
  Ping *orig = ping__unpack(NULL, d->payload.len, d->payload.data);
  assert_non_null(orig);
  assert_int_equal(orig->n, 5);
  ping__free_unpacked(orig, NULL);
  akt_probe_watch(dl, c);
  akt_stop(c);
  akt_probe_expect_terminated(dl, c, 0);
  akt_tell(c, &ping.base);
  d = (const Akt__DeadLetter *)akt_probe_expect_msg(dl, &akt__dead_letter__descriptor, 0);
  assert_string_equal(d->reason, "terminated");
  akt_testkit_free(tk);
}

/* ---- mailboxes -------------------------------------------------------------------- */

/* A held actor: Cmd{"hold"} reports Note "in" and then blocks in receive
 * while the valve is shut (libuv only: on the simulator nothing else runs
 * meanwhile anyway); anything else is forwarded to its arg. So a test can
 * fill its mailbox with the actor provably not taking from it. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int shut;
} valve = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static int held_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (akt_msg_is(msg, &cmd__descriptor) && !strcmp(((const Cmd *)msg)->op, "hold")) {
    int rc = note_to(ctx, (akt_pid *)akt_ctx_arg(ctx), "in");
    pthread_mutex_lock(&valve.mu);
    while (valve.shut) pthread_cond_wait(&valve.cv, &valve.mu);
    pthread_mutex_unlock(&valve.mu);
    return rc;
  }
  return akt_forward(ctx, (akt_pid *)akt_ctx_arg(ctx));
}

static const akt_actor_def held_def = {.kind = "held", .receive = held_receive};

/* Spawns a held actor with mailbox `type` and blocks it in receive. */
static akt_pid *spawn_held(akt_testkit *tk, akt_probe *p, const akt_mailbox_type *type,
                           const void *config) {
  valve.shut = akt_test_backend == AKT_TESTKIT_UV;
  akt_spawn_opts o = {.arg = akt_probe_pid(p), .mailbox = type, .mailbox_config = config};
  akt_pid *h = akt_testkit_spawn_opts(tk, "held", &held_def, &o);
  cmd(p, h, "hold");
  EXPECT_NOTE(p, "held:in");
  return h;
}

static void open_valve(void) {
  pthread_mutex_lock(&valve.mu);
  valve.shut = 0;
  pthread_cond_broadcast(&valve.cv);
  pthread_mutex_unlock(&valve.mu);
}

static void a_bounded_mailbox_refuses_when_full(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_bounded_config cfg = {.capacity = 3};
  akt_pid *h = spawn_held(tk, p, &akt_mailbox_bounded, &cfg);
  for (int i = 0; i < 3; i++) {
    Ping ping = PING__INIT;
    ping.n = i;
    assert_int_equal(akt_tell(h, &ping.base), 0);
  }
  Ping extra = PING__INIT;
  assert_int_equal(akt_tell(h, &extra.base), AKT_EFULL); /* the sender is told */
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_int_equal(st.rejected, 1);
  akt_actor_metrics m;
  akt_actor_get_metrics(h, &m);
  assert_int_equal(m.mailbox_size, 3);
  open_valve();
  for (int i = 0; i < 3; i++)
    assert_int_equal(((const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0))->n, i);
  akt_actor_get_metrics(h, &m);
  assert_int_equal(m.mailbox_size, 0);
  assert_int_equal(akt_tell(h, &extra.base), 0);
  akt_testkit_free(tk);
}

static int by_tens(const ProtobufCMessage *m, void *arg) {
  (void)arg;
  return akt_msg_is(m, &ping__descriptor) ? (int)((const Ping *)m)->n / 10 : 0;
}

static void a_priority_mailbox_is_stable(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_priority_config cfg = {.priority = by_tens};
  akt_pid *h = spawn_held(tk, p, &akt_mailbox_priority, &cfg);
  const int64_t sent[] = {10, 20, 11, 30, 21, 12};
  for (size_t i = 0; i < 6; i++) ping_n(p, h, sent[i]);
  open_valve();
  const int64_t want[] = {30, 20, 21, 10, 11, 12}; /* by priority, FIFO within one */
  for (int i = 0; i < 6; i++)
    assert_int_equal(((const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0))->n, want[i]);
  akt_testkit_free(tk);
}

/* A user mailbox: LIFO, to show the interface (and that it is used). */
typedef struct lifo {
  pthread_mutex_t mu;
  akt_mail *top;
  size_t n;
} lifo;

static void *lifo_create(const void *cfg) {
  (void)cfg;
  lifo *l = calloc(1, sizeof *l);
  if (l) pthread_mutex_init(&l->mu, NULL);
  return l;
}
static void lifo_destroy(void *mb) {
  lifo *l = mb;
  pthread_mutex_destroy(&l->mu);
  free(l);
}
static int lifo_push(void *mb, akt_mail *m) {
  lifo *l = mb;
  pthread_mutex_lock(&l->mu);
  *akt_mail_link(m) = l->top;
  l->top = m;
  l->n++;
  pthread_mutex_unlock(&l->mu);
  return 0;
}
static akt_mail *lifo_pop(void *mb) {
  lifo *l = mb;
  pthread_mutex_lock(&l->mu);
  akt_mail *m = l->top;
  if (m) {
    l->top = *akt_mail_link(m);
    l->n--;
  }
  pthread_mutex_unlock(&l->mu);
  return m;
}
static size_t lifo_size(void *mb) {
  lifo *l = mb;
  pthread_mutex_lock(&l->mu);
  size_t n = l->n;
  pthread_mutex_unlock(&l->mu);
  return n;
}
static const akt_mailbox_type lifo_mailbox = {.name = "lifo", .create = lifo_create,
                                              .destroy = lifo_destroy, .push = lifo_push,
                                              .pop = lifo_pop, .size = lifo_size};

static void a_user_mailbox_decides_the_order(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *h = spawn_held(tk, p, &lifo_mailbox, NULL);
  for (int i = 1; i <= 3; i++) ping_n(p, h, i);
  open_valve();
  for (int i = 3; i >= 1; i--)
    assert_int_equal(((const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0))->n, i);
  akt_testkit_free(tk);
}

static void the_unbounded_mailbox_object_works_too(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *h = spawn_held(tk, p, &akt_mailbox_unbounded, NULL);
  for (int i = 1; i <= 3; i++) ping_n(p, h, i);
  open_valve();
  for (int i = 1; i <= 3; i++)
    assert_int_equal(((const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0))->n, i);
  /* The object itself, used directly. */
  void *mb = akt_mailbox_unbounded.create(NULL);
  assert_int_equal(akt_mailbox_unbounded.size(mb), 0);
  assert_null(akt_mailbox_unbounded.pop(mb));
  akt_mailbox_unbounded.destroy(mb);
  akt_testkit_free(tk);
}

/* ---- metrics ------------------------------------------------------------------------ */

static void metrics_count_and_time(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "c", &counter_def);
  Add a = ADD__INIT;
  for (int i = 0; i < 5; i++) akt_probe_tell(p, c, &a.base);
  Get g = GET__INIT;
  akt_probe_tell(p, c, &g.base);
  akt_probe_expect_msg(p, &total__descriptor, 0);
  akt_testkit_advance(tk, AKT_MILLIS(30));
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(c, &m), 0);
  assert_int_equal(m.processed, 6);
  assert_int_equal(m.mailbox_size, 0);
  assert_int_equal(m.restarts, 0);
  assert_int_equal(m.failures, 0);
  assert_true(m.uptime_ns >= AKT_MILLIS(30));
  assert_true(m.running);
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_true(st.processed >= 6);
  assert_int_equal(akt_actor_get_metrics(NULL, &m), AKT_EINVAL);
  akt_testkit_free(tk);
}

/* ---- pipe-to: blocking work off the actor ------------------------------------------- */

static int slow_square(akt_work *w, void *arg) {
  int64_t x = (int64_t)(intptr_t)arg;
  if (x < 0) return AKT_EUSER_BASE - 9;
  Total t = TOTAL__INIT;
  t.value = x * x;
  return akt_work_result(w, &t.base);
}

static int no_result(akt_work *w, void *arg) {
  (void)w;
  (void)arg;
  return 0;
}

static void work_results_are_piped_to_an_actor(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_system *sys = akt_testkit_system(tk);
  akt_probe *p = akt_probe_new(tk, "p"), *s = akt_probe_new(tk, "s");
  assert_int_equal(akt_pipe_to(sys, slow_square, (void *)(intptr_t)12, akt_probe_pid(p),
                               akt_probe_pid(s)), 0);
  const Total *t = (const Total *)akt_probe_expect_msg(p, &total__descriptor, 0);
  assert_int_equal(t->value, 144);
  assert_ptr_equal(akt_probe_last_sender(p), akt_probe_pid(s));
  assert_int_equal(akt_pipe_to(sys, slow_square, (void *)(intptr_t)-1, akt_probe_pid(p), NULL), 0);
  const Akt__WorkFailed *f =
      (const Akt__WorkFailed *)akt_probe_expect_msg(p, &akt__work_failed__descriptor, 0);
  assert_int_equal(f->code, AKT_EUSER_BASE - 9);
  assert_int_equal(akt_pipe_to(sys, no_result, NULL, akt_probe_pid(p), NULL), 0);
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  assert_int_equal(akt_pipe_to(sys, NULL, NULL, akt_probe_pid(p), NULL), AKT_EINVAL);
  akt_testkit_free(tk);
}

/* ---- logging ------------------------------------------------------------------------------ */

typedef struct captured {
  pthread_mutex_t mu;
  char lines[8][256];
  int n;
} captured;

static void capture(akt_log_level level, const char *line, void *data) {
  captured *c = data;
  pthread_mutex_lock(&c->mu);
  if (c->n < 8) snprintf(c->lines[c->n++], sizeof c->lines[0], "%d %s", (int)level, line);
  pthread_mutex_unlock(&c->mu);
}

static int chatty_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)msg;
  akt_ctx_log(ctx, AKT_LOG_INFO, "got %d", 42);
  akt_ctx_log(ctx, AKT_LOG_DEBUG, "too quiet to show");
  return akt_reply(ctx, msg);
}

static const akt_actor_def chatty_def = {.kind = "chatty", .receive = chatty_receive};

static void logs_go_to_a_user_sink_with_fields(void **state) {
  (void)state;
  static captured cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
  cap.n = 0;
  akt_system_options so = {.log_sink = capture, .log_data = &cap, .log_level = AKT_LOG_INFO};
  akt_testkit *tk = TK_NEW(.system = &so, .log_level = AKT_LOG_INFO);
  akt_system *sys = akt_testkit_system(tk);
  akt_log_field fields[] = {{"user", "ada"}, {"note", "two words"}, {"q", "say \"hi\""}};
  akt_log_fields(sys, AKT_LOG_WARN, "login", fields, 3);
  akt_log(sys, AKT_LOG_DEBUG, "hidden");
  akt_probe *p = akt_probe_new(tk, "p");
  akt_pid *c = akt_testkit_spawn(tk, "chatty", &chatty_def);
  ping_n(p, c, 1);
  akt_probe_expect_msg(p, &ping__descriptor, 0);
  pthread_mutex_lock(&cap.mu);
  assert_int_equal(cap.n, 2);
  assert_string_equal(cap.lines[0], "4 login user=ada note=\"two words\" q=\"say \\\"hi\\\"\"");
  assert_string_equal(cap.lines[1], "3 got 42 actor=/user/chatty");
  pthread_mutex_unlock(&cap.mu);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(stash_holds_messages_until_unstashed),
    cmocka_unit_test(stashed_requests_and_long_messages_come_back_whole),
    cmocka_unit_test(the_stash_is_bounded),
    cmocka_unit_test(stashed_messages_are_dead_letters_at_termination),
    cmocka_unit_test(an_idle_actor_passivates),
    cmocka_unit_test(kill_is_a_failure_the_supervisor_stops),
    cmocka_unit_test(scheduled_messages_arrive_on_time),
    cmocka_unit_test(scheduled_messages_end_with_the_system),
    cmocka_unit_test(lifecycle_events_are_published),
    cmocka_unit_test(user_topics_reach_every_subscriber),
    cmocka_unit_test(dead_letters_are_published_with_their_reason),
    cmocka_unit_test(a_bounded_mailbox_refuses_when_full),
    cmocka_unit_test(a_priority_mailbox_is_stable),
    cmocka_unit_test(a_user_mailbox_decides_the_order),
    cmocka_unit_test(the_unbounded_mailbox_object_works_too),
    cmocka_unit_test(metrics_count_and_time),
    cmocka_unit_test(work_results_are_piped_to_an_actor),
    cmocka_unit_test(logs_go_to_a_user_sink_with_fields),
};

AKT_TEST_MAIN_BOTH("actor/features", tests)

