/* akt — what akt's asynchronous discovery providers share (DNS, mDNS,
 * Kubernetes): one lookup at a time, its deadline, its answer, and the
 * lifetime of a provider that the backend still owes callbacks (internal).
 *
 * A lookup. akt__dkit_begin starts one (and its deadline timer); the
 * provider then adds addresses (akt__dkit_add), or host names to resolve
 * through the backend (akt__dkit_resolve), and seals it when it will add
 * nothing more. The lookup is complete when it is sealed and every name it
 * resolves has answered; its answer — the addresses gathered, unique, at
 * most AKT_DISCOVERY_MAX_ADDRS — then goes to the cluster's callback. At
 * the deadline it goes anyway, with what it has (AKT_ETIMEDOUT if
 * nothing). Either way the answer is given by the backend callback that
 * completed the lookup, on the I/O context, never from inside lookup.
 *
 * Lifetime. The backend owes a provider callbacks that cannot be taken
 * back (a name lookup, offloaded work), and free may come first: the
 * cluster stops, or a simulated node crashes, with a lookup in flight. So
 * a provider is reference-counted: one reference is its owner's, dropped
 * by free; each callback the backend owes holds one (a timer too, given
 * back at once when it is canceled in time); the last reference frees the
 * provider (its `destroy`). A callback of a lookup that is over (answered,
 * canceled, or timed out), or of a freed provider, finds it so and does
 * nothing but let go of its reference.
 *
 * Threads. Everything but free runs on the backend's I/O context; free
 * may run on a user thread (production frees systems there). The kit's
 * mutex orders the two. Every akt__dkit_* function below but init, fini,
 * lock and the release family expects it held. The cluster's callback and
 * a provider's own work that calls into the backend run with it held
 * except the answer, which is given after it is released (the cluster
 * takes its own lock there, and holds it when it calls lookup or cancel:
 * lock order cluster, then kit). A backend call that waits for the I/O
 * context (dgram_close waits for a running on_recv, which takes the kit's
 * lock) is made with the lock released.
 */
#ifndef AKT_CLUSTER_DISCOVERY_KIT_H
#define AKT_CLUSTER_DISCOVERY_KIT_H

#include <pthread.h>
#include <stdint.h>

#include "akt/discovery.h"

typedef struct akt__dkit akt__dkit;

#define AKT__DKIT_DETAIL 256 /* bytes of a failure's description */

/* Frees the provider that embeds `k` (its own state, then akt__dkit_fini,
 * then its memory). Called once, by whoever drops the last reference,
 * without the lock. */
typedef void (*akt__dkit_destroy_fn)(akt__dkit *k);

/* An answer to give once the lock is released. */
typedef struct akt__dkit_answer {
  akt_discovery_fn cb; /* NULL: none */
  void *arg;
  int status;
  const akt_addr *addrs;
  size_t n;
} akt__dkit_answer;

struct akt__dkit {
  akt_discovery d;            /* what the cluster holds (d.impl = the provider) */
  const char *name;           /* the provider's, for logs */
  pthread_mutex_t mu;
  unsigned refs;              /* the owner's (until free) + one per callback owed */
  unsigned freed : 1;         /* free ran: callbacks only let go */
  unsigned sealed : 1;        /* the provider adds nothing more to this lookup */
  akt__dkit_destroy_fn destroy;
  akt_backend *b;             /* the backend of the first lookup (0: none yet) */
  akt_duration timeout;       /* a lookup's deadline */
  uint64_t gen;               /* the current lookup (or the last one) */
  akt_discovery_fn cb;        /* the lookup in flight; NULL when none */
  void *arg;
  uint64_t deadline;          /* its deadline timer, 0 when none */
  unsigned pending;           /* its name resolutions not yet answered */
  int error;                  /* its first failure */
  char detail[AKT__DKIT_DETAIL]; /* what that failure was, for the log ("" if nothing said) */
  int last_status;            /* of the last answer: a change is logged */
  akt_addr *addrs;            /* gathered so far: AKT_DISCOVERY_MAX_ADDRS */
  size_t n;
  akt_addr *answered;         /* the last answer, valid while it is given */
  akt_discovery_stats stats;
};

/* Sets up `k` with one reference (the owner's). Returns 0 or AKT_ENOMEM
 * (nothing left to undo). */
int akt__dkit_init(akt__dkit *k, const char *name, const akt_discovery_ops *ops, void *impl,
                   akt_duration timeout, akt__dkit_destroy_fn destroy);

/* Frees what init allocated (the provider's destroy calls it). */
void akt__dkit_fini(akt__dkit *k);

void akt__dkit_lock(akt__dkit *k);
void akt__dkit_unlock(akt__dkit *k);

/* Takes one more reference for a callback the backend will owe. */
void akt__dkit_ref(akt__dkit *k);

/* Ends a callback: releases the lock, gives `answer` (if its cb is set),
 * then drops the callback's reference, destroying the provider on the
 * last one. */
void akt__dkit_release(akt__dkit *k, const akt__dkit_answer *answer);

/* Drops a reference without a callback having run (a backend call that
 * failed, a timer canceled in time), with the lock held; the owner's
 * reference is still held, so it is never the last. */
void akt__dkit_unref(akt__dkit *k);

/* Starts a lookup: cb(status, addrs, n, arg) will run once, unless
 * cancel comes first. Returns 0, AKT_EINVAL (cb NULL), AKT_ESTATE (a
 * lookup is in flight, or the provider was freed), or the backend's code
 * for the deadline timer. */
int akt__dkit_begin(akt__dkit *k, akt_backend *b, akt_discovery_fn cb, void *arg);

/* Ends the lookup in flight, if any, without an answer (a cancel, or a
 * lookup whose start failed after begin). */
void akt__dkit_abort(akt__dkit *k);

/* 1 when `gen` is the lookup in flight and the provider is not freed. */
int akt__dkit_current(const akt__dkit *k, uint64_t gen);

/* Adds host:port to the lookup's answer unless it is there already;
 * beyond AKT_DISCOVERY_MAX_ADDRS it is dropped and counted. */
void akt__dkit_add(akt__dkit *k, const char *host, uint16_t port);

/* Adds host:port: at once for an IP literal, else once the backend has
 * resolved `host` (each of its addresses, at `port`). A name that does
 * not resolve is counted (names_failed) and its error kept for an answer
 * with no address. Returns 0 or the backend's code (counted as a failed
 * name). */
int akt__dkit_resolve(akt__dkit *k, const char *host, uint16_t port);

/* The provider will add nothing more to this lookup. Writes the answer
 * to give when the lookup is complete. */
void akt__dkit_seal(akt__dkit *k, akt__dkit_answer *out);

/* Notes a failure of the lookup (kept, with `detail` for the log, if it
 * is the first) and seals it with what it has: the answer is `code` when
 * it has no address. A failing lookup is logged (at WARN) when its
 * error differs from the last answer's; a recovery at INFO. */
void akt__dkit_fail(akt__dkit *k, int code, const char *detail, akt__dkit_answer *out);

/* Starts a provider timer holding a reference: fn(k, cookie) runs on the
 * I/O context and must end with akt__dkit_release. Writes its id to *id.
 * Returns 0 or the backend's code. */
int akt__dkit_timer(akt__dkit *k, akt_duration delay, akt_timer_fn fn, uint64_t cookie,
                    uint64_t *id);

/* Cancels the timer *id (if any) and sets it to 0; a timer canceled in
 * time gives its reference back. */
void akt__dkit_timer_cancel(akt__dkit *k, uint64_t *id);

/* The provider ops every kit provider shares. */
void akt__dkit_op_cancel(akt_discovery *d, akt_backend *b);
void akt__dkit_op_free(akt_discovery *d);
void akt__dkit_op_stats(akt_discovery *d, akt_discovery_stats *out);

/* 1 if `host` is an IPv4 or IPv6 literal. */
int akt__dkit_is_ip(const char *host);

/* 1 if `s` is an RFC 1123 label: 1..63 of [a-z0-9-], alphanumeric at both
 * ends (a Kubernetes namespace; the environment and the provider check
 * it alike). */
int akt__dkit_dns_label(const char *s);

/* Logs "discovery NAME: ..." through the backend (k->b must be set). */
void akt__dkit_log(akt__dkit *k, akt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
