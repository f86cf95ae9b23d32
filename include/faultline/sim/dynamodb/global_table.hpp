// Global tables: one replica of a table per region, every region accepts writes, and
// replication between regions resolves conflicts with last-writer-wins (case-studies.md,
// "Amazon DynamoDB": "Last-Writer-Wins conflict resolution").
//
// A write is stamped with the writing replica host's clock (the world layer's Clock: offset,
// drift, NTP), applied locally, and shipped one-way to every other region. A replica keeps,
// per key, the version with the largest (timestamp, region) pair, so all replicas converge to
// the same value once replication quiesces — the write with the latest *timestamp*, which is
// the latest write in true time only while clocks agree better than the gap between writes.
#pragma once

#include <faultline/world/world.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline::sim::dynamodb {

struct ItemVersion {
  std::string value;
  std::int64_t timestamp_ns = 0;  // the writer's clock, POSIX nanoseconds
  int region = 0;                 // tie-break between equal timestamps
};

/// True when `a` wins over `b` under last-writer-wins.
bool lww_newer(const ItemVersion& a, const ItemVersion& b);

/// One region's copy: keys in an ordered map (deterministic iteration).
class LwwReplica {
public:
  /// Applies a version; true if it replaced what the replica held.
  bool apply(const std::string& key, const ItemVersion& v);
  std::optional<ItemVersion> get(const std::string& key) const;
  const std::map<std::string, ItemVersion>& items() const { return items_; }

private:
  std::map<std::string, ItemVersion> items_;
};

struct GlobalTableParams {
  /// Regions that hold a replica; each gets one zone and one replica host.
  std::vector<std::string> regions{"us-east-1", "eu-west-1"};
  std::string name = "global";
  void validate() const;
};

class GlobalTable {
public:
  explicit GlobalTable(GlobalTableParams params);
  GlobalTable(const GlobalTable&) = delete;
  GlobalTable& operator=(const GlobalTable&) = delete;
  ~GlobalTable();

  /// Adds the regions, zones, hosts and replica nodes to `world`.
  void build(world::World& world);
  /// A client write in `region` at the current simulated time: the replica stamps it with its
  /// host clock, applies it and replicates it. Call from an event (e.g. sim.schedule_at).
  void write(int region, const std::string& key, const std::string& value);
  /// The replica of `region` (empty after its node crashed until it restarts).
  const LwwReplica& replica(int region) const;
  world::NodeId node(int region) const;
  /// True when every replica holds the same versions.
  bool converged() const;

  struct Impl;

private:
  GlobalTableParams params_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::sim::dynamodb
