// The pending-event set behind Simulation: a monotone radix heap over event times, plus a slab
// of event slots that hold the callables.
//
// Why a radix heap: simulated time never goes backwards, so every pending key is >= the last
// key popped. Bucket i holds the entries whose highest bit differing from that last key is bit
// i-1; popping refills bucket 0 from the lowest non-empty bucket, and each entry moves to a
// strictly lower bucket each time it is touched. Entries are 16 bytes and buckets are scanned
// sequentially, which keeps a million-event queue far friendlier to the cache than a binary
// heap. Within a bucket, entries with equal times always stay in scheduling order, which is
// what gives FIFO among equal times without storing a sequence number.
//
// Cancellation is O(1): the slot's generation is bumped and its callable destroyed at once;
// the stale 16-byte heap entry is discarded when it reaches the front.
#pragma once

#include <faultline/assert.hpp>
#include <faultline/time.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace faultline {

/// Names a scheduled event. Default-constructed ids name nothing (cancel returns false).
class EventId {
public:
  constexpr EventId() = default;
  constexpr bool valid() const { return raw_ != 0; }
  constexpr std::uint64_t raw() const { return raw_; }
  constexpr auto operator<=>(const EventId&) const = default;

private:
  friend class EventQueue;
  constexpr EventId(std::uint32_t slot, std::uint32_t gen)
      : raw_((static_cast<std::uint64_t>(slot) << 32) | gen) {}
  constexpr std::uint32_t slot() const { return static_cast<std::uint32_t>(raw_ >> 32); }
  constexpr std::uint32_t gen() const { return static_cast<std::uint32_t>(raw_); }
  std::uint64_t raw_ = 0;
};

/// Anything that can be called with no arguments and moved into the queue.
template <class F>
concept EventCallable = std::invocable<std::decay_t<F>&> && std::move_constructible<std::decay_t<F>>;

inline constexpr std::size_t kInlineCallableBytes = 24;

class EventQueue {
public:
  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  ~EventQueue();

  template <EventCallable F>
  EventId push(Time t, F&& fn) {
    using Fn = std::decay_t<F>;
    FAULTLINE_ASSERT(t.ns() >= 0, "event time must be >= 0");
    const std::uint32_t index = allocate_slot();
    Slot& s = slot(index);
    if constexpr (sizeof(Fn) <= kInlineCallableBytes && alignof(Fn) <= alignof(std::max_align_t) &&
                  alignof(Fn) <= 8) {
      ::new (static_cast<void*>(s.storage)) Fn(std::forward<F>(fn));
      s.op = &inline_op<Fn>;
    } else {
      // Boxed: the slot holds a pointer to a heap copy.
      Fn* boxed = new Fn(std::forward<F>(fn));
      std::memcpy(s.storage, &boxed, sizeof(boxed));
      s.op = &boxed_op<Fn>;
    }
    insert(Entry{static_cast<std::uint64_t>(t.ns()), index, s.gen});
    ++size_;
    return EventId{index, s.gen};
  }

  bool cancel(EventId id);
  bool is_pending(EventId id) const {
    if (!id.valid() || id.slot() >= slot_count_) {
      return false;
    }
    const Slot& s = slot(id.slot());
    return s.gen == id.gen() && s.op != nullptr;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  /// Time of the earliest pending event, or nullopt when none. Does not modify the queue:
  /// O(1) when the front bucket holds a live event, else a scan of the lowest bucket.
  std::optional<Time> peek_time() const;

  /// Removes the earliest pending event if its time is <= `limit` and runs it; `on_time` is
  /// called with the event's time before the callable runs (the simulation advances its
  /// clock there). Returns false, running nothing, when no pending event is due by `limit`.
  ///
  /// The limit matters for correctness, not just convenience: the radix heap requires every
  /// new key to be >= the last key it bucketed around, so the queue never reorganises around
  /// a time beyond `limit`, which the caller's clock may not reach.
  template <class OnTime>
  bool pop_and_run(Time limit, OnTime&& on_time) {
    const Entry* front = front_until(static_cast<std::uint64_t>(limit.ns()));
    if (front == nullptr) {
      return false;
    }
    const Entry e = *front;
    ++head_;
    --size_;
    on_time(Time::from_ns(static_cast<std::int64_t>(e.key)));
    Slot& s = slot(e.slot);
    // Bump the generation first: from here on the event is no longer pending, so cancel()
    // from inside its own callable returns false.
    bump(s);
    SlotReleaser release{this, e.slot};
    s.op(s, Op::kRunAndDestroy);
    return true;
  }

  /// Bytes held by the queue's structures (slots and heap entries, including spare capacity),
  /// for the bytes-per-pending-event figure of the benchmark.
  std::size_t memory_bytes() const;

private:
  enum class Op : std::uint8_t { kRunAndDestroy, kDestroy };

  struct Slot {
    alignas(8) unsigned char storage[kInlineCallableBytes];
    void (*op)(Slot&, Op) = nullptr;
    std::uint32_t gen = 1;
    std::uint32_t next_free = 0;
  };
  static_assert(sizeof(Slot) == 40);

  struct Entry {
    std::uint64_t key;
    std::uint32_t slot;
    std::uint32_t gen;
  };
  static_assert(sizeof(Entry) == 16);

  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kNoFree = 0xffffffffu;

  struct SlotReleaser {
    EventQueue* q;
    std::uint32_t index;
    ~SlotReleaser() { q->release_slot(index); }
  };

  template <class Fn>
  static void inline_op(Slot& s, Op op) {
    Fn* f = std::launder(reinterpret_cast<Fn*>(s.storage));
    struct Destroy {
      Fn* f;
      ~Destroy() { f->~Fn(); }
    } destroy{f};
    if (op == Op::kRunAndDestroy) {
      (*f)();
    }
  }
  template <class Fn>
  static void boxed_op(Slot& s, Op op) {
    Fn* f = nullptr;
    std::memcpy(&f, s.storage, sizeof(f));
    std::unique_ptr<Fn> owner{f};
    if (op == Op::kRunAndDestroy) {
      (*f)();
    }
  }

  Slot& slot(std::uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  const Slot& slot(std::uint32_t i) const {
    return chunks_[i >> kChunkBits][i & (kChunkSize - 1)];
  }
  static void bump(Slot& s) {
    if (++s.gen == 0) {
      s.gen = 1;
    }
  }

  std::uint32_t allocate_slot();
  void release_slot(std::uint32_t index);

  static constexpr std::array<std::uint64_t, 65> filled_max() {
    std::array<std::uint64_t, 65> a{};
    a.fill(~std::uint64_t{0});
    return a;
  }
  static unsigned bucket_of(std::uint64_t key, std::uint64_t last) {
    return key == last ? 0u : 64u - static_cast<unsigned>(std::countl_zero(key ^ last));
  }
  void insert(const Entry& e) {
    FAULTLINE_ASSERT(e.key >= last_, "event scheduled before the queue's base time");
    const unsigned b = bucket_of(e.key, last_);
    buckets_[b].push_back(e);
    bucket_min_[b] = std::min(bucket_min_[b], e.key);
  }
  /// The earliest live entry if its key is <= limit, else nullptr. Skips (and discards)
  /// cancelled entries; refills bucket 0 only from a bucket whose smallest key is <= limit.
  const Entry* front_until(std::uint64_t limit) {
    for (;;) {
      const auto& b0 = buckets_[0];
      while (head_ < b0.size()) {
        const Entry& e = b0[head_];
        if (slot(e.slot).gen == e.gen) {
          return e.key <= limit ? &e : nullptr;
        }
        ++head_;  // cancelled: discard the stale entry
      }
      unsigned i = 1;
      while (i < buckets_.size() && buckets_[i].empty()) {
        ++i;
      }
      if (i == buckets_.size() || bucket_min_[i] > limit) {
        return nullptr;
      }
      refill(i);
    }
  }
  void refill(unsigned from);

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::uint32_t slot_count_ = 0;
  std::uint32_t free_head_ = kNoFree;
  std::array<std::vector<Entry>, 65> buckets_;
  std::array<std::uint64_t, 65> bucket_min_ = filled_max();  // smallest key per bucket
  std::size_t head_ = 0;  // consumed prefix of buckets_[0]
  std::uint64_t last_ = 0;
  std::size_t size_ = 0;
};

}  // namespace faultline
