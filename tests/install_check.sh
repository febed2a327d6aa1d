#!/bin/sh
# Installing akt and building against it the way the README's "Using akt
# from another project" says a user does:
#
#  1. Prefix install: the tree `meson install` makes, here under DESTDIR —
#     with relocatable pkg-config files the same tree `./dev install
#     --prefix DIR` makes. pkg-config finds it through
#     PKG_CONFIG_PATH=PREFIX/LIBDIR/pkgconfig alone; a program built with
#     `pkg-config --cflags --libs akt` and the rpath the README gives runs
#     without LD_LIBRARY_PATH, and so does a cmocka test built against
#     akt-testkit.
#  2. System install: `meson install` into the configured prefix
#     (/usr/local), then ldconfig; a program built with plain
#     `pkg-config --cflags --libs akt` runs as it is. That needs root: as
#     root it runs in a private mount namespace, with overlays on the prefix
#     and on /etc (the loader's cache), so the machine is left as it was;
#     where that is impossible it runs for real only in CI (AKT_CI=1, set by
#     .ci/run), uninstalling afterwards; otherwise it is skipped, and said.
#  3. Layout: the libdir is one that pkg-config and the loader search under
#     /usr/local (meson's lib64 on Debian was not), the shared libraries'
#     SONAME follows docs/versioning.md, the LICENSE is installed.
#
# Usage: install_check.sh BUILD_DIR SANITIZE(none|address,undefined|...)
set -eu
build=$(cd "$1" && pwd)
sanitize=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { printf '%s\n' "install: $*"; }
fail() {
  printf '%s\n' "install: $*" >&2
  exit 1
}

# shellcheck source=tests/install_lib.sh
. "$(dirname "$0")/install_lib.sh"

# The programs another project would write.
cat >"$tmp/consumer.c" <<'C'
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
cat >"$tmp/consumer_test.c" <<'C'
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <akt/actor.pb-c.h>
#include <akt/testkit.h>

static void a_probe_hears_another(void **state) {
  (void)state;
  akt_testkit *tk = akt_testkit_new(NULL);
  akt_probe *a = akt_probe_new(tk, "a"), *b = akt_probe_new(tk, "b");
  Akt__Terminated t = AKT__TERMINATED__INIT;
  t.path = "/user/x";
  akt_probe_tell(a, akt_probe_pid(b), &t.base);
  akt_probe_expect_equal(b, &t.base, 0);
  akt_testkit_free(tk);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(a_probe_hears_another)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
C
flags=""
[ "$sanitize" != none ] && flags="-fsanitize=$sanitize"
want_addr="akt://consumer@localhost:0/user/a"

# compile OUT SRC [cc arguments...]: as another project's build would.
compile() {
  out=$1
  src=$2
  shift 2
  # shellcheck disable=SC2086
  cc -std=c11 -Wall -Werror $flags "$src" -o "$out" "$@" || fail "cannot build $(basename "$src")"
}

# run_consumer EXE: runs it as a user would, without LD_LIBRARY_PATH.
run_consumer() {
  out=$(env -u LD_LIBRARY_PATH "$1") || fail "$(basename "$1") failed (exit $?)"
  [ "$out" = "$want_addr" ] || fail "$(basename "$1") printed '$out'"
}

# ---- 1. prefix install -------------------------------------------------------
DESTDIR="$tmp/dest" meson install -C "$build" --no-rebuild --quiet >/dev/null
root="$tmp/dest$prefix"
lib="$tmp/dest$libdir"
[ -f "$lib/pkgconfig/akt.pc" ] || fail "no akt.pc in $lib/pkgconfig (PREFIX/LIBDIR/pkgconfig)"
(
  export PKG_CONFIG_PATH="$lib/pkgconfig"
  unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
  found=$(pkg-config --variable=libdir akt)
  [ "$(cd "$found" && pwd -P)" = "$(cd "$lib" && pwd -P)" ] ||
    fail "akt.pc's libdir is $found, not where it was installed ($lib)"
  # shellcheck disable=SC2046
  compile "$tmp/consumer" "$tmp/consumer.c" $(pkg-config --cflags --libs akt) \
    -Wl,-rpath,"$found"
  run_consumer "$tmp/consumer"
  # shellcheck disable=SC2046
  compile "$tmp/consumer_test" "$tmp/consumer_test.c" $(pkg-config --cflags --libs akt-testkit) \
    -Wl,-rpath,"$found"
  env -u LD_LIBRARY_PATH "$tmp/consumer_test" >"$tmp/test.out" 2>&1 ||
    { cat "$tmp/test.out" >&2; fail "a cmocka test built against akt-testkit failed"; }
)
say "prefix install: found through PKG_CONFIG_PATH alone; a program and a testkit test ran"

# ---- 3. layout -------------------------------------------------------------------
version=$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --modversion akt)
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then soname_version="0.$minor"; else soname_version=$major; fi
for name in akt akt-testkit; do
  so="$lib/lib$name.so"
  [ -e "$so" ] || fail "no $so"
  soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  [ "$soname" = "lib$name.so.$soname_version" ] ||
    fail "lib$name.so's SONAME is '$soname', not lib$name.so.$soname_version (docs/versioning.md)"
done
[ -f "$root/share/doc/akt/LICENSE" ] || fail "no share/doc/akt/LICENSE"
head -n 3 "$root/share/doc/akt/LICENSE" | grep -q 'Apache License' || fail "LICENSE is not Apache-2.0"
case "$prefix" in
  /usr/local | /usr)
    # Where this install puts its libraries must be where a user's tools
    # look for them, on this system.
    pc_path=$(pkg-config --variable pc_path pkg-config)
    case ":$pc_path:" in
      *":$libdir/pkgconfig:"*) ;;
      *) fail "pkg-config does not search $libdir/pkgconfig ($pc_path): libdir '$(option libdir)' is wrong here" ;;
    esac
    if ! { ldconfig -v -N -X 2>/dev/null | grep -q "^$libdir:"; } &&
      ! grep -rqsx "$libdir" /etc/ld.so.conf /etc/ld.so.conf.d/ &&
      [ "$libdir" != /usr/lib ] && [ "$libdir" != /lib ]; then
      fail "the loader does not search $libdir: libdir '$(option libdir)' is wrong here"
    fi
    ;;
esac
say "layout: SONAME lib*.so.$soname_version, LICENSE, libdir $libdir searched by pkg-config and the loader"

# ---- 2. system install ----------------------------------------------------------
if [ "$sanitize" != none ]; then
  say "system install: checked in the build without sanitizers only"
  exit 0
fi
case "$prefix" in
  /usr/local | /usr) ;;
  *)
    say "system install skipped: this build's prefix is $prefix, not /usr/local"
    exit 0
    ;;
esac

# The check itself, run as root: install, ldconfig, build with plain
# pkg-config, run without LD_LIBRARY_PATH.
cat >"$tmp/system.sh" <<SH
set -eu
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
meson install -C "$build" --no-rebuild --quiet >/dev/null
ldconfig
cc -std=c11 -Wall -Werror "$tmp/consumer.c" -o "$tmp/system_consumer" \$(pkg-config --cflags --libs akt)
out=\$(env -u LD_LIBRARY_PATH "$tmp/system_consumer")
[ "\$out" = "$want_addr" ] || { echo "system install: the program printed '\$out'" >&2; exit 1; }
SH

if [ "$(id -u)" != 0 ]; then
  say "system install skipped: it needs root (sudo ./dev install does it; CI runs this as root)"
  exit 0
fi
# overlay DIR NAME: mounts a writable overlay on DIR (in the current mount
# namespace) whose changes go to $tmp/ov/NAME.
cat >"$tmp/overlay.sh" <<SH
mkdir -p "$tmp/ov/\$2" "$tmp/ov/\$2-work"
mount -t overlay overlay -o "lowerdir=\$1,upperdir=$tmp/ov/\$2,workdir=$tmp/ov/\$2-work" "\$1"
SH
mkdir -p "$tmp/probe"
if unshare -m sh -c "sh $tmp/overlay.sh $tmp/probe probe" 2>/dev/null; then
  unshare -m sh -c "sh $tmp/overlay.sh $prefix prefix && sh $tmp/overlay.sh /etc etc &&
    sh $tmp/system.sh" || fail "system install into $prefix (a private overlay) failed"
  say "system install: into $prefix (a private overlay), ldconfig, plain pkg-config; the program ran"
elif [ "${AKT_CI:-}" = 1 ]; then
  # No private mount namespace here: CI's machine is its own, install for
  # real and uninstall afterwards.
  trap 'ninja -C "$build" uninstall >/dev/null 2>&1; ldconfig; rm -rf "$tmp"' EXIT
  sh "$tmp/system.sh" || fail "system install into $prefix failed"
  say "system install: into $prefix for real (CI), ldconfig, plain pkg-config; the program ran"
else
  say "system install skipped: no private mount namespace here, and not CI (AKT_CI=1)"
fi
