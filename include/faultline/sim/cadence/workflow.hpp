// Workflow code as coroutines, and its deterministic replay from history.
//
// A workflow is a coroutine `WorkflowCode f(WorkflowContext& ctx)` that awaits activities,
// timers and signals through its context and co_returns its end state. It never waits on
// simulated time itself: a worker runs it for one decision task by replaying the whole history.
// Each await issues a command with the next sequence number. If the history already records
// that command (an ActivityScheduled, TimerStarted... with that seq), the command is not issued
// again (a different command there is non-determinism, counted); if the history also holds its
// outcome (ActivityCompleted, TimerFired, the signal) the await returns at once with it;
// otherwise the code stops there and the decision is the list of new commands. So a worker
// that crashed mid-workflow loses nothing: any worker rebuilds the same state from the history.
#pragma once

#include <faultline/sim/cadence/history.hpp>
#include <faultline/time.hpp>

#include <coroutine>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::cadence {

/// A command a decision sends to the history service.
struct Command {
  enum class Kind : std::uint8_t { kScheduleActivity, kStartTimer, kCancelTimer, kComplete };
  Kind kind = Kind::kScheduleActivity;
  std::int64_t seq = 0;
  std::int64_t timer_seq = -1;  // kCancelTimer
  std::string name;             // activity type
  std::string data;             // activity input, or the end state
  Duration after{};             // kStartTimer
};

struct ActivityOutcome {
  bool ok = false;
  std::string result;  // the result, or the failure reason
};

class WorkflowContext;

/// The coroutine type of workflow code.
class WorkflowCode {
public:
  struct promise_type {
    std::optional<std::string> end_state;
    WorkflowCode get_return_object() {
      return WorkflowCode{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_value(std::string s) { end_state = std::move(s); }
    void unhandled_exception() { throw; }
  };
  explicit WorkflowCode(std::coroutine_handle<promise_type> h) : h_(h) {}
  WorkflowCode(WorkflowCode&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  WorkflowCode(const WorkflowCode&) = delete;
  WorkflowCode& operator=(const WorkflowCode&) = delete;
  WorkflowCode& operator=(WorkflowCode&&) = delete;
  ~WorkflowCode() {
    if (h_) {
      h_.destroy();
    }
  }
  /// Runs the code until it blocks or ends; the end state once it has ended.
  std::optional<std::string> run();

private:
  std::coroutine_handle<promise_type> h_;
};

/// What one decision task produced.
struct Decision {
  std::vector<Command> commands;
  /// Recorded commands the code did not issue at the same position (a non-determinism bug).
  int nondeterministic = 0;
};

class WorkflowContext {
public:
  /// `replay` false: ignore the recorded commands and issue every command anew (test switch).
  WorkflowContext(const WorkflowHistory& history, bool replay = true);

  const std::string& workflow_id() const { return id_; }
  const std::string& input() const { return input_; }

  class ActivityAwait {
  public:
    bool await_ready() const noexcept { return outcome_.has_value(); }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    ActivityOutcome await_resume() { return std::move(*outcome_); }

  private:
    friend class WorkflowContext;
    std::optional<ActivityOutcome> outcome_;
  };
  /// Schedules activity `name` (or finds it in history) and waits for its outcome.
  ActivityAwait activity(std::string_view name, std::string_view input);

  class SignalAwait {
  public:
    bool await_ready() const noexcept { return got_.has_value(); }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    bool await_resume() const { return *got_; }

  private:
    friend class WorkflowContext;
    std::optional<bool> got_;
  };
  /// Waits for signal `name` or a durable timer of `timeout`, whichever the history records
  /// first: true for the signal (the timer is then canceled), false for the timeout.
  SignalAwait signal(std::string_view name, Duration timeout);

  /// A durable timer: waits `d`.
  SignalAwait sleep(Duration d) { return signal(std::string_view{}, d); }

  /// Runs `code` (built over this context) for one decision.
  Decision decide(WorkflowCode& code);

private:
  struct Recorded {
    EventKind kind;
    std::string name;
  };
  /// Issues command `c` (if it is new) and returns whether the history records it.
  bool issue(Command c, EventKind recorded_as);

  std::string id_;
  std::string input_;
  bool replay_;
  std::vector<Recorded> recorded_;  // command events by seq
  std::map<std::int64_t, std::size_t> outcome_at_;  // seq → index of its outcome event
  std::map<std::int64_t, ActivityOutcome> activity_outcome_;
  std::map<std::string, std::vector<std::size_t>> signals_at_;  // name → event indices
  std::map<std::string, std::size_t> signals_used_;
  std::int64_t next_seq_ = 0;
  Decision decision_;
};

/// The seed's trip workflow (case-studies.md, Uber): find a driver; wait for "driver_arrived"
/// (arrival timeout) and "trip_completed" (completion timeout); process the payment; send a
/// rating request. End states: "completed", "no_driver", "driver_no_show", "trip_timed_out",
/// "payment_failed".
struct TripTimeouts {
  Duration arrival;
  Duration completion;
};
WorkflowCode trip_workflow(WorkflowContext& ctx, TripTimeouts timeouts);

}  // namespace faultline::sim::cadence
