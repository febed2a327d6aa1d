/* akt — configurations (epochs) and where a name is placed in one.
 *
 * A configuration is the set of members that host cluster actors, vote on
 * the log and grant leases, as one slot of the log decided it. Everything
 * here is a function of the configuration alone — never of a node's own
 * view of membership — so every node that applied the same slots places
 * every name on the same member (placement.c and partition.c state the
 * functions and why they agree across nodes).
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"

static int by_member_id(const void *a, const void *b) {
  return strcmp(((const akt__ca_member *)a)->id, ((const akt__ca_member *)b)->id);
}

/* A string from a peer: 1..max bytes. */
static int str_ok(const char *s, size_t max) {
  if (!s) return 0;
  size_t n = strnlen(s, max + 1);
  return n >= 1 && n <= max;
}

static void member_free(akt__ca_member *m) {
  free(m->id);
  free(m->remoting);
  free(m->host);
  for (size_t i = 0; i < m->nroles; i++) free(m->roles[i]);
  free(m->roles);
  akt_pid_release(m->peer);
  memset(m, 0, sizeof *m);
}

void akt__ca_config_free(akt__ca_config *c) {
  for (size_t i = 0; i < c->n; i++) member_free(&c->m[i]);
  free(c->m);
  free(c->view);
  free(c->role_ptrs);
  akt__partition_table_release(c->table0);
  memset(c, 0, sizeof *c);
}

void akt__ca_config_move(akt__ca_config *to, akt__ca_config *from) {
  akt__ca_config_free(to);
  *to = *from;
  memset(from, 0, sizeof *from);
}

static int member_copy(akt__ca_member *m, const Akt__Ca__Member *in) {
  if (!str_ok(in->id, AKT__MEMBER_ID_MAX) || !str_ok(in->remoting, AKT_CLUSTER_REMOTING_MAX - 1) ||
      !str_ok(in->host, AKT_HOST_MAX - 1) || in->port == 0 || in->port > UINT16_MAX ||
      in->n_roles > AKT__ROLES_MAX)
    return AKT_EPROTO;
  for (size_t i = 0; i < in->n_roles; i++) {
    if (!str_ok(in->roles[i], AKT__ROLE_NAME_MAX)) return AKT_EPROTO;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(in->roles[i], in->roles[j])) return AKT_EPROTO;
  }
  m->id = strdup(in->id);
  m->remoting = strdup(in->remoting);
  m->host = strdup(in->host);
  m->port = (uint16_t)in->port;
  m->age = in->age;
  m->roles = in->n_roles ? calloc(in->n_roles, sizeof *m->roles) : NULL;
  if (!m->id || !m->remoting || !m->host || (in->n_roles && !m->roles)) return AKT_ENOMEM;
  for (size_t i = 0; i < in->n_roles; i++) {
    if (!(m->roles[i] = strdup(in->roles[i]))) return AKT_ENOMEM;
    m->nroles = i + 1;
  }
  return 0;
}

int akt__ca_config_from_msg(akt__ca_config *out, const Akt__Ca__Config *msg, uint64_t slot,
                            const akt__partition_config *pcfg) {
  memset(out, 0, sizeof *out);
  if (!msg || msg->n_members == 0 || msg->n_members > AKT__CA_MEMBERS_MAX) return AKT_EPROTO;
  size_t n = msg->n_members, nroles = 0;
  out->m = calloc(n, sizeof *out->m);
  out->view = calloc(n, sizeof *out->view);
  if (!out->m || !out->view) {
    akt__ca_config_free(out);
    return AKT_ENOMEM;
  }
  out->n = n;
  for (size_t i = 0; i < n; i++) {
    int rc = msg->members[i] ? member_copy(&out->m[i], msg->members[i]) : AKT_EPROTO;
    if (rc) {
      akt__ca_config_free(out);
      return rc;
    }
    nroles += out->m[i].nroles;
  }
  qsort(out->m, n, sizeof *out->m, by_member_id);
  for (size_t i = 1; i < n; i++) {
    if (!strcmp(out->m[i - 1].id, out->m[i].id)) {
      akt__ca_config_free(out);
      return AKT_EPROTO;
    }
  }
  out->role_ptrs = calloc(nroles ? nroles : 1, sizeof *out->role_ptrs);
  if (!out->role_ptrs) {
    akt__ca_config_free(out);
    return AKT_ENOMEM;
  }
  for (size_t i = 0, r = 0; i < n; i++) {
    const akt__ca_member *m = &out->m[i];
    for (size_t k = 0; k < m->nroles; k++) out->role_ptrs[r + k] = m->roles[k];
    out->view[i] = (akt__member){.id = m->id,
                                 .roles = {m->nroles ? &out->role_ptrs[r] : NULL, m->nroles},
                                 .up = 1,
                                 .age = m->age};
    r += m->nroles;
  }
  int rc = akt__partition_table_build(pcfg, out->view, n, NULL, &out->table0);
  if (rc) {
    akt__ca_config_free(out);
    return rc == AKT_ENOMEM ? AKT_ENOMEM : AKT_EPROTO;
  }
  out->slot = slot;
  return 0;
}

int akt__ca_config_msg(const akt__ca_config *c, Akt__Ca__Config *msg) {
  akt__ca__config__init(msg);
  if (!c->n) return 0;
  Akt__Ca__Member **ptrs = calloc(c->n, sizeof *ptrs);
  Akt__Ca__Member *ms = calloc(c->n, sizeof *ms);
  if (!ptrs || !ms) {
    free(ptrs);
    free(ms);
    return AKT_ENOMEM;
  }
  for (size_t i = 0; i < c->n; i++) {
    const akt__ca_member *m = &c->m[i];
    akt__ca__member__init(&ms[i]);
    ms[i].id = m->id;
    ms[i].remoting = m->remoting;
    ms[i].host = m->host;
    ms[i].port = m->port;
    ms[i].age = m->age;
    ms[i].roles = m->roles;
    ms[i].n_roles = m->nroles;
    ptrs[i] = &ms[i];
  }
  msg->members = ptrs;
  msg->n_members = c->n;
  return 0;
}

void akt__ca_config_msg_free(Akt__Ca__Config *msg) {
  if (msg->n_members) free(msg->members[0]);
  free(msg->members);
  msg->members = NULL;
  msg->n_members = 0;
}

static const char *member_id_at(const void *arg, size_t i) {
  return ((const akt__ca_config *)arg)->m[i].id;
}

long akt__ca_config_find(const akt__ca_config *c, const char *id) {
  if (!id || !c->n) return -1;
  return akt__placement_search_id(c, c->n, member_id_at, id);
}

int akt__ca_config_same_ids(const akt__ca_config *a, const Akt__Ca__Config *b) {
  if (!b || a->n != b->n_members) return 0;
  for (size_t i = 0; i < b->n_members; i++)
    if (!b->members[i] || akt__ca_config_find(a, b->members[i]->id) < 0) return 0;
  return 1;
}

/* The owner of `name`'s partition among the candidates for `need`. */
static long place_owner(akt__ca *ca, const akt__ca_config *c, const char *name,
                        const akt__roles *need) {
  akt__partition_table *t = NULL;
  int own = 0;
  if (!need || need->n == 0) {
    t = c->table0;
  } else {
    int rc = akt__partition_cache_get(&ca->pcache, c->view, c->n, need, &t);
    if (rc) return -1; /* AKT_ENOENT: no candidate; the others: malformed, asserted below */
    own = 1;
  }
  if (!t) return -1;
  const char *owner = akt__partition_table_owner_of(t, name, strlen(name));
  long at = akt__ca_config_find(c, owner);
  AKT_ASSERT(at >= 0); /* a table's members are members of its view */
  if (own) akt__partition_table_release(t);
  return at;
}

long akt__ca_place(akt__ca *ca, const akt__ca_config *c, const char *name, uint32_t placement,
                   const char *fixed, const akt__roles *need) {
  if (!c->n) return -1;
  switch (placement) {
    case AKT__CA_PLACE_OLDEST: {
      size_t chosen;
      return akt__placement_oldest(c->view, c->n, need, &chosen) ? -1 : (long)chosen;
    }
    case AKT__CA_PLACE_FIXED: {
      /* Its member while that member is in the configuration and has the
       * roles; then the owner, as every node computes alike. */
      long at = akt__ca_config_find(c, fixed);
      if (at >= 0 && akt__roles_cover(&c->view[at].roles, need)) return at;
      return place_owner(ca, c, name, need);
    }
    case AKT__CA_PLACE_OWNER:
    default: return place_owner(ca, c, name, need);
  }
}
