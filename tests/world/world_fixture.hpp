// Small worlds for the world layer's tests.
#pragma once

#include <faultline/world/world.hpp>

#include <memory>
#include <string>
#include <vector>

namespace faultline::world::testing {

/// Parameters that keep background events (NTP polls, CPU sampling) out of a test unless it
/// asks for them, and latencies deterministic (no jitter) so expectations are closed-form.
inline WorldParams quiet_params() {
  WorldParams p;
  p.host_defaults.clock.ntp_enabled = false;
  p.host_defaults.cpu.sample_interval = Duration::zero();
  for (LinkParams* l : {&p.network.same_host, &p.network.same_zone, &p.network.cross_zone,
                        &p.network.cross_region}) {
    l->latency.jitter = JitterKind::kNone;
  }
  return p;
}

/// Collects every message a node receives into a vector that outlives the node's crashes.
struct Recorder : Program {
  explicit Recorder(std::vector<Message>* sink) : sink_(sink) {}
  void start(Node& n) override {
    n.on_message([this](const Message& m) { sink_->push_back(m); });
  }
  std::vector<Message>* sink_;
};

inline ProgramFactory recorder(std::vector<Message>* sink) {
  return [sink](Node&) { return std::make_unique<Recorder>(sink); };
}

inline ProgramFactory idle() {
  return [](Node&) { return std::unique_ptr<Program>{}; };
}

/// One region "r1" with zones "z1", "z2" of `hosts_per_zone` hosts each ("z1-h0", ...), and a
/// second region "r2" with zone "z3" of the same size.
inline void two_regions(World& w, std::uint32_t hosts_per_zone) {
  TopologySpec spec;
  spec.regions.push_back({"r1", {{"z1", {}, hosts_per_zone}, {"z2", {}, hosts_per_zone}}});
  spec.regions.push_back({"r2", {{"z3", {}, hosts_per_zone}}});
  w.build(spec);
}

inline HostId host(World& w, std::string_view name) { return w.find_host(name)->id(); }

}  // namespace faultline::world::testing
