#include <faultline/sim/evcache/lru.hpp>

namespace faultline::sim::evcache {

bool LruStore::get(std::uint64_t key, Time now) {
  auto found = index_.find(key);
  if (found == index_.end()) {
    return false;
  }
  auto it = found->second;
  if (it->expires_at <= now) {
    ++expirations_;
    erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return true;
}

void LruStore::set(std::uint64_t key, std::int64_t value_bytes, Time expires_at) {
  const std::int64_t bytes = value_bytes + overhead_;
  if (auto found = index_.find(key); found != index_.end()) {
    erase(found->second);
  }
  if (bytes > budget_) {
    return;
  }
  while (used_ + bytes > budget_ && !lru_.empty()) {
    ++evictions_;
    erase(std::prev(lru_.end()));
  }
  lru_.push_front(Item{key, bytes, expires_at});
  index_.emplace(key, lru_.begin());
  used_ += bytes;
}

void LruStore::clear() {
  lru_.clear();
  index_.clear();
  used_ = 0;
}

void LruStore::erase(std::list<Item>::iterator it) {
  used_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

}  // namespace faultline::sim::evcache
