// Internal to the check layer: what check_strict_serializable (transactions.cpp) shares with
// its second stage for read-only transactions, the serialization graph (placement_graph.cpp).
#pragma once

#include <faultline/check/history.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faultline::check::detail {

struct Anomaly {
  std::string kind;
  std::string text;
};

/// A committed write of one key, as a step in timestamp order.
struct VersionStep {
  std::int64_t ts;
  std::size_t op;
  MicroOp step;
};

/// The versions of each key by state, for read-only reads: a version is the state between two
/// transactions (not one inside a transaction that writes the key twice), indexed by the hash
/// of the state, so that a read finds the versions it may have seen without a scan of all.
class VersionIndex {
 public:
  VersionIndex(const std::map<std::string, std::vector<VersionStep>>& versions,
               const std::map<std::string, std::vector<Value>>& states)
      : states_(states) {
    for (const auto& [key, st] : states) {
      const std::vector<VersionStep>& vs = versions.at(key);
      auto& index = by_hash_[key];
      for (std::size_t j = 0; j <= vs.size(); ++j) {
        if (j == 0 || j == vs.size() || vs[j].op != vs[j - 1].op) {
          index[st[j].hash()].push_back(j);
        }
      }
    }
  }

  /// The versions of `key` from `lo` to `hi` (inclusive) whose state is `v`, ascending; at
  /// most `limit` of them. A key never written has one version, nil.
  std::vector<std::size_t> holding(const std::string& key, const Value& v, std::size_t lo = 0,
                                   std::size_t hi = kAll, std::size_t limit = kAll) const {
    std::vector<std::size_t> out;
    auto it = by_hash_.find(key);
    if (it == by_hash_.end()) {
      if (v.is_nil() && lo == 0) {
        out.push_back(0);
      }
      return out;
    }
    auto hit = it->second.find(v.hash());
    if (hit == it->second.end()) {
      return out;
    }
    const std::vector<Value>& st = states_.at(key);
    for (auto j = std::lower_bound(hit->second.begin(), hit->second.end(), lo);
         j != hit->second.end() && *j <= hi && out.size() < limit; ++j) {
      if (st[*j] == v) {
        out.push_back(*j);
      }
    }
    return out;
  }

  /// The last version of `key` before `hi` whose state is `v`, if any.
  std::optional<std::size_t> last_before(const std::string& key, const Value& v,
                                         std::size_t hi) const {
    auto it = by_hash_.find(key);
    if (it == by_hash_.end()) {
      return v.is_nil() && hi > 0 ? std::optional<std::size_t>(0) : std::nullopt;
    }
    auto hit = it->second.find(v.hash());
    if (hit == it->second.end()) {
      return std::nullopt;
    }
    const std::vector<Value>& st = states_.at(key);
    for (auto j = std::lower_bound(hit->second.begin(), hit->second.end(), hi);
         j != hit->second.begin();) {
      --j;
      if (st[*j] == v) {
        return *j;
      }
    }
    return std::nullopt;
  }

  static constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

 private:
  const std::map<std::string, std::vector<Value>>& states_;
  std::map<std::string, std::map<std::uint64_t, std::vector<std::size_t>>> by_hash_;
};

inline constexpr const char* kNoPlace = "read-only transaction with no place in the serial order";
inline constexpr const char* kUndecidedPlace = "read-only transaction not placed within the budget";

/// What the timestamp sweep of (5) leaves to the serialization graph.
struct PlacementInput {
  const std::vector<Operation>& ops;
  const std::vector<std::vector<MicroOp>>& steps;
  /// Committed transactions in invocation order: node i of the graph is committed[i].
  const std::vector<const Operation*>& committed;
  const std::vector<bool>& read_only;  ///< by operation id
  const std::map<std::string, std::vector<VersionStep>>& versions;
  const std::map<std::string, std::vector<Value>>& states;
  /// The sweep's point for each read-only transaction it placed; its reason for the others.
  const std::map<std::size_t, std::int64_t>& placed;
  const std::map<std::size_t, std::string>& unplaced;
  /// Whether an in-doubt write could explain a read of this key and value at this timestamp.
  std::function<bool(const std::string&, const Value&, std::int64_t)> in_doubt;
  const VersionIndex& index;
  std::size_t budget;
};

/// Decides the read-only transactions the sweep could not place: appends to `found` the
/// cycles no choice of versions breaks, and to `undecided` what the budget left open.
void decide_placement(const PlacementInput& in, std::vector<Anomaly>& found,
                      std::vector<Anomaly>& undecided);

}  // namespace faultline::check::detail
