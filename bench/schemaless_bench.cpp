// Schemaless (sim/schemaless): a city's trips against the trip store, with a storage master
// crash (buffered writes on, so nothing is lost) and a trigger worker crash. For a few trip
// rates over --minutes simulated minutes it reports: trips, cells acknowledged, bills, events,
// process CPU seconds, events per CPU second, and the process's peak resident memory after the
// run (a high-water mark: runs go from small to large). Median CPU of --reps runs.
//
// Process CPU time and peak memory are read here, outside the simulation, only to measure it.
#include "bench_util.hpp"

#include <faultline/sim/schemaless/cluster.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/fault.hpp>

#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

using namespace faultline;
using namespace faultline::sim::schemaless;
using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

struct Run {
  std::size_t trips = 0, cells = 0, bills = 0;
  std::uint64_t events = 0;
  double cpu = 0;
  bool ok = false;
};

Run run(double trips_per_s, Duration length, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  SchemalessParams p;
  p.storage.replication_interval = Duration::seconds(1);
  p.clients.trips_per_s = trips_per_s;
  p.clients.status_updates = 2;
  p.clients.stop_at = length - Duration::minutes(1);
  // Trigger calls are sequential per cluster (log order keeps the order per row key), so one
  // trigger loop bills at most ~1 / (billing latency + round trip) cells a second: one trigger
  // worker per cluster and a 5 ms billing call keep up with 200 trips a second.
  p.triggers.workers = p.storage.clusters;
  p.billing.latency = Duration::millis(5);
  const double start = cpu_seconds();
  SchemalessCluster c(sim, p);
  auto crash = [&](const char* node, Duration at, Duration for_) {
    c.world().faults().schedule({.at = at,
                                 .kind = world::FaultKind::kCrash,
                                 .target = {world::TargetKind::kNode, node},
                                 .peer = {},
                                 .duration = for_});
  };
  crash("store-0-0", length / 3 + Duration::millis(700), length / 3);
  crash("trigger-0", length / 2, Duration::seconds(20));
  sim.run_until(Time::zero() + length);
  Run r;
  r.cpu = cpu_seconds() - start;
  for (const auto& op : c.base_history().operations()) {
    r.trips += 1;
    (void)op;
  }
  r.cells = c.acked_writes().size();
  r.bills = c.bills().size();
  r.events = sim.events_run();
  r.ok = c.lost_cells() == 0 && c.double_bills() == 0 && c.unbilled_trips() == 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 1;
  int minutes = 10;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::max(1, std::atoi(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--minutes") == 0) {
      minutes = std::max(3, std::atoi(argv[i + 1]));
    }
  }
  const Duration length = Duration::minutes(minutes);
  fmt::print("schemaless_bench: trips with a master crash and a trigger crash, {} simulated, "
             "median of {}\n",
             length.to_string(), reps);
  fmt::print("{:>8} {:>8} {:>9} {:>8} {:>11} {:>8} {:>12} {:>9} {:>6}\n", "trips/s", "trips",
             "cells", "bills", "events", "cpu s", "events/cpu s", "peak MB", "ok");
  for (double rate : {40.0, 200.0}) {
    const Run m =
        median_by_cpu<Run>(reps, [&](std::uint64_t seed) { return run(rate, length, seed); });
    fmt::print("{:>8.0f} {:>8} {:>9} {:>8} {:>11} {:>8.2f} {:>12.0f} {:>9.0f} {:>6}\n", rate,
               m.trips, m.cells, m.bills, m.events, m.cpu,
               static_cast<double>(m.events) / m.cpu, peak_rss_mib(), m.ok ? "yes" : "NO");
  }
  return 0;
}
