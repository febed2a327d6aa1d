/* akt — partition tables: rendezvous hashing with a load bound.
 *
 * The table is the greedy matching of (partition, member) pairs in
 * descending score order (partition.h states the function). Sorting all P*N
 * pairs would do, but most partitions get their first choice, so the build
 * keeps one entry per partition instead: its best pair among the members
 * that still have room. A max-heap of those entries yields the best
 * remaining pair; if its member filled up since the entry was made, the
 * partition's next best pair replaces it. Members only ever fill up, so a
 * pair skipped once can never become valid again, and the heap's top is
 * always the best valid pair: the result is the greedy matching exactly, in
 * O(P*N + P log P + (re-picks)*N) time and O(P + N) memory.
 */
#include "src/cluster/partition.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/util/assert.h"

/* Member numbers are stored in 16 bits. */
_Static_assert(AKT__PLACEMENT_MEMBERS_MAX <= UINT16_MAX, "member numbers fit uint16_t");

struct akt__partition_table {
  atomic_uint refs;
  uint32_t partitions;
  uint32_t load_pct;
  uint32_t cap;   /* most partitions one member owns */
  uint32_t nsucc; /* successors listed per partition */
  uint32_t nmembers;
  char **ids; /* nmembers, sorted bytewise; each points into idbuf */
  char *idbuf;
  uint32_t *load;  /* per member */
  uint16_t *owner; /* per partition: a member number */
  uint16_t *succ;  /* partitions x nsucc member numbers */
  uint32_t nneed;
  char *need[AKT__ROLES_MAX]; /* the requirement, sorted, copied */
  uint64_t digest;
};

uint32_t akt__partition_of(const void *key, size_t len, uint32_t partitions) {
  AKT_ASSERT(partitions >= 1 && partitions <= AKT__PARTITIONS_MAX);
  AKT_ASSERT(key || len == 0);
  __uint128_t m = (__uint128_t)XXH3_64bits(key, len) * partitions;
  return (uint32_t)(m >> 64);
}

static int resolve_config(const akt__partition_config *in, akt__partition_config *out) {
  akt__partition_config c = in ? *in : (akt__partition_config){0};
  if (!c.partitions) c.partitions = AKT_PARTITIONS_DEFAULT;
  if (!c.load_pct) c.load_pct = AKT_PARTITION_LOAD_PCT_DEFAULT;
  if (c.partitions > AKT__PARTITIONS_MAX || c.load_pct < 100 ||
      c.load_pct > AKT__PARTITION_LOAD_PCT_MAX || c.successors > AKT__PARTITION_SUCCESSORS_MAX)
    return AKT_EINVAL;
  *out = c;
  return 0;
}

/* score(p, m) = mix64(hash(m) ^ salt(p)), salt(p) = mix64(p). */
static uint64_t partition_salt(uint32_t p) { return akt__placement_mix64(p); }

static uint64_t pair_score(uint64_t member_hash, uint64_t salt) {
  return akt__placement_mix64(member_hash ^ salt);
}

/* The total order on pairs: higher score first, then the smaller member
 * number (the smaller id), then the smaller partition. */
static int pair_before(uint64_t s1, uint32_t m1, uint32_t p1, uint64_t s2, uint32_t m2,
                       uint32_t p2) {
  if (s1 != s2) return s1 > s2;
  if (m1 != m2) return m1 < m2;
  return p1 < p2;
}

/* The matching's working state. */
typedef struct matcher {
  uint32_t partitions, members, cap;
  const uint64_t *hash; /* per member */
  const uint64_t *salt; /* per partition */
  uint32_t *load;       /* per member */
  uint16_t *best;       /* per partition: its best member with room when picked */
  uint64_t *best_score; /* per partition */
  uint32_t *heap;       /* partitions, a max-heap by their best pair */
  uint32_t heap_len;
} matcher;

static int entry_before(const matcher *mt, uint32_t a, uint32_t b) {
  return pair_before(mt->best_score[a], mt->best[a], a, mt->best_score[b], mt->best[b], b);
}

static void sift_down(matcher *mt, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, top = i;
    if (l < mt->heap_len && entry_before(mt, mt->heap[l], mt->heap[top])) top = l;
    if (r < mt->heap_len && entry_before(mt, mt->heap[r], mt->heap[top])) top = r;
    if (top == i) return;
    uint32_t tmp = mt->heap[i];
    mt->heap[i] = mt->heap[top];
    mt->heap[top] = tmp;
    i = top;
  }
}

/* Sets partition p's entry to its best pair among members with room. */
static void pick_best(matcher *mt, uint32_t p) {
  int found = 0;
  for (uint32_t m = 0; m < mt->members; m++) {
    if (mt->load[m] >= mt->cap) continue;
    uint64_t s = pair_score(mt->hash[m], mt->salt[p]);
    if (!found || pair_before(s, m, p, mt->best_score[p], mt->best[p], p)) {
      mt->best[p] = (uint16_t)m;
      mt->best_score[p] = s;
      found = 1;
    }
  }
  /* cap * members >= partitions and p has no owner yet, so some member
   * still has room. */
  AKT_ASSERT(found);
}

/* Runs the matching; writes owner[p] for every partition. */
static void match(matcher *mt, uint16_t *owner) {
  for (uint32_t p = 0; p < mt->partitions; p++) {
    pick_best(mt, p);
    mt->heap[p] = p;
  }
  mt->heap_len = mt->partitions;
  for (uint32_t i = mt->heap_len / 2; i-- > 0;) sift_down(mt, i);
  uint32_t assigned = 0;
  while (mt->heap_len) {
    uint32_t p = mt->heap[0];
    uint32_t m = mt->best[p];
    if (mt->load[m] < mt->cap) {
      owner[p] = (uint16_t)m;
      mt->load[m]++;
      assigned++;
      mt->heap[0] = mt->heap[--mt->heap_len];
    } else {
      pick_best(mt, p); /* its member filled up: its next best pair */
    }
    sift_down(mt, 0);
  }
  AKT_ASSERT(assigned == mt->partitions);
}

/* Lists, per partition, the nsucc members after its owner in score order. */
static void list_successors(akt__partition_table *t, const uint64_t *hash, const uint64_t *salt) {
  for (uint32_t p = 0; p < t->partitions; p++) {
    uint16_t *out = &t->succ[(size_t)p * t->nsucc];
    /* Selection by repeated maxima: nsucc is tiny. `prev` bounds each
     * round from above in pair order, so the rounds list distinct members. */
    uint64_t prev_s = 0;
    uint32_t prev_m = 0;
    for (uint32_t k = 0; k < t->nsucc; k++) {
      int found = 0;
      uint64_t bs = 0;
      uint32_t bm = 0;
      for (uint32_t m = 0; m < t->nmembers; m++) {
        if (m == t->owner[p]) continue;
        uint64_t s = pair_score(hash[m], salt[p]);
        if (k > 0 && !pair_before(prev_s, prev_m, p, s, m, p)) continue;
        if (!found || pair_before(s, m, p, bs, bm, p)) {
          bs = s;
          bm = m;
          found = 1;
        }
      }
      AKT_ASSERT(found); /* nsucc < nmembers */
      out[k] = (uint16_t)bm;
      prev_s = bs;
      prev_m = bm;
    }
  }
}

static void table_free(akt__partition_table *t) {
  if (!t) return;
  free(t->ids);
  free(t->idbuf);
  free(t->load);
  free(t->owner);
  free(t->succ);
  for (uint32_t i = 0; i < t->nneed; i++) free(t->need[i]);
  free(t);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies the requirement, sorted, into t. */
static int copy_need(akt__partition_table *t, const akt__roles *need) {
  if (!need) return 0;
  for (size_t i = 0; i < need->n; i++) {
    t->need[i] = strdup(need->names[i]);
    if (!t->need[i]) return AKT_ENOMEM;
    t->nneed++;
  }
  if (t->nneed > 1) qsort(t->need, t->nneed, sizeof t->need[0], by_name);
  return 0;
}

/* Copies the candidates' ids, in their (sorted) order, into t. */
static int copy_ids(akt__partition_table *t, const akt__member *view, const uint32_t *idx) {
  size_t bytes = 0;
  for (uint32_t i = 0; i < t->nmembers; i++) bytes += strlen(view[idx[i]].id) + 1;
  t->ids = malloc(t->nmembers * sizeof *t->ids);
  t->idbuf = malloc(bytes);
  if (!t->ids || !t->idbuf) return AKT_ENOMEM;
  char *at = t->idbuf;
  for (uint32_t i = 0; i < t->nmembers; i++) {
    size_t len = strlen(view[idx[i]].id) + 1;
    memcpy(at, view[idx[i]].id, len);
    t->ids[i] = at;
    at += len;
  }
  return 0;
}

static uint64_t table_digest(const akt__partition_table *t) {
  uint64_t d = akt__placement_mix64(((uint64_t)t->partitions << 32) ^ t->load_pct);
  d = akt__placement_mix64(d ^ t->nsucc);
  for (uint32_t i = 0; i < t->nmembers; i++)
    d = akt__placement_mix64(d ^ XXH3_64bits(t->ids[i], strlen(t->ids[i])));
  /* A separator, so that members and roles cannot trade places. */
  d = akt__placement_mix64(d ^ t->nmembers);
  for (uint32_t i = 0; i < t->nneed; i++)
    d = akt__placement_mix64(d ^ XXH3_64bits(t->need[i], strlen(t->need[i])));
  return d;
}

/* Builds the table of candidates idx[0..count) of view. */
static int build(const akt__partition_config *cfg, const akt__member *view, const uint32_t *idx,
                 size_t count, const akt__roles *need, akt__partition_table **out) {
  AKT_ASSERT(count >= 1 && count <= AKT__PLACEMENT_MEMBERS_MAX);
  akt__partition_table *t = calloc(1, sizeof *t);
  if (!t) return AKT_ENOMEM;
  atomic_init(&t->refs, 1);
  t->partitions = cfg->partitions;
  t->load_pct = cfg->load_pct;
  t->nmembers = (uint32_t)count;
  /* Successors are other members, so there are at most members - 1. */
  t->nsucc = cfg->successors < t->nmembers ? cfg->successors : t->nmembers - 1;
  uint64_t ceil_avg = (t->partitions + count - 1) / count;
  uint64_t bound = (uint64_t)t->partitions * t->load_pct / (100 * count);
  t->cap = (uint32_t)(bound > ceil_avg ? bound : ceil_avg);
  AKT_ASSERT((uint64_t)t->cap * count >= t->partitions);

  uint64_t *hash = malloc(count * sizeof *hash);
  uint64_t *salt = malloc(t->partitions * sizeof *salt);
  uint64_t *best_score = malloc(t->partitions * sizeof *best_score);
  uint16_t *best = malloc(t->partitions * sizeof *best);
  uint32_t *heap = malloc(t->partitions * sizeof *heap);
  t->load = calloc(count, sizeof *t->load);
  t->owner = malloc(t->partitions * sizeof *t->owner);
  t->succ = malloc(((size_t)t->partitions * t->nsucc + 1) * sizeof *t->succ);
  int rc = AKT_ENOMEM;
  if (!hash || !salt || !best_score || !best || !heap || !t->load || !t->owner || !t->succ)
    goto done;
  if ((rc = copy_ids(t, view, idx)) || (rc = copy_need(t, need))) goto done;

  for (uint32_t m = 0; m < t->nmembers; m++) hash[m] = XXH3_64bits(t->ids[m], strlen(t->ids[m]));
  for (uint32_t p = 0; p < t->partitions; p++) salt[p] = partition_salt(p);
  matcher mt = {.partitions = t->partitions,
                .members = t->nmembers,
                .cap = t->cap,
                .hash = hash,
                .salt = salt,
                .load = t->load,
                .best = best,
                .best_score = best_score,
                .heap = heap};
  match(&mt, t->owner);
  list_successors(t, hash, salt);
  t->digest = table_digest(t);

  uint64_t total = 0;
  for (uint32_t m = 0; m < t->nmembers; m++) {
    AKT_ASSERT(t->load[m] <= t->cap);
    total += t->load[m];
  }
  AKT_ASSERT(total == t->partitions);
  *out = t;
  t = NULL;
  rc = 0;
done:
  free(hash);
  free(salt);
  free(best_score);
  free(best);
  free(heap);
  table_free(t);
  return rc;
}

int akt__partition_table_build(const akt__partition_config *cfg, const akt__member *view, size_t n,
                               const akt__roles *need, akt__partition_table **out) {
  uint32_t idx[AKT__PLACEMENT_MEMBERS_MAX];
  akt__partition_config c;
  size_t count;
  if (!out || resolve_config(cfg, &c)) return AKT_EINVAL;
  int rc = akt__placement_candidates(view, n, need, idx, &count);
  if (rc) return rc;
  if (count == 0) return AKT_ENOENT;
  return build(&c, view, idx, count, need, out);
}

akt__partition_table *akt__partition_table_retain(akt__partition_table *t) {
  AKT_ASSERT(t);
  unsigned before = atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
  AKT_ASSERT(before >= 1);
  return t;
}

void akt__partition_table_release(akt__partition_table *t) {
  if (!t) return;
  unsigned before = atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel);
  AKT_ASSERT(before >= 1);
  if (before == 1) table_free(t);
}

uint32_t akt__partition_table_partitions(const akt__partition_table *t) { return t->partitions; }
uint32_t akt__partition_table_cap(const akt__partition_table *t) { return t->cap; }
uint32_t akt__partition_table_successors(const akt__partition_table *t) { return t->nsucc; }
size_t akt__partition_table_members(const akt__partition_table *t) { return t->nmembers; }
uint64_t akt__partition_table_digest(const akt__partition_table *t) { return t->digest; }

const char *akt__partition_table_member_id(const akt__partition_table *t, size_t member) {
  AKT_ASSERT(member < t->nmembers);
  return t->ids[member];
}

static const char *table_id(const void *arg, size_t i) {
  return ((const akt__partition_table *)arg)->ids[i];
}

long akt__partition_table_find(const akt__partition_table *t, const char *id) {
  return akt__placement_search_id(t, t->nmembers, table_id, id);
}

uint32_t akt__partition_table_load(const akt__partition_table *t, size_t member) {
  AKT_ASSERT(member < t->nmembers);
  return t->load[member];
}

size_t akt__partition_table_owner(const akt__partition_table *t, uint32_t partition) {
  AKT_ASSERT(partition < t->partitions);
  return t->owner[partition];
}

const char *akt__partition_table_owner_of(const akt__partition_table *t, const void *key,
                                          size_t len) {
  return t->ids[t->owner[akt__partition_of(key, len, t->partitions)]];
}

size_t akt__partition_table_successor(const akt__partition_table *t, uint32_t partition,
                                      uint32_t k) {
  AKT_ASSERT(partition < t->partitions && k < t->nsucc);
  return t->succ[(size_t)partition * t->nsucc + k];
}

int akt__partition_table_matches(const akt__partition_table *t, const akt__member *view,
                                 const uint32_t *idx, size_t count) {
  if (count != t->nmembers) return 0;
  for (size_t i = 0; i < count; i++)
    if (strcmp(t->ids[i], view[idx[i]].id) != 0) return 0;
  return 1;
}

int akt__partition_table_for_roles(const akt__partition_table *t, const akt__roles *need) {
  if (need && akt__roles_check(need)) return 0;
  size_t n = need ? need->n : 0;
  if (n != t->nneed) return 0;
  /* Both are sets of distinct names of one size: equal if one covers the
   * other. */
  akt__roles have = {.names = (const char *const *)t->need, .n = t->nneed};
  return akt__roles_cover(&have, need);
}

static int by_move(const void *a, const void *b) {
  const akt__partition_move *x = a, *y = b;
  if (x->from != y->from) {
    if (!x->from) return -1;
    if (!y->from) return 1;
    int c = strcmp(x->from, y->from);
    if (c) return c;
  }
  int c = strcmp(x->to, y->to);
  if (c) return c;
  return (x->partition > y->partition) - (x->partition < y->partition);
}

int akt__partition_diff(const akt__partition_table *before, const akt__partition_table *after,
                        akt__partition_move *moves, size_t cap, size_t *count) {
  if (!after || !count || (cap && !moves)) return AKT_EINVAL;
  if (before && before->partitions != after->partitions) return AKT_EINVAL;
  size_t n = 0;
  for (uint32_t p = 0; p < after->partitions; p++) {
    const char *to = after->ids[after->owner[p]];
    const char *from = before ? before->ids[before->owner[p]] : NULL;
    if (from && strcmp(from, to) == 0) continue;
    if (n < cap) moves[n] = (akt__partition_move){.partition = p, .from = from, .to = to};
    n++;
  }
  *count = n;
  if (n > cap) return AKT_ELIMIT;
  if (n > 1) qsort(moves, n, sizeof *moves, by_move);
  return 0;
}

int akt__partition_cache_init(akt__partition_cache *c, const akt__partition_config *cfg) {
  if (!c) return AKT_EINVAL;
  memset(c, 0, sizeof *c);
  return resolve_config(cfg, &c->cfg);
}

int akt__partition_cache_get(akt__partition_cache *c, const akt__member *view, size_t n,
                             const akt__roles *need, akt__partition_table **out) {
  uint32_t idx[AKT__PLACEMENT_MEMBERS_MAX];
  size_t count;
  if (!c || !out) return AKT_EINVAL;
  int rc = akt__placement_candidates(view, n, need, idx, &count);
  if (rc) return rc;
  if (count == 0) return AKT_ENOENT;
  c->clock++;
  size_t victim = 0;
  for (size_t i = 0; i < AKT__PARTITION_CACHE_TABLES; i++) {
    akt__partition_table *t = c->slot[i];
    if (t && akt__partition_table_for_roles(t, need) &&
        akt__partition_table_matches(t, view, idx, count)) {
      c->used[i] = c->clock;
      c->hits++;
      *out = akt__partition_table_retain(t);
      return 0;
    }
    /* The victim: an empty slot, else the least recently used. */
    if (c->slot[victim] && (!t || c->used[i] < c->used[victim])) victim = i;
  }
  akt__partition_table *t;
  if ((rc = build(&c->cfg, view, idx, count, need, &t))) return rc;
  c->misses++;
  if (c->slot[victim]) {
    c->evictions++;
    akt__partition_table_release(c->slot[victim]);
  }
  c->slot[victim] = t;
  c->used[victim] = c->clock;
  *out = akt__partition_table_retain(t);
  return 0;
}

void akt__partition_cache_clear(akt__partition_cache *c) {
  for (size_t i = 0; i < AKT__PARTITION_CACHE_TABLES; i++) {
    akt__partition_table_release(c->slot[i]);
    c->slot[i] = NULL;
    c->used[i] = 0;
  }
}
