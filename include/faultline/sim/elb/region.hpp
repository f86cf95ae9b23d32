// One region's ELB service (sim/elb): the data plane (LB nodes routing by the backend list they
// were programmed with), the control plane (workflows that reprogram running ELBs from the state
// store), the device families' ELBs and their traffic, the 2012 state deletion and its recovery,
// and DNS failover to a second region (the DNS steering of sim/regions: a weighted record per
// family and its clients' resolver caches). See sim/elb/README.md.
//
// On the world layer: every LB node is a world node on its own host (group "elb/<elb>", placed
// round robin over the region's three zones us-east-1a..c), and each device family is a node
// "device-<family>" (group "device/<family>") on a host in the region "internet"; a stream start
// is an RPC from the device to an LB node. So the world's faults act on the ELBs: a crashed or
// paused LB node, a lost zone or a partition costs the device its timeout. The control plane
// (workflows, the state store) is the region object itself: it reprograms running nodes, and a
// node that boots again after a crash is programmed from the ELB's state then (a replacement).
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
#include <faultline/world/world.hpp>

#include <memory>

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
  ~ElbRegion();

  /// The node groups the region creates ("device/tv", "elb/api-tv", "elb/fleet-0"...), sorted:
  /// the targets a fault plan may name besides hosts, zones and regions.
  static std::vector<std::string> groups(const ElbParams& params);
  world::World& world() { return *world_; }
  /// The world node of LB node `node` of `elb`.
  world::NodeId lb_node(int elb, int node) const;

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
    std::vector<world::NodeId> nodes;
    std::vector<bool> broken;  // per node: programmed with an empty backend list
    Duration touch_mean;
  };
  class LbNode;
  class Device;
  friend class LbNode;
  friend class Device;
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
  /// Programs node `node` of `elb`, booting after a crash (a replacement), from the ELB's
  /// state: a control-plane workflow.
  void program_replacement(int elb, int node);
  /// One stream start of `family` from its device node.
  void request(world::Node& device, int family);
  void health_check();
  void incident_delete();
  void merge();
  void restore_elb(int elb);

  Simulation& sim_;
  ElbParams params_;
  std::unique_ptr<world::World> world_;
  Rng touch_rng_, traffic_rng_, incident_rng_;
  std::vector<Elb> elbs_;
  std::vector<Family> families_;
  std::vector<world::NodeId> devices_;
  Counter *cp_requests_, *cp_successes_, *cp_failures_;
  bool workflows_enabled_ = true;
};

}  // namespace faultline::sim::elb
