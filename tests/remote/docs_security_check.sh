#!/bin/sh
# Runs the certificate commands of docs/security.md (the block between
# <!-- certs:begin --> and <!-- certs:end -->) in a scratch folder, then a
# mutual TLS handshake between the node0 and node1 certificates they made,
# checked at the system clock: the guide's commands make files akt takes.
# usage: docs_security_check.sh DOC TEST_REMOTE_TLS
set -eu
doc=$1
exe=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/<!-- certs:begin -->/ { on = 1; next } /<!-- certs:end -->/ { on = 0 } on && !/^```/' \
  "$doc" >"$tmp/certs.sh"
[ -s "$tmp/certs.sh" ] || { echo "docs-security: no certs block in $doc" >&2; exit 1; }
if ! (cd "$tmp" && sh -eu certs.sh >"$tmp/log" 2>&1); then
  echo "docs-security: the commands in $doc failed:" >&2
  cat "$tmp/log" >&2
  exit 1
fi
"$exe" --files "$tmp"
