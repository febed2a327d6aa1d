/* akt — workload "bank": a teller on node0 moves money between accounts
 * held by actors on every node. A transfer is a debit, then a credit, each a
 * request retried until acknowledged; accounts apply each transfer id once
 * (they remember what they applied, on their node's disk) and answer a
 * retry with the first outcome. Checked: money is conserved (no more than
 * the transfers in flight is missing, none is created), nothing applies
 * twice, and after the quiet period every transfer has settled.
 *
 * Parameters: accounts=10 initial=1000 transfers=300 window=4 pace=50ms
 * timeout=500ms.
 */
#include <stdlib.h>

#include "sim/workloads/common.h"

#define MAX_ACCOUNTS 64
#define MAX_TRANSFERS 4096

enum { NONE = 0, DEBITING, CREDITING, DONE, REFUSED };

typedef struct xfer {
  uint8_t phase;
  uint8_t waiting;          /* a request is outstanding */
  uint8_t debits, credits;  /* the oracle: how often each side was applied */
  uint16_t from, to;
  int64_t amount;
} xfer;

typedef struct disk {       /* an account's durable storage */
  int64_t balance;
  uint8_t debit_seen[MAX_TRANSFERS];  /* 0 unseen, 1 applied, 2 refused */
  uint8_t credit_seen[MAX_TRANSFERS];
} disk;

typedef struct bank_state {
  int64_t total;            /* money in the bank */
  uint32_t started;         /* transfers the teller began */
  uint64_t retries;
  disk acct[MAX_ACCOUNTS];
  xfer x[MAX_TRANSFERS];    /* the teller's durable log */
} bank_state;

static uint32_t param(akt_scenario *sc, const char *name, int64_t dflt, int64_t max) {
  int64_t v = akt_scenario_param(sc, name, dflt);
  return (uint32_t)(v < 1 ? 1 : v > max ? max : v);
}

/* ---- accounts ---------------------------------------------------------------------- */

static int account_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  bank_state *st = akt_scenario_state(akt__wl_sc(ctx));
  const char *name = akt_pid_name(akt_ctx_self(ctx));
  disk *d = &st->acct[strtoul(name + 5, NULL, 10) % MAX_ACCOUNTS];
  Aktsim__Outcome out = AKTSIM__OUTCOME__INIT;
  if (akt_msg_is(msg, &aktsim__debit__descriptor)) {
    const Aktsim__Debit *m = (const Aktsim__Debit *)msg;
    if (m->id >= MAX_TRANSFERS) return 0;
    if (!d->debit_seen[m->id]) { /* first time: apply and remember */
      int ok = d->balance >= m->amount;
      if (ok) {
        d->balance -= m->amount;
        st->x[m->id].debits++;
      }
      d->debit_seen[m->id] = ok ? 1 : 2;
    }
    out.id = m->id;
    out.ok = d->debit_seen[m->id] == 1;
  } else if (akt_msg_is(msg, &aktsim__credit__descriptor)) {
    const Aktsim__Credit *m = (const Aktsim__Credit *)msg;
    if (m->id >= MAX_TRANSFERS) return 0;
    if (!d->credit_seen[m->id]) {
      d->balance += m->amount;
      st->x[m->id].credits++;
      d->credit_seen[m->id] = 1;
    }
    out.id = m->id;
    out.ok = 1;
  } else {
    return AKT_EUNHANDLED;
  }
  akt_reply(ctx, &out.base);
  return 0;
}

static const akt_actor_def account_def = {.kind = "account", .receive = account_receive};

/* ---- the teller ---------------------------------------------------------------------- */

typedef struct teller {
  akt_pid *acct[MAX_ACCOUNTS];
} teller;

static int on_outcome(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg);

/* Sends the transfer's next request (its debit or its credit). */
static void send_step(akt_ctx *ctx, uint32_t id) {
  akt_scenario *sc = akt__wl_sc(ctx);
  bank_state *st = akt_scenario_state(sc);
  teller *t = akt_ctx_state(ctx);
  xfer *x = &st->x[id];
  akt_duration timeout = (akt_duration)akt_scenario_param(sc, "timeout", AKT_MILLIS(500));
  int rc;
  if (x->phase == DEBITING) {
    Aktsim__Debit m = AKTSIM__DEBIT__INIT;
    m.id = id;
    m.amount = x->amount;
    rc = akt_request(ctx, t->acct[x->from], &m.base, timeout, on_outcome, (void *)(uintptr_t)id);
  } else {
    Aktsim__Credit m = AKTSIM__CREDIT__INIT;
    m.id = id;
    m.amount = x->amount;
    rc = akt_request(ctx, t->acct[x->to], &m.base, timeout, on_outcome, (void *)(uintptr_t)id);
  }
  x->waiting = rc == 0; /* a refused send is retried on the next tick */
}

static int on_outcome(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  bank_state *st = akt_scenario_state(akt__wl_sc(ctx));
  uint32_t id = (uint32_t)(uintptr_t)arg;
  xfer *x = &st->x[id];
  x->waiting = 0;
  if (status != 0) { /* timed out: the next tick retries the same step */
    st->retries++;
    return 0;
  }
  const Aktsim__Outcome *o = (const Aktsim__Outcome *)reply;
  if (!akt_msg_is(reply, &aktsim__outcome__descriptor) || o->id != id) return 0;
  if (x->phase == DEBITING) {
    x->phase = o->ok ? CREDITING : REFUSED;
    if (x->phase == CREDITING) send_step(ctx, id);
  } else if (x->phase == CREDITING) {
    x->phase = DONE;
  }
  return 0;
}

static int teller_start(akt_ctx *ctx) {
  akt_scenario *sc = akt__wl_sc(ctx);
  teller *t = akt_ctx_state(ctx);
  uint32_t accounts = param(sc, "accounts", 10, MAX_ACCOUNTS);
  size_t n = akt_scenario_nodes(sc);
  for (uint32_t a = 0; a < accounts; a++) {
    char path[64];
    snprintf(path, sizeof path, "/user/acct-%u", a);
    int rc = akt__wl_pid(sc, akt_ctx_system(ctx), a % n, path, &t->acct[a]);
    if (rc) return rc;
  }
  Aktsim__Tick tick = AKTSIM__TICK__INIT;
  akt_duration pace = (akt_duration)akt_scenario_param(sc, "pace", AKT_MILLIS(50));
  return akt_timer_start(ctx, 1, pace, pace, &tick.base);
}

static void teller_stop(akt_ctx *ctx) {
  teller *t = akt_ctx_state(ctx);
  for (size_t a = 0; a < MAX_ACCOUNTS; a++) akt_pid_release(t->acct[a]);
}

/* Each tick: retry what is not waiting for an answer, then start new
 * transfers while fewer than `window` are unsettled. */
static int teller_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &aktsim__tick__descriptor)) return AKT_EUNHANDLED;
  akt_scenario *sc = akt__wl_sc(ctx);
  bank_state *st = akt_scenario_state(sc);
  uint32_t accounts = param(sc, "accounts", 10, MAX_ACCOUNTS);
  uint32_t transfers = param(sc, "transfers", 300, MAX_TRANSFERS);
  uint32_t window = param(sc, "window", 4, 64), open = 0;
  for (uint32_t id = 0; id < st->started; id++) {
    xfer *x = &st->x[id];
    if (x->phase != DEBITING && x->phase != CREDITING) continue;
    open++;
    if (!x->waiting) send_step(ctx, id);
  }
  while (open < window && st->started < transfers && accounts > 1) {
    uint32_t id = st->started++;
    xfer *x = &st->x[id];
    x->from = (uint16_t)(akt_ctx_random(ctx) % accounts);
    x->to = (uint16_t)((x->from + 1 + akt_ctx_random(ctx) % (accounts - 1)) % accounts);
    x->amount = 1 + (int64_t)(akt_ctx_random(ctx) % 100);
    x->phase = DEBITING;
    send_step(ctx, id);
    open++;
  }
  return 0;
}

static const akt_actor_def teller_def = {.kind = "teller", .state_size = sizeof(teller),
                                         .pre_start = teller_start, .receive = teller_receive,
                                         .post_stop = teller_stop};

/* ---- nodes ------------------------------------------------------------------------------ */

static int node_start(akt_scenario *sc, size_t i, akt_backend *b) {
  (void)b;
  bank_state *st = akt_scenario_state(sc);
  uint32_t accounts = param(sc, "accounts", 10, MAX_ACCOUNTS);
  int64_t initial = akt_scenario_param(sc, "initial", 1000);
  if (st->total == 0) { /* the first start of the first node opens the bank */
    for (uint32_t a = 0; a < accounts; a++) st->acct[a].balance = initial;
    st->total = initial * accounts;
  }
  akt_system *sys;
  int rc = akt__wl_system(sc, i, &sys);
  if (rc) return rc;
  akt_spawn_opts o = {.arg = sc};
  size_t n = akt_scenario_nodes(sc);
  for (uint32_t a = 0; a < accounts && rc == 0; a++) {
    if (a % n != i) continue;
    char name[32];
    snprintf(name, sizeof name, "acct-%u", a);
    rc = akt_spawn(sys, name, &account_def, &o, NULL);
  }
  if (rc == 0 && i == 0) rc = akt_spawn(sys, "teller", &teller_def, &o, NULL);
  return rc;
}

static void node_down(akt_scenario *sc, size_t i) {
  if (i != 0) return;
  bank_state *st = akt_scenario_state(sc); /* the teller's outstanding requests died with it */
  for (uint32_t id = 0; id < st->started; id++) st->x[id].waiting = 0;
}

/* ---- checks ------------------------------------------------------------------------------ */

static int64_t balances(akt_scenario *sc) {
  bank_state *st = akt_scenario_state(sc);
  int64_t sum = 0;
  uint32_t accounts = param(sc, "accounts", 10, MAX_ACCOUNTS);
  for (uint32_t a = 0; a < accounts; a++) sum += st->acct[a].balance;
  return sum;
}

static int check_twice(akt_scenario *sc, char *why) {
  bank_state *st = akt_scenario_state(sc);
  for (uint32_t id = 0; id < st->started; id++) {
    const xfer *x = &st->x[id];
    if (x->debits > 1 || x->credits > 1) {
      snprintf(why, AKT_SCENARIO_WHY_MAX, "transfer %u applied twice: %u debits, %u credits", id,
               x->debits, x->credits);
      return 1;
    }
  }
  return 0;
}

/* Between (total - what is in flight) and total: in flight is what was
 * debited and not yet credited, and only unsettled transfers can be. */
static int check_conserved(akt_scenario *sc, char *why) {
  bank_state *st = akt_scenario_state(sc);
  int64_t sum = balances(sc), in_flight = 0;
  for (uint32_t id = 0; id < st->started; id++)
    if (st->x[id].phase == DEBITING || st->x[id].phase == CREDITING) in_flight += st->x[id].amount;
  if (sum > st->total || sum < st->total - in_flight) {
    snprintf(why, AKT_SCENARIO_WHY_MAX,
             "the accounts hold %lld but the bank holds %lld with %lld in flight", (long long)sum,
             (long long)st->total, (long long)in_flight);
    return 1;
  }
  return 0;
}

static int check_settled(akt_scenario *sc, char *why) {
  bank_state *st = akt_scenario_state(sc);
  uint32_t transfers = param(sc, "transfers", 300, MAX_TRANSFERS), open = 0, first = 0;
  for (uint32_t id = 0; id < st->started; id++) {
    uint8_t p = st->x[id].phase;
    if (p == DEBITING || p == CREDITING) {
      if (!open++) first = id;
    }
  }
  int64_t sum = balances(sc);
  if (st->started < transfers || open || sum != st->total) {
    snprintf(why, AKT_SCENARIO_WHY_MAX,
             "%u of %u transfers started, %u unsettled (first: %u), accounts hold %lld of %lld "
             "(%llu retries)",
             st->started, transfers, open, first, (long long)sum, (long long)st->total,
             (unsigned long long)st->retries);
    return 1;
  }
  return 0;
}

static const akt_workload_check checks[] = {
    {"no-double-apply", AKT_CHECK_SAFETY, check_twice},
    {"total-conserved", AKT_CHECK_SAFETY, check_conserved},
    {"all-settled", AKT_CHECK_LIVENESS, check_settled},
    {NULL, 0, NULL},
};

static const akt_workload_param params[] = {
    {"accounts", "accounts, spread over the nodes (default 10)"},
    {"initial", "money each account starts with (default 1000)"},
    {"transfers", "transfers the teller makes (default 300)"},
    {"window", "transfers open at once (default 4)"},
    {"pace", "time between the teller's steps (default 50ms)"},
    {"timeout", "how long a request waits before it is retried (default 500ms)"},
    {NULL, NULL},
};

const akt_workload akt__wl_bank = {
    .name = "bank",
    .summary = "transfers between accounts on every node with retried, deduplicated debits and credits",
    .state_size = sizeof(bank_state),
    .node_start = node_start,
    .node_down = node_down,
    .checks = checks,
    .params = params,
};
