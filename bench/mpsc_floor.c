/* mpsc-floor — what one producer thread → one consumer thread costs on this
 * machine with a linked-list mailbox and nothing else — the structure of
 * akt's default mailbox before the segmented queue (src/actor/mailq.h),
 * still used by custom mailboxes, and a gauge of this VM's cross-core
 * latency phases (docs/performance.md): 128-byte nodes
 * written by the producer (`--write` bytes of them), Vyukov's intrusive
 * MPSC push (one exchange) and pop, nodes recycled through per-thread
 * magazines of 64 and a locked depot, the consumer spinning with pauses
 * when the queue is empty. No actor, envelope, message copy or scheduling.
 *
 *   mpsc-floor [--count N] [--write BYTES] [--prefetch D] [--reps R]
 *
 * Prints the median ns per message of R runs of N messages.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODE_SIZE 128
#define MAG 64

typedef struct node {
  _Atomic(struct node *) next;
  char data[NODE_SIZE - sizeof(void *)];
} node;

typedef struct mag {
  struct mag *next;
  int n;
  node *o[MAG];
} mag;

typedef struct floor_run {
  _Atomic(node *) head; /* producers' end */
  char pad[64];
  node *tail, stub;     /* consumer's end */
  pthread_mutex_t mu;   /* the depot */
  mag *full, *empty;
  long count;
  long write, prefetch;
  long sum;
} floor_run;

static void push(floor_run *q, node *n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  node *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

static node *pop(floor_run *q) {
  node *t = q->tail, *next = atomic_load_explicit(&t->next, memory_order_acquire);
  if (t == &q->stub) {
    if (!next) return NULL;
    q->tail = t = next;
    next = atomic_load_explicit(&t->next, memory_order_acquire);
  }
  if (next) {
    q->tail = next;
    __builtin_prefetch(next);
    __builtin_prefetch((char *)next + 64);
    return t;
  }
  if (t != atomic_load_explicit(&q->head, memory_order_acquire)) return NULL;
  push(q, &q->stub);
  next = atomic_load_explicit(&t->next, memory_order_acquire);
  if (!next) return NULL;
  q->tail = next;
  return t;
}

/* Trades magazine `give` (full from the consumer, empty from the producer)
 * for one of the other kind; NULL when the depot has none. */
static mag *trade(floor_run *q, mag *give, int give_full) {
  pthread_mutex_lock(&q->mu);
  mag **from = give_full ? &q->empty : &q->full, **to = give_full ? &q->full : &q->empty;
  mag *got = *from;
  if (got) *from = got->next;
  if (give) {
    give->next = *to;
    *to = give;
  }
  pthread_mutex_unlock(&q->mu);
  return got;
}

static mag *mag_new(void) {
  mag *m = calloc(1, sizeof *m);
  if (!m) {
    fprintf(stderr, "mpsc-floor: out of memory\n");
    exit(1);
  }
  return m;
}

static void *consumer(void *arg) {
  floor_run *q = arg;
  mag *m = mag_new();
  long got = 0, sum = 0;
  while (got < q->count) {
    node *n = pop(q);
    if (!n) {
      for (int i = 0; i < 30; i++) __builtin_ia32_pause();
      continue;
    }
    sum += n->data[8];
    got++;
    if (m->n == MAG) {
      mag *e = trade(q, m, 1);
      m = e ? e : mag_new();
    }
    m->o[m->n++] = n;
  }
  q->sum = sum;
  trade(q, m, 1);
  return NULL;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void free_mags(mag *m) {
  while (m) {
    mag *next = m->next;
    for (int i = 0; i < m->n; i++) free(m->o[i]);
    free(m);
    m = next;
  }
}

static double run_once(long count, long write, long prefetch) {
  floor_run q = {.count = count, .write = write, .prefetch = prefetch};
  atomic_init(&q.head, &q.stub);
  atomic_init(&q.stub.next, NULL);
  q.tail = &q.stub;
  pthread_mutex_init(&q.mu, NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, consumer, &q) != 0) {
    fprintf(stderr, "mpsc-floor: cannot start the consumer thread\n");
    exit(1);
  }
  mag *m = NULL;
  double t0 = now_ns();
  for (long i = 0; i < count; i++) {
    if (!m || m->n == 0) {
      m = trade(&q, m, 0);
      if (!m) {
        m = mag_new();
        for (int k = 0; k < MAG; k++) {
          node *n = aligned_alloc(64, sizeof(node));
          if (!n) exit(1);
          m->o[m->n++] = n;
        }
      }
    }
    node *n = m->o[--m->n];
    if (prefetch && m->n >= prefetch) {
      /* The same hint akt's pool gives (src/util/pool.h). */
      char *ahead = (char *)m->o[m->n - prefetch];
      __builtin_prefetch(ahead, 1, 3);
      __builtin_prefetch(ahead + 64, 1, 3);
    }
    memset(n->data, (int)i, (size_t)write);
    push(&q, n);
  }
  pthread_join(t, NULL);
  double ns = (now_ns() - t0) / (double)count;
  if (m) {
    m->next = q.empty;
    q.empty = m;
  }
  free_mags(q.full);
  free_mags(q.empty);
  pthread_mutex_destroy(&q.mu);
  return ns;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long count = 20000000, write = 96, prefetch = 0, reps = 5;
  for (int i = 1; i < argc; i++) {
    long *opt = NULL;
    if (!strcmp(argv[i], "--count")) opt = &count;
    else if (!strcmp(argv[i], "--write")) opt = &write;
    else if (!strcmp(argv[i], "--prefetch")) opt = &prefetch;
    else if (!strcmp(argv[i], "--reps")) opt = &reps;
    if (!opt || i + 1 >= argc) {
      fprintf(stderr,
              "usage: %s [--count N] [--write BYTES] [--prefetch D] [--reps R]\n"
              "One producer thread -> one consumer thread through a Vyukov MPSC queue of\n"
              "pooled 128-byte nodes; prints the median ns per message of R runs.\n"
              "  --count N      messages per run (default 20000000)\n"
              "  --write BYTES  bytes the producer writes into each node (default 96, max %zu)\n"
              "  --prefetch D   prefetch for writing the node D allocations ahead (default 0)\n"
              "  --reps R       runs (default 5, max 99)\n",
              argv[0], sizeof(((node *)0)->data));
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
    *opt = strtol(argv[++i], NULL, 10);
  }
  if (count < 1 || write < 0 || write > (long)sizeof(((node *)0)->data) || prefetch < 0 ||
      prefetch >= MAG || reps < 1 || reps > 99) {
    fprintf(stderr, "mpsc-floor: an option is out of range (--help)\n");
    return 2;
  }
  double runs[99];
  for (long r = 0; r < reps; r++) runs[r] = run_once(count, write, prefetch);
  qsort(runs, (size_t)reps, sizeof runs[0], cmp_double);
  printf("mpsc-floor\tns_per_msg\t%.1f\t(write %ld bytes, prefetch %ld, median of %ld)\n",
         runs[reps / 2], write, prefetch, reps);
  return 0;
}
