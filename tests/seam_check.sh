#!/bin/sh
# The seam test (DESIGN §2): the objects of a library reference none of the
# symbols through which nondeterminism enters — clocks, random numbers,
# threads, sockets, name resolution, libuv. Usage:
#   seam_check.sh NM ARCHIVE [--expect-violations]
# With --expect-violations the check must find some (a control run against
# the production backend, proving the check can fail).
set -u
nm_tool=$1
archive=$2
mode=${3:-}

forbidden='^(time|clock_gettime|clock_getres|gettimeofday|clock|timespec_get|ftime|rand|rand_r|random|srand|srandom|drand48|lrand48|mrand48|erand48|getrandom|getentropy|arc4random|pthread_create|thrd_create|fork|sleep|usleep|nanosleep|getaddrinfo|gethostbyname|getnameinfo|__res_ninit|res_ninit|res_n?query|res_n?search|__dn_expand|dn_expand|curl_.*|socket|connect|bind|listen|accept|accept4|epoll_create1?|epoll_wait|select|poll|uv_.*)$'

undefined=$("$nm_tool" -u "$archive" 2>/dev/null | awk '$1 == "U" { print $2 }' | sed 's/@.*//' | sort -u)
if [ -z "$undefined" ]; then
  echo "seam: no undefined symbols read from $archive (is nm working?)" >&2
  exit 2
fi
violations=$(printf '%s\n' "$undefined" | grep -E "$forbidden" || true)

if [ "$mode" = "--expect-violations" ]; then
  if [ -z "$violations" ]; then
    echo "seam control: expected forbidden symbols in $archive, found none" >&2
    exit 1
  fi
  echo "seam control: $archive references, as it should:" $violations
  exit 0
fi
if [ -n "$violations" ]; then
  echo "seam: $archive references forbidden symbols:" >&2
  printf '  %s\n' $violations >&2
  exit 1
fi
echo "seam: $archive is clean ($(printf '%s\n' "$undefined" | wc -l) undefined symbols checked)"
