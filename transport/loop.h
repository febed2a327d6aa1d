/* akt production backend — the loop thread and its request queue (internal).
 *
 * One thread owns the uv_loop_t; libuv is not thread-safe, so every other
 * thread hands work to it as an akt__uv_req pushed on a locked FIFO and
 * announced with uv_async_send. Requests are intrusive: the object that needs
 * the loop (a stream, a timer, a datagram send) embeds its request, so
 * posting never allocates.
 */
#ifndef AKT_TRANSPORT_LOOP_H
#define AKT_TRANSPORT_LOOP_H

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

typedef struct akt__uv_backend akt__uv_backend;
typedef struct akt__uv_req akt__uv_req;
typedef struct akt__uv_call akt__uv_call;
typedef struct akt__uv_loop akt__uv_loop;

/* Bytes of the loop thread's shared read buffer: every TCP read and UDP
 * receive lands here, so it must hold the largest UDP datagram. */
#define AKT__UV_READBUF_SIZE 65536

/* One unit of work for the loop thread. The poster owns the memory; while the
 * request is queued the loop owns `next`. `run` is called once, on the loop
 * thread, and may free the request. */
struct akt__uv_req {
  akt__uv_req *next;
  void (*run)(akt__uv_req *req);
};

/* A request whose poster blocks until it has run (see akt__uv_loop_call). */
struct akt__uv_call {
  akt__uv_req req;
  akt__uv_loop *loop;
  void (*fn)(akt__uv_call *call); /* runs on the loop thread */
  int done;                       /* guarded by loop->mu */
};

/* The first member of every object a uv handle's `data` points at, so the
 * shutdown walk can close any handle without knowing what owns it. */
typedef struct akt__uv_owner {
  uv_close_cb close_cb; /* frees the owner; must not call the user */
} akt__uv_owner;

struct akt__uv_loop {
  akt__uv_backend *backend;
  uv_loop_t uv;
  uv_async_t async;
  pthread_t thread;
  uint8_t *readbuf; /* AKT__UV_READBUF_SIZE bytes; loop thread only */
  void *resolves;   /* in-flight name lookups (resolve.c); loop thread only */
  void *works;      /* in-flight offloaded work (offload.c); loop thread only */

  /* Set on the loop thread once akt__uv_loop_stop asked it to close
   * everything: requests that run afterwards release their resources and
   * create no handle, and close callbacks stay silent. */
  int closing_all;

  /* Guards the fields below. Second in the backend's lock order
   * (uv_backend.h): taken under a stream's mu, never around another lock
   * or a callback. */
  pthread_mutex_t mu;
  pthread_cond_t call_cv;
  akt__uv_req *head, *tail;
  int stop;         /* akt__uv_loop_stop was called */
  int async_closed; /* the async handle is closing: no more uv_async_send */
  int closed;       /* the final drain ran: posts are refused */
};

/* Initializes the loop and starts its thread. Returns 0 or AKT_EBACKEND /
 * AKT_ENOMEM; on failure nothing is left to free. */
int akt__uv_loop_start(akt__uv_loop *loop, akt__uv_backend *b);

/* Runs every queued request, closes every handle (their owners are freed
 * without user callbacks), waits for in-flight lookups, closes the uv loop
 * and joins the thread. Called once, from a non-backend thread. */
void akt__uv_loop_stop(akt__uv_loop *loop);

/* Queues `req` for the loop thread; callable from any thread, including the
 * loop thread (it then runs on a later iteration, never inline). Returns 0,
 * or AKT_ESTOPPED once the loop has shut down (`req` was not queued). */
int akt__uv_loop_post(akt__uv_loop *loop, akt__uv_req *req);

/* Runs call->fn on the loop thread and returns after it ran: inline when the
 * caller is the loop thread, otherwise by posting and blocking. Returns 0 or
 * AKT_ESTOPPED (fn did not run). */
int akt__uv_loop_call(akt__uv_loop *loop, akt__uv_call *call, void (*fn)(akt__uv_call *));

/* Non-zero when the calling thread is this loop's thread. */
int akt__uv_on_loop(const akt__uv_loop *loop);

/* Closes `h` unless it is already closing, with its owner's close_cb. */
void akt__uv_close_handle(uv_handle_t *h);

#endif
