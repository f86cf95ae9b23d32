// One memcached server's item store: a memory budget, LRU eviction and item TTLs.
//
// Flat, because a large cluster's stores do not fit in cache and every get touches one: items
// live in one array (32 bytes each, the LRU list linked by index) and are found through an
// open-addressing table of (key, index) pairs, so a lookup reads one or two lines of the table
// and one item, where a node-based list and hash map would chase separately allocated nodes.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <vector>

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
  bool contains(std::uint64_t key) const { return find(key) != kNone; }

  std::size_t items() const { return count_; }
  std::int64_t used_bytes() const { return used_; }
  std::uint64_t evictions() const { return evictions_; }
  std::uint64_t expirations() const { return expirations_; }

private:
  static constexpr std::uint32_t kNone = 0xffffffffU;
  struct Item {
    std::uint64_t key;
    std::int64_t bytes;
    Time expires_at;
    std::uint32_t prev;  // towards the most recently used end
    std::uint32_t next;  // towards the least recently used end; the free list's link
  };
  struct Entry {
    std::uint64_t key;
    std::uint32_t item;  // kNone: an empty entry
  };

  std::uint32_t find(std::uint64_t key) const;
  std::size_t home(std::uint64_t key) const;
  void index_insert(std::uint64_t key, std::uint32_t item);
  void index_erase(std::uint64_t key);
  void unlink(std::uint32_t i);
  void push_front(std::uint32_t i);
  void erase(std::uint32_t i);

  std::int64_t budget_;
  std::int64_t overhead_;
  std::int64_t used_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t expirations_ = 0;
  std::size_t count_ = 0;
  std::vector<Item> items_;
  std::uint32_t head_ = kNone;  // most recently used
  std::uint32_t tail_ = kNone;  // least recently used
  std::uint32_t free_ = kNone;  // freed items, linked by `next`
  // Lookups only; never iterated, so its order cannot affect a run. Linear probing, at most
  // half full, power-of-two size.
  std::vector<Entry> index_;
};

}  // namespace faultline::sim::evcache
