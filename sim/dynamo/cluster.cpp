// The Dynamo cluster: storage node and client programs, the request coordinator shared by
// both (server- and client-driven coordination), and the cluster's inspection API.
#include <faultline/probe.hpp>
#include <faultline/sim/dynamo/cluster.hpp>
#include <faultline/sim/dynamo/merkle.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>

namespace faultline::sim::dynamo {

namespace {
// A hint held for a failed node handed back to it once it looked healthy again (hinted
// handoff replay; faultline/probe.hpp).
const ProbePoint kProbeHintReplayed("dynamo/hinted-handoff/replayed");
}  // namespace

MetricNames client_metric_names(std::string_view client) {
  const std::string p = "dynamo.client/" + std::string(client);
  return {p + ".requests", p + ".successes", p + ".failures", p + ".attempts", p + ".latency"};
}

MetricNames op_metric_names(std::string_view op) {
  const std::string p = "dynamo." + std::string(op);
  return {p + ".requests", p + ".successes", p + ".failures", p + ".attempts", p + ".latency"};
}

namespace {

using world::Node;
using world::NodeId;
using world::Payload;
using world::Responder;
using world::RpcResult;

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kHeaderBytes = 128;

std::uint64_t versions_bytes(const std::vector<Version>& vs) {
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
/// (storage nodes) or a polled snapshot (client-driven clients), plus local failure detection
/// (a node that did not answer is avoided for a while).
struct View {
  bool gossip = true;
  std::uint32_t self = kNone;
  std::vector<std::uint64_t> heartbeat;
  std::vector<Time> changed_at;
  std::vector<bool> reported_up;
  std::vector<Time> suspect_until;

  void init(std::size_t n, bool use_gossip, std::uint32_t me, Time now) {
    gossip = use_gossip;
    self = me;
    heartbeat.assign(n, 0);
    changed_at.assign(n, now);
    reported_up.assign(n, true);
    suspect_until.assign(n, Time::zero());
  }
  bool healthy(std::uint32_t i, Time now, Duration failure_timeout) const {
    if (i == self) {
      return true;
    }
    if (now < suspect_until[i]) {
      return false;
    }
    return gossip ? now - changed_at[i] < failure_timeout : reported_up[i];
  }
};

/// Runs `fn` after `cost` of CPU on `node`'s host (queueing behind whatever else the host
/// runs); at once when the cost is zero. `fn` does not run if the incarnation dies first.
void run_cpu(Node& node, Duration cost, std::function<void()> fn) {
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

/// A storage node's worker threads over its disk (paper §5: request coordination on an
/// event-driven pipeline, storage engines called synchronously). Every step of a request
/// (relay it, coordinate it, serve a replica read or write) waits in one FIFO for a free
/// worker; a storage call keeps its worker until its disk operation is done, and the disk
/// serves `disks` operations at a time in the order the workers issued them. So when slow
/// writes back the disk up, they hold the workers, and coordination waits behind them.
///
/// The workers are the host's cores (HostParams::cpu.cores = workers): a worker holds a core
/// for its whole step, disk wait included, and steps are submitted to the world's CPU only
/// when a worker is free, so the disk schedule of a call is known when it starts.
class Workers final : public Executor {
public:
  void init(Node& node, Simulation& sim, int workers, int disks) {
    node_ = &node;
    sim_ = &sim;
    workers_ = workers;
    disk_free_.assign(static_cast<std::size_t>(disks), sim.now());
    worker_wait_ = &sim.metrics().histogram("dynamo.node.worker_wait");
    disk_wait_ = &sim.metrics().histogram("dynamo.node.disk_wait");
  }
  /// CPU work only (coordination, relaying, a buffered write).
  void run(Duration cpu, std::function<void()> fn) override {
    submit(cpu, Duration::zero(), std::move(fn));
  }
  /// A storage call: `cpu`, then `disk` of service on the disk, on one worker.
  void submit(Duration cpu, Duration disk, std::function<void()> fn) {
    queue_.push_back({cpu, disk, std::move(fn), sim_->now()});
    dispatch();
  }
  /// A disk operation of the writer thread (a buffer flush), which is not a worker.
  void background(Duration disk, std::function<void()> fn) {
    const Time done = book_disk(sim_->now(), disk);
    node_->after(done - sim_->now(), std::move(fn));
  }
  int busy() const { return busy_; }
  std::size_t queued() const { return queue_.size(); }
  /// Disk operations booked but not finished, in service or waiting.
  Duration disk_backlog() const {
    Duration most = Duration::zero();
    for (auto t : disk_free_) {
      most = std::max(most, t - sim_->now());
    }
    return most;
  }

private:
  struct Step {
    Duration cpu;
    Duration disk;
    std::function<void()> fn;
    Time queued_at;
  };
  /// Books `disk` of service on the disk slot that frees first, from `at`; returns its end.
  Time book_disk(Time at, Duration disk) {
    auto slot = std::min_element(disk_free_.begin(), disk_free_.end());
    const Time start = std::max(at, *slot);
    disk_wait_->record(start - at);
    *slot = start + disk;
    return *slot;
  }
  void dispatch() {
    while (busy_ < workers_ && !queue_.empty()) {
      Step step = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      const Time now = sim_->now();
      worker_wait_->record(now - step.queued_at);
      Duration hold = step.cpu;
      if (step.disk > Duration::zero()) {
        hold = book_disk(now + step.cpu, step.disk) - now;
      }
      auto finished = [this, fn = std::move(step.fn)] {
        --busy_;
        fn();
        dispatch();
      };
      if (hold <= Duration::zero()) {
        node_->after(Duration::zero(), std::move(finished));
      } else {
        node_->compute(hold, std::move(finished));
      }
    }
  }

  Node* node_ = nullptr;
  Simulation* sim_ = nullptr;
  int workers_ = 1;
  int busy_ = 0;
  std::deque<Step> queue_;
  std::vector<Time> disk_free_;
  Histogram* worker_wait_ = nullptr;
  Histogram* disk_wait_ = nullptr;
};

struct NodeDisk {
  std::map<std::string, std::vector<Version>> data;
  std::map<std::pair<std::uint32_t, std::string>, std::vector<Version>> hints;  // (owner, key)
  std::map<std::size_t, std::set<std::string>> keys_by_arc;
};

}  // namespace

struct Cluster::Impl {
  DynamoParams p;
  Simulation* sim = nullptr;
  world::World* world = nullptr;
  std::unique_ptr<Ring> ring;
  std::vector<NodeId> storage_ids;
  std::vector<NodeDisk> disks;          // durable state per storage node (survives crashes)
  std::vector<Rng> storage_rng;
  std::vector<Rng> gossip_rng;
  std::vector<std::vector<std::size_t>> arcs_of_node;
  std::vector<std::vector<std::uint32_t>> replicas_of_arc;
  std::map<std::string, std::vector<NodeId>, std::less<>> client_ids;
  std::map<std::string, std::vector<NodeId>, std::less<>> balancers_of_zone;
  std::vector<CartOp> history;
  std::map<std::pair<std::uint32_t, std::string>, std::uint64_t> writer_seq;  // dots issued
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
  NodeId server_entry(Rng& rng, const ClientParams& cp) const {
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

namespace {

// --- the coordinator ------------------------------------------------------------------------
// Runs on the process that coordinates: a storage node (server-driven) or a client (client-
// driven). Callback-based, so a quorum completes the moment the W-th or R-th reply arrives and
// the remaining replies are still seen (read repair, late acks). Callbacks die with the
// coordinating incarnation.

struct Targets {
  std::vector<std::uint32_t> walk;
  std::vector<std::uint32_t> chosen;
  std::vector<std::uint32_t> hint_for;  // per chosen: the natural owner it stands in for
};

Targets choose_targets(Cluster::Impl& c, const View& view, const std::string& key, Time now) {
  Targets t;
  t.walk = c.ring->walk(key_position(key));
  const std::size_t n = static_cast<std::size_t>(c.p.n);
  std::vector<std::uint32_t> natural(t.walk.begin(), t.walk.begin() + static_cast<long>(n));
  if (!c.p.sloppy_quorum) {
    t.chosen = natural;
    t.hint_for.assign(n, kNone);
    return t;
  }
  for (auto node : t.walk) {
    if (t.chosen.size() == n) {
      break;
    }
    if (view.healthy(node, now, c.p.failure_timeout)) {
      t.chosen.push_back(node);
    }
  }
  // Too few healthy nodes: try suspected ones rather than fail outright (a suspicion may be
  // a slow reply, not a failure).
  for (auto node : t.walk) {
    if (t.chosen.size() == n) {
      break;
    }
    if (std::find(t.chosen.begin(), t.chosen.end(), node) == t.chosen.end()) {
      t.chosen.push_back(node);
    }
  }
  // Pair the natural owners that were skipped with the stand-ins beyond the top N, in order:
  // each stand-in keeps the replica with a hint naming the owner (paper §4.6).
  std::vector<std::uint32_t> skipped;
  for (auto node : natural) {
    if (std::find(t.chosen.begin(), t.chosen.end(), node) == t.chosen.end()) {
      skipped.push_back(node);
    }
  }
  std::size_t k = 0;
  for (auto node : t.chosen) {
    const bool is_natural = std::find(natural.begin(), natural.end(), node) != natural.end();
    t.hint_for.push_back(!is_natural && k < skipped.size() ? skipped[k++] : kNone);
  }
  return t;
}

/// Owner load: the request counts for the first node of its walk that is up (true state, not
/// any process's view), i.e. the node that owns the key's range once membership converges.
void count_owner(Cluster::Impl& c, const std::vector<std::uint32_t>& walk) {
  for (auto node : walk) {
    if (c.live(node)) {
      ++c.owner_cur[node];
      return;
    }
  }
}

/// What a read and a write through the coordinator share: where they run, the walk of the
/// ring they try nodes from, which nodes they have asked, and whether they have finished.
struct QuorumOp {
  Cluster::Impl* c = nullptr;
  Node* node = nullptr;
  View* view = nullptr;
  std::string key;
  std::vector<std::uint32_t> walk;
  std::vector<bool> used;
  int outstanding = 0;
  bool done = false;

  void begin(Cluster::Impl& cluster, Node& on, View& v, const std::string& k,
             std::vector<std::uint32_t> w) {
    c = &cluster;
    node = &on;
    view = &v;
    key = k;
    walk = std::move(w);
    used.assign(cluster.storage_ids.size(), false);
  }
};

struct WriteOp : QuorumOp {
  Version version;
  int acks = 0;
  std::function<void(bool)> finish;
};

bool is_natural(const Cluster::Impl& c, const std::vector<std::uint32_t>& walk,
                std::uint32_t node) {
  return std::find(walk.begin(), walk.begin() + c.p.n, node) != walk.begin() + c.p.n;
}

std::uint32_t next_candidate(const Cluster::Impl& c, const View& view,
                             const std::vector<std::uint32_t>& walk, std::vector<bool>& used,
                             Time now) {
  for (auto node : walk) {
    if (!used[node] && view.healthy(node, now, c.p.failure_timeout)) {
      return node;
    }
  }
  return kNone;
}

void send_write(const std::shared_ptr<WriteOp>& op, std::uint32_t target, std::uint32_t hint,
                bool durable) {
  Cluster::Impl& c = *op->c;
  op->used[target] = true;
  ++op->outstanding;
  std::vector<Version> vs{op->version};
  const std::uint64_t bytes = versions_bytes(vs);
  op->node->call(
      c.storage_ids[target], Payload::make<ReplicaWriteReq>(op->key, std::move(vs), hint, durable),
      bytes, c.p.replica_timeout, [op, target, hint](RpcResult r) {
        Cluster::Impl& cc = *op->c;
        --op->outstanding;
        const Time now = cc.sim->now();
        if (r.ok()) {
          op->view->suspect_until[target] = Time::zero();
          if (++op->acks >= cc.p.w && !op->done) {
            op->done = true;
            op->finish(true);
          }
        } else {
          op->view->suspect_until[target] = now + cc.p.suspect_for;
          // Sloppy quorum: a replica that failed is replaced by the next healthy node even
          // after the write has its W acks, so the write still reaches N nodes.
          if (cc.p.sloppy_quorum) {
            const std::uint32_t next = next_candidate(cc, *op->view, op->walk, op->used, now);
            if (next != kNone) {
              std::uint32_t owner = hint;
              if (owner == kNone && is_natural(cc, op->walk, target)) {
                owner = target;
              }
              if (is_natural(cc, op->walk, next)) {
                owner = kNone;
              }
              send_write(op, next, owner, false);
            }
          }
        }
        if (op->outstanding == 0 && !op->done) {
          op->done = true;
          op->finish(false);
        }
      });
}

/// Writes `items` as the successor of `context`, under a fresh dot of `writer`. The
/// coordinator's CPU work (starting the request, then reconciling and answering) runs on its
/// host's CPU, so a busy coordinator delays the request twice.
void start_write(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                 std::uint32_t writer, std::string key, VectorClock context,
                 std::vector<std::string> items, std::function<void(bool)> finish);

void start_write_now(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                     std::uint32_t writer, const std::string& key, const VectorClock& context,
                     std::vector<std::string> items, std::function<void(bool)> finish) {
  const Time now = c.sim->now();
  Targets t = choose_targets(c, view, key, now);
  auto op = std::make_shared<WriteOp>();
  op->begin(c, node, view, key, std::move(t.walk));
  const Duration reconcile_cpu = c.p.cpu.reconcile;
  op->finish = [&exec, reconcile_cpu, f = std::move(finish)](bool ok) {
    exec.run(reconcile_cpu, [f, ok] { f(ok); });
  };
  if (t.chosen.empty()) {
    op->finish(false);
    return;
  }
  count_owner(c, op->walk);
  const std::int64_t ts = node.clock_now().unix_ns();
  // Per (writer, key), so a key's dots from one writer are 1, 2, 3... and fold into one
  // counter once seen in order. The sequence lives in the cluster, not the process, so a
  // restarted writer never reuses a dot (a real node would persist it).
  const std::uint64_t k = ++c.writer_seq[{writer, key}];
  op->version.clock = context;
  op->version.clock.add_dot(writer, k, ts, static_cast<std::size_t>(c.p.clock_max_entries));
  op->version.dot = (static_cast<std::uint64_t>(writer) << 32) | k;
  op->version.items = std::move(items);
  op->version.timestamp_ns = ts;
  op->version.coordinator = writer;
  for (std::size_t i = 0; i < t.chosen.size(); ++i) {
    // With a write buffer, one replica (the first) still writes durably (paper §6.1).
    send_write(op, t.chosen[i], t.hint_for[i], i == 0);
  }
}

void start_write(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                 std::uint32_t writer, std::string key, VectorClock context,
                 std::vector<std::string> items, std::function<void(bool)> finish) {
  exec.run(c.p.cpu.coordinate,
           [&c, &node, &exec, &view, writer, key = std::move(key), context = std::move(context),
            items = std::move(items), finish = std::move(finish)]() mutable {
             start_write_now(c, node, exec, view, writer, key, context, std::move(items),
                             std::move(finish));
           });
}

struct ReadOp : QuorumOp {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> replies;  // node, digest of its set
  std::vector<Version> merged;
  std::function<void(bool, std::vector<Version>)> finish;
};

void read_repair(const std::shared_ptr<ReadOp>& op) {
  Cluster::Impl& c = *op->c;
  if (!c.p.read_repair || op->merged.empty()) {
    return;
  }
  const std::uint64_t want = versions_digest(op->merged);
  for (const auto& [node, digest] : op->replies) {
    if (digest == want) {
      continue;
    }
    // Like any write that is not the put's designated durable one, a repair may go to the
    // write buffer.
    c.sim->metrics().counter("dynamo.read_repairs").inc();
    op->node->call(c.storage_ids[node],
                   Payload::make<ReplicaWriteReq>(op->key, op->merged, kNone, false),
                   versions_bytes(op->merged), c.p.replica_timeout, [](RpcResult) {});
  }
}

void send_read(const std::shared_ptr<ReadOp>& op, std::uint32_t target) {
  Cluster::Impl& c = *op->c;
  op->used[target] = true;
  ++op->outstanding;
  op->node->call(
      c.storage_ids[target], Payload::make<ReplicaReadReq>(op->key), kHeaderBytes,
      c.p.replica_timeout, [op, target](RpcResult r) {
        Cluster::Impl& cc = *op->c;
        --op->outstanding;
        const Time now = cc.sim->now();
        const auto* reply = r.ok() ? r.payload.get<ReplicaReadReply>() : nullptr;
        if (reply != nullptr) {
          op->view->suspect_until[target] = Time::zero();
          op->replies.emplace_back(target, versions_digest(reply->versions));
          apply_versions(op->merged, reply->versions, cc.p.reconcile);
          if (static_cast<int>(op->replies.size()) >= cc.p.r && !op->done) {
            op->done = true;
            op->finish(true, op->merged);
          }
        } else {
          op->view->suspect_until[target] = now + cc.p.suspect_for;
          if (cc.p.sloppy_quorum && !op->done) {
            const std::uint32_t next = next_candidate(cc, *op->view, op->walk, op->used, now);
            if (next != kNone) {
              send_read(op, next);
            }
          }
        }
        if (op->outstanding == 0) {
          if (!op->done) {
            op->done = true;
            op->finish(false, {});
          }
          read_repair(op);
        }
      });
}

void start_read_now(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                    const std::string& key,
                    std::function<void(bool, std::vector<Version>)> finish) {
  Targets t = choose_targets(c, view, key, c.sim->now());
  auto op = std::make_shared<ReadOp>();
  op->begin(c, node, view, key, std::move(t.walk));
  const Duration reconcile_cpu = c.p.cpu.reconcile;
  op->finish = [&exec, reconcile_cpu, f = std::move(finish)](bool ok, std::vector<Version> vs) {
    exec.run(reconcile_cpu, [f, ok, vs = std::move(vs)]() mutable { f(ok, std::move(vs)); });
  };
  if (t.chosen.empty()) {
    op->finish(false, {});
    return;
  }
  count_owner(c, op->walk);
  for (auto target : t.chosen) {
    send_read(op, target);
  }
}

/// Reads `key` (R replies of the first N healthy nodes), after the coordinator's CPU work.
void start_read(Cluster::Impl& c, Node& node, Executor& exec, View& view, std::string key,
                std::function<void(bool, std::vector<Version>)> finish) {
  exec.run(c.p.cpu.coordinate,
           [&c, &node, &exec, &view, key = std::move(key), finish = std::move(finish)]() mutable {
             start_read_now(c, node, exec, view, key, std::move(finish));
           });
}

MerkleTree build_tree(const Cluster::Impl& c, std::uint32_t self, std::size_t arc) {
  MerkleTree tree(c.p.merkle_depth);
  auto it = c.disks[self].keys_by_arc.find(arc);
  if (it != c.disks[self].keys_by_arc.end()) {
    for (const auto& key : it->second) {
      auto vs = c.local_data(self, key);
      if (!vs.empty()) {
        tree.add(key, versions_digest(vs));
      }
    }
  }
  tree.build();
  return tree;
}

Entries entries_in_leaves(const Cluster::Impl& c, std::uint32_t self, std::size_t arc,
                          const std::vector<std::size_t>& leaves) {
  Entries out;
  MerkleTree shape(c.p.merkle_depth);
  auto it = c.disks[self].keys_by_arc.find(arc);
  if (it == c.disks[self].keys_by_arc.end()) {
    return out;
  }
  for (const auto& key : it->second) {
    if (std::find(leaves.begin(), leaves.end(), shape.leaf_of(key)) == leaves.end()) {
      continue;
    }
    auto vs = c.local_data(self, key);
    if (!vs.empty()) {
      out.emplace_back(key, std::move(vs));
    }
  }
  return out;
}

// --- storage node ---------------------------------------------------------------------------
class StorageProgram final : public world::Program {
public:
  StorageProgram(Cluster::Impl& c, std::uint32_t self) : c_(c), self_(self) {}

  void start(Node& node) override {
    node_ = &node;
    workers_.init(node, *c_.sim, c_.p.cpu.workers, c_.p.storage.disks);
    view_.init(c_.storage_ids.size(), true, self_, c_.sim->now());
    view_.heartbeat[self_] = node.incarnation() << 32;
    node.on_request([this](const world::Message& m, Responder resp) { handle(m, resp); });
    node.spawn(gossip_loop());
    if (c_.p.hint_scan_interval > Duration::zero()) {
      node.spawn(hint_loop());
    }
    if (c_.p.anti_entropy_interval > Duration::zero()) {
      node.spawn(anti_entropy_loop());
    }
    if (c_.p.write_buffer) {
      node.spawn(flush_loop());
    }
  }

  /// Adds the versions of `key` held in memory (the write buffer and a flush in progress).
  void add_buffered(const std::string& key, std::vector<Version>& out) const {
    for (const auto* m : {&buffer_, &flushing_}) {
      auto it = m->find(key);
      if (it != m->end()) {
        apply_versions(out, it->second, c_.p.reconcile);
      }
    }
  }
  bool buffered(const std::string& key) const {
    return buffer_.contains(key) || flushing_.contains(key);
  }
  void buffered_keys(std::set<std::string>& out) const {
    for (const auto* m : {&buffer_, &flushing_}) {
      for (const auto& [key, vs] : *m) {
        out.insert(key);
      }
    }
  }
  const View& view() const { return view_; }

private:
  NodeDisk& disk() { return c_.disks[self_]; }

  void store(const std::string& key, const std::vector<Version>& vs, std::uint32_t hint,
             bool durable) {
    if (hint != kNone && hint != self_) {
      if (apply_versions(disk().hints[{hint, key}], vs, c_.p.reconcile)) {
        c_.sim->metrics().counter("dynamo.hints.stored").inc();
      }
      return;
    }
    disk().keys_by_arc[c_.ring->arc_of(key_position(key))].insert(key);
    if (c_.p.write_buffer && !durable) {
      apply_versions(buffer_[key], vs, c_.p.reconcile);
      if (buffer_.size() >= static_cast<std::size_t>(c_.p.storage.buffer_objects)) {
        flush();
      }
    } else {
      apply_versions(disk().data[key], vs, c_.p.reconcile);
    }
  }

  void handle(const world::Message& m, Responder resp) {
    if (const auto* q = m.payload.get<ReplicaWriteReq>()) {
      // A buffered write is a short step that never waits for the disk; a durable one (the
      // designated replica, a hint, or any write without the buffer) is a disk operation.
      ++c_.replica_cur[self_];
      const bool to_buffer = c_.p.write_buffer && !q->durable && q->hint_owner == kNone;
      auto req = m.payload;
      auto stored = [this, req, resp] {
        const auto& w = req.as<ReplicaWriteReq>();
        store(w.key, w.versions, w.hint_owner, w.durable);
        resp.reply(Payload::make<Ack>(), kHeaderBytes);
      };
      if (to_buffer) {
        c_.sim->metrics().counter("dynamo.buffer.writes").inc();
        workers_.run(c_.p.cpu.replica + c_.p.storage.buffer_write, stored);
        return;
      }
      c_.sim->metrics().counter("dynamo.storage.writes").inc();
      if (c_.p.write_buffer) {
        // With the buffer, disk writes belong to the writer thread (paper §6.1): the worker
        // hands the durable write over and is free; the replica answers once it is on disk.
        const Duration d = c_.write_time(self_);
        workers_.run(c_.p.cpu.replica, [this, d, stored] { workers_.background(d, stored); });
        return;
      }
      workers_.submit(c_.p.cpu.replica, c_.write_time(self_), stored);
    } else if (const auto* rd = m.payload.get<ReplicaReadReq>()) {
      // Reads check the write buffer first (paper §6.1): a key held in memory is answered
      // without the disk.
      ++c_.replica_cur[self_];
      std::string key = rd->key;
      auto answer = [this, key, resp] {
        auto vs = c_.all_versions(self_, key);
        const std::uint64_t bytes = versions_bytes(vs);
        resp.reply(Payload::make<ReplicaReadReply>(std::move(vs)), bytes);
      };
      if (buffered(key)) {
        c_.sim->metrics().counter("dynamo.buffer.read_hits").inc();
        workers_.run(c_.p.cpu.replica, answer);
        return;
      }
      c_.sim->metrics().counter("dynamo.storage.reads").inc();
      workers_.submit(c_.p.cpu.replica, c_.read_time(self_), answer);
    } else if (const auto* gm = m.payload.get<GossipMsg>()) {
      merge_gossip(gm->heartbeats);
      resp.reply(Payload::make<GossipMsg>(view_.heartbeat), kHeaderBytes);
    } else if (m.payload.get<MembershipReq>() != nullptr) {
      std::vector<bool> up;
      for (std::uint32_t i = 0; i < view_.heartbeat.size(); ++i) {
        up.push_back(view_.healthy(i, c_.sim->now(), c_.p.failure_timeout));
      }
      resp.reply(Payload::make<MembershipReply>(std::move(up)), kHeaderBytes);
    } else if (const auto* cg = m.payload.get<ClientGetReq>()) {
      coordinate_get(*cg, resp);
    } else if (const auto* cpq = m.payload.get<ClientPutReq>()) {
      coordinate_put(*cpq, resp);
    } else if (const auto* mk = m.payload.get<MerkleReq>()) {
      MerkleTree tree = build_tree(c_, self_, mk->arc);
      std::vector<std::uint64_t> hashes;
      for (auto i : mk->indices) {
        hashes.push_back(i < (std::size_t{1} << mk->level) ? tree.hash(mk->level, i) : 0);
      }
      resp.reply(Payload::make<MerkleReply>(std::move(hashes)), kHeaderBytes);
    } else if (const auto* ks = m.payload.get<KeySyncReq>()) {
      Entries mine = entries_in_leaves(c_, self_, ks->arc, ks->leaves);
      for (const auto& [key, vs] : ks->entries) {
        store(key, vs, kNone, true);
      }
      std::uint64_t bytes = kHeaderBytes;
      for (const auto& e : mine) {
        bytes += versions_bytes(e.second);
      }
      resp.reply(Payload::make<KeySyncReply>(std::move(mine)), bytes);
    }
  }

  /// Server-driven coordination: a node outside the key's top N forwards to the first
  /// healthy one of them (paper §4.5); if that fails it coordinates itself.
  bool should_forward(const std::string& key, bool forwarded, std::uint32_t& to) const {
    if (forwarded) {
      return false;
    }
    auto natural = c_.ring->preference_list(key_position(key), static_cast<std::size_t>(c_.p.n));
    if (std::find(natural.begin(), natural.end(), self_) != natural.end()) {
      return false;
    }
    for (auto n : natural) {
      if (view_.healthy(n, c_.sim->now(), c_.p.failure_timeout)) {
        to = n;
        return true;
      }
    }
    return false;
  }

  Duration forward_timeout() const { return c_.p.replica_timeout * 4; }

  /// Relays a coordinator's reply to the caller, after the relay's CPU work.
  void relay(const RpcResult& r, Responder resp) {
    auto payload = r.payload;
    const std::uint64_t bytes = r.size_bytes;
    workers_.run(c_.p.cpu.forward, [payload, bytes, resp] { resp.reply(payload, bytes); });
  }

  void coordinate_get(const ClientGetReq& q, Responder resp) {
    std::uint32_t to = kNone;
    if (should_forward(q.key, q.forwarded, to)) {
      std::string key = q.key;
      workers_.run(c_.p.cpu.forward, [this, key, to, resp] {
        node_->call(c_.storage_ids[to], Payload::make<ClientGetReq>(key, true), kHeaderBytes,
                    forward_timeout(), [this, key, resp](RpcResult r) {
                      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
                      if (rep != nullptr && rep->ok) {
                        relay(r, resp);
                      } else {
                        coordinate_get(ClientGetReq{key, true}, resp);
                      }
                    });
      });
      return;
    }
    start_read(c_, *node_, workers_, view_, q.key, [resp](bool ok, std::vector<Version> vs) {
      const std::uint64_t bytes = versions_bytes(vs);
      resp.reply(Payload::make<ClientReply>(ok, std::move(vs)), bytes);
    });
  }

  void coordinate_put(const ClientPutReq& q, Responder resp) {
    std::uint32_t to = kNone;
    if (should_forward(q.key, q.forwarded, to)) {
      ClientPutReq fwd = q;
      fwd.forwarded = true;
      auto payload = Payload::make<ClientPutReq>(fwd);
      workers_.run(c_.p.cpu.forward, [this, payload, to, resp] {
        node_->call(c_.storage_ids[to], payload, kHeaderBytes, forward_timeout(),
                    [this, payload, resp](RpcResult r) {
                      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
                      if (rep != nullptr && rep->ok) {
                        relay(r, resp);
                      } else {
                        coordinate_put(payload.as<ClientPutReq>(), resp);
                      }
                    });
      });
      return;
    }
    start_write(c_, *node_, workers_, view_, self_, q.key, q.context, q.items, [resp](bool ok) {
      resp.reply(Payload::make<ClientReply>(ok, std::vector<Version>{}), kHeaderBytes);
    });
  }

  void merge_gossip(const std::vector<std::uint64_t>& hb) {
    const Time now = c_.sim->now();
    for (std::size_t i = 0; i < hb.size() && i < view_.heartbeat.size(); ++i) {
      if (hb[i] > view_.heartbeat[i]) {
        view_.heartbeat[i] = hb[i];
        view_.changed_at[i] = now;
      }
    }
  }

  Task<void> gossip_loop() {
    Rng& rng = c_.gossip_rng[self_];
    const auto nodes = static_cast<std::uint32_t>(c_.storage_ids.size());
    while (true) {
      co_await node_->sleep(c_.p.gossip_interval);
      ++view_.heartbeat[self_];
      view_.changed_at[self_] = c_.sim->now();
      if (nodes < 2) {
        continue;
      }
      auto peer = static_cast<std::uint32_t>(rng.below(nodes - 1));
      peer = peer >= self_ ? peer + 1 : peer;
      gossip_with(peer);
      // Seeds are known to every node; talking to one each round keeps the membership from
      // splitting into logical partitions (paper §4.8.2).
      const auto seeds = static_cast<std::uint32_t>(c_.p.seeds);
      if (self_ >= seeds && peer >= seeds) {
        gossip_with(static_cast<std::uint32_t>(rng.below(seeds)));
      }
    }
  }

  void gossip_with(std::uint32_t peer) {
    node_->call(c_.storage_ids[peer], Payload::make<GossipMsg>(view_.heartbeat),
                kHeaderBytes + 8 * view_.heartbeat.size(), c_.p.gossip_interval,
                [this](RpcResult r) {
                  if (const auto* g = r.ok() ? r.payload.get<GossipMsg>() : nullptr) {
                    merge_gossip(g->heartbeats);
                  }
                });
  }

  /// Hinted handoff: offer every hint whose owner looks healthy; drop it once acknowledged,
  /// unless newer hinted versions arrived meanwhile (paper §4.6).
  Task<void> hint_loop() {
    while (true) {
      co_await node_->sleep(c_.p.hint_scan_interval);
      const Time now = c_.sim->now();
      for (const auto& [hk, vs] : disk().hints) {
        // A background task (paper §6.5): at most handoff_in_flight deliveries at a time, so
        // a recovering owner is not hit by every hint at once.
        if (in_flight_.size() >= static_cast<std::size_t>(c_.p.handoff_in_flight)) {
          break;
        }
        if (in_flight_.contains(hk) || !view_.healthy(hk.first, now, c_.p.failure_timeout)) {
          continue;
        }
        in_flight_.insert(hk);
        const std::uint64_t digest = versions_digest(vs);
        auto owner_key = hk;
        node_->call(c_.storage_ids[hk.first],
                    Payload::make<ReplicaWriteReq>(hk.second, vs, kNone, true),
                    versions_bytes(vs), c_.p.replica_timeout,
                    [this, owner_key, digest](RpcResult r) {
                      in_flight_.erase(owner_key);
                      auto it = disk().hints.find(owner_key);
                      if (r.ok() && it != disk().hints.end() &&
                          versions_digest(it->second) == digest) {
                        disk().hints.erase(it);
                        c_.sim->metrics().counter("dynamo.hints.delivered").inc();
                        FAULTLINE_PROBE(*c_.sim, kProbeHintReplayed);
                        c_.sim->record("dynamo", "hint_delivered",
                                       {{"node", static_cast<std::int64_t>(self_)},
                                        {"owner", static_cast<std::int64_t>(owner_key.first)},
                                        {"key", owner_key.second}});
                      }
                    });
      }
    }
  }

  /// The writer thread (paper §6.1): every flush_interval, or once the buffer is full, the
  /// buffered objects go to the disk as one operation (one log force plus a sequential
  /// append per object). Reads still see them while the flush is in service; a crash before
  /// it completes loses them.
  Task<void> flush_loop() {
    while (true) {
      co_await node_->sleep(c_.p.flush_interval);
      flush();
    }
  }

  void flush() {
    if (buffer_.empty() || !flushing_.empty()) {
      return;
    }
    flushing_ = std::move(buffer_);
    buffer_.clear();
    c_.sim->metrics().counter("dynamo.storage.flushes").inc();
    const Duration d = c_.write_time(self_) +
                       c_.p.storage.flush_per_object * static_cast<std::int64_t>(flushing_.size());
    workers_.background(d, [this] {
      for (const auto& [key, vs] : flushing_) {
        apply_versions(disk().data[key], vs, c_.p.reconcile);
      }
      flushing_.clear();
      if (buffer_.size() >= static_cast<std::size_t>(c_.p.storage.buffer_objects)) {
        flush();
      }
    });
  }

  /// Merkle anti-entropy: for each key range this node replicates, compare trees with the
  /// next replica of the range, descending only where hashes differ (paper §4.7).
  Task<void> anti_entropy_loop() {
    while (true) {
      co_await node_->sleep(c_.p.anti_entropy_interval);
      for (auto arc : c_.arcs_of_node[self_]) {
        const auto& reps = c_.replicas_of_arc[arc];
        auto me = std::find(reps.begin(), reps.end(), self_);
        const std::uint32_t peer = std::next(me) == reps.end() ? reps.front() : *std::next(me);
        if (peer == self_ || !view_.healthy(peer, c_.sim->now(), c_.p.failure_timeout)) {
          continue;
        }
        co_await sync_arc(arc, peer);
      }
    }
  }

  Task<void> sync_arc(std::size_t arc, std::uint32_t peer) {
    std::vector<std::size_t> indices{0};
    const int depth = c_.p.merkle_depth;
    for (int level = 0; level <= depth; ++level) {
      MerkleTree tree = build_tree(c_, self_, arc);
      auto req = Payload::make<MerkleReq>(arc, level, indices);
      RpcResult r = co_await node_->call(c_.storage_ids[peer], req,
                                         kHeaderBytes + 8 * indices.size(), c_.p.replica_timeout);
      const auto* rep = r.ok() ? r.payload.get<MerkleReply>() : nullptr;
      if (rep == nullptr || rep->hashes.size() != indices.size()) {
        co_return;
      }
      std::vector<std::size_t> differ;
      for (std::size_t k = 0; k < indices.size(); ++k) {
        if (tree.hash(level, indices[k]) != rep->hashes[k]) {
          differ.push_back(indices[k]);
        }
      }
      if (differ.empty()) {
        co_return;
      }
      if (level == depth) {
        indices = std::move(differ);
        break;
      }
      indices.clear();
      for (auto i : differ) {
        indices.push_back(2 * i);
        indices.push_back(2 * i + 1);
      }
    }
    Entries mine = entries_in_leaves(c_, self_, arc, indices);
    std::uint64_t bytes = kHeaderBytes;
    for (const auto& e : mine) {
      bytes += versions_bytes(e.second);
    }
    auto req = Payload::make<KeySyncReq>(arc, indices, std::move(mine));
    RpcResult r = co_await node_->call(c_.storage_ids[peer], req, bytes, c_.p.replica_timeout);
    if (const auto* rep = r.ok() ? r.payload.get<KeySyncReply>() : nullptr) {
      for (const auto& [key, vs] : rep->entries) {
        store(key, vs, kNone, true);
      }
      c_.sim->metrics().counter("dynamo.anti_entropy.syncs").inc();
      c_.sim->metrics().counter("dynamo.anti_entropy.keys").inc(rep->entries.size());
    }
  }

  Cluster::Impl& c_;
  std::uint32_t self_;
  Node* node_ = nullptr;
  View view_;
  Workers workers_;
  std::map<std::string, std::vector<Version>> buffer_;    // lost with the incarnation
  std::map<std::string, std::vector<Version>> flushing_;  // on its way to disk, not durable
  std::set<std::pair<std::uint32_t, std::string>> in_flight_;
};

// --- load balancer --------------------------------------------------------------------------
/// Server-driven coordination's front door (paper §6.4): takes a client's request, spends its
/// CPU, sends it to a random storage node it has not seen fail lately, and relays the answer
/// (another pass of CPU). The extra hop and the random node's forwarding are what
/// client-driven coordination saves.
class BalancerProgram final : public world::Program {
public:
  BalancerProgram(Cluster::Impl& c, const std::string& name)
      : c_(c), rng_(c.sim->rng("dynamo/" + name)) {}

  void start(Node& node) override {
    node_ = &node;
    suspect_until_.assign(c_.storage_ids.size(), Time::zero());
    node.on_request([this](const world::Message& m, Responder resp) { handle(m, resp); });
  }

private:
  void handle(const world::Message& m, Responder resp) {
    if (m.payload.get<ClientGetReq>() == nullptr && m.payload.get<ClientPutReq>() == nullptr) {
      return;
    }
    auto req = m.payload;
    const std::uint64_t bytes = m.size_bytes;
    run_cpu(*node_, c_.p.cpu.load_balancer, [this, req, bytes, resp] {
      const std::uint32_t target = pick();
      node_->call(c_.storage_ids[target], req, bytes, c_.p.replica_timeout * 4,
                  [this, target, resp](RpcResult r) {
                    const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
                    if (rep == nullptr) {
                      suspect_until_[target] = c_.sim->now() + c_.p.suspect_for;
                    }
                    Payload out = rep != nullptr ? r.payload
                                                 : Payload::make<ClientReply>(false, std::vector<Version>{});
                    const std::uint64_t out_bytes = rep != nullptr ? r.size_bytes : kHeaderBytes;
                    run_cpu(*node_, c_.p.cpu.load_balancer,
                            [out, out_bytes, resp] { resp.reply(out, out_bytes); });
                  });
    });
  }

  std::uint32_t pick() {
    const Time now = c_.sim->now();
    std::vector<std::uint32_t> healthy;
    for (std::uint32_t i = 0; i < suspect_until_.size(); ++i) {
      if (now >= suspect_until_[i]) {
        healthy.push_back(i);
      }
    }
    if (healthy.empty()) {
      return static_cast<std::uint32_t>(rng_.below(suspect_until_.size()));
    }
    return healthy[static_cast<std::size_t>(rng_.below(healthy.size()))];
  }

  Cluster::Impl& c_;
  Rng rng_;
  Node* node_ = nullptr;
  std::vector<Time> suspect_until_;
};

// --- client ---------------------------------------------------------------------------------
class ClientProgram final : public world::Program {
public:
  ClientProgram(Cluster& cluster, Cluster::Impl& c, const ClientParams& cp, int index,
                 std::uint32_t writer_id)
      : cluster_(cluster), c_(c), cp_(cp), index_(index),
        rng_(c.sim->rng("dynamo/client/" + cp.name + "/" + std::to_string(index))),
        writer_(writer_id) {}

  void start(Node& node) override {
    node_ = &node;
    cpu_.init(node);
    view_.init(c_.storage_ids.size(), false, kNone, c_.sim->now());
    if (cp_.coordination == Coordination::kClient) {
      node.spawn(poll_loop());
    }
    if (cp_.rate_per_s > 0) {
      node.spawn(workload());
    }
  }

  const ClientParams& params() const { return cp_; }
  View& view() { return view_; }
  Executor& cpu() { return cpu_; }
  Rng& rng() { return rng_; }
  std::uint32_t writer() const { return writer_; }

private:
  Task<void> poll_loop() {
    const auto nodes = c_.storage_ids.size();
    while (true) {
      co_await node_->sleep(cp_.membership_poll);
      const auto target = static_cast<std::size_t>(rng_.below(nodes));
      RpcResult r = co_await node_->call(c_.storage_ids[target],
                                         Payload::make<MembershipReq>(), kHeaderBytes,
                                         cp_.attempt_timeout);
      if (const auto* m = r.ok() ? r.payload.get<MembershipReply>() : nullptr) {
        view_.reported_up = m->up;
      }
    }
  }

  Task<void> workload() {
    const double each = cp_.rate_per_s / cp_.processes;
    if (cp_.start > Duration::zero()) {
      co_await node_->sleep(cp_.start);
    }
    while (true) {
      co_await node_->sleep(Duration::from_seconds(rng_.exponential(1.0 / each)));
      if (c_.sim->now().since_start() >= cp_.stop) {
        co_return;
      }
      node_->spawn(one_op());
    }
  }

  Task<void> one_op() {
    const auto cart_index = rng_.below(static_cast<std::uint64_t>(cp_.carts));
    std::string cart = cp_.cart_prefix + "-" + std::to_string(cart_index);
    auto& mine = added_[cart];
    if (!mine.empty() && rng_.uniform01() < cp_.remove_fraction) {
      const auto pick = static_cast<std::size_t>(rng_.below(mine.size()));
      std::string item = mine[pick];
      mine.erase(mine.begin() + static_cast<long>(pick));
      co_await cluster_.cart_remove(*node_, cart, item);
      co_return;
    }
    std::string item = cp_.name + "-" + std::to_string(index_) + "-" + std::to_string(seq_++);
    const bool ok = co_await cluster_.cart_add(*node_, cart, item);
    if (ok) {
      added_[cart].push_back(item);
    }
  }

  Cluster& cluster_;
  Cluster::Impl& c_;
  const ClientParams& cp_;
  int index_;
  Rng rng_;
  Node* node_ = nullptr;
  View view_;
  HostCpu cpu_;
  std::uint32_t writer_;
  std::uint64_t seq_ = 0;
  std::map<std::string, std::vector<std::string>> added_;
};

}  // namespace

std::vector<Version> Cluster::Impl::local_data(std::uint32_t i, const std::string& key) const {
  std::vector<Version> out;
  auto it = disks[i].data.find(key);
  if (it != disks[i].data.end()) {
    out = it->second;
  }
  Node& n = world->node(storage_ids[i]);
  if (n.up() && n.program() != nullptr) {
    n.program_as<StorageProgram>().add_buffered(key, out);
  }
  return out;
}

std::vector<Version> Cluster::Impl::all_versions(std::uint32_t i, const std::string& key) const {
  std::vector<Version> out = local_data(i, key);
  for (std::uint32_t owner = 0; owner < storage_ids.size(); ++owner) {
    auto it = disks[i].hints.find({owner, key});
    if (it != disks[i].hints.end()) {
      apply_versions(out, it->second, p.reconcile);
    }
  }
  return out;
}

Task<void> Cluster::Impl::load_windows() {
  while (true) {
    co_await sim->sleep(p.load_window);
    owner_last = owner_cur;
    replica_last = replica_cur;
    std::fill(owner_cur.begin(), owner_cur.end(), 0);
    std::fill(replica_cur.begin(), replica_cur.end(), 0);
    have_window = true;
  }
}

Cluster::Cluster(DynamoParams params) : impl_(std::make_unique<Impl>()) {
  params.validate();
  impl_->p = std::move(params);
}

Cluster::~Cluster() = default;

const DynamoParams& Cluster::params() const { return impl_->p; }
const Ring& Cluster::ring() const { return *impl_->ring; }
world::NodeId Cluster::storage_node(int i) const {
  return impl_->storage_ids.at(static_cast<std::size_t>(i));
}
std::vector<world::NodeId> Cluster::client_nodes(std::string_view client) const {
  auto it = impl_->client_ids.find(client);
  return it == impl_->client_ids.end() ? std::vector<world::NodeId>{} : it->second;
}

void Cluster::build(world::World& world) {
  Impl& c = *impl_;
  if (c.world != nullptr) {
    throw std::logic_error("dynamo: Cluster::build called twice");
  }
  c.world = &world;
  c.sim = &world.sim();
  const auto nodes = static_cast<std::uint32_t>(c.p.nodes);
  Rng ring_rng = c.sim->rng("dynamo/ring");
  c.ring = std::make_unique<Ring>(nodes, c.p.ring, ring_rng);
  c.disks.resize(nodes);
  c.owner_cur.assign(nodes, 0);
  c.replica_cur.assign(nodes, 0);
  c.owner_last.assign(nodes, 0);
  c.replica_last.assign(nodes, 0);
  c.arcs_of_node.resize(nodes);
  for (std::size_t a = 0; a < c.ring->tokens().size(); ++a) {
    c.replicas_of_arc.push_back(c.ring->preference_list_of_arc(a, static_cast<std::size_t>(c.p.n)));
    for (auto n : c.replicas_of_arc.back()) {
      c.arcs_of_node[n].push_back(a);
    }
  }
  auto region = world.add_region("dc");
  std::vector<world::ZoneId> zones;
  for (const auto& z : c.p.zones) {
    zones.push_back(world.add_zone(region, z));
  }
  for (std::uint32_t i = 0; i < nodes; ++i) {
    c.storage_rng.push_back(c.sim->rng("dynamo/node/" + std::to_string(i) + "/storage"));
    c.gossip_rng.push_back(c.sim->rng("dynamo/node/" + std::to_string(i) + "/gossip"));
  }
  world::HostParams node_host = world.params().host_defaults;
  node_host.cpu.cores = static_cast<std::uint32_t>(c.p.cpu.workers);
  for (std::uint32_t i = 0; i < nodes; ++i) {
    const std::string name = node_name(static_cast<int>(i));
    auto host = world.add_host(zones[i % zones.size()], name, node_host);
    Impl* cp = &c;
    c.storage_ids.push_back(world.add_node(host, name, std::string(kNodeGroup), [cp, i](Node&) {
      return std::make_unique<StorageProgram>(*cp, i);
    }));
  }
  auto zone_of = [&c](const ClientParams& client) {
    std::size_t zone = 0;
    for (std::size_t z = 0; z < c.p.zones.size(); ++z) {
      if (c.p.zones[z] == client.zone) {
        zone = z;
      }
    }
    return zone;
  };
  // Load balancers, in each zone that has server-driven clients.
  for (const auto& client : c.p.clients) {
    const std::size_t zone = zone_of(client);
    auto& lbs = c.balancers_of_zone[c.p.zones[zone]];
    if (client.coordination != Coordination::kServer || !lbs.empty()) {
      continue;
    }
    for (int j = 0; j < c.p.load_balancers; ++j) {
      const std::string name = "lb-" + c.p.zones[zone] + "-" + std::to_string(j);
      auto host = world.add_host(zones[zone], name);
      Impl* cp = &c;
      lbs.push_back(world.add_node(host, name, std::string(kBalancerGroup), [cp, name](Node&) {
        return std::make_unique<BalancerProgram>(*cp, name);
      }));
    }
  }
  std::uint32_t next_writer = 0;
  for (const auto& client : c.p.clients) {
    const std::size_t zone = zone_of(client);
    auto& ids = c.client_ids[client.name];
    for (int j = 0; j < client.processes; ++j) {
      const std::string name = client.name + "-" + std::to_string(j);
      auto host = world.add_host(zones[zone], name);
      const ClientParams* cl = &client;
      // Client-driven coordination writes clock entries under the client's own id, after the
      // storage nodes' ids (the paper's note that clocks grow with the number of coordinators,
      // hence truncation, applies).
      const auto writer_id = static_cast<std::uint32_t>(nodes + next_writer++);
      ids.push_back(world.add_node(host, name, client_group(client.name),
                                   [this, cl, j, writer_id](Node&) {
                                     return std::make_unique<ClientProgram>(*this, *impl_, *cl, j,
                                                                            writer_id);
                                   }));
    }
  }
  c.process = std::make_unique<Process>(*c.sim, "dynamo/load");
  c.process->spawn(c.load_windows());
}

// --- client API ---------------------------------------------------------------------------

namespace {
struct Measure {
  Simulation& sim;
  MetricNames names;
  Time started;
  Measure(Simulation& s, MetricNames n) : sim(s), names(std::move(n)), started(s.now()) {
    sim.metrics().counter(names.requests).inc();
  }
  void attempt() { sim.metrics().counter(names.attempts).inc(); }
  void done(bool ok) {
    if (ok) {
      sim.metrics().counter(names.successes).inc();
      sim.metrics().histogram(names.latency).record(sim.now() - started);
    } else {
      sim.metrics().counter(names.failures).inc();
    }
  }
};
}  // namespace

Task<GetResult> Cluster::get(world::Node& client, std::string key) {
  Impl& c = *impl_;
  auto& prog = client.program_as<ClientProgram>();
  const ClientParams& cp = prog.params();
  Measure m(*c.sim, op_metric_names("get"));
  GetResult out;
  for (int attempt = 0; attempt < cp.attempts && !out.ok; ++attempt) {
    m.attempt();
    if (cp.coordination == Coordination::kClient) {
      Completion<GetResult> done(*c.sim);
      start_read(c, client, prog.cpu(), prog.view(), key, [done](bool ok, std::vector<Version> vs) mutable {
        done.set(GetResult{ok, std::move(vs)});
      });
      std::optional<GetResult> r = co_await done.wait_for(cp.attempt_timeout);
      if (r && r->ok) {
        out = std::move(*r);
      }
    } else {
      auto req = Payload::make<ClientGetReq>(key, false);
      RpcResult r = co_await client.call(c.server_entry(prog.rng(), cp), req,
                                         static_cast<std::uint64_t>(cp.request_bytes),
                                         cp.attempt_timeout);
      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
      if (rep != nullptr && rep->ok) {
        out.ok = true;
        out.versions = rep->versions;
      }
    }
  }
  m.done(out.ok);
  if (out.ok) {
    ++c.gets_ok;
    if (out.versions.size() > 1) {
      ++c.gets_divergent;
      c.sim->metrics().counter("dynamo.get.divergent").inc();
    }
  }
  co_return out;
}

Task<bool> Cluster::put(world::Node& client, std::string key, VectorClock context,
                        std::vector<std::string> items) {
  Impl& c = *impl_;
  auto& prog = client.program_as<ClientProgram>();
  const ClientParams& cp = prog.params();
  Measure m(*c.sim, op_metric_names("put"));
  bool ok = false;
  for (int attempt = 0; attempt < cp.attempts && !ok; ++attempt) {
    m.attempt();
    if (cp.coordination == Coordination::kClient) {
      Completion<bool> done(*c.sim);
      start_write(c, client, prog.cpu(), prog.view(), prog.writer(), key, context, items,
                  [done](bool success) mutable { done.set(success); });
      std::optional<bool> r = co_await done.wait_for(cp.attempt_timeout);
      ok = r.value_or(false);
    } else {
      auto req = Payload::make<ClientPutReq>(key, context, items, false);
      RpcResult r = co_await client.call(c.server_entry(prog.rng(), cp), req,
                                         static_cast<std::uint64_t>(cp.request_bytes),
                                         cp.attempt_timeout);
      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
      ok = rep != nullptr && rep->ok;
    }
  }
  m.done(ok);
  co_return ok;
}

Task<bool> Cluster::cart_add(world::Node& client, std::string cart, std::string item) {
  return cart_update(client, CartOp::Kind::kAdd, std::move(cart), std::move(item));
}

Task<bool> Cluster::cart_remove(world::Node& client, std::string cart, std::string item) {
  return cart_update(client, CartOp::Kind::kRemove, std::move(cart), std::move(item));
}

Task<bool> Cluster::cart_update(world::Node& client, CartOp::Kind kind, std::string cart,
                                std::string item) {
  Impl& c = *impl_;
  const std::string& who = client.program_as<ClientProgram>().params().name;
  Measure m(*c.sim, client_metric_names(who));
  const std::size_t index = c.history.size();
  c.history.push_back({kind, cart, item, c.sim->now(), false});
  GetResult g = co_await get(client, cart);
  bool ok = false;
  if (g.ok) {
    Reconciled rec = reconcile(g.versions, c.p.reconcile);
    if (kind == CartOp::Kind::kAdd) {
      insert_item(rec.items, item);
    } else {
      erase_item(rec.items, item);
    }
    ok = co_await put(client, cart, rec.context, rec.items);
  }
  c.history[index].ok = ok;
  m.done(ok);
  c.sim->record("dynamo", kind == CartOp::Kind::kAdd ? "cart_add" : "cart_remove",
                {{"cart", cart}, {"item", item}, {"ok", ok}});
  co_return ok;
}

// --- inspection ---------------------------------------------------------------------------

std::vector<Version> Cluster::replica_versions(int i, const std::string& key) const {
  return impl_->all_versions(static_cast<std::uint32_t>(i), key);
}

std::size_t Cluster::hints_held(int i) const {
  return impl_->disks.at(static_cast<std::size_t>(i)).hints.size();
}

bool Cluster::believes_healthy(int observer, int peer) const {
  const Impl& c = *impl_;
  Node& n = c.world->node(c.storage_ids.at(static_cast<std::size_t>(observer)));
  if (!n.up() || n.program() == nullptr) {
    return false;
  }
  return n.program_as<StorageProgram>().view().healthy(static_cast<std::uint32_t>(peer),
                                                        c.sim->now(), c.p.failure_timeout);
}

std::size_t Cluster::hints_pending() const {
  std::size_t n = 0;
  for (const auto& d : impl_->disks) {
    n += d.hints.size();
  }
  return n;
}

std::vector<std::string> Cluster::keys() const {
  std::set<std::string> all;
  for (const auto& d : impl_->disks) {
    for (const auto& [key, vs] : d.data) {
      all.insert(key);
    }
    for (const auto& [hk, vs] : d.hints) {
      all.insert(hk.second);
    }
  }
  const Impl& c = *impl_;
  for (std::uint32_t i = 0; i < c.storage_ids.size(); ++i) {
    Node& n = c.world->node(c.storage_ids[i]);
    if (n.up() && n.program() != nullptr) {
      n.program_as<StorageProgram>().buffered_keys(all);
    }
  }
  return {all.begin(), all.end()};
}

std::size_t Cluster::divergent_keys() const {
  const Impl& c = *impl_;
  std::size_t n = 0;
  for (const auto& key : keys()) {
    auto natural = c.ring->preference_list(key_position(key), static_cast<std::size_t>(c.p.n));
    std::set<std::uint64_t> digests;
    for (auto r : natural) {
      if (c.live(r)) {
        digests.insert(versions_digest(c.local_data(r, key)));
      }
    }
    n += digests.size() > 1 ? 1 : 0;
  }
  return n;
}

std::map<std::string, std::vector<std::string>> Cluster::final_carts() const {
  const Impl& c = *impl_;
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& key : keys()) {
    std::vector<Version> merged;
    for (std::uint32_t i = 0; i < c.storage_ids.size(); ++i) {
      apply_versions(merged, c.all_versions(i, key), c.p.reconcile);
    }
    out[key] = reconcile(merged, c.p.reconcile).items;
  }
  return out;
}

const std::vector<CartOp>& Cluster::cart_history() const { return impl_->history; }

CartAudit Cluster::audit() const { return audit_carts(impl_->history, final_carts()); }

check::CheckResult Cluster::check_cart_adds_kept() const {
  return dynamo::check_cart_adds_kept(impl_->history, final_carts());
}

std::vector<std::uint64_t> Cluster::owner_load() const { return impl_->owner_last; }
std::vector<std::uint64_t> Cluster::replica_load() const { return impl_->replica_last; }

namespace {
double max_ratio(const Cluster::Impl& c, const std::vector<std::uint64_t>& load) {
  double sum = 0;
  double max = 0;
  std::size_t live = 0;
  for (std::uint32_t i = 0; i < load.size(); ++i) {
    if (!c.live(i)) {
      continue;
    }
    ++live;
    sum += static_cast<double>(load[i]);
    max = std::max(max, static_cast<double>(load[i]));
  }
  if (!c.have_window || live == 0 || sum == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return max / (sum / static_cast<double>(live));
}
}  // namespace

double Cluster::max_owner_load_ratio() const { return max_ratio(*impl_, impl_->owner_last); }
double Cluster::max_replica_load_ratio() const { return max_ratio(*impl_, impl_->replica_last); }

double Cluster::out_of_balance_fraction() const {
  const Impl& c = *impl_;
  double sum = 0;
  std::size_t live = 0;
  for (std::uint32_t i = 0; i < c.owner_last.size(); ++i) {
    if (c.live(i)) {
      ++live;
      sum += static_cast<double>(c.owner_last[i]);
    }
  }
  if (!c.have_window || live == 0 || sum == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double mean = sum / static_cast<double>(live);
  std::size_t out = 0;
  for (std::uint32_t i = 0; i < c.owner_last.size(); ++i) {
    if (c.live(i) && std::abs(static_cast<double>(c.owner_last[i]) - mean) > 0.15 * mean) {
      ++out;
    }
  }
  return static_cast<double>(out) / static_cast<double>(live);
}

double Cluster::divergent_read_fraction() const {
  const Impl& c = *impl_;
  return c.gets_ok == 0 ? 0.0
                        : static_cast<double>(c.gets_divergent) / static_cast<double>(c.gets_ok);
}

}  // namespace faultline::sim::dynamo
