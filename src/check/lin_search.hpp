// The linearizability search engine (private to the check layer): model states as small ids,
// a flat configuration cache with an exact memory account, and the Wing–Gong/Lowe search with
// its limits (configurations, bytes, a deadline).
//
// The built-in register model (read, write, cas, append) gets states whose every step is O(1)
// and allocation-free: integers and nil are interned once, and lists are nodes of a trie (a
// list is its prefix's node plus one element), so appending is one hash lookup, a read of a
// list compares two ids (the read's value is interned once, up front), and the state's hash
// is its id, kept as the list grows instead of recomputed from its elements. A custom model
// goes through its step function on Values, with each (state, op) result cached.
#pragma once

#include <faultline/check/history.hpp>
#include <faultline/check/linearizability.hpp>
#include <faultline/rng.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace faultline::check::detail {

inline constexpr std::size_t kNone = static_cast<std::size_t>(-1);
inline constexpr std::uint32_t kNoState = static_cast<std::uint32_t>(-1);

/// The register model's sequential step on Values (read, write, cas, append); throws
/// std::invalid_argument for transactions and requests.
std::optional<Value> register_step(const Value& state, const Op& op);

/// One operation of one partition, as the search sees it.
struct PartOp {
  const Operation* src = nullptr;
  std::size_t call_order = 0;
  std::size_t return_order = kNone;  ///< kNone: outcome unknown, may never take effect.
  bool required() const { return return_order != kNone; }
};

enum class SearchVerdict { kLinearizable, kNotLinearizable, kBudgetExceeded, kTimeUp, kMemoryUp };

/// What one search may spend. The deadline is wall-clock time: only an opt-in limit, and only
/// ever turns a verdict into "inconclusive", never into pass or fail.
struct SearchLimits {
  std::uint64_t max_configurations = 20'000'000;
  std::size_t max_bytes = static_cast<std::size_t>(-1);
  std::optional<std::chrono::steady_clock::time_point> deadline;  // determinism-ok: opt-in
};

/// Interned model states and the model's step on them.
class StateSpace {
public:
  /// `op_count`: operations are identified by Operation::id < op_count.
  StateSpace(const Model& model, std::size_t op_count);

  std::uint32_t initial() { return intern(model_.initial); }
  /// The state after `op` (Operation::id `op_id`), or kNoState if the model rejects it.
  std::uint32_t step(std::uint32_t state, const Op& op, std::size_t op_id);
  std::uint32_t intern(const Value& v);
  Value value(std::uint32_t id) const;
  std::size_t size() const { return fast_ ? nodes_.size() : values_.size(); }
  /// An upper estimate of the bytes held (for the memory limit).
  std::size_t bytes() const { return bytes_; }

private:
  struct Node {
    std::int64_t value = 0;  ///< the int, or a list's last element
    std::uint32_t parent = kNoState;  ///< list: its prefix (kNoState for the empty list)
    std::uint8_t kind = 0;  ///< Value::Kind
  };
  struct ChildKey {
    std::uint32_t parent;
    std::int64_t element;
    bool operator==(const ChildKey&) const = default;
  };
  struct ChildKeyHash {
    std::size_t operator()(const ChildKey& k) const {
      return static_cast<std::size_t>(hash64(k.parent ^ hash64(static_cast<std::uint64_t>(k.element))));
    }
  };
  struct Compiled {
    bool ready = false;
    std::uint32_t a = kNoState;  ///< read: the value read; write: the value; cas: expected
    std::uint32_t b = kNoState;  ///< cas: the new value
  };
  std::uint32_t add_node(Node n);
  std::uint32_t list_child(std::uint32_t parent, std::int64_t element);
  const Compiled& compile(const Op& op, std::size_t op_id);

  const Model& model_;
  bool fast_;
  std::size_t bytes_ = 0;
  // Built-in register model.
  std::vector<Node> nodes_;
  std::unordered_map<std::int64_t, std::uint32_t> ints_;
  std::unordered_map<ChildKey, std::uint32_t, ChildKeyHash> children_;
  std::uint32_t empty_list_ = kNoState;
  std::vector<Compiled> compiled_;
  // Custom models.
  std::vector<Value> values_;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_hash_;
  std::unordered_map<std::uint64_t, std::uint32_t> step_cache_;
};

/// The set of explored configurations: (fingerprint of the linearized set, state), open
/// addressing in one flat array, so inserting allocates only when the table doubles, and its
/// size in bytes is exact.
class ConfigCache {
public:
  struct Key {
    std::uint64_t h1 = 0;
    std::uint64_t h2 = 0;
    std::uint32_t state = kNoState;
  };
  /// False if already present. Throws nothing; returns nullopt when growing would pass
  /// `max_bytes` (counting `other_bytes` already in use).
  std::optional<bool> insert(const Key& k, std::size_t max_bytes, std::size_t other_bytes);
  std::size_t bytes() const { return slots_.size() * sizeof(Key); }

private:
  std::vector<Key> slots_;
  std::size_t used_ = 0;
};

class Searcher {
public:
  Searcher(const Model& model, std::size_t op_count, SearchLimits limits)
      : model_(model), limits_(limits), states_(model, op_count) {}

  SearchVerdict run(const std::vector<PartOp>& ops);

  std::uint64_t explored() const { return explored_total_; }
  StateSpace& states() { return states_; }
  /// The largest number of bytes any run held (cache, states, search structures).
  std::size_t peak_bytes() const { return peak_bytes_; }
  /// The furthest return entry a failed search reached. Linearizability is prefix-closed, so
  /// this is the return of the operation that ends the shortest failing prefix: the search
  /// reaches it (everything before is linearizable) and never gets past it.
  std::size_t max_return_hit() const { return max_return_hit_; }
  void set_max_configurations(std::uint64_t n) { limits_.max_configurations = n; }
  const SearchLimits& limits() const { return limits_; }
  bool past_deadline() const {
    return limits_.deadline &&
           std::chrono::steady_clock::now() >= *limits_.deadline;  // determinism-ok: opt-in limit
  }

private:
  const Model& model_;
  SearchLimits limits_;
  StateSpace states_;
  std::uint64_t explored_total_ = 0;
  std::size_t max_return_hit_ = 0;
  std::size_t peak_bytes_ = 0;
};

}  // namespace faultline::check::detail
