/* akt/mailbox.h: the bounded and priority mailboxes, a mailbox of the
 * application's own, and system messages that bypass them — on both
 * backends. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "api.h"

/* Notes each Ping it handles; Cmd{op:"flood", n} makes the test's
 * `flood` run inside the turn (sends that find the mailbox as it is while
 * the actor is busy). */
typedef struct flood_cfg {
  akt_pid *to;
  void (*flood)(akt_pid *self, void *arg);
  void *arg;
} flood_cfg;

static int boxed_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  const flood_cfg *cfg = akt_ctx_arg(ctx);
  if (akt_msg_is(msg, &ping__descriptor))
    return api_note(ctx, cfg->to, "ping %lld", (long long)((const Ping *)msg)->n);
  if (api_is_cmd(msg, "flood")) {
    cfg->flood(akt_ctx_self(ctx), cfg->arg);
    return api_note(ctx, cfg->to, "flooded");
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def boxed_def = {.kind = "boxed", .receive = boxed_receive};

/* What a flood did: the codes of its sends, in order. */
typedef struct flood_log {
  int n;
  int rc[2048];
  int64_t first;
} flood_log;

static void tell_n(akt_pid *self, void *arg) {
  flood_log *log = arg;
  for (int i = 0; i < log->n; i++) {
    Ping m = PING__INIT;
    m.n = log->first + i;
    log->rc[i] = akt_tell(self, &m.base);
  }
}

static akt_pid *spawn_boxed(akt_testkit *tk, const char *name, flood_cfg *cfg,
                            const akt_mailbox_type *type, const void *config) {
  akt_spawn_opts o = {.arg = cfg, .mailbox = type, .mailbox_config = config};
  return akt_testkit_spawn_opts(tk, name, &boxed_def, &o);
}

/* ---- bounded ----------------------------------------------------------------- */

static void a_full_bounded_mailbox_refuses_with_efull_and_counts_it(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  flood_log log = {.n = 3, .first = 1};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_n, .arg = &log};
  akt_bounded_config bc = {.capacity = 2};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &akt_mailbox_bounded, &bc);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  assert_int_equal(log.rc[0], 0);
  assert_int_equal(log.rc[1], 0);
  assert_int_equal(log.rc[2], AKT_EFULL); /* not queued; the sender knows */
  EXPECT_NOTE(p, "ping 1");
  EXPECT_NOTE(p, "ping 2");
  akt_probe_expect_no_msg(p, AKT_MILLIS(20));
  akt_actor_metrics m;
  assert_int_equal(akt_actor_get_metrics(a, &m), 0);
  assert_int_equal(m.rejected, 1);
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_int_equal(st.rejected, 1);
  akt_testkit_free(tk);
}

static void a_bounded_mailbox_without_config_holds_the_default_capacity(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  static flood_log log; /* large: not on the stack */
  log = (flood_log){.n = AKT_DEFAULT_BOUNDED_CAPACITY + 1};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_n, .arg = &log};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &akt_mailbox_bounded, NULL);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  for (int i = 0; i < AKT_DEFAULT_BOUNDED_CAPACITY; i++) assert_int_equal(log.rc[i], 0);
  assert_int_equal(log.rc[AKT_DEFAULT_BOUNDED_CAPACITY], AKT_EFULL);
  akt_testkit_free(tk);
}

static void fill_then_stop(akt_pid *self, void *arg) {
  flood_log *log = arg;
  tell_n(self, arg);
  log->rc[log->n] = akt_stop(self); /* the mailbox is full now */
}

static void a_stop_gets_through_a_full_mailbox(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  akt_probe *dl = api_dead_letters(tk);
  flood_log log = {.n = 2, .first = 1};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = fill_then_stop, .arg = &log};
  akt_bounded_config bc = {.capacity = 1};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &akt_mailbox_bounded, &bc);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  assert_int_equal(log.rc[0], 0);
  assert_int_equal(log.rc[1], AKT_EFULL);
  assert_int_equal(log.rc[2], 0); /* system messages do not go through the mailbox */
  api_wait_terminated(tk, a);
  api_expect_dead_letter(dl, "Ping", "terminated"); /* the one queued */
  akt_testkit_free(tk);
}

/* ---- priority ------------------------------------------------------------------ */

static int by_n(const ProtobufCMessage *msg, void *arg) {
  (void)arg;
  /* Pings by n / 10: 1x before 0x, equal tens in order. */
  return akt_msg_is(msg, &ping__descriptor) ? (int)(((const Ping *)msg)->n / 10) : 100;
}

static void tell_mixed(akt_pid *self, void *arg) {
  flood_log *log = arg;
  const int64_t ns[] = {1, 11, 2, 12, 3, 21};
  for (int i = 0; i < 6; i++) {
    Ping m = PING__INIT;
    m.n = ns[i];
    log->rc[i] = akt_tell(self, &m.base);
  }
}

static void the_priority_mailbox_takes_higher_first_and_equal_in_order(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  flood_log log = {0};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_mixed, .arg = &log};
  akt_priority_config pc = {.priority = by_n};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &akt_mailbox_priority, &pc);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  const char *want[] = {"ping 21", "ping 11", "ping 12", "ping 1", "ping 2", "ping 3"};
  for (int i = 0; i < 6; i++) EXPECT_NOTE(p, want[i]);
  akt_testkit_free(tk);
}

static void a_full_priority_mailbox_refuses_with_efull(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  flood_log log = {.n = 3};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_n, .arg = &log};
  akt_priority_config pc = {.priority = by_n, .capacity = 2};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &akt_mailbox_priority, &pc);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  assert_int_equal(log.rc[2], AKT_EFULL);
  akt_actor_metrics m;
  akt_actor_get_metrics(a, &m);
  assert_int_equal(m.rejected, 1);
  akt_testkit_free(tk);
}

static void a_priority_mailbox_without_its_config_fails_the_spawn(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  flood_cfg cfg = {0};
  akt_spawn_opts o = {.arg = &cfg, .mailbox = &akt_mailbox_priority};
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "a", &boxed_def, &o, &a), AKT_ENOMEM);
  assert_null(a);
  akt_priority_config none = {0}; /* `priority` is required */
  o.mailbox_config = &none;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "a", &boxed_def, &o, &a), AKT_ENOMEM);
  akt_testkit_free(tk);
}

/* ---- unbounded, as an object ----------------------------------------------- */

static void the_unbounded_mailbox_object_behaves_as_the_default(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  flood_log log = {.n = 100};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_n, .arg = &log};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &akt_mailbox_unbounded, NULL);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  for (int i = 0; i < 100; i++) {
    assert_int_equal(log.rc[i], 0);
    API_EXPECT_NOTEF(p, "ping %d", i);
  }
  akt_testkit_free(tk);
}

/* ---- a mailbox of the application's own: a stack ------------------------------ */

typedef struct stack_config {
  size_t capacity;
  atomic_int refuse_nomem; /* non-zero: push says AKT_ENOMEM */
  atomic_int created, destroyed;
  const void *seen_config;
  char first_type[32], first_sender[128]; /* the first mail, as push saw it */
} stack_config;

typedef struct stack_mb {
  pthread_mutex_t lock;
  akt_mail *top;
  size_t n;
  stack_config *cfg;
} stack_mb;

static void *stack_create(const void *config) {
  stack_config *cfg = (stack_config *)config;
  if (!cfg) return NULL;
  stack_mb *mb = calloc(1, sizeof *mb);
  if (!mb) return NULL;
  pthread_mutex_init(&mb->lock, NULL);
  mb->cfg = cfg;
  cfg->seen_config = config;
  atomic_fetch_add(&cfg->created, 1);
  return mb;
}

static void stack_destroy(void *p) {
  stack_mb *mb = p;
  assert_int_equal(mb->n, 0); /* akt empties it first */
  atomic_fetch_add(&mb->cfg->destroyed, 1);
  pthread_mutex_destroy(&mb->lock);
  free(mb);
}

static int stack_push(void *p, akt_mail *m) {
  stack_mb *mb = p;
  if (atomic_load(&mb->cfg->refuse_nomem)) return AKT_ENOMEM;
  pthread_mutex_lock(&mb->lock);
  if (mb->n == mb->cfg->capacity) {
    pthread_mutex_unlock(&mb->lock);
    return AKT_EFULL;
  }
  if (!mb->cfg->first_type[0]) {
    akt_pid *from = akt_mail_sender(m);
    snprintf(mb->cfg->first_type, sizeof mb->cfg->first_type, "%s",
             akt_mail_message(m)->descriptor->name);
    snprintf(mb->cfg->first_sender, sizeof mb->cfg->first_sender, "%s",
             from ? akt_pid_path(from) : "-");
  }
  *akt_mail_link(m) = mb->top;
  mb->top = m;
  mb->n++;
  pthread_mutex_unlock(&mb->lock);
  return 0;
}

static akt_mail *stack_pop(void *p) {
  stack_mb *mb = p;
  pthread_mutex_lock(&mb->lock);
  akt_mail *m = mb->top;
  if (m) {
    mb->top = *akt_mail_link(m);
    mb->n--;
  }
  pthread_mutex_unlock(&mb->lock);
  return m;
}

static size_t stack_size(void *p) {
  stack_mb *mb = p;
  pthread_mutex_lock(&mb->lock);
  size_t n = mb->n;
  pthread_mutex_unlock(&mb->lock);
  return n;
}

static const akt_mailbox_type stack_mailbox = {.name = "stack",
                                               .create = stack_create,
                                               .destroy = stack_destroy,
                                               .push = stack_push,
                                               .pop = stack_pop,
                                               .size = stack_size};

static void an_application_mailbox_decides_the_order(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  flood_log log = {.n = 3, .first = 1};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_n, .arg = &log};
  stack_config sc = {.capacity = 16};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &stack_mailbox, &sc);
  assert_int_equal(atomic_load(&sc.created), 1);
  assert_ptr_equal(sc.seen_config, &sc);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  EXPECT_NOTE(p, "ping 3"); /* last in, first out */
  EXPECT_NOTE(p, "ping 2");
  EXPECT_NOTE(p, "ping 1");
  /* The mail shows its message and sender to the mailbox. */
  assert_string_equal(sc.first_type, "Cmd");
  assert_string_equal(sc.first_sender, akt_pid_path(akt_probe_pid(p)));
  assert_int_equal(akt_stop(a), 0);
  api_wait_terminated(tk, a);
  akt_testkit_free(tk);
  assert_int_equal(atomic_load(&sc.destroyed), 1);
}

static void an_application_mailbox_refusal_reaches_the_sender_and_the_counters(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  akt_probe *p = akt_probe_new(tk, "p");
  flood_log log = {.n = 3, .first = 1};
  flood_cfg cfg = {.to = akt_probe_pid(p), .flood = tell_n, .arg = &log};
  stack_config sc = {.capacity = 2};
  akt_pid *a = spawn_boxed(tk, "a", &cfg, &stack_mailbox, &sc);
  api_cmd(p, a, "flood", NULL, 0);
  EXPECT_NOTE(p, "flooded");
  assert_int_equal(log.rc[2], AKT_EFULL);
  EXPECT_NOTE(p, "ping 2");
  EXPECT_NOTE(p, "ping 1");
  akt_actor_metrics m;
  akt_actor_get_metrics(a, &m);
  assert_int_equal(m.rejected, 1);
  akt_system_stats st;
  akt_system_get_stats(akt_testkit_system(tk), &st);
  assert_int_equal(st.rejected, 1);
  /* Out of memory: the sender gets AKT_ENOMEM. */
  atomic_store(&sc.refuse_nomem, 1);
  Ping ping = PING__INIT;
  assert_int_equal(akt_tell(a, &ping.base), AKT_ENOMEM);
  atomic_store(&sc.refuse_nomem, 0);
  akt_testkit_free(tk);
}

static void a_mailbox_type_that_cannot_create_fails_the_spawn(void **state) {
  (void)state;
  akt_testkit *tk = TK_NEW();
  flood_cfg cfg = {0};
  akt_spawn_opts o = {.arg = &cfg, .mailbox = &stack_mailbox, .mailbox_config = NULL};
  akt_pid *a = NULL;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "a", &boxed_def, &o, &a), AKT_ENOMEM);
  assert_null(a);
  akt_mailbox_type incomplete = stack_mailbox;
  incomplete.size = NULL;
  o.mailbox = &incomplete;
  assert_int_equal(akt_spawn(akt_testkit_system(tk), "a", &boxed_def, &o, &a), AKT_EINVAL);
  akt_testkit_free(tk);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_full_bounded_mailbox_refuses_with_efull_and_counts_it),
    cmocka_unit_test(a_bounded_mailbox_without_config_holds_the_default_capacity),
    cmocka_unit_test(a_stop_gets_through_a_full_mailbox),
    cmocka_unit_test(the_priority_mailbox_takes_higher_first_and_equal_in_order),
    cmocka_unit_test(a_full_priority_mailbox_refuses_with_efull),
    cmocka_unit_test(a_priority_mailbox_without_its_config_fails_the_spawn),
    cmocka_unit_test(the_unbounded_mailbox_object_behaves_as_the_default),
    cmocka_unit_test(an_application_mailbox_decides_the_order),
    cmocka_unit_test(an_application_mailbox_refusal_reaches_the_sender_and_the_counters),
    cmocka_unit_test(a_mailbox_type_that_cannot_create_fails_the_spawn),
};

AKT_TEST_MAIN_BOTH("api-mailbox", tests)
