/* akt/backend.h: the seam's contract — clocks, timers (and who owns `arg`
 * after a cancel), wait, schedule, offload, name resolution, streams and
 * datagrams — on both backends, through the ops table alone. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "api.h"

/* Two endpoints: two simulated nodes of one world, or one libuv backend
 * with both ends on the loopback. */
typedef struct pair {
  akt_sim_world *world;
  akt_backend *a, *b;
  const char *host_a, *host_b;
} pair;

static pair pair_new(void) {
  pair p = {0};
  if (API_SIM()) {
    assert_int_equal(akt_sim_world_new(&(akt_sim_options){.seed = 3}, &p.world), 0);
    assert_int_equal(akt_sim_node_new(p.world, "na", &p.a), 0);
    assert_int_equal(akt_sim_node_new(p.world, "nb", &p.b), 0);
    p.host_a = "na";
    p.host_b = "nb";
  } else {
    assert_int_equal(akt_uv_backend_new(&(akt_uv_options){.workers = 2}, &p.a), 0);
    p.b = p.a;
    p.host_a = p.host_b = "127.0.0.1";
  }
  return p;
}

static void pair_free(pair *p) {
  if (p->world)
    akt_sim_world_free(p->world);
  else
    akt_uv_backend_free(p->a);
}

/* Waits on `b` for ready(arg), with a deadline that only bounds a hang. */
static void wait_for(akt_backend *b, int (*ready)(void *), void *arg, const char *what) {
  uint64_t deadline = b->ops->now(b) + AKT_SECONDS(10);
  if (b->ops->wait(b, ready, arg, deadline) != 0) fail_msg("waited in vain for %s", what);
}

static int never(void *arg) {
  (void)arg;
  return 0;
}

/* ---- clocks and randomness ---------------------------------------------------- */

static void the_clock_never_goes_back_and_the_wall_clock_is_since_the_epoch(void **state) {
  (void)state;
  pair p = pair_new();
  uint64_t last = p.a->ops->now(p.a);
  for (int i = 0; i < 1000; i++) {
    uint64_t now = p.a->ops->now(p.a);
    assert_true(now >= last);
    last = now;
  }
  int64_t wall = p.a->ops->wall(p.a);
  if (API_SIM()) {
    assert_int_equal(wall, AKT_SIM_EPOCH_NS + (int64_t)p.a->ops->now(p.a));
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t real = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t minute = (int64_t)AKT_SECONDS(60);
    assert_true(wall > real - minute && wall < real + minute);
  }
  uint64_t r1 = p.a->ops->random_u64(p.a), r2 = p.a->ops->random_u64(p.a);
  assert_true(r1 != r2);
  pair_free(&p);
}

/* ---- timers --------------------------------------------------------------------- */

typedef struct fired {
  akt_backend *b;
  atomic_int count;
  _Atomic uint64_t cookie, at;
} fired;

static void on_timer(void *arg, uint64_t cookie) {
  fired *f = arg;
  atomic_store(&f->cookie, cookie);
  atomic_store(&f->at, f->b->ops->now(f->b));
  atomic_fetch_add(&f->count, 1);
  f->b->ops->wake(f->b);
}

static int has_fired(void *arg) { return atomic_load(&((fired *)arg)->count) > 0; }

static void a_timer_fires_once_after_its_delay_with_its_cookie(void **state) {
  (void)state;
  pair p = pair_new();
  fired f = {.b = p.a};
  uint64_t id = 0, t0 = p.a->ops->now(p.a);
  assert_int_equal(p.a->ops->timer_start(p.a, AKT_MILLIS(30), on_timer, &f, 77, &id), 0);
  assert_true(id != 0);
  wait_for(p.a, has_fired, &f, "the timer");
  assert_int_equal(atomic_load(&f.cookie), 77);
  assert_true(atomic_load(&f.at) - t0 >= AKT_MILLIS(30));
  if (API_SIM()) assert_int_equal(atomic_load(&f.at) - t0, AKT_MILLIS(30));
  /* It fired: a cancel is too late, and it never fires again. */
  assert_int_equal(p.a->ops->timer_cancel(p.a, id), AKT_ENOENT);
  p.a->ops->wait(p.a, never, NULL, p.a->ops->now(p.a) + AKT_MILLIS(50));
  assert_int_equal(atomic_load(&f.count), 1);
  pair_free(&p);
}

static void a_timer_cancelled_in_time_never_fires(void **state) {
  (void)state;
  pair p = pair_new();
  fired f = {.b = p.a};
  uint64_t id = 0;
  assert_int_equal(p.a->ops->timer_start(p.a, AKT_SECONDS(3600), on_timer, &f, 1, &id), 0);
  assert_int_equal(p.a->ops->timer_cancel(p.a, id), 0); /* arg is ours again */
  assert_int_equal(p.a->ops->timer_cancel(p.a, id), AKT_ENOENT);
  fired other = {.b = p.a};
  uint64_t id2 = 0;
  assert_int_equal(p.a->ops->timer_start(p.a, AKT_MILLIS(10), on_timer, &other, 2, &id2), 0);
  assert_true(id2 != id);
  wait_for(p.a, has_fired, &other, "a later timer");
  assert_int_equal(atomic_load(&f.count), 0);
  pair_free(&p);
}

typedef struct order_log {
  akt_backend *b;
  pthread_mutex_t lock;
  uint64_t seen[8];
  int n;
} order_log;

static void on_ordered(void *arg, uint64_t cookie) {
  order_log *o = arg;
  pthread_mutex_lock(&o->lock);
  o->seen[o->n++] = cookie;
  pthread_mutex_unlock(&o->lock);
  o->b->ops->wake(o->b);
}

static int all_four(void *arg) {
  order_log *o = arg;
  pthread_mutex_lock(&o->lock);
  int n = o->n;
  pthread_mutex_unlock(&o->lock);
  return n == 4;
}

static void timers_fire_in_deadline_order(void **state) {
  (void)state;
  pair p = pair_new();
  order_log o = {.b = p.a, .lock = PTHREAD_MUTEX_INITIALIZER};
  /* Far enough apart that libuv's loop orders them by deadline however
   * late this thread starts each one (each starts after the one before). */
  const uint64_t delays[] = {400, 100, 300, 200};
  uint64_t id;
  for (int i = 0; i < 4; i++)
    assert_int_equal(p.a->ops->timer_start(p.a, AKT_MILLIS(delays[i]), on_ordered, &o, delays[i], &id), 0);
  wait_for(p.a, all_four, &o, "four timers");
  if (API_SIM()) {
    const uint64_t want[] = {100, 200, 300, 400};
    for (int i = 0; i < 4; i++) assert_int_equal(o.seen[i], want[i]);
  }
  pair_free(&p);
}

/* Where and when a callback ran: on which thread, and whether the
 * operation that registered it had returned. */
typedef struct reentry {
  akt_backend *b;
  pthread_t caller;
  atomic_int returned, ran, inside, same_thread;
} reentry;

static void note_reentry(reentry *r) {
  if (!atomic_load(&r->returned)) atomic_fetch_add(&r->inside, 1);
  if (pthread_equal(pthread_self(), r->caller)) atomic_fetch_add(&r->same_thread, 1);
  atomic_fetch_add(&r->ran, 1);
  r->b->ops->wake(r->b);
}

static void reentry_timer(void *arg, uint64_t cookie) {
  (void)cookie;
  note_reentry(arg);
}

static void reentry_work(void *arg) { note_reentry(arg); }

static void reentry_resolved(int status, const akt_addr *addrs, size_t n, void *data) {
  (void)status;
  (void)addrs;
  (void)n;
  note_reentry(data);
}

static int reentry_ran(void *arg) { return atomic_load(&((reentry *)arg)->ran) > 0; }

static void no_callback_runs_inside_the_call_that_registered_it(void **state) {
  (void)state;
  pair p = pair_new();
  reentry r[3];
  for (int i = 0; i < 3; i++) r[i] = (reentry){.b = p.a, .caller = pthread_self()};
  uint64_t id;
  assert_int_equal(p.a->ops->timer_start(p.a, 0, reentry_timer, &r[0], 0, &id), 0);
  atomic_store(&r[0].returned, 1);
  assert_int_equal(p.a->ops->offload(p.a, reentry_work, &r[1]), 0);
  atomic_store(&r[1].returned, 1);
  assert_int_equal(p.a->ops->resolve(p.a, p.host_a, reentry_resolved, &r[2]), 0);
  atomic_store(&r[2].returned, 1);
  for (int i = 0; i < 3; i++) {
    wait_for(p.a, reentry_ran, &r[i], "a callback");
    /* The simulator runs them in a later step, on this thread; libuv on
     * its own threads, never the caller's. */
    if (API_SIM())
      assert_int_equal(atomic_load(&r[i].inside), 0);
    else
      assert_int_equal(atomic_load(&r[i].same_thread), 0);
  }
  pair_free(&p);
}

/* ---- wait, schedule, offload ---------------------------------------------------- */

static void wait_returns_etimedout_at_its_deadline(void **state) {
  (void)state;
  pair p = pair_new();
  uint64_t t0 = p.a->ops->now(p.a);
  assert_int_equal(p.a->ops->wait(p.a, never, NULL, t0 + AKT_MILLIS(20)), AKT_ETIMEDOUT);
  assert_true(p.a->ops->now(p.a) >= t0 + AKT_MILLIS(20));
  pair_free(&p);
}

typedef struct ran {
  akt_runnable r; /* first: the runnable is the struct */
  akt_backend *b;
  atomic_int count;
} ran;

static void run_once(akt_runnable *self) {
  ran *x = (ran *)self;
  atomic_fetch_add(&x->count, 1);
  x->b->ops->wake(x->b);
}

static int ran_once(void *arg) { return atomic_load(&((ran *)arg)->count) == 1; }

static void offloaded(void *arg) {
  ran *x = arg;
  atomic_fetch_add(&x->count, 1);
  x->b->ops->wake(x->b);
}

static void a_runnable_and_offloaded_work_run_once(void **state) {
  (void)state;
  pair p = pair_new();
  ran x = {.r = {.run = run_once}, .b = p.a};
  p.a->ops->schedule(p.a, &x.r);
  wait_for(p.a, ran_once, &x, "the runnable");
  ran y = {.b = p.a};
  assert_int_equal(p.a->ops->offload(p.a, offloaded, &y), 0);
  wait_for(p.a, ran_once, &y, "the offloaded work");
  p.a->ops->wait(p.a, never, NULL, p.a->ops->now(p.a) + AKT_MILLIS(20));
  assert_int_equal(atomic_load(&x.count), 1);
  assert_int_equal(atomic_load(&y.count), 1);
  pair_free(&p);
}

/* ---- name resolution ----------------------------------------------------------- */

typedef struct resolved {
  akt_backend *b;
  atomic_int done;
  int status;
  size_t n;
  akt_addr first;
} resolved;

static void on_resolved(int status, const akt_addr *addrs, size_t n, void *data) {
  resolved *r = data;
  r->status = status;
  r->n = n;
  if (n) r->first = addrs[0];
  atomic_store(&r->done, 1);
  r->b->ops->wake(r->b);
}

static int is_done(void *arg) { return atomic_load(&((resolved *)arg)->done); }

static void a_name_resolves_to_addresses_once(void **state) {
  (void)state;
  pair p = pair_new();
  resolved r = {.b = p.a};
  assert_int_equal(p.a->ops->resolve(p.a, p.host_b, on_resolved, &r), 0);
  wait_for(p.a, is_done, &r, "the resolution");
  assert_int_equal(r.status, 0);
  assert_true(r.n >= 1);
  assert_int_equal(r.first.port, 0);
  if (API_SIM()) {
    resolved none = {.b = p.a};
    assert_int_equal(p.a->ops->resolve(p.a, "no-such-node", on_resolved, &none), 0);
    wait_for(p.a, is_done, &none, "the failed resolution");
    assert_int_equal(none.status, AKT_ENOENT);
    assert_int_equal(none.n, 0);
  }
  pair_free(&p);
}

/* ---- streams ------------------------------------------------------------------- */

typedef struct end {
  akt_backend *b;
  pthread_mutex_t lock;
  akt_stream *s;
  int connect_status, connected;
  char got[256];
  size_t len;
  int closed, close_reason;
} end;

typedef struct server {
  akt_backend *b;
  end accepted;
  int start_rc; /* what stream_start said (on the loop thread: no assert there) */
} server;

static void e_connect(akt_stream *s, int status, void *data) {
  end *e = data;
  (void)s;
  pthread_mutex_lock(&e->lock);
  e->connect_status = status;
  e->connected = 1;
  pthread_mutex_unlock(&e->lock);
  e->b->ops->wake(e->b);
}

static void e_read(akt_stream *s, const uint8_t *buf, size_t len, void *data) {
  end *e = data;
  (void)s;
  pthread_mutex_lock(&e->lock);
  if (e->len + len < sizeof e->got) {
    memcpy(e->got + e->len, buf, len);
    e->len += len;
  }
  pthread_mutex_unlock(&e->lock);
  e->b->ops->wake(e->b);
}

static void e_close(akt_stream *s, int reason, void *data) {
  end *e = data;
  (void)s;
  pthread_mutex_lock(&e->lock);
  e->closed++;
  e->close_reason = reason;
  pthread_mutex_unlock(&e->lock);
  e->b->ops->wake(e->b);
}

static const akt_stream_cbs end_cbs = {.on_connect = e_connect, .on_read = e_read,
                                       .on_close = e_close};

static void on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  server *srv = data;
  pthread_mutex_lock(&srv->accepted.lock);
  srv->accepted.s = s;
  pthread_mutex_unlock(&srv->accepted.lock);
  int rc = srv->b->ops->stream_start(srv->b, s, &end_cbs, &srv->accepted);
  pthread_mutex_lock(&srv->accepted.lock);
  srv->start_rc = rc;
  pthread_mutex_unlock(&srv->accepted.lock);
  srv->b->ops->wake(srv->b);
}

typedef struct expect_bytes {
  end *e;
  const char *want;
} expect_bytes;

static int has_bytes(void *arg) {
  expect_bytes *x = arg;
  pthread_mutex_lock(&x->e->lock);
  int ok = x->e->len == strlen(x->want) && memcmp(x->e->got, x->want, x->e->len) == 0;
  pthread_mutex_unlock(&x->e->lock);
  return ok;
}

static int is_connected(void *arg) {
  end *e = arg;
  pthread_mutex_lock(&e->lock);
  int c = e->connected;
  pthread_mutex_unlock(&e->lock);
  return c;
}

static int is_closed(void *arg) {
  end *e = arg;
  pthread_mutex_lock(&e->lock);
  int c = e->closed;
  pthread_mutex_unlock(&e->lock);
  return c;
}

static void a_stream_carries_bytes_in_order_both_ways_and_closes_once(void **state) {
  (void)state;
  pair p = pair_new();
  server srv = {.b = p.b, .accepted = {.b = p.b, .lock = PTHREAD_MUTEX_INITIALIZER}};
  akt_addr at = {.port = 0};
  snprintf(at.host, sizeof at.host, "%s", p.host_b);
  akt_listener *l = NULL;
  assert_int_equal(p.b->ops->listen(p.b, &at, on_accept, &srv, &l), 0);
  akt_addr bound;
  assert_int_equal(p.b->ops->listener_addr(p.b, l, &bound), 0);
  assert_true(bound.port != 0); /* port 0 picked one */
  /* The port is taken now. */
  akt_listener *again = NULL;
  assert_int_equal(p.b->ops->listen(p.b, &bound, on_accept, &srv, &again), AKT_EEXIST);

  end client = {.b = p.a, .lock = PTHREAD_MUTEX_INITIALIZER};
  akt_stream *cs = NULL;
  assert_int_equal(p.a->ops->connect(p.a, &bound, &end_cbs, &client, &cs), 0);
  /* Usable at once: bytes wait until connected. */
  assert_int_equal(p.a->ops->stream_write(p.a, cs, (const uint8_t *)"hello ", 6), 0);
  assert_int_equal(p.a->ops->stream_write(p.a, cs, (const uint8_t *)"world", 5), 0);
  wait_for(p.a, is_connected, &client, "the connect");
  assert_int_equal(client.connect_status, 0);
  wait_for(p.b, has_bytes, &(expect_bytes){&srv.accepted, "hello world"}, "the bytes");
  akt_addr peer;
  pthread_mutex_lock(&srv.accepted.lock);
  akt_stream *ss = srv.accepted.s;
  assert_int_equal(srv.start_rc, 0);
  pthread_mutex_unlock(&srv.accepted.lock);
  assert_int_equal(p.b->ops->stream_peer(p.b, ss, &peer), 0);
  assert_int_equal(p.b->ops->stream_write(p.b, ss, (const uint8_t *)"back", 4), 0);
  wait_for(p.a, has_bytes, &(expect_bytes){&client, "back"}, "the answer");
  /* Closing: 0 on this end, AKT_ECLOSED on the other; each once. */
  p.a->ops->stream_close(p.a, cs);
  p.a->ops->stream_close(p.a, cs); /* safe twice */
  wait_for(p.a, is_closed, &client, "the local close");
  wait_for(p.b, is_closed, &srv.accepted, "the remote close");
  assert_int_equal(client.close_reason, 0);
  assert_int_equal(srv.accepted.close_reason, AKT_ECLOSED);
  p.a->ops->wait(p.a, never, NULL, p.a->ops->now(p.a) + AKT_MILLIS(20));
  assert_int_equal(client.closed, 1);
  assert_int_equal(srv.accepted.closed, 1);
  p.b->ops->listener_close(p.b, l);
  pair_free(&p);
}

static void a_connect_to_nobody_fails_then_closes(void **state) {
  (void)state;
  pair p = pair_new();
  /* A port that was free a moment ago (libuv), or a node nobody listens
   * on (simulator). */
  akt_addr at = {.port = 0};
  snprintf(at.host, sizeof at.host, "%s", p.host_b);
  server srv = {.b = p.b, .accepted = {.b = p.b, .lock = PTHREAD_MUTEX_INITIALIZER}};
  akt_listener *l = NULL;
  assert_int_equal(p.b->ops->listen(p.b, &at, on_accept, &srv, &l), 0);
  assert_int_equal(p.b->ops->listener_addr(p.b, l, &at), 0);
  p.b->ops->listener_close(p.b, l);
  end client = {.b = p.a, .lock = PTHREAD_MUTEX_INITIALIZER};
  akt_stream *cs = NULL;
  assert_int_equal(p.a->ops->connect(p.a, &at, &end_cbs, &client, &cs), 0);
  wait_for(p.a, is_closed, &client, "the failed connect's close");
  assert_true(client.connected);
  assert_true(client.connect_status == AKT_EREFUSED || client.connect_status == AKT_EUNREACH ||
              client.connect_status == AKT_ETIMEDOUT);
  assert_int_equal(client.closed, 1);
  pair_free(&p);
}

/* ---- datagrams --------------------------------------------------------------- */

typedef struct inbox {
  akt_backend *b;
  pthread_mutex_t lock;
  char got[64];
  size_t len;
  akt_addr from;
  int n;
} inbox;

static void on_dgram(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                     void *data) {
  (void)d;
  inbox *in = data;
  pthread_mutex_lock(&in->lock);
  if (len < sizeof in->got) {
    memcpy(in->got, buf, len);
    in->len = len;
  }
  in->from = *from;
  in->n++;
  pthread_mutex_unlock(&in->lock);
  in->b->ops->wake(in->b);
}

static int got_one(void *arg) {
  inbox *in = arg;
  pthread_mutex_lock(&in->lock);
  int n = in->n;
  pthread_mutex_unlock(&in->lock);
  return n >= 1;
}

static void a_datagram_arrives_with_the_senders_address(void **state) {
  (void)state;
  pair p = pair_new();
  inbox ia = {.b = p.a, .lock = PTHREAD_MUTEX_INITIALIZER};
  inbox ib = {.b = p.b, .lock = PTHREAD_MUTEX_INITIALIZER};
  akt_addr aa = {.port = 0}, ab = {.port = 0};
  snprintf(aa.host, sizeof aa.host, "%s", p.host_a);
  snprintf(ab.host, sizeof ab.host, "%s", p.host_b);
  akt_dgram *da = NULL, *db = NULL;
  assert_int_equal(p.a->ops->dgram_open(p.a, &aa, on_dgram, &ia, &da), 0);
  assert_int_equal(p.b->ops->dgram_open(p.b, &ab, on_dgram, &ib, &db), 0);
  assert_int_equal(p.a->ops->dgram_addr(p.a, da, &aa), 0);
  assert_int_equal(p.b->ops->dgram_addr(p.b, db, &ab), 0);
  assert_true(aa.port != 0 && ab.port != 0);
  assert_int_equal(p.a->ops->dgram_send(p.a, da, &ab, (const uint8_t *)"ping", 4), 0);
  wait_for(p.b, got_one, &ib, "the datagram");
  pthread_mutex_lock(&ib.lock);
  assert_int_equal(ib.len, 4);
  assert_memory_equal(ib.got, "ping", 4);
  assert_int_equal(ib.from.port, aa.port);
  pthread_mutex_unlock(&ib.lock);
  p.a->ops->dgram_close(p.a, da);
  p.b->ops->dgram_close(p.b, db);
  pair_free(&p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(the_clock_never_goes_back_and_the_wall_clock_is_since_the_epoch),
    cmocka_unit_test(a_timer_fires_once_after_its_delay_with_its_cookie),
    cmocka_unit_test(a_timer_cancelled_in_time_never_fires),
    cmocka_unit_test(timers_fire_in_deadline_order),
    cmocka_unit_test(no_callback_runs_inside_the_call_that_registered_it),
    cmocka_unit_test(wait_returns_etimedout_at_its_deadline),
    cmocka_unit_test(a_runnable_and_offloaded_work_run_once),
    cmocka_unit_test(a_name_resolves_to_addresses_once),
    cmocka_unit_test(a_stream_carries_bytes_in_order_both_ways_and_closes_once),
    cmocka_unit_test(a_connect_to_nobody_fails_then_closes),
    cmocka_unit_test(a_datagram_arrives_with_the_senders_address),
};

AKT_TEST_MAIN_BOTH("api-backend", tests)
