/* akt — discovery settings from the environment (internal): what
 * akt_cluster_options_from_env reads to choose and configure a provider.
 */
#ifndef AKT_CLUSTER_DISCOVERY_ENV_H
#define AKT_CLUSTER_DISCOVERY_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "akt/cluster.h"

/* Reads DISCOVERY and the settings of the provider it names into
 * env->discovery (its config points into env), using what env already
 * holds (NODE_NAME, NODE_IP, GOSSIP_PORT, AKT_CLUSTER_SEEDS). Returns 0,
 * or AKT_EINVAL with "NAME: what is wrong" in err for the first variable
 * that is missing or malformed. */
int akt__discovery_env(akt_cluster_env *env, akt_getenv_fn get, void *arg, char *err,
                       size_t errsize);

/* env.c's checks, shared: writes "VAR: what ('value')" to err and returns
 * AKT_EINVAL; parses a port 1..65535 (1 on success: discovery has no use
 * for "any free port"). */
int akt__env_bad(char *err, size_t size, const char *var, const char *what, const char *value);
int akt__env_port(const char *s, uint16_t *out);

#endif
