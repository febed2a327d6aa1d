/* akt — PIDs: reference counting, names, addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/error.h"
#include "src/actor/cell.h"
#include "src/remote/remote.h"
#include "src/system/system.h"
#include "src/util/assert.h"

akt_pid *akt_pid_retain(akt_pid *pid) {
  if (!pid) return NULL;
  uint32_t refs = atomic_fetch_add_explicit(&pid->refs, 1, memory_order_relaxed);
  AKT_ASSERT(refs > 0 && refs < UINT32_MAX); /* alive, and the count does not wrap */
  return pid;
}

void akt__cell_detach(akt_system *sys, akt__cell *c) {
  AKT_ASSERT(!(c->listed & AKT__LISTED_DETACHED));
  c->prev_sibling = NULL;
  c->next_sibling = sys->detached;
  if (sys->detached) sys->detached->prev_sibling = c;
  sys->detached = c;
  c->listed |= AKT__LISTED_DETACHED;
}

void akt__pid_track_remote(akt_system *sys, akt_pid *pid) {
  AKT_ASSERT(pid->cell == NULL);
  akt__pid_links *l = akt__pid_links_of(pid);
  l->prev = NULL;
  l->next = sys->remote_pids;
  if (sys->remote_pids) akt__pid_links_of(sys->remote_pids)->prev = pid;
  sys->remote_pids = pid;
}

/* Takes a PID whose last reference is gone off its system's lists (system
 * lock held). A local PID's cell is detached by then: the tree holds a
 * reference while the cell is in it. */
static void pid_unlist(akt_system *sys, akt_pid *pid) {
  akt__cell *c = pid->cell;
  if (c) {
    AKT_ASSERT(c->listed & AKT__LISTED_DETACHED);
    if (c->prev_sibling)
      c->prev_sibling->next_sibling = c->next_sibling;
    else
      sys->detached = c->next_sibling;
    if (c->next_sibling) c->next_sibling->prev_sibling = c->prev_sibling;
    c->listed &= (uint8_t)~AKT__LISTED_DETACHED;
    return;
  }
  akt__pid_links *l = akt__pid_links_of(pid);
  if (l->prev)
    akt__pid_links_of(l->prev)->next = l->next;
  else
    sys->remote_pids = l->next;
  if (l->next) akt__pid_links_of(l->next)->prev = l->prev;
}

/* Unlists and frees a PID whose last reference is gone. */
static void pid_destroy(akt_pid *pid) {
  akt_system *sys = pid->sys;
  akt__sys_lock(sys);
  pid_unlist(sys, pid);
  akt__sys_unlock(sys);
  if (pid->cell) {
    /* A cell is freed only after it terminated, so its queues hold nothing
     * but what a racing sender pushed after the final drain. */
    AKT_ASSERT(atomic_load_explicit(&pid->cell->life, memory_order_acquire) ==
               AKT__LIFE_TERMINATED);
    akt__cell_dispose(pid->cell);
    akt_pid_release(pid->cell->parent);
  }
  free(pid);
}

void akt_pid_release(akt_pid *pid) {
  if (!pid) return;
  if (pid->sys->tearing_down) return; /* akt_system_free frees everything */
  uint32_t refs = atomic_fetch_sub_explicit(&pid->refs, 1, memory_order_acq_rel);
  AKT_ASSERT(refs > 0);
  if (refs == 1) pid_destroy(pid);
}

uint64_t akt_pid_id(const akt_pid *pid) { return pid ? pid->id : 0; }

const char *akt_pid_path(const akt_pid *pid) { return pid ? pid->path : ""; }

const char *akt_pid_name(const akt_pid *pid) { return pid ? akt__pid_name(pid) : ""; }

akt_system *akt_pid_system(const akt_pid *pid) { return pid ? pid->sys : NULL; }

int akt_pid_is_local(const akt_pid *pid) { return pid && pid->cell != NULL; }

int akt_pid_is_running(const akt_pid *pid) {
  if (!pid) return 0;
  if (!pid->cell) return 1; /* remote: not known to be down */
  return atomic_load_explicit(&pid->cell->life, memory_order_acquire) < AKT__LIFE_STOPPING;
}

/* The address of the node a PID's actor lives on. */
static const char *node_of(const akt_pid *p) {
  return p->cell ? akt_system_address(p->sys) : akt__remote_pid_node(p);
}

int akt_pid_equal(const akt_pid *a, const akt_pid *b) {
  if (a == b) return 1;
  if (!a || !b) return 0;
  /* A remote PID made from an address alone has id 0: it names whoever
   * holds the path, and equals any incarnation there. */
  int ids = a->id == b->id || (!a->cell && a->id == 0) || (!b->cell && b->id == 0);
  return ids && strcmp(a->path, b->path) == 0 && strcmp(node_of(a), node_of(b)) == 0;
}

int akt_pid_format(const akt_pid *pid, char *buf, size_t size) {
  if (!pid || !buf || size == 0) return AKT_EINVAL;
  int n = snprintf(buf, size, "%s%s", node_of(pid), pid->path);
  if (n < 0) return AKT_EINVAL;
  if ((size_t)n >= size) return AKT_ELIMIT;
  return n;
}
