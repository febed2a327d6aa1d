/* akt production backend — the loop thread and its request queue.
 *
 * The loop thread runs uv_run until shutdown. Other threads never touch the
 * uv_loop_t: they push requests on a locked FIFO and wake the loop with
 * uv_async_send, which libuv documents as the one thread-safe call. The async
 * callback runs the requests that were queued when it started; requests
 * posted meanwhile trigger another async callback on the next iteration, so
 * no request can starve the loop's own I/O.
 */
#include "transport/loop.h"

#include <signal.h>
#include <stdlib.h>

#include "akt/error.h"
#include "transport/net.h"
#include "transport/uv_backend.h"

int akt__uv_on_loop(const akt__uv_loop *loop) { return akt__uv_thread_marker == (const void *)loop; }

void akt__uv_close_handle(uv_handle_t *h) {
  if (uv_is_closing(h)) return;
  akt__uv_owner *owner = h->data;
  uv_close(h, owner != NULL ? owner->close_cb : NULL);
}

int akt__uv_loop_post(akt__uv_loop *loop, akt__uv_req *req) {
  req->next = NULL;
  pthread_mutex_lock(&loop->mu);
  if (loop->closed) {
    pthread_mutex_unlock(&loop->mu);
    return AKT_ESTOPPED;
  }
  if (loop->tail != NULL)
    loop->tail->next = req;
  else
    loop->head = req;
  loop->tail = req;
  /* Sent under the lock so it can never race with the loop thread closing
   * the async handle at shutdown (which sets async_closed under this lock).
   * Once async_closed is set only the loop thread posts, and its final drain
   * picks the request up. */
  if (!loop->async_closed) uv_async_send(&loop->async);
  pthread_mutex_unlock(&loop->mu);
  return 0;
}

/* Takes the whole queue. If `close_when_empty`, an empty queue also marks the
 * loop closed, atomically with the check, so no post can slip in between. */
static akt__uv_req *loop_take(akt__uv_loop *loop, int close_when_empty) {
  pthread_mutex_lock(&loop->mu);
  akt__uv_req *req = loop->head;
  loop->head = loop->tail = NULL;
  if (req == NULL && close_when_empty) loop->closed = 1;
  pthread_mutex_unlock(&loop->mu);
  return req;
}

static void loop_run_list(akt__uv_req *req) {
  while (req != NULL) {
    /* Read `next` first: run may free or re-post the request. */
    akt__uv_req *next = req->next;
    req->run(req);
    req = next;
  }
}

static void loop_walk_close(uv_handle_t *h, void *arg) {
  akt__uv_loop *loop = arg;
  if (h == (uv_handle_t *)&loop->async) {
    if (!uv_is_closing(h)) uv_close(h, NULL);
    return;
  }
  akt__uv_close_handle(h);
}

/* Shutdown, on the loop thread: run what is queued (in closing_all mode, so
 * it only releases resources), then close every handle. uv_run returns once
 * the close callbacks have freed their owners and lookups have finished. */
static void loop_begin_shutdown(akt__uv_loop *loop) {
  loop->closing_all = 1;
  akt__uv_req *req;
  while ((req = loop_take(loop, 0)) != NULL) loop_run_list(req);
  akt__uv_resolve_cancel_all(loop);
  akt__uv_offload_cancel_all(loop);
  pthread_mutex_lock(&loop->mu);
  loop->async_closed = 1;
  pthread_mutex_unlock(&loop->mu);
  uv_walk(&loop->uv, loop_walk_close, loop);
}

static void loop_async_cb(uv_async_t *async) {
  akt__uv_loop *loop = async->data;
  loop_run_list(loop_take(loop, 0));
  pthread_mutex_lock(&loop->mu);
  int stop = loop->stop;
  pthread_mutex_unlock(&loop->mu);
  if (stop && !loop->closing_all) loop_begin_shutdown(loop);
}

static void *loop_main(void *arg) {
  akt__uv_loop *loop = arg;
  akt__uv_thread_marker = loop;
  /* libuv writes to sockets with plain write(2): a peer's reset would raise
   * SIGPIPE and kill the process. Blocked in this thread, the only one that
   * writes to sockets, the write fails with EPIPE instead, and the process's
   * signal dispositions stay the application's business. */
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
  uv_run(&loop->uv, UV_RUN_DEFAULT);
  /* Requests the loop thread posted to itself while closing are still
   * queued; they run in closing_all mode. If one of them (a bug) opened a
   * handle, close it too rather than leak the loop. */
  for (int round = 0;; round++) {
    akt__uv_req *req;
    while ((req = loop_take(loop, 1)) != NULL) loop_run_list(req);
    if (!uv_loop_alive(&loop->uv) || round == 3) break;
    uv_walk(&loop->uv, loop_walk_close, loop);
    uv_run(&loop->uv, UV_RUN_DEFAULT);
  }
  int rc = uv_loop_close(&loop->uv);
  if (rc != 0)
    akt__uv_logf(loop->backend, AKT_LOG_ERROR, "akt-uv: uv_loop_close: %s", uv_strerror(rc));
  return NULL;
}

int akt__uv_loop_start(akt__uv_loop *loop, akt__uv_backend *b) {
  loop->backend = b;
  loop->readbuf = malloc(AKT__UV_READBUF_SIZE);
  if (loop->readbuf == NULL) return AKT_ENOMEM;
  if (uv_loop_init(&loop->uv) != 0) goto fail_buf;
  if (uv_async_init(&loop->uv, &loop->async, loop_async_cb) != 0) goto fail_loop;
  loop->async.data = loop;
  if (pthread_mutex_init(&loop->mu, NULL) != 0) goto fail_async;
  if (pthread_cond_init(&loop->call_cv, NULL) != 0) goto fail_mu;
  if (pthread_create(&loop->thread, NULL, loop_main, loop) != 0) goto fail_cv;
  return 0;

fail_cv:
  pthread_cond_destroy(&loop->call_cv);
fail_mu:
  pthread_mutex_destroy(&loop->mu);
fail_async:
  uv_close((uv_handle_t *)&loop->async, NULL);
  uv_run(&loop->uv, UV_RUN_DEFAULT);
fail_loop:
  uv_loop_close(&loop->uv);
fail_buf:
  free(loop->readbuf);
  loop->readbuf = NULL;
  return AKT_EBACKEND;
}

void akt__uv_loop_stop(akt__uv_loop *loop) {
  pthread_mutex_lock(&loop->mu);
  loop->stop = 1;
  uv_async_send(&loop->async);
  pthread_mutex_unlock(&loop->mu);
  pthread_join(loop->thread, NULL);
  pthread_cond_destroy(&loop->call_cv);
  pthread_mutex_destroy(&loop->mu);
  free(loop->readbuf);
  loop->readbuf = NULL;
}

static void loop_call_run(akt__uv_req *req) {
  akt__uv_call *call = (akt__uv_call *)req;
  call->fn(call);
  pthread_mutex_lock(&call->loop->mu);
  call->done = 1;
  pthread_cond_broadcast(&call->loop->call_cv);
  pthread_mutex_unlock(&call->loop->mu);
}

int akt__uv_loop_call(akt__uv_loop *loop, akt__uv_call *call, void (*fn)(akt__uv_call *)) {
  call->loop = loop;
  call->fn = fn;
  call->done = 0;
  if (akt__uv_on_loop(loop)) {
    fn(call);
    return 0;
  }
  call->req.run = loop_call_run;
  int rc = akt__uv_loop_post(loop, &call->req);
  if (rc != 0) return rc;
  pthread_mutex_lock(&loop->mu);
  while (!call->done) pthread_cond_wait(&loop->call_cv, &loop->mu);
  pthread_mutex_unlock(&loop->mu);
  return 0;
}
