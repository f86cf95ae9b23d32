// The metadata service's program: check-ins and keepalives wait in one FIFO queue for the
// host's cores (sim/dynamodb/README.md).
#pragma once

#include "cluster_state.hpp"

#include <faultline/sim/dynamodb/throughput.hpp>

#include <algorithm>
#include <deque>
#include <memory>
#include <utility>

namespace faultline::sim::dynamodb::detail {

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
      if (!s_.params.metadata.keepalives_queued) {
        // The session layer answers: the node learns nothing of the queue behind it.
        r.reply(Payload::make<Heartbeat>(), 64);
        return;
      }
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

}  // namespace faultline::sim::dynamodb::detail
