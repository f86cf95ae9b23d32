// The Spanner model: a universe of zones with spanservers, one Multi-Paxos group per tablet
// with leader leases, a lock table and transaction manager at each leader, two-phase commit
// across groups, commit timestamps from TT.now().latest with commit wait, and lock-free
// read-only transactions and snapshot reads (Corbett et al., OSDI 2012; model-facts §2).
//
//   Simulation sim({.seed = 1});
//   World world(sim);
//   Cluster cluster(world, SpannerParams{}, [](World& w) { return make_host_clock_oracle(w, 4_ms); });
//   // from a world node's coroutine:
//   Client client(cluster, node, /*history id=*/0);
//   TxnResult r = co_await client.read_write({"k0001"}, [](const ReadValues& v) { ... });
//
// The cluster records what clients saw in a check::History (commit timestamps included) and
// what leaders did in PaxosInvariants, so tests and scenarios judge a run with the checkers of
// faultline::check rather than with the model's own opinion of itself.
#pragma once

#include <faultline/check/history.hpp>
#include <faultline/check/result.hpp>
#include <faultline/sim/spanner/params.hpp>
#include <faultline/sim/spanner/time_oracle.hpp>
#include <faultline/task.hpp>
#include <faultline/world/world.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::sim::spanner {

/// A commit or read timestamp: nanoseconds of TrueTime's epoch (POSIX time, smeared).
using Timestamp = std::int64_t;
using Writes = std::vector<std::pair<std::string, std::int64_t>>;
using ReadValues = std::map<std::string, std::optional<std::int64_t>>;

struct TxnResult {
  enum class Status : std::uint8_t {
    kCommitted,  // took effect at `ts` (reads were served at `ts` for read-only ones)
    kAborted,    // certainly did not take effect
    kUnknown,    // the commit request's outcome was never learned
  };
  Status status = Status::kAborted;
  Timestamp ts = 0;
  ReadValues reads;
  int attempts = 0;
  bool committed() const { return status == Status::kCommitted; }
};

/// What leaders did, judged after the run: the lease disjointness invariant (no two leaders of
/// a group act in overlapping true-time intervals) and Paxos agreement (no two values chosen
/// for one slot). Leaders report every act that needs a lease; replicas report every value they
/// learn as chosen.
class PaxosInvariants {
public:
  /// A leader of `group` with `ballot` acted (assigned a timestamp, served a read) at `t`.
  void leader_acted(int group, std::int64_t ballot, Time t);
  /// `slot` of `group` was learned as chosen with a value whose digest is `digest`.
  void chosen(int group, std::int64_t slot, std::uint64_t digest, Time t);
  /// Checker "invariants": ok, or the first violations with the groups, ballots and times.
  check::CheckResult result() const;
  /// Intervals of leadership per group, for tests: (ballot, first act, last act).
  struct Interval {
    std::int64_t ballot;
    Time first;
    Time last;
  };
  std::vector<Interval> intervals(int group) const;

private:
  std::map<std::pair<int, std::int64_t>, Interval> intervals_;
  std::map<std::pair<int, std::int64_t>, std::uint64_t> chosen_;
  std::vector<std::string> agreement_violations_;
};

class Spanserver;

/// A directory (Spanner §2.2): the keys k<lo> .. k<hi-1>, stored by one Paxos group. The
/// location table maps every key to exactly one directory; `id` is unique over the run.
struct Directory {
  int id = 0;
  int lo = 0;
  int hi = 0;
  int group = 0;
  bool contains(int key_index) const { return key_index >= lo && key_index < hi; }
};

/// What the placement driver did, for tests and scenario metrics.
struct PlacementStats {
  int splits = 0;
  int merges = 0;
  int moves = 0;
  int failed_moves = 0;
  int leader_handoffs = 0;
};

class Cluster {
public:
  using OracleFactory = std::function<std::unique_ptr<TimeOracle>(world::World&)>;

  /// Builds region "universe", zones z1..zN, `servers_per_zone` spanserver hosts per zone and
  /// one client host per zone, then the time oracle (which may add time masters), then the
  /// spanserver nodes. Validates params (std::invalid_argument).
  Cluster(world::World& world, SpannerParams params, const OracleFactory& oracle);
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  ~Cluster();

  world::World& world() const { return *world_; }
  const SpannerParams& params() const { return params_; }
  TimeOracle& oracle() const { return *oracle_; }
  TimeBounds tt_now(world::HostId host) const { return oracle_->now(host); }

  // --- placement ---------------------------------------------------------------------------
  static std::string key_name(int index);
  static int key_index(std::string_view key);
  /// The group whose directory holds `key`, by the location table (which movedir updates).
  int group_of(std::string_view key) const;
  /// The location table, ordered by key range.
  const std::vector<Directory>& directories() const { return directories_; }
  /// The directories each group owned when the cluster was built (replicas start from these
  /// and replay moves from their Paxos logs).
  std::vector<std::pair<int, int>> initial_ranges(int group) const;
  /// The spanserver nodes of a group's replicas; replica 0 is the preferred leader.
  const std::vector<world::NodeId>& replicas(int group) const { return placement_.at(group); }
  world::ZoneId zone_of(world::NodeId node) const;
  std::string zone_name(int zone_index) const { return "z" + std::to_string(zone_index + 1); }
  const std::vector<world::ZoneId>& zones() const { return zones_; }
  /// The host for clients in a zone.
  world::HostId client_host(int zone_index) const { return client_hosts_.at(zone_index); }
  /// The node name of spanserver `server` of zone `zone_index` (group "spanserver/z<i>").
  static std::string server_group(int zone_index) { return "spanserver/z" + std::to_string(zone_index + 1); }

  // --- inspection (tests, probes) ----------------------------------------------------------
  /// The replica of `group` that currently holds a valid lease by its own reckoning, if any.
  std::optional<world::NodeId> leader_of(int group) const;
  /// Groups whose leader (by its own reckoning) is in zone `zone_index`.
  int leaders_in_zone(int zone_index) const;
  /// Soft kill: every leader in the zone hands its groups to a replica in another zone.
  void hand_off_leaders_in_zone(int zone_index);

  // --- directories and the placement driver (placement.cpp) ---------------------------------
  /// Keys with data in [lo, hi) at the group's current leader (0 if it has none).
  int populated_keys(int group, int lo, int hi) const;
  /// Splits directory `id` at key index `at` (lo < at < hi): a change of the location table
  /// only, as both halves stay in the same group. False if there is no such directory.
  bool split_directory(int id, int at);
  /// Merges directory `id` with its right neighbour, which must be in the same group.
  bool merge_with_next(int id);
  /// movedir: moves directory `id` to group `dest` through the source leader (background
  /// copy, then a short Paxos transaction at both groups). Runs on `from`, a world node.
  Task<bool> move_directory(world::Node& from, int id, int dest);
  /// One round of the placement driver: split, merge, rebalance, balance leaders.
  Task<void> placement_round(world::Node& driver);
  /// Starts the placement driver (a node on the zone-0 client host) if params().placement
  /// enables any action; start_workload() calls it.
  void start_placement_driver();
  const PlacementStats& placement_stats() const { return placement_stats_; }
  /// Called by a source leader when a move's final transaction is chosen: the location table
  /// now sends the directory's keys to `dest`.
  void relocate(int lo, int hi, int dest);
  /// Replicas per zone and leaders per zone of the initial placement (tests).
  std::vector<int> replicas_per_zone() const;

  // --- workload and judgement --------------------------------------------------------------
  /// Starts params().workload's client processes (zone-local client nodes) and schedules the
  /// leader hand-off of params().handoff_zone, if any.
  void start_workload();
  check::History& history() { return history_; }
  PaxosInvariants& invariants() { return invariants_; }
  /// Checker "strict-serializability" over history().
  check::CheckResult check_serializable() const;
  /// The next unique value for a write (values must be unique per key for the checker).
  std::int64_t next_value() { return ++value_seq_; }
  std::int64_t next_txn_id() { return ++txn_seq_; }

  /// Commit wait as measured at leaders: how many, and the smallest margin of a wait over
  /// the 2ε the paper promises (ε at the timestamp choice plus ε at the end of the wait).
  struct CommitWaitStats {
    std::int64_t commits = 0;
    Duration min_margin = Duration::max();
    Duration min_wait = Duration::max();
  };
  const CommitWaitStats& commit_wait_stats() const { return commit_wait_; }
  void note_commit_wait(Duration waited, Duration two_epsilon);

  /// Metric names (counters and histograms in sim.metrics()).
  static constexpr const char* kMetricPrefix = "spanner.";

  // --- internal: spanservers look each other up --------------------------------------------
  Spanserver* server(world::NodeId node) const;
  int replica_index(int group, world::NodeId node) const;

private:
  world::World* world_;
  SpannerParams params_;
  std::unique_ptr<TimeOracle> oracle_;
  std::vector<world::ZoneId> zones_;
  std::vector<world::HostId> client_hosts_;
  std::vector<world::NodeId> servers_;
  std::map<std::uint32_t, int> server_zone_;  // node id → zone index
  std::vector<std::vector<world::NodeId>> placement_;
  std::vector<Directory> directories_;
  std::vector<Directory> initial_directories_;
  int next_directory_id_ = 0;
  PlacementStats placement_stats_;
  bool driver_started_ = false;
  check::History history_;
  PaxosInvariants invariants_;
  CommitWaitStats commit_wait_;
  std::int64_t value_seq_ = 0;
  std::int64_t txn_seq_ = 0;
  std::int64_t client_seq_ = 0;
};

/// The client library: runs on a world node (co_await from its coroutines). One Client is one
/// sequential history client: do not run two transactions on it at once.
class Client {
public:
  /// `history_id` < 0 records nothing.
  Client(Cluster& cluster, world::Node& node, std::int64_t history_id);

  /// A read-write transaction: reads `read_keys` under read locks at their leaders, computes
  /// the writes from what it read, and commits (single group: at the leader; several groups:
  /// two-phase commit with the lowest group as coordinator). Wound-wait aborts are retried up
  /// to workload.max_attempts with the first attempt's priority.
  Task<TxnResult> read_write(std::vector<std::string> read_keys,
                             std::function<Writes(const ReadValues&)> writes);
  /// A lock-free read-only transaction at s_read = TT.now().latest, served by each group's
  /// leader once its safe time passes s_read (prepared and in-flight writes below it resolved).
  Task<TxnResult> read_only(std::vector<std::string> keys);
  /// A snapshot read at `ts`, served by the closest replica whose safe time has passed `ts`.
  Task<TxnResult> snapshot_read(std::vector<std::string> keys, Timestamp ts);

  world::Node& node() const { return *node_; }
  /// The replica that answered the last request sent to a leader.
  world::NodeId last_leader() const { return last_leader_; }

private:
  struct Attempt;
  Task<TxnResult> rw_attempt(const std::vector<std::string>& read_keys,
                             const std::function<Writes(const ReadValues&)>& writes,
                             std::int64_t txn, Timestamp priority, Writes& written);
  /// Sends to the group's leader, following not-leader hints and trying other replicas.
  /// `idempotent` false stops at the first timeout (a commit must not be sent twice).
  Task<world::RpcResult> call_leader(int group, world::Payload request, std::uint64_t bytes,
                                     bool idempotent);

  Task<void> abort_everywhere(std::int64_t txn, const std::vector<int>& groups);
  void record_invoke(check::Op op);
  void record_end(const TxnResult& r, check::Op op);

  Cluster* cluster_;
  world::Node* node_;
  std::int64_t history_id_;
  std::map<int, world::NodeId> leader_cache_;
  std::map<std::uint32_t, Time> suspect_until_;  // node id → skip it until then
  world::NodeId last_leader_;
  /// The current read-write attempt was refused because a directory moved (kMoved).
  bool moved_ = false;
  /// Redirected attempts a read-write transaction may make beyond max_attempts.
  static constexpr int kMaxRedirects = 10;
};

}  // namespace faultline::sim::spanner
