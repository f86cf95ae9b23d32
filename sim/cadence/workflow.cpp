// Replay of workflow code against a recorded history (see workflow.hpp), and the trip workflow.
#include <faultline/sim/cadence/workflow.hpp>

namespace faultline::sim::cadence {

std::optional<std::string> WorkflowCode::run() {
  if (!h_.done()) {
    h_.resume();
  }
  return h_.promise().end_state;
}

WorkflowContext::WorkflowContext(const WorkflowHistory& history, bool replay)
    : id_(history.id), replay_(replay) {
  const auto& ev = history.events;
  for (std::size_t i = 0; i < ev.size(); ++i) {
    const HistoryEvent& e = ev[i];
    auto record = [&](std::int64_t seq, EventKind k, std::string name) {
      if (seq < 0) {
        return;
      }
      if (recorded_.size() <= static_cast<std::size_t>(seq)) {
        recorded_.resize(static_cast<std::size_t>(seq) + 1, Recorded{EventKind::kSignaled, {}});
      }
      recorded_[static_cast<std::size_t>(seq)] = {k, std::move(name)};
    };
    switch (e.kind) {
      case EventKind::kWorkflowStarted: input_ = e.data; break;
      case EventKind::kActivityScheduled: record(e.seq, e.kind, e.name); break;
      case EventKind::kTimerStarted: record(e.seq, e.kind, {}); break;
      case EventKind::kTimerCanceled: record(e.cmd, e.kind, {}); break;
      case EventKind::kWorkflowCompleted: record(e.seq, e.kind, {}); break;
      case EventKind::kActivityCompleted:
      case EventKind::kActivityFailed:
        if (!outcome_at_.contains(e.seq)) {
          outcome_at_[e.seq] = i;
          activity_outcome_[e.seq] = {e.kind == EventKind::kActivityCompleted, e.data};
        }
        break;
      case EventKind::kTimerFired:
        if (!outcome_at_.contains(e.seq)) {
          outcome_at_[e.seq] = i;
        }
        break;
      case EventKind::kSignaled: signals_at_[e.name].push_back(i); break;
      case EventKind::kActivityAttemptFailed: break;
    }
  }
}

bool WorkflowContext::issue(Command c, EventKind recorded_as) {
  c.seq = next_seq_++;
  const auto i = static_cast<std::size_t>(c.seq);
  if (replay_ && i < recorded_.size()) {
    const Recorded& r = recorded_[i];
    if (r.kind != recorded_as || (recorded_as == EventKind::kActivityScheduled && r.name != c.name)) {
      ++decision_.nondeterministic;
    }
    return true;
  }
  decision_.commands.push_back(std::move(c));
  return false;
}

WorkflowContext::ActivityAwait WorkflowContext::activity(std::string_view name,
                                                         std::string_view input) {
  ActivityAwait a;
  Command c{Command::Kind::kScheduleActivity, 0, -1, std::string(name), std::string(input), {}};
  const std::int64_t seq = next_seq_;
  if (issue(std::move(c), EventKind::kActivityScheduled)) {
    if (auto it = activity_outcome_.find(seq); it != activity_outcome_.end()) {
      a.outcome_ = it->second;
    }
  }
  return a;
}

WorkflowContext::SignalAwait WorkflowContext::signal(std::string_view name, Duration timeout) {
  SignalAwait s;
  const std::int64_t timer = next_seq_;
  const bool recorded =
      issue(Command{Command::Kind::kStartTimer, 0, -1, {}, {}, timeout}, EventKind::kTimerStarted);
  // The first signal of this name not yet consumed, anywhere in the history (a signal may
  // arrive before the code waits for it), against the timer's firing: the earlier event wins,
  // so every replay of the same history resolves the wait the same way.
  std::size_t signal_at = SIZE_MAX;
  if (!name.empty()) {
    const auto& at = signals_at_[std::string(name)];
    const std::size_t used = signals_used_[std::string(name)];
    if (used < at.size()) {
      signal_at = at[used];
    }
  }
  std::size_t fired_at = SIZE_MAX;
  if (recorded) {
    if (auto it = outcome_at_.find(timer); it != outcome_at_.end()) {
      fired_at = it->second;
    }
  }
  if (signal_at != SIZE_MAX && signal_at < fired_at) {
    ++signals_used_[std::string(name)];
    s.got_ = true;
    // The cancel always takes the next sequence number, issued or not: a timer that fired
    // after this decision was made (the history then drops the cancel) must not shift the
    // numbers of the commands that follow when the history is replayed.
    if (fired_at == SIZE_MAX) {
      issue(Command{Command::Kind::kCancelTimer, 0, timer, {}, {}, {}}, EventKind::kTimerCanceled);
    } else {
      ++next_seq_;
    }
  } else if (fired_at != SIZE_MAX) {
    s.got_ = false;
  }
  return s;
}

Decision WorkflowContext::decide(WorkflowCode& code) {
  if (auto end = code.run()) {
    issue(Command{Command::Kind::kComplete, 0, -1, {}, *end, {}}, EventKind::kWorkflowCompleted);
  }
  return std::move(decision_);
}

WorkflowCode trip_workflow(WorkflowContext& ctx, TripTimeouts timeouts) {
  const ActivityOutcome driver = co_await ctx.activity("find_driver", ctx.workflow_id());
  if (!driver.ok) {
    co_return "no_driver";
  }
  if (!co_await ctx.signal("driver_arrived", timeouts.arrival)) {
    co_return "driver_no_show";
  }
  if (!co_await ctx.signal("trip_completed", timeouts.completion)) {
    co_return "trip_timed_out";
  }
  const ActivityOutcome paid = co_await ctx.activity("process_payment", ctx.input());
  if (!paid.ok) {
    co_return "payment_failed";
  }
  co_await ctx.activity("send_rating_request", driver.result);
  co_return "completed";
}

}  // namespace faultline::sim::cadence
