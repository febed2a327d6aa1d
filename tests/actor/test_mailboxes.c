/* The mailboxes that ship with akt, and one a user writes — on both
 * backends. */
#include <pthread.h>

#include "../support/actors.h"
#include "../support/both.h"
#include "../support/expect_note.h"
#include "probe_tell.h"

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
  assert_int_equal(m.rejected, 1); /* and the actor's metrics */
  open_valve();
  for (int i = 0; i < 3; i++)
    assert_int_equal(((const Ping *)akt_probe_expect_msg(p, &ping__descriptor, 0))->n, i);
  akt_actor_get_metrics(h, &m);
  assert_int_equal(m.mailbox_size, 0);
  assert_int_equal(akt_tell(h, &extra.base), 0);
  akt_actor_get_metrics(h, &m);
  assert_int_equal(m.rejected, 1);
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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_bounded_mailbox_refuses_when_full),
    cmocka_unit_test(a_priority_mailbox_is_stable),
    cmocka_unit_test(a_user_mailbox_decides_the_order),
    cmocka_unit_test(the_unbounded_mailbox_object_works_too),
};

AKT_TEST_MAIN_BOTH("actor/mailboxes", tests)
