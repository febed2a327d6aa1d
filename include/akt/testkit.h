/* akt — the testkit: probe-based actor tests (cmocka-friendly).
 *
 * A testkit owns one or more actor systems on a simulated world (by default)
 * or on the libuv backend. On the simulator time is virtual: an expectation
 * that waits "3 s" runs the world instead of sleeping, so it takes
 * microseconds and fails the same way on every run. The seed comes from the
 * options, else from the environment variable AKT_SEED, else a fixed default.
 *
 * A probe is an actor the test drives: it sends as itself (so replies come
 * back to it), receives into a queue, and asserts what arrives. A failing
 * expectation fails the current cmocka test with what was expected, what
 * arrived instead (type and text form), the virtual time, the seed and the
 * command that replays the test. Every fatal call has a non-fatal
 * `akt_probe_try_*` twin that returns the failure instead.
 *
 * Link with akt-testkit (pkg-config akt-testkit), which depends on cmocka.
 *
 * Ownership: the testkit owns its probes, the PIDs akt_testkit_spawn returns
 * and every message a probe returns; they live until akt_testkit_free (or,
 * for messages, akt_probe_clear).
 */
#ifndef AKT_TESTKIT_H
#define AKT_TESTKIT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "akt/akt.h"
#include "akt/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct akt_testkit akt_testkit;
typedef struct akt_probe akt_probe;

/* Defaults and limits. */
#define AKT_TESTKIT_DEFAULT_SEED UINT64_C(0x5eed)
#define AKT_TESTKIT_DEFAULT_TIMEOUT AKT_SECONDS(3)
#define AKT_TESTKIT_MAX_NODES 64
#define AKT_PROBE_MAX_QUEUE 65536   /* queued messages per probe; more go to dead letters */
#define AKT_PROBE_MAX_IGNORES 16
#define AKT_PROBE_FAILURE_MAX 2048  /* bytes of a failure description */

/* Pass as a timeout to use the testkit's default timeout. */
#define AKT_PROBE_DEFAULT_TIMEOUT UINT64_C(0)

typedef enum akt_testkit_backend {
  AKT_TESTKIT_SIM = 0, /* simulated world, virtual time (default) */
  AKT_TESTKIT_UV = 1   /* production backend, real time */
} akt_testkit_backend;

/* Options for akt_testkit_new. A zeroed struct (or NULL) means defaults. */
typedef struct akt_testkit_options {
  akt_testkit_backend backend;
  int use_seed;                 /* non-zero: `seed` wins over AKT_SEED */
  uint64_t seed;
  unsigned nodes;               /* systems to create (node0, node1, ...); 0 = 1 */
  const char *trace_path;       /* simulator: write the trace here */
  int fifo;                     /* simulator: FIFO turns instead of seeded choice */
  unsigned workers;             /* libuv backend: worker threads; 0 = CPUs */
  int check_stopped;            /* free fails the test if spawned actors still run */
  akt_duration default_timeout; /* 0 = AKT_TESTKIT_DEFAULT_TIMEOUT */
  akt_log_level log_level;      /* systems' log level; default AKT_LOG_WARN */
  const akt_system_options *system; /* other system options (host, throughput, ...) */
} akt_testkit_options;

/* Creates a testkit; fails the current test (cmocka) if it cannot. `test`
 * names the test for replay hints (the macro passes the calling function). */
akt_testkit *akt__testkit_new(const akt_testkit_options *opts, const char *test, const char *file,
                              int line);
/* Variadic so a compound literal with commas can be passed directly. */
#define akt_testkit_new(...) akt__testkit_new(__VA_ARGS__, __func__, __FILE__, __LINE__)

/* Shuts every system down, frees everything. With check_stopped, fails the
 * test first if an actor spawned through the testkit is still running, or
 * if shutdown does not finish. NULL is a no-op. */
void akt__testkit_free(akt_testkit *tk, const char *file, int line);
#define akt_testkit_free(tk) akt__testkit_free((tk), __FILE__, __LINE__)

/* The system of node 0, or of node `i` (NULL if out of range). */
akt_system *akt_testkit_system(akt_testkit *tk);
akt_system *akt_testkit_node(akt_testkit *tk, unsigned i);

/* The simulated world, or NULL on the libuv backend. */
akt_sim_world *akt_testkit_world(akt_testkit *tk);

/* The seed in use (also for the libuv backend's PRNG). */
uint64_t akt_testkit_seed(akt_testkit *tk);

/* The backend kind in use. */
akt_testkit_backend akt_testkit_backend_kind(akt_testkit *tk);

/* Spawns an actor under /user of node 0; fails the test on error. Returns a
 * PID owned by the testkit. */
akt_pid *akt__testkit_spawn(akt_testkit *tk, const char *name, const akt_actor_def *def,
                            const akt_spawn_opts *opts, const char *file, int line);
#define akt_testkit_spawn(tk, name, def) \
  akt__testkit_spawn((tk), (name), (def), NULL, __FILE__, __LINE__)
#define akt_testkit_spawn_opts(tk, name, def, opts) \
  akt__testkit_spawn((tk), (name), (def), (opts), __FILE__, __LINE__)

/* Lets `d` of time pass: runs the world (simulator) or waits (libuv). */
void akt_testkit_advance(akt_testkit *tk, akt_duration d);

/* Runs until no actor has work left (timers may still be armed). On the
 * simulator, also returns when max_steps is hit (returns AKT_ELIMIT);
 * on libuv waits at most the default timeout (AKT_ETIMEDOUT). Returns 0. */
int akt_testkit_run_until_idle(akt_testkit *tk);

/* The testkit's clock (virtual on the simulator), in ns. */
uint64_t akt_testkit_now(akt_testkit *tk);

/* Writes the replay hint ("AKT_SEED=0x... <program> --filter <test>") to buf. */
void akt_testkit_replay_hint(akt_testkit *tk, char *buf, size_t size);

/* Parses the test program's arguments: `--filter PATTERN` (cmocka test
 * filter, * and ? wildcards) and `--help`. Call from main before running
 * the tests. Returns 0, or 1 if the program should exit (help printed), or
 * AKT_EINVAL (usage printed) for an unknown argument. */
int akt_testkit_parse_args(int argc, char **argv);

/* ---- probes -------------------------------------------------------------- */

/* A predicate over a received message (and its sender, may be NULL). */
typedef int (*akt_probe_pred)(const ProtobufCMessage *msg, akt_pid *sender, void *arg);

/* Creates a probe on node 0 (or node `node`), owned by the testkit; fails
 * the test on error. `name` labels it in traces and failures. */
akt_probe *akt__probe_new(akt_testkit *tk, unsigned node, const char *name, const char *file,
                          int line);
#define akt_probe_new(tk, name) akt__probe_new((tk), 0, (name), __FILE__, __LINE__)
#define akt_probe_new_on(tk, node, name) akt__probe_new((tk), (node), (name), __FILE__, __LINE__)

/* The probe's PID (owned by the probe). */
akt_pid *akt_probe_pid(akt_probe *p);

/* Sends `msg` to `to` as the probe. Fails the test on a send error other
 * than AKT_ESTOPPED (a terminated receiver: the message is a dead letter). */
void akt__probe_tell(akt_probe *p, akt_pid *to, const ProtobufCMessage *msg, const char *file,
                     int line);
#define akt_probe_tell(p, to, msg) akt__probe_tell((p), (to), (msg), __FILE__, __LINE__)

/* Replies to the sender of the last message the probe received (completing
 * its request if it was one). Fails the test if there is none. */
void akt__probe_reply(akt_probe *p, const ProtobufCMessage *msg, const char *file, int line);
#define akt_probe_reply(p, msg) akt__probe_reply((p), (msg), __FILE__, __LINE__)

/* Forwards the last received message to `to`, keeping its sender. */
void akt__probe_forward(akt_probe *p, akt_pid *to, const char *file, int line);
#define akt_probe_forward(p, to) akt__probe_forward((p), (to), __FILE__, __LINE__)

/* Watches `target`: its termination arrives as akt.Terminated. */
void akt__probe_watch(akt_probe *p, akt_pid *target, const char *file, int line);
#define akt_probe_watch(p, target) akt__probe_watch((p), (target), __FILE__, __LINE__)

/* Drops, now and later, every message for which pred returns non-zero
 * (noise such as heartbeats). Up to AKT_PROBE_MAX_IGNORES filters. */
void akt_probe_ignore(akt_probe *p, akt_probe_pred pred, void *arg);

/* Drops the filters set with akt_probe_ignore. */
void akt_probe_ignore_none(akt_probe *p);

/* The sender of the last message received (borrowed), or NULL. */
akt_pid *akt_probe_last_sender(akt_probe *p);

/* When the last message an expectation took arrived in the probe's queue,
 * on the testkit's clock (akt_testkit_now: virtual on the simulator); 0
 * before the first and after akt_probe_clear. On libuv, "it came no sooner
 * than 100 ms after I sent X" is checked as
 * `akt_probe_last_arrival(p) - t0 >= AKT_MILLIS(100)` with t0 read before
 * sending X: akt_probe_expect_within counts `min` from its own call, which
 * a loaded machine may start well after X was sent. */
uint64_t akt_probe_last_arrival(akt_probe *p);

/* Discards queued messages and frees the messages returned so far. */
void akt_probe_clear(akt_probe *p);

/* Messages queued and not yet taken by an expectation. */
size_t akt_probe_queued(akt_probe *p);

/* Non-fatal expectations: each returns 0 on success (writing the message to
 * *out when out is not NULL), or a negative code with a description in
 * `why` (AKT_PROBE_FAILURE_MAX bytes): AKT_ETIMEDOUT (nothing suitable
 * arrived in time), AKT_EPROTO (something else arrived first). A timeout
 * of AKT_PROBE_DEFAULT_TIMEOUT means the testkit's default. */
int akt_probe_try_expect_msg(akt_probe *p, const ProtobufCMessageDescriptor *desc,
                             akt_duration timeout, const ProtobufCMessage **out, char *why);
int akt_probe_try_expect_equal(akt_probe *p, const ProtobufCMessage *expected,
                               akt_duration timeout, char *why);
int akt_probe_try_expect_match(akt_probe *p, akt_probe_pred pred, void *arg,
                               akt_duration timeout, const ProtobufCMessage **out, char *why);
int akt_probe_try_expect_any_of(akt_probe *p, const ProtobufCMessageDescriptor *const *descs,
                                size_t n, akt_duration timeout, const ProtobufCMessage **out,
                                char *why);
/* Expects a message of type desc arriving no earlier than min and no later
 * than max from now. */
int akt_probe_try_expect_within(akt_probe *p, const ProtobufCMessageDescriptor *desc,
                                akt_duration min, akt_duration max, const ProtobufCMessage **out,
                                char *why);
/* Expects nothing to arrive for `d`. AKT_EPROTO if something did. */
int akt_probe_try_expect_no_msg(akt_probe *p, akt_duration d, char *why);
/* Expects akt.Terminated from `target` (watch it first). */
int akt_probe_try_expect_terminated(akt_probe *p, akt_pid *target, akt_duration timeout,
                                    char *why);
/* Skips messages until pred holds (at most `max` skipped: AKT_ELIMIT). */
int akt_probe_try_fish_for(akt_probe *p, akt_probe_pred pred, void *arg, size_t max,
                           akt_duration timeout, const ProtobufCMessage **out, char *why);
/* Receives exactly n messages (each within timeout) into out[0..n). */
int akt_probe_try_receive_n(akt_probe *p, size_t n, akt_duration timeout,
                            const ProtobufCMessage **out, char *why);

/* Fatal expectations: as the try_ forms, but fail the cmocka test on
 * failure; they return the message (valid until akt_probe_clear or free). */
const ProtobufCMessage *akt__probe_expect_msg(akt_probe *p, const ProtobufCMessageDescriptor *desc,
                                              akt_duration timeout, const char *file, int line);
#define akt_probe_expect_msg(p, desc, timeout) \
  akt__probe_expect_msg((p), (desc), (timeout), __FILE__, __LINE__)

void akt__probe_expect_equal(akt_probe *p, const ProtobufCMessage *expected,
                             akt_duration timeout, const char *file, int line);
#define akt_probe_expect_equal(p, expected, timeout) \
  akt__probe_expect_equal((p), (expected), (timeout), __FILE__, __LINE__)

const ProtobufCMessage *akt__probe_expect_match(akt_probe *p, akt_probe_pred pred, void *arg,
                                                akt_duration timeout, const char *file, int line);
#define akt_probe_expect_match(p, pred, arg, timeout) \
  akt__probe_expect_match((p), (pred), (arg), (timeout), __FILE__, __LINE__)

const ProtobufCMessage *akt__probe_expect_any_of(akt_probe *p,
                                                 const ProtobufCMessageDescriptor *const *descs,
                                                 size_t n, akt_duration timeout, const char *file,
                                                 int line);
#define akt_probe_expect_any_of(p, descs, n, timeout) \
  akt__probe_expect_any_of((p), (descs), (n), (timeout), __FILE__, __LINE__)

const ProtobufCMessage *akt__probe_expect_within(akt_probe *p,
                                                 const ProtobufCMessageDescriptor *desc,
                                                 akt_duration min, akt_duration max,
                                                 const char *file, int line);
#define akt_probe_expect_within(p, desc, min, max) \
  akt__probe_expect_within((p), (desc), (min), (max), __FILE__, __LINE__)

void akt__probe_expect_no_msg(akt_probe *p, akt_duration d, const char *file, int line);
#define akt_probe_expect_no_msg(p, d) akt__probe_expect_no_msg((p), (d), __FILE__, __LINE__)

void akt__probe_expect_terminated(akt_probe *p, akt_pid *target, akt_duration timeout,
                                  const char *file, int line);
#define akt_probe_expect_terminated(p, target, timeout) \
  akt__probe_expect_terminated((p), (target), (timeout), __FILE__, __LINE__)

const ProtobufCMessage *akt__probe_fish_for(akt_probe *p, akt_probe_pred pred, void *arg,
                                            size_t max, akt_duration timeout, const char *file,
                                            int line);
#define akt_probe_fish_for(p, pred, arg, max, timeout) \
  akt__probe_fish_for((p), (pred), (arg), (max), (timeout), __FILE__, __LINE__)

void akt__probe_receive_n(akt_probe *p, size_t n, akt_duration timeout,
                          const ProtobufCMessage **out, const char *file, int line);
#define akt_probe_receive_n(p, n, timeout, out) \
  akt__probe_receive_n((p), (n), (timeout), (out), __FILE__, __LINE__)

/* Receives messages while pred holds, each within timeout, at most max;
 * returns how many were received (the first that fails pred stays queued). */
size_t akt_probe_receive_while(akt_probe *p, akt_probe_pred pred, void *arg, size_t max,
                               akt_duration timeout, const ProtobufCMessage **out);

#ifdef __cplusplus
}
#endif

#endif
