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
//              services/tier/<t>/{successes,failures}  arrivals answered ok / not ok (shed,
//              cancelled, a failed dependency or hook)
//   histogram  services/tier/<t>/queue_wait         (ns, admitted requests)
//              services/tier/<t>/latency            (ns, arrival to an ok answer, server side)
//   series     services/client/<c>/{offered_rate,goodput,error_ratio,attempts_per_request,
//              attempt_rate,breaker_open}
//              services/tier/<t>/{arrival_rate,goodput,shed_rate,queue_length,cpu_util}
// A series sample at time t describes the interval (t - sample_interval, t].
#pragma once

#include <faultline/resilience/outcome.hpp>
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
class Node;
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
  std::string arrivals, served, shed, cancelled, queue_wait, successes, failures, latency;
  std::string arrival_rate, goodput, shed_rate, queue_length, cpu_util;
};
TierMetricNames tier_metric_names(std::string_view tier);

/// A tier's own step after its dependency calls: an instance calls it with its node and a
/// completion (`done(true)`: the request goes on; `done(false)`: it fails as a failed
/// dependency does, with the tier's `dependency_failure` outcome). It runs in the instance's
/// process: if the process crashes first, `done` is ignored. Another model that embeds the
/// graph fills it with its own work, e.g. reads through a cache client.
using TierHook = std::function<void(world::Node& node, std::function<void(bool ok)> done)>;

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

  /// Sets `tier`'s hook (TierHook), run by each request that got through its dependency
  /// calls. Call before build(); throws std::invalid_argument for an unknown tier.
  void set_tier_hook(std::string_view tier, TierHook hook);

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
  /// As call(), to instance `instance` of the caller's tier (an index into instances(); every
  /// attempt goes there), and `done` gets the outcome, so the calling model can tell a shed
  /// (overloaded) from a server_error or a timeout and make its own choices (its own
  /// balancing, ejection, failover, retries).
  void call(std::size_t caller, world::NodeId from, std::size_t instance,
            std::function<void(resilience::Outcome)> done);

  struct Impl;

private:
  ServiceGraphParams params_;
  std::vector<TierHook> hooks_;  // per tier of params_, empty: none
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::sim::services
