/* akt — stash: put the current message aside, take it back later.
 *
 * Stashed envelopes wait in a bounded array; unstashing moves them, oldest
 * first, to the cell's front queue, which the turn drains before the
 * mailbox — so unstashed messages come before anything still queued.
 */
#include <stdlib.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/assert.h"
#include "src/util/grow.h"

/* A stash's first room; it doubles from there up to its capacity. */
#define STASH_INITIAL_CAPACITY 8

static uint32_t capacity(akt__cell_ext *x) {
  return x->opts.stash_capacity ? x->opts.stash_capacity : AKT_DEFAULT_STASH_CAPACITY;
}

int akt_stash(akt_ctx *ctx) {
  if (!ctx) return AKT_EINVAL;
  akt__env *env = ctx->cur;
  if (!env || !env->msg || (env->flags & AKT__ENV_REPLY)) return AKT_ESTATE;
  akt__cell_ext *x = akt__cell_ext_get(ctx);
  if (!x) return AKT_ENOMEM;
  int rc = akt__grow(&x->stash, sizeof *x->stash, x->nstash, &x->cap_stash,
                     STASH_INITIAL_CAPACITY, capacity(x));
  if (rc) return rc == AKT_ELIMIT ? AKT_EFULL : rc;
  /* It outlives the turn: out of the mailbox's slots (mailq.h). */
  env = akt__env_detach(env);
  if (!env) return AKT_ENOMEM;
  /* It was accepted once (timer generation, watch): do not check again. */
  env->flags = (env->flags & ~AKT__ENV_TIMER) | AKT__ENV_REDELIVERED;
  x->stash[x->nstash++] = env;
  AKT_ASSERT(x->nstash <= capacity(x) && x->nstash <= x->cap_stash);
  ctx->cur = NULL; /* the turn must not free it */
  return 0;
}

/* Appends env to the front queue. */
static void to_front(akt__cell_ext *x, akt__env *env) {
  AKT_ASSERT((x->front_head == NULL) == (x->front_tail == NULL));
  AKT_ASSERT(env->flags & AKT__ENV_REDELIVERED);
  env->link = NULL;
  if (x->front_tail)
    x->front_tail->link = env;
  else
    x->front_head = env;
  x->front_tail = env;
}

int akt_unstash(akt_ctx *ctx) {
  if (!ctx) return AKT_EINVAL;
  akt__cell_ext *x = ctx->ext;
  if (!x || x->nstash == 0) return AKT_ENOENT;
  to_front(x, x->stash[0]);
  for (uint32_t i = 1; i < x->nstash; i++) x->stash[i - 1] = x->stash[i];
  x->nstash--;
  return 0;
}

int akt_unstash_all(akt_ctx *ctx) {
  if (!ctx) return AKT_EINVAL;
  akt__cell_ext *x = ctx->ext;
  if (!x) return 0;
  int n = (int)x->nstash;
  for (uint32_t i = 0; i < x->nstash; i++) to_front(x, x->stash[i]);
  x->nstash = 0;
  return n;
}

size_t akt_stash_size(akt_ctx *ctx) { return ctx && ctx->ext ? ctx->ext->nstash : 0; }

void akt__stash_drop_all(akt__cell *c) {
  akt__cell_ext *x = c->ext;
  if (!x) return;
  for (uint32_t i = 0; i < x->nstash; i++)
    akt__dead_letter(c->sys, akt__self(c), x->stash[i], "stashed at termination");
  x->nstash = 0;
}

void akt__stash_requeue_all(akt__cell *c) { akt_unstash_all(c); }
