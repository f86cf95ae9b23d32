// The window of recent protocol periods behind ringpop's adaptive rate (ringpop-go
// swim/node.go: the next period is 2 x the median of the recent ones, at least the minimum).
// Pure data, unit-tested against a sort of the same window.
#pragma once

#include <faultline/time.hpp>

#include <algorithm>
#include <array>
#include <cstddef>

namespace faultline::sim::ringpop {

/// The last `kSize` probe durations (zeros before the first ones), and their median. The
/// window is also kept sorted as it changes: one insertion per probe instead of a selection
/// per period, which was a tenth of a large run's CPU.
class ProbeTimeWindow {
public:
  static constexpr std::size_t kSize = 16;

  /// Adds a probe's duration; the oldest one leaves the window.
  void push(Duration took) {
    const Duration gone = ring_[next_];
    ring_[next_] = took;
    next_ = (next_ + 1) % kSize;
    // `gone` is in the sorted copy: take its place, then move to where `took` belongs.
    std::size_t i = static_cast<std::size_t>(std::find(sorted_.begin(), sorted_.end(), gone) -
                                             sorted_.begin());
    while (i + 1 < kSize && sorted_[i + 1] < took) {
      sorted_[i] = sorted_[i + 1];
      ++i;
    }
    while (i > 0 && sorted_[i - 1] > took) {
      sorted_[i] = sorted_[i - 1];
      --i;
    }
    sorted_[i] = took;
  }

  /// The window's element of rank kSize / 2 (0-based) in ascending order: the upper median,
  /// as std::nth_element at the middle picks it.
  Duration median() const { return sorted_[kSize / 2]; }

private:
  std::array<Duration, kSize> ring_{};    // in arrival order, oldest at next_
  std::array<Duration, kSize> sorted_{};  // the same durations, ascending
  std::size_t next_ = 0;
};

}  // namespace faultline::sim::ringpop
