// A small edge stack for the Zuul tests: two device families, each routed to its own origin,
// no Chaos Monkey, and helpers to read counters and collect the "zuul" trace records.
#pragma once

#include <faultline/simulation.hpp>
#include <faultline/sim/evcache/cluster.hpp>
#include <faultline/sim/zuul/stack.hpp>
#include <faultline/trace.hpp>
#include <faultline/world/fault.hpp>
#include <faultline/world/world.hpp>

#include <string>
#include <vector>

namespace zuul_test {

using namespace faultline;
namespace zu = faultline::sim::zuul;

/// tv → origin "api" (fast), web → origin "slow" (as fast until a fault slows it).
inline zu::StackParams two_origins(zu::Mode mode) {
  zu::StackParams p;
  p.zuul.instances = 1;
  p.zuul.cores = 8;
  p.zuul.mode = mode;
  p.zuul.origin_timeout = Duration::seconds(5);
  p.zuul.routes = {{"tv", "api", ""}, {"web", "slow", ""}};
  zu::TierParams api;
  api.name = "api";
  api.instances = 3;
  api.cores = 8;
  api.cpu = Duration::millis(2);
  zu::TierParams slow = api;
  slow.name = "slow";
  p.tiers = {api, slow};
  p.families = {{.name = "tv", .rate_per_s = 30, .timeout = Duration::seconds(20)},
                {.name = "web", .rate_per_s = 30, .timeout = Duration::seconds(20)}};
  p.evcache.client.keys = 100;
  return p;
}

/// Adds `amount` to every message into and out of a tier's instances, from `at` for `for_`.
inline void slow_down(world::World& w, const std::string& tier, Duration at, Duration for_,
                      Duration amount) {
  world::FaultSpec f;
  f.at = at;
  f.kind = world::FaultKind::kLatency;
  f.target = {world::TargetKind::kGroup, "tier/" + tier};
  f.peer = {world::TargetKind::kAll, ""};
  f.duration = for_;
  f.amount = amount;
  w.faults().schedule(f);
}

inline void crash(world::World& w, world::Target target, Duration at, Duration for_) {
  world::FaultSpec f;
  f.at = at;
  f.kind = world::FaultKind::kCrash;
  f.target = std::move(target);
  f.duration = for_;
  w.faults().schedule(f);
}

/// `seconds` from the start of the run.
inline Time at(double seconds) {
  return Time::zero() + Duration::nanos(static_cast<std::int64_t>(seconds * 1e9));
}

inline std::uint64_t counter(const Simulation& sim, const std::string& name) {
  const Counter* c = sim.metrics().find_counter(name);
  return c == nullptr ? 0 : c->value();
}

/// Availability of a scope ("devices", "family/tv", "tier/api") over the requests that have
/// finished (those still in flight when the run stops are neither).
inline double availability(const Simulation& sim, const std::string& scope) {
  const auto n = zu::scope_names(scope);
  const double ok = static_cast<double>(counter(sim, n.successes));
  const double done = ok + static_cast<double>(counter(sim, n.failures));
  return done == 0 ? 0.0 : ok / done;
}

inline const Histogram& latency(Simulation& sim, const std::string& scope) {
  return sim.metrics().histogram(zu::scope_names(scope).latency);
}

/// The "zuul" trace records as "kind key=value ..." lines.
class ZuulRecords : public TraceSink {
public:
  void on_record(const TraceRecordView& r) override {
    if (r.source != "zuul") {
      return;
    }
    std::string line(r.kind);
    for (const auto& f : r.fields) {
      line += " " + std::string(f.key) + "=" + f.value.to_string();
    }
    lines.push_back(line);
  }
  bool has(std::string_view needle) const {
    for (const auto& l : lines) {
      if (l.find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  std::vector<std::string> lines;
};

}  // namespace zuul_test
