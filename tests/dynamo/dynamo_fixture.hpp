// Helpers shared by the Dynamo tests: a cluster in a fresh world, and a test client that runs
// one coroutine to completion.
#pragma once

#include <faultline/sim/dynamo/cluster.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <functional>
#include <memory>

namespace faultline::sim::dynamo::testing {

/// Params with one workload-free client population "t" that tests drive by hand.
inline DynamoParams test_params(int nodes = 6) {
  DynamoParams p;
  p.nodes = nodes;
  p.zones = {"zone-a", "zone-b", "zone-c"};
  ClientParams t;
  t.name = "t";
  t.zone = "zone-a";
  p.clients.push_back(t);
  return p;
}

/// One run: a simulation, a world, a cluster, destroyed in a safe order.
struct Run {
  Simulation sim;
  std::unique_ptr<world::World> world;
  std::unique_ptr<Cluster> cluster;

  explicit Run(DynamoParams params, std::uint64_t seed = 1)
      : sim(Simulation::Options{.seed = seed}) {
    world = std::make_unique<world::World>(sim);
    cluster = std::make_unique<Cluster>(std::move(params));
    cluster->build(*world);
    sim.run_until(sim.now() + Duration::millis(1));  // boot every node
  }
  ~Run() {
    cluster.reset();
    world.reset();
  }
  void run_for(Duration d) { sim.run_until(sim.now() + d); }
  world::Node& client(std::string_view name = "t", int i = 0) {
    return world->node(cluster->client_nodes(name).at(static_cast<std::size_t>(i)));
  }
  world::Node& storage(int i) { return world->node(cluster->storage_node(i)); }

  /// Runs `body` on a client node until it finishes (or `limit` passes).
  bool drive(std::function<Task<void>(world::Node&)> body, Duration limit = Duration::seconds(60),
             std::string_view client_name = "t") {
    bool finished = false;
    world::Node& c = client(client_name);
    auto wrapper = [](std::function<Task<void>(world::Node&)> b, world::Node& n,
                      bool& flag) -> Task<void> {
      co_await b(n);
      flag = true;
    };
    c.spawn(wrapper(std::move(body), c, finished));
    const Time end = sim.now() + limit;
    while (!finished && sim.now() < end) {
      sim.run_until(std::min(end, sim.now() + Duration::millis(10)));
    }
    return finished;
  }
};

}  // namespace faultline::sim::dynamo::testing
