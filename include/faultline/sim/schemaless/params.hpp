// Parameters of the Schemaless model (sim/schemaless): Uber's trip datastore of immutable
// cells over sharded MySQL-like storage clusters, with buffered writes and triggers.
//
// Semantics and sources: model-facts.md §5.3 (Schemaless parts one to three). Every number
// that is not from there is marked as an assumption.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace faultline::sim::schemaless {

/// Which node of a storage cluster a read goes to.
enum class ReadFrom : std::uint8_t {
  kMaster,  // the default: read-your-writes (§5.3)
  kMinion,  // a random minion: may be stale
};
std::string_view to_string(ReadFrom r);
std::optional<ReadFrom> parse_read_from(std::string_view text);

/// Storage: `clusters` storage clusters, each one master and `minions` minions in other zones.
struct StorageParams {
  /// Fixed shards per dataset (§5.3: 4096); shard s lives on cluster s % clusters.
  int shards = 4096;
  int clusters = 4;
  /// Minions per cluster (§5.3, secondary source: typically 2, in other datacenters).
  int minions = 2;
  /// How often a master ships its durable log to its minions (asynchronous replication). An
  /// assumption: MySQL asynchronous replicas commonly trail by under a second to seconds.
  Duration replication_interval = Duration::millis(500);
  /// Worker → storage request timeout.
  Duration request_timeout = Duration::millis(500);
  /// CPU per storage request (an assumption: an indexed MySQL insert or lookup).
  Duration request_cpu = Duration::micros(100);
  /// Master failover: a monitor health-checks each master and promotes the most advanced
  /// minion after `failover_after` consecutive failed checks.
  bool failover = true;
  Duration health_interval = Duration::seconds(1);
  Duration health_timeout = Duration::millis(300);
  int failover_after = 3;
  void validate() const;
};

/// Buffered writes (§5.3): every write also goes to a randomly chosen other cluster's master,
/// into a buffer table; the write succeeds only when both do.
struct BufferParams {
  bool enabled = true;
  /// How often a master's background worker checks its buffered cells against their owning
  /// cluster (deletes those on a minion, replays those the owner's master lacks).
  Duration check_interval = Duration::seconds(1);
  /// Buffered cells checked per pass at most.
  int batch = 200;
  void validate() const;
};

/// Worker nodes: route requests by shard to the storage clusters.
struct WorkerParams {
  int workers = 3;
  ReadFrom read_from = ReadFrom::kMaster;
  /// CPU per request on a worker (an assumption).
  Duration request_cpu = Duration::micros(50);
  void validate() const;
};

/// Triggers (§5.3): change listeners on a column that call an idempotent function per new
/// cell, retried until it succeeds, in order per row key, with offsets kept durably.
struct TriggerParams {
  bool enabled = true;
  /// Trigger worker nodes; cluster c is read by worker c % workers.
  int workers = 2;
  Duration poll_interval = Duration::millis(200);
  /// Cells read per poll at most.
  int batch = 20;
  /// The offset is saved after a batch once this much time has passed since the last save
  /// (zero: after every batch). A restarted worker repeats what it did since (an assumption:
  /// periodic commits, as Kafka consumers make, so repeats after a crash are routine and the
  /// functions must be idempotent).
  Duration commit_interval = Duration::seconds(1);
  /// Offsets fsynced on the trigger worker's disk after each batch. False: kept in memory, and
  /// a restarted worker starts at the log's head (what it missed is never processed).
  bool durable_offsets = true;
  /// Retries of a failed trigger call: capped exponential backoff with full jitter.
  Duration retry_base = Duration::millis(100);
  Duration retry_cap = Duration::seconds(5);
  Duration call_timeout = Duration::millis(500);
  void validate() const;
};

/// The billing service the BASE trigger calls (bill_rider in the Schemaless triggers post).
struct BillingParams {
  /// Deduplicates by the cell address (an idempotent function, as triggers require). False:
  /// every call bills again.
  bool idempotent = true;
  /// Service time (an assumption).
  Duration latency = Duration::millis(20);
  /// Fraction of calls that fail (the trigger retries them); from the stream "billing".
  double failure_ratio = 0.0;
  void validate() const;
};

/// The trip workload: trips arrive as a Poisson process; each writes STATUS cells with
/// increasing ref keys (reading the latest STATUS back after each), then the BASE cell.
struct ClientParams {
  double trips_per_s = 20.0;
  /// No new trips after this (zero: until the end of the run).
  Duration stop_at{};
  /// STATUS cells per trip before BASE.
  int status_updates = 3;
  /// Mean time between a trip's writes (exponential).
  Duration step_time = Duration::seconds(2);
  /// Per attempt, client → worker.
  Duration timeout = Duration::seconds(1);
  /// Attempts per cell write (the same cell address each time: idempotent).
  int max_attempts = 6;
  Duration retry_base = Duration::millis(200);
  Duration retry_cap = Duration::seconds(5);
  /// Read the latest STATUS after each STATUS write.
  bool reads = true;
  /// Bytes of a cell body (the JSON blob) on the wire.
  std::uint64_t body_bytes = 1024;
  void validate() const;
};

struct SchemalessParams {
  StorageParams storage;
  BufferParams buffer;
  WorkerParams worker;
  TriggerParams triggers;
  BillingParams billing;
  ClientParams clients;
  /// Throws std::invalid_argument naming the field ("storage.minions: ...") and the fix.
  void validate() const;
};

}  // namespace faultline::sim::schemaless
