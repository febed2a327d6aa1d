/* An HTTP/1.1 server on 127.0.0.1 for tests: a thread that answers each
 * request from a route function (status and body), one connection at a
 * time, "Connection: close". It keeps the last request's target and
 * Authorization header, and can hold answers until the test lets them go
 * (a slow API server). Plain sockets: tests are outside the seam. */
#ifndef AKT_TESTS_TRANSPORT_HTTP_TEST_SERVER_H
#define AKT_TESTS_TRANSPORT_HTTP_TEST_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTS_REQUEST_MAX 16384

/* Answers `target` ("/api/v1/...?..."): writes the status and points *body
 * at the answer (static or owned by arg). */
typedef void (*hts_route_fn)(const char *target, int *status, const char **body, void *arg);

typedef struct hts {
  int fd;
  uint16_t port;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int hold;                 /* answers wait while set */
  int requests;
  char target[HTS_REQUEST_MAX];
  char auth[HTS_REQUEST_MAX];
  hts_route_fn route;
  void *arg;
} hts;

/* The value of header `name` (case-insensitive) in req, copied to out. */
static void hts_header(const char *req, const char *name, char *out, size_t size) {
  out[0] = '\0';
  size_t nl = strlen(name);
  for (const char *line = strstr(req, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    const char *h = line + 2;
    if (!strncasecmp(h, name, nl) && h[nl] == ':') {
      h += nl + 1;
      while (*h == ' ') h++;
      const char *end = strstr(h, "\r\n");
      size_t n = end ? (size_t)(end - h) : strlen(h);
      if (n >= size) n = size - 1;
      memcpy(out, h, n);
      out[n] = '\0';
      return;
    }
  }
}

static void hts_serve(hts *s, int c) {
  char req[HTS_REQUEST_MAX];
  size_t n = 0;
  while (n + 1 < sizeof req) {
    ssize_t got = recv(c, req + n, sizeof req - 1 - n, 0);
    if (got <= 0) return;
    n += (size_t)got;
    req[n] = '\0';
    if (strstr(req, "\r\n\r\n")) break;
  }
  char method[16], target[HTS_REQUEST_MAX];
  if (sscanf(req, "%15s %16383s", method, target) != 2) return;
  pthread_mutex_lock(&s->mu);
  s->requests++;
  snprintf(s->target, sizeof s->target, "%s", target);
  hts_header(req, "Authorization", s->auth, sizeof s->auth);
  pthread_cond_broadcast(&s->cv);
  while (s->hold && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  int status = 404;
  const char *body = "{}";
  s->route(target, &status, &body, s->arg);
  char head[256];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n",
                    status, strlen(body));
  send(c, head, (size_t)hn, MSG_NOSIGNAL);
  send(c, body, strlen(body), MSG_NOSIGNAL);
}

static void *hts_main(void *arg) {
  hts *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    if (stop) break;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    /* A short poll only bounds how long stopping takes. */
    if (poll(&p, 1, 50) <= 0) continue;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) continue;
    hts_serve(s, c);
    close(c);
  }
  return NULL;
}

static inline void hts_start(hts *s, hts_route_fn route, void *arg) {
  memset(s, 0, sizeof *s);
  s->route = route;
  s->arg = arg;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s->fd >= 0);
  int one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s->fd, 16), 0);
  socklen_t alen = sizeof a;
  assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, hts_main, s), 0);
}

static inline void hts_set_hold(hts *s, int hold) {
  pthread_mutex_lock(&s->mu);
  s->hold = hold;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Waits (deadline-bounded, for a hang only) until `n` requests came. */
static inline int hts_wait_requests(hts *s, int n) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&s->mu);
  int rc = 0;
  while (rc == 0 && s->requests < n) rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
  int got = s->requests;
  pthread_mutex_unlock(&s->mu);
  return got >= n;
}

static inline void hts_stop(hts *s) {
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  close(s->fd);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
}

#endif
