/* akt production backend — reading a Kubernetes PodList with json-c
 * (transport/k8s_pods.h says what is read and why). */
#include <json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "akt/error.h"
#include "transport/k8s_pods.h"

/* Parses body into a json object, or NULL with a description in err. */
static json_object *parse(const char *body, size_t len, char *err, size_t errsize) {
  json_tokener *tok = json_tokener_new_ex(AKT__K8S_JSON_DEPTH);
  if (!tok) {
    snprintf(err, errsize, "out of memory parsing JSON");
    return NULL;
  }
  /* json-c takes an int length; the caller bounds bodies well below. */
  json_object *root = len <= INT32_MAX ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  if (root && jerr == json_tokener_success && end < len) {
    /* Something after the value: not one JSON document. */
    size_t i = end;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
    if (i < len) {
      json_object_put(root);
      root = NULL;
      snprintf(err, errsize, "malformed JSON: bytes after the value at offset %zu", i);
    }
  } else if (!root || jerr != json_tokener_success) {
    if (root) json_object_put(root);
    root = NULL;
    snprintf(err, errsize, "malformed JSON at offset %zu: %s", end,
             jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr));
  }
  json_tokener_free(tok);
  return root;
}

/* obj[key] if obj is an object and it has that key with that type. */
static json_object *field(json_object *obj, const char *key, json_type type) {
  json_object *v;
  if (!obj || !json_object_is_type(obj, json_type_object)) return NULL;
  if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type)) return NULL;
  return v;
}

static const char *text(json_object *obj, const char *key) {
  json_object *v = field(obj, key, json_type_string);
  return v ? json_object_get_string(v) : NULL;
}

/* The Ready condition is "True". */
static int ready(json_object *status) {
  json_object *conds = field(status, "conditions", json_type_array);
  size_t n = conds ? json_object_array_length(conds) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    const char *type = text(c, "type"), *st = text(c, "status");
    if (type && st && !strcmp(type, "Ready")) return !strcmp(st, "True");
  }
  return 0;
}

/* The containerPort of the port named `name` in any container, or 0. */
static uint16_t named_port(json_object *spec, const char *name) {
  json_object *containers = field(spec, "containers", json_type_array);
  size_t nc = containers ? json_object_array_length(containers) : 0;
  for (size_t i = 0; i < nc; i++) {
    json_object *ports = field(json_object_array_get_idx(containers, i), "ports", json_type_array);
    size_t np = ports ? json_object_array_length(ports) : 0;
    for (size_t j = 0; j < np; j++) {
      json_object *p = json_object_array_get_idx(ports, j);
      const char *pn = text(p, "name");
      json_object *num = field(p, "containerPort", json_type_int);
      if (!pn || !num || strcmp(pn, name)) continue;
      int64_t v = json_object_get_int64(num);
      return v >= 1 && v <= 65535 ? (uint16_t)v : 0;
    }
  }
  return 0;
}

/* The pod's address if it is a candidate. Returns 1 and *out, or 0. */
static int candidate(json_object *pod, const char *port_name, uint16_t port, akt_addr *out) {
  json_object *meta = field(pod, "metadata", json_type_object);
  json_object *status = field(pod, "status", json_type_object);
  if (!meta || !status) return 0;
  json_object *deleting;
  if (json_object_object_get_ex(meta, "deletionTimestamp", &deleting) &&
      !json_object_is_type(deleting, json_type_null))
    return 0; /* terminating: on its way out of the cluster */
  const char *phase = text(status, "phase"), *ip = text(status, "podIP");
  if (!phase || strcmp(phase, "Running") || !ip || !*ip || !ready(status)) return 0;
  if (port_name) port = named_port(field(pod, "spec", json_type_object), port_name);
  if (!port || strlen(ip) >= sizeof out->host) return 0;
  memset(out, 0, sizeof *out);
  memcpy(out->host, ip, strlen(ip) + 1);
  out->port = port;
  return 1;
}

int akt__k8s_parse_pods(const char *body, size_t len, const char *port_name, uint16_t port,
                        akt__k8s_page *page, char *err, size_t errsize) {
  page->n = page->over = page->skipped = 0;
  page->next[0] = '\0';
  json_object *root = parse(body, len, err, errsize);
  if (!root) return AKT_EPROTO;
  int rc = 0;
  const char *kind = text(root, "kind");
  json_object *items;
  if (kind && strcmp(kind, "PodList")) {
    snprintf(err, errsize, "a %s, not a PodList", kind);
    rc = AKT_EPROTO;
  } else if (!json_object_is_type(root, json_type_object) ||
             !json_object_object_get_ex(root, "items", &items) ||
             !(json_object_is_type(items, json_type_array) ||
               json_object_is_type(items, json_type_null))) {
    snprintf(err, errsize, "not a PodList: no \"items\" array");
    rc = AKT_EPROTO;
  } else {
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n; i++) {
      akt_addr a;
      if (!candidate(json_object_array_get_idx(items, i), port_name, port, &a)) {
        page->skipped++;
      } else if (page->n < page->cap) {
        page->addrs[page->n++] = a;
      } else {
        page->over++;
      }
    }
    const char *next = text(field(root, "metadata", json_type_object), "continue");
    if (next && strlen(next) >= sizeof page->next) {
      snprintf(err, errsize, "a continue token of %zu bytes", strlen(next));
      rc = AKT_EPROTO;
    } else if (next) {
      memcpy(page->next, next, strlen(next) + 1);
    }
  }
  json_object_put(root);
  return rc;
}

void akt__k8s_status_message(const char *body, size_t len, char *out, size_t size) {
  char ignored[8];
  out[0] = '\0';
  json_object *root = parse(body, len, ignored, sizeof ignored);
  if (!root) return;
  const char *kind = text(root, "kind"), *msg = text(root, "message");
  if (kind && !strcmp(kind, "Status") && msg) snprintf(out, size, "%s", msg);
  json_object_put(root);
}
