/* akt production backend — reading a Kubernetes PodList (internal).
 *
 * GET /api/v1/namespaces/NS/pods answers a PodList (the Kubernetes API
 * reference, "PodList v1 core"):
 *
 *   {"kind": "PodList", "apiVersion": "v1",
 *    "metadata": {"resourceVersion": "...", "continue": "<token or absent>"},
 *    "items": [{"metadata": {"name": "...", "deletionTimestamp": "<when terminating>"},
 *               "spec": {"containers": [{"name": "...",
 *                        "ports": [{"name": "gossip", "containerPort": 7946}]}]},
 *               "status": {"phase": "Running", "podIP": "10.0.0.7",
 *                          "conditions": [{"type": "Ready", "status": "True"}]}}]}
 *
 * A pod is a member candidate when it is Running, its Ready condition is
 * True, it is not being deleted, it has a podIP, and — when a port name is
 * given — one of its containers declares a port of that name. An error
 * answers a Status ({"kind": "Status", "message": "...", "code": 403}),
 * whose message is what the API server says went wrong.
 *
 * json-c parses with a depth limit; everything else is checked by type:
 * a field of the wrong type makes the pod unusable (counted), a body that
 * is not an object with an "items" array is an error.
 */
#ifndef AKT_TRANSPORT_K8S_PODS_H
#define AKT_TRANSPORT_K8S_PODS_H

#include <stddef.h>
#include <stdint.h>

#include "akt/backend.h"

#define AKT__K8S_JSON_DEPTH 32      /* nesting json-c accepts */
#define AKT__K8S_CONTINUE_MAX 4096  /* bytes of a continue token, NUL included */
#define AKT__K8S_ERROR_MAX 256      /* bytes of an error's description, NUL included */

/* One page of a list. */
typedef struct akt__k8s_page {
  akt_addr *addrs;    /* room for cap addresses (the caller's) */
  size_t cap;
  size_t n;           /* candidates written */
  size_t over;        /* candidates that did not fit */
  size_t skipped;     /* pods that are no candidates */
  char next[AKT__K8S_CONTINUE_MAX]; /* metadata.continue: "" on the last page */
} akt__k8s_page;

/* Reads one PodList page (body[0..len)): the candidates' addresses at the
 * port of the container port named `port_name` (NULL: `port`). Returns 0,
 * AKT_EPROTO (not JSON, not a PodList, an over-long continue token) with a
 * description in err. */
int akt__k8s_parse_pods(const char *body, size_t len, const char *port_name, uint16_t port,
                        akt__k8s_page *page, char *err, size_t errsize);

/* The message of a Status body ("" if it is none), for error reports. */
void akt__k8s_status_message(const char *body, size_t len, char *out, size_t size);

#endif
