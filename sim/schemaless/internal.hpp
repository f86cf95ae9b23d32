// Private to sim/schemaless: the shared state of a SchemalessCluster, the wire messages
// between its nodes, and the program factories of each role. Not installed.
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/sim/schemaless/cluster.hpp>
#include <faultline/task.hpp>
#include <faultline/world/world.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace faultline::sim::schemaless::detail {

class StorageProgram;

constexpr std::uint64_t kSmallBytes = 128;

// --- storage wire -----------------------------------------------------------------------------
/// A cell for `cluster`: the master of that cluster stores it; the master of another cluster
/// puts it in its buffer table.
struct WriteCell {
  Cell cell;
  int cluster = 0;
};
enum class WriteStatus : std::uint8_t { kOk, kExists, kConflict, kNotMaster, kError };
struct WriteReply {
  WriteStatus status = WriteStatus::kError;
};
struct ReadCells {
  GetRequest get;
};
struct ReadReply {
  bool ok = false;
  std::vector<Cell> cells;
};
/// One log entry as text ("C\trow\tcol\tref\tbody", "B\tcluster\t...", "D\tcluster\t...").
using Line = std::shared_ptr<const std::string>;
struct Replicate {
  std::uint64_t epoch = 0;
  std::size_t first = 0;
  std::vector<Line> lines;
};
struct ReplicateAck {
  bool ok = false;
  std::size_t length = 0;  // the minion's durable log length
};
struct Health {};
struct HealthReply {
  bool master = false;
  bool ready = false;
  std::size_t length = 0;
};
struct Promote {
  std::uint64_t epoch = 0;
};
struct Ack {
  bool ok = false;
};
struct Snapshot {};
struct SnapshotReply {
  bool ok = false;
  std::vector<Line> lines;
};
/// From a buffer holder to the owning cluster's master: is this cell on a minion yet? A master
/// that lacks it writes it (the replay that recovers a cell its predecessor acknowledged).
struct CheckBuffered {
  Cell cell;
};
struct CheckReply {
  bool ok = false;
  bool on_minion = false;
};
/// Trigger reads: cells of `column` in the log from `from` on, only entries on a minion.
struct Changes {
  std::size_t from = 0;
  std::string column;
  int limit = 0;
};
struct ChangesReply {
  bool ok = false;
  std::vector<Cell> cells;
  std::size_t next = 0;
};
struct Bill {
  std::string trip;
  std::string cell;  // the address: the idempotency key
};
struct BillReply {
  bool ok = false;
};

std::string encode_cell(char type, int cluster, const Cell& c);

}  // namespace faultline::sim::schemaless::detail

namespace faultline::sim::schemaless {

struct SchemalessCluster::State {
  Simulation* sim = nullptr;
  SchemalessParams p;
  std::unique_ptr<world::World> world;
  struct Directory {
    int master = 0;
    std::uint64_t epoch = 1;
  };
  std::vector<Directory> dir;                              // per cluster
  std::vector<std::vector<world::NodeId>> storage_ids;     // [cluster][replica]
  std::vector<std::vector<detail::StorageProgram*>> stores;  // nullptr while down
  std::vector<world::NodeId> worker_ids, trigger_ids;
  world::NodeId monitor_id, billing_id, riders_id;

  std::vector<AckedWrite> acked;
  std::vector<SessionRead> reads;
  check::History base_history;
  std::vector<check::Effect> bills;
  std::map<std::string, int> bills_per_trip;
  std::set<std::string> billed_cells;  // the billing service's own dedupe store
  std::set<std::string> acked_trips;

  /// Probe caches: probes are sampled often and their answers change only when their inputs
  /// grow (or a master changes), so a quiet window costs one computation.
  /// lost_cells: the acknowledged writes checked so far against the masters named by `key`,
  /// and which of them were missing (re-checked each time: a replay can bring one back).
  struct LostCache {
    std::vector<std::size_t> key;
    std::size_t checked = 0;
    std::vector<std::size_t> missing;
  };
  mutable LostCache lost_cache;
  /// Kept as bills and acknowledgements arrive, so the probes are O(1).
  std::uint64_t trips_acked_and_billed = 0;
  std::uint64_t extra_bills = 0;

  Counter& counter(std::string_view name) { return sim->metrics().counter(name); }
  int replicas() const { return 1 + p.storage.minions; }
  int cluster_of(const std::string& row) const {
    return shard_of(row, p.storage.shards) % p.storage.clusters;
  }
  world::NodeId master_node(int c) const {
    return storage_ids[static_cast<std::size_t>(c)]
                      [static_cast<std::size_t>(dir[static_cast<std::size_t>(c)].master)];
  }
};

namespace detail {

world::ProgramFactory storage_factory(SchemalessCluster::State& s, int cluster, int replica);
world::ProgramFactory monitor_factory(SchemalessCluster::State& s);
world::ProgramFactory worker_factory(SchemalessCluster::State& s, int index);
world::ProgramFactory trigger_factory(SchemalessCluster::State& s, int index);
world::ProgramFactory billing_factory(SchemalessCluster::State& s);
world::ProgramFactory riders_factory(SchemalessCluster::State& s);

/// What the cluster object reads of a live storage program.
const CellTable& table_of(const StorageProgram& p);
std::size_t buffered_of(const StorageProgram& p);

}  // namespace detail
}  // namespace faultline::sim::schemaless
