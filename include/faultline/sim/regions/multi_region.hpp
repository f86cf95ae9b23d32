// Several regions and the traffic steered between them (sim/regions): each member population's
// requests are a Poisson stream; a request asks its population's resolver pool for a region
// (DNS with a TTL), enters that region's edge (which may black-hole it: a broken ELB), and is
// served by a backend: the entry region's own (active-active) or, through an Isthmus tunnel, the
// population's home region's. Health checks on each edge switch the DNS records off a failing
// region; Chaos Kong moves a region's records to another region in steps. See
// sim/regions/README.md.
//
// Metric names (sim.metrics()), for each scope (a population's name, a region's name for the
// requests its backend served, and "all"):
//   regions/<scope>/{requests,successes,failures,latency}
// Trace records (source "regions"): dns-failover (node "dns/<population>"), edge-broken,
// edge-repaired, edge-unhealthy, edge-healthy (node "edge/<region>"), evacuation-step (node
// "dns/<population>"), scale-out, servers-joined, scale-in (node "region/<region>").
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/regions/backend.hpp>
#include <faultline/sim/regions/dns.hpp>
#include <faultline/sim/regions/params.hpp>
#include <faultline/simulation.hpp>

#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::regions {

struct ScopeMetricNames {
  std::string requests, successes, failures, latency;
};
ScopeMetricNames scope_metric_names(std::string_view scope);

class MultiRegion {
public:
  MultiRegion(Simulation& sim, RegionsParams params);
  MultiRegion(const MultiRegion&) = delete;
  MultiRegion& operator=(const MultiRegion&) = delete;

  /// Primes the resolvers and caches, starts traffic, autoscalers, health checks, the edge
  /// faults and the evacuation.
  void start();

  int regions() const { return static_cast<int>(backends_.size()); }
  int populations() const { return static_cast<int>(records_.size()); }
  Backend& backend(int region) { return *backends_[static_cast<std::size_t>(region)]; }
  const Backend& backend(int region) const { return *backends_[static_cast<std::size_t>(region)]; }
  DnsRecord& record(int population) { return records_[static_cast<std::size_t>(population)]; }
  /// Share of a population's resolvers whose cached answer is `region`.
  double resolver_share(int population, int region) const;
  /// Breaks a share of a region's edge (its ELB nodes black-hole requests); 0 repairs it.
  void set_edge_broken(int region, double fraction);
  bool edge_healthy(int region) const {
    return health_[static_cast<std::size_t>(region)].healthy();
  }
  /// Moves `share` (0..1) of the DNS weight of the populations homed in `from` to `to`.
  void shift(int from, int to, double share);
  const RegionsParams& params() const { return params_; }

private:
  struct Scope {
    Counter *requests, *successes, *failures;
    Histogram* latency;
  };
  Scope make_scope(std::string_view name);
  void next_request(int population);
  void request(int population);
  void health_check();
  void fail_over(int region);
  void finish(std::initializer_list<Scope*> scopes, bool ok, Duration latency);

  Simulation& sim_;
  RegionsParams params_;
  Rng traffic_rng_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<DnsRecord> records_;
  std::vector<ResolverPool> pools_;
  std::vector<HealthCheck> health_;
  std::vector<double> broken_;
  std::vector<int> home_;
  std::vector<Scope> population_scopes_, region_scopes_;
  Scope all_;
  Zipf keys_;
};

}  // namespace faultline::sim::regions
