// Vector clocks as Dynamo uses them (DeCandia et al., SOSP 2007, §4.4): a list of
// (node, counter) pairs that orders versions of one object. If every counter of `a` is <= the
// matching counter of `b`, `a` is an ancestor of `b` and can be forgotten; otherwise the two
// are concurrent and both are kept as siblings for the application to reconcile.
//
// Each entry also carries the writer's wall-clock timestamp of its last update, because the
// paper truncates a clock that grows past a threshold ("say 10") by dropping the entry with
// the oldest timestamp. Truncation can make a descendant look concurrent with its ancestor (a
// false conflict, never a lost update), which the paper accepts as rare.
//
// Besides the contiguous counters, a clock holds "dots": single events (node, k) seen without
// all of node's events before k. The store gives every write a dot, and a version supersedes
// another only if it has seen that version's dot. Why: with plain counters, two writes by one
// writer from the same context get counters k and k+1, and the second then looks like a
// descendant of the first although it never saw it, silently dropping it (the flaw that
// dotted version vectors fix). Dots that become contiguous fold into the counter, so a clock
// stays one entry per writer in the common case.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::dynamo {

/// The order between two clocks.
enum class ClockOrder : std::uint8_t {
  kEqual,       // same history
  kBefore,      // a is an ancestor of b (a < b)
  kAfter,       // a descends from b (a > b)
  kConcurrent,  // neither: siblings
};
std::string_view to_string(ClockOrder o);

struct ClockEntry {
  std::uint64_t node = 0;
  std::uint64_t counter = 0;
  /// The writer's clock reading (ns since the Unix epoch) when it last added to this entry.
  std::int64_t timestamp_ns = 0;
  bool operator==(const ClockEntry&) const = default;
};

class VectorClock {
public:
  VectorClock() = default;

  /// The contiguous entries (node has seen events 1..counter), sorted by node id.
  const std::vector<ClockEntry>& entries() const { return entries_; }
  /// Single events beyond the contiguous part, sorted by (node, counter).
  const std::vector<ClockEntry>& dots() const { return dots_; }
  /// Number of distinct nodes the clock names.
  std::size_t size() const;
  bool empty() const { return entries_.empty() && dots_.empty(); }
  /// The contiguous counter of `node` (0 when absent).
  std::uint64_t counter(std::uint64_t node) const;
  /// Whether the clock has seen `node`'s event number `k`.
  bool contains(std::uint64_t node, std::uint64_t k) const;

  /// Sets `node`'s counter to max(its counter, `floor`) + 1 and stamps it (the paper's
  /// per-coordinator increment); then truncates to `max_entries` nodes (0 = unbounded).
  void increment(std::uint64_t node, std::int64_t timestamp_ns, std::size_t max_entries = 0,
                 std::uint64_t floor = 0);
  /// Records the single event (node, k), then truncates to `max_entries` nodes, never
  /// dropping `node` itself.
  void add_dot(std::uint64_t node, std::uint64_t k, std::int64_t timestamp_ns,
               std::size_t max_entries = 0);
  /// The least upper bound: everything either clock has seen.
  static VectorClock merge(const VectorClock& a, const VectorClock& b);
  static ClockOrder compare(const VectorClock& a, const VectorClock& b);
  /// a has seen everything b has (a descends from or equals b).
  static bool descends(const VectorClock& a, const VectorClock& b);

  /// A stable 64-bit digest (for Merkle leaves and trace records).
  std::uint64_t digest() const;
  /// "[n0:3, n2:1, n4@7]" (n4@7: the single event 7 of node 4)
  std::string to_string() const;
  bool operator==(const VectorClock& o) const {
    return entries_ == o.entries_ && dots_ == o.dots_;
  }

private:
  /// Folds dots that continue a counter into it and drops dots a counter already covers.
  void normalize();
  /// Drops whole nodes, oldest latest-timestamp first, until at most `max_entries` remain.
  void truncate(std::size_t max_entries, std::uint64_t keep);
  ClockEntry* find(std::uint64_t node);

  std::vector<ClockEntry> entries_;
  std::vector<ClockEntry> dots_;
};

}  // namespace faultline::sim::dynamo
