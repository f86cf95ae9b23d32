#include <faultline/sim/evcache/lru.hpp>

#include <faultline/assert.hpp>
#include <faultline/sim/evcache/ketama.hpp>

#include <utility>

namespace faultline::sim::evcache {

std::size_t LruStore::home(std::uint64_t key) const {
  // Keys are often small integers: mixed, as the ring mixes them.
  return static_cast<std::size_t>(hash_key(key)) & (index_.size() - 1);
}

std::uint32_t LruStore::find(std::uint64_t key) const {
  if (index_.empty()) {
    return kNone;
  }
  const std::size_t mask = index_.size() - 1;
  for (std::size_t p = home(key);; p = (p + 1) & mask) {
    const Entry& e = index_[p];
    if (e.item == kNone) {
      return kNone;
    }
    if (e.key == key) {
      return e.item;
    }
  }
}

void LruStore::index_insert(std::uint64_t key, std::uint32_t item) {
  // Into the first empty entry from the key's home (the key is not in the table).
  auto place = [this](const Entry& e) {
    const std::size_t mask = index_.size() - 1;
    std::size_t p = home(e.key);
    while (index_[p].item != kNone) {
      p = (p + 1) & mask;
    }
    index_[p] = e;
  };
  if ((count_ + 1) * 2 > index_.size()) {
    std::vector<Entry> old = std::move(index_);
    index_.assign(old.empty() ? 16 : old.size() * 2, Entry{0, kNone});
    for (const Entry& e : old) {
      if (e.item != kNone) {
        place(e);
      }
    }
  }
  place(Entry{key, item});
}

void LruStore::index_erase(std::uint64_t key) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = home(key);
  while (index_[hole].key != key || index_[hole].item == kNone) {
    FAULTLINE_ASSERT(index_[hole].item != kNone, "LruStore: erasing a key it does not hold");
    hole = (hole + 1) & mask;
  }
  // Backward-shift deletion: later entries of the probe run move into the hole unless their
  // home lies cyclically after the hole (then they are already where a lookup meets them).
  for (std::size_t p = (hole + 1) & mask; index_[p].item != kNone; p = (p + 1) & mask) {
    const std::size_t h = home(index_[p].key);
    const bool stays = hole <= p ? (hole < h && h <= p) : (hole < h || h <= p);
    if (!stays) {
      index_[hole] = index_[p];
      hole = p;
    }
  }
  index_[hole] = Entry{0, kNone};
}

void LruStore::unlink(std::uint32_t i) {
  Item& it = items_[i];
  (it.prev == kNone ? head_ : items_[it.prev].next) = it.next;
  (it.next == kNone ? tail_ : items_[it.next].prev) = it.prev;
}

void LruStore::push_front(std::uint32_t i) {
  Item& it = items_[i];
  it.prev = kNone;
  it.next = head_;
  (head_ == kNone ? tail_ : items_[head_].prev) = i;
  head_ = i;
}

void LruStore::erase(std::uint32_t i) {
  Item& it = items_[i];
  used_ -= it.bytes;
  index_erase(it.key);
  unlink(i);
  it.next = free_;
  free_ = i;
  --count_;
}

bool LruStore::get(std::uint64_t key, Time now) {
  const std::uint32_t i = find(key);
  if (i == kNone) {
    return false;
  }
  if (items_[i].expires_at <= now) {
    ++expirations_;
    erase(i);
    return false;
  }
  if (head_ != i) {
    unlink(i);
    push_front(i);
  }
  return true;
}

void LruStore::set(std::uint64_t key, std::int64_t value_bytes, Time expires_at) {
  const std::int64_t bytes = value_bytes + overhead_;
  if (const std::uint32_t i = find(key); i != kNone) {
    erase(i);
  }
  if (bytes > budget_) {
    return;
  }
  while (used_ + bytes > budget_ && tail_ != kNone) {
    ++evictions_;
    erase(tail_);
  }
  std::uint32_t i = free_;
  if (i != kNone) {
    free_ = items_[i].next;
  } else {
    FAULTLINE_ASSERT(items_.size() < kNone, "LruStore: too many items");
    i = static_cast<std::uint32_t>(items_.size());
    items_.push_back(Item{});
  }
  items_[i].key = key;
  items_[i].bytes = bytes;
  items_[i].expires_at = expires_at;
  push_front(i);
  index_insert(key, i);
  used_ += bytes;
  ++count_;
}

void LruStore::clear() {
  items_.clear();
  index_.clear();
  head_ = tail_ = free_ = kNone;
  count_ = 0;
  used_ = 0;
}

}  // namespace faultline::sim::evcache
