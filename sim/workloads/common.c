/* akt — helpers shared by the built-in workloads. */
#include "sim/workloads/common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const ProtobufCMessageDescriptor *const types[] = {
    &aktsim__topic_msg__descriptor, /* topics */
    &aktsim__tick__descriptor,     &aktsim__ping__descriptor,    &aktsim__pong__descriptor,
    &aktsim__debit__descriptor,    &aktsim__credit__descriptor,  &aktsim__outcome__descriptor,
    &aktsim__identify__descriptor, &aktsim__identity__descriptor, &aktsim__boom__descriptor,
    &aktsim__inc__descriptor,      &aktsim__inc_ack__descriptor,  &aktsim__acc_inc__descriptor,
    &aktsim__acc_ack__descriptor,  &aktsim__acc_state__descriptor, &aktsim__acc_read__descriptor,
};

int akt__wl_system(akt_scenario *sc, size_t i, akt_system **out) {
  int rc = akt_scenario_system_new(sc, i, out);
  for (size_t k = 0; rc == 0 && k < sizeof types / sizeof types[0]; k++)
    rc = akt_system_register_type(*out, types[k]);
  return rc;
}

int akt__wl_pid(akt_scenario *sc, akt_system *sys, size_t j, const char *path, akt_pid **out) {
  char address[AKT_ADDRESS_MAX];
  snprintf(address, sizeof address, "%s%s", akt_scenario_node_address(sc, j), path);
  return akt_remote_pid(sys, address, out);
}

size_t akt__wl_node(akt_ctx *ctx) {
  const char *name = akt_system_name(akt_ctx_system(ctx));
  return strncmp(name, "node", 4) == 0 ? (size_t)strtoul(name + 4, NULL, 10) : 0;
}

const akt_workload *const akt_builtin_workloads[] = {
    &akt__wl_topics, /* topics.c */
    &akt__wl_pingpong,    &akt__wl_pingpong_udp,  &akt__wl_bank, &akt__wl_remote_watch,
    &akt__wl_supervision, &akt__wl_buggy_counter, &akt__wl_membership, &akt__wl_singleton,
    &akt__wl_spawn_storm, &akt__wl_named,         &akt__wl_grains, NULL,
};

void akt__wl_violation(akt__wl_violations *v, const char *fmt, ...) {
  if (v->count++ != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->first, sizeof v->first, fmt, ap);
  va_end(ap);
}

int akt__wl_violations_why(const akt__wl_violations *v, const char *what, char *why) {
  if (!v->count) return 0;
  snprintf(why, AKT_SCENARIO_WHY_MAX, "%llu %s; first: %s", (unsigned long long)v->count, what,
           v->first);
  return 1;
}
