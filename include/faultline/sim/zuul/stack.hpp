// The Zuul edge stack (sim/zuul) built in a World: device families, each behind its own edge,
// send requests to a Zuul tier that throttles, sheds, routes each family to an origin tier and
// retries through resilience/; origin tiers (the API) call microservice tiers, which read
// through EVCache (sim/evcache). Chaos Monkey (world faults) kills instances of any group.
//
// Metric names (sim.metrics()), with <f> a family and <t> a tier:
//   zuul/devices/{requests,successes,failures,attempts,latency}   all families
//   zuul/family/<f>/{requests,successes,failures,attempts,latency}
//   the tiers are an embedded service graph (sim/services), measured by its names:
//   services/tier/<t>/{arrivals,successes,failures,latency}  requests arriving at the tier's
//       instances; success = answered ok; latency of the ok answers (server side);
//       scope_names("tier/<t>") gives them (requests = attempts = arrivals)
//   services/tier/<t>/degraded   the tier's dependency calls answered by a fallback
//   services/client/zuul-><t>/...  Zuul's calls to origin <t>, as the graph's external caller
//   zuul/edge/{shed,throttled,retries,retries_denied,failovers,origin_errors}  Zuul's counters
//   elb/control-plane/{requests,successes,failures} (elb/control-plane@<r>/... in another
//       region)  with ELBs: workflow runs; failure = the state was missing or the store did not
//       answer (an API error)
// Trace records (source "zuul"; the Perfetto export draws them on node/<name> tracks):
//   "shedding.begin"/"shedding.end" and "throttling.begin"/"throttling.end" (episodes per
//   instance, id = instance name), "failover"/"failback" (a family's route moved to or from its
//   failover origin at one instance), "route" (a routing change pushed at run time).
// With ELBs also source "elb": the ElbService's records (reprogram, refused, restored,
// workflow-failed; node = the ELB, "api-<f>" or "api-<f>@<r>") and the state loss's
// state-deleted, deletion-refused, workflows-disabled and state-restored.
#pragma once

#include <faultline/sim/zuul/params.hpp>
#include <faultline/simulation.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {
class World;
}
namespace faultline::sim::evcache {
class EvcacheCluster;
}
namespace faultline::sim::elb {
class ElbService;
}

namespace faultline::sim::zuul {

struct ScopeNames {
  std::string requests, successes, failures, attempts, latency;
};
/// "devices", "family/<f>" or "tier/<t>" (the service graph's tier measures).
ScopeNames scope_names(std::string_view scope);

struct EdgeCounterNames {
  std::string shed, throttled, retries, retries_denied, failovers, origin_errors;
};
const EdgeCounterNames& edge_counter_names();

class EdgeStack {
public:
  /// Validates `params` and builds every node in its own World; the nodes boot when the
  /// simulation runs.
  EdgeStack(Simulation& sim, StackParams params);
  EdgeStack(const EdgeStack&) = delete;
  EdgeStack& operator=(const EdgeStack&) = delete;
  ~EdgeStack();

  world::World& world();
  /// A region's EVCache cluster (region index in params().region_list()).
  evcache::EvcacheCluster& cache(int region = 0);
  int region_count() const;
  /// Share of `family`'s resolvers whose cached answer is `region` (1 with one region).
  double dns_share(std::string_view family, std::string_view region) const;
  /// Whether `region`'s edge passes its health check (always, with one region); with ELBs,
  /// whether every family's ELB there does.
  bool edge_healthy(std::string_view region) const;
  /// A region's ELB service (ELB f is family f's), or nullptr without ELBs.
  elb::ElbService* elb(int region = 0);
  /// LB nodes of `family`'s ELB in `region` that black-hole requests (0 without ELBs).
  int elb_broken_nodes(std::string_view family, std::string_view region) const;
  /// Replicated sets applied to `region`'s cache so far (0 without cache_replication).
  std::uint64_t replicated_sets(std::string_view region) const;
  const StackParams& params() const;

  /// Node groups, for fault targets and Chaos Monkey: "zuul", "tier/<t>", "evcache/<zone>",
  /// "device/<f>", and in another region "zuul@<r>", "tier/<t>@<r>", "evcache@<r>/<zone>";
  /// with cache replication "evcache-relay" ("evcache-relay@<r>"); with failback
  /// "health-checker"; with ELBs "elb/api-<f>", "elb/control-plane", "elb/state-store" (with
  /// "@<r>" in another region).
  static std::vector<std::string> groups(const StackParams& params);

  /// Memory Zuul holds for open requests now, over all instances (threads and connections).
  std::int64_t zuul_memory_bytes() const;
  /// The largest value zuul_memory_bytes() has had.
  std::int64_t zuul_memory_peak_bytes() const;
  /// Requests open at Zuul now (in service or waiting for a thread), over all instances.
  int zuul_open_requests() const;
  /// Zuul 1 worker threads busy now, over all instances.
  int zuul_busy_threads() const;
  /// Dependency calls of the tiers answered by a fallback so far (Hystrix's getFallback).
  std::uint64_t degraded() const;

  struct State;

private:
  std::unique_ptr<State> s_;
};

}  // namespace faultline::sim::zuul
