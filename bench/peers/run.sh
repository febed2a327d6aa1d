#!/bin/sh
# Builds and runs akt's peer benchmarks: the same workloads on CAF 0.17 and
# on Erlang/OTP, and membership-detect-real on hashicorp's memberlist, so
# that akt's numbers have something to be read against.
#
#   sh bench/peers/run.sh BUILD_DIR [--quick] [--reps N] [--only W1,W2,...]
#
# Compiles caf/caf_bench.cpp and erlang/erlang_bench.erl into BUILD_DIR
# (again only when a source is newer than what it built), runs
# both (Erlang twice: the local workloads, then remote-tell and remote-ask
# between two distributed nodes on loopback, for which it starts epmd if
# none runs and stops it afterwards), and prints only their result lines on
# stdout,
#   workload<TAB>runtime<TAB>metric<TAB>value
# Each workload runs once as a warm-up, then 5 times (--quick: once, with a
# tenth of the operations; --reps N: N times), and its median is the row.
# --only runs only the workloads it names (akt-bench's names; others are
# ignored).
# with progress and diagnostics on stderr. A peer that cannot be built or
# run gets one line on stderr saying why, and its rows are absent (the
# caller prints n/a for them). The script does not install anything: the
# peers need the Debian packages g++, libcaf-dev, erlang-base, golang-go
# and golang-github-hashicorp-memberlist-dev. It exits
# 0 when it could do its own work, whatever the peers did; 2 on bad
# arguments or an unusable BUILD_DIR.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)

say() { printf '%s\n' "peers: $*" >&2; }

usage() {
  printf '%s\n' "usage: sh bench/peers/run.sh BUILD_DIR [--quick] [--reps N] [--only W1,W2,...]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
BUILD=$1
shift
QUICK=""
REPS=""
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --reps)
      [ $# -ge 2 ] || usage
      case "$2" in '' | *[!0-9]*) usage ;; esac
      if [ "$2" -lt 1 ] || [ "$2" -gt 1000 ]; then usage; fi
      REPS=$2
      shift
      ;;
    --only)
      [ $# -ge 2 ] || usage
      ONLY=",$2,"
      shift
      ;;
    *) usage ;;
  esac
  shift
done

# The workloads of list $@ that --only selects (all without --only).
pick() {
  for w in "$@"; do
    case "$ONLY" in "" | *",$w,"*) printf '%s ' "$w" ;; esac
  done
}
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
ROW="^((tell|pingpong|request|ask|fanin|spawn|memory|threadring|remote-tell|remote-ask)${TAB}(caf|erlang)|membership-detect-real${TAB}memberlist)${TAB}[a-z_]+${TAB}[0-9]+(\\.[0-9]+)?\$"
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

# Is build output $1 missing, or older than its source $2?
stale() {
  [ ! -f "$1" ] || [ -n "$(find "$2" -newer "$1")" ]
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
  if stale "$BUILD/caf_bench" "$HERE/caf/caf_bench.cpp"; then
    say "caf: compiling"
    # Debian's libcaf-dev has no pkg-config file; the headers are in the
    # default include path and libcaf_core.so in the default library path.
    if ! "$CXX" -O2 -std=c++17 -o "$BUILD/caf_bench" "$HERE/caf/caf_bench.cpp" \
        -lcaf_core -pthread 2>"$BUILD/caf_build.log"; then
      rm -f "$BUILD/caf_bench"
      say "caf: compilation failed (see $BUILD/caf_build.log)"
      return
    fi
  fi
  flag="${QUICK:+--quick}${REPS:+ --reps $REPS}"
  # `memory` runs in a process of its own: it limits malloc to one arena,
  # which the other workloads should not run under.
  todo=$(pick tell pingpong request ask fanin spawn)
  # shellcheck disable=SC2086
  [ -n "$todo" ] && run_peer caf "$BUILD/caf_bench" $flag $todo
  # shellcheck disable=SC2086
  [ -n "$(pick memory)" ] && run_peer caf-memory "$BUILD/caf_bench" $flag memory
  # shellcheck disable=SC2086
  [ -n "$(pick threadring)" ] && run_peer caf-threadring "$BUILD/caf_bench" $flag threadring
}

# -- Erlang -------------------------------------------------------------------

run_erlang() {
  if ! command -v erlc >/dev/null 2>&1 || ! command -v erl >/dev/null 2>&1; then
    say "erlang: erl/erlc not found; install erlang-base"
    return
  fi
  beam="$BUILD/erlang_bench.beam"
  if stale "$beam" "$HERE/erlang/erlang_bench.erl"; then
    say "erlang: compiling"
    if ! erlc -o "$BUILD" "$HERE/erlang/erlang_bench.erl" >"$BUILD/erlang_build.log" 2>&1; then
      rm -f "$beam"
      say "erlang: compilation failed (see $BUILD/erlang_build.log)"
      return
    fi
  fi
  mode=full
  [ -n "$QUICK" ] && mode=quick
  # erl would read "--reps" as a flag of its own: the program takes reps=N.
  [ -n "$REPS" ] && mode="$mode reps=$REPS"
  # Not distributed: every workload but the remote ones.
  todo=$(pick tell pingpong request ask fanin spawn memory threadring)
  # shellcheck disable=SC2086
  [ -n "$todo" ] && run_peer erlang erl -noshell -pa "$BUILD" -run erlang_bench main $mode $todo
  todo=$(pick remote-tell remote-ask)
  [ -n "$todo" ] || return
  # Erlang distribution: node A here (it starts node B with the peer
  # module), named on 127.0.0.1 so that no DNS is involved, with a cookie
  # of this run's own.
  ensure_epmd || return
  cookie="akt_bench_$$_$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')"
  # shellcheck disable=SC2086
  run_peer erlang-remote erl -noshell -start_epmd false -name "akt_bench_a_$$@127.0.0.1" \
    -setcookie "$cookie" -pa "$BUILD" -run erlang_bench main $mode $todo
}

# -- memberlist -----------------------------------------------------------------

# membership-detect-real on hashicorp's memberlist, built offline in GOPATH
# mode against Debian's packages (the Go build cache goes into BUILD).
run_memberlist() {
  [ -n "$(pick membership-detect-real)" ] || return
  if ! command -v go >/dev/null 2>&1; then
    say "memberlist: go not found; install golang-go"
    return
  fi
  gopath=/usr/share/gocode
  if [ ! -d "$gopath/src/github.com/hashicorp/memberlist" ]; then
    say "memberlist: sources not found ($gopath); install golang-github-hashicorp-memberlist-dev"
    return
  fi
  bin="$BUILD/memberlist_bench"
  src="$HERE/memberlist/memberlist_bench.go"
  if stale "$bin" "$src"; then
    say "memberlist: compiling"
    if ! (cd "$HERE/memberlist" && GO111MODULE=off GOPATH=$gopath GOCACHE="$BUILD/go-cache" \
        GOFLAGS='' go build -o "$bin" memberlist_bench.go) >"$BUILD/memberlist_build.log" 2>&1; then
      rm -f "$bin"
      say "memberlist: compilation failed (see $BUILD/memberlist_build.log)"
      return
    fi
  fi
  # shellcheck disable=SC2086
  run_peer memberlist "$bin" ${QUICK:+--quick} ${REPS:+--reps $REPS} membership-detect-real
}

# epmd, the Erlang port mapper, must run for distributed nodes to find each
# other. One that already runs is used as it is; one this script starts it
# also stops (on any exit), after its nodes are gone.
EPMD_STARTED=""
ensure_epmd() {
  epmd -names >/dev/null 2>&1 && return 0
  if ! command -v epmd >/dev/null 2>&1; then
    say "erlang: epmd not found; the remote rows are absent"
    return 1
  fi
  if ! epmd -daemon; then
    say "erlang: could not start epmd; the remote rows are absent"
    return 1
  fi
  EPMD_STARTED=1
  i=0
  while ! epmd -names >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 50 ]; then
      say "erlang: epmd did not answer within 5 s; the remote rows are absent"
      return 1
    fi
    sleep 0.1
  done
}
stop_epmd() {
  if [ -n "$EPMD_STARTED" ]; then
    epmd -kill >/dev/null 2>&1
    EPMD_STARTED=""
  fi
}
trap stop_epmd EXIT
trap 'exit 130' INT TERM

run_caf
run_erlang
run_memberlist
exit 0
