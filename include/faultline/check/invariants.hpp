// Invariants and liveness, evaluated against a running Simulation.
//
// Safety: a model registers named predicates ("at most one leader per lease interval") with an
// InvariantMonitor. They are evaluated whenever the model calls check() (e.g. after every
// state change) and/or periodically through the kernel's queue. The first violation (time,
// name, message) is kept for the verdict, and the first of each invariant for the report.
//
// Liveness (TigerBeetle's liveness mode is the anchor): after the faults are healed at time T,
// a condition ("every replica has caught up", "availability is back above 99%") must hold
// again within a bound. LivenessCheck polls the condition through the kernel from T; the
// offline check_recovers_within does the same over a sampled TimeSeries.
#pragma once

#include <faultline/check/result.hpp>
#include <faultline/event_queue.hpp>
#include <faultline/metrics.hpp>
#include <faultline/simulation.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace faultline::check {

struct Violation {
  Time time;
  std::string invariant;
  std::string message;
  std::string to_string() const;
};

/// Evaluates named invariants. The simulation must outlive the monitor; the monitor must
/// outlive any periodic evaluation it scheduled (its destructor cancels it).
class InvariantMonitor {
public:
  /// nullopt while the invariant holds; otherwise what is wrong, in words.
  using Predicate = std::function<std::optional<std::string>()>;

  explicit InvariantMonitor(Simulation& sim) : sim_(sim) {}
  InvariantMonitor(const InvariantMonitor&) = delete;
  InvariantMonitor& operator=(const InvariantMonitor&) = delete;
  ~InvariantMonitor();

  /// Registers an invariant. Throws std::invalid_argument on an empty or duplicate name.
  void add(std::string name, Predicate predicate);
  /// Registers a plain condition; a violation's message is "condition is false".
  void add_condition(std::string name, std::function<bool()> holds);

  /// Evaluates every invariant now, in registration order. True if all hold.
  bool check();
  /// Evaluates every `interval` from now on, through the kernel's queue. Like
  /// Simulation::sample_every, this keeps the queue non-empty: bound the run with run_until or
  /// run_for, or call stop_periodic(). Throws std::invalid_argument if interval <= 0.
  void check_every(Duration interval);
  void stop_periodic();
  /// Stops the run at the first violation (off by default: the run goes on and is judged).
  void stop_on_violation(bool stop) { stop_on_violation_ = stop; }

  bool ok() const { return violations_.empty(); }
  const std::optional<Violation>& first_violation() const { return first_; }
  /// The first violation of each invariant that was violated, in the order they happened.
  const std::vector<Violation>& violations() const { return violations_; }
  std::uint64_t evaluations() const { return evaluations_; }
  /// Checker name "invariants".
  CheckResult result() const;

private:
  struct Invariant {
    std::string name;
    Predicate predicate;
    bool violated = false;
  };
  void tick();

  Simulation& sim_;
  std::vector<Invariant> invariants_;
  std::vector<Violation> violations_;
  std::optional<Violation> first_;
  std::uint64_t evaluations_ = 0;
  Duration interval_{};
  EventId periodic_{};
  bool stop_on_violation_ = false;
};

/// "After the faults heal at T, `condition` holds again within `bound`". Polls the condition
/// every `poll` from T until it holds or T + bound passes. The simulation must outlive it;
/// its destructor cancels pending polls.
class LivenessCheck {
public:
  LivenessCheck(Simulation& sim, std::string name, std::function<bool()> condition,
                Duration bound, Duration poll);
  LivenessCheck(const LivenessCheck&) = delete;
  LivenessCheck& operator=(const LivenessCheck&) = delete;
  ~LivenessCheck();

  /// Arms a window: the faults are (or will be) healed at `t` (>= now). Each call opens a new
  /// window once the previous one is decided; throws std::logic_error if one is still open.
  void healed_at(Time t);

  /// Checker name "liveness/<name>". Not ok when a window missed its bound, and also when the
  /// run ended before an open window was decided (a liveness claim needs a long enough run).
  CheckResult result() const;
  /// How long each decided window took to recover (Duration::max() for a missed bound).
  const std::vector<Duration>& recovery_times() const { return recovered_after_; }

private:
  void poll();

  Simulation& sim_;
  std::string name_;
  std::function<bool()> condition_;
  Duration bound_;
  Duration poll_;
  std::optional<Time> open_since_;
  EventId next_{};
  std::vector<Duration> recovered_after_;
  std::vector<Time> healed_;
};

/// Offline liveness over samples: the first sample at or after `healed` for which `good`
/// holds must come no later than healed + bound. Checker name "liveness/<name>".
CheckResult check_recovers_within(const TimeSeries& series, Time healed, Duration bound,
                                  const std::function<bool(double)>& good,
                                  const std::string& name);

}  // namespace faultline::check
