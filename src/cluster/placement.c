/* akt — placement: candidates of a view and the SpawnOn choices.
 *
 * Every choice starts from the same list: the view's up members that have
 * the required roles, sorted by id bytewise. The sort is what makes a choice
 * independent of the order membership happened to store its members in;
 * nothing else (pointer values, array positions) ever decides.
 */
#include "src/cluster/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/cluster/partition.h"
#include "src/util/assert.h"

int akt__member_id_format(char *buf, size_t size, const char *name, const char *address,
                          uint64_t incarnation) {
  if (!buf || !name || !address || !*name || !*address) return AKT_EINVAL;
  int len = snprintf(buf, size, "%s@%s#%llu", name, address, (unsigned long long)incarnation);
  AKT_ASSERT(len > 0);
  if ((size_t)len >= size || len > AKT__MEMBER_ID_MAX) {
    if (size) buf[0] = '\0';
    return AKT_ELIMIT;
  }
  return 0;
}

/* Length of a name that must be 1..max bytes, or 0 when it is not. */
static size_t bounded_len(const char *s, size_t max) {
  if (!s) return 0;
  size_t len = strnlen(s, max + 1);
  return len > max ? 0 : len;
}

int akt__roles_check(const akt__roles *roles) {
  if (!roles) return AKT_EINVAL;
  if (roles->n == 0) return 0;
  if (!roles->names || roles->n > AKT__ROLES_MAX) return AKT_EINVAL;
  for (size_t i = 0; i < roles->n; i++) {
    if (!bounded_len(roles->names[i], AKT__ROLE_NAME_MAX)) return AKT_EINVAL;
    for (size_t j = 0; j < i; j++)
      if (strcmp(roles->names[i], roles->names[j]) == 0) return AKT_EINVAL;
  }
  return 0;
}

int akt__roles_cover(const akt__roles *have, const akt__roles *need) {
  if (!need) return 1;
  for (size_t i = 0; i < need->n; i++) {
    size_t j = 0;
    while (j < have->n && strcmp(have->names[j], need->names[i]) != 0) j++;
    if (j == have->n) return 0;
  }
  return 1;
}

static int by_id(const void *a, const void *b, void *arg) {
  const akt__member *view = arg;
  return strcmp(view[*(const uint32_t *)a].id, view[*(const uint32_t *)b].id);
}

int akt__placement_candidates(const akt__member *view, size_t n, const akt__roles *need,
                              uint32_t *idx, size_t *count) {
  if (!count || (n && (!view || !idx))) return AKT_EINVAL;
  if (n > AKT__PLACEMENT_MEMBERS_MAX) return AKT_ELIMIT;
  if (need && akt__roles_check(need)) return AKT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!bounded_len(view[i].id, AKT__MEMBER_ID_MAX)) return AKT_EINVAL;
    if (akt__roles_check(&view[i].roles)) return AKT_EINVAL;
    idx[i] = (uint32_t)i;
  }
  /* Sorting every member, not only the candidates, also finds two members
   * with one id wherever they are: an id names one member, or ownership
   * could differ between nodes that break the tie differently. */
  if (n > 1) qsort_r(idx, n, sizeof *idx, by_id, (void *)view);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    const akt__member *m = &view[idx[i]];
    if (i > 0 && strcmp(view[idx[i - 1]].id, m->id) == 0) return AKT_EINVAL;
    if (m->up && akt__roles_cover(&m->roles, need)) idx[kept++] = idx[i];
  }
  AKT_ASSERT(kept <= n);
  *count = kept;
  return 0;
}

int akt__placement_oldest(const akt__member *view, size_t n, const akt__roles *need,
                          size_t *chosen) {
  uint32_t idx[AKT__PLACEMENT_MEMBERS_MAX];
  size_t count;
  if (!chosen) return AKT_EINVAL;
  int rc = akt__placement_candidates(view, n, need, idx, &count);
  if (rc) return rc;
  if (count == 0) return AKT_ENOENT;
  /* idx is in id order, so the first of equal ages has the smallest id. */
  size_t best = 0;
  for (size_t i = 1; i < count; i++)
    if (view[idx[i]].age < view[idx[best]].age) best = i;
  *chosen = idx[best];
  return 0;
}

long akt__placement_search_id(const void *arg, size_t count,
                              const char *(*id_at)(const void *arg, size_t i), const char *id) {
  size_t lo = 0, hi = count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(id_at(arg, mid), id);
    if (c == 0) return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

/* The sorted candidates of a view, as akt__placement_search_id reads them. */
typedef struct candidates {
  const akt__member *view;
  const uint32_t *idx;
} candidates;

static const char *candidate_id(const void *arg, size_t i) {
  const candidates *c = arg;
  return c->view[c->idx[i]].id;
}

/* Position of `id` among the sorted candidates, or -1. */
static long find_candidate(const akt__member *view, const uint32_t *idx, size_t count,
                           const char *id) {
  candidates c = {view, idx};
  return akt__placement_search_id(&c, count, candidate_id, id);
}

/* A uniform draw below `bound` from one number of `next` (the caller's
 * seeded source, the backend's in a running cluster): Lemire's
 * multiply-shift. Without rejection its bias is below bound / 2^64, which
 * for at most AKT__PLACEMENT_MEMBERS_MAX candidates is under 2^-54, and a
 * choice then costs exactly one draw. */
static uint64_t draw_below(akt__random_fn next, void *arg, uint64_t bound) {
  return (uint64_t)(((__uint128_t)next(arg) * bound) >> 64);
}

static int choose_owner(const akt__member *view, const uint32_t *idx, size_t count,
                        const akt__placement_request *req, size_t *chosen) {
  if (!akt__partition_table_matches(req->table, view, idx, count)) return AKT_ESTATE;
  const char *owner = akt__partition_table_owner_of(req->table, req->key, req->key_len);
  long at = find_candidate(view, idx, count, owner);
  AKT_ASSERT(at >= 0); /* the table's members are exactly these candidates */
  *chosen = idx[at];
  return 0;
}

static int choose_least_loaded(const akt__member *view, const uint32_t *idx, size_t count,
                               const akt__placement_request *req, size_t *chosen) {
  uint64_t key_hash = req->key ? XXH3_64bits(req->key, req->key_len) : 0;
  size_t best = 0;
  uint64_t best_rank = 0;
  for (size_t i = 0; i < count; i++) {
    const akt__member *m = &view[idx[i]];
    /* Rank the member for this key as a partition's score would, so that
     * among equal loads different names pick different members. */
    uint64_t rank =
        req->key ? akt__placement_mix64(XXH3_64bits(m->id, strlen(m->id)) ^ key_hash) : 0;
    uint64_t load = req->loads[idx[i]], best_load = req->loads[idx[best]];
    if (i == 0 || load < best_load || (load == best_load && rank > best_rank)) {
      best = i;
      best_rank = rank;
    }
  }
  *chosen = idx[best];
  return 0;
}

static int choose(const akt__member *view, size_t n, const akt__placement_request *req,
                  size_t *chosen);

int akt__placement_choose(const akt__member *view, size_t n, const akt__placement_request *req,
                          size_t *chosen) {
  int rc = choose(view, n, req, chosen);
  /* Whatever the choice, it is an up member of this view. */
  AKT_ASSERT(rc != 0 || (*chosen < n && view[*chosen].up));
  return rc;
}

static int choose(const akt__member *view, size_t n, const akt__placement_request *req,
                  size_t *chosen) {
  uint32_t idx[AKT__PLACEMENT_MEMBERS_MAX];
  size_t count;
  if (!req || !chosen) return AKT_EINVAL;
  switch (req->on) {
    case AKT_SPAWN_ON_OWNER:
      if (!req->table || !req->key) return AKT_EINVAL;
      break;
    case AKT_SPAWN_ON_LOCAL:
      if (!req->local_id) return AKT_EINVAL;
      break;
    case AKT_SPAWN_ON_ROUND_ROBIN:
      if (!req->cursor) return AKT_EINVAL;
      break;
    case AKT_SPAWN_ON_RANDOM:
      if (!req->random) return AKT_EINVAL;
      break;
    case AKT_SPAWN_ON_LEAST_LOADED:
      if (!req->loads) return AKT_EINVAL;
      break;
    default:
      return AKT_EINVAL;
  }
  int rc = akt__placement_candidates(view, n, req->need, idx, &count);
  if (rc) return rc;
  /* A table for other roles is the caller's mistake whatever the view
   * holds, so it is reported before "no candidate". */
  if (req->on == AKT_SPAWN_ON_OWNER && !akt__partition_table_for_roles(req->table, req->need))
    return AKT_EINVAL;
  if (count == 0) return AKT_ENOENT;
  switch (req->on) {
    case AKT_SPAWN_ON_OWNER:
      return choose_owner(view, idx, count, req, chosen);
    case AKT_SPAWN_ON_LOCAL: {
      long at = find_candidate(view, idx, count, req->local_id);
      if (at < 0) return AKT_ENOENT;
      *chosen = idx[at];
      return 0;
    }
    case AKT_SPAWN_ON_ROUND_ROBIN:
      *chosen = idx[*req->cursor % count];
      (*req->cursor)++;
      return 0;
    case AKT_SPAWN_ON_RANDOM:
      *chosen = idx[draw_below(req->random, req->random_arg, count)];
      return 0;
    case AKT_SPAWN_ON_LEAST_LOADED:
      return choose_least_loaded(view, idx, count, req, chosen);
    default:
      AKT_ASSERT(!"unreachable: `on` was checked above");
      return AKT_EINVAL;
  }
}
