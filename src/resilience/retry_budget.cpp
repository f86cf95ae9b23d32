#include <faultline/resilience/retry_budget.hpp>

#include "params_error.hpp"

#include <algorithm>

namespace faultline::resilience {

using detail::bad_param;

namespace {
void check_window(std::string_view section, Duration window, int buckets) {
  if (window <= Duration::zero()) {
    bad_param(section, "window", fmt::format("must be positive (got {})", window),
              "use a window such as \"2min\"");
  }
  if (buckets < 1 || buckets > 10'000) {
    bad_param(section, "buckets", fmt::format("must be in [1, 10000] (got {})", buckets),
              "use about one bucket per second of window");
  }
}
}  // namespace

void AdaptiveThrottleParams::validate() const {
  if (!(k >= 1.0)) {
    bad_param("adaptive_throttle", "k", fmt::format("must be >= 1 (got {})", k),
              "the SRE book uses 2; below 1 the client rejects requests the backend would accept");
  }
  check_window("adaptive_throttle", window, buckets);
}

AdaptiveThrottle::AdaptiveThrottle(AdaptiveThrottleParams p)
    : params_(p), counts_((p.validate(), p.window), p.buckets) {}

double AdaptiveThrottle::reject_probability(Time now) {
  const auto requests = static_cast<double>(counts_.total(now, kRequests));
  const auto accepts = static_cast<double>(counts_.total(now, kAccepts));
  return std::max(0.0, (requests - params_.k * accepts) / (requests + 1.0));
}

bool AdaptiveThrottle::admit(Time now, Rng& rng) {
  const double p = reject_probability(now);
  counts_.add(now, kRequests);
  // Draw only when rejection is possible, so a healthy client's stream is not consumed.
  return p <= 0.0 || rng.uniform01() >= p;
}

void RetryQuotaParams::validate() const {
  if (capacity < 1) {
    bad_param("retry_quota", "capacity", fmt::format("must be >= 1 (got {})", capacity),
              "AWS SDKs use 500 tokens");
  }
  if (retry_cost < 1 || retry_cost > capacity) {
    bad_param("retry_quota", "retry_cost",
              fmt::format("must be in [1, capacity] (got {})", retry_cost), "AWS SDKs use 5");
  }
  if (timeout_retry_cost < 1 || timeout_retry_cost > capacity) {
    bad_param("retry_quota", "timeout_retry_cost",
              fmt::format("must be in [1, capacity] (got {})", timeout_retry_cost),
              "AWS SDKs use 10");
  }
  if (no_retry_increment < 0) {
    bad_param("retry_quota", "no_retry_increment",
              fmt::format("must not be negative (got {})", no_retry_increment), "AWS SDKs use 1");
  }
}

RetryQuota::RetryQuota(RetryQuotaParams p) : params_(p), tokens_(p.capacity) { params_.validate(); }

std::optional<int> RetryQuota::try_acquire(bool after_timeout) {
  const int cost = after_timeout ? params_.timeout_retry_cost : params_.retry_cost;
  if (tokens_ < cost) {
    return std::nullopt;
  }
  tokens_ -= cost;
  return cost;
}

void RetryQuota::on_success(int cost_paid) {
  const int refill = cost_paid > 0 ? cost_paid : params_.no_retry_increment;
  tokens_ = std::min(params_.capacity, tokens_ + refill);
}

void RetryRatioParams::validate() const {
  if (!(ratio >= 0.0 && ratio <= 10.0)) {
    bad_param("retry_ratio", "ratio", fmt::format("must be in [0, 10] (got {})", ratio),
              "the SRE book allows retries up to 0.1 of requests");
  }
  check_window("retry_ratio", window, buckets);
}

RetryRatioBudget::RetryRatioBudget(RetryRatioParams p)
    : params_(p), counts_((p.validate(), p.window), p.buckets) {}

bool RetryRatioBudget::try_retry(Time now) {
  const auto requests = static_cast<double>(counts_.total(now, kRequests));
  const std::uint64_t retries = counts_.total(now, kRetries);
  if (retries >= params_.min_retries &&
      static_cast<double>(retries + 1) > params_.ratio * requests) {
    return false;
  }
  counts_.add(now, kRetries);
  return true;
}

}  // namespace faultline::resilience
