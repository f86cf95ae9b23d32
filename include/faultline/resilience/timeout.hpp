// Call timeouts: fixed, or set from a latency percentile of what the caller has observed.
//
// Brooker (AWS Builders' Library, "Timeouts, retries, and backoff with jitter") picks an
// acceptable false-timeout rate, e.g. 0.1 %, and sets the timeout at the matching downstream
// percentile (p99.9). A percentile timeout needs samples first; until `min_samples` latencies
// are recorded the fixed timeout applies.
#pragma once

#include <faultline/metrics.hpp>
#include <faultline/time.hpp>

#include <cstdint>

namespace faultline::resilience {

struct TimeoutParams {
  /// The timeout, and the fallback of a percentile timeout before it has enough samples.
  Duration timeout = Duration::seconds(1);
  /// 0 for a fixed timeout; otherwise the quantile in (0, 1) of observed latency (0.999).
  double percentile = 0.0;
  /// Multiplies the observed percentile (headroom over the measured latency).
  double multiplier = 1.0;
  /// Bounds on a percentile timeout.
  Duration min_timeout = Duration::millis(1);
  Duration max_timeout = Duration::seconds(30);
  /// Samples needed before the percentile is trusted.
  std::uint64_t min_samples = 100;

  /// Throws std::invalid_argument naming the field and the fix.
  void validate() const;
};

class TimeoutPolicy {
public:
  explicit TimeoutPolicy(TimeoutParams p);
  /// The timeout for the next call.
  Duration current() const;
  /// The timeout computed from an external histogram (for example a tier's latency metric).
  Duration from(const Histogram& observed) const;
  /// Records one successful call's latency into the policy's own histogram.
  void observe(Duration latency) { observed_.record(latency); }
  const TimeoutParams& params() const { return params_; }

private:
  TimeoutParams params_;
  Histogram observed_;
};

}  // namespace faultline::resilience
