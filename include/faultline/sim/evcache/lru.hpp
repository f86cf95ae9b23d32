// One memcached server's item store: a memory budget, LRU eviction and item TTLs.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <list>
#include <unordered_map>

namespace faultline::sim::evcache {

class LruStore {
public:
  LruStore(std::int64_t memory_bytes, std::int64_t item_overhead_bytes)
      : budget_(memory_bytes), overhead_(item_overhead_bytes) {}

  /// The item if present and not expired at `now` (an expired item is removed and counts as an
  /// expiry); a hit moves it to the most recently used end.
  bool get(std::uint64_t key, Time now);
  /// Stores (or replaces) the item, evicting least recently used items until it fits. An item
  /// larger than the whole budget is not stored.
  void set(std::uint64_t key, std::int64_t value_bytes, Time expires_at);
  void clear();
  /// Whether the item is stored (expired or not), without touching the LRU order.
  bool contains(std::uint64_t key) const { return index_.count(key) != 0; }

  std::size_t items() const { return index_.size(); }
  std::int64_t used_bytes() const { return used_; }
  std::uint64_t evictions() const { return evictions_; }
  std::uint64_t expirations() const { return expirations_; }

private:
  struct Item {
    std::uint64_t key;
    std::int64_t bytes;
    Time expires_at;
  };
  void erase(std::list<Item>::iterator it);

  std::int64_t budget_;
  std::int64_t overhead_;
  std::int64_t used_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t expirations_ = 0;
  std::list<Item> lru_;  // front: most recently used
  // Lookups only; never iterated, so its order cannot affect a run.
  std::unordered_map<std::uint64_t, std::list<Item>::iterator> index_;
};

}  // namespace faultline::sim::evcache
