#!/bin/sh
# Three cluster nodes on loopback, one killed: the README's cluster demo,
# and a test (meson: example-cluster).
#   sh demo.sh PATH/TO/akt-cluster-node [--tls]
# Remoting is secured by a fresh random cookie (AKT_COOKIE) or, with --tls,
# by TLS alone: a CA and a certificate per node made with openssl in a
# temporary directory (AKT_TLS_CA, AKT_TLS_CERT, AKT_TLS_KEY).
# Starts node a (gossip port chosen by the system), then b and c with a as
# their seed; once a sees all three up, kills c with SIGKILL (no goodbye)
# and waits until a and b both declare it down; then stops a and b with
# SIGTERM, so each leaves gracefully. Prints every node's output at the end.
set -u

EXE=$1
TLS=0
[ "${2:-}" = --tls ] && TLS=1
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

# A CA, and a key and certificate it signs for node $1 (docs/security.md,
# "Configuring TLS").
certify() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$DIR/$1.key" -out "$DIR/$1.csr" -subj "/CN=$1" 2>/dev/null &&
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$1" >"$DIR/$1.ext" &&
    openssl x509 -req -in "$DIR/$1.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
      -CAcreateserial -days 1 -extfile "$DIR/$1.ext" -out "$DIR/$1.pem" 2>/dev/null ||
    fail "openssl could not make a certificate for $1"
}

export NODE_IP=127.0.0.1 GOSSIP_PORT=0 REMOTING_PORT=0
if [ "$TLS" = 1 ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$DIR/ca.key" -out "$DIR/ca.pem" -days 1 -subj "/CN=akt demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "openssl could not make a CA"
  for n in a b c; do certify "$n"; done
  unset AKT_COOKIE
  export AKT_TLS_CA="$DIR/ca.pem"
else
  export AKT_COOKIE="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
fi

# Starts node $1 in the background, with more variables in $2...
node() {
  n=$1
  shift
  if [ "$TLS" = 1 ]; then
    env NODE_NAME="$n" AKT_TLS_CERT="$DIR/$n.pem" AKT_TLS_KEY="$DIR/$n.key" "$@" "$EXE" \
      >"$DIR/$n.out" 2>"$DIR/$n.err" &
  else
    env NODE_NAME="$n" "$@" "$EXE" >"$DIR/$n.out" 2>"$DIR/$n.err" &
  fi
}

: >"$DIR/a.out"
node a
A=$!
PIDS="$A"
await "$DIR/a.out" '^a: gossip ' 10
SEED=$(sed -n 's/^a: gossip //p' "$DIR/a.out" | head -n 1)

node b AKT_CLUSTER_SEEDS="$SEED"
B=$!
node c AKT_CLUSTER_SEEDS="$SEED"
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
