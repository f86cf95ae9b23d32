// Stripe payment path (sim/stripe): charges per second of simulated load handled per CPU
// second. Runs the stripe-double-charge fix (keys, recovery points, completer) with its faults
// (5 % of processor replies lost, API crashes every ~30 s, 5 % double clicks) at a few load
// levels, and reports, per level: simulated charges (processor charges), simulated seconds,
// process CPU seconds, events, and charges per CPU second. Median of --reps runs.
//
// Process CPU time is read here, outside the simulation, only to measure the simulator.
#include "bench_util.hpp"

#include <faultline/sim/stripe/cluster.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/fault.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

using namespace faultline;
using namespace faultline::sim::stripe;

using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

struct Run {
  std::size_t charges = 0;
  std::uint64_t events = 0;
  double cpu = 0;
};

Run run(int customers, Duration length, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  StripeParams p;
  p.clients.customers = customers;
  p.api.processor_timeout = Duration::seconds(1);
  p.processor.decline_ratio = 0.02;
  const double start = cpu_seconds();
  StripeCluster c(sim, p);
  auto& f = c.world().faults();
  world::FaultSpec loss;
  loss.kind = world::FaultKind::kPacketLoss;
  loss.target = {world::TargetKind::kGroup, "processor"};
  loss.peer = {world::TargetKind::kGroup, "api"};
  loss.one_way = true;
  loss.ratio = {1, 20};
  f.schedule(loss);
  world::RandomFaultSpec crashes;
  crashes.scope = {world::TargetKind::kGroup, "api"};
  crashes.shape.duration = Duration::seconds(5);
  crashes.mean_interval = Duration::seconds(30);
  f.add_random(crashes);
  sim.run_until(Time::zero() + length);
  Run r;
  r.cpu = cpu_seconds() - start;
  r.charges = c.processor_charges().size();
  r.events = sim.events_run();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 1;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::max(1, std::atoi(argv[i + 1]));
    }
  }
  const Duration length = Duration::minutes(10);
  fmt::print("stripe_bench: stripe-double-charge fix with its faults, {} simulated, median of {}\n",
             length.to_string(), reps);
  fmt::print("{:>10} {:>10} {:>12} {:>10} {:>12} {:>16}\n", "customers", "charges",
             "charges/s(sim)", "cpu s", "events", "charges/cpu s");
  for (int customers : {40, 400, 4000}) {
    std::vector<Run> runs;
    for (int k = 0; k < reps; ++k) {
      runs.push_back(run(customers, length, static_cast<std::uint64_t>(k + 1)));
    }
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.cpu < b.cpu; });
    const Run& m = runs[runs.size() / 2];
    fmt::print("{:>10} {:>10} {:>12.1f} {:>10.3f} {:>12} {:>16.0f}\n", customers, m.charges,
               static_cast<double>(m.charges) / length.to_seconds(), m.cpu, m.events,
               static_cast<double>(m.charges) / m.cpu);
  }
  return 0;
}
