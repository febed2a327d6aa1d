/* akt — remoting's security settings and rules: what akt_remote_start
 * accepts (secure defaults), and what a peer may reach and do.
 *
 * The options are checked and copied once, at start (akt__security_init);
 * what the rules read afterwards never changes, so they take no lock.
 *
 * What the network may reach (akt__security_reachable) is decided on the
 * target's path alone, before an envelope's payload is decoded:
 *   /user/...          every actor below the user guardian
 *   /temp/...          ask and probe sinks (replies to this node's asks)
 *   /system/remoting   lookups; spawn, stop and watch under the rules below
 *   /system/cluster    the cluster's membership sync
 * and nothing else: not the root, not a guardian (/user, /system, /temp
 * themselves), not another actor under /system. What a peer may do to a
 * reachable actor is narrower: spawn only the kinds in spawn_kinds, stop
 * (RemoteStop, PoisonPill) only the paths in stop_paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/remote/auth.h"
#include "src/remote/remote.h"
#include "src/remote/tls.h"
#include "src/system/system.h"

/* The label the cookie exchange runs on when no cookie is configured (TLS
 * alone, or insecure): public, so the exchange then proves nothing and
 * only carries the two sides' identities. */
#define NO_COOKIE "akt-no-cookie: identities only, nothing proved"

_Static_assert(sizeof NO_COOKIE - 1 <= AKT_SECURITY_MAX_COOKIE, "the label fits the cookie's room");
_Static_assert(AKT__AUTH_COOKIE_MAX == AKT_SECURITY_MAX_COOKIE, "the exchange takes any cookie");
_Static_assert(AKT__AUTH_MAX_FRAME == AKT_SECURITY_PRE_AUTH_FRAME, "security.h states the limit");
_Static_assert(AKT_SECURITY_MIN_COOKIE > 0, "a cookie is not empty");

/* What the network reaches under /system: the protocol endpoints. */
static const char *const system_reachable[] = {"/system/remoting", "/system/cluster"};

#define USER_PREFIX "/user/"
#define TEMP_PREFIX "/temp/"

/* ---- lists ---------------------------------------------------------------------- */

static void list_free(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) free(items[i]);
  free(items);
}

/* Copies `in` into *out (n strings). `check` says whether an entry is
 * acceptable (NULL: any non-empty one). Returns 0, AKT_EINVAL (logged) or
 * AKT_ENOMEM. */
static int list_copy(akt__remote *r, const char *what, const akt_allow_list *in,
                     int (*check)(const char *), char ***out, size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (in->n == 0) return 0;
  if (!in->items || in->n > AKT_ALLOW_LIST_MAX) {
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: security.%s has %zu entries (at most %d)", what,
             in->n, AKT_ALLOW_LIST_MAX);
    return AKT_EINVAL;
  }
  char **items = calloc(in->n, sizeof *items);
  if (!items) return AKT_ENOMEM;
  for (size_t i = 0; i < in->n; i++) {
    const char *s = in->items[i];
    if (!s || !s[0] || strlen(s) > r->opts.max_name || (check && !check(s))) {
      akt__log(r->sys, AKT_LOG_ERROR,
               "remoting: security.%s[%zu] '%s' is not allowed: %s", what, i, s ? s : "(null)",
               check ? "stop_paths name actors below /user (\"/user/a\", or \"/user/a/\" for "
                       "everything below it)"
                     : "an empty or too long name");
      list_free(items, i);
      return AKT_EINVAL;
    }
    if (!(items[i] = strdup(s))) {
      list_free(items, i);
      return AKT_ENOMEM;
    }
  }
  *out = items;
  *n_out = in->n;
  return 0;
}

/* A stop_paths entry: below /user, not the guardian itself, no empty
 * segment. */
static int stop_path_ok(const char *s) {
  size_t n = strlen(s), pre = sizeof USER_PREFIX - 1;
  if (n < pre || strncmp(s, USER_PREFIX, pre) != 0) return 0;
  if (strstr(s, "//")) return 0;
  return 1; /* "/user/" itself: every user actor, which an operator may want */
}

/* ---- TLS ------------------------------------------------------------------------- */

static int tls_on(const akt_tls_options *t) {
  return t->ca_file || t->cert_file || t->key_file;
}

static int tls_init(akt__remote *r, const akt_tls_options *t) {
  if (!t->ca_file || !t->cert_file || !t->key_file) {
    akt__log(r->sys, AKT_LOG_ERROR,
             "remoting: TLS needs security.tls.ca_file, cert_file and key_file (%s missing)",
             !t->ca_file ? "ca_file" : !t->cert_file ? "cert_file" : "key_file");
    return AKT_EINVAL;
  }
  if (t->client_auth != AKT_TLS_MUTUAL && t->client_auth != AKT_TLS_SERVER_ONLY) {
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: security.tls.client_auth %d is not one of "
             "AKT_TLS_MUTUAL, AKT_TLS_SERVER_ONLY", (int)t->client_auth);
    return AKT_EINVAL;
  }
  if (t->client_auth == AKT_TLS_SERVER_ONLY && !r->sec.has_cookie) {
    akt__log(r->sys, AKT_LOG_ERROR,
             "remoting: TLS without mutual authentication needs a cookie: the connecting "
             "side would be nobody in particular (set security.cookie, or client_auth "
             "AKT_TLS_MUTUAL)");
    return AKT_EINVAL;
  }
  if (t->min_version && t->min_version != AKT_TLS_1_2 && t->min_version != AKT_TLS_1_3) {
    akt__log(r->sys, AKT_LOG_ERROR,
             "remoting: security.tls.min_version 0x%x is not AKT_TLS_1_2 or AKT_TLS_1_3",
             (unsigned)t->min_version);
    return AKT_EINVAL;
  }
  akt__tls_config c = {.ca_file = t->ca_file,
                       .cert_file = t->cert_file,
                       .key_file = t->key_file,
                       .peer_name = t->peer_name,
                       .mutual = t->client_auth == AKT_TLS_MUTUAL,
                       .min_version = t->min_version,
                       .backend = r->sys->backend};
  akt__tls_error err;
  int rc = akt__tls_ctx_new(&c, &r->sec.tls, &err);
  if (rc == AKT_EINVAL)
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: TLS: %s", err.text);
  else if (rc)
    akt__log(r->sys, AKT_LOG_ERROR, "remoting: TLS: cannot set up OpenSSL: %s",
             akt_strerror(rc));
  return rc;
}

/* ---- the limits ------------------------------------------------------------------- */

/* Replaces 0 by the default, field by field. */
static void limits_defaults(akt_security_limits *l) {
#define DFLT(field, value) \
  if (!l->field) l->field = (value)
  DFLT(handshake_deadline, AKT_SECURITY_DEFAULT_HANDSHAKE_DEADLINE);
  DFLT(max_connections, AKT_SECURITY_DEFAULT_MAX_CONNECTIONS);
  DFLT(max_connections_per_source, AKT_SECURITY_DEFAULT_MAX_CONNECTIONS_PER_SOURCE);
  DFLT(max_unauthenticated, AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED);
  DFLT(max_unauthenticated_per_source, AKT_SECURITY_DEFAULT_MAX_UNAUTHENTICATED_PER_SOURCE);
  DFLT(max_peers, AKT_SECURITY_DEFAULT_MAX_PEERS);
  DFLT(peer_idle, AKT_SECURITY_DEFAULT_PEER_IDLE);
  DFLT(max_queued_total, AKT_SECURITY_DEFAULT_MAX_QUEUED_TOTAL);
  DFLT(unreachable_give_up, AKT_SECURITY_DEFAULT_UNREACHABLE_GIVE_UP);
  DFLT(memory_per_byte, AKT_SECURITY_DEFAULT_MEMORY_PER_BYTE);
  DFLT(log_interval, AKT_SECURITY_DEFAULT_LOG_INTERVAL);
#undef DFLT
}

/* Limits that cannot work together. 0 or AKT_EINVAL (logged). */
static int limits_check(akt__remote *r, const akt_security_limits *l) {
  const char *why = NULL;
  if (l->max_connections_per_source > l->max_connections)
    why = "max_connections_per_source is over max_connections";
  else if (l->max_unauthenticated > l->max_connections)
    why = "max_unauthenticated is over max_connections";
  else if (l->max_unauthenticated_per_source > l->max_unauthenticated)
    why = "max_unauthenticated_per_source is over max_unauthenticated";
  else if (l->max_peers > AKT__PEERS_LIMIT)
    why = "max_peers is over " AKT__STR(AKT__PEERS_LIMIT);
  else if (l->max_connections > AKT__CONNECTIONS_LIMIT)
    why = "max_connections is over " AKT__STR(AKT__CONNECTIONS_LIMIT);
  else if (l->memory_per_byte > AKT__MEMORY_PER_BYTE_LIMIT)
    why = "memory_per_byte is over " AKT__STR(AKT__MEMORY_PER_BYTE_LIMIT);
  if (!why) return 0;
  akt__log(r->sys, AKT_LOG_ERROR, "remoting: security.limits: %s", why);
  return AKT_EINVAL;
}

/* ---- start ------------------------------------------------------------------------ */

int akt__security_init(akt__remote *r, const akt_security_options *o) {
  akt__security *s = &r->sec;
  memset(s, 0, sizeof *s);
  akt_security_options none = {0};
  if (!o) o = &none;
  s->limits = o->limits;
  limits_defaults(&s->limits);
  int rc = limits_check(r, &s->limits);
  if (rc) return rc;
  if (o->cookie) {
    size_t n = strlen(o->cookie);
    if (n < AKT_SECURITY_MIN_COOKIE || n > AKT_SECURITY_MAX_COOKIE) {
      akt__log(r->sys, AKT_LOG_ERROR,
               "remoting: the cookie has %zu bytes; it needs %d to %d (make one with "
               "`openssl rand -hex 32`)",
               n, AKT_SECURITY_MIN_COOKIE, AKT_SECURITY_MAX_COOKIE);
      return AKT_EINVAL;
    }
    memcpy(s->cookie, o->cookie, n);
    s->cookie_len = n;
    s->has_cookie = 1;
  } else {
    memcpy(s->cookie, NO_COOKIE, sizeof NO_COOKIE - 1);
    s->cookie_len = sizeof NO_COOKIE - 1;
  }
  if (!s->has_cookie && !tls_on(&o->tls) && !o->insecure) {
    akt__log(r->sys, AKT_LOG_ERROR,
             "remoting: refusing to start without authentication: anyone who reaches the port "
             "could run your actors. Set security.cookie (`openssl rand -hex 32`) and/or "
             "security.tls, or security.insecure on a closed network (docs/security.md)");
    return AKT_EINVAL;
  }
  if (tls_on(&o->tls) && (rc = tls_init(r, &o->tls)) != 0) return rc;
  rc = list_copy(r, "spawn_kinds", &o->spawn_kinds, NULL, &s->spawn_kinds, &s->nspawn);
  if (rc == 0) rc = list_copy(r, "stop_paths", &o->stop_paths, stop_path_ok, &s->stop_paths,
                              &s->nstop);
  if (rc) {
    akt__security_free(s);
    return rc;
  }
  s->insecure = !s->has_cookie && !s->tls;
  return 0;
}

void akt__security_announce(akt__remote *r) {
  const akt__security *s = &r->sec;
  if (s->insecure)
    akt__log(r->sys, AKT_LOG_ERROR,
             "remoting: INSECURE: %s runs without cookie and TLS (security.insecure): anyone who "
             "reaches %s:%u can message its actors and read its traffic",
             r->node, r->listen_host[0] ? r->listen_host : "(any)", (unsigned)r->port);
  else
    akt__log(r->sys, AKT_LOG_INFO, "remoting: %s authenticates peers with %s%s%s", r->node,
             s->has_cookie ? "the cookie" : "", s->has_cookie && s->tls ? " and " : "",
             s->tls ? "TLS certificates" : "");
}

void akt__security_free(akt__security *s) {
  akt__tls_ctx_free(s->tls);
  list_free(s->spawn_kinds, s->nspawn);
  list_free(s->stop_paths, s->nstop);
  memset(s, 0, sizeof *s); /* and the cookie with it */
}

/* ---- the rules -------------------------------------------------------------------- */

static int has_prefix(const uint8_t *p, size_t n, const char *prefix) {
  size_t k = strlen(prefix);
  return n > k && memcmp(p, prefix, k) == 0;
}

static int equals(const uint8_t *p, size_t n, const char *s) {
  return n == strlen(s) && memcmp(p, s, n) == 0;
}

int akt__security_reachable(const uint8_t *path, size_t len) {
  /* The bytes are the peer's: a NUL inside would make a C string of them
   * name something else than what was checked. */
  if (len == 0 || memchr(path, '\0', len)) return 0;
  if (has_prefix(path, len, USER_PREFIX) || has_prefix(path, len, TEMP_PREFIX)) return 1;
  for (size_t i = 0; i < sizeof system_reachable / sizeof system_reachable[0]; i++)
    if (equals(path, len, system_reachable[i])) return 1;
  return 0;
}

int akt__security_may_spawn(const akt__remote *r, const char *kind) {
  for (size_t i = 0; i < r->sec.nspawn; i++)
    if (strcmp(r->sec.spawn_kinds[i], kind) == 0) return 1;
  return 0;
}

int akt__security_may_stop(const akt__remote *r, const uint8_t *path, size_t len) {
  if (!has_prefix(path, len, USER_PREFIX) || memchr(path, '\0', len)) return 0;
  for (size_t i = 0; i < r->sec.nstop; i++) {
    const char *e = r->sec.stop_paths[i];
    size_t n = strlen(e);
    if (e[n - 1] == '/' ? len > n && memcmp(path, e, n) == 0 : equals(path, len, e)) return 1;
  }
  return 0;
}

/* ---- randomness --------------------------------------------------------------------- */

int akt__secure_random(akt_backend *b, uint8_t *buf, size_t len) {
  if (b->ops->random_bytes) return b->ops->random_bytes(b, buf, len);
  /* The simulator: its seeded stream, so that runs replay. */
  for (size_t i = 0; i < len; i += sizeof(uint64_t)) {
    uint64_t x = b->ops->random_u64(b);
    memcpy(buf + i, &x, len - i < sizeof x ? len - i : sizeof x);
  }
  return 0;
}
