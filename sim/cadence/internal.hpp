// Private to sim/cadence: the wire messages between the nodes, the shared state of a
// CadenceCluster, and the program factories of each role. Not installed.
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/sim/cadence/cluster.hpp>
#include <faultline/sim/cadence/workflow.hpp>
#include <faultline/world/world.hpp>

#include <coroutine>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::cadence::detail {

// --- history service wire ---------------------------------------------------------------------
struct StartWorkflow {
  std::string workflow;
  std::string input;
};
struct SignalWorkflow {
  std::string workflow;
  std::string signal;
};
/// kOk: accepted (or already there); kNotFound: no such workflow on this host.
struct HistoryAck {
  bool ok = false;
  bool not_found = false;
};
struct PollDecision {};
struct PollActivity {};
struct DecisionTask {
  bool empty = true;
  std::uint64_t task_id = 0;
  std::shared_ptr<const WorkflowHistory> history;
};
struct CompleteDecision {
  std::string workflow;
  std::uint64_t task_id = 0;
  std::vector<Command> commands;
};
struct ActivityTask {
  bool empty = true;
  std::string workflow;
  std::int64_t seq = 0;
  std::int64_t attempt = 0;
  std::string name;
  std::string input;
};
struct Heartbeat {
  std::string workflow;
  std::int64_t seq = 0;
  std::int64_t attempt = 0;
};
struct CompleteActivity {
  std::string workflow;
  std::int64_t seq = 0;
  std::int64_t attempt = 0;
  bool ok = false;
  std::string result;
};

// --- dispatch (the drivers' apps) and payment wire --------------------------------------------
struct MatchDriver {
  std::string trip;
};
struct MatchReply {
  bool matched = false;
  std::string driver;
};
struct RatingRequest {
  std::string trip;
  std::string driver;
};
struct Charge {
  std::string key;  // empty: no idempotency key
  std::string trip;
  std::int64_t amount = 0;
};
struct ChargeReply {
  bool ok = false;
  bool busy = false;  // the same key is being charged right now
  std::string charge;
};

constexpr std::uint64_t kSmallBytes = 128;

/// Which history host keeps workflow `id` (FNV-1a of the id, modulo the hosts).
int shard_of(std::string_view id, int hosts);

/// The node's pause gate for wake-ups that are not world awaitables (disk I/O): goes on at once
/// while the node runs and parks the coroutine until resume() while it is paused.
class PassGate {
public:
  explicit PassGate(world::Node& node) : node_(&node) {}
  PassGate(const PassGate&) = delete;
  PassGate& operator=(const PassGate&) = delete;
  bool await_ready() const noexcept { return node_->state() != world::NodeState::kPaused; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_.handle = h;
    node_->wake(waiter_);
  }
  void await_resume() const noexcept {}

private:
  world::Node* node_;
  world::Waiter waiter_;
};

}  // namespace faultline::sim::cadence::detail

namespace faultline::sim::cadence {

struct CadenceCluster::State {
  Simulation* sim = nullptr;
  CadenceParams p;
  std::unique_ptr<world::World> world;
  std::vector<world::NodeId> history_ids, worker_ids;
  world::NodeId riders_id, dispatch_id, payment_id;
  /// Workflow starts the riders were told succeeded, and when.
  std::vector<std::string> acknowledged;
  std::map<std::string, Time> started_at;
  /// Payment activity attempts (one request op each, request id = the trip) and the charges
  /// the payment service made durably (request id = the trip).
  check::History payment_requests;
  std::int64_t next_client = 0;
  std::vector<check::Effect> charges;
  std::map<std::string, int> charges_per_trip;
  /// What the probes need of the durable logs, read incrementally (the logs only grow).
  struct Summary {
    bool closed = false;
    std::map<std::int64_t, Time> timers;  // started, neither fired nor canceled
  };
  std::vector<std::size_t> log_read;  // per history host: bytes of its durable log read
  std::map<std::string, Summary, std::less<>> summaries;
  std::uint64_t nondeterministic = 0;
  std::uint64_t decisions = 0;
  std::uint64_t replayed_events = 0;
};

}  // namespace faultline::sim::cadence

namespace faultline::sim::cadence::detail {
world::ProgramFactory history_factory(CadenceCluster::State& s, int index);
world::ProgramFactory worker_factory(CadenceCluster::State& s, int index);
world::ProgramFactory riders_factory(CadenceCluster::State& s);
world::ProgramFactory dispatch_factory(CadenceCluster::State& s);
world::ProgramFactory payment_factory(CadenceCluster::State& s);
/// The in-memory histories of a history host (kMemory persistence), or nullptr if it is down.
const std::map<std::string, WorkflowHistory>* memory_histories(const world::Node& node);
}  // namespace faultline::sim::cadence::detail
