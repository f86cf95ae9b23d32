// The programs in front of the storage nodes: request routers (throughput rules, then the
// partition's replicas in turn), the queue service built on a table, and the clients.
#include "cluster_state.hpp"

#include <fmt/format.h>

#include <utility>

namespace faultline::sim::dynamodb::detail {

namespace {

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

std::unique_ptr<world::Program> make_router_program(std::shared_ptr<State> s) {
  return std::make_unique<RouterProgram>(std::move(s));
}
std::unique_ptr<world::Program> make_queue_program(std::shared_ptr<State> s, int index) {
  return std::make_unique<QueueProgram>(std::move(s), index);
}
std::unique_ptr<world::Program> make_client_program(std::shared_ptr<State> s,
                                                    const ClientSpec& spec, int index) {
  return std::make_unique<ClientProgram>(std::move(s), spec, index);
}

}  // namespace faultline::sim::dynamodb::detail
