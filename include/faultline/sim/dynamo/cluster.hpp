// A Dynamo cluster on the world layer: storage nodes on a consistent-hashing ring, gossip
// membership, leaderless N/R/W replication with sloppy quorum and hinted handoff, read repair,
// Merkle anti-entropy, an optional write buffer, and shopping-cart clients that coordinate
// requests themselves or through a load balancer and a random node (DeCandia et al., SOSP
// 2007). Each node runs its work on worker threads over one disk, so coordination queues
// behind storage calls (see sim/dynamo/README.md).
//
//   Simulation sim({.seed = 1});
//   world::World world(sim);
//   DynamoParams p;  p.nodes = 6;  p.clients.push_back({.name = "cart", .rate_per_s = 50});
//   Cluster cluster(p);
//   cluster.build(world);
//   sim.run_until(Time::zero() + 60_s);
//   REQUIRE(cluster.check_cart_adds_kept().ok);
//
// The cluster must be destroyed before the World and the Simulation it was built in.
#pragma once

#include <faultline/check/result.hpp>
#include <faultline/sim/dynamo/cart_checker.hpp>
#include <faultline/sim/dynamo/params.hpp>
#include <faultline/sim/dynamo/ring.hpp>
#include <faultline/sim/dynamo/versions.hpp>
#include <faultline/task.hpp>
#include <faultline/world/world.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamo {

/// Registry names of one measured population's counters and latency histogram.
struct MetricNames {
  std::string requests, successes, failures, attempts, latency;
};
/// A client population's cart operations ("dynamo.client/<name>.*").
MetricNames client_metric_names(std::string_view client);
/// Every get ("dynamo.get.*") or put ("dynamo.put.*") a client issued, as one logical request.
MetricNames op_metric_names(std::string_view op);

struct GetResult {
  bool ok = false;
  std::vector<Version> versions;  // syntactically reconciled: no version supersedes another
};

class Cluster {
public:
  /// Validates `params` (std::invalid_argument on bad input); builds nothing yet.
  explicit Cluster(DynamoParams params);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// Creates hosts, storage nodes and client nodes in `world` and starts the workload.
  void build(world::World& world);

  static constexpr std::string_view kNodeGroup = "dynamo";
  /// Load balancers in front of the nodes for server-driven clients ("lb-<zone>-<j>").
  static constexpr std::string_view kBalancerGroup = "dynamo-lb";
  static std::string client_group(std::string_view client) { return "client/" + std::string(client); }
  static std::string node_name(int i) { return "dynamo-" + std::to_string(i); }

  const DynamoParams& params() const;
  const Ring& ring() const;
  world::NodeId storage_node(int i) const;
  std::vector<world::NodeId> client_nodes(std::string_view client) const;

  // --- client API (coroutines of a client node; tests drive these directly) ---------------
  /// Reads `key` through the client's coordination mode, with its attempts and timeouts.
  Task<GetResult> get(world::Node& client, std::string key);
  /// Writes `items` as the successor of `context`.
  Task<bool> put(world::Node& client, std::string key, VectorClock context,
                 std::vector<std::string> items);
  /// Read-merge-modify-write of one cart item, recorded in the cart history.
  Task<bool> cart_add(world::Node& client, std::string cart, std::string item);
  Task<bool> cart_remove(world::Node& client, std::string cart, std::string item);

  // --- inspection (true state, for checkers, probes and tests) ----------------------------
  /// Every version node `i` holds for `key`: durable, write buffer and hinted.
  std::vector<Version> replica_versions(int i, const std::string& key) const;
  /// Hinted (owner, key) entries node `i` holds for other nodes.
  std::size_t hints_held(int i) const;
  /// Whether storage node `observer` (up) currently believes node `peer` healthy, from its
  /// gossip view and local failure detection.
  bool believes_healthy(int observer, int peer) const;
  std::size_t hints_pending() const;
  /// Keys whose natural replicas (the top N, live ones only) hold different version sets.
  std::size_t divergent_keys() const;
  /// Every key any node stores.
  std::vector<std::string> keys() const;
  /// Each cart as a reader sees it once every replica's versions are reconciled.
  std::map<std::string, std::vector<std::string>> final_carts() const;
  const std::vector<CartOp>& cart_history() const;
  CartAudit audit() const;
  check::CheckResult check_cart_adds_kept() const;

  // --- load (per node, over the last completed load window) -------------------------------
  /// Requests each node handled as the first live node of the key's preference list (its
  /// owner's share of the work), and replica reads/writes each node served.
  std::vector<std::uint64_t> owner_load() const;
  std::vector<std::uint64_t> replica_load() const;
  /// max / mean over live nodes (1 = perfectly even); NaN when no load was measured.
  double max_owner_load_ratio() const;
  double max_replica_load_ratio() const;
  /// Share of live nodes whose owner load is more than 15 % from the mean (paper §6.2).
  double out_of_balance_fraction() const;
  /// Share of successful gets that returned more than one version.
  double divergent_read_fraction() const;

  /// Implementation detail (sim/dynamo/cluster.cpp); not part of the API.
  struct Impl;

private:
  Task<bool> cart_update(world::Node& client, CartOp::Kind kind, std::string cart,
                         std::string item);

  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::sim::dynamo
