// The storage node's program: check-ins, keepalives and probes to the metadata service,
// self-eviction, rejoining with re-replication from peers, and serving replica requests.
#include "cluster_state.hpp"

#include <faultline/probe.hpp>
#include <faultline/resilience/backoff.hpp>
#include <faultline/task.hpp>

#include <fmt/format.h>

#include <deque>
#include <utility>

namespace faultline::sim::dynamodb::detail {

namespace {
// A storage server back from time out of service re-replicates the writes it missed from a
// peer (faultline/probe.hpp).
const ProbePoint kProbeReReplication("dynamodb/storage/re-replication");
}  // namespace

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

namespace {

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

}  // namespace

std::unique_ptr<world::Program> make_storage_program(std::shared_ptr<State> s, int index) {
  return std::make_unique<StorageProgram>(std::move(s), index);
}

}  // namespace faultline::sim::dynamodb::detail
