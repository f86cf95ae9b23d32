// The DynamoDB service layer on faultline::world: request routers, storage nodes holding
// partition replicas, the metadata service they check in with, customers, and a queue service
// built on a table.
//
// Mechanism (nothing here knows about "storms"):
// - Each partition has one replica per zone on a storage node. A node's membership has one
//   entry per replica it holds, so its check-in response (bytes on the metadata host's NIC)
//   and the metadata service's CPU per check-in grow with the partitions and GSIs it holds.
// - A storage node checks in on startup, every checkin_interval, after a disruption (a
//   keepalive, queued at the metadata host behind its check-ins, went unanswered; the node
//   checks in once a network probe gets through) and again after a failed check-in. A
//   check-in that does not complete within its timeout makes the node take itself out of
//   service (unless self_evict_on_timeout is false) and retry after a backoff. The metadata
//   service does not know its caller gave up: it still does the work.
// - A node back from time out verifies its data and pulls the writes it missed from peer
//   replicas, one partition at a time; each partition serves again once it has caught up.
// - A customer request goes to a router, which applies the table's throughput rules and asks
//   the partition's replicas in turn; a replica in service accepts it if one more replica in
//   service acknowledges it (a majority of three). So the customer error rate is the share of
//   requests whose partition has no serving majority.
// The model records counters and series in sim.metrics() under "dynamodb/..." (see
// client_metric_names) and exposes probes for scenario expectations.
#pragma once

#include <faultline/sim/dynamodb/params.hpp>
#include <faultline/sim/dynamodb/throughput.hpp>
#include <faultline/world/world.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamodb {

struct ClientMetricNames {
  std::string requests, successes, failures, throttled, latency;
};
/// Metric names of a customer population or of the queue service's clients.
ClientMetricNames client_metric_names(std::string_view client);

struct PartitionInfo {
  int table = 0;      // index into the flattened table list
  int partition = 0;  // index within that table
  std::vector<int> replicas;  // storage node indices, first = preferred leader
};

/// One flattened table: a TableParams with count > 1 becomes count tables.
struct TableInfo {
  std::string name;
  std::string spec;  // the TableParams name it came from
  int first_partition = 0;  // index into partitions()
  int partitions = 0;
};

class DynamoDbCluster {
public:
  /// Validates `params` (std::invalid_argument).
  explicit DynamoDbCluster(DynamoDbParams params);
  DynamoDbCluster(const DynamoDbCluster&) = delete;
  DynamoDbCluster& operator=(const DynamoDbCluster&) = delete;
  ~DynamoDbCluster();

  /// Creates the region, zones, hosts and nodes in `world` and starts the workload.
  void build(world::World& world);

  const DynamoDbParams& params() const { return params_; }

  // --- layout (available after construction, before build) --------------------------------
  const std::vector<TableInfo>& tables() const;
  const std::vector<PartitionInfo>& partitions() const;
  int storage_nodes() const;
  /// Membership entries of storage node i: the partition replicas it holds.
  int membership_entries(int node) const;
  std::uint64_t membership_bytes(int node) const;
  Duration checkin_cpu(int node) const;
  Duration checkin_timeout(int node) const;

  // --- probes (after build) ----------------------------------------------------------------
  /// Fraction of storage nodes in service.
  double storage_in_service_fraction() const;
  int storage_in_service() const;
  bool in_service(int node) const;
  /// Fraction of partitions without a majority of replicas in service.
  double partitions_unavailable_fraction() const;
  /// Fraction of the metadata service's workers busy now (active hosts only).
  double metadata_utilisation() const;
  /// Check-ins waiting for a metadata worker.
  std::size_t metadata_queue_length() const;

  // --- groups (fault targets) --------------------------------------------------------------
  static std::string storage_group(std::string_view zone) { return "storage/" + std::string(zone); }
  static constexpr std::string_view metadata_group() { return "metadata"; }
  static constexpr std::string_view router_group() { return "router"; }
  static std::string client_group(std::string_view c) { return "client/" + std::string(c); }
  /// Every group name the cluster creates, for fault-target checks.
  std::vector<std::string> groups() const;

  /// Node ids of the storage nodes (after build), in index order.
  const std::vector<world::NodeId>& storage_node_ids() const;

  struct State;  // shared model state (private to sim/dynamodb)

private:
  DynamoDbParams params_;
  // Shared with every program and scheduled action of the model, so the order in which the
  // cluster, the world and the simulation are destroyed does not matter.
  std::shared_ptr<State> state_;
};

}  // namespace faultline::sim::dynamodb
