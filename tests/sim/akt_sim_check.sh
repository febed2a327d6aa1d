#!/bin/sh
# akt-sim's command line, end to end: exit codes, the replay command,
# byte-identical traces, sweep, shrink and check-determinism.
# usage: akt_sim_check.sh AKT-SIM SCENARIO-DIR CUSTOM-SIM
# (CUSTOM-SIM: a program adding its own workload "tally" with akt_sim_main)
set -u
sim=$1
dir=$2
custom=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

expect() { # expect CODE CMD...: runs CMD, output in out.txt, checks the exit code
  want=$1; shift
  "$@" >out.txt 2>&1
  got=$?
  [ "$got" = "$want" ] || { cat out.txt; fail "'$*' exited $got, expected $want"; }
}

expect 0 "$sim" --help
grep -q "check-determinism" out.txt || fail "--help does not list the commands"
expect 2 "$sim"
expect 2 "$sim" run "$dir/pingpong.scn"
grep -q -- "--seed" out.txt || fail "a missing --seed is not explained"
expect 2 "$sim" frobnicate x.scn

printf 'workload pingpong\nnodes 3\nduration 5s\nat 1s crash node9\n' >bad.scn
expect 2 "$sim" run bad.scn --seed 1
grep -q "bad.scn:4:13: no node9" out.txt || { cat out.txt; fail "parse error without file:line:col"; }
printf 'workload nosuch\nnodes 3\nduration 5s\n' >unknown.scn
expect 2 "$sim" run unknown.scn --seed 1
grep -q "unknown workload 'nosuch'" out.txt || fail "unknown workload not reported"

expect 0 "$sim" list
grep -q "buggy-counter" out.txt || fail "list misses buggy-counter"

# A passing run: banner, result, digest.
expect 0 "$sim" run "$dir/pingpong.scn" --seed 1
grep -q "seed 1 (0x1)" out.txt || fail "no banner"
grep -q "random profile (drawn from the seed): kinds=" out.txt || fail "no drawn knobs"
grep -q "^PASS seed=1 digest=" out.txt || fail "no PASS line"

# A liveness failure exits 3.
sed 's/^check pongs-resume.*/check pongs-resume within 1ms/' "$dir/pingpong.scn" >live.scn
expect 3 "$sim" run live.scn --seed 1
grep -q "check=pongs-resume" out.txt || fail "liveness failure not named"

# The deliberately buggy counter: a sweep finds a failing seed and prints
# how to replay it; two traced runs of it are byte-identical.
expect 1 "$sim" sweep "$dir/buggy-counter.scn" --seeds 20 --jobs 2
seed=$(sed -n 's/^FAIL seed=\([0-9]*\) check=count-exact.*/\1/p' out.txt | head -n 1)
[ -n "$seed" ] || { cat out.txt; fail "the sweep found no failing seed"; }
grep -q "replay: .* run .*buggy-counter.scn --seed $seed --trace" out.txt || fail "no replay command"
grep -q "0 digest mismatches" out.txt || fail "the sweep's digest re-check failed"
expect 1 "$sim" run "$dir/buggy-counter.scn" --seed "$seed" --trace a.trace
expect 1 "$sim" run "$dir/buggy-counter.scn" --seed "$seed" --trace b.trace
cmp -s a.trace b.trace || fail "two runs of seed $seed wrote different traces"
[ -s a.trace ] || fail "empty trace"

# Shrink: at most 3 faults, written as a scenario that fails the same way.
expect 0 "$sim" shrink "$dir/buggy-counter.scn" --seed "$seed" --out shrunk.scn
n=$(grep -c '^at ' shrunk.scn)
[ "$n" -le 3 ] || { cat shrunk.scn; fail "shrink left $n faults"; }
grep -q '^random' shrunk.scn && fail "the shrunk scenario still has a random profile"
expect 1 "$sim" run shrunk.scn --seed "$seed"
grep -q "check=count-exact" out.txt || fail "the shrunk scenario fails differently"

# check-determinism agrees.
expect 0 "$sim" check-determinism "$dir/bank.scn" --seed 3
grep -q "^deterministic seed=3" out.txt || fail "check-determinism did not say so"
# A program's own workload, beside the built-in ones; a run that crashes
# (abort in a node's start) is exit 2 with the signal, and the command
# goes on to print its replay line.
expect 0 "$custom" list
grep -q "^tally" out.txt && grep -q "^bank" out.txt || fail "custom workloads not listed with the built-in ones"
printf 'workload tally\nnodes 3\nduration 2s\nquiet 1s\n' >tally.scn
expect 0 "$custom" run tally.scn --seed 4
printf 'workload tally crash=1\nnodes 3\nduration 2s\nquiet 1s\n' >crash.scn
expect 2 "$custom" run crash.scn --seed 4
grep -q "the run crashed: signal 6" out.txt || { cat out.txt; fail "a crash is not reported as one"; }
grep -q "replay: .* run crash.scn --seed 4" out.txt || fail "no replay command after a crash"
# check-determinism catches a run that differs and shows where.
printf 'workload tally nondet=1\nnodes 2\nduration 1s\nquiet 1s\n' >nondet.scn
expect 1 "$custom" check-determinism nondet.scn --seed 1
grep -q "^the traces differ at record [0-9]*:" out.txt || { cat out.txt; fail "no first differing record"; }
grep -q "^  run 1: .* t=pid " out.txt && grep -q "^  run 2: .* t=pid " out.txt ||
  { cat out.txt; fail "the differing records are not shown"; }
grep -q "^NONDETERMINISTIC seed=1" out.txt || fail "no verdict"
echo "akt-sim command line: ok"
