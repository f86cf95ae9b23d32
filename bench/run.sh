#!/usr/bin/env bash
# Builds the benchmarks in a Release tree (build-bench/, -O2 for the library and the
# benchmarks alike) and runs them one after the other, each writing its results with a
# description of the machine to bench/results/: the PHOLD comparison with ns-3 and SimGrid
# (phold-latest.txt), the DynamoDB storm (dynamodb-storm-latest.txt), the world benchmark
# (world-latest.txt) and its workloads on SimGrid (world-simgrid-latest.txt), and every model's
# cost growth (growth-latest.md, bench/growth.py) with its counts under cachegrind
# (growth-cachegrind-latest.md). Extra arguments go
# to the phold program (e.g. --reps 5, --scale 0.5, --no-ns3, --no-simgrid).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FAULTLINE_BENCH_BUILD_DIR:-$root/build-bench}
out_dir=$root/bench/results
out=$out_dir/phold-latest.txt
mkdir -p "$out_dir"

# The peers run in the same benchmark: ns-3 and SimGrid from Debian, installed when missing.
source "$root/tools/deps.sh"
faultline_install_deps libns3-dev libsimgrid-dev valgrind

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DFAULTLINE_BUILD_TESTS=OFF -DFAULTLINE_BUILD_BENCH=ON >/dev/null
# Every benchmark target; tools/deps.sh above has installed the peers, so the SimGrid and ns-3
# programs are among them.
cmake --build "$build" --target phold world_bench dynamodb_storm world_simgrid ringpop_bench \
  stripe_bench netflix_bench zuul_bench cadence_bench schemaless_bench -j2

ns3_version=$(dpkg-query -W -f='${Version}' libns3-dev 2>/dev/null || echo "not installed")
simgrid_version=$(dpkg-query -W -f='${Version}' libsimgrid-dev 2>/dev/null || echo "not installed")
# The lines every results file opens with: when, what, on which machine, under which load.
machine() {
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:    $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu:       $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores"
  echo "compiler:  $(g++ --version | head -n1), -O2 -DNDEBUG"
  echo "ns-3:      libns3-dev $ns3_version"
  echo "SimGrid:   libsimgrid-dev $simgrid_version"
  echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (before the run)"
}
{
  machine
  echo
  "$build/bench/phold" "$@"
} | tee "$out"
echo "results written to $out"
{ machine; "$build/bench/dynamodb_storm"; } | tee "$out_dir/dynamodb-storm-latest.txt"
# Stripe's payment path (docs/performance.md, "Stripe payment path"): charges per CPU second.
{ machine; "$build/bench/stripe_bench" --reps 1; } | tee "$out_dir/stripe-latest.txt"
# Cadence workflows (docs/performance.md, "Cadence: a day of trips"): events/s and peak memory.
{ machine; "$build/bench/cadence_bench"; } | tee "$out_dir/cadence-latest.txt"
# Netflix's models (docs/performance.md, "Netflix: ELB and EVCache"): simulated time per CPU s.
{ machine; "$build/bench/netflix_bench" --reps 1; } | tee "$out_dir/netflix-latest.txt"
# The Zuul edge stack (docs/performance.md, "Netflix: Zuul"): requests per CPU second.
{ machine; "$build/bench/zuul_bench" --reps 1; } | tee "$out_dir/zuul-latest.txt"
# Schemaless (docs/performance.md, "Schemaless"): events per CPU second and peak memory.
{ machine; "$build/bench/schemaless_bench" --reps 1; } | tee "$out_dir/schemaless-latest.txt"
# The world layer (docs/performance.md, "The world layer"): world_bench against PHOLD in one
# process, then the same workloads on SimGrid; results in bench/results/world-latest.txt and
# bench/results/world-simgrid-latest.txt.
{ machine
  echo "command:   $build/bench/world_bench --reps 5"
  echo
  "$build/bench/world_bench" --reps 5; } | tee "$out_dir/world-latest.txt"
{ machine
  echo "SimGrid model: default network model (LV08), 1,000 hosts, 1 s"
  echo "ns per delivered message (thread CPU time), messages delivered in the measured span:"
  for mode in oneway rpc; do
    printf '%-7s ' "$mode"
    "$build/bench/world_simgrid" "$mode" --hosts 1000 --seconds 1
  done; } | tee "$out_dir/world-simgrid-latest.txt"
# Ringpop/SWIM (docs/performance.md, docs/stories/ringpop.md): 10,000 members for 10 simulated
# minutes, then SWIM's scaling figures over n = 10 ... 10,000.
{ machine; "$build/bench/ringpop_bench" speed; } | tee "$out_dir/ringpop-speed-latest.txt"
{ machine; "$build/bench/ringpop_bench" figures; } | tee "$out_dir/ringpop-figures-latest.txt"
# Cost growth per model (docs/performance.md, "Cost growth with size and run length"): every
# model's scenario at 1x/4x/16x size and duration through the CLI, CPU per event and peak RSS,
# each run on the CPU that is fastest when it starts (a VM's vCPUs can differ 2.5x in speed).
cmake --build "$build" --target faultline_cli -j2
python3 "$root/bench/growth.py" --faultline "$build/src/cli/faultline" --cpu fastest \
  --out "$out_dir/growth-latest.md"
# The same points counted by cachegrind on a simulated cache (instructions and misses per
# event; the same on every machine and every run of a binary, so two at a time).
python3 "$root/bench/growth.py" --faultline "$build/src/cli/faultline" --cachegrind \
  --sizes 1,16 --durations 16 --jobs 2 --out "$out_dir/growth-cachegrind-latest.md"
