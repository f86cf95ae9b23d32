// The workflow checkers (checkers.hpp): judged on histories alone, never on the model's state.
#include <faultline/sim/cadence/checkers.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

namespace faultline::sim::cadence {

namespace {

struct Found {
  std::size_t count = 0;
  std::string details;
  void add(const std::string& text) {
    if (++count <= 10) {
      details += text + "\n";
    } else if (count == 11) {
      details += "... (further anomalies counted in the summary)\n";
    }
  }
};

}  // namespace

check::CheckResult check_workflows_end(std::span<const std::string> acknowledged_starts,
                                       std::span<const WorkflowHistory> histories) {
  std::map<std::string_view, const WorkflowHistory*> by_id;
  for (const WorkflowHistory& h : histories) {
    by_id[h.id] = &h;
  }
  Found found;
  std::size_t lost = 0;
  std::size_t open = 0;
  for (const std::string& id : acknowledged_starts) {
    auto it = by_id.find(id);
    if (it == by_id.end() || it->second->events.empty()) {
      ++lost;
      found.add(fmt::format("workflow {}: its start was acknowledged but no history of it "
                            "survives (lost)", id));
      continue;
    }
    if (!it->second->closed()) {
      ++open;
      const HistoryEvent& last = it->second->events.back();
      found.add(fmt::format("workflow {}: never ended; last event {} at {}", id,
                            to_string(last.kind), last.time.to_string()));
    }
  }
  std::size_t after_end = 0;
  for (const WorkflowHistory& h : histories) {
    bool ended = false;
    for (const HistoryEvent& e : h.events) {
      if (ended && e.kind != EventKind::kSignaled) {
        ++after_end;
        found.add(fmt::format("workflow {}: {} at {} after WorkflowCompleted", h.id,
                              to_string(e.kind), e.time.to_string()));
        break;
      }
      ended = ended || e.kind == EventKind::kWorkflowCompleted;
    }
  }
  const std::string what =
      fmt::format("{} acknowledged workflow starts, {} histories", acknowledged_starts.size(),
                  histories.size());
  if (found.count == 0) {
    return check::CheckResult::pass("workflows-end", what + ": every workflow ended");
  }
  return check::CheckResult::fail(
      "workflows-end",
      fmt::format("{}: {} lost, {} never ended, {} with events after their end", what, lost, open,
                  after_end),
      found.details);
}

check::CheckResult check_timers_fire(std::span<const WorkflowHistory> histories, Time now,
                                     Duration lateness) {
  Found found;
  std::size_t started = 0;
  std::size_t unfired = 0;
  std::size_t early = 0;
  std::size_t other = 0;
  for (const WorkflowHistory& h : histories) {
    struct Timer {
      Time at;
      int ends = 0;
    };
    std::map<std::int64_t, Timer> timers;
    for (const HistoryEvent& e : h.events) {
      if (e.kind == EventKind::kTimerStarted) {
        ++started;
        timers[e.seq] = {e.at, 0};
      } else if (e.kind == EventKind::kTimerFired || e.kind == EventKind::kTimerCanceled) {
        auto it = timers.find(e.seq);
        if (it == timers.end()) {
          ++other;
          found.add(fmt::format("workflow {}: {} for timer {} that was never started", h.id,
                                to_string(e.kind), e.seq));
          continue;
        }
        if (++it->second.ends > 1) {
          ++other;
          found.add(fmt::format("workflow {}: timer {} ended twice ({} at {})", h.id, e.seq,
                                to_string(e.kind), e.time.to_string()));
        }
        if (e.kind == EventKind::kTimerFired && e.time < it->second.at) {
          ++early;
          found.add(fmt::format("workflow {}: timer {} fired at {}, before it was due at {}",
                                h.id, e.seq, e.time.to_string(), it->second.at.to_string()));
        }
      }
    }
    for (const auto& [seq, t] : timers) {
      if (t.ends == 0 && t.at + lateness <= now) {
        ++unfired;
        found.add(fmt::format("workflow {}: timer {} was due at {} and never fired", h.id, seq,
                              t.at.to_string()));
      }
    }
  }
  const std::string what = fmt::format("{} durable timers in {} histories", started,
                                       histories.size());
  if (found.count == 0) {
    return check::CheckResult::pass("timers-fire",
                                    what + ": every due timer fired or was canceled, none early");
  }
  return check::CheckResult::fail(
      "timers-fire",
      fmt::format("{}: {} due and never fired, {} fired early, {} other anomalies", what, unfired,
                  early, other),
      found.details);
}

}  // namespace faultline::sim::cadence
