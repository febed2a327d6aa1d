#!/bin/sh
# Three cluster nodes on loopback, one killed: the README's cluster demo,
# and a test (meson: example-cluster).
#   sh demo.sh PATH/TO/akt-cluster-node
# Starts node a (gossip port chosen by the system), then b and c with a as
# their seed; once a sees all three up, kills c with SIGKILL (no goodbye)
# and waits until a and b both declare it down; then stops a and b with
# SIGTERM, so each leaves gracefully. Prints every node's output at the end.
set -u

EXE=$1
DIR=$(mktemp -d) || exit 1
PIDS=""

cleanup() {
  for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

show() {
  for n in a b c; do
    [ -f "$DIR/$n.out" ] || continue
    printf '%s\n' "--- node $n"
    cat "$DIR/$n.out" "$DIR/$n.err"
  done
}

fail() {
  printf '%s\n' "cluster demo: $*" >&2
  show >&2
  exit 1
}

# Waits (up to $3 seconds) until file $1 has a line matching $2.
await() {
  i=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -le $(($3 * 10)) ] || fail "no '$2' in $(basename "$1") within $3 s"
    sleep 0.1
  done
}

export NODE_IP=127.0.0.1 GOSSIP_PORT=0 REMOTING_PORT=0 AKT_COOKIE="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

: >"$DIR/a.out"
NODE_NAME=a "$EXE" >"$DIR/a.out" 2>"$DIR/a.err" &
A=$!
PIDS="$A"
await "$DIR/a.out" '^a: gossip ' 10
SEED=$(sed -n 's/^a: gossip //p' "$DIR/a.out" | head -n 1)

NODE_NAME=b AKT_CLUSTER_SEEDS=$SEED "$EXE" >"$DIR/b.out" 2>"$DIR/b.err" &
B=$!
NODE_NAME=c AKT_CLUSTER_SEEDS=$SEED "$EXE" >"$DIR/c.out" 2>"$DIR/c.err" &
C=$!
PIDS="$A $B $C"

for n in a b c; do await "$DIR/a.out" "^a: member-up $n@" 30; done
echo "cluster demo: a sees a, b and c up; killing c"
kill -KILL "$C"
wait "$C" 2>/dev/null
PIDS="$A $B"

await "$DIR/a.out" '^a: member-down c@' 60
await "$DIR/b.out" '^b: member-down c@' 60
echo "cluster demo: a and b declared c down; stopping them"
grep -q 'member-down [ab]@' "$DIR/a.out" "$DIR/b.out" && fail "a live node was declared down"

kill -TERM "$A" "$B"
for p in $A $B; do
  wait "$p" || fail "a node did not exit cleanly"
done
PIDS=""
grep -q '^a: left the cluster' "$DIR/a.out" || fail "a did not leave gracefully"
grep -q '^b: left the cluster' "$DIR/b.out" || fail "b did not leave gracefully"
show
exit 0
