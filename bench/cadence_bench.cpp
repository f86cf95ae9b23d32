// Cadence-style workflows (sim/cadence): one simulated day of a city's trips. Riders request
// --trips workflows spread evenly over 24 h (100,000 by default: ~1.16 a second), while workers,
// history hosts and the payment service crash and pause at random as in
// cadence-trip-workflow-crashes.json; the run goes on 2 h past the day so the last trips end.
// Reports the trips started and ended, kernel events, events per CPU second, peak memory, and
// the checkers' verdicts (every trip ends, every timer fires, every fare charged once).
//
// Process CPU time and peak RSS are read here, outside the simulation, only to measure it.
#include "bench_util.hpp"

#include <faultline/check/exactly_once.hpp>
#include <faultline/sim/cadence/checkers.hpp>
#include <faultline/sim/cadence/cluster.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/fault.hpp>

#include <fmt/format.h>

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

using namespace faultline;
using namespace faultline::sim::cadence;

using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

void random_faults(world::FaultInjector& f, world::FaultKind kind, const char* group,
                   Duration mean, Duration length, Duration end) {
  world::RandomFaultSpec s;
  s.kind = kind;
  s.scope = {world::TargetKind::kGroup, group};
  s.shape.duration = length;
  s.mean_interval = mean;
  s.start = Duration::minutes(1);
  s.end = end;
  f.add_random(s);
}

}  // namespace

int main(int argc, char** argv) {
  double trips = 100000;
  int hosts = 6;
  int workers = 12;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--trips") == 0) {
      trips = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--hosts") == 0) {
      hosts = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--workers") == 0) {
      workers = std::atoi(argv[i + 1]);
    }
  }
  const Duration day = Duration::hours(24);
  Simulation sim({.seed = 1});
  CadenceParams p;
  p.history.hosts = hosts;
  p.workers.workers = workers;
  p.riders.trips_per_s = trips / day.to_seconds();
  p.riders.stop_at = day;
  const double start = cpu_seconds();
  CadenceCluster c(sim, p);
  auto& f = c.world().faults();
  random_faults(f, world::FaultKind::kCrash, "workers", Duration::minutes(5), Duration::minutes(1), day);
  random_faults(f, world::FaultKind::kCrash, "history", Duration::minutes(8), Duration::seconds(30), day);
  random_faults(f, world::FaultKind::kCrash, "payment", Duration::minutes(15), Duration::seconds(20), day);
  random_faults(f, world::FaultKind::kPause, "payment", Duration::minutes(4), Duration::seconds(15), day);
  random_faults(f, world::FaultKind::kPause, "history", Duration::minutes(10), Duration::seconds(10), day);
  sim.run_until(Time::zero() + day + Duration::hours(2));
  const double run_cpu = cpu_seconds() - start;
  const double rss = peak_rss_mib();
  const auto histories = c.histories();
  const auto ends = check_workflows_end(c.acknowledged_starts(), histories);
  const auto timers = check_timers_fire(histories, sim.now(), Duration::minutes(1));
  const auto once = check::check_exactly_once(c.payment_requests(), c.payment_charges());
  const auto* crashes = sim.metrics().find_counter("faults.fired/crash");
  fmt::print("cadence_bench: one simulated day, {} history hosts, {} workers, seed 1\n", hosts,
             workers);
  fmt::print("trips started (acknowledged)  {}\n", c.acknowledged_starts().size());
  fmt::print("faults: crashes               {}\n", crashes != nullptr ? crashes->value() : 0);
  fmt::print("kernel events                 {}\n", sim.events_run());
  fmt::print("process CPU (build + run)     {:.2f} s\n", run_cpu);
  fmt::print("events per CPU second         {:.0f}\n",
             static_cast<double>(sim.events_run()) / run_cpu);
  fmt::print("simulated seconds per CPU s   {:.0f}\n",
             (day + Duration::hours(2)).to_seconds() / run_cpu);
  fmt::print("peak RSS                      {:.0f} MiB\n", rss);
  fmt::print("{}\n{}\n{}\n", ends.to_string(), timers.to_string(), once.to_string());
  return ends.ok && timers.ok && once.ok ? 0 : 1;
}
