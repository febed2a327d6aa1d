/* akt — where cluster actors live: partitions and placement choices.
 *
 * A cluster-named actor's name maps to one of a fixed number of partitions
 * (AKT_PARTITIONS_DEFAULT unless configured), by XXH3-64 of the name. Each
 * partition has one owner among the up members of the cluster, and every
 * node computes the same owner from the same membership view: the owner is a
 * deterministic function of the view (rendezvous hashing with a load bound;
 * docs/cluster.md, "Placement", states the function, why it is the same
 * on every node, and how many partitions move when a member joins or
 * leaves).
 *
 * A new actor is placed by one of the akt_spawn_on choices below. Required
 * roles restrict the candidates of every choice: an actor of a kind that
 * requires a role only ever runs on members that have it, when it is
 * spawned and when it is relocated.
 */
#ifndef AKT_PLACEMENT_H
#define AKT_PLACEMENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The number of partitions when the configuration does not say: a prime, so
 * that keys with regular hashes still spread. Hazelcast and GoAkt use 271;
 * akt uses more because a join or leave moves about 1/N of the partitions
 * only while each member owns 32 or more of them under the 1.25x load bound:
 * 2053 keeps the mean movement within 1.06x of 1/N up to 64 members, where
 * 271 reaches 1.39x at 16..32 members and 1.85x at 32..64 (docs/cluster.md,
 * "Movement and load, measured"). Larger clusters configure about 32 x their
 * largest member count. */
#define AKT_PARTITIONS_DEFAULT 2053

/* The largest load a member may carry, in percent of the average
 * (partitions / members), when the configuration does not say. */
#define AKT_PARTITION_LOAD_PCT_DEFAULT 125

/* Where a new actor is spawned (GoAkt's SpawnOn). Candidates are the up
 * members that have every role the actor's kind requires. */
typedef enum akt_spawn_on {
  /* The owner of the partition of the actor's name: the default for named
   * actors, and the only choice under which a name can be found again by
   * any node without asking around. */
  AKT_SPAWN_ON_OWNER = 0,
  /* The member that asks, if it is a candidate (otherwise the spawn fails
   * with AKT_ENOENT rather than silently going elsewhere). */
  AKT_SPAWN_ON_LOCAL,
  /* The candidates in turn, in the order of their member ids, from a
   * cursor the spawning node keeps. */
  AKT_SPAWN_ON_ROUND_ROBIN,
  /* A candidate drawn uniformly with the system's random source (so a
   * simulated run draws the same one for the same seed). */
  AKT_SPAWN_ON_RANDOM,
  /* The candidate with the smallest reported load; ties go to the one that
   * ranks highest for the actor's name, so equal loads do not send every
   * spawn to the same member. */
  AKT_SPAWN_ON_LEAST_LOADED,
} akt_spawn_on;

#ifdef __cplusplus
}
#endif

#endif
