// A workflow's event history: what the history service appends durably and what a worker
// replays. One event per fact, in the order the history service accepted them; commands a
// decision issued become events carrying the command's sequence number, so replay can tell a
// command already recorded from a new one.
#pragma once

#include <faultline/time.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::cadence {

enum class EventKind : std::uint8_t {
  kWorkflowStarted,       // name: workflow type; data: input
  kActivityScheduled,     // seq, name: activity type; data: input        (a command)
  kActivityAttemptFailed, // seq, attempt: the failed attempt; data: reason (a retry follows)
  kActivityCompleted,     // seq; data: result
  kActivityFailed,        // seq; data: reason (attempts exhausted)
  kTimerStarted,          // seq; at: when it fires                        (a command)
  kTimerFired,            // seq
  kTimerCanceled,         // seq: the timer's; cmd: the cancel command's    (a command)
  kSignaled,              // name: the signal
  kWorkflowCompleted,     // data: the end state                           (a command)
};
std::string_view to_string(EventKind k);

struct HistoryEvent {
  EventKind kind = EventKind::kWorkflowStarted;
  /// The command sequence number of the activity or timer the event is about.
  std::int64_t seq = -1;
  /// kTimerCanceled: the cancel command's own sequence number.
  std::int64_t cmd = -1;
  std::int64_t attempt = 0;
  std::string name;
  std::string data;
  /// When the history service accepted the event (true time).
  Time time;
  /// kTimerStarted: when the timer is due.
  Time at;
  bool operator==(const HistoryEvent&) const = default;
};

struct WorkflowHistory {
  std::string id;
  std::vector<HistoryEvent> events;
  bool closed() const;
};

/// One log line "<workflow>\t<kind>\t<seq>\t<cmd>\t<attempt>\t<time>\t<at>\t<name>\t<data>\t
/// <checksum>\n". Names and data must not contain tabs or newlines.
std::string encode_line(std::string_view workflow, const HistoryEvent& e);
/// Parses a log (many lines) in order into per-workflow histories, sorted by workflow id.
/// A line that is torn or fails its checksum ends the log there (a torn tail after a crash).
std::vector<WorkflowHistory> decode_log(std::string_view log);
/// Parses the lines of `log` in order, calling `each(workflow, event)` per event, and returns
/// the bytes read: up to the end of the last good line (for reading an append-only log in
/// pieces).
std::size_t decode_lines(std::string_view log,
                         const std::function<void(std::string_view, HistoryEvent&&)>& each);

}  // namespace faultline::sim::cadence
