#!/bin/sh
# Builds and runs akt's peer benchmarks: the same workloads on CAF 0.17 and
# on Erlang/OTP, so that akt's numbers have something to be read against.
#
#   sh bench/peers/run.sh BUILD_DIR [--quick]
#
# Compiles caf/caf_bench.cpp and erlang/erlang_bench.erl into BUILD_DIR, runs
# both, and prints only their result lines on stdout,
#   workload<TAB>runtime<TAB>metric<TAB>value
# with progress and diagnostics on stderr. A peer that cannot be built or
# run gets one line on stderr saying why, and its rows are absent (the
# caller prints n/a for them). The script does not install anything: the
# peers need the Debian packages g++, libcaf-dev and erlang-base. It exits
# 0 when it could do its own work, whatever the peers did; 2 on bad
# arguments or an unusable BUILD_DIR.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)

say() { printf '%s\n' "peers: $*" >&2; }

usage() {
  printf '%s\n' "usage: sh bench/peers/run.sh BUILD_DIR [--quick]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
BUILD=$1
QUICK=""
case "${2:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) usage ;;
esac
[ $# -le 2 ] || usage
mkdir -p "$BUILD" || { say "cannot create $BUILD"; exit 2; }
BUILD=$(cd "$BUILD" && pwd)

# A hung peer must not hang the caller: every run gets a ceiling well above
# its expected time (coreutils' timeout, present on Debian).
LIMIT=900
if command -v timeout >/dev/null 2>&1; then
  limited() { timeout "$LIMIT" "$@"; }
else
  limited() { "$@"; }
fi

# Passes on the result lines of output file $1 and sends anything else a
# peer may have printed on its stdout to stderr, so that stdout holds rows
# only.
TAB=$(printf '\t')
ROW="^(tell|pingpong|request|ask|fanin|spawn|memory|threadring)${TAB}(caf|erlang)${TAB}[a-z_]+${TAB}[0-9]+(\\.[0-9]+)?\$"
emit_rows() {
  grep -E "$ROW" "$1"
  grep -vE "$ROW" "$1" | sed 's/^/peers: unexpected output: /' >&2
}

# Runs one peer command ("$@"), its rows to stdout; reports a failure.
run_peer() {
  name=$1
  shift
  out="$BUILD/$name.out"
  limited "$@" >"$out"
  rc=$?
  emit_rows "$out"
  case $rc in
    0) ;;
    124) say "$name: killed after ${LIMIT} s; rows it had not printed are absent" ;;
    *) say "$name: exited with status $rc; rows it had not printed are absent" ;;
  esac
}

# -- CAF ----------------------------------------------------------------------

run_caf() {
  CXX=${CXX:-g++}
  if ! command -v "$CXX" >/dev/null 2>&1; then
    say "caf: no C++ compiler ($CXX); install g++"
    return
  fi
  if [ ! -f /usr/include/caf/all.hpp ]; then
    say "caf: CAF headers not found (/usr/include/caf); install libcaf-dev"
    return
  fi
  say "caf: compiling"
  # Debian's libcaf-dev has no pkg-config file; the headers are in the
  # default include path and libcaf_core.so in the default library path.
  if ! "$CXX" -O2 -std=c++17 -o "$BUILD/caf_bench" "$HERE/caf/caf_bench.cpp" \
      -lcaf_core -pthread 2>"$BUILD/caf_build.log"; then
    say "caf: compilation failed (see $BUILD/caf_build.log)"
    return
  fi
  flag=${QUICK:+--quick}
  # `memory` runs in a process of its own: it limits malloc to one arena,
  # which the other workloads should not run under.
  # shellcheck disable=SC2086
  run_peer caf "$BUILD/caf_bench" $flag tell pingpong request ask fanin spawn
  # shellcheck disable=SC2086
  run_peer caf-memory "$BUILD/caf_bench" $flag memory
  # shellcheck disable=SC2086
  run_peer caf-threadring "$BUILD/caf_bench" $flag threadring
}

# -- Erlang -------------------------------------------------------------------

run_erlang() {
  if ! command -v erlc >/dev/null 2>&1 || ! command -v erl >/dev/null 2>&1; then
    say "erlang: erl/erlc not found; install erlang-base"
    return
  fi
  say "erlang: compiling"
  if ! erlc -o "$BUILD" "$HERE/erlang/erlang_bench.erl" >"$BUILD/erlang_build.log" 2>&1; then
    say "erlang: compilation failed (see $BUILD/erlang_build.log)"
    return
  fi
  mode=full
  [ -n "$QUICK" ] && mode=quick
  run_peer erlang erl -noshell -pa "$BUILD" -run erlang_bench main "$mode"
}

run_caf
run_erlang
exit 0
