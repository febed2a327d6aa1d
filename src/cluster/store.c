/* akt — the in-memory state store (akt/cluster_actors.h), with optional
 * faults.
 *
 * Each operation takes effect when it is called — under the store's lock,
 * so operations on one name are ordered by their calls — and answers
 * through a timer of the caller's backend: at once, or after a random
 * latency, and with a random storage fault when asked to inject some (the
 * random numbers come from the caller's backend: a simulated run draws the
 * same ones for the same seed). Fencing as the interface states: the
 * highest fence seen per name, gets included; an operation below it is
 * refused with AKT_ESTATE and changes nothing.
 *
 * Owned by whoever outlives the nodes that use it: in the simulator the
 * workload's shared state (the world's "disk"), so it survives crashes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/cluster/actors.h"
#include "src/util/assert.h"
#include "src/util/strtab.h"

typedef struct mem_entry {
  void *link;
  char *name;
  uint8_t *data;
  size_t len;
  int present;
  uint64_t version, fence;
} mem_entry;

typedef struct mem_op {
  uint64_t id;
  akt_backend *b;
  uint64_t timer;
  akt_cluster_store_fn cb;
  void *arg;
  int status;
  uint8_t *data;
  size_t len;
  uint64_t version;
  struct mem_op *next;
} mem_op;

typedef struct mem_store {
  akt_cluster_store s;
  akt_cluster_store_faults f;
  pthread_mutex_t mu;
  akt__strtab tab;
  size_t names;
  mem_op *ops;
  uint64_t next_id;
} mem_store;

static const char *entry_key(const void *item) { return ((const mem_entry *)item)->name; }

static mem_entry *entry_of(mem_store *m, const char *name, int make) {
  mem_entry *e = akt__strtab_find(&m->tab, name);
  if (e || !make || m->names >= AKT_CLUSTER_STORE_NAMES_MAX) return e;
  e = calloc(1, sizeof *e);
  if (!e || !(e->name = strdup(name)) || akt__strtab_add(&m->tab, e)) {
    if (e) free(e->name);
    free(e);
    return NULL;
  }
  m->names++;
  return e;
}

static void fire(void *arg, uint64_t cookie) {
  mem_store *m = arg;
  pthread_mutex_lock(&m->mu);
  mem_op *op = NULL;
  for (mem_op **p = &m->ops; *p; p = &(*p)->next) {
    if ((*p)->id == cookie) {
      op = *p;
      *p = op->next;
      break;
    }
  }
  pthread_mutex_unlock(&m->mu);
  if (!op) return; /* canceled */
  op->cb(op->arg, op->status, op->data, op->len, op->version);
  free(op->data);
  free(op);
}

/* Runs one operation (lock held) and schedules its answer. */
static int run(mem_store *m, akt_backend *b, int what, const char *name, uint64_t fence,
               const uint8_t *data, size_t len, akt_cluster_store_fn cb, void *arg, uint64_t *id) {
  if (!b || !name || !cb || !id || (what == 1 && len && !data)) return AKT_EINVAL;
  if (what == 1 && len > AKT_CLUSTER_STORE_VALUE_MAX) return AKT_ELIMIT;
  mem_op *op = calloc(1, sizeof *op);
  if (!op) return AKT_ENOMEM;
  op->b = b;
  op->cb = cb;
  op->arg = arg;
  op->id = ++m->next_id;
  akt_duration delay = 0;
  int faulty = 0;
  if (m->f.latency_max) delay = b->ops->random_u64(b) % (m->f.latency_max + 1);
  if (m->f.fail_ppm) faulty = b->ops->random_u64(b) % 1000000 < m->f.fail_ppm;
  mem_entry *e = entry_of(m, name, what != 0);
  if (faulty) {
    op->status = AKT_EBACKEND; /* a storage fault: nothing happened */
  } else if (!e) {
    op->status = what == 0 || what == 2 ? AKT_ENOENT : AKT_ENOMEM;
  } else if (fence < e->fence) {
    op->status = AKT_ESTATE;
  } else {
    e->fence = fence;
    if (what == 0) {
      op->status = e->present ? 0 : AKT_ENOENT;
      if (e->present) {
        op->data = malloc(e->len ? e->len : 1);
        if (!op->data) op->status = AKT_ENOMEM;
        else memcpy(op->data, e->data, e->len);
        op->len = e->len;
      }
    } else if (what == 1) {
      uint8_t *copy = malloc(len ? len : 1);
      if (!copy) {
        op->status = AKT_ENOMEM;
      } else {
        if (len) memcpy(copy, data, len);
        free(e->data);
        e->data = copy;
        e->len = len;
        e->present = 1;
        e->version++;
      }
    } else {
      op->status = e->present ? 0 : AKT_ENOENT;
      free(e->data);
      e->data = NULL;
      e->len = 0;
      e->present = 0;
      e->version++;
    }
    op->version = e->version;
  }
  int rc = b->ops->timer_start(b, delay, fire, m, op->id, &op->timer);
  if (rc) {
    free(op->data);
    free(op);
    return rc;
  }
  op->next = m->ops;
  m->ops = op;
  *id = op->id;
  return 0;
}

static int mem_get(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
                   akt_cluster_store_fn cb, void *arg, uint64_t *op) {
  mem_store *m = s->impl;
  pthread_mutex_lock(&m->mu);
  int rc = run(m, b, 0, name, fence, NULL, 0, cb, arg, op);
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static int mem_put(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
                   const uint8_t *data, size_t len, akt_cluster_store_fn cb, void *arg,
                   uint64_t *op) {
  mem_store *m = s->impl;
  pthread_mutex_lock(&m->mu);
  int rc = run(m, b, 1, name, fence, data, len, cb, arg, op);
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static int mem_del(akt_cluster_store *s, akt_backend *b, const char *name, uint64_t fence,
                   akt_cluster_store_fn cb, void *arg, uint64_t *op) {
  mem_store *m = s->impl;
  pthread_mutex_lock(&m->mu);
  int rc = run(m, b, 2, name, fence, NULL, 0, cb, arg, op);
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static void mem_cancel(akt_cluster_store *s, akt_backend *b, uint64_t id) {
  mem_store *m = s->impl;
  pthread_mutex_lock(&m->mu);
  for (mem_op **p = &m->ops; *p; p = &(*p)->next) {
    mem_op *op = *p;
    if (op->id != id) continue;
    *p = op->next;
    /* On the I/O context (the interface's rule) the timer is not firing:
     * canceled, it never runs; fired already, it finds nothing. */
    b->ops->timer_cancel(op->b, op->timer);
    free(op->data);
    free(op);
    break;
  }
  pthread_mutex_unlock(&m->mu);
}

static void entry_free(void *item) {
  mem_entry *e = item;
  free(e->data);
  free(e->name);
  free(e);
}

static void mem_free(akt_cluster_store *s) {
  if (!s) return;
  mem_store *m = s->impl;
  AKT_ASSERT(m->ops == NULL); /* the interface: nothing pending at free */
  akt__strtab_free(&m->tab, entry_free);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static const akt_cluster_store_ops mem_ops = {.name = "memory",
                                              .get = mem_get,
                                              .put = mem_put,
                                              .del = mem_del,
                                              .cancel = mem_cancel,
                                              .free = mem_free};

int akt_cluster_store_memory_new_with(const akt_cluster_store_faults *faults,
                                      akt_cluster_store **out) {
  if (!out || (faults && faults->fail_ppm > 1000000)) return AKT_EINVAL;
  mem_store *m = calloc(1, sizeof *m);
  if (!m) return AKT_ENOMEM;
  if (faults) m->f = *faults;
  pthread_mutex_init(&m->mu, NULL);
  akt__strtab_init(&m->tab, 64, offsetof(mem_entry, link), entry_key);
  m->s.ops = &mem_ops;
  m->s.impl = m;
  *out = &m->s;
  return 0;
}

int akt_cluster_store_memory_new(akt_cluster_store **out) {
  return akt_cluster_store_memory_new_with(NULL, out);
}

size_t akt_cluster_store_memory_pending(akt_cluster_store *s) {
  mem_store *m = s->impl;
  pthread_mutex_lock(&m->mu);
  size_t n = 0;
  for (mem_op *op = m->ops; op; op = op->next) n++;
  pthread_mutex_unlock(&m->mu);
  return n;
}
