/* akt — the simulated name table: what resolve and resolve_srv answer.
 *
 * A world starts with no records; every node's name resolves to the node,
 * and so does NAME.local, the node's mDNS host name (a querier resolves an
 * SRV target that came without an address record that way, as nss-mdns
 * does on a real host). Tests and scenarios add records — addresses for a
 * name (a headless service: one per pod), SRV records, a failure — and
 * remove them while the world runs (include/akt/sim.h, "names").
 *
 * A lookup is answered from the table as it is when asked, by a world
 * event at the same virtual instant on behalf of the asking node (a pause
 * defers it), never inside the call. The answer is given even when the
 * node crashed in between, as offloaded work runs: whoever asked may have
 * let go of its memory already and frees it in the callback (the contract
 * of resolve in include/akt/backend.h). Lookups not yet answered are
 * listed on the world: freeing the world answers them AKT_ESTOPPED, as
 * the production backend does when it shuts down, so that their owners
 * free what they lent (the world's other events are dropped unfired).
 *
 * Every lookup is a trace record of kind net ("resolve", "resolve-srv":
 * code = the status or the number of answers, text = the name), so a
 * change to the table shows in the digest of the runs it affects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "akt/error.h"
#include "sim/net.h"
#include "sim/world.h"

#define NODE(b) ((akt__sim_node *)(b)->impl)

typedef enum rec_kind { REC_ADDR = 1, REC_SRV = 2, REC_FAIL = 3 } rec_kind;

typedef struct rec {
  rec_kind kind;
  char name[AKT_HOST_MAX]; /* without a trailing dot */
  char host[AKT_HOST_MAX]; /* REC_ADDR */
  akt_srv srv;             /* REC_SRV */
  int code;                /* REC_FAIL */
} rec;

typedef struct lookup lookup;

struct akt__sim_names {
  rec *recs; /* in the order added */
  size_t nrecs, caprecs;
  akt__sim_dlist pending; /* lookups not yet answered (lookup.link) */
};

struct lookup {
  akt__sim_dlink link; /* first: on names->pending */
  akt_sim_world *w;
  int srv;             /* resolve_srv, else resolve */
  akt_resolve_fn cb;
  akt_resolve_srv_fn srv_cb;
  void *data;
  int status;
  size_t n;
  akt_addr addrs[AKT_SIM_RESOLVE_MAX];
  akt_srv *recs;       /* srv: n records */
};

static akt__sim_names *names_get(akt_sim_world *w) {
  if (!w->names) w->names = calloc(1, sizeof *w->names);
  return w->names;
}

/* Copies `name` without its trailing dot; 0 if it is empty or too long. */
static int name_norm(const char *name, char out[AKT_HOST_MAX]) {
  if (!name) return 0;
  size_t len = strnlen(name, AKT_HOST_MAX);
  if (len == AKT_HOST_MAX) return 0;
  if (len > 0 && name[len - 1] == '.') len--;
  if (len == 0) return 0;
  memcpy(out, name, len);
  out[len] = '\0';
  return 1;
}

static int rec_add(akt_sim_world *w, const rec *r) {
  akt__sim_names *t = names_get(w);
  if (!t) return AKT_ENOMEM;
  if (t->nrecs >= AKT_SIM_NAME_MAX_RECORDS) return AKT_ELIMIT;
  if (t->nrecs == t->caprecs) {
    size_t cap = t->caprecs ? t->caprecs * 2 : 16;
    rec *recs = realloc(t->recs, cap * sizeof *recs);
    if (!recs) return AKT_ENOMEM;
    t->recs = recs;
    t->caprecs = cap;
  }
  t->recs[t->nrecs++] = *r;
  return 0;
}

int akt_sim_name_add(akt_sim_world *w, const char *name, const char *host) {
  rec r = {.kind = REC_ADDR};
  if (!w || !name_norm(name, r.name) || !host || !*host || strnlen(host, AKT_HOST_MAX) == AKT_HOST_MAX)
    return AKT_EINVAL;
  snprintf(r.host, sizeof r.host, "%s", host);
  return rec_add(w, &r);
}

int akt_sim_name_add_srv(akt_sim_world *w, const char *name, const akt_srv *srv) {
  rec r = {.kind = REC_SRV};
  if (!w || !srv || !name_norm(name, r.name) || !name_norm(srv->target, r.srv.target))
    return AKT_EINVAL;
  r.srv.port = srv->port;
  r.srv.priority = srv->priority;
  r.srv.weight = srv->weight;
  return rec_add(w, &r);
}

int akt_sim_name_fail(akt_sim_world *w, const char *name, int code) {
  rec r = {.kind = REC_FAIL, .code = code};
  if (!w || !name_norm(name, r.name) || (code != AKT_ENOENT && code != AKT_EBACKEND))
    return AKT_EINVAL;
  return rec_add(w, &r);
}

int akt_sim_name_remove(akt_sim_world *w, const char *name) {
  char key[AKT_HOST_MAX];
  if (!w || !name_norm(name, key)) return AKT_EINVAL;
  akt__sim_names *t = w->names;
  size_t out = 0, before = t ? t->nrecs : 0;
  for (size_t i = 0; i < before; i++)
    if (strcasecmp(t->recs[i].name, key) != 0) t->recs[out++] = t->recs[i];
  if (t) t->nrecs = out;
  return out < before ? 0 : AKT_ENOENT;
}

/* The failure recorded for `key`, or 0. */
static int failure_of(const akt__sim_names *t, const char *key) {
  for (size_t i = 0; t && i < t->nrecs; i++)
    if (t->recs[i].kind == REC_FAIL && !strcasecmp(t->recs[i].name, key)) return t->recs[i].code;
  return 0;
}

/* Fills q with the addresses of `key`: the table's records, else the node
 * it names (NAME or NAME.local). */
static void answer_addrs(akt_sim_world *w, const char *key, lookup *q) {
  const akt__sim_names *t = w->names;
  if ((q->status = failure_of(t, key)) != 0) return;
  for (size_t i = 0; t && i < t->nrecs && q->n < AKT_SIM_RESOLVE_MAX; i++)
    if (t->recs[i].kind == REC_ADDR && !strcasecmp(t->recs[i].name, key))
      snprintf(q->addrs[q->n++].host, AKT_HOST_MAX, "%s", t->recs[i].host);
  if (q->n) return;
  static const char local[] = ".local";
  size_t len = strlen(key), ll = sizeof local - 1;
  for (size_t i = 0; i < w->nnodes; i++) {
    const char *nm = w->nodes[i]->name;
    size_t nl = strlen(nm);
    if (!strcasecmp(nm, key) ||
        (len == nl + ll && !strncasecmp(key, nm, nl) && !strcasecmp(key + nl, local))) {
      snprintf(q->addrs[q->n++].host, AKT_HOST_MAX, "%s", nm);
      return;
    }
  }
  q->status = AKT_ENOENT;
}

/* Fills q with the SRV records of `key`. Returns 0 or AKT_ENOMEM. */
static int answer_srv(akt_sim_world *w, const char *key, lookup *q) {
  const akt__sim_names *t = w->names;
  if ((q->status = failure_of(t, key)) != 0) return 0;
  size_t count = 0;
  for (size_t i = 0; t && i < t->nrecs; i++)
    count += t->recs[i].kind == REC_SRV && !strcasecmp(t->recs[i].name, key);
  if (count > AKT_SRV_MAX) count = AKT_SRV_MAX;
  if (count == 0) {
    q->status = AKT_ENOENT;
    return 0;
  }
  q->recs = malloc(count * sizeof *q->recs);
  if (!q->recs) return AKT_ENOMEM;
  for (size_t i = 0; i < t->nrecs && q->n < count; i++)
    if (t->recs[i].kind == REC_SRV && !strcasecmp(t->recs[i].name, key))
      q->recs[q->n++] = t->recs[i].srv;
  return 0;
}

static void lookup_fire(void *arg, uint64_t cookie) {
  (void)cookie;
  lookup *q = arg;
  akt__sim_dlist_remove(&q->w->names->pending, &q->link);
  if (q->srv)
    q->srv_cb(q->status, q->status ? NULL : q->recs, q->status ? 0 : q->n, q->data);
  else
    q->cb(q->status, q->status ? NULL : q->addrs, q->status ? 0 : q->n, q->data);
  free(q->recs);
  free(q);
}

static int lookup_start(akt_backend *b, const char *name, int srv, akt_resolve_fn cb,
                        akt_resolve_srv_fn srv_cb, void *data) {
  akt__sim_node *n = NODE(b);
  akt_sim_world *w = n->world;
  char key[AKT_HOST_MAX];
  if (!name_norm(name, key) || (srv ? !srv_cb : !cb)) return AKT_EINVAL;
  akt__sim_names *t = names_get(w);
  lookup *q = t ? calloc(1, sizeof *q) : NULL;
  if (!q) return AKT_ENOMEM;
  q->w = w;
  q->srv = srv;
  q->cb = cb;
  q->srv_cb = srv_cb;
  q->data = data;
  if (srv) {
    if (answer_srv(w, key, q)) {
      free(q);
      return AKT_ENOMEM;
    }
  } else {
    answer_addrs(w, key, q);
  }
  akt__sim_event ev = {.time = w->now, .node = n, .fn = lookup_fire, .arg = q};
  if (akt__sim_push_event(w, &ev)) {
    free(q->recs);
    free(q);
    return AKT_ENOMEM;
  }
  akt__sim_dlist_push(&t->pending, &q->link);
  akt_event tev = {.kind = AKT_EV_NET, .type = srv ? "resolve-srv" : "resolve", .text = key,
                   .code = q->status ? q->status : (int64_t)q->n};
  akt__sim_record(w, n, &tev);
  return 0;
}

int akt__sim_resolve(akt_backend *b, const char *name, akt_resolve_fn cb, void *data) {
  return lookup_start(b, name, 0, cb, NULL, data);
}

int akt__sim_resolve_srv(akt_backend *b, const char *name, akt_resolve_srv_fn cb, void *data) {
  return lookup_start(b, name, 1, NULL, cb, data);
}

void akt__sim_names_free(akt_sim_world *w) {
  akt__sim_names *t = w->names;
  if (!t) return;
  while (t->pending.head) {
    lookup *q = (lookup *)t->pending.head;
    akt__sim_dlist_remove(&t->pending, &q->link);
    if (q->srv)
      q->srv_cb(AKT_ESTOPPED, NULL, 0, q->data);
    else
      q->cb(AKT_ESTOPPED, NULL, 0, q->data);
    free(q->recs);
    free(q);
  }
  free(t->recs);
  free(t);
  w->names = NULL;
}
