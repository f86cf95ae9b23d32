// The service-graph model: builds clients, tiers and their policies into a World, runs the
// workload, and records what happened in sim.metrics().
//
// Mechanism (nothing here knows about "storms"): clients send attempts over the network to an
// instance picked by their balancer; the instance admits the request into its queue (or sheds
// it), runs it on its host's CPU, calls its dependencies, and replies. A caller that times out
// stops waiting, but the server still does the work: that is wasted capacity, and retries add
// more attempts on top, which is how a short trigger can leave a service overloaded for good.
//
// Metric names (documented in docs/resilience.md; <c> a client population, <t> a tier):
//   counters   services/client/<c>/{requests,successes,failures,attempts,retries,
//              rejected_local,timeouts,hedges_sent,hedges_won,hedges_cancelled}
//   histogram  services/client/<c>/latency          (ns, successful logical requests)
//   counters   services/tier/<t>/{arrivals,served,shed,cancelled}
//   histogram  services/tier/<t>/queue_wait         (ns, admitted requests)
//   series     services/client/<c>/{offered_rate,goodput,error_ratio,attempts_per_request,
//              attempt_rate,breaker_open}
//              services/tier/<t>/{arrival_rate,goodput,shed_rate,queue_length,cpu_util}
// A series sample at time t describes the interval (t - sample_interval, t].
#pragma once

#include <faultline/sim/services/params.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/ids.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {
class World;
}

namespace faultline::sim::services {

/// Registry names for one client population's measures.
struct ClientMetricNames {
  std::string requests, successes, failures, attempts, retries, rejected_local, timeouts,
      hedges_sent, hedges_won, hedges_cancelled, latency;
  std::string offered_rate, goodput, error_ratio, attempts_per_request, attempt_rate,
      breaker_open;
};
ClientMetricNames client_metric_names(std::string_view client);

/// Registry names for one tier's measures.
struct TierMetricNames {
  std::string arrivals, served, shed, cancelled, queue_wait;
  std::string arrival_rate, goodput, shed_rate, queue_length, cpu_util;
};
TierMetricNames tier_metric_names(std::string_view tier);

class ServiceGraph {
public:
  /// Validates `params`; builds nothing yet.
  explicit ServiceGraph(ServiceGraphParams params);
  ServiceGraph(const ServiceGraph&) = delete;
  ServiceGraph& operator=(const ServiceGraph&) = delete;
  ~ServiceGraph();

  /// Creates the region, zones (reusing zones `world` already has by name), hosts and nodes
  /// in `world`, starts the workload and the
  /// per-interval samplers. Call once; the graph must outlive the run and be destroyed
  /// before the World.
  void build(world::World& world);

  const ServiceGraphParams& params() const { return params_; }
  /// Node ids of a tier's instances / a client population's processes (after build()).
  std::vector<world::NodeId> instances(std::string_view tier) const;
  std::vector<world::NodeId> client_processes(std::string_view client) const;
  /// Node group names, for fault targets: "tier/<t>" and "client/<c>".
  static std::string tier_group(std::string_view tier);
  static std::string client_group(std::string_view client);

  /// Instantaneous state, for probes: waiting requests over a tier's instances, and the
  /// fraction of a population's processes whose breaker is not closed.
  double queue_length(std::string_view tier) const;
  double breaker_open_fraction(std::string_view client) const;
  /// Busy cores over all cores of a tier's hosts, now (the series cpu_util integrates it).
  double cpu_busy_fraction(std::string_view tier) const;

  /// A caller outside the graph: processes of another model in the same World (a dispatch
  /// service's members calling the maps tier) call `tier` through `policy`, each process with
  /// its own policy state (breaker, quota, throttle), as the graph's own callers. Measured as a
  /// client population named `name` (services/client/<name>/...). Call after build(); returns
  /// the caller's handle for call().
  std::size_t add_external_caller(std::string name, std::string_view tier, CallPolicy policy);
  /// One logical call from node `from` through the caller's policies; `done(ok)` when it ends.
  /// If `from` crashes first, its coroutines die with it and `done` is never called.
  void call(std::size_t caller, world::NodeId from, std::function<void(bool ok)> done);

  struct Impl;

private:
  ServiceGraphParams params_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::sim::services
