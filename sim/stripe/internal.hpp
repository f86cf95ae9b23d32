// Private to sim/stripe: the shared state of a StripeCluster, the wire messages between its
// nodes, and the program factories of each role. Not installed.
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/sim/stripe/cluster.hpp>
#include <faultline/sim/stripe/ledger.hpp>
#include <faultline/task.hpp>
#include <faultline/world/world.hpp>

#include <coroutine>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace faultline::sim::stripe::detail {

class LedgerProgram;

// --- ledger wire ------------------------------------------------------------------------------
struct LedgerCall {
  TxnRequest txn;
};
/// A read-only transaction (kGetCharge) that any up ledger node serves from its own tables.
struct LedgerRead {
  TxnRequest txn;
};
struct LedgerAnswer {
  bool not_leader = false;
  int leader_hint = -1;  // -1: unknown
  TxnReply reply;
};
struct Replicate {
  std::uint64_t epoch = 0;
  std::uint64_t first_lsn = 0;
  std::vector<std::shared_ptr<const std::string>> records;
};
struct ReplicateAck {
  std::uint64_t epoch = 0;
  std::uint64_t lsn = 0;  // the standby's last durable lsn
  bool rejected = false;  // the sender's epoch is stale
};
enum class Role : std::uint8_t { kLeader, kStandby, kRecovering };
struct Health {};
struct HealthReply {
  Role role = Role::kRecovering;
  std::uint64_t epoch = 0;
  std::uint64_t lsn = 0;
};
struct Promote {
  std::uint64_t epoch = 0;
};
struct Follow {
  std::uint64_t epoch = 0;
  int leader = 0;
};
struct WhoLeads {};
struct LeaderIs {
  std::uint64_t epoch = 0;
  int leader = 0;
};
struct Basebackup {};
struct BasebackupReply {
  std::uint64_t epoch = 0;
  std::string wal;
};
struct Ack {
  bool ok = true;
};

// --- processor wire ---------------------------------------------------------------------------
struct ProcessorCharge {
  std::string key;  // empty: no Idempotency-Key
  std::string intent;
  std::int64_t amount = 0;
};
struct ProcessorResult {
  bool declined = false;
  std::string charge;
};

// --- log wire ---------------------------------------------------------------------------------
struct LogEvent {
  std::string event_id;
  std::string aggregate;
  std::string charge;
};
struct Produce {
  int partition = 0;
  std::vector<LogEvent> events;
  bool from_leader = false;  // a follower's copy
  std::uint64_t base_offset = 0;
};
struct ProduceAck {
  bool ok = false;
  std::uint64_t next_offset = 0;
};
struct Fetch {
  int partition = 0;
  std::uint64_t offset = 0;
  int limit = 100;
};
struct FetchReply {
  bool ok = false;
  std::vector<LogEvent> events;
};
struct CommitOffset {
  std::string group;
  int partition = 0;
  std::uint64_t offset = 0;
};
struct OffsetQuery {
  std::string group;
  int partition = 0;
};
struct OffsetReply {
  bool ok = false;
  std::uint64_t offset = 0;
};

constexpr std::uint64_t kSmallBytes = 256;

/// The node's pause gate for wake-ups that are not world awaitables (disk I/O, kernel
/// completions): `PassGate g{node}; co_await g;` goes on at once while the node runs and
/// parks the coroutine until resume() while it is paused, so a paused process makes no
/// progress (a SIGSTOPped Postgres finishes no fsync-and-reply). Built as a local, not in the
/// co_await operand (g++ 12 and class temporaries with destructors, see ledger_txn).
class PassGate {
public:
  explicit PassGate(world::Node& node) : node_(&node) {}
  PassGate(const PassGate&) = delete;
  PassGate& operator=(const PassGate&) = delete;
  bool await_ready() const noexcept { return node_->state() != world::NodeState::kPaused; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_.handle = h;
    node_->wake(waiter_);  // paused: parks until resume()
  }
  void await_resume() const noexcept {}

private:
  world::Node* node_;
  world::Waiter waiter_;
};

/// Appends `text` to `file` on the node's host disk and fsyncs it, then passes the pause gate.
Task<void> append_durably(world::Node& node, std::string file, std::string text);

}  // namespace faultline::sim::stripe::detail

namespace faultline::sim::stripe {

struct StripeCluster::State {
  Simulation* sim = nullptr;
  StripeParams p;
  std::unique_ptr<world::World> world;
  std::vector<world::NodeId> ledger_ids, api_ids, broker_ids, consumer_ids;
  world::NodeId monitor_id, processor_id, worker_id, customers_id, relay_id;
  std::vector<detail::LedgerProgram*> ledgers;  // per ledger node; nullptr while down

  check::History history;
  std::vector<check::Effect> processor_charges;
  std::map<std::string, int> processor_per_intent;
  /// Charges beyond the first per intent: the sum of processor_per_intent's counts minus one.
  std::uint64_t double_charges = 0;
  std::set<std::string> processor_charge_ids;
  std::set<std::string> acked_intents;
  std::vector<check::OutboxRecord> committed, applied;
  std::map<std::string, int> applied_count;

  Counter& counter(std::string_view name) { return sim->metrics().counter(name); }

  /// Probe caches: a probe's value depends only on (leader, its lsn, the size of the set it is
  /// compared with), so the 200 samples of a quiet window cost one computation.
  struct ProbeCache {
    int leader = -2;
    std::uint64_t lsn = 0;
    std::size_t size = 0;
    std::uint64_t value = 0;
    bool matches(int l, std::uint64_t n, std::size_t sz) const {
      return leader == l && lsn == n && size == sz;
    }
  };
  mutable ProbeCache lost_cache, unrecorded_cache;
};

namespace detail {

// Program factories (one per role), in the files named after the role.
world::ProgramFactory ledger_factory(StripeCluster::State& s, int index);
world::ProgramFactory monitor_factory(StripeCluster::State& s);
world::ProgramFactory processor_factory(StripeCluster::State& s);
world::ProgramFactory api_factory(StripeCluster::State& s, int index);
world::ProgramFactory worker_factory(StripeCluster::State& s);
world::ProgramFactory customers_factory(StripeCluster::State& s);
world::ProgramFactory broker_factory(StripeCluster::State& s, int index);
world::ProgramFactory relay_factory(StripeCluster::State& s);
world::ProgramFactory consumer_factory(StripeCluster::State& s, int index);

/// A transaction on the ledger's leader from any node: follows "not leader" hints and
/// refused connections (which certainly did not execute); a timeout is an unknown outcome and
/// returns nullopt. `leader` is the caller's cached guess, updated.
Task<std::optional<TxnReply>> ledger_txn(world::Node& node, StripeCluster::State& s,
                                         int& leader, TxnRequest txn);

/// Publishes events to the log: one Produce per partition, to its leader; true when every
/// partition acknowledged (acks = all).
Task<bool> publish(world::Node& node, StripeCluster::State& s, std::vector<LogEvent> events);
int partition_of(const StripeCluster::State& s, const std::string& aggregate);
/// The broker leading a partition (leader per partition; replicas on the next brokers).
int partition_leader(const StripeCluster::State& s, int partition);

}  // namespace detail
}  // namespace faultline::sim::stripe
