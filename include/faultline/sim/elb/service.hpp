// One region's ELB service (sim/elb) as a building block: load balancers whose nodes route by
// the backend list they were last programmed with, a control plane whose workflows (scale
// events, config pushes) reprogram running load balancers from a state store, and the
// operators' restores. sim/elb's ElbRegion builds the Christmas Eve 2012 story on it; sim/zuul
// puts one in front of each region's Zuul tier (a family's own ELB, model-facts §4.2).
//
// On the world layer: every LB node is a world node on its own host (group "elb/<elb>", the
// nodes placed round robin over the zones given), the control plane and the state store are
// world nodes too. A workflow reads the ELB's record from the store by RPC and sends each node
// it reprograms its new configuration; a node that boots again after a crash is a replacement
// that asks the control plane to program it, and black-holes requests until it is programmed.
// From intact state a node gets the full backend list; from missing state an empty one (§4.1:
// "it used the missing state and misconfigured that ELB"), unless the control plane fails
// static (it refuses, and the ELB keeps its last good configuration).
//
// What a node with a backend list does with a request is the user's (`Serve`): sim/elb answers
// after a service time, sim/zuul forwards it to a Zuul instance. A node without one does not
// answer (the caller times out).
//
// Trace records (source "elb", node = the ELB's name; traced ELBs only, the rest are counted):
// reprogram (from_missing_state, scale, nodes, backends, broken_nodes), refused (fail static),
// restored (reprogrammed by an operators' restore), workflow-failed (the store did not answer).
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/elb/params.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <functional>
#include <string>
#include <vector>

namespace faultline::sim::elb {

/// Names and places of one ELB service's nodes, its metrics and its random stream.
struct ServiceLayout {
  /// Node, host and group names of the control plane and the state store.
  std::string control_plane = "elb-control-plane";
  std::string control_plane_group = "elb/control-plane";
  std::string state_store = "elb-state-store";
  std::string state_store_group = "elb/state-store";
  world::ZoneId control_plane_zone{};
  world::ZoneId state_store_zone{};
  /// Every host the service adds (LB nodes, control plane, store).
  world::HostParams host;
  /// Workflow runs are counted as "<metrics>/{requests,successes,failures}".
  std::string metrics = "elb/control-plane";
  /// The random stream of the workflows (which node a scale event replaces, when each ELB is
  /// touched next).
  std::string rng = "elb/workflows";
};

class ElbService {
public:
  /// What a node programmed with a backend list does with a request. `lb` is the LB node, `elb`
  /// its ELB's index.
  using Serve =
      std::function<void(world::Node& lb, int elb, const world::Message&, world::Responder)>;

  /// Adds the control plane and the state store to `world`.
  ElbService(Simulation& sim, world::World& world, ControlPlaneParams params, ServiceLayout layout,
             Serve serve);
  ElbService(const ElbService&) = delete;
  ElbService& operator=(const ElbService&) = delete;

  /// Adds an ELB named `name` with `nodes` LB nodes ("<name>-<i>", group "elb/<name>", node i
  /// in zones[i % zones.size()]), its state intact, every node programmed with the full list;
  /// a workflow touches it at exponential intervals of mean `touch_mean`. Only a traced ELB's
  /// reprogramming is recorded in the trace. Returns its index.
  int add_elb(std::string name, bool traced, int nodes, Duration touch_mean,
              const std::vector<world::ZoneId>& zones);

  /// Starts the workflows (now, or when the control plane's node is next up).
  void start();

  int elbs() const { return static_cast<int>(elbs_.size()); }
  const std::string& name(int elb) const { return at(elb).name; }
  const std::vector<world::NodeId>& nodes(int elb) const { return at(elb).nodes; }
  world::NodeId control_plane_node() const { return control_plane_; }
  world::NodeId state_store_node() const { return state_store_; }

  /// The ELB's record in the state store: deleted (what the maintenance process did), or back
  /// (a snapshot merged). Running nodes are not changed by either.
  void delete_state(int elb) { at(elb).state = false; }
  void restore_state(int elb) { at(elb).state = true; }
  bool state_present(int elb) const { return at(elb).state; }

  /// Runs one workflow on the ELB now: a scale event (one node) or a config push. It takes a
  /// store round trip and a message to each node, so its effect shows after the simulation
  /// runs on. False if the control plane is down (nothing happens).
  bool touch(int elb, bool scale);
  /// The operators' order to reprogram every node of the ELB from its state: run by the control
  /// plane now, or when it is next up; retried after `retry_after` while the store does not
  /// answer.
  void order_restore(int elb);
  /// Scheduled workflows run only while enabled (the operators can disable them).
  void set_workflows_enabled(bool on) { workflows_enabled_ = on; }
  bool workflows_enabled() const { return workflows_enabled_; }

  /// Nodes that black-hole requests: programmed with an empty backend list, or replacements
  /// the control plane has not programmed yet.
  int broken_nodes(int elb) const;
  /// ELBs with at least one broken node.
  int impacted() const;
  const ControlPlaneParams& params() const { return params_; }

private:
  struct Elb {
    std::string name;
    bool traced = false;
    bool state = true;  // the record in the state store (durable: it outlives a store crash)
    std::vector<world::NodeId> nodes;
    std::vector<bool> broken;      // per node: programmed with an empty backend list
    std::vector<bool> programmed;  // per node: false while a replacement waits to be programmed
    Duration touch_mean;
  };
  class LbNode;
  class ControlPlane;
  class StateStore;
  friend class LbNode;
  friend class ControlPlane;
  friend class StateStore;

  Elb& at(int elb) { return elbs_[static_cast<std::size_t>(elb)]; }
  const Elb& at(int elb) const { return elbs_[static_cast<std::size_t>(elb)]; }
  /// The live control-plane program, or nullptr while its node is down.
  ControlPlane* control_plane() const;

  Simulation& sim_;
  world::World& world_;
  ControlPlaneParams params_;
  ServiceLayout layout_;
  Serve serve_;
  Rng rng_;
  std::vector<Elb> elbs_;
  world::NodeId control_plane_, state_store_;
  /// Restores ordered while the control plane was down, run when it is next up (in order).
  std::vector<int> pending_restores_;
  bool started_ = false;
  bool workflows_enabled_ = true;
  Counter *requests_, *successes_, *failures_;
};

}  // namespace faultline::sim::elb
