/* akt — linearizability checking: preparing a key's history, the bounded
 * Wing–Gong search, shrinking a failure, and the report.
 *
 * The search walks a doubly linked list of call and response entries in
 * time order. Linearizing an operation unlinks its two entries (dancing
 * links, so undoing it relinks them in O(1)); the walk restarts at the head
 * after each step. A response entry reached during the walk belongs to an
 * operation that is not linearized although its response has come: the last
 * choice was wrong, so the search pops it and tries the next call after it.
 * Reaching the end of the list means no response entry is left, i.e. every
 * completed operation is linearized: success.
 *
 * Operations without a response entry (pending ones, and those weakened by
 * shrinking) are optional. Optional operations with the same effect are
 * interchangeable, so the search only takes one after its predecessor in
 * that class (ordered by call time): any linearization that uses a later
 * one instead could use the earlier one at the same instant. Without this,
 * k interchangeable increments would cost 2^k memo states instead of k+1.
 */
#include "sim/check/lincheck.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "akt/error.h"
#include "src/util/assert.h"

#define NONE UINT32_MAX

enum { MODEL_COUNTER, MODEL_REGISTER };

/* How one search treats an operation. */
enum { OP_IN, OP_WEAK, OP_OUT };

/* One key's operations, prepared once and searched many times. */
typedef struct key_hist {
  const akt__lin_op *ops; /* the caller's array */
  const size_t *idx;      /* this key's operations, by call time */
  uint32_t n;
  int model;
  uint32_t *group; /* per operation: its group of INCs sharing an id, or NONE */
  uint32_t ngroups;
} key_hist;

static const akt__lin_op *op_at(const key_hist *h, uint32_t i) { return &h->ops[h->idx[i]]; }

/* ---- the memo: a set of (linearized operations, state) -------------- */

typedef struct memo {
  uint32_t words; /* of a bit set */
  size_t cap;     /* slots, a power of two */
  size_t count;
  uint64_t *slots; /* cap x (words + 1): the bits, then the state */
  uint8_t *full;
  size_t max_bytes;
} memo;

static size_t memo_bytes(size_t cap, uint32_t words) {
  return cap * ((words + 1) * sizeof(uint64_t) + 1);
}

static uint64_t memo_hash(const uint64_t *bits, uint32_t words, int64_t state) {
  return XXH3_64bits_withSeed(bits, words * sizeof *bits, (uint64_t)state);
}

static int memo_grow(memo *m) {
  size_t cap = m->cap ? m->cap * 2 : 1024;
  if (memo_bytes(cap, m->words) > m->max_bytes) return -1;
  uint64_t *slots = malloc(cap * (m->words + 1) * sizeof *slots);
  uint8_t *full = calloc(cap, 1);
  if (!slots || !full) {
    free(slots);
    free(full);
    return -1;
  }
  size_t w1 = m->words + 1;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->full[i]) continue;
    const uint64_t *e = &m->slots[i * w1];
    size_t j = memo_hash(e, m->words, (int64_t)e[m->words]) & (cap - 1);
    while (full[j]) j = (j + 1) & (cap - 1);
    memcpy(&slots[j * w1], e, w1 * sizeof *e);
    full[j] = 1;
  }
  free(m->slots);
  free(m->full);
  m->slots = slots;
  m->full = full;
  m->cap = cap;
  return 0;
}

/* Adds (bits, state): 1 if it was new, 0 if present, -1 if the memory
 * budget (or malloc) ran out. */
static int memo_add(memo *m, const uint64_t *bits, int64_t state) {
  if ((m->count + 1) * 2 > m->cap && memo_grow(m)) return -1;
  size_t w1 = m->words + 1;
  size_t j = memo_hash(bits, m->words, state) & (m->cap - 1);
  while (m->full[j]) {
    const uint64_t *e = &m->slots[j * w1];
    if ((int64_t)e[m->words] == state && memcmp(e, bits, m->words * sizeof *bits) == 0) return 0;
    j = (j + 1) & (m->cap - 1);
  }
  memcpy(&m->slots[j * w1], bits, m->words * sizeof *bits);
  m->slots[j * w1 + m->words] = (uint64_t)state;
  m->full[j] = 1;
  m->count++;
  return 1;
}

static void memo_free(memo *m) {
  free(m->slots);
  free(m->full);
}

/* ---- one search ------------------------------------------------------ */

typedef struct search {
  const key_hist *h;
  const uint8_t *mode; /* per operation: OP_IN, OP_WEAK, OP_OUT */
  /* Entry e < 2n is operation e / 2's call (even) or response (odd);
   * entry 2n is the head of the circular list. */
  uint32_t *next, *prev;
  uint32_t head;
  uint8_t *has_ret;      /* per operation: its response entry is listed */
  uint32_t *class_prev;  /* per operation: the interchangeable one before it, or NONE */
  uint32_t *group_count; /* per id group: linearized members */
  uint64_t *bits;
  uint32_t words;
  uint32_t *stack_op;
  int64_t *stack_state;
  uint32_t depth;
  memo memo;
  uint64_t steps;
} search;

static uint64_t effective_call(const search *s, uint32_t i) {
  return s->mode[i] == OP_WEAK ? 0 : op_at(s->h, i)->call;
}

static int optional(const search *s, uint32_t i) { return !s->has_ret[i]; }

static int by_entry(const void *a, const void *b, void *arg) {
  const search *s = arg;
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  uint64_t tx = (x & 1) ? op_at(s->h, x / 2)->ret : effective_call(s, x / 2);
  uint64_t ty = (y & 1) ? op_at(s->h, y / 2)->ret : effective_call(s, y / 2);
  if (tx != ty) return tx < ty ? -1 : 1;
  /* At equal times a call comes first: the two operations overlap. */
  if ((x & 1) != (y & 1)) return (x & 1) ? 1 : -1;
  return (x > y) - (x < y);
}

/* Interchangeable optional operations: same kind and amount or value, and
 * not an INC whose id others share (its effect depends on them). */
static int by_class(const void *a, const void *b, void *arg) {
  const search *s = arg;
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const akt__lin_op *ox = op_at(s->h, x), *oy = op_at(s->h, y);
  if (ox->kind != oy->kind) return ox->kind < oy->kind ? -1 : 1;
  if (ox->arg != oy->arg) return ox->arg < oy->arg ? -1 : 1;
  uint64_t cx = effective_call(s, x), cy = effective_call(s, y);
  if (cx != cy) return cx < cy ? -1 : 1;
  return (x > y) - (x < y);
}

static int search_init(search *s, const key_hist *h, const uint8_t *mode,
                       const akt__lin_options *opt) {
  uint32_t n = h->n;
  memset(s, 0, sizeof *s);
  s->h = h;
  s->mode = mode;
  s->head = 2 * n;
  s->words = (n + 63) / 64;
  s->next = malloc((2 * n + 1) * sizeof *s->next);
  s->prev = malloc((2 * n + 1) * sizeof *s->prev);
  s->has_ret = calloc(n + 1, 1);
  s->class_prev = malloc((n + 1) * sizeof *s->class_prev);
  s->group_count = calloc(h->ngroups + 1, sizeof *s->group_count);
  s->bits = calloc(s->words + 1, sizeof *s->bits);
  s->stack_op = malloc((n + 1) * sizeof *s->stack_op);
  s->stack_state = malloc((n + 1) * sizeof *s->stack_state);
  uint32_t *order = malloc((2 * n + 1) * sizeof *order);
  if (!s->next || !s->prev || !s->has_ret || !s->class_prev || !s->group_count || !s->bits ||
      !s->stack_op || !s->stack_state || !order) {
    free(order);
    return AKT_ENOMEM;
  }
  s->memo.words = s->words;
  s->memo.max_bytes = opt->max_memo_bytes;

  /* The entries in time order. */
  uint32_t len = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (mode[i] == OP_OUT) continue;
    order[len++] = 2 * i;
    if (mode[i] == OP_IN && op_at(h, i)->ret != AKT__LIN_PENDING) {
      order[len++] = 2 * i + 1;
      s->has_ret[i] = 1;
    }
  }
  qsort_r(order, len, sizeof *order, by_entry, s);
  uint32_t at = s->head;
  for (uint32_t k = 0; k < len; k++) {
    s->next[at] = order[k];
    s->prev[order[k]] = at;
    at = order[k];
  }
  s->next[at] = s->head;
  s->prev[s->head] = at;

  /* The classes of interchangeable optional operations. */
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    s->class_prev[i] = NONE;
    if (mode[i] != OP_OUT && optional(s, i) && h->group[i] == NONE) order[m++] = i;
  }
  qsort_r(order, m, sizeof *order, by_class, s);
  for (uint32_t k = 1; k < m; k++) {
    const akt__lin_op *a = op_at(h, order[k - 1]), *b = op_at(h, order[k]);
    if (a->kind == b->kind && a->arg == b->arg) s->class_prev[order[k]] = order[k - 1];
  }
  free(order);
  return 0;
}

static void search_free(search *s) {
  free(s->next);
  free(s->prev);
  free(s->has_ret);
  free(s->class_prev);
  free(s->group_count);
  free(s->bits);
  free(s->stack_op);
  free(s->stack_state);
  memo_free(&s->memo);
}

static int bit(const search *s, uint32_t i) { return (s->bits[i / 64] >> (i % 64)) & 1; }
static void flip(search *s, uint32_t i) { s->bits[i / 64] ^= UINT64_C(1) << (i % 64); }

/* Unlinks operation i's entries; relink restores them (reverse order). */
static void unlink_entry(search *s, uint32_t e) {
  s->next[s->prev[e]] = s->next[e];
  s->prev[s->next[e]] = s->prev[e];
}

static void relink_entry(search *s, uint32_t e) {
  s->next[s->prev[e]] = e;
  s->prev[s->next[e]] = e;
}

static void lift(search *s, uint32_t i) {
  unlink_entry(s, 2 * i);
  if (s->has_ret[i]) unlink_entry(s, 2 * i + 1);
}

static void unlift(search *s, uint32_t i) {
  if (s->has_ret[i]) relink_entry(s, 2 * i + 1);
  relink_entry(s, 2 * i);
}

/* The model: applies operation i to `state`. Returns 1 and the new state,
 * or 0 if the operation's recorded output contradicts it. */
static int step(const search *s, uint32_t i, int64_t state, int64_t *out) {
  const akt__lin_op *o = op_at(s->h, i);
  switch (o->kind) {
    case AKT__LIN_INC: {
      uint32_t g = s->h->group[i];
      int64_t v = (g == NONE || s->group_count[g] == 0) ? state + o->arg : state;
      /* Optional operations have no recorded output to contradict. */
      if (s->has_ret[i] && o->has_value && o->value != v) return 0;
      *out = v;
      return 1;
    }
    case AKT__LIN_READ:
      AKT_ASSERT(s->has_ret[i]); /* reads without a response are left out */
      if (o->value != state) return 0;
      *out = state;
      return 1;
    case AKT__LIN_WRITE:
      *out = o->arg;
      return 1;
  }
  AKT_ASSERT(!"unknown kind: rejected when the history was prepared");
  return 0;
}

static void count_group(search *s, uint32_t i, int delta) {
  uint32_t g = s->h->group[i];
  if (g == NONE) return;
  AKT_ASSERT(delta > 0 || s->group_count[g] > 0);
  s->group_count[g] = (uint32_t)((int32_t)s->group_count[g] + delta);
}

/* The search proper. */
static akt__lin_result run(search *s, const akt__lin_options *opt) {
  int64_t state = 0;
  uint32_t e = s->next[s->head];
  for (;;) {
    if (e == s->head) return AKT__LIN_OK; /* no response entry left */
    if (++s->steps > opt->max_steps) return AKT__LIN_GAVE_UP;
    uint32_t i = e / 2;
    if (e & 1) {
      /* A response of an operation not linearized: undo the last choice. */
      if (s->depth == 0) return AKT__LIN_VIOLATION;
      s->depth--;
      uint32_t j = s->stack_op[s->depth];
      state = s->stack_state[s->depth];
      flip(s, j);
      count_group(s, j, -1);
      unlift(s, j);
      e = s->next[2 * j];
      continue;
    }
    int64_t next_state;
    int ready = s->class_prev[i] == NONE || bit(s, s->class_prev[i]);
    if (ready && step(s, i, state, &next_state)) {
      flip(s, i);
      int fresh = memo_add(&s->memo, s->bits, next_state);
      if (fresh < 0) return AKT__LIN_GAVE_UP;
      if (fresh) {
        AKT_ASSERT(s->depth < s->h->n); /* each operation is linearized once */
        s->stack_op[s->depth] = i;
        s->stack_state[s->depth] = state;
        s->depth++;
        state = next_state;
        count_group(s, i, +1);
        lift(s, i);
        e = s->next[s->head];
        continue;
      }
      flip(s, i); /* seen before: this branch cannot succeed */
    }
    e = s->next[e];
  }
}

/* One search of h with the operations treated as `mode` says. */
static akt__lin_result search_once(const key_hist *h, const uint8_t *mode,
                                   const akt__lin_options *opt, akt__lin_report *r, int *nomem) {
  search s;
  akt__lin_result res = AKT__LIN_GAVE_UP;
  if (search_init(&s, h, mode, opt))
    *nomem = 1;
  else
    res = run(&s, opt);
  r->steps += s.steps;
  r->searches++;
  search_free(&s);
  return res;
}

/* ---- shrinking -------------------------------------------------------- */

/* Weakens operation i: a read is left out, anything else becomes optional
 * and may take effect at any instant. */
static uint8_t weakened(const key_hist *h, uint32_t i) {
  return op_at(h, i)->kind == AKT__LIN_READ ? OP_OUT : OP_WEAK;
}

/* Shrinks the failing history h (mode: all IN but for ignored reads) by
 * weakening chunks of the operations still in it, halving the chunks when
 * none can go (ddmin's complement step, Zeller 2002). Fills the witness. */
static int shrink(const key_hist *h, uint8_t *mode, const akt__lin_options *opt, akt__lin_report *r,
                  int *nomem) {
  uint32_t *in = malloc(h->n * sizeof *in);
  uint8_t *trial = malloc(h->n);
  if (!in || !trial) {
    free(in);
    free(trial);
    return AKT_ENOMEM;
  }
  uint32_t nin = 0;
  for (uint32_t i = 0; i < h->n; i++)
    if (mode[i] == OP_IN) in[nin++] = i;
  uint32_t checks = 0;
  int exhausted = 0, unsure = 0;
  uint32_t chunk = (nin + 1) / 2;
  while (chunk >= 1 && !exhausted) {
    int progress = 0;
    for (uint32_t start = 0; start < nin && !exhausted;) {
      uint32_t end = start + chunk < nin ? start + chunk : nin;
      if (end - start == nin) { /* weakening everything cannot fail */
        start = end;
        continue;
      }
      if (checks++ >= opt->shrink_checks) {
        exhausted = 1;
        break;
      }
      memcpy(trial, mode, h->n);
      for (uint32_t k = start; k < end; k++) trial[in[k]] = weakened(h, in[k]);
      akt__lin_result res = search_once(h, trial, opt, r, nomem);
      if (*nomem) break;
      if (res == AKT__LIN_VIOLATION) {
        memcpy(mode, trial, h->n);
        memmove(&in[start], &in[end], (nin - end) * sizeof *in);
        nin -= end - start;
        progress = 1;
      } else {
        if (res == AKT__LIN_GAVE_UP && chunk == 1) unsure = 1;
        start = end;
      }
    }
    if (*nomem) break;
    if (progress) {
      if (chunk > nin) chunk = nin;
      unsure = 0; /* a later pass at chunk 1 decides minimality */
      if (chunk == 1) continue;
    }
    if (chunk == 1) break;
    chunk = (chunk + 1) / 2;
  }
  free(trial);
  if (*nomem) {
    free(in);
    return AKT_ENOMEM;
  }
  r->witness = malloc((nin ? nin : 1) * sizeof *r->witness);
  if (!r->witness) {
    free(in);
    return AKT_ENOMEM;
  }
  for (uint32_t k = 0; k < nin; k++) r->witness[k] = h->idx[in[k]];
  r->nwitness = nin;
  r->weakened = h->n - nin;
  r->minimal = !exhausted && !unsure;
  free(in);
  return 0;
}

/* ---- the whole history ------------------------------------------------ */

static int by_key_then_call(const void *a, const void *b, void *arg) {
  const akt__lin_op *ops = arg;
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  if (ops[x].key != ops[y].key) return ops[x].key < ops[y].key ? -1 : 1;
  if (ops[x].call != ops[y].call) return ops[x].call < ops[y].call ? -1 : 1;
  return (x > y) - (x < y);
}

static int by_group_id(const void *a, const void *b, void *arg) {
  const key_hist *h = arg;
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  uint64_t ix = op_at(h, x)->id, iy = op_at(h, y)->id;
  if (ix != iy) return ix < iy ? -1 : 1;
  return (x > y) - (x < y);
}

/* Prepares key_hist for n operations idx[0..n) of one key: the model, the
 * id groups, and the checks that need the whole key. */
static int prepare(key_hist *h, const akt__lin_op *ops, const size_t *idx, uint32_t n) {
  memset(h, 0, sizeof *h);
  h->ops = ops;
  h->idx = idx;
  h->n = n;
  int incs = 0, writes = 0;
  __uint128_t sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    const akt__lin_op *o = op_at(h, i);
    if (o->kind == AKT__LIN_INC) {
      incs = 1;
      if (o->arg == INT64_MIN) return AKT_EINVAL;
      sum += (uint64_t)(o->arg < 0 ? -o->arg : o->arg);
    }
    if (o->kind == AKT__LIN_WRITE) writes = 1;
  }
  if (incs && writes) return AKT_EINVAL;
  if (sum > INT64_MAX) return AKT_EINVAL;
  h->model = writes ? MODEL_REGISTER : MODEL_COUNTER;
  h->group = malloc((n + 1) * sizeof *h->group);
  uint32_t *order = malloc((n + 1) * sizeof *order);
  if (!h->group || !order) {
    free(order);
    free(h->group);
    h->group = NULL;
    return AKT_ENOMEM;
  }
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    h->group[i] = NONE;
    if (op_at(h, i)->kind == AKT__LIN_INC) order[m++] = i;
  }
  qsort_r(order, m, sizeof *order, by_group_id, h);
  for (uint32_t k = 0; k < m;) {
    uint32_t end = k + 1;
    while (end < m && op_at(h, order[end])->id == op_at(h, order[k])->id) end++;
    if (end - k > 1) {
      for (uint32_t j = k; j < end; j++) h->group[order[j]] = h->ngroups;
      h->ngroups++;
    }
    k = end;
  }
  free(order);
  return 0;
}

static int resolve_options(const akt__lin_options *in, akt__lin_options *out) {
  akt__lin_options o = in ? *in : (akt__lin_options){0};
  if (!o.max_ops) o.max_ops = AKT__LIN_OPS_DEFAULT;
  if (!o.max_steps) o.max_steps = AKT__LIN_STEPS_DEFAULT;
  if (!o.max_memo_bytes) o.max_memo_bytes = AKT__LIN_MEMO_BYTES_DEFAULT;
  if (!o.shrink_checks) o.shrink_checks = AKT__LIN_SHRINK_CHECKS_DEFAULT;
  if (o.max_ops > AKT__LIN_OPS_MAX) return AKT_EINVAL;
  *out = o;
  return 0;
}

/* The order of badness a report's `result` follows. */
static int severity(akt__lin_result r) {
  switch (r) {
    case AKT__LIN_VIOLATION:
      return 3;
    case AKT__LIN_TOO_LARGE:
      return 2;
    case AKT__LIN_GAVE_UP:
      return 1;
    default:
      return 0;
  }
}

/* Checks one key; shrinks it if it is the report's first violation. */
static int check_key(const akt__lin_op *ops, const size_t *idx, size_t size,
                     const akt__lin_options *opt, akt__lin_report *r) {
  key_hist h;
  akt__lin_result res;
  int rc = 0, nomem = 0;
  uint8_t *mode = NULL;
  /* max_ops <= AKT__LIN_OPS_MAX, so n fits the search's 32-bit numbers. */
  uint32_t n = size > opt->max_ops ? 0 : (uint32_t)size;
  if (size > opt->max_ops) {
    res = AKT__LIN_TOO_LARGE;
  } else {
    if ((rc = prepare(&h, ops, idx, n))) return rc;
    mode = malloc(n);
    if (!mode) {
      free(h.group);
      return AKT_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
      const akt__lin_op *o = op_at(&h, i);
      mode[i] = (o->kind == AKT__LIN_READ && o->ret == AKT__LIN_PENDING) ? OP_OUT : OP_IN;
    }
    res = search_once(&h, mode, opt, r, &nomem);
  }
  if (!nomem) {
    switch (res) {
      case AKT__LIN_OK:
        r->keys_ok++;
        break;
      case AKT__LIN_VIOLATION:
        r->keys_violation++;
        break;
      case AKT__LIN_TOO_LARGE:
        r->keys_too_large++;
        break;
      case AKT__LIN_GAVE_UP:
        r->keys_gave_up++;
        break;
    }
    /* Keys come in ascending order: the first of the worst result wins. */
    if (severity(res) > severity(r->result)) {
      r->result = res;
      r->key = ops[idx[0]].key;
      r->key_ops = size;
      if (res == AKT__LIN_VIOLATION) rc = shrink(&h, mode, opt, r, &nomem);
    }
  }
  if (nomem) rc = AKT_ENOMEM;
  if (mode) {
    free(mode);
    free(h.group);
  }
  return rc;
}

int akt__lin_check(const akt__lin_op *ops, size_t n, const akt__lin_options *opt,
                   akt__lin_report *report) {
  akt__lin_options o;
  if (!report || (n && !ops)) return AKT_EINVAL;
  memset(report, 0, sizeof *report);
  if (resolve_options(opt, &o)) return AKT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (ops[i].kind != AKT__LIN_INC && ops[i].kind != AKT__LIN_READ &&
        ops[i].kind != AKT__LIN_WRITE)
      return AKT_EINVAL;
    if (ops[i].ret < ops[i].call) return AKT_EINVAL;
  }
  size_t *idx = malloc((n ? n : 1) * sizeof *idx);
  if (!idx) return AKT_ENOMEM;
  for (size_t i = 0; i < n; i++) idx[i] = i;
  qsort_r(idx, n, sizeof *idx, by_key_then_call, (void *)ops);
  int rc = 0;
  for (size_t k = 0; k < n && rc == 0;) {
    size_t end = k + 1;
    while (end < n && ops[idx[end]].key == ops[idx[k]].key) end++;
    report->keys++;
    rc = check_key(ops, &idx[k], end - k, &o, report);
    k = end;
  }
  free(idx);
  if (rc) akt__lin_report_free(report);
  return rc;
}

void akt__lin_report_free(akt__lin_report *report) {
  if (!report) return;
  free(report->witness);
  memset(report, 0, sizeof *report);
}

const char *akt__lin_result_name(akt__lin_result r) {
  switch (r) {
    case AKT__LIN_OK:
      return "ok";
    case AKT__LIN_VIOLATION:
      return "not linearizable";
    case AKT__LIN_TOO_LARGE:
      return "too large";
    case AKT__LIN_GAVE_UP:
      return "gave up";
  }
  return "?";
}

static void print_time(FILE *f, uint64_t t) {
  if (t == AKT__LIN_PENDING)
    fprintf(f, "%12s", "-");
  else
    fprintf(f, "%12llu", (unsigned long long)t);
}

void akt__lin_report_print(const akt__lin_report *r, const akt__lin_op *ops, FILE *f) {
  fprintf(f,
          "lincheck: %s: %zu keys (%zu ok, %zu not linearizable, %zu too large, %zu gave up)"
          ", %llu search steps\n",
          akt__lin_result_name(r->result), r->keys, r->keys_ok, r->keys_violation,
          r->keys_too_large, r->keys_gave_up, (unsigned long long)r->steps);
  if (r->result == AKT__LIN_OK) return;
  fprintf(f, "lincheck: key %llu (%zu operations): %s\n", (unsigned long long)r->key, r->key_ops,
          akt__lin_result_name(r->result));
  if (r->result != AKT__LIN_VIOLATION) return;
  fprintf(f,
          "lincheck: these %zu fail whatever the key's other %zu did (each may take effect at "
          "any time, or not at all)%s:\n",
          r->nwitness, r->weakened, r->minimal ? "" : "; not shrunk to the end");
  fprintf(f, "  %6s %6s  %-28s %12s %12s\n", "op", "client", "operation", "call", "return");
  for (size_t k = 0; k < r->nwitness; k++) {
    const akt__lin_op *o = &ops[r->witness[k]];
    char what[64];
    switch (o->kind) {
      case AKT__LIN_INC:
        if (o->has_value && o->ret != AKT__LIN_PENDING)
          snprintf(what, sizeof what, "inc #%llu %+lld -> %lld", (unsigned long long)o->id,
                   (long long)o->arg, (long long)o->value);
        else
          snprintf(what, sizeof what, "inc #%llu %+lld", (unsigned long long)o->id,
                   (long long)o->arg);
        break;
      case AKT__LIN_READ:
        snprintf(what, sizeof what, "read -> %lld", (long long)o->value);
        break;
      case AKT__LIN_WRITE:
        snprintf(what, sizeof what, "write %lld", (long long)o->arg);
        break;
    }
    fprintf(f, "  %6zu %6u  %-28s ", r->witness[k], o->client, what);
    print_time(f, o->call);
    fputc(' ', f);
    print_time(f, o->ret);
    fputc('\n', f);
  }
}
