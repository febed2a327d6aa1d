# Shared by the install tests (sourced, with $build set to the build
# directory): where the build installs to.

# option NAME: the value of one of the build's meson options.
option() {
  meson introspect "$build" --buildoptions | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    if o["name"] == sys.argv[1]:
        print(o["value"])
' "$1"
}

# The install prefix, and the absolute directory of the libraries (and of
# pkgconfig/ below it).
prefix=$(option prefix)
libdir=$(option libdir)
case "$libdir" in /*) ;; *) libdir="$prefix/$libdir" ;; esac
