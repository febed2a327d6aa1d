/* akt production backend — one-shot timers (internal).
 *
 * Each timer is an entry in a locked id -> entry table plus, once the loop
 * thread has armed it, a uv_timer_t. The table is what makes cancel
 * exactly-once: whoever removes the entry from the table under the lock
 * decides its fate. The loop thread removing it means the callback runs;
 * timer_cancel removing it means it never will.
 */
#ifndef AKT_TRANSPORT_TIMERS_H
#define AKT_TRANSPORT_TIMERS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"

typedef struct akt__uv_timer akt__uv_timer;

/* Buckets of the id table: it starts at MIN and doubles while entries
 * outnumber buckets, up to MAX (beyond which chains just grow longer). */
#define AKT__UV_TIMER_BUCKETS_MIN 64u
#define AKT__UV_TIMER_BUCKETS_MAX (1u << 22)

typedef struct akt__uv_timers {
  /* Guards everything below and each entry's state. A leaf (uv_backend.h):
   * a timer's kick is posted and its callback runs after it is released. */
  pthread_mutex_t mu;
  akt__uv_timer **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;    /* entries in the table: started, neither fired nor canceled */
  uint64_t last_id;
} akt__uv_timers;

/* Prepares an empty table. Returns 0 or AKT_ENOMEM / AKT_EBACKEND. */
int akt__uv_timers_init(akt__uv_timers *t);

/* Frees the table once the loop has stopped (the loop's shutdown already
 * freed every entry). */
void akt__uv_timers_destroy(akt__uv_timers *t);

/* akt_backend_ops.timer_start. Returns 0, AKT_EINVAL, AKT_ENOMEM or
 * AKT_ESTOPPED. *id is written before the timer can fire (its callback,
 * on the loop thread, may read it or start the next timer into it); it is
 * 0 after AKT_ESTOPPED. */
int akt__uv_timer_start(akt_backend *b, akt_duration delay, akt_timer_fn fn, void *arg,
                        uint64_t cookie, uint64_t *id);

/* akt_backend_ops.timer_cancel. Returns 0 (the callback will never run) or
 * AKT_ENOENT (it ran, is running, or `id` is unknown). */
int akt__uv_timer_cancel(akt_backend *b, uint64_t id);

#endif
