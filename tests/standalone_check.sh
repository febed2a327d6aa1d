#!/bin/sh
# examples/standalone, copied out of the tree and built against an
# installed akt the two ways its README shows: meson (dependency('akt')) and
# make (pkg-config, RPATH=1 for a prefix the loader does not search). Both
# run protoc-c on counter.proto (package demo: Demo__Add, demo.Total), and
# both programs count to 4 on libuv and on the simulator.
#   standalone_check.sh BUILD_DIR SOURCE_ROOT
set -eu
build=$(cd "$1" && pwd)
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  printf '%s\n' "standalone: $*" >&2
  for f in "$tmp"/*.log; do
    [ -f "$f" ] || continue
    printf '%s\n' "--- $(basename "$f")" >&2
    tail -n 30 "$f" >&2
  done
  exit 1
}

# shellcheck source=tests/install_lib.sh
. "$(dirname "$0")/install_lib.sh"

DESTDIR="$tmp/dest" meson install -C "$build" --no-rebuild --quiet >/dev/null
export PKG_CONFIG_PATH="$tmp/dest$libdir/pkgconfig"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# expect_counts EXE: the program's two runs, without LD_LIBRARY_PATH.
expect_counts() {
  out=$(env -u LD_LIBRARY_PATH "$1") || fail "$1 failed (exit $?)"
  [ "$out" = "demo.Total: total 4 on libuv" ] || fail "$1 printed '$out'"
  out=$(env -u LD_LIBRARY_PATH "$1" --sim) || fail "$1 --sim failed (exit $?)"
  [ "$out" = "demo.Total: total 4 on the simulator" ] || fail "$1 --sim printed '$out'"
}

cp -R "$src/examples/standalone" "$tmp/with-meson"
cp -R "$src/examples/standalone" "$tmp/with-make"
rm -rf "$tmp/with-meson/build" "$tmp/with-make/counter" "$tmp/with-make"/*.o "$tmp/with-make"/*.pb-c.*

(cd "$tmp/with-meson" && meson setup build >"$tmp/meson.log" 2>&1 &&
  meson compile -C build >>"$tmp/meson.log" 2>&1) || fail "the meson build failed"
[ -f "$tmp/with-meson/build/counter.pb-c.h" ] || fail "meson did not run protoc-c"
expect_counts "$tmp/with-meson/build/counter"

make -C "$tmp/with-make" RPATH=1 >"$tmp/make.log" 2>&1 || fail "the make build failed"
[ -f "$tmp/with-make/counter.pb-c.h" ] || fail "make did not run protoc-c"
grep -q 'Demo__Add' "$tmp/with-make/counter.pb-c.h" || fail "protoc-c did not make Demo__Add"
expect_counts "$tmp/with-make/counter"
echo "standalone: built with meson and with make against the installed akt; both ran"
