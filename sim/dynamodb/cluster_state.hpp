// Private to sim/dynamodb: the wire messages, the model's shared state and the programs'
// factories, shared by cluster.cpp (layout, build, probes), metadata_program.hpp (the
// metadata service), storage_node.cpp (storage nodes) and front_end.cpp (routers, the queue
// service and the clients).
#pragma once

#include <faultline/sim/dynamodb/cluster.hpp>

#include <faultline/world/world.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::dynamodb::detail {

using world::Message;
using world::Node;
using world::NodeId;
using world::Payload;
using world::Responder;
using world::RpcResult;

// --- wire messages ------------------------------------------------------------------------
struct CheckIn {
  int node = 0;
};
struct Membership {
  int entries = 0;
};
struct CheckInRefused {};
/// A session keepalive: answered by the metadata service, in its queue.
struct Heartbeat {};
/// A connection attempt: answered by the host at once (the network is what it tests).
struct Probe {};
/// A returning replica asks a peer for the writes it missed; the peer answers when it has
/// streamed them (`stream_time` at its re-replication rate).
struct CatchUp {
  int partition = 0;
  Duration stream_time;
};
/// A customer request to a router, or a router's request to a replica.
struct ItemRequest {
  int partition = 0;  // global partition index
  bool replicate = false;  // replica-to-replica acknowledgement
};
enum class Status : std::uint8_t { ok, not_serving, no_quorum, throttled, unavailable };
struct StatusReply {
  Status status = Status::ok;
};

constexpr std::uint64_t kSmallBytes = 256;
constexpr std::uint64_t kItemBytes = 1024;
// A replica or router gives up on one hop after this long (assumption: an intra-region hop
// takes ~1 ms).
constexpr Duration kHopTimeout = Duration::millis(100);
// A returning replica waits this long for a peer's stream; the peer's queue of returning
// replicas can be hours long, and an abandoned stream would be wasted work.
constexpr Duration kCatchUpTimeout = Duration::hours(24);

/// A client population as the cluster runs it (customers, or the queue service's clients).
struct ClientSpec {
  std::string name;
  double rate_per_s = 0.0;  // per process
  std::vector<int> tables;  // flattened tables it uses
  double hot_fraction = 0.0;
  Duration timeout;
  Duration start;
  bool via_queue = false;
  int processes = 1;
};

inline Payload status(Status s) { return Payload::make<StatusReply>(StatusReply{s}); }

inline Status status_of(const RpcResult& r) {
  if (!r.ok()) {
    return Status::unavailable;
  }
  const auto* s = r.payload.get<StatusReply>();
  return s != nullptr ? s->status : Status::unavailable;
}

class MetadataProgram;

}  // namespace faultline::sim::dynamodb::detail

namespace faultline::sim::dynamodb {

// --- shared state -------------------------------------------------------------------------
struct DynamoDbCluster::State {
  DynamoDbParams params;
  std::vector<TableInfo> tables;
  std::vector<PartitionInfo> partitions;
  std::vector<int> entries;           // per storage node
  std::vector<std::vector<int>> node_partitions;  // per storage node: partitions it holds
  std::vector<Time> out_since;        // per storage node: when it last left service
  // A node rejoining after time out serves its partitions one by one as it catches up: the
  // first ready_count[i] of node_partitions[i] while catching_up[i] is set.
  std::vector<std::uint8_t> catching_up;  // per storage node
  std::vector<int> ready_count;           // per storage node
  std::vector<std::vector<int>> slot;     // per partition, per replica: its index in that
                                          // node's node_partitions
  std::vector<std::uint8_t> serving;  // per storage node, as the node itself believes
  std::vector<int> cell_of;           // per storage node
  std::vector<std::uint64_t> assign_key;  // per storage node: picks its metadata instance
  std::vector<int> stream_backlog;    // per storage node: catch-up streams queued or running
  std::vector<TableThroughput> throughput;  // per flattened table
  std::vector<std::vector<int>> spec_tables;  // TableParams index -> flattened tables
  world::World* world = nullptr;
  Simulation* sim = nullptr;
  std::vector<world::NodeId> storage_ids, metadata_ids, router_ids, queue_ids;
  std::vector<detail::MetadataProgram*> metadata_programs;  // per instance; nullptr while down
  int active_instances = 0;  // the first N metadata instances take check-ins
  bool paused = false;
  bool admit_limited = false;
  std::vector<detail::ClientSpec> clients;  // fixed at build; client programs refer into it

  int zones() const { return static_cast<int>(params.zones.size()); }
  int storage_count() const { return params.storage.nodes_per_zone * zones(); }

  std::uint64_t bytes(int node) const {
    return params.metadata.response_base_bytes +
           static_cast<std::uint64_t>(entries[static_cast<std::size_t>(node)]) *
               params.metadata.bytes_per_entry;
  }
  Duration cpu(int node) const {
    return params.metadata.cpu_base + params.metadata.cpu_per_entry * entries[static_cast<std::size_t>(node)];
  }
  Duration timeout(int node) const {
    return params.storage.checkin_timeout +
           params.storage.timeout_per_entry * entries[static_cast<std::size_t>(node)];
  }
  /// The metadata instance storage node `node` checks in with: one of the active instances of
  /// its cell, picked by a hash of the node (as a client library hashes a host name), so some
  /// instances serve more nodes than others.
  world::NodeId metadata_for(int node) const {
    const int cells = params.metadata.cells;
    const int cell = cell_of[static_cast<std::size_t>(node)];
    // The active instances of the cell are cell, cell + cells, ... below active_instances
    // (validate() keeps cells <= instances, so there is at least one): counted, not walked,
    // so a check-in costs the same in a fleet of any size.
    const int in_cell = (active_instances - cell + cells - 1) / cells;
    const int k = static_cast<int>(assign_key[static_cast<std::size_t>(node)] % static_cast<std::uint64_t>(in_cell));
    return metadata_ids[static_cast<std::size_t>(cell + k * cells)];
  }
  /// Whether replica `r` of partition `p` serves: its node is up and in service, or is
  /// catching up and has caught up on this partition.
  bool replica_serving(int p, std::size_t r) const {
    const auto node = static_cast<std::size_t>(partitions[static_cast<std::size_t>(p)].replicas[r]);
    return world->node(storage_ids[node]).up() && replica_serving_if_up(p, r, node);
  }
  /// The same, for a replica whose node (`node`, the replica's) is known to be up: a scan of
  /// every partition reads each node's state once, not once per replica it holds.
  bool replica_serving_if_up(int p, std::size_t r, std::size_t node) const {
    return serving[node] != 0 ||
           (catching_up[node] != 0 && slot[static_cast<std::size_t>(p)][r] < ready_count[node]);
  }
  bool node_serving(int i) const {
    return serving[static_cast<std::size_t>(i)] != 0 &&
           world->node(storage_ids[static_cast<std::size_t>(i)]).up();
  }
};

}  // namespace faultline::sim::dynamodb

namespace faultline::sim::dynamodb::detail {

using State = DynamoDbCluster::State;

/// Sends `req` to the partition's replicas one at a time, from `next` on and skipping replica
/// `skip`, until one answers ok; then replies ok, or `exhausted` when none did. A router
/// serving an item and a storage node replicating a write both do this.
void ask_in_turn(Node& node, State& s, ItemRequest req, std::size_t next, int skip,
                 Duration timeout, Status exhausted, Responder r);

// The programs of the cluster's nodes (storage_node.cpp, front_end.cpp).
std::unique_ptr<world::Program> make_storage_program(std::shared_ptr<State> s, int index);
std::unique_ptr<world::Program> make_router_program(std::shared_ptr<State> s);
std::unique_ptr<world::Program> make_queue_program(std::shared_ptr<State> s, int index);
std::unique_ptr<world::Program> make_client_program(std::shared_ptr<State> s,
                                                    const ClientSpec& spec, int index);

}  // namespace faultline::sim::dynamodb::detail
