// Per-host clocks, separate from true time.
//
// A host's clock reads `base(t) + offset(t)`, where t is true simulated time:
// - base(t) is UTC as the host's leap mode presents it: POSIX numbering of true UTC, with each
//   inserted leap second handled per LeapMode (stepped back, smeared linearly over a window,
//   or ignored).
// - offset(t) is the oscillator's error: an initial offset, drift in ppm, NTP corrections
//   (steps, or slews at up to 500 ppm) and injected faults, all piecewise linear in t, so any
//   reading is closed-form arithmetic (no integration, exact to the nanosecond).
//
// The simulation epoch maps true time 0 to a UtcInstant; a leap second listed in
// WorldParams::leap_seconds (by the midnight that follows it, e.g. 2012-07-01T00:00:00Z) begins
// at the true time `Simulation::at_utc(midnight)` plus the leap seconds before it, so
// 23:59:60 is a definite true-time point.
//
// Absolute timed waits (`co_await clock.wait_until_abs(deadline)`) model a futex/hrtimer wait
// with TIMER_ABSTIME on CLOCK_REALTIME. They expire when `reading + hrtimer_error >= deadline`.
// hrtimer_error is zero, except that under LeapMode::kKernel2012 the leap step leaves it at
// +1 s until something sets the clock (NTP step, set_time): the 2012 bug of model-facts §1.1
// then emerges by itself, because a wait shorter than 1 s is already expired when armed.
#pragma once

#include <faultline/simulation.hpp>
#include <faultline/task.hpp>
#include <faultline/world/gate.hpp>
#include <faultline/world/params.hpp>

#include <span>
#include <string>
#include <vector>

namespace faultline::world {

class Cpu;

/// True UTC with leap seconds, in POSIX numbering, as the world sees it.
class LeapTable {
public:
  LeapTable() = default;
  /// `midnights`: the POSIX instant right after each inserted second (2012-07-01T00:00:00Z for
  /// 2012-06-30T23:59:60Z). Sorted and deduplicated here.
  LeapTable(const Simulation& sim, std::vector<UtcInstant> midnights);

  /// True time at which each leap second (23:59:60) begins, ascending.
  const std::vector<Time>& leap_starts() const { return starts_; }
  const std::vector<UtcInstant>& midnights() const { return midnights_; }
  /// The true-time point at which 23:59:60 before `midnight` begins; throws
  /// std::invalid_argument when `midnight` is not in the table.
  Time leap_start(UtcInstant midnight) const;
  /// POSIX reading of true UTC at t: during a leap second it reads 23:59:59.x again (as a
  /// stepping kernel does), after it everything is 1 s earlier than epoch + t.
  UtcInstant posix_utc(Time t) const;
  /// Leap seconds that have fully elapsed by true time t.
  int leaps_before(Time t) const;

private:
  std::vector<UtcInstant> midnights_;
  std::vector<Time> starts_;
  UtcInstant epoch_;
};

class Clock {
public:
  /// `leaps` must outlive the clock (the World owns it). `name` is used in trace records.
  Clock(Simulation& sim, const LeapTable& leaps, ClockParams params, std::string name);
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  ~Clock();

  /// Attaches the CPU that timed-wait syscalls are charged to (the Host does this).
  void attach_cpu(Cpu* cpu) { cpu_ = cpu; }
  /// Starts NTP polling (with a random phase from this clock's stream) and leap handling.
  /// Called once by the Host after construction.
  void start();

  // --- reading ---------------------------------------------------------------------------
  /// The local clock now: what CLOCK_REALTIME reads on this host.
  UtcInstant now() const { return read_at(sim_->now()); }
  /// The reading at true time t, given the corrections made so far (t >= the last one).
  UtcInstant read_at(Time t) const;
  /// base(t): UTC as this host's leap mode presents it, without oscillator error.
  UtcInstant base_at(Time t) const;
  /// now() minus true POSIX UTC (LeapTable::posix_utc): the error a perfect observer sees.
  Duration error() const;
  /// The oscillator offset alone (now() - base_at(now)).
  Duration offset() const { return offset_at(sim_->now()); }
  /// A monotonic reading (CLOCK_MONOTONIC): true elapsed time scaled by the drift; never steps.
  Duration monotonic() const;
  /// The error of the hrtimer base: +1 s after a kKernel2012 leap until the clock is set.
  Duration hrtimer_error() const { return hrtimer_error_; }
  const ClockParams& params() const { return params_; }

  // --- changes (NTP, operators and the fault injector call these) -----------------------
  /// settimeofday(): sets the reading to `to` and calls clock_was_set().
  void set_time(UtcInstant to);
  /// Jumps the reading by `delta` without clock_was_set (a VM migration, a bad time source).
  void jump(Duration delta);
  /// Changes the oscillator drift from now on.
  void set_drift_ppm(double ppm);
  /// The kernel's clock_was_set(): re-bases hrtimers, which clears the 2012 bug.
  void clock_was_set();
  /// One NTP poll now: measures against the time source and steps or slews.
  void ntp_poll();
  std::uint64_t ntp_steps() const { return ntp_steps_; }

  // --- timed waits -----------------------------------------------------------------------
  /// An absolute timed wait on this clock (futex_wait with TIMER_ABSTIME, CLOCK_REALTIME).
  /// Returns when the hrtimer expires; if that is already so when armed, it returns after
  /// `timed_wait_cost` of CPU on the attached CPU (the syscall), which is what a loop of such
  /// waits burns while spinning. `gate` is the waiting process (pause-aware), or nullptr.
  /// Clock changes after arming do not move an armed wait (documented simplification).
  Task<void> wait_until_abs(UtcInstant deadline, ResumeGate* gate = nullptr);
  /// The true time at which a wait for `deadline` armed now would expire.
  Time expiry_of(UtcInstant deadline) const;
  std::uint64_t immediate_expiries() const { return immediate_expiries_; }

private:
  Duration offset_at(Time t) const;
  void rebase();
  void schedule_ntp(Duration delay);
  void on_leap(std::size_t index);

  Simulation* sim_;
  const LeapTable* leaps_;
  ClockParams params_;
  std::string name_;
  Cpu* cpu_ = nullptr;
  // offset(t) = seg_offset_ + (min(t, slew_end_) - seg_start_) * (drift + slew) +
  //             (t - max(slew_end_, seg_start_))+ * drift
  Time seg_start_{};
  Duration seg_offset_{};
  double drift_ppm_ = 0.0;
  double slew_ppm_ = 0.0;
  Time slew_end_{};
  Duration hrtimer_error_{};
  EventId ntp_event_;
  std::vector<EventId> leap_events_;
  std::uint64_t ntp_steps_ = 0;
  std::uint64_t immediate_expiries_ = 0;
  Rng rng_;
};

}  // namespace faultline::world
