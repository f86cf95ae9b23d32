// The pending-event set behind Simulation: a monotone radix heap over event times, a sorted
// "run" of the next few events in front of it, and a slab of event slots that hold the
// callables.
//
// Why a radix heap: simulated time never goes backwards, so every pending key is >= the base
// key `last_` the heap was last reorganised around. The heap has 16 levels of 16 buckets, one
// per 4-bit digit of the key: an entry sits at the level of the highest digit in which its key
// differs from `last_`, in the bucket of that digit. Numbering buckets level * 16 + digit puts
// them in key order (every key in a bucket is below every key in a higher-numbered bucket), and
// a bitmap finds the lowest non-empty one. When the run is used up, the lowest buckets are
// gathered into it and sorted if they are small; a large lowest bucket is first redistributed
// around its smallest key, each entry moving down at least one level, so an entry is moved at
// most a few times however large the queue. Entries are 16 bytes and are only ever appended to
// buckets and streamed out of them.
//
// Why the run: the callable of the next event lives in a slot that is, in a big simulation, in
// no cache. Knowing the next few events in order lets pop_and_run prefetch their slots while
// the current event runs; that hides the one cache miss per event that otherwise dominates.
//
// Buckets are chains of fixed-size blocks from a shared pool, so a bucket that once held half
// of a million-event queue does not keep that capacity afterwards.
//
// FIFO among equal times without a sequence number: entries with equal keys always sit in the
// same bucket (or all in the run), are appended in scheduling order, and are moved in order;
// the run is sorted stably, and an event scheduled into the run's time range goes after the
// run's entries with the same time.
//
// Cancellation is O(1): the slot's generation is bumped and its callable destroyed at once;
// the stale 16-byte entry is discarded when it reaches the front.
//
// Prefetch hooks: prefetching the slot hides the queue's own miss, but an event that then
// reads objects spread over a large model (a message, the node it is for, that node's state)
// would still wait for each in turn. A callable may declare `void prefetch(unsigned stage)
// const`; the queue calls it with stage 0, 1 and 2 when the event is 3, 2 and 1 events from
// running (as far as the run reaches), so a stage can read what an earlier stage fetched and
// fetch what the event needs next. The entry carries a flag for such callables, so events
// without a hook (PHOLD's) cost one test of a word already in cache.
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

/// A callable with a prefetch hook (see above). The hook must only read memory that stays
/// valid while its event is pending, change nothing, and be cheap: it runs for every such
/// event three times, before events that come earlier.
template <class F>
concept PrefetchingCallable = requires(const std::decay_t<F>& f, unsigned stage) {
  { f.prefetch(stage) };
};

/// How many prefetch stages a hooked event gets (stage k runs kPrefetchStages - k events
/// before the event).
inline constexpr unsigned kPrefetchStages = 3;

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
    std::uint32_t hooked = 0;
    if constexpr (sizeof(Fn) <= kInlineCallableBytes && alignof(Fn) <= alignof(std::max_align_t) &&
                  alignof(Fn) <= 8) {
      ::new (static_cast<void*>(s.storage)) Fn(std::forward<F>(fn));
      s.op = &inline_op<Fn>;
      if constexpr (PrefetchingCallable<Fn>) {
        hooked = Entry::kHooked;
      }
    } else {
      // Boxed: the slot holds a pointer to a heap copy.
      Fn* boxed = new Fn(std::forward<F>(fn));
      std::memcpy(s.storage, &boxed, sizeof(boxed));
      s.op = &boxed_op<Fn>;
    }
    insert(Entry{static_cast<std::uint64_t>(t.ns()), index | hooked, s.gen});
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
  /// O(1) when the run holds a live event, else a scan of the lowest bucket.
  std::optional<Time> peek_time() const;

  /// Removes the earliest pending event if its time is <= `limit` and runs it; `on_time` is
  /// called with the event's time before the callable runs (the simulation advances its
  /// clock there). Returns false, running nothing, when no pending event is due by `limit`.
  ///
  /// The limit matters for correctness, not just convenience: the radix heap requires every
  /// new key to be >= the base key it bucketed around, so the queue never reorganises around
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
    const std::size_t ahead = run_.size() - head_;
    if (ahead >= kPrefetchAhead) {
      prefetch_slot(run_[head_ + kPrefetchAhead - 1].slot());
    }
    // The next events' hooks, farthest first (stage 0 is three events ahead).
    static_assert(kPrefetchStages == 3 && kPrefetchAhead > kPrefetchStages);
    if (ahead >= 3 && run_[head_ + 2].hooked()) {
      run_hook(run_[head_ + 2], Op::kPrefetch0);
    }
    if (ahead >= 2 && run_[head_ + 1].hooked()) {
      run_hook(run_[head_ + 1], Op::kPrefetch1);
    }
    if (ahead >= 1 && run_[head_].hooked()) {
      run_hook(run_[head_], Op::kPrefetch2);
    }
    on_time(Time::from_ns(static_cast<std::int64_t>(e.key)));
    Slot& s = slot(e.slot());
    // Bump the generation first: from here on the event is no longer pending, so cancel()
    // from inside its own callable returns false.
    bump(s);
    SlotReleaser release{this, e.slot()};
    s.op(s, Op::kRunAndDestroy);
    return true;
  }

  /// Bytes held by the queue's structures (slots and heap entries, including spare capacity),
  /// for the bytes-per-pending-event figure of the benchmark.
  std::size_t memory_bytes() const;

private:
  // kPrefetchN runs the hook's stage N (and destroys nothing).
  enum class Op : std::uint8_t { kRunAndDestroy, kDestroy, kPrefetch0, kPrefetch1, kPrefetch2 };

  struct Slot {
    alignas(8) unsigned char storage[kInlineCallableBytes];
    void (*op)(Slot&, Op) = nullptr;
    std::uint32_t gen = 1;
    std::uint32_t next_free = 0;
  };
  static_assert(sizeof(Slot) == 40);

  struct Entry {
    /// Top bit of slot_flags: the callable has a prefetch hook.
    static constexpr std::uint32_t kHooked = 0x80000000u;
    std::uint64_t key;
    std::uint32_t slot_flags;
    std::uint32_t gen;
    std::uint32_t slot() const { return slot_flags & ~kHooked; }
    bool hooked() const { return (slot_flags & kHooked) != 0; }
  };
  static_assert(sizeof(Entry) == 16);

  static constexpr std::uint32_t kChunkBits = 10;
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
    if constexpr (PrefetchingCallable<Fn>) {
      if (op >= Op::kPrefetch0) {
        f->prefetch(static_cast<unsigned>(op) - static_cast<unsigned>(Op::kPrefetch0));
        return;
      }
    }
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
  void run_hook(const Entry& e, Op stage) {
    Slot& s = slot(e.slot());
    if (s.gen == e.gen) {  // else cancelled (the slot may hold another event by now)
      s.op(s, stage);
    }
  }
  static void bump(Slot& s) {
    if (++s.gen == 0) {
      s.gen = 1;
    }
  }

  std::uint32_t allocate_slot();
  void release_slot(std::uint32_t index);

  // --- buckets ---------------------------------------------------------------------------
  static constexpr std::uint32_t kBlockEntries = 32;
  static constexpr std::size_t kArenaBlocks = 16;
  struct Block {
    Entry entries[kBlockEntries];
    Block* next;
    std::uint32_t count;
  };
  struct Bucket {
    Block* head = nullptr;
    Block* tail = nullptr;
    std::size_t size = 0;
    std::uint64_t min_key = ~std::uint64_t{0};  // smallest key ever added since emptied
  };
  // Lowest buckets are gathered into the run while it stays this small; a bigger lowest
  // bucket is redistributed first.
  static constexpr std::size_t kRunGather = 64;
  // Inserting into the middle of the run shifts its tail; past this length the run is spilled
  // back into the buckets instead, so a burst of near-term events cannot make inserts O(n).
  static constexpr std::size_t kRunShiftMax = 256;
  // How many events ahead pop_and_run prefetches slots.
  static constexpr std::size_t kPrefetchAhead = 4;

  static constexpr unsigned kDigitBits = 4;
  static constexpr unsigned kBuckets = 256;  // 16 levels x 16 digits
  /// The bucket of `key` around base `last`, or 0 when they are equal (0 is never a bucket: at
  /// level 0 a key's digit is above the base's digit, so it is at least 1).
  static unsigned bucket_of(std::uint64_t key, std::uint64_t last) {
    if (key == last) {
      return 0;
    }
    const unsigned level = (63u - static_cast<unsigned>(std::countl_zero(key ^ last))) / kDigitBits;
    const unsigned digit = static_cast<unsigned>(key >> (level * kDigitBits)) & 15u;
    return level * 16u + digit;
  }
  /// The lowest non-empty bucket, or 0 when all are empty.
  unsigned lowest_bucket() const {
    for (unsigned w = 0; w < nonempty_.size(); ++w) {
      if (nonempty_[w] != 0) {
        return w * 64u + static_cast<unsigned>(std::countr_zero(nonempty_[w]));
      }
    }
    return 0;
  }
  void mark_empty(unsigned b) { nonempty_[b / 64] &= ~(std::uint64_t{1} << (b % 64)); }
  // always_inline: GCC deems a helper that only prefetches "pure" and deletes calls to it.
  [[gnu::always_inline]] void prefetch_slot(std::uint32_t index) const {
    const char* p = reinterpret_cast<const char*>(&slot(index));
    __builtin_prefetch(p);
    __builtin_prefetch(p + sizeof(Slot) - 1);  // a 40-byte slot may straddle two lines
  }
  void push_to_bucket(unsigned b, const Entry& e) {
    Bucket& bucket = buckets_[b];
    if (bucket.tail == nullptr || bucket.tail->count == kBlockEntries) {
      add_block(bucket);
    }
    bucket.tail->entries[bucket.tail->count++] = e;
    ++bucket.size;
    bucket.min_key = std::min(bucket.min_key, e.key);
    nonempty_[b / 64] |= std::uint64_t{1} << (b % 64);
  }
  /// Places an entry whose key is above every key in the run (or the run is empty).
  void place_after_run(const Entry& e) {
    const unsigned b = bucket_of(e.key, last_);
    if (b == 0) {
      append_to_run(e);
    } else {
      push_to_bucket(b, e);
    }
  }
  void append_to_run(const Entry& e) {
    if (head_ == run_.size()) {
      run_.clear();  // reuse the consumed run rather than growing it
      head_ = 0;
    }
    run_.push_back(e);
  }
  void insert(const Entry& e) {
    FAULTLINE_ASSERT(e.key >= last_, "event scheduled before the queue's base time");
    // Every bucketed key stays strictly above every key in the run: an entry with the run's
    // last key joins the run, behind it.
    if (head_ < run_.size() && e.key <= run_.back().key) {
      insert_into_run(e);
    } else {
      place_after_run(e);
    }
  }
  /// The earliest live entry if its key is <= limit, else nullptr. Skips (and discards)
  /// cancelled entries; reorganises the heap only around a key <= limit.
  const Entry* front_until(std::uint64_t limit) {
    for (;;) {
      while (head_ < run_.size()) {
        const Entry& e = run_[head_];
        if (slot(e.slot()).gen == e.gen) {
          return e.key <= limit ? &e : nullptr;
        }
        ++head_;  // cancelled: discard the stale entry
      }
      if (!refill(limit)) {
        return nullptr;
      }
    }
  }
  void insert_into_run(const Entry& e);
  void spill_run();
  bool refill(std::uint64_t limit);
  void take_bucket(unsigned b);
  void redistribute(unsigned b);
  void add_block(Bucket& bucket);
  static void prefetch_block(const Block* block);
  void free_block(Block* block) {
    block->next = free_blocks_;
    free_blocks_ = block;
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::uint32_t slot_count_ = 0;
  std::uint32_t free_head_ = kNoFree;
  std::vector<Entry> run_;  // sorted by (key, scheduling order); consumed from head_
  std::size_t head_ = 0;
  std::array<Bucket, kBuckets> buckets_{};  // [0] unused: keys equal to last_ go to the run
  std::array<std::uint64_t, kBuckets / 64> nonempty_{};  // bit b set when bucket b is not empty
  std::vector<std::unique_ptr<Block[]>> arenas_;
  Block* free_blocks_ = nullptr;
  std::uint64_t last_ = 0;
  std::size_t size_ = 0;
};

}  // namespace faultline
