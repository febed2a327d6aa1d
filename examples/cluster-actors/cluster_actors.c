/* akt-cluster-actors: a cluster-named actor that moves with its state.
 *
 * Three nodes (a, b, c) in one process, each a system on its own libuv
 * backend, talking over loopback. Every node registers the kind "account"
 * (a balance, handed over when it moves). Then:
 *
 *   1. a spawns "account-42" by name; b's spawn of the same name gets
 *      AKT_EEXIST — one actor, whoever asks;
 *   2. every node deposits to it by name, and c asks its balance;
 *   3. the node that hosts it leaves the cluster gracefully: the account
 *      stops there, its state goes to its new host, which starts it
 *      without waiting; the balance is intact;
 *   4. it is stopped for good: nobody finds it any more.
 *
 * It prints one line per step and exits 0, or 1 naming what failed (2
 * without a cookie). The nodes prove to each other that they share the
 * cluster's secret, AKT_COOKIE (at least 16 bytes):
 *
 *   AKT_COOKIE=$(openssl rand -hex 32) akt-cluster-actors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "akt/akt.h"
#include "akt/cluster.h"
#include "akt/cluster_actors.h"
#include "akt/remote.h"
#include "akt/transport.h"

#define NODES 3
#define TIMEOUT AKT_SECONDS(30) /* bounds a hang; nothing here takes that long */

/* ---- the account ------------------------------------------------------------------------ */

typedef struct account {
  int64_t amount;
  uint32_t deposits;
} account;

static int account_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  account *s = akt_ctx_state(ctx);
  if (akt_msg_is(msg, &accounts__deposit__descriptor)) {
    s->amount += ((const Accounts__Deposit *)msg)->amount;
    s->deposits++;
    return 0;
  }
  if (akt_msg_is(msg, &accounts__balance__descriptor)) {
    Accounts__BalanceIs r = ACCOUNTS__BALANCE_IS__INIT;
    r.amount = s->amount;
    r.deposits = s->deposits;
    r.host = (char *)(uintptr_t)akt_system_name(akt_ctx_system(ctx));
    return akt_reply(ctx, &r.base);
  }
  return AKT_EUNHANDLED;
}

/* Runs after the account's last message on a node it leaves. */
static int account_handoff(akt_ctx *ctx) {
  const account *s = akt_ctx_state(ctx);
  Accounts__State st = ACCOUNTS__STATE__INIT;
  st.amount = s->amount;
  st.deposits = s->deposits;
  return akt_cluster_handoff_state(ctx, &st.base);
}

/* Runs in the new activation before its first message. */
static int account_restore(akt_ctx *ctx, const ProtobufCMessage *state,
                           akt_cluster_state_from from) {
  (void)from;
  account *s = akt_ctx_state(ctx);
  const Accounts__State *st = (const Accounts__State *)state;
  s->amount = st->amount;
  s->deposits = st->deposits;
  return 0;
}

static const akt_actor_def account_def = {
    .kind = "account", .state_size = sizeof(account), .receive = account_receive};

static const akt_cluster_kind account_kind = {.name = "account",
                                              .def = &account_def,
                                              .state_type = &accounts__state__descriptor,
                                              .handoff = account_handoff,
                                              .restore = account_restore};

/* ---- the nodes ------------------------------------------------------------------------------ */

typedef struct node {
  const char *name;
  akt_backend *b;
  akt_system *sys;
} node;

static int check(int rc, const char *what) {
  if (rc) fprintf(stderr, "akt-cluster-actors: %s: %s\n", what, akt_strerror(rc));
  return rc;
}

static int start(node *n, const akt_addr *seed, const char *cookie) {
  int rc = akt_uv_backend_new(NULL, &n->b);
  akt_system_options so = {.host = "127.0.0.1", .log_level = AKT_LOG_ERROR};
  if (!rc) rc = akt_system_new(n->name, n->b, &so, &n->sys);
  const ProtobufCMessageDescriptor *types[] = {
      &accounts__deposit__descriptor, &accounts__balance__descriptor,
      &accounts__balance_is__descriptor, &accounts__state__descriptor};
  for (size_t i = 0; !rc && i < sizeof types / sizeof *types; i++)
    rc = akt_system_register_type(n->sys, types[i]);
  akt_remote_options ro = {.host = "127.0.0.1", .port = 0, .security.cookie = cookie};
  if (!rc) rc = akt_remote_start(n->sys, &ro);
  akt_cluster_options co = {.host = "127.0.0.1", .seeds = seed, .nseeds = seed ? 1 : 0};
  if (!rc) rc = akt_cluster_start(n->sys, &co);
  if (!rc) rc = akt_cluster_actors_start(n->sys, NULL);
  if (!rc) rc = akt_cluster_register_kind(n->sys, &account_kind);
  return check(rc, n->name);
}

/* Ready when the node hosts under a configuration of `want` members. */
typedef struct ready_arg {
  akt_system *sys;
  uint64_t want;
} ready_arg;

static int ready(void *arg) {
  ready_arg *r = arg;
  akt_cluster_actors_stats st;
  akt_cluster_actors_get_stats(r->sys, &st);
  return st.members == r->want && st.lease_valid;
}

static int wait_ready(node *n, uint64_t members) {
  ready_arg r = {n->sys, members};
  return check(n->b->ops->wait(n->b, ready, &r, n->b->ops->now(n->b) + TIMEOUT), "waiting");
}

/* Does `sys` resolve `name`? A name resolves by each node's own log: the
 * node whose spawn returned knows it, the others within a commit's round
 * trip, and a tell to a name a node does not know yet is a dead letter. */
typedef struct known_arg {
  akt_system *sys;
  const char *name;
} known_arg;

static int known(void *arg) {
  known_arg *k = arg;
  akt_pid *pid = NULL;
  int rc = akt_cluster_lookup(k->sys, k->name, TIMEOUT, &pid);
  akt_pid_release(pid);
  return rc == 0;
}

static int wait_known(node *n, const char *name) {
  known_arg k = {n->sys, name};
  return check(n->b->ops->wait(n->b, known, &k, n->b->ops->now(n->b) + TIMEOUT), "resolving");
}

/* Asks the balance of `name` from node `n` until `deposits` arrived: tells
 * from different nodes have no order between them, and on a busy machine
 * one may take longer than any number of asks, so the asking is bounded by
 * time (a hang bound), not by a count. */
static int balance(node *n, const char *name, uint32_t deposits, Accounts__BalanceIs **out) {
  uint64_t deadline = n->b->ops->now(n->b) + TIMEOUT;
  while (n->b->ops->now(n->b) < deadline) {
    Accounts__Balance q = ACCOUNTS__BALANCE__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = akt_cluster_ask(n->sys, name, &q.base, TIMEOUT, &reply);
    if (rc) return check(rc, "asking the balance");
    Accounts__BalanceIs *r = (Accounts__BalanceIs *)reply;
    if (r->deposits >= deposits) {
      *out = r;
      return 0;
    }
    akt_msg_free(reply);
  }
  return check(AKT_ETIMEDOUT, "waiting for the deposits");
}

static int run(node *nodes, const char *cookie) {
  akt_member seed;
  if (start(&nodes[0], NULL, cookie) || check(akt_cluster_self(nodes[0].sys, &seed), "self"))
    return 1;
  for (int i = 1; i < NODES; i++)
    if (start(&nodes[i], &seed.addr, cookie)) return 1;
  for (int i = 0; i < NODES; i++)
    if (wait_ready(&nodes[i], NODES)) return 1;
  printf("cluster: %d nodes host cluster actors\n", NODES);

  /* 1. One actor, whoever asks. */
  if (check(akt_cluster_spawn(nodes[0].sys, "account-42", "account", NULL, TIMEOUT), "spawn"))
    return 1;
  int again = akt_cluster_spawn(nodes[1].sys, "account-42", "account", NULL, TIMEOUT);
  printf("a: spawned account-42; b: spawn again -> %s\n", akt_strerror(again));
  if (again != AKT_EEXIST) return 1;

  /* 2. Deposits by name from everywhere, once every node knows the name. */
  for (int i = 0; i < NODES; i++)
    if (wait_known(&nodes[i], "account-42")) return 1;
  for (int i = 0; i < NODES; i++) {
    Accounts__Deposit d = ACCOUNTS__DEPOSIT__INIT;
    d.amount = 10 * (i + 1);
    if (check(akt_cluster_tell(nodes[i].sys, "account-42", &d.base, NULL), "deposit")) return 1;
  }
  Accounts__BalanceIs *r;
  if (balance(&nodes[2], "account-42", NODES, &r)) return 1;
  printf("c: account-42 on %s holds %lld after %u deposits\n", r->host, (long long)r->amount,
         r->deposits);
  node *host = NULL;
  for (int i = 0; i < NODES; i++)
    if (!strcmp(nodes[i].name, r->host)) host = &nodes[i];
  int ok = r->amount == 60;
  akt_msg_free(&r->base);
  if (!ok || !host) return 1;

  /* 3. Its host leaves: the account moves with its state. */
  if (check(akt_cluster_leave(host->sys, TIMEOUT), "leave")) return 1;
  node *asker = host == &nodes[0] ? &nodes[1] : &nodes[0];
  if (wait_ready(asker, NODES - 1)) return 1;
  if (balance(asker, "account-42", NODES, &r)) return 1;
  printf("%s left; %s: account-42 on %s holds %lld after %u deposits\n", host->name, asker->name,
         r->host, (long long)r->amount, r->deposits);
  ok = r->amount == 60 && strcmp(r->host, host->name) != 0;
  akt_msg_free(&r->base);
  if (!ok) return 1;

  /* 4. Stopped for good. */
  if (check(akt_cluster_actor_stop(asker->sys, "account-42", TIMEOUT), "stop")) return 1;
  akt_pid *pid = NULL;
  int found = akt_cluster_lookup(asker->sys, "account-42", TIMEOUT, &pid);
  printf("%s: stopped account-42; lookup -> %s\n", asker->name, akt_strerror(found));
  return found == AKT_ENOENT ? 0 : 1;
}

int main(void) {
  const char *cookie = getenv("AKT_COOKIE");
  if (!cookie || !*cookie) {
    fprintf(stderr, "set AKT_COOKIE to the cluster's secret (e.g. $(openssl rand -hex 32))\n");
    return 2;
  }
  node nodes[NODES] = {{.name = "a"}, {.name = "b"}, {.name = "c"}};
  int rc = run(nodes, cookie);
  for (int i = NODES - 1; i >= 0; i--) {
    if (nodes[i].sys) akt_system_free(nodes[i].sys);
    if (nodes[i].b) akt_uv_backend_free(nodes[i].b);
  }
  return rc;
}
