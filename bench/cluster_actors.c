/* akt-bench — the cluster-actor rows: three nodes in this process, each a
 * system with remoting, membership and the cluster-actor layer at their
 * defaults, on one libuv backend over loopback (runtime akt), or on the
 * simulator (relocate-10k-sim, runtime akt-sim).
 *
 *   cluster-lookup       ns per akt_cluster_lookup, from node 1, of a name
 *                        node 1 has resolved before;
 *   cluster-lookup-cold  ns per first lookup, from node 1, of each of many
 *                        names just spawned (already active on their hosts);
 *   grain-tell           messages per second of akt_cluster_tell from one
 *                        thread on node 0 to 10 000 grains (virtual actors,
 *                        activated first) spread over the three nodes by
 *                        their partitions' owners, until every message was
 *                        received;
 *   relocate-10k         ms from the graceful leave of node 2, which hosts
 *                        10 000 named actors, until every one of them has
 *                        answered an ask from its new host (-sim: virtual ms).
 *
 * Everything goes through the public API, from a thread outside the
 * systems as an application's calls would, or from a "batch" actor that
 * keeps CA_WINDOW requests in flight (spawning many names, asking many). The
 * names are spread by the kind's default placement (the owner of the
 * name's partition), except relocate-10k's, spawned on node 2 (SpawnOn
 * local) so that all of them move when it leaves.
 *
 * On libuv only the join interval differs from the defaults (members look
 * for each other every CA_JOIN_INTERVAL instead of every second): it sets
 * how soon the cluster forms before a run, and nothing a row measures. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akt/cluster.h"
#include "akt/cluster_actors.h"
#include "akt/cluster_actors.pb-c.h"
#include "akt/remote.h"
#include "akt/sim.h"
#include "akt/transport.h"
#include "bench.h"
#include "bench.pb-c.h"
#include "src/util/assert.h"

#define CA_NODES 3
#define CA_ASKER 1                       /* the node that looks names up */
#define CA_LEAVER 2                      /* the node that leaves in relocate-10k */
#define CA_JOIN_INTERVAL AKT_MILLIS(100) /* libuv: how often members look for each other */
#define CA_STALL AKT_SECONDS(60)         /* a wait that sees no progress this long fails */
#define CA_REQUEST_TIMEOUT AKT_SECONDS(30) /* a spawn or lookup: only bounds a hang */
#define CA_ASK_TIMEOUT AKT_SECONDS(5)    /* an ask of relocate-10k; a late one is asked again */
/* Requests one batch actor keeps in flight: within AKT_MAX_PENDING_REQUESTS
 * (per actor) and the layer's own limit on waiting requests per node. */
#define CA_WINDOW 1024
#define CA_TELL_WINDOW 65536           /* grain-tell: messages sent and not yet received */
#define CA_PASSES_MAX 100              /* a batch's passes over names still to do */
#define CA_PASS_PAUSE AKT_MILLIS(10)   /* between two passes */
#define CA_NAME_MAX 32                 /* bytes of a name, with its NUL */
#define CA_SIM_SEED 16                 /* relocate-10k-sim: one history, replayed every run */
#define CA_SIM_REMOTING_PORT 2552
#define CA_SIM_GOSSIP_PORT 7946
#define CA_NAMED_KIND "bench-named"
#define CA_GRAIN_KIND "bgrain"

typedef char ca_name[CA_NAME_MAX];
typedef struct ca_bench ca_bench;

typedef struct ca_node {
  ca_bench *c;
  unsigned i;
  char name[16];
  akt_backend *b; /* borrowed: the shared libuv backend, or the world's node */
  akt_system *sys;
} ca_node;

struct ca_bench {
  akt_sim_world *w; /* the simulator's world, or NULL on libuv */
  akt_backend *uv;  /* the libuv backend of every node, or NULL */
  ca_node node[CA_NODES];
  char cookie[64];
  atomic_uint_least64_t delivered; /* Msg received by all activations */
  atomic_uint_least64_t wake_at;   /* the delivered count that wakes the driver */
  atomic_int counting;             /* relocate: count the moves from now on */
  atomic_uint_least64_t moved;     /* activations of named actors since, on the others */
  atomic_uint_least64_t handed;    /* ... of them started from a hand-off */
  atomic_uint_least64_t lost;      /* state-lost events of named actors since */
};

/* ---- the actor of both kinds ------------------------------------------------------------ */

typedef struct ca_actor {
  int64_t count; /* Msg received; handed over when it moves */
} ca_actor;

/* Counts a received Msg; the one that reaches wake_at wakes the driver. */
static void ca_count(ca_node *nd) {
  ca_bench *c = nd->c;
  uint64_t n = atomic_fetch_add(&c->delivered, 1) + 1;
  if (n == atomic_load(&c->wake_at)) nd->b->ops->wake(nd->b);
}

/* Msg is counted; Get is answered with the name of the node it runs on. */
static int ca_actor_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  ca_node *nd = (ca_node *)(uintptr_t)akt_cluster_ctx_arg(ctx);
  ca_actor *s = akt_ctx_state(ctx);
  if (msg->descriptor == &bench__msg__descriptor) {
    s->count++;
    ca_count(nd);
    return 0;
  }
  if (msg->descriptor == &bench__get__descriptor) {
    Bench__Host h = BENCH__HOST__INIT;
    h.name = nd->name;
    return akt_reply(ctx, &h.base);
  }
  return AKT_EUNHANDLED;
}

/* A move carries the count, as a user's actor carries its state. */
static int ca_actor_handoff(akt_ctx *ctx) {
  const ca_actor *s = akt_ctx_state(ctx);
  Bench__Count st = BENCH__COUNT__INIT;
  st.n = s->count;
  return akt_cluster_handoff_state(ctx, &st.base);
}

/* The new activation takes the count over. */
static int ca_actor_restore(akt_ctx *ctx, const ProtobufCMessage *state,
                            akt_cluster_state_from from) {
  (void)from;
  ca_actor *s = akt_ctx_state(ctx);
  s->count = ((const Bench__Count *)state)->n;
  return 0;
}

/* The actor of both kinds: its arg (the kind's) is its ca_node. */
static const akt_actor_def ca_actor_def = {
    .kind = "bench-cluster-actor", .state_size = sizeof(ca_actor), .receive = ca_actor_receive};

/* Counts, once relocate-10k's leave began, the named actors that start
 * on the nodes that stay, and state lost. Called under the layer's lock:
 * only counters. */
static void ca_listener(akt_system *sys, const akt_cluster_actor_event *ev, void *arg) {
  (void)sys;
  ca_node *nd = arg;
  ca_bench *c = nd->c;
  if (!atomic_load(&c->counting) || strcmp(ev->kind_name, CA_NAMED_KIND)) return;
  if (ev->kind == AKT_CLUSTER_ACTOR_STATE_LOST) atomic_fetch_add(&c->lost, 1);
  if (ev->kind != AKT_CLUSTER_ACTOR_ACTIVATED || nd->i == CA_LEAVER) return;
  if (!strcmp(ev->detail, "hand-off")) atomic_fetch_add(&c->handed, 1);
  atomic_fetch_add(&c->moved, 1);
}

/* ---- the cluster ---------------------------------------------------------------------------- */

/* Starts node i: its system, remoting, membership (through `seed`, or
 * founding the cluster), the layer and both kinds. Returns 0 or a code. */
static int ca_node_start(ca_bench *c, unsigned i, const akt_addr *seed) {
  ca_node *nd = &c->node[i];
  int sim = c->w != NULL;
  akt_system_options so = {.host = sim ? nd->name : "127.0.0.1",
                           .port = sim ? CA_SIM_REMOTING_PORT : 0,
                           .log_level = AKT_LOG_ERROR};
  int rc = akt_system_new(nd->name, nd->b, &so, &nd->sys);
  const ProtobufCMessageDescriptor *types[] = {&bench__msg__descriptor, &bench__get__descriptor,
                                               &bench__host__descriptor, &bench__count__descriptor};
  for (size_t t = 0; rc == 0 && t < sizeof types / sizeof types[0]; t++)
    rc = akt_system_register_type(nd->sys, types[t]);
  akt_remote_options ro = {.host = sim ? NULL : "127.0.0.1",
                           .port = sim ? CA_SIM_REMOTING_PORT : 0,
                           .security.cookie = c->cookie};
  if (!rc) rc = akt_remote_start(nd->sys, &ro);
  akt_cluster_options co = {.host = sim ? NULL : "127.0.0.1",
                            .gossip_port = sim ? CA_SIM_GOSSIP_PORT : 0,
                            .seeds = seed,
                            .nseeds = seed ? 1 : 0,
                            .join_interval = sim ? 0 : CA_JOIN_INTERVAL};
  if (!rc) rc = akt_cluster_start(nd->sys, &co);
  akt_cluster_actors_options ao = {.listener = ca_listener, .listener_arg = nd};
  if (!rc) rc = akt_cluster_actors_start(nd->sys, &ao);
  akt_cluster_kind named = {.name = CA_NAMED_KIND,
                            .def = &ca_actor_def,
                            .state_type = &bench__count__descriptor,
                            .handoff = ca_actor_handoff,
                            .restore = ca_actor_restore,
                            .arg = nd};
  if (!rc) rc = akt_cluster_register_kind(nd->sys, &named);
  akt_cluster_kind grain = {
      .name = CA_GRAIN_KIND, .def = &ca_actor_def, .mode = AKT_CLUSTER_VIRTUAL, .arg = nd};
  if (!rc) rc = akt_cluster_register_kind(nd->sys, &grain);
  return rc;
}

/* Has every node applied a configuration of all three, and a lease? */
static int ca_settled(void *arg) {
  ca_bench *c = arg;
  for (unsigned i = 0; i < CA_NODES; i++) {
    akt_cluster_actors_stats st;
    akt_cluster_actors_get_stats(c->node[i].sys, &st);
    if (st.members != CA_NODES || !st.lease_valid) return 0;
  }
  return 1;
}

/* Waits on node 0's backend (the simulator: runs the world) until
 * ready(arg), as long as *progress (NULL: nothing) keeps moving: a wait
 * that sees no change in CA_STALL fails. Returns 0 or AKT_ETIMEDOUT. */
static int ca_wait(ca_bench *c, int (*ready)(void *), void *arg, atomic_uint_least64_t *progress) {
  akt_backend *b = c->node[0].b;
  uint64_t seen = progress ? atomic_load(progress) : 0;
  for (;;) {
    int rc = b->ops->wait(b, ready, arg, b->ops->now(b) + CA_STALL);
    if (rc != AKT_ETIMEDOUT || !progress || atomic_load(progress) == seen) return rc;
    seen = atomic_load(progress);
  }
}

/* What at_least waits for: a counter of the cluster's reaching n. */
typedef struct ca_at_least {
  atomic_uint_least64_t *counter;
  uint64_t n;
} ca_at_least;

/* Has the counter reached n? */
static int at_least(void *arg) {
  const ca_at_least *w = arg;
  return atomic_load(w->counter) >= w->n;
}

static void ca_close(ca_bench *c);

/* Makes the three nodes (on the simulator when `sim`), forms the cluster
 * and waits until every node holds a lease of the configuration of all
 * three. On success writes the cluster to *out (free with ca_close).
 * Returns 0 or a code (said on stderr). */
static int ca_open(int sim, ca_bench **out) {
  ca_bench *c = calloc(1, sizeof *c);
  if (!c) return AKT_ENOMEM;
  snprintf(c->cookie, sizeof c->cookie, "akt-bench-cluster-actors-%ld-%" PRIx64, (long)getpid(),
           bench_now());
  int rc = 0;
  if (sim) {
    akt_sim_options wo = {.seed = CA_SIM_SEED};
    rc = akt_sim_world_new(&wo, &c->w);
  } else {
    rc = akt_uv_backend_new(NULL, &c->uv);
  }
  for (unsigned i = 0; i < CA_NODES && rc == 0; i++) {
    ca_node *nd = &c->node[i];
    nd->c = c;
    nd->i = i;
    snprintf(nd->name, sizeof nd->name, "node%u", i);
    if (sim) rc = akt_sim_node_new(c->w, nd->name, &nd->b);
    else nd->b = c->uv;
  }
  akt_member first;
  akt_addr seed = {.port = CA_SIM_GOSSIP_PORT};
  snprintf(seed.host, sizeof seed.host, "%s", c->node[0].name);
  if (!rc) rc = ca_node_start(c, 0, NULL);
  if (!rc && !sim) {
    rc = akt_cluster_self(c->node[0].sys, &first);
    seed = first.addr;
  }
  for (unsigned i = 1; i < CA_NODES && rc == 0; i++) rc = ca_node_start(c, i, &seed);
  if (rc) fprintf(stderr, "akt-bench: cannot start the cluster's nodes: %s\n", akt_strerror(rc));
  if (!rc && (rc = ca_wait(c, ca_settled, c, NULL)) != 0)
    fprintf(stderr, "akt-bench: the cluster-actor layer did not settle on 3 nodes\n");
  if (rc) {
    ca_close(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* Frees the nodes (dropped at once on the simulator, shut down on libuv),
 * then their backends and the cluster. */
static void ca_close(ca_bench *c) {
  for (unsigned i = CA_NODES; i-- > 0;) {
    if (c->w) akt_system_drop(c->node[i].sys);
    else akt_system_free(c->node[i].sys);
  }
  if (c->w) akt_sim_world_free(c->w);
  if (c->uv) akt_uv_backend_free(c->uv);
  free(c);
}

/* n names "PREFIX<i>" (free them with free), or NULL. */
static ca_name *ca_names(const char *prefix, uint32_t n) {
  ca_name *names = calloc(n ? n : 1, sizeof *names);
  for (uint32_t i = 0; names && i < n; i++) snprintf(names[i], sizeof names[i], "%s%u", prefix, i);
  return names;
}

/* ---- batches: many requests from one actor -------------------------------------------------- */

typedef struct ca_batch ca_batch;

/* One request per name, CA_WINDOW in flight. A name whose answer says
 * "again" is asked again in the next pass over the names not done. The
 * batch is the actor's (its arg) while it runs; the driver reads it once
 * `finished` is set, and frees it after the systems (late callbacks of a
 * failed run may still touch it until then). */
struct ca_batch {
  ca_node *nd;
  ca_name *names;
  uint32_t n;
  /* Sends request i from ctx, its callback batch_answer with arg i.
   * Returns 0 or a code (the batch fails). */
  int (*send)(akt_ctx *ctx, ca_batch *j, uint32_t i);
  /* An answer: 0 (done), 1 (again), or a code (the batch fails). */
  int (*judge)(const ca_batch *j, const ProtobufCMessage *reply, int status);
  uint32_t spawn_on; /* spawns: Spawn.spawn_on */
  akt_pid **refs;    /* asks: a reference to each name, from nd */
  const char *away;  /* asks: answers from this node do not count */
  uint8_t *done;     /* per name */
  uint32_t next, inflight, ndone, passes;
  uint64_t again;    /* answers that said "again" */
  int failure;
  uint64_t finished_at; /* the backend's time when the last answer came */
  atomic_int finished;
};

static int batch_fill(akt_ctx *ctx, ca_batch *j);

/* A request's answer (or its timeout), in the batch actor: judged, then
 * the window is filled again. */
static int batch_answer(akt_ctx *ctx, const ProtobufCMessage *reply, int status, void *arg) {
  ca_batch *j = (ca_batch *)(uintptr_t)akt_ctx_arg(ctx);
  uint32_t i = (uint32_t)(uintptr_t)arg;
  AKT_ASSERT(i < j->n && j->inflight > 0);
  j->inflight--;
  int verdict = j->judge(j, reply, status);
  AKT_ASSERT(verdict <= 1);
  if (verdict == 0 && !j->done[i]) {
    j->done[i] = 1;
    j->ndone++;
  } else if (verdict == 1) {
    j->again++;
  } else if (verdict < 0 && !j->failure) {
    j->failure = verdict;
  }
  return batch_fill(ctx, j);
}

/* Sends requests up to the window; when a pass ends, starts the next
 * after CA_PASS_PAUSE (a Start from a timer), or finishes. */
static int batch_fill(akt_ctx *ctx, ca_batch *j) {
  while (!j->failure && j->inflight < CA_WINDOW && j->next < j->n) {
    uint32_t i = j->next++;
    if (j->done[i]) continue;
    int rc = j->send(ctx, j, i);
    if (rc) j->failure = rc;
    else j->inflight++;
  }
  AKT_ASSERT(j->inflight <= CA_WINDOW && j->ndone <= j->n);
  if (j->inflight || atomic_load(&j->finished)) return 0;
  if (!j->failure && j->ndone < j->n) {
    if (++j->passes >= CA_PASSES_MAX) {
      j->failure = AKT_ETIMEDOUT;
    } else {
      Bench__Start again = BENCH__START__INIT;
      return akt_timer_start(ctx, 1, CA_PASS_PAUSE, 0, &again.base);
    }
  }
  j->finished_at = akt_ctx_now(ctx);
  atomic_store(&j->finished, 1);
  akt_backend *b = akt_system_backend(akt_ctx_system(ctx));
  b->ops->wake(b);
  return 0;
}

/* Start: a pass over the names not done. */
static int batch_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (msg->descriptor != &bench__start__descriptor) return AKT_EUNHANDLED;
  ca_batch *j = (ca_batch *)(uintptr_t)akt_ctx_arg(ctx);
  j->next = 0;
  return batch_fill(ctx, j);
}

/* The batch actor: its arg is its ca_batch. */
static const akt_actor_def batch_def = {.kind = "bench-batch", .receive = batch_receive};

/* The driver's wait: has the batch finished? */
static int batch_finished(void *arg) { return atomic_load(&((ca_batch *)arg)->finished); }

/* Runs batch j on its node until every name is done. Returns 0 or a code
 * (said on stderr). */
static int batch_run(ca_bench *c, ca_batch *j, const char *what) {
  j->done = calloc(j->n ? j->n : 1, 1);
  if (!j->done) return AKT_ENOMEM;
  akt_pid *pid = NULL;
  akt_spawn_opts o = {.arg = j};
  int rc = akt_spawn(j->nd->sys, NULL, &batch_def, &o, &pid);
  Bench__Start go = BENCH__START__INIT;
  if (!rc) rc = akt_tell(pid, &go.base);
  if (!rc) rc = c->node[0].b->ops->wait(c->node[0].b, batch_finished, j,
                                        c->node[0].b->ops->now(c->node[0].b) + 10 * CA_STALL);
  if (!rc) rc = j->failure;
  if (pid) {
    akt_stop(pid);
    akt_pid_release(pid);
  }
  if (rc)
    fprintf(stderr, "akt-bench: %s: %u of %u done after %u passes: %s\n", what, j->ndone, j->n,
            j->passes, akt_strerror(rc));
  return rc;
}

/* Spawn i, as akt_cluster_spawn sends it: a request to the layer's actor. */
static int spawn_send(akt_ctx *ctx, ca_batch *j, uint32_t i) {
  Akt__Ca__Spawn s = AKT__CA__SPAWN__INIT;
  s.name = j->names[i];
  s.kind = (char *)(uintptr_t)CA_NAMED_KIND;
  s.spawn_on = j->spawn_on;
  return akt_request(ctx, akt_cluster_actors_pid(j->nd->sys), &s.base, CA_REQUEST_TIMEOUT,
                     batch_answer, (void *)(uintptr_t)i);
}

/* A spawn is done when the layer answers 0; any other answer fails it. */
static int spawn_judge(const ca_batch *j, const ProtobufCMessage *reply, int status) {
  (void)j;
  if (status) return status;
  if (!akt_msg_is(reply, &akt__ca__reply__descriptor)) return AKT_EPROTO;
  return ((const Akt__Ca__Reply *)reply)->code; /* 0 or a negative code */
}

/* Asks name i through its reference, which follows the name. */
static int ask_send(akt_ctx *ctx, ca_batch *j, uint32_t i) {
  Bench__Get g = BENCH__GET__INIT;
  return akt_request(ctx, j->refs[i], &g.base, CA_ASK_TIMEOUT, batch_answer, (void *)(uintptr_t)i);
}

/* An answer from a node that stays counts; one from the leaving node, or
 * none in time, is asked again. */
static int ask_judge(const ca_batch *j, const ProtobufCMessage *reply, int status) {
  if (status == AKT_ETIMEDOUT) return 1;
  if (status) return status;
  if (!akt_msg_is(reply, &bench__host__descriptor)) return AKT_EPROTO;
  return strcmp(((const Bench__Host *)reply)->name, j->away) ? 0 : 1;
}

/* What all_spawned waits for: n named actors in cluster c. */
typedef struct ca_spawned {
  ca_bench *c;
  uint64_t n;
} ca_spawned;

/* Does every node's directory hold the n names, and are all active? */
static int all_spawned(void *arg) {
  const ca_spawned *s = arg;
  uint64_t active = 0;
  for (unsigned i = 0; i < CA_NODES; i++) {
    akt_cluster_actors_stats st;
    akt_cluster_actors_get_stats(s->c->node[i].sys, &st);
    if (st.directory != s->n) return 0;
    active += st.active;
  }
  return active == s->n;
}

/* Spawns the n named actors `names` from node `from` (spawn_on: as
 * Spawn.spawn_on) and waits until every node knows them all and all run.
 * `j` is the caller's, freed after the systems. Returns 0 or a code. */
static int ca_spawn(ca_bench *c, unsigned from, uint32_t spawn_on, ca_name *names, uint32_t n,
                    ca_batch *j) {
  *j = (ca_batch){.nd = &c->node[from], .names = names, .n = n, .send = spawn_send,
                  .judge = spawn_judge, .spawn_on = spawn_on};
  int rc = batch_run(c, j, "spawning the named actors");
  ca_spawned s = {c, n};
  if (!rc && (rc = ca_wait(c, all_spawned, &s, NULL)) != 0)
    fprintf(stderr, "akt-bench: the %u named actors did not all start\n", n);
  return rc;
}

/* ---- cluster-lookup, cluster-lookup-cold ----------------------------------------------------- */

/* Looks `count` names up from the asking node, names[0], names[1], ...
 * in turn (modulo n). Returns 0 or the first failure's code. */
static int lookups(ca_bench *c, ca_name *names, uint32_t n, int64_t count) {
  akt_system *sys = c->node[CA_ASKER].sys;
  for (int64_t k = 0; k < count; k++) {
    akt_pid *pid = NULL;
    int rc = akt_cluster_lookup(sys, names[k % n], CA_REQUEST_TIMEOUT, &pid);
    akt_pid_release(pid);
    if (rc) {
      fprintf(stderr, "akt-bench: a lookup of %s failed: %s\n", names[k % n], akt_strerror(rc));
      return rc;
    }
  }
  return 0;
}

/* p->ca_names named actors spread over the three nodes; node 1 looks each
 * up once (cold), or once untimed and then p->ca_lookups times in turn. */
static int lookup_run(const bench_params *p, int warm, double *value) {
  uint32_t n = (uint32_t)p->ca_names;
  ca_name *names = ca_names("lookup-", n);
  if (!names) return AKT_ENOMEM;
  ca_bench *c = NULL;
  ca_batch j = {0};
  int rc = ca_open(0, &c);
  if (!rc) rc = ca_spawn(c, 0, 0, names, n, &j);
  if (!rc && warm) rc = lookups(c, names, n, n);
  int64_t count = warm ? p->ca_lookups : n;
  uint64_t t0 = bench_now();
  if (!rc) rc = lookups(c, names, n, count);
  uint64_t t1 = bench_now();
  if (!rc) *value = (double)(t1 - t0) / (double)count;
  if (c) ca_close(c);
  free(j.done);
  free(names);
  return rc;
}

/* cluster-lookup: ns per lookup of a name resolved before. */
int wl_cluster_lookup(const bench_params *p, double *value) { return lookup_run(p, 1, value); }

/* cluster-lookup-cold: ns per first lookup of a name. */
int wl_cluster_lookup_cold(const bench_params *p, double *value) {
  return lookup_run(p, 0, value);
}

/* ---- grain-tell ------------------------------------------------------------------------------ */

/* Waits until `n` Msg were received in all (as long as some keep coming).
 * Returns 0 or AKT_ETIMEDOUT (said on stderr with the counters that tell
 * where messages went). */
static int wait_delivered(ca_bench *c, uint64_t n) {
  ca_at_least w = {&c->delivered, n};
  atomic_store(&c->wake_at, n);
  int rc = ca_wait(c, at_least, &w, &c->delivered);
  if (rc) {
    uint64_t dead = 0, dropped = 0;
    for (unsigned i = 0; i < CA_NODES; i++) {
      akt_cluster_actors_stats st;
      akt_cluster_actors_get_stats(c->node[i].sys, &st);
      dead += st.dead;
      dropped += st.hold_dropped;
    }
    fprintf(stderr,
            "akt-bench: grain-tell: %" PRIu64 " of %" PRIu64 " messages received (dead %" PRIu64
            ", dropped at a hold limit %" PRIu64 ")\n",
            atomic_load(&c->delivered), n, dead, dropped);
  }
  return rc;
}

/* grain-tell: p->grain_tell messages from node 0 to p->grains grains,
 * names in turn, at most CA_TELL_WINDOW of them not yet received; msgs per
 * second from the first tell until the last was received. */
int wl_grain_tell(const bench_params *p, double *value) {
  uint32_t g = (uint32_t)p->grains;
  ca_name *names = ca_names(CA_GRAIN_KIND ".", g);
  if (!names || g == 0) {
    free(names);
    return names ? AKT_EINVAL : AKT_ENOMEM;
  }
  ca_bench *c = NULL;
  int rc = ca_open(0, &c);
  akt_system *sys = c ? c->node[0].sys : NULL;
  Bench__Msg m = BENCH__MSG__INIT;
  /* Every grain's first message activates it: not measured. */
  for (uint32_t i = 0; rc == 0 && i < g; i++) rc = akt_cluster_tell(sys, names[i], &m.base, NULL);
  if (!rc) rc = wait_delivered(c, g);
  uint64_t t0 = bench_now();
  for (int64_t k = 0; rc == 0 && k < p->grain_tell; k++) {
    if ((uint64_t)k + g >= atomic_load(&c->delivered) + CA_TELL_WINDOW)
      rc = wait_delivered(c, (uint64_t)k + g - CA_TELL_WINDOW / 2);
    if (!rc) rc = akt_cluster_tell(sys, names[k % g], &m.base, NULL);
  }
  uint64_t want = g + (uint64_t)p->grain_tell;
  if (!rc) rc = wait_delivered(c, want);
  uint64_t t1 = bench_now();
  if (!rc && atomic_load(&c->delivered) != want) {
    fprintf(stderr, "akt-bench: grain-tell: %" PRIu64 " messages received, %" PRIu64 " sent\n",
            atomic_load(&c->delivered), want);
    rc = AKT_EFAILED;
  }
  if (!rc) *value = (double)p->grain_tell / ((double)(t1 - t0) / 1e9);
  if (c) ca_close(c);
  free(names);
  return rc;
}

/* ---- relocate-10k, relocate-10k-sim ---------------------------------------------------------- */

/* p->relocate named actors on node 2 (spawned there, SpawnOn local); node
 * 2 leaves; the time until each has answered an ask from node 0 with the
 * name of a node that stays. The asks start once node 0 and node 1 saw
 * every one start (the activation events), so the number is an upper
 * bound: asking while they move would only load the machine. */
static int relocate(int sim, const bench_params *p, double *value) {
  uint32_t n = (uint32_t)p->relocate;
  ca_name *names = ca_names("moving-", n);
  akt_pid **refs = calloc(n ? n : 1, sizeof *refs);
  int rc = names && refs ? 0 : AKT_ENOMEM;
  ca_bench *c = NULL;
  ca_batch spawns = {0}, asks = {0};
  if (!rc) rc = ca_open(sim, &c);
  if (!rc) rc = ca_spawn(c, CA_LEAVER, AKT_SPAWN_ON_LOCAL + 1, names, n, &spawns);
  akt_cluster_actors_stats st;
  if (!rc) {
    akt_cluster_actors_get_stats(c->node[CA_LEAVER].sys, &st);
    if (st.active != n) {
      fprintf(stderr, "akt-bench: %" PRIu64 " of the %u named actors run on the leaving node\n",
              st.active, n);
      rc = AKT_ESTATE;
    }
  }
  for (uint32_t i = 0; rc == 0 && i < n; i++)
    rc = akt_cluster_ref(c->node[0].sys, names[i], &refs[i]);
  akt_backend *b = c ? c->node[0].b : NULL;
  uint64_t t0 = 0, activated = 0;
  if (!rc) {
    atomic_store(&c->counting, 1);
    t0 = b->ops->now(b);
    rc = akt_cluster_leave(c->node[CA_LEAVER].sys, 0);
  }
  ca_at_least moved = {c ? &c->moved : NULL, n};
  if (!rc && (rc = ca_wait(c, at_least, &moved, &c->moved)) != 0)
    fprintf(stderr, "akt-bench: %" PRIu64 " of %u actors started on the other nodes\n",
            atomic_load(&c->moved), n);
  if (!rc) {
    activated = b->ops->now(b);
    asks = (ca_batch){.nd = &c->node[0], .names = names, .n = n, .send = ask_send,
                      .judge = ask_judge, .refs = refs, .away = c->node[CA_LEAVER].name};
    rc = batch_run(c, &asks, "asking the moved actors");
  }
  if (!rc) {
    *value = (double)(asks.finished_at - t0) / 1e6;
    fprintf(stderr,
            "akt-bench: relocate-%u (%s): all started on the others after %.1f ms (%" PRIu64
            " from a hand-off, %" PRIu64 " lost state), all answered after %.1f ms (%" PRIu64
            " asked again)\n",
            n, sim ? "akt-sim, virtual" : "akt", (double)(activated - t0) / 1e6,
            atomic_load(&c->handed), atomic_load(&c->lost), *value, asks.again);
  }
  for (uint32_t i = 0; refs && i < n; i++) akt_pid_release(refs[i]);
  if (c) ca_close(c);
  free(spawns.done);
  free(asks.done);
  free(refs);
  free(names);
  return rc;
}

/* relocate-10k on libuv: real ms. */
int wl_relocate(const bench_params *p, double *value) { return relocate(0, p, value); }

/* relocate-10k-sim: virtual ms, one seeded history. */
int wl_relocate_sim(const bench_params *p, double *value) { return relocate(1, p, value); }
