// Metrics: counters, gauges, log-linear latency histograms and time series.
//
// Metrics live in a registry owned by the Simulation and are looked up by name; the registry
// is ordered by name so reports list them deterministically. References returned by the
// registry stay valid for the life of the registry.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline {

class Counter {
public:
  void inc(std::uint64_t n = 1) { value_ += n; }
  std::uint64_t value() const { return value_; }

private:
  std::uint64_t value_ = 0;
};

class Gauge {
public:
  void set(double v) { value_ = v; }
  void add(double v) { value_ += v; }
  double value() const { return value_; }

private:
  double value_ = 0.0;
};

/// A log-linear histogram of non-negative integers (typically nanoseconds), in the manner of
/// HdrHistogram: values below 128 are exact; above, each power of two is split into 64
/// sub-buckets, so a reported percentile is within 1/128 (< 0.8%) of a recorded value.
class Histogram {
public:
  void record(std::int64_t value);
  void record(Duration d) { record(d.ns()); }
  void merge(const Histogram& other);

  std::uint64_t count() const { return count_; }
  std::int64_t min() const { return count_ ? min_ : 0; }
  std::int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  /// The value at quantile q in [0, 1] (0.99 for p99); 0 when empty. Exact for the min and max.
  std::int64_t quantile(double q) const;
  std::int64_t p50() const { return quantile(0.50); }
  std::int64_t p90() const { return quantile(0.90); }
  std::int64_t p99() const { return quantile(0.99); }
  std::int64_t p999() const { return quantile(0.999); }

  static constexpr int kSubBits = 7;
  static std::size_t index_of(std::int64_t value);
  /// The representative (midpoint) value of a bucket.
  static std::int64_t value_of(std::size_t index);

private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  __extension__ __int128 sum_ = 0;  // wide enough for any number of int64 samples
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
};

/// Samples over time, in time order.
class TimeSeries {
public:
  struct Sample {
    Time time;
    double value;
  };
  void add(Time t, double v) { samples_.push_back({t, v}); }
  const std::vector<Sample>& samples() const { return samples_; }
  bool empty() const { return samples_.empty(); }
  /// Mean of the samples with time in [from, to).
  double mean_over(Time from, Time to) const;

private:
  std::vector<Sample> samples_;
};

class Metrics {
public:
  Counter& counter(std::string_view name) { return get(counters_, name); }
  Gauge& gauge(std::string_view name) { return get(gauges_, name); }
  Histogram& histogram(std::string_view name) { return get(histograms_, name); }
  TimeSeries& series(std::string_view name) { return get(series_, name); }

  const std::map<std::string, Counter, std::less<>>& counters() const { return counters_; }
  const std::map<std::string, Gauge, std::less<>>& gauges() const { return gauges_; }
  const std::map<std::string, Histogram, std::less<>>& histograms() const { return histograms_; }
  const std::map<std::string, TimeSeries, std::less<>>& all_series() const { return series_; }

  /// Lookups that do not create: nullptr when absent.
  const Counter* find_counter(std::string_view name) const { return find(counters_, name); }
  const Gauge* find_gauge(std::string_view name) const { return find(gauges_, name); }
  const Histogram* find_histogram(std::string_view name) const { return find(histograms_, name); }
  const TimeSeries* find_series(std::string_view name) const { return find(series_, name); }

private:
  template <class T>
  static T& get(std::map<std::string, T, std::less<>>& m, std::string_view name) {
    auto it = m.find(name);
    if (it == m.end()) {
      it = m.emplace(std::string(name), T{}).first;
    }
    return it->second;
  }
  template <class T>
  static const T* find(const std::map<std::string, T, std::less<>>& m, std::string_view name) {
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
  }

  std::map<std::string, Counter, std::less<>> counters_;
  std::map<std::string, Gauge, std::less<>> gauges_;
  std::map<std::string, Histogram, std::less<>> histograms_;
  std::map<std::string, TimeSeries, std::less<>> series_;
};

}  // namespace faultline
