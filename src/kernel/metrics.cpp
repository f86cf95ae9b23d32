#include <faultline/assert.hpp>
#include <faultline/metrics.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace faultline {

namespace {
constexpr std::int64_t kSub = std::int64_t{1} << Histogram::kSubBits;  // 128
constexpr std::int64_t kHalf = kSub / 2;                                // 64
}  // namespace

std::size_t Histogram::index_of(std::int64_t value) {
  if (value < kSub) {
    return static_cast<std::size_t>(value);
  }
  const auto v = static_cast<std::uint64_t>(value);
  const int shift = std::bit_width(v) - kSubBits;  // >= 1
  return static_cast<std::size_t>((shift + 1) * kHalf + static_cast<std::int64_t>(v >> shift) - kHalf);
}

std::int64_t Histogram::value_of(std::size_t index) {
  const auto i = static_cast<std::int64_t>(index);
  if (i < kSub) {
    return i;
  }
  const std::int64_t shift = i / kHalf - 1;
  const std::int64_t mantissa = i % kHalf + kHalf;
  const std::int64_t low = mantissa << shift;
  return low + ((std::int64_t{1} << shift) - 1) / 2;
}

void Histogram::record(std::int64_t value) {
  FAULTLINE_ASSERT(value >= 0, "histograms record non-negative values");
  const std::size_t i = index_of(value);
  if (i >= buckets_.size()) {
    buckets_.resize(i + 1, 0);
  }
  ++buckets_[i];
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  sum_ += value;
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) {
    return;
  }
  if (other.buckets_.size() > buckets_.size()) {
    buckets_.resize(other.buckets_.size(), 0);
  }
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) {
    buckets_[i] += other.buckets_[i];
  }
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = count_ ? std::max(max_, other.max_) : other.max_;
  count_ += other.count_;
  sum_ += other.sum_;
}

std::int64_t Histogram::quantile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  if (q <= 0.0) {
    return min_;
  }
  if (q >= 1.0) {
    return max_;
  }
  // The smallest value v such that at least ceil(q * count) samples are <= v.
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::clamp(value_of(i), min_, max_);
    }
  }
  return max_;
}

double TimeSeries::mean_over(Time from, Time to) const {
  double sum = 0.0;
  std::size_t n = 0;
  for (const auto& s : samples_) {
    if (s.time >= from && s.time < to) {
      sum += s.value;
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace faultline
