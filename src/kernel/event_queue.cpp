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

void EventQueue::refill(unsigned from_index) {
  buckets_[0].clear();
  bucket_min_[0] = ~std::uint64_t{0};
  head_ = 0;
  auto& from = buckets_[from_index];
  const std::uint64_t min_key = bucket_min_[from_index];
  last_ = min_key;
  // Every entry lands in a bucket below from_index; iterating in order keeps equal keys in
  // scheduling order.
  for (const Entry& e : from) {
    const unsigned b = bucket_of(e.key, min_key);
    buckets_[b].push_back(e);
    bucket_min_[b] = std::min(bucket_min_[b], e.key);
  }
  from.clear();
  bucket_min_[from_index] = ~std::uint64_t{0};
}

std::optional<Time> EventQueue::peek_time() const {
  for (std::size_t i = head_; i < buckets_[0].size(); ++i) {
    const Entry& e = buckets_[0][i];
    if (slot(e.slot).gen == e.gen) {
      return Time::from_ns(static_cast<std::int64_t>(e.key));
    }
  }
  // Buckets are ordered: every key in bucket i is below every key in bucket i+1.
  for (unsigned b = 1; b < buckets_.size(); ++b) {
    std::optional<std::uint64_t> best;
    for (const Entry& e : buckets_[b]) {
      if (slot(e.slot).gen == e.gen && (!best || e.key < *best)) {
        best = e.key;
      }
    }
    if (best) {
      return Time::from_ns(static_cast<std::int64_t>(*best));
    }
  }
  return std::nullopt;
}

std::size_t EventQueue::memory_bytes() const {
  std::size_t bytes = chunks_.size() * kChunkSize * sizeof(Slot);
  for (const auto& b : buckets_) {
    bytes += b.capacity() * sizeof(Entry);
  }
  return bytes;
}

}  // namespace faultline
