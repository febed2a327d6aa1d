/* akt — partitions: names to partitions, partitions to members (internal).
 *
 * A cluster name maps to partition
 *
 *     partition(name) = (XXH3_64(name) * partitions) >> 64
 *
 * (Lemire's multiply-shift: uniform, no division). A partition table maps
 * every partition to one owner among the candidates of a view — the up
 * members with the roles a kind requires — by rendezvous hashing with a
 * load bound:
 *
 *   score(p, m)  = mix64(XXH3_64(id of m) ^ mix64(p + SALT)), 64 bits;
 *   cap          = max(ceil(P / N), floor(P * load_pct / (100 * N)))
 *                  for P partitions and N candidates;
 *   the table    = the greedy matching of (partition, member) pairs taken
 *                  in descending score order (ties: smaller member id, then
 *                  smaller partition), where a pair is taken when its
 *                  partition has no owner yet and its member owns fewer
 *                  than `cap` partitions.
 *
 * This is the unique stable assignment in which partitions prefer members by
 * score and members prefer partitions by score, so it depends only on the
 * set of candidate ids, P and load_pct: not on the order of the view, on
 * which node computes it, or on any earlier table. Without the cap it is
 * plain rendezvous hashing, which moves only the partitions of a member that
 * leaves (or that a joining member wins); the cap keeps every load within
 * load_pct of the average at the price of some further moves, measured in
 * docs/cluster.md ("Placement").
 *
 * Tables are immutable and reference counted, so a lookup on any thread may
 * keep using one while a newer one is computed. A cache keeps the tables of
 * recent (view, role requirement) pairs.
 */
#ifndef AKT_CLUSTER_PARTITION_H
#define AKT_CLUSTER_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "src/cluster/placement.h"

#define AKT__PARTITIONS_MAX 16384        /* partitions in a table */
#define AKT__PARTITION_LOAD_PCT_MAX 1000 /* load bound, percent of average */
#define AKT__PARTITION_SUCCESSORS_MAX 4  /* successors listed per partition */
#define AKT__PARTITION_CACHE_TABLES 8    /* tables one cache keeps */

/* The partition of a key (any bytes; len may be 0) among `partitions`
 * (1..AKT__PARTITIONS_MAX): (XXH3_64(key) * partitions) >> 64. */
uint32_t akt__partition_of(const void *key, size_t len, uint32_t partitions);

/* How tables are computed. A zeroed config means the defaults. */
typedef struct akt__partition_config {
  uint32_t partitions; /* 0: AKT_PARTITIONS_DEFAULT; else 1..AKT__PARTITIONS_MAX */
  uint32_t load_pct; /* 0: AKT_PARTITION_LOAD_PCT_DEFAULT; else 100..AKT__PARTITION_LOAD_PCT_MAX */
  /* Successors listed per partition: the next members in that partition's
   * score order after its owner (0..AKT__PARTITION_SUCCESSORS_MAX). They are
   * where the partition would go first if its owner left, exactly so unless
   * the load bound turns it away; replicas or hand-off planning read them. */
  uint32_t successors;
} akt__partition_config;

/* Computes the table of `view` (n members, any order) for the candidates of
 * `need` (NULL: no role requirement) and writes a new reference to *out
 * (release it with akt__partition_table_release). The table copies what it
 * keeps (ids, the requirement): the view may change or go afterwards.
 * Returns 0; AKT_ENOENT if no member is a candidate; AKT_EINVAL if an
 * argument is NULL, the config is out of range or the view is malformed
 * (see akt__placement_candidates); AKT_ELIMIT if the view is too large;
 * AKT_ENOMEM. */
int akt__partition_table_build(const akt__partition_config *cfg, const akt__member *view, size_t n,
                               const akt__roles *need, akt__partition_table **out);

/* Takes another reference to `t` (returns t). Thread-safe. */
akt__partition_table *akt__partition_table_retain(akt__partition_table *t);

/* Drops a reference; the last one frees the table. NULL is a no-op.
 * Thread-safe. */
void akt__partition_table_release(akt__partition_table *t);

/* The table's shape. */
uint32_t akt__partition_table_partitions(const akt__partition_table *t);
uint32_t akt__partition_table_cap(const akt__partition_table *t);
uint32_t akt__partition_table_successors(const akt__partition_table *t);

/* Its members: the candidates it was computed from, sorted by id; member
 * numbers below are indices into this order. Ids live as long as the
 * table. */
size_t akt__partition_table_members(const akt__partition_table *t);
const char *akt__partition_table_member_id(const akt__partition_table *t, size_t member);

/* Member `id`'s number, or -1 if it is not one of the table's members. */
long akt__partition_table_find(const akt__partition_table *t, const char *id);

/* Partitions owned by `member`. */
uint32_t akt__partition_table_load(const akt__partition_table *t, size_t member);

/* The owner of `partition` (a member number). */
size_t akt__partition_table_owner(const akt__partition_table *t, uint32_t partition);

/* The owner's id for `key` (its partition's owner). */
const char *akt__partition_table_owner_of(const akt__partition_table *t, const void *key,
                                          size_t len);

/* Successor `k` (< akt__partition_table_successors, and < members - 1) of
 * `partition`: a member number, never the owner. */
size_t akt__partition_table_successor(const akt__partition_table *t, uint32_t partition,
                                      uint32_t k);

/* 1 if `t`'s members are exactly the candidates idx[0..count) of `view`
 * (as akt__placement_candidates lists them), i.e. `t` is this view's table
 * for its requirement. */
int akt__partition_table_matches(const akt__partition_table *t, const akt__member *view,
                                 const uint32_t *idx, size_t count);

/* 1 if `t` was computed for requirement `need` (as a set: order does not
 * matter; NULL and the empty set are the same); 0 if not, or if `need` is
 * malformed (see akt__roles_check). */
int akt__partition_table_for_roles(const akt__partition_table *t, const akt__roles *need);

/* A hash of what the table was computed from (candidate ids, requirement,
 * config): equal inputs give equal digests on every node, so two nodes can
 * compare tables by digest. */
uint64_t akt__partition_table_digest(const akt__partition_table *t);

/* One partition that changes owner between two tables. */
typedef struct akt__partition_move {
  uint32_t partition;
  const char *from; /* owner id in `before` (borrowed from it); NULL if no before */
  const char *to;   /* owner id in `after` (borrowed from it) */
} akt__partition_move;

/* The partitions whose owner differs between `before` (NULL: nothing was
 * owned) and `after`, compared by member id. Writes at most `cap` of them
 * to `moves`, sorted by (from, to, partition) so that the moves between one
 * pair of members — one relocation batch — are adjacent, and their number
 * to *count. The ids stay valid while both tables do. Returns 0; AKT_ELIMIT
 * if more than `cap` move (nothing is written then, and *count holds the
 * number: call with cap 0 to size the array); AKT_EINVAL if `after` or count is NULL, moves is NULL
 * with cap > 0, or the tables have different numbers of partitions; AKT_ENOMEM. */
int akt__partition_diff(const akt__partition_table *before, const akt__partition_table *after,
                        akt__partition_move *moves, size_t cap, size_t *count);

/* Keeps the tables of recent (view, requirement) pairs, so that the kinds
 * that share a requirement share a table and a view change computes each
 * table once. At most AKT__PARTITION_CACHE_TABLES are kept; the least
 * recently used goes first. Not thread-safe: its owner (the node's cluster
 * state) calls it from one thread; the tables it hands out are. */
typedef struct akt__partition_cache {
  akt__partition_config cfg;
  akt__partition_table *slot[AKT__PARTITION_CACHE_TABLES];
  uint64_t used[AKT__PARTITION_CACHE_TABLES]; /* `clock` at last use */
  uint64_t clock;
  uint64_t hits, misses, evictions; /* counters */
} akt__partition_cache;

/* Sets up an empty cache that computes tables with `cfg` (NULL: defaults).
 * Returns 0 or AKT_EINVAL (config out of range). */
int akt__partition_cache_init(akt__partition_cache *c, const akt__partition_config *cfg);

/* The table of (view, need): the cached one if its candidates and
 * requirement are the same, else a new one (evicting the least recently
 * used when full). Writes a new reference to *out; the caller releases it.
 * Returns what akt__partition_table_build returns. */
int akt__partition_cache_get(akt__partition_cache *c, const akt__member *view, size_t n,
                             const akt__roles *need, akt__partition_table **out);

/* Releases every cached table; the cache is empty and reusable. */
void akt__partition_cache_clear(akt__partition_cache *c);

#endif
