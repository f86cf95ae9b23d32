// The simulated world: topology, hosts, nodes, network and fault injector in one object.
//
//   Simulation sim({.seed = 7, .epoch = UtcInstant::from_civil(2012, 6, 30, 23)});
//   World world(sim, WorldParams{});
//   auto r = world.add_region("us-east");
//   auto z = world.add_zone(r, "us-east-1a");
//   auto h = world.add_host(z, "h1");
//   NodeId n = world.add_node(h, "kv-1", "kv", [](Node& n) { return std::make_unique<Kv>(n); });
//   world.faults().schedule({.at = 10_s, .kind = FaultKind::kCrash, .target = {...}});
//   sim.run_until(Time::zero() + 1_min);
//
// Everything is created through the world, which owns it; ids are dense and in creation
// order. The World must be destroyed before its Simulation.
#pragma once

#include <faultline/simulation.hpp>
#include <faultline/world/clock.hpp>
#include <faultline/world/fault.hpp>
#include <faultline/world/host.hpp>
#include <faultline/world/network.hpp>
#include <faultline/world/node.hpp>
#include <faultline/world/params.hpp>
#include <faultline/world/topology.hpp>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {

struct WorldParams {
  NetworkParams network;
  /// Used by add_host when no HostParams are given.
  HostParams host_defaults;
  /// Inserted leap seconds, each named by the UTC midnight right after it (e.g.
  /// 2012-07-01T00:00:00Z for 2012-06-30T23:59:60Z).
  std::vector<UtcInstant> leap_seconds;

  void validate() const;
};

class World {
public:
  /// Validates `params` (std::invalid_argument on bad input).
  World(Simulation& sim, WorldParams params = {});
  World(const World&) = delete;
  World& operator=(const World&) = delete;
  ~World();

  Simulation& sim() const { return *sim_; }
  const WorldParams& params() const { return params_; }
  Topology& topology() { return topology_; }
  const Topology& topology() const { return topology_; }
  Network& network() { return *network_; }
  FaultInjector& faults() { return *faults_; }
  const LeapTable& leaps() const { return leaps_; }

  // --- building --------------------------------------------------------------------------
  RegionId add_region(std::string name) { return topology_.add_region(std::move(name)); }
  ZoneId add_zone(RegionId r, std::string name) { return topology_.add_zone(r, std::move(name)); }
  HostId add_host(ZoneId z, std::string name) { return add_host(z, std::move(name), params_.host_defaults); }
  HostId add_host(ZoneId z, std::string name, HostParams params);
  /// Builds the whole topology from a spec, every host with the default HostParams.
  void build(const TopologySpec& spec);
  /// Adds a process on `host`; it boots at the current time (after events already due now).
  NodeId add_node(HostId host, std::string name, std::string group, ProgramFactory factory);

  // --- lookups ---------------------------------------------------------------------------
  Host& host(HostId h) { return *hosts_.at(h.value()); }
  Node& node(NodeId n) { return *nodes_.at(n.value()); }
  std::size_t host_count() const { return hosts_.size(); }
  std::size_t node_count() const { return nodes_.size(); }
  Host* find_host(std::string_view name);
  Node* find_node(std::string_view name);
  /// Nodes whose group is `group`, in id order.
  std::vector<NodeId> group(std::string_view group) const;
  /// Hosts of a zone or region.
  std::vector<HostId> hosts_in(ZoneId z) const { return topology_.hosts_in(z); }
  std::vector<HostId> hosts_in(RegionId r) const { return topology_.hosts_in(r); }

  // --- true time -------------------------------------------------------------------------
  /// True UTC at t, leap-aware (see LeapTable::posix_utc).
  UtcInstant true_utc(Time t) const { return leaps_.posix_utc(t); }
  /// The true time at which the leap second before `midnight` begins.
  Time leap_start(UtcInstant midnight) const { return leaps_.leap_start(midnight); }

private:
  Simulation* sim_;
  WorldParams params_;
  LeapTable leaps_;
  Topology topology_;
  std::unique_ptr<Network> network_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, NodeId, std::less<>> node_names_;
  std::vector<EventId> boot_events_;
  std::size_t boot_prune_at_ = 1024;  // boot_events_'s size that triggers the next drop
  std::unique_ptr<FaultInjector> faults_;
};

}  // namespace faultline::world
