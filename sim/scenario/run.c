/* akt — running one scenario: the world, the nodes and their hooks, the
 * fault timeline, the quiet period and the checks.
 */
#include "sim/scenario/run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "akt/remote.h"

#define NODE_SYSTEMS 4
#define SAFETY_EVERY AKT_SECONDS(1) /* how often safety checks run during the run */

typedef struct node_ctx {
  akt_scenario *sc;
  size_t i;
} node_ctx;

struct akt_scenario {
  const akt__scn_spec *spec;
  const akt_workload *wl;
  akt_sim_world *w;
  void *state;
  uint64_t quiet_start;
  akt_backend *b[AKT_SCENARIO_MAX_NODES];
  akt_system *sys[AKT_SCENARIO_MAX_NODES][NODE_SYSTEMS];
  size_t nsys[AKT_SCENARIO_MAX_NODES];
  char addr[AKT_SCENARIO_MAX_NODES][48];
  node_ctx nctx[AKT_SCENARIO_MAX_NODES];
  int paused[AKT_SCENARIO_MAX_NODES];
  int64_t skew[AKT_SCENARIO_MAX_NODES];
  int32_t drift[AKT_SCENARIO_MAX_NODES];
  const akt__run_opts *o;
  akt__run_result *res;
};

/* ---- what workloads see ------------------------------------------------------------ */

void *akt_scenario_state(akt_scenario *sc) { return sc->state; }
akt_sim_world *akt_scenario_world(akt_scenario *sc) { return sc->w; }
size_t akt_scenario_nodes(akt_scenario *sc) { return sc->spec->nodes; }
uint64_t akt_scenario_now(akt_scenario *sc) { return akt_sim_now(sc->w); }
uint64_t akt_scenario_quiet_start(akt_scenario *sc) { return sc->quiet_start; }

int64_t akt_scenario_param(akt_scenario *sc, const char *name, int64_t dflt) {
  for (size_t i = 0; i < sc->spec->nparams; i++)
    if (!strcmp(sc->spec->param_names[i], name)) return sc->spec->param_values[i];
  return dflt;
}

akt_backend *akt_scenario_backend(akt_scenario *sc, size_t i) {
  return i < sc->spec->nodes ? sc->b[i] : NULL;
}

akt_system *akt_scenario_system(akt_scenario *sc, size_t i) {
  return i < sc->spec->nodes && sc->nsys[i] ? sc->sys[i][0] : NULL;
}

const char *akt_scenario_node_address(akt_scenario *sc, size_t i) {
  return i < sc->spec->nodes ? sc->addr[i] : "";
}

void akt_scenario_note(akt_scenario *sc, const char *what, const char *detail, uint64_t value) {
  akt_sim_note(sc->w, NULL, what, detail, value);
}

int akt_scenario_system_new(akt_scenario *sc, size_t i, akt_system **out) {
  if (i >= sc->spec->nodes || !out) return AKT_EINVAL;
  if (sc->nsys[i] >= NODE_SYSTEMS) return AKT_ELIMIT;
  char name[32];
  snprintf(name, sizeof name, "node%zu", i);
  akt_system *sys;
  akt_system_options so = {.host = name, .port = 2552};
  int rc = akt_system_new(name, sc->b[i], &so, &sys);
  if (rc) return rc;
  akt_remote_options ro = {.port = 2552, .security.cookie = sc->spec->cookie,
                           .backoff_max = AKT_SECONDS(2)};
  if ((rc = akt_remote_start(sys, &ro))) {
    akt_system_drop(sys);
    return rc;
  }
  sc->sys[i][sc->nsys[i]++] = sys;
  *out = sys;
  return 0;
}

/* ---- node hooks ------------------------------------------------------------------------ */

static void fail(akt_scenario *sc, int status, const char *check, const char *fmt, const char *arg,
                 int code) {
  akt__run_result *r = sc->res;
  if (r->status != AKT__RUN_PASS) return;
  r->status = status;
  r->at = akt_sim_now(sc->w);
  snprintf(r->check, sizeof r->check, "%s", check);
  snprintf(r->why, sizeof r->why, fmt, arg, akt_strerror(code));
}

static int hook_start(akt_backend *b, void *arg) {
  (void)b;
  node_ctx *n = arg;
  int rc = n->sc->wl->node_start(n->sc, n->i, n->sc->b[n->i]);
  if (rc) fail(n->sc, AKT__RUN_ERROR, "", "node_start of %s failed: %s", n->sc->addr[n->i], rc);
  return rc;
}

static void drop_systems(akt_scenario *sc, size_t i) {
  while (sc->nsys[i] > 0) akt_system_drop(sc->sys[i][--sc->nsys[i]]);
}

static void hook_stop(akt_backend *b, void *arg) {
  (void)b;
  node_ctx *n = arg;
  drop_systems(n->sc, n->i);
  if (n->sc->wl->node_down) n->sc->wl->node_down(n->sc, n->i);
}

/* ---- faults ------------------------------------------------------------------------------ */

static void groups_of(akt_scenario *sc, const akt__node_set *mask, uint32_t *group) {
  for (size_t i = 0; i < sc->spec->nodes; i++) group[i] = (uint32_t)akt__set_has(mask, i);
}

static void isolate(akt_scenario *sc, const akt__node_set *mask) {
  uint32_t group[AKT_SCENARIO_MAX_NODES];
  groups_of(sc, mask, group);
  akt_sim_partition(sc->w, group, sc->spec->nodes);
}

/* Tells the workload about a fault that was applied. */
static void tell_workload(akt_scenario *sc, const akt__fault *f) {
  if (!sc->wl->fault) return;
  uint32_t group[AKT_SCENARIO_MAX_NODES];
  akt_scenario_fault wf = {.kind = f ? akt__fault_kind_name(f->kind) : "quiet", .node = -1,
                           .node2 = -1};
  if (f) {
    wf.node = f->node;
    wf.node2 = f->node2;
    wf.oneway = f->oneway;
    if (f->kind == AKT__FAULT_PARTITION && f->shape != AKT__SHAPE_RING) {
      groups_of(sc, &f->mask, group);
      wf.groups = group;
    }
    if (f->kind == AKT__FAULT_CLOG) wf.duration = (akt_duration)f->value;
    if (f->kind == AKT__FAULT_LINK) wf.link = &f->link;
  }
  sc->wl->fault(sc, &wf);
}

/* Each node keeps its two ring neighbours: a majority of 3 out of 5. */
static void ring(akt_scenario *sc) {
  size_t n = sc->spec->nodes;
  akt_sim_heal(sc->w, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (j - i != 1 && j - i != n - 1) akt_sim_cut(sc->w, sc->b[i], sc->b[j], 1);
}

/* Applies one fault. Returns 0, 1 if it did not apply (a restart of a node
 * that is up, say), or an error code that ends the run. */
static int apply(akt_scenario *sc, const akt__fault *f) {
  akt_sim_world *w = sc->w;
  akt_backend *a = f->node >= 0 ? sc->b[f->node] : NULL;
  akt_backend *b = f->node2 >= 0 ? sc->b[f->node2] : NULL;
  int rc = 0;
  switch (f->kind) {
    case AKT__FAULT_CRASH: rc = akt_sim_crash(w, a); break;
    case AKT__FAULT_RESTART:
      rc = akt_sim_restart(w, a);
      if (rc == 0) sc->paused[f->node] = 0;
      break;
    case AKT__FAULT_PAUSE:
      rc = akt_sim_node_up(a) && !sc->paused[f->node] ? akt_sim_pause(w, a) : AKT_ESTATE;
      if (rc == 0) sc->paused[f->node] = 1;
      break;
    case AKT__FAULT_RESUME:
      rc = sc->paused[f->node] ? akt_sim_resume(w, a) : AKT_ESTATE;
      if (rc == 0) sc->paused[f->node] = 0;
      break;
    case AKT__FAULT_SKEW:
    case AKT__FAULT_DRIFT:
      if (f->kind == AKT__FAULT_SKEW) sc->skew[f->node] = f->value;
      else sc->drift[f->node] = (int32_t)f->value;
      rc = akt_sim_set_clock(w, a, sc->skew[f->node], sc->drift[f->node]);
      break;
    case AKT__FAULT_CUT: rc = akt_sim_cut(w, a, b, !f->oneway); break;
    case AKT__FAULT_PARTITION:
      if (f->shape == AKT__SHAPE_RING) ring(sc);
      else isolate(sc, &f->mask);
      break;
    case AKT__FAULT_HEAL: rc = akt_sim_heal(w, NULL, NULL); break;
    case AKT__FAULT_CLOG: rc = akt_sim_clog(w, a, b, (akt_duration)f->value); break;
    case AKT__FAULT_HOLD: rc = akt_sim_hold(w, a, b); break;
    case AKT__FAULT_RELEASE: rc = akt_sim_release(w, a, b); break;
    case AKT__FAULT_LINK:
      rc = a ? akt_sim_link_set(w, a, b, &f->link) : akt_sim_link_set_all(w, &f->link);
      break;
    default: return 1; /* a swizzle or halves left unresolved: the plan resolves them */
  }
  if (rc == AKT_ESTATE) return 1;
  if (rc == 0) tell_workload(sc, f);
  return rc;
}

static void log_fault(akt_scenario *sc, const akt__fault *f, const char *how) {
  char text[512];
  akt__scn_fault_text(f, text, sizeof text);
  akt_sim_note(sc->w, NULL, how, text, 0);
  if (sc->o->log)
    fprintf(sc->o->log, "%s  t=%8.3fs %s%s\n", sc->o->progress ? "\r\033[K" : "",
            (double)akt_sim_now(sc->w) / 1e9, text + 3 + strcspn(text + 3, " ") + 1,
            !strcmp(how, "fault") ? "" : "  (skipped: nothing to do)");
}

/* The quiet period: every fault ends, links heal, nodes come back. */
static int quiet(akt_scenario *sc) {
  size_t n = sc->spec->nodes;
  akt_sim_note(sc->w, NULL, "quiet", "faults stop, links heal", 0);
  if (sc->o->log)
    fprintf(sc->o->log, "%s  t=%8.3fs quiet: faults stop, links heal, nodes restart\n",
            sc->o->progress ? "\r\033[K" : "", (double)akt_sim_now(sc->w) / 1e9);
  tell_workload(sc, NULL);
  akt_sim_heal(sc->w, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (i != j) akt_sim_release(sc->w, sc->b[i], sc->b[j]);
  akt_sim_link_faults calm = sc->spec->link;
  calm.loss_ppm = calm.dup_ppm = 0;
  calm.reorder = 0;
  calm.capacity = 0;
  akt_sim_link_set_all(sc->w, &calm);
  for (size_t i = 0; i < n; i++) {
    /* Clocks too: the skew steps back to none and the rate returns to the
     * world's (the drift already gained stays: a rate change never jumps). */
    if (sc->skew[i] || sc->drift[i]) {
      akt_sim_set_clock(sc->w, sc->b[i], 0, 0);
      sc->skew[i] = 0;
      sc->drift[i] = 0;
    }
    if (sc->paused[i]) {
      akt_sim_resume(sc->w, sc->b[i]);
      sc->paused[i] = 0;
    }
    if (!akt_sim_node_up(sc->b[i])) {
      int rc = akt_sim_restart(sc->w, sc->b[i]);
      if (rc) return rc;
    }
  }
  return 0;
}

/* ---- checks ------------------------------------------------------------------------------ */

static const akt_workload_check *find_check(const akt_workload *wl, const char *name) {
  for (const akt_workload_check *c = wl->checks; c && c->name; c++)
    if (!strcmp(c->name, name)) return c;
  return NULL;
}

/* Appends "FILE:LINE:COL: workload W has no KIND 'NAME' (it has: LIST)" as
 * a line of err. */
static void unknown(char *err, size_t size, const akt__scn_spec *spec, uint32_t line, uint32_t col,
                    const akt_workload *wl, const char *kind, const char *name, const char *list) {
  size_t n = strlen(err);
  if (n + 1 < size)
    snprintf(err + n, size - n, "%s%s:%u:%u: workload %s has no %s '%s' (it has:%s)",
             n ? "\n" : "", spec->path, (unsigned)line, (unsigned)col, wl->name, kind, name,
             list[0] ? list : " none");
}

int akt__run_validate(const akt__scn_spec *spec, const akt_workload *wl, char *err, size_t size) {
  int rc = 0;
  char list[512] = "";
  size_t n = 0;
  if (size) err[0] = '\0';
  for (const akt_workload_check *c = wl->checks; c && c->name && n < sizeof list; c++)
    n += (size_t)snprintf(list + n, sizeof list - n, " %s", c->name);
  for (size_t i = 0; i < spec->nchecks; i++) {
    if (find_check(wl, spec->checks[i].name)) continue;
    unknown(err, size, spec, spec->checks[i].line, spec->checks[i].col, wl, "check",
            spec->checks[i].name, list);
    rc = AKT_ENOENT;
  }
  n = 0;
  list[0] = '\0';
  for (const akt_workload_param *p = wl->params; p && p->name && n < sizeof list; p++)
    n += (size_t)snprintf(list + n, sizeof list - n, " %s", p->name);
  for (size_t i = 0; wl->params && i < spec->nparams; i++) {
    const akt_workload_param *p = wl->params;
    while (p->name && strcmp(p->name, spec->param_names[i])) p++;
    if (p->name) continue;
    unknown(err, size, spec, spec->param_line[i], spec->param_col[i], wl, "parameter",
            spec->param_names[i], list);
    rc = AKT_ENOENT;
  }
  return rc;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void akt__run_cause_class(const akt__run_result *r, char *out, size_t size) {
  size_t n = (size_t)snprintf(out, size, "%d %s: ", r->status, r->check);
  if (n >= size) return;
  for (const char *p = r->why; *p && n + 1 < size;) {
    if (!is_digit(*p)) {
      out[n++] = *p++;
      continue;
    }
    /* A number: digits, a fraction, a 0x prefix, hex digits. */
    while (is_hex(*p) || *p == 'x' || (*p == '.' && is_digit(p[1]))) p++;
    out[n++] = '#';
  }
  out[n] = '\0';
}

/* Does the scenario run this check? (All of the workload's when it names none.) */
static int selected(const akt__scn_spec *spec, const akt_workload_check *c, uint64_t *within) {
  *within = spec->quiet;
  if (!spec->nchecks) return 1;
  for (size_t i = 0; i < spec->nchecks; i++) {
    if (!strcmp(spec->checks[i].name, c->name)) {
      if (spec->checks[i].within) *within = spec->checks[i].within;
      return 1;
    }
  }
  return 0;
}

static int run_check(akt_scenario *sc, const akt_workload_check *c) {
  char why[AKT_SCENARIO_WHY_MAX] = "";
  if (c->fn(sc, why) == 0) return 0;
  akt__run_result *r = sc->res;
  if (r->status == AKT__RUN_PASS) {
    r->status = c->kind == AKT_CHECK_SAFETY ? AKT__RUN_FAIL : AKT__RUN_LIVENESS;
    r->at = akt_sim_now(sc->w);
    snprintf(r->check, sizeof r->check, "%s", c->name);
    snprintf(r->why, sizeof r->why, "%s", why[0] ? why : "(no details)");
    char note[AKT__SCN_WORD_MAX + AKT_SCENARIO_WHY_MAX + 2];
    snprintf(note, sizeof note, "%s: %s", c->name, r->why);
    akt_sim_note(sc->w, NULL, "check-failed", note, 0);
  }
  return 1;
}

static int safety_checks(akt_scenario *sc) {
  uint64_t within;
  for (const akt_workload_check *c = sc->wl->checks; c && c->name; c++)
    if (c->kind == AKT_CHECK_SAFETY && selected(sc->spec, c, &within) && run_check(sc, c)) return 1;
  return 0;
}

/* ---- the run ------------------------------------------------------------------------------ */

static void progress(akt_scenario *sc, uint64_t end, size_t applied) {
  if (!sc->o->log || !sc->o->progress) return;
  fprintf(sc->o->log, "\r\033[K  [sim %7.1fs / %.0fs] %" PRIu64 " records, %zu faults",
          (double)akt_sim_now(sc->w) / 1e9, (double)end / 1e9, akt_sim_records(sc->w), applied);
  fflush(sc->o->log);
}

/* Runs the world to `until`, running the safety checks every second.
 * Returns 1 when the run must stop (a check failed, or an error). */
static int advance(akt_scenario *sc, uint64_t until, uint64_t end) {
  while (akt_sim_now(sc->w) < until) {
    uint64_t now = akt_sim_now(sc->w);
    uint64_t next = (now / SAFETY_EVERY + 1) * SAFETY_EVERY;
    if (next > until) next = until;
    int rc = akt_sim_run_until(sc->w, NULL, NULL, next);
    if (rc != 0 && rc != AKT_ETIMEDOUT) {
      fail(sc, AKT__RUN_ERROR, "", "the world stopped: %s%s", "", rc);
      return 1;
    }
    if (sc->res->status != AKT__RUN_PASS) return 1;
    if (next % SAFETY_EVERY == 0) {
      if (safety_checks(sc)) return 1;
      progress(sc, end, sc->res->applied);
    }
  }
  return 0;
}

static int setup(akt_scenario *sc, uint64_t seed) {
  akt_sim_options so = {.seed = seed, .trace_path = sc->o->trace_path};
  int rc = akt_sim_world_new(&so, &sc->w);
  if (rc) return rc;
  for (size_t i = 0; i < sc->spec->nodes; i++) {
    char name[32];
    snprintf(name, sizeof name, "node%zu", i);
    snprintf(sc->addr[i], sizeof sc->addr[i], "akt://%s@%s:2552", name, name);
    if ((rc = akt_sim_node_new(sc->w, name, &sc->b[i]))) return rc;
    sc->nctx[i] = (node_ctx){sc, i};
    akt_sim_node_hooks h = {.start = hook_start, .stop = hook_stop, .arg = &sc->nctx[i]};
    if ((rc = akt_sim_node_set_hooks(sc->b[i], &h))) return rc;
  }
  const akt_sim_link_faults *l = &sc->spec->link;
  akt_sim_link_faults zero = {0};
  if (memcmp(l, &zero, sizeof zero) && (rc = akt_sim_link_set_all(sc->w, l))) return rc;
  return 0;
}

static void teardown(akt_scenario *sc) {
  for (size_t i = 0; i < sc->spec->nodes; i++) drop_systems(sc, i);
  akt_sim_world_free(sc->w);
  free(sc->state);
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts the nodes, applies the faults, runs the quiet period. Returns
 * after the liveness checks, or at the first failure. */
static void play(akt_scenario *sc, const akt__plan *plan) {
  const akt__scn_spec *spec = sc->spec;
  akt__run_result *r = sc->res;
  uint64_t end = spec->duration + spec->quiet;
  for (size_t i = 0; i < spec->nodes; i++)
    if (hook_start(sc->b[i], &sc->nctx[i])) return;
  if (sc->wl->begin) {
    int rc = sc->wl->begin(sc);
    if (rc) return fail(sc, AKT__RUN_ERROR, "", "begin failed%s: %s", "", rc);
  }
  for (size_t k = 0; k < plan->n && plan->faults[k].at < spec->duration; k++) {
    if (advance(sc, plan->faults[k].at, end)) return;
    int rc = apply(sc, &plan->faults[k]);
    if (rc < 0) {
      char text[256];
      akt__scn_fault_text(&plan->faults[k], text, sizeof text);
      return fail(sc, AKT__RUN_ERROR, "", "fault '%s' failed: %s", text, rc);
    }
    if (r->status != AKT__RUN_PASS) return; /* a restart's start hook failed */
    log_fault(sc, &plan->faults[k], rc ? "fault-skipped" : "fault");
    if (rc) r->skipped++;
    else r->applied++;
  }
  if (advance(sc, spec->duration, end)) return;
  int rc = quiet(sc);
  if (rc) return fail(sc, AKT__RUN_ERROR, "", "the quiet period could not restart a node%s: %s", "", rc);
  /* Liveness checks, each at its time after the quiet period begins, in
   * time order (stable: the workload's order among equal times). */
  const akt_workload_check *live[64];
  uint64_t due[64], within;
  size_t nlive = 0;
  for (const akt_workload_check *c = sc->wl->checks; c && c->name && nlive < 64; c++) {
    if (c->kind != AKT_CHECK_LIVENESS || !selected(spec, c, &within)) continue;
    size_t j = nlive++;
    for (; j > 0 && due[j - 1] > spec->duration + within; j--) {
      live[j] = live[j - 1];
      due[j] = due[j - 1];
    }
    live[j] = c;
    due[j] = spec->duration + within;
  }
  for (size_t k = 0; k < nlive; k++) {
    if (due[k] > end) end = due[k];
    if (advance(sc, due[k], end) || run_check(sc, live[k])) return;
  }
  if (advance(sc, end, end)) return;
  safety_checks(sc);
}

int akt__run(const akt__scn_spec *spec, const akt_workload *wl, uint64_t seed,
             const akt__plan *plan, const akt__run_opts *o, akt__run_result *out) {
  static const akt__run_opts none = {0};
  memset(out, 0, sizeof *out);
  akt_scenario *sc = calloc(1, sizeof *sc);
  if (!sc) {
    out->status = AKT__RUN_ERROR;
    snprintf(out->why, sizeof out->why, "out of memory");
    return out->status;
  }
  sc->spec = spec;
  sc->wl = wl;
  sc->o = o ? o : &none;
  sc->res = out;
  sc->quiet_start = spec->duration;
  double t0 = wall_seconds();
  sc->state = calloc(1, wl->state_size ? wl->state_size : 1);
  int rc = sc->state ? setup(sc, seed) : AKT_ENOMEM;
  if (rc) fail(sc, AKT__RUN_ERROR, "", "setting up the world failed%s: %s", "", rc);
  else play(sc, plan);
  if (sc->o->log && sc->o->progress) fprintf(sc->o->log, "\r\033[K");
  if (sc->w) {
    out->digest = akt_sim_digest(sc->w);
    out->records = akt_sim_records(sc->w);
    out->steps = akt_sim_steps(sc->w);
    out->sim_ns = akt_sim_now(sc->w);
  }
  teardown(sc);
  free(sc);
  out->real_s = wall_seconds() - t0;
  return out->status;
}
