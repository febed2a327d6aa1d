/* akt — the turn's context: accessors and behaviours (become/unbecome). */
#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/actor/ext.h"
#include "src/system/system.h"
#include "src/util/assert.h"

void *akt_ctx_state(akt_ctx *ctx) { return ctx ? ctx->state : NULL; }

akt_pid *akt_ctx_self(akt_ctx *ctx) { return ctx ? akt__self(ctx) : NULL; }

akt_pid *akt_ctx_sender(akt_ctx *ctx) { return ctx && ctx->cur ? ctx->cur->sender : NULL; }

akt_pid *akt_ctx_parent(akt_ctx *ctx) { return ctx ? ctx->parent : NULL; }

akt_system *akt_ctx_system(akt_ctx *ctx) { return ctx ? ctx->sys : NULL; }

const void *akt_ctx_arg(akt_ctx *ctx) { return ctx ? ctx->arg : NULL; }

uint64_t akt_ctx_now(akt_ctx *ctx) {
  akt_backend *b = ctx->sys->backend;
  return b->ops->now(b);
}

uint64_t akt_ctx_random(akt_ctx *ctx) {
  akt_backend *b = ctx->sys->backend;
  return b->ops->random_u64(b);
}

int akt_become(akt_ctx *ctx, akt_receive_fn fn, int discard_old) {
  if (!ctx || !fn) return AKT_EINVAL;
  akt__cell_ext *x = akt__cell_ext_get(ctx);
  if (!x) return AKT_ENOMEM;
  if (discard_old && x->nbehaviors > 0) {
    x->behaviors[x->nbehaviors - 1] = fn;
    return 0;
  }
  if (x->nbehaviors >= AKT_MAX_BEHAVIORS) return AKT_ELIMIT;
  x->behaviors[x->nbehaviors++] = fn;
  AKT_ASSERT(x->nbehaviors <= AKT_MAX_BEHAVIORS);
  return 0;
}

int akt_unbecome(akt_ctx *ctx) {
  if (!ctx) return AKT_EINVAL;
  if (!ctx->ext || ctx->ext->nbehaviors == 0) return AKT_ESTATE;
  ctx->ext->nbehaviors--;
  return 0;
}
