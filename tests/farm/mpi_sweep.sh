#!/usr/bin/env bash
# The MPI sweep against the thread-pool sweep: the same --json results byte for byte (every
# seed's trace hash, expectation and verdict), the same report lines and the same exit codes,
# with 2 and 3 ranks. Usage: mpi_sweep.sh FAULTLINE MPIEXEC SCENARIO_DIR WORKDIR
set -u
cli=$1
mpiexec=$2
scenarios=$3
work=$4
rm -rf "$work" && mkdir -p "$work"
# CI runs as root, and this machine has fewer cores than ranks.
mpirun=("$mpiexec" --allow-run-as-root --oversubscribe)
file=$scenarios/ringpop-cpu-starvation.json
# min 18 false positives fails a few seeds of 1..20 (3 when written), so the comparison
# covers failing seeds, their replay lines and exit code 1, not only passes.
args=(--seeds 1..20 --set expectations.0.min=18)
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

"$cli" sweep "$file" "${args[@]}" -j 2 --json "$work/pool.json" >"$work/pool.out" 2>"$work/pool.err"
pool_rc=$?
[ "$pool_rc" -eq 1 ] || fail "the thread-pool sweep should find failing seeds (exit 1), got $pool_rc"
grep -q "seed .*: ✗" "$work/pool.out" || fail "the thread-pool sweep listed no failing seed"

for ranks in 2 3; do
  "${mpirun[@]}" -np "$ranks" "$cli" sweep "$file" "${args[@]}" -j 1 --json "$work/mpi$ranks.json" \
    >"$work/mpi$ranks.out" 2>"$work/mpi$ranks.err"
  rc=$?
  [ "$rc" -eq "$pool_rc" ] || fail "$ranks ranks: exit $rc, the thread pool's was $pool_rc"
  cmp -s "$work/pool.json" "$work/mpi$ranks.json" ||
    fail "$ranks ranks: --json differs from the thread-pool sweep's"
  # The report is the same but for the summary's wall time and thread count.
  diff <(grep -v '^summary:' "$work/pool.out") <(grep -v '^summary:' "$work/mpi$ranks.out") ||
    fail "$ranks ranks: the report differs from the thread-pool sweep's"
  grep -q "on $ranks ranks × 1 threads" "$work/mpi$ranks.out" ||
    fail "$ranks ranks: the summary does not name the ranks"
  # The report is printed once, by rank 0.
  [ "$(grep -c '^summary:' "$work/mpi$ranks.out")" -eq 1 ] || fail "$ranks ranks: not one summary"
done

# Swarm testing gives every rank the same fault combination per seed.
planted=$(dirname "$0")/fixtures/planted-crash.json
"$cli" sweep "$planted" --seeds 1..12 --swarm -j 2 --json "$work/swarm-pool.json" >"$work/swarm-pool.out"
"${mpirun[@]}" -np 3 "$cli" sweep "$planted" --seeds 1..12 --swarm -j 1 --json "$work/swarm-mpi.json" \
  >"$work/swarm-mpi.out" 2>"$work/swarm-mpi.err"
cmp -s "$work/swarm-pool.json" "$work/swarm-mpi.json" || fail "--swarm: the ranks' results differ"
diff <(grep -v '^summary:' "$work/swarm-pool.out") <(grep -v '^summary:' "$work/swarm-mpi.out") ||
  fail "--swarm: the report differs"
grep -q "swarm: " "$work/swarm-mpi.out" || fail "--swarm: no combination in the report"

# Bad input: exit 2 from the job, and the error printed once (by rank 0). Repeated, because
# rank 0 prints the error only after it has released the other ranks: were they to exit
# non-zero, mpirun could kill rank 0 before it prints (it did, about one run in four).
for attempt in 1 2 3 4 5 6; do
  "${mpirun[@]}" -np 2 "$cli" sweep "$work/missing.json" --seeds 1..4 >"$work/bad.out" 2>"$work/bad.err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "a missing file (attempt $attempt): exit $rc, expected 2"
  [ "$(grep -c 'cannot open the file' "$work/bad.err")" -eq 1 ] ||
    fail "a missing file (attempt $attempt): the error should be printed once: $(cat "$work/bad.err")"
done
# An output rank 0 cannot write is found before any run, and the other ranks stop too.
"${mpirun[@]}" -np 2 "$cli" sweep "$file" --seeds 1..4 --json "$work/no/such/dir/out.json" \
  >"$work/out.out" 2>"$work/out.err"
rc=$?
[ "$rc" -eq 2 ] || fail "an unwritable --json: exit $rc, expected 2"

if [ "$failures" -ne 0 ]; then
  echo "$failures failures; outputs in $work"
  exit 1
fi
echo "ok: 2 and 3 ranks match the thread-pool sweep"
