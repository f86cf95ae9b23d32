// A client-side cache with a TTL and stale-on-error fallback.
//
// A fresh entry (younger than `ttl`) answers without a call. When the call fails, an entry up
// to `stale_ttl` old is served instead of the error: the client degrades to slightly old data
// rather than failing, and its retries stop adding load to a struggling backend (the static
// stability argument). Eviction is least-recently-used, over ordered containers so that
// eviction order is deterministic.
#pragma once

#include <faultline/time.hpp>

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <utility>

namespace faultline::resilience {

struct CacheParams {
  Duration ttl = Duration::seconds(60);
  /// How old an entry may be and still be served when the backend fails; zero disables.
  Duration stale_ttl = Duration::minutes(10);
  std::size_t capacity = 10'000;

  void validate() const;
};

enum class CacheHit { fresh, stale, miss };

template <class K, class V>
class ClientCache {
public:
  explicit ClientCache(CacheParams p) : params_(p) { params_.validate(); }

  /// The value if it is fresh; counts a hit or a miss.
  std::optional<V> get_fresh(Time now, const K& key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || now - it->second.stored > params_.ttl) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    touch(it);
    return it->second.value;
  }
  /// The value if it is within stale_ttl: the fallback when the backend failed.
  std::optional<V> get_stale(Time now, const K& key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || now - it->second.stored > params_.stale_ttl) {
      return std::nullopt;
    }
    ++stale_served_;
    touch(it);
    return it->second.value;
  }
  CacheHit peek(Time now, const K& key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      return CacheHit::miss;
    }
    const Duration age = now - it->second.stored;
    if (age <= params_.ttl) {
      return CacheHit::fresh;
    }
    return age <= params_.stale_ttl ? CacheHit::stale : CacheHit::miss;
  }
  void put(Time now, const K& key, V value) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      it->second.value = std::move(value);
      it->second.stored = now;
      touch(it);
      return;
    }
    if (entries_.size() >= params_.capacity) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    entries_.emplace(key, Entry{std::move(value), now, lru_.begin()});
  }

  std::size_t size() const { return entries_.size(); }
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }
  std::uint64_t stale_served() const { return stale_served_; }

private:
  struct Entry {
    V value;
    Time stored;
    typename std::list<K>::iterator lru;
  };
  void touch(typename std::map<K, Entry>::iterator it) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }

  CacheParams params_;
  std::map<K, Entry> entries_;
  std::list<K> lru_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t stale_served_ = 0;
};

}  // namespace faultline::resilience
