/* akt — names and descriptions of the AKT_E* codes. */
#include "akt/error.h"

typedef struct {
  int code;
  const char *name;
  const char *text;
} akt__errinfo;

static const akt__errinfo errinfo[] = {
    {AKT_OK, "AKT_OK", "success"},
    {AKT_EINVAL, "AKT_EINVAL", "invalid argument"},
    {AKT_ENOMEM, "AKT_ENOMEM", "out of memory"},
    {AKT_EEXIST, "AKT_EEXIST", "name already taken"},
    {AKT_ENOENT, "AKT_ENOENT", "no such entry"},
    {AKT_ESTOPPED, "AKT_ESTOPPED", "actor or system stopped"},
    {AKT_ETIMEDOUT, "AKT_ETIMEDOUT", "timed out"},
    {AKT_EUNHANDLED, "AKT_EUNHANDLED", "message not handled"},
    {AKT_EFULL, "AKT_EFULL", "queue full"},
    {AKT_ENOSENDER, "AKT_ENOSENDER", "no sender to reply to"},
    {AKT_ELIMIT, "AKT_ELIMIT", "limit exceeded"},
    {AKT_ENOTSUP, "AKT_ENOTSUP", "operation not supported"},
    {AKT_ENAME, "AKT_ENAME", "malformed name or path"},
    {AKT_ESTATE, "AKT_ESTATE", "invalid in the current state"},
    {AKT_EPROTO, "AKT_EPROTO", "protocol error"},
    {AKT_ECLOSED, "AKT_ECLOSED", "connection closed"},
    {AKT_EBACKEND, "AKT_EBACKEND", "backend error"},
    {AKT_EFAILED, "AKT_EFAILED", "actor failed"},
    {AKT_ECANCELED, "AKT_ECANCELED", "canceled"},
    {AKT_EUNREACH, "AKT_EUNREACH", "unreachable"},
    {AKT_EREFUSED, "AKT_EREFUSED", "refused"},
    {AKT_EKILLED, "AKT_EKILLED", "killed"},
};

static const akt__errinfo *lookup(int code) {
  if (code > 0 || code < AKT_ELAST) return 0;
  return &errinfo[-code];
}

const char *akt_strerror(int code) {
  const akt__errinfo *e = lookup(code);
  return e ? e->text : "unknown error";
}

const char *akt_errname(int code) {
  const akt__errinfo *e = lookup(code);
  return e ? e->name : "AKT_E?";
}
