// The keys a storage node has held in one ring arc, for the Merkle trees of anti-entropy.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace faultline::sim::dynamo {

/// The keys a node has held in one ring arc, for its Merkle trees. Adding a key appends it
/// (no compares, 32 bytes a key); the trees, built only by anti-entropy, read the keys sorted
/// and unique, sorted once for every key added since the last build. A std::set per arc cost
/// a tree insert of string compares and a ~96-byte node on every replica's first store of a
/// key, whether or not anti-entropy ever ran.
class ArcKeys {
public:
  void add(const std::string& key) { keys_.push_back(key); }
  /// Every key added, ascending, each once.
  const std::vector<std::string>& sorted() const {
    if (sorted_ < keys_.size()) {
      const auto mid = keys_.begin() + static_cast<std::ptrdiff_t>(sorted_);
      std::sort(mid, keys_.end());
      std::inplace_merge(keys_.begin(), mid, keys_.end());
      keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
      sorted_ = keys_.size();
    }
    return keys_;
  }

private:
  // Sorted lazily by the const sorted(); no caller sees the unsorted tail.
  mutable std::vector<std::string> keys_;
  mutable std::size_t sorted_ = 0;  // keys_[0, sorted_) is sorted and unique
};

}  // namespace faultline::sim::dynamo
