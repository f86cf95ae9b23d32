// Versions of one object and how replicas and clients reconcile them.
//
// A replica keeps, per key, the set of versions that no other version it holds supersedes.
// Under vector-clock reconciliation (the Dynamo paper, §4.4) a version whose clock is an
// ancestor of another is dropped, and concurrent versions stay side by side as siblings; the
// application merges them on its next read — for the shopping cart, as the union of the items,
// so an add is never lost while a delete can resurface. Under last-writer-wins (what DynamoDB
// global tables do) a replica keeps only the version with the latest coordinator timestamp,
// which silently discards concurrent updates.
#pragma once

#include <faultline/sim/dynamo/vector_clock.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamo {

enum class Reconcile : std::uint8_t {
  kUnion,            // vector clocks + siblings; the client merges carts as a union
  kLastWriterWins,   // one version per key, the highest (timestamp, coordinator) wins
};
std::string_view to_string(Reconcile r);
std::optional<Reconcile> parse_reconcile(std::string_view text);

/// One version of a shopping cart: its items (sorted, unique) and its causal history.
struct Version {
  /// The causal history: the writes (dots) this version has seen, its own dot included.
  VectorClock clock;
  /// The write that created this version, (writer << 32 | k): the writer's k-th write of
  /// this key, an event in `clock`. A version supersedes another exactly when its clock
  /// contains the other's dot (0: no dot; then the plain vector-clock order decides).
  std::uint64_t dot = 0;
  std::vector<std::string> items;
  /// The coordinator's clock reading when it wrote the version (ns since the Unix epoch).
  std::int64_t timestamp_ns = 0;
  std::uint32_t coordinator = 0;

  /// A stable digest of clock, items and timestamp (Merkle leaves, divergence counts).
  std::uint64_t digest() const;
  bool operator==(const Version& o) const {
    return clock == o.clock && dot == o.dot && items == o.items &&
           timestamp_ns == o.timestamp_ns && coordinator == o.coordinator;
  }
};

/// Whether `a` supersedes (or is) `b`: a's clock contains b's dot; for versions without dots,
/// a's clock descends from b's.
bool supersedes(const Version& a, const Version& b);
/// Adds `incoming` to a key's version set under `mode`. Returns true if the set changed.
bool apply_version(std::vector<Version>& versions, const Version& incoming, Reconcile mode);
/// Applies every version of `incoming`; true if anything changed.
bool apply_versions(std::vector<Version>& versions, const std::vector<Version>& incoming,
                    Reconcile mode);

/// What a client makes of a read: the merged cart and the context for its next write.
struct Reconciled {
  std::vector<std::string> items;
  VectorClock context;  // the merge of every sibling's clock: the next write supersedes them
  std::size_t siblings = 0;
};
/// Union of the siblings' items (kUnion) or the winner's items (kLastWriterWins).
Reconciled reconcile(const std::vector<Version>& versions, Reconcile mode);

/// Sorted-set helpers for cart items.
void insert_item(std::vector<std::string>& items, const std::string& item);
void erase_item(std::vector<std::string>& items, const std::string& item);
bool has_item(const std::vector<std::string>& items, std::string_view item);

/// A digest of a whole version set, independent of the order the versions arrived in.
std::uint64_t versions_digest(const std::vector<Version>& versions);

}  // namespace faultline::sim::dynamo
