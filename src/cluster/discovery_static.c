/* akt — the static discovery provider: a fixed list of seed addresses.
 *
 * Its answer is known at once, but it still comes through a zero-delay
 * backend timer: a provider never calls back from inside lookup, so the
 * cluster never sees its own call re-entered (akt/discovery.h).
 */
#include <stdlib.h>
#include <string.h>

#include "akt/discovery.h"
#include "akt/error.h"

typedef struct static_disc {
  akt_discovery d;
  akt_addr *seeds;
  size_t n;
  akt_backend *b;
  uint64_t timer;     /* the pending answer, 0 when none */
  akt_discovery_fn cb;
  void *arg;
} static_disc;

static void answer(void *arg, uint64_t cookie) {
  (void)cookie;
  static_disc *s = arg;
  akt_discovery_fn cb = s->cb;
  void *cb_arg = s->arg;
  s->timer = 0;
  s->cb = NULL;
  if (cb) cb(0, s->seeds, s->n, cb_arg);
}

static int lookup(akt_discovery *d, akt_backend *b, akt_discovery_fn cb, void *arg) {
  static_disc *s = d->impl;
  if (!cb) return AKT_EINVAL;
  if (s->timer) return AKT_ESTATE;
  s->b = b;
  s->cb = cb;
  s->arg = arg;
  int rc = b->ops->timer_start(b, 0, answer, s, 0, &s->timer);
  if (rc) {
    s->timer = 0;
    s->cb = NULL;
  }
  return rc;
}

static void cancel(akt_discovery *d, akt_backend *b) {
  static_disc *s = d->impl;
  /* If the timer is firing right now (ENOENT) it is on the I/O context,
   * where cancel also runs, so it has finished: nothing is left to undo. */
  if (s->timer) b->ops->timer_cancel(b, s->timer);
  s->timer = 0;
  s->cb = NULL;
}

static void destroy(akt_discovery *d) {
  static_disc *s = d->impl;
  free(s->seeds);
  free(s);
}

static const akt_discovery_ops static_ops = {
    .name = "static", .lookup = lookup, .cancel = cancel, .free = destroy};

int akt_discovery_static_new(const akt_addr *seeds, size_t n, akt_discovery **out) {
  if (!out || (n && !seeds)) return AKT_EINVAL;
  if (n > AKT_DISCOVERY_MAX_ADDRS) return AKT_ELIMIT;
  for (size_t i = 0; i < n; i++) {
    size_t len = strnlen(seeds[i].host, AKT_HOST_MAX);
    if (len == 0 || len == AKT_HOST_MAX || seeds[i].port == 0) return AKT_EINVAL;
  }
  static_disc *s = calloc(1, sizeof *s);
  if (!s) return AKT_ENOMEM;
  if (n) {
    s->seeds = malloc(n * sizeof *s->seeds);
    if (!s->seeds) {
      free(s);
      return AKT_ENOMEM;
    }
    memcpy(s->seeds, seeds, n * sizeof *s->seeds);
  }
  s->n = n;
  s->d.ops = &static_ops;
  s->d.impl = s;
  *out = &s->d;
  return 0;
}
