#include <faultline/event_queue.hpp>

#include <algorithm>

namespace faultline {

EventQueue::~EventQueue() {
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    Slot& s = slot(i);
    if (s.op != nullptr) {
      s.op(s, Op::kDestroy);
      s.op = nullptr;
    }
  }
}

std::uint32_t EventQueue::allocate_slot() {
  if (free_head_ != kNoFree) {
    const std::uint32_t index = free_head_;
    free_head_ = slot(index).next_free;
    return index;
  }
  FAULTLINE_ASSERT(slot_count_ < kNoFree, "too many pending events");
  if ((slot_count_ >> kChunkBits) == chunks_.size()) {
    chunks_.push_back(std::make_unique<Slot[]>(kChunkSize));
  }
  return slot_count_++;
}

void EventQueue::release_slot(std::uint32_t index) {
  Slot& s = slot(index);
  s.op = nullptr;
  s.next_free = free_head_;
  free_head_ = index;
}

bool EventQueue::cancel(EventId id) {
  if (!is_pending(id)) {
    return false;
  }
  Slot& s = slot(id.slot());
  bump(s);
  --size_;
  SlotReleaser release{this, id.slot()};
  s.op(s, Op::kDestroy);
  return true;
}

void EventQueue::refill() {
  buckets_[0].clear();
  head_ = 0;
  unsigned i = 1;
  while (i < buckets_.size() && buckets_[i].empty()) {
    ++i;
  }
  FAULTLINE_ASSERT(i < buckets_.size(), "refill on an empty queue");
  auto& from = buckets_[i];
  std::uint64_t min_key = from.front().key;
  for (const Entry& e : from) {
    min_key = std::min(min_key, e.key);
  }
  last_ = min_key;
  // Every entry lands in a bucket below i; iterating in order keeps equal keys in
  // scheduling order.
  for (const Entry& e : from) {
    buckets_[bucket_of(e.key, min_key)].push_back(e);
  }
  from.clear();
}

std::size_t EventQueue::memory_bytes() const {
  std::size_t bytes = chunks_.size() * kChunkSize * sizeof(Slot);
  for (const auto& b : buckets_) {
    bytes += b.capacity() * sizeof(Entry);
  }
  return bytes;
}

}  // namespace faultline
