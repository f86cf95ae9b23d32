// The simulation kernel: an event queue over true simulated time.
//
// A `Simulation` is a value that owns its clock, its queue, its random streams, its trace and
// its metrics. There is no global state: any number of simulations can live side by side in a
// process (tests, parallel seed sweeps, the run-twice determinism check).
//
// Contract
// - Events run in (time, seq) order, where seq is the order in which they were scheduled:
//   events scheduled for the same instant run first-in, first-out.
// - `schedule_*` never runs the callable immediately, even for a delay of zero.
// - Scheduling in the past is a programming error (FAULTLINE_ASSERT).
// - `cancel` is O(1) and returns true only if the event was still pending; cancelling an event
//   that ran, was cancelled, or is running now returns false and does nothing.
// - Callables of up to `kInlineCallableBytes` bytes are stored inside the event slot, without
//   a heap allocation; larger ones are boxed.
// - The queue is a radix heap keyed on the event time: simulated time never goes backwards,
//   so an event is moved between buckets at most once per bit of its distance from `now()`.
#pragma once

#include <faultline/assert.hpp>
#include <faultline/event_queue.hpp>
#include <faultline/metrics.hpp>
#include <faultline/rng.hpp>
#include <faultline/time.hpp>
#include <faultline/trace.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline {

class SleepAwaitable;

class Simulation {
public:
  struct Options {
    std::uint64_t seed = 1;
    /// The UTC instant at simulated time zero.
    UtcInstant epoch = UtcInstant::from_civil(2020, 1, 1);
  };

  Simulation() : Simulation(Options{}) {}
  explicit Simulation(Options options);
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;
  ~Simulation();

  // --- time ---------------------------------------------------------------------------
  Time now() const { return now_; }
  UtcInstant epoch() const { return options_.epoch; }
  /// The UTC instant of a true-time point (POSIX numbering; see UtcInstant).
  UtcInstant utc(Time t) const { return options_.epoch + t.since_start(); }
  UtcInstant utc_now() const { return utc(now_); }
  /// The true-time point of a UTC instant.
  Time at_utc(UtcInstant u) const { return Time::from_ns((u - options_.epoch).ns()); }
  std::uint64_t seed() const { return options_.seed; }

  // --- scheduling ---------------------------------------------------------------------
  template <EventCallable F>
  EventId schedule_at(Time t, F&& fn) {
    FAULTLINE_ASSERT(t >= now_, "cannot schedule an event in the past");
    return queue_.push(t, std::forward<F>(fn));
  }
  template <EventCallable F>
  EventId schedule_after(Duration d, F&& fn) {
    FAULTLINE_ASSERT(d >= Duration::zero(), "cannot schedule an event with a negative delay");
    return queue_.push(now_ + d, std::forward<F>(fn));
  }
  /// O(1). True if the event was pending and is now cancelled.
  bool cancel(EventId id) { return queue_.cancel(id); }
  /// O(1). True if the event is scheduled and has not yet run or been cancelled.
  bool is_pending(EventId id) const { return queue_.is_pending(id); }
  std::size_t pending() const { return queue_.size(); }
  /// Time of the next pending event, or Time::max() if none.
  Time next_event_time() const { return queue_.peek_time().value_or(Time::max()); }

  // --- running ------------------------------------------------------------------------
  /// Runs one event. Returns false if there was none.
  bool step();
  /// Runs until the queue is empty or stop() is called. Returns the number of events run.
  std::uint64_t run();
  /// Runs every event with time <= t, then sets now() to t (unless stopped earlier).
  std::uint64_t run_until(Time t);
  std::uint64_t run_for(Duration d) { return run_until(now_ + d); }
  /// Makes the innermost run/run_until return after the current event.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  std::uint64_t events_run() const { return events_run_; }

  /// Records a failure (an exception escaping a detached task). The run stops after the
  /// current event and run/run_until/step rethrow it.
  void fail(std::exception_ptr e);

  // --- coroutines ---------------------------------------------------------------------
  /// `co_await sim.sleep(d)` suspends the awaiting task for d of true time.
  SleepAwaitable sleep(Duration d);

  // --- services -----------------------------------------------------------------------
  /// A random stream derived from (seed, name). Equal names give equal streams, so give
  /// each component its own stable name ("net", "host/12/cpu").
  Rng rng(std::string_view name) const { return Rng::derive(options_.seed, name); }
  Trace& trace() { return trace_; }
  const Trace& trace() const { return trace_; }
  Metrics& metrics() { return metrics_; }
  const Metrics& metrics() const { return metrics_; }

  /// Samples `probe()` into the time series `series` now and every `interval` after. The
  /// sampler keeps the queue non-empty, so bound the run with run_until/run_for.
  TimeSeries& sample_every(std::string_view series, Duration interval,
                           std::function<double()> probe);

  /// Convenience: record a trace entry stamped with now().
  void record(std::string_view source, std::string_view kind, TraceFields fields = {}) {
    trace_.record(now_, source, kind, std::move(fields));
  }

private:
  struct Sampler {
    TimeSeries* series;
    Duration interval;
    std::function<double()> probe;
  };
  void rethrow_failure();
  void sample(Sampler* s);

  Options options_;
  Time now_{};
  EventQueue queue_;
  Trace trace_;
  Metrics metrics_;
  std::uint64_t events_run_ = 0;
  bool stopped_ = false;
  std::exception_ptr failure_;
  std::vector<std::unique_ptr<Sampler>> samplers_;
};

}  // namespace faultline
