#include <faultline/probe.hpp>
#include <faultline/sim/dynamodb/cluster.hpp>

#include <faultline/resilience/backoff.hpp>
#include <faultline/task.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <utility>

namespace faultline::sim::dynamodb {

namespace {
// A storage server back from time out of service re-replicates the writes it missed from a
// peer (faultline/probe.hpp).
const ProbePoint kProbeReReplication("dynamodb/storage/re-replication");
}  // namespace

using world::Message;
using world::Node;
using world::NodeId;
using world::Payload;
using world::Responder;
using world::RpcResult;

ClientMetricNames client_metric_names(std::string_view client) {
  const std::string p = fmt::format("dynamodb/client/{}/", client);
  return {p + "requests", p + "successes", p + "failures", p + "throttled", p + "latency"};
}

namespace {

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

Payload status(Status s) { return Payload::make<StatusReply>(StatusReply{s}); }

Status status_of(const RpcResult& r) {
  if (!r.ok()) {
    return Status::unavailable;
  }
  const auto* s = r.payload.get<StatusReply>();
  return s != nullptr ? s->status : Status::unavailable;
}

}  // namespace

// --- shared state -------------------------------------------------------------------------
class MetadataProgram;

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
  std::vector<NodeId> storage_ids, metadata_ids, router_ids, queue_ids;
  std::vector<MetadataProgram*> metadata_programs;  // per instance; nullptr while down
  int active_instances = 0;  // the first N metadata instances take check-ins
  bool paused = false;
  bool admit_limited = false;
  std::vector<ClientSpec> clients;  // fixed at build; client programs refer into it

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
  NodeId metadata_for(int node) const {
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
    if (!world->node(storage_ids[node]).up()) {
      return false;
    }
    return serving[node] != 0 ||
           (catching_up[node] != 0 && slot[static_cast<std::size_t>(p)][r] < ready_count[node]);
  }
  bool node_serving(int i) const {
    return serving[static_cast<std::size_t>(i)] != 0 &&
           world->node(storage_ids[static_cast<std::size_t>(i)]).up();
  }
};

namespace {
using State = DynamoDbCluster::State;
}  // namespace

// --- metadata service ---------------------------------------------------------------------
class MetadataProgram final : public world::Program {
public:
  MetadataProgram(std::shared_ptr<State> s, int index) : hold_(std::move(s)), s_(*hold_), index_(index) {}
  ~MetadataProgram() override {
    if (s_.metadata_programs[static_cast<std::size_t>(index_)] == this) {
      s_.metadata_programs[static_cast<std::size_t>(index_)] = nullptr;
    }
  }

  void start(Node& node) override {
    node_ = &node;
    s_.metadata_programs[static_cast<std::size_t>(index_)] = this;
    const double rate = s_.params.metadata.admit_rate_per_s;
    admit_ = TokenBucket(rate, std::max(1.0, rate), std::max(1.0, rate), node.sim().now());
    node.on_request([this](const Message& m, Responder r) { on_checkin(m, std::move(r)); });
  }

  /// The operator's pause: drop every waiting check-in (their callers have given up or will).
  void drop_queue() {
    node_->sim().metrics().counter("dynamodb/metadata/dropped").inc(queue_.size());
    queue_.clear();
  }

  int busy() const { return busy_; }
  std::size_t queued() const { return queue_.size(); }

private:
  struct Waiting {
    Responder responder;
    Duration cpu;
    std::uint64_t bytes;
    Payload answer;
  };

  void on_checkin(const Message& m, Responder r) {
    if (m.payload.get<Probe>() != nullptr) {
      r.reply(Payload::make<Probe>(), 64);
      return;
    }
    if (m.payload.get<Heartbeat>() != nullptr) {
      // The session is the service's: a keepalive waits behind the check-ins queued here.
      queue_.push_back(Waiting{std::move(r), s_.params.metadata.cpu_base, 64,
                               Payload::make<Heartbeat>()});
      pump();
      return;
    }
    const auto* req = m.payload.get<CheckIn>();
    if (req == nullptr) {
      return;
    }
    Metrics& metrics = node_->sim().metrics();
    metrics.counter("dynamodb/metadata/checkins").inc();
    if (s_.paused || (s_.admit_limited && !admit_.try_take(node_->sim().now()))) {
      metrics.counter("dynamodb/metadata/refused").inc();
      r.reply(Payload::make<CheckInRefused>(), kSmallBytes);
      return;
    }
    queue_.push_back(Waiting{std::move(r), s_.cpu(req->node), s_.bytes(req->node),
                             Payload::make<Membership>(
                                 Membership{s_.entries[static_cast<std::size_t>(req->node)]})});
    pump();
  }

  void pump() {
    while (busy_ < s_.params.metadata.cores && !queue_.empty()) {
      Waiting w = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      node_->compute(w.cpu, [this, w = std::move(w)] {
        --busy_;
        if (w.answer.get<Membership>() != nullptr) {
          node_->sim().metrics().counter("dynamodb/metadata/served").inc();
        }
        w.responder.reply(w.answer, w.bytes);
        pump();
      });
    }
  }

  std::shared_ptr<State> hold_;  // the state outlives every program that uses it
  State& s_;
  int index_;
  Node* node_ = nullptr;
  std::deque<Waiting> queue_;
  int busy_ = 0;
  TokenBucket admit_;
};

namespace {

/// Sends `req` to the partition's replicas one at a time, from `next` on and skipping replica
/// `skip`, until one answers ok; then replies ok, or `exhausted` when none did. A router
/// serving an item and a storage node replicating a write both do this.
void ask_in_turn(Node& node, State& s, ItemRequest req, std::size_t next, int skip,
                 Duration timeout, Status exhausted, Responder r) {
  const auto& replicas = s.partitions[static_cast<std::size_t>(req.partition)].replicas;
  while (next < replicas.size() && replicas[next] == skip) {
    ++next;
  }
  if (next >= replicas.size()) {
    r.reply(status(exhausted), kSmallBytes);
    return;
  }
  const NodeId peer = s.storage_ids[static_cast<std::size_t>(replicas[next])];
  auto on_reply = [&node, &s, req, next, skip, timeout, exhausted,
                   r = std::move(r)](RpcResult res) mutable {
    if (status_of(res) == Status::ok) {
      r.reply(status(Status::ok), kSmallBytes);
    } else {
      ask_in_turn(node, s, req, next + 1, skip, timeout, exhausted, std::move(r));
    }
  };
  node.call(peer, Payload::make<ItemRequest>(req), kItemBytes, timeout, std::move(on_reply));
}

// --- storage node -------------------------------------------------------------------------
class StorageProgram final : public world::Program {
public:
  StorageProgram(std::shared_ptr<State> s, int index)
      : hold_(std::move(s)), s_(*hold_), index_(index), backoff_(s_.params.storage.retry) {}

  void start(Node& node) override {
    node_ = &node;
    rng_ = node.sim().rng(fmt::format("dynamodb/storage/{}/{}", index_, node.incarnation()));
    s_.stream_backlog[static_cast<std::size_t>(index_)] = 0;  // a restart lost its queue
    s_.catching_up[static_cast<std::size_t>(index_)] = 0;
    // The run begins in steady state: a first incarnation already holds its membership. A
    // restarted node must fetch it first ("on startup", model-facts §3.1).
    const bool first = node.incarnation() == 1;
    set_serving(first);
    node.on_request([this](const Message& m, Responder r) { on_request(m, std::move(r)); });
    node.spawn(checkin_loop(first));
  }

private:
  void set_serving(bool on) {
    auto& flag = s_.serving[static_cast<std::size_t>(index_)];
    if (flag != 0 && !on) {
      s_.out_since[static_cast<std::size_t>(index_)] = node_->sim().now();
    }
    flag = on ? 1 : 0;
  }
  bool serving() const { return s_.serving[static_cast<std::size_t>(index_)] != 0; }
  /// Whether this node serves `partition` now (in service, or caught up on it).
  bool serves(int partition) const {
    if (serving()) {
      return true;
    }
    if (s_.catching_up[static_cast<std::size_t>(index_)] == 0) {
      return false;
    }
    const auto& replicas = s_.partitions[static_cast<std::size_t>(partition)].replicas;
    for (std::size_t k = 0; k < replicas.size(); ++k) {
      if (replicas[k] == index_) {
        return s_.replica_serving(partition, k);
      }
    }
    return false;
  }

  Duration jittered_interval() {
    const auto i = s_.params.storage.checkin_interval.ns();
    return Duration::nanos(rng_.uniform_int(i / 2, i + i / 2));
  }

  /// One loop per incarnation: keepalives, periodic check-ins, and the check-ins a startup,
  /// a disruption or a failed check-in calls for.
  Task<void> checkin_loop(bool first) {
    const StorageParams& sp = s_.params.storage;
    Metrics& metrics = node_->sim().metrics();
    Time next_periodic = node_->sim().now() + (first ? Duration::nanos(rng_.uniform_int(0, sp.checkin_interval.ns()))
                                                     : Duration::zero());
    bool need_membership = !first;
    bool connected = true;
    int failures = 0;
    if (first) {
      co_await node_->sleep(Duration::nanos(rng_.uniform_int(0, sp.heartbeat_interval.ns())));
    }
    for (;;) {
      const Time now = node_->sim().now();
      if (connected && (need_membership || now >= next_periodic)) {
        metrics.counter("dynamodb/storage/checkins").inc();
        const NodeId meta = s_.metadata_for(index_);
        RpcResult r = co_await node_->call(meta, Payload::make<CheckIn>(CheckIn{index_}),
                                           kSmallBytes, s_.timeout(index_));
        if (r.ok() && r.payload.get<Membership>() != nullptr) {
          failures = 0;
          backoff_.reset();
          need_membership = false;
          connected = true;
          if (!serving()) {
            co_await rejoin();
            metrics.counter("dynamodb/storage/rejoined").inc();
            set_serving(true);
          }
          next_periodic = node_->sim().now() + jittered_interval();
          co_await node_->sleep(sp.heartbeat_interval);
          continue;
        }
        ++failures;
        need_membership = true;
        if (!r.ok()) {  // a refusal (paused, limited) is an answer: the node keeps its state
          // No answer: the network may be down, so the node checks it before asking again.
          connected = false;
          metrics.counter("dynamodb/storage/checkin_timeouts").inc();
          if (sp.self_evict_on_timeout && serving()) {
            metrics.counter("dynamodb/storage/self_evictions").inc();
            set_serving(false);
          }
        }
        co_await node_->sleep(backoff_.delay(failures, rng_));
        continue;
      }
      const NodeId meta = s_.metadata_for(index_);
      if (connected) {
        RpcResult hb = co_await node_->call(meta, Payload::make<Heartbeat>(), 64, sp.heartbeat_timeout);
        if (hb.ok()) {
          co_await node_->sleep(sp.heartbeat_interval);
        } else {
          // No answer on the session: to the node this is a network disruption.
          metrics.counter("dynamodb/storage/keepalive_failures").inc();
          connected = false;
        }
        continue;
      }
      const Time sent = node_->sim().now();
      RpcResult probe = co_await node_->call(meta, Payload::make<Probe>(), 64, sp.reconnect_interval);
      if (probe.ok()) {
        connected = true;
        need_membership = true;  // re-request after a network disruption
        continue;
      }
      const Duration spent = node_->sim().now() - sent;
      if (spent < sp.reconnect_interval) {
        co_await node_->sleep(sp.reconnect_interval - spent);
      }
    }
  }

  /// What a server does with a new membership after time out of service: verify its local
  /// data, then pull the writes it missed, one partition at a time, from a peer replica.
  Task<void> rejoin() {
    const StorageParams& sp = s_.params.storage;
    const auto self = static_cast<std::size_t>(index_);
    const Duration out = node_->sim().now() - s_.out_since[self];
    if (sp.verify_per_entry > Duration::zero()) {
      co_await node_->sleep(sp.verify_per_entry * s_.entries[self]);
    }
    if (sp.replica_write_bytes_per_s <= 0.0 || out <= Duration::zero()) {
      co_return;
    }
    const Duration stream = Duration::from_seconds(
        out.to_seconds() * sp.replica_write_bytes_per_s / sp.rereplication_bytes_per_s);
    s_.catching_up[self] = 1;
    s_.ready_count[self] = 0;
    FAULTLINE_PROBE(node_->sim(), kProbeReReplication);
    for (int partition : s_.node_partitions[self]) {
      for (;;) {
        const int peer = catch_up_peer(partition);
        if (peer >= 0) {
          RpcResult r = co_await node_->call(s_.storage_ids[static_cast<std::size_t>(peer)],
                                             Payload::make<CatchUp>(CatchUp{partition, stream}),
                                             kSmallBytes, kCatchUpTimeout);
          if (r.ok()) {
            break;
          }
        }
        co_await node_->sleep(sp.reconnect_interval);  // no peer up: try again shortly
      }
      ++s_.ready_count[self];  // this partition serves from now on
    }
    s_.catching_up[self] = 0;
  }

  /// The peer replica to copy from: one in service with the shortest queue of streams
  /// (ties: replica order); failing that, any running one (it holds the data up to when it
  /// left; a partition without a majority took no writes since). -1: none is running.
  int catch_up_peer(int partition) const {
    int best = -1;
    bool best_serving = false;
    const auto& replicas = s_.partitions[static_cast<std::size_t>(partition)].replicas;
    for (std::size_t k = 0; k < replicas.size(); ++k) {
      const int r = replicas[k];
      if (r == index_ || !s_.world->node(s_.storage_ids[static_cast<std::size_t>(r)]).up()) {
        continue;
      }
      const bool on = s_.replica_serving(partition, k);
      if (best < 0 || (on && !best_serving) ||
          (on == best_serving && s_.stream_backlog[static_cast<std::size_t>(r)] <
                                     s_.stream_backlog[static_cast<std::size_t>(best)])) {
        best = r;
        best_serving = on;
      }
    }
    return best;
  }

  /// Streams to one returning replica at a time; the others wait their turn.
  void pump_streams() {
    if (streaming_ || streams_.empty()) {
      return;
    }
    streaming_ = true;
    auto [responder, time] = std::move(streams_.front());
    streams_.pop_front();
    node_->after(time, [this, responder = std::move(responder)] {
      streaming_ = false;
      --s_.stream_backlog[static_cast<std::size_t>(index_)];
      responder.reply(Payload::make<CatchUp>(), kSmallBytes);
      pump_streams();
    });
  }

  void on_request(const Message& m, Responder r) {
    if (const auto* c = m.payload.get<CatchUp>()) {  // served from disk, in service or not
      streams_.emplace_back(std::move(r), c->stream_time);
      ++s_.stream_backlog[static_cast<std::size_t>(index_)];
      pump_streams();
      return;
    }
    const auto* req = m.payload.get<ItemRequest>();
    if (req == nullptr) {
      return;
    }
    if (!serves(req->partition)) {
      r.reply(status(Status::not_serving), kSmallBytes);
      return;
    }
    if (req->replicate) {
      r.reply(status(Status::ok), kSmallBytes);
      return;
    }
    const int partition = req->partition;
    node_->compute(s_.params.storage.request_cpu, [this, partition, r = std::move(r)]() mutable {
      if (!serves(partition)) {
        r.reply(status(Status::not_serving), kSmallBytes);
        return;
      }
      replicate(partition, std::move(r));
    });
  }

  /// Asks the partition's other replicas in turn for one acknowledgement (a majority of three
  /// with this one).
  void replicate(int partition, Responder r) {
    const auto& replicas = s_.partitions[static_cast<std::size_t>(partition)].replicas;
    if (replicas.size() / 2 == 0) {  // acknowledgements needed besides this replica
      r.reply(status(Status::ok), kSmallBytes);
      return;
    }
    ask_in_turn(*node_, s_, {partition, true}, 0, index_, kHopTimeout, Status::no_quorum,
                std::move(r));
  }

  std::shared_ptr<State> hold_;
  State& s_;
  int index_;
  Node* node_ = nullptr;
  Rng rng_{0};
  resilience::Backoff backoff_;
  std::deque<std::pair<Responder, Duration>> streams_;  // catch-up requests waiting
  bool streaming_ = false;
};

// --- request router -----------------------------------------------------------------------
class RouterProgram final : public world::Program {
public:
  explicit RouterProgram(std::shared_ptr<State> s) : hold_(std::move(s)), s_(*hold_) {}

  void start(Node& node) override {
    node_ = &node;
    node.on_request([this](const Message& m, Responder r) { on_request(m, std::move(r)); });
  }

private:
  void on_request(const Message& m, Responder r) {
    const auto* req = m.payload.get<ItemRequest>();
    if (req == nullptr) {
      return;
    }
    const auto& p = s_.partitions[static_cast<std::size_t>(req->partition)];
    auto& tp = s_.throughput[static_cast<std::size_t>(p.table)];
    if (tp.admit(p.partition, node_->sim().now()) == Admission::throttled) {
      r.reply(status(Status::throttled), kSmallBytes);
      return;
    }
    route(req->partition, std::move(r));
  }

  void route(int partition, Responder r) {
    ask_in_turn(*node_, s_, {partition, false}, 0, -1, kHopTimeout * 2, Status::unavailable,
                std::move(r));
  }

  std::shared_ptr<State> hold_;
  State& s_;
  Node* node_ = nullptr;
};

// --- queue service (SQS on a table) -------------------------------------------------------
class QueueProgram final : public world::Program {
public:
  QueueProgram(std::shared_ptr<State> s, int index) : hold_(std::move(s)), s_(*hold_), index_(index) {}

  void start(Node& node) override {
    node_ = &node;
    rng_ = node.sim().rng(fmt::format("dynamodb/queue/{}/{}", index_, node.incarnation()));
    node.on_request([this](const Message& m, Responder r) { on_request(m, std::move(r)); });
  }

private:
  void on_request(const Message& m, Responder r) {
    const auto* req = m.payload.get<ItemRequest>();
    if (req == nullptr) {
      return;
    }
    const NodeId router = s_.router_ids[rng_.below(s_.router_ids.size())];
    node_->call(router, Payload::make<ItemRequest>(*req), kItemBytes, kHopTimeout * 8,
                [r = std::move(r)](RpcResult res) {
                  r.reply(status(status_of(res)), kSmallBytes);
                });
  }

  std::shared_ptr<State> hold_;
  State& s_;
  int index_;
  Node* node_ = nullptr;
  Rng rng_{0};
};

class ClientProgram final : public world::Program {
public:
  ClientProgram(std::shared_ptr<State> s, const ClientSpec& spec, int index)
      : hold_(std::move(s)), s_(*hold_), spec_(spec), index_(index),
        names_(client_metric_names(spec.name)) {}

  void start(Node& node) override {
    node_ = &node;
    rng_ = node.sim().rng(fmt::format("dynamodb/client/{}/{}/{}", spec_.name, index_,
                                      node.incarnation()));
    if (spec_.rate_per_s > 0.0) {
      const Time now = node.sim().now();
      const Time begin = Time::zero() + spec_.start;
      node.after(begin > now ? begin - now : Duration::zero(), [this] { next(); });
    }
  }

private:
  void next() {
    node_->after(Duration::from_seconds(rng_.exponential(1.0 / spec_.rate_per_s)), [this] {
      issue();
      next();
    });
  }

  int pick_partition() {
    const int table = spec_.tables[rng_.below(spec_.tables.size())];
    const TableInfo& t = s_.tables[static_cast<std::size_t>(table)];
    if (spec_.hot_fraction > 0.0 && rng_.uniform01() < spec_.hot_fraction) {
      return s_.tables[static_cast<std::size_t>(spec_.tables.front())].first_partition;
    }
    return t.first_partition + static_cast<int>(rng_.below(static_cast<std::uint64_t>(t.partitions)));
  }

  void issue() {
    Metrics& metrics = node_->sim().metrics();
    metrics.counter(names_.requests).inc();
    const int partition = pick_partition();
    const std::vector<NodeId>& targets = spec_.via_queue ? s_.queue_ids : s_.router_ids;
    const NodeId target = targets[rng_.below(targets.size())];
    const Time started = node_->sim().now();
    node_->call(target, Payload::make<ItemRequest>(ItemRequest{partition, false}), kItemBytes,
                spec_.timeout, [this, started](RpcResult res) {
                  Metrics& m = node_->sim().metrics();
                  const Status st = status_of(res);
                  if (st == Status::ok) {
                    m.counter(names_.successes).inc();
                    m.histogram(names_.latency).record(node_->sim().now() - started);
                    return;
                  }
                  m.counter(names_.failures).inc();
                  if (st == Status::throttled) {
                    m.counter(names_.throttled).inc();
                  }
                });
  }

  std::shared_ptr<State> hold_;
  State& s_;
  const ClientSpec& spec_;
  int index_;
  ClientMetricNames names_;
  Node* node_ = nullptr;
  Rng rng_{0};
};

}  // namespace

DynamoDbCluster::DynamoDbCluster(DynamoDbParams params)
    : params_(std::move(params)), state_(std::make_shared<State>()) {
  params_.validate();
  State& s = *state_;
  s.params = params_;
  const int zones = s.zones();
  const int per_zone = params_.storage.nodes_per_zone;
  const int n = s.storage_count();
  s.entries.assign(static_cast<std::size_t>(n), 0);
  s.serving.assign(static_cast<std::size_t>(n), 1);
  s.out_since.assign(static_cast<std::size_t>(n), Time::zero());
  s.stream_backlog.assign(static_cast<std::size_t>(n), 0);
  s.node_partitions.resize(static_cast<std::size_t>(n));
  s.catching_up.assign(static_cast<std::size_t>(n), 0);
  s.ready_count.assign(static_cast<std::size_t>(n), 0);
  s.cell_of.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    // Contiguous blocks of the zone-major fleet, so cells follow zones when cells == zones.
    s.cell_of[static_cast<std::size_t>(i)] =
        static_cast<int>(static_cast<std::int64_t>(i) * params_.metadata.cells / n);
  }
  // Placement: one replica per zone, the preferred leader's zone rotating with the partition;
  // within a zone, the node holding the fewest replicas so far (ties: a fixed shuffled order),
  // as a placement service balances partitions over its storage fleet. Balanced memberships
  // make every node's check-in cost the same, so whether a metadata host keeps up depends on
  // how many nodes call it at once, not on which node happens to hold more. The layout uses a
  // stream of its own, fixed by the seed-independent name "dynamodb/placement".
  Rng rng = Rng::derive(0x44594e414d4f4442ULL, "dynamodb/placement");
  s.assign_key.resize(static_cast<std::size_t>(n));
  for (auto& k : s.assign_key) {
    k = rng.next_u64();
  }
  // Each zone deals its nodes out in rounds, in a fresh shuffled order every round, so that
  // replica sets do not repeat (a fixed order would pair the same nodes of each zone forever).
  std::vector<std::vector<int>> zone_order(static_cast<std::size_t>(zones));
  std::vector<std::size_t> zone_cursor(static_cast<std::size_t>(zones), 0);
  for (int z = 0; z < zones; ++z) {
    for (int k = 0; k < per_zone; ++k) {
      zone_order[static_cast<std::size_t>(z)].push_back(z * per_zone + k);
    }
  }
  auto deal = [&](int zone) {
    auto& order = zone_order[static_cast<std::size_t>(zone)];
    auto& cursor = zone_cursor[static_cast<std::size_t>(zone)];
    if (cursor % order.size() == 0) {
      for (std::size_t k = order.size(); k > 1; --k) {  // Fisher-Yates with the layout stream
        std::swap(order[k - 1], order[rng.below(k)]);
      }
    }
    return order[cursor++ % order.size()];
  };
  s.spec_tables.resize(params_.tables.size());
  for (std::size_t spec = 0; spec < params_.tables.size(); ++spec) {
    const TableParams& tp = params_.tables[spec];
    for (int c = 0; c < tp.count; ++c) {
      TableInfo info;
      info.name = tp.count == 1 ? tp.name : fmt::format("{}-{}", tp.name, c);
      info.spec = tp.name;
      info.first_partition = static_cast<int>(s.partitions.size());
      info.partitions = tp.partitions_total();
      const int table_index = static_cast<int>(s.tables.size());
      s.spec_tables[spec].push_back(table_index);
      for (int p = 0; p < info.partitions; ++p) {
        PartitionInfo part;
        std::vector<int> slots;
        part.table = table_index;
        part.partition = p;
        for (int r = 0; r < params_.storage.replication; ++r) {
          const int zone = (static_cast<int>(s.partitions.size()) + r) % zones;
          const int node = deal(zone);  // least-loaded first: rounds of the zone's nodes
          part.replicas.push_back(node);
          ++s.entries[static_cast<std::size_t>(node)];
          auto& held = s.node_partitions[static_cast<std::size_t>(node)];
          slots.push_back(static_cast<int>(held.size()));
          held.push_back(static_cast<int>(s.partitions.size()));
        }
        s.partitions.push_back(std::move(part));
        s.slot.push_back(std::move(slots));
      }
      s.throughput.emplace_back(tp.throughput, info.partitions);
      s.tables.push_back(std::move(info));
    }
  }
  s.metadata_programs.assign(
      static_cast<std::size_t>(params_.metadata.instances + params_.metadata.added_instances),
      nullptr);
  s.active_instances = params_.metadata.instances;
}

DynamoDbCluster::~DynamoDbCluster() = default;

namespace {

int serving_count(const State& s) {
  int count = 0;
  for (int i = 0; i < s.storage_count(); ++i) {
    count += s.node_serving(i) ? 1 : 0;
  }
  return count;
}

double unavailable_fraction(const State& s) {
  std::size_t down = 0;
  for (const auto& p : s.partitions) {
    std::size_t up = 0;
    const int index = static_cast<int>(&p - s.partitions.data());
    for (std::size_t k = 0; k < p.replicas.size(); ++k) {
      up += s.replica_serving(index, k) ? 1 : 0;
    }
    down += up * 2 <= p.replicas.size() ? 1 : 0;
  }
  return s.partitions.empty() ? 0.0 : static_cast<double>(down) / static_cast<double>(s.partitions.size());
}

double metadata_busy_fraction(const State& s) {
  int busy = 0;
  for (int j = 0; j < s.active_instances; ++j) {
    if (const auto* m = s.metadata_programs[static_cast<std::size_t>(j)]) {
      busy += m->busy();
    }
  }
  return static_cast<double>(busy) / (s.active_instances * s.params.metadata.cores);
}

}  // namespace

void DynamoDbCluster::build(world::World& w) {
  State& s = *state_;
  if (s.world != nullptr) {
    throw std::logic_error("DynamoDbCluster::build: already built");
  }
  s.world = &w;
  s.sim = &w.sim();
  Simulation& sim = w.sim();
  const auto region = w.add_region(params_.region);
  std::vector<world::ZoneId> zones;
  for (const auto& z : params_.zones) {
    zones.push_back(w.add_zone(region, z));
  }
  auto zone_at = [&](int i) { return zones[static_cast<std::size_t>(i) % zones.size()]; };

  world::HostParams meta_host = w.params().host_defaults;
  meta_host.cpu.cores = static_cast<std::uint32_t>(params_.metadata.cores);
  meta_host.cpu.sample_interval = Duration::zero();
  meta_host.nic_bandwidth_bps = params_.metadata.nic_bandwidth_bps;
  const int meta_total = params_.metadata.instances + params_.metadata.added_instances;
  for (int j = 0; j < meta_total; ++j) {
    auto h = w.add_host(zone_at(j), fmt::format("metadata-{}", j), meta_host);
    s.metadata_ids.push_back(w.add_node(h, fmt::format("metadata-{}", j),
                                        std::string(metadata_group()), [st = state_, j](Node&) {
                                          return std::make_unique<MetadataProgram>(st, j);
                                        }));
  }

  world::HostParams small_host = w.params().host_defaults;
  small_host.cpu.sample_interval = Duration::zero();
  world::HostParams storage_host = small_host;
  storage_host.cpu.cores = static_cast<std::uint32_t>(params_.storage.cores);
  const int per_zone = params_.storage.nodes_per_zone;
  for (int i = 0; i < s.storage_count(); ++i) {
    const int z = i / per_zone;
    auto h = w.add_host(zones[static_cast<std::size_t>(z)], fmt::format("storage-{}", i), storage_host);
    s.storage_ids.push_back(w.add_node(
        h, fmt::format("storage-{}", i), storage_group(params_.zones[static_cast<std::size_t>(z)]),
        [st = state_, i](Node&) { return std::make_unique<StorageProgram>(st, i); }));
  }
  for (int i = 0; i < params_.routers; ++i) {
    auto h = w.add_host(zone_at(i), fmt::format("router-{}", i), small_host);
    s.router_ids.push_back(w.add_node(h, fmt::format("router-{}", i), std::string(router_group()),
                                      [st = state_](Node&) { return std::make_unique<RouterProgram>(st); }));
  }
  auto& specs = s.clients;
  specs.clear();
  auto tables_of = [&](const std::string& spec_name) {
    for (std::size_t i = 0; i < params_.tables.size(); ++i) {
      if (params_.tables[i].name == spec_name) {
        return s.spec_tables[i];
      }
    }
    return s.spec_tables.front();
  };
  for (const auto& c : params_.customers) {
    specs.push_back(ClientSpec{c.name, c.rate_per_s / c.processes, tables_of(c.table),
                               c.hot_fraction, c.timeout, c.start, false, c.processes});
  }
  if (params_.queue.enabled) {
    const auto& q = params_.queue;
    for (int i = 0; i < q.instances; ++i) {
      auto h = w.add_host(zone_at(i), fmt::format("{}-{}", q.name, i), small_host);
      s.queue_ids.push_back(w.add_node(h, fmt::format("{}-{}", q.name, i), q.name,
                                       [st = state_, i](Node&) { return std::make_unique<QueueProgram>(st, i); }));
    }
    specs.push_back(ClientSpec{q.name + "-clients", q.rate_per_s / q.processes, tables_of(q.table),
                               0.0, q.timeout, Duration::zero(), true, q.processes});
  }
  // specs no longer grows: references into it stay valid.
  for (const auto& spec : specs) {
    for (int p = 0; p < spec.processes; ++p) {
      auto h = w.add_host(zone_at(p), fmt::format("{}-{}", spec.name, p), small_host);
      const ClientSpec* sp = &spec;
      w.add_node(h, fmt::format("{}-{}", spec.name, p), client_group(spec.name),
                 [st = state_, sp, p](Node&) { return std::make_unique<ClientProgram>(st, *sp, p); });
    }
  }

  // The operator's levers, as scheduled control-plane actions.
  const auto& mp = params_.metadata;
  if (mp.admit_limit_at > Duration::zero()) {
    sim.schedule_at(Time::zero() + mp.admit_limit_at, [st = state_] {
      st->admit_limited = true;
      st->sim->record("dynamodb", "admission-limit", {});
    });
  }
  if (mp.pause_at > Duration::zero()) {
    sim.schedule_at(Time::zero() + mp.pause_at, [st = state_] {
      st->paused = true;
      for (auto* m : st->metadata_programs) {
        if (m != nullptr) {
          m->drop_queue();
        }
      }
      st->sim->record("dynamodb", "pause", {});
    });
    sim.schedule_at(Time::zero() + mp.pause_at + mp.pause_for, [st = state_] {
      st->paused = false;
      st->active_instances = st->params.metadata.instances + st->params.metadata.added_instances;
      st->admit_limited = st->params.metadata.admit_rate_per_s > 0.0;
      st->sim->record("dynamodb", "unpause", {});
    });
  }

  // The model's own series, for C++ users and the story's plots.
  // The lambdas hold the shared state, not the cluster, which may be destroyed first.
  sim.sample_every("dynamodb/storage/in_service", params_.sample_interval, [st = state_] {
    return static_cast<double>(serving_count(*st)) / st->storage_count();
  });
  sim.sample_every("dynamodb/partitions/unavailable", params_.sample_interval,
                   [st = state_] { return unavailable_fraction(*st); });
  sim.sample_every("dynamodb/metadata/utilisation", params_.sample_interval,
                   [st = state_] { return metadata_busy_fraction(*st); });
}

const std::vector<TableInfo>& DynamoDbCluster::tables() const { return state_->tables; }
const std::vector<PartitionInfo>& DynamoDbCluster::partitions() const { return state_->partitions; }
int DynamoDbCluster::storage_nodes() const { return state_->storage_count(); }
int DynamoDbCluster::membership_entries(int node) const {
  return state_->entries.at(static_cast<std::size_t>(node));
}
std::uint64_t DynamoDbCluster::membership_bytes(int node) const { return state_->bytes(node); }
Duration DynamoDbCluster::checkin_cpu(int node) const { return state_->cpu(node); }
Duration DynamoDbCluster::checkin_timeout(int node) const { return state_->timeout(node); }
const std::vector<NodeId>& DynamoDbCluster::storage_node_ids() const { return state_->storage_ids; }

bool DynamoDbCluster::in_service(int node) const { return state_->node_serving(node); }


int DynamoDbCluster::storage_in_service() const { return serving_count(*state_); }

double DynamoDbCluster::storage_in_service_fraction() const {
  return static_cast<double>(serving_count(*state_)) / state_->storage_count();
}

double DynamoDbCluster::partitions_unavailable_fraction() const {
  return unavailable_fraction(*state_);
}

double DynamoDbCluster::metadata_utilisation() const { return metadata_busy_fraction(*state_); }

std::size_t DynamoDbCluster::metadata_queue_length() const {
  std::size_t q = 0;
  for (const auto* m : state_->metadata_programs) {
    q += m != nullptr ? m->queued() : 0;
  }
  return q;
}

std::vector<std::string> DynamoDbCluster::groups() const {
  std::vector<std::string> out{std::string(metadata_group()), std::string(router_group())};
  for (const auto& z : params_.zones) {
    out.push_back(storage_group(z));
  }
  for (const auto& c : params_.customers) {
    out.push_back(client_group(c.name));
  }
  if (params_.queue.enabled) {
    out.push_back(params_.queue.name);
    out.push_back(client_group(params_.queue.name + "-clients"));
  }
  return out;
}

}  // namespace faultline::sim::dynamodb
