// The processes in front of the storage nodes: server-driven coordination's load balancers
// and the clients (their workload, and the membership polling of client-driven ones).
#include "cluster_impl.hpp"

#include <algorithm>

namespace faultline::sim::dynamo::detail {

namespace {

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
    suspects_.clear();
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
                      suspect(target);
                    }
                    Payload out = rep != nullptr ? r.payload
                                                 : Payload::make<ClientReply>(false, std::vector<Version>{});
                    const std::uint64_t out_bytes = rep != nullptr ? r.size_bytes : kHeaderBytes;
                    run_cpu(*node_, c_.p.cpu.load_balancer,
                            [out, out_bytes, resp] { resp.reply(out, out_bytes); });
                  });
    });
  }

  /// A uniformly random node among those not suspected (any node when all are): the k-th
  /// unsuspected index, found by stepping over the few suspected ones below it, so a request
  /// costs the same at 30 nodes as at 480.
  std::uint32_t pick() {
    const Time now = c_.sim->now();
    std::erase_if(suspects_, [&](std::uint32_t i) { return now >= suspect_until_[i]; });
    const std::size_t healthy = suspect_until_.size() - suspects_.size();
    if (healthy == 0) {
      return static_cast<std::uint32_t>(rng_.below(suspect_until_.size()));
    }
    auto node = static_cast<std::uint32_t>(rng_.below(healthy));
    for (auto s : suspects_) {
      if (s > node) {
        break;
      }
      ++node;
    }
    return node;
  }

  void suspect(std::uint32_t target) {
    suspect_until_[target] = c_.sim->now() + c_.p.suspect_for;
    auto at = std::lower_bound(suspects_.begin(), suspects_.end(), target);
    if (at == suspects_.end() || *at != target) {
      suspects_.insert(at, target);
    }
  }

  Cluster::Impl& c_;
  Rng rng_;
  Node* node_ = nullptr;
  std::vector<Time> suspect_until_;
  /// The nodes whose suspect_until_ may still be ahead, in index order (expired ones are
  /// dropped at the next pick).
  std::vector<std::uint32_t> suspects_;
};

// --- client ---------------------------------------------------------------------------------
class ClientProgram final : public ClientAccess {
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

  const ClientParams& params() const override { return cp_; }
  View& view() override { return view_; }
  Executor& cpu() override { return cpu_; }
  Rng& rng() override { return rng_; }
  std::uint32_t writer() const override { return writer_; }

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
    auto& mine = added_[cart_index];
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
      added_[cart_index].push_back(item);
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
  /// The items this client added to each cart and has not removed, by cart index (only looked
  /// up, never walked).
  std::unordered_map<std::uint64_t, std::vector<std::string>> added_;
};

}  // namespace

std::unique_ptr<world::Program> make_balancer_program(Cluster::Impl& c, const std::string& name) {
  return std::make_unique<BalancerProgram>(c, name);
}

std::unique_ptr<world::Program> make_client_program(Cluster& cluster, Cluster::Impl& c,
                                                    const ClientParams& cp, int index,
                                                    std::uint32_t writer_id) {
  return std::make_unique<ClientProgram>(cluster, c, cp, index, writer_id);
}

}  // namespace faultline::sim::dynamo::detail
