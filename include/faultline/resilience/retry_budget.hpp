// Retry budgets: limits on how much extra load a client's retries may add.
//
// - AdaptiveThrottle: the SRE book's client-side adaptive throttling (ch. 21, "Handling
//   Overload"). Over a window the client counts `requests` (everything the application tried)
//   and `accepts` (what the backend accepted); a new request is rejected locally with
//   probability max(0, (requests - K * accepts) / (requests + 1)). K = 2 lets the backend see
//   up to twice the traffic it accepts before the client starts shedding for it.
// - RetryQuota: the AWS SDKs' "standard" retry mode token bucket. A bucket of 500 tokens; a
//   retry costs 5 (10 after a timeout); a retried request that succeeds refunds its cost, a
//   first-try success refunds 1. An empty bucket means no more retries, so a failing backend
//   sees little more than first attempts.
// - RetryRatioBudget: the SRE book's per-client budget: retries allowed only while they are
//   under a ratio (10 %) of requests over a window.
#pragma once

#include <faultline/resilience/rolling_window.hpp>
#include <faultline/rng.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>

namespace faultline::resilience {

struct AdaptiveThrottleParams {
  double k = 2.0;
  /// SRE book: "two minutes of history".
  Duration window = Duration::minutes(2);
  int buckets = 120;

  void validate() const;
};

class AdaptiveThrottle {
public:
  explicit AdaptiveThrottle(AdaptiveThrottleParams p);
  /// Counts a request and decides whether to send it; false means "reject locally".
  bool admit(Time now, Rng& rng);
  /// The backend accepted a request that admit() let through.
  void on_accepted(Time now) { counts_.add(now, kAccepts); }
  /// The current local rejection probability.
  double reject_probability(Time now);
  const AdaptiveThrottleParams& params() const { return params_; }

private:
  static constexpr std::size_t kRequests = 0;
  static constexpr std::size_t kAccepts = 1;
  AdaptiveThrottleParams params_;
  RollingCounts<2> counts_;
};

struct RetryQuotaParams {
  int capacity = 500;
  int retry_cost = 5;
  int timeout_retry_cost = 10;
  /// Refund for a success on the first attempt.
  int no_retry_increment = 1;

  void validate() const;
};

class RetryQuota {
public:
  explicit RetryQuota(RetryQuotaParams p);
  /// Takes the cost of one retry; nullopt (and nothing taken) when the bucket cannot pay.
  std::optional<int> try_acquire(bool after_timeout);
  /// A request succeeded; `cost_paid` is what its retries took (0 if it needed none).
  void on_success(int cost_paid);
  int tokens() const { return tokens_; }
  const RetryQuotaParams& params() const { return params_; }

private:
  RetryQuotaParams params_;
  int tokens_;
};

struct RetryRatioParams {
  double ratio = 0.1;
  Duration window = Duration::seconds(60);
  int buckets = 60;
  /// Retries always allowed per window regardless of the ratio (so a quiet client can retry).
  std::uint64_t min_retries = 10;

  void validate() const;
};

class RetryRatioBudget {
public:
  explicit RetryRatioBudget(RetryRatioParams p);
  /// Counts a first attempt.
  void on_request(Time now) { counts_.add(now, kRequests); }
  /// Takes a retry if retries stay under the ratio; counts it when taken.
  bool try_retry(Time now);

private:
  static constexpr std::size_t kRequests = 0;
  static constexpr std::size_t kRetries = 1;
  RetryRatioParams params_;
  RollingCounts<2> counts_;
};

}  // namespace faultline::resilience
