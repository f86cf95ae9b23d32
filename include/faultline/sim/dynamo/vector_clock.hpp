// Vector clocks as Dynamo uses them (DeCandia et al., SOSP 2007, §4.4): a list of
// (node, counter) pairs that orders versions of one object. If every counter of `a` is <= the
// matching counter of `b`, `a` is an ancestor of `b` and can be forgotten; otherwise the two
// are concurrent and both are kept as siblings for the application to reconcile.
//
// Each entry also carries the coordinator's wall-clock timestamp of its last update, because
// the paper truncates a clock that grows past a threshold ("say 10") by dropping the entry with
// the oldest timestamp. Truncation can make a descendant look concurrent with its ancestor (a
// false conflict, never a lost update), which the paper accepts as rare.
//
// Entry ids are 64-bit "actors". The store (versions.hpp) gives every write its own actor,
// a dot (writer << 32 | sequence), so a clock is the set of writes a version has seen: with one
// counter per coordinator, two writes through one coordinator from the same context get
// counters k and k+1, and the second then looks like a descendant of the first although it
// never saw it, silently dropping the first (the flaw dotted version vectors fix). The plain
// per-node counters of the paper remain available through increment() for any actor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::sim::dynamo {

/// The order between two clocks.
enum class ClockOrder : std::uint8_t {
  kEqual,       // same counters
  kBefore,      // a is an ancestor of b (a < b)
  kAfter,       // a descends from b (a > b)
  kConcurrent,  // neither: siblings
};
std::string_view to_string(ClockOrder o);

struct ClockEntry {
  std::uint64_t node = 0;
  std::uint64_t counter = 0;
  /// The coordinator's clock reading (ns since the Unix epoch) when it last bumped the entry.
  std::int64_t timestamp_ns = 0;
  bool operator==(const ClockEntry&) const = default;
};

class VectorClock {
public:
  VectorClock() = default;

  /// The entries, sorted by node id.
  const std::vector<ClockEntry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  /// The counter of `node` (0 when absent).
  std::uint64_t counter(std::uint64_t node) const;
  /// Whether the clock has seen `node`'s event number `counter`.
  bool contains(std::uint64_t node, std::uint64_t counter) const {
    return counter > 0 && this->counter(node) >= counter;
  }

  /// Sets `node`'s counter to max(its counter, `floor`) + 1 and stamps it; then, while the
  /// clock has more than `max_entries` entries (0 = unbounded), drops the entry with the
  /// oldest timestamp. `floor` is the highest counter the writer has already issued for the
  /// key: two writes from one writer on the same context must never get the same clock (with
  /// equal clocks one write would silently replace the other).
  void increment(std::uint64_t node, std::int64_t timestamp_ns, std::size_t max_entries = 0,
                 std::uint64_t floor = 0);
  /// The least upper bound: per node, the larger counter (and that entry's timestamp).
  static VectorClock merge(const VectorClock& a, const VectorClock& b);
  static ClockOrder compare(const VectorClock& a, const VectorClock& b);
  /// a descends from (or equals) b.
  static bool descends(const VectorClock& a, const VectorClock& b);

  /// A stable 64-bit digest of the counters (for Merkle leaves and trace records).
  std::uint64_t digest() const;
  /// "[n0:3, n2:1]"
  std::string to_string() const;
  bool operator==(const VectorClock& o) const { return entries_ == o.entries_; }

private:
  std::vector<ClockEntry> entries_;
};

}  // namespace faultline::sim::dynamo
