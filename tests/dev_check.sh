#!/bin/sh
# ./dev keeps stdout for its target's output: `./dev bench --tsv > file` is
# only the table, even when ./dev installs packages first (apt-get's output
# goes to stderr) and when akt-bench reports progress (one line per
# workload when stderr is not a terminal; '\r' only on a terminal).
#   dev_check.sh SOURCE_ROOT BUILD_DIR
# The packages are "installed" by stubs on PATH: dpkg-query says nothing is
# installed, apt-get prints what apt-get prints, on stdout.
set -u
root=$1
build=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail() {
  printf '%s\n' "dev-output: $*" >&2
  for f in out err tty; do
    [ -s "$tmp/$f" ] || continue
    printf '%s\n' "--- $f" >&2
    cat -A "$tmp/$f" | head -n 40 >&2
  done
  exit 1
}

mkdir "$tmp/bin"
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/dpkg-query"
printf '#!/bin/sh\necho "Reading package lists... Done (stub apt-get $*)"\nexit 0\n' >"$tmp/bin/apt-get"
printf '#!/bin/sh\nexec "$@"\n' >"$tmp/bin/sudo"
chmod +x "$tmp/bin/dpkg-query" "$tmp/bin/apt-get" "$tmp/bin/sudo"

# ./dev build: nothing on stdout at all.
PATH="$tmp/bin:$PATH" AKT_BUILD_DIR="$build" "$root/dev" build >"$tmp/out" 2>"$tmp/err" ||
  fail "./dev build failed"
[ ! -s "$tmp/out" ] || fail "./dev build wrote to stdout"
grep -q 'stub apt-get install' "$tmp/err" || fail "the package install did not happen (or not on stderr)"

# ./dev bench --tsv: only rows of workload, runtime, metric, value.
PATH="$tmp/bin:$PATH" AKT_BUILD_DIR="$build" "$root/dev" bench --tsv --quick --only spawn \
  >"$tmp/out" 2>"$tmp/err" || fail "./dev bench failed"
grep -q 'stub apt-get install' "$tmp/err" || fail "the package install did not happen (or not on stderr)"
tab=$(printf '\t')
bad=$(grep -v -E "^[a-z-]+${tab}[a-z0-9-]+${tab}[a-z_]+${tab}[0-9]+\.[0-9]$" "$tmp/out")
[ -z "$bad" ] || fail "stdout has lines that are not table rows: $bad"
grep -q "^spawn${tab}akt${tab}" "$tmp/out" || fail "no spawn row for akt"
grep -q "^spawn${tab}akt-1w${tab}" "$tmp/out" || fail "no spawn row for akt-1w"
cr=$(printf '\r')
! grep -q "$cr" "$tmp/err" || fail "progress on a non-terminal stderr uses carriage returns"
grep -q '^akt-bench: spawn on akt: a warm-up and 1 run(s)$' "$tmp/err" ||
  fail "no progress line for spawn on akt"

# On a terminal the progress line is rewritten in place.
if command -v script >/dev/null 2>&1; then
  script -qec "$build/bench/akt-bench --quick --only spawn --runtime akt" /dev/null \
    >"$tmp/tty" 2>&1 </dev/null || fail "akt-bench on a terminal failed"
  grep -q "warm-up   $cr" "$tmp/tty" || fail "no in-place progress on a terminal"
else
  echo "dev-output: no script(1): the terminal case is not checked"
fi
echo "dev-output: ./dev build and ./dev bench --tsv keep stdout for their output"
