// A circuit breaker: stop calling a backend that is failing, probe it now and then.
//
// closed    -> calls pass; outcomes are counted. Trips to open when, over the rolling window,
//              at least `min_requests` calls were made and the failure ratio reached
//              `failure_ratio` (Hystrix's errorThresholdPercentage / requestVolumeThreshold),
//              or, in consecutive mode, after `consecutive_failures` failures in a row.
// open      -> calls are rejected locally for `open_duration` (Hystrix's sleep window).
// half_open -> up to `half_open_probes` calls pass; `half_open_successes` successes close the
//              breaker, any failure opens it again for another `open_duration`.
// Defaults follow Netflix Hystrix's documented defaults (50 %, 20 requests, 10 s window,
// 5 s sleep window).
#pragma once

#include <faultline/resilience/rolling_window.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace faultline::resilience {

enum class BreakerState { closed, open, half_open };
std::string_view to_string(BreakerState s);

enum class BreakerTrip { failure_ratio, consecutive_failures };
std::string_view to_string(BreakerTrip t);
std::optional<BreakerTrip> parse_breaker_trip(std::string_view text);

struct CircuitBreakerParams {
  BreakerTrip trip = BreakerTrip::failure_ratio;
  double failure_ratio = 0.5;
  std::uint64_t min_requests = 20;
  Duration window = Duration::seconds(10);
  int buckets = 10;
  int consecutive_failures = 5;
  Duration open_duration = Duration::seconds(5);
  int half_open_probes = 1;
  int half_open_successes = 1;

  void validate() const;
};

class CircuitBreaker {
public:
  struct Transition {
    Time time;
    BreakerState to;
  };

  explicit CircuitBreaker(CircuitBreakerParams p);
  /// Whether a call may be sent now. In half-open, a true answer reserves a probe slot that
  /// the call's record() releases.
  bool allow(Time now);
  /// The outcome of a call that allow() let through.
  void record(Time now, bool success);
  /// As record(), for a call allowed while generation() was `allowed_in`: a reply to a call
  /// sent before the latest state change (a slow call from before the breaker opened) is
  /// ignored, so it can neither close a half-open breaker nor trip a freshly closed one.
  void record(Time now, bool success, std::uint64_t allowed_in);
  /// Incremented on every state change.
  std::uint64_t generation() const { return generation_; }
  /// The state at `now` (an open breaker whose wait is over reports half_open).
  BreakerState state(Time now);
  /// Every state change, in order (for the breaker-state-over-time series).
  const std::vector<Transition>& transitions() const { return transitions_; }
  std::uint64_t rejected() const { return rejected_; }
  const CircuitBreakerParams& params() const { return params_; }

private:
  static constexpr std::size_t kCalls = 0;
  static constexpr std::size_t kFailures = 1;
  void move_to(Time now, BreakerState s);

  CircuitBreakerParams params_;
  BreakerState state_ = BreakerState::closed;
  RollingCounts<2> counts_;
  int consecutive_ = 0;
  Time opened_at_{};
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t generation_ = 0;
  std::vector<Transition> transitions_;
};

}  // namespace faultline::resilience
