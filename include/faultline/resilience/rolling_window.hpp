// A bucketed sliding window of counts over simulated time.
//
// Breakers, adaptive throttles and retry-ratio budgets all ask "how many of X and Y in the
// last W?". The window is split into a fixed number of buckets; a bucket is cleared when time
// moves past it, so memory is constant and the answer is exact to one bucket width.
#pragma once

#include <faultline/time.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace faultline::resilience {

/// Counts of `kSlots` kinds of event over the last `window`, in `buckets` buckets.
template <std::size_t kSlots>
class RollingCounts {
public:
  RollingCounts(Duration window, int buckets)
      : width_(window / std::max(buckets, 1)), ring_(static_cast<std::size_t>(std::max(buckets, 1))) {
    if (width_ <= Duration::zero()) {
      width_ = Duration::nanos(1);
    }
  }

  void add(Time now, std::size_t slot, std::uint64_t n = 1) {
    advance(now);
    ring_[current_].counts[slot] += n;
  }
  /// The sum of `slot` over the window ending at `now`.
  std::uint64_t total(Time now, std::size_t slot) {
    advance(now);
    std::uint64_t sum = 0;
    for (const auto& b : ring_) {
      sum += b.counts[slot];
    }
    return sum;
  }
  void clear() {
    for (auto& b : ring_) {
      b.counts.fill(0);
    }
  }

private:
  struct Bucket {
    std::array<std::uint64_t, kSlots> counts{};
  };
  void advance(Time now) {
    const std::int64_t index = now.ns() / width_.ns();
    if (!started_) {
      started_ = true;
      index_ = index;
      return;
    }
    if (index <= index_) {
      return;
    }
    const std::int64_t steps = index - index_;
    const auto n = static_cast<std::int64_t>(ring_.size());
    for (std::int64_t i = 1; i <= std::min(steps, n); ++i) {
      ring_[static_cast<std::size_t>((static_cast<std::int64_t>(current_) + i) % n)].counts.fill(0);
    }
    current_ = static_cast<std::size_t>((static_cast<std::int64_t>(current_) + steps) % n);
    index_ = index;
  }

  Duration width_;
  std::vector<Bucket> ring_;
  std::size_t current_ = 0;
  std::int64_t index_ = 0;
  bool started_ = false;
};

}  // namespace faultline::resilience
