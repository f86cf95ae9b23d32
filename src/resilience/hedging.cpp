#include <faultline/resilience/hedging.hpp>

#include "params_error.hpp"

#include <algorithm>

namespace faultline::resilience {

using detail::bad_param;

void HedgeParams::validate() const {
  if (delay < Duration::zero()) {
    bad_param("hedge", "delay", fmt::format("must not be negative (got {})", delay),
              "Tail at Scale hedges after \"10ms\"");
  }
  if (!(percentile == 0.0 || (percentile > 0.0 && percentile < 1.0))) {
    bad_param("hedge", "percentile", fmt::format("must be 0 or in (0, 1) (got {})", percentile),
              "use 0 for the fixed delay or 0.95 to hedge after the p95");
  }
  if (max_hedges < 1 || max_hedges > 16) {
    bad_param("hedge", "max_hedges", fmt::format("must be in [1, 16] (got {})", max_hedges),
              "one hedge per request is the usual choice");
  }
  if (tied_delay < Duration::zero()) {
    bad_param("hedge", "tied_delay", fmt::format("must not be negative (got {})", tied_delay),
              "Tail at Scale delays the tied copy by about \"1ms\"");
  }
}

Duration hedge_delay(const HedgeParams& p, const Histogram& observed) {
  if (p.tied) {
    return p.tied_delay;
  }
  if (p.percentile == 0.0 || observed.count() < p.min_samples) {
    return p.delay;
  }
  return Duration::nanos(std::max<std::int64_t>(0, observed.quantile(p.percentile)));
}

HedgedRequest::HedgedRequest(Simulation& sim, int max_hedges, Duration delay, Hooks hooks)
    : sim_(sim), max_hedges_(max_hedges), delay_(delay), hooks_(std::move(hooks)) {}

HedgedRequest::~HedgedRequest() { disarm_timer(); }

void HedgedRequest::arm_timer() {
  auto fn = [this] { fire(); };
  timer_ = hooks_.arm ? hooks_.arm(delay_, fn) : sim_.schedule_after(delay_, fn);
}

void HedgedRequest::disarm_timer() {
  sim_.cancel(timer_);
  timer_ = EventId{};
}

void HedgedRequest::start() {
  outstanding_.assign(static_cast<std::size_t>(max_hedges_ + 1), false);
  outstanding_[0] = true;
  sent_ = 1;
  if (max_hedges_ > 0) {
    arm_timer();
  }
  hooks_.send(0);
}

void HedgedRequest::fire() {
  if (done_ || sent_ > max_hedges_) {
    return;
  }
  const int copy = sent_++;
  outstanding_[static_cast<std::size_t>(copy)] = true;
  if (sent_ <= max_hedges_) {
    arm_timer();
  }
  hooks_.send(copy);
}

bool HedgedRequest::on_reply(int copy, bool success) {
  if (done_ || copy < 0 || copy >= sent_ || !outstanding_[static_cast<std::size_t>(copy)]) {
    return false;
  }
  outstanding_[static_cast<std::size_t>(copy)] = false;
  if (success) {
    done_ = true;
    winner_ = copy;
    disarm_timer();
    for (int i = 0; i < sent_; ++i) {
      if (outstanding_[static_cast<std::size_t>(i)]) {
        outstanding_[static_cast<std::size_t>(i)] = false;
        ++cancelled_;
        if (hooks_.cancel) {
          hooks_.cancel(i);
        }
      }
    }
    return true;
  }
  const bool any_outstanding =
      std::find(outstanding_.begin(), outstanding_.end(), true) != outstanding_.end();
  if (!any_outstanding) {
    if (sent_ <= max_hedges_) {
      // The only copy failed before its hedge was due: send the hedge now rather than wait.
      disarm_timer();
      fire();
      return false;
    }
    done_ = true;
    return true;
  }
  return false;
}

}  // namespace faultline::resilience
