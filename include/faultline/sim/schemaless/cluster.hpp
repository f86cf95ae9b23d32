// Schemaless on the world layer (model-facts §5.3).
//
// Nodes (groups in brackets, for fault targets):
//   store-<c>-<r>  [storage]   storage cluster c, replica r: replica 0 starts as the master,
//                              the minions sit in other zones; a durable log of cells (and
//                              buffer-table rows) fsynced on the host's disk, shipped
//                              asynchronously to the minions
//   monitor        [monitor]   health-checks each master; promotes the most advanced minion
//   worker-<i>     [workers]   route by shard; buffered writes; reads from master or a minion
//   trigger-<i>    [triggers]  change listeners on the BASE column; offsets fsynced
//   billing        [billing]   the trigger's idempotent function (bill_rider)
//   riders         [clients]   the trip workload
//
// Routing (which replica is each cluster's master, and its epoch) lives in a directory the
// monitor updates and every node reads at once: a stand-in for the configuration service a
// real deployment uses (an assumption: it never lags and never fails).
//
// Metric names (sim.metrics()), prefix "schemaless/":
//   counters   writes/requests, writes/successes, writes/failures, writes/attempts (per cell
//              write of the trip workload, retries with the same address); histogram
//              writes/latency; the same under reads/ (latest STATUS after each STATUS write)
//   counters   trips, storage/writes, storage/duplicates, buffer/writes, buffer/deleted,
//              buffer/replayed, failovers, triggers/calls, triggers/retries, billing/charges
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/sim/schemaless/cell.hpp>
#include <faultline/sim/schemaless/checkers.hpp>
#include <faultline/sim/schemaless/params.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace faultline::sim::schemaless {

/// A cell write sent to any worker node (the Schemaless put_cell).
struct PutRequest {
  Cell cell;
};
enum class PutStatus : std::uint8_t {
  kOk,           // stored (or already stored with the same body: an idempotent repeat)
  kConflict,     // the address holds another body: cells are immutable
  kInvalid,      // the row, column or body holds a tab or newline, or the ref key is below 1
  kUnavailable,  // the master (or, buffered, the secondary master) did not confirm in time
};
struct PutResponse {
  PutStatus status = PutStatus::kUnavailable;
};

/// A read sent to any worker node.
/// kRows fans out: the worker sends the request to every cluster that owns one of `rows` at
/// once and aggregates the rows (the latest cell of every column of each), in address order.
enum class GetKind : std::uint8_t { kLatest, kAt, kRow, kRows };
struct GetRequest {
  GetKind kind = GetKind::kLatest;
  std::string row;
  std::string column;  // kLatest, kAt
  std::int64_t ref = 0;  // kAt: the latest cell at or below this ref key
  std::vector<std::string> rows;  // kRows
};
struct GetResponse {
  bool ok = false;  // false: a storage node did not answer in time (kRows: any of them)
  std::vector<Cell> cells;
};

struct SchemalessMetricNames {
  std::string writes, write_successes, write_failures, write_attempts, write_latency;
  std::string reads, read_successes, read_failures, read_attempts, read_latency;
};
const SchemalessMetricNames& metric_names();

class SchemalessCluster {
public:
  /// Validates `params` (std::invalid_argument) and builds every node in a new World.
  /// `with_riders` false leaves out the trip workload (unit tests drive workers themselves).
  SchemalessCluster(Simulation& sim, SchemalessParams params, bool with_riders = true);
  ~SchemalessCluster();
  SchemalessCluster(const SchemalessCluster&) = delete;
  SchemalessCluster& operator=(const SchemalessCluster&) = delete;

  world::World& world();
  const SchemalessParams& params() const;
  static std::vector<std::string> groups();
  world::NodeId worker_node(int i) const;
  world::NodeId storage_node(int cluster, int replica) const;
  /// The cluster a row key lives on (through its shard).
  int cluster_of(const std::string& row) const;
  /// The replica the directory names as cluster c's master, and its epoch (1 at boot).
  int master_of(int cluster) const;
  std::uint64_t epoch_of(int cluster) const;

  /// The cells a storage node holds now (nullptr while it is down).
  const CellTable* table(int cluster, int replica) const;
  /// Buffered cells a storage node holds for other clusters (0 while it is down).
  std::size_t buffered(int cluster, int replica) const;
  /// Every cell of its own cluster that each cluster's current master serves.
  std::map<CellAddress, std::string> stored_cells() const;

  /// What the trip workload saw: cell writes acknowledged, and its reads.
  const std::vector<AckedWrite>& acked_writes() const;
  const std::vector<SessionRead>& session_reads() const;
  /// One request per trip's BASE write (request id = the row key), for exactly-once.
  const check::History& base_history() const;
  /// Bills the billing service recorded (request id = the row key).
  const std::vector<check::Effect>& bills() const;

  // Probes.
  std::uint64_t lost_cells() const;
  std::uint64_t buffered_cells() const;
  /// Trips whose acknowledged BASE cell has not been billed; bills beyond the first per trip.
  std::uint64_t unbilled_trips() const;
  std::uint64_t double_bills() const;
  std::uint64_t failovers() const;

  struct State;

private:
  std::unique_ptr<State> s_;
};

}  // namespace faultline::sim::schemaless
