#!/bin/sh
# Installs the build into a scratch directory and builds a small program
# against it with pkg-config, as another project would. Usage:
#   install_check.sh BUILD_DIR SANITIZE(none|address,undefined|...)
set -eu
build=$1
sanitize=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp" meson install -C "$build" --no-rebuild --quiet >/dev/null
pcfile=$(find "$tmp" -name akt.pc | head -n 1)
[ -n "$pcfile" ] || { echo "install: no akt.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
export PKG_CONFIG_SYSROOT_DIR="$tmp"

cat > "$tmp/consumer.c" <<'C'
#include <akt/akt.h>
#include <akt/actor.pb-c.h>
#include <akt/sim.h>
#include <stdio.h>

static int receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  (void)ctx;
  return akt_msg_is(msg, &akt__poison_pill__descriptor) ? 0 : AKT_EUNHANDLED;
}

int main(void) {
  akt_sim_world *w;
  akt_backend *b;
  akt_system *sys;
  akt_actor_def def = {.kind = "k", .receive = receive};
  akt_pid *pid;
  if (akt_sim_world_new(NULL, &w) || akt_sim_node_new(w, "n", &b) ||
      akt_system_new("consumer", b, NULL, &sys) || akt_spawn(sys, "a", &def, NULL, &pid))
    return 1;
  char addr[256];
  akt_pid_format(pid, addr, sizeof addr);
  printf("%s\n", addr);
  akt_pid_release(pid);
  akt_system_free(sys);
  akt_sim_world_free(w);
  return 0;
}
C
flags=""
[ "$sanitize" != none ] && flags="-fsanitize=$sanitize"
libdir=$(pkg-config --variable=libdir akt) # already under the sysroot
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror $flags "$tmp/consumer.c" -o "$tmp/consumer" \
  $(pkg-config --cflags --libs akt)
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/consumer")
[ "$out" = "akt://consumer@localhost:0/user/a" ] || { echo "install: consumer printed '$out'" >&2; exit 1; }
pkg-config --exists akt-testkit || { echo "install: akt-testkit.pc missing" >&2; exit 1; }
echo "install: a pkg-config consumer built and ran: $out"
