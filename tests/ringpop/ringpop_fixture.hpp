// A ringpop cluster in a fresh world, destroyed in a safe order (members refer to the
// cluster's shared state, so the world goes first).
#pragma once

#include <faultline/sim/ringpop/checker.hpp>
#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/swim.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <memory>

namespace faultline::sim::ringpop::testing {

inline ClusterParams small_params(std::uint32_t members = 10) {
  ClusterParams p;
  p.members = members;
  return p;
}

struct Run {
  Simulation sim;
  std::unique_ptr<world::World> world;
  std::unique_ptr<RingpopCluster> cluster;

  explicit Run(ClusterParams params, std::uint64_t seed = 1)
      : sim(Simulation::Options{.seed = seed}) {
    world = std::make_unique<world::World>(sim);
    cluster = std::make_unique<RingpopCluster>(std::move(params));
    cluster->build(*world);
  }
  ~Run() {
    world.reset();
    cluster.reset();
  }
  void run_for(Duration d) { sim.run_until(sim.now() + d); }
  void fault(world::FaultSpec spec) {
    spec.at = sim.now().since_start() + spec.at;
    world->faults().schedule(spec);
  }
  static world::Target node(MemberId m) {
    return {world::TargetKind::kNode, RingpopCluster::member_name(m)};
  }
  ClusterShared& shared() { return cluster->shared(); }
  std::uint64_t counter(std::string_view name) const {
    const auto* c = sim.metrics().find_counter(name);
    return c == nullptr ? 0 : c->value();
  }
};

}  // namespace faultline::sim::ringpop::testing
