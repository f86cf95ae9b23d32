#include <faultline/resilience/timeout.hpp>

#include "params_error.hpp"

#include <algorithm>

namespace faultline::resilience {

using detail::bad_param;

void TimeoutParams::validate() const {
  if (timeout <= Duration::zero()) {
    bad_param("timeout", "timeout", fmt::format("must be positive (got {})", timeout),
              "give the call a positive timeout such as \"1s\"");
  }
  if (!(percentile == 0.0 || (percentile > 0.0 && percentile < 1.0))) {
    bad_param("timeout", "percentile", fmt::format("must be 0 or in (0, 1) (got {})", percentile),
              "use 0 for a fixed timeout or a quantile such as 0.999");
  }
  if (!(multiplier >= 1.0)) {
    bad_param("timeout", "multiplier", fmt::format("must be >= 1 (got {})", multiplier),
              "a timeout below the observed percentile times out healthy calls; use 1 or more");
  }
  if (min_timeout <= Duration::zero() || max_timeout < min_timeout) {
    bad_param("timeout", "min_timeout/max_timeout",
              fmt::format("need 0 < min_timeout <= max_timeout (got {} and {})", min_timeout,
                          max_timeout),
              "set min_timeout positive and max_timeout at least as large");
  }
}

TimeoutPolicy::TimeoutPolicy(TimeoutParams p) : params_(p) { params_.validate(); }

Duration TimeoutPolicy::current() const { return from(observed_); }

Duration TimeoutPolicy::from(const Histogram& observed) const {
  if (params_.percentile == 0.0 || observed.count() < params_.min_samples) {
    return params_.timeout;
  }
  const double q = static_cast<double>(observed.quantile(params_.percentile));
  const Duration d = Duration::from_seconds(q * params_.multiplier * 1e-9);
  return std::clamp(d, params_.min_timeout, params_.max_timeout);
}

}  // namespace faultline::resilience
