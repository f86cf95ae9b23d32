// Linearizability of registers and key-value maps (Knossos, Porcupine).
//
// The checker searches for a total order of the operations that respects real time (an
// operation that returned before another was invoked comes first) and that a sequential model
// accepts, using the Wing–Gong algorithm as improved by Lowe: operations are lifted from a
// doubly linked list of call/return entries, and a cache of (set of linearized operations,
// model state) pairs prunes every configuration already explored. Like Porcupine, the history
// is first partitioned by key (P-compositionality: a map is linearizable iff each key is), so
// the search is exponential only in the concurrency on one key.
//
// Outcomes: `fail` operations are dropped (they did not happen); `info` and pending operations
// may take effect at any time after their invocation, or never; an `info` read constrains
// nothing and is dropped. On failure the result names the key and a small failing sub-history,
// and explains which operation could not take effect and which states the object could hold
// while it was in flight. The sub-history is the shortest failing prefix, shrunk greedily
// (ddmin-like) while keeping that operation and those it depends on (the write whose value a
// read returned), so that it fails for the same reason as the whole history.
#pragma once

#include <faultline/check/history.hpp>
#include <faultline/check/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace faultline::check {

/// A sequential specification: the state after applying `op` (as completed: a read carries the
/// value it returned) to `state`, or nullopt when the model could not have produced it.
struct Model {
  std::string name;
  /// True: each key is an independent object (a map). False: one object; keys are ignored.
  bool partition_by_key = true;
  Value initial;
  std::function<std::optional<Value>(const Value& state, const Op& op)> step;
  /// Register semantics: a value written can be observed only by a read that returns it (or
  /// a list containing it) or a cas that expects it. Lets the checker prune operations with
  /// unknown outcome: one whose (unique) value nobody observed is dropped, since taking effect
  /// could not have helped; one whose value was observed must take effect before the first
  /// observer returned. Without this, each `info` write doubles the search space.
  bool observed_by_value = false;
  /// True for operations that never change the state (a read, a cas whose compare failed):
  /// from any state the step either rejects them or returns the same state. The search takes
  /// such an operation at once when it fits, without trying alternatives (it can always go
  /// first). Any other operation that happens to leave the state unchanged (a write of the
  /// value already held) stays a branching choice: it may have to take effect later. Unset:
  /// operations of kind read.
  std::function<bool(const Op& op)> read_only = nullptr;
  /// True when `step` is the built-in register step (read, write, cas, append), as the
  /// factories below set it: the checker then uses its own allocation-free state
  /// representation instead of calling `step` (same semantics, several times faster on
  /// list-valued states). Leave false for a custom step function.
  bool builtin_register = false;

  bool is_read_only(const Op& op) const {
    return read_only ? read_only(op) : op.kind == OpKind::kRead;
  }

  /// One register: read, write, cas, append. Keys are ignored.
  static Model register_model(Value initial = {});
  /// A key-value map of independent registers (read, write, cas, append per key).
  static Model key_value(Value initial = {});
  /// A key-value map of append-only lists (Elle's list-append without transactions): append
  /// and read per key; a read returns the whole list. Starts from nil, as a key never
  /// appended to reads in Jepsen; give Value::list({}) for stores that return [].
  static Model list_append(Value initial = {});
};

struct LinearizabilityOptions {
  /// Search budget per key, in explored configurations. When exceeded the verdict is
  /// inconclusive (Verdict::kInconclusive, not ok: a check that cannot decide must not pass
  /// silently).
  std::uint64_t max_configurations_per_key = 20'000'000;
  /// Shrink a failing key to a 1-minimal sub-history (costs a few extra searches).
  bool minimise = true;
  /// False (the default, as Porcupine does): stop at the first key that fails, in key order;
  /// one failing key decides the verdict. True: check every key and explain each failure.
  bool all_keys = false;
  /// Wall-clock limit for the whole check, searching and shrinking; zero means none. When it
  /// runs out before any key failed, the verdict is inconclusive. It can only turn a verdict
  /// into inconclusive, never into pass or fail, and is off by default (a limit makes the
  /// verdict depend on the machine's speed).
  std::chrono::milliseconds time_limit{0};
  /// The most memory one key's search holds at once (its configuration cache, model states and
  /// bookkeeping), in bytes. Reaching it makes the verdict inconclusive instead of growing.
  std::size_t memory_limit_bytes = std::size_t{1} << 30;
  /// Keys searched at once, each on its own thread (capped at the number of keys). The
  /// verdict, the witness and the explanation are the same for any count: keys are judged
  /// in key order as the single-threaded search does, and a key after the first failure is
  /// never reported. The memory limit is shared: each of n searches gets 1/n of it, so more
  /// threads can only turn a verdict into inconclusive, never into pass or fail.
  unsigned threads = 1;
};

/// Checker name "linearizability".
CheckResult check_linearizable(const History& history, const Model& model,
                               const LinearizabilityOptions& options = {});

}  // namespace faultline::check
