#!/bin/sh
# akt-sim's command line, end to end: exit codes, the replay command,
# byte-identical traces, sweep, shrink, diff and check-determinism.
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
grep -q "unknown.scn:1:10: unknown workload 'nosuch'" out.txt || fail "unknown workload not reported"
# Every error of a file, each with its place.
printf 'workload bank acounts=3\nnodes 3\nduration 5s\nat 1s clog node1 node1 1s\nduration 6s\nat 9s heal\n' >errs.scn
expect 2 "$sim" run errs.scn --seed 1
for want in "errs.scn:4:18: a link joins two different nodes" "errs.scn:5:1: 'duration' is given twice" \
  "errs.scn:6:4: a fault at 9.000s is not before 'duration'"; do
  grep -q "$want" out.txt || { cat out.txt; fail "missing error: $want"; }
done
printf 'workload bank acounts=3\nnodes 3\nduration 5s\n' >param.scn
expect 2 "$sim" run param.scn --seed 1
grep -q "param.scn:1:15: workload bank has no parameter 'acounts'" out.txt || { cat out.txt; fail "unknown parameter"; }

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

# The deliberately buggy counter: a sweep finds failing seeds, groups them
# by check (a count, the first three, one replay command), and re-runs a
# sample in fresh processes; two traced runs of a seed are byte-identical.
expect 1 "$sim" sweep "$dir/buggy-counter.scn" --seeds 20 --jobs 2
grep -q "^FAIL check=count-exact: [0-9]* of 20 seeds; first: [0-9]* [0-9]* [0-9]*$" out.txt ||
  { cat out.txt; fail "failures are not grouped by check"; }
[ "$(grep -c '^FAIL seed=' out.txt)" = "$(grep -c '^FAIL check=' out.txt)" ] ||
  { cat out.txt; fail "a failing seed is listed beyond its group's first"; }
seed=$(sed -n 's/^FAIL seed=\([0-9]*\) check=count-exact.*/\1/p' out.txt | head -n 1)
[ -n "$seed" ] || { cat out.txt; fail "the sweep found no failing seed"; }
grep -q "replay: .* run .*buggy-counter.scn --seed $seed --trace" out.txt || fail "no replay command"
grep -q "1 re-run in fresh processes, 0 digest mismatches" out.txt ||
  { cat out.txt; fail "the sweep's re-check (5% of 20 seeds: one) failed"; }
expect 1 "$sim" sweep "$dir/buggy-counter.scn" --seeds 20 --jobs 2 --recheck 25%
grep -q "5 re-run in fresh processes, 0 digest mismatches" out.txt || { cat out.txt; fail "--recheck 25%"; }
expect 1 "$sim" run "$dir/buggy-counter.scn" --seed "$seed" --trace a.trace
expect 1 "$sim" run "$dir/buggy-counter.scn" --seed "$seed" --trace b.trace
cmp -s a.trace b.trace || fail "two runs of seed $seed wrote different traces"
[ -s a.trace ] || fail "empty trace"

# diff: equal traces exit 0; different ones exit 1 with the first
# differing record after the equal ones before it.
expect 0 "$sim" diff a.trace b.trace
grep -q "^the traces are equal" out.txt || fail "diff of equal traces"
sed '12s/ c=0 / c=7 /' a.trace >c.trace
cmp -s a.trace c.trace && fail "the test did not change c.trace"
expect 1 "$sim" diff a.trace c.trace --context 3
grep -q "^the traces differ at record 12, at t=[0-9.]*s on node[0-9]:" out.txt || { cat out.txt; fail "diff header"; }
[ "$(grep -c '^ *[0-9][0-9]*  [0-9]' out.txt)" = 3 ] || { cat out.txt; fail "diff does not show 3 equal records"; }
grep -q "^  A 12  .* c=0 " out.txt && grep -q "^  B 12  .* c=7 " out.txt || { cat out.txt; fail "diff records"; }
head -n 5 a.trace >d.trace
expect 1 "$sim" diff a.trace d.trace
grep -q "^  B 6  (end of trace)" out.txt || { cat out.txt; fail "diff of a shorter trace"; }
expect 2 "$sim" diff a.trace nonexistent.trace

# Shrink: at most 3 faults, written as a scenario that fails the same way;
# without -o, beside its input (never in the current directory).
expect 0 "$sim" shrink "$dir/buggy-counter.scn" --seed "$seed" -o shrunk.scn
n=$(grep -c '^at ' shrunk.scn)
[ "$n" -le 3 ] || { cat shrunk.scn; fail "shrink left $n faults"; }
grep -q '^random' shrunk.scn && fail "the shrunk scenario still has a random profile"
expect 1 "$sim" run shrunk.scn --seed "$seed"
grep -q "check=count-exact" out.txt || fail "the shrunk scenario fails differently"
mkdir -p in
cp "$dir/buggy-counter.scn" in/
expect 0 "$sim" shrink in/buggy-counter.scn --seed "$seed"
[ -f "in/buggy-counter-seed$seed-shrunk.scn" ] || { ls -R; fail "shrink did not write beside its input"; }
ls ./*-shrunk.scn 2>/dev/null | grep -qv '^./shrunk.scn$' && fail "shrink wrote into the current directory"

# check-determinism agrees (its second run is a fresh process).
expect 0 "$sim" check-determinism "$dir/bank.scn" --seed 3
grep -q "^deterministic seed=3: run 1 (a fork) .* run 2 (a fresh process)" out.txt ||
  fail "check-determinism did not say so"
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
grep -q "^the traces differ at record [0-9]*, at t=[0-9.]*s on world:" out.txt ||
  { cat out.txt; fail "no first differing record"; }
grep -q "^  run 1 [0-9]*  .* t=pid " out.txt && grep -q "^  run 2 [0-9]*  .* t=pid " out.txt ||
  { cat out.txt; fail "the differing records are not shown"; }
grep -q "^NONDETERMINISTIC seed=1" out.txt || fail "no verdict"
# A heap address that decides behaviour: two forks of one process agree
# on it, so only a fresh process catches it — check-determinism, and a
# sweep's re-check (one seed of 3 at the default 5%), each showing the
# first differing record.
printf 'workload tally leak=1\nnodes 3\nduration 1s\nquiet 1s\n' >leak.scn
expect 1 "$custom" check-determinism leak.scn --seed 2
grep -q "^NONDETERMINISTIC seed=2" out.txt || { cat out.txt; fail "check-determinism missed a heap address"; }
grep -q "^  run 1 [0-9]*  .* spawn .* x=/user/at-[0-9a-f]*$" out.txt || { cat out.txt; fail "leak: first record"; }
expect 1 "$custom" sweep leak.scn --seeds 3 --jobs 2
grep -q "^NONDETERMINISTIC seed=[0-9]*: digest [0-9a-f]* (PASS), then [0-9a-f]* (PASS) in a fresh process" out.txt ||
  { cat out.txt; fail "the sweep's re-check missed a heap address"; }
grep -q "^  run 2 [0-9]*  .* x=/user/at-[0-9a-f]*$" out.txt || { cat out.txt; fail "sweep: no first differing record"; }
grep -q "1 re-run in fresh processes, 1 digest mismatches" out.txt || { cat out.txt; fail "sweep summary"; }
echo "akt-sim command line: ok"
