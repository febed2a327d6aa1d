/* akt production backend — the Kubernetes API discovery provider.
 *
 * A lookup lists the pods of a namespace that match a label selector:
 * GET {api}/api/v1/namespaces/{ns}/pods?labelSelector=...&limit=N, page
 * after page while the list says metadata.continue, with the service
 * account's bearer token (read again at every lookup: projected tokens
 * rotate) and its CA. The request blocks (libcurl), so it runs as the
 * backend's offloaded work; when it is done it hands its addresses to the
 * lookup kit (src/cluster/discovery_kit.h) under the kit's lock, and a
 * zero-delay timer gives the answer on the I/O context. A job whose
 * lookup is over (cancelled, timed out, or its provider freed) throws
 * its result away; it holds a reference, so the provider's memory lives
 * until it is done.
 *
 * Why here and not in src/: it links libcurl and json-c, which the core
 * does not (tests/seam_check.sh). Everything it reports is a code the
 * cluster understands and a log line that names the cause: an HTTP
 * status with the API server's own message, a JSON error with its offset,
 * a file that cannot be read.
 *
 * Limits: AKT__K8S_BODY_MAX bytes per page, AKT__K8S_MAX_PAGES pages,
 * AKT_DISCOVERY_MAX_ADDRS addresses (the rest counted).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akt/error.h"
#include "src/cluster/discovery_kit.h"
#include "src/util/assert.h"
#include "transport/k8s_pods.h"

#define AKT__K8S_BODY_MAX ((size_t)16 << 20) /* bytes of one page */
#define AKT__K8S_MAX_PAGES 64                /* pages of one list */
#define AKT__K8S_TOKEN_MAX 16384             /* bytes of a bearer token */
#define AKT__K8S_PATH_MAX 1024               /* bytes of a file path, NUL included */
#define AKT__K8S_URL_BUF (AKT_K8S_URL_MAX + 3 * (AKT_K8S_SELECTOR_MAX + AKT__K8S_CONTINUE_MAX) + 128)
/* The lookup's deadline runs this much past the list's, so the job's own
 * timeout (with its cause) is what a slow API server shows. */
#define AKT__K8S_GRACE AKT_SECONDS(1)

typedef struct k8s_disc {
  akt__dkit k; /* first: the kit's discovery is the provider's */
  /* configuration (immutable: jobs read it without the lock) */
  char api_url[AKT_K8S_URL_MAX];
  char ns[AKT_K8S_NAMESPACE_MAX];
  char selector[3 * AKT_K8S_SELECTOR_MAX]; /* URL-encoded */
  char port_name[AKT_K8S_PORT_NAME_MAX];   /* "" = use port */
  uint16_t port;
  char token_path[AKT__K8S_PATH_MAX];      /* "" = no token */
  char ca_path[AKT__K8S_PATH_MAX];
  akt_duration timeout;
  unsigned page_size;
  /* state (under the kit's lock) */
  uint64_t deliver_timer;
  int job_status;
  char job_detail[AKT__DKIT_DETAIL];
} k8s_disc;

typedef struct k8s_job {
  k8s_disc *p;
  uint64_t gen;
} k8s_job;

/* What one list gathered. */
typedef struct k8s_result {
  akt_addr addrs[AKT_DISCOVERY_MAX_ADDRS];
  size_t n, over, skipped;
  unsigned requests;
  int status;
  char detail[AKT__DKIT_DETAIL];
} k8s_result;

typedef struct body {
  char *data;
  size_t len, cap;
  int over; /* AKT__K8S_BODY_MAX was reached */
} body;

/* ---- helpers ------------------------------------------------------------------------------ */

/* Percent-encodes s (RFC 3986: all but unreserved bytes) into out. */
static int url_encode(const char *s, char *out, size_t size) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~';
    if (o + (plain ? 1 : 3) >= size) return AKT_ELIMIT;
    if (plain) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
  return 0;
}

/* Reads a small text file whole into out (trailing whitespace removed).
 * Returns 0, or an errno value (EFBIG: not under size). */
static int read_small(const char *path, char *out, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno ? errno : EIO;
  size_t n = fread(out, 1, size, f);
  int err = ferror(f) ? EIO : 0;
  fclose(f);
  if (err) return err;
  if (n == size) return EFBIG;
  while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
    n--;
  out[n] = '\0';
  return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg) {
  body *b = arg;
  size_t n = size * nmemb;
  if (n > AKT__K8S_BODY_MAX - b->len) {
    b->over = 1;
    return 0; /* libcurl stops with CURLE_WRITE_ERROR */
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + n + 1) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) return 0;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* ---- one list (on the offload thread) ------------------------------------------------------- */

/* Maps a failed transfer to a code and a description. */
static int transfer_error(CURLcode cc, const body *b, const char *errbuf, char *detail,
                          size_t size) {
  if (cc == CURLE_WRITE_ERROR && b->over) {
    snprintf(detail, size, "a page of the pod list is over %zu bytes", AKT__K8S_BODY_MAX);
    return AKT_ELIMIT;
  }
  snprintf(detail, size, "the API server: %s%s%s", curl_easy_strerror(cc), errbuf[0] ? ": " : "",
           errbuf);
  switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return AKT_EUNREACH;
    case CURLE_OPERATION_TIMEDOUT: return AKT_ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY: return AKT_ENOMEM;
    default: return AKT_EBACKEND;
  }
}

/* Maps an HTTP status other than 200 to a code and a description that
 * carries the API server's own message. */
static int http_error(long code, const body *b, char *detail, size_t size) {
  char msg[AKT__DKIT_DETAIL];
  akt__k8s_status_message(b->data ? b->data : "", b->len, msg, sizeof msg);
  const char *hint = code == 401   ? " (the service account token was not accepted)"
                     : code == 403 ? " (the service account needs RBAC permission to list pods)"
                     : code == 404 ? " (no such namespace?)"
                     : code == 410 ? " (the list changed while it was read page by page)"
                                   : "";
  snprintf(detail, size, "HTTP %ld%s%s%s", code, hint, msg[0] ? ": " : "", msg);
  switch (code) {
    case 401:
    case 403: return AKT_EREFUSED;
    case 404: return AKT_ENOENT;
    default: return AKT_EBACKEND;
  }
}

/* Sets what every request of a list shares. Returns 0 or a code. */
static int prepare(const k8s_disc *p, CURL *c, struct curl_slist **headers, body *b,
                   char *errbuf, k8s_result *r) {
  char auth[AKT__K8S_TOKEN_MAX + 32];
  if (p->token_path[0]) {
    char *token = malloc(AKT__K8S_TOKEN_MAX);
    int err = token ? read_small(p->token_path, token, AKT__K8S_TOKEN_MAX) : ENOMEM;
    if (!err) snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    free(token);
    if (err) {
      snprintf(r->detail, sizeof r->detail, "cannot read the token file %s: %s", p->token_path,
               strerror(err));
      return AKT_EBACKEND;
    }
    *headers = curl_slist_append(*headers, auth);
  }
  struct curl_slist *h = curl_slist_append(*headers, "Accept: application/json");
  if (!h) return AKT_ENOMEM;
  *headers = h;
  if (!strncmp(p->api_url, "https:", 6)) {
    if (access(p->ca_path, R_OK) != 0) {
      snprintf(r->detail, sizeof r->detail, "cannot read the CA file %s: %s", p->ca_path,
               strerror(errno));
      return AKT_EBACKEND;
    }
    curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_path);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, ""); /* the API server is in the cluster: no proxy */
  return 0;
}

/* 1 while lookup `gen` still wants an answer. */
static int wanted(k8s_disc *p, uint64_t gen) {
  akt__dkit_lock(&p->k);
  int live = akt__dkit_current(&p->k, gen);
  akt__dkit_unlock(&p->k);
  return live;
}

/* Lists the pods, page by page, until `deadline` (the backend's clock),
 * while lookup `gen` wants them. */
static void list_pods(k8s_disc *p, uint64_t gen, akt_backend *be, uint64_t deadline,
                      k8s_result *r) {
  CURL *c = curl_easy_init();
  struct curl_slist *headers = NULL;
  body b = {0};
  char errbuf[CURL_ERROR_SIZE];
  char *url = malloc(AKT__K8S_URL_BUF);
  char *next = malloc(3 * AKT__K8S_CONTINUE_MAX);
  akt__k8s_page *page = malloc(sizeof *page);
  if (!c || !url || !next || !page) {
    r->status = AKT_ENOMEM;
    snprintf(r->detail, sizeof r->detail, "out of memory");
    goto out;
  }
  errbuf[0] = '\0';
  next[0] = '\0';
  if ((r->status = prepare(p, c, &headers, &b, errbuf, r))) goto out;
  for (unsigned n = 0; wanted(p, gen); n++) {
    if (n == AKT__K8S_MAX_PAGES) {
      r->status = AKT_ELIMIT;
      snprintf(r->detail, sizeof r->detail, "the pod list has more than %d pages of %u",
               AKT__K8S_MAX_PAGES, p->page_size);
      break;
    }
    uint64_t now = be->ops->now(be);
    if (now >= deadline) {
      r->status = AKT_ETIMEDOUT;
      snprintf(r->detail, sizeof r->detail, "the pod list was not read whole in time (%u pages)", n);
      break;
    }
    snprintf(url, AKT__K8S_URL_BUF, "%s/api/v1/namespaces/%s/pods?labelSelector=%s&limit=%u%s%s",
             p->api_url, p->ns, p->selector, p->page_size, next[0] ? "&continue=" : "", next);
    curl_easy_setopt(c, CURLOPT_URL, url);
    long ms = (long)((deadline - now) / 1000000u);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    b.len = 0;
    b.over = 0;
    errbuf[0] = '\0';
    r->requests++;
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
      r->status = transfer_error(cc, &b, errbuf, r->detail, sizeof r->detail);
      break;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
      r->status = http_error(code, &b, r->detail, sizeof r->detail);
      break;
    }
    page->addrs = r->addrs + r->n;
    page->cap = AKT_DISCOVERY_MAX_ADDRS - r->n;
    char why[AKT__K8S_ERROR_MAX];
    if (akt__k8s_parse_pods(b.data ? b.data : "", b.len, p->port_name[0] ? p->port_name : NULL,
                            p->port, page, why, sizeof why)) {
      r->status = AKT_EPROTO;
      snprintf(r->detail, sizeof r->detail, "the pod list: %s", why);
      break;
    }
    r->n += page->n;
    r->over += page->over;
    r->skipped += page->skipped;
    if (!page->next[0]) break;
    if (url_encode(page->next, next, 3 * AKT__K8S_CONTINUE_MAX)) {
      r->status = AKT_EPROTO;
      snprintf(r->detail, sizeof r->detail, "a continue token too long to send back");
      break;
    }
  }
out:
  free(page);
  free(next);
  free(url);
  free(b.data);
  curl_slist_free_all(headers);
  if (c) curl_easy_cleanup(c);
}

static void deliver(void *arg, uint64_t gen) {
  akt__dkit *k = arg;
  k8s_disc *p = k->d.impl;
  akt__dkit_answer ans = {0};
  akt__dkit_lock(k);
  if (k->gen == gen) p->deliver_timer = 0;
  if (akt__dkit_current(k, gen)) {
    if (p->job_status)
      akt__dkit_fail(k, p->job_status, p->job_detail, &ans);
    else
      akt__dkit_seal(k, &ans);
  }
  akt__dkit_release(k, &ans);
}

/* The offloaded work: one list, handed to the lookup if it still wants it. */
static void fetch(void *arg) {
  k8s_job *j = arg;
  k8s_disc *p = j->p;
  akt__dkit *k = &p->k;
  akt__dkit_lock(k);
  int live = akt__dkit_current(k, j->gen);
  uint64_t deadline = k->b->ops->now(k->b) + p->timeout;
  akt__dkit_unlock(k);
  k8s_result *r = live ? calloc(1, sizeof *r) : NULL;
  if (live && r) list_pods(p, j->gen, k->b, deadline, r);
  akt__dkit_lock(k);
  if (r) {
    k->stats.requests += r->requests;
    k->stats.records_skipped += r->skipped;
    k->stats.addrs_dropped += r->over;
  }
  if (akt__dkit_current(k, j->gen)) {
    p->job_status = r ? r->status : AKT_ENOMEM;
    snprintf(p->job_detail, sizeof p->job_detail, "%s", r ? r->detail : "out of memory");
    for (size_t i = 0; r && i < r->n; i++) akt__dkit_add(k, r->addrs[i].host, r->addrs[i].port);
    /* The answer belongs on the I/O context: a timer takes it there (a
     * stale one, of a lookup that timed out, gives way). If the backend
     * is stopping, the lookup never answers: nobody waits for it. */
    akt__dkit_timer_cancel(k, &p->deliver_timer);
    akt__dkit_timer(k, 0, deliver, j->gen, &p->deliver_timer);
  }
  free(r);
  free(j);
  akt__dkit_release(k, NULL);
}

/* ---- ops ------------------------------------------------------------------------------------ */

static int lookup(akt_discovery *d, akt_backend *b, akt_discovery_fn cb, void *arg) {
  k8s_disc *p = d->impl;
  akt__dkit *k = &p->k;
  akt__dkit_lock(k);
  int rc = akt__dkit_begin(k, b, cb, arg);
  if (rc) goto out;
  if (!b->ops->offload) {
    rc = AKT_ENOTSUP;
  } else {
    k8s_job *j = malloc(sizeof *j);
    rc = AKT_ENOMEM;
    if (j) {
      *j = (k8s_job){.p = p, .gen = k->gen};
      akt__dkit_ref(k);
      rc = b->ops->offload(b, fetch, j);
      if (rc) {
        akt__dkit_unref(k);
        free(j);
      }
    }
  }
  if (rc) akt__dkit_abort(k);
out:
  akt__dkit_unlock(k);
  return rc;
}

static void cancel(akt_discovery *d, akt_backend *b) {
  (void)b;
  k8s_disc *p = d->impl;
  akt__dkit_lock(&p->k);
  akt__dkit_abort(&p->k);
  if (p->k.b) akt__dkit_timer_cancel(&p->k, &p->deliver_timer);
  akt__dkit_unlock(&p->k);
}

static void k8s_free(akt_discovery *d) {
  cancel(d, NULL);
  akt__dkit_op_free(d);
}

static void destroy(akt__dkit *k) {
  k8s_disc *p = k->d.impl;
  akt__dkit_fini(k);
  free(p);
  curl_global_cleanup();
}

static const akt_discovery_ops k8s_ops = {
    .name = "kubernetes",
    .lookup = lookup,
    .cancel = cancel,
    .free = k8s_free,
    .stats = akt__dkit_op_stats,
};

/* ---- creation ------------------------------------------------------------------------------- */

static int copy(char *out, size_t size, const char *s) {
  size_t n = strnlen(s, size);
  if (n == size) return AKT_EINVAL;
  memcpy(out, s, n + 1);
  return 0;
}

/* The in-cluster API URL from the variables Kubernetes sets in a pod. */
static int api_from_env(char *out, size_t size) {
  const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) return AKT_EINVAL;
  int v6 = strchr(host, ':') != NULL;
  int n = snprintf(out, size, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
  return n > 0 && (size_t)n < size ? 0 : AKT_EINVAL;
}

static int configure(k8s_disc *p, const akt_k8s_discovery_options *o) {
  if (!o->label_selector || !o->label_selector[0] ||
      strnlen(o->label_selector, AKT_K8S_SELECTOR_MAX) == AKT_K8S_SELECTOR_MAX ||
      url_encode(o->label_selector, p->selector, sizeof p->selector))
    return AKT_EINVAL;
  if (o->port_name) {
    if (!o->port_name[0] || copy(p->port_name, sizeof p->port_name, o->port_name)) return AKT_EINVAL;
  } else if (!o->port) {
    return AKT_EINVAL;
  }
  p->port = o->port;
  if (o->api_url ? copy(p->api_url, sizeof p->api_url, o->api_url)
                 : api_from_env(p->api_url, sizeof p->api_url))
    return AKT_EINVAL;
  size_t ul = strlen(p->api_url);
  if (ul && p->api_url[ul - 1] == '/') p->api_url[ul - 1] = '\0';
  if (strncmp(p->api_url, "https://", 8) && strncmp(p->api_url, "http://", 7)) return AKT_EINVAL;
  if (o->ns) {
    if (copy(p->ns, sizeof p->ns, o->ns)) return AKT_EINVAL;
  } else {
    const char *path = o->namespace_path ? o->namespace_path : AKT_K8S_SERVICE_ACCOUNT "/namespace";
    if (read_small(path, p->ns, sizeof p->ns)) return AKT_EINVAL;
  }
  if (!akt__dkit_dns_label(p->ns)) return AKT_EINVAL;
  if (copy(p->token_path, sizeof p->token_path,
           o->token_path ? o->token_path : AKT_K8S_SERVICE_ACCOUNT "/token") ||
      copy(p->ca_path, sizeof p->ca_path, o->ca_path ? o->ca_path : AKT_K8S_SERVICE_ACCOUNT "/ca.crt"))
    return AKT_EINVAL;
  p->timeout = o->timeout ? o->timeout : AKT_K8S_DEFAULT_TIMEOUT;
  p->page_size = o->page_size ? o->page_size : AKT_K8S_DEFAULT_PAGE_SIZE;
  return 0;
}

int akt_discovery_kubernetes_new(const akt_k8s_discovery_options *o, akt_discovery **out) {
  if (!o || !out) return AKT_EINVAL;
  k8s_disc *p = calloc(1, sizeof *p);
  if (!p) return AKT_ENOMEM;
  int rc = configure(p, o);
  if (!rc && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) rc = AKT_EBACKEND;
  if (rc) {
    free(p);
    return rc;
  }
  if (akt__dkit_init(&p->k, "kubernetes", &k8s_ops, p, p->timeout + AKT__K8S_GRACE, destroy)) {
    curl_global_cleanup();
    free(p);
    return AKT_ENOMEM;
  }
  *out = &p->k.d;
  return 0;
}
