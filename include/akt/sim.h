/* akt — the simulator backend.
 *
 * A world holds a virtual clock, one event queue ordered by (time, sequence)
 * and the runnable actors of every node. Each node is a simulated backend on
 * which the user creates an akt_system. Running the world does, step by
 * step: fire the events that are due; otherwise run one actor turn, chosen
 * among the runnable actors of all nodes with the world's seeded generator
 * (or first-in first-out), and advance the clock by the turn cost; otherwise
 * jump the clock to the next event. Everything happens on the calling
 * thread, so one seed gives one history: every visible event is a trace
 * record, the records feed a running xxh3-64 digest, and may be written to a
 * text file that is byte-identical between runs with the same seed.
 *
 * Randomness: the world seed is split with splitmix64/xxh3 into named
 * streams (the scheduler, each node by name), so adding a node or a
 * subsystem never shifts another stream.
 */
#ifndef AKT_SIM_H
#define AKT_SIM_H

#include <stdint.h>

#include "akt/backend.h"
#include "akt/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_sim_world akt_sim_world;

/* Limits and defaults. */
#define AKT_SIM_MAX_NODES 1024
#define AKT_SIM_NODE_NAME_MAX 63
#define AKT_SIM_DEFAULT_TURN_COST AKT_MICROS(1)
#define AKT_SIM_DEFAULT_MAX_STEPS UINT64_C(100000000) /* run_until_idle's step bound */
#define AKT_SIM_EPOCH_NS INT64_C(1767225600000000000) /* wall clock at t=0: 2026-01-01Z */

/* Options for akt_sim_world_new. A zeroed struct (or NULL) means defaults. */
typedef struct akt_sim_options {
  uint64_t seed;            /* the world seed */
  int fifo;                 /* non-zero: run turns first-in first-out, not by seeded choice */
  const char *trace_path;   /* write every trace record to this file; NULL: don't */
  akt_duration turn_cost;   /* virtual time one actor turn takes; 0 = default (1 µs) */
  uint64_t max_steps;       /* bound for akt_sim_run_until_idle; 0 = default */
  int log_stderr;           /* non-zero: also print log lines to stderr */
} akt_sim_options;

/* Creates a world. On success writes it to *out (free with
 * akt_sim_world_free). Returns 0, AKT_ENOMEM, or AKT_EBACKEND (the trace
 * file could not be opened). */
int akt_sim_world_new(const akt_sim_options *opts, akt_sim_world **out);

/* Frees the world, its nodes and every pending event (their callbacks do
 * not run, but for name lookups, which are answered AKT_ESTOPPED as the
 * production backend answers them when it shuts down). Free every
 * akt_system on its nodes first. NULL is a no-op. */
void akt_sim_world_free(akt_sim_world *w);

/* Adds a node named `name` (1..AKT_SIM_NODE_NAME_MAX of [A-Za-z0-9_.-],
 * unique in the world). On success writes its backend, owned by the world,
 * to *out. The node's host for addresses is its name. Returns 0, AKT_EINVAL,
 * AKT_ENAME, AKT_EEXIST, AKT_ELIMIT (AKT_SIM_MAX_NODES), or AKT_ENOMEM. */
int akt_sim_node_new(akt_sim_world *w, const char *name, akt_backend **out);

/* The world a simulated backend belongs to, or NULL if `b` is not
 * simulated. */
akt_sim_world *akt_sim_world_of(akt_backend *b);

/* The name of a simulated node's backend ("" if not simulated). */
const char *akt_sim_node_name(akt_backend *b);

/* Does one step: fires one due event, or runs one actor turn, or jumps the
 * clock to the next event and fires it. Returns 1 if something happened, 0
 * if the world is idle (nothing runnable, no events), AKT_ESTATE if called
 * from inside a step (an actor or a callback). */
int akt_sim_step(akt_sim_world *w);

/* Steps until the world is idle. Returns 0, AKT_ELIMIT after max_steps
 * steps (e.g. a repeating timer keeps it busy forever), or AKT_ESTATE. */
int akt_sim_run_until_idle(akt_sim_world *w);

/* Runs every event and turn up to now + d, then sets the clock to now + d.
 * Returns 0 or AKT_ESTATE. */
int akt_sim_run_for(akt_sim_world *w, akt_duration d);

/* Runs until ready(arg) returns non-zero (checked before every step) or the
 * clock reaches `deadline`. Returns 0 if ready, AKT_ETIMEDOUT, or
 * AKT_ESTATE. When nothing is left to run before the deadline, the clock
 * jumps to the deadline. */
int akt_sim_run_until(akt_sim_world *w, int (*ready)(void *arg), void *arg, uint64_t deadline);

/* The virtual clock, in ns since the world began. */
uint64_t akt_sim_now(const akt_sim_world *w);

/* The world seed. */
uint64_t akt_sim_seed(const akt_sim_world *w);

/* The running xxh3-64 digest of every trace record so far. */
uint64_t akt_sim_digest(const akt_sim_world *w);

/* The number of trace records so far. */
uint64_t akt_sim_records(const akt_sim_world *w);

/* The number of steps done so far (events fired plus turns run). */
uint64_t akt_sim_steps(const akt_sim_world *w);

/* Adds an application record (kind "user") to the trace and digest, on
 * behalf of node `b` (NULL: the world). `what` and `detail` may be NULL. */
void akt_sim_note(akt_sim_world *w, akt_backend *b, const char *what, const char *detail,
                  uint64_t value);

/* ---- faults: links ----------------------------------------------------------
 *
 * A link is one direction between two nodes. Streams behave like TCP over
 * it: bytes arrive in order and unduplicated; a lost segment is
 * retransmitted, so loss shows as delay (AKT_SIM_RETRANSMIT per loss), and
 * later segments of the same direction never overtake it (a segment lost
 * more than 15 times resets the connection, as TCP gives up); a link that
 * stays cut resets the connections crossing it after AKT_SIM_CUT_RESET.
 * Datagrams behave like UDP: lost, duplicated, or reordered by random extra
 * delay. Every random draw comes from the world's fault stream, split from
 * the seed ("faults"), and only when a fault asks for one: a run without
 * faults draws nothing, and faults never shift the scheduler's or the
 * nodes' streams.
 *
 * A connection reset by a fault (capacity, a long cut, too many losses)
 * loses what is in flight and parked, and each open end gets
 * on_close(AKT_ECLOSED) at the reset time plus the base latency of the
 * link toward it; a client still connecting gets on_connect and on_close
 * with AKT_ETIMEDOUT (a cut) or AKT_ECLOSED instead. Every fault decision
 * is a trace record of kind net: link, cut, heal, partition, clog, hold,
 * release, loss, dup, drop-cut, drop-capacity, retransmit, reset. */

#define AKT_SIM_RETRANSMIT AKT_MILLIS(200) /* delay a lost stream segment costs */
#define AKT_SIM_CUT_RESET AKT_SECONDS(10)  /* a cut longer than this resets streams */

typedef enum akt_sim_latency {
  AKT_SIM_LATENCY_FIXED = 0,      /* always `latency` */
  AKT_SIM_LATENCY_UNIFORM = 1,    /* uniform in [latency, latency_max] */
  AKT_SIM_LATENCY_EXPONENTIAL = 2 /* latency + exponential(mean latency_mean), capped at latency_max */
} akt_sim_latency;

/* What a link does to what crosses it. Zeroed = a perfect link with the
 * world's default latency (1 ms). */
typedef struct akt_sim_link_faults {
  akt_sim_latency kind;
  akt_duration latency;      /* fixed latency, or the minimum; 0: 1 ms */
  akt_duration latency_max;  /* uniform: the maximum; exponential: the cap (0: 100x latency) */
  akt_duration latency_mean; /* exponential: the mean of the part above `latency` */
  uint32_t loss_ppm;         /* per unit, in millionths: datagram lost / stream segment retransmitted */
  uint32_t dup_ppm;          /* datagrams delivered twice, in millionths (streams: none, as TCP) */
  akt_duration reorder;      /* datagrams: extra random delay in [0, reorder] */
  size_t capacity;           /* bytes in flight at most (0: unbounded); beyond it
                                datagrams are dropped and stream connections reset
                                (held or parked bytes do not count) */
} akt_sim_link_faults;

/* Sets the faults of the link from -> to (both simulated nodes of `w`);
 * NULL = zeroed. Whether the link is cut, held or clogged does not change.
 * Returns 0, AKT_EINVAL (not nodes of w; an unknown kind, a ppm over 1e6,
 * a uniform or exponential maximum under the minimum) or AKT_ENOMEM. */
int akt_sim_link_set(akt_sim_world *w, akt_backend *from, akt_backend *to,
                     const akt_sim_link_faults *f);

/* Sets the faults of every link, existing and future. Returns 0,
 * AKT_EINVAL (w NULL, or faults as for akt_sim_link_set) or AKT_ENOMEM. */
int akt_sim_link_set_all(akt_sim_world *w, const akt_sim_link_faults *f);

/* Cuts the link from -> to (and to -> from when both_ways): nothing
 * crosses until akt_sim_heal. Datagrams sent meanwhile are dropped; stream
 * segments wait, in order, and leave at the heal; a connection crossing a
 * link that stays cut for AKT_SIM_CUT_RESET (from the cut, or from its
 * first segment stopped by it) is reset, idle or not. Cutting a cut link
 * changes nothing. Returns 0, AKT_EINVAL or AKT_ENOMEM. */
int akt_sim_cut(akt_sim_world *w, akt_backend *from, akt_backend *to, int both_ways);

/* Partitions the nodes into groups: group[i] is the group of node i (in
 * creation order); links between different groups are cut both ways,
 * links within a group healed (as akt_sim_cut and akt_sim_heal do, traced
 * as one "partition" record). `n` must be the node count. Returns 0,
 * AKT_EINVAL or AKT_ENOMEM. */
int akt_sim_partition(akt_sim_world *w, const uint32_t *group, size_t n);

/* Heals the link from -> to and back, or every link when both are NULL;
 * stream segments stopped by the cut leave now, in order (unless a hold
 * keeps them). Returns 0 or AKT_EINVAL. */
int akt_sim_heal(akt_sim_world *w, akt_backend *from, akt_backend *to);

/* Clogs: everything sent on the link from -> to (to = NULL: on every link
 * from and to `from` but its loopback) during the next `d` is delayed until
 * the clog ends — it leaves then and crosses with the link's latency —
 * keeping its order (no reorder delay). Returns 0, AKT_EINVAL or
 * AKT_ENOMEM. */
int akt_sim_clog(akt_sim_world *w, akt_backend *from, akt_backend *to, akt_duration d);

/* Holds traffic on the link from -> to until akt_sim_release: nothing is
 * lost, everything waits, in order (a datagram's loss and duplication are
 * drawn when it is sent; at the release it leaves without reorder delay or
 * capacity check, or is dropped if the link is cut then). A hold never
 * resets a connection. Returns 0, AKT_EINVAL or AKT_ENOMEM; releasing a
 * link that is not held does nothing. */
int akt_sim_hold(akt_sim_world *w, akt_backend *from, akt_backend *to);
int akt_sim_release(akt_sim_world *w, akt_backend *from, akt_backend *to);

/* ---- names ------------------------------------------------------------------------
 *
 * What resolve and resolve_srv answer. A node's name resolves to the node,
 * and so does NAME.local (its mDNS host name). The world's name table adds
 * DNS records, as a cluster's DNS server would hold them: addresses for a
 * name (a Kubernetes headless service has one per ready pod), SRV records
 * (its "_gossip._udp.svc.ns.svc.cluster.local"), or a failure. Names
 * compare without regard to ASCII case or a trailing dot. A lookup is
 * answered from the table as it is when asked — table records first, then
 * node names — by a world event at the same virtual instant (a trace record
 * "resolve" or "resolve-srv"), also when the asking node crashed meanwhile.
 * A name with no record and no node answers AKT_ENOENT. Tests and scenario
 * workloads may change the table at any time, between steps or inside them.
 */

#define AKT_SIM_NAME_MAX_RECORDS 4096 /* records in one world's name table */
#define AKT_SIM_RESOLVE_MAX 32        /* addresses one resolve answers, as in production */

/* Adds an address record: `name` resolves to `host` (a node's name, or
 * any host text the caller will use as an address). Several records of one
 * name are answered in the order added, at most AKT_SIM_RESOLVE_MAX.
 * Returns 0, AKT_EINVAL (w NULL; name or host empty or not shorter than
 * AKT_HOST_MAX), AKT_ELIMIT (AKT_SIM_NAME_MAX_RECORDS) or AKT_ENOMEM. */
int akt_sim_name_add(akt_sim_world *w, const char *name, const char *host);

/* Adds an SRV record (copied) to `name`; records are answered in the order
 * added, at most AKT_SRV_MAX. Returns 0, AKT_EINVAL (as above; an empty
 * target), AKT_ELIMIT or AKT_ENOMEM. */
int akt_sim_name_add_srv(akt_sim_world *w, const char *name, const akt_srv *srv);

/* Makes every lookup of `name` (addresses and SRV) fail with `code`:
 * AKT_EBACKEND (a server failure, a timeout) or AKT_ENOENT, until the
 * name's records are removed. Returns 0, AKT_EINVAL, AKT_ELIMIT or
 * AKT_ENOMEM. */
int akt_sim_name_fail(akt_sim_world *w, const char *name, int code);

/* Removes every record of `name` (addresses, SRV, failure). Returns 0,
 * AKT_ENOENT (it had none) or AKT_EINVAL. */
int akt_sim_name_remove(akt_sim_world *w, const char *name);

/* ---- faults: nodes ------------------------------------------------------------ */

/* How the world stops and starts what runs on a node: `stop` must free the
 * node's systems without running anything (akt_system_drop), `start`
 * creates them again (a node's "init"). */
typedef struct akt_sim_node_hooks {
  int (*start)(akt_backend *b, void *arg);
  void (*stop)(akt_backend *b, void *arg);
  void *arg;
} akt_sim_node_hooks;

/* Sets a node's hooks (copied; NULL clears them). Returns 0 or
 * AKT_EINVAL. */
int akt_sim_node_set_hooks(akt_backend *b, const akt_sim_node_hooks *hooks);

/* Crashes a node: its queued turns leave the run queue; its network state
 * goes without a callback into it — its connections die (each open end
 * sends a FIN after its bytes in flight, so peers see on_close(AKT_ECLOSED)
 * one crossing later), its listeners and datagram endpoints are freed (the
 * pointers it held dangle); then the stop hook drops its memory (no
 * post_stop runs). Its other pending events — timers, offloaded work,
 * answers to name lookups — fire as usual: akt_system_drop cancels a
 * dropped system's timers and makes its work harmless, and whoever asked
 * for a lookup frees what it holds in the callback, as the backend's
 * contract lets it. While it is down, connects to it fail with
 * AKT_EUNREACH after a round trip, and stream bytes and datagrams sent to
 * it are dropped when they arrive (datagrams also when it restarted
 * meanwhile). A crash ends a pause. Returns 0, AKT_EINVAL, AKT_ESTATE
 * (already down, or called from one of the node's own turns or events). */
int akt_sim_crash(akt_sim_world *w, akt_backend *b);

/* Restarts a crashed node under the same name with a new incarnation: its
 * random streams are re-split from (seed, "node:<name>#<incarnation>") and
 * (seed, "io:<name>#<incarnation>") and its start hook runs. The node is
 * up even if the hook fails. Returns 0, AKT_EINVAL, AKT_ESTATE (not down),
 * or the hook's code. */
int akt_sim_restart(akt_sim_world *w, akt_backend *b);

/* Pauses a node: none of its turns runs (they stay queued) and none of its
 * events (timers, arrivals, completions) fires until akt_sim_resume; then
 * the events that came due fire at the resume time, in their original
 * order, then the turns run — late. A deferred timer can still be
 * canceled. Returns 0, AKT_EINVAL, AKT_ESTATE (pause: down or paused;
 * resume: not paused). */
int akt_sim_pause(akt_sim_world *w, akt_backend *b);
int akt_sim_resume(akt_sim_world *w, akt_backend *b);

/* Sets a node's clock: its skew (a step: the clock reads skew_ns more than
 * world time plus what drift has added) and its drift (a rate: from now on
 * the clock gains drift_ppm / 1e6 per unit of world time). Changing the
 * drift keeps the clock continuous — the new rate applies from now, what
 * the old rate gained stays — so only a skew change moves the clock, and
 * it may move it backwards, as a stepped clock does. A node starts with
 * skew 0 and drift 0; now() is rounded down and saturated at 0, wall() is
 * AKT_SIM_EPOCH_NS + now. Timers and wait deadlines follow the node's
 * clock: a delay d takes ceil(d * 1e6 / (1e6 + drift_ppm)) of world time,
 * so it never fires early by the node's own clock while the clock is not
 * changed; a timer started before a change keeps its world-time deadline.
 * Returns 0 or AKT_EINVAL (not a node of w, drift_ppm <= -1e6, or a drift
 * gained beyond the int64 range). */
int akt_sim_set_clock(akt_sim_world *w, akt_backend *b, int64_t skew_ns, int32_t drift_ppm);

/* 1 if the node is up (not crashed), 0 otherwise; its incarnation (1 at
 * creation, +1 per restart). */
int akt_sim_node_up(akt_backend *b);
uint32_t akt_sim_node_incarnation(akt_backend *b);

/* The number of nodes, and node i (creation order), or NULL. */
size_t akt_sim_node_count(const akt_sim_world *w);
akt_backend *akt_sim_node_at(akt_sim_world *w, size_t i);

#ifdef __cplusplus
}
#endif

#endif
