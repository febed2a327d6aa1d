/* akt — winning sets: which sets of a configuration's members may decide.
 *
 * A slot of the log commits, and a lease holds, only with a winning set of
 * the configuration in force. The one property everything rests on: any
 * two winning sets of one configuration share a member. That member then
 * saw both decisions, in some order, which is what makes a later
 * configuration's commit cut off every lease of the earlier one
 * (docs/cluster.md, "Why two activations cannot overlap").
 *
 * The rule follows the downing strategy, so that the side membership keeps
 * after a partition is also the side that can move the configuration on:
 *
 *   keep-majority  more than half, or exactly half holding the member with
 *                  the lowest gossip address (membership's tie-break);
 *                  two halves cannot both hold it, a majority meets any
 *                  other winning set by counting;
 *   static-quorum  at least max(quorum, a majority), and at most all
 *                  members: with a quorum above N/2 that is the quorum; a
 *                  configuration grown past 2 * quorum - 1 members falls
 *                  back to a majority, one still growing toward the quorum
 *                  needs every member — more than half either way;
 *   keep-oldest    a set holding the oldest member and someone else, or
 *                  every member but the oldest (keep_oldest_alone: any set
 *                  holding the oldest). The first kind all share the
 *                  oldest; a set of the second kind shares with each of
 *                  them its other member. The oldest alone does not win
 *                  (membership downs an oldest that is alone on its side);
 *   down-all       every member;
 *   off            as keep-majority.
 *
 * A configuration of one member is won by that member.
 */
#include <string.h>

#include "src/cluster/actors.h"
#include "src/cluster/cluster.h"
#include "src/util/assert.h"

size_t akt__ca_bits_count(const akt__ca_bits *b) {
  size_t n = 0;
  for (size_t i = 0; i < AKT__CA_BITS; i++) n += (size_t)__builtin_popcountll(b->w[i]);
  return n;
}

/* The member with the lowest gossip address (host bytes, then port), as
 * membership's keep-majority tie-break orders them. */
static size_t lowest_address(const akt__ca_config *c) {
  size_t best = 0;
  for (size_t i = 1; i < c->n; i++)
    if (akt__cl_addr_cmp(c->m[i].host, c->m[i].port, c->m[best].host, c->m[best].port) < 0)
      best = i;
  return best;
}

/* The oldest member: smallest age, then lowest address. */
static size_t oldest(const akt__ca_config *c) {
  size_t best = 0;
  for (size_t i = 1; i < c->n; i++) {
    const akt__ca_member *a = &c->m[i], *b = &c->m[best];
    if (a->age < b->age ||
        (a->age == b->age && akt__cl_addr_cmp(a->host, a->port, b->host, b->port) < 0))
      best = i;
  }
  return best;
}

static int majority(const akt__ca_config *c, const akt__ca_bits *v, size_t count) {
  if (2 * count > c->n) return 1;
  return 2 * count == c->n && akt__ca_bit_has(v, lowest_address(c));
}

int akt__ca_winning(const akt_cluster_options *co, const akt__ca_config *c,
                    const akt__ca_bits *voters) {
  AKT_ASSERT(c->n > 0 && c->n <= AKT__CA_MEMBERS_MAX);
  /* Voters are members of c: no bit at or past n. */
  for (size_t i = c->n; i < AKT__CA_MEMBERS_MAX; i++) AKT_ASSERT(!akt__ca_bit_has(voters, i));
  size_t count = akt__ca_bits_count(voters);
  if (c->n == 1) return count == 1;
  switch (co->downing) {
    case AKT_DOWNING_STATIC_QUORUM: {
      /* A configuration smaller than the quorum (while the cluster grows)
       * needs all of its members: still more than half. */
      size_t need = c->n / 2 + 1;
      if (co->quorum > need) need = co->quorum;
      if (need > c->n) need = c->n;
      return count >= need;
    }
    case AKT_DOWNING_KEEP_OLDEST: {
      size_t o = oldest(c);
      if (akt__ca_bit_has(voters, o)) return co->keep_oldest_alone || count >= 2;
      return !co->keep_oldest_alone && count == c->n - 1;
    }
    case AKT_DOWNING_DOWN_ALL: return count == c->n;
    case AKT_DOWNING_KEEP_MAJORITY:
    case AKT_DOWNING_OFF:
    default: return majority(c, voters, count);
  }
}
