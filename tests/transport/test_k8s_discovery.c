/* The Kubernetes API discovery provider on the production backend,
 * against canned API responses (the files in tests/transport/k8s, in the
 * documented PodList and Status shapes) served over HTTP on 127.0.0.1:
 * ready pods only, named ports, pagination, 403, 404, malformed JSON, a
 * server that is not there, and cancel or free while a request is out.
 *
 * usage: test_k8s_discovery K8S_FIXTURE_DIR */
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "uv_test_util.h"
#include "http_test_server.h"
#include "akt/discovery.h"

static const char *fixtures;

/* ---- the API server's answers ------------------------------------------------------------- */

typedef struct canned {
  char *page1, *page2, *forbidden, *not_found, *malformed, *not_a_list, *empty;
} canned;

static char *slurp(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", fixtures, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  char *buf = malloc(1 << 16);
  assert_non_null(buf);
  size_t n = fread(buf, 1, (1 << 16) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Routes by namespace; the default namespace's list has two pages. */
static void route(const char *target, int *status, const char **body, void *arg) {
  canned *c = arg;
  *status = 200;
  if (strstr(target, "/namespaces/default/pods?"))
    *body = strstr(target, "&continue=") ? c->page2 : c->page1;
  else if (strstr(target, "/namespaces/locked/pods?"))
    *status = 403, *body = c->forbidden;
  else if (strstr(target, "/namespaces/nowhere/pods?"))
    *status = 404, *body = c->not_found;
  else if (strstr(target, "/namespaces/broken/pods?"))
    *body = c->malformed;
  else if (strstr(target, "/namespaces/odd/pods?"))
    *body = c->not_a_list;
  else if (strstr(target, "/namespaces/quiet/pods?"))
    *body = c->empty;
  else
    *status = 500, *body = "{}";
}

typedef struct env {
  canned c;
  hts server;
  test_log log;
  akt_backend *b;
  char api[64];
  char token_path[64];
  char ns_path[64];
} env;

static void write_file(char *path, size_t size, const char *content) {
  snprintf(path, size, "/tmp/akt-k8s-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
}

static int setup(void **state) {
  env *e = calloc(1, sizeof *e);
  e->c.page1 = slurp("pods-page1.json");
  e->c.page2 = slurp("pods-page2.json");
  e->c.forbidden = slurp("forbidden.json");
  e->c.not_found = slurp("not-found.json");
  e->c.malformed = slurp("malformed.json");
  e->c.not_a_list = slurp("not-a-list.json");
  e->c.empty = slurp("empty.json");
  hts_start(&e->server, route, &e->c);
  snprintf(e->api, sizeof e->api, "http://127.0.0.1:%u", (unsigned)e->server.port);
  write_file(e->token_path, sizeof e->token_path, "token-abc.def\n"); /* as mounted: a newline */
  write_file(e->ns_path, sizeof e->ns_path, "default\n");
  pthread_mutex_init(&e->log.mu, NULL);
  e->b = test_backend(1, &e->log, 0);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  env *e = *state;
  akt_uv_backend_free(e->b);
  hts_stop(&e->server);
  unlink(e->token_path);
  unlink(e->ns_path);
  char **files[] = {&e->c.page1, &e->c.page2, &e->c.forbidden, &e->c.not_found,
                    &e->c.malformed, &e->c.not_a_list, &e->c.empty};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) free(*files[i]);
  pthread_mutex_destroy(&e->log.mu);
  free(e);
  return 0;
}

/* ---- lookups ---------------------------------------------------------------------------------- */

typedef struct answer {
  akt_backend *b;
  atomic_int calls;
  int status;
  size_t n;
  akt_addr addrs[16];
} answer;

static void on_answer(int status, const akt_addr *addrs, size_t n, void *arg) {
  answer *a = arg;
  a->status = status;
  a->n = n;
  for (size_t i = 0; i < n && i < 16; i++) a->addrs[i] = addrs[i];
  atomic_fetch_add(&a->calls, 1);
  a->b->ops->wake(a->b);
}

static int answered(void *arg) { return atomic_load(&((answer *)arg)->calls) > 0; }

static int has(const answer *a, const char *host, uint16_t port) {
  for (size_t i = 0; i < a->n; i++)
    if (a->addrs[i].port == port && !strcmp(a->addrs[i].host, host)) return 1;
  return 0;
}

static akt_k8s_discovery_options opts(env *e, const char *ns) {
  akt_k8s_discovery_options o = {.ns = ns,
                                 .label_selector = "app=akt,tier in (core)",
                                 .port_name = "gossip",
                                 .api_url = e->api,
                                 .token_path = e->token_path};
  return o;
}

static akt_discovery *provider(const akt_k8s_discovery_options *o) {
  akt_discovery *d = NULL;
  assert_int_equal(akt_discovery_kubernetes_new(o, &d), 0);
  assert_string_equal(d->ops->name, "kubernetes");
  return d;
}

static void lookup(env *e, akt_discovery *d, answer *a) {
  memset(a, 0, sizeof *a);
  a->b = e->b;
  assert_int_equal(d->ops->lookup(d, e->b, on_answer, a), 0);
  assert_int_equal(e->b->ops->wait(e->b, answered, a, test_deadline(e->b, TEST_PATIENCE)), 0);
  assert_int_equal(atomic_load(&a->calls), 1);
}

static void ready_pods_are_found_page_by_page_at_their_named_port(void **state) {
  env *e = *state;
  akt_k8s_discovery_options o = opts(e, NULL);
  o.namespace_path = e->ns_path; /* the pod's own namespace, from its file */
  akt_discovery *d = provider(&o);
  answer a;
  lookup(e, d, &a);
  assert_int_equal(a.status, 0);
  /* akt-0 (on both pages: once), akt-4 at its own port; not akt-1 (not
   * ready), akt-2 (pending, no IP), akt-3 (terminating), akt-5 (no port
   * named gossip). */
  assert_int_equal(a.n, 2);
  assert_true(has(&a, "10.0.0.10", 7946));
  assert_true(has(&a, "10.0.0.14", 7950));
  akt_discovery_stats st;
  akt_discovery_get_stats(d, &st);
  assert_int_equal(st.requests, 2);
  assert_int_equal(st.records_skipped, 4);
  /* What the API server saw: the token, the selector encoded, the page
   * size, and the continue token of page 1 on the second request. */
  assert_string_equal(e->server.auth, "Bearer token-abc.def");
  assert_non_null(strstr(e->server.target, "/api/v1/namespaces/default/pods?"));
  assert_non_null(strstr(e->server.target, "labelSelector=app%3Dakt%2Ctier%20in%20%28core%29"));
  assert_non_null(strstr(e->server.target, "&limit=500"));
  assert_non_null(strstr(e->server.target, "&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEi"));
  d->ops->free(d);
}

static void a_configured_port_applies_to_every_ready_pod(void **state) {
  env *e = *state;
  akt_k8s_discovery_options o = opts(e, "default");
  o.port_name = NULL;
  o.port = 9000;
  o.page_size = 2;
  akt_discovery *d = provider(&o);
  answer a;
  lookup(e, d, &a);
  assert_int_equal(a.status, 0);
  assert_int_equal(a.n, 3); /* akt-0, akt-4, akt-5 */
  assert_true(has(&a, "10.0.0.15", 9000));
  assert_non_null(strstr(e->server.target, "&limit=2"));
  d->ops->free(d);
}

/* The last log line, under the sink's lock. */
static void last_log(env *e, char *out, size_t size) {
  pthread_mutex_lock(&e->log.mu);
  snprintf(out, size, "%s", e->log.last);
  pthread_mutex_unlock(&e->log.mu);
}

static void failures_answer_a_code_and_log_their_cause(void **state) {
  env *e = *state;
  struct {
    const char *ns;
    int status;
    const char *said; /* in the log line */
  } cases[] = {
      {"locked", AKT_EREFUSED, "HTTP 403"},
      {"nowhere", AKT_ENOENT, "namespaces \"nowhere\" not found"},
      {"broken", AKT_EPROTO, "malformed JSON"},
      {"odd", AKT_EPROTO, "a Pod, not a PodList"},
      {"elsewhere", AKT_EBACKEND, "HTTP 500"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    akt_discovery *d = provider(&(akt_k8s_discovery_options){
        .ns = cases[i].ns, .label_selector = "app=akt", .port_name = "gossip",
        .api_url = e->api, .token_path = e->token_path});
    answer a;
    lookup(e, d, &a);
    assert_int_equal(a.status, cases[i].status);
    char line[512];
    last_log(e, line, sizeof line);
    print_message("%s: %s\n", cases[i].ns, line);
    assert_non_null(strstr(line, "discovery kubernetes: lookups fail"));
    assert_non_null(strstr(line, cases[i].said));
    if (cases[i].status == AKT_EREFUSED) {
      assert_non_null(strstr(line, "RBAC"));
      assert_non_null(strstr(line, "cannot list resource"));
    }
    d->ops->free(d);
  }
}

static void an_empty_list_and_an_absent_server_are_told_apart(void **state) {
  env *e = *state;
  akt_discovery *d = provider(&(akt_k8s_discovery_options){
      .ns = "quiet", .label_selector = "app=akt", .port = 7946, .api_url = e->api,
      .token_path = ""});
  answer a;
  lookup(e, d, &a);
  assert_int_equal(a.status, AKT_ENOENT); /* no pod yet: nothing to join */
  assert_string_equal(e->server.auth, ""); /* token_path "": none sent */
  d->ops->free(d);
  /* A port nobody listens on. */
  akt_discovery *gone = provider(&(akt_k8s_discovery_options){
      .ns = "default", .label_selector = "app=akt", .port = 7946,
      .api_url = "http://127.0.0.1:1", .token_path = ""});
  lookup(e, gone, &a);
  assert_int_equal(a.status, AKT_EUNREACH);
  gone->ops->free(gone);
  /* A token file that is not there. */
  akt_discovery *notoken = provider(&(akt_k8s_discovery_options){
      .ns = "default", .label_selector = "app=akt", .port = 7946, .api_url = e->api,
      .token_path = "/nonexistent/token"});
  lookup(e, notoken, &a);
  assert_int_equal(a.status, AKT_EBACKEND);
  char line[512];
  last_log(e, line, sizeof line);
  assert_non_null(strstr(line, "cannot read the token file /nonexistent/token"));
  notoken->ops->free(notoken);
}

static void cancel_and_free_while_a_request_is_out(void **state) {
  env *e = *state;
  akt_discovery *d = provider(&(akt_k8s_discovery_options){
      .ns = "default", .label_selector = "app=akt", .port_name = "gossip", .api_url = e->api,
      .token_path = e->token_path});
  hts_set_hold(&e->server, 1);
  answer a = {.b = e->b};
  atomic_init(&a.calls, 0);
  assert_int_equal(d->ops->lookup(d, e->b, on_answer, &a), 0);
  assert_true(hts_wait_requests(&e->server, 1)); /* page 1 is out, held */
  d->ops->cancel(d, e->b);
  d->ops->free(d); /* the request still runs: its job holds the provider */
  hts_set_hold(&e->server, 0);
  /* The job sees its lookup is over, asks for no second page, and lets go
   * of the provider (ASan, valgrind); freeing the backend waits for it. */
  akt_uv_backend_free(e->b);
  e->b = test_backend(1, &e->log, 0);
  assert_int_equal(atomic_load(&a.calls), 0);
  pthread_mutex_lock(&e->server.mu);
  assert_int_equal(e->server.requests, 1);
  pthread_mutex_unlock(&e->server.mu);
}

static void bad_options_are_refused(void **state) {
  env *e = *state;
  akt_discovery *d = NULL;
  akt_k8s_discovery_options o = opts(e, "default");
  o.label_selector = NULL;
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), AKT_EINVAL);
  o = opts(e, "default");
  o.port_name = NULL;
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), AKT_EINVAL); /* no port at all */
  o = opts(e, "Not_A_Namespace");
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), AKT_EINVAL);
  o = opts(e, "default");
  o.api_url = "ftp://127.0.0.1";
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), AKT_EINVAL);
  o = opts(e, NULL);
  o.namespace_path = "/nonexistent/namespace";
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), AKT_EINVAL);
  /* In-cluster defaults: the API server from the pod's environment. */
  o = opts(e, "default");
  o.api_url = NULL;
  unsetenv("KUBERNETES_SERVICE_HOST");
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), AKT_EINVAL);
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  assert_int_equal(akt_discovery_kubernetes_new(&o, &d), 0);
  d->ops->free(d);
  assert_null(NULL);
}

static void the_configuration_builds_any_provider(void **state) {
  env *e = *state;
  akt_discovery_config c = {.kind = AKT_DISCOVERY_KUBERNETES, .k8s = opts(e, "default")};
  akt_discovery *d = NULL;
  assert_int_equal(akt_discovery_new(&c, &d), 0);
  assert_string_equal(d->ops->name, "kubernetes");
  d->ops->free(d);
  c.kind = AKT_DISCOVERY_DNS;
  c.dns.name = "akt.default.svc.cluster.local";
  c.dns.port = 7946;
  assert_int_equal(akt_discovery_new(&c, &d), 0);
  assert_string_equal(d->ops->name, "dns");
  d->ops->free(d);
  c.kind = AKT_DISCOVERY_MDNS;
  assert_int_equal(akt_discovery_new(&c, &d), 0);
  assert_string_equal(d->ops->name, "mdns");
  d->ops->free(d);
  akt_addr seed = {.host = "10.0.0.1", .port = 7946};
  c.kind = AKT_DISCOVERY_STATIC;
  c.seeds = &seed;
  c.nseeds = 1;
  assert_int_equal(akt_discovery_new(&c, &d), 0);
  assert_string_equal(d->ops->name, "static");
  d->ops->free(d);
  c.kind = (akt_discovery_kind)42;
  assert_int_equal(akt_discovery_new(&c, &d), AKT_EINVAL);
  assert_string_equal(akt_discovery_kind_name(AKT_DISCOVERY_MDNS), "mdns");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s K8S_FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  fixtures = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ready_pods_are_found_page_by_page_at_their_named_port, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(a_configured_port_applies_to_every_ready_pod, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(failures_answer_a_code_and_log_their_cause, setup, teardown),
      cmocka_unit_test_setup_teardown(an_empty_list_and_an_absent_server_are_told_apart, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(cancel_and_free_while_a_request_is_out, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_options_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(the_configuration_builds_any_provider, setup, teardown),
  };
  return cmocka_run_group_tests_name("discovery-kubernetes", tests, NULL, NULL);
}
