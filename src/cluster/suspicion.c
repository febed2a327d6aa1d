/* akt — Lifeguard suspicion: a timeout that starts long and shrinks as
 * other members independently confirm the suspicion ("dogpile").
 *
 * From memberlist (suspicion.go) and the Lifeguard paper (Dadgar et al.,
 * "Lifeguard: Local Health Awareness for More Accurate Failure Detection",
 * 2018): with min = suspicion_mult * max(1, log10(n)) * probe_interval and
 * max = suspicion_max_mult * min, and k = suspicion_confirmations expected
 * confirmations (0 when fewer than k + 2 members could confirm), the
 * timeout after c confirmations is
 *     max(min, max - (max - min) * log(c + 1) / log(k + 1))
 * counted from the start of the suspicion, rounded down to a millisecond.
 * A lone false suspicion thus gets `max` to be refuted, while a real
 * failure that several members see is declared after `min`.
 *
 * The logarithms are computed here with IEEE arithmetic only (no libm), so
 * a simulated run gives the same timeouts on every machine.
 */
#include <string.h>

#include "src/cluster/cluster.h"
#include "src/util/assert.h"

/* ln(x) for x > 0: x = m * 2^e with m in [1, 2), ln(m) by the series of
 * 2 * atanh((m - 1) / (m + 1)), which converges fast there. */
static double ln(double x) {
  AKT_ASSERT(x > 0);
  int e = 0;
  while (x >= 2.0) {
    x /= 2.0;
    e++;
  }
  while (x < 1.0) {
    x *= 2.0;
    e--;
  }
  double y = (x - 1.0) / (x + 1.0), y2 = y * y, term = y, sum = 0;
  for (int i = 1; i < 60; i += 2) {
    sum += term / i;
    term *= y2;
  }
  return 2.0 * sum + e * 0.69314718055994530942;
}

akt_duration akt__cl_suspicion_min(akt__cluster *cl, uint32_t n) {
  double scale = n > 10 ? ln((double)n) / 2.30258509299404568402 : 1.0;
  /* memberlist: suspicionMult * (nodeScale * 1000) ms units * interval / 1000. */
  uint64_t milli = (uint64_t)(scale * 1000.0);
  return (akt_duration)cl->o.suspicion_mult * milli * (cl->o.probe_interval / 1000);
}

akt_duration akt__cl_suspicion_timeout(akt_duration min, akt_duration max, uint32_t k,
                                       uint32_t n) {
  AKT_ASSERT(min <= max);
  if (k == 0 || n >= k) return min;
  double frac = ln((double)n + 1.0) / ln((double)k + 1.0);
  double raw = (double)max / 1e9 - frac * ((double)max - (double)min) / 1e9;
  akt_duration t = (akt_duration)(uint64_t)(raw * 1000.0) * AKT_MILLIS(1);
  return t < min ? min : t;
}

static akt_duration timeout(const akt__suspicion *s) {
  return akt__cl_suspicion_timeout(s->min, s->max, s->k, s->n);
}

/* Arms (or re-arms) the timer for what is left of the timeout. */
static void arm(akt__cluster *cl, akt__cl_member *m) {
  akt__suspicion *s = &m->susp;
  uint64_t now = akt__cl_now(cl), due = s->start + timeout(s);
  if (cl->o.test_flags & AKT_CLUSTER_TEST_NO_EXPIRY) return;
  akt__cl_mtimer(cl, m, &m->susp_timer, AKT__CT_SUSPICION, due > now ? due - now : 0);
}

void akt__cl_suspect_start(akt__cluster *cl, akt__cl_member *m, uint64_t from) {
  AKT_ASSERT(m->reach == AKT_REACH_SUSPECT && !m->self);
  akt__suspicion *s = &m->susp;
  memset(s, 0, sizeof *s);
  uint32_t n = akt__cl_live_count(cl);
  s->start = akt__cl_now(cl);
  s->min = akt__cl_suspicion_min(cl, n);
  s->max = (akt_duration)cl->o.suspicion_max_mult * s->min;
  /* Who can confirm: everyone but the suspect and the first suspecter. */
  uint32_t k = cl->o.suspicion_confirmations;
  s->k = n < k + 2 ? 0 : k;
  AKT_ASSERT(s->k <= AKT__CL_MAX_CONFIRM); /* options.c refuses more */
  s->first = from;
  arm(cl, m);
  /* Our own suspicion: probe it once more at once (the ping carries the
   * suspicion: a live member refutes in its ack, without waiting for its
   * refutation to come round by gossip, which can miss us). Heard from
   * another node: check for ourselves soon, so a confirmation (or an ack,
   * and the member hears it is suspected) comes within a probe interval
   * rather than whenever our round reaches it; only about k + 2 of the
   * members do, so a suspicion does not draw a probe from everyone. */
  if (from == cl->key) {
    akt__cl_probe_soon(cl, m);
  } else if (n > 2) {
    uint64_t want = (uint64_t)s->k + 2, of = n - 2;
    if (want >= of || akt__cl_random(cl) % of < want) akt__cl_probe_soon(cl, m);
  }
}

int akt__cl_suspect_confirm(akt__cluster *cl, akt__cl_member *m, uint64_t from) {
  akt__suspicion *s = &m->susp;
  if (!from || from == s->first || s->n >= s->k) return 0;
  for (uint32_t i = 0; i < s->n; i++)
    if (s->confirmers[i] == from) return 0;
  s->confirmers[s->n++] = from;
  arm(cl, m);
  return 1;
}

void akt__cl_suspect_stop(akt__cluster *cl, akt__cl_member *m) {
  akt__cl_mtimer_cancel(cl, &m->susp_timer);
}

void akt__cl_suspect_expired(akt__cluster *cl, akt__cl_member *m) {
  if (m->reach != AKT_REACH_SUSPECT || m->status >= AKT_MEMBER_EXITING) return;
  AKT__CL_STAT(cl, unreachable);
  Akt__Cluster__Node node;
  akt__claim c;
  akt__cl_node_of(m, &node);
  akt__cl_broadcast(cl,
                    akt__cl_claim(cl, &node, AKT__CLUSTER__UPDATE__KIND_UNREACHABLE, m->version,
                                  AKT_DOWN_UNKNOWN, &c),
                    m->key, m->uid);
  akt__cl_set_reach(cl, m, m->version, AKT_REACH_UNREACHABLE);
}
