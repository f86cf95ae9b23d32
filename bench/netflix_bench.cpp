// Netflix models (sim/elb, sim/evcache, sim/regions): simulated time per CPU second.
//   elb:     the netflix-2012-christmas-eve-elb base run (25 simulated hours) at three sizes of
//            the region's fleet and of the device traffic, and its active-active variant (DNS
//            failover through 200 resolver caches per family) at the largest; every LB node is
//            a world node on its own host; reports ELBs, hosts, stream starts, events, process
//            CPU seconds, simulated hours per CPU second and the process's peak memory so far.
//   regions: the chaos-kong-region-evacuation base (2.5 simulated hours) at 1x and 10x (rates,
//            servers, store and keys scaled together); reports requests, events, CPU seconds.
//   evcache: the evcache-zone-failure base run (150 simulated seconds) at three request rates;
//            reports reads, events, CPU seconds and reads per CPU second.
// Median of --reps runs. Process CPU time is read here, outside the simulation, only to measure
// the simulator.
#include "bench_util.hpp"

#include <faultline/sim/elb/region.hpp>
#include <faultline/sim/evcache/cluster.hpp>
#include <faultline/sim/regions/multi_region.hpp>
#include <faultline/simulation.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

using namespace faultline;

using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

struct Run {
  std::uint64_t requests = 0;
  std::uint64_t events = 0;
  std::uint64_t hosts = 0;
  double cpu = 0;
};

std::uint64_t counter(const Simulation& sim, const std::string& name) {
  const auto* c = sim.metrics().find_counter(name);
  return c == nullptr ? 0 : c->value();
}

Run elb_run(int fleet, double traffic_scale, bool failover, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  sim::elb::ElbParams p;  // the defaults are the scenario's base run
  p.fleet.elbs = fleet;
  p.failover.enabled = failover;
  p.incident.families_repaired_at = Duration::hours(10);
  for (auto& f : p.families) {
    f.rate_per_s *= traffic_scale;
  }
  const double start = cpu_seconds();
  sim::elb::ElbRegion region(sim, p);
  region.start();
  sim.run_until(Time::zero() + Duration::hours(25));
  Run r;
  r.cpu = cpu_seconds() - start;
  r.events = sim.events_run();
  r.hosts = region.world().host_count();
  for (const auto& f : p.families) {
    r.requests += counter(sim, sim::elb::family_metric_names(f.name).requests);
  }
  return r;
}

Run regions_run(double scale, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  sim::regions::RegionsParams p;  // the defaults are the scenario's regions and populations
  for (auto& r : p.regions) {
    r.servers = static_cast<int>(9 * scale);
    r.min_servers = static_cast<int>(2 * scale);
    r.max_servers = static_cast<int>(40 * scale);
    r.store_rate_per_s *= scale;
  }
  for (auto& pop : p.populations) {
    pop.rate_per_s *= scale;
  }
  p.cache.keys = static_cast<int>(20000 * scale);
  p.evacuation = {true, "us-east-1", "us-west-2", Duration::minutes(30), Duration::hours(1), 12};
  const double start = cpu_seconds();
  sim::regions::MultiRegion w(sim, p);
  w.start();
  sim.run_until(Time::zero() + Duration::minutes(150));
  Run r;
  r.cpu = cpu_seconds() - start;
  r.events = sim.events_run();
  r.requests = counter(sim, sim::regions::scope_metric_names("all").requests);
  return r;
}

Run evcache_run(double ops, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  sim::evcache::EvcacheParams p;
  p.server.memory_bytes = 4 * 1024 * 1024;
  p.client.ops_per_s = ops;
  p.client.keys = 30000;
  p.store.concurrency = 8;
  p.store.queue_limit = 128;
  const double start = cpu_seconds();
  sim::evcache::EvcacheCluster c(sim, p);
  c.start();
  // Zone a's cache hosts lose power at 60 s and come back at 90 s, as in the scenario.
  sim.schedule_at(Time::zero() + Duration::seconds(60), [&c] { c.fail_zone(0); });
  sim.schedule_at(Time::zero() + Duration::seconds(90), [&c] { c.restore_zone(0); });
  sim.run_until(Time::zero() + Duration::seconds(150));
  Run r;
  r.cpu = cpu_seconds() - start;
  r.events = sim.events_run();
  r.requests = counter(sim, sim::evcache::scope_names("reads").requests);
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
  fmt::print("netflix_bench: median of {}\n\n", reps);
  fmt::print("elb: netflix-2012-christmas-eve-elb base, 25 h simulated\n");
  fmt::print("{:>8} {:>8} {:>8} {:>9} {:>14} {:>12} {:>10} {:>14} {:>10}\n", "ELBs", "hosts",
             "traffic", "failover", "stream starts", "events", "cpu s", "sim h / cpu s",
             "peak MiB");
  struct Size {
    int fleet;
    double scale;
    bool failover;
  };
  for (Size z : {Size{450, 1.0, false}, Size{4500, 1.0, false}, Size{4500, 10.0, false},
                 Size{4500, 10.0, true}}) {
    const Run m = median_by_cpu<Run>(
        reps, [&](std::uint64_t seed) { return elb_run(z.fleet, z.scale, z.failover, seed); });
    fmt::print("{:>8} {:>8} {:>7.0f}x {:>9} {:>14} {:>12} {:>10.3f} {:>14.0f} {:>10.0f}\n",
               z.fleet + 3, m.hosts, z.scale, z.failover ? "dns" : "-", m.requests, m.events,
               m.cpu, 25.0 / m.cpu, peak_rss_mib());
  }
  fmt::print("\nregions: chaos-kong-region-evacuation base, 2.5 h simulated\n");
  fmt::print("{:>8} {:>10} {:>12} {:>10} {:>18}\n", "scale", "requests", "events", "cpu s",
             "requests / cpu s");
  for (double scale : {1.0, 10.0}) {
    const Run m =
        median_by_cpu<Run>(reps, [&](std::uint64_t seed) { return regions_run(scale, seed); });
    fmt::print("{:>7.0f}x {:>10} {:>12} {:>10.3f} {:>18.0f}\n", scale, m.requests, m.events,
               m.cpu, static_cast<double>(m.requests) / m.cpu);
  }
  fmt::print("\nevcache: evcache-zone-failure base, 150 s simulated\n");
  fmt::print("{:>10} {:>10} {:>12} {:>10} {:>16}\n", "ops/s", "reads", "events", "cpu s",
             "reads / cpu s");
  for (double ops : {1000.0, 10000.0, 50000.0}) {
    const Run m = median_by_cpu<Run>(reps, [&](std::uint64_t seed) { return evcache_run(ops, seed); });
    fmt::print("{:>10.0f} {:>10} {:>12} {:>10.3f} {:>16.0f}\n", ops, m.requests, m.events, m.cpu,
               static_cast<double>(m.requests) / m.cpu);
  }
  return 0;
}
