/* akt/transport.h: the libuv backend's options — workers, the seed, the
 * log sink, the per-stream write limit, pending timers at free. libuv's
 * alone. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "api.h"

static void workers_are_bounded_and_default_to_the_cpus(void **state) {
  (void)state;
  akt_backend *b = NULL;
  assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = AKT_UV_MAX_WORKERS + 1}, &b),
                   AKT_EINVAL);
  assert_null(b);
  assert_int_equal(akt_uv_backend_new(NULL, NULL), AKT_EINVAL);
  assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 3}, &b), 0);
  assert_int_equal(akt_uv_backend_workers(b), 3);
  akt_uv_backend_free(b);
  assert_int_equal(akt_uv_backend_new(NULL, &b), 0);
  unsigned n = akt_uv_backend_workers(b);
  assert_true(n >= 1 && n <= AKT_UV_MAX_WORKERS);
  akt_uv_backend_free(b);
  akt_uv_backend_free(NULL);
}

typedef struct lines {
  pthread_mutex_t lock;
  char all[4096];
} lines;

static void keep(akt_log_level level, const char *line, void *data) {
  (void)level;
  lines *l = data;
  pthread_mutex_lock(&l->lock);
  size_t n = strlen(l->all);
  snprintf(l->all + n, sizeof l->all - n, "%s\n", line);
  pthread_mutex_unlock(&l->lock);
}

static void a_given_seed_is_used_logged_and_repeats_the_random_stream(void **state) {
  (void)state;
  lines l = {.lock = PTHREAD_MUTEX_INITIALIZER};
  akt_uv_options o = {.workers = 1, .use_seed = 1, .seed = 0x1234abcd, .log_sink = keep,
                      .log_data = &l};
  akt_backend *a = NULL, *b = NULL;
  assert_int_equal(akt_uv_backend_new(&o, &a), 0);
  assert_int_equal(akt_uv_backend_new(&o, &b), 0);
  assert_int_equal(akt_uv_backend_seed(a), 0x1234abcd);
  for (int i = 0; i < 8; i++) assert_int_equal(a->ops->random_u64(a), b->ops->random_u64(b));
  pthread_mutex_lock(&l.lock);
  assert_non_null(strstr(l.all, "1234abcd")); /* logged, so a run can be repeated */
  pthread_mutex_unlock(&l.lock);
  akt_uv_backend_free(a);
  akt_uv_backend_free(b);
  /* Without one, each backend draws its own. */
  assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 1}, &a), 0);
  assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 1}, &b), 0);
  assert_true(akt_uv_backend_seed(a) != akt_uv_backend_seed(b));
  akt_uv_backend_free(a);
  akt_uv_backend_free(b);
}

static void on_close(akt_stream *s, int reason, void *data) {
  (void)s;
  (void)reason;
  (void)data;
}

static void on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  akt_backend *b = data;
  b->ops->stream_close(b, s);
}

static void a_write_past_the_stream_limit_is_efull(void **state) {
  (void)state;
  akt_backend *b = NULL;
  assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 1, .write_limit = 1024}, &b), 0);
  akt_addr at = {.host = "127.0.0.1"};
  akt_listener *l = NULL;
  assert_int_equal(b->ops->listen(b, &at, on_accept, b, &l), 0);
  assert_int_equal(b->ops->listener_addr(b, l, &at), 0);
  akt_stream_cbs cbs = {.on_close = on_close};
  akt_stream *s = NULL;
  assert_int_equal(b->ops->connect(b, &at, &cbs, NULL, &s), 0);
  static uint8_t big[2048];
  assert_int_equal(b->ops->stream_write(b, s, big, sizeof big), AKT_EFULL); /* nothing queued */
  b->ops->stream_close(b, s);
  b->ops->listener_close(b, l);
  akt_uv_backend_free(b);
}

static atomic_int ran;
static void must_not_run(void *arg, uint64_t cookie) {
  (void)arg;
  (void)cookie;
  atomic_fetch_add(&ran, 1);
}

static void free_drops_pending_timers_without_running_them(void **state) {
  (void)state;
  akt_backend *b = NULL;
  assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 1}, &b), 0);
  uint64_t id;
  atomic_store(&ran, 0);
  assert_int_equal(b->ops->timer_start(b, AKT_SECONDS(3600), must_not_run, NULL, 0, &id), 0);
  akt_uv_backend_free(b);
  assert_int_equal(atomic_load(&ran), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(workers_are_bounded_and_default_to_the_cpus),
    cmocka_unit_test(a_given_seed_is_used_logged_and_repeats_the_random_stream),
    cmocka_unit_test(a_write_past_the_stream_limit_is_efull),
    cmocka_unit_test(free_drops_pending_timers_without_running_them),
};

AKT_TEST_MAIN("api-transport", tests)
