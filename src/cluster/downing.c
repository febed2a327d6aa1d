/* akt — split brain: who goes down after a partition or a crash.
 *
 * SWIM alone would declare the other side of a partition dead on both
 * sides, and both would carry on (GoAkt's split brain). Here a suspicion
 * that times out only makes a member unreachable; the downing strategy
 * then decides, as Akka's split-brain resolver does:
 *
 *   - only once the view is stable: no suspicion pending, and no change of
 *     reachability or membership for stable_after (and not right after
 *     this node was paused: its view is stale then);
 *   - only on the oldest up member of each side (its "leader"), so one
 *     node decides for a side and the others follow through gossip;
 *   - with the members that count: up and leaving ones. R is this side
 *     (the members not unreachable, this node included), U the rest:
 *       keep-majority   |R| > |U|: down U; |R| < |U|: down R; a tie goes
 *                       to the side holding the lowest address;
 *       static-quorum   |R| >= quorum: down U; else down R;
 *       keep-oldest     the side of the oldest member stays, unless that
 *                       member is alone on its side (then it goes, unless
 *                       keep_oldest_alone);
 *       down-all        everything goes down.
 *     "Down R" is how the losing side downs itself: its leader downs every
 *     member of R, itself last, and each learns of it by gossip.
 *
 * Two refinements. A node that is cut off alone would take a whole probe
 * round, at the slowest probe rate its missed acks cause, to see every
 * other member unreachable; so a node whose last AKT__CL_ISOLATION_PROBES
 * probes got neither an ack nor a single nack (the helpers of an indirect
 * probe answer with a nack when they cannot reach the target either: a
 * connected node gets those) and that has heard nothing from any member
 * for the minimum suspicion timeout counts every other member as
 * unreachable. And a member that answers only through
 * others (swim.c's direct checks all failed) is indirectly connected: the
 * pair cannot work together (remoting needs a direct path), so the worse
 * of the two under the strategy's order — the higher address, or under
 * keep-oldest the younger — is downed, by whichever end sees it.
 */
#include <stdio.h>
#include <string.h>

#include "src/cluster/cluster.h"
#include "src/util/assert.h"

void akt__cl_view_changed(akt__cluster *cl) { cl->view_changed_at = akt__cl_now(cl); }

static int counted(const akt__cl_member *m) {
  return m->status == AKT_MEMBER_UP || m->status == AKT_MEMBER_LEAVING;
}

/* In play for a decision: not exiting, down or removed. */
static int in_play(const akt__cl_member *m) { return m->status <= AKT_MEMBER_LEAVING; }

/* The "worse" of two members under the strategy: the one to down. */
static akt__cl_member *worse(akt__cluster *cl, akt__cl_member *a, akt__cl_member *b) {
  if (cl->o.downing == AKT_DOWNING_KEEP_OLDEST) return akt__cl_older(a, b) ? b : a;
  return akt__cl_addr_cmp(a->host, a->port, b->host, b->port) < 0 ? b : a;
}

/* Tells every member of this side, in a packet of its own, that m is down:
 * one hop instead of a few gossip ticks for the few downs a crash brings. */
static void tell_side(akt__cluster *cl, akt__cl_member *m) {
  Akt__Cluster__Node n;
  akt__cl_node_of(m, &n);
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *o = cl->slots[i];
    if (!o || o->self || !in_play(o) || o->reach == AKT_REACH_UNREACHABLE) continue;
    akt_addr to = akt__cl_addr_of(o);
    akt__cl_tell_down(cl, &to, &n);
  }
}

/* Downs the members of one side (in_u: the unreachable side, or ours),
 * this node last. Each member of our own side is told in a packet of its
 * own: this node is about to leave, so its gossip would not carry the news
 * far. A few downs of the other side (up to AKT__CL_CONFIRM_MAX: a crash,
 * not a partition's worth, whose packets would grow with both sides) go to
 * every member of this side directly too, besides the gossip, when the
 * cluster is small enough (AKT__CL_TELL_SIDE_MAX members known, down ones
 * included) for a burst of packets. */
static void down_side(akt__cluster *cl, int in_u, int isolated, akt_cluster_down_reason reason) {
  int tell = in_u && !isolated && cl->nunreach <= AKT__CL_CONFIRM_MAX &&
             cl->nmembers <= AKT__CL_TELL_SIDE_MAX;
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || m->self || !in_play(m)) continue;
    int u = isolated || m->reach == AKT_REACH_UNREACHABLE;
    if (u != in_u) continue;
    akt__cl_down(cl, m, reason);
    if (tell) tell_side(cl, m);
    if (!in_u) {
      Akt__Cluster__Node n;
      akt__cl_node_of(m, &n);
      akt_addr to = akt__cl_addr_of(m);
      akt__cl_tell_down(cl, &to, &n);
    }
  }
  if (!in_u && cl->self) akt__cl_down(cl, cl->self, reason);
}

/* Before this side downs the other: would it still win if every member it
 * counts on its side but has had no first-hand sign of since the episode
 * began (no packet from it, no ack for it) were in fact on the other side?
 * A side that lost a partition can see a member of the winning side as
 * reachable only because it has not probed it yet — its probes slow down
 * as its probes fail — and must not down the winners for it. When the
 * answer is no, one of those members is probed next and the decision
 * waits. */
static int winning_is_sure(akt__cluster *cl, int isolated, uint32_t u, const akt__cl_member *oldest,
                           int oldest_here, int lowest_here) {
  uint64_t since = cl->unreach_since;
  uint32_t sure = 1, unsure = 0; /* this node is sure of itself */
  akt__cl_member *check = NULL;
  for (uint32_t i = 0; i < cl->nslots && !isolated; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || m->self || !counted(m) || m->reach == AKT_REACH_UNREACHABLE) continue;
    if (m->heard_at >= since) {
      sure++;
    } else {
      unsure++;
      if (!check) check = m;
    }
  }
  int ok;
  switch (cl->o.downing) {
    case AKT_DOWNING_KEEP_MAJORITY:
      ok = sure > u + unsure || (sure == u + unsure && !unsure && lowest_here);
      break;
    case AKT_DOWNING_STATIC_QUORUM: ok = sure >= cl->o.quorum; break;
    case AKT_DOWNING_KEEP_OLDEST:
      ok = oldest_here ? (oldest->self || oldest->heard_at >= since) : !unsure;
      break;
    default: ok = 1;
  }
  if (!ok && check) akt__cl_probe_soon(cl, check);
  return ok;
}

/* Before this node downs a few unreachable members, it probes each itself
 * once after the mark (the probe carries the claim and the version it
 * knows, so a live member answers with its current state): a mark that
 * came from elsewhere, or that a refutation this node missed should have
 * cleared, is then corrected instead of acted on. A partition's worth of
 * unreachable members (more than AKT__CL_CONFIRM_MAX) is not one stale
 * mark, and is not waited for. */
static int unreachable_confirmed(akt__cluster *cl, int isolated) {
  if (isolated || cl->nunreach > AKT__CL_CONFIRM_MAX) return 1;
  int ok = 1;
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || !in_play(m) || m->reach != AKT_REACH_UNREACHABLE || m->probed_at >= m->unreach_at)
      continue;
    akt__cl_probe_soon(cl, m);
    ok = 0;
  }
  return ok;
}

static const char *strategy_name(akt_downing d) {
  switch (d) {
    case AKT_DOWNING_KEEP_MAJORITY: return "keep-majority";
    case AKT_DOWNING_STATIC_QUORUM: return "static-quorum";
    case AKT_DOWNING_KEEP_OLDEST: return "keep-oldest";
    case AKT_DOWNING_DOWN_ALL: return "down-all";
    case AKT_DOWNING_OFF: return "off";
  }
  return "?";
}

void akt__cl_downing_check(akt__cluster *cl) {
  akt__cl_member *me = cl->self;
  if (cl->phase != AKT_CLUSTER_MEMBER || !me || !counted(me)) return;
  if (cl->o.downing == AKT_DOWNING_OFF || (cl->o.test_flags & AKT_CLUSTER_TEST_NO_DOWNING)) return;
  uint64_t now = akt__cl_now(cl);
  /* A clock that stepped back (the simulator's skew can do that; a real
   * monotonic clock cannot) restarts the stable period rather than making
   * it look endless. */
  if (now < cl->view_changed_at) cl->view_changed_at = now;
  if (now < cl->last_heard) cl->last_heard = now;
  if (now < cl->stale_until || now - cl->view_changed_at < cl->o.stable_after) return;

  /* Most ticks have nothing to decide, or must wait for a suspicion to
   * resolve: the counts tell at once. */
  if (cl->nsuspect) return;
  if (!cl->nunreach && !cl->nindirect && cl->silent_probes < AKT__CL_ISOLATION_PROBES) return;

  uint32_t r = 0, u = 0, others = 0;
  akt__cl_member *indirect = NULL, *lowest = NULL, *oldest = NULL, *leader = NULL;
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || !in_play(m)) continue;
    if (m->reach == AKT_REACH_SUSPECT) return; /* not stable: wait for it to resolve */
    if (!m->self) others++;
    if (m->direct_fail && m->reach == AKT_REACH_ALIVE &&
        (!indirect || akt__cl_addr_cmp(m->host, m->port, indirect->host, indirect->port) < 0))
      indirect = m;
    if (!counted(m)) continue;
    if (!lowest || akt__cl_addr_cmp(m->host, m->port, lowest->host, lowest->port) < 0) lowest = m;
    if (!oldest || akt__cl_older(m, oldest)) oldest = m;
  }
  /* Cut off from everyone: every other member is on the other side. */
  int isolated = others > 0 && cl->silent_probes >= AKT__CL_ISOLATION_PROBES &&
                 now - cl->last_heard >= akt__cl_suspicion_min(cl, others + 1);
  for (uint32_t i = 0; i < cl->nslots; i++) {
    akt__cl_member *m = cl->slots[i];
    if (!m || !in_play(m) || !counted(m)) continue;
    int in_u = !m->self && (isolated || m->reach == AKT_REACH_UNREACHABLE);
    if (in_u) {
      u++;
    } else {
      r++;
      if (!leader || akt__cl_older(m, leader)) leader = m;
    }
  }
  int any_unreachable = isolated;
  for (uint32_t i = 0; i < cl->nslots && !any_unreachable; i++) {
    akt__cl_member *m = cl->slots[i];
    any_unreachable = m && in_play(m) && !m->self && m->reach == AKT_REACH_UNREACHABLE;
  }
  if (!any_unreachable) {
    if (!indirect) return;
    akt__cl_member *w = worse(cl, me, indirect);
    akt__cl_log(cl, AKT_LOG_WARN, "cluster %s: %s@%s:%u is reachable only through others: "
                "downing %s", cl->name, indirect->name, indirect->host, (unsigned)indirect->port,
                w == me ? "this node" : "it");
    akt__cl_down(cl, w, AKT_DOWN_INDIRECT);
    return;
  }
  /* This side's leader decides; should it not (its view differs: it does
   * not see these members as unreachable), the others do once the view
   * has stood still three times as long. Decisions are deterministic, so
   * two deciders with one view decide alike. */
  if (leader != me && now - cl->view_changed_at < 3 * cl->o.stable_after) return;

  int down_u;
  int lowest_here = lowest && (lowest->self || !(isolated || lowest->reach == AKT_REACH_UNREACHABLE));
  int oldest_here =
      oldest && (oldest->self || !(isolated || oldest->reach == AKT_REACH_UNREACHABLE));
  switch (cl->o.downing) {
    case AKT_DOWNING_KEEP_MAJORITY: down_u = r > u || (r == u && lowest_here); break;
    case AKT_DOWNING_STATIC_QUORUM: down_u = r >= cl->o.quorum; break;
    case AKT_DOWNING_KEEP_OLDEST:
      if (oldest_here)
        down_u = cl->o.keep_oldest_alone || r > 1 || u == 0;
      else
        down_u = !cl->o.keep_oldest_alone && u == 1 && r >= 1;
      break;
    default: down_u = -1; /* down-all */
  }
  if (down_u > 0 && !winning_is_sure(cl, isolated, u, oldest, oldest_here, lowest_here)) return;
  if (down_u != 0 && !unreachable_confirmed(cl, isolated)) return;
  akt_cluster_down_reason reason = isolated ? AKT_DOWN_ISOLATED : AKT_DOWN_STRATEGY;
  akt__cl_log(cl, AKT_LOG_WARN,
              "cluster %s: %s with %u up here and %u unreachable%s: downing %s", cl->name,
              strategy_name(cl->o.downing), r, u, isolated ? " (isolated)" : "",
              down_u > 0 ? "the unreachable side" : down_u == 0 ? "this side" : "everyone");
  if (down_u != 0) down_side(cl, 1, isolated, reason);
  if (down_u <= 0) down_side(cl, 0, isolated, reason);
}
