#include <faultline/resilience/circuit_breaker.hpp>

#include "params_error.hpp"

namespace faultline::resilience {

using detail::bad_param;

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

std::string_view to_string(BreakerTrip t) {
  return t == BreakerTrip::failure_ratio ? "failure_ratio" : "consecutive_failures";
}

std::optional<BreakerTrip> parse_breaker_trip(std::string_view text) {
  if (text == "failure_ratio") {
    return BreakerTrip::failure_ratio;
  }
  if (text == "consecutive_failures") {
    return BreakerTrip::consecutive_failures;
  }
  return std::nullopt;
}

void CircuitBreakerParams::validate() const {
  if (!(failure_ratio > 0.0 && failure_ratio <= 1.0)) {
    bad_param("circuit_breaker", "failure_ratio",
              fmt::format("must be in (0, 1] (got {})", failure_ratio), "Hystrix uses 0.5");
  }
  if (min_requests < 1) {
    bad_param("circuit_breaker", "min_requests", "must be >= 1",
              "Hystrix uses 20 requests per window");
  }
  if (window <= Duration::zero() || buckets < 1 || buckets > 10'000) {
    bad_param("circuit_breaker", "window/buckets",
              fmt::format("need a positive window and 1..10000 buckets (got {} and {})", window,
                          buckets),
              "Hystrix uses a 10s window in 10 buckets");
  }
  if (consecutive_failures < 1) {
    bad_param("circuit_breaker", "consecutive_failures",
              fmt::format("must be >= 1 (got {})", consecutive_failures), "use 5");
  }
  if (open_duration <= Duration::zero()) {
    bad_param("circuit_breaker", "open_duration",
              fmt::format("must be positive (got {})", open_duration), "Hystrix waits \"5s\"");
  }
  if (half_open_probes < 1) {
    bad_param("circuit_breaker", "half_open_probes",
              fmt::format("must be >= 1 (got {})", half_open_probes),
              "a breaker that sends no probe never closes; use 1");
  }
  if (half_open_successes < 1) {
    bad_param("circuit_breaker", "half_open_successes",
              fmt::format("must be >= 1 (got {})", half_open_successes), "use 1");
  }
}

CircuitBreaker::CircuitBreaker(CircuitBreakerParams p)
    : params_(p), counts_((p.validate(), p.window), p.buckets) {}

void CircuitBreaker::move_to(Time now, BreakerState s) {
  if (s == state_) {
    return;
  }
  state_ = s;
  ++generation_;
  transitions_.push_back({now, s});
  if (s == BreakerState::open) {
    opened_at_ = now;
  }
  if (s == BreakerState::half_open) {
    probes_in_flight_ = 0;
    probe_successes_ = 0;
  }
  if (s == BreakerState::closed) {
    counts_.clear();
    consecutive_ = 0;
  }
}

BreakerState CircuitBreaker::state(Time now) {
  if (state_ == BreakerState::open && now - opened_at_ >= params_.open_duration) {
    move_to(now, BreakerState::half_open);
  }
  return state_;
}

bool CircuitBreaker::allow(Time now) {
  switch (state(now)) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      ++rejected_;
      return false;
    case BreakerState::half_open:
      if (probes_in_flight_ < params_.half_open_probes) {
        ++probes_in_flight_;
        return true;
      }
      ++rejected_;
      return false;
  }
  return false;
}

void CircuitBreaker::record(Time now, bool success, std::uint64_t allowed_in) {
  (void)state(now);  // an expired open wait becomes half-open (a new generation) first
  if (allowed_in != generation_) {
    return;
  }
  record(now, success);
}

void CircuitBreaker::record(Time now, bool success) {
  switch (state(now)) {
    case BreakerState::closed: {
      counts_.add(now, kCalls);
      if (!success) {
        counts_.add(now, kFailures);
        ++consecutive_;
      } else {
        consecutive_ = 0;
      }
      bool trip = false;
      if (params_.trip == BreakerTrip::consecutive_failures) {
        trip = consecutive_ >= params_.consecutive_failures;
      } else if (!success) {
        const std::uint64_t calls = counts_.total(now, kCalls);
        const std::uint64_t failures = counts_.total(now, kFailures);
        trip = calls >= params_.min_requests &&
               static_cast<double>(failures) >= params_.failure_ratio * static_cast<double>(calls);
      }
      if (trip) {
        move_to(now, BreakerState::open);
      }
      break;
    }
    case BreakerState::open:
      // A late reply to a call sent before the breaker opened: the breaker already decided.
      break;
    case BreakerState::half_open:
      if (probes_in_flight_ > 0) {
        --probes_in_flight_;
      }
      if (!success) {
        move_to(now, BreakerState::open);
      } else if (++probe_successes_ >= params_.half_open_successes) {
        move_to(now, BreakerState::closed);
      }
      break;
  }
}

}  // namespace faultline::resilience
