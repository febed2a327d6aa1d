/* akt — what akt's asynchronous discovery providers share: the lookup,
 * its deadline and answer, and reference-counted lifetime
 * (src/cluster/discovery_kit.h says how they fit).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/discovery_kit.h"
#include "src/util/assert.h"

/* Bytes of one log line. */
#define DKIT_LOG_LINE 512

int akt__dkit_init(akt__dkit *k, const char *name, const akt_discovery_ops *ops, void *impl,
                   akt_duration timeout, akt__dkit_destroy_fn destroy) {
  AKT_ASSERT(k && name && ops && impl && destroy && timeout > 0);
  memset(k, 0, sizeof *k);
  k->addrs = calloc(AKT_DISCOVERY_MAX_ADDRS, sizeof *k->addrs);
  k->answered = calloc(AKT_DISCOVERY_MAX_ADDRS, sizeof *k->answered);
  if (!k->addrs || !k->answered || pthread_mutex_init(&k->mu, NULL) != 0) {
    free(k->addrs);
    free(k->answered);
    return AKT_ENOMEM;
  }
  k->d.ops = ops;
  k->d.impl = impl;
  k->name = name;
  k->refs = 1;
  k->timeout = timeout;
  k->destroy = destroy;
  return 0;
}

void akt__dkit_fini(akt__dkit *k) {
  AKT_ASSERT(k->refs == 0 && k->freed);
  pthread_mutex_destroy(&k->mu);
  free(k->addrs);
  free(k->answered);
}

void akt__dkit_lock(akt__dkit *k) { pthread_mutex_lock(&k->mu); }
void akt__dkit_unlock(akt__dkit *k) { pthread_mutex_unlock(&k->mu); }

void akt__dkit_ref(akt__dkit *k) {
  AKT_ASSERT(k->refs > 0);
  k->refs++;
}

void akt__dkit_unref(akt__dkit *k) {
  /* Only a freed provider can be down to the reference being dropped. */
  AKT_ASSERT(k->refs > 1 || (k->refs == 1 && !k->freed));
  k->refs--;
}

void akt__dkit_release(akt__dkit *k, const akt__dkit_answer *answer) {
  akt__dkit_unlock(k);
  if (answer && answer->cb) answer->cb(answer->status, answer->addrs, answer->n, answer->arg);
  akt__dkit_lock(k);
  AKT_ASSERT(k->refs > 0);
  int last = --k->refs == 0;
  AKT_ASSERT(!last || k->freed);
  akt__dkit_unlock(k);
  if (last) k->destroy(k);
}

/* Gives the owner's reference up (free): the last one destroys. */
static void drop_owner(akt__dkit *k) {
  AKT_ASSERT(!k->freed && k->refs > 0);
  k->freed = 1;
  int last = --k->refs == 0;
  akt__dkit_unlock(k);
  if (last) k->destroy(k);
}

void akt__dkit_timer_cancel(akt__dkit *k, uint64_t *id) {
  if (*id && k->b->ops->timer_cancel(k->b, *id) == 0) akt__dkit_unref(k);
  *id = 0;
}

int akt__dkit_timer(akt__dkit *k, akt_duration delay, akt_timer_fn fn, uint64_t cookie,
                    uint64_t *id) {
  AKT_ASSERT(k->b && !k->freed && *id == 0);
  akt__dkit_ref(k);
  int rc = k->b->ops->timer_start(k->b, delay, fn, k, cookie, id);
  if (rc) {
    *id = 0;
    akt__dkit_unref(k);
  }
  return rc;
}

int akt__dkit_current(const akt__dkit *k, uint64_t gen) {
  return k->cb && !k->freed && k->gen == gen;
}

/* Ends the lookup in flight with `status`, writing the answer to give. */
static void finish(akt__dkit *k, int status, akt__dkit_answer *out) {
  AKT_ASSERT(k->cb && (status == 0) == (k->n > 0));
  akt_addr *t = k->answered;
  k->answered = k->addrs;
  k->addrs = t;
  *out = (akt__dkit_answer){.cb = k->cb, .arg = k->arg, .status = status,
                            .addrs = status ? NULL : k->answered, .n = status ? 0 : k->n};
  k->n = 0;
  k->cb = NULL;
  k->arg = NULL;
  akt__dkit_timer_cancel(k, &k->deadline);
  if (status)
    k->stats.failures++;
  else
    k->stats.answers++;
  /* The cluster asks every join round: say when lookups start failing (or
   * fail differently) and when they recover, not every time. */
  if (status && status != k->last_status)
    akt__dkit_log(k, AKT_LOG_WARN, "lookups fail: %s%s%s", akt_strerror(status),
                  k->detail[0] ? ": " : "", k->detail);
  else if (!status && k->last_status)
    akt__dkit_log(k, AKT_LOG_INFO, "lookups answer again (%zu address(es))", out->n);
  k->last_status = status;
}

/* Writes the answer if the lookup is complete. */
static void settle(akt__dkit *k, akt__dkit_answer *out) {
  memset(out, 0, sizeof *out);
  if (!k->cb || k->freed || !k->sealed || k->pending) return;
  finish(k, k->n ? 0 : k->error ? k->error : AKT_ENOENT, out);
}

static void deadline_fire(void *arg, uint64_t gen) {
  akt__dkit *k = arg;
  akt__dkit_answer ans = {0};
  akt__dkit_lock(k);
  if (k->gen == gen) k->deadline = 0; /* this timer's reference is the callback's */
  if (akt__dkit_current(k, gen)) {
    k->stats.timeouts++;
    if (!k->detail[0])
      snprintf(k->detail, sizeof k->detail, "%u name(s) unanswered after the deadline",
               k->pending);
    finish(k, k->n ? 0 : AKT_ETIMEDOUT, &ans);
  }
  akt__dkit_release(k, &ans);
}

int akt__dkit_begin(akt__dkit *k, akt_backend *b, akt_discovery_fn cb, void *arg) {
  if (!cb || !b) return AKT_EINVAL;
  if (k->cb || k->freed) return AKT_ESTATE;
  AKT_ASSERT(!k->b || k->b == b); /* one provider, one node */
  k->b = b;
  k->gen++;
  k->cb = cb;
  k->arg = arg;
  k->n = 0;
  k->pending = 0;
  k->error = 0;
  k->sealed = 0;
  k->detail[0] = '\0';
  int rc = akt__dkit_timer(k, k->timeout, deadline_fire, k->gen, &k->deadline);
  if (rc) {
    k->cb = NULL;
    k->arg = NULL;
    return rc;
  }
  k->stats.lookups++;
  return 0;
}

void akt__dkit_abort(akt__dkit *k) {
  if (!k->cb) return;
  k->cb = NULL;
  k->arg = NULL;
  akt__dkit_timer_cancel(k, &k->deadline);
}

void akt__dkit_add(akt__dkit *k, const char *host, uint16_t port) {
  AKT_ASSERT(k->cb && host && port);
  for (size_t i = 0; i < k->n; i++)
    if (k->addrs[i].port == port && !strcmp(k->addrs[i].host, host)) return;
  if (k->n >= AKT_DISCOVERY_MAX_ADDRS) {
    k->stats.addrs_dropped++;
    return;
  }
  akt_addr *a = &k->addrs[k->n];
  if (snprintf(a->host, sizeof a->host, "%s", host) >= (int)sizeof a->host) return; /* cut: unusable */
  a->port = port;
  k->n++;
}

/* ---- resolving host names ------------------------------------------------------- */

typedef struct resolve_req {
  akt__dkit *k;
  uint64_t gen;
  uint16_t port;
} resolve_req;

static void on_resolved(int status, const akt_addr *addrs, size_t n, void *data) {
  resolve_req *r = data;
  akt__dkit *k = r->k;
  akt__dkit_answer ans = {0};
  akt__dkit_lock(k);
  if (akt__dkit_current(k, r->gen)) {
    AKT_ASSERT(k->pending > 0);
    k->pending--;
    if (status) {
      k->stats.names_failed++;
      if (!k->error) k->error = status;
      if (!k->detail[0]) snprintf(k->detail, sizeof k->detail, "a target did not resolve");
    }
    for (size_t i = 0; !status && i < n; i++) akt__dkit_add(k, addrs[i].host, r->port);
    settle(k, &ans);
  }
  free(r);
  akt__dkit_release(k, &ans);
}

int akt__dkit_resolve(akt__dkit *k, const char *host, uint16_t port) {
  AKT_ASSERT(k->cb && !k->sealed);
  if (akt__dkit_is_ip(host)) {
    akt__dkit_add(k, host, port);
    return 0;
  }
  resolve_req *r = malloc(sizeof *r);
  int rc = AKT_ENOMEM;
  if (r) {
    *r = (resolve_req){.k = k, .gen = k->gen, .port = port};
    akt__dkit_ref(k);
    k->pending++;
    rc = k->b->ops->resolve(k->b, host, on_resolved, r);
    if (rc) {
      k->pending--;
      akt__dkit_unref(k);
      free(r);
    }
  }
  if (rc) {
    k->stats.names_failed++;
    if (!k->error) k->error = rc;
  }
  return rc;
}

void akt__dkit_seal(akt__dkit *k, akt__dkit_answer *out) {
  k->sealed = 1;
  settle(k, out);
}

void akt__dkit_fail(akt__dkit *k, int code, const char *detail, akt__dkit_answer *out) {
  AKT_ASSERT(code < 0);
  if (!k->error) {
    k->error = code;
    if (detail) snprintf(k->detail, sizeof k->detail, "%s", detail);
  }
  akt__dkit_seal(k, out);
}

/* ---- ops --------------------------------------------------------------------------- */

void akt__dkit_op_cancel(akt_discovery *d, akt_backend *b) {
  (void)b;
  akt__dkit *k = (akt__dkit *)d;
  akt__dkit_lock(k);
  akt__dkit_abort(k);
  akt__dkit_unlock(k);
}

void akt__dkit_op_free(akt_discovery *d) {
  akt__dkit *k = (akt__dkit *)d;
  akt__dkit_lock(k);
  akt__dkit_abort(k);
  drop_owner(k);
}

void akt__dkit_op_stats(akt_discovery *d, akt_discovery_stats *out) {
  akt__dkit *k = (akt__dkit *)d;
  akt__dkit_lock(k);
  *out = k->stats;
  akt__dkit_unlock(k);
}

void akt_discovery_get_stats(akt_discovery *d, akt_discovery_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (d && d->ops && d->ops->stats) d->ops->stats(d, out);
}

/* ---- helpers ------------------------------------------------------------------------- */

int akt__dkit_is_ip(const char *host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int akt__dkit_dns_label(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
  return 1;
}

void akt__dkit_log(akt__dkit *k, akt_log_level level, const char *fmt, ...) {
  if (!k->b) return;
  char line[DKIT_LOG_LINE];
  int n = snprintf(line, sizeof line, "discovery %s: ", k->name);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  k->b->ops->log(k->b, level, line);
}
