/* akt — remoting's lifecycle and the /system/remoting actor.
 *
 * akt_remote_start listens and spawns /system/remoting, which answers what
 * other nodes ask of this one: look up a path, spawn a registered kind,
 * stop an actor, watch or unwatch one for a remote watcher — within the
 * rules of security.c: only what the network may reach is looked up or
 * watched, only kinds in spawn_kinds are spawned, only paths in
 * stop_paths are stopped. Everything it receives comes from a peer (local
 * code asks its own node nothing), so every request is held to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/actor.pb-c.h"
#include "akt/error.h"
#include "akt/message.h"
#include "akt/remote.pb-c.h"
#include "src/actor/cell.h"
#include "src/actor/send.h"
#include "src/remote/endpoint.h"
#include "src/system/system.h"


/* ---- the remoting actor --------------------------------------------------------- */

static int reply_actor(akt_ctx *ctx, akt_pid *pid) {
  char address[AKT_ADDRESS_MAX];
  akt_pid_format(pid, address, sizeof address);
  Akt__RemoteActor a = AKT__REMOTE_ACTOR__INIT;
  a.address = address;
  a.id = akt_pid_id(pid);
  return akt_reply(ctx, &a.base);
}

static int reply_error(akt_ctx *ctx, int code, const char *reason) {
  Akt__RemoteError e = AKT__REMOTE_ERROR__INIT;
  e.code = code;
  e.reason = (char *)(uintptr_t)reason;
  return akt_reply(ctx, &e.base);
}

/* The live local actor at path (and id, unless 0); new reference or NULL. */
static akt_pid *local(akt_system *sys, const char *path, uint64_t id) {
  akt_pid *p = NULL;
  if (akt_lookup(sys, path, &p) != 0) return NULL;
  if (id && p->id != id) {
    akt_pid_release(p);
    return NULL;
  }
  return p;
}

/* A request the rules refuse: counted, logged (throttled). */
static void not_allowed(akt__remote *r, akt_ctx *ctx, const char *what, const char *name) {
  AKT__SSTAT(r, not_allowed, 1);
  akt_pid *from = akt_ctx_sender(ctx);
  akt__rlog(r, AKT__LOG_NOT_ALLOWED, AKT_LOG_WARN, "remoting: refused %s of %s from %s", what, name,
            from ? akt_pid_path(from) : "(no sender)");
}

static int reachable(const char *path) {
  return akt__security_reachable((const uint8_t *)path, strlen(path));
}

static int remoting_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  akt_system *sys = akt_ctx_system(ctx);
  akt__remote *r = akt__remote_of(sys);
  if (akt_msg_is(msg, &akt__remote_lookup__descriptor)) {
    const char *path = ((const Akt__RemoteLookup *)msg)->path;
    /* What the network cannot reach it cannot find either. */
    akt_pid *p = reachable(path) ? local(sys, path, 0) : NULL;
    int rc = p ? reply_actor(ctx, p) : reply_error(ctx, AKT_ENOENT, "no such actor");
    akt_pid_release(p);
    return rc == AKT_ENOSENDER ? 0 : rc;
  }
  if (akt_msg_is(msg, &akt__remote_spawn__descriptor)) {
    const Akt__RemoteSpawn *s = (const Akt__RemoteSpawn *)msg;
    const akt_actor_def *def = NULL;
    akt__rmutex_lock(&r->mu);
    for (uint32_t i = 0; i < r->nkinds; i++)
      if (strcmp(r->kinds[i]->kind, s->kind) == 0) def = r->kinds[i];
    akt__rmutex_unlock(&r->mu);
    int rc;
    if (!akt__security_may_spawn(r, s->kind)) {
      not_allowed(r, ctx, "a spawn", s->kind);
      rc = reply_error(ctx, AKT_EREFUSED, "the kind is not in this node's spawn_kinds");
    } else if (!def) {
      rc = reply_error(ctx, AKT_ENOENT, "unknown kind");
    } else {
      akt_pid *p = NULL;
      rc = akt_spawn(sys, s->name[0] ? s->name : NULL, def, NULL, &p);
      rc = rc ? reply_error(ctx, rc, akt_strerror(rc)) : reply_actor(ctx, p);
      akt_pid_release(p);
    }
    return rc == AKT_ENOSENDER ? 0 : rc;
  }
  if (akt_msg_is(msg, &akt__remote_stop__descriptor)) {
    const Akt__RemoteStop *s = (const Akt__RemoteStop *)msg;
    if (!akt__security_may_stop(r, (const uint8_t *)s->path, strlen(s->path))) {
      not_allowed(r, ctx, "a stop", s->path);
      return 0;
    }
    akt_pid *p = local(sys, s->path, s->id);
    if (p) akt_stop(p);
    akt_pid_release(p);
    return 0;
  }
  if (akt_msg_is(msg, &akt__remote_watch__descriptor) ||
      akt_msg_is(msg, &akt__remote_unwatch__descriptor)) {
    int watch = akt_msg_is(msg, &akt__remote_watch__descriptor);
    const char *path = watch ? ((const Akt__RemoteWatch *)msg)->path
                             : ((const Akt__RemoteUnwatch *)msg)->path;
    uint64_t id = watch ? ((const Akt__RemoteWatch *)msg)->id : ((const Akt__RemoteUnwatch *)msg)->id;
    akt_pid *watcher = akt_ctx_sender(ctx);
    if (!watcher) return 0;
    if (!reachable(path)) {
      not_allowed(r, ctx, "a watch", path);
      return 0;
    }
    akt_pid *p = local(sys, path, id);
    if (p) {
      if (watch)
        akt_watch_as(watcher, p);
      else
        akt_unwatch_as(watcher, p);
      akt_pid_release(p);
    } else if (watch && !watcher->cell) {
      /* Already gone: the watcher hears so at once, as with a local watch,
       * from the actor's address (which no PID here holds any more). */
      char address[AKT_ADDRESS_MAX];
      snprintf(address, sizeof address, "%s%s", r->node, path);
      Akt__Terminated t = AKT__TERMINATED__INIT;
      t.path = (char *)(uintptr_t)path;
      t.id = id;
      t.address = address;
      akt__remote_send_raw(sys, watcher, &t.base, address, id, 0, 0);
    }
    return 0;
  }
  return AKT_EUNHANDLED;
}

static const akt_actor_def remoting_def = {.kind = "remoting", .receive = remoting_receive};

#define KINDS_FIRST_CAP 4 /* kinds in a new list */

/* ---- start ------------------------------------------------------------------------ */

static void on_accept(akt_listener *l, akt_stream *s, void *data) {
  (void)l;
  akt__conn_accept(data, s);
}

static const ProtobufCMessageDescriptor *const remote_types[] = {
    &akt__remote_lookup__descriptor, &akt__remote_spawn__descriptor,
    &akt__remote_stop__descriptor,   &akt__remote_watch__descriptor,
    &akt__remote_unwatch__descriptor, &akt__remote_actor__descriptor,
    &akt__remote_error__descriptor};

/* The host akt_system_new gives a system when its options name none
 * (system.h): it names no node (the simulator's nodes are named, libuv
 * takes IP literals), so remoting does not advertise it. */
#define SYSTEM_DEFAULT_HOST "localhost"

/* Whether `host` listens on every interface rather than naming one. */
static int is_wildcard(const char *host) {
  return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
         strcmp(host, "[::]") == 0;
}

/* Fills r->opts with the defaults (see akt_remote_options). Returns 0 or
 * AKT_EINVAL, saying why in the log. */
static int options_init(akt__remote *r, const akt_remote_options *opts) {
  if (opts) r->opts = *opts;
  if (r->opts.max_name > AKT_REMOTE_MAX_NAME_LIMIT) {
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: max_name %u is over %u", r->opts.max_name,
             (unsigned)AKT_REMOTE_MAX_NAME_LIMIT);
    return AKT_EINVAL;
  }
  if (!r->opts.max_frame) r->opts.max_frame = AKT_REMOTE_DEFAULT_MAX_FRAME;
  if (!r->opts.max_batch) r->opts.max_batch = AKT_REMOTE_DEFAULT_MAX_BATCH;
  if (!r->opts.max_name) r->opts.max_name = AKT_REMOTE_DEFAULT_MAX_NAME;
  if (!r->opts.send_queue) r->opts.send_queue = AKT_REMOTE_DEFAULT_SEND_QUEUE;
  if (!r->opts.heartbeat) r->opts.heartbeat = AKT_REMOTE_DEFAULT_HEARTBEAT;
  if (!r->opts.failure) r->opts.failure = AKT_REMOTE_DEFAULT_FAILURE;
  if (!r->opts.backoff_min) r->opts.backoff_min = AKT_REMOTE_DEFAULT_BACKOFF_MIN;
  if (!r->opts.backoff_max) r->opts.backoff_max = AKT_REMOTE_DEFAULT_BACKOFF_MAX;
  if (r->opts.backoff_max < r->opts.backoff_min) {
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: backoff_max is below backoff_min");
    return AKT_EINVAL;
  }
  /* The address peers are given, and the one to listen on. */
  const char *host = r->opts.host ? r->opts.host : r->sys->host;
  if (!r->opts.host && strcmp(host, SYSTEM_DEFAULT_HOST) == 0) host = "";
  const char *listen = r->opts.listen_host ? r->opts.listen_host : host;
  if (strlen(host) >= sizeof r->host || strlen(listen) >= sizeof r->listen_host) {
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: a host is longer than %d bytes", AKT_HOST_MAX - 1);
    return AKT_EINVAL;
  }
  snprintf(r->host, sizeof r->host, "%s", host);
  snprintf(r->listen_host, sizeof r->listen_host, "%s", listen);
  /* Its strings are copied into r->sec: no pointer of the caller's is
   * kept. */
  int rc = akt__security_init(r, &r->opts.security);
  memset(&r->opts.security, 0, sizeof r->opts.security);
  return rc;
}

/* Listens on listen_host:port and settles the advertised host: when none
 * was given, the host the listener reports (the simulator reports the
 * node's name). A wildcard is not an address peers can use. Returns 0 or
 * the error, saying why in the log. */
static int listen_on(akt__remote *r) {
  akt_backend *b = r->sys->backend;
  akt_addr addr;
  memset(&addr, 0, sizeof addr);
  snprintf(addr.host, sizeof addr.host, "%s", r->listen_host);
  addr.port = r->opts.port;
  int rc = b->ops->listen(b, &addr, on_accept, r, &r->listener);
  if (rc) {
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: cannot listen on %s:%u: %s%s",
             r->listen_host[0] ? r->listen_host : "(any)", (unsigned)addr.port,
             rc == AKT_EEXIST ? "the address is in use" : akt_strerror(rc),
             rc == AKT_EINVAL ? " (the backend takes IP addresses, or in the simulator the "
                                "node's name: set akt_remote_options.host or listen_host)"
                              : "");
    return rc;
  }
  akt_addr bound;
  rc = b->ops->listener_addr(b, r->listener, &bound);
  if (rc) return rc;
  r->port = bound.port;
  if (r->host[0] == '\0') snprintf(r->host, sizeof r->host, "%s", bound.host);
  if (is_wildcard(r->host)) {
    akt__log(r->sys, AKT_LOG_ERROR,
             "remoting: no address to give peers: %s is where to listen, not an address of "
             "this node; set akt_remote_options.host (or the system's host) to this node's "
             "address, and listen_host to listen everywhere",
             r->host[0] ? r->host : "(any)");
    return AKT_EINVAL;
  }
  return 0;
}

/* Serves what was accepted while remoting started (on the I/O context). */
static void serve_parked(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__remote *r = arg;
  akt__conns_serve_parked(r);
  akt__inflight_done(r->sys);
}

/* STARTING -> RUNNING, under the remoting lock so that an accept either
 * parks before it or is served after it; then the parked streams are
 * handed to the I/O context. */
static void running(akt__remote *r) {
  akt__rmutex_lock(&r->mu);
  int from = atomic_load_explicit(&r->state, memory_order_relaxed);
  int parked = r->nparked > 0;
  /* A shutdown that found remoting published may have begun already. */
  if (from == AKT__REMOTE_STARTING)
    atomic_store_explicit(&r->state, AKT__REMOTE_RUNNING, memory_order_release);
  akt__rmutex_unlock(&r->mu);
  if (!parked) return;
  akt_backend *b = r->sys->backend;
  uint64_t id;
  akt__inflight_add(r->sys);
  if (b->ops->timer_start(b, 0, serve_parked, r, 0, &id) != 0) {
    akt__inflight_done(r->sys);
    akt__conns_close_parked(r); /* the peers reconnect */
  }
}

int akt_remote_start(akt_system *sys, const akt_remote_options *opts) {
  if (!sys) return AKT_EINVAL;
  if (akt__remote_of(sys)) return AKT_ESTATE;
  akt__remote *r = calloc(1, sizeof *r);
  if (!r) return AKT_ENOMEM;
  r->sys = sys;
  atomic_init(&r->state, AKT__REMOTE_STARTING);
  int rc = options_init(r, opts);
  if (rc) {
    akt__security_free(&r->sec);
    free(r);
    return rc;
  }
  akt__rmutex_init(&r->mu, AKT__RANK_REMOTE);
  akt_backend *b = sys->backend;
  r->incarnation = b->ops->random_u64(b) | 1;
  atomic_init(&r->queued, 0);
  atomic_init(&r->conn_seq, 0);
  /* Listening first tells the port; the listener serves nobody until the
   * state is RUNNING (akt__conn_accept). */
  rc = listen_on(r);
  for (size_t i = 0; rc == 0 && i < sizeof remote_types / sizeof remote_types[0]; i++)
    rc = akt_system_register_type(sys, remote_types[i]);
  if (rc == 0) rc = akt__system_set_address(sys, r->host, r->port);
  if (rc == 0) {
    snprintf(r->node, sizeof r->node, "%s", akt_system_address(sys));
    rc = akt__spawn(sys, sys->system_guardian->cell, "remoting", &remoting_def, NULL, 0, &r->actor);
  }
  /* Published only whole: what the fields above hold is visible to every
   * thread that finds sys->remote (acquire, akt__remote_of). */
  akt__remote *none = NULL;
  if (rc == 0 && !__atomic_compare_exchange_n(&sys->remote, &none, r, 0, __ATOMIC_RELEASE,
                                              __ATOMIC_RELAXED))
    rc = AKT_ESTATE; /* another thread started remoting meanwhile */
  if (rc) {
    if (r->actor) {
      akt_stop(r->actor);
      akt_pid_release(r->actor);
    }
    if (r->listener) b->ops->listener_close(b, r->listener); /* no accept after it */
    akt__conns_close_parked(r);
    akt__security_free(&r->sec);
    akt__rmutex_destroy(&r->mu);
    free(r);
    return rc;
  }
  running(r);
  akt__log(sys, AKT_LOG_INFO, "remoting: %s listening on %s:%u", r->node,
           r->listen_host[0] ? r->listen_host : "(any)", (unsigned)r->port);
  akt__security_announce(r);
  return 0;
}

int akt_remote_register_kind(akt_system *sys, const akt_actor_def *def) {
  akt__remote *r = akt__remote_of(sys);
  if (!r) return AKT_ESTATE;
  if (!def || !def->kind || !def->receive) return AKT_EINVAL;
  int rc = 0, known = 0;
  akt__rmutex_lock(&r->mu);
  for (uint32_t i = 0; i < r->nkinds && !known && !rc; i++) {
    known = r->kinds[i] == def;
    if (!known && strcmp(r->kinds[i]->kind, def->kind) == 0) rc = AKT_EEXIST;
  }
  if (!rc && !known && r->nkinds == r->cap_kinds) {
    const akt_actor_def **grown =
        akt__array_grow(r->kinds, &r->cap_kinds, sizeof *grown, KINDS_FIRST_CAP, UINT32_MAX);
    if (grown)
      r->kinds = grown;
    else
      rc = AKT_ENOMEM;
  }
  if (!rc && !known) r->kinds[r->nkinds++] = def;
  akt__rmutex_unlock(&r->mu);
  return rc;
}

/* Asks a node's remoting actor and turns the answer into a PID. A node
 * that cannot be reached says so at once, not when the timeout ends: the
 * connection is opened first, and an attempt that fails ends the call with
 * its cause (akt__endpoint_await_open). */
static int ask_node(akt_system *sys, const char *node, const ProtobufCMessage *msg,
                    akt_duration timeout, akt_pid **out) {
  akt__remote *r = akt__remote_of(sys);
  akt_backend *b = sys->backend;
  uint64_t now = b->ops->now(b);
  uint64_t deadline = timeout > AKT_FOREVER - now ? AKT_FOREVER : now + timeout;
  akt_pid *np = NULL;
  int rc = akt_remote_node_pid(sys, node, &np);
  if (rc) return rc;
  if (!np->cell) {
    akt__endpoint *ep;
    rc = akt__endpoint_get(r, akt__remote_pid_node(np), &ep);
    if (rc == 0) {
      rc = akt__endpoint_await_open(ep, deadline);
      akt__endpoint_put(ep);
    }
    now = b->ops->now(b);
    if (rc == 0 && now >= deadline) rc = AKT_ETIMEDOUT;
    if (rc) {
      akt_pid_release(np);
      return rc;
    }
  }
  ProtobufCMessage *reply = NULL;
  rc = akt_ask(np, msg, deadline == AKT_FOREVER ? AKT_FOREVER : deadline - now, &reply);
  akt_pid_release(np);
  if (rc) return rc;
  if (akt_msg_is(reply, &akt__remote_actor__descriptor)) {
    const Akt__RemoteActor *a = (const Akt__RemoteActor *)reply;
    rc = akt_remote_pid(sys, a->address, out);
    if (rc == 0 && !(*out)->cell) (*out)->id = a->id;
  } else if (akt_msg_is(reply, &akt__remote_error__descriptor)) {
    rc = ((const Akt__RemoteError *)reply)->code;
    if (rc >= 0) rc = AKT_EFAILED;
  } else {
    rc = AKT_EPROTO;
  }
  akt_msg_free(reply);
  return rc;
}

int akt_remote_lookup(akt_system *sys, const char *address, akt_duration timeout, akt_pid **out) {
  if (!sys || !address || !out) return AKT_EINVAL;
  if (!akt__remote_of(sys)) return AKT_ESTATE;
  char node[AKT__NODE_MAX];
  char sysname[AKT_SYSTEM_NAME_MAX + 1], host[AKT_HOST_MAX];
  uint16_t port;
  const char *path;
  int rc = akt__parse_address(address, sysname, sizeof sysname, host, sizeof host, &port, &path);
  if (rc || !path) return AKT_ENAME;
  snprintf(node, sizeof node, "%.*s", (int)(path - address), address);
  Akt__RemoteLookup q = AKT__REMOTE_LOOKUP__INIT;
  q.path = (char *)(uintptr_t)path;
  return ask_node(sys, node, &q.base, timeout, out);
}

int akt_remote_spawn(akt_system *sys, const char *node, const char *kind, const char *name,
                     akt_duration timeout, akt_pid **out) {
  if (!sys || !node || !kind || !out) return AKT_EINVAL;
  if (!akt__remote_of(sys)) return AKT_ESTATE;
  Akt__RemoteSpawn q = AKT__REMOTE_SPAWN__INIT;
  q.kind = (char *)(uintptr_t)kind;
  q.name = (char *)(uintptr_t)(name ? name : "");
  return ask_node(sys, node, &q.base, timeout, out);
}

void akt_remote_get_stats(akt_system *sys, akt_remote_stats *out) {
  if (!out) return;
  akt__remote *r = akt__remote_of(sys);
  if (!r) {
    memset(out, 0, sizeof *out);
    return;
  }
  /* Each field is read atomically; the set is a snapshot per field. */
  uint64_t *dst = (uint64_t *)out;
  const uint64_t *src = (const uint64_t *)&r->stats;
  for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++)
    dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---- stop and free ----------------------------------------------------------------- */

/* Runs on the I/O context: connections belong to it. */
static void close_all(void *arg, uint64_t cookie) {
  (void)cookie;
  akt__remote *r = arg;
  /* What the writers have not written yet goes out before the close. */
  akt__endpoint *ep;
  for (uint32_t i = 0; (ep = akt__remote_endpoint_at(r, i)) != NULL; i++) akt__endpoint_flush(ep);
  akt__conns_close_all(r);
  akt__inflight_done(r->sys);
}

void akt__remote_stop_all(akt_system *sys) {
  akt__remote *r = akt__remote_of(sys);
  if (!r) return;
  int from = atomic_exchange_explicit(&r->state, AKT__REMOTE_STOPPING, memory_order_acq_rel);
  if (from == AKT__REMOTE_STOPPING) return; /* stopped before */
  /* From STARTING too: a shutdown may find remoting before start ends. */
  AKT_ASSERT_TRANSITION("remoting state", from, AKT__REMOTE_STOPPING, AKT__REMOTE_STOPPING > from);
  akt_backend *b = sys->backend;
  if (r->listener) {
    b->ops->listener_close(b, r->listener);
    r->listener = NULL;
  }
  akt__peers_stop(r);
  akt__endpoint *ep;
  for (uint32_t i = 0; (ep = akt__remote_endpoint_at(r, i)) != NULL; i++) akt__endpoint_stop(ep);
  uint64_t id;
  akt__inflight_add(sys);
  if (b->ops->timer_start(b, 0, close_all, r, 0, &id) != 0) {
    /* No timer (out of memory, or the backend is stopping): closed from
     * this thread, the one place a connection is touched off the I/O
     * context — better than leaving peers connected to a stopped node. */
    akt__inflight_done(sys);
    akt__log(sys, AKT_LOG_WARN, "remoting: closing connections from the caller's thread");
    akt__conns_close_all(r);
  }
}

void akt__remote_free(akt_system *sys) {
  akt__remote *r = akt__remote_of(sys);
  if (!r) return;
  /* After a graceful shutdown nothing is left here; after a drop the
   * connections, and the endpoints' retry timers, are still around. */
  akt__conns_free_all(r);
  akt__peers_free(r);
  akt__sources_free(&r->sources);
  akt__security_free(&r->sec);
  for (uint32_t i = 0; i < r->rpid_cap; i++) akt_pid_release(r->rpids[i]);
  free(r->rpids);
  free(r->kinds);
  akt_pid_release(r->actor);
  akt__rmutex_destroy(&r->mu);
  free(r);
  __atomic_store_n(&sys->remote, NULL, __ATOMIC_RELEASE);
}
