/* akt — placement: which members may host an actor, and which one a new
 * actor goes to (internal).
 *
 * Everything here is a pure function of its arguments: a membership view
 * (a plain array, in any order), a role requirement and, per choice, a
 * cursor, a random source or load numbers the caller passes in. Nothing
 * reads a clock or a global, and nothing depends on the order of the view's
 * array or on pointer values: members are ranked by their ids, compared
 * bytewise, so every node that holds the same view decides the same way.
 *
 * The view type is this module's own so that placement does not depend on
 * how membership stores its state; membership fills an array of
 * akt__member from its current view and hands it over.
 */
#ifndef AKT_CLUSTER_PLACEMENT_H
#define AKT_CLUSTER_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "akt/placement.h"
#include "src/util/rng.h"

/* Limits on a view, checked by every function that reads one. */
#define AKT__MEMBER_ID_MAX 255          /* bytes in a member id, without the NUL */
#define AKT__ROLE_NAME_MAX 63           /* bytes in a role name, without the NUL */
#define AKT__ROLES_MAX 16               /* roles of one member, or in one requirement */
#define AKT__PLACEMENT_MEMBERS_MAX 1024 /* members in one view (any state) */

/* A set of role names: `n` distinct NUL-terminated names of 1 to
 * AKT__ROLE_NAME_MAX bytes, in any order (n = 0: no roles). Borrowed: the
 * names must outlive the call they are passed to. */
typedef struct akt__roles {
  const char *const *names;
  size_t n;
} akt__roles;

/* One member of a membership view. Borrowed: the strings must outlive the
 * call the view is passed to; no function keeps a pointer into a view. */
typedef struct akt__member {
  /* The member's identity: its name, address and incarnation, e.g.
   * "node-a@10.0.0.7:3322#5" (akt__member_id_format writes this form).
   * Unique in a view; 1 to AKT__MEMBER_ID_MAX bytes. Because the
   * incarnation is part of it, a restarted node is a new member. */
  const char *id;
  /* The roles the member has. */
  akt__roles roles;
  /* Non-zero when the member is up; only up members are candidates. */
  int up;
  /* Join order: smaller is older (membership's up-number). Only
   * akt__placement_oldest reads it; partition ownership does not, so that a
   * view is all that is needed to compute it. */
  uint64_t age;
} akt__member;

/* Mixes x into a well-spread 64-bit value (splitmix64's output function):
 * the one mixer behind partition scores and placement ranks, so that both
 * rank members the same way on every node. */
static inline uint64_t akt__placement_mix64(uint64_t x) {
  uint64_t state = x;
  return akt__splitmix64(&state);
}

/* Writes "NAME@ADDRESS#INCARNATION" to buf (size bytes, NUL-terminated).
 * Returns 0, AKT_EINVAL if name or address is NULL or empty, or AKT_ELIMIT
 * if the id would not fit in `size` or exceed AKT__MEMBER_ID_MAX bytes. */
int akt__member_id_format(char *buf, size_t size, const char *name, const char *address,
                          uint64_t incarnation);

/* Checks `view` (n members) and writes the indices (into view) of its
 * candidates for `need` — the up members that have every role in `need`
 * (NULL: no requirement) — to idx, sorted by id, and their number to *count.
 * `idx` must hold n entries; it is scratch space too, so its entries past
 * *count are unspecified. Returns 0 (also when no member qualifies:
 * *count = 0); AKT_EINVAL if view, idx or count is NULL while needed, an id
 * is NULL, empty or too long, two members have the same id, or a role set
 * is malformed (NULL or empty name, name too long, a name twice, more than
 * AKT__ROLES_MAX names); AKT_ELIMIT if n > AKT__PLACEMENT_MEMBERS_MAX. */
int akt__placement_candidates(const akt__member *view, size_t n, const akt__roles *need,
                              uint32_t *idx, size_t *count);

/* Checks a role set (see akt__roles). Returns 0 or AKT_EINVAL. */
int akt__roles_check(const akt__roles *roles);

/* 1 if `have` contains every name in `need` (NULL need: always 1). */
int akt__roles_cover(const akt__roles *have, const akt__roles *need);

/* Binary search: the position of `id` among `count` ids sorted bytewise,
 * the i-th of which is id_at(arg, i); -1 if it is not there. */
long akt__placement_search_id(const void *arg, size_t count,
                              const char *(*id_at)(const void *arg, size_t i), const char *id);

/* The oldest candidate for `need`: the up member with the smallest age, the
 * smallest id among equal ages — where a cluster singleton runs. Writes its
 * index into view to *chosen. Returns 0; AKT_ENOENT if no member qualifies;
 * or an error of akt__placement_candidates. */
int akt__placement_oldest(const akt__member *view, size_t n, const akt__roles *need,
                          size_t *chosen);

typedef struct akt__partition_table akt__partition_table;

/* A random source: returns a uniformly distributed 64-bit number. The
 * system's is akt_backend's random_u64. */
typedef uint64_t (*akt__random_fn)(void *arg);

/* What a placement choice needs; which fields are read depends on `on`. */
typedef struct akt__placement_request {
  akt_spawn_on on;
  /* Roles the actor's kind requires (NULL or n = 0: none). */
  const akt__roles *need;
  /* The actor's name: OWNER places by it; LEAST_LOADED breaks ties with
   * it (NULL: ties go to the smallest id). Borrowed. */
  const void *key;
  size_t key_len;
  /* OWNER: the partition table computed for `need` (see partition.h).
   * Borrowed. */
  const akt__partition_table *table;
  /* LOCAL: the id of the member that asks. */
  const char *local_id;
  /* ROUND_ROBIN: the caller's cursor; a successful choice advances it. */
  uint64_t *cursor;
  /* RANDOM: the random source and its argument. */
  akt__random_fn random;
  void *random_arg;
  /* LEAST_LOADED: loads[i] is the load view[i] reports (actors, or any
   * measure where smaller is lighter). */
  const uint64_t *loads;
} akt__placement_request;

/* Chooses the member a new actor goes to: writes its index into view to
 * *chosen. Candidates are the up members that have every role in
 * req->need; with `on`:
 *   OWNER         the owner of the key's partition in req->table, which
 *                 must have been computed for the same requirement;
 *   LOCAL         the member whose id is req->local_id;
 *   ROUND_ROBIN   candidate number (*cursor mod candidates) in id order,
 *                 then *cursor is incremented;
 *   RANDOM        candidate number (random * candidates) >> 64, from one
 *                 draw of req->random (uniform up to a bias below 2^-54);
 *   LEAST_LOADED  the candidate with the smallest req->loads entry; among
 *                 equals, the one that ranks highest for the key.
 * Returns 0; AKT_ENOENT if no member qualifies (for LOCAL: the local member
 * is not a candidate); AKT_ESTATE if the table's owner is not a candidate
 * of this view (the table belongs to another view: recompute it);
 * AKT_EINVAL if a field the choice needs is missing, `on` is unknown, the
 * table was computed for other roles, or the view is malformed (see
 * akt__placement_candidates); AKT_ELIMIT if the view is too large. */
int akt__placement_choose(const akt__member *view, size_t n, const akt__placement_request *req,
                          size_t *chosen);

#endif
