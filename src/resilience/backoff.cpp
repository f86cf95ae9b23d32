#include <faultline/resilience/backoff.hpp>

#include "params_error.hpp"

#include <algorithm>

namespace faultline::resilience {

using detail::bad_param;

std::string_view to_string(Jitter j) {
  switch (j) {
    case Jitter::none: return "none";
    case Jitter::full: return "full";
    case Jitter::equal: return "equal";
    case Jitter::decorrelated: return "decorrelated";
  }
  return "unknown";
}

std::optional<Jitter> parse_jitter(std::string_view text) {
  for (Jitter j : {Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated}) {
    if (text == to_string(j)) {
      return j;
    }
  }
  return std::nullopt;
}

void RetryParams::validate() const {
  if (max_attempts < 1 || max_attempts > 100) {
    bad_param("retry", "max_attempts", fmt::format("must be in [1, 100] (got {})", max_attempts),
              "use 1 to disable retries, 3 as the SRE book and AWS SDKs do");
  }
  if (base < Duration::zero()) {
    bad_param("retry", "base", fmt::format("must not be negative (got {})", base),
              "use 0 for immediate retries or a base such as \"100ms\"");
  }
  if (cap < base) {
    bad_param("retry", "cap", fmt::format("must be >= base (got cap {} < base {})", cap, base),
              "raise cap (AWS SDKs use \"20s\") or lower base");
  }
  if (jitter == Jitter::decorrelated && base <= Duration::zero()) {
    bad_param("retry", "base", "decorrelated jitter needs a positive base",
              "set base such as \"5ms\" or choose another jitter");
  }
}

Backoff::Backoff(RetryParams p) : params_(p), previous_(p.base) { params_.validate(); }

Duration Backoff::ceiling(const RetryParams& p, int failures) {
  const std::int64_t base = p.base.ns();
  const std::int64_t cap = p.cap.ns();
  std::int64_t v = base;
  for (int i = 0; i < failures && v < cap; ++i) {
    v = v > cap / 2 ? cap : v * 2;
  }
  return Duration::nanos(std::min(v, cap));
}

Duration Backoff::delay(const RetryParams& p, int failures, Rng& rng, Duration& previous) {
  const Duration expo = ceiling(p, std::max(failures, 1));
  switch (p.jitter) {
    case Jitter::none:
      return expo;
    case Jitter::full:
      return Duration::nanos(rng.uniform_int(0, expo.ns()));
    case Jitter::equal: {
      const std::int64_t half = expo.ns() / 2;
      return Duration::nanos(expo.ns() - half + rng.uniform_int(0, half));
    }
    case Jitter::decorrelated: {
      const std::int64_t hi = std::max(p.base.ns(), previous.ns() * 3);
      const Duration d = std::min(p.cap, Duration::nanos(rng.uniform_int(p.base.ns(), hi)));
      previous = d;
      return d;
    }
  }
  return expo;
}

bool RetryPolicy::should_retry(int attempts_made, Outcome last) const {
  if (attempts_made >= params_.max_attempts || !is_retryable(last)) {
    return false;
  }
  return last != Outcome::timeout || params_.retry_on_timeout;
}

}  // namespace faultline::resilience
