// One region's ELB service (sim/elb): the data plane (LB nodes routing by the backend list they
// were programmed with), the control plane (workflows that reprogram running ELBs from the state
// store), the device families' ELBs and their traffic, the 2012 state deletion and its recovery,
// and DNS failover to a second region (the DNS steering of sim/regions: a weighted record per
// family and its clients' resolver caches). See sim/elb/README.md.
//
// On the world layer: every LB node is a world node on its own host (group "elb/<elb>", placed
// round robin over the region's three zones us-east-1a..c), and each device family is a node
// "device-<family>" (group "device/<family>") on a host in the region "internet"; a stream start
// is an RPC from the device to an LB node. The control plane is a world node too
// ("elb-control-plane", group "elb/control-plane", us-east-1a), and so is its state store
// ("elb-state-store", group "elb/state-store", us-east-1b): a workflow reads the ELB's state
// from the store by RPC and sends each node it reprograms its new backend list; a node that
// boots again after a crash is a replacement that asks the control plane to program it, and
// black-holes requests until it is programmed. So the world's faults act on every part: a
// crashed or paused LB node, a lost zone or a partition costs the device its timeout; a
// control plane that is down or cut off from the store reprograms nothing (running ELBs keep
// their last configuration, replacements stay empty).
//
// Metric names (sim.metrics()):
//   elb/<family>/{requests,successes,failures,latency}   stream starts of one device family
//   elb/control-plane/{requests,successes,failures}       workflow runs; failure = the ELB's
//                                                         state was missing or the store did
//                                                         not answer (an API error)
// Trace records (source "elb"): state-deleted, reprogram (node = the ELB; from_missing_state,
// nodes, backends), refused (fail static), workflows-disabled, snapshot-restored, merged,
// restored (an ELB reprogrammed from restored state), families-repaired, workflow-failed (the
// store did not answer; family ELBs only), failover (the family's
// DNS record switched to the other region; clients follow as their resolvers' answers expire).
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/elb/params.hpp>
#include <faultline/sim/elb/service.hpp>
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
  world::NodeId control_plane_node() const { return service_->control_plane_node(); }
  world::NodeId state_store_node() const { return service_->state_store_node(); }

  /// Starts workflows, traffic, the incident's timeline and the health checks.
  void start();

  /// ELBs: the families' first (in params order), then the fleet's.
  int elbs() const { return service_->elbs(); }
  int family_elb(int family) const { return family; }
  /// Deletes the state of one ELB in the store (what the maintenance process did to its
  /// records).
  void delete_state(int elb) { service_->delete_state(elb); }
  bool state_present(int elb) const { return service_->state_present(elb); }
  /// Runs one control-plane workflow on a running ELB now: a scale event (one node) or a config
  /// push. It takes a store round trip and a message to each node, so its effect shows after
  /// the simulation runs on. False if the control plane is down (nothing happens).
  bool touch(int elb, bool scale) { return service_->touch(elb, scale); }
  /// Nodes that black-hole requests: programmed with an empty backend list, or replacements
  /// the control plane has not programmed yet.
  int broken_nodes(int elb) const { return service_->broken_nodes(elb); }
  /// ELBs with at least one broken node, and their share of all ELBs.
  int impacted() const { return service_->impacted(); }
  double impacted_fraction() const { return static_cast<double>(impacted()) / elbs(); }
  bool failed_over(int family) const;
  /// Share of a family's resolvers whose cached answer is the other region (0 without failover).
  double other_region_share(int family) const;
  bool workflows_enabled() const { return service_->workflows_enabled(); }
  const ElbParams& params() const { return params_; }

private:
  class Device;
  class OtherRegionNode;
  class EastZuul;
  friend class Device;
  friend class OtherRegionNode;
  friend class EastZuul;
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
    /// With failover: the LB nodes of the family's ELB in the other region.
    std::vector<world::NodeId> other_region_nodes;
  };

  /// With failover: the other region ("us-west", zones us-west-2a..c), a family ELB there per
  /// family, the links to it, and (Isthmus) this region's Zuul.
  void add_other_region(world::RegionId east, world::RegionId internet);
  /// A served stream start's time at the serving stack: base + Exp(mean).
  Duration service_time();
  /// One stream start of `family` from its device node.
  void request(world::Node& device, int family);
  void health_check();
  void incident_delete();
  void merge();

  Simulation& sim_;
  ElbParams params_;
  std::unique_ptr<world::World> world_;
  Rng traffic_rng_, incident_rng_;
  /// The control plane, its state store and every ELB (the families' first, then the fleet's).
  std::unique_ptr<ElbService> service_;
  std::vector<Family> families_;
  std::vector<world::NodeId> devices_;
  world::NodeId east_zuul_;
};

}  // namespace faultline::sim::elb
