#!/usr/bin/env bash
# The real `faultline` process and its outputs (issue #19): an interrupted run leaves no
# temporary file, a write that fails (file size limit, full disk behind stdout) is exit 4 with
# its own message, and an output path that cannot be written is refused before anything runs.
# Usage: outputs_and_signals.sh FAULTLINE WORKDIR
set -u
cli=$1
dir=$2
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
fail=0
check() {  # check WHAT CONDITION...
  local what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}

# A run long enough to be interrupted: an hour of a busy service with a trace.
cat > long.json <<'JSON'
{"format_version": 1, "name": "long", "seed": 1, "duration": "1h",
 "model": {"name": "services", "params": {
   "zones": ["zone-a"],
   "tiers": [{"name": "api", "instances": 4, "cores": 4,
              "service_time": {"kind": "exponential", "mean": "2ms"}}],
   "clients": [{"name": "web", "target": "api", "rate_per_s": 2000, "processes": 4}]}}}
JSON
sed -e 's/"1h"/"2s"/' long.json > short.json

for sig in INT TERM; do
  "$cli" run long.json --trace "trace-$sig.jsonl" --quiet > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do  # wait until the temporary trace exists (at most 10 s)
    compgen -G "trace-$sig.jsonl.tmp-*" > /dev/null && break
    sleep 0.1
  done
  sleep 0.5
  kill -s "$sig" "$pid"
  wait "$pid"
  code=$?
  check "SIG$sig exits 128+signal (got $code)" test "$code" -ge 129
  check "SIG$sig leaves no temporary trace" test -z "$(compgen -G "trace-$sig.jsonl*")"
done

# A file size limit: the trace write fails (EFBIG) and is an output error, exit 4.
(ulimit -f 100; "$cli" run short.json --trace big.jsonl --quiet > /dev/null 2> ulimit.err)
code=$?
check "ulimit -f: exit 4 (got $code)" test "$code" -eq 4
check "ulimit -f: says it cannot write" grep -q "cannot write big.jsonl" ulimit.err
check "ulimit -f: no partial trace" test -z "$(compgen -G "big.jsonl*")"

# A report to a full disk is an error, not exit 0.
if [ -w /dev/full ]; then
  "$cli" run short.json > /dev/full 2> full.err
  code=$?
  check "/dev/full: exit 4 (got $code)" test "$code" -eq 4
  check "/dev/full: says so" grep -q "standard output" full.err
fi

# Unwritable outputs are refused before anything runs.
mkdir -p adir
"$cli" run long.json --trace adir > /dev/null 2> dir.err
code=$?
check "--trace DIR: exit 2 at once (got $code)" test "$code" -eq 2
check "--trace DIR: says it is a directory" grep -q "is a directory" dir.err
"$cli" sweep long.json --seeds 1..2 --json nodir/s.json > /dev/null 2> nodir.err
code=$?
check "sweep --json nodir/: exit 2 at once (got $code)" test "$code" -eq 2
check "sweep --json nodir/: names the directory" grep -q "nodir" nodir.err
exit $fail
