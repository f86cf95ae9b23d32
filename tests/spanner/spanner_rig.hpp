// A small harness for the Spanner tests: a simulation, a world, a cluster, and test client
// nodes that run a coroutine against the client library.
#pragma once

#include <faultline/sim/spanner/cluster.hpp>
#include <faultline/sim/spanner/truetime_oracle.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <functional>
#include <memory>
#include <string>

namespace faultline::sim::spanner::testing {

using namespace faultline::literals;

/// A Program that runs one coroutine (given the node) once per incarnation.
class TaskProgram final : public world::Program {
public:
  explicit TaskProgram(std::function<Task<void>(world::Node&)> body) : body_(std::move(body)) {}
  void start(world::Node& node) override { node.spawn(body_(node)); }

private:
  std::function<Task<void>(world::Node&)> body_;
};

/// Three zones, three groups of three replicas over `keys` keys, host clocks read as ± 4 ms,
/// and no workload clients: the small cluster most tests start from.
inline SpannerParams three_zone_params(int keys) {
  SpannerParams p;
  p.zones = 3;
  p.groups = 3;
  p.keys = keys;
  p.replicas = 3;
  p.time_source = TimeSourceKind::kHostClock;
  p.host_clock_epsilon = 4_ms;
  p.workload.clients_per_zone = 0;
  return p;
}

enum class Oracle { kHostClock, kTrueTime };

struct Rig {
  Simulation sim;
  std::unique_ptr<world::World> world;
  std::unique_ptr<Cluster> cluster;
  TrueTime* truetime = nullptr;

  Rig(std::uint64_t seed, SpannerParams params, Oracle oracle = Oracle::kHostClock,
      world::WorldParams wp = {})
      : sim({.seed = seed}) {
    world = std::make_unique<world::World>(sim, std::move(wp));
    Duration eps = params.host_clock_epsilon;
    cluster = std::make_unique<Cluster>(
        *world, std::move(params), [&, eps, oracle](world::World& w) -> std::unique_ptr<TimeOracle> {
          if (oracle == Oracle::kTrueTime) {
            auto o = std::make_unique<TrueTimeOracle>(w, TrueTimeParams{});
            truetime = &o->truetime();
            return o;
          }
          return make_host_clock_oracle(w, eps);
        });
  }
  ~Rig() {
    cluster.reset();
    world.reset();
  }

  /// Adds a client node in zone `zone` running `body`.
  world::NodeId add_client(int zone, const std::string& name,
                           std::function<Task<void>(world::Node&)> body) {
    return world->add_node(cluster->client_host(zone), name, "test-client",
                           [body](world::Node&) { return std::make_unique<TaskProgram>(body); });
  }
  void run_for(Duration d) { sim.run_until(sim.now() + d); }
};

}  // namespace faultline::sim::spanner::testing
