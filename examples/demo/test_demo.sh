#!/bin/sh
# The demo as the README shows it: `akt-demo --seed 7`, twice. Both runs
# exit 0 and print the same seed/digest line (the simulator replays
# exactly); every duration in the simulator's part says it is virtual time,
# so that it does not read like a measurement of this machine; the libuv
# part follows.
#   sh test_demo.sh PATH/TO/akt-demo
set -u
EXE=$1
fail() {
  printf '%s\n' "example-demo: $*" >&2
  exit 1
}
one=$("$EXE" --seed 7) || fail "akt-demo --seed 7 exited with status $?"
two=$("$EXE" --seed 7) || fail "the second akt-demo --seed 7 exited with status $?"
printf '%s\n' "$one"
digest1=$(printf '%s\n' "$one" | grep '^  seed=7 digest=') || fail "no 'seed=7 digest=' line"
digest2=$(printf '%s\n' "$two" | grep '^  seed=7 digest=')
[ "$digest1" = "$digest2" ] || fail "two runs with seed 7 differ: '$digest1' and '$digest2'"
# The simulator's part: from its banner to the libuv banner.
sim=$(printf '%s\n' "$one" | sed -n '/on the simulator/,/on the libuv backend/p' | sed '$d')
[ -n "$sim" ] || fail "no simulator part"
printf '%s\n' "$sim" | head -n 1 | grep -q 'virtual' || fail "the simulator's banner does not say its times are virtual"
timed=$(printf '%s\n' "$sim" | grep -E '[0-9] (ms|ns)|[0-9] virtual (ms|ns)')
[ -n "$timed" ] || fail "the simulator part prints no durations"
unmarked=$(printf '%s\n' "$timed" | grep -E '[0-9] (ms|ns)')
[ -z "$unmarked" ] || fail "simulator durations not marked virtual: $unmarked"
printf '%s\n' "$one" | grep -q 'on the libuv backend' || fail "no libuv part"
exit 0
