/* akt production backend — blocking work on libuv's thread pool.
 *
 * ops.offload posts a request to the loop thread, which hands the function
 * to uv_queue_work; it runs on a pool thread (never a worker, so a blocked
 * function does not stall actors). Work in flight is linked on the loop so
 * shutdown can cancel what has not started; canceled work then runs on the
 * loop thread instead, because an accepted function always runs once (its
 * owner may free `arg` only there, include/akt/backend.h), and at shutdown
 * its owner has let go of it and it returns at once.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "transport/net.h"
#include "transport/uv_backend.h"

typedef struct work_req work_req;
struct work_req {
  akt__uv_req req; /* first: posted to the loop */
  akt__uv_backend *u;
  uv_work_t work;
  void (*fn)(void *arg);
  void *arg;
  work_req *prev, *next; /* loop->works; loop thread only */
};

static void work_unlink(work_req *w) {
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    w->u->loop.works = w->next;
  if (w->next != NULL) w->next->prev = w->prev;
  w->prev = w->next = NULL;
}

static void work_run_on_pool(uv_work_t *work) {
  work_req *w = work->data;
  w->fn(w->arg);
}

static void work_done(uv_work_t *work, int status) {
  work_req *w = work->data;
  work_unlink(w);
  if (status == UV_ECANCELED) w->fn(w->arg); /* shutdown canceled it before it started */
  free(w);
}

static void work_start(akt__uv_req *req) {
  work_req *w = (work_req *)req;
  akt__uv_loop *loop = &w->u->loop;
  if (loop->closing_all) {
    w->fn(w->arg);
    free(w);
    return;
  }
  w->work.data = w;
  if (uv_queue_work(&loop->uv, &w->work, work_run_on_pool, work_done) != 0) {
    /* Cannot happen with a live loop; run it here rather than lose it. */
    w->fn(w->arg);
    free(w);
    return;
  }
  w->prev = NULL;
  w->next = loop->works;
  if (w->next != NULL) w->next->prev = w;
  loop->works = w;
}

int akt__uv_offload(akt_backend *b, void (*fn)(void *arg), void *arg) {
  akt__uv_backend *u = akt__uv_of(b);
  if (fn == NULL) return AKT_EINVAL;
  if (atomic_load(&u->stopping)) return AKT_ESTOPPED;
  work_req *w = calloc(1, sizeof *w);
  if (w == NULL) return AKT_ENOMEM;
  w->req.run = work_start;
  w->u = u;
  w->fn = fn;
  w->arg = arg;
  if (akt__uv_loop_post(&u->loop, &w->req) != 0) {
    free(w);
    return AKT_ESTOPPED;
  }
  return 0;
}

void akt__uv_offload_cancel_all(akt__uv_loop *loop) {
  for (work_req *w = loop->works; w != NULL; w = w->next) uv_cancel((uv_req_t *)&w->work);
}
