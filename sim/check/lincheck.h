/* akt — a linearizability checker for request/response histories
 * (internal, for the simulator's workloads and tests).
 *
 * A history is the operations clients issued on objects (grains), each with
 * the time it was called and the time its response came back. It is
 * linearizable when every operation can be given one instant between its
 * call and its response such that, taken in that order, the operations are
 * a legal run of the object's sequential model (Herlihy & Wing, 1990).
 * Objects are independent (linearizability is local), so each key is
 * checked on its own.
 *
 * Models, chosen per key by the operations it holds:
 *   counter   INC(id, amount) and READ. Increments with one id are one
 *             increment: the first to take effect adds its amount, the
 *             others add nothing (a client's retry of the same id must not
 *             count twice). An INC may report the counter right after it.
 *   register  WRITE(value) and READ; a READ returns the last value written.
 * Both start at 0.
 *
 * An operation whose response never came (ret = AKT__LIN_PENDING) may have
 * taken effect at any instant after its call, or not at all; a READ without
 * a response says nothing and is ignored.
 *
 * The search is Wing & Gong's, with Lowe's memoization as Porcupine does it
 * (Lowe, "Testing for linearizability", 2017; github.com/anishathalye/
 * porcupine): walk the calls and responses in time order, linearize an
 * operation whose call has been seen, backtrack at a response whose
 * operation is not linearized yet, and never revisit a (set of linearized
 * operations, state) pair. It is exponential in the worst case, so it is
 * bounded: a key with more operations than the cap is reported too large
 * without searching, and a search that exceeds its step or memory budget
 * gives up with a result that says so — never a silent pass, never a run
 * that does not end.
 *
 * When a key is not linearizable the checker shrinks its history to a small
 * failing sub-history: it drops reads, and turns writes and increments
 * into "may take effect at any time, or not at all", as long as the rest
 * still fails. Weakening an operation that way only allows more, so what
 * remains fails whatever the weakened operations did: the witness is real,
 * not an artefact of deleting an increment a read had seen.
 *
 * Pure computation: no clock, no random numbers, no global state; the same
 * history gives the same report.
 */
#ifndef AKT_SIM_CHECK_LINCHECK_H
#define AKT_SIM_CHECK_LINCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AKT__LIN_OPS_MAX 4096                   /* hard cap on a key's operations */
#define AKT__LIN_OPS_DEFAULT 512                /* default cap */
#define AKT__LIN_STEPS_DEFAULT 20000000         /* default search steps per check */
#define AKT__LIN_MEMO_BYTES_DEFAULT (64u << 20) /* default memo memory per check */
#define AKT__LIN_SHRINK_CHECKS_DEFAULT 2000     /* default checks spent shrinking */

/* A response time meaning "no response came". */
#define AKT__LIN_PENDING UINT64_MAX

typedef enum akt__lin_kind {
  AKT__LIN_INC = 1, /* counter: add `arg` once per id; may report the value after */
  AKT__LIN_READ,    /* counter or register: `value` is what was read */
  AKT__LIN_WRITE,   /* register: set to `arg` */
} akt__lin_kind;

/* One operation. */
typedef struct akt__lin_op {
  uint64_t key; /* the object */
  akt__lin_kind kind;
  uint64_t id;     /* INC: its id (see the counter model); others: a label */
  int64_t arg;     /* INC: the amount; WRITE: the value */
  int64_t value;   /* READ: the value read; INC with has_value: the counter after it */
  int has_value;   /* INC: `value` holds the counter right after it */
  uint64_t call;   /* when it was called */
  uint64_t ret;    /* when its response came (>= call), or AKT__LIN_PENDING */
  uint32_t client; /* who called it: reports only */
} akt__lin_op;

typedef enum akt__lin_result {
  AKT__LIN_OK = 0,        /* linearizable */
  AKT__LIN_VIOLATION = 1, /* not linearizable */
  AKT__LIN_TOO_LARGE = 2, /* more operations than the cap: not searched */
  AKT__LIN_GAVE_UP = 3,   /* the search ran out of steps or memory */
} akt__lin_result;

/* Budgets; zero fields mean the defaults above. */
typedef struct akt__lin_options {
  size_t max_ops;         /* per key, 1..AKT__LIN_OPS_MAX */
  uint64_t max_steps;     /* per search */
  size_t max_memo_bytes;  /* per search */
  uint32_t shrink_checks; /* searches spent shrinking a failing key */
} akt__lin_options;

/* What a check found. */
typedef struct akt__lin_report {
  /* The worst result over all keys: VIOLATION before TOO_LARGE before
   * GAVE_UP before OK. */
  akt__lin_result result;
  size_t keys, keys_ok, keys_violation, keys_too_large, keys_gave_up;
  /* The smallest key whose result is `result` (unset when OK). */
  uint64_t key;
  size_t key_ops; /* its operations */
  /* For a VIOLATION: the shrunk failing sub-history, as indices into the
   * caller's ops array ordered by call time (owned by the report), and how
   * many of the key's other operations it weakened. */
  size_t *witness;
  size_t nwitness;
  size_t weakened;
  /* 1 if weakening any single witness operation makes it pass; 0 if the
   * shrink budget ran out or a search gave up first. */
  int minimal;
  uint64_t steps;    /* search steps spent, shrinking included */
  uint64_t searches; /* searches run, shrinking included */
} akt__lin_report;

/* Checks the history ops[0..n) (any order) and fills *report (free it with
 * akt__lin_report_free). `opt` may be NULL. Returns 0 when the check ran —
 * its finding is report->result; AKT_EINVAL if ops is NULL with n > 0,
 * report is NULL, an option is out of range, or an operation is malformed
 * (unknown kind, ret < call, INC and WRITE on one key, an INC amount whose
 * sum over the key overflows); AKT_ENOMEM. On an error the report holds
 * nothing to free. */
int akt__lin_check(const akt__lin_op *ops, size_t n, const akt__lin_options *opt,
                   akt__lin_report *report);

/* Frees what the report owns; it reads as empty afterwards. */
void akt__lin_report_free(akt__lin_report *report);

/* Writes the report in words to f: the result, the key, and the witness's
 * operations one per line (ops is the array that was checked). */
void akt__lin_report_print(const akt__lin_report *report, const akt__lin_op *ops, FILE *f);

/* "ok", "not linearizable", "too large", "gave up". */
const char *akt__lin_result_name(akt__lin_result r);

#endif
