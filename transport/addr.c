/* akt production backend — addresses and error codes. */
#include "transport/addr.h"

#include <arpa/inet.h>
#include <string.h>
#include <uv.h>

#include "akt/error.h"

int akt__uv_addr_parse(const akt_addr *a, struct sockaddr_storage *out) {
  char host[AKT_HOST_MAX];
  size_t n = strnlen(a->host, sizeof a->host);
  if (n == sizeof a->host) return AKT_EINVAL; /* not NUL-terminated */
  memcpy(host, a->host, n + 1);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    memmove(host, host + 1, n - 2);
    host[n - 2] = '\0';
  }
  memset(out, 0, sizeof *out);
  const char *h = host[0] != '\0' ? host : "0.0.0.0";
  if (uv_ip4_addr(h, a->port, (struct sockaddr_in *)out) == 0) return 0;
  if (uv_ip6_addr(h, a->port, (struct sockaddr_in6 *)out) == 0) return 0;
  return AKT_EINVAL;
}

int akt__uv_addr_format(const struct sockaddr *sa, akt_addr *out) {
  memset(out, 0, sizeof *out);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    out->port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    out->port = ntohs(in6->sin6_port);
  } else {
    return AKT_EINVAL;
  }
  return uv_ip_name(sa, out->host, sizeof out->host) == 0 ? 0 : AKT_EINVAL;
}

int akt__uv_err(int status) {
  switch (status) {
    case 0: return 0;
    case UV_ECONNREFUSED: return AKT_EREFUSED;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EADDRNOTAVAIL:
    case UV_ENETDOWN:
    case UV_EHOSTDOWN: return AKT_EUNREACH;
    case UV_ETIMEDOUT: return AKT_ETIMEDOUT;
    case UV_EOF:
    case UV_ECONNRESET:
    case UV_ECONNABORTED:
    case UV_EPIPE: return AKT_ECLOSED;
    case UV_EADDRINUSE: return AKT_EEXIST;
    case UV_ENOMEM:
    case UV_ENOBUFS: return AKT_ENOMEM;
    case UV_EINVAL: return AKT_EINVAL;
    case UV_ECANCELED: return AKT_ECANCELED;
    case UV_EAFNOSUPPORT: return AKT_ENOTSUP;
    default: return AKT_EBACKEND;
  }
}

int akt__uv_connect_err(int status) {
  int rc = akt__uv_err(status);
  if (rc == AKT_EREFUSED || rc == AKT_ETIMEDOUT) return rc;
  return AKT_EUNREACH;
}

int akt__uv_bind_err(int status) {
  switch (status) {
    case UV_EADDRINUSE: return AKT_EEXIST;
    case UV_EADDRNOTAVAIL:
    case UV_EINVAL: return AKT_EINVAL;
    case UV_EAFNOSUPPORT: return AKT_ENOTSUP;
    default: return AKT_EBACKEND;
  }
}
