#include <faultline/world/clock.hpp>
#include <faultline/world/cpu.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

namespace faultline::world {

namespace {

__extension__ using I128 = __int128;

Duration scale_ppm(Duration d, double ppm) {
  if (d <= Duration::zero()) {
    return Duration::zero();
  }
  return Duration::nanos(std::llround(static_cast<double>(d.ns()) * ppm * 1e-6));
}

/// A true-time sleep that wakes through a gate (pause-aware).
class GatedSleep {
public:
  GatedSleep(Simulation& sim, Duration d, ResumeGate* gate) : sim_(&sim), d_(d), gate_(gate) {}
  GatedSleep(const GatedSleep&) = delete;
  GatedSleep& operator=(const GatedSleep&) = delete;
  ~GatedSleep() { sim_->cancel(event_); }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_.handle = h;
    event_ = sim_->schedule_after(d_, [this] { wake(waiter_, gate_); });
  }
  void await_resume() const noexcept {}

private:
  Simulation* sim_;
  Duration d_;
  ResumeGate* gate_;
  EventId event_;
  Waiter waiter_;
};

}  // namespace

// --- LeapTable ------------------------------------------------------------------------------

LeapTable::LeapTable(const Simulation& sim, std::vector<UtcInstant> midnights)
    : epoch_(sim.epoch()) {
  std::sort(midnights.begin(), midnights.end());
  midnights.erase(std::unique(midnights.begin(), midnights.end()), midnights.end());
  for (UtcInstant m : midnights) {
    if (m <= epoch_) {
      continue;  // already applied before the simulation began
    }
    const auto i = static_cast<std::int64_t>(starts_.size());
    starts_.push_back(Time::from_ns((m - epoch_).ns()) + Duration::seconds(i));
    midnights_.push_back(m);
  }
}

Time LeapTable::leap_start(UtcInstant midnight) const {
  for (std::size_t i = 0; i < midnights_.size(); ++i) {
    if (midnights_[i] == midnight) {
      return starts_[i];
    }
  }
  throw std::invalid_argument(
      fmt::format("no leap second before {} in this world; add it to WorldParams::leap_seconds",
                  midnight));
}

int LeapTable::leaps_before(Time t) const {
  int k = 0;
  for (Time s : starts_) {
    if (s + Duration::seconds(1) <= t) {
      ++k;
    }
  }
  return k;
}

UtcInstant LeapTable::posix_utc(Time t) const {
  std::int64_t k = 0;
  for (Time s : starts_) {
    if (t >= s + Duration::seconds(1)) {
      ++k;
    } else if (t >= s) {
      // Inside 23:59:60: POSIX shows 23:59:59 again.
      return epoch_ + t.since_start() + Duration::seconds(-(k + 1));
    }
  }
  return epoch_ + t.since_start() + Duration::seconds(-k);
}

// --- Clock ----------------------------------------------------------------------------------

Clock::Clock(Simulation& sim, const LeapTable& leaps, ClockParams params, std::string name)
    : sim_(&sim),
      leaps_(&leaps),
      params_(std::move(params)),
      name_(std::move(name)),
      rng_(sim.rng("clock/" + name_)) {
  params_.validate();
  seg_start_ = sim.now();
  seg_offset_ = params_.initial_offset;
  drift_ppm_ = params_.drift_ppm;
  slew_end_ = seg_start_;
}

Clock::~Clock() {
  sim_->cancel(ntp_event_);
  for (EventId e : leap_events_) {
    sim_->cancel(e);
  }
}

void Clock::start() {
  if (params_.ntp_enabled) {
    const auto phase = static_cast<std::int64_t>(
        rng_.below(static_cast<std::uint64_t>(params_.ntp_poll_interval.ns())));
    schedule_ntp(Duration::nanos(phase));
  }
  const auto& starts = leaps_->leap_starts();
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (starts[i] >= sim_->now()) {
      leap_events_.push_back(sim_->schedule_at(starts[i], [this, i] { on_leap(i); }));
    }
  }
}

void Clock::schedule_ntp(Duration delay) {
  ntp_event_ = sim_->schedule_after(delay, [this] {
    ntp_poll();
    schedule_ntp(params_.ntp_poll_interval);
  });
}

void Clock::on_leap(std::size_t index) {
  (void)index;
  if (params_.leap_mode == LeapMode::kKernel2012) {
    // The leap path rewinds CLOCK_REALTIME without clock_was_set(): the hrtimer base stays
    // 1 s ahead until someone sets the clock (model-facts §1.1).
    hrtimer_error_ = Duration::seconds(1);
  }
  sim_->record("clock", "leap",
               {{"host", name_}, {"mode", to_string(params_.leap_mode)},
                {"hrtimer_error_ns", hrtimer_error_}});
}

UtcInstant Clock::base_at(Time t) const {
  switch (params_.leap_mode) {
    case LeapMode::kNone:
      return sim_->utc(t);
    case LeapMode::kStep:
    case LeapMode::kKernel2012:
      return leaps_->posix_utc(t);
    case LeapMode::kSmear:
      break;
  }
  const Duration window = params_.smear.before + params_.smear.after;
  const auto& starts = leaps_->leap_starts();
  std::int64_t k = 0;
  for (Time s : starts) {
    const Time begin = s - params_.smear.before;
    const Time end = s + Duration::seconds(1) + params_.smear.after;
    if (t >= end) {
      ++k;
      continue;
    }
    if (t > begin) {
      // The smeared clock covers `window` of labels in `window + 1 s` of true time.
      const Duration elapsed = t - begin;
      const I128 span = static_cast<I128>(window.ns()) + 1'000'000'000;
      Duration covered;
      if (params_.smear.shape == SmearShape::kCosine) {
        // Behind true time by (1 - cos(pi u)) / 2 seconds, u the fraction of the window run.
        const double u = static_cast<double>(elapsed.ns()) / static_cast<double>(span);
        covered = elapsed - Duration::nanos(std::llround((1.0 - std::cos(std::numbers::pi * u)) * 0.5e9));
      } else {
        covered = Duration::nanos(
            static_cast<std::int64_t>(static_cast<I128>(elapsed.ns()) * window.ns() / span));
      }
      return sim_->utc(begin) + (covered - Duration::seconds(k));
    }
    break;
  }
  return sim_->utc(t) + Duration::seconds(-k);
}

Duration Clock::offset_at(Time t) const {
  Duration off = seg_offset_;
  const Time slew_stop = std::min(t, slew_end_);
  if (slew_stop > seg_start_) {
    off += scale_ppm(slew_stop - seg_start_, drift_ppm_ + slew_ppm_);
  }
  const Time drift_from = std::max(slew_end_, seg_start_);
  if (t > drift_from) {
    off += scale_ppm(t - drift_from, drift_ppm_);
  }
  return off;
}

UtcInstant Clock::read_at(Time t) const { return base_at(t) + offset_at(t); }

Duration Clock::error() const { return now() - leaps_->posix_utc(sim_->now()); }

Duration Clock::monotonic() const {
  const Duration elapsed = sim_->now().since_start();
  return elapsed + scale_ppm(elapsed, drift_ppm_);
}

void Clock::rebase() {
  const Time now = sim_->now();
  seg_offset_ = offset_at(now);
  if (slew_end_ <= now) {
    slew_ppm_ = 0.0;
    slew_end_ = now;
  }
  seg_start_ = now;
}

void Clock::set_time(UtcInstant to) {
  const Time now = sim_->now();
  seg_offset_ = to - base_at(now);
  seg_start_ = now;
  slew_ppm_ = 0.0;
  slew_end_ = now;
  clock_was_set();
}

void Clock::jump(Duration delta) {
  rebase();
  seg_offset_ += delta;
}

void Clock::set_drift_ppm(double ppm) {
  rebase();
  drift_ppm_ = ppm;
}

void Clock::clock_was_set() { hrtimer_error_ = Duration::zero(); }

void Clock::ntp_poll() {
  const Time now = sim_->now();
  // A smearing source serves smeared time; every other source serves POSIX UTC with leaps.
  const UtcInstant reference =
      params_.leap_mode == LeapMode::kSmear ? base_at(now) : leaps_->posix_utc(now);
  const Duration err = read_at(now) - reference;
  if (err == Duration::zero()) {
    return;
  }
  const Duration magnitude = err < Duration::zero() ? -err : err;
  const bool step = params_.ntp_correction == NtpCorrection::kStep ||
                    (params_.ntp_correction == NtpCorrection::kStepOrSlew &&
                     magnitude > params_.ntp_step_threshold);
  if (step) {
    set_time(reference);
    ++ntp_steps_;
    sim_->record("clock", "ntp_step", {{"host", name_}, {"error_ns", err}});
    return;
  }
  rebase();
  const double rate = params_.ntp_max_slew_ppm;
  slew_ppm_ = err > Duration::zero() ? -rate : rate;
  slew_end_ = now + Duration::nanos(std::llround(static_cast<double>(magnitude.ns()) * 1e6 / rate));
}

Time Clock::expiry_of(UtcInstant deadline) const {
  const Time now = sim_->now();
  const UtcInstant target = deadline - hrtimer_error_;
  Time t = now;
  // The reading advances at 1 ± a few hundred ppm and may step back at a leap second, so a
  // few fixed-point steps land on the first instant at which it reaches the target.
  for (int i = 0; i < 64; ++i) {
    const Duration gap = target - read_at(t);
    if (gap <= Duration::zero()) {
      return t;
    }
    t += gap;
  }
  return t;
}

Task<void> Clock::wait_until_abs(UtcInstant deadline, ResumeGate* gate) {
  const Time fire = expiry_of(deadline);
  if (fire <= sim_->now()) {
    // Already expired when armed: the syscall returns at once, but it still costs CPU.
    ++immediate_expiries_;
    if (cpu_ != nullptr) {
      co_await cpu_->run(params_.timed_wait_cost, gate);
    } else {
      co_await GatedSleep(*sim_, params_.timed_wait_cost, gate);
    }
    co_return;
  }
  co_await GatedSleep(*sim_, fire - sim_->now(), gate);
}

}  // namespace faultline::world
