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
  // The top bit of an entry's slot field is the prefetch-hook flag.
  FAULTLINE_ASSERT(slot_count_ < Entry::kHooked, "too many pending events");
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

// always_inline: GCC deems a function that only prefetches "pure" and may delete calls to it.
[[gnu::always_inline]] inline void EventQueue::prefetch_block(const Block* block) {
  // A bucket's blocks were written long ago and are chained, which the hardware prefetcher
  // cannot follow: fetch the next block while this one is being read.
  if (block == nullptr) {
    return;
  }
  const char* p = reinterpret_cast<const char*>(block);
  for (std::size_t offset = 0; offset < sizeof(Block); offset += 64) {
    __builtin_prefetch(p + offset);
  }
}

void EventQueue::insert_into_run(const Entry& e) {
  // Precondition: the run is not empty and e.key is at most its last key. Upper bound: after
  // the entries with the same time, which were scheduled earlier.
  const auto pos = std::upper_bound(run_.begin() + static_cast<std::ptrdiff_t>(head_), run_.end(),
                                    e.key, [](std::uint64_t k, const Entry& x) { return k < x.key; });
  if (static_cast<std::size_t>(run_.end() - pos) <= kRunShiftMax) {
    run_.insert(pos, e);
    return;
  }
  spill_run();
  place_after_run(e);
}

void EventQueue::spill_run() {
  // Every key in the run is >= last_ and below every bucketed key, so the run's entries can go
  // back to the buckets they belong to around last_; those equal to last_ stay. The run is in
  // order, so equal keys keep their order.
  std::size_t kept = 0;
  for (std::size_t i = head_; i < run_.size(); ++i) {
    const Entry& e = run_[i];
    const unsigned b = bucket_of(e.key, last_);
    if (b == 0) {
      run_[kept++] = e;
    } else {
      push_to_bucket(b, e);
    }
  }
  run_.resize(kept);
  head_ = 0;
}

bool EventQueue::refill(std::uint64_t limit) {
  run_.clear();
  head_ = 0;
  unsigned b = lowest_bucket();
  if (b == 0 || buckets_[b].min_key > limit) {
    return false;
  }
  if (buckets_[b].size > kRunGather) {
    redistribute(b);  // puts at least the smallest key into the run
    return true;
  }
  // Gather whole buckets in key order; last_ stays, so the other buckets remain valid.
  for (;;) {
    take_bucket(b);
    b = lowest_bucket();
    if (b == 0 || run_.size() + buckets_[b].size > kRunGather) {
      break;
    }
  }
  // Equal keys come from one bucket, where they were in scheduling order: a stable sort keeps
  // them so. The buckets were taken in key order, so only entries from the same bucket are out
  // of order: an insertion sort does little work, and (unlike std::stable_sort, which
  // allocates a buffer on every call) allocates nothing.
  if (run_.size() <= kRunGather) {
    for (std::size_t i = 1; i < run_.size(); ++i) {
      const Entry e = run_[i];
      std::size_t j = i;
      for (; j > 0 && e.key < run_[j - 1].key; --j) {
        run_[j] = run_[j - 1];
      }
      run_[j] = e;
    }
  } else {
    std::stable_sort(run_.begin(), run_.end(),
                     [](const Entry& x, const Entry& y) { return x.key < y.key; });
  }
  for (std::size_t i = 0; i < kPrefetchAhead && i < run_.size(); ++i) {
    prefetch_slot(run_[i].slot());
  }
  return true;
}

void EventQueue::take_bucket(unsigned b) {
  Bucket& bucket = buckets_[b];
  for (Block* block = bucket.head; block != nullptr;) {
    prefetch_block(block->next);
    run_.insert(run_.end(), block->entries, block->entries + block->count);
    Block* next = block->next;
    free_block(block);
    block = next;
  }
  bucket = Bucket{};
  mark_empty(b);
}

void EventQueue::redistribute(unsigned b) {
  const Bucket from = buckets_[b];
  buckets_[b] = Bucket{};
  mark_empty(b);
  last_ = from.min_key;
  // Every entry lands at a lower level (or in the run, if equal to the new base); iterating in
  // order keeps equal keys in scheduling order. Each block is recycled as soon as it is read,
  // so the blocks being filled are the ones just emptied, still in cache.
  for (Block* block = from.head; block != nullptr;) {
    prefetch_block(block->next);
    for (std::uint32_t i = 0; i < block->count; ++i) {
      const Entry& e = block->entries[i];
      const unsigned to = bucket_of(e.key, last_);
      if (to == 0) {
        run_.push_back(e);
      } else {
        push_to_bucket(to, e);
      }
    }
    Block* next = block->next;
    free_block(block);
    block = next;
  }
}

void EventQueue::add_block(Bucket& bucket) {
  if (free_blocks_ == nullptr) {
    arenas_.push_back(std::make_unique<Block[]>(kArenaBlocks));
    Block* arena = arenas_.back().get();
    for (std::size_t i = 0; i < kArenaBlocks; ++i) {
      free_block(&arena[i]);
    }
  }
  Block* block = free_blocks_;
  free_blocks_ = block->next;
  block->next = nullptr;
  block->count = 0;
  if (bucket.tail != nullptr) {
    bucket.tail->next = block;
  } else {
    bucket.head = block;
  }
  bucket.tail = block;
}

std::optional<Time> EventQueue::peek_time() const {
  for (std::size_t i = head_; i < run_.size(); ++i) {
    const Entry& e = run_[i];
    if (slot(e.slot()).gen == e.gen) {
      return Time::from_ns(static_cast<std::int64_t>(e.key));
    }
  }
  // Buckets are in key order: every key in bucket b is below every key in bucket b+1.
  for (unsigned b = 1; b < buckets_.size(); ++b) {
    std::optional<std::uint64_t> best;
    for (const Block* block = buckets_[b].head; block != nullptr; block = block->next) {
      for (std::uint32_t i = 0; i < block->count; ++i) {
        const Entry& e = block->entries[i];
        if (slot(e.slot()).gen == e.gen && (!best || e.key < *best)) {
          best = e.key;
        }
      }
    }
    if (best) {
      return Time::from_ns(static_cast<std::int64_t>(*best));
    }
  }
  return std::nullopt;
}

std::size_t EventQueue::memory_bytes() const {
  return chunks_.size() * kChunkSize * sizeof(Slot) +
         arenas_.size() * kArenaBlocks * sizeof(Block) + run_.capacity() * sizeof(Entry);
}

}  // namespace faultline
