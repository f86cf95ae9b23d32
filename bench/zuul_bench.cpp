// The Zuul edge stack (sim/zuul): requests per CPU second.
//   chaos:  the chaos-monkey-business-hours base stack (devices → Zuul → API → three services →
//           EVCache, Chaos Monkey on five groups) for 14 simulated days, at three request rates;
//           reports requests, events, process CPU seconds, requests and simulated days per CPU s.
//   slow:   the zuul-slow-origin stack (two families, one origin 1 s slower each way for a
//           minute) for 200 simulated seconds under Zuul 1 and Zuul 2.
//   regions: the netflix-multi-region-stack stack (Zuul → API → playback → EVCache) in 1, 3
//           and 6 regions, a family of 100 requests/s homed in each, for 10 simulated minutes;
//           the first region's edge is cut off from 3 to 6 min and DNS fails its family over
//           (active-active). The cost per request should not grow with the regions; with
//           EVCache's cross-region replication on, it does (each fill goes to every other
//           region). With each family's own ELB in every region (elb: LB nodes between the
//           devices and Zuul, a control plane touching each ELB every 10 min), each request
//           crosses one more hop.
// Median of --reps runs. Process CPU time is read here, outside the simulation, only to measure
// the simulator.
#include "bench_util.hpp"

#include <faultline/sim/zuul/stack.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

using namespace faultline;
namespace zu = faultline::sim::zuul;

using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

struct Run {
  std::uint64_t requests = 0;
  std::uint64_t events = 0;
  double cpu = 0;
};

std::uint64_t requests(const Simulation& sim) {
  const auto* c = sim.metrics().find_counter(zu::scope_names("devices").requests);
  return c == nullptr ? 0 : c->value();
}

zu::TierParams tier(const std::string& name, Duration cpu, int cache_reads) {
  zu::TierParams t;
  t.name = name;
  t.cpu = cpu;
  t.cache_reads = cache_reads;
  return t;
}

/// The scenario's base params (scenarios/chaos-monkey-business-hours.json), rates scaled.
Run chaos_run(double scale, std::uint64_t seed) {
  Simulation sim({.seed = seed, .epoch = UtcInstant::from_civil(2016, 1, 4, 8)});
  zu::StackParams p;
  p.zuul.routes = {{"tv", "api", ""}, {"web", "api", ""}, {"ios", "api", ""}};
  auto api = tier("api", Duration::millis(3), 0);
  for (const char* dep : {"subscriber", "catalog", "ratings"}) {
    api.calls.push_back({.tier = dep, .timeout = Duration::millis(500), .max_attempts = 2,
                         .fallback = std::string(dep) == "ratings"});
  }
  p.tiers = {api, tier("subscriber", Duration::millis(1), 1), tier("catalog", Duration::millis(1), 1),
             tier("ratings", Duration::millis(1), 1)};
  p.families = {{.name = "tv", .rate_per_s = 0.05 * scale},
                {.name = "web", .rate_per_s = 0.025 * scale},
                {.name = "ios", .rate_per_s = 0.025 * scale}};
  p.evcache.client.keys = 300;
  p.evcache.client.ttl = Duration::hours(3);
  p.chaos_monkey_enabled = true;
  p.chaos_monkey.groups = {"zuul", "tier/api", "tier/subscriber", "tier/catalog", "tier/ratings"};
  p.chaos_monkey.hours.utc_offset = -Duration::hours(8);
  const double start = cpu_seconds();
  zu::EdgeStack stack(sim, p);
  sim.run_until(Time::zero() + Duration::hours(24 * 14));
  return {requests(sim), sim.events_run(), cpu_seconds() - start};
}

/// The scenario's slow-origin params (scenarios/zuul-slow-origin.json), without the API loss.
Run slow_run(zu::Mode mode, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  zu::StackParams p;
  p.zuul.instances = 2;
  p.zuul.cores = 8;
  p.zuul.mode = mode;
  p.zuul.threads = 30;
  p.zuul.origin_timeout = Duration::seconds(5);
  p.zuul.routes = {{"tv", "api", ""}, {"web", "search", ""}};
  p.tiers = {tier("api", Duration::millis(2), 0), tier("search", Duration::millis(2), 0)};
  p.families = {{.name = "tv", .rate_per_s = 40, .timeout = Duration::seconds(10)},
                {.name = "web", .rate_per_s = 40, .timeout = Duration::seconds(10)}};
  const double start = cpu_seconds();
  zu::EdgeStack stack(sim, p);
  world::FaultSpec f;
  f.at = Duration::seconds(60);
  f.kind = world::FaultKind::kLatency;
  f.target = {world::TargetKind::kGroup, "tier/search"};
  f.duration = Duration::seconds(60);
  f.amount = Duration::seconds(1);
  stack.world().faults().schedule(f);
  sim.run_until(Time::zero() + Duration::seconds(200));
  return {requests(sim), sim.events_run(), cpu_seconds() - start};
}

/// netflix-multi-region-stack's stack in `regions` regions, one family homed in each.
Run regions_run(int regions, bool replicate, bool elb, std::uint64_t seed) {
  Simulation sim({.seed = seed});
  zu::StackParams p;
  p.zuul.instances = 3;
  p.zuul.cores = 8;
  p.zuul.eject_for = Duration::seconds(10);
  auto api = tier("api", Duration::millis(2), 0);
  api.cores = 8;
  api.calls = {{.tier = "playback", .timeout = Duration::millis(1500), .max_attempts = 2}};
  auto playback = tier("playback", Duration::millis(1), 2);
  playback.cores = 8;
  p.tiers = {api, playback};
  p.evcache.client.keys = 200000;
  p.evcache.client.ttl = Duration::hours(1);
  p.evcache.store.concurrency = 8;
  for (int r = 0; r < regions; ++r) {
    const std::string name = fmt::format("region-{}", r);
    p.multi_region.regions.push_back(
        {name, {name + "a", name + "b", name + "c"}});
    p.families.push_back({.name = fmt::format("f{}", r), .rate_per_s = 100,
                          .timeout = Duration::seconds(5), .home = name});
    p.zuul.routes.push_back({p.families.back().name, "api", ""});
  }
  p.multi_region.cache_replication.enabled = replicate;
  p.elb.enabled = elb;
  if (regions == 1) {
    p.multi_region.regions.clear();  // the single-region stack, no DNS
    p.families[0].home.clear();
  }
  const double start = cpu_seconds();
  zu::EdgeStack stack(sim, p);
  if (regions > 1) {
    world::FaultSpec f;
    f.at = Duration::minutes(3);
    f.kind = world::FaultKind::kPartition;
    f.target = {world::TargetKind::kRegion, "internet"};
    f.peer = {world::TargetKind::kRegion, "region-0"};
    f.duration = Duration::minutes(3);
    stack.world().faults().schedule(f);
  }
  sim.run_until(Time::zero() + Duration::minutes(10));
  return {requests(sim), sim.events_run(), cpu_seconds() - start};
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 1;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::max(1, std::atoi(argv[i + 1]));
    }
  }
  fmt::print("zuul_bench: median of {}\n\n", reps);
  fmt::print("chaos: chaos-monkey-business-hours base, 14 days simulated\n");
  fmt::print("{:>8} {:>10} {:>12} {:>10} {:>16} {:>16}\n", "req/s", "requests", "events", "cpu s",
             "requests / cpu s", "sim days / cpu s");
  for (double scale : {1.0, 4.0, 16.0}) {
    const Run m = median_by_cpu<Run>(reps, [&](std::uint64_t seed) { return chaos_run(scale, seed); });
    fmt::print("{:>8.1f} {:>10} {:>12} {:>10.3f} {:>16.0f} {:>16.1f}\n", 0.1 * scale, m.requests,
               m.events, m.cpu, static_cast<double>(m.requests) / m.cpu, 14.0 / m.cpu);
  }
  fmt::print("\nslow: zuul-slow-origin, 200 s simulated, 80 requests/s\n");
  fmt::print("{:>20} {:>10} {:>12} {:>10} {:>16}\n", "mode", "requests", "events", "cpu s",
             "requests / cpu s");
  for (auto mode : {zu::Mode::thread_per_request, zu::Mode::event_loop}) {
    const Run m = median_by_cpu<Run>(reps, [&](std::uint64_t seed) { return slow_run(mode, seed); });
    fmt::print("{:>20} {:>10} {:>12} {:>10.3f} {:>16.0f}\n", zu::to_string(mode), m.requests,
               m.events, m.cpu, static_cast<double>(m.requests) / m.cpu);
  }
  fmt::print("\nregions: netflix-multi-region-stack's stack, 100 requests/s per region, 10 min "
             "simulated\n");
  fmt::print("{:>8} {:>12} {:>6} {:>10} {:>12} {:>10} {:>16}\n", "regions", "replication",
             "elb", "requests", "events", "cpu s", "requests / cpu s");
  // Replication (EVCache's cross-region sets through Kafka) sends every fill to the other
  // regions: its cost per request grows with their number, by design. The families' ELBs add
  // one hop each way per request.
  struct Row {
    int regions;
    bool replicate, elb;
  };
  for (const Row row : {Row{1, false, false}, Row{3, false, false}, Row{6, false, false},
                        Row{3, true, false}, Row{6, true, false}, Row{1, false, true},
                        Row{3, false, true}}) {
    const Run m = median_by_cpu<Run>(reps, [&](std::uint64_t seed) {
      return regions_run(row.regions, row.replicate, row.elb, seed);
    });
    fmt::print("{:>8} {:>12} {:>6} {:>10} {:>12} {:>10.3f} {:>16.0f}\n", row.regions,
               row.replicate ? "on" : "off", row.elb ? "on" : "off", m.requests, m.events,
               m.cpu, static_cast<double>(m.requests) / m.cpu);
  }
  return 0;
}
