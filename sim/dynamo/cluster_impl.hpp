// Private to sim/dynamo: the wire messages, a process's view of the storage nodes, where a
// process runs its CPU work, the cluster's shared state (Cluster::Impl), and the entry points
// between coordinator.cpp (quorum reads and writes), storage_node.cpp, front_end.cpp (load
// balancers and clients) and cluster.cpp (build, client API, inspection).
#pragma once

#include <faultline/rng.hpp>
#include <faultline/sim/dynamo/arc_keys.hpp>
#include <faultline/sim/dynamo/cluster.hpp>

#include <faultline/world/world.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace faultline::sim::dynamo::detail {

using world::Node;
using world::NodeId;
using world::Payload;
using world::Responder;
using world::RpcResult;

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kHeaderBytes = 128;

inline std::uint64_t versions_bytes(const std::vector<Version>& vs) {
  std::uint64_t b = kHeaderBytes;
  for (const auto& v : vs) {
    b += 16 * v.clock.size() + 24;
    for (const auto& i : v.items) {
      b += i.size() + 8;
    }
  }
  return b;
}

// --- messages ---------------------------------------------------------------------------
struct ClientGetReq {
  std::string key;
  bool forwarded = false;
};
struct ClientPutReq {
  std::string key;
  VectorClock context;
  std::vector<std::string> items;
  bool forwarded = false;
};
struct ClientReply {
  bool ok = false;
  std::vector<Version> versions;
};
struct ReplicaReadReq {
  std::string key;
};
struct ReplicaReadReply {
  std::vector<Version> versions;
};
struct ReplicaWriteReq {
  std::string key;
  std::vector<Version> versions;
  std::uint32_t hint_owner = kNone;  // a sloppy-quorum stand-in keeps it for this node
  bool durable = true;               // false: may go to the write buffer
};
struct Ack {};
struct GossipMsg {
  std::vector<std::uint64_t> heartbeats;
};
struct MembershipReq {};
struct MembershipReply {
  std::vector<bool> up;
};
struct MerkleReq {
  std::size_t arc = 0;
  int level = 0;
  std::vector<std::size_t> indices;
};
struct MerkleReply {
  std::vector<std::uint64_t> hashes;
};
using Entries = std::vector<std::pair<std::string, std::vector<Version>>>;
struct KeySyncReq {
  std::size_t arc = 0;
  std::vector<std::size_t> leaves;
  Entries entries;
};
struct KeySyncReply {
  Entries entries;
};

/// What one process believes about the health of the storage nodes: gossip heartbeats
/// (storage nodes) or a polled snapshot (client-driven clients), plus local failure detection:
/// a node that did not answer is avoided for a while, and a node that answered this process
/// within the failure timeout counts as healthy whatever the gossip or the poll says. Dynamo's
/// failure detection is local (paper 4.8.3: "node A may consider node B failed if node B does
/// not respond to node A's messages"), so first-hand evidence outranks second-hand: a node
/// whose gossip rounds happened to miss its zone's peers must not declare peers down that its
/// clients reach every few milliseconds.
struct View {
  bool gossip = true;
  std::uint32_t self = kNone;
  std::vector<std::uint64_t> heartbeat;
  std::vector<Time> changed_at;
  std::vector<bool> reported_up;
  std::vector<Time> suspect_until;
  std::vector<std::optional<Time>> answered_at;  // last reply this process got from the node

  void init(std::size_t n, bool use_gossip, std::uint32_t me, Time now) {
    gossip = use_gossip;
    self = me;
    heartbeat.assign(n, 0);
    changed_at.assign(n, now);
    reported_up.assign(n, true);
    suspect_until.assign(n, Time::zero());
    answered_at.assign(n, std::nullopt);
  }
  /// Node `i` replied to this process at `now`.
  void answered(std::uint32_t i, Time now) {
    suspect_until[i] = Time::zero();
    answered_at[i] = now;
  }
  bool healthy(std::uint32_t i, Time now, Duration failure_timeout) const {
    if (i == self) {
      return true;
    }
    if (now < suspect_until[i]) {
      return false;
    }
    if (answered_at[i] && now - *answered_at[i] < failure_timeout) {
      return true;
    }
    return gossip ? now - changed_at[i] < failure_timeout : reported_up[i];
  }
};

/// Runs `fn` after `cost` of CPU on `node`'s host (queueing behind whatever else the host
/// runs); at once when the cost is zero. `fn` does not run if the incarnation dies first.
inline void run_cpu(Node& node, Duration cost, std::function<void()> fn) {
  if (cost <= Duration::zero()) {
    fn();
    return;
  }
  node.compute(cost, std::move(fn));
}

/// Where a process runs its CPU work: a client on its host's CPU, a storage node on its
/// worker threads.
class Executor {
public:
  virtual ~Executor() = default;
  virtual void run(Duration cpu, std::function<void()> fn) = 0;
};

class HostCpu final : public Executor {
public:
  void init(Node& node) { node_ = &node; }
  void run(Duration cpu, std::function<void()> fn) override { run_cpu(*node_, cpu, std::move(fn)); }

private:
  Node* node_ = nullptr;
};
struct NodeDisk {
  using Hints = std::map<std::pair<std::uint32_t, std::string>, std::vector<Version>>;
  /// Every key's versions on disk. A hash map: a run only looks keys up (its one walk,
  /// Cluster::keys(), collects them into a sorted set), so no order reaches the run.
  std::unordered_map<std::string, std::vector<Version>> data;
  Hints hints;  // (owner, key)
  /// Index of `hints` by key: the owners this node holds a hint of the key for, ascending. A
  /// replica read merges a key's hints from it instead of one lookup per node of the cluster.
  std::map<std::string, std::set<std::uint32_t>> hint_owners;
  /// The keys this node has held (on disk or in its write buffer) by ring arc: the Merkle
  /// trees are built from them. Built when the node is first asked for a tree, from the keys
  /// it holds then (anti-entropy is often off, and then no run pays for an index nobody
  /// reads); from then on a key is added when the node first stores it. A key lost with the
  /// write buffer stays listed and holds nothing, so trees skip it: an index built late
  /// yields the same trees as one kept from the start.
  std::map<std::size_t, ArcKeys> keys_by_arc;
  bool arcs_indexed = false;

  /// The hint of `key` held for `owner`, created empty if there is none.
  std::vector<Version>& hint(std::uint32_t owner, const std::string& key) {
    hint_owners[key].insert(owner);
    return hints[{owner, key}];
  }
  void erase_hint(Hints::iterator it) {
    auto o = hint_owners.find(it->first.second);
    o->second.erase(it->first.first);
    if (o->second.empty()) {
      hint_owners.erase(o);
    }
    hints.erase(it);
  }
};

}  // namespace faultline::sim::dynamo::detail

namespace faultline::sim::dynamo {

struct Cluster::Impl {
  DynamoParams p;
  Simulation* sim = nullptr;
  world::World* world = nullptr;
  std::unique_ptr<Ring> ring;
  std::vector<world::NodeId> storage_ids;
  std::vector<detail::NodeDisk> disks;          // durable state per storage node (survives crashes)
  std::vector<Rng> storage_rng;
  std::vector<Rng> gossip_rng;
  std::vector<std::vector<std::size_t>> arcs_of_node;
  std::vector<std::vector<std::uint32_t>> replicas_of_arc;
  std::map<std::string, std::vector<world::NodeId>, std::less<>> client_ids;
  std::map<std::string, std::vector<world::NodeId>, std::less<>> balancers_of_zone;
  std::vector<CartOp> history;
  /// Dots issued per (writer, key). Only looked up, never walked, so a hash map: a tree of
  /// every key ever written was a walk of string compares on every write.
  struct WriterKeyHash {
    std::size_t operator()(const std::pair<std::uint32_t, std::string>& wk) const {
      return static_cast<std::size_t>(fnv1a64(wk.second, hash64(wk.first)));
    }
  };
  std::unordered_map<std::pair<std::uint32_t, std::string>, std::uint64_t, WriterKeyHash>
      writer_seq;
  std::vector<std::uint64_t> owner_cur, owner_last, replica_cur, replica_last;
  bool have_window = false;
  std::uint64_t gets_ok = 0;
  std::uint64_t gets_divergent = 0;
  std::unique_ptr<Process> process;

  Duration draw(Rng& rng, Duration median, double sigma) {
    if (sigma == 0.0) {
      return median;
    }
    return Duration::from_seconds(rng.lognormal(std::log(median.to_seconds()), sigma));
  }
  Duration read_time(std::uint32_t node) {
    return draw(storage_rng[node], p.storage.read_median, p.storage.read_sigma);
  }
  Duration write_time(std::uint32_t node) {
    return draw(storage_rng[node], p.storage.write_median, p.storage.write_sigma);
  }
  bool live(std::uint32_t i) const { return world->node(storage_ids[i]).up(); }
  /// Where a server-driven request goes first: a load balancer of the client's zone, or
  /// (without load balancers) a random storage node.
  world::NodeId server_entry(Rng& rng, const ClientParams& cp) const {
    auto it = balancers_of_zone.find(cp.zone.empty() ? p.zones.front() : cp.zone);
    if (it != balancers_of_zone.end() && !it->second.empty()) {
      return it->second[static_cast<std::size_t>(rng.below(it->second.size()))];
    }
    return storage_ids[static_cast<std::size_t>(rng.below(storage_ids.size()))];
  }
  std::vector<Version> local_data(std::uint32_t i, const std::string& key) const;
  std::vector<Version> all_versions(std::uint32_t i, const std::string& key) const;
  Task<void> load_windows();
};

}  // namespace faultline::sim::dynamo

namespace faultline::sim::dynamo::detail {

/// Reads `key` (R replies of the first N healthy nodes), after the coordinator's CPU work
/// (coordinator.cpp).
void start_read(Cluster::Impl& c, Node& node, Executor& exec, View& view, std::string key,
                std::function<void(bool, std::vector<Version>)> finish);
/// Writes `items` as the successor of `context`, under a fresh dot of `writer`. The
/// coordinator's CPU work (starting the request, then reconciling and answering) runs on its
/// host's CPU, so a busy coordinator delays the request twice.
void start_write(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                 std::uint32_t writer, std::string key, VectorClock context,
                 std::vector<std::string> items, std::function<void(bool)> finish);

/// What the cluster's inspection asks of a storage node's program (storage_node.cpp).
class StorageNodeAccess : public world::Program {
public:
  /// Adds the versions of `key` held in memory (the write buffer and a flush in progress).
  virtual void add_buffered(const std::string& key, std::vector<Version>& out) const = 0;
  virtual void buffered_keys(std::vector<std::string>& out) const = 0;
  virtual const View& view() const = 0;
};

/// What the client API asks of a client process's program (front_end.cpp).
class ClientAccess : public world::Program {
public:
  virtual const ClientParams& params() const = 0;
  virtual View& view() = 0;
  virtual Executor& cpu() = 0;
  virtual Rng& rng() = 0;
  virtual std::uint32_t writer() const = 0;
};

std::unique_ptr<world::Program> make_storage_program(Cluster::Impl& c, std::uint32_t self);
std::unique_ptr<world::Program> make_balancer_program(Cluster::Impl& c, const std::string& name);
std::unique_ptr<world::Program> make_client_program(Cluster& cluster, Cluster::Impl& c,
                                                    const ClientParams& cp, int index,
                                                    std::uint32_t writer_id);

}  // namespace faultline::sim::dynamo::detail
