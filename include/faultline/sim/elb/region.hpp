// One region's ELB service (sim/elb): the data plane (LB nodes routing by the backend list they
// were programmed with), the control plane (workflows that reprogram running ELBs from the state
// store), the device families' ELBs and their traffic, the 2012 state deletion and its recovery,
// and DNS failover to a second region (the DNS steering of sim/regions: a weighted record per
// family and its clients' resolver caches). Runs on the kernel directly; see sim/elb/README.md.
//
// Metric names (sim.metrics()):
//   elb/<family>/{requests,successes,failures,latency}   stream starts of one device family
//   elb/control-plane/{requests,successes,failures}       workflow runs; failure = the ELB's
//                                                         state was missing (an API error)
// Trace records (source "elb"): state-deleted, reprogram (node = the ELB; from_missing_state,
// nodes, backends), refused (fail static), workflows-disabled, snapshot-restored, merged,
// restored (an ELB reprogrammed from restored state), families-repaired, failover (the family's
// DNS record switched to the other region; clients follow as their resolvers' answers expire).
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/elb/params.hpp>
#include <faultline/sim/regions/dns.hpp>
#include <faultline/simulation.hpp>

#include <optional>
#include <string>
#include <vector>

namespace faultline::sim::elb {

struct FamilyMetricNames {
  std::string requests, successes, failures, latency;
};
FamilyMetricNames family_metric_names(std::string_view family);
FamilyMetricNames control_plane_metric_names();

class ElbRegion {
public:
  ElbRegion(Simulation& sim, ElbParams params);
  ElbRegion(const ElbRegion&) = delete;
  ElbRegion& operator=(const ElbRegion&) = delete;

  /// Starts workflows, traffic, the incident's timeline and the health checks.
  void start();

  /// ELBs: the families' first (in params order), then the fleet's.
  int elbs() const { return static_cast<int>(elbs_.size()); }
  int family_elb(int family) const { return family; }
  /// Deletes the state of one ELB (what the maintenance process did to its records).
  void delete_state(int elb);
  bool state_present(int elb) const { return elbs_[static_cast<std::size_t>(elb)].state; }
  /// One control-plane workflow on a running ELB: a scale event (one node) or a config push.
  void touch(int elb, bool scale);
  /// Nodes programmed with an empty backend list.
  int broken_nodes(int elb) const;
  /// ELBs with at least one broken node, and their share of all ELBs.
  int impacted() const;
  double impacted_fraction() const { return static_cast<double>(impacted()) / elbs(); }
  bool failed_over(int family) const;
  /// Share of a family's resolvers whose cached answer is the other region (0 without failover).
  double other_region_share(int family) const;
  bool workflows_enabled() const { return workflows_enabled_; }
  const ElbParams& params() const { return params_; }

private:
  struct Elb {
    std::string name;
    int family = -1;  // -1: a fleet ELB (no traffic)
    bool state = true;
    std::vector<bool> broken;  // per node
    Duration touch_mean;
  };
  struct Family {
    Counter* requests = nullptr;
    Counter* successes = nullptr;
    Counter* failures = nullptr;
    Histogram* latency = nullptr;
    std::optional<Time> failover_at;
    /// The family's API name: weights {this region, the other region}; its clients' resolvers.
    std::optional<regions::DnsRecord> record;
    std::optional<regions::ResolverPool> resolvers;
    std::optional<regions::HealthCheck> health;
  };

  void schedule_touch(int elb);
  void next_request(int family);
  void request(int family);
  void health_check();
  void incident_delete();
  void merge();
  void restore_elb(int elb);

  Simulation& sim_;
  ElbParams params_;
  Rng touch_rng_, traffic_rng_, incident_rng_;
  std::vector<Elb> elbs_;
  std::vector<Family> families_;
  Counter *cp_requests_, *cp_successes_, *cp_failures_;
  bool workflows_enabled_ = true;
};

}  // namespace faultline::sim::elb
