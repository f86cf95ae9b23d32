// Helpers shared by the service-graph tests: run a graph in a fresh world and read its series.
#pragma once

#include <faultline/sim/services/service_graph.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace faultline::sim::services::testing {

/// One run: a simulation, a world, a graph. Declared in destruction-safe order.
struct Run {
  Simulation sim;
  std::unique_ptr<world::World> world;
  std::unique_ptr<ServiceGraph> graph;

  Run(ServiceGraphParams params, std::uint64_t seed = 1)
      : Run(std::move(params), Simulation::Options{.seed = seed}, world::WorldParams{}) {}
  Run(ServiceGraphParams params, Simulation::Options options, world::WorldParams world_params)
      : sim(options) {
    world = std::make_unique<world::World>(sim, std::move(world_params));
    graph = std::make_unique<ServiceGraph>(std::move(params));
    graph->build(*world);
  }
  ~Run() {
    graph.reset();
    world.reset();
  }
  void run_for(Duration d) { sim.run_until(sim.now() + d); }

  /// Mean of a series over [from, to) seconds.
  double mean(const std::string& series, double from_s, double to_s) const {
    const TimeSeries* s = sim.metrics().find_series(series);
    return s ? s->mean_over(Time::zero() + Duration::from_seconds(from_s),
                            Time::zero() + Duration::from_seconds(to_s))
             : -1.0;
  }
  std::uint64_t count(const std::string& counter) const {
    const Counter* c = sim.metrics().find_counter(counter);
    return c ? c->value() : 0;
  }
};

}  // namespace faultline::sim::services::testing
