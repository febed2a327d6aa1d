#!/bin/sh
# The remote-ping example as a test: pong on a free port (port 0; its first
# line of stdout is its address), listening on 0.0.0.0 and advertising
# 127.0.0.1; ping against it with --count 100 --stop; both must exit 0
# within their time limits. Then ping again, with pong gone: it must fail
# saying the connection was refused.
#   sh test_remote_ping.sh PATH/TO/akt-remote-ping
set -u

EXE=$1
DIR=$(mktemp -d) || exit 1
PONG=""

cleanup() {
  if [ -n "$PONG" ] && kill -0 "$PONG" 2>/dev/null; then
    kill -KILL "$PONG" 2>/dev/null
    wait "$PONG" 2>/dev/null
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  printf '%s\n' "example-remote-ping: $*" >&2
  for f in "$DIR"/*; do
    [ -f "$f" ] || continue
    printf '%s\n' "--- $(basename "$f")" >&2
    cat "$f" >&2
  done
  exit 1
}

# The cookie, as docs/security.md says to make one (any 16+ bytes do).
COOKIE_FILE="$DIR/cookie"
if command -v openssl >/dev/null 2>&1; then
  openssl rand -hex 32 >"$COOKIE_FILE"
else
  printf 'example-remote-ping-%s-%s\n' "$$" "$(date +%s%N)" >"$COOKIE_FILE"
fi

# Without a cookie, a node does not start: it says what to give.
"$EXE" pong --port 0 >"$DIR/nocookie.out" 2>"$DIR/nocookie.err"
[ $? = 2 ] || fail "pong without a cookie did not refuse to start"
grep -q 'cookie' "$DIR/nocookie.err" || fail "pong without a cookie did not say why"
: >"$DIR/pong.out" # before the background job opens it: the loop below reads it
# pong listens on every interface and gives peers the loopback address.
"$EXE" pong --port 0 --listen 0.0.0.0 --host 127.0.0.1 --cookie-file "$COOKIE_FILE" \
  >"$DIR/pong.out" 2>"$DIR/pong.err" &
PONG=$!

# Wait (up to 10 s) for pong's first, complete line: its address.
i=0
while [ "$(wc -l <"$DIR/pong.out")" -lt 1 ]; do
  kill -0 "$PONG" 2>/dev/null || fail "pong exited before printing its address"
  i=$((i + 1))
  [ "$i" -le 100 ] || fail "pong printed no address within 10 s"
  sleep 0.1
done
ADDR=$(head -n 1 "$DIR/pong.out")
case "$ADDR" in
  akt://pong@127.0.0.1:[0-9]*) ;;
  *) fail "pong's first line is not its address: $ADDR" ;;
esac

timeout 30 "$EXE" ping --to "$ADDR" --count 100 --stop --cookie-file "$COOKIE_FILE" \
  >"$DIR/ping.out" 2>"$DIR/ping.err"
rc=$?
[ "$rc" = 0 ] || fail "ping exited with status $rc"
grep -q '^ping: 100 round trips in ' "$DIR/ping.out" || fail "ping did not report 100 round trips"

# Stop makes pong shut down by itself (up to 10 s).
i=0
while kill -0 "$PONG" 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -le 100 ] || fail "pong still runs 10 s after Stop"
  sleep 0.1
done
wait "$PONG"
rc=$?
PONG=""
[ "$rc" = 0 ] || fail "pong exited with status $rc"
grep -q '^pong: stopped by Stop after 100 pings' "$DIR/pong.out" || fail "pong did not report its stop"

# Nobody listens there now: ping says so (the cause, not a timeout).
timeout 30 "$EXE" ping --to "$ADDR" --count 1 --cookie-file "$COOKIE_FILE" \
  >"$DIR/ping-gone.out" 2>"$DIR/ping-gone.err"
rc=$?
[ "$rc" = 1 ] || fail "ping to a stopped pong exited with status $rc, not 1"
grep -q 'cannot reach .*: connection refused' "$DIR/ping-gone.err" ||
  fail "ping to a stopped pong did not say the connection was refused"
exit 0
