/* akt — scenario files: writing a spec back as text (the grammar is in
 * docs/scenarios.md; shrink writes its result with this). */
#include <inttypes.h>
#include <stdio.h>

#include "akt/error.h"
#include "sim/scenario/spec.h"

static void duration_text(uint64_t ns, char *buf, size_t size) {
  if (ns % 1000000000u == 0) snprintf(buf, size, "%" PRIu64 "s", ns / 1000000000u);
  else if (ns % 1000000u == 0) snprintf(buf, size, "%" PRIu64 "ms", ns / 1000000u);
  else if (ns % 1000u == 0) snprintf(buf, size, "%" PRIu64 "us", ns / 1000u);
  else snprintf(buf, size, "%" PRIu64 "ns", ns);
}

static void link_text(const akt_sim_link_faults *l, char *buf, size_t size) {
  char a[32], b[32], c[32];
  size_t n = 0;
  buf[0] = '\0';
  if (l->kind == AKT_SIM_LATENCY_UNIFORM) {
    duration_text(l->latency, a, sizeof a);
    duration_text(l->latency_max, b, sizeof b);
    n += (size_t)snprintf(buf + n, size - n, " latency=uniform:%s..%s", a, b);
  } else if (l->kind == AKT_SIM_LATENCY_EXPONENTIAL) {
    duration_text(l->latency, a, sizeof a);
    duration_text(l->latency_mean, b, sizeof b);
    duration_text(l->latency_max, c, sizeof c);
    n += (size_t)snprintf(buf + n, size - n, " latency=exp:%s:%s%s%s", a, b,
                          l->latency_max ? ":" : "", l->latency_max ? c : "");
  } else if (l->latency) {
    duration_text(l->latency, a, sizeof a);
    n += (size_t)snprintf(buf + n, size - n, " latency=%s", a);
  }
  if (n < size && l->loss_ppm) n += (size_t)snprintf(buf + n, size - n, " loss=%g", l->loss_ppm / 1e6);
  if (n < size && l->dup_ppm) n += (size_t)snprintf(buf + n, size - n, " dup=%g", l->dup_ppm / 1e6);
  if (n < size && l->reorder) {
    duration_text(l->reorder, a, sizeof a);
    n += (size_t)snprintf(buf + n, size - n, " reorder=%s", a);
  }
  if (n < size && l->capacity) snprintf(buf + n, size - n, " capacity=%zu", l->capacity);
}

void akt__scn_fault_text(const akt__fault *f, char *buf, size_t size) {
  char at[32], d[32], opts[256];
  duration_text(f->at, at, sizeof at);
  switch (f->kind) {
    case AKT__FAULT_CRASH: snprintf(buf, size, "at %s crash node%d", at, f->node); break;
    case AKT__FAULT_RESTART: snprintf(buf, size, "at %s restart node%d", at, f->node); break;
    case AKT__FAULT_PAUSE: snprintf(buf, size, "at %s pause node%d", at, f->node); break;
    case AKT__FAULT_RESUME: snprintf(buf, size, "at %s resume node%d", at, f->node); break;
    case AKT__FAULT_SKEW:
      duration_text((uint64_t)(f->value < 0 ? -f->value : f->value), d, sizeof d);
      snprintf(buf, size, "at %s skew node%d %s%s", at, f->node, f->value < 0 ? "-" : "", d);
      break;
    case AKT__FAULT_DRIFT:
      snprintf(buf, size, "at %s drift node%d %" PRId64 "ppm", at, f->node, f->value);
      break;
    case AKT__FAULT_CUT:
      snprintf(buf, size, "at %s cut node%d node%d%s", at, f->node, f->node2, f->oneway ? " oneway" : "");
      break;
    case AKT__FAULT_HEAL: snprintf(buf, size, "at %s heal", at); break;
    case AKT__FAULT_PARTITION:
      if (f->shape == AKT__SHAPE_ISOLATE) {
        size_t n = (size_t)snprintf(buf, size, "at %s partition isolate", at);
        for (int i = 0; i < AKT_SCENARIO_MAX_NODES && n < size; i++)
          if (akt__set_has(&f->mask, (size_t)i)) n += (size_t)snprintf(buf + n, size - n, " node%d", i);
      } else
        snprintf(buf, size, "at %s partition %s", at, f->shape == AKT__SHAPE_RING ? "ring" : "halves");
      break;
    case AKT__FAULT_CLOG:
      duration_text((uint64_t)f->value, d, sizeof d);
      if (f->node2 >= 0)
        snprintf(buf, size, "at %s clog node%d node%d %s", at, f->node, f->node2, d);
      else
        snprintf(buf, size, "at %s clog node%d %s", at, f->node, d);
      break;
    case AKT__FAULT_SWIZZLE:
      duration_text((uint64_t)f->value, d, sizeof d);
      snprintf(buf, size, "at %s swizzle %s", at, d);
      break;
    case AKT__FAULT_HOLD: snprintf(buf, size, "at %s hold node%d node%d", at, f->node, f->node2); break;
    case AKT__FAULT_RELEASE:
      snprintf(buf, size, "at %s release node%d node%d", at, f->node, f->node2);
      break;
    case AKT__FAULT_LINK:
      link_text(&f->link, opts, sizeof opts);
      if (f->node >= 0)
        snprintf(buf, size, "at %s link node%d node%d%s", at, f->node, f->node2, opts);
      else
        snprintf(buf, size, "at %s link all%s", at, opts);
      break;
    default: snprintf(buf, size, "# unknown fault"); break;
  }
}

int akt__scn_write(const akt__scn_spec *s, const char *path, const char *header) {
  FILE *f = fopen(path, "w");
  if (!f) return AKT_EBACKEND;
  char d[32], q[32], opts[256];
  if (header) fprintf(f, "%s", header);
  if (s->name[0]) fprintf(f, "scenario %s\n", s->name);
  fprintf(f, "workload %s", s->workload);
  for (size_t i = 0; i < s->nparams; i++) {
    if (s->param_is_duration[i]) {
      duration_text((uint64_t)s->param_values[i], d, sizeof d);
      fprintf(f, " %s=%s", s->param_names[i], d);
    } else {
      fprintf(f, " %s=%" PRId64, s->param_names[i], s->param_values[i]);
    }
  }
  duration_text(s->duration, d, sizeof d);
  duration_text(s->quiet, q, sizeof q);
  fprintf(f, "\nnodes %zu\nduration %s\nquiet %s\ncookie %s\n", s->nodes, d, q, s->cookie);
  link_text(&s->link, opts, sizeof opts);
  if (opts[0]) fprintf(f, "link%s\n", opts);
  for (size_t i = 0; i < s->nfaults; i++) {
    char line[512];
    akt__scn_fault_text(&s->faults[i], line, sizeof line);
    fprintf(f, "%s\n", line);
  }
  for (size_t i = 0; i < s->nchecks; i++) {
    if (s->checks[i].within) {
      duration_text(s->checks[i].within, d, sizeof d);
      fprintf(f, "check %s within %s\n", s->checks[i].name, d);
    } else {
      fprintf(f, "check %s\n", s->checks[i].name);
    }
  }
  return fclose(f) == 0 ? 0 : AKT_EBACKEND;
}

